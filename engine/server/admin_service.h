#pragma once
// AdminService: the protocol listener of a server and its administrator side. Authenticated
// "admin" connections send requests that go to the AdminApi; a connection that subscribes gets
// engine events pushed, coalesced per connection (the newest state of each instance and worker,
// and the newest task counts and rows of each tracked run, every 50 ms) so a burst of a million
// changes cannot flood a socket or the server's memory. Authenticated "worker" connections are
// handed to the WorkerService: one listener serves both.
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

// TaskProgressBuffer: the `tasks` events waiting for one subscriber's next flush, merged per
// instance attempt — the newest counts, each changed task once (its newest row), at most
// TaskProgress::kMaxChangedPerEvent rows; rows beyond that are dropped and the event says
// `truncated`, so a reader re-reads a page instead of the server buffering without bound.
// A value type; not thread-safe.
class TaskProgressBuffer {
public:
    void add(const QList<TaskProgress> &events);
    bool isEmpty() const { return m_order.isEmpty(); }
    // The merged events in the order their instance attempts first appeared; empties the buffer.
    QList<TaskProgress> take();

private:
    using Key = std::pair<qint64, int>; // instance id, attempt
    struct Entry {
        TaskProgress progress;
        QHash<qint64, qsizetype> rowOfTask; // task id -> index in progress.changed
    };
    QList<Key> m_order;
    QHash<Key, Entry> m_entries;
};

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
        bool tasks = false;
        qint64 logsOfInstance = 0; // 0: every instance's logs
        QHash<qint64, Instance> pendingInstances;
        QList<LogLine> pendingLogs;
        QHash<QString, WorkerInfo> pendingWorkers; // by worker id
        TaskProgressBuffer pendingTasks;
    };

    void onConnection(protocol::Connection *connection);
    void onRequest(protocol::Connection *connection, qint64 id, const QString &method,
                   const QCborMap &params);
    void onInstances(const QList<Instance> &instances);
    void onLogs(const QList<LogLine> &lines);
    void onWorkers(const QList<WorkerInfo> &workers);
    void onTaskProgress(const QList<TaskProgress> &events);
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
