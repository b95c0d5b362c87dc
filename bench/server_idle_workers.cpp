// server_200_idle_workers: what connected idle workers cost a server. A real kairosd
// (--no-local-worker, no jobs) and N (default 200) fake workers in one child process
// (`kairos-bench --fake-workers N`, FakeWorkerFleet): each a real protocol connection that logs in
// with the app's secret, registers and heartbeats every second with real host metrics, and does
// nothing else. Once all are registered (and worker.list shows N ALIVE) and 2 s have passed,
// kairosd's CPU (utime + stime from /proc/PID/stat) is measured over 20 s as a percentage of one
// core (target <= 5 %), and its VmRSS sampled every second (target <= 100 MB). Afterwards
// worker.list must still show N ALIVE, so no heartbeat went missing meanwhile.
#include "process_probe.h"
#include "remote_cluster.h"
#include "stats.h"
#include "workloads.h"

#include <core/clock.h>

#include <QCoreApplication>
#include <QDir>

#include <algorithm>

namespace kairos::bench {
namespace {

constexpr double kTargetCpuPct = 5;
constexpr double kTargetRssMb = 100;
constexpr int kSettleMs = 2000;

Result<QJsonObject> oneRep(WorkloadContext &ctx, int rep)
{
    StoreProvider &store = *ctx.store;
    const int n = ctx.options.idleWorkers;
    const QString dataDir =
        QDir(store.workDir()).filePath(QStringLiteral("idle-workers-%1").arg(rep));
    QDir().mkpath(dataDir);
    auto url = store.freshUrl(QStringLiteral("idleworkers"), dataDir);
    if (!url)
        return makeError(url.error());
    QJsonObject out;
    {
        KairosdChild server(dataDir);
        if (Status s = server.start(*url, {QStringLiteral("--no-local-worker")}); !s.ok())
            return makeError(s.error());
        const MemoryKb before = memoryOf(server.pid());
        ChildProcess fleet(QStringLiteral("fake workers"));
        const qint64 t0 = nowMs();
        if (Status s = fleet.start(QCoreApplication::applicationFilePath(),
                                   {QStringLiteral("--fake-workers"), QString::number(n),
                                    QStringLiteral("--server"),
                                    QStringLiteral("127.0.0.1:%1").arg(server.port()),
                                    QStringLiteral("--secret-file"), server.secretFile()},
                                   QDir(dataDir).filePath(QStringLiteral("fleet.stderr")));
            !s.ok())
            return makeError(s.error());
        if (Status s = fleet.waitForOutput(QStringLiteral("fake-workers: all %1 registered").arg(n),
                                           120000);
            !s.ok())
            return makeError(s.error() + QStringLiteral("; stdout: ")
                             + fleet.output().right(1000).trimmed());
        const double registrationS = double(nowMs() - t0) / 1000;
        AdminSession admin(server.port(), server.adminPassword());
        if (Status s = admin.open(); !s.ok())
            return makeError(s.error());
        auto states = admin.workerStates();
        if (!states)
            return makeError(states.error());
        if (states->value(QStringLiteral("ALIVE")) != n)
            return makeError(QStringLiteral("worker.list shows %1 ALIVE workers, expected %2")
                                 .arg(states->value(QStringLiteral("ALIVE")))
                                 .arg(n));
        pumpFor(kSettleMs); // let the registrations' after-effects pass

        ProcessMeter meter;
        meter.add(QStringLiteral("kairosd"), server.pid());
        meter.add(QStringLiteral("fake_workers"), fleet.pid());
        meter.start();
        QList<qint64> rss;
        for (int s = 0; s < ctx.options.idleMeasureS; ++s) {
            pumpFor(1000); // the measuring window, sampled once a second
            const MemoryKb m = memoryOf(server.pid());
            if (m.rss < 0)
                return makeError(
                    QStringLiteral("kairosd exited: %1").arg(server.process().stderrTail()));
            rss << m.rss;
        }
        const QJsonObject usage = meter.stop();
        const MemoryKb after = memoryOf(server.pid());

        if (fleet.output().contains(QStringLiteral(" lost: ")))
            return makeError(QStringLiteral("a fake worker lost its connection: %1")
                                 .arg(fleet.output().right(1000).trimmed()));
        states = admin.workerStates();
        if (!states)
            return makeError(states.error());
        if (states->value(QStringLiteral("ALIVE")) != n)
            return makeError(QStringLiteral("after the window worker.list shows %1 ALIVE "
                                            "workers, expected %2")
                                 .arg(states->value(QStringLiteral("ALIVE")))
                                 .arg(n));

        const QJsonObject pct = usage.value(QStringLiteral("cpu_pct_of_core")).toObject();
        out.insert(QStringLiteral("workers"), n);
        out.insert(QStringLiteral("registration_s"), rounded(registrationS, 2));
        out.insert(QStringLiteral("measure_s"), ctx.options.idleMeasureS);
        out.insert(QStringLiteral("kairosd_cpu_pct"), pct.value(QStringLiteral("kairosd")));
        out.insert(QStringLiteral("fake_workers_cpu_pct"),
                   pct.value(QStringLiteral("fake_workers")));
        out.insert(QStringLiteral("kairosd_rss_mb"), rounded(double(rss.last()) / 1024, 1));
        out.insert(QStringLiteral("kairosd_rss_max_mb"),
                   rounded(double(*std::max_element(rss.cbegin(), rss.cend())) / 1024, 1));
        out.insert(QStringLiteral("kairosd_peak_rss_mb"), rounded(double(after.hwm) / 1024, 1));
        out.insert(QStringLiteral("kairosd_rss_no_workers_mb"),
                   rounded(double(before.rss) / 1024, 1));
        out.insert(QStringLiteral("foreign_cores"), usage.value(QStringLiteral("foreign_cores")));
        out.insert(QStringLiteral("cpu_ms"), usage.value(QStringLiteral("cpu_ms")));

        fleet.stop(5000); // SIGTERM ends it at once (default action): not a clean exit
        server.stop();
    }
    store.release(*url);
    QDir(dataDir).removeRecursively();
    return out;
}

} // namespace

bool runServerIdleWorkers(WorkloadContext &ctx)
{
    const QJsonObject fixed{
        {QStringLiteral("workers"), ctx.options.idleWorkers},
        {QStringLiteral("target"), QJsonObject{{QStringLiteral("kairosd_cpu_pct"), kTargetCpuPct},
                                               {QStringLiteral("kairosd_rss_mb"), kTargetRssMb}}},
        {QStringLiteral("method"),
         QStringLiteral("real kairosd --no-local-worker (no jobs) + %1 fake workers in one "
                        "child process (kairos-bench --fake-workers: real protocol connections, "
                        "SCRAM login, register, heartbeat every 1 s with real host metrics, "
                        "nothing else); after all registered + %2 s: kairosd CPU (utime+stime) "
                        "over %3 s as percent of one core, VmRSS sampled every second; worker.list "
                        "must show all ALIVE before and after")
             .arg(ctx.options.idleWorkers)
             .arg(kSettleMs / 1000)
             .arg(ctx.options.idleMeasureS)},
    };
    const QJsonObject line = repeat(
        ctx, QStringLiteral("server_200_idle_workers"), fixed,
        [&](int rep) { return oneRep(ctx, rep); },
        [](QJsonObject &l) {
            const QJsonObject f = l.value(QStringLiteral("figures")).toObject();
            const auto med = [&](const char *key) {
                return f.value(QLatin1StringView(key))
                    .toObject()
                    .value(QStringLiteral("median"))
                    .toDouble(-1);
            };
            const double cpu = med("kairosd_cpu_pct");
            const double rss = med("kairosd_rss_max_mb");
            l.insert(
                QStringLiteral("target_met"),
                QJsonObject{{QStringLiteral("kairosd_cpu_pct"), cpu >= 0 && cpu <= kTargetCpuPct},
                            {QStringLiteral("kairosd_rss_mb"), rss >= 0 && rss <= kTargetRssMb}});
        });
    return !line.contains(QStringLiteral("errors"));
}

} // namespace kairos::bench
