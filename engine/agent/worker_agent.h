#pragma once
// WorkerAgent: the kairos-worker daemon's brain. It keeps one protocol connection to one of the
// configured servers at a time (login as role "worker" with the app's name and secret), registers
// after each login, heartbeats with metrics, runs what the server dispatches on a TaskRunner of
// its own thread (through a TaskGate), forwards status reports and log lines, and holds its runs
// under a lease (LeaseKeeper) that every heartbeatAck renews. It reconnects with backoff across
// the server list when a connection fails or drops; what the runner says meanwhile waits in a
// bounded Outbox. A server's `dead` notice stops every run and starts over with a fresh
// registration. Calls of running processors (map, results) go to the server as `call` messages
// and its `callReply` back to the runner (OutgoingCalls); a call made while no server is
// connected, or still waiting when the connection is lost, is answered at once with the error
// "connection to the server lost", so no processor stays blocked. Containers (docs/containers.md)
// are the ContainerManager's, beside the runner: the server's `deploy` and `fetchReply` go to it;
// its deploy stages, fetch requests and wants go out as `deployStage`, `fetch` and `want` while
// registered (a fetch made while no server is connected is answered at once with "connection to
// the server lost"; stages and wants are then dropped: the server re-sends its orders at the next
// registration). drain() is the graceful
// shutdown of SIGTERM (docs/protocol.md 12.3, Draining).
// The wire format is kairos::wire's; the behaviour is specified in docs/protocol.md section 12.
//
// Threading: create and use on one thread with an event loop (the main thread); no method is
// thread-safe. Signals are emitted on that thread. The runner thread is internal.

#include "lease_keeper.h"
#include "metrics_sampler.h"
#include "outbox.h"
#include "outgoing_calls.h"
#include "server_rotation.h"
#include "worker_config.h"

#include <core/container_info.h>
#include <core/result.h>
#include <protocol/connection.h>
#include <worker/task.h>

#include <QLockFile>
#include <QObject>
#include <QPointer>
#include <QThread>
#include <QTimer>

#include <memory>

namespace kairos::agent {

class TaskGate;

class WorkerAgent : public QObject {
    Q_OBJECT
public:
    enum class State {
        Idle,        // not started
        Connecting,  // connecting, or waiting to reconnect
        Registering, // logged in, `register` sent
        Registered,  // heartbeating; dispatches are taken (or returned while draining)
        Finished,    // drained and disconnected; does nothing more
    };
    Q_ENUM(State)

    explicit WorkerAgent(WorkerConfig config, QObject *parent = nullptr);
    // Stops every run still going (their processes are killed) and closes the connection.
    ~WorkerAgent() override;

    // Creates the work folder, starts the runner thread and connects to the first server.
    // Errors: the work folder cannot be created. Main thread; call once.
    Status start();
    // Graceful shutdown: sends `drain`, hands queued tasks back (`return`), lets running ones
    // finish for up to the drain timeout, stops the rest, sends the last status/logs, closes and
    // emits finished(). A second call skips the wait and stops running tasks now. Main thread.
    void drain(const QString &reason);

    // Main thread, like every accessor below.
    State state() const { return m_state; }
    bool isDraining() const { return m_draining; }
    const WorkerConfig &config() const { return m_config; }
    // The server of the current (or last) connection attempt.
    ServerAddress currentServer() const { return m_server; }
    // Values in force: the server's from `registered`, the configured ones before that.
    int heartbeatMs() const { return m_heartbeatMs; }
    int leaseMs() const { return m_leaseMs; }
    int deadAfterMs() const { return m_deadAfterMs; }
    const LeaseKeeper &lease() const { return *m_lease; }

signals:
    void stateChanged(kairos::agent::WorkerAgent::State state);
    // Registered with `server` ("host:port").
    void registered(const QString &server);
    // A connection or login failed before registration; the next attempt is in `retryInMs`.
    void connectFailed(const QString &server, const QString &reason, int retryInMs);
    // A registered connection ended (`dead` included); the worker reconnects.
    void connectionLost(const QString &server, const QString &reason);
    // The server declared this worker dead; every run was told to stop.
    void deadNotice(const QString &reason);
    // No server renewed the lease in time; `silentMs` since one last heard from this worker.
    void leaseExpired(qint64 silentMs);
    // drain() finished: everything said that could be said, connection closed.
    void finished();

private:
    enum class DrainPhase { None, Waiting, Stopping, Flushing };

    void setState(State state);
    void scheduleConnect(const ServerRotation::Attempt &attempt);
    void connectNow();
    void dropConnection(const QString &reason);
    void onReady();
    void onAttemptFailed(const QString &reason);
    void onLost(const QString &reason);
    void onMessage(const protocol::Message &message);
    void onRegistered(const protocol::Message &message);
    void onDispatch(const protocol::Message &message);
    void onCancel(const protocol::Message &message);
    void onCallReply(const protocol::Message &message);
    void onDeploy(const protocol::Message &message);
    void onFetchReply(const protocol::Message &message);
    void onDeployStages(const QList<kairos::DeployStage> &stages);
    void onFetchRequests(const QList<kairos::FetchRequest> &requests);
    void onContainersWanted(const QStringList &containers);
    void onDead(const protocol::Message &message);
    void onRegisterTimeout();
    qint64 sendHeartbeat(); // its ts, 0 when not sent
    void onLeaseExpired(qint64 silentMs);
    void onRunnerReports(const QList<kairos::TaskReport> &reports, int held);
    void onRunnerLogs(const QList<kairos::LogLine> &lines);
    void onRunnerCalls(const QList<kairos::TaskCall> &calls);
    void sendCalls(const QList<kairos::TaskCall> &calls);
    void answerOnRunner(const QList<kairos::TaskCallReply> &replies);
    void failPendingCalls(const QString &reason);
    void sendReports(const QList<kairos::TaskReport> &reports);
    void sendLines(const QList<kairos::LogLine> &lines);
    void flushOutbox();
    bool canSend() const;

    void onQueuedTaken(const QList<kairos::TaskKey> &keys, int held);
    void returnTasks(const QList<kairos::TaskKey> &keys);
    void checkDrain();
    void stopRemaining(const QString &reason);
    void beginFlush();
    void finish();

    template<typename F> void onRunner(F &&f);

    WorkerConfig m_config;
    State m_state = State::Idle;
    ServerRotation m_rotation;
    ServerAddress m_server;
    QPointer<protocol::Connection> m_connection;
    MetricsSampler m_metrics;
    Outbox m_outbox;
    OutgoingCalls m_calls;          // sent on the current connection, waiting for `callReply`
    LeaseKeeper *m_lease = nullptr; // child
    std::unique_ptr<QLockFile> m_workDirLock; // held while started: one worker per work folder

    int m_heartbeatMs;
    int m_leaseMs = 5000;
    int m_deadAfterMs = 5000;
    qint64 m_registerSentAtMs = 0; // monotonic
    qint64 m_lastHeartbeatTs = 0;
    QTimer m_reconnectTimer;
    QTimer m_registerTimer;
    QTimer m_heartbeatTimer;

    QThread m_runnerThread;
    TaskGate *m_gate = nullptr; // lives on m_runnerThread
    int m_held = 0;             // tasks the gate holds, as of its last report

    bool m_draining = false;
    DrainPhase m_drainPhase = DrainPhase::None;
    QString m_drainReason;
    bool m_queuedTaken = false;
    qint64 m_flushBarrierTs = 0; // the heartbeat whose ack ends the drain
    QTimer m_drainTimer;         // the phase's deadline
};

} // namespace kairos::agent
