#pragma once
// MetricsSampler: the health figures a worker sends with each heartbeat (docs/protocol.md 12.1
// METRICS): the 1-minute load average and memory from /proc, the CPU count, and the free space
// of the disk holding the work folder. Each sample reads two small /proc files and does one
// statvfs, so sampling once per heartbeat costs microseconds. On a system without /proc the
// figures stay 0, which the server's health score reads as "unknown".
//
// Not thread-safe: use one sampler from one thread (the agent's).

#include <core/worker_info.h>

#include <QString>

namespace kairos::agent {

class MetricsSampler {
public:
    // `procDir` is where loadavg and meminfo are read (tests point it at a fake folder).
    explicit MetricsSampler(QString workDir, QString procDir = QStringLiteral("/proc"));

    // Current metrics; `running` and `queued` come from the task runner.
    WorkerMetrics sample(int running, int queued) const;

    // Parsers of the /proc formats; 0 when the text does not parse.
    static double parseLoadAverage(const QByteArray &loadavg);
    // {MemAvailable, MemTotal} in MB.
    static std::pair<qint64, qint64> parseMemInfo(const QByteArray &meminfo);

private:
    QString m_workDir;
    QString m_procDir;
    int m_cpus = 0;
};

} // namespace kairos::agent
