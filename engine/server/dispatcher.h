#pragma once
// Dispatcher: hands ready instances to worker links. Ready instances wait in FIFO order (and in
// a timer queue until they are due: prepared scheduled fires, retries after their backoff).
// At dispatch time it enforces the job's concurrency limit: a new run (attempt 1) of a job
// that already runs its maximum is SKIPPED with the reason; a retry waits for a free slot.
//
// Choosing a worker (docs/protocol.md 12.4): the links of the job's app ("*" serves every app)
// that are alive, match the SPECIFIED targets (ids, advertised addresses or `tag:NAME`), have
// the free memory / disk the job asks for and are not overloaded by load are the candidates;
// the strategy (health-first, round-robin, random) picks one of those with a free slot. With no
// candidate the instance waits in WAITING_WORKER with a reason naming what is missing (no live
// worker of the app, none matching the targets, or the first filter rejection) and is tried
// again when a link is added or a link's changed() shows new health or room. Candidates with
// no free slot are not a reason to wait: the instance stays queued until slots free up.
//
// The pump runs per batch of thousands of instances, so the candidate list of a job is worked
// out once per pump and reused for each of its instances.
//
// BROADCAST, MAP and MAP_REDUCE runs are not placed on one worker: once their job has
// candidates, the instance is handed to the TaskTracker (setTracker) with the candidate list, and
// counts as one running instance of its job like any dispatched run. The tracker asks for the
// candidates of a job again whenever it places tasks (eligibleLinks), and is pumped at the end of
// every dispatcher pump.
//
// Not thread-safe: engine thread only.

#include "job_catalog.h"
#include "timer_queue.h"
#include "worker_link.h"

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QSet>

#include <deque>

namespace kairos::server {

class InstanceBook;
class TaskTracker;

class Dispatcher : public QObject {
    Q_OBJECT
public:
    Dispatcher(JobCatalog &catalog, InstanceBook &book, QObject *parent = nullptr);

    // Takes a link into the candidate set (the caller keeps ownership; a deleted link drops out
    // by itself) and follows its changed() signal. Instances waiting for a worker get another
    // chance. Engine thread.
    void addLink(WorkerLink *link);
    // Stops dispatching to the link. Engine thread.
    void removeLink(WorkerLink *link);
    QList<WorkerLink *> links() const;
    // The link of a worker id: the alive one when several carry it, else any, else null.
    // Engine thread.
    WorkerLink *link(const QString &id) const;
    // The alive links a run of `job` may use now (app, SPECIFIED targets, memory, disk and load
    // filters), in the order the dispatcher keeps them; when there is none, `waitReason` (if
    // given) says why, as a WAITING_WORKER instance shows it. Free slots are not checked.
    // Engine thread.
    QList<WorkerLink *> eligibleLinks(const Job &job, QString *waitReason = nullptr) const;

    // Instances of tracked jobs (TaskTracker::tracks) are handed to `tracker` from now on, and
    // the tracker is pumped after each pump. The tracker must outlive the dispatcher's use of
    // it (set null before deleting it). Engine thread.
    void setTracker(TaskTracker *tracker) { m_tracker = tracker; }

    // Queues an instance (WAITING_DISPATCH or WAITING_WORKER) for dispatch now / at dueMs.
    // Engine thread.
    void enqueue(qint64 instanceId);
    void enqueueAt(qint64 instanceId, qint64 dueMs);
    // A DISPATCHED instance whose task came back unstarted (a draining worker, a refused
    // dispatch): moves it back to WAITING_DISPATCH with the same attempt, releases the job's
    // concurrency slot it held (so the caller must not also report the run as ended) and queues
    // it ahead of newer work. Does nothing for an instance in any other state. Engine thread.
    void requeue(qint64 instanceId, const QString &reason = {});
    // Forgets a queued instance (canceled). Engine thread.
    void forget(qint64 instanceId);
    // A run of `jobId` ended: its slot is free for held retries. Engine thread.
    void slotFreed(qint64 jobId);
    // Dispatches as much of the queue as the links take. Called after every change. Engine
    // thread.
    void pump();

private:
    // What one job may use during one pump: the links that passed every filter, or why none
    // did (the WAITING_WORKER reason).
    struct Candidates {
        QList<WorkerLink *> links;
        QString waitReason;
        bool full = false; // every candidate ran out of free slots during this pump
    };

    Candidates candidatesFor(const Job &job) const;
    WorkerLink *choose(const Job &job, Candidates &candidates,
                       const QHash<WorkerLink *, int> &planned);
    void pumpQueue();
    void schedulePump();
    void onLinkChanged();
    static bool matchesTargets(const WorkerLink *link, const QStringList &targets);
    static int roomOf(WorkerLink *link, const QHash<WorkerLink *, int> &planned);

    JobCatalog &m_catalog;
    InstanceBook &m_book;
    QList<QPointer<WorkerLink>> m_links;
    std::deque<qint64> m_ready;
    QHash<qint64, QList<qint64>> m_heldByJob; // retries waiting for a concurrency slot
    QList<qint64> m_waitingWorker;            // no live worker fits
    bool m_retryWaiting = false;              // a link changed: look at m_waitingWorker again
    QSet<qint64> m_returned;                  // handed back by a worker, queued again
    QHash<qint64, quint64> m_roundRobin;      // per job: where the next round-robin pick starts
    TimerQueue m_due;
    TaskTracker *m_tracker = nullptr;
    bool m_pumpScheduled = false;
    bool m_pumping = false;
    bool m_pumpAgain = false;
};

} // namespace kairos::server
