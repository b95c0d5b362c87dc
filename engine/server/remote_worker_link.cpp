#include "remote_worker_link.h"

#include <core/clock.h>
#include <protocol/connection.h>
#include <worker/container_wire.h>

#include <QLoggingCategory>
#include <QTimer>

namespace kairos::server {
namespace {

Q_LOGGING_CATEGORY(lcWorkerLink, "kairos.server.workerlink", QtWarningMsg)

// Remembered finished attempts per link, for late log lines (bounded memory per worker).
constexpr qsizetype kRecentAttempts = 4096;
// At most this many `error` replies per received message; the rest are summed up in one more.
constexpr qsizetype kMaxErrorsPerMessage = 16;
// Messages to a worker are split to about this much payload (its frame limit is 16 MiB).
constexpr qsizetype kMaxBatchBytes = 1 << 20;
// A `results` page is cut to this (one reply per message at most this big).
constexpr qsizetype kMaxPageBytes = 4 << 20;

} // namespace

RemoteWorkerLink::RemoteWorkerLink(protocol::Connection *connection, RemoteWorkerSettings settings,
                                   QObject *parent)
    : WorkerLink(parent)
    , m_connection(connection)
    , m_settings(std::move(settings))
    , m_app(connection->name())
    , m_peer(connection->peerAddress())
{
    connect(connection, &protocol::Connection::messageReceived, this, &RemoteWorkerLink::onMessage);
    connect(connection, &protocol::Connection::closed, this, &RemoteWorkerLink::onClosed);
    // Workers speak typed messages only; a request would otherwise wait for its timeout.
    connect(connection, &protocol::Connection::requestReceived, this,
            [this](qint64 id, const QString &method) {
                if (m_connection) {
                    m_connection->reply(id, makeError(tr("unknown method %1: a worker "
                                                         "connection accepts no requests")
                                                          .arg(method)));
                }
            });
    if (!connection->isReady()) {
        // Already closed (a race with the peer): nothing will ever come.
        QTimer::singleShot(0, this, [this] { onClosed(tr("the connection was already closed")); });
    }
}

RemoteWorkerLink::~RemoteWorkerLink() = default;

bool RemoteWorkerLink::isAlive() const
{
    return m_registered && !m_lost && m_state == WorkerState::Alive;
}

int RemoteWorkerLink::slotCount() const
{
    return m_registered ? 2 * m_registration.capacity : 0;
}

int RemoteWorkerLink::freeSlots() const
{
    if (!isAlive())
        return 0;
    return std::max(0, slotCount() - int(m_held.size()));
}

WorkerInfo RemoteWorkerLink::info() const
{
    WorkerInfo w;
    w.id = m_registration.workerId;
    w.app = m_app;
    w.address = m_registration.address;
    w.tags = m_registration.tags;
    w.capacity = m_registration.capacity;
    w.pid = m_registration.pid;
    w.version = m_registration.version;
    w.state = m_state;
    w.registeredAtMs = m_registeredAtMs;
    w.lastHeartbeatMs = m_lastHeartbeatMs;
    w.deadAtMs = m_deadAtMs;
    w.deadReason = m_deadReason;
    w.server = m_settings.serverId;
    w.metrics = m_metrics;
    return w;
}

QList<TaskKey> RemoteWorkerLink::heldKeys() const
{
    return m_held.keys();
}

qint64 RemoteWorkerLink::msSinceHeartbeat() const
{
    return m_sinceHeartbeat.isValid() ? m_sinceHeartbeat.elapsed() : 0;
}

qint64 RemoteWorkerLink::retryNotBeforeMs() const
{
    return m_lastHeartbeatMs + m_settings.leaseMs + kLeaseMarginMs;
}

QString RemoteWorkerLink::who() const
{
    return m_registered ? QStringLiteral("worker %1 (%2)").arg(m_registration.workerId, m_peer)
                        : QStringLiteral("worker connection from %1").arg(m_peer);
}

QString RemoteWorkerLink::describe(const TaskKey &key) const
{
    if (key.taskAttempt == 1)
        return QStringLiteral("(%1,%2,%3)").arg(key.instanceId).arg(key.attempt).arg(key.taskId);
    return QStringLiteral("(%1,%2,%3 run %4)")
        .arg(key.instanceId)
        .arg(key.attempt)
        .arg(key.taskId)
        .arg(key.taskAttempt);
}

// --- bookkeeping of held tasks ---------------------------------------------------------------

void RemoteWorkerLink::hold(const TaskKey &key, qint64 sentUs)
{
    if (m_held.contains(key))
        return;
    m_held.insert(key, sentUs);
    ++m_heldAttempts[{key.instanceId, key.attempt}];
}

void RemoteWorkerLink::release(const TaskKey &key)
{
    if (!m_held.remove(key))
        return;
    const AttemptKey attempt{key.instanceId, key.attempt};
    auto it = m_heldAttempts.find(attempt);
    if (it != m_heldAttempts.end() && --it.value() <= 0) {
        m_heldAttempts.erase(it);
        if (!m_recentAttempts.contains(attempt)) {
            m_recentAttempts.insert(attempt);
            m_recentOrder.push_back(attempt);
            if (qsizetype(m_recentOrder.size()) > kRecentAttempts) {
                m_recentAttempts.remove(m_recentOrder.front());
                m_recentOrder.pop_front();
            }
        }
    }
}

void RemoteWorkerLink::bindHeld(const QList<TaskKey> &keys)
{
    for (const TaskKey &k : keys)
        hold(k);
}

void RemoteWorkerLink::cancelStale(const QList<TaskKey> &keys, const QString &reason)
{
    if (keys.isEmpty() || !m_connection || m_lost)
        return;
    QList<wire::KeyReason> entries;
    QSet<AttemptKey> seen;
    for (const TaskKey &k : keys) {
        if (seen.contains({k.instanceId, k.attempt}))
            continue;
        seen.insert({k.instanceId, k.attempt});
        entries << wire::KeyReason{TaskKey{k.instanceId, k.attempt, -1, 1}, reason};
    }
    qCInfo(lcWorkerLink).noquote() << QStringLiteral("%1: stopping %2 stale run(s): %3")
                                          .arg(who())
                                          .arg(entries.size())
                                          .arg(reason);
    m_connection->send(wire::encodeCancel(entries));
}

// --- outgoing --------------------------------------------------------------------------------

void RemoteWorkerLink::dispatch(const QList<TaskSpec> &tasks)
{
    if (tasks.isEmpty())
        return;
    if (!isAlive() || !m_connection || !m_connection->isReady()) {
        // The dispatcher only picks live links, so this is a race with a loss in the same turn:
        // hand the tasks back so they are dispatched elsewhere instead of hanging DISPATCHED.
        QList<TaskKey> keys;
        for (const TaskSpec &t : tasks)
            keys << taskKeyOf(t);
        const QString reason = m_lost ? m_deadReason : tr("the worker is not accepting work");
        QTimer::singleShot(0, this, [this, keys, reason] { emit returned(keys, reason); });
        return;
    }
    const qint64 sentUs = nowUs();
    for (const TaskSpec &t : tasks)
        hold(taskKeyOf(t), sentUs);
    // Tasks are small, except the rare postProcess with every worker's result or big payloads:
    // only those make more than one message.
    for (const QList<TaskSpec> &part : wire::splitDispatchBatch(tasks, kMaxBatchBytes))
        m_connection->send(wire::encodeDispatch(part));
}

void RemoteWorkerLink::cancel(qint64 instanceId, int attempt, const QString &reason)
{
    if (!m_connection || m_lost)
        return;
    m_connection->send(
        wire::encodeCancel({wire::KeyReason{TaskKey{instanceId, attempt, -1, 1}, reason}}));
}

void RemoteWorkerLink::cancelTasks(const QList<TaskKey> &keys, const QString &reason)
{
    if (keys.isEmpty() || !m_connection || m_lost)
        return;
    QList<wire::KeyReason> entries;
    entries.reserve(keys.size());
    for (const TaskKey &k : keys) {
        if (k.taskId < 0)
            continue; // a whole attempt is cancel()'s job; never widen a per-run cancel
        entries << wire::KeyReason{k, reason};
    }
    if (!entries.isEmpty())
        m_connection->send(wire::encodeCancel(entries));
}

void RemoteWorkerLink::answer(const QList<TaskCallReply> &replies)
{
    QList<TaskCallReply> out;
    out.reserve(replies.size());
    for (const TaskCallReply &r : replies) {
        if (!m_pendingCalls.remove(r.callId)) {
            qCDebug(lcWorkerLink).noquote()
                << QStringLiteral("%1: reply to call %2 that is not waiting: dropped")
                       .arg(who())
                       .arg(r.callId);
            continue;
        }
        out.append(r);
        const qsizetype dropped = wire::fitResultsPage(out.last(), kMaxPageBytes);
        if (dropped > 0) {
            qCDebug(lcWorkerLink).noquote()
                << QStringLiteral("%1: results page of call %2 cut by %3 entries to fit a frame")
                       .arg(who())
                       .arg(r.callId)
                       .arg(dropped);
        }
    }
    if (out.isEmpty() || !m_connection || m_lost)
        return;
    for (const QList<TaskCallReply> &part : wire::splitCallReplyBatch(out, kMaxBatchBytes))
        m_connection->send(wire::encodeCallReply(part));
}

void RemoteWorkerLink::deployContainers(const QList<ContainerOrder> &orders)
{
    if (orders.isEmpty() || !m_connection || m_lost)
        return;
    m_connection->send(wire::encodeDeploy(orders));
}

void RemoteWorkerLink::answerFetches(const QList<FetchReply> &replies)
{
    QList<FetchReply> out;
    out.reserve(replies.size());
    for (const FetchReply &r : replies) {
        if (!m_pendingFetches.remove(r.fetchId)) {
            qCDebug(lcWorkerLink).noquote()
                << QStringLiteral("%1: reply to fetch %2 that is not waiting: dropped")
                       .arg(who())
                       .arg(r.fetchId);
            continue;
        }
        out.append(r);
    }
    sendFetchReplies(out);
}

void RemoteWorkerLink::sendFetchReplies(const QList<FetchReply> &replies)
{
    if (replies.isEmpty() || !m_connection || m_lost)
        return;
    // A download keeps up to kFetchWindow fetches of kMaxFetchBytes in flight: a few replies
    // per message keep each frame far below the limit.
    QList<FetchReply> part;
    qint64 bytes = 0;
    for (const FetchReply &r : replies) {
        if (!part.isEmpty() && bytes + r.data.size() > kMaxFetchReplyBytes) {
            m_connection->send(wire::encodeFetchReply(part));
            part.clear();
            bytes = 0;
        }
        part.append(r);
        bytes += r.data.size();
    }
    if (!part.isEmpty())
        m_connection->send(wire::encodeFetchReply(part));
}

void RemoteWorkerLink::sendError(const QString &reason)
{
    if (m_connection)
        m_connection->send(protocol::makeErrorMessage(reason));
}

void RemoteWorkerLink::sendErrors(const QStringList &errors)
{
    if (errors.isEmpty())
        return;
    qCWarning(lcWorkerLink).noquote()
        << QStringLiteral("%1 sent %2 malformed entr%3, first: %4")
               .arg(who())
               .arg(errors.size())
               .arg(errors.size() == 1 ? QStringLiteral("y") : QStringLiteral("ies"))
               .arg(errors.first());
    for (qsizetype i = 0; i < errors.size() && i < kMaxErrorsPerMessage; ++i)
        sendError(errors.at(i));
    if (errors.size() > kMaxErrorsPerMessage) {
        sendError(tr("%1 more malformed entries in the same message")
                      .arg(errors.size() - kMaxErrorsPerMessage));
    }
}

// --- incoming --------------------------------------------------------------------------------

void RemoteWorkerLink::onMessage(const protocol::Message &message)
{
    if (m_lost)
        return;
    const QString &type = message.type;
    if (type == protocol::msg::Error)
        return; // logged by the connection; never answered
    if (!m_registered) {
        if (type == wire::type::Register)
            return onRegister(message);
        return sendError(
            tr("expected 'register' as the first message of a worker, got '%1'").arg(type));
    }
    if (type == wire::type::Heartbeat)
        onHeartbeat(message);
    else if (type == wire::type::Status)
        onStatus(message);
    else if (type == wire::type::Logs)
        onLogs(message);
    else if (type == wire::type::Accept)
        onAccept(message);
    else if (type == wire::type::Return)
        onReturn(message);
    else if (type == wire::type::Drain)
        onDrain(message);
    else if (type == wire::type::Call)
        onCall(message);
    else if (type == wire::type::DeployStageMsg)
        onDeployStage(message);
    else if (type == wire::type::Fetch)
        onFetch(message);
    else if (type == wire::type::Want)
        onWant(message);
    else if (type == wire::type::Register)
        sendError(tr("this connection is already registered as worker '%1'")
                      .arg(m_registration.workerId));
    else if (m_connection)
        m_connection->replyUnknownType(message);
}

void RemoteWorkerLink::refuseRegistration(const QString &reason)
{
    qCWarning(lcWorkerLink).noquote()
        << QStringLiteral("refused registration from %1 (app '%2'): %3").arg(m_peer, m_app, reason);
    // A worker that cannot register can do nothing here; closing tells it at once (it logs the
    // error and retries with backoff) instead of leaving an idle connection open.
    sendError(reason);
    if (m_connection)
        m_connection->close(reason);
}

void RemoteWorkerLink::onRegister(const protocol::Message &message)
{
    auto reg = wire::decodeRegister(message);
    if (!reg.ok())
        return refuseRegistration(reg.error());
    if (reg->workerId.isEmpty())
        return refuseRegistration(tr("field 'id' of 'register' must not be empty"));
    if (reg->workerId == QLatin1String("local"))
        return refuseRegistration(
            tr("field 'id' of 'register': 'local' is reserved for the server's own worker"));
    m_registration = std::move(reg).value();
    if (m_registration.address.isEmpty()) {
        // No advertised address: the one it connected from ("10.0.0.7:40022" -> "10.0.0.7").
        QString host = m_peer.left(m_peer.lastIndexOf(u':'));
        if (host.startsWith(u'[') && host.endsWith(u']'))
            host = host.mid(1, host.size() - 2);
        m_registration.address = host.isEmpty() ? m_peer : host;
    }
    m_metrics = m_registration.metrics;
    m_registered = true;
    m_registeredAtMs = nowMs();
    m_lastHeartbeatMs = m_registeredAtMs;
    m_sinceHeartbeat.start();

    wire::RegisteredReply reply;
    reply.heartbeatMs = m_settings.heartbeatMs;
    reply.deadAfterMs = m_settings.deadAfterMs;
    reply.leaseMs = m_settings.leaseMs;
    reply.serverTimeMs = m_registeredAtMs;
    // Sent before anything the registration triggers (a dispatch), which is queued after it.
    m_connection->send(wire::encodeRegistered(reply));
    qCInfo(lcWorkerLink).noquote()
        << QStringLiteral("%1 registered: app '%2', capacity %3, %4 held task(s)")
               .arg(who(), m_app)
               .arg(m_registration.capacity)
               .arg(m_registration.held.size());
    emit registrationAccepted();
}

void RemoteWorkerLink::onHeartbeat(const protocol::Message &message)
{
    auto hb = wire::decodeHeartbeat(message);
    if (!hb.ok())
        return sendError(hb.error());
    m_lastHeartbeatMs = nowMs();
    m_sinceHeartbeat.restart();
    m_connection->send(wire::encodeHeartbeatAck(hb->ts));
    if (hb->metrics != m_metrics) {
        m_metrics = hb->metrics;
        emit changed();
    }
}

void RemoteWorkerLink::onStatus(const protocol::Message &message)
{
    const wire::Batch<TaskReport> batch = wire::decodeStatus(message);
    sendErrors(batch.errors);
    QList<TaskReport> accepted;
    accepted.reserve(batch.items.size());
    QList<qint64> latencies;
    for (const TaskReport &r : batch.items) {
        const TaskKey key = taskKeyOf(r);
        const auto held = m_held.constFind(key);
        if (held == m_held.cend()) {
            qCWarning(lcWorkerLink).noquote()
                << QStringLiteral("report from worker %1 on task %2 that was not dispatched to "
                                  "it: ignored")
                       .arg(m_registration.workerId, describe(key));
            continue;
        }
        if (isTerminal(r.status))
            release(key);
        else if (r.status != InstanceStatus::Running)
            continue; // the decoder admits only RUNNING and terminal statuses
        else if (r.timeUs > 0 && held.value() > 0)
            latencies << r.timeUs - held.value();
        accepted << r;
    }
    if (!latencies.isEmpty())
        emit startLatencies(latencies);
    if (!accepted.isEmpty())
        emit reports(accepted);
}

void RemoteWorkerLink::onLogs(const protocol::Message &message)
{
    const wire::Batch<LogLine> batch = wire::decodeLogs(message);
    sendErrors(batch.errors);
    QList<LogLine> accepted;
    accepted.reserve(batch.items.size());
    qsizetype dropped = 0;
    for (const LogLine &l : batch.items) {
        const AttemptKey attempt{l.instanceId, l.attempt};
        if (m_heldAttempts.contains(attempt) || m_recentAttempts.contains(attempt))
            accepted << l;
        else
            ++dropped;
    }
    if (dropped > 0) {
        qCWarning(lcWorkerLink).noquote()
            << QStringLiteral("%1 sent %2 log line(s) of runs that are not its own: ignored")
                   .arg(who())
                   .arg(dropped);
    }
    if (!accepted.isEmpty())
        emit logs(accepted);
}

void RemoteWorkerLink::onAccept(const protocol::Message &message)
{
    // Acceptance changes nothing on the server (the task is DISPATCHED until RUNNING); only the
    // message's shape is checked, so a broken agent is noticed.
    sendErrors(wire::decodeAccept(message).errors);
}

void RemoteWorkerLink::onReturn(const protocol::Message &message)
{
    const wire::Batch<wire::KeyReason> batch = wire::decodeReturn(message);
    sendErrors(batch.errors);
    // One returned() per distinct reason, in the order the reasons first appear.
    QList<std::pair<QString, QList<TaskKey>>> byReason;
    for (const wire::KeyReason &kr : batch.items) {
        if (!m_held.contains(kr.key)) {
            qCWarning(lcWorkerLink).noquote()
                << QStringLiteral("worker %1 returned task %2 that was not dispatched to it: "
                                  "ignored")
                       .arg(m_registration.workerId, describe(kr.key));
            continue;
        }
        release(kr.key);
        auto it = std::find_if(byReason.begin(), byReason.end(),
                               [&](const auto &e) { return e.first == kr.reason; });
        if (it == byReason.end())
            byReason.append({kr.reason, {kr.key}});
        else
            it->second << kr.key;
    }
    for (const auto &[reason, keys] : byReason)
        emit returned(keys, reason);
}

void RemoteWorkerLink::onCall(const protocol::Message &message)
{
    wire::CallBatch batch = wire::decodeCall(message);
    sendErrors(batch.errors);
    QList<TaskCallReply> refused = std::move(batch.refused);
    QList<TaskCall> accepted;
    accepted.reserve(batch.items.size());
    for (TaskCall &call : batch.items) {
        // Fenced like reports: only a run this worker holds may map or read results.
        if (!m_held.contains(call.key)) {
            qCWarning(lcWorkerLink).noquote()
                << QStringLiteral("call from worker %1 by task %2 that is not running there: "
                                  "refused")
                       .arg(m_registration.workerId, describe(call.key));
            refused.append(TaskCallReply{
                call.callId,
                tr("task %1 is not running on worker %2 (ended, superseded or never dispatched "
                   "to it): call refused")
                    .arg(describe(call.key), m_registration.workerId),
                {},
                false});
            continue;
        }
        if (m_pendingCalls.contains(call.callId)) {
            // Not answered: a reply with this id would be taken for the first call's.
            sendError(tr("field 'c' of 'call': call id %1 is already waiting for a reply; the "
                         "second call with it is ignored")
                          .arg(call.callId));
            continue;
        }
        m_pendingCalls.insert(call.callId);
        accepted.append(std::move(call));
    }
    if (!refused.isEmpty() && m_connection) {
        for (const QList<TaskCallReply> &part : wire::splitCallReplyBatch(refused, kMaxBatchBytes))
            m_connection->send(wire::encodeCallReply(part));
    }
    if (!accepted.isEmpty())
        emit calls(accepted);
}

void RemoteWorkerLink::onDeployStage(const protocol::Message &message)
{
    const wire::Batch<DeployStage> batch = wire::decodeDeployStage(message);
    sendErrors(batch.errors);
    if (!batch.items.isEmpty())
        emit deployStages(batch.items);
}

void RemoteWorkerLink::onFetch(const protocol::Message &message)
{
    const wire::Batch<FetchRequest> batch = wire::decodeFetch(message);
    sendErrors(batch.errors);
    QList<FetchRequest> accepted;
    QList<FetchReply> refused;
    for (const FetchRequest &r : batch.items) {
        if (m_pendingFetches.contains(r.fetchId)) {
            // Not answered: a reply with this id would be taken for the first fetch's.
            sendError(tr("field 'f' of 'fetch': fetch id %1 is already waiting for a reply; the "
                         "second fetch with it is ignored")
                          .arg(r.fetchId));
            continue;
        }
        if (m_pendingFetches.size() >= kMaxPendingFetches) {
            refused << FetchReply{r.fetchId,
                                  r.sha256,
                                  r.offset,
                                  {},
                                  tr("too many fetches waiting for their reply (%1): send the "
                                     "next one when one is answered")
                                      .arg(kMaxPendingFetches)};
            continue;
        }
        m_pendingFetches.insert(r.fetchId);
        accepted << r;
    }
    sendFetchReplies(refused);
    if (!accepted.isEmpty())
        emit fetchRequests(accepted);
}

void RemoteWorkerLink::onWant(const protocol::Message &message)
{
    const wire::Batch<QString> batch = wire::decodeWant(message);
    sendErrors(batch.errors);
    if (!batch.items.isEmpty())
        emit containersWanted(batch.items);
}

void RemoteWorkerLink::onDrain(const protocol::Message &message)
{
    auto reason = wire::decodeReason(message);
    if (!reason.ok())
        sendError(reason.error()); // still drained: the worker said it is leaving
    if (m_state == WorkerState::Draining)
        return;
    m_state = WorkerState::Draining;
    qCInfo(lcWorkerLink).noquote()
        << QStringLiteral("%1 is draining: %2").arg(who(), reason.ok() ? *reason : QString());
    emit changed();
}

void RemoteWorkerLink::onClosed(const QString &reason)
{
    if (m_lost)
        return;
    if (!m_registered) {
        m_lost = true;
        m_connection = nullptr;
        emit finished();
        return;
    }
    markLost(tr("connection closed: %1").arg(reason));
}

void RemoteWorkerLink::declareDead(const QString &reason)
{
    if (m_lost)
        return;
    if (m_connection) {
        // Stop listening first: closing emits closed() synchronously, and this is not that
        // case.
        disconnect(m_connection, nullptr, this, nullptr);
        if (m_connection->isReady())
            m_connection->send(wire::encodeDead(reason));
        m_connection->close(reason);
    }
    if (!m_registered) {
        m_lost = true;
        m_connection = nullptr;
        emit finished();
        return;
    }
    markLost(reason);
}

void RemoteWorkerLink::markLost(const QString &reason)
{
    m_lost = true;
    m_state = WorkerState::Dead;
    m_deadAtMs = nowMs();
    m_deadReason = reason;
    if (m_connection)
        disconnect(m_connection, nullptr, this, nullptr);
    m_connection = nullptr;
    qCWarning(lcWorkerLink).noquote()
        << QStringLiteral("%1 is DEAD: %2 (%3 task(s) held)").arg(who(), reason).arg(m_held.size());
    // The held set stays readable during lost(): the engine ends those runs.
    emit lost(reason, retryNotBeforeMs());
    emit finished();
}

} // namespace kairos::server
