// remote_e2e_throughput: N no-op (ECHO) instances through a real kairosd (--no-local-worker) and
// two real kairos-worker processes on loopback — what a user runs, driven the way a user drives
// it: an administrator session over the admin protocol (client::RemoteClient), `job.run` with
// 1,000 params per call, each call awaited (its reply comes after the instances are durably
// committed). The end is seen by polling `server.info` every 20 ms until `activeInstances` is 0:
// the server keeps an instance in memory until its terminal state is committed, so 0 means the
// last terminal commit has happened. e2e = N / (that reply - the first job.run call); the
// interval since the poll before it (still busy) is reported as end_resolution_ms.
#include "process_probe.h"
#include "remote_cluster.h"
#include "stats.h"
#include "workloads.h"

#include <core/clock.h>
#include <core/job.h>

#include <QDir>
#include <QJsonArray>

#include <memory>
#include <vector>

namespace kairos::bench {
namespace {

constexpr int kWorkers = 2;
constexpr int kPollMs = 20;

QStringList paramsFor(const QString &phase, int from, int count)
{
    QStringList params;
    params.reserve(count);
    for (int i = from; i < from + count; ++i)
        params << QStringLiteral("{\"p\":\"%1\",\"i\":%2}").arg(phase).arg(i);
    return params;
}

// job.run of `n` instances in batches of `batch`, each call awaited.
Status enqueue(AdminSession &admin, qint64 jobId, const QString &phase, int n, int batch)
{
    for (int from = 0; from < n; from += batch) {
        const QStringList params = paramsFor(phase, from, std::min(batch, n - from));
        auto r = admin.call(
            QStringLiteral("job.run"),
            QJsonObject{{QStringLiteral("id"), jobId},
                        {QStringLiteral("paramsList"), QJsonArray::fromStringList(params)}});
        if (!r)
            return makeError(r.error());
        if (r->value(QStringLiteral("instanceIds")).toArray().size() != params.size())
            return makeError(QStringLiteral("job.run returned %1 ids for %2 params")
                                 .arg(r->value(QStringLiteral("instanceIds")).toArray().size())
                                 .arg(params.size()));
    }
    return {};
}

struct Idle {
    qint64 seenUs = 0;     // the poll reply that showed 0 active instances
    qint64 lastBusyUs = 0; // when the poll before it (still busy) was sent
};

// Polls server.info until no instance is active. Fails when nothing moved for a minute.
Result<Idle> waitIdle(AdminSession &admin, int timeoutMs)
{
    const qint64 deadline = nowMs() + timeoutMs;
    qint64 lastActive = -1;
    qint64 lastChangeMs = nowMs();
    Idle idle;
    while (true) {
        const qint64 sent = nowUs();
        auto info = admin.call(QStringLiteral("server.info"));
        if (!info)
            return makeError(info.error());
        const qint64 active = info->value(QStringLiteral("activeInstances")).toInteger(-1);
        if (active == 0) {
            idle.seenUs = nowUs();
            if (idle.lastBusyUs == 0)
                idle.lastBusyUs = sent;
            return idle;
        }
        idle.lastBusyUs = sent;
        if (active != lastActive) {
            lastActive = active;
            lastChangeMs = nowMs();
        }
        if (nowMs() > deadline || nowMs() - lastChangeMs > 60000)
            return makeError(QStringLiteral("%1 instances still active (server.info)").arg(active));
        pumpFor(kPollMs);
    }
}

// The newest `limit` instances of the job: the latest processor finish among them, and whether
// one of them did not succeed.
Result<qint64> lastFinishMs(AdminSession &admin, qint64 jobId, int limit)
{
    auto list = admin.call(QStringLiteral("instance.list"),
                           QJsonObject{{QStringLiteral("jobId"), jobId},
                                       {QStringLiteral("limit"), std::min(limit, 10000)}});
    if (!list)
        return makeError(list.error());
    qint64 last = 0;
    for (const QJsonValue &v : list->value(QStringLiteral("instances")).toArray())
        last =
            std::max<qint64>(last, v.toObject().value(QStringLiteral("finishedAtMs")).toInteger());
    return last;
}

Status checkAllSucceeded(AdminSession &admin, qint64 jobId)
{
    auto bad =
        admin.call(QStringLiteral("instance.list"),
                   QJsonObject{{QStringLiteral("jobId"), jobId},
                               {QStringLiteral("statuses"),
                                QJsonArray{QStringLiteral("FAILED"), QStringLiteral("TIMED_OUT"),
                                           QStringLiteral("CANCELED"), QStringLiteral("SKIPPED")}},
                               {QStringLiteral("limit"), 1}});
    if (!bad)
        return makeError(bad.error());
    const QJsonArray list = bad->value(QStringLiteral("instances")).toArray();
    if (!list.isEmpty()) {
        const QJsonObject first = list.first().toObject();
        return makeError(QStringLiteral("instance %1 ended %2: %3")
                             .arg(first.value(QStringLiteral("id")).toInteger())
                             .arg(first.value(QStringLiteral("status")).toString(),
                                  first.value(QStringLiteral("reason")).toString()));
    }
    return {};
}

Result<QJsonObject> oneRep(WorkloadContext &ctx, int n, int rep)
{
    StoreProvider &store = *ctx.store;
    const QString dataDir =
        QDir(store.workDir()).filePath(QStringLiteral("remote-e2e-%1-%2").arg(n).arg(rep));
    QDir().mkpath(dataDir);
    auto url = store.freshUrl(QStringLiteral("remote"), dataDir);
    if (!url)
        return makeError(url.error());
    QJsonObject out;
    {
        KairosdChild server(dataDir);
        if (Status s = server.start(*url, {QStringLiteral("--no-local-worker")}); !s.ok())
            return makeError(s.error());
        AdminSession admin(server.port(), server.adminPassword());
        if (Status s = admin.open(); !s.ok())
            return makeError(s.error());
        std::vector<std::unique_ptr<ChildProcess>> workers;
        for (int i = 1; i <= kWorkers; ++i) {
            const QString id = QStringLiteral("bench-w%1").arg(i);
            workers.push_back(std::make_unique<ChildProcess>(QStringLiteral("worker ") + id));
            if (Status s = startWorker(*workers.back(), id, server.port(), server.secretFile(),
                                       QDir(dataDir).filePath(id), ctx.options.workerThreads);
                !s.ok())
                return makeError(s.error());
        }
        auto states = admin.workerStates();
        if (!states)
            return makeError(states.error());
        if (states->value(QStringLiteral("ALIVE")) != kWorkers)
            return makeError(QStringLiteral("worker.list shows %1 ALIVE workers, expected %2")
                                 .arg(states->value(QStringLiteral("ALIVE")))
                                 .arg(kWorkers));

        Job job;
        job.name = QStringLiteral("bench-remote-echo");
        job.timingType = TimingType::Api;
        job.processor = ProcessorKind::Echo;
        job.maxConcurrentInstances = 0;
        auto created = admin.call(QStringLiteral("job.create"),
                                  QJsonObject{{QStringLiteral("job"), jobToJson(job)}});
        if (!created)
            return makeError(created.error());
        const qint64 jobId = created->value(QStringLiteral("id")).toInteger();

        const int batch = ctx.options.e2eBatch;
        const int timeoutMs = 120000 + 2 * n;
        if (ctx.options.warmup > 0) {
            if (Status s =
                    enqueue(admin, jobId, QStringLiteral("warmup"), ctx.options.warmup, batch);
                !s.ok())
                return makeError(QStringLiteral("warm-up: ") + s.error());
            if (auto idle = waitIdle(admin, timeoutMs); !idle)
                return makeError(QStringLiteral("warm-up: ") + idle.error());
        }

        ProcessMeter meter;
        meter.add(QStringLiteral("kairosd"), server.pid());
        for (const auto &w : workers)
            meter.add(QStringLiteral("workers"), w->pid());
        meter.add(QStringLiteral("postgres"), store.serverPid());
        meter.start();
        const QHash<QString, qint64> serverThreads0 = threadCpuUsOf(server.pid());
        const qint64 t0 = nowUs();
        if (Status s = enqueue(admin, jobId, QStringLiteral("tp_%1").arg(n), n, batch); !s.ok())
            return makeError(QStringLiteral("enqueue: ") + s.error());
        const qint64 tEnqueued = nowUs();
        auto idle = waitIdle(admin, timeoutMs);
        if (!idle)
            return makeError(idle.error());
        const QJsonObject usage = meter.stop(n);
        // Where kairosd spends its time, by thread name (clock-tick resolution, 10 ms each).
        QJsonObject byThread;
        const QHash<QString, qint64> serverThreads = threadCpuUsOf(server.pid());
        for (auto it = serverThreads.cbegin(); it != serverThreads.cend(); ++it) {
            const qint64 used = it.value() - serverThreads0.value(it.key());
            if (used > 0)
                byThread.insert(it.key() == QLatin1String("kairosd") ? QStringLiteral("engine")
                                                                     : it.key(),
                                rounded(double(used) / n, 2));
        }

        if (Status s = checkAllSucceeded(admin, jobId); !s.ok())
            return makeError(s.error());
        auto lastFinish = lastFinishMs(admin, jobId, std::min(n, 1000));
        if (!lastFinish)
            return makeError(lastFinish.error());

        const MemoryKb serverMem = memoryOf(server.pid());
        double workerHwmMb = 0;
        for (const auto &w : workers)
            workerHwmMb = std::max(workerHwmMb, double(memoryOf(w->pid()).hwm) / 1024);

        const double enqS = double(tEnqueued - t0) / 1e6;
        const double e2eS = double(idle->seenUs - t0) / 1e6;
        const double doneS = double(*lastFinish * 1000 - t0) / 1e6;
        out.insert(QStringLiteral("n"), n);
        out.insert(QStringLiteral("enqueue_s"), rounded(enqS, 3));
        out.insert(QStringLiteral("enqueue_rate"), qRound(n / enqS));
        out.insert(QStringLiteral("e2e_s"), rounded(e2eS, 3));
        out.insert(QStringLiteral("e2e_rate"), qRound(n / e2eS));
        // The peers' instant: the last processor finish (the worker's report time, whole ms).
        out.insert(QStringLiteral("e2e_rate_processor_done"), qRound(n / doneS));
        out.insert(QStringLiteral("end_resolution_ms"),
                   rounded(double(idle->seenUs - idle->lastBusyUs) / 1e3, 1));
        out.insert(QStringLiteral("kairosd_peak_rss_mb"), rounded(double(serverMem.hwm) / 1024, 1));
        out.insert(QStringLiteral("worker_peak_rss_mb"), rounded(workerHwmMb, 1));
        out.insert(QStringLiteral("kairosd_cpu_us_per_instance_by_thread"), byThread);
        for (auto it = usage.begin(); it != usage.end(); ++it)
            out.insert(it.key(), it.value());

        for (const auto &w : workers)
            w->stop();
        server.stop();
    }
    store.release(*url);
    QDir(dataDir).removeRecursively();
    return out;
}

} // namespace

bool runRemoteE2eThroughput(WorkloadContext &ctx)
{
    bool ok = true;
    for (int n : ctx.options.remoteSizes) {
        const QJsonObject fixed{
            {QStringLiteral("n"), n},
            {QStringLiteral("workers"), kWorkers},
            {QStringLiteral("worker_threads"), ctx.options.workerThreads},
            {QStringLiteral("target_ratio_vs_peer_same_run"), 2},
            {QStringLiteral("method"),
             QStringLiteral("real kairosd --no-local-worker (store under test) + %1 real "
                            "kairos-worker processes (--threads %2, app default) on 127.0.0.1; "
                            "driven over the admin protocol: job.run with %3 params per call, "
                            "each awaited (reply after durable commit); ECHO, "
                            "maxConcurrentInstances 0; %4-instance warm-up first; e2e = N / "
                            "(server.info reply showing 0 active instances, polled every %5 ms "
                            "- first job.run call)")
                 .arg(kWorkers)
                 .arg(ctx.options.workerThreads)
                 .arg(ctx.options.e2eBatch)
                 .arg(ctx.options.warmup)
                 .arg(kPollMs)},
        };
        const QJsonObject line = repeat(
            ctx, QStringLiteral("remote_e2e_throughput"), fixed,
            [&](int rep) { return oneRep(ctx, n, rep); },
            [&](QJsonObject &l) { addPeerRatios(ctx, n, l); });
        ok = ok && !line.contains(QStringLiteral("errors"));
    }
    return ok;
}

} // namespace kairos::bench
