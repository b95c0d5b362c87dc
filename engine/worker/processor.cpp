#include "processor.h"

#include "http_processor.h"
#include "shell_processor.h"
#include "simple_processors.h"

namespace kairos {

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

bool ProcessorRun::beginStop()
{
    if (m_finished || m_stopping)
        return false;
    m_stopping = true;
    return true;
}

namespace {

const QString kContainerUnsupported = QStringLiteral("container processors are not supported yet");

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
    case ProcessorKind::Container:
        return makeError(kContainerUnsupported);
    }
    return makeError(QStringLiteral("processor: unknown kind"));
}

Result<std::unique_ptr<ProcessorRun>> createProcessorRun(const TaskSpec &spec,
                                                         const ProcessorContext &context,
                                                         const ProcessorRunOptions &options)
{
    using Run = std::unique_ptr<ProcessorRun>;
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
    case ProcessorKind::Container:
        return makeError(kContainerUnsupported);
    }
    return makeError(QStringLiteral("processor: unknown kind"));
}

} // namespace kairos
