// e2e_throughput: N API-triggered no-op (ECHO) instances through the engine and its local
// worker, in-process (local mode). Enqueue: Engine::runJob with 1,000 instance parameters per
// call, each call awaited (its reply comes after the instances are durably committed), the
// worker idle and warm (a 1,000-instance warm-up ran first). e2e = N / (last instance's
// SUCCEEDED commit seen by the engine thread − first enqueue call).
#include "engine_session.h"
#include "process_probe.h"
#include "stats.h"
#include "workloads.h"

#include <core/clock.h>

#include <QSet>

namespace kairos::bench {
namespace {

struct Tracker {
    QSet<qint64> pending; // enqueued, not yet terminal-and-committed
    int succeeded = 0;
    int failed = 0;
    QString firstFailure;
    qint64 lastCommitUs = 0; // commit of the last terminal state
    qint64 firstStartUs = 0; // first Running report seen by the engine thread
    qint64 lastDoneUs = 0;   // last terminal report seen by the engine thread
};

QStringList paramsFor(const QString &phase, int from, int count)
{
    QStringList params;
    params.reserve(count);
    // The same payload the peers carry: (phase, index).
    for (int i = from; i < from + count; ++i)
        params << QStringLiteral("{\"p\":\"%1\",\"i\":%2}").arg(phase).arg(i);
    return params;
}

// Enqueues `n` instances in batches and waits until all are terminal and committed.
Status enqueueAll(EngineSession &session, qint64 jobId, Tracker &t,
                  const QList<QStringList> &batches, int timeoutMs)
{
    for (const QStringList &batch : batches) {
        auto ids = session.runJob(jobId, batch);
        if (!ids)
            return makeError(ids.error());
        for (qint64 id : *ids)
            t.pending.insert(id);
    }
    if (!session.waitFor([&] { return t.pending.isEmpty(); }, timeoutMs))
        return makeError(QStringLiteral("%1 instances still unfinished after %2 s")
                             .arg(t.pending.size())
                             .arg(timeoutMs / 1000));
    return {};
}

Result<QJsonObject> oneRep(WorkloadContext &ctx, int n)
{
    StoreProvider &store = *ctx.store;
    auto url = store.freshUrl(QStringLiteral("e2e"));
    if (!url)
        return makeError(url.error());
    QJsonObject out;
    {
        auto started = EngineSession::start(*url);
        if (!started)
            return makeError(started.error());
        EngineSession &session = **started;

        Job job;
        job.name = QStringLiteral("bench-echo");
        job.timingType = TimingType::Api;
        job.processor = ProcessorKind::Echo;
        job.maxConcurrentInstances = 0;
        auto created = session.createJob(job);
        if (!created)
            return makeError(created.error());

        Tracker t;
        session.setCommitObserver([&t](const QList<Instance> &changed, qint64 seenUs) {
            for (const Instance &inst : changed) {
                if (!isTerminal(inst.status) || !t.pending.remove(inst.id))
                    continue;
                if (inst.status == InstanceStatus::Succeeded) {
                    ++t.succeeded;
                } else {
                    ++t.failed;
                    if (t.firstFailure.isEmpty())
                        t.firstFailure = toString(inst.status) + QStringLiteral(": ") + inst.reason;
                }
                t.lastCommitUs = seenUs;
            }
        });
        session.setReportObserver([&t](const QList<TaskReport> &reports, qint64 seenUs) {
            for (const TaskReport &r : reports) {
                if (r.status == InstanceStatus::Running && t.firstStartUs == 0)
                    t.firstStartUs = seenUs;
                else if (isTerminal(r.status))
                    t.lastDoneUs = seenUs;
            }
        });

        const int batch = ctx.options.e2eBatch;
        const auto batchesOf = [batch](const QString &phase, int count) {
            QList<QStringList> list;
            for (int from = 0; from < count; from += batch)
                list << paramsFor(phase, from, std::min(batch, count - from));
            return list;
        };
        // Warm-up: not measured (caches, prepared statements, the worker's thread).
        if (ctx.options.warmup > 0) {
            if (Status s =
                    enqueueAll(session, created->id, t,
                               batchesOf(QStringLiteral("warmup"), ctx.options.warmup), 600000);
                !s.ok())
                return makeError(QStringLiteral("warm-up: ") + s.error());
            if (!session.flush())
                return makeError(QStringLiteral("warm-up: flush timed out"));
        }
        const QList<QStringList> batches = batchesOf(QStringLiteral("tp_%1").arg(n), n);
        t = Tracker{};
        const quint64 groups0 = session.committedGroups();
        const MemoryKb before = memoryOf();
        const bool peakReset = resetPeakRss();
        ResourceMeter meter(store.serverPid());
        meter.start();

        const qint64 t0 = nowUs();
        qint64 tEnqueued = 0;
        {
            for (const QStringList &b : batches) {
                auto ids = session.runJob(created->id, b);
                if (!ids)
                    return makeError(QStringLiteral("enqueue: ") + ids.error());
                for (qint64 id : *ids)
                    t.pending.insert(id);
            }
            tEnqueued = nowUs();
            const int timeoutMs = 120000 + 2 * n; // gives up below ~500 instances/s
            if (!session.waitFor([&] { return t.pending.isEmpty(); }, timeoutMs))
                return makeError(QStringLiteral("%1 of %2 instances unfinished after %3 s")
                                     .arg(t.pending.size())
                                     .arg(n)
                                     .arg(timeoutMs / 1000));
        }
        QJsonObject res = meter.stop(n);
        const MemoryKb after = memoryOf();
        if (t.failed > 0)
            return makeError(QStringLiteral("%1 instances did not succeed (first: %2)")
                                 .arg(t.failed)
                                 .arg(t.firstFailure));

        const double enqS = double(tEnqueued - t0) / 1e6;
        const double e2eS = double(t.lastCommitUs - t0) / 1e6;
        const double doneS = double(t.lastDoneUs - t0) / 1e6;
        out.insert(QStringLiteral("n"), n);
        out.insert(QStringLiteral("enqueue_s"), rounded(enqS, 3));
        out.insert(QStringLiteral("enqueue_rate"), qRound(n / enqS));
        out.insert(QStringLiteral("e2e_s"), rounded(e2eS, 3));
        out.insert(QStringLiteral("e2e_rate"), qRound(n / e2eS));
        // Same instant as the peers' "last handler completion": the last processor end as seen
        // on the engine thread (before its commit).
        out.insert(QStringLiteral("e2e_rate_processor_done"), qRound(n / doneS));
        out.insert(QStringLiteral("first_start_after_ms"),
                   rounded(double(t.firstStartUs - t0) / 1e3, 2));
        out.insert(QStringLiteral("drain_after_enqueue_s"),
                   rounded(double(t.lastCommitUs - tEnqueued) / 1e6, 3));
        out.insert(QStringLiteral("peak_rss_mb"),
                   peakReset ? rounded(double(after.hwm) / 1024, 1) : -1);
        out.insert(QStringLiteral("rss_before_mb"), rounded(double(before.rss) / 1024, 1));
        out.insert(QStringLiteral("rss_after_mb"), rounded(double(after.rss) / 1024, 1));
        const quint64 groups = session.committedGroups() - groups0;
        out.insert(QStringLiteral("commit_groups"), double(groups));
        out.insert(QStringLiteral("instances_per_commit"),
                   rounded(groups ? double(n) / double(groups) : 0, 1));
        for (auto it = res.begin(); it != res.end(); ++it)
            out.insert(it.key(), it.value());
    } // the engine stops here (flushes), before the database is dropped
    store.release(*url);
    return out;
}

} // namespace

bool runE2eThroughput(WorkloadContext &ctx)
{
    bool ok = true;
    for (int n : ctx.options.e2eSizes) {
        const QJsonObject fixed{
            {QStringLiteral("n"), n},
            {QStringLiteral("method"),
             QStringLiteral("local mode in-process: Engine + local worker (64 slots) on the "
                            "bench's main thread; Engine::runJob with %1 params per call, each "
                            "call awaited (reply after durable commit); ECHO, "
                            "maxConcurrentInstances 0; %2-instance warm-up first; e2e = N / (last "
                            "SUCCEEDED commit - first enqueue call)")
                 .arg(ctx.options.e2eBatch)
                 .arg(ctx.options.warmup)},
        };
        const QJsonObject line = repeat(
            ctx, QStringLiteral("e2e_throughput"), fixed, [&](int) { return oneRep(ctx, n); },
            [&](QJsonObject &l) { addPeerRatios(ctx, n, l); });
        ok = ok && !line.contains(QStringLiteral("errors"));
    }
    return ok;
}

} // namespace kairos::bench
