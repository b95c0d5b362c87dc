// Execution-mode workloads (issue 4), with real kairosd and kairos-worker processes on loopback:
//
// map_reduce_1m: one MAP_REDUCE instance of the built-in range-sum processor mapping N no-op
//   subtasks (default 1,000,000) in map() calls of 10,000 items, run by 2 kairos-worker
//   processes; time = job.run reply -> the instance's terminal state (polled every 20 ms with
//   instance.get, so the resolution is reported), plus kairosd's peak RSS (VmHWM) over the whole
//   run. The reduce's own summary must say every subtask was read once (count N, no duplicates,
//   none missing), else the repetition fails.
// broadcast_50: one BROADCAST instance of an ECHO job (no pre/post hooks) to W kairos-worker
//   processes (default 50); time = job.run call -> terminal state seen; every worker must have
//   a SUCCEEDED task. 10 instances per repetition, one after the other; the median is reported.
#include "bench_cluster.h"
#include "process_probe.h"
#include "remote_cluster.h"
#include "stats.h"
#include "workloads.h"

#include <core/clock.h>

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>
#include <memory>
#include <vector>

namespace kairos::bench {
namespace {

constexpr int kPollMs = 20;
constexpr int kMapWorkers = 2;
constexpr int kBroadcastRuns = 10;

Result<QJsonObject> mapReduceRep(WorkloadContext &ctx, int n, int rep)
{
    StoreProvider &store = *ctx.store;
    const QString dataDir =
        QDir(store.workDir()).filePath(QStringLiteral("map-reduce-%1-%2").arg(n).arg(rep));
    QDir().mkpath(dataDir);
    auto url = store.freshUrl(QStringLiteral("mapreduce"), dataDir);
    if (!url)
        return makeError(url.error());
    QJsonObject out;
    {
        Cluster c;
        if (Status s = startCluster(c, dataDir, *url, kMapWorkers, ctx.options.workerThreads);
            !s.ok())
            return makeError(s.error());
        const QJsonObject job{
            {QStringLiteral("name"), QStringLiteral("bench-range-sum")},
            {QStringLiteral("mode"), QStringLiteral("MAP_REDUCE")},
            {QStringLiteral("processor"),
             QJsonObject{{QStringLiteral("type"), QStringLiteral("CONTAINER")},
                         {QStringLiteral("ref"), QStringLiteral("builtin#range-sum")},
                         {QStringLiteral("count"), n},
                         {QStringLiteral("batch"), 10000}}}};
        auto jobId = createJob(*c.admin, job);
        if (!jobId)
            return makeError(jobId.error());

        ProcessMeter meter;
        meter.add(QStringLiteral("kairosd"), c.server->pid());
        for (const auto &w : c.workers)
            meter.add(QStringLiteral("workers"), w->pid());
        meter.add(QStringLiteral("postgres"), store.serverPid());
        meter.start();
        const qint64 t0 = nowUs();
        auto id = runOnce(*c.admin, *jobId);
        if (!id)
            return makeError(id.error());
        auto done = waitTerminal(*c.admin, *id, 600000, kPollMs);
        if (!done)
            return makeError(done.error());
        const QJsonObject usage = meter.stop(n);
        const QString status = done->instance.value(QStringLiteral("status")).toString();
        const QString result = done->instance.value(QStringLiteral("result")).toString();
        if (status != QLatin1String("SUCCEEDED"))
            return makeError(
                QStringLiteral("the run ended %1: %2")
                    .arg(status, done->instance.value(QStringLiteral("reason")).toString()));
        const QJsonObject summary = QJsonDocument::fromJson(result.toUtf8()).object();
        if (summary.value(QStringLiteral("count")).toInteger() != n
            || summary.value(QStringLiteral("duplicates")).toInteger() != 0
            || summary.value(QStringLiteral("missing")).toInteger() != 0)
            return makeError(
                QStringLiteral("the reduce did not read every subtask once: %1").arg(result));
        const MemoryKb serverMem = memoryOf(c.server->pid());
        double workerHwmMb = 0;
        for (const auto &w : c.workers)
            workerHwmMb = std::max(workerHwmMb, double(memoryOf(w->pid()).hwm) / 1024);
        const double seconds = double(done->seenUs - t0) / 1e6;
        out.insert(QStringLiteral("n"), n);
        out.insert(QStringLiteral("total_s"), rounded(seconds, 3));
        out.insert(QStringLiteral("subtasks_per_s"), qRound(n / seconds));
        out.insert(QStringLiteral("end_resolution_ms"),
                   rounded(double(done->seenUs - done->lastBusyUs) / 1e3, 1));
        out.insert(QStringLiteral("kairosd_peak_rss_mb"), rounded(double(serverMem.hwm) / 1024, 1));
        out.insert(QStringLiteral("worker_peak_rss_mb"), rounded(workerHwmMb, 1));
        for (auto it = usage.begin(); it != usage.end(); ++it)
            out.insert(it.key(), it.value());
        stopCluster(c);
    }
    store.release(*url);
    QDir(dataDir).removeRecursively();
    return out;
}

Result<QJsonObject> broadcastRep(WorkloadContext &ctx, int workers, int rep)
{
    StoreProvider &store = *ctx.store;
    const QString dataDir =
        QDir(store.workDir()).filePath(QStringLiteral("broadcast-%1-%2").arg(workers).arg(rep));
    QDir().mkpath(dataDir);
    auto url = store.freshUrl(QStringLiteral("broadcast"), dataDir);
    if (!url)
        return makeError(url.error());
    QJsonObject out;
    {
        Cluster c;
        if (Status s = startCluster(c, dataDir, *url, workers, 2); !s.ok())
            return makeError(s.error());
        const QJsonObject job{{QStringLiteral("name"), QStringLiteral("bench-broadcast")},
                              {QStringLiteral("mode"), QStringLiteral("BROADCAST")},
                              {QStringLiteral("processor"),
                               QJsonObject{{QStringLiteral("type"), QStringLiteral("ECHO")},
                                           {QStringLiteral("message"), QStringLiteral("hello")}}}};
        auto jobId = createJob(*c.admin, job);
        if (!jobId)
            return makeError(jobId.error());
        QList<double> ms;
        double worstResolution = 0;
        for (int i = 0; i < kBroadcastRuns; ++i) {
            const qint64 t0 = nowUs();
            auto id = runOnce(*c.admin, *jobId);
            if (!id)
                return makeError(id.error());
            // Polled back to back: a broadcast ends within milliseconds.
            auto done = waitTerminal(*c.admin, *id, 60000, 0);
            if (!done)
                return makeError(done.error());
            if (done->instance.value(QStringLiteral("status")).toString()
                != QLatin1String("SUCCEEDED"))
                return makeError(
                    QStringLiteral("broadcast %1 ended %2: %3")
                        .arg(*id)
                        .arg(done->instance.value(QStringLiteral("status")).toString(),
                             done->instance.value(QStringLiteral("reason")).toString()));
            auto tasks =
                c.admin->call(QStringLiteral("instance.tasks"),
                              {{QStringLiteral("id"), *id},
                               {QStringLiteral("status"), QJsonArray{QStringLiteral("SUCCEEDED")}},
                               {QStringLiteral("limit"), 1000}});
            if (!tasks)
                return makeError(tasks.error());
            const int succeeded = int(tasks->value(QStringLiteral("tasks")).toArray().size());
            if (succeeded != workers)
                return makeError(QStringLiteral("broadcast %1: %2 of %3 worker tasks SUCCEEDED")
                                     .arg(*id)
                                     .arg(succeeded)
                                     .arg(workers));
            ms << double(done->seenUs - t0) / 1e3;
            worstResolution =
                std::max(worstResolution, double(done->seenUs - done->lastBusyUs) / 1e3);
        }
        std::sort(ms.begin(), ms.end());
        out.insert(QStringLiteral("workers"), workers);
        out.insert(QStringLiteral("runs"), kBroadcastRuns);
        out.insert(QStringLiteral("trigger_to_all_done_ms_p50"), rounded(ms.at(ms.size() / 2), 1));
        out.insert(QStringLiteral("trigger_to_all_done_ms_max"), rounded(ms.last(), 1));
        out.insert(QStringLiteral("end_resolution_ms_max"), rounded(worstResolution, 1));
        out.insert(QStringLiteral("kairosd_peak_rss_mb"),
                   rounded(double(memoryOf(c.server->pid()).hwm) / 1024, 1));
        stopCluster(c);
    }
    store.release(*url);
    QDir(dataDir).removeRecursively();
    return out;
}

} // namespace

bool runMapReduce1m(WorkloadContext &ctx)
{
    const int n = ctx.options.mapReduceSubtasks;
    const QJsonObject fixed{
        {QStringLiteral("n"), n},
        {QStringLiteral("workers"), kMapWorkers},
        {QStringLiteral("worker_threads"), ctx.options.workerThreads},
        {QStringLiteral("target_total_s"), 20},
        {QStringLiteral("target_kairosd_peak_rss_mb"), 200},
        {QStringLiteral("method"),
         QStringLiteral("real kairosd --no-local-worker (store under test) + %1 real kairos-worker "
                        "processes (--threads %2) on 127.0.0.1; one MAP_REDUCE instance of "
                        "builtin#range-sum (count %3, map() calls of 10,000 items, no-op leaves, "
                        "reduce sums every result and checks each was read once); total = job.run "
                        "call -> instance.get showing SUCCEEDED (polled every %4 ms); kairosd "
                        "peak RSS = VmHWM after the run")
             .arg(kMapWorkers)
             .arg(ctx.options.workerThreads)
             .arg(n)
             .arg(kPollMs)},
    };
    const QJsonObject line = repeat(ctx, QStringLiteral("map_reduce_1m"), fixed,
                                    [&](int rep) { return mapReduceRep(ctx, n, rep); });
    return !line.contains(QStringLiteral("errors"));
}

bool runBroadcast50(WorkloadContext &ctx)
{
    const int workers = ctx.options.broadcastWorkers;
    const QJsonObject fixed{
        {QStringLiteral("workers"), workers},
        {QStringLiteral("target_trigger_to_all_done_ms"), 1000},
        {QStringLiteral("method"),
         QStringLiteral("real kairosd --no-local-worker (store under test) + %1 real kairos-worker "
                        "processes (--threads 2) on 127.0.0.1; a BROADCAST ECHO job (no pre/post "
                        "hooks) run %2 times one after the other; time = job.run call -> "
                        "instance.get showing SUCCEEDED (polled back to back), every worker's "
                        "task checked SUCCEEDED")
             .arg(workers)
             .arg(kBroadcastRuns)},
    };
    const QJsonObject line = repeat(ctx, QStringLiteral("broadcast_50"), fixed,
                                    [&](int rep) { return broadcastRep(ctx, workers, rep); });
    return !line.contains(QStringLiteral("errors"));
}

} // namespace kairos::bench
