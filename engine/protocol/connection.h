#pragma once
// Connection: one authenticated protocol link over a QTcpSocket or QSslSocket. It runs the
// handshake (as client or as server), then carries messages both ways: request/response RPC
// (`req`/`res`) with exactly-once callbacks, pushed events (`evt`), and any other message type for
// the worker protocol. Writes are batched: all sends of one event-loop turn leave in one socket
// write. Anything malformed from the peer (a decoder error, an oversized frame, a message before
// the handshake finished) closes this connection only, with a reason in the log that names the
// peer address; it never throws or crashes.
//
// Threading: a Connection lives on the thread that created it (or was moved to before connecting)
// and every method must be called on that thread; none is thread-safe. Signals are emitted on that
// thread. Do not `delete` a Connection from a slot connected to one of its signals; use
// deleteLater().

#include "frame.h"
#include "handshake.h"

#include <QCborMap>
#include <QCborValue>
#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QTimer>

#include <functional>
#include <map>
#include <memory>
#include <set>

class QTcpSocket;

namespace kairos::protocol {

// Client-side TLS settings. TLS is used when `enabled`; the server's certificate must then verify
// against `caCertificateFile` (or the system CAs when empty) for the name `peerVerifyName`.
struct TlsOptions {
    bool enabled = false;
    QString caCertificateFile; // PEM; a self-signed server certificate can be given directly
    QString peerVerifyName;    // name the certificate must carry; empty: the host connected to
    bool verifyPeer = true;    // false accepts any certificate: encryption without authentication
};

// Server-side settings of one accepted connection (the Listener fills them from its options).
struct ServerConnectionOptions {
    ServerAuthOptions auth;
    int handshakeTimeoutMs = 10000;
    qsizetype maxFrameBytes = kDefaultMaxFrameBytes;
};

class Connection : public QObject {
    Q_OBJECT
public:
    enum class State { Unconnected, Connecting, Handshaking, Ready, Closed };
    Q_ENUM(State)

    using ReplyCallback = std::function<void(Result<QCborMap>)>;

    // Client side: configure with the setters below, then connectToServer().
    explicit Connection(QObject *parent = nullptr);
    // Server side: adopts `socket` (already connected; for TLS, QSslSocket in server mode with
    // encryption started) and starts the handshake timer. `lookup` must not be null.
    Connection(QTcpSocket *socket, std::shared_ptr<CredentialLookup> lookup,
               ServerConnectionOptions options, QObject *parent = nullptr);
    // Pending request callbacks run (with a "connection closed" error) before destruction.
    ~Connection() override;

    // Client configuration; only effective before connectToServer().
    void setProtocolVersion(int version);   // default kProtocolVersion (for compatibility tests)
    void setHandshakeTimeout(int ms);       // connect + TLS + handshake; default 10000
    void setMaxFrameBytes(qsizetype bytes); // after the handshake; default 16 MiB
    void setHelloExtra(const QCborMap &fields); // further hello fields (e.g. worker capabilities)

    // Client: connects, runs TLS if enabled and the handshake, then emits ready() or
    // failed(reason). One use per Connection: create a new one to reconnect.
    void connectToServer(const QString &host, quint16 port, const QString &role,
                         const QString &name, const QString &secret, const TlsOptions &tls = {});

    State state() const { return m_state; }
    bool isReady() const { return m_state == State::Ready; }
    bool isServerSide() const { return m_serverHandshake != nullptr; }
    // Server: the authenticated login (role "admin"/"worker" and name), empty before the
    // handshake. Client: the login given to connectToServer().
    QString role() const { return m_role; }
    QString name() const { return m_name; }
    // "127.0.0.1:53211" / "[::1]:53211"; stays available after the connection closed.
    QString peerAddress() const { return m_peer; }
    // Client: the welcome fields (serverId, proto, extras). Server: the client's hello fields.
    QCborMap peerInfo() const { return m_peerInfo; }
    int protocolVersion() const { return m_protocolVersion; }
    // Why the connection closed (empty while open).
    QString closeReason() const { return m_closeReason; }

    // Queues a message; it is written at the end of this event-loop turn together with every
    // other message queued meanwhile. Dropped with a warning unless the connection is ready.
    void send(const Message &message);

    // Sends `req {id, m: method, p: params}`. `onReply` runs exactly once on this thread — with
    // the peer's result, an error after `timeoutMs`, or an error when the connection is lost —
    // and never inside this call. It does not run at all once `context` is destroyed (pass the
    // object whose members the callback touches); with a null context it always runs.
    void request(const QString &method, const QCborMap &params, QObject *context,
                 ReplyCallback onReply, int timeoutMs = 30000);
    // Answers a request received through requestReceived(): `res {id, ok:true, r}` or
    // `res {id, ok:false, e: error text}`.
    void reply(qint64 id, const Result<QCborMap> &result);
    // Pushes `evt {topic, d: data}` (normally server to client).
    void sendEvent(const QString &topic, const QCborValue &data);
    // Answers `error {reason: "unknown message type X"}`: the required reply to a message type the
    // application does not handle (call it from a messageReceived() handler). Does nothing for an
    // `error` message, which is never answered.
    void replyUnknownType(const Message &message);

    // Flushes queued messages, then closes gracefully; emits closed(reason). No-op once closed.
    void close(const QString &reason);

signals:
    // Client: the handshake succeeded; requests and sends may start.
    void ready();
    // Client: the connection or the handshake failed (emitted instead of ready(); followed by
    // closed()). The reason is for the user, e.g. "authentication failed: wrong name or secret".
    void failed(const QString &reason);
    // Server: the peer authenticated as `role` `name`.
    void authenticated(const QString &role, const QString &name);
    // A `req` arrived; answer it with reply(id, ...).
    void requestReceived(qint64 id, const QString &method, const QCborMap &params);
    // An `evt` arrived.
    void eventReceived(const QString &topic, const QCborValue &data);
    // Any other message after the handshake (worker protocol, `error` notices). Answer types you
    // do not handle with replyUnknownType().
    void messageReceived(const kairos::protocol::Message &message);
    // Emitted exactly once when the connection ends, for whatever reason.
    void closed(const QString &reason);

private:
    struct Pending {
        QString method;
        QPointer<QObject> context;
        bool hasContext = false;
        ReplyCallback onReply;
        qint64 deadlineMs = 0;
        int timeoutMs = 0;
        QString immediateError; // set for requests made while not ready: fail on the next turn
    };

    void setUpSocket();
    void onConnected();
    void onReadyRead();
    void onSocketError();
    void onDisconnected();
    void onHandshakeTimeout();
    void handleMessage(const Message &message);
    void handleServerHandshake(const Message &message);
    void handleClientHandshake(const Message &message);
    void handleRequest(const Message &message);
    void handleResponse(const Message &message);
    void handleEvent(const Message &message);
    void protocolError(const QString &reason);
    void closeInternal(const QString &reason, bool graceful);
    void enqueue(const Message &message);
    void scheduleFlush();
    void flush();
    void addPending(qint64 id, Pending pending);
    void armRequestTimer();
    void onRequestTimer();
    void failAllPending(const QString &reason);
    static void complete(Pending &pending, Result<QCborMap> result);
    QString who() const;
    QString closedDuringHandshakeReason() const;
    QString peerClosedReason() const;

    State m_state = State::Unconnected;
    QTcpSocket *m_socket = nullptr;
    FrameDecoder m_decoder{kHandshakeMaxFrameBytes};
    std::unique_ptr<ServerHandshake> m_serverHandshake;
    std::unique_ptr<ClientHandshake> m_clientHandshake;
    QTimer m_handshakeTimer;
    int m_handshakeTimeoutMs = 10000;
    qsizetype m_maxFrameBytes = kDefaultMaxFrameBytes;
    int m_protocolVersion = kProtocolVersion;
    QCborMap m_helloExtra;
    TlsOptions m_tls;
    QString m_sslErrors;
    qint64 m_bytesReceived = 0;

    QByteArray m_outBuffer;
    bool m_flushScheduled = false;

    qint64 m_nextRequestId = 1;
    std::map<qint64, Pending> m_pending;
    std::set<std::pair<qint64, qint64>> m_deadlines; // (deadline ms, request id)
    QTimer m_requestTimer;
    QElapsedTimer m_clock;

    QString m_peer;
    QString m_role;
    QString m_name;
    QCborMap m_peerInfo;
    QString m_closeReason;
    QString m_lastPeerError; // the reason of the last `error` the peer sent
};

} // namespace kairos::protocol
