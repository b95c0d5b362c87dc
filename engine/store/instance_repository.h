#pragma once
// InstanceRepository: the runs of jobs, their attempts, and the queries the scheduler and the
// console need over millions of rows. Built for the hot path: every write takes a batch and
// runs multi-row statements that are prepared once per connection, in one transaction per
// batch (or inside the caller's transaction / StoreThread group commit). State transitions use
// optimistic locking (`WHERE id = ? AND version = ?`) and report lost races per row instead of
// failing. Synchronous and not thread-safe: use it on the thread that owns the Database.

#include "database.h"

#include <core/instance.h>

#include <QHash>
#include <QList>

#include <optional>

namespace kairos {

// The complete new state of one instance after a transition; every field is written as given.
struct InstanceUpdate {
    qint64 id = 0;
    qint64 expectedVersion = 0; // the version the caller read; the row becomes version + 1
    InstanceStatus status = InstanceStatus::WaitingDispatch;
    QString reason;
    int attempt = 1;
    QString worker;
    QString result;
    qint64 dispatchedAtMs = 0;
    qint64 startedAtMs = 0;
    qint64 finishedAtMs = 0;
    qint64 nextAttemptAtMs = 0;
};

// An update that writes `instance`'s current fields, expecting instance.version.
InstanceUpdate updateFrom(const Instance &instance);

class InstanceRepository {
public:
    explicit InstanceRepository(Database &db)
        : m_db(db)
    {}

    // Inserts the instances (one multi-row INSERT per chunk) and writes id and version = 1 into
    // them; createdAtMs is set to now when 0 and jobName is filled from the job when empty.
    // A scheduled fire is unique per (jobId, fireTimeMs) (fireTimeMs 0 = not scheduled, never
    // a duplicate): a duplicate is not an error; it is not created, its id stays 0 and
    // (*inserted)[i] is false. Atomic: on error nothing is inserted and ids stay 0.
    Status insertBatch(QList<Instance> &instances, QList<bool> *inserted = nullptr);
    // Applies each update if the row still has expectedVersion; (*applied)[i] tells which did
    // (false = a lost race or a missing row, a normal outcome). Updates of the same id in one
    // batch apply in order. Atomic as a batch: on error nothing is applied.
    Status applyUpdates(const QList<InstanceUpdate> &updates, QList<bool> *applied);

    std::optional<Instance> get(qint64 id);
    // Newest first (by id); keyset paging with filter.beforeId, at most filter.limit rows.
    QList<Instance> list(const InstanceFilter &filter);
    // How many instances match (beforeId and limit are ignored).
    qint64 count(const InstanceFilter &filter);
    // Every instance that is not in a terminal state, oldest first: what a restarted server
    // reconciles.
    QList<Instance> listNonTerminal();
    // Non-terminal instances per job id, for concurrency limits after a restart.
    QHash<qint64, int> countActiveByJob();
    // The latest recorded scheduled fire time per existing job, for misfire handling.
    QHash<qint64, qint64> lastFireTimeByJob();
    // Deletes terminal instances that finished before `ms`, with their attempts, tasks and logs, in
    // chunks (each chunk its own transaction unless a transaction is open). Returns how many.
    Result<int> deleteFinishedBefore(qint64 ms);

    // Inserts or replaces attempts, keyed by (instanceId, attempt).
    Status insertAttempts(const QList<Attempt> &attempts);
    QList<Attempt> attempts(qint64 instanceId); // ordered by attempt

private:
    Status updateChunkPostgres(const QList<InstanceUpdate> &updates, int from, int to,
                               QList<bool> &applied);
    Status fillJobNames(QList<Instance> &instances);
    Result<QList<qint64>> allocateIds(int count);
    QList<Instance> select(const QString &sql, const QVariantList &binds);

    Database &m_db;
};

} // namespace kairos
