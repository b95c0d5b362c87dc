#pragma once
// Dispatcher: hands ready instances to worker links. Ready instances wait in FIFO order (and in
// a timer queue until they are due: prepared scheduled fires, retries after their backoff).
// At dispatch time it enforces the job's concurrency limit: a new run (attempt 1) of a job
// that already runs its maximum is SKIPPED with the reason; a retry waits for a free slot. With
// no live worker for the job, an instance waits in WAITING_WORKER with the reason and is
// dispatched when one appears.
//
// Not thread-safe: engine thread only.

#include "job_catalog.h"
#include "timer_queue.h"
#include "worker_link.h"

#include <QHash>
#include <QObject>
#include <QPointer>

#include <deque>

namespace kairos::server {

class InstanceBook;

class Dispatcher : public QObject {
    Q_OBJECT
public:
    Dispatcher(JobCatalog &catalog, InstanceBook &book, QObject *parent = nullptr);

    void addLink(WorkerLink *link);
    void removeLink(WorkerLink *link);
    QList<WorkerLink *> links() const;
    WorkerLink *link(const QString &id) const;

    // Queues an instance (WAITING_DISPATCH or WAITING_WORKER) for dispatch now / at dueMs.
    void enqueue(qint64 instanceId);
    void enqueueAt(qint64 instanceId, qint64 dueMs);
    // Forgets a queued instance (canceled).
    void forget(qint64 instanceId);
    // A run of `jobId` ended: its slot is free for held retries.
    void slotFreed(qint64 jobId);
    // Dispatches as much of the queue as the links take. Called after every change.
    void pump();

private:
    WorkerLink *pickLink(const Job &job);
    static bool matchesTargets(const WorkerLink *link, const QStringList &targets);

    JobCatalog &m_catalog;
    InstanceBook &m_book;
    QList<QPointer<WorkerLink>> m_links;
    std::deque<qint64> m_ready;
    QHash<qint64, QList<qint64>> m_heldByJob; // retries waiting for a concurrency slot
    QList<qint64> m_waitingWorker;            // no live worker fits
    TimerQueue m_due;
    int m_roundRobin = 0;
    bool m_pumpScheduled = false;
};

} // namespace kairos::server
