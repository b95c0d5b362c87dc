#include "admin_api.h"

#include "container_service.h"
#include "credentials.h"
#include "server_log.h"

#include <core/clock.h>
#include <store/store_thread.h>

#include <QCoreApplication>
#include <QJsonArray>

#include <cmath>
#include <limits>

namespace kairos::server {
namespace {

QString tr(const char *text)
{
    return QCoreApplication::translate("kairos::AdminApi", text);
}

QJsonObject jobJson(const Engine &engine, const Job &job)
{
    QJsonObject o = jobToJson(job);
    o[QStringLiteral("nextFireMs")] = engine.nextFire(job.id);
    return o;
}

template<typename T, typename F> QJsonArray toArray(const QList<T> &items, F convert)
{
    QJsonArray out;
    for (const T &item : items)
        out.append(convert(item));
    return out;
}

} // namespace

QStringList AdminApi::methods()
{
    return {QStringLiteral("server.info"),
            QStringLiteral("job.create"),
            QStringLiteral("job.update"),
            QStringLiteral("job.get"),
            QStringLiteral("job.list"),
            QStringLiteral("job.enable"),
            QStringLiteral("job.disable"),
            QStringLiteral("job.delete"),
            QStringLiteral("job.run"),
            QStringLiteral("instance.list"),
            QStringLiteral("instance.get"),
            QStringLiteral("instance.logs"),
            QStringLiteral("instance.tasks"),
            QStringLiteral("instance.cancel"),
            QStringLiteral("instance.retry"),
            QStringLiteral("worker.list"),
            QStringLiteral("app.list"),
            QStringLiteral("app.create"),
            QStringLiteral("app.rotateSecret"),
            QStringLiteral("container.upload.begin"),
            QStringLiteral("container.upload.chunk"),
            QStringLiteral("container.upload.finish"),
            QStringLiteral("container.list"),
            QStringLiteral("container.versions"),
            QStringLiteral("container.deploy"),
            QStringLiteral("container.status")};
}

Result<Job> AdminApi::resolveJob(const QJsonObject &params) const
{
    const QJsonValue id = params.value(QStringLiteral("id"));
    if (id.isDouble()) {
        if (auto job = m_engine.job(id.toInteger()))
            return *job;
        return makeError(tr("no job with id %1").arg(id.toInteger()));
    }
    const QJsonValue name = params.value(QStringLiteral("name"));
    if (name.isString()) {
        if (auto job = m_engine.jobByName(name.toString()))
            return *job;
        return makeError(tr("no job named \"%1\"").arg(name.toString()));
    }
    return makeError(tr("id: expected a job id (number) or a name"));
}

Result<InstanceFilter> instanceFilterFromJson(const QJsonObject &p)
{
    InstanceFilter f;
    f.jobId = p.value(QStringLiteral("jobId")).toInteger();
    for (const QJsonValue &v : p.value(QStringLiteral("statuses")).toArray()) {
        const auto s = instanceStatusFromString(v.toString());
        if (!s) {
            return makeError(QCoreApplication::translate("kairos::AdminApi",
                                                         "statuses: unknown status \"%1\"; "
                                                         "expected one of %2")
                                 .arg(v.toString(), instanceStatusNames().join(u", ")));
        }
        f.statuses << *s;
    }
    f.createdFromMs = p.value(QStringLiteral("fromMs")).toInteger();
    f.createdToMs = p.value(QStringLiteral("toMs")).toInteger();
    f.worker = p.value(QStringLiteral("worker")).toString();
    f.beforeId = p.value(QStringLiteral("beforeId")).toInteger();
    f.limit = std::clamp(int(p.value(QStringLiteral("limit")).toInteger(100)), 1, 10000);
    return f;
}

QJsonObject instanceFilterToJson(const InstanceFilter &f)
{
    QJsonObject o;
    if (f.jobId)
        o[QStringLiteral("jobId")] = f.jobId;
    if (!f.statuses.isEmpty())
        o[QStringLiteral("statuses")] =
            toArray(f.statuses, [](InstanceStatus s) { return toString(s); });
    if (f.createdFromMs)
        o[QStringLiteral("fromMs")] = f.createdFromMs;
    if (f.createdToMs)
        o[QStringLiteral("toMs")] = f.createdToMs;
    if (!f.worker.isEmpty())
        o[QStringLiteral("worker")] = f.worker;
    if (f.beforeId)
        o[QStringLiteral("beforeId")] = f.beforeId;
    o[QStringLiteral("limit")] = f.limit;
    return o;
}

QStringList taskStatusNames()
{
    QStringList names;
    for (InstanceStatus s :
         {InstanceStatus::WaitingDispatch, InstanceStatus::Dispatched, InstanceStatus::Running,
          InstanceStatus::Succeeded, InstanceStatus::Failed, InstanceStatus::TimedOut,
          InstanceStatus::Canceled})
        names << toString(s);
    return names;
}

Result<TaskFilter> taskFilterFromJson(const QJsonObject &p)
{
    TaskFilter f;
    // A whole number in [min, max] when present; the error names the field.
    auto whole = [&p](const char *key, qint64 min, qint64 max, auto &out) -> Status {
        const QJsonValue v = p.value(QLatin1String(key));
        if (v.isUndefined() || v.isNull())
            return {};
        const double d = v.toDouble();
        if (!v.isDouble() || d != std::trunc(d) || std::fabs(d) > 9007199254740992.0)
            return makeError(tr("%1: expected a whole number").arg(QLatin1String(key)));
        const qint64 n = qint64(d);
        if (n < min && max == std::numeric_limits<qint64>::max())
            return makeError(
                tr("%1: expected %2 or more, got %3").arg(QLatin1String(key)).arg(min).arg(n));
        if (n < min || n > max)
            return makeError(
                tr("%1: %2 is outside %3-%4").arg(QLatin1String(key)).arg(n).arg(min).arg(max));
        out = static_cast<std::remove_reference_t<decltype(out)>>(n);
        return {};
    };
    if (Status s = whole("attempt", 0, 1000000, f.attempt); !s.ok())
        return makeError(s.error());
    if (Status s = whole("after", 0, std::numeric_limits<qint64>::max(), f.afterTaskId); !s.ok())
        return makeError(s.error());
    if (Status s = whole("limit", 1, 1000, f.limit); !s.ok())
        return makeError(s.error());

    const QJsonValue status = p.value(QStringLiteral("status"));
    const QStringList allowed = taskStatusNames();
    auto addStatus = [&](const QJsonValue &v) -> Status {
        const auto s = v.isString() ? instanceStatusFromString(v.toString()) : std::nullopt;
        if (!s || !allowed.contains(toString(*s))) {
            return makeError(
                tr("status: unknown task state %1; expected one of %2")
                    .arg(v.isString() ? u'"' + v.toString() + u'"' : tr("(not a string)"),
                         allowed.join(u", ")));
        }
        if (!f.statuses.contains(*s))
            f.statuses << *s;
        return {};
    };
    if (status.isArray()) {
        for (const QJsonValue &v : status.toArray()) {
            if (Status s = addStatus(v); !s.ok())
                return makeError(s.error());
        }
    } else if (status.isString()) {
        // One state alone needs no list.
        if (Status s = addStatus(status); !s.ok())
            return makeError(s.error());
    } else if (!status.isUndefined() && !status.isNull()) {
        return makeError(tr("status: expected a list of task states such as [\"FAILED\"]"));
    }
    return f;
}

QJsonObject AdminApi::tasksEvent(const QList<TaskProgress> &events)
{
    return {{QStringLiteral("events"), toArray(events, taskProgressToJson)}};
}

QJsonObject AdminApi::instancesEvent(const QList<Instance> &instances)
{
    return {{QStringLiteral("instances"), toArray(instances, instanceToJson)}};
}

QJsonObject AdminApi::logsEvent(const QList<LogLine> &lines)
{
    return {{QStringLiteral("lines"), toArray(lines, logLineToJson)}};
}

QJsonObject AdminApi::jobEvent(const Job &job)
{
    return {{QStringLiteral("job"), jobToJson(job)}};
}

QJsonObject AdminApi::containersEvent(const QList<DeployStage> &stages, const QStringList &changed)
{
    QJsonObject o;
    if (!stages.isEmpty())
        o[QStringLiteral("stages")] =
            toArray(stages, [](const DeployStage &s) { return s.toJson(); });
    if (!changed.isEmpty())
        o[QStringLiteral("changed")] = QJsonArray::fromStringList(changed);
    return o;
}

void AdminApi::handle(const QString &method, const QJsonObject &params, Done done,
                      const QString &user)
{
    Engine &engine = m_engine;
    auto jobReply = [&engine, done](Result<Job> job) {
        if (!job.ok())
            return done(makeError(job.error()));
        done(jobJson(engine, *job));
    };

    if (method == QLatin1String("server.info")) {
        return done(QJsonObject{
            {QStringLiteral("serverId"), engine.serverId()},
            {QStringLiteral("version"), QCoreApplication::applicationVersion()},
            {QStringLiteral("timeMs"), nowMs()},
            {QStringLiteral("timeZone"), QString::fromUtf8(engine.config().serverZone.id())},
            {QStringLiteral("jobs"), engine.jobs().size()},
            {QStringLiteral("activeInstances"), engine.activeInstanceCount()},
            {QStringLiteral("store"), toString(engine.store()->dialect())},
        });
    }
    if (method == QLatin1String("job.create")) {
        const QJsonValue spec = params.value(QStringLiteral("job"));
        if (!spec.isObject())
            return done(makeError(tr("job: expected the job as an object")));
        auto job = jobFromJson(spec.toObject());
        if (!job.ok())
            return done(makeError(job.error()));
        return engine.createJob(*job, jobReply);
    }
    if (method == QLatin1String("job.list")) {
        return done(QJsonObject{
            {QStringLiteral("jobs"),
             toArray(engine.jobs(), [&engine](const Job &j) { return jobJson(engine, j); })}});
    }

    if (method.startsWith(QLatin1String("job."))) {
        auto job = resolveJob(params);
        if (!job.ok())
            return done(makeError(job.error()));
        const qint64 id = job->id;
        if (method == QLatin1String("job.get"))
            return done(jobJson(engine, *job));
        if (method == QLatin1String("job.update")) {
            const QJsonValue patch = params.value(QStringLiteral("patch"));
            if (!patch.isObject())
                return done(makeError(tr("patch: expected an object with the fields to change")));
            return engine.updateJob(id, patch.toObject(),
                                    params.value(QStringLiteral("expectedVersion")).toInteger(),
                                    jobReply);
        }
        if (method == QLatin1String("job.enable") || method == QLatin1String("job.disable"))
            return engine.setJobEnabled(id, method == QLatin1String("job.enable"), jobReply);
        if (method == QLatin1String("job.delete")) {
            return engine.deleteJob(id, [done](Result<bool> r) {
                if (!r.ok())
                    return done(makeError(r.error()));
                done(QJsonObject{{QStringLiteral("deleted"), true}});
            });
        }
        if (method == QLatin1String("job.run")) {
            QStringList list;
            const QJsonValue many = params.value(QStringLiteral("paramsList"));
            if (many.isArray()) {
                for (const QJsonValue &v : many.toArray())
                    list << v.toString();
            } else {
                const int count = int(std::clamp<qint64>(
                    params.value(QStringLiteral("count")).toInteger(1), 1, 100000));
                for (int i = 0; i < count; ++i)
                    list << params.value(QStringLiteral("params")).toString();
            }
            return engine.runJob(id, list, [done](Result<QList<qint64>> ids) {
                if (!ids.ok())
                    return done(makeError(ids.error()));
                QJsonArray arr;
                for (qint64 i : *ids)
                    arr.append(i);
                done(QJsonObject{{QStringLiteral("instanceIds"), arr}});
            });
        }
    }

    if (method.startsWith(QLatin1String("instance."))) {
        if (method == QLatin1String("instance.list")) {
            auto filter = instanceFilterFromJson(params);
            if (!filter.ok())
                return done(makeError(filter.error()));
            return engine.listInstances(*filter, [done](Result<QList<Instance>> list) {
                if (!list.ok())
                    return done(makeError(list.error()));
                done(QJsonObject{{QStringLiteral("instances"), toArray(*list, instanceToJson)}});
            });
        }
        const QJsonValue idValue = params.value(QStringLiteral("id"));
        if (!idValue.isDouble())
            return done(makeError(tr("id: expected an instance id (number)")));
        const qint64 id = idValue.toInteger();
        auto instanceReply = [done](Result<Instance> inst) {
            if (!inst.ok())
                return done(makeError(inst.error()));
            done(instanceToJson(*inst));
        };
        if (method == QLatin1String("instance.get")) {
            return engine.instance(id, [done](Result<InstanceDetail> d) {
                if (!d.ok())
                    return done(makeError(d.error()));
                done(
                    QJsonObject{{QStringLiteral("instance"), instanceToJson(d->instance)},
                                {QStringLiteral("attempts"), toArray(d->attempts, attemptToJson)}});
            });
        }
        if (method == QLatin1String("instance.logs")) {
            const int limit = int(std::clamp<qint64>(
                params.value(QStringLiteral("limit")).toInteger(1000), 1, 10000));
            return engine.logs(id, params.value(QStringLiteral("afterSeq")).toInteger(), limit,
                               [done](Result<QList<LogLine>> lines) {
                                   if (!lines.ok())
                                       return done(makeError(lines.error()));
                                   done(logsEvent(*lines));
                               });
        }
        if (method == QLatin1String("instance.tasks")) {
            auto filter = taskFilterFromJson(params);
            if (!filter.ok())
                return done(makeError(filter.error()));
            const int limit = filter->limit;
            return engine.tasks(id, *filter, [done, limit](Result<QList<TaskInfo>> tasks) {
                if (!tasks.ok())
                    return done(makeError(tasks.error()));
                // A full page may have a next one: `next` is where it starts (after=next); a
                // short page is the last, so a reader pages without a final empty call.
                const qint64 next =
                    tasks->size() >= limit && !tasks->isEmpty() ? tasks->last().taskId : 0;
                done(QJsonObject{{QStringLiteral("tasks"), toArray(*tasks, taskInfoToJson)},
                                 {QStringLiteral("next"), next}});
            });
        }
        if (method == QLatin1String("instance.cancel"))
            return engine.cancelInstance(id, instanceReply);
        if (method == QLatin1String("instance.retry"))
            return engine.retryInstance(id, instanceReply);
    }
    if (method.startsWith(QLatin1String("worker.")) || method.startsWith(QLatin1String("app."))) {
        if (handleWorkersAndApps(method, params, done))
            return;
    }
    if (method.startsWith(QLatin1String("container."))) {
        if (handleContainers(method, params, done, user))
            return;
    }
    done(makeError(tr("unknown method \"%1\"; this server offers: %2")
                       .arg(method, methods().join(QStringLiteral(", ")))));
}

bool AdminApi::handleWorkersAndApps(const QString &method, const QJsonObject &params,
                                    const Done &done)
{
    if (method == QLatin1String("worker.list")) {
        done(QJsonObject{{QStringLiteral("workers"), toArray(m_engine.workers(), workerToJson)}});
        return true;
    }
    const bool create = method == QLatin1String("app.create");
    const bool rotate = method == QLatin1String("app.rotateSecret");
    if (method != QLatin1String("app.list") && !create && !rotate)
        return false;
    if (!m_credentials) {
        done(makeError(tr("%1: apps are not managed here (this engine has no credential store "
                          "for workers)")
                           .arg(method)));
        return true;
    }
    if (method == QLatin1String("app.list")) {
        QHash<QString, int> alive;
        for (const WorkerInfo &w : m_engine.workers()) {
            if (w.state == WorkerState::Alive)
                ++alive[w.app];
        }
        QJsonArray apps;
        for (const QString &name : m_credentials->appNames()) {
            apps.append(QJsonObject{{QStringLiteral("name"), name},
                                    {QStringLiteral("aliveWorkers"), alive.value(name)}});
        }
        done(QJsonObject{{QStringLiteral("apps"), apps}});
        return true;
    }
    const QJsonValue name = params.value(QStringLiteral("name"));
    if (!name.isString()) {
        done(makeError(tr("name: expected the app name as a string")));
        return true;
    }
    auto reply = [done, name = name.toString()](Result<QString> secret) {
        if (!secret.ok())
            return done(makeError(secret.error()));
        done(QJsonObject{{QStringLiteral("name"), name}, {QStringLiteral("secret"), *secret}});
    };
    if (create)
        m_credentials->createApp(name.toString(), &m_engine, reply);
    else
        m_credentials->rotateAppSecret(name.toString(), &m_engine, reply);
    return true;
}

// --- containers (docs/containers.md section 7) -------------------------------------------------

namespace {

// A whole number in [min, 2^53] at `key`; the error names the field and what was expected.
Result<qint64> wholeParam(const QJsonObject &params, const char *key, qint64 min,
                          const QString &expected)
{
    const QJsonValue v = params.value(QLatin1String(key));
    const double d = v.toDouble();
    if (!v.isDouble() || d != std::trunc(d) || d < double(min) || d > 9007199254740992.0)
        return makeError(QStringLiteral("%1: expected %2").arg(QLatin1String(key), expected));
    return qint64(d);
}

Result<QString> nameParam(const QJsonObject &params)
{
    const QJsonValue v = params.value(QStringLiteral("name"));
    if (!v.isString() || v.toString().trimmed().isEmpty())
        return makeError(tr("name: expected the container name as a string"));
    return v.toString().trimmed();
}

// A job that runs a processor of an uploaded container, as the container views show it.
struct ContainerJob {
    qint64 id = 0;
    QString name;
    QString container;
    QString processor;
    QJsonObject toJson() const
    {
        return {{QStringLiteral("id"), id},
                {QStringLiteral("name"), name},
                {QStringLiteral("processor"), processor}};
    }
};

QList<ContainerJob> containerJobs(const Engine &engine, const QString &container)
{
    QList<ContainerJob> out;
    for (const Job &job : engine.jobs()) {
        if (job.processor != ProcessorKind::Container)
            continue;
        const auto ref =
            splitContainerRef(job.processorConfig.value(QStringLiteral("ref")).toString());
        if (!ref.ok() || ref->first != container)
            continue;
        out << ContainerJob{job.id, job.name, ref->first, ref->second};
    }
    std::sort(out.begin(), out.end(),
              [](const ContainerJob &a, const ContainerJob &b) { return a.id < b.id; });
    return out;
}

QJsonValue versionOrNull(const QList<ContainerVersion> &versions, const QString &sha)
{
    for (const ContainerVersion &v : versions) {
        if (v.sha256 == sha)
            return v.toJson();
    }
    return QJsonValue::Null;
}

QString labelOf(const QList<ContainerVersion> &versions, const QString &sha)
{
    for (const ContainerVersion &v : versions) {
        if (v.sha256 == sha)
            return v.metadata.version;
    }
    return {};
}

} // namespace

bool AdminApi::handleContainers(const QString &method, const QJsonObject &params, const Done &done,
                                const QString &user)
{
    static const QStringList known{
        QStringLiteral("container.upload.begin"),  QStringLiteral("container.upload.chunk"),
        QStringLiteral("container.upload.finish"), QStringLiteral("container.list"),
        QStringLiteral("container.versions"),      QStringLiteral("container.deploy"),
        QStringLiteral("container.status")};
    if (!known.contains(method))
        return false;
    ContainerService *containers = m_engine.containers();
    if (!containers) {
        done(makeError(tr("%1: containers are not available on this server").arg(method)));
        return true;
    }

    if (method == QLatin1String("container.upload.begin")) {
        const auto size = wholeParam(params, "size", 1,
                                     tr("the file's size in bytes (a positive "
                                        "integer)"));
        if (!size.ok()) {
            done(makeError(size.error()));
            return true;
        }
        const QJsonValue sha = params.value(QStringLiteral("sha256"));
        if (!sha.isString()) {
            done(makeError(tr("sha256: expected the file's SHA-256 as a string of 64 hex digits")));
            return true;
        }
        auto ticket = containers->beginUpload(*size, sha.toString(), user);
        if (!ticket.ok()) {
            done(makeError(ticket.error()));
            return true;
        }
        done(QJsonObject{{QStringLiteral("uploadId"), ticket->uploadId},
                         {QStringLiteral("chunkBytes"), ticket->chunkBytes}});
        return true;
    }
    if (method == QLatin1String("container.upload.chunk")
        || method == QLatin1String("container.upload.finish")) {
        const auto uploadId = wholeParam(params, "uploadId", 1, tr("a positive integer"));
        if (!uploadId.ok()) {
            done(makeError(uploadId.error()));
            return true;
        }
        if (method == QLatin1String("container.upload.finish")) {
            containers->finishUpload(*uploadId,
                                     [done](Result<std::pair<ContainerVersion, bool>> r) {
                                         if (!r.ok())
                                             return done(makeError(r.error()));
                                         QJsonObject o = r->first.toJson();
                                         o[QStringLiteral("existing")] = r->second;
                                         done(o);
                                     });
            return true;
        }
        const auto offset =
            wholeParam(params, "offset", 0, tr("the chunk's position in bytes (0 or more)"));
        if (!offset.ok()) {
            done(makeError(offset.error()));
            return true;
        }
        const QJsonValue data = params.value(QStringLiteral("data"));
        if (!data.isString()) {
            done(makeError(tr("data: expected the chunk's bytes as base64 text")));
            return true;
        }
        auto bytes = QByteArray::fromBase64Encoding(data.toString().toLatin1(),
                                                    QByteArray::AbortOnBase64DecodingErrors);
        if (!bytes) {
            done(makeError(tr("data: not valid base64")));
            return true;
        }
        auto received = containers->appendUpload(*uploadId, *offset, *bytes);
        if (!received.ok()) {
            done(makeError(received.error()));
            return true;
        }
        done(QJsonObject{{QStringLiteral("received"), *received}});
        return true;
    }
    if (method == QLatin1String("container.list")) {
        done(containerList());
        return true;
    }
    if (method == QLatin1String("container.versions")) {
        const auto name = nameParam(params);
        if (!name.ok()) {
            done(makeError(name.error()));
            return true;
        }
        done(containerVersions(*name));
        return true;
    }
    if (method == QLatin1String("container.status")) {
        const QJsonValue name = params.value(QStringLiteral("name"));
        if (!name.isUndefined() && !name.isNull() && !name.isString()) {
            done(makeError(tr("name: expected the container name as a string (or no name: "
                              "every container)")));
            return true;
        }
        const QString filter = name.toString().trimmed();
        if (!filter.isEmpty() && containers->versions(filter).isEmpty()) {
            done(makeError(tr("name: no container '%1' is uploaded").arg(filter)));
            return true;
        }
        done(containerStatus(filter));
        return true;
    }

    // container.deploy
    DeployRequest request;
    const auto name = nameParam(params);
    if (!name.ok()) {
        done(makeError(name.error()));
        return true;
    }
    request.container = *name;
    request.user = user;
    const QJsonValue version = params.value(QStringLiteral("version"));
    if (version.isString()) {
        request.version = version.toString().trimmed();
    } else if (!version.isUndefined() && !version.isNull()) {
        done(makeError(tr("version: expected a SHA-256, a prefix of at least 8 of its hex digits "
                          "or a version label")));
        return true;
    }
    const QJsonValue workers = params.value(QStringLiteral("workers"));
    if (workers.isArray()) {
        for (const QJsonValue &w : workers.toArray()) {
            if (!w.isString() || w.toString().trimmed().isEmpty()) {
                done(makeError(tr("workers: expected a list of worker ids (strings)")));
                return true;
            }
            if (!request.workers.contains(w.toString().trimmed()))
                request.workers << w.toString().trimmed();
        }
        if (request.workers.isEmpty()) {
            done(makeError(tr("workers: expected at least one worker id; leave the field out "
                              "to deploy to every worker")));
            return true;
        }
    } else if (!workers.isUndefined() && !workers.isNull()) {
        done(makeError(tr("workers: expected a list of worker ids (strings)")));
        return true;
    }
    const QJsonValue isolation = params.value(QStringLiteral("isolation"));
    if (!isolation.isUndefined() && !isolation.isNull()) {
        const auto iso = isolation.isString()
                             ? containerIsolationFromString(isolation.toString().trimmed())
                             : Result<ContainerIsolation>(makeError(QString()));
        if (!iso.ok()) {
            done(makeError(tr("isolation: expected \"process\" or \"inprocess\", got %1")
                               .arg(isolation.isString() ? u'"' + isolation.toString() + u'"'
                                                         : tr("a non-string value"))));
            return true;
        }
        request.isolation = *iso;
    }
    containers->deploy(request, [done, isolation = request.isolation](Result<DeployTicket> t) {
        if (!t.ok())
            return done(makeError(t.error()));
        done(QJsonObject{{QStringLiteral("deployId"), t->deployId},
                         {QStringLiteral("version"), t->version.toJson()},
                         {QStringLiteral("isolation"), toString(isolation)},
                         {QStringLiteral("workers"), QJsonArray::fromStringList(t->workers)}});
    });
    return true;
}

QJsonObject AdminApi::containerList() const
{
    const ContainerService &containers = *m_engine.containers();
    QStringList names = containers.containerNames();
    names.sort();
    QJsonArray list;
    for (const QString &name : std::as_const(names)) {
        const QList<ContainerVersion> versions = containers.versions(name);
        QJsonObject item{{QStringLiteral("name"), name},
                         {QStringLiteral("versions"), versions.size()},
                         {QStringLiteral("newest"), versions.isEmpty()
                                                        ? QJsonValue(QJsonValue::Null)
                                                        : QJsonValue(versions.first().toJson())},
                         {QStringLiteral("defaultVersion"), QJsonValue::Null},
                         {QStringLiteral("isolation"), QJsonValue::Null}};
        QJsonObject pins;
        for (const ContainerDeployment &d : containers.deployments(name)) {
            if (d.target == ContainerDeployment::kAllWorkers) {
                item[QStringLiteral("defaultVersion")] = versionOrNull(versions, d.sha256);
                item[QStringLiteral("isolation")] = toString(d.isolation);
            } else {
                pins[d.target] = d.sha256;
            }
        }
        item[QStringLiteral("pins")] = pins;
        item[QStringLiteral("jobs")] = toArray(containerJobs(m_engine, name),
                                               [](const ContainerJob &j) { return j.toJson(); });
        list.append(item);
    }
    return {{QStringLiteral("containers"), list}};
}

Result<QJsonObject> AdminApi::containerVersions(const QString &name) const
{
    const ContainerService &containers = *m_engine.containers();
    const QList<ContainerVersion> versions = containers.versions(name);
    if (versions.isEmpty())
        return makeError(tr("name: no container '%1' is uploaded").arg(name));
    const QList<ContainerDeployment> deployments = containers.deployments(name);
    const QList<ContainerJob> jobs = containerJobs(m_engine, name);
    const QJsonArray jobList = toArray(jobs, [](const ContainerJob &j) { return j.toJson(); });
    QJsonArray list;
    for (const ContainerVersion &v : versions) {
        QJsonObject o = v.toJson();
        // The default first, then the pinned workers by id.
        QStringList pinned;
        bool isDefault = false;
        for (const ContainerDeployment &d : deployments) {
            if (d.sha256 != v.sha256)
                continue;
            if (d.target == ContainerDeployment::kAllWorkers)
                isDefault = true;
            else
                pinned << d.target;
        }
        pinned.sort();
        if (isDefault)
            pinned.prepend(ContainerDeployment::kAllWorkers);
        QStringList missing;
        for (const ContainerJob &j : jobs) {
            if (!v.metadata.processor(j.processor) && !missing.contains(j.processor))
                missing << j.processor;
        }
        o[QStringLiteral("deployedTo")] = QJsonArray::fromStringList(pinned);
        o[QStringLiteral("jobs")] = jobList;
        o[QStringLiteral("missing")] = QJsonArray::fromStringList(missing);
        list.append(o);
    }
    return QJsonObject{{QStringLiteral("name"), name}, {QStringLiteral("versions"), list}};
}

QJsonObject AdminApi::containerStatus(const QString &name) const
{
    const ContainerService &containers = *m_engine.containers();
    QList<WorkerContainerState> states = containers.workerStates(name);
    std::sort(states.begin(), states.end(),
              [](const WorkerContainerState &a, const WorkerContainerState &b) {
                  return std::pair(a.latest.container, a.latest.worker)
                         < std::pair(b.latest.container, b.latest.worker);
              });
    QHash<QString, QList<ContainerVersion>> versionsOf;
    QJsonArray rows;
    for (const WorkerContainerState &state : std::as_const(states)) {
        const DeployStage &s = state.latest;
        auto known = versionsOf.find(s.container);
        if (known == versionsOf.end())
            known = versionsOf.insert(s.container, containers.versions(s.container));
        QJsonObject row = s.toJson();
        row[QStringLiteral("reason")] = s.reason;
        row[QStringLiteral("version")] = labelOf(*known, s.sha256);
        row[QStringLiteral("activeSha256")] = state.activeSha256;
        row[QStringLiteral("activeVersion")] = labelOf(*known, state.activeSha256);
        row[QStringLiteral("desiredSha256")] = state.desiredSha256;
        row[QStringLiteral("desiredVersion")] = labelOf(*known, state.desiredSha256);
        row[QStringLiteral("current")] = state.current();
        rows.append(row);
    }
    return {{QStringLiteral("workers"), rows}};
}

} // namespace kairos::server
