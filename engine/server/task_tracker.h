#pragma once
// TaskTracker: runs the instances of BROADCAST, MAP and MAP_REDUCE jobs — the server side of
// docs/execution-modes.md. The Dispatcher hands it an instance together with the workers that
// fit the job; from then on the tracker owns that instance attempt until it reports the outcome
// with runFinished() (the Engine then applies the instance's retry policy exactly as for a
// standalone run).
//
// BROADCAST: the worker set is fixed at start (the candidates, at most dispatch.maxWorkers).
// One task per worker is stored with that worker's id and address, bound for ever. If the
// processor has a preProcess hook (broadcastHooksOf), a PreProcess task runs first on one of
// them; its failure fails the run before the fan-out. A task whose worker is lost becomes
// FAILED("worker lost: ...") and is never sent anywhere else; a worker that registers later is
// not part of the run; per-task retries (dispatch.taskRetries) rerun a failed task on its own
// worker only. When every broadcast task is terminal, the PostProcess task (if any) gets all
// results inline; it is the only broadcast-run task that may move to another worker (its own
// worker lost: it reruns elsewhere). The run SUCCEEDS only when every broadcast task and the
// pre/post tasks succeeded; the result is postProcess's result, else a summary.
//
// MAP / MAP_REDUCE: the Root task runs on the best candidate. Every `map` call of a running
// task is stored (TaskRepository::insertBatch, group-committed) before it is answered; items at
// positions the parent stored already are skipped (deterministic re-runs do not duplicate). Waiting
// tasks are read back a window at a time (kWindow) and dispatched into the free slots of the
// job's candidate links; only dispatched tasks are held in memory, so a million tasks cost a
// window plus the in-flight set. A task lost with its worker runs again elsewhere (runs + 1, not
// before the lost worker's lease ended; at most kMaxLossReruns times); a failed task reruns
// dispatch.taskRetries times. Each task's final state is written once, and only a report of its
// current run counts, so a reduce reads every subtask exactly once. When the root and every
// task are terminal: MAP ends (SUCCEEDED when all tasks succeeded, result "N tasks succeeded"),
// MAP_REDUCE dispatches the Reduce task, which pages through the results with `results` calls;
// the run's outcome is the reduce's.
//
// After a server restart (recover): a BROADCAST run's unfinished tasks end FAILED("server
// restarted") — never run twice — and the run goes on to postProcess; a MAP run's unfinished
// tasks (the root included) are dispatched again.
//
// Progress: every task transition is counted; per instance at most one `progress` event per
// kProgressIntervalMs with the counts and up to TaskProgress::kMaxChangedPerEvent changed rows.
//
// Not thread-safe: engine thread only.

#include "job_catalog.h"
#include "worker_link.h"

#include <core/result.h>
#include <core/task_info.h>
#include <worker/task.h>

#include <QHash>
#include <QObject>
#include <QTimer>

#include <functional>
#include <memory>

namespace kairos {
class StoreThread;
}

namespace kairos::server {

class Dispatcher;
class InstanceBook;

class TaskTracker : public QObject {
    Q_OBJECT
public:
    static constexpr int kWindow = 4096;     // waiting tasks read ahead per map run
    static constexpr int kMaxLossReruns = 3; // lost with its worker more often: FAILED
    static constexpr int kProgressIntervalMs = 250;
    static constexpr int kMaxResultLength = 65536; // result texts are cut to this many chars

    TaskTracker(JobCatalog &catalog, InstanceBook &book, Dispatcher &dispatcher,
                kairos::StoreThread *store, QObject *parent = nullptr);
    ~TaskTracker() override;

    // Whether instances of a job in this mode go through the tracker.
    static bool tracks(ExecutionMode mode) { return mode != ExecutionMode::Standalone; }

    // Takes over `instanceId` (WAITING_DISPATCH / WAITING_WORKER, job mode tracked) and moves it
    // to DISPATCHED. `candidates` are the alive links that passed the job's app, target and
    // health filters (never empty). Engine thread.
    void start(qint64 instanceId, const QList<WorkerLink *> &candidates);
    // A tracked instance left DISPATCHED/RUNNING by the previous server process (see above).
    void recover(qint64 instanceId);
    // Whether the current attempt of `instanceId` is run by the tracker.
    bool owns(qint64 instanceId) const;
    int activeRuns() const;

    // What the Engine routes here for instances this tracker owns (others are ignored).
    void onReports(WorkerLink *link, const QList<kairos::TaskReport> &reports);
    void onCalls(WorkerLink *link, const QList<kairos::TaskCall> &calls);
    void onReturned(WorkerLink *link, const QList<kairos::TaskKey> &keys, const QString &reason);
    // Every run's tasks on `link` (for every owned instance).
    void onWorkerLost(WorkerLink *link, const QString &reason, qint64 retryNotBeforeMs);
    // Cancels every dispatched task of the run, ends the waiting ones CANCELED and then reports
    // runFinished(Canceled, reason).
    void cancel(qint64 instanceId, const QString &reason);

    // Dispatches waiting tasks into the links' free slots. The Engine calls it after each
    // dispatcher pump (reports, heartbeats and new links all lead there).
    void pump();

    // A page of the tasks of an instance (owned or not): stored rows with the in-memory state
    // of dispatched ones laid over them.
    void listTasks(qint64 instanceId, int currentAttempt, const TaskFilter &filter,
                   std::function<void(Result<QList<kairos::TaskInfo>>)> reply);

    // Runs `fn` once every task write queued so far is durable (tests, shutdown). Engine thread.
    void whenFlushed(std::function<void()> fn);

    // While runFinished of `instanceId` is being emitted: the earliest time a new attempt of it
    // may start (a lost worker's lease must have ended, so no zombie task runs beside the
    // retry); 0 = no such limit. Engine thread.
    qint64 retryNotBeforeMs(qint64 instanceId) const;

signals:
    // The tracked run of this attempt has ended. Emitted once per attempt.
    void runFinished(qint64 instanceId, int attempt, kairos::InstanceStatus status,
                     const QString &result, qint64 timeMs);
    // Coalesced task progress (see above).
    void progress(const QList<kairos::TaskProgress> &events);

private:
    struct Run;
    class Impl;
    std::unique_ptr<Impl> d;
};

} // namespace kairos::server
