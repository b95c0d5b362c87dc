#pragma once
// TaskGate: the queue in front of the worker's TaskRunner. The runner is handed only as many
// tasks as it runs at once (its capacity); the rest wait here. That is what lets a draining
// worker hand its not-yet-started tasks back to the server (`return`) without starting them and
// without the Canceled reports the runner would emit for a queued task it is told to cancel, and
// what tells a reconnecting worker which tasks it still holds (`register.held`). Submitting is
// idempotent together with the runner's own memory of finished tasks: a key queued here, in the
// runner, or recently finished is not run again.
//
// The worker's ContainerManager lives beside the runner (the runner creates container runs
// through it) and is reached through the gate too: `deploy` orders, fetch answers, a lost
// connection in; deploy stages, fetch requests and wants out.
//
// Threading: the gate, its runner and its container manager live on the worker's runner thread
// (moveToThread after construction); call the methods marked "runner thread" there
// (QMetaObject::invokeMethod), and the ones marked thread-safe from anywhere. Signals are emitted
// on the runner thread.

#include <core/container_info.h>
#include <worker/container_manager.h>
#include <worker/task.h>
#include <worker/wire.h>

#include <QMutex>
#include <QObject>
#include <QSet>

#include <atomic>
#include <deque>

namespace kairos {
class TaskRunner;
}

namespace kairos::agent {

class TaskGate : public QObject {
    Q_OBJECT
public:
    explicit TaskGate(QObject *parent = nullptr);
    ~TaskGate() override;

    // Runs at most `capacity` tasks at once; `leaseFile` (may be empty) goes to
    // TaskRunner::setLeaseFile. Runner thread; call once, before the first submit.
    void configure(int capacity, const QString &leaseFile);
    // Queues the tasks not already known; duplicates are ignored. Runner thread.
    void submit(const QList<kairos::TaskSpec> &tasks);
    // A server `cancel`: entries with taskId < 0 cancel the whole attempt, the others the one
    // run they name (instance, attempt, task, task attempt), nothing else of its attempt. A queued
    // task ends Canceled at once; a running one once it stopped. Runner thread.
    void cancel(const QList<kairos::wire::KeyReason> &tasks);
    // The server's replies to `calls`, for the runs that made them (dropped when the run has
    // finished meanwhile). Runner thread.
    void answer(const QList<kairos::TaskCallReply> &replies);
    // Cancels every queued and running task with `reason`. Runner thread.
    void cancelAll(const QString &reason);
    // Ends every task not yet handed to the runner Canceled with `reason`. Runner thread.
    void cancelQueued(const QString &reason);
    // Removes every task not yet handed to the runner, without any report, and returns their
    // keys (oldest first); the caller hands them back to the server. Runner thread.
    QList<kairos::TaskKey> takeQueued();

    // Starts the container manager with `config` and hands it to the runner. Runner thread;
    // call once, before the first submit (without it, container refs fail with "this worker
    // has no container support").
    void configureContainers(const kairos::ContainerManagerConfig &config);
    // The server's `deploy` orders and `fetchReply` answers, and the end of a connection
    // (downloads waiting for answers fail). Ignored before configureContainers(). Runner thread.
    void deployContainers(const QList<kairos::ContainerOrder> &orders);
    void answerFetches(const QList<kairos::FetchReply> &replies);
    void containersConnectionLost();
    // Null before configureContainers(). Runner thread.
    kairos::ContainerManager *containers() const { return m_containers; }

    // Tasks queued here or in the runner and not finished (for `register.held`). Thread-safe.
    QList<kairos::TaskKey> heldKeys() const;
    // Figures for the heartbeat's metrics, as of the last change. Thread-safe.
    int runningCount() const { return m_running.load(std::memory_order_relaxed); }
    int queuedCount() const { return m_queued.load(std::memory_order_relaxed); }
    int heldCount() const { return m_heldCount.load(std::memory_order_relaxed); }

signals:
    // Status transitions (from the runner, and Canceled for tasks cancelled while queued here),
    // with the number of tasks still held after them.
    void reports(const QList<kairos::TaskReport> &reports, int held);
    // The runner's log lines, emitted before the reports of the same turn.
    void logs(const QList<kairos::LogLine> &lines);
    // The runner's calls of running processors (map, results), emitted before the reports of
    // the same turn; each must be answered once with answer().
    void calls(const QList<kairos::TaskCall> &calls);
    // The container manager's deploy stages, fetch requests (each must be answered once with
    // answerFetches()) and the containers it needs and has none of.
    void deployStages(const QList<kairos::DeployStage> &stages);
    void fetchRequests(const QList<kairos::FetchRequest> &requests);
    void containersWanted(const QStringList &containers);

private:
    void onRunnerReports(const QList<kairos::TaskReport> &reports);
    void pump();
    // Removes the queued tasks `match` accepts and returns a Canceled report for each.
    template<typename Match>
    QList<kairos::TaskReport> removeQueued(Match match, const QString &reason);
    void rememberCanceled(const kairos::TaskKey &key);
    void updateCounts();

    kairos::TaskRunner *m_runner = nullptr;           // child; destroyed first
    kairos::ContainerManager *m_containers = nullptr; // child; outlives the runner's runs
    int m_capacity = 1;
    std::deque<kairos::TaskSpec> m_queue;
    mutable QMutex m_mutex;             // guards the two sets below (read by heldKeys())
    QSet<kairos::TaskKey> m_queuedKeys; // keys in m_queue
    QSet<kairos::TaskKey> m_inRunner;   // handed to the runner, not yet terminal
    // Keys cancelled while queued here: the runner never saw them, so remember them for
    // idempotency the way it remembers its own finished tasks.
    QSet<kairos::TaskKey> m_canceled;
    std::deque<kairos::TaskKey> m_canceledOrder;
    std::atomic<int> m_running{0};
    std::atomic<int> m_queued{0};
    std::atomic<int> m_heldCount{0};
};

} // namespace kairos::agent
