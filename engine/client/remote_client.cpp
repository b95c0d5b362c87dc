#include "remote_client.h"

#include <QCborArray>
#include <QJsonArray>
#include <QRandomGenerator>

namespace kairos::client {

Result<RemoteEndpoint> RemoteEndpoint::parseAddress(const QString &address, bool allowPortZero)
{
    RemoteEndpoint ep;
    const int colon = address.lastIndexOf(u':');
    if (colon <= 0) {
        return makeError(QObject::tr("server: expected HOST:PORT (for example 127.0.0.1:7070), "
                                     "got \"%1\"")
                             .arg(address));
    }
    QString host = address.left(colon);
    if (host.startsWith(u'[') && host.endsWith(u']'))
        host = host.mid(1, host.size() - 2);
    bool ok = false;
    const uint port = address.mid(colon + 1).toUInt(&ok);
    if (!ok || (port == 0 && !allowPortZero) || port > 65535) {
        return makeError(QObject::tr("server: the port in \"%1\" must be a number from %2 to 65535")
                             .arg(address)
                             .arg(allowPortZero ? 0 : 1));
    }
    ep.host = host;
    ep.port = quint16(port);
    return ep;
}

RemoteClient::RemoteClient(RemoteEndpoint endpoint, QObject *parent)
    : Client(parent)
    , m_endpoint(std::move(endpoint))
{
    m_reconnect.setSingleShot(true);
    connect(&m_reconnect, &QTimer::timeout, this, &RemoteClient::connectNow);
}

RemoteClient::~RemoteClient()
{
    m_closing = true;
    delete m_connection.data();
}

QString RemoteClient::endpoint() const
{
    return QStringLiteral("%1:%2").arg(m_endpoint.host).arg(m_endpoint.port);
}

void RemoteClient::open(bool autoReconnect)
{
    m_autoReconnect = autoReconnect;
    m_closing = false;
    connectNow();
}

void RemoteClient::close()
{
    m_closing = true;
    m_reconnect.stop();
    if (m_connection)
        m_connection->close(tr("closed by the user"));
}

void RemoteClient::setState(LinkState state, const QString &detail)
{
    m_state = state;
    emit linkStateChanged(state, detail);
}

void RemoteClient::connectNow()
{
    if (m_connection)
        return;
    auto *conn = new protocol::Connection(this);
    m_connection = conn;
    setState(LinkState::Connecting, endpoint());
    connect(conn, &protocol::Connection::ready, this, [this] {
        m_backoffMs = 250;
        m_lastError.clear();
        setState(LinkState::Connected, endpoint());
        if (!m_topics.isEmpty())
            subscribe(m_topics, m_logsOfInstance);
    });
    connect(conn, &protocol::Connection::failed, this,
            [this](const QString &reason) { m_lastError = reason; });
    connect(conn, &protocol::Connection::eventReceived, this, &RemoteClient::onEvent);
    connect(conn, &protocol::Connection::messageReceived, conn,
            &protocol::Connection::replyUnknownType);
    connect(conn, &protocol::Connection::closed, this, [this, conn](const QString &reason) {
        if (m_lastError.isEmpty())
            m_lastError = reason;
        conn->deleteLater();
        setState(LinkState::Disconnected, m_lastError);
        if (m_autoReconnect && !m_closing) {
            // Exponential backoff with jitter, so many consoles do not reconnect in lockstep.
            const int jitter = QRandomGenerator::global()->bounded(m_backoffMs / 2 + 1);
            m_reconnect.start(m_backoffMs + jitter);
            m_backoffMs = std::min(m_backoffMs * 2, 10000);
        }
    });
    conn->connectToServer(m_endpoint.host, m_endpoint.port, QStringLiteral("admin"),
                          m_endpoint.user, m_endpoint.password, m_endpoint.tls);
}

void RemoteClient::call(const QString &method, const QJsonObject &params, QObject *context,
                        Reply reply)
{
    if (!m_connection || !m_connection->isReady()) {
        const QString why = m_lastError.isEmpty() ? tr("not connected") : m_lastError;
        QPointer<QObject> guard(context);
        const bool hasContext = context != nullptr;
        QMetaObject::invokeMethod(
            this,
            [guard, hasContext, reply, why, ep = endpoint()] {
                if (hasContext && !guard)
                    return;
                reply(makeError(tr("cannot reach %1: %2").arg(ep, why)));
            },
            Qt::QueuedConnection);
        return;
    }
    m_connection->request(method, QCborMap::fromJsonObject(params), context,
                          [reply](Result<QCborMap> result) {
                              if (!result.ok())
                                  return reply(makeError(result.error()));
                              reply(result->toJsonObject());
                          });
}

void RemoteClient::subscribe(const QStringList &topics, qint64 logsOfInstance)
{
    m_topics = topics;
    m_logsOfInstance = logsOfInstance;
    if (!m_connection || !m_connection->isReady())
        return; // done on the next connect
    QJsonObject params{{QStringLiteral("topics"), QJsonArray::fromStringList(topics)}};
    if (logsOfInstance)
        params[QStringLiteral("instanceId")] = logsOfInstance;
    m_connection->request(QStringLiteral("events.subscribe"), QCborMap::fromJsonObject(params),
                          this, [this](Result<QCborMap> r) {
                              if (!r.ok())
                                  m_lastError = r.error();
                          });
}

void RemoteClient::onEvent(const QString &topic, const QCborValue &data)
{
    const QJsonObject o = data.toMap().toJsonObject();
    if (topic == QLatin1String("instances")) {
        QList<Instance> list;
        for (const QJsonValue &v : o.value(QStringLiteral("instances")).toArray())
            list << instanceFromJson(v.toObject());
        emit instancesChanged(list);
    } else if (topic == QLatin1String("logs")) {
        QList<LogLine> lines;
        for (const QJsonValue &v : o.value(QStringLiteral("lines")).toArray())
            lines << logLineFromJson(v.toObject());
        emit logsAppended(lines);
    } else if (topic == QLatin1String("job")) {
        auto job = jobFromJson(o.value(QStringLiteral("job")).toObject());
        if (job.ok())
            emit jobChanged(*job);
    } else if (topic == QLatin1String("jobRemoved")) {
        emit jobRemoved(o.value(QStringLiteral("id")).toInteger());
    } else if (topic == QLatin1String("tasks")) {
        QList<TaskProgress> events;
        for (const QJsonValue &v : o.value(QStringLiteral("events")).toArray())
            events << taskProgressFromJson(v.toObject());
        if (!events.isEmpty())
            emit taskProgress(events);
    } else if (topic == QLatin1String("containers")) {
        // {stages: [DeployStage]} and/or {changed: [name]}; an unreadable stage is skipped.
        QList<DeployStage> stages;
        for (const QJsonValue &v : o.value(QStringLiteral("stages")).toArray()) {
            if (auto stage = DeployStage::fromJson(v.toObject()); stage.ok())
                stages << *stage;
        }
        if (!stages.isEmpty())
            emit deployStages(stages);
        QStringList changed;
        for (const QJsonValue &v : o.value(QStringLiteral("changed")).toArray()) {
            if (v.isString())
                changed << v.toString();
        }
        if (!changed.isEmpty())
            emit containersChanged(changed);
    } else if (topic == QLatin1String("workers")) {
        QList<WorkerInfo> workers;
        for (const QJsonValue &v : o.value(QStringLiteral("workers")).toArray()) {
            if (auto w = workerFromJson(v.toObject()); w.ok())
                workers << *w;
        }
        if (!workers.isEmpty())
            emit workersChanged(workers);
    }
}

} // namespace kairos::client
