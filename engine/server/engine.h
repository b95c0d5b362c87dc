#pragma once
// Engine: the scheduling engine of one server — the same object in kairosd and embedded in the
// console (local single-node mode). It owns the store thread, the job catalog, the trigger
// scheduler, the instance book (state machine + group commit), the dispatcher, the task tracker
// (BROADCAST / MAP / MAP_REDUCE runs) and the local worker, and offers the operations the admin
// API and the in-process client call. What workers send is routed by instance: runs of tracked
// instances go to the TaskTracker, standalone runs are applied here.
//
// Threading: an Engine lives on one thread (the "engine thread"; in the console this is NOT
// the GUI thread). Every method must be called on that thread; replies are invoked on it too.
// Signals carry value types and may be connected across threads with queued connections.

#include "job_catalog.h"

#include <core/instance.h>
#include <core/job.h>
#include <core/task_info.h>
#include <core/worker_info.h>
#include <store/store_config.h>
#include <worker/task.h>

#include <QObject>
#include <QTimeZone>

#include <functional>
#include <memory>

namespace kairos {
class StoreThread;
}

namespace kairos::server {

class ContainerService;
class Dispatcher;
class InstanceBook;
class RemoteWorkerLink;
class TaskTracker;
class TriggerScheduler;
class WorkerLink;
class WorkerRegistry;
struct Fire;

template<typename T> using Reply = std::function<void(Result<T>)>;

struct EngineConfig {
    kairos::StoreConfig store;
    QString serverId; // empty: hostname:pid
    QTimeZone serverZone = QTimeZone::systemTimeZone();
    bool localWorker = true;      // run an in-process worker
    int localWorkerCapacity = 64; // concurrent runs of the local worker
    int retentionDays = 30;       // finished instances and logs older are deleted
    qint64 prepareLeadMs = 200;   // scheduled fires are recorded this early
    // Remote workers (docs/protocol.md section 12.3).
    int workerHeartbeatMs = 1000; // told to workers at registration
    int workerDeadAfterMs = 5000; // no heartbeat for this long: DEAD
    int workerLeaseMs = 5000;     // a worker stops its runs this long after its last ack
    // Containers (docs/containers.md).
    qint64 maxContainerBytes = 256LL * 1024 * 1024;
    QString localContainerDir;    // the local worker's container files; empty: a temp folder
    QString containerHostProgram; // kairos-container-host; empty: next to the executable
};

struct InstanceDetail {
    Instance instance;
    QList<Attempt> attempts;
};

class Engine : public QObject {
    Q_OBJECT
public:
    explicit Engine(EngineConfig config, QObject *parent = nullptr);
    ~Engine() override;

    // Opens and migrates the store, loads the jobs, recovers the instances a previous run left
    // behind, applies misfire policies and starts firing. Blocks until that is done.
    Status start();
    // Stops firing and dispatching and waits for pending writes. Blocks.
    void stop();

    const EngineConfig &config() const { return m_config; }
    QString serverId() const { return m_serverId; }
    kairos::StoreThread *store() const { return m_store.get(); }

    // --- jobs -------------------------------------------------------------------------------
    void createJob(const Job &job, Reply<Job> reply);
    // Applies a JSON patch; expectedVersion 0 = whatever is current.
    void updateJob(qint64 id, const QJsonObject &patch, qint64 expectedVersion, Reply<Job> reply);
    void setJobEnabled(qint64 id, bool enabled, Reply<Job> reply);
    void deleteJob(qint64 id, Reply<bool> reply);
    QList<Job> jobs() const;
    std::optional<Job> job(qint64 id) const;
    std::optional<Job> jobByName(const QString &name) const;
    // Next planned fire time of a job (-1 when none).
    qint64 nextFire(qint64 jobId) const;
    // Creates one instance per entry of `instanceParams` (at least one), committed before the
    // reply; each is then dispatched.
    void runJob(qint64 id, const QStringList &instanceParams, Reply<QList<qint64>> reply);

    // --- instances --------------------------------------------------------------------------
    void listInstances(const InstanceFilter &filter, Reply<QList<Instance>> reply);
    void instance(qint64 id, Reply<InstanceDetail> reply);
    void logs(qint64 id, qint64 afterSeq, int limit, Reply<QList<LogLine>> reply);
    // The tasks of a BROADCAST / MAP / MAP_REDUCE instance (`instance.tasks`): a page by task id
    // with the live state of dispatched ones. Empty for a standalone instance.
    void tasks(qint64 id, const TaskFilter &filter, Reply<QList<TaskInfo>> reply);
    void cancelInstance(qint64 id, Reply<Instance> reply);
    void retryInstance(qint64 id, Reply<Instance> reply);
    // Deletes finished instances (and their attempts and logs) older than the retention age.
    void purgeOld(Reply<int> reply);

    // Worker links other than the local one (remote workers) are added here. The engine
    // handles the link's reports, returns and loss; the caller keeps ownership.
    void addWorkerLink(WorkerLink *link);
    QList<WorkerLink *> workerLinks() const;
    // Every worker known to this server: the local one, the connected ones and, for one hour,
    // the dead ones (`worker.list`).
    QList<kairos::WorkerInfo> workers() const;

    // Container versions, deployments and deploy stages (docs/containers.md).
    ContainerService *containers() const { return m_containers; }

    // Runs `fn` when everything changed so far is durably committed (tests, benchmarks).
    void whenFlushed(std::function<void()> fn);
    int activeInstanceCount() const;

signals:
    // After each commit: new and changed instances (terminal included) and stored log lines.
    void instancesChanged(const QList<kairos::Instance> &instances);
    void logsAppended(const QList<kairos::LogLine> &lines);
    void jobChanged(const kairos::Job &job);
    void jobRemoved(qint64 jobId);
    // A worker registered, changed state or sent new metrics (at most once a second each).
    void workersChanged(const QList<kairos::WorkerInfo> &workers);
    // Task progress of tracked runs, coalesced (TaskTracker): the `tasks` event topic.
    void taskProgress(const QList<kairos::TaskProgress> &events);

private:
    void recover(QList<Instance> nonTerminal, const QHash<qint64, qint64> &lastFires);
    void applyMisfires(const QHash<qint64, qint64> &lastFires);
    void onFires(const QList<Fire> &fires);
    void onReports(WorkerLink *link, const QList<kairos::TaskReport> &reports);
    // The tracker ended the run of a BROADCAST / MAP / MAP_REDUCE instance attempt: applied
    // like a standalone run's terminal report.
    void onTrackedRunFinished(qint64 instanceId, int attempt, kairos::InstanceStatus status,
                              const QString &result, qint64 timeMs);
    void onLogs(const QList<kairos::LogLine> &lines);
    // Ends the current attempt; a retry (if the policy allows one) is due no earlier than
    // `retryNotBeforeMs` (epoch ms; a lost worker's lease must have ended first).
    void endAttempt(const Instance &inst, InstanceStatus status, const QString &result,
                    qint64 timeMs, qint64 retryNotBeforeMs = 0);
    void runEnded(qint64 jobId, qint64 finishedAtMs);
    void onWorkerLost(WorkerLink *link, const QString &reason, qint64 retryNotBeforeMs);
    void onWorkerReturned(WorkerLink *link, const QList<kairos::TaskKey> &keys,
                          const QString &reason);
    // Whether a DISPATCHED / RUNNING instance found at start-up was run by the task tracker.
    bool isTrackedRun(const Instance &inst) const;
    void bindRecovered(RemoteWorkerLink *link);
    void expireRecovered();
    static Attempt attemptOf(const Instance &inst, InstanceStatus status, const QString &reason,
                             qint64 finishedAtMs);
    void planJob(const Job &job);
    void refreshJob(qint64 id);
    void commitJob(const Job &job, bool isNew, Reply<Job> reply);
    Instance newInstance(const Job &job, TriggerKind trigger, qint64 fireTimeMs,
                         const QString &params) const;

    EngineConfig m_config;
    QString m_serverId;
    std::unique_ptr<kairos::StoreThread> m_store;
    JobCatalog m_catalog;
    InstanceBook *m_book = nullptr;
    Dispatcher *m_dispatcher = nullptr;
    TaskTracker *m_tracker = nullptr;
    ContainerService *m_containers = nullptr;
    TriggerScheduler *m_triggers = nullptr;
    WorkerLink *m_localWorker = nullptr;
    WorkerRegistry *m_registry = nullptr;
    // Instances that ran on a remote worker when the previous server process ended, by id, with
    // the worker id: bound again when that worker registers in time, failed otherwise.
    QHash<qint64, QString> m_recovering;
    qint64 m_recoveredAtMs = 0;
    bool m_started = false;
};

} // namespace kairos::server
