#include "container_run.h"

#include "loaded_container.h"

#include <core/container_info.h>

namespace kairos {

namespace {

// "60 s", "0.5 s": how the wait limit reads in an error.
QString secondsText(int ms)
{
    if (ms % 1000 == 0)
        return QStringLiteral("%1 s").arg(ms / 1000);
    return QStringLiteral("%1 s").arg(double(ms) / 1000.0, 0, 'g', 6);
}

} // namespace

ContainerRun::ContainerRun(const TaskSpec &spec, QString container, QString processor,
                           const ProcessorContext &context, ContainerBinder *binder, QObject *guard,
                           int waitMs, QObject *parent)
    : ProcessorRun(spec, parent)
    , m_container(std::move(container))
    , m_processorName(std::move(processor))
    , m_context(context)
    , m_binder(binder)
    , m_guard(guard)
    , m_waitMs(std::max(0, waitMs))
{
    m_waitTimer.setSingleShot(true);
    connect(&m_waitTimer, &QTimer::timeout, this, &ContainerRun::onWaitTimeout);
}

ContainerRun::~ContainerRun()
{
    leaveBinder();
    if (m_inner) {
        // Its destructor stops what still runs; nothing it says then concerns us.
        m_inner->disconnect(this);
        m_inner.reset();
    }
}

void ContainerRun::leaveBinder()
{
    if (m_phase != Phase::Waiting)
        return;
    m_phase = Phase::Done;
    m_waitTimer.stop();
    if (m_guard && m_binder)
        m_binder->runGone(this);
}

void ContainerRun::start()
{
    if (m_phase != Phase::New)
        return;
    m_phase = Phase::Waiting;
    if (!m_guard || !m_binder) {
        m_phase = Phase::Done;
        finish(InstanceStatus::Failed,
               QStringLiteral("container '%1': the worker's container manager is gone")
                   .arg(m_container));
        return;
    }
    m_binder->runStarted(this); // may bind or fail at once
    if (m_phase == Phase::Waiting)
        m_waitTimer.start(m_waitMs);
}

void ContainerRun::onWaitTimeout()
{
    if (m_phase != Phase::Waiting)
        return;
    leaveBinder();
    finish(InstanceStatus::Failed, QStringLiteral("container '%1' did not become ready within %2")
                                       .arg(m_container, secondsText(m_waitMs)));
}

void ContainerRun::fail(const QString &reason)
{
    if (m_phase != Phase::Waiting)
        return;
    // The binder is failing us: it has already forgotten this run.
    m_phase = Phase::Done;
    m_waitTimer.stop();
    finish(InstanceStatus::Failed, reason);
}

void ContainerRun::bind(LoadedContainer &version)
{
    if (m_phase != Phase::Waiting)
        return;
    m_phase = Phase::Bound;
    m_waitTimer.stop();

    const QStringList names = version.processorNames();
    if (!names.contains(m_processorName)) {
        finish(InstanceStatus::Failed,
               QStringLiteral("container '%1' %2 has no processor '%3' (it has: %4)")
                   .arg(m_container, version.spec().version, m_processorName,
                        names.join(QStringLiteral(", "))));
        return;
    }
    // The first line says which version runs it: the answer to "did my update take effect?".
    log(LogStream::System, QStringLiteral("container %1 %2")
                               .arg(version.describe(), toString(version.spec().isolation)));
    auto created = version.createRun(spec(), m_processorName, m_context);
    if (!created) {
        finish(InstanceStatus::Failed, created.error());
        return;
    }
    m_inner = std::move(created).value();
    ProcessorRun *inner = m_inner.get();
    connect(inner, &ProcessorRun::logLine, this,
            [this](LogStream stream, const QString &text) { log(stream, text); });
    connect(inner, &ProcessorRun::callRequested, this, [this](const TaskCall &call) {
        const quint64 innerId = call.callId;
        if (const quint64 ours = requestCall(call))
            m_innerCallIds.insert(ours, innerId);
    });
    connect(inner, &ProcessorRun::finished, this,
            [this](InstanceStatus status, const QString &result) {
                m_innerCallIds.clear();
                finish(status, result);
            });
    inner->start();
}

void ContainerRun::cancel(const QString &reason)
{
    if (!beginStop())
        return;
    switch (m_phase) {
    case Phase::New:
        m_phase = Phase::Done;
        finish(InstanceStatus::Canceled, reason);
        return;
    case Phase::Waiting:
        leaveBinder();
        finish(InstanceStatus::Canceled, reason);
        return;
    case Phase::Bound:
        if (m_inner)
            m_inner->cancel(reason); // it finishes Canceled once stopped; we follow
        else
            finish(InstanceStatus::Canceled, reason);
        return;
    case Phase::Done:
        return;
    }
}

void ContainerRun::callAnswered(const TaskCallReply &reply)
{
    const auto it = m_innerCallIds.find(reply.callId);
    if (it == m_innerCallIds.end() || !m_inner)
        return;
    TaskCallReply forwarded = reply;
    forwarded.callId = it.value();
    m_innerCallIds.erase(it);
    m_inner->callAnswered(forwarded);
}

} // namespace kairos
