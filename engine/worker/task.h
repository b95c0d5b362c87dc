#pragma once
// TaskSpec and TaskReport: what the server asks a worker to run and what the worker says back.
// A task is one processor run of one instance attempt; standalone jobs have one task (taskId 0),
// broadcast and map jobs have one per subtask (ids from 1). A task can run more than once within
// one instance attempt (a map task whose worker died, a per-task retry): `taskAttempt` counts
// those runs. (instanceId, attempt, taskId, taskAttempt) identifies one run everywhere, which is
// what makes dispatch idempotent and reports fenceable. Plain values, safe to copy between
// threads.
//
// TaskCall / TaskCallReply: what a running processor asks of the server while it runs — store
// mapped items as subtasks (`map`), read a page of the finished tasks' results (`results`, for a
// reduce). docs/protocol.md 12.2 (`call`, `callReply`), docs/execution-modes.md.

#include <core/task_info.h>
#include <core/types.h>

#include <QByteArray>
#include <QHashFunctions>
#include <QJsonObject>
#include <QList>
#include <QString>

namespace kairos {

struct TaskSpec {
    qint64 instanceId = 0;
    int attempt = 1;
    qint64 taskId = 0;
    int taskAttempt = 1; // which run of this task (1, 2, ...); the processor sees it
    QString jobName;
    ExecutionMode mode = ExecutionMode::Standalone;
    TaskRole role = TaskRole::Standalone;
    QString taskName;   // "root", a map name, "reduce", "preProcess", "broadcast", "postProcess"
    QByteArray payload; // Subtask: the mapped item; empty otherwise
    ProcessorKind processor = ProcessorKind::Echo;
    QJsonObject config;     // the job's processor config, see docs/processors.md
    QString jobParams;      // the job's parameters (JSON recommended, free text allowed)
    QString instanceParams; // this run's parameters; override job params key by key
    int timeoutMs = 0;      // 0 = no timeout; otherwise the run ends TimedOut after this long
    // PostProcess: every broadcast task's result (one per worker, so bounded by the worker
    // count). A Reduce reads its (unbounded) input page by page with `results` calls instead.
    QList<TaskResultEntry> results;
};

// Status is Running (the processor started) or a terminal one: Succeeded, Failed, TimedOut,
// Canceled. result holds the processor's result text, or why it failed; empty for Running.
struct TaskReport {
    qint64 instanceId = 0;
    int attempt = 1;
    qint64 taskId = 0;
    int taskAttempt = 1;
    InstanceStatus status = InstanceStatus::Running;
    QString result;
    qint64 timeMs = 0; // epoch ms of the transition
    // The same instant in epoch microseconds, when the sender stamped it (0 = not stamped). Only
    // for measuring dispatch-to-start latency on one machine (kairos-bench); never for logic.
    qint64 timeUs = 0;
    bool operator==(const TaskReport &) const = default;
};

// The identity of one run of a task, for idempotency and bookkeeping.
struct TaskKey {
    qint64 instanceId = 0;
    int attempt = 1;
    qint64 taskId = 0;
    int taskAttempt = 1;
    bool operator==(const TaskKey &) const = default;
};

inline TaskKey taskKeyOf(const TaskSpec &s)
{
    return TaskKey{s.instanceId, s.attempt, s.taskId, s.taskAttempt};
}

inline TaskKey taskKeyOf(const TaskReport &r)
{
    return TaskKey{r.instanceId, r.attempt, r.taskId, r.taskAttempt};
}

inline size_t qHash(const TaskKey &k, size_t seed = 0) noexcept
{
    return qHashMulti(seed, k.instanceId, k.attempt, k.taskId, k.taskAttempt);
}

// A request of a running task to the server. `callId` is chosen by the worker side (unique per
// connection while unanswered) and echoed in the reply.
struct TaskCall {
    enum class Op { Map, Results };
    quint64 callId = 0;
    TaskKey key; // the run that asks; a call from a run the server no longer holds is refused
    Op op = Op::Map;
    // Map: store `items` as subtasks named `name`. `from` is the position of items[0] among
    // everything this task has mapped so far in this run (0, then +items.size() per call): the
    // server skips positions it already stored for this task (a re-run that maps the same items
    // again does not create them twice) and refuses a gap.
    QString name;
    qint64 from = 0;
    QList<QByteArray> items;
    // Results: at most `limit` finished Subtask results with task id > afterTaskId, by task id.
    qint64 afterTaskId = 0;
    int limit = 0;
    bool operator==(const TaskCall &) const = default;
};

struct TaskCallReply {
    quint64 callId = 0;
    QString error; // empty = done (Map: the items are durably stored)
    // Results: the page, and whether it is the last one.
    QList<TaskResultEntry> results;
    bool end = false;
    bool operator==(const TaskCallReply &) const = default;
};

} // namespace kairos
