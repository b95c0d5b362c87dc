#pragma once
// LocalWorkerLink: the worker embedded in the server process (local single-node mode and
// kairosd's own worker). It owns a TaskRunner on a dedicated, long-lived thread: scripts are
// started from that thread, so PR_SET_PDEATHSIG (which is per thread) stays armed for the
// whole life of the process. It keeps the same books as a remote link: the runs dispatched
// through it and not yet terminal (so freeSlots() counts runs, and a run dispatched twice is
// held once), and it fences calls like RemoteWorkerLink does (a call of a run it does not hold
// is answered with an error at once). Its containers (docs/containers.md) are handled by a
// ContainerManager on the same thread, which the TaskRunner asks for the runs of container refs:
// the server deploys to the local worker exactly as to a remote one, through this link's
// deployContainers / answerFetches and its deployStages / fetchRequests / containersWanted.
//
// Not thread-safe: create and use on the engine thread. Reports and calls are delivered on it.

#include "worker_link.h"

#include <QSet>
#include <QTemporaryDir>
#include <QThread>

#include <memory>

namespace kairos {
class ContainerManager;
class TaskRunner;
} // namespace kairos

namespace kairos::server {

// Where the local worker keeps its containers.
struct LocalContainerSettings {
    QString directory;   // container files; empty: a temporary folder removed with the link
    QString hostProgram; // kairos-container-host; empty: next to the running executable
    qint64 maxBytes = kMaxContainerBytes;
};

class LocalWorkerLink : public WorkerLink {
    Q_OBJECT
public:
    explicit LocalWorkerLink(QString app, int capacity, LocalContainerSettings containers = {},
                             QObject *parent = nullptr);
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
    // Handed to the ContainerManager on the worker thread.
    void deployContainers(const QList<kairos::ContainerOrder> &orders) override;
    void answerFetches(const QList<kairos::FetchReply> &replies) override;

    // The folder the local worker keeps its container files in. Engine thread.
    QString containerDirectory() const { return m_containerDir; }

    // Runs dispatched and not yet terminal. Engine thread.
    int heldCount() const { return int(m_held.size()); }

private:
    void onReports(const QList<kairos::TaskReport> &reports);
    void onCalls(const QList<kairos::TaskCall> &calls);

    QString m_app;
    int m_capacity;
    QSet<TaskKey> m_held;                              // dispatched and not yet terminal, per run
    std::unique_ptr<QTemporaryDir> m_tempContainerDir; // when no folder was configured
    QString m_containerDir;
    QThread m_thread;
    TaskRunner *m_runner = nullptr; // lives on m_thread
    // Lives on m_thread, a child of the runner: deleted after the runner's runs, which may hold
    // loaded versions of it.
    ContainerManager *m_containers = nullptr;
};

} // namespace kairos::server
