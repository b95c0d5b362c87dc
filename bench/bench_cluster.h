#pragma once
// Shared pieces of the benchmarks that drive a real kairosd with real kairos-worker processes
// (execution modes, containers): a cluster of one kairosd (store under test,
// --no-local-worker) and N workers, and blocking admin helpers (create a job, run it once, wait
// for its terminal state by polling instance.get).
//
// Main thread only.

#include "remote_cluster.h"

#include <core/result.h>

#include <QJsonObject>

#include <memory>
#include <vector>

namespace kairos::bench {

struct Terminal {
    QJsonObject instance;
    qint64 seenUs = 0;     // when the terminal state was seen
    qint64 lastBusyUs = 0; // when the last poll that saw it unfinished was sent
};

// Polls instance.get every `pollMs` (0: back to back) until the instance is terminal.
Result<Terminal> waitTerminal(AdminSession &admin, qint64 id, int timeoutMs, int pollMs);
Result<qint64> createJob(AdminSession &admin, const QJsonObject &job);
Result<qint64> runOnce(AdminSession &admin, qint64 jobId);

// kairosd (store under test) + `count` workers, ready.
struct Cluster {
    std::unique_ptr<KairosdChild> server;
    std::unique_ptr<AdminSession> admin;
    std::vector<std::unique_ptr<ChildProcess>> workers;
};
Status startCluster(Cluster &c, const QString &dataDir, const QString &url, int count, int threads);
void stopCluster(Cluster &c);

} // namespace kairos::bench
