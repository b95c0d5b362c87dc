// idle_rss: resident memory of a real, idle kairosd (with its local worker) holding N jobs.
// The jobs (CRON, daily, at distinct times 2-4 hours from now so none fires while measuring,
// ECHO with a small config) are created in-process on the same store, then kairosd is started
// on it with --data in a temporary folder; once it prints its listening line we sample VmRSS
// every 250 ms until it has settled (at least 3 s, and under 1% change over the last 2 s; at
// most 30 s). The same is measured first with no jobs, for the fixed cost.
#include "engine_session.h"
#include "process_probe.h"
#include "stats.h"
#include "workloads.h"

#include <core/clock.h>

#include <QCoreApplication>
#include <QDateTime>
#include <QDeadlineTimer>
#include <QDir>
#include <QElapsedTimer>
#include <QProcess>
#include <QThread>
#include <QTimeZone>

#include <algorithm>

namespace kairos::bench {
namespace {

struct IdleFigures {
    double rssMb = 0;
    double hwmMb = 0;
    double startupMs = 0;
    double settleS = 0;
};

QString kairosdPath()
{
    return QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("kairosd"));
}

Result<IdleFigures> measureKairosd(const QString &dataDir, const QString &url)
{
    QProcess proc;
    proc.setProcessChannelMode(QProcess::SeparateChannels);
    QElapsedTimer clock;
    clock.start();
    proc.start(kairosdPath(), {QStringLiteral("--data"), dataDir, QStringLiteral("--db"), url,
                               QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")});
    if (!proc.waitForStarted(10000))
        return makeError(QStringLiteral("%1: %2").arg(kairosdPath(), proc.errorString()));
    QByteArray output;
    QDeadlineTimer deadline(60000);
    while (!output.contains("listening on")) {
        if (deadline.hasExpired() || proc.state() != QProcess::Running) {
            proc.kill();
            proc.waitForFinished(5000);
            return makeError(
                QStringLiteral("kairosd did not start: %1")
                    .arg(QString::fromUtf8(output + proc.readAllStandardError()).trimmed()));
        }
        proc.waitForReadyRead(100);
        output += proc.readAllStandardOutput();
    }
    IdleFigures f;
    f.startupMs = double(clock.elapsed());
    const qint64 pid = proc.processId();
    QList<qint64> samples;
    const qint64 listenedAt = clock.elapsed();
    while (true) {
        QThread::msleep(250); // sampling interval of an idle process, not a wait for a result
        const MemoryKb m = memoryOf(pid);
        if (m.rss < 0)
            return makeError(QStringLiteral("kairosd exited while idle: %1")
                                 .arg(QString::fromUtf8(proc.readAllStandardError()).trimmed()));
        samples << m.rss;
        f.hwmMb = double(m.hwm) / 1024;
        const qint64 idleMs = clock.elapsed() - listenedAt;
        if (samples.size() >= 8 && idleMs >= 3000) {
            const auto last = samples.mid(samples.size() - 8);
            const qint64 lo = *std::min_element(last.cbegin(), last.cend());
            const qint64 hi = *std::max_element(last.cbegin(), last.cend());
            if (double(hi - lo) <= 0.01 * double(hi) || idleMs >= 30000)
                break;
        }
    }
    f.rssMb = double(samples.last()) / 1024;
    f.settleS = double(clock.elapsed() - listenedAt) / 1000;
    proc.terminate();
    if (!proc.waitForFinished(20000)) {
        proc.kill();
        proc.waitForFinished(5000);
    }
    return f;
}

QList<Job> idleJobs(int n)
{
    // Distinct daily times (second, minute, hour) 2-4 hours ahead, so nothing fires meanwhile.
    const int hour0 = QDateTime::currentDateTimeUtc().time().hour();
    QList<Job> jobs;
    jobs.reserve(n);
    for (int i = 0; i < n; ++i) {
        Job job;
        job.name = QStringLiteral("idle-%1").arg(i, 5, 10, QLatin1Char('0'));
        job.description = QStringLiteral("idle_rss benchmark job %1").arg(i);
        job.timingType = TimingType::Cron;
        job.timingExpression = QStringLiteral("%1 %2 %3 * * ?")
                                   .arg(i % 60)
                                   .arg((i / 60) % 60)
                                   .arg((hour0 + 2 + i / 3600) % 24);
        job.timeZone = QStringLiteral("UTC");
        job.processor = ProcessorKind::Echo;
        job.processorConfig = QJsonObject{{QStringLiteral("message"), QStringLiteral("hello")}};
        jobs << job;
    }
    return jobs;
}

Result<QJsonObject> oneRep(WorkloadContext &ctx, int rep)
{
    StoreProvider &store = *ctx.store;
    const QString dataDir = QDir(store.workDir()).filePath(QStringLiteral("idle-%1").arg(rep));
    QDir().mkpath(dataDir);
    auto url = store.freshUrl(QStringLiteral("idle"), dataDir);
    if (!url)
        return makeError(url.error());
    auto empty = measureKairosd(dataDir, *url);
    if (!empty)
        return makeError(QStringLiteral("no jobs: ") + empty.error());
    {
        auto started = EngineSession::start(*url, false);
        if (!started)
            return makeError(started.error());
        auto created = (*started)->createJobs(idleJobs(ctx.options.idleJobs), 600000);
        if (!created)
            return makeError(created.error());
        (*started)->flush();
    }
    auto full = measureKairosd(dataDir, *url);
    if (!full)
        return makeError(QStringLiteral("%1 jobs: ").arg(ctx.options.idleJobs) + full.error());
    store.release(*url);
    QDir(dataDir).removeRecursively();
    return QJsonObject{
        {QStringLiteral("jobs"), ctx.options.idleJobs},
        {QStringLiteral("rss_mb"), rounded(full->rssMb, 1)},
        {QStringLiteral("peak_rss_mb"), rounded(full->hwmMb, 1)},
        {QStringLiteral("startup_ms"), rounded(full->startupMs, 0)},
        {QStringLiteral("settle_s"), rounded(full->settleS, 2)},
        {QStringLiteral("rss_no_jobs_mb"), rounded(empty->rssMb, 1)},
        {QStringLiteral("rss_per_1000_jobs_mb"),
         rounded((full->rssMb - empty->rssMb) * 1000 / ctx.options.idleJobs, 2)},
    };
}

} // namespace

bool runIdleRss(WorkloadContext &ctx)
{
    const QJsonObject fixed{
        {QStringLiteral("jobs"), ctx.options.idleJobs},
        {QStringLiteral("target_mb"), 50},
        {QStringLiteral("method"),
         QStringLiteral("real kairosd (local worker on, --data temp dir, --db on this store) "
                        "restarted on a store holding %1 CRON jobs (daily, distinct times, "
                        "ECHO); VmRSS once settled (>= 3 s after the listening line, < 1% "
                        "change over 2 s); peak_rss_mb = VmHWM (start-up included)")
             .arg(ctx.options.idleJobs)},
    };
    const QJsonObject line =
        repeat(ctx, QStringLiteral("idle_rss"), fixed, [&](int rep) { return oneRep(ctx, rep); });
    return !line.contains(QStringLiteral("errors"));
}

} // namespace kairos::bench
