#include "host_server.h"

#include <core/clock.h>
#include <core/container_info.h>
#include <worker/sdk_processor_run.h>

#include <QLoggingCategory>
#include <QPointer>

#include <mutex>

Q_LOGGING_CATEGORY(lcHost, "kairos.containerhost.server", QtWarningMsg)

namespace kairos {

struct HostServer::Guard {
    std::mutex mutex;
    HostServer *target = nullptr; // guarded by mutex
};

HostServer::HostServer(HostChannel *channel, const ContainerLibrary *library, QThreadPool *pool,
                       QObject *parent)
    : QObject(parent)
    , m_channel(channel)
    , m_library(library)
    , m_pool(pool)
    , m_guard(std::make_shared<Guard>())
{
    m_guard->target = this;
    connect(channel, &HostChannel::messageReceived, this, &HostServer::onMessage);
}

HostServer::~HostServer()
{
    const std::lock_guard lock(m_guard->mutex);
    m_guard->target = nullptr;
}

void HostServer::onMessage(const protocol::Message &m)
{
    if (m.type == wire::type::Dispatch) {
        const wire::Batch<TaskSpec> batch = wire::decodeDispatch(m);
        for (const QString &e : batch.errors)
            qCWarning(lcHost).noquote() << "bad dispatch entry:" << e;
        for (const TaskSpec &spec : batch.items)
            dispatch(spec);
    } else if (m.type == wire::type::Cancel) {
        const wire::Batch<wire::KeyReason> batch = wire::decodeCancel(m);
        for (const wire::KeyReason &kr : batch.items)
            cancel(kr.key, kr.reason);
    } else if (m.type == wire::type::CallReply) {
        const wire::Batch<TaskCallReply> batch = wire::decodeCallReply(m);
        for (const TaskCallReply &reply : batch.items) {
            const TaskKey key = m_calls.take(reply.callId);
            const auto it = m_runs.constFind(key);
            if (it != m_runs.constEnd() && it->run)
                it->run->callAnswered(reply);
        }
    } else if (m.type == hostmsg::Quit) {
        emit quitRequested();
    } else {
        qCDebug(lcHost) << "ignored a" << m.type << "message";
    }
}

void HostServer::dispatch(const TaskSpec &spec)
{
    const TaskKey key = taskKeyOf(spec);
    if (m_runs.contains(key)) {
        report(spec, InstanceStatus::Failed,
               QStringLiteral("this run of the task is already active in the container host"));
        return;
    }
    const QString ref = spec.config.value(QLatin1StringView("ref")).toString();
    Result<std::pair<QString, QString>> parts = splitContainerRef(ref);
    if (!parts) {
        report(spec, InstanceStatus::Failed, parts.error());
        return;
    }
    const QString processor = parts->second;
    if (!m_library->hasProcessor(processor)) {
        report(spec, InstanceStatus::Failed,
               QStringLiteral("the container has no processor '%1' (it has: %2)")
                   .arg(processor, m_library->processorNames().join(QStringLiteral(", "))));
        return;
    }

    // The lease ends on a pool thread once the processor has returned and the run object is
    // gone; the server hears of it on its own thread.
    SdkProcessorRun::Factory factory = m_library->leasedFactory(processor, [guard = m_guard, key] {
        const std::lock_guard lock(guard->mutex);
        if (guard->target)
            QMetaObject::invokeMethod(
                guard->target, [server = guard->target, key] { server->onLeaseReleased(key); },
                Qt::QueuedConnection);
    });
    auto *run = new SdkProcessorRun(spec, std::move(factory), ref, m_pool, this);
    m_runs.insert(key, Run{run, true, false});

    connect(run, &ProcessorRun::logLine, this, [this, spec](LogStream stream, const QString &text) {
        LogLine line;
        line.instanceId = spec.instanceId;
        line.attempt = spec.attempt;
        line.taskId = spec.taskId;
        line.timeMs = nowMs();
        line.stream = stream;
        line.text = text;
        m_logs << line;
        scheduleFlush();
    });
    connect(run, &ProcessorRun::callRequested, this, [this, key](const TaskCall &call) {
        m_calls.insert(call.callId, key);
        m_outCalls << call;
        scheduleFlush();
    });
    connect(run, &ProcessorRun::finished, this,
            [this, run, spec, key](InstanceStatus status, const QString &result) {
                report(spec, status, result);
                if (auto it = m_runs.find(key); it != m_runs.end() && it->run == run)
                    it->run = nullptr;
                // Its factory copy goes with it: the lease ends once the pool call has too.
                run->deleteLater();
            });
    run->start();
}

void HostServer::cancel(const TaskKey &key, const QString &reason)
{
    QList<TaskKey> keys;
    if (key.taskId < 0) {
        for (auto it = m_runs.cbegin(); it != m_runs.cend(); ++it) {
            if (it.key().instanceId == key.instanceId && it.key().attempt == key.attempt)
                keys << it.key();
        }
    } else {
        keys << key;
    }
    if (keys.isEmpty() && key.taskId >= 0) {
        // Nothing of it runs here (any more): the worker may stop waiting at once.
        m_released << key;
        scheduleFlush();
        return;
    }
    for (const TaskKey &k : std::as_const(keys)) {
        const auto it = m_runs.find(k);
        if (it == m_runs.end())
            continue;
        it->cancelRequested = true;
        if (!it->leaseHeld) {
            m_released << k;
            scheduleFlush();
            forget(k);
            continue;
        }
        if (it->run)
            it->run->cancel(reason); // reports Canceled at once; `released` follows the lease
    }
}

void HostServer::onLeaseReleased(const TaskKey &key)
{
    const auto it = m_runs.find(key);
    if (it == m_runs.end())
        return;
    it->leaseHeld = false;
    if (it->cancelRequested) {
        m_released << key;
        scheduleFlush();
    }
    if (!it->run)
        forget(key);
}

void HostServer::forget(const TaskKey &key)
{
    m_runs.remove(key);
    for (auto it = m_calls.begin(); it != m_calls.end();) {
        if (it.value() == key)
            it = m_calls.erase(it);
        else
            ++it;
    }
}

void HostServer::report(const TaskSpec &spec, InstanceStatus status, const QString &result)
{
    TaskReport r;
    r.instanceId = spec.instanceId;
    r.attempt = spec.attempt;
    r.taskId = spec.taskId;
    r.taskAttempt = spec.taskAttempt;
    r.status = status;
    r.result = result;
    r.timeMs = nowMs();
    m_reports << r;
    scheduleFlush();
}

void HostServer::scheduleFlush()
{
    if (m_flushScheduled)
        return;
    m_flushScheduled = true;
    QMetaObject::invokeMethod(this, &HostServer::flush, Qt::QueuedConnection);
}

void HostServer::flush()
{
    m_flushScheduled = false;
    if (!m_logs.isEmpty()) {
        for (const QList<LogLine> &part : wire::splitLogBatch(m_logs))
            m_channel->send(wire::encodeLogs(part));
        m_logs.clear();
    }
    if (!m_outCalls.isEmpty()) {
        for (const QList<TaskCall> &part : wire::splitCallBatch(m_outCalls))
            m_channel->send(wire::encodeCall(part));
        m_outCalls.clear();
    }
    if (!m_reports.isEmpty()) {
        m_channel->send(wire::encodeStatus(m_reports));
        m_reports.clear();
    }
    if (!m_released.isEmpty()) {
        m_channel->send(hostmsg::encodeReleased(m_released));
        m_released.clear();
    }
}

} // namespace kairos
