#include "process_probe.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QHash>
#include <QList>

#include <algorithm>

#include <sys/resource.h>
#include <unistd.h>

namespace kairos::bench {
namespace {

QByteArray readProcFile(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return f.readAll(); // /proc files report size 0: readAll reads until EOF
}

qint64 statusField(const QByteArray &status, const QByteArray &name)
{
    const int at = status.indexOf("\n" + name + ":");
    if (at < 0)
        return -1;
    const int end = status.indexOf('\n', at + 1);
    const QByteArray line = status.mid(at + name.size() + 2, end - at - name.size() - 2);
    return line.trimmed().split(' ').value(0).toLongLong();
}

struct ProcStat {
    qint64 ppid = 0;
    qint64 cpuTicks = 0;
};

// /proc/PID/stat: the command may contain spaces and parentheses, so parse after the last ')'.
bool readStat(qint64 pid, ProcStat *out)
{
    const QByteArray stat = readProcFile(QStringLiteral("/proc/%1/stat").arg(pid));
    const int close = stat.lastIndexOf(')');
    if (close < 0)
        return false;
    const QList<QByteArray> f = stat.mid(close + 2).split(' ');
    // After the command: state(0) ppid(1) ... utime(11) stime(12).
    if (f.size() < 13)
        return false;
    out->ppid = f.at(1).toLongLong();
    out->cpuTicks = f.at(11).toLongLong() + f.at(12).toLongLong();
    return true;
}

} // namespace

MemoryKb memoryOf(qint64 pid)
{
    const QByteArray status = readProcFile(pid ? QStringLiteral("/proc/%1/status").arg(pid)
                                               : QStringLiteral("/proc/self/status"));
    return MemoryKb{statusField(status, "VmRSS"), statusField(status, "VmHWM")};
}

qint64 pssKbOf(qint64 pid)
{
    // The first line names the mapping range; "Pss:" follows on a line of its own.
    return statusField(readProcFile(QStringLiteral("/proc/%1/smaps_rollup").arg(pid)), "Pss");
}

bool resetPeakRss()
{
    QFile f(QStringLiteral("/proc/self/clear_refs"));
    if (!f.open(QIODevice::WriteOnly))
        return false;
    return f.write("5") == 1;
}

qint64 selfCpuUs()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto us = [](const timeval &t) { return qint64(t.tv_sec) * 1000000 + t.tv_usec; };
    return us(usage.ru_utime) + us(usage.ru_stime);
}

QHash<QString, qint64> threadCpuUs()
{
    return threadCpuUsOf(0);
}

QHash<QString, qint64> threadCpuUsOf(qint64 pid)
{
    QHash<QString, qint64> out;
    const QString base =
        pid > 0 ? QStringLiteral("/proc/%1/task").arg(pid) : QStringLiteral("/proc/self/task");
    const QStringList tids = QDir(base).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &tid : tids) {
        const QByteArray stat = readProcFile(base + u'/' + tid + QStringLiteral("/stat"));
        const int open = stat.indexOf('(');
        const int close = stat.lastIndexOf(')');
        if (open < 0 || close < open)
            continue;
        const QString name = QString::fromUtf8(stat.mid(open + 1, close - open - 1));
        const QList<QByteArray> f = stat.mid(close + 2).split(' ');
        if (f.size() < 13)
            continue;
        out[name] +=
            (f.at(11).toLongLong() + f.at(12).toLongLong()) * 1000000 / sysconf(_SC_CLK_TCK);
    }
    return out;
}

qint64 treeCpuUs(qint64 pid)
{
    if (pid <= 0)
        return 0;
    QHash<qint64, ProcStat> all;
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &e : entries) {
        bool ok = false;
        const qint64 p = e.toLongLong(&ok);
        ProcStat st;
        if (ok && readStat(p, &st))
            all.insert(p, st);
    }
    qint64 ticks = 0;
    for (auto it = all.cbegin(); it != all.cend(); ++it) {
        // Walk up to see whether `pid` is an ancestor (trees here are two levels deep).
        qint64 p = it.key();
        for (int depth = 0; depth < 16 && p > 1; ++depth) {
            if (p == pid) {
                ticks += it->cpuTicks;
                break;
            }
            p = all.value(p).ppid;
        }
    }
    return ticks * 1000000 / sysconf(_SC_CLK_TCK);
}

qint64 hostBusyUs()
{
    const QByteArray stat = readProcFile(QStringLiteral("/proc/stat"));
    const QList<QByteArray> f = stat.left(stat.indexOf('\n')).simplified().split(' ');
    if (f.size() < 9)
        return 0;
    // cpu user nice system idle iowait irq softirq steal
    const qint64 busy = f.at(1).toLongLong() + f.at(2).toLongLong() + f.at(3).toLongLong()
                        + f.at(6).toLongLong() + f.at(7).toLongLong() + f.at(8).toLongLong();
    return busy * 1000000 / sysconf(_SC_CLK_TCK);
}

double foreignCores(qint64 hostBusyDeltaUs, qint64 ownCpuDeltaUs, qint64 wallUs)
{
    if (wallUs <= 0)
        return 0;
    return std::max(0.0, double(hostBusyDeltaUs - ownCpuDeltaUs) / double(wallUs));
}

} // namespace kairos::bench
