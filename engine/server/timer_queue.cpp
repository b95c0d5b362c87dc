#include "timer_queue.h"

#include <core/clock.h>

#include <algorithm>

namespace kairos::server {

TimerQueue::TimerQueue(Callback onDue, QObject *parent)
    : QObject(parent)
    , m_onDue(std::move(onDue))
{
    m_timer.setSingleShot(true);
    // Precise: the lateness target (p99 <= 2 ms) rules out coarse timers' 5% slack.
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &TimerQueue::fire);
}

void TimerQueue::schedule(qint64 key, qint64 dueMs)
{
    const quint64 gen = ++m_generation;
    m_live[key] = gen;
    m_heap.push(Entry{dueMs, key, gen});
    if (m_armedFor < 0 || dueMs < m_armedFor)
        rearm();
}

void TimerQueue::cancel(qint64 key)
{
    m_live.erase(key);
}

void TimerQueue::dropStale()
{
    while (!m_heap.empty()) {
        const Entry &top = m_heap.top();
        const auto it = m_live.find(top.key);
        if (it != m_live.end() && it->second == top.generation)
            return;
        m_heap.pop();
    }
}

qint64 TimerQueue::nextDueMs()
{
    dropStale();
    return m_heap.empty() ? -1 : m_heap.top().dueMs;
}

void TimerQueue::rearm()
{
    const qint64 due = nextDueMs();
    m_armedFor = due;
    if (due < 0) {
        m_timer.stop();
        return;
    }
    const qint64 delay = std::max<qint64>(0, due - nowMs());
    m_timer.start(std::chrono::milliseconds(delay));
}

void TimerQueue::fire()
{
    m_armedFor = -1;
    const qint64 now = nowMs();
    std::vector<qint64> due;
    while (true) {
        dropStale();
        if (m_heap.empty() || m_heap.top().dueMs > now)
            break;
        due.push_back(m_heap.top().key);
        m_live.erase(m_heap.top().key);
        m_heap.pop();
    }
    rearm();
    if (!due.empty())
        m_onDue(due);
}

} // namespace kairos::server
