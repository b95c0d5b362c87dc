#include "local_worker_link.h"

#include <worker/task_runner.h>

namespace kairos::server {

LocalWorkerLink::LocalWorkerLink(QString app, int capacity, QObject *parent)
    : WorkerLink(parent)
    , m_app(std::move(app))
    , m_capacity(capacity)
{
    m_thread.setObjectName(QStringLiteral("kairos-local-worker"));
    m_runner = new TaskRunner;
    // The runner queues beyond its capacity; we hand it a little more than it runs at once so
    // it never idles waiting for the next dispatch round trip.
    m_runner->setCapacity(capacity);
    m_runner->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_runner, &QObject::deleteLater);
    connect(m_runner, &TaskRunner::reports, this, &LocalWorkerLink::onReports,
            Qt::QueuedConnection);
    connect(m_runner, &TaskRunner::logs, this, &WorkerLink::logs, Qt::QueuedConnection);
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
    return std::max(0, m_capacity * 4 - m_held);
}

void LocalWorkerLink::dispatch(const QList<TaskSpec> &tasks)
{
    m_held += tasks.size();
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

void LocalWorkerLink::onReports(const QList<TaskReport> &reports)
{
    for (const TaskReport &r : reports) {
        if (isTerminal(r.status))
            --m_held;
    }
    m_held = std::max(0, m_held);
    emit this->reports(reports);
}

} // namespace kairos::server
