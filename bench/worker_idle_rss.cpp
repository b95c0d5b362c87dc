// worker_idle_rss: resident memory of one real kairos-worker, registered with a real kairosd
// (--no-local-worker) and idle: after it printed its registration, VmRSS is sampled every
// 250 ms for 5 s (it heartbeats once a second meanwhile). rss_mb is the last sample (target
// <= 20 MB); also the highest sample, the peak since start (VmHWM) and the PSS (shared library
// pages split among the processes that map them). The worker runs with its default thread
// count, as a user starts it.
#include "process_probe.h"
#include "remote_cluster.h"
#include "stats.h"
#include "workloads.h"

#include <QDir>

#include <algorithm>

namespace kairos::bench {
namespace {

constexpr int kSampleMs = 250;
constexpr double kTargetMb = 20;

Result<QJsonObject> oneRep(WorkloadContext &ctx, int rep)
{
    StoreProvider &store = *ctx.store;
    const QString dataDir =
        QDir(store.workDir()).filePath(QStringLiteral("worker-idle-%1").arg(rep));
    QDir().mkpath(dataDir);
    auto url = store.freshUrl(QStringLiteral("workeridle"), dataDir);
    if (!url)
        return makeError(url.error());
    QJsonObject out;
    {
        KairosdChild server(dataDir);
        if (Status s = server.start(*url, {QStringLiteral("--no-local-worker")}); !s.ok())
            return makeError(s.error());
        ChildProcess worker(QStringLiteral("worker bench-idle"));
        if (Status s = startWorker(worker, QStringLiteral("bench-idle"), server.port(),
                                   server.secretFile(),
                                   QDir(dataDir).filePath(QStringLiteral("worker")), 0);
            !s.ok())
            return makeError(s.error());
        QList<qint64> samples;
        const int count = ctx.options.workerIdleS * 1000 / kSampleMs;
        for (int i = 0; i < count; ++i) {
            pumpFor(kSampleMs); // sampling interval of an idle process
            const MemoryKb m = memoryOf(worker.pid());
            if (m.rss < 0)
                return makeError(
                    QStringLiteral("the worker exited while idle: %1").arg(worker.stderrTail()));
            samples << m.rss;
        }
        if (worker.output().count(QStringLiteral(" registered with ")) != 1)
            return makeError(QStringLiteral("the worker registered more than once while idle: %1")
                                 .arg(worker.output().trimmed()));
        const MemoryKb last = memoryOf(worker.pid());
        const qint64 pss = pssKbOf(worker.pid());
        out.insert(QStringLiteral("idle_s"), ctx.options.workerIdleS);
        out.insert(QStringLiteral("rss_mb"), rounded(double(samples.last()) / 1024, 2));
        out.insert(QStringLiteral("rss_max_mb"),
                   rounded(double(*std::max_element(samples.cbegin(), samples.cend())) / 1024, 2));
        out.insert(QStringLiteral("peak_rss_mb"), rounded(double(last.hwm) / 1024, 2));
        out.insert(QStringLiteral("pss_mb"), rounded(double(pss) / 1024, 2));
        worker.stop();
        server.stop();
    }
    store.release(*url);
    QDir(dataDir).removeRecursively();
    return out;
}

} // namespace

bool runWorkerIdleRss(WorkloadContext &ctx)
{
    const QJsonObject fixed{
        {QStringLiteral("target_mb"), kTargetMb},
        {QStringLiteral("method"),
         QStringLiteral("one real kairos-worker (default threads, app default) registered with "
                        "a real kairosd --no-local-worker on 127.0.0.1, idle; VmRSS sampled "
                        "every %1 ms for %2 s after its registration line; rss_mb = last "
                        "sample, peak_rss_mb = VmHWM (start-up included), pss_mb from "
                        "/proc/PID/smaps_rollup")
             .arg(kSampleMs)
             .arg(ctx.options.workerIdleS)},
    };
    const QJsonObject line = repeat(
        ctx, QStringLiteral("worker_idle_rss"), fixed, [&](int rep) { return oneRep(ctx, rep); },
        [](QJsonObject &l) {
            const double rss = l.value(QStringLiteral("figures"))
                                   .toObject()
                                   .value(QStringLiteral("rss_mb"))
                                   .toObject()
                                   .value(QStringLiteral("median"))
                                   .toDouble(-1);
            l.insert(QStringLiteral("target_met"), rss >= 0 && rss <= kTargetMb);
        });
    return !line.contains(QStringLiteral("errors"));
}

} // namespace kairos::bench
