// peers: the reference job queues of /work/shared/peers (README there). peerBestFromResults()
// only READS their recorded results (results/*.jsonl, medians per peer and variant, runs
// disturbed by other processes left out as the peers' summarize.py does). runPeers() runs
// run-bullmq.sh and run-graphile.sh once each with SIZES=100000 in this run, so a ratio can be
// "measured in the same run".
#include "stats.h"
#include "workloads.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QMap>
#include <QProcess>
#include <QProcessEnvironment>

namespace kairos::bench {
namespace {

const QString kPeersDir = QStringLiteral("/work/shared/peers");
constexpr double kMaxForeignCores = 0.15; // the peers' own threshold for a disturbed run

QJsonObject lastJsonLine(const QByteArray &output)
{
    const QList<QByteArray> lines = output.split('\n');
    for (auto it = lines.crbegin(); it != lines.crend(); ++it) {
        const QJsonDocument doc = QJsonDocument::fromJson(it->trimmed());
        if (doc.isObject())
            return doc.object();
    }
    return {};
}

} // namespace

QJsonObject peerBestFromResults(int n)
{
    const QString key = QStringLiteral("tp_%1").arg(n);
    QMap<QString, QList<double>> rates; // "peer/variant" -> e2e rates
    const QDir dir(kPeersDir + QStringLiteral("/results"));
    for (const QString &name : dir.entryList({QStringLiteral("*.jsonl")}, QDir::Files)) {
        QFile f(dir.filePath(name));
        if (!f.open(QIODevice::ReadOnly))
            continue;
        for (const QByteArray &raw : f.readAll().split('\n')) {
            const QJsonObject o = QJsonDocument::fromJson(raw).object();
            if (o.isEmpty() || o.contains(QStringLiteral("errors")))
                continue;
            const double foreign = o.value(QStringLiteral("host"))
                                       .toObject()
                                       .value(QStringLiteral("foreign_cores"))
                                       .toDouble();
            if (foreign > kMaxForeignCores)
                continue;
            const double rate =
                o.value(key).toObject().value(QStringLiteral("e2e_rate")).toDouble();
            if (rate <= 0)
                continue;
            rates[o.value(QStringLiteral("peer")).toString() + u'/'
                  + o.value(QStringLiteral("variant")).toString(QStringLiteral("main"))]
                << rate;
        }
    }
    QString best;
    double bestRate = 0;
    for (auto it = rates.cbegin(); it != rates.cend(); ++it) {
        const double m = median(it.value());
        if (m > bestRate) {
            bestRate = m;
            best = it.key();
        }
    }
    if (best.isEmpty())
        return QJsonObject{{QStringLiteral("source"),
                            QStringLiteral("no %1 results in %2/results").arg(key, kPeersDir)}};
    return QJsonObject{
        {QStringLiteral("peer"), best.section(u'/', 0, 0)},
        {QStringLiteral("variant"), best.section(u'/', 1)},
        {QStringLiteral("e2e_rate"), qRound(bestRate)},
        {QStringLiteral("reps"), int(rates.value(best).size())},
        {QStringLiteral("source"),
         QStringLiteral("read from %1/results/*.jsonl (median of recorded runs, not re-run)")
             .arg(kPeersDir)},
    };
}

void addPeerRatios(const WorkloadContext &ctx, int n, QJsonObject &line)
{
    const double mine = line.value(QStringLiteral("figures"))
                            .toObject()
                            .value(QStringLiteral("e2e_rate"))
                            .toObject()
                            .value(QStringLiteral("median"))
                            .toDouble();
    const QJsonObject best = peerBestFromResults(n);
    const double peer = best.value(QStringLiteral("e2e_rate")).toDouble();
    if (peer > 0 && mine > 0)
        line.insert(QStringLiteral("ratio_vs_peer_best"), rounded(mine / peer, 2));
    line.insert(QStringLiteral("peer_best"), best);
    // The peers' scripts run with SIZES=100000: only that size compares in the same run.
    if (!ctx.peersSameRun.isEmpty() && n == 100000) {
        double bestSame = 0;
        for (auto it = ctx.peersSameRun.begin(); it != ctx.peersSameRun.end(); ++it)
            bestSame = std::max(bestSame, it.value().toDouble());
        if (bestSame > 0 && mine > 0)
            line.insert(QStringLiteral("ratio_vs_peer_same_run"), rounded(mine / bestSame, 2));
        line.insert(QStringLiteral("peers_same_run_e2e_rate"), ctx.peersSameRun);
    }
}

QJsonObject runPeers(WorkloadContext &ctx, bool *ok)
{
    *ok = true;
    QJsonObject sameRun;
    const QList<QPair<QString, QString>> peers{
        {QStringLiteral("bullmq"), QStringLiteral("redis")},
        {QStringLiteral("graphile-worker"), QStringLiteral("postgres")}};
    for (const auto &[peer, server] : peers) {
        const QString script = peer == QLatin1String("bullmq") ? QStringLiteral("run-bullmq.sh")
                                                               : QStringLiteral("run-graphile.sh");
        Reporter::progress(QStringLiteral("peers: %1 (SIZES=100000; takes minutes)").arg(script));
        QProcess proc;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("SIZES"), QStringLiteral("100000"));
        env.insert(QStringLiteral("QUIET_MAX_S"),
                   QString::number(std::max(ctx.options.quietMaxS, 1)));
        proc.setProcessEnvironment(env);
        proc.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        proc.start(QStringLiteral("bash"), {kPeersDir + u'/' + script});
        QJsonObject line = ctx.reporter.header(QStringLiteral("peers"), server);
        line.insert(QStringLiteral("peer"), peer);
        line.insert(
            QStringLiteral("command"),
            QStringLiteral("SIZES=100000 %1/%2 (run once, in this run)").arg(kPeersDir, script));
        if (!proc.waitForFinished(45 * 60 * 1000) || proc.exitCode() != 0) {
            proc.kill();
            proc.waitForFinished(5000);
            line.insert(
                QStringLiteral("errors"),
                QJsonArray{QStringLiteral("%1 failed (exit %2)").arg(script).arg(proc.exitCode())});
            ctx.reporter.emitLine(line);
            *ok = false;
            continue;
        }
        const QJsonObject raw = lastJsonLine(proc.readAllStandardOutput());
        const QJsonObject tp = raw.value(QStringLiteral("tp_100000")).toObject();
        const double rate = tp.value(QStringLiteral("e2e_rate")).toDouble();
        if (rate <= 0) {
            line.insert(QStringLiteral("errors"),
                        QJsonArray{QStringLiteral("%1 printed no tp_100000 e2e_rate").arg(script)});
            *ok = false;
        } else {
            sameRun.insert(peer, rate);
        }
        QJsonObject figures{
            {QStringLiteral("e2e_rate"), rate},
            {QStringLiteral("enqueue_rate"), tp.value(QStringLiteral("enqueue_rate"))},
            {QStringLiteral("latency_ms"),
             raw.value(QStringLiteral("latency")).toObject().value(QStringLiteral("ms"))},
            {QStringLiteral("sched_lateness_ms"),
             raw.value(QStringLiteral("sched")).toObject().value(QStringLiteral("lateness_ms"))},
            {QStringLiteral("foreign_cores"),
             raw.value(QStringLiteral("host")).toObject().value(QStringLiteral("foreign_cores"))},
        };
        line.insert(QStringLiteral("figures"), figures);
        line.insert(QStringLiteral("raw"), raw);
        ctx.reporter.emitLine(line);
    }
    return sameRun;
}

} // namespace kairos::bench
