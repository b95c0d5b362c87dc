#include "simple_processors.h"

#include "config_fields.h"

namespace kairos {

Result<EchoConfig> parseEchoConfig(const QJsonObject &config)
{
    EchoConfig c;
    if (config.contains(QLatin1String("message"))) {
        auto message = config::optionalString(config, QStringLiteral("message"), QString());
        if (!message)
            return makeError(message.error());
        c.message = std::move(message).value();
        c.hasMessage = !config.value(QLatin1String("message")).isNull();
    }
    return c;
}

EchoRun::EchoRun(const TaskSpec &spec, EchoConfig config, QObject *parent)
    : ProcessorRun(spec, parent)
    , m_config(std::move(config))
{}

void EchoRun::start()
{
    const QString &message = m_config.hasMessage               ? m_config.message
                             : spec().instanceParams.isEmpty() ? spec().jobParams
                                                               : spec().instanceParams;
    log(LogStream::Stdout, message);
    finish(InstanceStatus::Succeeded, message);
}

void EchoRun::cancel(const QString &reason)
{
    // Only reachable before start(): an Echo run never outlives start().
    if (beginStop())
        finish(InstanceStatus::Canceled, reason);
}

Result<SleepConfig> parseSleepConfig(const QJsonObject &config)
{
    SleepConfig c;
    const auto ms = config::requiredInt(config, QStringLiteral("ms"), 0, 365LL * 24 * 3600 * 1000);
    if (!ms)
        return makeError(ms.error());
    c.ms = *ms;
    const auto exitCode = config::optionalInt(config, QStringLiteral("exitCode"), 0, 0, 255);
    if (!exitCode)
        return makeError(exitCode.error());
    c.exitCode = static_cast<int>(*exitCode);
    const auto fail = config::optionalBool(config, QStringLiteral("fail"), false);
    if (!fail)
        return makeError(fail.error());
    c.fail = *fail;
    const auto failAttempts =
        config::optionalInt(config, QStringLiteral("failAttempts"), 0, 0, 1000000);
    if (!failAttempts)
        return makeError(failAttempts.error());
    c.failAttempts = static_cast<int>(*failAttempts);
    return c;
}

SleepRun::SleepRun(const TaskSpec &spec, SleepConfig config, QObject *parent)
    : ProcessorRun(spec, parent)
    , m_config(config)
    , m_remainingMs(config.ms)
{
    m_timer.setSingleShot(true);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &SleepRun::onElapsed);
}

namespace {
constexpr qint64 kSliceMs = 24LL * 3600 * 1000; // QTimer takes int ms: long sleeps chain slices
}

void SleepRun::start()
{
    const qint64 slice = std::min(m_remainingMs, kSliceMs);
    m_remainingMs -= slice;
    m_timer.start(static_cast<int>(slice));
}

void SleepRun::onElapsed()
{
    if (m_remainingMs > 0) {
        start();
        return;
    }
    const bool fails =
        m_config.exitCode != 0 || m_config.fail || spec().attempt <= m_config.failAttempts;
    if (fails) {
        const int code = m_config.exitCode != 0 ? m_config.exitCode : 1;
        finish(InstanceStatus::Failed, QStringLiteral("exit code %1").arg(code));
    } else {
        finish(InstanceStatus::Succeeded, QStringLiteral("slept %1 ms").arg(m_config.ms));
    }
}

void SleepRun::cancel(const QString &reason)
{
    if (!beginStop())
        return;
    m_timer.stop();
    finish(InstanceStatus::Canceled, reason);
}

DefaultHookRun::DefaultHookRun(const TaskSpec &spec, QObject *parent)
    : ProcessorRun(spec, parent)
{}

void DefaultHookRun::start()
{
    if (spec().role != TaskRole::PostProcess) {
        finish(InstanceStatus::Succeeded, QString());
        return;
    }
    qsizetype ok = 0;
    for (const TaskResultEntry &r : spec().results)
        ok += r.status == InstanceStatus::Succeeded ? 1 : 0;
    const QString summary =
        QStringLiteral("%1 of %2 workers succeeded").arg(ok).arg(spec().results.size());
    finish(ok == spec().results.size() ? InstanceStatus::Succeeded : InstanceStatus::Failed,
           summary);
}

void DefaultHookRun::cancel(const QString &reason)
{
    if (beginStop())
        finish(InstanceStatus::Canceled, reason);
}

} // namespace kairos
