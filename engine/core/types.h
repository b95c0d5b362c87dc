#pragma once
// Enumerations shared by every layer, with their stable wire/storage names. The names (not the
// numeric values) are what the database, the protocol and JSON files hold, so values can be
// reordered freely but a name, once released, never changes.

#include <QString>
#include <QStringList>

#include <optional>

namespace kairos {

enum class TimingType { Api, Cron, FixedRate, FixedDelay, OneShot };
enum class ExecutionMode { Standalone, Broadcast, Map, MapReduce };
enum class ProcessorKind { Shell, Http, Echo, Sleep, Container };
enum class DispatchStrategy { HealthFirst, RoundRobin, Random, Specified };
enum class MisfirePolicy { FireOnce, Skip, FireAll };
enum class TriggerKind { Scheduled, Api, Misfire, Workflow };
// What one task of a run does (docs/execution-modes.md). A STANDALONE job's run is one task
// (Standalone, task id 0, never stored as a task row). A MAP / MAP_REDUCE run starts with a Root
// task; every item a processor maps becomes a Subtask; a MAP_REDUCE run ends with one Reduce
// task. A BROADCAST run is an optional PreProcess task, one Broadcast task per worker, then an
// optional PostProcess task.
enum class TaskRole { Standalone, Root, Subtask, Reduce, PreProcess, Broadcast, PostProcess };

// The instance state machine (DESIGN.md, "The flow of one run"). Skipped is terminal and is
// recorded when a trigger arrives while the job is at its concurrency limit.
enum class InstanceStatus {
    WaitingDispatch,
    WaitingWorker,
    Dispatched,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Canceled,
    Skipped,
};

QString toString(TimingType v);
QString toString(ExecutionMode v);
QString toString(ProcessorKind v);
QString toString(DispatchStrategy v);
QString toString(MisfirePolicy v);
QString toString(TriggerKind v);
QString toString(InstanceStatus v);
QString toString(TaskRole v);

// Parsing is case-insensitive and accepts '-' for '_'. nullopt for an unknown name.
std::optional<TimingType> timingTypeFromString(const QString &s);
std::optional<ExecutionMode> executionModeFromString(const QString &s);
std::optional<ProcessorKind> processorKindFromString(const QString &s);
std::optional<DispatchStrategy> dispatchStrategyFromString(const QString &s);
std::optional<MisfirePolicy> misfirePolicyFromString(const QString &s);
std::optional<TriggerKind> triggerKindFromString(const QString &s);
std::optional<InstanceStatus> instanceStatusFromString(const QString &s);
std::optional<TaskRole> taskRoleFromString(const QString &s);

// The accepted names, for error messages ("expected one of: ...").
QStringList timingTypeNames();
QStringList executionModeNames();
QStringList processorKindNames();
QStringList dispatchStrategyNames();
QStringList misfirePolicyNames();
QStringList instanceStatusNames();
QStringList taskRoleNames();

bool isTerminal(InstanceStatus s);
// Whether the state machine allows from -> to. Retrying (a new attempt) is the one way out of a
// terminal state: Failed/TimedOut/Canceled -> WaitingDispatch, and only with attempt + 1.
bool isAllowedTransition(InstanceStatus from, InstanceStatus to);

} // namespace kairos
