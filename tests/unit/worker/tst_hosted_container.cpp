// HostedContainer with the real kairos-container-host on the fixture containers: runs in the
// host, concurrent runs, calls to the server through the host, crashes (the run fails naming the
// signal, the next run gets a fresh host), hangs (the host is retired after the grace and killed
// once its other runs end), load failures, and unloading (the host process is gone).
#include "container_test_util.h"

#include <worker/hosted_container.h>

#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <signal.h>
#include <unistd.h>

using namespace kairos;
using namespace kairos::test;

namespace {

std::unique_ptr<HostedContainer> hosted(const QString &file, const QString &name,
                                        const QString &version, int hangGraceMs = 5000)
{
    LoadedContainerSpec spec = containerSpec(ContainerIsolation::Process, file, name, version);
    spec.hangGraceMs = hangGraceMs;
    spec.quitGraceMs = 1000;
    return std::make_unique<HostedContainer>(spec);
}

// The side file's lines, once it has `count` complete ones.
QStringList sideLines(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QStringList lines = QString::fromUtf8(f.readAll()).split(u'\n');
    lines.removeAll(QString());
    return lines;
}

struct StartedRun {
    std::unique_ptr<ProcessorRun> run;
    std::unique_ptr<RunRecorder> recorder;
};

StartedRun startRun(LoadedContainer &c, const TaskSpec &spec, const QString &processor)
{
    Result<std::unique_ptr<ProcessorRun>> run = c.createRun(spec, processor, {});
    if (!run.ok()) {
        qWarning("createRun: %s", qPrintable(run.error()));
        return {};
    }
    StartedRun s;
    s.run = std::move(*run);
    s.recorder = std::make_unique<RunRecorder>(s.run.get());
    s.run->start();
    return s;
}

} // namespace

class TestHostedContainer : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY2(QFile::exists(fixture(QStringLiteral("hello-v1.so"))),
                 "build the test containers first (target kairos_test_containers)");
        QVERIFY2(QFile::exists(hostProgram()), "build kairos-container-host first");
    }

    void greetRunsInTheHost_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("version");
        QTest::addColumn<QString>("label");
        QTest::newRow("v1") << "hello-v1.so"
                            << "1.0"
                            << "v1";
        QTest::newRow("v2") << "hello-v2.so"
                            << "2.0"
                            << "v2";
    }

    // The run's log line and result come back from the host; it ran in the host's process.
    void greetRunsInTheHost()
    {
        QFETCH(QString, file);
        QFETCH(QString, version);
        QFETCH(QString, label);
        QTemporaryDir dir;
        const QString side = dir.filePath(QStringLiteral("side.txt"));
        auto c = hosted(file, QStringLiteral("hello"), version);
        QSignalSpy started(c.get(), &HostedContainer::hostStarted);
        QCOMPARE(loadAndWait(*c), QString());
        QCOMPARE(c->processorNames(),
                 (QStringList{QStringLiteral("greet"), QStringLiteral("noop")}));
        QCOMPARE(started.count(), 1);
        const qint64 pid = c->currentHostPid();
        QCOMPARE(started.at(0).at(0).toLongLong(), pid);
        QVERIFY(pid > 0 && pid != ::getpid());
        QVERIFY(processAlive(pid));

        const auto rec =
            runToEnd(*c, containerTask(7, QStringLiteral("hello#greet"), {{"sideFile", side}}),
                     QStringLiteral("greet"));
        QVERIFY(rec);
        KAIROS_COMPARE_STATUS(rec->status, InstanceStatus::Succeeded);
        QCOMPARE(rec->result, label);
        QCOMPARE(rec->texts(LogStream::Stdout), QStringList{label});
        QCOMPARE(sideLines(side), QStringList{QStringLiteral("%1 7 %2").arg(label).arg(pid)});
        QTRY_COMPARE_WITH_TIMEOUT(c->busyCount(), 0, 5000);
        QCOMPARE(c->currentHostPid(), pid);
    }

    // Several runs at once in one host, on its pool.
    void concurrentRunsInOneHost()
    {
        QTemporaryDir dir;
        const QString side = dir.filePath(QStringLiteral("side.txt"));
        auto c =
            hosted(QStringLiteral("hello-v1.so"), QStringLiteral("hello"), QStringLiteral("1.0"));
        QCOMPARE(loadAndWait(*c), QString());
        const qint64 pid = c->currentHostPid();
        std::vector<StartedRun> runs;
        for (int i = 1; i <= 4; ++i) {
            runs.push_back(startRun(*c,
                                    containerTask(i, QStringLiteral("hello#greet"),
                                                  {{"sideFile", side}, {"sleepMs", 1500}}),
                                    QStringLiteral("greet")));
            QVERIFY(runs.back().run);
        }
        QCOMPARE(c->busyCount(), 4);
        // All four have started (each writes its line first) while none has finished.
        QTRY_COMPARE_WITH_TIMEOUT(sideLines(side).size(), 4, 5000);
        for (const StartedRun &r : runs)
            QCOMPARE(r.recorder->finishCount, 0);
        for (const StartedRun &r : runs) {
            QTRY_COMPARE_WITH_TIMEOUT(r.recorder->finishCount, 1, 10000);
            KAIROS_COMPARE_STATUS(r.recorder->status, InstanceStatus::Succeeded);
        }
        for (const QString &line : sideLines(side))
            QVERIFY2(line.endsWith(QStringLiteral(" %1").arg(pid)), qPrintable(line));
        QTRY_COMPARE_WITH_TIMEOUT(c->busyCount(), 0, 5000);
    }

    // A map-reduce processor's calls go through the host: the test plays the server.
    void callsGoThroughTheHost()
    {
        auto c =
            hosted(QStringLiteral("mapsum.so"), QStringLiteral("mapsum"), QStringLiteral("1.0"));
        QCOMPARE(loadAndWait(*c), QString());

        TaskSpec root = containerTask(3, QStringLiteral("mapsum#sum"), {{"count", 5}});
        root.mode = ExecutionMode::MapReduce;
        root.role = TaskRole::Root;
        root.taskName = QStringLiteral("root");
        QList<TaskCall> calls;
        Result<std::unique_ptr<ProcessorRun>> run = c->createRun(root, QStringLiteral("sum"), {});
        QVERIFY2(run.ok(), qPrintable(run.error()));
        ProcessorRun *r = run->get();
        connect(r, &ProcessorRun::callRequested, this,
                [&](const TaskCall &call) { calls << call; });
        RunRecorder rec(r);
        r->start();
        QTRY_COMPARE_WITH_TIMEOUT(calls.size(), 1, 10000);
        QCOMPARE(calls.at(0).op, TaskCall::Op::Map);
        QCOMPARE(calls.at(0).key, taskKeyOf(root));
        QCOMPARE(calls.at(0).name, QStringLiteral("number"));
        QCOMPARE(calls.at(0).items, (QList<QByteArray>{"1", "2", "3", "4", "5"}));
        QCOMPARE(rec.finishCount, 0); // blocked in map() until the "server" answers
        r->callAnswered(TaskCallReply{calls.at(0).callId, {}, {}, false});
        QTRY_COMPARE_WITH_TIMEOUT(rec.finishCount, 1, 10000);
        KAIROS_COMPARE_STATUS(rec.status, InstanceStatus::Succeeded);
        QCOMPARE(rec.result, QStringLiteral("mapped 5"));

        TaskSpec reduce = containerTask(3, QStringLiteral("mapsum#sum"), {{"count", 5}});
        reduce.mode = ExecutionMode::MapReduce;
        reduce.role = TaskRole::Reduce;
        reduce.taskId = 9;
        reduce.taskName = QStringLiteral("reduce");
        calls.clear();
        Result<std::unique_ptr<ProcessorRun>> reduceRun =
            c->createRun(reduce, QStringLiteral("sum"), {});
        QVERIFY(reduceRun.ok());
        ProcessorRun *rr = reduceRun->get();
        connect(rr, &ProcessorRun::callRequested, this,
                [&](const TaskCall &call) { calls << call; });
        RunRecorder reduceRec(rr);
        rr->start();
        QTRY_COMPARE_WITH_TIMEOUT(calls.size(), 1, 10000);
        QCOMPARE(calls.at(0).op, TaskCall::Op::Results);
        TaskCallReply page{calls.at(0).callId, {}, {}, true};
        for (int i = 1; i <= 5; ++i) {
            TaskResultEntry e;
            e.taskId = i;
            e.name = QStringLiteral("number");
            e.status = InstanceStatus::Succeeded;
            e.result = QString::number(i);
            page.results << e;
        }
        rr->callAnswered(page);
        QTRY_COMPARE_WITH_TIMEOUT(reduceRec.finishCount, 1, 10000);
        KAIROS_COMPARE_STATUS(reduceRec.status, InstanceStatus::Succeeded);
        QCOMPARE(reduceRec.result, QStringLiteral("15"));
        QCOMPARE(reduceRec.texts(LogStream::Stdout), QStringList{QStringLiteral("sum is 15")});
    }

    void crashFailsTheRunAndTheNextRunGetsANewHost_data()
    {
        QTest::addColumn<QString>("processor");
        QTest::addColumn<QString>("signal");
        QTest::newRow("null write") << "segv"
                                    << "SIGSEGV (Segmentation fault)";
        QTest::newRow("abort") << "abort"
                               << "SIGABRT (Aborted)";
    }

    // A crash fails every run of that host, naming the signal and the version; the version
    // stays loaded and the next run is served by a fresh host.
    void crashFailsTheRunAndTheNextRunGetsANewHost()
    {
        QFETCH(QString, processor);
        QFETCH(QString, signal);
        auto c =
            hosted(QStringLiteral("crashy.so"), QStringLiteral("crashy"), QStringLiteral("1.0"));
        QCOMPARE(loadAndWait(*c), QString());
        QSignalSpy exited(c.get(), &HostedContainer::hostExited);
        const qint64 firstPid = c->currentHostPid();
        const QString expected =
            QStringLiteral("container host crashed: %1 in %2").arg(signal, c->describe());

        // A bystander in the same host goes down with it.
        StartedRun bystander =
            startRun(*c, containerTask(1, QStringLiteral("crashy#hang")), QStringLiteral("hang"));
        QVERIFY(bystander.run);
        const auto rec =
            runToEnd(*c, containerTask(2, QStringLiteral("crashy#") + processor), processor);
        QVERIFY(rec);
        KAIROS_COMPARE_STATUS(rec->status, InstanceStatus::Failed);
        QCOMPARE(rec->result, expected);
        QTRY_COMPARE_WITH_TIMEOUT(bystander.recorder->finishCount, 1, 5000);
        KAIROS_COMPARE_STATUS(bystander.recorder->status, InstanceStatus::Failed);
        QCOMPARE(bystander.recorder->result, expected);
        QCOMPARE(exited.count(), 1);
        QCOMPARE(exited.at(0).at(0).toLongLong(), firstPid);
        QVERIFY(!processAlive(firstPid));
        QVERIFY(c->isLoaded());
        QTRY_COMPARE_WITH_TIMEOUT(c->busyCount(), 0, 5000);

        const auto ok =
            runToEnd(*c, containerTask(3, QStringLiteral("crashy#ok")), QStringLiteral("ok"));
        QVERIFY(ok);
        KAIROS_COMPARE_STATUS(ok->status, InstanceStatus::Succeeded);
        QCOMPARE(ok->result, QStringLiteral("ok"));
        const qint64 secondPid = c->currentHostPid();
        QVERIFY(secondPid > 0 && secondPid != firstPid);
        QVERIFY(processAlive(secondPid));
    }

    // A processor that ignores its cancel: the run ends TIMED_OUT at once; after the grace its
    // host is retired, new runs go to a fresh host, and the retired one is killed only once its
    // other run has ended.
    void hangRetiresTheHostAfterTheGrace()
    {
        auto c = hosted(QStringLiteral("crashy.so"), QStringLiteral("crashy"),
                        QStringLiteral("1.0"), /*hangGraceMs=*/500);
        QCOMPARE(loadAndWait(*c), QString());
        QSignalSpy retired(c.get(), &HostedContainer::hostRetired);
        QSignalSpy exited(c.get(), &HostedContainer::hostExited);
        const qint64 firstPid = c->currentHostPid();

        StartedRun hang =
            startRun(*c, containerTask(1, QStringLiteral("crashy#hang")), QStringLiteral("hang"));
        QVERIFY(hang.run);
        // Once a later run has been served, the hang is surely inside its processor.
        StartedRun ok1 =
            startRun(*c, containerTask(2, QStringLiteral("crashy#ok")), QStringLiteral("ok"));
        QVERIFY(ok1.run);
        QTRY_COMPARE_WITH_TIMEOUT(ok1.recorder->finishCount, 1, 5000);
        QElapsedTimer sinceCancel;
        sinceCancel.start();
        hang.run->timeOut(300);
        QTRY_COMPARE_WITH_TIMEOUT(hang.recorder->finishCount, 1, 2000);
        KAIROS_COMPARE_STATUS(hang.recorder->status, InstanceStatus::TimedOut);
        QCOMPARE(hang.recorder->result, QStringLiteral("timed out after 300 ms"));
        QCOMPARE(c->busyCount(), 1); // its processor never returned
        QCOMPARE(retired.count(), 0);

        QTRY_COMPARE_WITH_TIMEOUT(retired.count(), 1, 5000);
        QVERIFY(sinceCancel.elapsed() >= 500);
        QCOMPARE(retired.at(0).at(0).toLongLong(), firstPid);
        // Nothing else ran there: it is killed now, and its hung run released.
        QTRY_COMPARE_WITH_TIMEOUT(exited.count(), 1, 5000);
        QVERIFY(!processAlive(firstPid));
        QTRY_COMPARE_WITH_TIMEOUT(c->busyCount(), 0, 5000);
        QCOMPARE(hang.recorder->finishCount, 1);

        const auto ok =
            runToEnd(*c, containerTask(3, QStringLiteral("crashy#ok")), QStringLiteral("ok"));
        QVERIFY(ok);
        KAIROS_COMPARE_STATUS(ok->status, InstanceStatus::Succeeded);
        QVERIFY(c->currentHostPid() != firstPid);
    }

    void retiredHostWaitsForItsOtherRuns()
    {
        // linger's own `linger` is the hung one here (lingerMs far beyond the grace) and `quick`
        // needs a new host; a second linger run with a shorter time keeps the old host alive.
        auto c = hosted(QStringLiteral("linger.so"), QStringLiteral("linger"),
                        QStringLiteral("1.0"), /*hangGraceMs=*/300);
        QCOMPARE(loadAndWait(*c), QString());
        QSignalSpy retired(c.get(), &HostedContainer::hostRetired);
        QSignalSpy exited(c.get(), &HostedContainer::hostExited);
        const qint64 firstPid = c->currentHostPid();

        StartedRun stuck =
            startRun(*c, containerTask(1, QStringLiteral("linger#linger"), {{"lingerMs", 60000}}),
                     QStringLiteral("linger"));
        StartedRun busy =
            startRun(*c, containerTask(2, QStringLiteral("linger#linger"), {{"lingerMs", 2000}}),
                     QStringLiteral("linger"));
        QVERIFY(stuck.run && busy.run);
        QTRY_COMPARE_WITH_TIMEOUT(stuck.recorder->lines.size(), 1, 5000);
        QTRY_COMPARE_WITH_TIMEOUT(busy.recorder->lines.size(), 1, 5000);
        stuck.run->cancel(QStringLiteral("stop"));
        QTRY_COMPARE_WITH_TIMEOUT(stuck.recorder->finishCount, 1, 2000);
        KAIROS_COMPARE_STATUS(stuck.recorder->status, InstanceStatus::Canceled);

        QTRY_COMPARE_WITH_TIMEOUT(retired.count(), 1, 5000);
        // Retired but still running the other run: alive, and new runs go elsewhere.
        QVERIFY(processAlive(firstPid));
        QCOMPARE(busy.recorder->finishCount, 0);
        const auto quick =
            runToEnd(*c, containerTask(3, QStringLiteral("linger#quick")), QStringLiteral("quick"));
        QVERIFY(quick);
        QCOMPARE(quick->result, QStringLiteral("quick"));
        QVERIFY(c->currentHostPid() != firstPid);
        QCOMPARE(c->liveHostCount(), 2);
        QCOMPARE(exited.count(), 0);

        // The other run ends normally, then the retired host is killed.
        QTRY_COMPARE_WITH_TIMEOUT(busy.recorder->finishCount, 1, 10000);
        KAIROS_COMPARE_STATUS(busy.recorder->status, InstanceStatus::Succeeded);
        QCOMPARE(busy.recorder->result, QStringLiteral("done"));
        QTRY_COMPARE_WITH_TIMEOUT(exited.count(), 1, 5000);
        QCOMPARE(exited.at(0).at(0).toLongLong(), firstPid);
        QVERIFY(!processAlive(firstPid));
        QCOMPARE(c->liveHostCount(), 1);
        QTRY_COMPARE_WITH_TIMEOUT(c->busyCount(), 0, 5000);
    }

    // A cancel that the processor honours late is not a hang: the run ends Canceled at once,
    // the version stays busy until the host says `released`, and the host is not retired.
    void slowCancelIsReleasedWithoutRetiring()
    {
        auto c = hosted(QStringLiteral("linger.so"), QStringLiteral("linger"),
                        QStringLiteral("1.0"), /*hangGraceMs=*/5000);
        QCOMPARE(loadAndWait(*c), QString());
        QSignalSpy retired(c.get(), &HostedContainer::hostRetired);
        const qint64 pid = c->currentHostPid();
        StartedRun run =
            startRun(*c, containerTask(1, QStringLiteral("linger#linger"), {{"lingerMs", 700}}),
                     QStringLiteral("linger"));
        QVERIFY(run.run);
        QTRY_COMPARE_WITH_TIMEOUT(run.recorder->lines.size(), 1, 5000);
        run.run->cancel(QStringLiteral("stop"));
        QTRY_COMPARE_WITH_TIMEOUT(run.recorder->finishCount, 1, 2000);
        KAIROS_COMPARE_STATUS(run.recorder->status, InstanceStatus::Canceled);
        QCOMPARE(run.recorder->result, QStringLiteral("stop"));
        run.run.reset();
        QCOMPARE(c->busyCount(), 1);
        QTRY_COMPARE_WITH_TIMEOUT(c->busyCount(), 0, 5000);
        QCOMPARE(retired.count(), 0);
        QCOMPARE(c->currentHostPid(), pid);
    }

    void loadFailures_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("program");
        QTest::addColumn<QString>("error"); // the start of it; %1: describe()
        QTest::newRow("metadata lists a processor the library lacks")
            << "missingproc.so" << QString()
            << "metadata lists 'ghost' but the library does not offer it";
        QTest::newRow("host exits before hello")
            << "hello-v1.so"
            << "/bin/false"
            << "container host exited with code 1 while loading %1";
        QTest::newRow("no such host program")
            << "hello-v1.so"
            << "/nonexistent/kairos-container-host"
            << "cannot start the container host '/nonexistent/kairos-container-host' for %1: ";
    }

    // A host that cannot load says why, and no host process is left.
    void loadFailures()
    {
        QFETCH(QString, file);
        QFETCH(QString, program);
        QFETCH(QString, error);
        LoadedContainerSpec spec = containerSpec(ContainerIsolation::Process, file,
                                                 QStringLiteral("x"), QStringLiteral("1"));
        if (!program.isEmpty())
            spec.hostProgram = program;
        HostedContainer c(spec);
        const QString reason = loadAndWait(c);
        const QString expected =
            error.contains(QLatin1String("%1")) ? error.arg(c.describe()) : error;
        QVERIFY2(reason.startsWith(expected), qPrintable(reason));
        qInfo("%s", qPrintable(reason));
        QVERIFY(!c.isLoaded());
        QTRY_COMPARE_WITH_TIMEOUT(c.liveHostCount(), 0, 5000);
        QVERIFY(
            !c.createRun(containerTask(1, QStringLiteral("x#greet")), QStringLiteral("greet"), {})
                 .ok());
    }

    // A host that never says hello is given up (and killed) after the hello timeout.
    void silentHostTimesOut()
    {
        QTemporaryDir dir;
        const QString script = dir.filePath(QStringLiteral("silent-host"));
        QFile f(script);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("#!/bin/sh\necho $$ > \"$0.pid\"\nexec sleep 30\n");
        f.close();
        QVERIFY(f.setPermissions(f.permissions() | QFileDevice::ExeUser));
        LoadedContainerSpec spec =
            containerSpec(ContainerIsolation::Process, QStringLiteral("hello-v1.so"),
                          QStringLiteral("hello"), QStringLiteral("1.0"));
        spec.hostProgram = script;
        HostedContainer c(spec);
        c.setHelloTimeoutMs(500);
        QElapsedTimer elapsed;
        elapsed.start();
        QCOMPARE(loadAndWait(c), QStringLiteral("container host did not start within 0.5 s"));
        QVERIFY(elapsed.elapsed() >= 500);
        const qint64 pid = readPid(script + QStringLiteral(".pid"));
        QVERIFY(pid > 0);
        QTRY_VERIFY_WITH_TIMEOUT(!processAlive(pid), 5000);
        QCOMPARE(c.liveHostCount(), 0);
    }

    // Unloading ends the host process; unloaded() comes once it is gone.
    void unloadEndsTheHost()
    {
        auto c =
            hosted(QStringLiteral("hello-v2.so"), QStringLiteral("hello"), QStringLiteral("2.0"));
        QCOMPARE(loadAndWait(*c), QString());
        const qint64 pid = c->currentHostPid();
        StartedRun run =
            startRun(*c, containerTask(1, QStringLiteral("hello#greet"), {{"sleepMs", 300}}),
                     QStringLiteral("greet"));
        QVERIFY(run.run);
        QSignalSpy unloaded(c.get(), &LoadedContainer::unloaded);
        c->unloadWhenDrained();
        QVERIFY(!c->createRun(containerTask(2, QStringLiteral("hello#greet")),
                              QStringLiteral("greet"), {})
                     .ok());
        // The run in flight finishes on it first.
        QTRY_COMPARE_WITH_TIMEOUT(run.recorder->finishCount, 1, 5000);
        KAIROS_COMPARE_STATUS(run.recorder->status, InstanceStatus::Succeeded);
        QCOMPARE(run.recorder->result, QStringLiteral("v2"));
        QTRY_COMPARE_WITH_TIMEOUT(unloaded.count(), 1, 5000);
        QVERIFY(!processAlive(pid));
        QCOMPARE(c->liveHostCount(), 0);
        QVERIFY(!c->isLoaded());
    }

    // A host killed from outside (the OOM killer, an operator) fails its runs naming the signal.
    void hostKilledFromOutside()
    {
        auto c =
            hosted(QStringLiteral("linger.so"), QStringLiteral("linger"), QStringLiteral("1.0"));
        QCOMPARE(loadAndWait(*c), QString());
        const qint64 pid = c->currentHostPid();
        StartedRun run =
            startRun(*c, containerTask(1, QStringLiteral("linger#linger"), {{"lingerMs", 60000}}),
                     QStringLiteral("linger"));
        QVERIFY(run.run);
        QTRY_COMPARE_WITH_TIMEOUT(run.recorder->lines.size(), 1, 5000);
        QCOMPARE(::kill(pid_t(pid), SIGKILL), 0);
        QTRY_COMPARE_WITH_TIMEOUT(run.recorder->finishCount, 1, 5000);
        KAIROS_COMPARE_STATUS(run.recorder->status, InstanceStatus::Failed);
        QCOMPARE(
            run.recorder->result,
            QStringLiteral("container host crashed: SIGKILL (Killed) in %1").arg(c->describe()));
        QTRY_COMPARE_WITH_TIMEOUT(c->busyCount(), 0, 5000);
    }

    // The host dies with its worker (parent-death signal), even when the worker is SIGKILLed
    // and nothing of it can clean up.
    void hostDiesWithTheWorker()
    {
        QProcess worker;
        worker.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        worker.start(QStringLiteral(KAIROS_BIN_DIR "/kairos-test-host-parent"),
                     {hostProgram(), fixture(QStringLiteral("hello-v1.so"))});
        QVERIFY2(worker.waitForStarted(5000), qPrintable(worker.errorString()));
        QByteArray out;
        QDeadlineTimer deadline(15000);
        while (!out.contains('\n') && !deadline.hasExpired()
               && worker.waitForReadyRead(int(qMax<qint64>(1, deadline.remainingTime()))))
            out += worker.readAllStandardOutput();
        QVERIFY2(out.startsWith("host "), out.constData());
        const qint64 hostPid = out.mid(5).trimmed().toLongLong();
        QVERIFY(processAlive(hostPid));
        worker.kill();
        QVERIFY(worker.waitForFinished(5000));
        QTRY_VERIFY_WITH_TIMEOUT(!processAlive(hostPid), 5000);
    }

    // Destroying the container kills its host at once and fails what was still running.
    void destroyingKillsTheHost()
    {
        auto c =
            hosted(QStringLiteral("linger.so"), QStringLiteral("linger"), QStringLiteral("1.0"));
        QCOMPARE(loadAndWait(*c), QString());
        const qint64 pid = c->currentHostPid();
        const QString describe = c->describe();
        StartedRun run =
            startRun(*c, containerTask(1, QStringLiteral("linger#linger"), {{"lingerMs", 60000}}),
                     QStringLiteral("linger"));
        QVERIFY(run.run);
        QTRY_COMPARE_WITH_TIMEOUT(run.recorder->lines.size(), 1, 5000);
        c.reset();
        QVERIFY(!processAlive(pid));
        QCOMPARE(run.recorder->finishCount, 1);
        KAIROS_COMPARE_STATUS(run.recorder->status, InstanceStatus::Failed);
        QCOMPARE(run.recorder->result,
                 QStringLiteral("the container %1 was unloaded").arg(describe));
    }
};

QTEST_GUILESS_MAIN(TestHostedContainer)
#include "tst_hosted_container.moc"
