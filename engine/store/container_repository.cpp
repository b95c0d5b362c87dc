#include "container_repository.h"

#include "sql_util.h"
#include "store_log.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>

namespace kairos {
namespace {

// The bytes of a version are stored in rows of this size (docs/storage.md). Reading does not
// depend on it, so it may change without a migration.
constexpr qint64 kBlobChunkBytes = 1024 * 1024;

const QString kVersionColumns =
    QStringLiteral("sha256, name, version_label, sdk_version, size_bytes, processors, "
                   "uploaded_at_ms, uploaded_by");
const QString kDeploymentColumns =
    QStringLiteral("container, target, sha256, isolation, deploy_id, deployed_at_ms, deployed_by");

bool isSha256(const QString &text)
{
    if (text.size() != 64)
        return false;
    return std::all_of(text.begin(), text.end(), [](QChar c) {
        return (c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f');
    });
}

Status checkSha256(const QString &sha256)
{
    if (!isSha256(sha256))
        return makeError(
            QStringLiteral("sha256: expected 64 lowercase hex digits, got '%1'").arg(sha256));
    return {};
}

// The processors column: the metadata's own JSON list, so the stored shape is the one
// ContainerMetadata::fromJson checks when the row is read back.
QString processorsJson(const ContainerMetadata &m)
{
    return QString::fromUtf8(QJsonDocument(m.toJson().value(QStringLiteral("processors")).toArray())
                                 .toJson(QJsonDocument::Compact));
}

// A row of kVersionColumns. A row whose metadata no longer passes the checks (written by hand,
// or by a Kairos with other rules) is reported and left out rather than returned half-read.
std::optional<ContainerVersion> versionFromRow(const QSqlQuery &q)
{
    ContainerVersion v;
    v.sha256 = q.value(0).toString();
    const QJsonDocument processors = QJsonDocument::fromJson(q.value(5).toString().toUtf8());
    const QJsonObject metadata{{QStringLiteral("name"), q.value(1).toString()},
                               {QStringLiteral("version"), q.value(2).toString()},
                               {QStringLiteral("sdk"), q.value(3).toInt()},
                               {QStringLiteral("processors"), processors.array()}};
    Result<ContainerMetadata> m = ContainerMetadata::fromJson(metadata);
    if (!m) {
        qCWarning(lcStoreDb) << "container version" << v.sha256
                             << "has unreadable metadata:" << m.error();
        return std::nullopt;
    }
    v.metadata = std::move(*m);
    v.sizeBytes = sql::toInt64(q.value(4));
    v.uploadedAtMs = sql::toInt64(q.value(6));
    v.uploadedBy = q.value(7).toString();
    return v;
}

std::optional<ContainerDeployment> deploymentFromRow(const QSqlQuery &q)
{
    ContainerDeployment d;
    d.container = q.value(0).toString();
    d.target = q.value(1).toString();
    d.sha256 = q.value(2).toString();
    const Result<ContainerIsolation> isolation =
        containerIsolationFromString(q.value(3).toString());
    if (!isolation) {
        qCWarning(lcStoreDb) << "container deployment" << d.container << d.target
                             << "has an unreadable isolation:" << isolation.error();
        return std::nullopt;
    }
    d.isolation = *isolation;
    d.deployId = sql::toInt64(q.value(4));
    d.deployedAtMs = sql::toInt64(q.value(5));
    d.deployedBy = q.value(6).toString();
    return d;
}

} // namespace

Status ContainerRepository::insertVersion(const ContainerVersion &version, const QByteArray &bytes,
                                          bool *inserted)
{
    if (inserted)
        *inserted = false;
    if (auto s = checkSha256(version.sha256); !s)
        return s;
    // What is stored must read back: the same checks as the rows' reader (versionFromRow).
    if (const auto m = ContainerMetadata::fromJson(version.metadata.toJson()); !m)
        return makeError(m.error());
    if (bytes.isEmpty())
        return makeError(QStringLiteral("bytes: expected the container file's bytes, got none"));
    if (version.sizeBytes != bytes.size())
        return makeError(QStringLiteral("sizeBytes: the version says %1 bytes but %2 were given")
                             .arg(version.sizeBytes)
                             .arg(bytes.size()));
    // The sha256 is the version's identity everywhere (workers verify their download against
    // it); the store refuses to file bytes under a name they do not hash to.
    const QString actual =
        QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
    if (actual != version.sha256)
        return makeError(
            QStringLiteral("digest mismatch: expected %1, got %2").arg(version.sha256, actual));

    Transaction tx(m_db);
    if (auto s = tx.begin(); !s)
        return s;
    auto q = m_db.prepared(QStringLiteral("INSERT INTO container_versions (%1) VALUES %2 "
                                          "ON CONFLICT (sha256) DO NOTHING")
                               .arg(kVersionColumns, sql::valuesList(8)));
    if (!q)
        return makeError(q.error());
    QSqlQuery &query = **q;
    query.addBindValue(version.sha256);
    query.addBindValue(version.metadata.name);
    query.addBindValue(sql::str(version.metadata.version));
    query.addBindValue(version.metadata.sdkVersion);
    query.addBindValue(version.sizeBytes);
    query.addBindValue(processorsJson(version.metadata));
    query.addBindValue(version.uploadedAtMs);
    query.addBindValue(sql::str(version.uploadedBy));
    if (!query.exec())
        return sql::error(QStringLiteral("storing container version %1 of %2")
                              .arg(version.sha256, version.metadata.name),
                          query.lastError());
    const bool isNew = query.numRowsAffected() == 1;
    query.finish();

    // Only a new version sends its bytes: a re-upload of a known file costs one key probe.
    // A fresh, unprepared query: a cached statement would keep a chunk bound until reused.
    if (isNew) {
        QSqlQuery blob = m_db.newQuery();
        if (!blob.prepare(
                QStringLiteral("INSERT INTO container_blobs (sha256, seq, data) VALUES (?, ?, ?)")))
            return sql::error(QStringLiteral("preparing the container blob insert"),
                              blob.lastError());
        for (qint64 offset = 0, seq = 0; offset < bytes.size(); offset += kBlobChunkBytes, ++seq) {
            // fromRawData: no copy; `bytes` outlives the statement.
            const QByteArray chunk =
                QByteArray::fromRawData(bytes.constData() + offset,
                                        std::min<qint64>(kBlobChunkBytes, bytes.size() - offset));
            blob.bindValue(0, version.sha256);
            blob.bindValue(1, seq);
            blob.bindValue(2, chunk);
            if (!blob.exec())
                return sql::error(QStringLiteral("storing bytes %1-%2 of container version %3")
                                      .arg(offset)
                                      .arg(offset + chunk.size())
                                      .arg(version.sha256),
                                  blob.lastError());
        }
    }
    if (auto s = tx.commit(); !s)
        return s;
    if (inserted)
        *inserted = isNew;
    return {};
}

std::optional<ContainerVersion> ContainerRepository::version(const QString &sha256)
{
    auto q = m_db.prepared(
        QStringLiteral("SELECT %1 FROM container_versions WHERE sha256 = ?").arg(kVersionColumns));
    if (!q) {
        qCWarning(lcStoreDb) << q.error();
        return std::nullopt;
    }
    QSqlQuery &query = **q;
    query.addBindValue(sha256);
    if (!query.exec()) {
        qCWarning(lcStoreDb) << sql::error(
                                    QStringLiteral("reading container version %1").arg(sha256),
                                    query.lastError())
                                    .message;
        return std::nullopt;
    }
    std::optional<ContainerVersion> out;
    if (query.next())
        out = versionFromRow(query);
    query.finish();
    return out;
}

QList<ContainerVersion> ContainerRepository::versions()
{
    QList<ContainerVersion> out;
    QSqlQuery q = m_db.newQuery();
    if (!q.exec(QStringLiteral("SELECT %1 FROM container_versions").arg(kVersionColumns))) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("listing container versions"), q.lastError()).message;
        return out;
    }
    while (q.next()) {
        if (auto v = versionFromRow(q))
            out << std::move(*v);
    }
    // Sorted here, not by ORDER BY: PostgreSQL orders text by the database's collation and
    // SQLite by code points, and both dialects must list in the same order.
    std::sort(out.begin(), out.end(), [](const ContainerVersion &a, const ContainerVersion &b) {
        if (a.metadata.name != b.metadata.name)
            return a.metadata.name < b.metadata.name;
        if (a.uploadedAtMs != b.uploadedAtMs)
            return a.uploadedAtMs > b.uploadedAtMs;
        return a.sha256 < b.sha256;
    });
    return out;
}

Result<QByteArray> ContainerRepository::bytes(const QString &sha256)
{
    qint64 size = 0;
    {
        auto sized = m_db.prepared(
            QStringLiteral("SELECT size_bytes FROM container_versions WHERE sha256 = ?"));
        if (!sized)
            return makeError(sized.error());
        QSqlQuery &query = **sized;
        query.addBindValue(sha256);
        if (!query.exec())
            return sql::error(QStringLiteral("reading container version %1").arg(sha256),
                              query.lastError());
        const bool found = query.next();
        size = found ? sql::toInt64(query.value(0)) : 0;
        query.finish();
        if (!found)
            return makeError(
                QStringLiteral("sha256: no container version %1 is stored").arg(sha256));
    }
    // One chunk per statement: reading every row at once would hold the whole file twice (hex
    // text in libpq, then the bytes) on PostgreSQL. Unprepared for the same reason as the
    // insert: the connection's cache must not keep a chunk alive.
    QSqlQuery q = m_db.newQuery();
    if (!q.prepare(QStringLiteral("SELECT data FROM container_blobs WHERE sha256 = ? AND seq = ?")))
        return sql::error(QStringLiteral("preparing the container blob read"), q.lastError());
    QByteArray out;
    out.reserve(size);
    for (qint64 seq = 0; out.size() < size; ++seq) {
        q.bindValue(0, sha256);
        q.bindValue(1, seq);
        if (!q.exec())
            return sql::error(
                QStringLiteral("reading the bytes of container version %1").arg(sha256),
                q.lastError());
        if (!q.next())
            break;
        out.append(q.value(0).toByteArray());
        q.finish();
    }
    if (out.size() != size)
        return makeError(QStringLiteral("store: container version %1 is damaged: %2 of its %3 "
                                        "bytes are stored")
                             .arg(sha256)
                             .arg(out.size())
                             .arg(size));
    return out;
}

Status ContainerRepository::upsertDeployment(const ContainerDeployment &d)
{
    if (!isValidContainerName(d.container))
        return makeError(QStringLiteral("container: expected a container name matching "
                                        "[A-Za-z0-9][A-Za-z0-9._-]{0,63}, got '%1'")
                             .arg(d.container));
    if (d.target.isEmpty())
        return makeError(QStringLiteral("target: expected \"*\" or a worker id, got \"\""));
    if (auto s = checkSha256(d.sha256); !s)
        return s;
    if (d.deployId < 1)
        return makeError(
            QStringLiteral("deployId: expected a positive deploy id, got %1").arg(d.deployId));

    Transaction tx(m_db);
    if (auto s = tx.begin(); !s)
        return s;
    // The foreign key already refuses an unknown version; this names the problem, and catches a
    // version of another container, which the key cannot.
    auto owner =
        m_db.prepared(QStringLiteral("SELECT name FROM container_versions WHERE sha256 = ?"));
    if (!owner)
        return makeError(owner.error());
    (*owner)->addBindValue(d.sha256);
    if (!(*owner)->exec())
        return sql::error(QStringLiteral("reading container version %1").arg(d.sha256),
                          (*owner)->lastError());
    const QString name = (*owner)->next() ? (*owner)->value(0).toString() : QString();
    (*owner)->finish();
    if (name.isEmpty())
        return makeError(QStringLiteral("sha256: no container version %1 is stored").arg(d.sha256));
    if (name != d.container)
        return makeError(QStringLiteral("sha256: version %1 belongs to container '%2', not '%3'")
                             .arg(d.sha256, name, d.container));

    auto q = m_db.prepared(
        QStringLiteral(
            "INSERT INTO container_deployments (%1) VALUES %2 ON CONFLICT (container, target) DO "
            "UPDATE SET sha256 = excluded.sha256, isolation = excluded.isolation, "
            "deploy_id = excluded.deploy_id, deployed_at_ms = excluded.deployed_at_ms, "
            "deployed_by = excluded.deployed_by")
            .arg(kDeploymentColumns, sql::valuesList(7)));
    if (!q)
        return makeError(q.error());
    QSqlQuery &query = **q;
    query.addBindValue(d.container);
    query.addBindValue(d.target);
    query.addBindValue(d.sha256);
    query.addBindValue(toString(d.isolation));
    query.addBindValue(d.deployId);
    query.addBindValue(d.deployedAtMs);
    query.addBindValue(sql::str(d.deployedBy));
    if (!query.exec())
        return sql::error(
            QStringLiteral("recording the deployment of %1 to %2").arg(d.container, d.target),
            query.lastError());
    query.finish();

    // A new default replaces every pin of the container: the operator asked for one version
    // everywhere.
    if (d.target == ContainerDeployment::kAllWorkers) {
        auto pins = m_db.prepared(QStringLiteral(
            "DELETE FROM container_deployments WHERE container = ? AND target <> ?"));
        if (!pins)
            return makeError(pins.error());
        (*pins)->addBindValue(d.container);
        (*pins)->addBindValue(ContainerDeployment::kAllWorkers);
        if (!(*pins)->exec())
            return sql::error(QStringLiteral("removing the pins of container %1").arg(d.container),
                              (*pins)->lastError());
        (*pins)->finish();
    }
    return tx.commit();
}

QList<ContainerDeployment> ContainerRepository::deployments()
{
    QList<ContainerDeployment> out;
    QSqlQuery q = m_db.newQuery();
    if (!q.exec(QStringLiteral("SELECT %1 FROM container_deployments").arg(kDeploymentColumns))) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("listing container deployments"), q.lastError()).message;
        return out;
    }
    while (q.next()) {
        if (auto d = deploymentFromRow(q))
            out << std::move(*d);
    }
    // Code-point order in both dialects ("*" before any worker id); see versions().
    std::sort(out.begin(), out.end(),
              [](const ContainerDeployment &a, const ContainerDeployment &b) {
                  if (a.container != b.container)
                      return a.container < b.container;
                  return a.target < b.target;
              });
    return out;
}

qint64 ContainerRepository::maxDeployId()
{
    QSqlQuery q = m_db.newQuery();
    if (!q.exec(QStringLiteral("SELECT MAX(deploy_id) FROM container_deployments")) || !q.next()) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("reading the highest deploy id"), q.lastError()).message;
        return 0;
    }
    return sql::toInt64(q.value(0));
}

} // namespace kairos
