#pragma once
// WorkerConfig: everything a kairos-worker process is told on its command line, as plain
// validated values (docs/workers.md lists the flags). The command line parser fills it; the
// agent and its parts only read it. Defaults live here, in one place, so `--help`, the docs and
// the code cannot disagree. Plain values, safe to copy between threads.

#include <protocol/connection.h>

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace kairos::agent {

// One entry of --server.
struct ServerAddress {
    QString host;
    quint16 port = 0;
    QString toString() const; // "host:port", "[::1]:7070"
    bool operator==(const ServerAddress &) const = default;
};

// What a worker does with its runs when its lease ends (docs/protocol.md 12.3).
enum class LeaseLossPolicy {
    Kill,   // stop every run: no retry can ever run beside a zombie of its attempt
    Finish, // let runs finish; their late reports are ignored by the server (fencing)
};

QString toString(LeaseLossPolicy policy); // "kill", "finish"
std::optional<LeaseLossPolicy> leaseLossPolicyFromString(const QString &text);

struct WorkerConfig {
    static constexpr int kDefaultHeartbeatMs = 1000;
    static constexpr int kDefaultDrainTimeoutMs = 30000;
    static constexpr int kDefaultReconnectMaxMs = 10000;
    static constexpr int kInitialReconnectMs = 200;
    // Connect + TLS + login. Short enough that an unreachable server in the list does not hold
    // up the failover to the next one for long.
    static constexpr int kConnectTimeoutMs = 5000;
    // How long a connected worker waits for `registered` before it tries again.
    static constexpr int kRegisterTimeoutMs = 10000;

    QList<ServerAddress> servers; // tried in order
    QString app;
    QString secret; // the app's secret (from --secret-file); never logged
    QStringList tags;
    int threads = 0;                       // runs at once (capacity), 1..4096
    QString workerId;                      // default "hostname:pid"
    QString advertise;                     // advertised address, default the host name
    int heartbeatMs = kDefaultHeartbeatMs; // until the server's `registered` says otherwise
    LeaseLossPolicy onLeaseLoss = LeaseLossPolicy::Kill;
    int drainTimeoutMs = kDefaultDrainTimeoutMs;
    QString workDir; // lease file, disk metric
    // Container versions (docs/containers.md): where they are stored (empty: <workDir>/containers)
    // and the kairos-container-host program of `process` isolation (empty: next to the running
    // executable).
    QString containersDir;
    QString containerHost;
    protocol::TlsOptions tls;
    int reconnectMaxMs = kDefaultReconnectMaxMs;
    QString version; // sent in `register`

    // Default run capacity: the number of online CPUs (like Celery's concurrency), at least 1.
    static int defaultThreads();
    // "<host name>:<pid>".
    static QString defaultWorkerId();
    static QString defaultAdvertise();
    // A folder under the temp dir named after the id (characters outside [A-Za-z0-9._-]
    // become '_'): /tmp/kairos-worker-host_1234.
    static QString defaultWorkDir(const QString &workerId);
};

} // namespace kairos::agent
