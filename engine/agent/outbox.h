#pragma once
// Outbox: the status reports and log lines a worker produced while no server was listening
// (between a connection loss and the next registration). They are sent, in the order they were
// produced, after the next registration; the server fences the ones of superseded attempts.
// It is bounded: beyond `maxEntries` the oldest log line is dropped first (a lost report would
// leave an instance hanging until the server declares it lost, a lost log line only leaves a
// gap), and a warning says how many were dropped.
//
// Not thread-safe: use from one thread (the agent's).

#include <core/instance.h>
#include <worker/task.h>

#include <QList>

#include <deque>

namespace kairos::agent {

class Outbox {
public:
    static constexpr qsizetype kDefaultMaxEntries = 100'000;

    // One run of consecutive entries of one kind, in production order.
    struct Chunk {
        QList<TaskReport> reports; // either these...
        QList<LogLine> lines;      // ...or these
    };

    explicit Outbox(qsizetype maxEntries = kDefaultMaxEntries);

    void addReports(const QList<TaskReport> &reports);
    void addLines(const QList<LogLine> &lines);
    // Everything held, oldest first, grouped in runs of one kind; the outbox is empty after.
    QList<Chunk> takeAll();

    qsizetype size() const { return qsizetype(m_reports.size() + m_lines.size()); }
    bool isEmpty() const { return m_reports.empty() && m_lines.empty(); }
    // Entries dropped since the last takeAll().
    qint64 dropped() const { return m_dropped; }

private:
    template<typename T> struct Entry {
        qint64 seq;
        T value;
    };
    void trim();

    qsizetype m_max;
    qint64 m_nextSeq = 0;
    qint64 m_dropped = 0;
    std::deque<Entry<TaskReport>> m_reports;
    std::deque<Entry<LogLine>> m_lines;
};

} // namespace kairos::agent
