#include "task_runner.h"

#include "log.h"

#include <core/clock.h>

#include <QNetworkAccessManager>
#include <QThreadPool>
#include <QTimerEvent>

namespace kairos {

TaskRunner::TaskRunner(QObject *parent)
    : QObject(parent)
{
    m_turnTimer.setSingleShot(true);
    m_turnTimer.setInterval(0);
    connect(&m_turnTimer, &QTimer::timeout, this, &TaskRunner::onTurn);
}

TaskRunner::~TaskRunner()
{
    m_turnTimer.stop();
    // Runs must not call back into a runner that is going away; their destructors kill what
    // is still running (a Shell run SIGKILLs its whole process group).
    for (auto &[key, active] : m_active) {
        active.run->disconnect(this);
        active.run.reset();
    }
    m_active.clear();
    m_finishedRuns.clear();
    // SDK runs were canceled by their destruction; cooperative processors return at once.
    if (m_pool && !m_pool->waitForDone(kPoolGraceMs)) {
        qCWarning(lcWorkerRunner) << "SDK processors still running" << kPoolGraceMs
                                  << "ms after their cancel; abandoning them on their threads";
        // Deleting the pool would block until they return. Their output has nowhere to go
        // (the runs are gone), so leaving them is safe; it costs their threads.
        (void)m_pool.release();
    }
}

bool TaskRunner::submit(const TaskSpec &spec)
{
    const TaskKey key = taskKeyOf(spec);
    if (m_inFlight.contains(key) || m_recent.contains(key)) {
        qCDebug(lcWorkerRunner) << "duplicate task ignored: instance" << key.instanceId << "attempt"
                                << key.attempt << "task" << key.taskId << "run" << key.taskAttempt;
        return false;
    }
    m_inFlight.insert(key);
    m_queue.push_back(spec);
    scheduleTurn();
    return true;
}

void TaskRunner::cancel(qint64 instanceId, int attempt, const QString &reason)
{
    cancelQueued(reason, [&](const TaskKey &k) {
        return k.instanceId == instanceId && k.attempt == attempt;
    });
    // Collect first: a run may finish synchronously inside cancel(), which edits m_active.
    std::vector<TaskKey> keys;
    for (const auto &[key, active] : m_active) {
        if (key.instanceId == instanceId && key.attempt == attempt)
            keys.push_back(key);
    }
    for (const TaskKey &key : keys) {
        const auto it = m_active.find(key);
        if (it != m_active.end())
            it->second.run->cancel(reason);
    }
}

void TaskRunner::cancelTask(const TaskKey &key, const QString &reason)
{
    cancelQueued(reason, [&](const TaskKey &k) { return k == key; });
    const auto it = m_active.find(key);
    if (it != m_active.end())
        it->second.run->cancel(reason); // may finish synchronously
}

void TaskRunner::answer(const QList<TaskCallReply> &replies)
{
    for (const TaskCallReply &reply : replies) {
        const auto owner = m_callOwners.constFind(reply.callId);
        if (owner == m_callOwners.constEnd()) {
            qCDebug(lcWorkerRunner)
                << "reply to call" << reply.callId << "dropped: its run has finished";
            continue;
        }
        const TaskKey key = owner.value();
        m_callOwners.erase(owner);
        const auto it = m_active.find(key);
        if (it == m_active.end())
            continue;
        it->second.callIds.removeOne(reply.callId);
        it->second.run->callAnswered(reply);
    }
}

void TaskRunner::cancelAll(const QString &reason)
{
    cancelQueued(reason, [](const TaskKey &) { return true; });
    std::vector<TaskKey> keys;
    keys.reserve(m_active.size());
    for (const auto &[key, active] : m_active)
        keys.push_back(key);
    for (const TaskKey &key : keys) {
        const auto it = m_active.find(key);
        if (it != m_active.end())
            it->second.run->cancel(reason);
    }
}

template<typename Match> void TaskRunner::cancelQueued(const QString &reason, Match match)
{
    std::deque<TaskSpec> kept;
    for (TaskSpec &spec : m_queue) {
        const TaskKey key = taskKeyOf(spec);
        if (match(key)) {
            report(key, InstanceStatus::Canceled, reason);
            markDone(key);
        } else {
            kept.push_back(std::move(spec));
        }
    }
    m_queue.swap(kept);
}

void TaskRunner::setCapacity(int capacity)
{
    m_capacity = std::max(1, capacity);
    if (m_pool)
        m_pool->setMaxThreadCount(m_capacity);
    scheduleTurn();
}

QThreadPool *TaskRunner::pool()
{
    if (!m_pool) {
        m_pool = std::make_unique<QThreadPool>();
        m_pool->setObjectName(QStringLiteral("kairos-sdk-pool"));
        // One thread per run slot: every started SDK run has a thread, none waits in the pool
        // (unless a canceled processor is still returning).
        m_pool->setMaxThreadCount(m_capacity);
    }
    return m_pool.get();
}

void TaskRunner::setRecentLimit(int limit)
{
    m_recentLimit = std::max(0, limit);
    while (m_recentOrder.size() > static_cast<size_t>(m_recentLimit)) {
        m_recent.remove(m_recentOrder.front());
        m_recentOrder.pop_front();
    }
}

void TaskRunner::setLeaseFile(const QString &path)
{
    // Runs already started keep the launcher arguments they were started with.
    m_leaseFile = path;
}

void TaskRunner::setSdkProcessorResolver(SdkProcessorResolver resolver)
{
    m_resolver = std::move(resolver);
}

void TaskRunner::setContainerRuns(ContainerRuns *containers)
{
    m_containers = containers;
}

void TaskRunner::scheduleTurn()
{
    if (!m_turnTimer.isActive())
        m_turnTimer.start();
}

void TaskRunner::onTurn()
{
    // Safe here: no finished run is on the call stack.
    m_finishedRuns.clear();

    int started = 0;
    while (!m_queue.empty() && static_cast<int>(m_active.size()) < m_capacity
           && started < kMaxStartsPerTurn) {
        TaskSpec spec = std::move(m_queue.front());
        m_queue.pop_front();
        startTask(std::move(spec));
        ++started;
    }
    if (!m_queue.empty() && static_cast<int>(m_active.size()) < m_capacity)
        scheduleTurn(); // the per-turn budget ran out

    // Swap out first: a receiver may submit or cancel, which queues the next batch. Logs and
    // calls before reports: a task's lines and map calls precede its terminal report.
    if (!m_pendingLogs.isEmpty()) {
        const QList<LogLine> lines = std::exchange(m_pendingLogs, {});
        emit logs(lines);
    }
    if (!m_pendingCalls.isEmpty()) {
        const QList<TaskCall> batch = std::exchange(m_pendingCalls, {});
        emit calls(batch);
    }
    if (!m_pendingReports.isEmpty()) {
        const QList<TaskReport> batch = std::exchange(m_pendingReports, {});
        emit reports(batch);
    }
}

void TaskRunner::startTask(TaskSpec spec)
{
    const TaskKey key = taskKeyOf(spec);
    report(key, InstanceStatus::Running, QString());

    if (spec.processor == ProcessorKind::Http && !m_network)
        m_network = new QNetworkAccessManager(this);
    QThreadPool *sdkPool = spec.processor == ProcessorKind::Container ? pool() : nullptr;
    auto created =
        createProcessorRun(spec, ProcessorContext{m_network, sdkPool, m_containers, &m_resolver},
                           ProcessorRunOptions{m_leaseFile});
    if (!created) {
        report(key, InstanceStatus::Failed, created.error());
        markDone(key);
        return;
    }
    std::unique_ptr<ProcessorRun> run = std::move(created).value();
    ProcessorRun *raw = run.get();
    connect(raw, &ProcessorRun::logLine, this, [this, key](LogStream stream, const QString &text) {
        m_pendingLogs.append(LogLine{.instanceId = key.instanceId,
                                     .seq = 0,
                                     .attempt = key.attempt,
                                     .taskId = key.taskId,
                                     .timeMs = nowMs(),
                                     .stream = stream,
                                     .text = text});
        scheduleTurn();
    });
    connect(raw, &ProcessorRun::callRequested, this, [this, key](const TaskCall &call) {
        const auto it = m_active.find(key);
        if (it == m_active.end())
            return; // cannot happen: a finished run sends no calls
        it->second.callIds.append(call.callId);
        m_callOwners.insert(call.callId, key);
        m_pendingCalls.append(call);
        scheduleTurn();
    });
    connect(raw, &ProcessorRun::finished, this,
            [this, key](InstanceStatus status, const QString &result) {
                onRunFinished(key, status, result);
            });
    m_active.emplace(key, Active{std::move(run), spec.timeoutMs, 0});
    raw->start();

    // Only runs still going after start() need a timeout timer (Echo never does).
    if (spec.timeoutMs > 0) {
        const auto it = m_active.find(key);
        if (it != m_active.end()) {
            it->second.timerId = startTimer(spec.timeoutMs, Qt::PreciseTimer);
            m_timeouts.insert(it->second.timerId, key);
        }
    }
}

void TaskRunner::timerEvent(QTimerEvent *event)
{
    const int id = event->timerId();
    killTimer(id);
    const auto timeout = m_timeouts.find(id);
    if (timeout == m_timeouts.end())
        return;
    const TaskKey key = timeout.value();
    m_timeouts.erase(timeout);
    const auto it = m_active.find(key);
    if (it == m_active.end())
        return;
    it->second.timerId = 0;
    qCDebug(lcWorkerRunner) << "timeout: instance" << key.instanceId << "attempt" << key.attempt
                            << "task" << key.taskId << "after" << it->second.timeoutMs << "ms";
    it->second.run->timeOut(it->second.timeoutMs); // may finish synchronously
}

void TaskRunner::onRunFinished(const TaskKey &key, InstanceStatus status, const QString &result)
{
    const auto it = m_active.find(key);
    if (it == m_active.end())
        return;
    if (it->second.timerId != 0) {
        killTimer(it->second.timerId);
        m_timeouts.remove(it->second.timerId);
    }
    for (const quint64 callId : std::as_const(it->second.callIds))
        m_callOwners.remove(callId); // late replies are dropped
    // We are inside the run's own signal: destroy it on the next turn, not now.
    m_finishedRuns.push_back(std::move(it->second.run));
    m_active.erase(it);
    report(key, status, result);
    markDone(key);
}

void TaskRunner::report(const TaskKey &key, InstanceStatus status, const QString &result)
{
    // One clock read for both fields, so the ms stamp is the µs stamp truncated.
    const qint64 us = nowUs();
    m_pendingReports.append(TaskReport{.instanceId = key.instanceId,
                                       .attempt = key.attempt,
                                       .taskId = key.taskId,
                                       .taskAttempt = key.taskAttempt,
                                       .status = status,
                                       .result = result,
                                       .timeMs = us / 1000,
                                       .timeUs = us});
    scheduleTurn();
}

void TaskRunner::markDone(const TaskKey &key)
{
    m_inFlight.remove(key);
    if (m_recentLimit == 0)
        return;
    m_recent.insert(key);
    m_recentOrder.push_back(key);
    if (m_recentOrder.size() > static_cast<size_t>(m_recentLimit)) {
        m_recent.remove(m_recentOrder.front());
        m_recentOrder.pop_front();
    }
}

} // namespace kairos
