#pragma once
// TimerQueue: a min-heap of (due time, key) driving one precise QTimer, so thousands of pending
// fires and retries cost one timer and O(log n) per entry. Entries are cancelled lazily: a
// key's newest schedule wins, older heap entries for it are skipped when they surface.
//
// Not thread-safe: create, use and destroy it on one thread (the engine thread).

#include <QObject>
#include <QTimer>

#include <functional>
#include <queue>
#include <unordered_map>
#include <vector>

namespace kairos::server {

class TimerQueue : public QObject {
    Q_OBJECT
public:
    using Callback = std::function<void(const std::vector<qint64> &dueKeys)>;

    explicit TimerQueue(Callback onDue, QObject *parent = nullptr);

    // Schedules (or reschedules) `key` at `dueMs` (epoch ms). A due time in the past fires on the
    // next event-loop turn.
    void schedule(qint64 key, qint64 dueMs);
    void cancel(qint64 key);
    bool contains(qint64 key) const { return m_live.count(key) != 0; }
    std::size_t size() const { return m_live.size(); }
    // Due time of the earliest live entry, or -1.
    qint64 nextDueMs();

private:
    struct Entry {
        qint64 dueMs;
        qint64 key;
        quint64 generation;
        bool operator>(const Entry &o) const { return dueMs > o.dueMs; }
    };
    void rearm();
    void fire();
    void dropStale();

    Callback m_onDue;
    QTimer m_timer;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> m_heap;
    std::unordered_map<qint64, quint64> m_live; // key -> generation of its live entry
    quint64 m_generation = 0;
    qint64 m_armedFor = -1;
};

} // namespace kairos::server
