// Remote workers as a user runs them: a real kairosd and real kairos-worker processes on loopback,
// killed and frozen with signals. Executions are counted from the side: every run appends
// "start <instance> <attempt> <worker> <pgid>" and "end <instance> <attempt> <worker>" lines to a
// file, so a run that happened twice, or a run the server does not know about, shows up there
// whatever the server believes.
#include "server_process.h"

#include <protocol/connection.h>

#include <QElapsedTimer>
#include <QJsonArray>
#include <QSet>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

using namespace kairos;
using namespace kairos::test;

namespace {

struct RunLine {
    QString kind; // "start" or "end"
    qint64 instance = 0;
    int attempt = 0;
    QString worker;
    qint64 pgid = 0;
};

QList<RunLine> readRuns(const QString &path)
{
    QList<RunLine> out;
    for (const QString &line : readLines(path)) {
        const QStringList f = line.split(u' ');
        if (f.size() < 4)
            continue;
        RunLine r;
        r.kind = f[0];
        r.instance = f[1].toLongLong();
        r.attempt = f[2].toInt();
        r.worker = f[3];
        r.pgid = f.value(4).toLongLong();
        out << r;
    }
    return out;
}

// A shell script that records its start (with its process group) and end, and sleeps between:
// `firstAttemptSleep` seconds on attempt 1, `laterSleep` on later attempts.
QString recordingScript(const QString &runs, const QString &firstAttemptSleep,
                        const QString &laterSleep)
{
    return QStringLiteral(
               "pgid=$(cut -d' ' -f5 /proc/$$/stat)\n"
               "echo \"start $KAIROS_INSTANCE_ID $KAIROS_ATTEMPT $KAIROS_TEST_WORKER $pgid\" >> "
               "'%1'\n"
               "if [ \"$KAIROS_ATTEMPT\" = 1 ]; then sleep %2; else sleep %3; fi\n"
               "echo \"end $KAIROS_INSTANCE_ID $KAIROS_ATTEMPT $KAIROS_TEST_WORKER\" >> '%1'\n")
        .arg(runs, firstAttemptSleep, laterSleep);
}

QJsonObject shellJob(const QString &name, const QString &script, int retries,
                     const QString &strategy = QStringLiteral("HEALTH_FIRST"))
{
    return QJsonObject{
        {QStringLiteral("name"), name},
        {QStringLiteral("app"), QStringLiteral("default")},
        {QStringLiteral("processor"), QJsonObject{{QStringLiteral("type"), QStringLiteral("SHELL")},
                                                  {QStringLiteral("script"), script}}},
        {QStringLiteral("dispatch"), QJsonObject{{QStringLiteral("strategy"), strategy}}},
        {QStringLiteral("limits"), QJsonObject{{QStringLiteral("retryCount"), retries},
                                               {QStringLiteral("retryBackoffMs"), 100}}}};
}

QString workerState(AdminSession &admin, const QString &id)
{
    return workerEntry(admin, id).value(QStringLiteral("state")).toString();
}

} // namespace

class TstRemoteWorkers : public QObject {
    Q_OBJECT

private slots:
    // 300 instances across 3 workers; one is SIGKILLed mid-run. Everything ends, nothing runs
    // twice in one attempt, the dead worker's runs are retried elsewhere, and it shows DEAD
    // within 6 s.
    void killOneOfThreeWorkers()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString runs = dir.filePath(QStringLiteral("runs.txt"));
        ServerProcess server(dir.filePath(QStringLiteral("data")), remoteWorkerServerArgs());
        QString err = server.start();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        QVERIFY2(QFile::exists(server.secretFile()), "kairosd did not create apps/default.secret");

        std::vector<std::unique_ptr<WorkerProcess>> workers;
        for (const char *id : {"w1", "w2", "w3"}) {
            workers.push_back(std::make_unique<WorkerProcess>(
                QString::fromLatin1(id), server.port(), server.secretFile(),
                QStringList{QStringLiteral("--threads"), QStringLiteral("8")}));
            err = workers.back()->start();
            QVERIFY2(err.isEmpty(), qPrintable(err));
        }
        AdminSession admin(server);
        err = admin.open();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        for (const auto &w : workers)
            QCOMPARE(workerState(admin, w->id()), QStringLiteral("ALIVE"));

        const auto job = admin.createJob(
            shellJob(QStringLiteral("spread"),
                     recordingScript(runs, QStringLiteral("0.3"), QStringLiteral("0.3")), 2,
                     QStringLiteral("ROUND_ROBIN")));
        QVERIFY2(job.ok(), qPrintable(job.error()));
        const QList<qint64> ids = admin.run(job->value(QStringLiteral("id")).toInteger(), 300);
        QCOMPARE(ids.size(), 300);

        // Kill w2 while it is in the middle of its share.
        auto startsOf = [&](const QString &worker) {
            int n = 0;
            for (const RunLine &r : readRuns(runs))
                n += r.kind == QLatin1String("start") && r.worker == worker;
            return n;
        };
        QVERIFY(waitUntil([&] { return startsOf(QStringLiteral("w2")) >= 20; }, 60000));
        QElapsedTimer sinceKill;
        workers[1]->kill9();
        sinceKill.start();
        QVERIFY(
            waitUntil([&] { return workerState(admin, QStringLiteral("w2")) == "DEAD"; }, 10000));
        const qint64 deadAfterMs = sinceKill.elapsed();
        qInfo("w2 shown DEAD %lld ms after SIGKILL", deadAfterMs);
        QVERIFY2(deadAfterMs <= 6000, qPrintable(QString::number(deadAfterMs)));

        // No script of the killed worker outlives it.
        QList<qint64> groupsOfW2;
        for (const RunLine &r : readRuns(runs)) {
            if (r.kind == QLatin1String("start") && r.worker == QLatin1String("w2"))
                groupsOfW2 << r.pgid;
        }
        QVERIFY(waitUntil(
            [&] {
                return std::none_of(groupsOfW2.begin(), groupsOfW2.end(),
                                    [](qint64 g) { return processGroupExists(g); });
            },
            15000));

        QHash<qint64, QJsonObject> finals;
        for (qint64 id : ids) {
            QVERIFY2(admin.waitForTerminal(id, 120000), qPrintable(admin.status(id)));
            finals.insert(id, admin.instance(id)->value(QStringLiteral("instance")).toObject());
        }

        const QList<RunLine> lines = readRuns(runs);
        QHash<QPair<qint64, int>, RunLine> started;
        QSet<QPair<qint64, int>> ended;
        for (const RunLine &r : lines) {
            const auto key = qMakePair(r.instance, r.attempt);
            if (r.kind == QLatin1String("start")) {
                QVERIFY2(!started.contains(key),
                         qPrintable(QStringLiteral("instance %1 attempt %2 started twice")
                                        .arg(r.instance)
                                        .arg(r.attempt)));
                started.insert(key, r);
            } else {
                ended.insert(key);
            }
        }
        int retried = 0;
        for (qint64 id : ids) {
            const QJsonObject inst = finals.value(id);
            const int attempt = inst.value(QStringLiteral("attempt")).toInt();
            QCOMPARE(inst.value(QStringLiteral("status")).toString(), QStringLiteral("SUCCEEDED"));
            const auto finalKey = qMakePair(id, attempt);
            QVERIFY2(started.contains(finalKey) && ended.contains(finalKey),
                     qPrintable(QStringLiteral("instance %1 has no recorded run of its final "
                                               "attempt %2")
                                    .arg(id)
                                    .arg(attempt)));
            QCOMPARE(inst.value(QStringLiteral("worker")).toString(),
                     started.value(finalKey).worker);
            if (attempt > 1) {
                ++retried;
                // Only the killed worker's runs were retried (attempt 1 was dispatched to it,
                // started or still queued there), and never on it.
                const auto detail = admin.instance(id);
                QVERIFY(detail.ok());
                const QJsonArray attempts = detail->value(QStringLiteral("attempts")).toArray();
                QVERIFY(!attempts.isEmpty());
                const QJsonObject first = attempts.first().toObject();
                QVERIFY2(first.value(QStringLiteral("worker")).toString() == QLatin1String("w2"),
                         qPrintable(QStringLiteral("instance %1 attempt 1 on %2 ended %3: %4")
                                        .arg(id)
                                        .arg(first.value(QStringLiteral("worker")).toString(),
                                             first.value(QStringLiteral("status")).toString(),
                                             first.value(QStringLiteral("reason")).toString())));
                if (started.contains(qMakePair(id, 1)))
                    QCOMPARE(started.value(qMakePair(id, 1)).worker, QStringLiteral("w2"));
                QVERIFY(started.value(finalKey).worker != QLatin1String("w2"));
            }
        }
        qInfo("%d of 300 instances were retried after the kill", retried);
        QVERIFY(retried > 0);
        QCOMPARE(workerState(admin, QStringLiteral("w1")), QStringLiteral("ALIVE"));
        QCOMPARE(workerState(admin, QStringLiteral("w3")), QStringLiteral("ALIVE"));
    }

    // A worker frozen with SIGSTOP (connection open, no heartbeats) shows DEAD within 6 s; its
    // scripts are stopped by their launchers when its lease ends, before the retries start on the
    // other worker; after SIGCONT it learns it was declared dead and registers again.
    void frozenWorkerIsFencedAndComesBack()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString runs = dir.filePath(QStringLiteral("runs.txt"));
        ServerProcess server(dir.filePath(QStringLiteral("data")), remoteWorkerServerArgs());
        QString err = server.start();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        WorkerProcess w1(QStringLiteral("w1"), server.port(), server.secretFile(),
                         {QStringLiteral("--threads"), QStringLiteral("4")});
        err = w1.start();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        AdminSession admin(server);
        err = admin.open();
        QVERIFY2(err.isEmpty(), qPrintable(err));

        // Attempt 1 would run for a minute; the retry is quick.
        const auto job = admin.createJob(
            shellJob(QStringLiteral("frozen"),
                     recordingScript(runs, QStringLiteral("60"), QStringLiteral("0.1")), 1));
        QVERIFY2(job.ok(), qPrintable(job.error()));
        const QList<qint64> ids = admin.run(job->value(QStringLiteral("id")).toInteger(), 3);
        QCOMPARE(ids.size(), 3);
        QVERIFY(waitUntil([&] { return readRuns(runs).size() >= 3; }, 30000));
        QList<qint64> firstGroups;
        for (const RunLine &r : readRuns(runs)) {
            QCOMPARE(r.worker, QStringLiteral("w1"));
            firstGroups << r.pgid;
        }

        WorkerProcess w2(QStringLiteral("w2"), server.port(), server.secretFile());
        err = w2.start();
        QVERIFY2(err.isEmpty(), qPrintable(err));

        w1.freeze();
        QElapsedTimer sinceFreeze;
        sinceFreeze.start();
        QVERIFY(
            waitUntil([&] { return workerState(admin, QStringLiteral("w1")) == "DEAD"; }, 10000));
        const qint64 deadAfterMs = sinceFreeze.elapsed();
        qInfo("w1 shown DEAD %lld ms after SIGSTOP", deadAfterMs);
        QVERIFY2(deadAfterMs <= 6000, qPrintable(QString::number(deadAfterMs)));

        // The retries run on w2, and only once the frozen worker's scripts are gone: whenever
        // a second attempt has started, no process of a first attempt may still exist.
        bool zombieBesideRetry = false;
        const bool retried = waitUntil(
            [&] {
                int secondStarts = 0;
                for (const RunLine &r : readRuns(runs)) {
                    if (r.kind == QLatin1String("start") && r.attempt == 2)
                        ++secondStarts;
                }
                if (secondStarts > 0
                    && std::any_of(firstGroups.begin(), firstGroups.end(),
                                   [](qint64 g) { return processGroupExists(g); }))
                    zombieBesideRetry = true;
                return secondStarts == 3;
            },
            30000);
        QVERIFY(retried);
        QVERIFY2(!zombieBesideRetry, "a first attempt still ran while its retry had started");
        for (const RunLine &r : readRuns(runs)) {
            if (r.attempt == 2)
                QCOMPARE(r.worker, QStringLiteral("w2"));
        }
        for (qint64 id : ids) {
            QVERIFY2(admin.waitForTerminal(id, 30000), qPrintable(admin.status(id)));
            const QJsonObject inst =
                admin.instance(id)->value(QStringLiteral("instance")).toObject();
            QCOMPARE(inst.value(QStringLiteral("status")).toString(), QStringLiteral("SUCCEEDED"));
            QCOMPARE(inst.value(QStringLiteral("attempt")).toInt(), 2);
        }

        // Wake it: it learns it was declared dead and registers again.
        w1.thaw();
        QVERIFY2(waitUntil([&] { return w1.registrations() >= 2; }, 20000),
                 qPrintable(w1.readOutput()));
        QVERIFY2(w1.readOutput().contains(QStringLiteral("declared this worker dead")),
                 qPrintable(w1.readOutput()));
        QVERIFY(
            waitUntil([&] { return workerState(admin, QStringLiteral("w1")) == "ALIVE"; }, 10000));
        // None of the frozen attempts ever finished.
        for (const RunLine &r : readRuns(runs))
            QVERIFY2(!(r.kind == QLatin1String("end") && r.attempt == 1),
                     qPrintable(QStringLiteral("attempt 1 of %1 finished").arg(r.instance)));

        // And it takes work again.
        const auto quick = admin.createJob(QJsonObject{
            {QStringLiteral("name"), QStringLiteral("after-thaw")},
            {QStringLiteral("app"), QStringLiteral("default")},
            {QStringLiteral("processor"),
             QJsonObject{{QStringLiteral("type"), QStringLiteral("ECHO")}}},
            {QStringLiteral("dispatch"),
             QJsonObject{{QStringLiteral("strategy"), QStringLiteral("SPECIFIED")},
                         {QStringLiteral("targets"), QJsonArray{QStringLiteral("w1")}}}}});
        QVERIFY2(quick.ok(), qPrintable(quick.error()));
        const QList<qint64> after = admin.run(quick->value(QStringLiteral("id")).toInteger(), 5);
        QCOMPARE(after.size(), 5);
        for (qint64 id : after) {
            QVERIFY(admin.waitForTerminal(id, 20000));
            QCOMPARE(admin.status(id), QStringLiteral("SUCCEEDED"));
        }
    }

    // Wrong secret, garbage, an oversized frame and an old protocol version are each refused
    // with a logged reason, and the server keeps serving its worker meanwhile.
    void hostilePeersAreRefused()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        ServerProcess server(dir.filePath(QStringLiteral("data")), remoteWorkerServerArgs());
        QString err = server.start();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        WorkerProcess good(QStringLiteral("good"), server.port(), server.secretFile());
        err = good.start();
        QVERIFY2(err.isEmpty(), qPrintable(err));

        // 1. A worker with the wrong secret never gets in.
        const QString wrongSecret = dir.filePath(QStringLiteral("wrong.secret"));
        {
            QFile f(wrongSecret);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("not-the-secret\n");
            f.setPermissions(QFile::ReadOwner | QFile::WriteOwner);
        }
        WorkerProcess intruder(QStringLiteral("intruder"), server.port(), wrongSecret);
        err = intruder.start(false);
        QVERIFY2(err.isEmpty(), qPrintable(err));
        QVERIFY2(waitUntil(
                     [&] {
                         return server.readOutput().contains(
                             QStringLiteral("refused login of worker 'default' from "
                                            "127.0.0.1:"));
                     },
                     15000),
                 qPrintable(server.readOutput()));
        QVERIFY2(waitUntil(
                     [&] {
                         return intruder.readOutput().contains(
                             QStringLiteral("authentication failed"));
                     },
                     15000),
                 qPrintable(intruder.readOutput()));
        QCOMPARE(intruder.registrations(), 0);

        // 2. Garbage: a valid length, then bytes that are not CBOR.
        {
            QTcpSocket socket;
            socket.connectToHost(QStringLiteral("127.0.0.1"), server.port());
            QVERIFY(socket.waitForConnected(5000));
            socket.write(QByteArray::fromHex("00000004ffffffff"));
            QVERIFY(waitUntil([&] { return socket.state() == QAbstractSocket::UnconnectedState; },
                              10000));
        }
        QVERIFY2(waitUntil(
                     [&] {
                         return server.readOutput().contains(
                             QStringLiteral("payload is not valid CBOR"));
                     },
                     10000),
                 qPrintable(server.readOutput()));

        // 3. An oversized frame: 100 MB announced before any handshake.
        {
            QTcpSocket socket;
            socket.connectToHost(QStringLiteral("127.0.0.1"), server.port());
            QVERIFY(socket.waitForConnected(5000));
            socket.write(QByteArray::fromHex("05f5e100"));
            QVERIFY(waitUntil([&] { return socket.state() == QAbstractSocket::UnconnectedState; },
                              10000));
        }
        QVERIFY2(waitUntil(
                     [&] {
                         return server.readOutput().contains(
                             QStringLiteral("exceeds the 65536-byte limit"));
                     },
                     10000),
                 qPrintable(server.readOutput()));

        // 4. An old protocol version gets a clear refusal, not a hang.
        {
            QFile secretFile(server.secretFile());
            QVERIFY(secretFile.open(QIODevice::ReadOnly));
            const QString secret = QString::fromUtf8(secretFile.readAll()).trimmed();
            protocol::Connection old;
            old.setProtocolVersion(0);
            QSignalSpy failed(&old, &protocol::Connection::failed);
            old.connectToServer(QStringLiteral("127.0.0.1"), server.port(),
                                QStringLiteral("worker"), QStringLiteral("default"), secret);
            QVERIFY(failed.wait(10000));
            QVERIFY2(failed.first().first().toString().contains(
                         QStringLiteral("protocol version 0 is not supported")),
                     qPrintable(failed.first().first().toString()));
        }
        QVERIFY2(waitUntil(
                     [&] {
                         return server.readOutput().contains(
                             QStringLiteral("protocol version 0 is not supported"));
                     },
                     10000),
                 qPrintable(server.readOutput()));

        // Meanwhile the good worker kept its connection and still runs jobs.
        QCOMPARE(good.registrations(), 1);
        AdminSession admin(server);
        err = admin.open();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        QCOMPARE(workerState(admin, QStringLiteral("good")), QStringLiteral("ALIVE"));
        QVERIFY(workerEntry(admin, QStringLiteral("intruder")).isEmpty());
        const auto job = admin.createJob(
            QJsonObject{{QStringLiteral("name"), QStringLiteral("still-serving")},
                        {QStringLiteral("app"), QStringLiteral("default")},
                        {QStringLiteral("processor"),
                         QJsonObject{{QStringLiteral("type"), QStringLiteral("ECHO")}}}});
        QVERIFY2(job.ok(), qPrintable(job.error()));
        const QList<qint64> ids = admin.run(job->value(QStringLiteral("id")).toInteger(), 20);
        QCOMPARE(ids.size(), 20);
        for (qint64 id : ids) {
            QVERIFY(admin.waitForTerminal(id, 20000));
            QCOMPARE(admin.status(id), QStringLiteral("SUCCEEDED"));
            QCOMPARE(admin.instance(id)
                         ->value(QStringLiteral("instance"))
                         .toObject()
                         .value(QStringLiteral("worker"))
                         .toString(),
                     QStringLiteral("good"));
        }
        intruder.kill9();
    }

    // SIGTERM drains: the worker stops taking work, finishes what runs, reports, exits 0.
    void sigtermDrainsGracefully()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString runs = dir.filePath(QStringLiteral("runs.txt"));
        ServerProcess server(dir.filePath(QStringLiteral("data")), remoteWorkerServerArgs());
        QString err = server.start();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        WorkerProcess w1(QStringLiteral("w1"), server.port(), server.secretFile(),
                         {QStringLiteral("--threads"), QStringLiteral("2")});
        err = w1.start();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        AdminSession admin(server);
        err = admin.open();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        const auto job = admin.createJob(
            shellJob(QStringLiteral("drain"),
                     recordingScript(runs, QStringLiteral("1"), QStringLiteral("1")), 0));
        QVERIFY2(job.ok(), qPrintable(job.error()));
        const QList<qint64> ids = admin.run(job->value(QStringLiteral("id")).toInteger(), 2);
        QVERIFY(waitUntil([&] { return readRuns(runs).size() >= 2; }, 30000));
        QVERIFY2(w1.terminate(30000), qPrintable(w1.readOutput()));
        for (qint64 id : ids) {
            QVERIFY(admin.waitForTerminal(id, 20000));
            QCOMPARE(admin.status(id), QStringLiteral("SUCCEEDED"));
        }
        QVERIFY(
            waitUntil([&] { return workerState(admin, QStringLiteral("w1")) == "DEAD"; }, 10000));
    }
};

QTEST_GUILESS_MAIN(TstRemoteWorkers)
#include "tst_remote_workers.moc"
