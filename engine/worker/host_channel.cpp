#include "host_channel.h"

#include "wire.h"

#include <protocol/frame.h>

#include <QCborArray>
#include <QLocalSocket>
#include <QLoggingCategory>
#include <QPointer>

Q_LOGGING_CATEGORY(lcHostChannel, "kairos.worker.hostchannel", QtWarningMsg)

namespace kairos {

namespace hostmsg {

namespace {
const QLatin1StringView kPid{"pid"};
const QLatin1StringView kProcessors{"processors"};
const QLatin1StringView kReason{"reason"};
} // namespace

protocol::Message encodeHello(const HostHello &hello)
{
    QCborArray names;
    for (const QString &n : hello.processors)
        names.append(n);
    return protocol::Message(QString(Hello)).with(kPid, hello.pid).with(kProcessors, names);
}

Result<HostHello> decodeHello(const protocol::Message &m)
{
    HostHello hello;
    Result<qint64> pid = m.requireInteger(kPid);
    if (!pid)
        return makeError(pid.error());
    hello.pid = *pid;
    const QCborValue list = m.value(kProcessors);
    if (list.isUndefined())
        return makeError(QStringLiteral("field 'processors' of '%1' is missing; expected an array "
                                        "of names")
                             .arg(m.type));
    if (!list.isArray())
        return makeError(
            QStringLiteral("field 'processors' of '%1' must be an array of names, got %2")
                .arg(m.type, protocol::cborTypeName(list)));
    const QCborArray names = list.toArray();
    for (qsizetype i = 0; i < names.size(); ++i) {
        const QCborValue v = names.at(i);
        if (!v.isString())
            return makeError(QStringLiteral("field 'processors[%1]' of '%2' must be a text string, "
                                            "got %3")
                                 .arg(i)
                                 .arg(m.type, protocol::cborTypeName(v)));
        hello.processors << v.toString();
    }
    return hello;
}

protocol::Message encodeLoadFailed(const QString &reason)
{
    return protocol::Message(QString(LoadFailed)).with(kReason, reason);
}

Result<QString> decodeLoadFailed(const protocol::Message &m)
{
    return m.requireText(kReason);
}

// `released` has the body of the worker protocol's `accept`: {tasks: [KEY]}.
protocol::Message encodeReleased(const QList<TaskKey> &keys)
{
    protocol::Message m = wire::encodeAccept(keys);
    m.type = QString(Released);
    return m;
}

Result<QList<TaskKey>> decodeReleased(const protocol::Message &m)
{
    wire::Batch<TaskKey> batch = wire::decodeAccept(m);
    if (!batch.errors.isEmpty())
        return makeError(batch.errors.first());
    return batch.items;
}

protocol::Message encodeQuit()
{
    return protocol::Message(QString(Quit));
}

} // namespace hostmsg

namespace {
// Read at most this much per decoder step (like protocol::Connection), so an oversized header is
// refused before a large body is copied.
constexpr qint64 kReadChunkBytes = 64 * 1024;
} // namespace

struct HostChannel::Impl {
    QLocalSocket *socket = nullptr;
    protocol::FrameDecoder decoder;
    bool closing = false; // close() called or the peer went away: no more input or output
    bool closedEmitted = false;
};

HostChannel::HostChannel(QLocalSocket *socket, QObject *parent)
    : QObject(parent)
    , m_impl(std::make_unique<Impl>())
{
    m_impl->socket = socket;
    socket->setParent(this);
    connect(socket, &QLocalSocket::readyRead, this, [this] {
        const QPointer<HostChannel> self(this);
        while (self && !m_impl->closing) {
            while (std::optional<protocol::Message> message = m_impl->decoder.next()) {
                emit messageReceived(*message);
                if (!self || m_impl->closing)
                    return;
            }
            if (m_impl->decoder.hasError()) {
                const QString reason = m_impl->decoder.errorString();
                qCWarning(lcHostChannel) << "closing the container host channel:" << reason;
                emit errorOccurred(reason);
                if (self)
                    close();
                return;
            }
            if (m_impl->socket->bytesAvailable() <= 0)
                return;
            m_impl->decoder.append(m_impl->socket->read(kReadChunkBytes));
        }
    });
    const auto gone = [this] {
        m_impl->closing = true;
        if (m_impl->closedEmitted)
            return;
        m_impl->closedEmitted = true;
        emit closed();
    };
    connect(socket, &QLocalSocket::disconnected, this, gone);
    connect(socket, &QLocalSocket::errorOccurred, this,
            [this, gone](QLocalSocket::LocalSocketError) {
                if (m_impl->socket->state() == QLocalSocket::UnconnectedState)
                    gone();
            });
    if (socket->state() != QLocalSocket::ConnectedState)
        m_impl->closing = true; // closed() follows from the socket's own signals, if at all
    else if (socket->bytesAvailable() > 0)
        QMetaObject::invokeMethod(socket, &QLocalSocket::readyRead, Qt::QueuedConnection);
}

HostChannel::~HostChannel()
{
    // No signals from a half-destroyed channel.
    m_impl->socket->disconnect(this);
    m_impl->socket->abort();
}

void HostChannel::send(const protocol::Message &message)
{
    if (!isOpen())
        return;
    m_impl->socket->write(protocol::encodeFrame(message));
}

bool HostChannel::isOpen() const
{
    return !m_impl->closing && m_impl->socket->state() == QLocalSocket::ConnectedState;
}

void HostChannel::close()
{
    if (m_impl->closedEmitted)
        return;
    m_impl->closing = true;
    const QPointer<HostChannel> self(this);
    // Lets queued output go out first; disconnected() then reports the close.
    m_impl->socket->disconnectFromServer();
    if (!self || m_impl->closedEmitted)
        return;
    if (m_impl->socket->state() == QLocalSocket::UnconnectedState) {
        m_impl->closedEmitted = true;
        emit closed();
    }
}

} // namespace kairos
