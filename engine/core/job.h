#pragma once
// Job: the definition of what runs, when, where and with which limits. A plain value type;
// persistence lives in engine/store, validation of the timing expression in engine/timing.

#include "result.h"
#include "types.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>

namespace kairos {

struct DispatchSpec {
    DispatchStrategy strategy = DispatchStrategy::HealthFirst;
    QStringList targets;     // Specified: worker ids or tags ("tag:gpu") to choose among
    int maxWorkers = 0;      // broadcast/map: at most this many workers (0 = all that fit)
    int minFreeMemoryMb = 0; // skip workers with less free memory
    int minFreeDiskMb = 0;   // skip workers with less free disk
    // MAP / MAP_REDUCE / BROADCAST: extra runs of a task whose processor failed or timed out
    // (JSON "taskRetries"). A map task lost with its worker runs again without counting against
    // this; a broadcast task lost with its worker never runs again.
    int taskRetryCount = 0;
    bool operator==(const DispatchSpec &) const = default;
};

struct Job {
    qint64 id = 0; // 0 until stored
    QString name;
    QString description;
    QString app = QStringLiteral("default");

    TimingType timingType = TimingType::Api;
    // CRON: a cron expression; FIXED_RATE / FIXED_DELAY: a duration ("1500", "30s", "5m", "2h");
    // ONE_SHOT: an ISO-8601 date-time or epoch milliseconds; API: empty.
    QString timingExpression;
    QString timeZone;         // IANA id; empty = the server's zone
    qint64 windowStartMs = 0; // no fire before this instant (0 = open)
    qint64 windowEndMs = 0;   // no fire after this instant (0 = open)
    bool enabled = true;
    MisfirePolicy misfirePolicy = MisfirePolicy::FireOnce;
    int misfireMaxFires = 100; // FIRE_ALL: at most this many catch-up fires

    ExecutionMode mode = ExecutionMode::Standalone;
    ProcessorKind processor = ProcessorKind::Echo;
    // Shell: {"script": "...", "shell": "/bin/bash"}; Http: {"method","url","headers":{},
    // "body","expectedStatus"}; Echo: {"message"}; Sleep: {"ms"}; Container: {"ref":"c#p"}.
    QJsonObject processorConfig;
    QString params; // job parameters handed to every run (JSON recommended, free text allowed)

    DispatchSpec dispatch;
    int maxConcurrentInstances = 0; // 0 = unlimited; extra triggers are recorded as SKIPPED
    int retryCount = 0;             // extra attempts after the first fails
    int retryBackoffMs = 1000;      // delay before attempt 2; doubles per attempt, capped
    int timeoutMs = 0;              // 0 = no timeout

    qint64 version = 0; // optimistic-locking version; bumped by every update
    qint64 createdAtMs = 0;
    qint64 updatedAtMs = 0;

    bool operator==(const Job &) const = default;
};

// JSON shape used by `kairosctl job create --file`, export, and the admin protocol. toJson
// writes every field; fromJson accepts a subset (missing fields keep their defaults) and
// rejects unknown enum names and wrong types with a message naming the field, e.g.
// "timing.type: expected one of API, CRON, ... but got \"daily\"".
QJsonObject jobToJson(const Job &job);
Result<Job> jobFromJson(const QJsonObject &json);
// Overlays only the fields present in `patch` onto `base` (used by `job update`).
Result<Job> applyJobPatch(const Job &base, const QJsonObject &patch);

// Retry delay before attempt `nextAttempt` (2, 3, ...): backoff * 2^(nextAttempt-2), at most
// one hour.
qint64 retryDelayMs(const Job &job, int nextAttempt);

} // namespace kairos
