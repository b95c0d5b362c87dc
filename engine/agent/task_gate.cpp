#include "task_gate.h"

#include "agent_log.h"

#include <core/clock.h>
#include <worker/task_runner.h>

namespace kairos::agent {

namespace {
constexpr size_t kCanceledMemory = 65536;
}

TaskGate::TaskGate(QObject *parent)
    : QObject(parent)
    , m_runner(new TaskRunner(this))
{
    connect(m_runner, &TaskRunner::reports, this, &TaskGate::onRunnerReports);
    connect(m_runner, &TaskRunner::logs, this, &TaskGate::logs);
    connect(m_runner, &TaskRunner::calls, this, &TaskGate::calls);
}

TaskGate::~TaskGate()
{
    // Container runs hold on to versions the manager owns: the runner (and its runs) go first.
    delete m_runner;
    m_runner = nullptr;
    delete m_containers;
    m_containers = nullptr;
}

void TaskGate::configure(int capacity, const QString &leaseFile)
{
    m_capacity = std::max(1, capacity);
    m_runner->setCapacity(m_capacity);
    m_runner->setLeaseFile(leaseFile);
}

void TaskGate::configureContainers(const ContainerManagerConfig &config)
{
    if (m_containers)
        return;
    m_containers = new ContainerManager(config, this);
    connect(m_containers, &ContainerManager::stages, this, &TaskGate::deployStages);
    connect(m_containers, &ContainerManager::fetchRequests, this, &TaskGate::fetchRequests);
    connect(m_containers, &ContainerManager::wanted, this, &TaskGate::containersWanted);
    m_runner->setContainerRuns(m_containers);
}

void TaskGate::deployContainers(const QList<ContainerOrder> &orders)
{
    if (m_containers)
        m_containers->deploy(orders);
}

void TaskGate::answerFetches(const QList<FetchReply> &replies)
{
    if (m_containers)
        m_containers->fetchAnswered(replies);
}

void TaskGate::containersConnectionLost()
{
    if (m_containers)
        m_containers->connectionLost();
}

void TaskGate::submit(const QList<TaskSpec> &tasks)
{
    {
        QMutexLocker lock(&m_mutex);
        for (const TaskSpec &spec : tasks) {
            const TaskKey key = taskKeyOf(spec);
            if (m_queuedKeys.contains(key) || m_inRunner.contains(key)
                || m_canceled.contains(key)) {
                qCDebug(lcAgentGate)
                    << "duplicate dispatch ignored: instance" << key.instanceId << "attempt"
                    << key.attempt << "task" << key.taskId << "run" << key.taskAttempt;
                continue;
            }
            m_queuedKeys.insert(key);
            m_queue.push_back(spec);
        }
    }
    pump();
    updateCounts();
}

void TaskGate::pump()
{
    QMutexLocker lock(&m_mutex);
    while (!m_queue.empty() && m_inRunner.size() < m_capacity) {
        TaskSpec spec = std::move(m_queue.front());
        m_queue.pop_front();
        const TaskKey key = taskKeyOf(spec);
        m_queuedKeys.remove(key);
        // false: the runner finished this task recently; it runs once, so nothing to do.
        if (m_runner->submit(spec))
            m_inRunner.insert(key);
    }
}

void TaskGate::onRunnerReports(const QList<TaskReport> &reports)
{
    {
        QMutexLocker lock(&m_mutex);
        for (const TaskReport &r : reports) {
            if (isTerminal(r.status))
                m_inRunner.remove(taskKeyOf(r));
        }
    }
    pump();
    updateCounts();
    emit this->reports(reports, heldCount());
}

template<typename Match>
QList<TaskReport> TaskGate::removeQueued(Match match, const QString &reason)
{
    QList<TaskReport> out;
    QMutexLocker lock(&m_mutex);
    std::deque<TaskSpec> kept;
    for (TaskSpec &spec : m_queue) {
        const TaskKey key = taskKeyOf(spec);
        if (!match(key)) {
            kept.push_back(std::move(spec));
            continue;
        }
        m_queuedKeys.remove(key);
        rememberCanceled(key);
        TaskReport r;
        r.instanceId = key.instanceId;
        r.attempt = key.attempt;
        r.taskId = key.taskId;
        r.taskAttempt = key.taskAttempt;
        r.status = InstanceStatus::Canceled;
        r.result = reason;
        r.timeMs = nowMs();
        out.append(std::move(r));
    }
    m_queue.swap(kept);
    return out;
}

void TaskGate::cancel(const QList<wire::KeyReason> &tasks)
{
    QList<TaskReport> out;
    for (const wire::KeyReason &kr : tasks) {
        const TaskKey want = kr.key;
        const bool wholeAttempt = want.taskId < 0;
        auto matches = [&](const TaskKey &k) {
            return wholeAttempt ? k.instanceId == want.instanceId && k.attempt == want.attempt
                                : k == want;
        };
        out += removeQueued(matches, kr.reason);
        bool running = false;
        {
            QMutexLocker lock(&m_mutex);
            running = wholeAttempt ? std::any_of(m_inRunner.cbegin(), m_inRunner.cend(), matches)
                                   : m_inRunner.contains(want);
        }
        if (!running)
            continue;
        if (wholeAttempt)
            m_runner->cancel(want.instanceId, want.attempt, kr.reason);
        else
            m_runner->cancelTask(want, kr.reason);
    }
    updateCounts();
    if (!out.isEmpty())
        emit reports(out, heldCount());
}

void TaskGate::answer(const QList<TaskCallReply> &replies)
{
    m_runner->answer(replies);
}

void TaskGate::cancelAll(const QString &reason)
{
    const QList<TaskReport> out = removeQueued([](const TaskKey &) { return true; }, reason);
    m_runner->cancelAll(reason);
    updateCounts();
    if (!out.isEmpty())
        emit reports(out, heldCount());
}

void TaskGate::cancelQueued(const QString &reason)
{
    const QList<TaskReport> out = removeQueued([](const TaskKey &) { return true; }, reason);
    updateCounts();
    if (!out.isEmpty())
        emit reports(out, heldCount());
}

QList<TaskKey> TaskGate::takeQueued()
{
    QList<TaskKey> keys;
    {
        QMutexLocker lock(&m_mutex);
        for (const TaskSpec &spec : m_queue)
            keys.append(taskKeyOf(spec));
        m_queue.clear();
        m_queuedKeys.clear();
    }
    updateCounts();
    return keys;
}

QList<TaskKey> TaskGate::heldKeys() const
{
    QMutexLocker lock(&m_mutex);
    QList<TaskKey> out;
    out.reserve(m_inRunner.size() + m_queuedKeys.size());
    for (const TaskKey &k : m_inRunner)
        out.append(k);
    for (const TaskSpec &spec : m_queue)
        out.append(taskKeyOf(spec));
    return out;
}

void TaskGate::rememberCanceled(const TaskKey &key)
{
    m_canceled.insert(key);
    m_canceledOrder.push_back(key);
    if (m_canceledOrder.size() > kCanceledMemory) {
        m_canceled.remove(m_canceledOrder.front());
        m_canceledOrder.pop_front();
    }
}

void TaskGate::updateCounts()
{
    QMutexLocker lock(&m_mutex);
    m_running.store(m_runner->runningCount(), std::memory_order_relaxed);
    m_queued.store(int(m_queue.size()) + m_runner->queuedCount(), std::memory_order_relaxed);
    m_heldCount.store(int(m_inRunner.size() + m_queue.size()), std::memory_order_relaxed);
}

} // namespace kairos::agent
