// TaskRunner as the worker uses it: idempotent accepts, a capacity with a FIFO queue, batched
// reports, cancel and timeout, and no script outliving the runner or the process it lives in.
#include "worker_test_util.h"

#include <worker/task_runner.h>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <csignal>

using namespace kairos;
using namespace kairos::test;

namespace {

TaskSpec spec(qint64 instanceId, ProcessorKind kind, const QJsonObject &config, int attempt = 1,
              qint64 taskId = 0)
{
    TaskSpec s;
    s.instanceId = instanceId;
    s.attempt = attempt;
    s.taskId = taskId;
    s.jobName = QStringLiteral("job-%1").arg(instanceId);
    s.processor = kind;
    s.config = config;
    return s;
}

TaskSpec echoSpec(qint64 instanceId, int attempt = 1, qint64 taskId = 0)
{
    return spec(instanceId, ProcessorKind::Echo, QJsonObject{{"message", "hi"}}, attempt, taskId);
}

TaskSpec sleepSpec(qint64 instanceId, int ms)
{
    return spec(instanceId, ProcessorKind::Sleep, QJsonObject{{"ms", ms}});
}

TaskSpec shellSpec(qint64 instanceId, const QString &script)
{
    return spec(instanceId, ProcessorKind::Shell, QJsonObject{{"script", script}});
}

QString pidRecordingScript(const QString &dir, const QString &prefix = QString())
{
    return prefix
           + QStringLiteral("echo $$ > '%1/script.tmp' && mv '%1/script.tmp' '%1/script.pid'\n"
                            "sleep 30 &\n"
                            "echo $! > '%1/bg.tmp' && mv '%1/bg.tmp' '%1/bg.pid'\n"
                            "while :; do sleep 1; done\n")
                 .arg(dir);
}

// Everything a runner emitted, plus how it was batched.
class Collector : public QObject {
public:
    explicit Collector(TaskRunner *runner)
    {
        connect(runner, &TaskRunner::reports, this, [this, runner](const QList<TaskReport> &b) {
            ++reportEmissions;
            reports += b;
            maxRunning = std::max(maxRunning, runner->runningCount());
            for (const TaskReport &r : b) {
                if (isTerminal(r.status))
                    logsBeforeTerminal.insert(r.instanceId, logs.size());
            }
        });
        connect(runner, &TaskRunner::logs, this, [this](const QList<LogLine> &b) {
            ++logEmissions;
            logs += b;
        });
    }

    QList<TaskReport> of(qint64 instanceId) const
    {
        QList<TaskReport> out;
        for (const TaskReport &r : reports) {
            if (r.instanceId == instanceId)
                out << r;
        }
        return out;
    }

    QStringList statusesOf(qint64 instanceId) const
    {
        QStringList out;
        for (const TaskReport &r : of(instanceId))
            out << toString(r.status);
        return out;
    }

    int indexOf(qint64 instanceId, InstanceStatus status) const
    {
        for (int i = 0; i < reports.size(); ++i) {
            if (reports[i].instanceId == instanceId && reports[i].status == status)
                return i;
        }
        return -1;
    }

    QList<TaskReport> reports;
    QList<LogLine> logs;
    QHash<qint64, qsizetype> logsBeforeTerminal;
    int reportEmissions = 0;
    int logEmissions = 0;
    int maxRunning = 0;
};

} // namespace

class TstTaskRunner : public QObject {
    Q_OBJECT
private slots:
    void submitIsIdempotent();
    void runsOfOneTaskAreKeyedByRunNumber();
    void recentLimitBoundsMemory();
    void capacityQueuesInOrder();
    void batchesReportsAndMeasuresEchoThroughput();
    void logsCarryTheTaskIdentity();
    void cancelQueuedAndRunning();
    void cancelAll();
    void cancelTaskStopsOnlyThatRun_data();
    void cancelTaskStopsOnlyThatRun();
    void callsLeaveBeforeReportsAndRepliesFindTheirRun();
    void timeouts_data();
    void timeouts();
    void shellTimeoutKillsWholeGroup();
    void invalidTasksFailWithReason_data();
    void invalidTasksFailWithReason();
    void destroyingRunnerKillsScripts();
    void runsOnItsOwnThread();
    void scriptsDieWithKilledWorker_data();
    void scriptsDieWithKilledWorker();
};

void TstTaskRunner::submitIsIdempotent()
{
    TaskRunner runner;
    Collector c(&runner);
    QVERIFY(runner.submit(echoSpec(1)));
    QVERIFY(!runner.submit(echoSpec(1)));      // same task while queued
    QVERIFY(runner.submit(echoSpec(1, 1, 2))); // another task of the instance
    QVERIFY(runner.submit(echoSpec(1, 2)));    // the next attempt
    QTRY_COMPARE_WITH_TIMEOUT(c.reports.size(), 6, 5000);
    QVERIFY(!runner.submit(echoSpec(1))); // same task after it finished
    QVERIFY(runner.submit(echoSpec(2)));
    QTRY_COMPARE_WITH_TIMEOUT(c.of(2).size(), 2, 5000);
    QCOMPARE(c.reports.size(), 8); // the duplicates never ran
    int firstTask = 0;
    for (const TaskReport &r : std::as_const(c.reports))
        firstTask += (r.instanceId == 1 && r.attempt == 1 && r.taskId == 0) ? 1 : 0;
    QCOMPARE(firstTask, 2); // Running + Succeeded, once
}

void TstTaskRunner::runsOfOneTaskAreKeyedByRunNumber()
{
    // A failover or per-task retry sends the same task again with the next run number: a new
    // run, not a duplicate. The same run twice is still a duplicate.
    TaskRunner runner;
    Collector c(&runner);
    TaskSpec first = echoSpec(1, 1, 5);
    TaskSpec second = first;
    second.taskAttempt = 2;
    QVERIFY(runner.submit(first));
    QVERIFY(runner.submit(second));
    QVERIFY(!runner.submit(second));
    QTRY_COMPARE_WITH_TIMEOUT(c.reports.size(), 4, 5000);
    QVERIFY(!runner.submit(first));
    QStringList seen;
    for (const TaskReport &r : std::as_const(c.reports))
        seen << QStringLiteral("%1/%2 %3").arg(r.taskId).arg(r.taskAttempt).arg(toString(r.status));
    seen.sort();
    QCOMPARE(seen, (QStringList{"5/1 RUNNING", "5/1 SUCCEEDED", "5/2 RUNNING", "5/2 SUCCEEDED"}));
}

void TstTaskRunner::recentLimitBoundsMemory()
{
    TaskRunner runner;
    runner.setRecentLimit(1);
    Collector c(&runner);
    QVERIFY(runner.submit(echoSpec(1)));
    QVERIFY(runner.submit(echoSpec(2)));
    QTRY_COMPARE_WITH_TIMEOUT(c.reports.size(), 4, 5000);
    QVERIFY(!runner.submit(echoSpec(2))); // still remembered
    QVERIFY(runner.submit(echoSpec(1)));  // forgotten: only the last finished task is kept
}

void TstTaskRunner::capacityQueuesInOrder()
{
    TaskRunner runner;
    runner.setCapacity(2);
    Collector c(&runner);
    for (int i = 1; i <= 5; ++i)
        QVERIFY(runner.submit(sleepSpec(i, 100)));
    QCOMPARE(runner.queuedCount(), 5);
    QTRY_COMPARE_WITH_TIMEOUT(c.reports.size(), 10, 10000);
    QCOMPARE(c.maxRunning, 2);
    QList<qint64> startOrder;
    for (const TaskReport &r : std::as_const(c.reports)) {
        if (r.status == InstanceStatus::Running)
            startOrder << r.instanceId;
        else
            QCOMPARE(toString(r.status), toString(InstanceStatus::Succeeded));
    }
    QCOMPARE(startOrder, (QList<qint64>{1, 2, 3, 4, 5}));
    // The third task waited for a free slot.
    const int firstDone =
        std::min(c.indexOf(1, InstanceStatus::Succeeded), c.indexOf(2, InstanceStatus::Succeeded));
    QVERIFY(c.indexOf(3, InstanceStatus::Running) > firstDone);
    QCOMPARE(runner.runningCount(), 0);
    QCOMPARE(runner.queuedCount(), 0);
}

void TstTaskRunner::batchesReportsAndMeasuresEchoThroughput()
{
    constexpr int kTasks = 10000;
    TaskRunner runner;
    Collector c(&runner);
    qint64 doneAfterMs = -1;
    QElapsedTimer clock;
    connect(&runner, &TaskRunner::reports, &c, [&] {
        if (c.reports.size() == 2 * kTasks)
            doneAfterMs = clock.elapsed();
    });
    clock.start();
    for (int i = 1; i <= kTasks; ++i)
        runner.submit(echoSpec(i));
    QTRY_VERIFY_WITH_TIMEOUT(doneAfterMs >= 0, 30000);
    const double perSecond = kTasks * 1000.0 / std::max<qint64>(doneAfterMs, 1);
    qInfo("echo through TaskRunner: %d tasks in %lld ms = %.0f tasks/s; %d reports emissions, "
          "%d logs emissions",
          kTasks, doneAfterMs, perSecond, c.reportEmissions, c.logEmissions);

    QCOMPARE(c.reports.size(), 2 * kTasks);
    QCOMPARE(c.logs.size(), qsizetype(kTasks));
    QVERIFY2(c.reportEmissions <= kTasks / 100, qPrintable(QString::number(c.reportEmissions)));
    QVERIFY2(c.logEmissions <= kTasks / 100, qPrintable(QString::number(c.logEmissions)));
    QHash<qint64, InstanceStatus> last;
    for (const TaskReport &r : std::as_const(c.reports)) {
        const auto seen = last.constFind(r.instanceId);
        if (r.status == InstanceStatus::Running) {
            QVERIFY2(seen == last.constEnd(), "Running reported twice or after the end");
        } else {
            QCOMPARE(toString(r.status), toString(InstanceStatus::Succeeded));
            QVERIFY2(seen != last.constEnd() && *seen == InstanceStatus::Running,
                     "terminal report without Running before it");
            QCOMPARE(r.result, QStringLiteral("hi"));
        }
        last[r.instanceId] = r.status;
    }
    QCOMPARE(last.size(), qsizetype(kTasks));
}

void TstTaskRunner::logsCarryTheTaskIdentity()
{
    TaskRunner runner;
    Collector c(&runner);
    TaskSpec s = shellSpec(5, QStringLiteral("echo out\necho err >&2"));
    s.attempt = 3;
    s.taskId = 4;
    QVERIFY(runner.submit(s));
    QTRY_COMPARE_WITH_TIMEOUT(c.of(5).size(), 2, 10000);
    QCOMPARE(c.statusesOf(5), (QStringList{"RUNNING", "SUCCEEDED"}));
    QCOMPARE(c.of(5).last().attempt, 3);
    QCOMPARE(c.logs.size(), 2);
    QCOMPARE(c.logsBeforeTerminal.value(5), 2); // the lines arrived before the result
    QSet<QString> seen;
    for (const LogLine &l : std::as_const(c.logs)) {
        QCOMPARE(l.instanceId, 5);
        QCOMPARE(l.attempt, 3);
        QCOMPARE(l.taskId, 4);
        QCOMPARE(l.seq, 0);
        QVERIFY(l.timeMs > 0);
        seen.insert(toString(l.stream) + ':' + l.text);
    }
    QCOMPARE(seen, (QSet<QString>{toString(LogStream::Stdout) + ":out",
                                  toString(LogStream::Stderr) + ":err"}));
}

void TstTaskRunner::cancelQueuedAndRunning()
{
    TaskRunner runner;
    runner.setCapacity(1);
    Collector c(&runner);
    QVERIFY(runner.submit(sleepSpec(1, 60000)));
    QVERIFY(runner.submit(sleepSpec(2, 60000)));
    QTRY_COMPARE_WITH_TIMEOUT(c.statusesOf(1), QStringList{"RUNNING"}, 5000);
    QCOMPARE(runner.runningCount(), 1);
    QCOMPARE(runner.queuedCount(), 1);

    runner.cancel(1, 2, QStringLiteral("wrong attempt")); // matches nothing
    runner.cancel(2, 1, QStringLiteral("not needed"));
    runner.cancel(1, 1, QStringLiteral("canceled by alice"));
    QTRY_COMPARE_WITH_TIMEOUT(c.reports.size(), 3, 5000);
    QCOMPARE(c.statusesOf(1), (QStringList{"RUNNING", "CANCELED"}));
    QCOMPARE(c.of(1).last().result, QStringLiteral("canceled by alice"));
    QCOMPARE(c.statusesOf(2), QStringList{"CANCELED"}); // never started
    QCOMPARE(c.of(2).last().result, QStringLiteral("not needed"));
    QCOMPARE(runner.runningCount(), 0);
    QCOMPARE(runner.queuedCount(), 0);
    QVERIFY(!runner.submit(sleepSpec(2, 1))); // a canceled task is not run later either
}

void TstTaskRunner::cancelAll()
{
    TaskRunner runner;
    runner.setCapacity(2);
    Collector c(&runner);
    for (int i = 1; i <= 4; ++i)
        QVERIFY(runner.submit(sleepSpec(i, 60000)));
    QTRY_COMPARE_WITH_TIMEOUT(runner.runningCount(), 2, 5000);
    runner.cancelAll(QStringLiteral("worker shutting down"));
    QTRY_COMPARE_WITH_TIMEOUT(c.reports.size(), 6, 5000);
    for (int i = 1; i <= 4; ++i) {
        QCOMPARE(toString(c.of(i).last().status), toString(InstanceStatus::Canceled));
        QCOMPARE(c.of(i).last().result, QStringLiteral("worker shutting down"));
    }
    QCOMPARE(runner.runningCount(), 0);
}

void TstTaskRunner::cancelTaskStopsOnlyThatRun_data()
{
    QTest::addColumn<TaskSpec>("victim");
    QTest::addColumn<TaskSpec>("survivor");
    QTest::addColumn<int>("capacity");
    TaskSpec victim = sleepSpec(1, 60000);
    victim.taskId = 1;
    TaskSpec sibling = sleepSpec(1, 300);
    sibling.taskId = 2;
    QTest::newRow("another task of the attempt") << victim << sibling << 4;
    TaskSpec rerun = sleepSpec(1, 300);
    rerun.taskId = 1;
    rerun.taskAttempt = 2;
    QTest::newRow("another run of the same task") << victim << rerun << 4;
    // With one slot the victim waits in the queue behind the survivor.
    QTest::newRow("a queued task") << victim << sibling << 1;
}

void TstTaskRunner::cancelTaskStopsOnlyThatRun()
{
    QFETCH(TaskSpec, victim);
    QFETCH(TaskSpec, survivor);
    QFETCH(int, capacity);
    TaskRunner runner;
    runner.setCapacity(capacity);
    Collector c(&runner);
    QVERIFY(runner.submit(survivor));
    QVERIFY(runner.submit(victim));
    QTRY_VERIFY_WITH_TIMEOUT(c.indexOf(1, InstanceStatus::Running) >= 0, 5000);
    runner.cancelTask(taskKeyOf(victim), QStringLiteral("not needed"));
    QTRY_COMPARE_WITH_TIMEOUT(c.reports.size(), capacity == 1 ? 3 : 4, 5000);
    QStringList seen;
    for (const TaskReport &r : std::as_const(c.reports)) {
        seen << QStringLiteral("%1/%2 %3 %4")
                    .arg(r.taskId)
                    .arg(r.taskAttempt)
                    .arg(toString(r.status), r.result);
    }
    const QString v = QStringLiteral("%1/%2 ").arg(victim.taskId).arg(victim.taskAttempt);
    const QString s = QStringLiteral("%1/%2 ").arg(survivor.taskId).arg(survivor.taskAttempt);
    QVERIFY2(seen.contains(v + "CANCELED not needed"), qPrintable(seen.join(", ")));
    QCOMPARE(seen.contains(v + "RUNNING "), capacity > 1); // a queued one never started
    QVERIFY2(seen.contains(s + "SUCCEEDED slept 300 ms"), qPrintable(seen.join(", ")));
    QCOMPARE(runner.runningCount(), 0);
    QCOMPARE(runner.queuedCount(), 0);
}

void TstTaskRunner::callsLeaveBeforeReportsAndRepliesFindTheirRun()
{
    // Two map roots (built-in range-sum) ask at the same time; the replies come back in the
    // other order, mixed with one for a call nobody made. Each run gets its own reply: the one
    // refused fails with the server's text, the other succeeds.
    TaskRunner runner;
    Collector c(&runner);
    QList<TaskCall> calls;
    qsizetype callsAtFirstTerminal = -1;
    connect(&runner, &TaskRunner::calls, &c, [&](const QList<TaskCall> &b) { calls += b; });
    connect(&runner, &TaskRunner::reports, &c, [&](const QList<TaskReport> &b) {
        for (const TaskReport &r : b) {
            if (isTerminal(r.status) && callsAtFirstTerminal < 0)
                callsAtFirstTerminal = calls.size();
        }
    });
    for (qint64 instance : {1, 2}) {
        TaskSpec root = spec(instance, ProcessorKind::Container,
                             {{"ref", "builtin#range-sum"}, {"count", int(instance) + 1}}, 1, 1);
        root.mode = ExecutionMode::Map;
        root.role = TaskRole::Root;
        root.taskName = QStringLiteral("root");
        QVERIFY(runner.submit(root));
    }
    QTRY_COMPARE_WITH_TIMEOUT(calls.size(), 2, 5000);
    QVERIFY(calls[0].callId != calls[1].callId);
    QList<TaskCallReply> replies;
    for (qsizetype i = calls.size() - 1; i >= 0; --i) {
        TaskCallReply r;
        r.callId = calls[i].callId;
        if (calls[i].key.instanceId == 2)
            r.error = QStringLiteral("instance 2 was canceled");
        replies << r;
    }
    replies.prepend(TaskCallReply{calls[0].callId + calls[1].callId, {}, {}, false});
    runner.answer(replies);
    QTRY_COMPARE_WITH_TIMEOUT(c.reports.size(), 4, 5000);
    QCOMPARE(c.statusesOf(1), (QStringList{"RUNNING", "SUCCEEDED"}));
    QCOMPARE(c.of(1).last().result, QStringLiteral("mapped 2 number items (0-1) in 1 calls"));
    QCOMPARE(c.statusesOf(2), (QStringList{"RUNNING", "FAILED"}));
    QCOMPARE(c.of(2).last().result,
             QStringLiteral("map of number 0-2 failed: instance 2 was canceled"));
    QCOMPARE(callsAtFirstTerminal, 2);
    for (const TaskCall &call : std::as_const(calls)) {
        QCOMPARE(call.key.taskId, 1);
        QCOMPARE(call.from, 0);
        QCOMPARE(call.items.size(), qsizetype(call.key.instanceId + 1));
    }
}

void TstTaskRunner::timeouts_data()
{
    QTest::addColumn<TaskSpec>("task");
    QTest::addColumn<InstanceStatus>("status");
    QTest::addColumn<QString>("result");
    TaskSpec sleep = sleepSpec(1, 60000);
    sleep.timeoutMs = 200;
    QTest::newRow("sleep") << sleep << InstanceStatus::TimedOut << "timed out after 200 ms";
    TaskSpec shell = shellSpec(1, QStringLiteral("sleep 30"));
    shell.timeoutMs = 500;
    QTest::newRow("shell") << shell << InstanceStatus::TimedOut << "timed out after 500 ms";
    TaskSpec quick = sleepSpec(1, 10);
    quick.timeoutMs = 5000;
    QTest::newRow("finishes in time") << quick << InstanceStatus::Succeeded << "slept 10 ms";
}

void TstTaskRunner::timeouts()
{
    QFETCH(TaskSpec, task);
    QFETCH(InstanceStatus, status);
    QFETCH(QString, result);
    TaskRunner runner;
    Collector c(&runner);
    QElapsedTimer clock;
    clock.start();
    QVERIFY(runner.submit(task));
    QTRY_COMPARE_WITH_TIMEOUT(c.reports.size(), 2, 10000);
    QCOMPARE(toString(c.reports.last().status), toString(status));
    QCOMPARE(c.reports.last().result, result);
    if (status == InstanceStatus::TimedOut)
        QVERIFY(clock.elapsed() >= task.timeoutMs);
}

void TstTaskRunner::shellTimeoutKillsWholeGroup()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    TaskRunner runner;
    Collector c(&runner);
    TaskSpec s = shellSpec(1, pidRecordingScript(dir.path()));
    s.timeoutMs = 1500;
    QVERIFY(runner.submit(s));
    qint64 scriptPid = 0;
    qint64 bgPid = 0;
    QTRY_VERIFY_WITH_TIMEOUT((scriptPid = readPid(dir.filePath("script.pid"))) > 0
                                 && (bgPid = readPid(dir.filePath("bg.pid"))) > 0,
                             10000);
    QTRY_COMPARE_WITH_TIMEOUT(c.statusesOf(1), (QStringList{"RUNNING", "TIMED_OUT"}), 10000);
    QCOMPARE(c.of(1).last().result, QStringLiteral("timed out after 1500 ms"));
    QTRY_VERIFY_WITH_TIMEOUT(!processAlive(scriptPid) && !processAlive(bgPid), 5000);
}

void TstTaskRunner::invalidTasksFailWithReason_data()
{
    QTest::addColumn<TaskSpec>("task");
    QTest::addColumn<QString>("result");
    QTest::newRow("shell without script")
        << spec(1, ProcessorKind::Shell, {}) << "processor.script: missing";
    QTest::newRow("container") << spec(1, ProcessorKind::Container, {{"ref", "c#p"}})
                               << "this worker has no container support (ref c#p)";
    QTest::newRow("built-in with a bad config")
        << spec(1, ProcessorKind::Container, {{"ref", "builtin#range-sum"}, {"count", 0}})
        << "processor.count: 0 is outside 1-100000000";
}

void TstTaskRunner::invalidTasksFailWithReason()
{
    QFETCH(TaskSpec, task);
    QFETCH(QString, result);
    TaskRunner runner;
    Collector c(&runner);
    QVERIFY(runner.submit(task));
    QTRY_COMPARE_WITH_TIMEOUT(c.reports.size(), 2, 5000);
    QCOMPARE(c.statusesOf(1), (QStringList{"RUNNING", "FAILED"}));
    QCOMPARE(c.reports.last().result, result);
}

void TstTaskRunner::destroyingRunnerKillsScripts()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto runner = std::make_unique<TaskRunner>();
    QVERIFY(runner->submit(shellSpec(1, pidRecordingScript(dir.path()))));
    qint64 scriptPid = 0;
    qint64 bgPid = 0;
    QTRY_VERIFY_WITH_TIMEOUT((scriptPid = readPid(dir.filePath("script.pid"))) > 0
                                 && (bgPid = readPid(dir.filePath("bg.pid"))) > 0,
                             10000);
    QVERIFY(processAlive(scriptPid) && processAlive(bgPid));
    runner.reset();
    QTRY_VERIFY_WITH_TIMEOUT(!processAlive(scriptPid) && !processAlive(bgPid), 5000);
}

void TstTaskRunner::runsOnItsOwnThread()
{
    // The embedded-worker set-up: the runner moved to a long-lived thread, driven and heard
    // through queued calls, deleted when its thread ends.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QThread thread;
    auto *runner = new TaskRunner;
    runner->moveToThread(&thread);
    connect(&thread, &QThread::finished, runner, &QObject::deleteLater);
    QList<TaskReport> reports;
    QList<LogLine> logs;
    connect(runner, &TaskRunner::reports, this,
            [&reports](const QList<TaskReport> &b) { reports += b; });
    connect(runner, &TaskRunner::logs, this, [&logs](const QList<LogLine> &b) { logs += b; });
    thread.start();

    TaskSpec timed = sleepSpec(2, 60000);
    timed.timeoutMs = 100;
    const QList<TaskSpec> tasks{shellSpec(1, QStringLiteral("echo from the runner thread")), timed,
                                echoSpec(3), shellSpec(4, pidRecordingScript(dir.path()))};
    QMetaObject::invokeMethod(
        runner,
        [runner, tasks] {
            for (const TaskSpec &t : tasks)
                runner->submit(t);
        },
        Qt::QueuedConnection);
    QTRY_COMPARE_WITH_TIMEOUT(reports.size(), 7, 10000); // 4 x Running, 3 terminal
    QHash<qint64, QString> terminal;
    for (const TaskReport &r : std::as_const(reports)) {
        if (isTerminal(r.status))
            terminal.insert(r.instanceId, toString(r.status) + ' ' + r.result);
    }
    QCOMPARE(terminal.value(1), QStringLiteral("SUCCEEDED from the runner thread"));
    QCOMPARE(terminal.value(2), QStringLiteral("TIMED_OUT timed out after 100 ms"));
    QCOMPARE(terminal.value(3), QStringLiteral("SUCCEEDED hi"));
    QVERIFY(!terminal.contains(4));
    qint64 scriptPid = 0;
    qint64 bgPid = 0;
    QTRY_VERIFY_WITH_TIMEOUT((scriptPid = readPid(dir.filePath("script.pid"))) > 0
                                 && (bgPid = readPid(dir.filePath("bg.pid"))) > 0,
                             10000);

    // Ending the thread deletes the runner there, which kills the still running script.
    thread.quit();
    QVERIFY(thread.wait(10000));
    QTRY_VERIFY_WITH_TIMEOUT(!processAlive(scriptPid) && !processAlive(bgPid), 5000);
}

void TstTaskRunner::scriptsDieWithKilledWorker_data()
{
    QTest::addColumn<QString>("prefix");
    QTest::newRow("plain script") << QString();
    // Nothing in the group reacts to SIGTERM: only kairos-exec's SIGKILL after the grace can
    // end it, because the worker that would escalate is gone.
    QTest::newRow("script ignoring SIGTERM") << QStringLiteral("trap '' TERM\n");
}

void TstTaskRunner::scriptsDieWithKilledWorker()
{
    QFETCH(QString, prefix);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QProcess worker;
    worker.setProgram(QCoreApplication::applicationDirPath() + "/kairos-test-runner-helper");
    worker.setArguments({pidRecordingScript(dir.path(), prefix)});
    worker.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    worker.start();
    QVERIFY2(worker.waitForStarted(5000), qPrintable(worker.errorString()));
    qint64 scriptPid = 0;
    qint64 bgPid = 0;
    QTRY_VERIFY_WITH_TIMEOUT((scriptPid = readPid(dir.filePath("script.pid"))) > 0
                                 && (bgPid = readPid(dir.filePath("bg.pid"))) > 0,
                             10000);
    QVERIFY(processAlive(scriptPid) && processAlive(bgPid));

    ::kill(static_cast<pid_t>(worker.processId()), SIGKILL);
    QVERIFY(worker.waitForFinished(5000));
    QTRY_VERIFY_WITH_TIMEOUT(!processAlive(scriptPid) && !processAlive(bgPid), 10000);
}

QTEST_GUILESS_MAIN(TstTaskRunner)
#include "tst_task_runner.moc"
