// Shared pieces of the benchmarks that drive a real kairosd with real kairos-worker processes.
#include "bench_cluster.h"

#include "child_process.h"

#include <core/clock.h>

#include <QDir>
#include <QJsonArray>

namespace kairos::bench {

// Polls instance.get until the instance is terminal.
Result<Terminal> waitTerminal(AdminSession &admin, qint64 id, int timeoutMs, int pollMs)
{
    const qint64 deadline = nowMs() + timeoutMs;
    Terminal t;
    while (nowMs() < deadline) {
        const qint64 sent = nowUs();
        auto reply = admin.call(QStringLiteral("instance.get"), {{QStringLiteral("id"), id}});
        if (!reply)
            return makeError(reply.error());
        const QJsonObject inst = reply->value(QStringLiteral("instance")).toObject();
        const QString status = inst.value(QStringLiteral("status")).toString();
        if (status == QLatin1String("SUCCEEDED") || status == QLatin1String("FAILED")
            || status == QLatin1String("TIMED_OUT") || status == QLatin1String("CANCELED")
            || status == QLatin1String("SKIPPED")) {
            t.instance = inst;
            t.seenUs = nowUs();
            if (t.lastBusyUs == 0)
                t.lastBusyUs = sent;
            return t;
        }
        t.lastBusyUs = sent;
        if (pollMs > 0)
            pumpFor(pollMs);
    }
    return makeError(QStringLiteral("instance %1 did not end within %2 ms").arg(id).arg(timeoutMs));
}

Result<qint64> createJob(AdminSession &admin, const QJsonObject &job)
{
    auto created = admin.call(QStringLiteral("job.create"), {{QStringLiteral("job"), job}});
    if (!created)
        return makeError(created.error());
    return created->value(QStringLiteral("id")).toInteger();
}

Result<qint64> runOnce(AdminSession &admin, qint64 jobId)
{
    auto run = admin.call(QStringLiteral("job.run"), {{QStringLiteral("id"), jobId}});
    if (!run)
        return makeError(run.error());
    const QJsonArray ids = run->value(QStringLiteral("instanceIds")).toArray();
    if (ids.size() != 1)
        return makeError(QStringLiteral("job.run returned %1 ids").arg(ids.size()));
    return ids.first().toInteger();
}

Status startCluster(Cluster &c, const QString &dataDir, const QString &url, int count, int threads)
{
    c.server = std::make_unique<KairosdChild>(dataDir);
    if (Status s = c.server->start(url, {QStringLiteral("--no-local-worker")}); !s.ok())
        return s;
    c.admin = std::make_unique<AdminSession>(c.server->port(), c.server->adminPassword());
    if (Status s = c.admin->open(); !s.ok())
        return s;
    for (int i = 1; i <= count; ++i) {
        const QString id = QStringLiteral("bench-w%1").arg(i);
        c.workers.push_back(std::make_unique<ChildProcess>(QStringLiteral("worker ") + id));
        if (Status s = startWorker(*c.workers.back(), id, c.server->port(), c.server->secretFile(),
                                   QDir(dataDir).filePath(id), threads);
            !s.ok())
            return s;
    }
    auto states = c.admin->workerStates();
    if (!states)
        return makeError(states.error());
    if (states->value(QStringLiteral("ALIVE")) != count)
        return makeError(QStringLiteral("worker.list shows %1 ALIVE workers, expected %2")
                             .arg(states->value(QStringLiteral("ALIVE")))
                             .arg(count));
    return {};
}

void stopCluster(Cluster &c)
{
    for (const auto &w : c.workers)
        w->stop();
    c.admin.reset();
    if (c.server)
        c.server->stop();
}

} // namespace kairos::bench
