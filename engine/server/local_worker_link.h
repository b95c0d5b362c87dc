#pragma once
// LocalWorkerLink: the worker embedded in the server process (local single-node mode and
// kairosd's own worker). It owns a TaskRunner on a dedicated, long-lived thread: scripts are
// started from that thread, so PR_SET_PDEATHSIG (which is per thread) stays armed for the
// whole life of the process.
//
// Not thread-safe: create and use on the engine thread. Reports are delivered on it.

#include "worker_link.h"

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

private:
    void onReports(const QList<kairos::TaskReport> &reports);

    QString m_app;
    int m_capacity;
    int m_held = 0; // dispatched and not yet terminal
    QThread m_thread;
    TaskRunner *m_runner = nullptr; // lives on m_thread
};

} // namespace kairos::server
