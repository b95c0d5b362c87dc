#pragma once
// InProcessClient and LocalEngineHost: local single-node mode. LocalEngineHost runs an Engine
// (with its local worker) on a dedicated thread so the GUI thread never waits on the store or
// the scheduler; InProcessClient forwards calls to the AdminApi on that thread and delivers
// replies and engine events back with queued connections.
//
// Threading: create and use both on the GUI (or main) thread.

#include "client.h"

#include <server/engine.h>

#include <QThread>

#include <memory>

namespace kairos::server {
class AdminApi;
class AdminService;
class CredentialCache;
} // namespace kairos::server

namespace kairos::client {

class LocalEngineHost : public QObject {
    Q_OBJECT
public:
    explicit LocalEngineHost(server::EngineConfig config, QObject *parent = nullptr);
    ~LocalEngineHost() override;

    // Starts the engine on its thread; `started` or `failed` follows (on this thread).
    void start();
    // Also accept kairosctl, remote consoles and workers on 127.0.0.1:port (0: none); the
    // administrator password and the app `default`'s secret are created in `dataDir` on the first
    // start. Call before start().
    void setAdminListenPort(quint16 port, QString dataDir);

    server::Engine *engine() const { return m_engine; } // lives on the engine thread
    // The administrator and app credentials once started (null before); use them on the
    // engine thread only.
    std::shared_ptr<server::CredentialCache> credentials() const { return m_credentials; }
    bool isRunning() const { return m_running; }
    QString dataDescription() const { return m_config.store.url; }

signals:
    void started();
    void failed(const QString &reason);

private:
    server::EngineConfig m_config;
    QThread m_thread;
    server::Engine *m_engine = nullptr;
    std::shared_ptr<server::CredentialCache> m_credentials;
    quint16 m_adminPort = 0;
    QString m_dataDir;
    bool m_running = false;
};

class InProcessClient : public Client {
    Q_OBJECT
public:
    explicit InProcessClient(LocalEngineHost *host, QObject *parent = nullptr);
    ~InProcessClient() override;

    void call(const QString &method, const QJsonObject &params, QObject *context,
              Reply reply) override;
    void subscribe(const QStringList &topics, qint64 logsOfInstance = 0) override;
    LinkState linkState() const override;
    QString endpoint() const override;

private:
    void wireEvents();

    LocalEngineHost *m_host;
    std::shared_ptr<server::AdminApi> m_api; // used on the engine thread only
    bool m_wired = false;
    qint64 m_logsOfInstance = 0;
};

} // namespace kairos::client
