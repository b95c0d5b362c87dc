#include "engine.h"

#include "container_service.h"
#include "dispatcher.h"
#include "instance_book.h"
#include "local_worker_link.h"
#include "remote_worker_link.h"
#include "server_log.h"
#include "task_tracker.h"
#include "trigger_scheduler.h"
#include "worker_registry.h"

#include <core/clock.h>
#include <store/instance_repository.h>
#include <store/job_repository.h>
#include <store/store_thread.h>
#include <store/task_repository.h>
#include <timing/misfire.h>
#include <worker/processor.h>

#include <QCoreApplication>
#include <QEventLoop>
#include <QHostInfo>
#include <QTimer>

namespace kairos::server {
namespace {

constexpr qint64 kRetentionSweepMs = 3600 * 1000;

// A CONTAINER job naming an uploaded container ("name#processor") rather than a built-in: the
// ContainerService checks it against the stored versions.
bool namesUploadedContainer(const Job &job)
{
    if (job.processor != ProcessorKind::Container)
        return false;
    const QString ref = job.processorConfig.value(QLatin1String("ref")).toString();
    return !ref.isEmpty() && !ref.startsWith(QLatin1String("builtin#"));
}

} // namespace

Engine::Engine(EngineConfig config, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_catalog(m_config.serverZone)
{
    m_serverId = m_config.serverId.isEmpty() ? QStringLiteral("%1:%2")
                                                   .arg(QHostInfo::localHostName())
                                                   .arg(QCoreApplication::applicationPid())
                                             : m_config.serverId;
}

Engine::~Engine()
{
    stop();
}

Status Engine::start()
{
    if (m_started)
        return {};
    auto store = kairos::StoreThread::start(m_config.store);
    if (!store.ok())
        return makeError(store.error());
    m_store = std::move(store).value();

    // Before the jobs: their container refs are checked against what it knows.
    ContainerServiceConfig containerConfig;
    containerConfig.maxBytes = m_config.maxContainerBytes;
    m_containers = new ContainerService(*m_store, containerConfig, this);
    if (Status loaded = m_containers->load(); !loaded.ok()) {
        delete m_containers;
        m_containers = nullptr;
        m_store.reset();
        return makeError(loaded.error());
    }

    const QList<Job> jobs = m_store->callBlocking(
        [](kairos::Database &db) { return kairos::JobRepository(db).list(); });
    for (const Job &job : jobs) {
        auto schedule = m_catalog.scheduleFor(job);
        if (!schedule.ok()) {
            // A job stored by an older version whose timing no longer validates stays visible
            // but does not fire; the operator sees why when editing it.
            qCWarning(lcEngine) << "job" << job.id << job.name
                                << "will not fire:" << schedule.error();
            m_catalog.put(job, std::nullopt);
            continue;
        }
        m_catalog.put(job, std::move(schedule).value());
    }
    auto nonTerminal = m_store->callBlocking(
        [](kairos::Database &db) { return kairos::InstanceRepository(db).listNonTerminal(); });
    const auto lastFires = m_store->callBlocking(
        [](kairos::Database &db) { return kairos::InstanceRepository(db).lastFireTimeByJob(); });

    m_book = new InstanceBook(m_store.get(), this);
    m_dispatcher = new Dispatcher(m_catalog, *m_book, this);
    m_tracker = new TaskTracker(m_catalog, *m_book, *m_dispatcher, m_store.get(), this);
    m_dispatcher->setTracker(m_tracker);
    connect(m_tracker, &TaskTracker::runFinished, this, &Engine::onTrackedRunFinished);
    connect(m_tracker, &TaskTracker::progress, this, &Engine::taskProgress);
    m_triggers = new TriggerScheduler(
        m_catalog, m_config.prepareLeadMs, [this](const QList<Fire> &fires) { onFires(fires); },
        this);
    connect(m_book, &InstanceBook::committed, this,
            [this](const QList<Instance> &changed, const QList<LogLine> &lines) {
                if (!changed.isEmpty())
                    emit instancesChanged(changed);
                if (!lines.isEmpty())
                    emit logsAppended(lines);
            });

    if (!m_registry) {
        m_registry = new WorkerRegistry(m_serverId, m_config.workerDeadAfterMs, this);
        connect(m_registry, &WorkerRegistry::workersChanged, this, &Engine::workersChanged);
    }
    if (m_config.localWorker) {
        // The local worker serves every app ("*"): in local mode there is no one else.
        LocalContainerSettings containers;
        containers.directory = m_config.localContainerDir;
        containers.hostProgram = m_config.containerHostProgram;
        containers.maxBytes = m_config.maxContainerBytes;
        auto *local = new LocalWorkerLink(QStringLiteral("*"), m_config.localWorkerCapacity,
                                          containers, this);
        m_localWorker = local;
        m_registry->setLocalWorker(local->app(), m_config.localWorkerCapacity);
    }

    recover(std::move(nonTerminal), lastFires);
    applyMisfires(lastFires);
    if (m_localWorker)
        addWorkerLink(m_localWorker);

    auto *sweep = new QTimer(this);
    connect(sweep, &QTimer::timeout, this, [this] { purgeOld([](Result<int>) {}); });
    sweep->start(kRetentionSweepMs);
    QTimer::singleShot(0, this, [this] { purgeOld([](Result<int>) {}); });

    m_started = true;
    qCInfo(lcEngine) << "engine" << m_serverId << "started with" << jobs.size() << "jobs";
    return {};
}

void Engine::stop()
{
    if (!m_started)
        return;
    m_started = false;
    m_recovering.clear();
    delete m_triggers;
    m_triggers = nullptr;
    // Wait for what is already queued to be written: an acknowledged change is never dropped
    // on a clean shutdown. This is the engine thread, never the GUI thread.
    {
        QEventLoop loop;
        int pending = 2;
        const auto done = [&pending, &loop] {
            if (--pending == 0)
                loop.quit();
        };
        m_tracker->whenFlushed(done);
        m_book->whenFlushed(done);
        if (pending > 0)
            loop.exec();
    }
    if (!m_book->idle()) {
        QEventLoop loop;
        m_book->whenFlushed([&loop] { loop.quit(); });
        loop.exec();
    }
    delete m_localWorker; // kills the process groups of scripts still running
    m_localWorker = nullptr;
    delete m_containers; // before the store: it uses it
    m_containers = nullptr;
    m_dispatcher->setTracker(nullptr);
    delete m_tracker;
    m_tracker = nullptr;
    delete m_dispatcher;
    m_dispatcher = nullptr;
    delete m_book;
    m_book = nullptr;
    m_store.reset();
}

// --- recovery --------------------------------------------------------------------------------

void Engine::recover(QList<Instance> nonTerminal, const QHash<qint64, qint64> &lastFires)
{
    Q_UNUSED(lastFires);
    const qint64 now = nowMs();
    int restarted = 0;
    int awaited = 0;
    int tracked = 0;
    for (Instance &inst : nonTerminal) {
        m_book->adopt(inst);
        switch (inst.status) {
        case InstanceStatus::WaitingDispatch:
        case InstanceStatus::WaitingWorker:
            m_dispatcher->enqueueAt(inst.id, std::max(inst.nextAttemptAtMs, inst.fireTimeMs));
            break;
        case InstanceStatus::Dispatched:
        case InstanceStatus::Running:
            if (isTrackedRun(inst)) {
                // The tracker goes on with its tasks (docs/execution-modes.md); its end is
                // reported with runFinished like any run, so it counts as running.
                if (JobEntry *entry = m_catalog.find(inst.jobId))
                    ++entry->running;
                m_tracker->recover(inst.id);
                ++tracked;
                break;
            }
            if (!inst.worker.isEmpty() && inst.worker != QLatin1String("local")) {
                // A remote worker may still run it: it gets the time a live worker needs to be
                // noticed to come back and claim it (bindRecovered), else it fails then.
                m_recovering.insert(inst.id, inst.worker);
                ++awaited;
                break;
            }
            // Its worker was this process (the local worker), which died with it: the attempt
            // is over. The retry policy decides whether a new attempt runs.
            ++restarted;
            endAttempt(inst, InstanceStatus::Failed, tr("server restarted"), now);
            break;
        default:
            break;
        }
    }
    if (!m_recovering.isEmpty()) {
        m_recoveredAtMs = now;
        QTimer::singleShot(m_config.workerDeadAfterMs, this, &Engine::expireRecovered);
    }
    if (!nonTerminal.isEmpty()) {
        qCInfo(lcEngine) << "recovered" << nonTerminal.size() << "unfinished instances,"
                         << restarted << "of them were running here," << awaited
                         << "on remote workers," << tracked << "broadcast/map runs";
    }
}

bool Engine::isTrackedRun(const Instance &inst) const
{
    if (const JobEntry *entry = m_catalog.find(inst.jobId))
        return TaskTracker::tracks(entry->job.mode);
    // The job is gone: its run was tracked if it stored tasks (the tracker then ends them).
    const qint64 id = inst.id;
    const int attempt = inst.attempt;
    return m_store->callBlocking([id, attempt](kairos::Database &db) {
        return kairos::TaskRepository(db).counts(id, attempt).total > 0;
    });
}

void Engine::expireRecovered()
{
    if (!m_started || m_recovering.isEmpty())
        return;
    const qint64 now = nowMs();
    // The previous server renewed those workers' leases at the latest when it ended, before this
    // one started: their runs have surely stopped by then.
    const qint64 notBefore =
        m_recoveredAtMs + m_config.workerLeaseMs + RemoteWorkerLink::kLeaseMarginMs;
    const QString reason = tr("worker lost: it did not come back after the server restarted");
    int failed = 0;
    const QHash<qint64, QString> pending = std::exchange(m_recovering, {});
    for (auto it = pending.cbegin(); it != pending.cend(); ++it) {
        const Instance *inst = m_book->find(it.key());
        if (!inst || inst->worker != it.value()
            || (inst->status != InstanceStatus::Dispatched
                && inst->status != InstanceStatus::Running))
            continue;
        const Instance copy = *inst;
        endAttempt(copy, InstanceStatus::Failed, reason, now, notBefore);
        ++failed;
    }
    if (failed > 0)
        qCWarning(lcEngine) << failed << "instance(s) failed: their worker did not come back";
    m_dispatcher->pump();
}

void Engine::applyMisfires(const QHash<qint64, qint64> &lastFires)
{
    const qint64 now = nowMs();
    QList<Fire> fires;
    for (const JobEntry &entry : m_catalog.entries()) {
        const Job &job = entry.job;
        if (!job.enabled || !entry.schedule)
            continue;
        if (entry.schedule->isFixedDelay()) {
            m_triggers->planAt(job.id, now + entry.schedule->delayMs());
            continue;
        }
        // Fire times after the last recorded fire (or after the job was last defined) that are
        // already past were missed while no server ran.
        const qint64 baseline = std::max(lastFires.value(job.id, 0), job.updatedAtMs);
        if (baseline < now) {
            const QList<qint64> catchUp = misfireCatchUp(*entry.schedule, job.misfirePolicy,
                                                         job.misfireMaxFires, baseline, now);
            if (!catchUp.isEmpty())
                qCInfo(lcTrigger) << "job" << job.id << "fires" << catchUp.size()
                                  << "missed time(s)";
            for (qint64 t : catchUp)
                fires << Fire{job.id, t, TriggerKind::Misfire};
        }
        m_triggers->plan(job.id, std::max(now, lastFires.value(job.id, 0)));
    }
    if (!fires.isEmpty())
        onFires(fires);
}

// --- firing ----------------------------------------------------------------------------------

Instance Engine::newInstance(const Job &job, TriggerKind trigger, qint64 fireTimeMs,
                             const QString &params) const
{
    Instance inst;
    inst.jobId = job.id;
    inst.jobName = job.name;
    inst.status = InstanceStatus::WaitingDispatch;
    inst.trigger = trigger;
    inst.fireTimeMs = fireTimeMs;
    inst.attempt = 1;
    inst.maxAttempts = 1 + job.retryCount;
    inst.params = params;
    inst.createdAtMs = nowMs();
    inst.nextAttemptAtMs = fireTimeMs;
    return inst;
}

void Engine::onFires(const QList<Fire> &fires)
{
    QList<Instance> rows;
    rows.reserve(fires.size());
    for (const Fire &f : fires) {
        const JobEntry *entry = m_catalog.find(f.jobId);
        if (!entry)
            continue;
        Instance inst = newInstance(entry->job, f.kind, f.fireTimeMs, QString());
        if (f.kind == TriggerKind::Misfire) {
            inst.reason =
                tr("fired late: the server was not running at %1")
                    .arg(QDateTime::fromMSecsSinceEpoch(f.fireTimeMs).toString(Qt::ISODateWithMs));
            inst.nextAttemptAtMs = 0;
        }
        rows << inst;
    }
    if (rows.isEmpty())
        return;
    m_book->insert(rows,
                   [this](const QList<Instance> &stored, const QList<bool> &isNew, Status status) {
                       if (!status.ok()) {
                           qCCritical(lcTrigger) << "could not record fires:" << status.error();
                           return;
                       }
                       for (int i = 0; i < stored.size(); ++i) {
                           if (!isNew.value(i)) {
                               // Recorded already (another server, or before a restart): not ours
                               // to run.
                               qCInfo(lcTrigger) << "fire of job" << stored[i].jobId << "at"
                                                 << stored[i].fireTimeMs << "was already recorded";
                               continue;
                           }
                           m_dispatcher->enqueueAt(stored[i].id, stored[i].nextAttemptAtMs);
                       }
                   });
}

void Engine::runJob(qint64 id, const QStringList &instanceParams, Reply<QList<qint64>> reply)
{
    const JobEntry *entry = m_catalog.find(id);
    if (!entry)
        return reply(makeError(tr("no job with id %1").arg(id)));
    QList<Instance> rows;
    const QStringList params = instanceParams.isEmpty() ? QStringList{QString()} : instanceParams;
    rows.reserve(params.size());
    for (const QString &p : params)
        rows << newInstance(entry->job, TriggerKind::Api, 0, p);
    m_book->insert(
        rows, [this, reply](const QList<Instance> &stored, const QList<bool> &, Status status) {
            if (!status.ok())
                return reply(makeError(status.error()));
            QList<qint64> ids;
            ids.reserve(stored.size());
            for (const Instance &inst : stored) {
                ids << inst.id;
                m_dispatcher->enqueue(inst.id);
            }
            reply(ids);
        });
}

// --- reports from workers --------------------------------------------------------------------

void Engine::onReports(WorkerLink *link, const QList<TaskReport> &reports)
{
    QList<TaskReport> tracked;
    for (const TaskReport &r : reports) {
        if (m_tracker->owns(r.instanceId)) {
            tracked << r;
            continue;
        }
        const Instance *found = m_book->find(r.instanceId);
        if (!found) {
            qCInfo(lcEngine) << "report for instance" << r.instanceId
                             << "which is not active here; ignored";
            continue;
        }
        if (found->attempt != r.attempt) {
            // Fencing: a report from a superseded attempt must not move the current one.
            qCWarning(lcEngine) << "late report from attempt" << r.attempt << "of instance"
                                << r.instanceId << "(now at attempt" << found->attempt
                                << ") ignored";
            continue;
        }
        if (r.status == InstanceStatus::Running) {
            m_book->transition(r.instanceId, InstanceStatus::Running,
                               [&](Instance &i) { i.startedAtMs = r.timeMs; });
            continue;
        }
        if (!isTerminal(r.status))
            continue;
        const Instance inst = *found;
        if (inst.status != InstanceStatus::Dispatched && inst.status != InstanceStatus::Running)
            continue;
        endAttempt(inst, r.status, r.result, r.timeMs);
        runEnded(inst.jobId, r.timeMs);
    }
    if (!tracked.isEmpty())
        m_tracker->onReports(link, tracked);
    m_dispatcher->pump(); // pumps the tracker too
}

void Engine::onTrackedRunFinished(qint64 instanceId, int attempt, InstanceStatus status,
                                  const QString &result, qint64 timeMs)
{
    const Instance *inst = m_book->find(instanceId);
    if (!inst || inst->attempt != attempt
        || (inst->status != InstanceStatus::Dispatched
            && inst->status != InstanceStatus::Running)) {
        qCWarning(lcEngine) << "tracked run of instance" << instanceId << "attempt" << attempt
                            << "ended, but the instance is no longer at that run; ignored";
        return;
    }
    const Instance copy = *inst;
    endAttempt(copy, status, result, timeMs, m_tracker->retryNotBeforeMs(instanceId));
    runEnded(copy.jobId, timeMs);
    m_dispatcher->pump();
}

void Engine::onLogs(const QList<LogLine> &lines)
{
    m_book->appendLogs(lines);
}

void Engine::endAttempt(const Instance &inst, InstanceStatus status, const QString &result,
                        qint64 timeMs, qint64 retryNotBeforeMs)
{
    const JobEntry *entry = m_catalog.find(inst.jobId);
    const bool retryable = (status == InstanceStatus::Failed || status == InstanceStatus::TimedOut)
                           && inst.attempt < inst.maxAttempts && entry;
    // An instance with one attempt is its own history: the attempt table only holds attempts
    // of instances that have (or will have) more than one, and reads add the current attempt
    // from the instance row. That keeps the common, successful run at one row update.
    if (retryable || inst.attempt > 1)
        m_book->recordAttempt(attemptOf(inst, status, result, timeMs));
    m_book->transition(inst.id, status, [&](Instance &i) {
        i.result = result;
        i.finishedAtMs = timeMs;
        i.reason = status == InstanceStatus::Succeeded ? QString() : result;
    });
    if (!retryable) {
        if (entry && entry->schedule && entry->schedule->isFixedDelay())
            m_triggers->planAt(inst.jobId, timeMs + entry->schedule->delayMs());
        return;
    }
    const int next = inst.attempt + 1;
    const qint64 due = std::max(timeMs + retryDelayMs(entry->job, next), retryNotBeforeMs);
    m_book->transition(inst.id, InstanceStatus::WaitingDispatch, [&](Instance &i) {
        i.attempt = next;
        i.nextAttemptAtMs = due;
        i.reason = tr("attempt %1 of %2 after: %3").arg(next).arg(i.maxAttempts).arg(result);
        i.worker.clear();
        i.dispatchedAtMs = 0;
        i.startedAtMs = 0;
        i.finishedAtMs = 0;
    });
    m_dispatcher->enqueueAt(inst.id, due);
}

Attempt Engine::attemptOf(const Instance &inst, InstanceStatus status, const QString &reason,
                          qint64 finishedAtMs)
{
    Attempt attempt;
    attempt.instanceId = inst.id;
    attempt.attempt = inst.attempt;
    attempt.status = status;
    attempt.worker = inst.worker;
    attempt.reason = reason;
    attempt.startedAtMs = inst.startedAtMs ? inst.startedAtMs : inst.dispatchedAtMs;
    attempt.finishedAtMs = finishedAtMs;
    return attempt;
}

void Engine::runEnded(qint64 jobId, qint64)
{
    if (JobEntry *entry = m_catalog.find(jobId))
        entry->running = std::max(0, entry->running - 1);
    m_dispatcher->slotFreed(jobId);
}

// --- jobs ------------------------------------------------------------------------------------

QList<Job> Engine::jobs() const
{
    return m_catalog.jobs();
}

std::optional<Job> Engine::job(qint64 id) const
{
    const JobEntry *e = m_catalog.find(id);
    return e ? std::optional<Job>(e->job) : std::nullopt;
}

std::optional<Job> Engine::jobByName(const QString &name) const
{
    const Job *j = m_catalog.findByName(name);
    return j ? std::optional<Job>(*j) : std::nullopt;
}

qint64 Engine::nextFire(qint64 jobId) const
{
    return m_triggers ? m_triggers->nextFire(jobId) : -1;
}

void Engine::createJob(const Job &job, Reply<Job> reply)
{
    Job fresh = job;
    fresh.id = 0;
    fresh.version = 0;
    commitJob(fresh, true, std::move(reply));
}

void Engine::updateJob(qint64 id, const QJsonObject &patch, qint64 expectedVersion,
                       Reply<Job> reply)
{
    const JobEntry *entry = m_catalog.find(id);
    if (!entry)
        return reply(makeError(tr("no job with id %1").arg(id)));
    if (expectedVersion != 0 && expectedVersion != entry->job.version) {
        return reply(makeError(tr("conflict: job %1 is at version %2, not %3; it was changed "
                                  "meanwhile, reload it and try again")
                                   .arg(id)
                                   .arg(entry->job.version)
                                   .arg(expectedVersion)));
    }
    auto patched = applyJobPatch(entry->job, patch);
    if (!patched.ok())
        return reply(makeError(patched.error()));
    Job job = std::move(patched).value();
    // Identity and bookkeeping are the engine's, whatever the patch says.
    job.id = entry->job.id;
    job.version = entry->job.version;
    job.createdAtMs = entry->job.createdAtMs;
    commitJob(job, false, std::move(reply));
}

void Engine::setJobEnabled(qint64 id, bool enabled, Reply<Job> reply)
{
    updateJob(id, QJsonObject{{QStringLiteral("enabled"), enabled}}, 0, std::move(reply));
}

void Engine::commitJob(const Job &job, bool isNew, Reply<Job> reply)
{
    auto schedule = m_catalog.scheduleFor(job);
    if (!schedule.ok())
        return reply(makeError(schedule.error()));
    if (namesUploadedContainer(job)) {
        if (Status s = m_containers->validateJob(job); !s.ok())
            return reply(makeError(s.error()));
    } else {
        if (Status s = validateProcessorConfig(job.processor, job.processorConfig); !s.ok())
            return reply(makeError(s.error()));
        if (Status s = validateProcessorForMode(job.mode, job.processor, job.processorConfig);
            !s.ok())
            return reply(makeError(s.error()));
    }
    auto written = std::make_shared<Result<Job>>(makeError(QString()));
    m_store->write(
        [job, isNew, written](kairos::Database &db) -> Status {
            kairos::JobRepository repo(db);
            *written = isNew ? repo.insert(job) : repo.update(job);
            if (!written->ok())
                return makeError(written->error());
            return {};
        },
        this,
        [this, job, reply, written, schedule = std::move(schedule).value()](Status status) {
            if (!status.ok()) {
                if (kairos::isConflict(status.error()))
                    refreshJob(job.id);
                return reply(makeError(status.error()));
            }
            const Job &stored = written->value();
            m_catalog.put(stored, schedule);
            planJob(stored);
            emit jobChanged(stored);
            reply(stored);
        });
}

void Engine::refreshJob(qint64 id)
{
    // Another server changed the job: take the stored copy so the next edit starts from it.
    m_store->call<std::optional<Job>>(
        [id](kairos::Database &db) { return kairos::JobRepository(db).get(id); }, this,
        [this](std::optional<Job> fresh) {
            if (!fresh)
                return;
            auto schedule = m_catalog.scheduleFor(*fresh);
            m_catalog.put(*fresh, schedule.ok() ? std::move(schedule).value() : std::nullopt);
            planJob(*fresh);
            emit jobChanged(*fresh);
        });
}

void Engine::planJob(const Job &job)
{
    m_triggers->unplan(job.id);
    const JobEntry *entry = m_catalog.find(job.id);
    if (!entry || !job.enabled || !entry->schedule)
        return;
    if (entry->schedule->isFixedDelay()) {
        if (entry->running == 0)
            m_triggers->planAt(job.id, nowMs() + entry->schedule->delayMs());
        return;
    }
    m_triggers->plan(job.id, nowMs());
}

void Engine::deleteJob(qint64 id, Reply<bool> reply)
{
    if (!m_catalog.find(id))
        return reply(makeError(tr("no job with id %1").arg(id)));
    m_store->write([id](kairos::Database &db) { return kairos::JobRepository(db).remove(id); },
                   this,
                   [this, id, reply](Status status) {
                       if (!status.ok())
                           return reply(makeError(status.error()));
                       m_triggers->unplan(id);
                       m_catalog.remove(id);
                       emit jobRemoved(id);
                       reply(true);
                   });
}

// --- instances -------------------------------------------------------------------------------

void Engine::listInstances(const InstanceFilter &filter, Reply<QList<Instance>> reply)
{
    m_store->call<QList<Instance>>(
        [filter](kairos::Database &db) { return kairos::InstanceRepository(db).list(filter); },
        this, [reply](QList<Instance> list) { reply(list); });
}

void Engine::instance(qint64 id, Reply<InstanceDetail> reply)
{
    m_store->call<std::optional<InstanceDetail>>(
        [id](kairos::Database &db) -> std::optional<InstanceDetail> {
            kairos::InstanceRepository repo(db);
            auto inst = repo.get(id);
            if (!inst)
                return std::nullopt;
            return InstanceDetail{*inst, repo.attempts(id)};
        },
        this,
        [this, id, reply](std::optional<InstanceDetail> detail) {
            if (!detail)
                return reply(makeError(tr("no instance with id %1").arg(id)));
            // The in-memory state may be ahead of the last commit.
            if (const Instance *live = m_book->find(id))
                detail->instance = *live;
            // The current attempt is stored on the instance row (see endAttempt).
            const Instance &inst = detail->instance;
            const bool listed =
                std::any_of(detail->attempts.begin(), detail->attempts.end(),
                            [&](const Attempt &a) { return a.attempt == inst.attempt; });
            const bool begun = inst.dispatchedAtMs != 0 || isTerminal(inst.status);
            if (!listed && begun && inst.status != InstanceStatus::Skipped) {
                detail->attempts << attemptOf(
                    inst, inst.status,
                    inst.status == InstanceStatus::Succeeded ? inst.result : inst.reason,
                    inst.finishedAtMs);
            }
            reply(*detail);
        });
}

void Engine::logs(qint64 id, qint64 afterSeq, int limit, Reply<QList<LogLine>> reply)
{
    m_store->call<QList<LogLine>>(
        [id, afterSeq, limit](kairos::Database &db) {
            return kairos::LogRepository(db).read(id, afterSeq, limit);
        },
        this, [reply](QList<LogLine> lines) { reply(lines); });
}

void Engine::tasks(qint64 id, const TaskFilter &filter, Reply<QList<TaskInfo>> reply)
{
    if (filter.limit < 1)
        return reply(makeError(tr("limit: expected at least 1, got %1").arg(filter.limit)));
    if (const Instance *inst = m_book->find(id))
        return m_tracker->listTasks(id, inst->attempt, filter, std::move(reply));
    instance(id, [this, id, filter, reply](Result<InstanceDetail> detail) {
        if (!detail.ok())
            return reply(makeError(detail.error()));
        m_tracker->listTasks(id, detail->instance.attempt, filter, reply);
    });
}

void Engine::cancelInstance(qint64 id, Reply<Instance> reply)
{
    const Instance *inst = m_book->find(id);
    if (!inst || isTerminal(inst->status)) {
        instance(id, [this, id, reply](Result<InstanceDetail> detail) {
            if (!detail.ok())
                return reply(makeError(detail.error()));
            reply(makeError(tr("instance %1 has already ended (%2)")
                                .arg(id)
                                .arg(toString(detail->instance.status))));
        });
        return;
    }
    const QString reason = tr("canceled by the operator");
    const qint64 now = nowMs();
    if (m_tracker->owns(id)) {
        // Its tasks are canceled on their workers; the run ends CANCELED once they are.
        const Instance copy = *inst;
        m_tracker->cancel(id, reason);
        return reply(copy);
    }
    if (inst->status == InstanceStatus::Dispatched || inst->status == InstanceStatus::Running) {
        if (WorkerLink *link = m_dispatcher->link(inst->worker)) {
            link->cancel(id, inst->attempt, reason);
            return reply(*inst);
        }
        // Its worker is gone: nothing runs any more, end it here.
        const Instance copy = *inst;
        endAttempt(copy, InstanceStatus::Canceled, reason, now);
        runEnded(copy.jobId, now);
        m_dispatcher->pump();
        const Instance *after = m_book->find(id);
        return reply(after ? *after : copy);
    }
    m_dispatcher->forget(id);
    Instance snapshot = *inst;
    m_book->transition(id, InstanceStatus::Canceled, [&](Instance &i) {
        i.reason = reason;
        i.finishedAtMs = now;
        snapshot = i;
    });
    reply(snapshot);
}

void Engine::retryInstance(qint64 id, Reply<Instance> reply)
{
    if (const Instance *active = m_book->find(id); active && !isTerminal(active->status)) {
        return reply(makeError(
            tr("instance %1 is still %2; cancel it first").arg(id).arg(toString(active->status))));
    }
    instance(id, [this, id, reply](Result<InstanceDetail> detail) {
        if (!detail.ok())
            return reply(makeError(detail.error()));
        // The instance() reply carries our in-memory copy when we still hold it (a finished
        // instance whose commit is in flight), so the version below is the newest one.
        Instance inst = detail->instance;
        if (!isAllowedTransition(inst.status, InstanceStatus::WaitingDispatch)) {
            return reply(makeError(
                tr("instance %1 is %2; only FAILED, TIMED_OUT or CANCELED instances can be "
                   "retried")
                    .arg(id)
                    .arg(toString(inst.status))));
        }
        if (const Instance *held = m_book->find(id); held && !isTerminal(held->status))
            return reply(makeError(tr("instance %1 is being retried already").arg(id)));
        if (!m_book->find(id))
            m_book->adopt(inst, true);
        Instance snapshot;
        m_book->transition(id, InstanceStatus::WaitingDispatch, [&](Instance &i) {
            i.attempt += 1;
            i.maxAttempts = std::max(i.maxAttempts, i.attempt);
            i.reason = tr("retried by the operator");
            i.worker.clear();
            i.nextAttemptAtMs = 0;
            i.dispatchedAtMs = 0;
            i.startedAtMs = 0;
            i.finishedAtMs = 0;
            snapshot = i;
        });
        m_dispatcher->enqueue(id);
        reply(snapshot);
    });
}

void Engine::purgeOld(Reply<int> reply)
{
    if (m_config.retentionDays <= 0)
        return reply(0);
    const qint64 before = nowMs() - qint64(m_config.retentionDays) * 24 * 3600 * 1000;
    auto deleted = std::make_shared<int>(0);
    m_store->write(
        [before, deleted](kairos::Database &db) -> Status {
            auto n = kairos::InstanceRepository(db).deleteFinishedBefore(before);
            if (!n.ok())
                return makeError(n.error());
            *deleted = *n;
            return {};
        },
        this,
        [reply, deleted](Status status) {
            if (!status.ok())
                return reply(makeError(status.error()));
            if (*deleted > 0)
                qCInfo(lcEngine) << "retention: deleted" << *deleted << "old instances";
            reply(*deleted);
        });
}

// --- workers ---------------------------------------------------------------------------------

void Engine::addWorkerLink(WorkerLink *link)
{
    if (!m_dispatcher || !m_registry) {
        qCWarning(lcEngine) << "worker link" << link->id() << "added before start(): ignored";
        return;
    }
    auto *remote = qobject_cast<RemoteWorkerLink *>(link);
    if (remote) {
        if (!remote->isRegistered() || remote->isLost()) {
            qCWarning(lcEngine) << "worker link" << link->id()
                                << "is not registered or already lost: ignored";
            return;
        }
        // Replaces a live link of the same worker id; that one's runs are ended right here.
        m_registry->add(remote);
    }
    connect(link, &WorkerLink::reports, this,
            [this, link](const QList<TaskReport> &reports) { onReports(link, reports); });
    // Every call is answered: the tracker refuses those of runs it does not hold.
    connect(link, &WorkerLink::calls, this,
            [this, link](const QList<TaskCall> &calls) { m_tracker->onCalls(link, calls); });
    connect(link, &WorkerLink::logs, this, &Engine::onLogs);
    connect(link, &WorkerLink::returned, this,
            [this, link](const QList<TaskKey> &keys, const QString &reason) {
                onWorkerReturned(link, keys, reason);
            });
    connect(link, &WorkerLink::lost, this,
            [this, link](const QString &reason, qint64 retryNotBeforeMs) {
                onWorkerLost(link, reason, retryNotBeforeMs);
            });
    // The dispatcher itself listens to changed(): it coalesces a burst of heartbeats into one
    // pump.
    if (remote)
        bindRecovered(remote);
    m_dispatcher->addLink(link);
    // Connect-time deploy: the orders of every container it should run.
    m_containers->attach(link);
}

void Engine::bindRecovered(RemoteWorkerLink *link)
{
    const QString workerId = link->id();
    QList<TaskKey> bound;
    QList<TaskKey> stale;
    for (const TaskKey &key : link->registration().held) {
        const Instance *inst = m_book->find(key.instanceId);
        const bool awaited = m_recovering.value(key.instanceId) == workerId && inst
                             && inst->attempt == key.attempt && inst->worker == workerId
                             && (inst->status == InstanceStatus::Dispatched
                                 || inst->status == InstanceStatus::Running);
        if (!awaited) {
            stale << key;
            continue;
        }
        bound << key;
        m_recovering.remove(key.instanceId);
        // Its terminal report ends the run (runEnded), so count it as running.
        if (JobEntry *entry = m_catalog.find(inst->jobId))
            ++entry->running;
    }
    // Further tasks of an attempt bound above (subtasks) count as held too.
    for (qsizetype i = stale.size() - 1; i >= 0; --i) {
        const TaskKey &k = stale.at(i);
        if (std::any_of(bound.cbegin(), bound.cend(), [&k](const TaskKey &b) {
                return b.instanceId == k.instanceId && b.attempt == k.attempt;
            })) {
            bound << k;
            stale.removeAt(i);
        }
    }
    link->bindHeld(bound);
    if (!bound.isEmpty())
        qCInfo(lcEngine) << "worker" << workerId << "took back" << bound.size()
                         << "run(s) from before the server restarted";
    // Runs the server has ended meanwhile (the worker's earlier connection was lost, or it came
    // back too late): the worker must stop them so no zombie runs beside a retry.
    link->cancelStale(stale, tr("this attempt was ended by the server while the worker was away"));
}

void Engine::onWorkerLost(WorkerLink *link, const QString &reason, qint64 retryNotBeforeMs)
{
    if (!m_started)
        return;
    m_dispatcher->removeLink(link);
    // Tracked runs first: their tasks on that worker fail over or fail (bound broadcast ones).
    m_tracker->onWorkerLost(link, reason, retryNotBeforeMs);
    const auto *remote = qobject_cast<RemoteWorkerLink *>(link);
    if (!remote)
        return;
    const QString workerId = link->id();
    const QString result = tr("worker lost: %1").arg(reason);
    const qint64 now = nowMs();
    QSet<qint64> ended;
    for (const TaskKey &key : remote->heldKeys()) {
        if (ended.contains(key.instanceId) || m_tracker->owns(key.instanceId))
            continue;
        const Instance *inst = m_book->find(key.instanceId);
        if (!inst || inst->attempt != key.attempt || inst->worker != workerId
            || (inst->status != InstanceStatus::Dispatched
                && inst->status != InstanceStatus::Running))
            continue;
        ended.insert(key.instanceId);
        const Instance copy = *inst;
        endAttempt(copy, InstanceStatus::Failed, result, now, retryNotBeforeMs);
        runEnded(copy.jobId, now);
    }
    if (!ended.isEmpty()) {
        qCWarning(lcEngine).noquote()
            << QStringLiteral("worker %1 lost (%2): %3 run(s) failed, retries not before %4")
                   .arg(workerId, reason)
                   .arg(ended.size())
                   .arg(QDateTime::fromMSecsSinceEpoch(retryNotBeforeMs)
                            .toString(Qt::ISODateWithMs));
    }
    m_dispatcher->pump();
}

void Engine::onWorkerReturned(WorkerLink *link, const QList<TaskKey> &keys, const QString &reason)
{
    if (!m_started)
        return;
    const QString workerId = link->id();
    const QString why = tr("handed back by worker %1: %2").arg(workerId, reason);
    QSet<qint64> requeued;
    QList<TaskKey> tracked;
    for (const TaskKey &key : keys) {
        if (m_tracker->owns(key.instanceId)) {
            tracked << key;
            continue;
        }
        if (requeued.contains(key.instanceId))
            continue;
        const Instance *inst = m_book->find(key.instanceId);
        if (!inst || inst->attempt != key.attempt || inst->worker != workerId
            || inst->status != InstanceStatus::Dispatched) {
            qCInfo(lcEngine) << "worker" << workerId << "returned instance" << key.instanceId
                             << "attempt" << key.attempt << "which it no longer holds: ignored";
            continue;
        }
        // Same attempt: it never started, so it is not a failure and costs no retry. The
        // dispatcher puts it back ahead of newer work and frees the job's concurrency slot.
        m_dispatcher->requeue(key.instanceId, why);
        requeued.insert(key.instanceId);
    }
    if (!tracked.isEmpty())
        m_tracker->onReturned(link, tracked, reason);
}

QList<WorkerLink *> Engine::workerLinks() const
{
    return m_dispatcher ? m_dispatcher->links() : QList<WorkerLink *>{};
}

QList<WorkerInfo> Engine::workers() const
{
    return m_registry ? m_registry->workers() : QList<WorkerInfo>{};
}

void Engine::whenFlushed(std::function<void()> fn)
{
    // Task rows first: a tracked run's end reaches the book only after its tasks are stored.
    m_tracker->whenFlushed(
        [this, fn = std::move(fn)]() mutable { m_book->whenFlushed(std::move(fn)); });
}

int Engine::activeInstanceCount() const
{
    return m_book ? int(m_book->active().size()) : 0;
}

} // namespace kairos::server
