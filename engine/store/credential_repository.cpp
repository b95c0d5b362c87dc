#include "credential_repository.h"

#include "sql_util.h"
#include "store_log.h"

#include <core/clock.h>

namespace kairos {
namespace {

Status checkKind(const QString &kind)
{
    if (kind != CredentialRepository::Admin && kind != CredentialRepository::App)
        return makeError(QStringLiteral("kind: expected admin or app but got \"%1\"").arg(kind));
    return {};
}

} // namespace

Status CredentialRepository::upsert(const QString &kind, const QString &name,
                                    const QString &credential)
{
    if (auto s = checkKind(kind); !s)
        return s;
    if (name.trimmed().isEmpty())
        return makeError(QStringLiteral("name: expected a non-empty %1 name").arg(kind));
    auto q = m_db.prepared(QStringLiteral(
        "INSERT INTO credentials (kind, name, credential, created_at_ms, updated_at_ms) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET "
        "credential = excluded.credential, updated_at_ms = excluded.updated_at_ms"));
    if (!q)
        return makeError(q.error());
    const qint64 now = nowMs();
    QSqlQuery &query = **q;
    query.addBindValue(kind);
    query.addBindValue(name);
    query.addBindValue(sql::str(credential));
    query.addBindValue(now);
    query.addBindValue(now);
    if (!query.exec())
        return sql::error(QStringLiteral("storing the credential of %1 \"%2\"").arg(kind, name),
                          query.lastError());
    query.finish();
    return {};
}

std::optional<QString> CredentialRepository::find(const QString &kind, const QString &name)
{
    auto q = m_db.prepared(
        QStringLiteral("SELECT credential FROM credentials WHERE kind = ? AND name = ?"));
    if (!q) {
        qCWarning(lcStoreDb) << q.error();
        return std::nullopt;
    }
    QSqlQuery &query = **q;
    query.addBindValue(kind);
    query.addBindValue(name);
    if (!query.exec()) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("reading a credential"), query.lastError()).message;
        return std::nullopt;
    }
    std::optional<QString> out;
    if (query.next())
        out = query.value(0).toString();
    query.finish();
    return out;
}

QStringList CredentialRepository::names(const QString &kind)
{
    QStringList out;
    auto q =
        m_db.prepared(QStringLiteral("SELECT name FROM credentials WHERE kind = ? ORDER BY name"));
    if (!q) {
        qCWarning(lcStoreDb) << q.error();
        return out;
    }
    QSqlQuery &query = **q;
    query.addBindValue(kind);
    if (!query.exec()) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("listing credentials"), query.lastError()).message;
        return out;
    }
    while (query.next())
        out << query.value(0).toString();
    query.finish();
    return out;
}

Status CredentialRepository::remove(const QString &kind, const QString &name)
{
    auto q = m_db.prepared(QStringLiteral("DELETE FROM credentials WHERE kind = ? AND name = ?"));
    if (!q)
        return makeError(q.error());
    QSqlQuery &query = **q;
    query.addBindValue(kind);
    query.addBindValue(name);
    if (!query.exec())
        return sql::error(QStringLiteral("removing the credential of %1 \"%2\"").arg(kind, name),
                          query.lastError());
    const int affected = query.numRowsAffected();
    query.finish();
    if (affected == 0)
        return makeError(QStringLiteral("%1 \"%2\": not found").arg(kind, name));
    return {};
}

} // namespace kairos
