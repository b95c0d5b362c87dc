#pragma once
// Listener: accepts protocol connections on one address. Each accepted socket becomes a
// server-side Connection that must finish TLS (when configured) and the handshake within the
// handshake timeout; connectionReady() hands out only authenticated connections. It enforces the
// deployment rule of DESIGN.md: a listener reachable from the network (any non-loopback address)
// needs TLS unless the operator explicitly sets allowInsecure.
//
// Threading: lives on the thread that created it; call every method on that thread. Its
// connections live on the same thread.

#include "connection.h"

#include <QHostAddress>
#include <QObject>
#include <QSslCertificate>
#include <QSslKey>

#include <memory>

namespace kairos::protocol {

struct ListenerOptions {
    ServerConnectionOptions connection;
    // PEM files; TLS is on when both are set.
    QString certificateFile;
    QString privateKeyFile;
    // Accept unencrypted connections on a non-loopback address (secrets stay protected by SCRAM,
    // but every message after the handshake travels in clear text).
    bool allowInsecure = false;
    // Connections still in the handshake beyond this number are closed at once, so a flood of
    // idle sockets cannot exhaust the server.
    int maxPendingHandshakes = 256;
};

class Listener : public QObject {
    Q_OBJECT
public:
    // `lookup` finds stored credentials; it is shared by every connection of this listener.
    explicit Listener(std::shared_ptr<CredentialLookup> lookup, ListenerOptions options = {},
                      QObject *parent = nullptr);
    ~Listener() override;

    // Port 0 picks a free port (see serverPort()). Errors: TLS files that cannot be read, a
    // non-loopback address without TLS or allowInsecure, or the socket error
    // ("cannot listen on 127.0.0.1:80: The address is protected").
    Status listen(const QHostAddress &address, quint16 port = 0);
    // Stops accepting; established connections stay open.
    void close();

    bool isListening() const;
    quint16 serverPort() const;
    QHostAddress serverAddress() const;
    bool usesTls() const { return !m_certificate.isNull(); }
    int pendingHandshakes() const { return m_pendingHandshakes; }

signals:
    // A connection authenticated. It is a child of the Listener and is deleted (deleteLater) by
    // the Listener after it emits closed(); drop your pointers to it in a slot on closed().
    void connectionReady(kairos::protocol::Connection *connection);
    // A connection closed before it authenticated (refused login, timeout, garbage, TLS error).
    // The same line is logged on kairos.protocol.connection; this signal is for metrics and tests.
    void handshakeFailed(const QString &peerAddress, const QString &reason);

private:
    class Server;
    void onIncoming(qintptr descriptor);

    std::shared_ptr<CredentialLookup> m_lookup;
    ListenerOptions m_options;
    Server *m_server = nullptr;
    QSslCertificate m_certificate;
    QSslKey m_privateKey;
    int m_pendingHandshakes = 0;
};

} // namespace kairos::protocol
