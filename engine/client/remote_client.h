#pragma once
// RemoteClient: a Client attached to a remote kairosd over the admin protocol. It logs in as an
// administrator (challenge-response: the password never leaves this process), reconnects with
// exponential backoff when the link drops, and subscribes again after each reconnect.
//
// Threading: create and use on one thread (the GUI or main thread).

#include "client.h"

#include <protocol/connection.h>

#include <QPointer>
#include <QTimer>

namespace kairos::client {

struct RemoteEndpoint {
    QString host = QStringLiteral("127.0.0.1");
    quint16 port = 7070;
    QString user = QStringLiteral("admin");
    QString password;
    protocol::TlsOptions tls;

    // Parses "HOST:PORT" (or "[v6]:PORT"), naming what is wrong. Port 0 ("any free port") only
    // makes sense for listening, so it is accepted only with `allowPortZero`.
    static Result<RemoteEndpoint> parseAddress(const QString &address, bool allowPortZero = false);
};

class RemoteClient : public Client {
    Q_OBJECT
public:
    explicit RemoteClient(RemoteEndpoint endpoint, QObject *parent = nullptr);
    ~RemoteClient() override;

    // Connects (and keeps reconnecting when `autoReconnect`).
    void open(bool autoReconnect = true);
    void close();

    void call(const QString &method, const QJsonObject &params, QObject *context,
              Reply reply) override;
    void subscribe(const QStringList &topics, qint64 logsOfInstance = 0) override;
    LinkState linkState() const override { return m_state; }
    QString endpoint() const override;
    QString lastError() const { return m_lastError; }

private:
    void connectNow();
    void setState(LinkState state, const QString &detail);
    void onEvent(const QString &topic, const QCborValue &data);

    RemoteEndpoint m_endpoint;
    QPointer<protocol::Connection> m_connection;
    LinkState m_state = LinkState::Disconnected;
    QString m_lastError;
    bool m_autoReconnect = true;
    bool m_closing = false;
    int m_backoffMs = 250;
    QTimer m_reconnect;
    QStringList m_topics;
    qint64 m_logsOfInstance = 0;
};

} // namespace kairos::client
