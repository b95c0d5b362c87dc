// The kairos-worker executable as an operator runs it: usage errors exit 2 naming the flag,
// --help lists every flag, and a worker registered with a (fake) server drains on SIGTERM —
// `drain`, the running task's final status, exit code 0 — within a small memory footprint.
#include "fake_server.h"

#include <QFile>
#include <QProcess>
#include <QSslSocket>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>

using namespace kairos;
using namespace kairos::test;
using namespace Qt::StringLiterals;

namespace {

constexpr int kWaitMs = 15000;
const QString kApp = u"billing"_s;
const QString kSecret = u"process-secret"_s;

QString workerBinary()
{
    return QStringLiteral(KAIROS_BIN_DIR) + u"/kairos-worker"_s;
}

// VmRSS of a process in kB, 0 when unknown.
qint64 residentKb(qint64 pid)
{
    QFile status(u"/proc/%1/status"_s.arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong();
    }
    return 0;
}

bool processAlive(qint64 pid)
{
    QFile stat(u"/proc/%1/stat"_s.arg(pid));
    if (pid <= 0 || !stat.open(QIODevice::ReadOnly))
        return false;
    const QByteArray line = stat.readAll();
    const qsizetype close = line.lastIndexOf(')');
    return close > 0 && close + 2 < line.size() && line.at(close + 2) != 'Z'
           && line.at(close + 2) != 'X';
}

qint64 readPid(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray text = f.readAll();
    return text.endsWith('\n') ? text.trimmed().toLongLong() : 0;
}

// Whether a client socket connected to 127.0.0.1:serverPort has received the server's FIN
// (TCP state CLOSE_WAIT in /proc/net/tcp): everything the server sent before closing is in that
// socket's receive buffer, even while its process is stopped.
bool clientSawClose(quint16 serverPort)
{
    QFile tcp(u"/proc/net/tcp"_s);
    if (!tcp.open(QIODevice::ReadOnly))
        return false;
    const QByteArray remote =
        ":" + QByteArray::number(serverPort, 16).toUpper().rightJustified(4, '0');
    for (const QByteArray &line : tcp.readAll().split('\n')) {
        const QList<QByteArray> f = line.simplified().split(' ');
        // sl local_address rem_address st ...
        if (f.size() > 3 && f.at(2).endsWith(remote) && f.at(3) == "08")
            return true;
    }
    return false;
}

} // namespace

class TstWorkerProcess : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_secretFile;

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QVERIFY2(QFile::exists(workerBinary()), qPrintable(workerBinary()));
        m_secretFile = m_dir.filePath(u"secret"_s);
        QFile f(m_secretFile);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(kSecret.toUtf8() + '\n');
        f.close();
        f.setPermissions(QFile::ReadOwner | QFile::WriteOwner);
    }

    void usageErrorsExitTwo_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("nothing") << QStringList{} << u"--server is required"_s;
        QTest::newRow("bad threads")
            << QStringList{u"--server"_s,      u"127.0.0.1:1"_s, u"--app"_s,     u"a"_s,
                           u"--secret-file"_s, u"SECRET"_s,      u"--threads"_s, u"0"_s}
            << u"--threads: expected a whole number from 1 to 4096, got \"0\""_s;
        QTest::newRow("unknown flag") << QStringList{u"--frobnicate"_s} << u"frobnicate"_s;
    }

    void usageErrorsExitTwo()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        args.replaceInStrings(u"SECRET"_s, m_secretFile);
        QProcess p;
        p.start(workerBinary(), args);
        QVERIFY(p.waitForFinished(kWaitMs));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 2);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains(message), qPrintable(err));
        QVERIFY(err.contains(u"--help"_s));
    }

    void helpListsTheFlags()
    {
        QProcess p;
        p.start(workerBinary(), {u"--help"_s});
        QVERIFY(p.waitForFinished(kWaitMs));
        QCOMPARE(p.exitCode(), 0);
        const QString out = QString::fromUtf8(p.readAllStandardOutput());
        for (const char *flag : {"--server", "--app", "--secret-file", "--tags", "--threads",
                                 "--on-lease-loss", "--drain-timeout-ms", "--tls"}) {
            QVERIFY2(out.contains(QLatin1String(flag)), flag);
        }
    }

    // Two workers on one work folder would renew and expire each other's leases (killing each
    // other's runs): the second one is refused at start, naming the first.
    void secondWorkerOnTheSameWorkFolderIsRefused()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        const QString work = m_dir.filePath(u"shared-work"_s);
        auto args = [&](const QString &id) {
            return QStringList{u"--server"_s,      server.address(),
                               u"--app"_s,         kApp,
                               u"--secret-file"_s, m_secretFile,
                               u"--id"_s,          id,
                               u"--work-dir"_s,    work};
        };
        QProcess first;
        first.start(workerBinary(), args(u"first-worker"_s));
        QVERIFY(first.waitForStarted(kWaitMs));
        QTRY_COMPARE_WITH_TIMEOUT(server.count(wire::type::Register), 1, kWaitMs);

        QProcess second;
        second.start(workerBinary(), args(u"second-worker"_s));
        QVERIFY(second.waitForStarted(kWaitMs));
        QTRY_COMPARE_WITH_TIMEOUT(second.state(), QProcess::NotRunning, kWaitMs);
        QVERIFY(second.exitCode() != 0);
        const QString err = QString::fromUtf8(second.readAllStandardError());
        QVERIFY2(err.contains(u"in use by another kairos-worker (pid %1)"_s.arg(first.processId())),
                 qPrintable(err));
        QCOMPARE(server.count(wire::type::Register), 1);

        ::kill(pid_t(first.processId()), SIGKILL);
        QVERIFY(first.waitForFinished(kWaitMs));
        // The lock of a worker that died is stale: a new worker takes the folder over.
        QProcess third;
        third.start(workerBinary(), args(u"third-worker"_s));
        QVERIFY(third.waitForStarted(kWaitMs));
        QTRY_COMPARE_WITH_TIMEOUT(server.count(wire::type::Register), 2, kWaitMs);
        ::kill(pid_t(third.processId()), SIGTERM);
        QTRY_COMPARE_WITH_TIMEOUT(third.state(), QProcess::NotRunning, kWaitMs);
    }

    void sigtermDrainsAndExitsZero()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        QProcess worker;
        worker.setProcessChannelMode(QProcess::SeparateChannels);
        worker.start(workerBinary(),
                     {u"--server"_s, server.address(), u"--app"_s, kApp, u"--secret-file"_s,
                      m_secretFile, u"--id"_s, u"proc-worker"_s, u"--threads"_s, u"2"_s,
                      u"--work-dir"_s, m_dir.filePath(u"work"_s)});
        QVERIFY(worker.waitForStarted(kWaitMs));
        QString out;
        const QString registeredLine =
            u"kairos-worker proc-worker registered with %1 (app %2)"_s.arg(server.address(), kApp);
        QTRY_VERIFY_WITH_TIMEOUT(
            (out += QString::fromUtf8(worker.readAllStandardOutput())).contains(registeredLine),
            kWaitMs);
        QCOMPARE(server.count(wire::type::Register), 1);

        // Idle footprint once registered (target: 20 MB).
        QTRY_VERIFY_WITH_TIMEOUT(server.count(wire::type::Heartbeat) >= 1, kWaitMs);
        const qint64 rssKb = residentKb(worker.processId());
        qInfo("idle kairos-worker RSS after registering: %.1f MB", double(rssKb) / 1024.0);
        QVERIFY(rssKb > 0);
        QVERIFY2(rssKb <= 20 * 1024, qPrintable(u"RSS %1 kB"_s.arg(rssKb)));

        const TaskSpec task = sleepTask(90, 1500);
        const TaskKey key = taskKeyOf(task);
        server.dispatch({task});
        QTRY_COMPARE_WITH_TIMEOUT(server.reportsOf(key, InstanceStatus::Running).size(), 1,
                                  kWaitMs);

        ::kill(pid_t(worker.processId()), SIGTERM);
        QTRY_COMPARE_WITH_TIMEOUT(server.count(wire::type::Drain), 1, kWaitMs);
        // Wait without blocking the loop: the fake server reads the last reports meanwhile.
        QTRY_COMPARE_WITH_TIMEOUT(worker.state(), QProcess::NotRunning, kWaitMs);
        QCOMPARE(worker.exitStatus(), QProcess::NormalExit);
        QCOMPARE(worker.exitCode(), 0);

        // The running task finished and said so, after the drain notice.
        QTRY_COMPARE_WITH_TIMEOUT(server.reportsOf(key, InstanceStatus::Succeeded).size(), 1,
                                  kWaitMs);
        qsizetype drainAt = -1;
        qsizetype statusAt = -1;
        for (qsizetype i = 0; i < server.received.size(); ++i) {
            const protocol::Message &m = server.received.at(i).message;
            if (m.type == wire::type::Drain)
                drainAt = i;
            if (m.type == wire::type::Status) {
                for (const TaskReport &r : wire::decodeStatus(m).items) {
                    if (r.status == InstanceStatus::Succeeded)
                        statusAt = i;
                }
            }
        }
        QVERIFY(drainAt >= 0 && statusAt > drainAt);
        out += QString::fromUtf8(worker.readAllStandardOutput());
        QVERIFY2(out.contains(u"kairos-worker proc-worker drained and stopped"_s), qPrintable(out));
        const QString err = QString::fromUtf8(worker.readAllStandardError());
        QVERIFY2(err.contains(u"SIGTERM, draining"_s), qPrintable(err));
    }

    void registersOverTls()
    {
        const QString openssl = QStandardPaths::findExecutable(u"openssl"_s);
        if (openssl.isEmpty())
            QSKIP("the openssl command is not installed, so no test certificate can be made");
        if (!QSslSocket::supportsSsl())
            QSKIP("this Qt build has no TLS backend");
        const QString cert = m_dir.filePath(u"server.pem"_s);
        const QString key = m_dir.filePath(u"server.key"_s);
        QProcess gen;
        gen.start(openssl,
                  {u"req"_s, u"-x509"_s, u"-newkey"_s, u"ec"_s, u"-pkeyopt"_s,
                   u"ec_paramgen_curve:prime256v1"_s, u"-nodes"_s, u"-days"_s, u"2"_s, u"-subj"_s,
                   u"/CN=localhost"_s, u"-addext"_s, u"subjectAltName=DNS:localhost,IP:127.0.0.1"_s,
                   u"-keyout"_s, key, u"-out"_s, cert});
        QVERIFY(gen.waitForFinished(30000));
        QVERIFY2(gen.exitCode() == 0, gen.readAllStandardError().constData());

        protocol::ListenerOptions options;
        options.certificateFile = cert;
        options.privateKeyFile = key;
        FakeServer server(kApp, kSecret, options);
        QVERIFY(server.listen());
        const QStringList common{
            u"--server"_s,      server.address(), u"--app"_s,      kApp,
            u"--secret-file"_s, m_secretFile,     u"--work-dir"_s, m_dir.filePath(u"tls"_s)};

        // Trusting the server's certificate: registered over TLS.
        QProcess trusted;
        trusted.start(workerBinary(),
                      common + QStringList{u"--id"_s, u"tls-worker"_s, u"--tls-ca"_s, cert});
        QString out;
        QTRY_VERIFY_WITH_TIMEOUT(
            (out += QString::fromUtf8(trusted.readAllStandardOutput()))
                .contains(u"kairos-worker tls-worker registered with %1"_s.arg(server.address())),
            kWaitMs);
        trusted.terminate();
        QTRY_COMPARE_WITH_TIMEOUT(trusted.state(), QProcess::NotRunning, kWaitMs);
        QCOMPARE(trusted.exitCode(), 0);

        // Not trusting it (system CAs only): refused, with the reason, and no registration.
        QProcess untrusted;
        untrusted.start(workerBinary(),
                        common + QStringList{u"--id"_s, u"tls-doubter"_s, u"--tls"_s});
        QString err;
        QTRY_VERIFY_WITH_TIMEOUT((err += QString::fromUtf8(untrusted.readAllStandardError()))
                                     .contains(u"kairos-worker tls-doubter cannot connect to"_s),
                                 kWaitMs);
        QVERIFY2(err.contains(u"certificate"_s, Qt::CaseInsensitive), qPrintable(err));
        QCOMPARE(server.count(wire::type::Register), 1);
        untrusted.terminate();
        QTRY_COMPARE_WITH_TIMEOUT(untrusted.state(), QProcess::NotRunning, kWaitMs);
    }

    // SIGSTOP: the connection stays open but the worker says nothing. Its shell run is stopped
    // by its kairos-exec launcher when the lease ends, although the worker itself is frozen;
    // after SIGCONT the worker reads the server's `dead` notice and registers again.
    void frozenWorkerLosesItsRunsAndRegistersAgain()
    {
        FakeServer server(kApp, kSecret);
        server.reply.heartbeatMs = 100;
        server.reply.leaseMs = 600;
        QVERIFY(server.listen());
        QProcess worker;
        worker.start(workerBinary(),
                     {u"--server"_s, server.address(), u"--app"_s, kApp, u"--secret-file"_s,
                      m_secretFile, u"--id"_s, u"frozen-worker"_s, u"--work-dir"_s,
                      m_dir.filePath(u"frozen"_s)});
        QVERIFY(worker.waitForStarted(kWaitMs));
        QTRY_COMPARE_WITH_TIMEOUT(server.count(wire::type::Register), 1, kWaitMs);

        const QString pidFile = m_dir.filePath(u"frozen-script.pid"_s);
        const TaskSpec task = shellTask(95, u"echo $$ > '%1'; exec sleep 60"_s.arg(pidFile));
        server.dispatch({task});
        QTRY_VERIFY_WITH_TIMEOUT(readPid(pidFile) > 0, kWaitMs);
        const qint64 scriptPid = readPid(pidFile);
        QVERIFY(processAlive(scriptPid));

        ::kill(pid_t(worker.processId()), SIGSTOP);
        // The launcher watches the lease file on its own: the run ends while the worker sleeps.
        QTRY_VERIFY_WITH_TIMEOUT(!processAlive(scriptPid), kWaitMs);
        // What the server does after deadAfterMs without a heartbeat.
        server.current()->send(wire::encodeDead(u"no heartbeat for 1.0 s"_s));
        server.current()->close(u"worker declared dead"_s);
        // As in real life, the notice is waiting in the worker's socket when it wakes up.
        QTRY_VERIFY_WITH_TIMEOUT(clientSawClose(server.port()), kWaitMs);
        ::kill(pid_t(worker.processId()), SIGCONT);

        QTRY_COMPARE_WITH_TIMEOUT(server.count(wire::type::Register), 2, kWaitMs);
        const auto again = wire::decodeRegister(server.ofType(wire::type::Register, 2).first());
        QVERIFY(again.ok());
        QVERIFY(again->held.isEmpty()); // the old run is over, not held
        QString err;
        const QString lostLine = u"kairos-worker frozen-worker lost %1: declared dead by the "
                                 "server: no heartbeat for 1.0 s"_s.arg(server.address());
        QTRY_VERIFY_WITH_TIMEOUT(
            (err += QString::fromUtf8(worker.readAllStandardError())).contains(lostLine), kWaitMs);

        worker.terminate();
        QTRY_COMPARE_WITH_TIMEOUT(worker.state(), QProcess::NotRunning, kWaitMs);
        QCOMPARE(worker.exitCode(), 0);
    }
};

QTEST_GUILESS_MAIN(TstWorkerProcess)
#include "tst_worker_process.moc"
