#include "listener.h"

#include <QFile>
#include <QLoggingCategory>
#include <QSslSocket>
#include <QTcpServer>

namespace kairos::protocol {

Q_LOGGING_CATEGORY(lcListener, "kairos.protocol.listener", QtWarningMsg)

// QTcpServer's pending-connection queue is bypassed: every descriptor goes straight to the
// Listener, which wraps it in the right socket class (plain or TLS server mode).
class Listener::Server : public QTcpServer {
public:
    explicit Server(Listener *owner)
        : QTcpServer(owner)
        , m_owner(owner)
    {}

protected:
    void incomingConnection(qintptr descriptor) override { m_owner->onIncoming(descriptor); }

private:
    Listener *m_owner;
};

namespace {

Result<QSslKey> readPrivateKey(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return makeError(QStringLiteral("cannot read the TLS private key '%1': %2")
                             .arg(path, file.errorString()));
    const QByteArray pem = file.readAll();
    for (QSsl::KeyAlgorithm algorithm : {QSsl::Rsa, QSsl::Ec, QSsl::Dsa}) {
        QSslKey key(pem, algorithm, QSsl::Pem, QSsl::PrivateKey);
        if (!key.isNull())
            return key;
    }
    return makeError(QStringLiteral("the TLS private key '%1' is not an unencrypted PEM RSA, EC "
                                    "or DSA private key")
                         .arg(path));
}

} // namespace

Listener::Listener(std::shared_ptr<CredentialLookup> lookup, ListenerOptions options,
                   QObject *parent)
    : QObject(parent)
    , m_lookup(std::move(lookup))
    , m_options(std::move(options))
    , m_server(new Server(this))
{}

Listener::~Listener() = default;

Status Listener::listen(const QHostAddress &address, quint16 port)
{
    if (m_server->isListening())
        return makeError(QStringLiteral("the listener is already listening on port %1")
                             .arg(m_server->serverPort()));
    if (!m_lookup)
        return makeError(QStringLiteral("the listener has no credential lookup"));
    const bool wantsTls =
        !m_options.certificateFile.isEmpty() || !m_options.privateKeyFile.isEmpty();
    if (wantsTls) {
        if (m_options.certificateFile.isEmpty() || m_options.privateKeyFile.isEmpty())
            return makeError(QStringLiteral("TLS needs both a certificate file and a private key "
                                            "file; only the %1 was given")
                                 .arg(m_options.certificateFile.isEmpty()
                                          ? QStringLiteral("private key")
                                          : QStringLiteral("certificate")));
        if (!QSslSocket::supportsSsl())
            return makeError(QStringLiteral("TLS was requested, but this Qt build has no working "
                                            "TLS backend (OpenSSL not found)"));
        const QList<QSslCertificate> certs = QSslCertificate::fromPath(m_options.certificateFile);
        if (certs.isEmpty())
            return makeError(QStringLiteral("cannot read a PEM certificate from '%1'")
                                 .arg(m_options.certificateFile));
        auto key = readPrivateKey(m_options.privateKeyFile);
        if (!key)
            return Error{key.error()};
        m_certificate = certs.first();
        m_privateKey = *key;
    } else if (!address.isLoopback() && !m_options.allowInsecure) {
        return makeError(QStringLiteral("refusing to listen on %1 without TLS: the address is "
                                        "reachable from the network; give a certificate and a "
                                        "private key, or set allowInsecure to accept unencrypted "
                                        "connections")
                             .arg(address.toString()));
    }
    if (!m_server->listen(address, port))
        return makeError(QStringLiteral("cannot listen on %1:%2: %3")
                             .arg(address.toString())
                             .arg(port)
                             .arg(m_server->errorString()));
    if (!wantsTls && !address.isLoopback())
        qCWarning(lcListener).noquote()
            << QStringLiteral("listening on %1:%2 without TLS (allowInsecure is set)")
                   .arg(address.toString())
                   .arg(m_server->serverPort());
    return {};
}

void Listener::close()
{
    m_server->close();
}

bool Listener::isListening() const
{
    return m_server->isListening();
}

quint16 Listener::serverPort() const
{
    return m_server->serverPort();
}

QHostAddress Listener::serverAddress() const
{
    return m_server->serverAddress();
}

void Listener::onIncoming(qintptr descriptor)
{
    QTcpSocket *socket = nullptr;
    if (usesTls()) {
        auto *ssl = new QSslSocket;
        if (ssl->setSocketDescriptor(descriptor)) {
            ssl->setLocalCertificate(m_certificate);
            ssl->setPrivateKey(m_privateKey);
            ssl->setPeerVerifyMode(QSslSocket::VerifyNone); // clients authenticate with SCRAM
            ssl->setProtocol(QSsl::TlsV1_2OrLater);
            ssl->startServerEncryption();
        }
        socket = ssl;
    } else {
        socket = new QTcpSocket;
        socket->setSocketDescriptor(descriptor);
    }
    if (socket->state() != QAbstractSocket::ConnectedState) {
        qCWarning(lcListener) << "cannot adopt an accepted socket:" << socket->errorString();
        delete socket;
        return;
    }

    auto *connection = new Connection(socket, m_lookup, m_options.connection, this);
    if (m_pendingHandshakes >= m_options.maxPendingHandshakes) {
        connection->close(QStringLiteral("too many connections in the handshake (%1); try again "
                                         "later")
                              .arg(m_options.maxPendingHandshakes));
        qCWarning(lcListener).noquote()
            << QStringLiteral("refused connection from %1: %2 connections are already in the "
                              "handshake")
                   .arg(connection->peerAddress())
                   .arg(m_pendingHandshakes);
        connection->deleteLater();
        return;
    }
    ++m_pendingHandshakes;
    auto authenticatedOnce = std::make_shared<bool>(false);
    connect(connection, &Connection::authenticated, this, [this, connection, authenticatedOnce] {
        *authenticatedOnce = true;
        --m_pendingHandshakes;
        emit connectionReady(connection);
    });
    connect(connection, &Connection::closed, this,
            [this, connection, authenticatedOnce](const QString &reason) {
                if (!*authenticatedOnce) {
                    --m_pendingHandshakes;
                    emit handshakeFailed(connection->peerAddress(), reason);
                }
                connection->deleteLater();
            });
}

} // namespace kairos::protocol
