// The run lease (docs/processors.md, "Lease"): a Shell run started by a TaskRunner with a lease
// file is stopped by its kairos-exec once the expiry written there has passed — the whole process
// group, background jobs included — and keeps running while the lease is renewed. The launcher
// acts on its own: a frozen (SIGSTOPped) worker cannot keep its runs alive.
#include "worker_test_util.h"

#include <worker/task_runner.h>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QProcess>
#include <QSaveFile>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <csignal>
#include <ctime>

using namespace kairos;
using namespace kairos::test;

namespace {

const QString kLeaseMessage =
    QStringLiteral("kairos-exec: lease expired (no word from the worker for too long): stopping "
                   "the run");

qint64 monotonicMs()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return qint64(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

// Writes the lease file the way a worker does: whole, then renamed into place.
bool writeLease(const QString &path, const QByteArray &content)
{
    QSaveFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(content) == content.size() && f.commit();
}

bool writeLeaseExpiry(const QString &path, qint64 expiryMs)
{
    return writeLease(path, QByteArray::number(expiryMs) + '\n');
}

// Records its own pid and a background job's pid, then `tail` in the foreground.
QString pidRecordingScript(const QString &dir, const QString &tail,
                           const QString &prefix = QString())
{
    return prefix
           + QStringLiteral("echo $$ > '%1/script.tmp' && mv '%1/script.tmp' '%1/script.pid'\n"
                            "sleep 30 &\n"
                            "echo $! > '%1/bg.tmp' && mv '%1/bg.tmp' '%1/bg.pid'\n")
                 .arg(dir)
           + tail + u'\n';
}

const QString kForever = QStringLiteral("while :; do sleep 1; done");
const QString kShortWork = QStringLiteral("sleep 1.2\necho finished");

TaskSpec shellSpec(const QString &script)
{
    TaskSpec s;
    s.instanceId = 1;
    s.attempt = 1;
    s.jobName = QStringLiteral("lease-test");
    s.processor = ProcessorKind::Shell;
    s.config = QJsonObject{{QStringLiteral("script"), script}};
    return s;
}

} // namespace

class TstLease : public QObject {
    Q_OBJECT
private slots:
    void leaseDecidesHowTheRunEnds_data();
    void leaseDecidesHowTheRunEnds();
    void frozenWorkerCannotKeepItsRun();
    void emptyLeasePathIsAUsageError();
};

void TstLease::leaseDecidesHowTheRunEnds_data()
{
    QTest::addColumn<QString>("lease"); // what the test does with the lease file
    QTest::addColumn<QString>("prefix");
    QTest::addColumn<QString>("tail");
    QTest::addColumn<QString>("status");
    QTest::addColumn<QString>("result");
    QTest::addColumn<bool>("expires");
    // SIGTERM from the launcher ends the script; its exit is reported as it happened.
    QTest::newRow("expires") << "expire" << QString() << kForever << "FAILED"
                             << "killed by signal 15 (SIGTERM)" << true;
    QTest::newRow("expires, script ignores SIGTERM: SIGKILL after the grace")
        << "expire" << QStringLiteral("trap '' TERM\n") << kForever << "FAILED"
        << "killed by signal 9 (SIGKILL)" << true;
    QTest::newRow("file removed: the last expiry read still holds")
        << "remove" << QString() << kForever << "FAILED"
        << "killed by signal 15 (SIGTERM)" << true;
    // 1.2 s of work under a lease renewed every 100 ms to last 500 ms more (slack for a loaded
    // machine; the lease would still run out twice over if the renewals stopped).
    QTest::newRow("renewed") << "renew" << QString() << kShortWork << "SUCCEEDED"
                             << "finished" << false;
    QTest::newRow("no lease written yet: wait") << "none" << QString() << kShortWork << "SUCCEEDED"
                                                << "finished" << false;
    QTest::newRow("unreadable content is no lease")
        << "garbage" << QString() << kShortWork << "SUCCEEDED"
        << "finished" << false;
}

void TstLease::leaseDecidesHowTheRunEnds()
{
    QFETCH(QString, lease);
    QFETCH(QString, prefix);
    QFETCH(QString, tail);
    QFETCH(QString, status);
    QFETCH(QString, result);
    QFETCH(bool, expires);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString leaseFile = dir.filePath(QStringLiteral("lease"));
    constexpr int kLeaseMs = 300;
    constexpr int kRenewedMs = 500;
    QTimer renewal;
    if (lease == QLatin1String("expire") || lease == QLatin1String("renew"))
        QVERIFY(writeLeaseExpiry(leaseFile, monotonicMs() + kLeaseMs));
    else if (lease == QLatin1String("remove"))
        QVERIFY(writeLeaseExpiry(leaseFile, monotonicMs() + 2 * kLeaseMs));
    else if (lease == QLatin1String("garbage"))
        QVERIFY(writeLease(leaseFile, "tomorrow\n"));
    if (lease == QLatin1String("renew")) {
        connect(&renewal, &QTimer::timeout, this,
                [&leaseFile] { QVERIFY(writeLeaseExpiry(leaseFile, monotonicMs() + kRenewedMs)); });
        renewal.start(100);
    }
    QElapsedTimer clock;
    clock.start();

    TaskRunner runner;
    runner.setLeaseFile(leaseFile);
    QCOMPARE(runner.leaseFile(), leaseFile);
    QList<TaskReport> reports;
    QStringList logs;
    connect(&runner, &TaskRunner::reports, this,
            [&reports](const QList<TaskReport> &b) { reports += b; });
    connect(&runner, &TaskRunner::logs, this, [&logs](const QList<LogLine> &b) {
        for (const LogLine &l : b)
            logs << l.text;
    });
    QVERIFY(runner.submit(shellSpec(pidRecordingScript(dir.path(), tail, prefix))));

    qint64 scriptPid = 0;
    qint64 bgPid = 0;
    QTRY_VERIFY_WITH_TIMEOUT((scriptPid = readPid(dir.filePath("script.pid"))) > 0
                                 && (bgPid = readPid(dir.filePath("bg.pid"))) > 0,
                             10000);
    const qint64 group = processGroupOf(scriptPid);
    QVERIFY(group > 0);
    QCOMPARE(processGroupOf(bgPid), group);
    if (lease == QLatin1String("remove"))
        QVERIFY(QFile::remove(leaseFile)); // kairos-exec read it when it started

    // Lease (<= 600 ms) + one 250 ms poll + the 2 s grace, with room for a loaded machine.
    QTRY_COMPARE_WITH_TIMEOUT(reports.size(), 2, 8000);
    const qint64 elapsed = clock.elapsed();
    renewal.stop();
    QCOMPARE(toString(reports[0].status), QStringLiteral("RUNNING"));
    QCOMPARE(toString(reports[1].status), status);
    QCOMPARE(reports[1].result, result);
    QCOMPARE(logs.contains(kLeaseMessage), expires);
    if (expires)
        QVERIFY2(elapsed >= kLeaseMs - 10, qPrintable(QString::number(elapsed)));
    else
        QVERIFY2(elapsed >= 1200, qPrintable(QString::number(elapsed))); // outlived the lease
    // Nothing of the run's process group is left, background job included.
    QTRY_VERIFY_WITH_TIMEOUT(liveGroupMembers(group).isEmpty(), 5000);
    QVERIFY(!processAlive(bgPid));
}

void TstLease::frozenWorkerCannotKeepItsRun()
{
    // A worker that is SIGSTOPped neither renews the lease nor dies (so PR_SET_PDEATHSIG never
    // fires): only the launcher's own look at the lease can end its run.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString leaseFile = dir.filePath(QStringLiteral("lease"));
    const qint64 expiry = monotonicMs() + 1500;
    QVERIFY(writeLeaseExpiry(leaseFile, expiry));

    QProcess worker;
    worker.setProgram(QCoreApplication::applicationDirPath() + "/kairos-test-runner-helper");
    worker.setArguments({pidRecordingScript(dir.path(), kForever), leaseFile});
    worker.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    worker.start();
    QVERIFY2(worker.waitForStarted(5000), qPrintable(worker.errorString()));
    const auto cleanup = qScopeGuard([&worker] {
        ::kill(static_cast<pid_t>(worker.processId()), SIGKILL);
        worker.waitForFinished(5000);
    });
    qint64 scriptPid = 0;
    qint64 bgPid = 0;
    QTRY_VERIFY_WITH_TIMEOUT((scriptPid = readPid(dir.filePath("script.pid"))) > 0
                                 && (bgPid = readPid(dir.filePath("bg.pid"))) > 0,
                             10000);
    const qint64 group = processGroupOf(scriptPid);
    QVERIFY(group > 0);

    QCOMPARE(::kill(static_cast<pid_t>(worker.processId()), SIGSTOP), 0);
    if (monotonicMs() >= expiry)
        QSKIP("the machine is too slow: the lease ran out before the worker could be frozen");
    QVERIFY(processAlive(scriptPid) && processAlive(bgPid)); // the lease still holds

    QTRY_VERIFY_WITH_TIMEOUT(liveGroupMembers(group).isEmpty(), 6000);
    QVERIFY(monotonicMs() >= expiry);
    // The worker is still frozen: the launcher did it alone.
    QFile stat(QStringLiteral("/proc/%1/stat").arg(worker.processId()));
    QVERIFY(stat.open(QIODevice::ReadOnly));
    const QByteArray line = stat.readAll();
    QCOMPARE(line.at(line.lastIndexOf(')') + 2), 'T');
}

void TstLease::emptyLeasePathIsAUsageError()
{
    QProcess exec;
    exec.start(QCoreApplication::applicationDirPath() + "/kairos-exec",
               {"--lease-file", "", "--", "true"});
    QVERIFY(exec.waitForFinished(5000));
    QCOMPARE(exec.exitStatus(), QProcess::NormalExit);
    QCOMPARE(exec.exitCode(), 125);
    QCOMPARE(QString::fromUtf8(exec.readAllStandardError()),
             QStringLiteral("kairos-exec: --lease-file: expected a file path but got \"\"\n"));
}

QTEST_GUILESS_MAIN(TstLease)
#include "tst_lease.moc"
