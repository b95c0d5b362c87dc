#include "connection.h"

#include <QCoreApplication>
#include <QLoggingCategory>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTcpSocket>

#include <algorithm>
#include <limits>

namespace kairos::protocol {

Q_LOGGING_CATEGORY(lcConnection, "kairos.protocol.connection", QtWarningMsg)

namespace {

// Read at most this much per decoder step, so an oversized header is caught before a large body
// sitting in the socket buffer is copied.
constexpr qint64 kReadChunkBytes = 64 * 1024;
// Queued output above this size is written at once instead of at the end of the turn.
constexpr qsizetype kFlushThresholdBytes = 256 * 1024;
// After a graceful close, give the peer this long to take the last bytes before aborting.
constexpr int kGracefulCloseMs = 2000;

const QLatin1StringView kId("id");
const QLatin1StringView kMethod("m");
const QLatin1StringView kParams("p");
const QLatin1StringView kOk("ok");
const QLatin1StringView kResult("r");
const QLatin1StringView kErrorText("e");
const QLatin1StringView kTopic("topic");
const QLatin1StringView kData("d");
const QLatin1StringView kReason("reason");

QString formatPeer(const QTcpSocket *socket)
{
    QHostAddress address = socket->peerAddress();
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4); // unwraps ::ffff:a.b.c.d
    if (isV4)
        address = QHostAddress(v4);
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
                             ? QStringLiteral("[%1]").arg(address.toString())
                             : address.toString();
    return QStringLiteral("%1:%2").arg(host).arg(socket->peerPort());
}

bool looksLikeTls(const QByteArray &firstBytes)
{
    // A TLS record starts with content type 21 (alert) or 22 (handshake) and major version 3;
    // as a frame header that would announce over 350 MB, so no valid frame starts like this.
    return firstBytes.size() >= 2
           && (quint8(firstBytes[0]) == 0x15 || quint8(firstBytes[0]) == 0x16)
           && quint8(firstBytes[1]) == 0x03;
}

} // namespace

Connection::Connection(QObject *parent)
    : QObject(parent)
{
    m_clock.start();
    m_handshakeTimer.setSingleShot(true);
    connect(&m_handshakeTimer, &QTimer::timeout, this, &Connection::onHandshakeTimeout);
    m_requestTimer.setSingleShot(true);
    connect(&m_requestTimer, &QTimer::timeout, this, &Connection::onRequestTimer);
}

Connection::Connection(QTcpSocket *socket, std::shared_ptr<CredentialLookup> lookup,
                       ServerConnectionOptions options, QObject *parent)
    : Connection(parent)
{
    m_socket = socket;
    m_socket->setParent(this);
    m_peer = formatPeer(m_socket);
    m_maxFrameBytes = options.maxFrameBytes;
    m_handshakeTimeoutMs = options.handshakeTimeoutMs;
    m_serverHandshake =
        std::make_unique<ServerHandshake>(std::move(lookup), std::move(options.auth));
    m_state = State::Handshaking;
    setUpSocket();
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_socket->setSocketOption(QAbstractSocket::KeepAliveOption, 1);
    m_handshakeTimer.start(m_handshakeTimeoutMs);
    if (m_socket->state() != QAbstractSocket::ConnectedState) {
        // Accepted and already gone: close on the next turn so the creator can connect first.
        QMetaObject::invokeMethod(
            this,
            [this] { closeInternal(QStringLiteral("the peer closed the connection"), false); },
            Qt::QueuedConnection);
    } else if (m_socket->bytesAvailable() > 0) {
        QMetaObject::invokeMethod(this, &Connection::onReadyRead, Qt::QueuedConnection);
    }
}

Connection::~Connection()
{
    // Honour the exactly-once contract for callers still waiting.
    m_state = State::Closed;
    failAllPending(QStringLiteral("connection closed: the connection object was destroyed"));
}

void Connection::setProtocolVersion(int version)
{
    m_protocolVersion = version;
}
void Connection::setHandshakeTimeout(int ms)
{
    m_handshakeTimeoutMs = ms;
}
void Connection::setMaxFrameBytes(qsizetype bytes)
{
    m_maxFrameBytes = bytes;
}
void Connection::setHelloExtra(const QCborMap &fields)
{
    m_helloExtra = fields;
}

void Connection::setUpSocket()
{
    connect(m_socket, &QTcpSocket::readyRead, this, &Connection::onReadyRead);
    connect(m_socket, &QTcpSocket::disconnected, this, &Connection::onDisconnected);
    connect(m_socket, &QAbstractSocket::errorOccurred, this, &Connection::onSocketError);
    if (auto *ssl = qobject_cast<QSslSocket *>(m_socket)) {
        connect(ssl, &QSslSocket::sslErrors, this, [this, ssl](const QList<QSslError> &errors) {
            if (!isServerSide() && !m_tls.verifyPeer) {
                ssl->ignoreSslErrors();
                return;
            }
            QStringList texts;
            for (const QSslError &e : errors)
                texts << e.errorString();
            m_sslErrors = texts.join(QStringLiteral("; "));
        });
    }
}

void Connection::connectToServer(const QString &host, quint16 port, const QString &role,
                                 const QString &name, const QString &secret, const TlsOptions &tls)
{
    if (m_state != State::Unconnected || isServerSide()) {
        qCWarning(lcConnection) << "connectToServer() ignored: a Connection is used only once";
        return;
    }
    m_state = State::Connecting;
    m_tls = tls;
    m_peer = QStringLiteral("%1:%2").arg(host).arg(port);
    m_role = role;
    m_name = name;
    m_clientHandshake =
        std::make_unique<ClientHandshake>(role, name, secret, m_protocolVersion, m_helloExtra);
    m_handshakeTimer.start(m_handshakeTimeoutMs);

    if (!tls.enabled) {
        m_socket = new QTcpSocket(this);
        setUpSocket();
        connect(m_socket, &QTcpSocket::connected, this, &Connection::onConnected);
        m_socket->connectToHost(host, port);
        return;
    }

    auto *ssl = new QSslSocket(this);
    m_socket = ssl;
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setProtocol(QSsl::TlsV1_2OrLater);
    config.setPeerVerifyMode(tls.verifyPeer ? QSslSocket::VerifyPeer : QSslSocket::VerifyNone);
    if (!tls.caCertificateFile.isEmpty()) {
        const QList<QSslCertificate> cas = QSslCertificate::fromPath(tls.caCertificateFile);
        if (cas.isEmpty()) {
            QMetaObject::invokeMethod(
                this,
                [this, file = tls.caCertificateFile] {
                    closeInternal(QStringLiteral("cannot read a PEM certificate from the TLS CA "
                                                 "file '%1'")
                                      .arg(file),
                                  false);
                },
                Qt::QueuedConnection);
            return;
        }
        config.setCaCertificates(cas);
    }
    ssl->setSslConfiguration(config);
    setUpSocket();
    connect(ssl, &QSslSocket::encrypted, this, &Connection::onConnected);
    ssl->connectToHostEncrypted(host, port,
                                tls.peerVerifyName.isEmpty() ? host : tls.peerVerifyName);
}

void Connection::onConnected()
{
    if (m_state != State::Connecting)
        return;
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_socket->setSocketOption(QAbstractSocket::KeepAliveOption, 1);
    m_state = State::Handshaking;
    enqueue(m_clientHandshake->start());
    flush();
}

void Connection::onReadyRead()
{
    if (m_state == State::Closed || m_state == State::Unconnected || !m_socket)
        return;
    const QPointer<Connection> self(this);
    for (;;) {
        while (std::optional<Message> message = m_decoder.next()) {
            handleMessage(*message);
            if (!self || m_state == State::Closed)
                return;
        }
        if (m_decoder.hasError()) {
            protocolError(m_decoder.errorString());
            return;
        }
        if (m_socket->bytesAvailable() <= 0)
            return;
        const QByteArray chunk = m_socket->read(kReadChunkBytes);
        if (m_bytesReceived == 0 && !qobject_cast<QSslSocket *>(m_socket) && looksLikeTls(chunk)) {
            protocolError(isServerSide()
                              ? QStringLiteral("the peer started a TLS handshake, but this "
                                               "listener is not configured for TLS")
                              : QStringLiteral("the server answered with TLS; connect with TLS "
                                               "enabled"));
            return;
        }
        m_bytesReceived += chunk.size();
        m_decoder.append(chunk);
    }
}

void Connection::handleMessage(const Message &message)
{
    if (m_state == State::Handshaking) {
        if (isServerSide())
            handleServerHandshake(message);
        else
            handleClientHandshake(message);
        return;
    }
    if (m_state != State::Ready)
        return;
    if (message.type == msg::Request)
        handleRequest(message);
    else if (message.type == msg::Response)
        handleResponse(message);
    else if (message.type == msg::Event)
        handleEvent(message);
    else {
        if (message.type == msg::Error) {
            m_lastPeerError = message.text(kReason).left(1000);
            qCWarning(lcConnection).noquote()
                << QStringLiteral("%1 reported an error: %2").arg(who(), m_lastPeerError);
        }
        emit messageReceived(message);
    }
}

void Connection::handleServerHandshake(const Message &message)
{
    ServerHandshake::Step step = m_serverHandshake->handle(message);
    if (step.reply)
        enqueue(*step.reply);
    switch (m_serverHandshake->state()) {
    case ServerHandshake::State::Refused: {
        const QString role = m_serverHandshake->role();
        const QString name = m_serverHandshake->name();
        const QString line =
            name.isEmpty()
                ? QStringLiteral("refused connection from %1: %2").arg(m_peer, step.refusal)
                : QStringLiteral("refused login of %1 '%2' from %3: %4")
                      .arg(role, name, m_peer, step.refusal);
        qCWarning(lcConnection).noquote() << line;
        closeInternal(step.refusal, true);
        return;
    }
    case ServerHandshake::State::Authenticated:
        m_state = State::Ready;
        m_handshakeTimer.stop();
        m_role = m_serverHandshake->role();
        m_name = m_serverHandshake->name();
        m_protocolVersion = m_serverHandshake->protocolVersion();
        m_peerInfo = m_serverHandshake->hello();
        m_decoder.setMaxFrameBytes(m_maxFrameBytes);
        qCInfo(lcConnection).noquote()
            << QStringLiteral("%1 %2 '%3' logged in").arg(m_peer, m_role, m_name);
        flush();
        emit authenticated(m_role, m_name);
        return;
    case ServerHandshake::State::AwaitHello:
    case ServerHandshake::State::AwaitAuth:
        flush();
        return;
    }
}

void Connection::handleClientHandshake(const Message &message)
{
    Result<std::optional<Message>> step = m_clientHandshake->handle(message);
    if (!step) {
        closeInternal(step.error(), true);
        return;
    }
    if (step->has_value()) {
        enqueue(**step);
        flush();
    }
    if (m_clientHandshake->state() == ClientHandshake::State::Done) {
        m_state = State::Ready;
        m_handshakeTimer.stop();
        m_peerInfo = m_clientHandshake->welcome();
        m_decoder.setMaxFrameBytes(m_maxFrameBytes);
        m_clientHandshake.reset(); // nothing of the secret is needed any more
        emit ready();
    }
}

void Connection::handleRequest(const Message &message)
{
    const auto id = message.requireInteger(kId);
    const auto method = message.requireText(kMethod);
    const QCborValue params = message.value(kParams);
    if (!id || !method || !(params.isMap() || params.isUndefined() || params.isNull())) {
        const QString reason = !id ? id.error()
                               : !method
                                   ? method.error()
                                   : QStringLiteral("field 'p' of 'req' must be a map, got %1")
                                         .arg(cborTypeName(params));
        qCWarning(lcConnection).noquote()
            << QStringLiteral("malformed request from %1: %2").arg(who(), reason);
        if (id)
            reply(*id, makeError(reason));
        else
            send(makeErrorMessage(reason));
        return;
    }
    emit requestReceived(*id, *method, params.toMap());
}

void Connection::handleResponse(const Message &message)
{
    const auto id = message.requireInteger(kId);
    if (!id) {
        qCWarning(lcConnection).noquote()
            << QStringLiteral("malformed response from %1: %2").arg(who(), id.error());
        return;
    }
    auto it = m_pending.find(*id);
    if (it == m_pending.end()) {
        // A late answer to a request that already timed out.
        qCDebug(lcConnection) << "response to unknown request" << *id << "from" << m_peer;
        return;
    }
    Pending pending = std::move(it->second);
    m_pending.erase(it);
    m_deadlines.erase({pending.deadlineMs, *id});
    armRequestTimer();
    if (message.boolean(kOk)) {
        complete(pending, message.map(kResult));
    } else {
        const QString error = message.text(kErrorText);
        complete(pending, makeError(error.isEmpty() ? QStringLiteral("request '%1' failed without "
                                                                     "a reason")
                                                          .arg(pending.method)
                                                    : error));
    }
}

void Connection::handleEvent(const Message &message)
{
    const auto topic = message.requireText(kTopic);
    if (!topic) {
        qCWarning(lcConnection).noquote()
            << QStringLiteral("malformed event from %1: %2").arg(who(), topic.error());
        send(makeErrorMessage(topic.error()));
        return;
    }
    emit eventReceived(*topic, message.value(kData));
}

void Connection::send(const Message &message)
{
    if (m_state != State::Ready) {
        qCWarning(lcConnection).noquote()
            << QStringLiteral("dropping '%1' to %2: the connection is not ready")
                   .arg(message.type, m_peer);
        return;
    }
    enqueue(message);
}

void Connection::request(const QString &method, const QCborMap &params, QObject *context,
                         ReplyCallback onReply, int timeoutMs)
{
    if (!onReply)
        return;
    Pending pending;
    pending.method = method;
    pending.context = context;
    pending.hasContext = context != nullptr;
    pending.onReply = std::move(onReply);
    pending.timeoutMs = timeoutMs;
    const qint64 id = m_nextRequestId++;
    if (m_state != State::Ready) {
        pending.immediateError =
            m_state == State::Closed
                ? QStringLiteral("request '%1' failed: connection closed (%2)")
                      .arg(method, m_closeReason)
                : QStringLiteral("request '%1' failed: the connection is not ready").arg(method);
        pending.deadlineMs = m_clock.elapsed();
        addPending(id, std::move(pending));
        return;
    }
    QCborMap req;
    req.insert(kId, id);
    req.insert(kMethod, method);
    req.insert(kParams, params);
    enqueue(Message(QString(msg::Request), std::move(req)));
    pending.deadlineMs = m_clock.elapsed() + qMax(0, timeoutMs);
    addPending(id, std::move(pending));
}

void Connection::reply(qint64 id, const Result<QCborMap> &result)
{
    QCborMap res;
    res.insert(kId, id);
    res.insert(kOk, result.ok());
    if (result.ok())
        res.insert(kResult, result.value());
    else
        res.insert(kErrorText, result.error());
    send(Message(QString(msg::Response), std::move(res)));
}

void Connection::sendEvent(const QString &topic, const QCborValue &data)
{
    QCborMap evt;
    evt.insert(kTopic, topic);
    evt.insert(kData, data);
    send(Message(QString(msg::Event), std::move(evt)));
}

void Connection::replyUnknownType(const Message &message)
{
    // Answering an `error` would let two peers that both use this helper bounce errors forever.
    if (message.type == msg::Error)
        return;
    send(makeUnknownTypeError(message.type));
}

void Connection::close(const QString &reason)
{
    closeInternal(reason, true);
}

void Connection::protocolError(const QString &reason)
{
    qCWarning(lcConnection).noquote()
        << QStringLiteral("closing connection from %1: %2").arg(who(), reason);
    // Tell the peer why (if it still speaks the protocol); the stream itself is unusable.
    m_outBuffer.clear();
    appendFrame(m_outBuffer, makeErrorMessage(reason));
    closeInternal(reason, true);
}

void Connection::onSocketError()
{
    if (m_state == State::Closed)
        return;
    // Take what the peer sent before it went away: a refusal explains the disconnect.
    onReadyRead();
    if (m_state == State::Closed)
        return;
    QString reason;
    const auto error = m_socket->error();
    if (error == QAbstractSocket::RemoteHostClosedError) {
        reason = m_state == State::Ready ? peerClosedReason() : closedDuringHandshakeReason();
    } else if (isServerSide()) {
        reason = m_sslErrors.isEmpty() ? m_socket->errorString() : m_sslErrors;
        if (error == QAbstractSocket::SslHandshakeFailedError)
            reason = QStringLiteral("TLS handshake failed: %1").arg(reason);
    } else if (m_state == State::Connecting) {
        reason = QStringLiteral("cannot connect to %1: %2")
                     .arg(m_peer, m_sslErrors.isEmpty() ? m_socket->errorString() : m_sslErrors);
    } else {
        reason = QStringLiteral("connection to %1 failed: %2")
                     .arg(m_peer, m_sslErrors.isEmpty() ? m_socket->errorString() : m_sslErrors);
    }
    if (isServerSide() && m_state != State::Ready)
        qCWarning(lcConnection).noquote()
            << QStringLiteral("closing connection from %1: %2").arg(m_peer, reason);
    closeInternal(reason, false);
}

void Connection::onDisconnected()
{
    if (m_state == State::Closed)
        return;
    onReadyRead();
    if (m_state == State::Closed)
        return;
    closeInternal(m_state == State::Ready ? peerClosedReason() : closedDuringHandshakeReason(),
                  false);
}

void Connection::onHandshakeTimeout()
{
    if (m_state == State::Ready || m_state == State::Closed)
        return;
    const QString reason =
        isServerSide()
            ? QStringLiteral("handshake not finished within %1 ms").arg(m_handshakeTimeoutMs)
            : QStringLiteral("no welcome from %1 within %2 ms")
                  .arg(m_peer)
                  .arg(m_handshakeTimeoutMs);
    if (isServerSide())
        qCWarning(lcConnection).noquote()
            << QStringLiteral("closing connection from %1: %2").arg(m_peer, reason);
    closeInternal(reason, false);
}

void Connection::closeInternal(const QString &reason, bool graceful)
{
    if (m_state == State::Closed)
        return;
    const bool wasReady = m_state == State::Ready;
    m_state = State::Closed;
    m_closeReason = reason;
    m_handshakeTimer.stop();
    m_requestTimer.stop();
    m_clientHandshake.reset();
    if (m_socket) {
        disconnect(m_socket, nullptr, this, nullptr);
        if (graceful && m_socket->state() == QAbstractSocket::ConnectedState) {
            // The last bytes (a refusal, an error reason) leave asynchronously, so the socket must
            // outlive this Connection, which is often deleted right after closed(): it is
            // detached and deletes itself once the peer has the data, or after a grace period.
            QTcpSocket *socket = m_socket;
            socket->setParent(nullptr);
            connect(socket, &QAbstractSocket::disconnected, socket, &QObject::deleteLater);
            QTimer::singleShot(kGracefulCloseMs, socket, [socket] {
                socket->abort();
                socket->deleteLater();
            });
            if (!m_outBuffer.isEmpty())
                socket->write(m_outBuffer);
            socket->disconnectFromHost();
            m_socket = nullptr;
        } else {
            m_socket->abort();
        }
    }
    m_outBuffer.clear();

    const QPointer<Connection> self(this);
    failAllPending(QStringLiteral("connection closed (%1)").arg(reason));
    if (!self)
        return;
    if (!isServerSide() && !wasReady) {
        emit failed(reason);
        if (!self)
            return;
    }
    emit closed(reason);
}

void Connection::enqueue(const Message &message)
{
    appendFrame(m_outBuffer, message);
    if (m_outBuffer.size() >= kFlushThresholdBytes)
        flush();
    else
        scheduleFlush();
}

void Connection::scheduleFlush()
{
    if (m_flushScheduled)
        return;
    m_flushScheduled = true;
    QMetaObject::invokeMethod(this, &Connection::flush, Qt::QueuedConnection);
}

void Connection::flush()
{
    m_flushScheduled = false;
    if (m_outBuffer.isEmpty() || !m_socket || m_state == State::Closed
        || m_state == State::Connecting)
        return;
    m_socket->write(m_outBuffer);
    m_outBuffer.clear();
}

void Connection::addPending(qint64 id, Pending pending)
{
    m_deadlines.emplace(pending.deadlineMs, id);
    m_pending.emplace(id, std::move(pending));
    armRequestTimer();
}

void Connection::armRequestTimer()
{
    if (m_deadlines.empty()) {
        m_requestTimer.stop();
        return;
    }
    const qint64 wait = m_deadlines.begin()->first - m_clock.elapsed();
    m_requestTimer.start(int(std::clamp<qint64>(wait, 0, std::numeric_limits<int>::max())));
}

void Connection::onRequestTimer()
{
    const qint64 now = m_clock.elapsed();
    std::vector<Pending> expired;
    while (!m_deadlines.empty() && m_deadlines.begin()->first <= now) {
        const qint64 id = m_deadlines.begin()->second;
        m_deadlines.erase(m_deadlines.begin());
        auto it = m_pending.find(id);
        if (it == m_pending.end())
            continue;
        expired.push_back(std::move(it->second));
        m_pending.erase(it);
    }
    armRequestTimer();
    // `expired` is local, so a callback that deletes this connection does not disturb the loop.
    for (Pending &pending : expired) {
        const QString error = !pending.immediateError.isEmpty()
                                  ? pending.immediateError
                                  : QStringLiteral("request '%1' timed out after %2 ms")
                                        .arg(pending.method)
                                        .arg(pending.timeoutMs);
        complete(pending, makeError(error));
    }
}

void Connection::failAllPending(const QString &reason)
{
    if (m_pending.empty())
        return;
    std::map<qint64, Pending> pending;
    pending.swap(m_pending);
    m_deadlines.clear();
    m_requestTimer.stop();
    for (auto &[id, p] : pending) {
        Q_UNUSED(id)
        complete(p,
                 makeError(!p.immediateError.isEmpty()
                               ? p.immediateError
                               : QStringLiteral("request '%1' failed: %2").arg(p.method, reason)));
    }
}

void Connection::complete(Pending &pending, Result<QCborMap> result)
{
    if (pending.hasContext && !pending.context)
        return; // the caller is gone; its callback would touch freed memory
    ReplyCallback callback = std::move(pending.onReply);
    if (callback)
        callback(std::move(result));
}

QString Connection::peerClosedReason() const
{
    // A peer that hangs up because of something we sent says why just before (error {reason}).
    if (!m_lastPeerError.isEmpty())
        return QStringLiteral("the peer closed the connection after reporting: %1")
            .arg(m_lastPeerError);
    return QStringLiteral("the peer closed the connection");
}

QString Connection::closedDuringHandshakeReason() const
{
    // A plain client talking to a TLS listener sees exactly this, so say what usually helps.
    if (!isServerSide() && !m_tls.enabled)
        return QStringLiteral("the server closed the connection during the handshake (if it "
                              "requires TLS, connect with TLS enabled)");
    return QStringLiteral("the peer closed the connection during the handshake");
}

QString Connection::who() const
{
    if (m_name.isEmpty())
        return m_peer;
    return QStringLiteral("%1 (%2 '%3')").arg(m_peer, m_role, m_name);
}

} // namespace kairos::protocol
