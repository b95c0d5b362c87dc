#include "log_repository.h"

#include "row_batch.h"
#include "sql_util.h"
#include "sqlite_row.h"
#include "store_log.h"

#include <QSet>

namespace kairos {
namespace {

constexpr int kCacheLimit = 100000; // instances; beyond that the cache starts over

} // namespace

Status LogRepository::loadNextSeq(const QList<qint64> &instanceIds)
{
    if (instanceIds.isEmpty())
        return {};
    auto &cache = m_db.logSeqCache();
    auto q = m_db.prepared(QStringLiteral("SELECT instance_id, MAX(seq) FROM instance_logs WHERE "
                                          "instance_id IN (%1) GROUP BY instance_id")
                               .arg(sql::RowBatch::idList(m_db.dialect())));
    if (!q)
        return makeError(q.error());
    QSqlQuery &query = **q;
    query.addBindValue(sql::RowBatch::idListParam(m_db.dialect(), instanceIds));
    if (!query.exec())
        return sql::error(QStringLiteral("reading log positions"), query.lastError());
    for (qint64 id : instanceIds)
        cache.insert(id, 1);
    while (query.next())
        cache.insert(query.value(0).toLongLong(), query.value(1).toLongLong() + 1);
    query.finish();
    return {};
}

Status LogRepository::append(QList<LogLine> &lines)
{
    bool duplicate = false;
    Status s = appendOnce(lines, &duplicate);
    if (!s && duplicate) {
        // Someone else wrote lines of these instances: start counting from the database again.
        qCInfo(lcStoreDb) << "log seq collision; reloading positions and retrying";
        m_db.logSeqCache().clear();
        s = appendOnce(lines, &duplicate);
    }
    return s;
}

Status LogRepository::appendOnce(QList<LogLine> &lines, bool *duplicate)
{
    *duplicate = false;
    if (lines.isEmpty())
        return {};
    auto &cache = m_db.logSeqCache();
    // Rows counted before a rollback may be gone; the numbers must stay contiguous.
    if (m_db.logSeqCacheGeneration() != m_db.rollbackGeneration() || cache.size() > kCacheLimit) {
        cache.clear();
        m_db.logSeqCacheGeneration() = m_db.rollbackGeneration();
    }
    QList<qint64> unknown;
    QSet<qint64> seen;
    for (const LogLine &l : lines) {
        if (!cache.contains(l.instanceId) && !seen.contains(l.instanceId)) {
            seen.insert(l.instanceId);
            unknown << l.instanceId;
        }
    }

    // Its own savepoint even inside a group-commit write, so that append() can retry.
    Transaction tx(m_db, Transaction::Nesting::OwnSavepoint);
    if (auto s = tx.begin(); !s)
        return s;
    if (auto s = loadNextSeq(unknown); !s)
        return s;

    // Number the lines on a copy of the counters; they become the cache only after commit.
    QHash<qint64, qint64> next;
    QList<qint64> seqs(lines.size());
    for (int k = 0; k < lines.size(); ++k) {
        const qint64 id = lines[k].instanceId;
        auto it = next.find(id);
        if (it == next.end())
            it = next.insert(id, cache.value(id, 1));
        seqs[k] = (*it)++;
    }

    using sql::ColumnType;
    static const QList<ColumnType> types = {
        ColumnType::BigInt, ColumnType::BigInt, ColumnType::Int, ColumnType::BigInt,
        ColumnType::BigInt, ColumnType::Text,   ColumnType::Text};
    static const QString columns =
        QStringLiteral("instance_id, seq, attempt, task_id, time_ms, stream, text");
    const auto encode = [&](auto &sink, int k) {
        const LogLine &l = lines[k];
        sink.add(l.instanceId)
            .add(seqs[k])
            .add(qint64(l.attempt))
            .add(l.taskId)
            .add(l.timeMs)
            .add(toString(l.stream))
            .add(l.text);
        sink.endRow();
    };
    const auto failed = [&](const QSqlQuery &query, int count) {
        *duplicate = sql::isUniqueViolation(query.lastError());
        return sql::error(QStringLiteral("appending %1 log lines").arg(count), query.lastError());
    };
    if (m_db.dialect() == Dialect::Sqlite) {
        auto q = m_db.prepared(QStringLiteral("INSERT INTO instance_logs (%1) VALUES (%2)")
                                   .arg(columns, sql::SqliteRow::placeholders(int(types.size()))));
        if (!q)
            return makeError(q.error());
        sql::SqliteRow row(q.value());
        const QString what = QStringLiteral("appending %1 log lines").arg(lines.size());
        for (int k = 0; k < lines.size(); ++k) {
            encode(row, k);
            if (auto s = row.exec(what); !s) {
                *duplicate = row.uniqueViolation();
                return s;
            }
        }
    } else {
        auto q = m_db.prepared(
            QStringLiteral("INSERT INTO instance_logs (%1) %2")
                .arg(columns, sql::RowBatch::source(types, columns.split(QStringLiteral(", ")))));
        if (!q)
            return makeError(q.error());
        const int chunk = 2000;
        for (int from = 0; from < lines.size(); from += chunk) {
            const int to = std::min(int(lines.size()), from + chunk);
            sql::RowBatch rows(types);
            for (int k = from; k < to; ++k)
                encode(rows, k);
            for (const QVariant &p : rows.params())
                (*q)->addBindValue(p);
            if (!(*q)->exec())
                return failed(**q, to - from);
            (*q)->finish();
        }
    }
    if (auto s = tx.commit(); !s)
        return s;
    for (auto it = next.cbegin(); it != next.cend(); ++it)
        cache.insert(it.key(), it.value());
    for (int k = 0; k < lines.size(); ++k)
        lines[k].seq = seqs[k];
    return {};
}

QList<LogLine> LogRepository::read(qint64 instanceId, qint64 afterSeq, int limit)
{
    QList<LogLine> out;
    auto q = m_db.prepared(
        QStringLiteral("SELECT instance_id, seq, attempt, task_id, time_ms, stream, text "
                       "FROM instance_logs WHERE instance_id = ? AND seq > ? "
                       "ORDER BY seq LIMIT ?"));
    if (!q) {
        qCWarning(lcStoreDb) << q.error();
        return out;
    }
    QSqlQuery &query = **q;
    query.addBindValue(instanceId);
    query.addBindValue(afterSeq);
    query.addBindValue(limit > 0 ? limit : 1000);
    if (!query.exec()) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("reading log lines"), query.lastError()).message;
        return out;
    }
    while (query.next()) {
        LogLine l;
        l.instanceId = query.value(0).toLongLong();
        l.seq = query.value(1).toLongLong();
        l.attempt = query.value(2).toInt();
        l.taskId = query.value(3).toLongLong();
        l.timeMs = query.value(4).toLongLong();
        l.stream = logStreamFromString(query.value(5).toString());
        l.text = query.value(6).toString();
        out << l;
    }
    query.finish();
    return out;
}

} // namespace kairos
