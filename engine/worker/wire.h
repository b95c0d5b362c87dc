#pragma once
// The worker protocol's messages (docs/protocol.md, section 12) as pure encode/decode functions
// between protocol::Message and the worker's value types. No sockets, no QObject: the server's
// RemoteWorkerLink, the worker agent and the fuzz target all use these, so the wire format lives
// in one place. Decoders never trust the peer: a wrong type, a missing field or an unknown enum
// name gives an error naming the field ("field 'tasks[3].a' of 'status' must be an integer") and
// never a crash; a batch decoder returns the good entries and the errors of the bad ones.
//
// Plain functions: thread-safe.

#include "task.h"

#include <core/instance.h>
#include <core/result.h>
#include <core/worker_info.h>
#include <protocol/message.h>

#include <QList>
#include <QStringList>

namespace kairos::wire {

namespace type {
inline constexpr QLatin1StringView Register{"register"};
inline constexpr QLatin1StringView Registered{"registered"};
inline constexpr QLatin1StringView Heartbeat{"heartbeat"};
inline constexpr QLatin1StringView HeartbeatAck{"heartbeatAck"};
inline constexpr QLatin1StringView Dispatch{"dispatch"};
inline constexpr QLatin1StringView Accept{"accept"};
inline constexpr QLatin1StringView Return{"return"};
inline constexpr QLatin1StringView Status{"status"};
inline constexpr QLatin1StringView Logs{"logs"};
inline constexpr QLatin1StringView Cancel{"cancel"};
inline constexpr QLatin1StringView Drain{"drain"};
inline constexpr QLatin1StringView Dead{"dead"};
inline constexpr QLatin1StringView Call{"call"};
inline constexpr QLatin1StringView CallReply{"callReply"};
} // namespace type

// Limits a receiver enforces (beyond the frame size limit).
inline constexpr int kMaxCapacity = 4096;
inline constexpr int kMaxTags = 64;
inline constexpr qsizetype kMaxIdLength = 255;
// A `map` call carries at most this many items, a `results` page at most this many results;
// senders split bigger lists (TaskCall::from keeps the positions right).
inline constexpr int kMaxMapItems = 10000;
inline constexpr int kMaxResultsPage = 10000;

struct Registration {
    QString workerId;
    QString address;
    QStringList tags;
    int capacity = 1;
    qint64 pid = 0;
    QString version;
    QList<TaskKey> held;
    WorkerMetrics metrics;
    bool operator==(const Registration &) const = default;
};

struct RegisteredReply {
    int heartbeatMs = 1000;
    int deadAfterMs = 5000;
    int leaseMs = 5000;
    qint64 serverTimeMs = 0;
    bool operator==(const RegisteredReply &) const = default;
};

struct Heartbeat {
    qint64 ts = 0; // worker's monotonic clock, ms; echoed in heartbeatAck
    WorkerMetrics metrics;
    bool operator==(const Heartbeat &) const = default;
};

// A task key with a reason: `return` and `cancel` entries. For `cancel`, taskId < 0 means every
// task of the attempt (the field `k` absent on the wire); otherwise it cancels the one run
// (i, a, k, ka).
struct KeyReason {
    TaskKey key;
    QString reason;
    bool operator==(const KeyReason &) const = default;
};

// A batch decode: what could be read, and one error text per entry that could not.
template<typename T> struct Batch {
    QList<T> items;
    QStringList errors;
};

// --- encoders (always succeed) ----------------------------------------------------------------
protocol::Message encodeRegister(const Registration &r);
protocol::Message encodeRegistered(const RegisteredReply &r);
protocol::Message encodeHeartbeat(const Heartbeat &h);
protocol::Message encodeHeartbeatAck(qint64 ts);
protocol::Message encodeDispatch(const QList<TaskSpec> &tasks);
protocol::Message encodeAccept(const QList<TaskKey> &keys);
protocol::Message encodeReturn(const QList<KeyReason> &tasks);
protocol::Message encodeStatus(const QList<TaskReport> &reports);
protocol::Message encodeLogs(const QList<LogLine> &lines);
protocol::Message encodeCancel(const QList<KeyReason> &tasks);
protocol::Message encodeDrain(const QString &reason);
protocol::Message encodeDead(const QString &reason);
protocol::Message encodeCall(const QList<TaskCall> &calls);
protocol::Message encodeCallReply(const QList<TaskCallReply> &replies);

// --- decoders ---------------------------------------------------------------------------------
// Whole-message decoders fail on any bad field (register must be right as a whole).
Result<Registration> decodeRegister(const protocol::Message &m);
Result<RegisteredReply> decodeRegistered(const protocol::Message &m);
Result<Heartbeat> decodeHeartbeat(const protocol::Message &m);
Result<qint64> decodeHeartbeatAck(const protocol::Message &m);
Result<QString> decodeReason(const protocol::Message &m); // drain, dead
// Batch decoders keep the good entries.
Batch<TaskSpec> decodeDispatch(const protocol::Message &m);
Batch<TaskKey> decodeAccept(const protocol::Message &m);
Batch<KeyReason> decodeReturn(const protocol::Message &m);
Batch<TaskReport> decodeStatus(const protocol::Message &m);
Batch<LogLine> decodeLogs(const protocol::Message &m);
Batch<KeyReason> decodeCancel(const protocol::Message &m);
// A call entry whose callId could be read but nothing else is listed in errors AND returned
// in `refused` so the receiver can answer it with the error (the caller waits for a reply).
struct CallBatch {
    QList<TaskCall> items;
    QList<TaskCallReply> refused;
    QStringList errors;
};
CallBatch decodeCall(const protocol::Message &m);
// A reply entry whose `c` could be read but not the rest is kept among the items with `error`
// saying so (and listed in errors too): the run waiting for it is told, never left blocked.
Batch<TaskCallReply> decodeCallReply(const protocol::Message &m);

// Splits a batch so each message stays well under the peer's frame limit (about 1 MiB of
// payload per message by the entries' estimated size, an upper bound). An entry bigger than the
// budget travels alone. Used by senders of dispatch/status/logs/call/callReply.
QList<QList<LogLine>> splitLogBatch(const QList<LogLine> &lines, qsizetype maxBytes = 1 << 20);
QList<QList<TaskSpec>> splitDispatchBatch(const QList<TaskSpec> &tasks,
                                          qsizetype maxBytes = 1 << 20);
QList<QList<TaskCall>> splitCallBatch(const QList<TaskCall> &calls, qsizetype maxBytes = 1 << 20);
QList<QList<TaskCallReply>> splitCallReplyBatch(const QList<TaskCallReply> &replies,
                                                qsizetype maxBytes = 1 << 20);
// Upper bounds of one entry's encoded size.
qsizetype estimatedSize(const TaskCall &call);
qsizetype estimatedSize(const TaskCallReply &reply);
// Keeps the leading results of a `results` page that fit in `maxBytes` (at least one) and
// clears `end` when it dropped some: the reader then asks for the rest after the last task id
// it got (keyset paging), so a page of huge result texts never exceeds a frame. Returns how many
// results were dropped.
qsizetype fitResultsPage(TaskCallReply &reply, qsizetype maxBytes = 4 << 20);

} // namespace kairos::wire
