#include "task_repository.h"

#include "row_batch.h"
#include "sql_util.h"
#include "sqlite_row.h"
#include "store_log.h"

#include <QSet>

#include <algorithm>
#include <array>

namespace kairos {
namespace {

using sql::ColumnType;

const QString kInsertColumns = QStringLiteral(
    "instance_id, attempt, task_id, parent_id, seq, name, role, status, runs, worker, address, "
    "result, payload, created_at_ms, started_at_ms, finished_at_ms");
const QList<ColumnType> kInsertTypes = {
    ColumnType::BigInt, ColumnType::Int,    ColumnType::BigInt, ColumnType::BigInt,
    ColumnType::BigInt, ColumnType::Text,   ColumnType::Text,   ColumnType::Text,
    ColumnType::Int,    ColumnType::Text,   ColumnType::Text,   ColumnType::Text,
    ColumnType::Bytes,  ColumnType::BigInt, ColumnType::BigInt, ColumnType::BigInt};

// An update row, in the order of the SQLite statement's parameters (SET values, then the key).
const QStringList kUpdateNames = {QStringLiteral("status"),   QStringLiteral("runs"),
                                  QStringLiteral("worker"),   QStringLiteral("address"),
                                  QStringLiteral("result"),   QStringLiteral("started"),
                                  QStringLiteral("finished"), QStringLiteral("instance_id"),
                                  QStringLiteral("attempt"),  QStringLiteral("task_id")};
const QList<ColumnType> kUpdateTypes = {ColumnType::Text,   ColumnType::Int,    ColumnType::Text,
                                        ColumnType::Text,   ColumnType::Text,   ColumnType::BigInt,
                                        ColumnType::BigInt, ColumnType::BigInt, ColumnType::Int,
                                        ColumnType::BigInt};

// Without payload: what listings show. readTask() reads the payload as the 16th column.
const QString kSelectColumns = QStringLiteral(
    "instance_id, attempt, task_id, parent_id, seq, name, role, status, runs, worker, address, "
    "result, created_at_ms, started_at_ms, finished_at_ms");

// Rows per PostgreSQL statement, and a bound on the text of one statement's arrays (payloads
// can be large; each byte becomes two hex digits).
constexpr int kRowsPerStatement = 5000;
constexpr qsizetype kBytesPerStatement = 8 << 20;
constexpr int kSqliteRowsPerInsert = 32; // 512 parameters
constexpr int kMaxPage = 10000;          // rows per read, whatever the caller asks for
constexpr int kDefaultPage = 100;

// The stored names of the enums, made once: toString() builds a new QString on every call,
// which a million rows notice.
const QString &statusName(InstanceStatus s)
{
    static const auto names = [] {
        std::array<QString, 16> n;
        for (const QString &name : instanceStatusNames()) {
            if (const auto v = instanceStatusFromString(name))
                n[size_t(*v)] = name;
        }
        return n;
    }();
    return names[size_t(s)];
}

const QString &roleName(TaskRole r)
{
    static const auto names = [] {
        std::array<QString, 16> n;
        for (const QString &name : taskRoleNames()) {
            if (const auto v = taskRoleFromString(name))
                n[size_t(*v)] = name;
        }
        return n;
    }();
    return names[size_t(r)];
}

template<typename Sink> void encodeTask(Sink &s, const TaskInfo &t)
{
    s.add(t.instanceId)
        .add(qint64(t.attempt))
        .add(t.taskId)
        .add(t.parentId)
        .add(t.seq)
        .add(t.name)
        .add(roleName(t.role))
        .add(statusName(t.status))
        .add(qint64(t.runs))
        .add(t.worker)
        .add(t.address)
        .add(t.result)
        .add(t.payload)
        .add(t.createdAtMs)
        .add(t.startedAtMs)
        .add(t.finishedAtMs);
    s.endRow();
}

template<typename Sink> void encodeUpdate(Sink &s, const TaskUpdate &u)
{
    s.add(statusName(u.status))
        .add(qint64(u.runs))
        .add(u.worker)
        .add(u.address)
        .add(u.result)
        .add(u.startedAtMs)
        .add(u.finishedAtMs)
        .add(u.instanceId)
        .add(qint64(u.attempt))
        .add(u.taskId);
    s.endRow();
}

QStringList terminalStatusNames()
{
    QStringList out;
    for (const QString &name : instanceStatusNames()) {
        const auto s = instanceStatusFromString(name);
        if (s && isTerminal(*s))
            out << name;
    }
    return out;
}

// "<column> <> 'SUCCEEDED' AND ...": a row that is not terminal. Spelled out rather than
// NOT IN (...): SQLite builds an ephemeral table for an IN list on every execution, which
// measured as a third of the cost of a single-row terminal update.
QString notTerminal(const QString &column)
{
    QStringList parts;
    for (const QString &name : terminalStatusNames())
        parts << QStringLiteral("%1 <> '%2'").arg(column, name);
    return parts.join(QStringLiteral(" AND "));
}

// "(<column> = 'SUCCEEDED' OR ...)": a terminal row.
QString terminal(const QString &column)
{
    QStringList parts;
    for (const QString &name : terminalStatusNames())
        parts << QStringLiteral("%1 = '%2'").arg(column, name);
    return u'(' + parts.join(QStringLiteral(" OR ")) + u')';
}

InstanceStatus statusOr(const QString &v, qint64 instanceId, qint64 taskId)
{
    if (const auto s = instanceStatusFromString(v))
        return *s;
    // A state nobody can read is never shown as a success.
    qCWarning(lcStoreDb) << "instance_tasks.status of task" << taskId << "of instance" << instanceId
                         << "holds unknown value" << v;
    return InstanceStatus::Failed;
}

TaskRole roleOr(const QString &v, qint64 instanceId, qint64 taskId)
{
    if (const auto r = taskRoleFromString(v))
        return *r;
    qCWarning(lcStoreDb) << "instance_tasks.role of task" << taskId << "of instance" << instanceId
                         << "holds unknown value" << v;
    return TaskRole::Subtask;
}

// The column accessors of sql::SqliteRow, over a QSqlQuery (PostgreSQL, and SQLite statements
// read once).
struct QueryColumns {
    const QSqlQuery &q;
    qint64 int64At(int c) const { return q.value(c).toLongLong(); }
    QString textAt(int c) const { return q.value(c).toString(); }
    QByteArray blobAt(int c) const { return q.value(c).toByteArray(); }
};

// Columns in kSelectColumns order, then the payload when `withPayload`.
template<typename Columns> TaskInfo readTask(const Columns &q, bool withPayload)
{
    TaskInfo t;
    int c = 0;
    t.instanceId = q.int64At(c++);
    t.attempt = int(q.int64At(c++));
    t.taskId = q.int64At(c++);
    t.parentId = q.int64At(c++);
    t.seq = q.int64At(c++);
    t.name = q.textAt(c++);
    t.role = roleOr(q.textAt(c++), t.instanceId, t.taskId);
    t.status = statusOr(q.textAt(c++), t.instanceId, t.taskId);
    t.runs = int(q.int64At(c++));
    t.worker = q.textAt(c++);
    t.address = q.textAt(c++);
    t.result = q.textAt(c++);
    t.createdAtMs = q.int64At(c++);
    t.startedAtMs = q.int64At(c++);
    t.finishedAtMs = q.int64At(c++);
    if (withPayload)
        t.payload = q.blobAt(c++);
    return t;
}

template<typename Columns> TaskResultEntry readResult(const Columns &q, qint64 instanceId)
{
    TaskResultEntry r;
    r.taskId = q.int64At(0);
    r.name = q.textAt(1);
    r.status = statusOr(q.textAt(2), instanceId, r.taskId);
    r.result = q.textAt(3);
    r.worker = q.textAt(4);
    r.address = q.textAt(5);
    r.runs = int(q.int64At(6));
    return r;
}

int pageSize(int limit)
{
    return limit <= 0 ? kDefaultPage : std::min(limit, kMaxPage);
}

// Rewrites the `?` of a statement to the ":p0", ":p1", ... that sql::SqliteRow binds (SQLite);
// PostgreSQL keeps `?`. The statements here hold no `?` inside literals.
QString placeholders(Dialect d, const QString &sqlText)
{
    if (d != Dialect::Sqlite)
        return sqlText;
    QString out;
    int next = 0;
    for (const QChar c : sqlText) {
        if (c == u'?')
            out += QStringLiteral(":p%1").arg(next++);
        else
            out += c;
    }
    return out;
}

// Runs a read with `binds` (qint64 or QString values) and hands every row's columns to `row`.
// On SQLite the rows come straight from the SQLite C API (sql::SqliteRow): for a window of
// thousands of tasks, QtSql's QVariant per value cost more than SQLite's whole work.
template<typename Fn>
bool readRows(Database &db, const QString &sqlText, const QVariantList &binds, const QString &what,
              Fn &&row)
{
    auto q = db.prepared(placeholders(db.dialect(), sqlText));
    if (!q) {
        qCWarning(lcStoreDb) << q.error();
        return false;
    }
    if (db.dialect() == Dialect::Sqlite) {
        sql::SqliteRow r(q.value());
        for (const QVariant &b : binds) {
            if (b.typeId() == QMetaType::QString)
                r.add(b.toString());
            else
                r.add(b.toLongLong());
        }
        for (;;) {
            const Result<bool> more = r.step(what);
            if (!more) {
                qCWarning(lcStoreDb) << more.error();
                return false;
            }
            if (!more.value())
                return true;
            row(r);
        }
    }
    QSqlQuery &query = **q;
    for (const QVariant &b : binds)
        query.addBindValue(b);
    if (!query.exec()) {
        qCWarning(lcStoreDb) << sql::error(what, query.lastError()).message;
        return false;
    }
    while (query.next())
        row(QueryColumns{query});
    query.finish();
    return true;
}

QList<TaskInfo> selectTasks(Database &db, const QString &sqlText, const QVariantList &binds,
                            bool withPayload, const QString &what)
{
    QList<TaskInfo> out;
    const bool ok =
        readRows(db, sqlText, binds, what, [&](const auto &r) { out << readTask(r, withPayload); });
    return ok ? out : QList<TaskInfo>();
}

// The identity of a task row.
struct Key {
    qint64 instanceId;
    int attempt;
    qint64 taskId;
    bool operator==(const Key &) const = default;
};
size_t qHash(const Key &k, size_t seed = 0)
{
    return qHashMulti(seed, k.instanceId, k.attempt, k.taskId);
}

Status validate(const TaskInfo &t, int index)
{
    const auto bad = [&](const QString &what) {
        return makeError(
            QStringLiteral("store: task %1 of the batch (instance %2, attempt %3, task %4): %5")
                .arg(index)
                .arg(t.instanceId)
                .arg(t.attempt)
                .arg(t.taskId)
                .arg(what));
    };
    if (t.instanceId <= 0)
        return bad(QStringLiteral("instanceId: expected a positive instance id"));
    if (t.attempt < 1)
        return bad(QStringLiteral("attempt: expected 1 or more"));
    if (t.taskId <= 0)
        return bad(QStringLiteral("taskId: expected a positive task id (ids start at 1)"));
    return {};
}

Error duplicateError(const QString &detail)
{
    return makeError(QStringLiteral("store: storing tasks: a task with the same (instance, "
                                    "attempt, task id) is stored already: %1")
                         .arg(detail));
}

} // namespace

Status TaskRepository::insertBatch(const QList<TaskInfo> &tasks)
{
    if (tasks.isEmpty())
        return {};
    for (int k = 0; k < tasks.size(); ++k) {
        if (auto s = validate(tasks[k], k); !s)
            return s;
    }
    Transaction tx(m_db);
    if (auto s = tx.begin(); !s)
        return s;
    if (m_db.dialect() == Dialect::Sqlite) {
        // kSqliteRowsPerInsert rows per statement, the rest one by one: one statement per row
        // spends about a third of its time starting and ending the statement (docs/storage.md).
        const int columns = int(kInsertTypes.size());
        auto many = m_db.prepared(
            QStringLiteral("INSERT INTO instance_tasks (%1) VALUES %2")
                .arg(kInsertColumns, sql::SqliteRow::rows(columns, kSqliteRowsPerInsert)));
        if (!many)
            return makeError(many.error());
        auto one = m_db.prepared(QStringLiteral("INSERT INTO instance_tasks (%1) VALUES %2")
                                     .arg(kInsertColumns, sql::SqliteRow::rows(columns, 1)));
        if (!one)
            return makeError(one.error());
        const QString what = QStringLiteral("storing %1 tasks").arg(tasks.size());
        sql::SqliteRow manyRows(many.value());
        sql::SqliteRow oneRow(one.value());
        int from = 0;
        while (from < tasks.size()) {
            const bool full = tasks.size() - from >= kSqliteRowsPerInsert;
            sql::SqliteRow &row = full ? manyRows : oneRow;
            const int to = from + (full ? kSqliteRowsPerInsert : 1);
            for (int k = from; k < to; ++k)
                encodeTask(row, tasks[k]);
            if (auto s = row.exec(what); !s) {
                if (!row.uniqueViolation())
                    return s;
                const TaskInfo &t = tasks[from];
                return duplicateError(
                    to - from == 1
                        ? QStringLiteral("task %1 of instance %2, attempt %3")
                              .arg(t.taskId)
                              .arg(t.instanceId)
                              .arg(t.attempt)
                        : QStringLiteral("one of tasks %1 to %2 (instance %3, attempt %4)")
                              .arg(t.taskId)
                              .arg(tasks[to - 1].taskId)
                              .arg(t.instanceId)
                              .arg(t.attempt));
            }
            from = to;
        }
    } else {
        auto q =
            m_db.prepared(QStringLiteral("INSERT INTO instance_tasks (%1) %2")
                              .arg(kInsertColumns,
                                   sql::RowBatch::source(
                                       kInsertTypes, kInsertColumns.split(QStringLiteral(", ")))));
        if (!q)
            return makeError(q.error());
        QSqlQuery &query = **q;
        int from = 0;
        while (from < tasks.size()) {
            sql::RowBatch rows(kInsertTypes);
            qsizetype bytes = 0;
            int to = from;
            while (to < tasks.size() && to - from < kRowsPerStatement
                   && bytes < kBytesPerStatement) {
                const TaskInfo &t = tasks[to++];
                bytes += t.payload.size() * 2 + (t.result.size() + t.name.size()) * 2 + 64;
                encodeTask(rows, t);
            }
            for (const QVariant &p : rows.params())
                query.addBindValue(p);
            if (!query.exec()) {
                if (sql::isUniqueViolation(query.lastError()))
                    return duplicateError(sql::errorText(query.lastError()));
                return sql::error(QStringLiteral("storing %1 tasks").arg(to - from),
                                  query.lastError());
            }
            query.finish();
            from = to;
        }
    }
    return tx.commit();
}

Status TaskRepository::applyUpdates(const QList<TaskUpdate> &updates, QList<bool> *appliedOut)
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
        // Parameters in kUpdateNames order. A terminal row does not match, so changes() says
        // per row whether the update applied.
        auto q = m_db.prepared(
            QStringLiteral("UPDATE instance_tasks SET status = :p0, runs = :p1, worker = :p2,"
                           " address = :p3, result = :p4, started_at_ms = :p5,"
                           " finished_at_ms = :p6 WHERE instance_id = :p7 AND attempt = :p8"
                           " AND task_id = :p9 AND %1")
                .arg(notTerminal(QStringLiteral("status"))));
        if (!q)
            return makeError(q.error());
        sql::SqliteRow row(q.value());
        const QString what = QStringLiteral("writing the final state of %1 tasks").arg(n);
        for (int k = 0; k < n; ++k) {
            encodeUpdate(row, updates[k]);
            if (auto s = row.exec(what); !s)
                return s;
            applied[k] = row.changes() == 1;
        }
    } else {
        auto q = m_db.prepared(
            QStringLiteral("UPDATE instance_tasks AS t SET status = v.status, runs = v.runs,"
                           " worker = v.worker, address = v.address, result = v.result,"
                           " started_at_ms = v.started, finished_at_ms = v.finished FROM (%1) AS v"
                           " WHERE t.instance_id = v.instance_id AND t.attempt = v.attempt"
                           " AND t.task_id = v.task_id AND %2"
                           " RETURNING t.instance_id, t.attempt, t.task_id")
                .arg(sql::RowBatch::source(kUpdateTypes, kUpdateNames),
                     notTerminal(QStringLiteral("t.status"))));
        if (!q)
            return makeError(q.error());
        QSqlQuery &query = **q;
        // A row joins at most one source row per statement, so a second update of the same task
        // starts a new statement: it then finds the row terminal, as on SQLite.
        int from = 0;
        while (from < n) {
            QSet<Key> seen;
            sql::RowBatch rows(kUpdateTypes);
            qsizetype bytes = 0;
            int to = from;
            while (to < n && to - from < kRowsPerStatement && bytes < kBytesPerStatement) {
                const TaskUpdate &u = updates[to];
                const Key key{u.instanceId, u.attempt, u.taskId};
                if (seen.contains(key))
                    break;
                seen.insert(key);
                bytes += (u.result.size() + u.worker.size() + u.address.size()) * 2 + 64;
                encodeUpdate(rows, u);
                ++to;
            }
            for (const QVariant &p : rows.params())
                query.addBindValue(p);
            if (!query.exec())
                return sql::error(
                    QStringLiteral("writing the final state of %1 tasks").arg(to - from),
                    query.lastError());
            QSet<Key> done;
            while (query.next())
                done.insert(Key{query.value(0).toLongLong(), query.value(1).toInt(),
                                query.value(2).toLongLong()});
            query.finish();
            for (int k = from; k < to; ++k)
                applied[k] = done.contains(
                    Key{updates[k].instanceId, updates[k].attempt, updates[k].taskId});
            from = to;
        }
    }
    if (auto s = tx.commit(); !s)
        return s;
    if (appliedOut)
        *appliedOut = applied;
    return {};
}

QList<TaskInfo> TaskRepository::waiting(qint64 instanceId, int attempt, qint64 afterTaskId,
                                        int limit)
{
    // A range of the primary key from the cursor on. Rows past the cursor of a running map are
    // nearly all waiting (the tracker reads them in id order), so the status filter skips
    // little; only the first read after a restart walks over the finished ones once.
    return selectTasks(m_db,
                       QStringLiteral("SELECT %1, payload FROM instance_tasks WHERE "
                                      "instance_id = ? AND attempt = ? AND task_id > ? AND "
                                      "status = '%2' ORDER BY task_id LIMIT ?")
                           .arg(kSelectColumns, statusName(InstanceStatus::WaitingDispatch)),
                       {instanceId, qint64(attempt), afterTaskId, qint64(pageSize(limit))}, true,
                       QStringLiteral("reading waiting tasks of instance %1").arg(instanceId));
}

QList<TaskInfo> TaskRepository::list(qint64 instanceId, int attempt, const TaskFilter &filter)
{
    qint64 effective = attempt > 0 ? attempt : filter.attempt;
    if (effective <= 0) {
        // Neither the caller nor the filter named one: the newest attempt that has tasks.
        effective = 0;
        readRows(
            m_db, QStringLiteral("SELECT MAX(attempt) FROM instance_tasks WHERE instance_id = ?"),
            {instanceId}, QStringLiteral("reading the attempts of instance %1").arg(instanceId),
            [&](const auto &r) { effective = r.int64At(0); });
        if (effective <= 0)
            return {};
    }
    QVariantList binds{instanceId, effective, filter.afterTaskId};
    QString statusCondition;
    if (!filter.statuses.isEmpty()) {
        // Deduplicated, so the statement text (and its prepared statement) depends on the number
        // of distinct states only.
        QStringList names;
        for (InstanceStatus s : filter.statuses) {
            if (!names.contains(statusName(s)))
                names << statusName(s);
        }
        QStringList marks(names.size(), QStringLiteral("status = ?"));
        statusCondition = QStringLiteral(" AND (%1)").arg(marks.join(QStringLiteral(" OR ")));
        for (const QString &name : names)
            binds << name;
    }
    binds << qint64(pageSize(filter.limit));
    return selectTasks(m_db,
                       QStringLiteral("SELECT %1 FROM instance_tasks WHERE instance_id = ? AND"
                                      " attempt = ? AND task_id > ?%2 ORDER BY task_id LIMIT ?")
                           .arg(kSelectColumns, statusCondition),
                       binds, false,
                       QStringLiteral("listing the tasks of instance %1").arg(instanceId));
}

QList<TaskResultEntry> TaskRepository::results(qint64 instanceId, int attempt, TaskRole role,
                                               qint64 afterTaskId, int limit)
{
    QList<TaskResultEntry> out;
    const bool ok = readRows(
        m_db,
        QStringLiteral("SELECT task_id, name, status, result, worker, address, runs FROM "
                       "instance_tasks WHERE instance_id = ? AND attempt = ? AND task_id > ? AND "
                       "role = ? AND %1 ORDER BY task_id LIMIT ?")
            .arg(terminal(QStringLiteral("status"))),
        {instanceId, qint64(attempt), afterTaskId, roleName(role), qint64(pageSize(limit))},
        QStringLiteral("reading task results of instance %1").arg(instanceId),
        [&](const auto &r) { out << readResult(r, instanceId); });
    return ok ? out : QList<TaskResultEntry>();
}

TaskCounts TaskRepository::counts(qint64 instanceId, int attempt, qint64 *maxTaskId)
{
    TaskCounts counts;
    if (maxTaskId)
        *maxTaskId = 0;
    const QString what = QStringLiteral("counting the tasks of instance %1").arg(instanceId);
    TaskCounts read;
    const bool ok = readRows(
        m_db,
        QStringLiteral("SELECT status, COUNT(*) FROM instance_tasks WHERE instance_id = ? AND "
                       "attempt = ? GROUP BY status"),
        {instanceId, qint64(attempt)}, what, [&](const auto &r) {
            // The same buckets as countTransition(), added n at a time.
            TaskCounts one;
            countTransition(one, std::nullopt, statusOr(r.textAt(0), instanceId, 0));
            const qint64 n = r.int64At(1);
            read.total += n;
            read.waiting += one.waiting * n;
            read.running += one.running * n;
            read.succeeded += one.succeeded * n;
            read.failed += one.failed * n;
        });
    if (!ok)
        return counts;
    counts = read;
    if (maxTaskId) {
        // The last key of the attempt's range: one index probe.
        readRows(m_db,
                 QStringLiteral("SELECT COALESCE(MAX(task_id), 0) FROM instance_tasks WHERE "
                                "instance_id = ? AND attempt = ?"),
                 {instanceId, qint64(attempt)}, what,
                 [&](const auto &r) { *maxTaskId = r.int64At(0); });
    }
    return counts;
}

QHash<qint64, qint64> TaskRepository::mappedByOpenParents(qint64 instanceId, int attempt)
{
    QHash<qint64, qint64> out;
    // One pass over the attempt's children grouped by parent, then a primary-key probe per
    // parent for its state. An index on parent_id would not make this cheaper than one pass
    // (the open parents are only known from the rows: status is not indexed) and would cost
    // every insert (docs/storage.md).
    const bool ok =
        readRows(m_db,
                 QStringLiteral("SELECT g.parent_id, g.top FROM (SELECT parent_id, MAX(seq) AS top"
                                " FROM instance_tasks WHERE instance_id = ? AND attempt = ?"
                                " AND parent_id <> 0 GROUP BY parent_id) AS g"
                                " JOIN instance_tasks p ON p.instance_id = ? AND p.attempt = ?"
                                " AND p.task_id = g.parent_id WHERE %1")
                     .arg(notTerminal(QStringLiteral("p.status"))),
                 {instanceId, qint64(attempt), instanceId, qint64(attempt)},
                 QStringLiteral("reading the mapped positions of instance %1").arg(instanceId),
                 [&](const auto &r) { out.insert(r.int64At(0), r.int64At(1) + 1); });
    return ok ? out : QHash<qint64, qint64>();
}

QList<TaskInfo> TaskRepository::open(qint64 instanceId, int attempt, qint64 afterTaskId, int limit)
{
    return selectTasks(m_db,
                       QStringLiteral("SELECT %1 FROM instance_tasks WHERE instance_id = ? AND"
                                      " attempt = ? AND task_id > ? AND %2"
                                      " ORDER BY task_id LIMIT ?")
                           .arg(kSelectColumns, notTerminal(QStringLiteral("status"))),
                       {instanceId, qint64(attempt), afterTaskId, qint64(pageSize(limit))}, false,
                       QStringLiteral("reading the open tasks of instance %1").arg(instanceId));
}

Status TaskRepository::removeForInstances(const QList<qint64> &instanceIds)
{
    if (instanceIds.isEmpty())
        return {};
    auto q = m_db.prepared(QStringLiteral("DELETE FROM instance_tasks WHERE instance_id IN (%1)")
                               .arg(sql::RowBatch::idList(m_db.dialect())));
    if (!q)
        return makeError(q.error());
    (*q)->addBindValue(sql::RowBatch::idListParam(m_db.dialect(), instanceIds));
    if (!(*q)->exec())
        return sql::error(
            QStringLiteral("deleting the tasks of %1 instances").arg(instanceIds.size()),
            (*q)->lastError());
    (*q)->finish();
    return {};
}

} // namespace kairos
