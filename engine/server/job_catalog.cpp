#include "job_catalog.h"

#include <algorithm>

namespace kairos::server {

Result<std::optional<Schedule>> JobCatalog::scheduleFor(const Job &job) const
{
    if (job.timingType == TimingType::Api)
        return std::optional<Schedule>();
    auto schedule = Schedule::fromJob(job, m_serverZone);
    if (!schedule.ok())
        return makeError(schedule.error());
    return std::optional<Schedule>(std::move(schedule).value());
}

void JobCatalog::put(const Job &job, std::optional<Schedule> schedule)
{
    JobEntry &entry = m_jobs[job.id];
    entry.job = job;
    entry.schedule = std::move(schedule);
}

JobEntry *JobCatalog::find(qint64 id)
{
    const auto it = m_jobs.find(id);
    return it == m_jobs.end() ? nullptr : &it.value();
}

const JobEntry *JobCatalog::find(qint64 id) const
{
    const auto it = m_jobs.constFind(id);
    return it == m_jobs.cend() ? nullptr : &it.value();
}

const Job *JobCatalog::findByName(const QString &name) const
{
    for (const JobEntry &e : m_jobs) {
        if (e.job.name == name)
            return &e.job;
    }
    return nullptr;
}

QList<Job> JobCatalog::jobs() const
{
    QList<Job> out;
    out.reserve(m_jobs.size());
    for (const JobEntry &e : m_jobs)
        out << e.job;
    std::sort(out.begin(), out.end(), [](const Job &a, const Job &b) { return a.id < b.id; });
    return out;
}

} // namespace kairos::server
