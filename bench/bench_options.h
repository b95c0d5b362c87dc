#pragma once
// BenchOptions: the command line of kairos-bench, parsed and checked once. Sizes follow --quick
// unless given explicitly. A plain value; parse() runs on the main thread before anything else.

#include <core/result.h>

#include <QString>
#include <QStringList>

namespace kairos::bench {

struct BenchOptions {
    QStringList only;   // workload names; empty = all default ones
    QStringList stores; // "sqlite", "postgres"
    bool quick = false;
    bool peers = false; // also run the peers (bullmq, graphile-worker) in this run
    int reps = 3;
    QString outFile;          // also append the JSON lines here
    double quietCores = 0.25; // wait until other processes use less than this many cores ...
    int quietMaxS = 60;       // ... for at most this long before each repetition (0 = never)

    // Sizes (see docs/benchmarks.md).
    QList<int> e2eSizes{10000, 100000};
    int e2eBatch = 1000;
    int warmup = 1000;
    int latencyRuns = 200;
    int latencyRate = 50;
    int latencyWarmup = 50;
    int latenessJobs = 1000;
    int latenessSpreadS = 60;
    int burstJobs = 10000;
    int idleJobs = 10000;
    // Remote workers (docs/benchmarks.md, "Remote workers").
    QList<int> remoteSizes{100000}; // remote_e2e_throughput sizes
    int workerThreads = 64;         // kairos-worker --threads in remote_e2e_throughput
    int dispatchRate = 200;         // dispatch_to_start: instances per second ...
    int dispatchSeconds = 10;       // ... for this long (after 1 s of warm-up)
    int workerIdleS = 5;            // worker_idle_rss: idle time before the RSS is read
    int idleWorkers = 200;          // server_200_idle_workers: fake workers ...
    int idleMeasureS = 20;          // ... and the window over which kairosd's CPU is measured
    // Execution modes (docs/benchmarks.md, "Execution modes").
    int mapReduceSubtasks = 1000000; // map_reduce_1m (20000 with --quick)
    int broadcastWorkers = 50;       // broadcast_50 (8 with --quick)

    // Sub-mode `--fake-workers N --server HOST:PORT --secret-file F`: instead of benchmarks,
    // run N fake workers (docs/benchmarks.md, server_200_idle_workers) until terminated.
    int fakeWorkers = 0;
    QString fakeServer;
    QString fakeSecretFile;

    static QStringList workloadNames();
    bool wants(const QString &workload) const;

    // Parses argv; errors name the option and what was expected.
    static Result<BenchOptions> parse(const QStringList &arguments);
};

} // namespace kairos::bench
