#include "task_info.h"

#include "log.h"

#include <QJsonArray>

namespace kairos {
namespace {

// The counter of `counts` a task in state `s` belongs to. WAITING_WORKER and SKIPPED are not
// task states; they are counted where a reader would look for them (waiting / not succeeded).
qint64 &bucketOf(TaskCounts &counts, InstanceStatus s)
{
    switch (s) {
    case InstanceStatus::WaitingDispatch:
    case InstanceStatus::WaitingWorker:
        return counts.waiting;
    case InstanceStatus::Dispatched:
    case InstanceStatus::Running:
        return counts.running;
    case InstanceStatus::Succeeded:
        return counts.succeeded;
    case InstanceStatus::Failed:
    case InstanceStatus::TimedOut:
    case InstanceStatus::Canceled:
    case InstanceStatus::Skipped:
        break;
    }
    return counts.failed;
}

} // namespace

QJsonObject taskInfoToJson(const TaskInfo &t)
{
    return QJsonObject{
        {QStringLiteral("instance"), t.instanceId},
        {QStringLiteral("attempt"), t.attempt},
        {QStringLiteral("task"), t.taskId},
        {QStringLiteral("parent"), t.parentId},
        {QStringLiteral("seq"), t.seq},
        {QStringLiteral("name"), t.name},
        {QStringLiteral("role"), toString(t.role)},
        {QStringLiteral("status"), toString(t.status)},
        {QStringLiteral("runs"), t.runs},
        {QStringLiteral("worker"), t.worker},
        {QStringLiteral("address"), t.address},
        {QStringLiteral("result"), t.result},
        {QStringLiteral("createdAt"), t.createdAtMs},
        {QStringLiteral("startedAt"), t.startedAtMs},
        {QStringLiteral("finishedAt"), t.finishedAtMs},
    };
}

TaskInfo taskInfoFromJson(const QJsonObject &o)
{
    // Lenient like instanceFromJson: this reads what a server wrote; unknown names keep the
    // defaults rather than dropping a row a console is about to show.
    TaskInfo t;
    t.instanceId = o[QStringLiteral("instance")].toInteger();
    t.attempt = o[QStringLiteral("attempt")].toInt(1);
    t.taskId = o[QStringLiteral("task")].toInteger();
    t.parentId = o[QStringLiteral("parent")].toInteger();
    t.seq = o[QStringLiteral("seq")].toInteger();
    t.name = o[QStringLiteral("name")].toString();
    t.role = taskRoleFromString(o[QStringLiteral("role")].toString()).value_or(TaskRole::Subtask);
    t.status = instanceStatusFromString(o[QStringLiteral("status")].toString())
                   .value_or(InstanceStatus::WaitingDispatch);
    t.runs = o[QStringLiteral("runs")].toInt(0);
    t.worker = o[QStringLiteral("worker")].toString();
    t.address = o[QStringLiteral("address")].toString();
    t.result = o[QStringLiteral("result")].toString();
    t.createdAtMs = o[QStringLiteral("createdAt")].toInteger();
    t.startedAtMs = o[QStringLiteral("startedAt")].toInteger();
    t.finishedAtMs = o[QStringLiteral("finishedAt")].toInteger();
    return t;
}

QJsonObject taskCountsToJson(const TaskCounts &c)
{
    return QJsonObject{
        {QStringLiteral("total"), c.total},     {QStringLiteral("waiting"), c.waiting},
        {QStringLiteral("running"), c.running}, {QStringLiteral("succeeded"), c.succeeded},
        {QStringLiteral("failed"), c.failed},
    };
}

TaskCounts taskCountsFromJson(const QJsonObject &o)
{
    TaskCounts c;
    c.total = o[QStringLiteral("total")].toInteger();
    c.waiting = o[QStringLiteral("waiting")].toInteger();
    c.running = o[QStringLiteral("running")].toInteger();
    c.succeeded = o[QStringLiteral("succeeded")].toInteger();
    c.failed = o[QStringLiteral("failed")].toInteger();
    return c;
}

QJsonObject taskProgressToJson(const TaskProgress &p)
{
    QJsonArray changed;
    for (const TaskInfo &t : p.changed)
        changed.append(taskInfoToJson(t));
    return QJsonObject{
        {QStringLiteral("instance"), p.instanceId},
        {QStringLiteral("attempt"), p.attempt},
        {QStringLiteral("counts"), taskCountsToJson(p.counts)},
        {QStringLiteral("changed"), changed},
        {QStringLiteral("truncated"), p.truncated},
    };
}

TaskProgress taskProgressFromJson(const QJsonObject &o)
{
    TaskProgress p;
    p.instanceId = o[QStringLiteral("instance")].toInteger();
    p.attempt = o[QStringLiteral("attempt")].toInt(1);
    p.counts = taskCountsFromJson(o[QStringLiteral("counts")].toObject());
    const QJsonArray changed = o[QStringLiteral("changed")].toArray();
    p.changed.reserve(changed.size());
    for (const QJsonValue &v : changed)
        p.changed << taskInfoFromJson(v.toObject());
    p.truncated = o[QStringLiteral("truncated")].toBool();
    return p;
}

QJsonObject taskResultToJson(const TaskResultEntry &r)
{
    return QJsonObject{
        {QStringLiteral("task"), r.taskId},
        {QStringLiteral("name"), r.name},
        {QStringLiteral("status"), toString(r.status)},
        {QStringLiteral("result"), r.result},
        {QStringLiteral("worker"), r.worker},
        {QStringLiteral("address"), r.address},
        {QStringLiteral("runs"), r.runs},
    };
}

TaskResultEntry taskResultFromJson(const QJsonObject &o)
{
    TaskResultEntry r;
    r.taskId = o[QStringLiteral("task")].toInteger();
    r.name = o[QStringLiteral("name")].toString();
    // A result whose state cannot be read is never taken for a success.
    r.status = instanceStatusFromString(o[QStringLiteral("status")].toString())
                   .value_or(InstanceStatus::Failed);
    r.result = o[QStringLiteral("result")].toString();
    r.worker = o[QStringLiteral("worker")].toString();
    r.address = o[QStringLiteral("address")].toString();
    r.runs = o[QStringLiteral("runs")].toInt(1);
    return r;
}

void countTransition(TaskCounts &counts, std::optional<InstanceStatus> from, InstanceStatus to)
{
    if (!from) {
        ++counts.total;
        ++bucketOf(counts, to);
        return;
    }
    qint64 &was = bucketOf(counts, *from);
    qint64 &now = bucketOf(counts, to);
    if (&was == &now)
        return; // DISPATCHED -> RUNNING and the like: the same counter
    if (was <= 0) {
        // A transition from a state nothing was counted in is a caller's bug; keep the counts
        // usable (never negative) and say so, rather than show "-1 running" for ever.
        qCWarning(lcCore) << "task counts: a move from" << toString(*from) << "to" << toString(to)
                          << "with no task counted in" << toString(*from);
        ++counts.total;
    } else {
        --was;
    }
    ++now;
}

} // namespace kairos
