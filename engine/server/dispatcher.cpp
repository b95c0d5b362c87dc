#include "dispatcher.h"

#include "instance_book.h"
#include "server_log.h"
#include "task_tracker.h"

#include <core/clock.h>

#include <QRandomGenerator>
#include <QTimer>
#include <QVarLengthArray>

#include <vector>

namespace kairos::server {
namespace {

const QString kAnyApp = QStringLiteral("*");
const QString kTagPrefix = QStringLiteral("tag:");

// Whether the link said anything about its machine: the local worker reports no metrics (all
// zero) and must not be filtered on numbers it never sent.
bool reportsMemory(const WorkerMetrics &m)
{
    return m.memTotalMb > 0;
}

// Why `link` cannot take runs of a job with `spec`, or empty when it can. Free slots are not
// checked here: a full worker is not a reason to wait, only to wait for the next pump.
QString rejection(const WorkerLink &link, const DispatchSpec &spec)
{
    const WorkerMetrics m = link.metrics();
    if (reportsMemory(m)) {
        if (spec.minFreeMemoryMb > 0 && m.memFreeMb < spec.minFreeMemoryMb) {
            return Dispatcher::tr("worker %1 has %2 MB free memory; the job needs %3")
                .arg(link.id())
                .arg(m.memFreeMb)
                .arg(spec.minFreeMemoryMb);
        }
        if (spec.minFreeDiskMb > 0 && m.diskFreeMb < spec.minFreeDiskMb) {
            return Dispatcher::tr("worker %1 has %2 MB free disk; the job needs %3")
                .arg(link.id())
                .arg(m.diskFreeMb)
                .arg(spec.minFreeDiskMb);
        }
    }
    // isOverloaded() also says yes for a worker without a free slot; at least one slot is
    // passed so that only the load decides here.
    if (m.cpus > 0 && isOverloaded(m, std::max(1, link.freeSlots()))) {
        return Dispatcher::tr("worker %1 is overloaded (load %2 on %3 %4)")
            .arg(link.id())
            .arg(QString::number(m.load1, 'f', 1))
            .arg(m.cpus)
            .arg(m.cpus == 1 ? QStringLiteral("CPU") : QStringLiteral("CPUs"));
    }
    return {};
}

} // namespace

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
    if (!link)
        return;
    m_links.removeAll(QPointer<WorkerLink>()); // links deleted by their owner
    if (m_links.contains(link))
        return;
    m_links << link;
    connect(link, &WorkerLink::changed, this, &Dispatcher::onLinkChanged);
    // A lost link can change why an instance waits ("overloaded" becomes "no live worker").
    connect(link, &WorkerLink::lost, this, &Dispatcher::onLinkChanged);
    m_retryWaiting = true;
    pump();
}

void Dispatcher::removeLink(WorkerLink *link)
{
    m_links.removeAll(link);
    if (link)
        disconnect(link, nullptr, this, nullptr);
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
    // Several links may carry the id (a worker that re-registered while its old connection is
    // being declared dead): the alive one is the one meant.
    WorkerLink *found = nullptr;
    for (const auto &l : m_links) {
        if (l && l->id() == id) {
            if (l->isAlive())
                return l.data();
            found = l.data();
        }
    }
    return found;
}

void Dispatcher::schedulePump()
{
    if (m_pumpScheduled)
        return;
    m_pumpScheduled = true;
    QTimer::singleShot(0, this, [this] {
        m_pumpScheduled = false;
        pump();
    });
}

void Dispatcher::onLinkChanged()
{
    // Heartbeats of many workers arrive in bursts: the waiting instances are looked at again
    // once per pump, not once per signal.
    if (!m_waitingWorker.isEmpty())
        m_retryWaiting = true;
    schedulePump();
}

void Dispatcher::enqueue(qint64 instanceId)
{
    m_ready.push_back(instanceId);
    schedulePump();
}

void Dispatcher::enqueueAt(qint64 instanceId, qint64 dueMs)
{
    if (dueMs <= nowMs())
        enqueue(instanceId);
    else
        m_due.schedule(instanceId, dueMs);
}

void Dispatcher::requeue(qint64 instanceId, const QString &reason)
{
    const Instance *inst = m_book.find(instanceId);
    if (!inst || inst->status != InstanceStatus::Dispatched)
        return;
    const qint64 jobId = inst->jobId;
    m_book.transition(instanceId, InstanceStatus::WaitingDispatch, [&](Instance &i) {
        i.worker.clear();
        i.dispatchedAtMs = 0;
        i.reason = reason;
    });
    if (JobEntry *entry = m_catalog.find(jobId))
        entry->running = std::max(0, entry->running - 1);
    // It was accepted for running once: at the job's limit it waits for a slot instead of
    // being SKIPPED like a new trigger.
    m_returned.insert(instanceId);
    m_ready.push_front(instanceId);
    schedulePump();
}

void Dispatcher::forget(qint64 instanceId)
{
    m_due.cancel(instanceId);
    m_waitingWorker.removeAll(instanceId);
    m_returned.remove(instanceId);
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
        if (t.startsWith(kTagPrefix)) {
            if (link->tags().contains(t.mid(kTagPrefix.size())))
                return true;
            continue;
        }
        if (t == link->id() || t == link->address())
            return true;
    }
    return false;
}

int Dispatcher::roomOf(WorkerLink *link, const QHash<WorkerLink *, int> &planned)
{
    return link->freeSlots() - planned.value(link);
}

QList<WorkerLink *> Dispatcher::eligibleLinks(const Job &job, QString *waitReason) const
{
    Candidates c = candidatesFor(job);
    if (waitReason)
        *waitReason = c.waitReason;
    return c.links;
}

Dispatcher::Candidates Dispatcher::candidatesFor(const Job &job) const
{
    Candidates c;
    const bool specified = job.dispatch.strategy == DispatchStrategy::Specified;
    bool anyOfApp = false;
    bool anyMatching = false;
    QString firstRejection;
    for (const auto &l : m_links) {
        if (!l || !l->isAlive())
            continue;
        if (l->app() != kAnyApp && l->app() != job.app)
            continue;
        anyOfApp = true;
        if (specified && !matchesTargets(l, job.dispatch.targets))
            continue;
        anyMatching = true;
        const QString why = rejection(*l, job.dispatch);
        if (!why.isEmpty()) {
            if (firstRejection.isEmpty())
                firstRejection = why;
            continue;
        }
        c.links << l.data();
    }
    if (!c.links.isEmpty())
        return c;
    if (specified && !anyMatching) {
        // Never a fallback to another worker: the operator named these.
        c.waitReason = tr("no live worker of app '%1' matches %2")
                           .arg(job.app, job.dispatch.targets.join(QStringLiteral(", ")));
    } else if (!anyOfApp) {
        c.waitReason = tr("no live worker of app '%1' is connected").arg(job.app);
    } else {
        c.waitReason = firstRejection;
    }
    return c;
}

WorkerLink *Dispatcher::choose(const Job &job, Candidates &candidates,
                               const QHash<WorkerLink *, int> &planned)
{
    const QList<WorkerLink *> &links = candidates.links;
    const qsizetype n = links.size();
    switch (job.dispatch.strategy) {
    case DispatchStrategy::RoundRobin: {
        // Per job, so one job's runs spread evenly whatever other jobs do meanwhile.
        quint64 &next = m_roundRobin[job.id];
        for (qsizetype step = 0; step < n; ++step) {
            const qsizetype index = qsizetype((next + quint64(step)) % quint64(n));
            if (roomOf(links.at(index), planned) > 0) {
                next = quint64(index) + 1;
                return links.at(index);
            }
        }
        return nullptr;
    }
    case DispatchStrategy::Random: {
        QVarLengthArray<WorkerLink *, 16> open;
        for (WorkerLink *l : links) {
            if (roomOf(l, planned) > 0)
                open.append(l);
        }
        if (open.isEmpty())
            return nullptr;
        return open.at(QRandomGenerator::global()->bounded(int(open.size())));
    }
    case DispatchStrategy::HealthFirst:
    case DispatchStrategy::Specified:
        break;
    }
    // Health first (also among the SPECIFIED targets): the best score, counting the slots
    // already planned in this pump as taken, so a burst spreads over equally healthy workers.
    WorkerLink *best = nullptr;
    double bestScore = -1;
    for (WorkerLink *l : links) {
        const int room = roomOf(l, planned);
        if (room <= 0)
            continue;
        const double score = healthScore(l->metrics(), room, l->slotCount());
        if (score > bestScore) {
            best = l;
            bestScore = score;
        }
    }
    return best;
}

void Dispatcher::pump()
{
    // A tracker started from inside the pump may dispatch, and a link may report synchronously;
    // neither may re-enter the loop below.
    if (m_pumping) {
        m_pumpAgain = true;
        return;
    }
    m_pumping = true;
    do {
        m_pumpAgain = false;
        pumpQueue();
    } while (m_pumpAgain);
    m_pumping = false;
    if (m_tracker)
        m_tracker->pump();
}

void Dispatcher::pumpQueue()
{
    QHash<WorkerLink *, QList<TaskSpec>> batches;
    QHash<WorkerLink *, int> planned;
    QHash<qint64, Candidates> byJob; // worked out once per job and pump
    // Instances whose candidates are all busy keep their place at the head of the queue.
    std::vector<qint64> deferred;
    const qint64 now = nowMs();

    if (std::exchange(m_retryWaiting, false) && !m_waitingWorker.isEmpty()) {
        // They waited longer than anything queued: they go first, in their order.
        const QList<qint64> waiting = std::exchange(m_waitingWorker, {});
        m_ready.insert(m_ready.begin(), waiting.begin(), waiting.end());
    }
    // Free slots on every live link; once they are all planned, the rest of the queue waits
    // for the next pump (a report or a heartbeat frees some).
    int room = 0;
    for (const auto &l : std::as_const(m_links)) {
        if (l && l->isAlive())
            room += std::max(0, l->freeSlots());
    }

    while (!m_ready.empty()) {
        const qint64 id = m_ready.front();
        const Instance *inst = m_book.find(id);
        if (!inst
            || (inst->status != InstanceStatus::WaitingDispatch
                && inst->status != InstanceStatus::WaitingWorker)) {
            m_ready.pop_front();
            m_returned.remove(id);
            continue;
        }
        JobEntry *entry = m_catalog.find(inst->jobId);
        if (!entry) {
            m_book.transition(id, InstanceStatus::Failed, [now](Instance &i) {
                i.reason = QStringLiteral("the job was deleted");
                i.finishedAtMs = now;
            });
            m_ready.pop_front();
            m_returned.remove(id);
            continue;
        }
        const Job &job = entry->job;
        const int max = job.maxConcurrentInstances;
        if (max > 0 && entry->running >= max) {
            m_ready.pop_front();
            if (inst->attempt > 1 || m_returned.contains(id)) {
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
        auto cit = byJob.find(job.id);
        if (cit == byJob.end())
            cit = byJob.insert(job.id, candidatesFor(job));
        Candidates &candidates = *cit;
        if (candidates.links.isEmpty()) {
            m_ready.pop_front();
            const QString &reason = candidates.waitReason;
            if (inst->status != InstanceStatus::WaitingWorker || inst->reason != reason) {
                m_book.transition(id, InstanceStatus::WaitingWorker,
                                  [&](Instance &i) { i.reason = reason; });
            }
            m_waitingWorker << id;
            continue;
        }
        if (m_tracker && TaskTracker::tracks(job.mode)) {
            // The tracker places the run's tasks into free slots as they come; the run itself
            // is one running instance of its job from now on.
            m_ready.pop_front();
            m_returned.remove(id);
            ++entry->running;
            m_tracker->start(id, candidates.links);
            continue;
        }
        if (room <= 0)
            break; // every live worker is full; reports and heartbeats pump again
        WorkerLink *link = candidates.full ? nullptr : choose(job, candidates, planned);
        if (!link) {
            // Its workers are busy, others still have room: later instances of other jobs may
            // use it. This one keeps its place.
            candidates.full = true;
            m_ready.pop_front();
            deferred.push_back(id);
            if (inst->status == InstanceStatus::WaitingWorker) {
                // A worker fits now; only a slot is missing, which is not worth a reason.
                m_book.transition(id, InstanceStatus::WaitingDispatch,
                                  [](Instance &i) { i.reason.clear(); });
            }
            continue;
        }
        m_ready.pop_front();
        m_returned.remove(id);
        const QString worker = link->id();
        m_book.transition(id, InstanceStatus::Dispatched, [&](Instance &i) {
            i.worker = worker;
            i.dispatchedAtMs = now;
            i.reason.clear();
        });
        ++entry->running;
        ++planned[link];
        --room;
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
    m_ready.insert(m_ready.begin(), deferred.begin(), deferred.end());
    for (auto it = batches.begin(); it != batches.end(); ++it) {
        qCDebug(lcDispatch) << "dispatching" << it.value().size() << "task(s) to" << it.key()->id();
        it.key()->dispatch(it.value());
    }
}

} // namespace kairos::server
