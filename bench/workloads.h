#pragma once
// The benchmark workloads of kairos-bench (each described in docs/benchmarks.md) and the two
// helpers they share: repeat() runs one workload --reps times and writes its JSON line (median,
// min and max of every figure, plus each repetition), and ResourceMeter measures what one
// repetition cost (CPU of this process and of the PostgreSQL server, load from other processes).
//
// Main thread only: workloads run the engine on the calling thread.

#include "bench_options.h"
#include "reporter.h"
#include "store_provider.h"

#include <core/result.h>

#include <QHash>
#include <QJsonObject>

#include <functional>

namespace kairos::bench {

struct WorkloadContext {
    const BenchOptions &options;
    Reporter &reporter;
    StoreProvider *store = nullptr; // null for workloads without a store (peers)
    QJsonObject peersSameRun;       // {peer: e2e_rate at 100k} when --peers ran first
};

// Runs `rep` options.reps times (waiting for a quiet machine before each) and emits one line:
// the header, `fixed` (settings, method), "figures" (median/min/max) and "per_rep".
using RepFn = std::function<Result<QJsonObject>(int rep)>;
QJsonObject repeat(WorkloadContext &ctx, const QString &bench, const QJsonObject &fixed,
                   const RepFn &rep, const std::function<void(QJsonObject &line)> &finish = {});

// CPU and host load over one measured interval.
class ResourceMeter {
public:
    explicit ResourceMeter(qint64 serverPid);
    void start();
    // Figures over [start, stop]: wall_s, cpu_ms (this process), server_cpu_ms (PostgreSQL),
    // foreign_cores (CPU used by other processes, in cores). `perItems` > 0 adds
    // cpu_ms_per_instance, server_cpu_ms_per_instance, total_cpu_ms_per_instance and
    // cpu_us_per_instance_by_thread (engine = the main thread, store, worker, ...; clock-tick
    // resolution, 10 ms per thread).
    QJsonObject stop(qint64 perItems = 0);

private:
    qint64 m_serverPid;
    qint64 m_wall0 = 0, m_self0 = 0, m_server0 = 0, m_host0 = 0;
    QHash<QString, qint64> m_threads0;
};

// The workloads. Each emits its own line(s) and returns false when a repetition failed.
bool runE2eThroughput(WorkloadContext &ctx);
bool runTriggerLatency(WorkloadContext &ctx);
bool runTriggerLateness(WorkloadContext &ctx);
bool runBurst(WorkloadContext &ctx);
bool runIdleRss(WorkloadContext &ctx);
// Remote workers (issue 3): real kairosd and kairos-worker processes on loopback.
bool runRemoteE2eThroughput(WorkloadContext &ctx);
bool runDispatchToStart(WorkloadContext &ctx);
bool runWorkerIdleRss(WorkloadContext &ctx);
bool runServerIdleWorkers(WorkloadContext &ctx);
// Execution modes (issue 4): map-reduce of a million subtasks, broadcast to 50 workers.
bool runMapReduce1m(WorkloadContext &ctx);
bool runBroadcast50(WorkloadContext &ctx);
// Containers (issue 5): per-run overhead by isolation mode, a 5 MiB deploy to 10 workers, RSS
// over 200 redeploys.
bool runContainerRunOverhead(WorkloadContext &ctx);
bool runContainerDeploy10(WorkloadContext &ctx);
bool runContainerRedeployRss(WorkloadContext &ctx);
// Runs the peers' scripts once each (SIZES=100000) and returns {peer: e2e_rate} for the ratio.
QJsonObject runPeers(WorkloadContext &ctx, bool *ok);
// The best peer by median 100k (or `n`) e2e rate, read from /work/shared/peers/results/*.jsonl.
QJsonObject peerBestFromResults(int n);
// Adds to an e2e line (median `figures.e2e_rate`): peer_best and ratio_vs_peer_best from the
// recorded results, and with --peers at n = 100,000 peers_same_run_e2e_rate and
// ratio_vs_peer_same_run (Kairos / the best peer measured earlier in this run).
void addPeerRatios(const WorkloadContext &ctx, int n, QJsonObject &line);

} // namespace kairos::bench
