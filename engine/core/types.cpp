#include "types.h"

#include <array>
#include <utility>

namespace kairos {
namespace {

template<typename E, std::size_t N> using NameTable = std::array<std::pair<E, const char *>, N>;

constexpr NameTable<TimingType, 5> kTiming{{{TimingType::Api, "API"},
                                            {TimingType::Cron, "CRON"},
                                            {TimingType::FixedRate, "FIXED_RATE"},
                                            {TimingType::FixedDelay, "FIXED_DELAY"},
                                            {TimingType::OneShot, "ONE_SHOT"}}};
constexpr NameTable<ExecutionMode, 4> kMode{{{ExecutionMode::Standalone, "STANDALONE"},
                                             {ExecutionMode::Broadcast, "BROADCAST"},
                                             {ExecutionMode::Map, "MAP"},
                                             {ExecutionMode::MapReduce, "MAP_REDUCE"}}};
constexpr NameTable<ProcessorKind, 5> kProcessor{{{ProcessorKind::Shell, "SHELL"},
                                                  {ProcessorKind::Http, "HTTP"},
                                                  {ProcessorKind::Echo, "ECHO"},
                                                  {ProcessorKind::Sleep, "SLEEP"},
                                                  {ProcessorKind::Container, "CONTAINER"}}};
constexpr NameTable<DispatchStrategy, 4> kStrategy{{{DispatchStrategy::HealthFirst, "HEALTH_FIRST"},
                                                    {DispatchStrategy::RoundRobin, "ROUND_ROBIN"},
                                                    {DispatchStrategy::Random, "RANDOM"},
                                                    {DispatchStrategy::Specified, "SPECIFIED"}}};
constexpr NameTable<MisfirePolicy, 3> kMisfire{{{MisfirePolicy::FireOnce, "FIRE_ONCE"},
                                                {MisfirePolicy::Skip, "SKIP"},
                                                {MisfirePolicy::FireAll, "FIRE_ALL"}}};
constexpr NameTable<TriggerKind, 4> kTrigger{{{TriggerKind::Scheduled, "SCHEDULED"},
                                              {TriggerKind::Api, "API"},
                                              {TriggerKind::Misfire, "MISFIRE"},
                                              {TriggerKind::Workflow, "WORKFLOW"}}};
constexpr NameTable<InstanceStatus, 9> kStatus{
    {{InstanceStatus::WaitingDispatch, "WAITING_DISPATCH"},
     {InstanceStatus::WaitingWorker, "WAITING_WORKER"},
     {InstanceStatus::Dispatched, "DISPATCHED"},
     {InstanceStatus::Running, "RUNNING"},
     {InstanceStatus::Succeeded, "SUCCEEDED"},
     {InstanceStatus::Failed, "FAILED"},
     {InstanceStatus::TimedOut, "TIMED_OUT"},
     {InstanceStatus::Canceled, "CANCELED"},
     {InstanceStatus::Skipped, "SKIPPED"}}};
constexpr NameTable<TaskRole, 7> kRole{{{TaskRole::Standalone, "STANDALONE"},
                                        {TaskRole::Root, "ROOT"},
                                        {TaskRole::Subtask, "SUBTASK"},
                                        {TaskRole::Reduce, "REDUCE"},
                                        {TaskRole::PreProcess, "PRE_PROCESS"},
                                        {TaskRole::Broadcast, "BROADCAST"},
                                        {TaskRole::PostProcess, "POST_PROCESS"}}};

template<typename E, std::size_t N> QString nameOf(const NameTable<E, N> &table, E v)
{
    for (const auto &[value, name] : table) {
        if (value == v)
            return QString::fromLatin1(name);
    }
    return {};
}

template<typename E, std::size_t N>
std::optional<E> valueOf(const NameTable<E, N> &table, const QString &s)
{
    QString key = s.trimmed().toUpper();
    key.replace(QLatin1Char('-'), QLatin1Char('_'));
    for (const auto &[value, name] : table) {
        if (key == QLatin1String(name))
            return value;
    }
    return std::nullopt;
}

template<typename E, std::size_t N> QStringList namesOf(const NameTable<E, N> &table)
{
    QStringList out;
    for (const auto &entry : table)
        out << QString::fromLatin1(entry.second);
    return out;
}

} // namespace

QString toString(TimingType v)
{
    return nameOf(kTiming, v);
}
QString toString(ExecutionMode v)
{
    return nameOf(kMode, v);
}
QString toString(ProcessorKind v)
{
    return nameOf(kProcessor, v);
}
QString toString(DispatchStrategy v)
{
    return nameOf(kStrategy, v);
}
QString toString(MisfirePolicy v)
{
    return nameOf(kMisfire, v);
}
QString toString(TriggerKind v)
{
    return nameOf(kTrigger, v);
}
QString toString(InstanceStatus v)
{
    return nameOf(kStatus, v);
}

QString toString(TaskRole v)
{
    return nameOf(kRole, v);
}

std::optional<TimingType> timingTypeFromString(const QString &s)
{
    return valueOf(kTiming, s);
}
std::optional<ExecutionMode> executionModeFromString(const QString &s)
{
    return valueOf(kMode, s);
}
std::optional<ProcessorKind> processorKindFromString(const QString &s)
{
    return valueOf(kProcessor, s);
}
std::optional<DispatchStrategy> dispatchStrategyFromString(const QString &s)
{
    return valueOf(kStrategy, s);
}
std::optional<MisfirePolicy> misfirePolicyFromString(const QString &s)
{
    return valueOf(kMisfire, s);
}
std::optional<TriggerKind> triggerKindFromString(const QString &s)
{
    return valueOf(kTrigger, s);
}
std::optional<InstanceStatus> instanceStatusFromString(const QString &s)
{
    return valueOf(kStatus, s);
}

std::optional<TaskRole> taskRoleFromString(const QString &s)
{
    return valueOf(kRole, s);
}

QStringList timingTypeNames()
{
    return namesOf(kTiming);
}
QStringList executionModeNames()
{
    return namesOf(kMode);
}
QStringList processorKindNames()
{
    return namesOf(kProcessor);
}
QStringList dispatchStrategyNames()
{
    return namesOf(kStrategy);
}
QStringList misfirePolicyNames()
{
    return namesOf(kMisfire);
}
QStringList instanceStatusNames()
{
    return namesOf(kStatus);
}

QStringList taskRoleNames()
{
    return namesOf(kRole);
}

bool isTerminal(InstanceStatus s)
{
    switch (s) {
    case InstanceStatus::Succeeded:
    case InstanceStatus::Failed:
    case InstanceStatus::TimedOut:
    case InstanceStatus::Canceled:
    case InstanceStatus::Skipped:
        return true;
    default:
        return false;
    }
}

bool isAllowedTransition(InstanceStatus from, InstanceStatus to)
{
    using S = InstanceStatus;
    if (to == S::Canceled)
        return !isTerminal(from);
    switch (from) {
    case S::WaitingDispatch:
        return to == S::WaitingWorker || to == S::Dispatched || to == S::Failed || to == S::Skipped;
    case S::WaitingWorker:
        return to == S::Dispatched || to == S::Failed || to == S::WaitingDispatch
               || to == S::Skipped;
    case S::Dispatched:
        // A fast processor may finish before its RUNNING report is applied: the terminal
        // report then moves the instance straight on.
        return to == S::Running || to == S::Succeeded || to == S::Failed || to == S::TimedOut
               || to == S::WaitingDispatch;
    case S::Running:
        return to == S::Succeeded || to == S::Failed || to == S::TimedOut;
    case S::Failed:
    case S::TimedOut:
    case S::Canceled:
        return to == S::WaitingDispatch; // a retry: a new attempt of the same instance
    case S::Succeeded:
    case S::Skipped:
        return false;
    }
    return false;
}

} // namespace kairos
