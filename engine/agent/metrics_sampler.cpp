#include "metrics_sampler.h"

#include <QFile>
#include <QStorageInfo>
#include <QThread>

namespace kairos::agent {

namespace {

QByteArray readSmallFile(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    // /proc files report size 0: read up to a bound instead of readAll() on a size hint.
    return f.read(64 * 1024);
}

} // namespace

MetricsSampler::MetricsSampler(QString workDir, QString procDir)
    : m_workDir(std::move(workDir))
    , m_procDir(std::move(procDir))
    , m_cpus(std::max(0, QThread::idealThreadCount()))
{}

WorkerMetrics MetricsSampler::sample(int running, int queued) const
{
    WorkerMetrics m;
    m.load1 = parseLoadAverage(readSmallFile(m_procDir + QStringLiteral("/loadavg")));
    m.cpus = m_cpus;
    const auto [available, total] =
        parseMemInfo(readSmallFile(m_procDir + QStringLiteral("/meminfo")));
    m.memFreeMb = available;
    m.memTotalMb = total;
    const QStorageInfo storage(m_workDir);
    if (storage.isValid())
        m.diskFreeMb = storage.bytesAvailable() / (1024 * 1024);
    m.running = running;
    m.queued = queued;
    return m;
}

double MetricsSampler::parseLoadAverage(const QByteArray &loadavg)
{
    // "0.42 0.30 0.25 1/123 4567"
    const qsizetype space = loadavg.indexOf(' ');
    bool ok = false;
    const double v = loadavg.left(space < 0 ? loadavg.size() : space).trimmed().toDouble(&ok);
    return ok && v >= 0 ? v : 0;
}

std::pair<qint64, qint64> MetricsSampler::parseMemInfo(const QByteArray &meminfo)
{
    // "MemTotal:       16318412 kB\nMemFree: ...\nMemAvailable:   9876543 kB\n"
    qint64 availableKb = 0;
    qint64 totalKb = 0;
    for (const QByteArray &line : meminfo.split('\n')) {
        qint64 *target = nullptr;
        if (line.startsWith("MemTotal:"))
            target = &totalKb;
        else if (line.startsWith("MemAvailable:"))
            target = &availableKb;
        else
            continue;
        const QByteArray value = line.mid(line.indexOf(':') + 1).trimmed();
        const qsizetype space = value.indexOf(' ');
        bool ok = false;
        const qint64 kb = value.left(space < 0 ? value.size() : space).toLongLong(&ok);
        if (ok && kb >= 0)
            *target = kb;
    }
    return {availableKb / 1024, totalKb / 1024};
}

} // namespace kairos::agent
