// kairos-bench: measures Kairos (throughput, trigger latency and lateness, burst, idle memory;
// with remote workers: throughput, dispatch-to-start latency, idle worker memory, server cost of
// idle workers) and optionally two peer job queues in the same run. One JSON object per line on
// stdout, progress on stderr. docs/benchmarks.md explains every figure.
#include "bench_options.h"
#include "fake_workers.h"
#include "reporter.h"
#include "store_provider.h"
#include "workloads.h"

#include <QCoreApplication>
#include <QJsonArray>
#include <QTextStream>
#include <QTimer>

#include <algorithm>

using namespace kairos::bench;

namespace {

int runAll(const BenchOptions &options)
{
    Reporter reporter(options.outFile);
    bool ok = true;
    WorkloadContext base{options, reporter};
    if (options.wants(QStringLiteral("peers"))) {
        bool peersOk = false;
        base.peersSameRun = runPeers(base, &peersOk);
        ok = ok && peersOk;
    }
    const QStringList storeWorkloads{QStringLiteral("e2e_throughput"),
                                     QStringLiteral("trigger_latency"),
                                     QStringLiteral("trigger_lateness"),
                                     QStringLiteral("burst_10k"),
                                     QStringLiteral("idle_rss"),
                                     QStringLiteral("remote_e2e_throughput"),
                                     QStringLiteral("dispatch_to_start"),
                                     QStringLiteral("worker_idle_rss"),
                                     QStringLiteral("server_200_idle_workers"),
                                     QStringLiteral("map_reduce_1m"),
                                     QStringLiteral("broadcast_50"),
                                     QStringLiteral("container_run_overhead"),
                                     QStringLiteral("container_deploy_10"),
                                     QStringLiteral("container_redeploy_rss")};
    const bool anyStoreWorkload = std::any_of(storeWorkloads.cbegin(), storeWorkloads.cend(),
                                              [&](const QString &w) { return options.wants(w); });
    if (!anyStoreWorkload)
        return ok ? 0 : 1;
    for (const QString &kind : options.stores) {
        auto provider = StoreProvider::create(kind);
        if (!provider) {
            Reporter::progress(provider.error());
            QJsonObject line = reporter.header(QStringLiteral("setup"), kind);
            line.insert(QStringLiteral("errors"), QJsonArray{provider.error()});
            reporter.emitLine(line);
            ok = false;
            continue;
        }
        WorkloadContext ctx{options, reporter, provider->get(), base.peersSameRun};
        if (options.wants(QStringLiteral("e2e_throughput")))
            ok = runE2eThroughput(ctx) && ok;
        if (options.wants(QStringLiteral("trigger_latency")))
            ok = runTriggerLatency(ctx) && ok;
        if (options.wants(QStringLiteral("trigger_lateness")))
            ok = runTriggerLateness(ctx) && ok;
        if (options.wants(QStringLiteral("burst_10k")))
            ok = runBurst(ctx) && ok;
        if (options.wants(QStringLiteral("idle_rss")))
            ok = runIdleRss(ctx) && ok;
        if (options.wants(QStringLiteral("remote_e2e_throughput")))
            ok = runRemoteE2eThroughput(ctx) && ok;
        if (options.wants(QStringLiteral("dispatch_to_start")))
            ok = runDispatchToStart(ctx) && ok;
        if (options.wants(QStringLiteral("map_reduce_1m")))
            ok = runMapReduce1m(ctx) && ok;
        if (options.wants(QStringLiteral("broadcast_50")))
            ok = runBroadcast50(ctx) && ok;
        if (options.wants(QStringLiteral("container_deploy_10")))
            ok = runContainerDeploy10(ctx) && ok;
        if (options.wants(QStringLiteral("container_redeploy_rss")))
            ok = runContainerRedeployRss(ctx) && ok;
        // These two hardly depend on the store (a worker has none; idle workers touch it not at
        // all): measured once, with kairosd on the first store of the run.
        if (kind == options.stores.first()) {
            if (options.wants(QStringLiteral("worker_idle_rss")))
                ok = runWorkerIdleRss(ctx) && ok;
            if (options.wants(QStringLiteral("server_200_idle_workers")))
                ok = runServerIdleWorkers(ctx) && ok;
            // In the bench process, without a store.
            if (options.wants(QStringLiteral("container_run_overhead")))
                ok = runContainerRunOverhead(ctx) && ok;
        }
    }
    return ok ? 0 : 1;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("kairos-bench"));
    QCoreApplication::setApplicationVersion(QStringLiteral(KAIROS_BENCH_VERSION));
    auto options = BenchOptions::parse(QCoreApplication::arguments());
    if (!options) {
        QTextStream(stderr) << "kairos-bench: " << options.error() << '\n';
        return 2;
    }
    if (options->fakeWorkers > 0) {
        // Sub-mode: a fleet of fake workers for server_200_idle_workers, until terminated.
        if (const int rc = startFakeWorkers(*options, &app); rc != 0)
            return rc;
        return QCoreApplication::exec();
    }
    int rc = 0;
    // Workloads wait in nested event loops, so they run from inside the application's loop.
    QTimer::singleShot(0, &app, [&] {
        rc = runAll(*options);
        QCoreApplication::exit(rc);
    });
    QCoreApplication::exec();
    return rc;
}
