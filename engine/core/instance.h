#pragma once
// Instance: one run of a job (with its attempts), and the log lines it produced.

#include "types.h"

#include <QJsonObject>
#include <QList>
#include <QString>

namespace kairos {

struct Instance {
    qint64 id = 0;
    qint64 jobId = 0;
    qint64 workflowRunId = 0; // 0 = not part of a workflow run
    QString jobName;          // denormalised for listings; filled by the store on reads
    InstanceStatus status = InstanceStatus::WaitingDispatch;
    QString reason; // why it is in its state (waiting reason, failure reason)
    TriggerKind trigger = TriggerKind::Api;
    qint64 fireTimeMs = 0; // scheduled fire time (scheduled/misfire triggers), else 0
    int attempt = 1;
    int maxAttempts = 1;
    QString params; // instance parameters (beside the job's)
    QString result; // processor result text
    QString worker; // worker id/address of the current attempt
    qint64 createdAtMs = 0;
    qint64 dispatchedAtMs = 0;
    qint64 startedAtMs = 0;
    qint64 finishedAtMs = 0;
    qint64 nextAttemptAtMs = 0; // when a pending retry is due
    qint64 version = 0;
    bool operator==(const Instance &) const = default;
};

// One finished or running attempt, kept for history.
struct Attempt {
    qint64 instanceId = 0;
    int attempt = 1;
    InstanceStatus status = InstanceStatus::Running;
    QString worker;
    QString reason;
    qint64 startedAtMs = 0;
    qint64 finishedAtMs = 0;
    bool operator==(const Attempt &) const = default;
};

enum class LogStream { Stdout, Stderr, System };

struct LogLine {
    qint64 instanceId = 0;
    qint64 seq = 0; // per instance, increasing; assigned by the store
    int attempt = 1;
    qint64 taskId = 0; // the task that logged it (0: a standalone run, or the server)
    qint64 timeMs = 0;
    LogStream stream = LogStream::Stdout;
    QString text;
    bool operator==(const LogLine &) const = default;
};

struct InstanceFilter {
    qint64 jobId = 0;               // 0 = any
    QList<InstanceStatus> statuses; // empty = any
    qint64 createdFromMs = 0;       // 0 = open
    qint64 createdToMs = 0;         // 0 = open
    QString worker;                 // empty = any
    qint64 beforeId = 0;            // keyset paging: ids < beforeId (0 = from newest)
    int limit = 100;
};

QJsonObject instanceToJson(const Instance &i);
Instance instanceFromJson(const QJsonObject &o);
QJsonObject attemptToJson(const Attempt &a);
Attempt attemptFromJson(const QJsonObject &o);
QJsonObject logLineToJson(const LogLine &l);
LogLine logLineFromJson(const QJsonObject &o);
QString toString(LogStream s);
LogStream logStreamFromString(const QString &s);

} // namespace kairos
