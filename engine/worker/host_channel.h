#pragma once
// HostChannel: the worker <-> kairos-container-host link (docs/containers.md section 6) — one
// QLocalSocket carrying length-prefixed CBOR frames (protocol/frame.h's format, no handshake),
// each a protocol::Message. Both ends use it: the host speaks as a small worker (it receives
// `dispatch`, `cancel`, `callReply`, `quit` and sends `status`, `logs`, `call`, `released`), the
// worker's HostedContainer as its server. Message bodies are kairos::wire's; only `hello`,
// `loadFailed`, `released` and `quit` are specific to the host and encoded here.
//
// A frame that cannot be decoded closes the channel (the peer is our own child or parent:
// garbage means it is broken), with errorOccurred(reason).
//
// Threading: create and use on one thread with an event loop.

#include <core/result.h>
#include <protocol/message.h>
#include <worker/task.h>

#include <QObject>
#include <QStringList>

#include <memory>

class QLocalSocket;

namespace kairos {

namespace hostmsg {
inline constexpr QLatin1StringView Hello{"hello"};
inline constexpr QLatin1StringView LoadFailed{"loadFailed"};
inline constexpr QLatin1StringView Released{"released"};
inline constexpr QLatin1StringView Quit{"quit"};

struct HostHello {
    qint64 pid = 0;
    QStringList processors;
    bool operator==(const HostHello &) const = default;
};
protocol::Message encodeHello(const HostHello &hello);
Result<HostHello> decodeHello(const protocol::Message &m);
protocol::Message encodeLoadFailed(const QString &reason);
Result<QString> decodeLoadFailed(const protocol::Message &m);
protocol::Message encodeReleased(const QList<TaskKey> &keys);
Result<QList<TaskKey>> decodeReleased(const protocol::Message &m);
protocol::Message encodeQuit();
} // namespace hostmsg

class HostChannel : public QObject {
    Q_OBJECT
public:
    // Takes ownership of a connected socket.
    explicit HostChannel(QLocalSocket *socket, QObject *parent = nullptr);
    ~HostChannel() override;

    void send(const protocol::Message &message);
    bool isOpen() const;
    void close();

signals:
    void messageReceived(const kairos::protocol::Message &message);
    void errorOccurred(const QString &reason);
    // The socket closed (either side), once.
    void closed();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace kairos
