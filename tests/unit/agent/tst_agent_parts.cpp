// The worker daemon's parts on their own: the command line (what an operator types and the
// errors they get), the secret file, reconnect waits, the server rotation, the outbox, the lease
// file and its expiry, the /proc parsers and the task gate's queue.
#include <agent/backoff.h>
#include <agent/command_line.h>
#include <agent/lease_keeper.h>
#include <agent/metrics_sampler.h>
#include <agent/monotonic_clock.h>
#include <agent/outbox.h>
#include <agent/outgoing_calls.h>
#include <agent/secret_file.h>
#include <agent/server_rotation.h>
#include <agent/task_gate.h>

#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace kairos;
using namespace kairos::agent;
using namespace Qt::StringLiterals;

namespace {

TaskSpec echo(qint64 instance, qint64 task = 0)
{
    TaskSpec t;
    t.instanceId = instance;
    t.taskId = task;
    t.processor = ProcessorKind::Echo;
    t.config = QJsonObject{{u"message"_s, u"m%1"_s.arg(instance)}};
    return t;
}

TaskSpec sleeping(qint64 instance, int ms, qint64 task = 0, int run = 1)
{
    TaskSpec t;
    t.instanceId = instance;
    t.taskId = task;
    t.taskAttempt = run;
    t.processor = ProcessorKind::Sleep;
    t.config = QJsonObject{{u"ms"_s, ms}};
    return t;
}

TaskCall mapCall(quint64 id, qint64 from, const QList<QByteArray> &items)
{
    TaskCall c;
    c.callId = id;
    c.key = TaskKey{5, 1, 1, 1};
    c.op = TaskCall::Op::Map;
    c.name = u"number"_s;
    c.from = from;
    c.items = items;
    return c;
}

TaskCall resultsCall(quint64 id)
{
    TaskCall c;
    c.callId = id;
    c.key = TaskKey{5, 1, 9, 1};
    c.op = TaskCall::Op::Results;
    c.limit = 100;
    return c;
}

TaskCallReply ok(quint64 id)
{
    return TaskCallReply{id, {}, {}, false};
}

} // namespace

class TstAgentParts : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_secretFile;

    QString writeFile(const QString &name, const QByteArray &content,
                      QFile::Permissions perms = QFile::ReadOwner | QFile::WriteOwner)
    {
        const QString path = m_dir.filePath(name);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
            return {};
        f.write(content);
        f.close();
        f.setPermissions(perms);
        return path;
    }

    QStringList base() const
    {
        return {u"kairos-worker"_s, u"--server"_s,      u"127.0.0.1:7070"_s, u"--app"_s,
                u"billing"_s,       u"--secret-file"_s, m_secretFile};
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_secretFile = writeFile(u"secret"_s, "s3cret\n");
    }

    // --- command line ---

    void defaults()
    {
        const auto parsed = parseWorkerCommandLine(base(), u"1.2.3"_s);
        QVERIFY2(parsed.ok(), qPrintable(parsed.error()));
        const WorkerConfig &c = parsed->config;
        QCOMPARE(parsed->action, ParsedCommandLine::Action::Run);
        QCOMPARE(c.servers, (QList<ServerAddress>{{u"127.0.0.1"_s, 7070}}));
        QCOMPARE(c.app, u"billing"_s);
        QCOMPARE(c.secret, u"s3cret"_s);
        QCOMPARE(c.threads, WorkerConfig::defaultThreads());
        QVERIFY(c.threads >= 1);
        QCOMPARE(c.heartbeatMs, 1000);
        QCOMPARE(toString(c.onLeaseLoss), toString(LeaseLossPolicy::Kill));
        QCOMPARE(c.drainTimeoutMs, 30000);
        QCOMPARE(c.reconnectMaxMs, 10000);
        QCOMPARE(c.version, u"1.2.3"_s);
        QVERIFY(c.workerId.endsWith(u":%1"_s.arg(QCoreApplication::applicationPid())));
        QVERIFY(!c.advertise.isEmpty());
        QVERIFY(c.workDir.startsWith(QDir::tempPath()));
        QVERIFY(!c.workDir.contains(u':'));
        QVERIFY(!c.tls.enabled);
        QVERIFY(c.tags.isEmpty());
    }

    void everyFlag()
    {
        const QString ca = writeFile(u"ca.pem"_s, "-----BEGIN CERTIFICATE-----\n");
        QStringList args = base();
        args << u"--server"_s << u"10.0.0.2:7071,[::1]:7072"_s << u"--tags"_s << u"gpu, eu,gpu"_s
             << u"--threads"_s << u"12"_s << u"--id"_s << u"w-7"_s << u"--advertise"_s
             << u"203.0.113.9"_s << u"--heartbeat-ms"_s << u"250"_s << u"--on-lease-loss"_s
             << u"finish"_s << u"--drain-timeout-ms"_s << u"0"_s << u"--work-dir"_s
             << m_dir.filePath(u"wd"_s) << u"--tls-ca"_s << ca << u"--tls-server-name"_s
             << u"kairos.example"_s << u"--reconnect-max-ms"_s << u"2000"_s;
        const auto parsed = parseWorkerCommandLine(args, u"1"_s);
        QVERIFY2(parsed.ok(), qPrintable(parsed.error()));
        const WorkerConfig &c = parsed->config;
        QCOMPARE(c.servers, (QList<ServerAddress>{
                                {u"127.0.0.1"_s, 7070}, {u"10.0.0.2"_s, 7071}, {u"::1"_s, 7072}}));
        QCOMPARE(c.servers.at(2).toString(), u"[::1]:7072"_s);
        QCOMPARE(c.tags, (QStringList{u"gpu"_s, u"eu"_s}));
        QCOMPARE(c.threads, 12);
        QCOMPARE(c.workerId, u"w-7"_s);
        QCOMPARE(c.advertise, u"203.0.113.9"_s);
        QCOMPARE(c.heartbeatMs, 250);
        QCOMPARE(toString(c.onLeaseLoss), toString(LeaseLossPolicy::Finish));
        QCOMPARE(c.drainTimeoutMs, 0);
        QCOMPARE(c.workDir, m_dir.filePath(u"wd"_s));
        QVERIFY(c.tls.enabled); // implied by --tls-ca
        QCOMPARE(c.tls.caCertificateFile, ca);
        QCOMPARE(c.tls.peerVerifyName, u"kairos.example"_s);
        QVERIFY(c.tls.verifyPeer);
        QCOMPARE(c.reconnectMaxMs, 2000);
        QVERIFY(parsed->warnings.isEmpty());
    }

    void helpAndVersion()
    {
        QCOMPARE(parseWorkerCommandLine({u"kairos-worker"_s, u"--help"_s}, u"1"_s)->action,
                 ParsedCommandLine::Action::Help);
        QCOMPARE(parseWorkerCommandLine({u"kairos-worker"_s, u"--version"_s}, u"1"_s)->action,
                 ParsedCommandLine::Action::Version);
        const QString help = workerHelpText();
        for (const char *flag :
             {"--server", "--app", "--secret-file", "--tags", "--threads", "--id", "--advertise",
              "--heartbeat-ms", "--on-lease-loss", "--drain-timeout-ms", "--work-dir", "--tls",
              "--tls-ca", "--tls-server-name", "--tls-insecure-skip-verify",
              "--reconnect-max-ms"}) {
            QVERIFY2(help.contains(QLatin1String(flag)), flag);
        }
    }

    void errorsNameTheFlag_data()
    {
        QTest::addColumn<QStringList>("args"); // replaces or extends the valid base
        QTest::addColumn<bool>("withoutBase");
        QTest::addColumn<QString>("error");
        QTest::newRow("no server") << QStringList{u"--app"_s, u"a"_s, u"--secret-file"_s, u"x"_s}
                                   << true << u"--server is required"_s;
        QTest::newRow("no app") << QStringList{u"--server"_s, u"h:1"_s, u"--secret-file"_s, u"x"_s}
                                << true << u"--app is required"_s;
        QTest::newRow("no secret file") << QStringList{u"--server"_s, u"h:1"_s, u"--app"_s, u"a"_s}
                                        << true << u"--secret-file is required"_s;
        QTest::newRow("server without port") << QStringList{u"--server"_s, u"localhost"_s} << false
                                             << u"--server: expected HOST:PORT"_s;
        QTest::newRow("server bad port")
            << QStringList{u"--server"_s, u"h:99999"_s} << false
            << u"--server: the port in \"h:99999\" must be a number from 1 to 65535"_s;
        QTest::newRow("server empty entry")
            << QStringList{u"--server"_s, u"h:1,,h:2"_s} << false << u"without empty entries"_s;
        QTest::newRow("bad app") << QStringList{u"--app"_s, u"bil ling"_s} << false
                                 << u"--app: expected 1-64 characters"_s;
        QTest::newRow("threads zero")
            << QStringList{u"--threads"_s, u"0"_s} << false
            << u"--threads: expected a whole number from 1 to 4096, got \"0\""_s;
        QTest::newRow("threads word") << QStringList{u"--threads"_s, u"many"_s} << false
                                      << u"--threads: expected a whole number"_s;
        QTest::newRow("heartbeat too fast") << QStringList{u"--heartbeat-ms"_s, u"1"_s} << false
                                            << u"--heartbeat-ms: expected a whole number from 50"_s;
        QTest::newRow("policy") << QStringList{u"--on-lease-loss"_s, u"pause"_s} << false
                                << u"--on-lease-loss: expected kill or finish, got \"pause\""_s;
        QTest::newRow("drain negative") << QStringList{u"--drain-timeout-ms"_s, u"-1"_s} << false
                                        << u"--drain-timeout-ms: expected a whole number"_s;
        QTest::newRow("reconnect too small")
            << QStringList{u"--reconnect-max-ms"_s, u"10"_s} << false
            << u"--reconnect-max-ms: expected a whole number from 200"_s;
        QTest::newRow("bad tag") << QStringList{u"--tags"_s, u"gpu,has space"_s} << false
                                 << u"--tags: each tag must be"_s;
        QTest::newRow("id with space")
            << QStringList{u"--id"_s, u"my worker"_s} << false << u"--id: expected"_s;
        QTest::newRow("missing ca") << QStringList{u"--tls-ca"_s, u"/nonexistent/ca.pem"_s} << false
                                    << u"--tls-ca /nonexistent/ca.pem: the file does not exist"_s;
        QTest::newRow("unknown flag")
            << QStringList{u"--colour"_s} << false << u"Unknown option 'colour'"_s;
        QTest::newRow("positional")
            << QStringList{u"extra"_s} << false << u"unexpected argument \"extra\""_s;
        QTest::newRow("missing secret file")
            << QStringList{u"--secret-file"_s, u"/nonexistent/secret"_s} << false
            << u"--secret-file /nonexistent/secret: the file does not exist"_s;
    }

    void errorsNameTheFlag()
    {
        QFETCH(QStringList, args);
        QFETCH(bool, withoutBase);
        QFETCH(QString, error);
        const QStringList all =
            withoutBase ? QStringList{u"kairos-worker"_s} + args : base() + args;
        const auto parsed = parseWorkerCommandLine(all, u"1"_s);
        QVERIFY(!parsed.ok());
        QVERIFY2(parsed.error().contains(error), qPrintable(parsed.error()));
    }

    // --- secret file ---

    void secretFile_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("secret");
        QTest::newRow("newline") << QByteArray("abc\n") << u"abc"_s;
        QTest::newRow("crlf") << QByteArray("abc\r\n") << u"abc"_s;
        QTest::newRow("no newline") << QByteArray("abc") << u"abc"_s;
        QTest::newRow("only one newline stripped") << QByteArray("abc\n\n") << u"abc\n"_s;
        QTest::newRow("spaces kept") << QByteArray(" a b \n") << u" a b "_s;
    }

    void secretFile()
    {
        QFETCH(QByteArray, content);
        QFETCH(QString, secret);
        const auto read = readSecretFile(writeFile(u"s-"_s + QTest::currentDataTag(), content));
        QVERIFY2(read.ok(), qPrintable(read.error()));
        QCOMPARE(read->secret, secret);
        QVERIFY(read->warning.isEmpty());
    }

    void secretFileProblems()
    {
        const QString empty = writeFile(u"empty"_s, "\n");
        QVERIFY(readSecretFile(empty).error().contains(u"the file is empty"_s));
        QVERIFY(readSecretFile(m_dir.path()).error().contains(u"is a folder"_s));
        const QString loose =
            writeFile(u"loose"_s, "abc\n", QFile::ReadOwner | QFile::WriteOwner | QFile::ReadOther);
        const auto read = readSecretFile(loose);
        QVERIFY(read.ok());
        QVERIFY2(read->warning.contains(u"chmod 600"_s), qPrintable(read->warning));
        QStringList args = base();
        args.replace(args.indexOf(m_secretFile), loose);
        const auto parsed = parseWorkerCommandLine(args, u"1"_s);
        QVERIFY(parsed.ok());
        QCOMPARE(parsed->warnings.size(), 1);
    }

    // --- reconnect waits ---

    void backoffDoublesWithJitterUpToTheMaximum()
    {
        Backoff backoff(200, 10000, 42);
        const QList<int> bases{200, 400, 800, 1600, 3200, 6400, 10000, 10000};
        for (int base : bases) {
            QCOMPARE(backoff.baseMs(), base);
            const int d = backoff.nextDelayMs();
            QVERIFY2(d >= base * 0.8 && d <= base * 1.2,
                     qPrintable(u"%1 for %2"_s.arg(d).arg(base)));
        }
        backoff.reset();
        QCOMPARE(backoff.baseMs(), 200);
        // The jitter really varies (workers cut off together do not return together).
        QSet<int> seen;
        for (int i = 0; i < 20; ++i) {
            Backoff b(200, 200, quint32(i + 1));
            seen.insert(b.nextDelayMs());
        }
        QVERIFY(seen.size() > 5);
    }

    void rotationTriesEachServerThenWaits()
    {
        const QList<ServerAddress> servers{{u"a"_s, 1}, {u"b"_s, 2}, {u"c"_s, 3}};
        ServerRotation rotation(servers, 200, 1000, 7);
        auto a = rotation.first();
        QCOMPARE(a.server, servers.at(0));
        QCOMPARE(a.delayMs, 0);
        a = rotation.afterFailure();
        QCOMPARE(a.server, servers.at(1));
        QCOMPARE(a.delayMs, 0);
        a = rotation.afterFailure();
        QCOMPARE(a.server, servers.at(2));
        QCOMPARE(a.delayMs, 0);
        // Every server failed: wait, then start over with the first.
        a = rotation.afterFailure();
        QCOMPARE(a.server, servers.at(0));
        QVERIFY(a.delayMs >= 160 && a.delayMs <= 240);
        rotation.afterFailure();
        rotation.afterFailure();
        a = rotation.afterFailure();
        QVERIFY(a.delayMs >= 320 && a.delayMs <= 480);
        // After a registration, a lost connection starts over from the first wait.
        rotation.registered();
        a = rotation.afterLoss();
        QCOMPARE(a.server, servers.at(0));
        QVERIFY(a.delayMs >= 160 && a.delayMs <= 240);
    }

    // --- outbox ---

    void outboxKeepsOrderAndDropsLogLinesFirst()
    {
        Outbox box(5);
        const auto report = [](qint64 i) {
            return TaskReport{i, 1, 0, 1, InstanceStatus::Succeeded, QString(), 0};
        };
        const auto line = [](const QString &text) {
            LogLine l;
            l.instanceId = 1;
            l.text = text;
            return l;
        };
        box.addLines({line(u"l1"_s), line(u"l2"_s)});
        box.addReports({report(1)});
        box.addLines({line(u"l3"_s)});
        box.addReports({report(2), report(3)});
        QCOMPARE(box.size(), 5); // l1 was dropped: the box holds 5
        QCOMPARE(box.dropped(), 1);
        const QList<Outbox::Chunk> chunks = box.takeAll();
        QCOMPARE(chunks.size(), 4);
        QCOMPARE(chunks.at(0).lines.size(), 1);
        QCOMPARE(chunks.at(0).lines.first().text, u"l2"_s);
        QCOMPARE(chunks.at(1).reports.size(), 1);
        QCOMPARE(chunks.at(2).lines.first().text, u"l3"_s);
        QCOMPARE(chunks.at(3).reports.size(), 2);
        QCOMPARE(chunks.at(3).reports.at(1).instanceId, 3);
        QVERIFY(box.isEmpty());
        QCOMPARE(box.dropped(), 0);

        // Only reports left: the oldest report goes.
        Outbox reports(2);
        reports.addReports({report(1), report(2), report(3)});
        const auto kept = reports.takeAll();
        QCOMPARE(kept.size(), 1);
        QCOMPARE(kept.first().reports.first().instanceId, 2);
    }

    // --- lease ---

    void leaseFileAndExpiry()
    {
        const QString path = m_dir.filePath(u"lease"_s);
        LeaseKeeper lease(path);
        QSignalSpy expired(&lease, &LeaseKeeper::expired);
        lease.resetFile();
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), QByteArray("0\n"));
        f.close();
        QVERIFY(!lease.isHeld());

        const qint64 sent = monotonicMs();
        QVERIFY(lease.renew(sent, 300));
        QVERIFY(lease.isHeld());
        QCOMPARE(lease.expiresAtMs(), sent + 300);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), QByteArray::number(sent + 300) + '\n');
        f.close();
        // An older heartbeat's ack does not shorten it; a future stamp is not trusted.
        QVERIFY(!lease.renew(sent - 100, 300));
        QVERIFY(!lease.renew(monotonicMs() + 60000, 300));
        QCOMPARE(lease.expiresAtMs(), sent + 300);

        QVERIFY(expired.wait(3000));
        QVERIFY(monotonicMs() >= sent + 300);
        QVERIFY(expired.first().first().toLongLong() >= 300);
        QVERIFY(!lease.isHeld());
        // Fired once, and a new lease can start and end again.
        QCOMPARE(expired.size(), 1);
        QVERIFY(lease.renew(monotonicMs(), 100));
        QVERIFY(expired.wait(3000));
        QCOMPARE(expired.size(), 2);
    }

    // --- metrics ---

    void procParsers()
    {
        QCOMPARE(MetricsSampler::parseLoadAverage("0.42 0.30 0.25 1/123 4567\n"), 0.42);
        QCOMPARE(MetricsSampler::parseLoadAverage("garbage"), 0.0);
        const auto [avail, total] = MetricsSampler::parseMemInfo(
            "MemTotal:       16318412 kB\nMemFree:         1000000 kB\n"
            "MemAvailable:    9876543 kB\n");
        QCOMPARE(total, 16318412 / 1024);
        QCOMPARE(avail, 9876543 / 1024);
        QCOMPARE(MetricsSampler::parseMemInfo("nothing here").first, 0);
    }

    void samplerReadsThisMachine()
    {
        MetricsSampler sampler(m_dir.path());
        const WorkerMetrics m = sampler.sample(3, 4);
        QVERIFY(m.cpus > 0);
        QVERIFY(m.memTotalMb > 0);
        QVERIFY(m.memFreeMb > 0);
        QVERIFY(m.diskFreeMb > 0);
        QCOMPARE(m.running, 3);
        QCOMPARE(m.queued, 4);

        // A fake /proc proves which files are read.
        QDir(m_dir.path()).mkdir(u"proc"_s);
        writeFile(u"proc/loadavg"_s, "7.50 1 1 1/1 1\n");
        writeFile(u"proc/meminfo"_s, "MemTotal: 2048 kB\nMemAvailable: 1024 kB\n");
        const WorkerMetrics fake =
            MetricsSampler(m_dir.path(), m_dir.filePath(u"proc"_s)).sample(0, 0);
        QCOMPARE(fake.load1, 7.5);
        QCOMPARE(fake.memTotalMb, 2);
        QCOMPARE(fake.memFreeMb, 1);
    }

    // --- task gate ---

    void gateHandsTheRunnerOnlyItsCapacity()
    {
        TaskGate gate;
        gate.configure(1, QString());
        QList<TaskReport> reports;
        connect(&gate, &TaskGate::reports, this,
                [&](const QList<TaskReport> &r, int) { reports += r; });
        gate.submit({sleeping(1, 300), echo(2), echo(3), echo(2)}); // echo(2) twice
        QCOMPARE(gate.heldCount(), 3);
        QCOMPARE(gate.heldKeys().size(), 3);
        QCOMPARE(gate.queuedCount(), 3); // the sleep starts on the runner's next turn

        QTRY_VERIFY_WITH_TIMEOUT(gate.runningCount() == 1, 3000);
        // Not started: taken back without a single report.
        const QList<TaskKey> taken = gate.takeQueued();
        QCOMPARE(taken, (QList<TaskKey>{{2, 1, 0}, {3, 1, 0}}));
        QCOMPARE(gate.heldCount(), 1);
        QTRY_COMPARE_WITH_TIMEOUT(gate.heldCount(), 0, 5000);
        QCOMPARE(reports.size(), 2);
        QCOMPARE(reports.at(0).instanceId, 1);
        QCOMPARE(toString(reports.at(0).status), toString(InstanceStatus::Running));
        QCOMPARE(toString(reports.at(1).status), toString(InstanceStatus::Succeeded));
    }

    void gateCancelsQueuedTasksWithAReportAndRemembersThem()
    {
        TaskGate gate;
        gate.configure(1, QString());
        QList<TaskReport> reports;
        connect(&gate, &TaskGate::reports, this,
                [&](const QList<TaskReport> &r, int) { reports += r; });
        gate.submit({sleeping(1, 60000), echo(2, 0), echo(2, 1), echo(3)});
        QTRY_VERIFY_WITH_TIMEOUT(gate.runningCount() == 1, 3000);
        // One subtask of instance 2, then the long sleep's whole attempt.
        gate.cancel({wire::KeyReason{TaskKey{2, 1, 1}, u"not needed"_s}});
        QCOMPARE(reports.size(), 2); // Running(1), Canceled(2/1)
        QCOMPARE(reports.at(1).taskId, 1);
        QCOMPARE(toString(reports.at(1).status), toString(InstanceStatus::Canceled));
        QCOMPARE(reports.at(1).result, u"not needed"_s);
        gate.cancel({wire::KeyReason{TaskKey{1, 1, -1}, u"stop"_s}});
        QTRY_COMPARE_WITH_TIMEOUT(gate.heldCount(), 0, 5000);
        // A cancelled task sent again does not run.
        gate.submit({echo(2, 1)});
        QCOMPARE(gate.heldCount(), 0);

        QList<TaskKey> succeeded;
        for (const TaskReport &r : reports) {
            if (r.status == InstanceStatus::Succeeded)
                succeeded.append(TaskKey{r.instanceId, r.attempt, r.taskId});
        }
        QCOMPARE(succeeded, (QList<TaskKey>{{2, 1, 0}, {3, 1, 0}}));
    }

    void gateCancelsOneRunAndLeavesItsSiblingsRunning()
    {
        TaskGate gate;
        gate.configure(3, QString());
        QList<TaskReport> reports;
        connect(&gate, &TaskGate::reports, this,
                [&](const QList<TaskReport> &r, int) { reports += r; });
        // Two subtasks of one attempt, and the second run of the first one.
        const TaskSpec one = sleeping(1, 60000, 1);
        const TaskSpec two = sleeping(1, 400, 2);
        const TaskSpec oneAgain = sleeping(1, 60000, 1, 2);
        gate.submit({one, two, oneAgain});
        QTRY_VERIFY_WITH_TIMEOUT(gate.runningCount() == 3, 3000);

        gate.cancel({wire::KeyReason{taskKeyOf(oneAgain), u"superseded"_s}});
        QTRY_COMPARE_WITH_TIMEOUT(gate.heldCount(), 2, 5000);
        // The sibling and the other run of the same task go on: the sibling ends on its own.
        QTRY_COMPARE_WITH_TIMEOUT(gate.heldCount(), 1, 5000);
        QStringList ends;
        for (const TaskReport &r : reports) {
            if (isTerminal(r.status))
                ends << u"%1/%2 %3"_s.arg(r.taskId).arg(r.taskAttempt).arg(toString(r.status));
        }
        QCOMPARE(ends, (QStringList{u"1/2 CANCELED"_s, u"2/1 SUCCEEDED"_s}));
        QCOMPARE(gate.heldKeys(), QList<TaskKey>{taskKeyOf(one)});
        gate.cancel({wire::KeyReason{taskKeyOf(one), u"done"_s}});
        QTRY_COMPARE_WITH_TIMEOUT(gate.heldCount(), 0, 5000);
    }

    // --- outgoing calls ---

    void smallCallsGoOutAsTheyAreAndEachGetsOneReply()
    {
        OutgoingCalls calls;
        const QList<TaskCall> in{mapCall(1, 0, {"a", "b"}), resultsCall(2)};
        QCOMPARE(calls.add(in), in);
        QCOMPARE(calls.pendingCount(), 2);
        TaskCallReply page{2, {}, {TaskResultEntry{}}, true};
        const auto step = calls.onReplies({page, ok(77)}); // 77: never asked
        QCOMPARE(step.toRunner, QList<TaskCallReply>{page});
        QVERIFY(step.toSend.isEmpty());
        // A second reply to the same call is not handed on.
        QVERIFY(calls.onReplies({page}).toRunner.isEmpty());
        QCOMPARE(calls.onReplies({ok(1)}).toRunner, QList<TaskCallReply>{ok(1)});
        QVERIFY(calls.isEmpty());
    }

    void bigMapCallGoesInPartsOneAfterAnother()
    {
        // 10 items of 100 bytes with a 400-byte budget: parts of at most 2 items.
        OutgoingCalls calls(400);
        QList<QByteArray> items;
        for (int i = 0; i < 10; ++i)
            items << QByteArray(100, char('a' + i));
        const QList<TaskCall> first = calls.add({mapCall(1, 50, items)});
        QCOMPARE(first.size(), 1);
        QVERIFY(first[0].callId >= OutgoingCalls::kPartIdBase);
        QCOMPARE(first[0].from, 50);
        QList<QByteArray> seen = first[0].items;
        QList<qint64> froms{first[0].from};
        TaskCall part = first[0];
        int parts = 1;
        while (true) {
            const auto step = calls.onReplies({ok(part.callId)});
            if (!step.toRunner.isEmpty()) {
                // Only when the last part was stored is the processor told.
                QCOMPARE(step.toRunner, QList<TaskCallReply>{ok(1)});
                QVERIFY(step.toSend.isEmpty());
                break;
            }
            QCOMPARE(step.toSend.size(), 1);
            part = step.toSend[0];
            QVERIFY(wire::estimatedSize(part) <= 400 || part.items.size() == 1);
            QCOMPARE(part.from, 50 + seen.size()); // positions continue where the last stopped
            QCOMPARE(part.name, u"number"_s);
            QCOMPARE(part.key, (TaskKey{5, 1, 1, 1}));
            seen += part.items;
            ++parts;
        }
        QCOMPARE(seen, items);
        QVERIFY2(parts >= 5, qPrintable(QString::number(parts)));
        QVERIFY(calls.isEmpty());

        // An error on a part ends the call with that error; the rest is not sent.
        const QList<TaskCall> again = calls.add({mapCall(2, 0, items)});
        auto step = calls.onReplies({ok(again[0].callId)});
        QCOMPARE(step.toSend.size(), 1);
        step = calls.onReplies({TaskCallReply{step.toSend[0].callId, u"refused"_s, {}, false}});
        QCOMPARE(step.toRunner, (QList<TaskCallReply>{TaskCallReply{2, u"refused"_s, {}, false}}));
        QVERIFY(step.toSend.isEmpty());
        QVERIFY(calls.isEmpty());
    }

    void lostConnectionAnswersEveryWaitingCallOnce()
    {
        OutgoingCalls calls(400);
        QList<QByteArray> items(10, QByteArray(100, 'x'));
        const QList<TaskCall> sent = calls.add({mapCall(1, 0, items), resultsCall(2)});
        QCOMPARE(sent.size(), 2);
        (void)calls.onReplies({ok(sent[0].callId)}); // the big one is half way
        QList<TaskCallReply> failed = calls.failAll(u"connection to the server lost"_s);
        std::sort(failed.begin(), failed.end(),
                  [](const auto &a, const auto &b) { return a.callId < b.callId; });
        QCOMPARE(failed,
                 (QList<TaskCallReply>{{1, u"connection to the server lost"_s, {}, false},
                                       {2, u"connection to the server lost"_s, {}, false}}));
        QVERIFY(calls.isEmpty());
        QVERIFY(calls.failAll(u"again"_s).isEmpty());

        // The same id twice while the first waits: the second is answered at once.
        QCOMPARE(calls.add({resultsCall(3)}).size(), 1);
        QVERIFY(calls.add({resultsCall(3)}).isEmpty());
        const auto immediate = calls.takeImmediate();
        QCOMPARE(immediate.size(), 1);
        QCOMPARE(immediate[0].callId, 3u);
        QVERIFY(immediate[0].error.contains(u"already waiting"_s));
        QCOMPARE(calls.pendingCount(), 1);
    }

    void gateCancelAllReachesQueuedAndRunning()
    {
        TaskGate gate;
        gate.configure(1, QString());
        QList<TaskReport> reports;
        connect(&gate, &TaskGate::reports, this,
                [&](const QList<TaskReport> &r, int) { reports += r; });
        gate.submit({sleeping(1, 60000), sleeping(2, 60000)});
        QTRY_VERIFY_WITH_TIMEOUT(gate.runningCount() == 1, 3000);
        gate.cancelAll(u"lease lost"_s);
        QTRY_COMPARE_WITH_TIMEOUT(gate.heldCount(), 0, 5000);
        int canceled = 0;
        for (const TaskReport &r : reports)
            canceled += r.status == InstanceStatus::Canceled && r.result == u"lease lost"_s;
        QCOMPARE(canceled, 2);
    }
};

QTEST_GUILESS_MAIN(TstAgentParts)
#include "tst_agent_parts.moc"
