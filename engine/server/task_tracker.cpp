#include "task_tracker.h"

#include "dispatcher.h"
#include "instance_book.h"

#include <core/clock.h>
#include <store/store_thread.h>
#include <store/task_repository.h>
#include <worker/processor.h>
#include <worker/wire.h>

#include <QLoggingCategory>
#include <QMap>
#include <QPointer>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>

namespace kairos::server {
namespace {

Q_LOGGING_CATEGORY(lcTracker, "kairos.server.tracker", QtWarningMsg)

// A map run reads its window again once fewer read tasks than this wait for a slot.
constexpr int kRefillBelow = TaskTracker::kWindow / 2;
// Rows per read when a broadcast run is loaded after a restart.
constexpr int kRecoveryPage = 1000;
// A failed task write is tried again after 100 ms, doubling up to this.
constexpr int kMaxWriteBackoffMs = 5000;
// The instance's worker field lists the run's workers up to this length.
constexpr qsizetype kMaxWorkerField = 200;
// After a restart the run numbers of a run continue from a base that grows with the time since
// the run was dispatched (one per this many ms), so that a worker which ran a task before the
// restart never takes the new run for a duplicate of one it remembers (TaskKey idempotency).
constexpr qint64 kRunBaseTickMs = 100;

const QString kRootName = QStringLiteral("root");
const QString kReduceName = QStringLiteral("reduce");
const QString kPreName = QStringLiteral("preProcess");
const QString kBroadcastName = QStringLiteral("broadcast");
const QString kPostName = QStringLiteral("postProcess");
const QString kSubtaskName = QStringLiteral("subtask");

bool inFlight(InstanceStatus s)
{
    return s == InstanceStatus::Dispatched || s == InstanceStatus::Running;
}

bool isMapMode(ExecutionMode m)
{
    return m == ExecutionMode::Map || m == ExecutionMode::MapReduce;
}

// Roles that fail over to another worker when theirs is lost.
bool movable(TaskRole r)
{
    return r == TaskRole::Root || r == TaskRole::Subtask || r == TaskRole::Reduce
           || r == TaskRole::PostProcess;
}

QString cut(QString text)
{
    if (text.size() > TaskTracker::kMaxResultLength)
        text.truncate(TaskTracker::kMaxResultLength);
    return text;
}

TaskUpdate updateOf(const TaskInfo &t)
{
    TaskUpdate u;
    u.instanceId = t.instanceId;
    u.attempt = t.attempt;
    u.taskId = t.taskId;
    u.status = t.status;
    u.runs = t.runs;
    u.worker = t.worker;
    u.address = t.address;
    u.result = t.result;
    u.startedAtMs = t.startedAtMs;
    u.finishedAtMs = t.finishedAtMs;
    return u;
}

TaskInfo withoutPayload(TaskInfo t)
{
    t.payload = QByteArray();
    return t;
}

double scoreOf(WorkerLink *l, int room)
{
    return healthScore(l->metrics(), room, l->slotCount());
}

} // namespace

// One task held in memory: every task of a broadcast run; of a map run the dispatched ones, the
// ones due to run again, and finished ones until their final state is durable.
struct TrackedTask {
    TaskInfo info;
    // The link of the current run. Broadcast tasks: their bound worker's link from the start.
    QPointer<WorkerLink> link;
    int losses = 0;         // runs lost with their worker
    int retries = 0;        // reruns after a processor failure
    qint64 notBeforeMs = 0; // due again not before (a lost worker's lease)
    qint64 mapped = 0;      // positions of this task's map calls accepted (dedup of reruns)
};

struct TaskTracker::Run {
    qint64 instanceId = 0;
    int attempt = 1;
    qint64 jobId = 0;
    Job job; // as it was when the run started
    ExecutionMode mode = ExecutionMode::Map;
    QString instanceParams;
    int runBase = 0; // see kRunBaseTickMs
    qint64 nextTaskId = 1;
    TaskCounts counts;
    bool loading = false; // recovering: rows are being read, nothing is placed yet
    bool instanceRunning = false;

    QHash<qint64, TrackedTask> tasks;
    qint64 open = 0; // tasks in `tasks` that are not terminal

    // Map runs: the dispatch window and the reruns.
    std::deque<TaskInfo> window; // read from the store, not dispatched yet
    std::deque<qint64> ready;    // tasks in memory due to run again now
    QList<qint64> delayed;       // tasks in memory due at their notBeforeMs
    qint64 cursor = 0;           // highest task id read into the window
    qint64 scannedTo = 0;        // every waiting row up to this id has been read
    qint64 durableMaxId = 0;     // every row up to this id is stored
    bool readInFlight = false;
    QHash<qint64, qint64> mappedBefore; // after a restart: positions stored by open parents
    bool rootEnded = false;
    qint64 reduceId = 0;
    QString firstFailure;

    // Broadcast runs.
    qint64 preId = 0;
    qint64 postId = 0;
    QList<qint64> broadcastIds;
    QStringList setIds; // the worker set, fixed at start

    // The end: no more dispatches, whatever waits ends CANCELED with endReason.
    bool ending = false;
    QString endReason;
    struct Outcome {
        InstanceStatus status = InstanceStatus::Failed;
        QString result;
    };
    std::optional<Outcome> outcome;
    qint64 retryNotBeforeMs = 0;
    quint64 lastBatch = 0; // the write batch holding this run's latest change

    // Progress since the last event.
    QList<TaskInfo> changed;
    QHash<qint64, qsizetype> changedAt;
    bool truncated = false;
    bool dirty = false;

    bool stored() const { return durableMaxId >= nextTaskId - 1; }
};

class TaskTracker::Impl {
public:
    Impl(TaskTracker *owner, JobCatalog &jobs, InstanceBook &instances, Dispatcher &dispatch,
         StoreThread *storeThread)
        : q(owner)
        , catalog(jobs)
        , book(instances)
        , dispatcher(dispatch)
        , store(storeThread)
    {
        progressTimer.setInterval(kProgressIntervalMs);
        QObject::connect(&progressTimer, &QTimer::timeout, q, [this] { emitProgress(); });
        delayTimer.setSingleShot(true);
        QObject::connect(&delayTimer, &QTimer::timeout, q, [this] { pump(); });
    }

    // A group commit of task rows: inserts first (a batch may insert a task and finish another
    // that an earlier batch inserted), then terminal updates.
    struct WriteBatch {
        quint64 number = 0;
        QList<TaskInfo> inserts;
        QList<TaskUpdate> updates;
        QHash<qint64, qint64> insertedUpTo;       // instance -> highest task id inserted
        QList<std::pair<qint64, qint64>> settled; // (instance, task) final in this batch
        QList<std::pair<QPointer<WorkerLink>, TaskCallReply>> replies; // map calls answered
        bool empty() const
        {
            return inserts.isEmpty() && updates.isEmpty() && settled.isEmpty() && replies.isEmpty();
        }
    };

    // What one pump hands to each link.
    struct Plan {
        QHash<WorkerLink *, QList<TaskSpec>> batches;
        QHash<WorkerLink *, int> planned;
        QHash<qint64, QList<WorkerLink *>> eligible; // per job
        int room(WorkerLink *l) const { return l->freeSlots() - planned.value(l); }
    };

    TaskTracker *q;
    JobCatalog &catalog;
    InstanceBook &book;
    Dispatcher &dispatcher;
    StoreThread *store;

    std::map<qint64, std::unique_ptr<Run>> runs;
    size_t rotate = 0; // which run the next pump serves first
    size_t roundRobin = 0;

    WriteBatch pending;
    quint64 batchCounter = 0;
    quint64 durableBatch = 0;
    bool writing = false;
    bool flushScheduled = false;
    int writeFailures = 0;
    QList<std::function<void()>> flushWaiters;

    bool pumping = false;
    bool pumpAgain = false;
    bool pumpScheduled = false;
    QTimer delayTimer;
    QTimer progressTimer;
    QList<TaskProgress> finalProgress; // of runs that ended since the last event
    std::pair<qint64, qint64> finishing{0, 0};

    Run *find(qint64 instanceId)
    {
        const auto it = runs.find(instanceId);
        return it == runs.end() ? nullptr : it->second.get();
    }

    // --- starting ------------------------------------------------------------------------

    void start(qint64 instanceId, const QList<WorkerLink *> &candidates)
    {
        const Instance *inst = book.find(instanceId);
        if (!inst
            || (inst->status != InstanceStatus::WaitingDispatch
                && inst->status != InstanceStatus::WaitingWorker)) {
            qCWarning(lcTracker) << "start of instance" << instanceId
                                 << "which is not waiting: ignored";
            return;
        }
        const JobEntry *entry = catalog.find(inst->jobId);
        if (!entry || candidates.isEmpty() || runs.count(instanceId)) {
            qCWarning(lcTracker) << "start of instance" << instanceId
                                 << "without a job, candidates or with a run already: ignored";
            return;
        }
        auto run = std::make_unique<Run>();
        run->instanceId = instanceId;
        run->attempt = inst->attempt;
        run->jobId = inst->jobId;
        run->job = entry->job;
        run->mode = entry->job.mode;
        run->instanceParams = inst->params;
        const qint64 now = nowMs();

        QList<WorkerLink *> set = candidates;
        if (run->mode == ExecutionMode::Broadcast && run->job.dispatch.maxWorkers > 0
            && set.size() > run->job.dispatch.maxWorkers) {
            // The healthiest ones take part.
            std::stable_sort(set.begin(), set.end(), [](WorkerLink *a, WorkerLink *b) {
                return scoreOf(a, a->freeSlots()) > scoreOf(b, b->freeSlots());
            });
            set = set.mid(0, run->job.dispatch.maxWorkers);
        }
        QStringList ids;
        for (WorkerLink *l : std::as_const(set))
            ids << l->id();
        QString workers = ids.join(QStringLiteral(","));
        if (workers.size() > kMaxWorkerField)
            workers = workers.left(kMaxWorkerField - 1) + QChar(0x2026);
        book.transition(instanceId, InstanceStatus::Dispatched, [&](Instance &i) {
            i.worker = workers;
            i.dispatchedAtMs = now;
            i.reason.clear();
        });

        Run &r = *run;
        runs.emplace(instanceId, std::move(run));
        if (r.mode == ExecutionMode::Broadcast)
            planBroadcast(r, set, now);
        else
            insertRoot(r, now);
        qCInfo(lcTracker) << "instance" << instanceId << "attempt" << r.attempt << "started as"
                          << toString(r.mode) << "over" << set.size() << "worker(s)";
    }

    TaskInfo newTask(Run &run, TaskRole role, const QString &name, qint64 now)
    {
        TaskInfo t;
        t.instanceId = run.instanceId;
        t.attempt = run.attempt;
        t.taskId = run.nextTaskId++;
        t.role = role;
        t.name = name;
        t.status = InstanceStatus::WaitingDispatch;
        t.createdAtMs = now;
        return t;
    }

    void insertRoot(Run &run, qint64 now)
    {
        TaskInfo root = newTask(run, TaskRole::Root, kRootName, now);
        countTransition(run.counts, std::nullopt, InstanceStatus::WaitingDispatch);
        markChanged(run, root);
        queueInsert(run, {root});
    }

    void planBroadcast(Run &run, const QList<WorkerLink *> &set, qint64 now)
    {
        const BroadcastHooks hooks = broadcastHooksOf(run.job.processor, run.job.processorConfig);
        QList<TaskInfo> rows;
        auto add = [&](TaskInfo t, WorkerLink *bound) {
            TrackedTask task;
            task.info = t;
            task.link = bound;
            run.tasks.insert(t.taskId, task);
            ++run.open;
            countTransition(run.counts, std::nullopt, t.status);
            markChanged(run, t);
            rows << t;
        };
        if (hooks.preProcess) {
            TaskInfo pre = newTask(run, TaskRole::PreProcess, kPreName, now);
            run.preId = pre.taskId;
            add(pre, nullptr);
        }
        for (WorkerLink *l : set) {
            TaskInfo t = newTask(run, TaskRole::Broadcast, kBroadcastName, now);
            // Bound for ever: the worker's id and address are stored with the row.
            t.worker = l->id();
            t.address = l->address();
            run.broadcastIds << t.taskId;
            run.setIds << t.worker;
            add(t, l);
        }
        if (hooks.postProcess) {
            TaskInfo post = newTask(run, TaskRole::PostProcess, kPostName, now);
            run.postId = post.taskId;
            add(post, nullptr);
        }
        queueInsert(run, rows);
    }

    // --- recovery ------------------------------------------------------------------------

    struct Loaded {
        TaskCounts counts;
        qint64 maxTaskId = 0;
        QHash<qint64, qint64> mapped;
        QList<TaskInfo> rows; // broadcast: every row; map: the root and the last row
    };

    void recover(qint64 instanceId)
    {
        const Instance *inst = book.find(instanceId);
        if (!inst
            || (inst->status != InstanceStatus::Dispatched
                && inst->status != InstanceStatus::Running)) {
            qCWarning(lcTracker) << "recover of instance" << instanceId
                                 << "which is not dispatched or running: ignored";
            return;
        }
        if (runs.count(instanceId))
            return;
        auto run = std::make_unique<Run>();
        run->instanceId = instanceId;
        run->attempt = inst->attempt;
        run->jobId = inst->jobId;
        run->instanceParams = inst->params;
        run->instanceRunning = inst->status == InstanceStatus::Running;
        const JobEntry *entry = catalog.find(inst->jobId);
        if (entry) {
            run->job = entry->job;
            run->mode = entry->job.mode;
        } else {
            // Only its rows are left to end; every open row is stored waiting, so the map
            // path drains them whatever the mode was.
            run->job.id = inst->jobId;
            run->mode = ExecutionMode::Map;
        }
        const qint64 since = inst->dispatchedAtMs > 0 ? inst->dispatchedAtMs : inst->createdAtMs;
        run->runBase =
            int(std::clamp<qint64>((nowMs() - since) / kRunBaseTickMs + 1, 1, 1'000'000'000));
        run->loading = true;
        const bool broadcast = run->mode == ExecutionMode::Broadcast;
        const int attempt = run->attempt;
        runs.emplace(instanceId, std::move(run));
        store->call<Loaded>(
            [instanceId, attempt, broadcast](Database &db) {
                TaskRepository repo(db);
                Loaded l;
                l.counts = repo.counts(instanceId, attempt, &l.maxTaskId);
                if (broadcast) {
                    TaskFilter f;
                    f.limit = kRecoveryPage;
                    for (;;) {
                        const QList<TaskInfo> page = repo.list(instanceId, attempt, f);
                        l.rows << page;
                        if (page.size() < f.limit)
                            break;
                        f.afterTaskId = page.last().taskId;
                    }
                } else {
                    l.mapped = repo.mappedByOpenParents(instanceId, attempt);
                    TaskFilter f;
                    f.limit = 1;
                    l.rows << repo.list(instanceId, attempt, f); // the root
                    if (l.maxTaskId > 1) {
                        f.afterTaskId = l.maxTaskId - 1;
                        l.rows << repo.list(instanceId, attempt, f); // the newest row
                    }
                }
                return l;
            },
            q,
            [this, instanceId, attempt](Loaded loaded) {
                Run *r = find(instanceId);
                if (!r || r->attempt != attempt || !r->loading)
                    return;
                onLoaded(*r, std::move(loaded));
                pump();
            });
    }

    void onLoaded(Run &run, Loaded loaded)
    {
        run.loading = false;
        run.counts = loaded.counts;
        run.nextTaskId = loaded.maxTaskId + 1;
        run.durableMaxId = loaded.maxTaskId;
        const qint64 now = nowMs();
        const bool jobGone = !catalog.find(run.jobId);
        if (run.mode == ExecutionMode::Broadcast) {
            if (loaded.rows.isEmpty()) {
                endRun(run, InstanceStatus::Failed,
                       tr("server restarted before the broadcast tasks were stored"), {});
                return;
            }
            run.durableMaxId = loaded.maxTaskId;
            run.scannedTo = loaded.maxTaskId;
            for (const TaskInfo &row : std::as_const(loaded.rows)) {
                TrackedTask t;
                t.info = row;
                if (!isTerminal(row.status))
                    ++run.open;
                run.tasks.insert(row.taskId, t);
                switch (row.role) {
                case TaskRole::PreProcess:
                    run.preId = row.taskId;
                    break;
                case TaskRole::PostProcess:
                    run.postId = row.taskId;
                    break;
                case TaskRole::Broadcast:
                    run.broadcastIds << row.taskId;
                    run.setIds << row.worker;
                    break;
                default:
                    break;
                }
            }
            // They may have run: never again. The run goes on to postProcess.
            const QString reason = tr("server restarted");
            for (auto it = run.tasks.begin(); it != run.tasks.end(); ++it) {
                TrackedTask &t = it.value();
                if (!isTerminal(t.info.status) && t.info.role != TaskRole::PostProcess)
                    settle(run, t, InstanceStatus::Failed, reason, now, false);
            }
            if (jobGone)
                endRun(run, InstanceStatus::Failed, tr("the job was deleted"),
                       tr("the job was deleted"));
            qCInfo(lcTracker) << "broadcast instance" << run.instanceId << "recovered with"
                              << run.tasks.size() << "task(s)";
            return;
        }
        run.mappedBefore = std::move(loaded.mapped);
        for (const TaskInfo &row : std::as_const(loaded.rows)) {
            if (row.role == TaskRole::Root && isTerminal(row.status)) {
                run.rootEnded = true;
                if (row.status != InstanceStatus::Succeeded && !run.ending) {
                    endRun(run, InstanceStatus::Failed, tr("root task failed: %1").arg(row.result),
                           tr("the root task failed"));
                }
            }
            if (row.role == TaskRole::Reduce) {
                run.reduceId = row.taskId;
                if (isTerminal(row.status) && !run.outcome)
                    run.outcome = Run::Outcome{row.status, row.result};
            }
        }
        if (jobGone) {
            endRun(run, InstanceStatus::Failed, tr("the job was deleted"),
                   tr("the job was deleted"));
        } else if (loaded.maxTaskId == 0) {
            insertRoot(run, now); // the previous process ended before it stored the root
        }
        qCInfo(lcTracker) << "map instance" << run.instanceId << "recovered:" << run.counts.total
                          << "task(s)," << run.counts.waiting << "to run again";
    }

    // --- writes --------------------------------------------------------------------------

    void touch(Run &run)
    {
        run.lastBatch = batchCounter + 1; // the number the pending batch will get
        scheduleFlush();
    }

    void queueInsert(Run &run, const QList<TaskInfo> &rows)
    {
        if (rows.isEmpty())
            return;
        pending.inserts << rows;
        qint64 &upTo = pending.insertedUpTo[run.instanceId];
        upTo = std::max(upTo, rows.last().taskId);
        touch(run);
    }

    void queueUpdate(Run &run, const TaskInfo &t)
    {
        pending.updates << updateOf(t);
        touch(run);
    }

    void scheduleFlush()
    {
        if (flushScheduled || writing)
            return;
        flushScheduled = true;
        // One turn of the event loop lets a burst of reports and calls join one commit.
        QTimer::singleShot(0, q, [this] { flush(); });
    }

    bool idle() const { return !writing && pending.empty(); }

    void flush()
    {
        flushScheduled = false;
        if (writing)
            return;
        if (pending.empty()) {
            for (auto &fn : std::exchange(flushWaiters, {}))
                fn();
            return;
        }
        auto batch = std::make_shared<WriteBatch>(std::exchange(pending, {}));
        batch->number = ++batchCounter;
        if (batch->inserts.isEmpty() && batch->updates.isEmpty()) {
            // Only answers and bookkeeping: everything before it is durable already.
            onWritten(batch, {});
            return;
        }
        writing = true;
        store->write(
            [batch](Database &db) -> Status {
                TaskRepository repo(db);
                if (!batch->inserts.isEmpty()) {
                    if (Status s = repo.insertBatch(batch->inserts); !s.ok())
                        return s;
                }
                if (!batch->updates.isEmpty()) {
                    if (Status s = repo.applyUpdates(batch->updates); !s.ok())
                        return s;
                }
                return {};
            },
            q, [this, batch](Status status) { onWritten(batch, status); });
    }

    void onWritten(const std::shared_ptr<WriteBatch> &batch, const Status &status)
    {
        writing = false;
        if (!status.ok()) {
            // Nothing of it is stored: it goes first into the next write, and map calls wait.
            qCCritical(lcTracker) << "task write failed:" << status.error();
            WriteBatch &b = *batch;
            b.inserts << pending.inserts;
            b.updates << pending.updates;
            for (auto it = pending.insertedUpTo.cbegin(); it != pending.insertedUpTo.cend(); ++it)
                b.insertedUpTo[it.key()] = std::max(b.insertedUpTo.value(it.key()), it.value());
            b.settled << pending.settled;
            b.replies << pending.replies;
            // It gets a new number when it is sent again, higher than any run waits for.
            pending = std::move(b);
            const int delay = std::min(kMaxWriteBackoffMs, 100 << std::min(writeFailures++, 6));
            QTimer::singleShot(delay, q, [this] { scheduleFlush(); });
            return;
        }
        writeFailures = 0;
        durableBatch = batch->number;
        // Runs whose window has read everything stored so far take the rows just stored
        // straight into the window (as far as it has room) instead of reading them back.
        QHash<qint64, qint64> takeAfter; // instance -> rows with a higher id go to the window
        for (auto it = batch->insertedUpTo.cbegin(); it != batch->insertedUpTo.cend(); ++it) {
            Run *run = find(it.key());
            if (!run)
                continue;
            if (isMapMode(run->mode) && !run->ending && !run->loading && !run->readInFlight
                && run->scannedTo >= run->durableMaxId && int(run->window.size()) < kWindow) {
                takeAfter.insert(run->instanceId, run->durableMaxId);
            }
            run->durableMaxId = std::max(run->durableMaxId, it.value());
        }
        for (const TaskInfo &row : std::as_const(batch->inserts)) {
            const auto after = takeAfter.constFind(row.instanceId);
            if (after == takeAfter.cend() || row.taskId <= *after)
                continue;
            Run *run = find(row.instanceId);
            if (int(run->window.size()) >= kWindow) {
                takeAfter.remove(row.instanceId); // the rest is read back later
                continue;
            }
            run->window.push_back(row);
            run->cursor = row.taskId;
            run->scannedTo = row.taskId;
        }
        for (auto it = takeAfter.cbegin(); it != takeAfter.cend(); ++it) {
            // Every stored row of the run is in the window or beyond it: nothing to read.
            if (Run *run = find(it.key()); run && run->cursor == run->durableMaxId)
                run->scannedTo = run->durableMaxId;
        }
        for (const auto &[instanceId, taskId] : std::as_const(batch->settled)) {
            // A map task whose final state is stored leaves memory (the store has it now).
            Run *run = find(instanceId);
            if (!run || run->mode == ExecutionMode::Broadcast)
                continue;
            const auto t = run->tasks.constFind(taskId);
            if (t != run->tasks.cend() && isTerminal(t->info.status))
                run->tasks.erase(t);
        }
        answerCalls(batch->replies);
        if (!pending.empty())
            scheduleFlush();
        else
            for (auto &fn : std::exchange(flushWaiters, {}))
                fn();
        pump();
    }

    static void answerCalls(const QList<std::pair<QPointer<WorkerLink>, TaskCallReply>> &replies)
    {
        QHash<WorkerLink *, QList<TaskCallReply>> byLink;
        QList<WorkerLink *> order;
        for (const auto &[link, reply] : replies) {
            if (!link)
                continue; // the worker is gone; its processor was ended with it
            auto it = byLink.find(link.data());
            if (it == byLink.end()) {
                it = byLink.insert(link.data(), {});
                order << link.data();
            }
            it->append(reply);
        }
        for (WorkerLink *l : std::as_const(order))
            l->answer(byLink.value(l));
    }

    // --- progress ------------------------------------------------------------------------

    void markDirty(Run &run)
    {
        if (run.dirty)
            return;
        run.dirty = true;
        if (!progressTimer.isActive())
            progressTimer.start();
    }

    void markChanged(Run &run, const TaskInfo &t)
    {
        markDirty(run);
        const auto at = run.changedAt.constFind(t.taskId);
        if (at != run.changedAt.cend()) {
            run.changed[*at] = withoutPayload(t);
            return;
        }
        if (run.changed.size() >= TaskProgress::kMaxChangedPerEvent) {
            run.truncated = true;
            return;
        }
        run.changedAt.insert(t.taskId, run.changed.size());
        run.changed << withoutPayload(t);
    }

    TaskProgress takeProgress(Run &run)
    {
        TaskProgress p;
        p.instanceId = run.instanceId;
        p.attempt = run.attempt;
        p.counts = run.counts;
        p.changed = std::exchange(run.changed, {});
        p.truncated = std::exchange(run.truncated, false);
        run.changedAt.clear();
        run.dirty = false;
        return p;
    }

    void emitProgress()
    {
        QList<TaskProgress> events = std::exchange(finalProgress, {});
        for (auto &[id, run] : runs) {
            if (run->dirty && !run->loading)
                events << takeProgress(*run);
        }
        if (events.isEmpty()) {
            // Quiet for a whole interval: the next change starts the timer again, so the first
            // event of a burst leaves at most one interval after it.
            progressTimer.stop();
            return;
        }
        emit q->progress(events);
    }

    // --- task state ------------------------------------------------------------------------

    void move(Run &run, TrackedTask &t, InstanceStatus to)
    {
        countTransition(run.counts, t.info.status, to);
        t.info.status = to;
        markChanged(run, t.info);
    }

    void markInstanceRunning(Run &run, qint64 timeMs)
    {
        if (run.instanceRunning)
            return;
        run.instanceRunning = true;
        const Instance *inst = book.find(run.instanceId);
        if (inst && inst->attempt == run.attempt && inst->status == InstanceStatus::Dispatched) {
            book.transition(run.instanceId, InstanceStatus::Running,
                            [timeMs](Instance &i) { i.startedAtMs = timeMs; });
        }
    }

    TaskSpec specFor(const Run &run, const TrackedTask &t) const
    {
        TaskSpec s;
        s.instanceId = run.instanceId;
        s.attempt = run.attempt;
        s.taskId = t.info.taskId;
        s.taskAttempt = t.info.runs;
        s.jobName = run.job.name;
        s.mode = run.mode;
        s.role = t.info.role;
        s.taskName = t.info.name;
        s.payload = t.info.payload;
        s.processor = run.job.processor;
        s.config = run.job.processorConfig;
        s.jobParams = run.job.params;
        s.instanceParams = run.instanceParams;
        s.timeoutMs = run.job.timeoutMs;
        if (t.info.role == TaskRole::PostProcess) {
            for (qint64 id : run.broadcastIds) {
                const TrackedTask &b = *run.tasks.constFind(id);
                TaskResultEntry e;
                e.taskId = b.info.taskId;
                e.name = b.info.name;
                e.status = b.info.status;
                e.result = b.info.result;
                e.worker = b.info.worker;
                e.address = b.info.address;
                e.runs = b.info.runs;
                s.results << e;
            }
        }
        return s;
    }

    void dispatchTask(Run &run, TrackedTask &t, WorkerLink *link, Plan &plan)
    {
        t.info.runs = std::max(t.info.runs, run.runBase) + 1;
        t.info.worker = link->id();
        t.info.address = link->address();
        t.info.startedAtMs = 0;
        t.link = link;
        move(run, t, InstanceStatus::Dispatched);
        plan.batches[link] << specFor(run, t);
        ++plan.planned[link];
    }

    // The final state of a task: counted, queued for the store once, and its consequences for
    // the run. `effects` is false for the restart sweep of a broadcast run, which goes on to
    // postProcess whatever ended.
    void settle(Run &run, TrackedTask &t, InstanceStatus status, const QString &result,
                qint64 timeMs, bool effects = true)
    {
        if (isTerminal(t.info.status))
            return;
        move(run, t, status);
        --run.open;
        t.info.result = cut(result);
        t.info.finishedAtMs = timeMs;
        t.notBeforeMs = 0;
        queueUpdate(run, t.info);
        pending.settled << std::pair{run.instanceId, t.info.taskId};
        if (status != InstanceStatus::Succeeded && run.firstFailure.isEmpty()
            && t.info.role != TaskRole::PostProcess) {
            run.firstFailure =
                tr("task %1 (%2%3): %4")
                    .arg(t.info.taskId)
                    .arg(t.info.name,
                         t.info.worker.isEmpty() ? QString()
                                                 : QStringLiteral(" on %1").arg(t.info.worker),
                         t.info.result);
        }
        if (!effects)
            return;
        const QString taskResult = t.info.result;
        switch (t.info.role) {
        case TaskRole::Root:
            run.rootEnded = true;
            if (status != InstanceStatus::Succeeded && !run.ending)
                endRun(run, InstanceStatus::Failed, tr("root task failed: %1").arg(taskResult),
                       tr("the root task failed"));
            break;
        case TaskRole::Reduce:
            if (!run.outcome)
                run.outcome = Run::Outcome{status, taskResult};
            break;
        case TaskRole::PreProcess:
            if (status != InstanceStatus::Succeeded && !run.ending)
                endRun(run, InstanceStatus::Failed, tr("preProcess failed: %1").arg(taskResult),
                       tr("preProcess failed"));
            break;
        default:
            break;
        }
    }

    // A task goes back to waiting in memory: a map task to any worker, a broadcast task to its
    // own.
    void rerun(Run &run, TrackedTask &t, qint64 notBeforeMs)
    {
        move(run, t, InstanceStatus::WaitingDispatch);
        if (t.info.role != TaskRole::Broadcast)
            t.link = nullptr;
        t.notBeforeMs = notBeforeMs;
        if (run.mode == ExecutionMode::Broadcast)
            return; // the broadcast pump looks at every task
        if (notBeforeMs > nowMs()) {
            run.delayed << t.info.taskId;
            armDelay(notBeforeMs);
        } else {
            run.ready.push_back(t.info.taskId);
        }
    }

    void armDelay(qint64 dueMs)
    {
        const qint64 wait = std::max<qint64>(0, dueMs - nowMs()) + 1;
        if (!delayTimer.isActive() || delayTimer.remainingTime() > wait)
            delayTimer.start(int(std::min<qint64>(wait, 24 * 3600 * 1000)));
    }

    void taskLost(Run &run, TrackedTask &t, const QString &reason, qint64 notBeforeMs)
    {
        const qint64 now = nowMs();
        run.retryNotBeforeMs = std::max(run.retryNotBeforeMs, notBeforeMs);
        if (run.ending) {
            settle(run, t, InstanceStatus::Canceled, run.endReason, now);
            return;
        }
        if (!movable(t.info.role)) {
            // Broadcast tasks are bound to their worker; a preProcess may have run.
            settle(run, t, InstanceStatus::Failed, tr("worker lost: %1").arg(reason), now);
            return;
        }
        if (++t.losses > kMaxLossReruns) {
            settle(run, t, InstanceStatus::Failed,
                   tr("worker lost: %1 (lost with its worker %2 times)").arg(reason).arg(t.losses),
                   now);
            return;
        }
        qCInfo(lcTracker) << "task" << t.info.taskId << "of instance" << run.instanceId
                          << "runs again after its worker was lost:" << reason;
        rerun(run, t, notBeforeMs);
    }

    void taskEnded(Run &run, TrackedTask &t, InstanceStatus status, const QString &result,
                   qint64 timeMs)
    {
        if (!run.ending) {
            if ((status == InstanceStatus::Failed || status == InstanceStatus::TimedOut)
                && t.retries < run.job.dispatch.taskRetryCount) {
                ++t.retries;
                t.info.result = cut(result);
                qCInfo(lcTracker) << "task" << t.info.taskId << "of instance" << run.instanceId
                                  << "runs again (retry" << t.retries << "of"
                                  << run.job.dispatch.taskRetryCount << "):" << result;
                rerun(run, t, 0);
                return;
            }
            if (status == InstanceStatus::Canceled && movable(t.info.role)) {
                // Not asked for by the server: the worker stopped it (a drain). It fails over.
                taskLost(run, t, tr("stopped by worker %1: %2").arg(t.info.worker, result), 0);
                return;
            }
        }
        settle(run, t, status, result, timeMs);
    }

    // Decides the run's outcome (unless decided) and ends everything still open: waiting tasks
    // end CANCELED with `cancelReason`, dispatched ones are canceled on their workers and end
    // with their reports.
    void endRun(Run &run, InstanceStatus status, const QString &result, const QString &cancelReason)
    {
        if (!run.outcome)
            run.outcome = Run::Outcome{status, result};
        if (run.ending)
            return;
        run.ending = true;
        run.endReason = cancelReason.isEmpty() ? result : cancelReason;
        const qint64 now = nowMs();
        QHash<WorkerLink *, QList<TaskKey>> toCancel;
        for (auto it = run.tasks.begin(); it != run.tasks.end(); ++it) {
            TrackedTask &t = it.value();
            if (isTerminal(t.info.status))
                continue;
            // A run on a worker that is still connected (even draining) ends with its report;
            // one whose worker is gone has nothing left to stop.
            if (inFlight(t.info.status) && t.link) {
                toCancel[t.link.data()]
                    << TaskKey{run.instanceId, run.attempt, t.info.taskId, t.info.runs};
                continue;
            }
            settle(run, t, InstanceStatus::Canceled, run.endReason, now);
        }
        run.ready.clear();
        run.delayed.clear();
        drainWindow(run);
        for (auto it = toCancel.cbegin(); it != toCancel.cend(); ++it)
            it.key()->cancelTasks(it.value(), run.endReason);
        schedulePump();
    }

    // Read rows of an ending run end CANCELED without a run.
    void drainWindow(Run &run)
    {
        const qint64 now = nowMs();
        while (!run.window.empty()) {
            TaskInfo row = std::move(run.window.front());
            run.window.pop_front();
            countTransition(run.counts, row.status, InstanceStatus::Canceled);
            row.status = InstanceStatus::Canceled;
            row.result = run.endReason;
            row.finishedAtMs = now;
            row.payload = QByteArray();
            markChanged(run, row);
            queueUpdate(run, row);
        }
    }

    // --- reports, calls, returns, losses ---------------------------------------------------

    // The task a message of `link` about run (instance, attempt, task, taskAttempt) is about, if
    // that run is the task's current one and went through `link`.
    TrackedTask *current(Run *run, WorkerLink *link, const TaskKey &key)
    {
        if (!run || run->attempt != key.attempt)
            return nullptr;
        const auto it = run->tasks.find(key.taskId);
        if (it == run->tasks.end())
            return nullptr;
        TrackedTask &t = it.value();
        if (t.info.runs != key.taskAttempt || t.link != link || !inFlight(t.info.status))
            return nullptr;
        return &t;
    }

    void onReports(WorkerLink *link, const QList<TaskReport> &reports)
    {
        for (const TaskReport &r : reports) {
            Run *run = find(r.instanceId);
            TrackedTask *t = current(run, link, taskKeyOf(r));
            if (!t) {
                qCInfo(lcTracker) << "late or unknown report of instance" << r.instanceId
                                  << "attempt" << r.attempt << "task" << r.taskId << "run"
                                  << r.taskAttempt << toString(r.status) << "ignored";
                continue;
            }
            markInstanceRunning(*run, r.timeMs);
            if (r.status == InstanceStatus::Running) {
                if (t->info.status == InstanceStatus::Dispatched) {
                    t->info.startedAtMs = r.timeMs;
                    move(*run, *t, InstanceStatus::Running);
                }
                continue;
            }
            if (!isTerminal(r.status))
                continue;
            if (!t->info.startedAtMs)
                t->info.startedAtMs = r.timeMs;
            taskEnded(*run, *t, r.status, r.result, r.timeMs);
        }
        schedulePump();
    }

    void onCalls(WorkerLink *link, const QList<TaskCall> &calls)
    {
        QList<TaskCallReply> refused;
        const qint64 now = nowMs();
        for (const TaskCall &call : calls) {
            const TaskKey &key = call.key;
            auto refuse = [&](const QString &error) {
                qCInfo(lcTracker).noquote() << "call refused:" << error;
                refused << TaskCallReply{call.callId, error, {}, false};
            };
            Run *run = find(key.instanceId);
            TrackedTask *t = current(run, link, key);
            if (!t) {
                refuse(tr("task %1 run %2 of instance %3 attempt %4 is not a current run on "
                          "this server (it was superseded or has ended)")
                           .arg(key.taskId)
                           .arg(key.taskAttempt)
                           .arg(key.instanceId)
                           .arg(key.attempt));
                continue;
            }
            if (call.op == TaskCall::Op::Results) {
                if (t->info.role != TaskRole::Reduce) {
                    refuse(tr("results: only the reduce task of a MAP_REDUCE run reads results; "
                              "task %1 is %2")
                               .arg(key.taskId)
                               .arg(toString(t->info.role)));
                    continue;
                }
                readResults(*run, link, call);
                continue;
            }
            if (!isMapMode(run->mode)) {
                refuse(tr("map: instance %1 is a %2 run; only MAP and MAP_REDUCE runs map")
                           .arg(key.instanceId)
                           .arg(toString(run->mode)));
                continue;
            }
            if (t->info.role != TaskRole::Root && t->info.role != TaskRole::Subtask) {
                refuse(tr("map: a %1 task cannot map").arg(toString(t->info.role)));
                continue;
            }
            if (run->ending) {
                refuse(tr("map: the run is ending (%1)").arg(run->endReason));
                continue;
            }
            if (call.from < 0 || call.from > t->mapped) {
                refuse(tr("map: items must continue where the task's earlier calls ended: task "
                          "%1 has stored %2 item(s), this call starts at position %3")
                           .arg(key.taskId)
                           .arg(t->mapped)
                           .arg(call.from));
                continue;
            }
            // Positions stored by an earlier run of this task are skipped.
            const qint64 skip = t->mapped - call.from;
            QList<TaskInfo> rows;
            const QString name = call.name.isEmpty() ? kSubtaskName : call.name;
            if (skip < call.items.size()) {
                rows.reserve(call.items.size() - skip);
                for (qsizetype i = skip; i < call.items.size(); ++i) {
                    TaskInfo row;
                    row.instanceId = run->instanceId;
                    row.attempt = run->attempt;
                    row.taskId = run->nextTaskId++;
                    row.parentId = t->info.taskId;
                    row.seq = call.from + i;
                    row.name = name;
                    row.role = TaskRole::Subtask;
                    row.status = InstanceStatus::WaitingDispatch;
                    row.payload = call.items.at(i);
                    row.createdAtMs = now;
                    rows << row;
                }
                t->mapped = call.from + call.items.size();
                run->counts.total += rows.size();
                run->counts.waiting += rows.size();
                markDirty(*run); // the counts moved
                queueInsert(*run, rows);
            }
            // Answered once the rows are durable (or at once, with everything before, when all
            // were stored already).
            pending.replies << std::pair{QPointer<WorkerLink>(link),
                                         TaskCallReply{call.callId, {}, {}, false}};
            touch(*run);
        }
        if (!refused.isEmpty())
            link->answer(refused);
    }

    void readResults(Run &run, WorkerLink *link, const TaskCall &call)
    {
        const int limit = std::clamp(call.limit, 1, wire::kMaxResultsPage);
        const qint64 instanceId = run.instanceId;
        const int attempt = run.attempt;
        const qint64 after = call.afterTaskId;
        const quint64 callId = call.callId;
        QPointer<WorkerLink> to(link);
        store->call<QList<TaskResultEntry>>(
            [instanceId, attempt, after, limit](Database &db) {
                return TaskRepository(db).results(instanceId, attempt, TaskRole::Subtask, after,
                                                  limit);
            },
            q,
            [to, callId, limit](QList<TaskResultEntry> page) {
                if (!to)
                    return;
                TaskCallReply reply;
                reply.callId = callId;
                reply.end = page.size() < limit;
                reply.results = std::move(page);
                to->answer({reply});
            });
    }

    void onReturned(WorkerLink *link, const QList<TaskKey> &keys, const QString &reason)
    {
        for (const TaskKey &key : keys) {
            Run *run = find(key.instanceId);
            TrackedTask *t = current(run, link, key);
            if (!t)
                continue;
            const QString why = tr("handed back by worker %1: %2").arg(link->id(), reason);
            if (run->ending) {
                settle(*run, *t, InstanceStatus::Canceled, run->endReason, nowMs());
            } else if (t->info.role == TaskRole::Broadcast) {
                // Bound to that worker, which is leaving: it is lost to this run.
                settle(*run, *t, InstanceStatus::Failed, tr("worker lost: %1").arg(why), nowMs());
            } else {
                // It never started: it simply waits for another slot.
                qCInfo(lcTracker) << "task" << key.taskId << "of instance" << key.instanceId << why;
                rerun(*run, *t, 0);
            }
        }
        schedulePump();
    }

    void onWorkerLost(WorkerLink *link, const QString &reason, qint64 retryNotBeforeMs)
    {
        for (auto &[id, runPtr] : runs) {
            Run &run = *runPtr;
            for (auto it = run.tasks.begin(); it != run.tasks.end(); ++it) {
                TrackedTask &t = it.value();
                if (t.link != link || isTerminal(t.info.status))
                    continue;
                if (inFlight(t.info.status)) {
                    taskLost(run, t, reason, retryNotBeforeMs);
                } else if (t.info.role == TaskRole::Broadcast) {
                    // Not sent yet, but bound to the worker that is gone.
                    settle(run, t, InstanceStatus::Failed,
                           run.ending ? run.endReason : tr("worker lost: %1").arg(reason), nowMs());
                }
            }
        }
        schedulePump();
    }

    void cancel(qint64 instanceId, const QString &reason)
    {
        Run *run = find(instanceId);
        if (!run)
            return;
        endRun(*run, InstanceStatus::Canceled, reason, reason);
    }

    // --- pumping ---------------------------------------------------------------------------

    void schedulePump()
    {
        if (pumpScheduled)
            return;
        pumpScheduled = true;
        QTimer::singleShot(0, q, [this] {
            pumpScheduled = false;
            pump();
        });
    }

    void pump()
    {
        if (pumping) {
            pumpAgain = true;
            return;
        }
        pumping = true;
        do {
            pumpAgain = false;
            pumpOnce();
        } while (pumpAgain);
        pumping = false;
    }

    void pumpOnce()
    {
        if (runs.empty())
            return;
        Plan plan;
        const qint64 now = nowMs();
        std::vector<qint64> order;
        order.reserve(runs.size());
        for (const auto &[id, run] : runs)
            order.push_back(id);
        // A different run goes first each time, so runs share the free slots.
        const size_t first = rotate++ % order.size();
        std::rotate(order.begin(), order.begin() + qsizetype(first), order.end());
        std::vector<qint64> done;
        for (qint64 id : order) {
            Run *run = find(id);
            if (!run || run->loading)
                continue;
            if (!run->ending && !catalog.find(run->jobId)) {
                endRun(*run, InstanceStatus::Failed, tr("the job was deleted"),
                       tr("the job was deleted"));
            }
            if (run->mode == ExecutionMode::Broadcast)
                pumpBroadcast(*run, plan, now);
            else
                pumpMap(*run, plan, now);
            if (isDone(*run))
                done.push_back(id);
        }
        for (auto it = plan.batches.cbegin(); it != plan.batches.cend(); ++it)
            it.key()->dispatch(it.value());
        for (qint64 id : done)
            finish(id);
    }

    QList<WorkerLink *> eligible(const Run &run, Plan &plan)
    {
        auto it = plan.eligible.find(run.jobId);
        if (it != plan.eligible.end())
            return *it;
        QList<WorkerLink *> links = dispatcher.eligibleLinks(run.job);
        const int max = run.job.dispatch.maxWorkers;
        if (max > 0 && links.size() > max) {
            std::stable_sort(links.begin(), links.end(), [](WorkerLink *a, WorkerLink *b) {
                return scoreOf(a, a->freeSlots()) > scoreOf(b, b->freeSlots());
            });
            links = links.mid(0, max);
        }
        return *plan.eligible.insert(run.jobId, links);
    }

    // The healthiest link with room among `links`.
    static WorkerLink *best(const QList<WorkerLink *> &links, const Plan &plan)
    {
        WorkerLink *pick = nullptr;
        double pickScore = -1;
        for (WorkerLink *l : links) {
            const int room = plan.room(l);
            if (room <= 0 || !l->isAlive())
                continue;
            const double score = scoreOf(l, room);
            if (score > pickScore) {
                pick = l;
                pickScore = score;
            }
        }
        return pick;
    }

    void pumpMap(Run &run, Plan &plan, qint64 now)
    {
        if (run.ending) {
            drainWindow(run);
            maybeRead(run);
            return;
        }
        for (qsizetype i = run.delayed.size() - 1; i >= 0; --i) {
            const auto it = run.tasks.constFind(run.delayed.at(i));
            if (it == run.tasks.cend() || it->info.status != InstanceStatus::WaitingDispatch) {
                run.delayed.removeAt(i);
            } else if (it->notBeforeMs <= now) {
                run.ready.push_back(it->info.taskId);
                run.delayed.removeAt(i);
            } else {
                armDelay(it->notBeforeMs);
            }
        }
        if (run.ready.empty() && run.window.empty()) {
            maybeRead(run);
            return;
        }
        const QList<WorkerLink *> links = eligible(run, plan);
        QList<WorkerLink *> open;
        for (WorkerLink *l : links) {
            if (plan.room(l) > 0)
                open << l;
        }
        while (!open.isEmpty() && (!run.ready.empty() || !run.window.empty())) {
            TrackedTask *t = nullptr;
            if (!run.ready.empty()) {
                const qint64 id = run.ready.front();
                run.ready.pop_front();
                const auto it = run.tasks.find(id);
                if (it == run.tasks.end() || it->info.status != InstanceStatus::WaitingDispatch)
                    continue;
                t = &it.value();
            } else {
                TaskInfo row = std::move(run.window.front());
                run.window.pop_front();
                TrackedTask task;
                task.info = std::move(row);
                task.mapped = run.mappedBefore.take(task.info.taskId);
                t = &run.tasks.insert(task.info.taskId, std::move(task)).value();
                ++run.open;
            }
            // The root and the reduce run on the healthiest worker; subtasks spread.
            WorkerLink *link = nullptr;
            if (t->info.role == TaskRole::Root || t->info.role == TaskRole::Reduce) {
                link = best(open, plan);
            } else {
                link = open.at(qsizetype(roundRobin++ % size_t(open.size())));
            }
            if (!link)
                link = open.first();
            dispatchTask(run, *t, link, plan);
            if (plan.room(link) <= 0)
                open.removeAll(link);
        }
        maybeRead(run);
    }

    // A live worker of the run's set with room for an unbound broadcast-run task.
    WorkerLink *setMember(const Run &run, Plan &plan)
    {
        QList<WorkerLink *> live;
        for (const QString &id : run.setIds) {
            WorkerLink *l = dispatcher.link(id);
            if (l && l->isAlive() && !live.contains(l))
                live << l;
        }
        if (WorkerLink *l = best(live, plan))
            return l;
        if (!live.isEmpty())
            return nullptr; // its workers are busy: wait for a slot
        // Nobody of the set is left (after a restart they may not have come back): any worker
        // that fits the job will do for a task that is not bound.
        return best(eligible(run, plan), plan);
    }

    void pumpBroadcast(Run &run, Plan &plan, qint64 now)
    {
        if (run.ending || !run.stored())
            return; // nothing is sent before its row is stored
        auto due = [now](const TrackedTask &t) {
            return t.info.status == InstanceStatus::WaitingDispatch && t.notBeforeMs <= now;
        };
        if (run.preId) {
            TrackedTask &pre = run.tasks[run.preId];
            if (!isTerminal(pre.info.status)) {
                if (due(pre)) {
                    if (WorkerLink *l = setMember(run, plan))
                        dispatchTask(run, pre, l, plan);
                    else if (pre.notBeforeMs > now)
                        armDelay(pre.notBeforeMs);
                }
                return; // no fan-out before the preProcess succeeded
            }
        }
        bool allEnded = true;
        for (qint64 id : std::as_const(run.broadcastIds)) {
            TrackedTask &t = run.tasks[id];
            if (isTerminal(t.info.status))
                continue;
            allEnded = false;
            if (t.info.status != InstanceStatus::WaitingDispatch)
                continue;
            if (!t.link) {
                settle(run, t, InstanceStatus::Failed, tr("worker lost: the worker is gone"), now);
                continue;
            }
            if (plan.room(t.link) > 0 && t.link->isAlive())
                dispatchTask(run, t, t.link, plan);
            // A bound worker that is not alive (draining) is waited for: it either comes back
            // or is lost.
        }
        if (!allEnded || !run.postId)
            return;
        TrackedTask &post = run.tasks[run.postId];
        if (isTerminal(post.info.status))
            return;
        if (due(post)) {
            if (WorkerLink *l = setMember(run, plan))
                dispatchTask(run, post, l, plan);
        } else if (post.info.status == InstanceStatus::WaitingDispatch) {
            armDelay(post.notBeforeMs);
        }
    }

    void maybeRead(Run &run)
    {
        if (run.loading || run.readInFlight || int(run.window.size()) >= kRefillBelow
            || run.scannedTo >= run.durableMaxId)
            return;
        run.readInFlight = true;
        const qint64 instanceId = run.instanceId;
        const int attempt = run.attempt;
        const qint64 after = run.cursor;
        const int limit = kWindow - int(run.window.size());
        const qint64 durableAtIssue = run.durableMaxId;
        store->call<QList<TaskInfo>>(
            [instanceId, attempt, after, limit](Database &db) {
                return TaskRepository(db).waiting(instanceId, attempt, after, limit);
            },
            q,
            [this, instanceId, attempt, limit, durableAtIssue](QList<TaskInfo> rows) {
                Run *r = find(instanceId);
                if (!r || r->attempt != attempt)
                    return;
                r->readInFlight = false;
                if (!rows.isEmpty())
                    r->cursor = std::max(r->cursor, rows.last().taskId);
                // A short page saw every waiting row stored when it was asked for.
                r->scannedTo =
                    std::max(r->scannedTo, rows.size() < limit ? durableAtIssue : r->cursor);
                for (TaskInfo &row : rows)
                    r->window.push_back(std::move(row));
                pump();
            });
    }

    // --- the end -------------------------------------------------------------------------

    // Nothing of the run is open, waiting, unread or unstored.
    static bool quiet(const Run &run)
    {
        if (run.loading || run.open != 0 || !run.stored())
            return false;
        if (run.mode == ExecutionMode::Broadcast)
            return true; // every task is in memory
        return !run.readInFlight && run.window.empty() && run.scannedTo >= run.durableMaxId;
    }

    bool isDone(Run &run)
    {
        if (!quiet(run))
            return false;
        if (run.mode == ExecutionMode::Broadcast) {
            if (!run.outcome)
                run.outcome = broadcastOutcome(run);
        } else {
            if (!run.ending && run.mode == ExecutionMode::MapReduce && !run.reduceId) {
                // Every subtask has ended: the reduce reads their results once they are stored,
                // which this row's commit guarantees (it follows their updates).
                TaskInfo reduce = newTask(run, TaskRole::Reduce, kReduceName, nowMs());
                run.reduceId = reduce.taskId;
                countTransition(run.counts, std::nullopt, InstanceStatus::WaitingDispatch);
                markChanged(run, reduce);
                queueInsert(run, {reduce});
                return false;
            }
            if (!run.outcome)
                run.outcome = mapOutcome(run);
        }
        // Finished only once every task write of the run is durable.
        return durableBatch >= run.lastBatch;
    }

    Run::Outcome mapOutcome(const Run &run) const
    {
        const TaskCounts &c = run.counts;
        if (c.failed == 0)
            return {InstanceStatus::Succeeded, tr("%1 tasks succeeded").arg(c.total)};
        QString text = tr("%1 of %2 tasks failed").arg(c.failed).arg(c.total);
        if (!run.firstFailure.isEmpty())
            text += tr("; first: %1").arg(run.firstFailure);
        return {InstanceStatus::Failed, text};
    }

    Run::Outcome broadcastOutcome(const Run &run) const
    {
        int ok = 0;
        for (qint64 id : run.broadcastIds)
            ok += run.tasks.value(id).info.status == InstanceStatus::Succeeded;
        const int all = int(run.broadcastIds.size());
        const QString summary = tr("%1 of %2 workers succeeded").arg(ok).arg(all);
        const TrackedTask post = run.postId ? run.tasks.value(run.postId) : TrackedTask{};
        const bool postOk = !run.postId || post.info.status == InstanceStatus::Succeeded;
        if (ok == all && postOk)
            return {InstanceStatus::Succeeded, run.postId ? post.info.result : summary};
        QString text = summary;
        if (!run.firstFailure.isEmpty())
            text += tr("; first failure: %1").arg(run.firstFailure);
        if (run.postId)
            text += tr("; postProcess %1: %2")
                        .arg(toString(post.info.status).toLower(), post.info.result);
        return {InstanceStatus::Failed, text};
    }

    void finish(qint64 instanceId)
    {
        auto it = runs.find(instanceId);
        if (it == runs.end())
            return;
        std::unique_ptr<Run> run = std::move(it->second);
        runs.erase(it);
        finalProgress << takeProgress(*run);
        if (!progressTimer.isActive())
            progressTimer.start();
        const Run::Outcome outcome = run->outcome.value_or(Run::Outcome{});
        qCInfo(lcTracker) << "instance" << instanceId << "attempt" << run->attempt << "ended"
                          << toString(outcome.status) << outcome.result;
        finishing = {instanceId, run->retryNotBeforeMs};
        emit q->runFinished(instanceId, run->attempt, outcome.status, outcome.result, nowMs());
        finishing = {0, 0};
    }

    // --- listing -------------------------------------------------------------------------

    void listTasks(qint64 instanceId, int currentAttempt, const TaskFilter &filter,
                   std::function<void(Result<QList<TaskInfo>>)> reply)
    {
        TaskFilter f = filter;
        const int attempt = f.attempt > 0 ? f.attempt : currentAttempt;
        f.attempt = attempt;
        if (f.limit <= 0)
            return reply(makeError(tr("limit: expected at least 1, got %1").arg(f.limit)));
        // The stored rows of dispatched tasks still say WAITING_DISPATCH: lay the live state
        // over them (a copy: the read runs on the store thread).
        QHash<qint64, TaskInfo> live;
        if (Run *run = find(instanceId); run && run->attempt == attempt) {
            live.reserve(run->tasks.size());
            for (auto it = run->tasks.cbegin(); it != run->tasks.cend(); ++it)
                live.insert(it.key(), withoutPayload(it->info));
        }
        store->call<QList<TaskInfo>>(
            [instanceId, attempt, f, live = std::move(live)](Database &db) {
                TaskRepository repo(db);
                if (live.isEmpty())
                    return repo.list(instanceId, attempt, f);
                const auto matches = [&f](const TaskInfo &t) {
                    return f.statuses.isEmpty() || f.statuses.contains(t.status);
                };
                QMap<qint64, TaskInfo> out;
                TaskFilter page = f;
                int accepted = 0;
                for (;;) {
                    const QList<TaskInfo> rows = repo.list(instanceId, attempt, page);
                    for (const TaskInfo &row : rows) {
                        const auto mem = live.constFind(row.taskId);
                        const TaskInfo &shown = mem == live.cend() ? row : *mem;
                        if (matches(shown)) {
                            out.insert(row.taskId, shown);
                            ++accepted;
                        }
                    }
                    if (rows.size() < page.limit || accepted >= f.limit)
                        break;
                    page.afterTaskId = rows.last().taskId;
                }
                // Live tasks whose stored status does not match the filter.
                for (auto it = live.cbegin(); it != live.cend(); ++it) {
                    if (it.key() > f.afterTaskId && matches(*it))
                        out.insert(it.key(), *it);
                }
                QList<TaskInfo> list;
                for (auto it = out.cbegin(); it != out.cend() && list.size() < f.limit; ++it)
                    list << *it;
                return list;
            },
            q, [reply](QList<TaskInfo> list) { reply(std::move(list)); });
    }

    static QString tr(const char *text, const char *disambiguation = nullptr, int n = -1)
    {
        return TaskTracker::tr(text, disambiguation, n);
    }
};

TaskTracker::TaskTracker(JobCatalog &catalog, InstanceBook &book, Dispatcher &dispatcher,
                         kairos::StoreThread *store, QObject *parent)
    : QObject(parent)
    , d(std::make_unique<Impl>(this, catalog, book, dispatcher, store))
{}

TaskTracker::~TaskTracker() = default;

void TaskTracker::start(qint64 instanceId, const QList<WorkerLink *> &candidates)
{
    d->start(instanceId, candidates);
}

void TaskTracker::recover(qint64 instanceId)
{
    d->recover(instanceId);
}

bool TaskTracker::owns(qint64 instanceId) const
{
    return d->runs.count(instanceId) > 0;
}

int TaskTracker::activeRuns() const
{
    return int(d->runs.size());
}

void TaskTracker::onReports(WorkerLink *link, const QList<kairos::TaskReport> &reports)
{
    d->onReports(link, reports);
}

void TaskTracker::onCalls(WorkerLink *link, const QList<kairos::TaskCall> &calls)
{
    d->onCalls(link, calls);
}

void TaskTracker::onReturned(WorkerLink *link, const QList<kairos::TaskKey> &keys,
                             const QString &reason)
{
    d->onReturned(link, keys, reason);
}

void TaskTracker::onWorkerLost(WorkerLink *link, const QString &reason, qint64 retryNotBeforeMs)
{
    d->onWorkerLost(link, reason, retryNotBeforeMs);
}

void TaskTracker::cancel(qint64 instanceId, const QString &reason)
{
    d->cancel(instanceId, reason);
}

void TaskTracker::pump()
{
    d->pump();
}

void TaskTracker::listTasks(qint64 instanceId, int currentAttempt, const TaskFilter &filter,
                            std::function<void(Result<QList<kairos::TaskInfo>>)> reply)
{
    d->listTasks(instanceId, currentAttempt, filter, std::move(reply));
}

void TaskTracker::whenFlushed(std::function<void()> fn)
{
    if (d->idle()) {
        fn();
        return;
    }
    d->flushWaiters << std::move(fn);
    d->scheduleFlush();
}

qint64 TaskTracker::retryNotBeforeMs(qint64 instanceId) const
{
    return d->finishing.first == instanceId ? d->finishing.second : 0;
}

} // namespace kairos::server
