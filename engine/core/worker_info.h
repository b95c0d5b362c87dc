#pragma once
// WorkerInfo: what the server knows of one remote (or the local) worker — identity, health state
// and the metrics of its last heartbeat. Shared by the server (registry, dispatcher), the admin
// API (`worker.list`, the `workers` event) and the clients (kairosctl, console), which read it as
// JSON (docs/protocol.md, section 12.5). Plain values, safe to copy between threads.

#include <core/result.h>

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <optional>

namespace kairos {

struct WorkerMetrics {
    double load1 = 0;     // 1-minute load average
    int cpus = 0;         // online CPUs (0 = unknown)
    qint64 memFreeMb = 0; // available memory
    qint64 memTotalMb = 0;
    qint64 diskFreeMb = 0; // free space where the worker writes (its working folder)
    int running = 0;       // tasks running now
    int queued = 0;        // accepted, not started
    bool operator==(const WorkerMetrics &) const = default;
};

enum class WorkerState { Alive, Draining, Dead };

QString toString(WorkerState state); // "ALIVE", "DRAINING", "DEAD"
std::optional<WorkerState> workerStateFromString(const QString &text);

struct WorkerInfo {
    QString id;      // stable for the worker process ("host:pid" unless --id is given)
    QString app;     // the app it logged in as
    QString address; // advertised address
    QStringList tags;
    int capacity = 0; // tasks run at once
    qint64 pid = 0;
    QString version;
    WorkerState state = WorkerState::Alive;
    qint64 registeredAtMs = 0;
    qint64 lastHeartbeatMs = 0; // server clock, epoch ms
    qint64 deadAtMs = 0;        // 0 unless DEAD
    QString deadReason;
    QString server; // the server it is connected to
    WorkerMetrics metrics;
    bool operator==(const WorkerInfo &) const = default;
};

QJsonObject workerMetricsToJson(const WorkerMetrics &m);
WorkerMetrics workerMetricsFromJson(const QJsonObject &o); // lenient: missing fields are 0
QJsonObject workerToJson(const WorkerInfo &w);
// Errors name the field: "state: expected ALIVE, DRAINING or DEAD but got \"x\"".
Result<WorkerInfo> workerFromJson(const QJsonObject &o);

// Health-first score in [0, 1] (docs/protocol.md 12.4): 0.4 idle CPU share + 0.3 free memory
// share + 0.3 free slot share. Unknown metrics (0 cpus / 0 total memory) count as fully free.
double healthScore(const WorkerMetrics &m, int freeSlots, int slots);
// Overloaded: no free slot, or load1 / cpus >= 3.
bool isOverloaded(const WorkerMetrics &m, int freeSlots);

} // namespace kairos
