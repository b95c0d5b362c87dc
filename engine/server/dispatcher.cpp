#include "dispatcher.h"

#include "instance_book.h"
#include "server_log.h"

#include <core/clock.h>

#include <QRandomGenerator>
#include <QTimer>

namespace kairos::server {

Dispatcher::Dispatcher(JobCatalog &catalog, InstanceBook &book, QObject *parent)
    : QObject(parent)
    , m_catalog(catalog)
    , m_book(book)
    , m_due(
          [this](const std::vector<qint64> &ids) {
              for (qint64 id : ids)
                  m_ready.push_back(id);
              pump();
          },
          this)
{}

void Dispatcher::addLink(WorkerLink *link)
{
    m_links << link;
    // Instances that waited for a worker get another chance.
    for (qint64 id : std::exchange(m_waitingWorker, {}))
        m_ready.push_back(id);
    pump();
}

void Dispatcher::removeLink(WorkerLink *link)
{
    m_links.removeAll(link);
}

QList<WorkerLink *> Dispatcher::links() const
{
    QList<WorkerLink *> out;
    for (const auto &l : m_links) {
        if (l)
            out << l.data();
    }
    return out;
}

WorkerLink *Dispatcher::link(const QString &id) const
{
    for (const auto &l : m_links) {
        if (l && l->id() == id)
            return l.data();
    }
    return nullptr;
}

void Dispatcher::enqueue(qint64 instanceId)
{
    m_ready.push_back(instanceId);
    if (!m_pumpScheduled) {
        m_pumpScheduled = true;
        QTimer::singleShot(0, this, [this] {
            m_pumpScheduled = false;
            pump();
        });
    }
}

void Dispatcher::enqueueAt(qint64 instanceId, qint64 dueMs)
{
    if (dueMs <= nowMs())
        enqueue(instanceId);
    else
        m_due.schedule(instanceId, dueMs);
}

void Dispatcher::forget(qint64 instanceId)
{
    m_due.cancel(instanceId);
    m_waitingWorker.removeAll(instanceId);
    // m_ready and m_heldByJob entries are dropped lazily: pump() skips instances that are no
    // longer waiting.
}

void Dispatcher::slotFreed(qint64 jobId)
{
    const auto it = m_heldByJob.find(jobId);
    if (it != m_heldByJob.end() && !it->isEmpty())
        m_ready.push_front(it->takeFirst());
}

bool Dispatcher::matchesTargets(const WorkerLink *link, const QStringList &targets)
{
    if (targets.isEmpty())
        return true;
    for (const QString &t : targets) {
        if (t == link->id() || t == link->address())
            return true;
    }
    return false;
}

WorkerLink *Dispatcher::pickLink(const Job &job)
{
    QList<WorkerLink *> candidates;
    for (const auto &l : std::as_const(m_links)) {
        if (!l || !l->isAlive())
            continue;
        if (l->app() != QLatin1String("*") && l->app() != job.app)
            continue;
        if (job.dispatch.strategy == DispatchStrategy::Specified
            && !matchesTargets(l, job.dispatch.targets))
            continue;
        candidates << l.data();
    }
    if (candidates.isEmpty())
        return nullptr;
    switch (job.dispatch.strategy) {
    case DispatchStrategy::RoundRobin:
        return candidates.at(m_roundRobin++ % candidates.size());
    case DispatchStrategy::Random:
        return candidates.at(QRandomGenerator::global()->bounded(int(candidates.size())));
    case DispatchStrategy::HealthFirst:
    case DispatchStrategy::Specified:
        break;
    }
    // Health first: the one with the most room.
    return *std::max_element(
        candidates.begin(), candidates.end(),
        [](WorkerLink *a, WorkerLink *b) { return a->freeSlots() < b->freeSlots(); });
}

void Dispatcher::pump()
{
    QHash<WorkerLink *, QList<TaskSpec>> batches;
    QHash<WorkerLink *, int> planned;
    const qint64 now = nowMs();
    while (!m_ready.empty()) {
        const qint64 id = m_ready.front();
        const Instance *inst = m_book.find(id);
        if (!inst
            || (inst->status != InstanceStatus::WaitingDispatch
                && inst->status != InstanceStatus::WaitingWorker)) {
            m_ready.pop_front();
            continue;
        }
        JobEntry *entry = m_catalog.find(inst->jobId);
        if (!entry) {
            m_book.transition(id, InstanceStatus::Failed, [now](Instance &i) {
                i.reason = QStringLiteral("the job was deleted");
                i.finishedAtMs = now;
            });
            m_ready.pop_front();
            continue;
        }
        const Job &job = entry->job;
        const int max = job.maxConcurrentInstances;
        if (max > 0 && entry->running >= max) {
            m_ready.pop_front();
            if (inst->attempt > 1) {
                m_heldByJob[job.id] << id;
                continue;
            }
            const QString reason =
                tr("the job already runs %n instance(s), its limit", nullptr, entry->running);
            m_book.transition(id, InstanceStatus::Skipped, [&](Instance &i) {
                i.reason = reason;
                i.finishedAtMs = now;
            });
            continue;
        }
        WorkerLink *link = pickLink(job);
        if (!link) {
            m_ready.pop_front();
            const QString reason =
                job.dispatch.strategy == DispatchStrategy::Specified
                    ? tr("no live worker of app '%1' matches %2")
                          .arg(job.app, job.dispatch.targets.join(QStringLiteral(", ")))
                    : tr("no live worker of app '%1' is connected").arg(job.app);
            if (inst->status != InstanceStatus::WaitingWorker || inst->reason != reason) {
                m_book.transition(id, InstanceStatus::WaitingWorker,
                                  [&](Instance &i) { i.reason = reason; });
            }
            m_waitingWorker << id;
            continue;
        }
        if (link->freeSlots() - planned.value(link) <= 0)
            break; // every fitting worker is full; reports will free slots and pump again
        m_ready.pop_front();
        const QString worker = link->id();
        m_book.transition(id, InstanceStatus::Dispatched, [&](Instance &i) {
            i.worker = worker;
            i.dispatchedAtMs = now;
            i.reason.clear();
        });
        ++entry->running;
        ++planned[link];
        TaskSpec spec;
        spec.instanceId = id;
        spec.attempt = inst->attempt;
        spec.jobName = job.name;
        spec.processor = job.processor;
        spec.config = job.processorConfig;
        spec.jobParams = job.params;
        spec.instanceParams = inst->params;
        spec.timeoutMs = job.timeoutMs;
        batches[link] << spec;
    }
    for (auto it = batches.begin(); it != batches.end(); ++it)
        it.key()->dispatch(it.value());
}

} // namespace kairos::server
