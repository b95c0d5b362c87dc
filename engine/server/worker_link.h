#pragma once
// WorkerLink: the server's view of one worker it can dispatch to. The local worker (a
// TaskRunner on its own thread inside this process) and remote workers (RemoteWorkerLink over a
// protocol connection) both implement it, so the dispatcher and the instance state machine never
// know which kind they talk to.
//
// Not thread-safe: used on the engine thread only; reports arrive there as signals.

#include <core/container_info.h>
#include <core/instance.h>
#include <core/worker_info.h>
#include <worker/task.h>

#include <QObject>

namespace kairos::server {

class WorkerLink : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    ~WorkerLink() override = default;

    virtual QString id() const = 0;      // stable worker id, shown to users
    virtual QString address() const = 0; // where it runs ("local", "10.0.0.5")
    virtual QString app() const = 0;     // "*" serves every app (the local worker)
    // May be given work: connected, registered, not draining, not declared dead.
    virtual bool isAlive() const = 0;
    // How many more tasks it should be handed now (what it may hold minus what it holds).
    virtual int freeSlots() const = 0;
    // How many undone tasks it may hold in all (free + held); the dispatcher's health score uses
    // the free share.
    virtual int slotCount() const = 0;
    virtual QStringList tags() const { return {}; }
    // The last heartbeat's metrics (the local worker reports none: all zero = unknown).
    virtual WorkerMetrics metrics() const { return {}; }

    virtual void dispatch(const QList<TaskSpec> &tasks) = 0;
    // Cancels every task of the attempt.
    virtual void cancel(qint64 instanceId, int attempt, const QString &reason) = 0;
    // Cancels these runs only (one broadcast or map task, not its siblings on that worker).
    virtual void cancelTasks(const QList<TaskKey> &keys, const QString &reason) = 0;
    // Replies to `calls` this link emitted (same callId).
    virtual void answer(const QList<kairos::TaskCallReply> &replies) = 0;

    // Containers (docs/containers.md): orders to carry out and answers to fetchRequests. A link
    // whose worker has no container support ignores them (default).
    virtual void deployContainers(const QList<kairos::ContainerOrder> &orders) { (void)orders; }
    virtual void answerFetches(const QList<kairos::FetchReply> &replies) { (void)replies; }

signals:
    // Status transitions (Running, then one terminal per task) and log lines, in batches.
    // Reports a link emits are already fenced to tasks dispatched through it.
    void reports(const QList<kairos::TaskReport> &reports);
    void logs(const QList<kairos::LogLine> &lines);
    // Calls of tasks running there (map, results). Already fenced like reports: only from runs
    // dispatched through this link and not yet terminal; the link itself answers the others
    // with an error. Each must be answered once with answer().
    void calls(const QList<kairos::TaskCall> &calls);
    // Tasks handed back without having started (draining worker, refused dispatch): the same
    // attempt may be dispatched elsewhere.
    void returned(const QList<kairos::TaskKey> &tasks, const QString &reason);
    // Health, metrics or room changed (a heartbeat, a drain): waiting instances may now fit.
    void changed();
    // The worker is gone (connection closed, heartbeat timeout, replaced). Every task it held is
    // lost; a retry of those attempts must not be dispatched before `retryNotBeforeMs` (epoch
    // ms: the worker's lease has surely ended by then, so no zombie runs beside the retry).
    // Emitted once; the link is then never alive again and is deleted later by its owner.
    void lost(const QString &reason, qint64 retryNotBeforeMs);

    // Containers: the worker's deploy stages (worker field empty: the receiver fills it with
    // id()), its requests for bytes of a version, and the containers it needs and has none of.
    void deployStages(const QList<kairos::DeployStage> &stages);
    void fetchRequests(const QList<kairos::FetchRequest> &requests);
    void containersWanted(const QStringList &containers);
};

} // namespace kairos::server
