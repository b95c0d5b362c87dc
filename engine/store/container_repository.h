#pragma once
// ContainerRepository: container versions, their bytes and their deployments (tables
// container_versions, container_blobs, container_deployments; schema version 4;
// docs/containers.md section 2). A version is identified by the SHA-256 of its file and is
// immutable once stored; the bytes live in their own table so listing versions never reads
// them. Deployments are one row per (container, target) where target is "*" (the default for
// every worker) or a worker id (a pin), written with an upsert so concurrent servers on one
// PostgreSQL never interleave a read-modify-write.
//
// Synchronous and not thread-safe: use it on the thread that owns the Database (the store
// thread).

#include "database.h"

#include <core/container_info.h>

#include <QList>
#include <optional>

namespace kairos {

class ContainerRepository {
public:
    explicit ContainerRepository(Database &db)
        : m_db(db)
    {}

    // Stores the version and its bytes in one transaction. A version with this sha256 that
    // exists already is left as it is and *inserted is false (not an error).
    Status insertVersion(const ContainerVersion &version, const QByteArray &bytes,
                         bool *inserted = nullptr);
    std::optional<ContainerVersion> version(const QString &sha256);
    // Every version (metadata, no bytes), by container name, then newest upload first.
    QList<ContainerVersion> versions();
    // The bytes of a version; an error when it is not stored.
    Result<QByteArray> bytes(const QString &sha256);

    // Writes the deployment for (container, target) (insert or replace). With target "*" it
    // also deletes every pin of that container, in the same transaction.
    Status upsertDeployment(const ContainerDeployment &deployment);
    // Every deployment row.
    QList<ContainerDeployment> deployments();
    // The highest deployId stored (0 when none), so a restarted server keeps ids increasing.
    qint64 maxDeployId();

private:
    Database &m_db;
};

} // namespace kairos
