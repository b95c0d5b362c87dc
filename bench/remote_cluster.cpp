#include "remote_cluster.h"

#include "process_probe.h"
#include "stats.h"

#include <core/clock.h>

#include <QCoreApplication>
#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QPointer>
#include <QTimer>

namespace kairos::bench {

QString siblingProgram(const QString &name)
{
    return QDir(QCoreApplication::applicationDirPath()).filePath(name);
}

QString readTrimmed(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(f.readAll()).trimmed();
}

// --- kairosd ----------------------------------------------------------------------------------

KairosdChild::KairosdChild(QString dataDir)
    : m_dataDir(std::move(dataDir))
{}

Status KairosdChild::start(const QString &dbUrl, const QStringList &extraArgs, int timeoutMs)
{
    QDir().mkpath(m_dataDir);
    QStringList args{QStringLiteral("--data"), m_dataDir, QStringLiteral("--listen"),
                     QStringLiteral("127.0.0.1:0")};
    if (!dbUrl.isEmpty())
        args << QStringLiteral("--db") << dbUrl;
    args << extraArgs;
    if (Status s = m_proc.start(siblingProgram(QStringLiteral("kairosd")), args,
                                QDir(m_dataDir).filePath(QStringLiteral("kairosd.stderr")));
        !s.ok())
        return s;
    if (Status s = m_proc.waitForOutput(QStringLiteral("listening on"), timeoutMs); !s.ok())
        return s;
    // "kairosd ID listening on 127.0.0.1:PORT"
    const QString out = m_proc.output();
    const QString line = out.mid(out.indexOf(QStringLiteral("listening on"))).section(u'\n', 0, 0);
    bool ok = false;
    m_port = quint16(line.section(u':', -1).trimmed().toUInt(&ok));
    if (!ok || m_port == 0)
        return makeError(QStringLiteral("kairosd: no port in its listening line \"%1\"").arg(line));
    return {};
}

QString KairosdChild::adminPassword() const
{
    return readTrimmed(QDir(m_dataDir).filePath(QStringLiteral("admin.password")));
}

QString KairosdChild::secretFile() const
{
    return QDir(m_dataDir).filePath(QStringLiteral("apps/default.secret"));
}

// --- kairos-worker ----------------------------------------------------------------------------

Status startWorker(ChildProcess &proc, const QString &id, quint16 serverPort,
                   const QString &secretFile, const QString &workDir, int threads, int timeoutMs)
{
    QDir().mkpath(workDir);
    QStringList args{
        QStringLiteral("--server"),      QStringLiteral("127.0.0.1:%1").arg(serverPort),
        QStringLiteral("--app"),         QStringLiteral("default"),
        QStringLiteral("--secret-file"), secretFile,
        QStringLiteral("--id"),          id,
        QStringLiteral("--work-dir"),    workDir};
    if (threads > 0)
        args << QStringLiteral("--threads") << QString::number(threads);
    if (Status s = proc.start(siblingProgram(QStringLiteral("kairos-worker")), args,
                              QDir(workDir).filePath(QStringLiteral("worker.stderr")));
        !s.ok())
        return s;
    return proc.waitForOutput(QStringLiteral(" registered with "), timeoutMs);
}

// --- administrator session --------------------------------------------------------------------

AdminSession::AdminSession(quint16 port, const QString &password)
{
    client::RemoteEndpoint endpoint;
    endpoint.host = QStringLiteral("127.0.0.1");
    endpoint.port = port;
    endpoint.password = password;
    m_client = std::make_unique<client::RemoteClient>(endpoint);
}

AdminSession::~AdminSession()
{
    m_client->close();
}

Status AdminSession::open(int timeoutMs)
{
    m_client->open(false);
    const bool up = pumpUntil(
        [&] {
            return m_client->linkState() == client::Client::LinkState::Connected
                   || (m_client->linkState() == client::Client::LinkState::Disconnected
                       && !m_client->lastError().isEmpty());
        },
        timeoutMs, 5);
    if (up && m_client->linkState() == client::Client::LinkState::Connected)
        return {};
    return makeError(QStringLiteral("admin login to %1 failed: %2")
                         .arg(m_client->endpoint(), m_client->lastError().isEmpty()
                                                        ? QStringLiteral("timed out")
                                                        : m_client->lastError()));
}

Result<QJsonObject> AdminSession::call(const QString &method, const QJsonObject &params,
                                       int timeoutMs)
{
    // The reply quits the loop at once: polling would add its interval to every call.
    auto result = std::make_shared<std::optional<Result<QJsonObject>>>();
    QEventLoop loop;
    QPointer<QEventLoop> guard(&loop);
    m_client->call(method, params, m_client.get(), [result, guard](Result<QJsonObject> r) {
        result->emplace(std::move(r));
        if (guard)
            guard->quit();
    });
    if (!result->has_value()) {
        QTimer deadline;
        deadline.setSingleShot(true);
        QObject::connect(&deadline, &QTimer::timeout, &loop, &QEventLoop::quit);
        deadline.start(timeoutMs);
        loop.exec();
    }
    if (!result->has_value())
        return makeError(QStringLiteral("%1: no reply within %2 ms").arg(method).arg(timeoutMs));
    if (!(*result)->ok())
        return makeError(QStringLiteral("%1: %2").arg(method, (*result)->error()));
    return (*result)->value();
}

Result<QHash<QString, int>> AdminSession::workerStates()
{
    auto listed = call(QStringLiteral("worker.list"));
    if (!listed)
        return makeError(listed.error());
    QHash<QString, int> states;
    for (const QJsonValue &w : listed->value(QStringLiteral("workers")).toArray())
        ++states[w.toObject().value(QStringLiteral("state")).toString()];
    return states;
}

// --- CPU split --------------------------------------------------------------------------------

void ProcessMeter::add(const QString &name, qint64 pid)
{
    if (pid > 0)
        m_procs.append(Proc{name, pid, 0});
}

void ProcessMeter::start()
{
    m_wall0 = nowUs();
    m_self0 = selfCpuUs();
    m_host0 = hostBusyUs();
    for (Proc &p : m_procs)
        p.cpu0 = treeCpuUs(p.pid);
}

QJsonObject ProcessMeter::stop(qint64 perItems)
{
    const qint64 wall = nowUs() - m_wall0;
    const qint64 self = selfCpuUs() - m_self0;
    const qint64 host = hostBusyUs() - m_host0;
    QHash<QString, qint64> used{{QStringLiteral("bench"), self}};
    qint64 own = self;
    for (const Proc &p : m_procs) {
        const qint64 cpu = std::max<qint64>(0, treeCpuUs(p.pid) - p.cpu0);
        used[p.name] += cpu;
        own += cpu;
    }
    QJsonObject cpuMs, pct, perItem;
    for (auto it = used.cbegin(); it != used.cend(); ++it) {
        cpuMs.insert(it.key(), rounded(double(it.value()) / 1e3, 1));
        pct.insert(it.key(), rounded(wall > 0 ? 100.0 * double(it.value()) / double(wall) : 0, 2));
        if (perItems > 0)
            perItem.insert(it.key(), rounded(double(it.value()) / double(perItems), 2));
    }
    QJsonObject out{
        {QStringLiteral("wall_s"), rounded(double(wall) / 1e6, 3)},
        {QStringLiteral("cpu_ms"), cpuMs},
        {QStringLiteral("cpu_pct_of_core"), pct},
        {QStringLiteral("foreign_cores"), rounded(foreignCores(host, own, wall), 3)},
    };
    if (perItems > 0) {
        perItem.insert(QStringLiteral("total"), rounded(double(own) / double(perItems), 2));
        out.insert(QStringLiteral("cpu_us_per_instance"), perItem);
    }
    return out;
}

} // namespace kairos::bench
