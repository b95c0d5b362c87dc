#include "admin_api.h"

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
    return {QStringLiteral("server.info"),     QStringLiteral("job.create"),
            QStringLiteral("job.update"),      QStringLiteral("job.get"),
            QStringLiteral("job.list"),        QStringLiteral("job.enable"),
            QStringLiteral("job.disable"),     QStringLiteral("job.delete"),
            QStringLiteral("job.run"),         QStringLiteral("instance.list"),
            QStringLiteral("instance.get"),    QStringLiteral("instance.logs"),
            QStringLiteral("instance.tasks"),  QStringLiteral("instance.cancel"),
            QStringLiteral("instance.retry"),  QStringLiteral("worker.list"),
            QStringLiteral("app.list"),        QStringLiteral("app.create"),
            QStringLiteral("app.rotateSecret")};
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

void AdminApi::handle(const QString &method, const QJsonObject &params, Done done)
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

} // namespace kairos::server
