#include "trigger_scheduler.h"

#include "server_log.h"

#include <core/clock.h>

namespace kairos::server {

TriggerScheduler::TriggerScheduler(JobCatalog &catalog, qint64 leadMs, FireHandler onFires,
                                   QObject *parent)
    : QObject(parent)
    , m_catalog(catalog)
    , m_leadMs(leadMs)
    , m_onFires(std::move(onFires))
    , m_queue([this](const std::vector<qint64> &ids) { onDue(ids); }, this)
{}

void TriggerScheduler::plan(qint64 jobId, qint64 afterMs)
{
    unplan(jobId);
    const JobEntry *entry = m_catalog.find(jobId);
    if (!entry || !entry->job.enabled || !entry->schedule)
        return;
    const Schedule &schedule = *entry->schedule;
    if (schedule.isFixedDelay()) {
        planAt(jobId, std::max(afterMs, entry->job.windowStartMs) + schedule.delayMs());
        return;
    }
    const auto next = schedule.nextFireAfter(afterMs);
    if (next)
        planAt(jobId, *next);
}

void TriggerScheduler::planAt(qint64 jobId, qint64 fireTimeMs)
{
    const JobEntry *entry = m_catalog.find(jobId);
    if (!entry || !entry->job.enabled)
        return;
    if (entry->job.windowEndMs > 0 && fireTimeMs > entry->job.windowEndMs)
        return;
    m_next.insert(jobId, fireTimeMs);
    m_queue.schedule(jobId, fireTimeMs - m_leadMs);
    qCDebug(lcTrigger) << "job" << jobId << "next fire at" << fireTimeMs;
}

void TriggerScheduler::unplan(qint64 jobId)
{
    m_next.remove(jobId);
    m_queue.cancel(jobId);
}

void TriggerScheduler::onDue(const std::vector<qint64> &jobIds)
{
    QList<Fire> fires;
    fires.reserve(qsizetype(jobIds.size()));
    for (qint64 jobId : jobIds) {
        const qint64 fireTime = m_next.take(jobId);
        const JobEntry *entry = m_catalog.find(jobId);
        if (!entry || !entry->job.enabled || !entry->schedule)
            continue;
        fires << Fire{jobId, fireTime, TriggerKind::Scheduled};
        if (!entry->schedule->isFixedDelay())
            plan(jobId, fireTime);
    }
    if (!fires.isEmpty())
        m_onFires(fires);
}

} // namespace kairos::server
