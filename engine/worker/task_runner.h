#pragma once
// TaskRunner: runs the tasks a worker accepts. It creates one ProcessorRun per task, runs at
// most `capacity` of them at once (the rest wait in FIFO order), enforces each task's timeout,
// cancels on request, and reports back in batches: everything that happened during one turn of
// the event loop leaves in one `reports` and one `logs` emission (10,000 Echo tasks make a few
// dozen emissions, not 30,000). Each accepted task gets exactly one terminal report, preceded
// by a Running report when it was started; a task canceled while still queued gets only its
// Canceled report. Submitting is idempotent: a task run (instanceId, attempt, taskId,
// taskAttempt) that is queued, running or among the recently finished ones is not run again; a
// new run of the same task (taskAttempt + 1: a failover or per-task retry) is a new key.
//
// Runs talk to the server while they run (SDK processors: map, results): their calls leave in
// one `calls` batch per turn, and answer() routes each reply to the run that made the call. SDK
// processors run on a thread pool the runner owns (at most `capacity` threads), because they may
// block; Shell, Http, Echo and Sleep runs live on the runner's thread.
//
// Threading: not thread-safe. The runner lives on one long-lived thread (the worker's; in local
// mode the engine's) and every method must be called there; signals are emitted there too.
// Shell runs tie their processes' lives to that thread, so never use a thread-pool thread.
// Destroying the runner kills every running process group (SIGKILL), cancels SDK runs and waits
// up to kPoolGraceMs for their processors to return (a processor that ignores isCanceled() is
// then abandoned on its thread, with a warning), and drops queued tasks without reports.

#include "processor.h"
#include "task.h"

#include <core/instance.h>

#include <QHash>
#include <QList>
#include <QObject>
#include <QSet>
#include <QTimer>

#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

class QNetworkAccessManager;
class QThreadPool;

namespace kairos {

class TaskRunner : public QObject {
    Q_OBJECT
public:
    static constexpr int kDefaultCapacity = 64;
    static constexpr int kDefaultRecentLimit = 65536;
    // Starts per event-loop turn, so a deep queue of instant tasks cannot starve the loop
    // (sockets, heartbeats) for long.
    static constexpr int kMaxStartsPerTurn = 512;
    // How long destruction waits for SDK processors to notice their cancel.
    static constexpr int kPoolGraceMs = 3000;

    explicit TaskRunner(QObject *parent = nullptr);
    ~TaskRunner() override;

    // Queues the task; it starts on a later turn of the event loop. Returns false (and does
    // nothing) when the same run (instanceId, attempt, taskId, taskAttempt) is already queued,
    // running, or among the last recentLimit() finished runs. Runner thread only.
    bool submit(const TaskSpec &spec);
    // Cancels every queued or running task of this instance attempt; each ends Canceled with
    // `reason` as its result (running ones once they have actually stopped). Runner thread only.
    void cancel(qint64 instanceId, int attempt, const QString &reason);
    // Cancels one run of one task (queued or running), nothing else of its attempt. Runner
    // thread only.
    void cancelTask(const TaskKey &key, const QString &reason);
    // The server's replies to `calls`; each goes to the run that made the call (dropped when
    // that run has finished meanwhile). Runner thread only.
    void answer(const QList<kairos::TaskCallReply> &replies);
    // Cancels every queued and running task. Runner thread only.
    void cancelAll(const QString &reason);

    // Tasks running at once (default 64, at least 1). Raising it starts queued tasks on the
    // next turn; lowering it lets running tasks finish. Runner thread only.
    void setCapacity(int capacity);
    int capacity() const { return m_capacity; }
    // How many finished task ids are remembered for idempotency (default 65536). Runner thread.
    void setRecentLimit(int limit);
    int recentLimit() const { return m_recentLimit; }

    // Shell runs started after this call get `kairos-exec --lease-file path`: their launcher
    // stops the run's process group by itself once the lease written there has expired (the
    // file holds one line, the expiry in CLOCK_MONOTONIC milliseconds), so a frozen or cut-off
    // worker cannot leave runs behind. Empty (default): no lease. Runner thread only.
    void setLeaseFile(const QString &path);
    QString leaseFile() const { return m_leaseFile; }

    // How CONTAINER refs other than "builtin#NAME" are found (container plugins, tests); runs
    // started after this call use it. Default: none ("container processors are not supported
    // yet"). Runner thread only.
    void setSdkProcessorResolver(SdkProcessorResolver resolver);
    // Where runs of container refs ("name#processor") come from (the worker's ContainerManager,
    // which must outlive the runner or be reset to null first). Runner thread only.
    void setContainerRuns(ContainerRuns *containers);

    // Started and not yet finished. Runner thread only.
    int runningCount() const { return static_cast<int>(m_active.size()); }
    // Accepted and not yet started. Runner thread only.
    int queuedCount() const { return static_cast<int>(m_queue.size()); }

signals:
    // Status transitions in order; a task's Running always comes before its terminal report.
    void reports(const QList<kairos::TaskReport> &reports);
    // Log lines in order, with seq 0 (the store assigns it). Emitted before the same turn's
    // reports, so a task's lines precede its terminal report.
    void logs(const QList<kairos::LogLine> &lines);
    // Calls of running processors to the server (map, results), batched per turn like reports.
    // Emitted before the same turn's reports, so a task's map calls precede its terminal report.
    void calls(const QList<kairos::TaskCall> &calls);

protected:
    void timerEvent(QTimerEvent *event) override;

private:
    struct KeyHash {
        size_t operator()(const TaskKey &k) const noexcept { return qHash(k); }
    };
    struct Active {
        std::unique_ptr<ProcessorRun> run;
        int timeoutMs = 0;
        int timerId = 0;
        QList<quint64> callIds; // its calls not answered yet
    };

    void scheduleTurn();
    void onTurn();
    void startTask(TaskSpec spec);
    void onRunFinished(const TaskKey &key, InstanceStatus status, const QString &result);
    void report(const TaskKey &key, InstanceStatus status, const QString &result);
    void markDone(const TaskKey &key);
    // Cancels the queued tasks `match` selects.
    template<typename Match> void cancelQueued(const QString &reason, Match match);
    QThreadPool *pool();

    std::deque<TaskSpec> m_queue;
    std::unordered_map<TaskKey, Active, KeyHash> m_active;
    QHash<int, TaskKey> m_timeouts;                            // timer id -> running task
    QSet<TaskKey> m_inFlight;                                  // queued or running
    QSet<TaskKey> m_recent;                                    // finished, bounded by m_recentLimit
    std::deque<TaskKey> m_recentOrder;                         // eviction order of m_recent
    std::vector<std::unique_ptr<ProcessorRun>> m_finishedRuns; // destroyed on the next turn
    QList<TaskReport> m_pendingReports;
    QList<LogLine> m_pendingLogs;
    QList<TaskCall> m_pendingCalls;
    QHash<quint64, TaskKey> m_callOwners;       // unanswered call id -> the run that made it
    std::unique_ptr<QThreadPool> m_pool;        // SDK processors; created for the first one
    QTimer m_turnTimer{this};                   // a child, so moveToThread() takes it along
    QNetworkAccessManager *m_network = nullptr; // created for the first Http task
    int m_capacity = kDefaultCapacity;
    int m_recentLimit = kDefaultRecentLimit;
    QString m_leaseFile;
    SdkProcessorResolver m_resolver;
    ContainerRuns *m_containers = nullptr;
};

} // namespace kairos
