#include "instance.h"

namespace kairos {

QString toString(LogStream s)
{
    switch (s) {
    case LogStream::Stdout:
        return QStringLiteral("OUT");
    case LogStream::Stderr:
        return QStringLiteral("ERR");
    case LogStream::System:
        return QStringLiteral("SYS");
    }
    return {};
}

LogStream logStreamFromString(const QString &s)
{
    if (s == QLatin1String("ERR"))
        return LogStream::Stderr;
    if (s == QLatin1String("SYS"))
        return LogStream::System;
    return LogStream::Stdout;
}

QJsonObject instanceToJson(const Instance &i)
{
    return QJsonObject{
        {QStringLiteral("id"), i.id},
        {QStringLiteral("jobId"), i.jobId},
        {QStringLiteral("workflowRunId"), i.workflowRunId},
        {QStringLiteral("jobName"), i.jobName},
        {QStringLiteral("status"), toString(i.status)},
        {QStringLiteral("reason"), i.reason},
        {QStringLiteral("trigger"), toString(i.trigger)},
        {QStringLiteral("fireTimeMs"), i.fireTimeMs},
        {QStringLiteral("attempt"), i.attempt},
        {QStringLiteral("maxAttempts"), i.maxAttempts},
        {QStringLiteral("params"), i.params},
        {QStringLiteral("result"), i.result},
        {QStringLiteral("worker"), i.worker},
        {QStringLiteral("createdAtMs"), i.createdAtMs},
        {QStringLiteral("dispatchedAtMs"), i.dispatchedAtMs},
        {QStringLiteral("startedAtMs"), i.startedAtMs},
        {QStringLiteral("finishedAtMs"), i.finishedAtMs},
        {QStringLiteral("nextAttemptAtMs"), i.nextAttemptAtMs},
        {QStringLiteral("version"), i.version},
    };
}

Instance instanceFromJson(const QJsonObject &o)
{
    Instance i;
    i.id = o[QStringLiteral("id")].toInteger();
    i.jobId = o[QStringLiteral("jobId")].toInteger();
    i.workflowRunId = o[QStringLiteral("workflowRunId")].toInteger();
    i.jobName = o[QStringLiteral("jobName")].toString();
    i.status = instanceStatusFromString(o[QStringLiteral("status")].toString())
                   .value_or(InstanceStatus::WaitingDispatch);
    i.reason = o[QStringLiteral("reason")].toString();
    i.trigger =
        triggerKindFromString(o[QStringLiteral("trigger")].toString()).value_or(TriggerKind::Api);
    i.fireTimeMs = o[QStringLiteral("fireTimeMs")].toInteger();
    i.attempt = o[QStringLiteral("attempt")].toInt(1);
    i.maxAttempts = o[QStringLiteral("maxAttempts")].toInt(1);
    i.params = o[QStringLiteral("params")].toString();
    i.result = o[QStringLiteral("result")].toString();
    i.worker = o[QStringLiteral("worker")].toString();
    i.createdAtMs = o[QStringLiteral("createdAtMs")].toInteger();
    i.dispatchedAtMs = o[QStringLiteral("dispatchedAtMs")].toInteger();
    i.startedAtMs = o[QStringLiteral("startedAtMs")].toInteger();
    i.finishedAtMs = o[QStringLiteral("finishedAtMs")].toInteger();
    i.nextAttemptAtMs = o[QStringLiteral("nextAttemptAtMs")].toInteger();
    i.version = o[QStringLiteral("version")].toInteger();
    return i;
}

QJsonObject attemptToJson(const Attempt &a)
{
    return QJsonObject{
        {QStringLiteral("instanceId"), a.instanceId},
        {QStringLiteral("attempt"), a.attempt},
        {QStringLiteral("status"), toString(a.status)},
        {QStringLiteral("worker"), a.worker},
        {QStringLiteral("reason"), a.reason},
        {QStringLiteral("startedAtMs"), a.startedAtMs},
        {QStringLiteral("finishedAtMs"), a.finishedAtMs},
    };
}

Attempt attemptFromJson(const QJsonObject &o)
{
    Attempt a;
    a.instanceId = o[QStringLiteral("instanceId")].toInteger();
    a.attempt = o[QStringLiteral("attempt")].toInt(1);
    a.status = instanceStatusFromString(o[QStringLiteral("status")].toString())
                   .value_or(InstanceStatus::Running);
    a.worker = o[QStringLiteral("worker")].toString();
    a.reason = o[QStringLiteral("reason")].toString();
    a.startedAtMs = o[QStringLiteral("startedAtMs")].toInteger();
    a.finishedAtMs = o[QStringLiteral("finishedAtMs")].toInteger();
    return a;
}

QJsonObject logLineToJson(const LogLine &l)
{
    return QJsonObject{
        {QStringLiteral("instanceId"), l.instanceId},
        {QStringLiteral("seq"), l.seq},
        {QStringLiteral("attempt"), l.attempt},
        {QStringLiteral("task"), l.taskId},
        {QStringLiteral("timeMs"), l.timeMs},
        {QStringLiteral("stream"), toString(l.stream)},
        {QStringLiteral("text"), l.text},
    };
}

LogLine logLineFromJson(const QJsonObject &o)
{
    LogLine l;
    l.instanceId = o[QStringLiteral("instanceId")].toInteger();
    l.seq = o[QStringLiteral("seq")].toInteger();
    l.attempt = o[QStringLiteral("attempt")].toInt(1);
    l.taskId = o[QStringLiteral("task")].toInteger(); // absent from servers before issue 4: 0
    l.timeMs = o[QStringLiteral("timeMs")].toInteger();
    l.stream = logStreamFromString(o[QStringLiteral("stream")].toString());
    l.text = o[QStringLiteral("text")].toString();
    return l;
}

} // namespace kairos
