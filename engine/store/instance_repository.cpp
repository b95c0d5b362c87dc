#include "instance_repository.h"

#include "row_batch.h"
#include "sql_util.h"
#include "sqlite_row.h"
#include "store_log.h"
#include "task_repository.h"

#include <core/clock.h>

#include <QSet>

#include <algorithm>
#include <numeric>

namespace kairos {
namespace {

const QString kInsertColumns = QStringLiteral(
    "id, job_id, workflow_run_id, job_name, status, reason, trigger_kind, fire_time_ms, attempt, "
    "max_attempts, params, result, worker, created_at_ms, dispatched_at_ms, started_at_ms, "
    "finished_at_ms, next_attempt_at_ms, version");
using sql::ColumnType;
const QList<ColumnType> kInsertTypes = {
    ColumnType::BigInt, ColumnType::BigInt, ColumnType::BigInt, ColumnType::Text,
    ColumnType::Text,   ColumnType::Text,   ColumnType::Text,   ColumnType::BigInt,
    ColumnType::Int,    ColumnType::Int,    ColumnType::Text,   ColumnType::Text,
    ColumnType::Text,   ColumnType::BigInt, ColumnType::BigInt, ColumnType::BigInt,
    ColumnType::BigInt, ColumnType::BigInt, ColumnType::BigInt};

// An update row, in the order of the SQLite statement's parameters (SET values, then the key).
const QStringList kUpdateNames = {
    QStringLiteral("status"),  QStringLiteral("reason"),   QStringLiteral("attempt"),
    QStringLiteral("worker"),  QStringLiteral("result"),   QStringLiteral("dispatched"),
    QStringLiteral("started"), QStringLiteral("finished"), QStringLiteral("next_attempt"),
    QStringLiteral("id"),      QStringLiteral("expected")};
const QList<ColumnType> kUpdateTypes = {ColumnType::Text,   ColumnType::Text,   ColumnType::Int,
                                        ColumnType::Text,   ColumnType::Text,   ColumnType::BigInt,
                                        ColumnType::BigInt, ColumnType::BigInt, ColumnType::BigInt,
                                        ColumnType::BigInt, ColumnType::BigInt};
const QString kUpdateSets =
    QStringLiteral("status = %1status, reason = %1reason, attempt = %1attempt, worker = %1worker, "
                   "result = %1result, dispatched_at_ms = %1dispatched, started_at_ms = %1started, "
                   "finished_at_ms = %1finished, next_attempt_at_ms = %1next_attempt");

const QList<ColumnType> kAttemptTypes = {ColumnType::BigInt, ColumnType::Int,  ColumnType::Text,
                                         ColumnType::Text,   ColumnType::Text, ColumnType::BigInt,
                                         ColumnType::BigInt};
const QString kAttemptColumns =
    QStringLiteral("instance_id, attempt, status, worker, reason, started_at_ms, finished_at_ms");
const QString kAttemptUpsert = QStringLiteral(
    " ON CONFLICT (instance_id, attempt) DO UPDATE SET status = excluded.status, "
    "worker = excluded.worker, reason = excluded.reason, "
    "started_at_ms = excluded.started_at_ms, finished_at_ms = excluded.finished_at_ms");

// One encoding per row kind, used with sql::RowBatch (PostgreSQL) and sql::SqliteRow (SQLite).
template<typename Sink> void encodeInstance(Sink &s, qint64 id, const Instance &i)
{
    s.add(id)
        .add(i.jobId)
        .addNullIfZero(i.workflowRunId)
        .add(i.jobName)
        .add(toString(i.status))
        .add(i.reason)
        .add(toString(i.trigger))
        .addNullIfZero(i.fireTimeMs)
        .add(qint64(i.attempt))
        .add(qint64(i.maxAttempts))
        .add(i.params)
        .add(i.result)
        .add(i.worker)
        .add(i.createdAtMs)
        .add(i.dispatchedAtMs)
        .add(i.startedAtMs)
        .add(i.finishedAtMs)
        .add(i.nextAttemptAtMs)
        .add(qint64(1));
    s.endRow();
}

template<typename Sink> void encodeUpdate(Sink &s, const InstanceUpdate &u)
{
    s.add(toString(u.status))
        .add(u.reason)
        .add(qint64(u.attempt))
        .add(u.worker)
        .add(u.result)
        .add(u.dispatchedAtMs)
        .add(u.startedAtMs)
        .add(u.finishedAtMs)
        .add(u.nextAttemptAtMs)
        .add(u.id)
        .add(u.expectedVersion);
    s.endRow();
}

template<typename Sink> void encodeAttempt(Sink &s, const Attempt &a)
{
    s.add(a.instanceId)
        .add(qint64(a.attempt))
        .add(toString(a.status))
        .add(a.worker)
        .add(a.reason)
        .add(a.startedAtMs)
        .add(a.finishedAtMs);
    s.endRow();
}

// Rows per statement: big enough to amortise a round trip, small enough to keep statements
// and the memory for their parameters modest.
constexpr int kRowsPerStatement = 1000;
constexpr int kIdBlock = 256; // PostgreSQL instance ids fetched per round trip at least

// The current job name wins over the one copied at insert (a renamed job shows its new name);
// the copy is what remains once the job is removed.
const QString kSelectColumns = QStringLiteral(
    "i.id, i.job_id, i.workflow_run_id, COALESCE(j.name, i.job_name), i.status, i.reason, "
    "i.trigger_kind, i.fire_time_ms, i.attempt, i.max_attempts, i.params, i.result, i.worker, "
    "i.created_at_ms, i.dispatched_at_ms, i.started_at_ms, i.finished_at_ms, "
    "i.next_attempt_at_ms, i.version");
const QString kFrom = QStringLiteral("FROM instances i LEFT JOIN jobs j ON j.id = i.job_id");

constexpr int kDeleteChunk = 1000;

QStringList statusNames(bool terminal)
{
    QStringList names;
    for (const QString &name : instanceStatusNames()) {
        const auto s = instanceStatusFromString(name);
        if (s && isTerminal(*s) == terminal)
            names << name;
    }
    return names;
}

InstanceStatus statusOr(const QVariant &v, qint64 id)
{
    if (const auto s = instanceStatusFromString(v.toString()))
        return *s;
    qCWarning(lcStoreDb) << "instances.status of instance" << id << "holds unknown value"
                         << v.toString();
    return InstanceStatus::Failed;
}

Instance readInstance(const QSqlQuery &q)
{
    Instance i;
    int c = 0;
    i.id = q.value(c++).toLongLong();
    i.jobId = q.value(c++).toLongLong();
    i.workflowRunId = sql::toInt64(q.value(c++));
    i.jobName = q.value(c++).toString();
    i.status = statusOr(q.value(c++), i.id);
    i.reason = q.value(c++).toString();
    i.trigger = triggerKindFromString(q.value(c++).toString()).value_or(TriggerKind::Api);
    i.fireTimeMs = sql::toInt64(q.value(c++));
    i.attempt = q.value(c++).toInt();
    i.maxAttempts = q.value(c++).toInt();
    i.params = q.value(c++).toString();
    i.result = q.value(c++).toString();
    i.worker = q.value(c++).toString();
    i.createdAtMs = q.value(c++).toLongLong();
    i.dispatchedAtMs = q.value(c++).toLongLong();
    i.startedAtMs = q.value(c++).toLongLong();
    i.finishedAtMs = q.value(c++).toLongLong();
    i.nextAttemptAtMs = q.value(c++).toLongLong();
    i.version = q.value(c++).toLongLong();
    return i;
}

// The filter's conditions except status, on table alias `t` (with its bind values).
void filterConditions(const InstanceFilter &f, const QString &t, QStringList &where,
                      QVariantList &binds, bool withPaging)
{
    if (f.jobId != 0) {
        where << t + QStringLiteral("job_id = ?");
        binds << f.jobId;
    }
    if (f.createdFromMs != 0) {
        where << t + QStringLiteral("created_at_ms >= ?");
        binds << f.createdFromMs;
    }
    if (f.createdToMs != 0) {
        where << t + QStringLiteral("created_at_ms <= ?");
        binds << f.createdToMs;
    }
    if (!f.worker.isEmpty()) {
        where << t + QStringLiteral("worker = ?");
        binds << f.worker;
    }
    if (withPaging && f.beforeId != 0) {
        where << t + QStringLiteral("id < ?");
        binds << f.beforeId;
    }
}

QString whereClause(const QStringList &conditions)
{
    return conditions.isEmpty()
               ? QString()
               : QStringLiteral(" WHERE ") + conditions.join(QStringLiteral(" AND "));
}

} // namespace

InstanceUpdate updateFrom(const Instance &i)
{
    InstanceUpdate u;
    u.id = i.id;
    u.expectedVersion = i.version;
    u.status = i.status;
    u.reason = i.reason;
    u.attempt = i.attempt;
    u.worker = i.worker;
    u.result = i.result;
    u.dispatchedAtMs = i.dispatchedAtMs;
    u.startedAtMs = i.startedAtMs;
    u.finishedAtMs = i.finishedAtMs;
    u.nextAttemptAtMs = i.nextAttemptAtMs;
    return u;
}

Status InstanceRepository::fillJobNames(QList<Instance> &instances)
{
    QSet<qint64> missing;
    for (const Instance &i : instances) {
        if (i.jobName.isEmpty())
            missing.insert(i.jobId);
    }
    if (missing.isEmpty())
        return {};
    auto q = m_db.prepared(QStringLiteral("SELECT id, name FROM jobs WHERE id IN (%1)")
                               .arg(sql::RowBatch::idList(m_db.dialect())));
    if (!q)
        return makeError(q.error());
    QSqlQuery &query = **q;
    query.addBindValue(
        sql::RowBatch::idListParam(m_db.dialect(), QList<qint64>(missing.begin(), missing.end())));
    if (!query.exec())
        return sql::error(QStringLiteral("reading job names"), query.lastError());
    QHash<qint64, QString> names;
    while (query.next())
        names.insert(query.value(0).toLongLong(), query.value(1).toString());
    query.finish();
    for (Instance &i : instances) {
        if (i.jobName.isEmpty())
            i.jobName = names.value(i.jobId);
    }
    return {};
}

Result<QList<qint64>> InstanceRepository::allocateIds(int count)
{
    QList<qint64> ids;
    ids.reserve(count);
    if (m_db.dialect() == Dialect::Postgres) {
        // Taken from the sequence in blocks: a batch of small writes then costs no round trip
        // for its ids. Ids stay unique across servers; each server's are increasing.
        QList<qint64> &pool = m_db.instanceIdPool();
        if (pool.size() < count) {
            auto q = m_db.prepared(QStringLiteral("SELECT nextval('instances_id_seq') FROM "
                                                  "generate_series(1, CAST(? AS INTEGER))"));
            if (!q)
                return makeError(q.error());
            (*q)->addBindValue(std::max(count - int(pool.size()), kIdBlock));
            if (!(*q)->exec())
                return sql::error(QStringLiteral("allocating instance ids"), (*q)->lastError());
            while ((*q)->next())
                pool << (*q)->value(0).toLongLong();
            (*q)->finish();
            std::sort(pool.begin(), pool.end());
        }
        ids = pool.mid(0, count);
        pool.remove(0, std::min(count, int(pool.size())));
    } else {
        // The caller holds SQLite's write lock (BEGIN IMMEDIATE), so nobody else can take these
        // ids before our INSERT. Counting from sqlite_sequence as well keeps ids of deleted rows
        // retired, like AUTOINCREMENT itself does.
        auto q = m_db.prepared(QStringLiteral(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'instances'), 0),"
            " COALESCE((SELECT MAX(id) FROM instances), 0))"));
        if (!q)
            return makeError(q.error());
        if (!(*q)->exec() || !(*q)->next())
            return sql::error(QStringLiteral("allocating instance ids"), (*q)->lastError());
        const qint64 base = (*q)->value(0).toLongLong();
        (*q)->finish();
        for (int k = 1; k <= count; ++k)
            ids << base + k;
    }
    if (ids.size() != count)
        return makeError(QStringLiteral("store: allocating instance ids: got %1 of %2")
                             .arg(ids.size())
                             .arg(count));
    return ids;
}

Status InstanceRepository::insertBatch(QList<Instance> &instances, QList<bool> *inserted)
{
    const int n = instances.size();
    if (inserted)
        inserted->fill(false, n);
    if (n == 0)
        return {};
    const qint64 now = nowMs();
    for (Instance &i : instances) {
        if (i.createdAtMs == 0)
            i.createdAtMs = now;
    }
    if (auto s = fillJobNames(instances); !s)
        return s;

    Transaction tx(m_db);
    if (auto s = tx.begin(); !s)
        return s;
    auto ids = allocateIds(n);
    if (!ids)
        return makeError(ids.error());

    // Rows go to the database sorted by their fire key, so two servers inserting overlapping
    // batches take the unique-index locks in the same order and cannot deadlock.
    QList<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        const Instance &x = instances[a];
        const Instance &y = instances[b];
        return std::pair(x.jobId, x.fireTimeMs) < std::pair(y.jobId, y.fireTimeMs);
    });

    QList<qint64> assigned(n, 0);
    const auto id = [&](int k) { return ids.value()[k]; };
    if (m_db.dialect() == Dialect::Sqlite) {
        auto q = m_db.prepared(
            QStringLiteral("INSERT INTO instances (%1) VALUES (%2) "
                           "ON CONFLICT (job_id, fire_time_ms) DO NOTHING")
                .arg(kInsertColumns, sql::SqliteRow::placeholders(kInsertTypes.size())));
        if (!q)
            return makeError(q.error());
        sql::SqliteRow row(q.value());
        for (int k : order) {
            encodeInstance(row, id(k), instances[k]);
            if (auto s = row.exec(QStringLiteral("inserting %1 instances").arg(n)); !s)
                return s;
            if (row.changes() == 1) // 0: the fire key existed
                assigned[k] = id(k);
        }
    } else {
        auto q = m_db.prepared(
            QStringLiteral("INSERT INTO instances (%1) %2 "
                           "ON CONFLICT (job_id, fire_time_ms) DO NOTHING RETURNING id")
                .arg(kInsertColumns,
                     sql::RowBatch::source(kInsertTypes,
                                           kInsertColumns.split(QStringLiteral(", ")))));
        if (!q)
            return makeError(q.error());
        QSqlQuery &query = **q;
        for (int from = 0; from < n; from += kRowsPerStatement) {
            const int to = std::min(n, from + kRowsPerStatement);
            sql::RowBatch rows(kInsertTypes);
            for (int r = from; r < to; ++r)
                encodeInstance(rows, id(order[r]), instances[order[r]]);
            for (const QVariant &p : rows.params())
                query.addBindValue(p);
            if (!query.exec())
                return sql::error(QStringLiteral("inserting %1 instances").arg(n),
                                  query.lastError());
            // RETURNING order is unspecified and skipped rows return nothing: map by id.
            QSet<qint64> created;
            while (query.next())
                created.insert(query.value(0).toLongLong());
            query.finish();
            for (int r = from; r < to; ++r) {
                if (created.contains(id(order[r])))
                    assigned[order[r]] = id(order[r]);
            }
        }
    }
    if (auto s = tx.commit(); !s)
        return s;
    for (int k = 0; k < n; ++k) {
        instances[k].id = assigned[k];
        instances[k].version = assigned[k] ? 1 : 0;
        if (inserted)
            (*inserted)[k] = assigned[k] != 0;
    }
    return {};
}

Status InstanceRepository::updateChunkPostgres(const QList<InstanceUpdate> &updates, int from,
                                               int to, QList<bool> &applied)
{
    auto q = m_db.prepared(
        QStringLiteral("UPDATE instances AS i SET %1, version = i.version + 1 FROM (%2) AS v "
                       "WHERE i.id = v.id AND i.version = v.expected RETURNING i.id")
            .arg(kUpdateSets.arg(QStringLiteral("v.")),
                 sql::RowBatch::source(kUpdateTypes, kUpdateNames)));
    if (!q)
        return makeError(q.error());
    // Sorted by id, so concurrent batches lock rows in the same order.
    QList<int> order(to - from);
    std::iota(order.begin(), order.end(), from);
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return updates[a].id < updates[b].id; });
    sql::RowBatch rows(kUpdateTypes);
    for (int k : order)
        encodeUpdate(rows, updates[k]);
    QSqlQuery &query = **q;
    for (const QVariant &p : rows.params())
        query.addBindValue(p);
    if (!query.exec())
        return sql::error(QStringLiteral("updating %1 instances").arg(to - from),
                          query.lastError());
    QSet<qint64> done;
    while (query.next())
        done.insert(query.value(0).toLongLong());
    query.finish();
    for (int k = from; k < to; ++k)
        applied[k] = done.contains(updates[k].id);
    return {};
}

Status InstanceRepository::applyUpdates(const QList<InstanceUpdate> &updates,
                                        QList<bool> *appliedOut)
{
    const int n = updates.size();
    QList<bool> applied(n, false);
    if (appliedOut)
        appliedOut->fill(false, n);
    if (n == 0)
        return {};
    Transaction tx(m_db);
    if (auto s = tx.begin(); !s)
        return s;
    if (m_db.dialect() == Dialect::Sqlite) {
        // Parameters in kUpdateNames order.
        auto q = m_db.prepared(QStringLiteral(
            "UPDATE instances SET status = :p0, reason = :p1, attempt = :p2, worker = :p3,"
            " result = :p4, dispatched_at_ms = :p5, started_at_ms = :p6, finished_at_ms = :p7,"
            " next_attempt_at_ms = :p8, version = version + 1 WHERE id = :p9 AND version = :p10"));
        if (!q)
            return makeError(q.error());
        sql::SqliteRow row(q.value());
        for (int k = 0; k < n; ++k) {
            encodeUpdate(row, updates[k]);
            if (auto s = row.exec(QStringLiteral("updating instance %1").arg(updates[k].id)); !s)
                return s;
            applied[k] = row.changes() == 1;
        }
    } else {
        // One UPDATE ... FROM unnest(...) per chunk. A row joins at most one source row per
        // statement, so a second update of the same id starts a new statement, keeping the
        // in-order semantics.
        int from = 0;
        while (from < n) {
            QSet<qint64> seen;
            int to = from;
            while (to < n && to - from < kRowsPerStatement && !seen.contains(updates[to].id))
                seen.insert(updates[to++].id);
            if (auto s = updateChunkPostgres(updates, from, to, applied); !s)
                return s;
            from = to;
        }
    }
    if (auto s = tx.commit(); !s)
        return s;
    if (appliedOut)
        *appliedOut = applied;
    return {};
}

QList<Instance> InstanceRepository::select(const QString &sqlText, const QVariantList &binds)
{
    QList<Instance> out;
    auto q = m_db.prepared(sqlText);
    if (!q) {
        qCWarning(lcStoreDb) << q.error();
        return out;
    }
    QSqlQuery &query = **q;
    for (const QVariant &b : binds)
        query.addBindValue(b);
    if (!query.exec()) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("reading instances"), query.lastError()).message;
        return out;
    }
    while (query.next())
        out << readInstance(query);
    query.finish();
    return out;
}

std::optional<Instance> InstanceRepository::get(qint64 id)
{
    const auto rows =
        select(QStringLiteral("SELECT %1 %2 WHERE i.id = ?").arg(kSelectColumns, kFrom), {id});
    return rows.isEmpty() ? std::nullopt : std::optional<Instance>(rows.first());
}

QList<Instance> InstanceRepository::list(const InstanceFilter &filter)
{
    const int limit = filter.limit > 0 ? filter.limit : 100;
    QStringList where;
    QVariantList binds;
    QString sqlText;
    if (filter.statuses.size() <= 1) {
        filterConditions(filter, QStringLiteral("i."), where, binds, true);
        if (filter.statuses.size() == 1) {
            where << QStringLiteral("i.status = ?");
            binds << toString(filter.statuses.first());
        }
        sqlText = QStringLiteral("SELECT %1 %2%3 ORDER BY i.id DESC LIMIT ?")
                      .arg(kSelectColumns, kFrom, whereClause(where));
        binds << limit;
    } else {
        // One index range scan per status on (status, id), newest first, merged: an IN list
        // would make the database sort every matching row before applying the limit.
        QStringList parts;
        for (InstanceStatus s : filter.statuses) {
            QStringList partWhere{QStringLiteral("status = ?")};
            binds << toString(s);
            filterConditions(filter, QString(), partWhere, binds, true);
            binds << limit;
            parts << QStringLiteral("SELECT id FROM (SELECT id FROM instances%1 ORDER BY id DESC "
                                    "LIMIT ?) AS s%2")
                         .arg(whereClause(partWhere))
                         .arg(parts.size());
        }
        sqlText = QStringLiteral("SELECT %1 %2 WHERE i.id IN (%3) ORDER BY i.id DESC LIMIT ?")
                      .arg(kSelectColumns, kFrom, parts.join(QStringLiteral(" UNION ALL ")));
        binds << limit;
    }
    return select(sqlText, binds);
}

qint64 InstanceRepository::count(const InstanceFilter &filter)
{
    QStringList where;
    QVariantList binds;
    filterConditions(filter, QString(), where, binds, false);
    if (!filter.statuses.isEmpty()) {
        QStringList names;
        for (InstanceStatus s : filter.statuses) {
            names << QStringLiteral("?");
            binds << toString(s);
        }
        where << QStringLiteral("status IN (%1)").arg(names.join(QStringLiteral(", ")));
    }
    QSqlQuery q = m_db.newQuery();
    if (!q.prepare(QStringLiteral("SELECT COUNT(*) FROM instances%1").arg(whereClause(where)))) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("counting instances"), q.lastError()).message;
        return 0;
    }
    for (const QVariant &b : binds)
        q.addBindValue(b);
    if (!q.exec() || !q.next()) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("counting instances"), q.lastError()).message;
        return 0;
    }
    return q.value(0).toLongLong();
}

QList<Instance> InstanceRepository::listNonTerminal()
{
    return select(QStringLiteral("SELECT %1 %2 WHERE i.status IN (%3) ORDER BY i.id")
                      .arg(kSelectColumns, kFrom, sql::quotedList(statusNames(false))),
                  {});
}

QHash<qint64, int> InstanceRepository::countActiveByJob()
{
    QHash<qint64, int> out;
    QSqlQuery q = m_db.newQuery();
    if (!q.exec(QStringLiteral("SELECT job_id, COUNT(*) FROM instances WHERE status IN (%1) "
                               "GROUP BY job_id")
                    .arg(sql::quotedList(statusNames(false))))) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("counting active instances"), q.lastError()).message;
        return out;
    }
    while (q.next())
        out.insert(q.value(0).toLongLong(), q.value(1).toInt());
    return out;
}

QHash<qint64, qint64> InstanceRepository::lastFireTimeByJob()
{
    QHash<qint64, qint64> out;
    // Per job a MAX over the (job_id, fire_time_ms) index: a few index probes per job instead
    // of a scan of every instance.
    QSqlQuery q = m_db.newQuery();
    if (!q.exec(QStringLiteral("SELECT j.id, (SELECT MAX(i.fire_time_ms) FROM instances i "
                               "WHERE i.job_id = j.id) FROM jobs j"))) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("reading last fire times"), q.lastError()).message;
        return out;
    }
    while (q.next()) {
        if (!q.value(1).isNull())
            out.insert(q.value(0).toLongLong(), q.value(1).toLongLong());
    }
    return out;
}

Result<int> InstanceRepository::deleteFinishedBefore(qint64 ms)
{
    int total = 0;
    const QString terminal = sql::quotedList(statusNames(true));
    for (;;) {
        Transaction tx(m_db);
        if (auto s = tx.begin(); !s)
            return makeError(s.error());
        // created <= finished, so the created_at index bounds the scan. On SQLite "+status"
        // keeps the planner (which has no statistics) off the status index: with nothing to
        // delete that would walk every finished instance.
        QSqlQuery pick = m_db.newQuery();
        pick.prepare(
            QStringLiteral("SELECT id FROM instances WHERE created_at_ms < ? AND "
                           "finished_at_ms < ? AND %1status IN (%2) LIMIT %3")
                .arg(m_db.dialect() == Dialect::Sqlite ? QStringLiteral("+") : QString(), terminal)
                .arg(kDeleteChunk));
        pick.addBindValue(ms);
        pick.addBindValue(ms);
        if (!pick.exec())
            return sql::error(QStringLiteral("finding finished instances"), pick.lastError());
        QList<qint64> ids;
        while (pick.next())
            ids << pick.value(0).toLongLong();
        pick.finish();
        if (ids.isEmpty()) {
            if (auto s = tx.commit(); !s)
                return makeError(s.error());
            break;
        }
        const QString in = sql::RowBatch::idList(m_db.dialect());
        const QVariant idParam = sql::RowBatch::idListParam(m_db.dialect(), ids);
        // Tasks have no foreign key (docs/storage.md): they go explicitly, first.
        if (auto s = TaskRepository(m_db).removeForInstances(ids); !s)
            return makeError(s.error());
        const QStringList statements = {
            QStringLiteral("DELETE FROM instance_logs WHERE instance_id IN (%1)").arg(in),
            QStringLiteral("DELETE FROM instance_attempts WHERE instance_id IN (%1)").arg(in),
            QStringLiteral("DELETE FROM instances WHERE id IN (%1)").arg(in),
        };
        for (const QString &sqlText : statements) {
            auto q = m_db.prepared(sqlText);
            if (!q)
                return makeError(q.error());
            (*q)->addBindValue(idParam);
            if (!(*q)->exec())
                return sql::error(QStringLiteral("deleting finished instances"), (*q)->lastError());
            (*q)->finish();
        }
        if (auto s = tx.commit(); !s)
            return makeError(s.error());
        total += ids.size();
        if (ids.size() < kDeleteChunk)
            break;
    }
    return total;
}

Status InstanceRepository::insertAttempts(const QList<Attempt> &input)
{
    if (input.isEmpty())
        return {};
    // One row per key (the last wins): PostgreSQL refuses to upsert the same row twice in one
    // statement.
    QList<Attempt> attempts;
    QHash<QPair<qint64, int>, int> index;
    for (const Attempt &a : input) {
        const auto key = qMakePair(a.instanceId, a.attempt);
        if (auto it = index.constFind(key); it != index.constEnd()) {
            attempts[*it] = a;
        } else {
            index.insert(key, attempts.size());
            attempts << a;
        }
    }
    Transaction tx(m_db);
    if (auto s = tx.begin(); !s)
        return s;
    if (m_db.dialect() == Dialect::Sqlite) {
        auto q = m_db.prepared(
            QStringLiteral("INSERT INTO instance_attempts (%1) VALUES (%2)")
                .arg(kAttemptColumns, sql::SqliteRow::placeholders(kAttemptTypes.size()))
            + kAttemptUpsert);
        if (!q)
            return makeError(q.error());
        sql::SqliteRow row(q.value());
        for (const Attempt &a : attempts) {
            encodeAttempt(row, a);
            const Status s = row.exec(QStringLiteral("storing attempt %1 of instance %2")
                                          .arg(a.attempt)
                                          .arg(a.instanceId));
            if (!s)
                return s;
        }
    } else {
        auto q =
            m_db.prepared(QStringLiteral("INSERT INTO instance_attempts (%1) %2")
                              .arg(kAttemptColumns,
                                   sql::RowBatch::source(
                                       kAttemptTypes, kAttemptColumns.split(QStringLiteral(", "))))
                          + kAttemptUpsert);
        if (!q)
            return makeError(q.error());
        for (int from = 0; from < attempts.size(); from += kRowsPerStatement) {
            const int to = std::min(int(attempts.size()), from + kRowsPerStatement);
            sql::RowBatch rows(kAttemptTypes);
            for (int k = from; k < to; ++k)
                encodeAttempt(rows, attempts[k]);
            for (const QVariant &p : rows.params())
                (*q)->addBindValue(p);
            if (!(*q)->exec())
                return sql::error(QStringLiteral("storing %1 attempts").arg(to - from),
                                  (*q)->lastError());
            (*q)->finish();
        }
    }
    return tx.commit();
}

QList<Attempt> InstanceRepository::attempts(qint64 instanceId)
{
    QList<Attempt> out;
    auto q = m_db.prepared(QStringLiteral(
        "SELECT instance_id, attempt, status, worker, reason, started_at_ms, finished_at_ms "
        "FROM instance_attempts WHERE instance_id = ? ORDER BY attempt"));
    if (!q) {
        qCWarning(lcStoreDb) << q.error();
        return out;
    }
    QSqlQuery &query = **q;
    query.addBindValue(instanceId);
    if (!query.exec()) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("reading attempts"), query.lastError()).message;
        return out;
    }
    while (query.next()) {
        Attempt a;
        a.instanceId = query.value(0).toLongLong();
        a.attempt = query.value(1).toInt();
        a.status = statusOr(query.value(2), a.instanceId);
        a.worker = query.value(3).toString();
        a.reason = query.value(4).toString();
        a.startedAtMs = query.value(5).toLongLong();
        a.finishedAtMs = query.value(6).toLongLong();
        out << a;
    }
    query.finish();
    return out;
}

} // namespace kairos
