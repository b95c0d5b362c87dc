#include "local_worker_link.h"

#include <worker/container_manager.h>
#include <worker/task_runner.h>

#include <QDir>
#include <QLoggingCategory>

namespace kairos::server {
namespace {

Q_LOGGING_CATEGORY(lcLocalWorker, "kairos.server.localworker", QtWarningMsg)

} // namespace

LocalWorkerLink::LocalWorkerLink(QString app, int capacity, LocalContainerSettings containers,
                                 QObject *parent)
    : WorkerLink(parent)
    , m_app(std::move(app))
    , m_capacity(capacity)
{
    m_thread.setObjectName(QStringLiteral("kairos-local-worker"));
    m_runner = new TaskRunner;
    // The runner queues beyond its capacity; we hand it a little more than it runs at once so
    // it never idles waiting for the next dispatch round trip.
    m_runner->setCapacity(capacity);

    m_containerDir = containers.directory;
    if (m_containerDir.isEmpty()) {
        m_tempContainerDir = std::make_unique<QTemporaryDir>(
            QDir(QDir::tempPath()).filePath(QStringLiteral("kairos-containers-XXXXXX")));
        if (m_tempContainerDir->isValid())
            m_containerDir = m_tempContainerDir->path();
        else
            qCWarning(lcLocalWorker) << "cannot create a temporary container folder:"
                                     << m_tempContainerDir->errorString();
    }
    ContainerManagerConfig cmc;
    cmc.directory = m_containerDir;
    cmc.hostProgram = containers.hostProgram;
    cmc.maxBytes = containers.maxBytes;
    cmc.hostThreads = std::max(1, capacity);
    // Created here and moved with its parent; the runner is not running yet, so handing it the
    // manager before the move is safe.
    m_containers = new ContainerManager(cmc, m_runner);
    m_runner->setContainerRuns(m_containers);
    connect(m_containers, &ContainerManager::stages, this, &WorkerLink::deployStages,
            Qt::QueuedConnection);
    connect(m_containers, &ContainerManager::fetchRequests, this, &WorkerLink::fetchRequests,
            Qt::QueuedConnection);
    connect(m_containers, &ContainerManager::wanted, this, &WorkerLink::containersWanted,
            Qt::QueuedConnection);
    m_runner->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_runner, &QObject::deleteLater);
    // All three queued from the one runner thread, so they arrive in the order emitted: a run's
    // calls and lines before its terminal report.
    connect(m_runner, &TaskRunner::reports, this, &LocalWorkerLink::onReports,
            Qt::QueuedConnection);
    connect(m_runner, &TaskRunner::logs, this, &WorkerLink::logs, Qt::QueuedConnection);
    connect(m_runner, &TaskRunner::calls, this, &LocalWorkerLink::onCalls, Qt::QueuedConnection);
    m_thread.start();
}

LocalWorkerLink::~LocalWorkerLink()
{
    // The runner's destructor kills every running process group; it runs on its own thread
    // through deleteLater when the thread's event loop ends.
    m_thread.quit();
    m_thread.wait();
}

int LocalWorkerLink::freeSlots() const
{
    return std::max(0, m_capacity * 4 - int(m_held.size()));
}

void LocalWorkerLink::dispatch(const QList<TaskSpec> &tasks)
{
    for (const TaskSpec &t : tasks)
        m_held.insert(taskKeyOf(t));
    QMetaObject::invokeMethod(
        m_runner,
        [runner = m_runner, tasks] {
            for (const TaskSpec &t : tasks)
                runner->submit(t);
        },
        Qt::QueuedConnection);
}

void LocalWorkerLink::cancel(qint64 instanceId, int attempt, const QString &reason)
{
    QMetaObject::invokeMethod(
        m_runner,
        [runner = m_runner, instanceId, attempt, reason] {
            runner->cancel(instanceId, attempt, reason);
        },
        Qt::QueuedConnection);
}

void LocalWorkerLink::cancelTasks(const QList<TaskKey> &keys, const QString &reason)
{
    if (keys.isEmpty())
        return;
    QMetaObject::invokeMethod(
        m_runner,
        [runner = m_runner, keys, reason] {
            for (const TaskKey &k : keys) {
                if (k.taskId >= 0)
                    runner->cancelTask(k, reason);
            }
        },
        Qt::QueuedConnection);
}

void LocalWorkerLink::answer(const QList<TaskCallReply> &replies)
{
    if (replies.isEmpty())
        return;
    QMetaObject::invokeMethod(
        m_runner, [runner = m_runner, replies] { runner->answer(replies); }, Qt::QueuedConnection);
}

void LocalWorkerLink::deployContainers(const QList<ContainerOrder> &orders)
{
    if (orders.isEmpty())
        return;
    QMetaObject::invokeMethod(
        m_containers, [manager = m_containers, orders] { manager->deploy(orders); },
        Qt::QueuedConnection);
}

void LocalWorkerLink::answerFetches(const QList<FetchReply> &replies)
{
    if (replies.isEmpty())
        return;
    QMetaObject::invokeMethod(
        m_containers, [manager = m_containers, replies] { manager->fetchAnswered(replies); },
        Qt::QueuedConnection);
}

void LocalWorkerLink::onReports(const QList<TaskReport> &reports)
{
    for (const TaskReport &r : reports) {
        if (isTerminal(r.status))
            m_held.remove(taskKeyOf(r));
    }
    emit this->reports(reports);
}

void LocalWorkerLink::onCalls(const QList<TaskCall> &calls)
{
    QList<TaskCall> accepted;
    QList<TaskCallReply> refused;
    accepted.reserve(calls.size());
    for (const TaskCall &call : calls) {
        if (m_held.contains(call.key)) {
            accepted.append(call);
            continue;
        }
        refused.append(TaskCallReply{
            call.callId,
            tr("task (%1,%2,%3 run %4) is not running on the local worker (ended or superseded): "
               "call refused")
                .arg(call.key.instanceId)
                .arg(call.key.attempt)
                .arg(call.key.taskId)
                .arg(call.key.taskAttempt),
            {},
            false});
    }
    answer(refused);
    if (!accepted.isEmpty())
        emit this->calls(accepted);
}

} // namespace kairos::server
