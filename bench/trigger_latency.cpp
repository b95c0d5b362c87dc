// trigger_latency: API trigger -> processor start, at a low rate (default 200 runs at 50/s after
// 50 warm-up runs), one instance per Engine::runJob call, each call awaited. The call's reply
// comes after the instance is durably committed, so the latency includes that commit.
//
// The processor start is bracketed, because the worker stamps it in whole milliseconds:
//  - runner: TaskReport(Running).timeMs, taken by TaskRunner::startTask() with nowMs() just
//    before it creates and starts the processor (epoch ms, truncated): a lower bound within 1 ms.
//  - seen: the microsecond clock when the engine thread received that report (after the
//    queued hop back from the worker thread): an upper bound.
// latency = start − t0, where t0 = nowUs() just before the runJob call.
#include "engine_session.h"
#include "stats.h"
#include "workloads.h"

#include <core/clock.h>

#include <QHash>

namespace kairos::bench {
namespace {

struct Start {
    qint64 runnerMs = 0;
    qint64 seenUs = 0;
};

Result<QJsonObject> oneRep(WorkloadContext &ctx)
{
    StoreProvider &store = *ctx.store;
    auto url = store.freshUrl(QStringLiteral("latency"));
    if (!url)
        return makeError(url.error());
    QJsonObject out;
    {
        auto started = EngineSession::start(*url);
        if (!started)
            return makeError(started.error());
        EngineSession &session = **started;
        Job job;
        job.name = QStringLiteral("bench-latency");
        job.processor = ProcessorKind::Echo;
        auto created = session.createJob(job);
        if (!created)
            return makeError(created.error());

        QHash<qint64, Start> starts;
        session.setReportObserver([&starts](const QList<TaskReport> &reports, qint64 seenUs) {
            for (const TaskReport &r : reports) {
                if (r.status == InstanceStatus::Running)
                    starts.insert(r.instanceId, Start{r.timeMs, seenUs});
            }
        });

        ResourceMeter meter(store.serverPid());
        meter.start();
        const int warm = ctx.options.latencyWarmup;
        const int n = ctx.options.latencyRuns;
        const qint64 gapUs = 1000000 / ctx.options.latencyRate;
        QHash<qint64, qint64> t0ById;
        QList<double> replyMs;
        const qint64 begin = nowUs() + 50000;
        for (int i = 0; i < warm + n; ++i) {
            session.runUntilUs(begin + i * gapUs);
            const qint64 t0 = nowUs();
            auto ids = session.runJob(
                created->id, {QStringLiteral("{\"p\":\"latency\",\"i\":%1}").arg(i)}, 10000);
            const qint64 t1 = nowUs();
            if (!ids)
                return makeError(QStringLiteral("run %1: %2").arg(i).arg(ids.error()));
            if (i >= warm) {
                t0ById.insert(ids->first(), t0);
                replyMs << double(t1 - t0) / 1e3;
            }
        }
        if (!session.waitFor(
                [&] {
                    for (auto it = t0ById.cbegin(); it != t0ById.cend(); ++it) {
                        if (!starts.contains(it.key()))
                            return false;
                    }
                    return true;
                },
                30000))
            return makeError(QStringLiteral("not every run started within 30 s"));

        const QJsonObject usage = meter.stop();
        out.insert(QStringLiteral("foreign_cores"), usage.value(QStringLiteral("foreign_cores")));
        QList<double> runner, seen;
        for (auto it = t0ById.cbegin(); it != t0ById.cend(); ++it) {
            const Start s = starts.value(it.key());
            runner << double(s.runnerMs * 1000 - it.value()) / 1e3;
            seen << double(s.seenUs - it.value()) / 1e3;
        }
        out.insert(QStringLiteral("n"), n);
        out.insert(QStringLiteral("rate_per_s"), ctx.options.latencyRate);
        out.insert(QStringLiteral("latency_ms"), percentiles(seen));
        out.insert(QStringLiteral("latency_runner_stamp_ms"), percentiles(runner));
        out.insert(QStringLiteral("durable_reply_ms"), percentiles(replyMs));
        session.flush();
    }
    store.release(*url);
    return out;
}

} // namespace

bool runTriggerLatency(WorkloadContext &ctx)
{
    const QJsonObject fixed{
        {QStringLiteral("method"),
         QStringLiteral("%1 runs at %2/s after %3 warm-up runs; one Engine::runJob (1 param) per "
                        "run, awaited; latency_ms = Running report received on the engine thread "
                        "(us clock) - t0 [upper bound]; latency_runner_stamp_ms = TaskReport "
                        "Running timeMs (whole ms, stamped by TaskRunner::startTask just before "
                        "the processor is created) - t0 [lower bound]; durable_reply_ms = runJob "
                        "reply (after commit) - t0")
             .arg(ctx.options.latencyRuns)
             .arg(ctx.options.latencyRate)
             .arg(ctx.options.latencyWarmup)},
    };
    const QJsonObject line =
        repeat(ctx, QStringLiteral("trigger_latency"), fixed, [&](int) { return oneRep(ctx); });
    return !line.contains(QStringLiteral("errors"));
}

} // namespace kairos::bench
