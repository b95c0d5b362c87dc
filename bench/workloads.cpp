#include "workloads.h"

#include "process_probe.h"
#include "stats.h"

#include <core/clock.h>

#include <QJsonArray>

namespace kairos::bench {

QJsonObject repeat(WorkloadContext &ctx, const QString &bench, const QJsonObject &fixed,
                   const RepFn &rep, const std::function<void(QJsonObject &line)> &finish)
{
    const QString store = ctx.store ? ctx.store->kind() : QStringLiteral("none");
    QJsonObject line = ctx.reporter.header(bench, store);
    for (auto it = fixed.begin(); it != fixed.end(); ++it)
        line.insert(it.key(), it.value());
    QList<QJsonObject> reps;
    QJsonArray perRep;
    QJsonArray errors;
    for (int i = 1; i <= ctx.options.reps; ++i) {
        Reporter::waitQuiet(ctx.options.quietCores, ctx.options.quietMaxS);
        Reporter::progress(QStringLiteral("%1 [%2] repetition %3/%4")
                               .arg(bench, store)
                               .arg(i)
                               .arg(ctx.options.reps));
        auto result = rep(i);
        if (!result) {
            Reporter::progress(QStringLiteral("%1 [%2] repetition %3 failed: %4")
                                   .arg(bench, store)
                                   .arg(i)
                                   .arg(result.error()));
            errors << QStringLiteral("rep %1: %2").arg(i).arg(result.error());
            continue;
        }
        reps << *result;
        perRep << *result;
    }
    line.insert(QStringLiteral("reps"), int(reps.size()));
    line.insert(QStringLiteral("figures"), combineRepetitions(reps));
    line.insert(QStringLiteral("per_rep"), perRep);
    if (!errors.isEmpty())
        line.insert(QStringLiteral("errors"), errors);
    if (finish)
        finish(line);
    ctx.reporter.emitLine(line);
    return line;
}

ResourceMeter::ResourceMeter(qint64 serverPid)
    : m_serverPid(serverPid)
{}

void ResourceMeter::start()
{
    m_wall0 = nowUs();
    m_self0 = selfCpuUs();
    m_server0 = treeCpuUs(m_serverPid);
    m_host0 = hostBusyUs();
    m_threads0 = threadCpuUs();
}

QJsonObject ResourceMeter::stop(qint64 perItems)
{
    const qint64 wall = nowUs() - m_wall0;
    const qint64 self = selfCpuUs() - m_self0;
    const qint64 server = m_serverPid ? treeCpuUs(m_serverPid) - m_server0 : 0;
    const qint64 host = hostBusyUs() - m_host0;
    QJsonObject out{
        {QStringLiteral("wall_s"), rounded(double(wall) / 1e6, 3)},
        {QStringLiteral("cpu_ms"), rounded(double(self) / 1e3, 1)},
        {QStringLiteral("server_cpu_ms"), rounded(double(server) / 1e3, 1)},
        {QStringLiteral("foreign_cores"), rounded(foreignCores(host, self + server, wall), 3)},
    };
    if (perItems > 0) {
        const double n = double(perItems);
        out.insert(QStringLiteral("cpu_ms_per_instance"), rounded(double(self) / 1e3 / n, 4));
        out.insert(QStringLiteral("server_cpu_ms_per_instance"),
                   rounded(double(server) / 1e3 / n, 4));
        out.insert(QStringLiteral("total_cpu_ms_per_instance"),
                   rounded(double(self + server) / 1e3 / n, 4));
        const QHash<QString, qint64> threads = threadCpuUs();
        QJsonObject byThread;
        for (auto it = threads.cbegin(); it != threads.cend(); ++it) {
            const qint64 used = it.value() - m_threads0.value(it.key());
            if (used <= 0)
                continue;
            QString name = it.key();
            if (name == QLatin1String("kairos-bench"))
                name = QStringLiteral("engine");
            else if (name == QLatin1String("kairos-store"))
                name = QStringLiteral("store");
            else if (name.startsWith(QLatin1String("kairos-local")))
                name = QStringLiteral("worker");
            byThread.insert(name, rounded(double(used) / n, 2));
        }
        if (server > 0)
            byThread.insert(QStringLiteral("postgres"), rounded(double(server) / n, 2));
        out.insert(QStringLiteral("cpu_us_per_instance_by_thread"), byThread);
    }
    return out;
}

} // namespace kairos::bench
