#pragma once
// RemoteWorkerLink: the server's side of one remote worker, over one authenticated protocol
// connection with the role "worker" (docs/protocol.md, section 12). It waits for `register`,
// answers `registered` and every `heartbeat`, sends `dispatch`, `cancel` and `callReply`, and
// turns the worker's `status`, `logs`, `return`, `call` and `drain` into WorkerLink signals. It is
// also the fence of section 12.3: it remembers the runs (instance, attempt, task, task attempt)
// dispatched through it and not yet finished, and passes on only reports and calls of those — a
// worker can never move a task it was not given, nor map into one (a call of any other run is
// answered at once with an error naming it, so the processor that waits is told). When the
// connection closes or the worker is declared dead it emits lost() once, with the time before
// which a retry of its runs must not start (its lease has surely ended by then). For the
// benchmarks it also measures dispatch-to-start latency: the send time of each dispatched task
// against the worker's microsecond stamp of its RUNNING report (startLatencies()).
//
// Heartbeat timeouts are checked from outside (WorkerRegistry, one timer for every link).
//
// Not thread-safe: create and use on the engine thread, the thread of the connection.

#include "worker_link.h"

#include <worker/wire.h>

#include <QElapsedTimer>
#include <QHash>
#include <QPointer>
#include <QSet>

#include <deque>

namespace kairos::protocol {
class Connection;
struct Message;
} // namespace kairos::protocol

namespace kairos::server {

// What the server tells a worker at registration, and how it judges its health.
struct RemoteWorkerSettings {
    int heartbeatMs = 1000;
    int deadAfterMs = 5000;
    int leaseMs = 5000;
    QString serverId; // shown in WorkerInfo::server
};

class RemoteWorkerLink : public WorkerLink {
    Q_OBJECT
public:
    // Added to every retry-not-before time: lease expiry plus this margin (docs 12.3).
    static constexpr qint64 kLeaseMarginMs = 2500;

    // Takes the connection over (it must be authenticated with the role "worker"; its login name
    // is the worker's app). The connection stays owned by its Listener.
    RemoteWorkerLink(protocol::Connection *connection, RemoteWorkerSettings settings,
                     QObject *parent = nullptr);
    ~RemoteWorkerLink() override;

    // WorkerLink. id(), address() and tags() are empty until the worker registered.
    QString id() const override { return m_registration.workerId; }
    QString address() const override { return m_registration.address; }
    QString app() const override { return m_app; }
    bool isAlive() const override;
    int freeSlots() const override;
    int slotCount() const override; // 2 x the registered capacity
    QStringList tags() const override { return m_registration.tags; }
    WorkerMetrics metrics() const override { return m_metrics; }
    // Sends one `dispatch` message with every task; each becomes held until its terminal report,
    // its return or the loss of the worker.
    void dispatch(const QList<TaskSpec> &tasks) override;
    void cancel(qint64 instanceId, int attempt, const QString &reason) override;
    // One `cancel` entry per run (with `k` and `ka`): only those runs stop.
    void cancelTasks(const QList<TaskKey> &keys, const QString &reason) override;
    // Sends `callReply` for calls this link emitted and has not answered yet; replies to other
    // ids are dropped. A `results` page too big for a frame is cut (fitResultsPage: `end` false,
    // the reader asks for the rest).
    void answer(const QList<kairos::TaskCallReply> &replies) override;
    // Sends `deploy` with the orders (docs/containers.md section 5).
    void deployContainers(const QList<kairos::ContainerOrder> &orders) override;
    // Sends `fetchReply`, one message per about kMaxFetchReplyBytes of data, for fetches this
    // link emitted and has not answered yet; replies to other ids are dropped.
    void answerFetches(const QList<kairos::FetchReply> &replies) override;

    // A worker may have this many fetches waiting for their reply at once (its downloads keep at
    // most kFetchWindow each); more are answered at once with an error.
    static constexpr int kMaxPendingFetches = 64;
    // Data bytes per `fetchReply` message (the frame limit is 16 MiB).
    static constexpr qint64 kMaxFetchReplyBytes = 4 * 1024 * 1024;

    bool isRegistered() const { return m_registered; }
    bool isLost() const { return m_lost; }
    WorkerState state() const { return m_state; }
    // The registration as the worker sent it (its `held` list included).
    const wire::Registration &registration() const { return m_registration; }
    // Identity, state, metrics and times as `worker.list` shows them.
    WorkerInfo info() const;
    // Tasks dispatched through this link (or bound to it after a server restart) and not yet
    // terminal, returned or lost.
    QList<TaskKey> heldKeys() const;
    int heldCount() const { return int(m_held.size()); }
    // Calls emitted and not yet answered.
    int pendingCallCount() const { return int(m_pendingCalls.size()); }
    // Fetches emitted and not yet answered.
    int pendingFetchCount() const { return int(m_pendingFetches.size()); }
    // Binds tasks that ran on this worker before the server restarted (listed in its `held`):
    // their reports are then accepted like those of tasks dispatched through this link.
    void bindHeld(const QList<TaskKey> &keys);
    // Tells the worker to stop runs it listed in `held` that are no longer its own (the server
    // ended those attempts while the worker was away). Each entry cancels the whole attempt.
    void cancelStale(const QList<TaskKey> &keys, const QString &reason);

    // Milliseconds since the last heartbeat (or the registration), on a monotonic clock.
    qint64 msSinceHeartbeat() const;
    // The last heartbeat received (or the registration), epoch ms.
    qint64 lastHeartbeatMs() const { return m_lastHeartbeatMs; }
    // Before this (epoch ms) the worker may still run what it held: last heartbeat received +
    // lease + kLeaseMarginMs.
    qint64 retryNotBeforeMs() const;

    // Declares the worker dead: sends `dead {reason}`, closes the connection and emits lost().
    // Does nothing once lost.
    void declareDead(const QString &reason);

signals:
    // The worker registered; `registered` has been sent. From now on id() is set.
    void registrationAccepted();
    // For each `status` message with RUNNING reports that carry the runner's microsecond stamp
    // (`tu`): stamp - the time this link handed the task's `dispatch` to the connection, in
    // microseconds, one entry per such report. Both clocks are the wall clock, so this is only
    // meaningful with the worker on the same machine (kairos-bench dispatch_to_start).
    void startLatencies(const QList<qint64> &microseconds);
    // The link is done (lost, or the connection ended before a registration): its owner may
    // delete it (deleteLater).
    void finished();

private:
    void onMessage(const protocol::Message &message);
    void onClosed(const QString &reason);
    void onRegister(const protocol::Message &message);
    void onHeartbeat(const protocol::Message &message);
    void onStatus(const protocol::Message &message);
    void onLogs(const protocol::Message &message);
    void onAccept(const protocol::Message &message);
    void onReturn(const protocol::Message &message);
    void onDrain(const protocol::Message &message);
    void onCall(const protocol::Message &message);
    void onDeployStage(const protocol::Message &message);
    void onFetch(const protocol::Message &message);
    void onWant(const protocol::Message &message);
    void sendFetchReplies(const QList<kairos::FetchReply> &replies);
    void refuseRegistration(const QString &reason);
    void sendErrors(const QStringList &errors);
    void sendError(const QString &reason);
    void hold(const TaskKey &key, qint64 sentUs = 0);
    void release(const TaskKey &key);
    void markLost(const QString &reason);
    QString describe(const TaskKey &key) const;
    QString who() const;

    using AttemptKey = std::pair<qint64, int>; // (instance id, attempt)

    QPointer<protocol::Connection> m_connection;
    RemoteWorkerSettings m_settings;
    QString m_app;
    QString m_peer;
    wire::Registration m_registration;
    WorkerMetrics m_metrics;
    WorkerState m_state = WorkerState::Alive;
    bool m_registered = false;
    bool m_lost = false;
    qint64 m_registeredAtMs = 0;
    qint64 m_lastHeartbeatMs = 0;
    qint64 m_deadAtMs = 0;
    QString m_deadReason;
    QElapsedTimer m_sinceHeartbeat;
    // Held tasks with the wall-clock time (epoch µs) their dispatch was sent; 0 for tasks bound
    // from a `held` list.
    QHash<TaskKey, qint64> m_held;
    // Log lines are accepted for attempts held now or finished recently on this link (a worker
    // may flush the last lines of a run after its terminal report).
    QHash<AttemptKey, int> m_heldAttempts; // attempt -> number of held tasks
    QSet<AttemptKey> m_recentAttempts;
    std::deque<AttemptKey> m_recentOrder;
    // Calls emitted through calls() and not yet answered (answer() sends each reply once).
    QSet<quint64> m_pendingCalls;
    // Fetches emitted through fetchRequests() and not yet answered (by fetch id).
    QSet<qint64> m_pendingFetches;
};

} // namespace kairos::server
