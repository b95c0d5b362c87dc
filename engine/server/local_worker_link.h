#pragma once
// LocalWorkerLink: the worker embedded in the server process (local single-node mode and
// kairosd's own worker). It owns a TaskRunner on a dedicated, long-lived thread: scripts are
// started from that thread, so PR_SET_PDEATHSIG (which is per thread) stays armed for the
// whole life of the process. It keeps the same books as a remote link: the runs dispatched
// through it and not yet terminal (so freeSlots() counts runs, and a run dispatched twice is
// held once), and it fences calls like RemoteWorkerLink does (a call of a run it does not hold
// is answered with an error at once).
//
// Not thread-safe: create and use on the engine thread. Reports and calls are delivered on it.

#include "worker_link.h"

#include <QSet>
#include <QThread>

namespace kairos {
class TaskRunner;
}

namespace kairos::server {

class LocalWorkerLink : public WorkerLink {
    Q_OBJECT
public:
    explicit LocalWorkerLink(QString app, int capacity, QObject *parent = nullptr);
    ~LocalWorkerLink() override;

    QString id() const override { return QStringLiteral("local"); }
    QString address() const override { return QStringLiteral("local"); }
    QString app() const override { return m_app; }
    bool isAlive() const override { return true; }
    int freeSlots() const override;
    int slotCount() const override { return m_capacity * 4; }

    void dispatch(const QList<TaskSpec> &tasks) override;
    void cancel(qint64 instanceId, int attempt, const QString &reason) override;
    void cancelTasks(const QList<TaskKey> &keys, const QString &reason) override;
    void answer(const QList<kairos::TaskCallReply> &replies) override;

    // Runs dispatched and not yet terminal. Engine thread.
    int heldCount() const { return int(m_held.size()); }

private:
    void onReports(const QList<kairos::TaskReport> &reports);
    void onCalls(const QList<kairos::TaskCall> &calls);

    QString m_app;
    int m_capacity;
    QSet<TaskKey> m_held; // dispatched and not yet terminal, per run
    QThread m_thread;
    TaskRunner *m_runner = nullptr; // lives on m_thread
};

} // namespace kairos::server
