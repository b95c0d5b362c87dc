#pragma once
// TriggerScheduler: keeps the next fire time of every enabled timed job in memory and turns it
// into a Fire shortly before it is due (`leadMs` ahead). The engine records the fire as an
// instance under the unique key (job, fire time) during that lead and dispatches it exactly at
// the fire time, so the database commit is off the lateness path, and a restart or a second
// server can at worst find the key taken — never fire twice.
//
// FIXED_DELAY jobs are planned by the engine after each run ends (planAt).
//
// Not thread-safe: engine thread only.

#include "job_catalog.h"
#include "timer_queue.h"

#include <QObject>

#include <functional>

namespace kairos::server {

struct Fire {
    qint64 jobId = 0;
    qint64 fireTimeMs = 0;
    TriggerKind kind = TriggerKind::Scheduled;
};

class TriggerScheduler : public QObject {
    Q_OBJECT
public:
    using FireHandler = std::function<void(const QList<Fire> &fires)>;

    TriggerScheduler(JobCatalog &catalog, qint64 leadMs, FireHandler onFires,
                     QObject *parent = nullptr);

    // Plans the job's next fire strictly after `afterMs` (nothing for disabled, API-only and
    // exhausted jobs; FIXED_DELAY jobs fire `delay` after `afterMs`).
    void plan(qint64 jobId, qint64 afterMs);
    // Plans a fire at an exact time (FIXED_DELAY: previous end + delay).
    void planAt(qint64 jobId, qint64 fireTimeMs);
    void unplan(qint64 jobId);
    // Next planned fire of a job, or -1.
    qint64 nextFire(qint64 jobId) const { return m_next.value(jobId, -1); }
    std::size_t plannedCount() const { return m_queue.size(); }

private:
    void onDue(const std::vector<qint64> &jobIds);

    JobCatalog &m_catalog;
    qint64 m_leadMs;
    FireHandler m_onFires;
    TimerQueue m_queue;
    QHash<qint64, qint64> m_next; // jobId -> fire time
};

} // namespace kairos::server
