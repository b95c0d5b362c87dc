#pragma once
// AdminService: the protocol listener of a server and its administrator side. Authenticated
// "admin" connections send requests that go to the AdminApi; a connection that subscribes gets
// engine events pushed, coalesced per connection (the newest state of each instance and worker,
// every 50 ms) so a burst of a million changes cannot flood a socket or the server's memory.
// Authenticated "worker" connections are handed to the WorkerService: one listener serves both.
//
// Not thread-safe: engine thread only.

#include "admin_api.h"
#include "worker_service.h"

#include <protocol/listener.h>

#include <QHash>
#include <QHostAddress>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QTimer>

namespace kairos::server {

class CredentialCache;

class AdminService : public QObject {
    Q_OBJECT
public:
    AdminService(Engine &engine, std::shared_ptr<CredentialCache> credentials,
                 QObject *parent = nullptr);
    ~AdminService() override;

    Status listen(const QHostAddress &address, quint16 port,
                  const protocol::ListenerOptions &options);
    quint16 port() const;
    // Administrator connections.
    int connectionCount() const { return int(m_clients.size()); }
    WorkerService &workerService() { return m_workers; }

private:
    struct Subscriber {
        QPointer<protocol::Connection> connection;
        bool instances = false;
        bool jobs = false;
        bool logs = false;
        bool workers = false;
        qint64 logsOfInstance = 0; // 0: every instance's logs
        QHash<qint64, Instance> pendingInstances;
        QList<LogLine> pendingLogs;
        QHash<QString, WorkerInfo> pendingWorkers; // by worker id
    };

    void onConnection(protocol::Connection *connection);
    void onRequest(protocol::Connection *connection, qint64 id, const QString &method,
                   const QCborMap &params);
    void onInstances(const QList<Instance> &instances);
    void onLogs(const QList<LogLine> &lines);
    void onWorkers(const QList<WorkerInfo> &workers);
    void flushEvents();

    Engine &m_engine;
    AdminApi m_api;
    std::shared_ptr<CredentialCache> m_credentials;
    WorkerService m_workers;
    protocol::Listener *m_listener = nullptr;
    QHash<protocol::Connection *, Subscriber> m_clients;
    QTimer m_flush;
};

} // namespace kairos::server
