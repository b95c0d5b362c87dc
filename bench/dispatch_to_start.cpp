// dispatch_to_start: how long a task takes from the server handing it to a worker's connection
// to the worker starting it, under a light steady load. The server runs in this process (an
// Engine without local worker on the bench thread, plus the AdminService listener on
// 127.0.0.1:0, which serves workers too); two real kairos-worker processes connect to it.
// Instances are created one per Engine::runJob call at a fixed rate (default 200/s for 10 s,
// after 1 s of warm-up that is not measured).
//
// Each sample comes from RemoteWorkerLink::startLatencies: the worker's TaskRunner stamps its
// RUNNING report in epoch microseconds (`tu`) right before it creates and starts the processor;
// the link subtracts the time it passed the task's `dispatch` to the connection (which writes
// it at the end of that event-loop turn). Same machine, same clock. The figure thus covers the
// server's write, loopback TCP, the worker's read, decode and hand-over to its runner thread,
// and the runner's queue — not the commit before dispatch, nor the report's way back.
#include "engine_session.h"
#include "remote_cluster.h"
#include "stats.h"
#include "workloads.h"

#include <core/clock.h>
#include <server/admin_service.h>
#include <server/credentials.h>
#include <server/remote_worker_link.h>

#include <QDir>
#include <QHostAddress>

#include <memory>
#include <vector>

namespace kairos::bench {
namespace {

constexpr int kWorkers = 2;
constexpr int kWarmupS = 1;

QList<server::RemoteWorkerLink *> aliveRemoteLinks(server::Engine &engine)
{
    QList<server::RemoteWorkerLink *> out;
    for (server::WorkerLink *link : engine.workerLinks()) {
        auto *remote = qobject_cast<server::RemoteWorkerLink *>(link);
        if (remote && remote->isAlive())
            out << remote;
    }
    return out;
}

Result<QJsonObject> oneRep(WorkloadContext &ctx, int rep)
{
    StoreProvider &store = *ctx.store;
    const QString dataDir = QDir(store.workDir()).filePath(QStringLiteral("dispatch-%1").arg(rep));
    QDir().mkpath(dataDir);
    auto url = store.freshUrl(QStringLiteral("dispatch"), dataDir);
    if (!url)
        return makeError(url.error());
    QJsonObject out;
    {
        auto started = EngineSession::start(*url, false);
        if (!started)
            return makeError(started.error());
        EngineSession &session = **started;
        server::Engine &engine = session.engine();
        auto credentials = std::make_shared<server::CredentialCache>(engine.store());
        if (Status s = server::bootstrapDefaultApp(*credentials, dataDir); !s.ok())
            return makeError(s.error());
        server::AdminService admin(engine, credentials);
        if (Status s = admin.listen(QHostAddress::LocalHost, 0, {}); !s.ok())
            return makeError(s.error());
        const QString secretFile = QDir(dataDir).filePath(QStringLiteral("apps/default.secret"));

        std::vector<std::unique_ptr<ChildProcess>> workers;
        for (int i = 1; i <= kWorkers; ++i) {
            const QString id = QStringLiteral("bench-d%1").arg(i);
            workers.push_back(std::make_unique<ChildProcess>(QStringLiteral("worker ") + id));
            if (Status s = startWorker(*workers.back(), id, admin.port(), secretFile,
                                       QDir(dataDir).filePath(id), ctx.options.workerThreads);
                !s.ok())
                return makeError(s.error());
        }
        if (!pumpUntil([&] { return aliveRemoteLinks(engine).size() == kWorkers; }, 10000))
            return makeError(QStringLiteral("%1 of %2 workers registered with the engine")
                                 .arg(aliveRemoteLinks(engine).size())
                                 .arg(kWorkers));

        QList<qint64> samples;
        qint64 seen = 0;
        bool measuring = false;
        QObject receiver; // ends the connections below before `samples` goes away
        for (server::RemoteWorkerLink *link : aliveRemoteLinks(engine)) {
            QObject::connect(link, &server::RemoteWorkerLink::startLatencies, &receiver,
                             [&](const QList<qint64> &us) {
                                 seen += us.size();
                                 if (measuring)
                                     samples << us;
                             });
        }

        Job job;
        job.name = QStringLiteral("bench-dispatch");
        job.processor = ProcessorKind::Echo;
        job.maxConcurrentInstances = 0;
        auto created = session.createJob(job);
        if (!created)
            return makeError(created.error());

        const int rate = ctx.options.dispatchRate;
        const qint64 gapUs = 1000000 / rate;
        auto failures = std::make_shared<QStringList>();
        // `count` runs at `rate`, then waits until every one of them has started.
        const auto phase = [&](int count, const QString &name) -> Status {
            const qint64 seen0 = seen;
            const qint64 begin = nowUs() + 20000;
            for (int i = 0; i < count; ++i) {
                session.runUntilUs(begin + i * gapUs);
                engine.runJob(created->id,
                              {QStringLiteral("{\"p\":\"%1\",\"i\":%2}").arg(name).arg(i)},
                              [failures](Result<QList<qint64>> r) {
                                  if (!r.ok())
                                      *failures << r.error();
                              });
            }
            if (!pumpUntil([&] { return seen - seen0 >= count || !failures->isEmpty(); }, 30000))
                return makeError(QStringLiteral("%1: %2 of %3 runs started within 30 s")
                                     .arg(name)
                                     .arg(seen - seen0)
                                     .arg(count));
            if (!failures->isEmpty())
                return makeError(
                    QStringLiteral("%1: job.run failed: %2").arg(name, failures->first()));
            return {};
        };
        if (Status s = phase(rate * kWarmupS, QStringLiteral("warmup")); !s.ok())
            return makeError(s.error());

        ProcessMeter meter;
        for (const auto &w : workers)
            meter.add(QStringLiteral("workers"), w->pid());
        meter.add(QStringLiteral("postgres"), store.serverPid());
        meter.start();
        measuring = true;
        const int n = rate * ctx.options.dispatchSeconds;
        if (Status s = phase(n, QStringLiteral("steady")); !s.ok())
            return makeError(s.error());
        measuring = false;
        const QJsonObject usage = meter.stop();

        QList<double> us;
        us.reserve(samples.size());
        for (qint64 v : std::as_const(samples))
            us << double(v);
        out.insert(QStringLiteral("n"), int(samples.size()));
        out.insert(QStringLiteral("rate_per_s"), rate);
        out.insert(QStringLiteral("dispatch_to_start_us"), percentiles(us, 0));
        for (auto it = usage.begin(); it != usage.end(); ++it)
            out.insert(it.key(), it.value());

        for (const auto &w : workers)
            w->stop();
        session.flush();
    }
    store.release(*url);
    QDir(dataDir).removeRecursively();
    return out;
}

} // namespace

bool runDispatchToStart(WorkloadContext &ctx)
{
    const QJsonObject fixed{
        {QStringLiteral("workers"), kWorkers},
        {QStringLiteral("worker_threads"), ctx.options.workerThreads},
        {QStringLiteral("target_us"),
         QJsonObject{{QStringLiteral("p50"), 1000}, {QStringLiteral("p99"), 3000}}},
        {QStringLiteral("method"),
         QStringLiteral("in-process Engine (no local worker) + AdminService on 127.0.0.1:0; %1 "
                        "real kairos-worker processes (--threads %2); one Engine::runJob per "
                        "instance at %3/s for %4 s after %5 s of warm-up; ECHO; latency = "
                        "worker's RUNNING stamp (TaskRunner, epoch us, just before the "
                        "processor starts) - time RemoteWorkerLink::dispatch passed the task to "
                        "the connection (same machine, same clock)")
             .arg(kWorkers)
             .arg(ctx.options.workerThreads)
             .arg(ctx.options.dispatchRate)
             .arg(ctx.options.dispatchSeconds)
             .arg(kWarmupS)},
    };
    const QJsonObject line = repeat(
        ctx, QStringLiteral("dispatch_to_start"), fixed, [&](int rep) { return oneRep(ctx, rep); },
        [](QJsonObject &l) {
            const QJsonObject lat = l.value(QStringLiteral("figures"))
                                        .toObject()
                                        .value(QStringLiteral("dispatch_to_start_us"))
                                        .toObject();
            const double p50 = lat.value(QStringLiteral("p50"))
                                   .toObject()
                                   .value(QStringLiteral("median"))
                                   .toDouble(-1);
            const double p99 = lat.value(QStringLiteral("p99"))
                                   .toObject()
                                   .value(QStringLiteral("median"))
                                   .toDouble(-1);
            l.insert(QStringLiteral("target_met"),
                     QJsonObject{{QStringLiteral("p50"), p50 >= 0 && p50 <= 1000},
                                 {QStringLiteral("p99"), p99 >= 0 && p99 <= 3000}});
        });
    return !line.contains(QStringLiteral("errors"));
}

} // namespace kairos::bench
