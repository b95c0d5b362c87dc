#include "meta_repository.h"

#include "sql_util.h"
#include "store_log.h"

namespace kairos {

std::optional<QString> MetaRepository::get(const QString &key)
{
    auto q = m_db.prepared(QStringLiteral("SELECT value FROM meta WHERE key = ?"));
    if (!q) {
        qCWarning(lcStoreDb) << q.error();
        return std::nullopt;
    }
    QSqlQuery &query = **q;
    query.addBindValue(key);
    if (!query.exec()) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("reading setting %1").arg(key), query.lastError()).message;
        return std::nullopt;
    }
    std::optional<QString> out;
    if (query.next())
        out = query.value(0).toString();
    query.finish();
    return out;
}

Status MetaRepository::set(const QString &key, const QString &value)
{
    if (key.isEmpty())
        return makeError(QStringLiteral("key: expected a non-empty setting name"));
    auto q =
        m_db.prepared(QStringLiteral("INSERT INTO meta (key, value) VALUES (?, ?) "
                                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
    if (!q)
        return makeError(q.error());
    QSqlQuery &query = **q;
    query.addBindValue(key);
    query.addBindValue(sql::str(value));
    if (!query.exec())
        return sql::error(QStringLiteral("storing setting %1").arg(key), query.lastError());
    query.finish();
    return {};
}

} // namespace kairos
