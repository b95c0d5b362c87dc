#pragma once
// AdminService: the protocol listener of a server and its administrator side. Authenticated
// "admin" connections send requests that go to the AdminApi; a connection that subscribes gets
// engine events pushed, coalesced per connection (the newest state of each instance and worker,
// the newest task counts and rows of each tracked run, the newest deploy stage of each worker and
// deploy, every 50 ms) so a burst of a million
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

// DeployStageBuffer: the deploy stages waiting for one subscriber's next flush (`containers`
// topic), the newest per (worker, container, deploy id) — a download reporting every 100 ms is
// one entry — at most kMaxEntries of them: beyond that the oldest entries are dropped, so a burst
// of deploys behind a slow connection cannot grow without bound (a reader that must know the end
// of a deploy reads `container.status`). A value type; not thread-safe.
class DeployStageBuffer {
public:
    static constexpr int kMaxEntries = 4096;

    void add(const QList<kairos::DeployStage> &stages);
    bool isEmpty() const { return m_entries.isEmpty(); }
    // The stages in the order their keys first appeared; empties the buffer.
    QList<kairos::DeployStage> take();
    // Entries dropped since the last take().
    int dropped() const { return m_dropped; }

private:
    QList<QString> m_order; // keys; may hold keys already dropped (skipped on take)
    QHash<QString, kairos::DeployStage> m_entries;
    int m_dropped = 0;
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
        bool containers = false;
        qint64 logsOfInstance = 0; // 0: every instance's logs
        QHash<qint64, Instance> pendingInstances;
        QList<LogLine> pendingLogs;
        QHash<QString, WorkerInfo> pendingWorkers; // by worker id
        TaskProgressBuffer pendingTasks;
        DeployStageBuffer pendingStages;
        QStringList pendingChanged; // container names, each once
    };

    void onConnection(protocol::Connection *connection);
    void onRequest(protocol::Connection *connection, qint64 id, const QString &method,
                   const QCborMap &params);
    void onInstances(const QList<Instance> &instances);
    void onLogs(const QList<LogLine> &lines);
    void onWorkers(const QList<WorkerInfo> &workers);
    void onTaskProgress(const QList<TaskProgress> &events);
    void onDeployStages(const QList<kairos::DeployStage> &stages);
    void onContainersChanged(const QStringList &names);
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
