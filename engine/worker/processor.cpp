#include "processor.h"

#include "builtin_processors.h"
#include "config_fields.h"
#include "http_processor.h"
#include "sdk_processor_run.h"
#include "shell_processor.h"
#include "simple_processors.h"

#include <core/container_info.h>

#include <atomic>
#include <optional>

namespace kairos {

namespace {
// Call ids are unique in the whole process, so one connection never sees two calls with the
// same id, whichever runner or run made them.
std::atomic<quint64> g_lastCallId{0};

// An uploaded container's processor ("hello#greet"): whether the container exists and offers a
// processor of the right shape is the server's ContainerService's to check (it knows the
// versions); these pure checks only look at the ref's form.
std::optional<Status> checkUploadedRef(const QJsonObject &config)
{
    const QString ref = config.value(QStringLiteral("ref")).toString();
    if (ref.isEmpty() || ref.startsWith(kBuiltinRefPrefix))
        return std::nullopt;
    if (auto split = splitContainerRef(ref); !split.ok())
        return Status(makeError(split.error()));
    return Status();
}

} // namespace

ProcessorRun::ProcessorRun(const TaskSpec &spec, QObject *parent)
    : QObject(parent)
    , m_spec(spec)
{}

ProcessorRun::~ProcessorRun() = default;

void ProcessorRun::timeOut(int timeoutMs)
{
    if (m_finished || m_stopping)
        return; // a user cancel already in progress keeps its meaning
    m_timedOutAfterMs = timeoutMs;
    cancel(QStringLiteral("timed out after %1 ms").arg(timeoutMs));
}

void ProcessorRun::log(LogStream stream, const QString &text)
{
    if (!m_finished)
        emit logLine(stream, text, QPrivateSignal());
}

bool ProcessorRun::finish(InstanceStatus status, const QString &result)
{
    if (m_finished)
        return false;
    m_finished = true;
    if (status == InstanceStatus::Canceled && m_timedOutAfterMs >= 0)
        status = InstanceStatus::TimedOut;
    emit finished(status, result, QPrivateSignal());
    return true;
}

quint64 ProcessorRun::requestCall(TaskCall call)
{
    if (m_finished)
        return 0;
    call.key = taskKeyOf(m_spec);
    call.callId = g_lastCallId.fetch_add(1, std::memory_order_relaxed) + 1;
    const quint64 id = call.callId;
    emit callRequested(call, QPrivateSignal());
    return id;
}

void ProcessorRun::callAnswered(const TaskCallReply &reply)
{
    (void)reply; // runs that make no calls get no replies
}

bool ProcessorRun::beginStop()
{
    if (m_finished || m_stopping)
        return false;
    m_stopping = true;
    return true;
}

namespace {

bool hasString(const QJsonObject &config, QLatin1StringView key)
{
    const QJsonValue v = config.value(key);
    return v.isString() && !v.toString().isEmpty();
}

QString refOf(const QJsonObject &config)
{
    return config.value(QLatin1String("ref")).toString();
}

// The run of a broadcast hook the processor does not have (see DefaultHookRun).
bool needsDefaultHook(const TaskSpec &spec)
{
    if (spec.role != TaskRole::PreProcess && spec.role != TaskRole::PostProcess)
        return false;
    const BroadcastHooks hooks = broadcastHooksOf(spec.processor, spec.config);
    if (spec.processor == ProcessorKind::Container)
        return false; // SdkProcessorRun applies the SDK's default hooks itself
    return spec.role == TaskRole::PreProcess ? !hooks.preProcess : !hooks.postProcess;
}

} // namespace

Status validateProcessorConfig(ProcessorKind kind, const QJsonObject &config)
{
    switch (kind) {
    case ProcessorKind::Shell:
        if (auto c = parseShellConfig(config); !c)
            return makeError(c.error());
        return {};
    case ProcessorKind::Http:
        if (auto c = parseHttpConfig(config); !c)
            return makeError(c.error());
        return {};
    case ProcessorKind::Echo:
        if (auto c = parseEchoConfig(config); !c)
            return makeError(c.error());
        return {};
    case ProcessorKind::Sleep:
        if (auto c = parseSleepConfig(config); !c)
            return makeError(c.error());
        return {};
    case ProcessorKind::Container: {
        if (auto uploaded = checkUploadedRef(config))
            return *uploaded;
        const auto builtin = resolveContainerRef(config);
        if (!builtin)
            return makeError(builtin.error());
        return (*builtin)->validate(config);
    }
    }
    return makeError(QStringLiteral("processor: unknown kind"));
}

BroadcastHooks broadcastHooksOf(ProcessorKind kind, const QJsonObject &config)
{
    switch (kind) {
    case ProcessorKind::Shell:
        return {hasString(config, QLatin1StringView("preScript")),
                hasString(config, QLatin1StringView("postScript"))};
    case ProcessorKind::Container: {
        // A built-in is known exactly; any other SDK processor may be a BroadcastProcessor, and
        // if it is not, its hook tasks run the SDK's default hooks (cheap and harmless).
        const auto builtin = resolveContainerRef(config);
        if (builtin)
            return {(*builtin)->shape.broadcast, (*builtin)->shape.broadcast};
        return {true, true};
    }
    case ProcessorKind::Http:
    case ProcessorKind::Echo:
    case ProcessorKind::Sleep:
        return {};
    }
    return {};
}

Status validateProcessorForMode(ExecutionMode mode, ProcessorKind kind, const QJsonObject &config)
{
    if (kind == ProcessorKind::Shell && mode != ExecutionMode::Broadcast) {
        for (const QString &key : {QStringLiteral("preScript"), QStringLiteral("postScript")}) {
            if (config.contains(key))
                return makeError(QStringLiteral("%1: only BROADCAST jobs run a %2; this job is %3")
                                     .arg(config::fieldName(key), key, toString(mode)));
        }
    }
    if (mode != ExecutionMode::Map && mode != ExecutionMode::MapReduce)
        return {};
    const bool reduce = mode == ExecutionMode::MapReduce;
    const QString needs =
        reduce ? QStringLiteral("processor: a MAP_REDUCE job needs a CONTAINER processor that "
                                "implements reduce (an SDK MapReduceProcessor such as "
                                "builtin#range-sum)")
               : QStringLiteral("processor: a MAP job needs a CONTAINER processor that can map "
                                "(an SDK MapProcessor such as builtin#range-sum)");
    if (kind != ProcessorKind::Container)
        return makeError(QStringLiteral("%1; %2 cannot").arg(needs, toString(kind)));
    if (auto uploaded = checkUploadedRef(config))
        return *uploaded;
    const auto builtin = resolveContainerRef(config);
    if (!builtin)
        return makeError(builtin.error());
    const SdkShape &shape = (*builtin)->shape;
    if (reduce ? !shape.reduce : !shape.map)
        return makeError(QStringLiteral("%1; %2 does not").arg(needs, refOf(config)));
    return {};
}

Result<std::unique_ptr<ProcessorRun>> createProcessorRun(const TaskSpec &spec,
                                                         const ProcessorContext &context,
                                                         const ProcessorRunOptions &options)
{
    using Run = std::unique_ptr<ProcessorRun>;
    if (needsDefaultHook(spec)) {
        if (Status s = validateProcessorConfig(spec.processor, spec.config); !s)
            return makeError(s.error());
        return Run(new DefaultHookRun(spec));
    }
    switch (spec.processor) {
    case ProcessorKind::Echo: {
        auto c = parseEchoConfig(spec.config);
        if (!c)
            return makeError(c.error());
        return Run(new EchoRun(spec, std::move(c).value()));
    }
    case ProcessorKind::Sleep: {
        auto c = parseSleepConfig(spec.config);
        if (!c)
            return makeError(c.error());
        return Run(new SleepRun(spec, *c));
    }
    case ProcessorKind::Shell: {
        auto c = parseShellConfig(spec.config);
        if (!c)
            return makeError(c.error());
        auto run = std::make_unique<ShellRun>(spec, std::move(c).value());
        run->setLeaseFile(options.leaseFile);
        return Run(std::move(run));
    }
    case ProcessorKind::Http: {
        auto c = parseHttpConfig(spec.config);
        if (!c)
            return makeError(c.error());
        return Run(new HttpRun(spec, std::move(c).value(), context.network));
    }
    case ProcessorKind::Container: {
        const QString ref = refOf(spec.config);
        // A missing or empty ref falls through to resolveContainerRef's "processor.ref: missing".
        if (!ref.isEmpty() && !ref.startsWith(kBuiltinRefPrefix)) {
            if (auto form = checkUploadedRef(spec.config); form && !form->ok())
                return makeError(form->error());
            if (context.containers)
                return context.containers->createContainerRun(spec, context);
            if (context.resolver && *context.resolver) {
                auto entry = (*context.resolver)(ref);
                if (!entry)
                    return makeError(entry.error());
                return Run(new SdkProcessorRun(spec, std::move(entry)->create, ref, context.pool));
            }
            return makeError(
                QStringLiteral("this worker has no container support (ref %1)").arg(ref));
        }
        const auto builtin = resolveContainerRef(spec.config);
        if (!builtin)
            return makeError(builtin.error());
        if (Status s = (*builtin)->validate(spec.config); !s)
            return makeError(s.error());
        return Run(
            new SdkProcessorRun(spec, (*builtin)->entry.create, refOf(spec.config), context.pool));
    }
    }
    return makeError(QStringLiteral("processor: unknown kind"));
}

} // namespace kairos
