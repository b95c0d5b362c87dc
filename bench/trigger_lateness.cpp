// trigger_lateness and burst_10k: how late scheduled fires start their processor.
//
// Jobs are CRON jobs pinned to one instant each with a 7-field Quartz expression that includes
// the year ("S M H D Mo ? Y", zone UTC): each fires exactly once, through the normal cron path
// (Schedule::nextFireAfter, the trigger scheduler's timer queue, the 200 ms prepare lead in which
// the fire is recorded, then the dispatcher's timer at the fire time). Cron has whole-second
// resolution, so trigger_lateness spreads N jobs over the seconds of a minute (about N/60 per
// second fire together), and burst_10k puts every job on the same second.
//
// lateness = processor start − scheduled fire time; the start is bracketed as in
// trigger_latency (runner stamp in whole ms = lower bound, engine-thread receipt in µs = upper).
#include "engine_session.h"
#include "stats.h"
#include "workloads.h"

#include <core/clock.h>

#include <QDateTime>
#include <QHash>
#include <QTimeZone>

namespace kairos::bench {
namespace {

// How long creating `n` jobs will take on this store: creates a few throwaway API jobs and
// times them, so the first fire can be put just far enough ahead (a fire whose job does not
// exist yet at its prepare time would never happen).
Result<double> measureCreateRate(EngineSession &session, int n)
{
    const int probe = std::clamp(n / 10, 50, 500);
    QList<Job> jobs;
    for (int i = 0; i < probe; ++i) {
        Job job;
        job.name = QStringLiteral("probe-%1").arg(i);
        job.processor = ProcessorKind::Echo;
        jobs << job;
    }
    const qint64 t0 = nowUs();
    auto created = session.createJobs(jobs, 120000);
    if (!created)
        return makeError(QStringLiteral("calibration: ") + created.error());
    return probe / (double(nowUs() - t0) / 1e6);
}

QString cronAt(qint64 epochMs)
{
    const QDateTime t = QDateTime::fromMSecsSinceEpoch(epochMs, QTimeZone::utc());
    return QStringLiteral("%1 %2 %3 %4 %5 ? %6")
        .arg(t.time().second())
        .arg(t.time().minute())
        .arg(t.time().hour())
        .arg(t.date().day())
        .arg(t.date().month())
        .arg(t.date().year());
}

struct Observed {
    QHash<qint64, qint64> fireMs;     // instance -> scheduled fire time
    QHash<qint64, qint64> recordedUs; // instance -> its insert commit seen
    QHash<qint64, qint64> jobOf;      // instance -> job
    QHash<qint64, qint64> runnerMs;   // instance -> Running stamp (ms)
    QHash<qint64, qint64> seenUs;     // instance -> Running report received (us)
};

struct Plan {
    QString tag;
    int jobs = 0;
    int spreadS = 0; // 0: all at the same instant
};

Result<QJsonObject> oneRep(WorkloadContext &ctx, const Plan &plan)
{
    StoreProvider &store = *ctx.store;
    auto url = store.freshUrl(plan.tag);
    if (!url)
        return makeError(url.error());
    QJsonObject out;
    {
        auto started = EngineSession::start(*url);
        if (!started)
            return makeError(started.error());
        EngineSession &session = **started;

        Observed seen;
        session.setCommitObserver([&seen](const QList<Instance> &changed, qint64 seenUs) {
            for (const Instance &inst : changed) {
                if (inst.trigger != TriggerKind::Scheduled || seen.fireMs.contains(inst.id))
                    continue;
                seen.fireMs.insert(inst.id, inst.fireTimeMs);
                seen.recordedUs.insert(inst.id, seenUs);
                seen.jobOf.insert(inst.id, inst.jobId);
            }
        });
        session.setReportObserver([&seen](const QList<TaskReport> &reports, qint64 seenUs) {
            for (const TaskReport &r : reports) {
                if (r.status != InstanceStatus::Running || seen.seenUs.contains(r.instanceId))
                    continue;
                seen.runnerMs.insert(r.instanceId, r.timeMs);
                seen.seenUs.insert(r.instanceId, seenUs);
            }
        });

        auto rate = measureCreateRate(session, plan.jobs);
        if (!rate)
            return makeError(rate.error());
        // Twice the calibrated time (the machine is shared), plus the prepare lead and margin.
        const qint64 leadMs = 1500 + qint64(2000.0 * plan.jobs / *rate);
        const qint64 firstFire = (nowMs() + leadMs) / 1000 * 1000 + 1000;
        QList<Job> jobs;
        jobs.reserve(plan.jobs);
        qint64 lastFire = firstFire;
        for (int i = 0; i < plan.jobs; ++i) {
            const qint64 fire =
                firstFire + (plan.spreadS > 0 ? qint64(i) * plan.spreadS / plan.jobs * 1000 : 0);
            lastFire = std::max(lastFire, fire);
            Job job;
            job.name = QStringLiteral("%1-%2").arg(plan.tag).arg(i, 5, 10, QLatin1Char('0'));
            job.timingType = TimingType::Cron;
            job.timingExpression = cronAt(fire);
            job.timeZone = QStringLiteral("UTC");
            job.processor = ProcessorKind::Echo;
            jobs << job;
        }
        const qint64 c0 = nowUs();
        auto created = session.createJobs(jobs, 300000);
        if (!created)
            return makeError(created.error());
        const qint64 c1 = nowUs();
        const double createRate = plan.jobs / (double(c1 - c0) / 1e6);
        // The trigger scheduler records a fire 200 ms (prepareLeadMs) before it is due.
        const qint64 spare = firstFire - 200 - c1 / 1000;
        if (spare < 100)
            return makeError(QStringLiteral("creating %1 jobs took %2 s, so the first fire was "
                                            "not %3 ms ahead any more (the machine was busier "
                                            "than during calibration)")
                                 .arg(plan.jobs)
                                 .arg(double(c1 - c0) / 1e6)
                                 .arg(leadMs));

        ResourceMeter meter(store.serverPid());
        meter.start();
        const auto allStarted = [&] {
            if (seen.fireMs.size() < plan.jobs)
                return false;
            for (auto it = seen.fireMs.cbegin(); it != seen.fireMs.cend(); ++it) {
                if (!seen.seenUs.contains(it.key()))
                    return false;
            }
            return true;
        };
        const int timeoutMs = int(lastFire - nowMs()) + 30000;
        if (!session.waitFor(allStarted, timeoutMs))
            return makeError(QStringLiteral("%1 of %2 fires recorded, %3 started, %4 s after the "
                                            "last fire time")
                                 .arg(seen.fireMs.size())
                                 .arg(plan.jobs)
                                 .arg(seen.seenUs.size())
                                 .arg(30));
        const QJsonObject usage = meter.stop();
        out.insert(QStringLiteral("foreign_cores"), usage.value(QStringLiteral("foreign_cores")));
        QSet<qint64> jobsFired;
        QList<double> lateSeen, lateRunner, recordedAhead;
        qint64 lastSeenUs = 0, firstSeenUs = std::numeric_limits<qint64>::max();
        qint64 lastRunnerMs = 0;
        for (auto it = seen.fireMs.cbegin(); it != seen.fireMs.cend(); ++it) {
            const qint64 id = it.key();
            const qint64 fire = it.value();
            jobsFired.insert(seen.jobOf.value(id));
            lateSeen << double(seen.seenUs.value(id) - fire * 1000) / 1e3;
            lateRunner << double(seen.runnerMs.value(id) - fire);
            recordedAhead << double(fire * 1000 - seen.recordedUs.value(id)) / 1e3;
            lastSeenUs = std::max(lastSeenUs, seen.seenUs.value(id));
            firstSeenUs = std::min(firstSeenUs, seen.seenUs.value(id));
            lastRunnerMs = std::max(lastRunnerMs, seen.runnerMs.value(id));
        }
        if (jobsFired.size() != plan.jobs || seen.fireMs.size() != plan.jobs)
            return makeError(
                QStringLiteral("%1 instances for %2 distinct jobs, expected %3 of each")
                    .arg(seen.fireMs.size())
                    .arg(jobsFired.size())
                    .arg(plan.jobs));
        out.insert(QStringLiteral("jobs"), plan.jobs);
        out.insert(QStringLiteral("job_create_rate"), qRound(createRate));
        out.insert(QStringLiteral("lead_s"), rounded(double(firstFire * 1000 - c0) / 1e6, 1));
        out.insert(QStringLiteral("lateness_ms"), percentiles(lateSeen));
        out.insert(QStringLiteral("lateness_runner_stamp_ms"), percentiles(lateRunner, 0));
        out.insert(QStringLiteral("recorded_ahead_ms"), percentiles(recordedAhead));
        if (plan.spreadS == 0) {
            int within500 = 0;
            for (double l : lateSeen)
                within500 += l <= 500 ? 1 : 0;
            out.insert(QStringLiteral("first_start_after_due_ms"),
                       rounded(double(firstSeenUs - firstFire * 1000) / 1e3, 3));
            out.insert(QStringLiteral("last_start_after_due_ms"),
                       rounded(double(lastSeenUs - firstFire * 1000) / 1e3, 3));
            out.insert(QStringLiteral("last_start_after_due_runner_stamp_ms"),
                       double(lastRunnerMs - firstFire));
            out.insert(QStringLiteral("started_within_500ms"), within500);
            out.insert(QStringLiteral("all_within_500ms"), within500 == plan.jobs);
        }
        session.flush();
    }
    store.release(*url);
    return out;
}

} // namespace

bool runTriggerLateness(WorkloadContext &ctx)
{
    const Plan plan{QStringLiteral("late"), ctx.options.latenessJobs, ctx.options.latenessSpreadS};
    const QJsonObject fixed{
        {QStringLiteral("jobs"), plan.jobs},
        {QStringLiteral("spread_s"), plan.spreadS},
        {QStringLiteral("method"),
         QStringLiteral("%1 CRON jobs, each a one-time 7-field Quartz expression with the year "
                        "(UTC), fire times on whole seconds spread over %2 s (job i at T0 + "
                        "floor(i*%2/%1) s); all created up front; lateness_ms = Running report "
                        "received on the engine thread (us) - fire time [upper bound]; "
                        "lateness_runner_stamp_ms = TaskReport Running timeMs (whole ms) - fire "
                        "time [lower bound]; recorded_ahead_ms = fire time - commit of the fire's "
                        "instance row")
             .arg(plan.jobs)
             .arg(plan.spreadS)},
    };
    const QJsonObject line = repeat(ctx, QStringLiteral("trigger_lateness"), fixed,
                                    [&](int) { return oneRep(ctx, plan); });
    return !line.contains(QStringLiteral("errors"));
}

bool runBurst(WorkloadContext &ctx)
{
    const Plan plan{QStringLiteral("burst"), ctx.options.burstJobs, 0};
    const QJsonObject fixed{
        {QStringLiteral("jobs"), plan.jobs},
        {QStringLiteral("target"),
         QStringLiteral("every job started within 500 ms of its due time")},
        {QStringLiteral("method"),
         QStringLiteral("%1 CRON jobs (one-time 7-field Quartz expressions, UTC) all due at the "
                        "same instant T; last_start_after_due_ms = last Running report received "
                        "on the engine thread (us) - T; lateness as in trigger_lateness")
             .arg(plan.jobs)},
    };
    const QJsonObject line =
        repeat(ctx, QStringLiteral("burst_10k"), fixed, [&](int) { return oneRep(ctx, plan); });
    return !line.contains(QStringLiteral("errors"));
}

} // namespace kairos::bench
