#include "cluster_repository.h"

#include "sql_util.h"
#include "store_log.h"

namespace kairos {

Status ClusterRepository::upsertServer(const ServerRecord &s)
{
    if (s.id.isEmpty())
        return makeError(QStringLiteral("id: expected a non-empty server id"));
    auto q = m_db.prepared(QStringLiteral(
        "INSERT INTO servers (id, address, started_at_ms, heartbeat_at_ms) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET address = excluded.address, "
        "started_at_ms = excluded.started_at_ms, heartbeat_at_ms = excluded.heartbeat_at_ms"));
    if (!q)
        return makeError(q.error());
    QSqlQuery &query = **q;
    query.addBindValue(sql::str(s.id));
    query.addBindValue(sql::str(s.address));
    query.addBindValue(s.startedAtMs);
    query.addBindValue(s.heartbeatAtMs);
    if (!query.exec())
        return sql::error(QStringLiteral("recording server %1").arg(s.id), query.lastError());
    query.finish();
    return {};
}

QList<ServerRecord> ClusterRepository::servers()
{
    QList<ServerRecord> out;
    QSqlQuery q = m_db.newQuery();
    if (!q.exec(QStringLiteral("SELECT id, address, started_at_ms, heartbeat_at_ms FROM servers "
                               "ORDER BY id"))) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("listing servers"), q.lastError()).message;
        return out;
    }
    while (q.next())
        out << ServerRecord{q.value(0).toString(), q.value(1).toString(), q.value(2).toLongLong(),
                            q.value(3).toLongLong()};
    return out;
}

Status ClusterRepository::removeServer(const QString &id)
{
    auto q = m_db.prepared(QStringLiteral("DELETE FROM servers WHERE id = ?"));
    if (!q)
        return makeError(q.error());
    (*q)->addBindValue(id);
    if (!(*q)->exec())
        return sql::error(QStringLiteral("removing server %1").arg(id), (*q)->lastError());
    (*q)->finish();
    return {};
}

Status ClusterRepository::upsertLease(const JobLease &l)
{
    auto q = m_db.prepared(QStringLiteral(
        "INSERT INTO job_leases (job_id, server_id, lease_until_ms, version) VALUES (?, ?, ?, 1) "
        "ON CONFLICT (job_id) DO UPDATE SET server_id = excluded.server_id, "
        "lease_until_ms = excluded.lease_until_ms, version = job_leases.version + 1"));
    if (!q)
        return makeError(q.error());
    QSqlQuery &query = **q;
    query.addBindValue(l.jobId);
    query.addBindValue(sql::str(l.serverId));
    query.addBindValue(l.leaseUntilMs);
    if (!query.exec())
        return sql::error(QStringLiteral("recording the lease of job %1").arg(l.jobId),
                          query.lastError());
    query.finish();
    return {};
}

QList<JobLease> ClusterRepository::leases()
{
    QList<JobLease> out;
    QSqlQuery q = m_db.newQuery();
    if (!q.exec(QStringLiteral("SELECT job_id, server_id, lease_until_ms, version FROM job_leases "
                               "ORDER BY job_id"))) {
        qCWarning(lcStoreDb) << sql::error(QStringLiteral("listing leases"), q.lastError()).message;
        return out;
    }
    while (q.next())
        out << JobLease{q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toLongLong(),
                        q.value(3).toLongLong()};
    return out;
}

} // namespace kairos
