#pragma once
// ClusterRepository: the tables that let several kairosd servers share one PostgreSQL. Each
// server records itself in `servers` and refreshes heartbeat_at_ms; `job_leases` says which
// server owns a job's timer until lease_until_ms, with a version for optimistic takeover. Only
// plain upsert/list exist yet; the lease protocol (acquire, renew, take over expired) belongs to
// engine/server and will build on the version column. Synchronous and not thread-safe: use it
// on the thread that owns the Database.

#include "database.h"

#include <QList>

namespace kairos {

struct ServerRecord {
    QString id;
    QString address;
    qint64 startedAtMs = 0;
    qint64 heartbeatAtMs = 0;
    bool operator==(const ServerRecord &) const = default;
};

struct JobLease {
    qint64 jobId = 0;
    QString serverId;
    qint64 leaseUntilMs = 0;
    qint64 version = 0; // bumped by every upsert
    bool operator==(const JobLease &) const = default;
};

class ClusterRepository {
public:
    explicit ClusterRepository(Database &db)
        : m_db(db)
    {}

    Status upsertServer(const ServerRecord &server);
    QList<ServerRecord> servers(); // ordered by id
    Status removeServer(const QString &id);

    // Creates or overwrites the lease of lease.jobId (version becomes previous + 1).
    Status upsertLease(const JobLease &lease);
    QList<JobLease> leases(); // ordered by job id

private:
    Database &m_db;
};

} // namespace kairos
