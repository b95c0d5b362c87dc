#pragma once
// OutgoingCalls: the calls of the worker's running processors (TaskCall: map items, read a page
// of results) that have been sent to the server and wait for its `callReply`. It decides what
// goes on the wire and hands every call exactly one reply: the server's, or an error when the
// connection is lost first (failAll), so a processor blocked in map() or a result read is never
// left waiting. A `map` call too big for one frame (many or large items: the SDK splits by item
// count only) is sent as consecutive parts, each with its own wire call id and its `from`
// moved on, the next one only after the server acknowledged the one before (the server refuses
// a gap in a task's positions, so parts must not overtake each other); the processor sees one
// reply: the first part's error, or success when the last part was stored.
//
// Not thread-safe: use from one thread (the agent's).

#include <worker/task.h>

#include <QHash>
#include <QList>

#include <deque>

namespace kairos::agent {

class OutgoingCalls {
public:
    // Half the default frame limit (16 MiB), so a part always fits with room to spare.
    static constexpr qsizetype kDefaultMaxCallBytes = 8 << 20;
    // Wire ids of parts live above this; the runner's ids are a counter from 1 and never get
    // near it.
    static constexpr quint64 kPartIdBase = quint64(1) << 62;

    explicit OutgoingCalls(qsizetype maxCallBytes = kDefaultMaxCallBytes);

    // Takes the runner's calls; returns what to send now (a big map call's first part stands for
    // it). A call id already waiting is answered at once with an error (see takeImmediate()).
    QList<TaskCall> add(const QList<TaskCall> &calls);

    struct Step {
        QList<TaskCallReply> toRunner; // finished calls: hand these to the runner
        QList<TaskCall> toSend;        // the next parts of big map calls
    };
    // The server's replies. Replies to ids not waiting (a second reply, a stray id) are dropped.
    Step onReplies(const QList<TaskCallReply> &replies);
    // Answers every waiting call with `error` and forgets them (the connection is gone).
    QList<TaskCallReply> failAll(const QString &error);
    // Replies add() produced without asking the server (a duplicate call id).
    QList<TaskCallReply> takeImmediate();

    int pendingCount() const { return int(m_pending.size()); }
    bool isEmpty() const { return m_pending.isEmpty(); }

private:
    struct Pending {
        quint64 callId = 0;         // the runner's id, used in the reply to the runner
        std::deque<TaskCall> parts; // parts not yet sent (map calls split by size)
    };

    TaskCall nextPart(Pending &pending);

    qsizetype m_maxCallBytes;
    quint64 m_nextPartId = kPartIdBase;
    QHash<quint64, Pending> m_pending;  // by the wire id of the part (or call) on the wire now
    QHash<quint64, quint64> m_wireIdOf; // runner id -> wire id now on the wire
    QList<TaskCallReply> m_immediate;
};

} // namespace kairos::agent
