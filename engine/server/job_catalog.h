#pragma once
// JobCatalog: every job this server knows, with its parsed schedule and the run-time counters
// the scheduler and dispatcher need (how many instances run now). The store is the truth; the
// catalog is loaded from it at start and updated after each committed job write.
//
// Not thread-safe: engine thread only.

#include <core/job.h>
#include <timing/schedule.h>

#include <QHash>

#include <optional>

namespace kairos::server {

struct JobEntry {
    Job job;
    std::optional<Schedule> schedule; // timed jobs only (CRON, rates, ONE_SHOT)
    int running = 0;                  // instances DISPATCHED or RUNNING now
};

class JobCatalog {
public:
    explicit JobCatalog(QTimeZone serverZone)
        : m_serverZone(std::move(serverZone))
    {}

    // Validates the job's timing (zone, expression, window) the way every write path must.
    Result<std::optional<Schedule>> scheduleFor(const Job &job) const;

    // Inserts or replaces; keeps the running counter of an existing entry.
    void put(const Job &job, std::optional<Schedule> schedule);
    void remove(qint64 id) { m_jobs.remove(id); }
    JobEntry *find(qint64 id);
    const JobEntry *find(qint64 id) const;
    const Job *findByName(const QString &name) const;
    QList<Job> jobs() const;
    const QHash<qint64, JobEntry> &entries() const { return m_jobs; }
    const QTimeZone &serverZone() const { return m_serverZone; }

private:
    QTimeZone m_serverZone;
    QHash<qint64, JobEntry> m_jobs;
};

} // namespace kairos::server
