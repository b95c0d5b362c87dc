#include "reporter.h"

#include "process_probe.h"

#include <QDateTime>
#include <QDeadlineTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QTextStream>
#include <QThread>

#include <cstdio>

namespace kairos::bench {
namespace {

QString readFirstMatch(const QString &path, const QString &prefix)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    // /proc files report size 0, so read to EOF rather than testing atEnd().
    const QList<QByteArray> lines = f.readAll().split('\n');
    for (const QByteArray &raw : lines) {
        const QString line = QString::fromUtf8(raw);
        if (line.startsWith(prefix))
            return line.section(u':', 1).trimmed();
    }
    return {};
}

QJsonArray loadAverage()
{
    QFile f(QStringLiteral("/proc/loadavg"));
    QJsonArray out;
    if (!f.open(QIODevice::ReadOnly))
        return out;
    const QList<QByteArray> parts = f.readAll().split(' ');
    for (int i = 0; i < 3 && i < parts.size(); ++i)
        out << parts.at(i).toDouble();
    return out;
}

QString runGit(const QStringList &args)
{
    QProcess git;
    // Read-only: --no-optional-locks keeps `git status` from rewriting the index.
    git.start(QStringLiteral("git"),
              QStringList{QStringLiteral("--no-optional-locks"), QStringLiteral("-C"),
                          QStringLiteral(KAIROS_BENCH_SOURCE_DIR)}
                  + args);
    if (!git.waitForFinished(10000) || git.exitCode() != 0)
        return {};
    return QString::fromUtf8(git.readAllStandardOutput()).trimmed();
}

} // namespace

Reporter::Reporter(const QString &outFile)
    : m_out(outFile)
    , m_machine(machine())
    , m_git(git())
{
    if (!outFile.isEmpty() && !m_out.open(QIODevice::Append | QIODevice::Text))
        progress(QStringLiteral("cannot open --out %1: %2").arg(outFile, m_out.errorString()));
}

QJsonObject Reporter::machine()
{
    const QString memKb =
        readFirstMatch(QStringLiteral("/proc/meminfo"), QStringLiteral("MemTotal"));
    return QJsonObject{
        {QStringLiteral("nproc"), QThread::idealThreadCount()},
        {QStringLiteral("cpu"),
         readFirstMatch(QStringLiteral("/proc/cpuinfo"), QStringLiteral("model name"))},
        {QStringLiteral("mem_gb"), qRound(memKb.section(u' ', 0, 0).toDouble() / 1024 / 1024)},
    };
}

QJsonObject Reporter::git()
{
    const QString commit = runGit({QStringLiteral("rev-parse"), QStringLiteral("HEAD")});
    const QString changes = runGit({QStringLiteral("status"), QStringLiteral("--porcelain"),
                                    QStringLiteral("--untracked-files=no")});
    return QJsonObject{
        {QStringLiteral("commit"), commit.isEmpty() ? QStringLiteral("unknown") : commit},
        // Uncommitted edits to tracked files: the figures are of the working tree, not commit.
        {QStringLiteral("dirty"), !changes.isEmpty()},
    };
}

QJsonObject Reporter::header(const QString &bench, const QString &store) const
{
    QJsonObject machine = m_machine;
    machine.insert(QStringLiteral("loadavg"), loadAverage());
    return QJsonObject{
        {QStringLiteral("bench"), bench},
        {QStringLiteral("store"), store},
        {QStringLiteral("machine"), machine},
        {QStringLiteral("git"), m_git},
        {QStringLiteral("timestamp"), QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs)},
    };
}

void Reporter::emitLine(const QJsonObject &line)
{
    const QByteArray json = QJsonDocument(line).toJson(QJsonDocument::Compact) + '\n';
    fwrite(json.constData(), 1, size_t(json.size()), stdout);
    fflush(stdout);
    if (m_out.isOpen()) {
        m_out.write(json);
        m_out.flush();
    }
}

void Reporter::progress(const QString &text)
{
    QTextStream(stderr) << QDateTime::currentDateTime().toString(QStringLiteral("HH:mm:ss"))
                        << " kairos-bench: " << text << Qt::endl;
}

double Reporter::waitQuiet(double cores, int maxS)
{
    if (maxS <= 0)
        return -1;
    QDeadlineTimer deadline(qint64(maxS) * 1000);
    bool told = false;
    while (true) {
        const qint64 host0 = hostBusyUs();
        const qint64 self0 = selfCpuUs();
        QThread::msleep(2000); // sampling window, not a wait for a result
        const double busy = foreignCores(hostBusyUs() - host0, selfCpuUs() - self0, 2000000);
        if (busy < cores || deadline.hasExpired()) {
            if (busy >= cores)
                progress(QStringLiteral("machine still busy (%1 cores used by others); running "
                                        "anyway")
                             .arg(busy, 0, 'f', 2));
            else if (told)
                progress(QStringLiteral("machine quiet (%1 cores)").arg(busy, 0, 'f', 2));
            return busy;
        }
        if (!told)
            progress(QStringLiteral("waiting for a quiet machine: %1 cores used by others")
                         .arg(busy, 0, 'f', 2));
        told = true;
    }
}

} // namespace kairos::bench
