#include "worker_agent.h"

#include "agent_log.h"
#include "monotonic_clock.h"
#include "task_gate.h"

#include <worker/container_wire.h>
#include <worker/wire.h>

#include <QCoreApplication>
#include <QDir>

namespace kairos::agent {

using namespace Qt::StringLiterals;

namespace {

// After the drain timeout has stopped the remaining runs: how long their processes get to end
// (a shell run's launcher escalates to SIGKILL well within this).
constexpr int kStopGraceMs = 10000;
// How long a drained worker tries to deliver its last reports (including reconnecting).
constexpr int kFlushGraceMs = 5000;
// Status batches are split like log batches, by an estimate of their encoded size.
constexpr qsizetype kMaxBatchBytes = 1 << 20;

QString seconds(qint64 ms)
{
    return QString::number(double(ms) / 1000.0, 'f', 1);
}

QList<QList<TaskReport>> splitReports(const QList<TaskReport> &reports)
{
    QList<QList<TaskReport>> out;
    qsizetype bytes = 0;
    for (const TaskReport &r : reports) {
        const qsizetype size = 64 + r.result.size() * 3; // UTF-8 worst case
        if (out.isEmpty() || (bytes + size > kMaxBatchBytes && !out.last().isEmpty())) {
            out.append(QList<TaskReport>{});
            bytes = 0;
        }
        out.last().append(r);
        bytes += size;
    }
    return out;
}

} // namespace

WorkerAgent::WorkerAgent(WorkerConfig config, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_rotation(m_config.servers, WorkerConfig::kInitialReconnectMs, m_config.reconnectMaxMs)
    , m_metrics(m_config.workDir)
    , m_heartbeatMs(m_config.heartbeatMs)
{
    m_reconnectTimer.setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &WorkerAgent::connectNow);
    m_registerTimer.setSingleShot(true);
    connect(&m_registerTimer, &QTimer::timeout, this, &WorkerAgent::onRegisterTimeout);
    m_heartbeatTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_heartbeatTimer, &QTimer::timeout, this, &WorkerAgent::sendHeartbeat);
    m_drainTimer.setSingleShot(true);
    connect(&m_drainTimer, &QTimer::timeout, this, [this] {
        switch (m_drainPhase) {
        case DrainPhase::Waiting:
            stopRemaining(u"the worker stopped it: drain timeout of %1 s reached (%2)"_s.arg(
                seconds(m_config.drainTimeoutMs), m_drainReason));
            break;
        case DrainPhase::Stopping:
            qCWarning(lcAgent).noquote()
                << u"%1 task(s) did not stop in time; shutting down anyway"_s.arg(m_held);
            beginFlush();
            break;
        case DrainPhase::Flushing:
        case DrainPhase::None:
            finish();
            break;
        }
    });
    m_lease = new LeaseKeeper(QDir(m_config.workDir).filePath(u"lease"_s), this);
    connect(m_lease, &LeaseKeeper::expired, this, &WorkerAgent::onLeaseExpired);
}

WorkerAgent::~WorkerAgent()
{
    m_reconnectTimer.stop();
    m_heartbeatTimer.stop();
    m_drainTimer.stop();
    dropConnection(u"the worker is shutting down"_s);
    // The gate's runner kills every process group still running when it is destroyed, on its
    // own thread (deleteLater when the thread's loop ends).
    m_runnerThread.quit();
    m_runnerThread.wait();
}

template<typename F> void WorkerAgent::onRunner(F &&f)
{
    QMetaObject::invokeMethod(
        m_gate, [gate = m_gate, f = std::forward<F>(f)]() mutable { f(gate); },
        Qt::QueuedConnection);
}

Status WorkerAgent::start()
{
    if (m_state != State::Idle)
        return makeError(u"the worker agent was already started"_s);
    if (!QDir().mkpath(m_config.workDir)) {
        return makeError(
            u"--work-dir %1: the folder cannot be created (check the path and permissions)"_s.arg(
                m_config.workDir));
    }
    // The lease file and the containers live in the work folder: two workers sharing one would
    // renew and expire each other's leases (killing each other's runs) and race on downloads.
    m_workDirLock = std::make_unique<QLockFile>(QDir(m_config.workDir).filePath(u"worker.lock"_s));
    m_workDirLock->setStaleLockTime(0); // stale only when its process is gone
    if (!m_workDirLock->tryLock(0)) {
        qint64 pid = 0;
        QString host, app;
        m_workDirLock->getLockInfo(&pid, &host, &app);
        m_workDirLock.reset();
        return makeError(u"--work-dir %1: in use by another kairos-worker (pid %2); give each "
                         u"worker its own work folder"_s.arg(m_config.workDir)
                             .arg(pid));
    }
    m_lease->resetFile();

    m_runnerThread.setObjectName(u"kairos-worker-runner"_s);
    m_gate = new TaskGate;
    m_gate->moveToThread(&m_runnerThread);
    connect(&m_runnerThread, &QThread::finished, m_gate, &QObject::deleteLater);
    connect(m_gate, &TaskGate::reports, this, &WorkerAgent::onRunnerReports, Qt::QueuedConnection);
    connect(m_gate, &TaskGate::logs, this, &WorkerAgent::onRunnerLogs, Qt::QueuedConnection);
    connect(m_gate, &TaskGate::calls, this, &WorkerAgent::onRunnerCalls, Qt::QueuedConnection);
    connect(m_gate, &TaskGate::deployStages, this, &WorkerAgent::onDeployStages,
            Qt::QueuedConnection);
    connect(m_gate, &TaskGate::fetchRequests, this, &WorkerAgent::onFetchRequests,
            Qt::QueuedConnection);
    connect(m_gate, &TaskGate::containersWanted, this, &WorkerAgent::onContainersWanted,
            Qt::QueuedConnection);
    m_runnerThread.start();
    // Only policy kill hands the lease file to the launchers: with `finish`, runs must outlive
    // the lease.
    const QString leaseFile =
        m_config.onLeaseLoss == LeaseLossPolicy::Kill ? m_lease->leaseFile() : QString();
    ContainerManagerConfig containers;
    containers.directory = m_config.containersDir.isEmpty()
                               ? QDir(m_config.workDir).filePath(u"containers"_s)
                               : m_config.containersDir;
    containers.hostProgram = m_config.containerHost;
    onRunner([capacity = m_config.threads, leaseFile, containers](TaskGate *gate) {
        gate->configure(capacity, leaseFile);
        gate->configureContainers(containers);
    });

    scheduleConnect(m_rotation.first());
    return {};
}

void WorkerAgent::setState(State state)
{
    if (m_state == state)
        return;
    m_state = state;
    emit stateChanged(state);
}

bool WorkerAgent::canSend() const
{
    return m_state == State::Registered && m_connection && m_connection->isReady();
}

// --- connection life cycle ------------------------------------------------------------------

void WorkerAgent::scheduleConnect(const ServerRotation::Attempt &attempt)
{
    m_server = attempt.server;
    setState(State::Connecting);
    // Always through the timer, also for "now": a failure reported synchronously by the next
    // attempt must not recurse into this one's handler.
    m_reconnectTimer.start(attempt.delayMs);
}

void WorkerAgent::connectNow()
{
    if (m_state == State::Finished)
        return;
    auto *c = new protocol::Connection(this);
    m_connection = c;
    c->setHandshakeTimeout(WorkerConfig::kConnectTimeoutMs);
    connect(c, &protocol::Connection::ready, this, [this, c] {
        if (c == m_connection)
            onReady();
    });
    connect(c, &protocol::Connection::failed, this, [this, c](const QString &reason) {
        if (c == m_connection)
            onAttemptFailed(reason);
    });
    connect(c, &protocol::Connection::closed, this, [this, c](const QString &reason) {
        if (c != m_connection)
            return;
        if (m_drainPhase == DrainPhase::Flushing && m_state == State::Registered)
            finish(); // the close beginFlush() asked for
        else if (m_state == State::Registered)
            onLost(reason);
        else
            onAttemptFailed(reason);
    });
    connect(c, &protocol::Connection::messageReceived, this, [this, c](const protocol::Message &m) {
        if (c == m_connection)
            onMessage(m);
    });
    qCDebug(lcAgent).noquote() << u"connecting to %1"_s.arg(m_server.toString());
    c->connectToServer(m_server.host, m_server.port, QString(protocol::kRoleWorker), m_config.app,
                       m_config.secret, m_config.tls);
}

void WorkerAgent::dropConnection(const QString &reason)
{
    m_registerTimer.stop();
    m_heartbeatTimer.stop();
    // Whatever the server was asked is not going to be answered on another connection (a new
    // one does not hold these runs): tell the processors now.
    failPendingCalls(reason);
    protocol::Connection *c = m_connection;
    m_connection = nullptr;
    if (!c)
        return;
    disconnect(c, nullptr, this, nullptr);
    c->close(reason);
    c->deleteLater();
}

void WorkerAgent::onReady()
{
    setState(State::Registering);
    wire::Registration r;
    r.workerId = m_config.workerId;
    r.address = m_config.advertise;
    r.tags = m_config.tags;
    r.capacity = m_config.threads;
    r.pid = QCoreApplication::applicationPid();
    r.version = m_config.version;
    r.held = m_gate->heldKeys();
    r.metrics = m_metrics.sample(m_gate->runningCount(), m_gate->queuedCount());
    m_registerSentAtMs = monotonicMs();
    m_connection->send(wire::encodeRegister(r));
    m_registerTimer.start(WorkerConfig::kRegisterTimeoutMs);
    qCDebug(lcAgent).noquote() << u"logged in to %1; registering with %2 held task(s)"_s
                                      .arg(m_server.toString())
                                      .arg(r.held.size());
}

void WorkerAgent::onRegisterTimeout()
{
    onAttemptFailed(
        u"no answer to `register` within %1 s"_s.arg(seconds(WorkerConfig::kRegisterTimeoutMs)));
}

void WorkerAgent::onAttemptFailed(const QString &reason)
{
    dropConnection(reason);
    if (m_state == State::Finished)
        return;
    const QString server = m_server.toString();
    const ServerRotation::Attempt next = m_rotation.afterFailure();
    qCDebug(lcAgent).noquote() << u"connection to %1 failed: %2; next: %3 in %4 ms"_s
                                      .arg(server, reason, next.server.toString())
                                      .arg(next.delayMs);
    emit connectFailed(server, reason, next.delayMs);
    scheduleConnect(next);
}

void WorkerAgent::onLost(const QString &reason)
{
    dropConnection(reason);
    if (m_state == State::Finished)
        return;
    // The server ends the runs of a lost connection at once and retries them elsewhere later;
    // a task that has not started yet must not start now. Container downloads waiting for this
    // server's answers will not get them.
    onRunner([reason](TaskGate *gate) {
        gate->cancelQueued(
            u"the connection to the server was lost before the task started (%1)"_s.arg(reason));
        gate->containersConnectionLost();
    });
    const QString server = m_server.toString();
    emit connectionLost(server, reason);
    scheduleConnect(m_rotation.afterLoss());
}

// --- messages from the server ---------------------------------------------------------------

void WorkerAgent::onMessage(const protocol::Message &m)
{
    if (m.type == wire::type::Registered) {
        if (m_state == State::Registering)
            onRegistered(m);
        else
            qCDebug(lcAgent).noquote()
                << u"ignoring a second `registered` from %1"_s.arg(m_server.toString());
    } else if (m.type == wire::type::HeartbeatAck) {
        const auto ts = wire::decodeHeartbeatAck(m);
        if (!ts) {
            qCWarning(lcAgent).noquote() << u"%1 sent %2"_s.arg(m_server.toString(), ts.error());
        } else {
            m_lease->renew(*ts, m_leaseMs);
            if (m_drainPhase == DrainPhase::Flushing && m_flushBarrierTs > 0
                && *ts >= m_flushBarrierTs && m_connection) {
                // The server has read everything sent before the barrier: the last reports.
                m_connection->close(
                    u"worker %1 drained (%2)"_s.arg(m_config.workerId, m_drainReason));
            }
        }
    } else if (m.type == wire::type::Dispatch) {
        onDispatch(m);
    } else if (m.type == wire::type::Cancel) {
        onCancel(m);
    } else if (m.type == wire::type::CallReply) {
        onCallReply(m);
    } else if (m.type == wire::type::Deploy) {
        onDeploy(m);
    } else if (m.type == wire::type::FetchReplyMsg) {
        onFetchReply(m);
    } else if (m.type == wire::type::Dead) {
        onDead(m);
    } else if (m.type == protocol::msg::Error) {
        const QString reason = m.text("reason"_L1, u"(no reason given)"_s);
        qCWarning(lcAgent).noquote()
            << u"server %1 reports an error: %2"_s.arg(m_server.toString(), reason);
        if (m_state == State::Registering)
            onAttemptFailed(u"the server refused the registration: %1"_s.arg(reason));
    } else if (m_connection) {
        m_connection->replyUnknownType(m);
    }
}

void WorkerAgent::onRegistered(const protocol::Message &m)
{
    const auto reply = wire::decodeRegistered(m);
    if (!reply) {
        onAttemptFailed(u"malformed `registered`: %1"_s.arg(reply.error()));
        return;
    }
    m_registerTimer.stop();
    m_heartbeatMs = std::clamp(reply->heartbeatMs, 10, 600000);
    m_leaseMs = reply->leaseMs > 0 ? reply->leaseMs : 5000;
    m_deadAfterMs = reply->deadAfterMs;
    if (m_leaseMs <= m_heartbeatMs) {
        qCWarning(lcAgent).noquote()
            << u"the server's lease of %1 ms is not longer than its heartbeat period of %2 ms; "
               "runs may be stopped between heartbeats"_s.arg(m_leaseMs)
                   .arg(m_heartbeatMs);
    }
    // The server heard `register`: that is the first moment the lease covers.
    m_lease->renew(m_registerSentAtMs, m_leaseMs);
    m_rotation.registered();
    setState(State::Registered);

    if (m_draining)
        m_connection->send(wire::encodeDrain(m_drainReason));
    flushOutbox();
    sendHeartbeat();
    m_heartbeatTimer.start(m_heartbeatMs);
    emit registered(m_server.toString());
    if (m_drainPhase == DrainPhase::Flushing)
        beginFlush();
}

void WorkerAgent::onDispatch(const protocol::Message &m)
{
    const wire::Batch<TaskSpec> batch = wire::decodeDispatch(m);
    for (const QString &error : batch.errors)
        qCWarning(lcAgent).noquote() << u"dispatch from %1: %2"_s.arg(m_server.toString(), error);
    if (batch.items.isEmpty())
        return;
    if (m_draining) {
        QList<TaskKey> keys;
        keys.reserve(batch.items.size());
        for (const TaskSpec &spec : batch.items)
            keys.append(taskKeyOf(spec));
        returnTasks(keys);
        return;
    }
    // Every key, duplicates included: the server learns that each dispatch arrived, and the
    // gate and the runner make sure each task runs once. Subtasks of map jobs are the exception
    // (docs/protocol.md 12.2): a million of them would cost the server a million keys to read
    // for nothing, and their RUNNING report follows anyway.
    QList<TaskKey> keys;
    for (const TaskSpec &spec : batch.items) {
        if (spec.role != TaskRole::Subtask)
            keys.append(taskKeyOf(spec));
    }
    onRunner([tasks = batch.items](TaskGate *gate) { gate->submit(tasks); });
    if (!keys.isEmpty())
        m_connection->send(wire::encodeAccept(keys));
}

void WorkerAgent::onCancel(const protocol::Message &m)
{
    const wire::Batch<wire::KeyReason> batch = wire::decodeCancel(m);
    for (const QString &error : batch.errors)
        qCWarning(lcAgent).noquote() << u"cancel from %1: %2"_s.arg(m_server.toString(), error);
    if (!batch.items.isEmpty())
        onRunner([tasks = batch.items](TaskGate *gate) { gate->cancel(tasks); });
}

void WorkerAgent::onCallReply(const protocol::Message &m)
{
    const wire::Batch<TaskCallReply> batch = wire::decodeCallReply(m);
    for (const QString &error : batch.errors)
        qCWarning(lcAgent).noquote() << u"callReply from %1: %2"_s.arg(m_server.toString(), error);
    if (batch.items.isEmpty())
        return;
    const OutgoingCalls::Step step = m_calls.onReplies(batch.items);
    answerOnRunner(step.toRunner);
    sendCalls(step.toSend);
}

void WorkerAgent::onDeploy(const protocol::Message &m)
{
    const wire::Batch<ContainerOrder> batch = wire::decodeDeploy(m);
    for (const QString &error : batch.errors)
        qCWarning(lcAgent).noquote() << u"deploy from %1: %2"_s.arg(m_server.toString(), error);
    if (!batch.items.isEmpty())
        onRunner([orders = batch.items](TaskGate *gate) { gate->deployContainers(orders); });
}

void WorkerAgent::onFetchReply(const protocol::Message &m)
{
    // Replies the decoder could not read but whose fetch it could name come with an error, so
    // their download fails instead of waiting.
    const wire::Batch<FetchReply> batch = wire::decodeFetchReply(m);
    for (const QString &error : batch.errors)
        qCWarning(lcAgent).noquote() << u"fetchReply from %1: %2"_s.arg(m_server.toString(), error);
    if (!batch.items.isEmpty())
        onRunner([replies = batch.items](TaskGate *gate) { gate->answerFetches(replies); });
}

void WorkerAgent::onDeployStages(const QList<DeployStage> &stages)
{
    // Not connected: dropped. The server re-sends its orders at registration and hears the
    // stages of those.
    if (canSend())
        m_connection->send(wire::encodeDeployStage(stages));
}

void WorkerAgent::onFetchRequests(const QList<FetchRequest> &requests)
{
    if (canSend()) {
        m_connection->send(wire::encodeFetch(requests));
        return;
    }
    // No server to ask: the download learns it now instead of waiting for ever.
    QList<FetchReply> replies;
    replies.reserve(requests.size());
    for (const FetchRequest &r : requests)
        replies.append(
            FetchReply{r.fetchId, r.sha256, r.offset, {}, u"connection to the server lost"_s});
    if (m_gate)
        onRunner([replies](TaskGate *gate) { gate->answerFetches(replies); });
}

void WorkerAgent::onContainersWanted(const QStringList &containers)
{
    if (canSend())
        m_connection->send(wire::encodeWant(containers));
}

void WorkerAgent::onDead(const protocol::Message &m)
{
    const auto decoded = wire::decodeReason(m);
    const QString reason = decoded ? *decoded : u"(no reason given)"_s;
    qCWarning(lcAgent).noquote()
        << u"server %1 declared this worker dead: %2; stopping every run and registering again"_s
               .arg(m_server.toString(), reason);
    emit deadNotice(reason);
    onRunner([reason](TaskGate *gate) {
        gate->cancelAll(u"the server declared this worker dead: %1"_s.arg(reason));
    });
    onLost(u"declared dead by the server: %1"_s.arg(reason));
}

// --- heartbeats and the lease ---------------------------------------------------------------

qint64 WorkerAgent::sendHeartbeat()
{
    if (!canSend())
        return 0;
    wire::Heartbeat hb;
    // Strictly increasing, so an ack names exactly one heartbeat (the drain's flush barrier
    // relies on it).
    hb.ts = std::max(monotonicMs(), m_lastHeartbeatTs + 1);
    m_lastHeartbeatTs = hb.ts;
    hb.metrics = m_metrics.sample(m_gate->runningCount(), m_gate->queuedCount());
    m_connection->send(wire::encodeHeartbeat(hb));
    return hb.ts;
}

void WorkerAgent::onLeaseExpired(qint64 silentMs)
{
    const QString silent = seconds(silentMs);
    emit leaseExpired(silentMs);
    if (m_config.onLeaseLoss == LeaseLossPolicy::Kill) {
        qCWarning(lcAgent).noquote()
            << u"lease lost: no server heard from for %1 s; stopping every run"_s.arg(silent);
        onRunner([silent](TaskGate *gate) {
            gate->cancelAll(u"lease lost: no server heard from for %1 s"_s.arg(silent));
        });
    } else {
        qCWarning(lcAgent).noquote()
            << u"lease lost: no server heard from for %1 s; runs continue (--on-lease-loss "
               "finish), their reports will arrive late"_s.arg(silent);
    }
    // A server that keeps the socket open but stopped answering (frozen, overloaded) is as good
    // as gone: try the others. One turn later, so that what already arrived is read first: a
    // worker that was itself frozen (SIGSTOP) finds the server's `dead` notice waiting and
    // handles it as such.
    if (m_state != State::Registered)
        return;
    QMetaObject::invokeMethod(
        this,
        [this, c = QPointer<protocol::Connection>(m_connection), silent] {
            if (c && c == m_connection && m_state == State::Registered && !m_lease->isHeld())
                onLost(u"no heartbeatAck for %1 s"_s.arg(silent));
        },
        Qt::QueuedConnection);
}

// --- what the runner says -------------------------------------------------------------------

void WorkerAgent::onRunnerReports(const QList<TaskReport> &reports, int held)
{
    m_held = held;
    if (canSend())
        sendReports(reports);
    else
        m_outbox.addReports(reports);
    checkDrain();
}

void WorkerAgent::onRunnerLogs(const QList<LogLine> &lines)
{
    if (canSend())
        sendLines(lines);
    else
        m_outbox.addLines(lines);
}

void WorkerAgent::onRunnerCalls(const QList<TaskCall> &calls)
{
    if (!canSend()) {
        // No server to ask: the processor gets its answer now, not after a reconnect (the new
        // connection would not hold its run anyway).
        QList<TaskCallReply> replies;
        replies.reserve(calls.size());
        for (const TaskCall &call : calls)
            replies.append(
                TaskCallReply{call.callId, u"connection to the server lost"_s, {}, false});
        answerOnRunner(replies);
        return;
    }
    sendCalls(m_calls.add(calls));
    answerOnRunner(m_calls.takeImmediate());
}

void WorkerAgent::sendCalls(const QList<TaskCall> &calls)
{
    if (calls.isEmpty())
        return;
    if (!canSend()) {
        answerOnRunner(m_calls.failAll(u"connection to the server lost"_s));
        return;
    }
    for (const QList<TaskCall> &part : wire::splitCallBatch(calls, kMaxBatchBytes))
        m_connection->send(wire::encodeCall(part));
}

void WorkerAgent::answerOnRunner(const QList<TaskCallReply> &replies)
{
    if (replies.isEmpty() || !m_gate)
        return;
    onRunner([replies](TaskGate *gate) { gate->answer(replies); });
}

void WorkerAgent::failPendingCalls(const QString &reason)
{
    if (m_calls.isEmpty())
        return;
    const QList<TaskCallReply> failed =
        m_calls.failAll(u"connection to the server lost: %1"_s.arg(reason));
    qCWarning(lcAgent).noquote() << u"%1 call(s) of running tasks were waiting for %2 and fail: "
                                    "connection lost (%3)"_s.arg(failed.size())
                                        .arg(m_server.toString(), reason);
    answerOnRunner(failed);
}

void WorkerAgent::sendReports(const QList<TaskReport> &reports)
{
    for (const QList<TaskReport> &part : splitReports(reports))
        m_connection->send(wire::encodeStatus(part));
}

void WorkerAgent::sendLines(const QList<LogLine> &lines)
{
    for (const QList<LogLine> &part : wire::splitLogBatch(lines, kMaxBatchBytes))
        m_connection->send(wire::encodeLogs(part));
}

void WorkerAgent::flushOutbox()
{
    for (const Outbox::Chunk &chunk : m_outbox.takeAll()) {
        if (!chunk.reports.isEmpty())
            sendReports(chunk.reports);
        else
            sendLines(chunk.lines);
    }
}

// --- draining -------------------------------------------------------------------------------

void WorkerAgent::drain(const QString &reason)
{
    if (m_state == State::Finished)
        return;
    if (m_state == State::Idle) {
        finish();
        return;
    }
    if (m_draining) {
        if (m_drainPhase == DrainPhase::Waiting)
            stopRemaining(u"the worker stopped it while draining (%1)"_s.arg(reason));
        return;
    }
    m_draining = true;
    m_drainReason = reason;
    m_drainPhase = DrainPhase::Waiting;
    qCDebug(lcAgent).noquote() << u"draining: %1"_s.arg(reason);
    if (canSend())
        m_connection->send(wire::encodeDrain(reason));
    QPointer<WorkerAgent> self(this);
    onRunner([self](TaskGate *gate) {
        const QList<TaskKey> keys = gate->takeQueued();
        const int held = gate->heldCount();
        if (self) {
            QMetaObject::invokeMethod(
                self.data(), [self, keys, held] { self->onQueuedTaken(keys, held); },
                Qt::QueuedConnection);
        }
    });
    m_drainTimer.start(m_config.drainTimeoutMs);
}

void WorkerAgent::onQueuedTaken(const QList<TaskKey> &keys, int held)
{
    m_queuedTaken = true;
    m_held = held;
    // Without a connection the server has already given these up (and a queued task is
    // cancelled on connection loss), so there is no one to hand them back to.
    returnTasks(keys);
    checkDrain();
}

void WorkerAgent::returnTasks(const QList<TaskKey> &keys)
{
    if (keys.isEmpty() || !canSend())
        return;
    QList<wire::KeyReason> out;
    out.reserve(keys.size());
    const QString reason = u"worker %1 is draining: %2"_s.arg(m_config.workerId, m_drainReason);
    for (const TaskKey &k : keys)
        out.append(wire::KeyReason{k, reason});
    m_connection->send(wire::encodeReturn(out));
}

void WorkerAgent::checkDrain()
{
    if ((m_drainPhase == DrainPhase::Waiting || m_drainPhase == DrainPhase::Stopping)
        && m_queuedTaken && m_held == 0) {
        beginFlush();
    }
}

void WorkerAgent::stopRemaining(const QString &reason)
{
    m_drainPhase = DrainPhase::Stopping;
    qCWarning(lcAgent).noquote() << u"stopping %1 running task(s): %2"_s.arg(m_held).arg(reason);
    onRunner([reason](TaskGate *gate) { gate->cancelAll(reason); });
    m_drainTimer.start(kStopGraceMs);
}

void WorkerAgent::beginFlush()
{
    if (m_drainPhase != DrainPhase::Flushing) {
        m_drainPhase = DrainPhase::Flushing;
        m_drainTimer.start(kFlushGraceMs);
    }
    if (!canSend()) {
        // Nothing waits to be said: do not hold the shutdown up for a server that is not there.
        if (m_outbox.isEmpty())
            finish();
        return; // otherwise delivered after the next registration, or given up at the deadline
    }
    m_heartbeatTimer.stop();
    // Reports were sent as they came while registered. Closing now could lose them: the
    // socket writes after close() returns, and the process exits right after. A heartbeat is a
    // barrier instead: the server handles messages in order, so its ack means it has read every
    // report sent before; then the connection is closed (and closed() ends the drain).
    m_flushBarrierTs = sendHeartbeat();
}

void WorkerAgent::finish()
{
    if (m_state == State::Finished)
        return;
    m_drainTimer.stop();
    m_reconnectTimer.stop();
    dropConnection(u"worker %1 stopped"_s.arg(m_config.workerId));
    if (!m_outbox.isEmpty()) {
        qCWarning(lcAgent).noquote()
            << u"%1 reports/log lines could not be delivered: no server reachable"_s.arg(
                   m_outbox.size());
    }
    if (m_held > 0)
        qCWarning(lcAgent).noquote() << u"%1 task(s) were still running at shutdown"_s.arg(m_held);
    m_drainPhase = DrainPhase::None;
    setState(State::Finished);
    emit finished();
}

} // namespace kairos::agent
