#include "job_repository.h"

#include "sql_util.h"
#include "store_log.h"

#include <core/clock.h>

#include <QJsonDocument>
#include <QSqlRecord>

namespace kairos {
namespace {

const QString kColumns = QStringLiteral(
    "name, description, app, timing_type, timing_expression, time_zone, window_start_ms, "
    "window_end_ms, enabled, misfire_policy, misfire_max_fires, mode, processor, "
    "processor_config, params, dispatch, max_concurrent_instances, retry_count, "
    "retry_backoff_ms, timeout_ms, version, created_at_ms, updated_at_ms");
constexpr int kColumnCount = 23;

QString compactJson(const QJsonObject &o)
{
    return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
}

QJsonObject parseJsonObject(const QString &text)
{
    return QJsonDocument::fromJson(text.toUtf8()).object();
}

// Binds the kColumnCount columns in kColumns order.
void bindJob(QSqlQuery &q, const Job &job)
{
    q.addBindValue(sql::str(job.name));
    q.addBindValue(sql::str(job.description));
    q.addBindValue(sql::str(job.app));
    q.addBindValue(toString(job.timingType));
    q.addBindValue(sql::str(job.timingExpression));
    q.addBindValue(sql::str(job.timeZone));
    q.addBindValue(job.windowStartMs);
    q.addBindValue(job.windowEndMs);
    q.addBindValue(job.enabled ? 1 : 0);
    q.addBindValue(toString(job.misfirePolicy));
    q.addBindValue(job.misfireMaxFires);
    q.addBindValue(toString(job.mode));
    q.addBindValue(toString(job.processor));
    q.addBindValue(compactJson(job.processorConfig));
    q.addBindValue(sql::str(job.params));
    // The dispatch spec is stored in the same JSON shape as in job files and the protocol.
    q.addBindValue(compactJson(jobToJson(job).value(QStringLiteral("dispatch")).toObject()));
    q.addBindValue(job.maxConcurrentInstances);
    q.addBindValue(job.retryCount);
    q.addBindValue(job.retryBackoffMs);
    q.addBindValue(job.timeoutMs);
    q.addBindValue(job.version);
    q.addBindValue(job.createdAtMs);
    q.addBindValue(job.updatedAtMs);
}

template<typename E, typename Parse>
E enumOr(const QVariant &v, Parse parse, E fallback, const char *column, qint64 id)
{
    if (const auto parsed = parse(v.toString()))
        return *parsed;
    qCWarning(lcStoreDb, "jobs.%s of job %lld holds unknown value \"%s\"; using the default",
              column, static_cast<long long>(id), qPrintable(v.toString()));
    return fallback;
}

// Reads a row of "id, <kColumns>".
Job readJob(const QSqlQuery &q)
{
    Job job;
    int c = 0;
    job.id = q.value(c++).toLongLong();
    job.name = q.value(c++).toString();
    job.description = q.value(c++).toString();
    job.app = q.value(c++).toString();
    job.timingType =
        enumOr(q.value(c++), timingTypeFromString, TimingType::Api, "timing_type", job.id);
    job.timingExpression = q.value(c++).toString();
    job.timeZone = q.value(c++).toString();
    job.windowStartMs = q.value(c++).toLongLong();
    job.windowEndMs = q.value(c++).toLongLong();
    job.enabled = q.value(c++).toInt() != 0;
    job.misfirePolicy = enumOr(q.value(c++), misfirePolicyFromString, MisfirePolicy::FireOnce,
                               "misfire_policy", job.id);
    job.misfireMaxFires = q.value(c++).toInt();
    job.mode =
        enumOr(q.value(c++), executionModeFromString, ExecutionMode::Standalone, "mode", job.id);
    job.processor =
        enumOr(q.value(c++), processorKindFromString, ProcessorKind::Echo, "processor", job.id);
    job.processorConfig = parseJsonObject(q.value(c++).toString());
    job.params = q.value(c++).toString();
    const QJsonObject dispatch = parseJsonObject(q.value(c++).toString());
    if (auto patched = applyJobPatch(job, QJsonObject{{QStringLiteral("dispatch"), dispatch}}))
        job.dispatch = patched->dispatch;
    else
        qCWarning(lcStoreDb) << "jobs.dispatch of job" << job.id
                             << "is invalid:" << patched.error();
    job.maxConcurrentInstances = q.value(c++).toInt();
    job.retryCount = q.value(c++).toInt();
    job.retryBackoffMs = q.value(c++).toInt();
    job.timeoutMs = q.value(c++).toInt();
    job.version = q.value(c++).toLongLong();
    job.createdAtMs = q.value(c++).toLongLong();
    job.updatedAtMs = q.value(c++).toLongLong();
    return job;
}

Error nameTaken(const QString &name)
{
    return makeError(QStringLiteral("name: a job named \"%1\" already exists").arg(name));
}

Status validate(const Job &job)
{
    if (job.name.trimmed().isEmpty())
        return makeError(QStringLiteral("name: expected a non-empty job name"));
    return {};
}

QList<Job> selectJobs(Database &db, const QString &where, const QVariantList &binds)
{
    QList<Job> jobs;
    auto q =
        db.prepared(QStringLiteral("SELECT id, %1 FROM jobs %2 ORDER BY id").arg(kColumns, where));
    if (!q) {
        qCWarning(lcStoreDb) << q.error();
        return jobs;
    }
    QSqlQuery &query = **q;
    for (const QVariant &b : binds)
        query.addBindValue(b);
    if (!query.exec()) {
        qCWarning(lcStoreDb)
            << sql::error(QStringLiteral("reading jobs"), query.lastError()).message;
        return jobs;
    }
    while (query.next())
        jobs << readJob(query);
    query.finish();
    return jobs;
}

} // namespace

bool isConflict(const QString &error)
{
    return error.startsWith(QLatin1String("conflict:"));
}

Result<Job> JobRepository::insert(Job job)
{
    if (auto s = validate(job); !s)
        return makeError(s.error());
    const qint64 now = nowMs();
    job.version = 1;
    job.createdAtMs = now;
    job.updatedAtMs = now;
    auto q = m_db.prepared(QStringLiteral("INSERT INTO jobs (%1) VALUES %2 RETURNING id")
                               .arg(kColumns, sql::valuesList(kColumnCount)));
    if (!q)
        return makeError(q.error());
    QSqlQuery &query = **q;
    bindJob(query, job);
    if (!query.exec()) {
        if (sql::isUniqueViolation(query.lastError()))
            return nameTaken(job.name);
        return sql::error(QStringLiteral("storing job \"%1\"").arg(job.name), query.lastError());
    }
    if (!query.next())
        return makeError(QStringLiteral("store: storing job \"%1\": no id returned").arg(job.name));
    job.id = query.value(0).toLongLong();
    query.finish();
    return job;
}

Result<Job> JobRepository::update(const Job &input)
{
    if (auto s = validate(input); !s)
        return makeError(s.error());
    Job job = input;
    job.version = input.version + 1;
    job.updatedAtMs = std::max(nowMs(), input.updatedAtMs);
    if (job.createdAtMs == 0)
        job.createdAtMs = job.updatedAtMs;
    QStringList sets;
    for (const QString &column : kColumns.split(QStringLiteral(", ")))
        sets << column + QStringLiteral(" = ?");
    auto q = m_db.prepared(QStringLiteral("UPDATE jobs SET %1 WHERE id = ? AND version = ?")
                               .arg(sets.join(QStringLiteral(", "))));
    if (!q)
        return makeError(q.error());
    QSqlQuery &query = **q;
    bindJob(query, job);
    query.addBindValue(input.id);
    query.addBindValue(input.version);
    if (!query.exec()) {
        if (sql::isUniqueViolation(query.lastError()))
            return nameTaken(job.name);
        return sql::error(QStringLiteral("updating job %1").arg(input.id), query.lastError());
    }
    const int affected = query.numRowsAffected();
    query.finish();
    if (affected == 1)
        return job;
    const auto current = get(input.id);
    if (!current)
        return makeError(QStringLiteral("job %1: not found").arg(input.id));
    return makeError(QStringLiteral("conflict: job %1 was changed by someone else (you edited "
                                    "version %2, it is now at version %3); reload it and apply "
                                    "your change again")
                         .arg(input.id)
                         .arg(input.version)
                         .arg(current->version));
}

std::optional<Job> JobRepository::get(qint64 id)
{
    const QList<Job> jobs = selectJobs(m_db, QStringLiteral("WHERE id = ?"), {id});
    return jobs.isEmpty() ? std::nullopt : std::optional<Job>(jobs.first());
}

std::optional<Job> JobRepository::findByName(const QString &name)
{
    const QList<Job> jobs = selectJobs(m_db, QStringLiteral("WHERE name = ?"), {name});
    return jobs.isEmpty() ? std::nullopt : std::optional<Job>(jobs.first());
}

QList<Job> JobRepository::list()
{
    return selectJobs(m_db, QString(), {});
}

Status JobRepository::remove(qint64 id)
{
    auto q = m_db.prepared(QStringLiteral("DELETE FROM jobs WHERE id = ?"));
    if (!q)
        return makeError(q.error());
    QSqlQuery &query = **q;
    query.addBindValue(id);
    if (!query.exec())
        return sql::error(QStringLiteral("removing job %1").arg(id), query.lastError());
    const int affected = query.numRowsAffected();
    query.finish();
    if (affected == 0)
        return makeError(QStringLiteral("job %1: not found").arg(id));
    return {};
}

} // namespace kairos
