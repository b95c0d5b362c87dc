#pragma once
// WorkerRegistry: every worker this server knows — the local one, the remote ones connected now
// and, for one hour, the dead ones — as `worker.list` and the `workers` event show them. It also
// watches the health of remote links with one timer for all of them: a link without a heartbeat
// for `deadAfterMs` is declared dead. A registration under the id of a worker that is still alive
// on another connection replaces it (the old link is declared dead first). Changes are announced
// in workersChanged(): registrations and state changes at once, metrics at most once a second
// per worker.
//
// Owned by the Engine. Not thread-safe: engine thread only.

#include <core/worker_info.h>

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QTimer>

namespace kairos::server {

class RemoteWorkerLink;

class WorkerRegistry : public QObject {
    Q_OBJECT
public:
    // Dead workers are listed this long after they died.
    static constexpr qint64 kKeepDeadMs = 3600 * 1000;
    // Metrics changes of one worker are announced at most this often.
    static constexpr qint64 kMetricsIntervalMs = 1000;

    WorkerRegistry(QString serverId, int deadAfterMs, QObject *parent = nullptr);
    ~WorkerRegistry() override;

    // Lists the in-process worker (id "local", address "local", always ALIVE).
    void setLocalWorker(const QString &app, int capacity);
    // Takes a remote link that has just registered. An ALIVE link with the same worker id is
    // declared dead first ("replaced by a new connection of the same worker"). The registry does
    // not own the link.
    void add(RemoteWorkerLink *link);
    // The live link of a worker id, or null.
    RemoteWorkerLink *liveLink(const QString &workerId) const;

    // Every known worker: the local one first, then by id.
    QList<WorkerInfo> workers() const;

signals:
    // The workers whose registration, state or metrics changed.
    void workersChanged(const QList<kairos::WorkerInfo> &workers);

private:
    struct Entry {
        WorkerInfo info; // as last announced (the live link has the newest values)
        QPointer<RemoteWorkerLink> link;
        qint64 lastAnnouncedMs = 0;
        bool metricsPending = false;
    };

    void onLinkChanged(RemoteWorkerLink *link);
    void onLinkLost(RemoteWorkerLink *link);
    void tick();
    void updateTimer();
    void announce(Entry &entry, qint64 now, QList<WorkerInfo> &out);

    QString m_serverId;
    int m_deadAfterMs;
    QHash<QString, Entry> m_entries; // by worker id
    std::optional<WorkerInfo> m_local;
    QTimer m_tick;
};

} // namespace kairos::server
