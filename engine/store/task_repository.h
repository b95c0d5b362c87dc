#pragma once
// TaskRepository: the tasks of BROADCAST / MAP / MAP_REDUCE runs (table instance_tasks, schema
// version 3; docs/storage.md). Built for a million tasks per run: inserts and terminal updates
// take batches (multi-row statements prepared once per connection, like InstanceRepository);
// reads are keyset pages by task id. The server never holds a run's tasks in memory: it writes
// them as they are mapped, reads the waiting ones back a page at a time to dispatch them, and
// writes each terminal state once.
//
// A task row is written by one server only (the one running the instance): inserted once, then
// written once more with its final state. The terminal update is keyed by (instance, attempt,
// task id) and applies only while the row is not terminal, so nothing — a late report, a
// replayed batch — can change a task's outcome once it is stored.
//
// Synchronous and not thread-safe: use it on the thread that owns the Database (the store
// thread).

#include "database.h"

#include <core/task_info.h>

#include <QHash>
#include <QList>

namespace kairos {

// The final state of one task, written as given.
struct TaskUpdate {
    qint64 instanceId = 0;
    int attempt = 1;
    qint64 taskId = 0;
    InstanceStatus status = InstanceStatus::Succeeded;
    int runs = 1;
    QString worker;
    QString address;
    QString result;
    qint64 startedAtMs = 0;
    qint64 finishedAtMs = 0;
};

class TaskRepository {
public:
    explicit TaskRepository(Database &db)
        : m_db(db)
    {}

    // Inserts the tasks with the ids, statuses and fields they carry (the server allocates ids).
    // Atomic as a batch. A row whose (instance, attempt, task id) exists already is an error.
    Status insertBatch(const QList<TaskInfo> &tasks);
    // Applies each update whose row is not terminal yet; (*applied)[i] says which did (false:
    // already terminal, or no such row). Atomic as a batch.
    Status applyUpdates(const QList<TaskUpdate> &updates, QList<bool> *applied = nullptr);

    // Up to `limit` WAITING_DISPATCH tasks with id > afterTaskId, by id, payload included: the
    // dispatch window of a map run.
    QList<TaskInfo> waiting(qint64 instanceId, int attempt, qint64 afterTaskId, int limit);
    // One page for `instance.tasks` (payload not read), by task id.
    QList<TaskInfo> list(qint64 instanceId, int attempt, const TaskFilter &filter);
    // Up to `limit` terminal tasks of `role` with id > afterTaskId, by id: a reduce's input
    // (role Subtask) or a postProcess's (role Broadcast).
    QList<TaskResultEntry> results(qint64 instanceId, int attempt, TaskRole role,
                                   qint64 afterTaskId, int limit);
    // The counts by state of one instance attempt, and its highest task id (0 = none).
    TaskCounts counts(qint64 instanceId, int attempt, qint64 *maxTaskId = nullptr);
    // For every task of the attempt that is not terminal and has mapped items: how many
    // positions it has stored (max seq + 1) — the dedup state of running parents after a
    // restart. Bounded by the tasks that were running, not by the tasks that exist.
    QHash<qint64, qint64> mappedByOpenParents(qint64 instanceId, int attempt);
    // Tasks of the attempt that are not terminal, without payload, by id, at most `limit` with
    // id > afterTaskId (restart recovery of broadcast runs, which are small).
    QList<TaskInfo> open(qint64 instanceId, int attempt, qint64 afterTaskId, int limit);
    // Deletes the tasks of these instances (retention; InstanceRepository::deleteFinishedBefore
    // calls it for the instances it deletes).
    Status removeForInstances(const QList<qint64> &instanceIds);

private:
    Database &m_db;
};

} // namespace kairos
