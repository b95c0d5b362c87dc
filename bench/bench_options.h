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

    static QStringList workloadNames();
    bool wants(const QString &workload) const;

    // Parses argv; errors name the option and what was expected.
    static Result<BenchOptions> parse(const QStringList &arguments);
};

} // namespace kairos::bench
