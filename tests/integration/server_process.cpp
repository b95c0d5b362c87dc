#include "server_process.h"

#include <support/postgres_fixture.h>

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QRegularExpression>
#include <QTimer>

#include <cerrno>
#include <csignal>
#include <sys/types.h>

namespace kairos::test {

static QString binDir()
{
    const QByteArray env = qgetenv("KAIROS_BIN_DIR");
    return env.isEmpty() ? QStringLiteral(KAIROS_BIN_DIR) : QString::fromLocal8Bit(env);
}

bool waitUntil(const std::function<bool()> &pred, int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (!pred()) {
        if (deadline.hasExpired())
            return pred();
        QEventLoop loop;
        QTimer::singleShot(5, &loop, &QEventLoop::quit);
        loop.exec();
    }
    return true;
}

bool processExists(qint64 pid)
{
    if (pid <= 0)
        return false;
    // A zombie still has /proc/<pid>; its state letter is Z.
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return false;
    const QByteArray text = stat.readAll();
    const int close = text.lastIndexOf(')');
    return close > 0 && text.size() > close + 2 && text.at(close + 2) != 'Z';
}

bool processGroupExists(qint64 pgid)
{
    if (pgid <= 1)
        return false;
    // Scan /proc rather than kill(-pgid, 0): a member that already died but was not reaped yet
    // (a zombie, e.g. the launcher of a frozen worker) must not count as running.
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &entry : entries) {
        bool isPid = false;
        entry.toLongLong(&isPid);
        if (!isPid)
            continue;
        QFile stat(QStringLiteral("/proc/%1/stat").arg(entry));
        if (!stat.open(QIODevice::ReadOnly))
            continue;
        const QByteArray text = stat.readAll();
        const int close = text.lastIndexOf(')');
        if (close < 0)
            continue;
        // After "comm)": state ppid pgrp ...
        const QList<QByteArray> fields = text.mid(close + 2).split(' ');
        if (fields.size() > 2 && fields[2].toLongLong() == pgid && fields[0] != "Z")
            return true;
    }
    return false;
}

QStringList readLines(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QStringList out;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (!line.isEmpty())
            out << QString::fromUtf8(line);
    }
    return out;
}

bool isTerminalStatus(const QString &s)
{
    static const QStringList terminal{QStringLiteral("SUCCEEDED"), QStringLiteral("FAILED"),
                                      QStringLiteral("TIMED_OUT"), QStringLiteral("CANCELED"),
                                      QStringLiteral("SKIPPED")};
    return terminal.contains(s);
}

ServerProcess::ServerProcess(QString dataDir, QStringList extraArgs)
    : m_dataDir(std::move(dataDir))
    , m_extraArgs(std::move(extraArgs))
{}

ServerProcess::~ServerProcess()
{
    if (m_process && m_process->state() != QProcess::NotRunning)
        kill9();
}

QString ServerProcess::start(int timeoutMs)
{
    m_process = std::make_unique<QProcess>();
    m_output.clear();
    m_process->setProgram(binDir() + QStringLiteral("/kairosd"));
    m_process->setArguments(QStringList{QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                                        QStringLiteral("--data"), m_dataDir}
                            + m_extraArgs);
    m_process->setProcessChannelMode(QProcess::MergedChannels);
    m_process->start();
    if (!m_process->waitForStarted(timeoutMs))
        return QStringLiteral("kairosd did not start: ") + m_process->errorString();
    static const QRegularExpression listening(QStringLiteral("listening on [^ ]+:(\\d+)"));
    const bool ok = waitUntil(
        [&] {
            m_output += QString::fromUtf8(m_process->readAll());
            const auto m = listening.match(m_output);
            if (m.hasMatch()) {
                m_port = quint16(m.captured(1).toUInt());
                return true;
            }
            return m_process->state() == QProcess::NotRunning;
        },
        timeoutMs);
    if (!ok || m_port == 0)
        return QStringLiteral("kairosd did not report its port; output:\n") + m_output;
    return {};
}

void ServerProcess::kill9()
{
    if (!m_process)
        return;
    ::kill(pid_t(m_process->processId()), SIGKILL);
    m_process->waitForFinished(10000);
    m_output += QString::fromUtf8(m_process->readAll());
}

bool ServerProcess::terminate(int timeoutMs)
{
    if (!m_process)
        return true;
    m_process->terminate();
    const bool ok = m_process->waitForFinished(timeoutMs);
    m_output += QString::fromUtf8(m_process->readAll());
    return ok && m_process->exitStatus() == QProcess::NormalExit && m_process->exitCode() == 0;
}

QString ServerProcess::readOutput()
{
    if (m_process)
        m_output += QString::fromUtf8(m_process->readAll());
    return m_output;
}

QString ServerProcess::secretFile() const
{
    return QDir(m_dataDir).filePath(QStringLiteral("apps/default.secret"));
}

WorkerProcess::WorkerProcess(QString id, quint16 serverPort, QString secretFile,
                             QStringList extraArgs)
    : m_id(std::move(id))
    , m_port(serverPort)
    , m_secretFile(std::move(secretFile))
    , m_extraArgs(std::move(extraArgs))
{}

WorkerProcess::~WorkerProcess()
{
    if (m_process && m_process->state() != QProcess::NotRunning) {
        thaw(); // a frozen process cannot be reaped after SIGKILL until it is continued
        kill9();
    }
}

QString WorkerProcess::start(bool waitForRegistration, int timeoutMs)
{
    m_process = std::make_unique<QProcess>();
    m_output.clear();
    // Scripts inherit the worker's environment: they log which worker ran them.
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("KAIROS_TEST_WORKER"), m_id);
    m_process->setProcessEnvironment(env);
    m_process->setProgram(binDir() + QStringLiteral("/kairos-worker"));
    m_process->setArguments(
        QStringList{QStringLiteral("--server"), QStringLiteral("127.0.0.1:%1").arg(m_port),
                    QStringLiteral("--app"), QStringLiteral("default"),
                    QStringLiteral("--secret-file"), m_secretFile, QStringLiteral("--id"), m_id}
        + (m_extraArgs.contains(QStringLiteral("--work-dir"))
               ? QStringList{}
               : QStringList{QStringLiteral("--work-dir"), m_workDir.path()})
        + m_extraArgs);
    m_process->setProcessChannelMode(QProcess::MergedChannels);
    m_process->start();
    if (!m_process->waitForStarted(timeoutMs))
        return QStringLiteral("kairos-worker did not start: ") + m_process->errorString();
    if (!waitForRegistration)
        return {};
    const bool ok =
        waitUntil([&] { return registrations() > 0 || m_process->state() == QProcess::NotRunning; },
                  timeoutMs);
    if (!ok || registrations() == 0)
        return QStringLiteral("kairos-worker %1 did not register; output:\n%2").arg(m_id, m_output);
    return {};
}

void WorkerProcess::kill9()
{
    if (!m_process)
        return;
    ::kill(pid_t(m_process->processId()), SIGKILL);
    m_process->waitForFinished(10000);
    readOutput();
}

void WorkerProcess::freeze()
{
    if (m_process)
        ::kill(pid_t(m_process->processId()), SIGSTOP);
}

void WorkerProcess::thaw()
{
    if (m_process)
        ::kill(pid_t(m_process->processId()), SIGCONT);
}

bool WorkerProcess::terminate(int timeoutMs)
{
    if (!m_process)
        return true;
    m_process->terminate();
    const bool ok = m_process->waitForFinished(timeoutMs);
    readOutput();
    return ok && m_process->exitStatus() == QProcess::NormalExit && m_process->exitCode() == 0;
}

bool WorkerProcess::isRunning() const
{
    return m_process && m_process->state() != QProcess::NotRunning;
}

QString WorkerProcess::readOutput()
{
    if (m_process)
        m_output += QString::fromUtf8(m_process->readAll());
    return m_output;
}

int WorkerProcess::registrations()
{
    return int(readOutput().count(QStringLiteral(" registered with ")));
}

QString ServerProcess::adminPassword() const
{
    QFile f(QDir(m_dataDir).filePath(QStringLiteral("admin.password")));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(f.readLine()).trimmed();
}

AdminSession::AdminSession(const ServerProcess &server)
{
    client::RemoteEndpoint ep;
    ep.host = QStringLiteral("127.0.0.1");
    ep.port = server.port();
    ep.user = QStringLiteral("admin");
    ep.password = server.adminPassword();
    m_client = std::make_unique<client::RemoteClient>(ep);
}

AdminSession::~AdminSession() = default;

QString AdminSession::open(int timeoutMs)
{
    m_client->open(false);
    waitUntil(
        [&] {
            return m_client->linkState() == client::Client::LinkState::Connected
                   || (m_client->linkState() == client::Client::LinkState::Disconnected
                       && !m_client->lastError().isEmpty());
        },
        timeoutMs);
    if (m_client->linkState() != client::Client::LinkState::Connected)
        return QStringLiteral("cannot connect: ") + m_client->lastError();
    return {};
}

Result<QJsonObject> AdminSession::call(const QString &method, const QJsonObject &params,
                                       int timeoutMs)
{
    std::optional<Result<QJsonObject>> result;
    QObject context;
    m_client->call(method, params, &context,
                   [&result](Result<QJsonObject> r) { result.emplace(std::move(r)); });
    if (!waitUntil([&] { return result.has_value(); }, timeoutMs))
        return makeError(QStringLiteral("no reply to %1 within %2 ms").arg(method).arg(timeoutMs));
    return *result;
}

Result<QJsonObject> AdminSession::createJob(const QJsonObject &job)
{
    return call(QStringLiteral("job.create"), QJsonObject{{QStringLiteral("job"), job}});
}

QList<qint64> AdminSession::run(qint64 jobId, int count, const QString &params)
{
    const auto r = call(QStringLiteral("job.run"), QJsonObject{{QStringLiteral("id"), jobId},
                                                               {QStringLiteral("count"), count},
                                                               {QStringLiteral("params"), params}});
    QList<qint64> ids;
    if (!r.ok())
        return ids;
    for (const QJsonValue &v : r->value(QStringLiteral("instanceIds")).toArray())
        ids << v.toInteger();
    return ids;
}

Result<QJsonObject> AdminSession::instance(qint64 id)
{
    return call(QStringLiteral("instance.get"), QJsonObject{{QStringLiteral("id"), id}});
}

QString AdminSession::status(qint64 id)
{
    const auto r = instance(id);
    if (!r.ok())
        return QStringLiteral("ERROR: ") + r.error();
    return r->value(QStringLiteral("instance"))
        .toObject()
        .value(QStringLiteral("status"))
        .toString();
}

bool AdminSession::waitForInstance(qint64 id, const std::function<bool(const QJsonObject &)> &pred,
                                   int timeoutMs)
{
    return waitUntil(
        [&] {
            const auto r = instance(id);
            return r.ok() && pred(r->value(QStringLiteral("instance")).toObject());
        },
        timeoutMs);
}

bool AdminSession::waitForTerminal(qint64 id, int timeoutMs)
{
    return waitForInstance(
        id,
        [](const QJsonObject &i) {
            return isTerminalStatus(i.value(QStringLiteral("status")).toString());
        },
        timeoutMs);
}

QList<QJsonObject> AdminSession::instancesOfJob(qint64 jobId, int limit)
{
    const auto r =
        call(QStringLiteral("instance.list"),
             QJsonObject{{QStringLiteral("jobId"), jobId}, {QStringLiteral("limit"), limit}});
    QList<QJsonObject> out;
    if (r.ok()) {
        for (const QJsonValue &v : r->value(QStringLiteral("instances")).toArray())
            out << v.toObject();
    }
    return out;
}

QStringList remoteWorkerServerArgs()
{
    QStringList args{QStringLiteral("--no-local-worker")};
    if (qgetenv("KAIROS_E2E_BACKEND") == "postgres") {
        const auto url = PostgresFixture::freshDatabaseUrl();
        if (!url.ok())
            qFatal("%s", qPrintable(url.error()));
        args << QStringLiteral("--db") << *url;
    }
    return args;
}

QJsonObject workerEntry(AdminSession &admin, const QString &id)
{
    const auto list = admin.call(QStringLiteral("worker.list"));
    if (!list.ok())
        return {};
    for (const QJsonValue &v : list->value(QStringLiteral("workers")).toArray()) {
        if (v.toObject().value(QStringLiteral("id")).toString() == id)
            return v.toObject();
    }
    return {};
}

} // namespace kairos::test
