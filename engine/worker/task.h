#pragma once
// TaskSpec and TaskReport: what the server asks a worker to run and what the worker says back.
// A task is one processor run of one instance attempt; standalone jobs have one task (taskId 0),
// broadcast and map jobs have one per subtask. (instanceId, attempt, taskId) identifies a task
// everywhere, which is what makes dispatch idempotent. Plain values, safe to copy between threads.

#include <core/types.h>

#include <QHashFunctions>
#include <QJsonObject>
#include <QString>

namespace kairos {

struct TaskSpec {
    qint64 instanceId = 0;
    int attempt = 1;
    qint64 taskId = 0;
    QString jobName;
    ProcessorKind processor = ProcessorKind::Echo;
    QJsonObject config;     // the job's processor config, see docs/processors.md
    QString jobParams;      // the job's parameters (JSON recommended, free text allowed)
    QString instanceParams; // this run's parameters; override job params key by key
    int timeoutMs = 0;      // 0 = no timeout; otherwise the run ends TimedOut after this long
};

// Status is Running (the processor started) or a terminal one: Succeeded, Failed, TimedOut,
// Canceled. result holds the processor's result text, or why it failed; empty for Running.
struct TaskReport {
    qint64 instanceId = 0;
    int attempt = 1;
    qint64 taskId = 0;
    InstanceStatus status = InstanceStatus::Running;
    QString result;
    qint64 timeMs = 0; // epoch ms of the transition
    // The same instant in epoch microseconds, when the sender stamped it (0 = not stamped). Only
    // for measuring dispatch-to-start latency on one machine (kairos-bench); never for logic.
    qint64 timeUs = 0;
    bool operator==(const TaskReport &) const = default;
};

// The identity of a task, for idempotency and bookkeeping.
struct TaskKey {
    qint64 instanceId = 0;
    int attempt = 1;
    qint64 taskId = 0;
    bool operator==(const TaskKey &) const = default;
};

inline TaskKey taskKeyOf(const TaskSpec &s)
{
    return TaskKey{s.instanceId, s.attempt, s.taskId};
}

inline size_t qHash(const TaskKey &k, size_t seed = 0) noexcept
{
    return qHashMulti(seed, k.instanceId, k.attempt, k.taskId);
}

} // namespace kairos
