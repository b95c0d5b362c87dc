// The WorkerAgent against a fake server on real 127.0.0.1 sockets: what a Kairos server sees
// from a worker (registration, heartbeats, accepts, reports, drain) and what the worker does
// when the server declares it dead, stops acknowledging, refuses its secret or is not there.
#include "fake_server.h"

#include <agent/worker_agent.h>

#include <QElapsedTimer>
#include <QFile>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest>

using namespace kairos;
using namespace kairos::agent;
using namespace kairos::test;
using namespace Qt::StringLiterals;

namespace {

constexpr int kWaitMs = 10000;
const QString kApp = u"billing"_s;
const QString kSecret = u"w-secret"_s;

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

ServerAddress addressOf(quint16 port)
{
    return ServerAddress{u"127.0.0.1"_s, port};
}

// A loopback port nothing listens on: connecting to it is refused at once.
quint16 closedPort()
{
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost);
    const quint16 port = probe.serverPort();
    probe.close();
    return port;
}

} // namespace

class TstWorkerAgent : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;

    WorkerConfig configFor(const QList<quint16> &ports, const QString &name = u"w1"_s)
    {
        WorkerConfig c;
        for (quint16 p : ports)
            c.servers.append(addressOf(p));
        c.app = kApp;
        c.secret = kSecret;
        c.tags = QStringList{u"gpu"_s, u"eu"_s};
        c.threads = 3;
        c.workerId = u"test-"_s + name;
        c.advertise = u"10.0.0.7"_s;
        c.workDir = m_dir.filePath(name);
        c.version = u"9.9.9-test"_s;
        c.drainTimeoutMs = 5000;
        return c;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        // Shell runs go through kairos-exec, built beside this test.
        qputenv("KAIROS_BIN_DIR", KAIROS_BIN_DIR);
    }

    void registersWithItsIdentityAndMetrics()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerAgent agent(configFor({server.port()}, u"reg"_s));
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY2(agent.start().ok(), "start");
        QVERIFY(registered.wait(kWaitMs));
        QCOMPARE(registered.first().first().toString(), server.address());
        QCOMPARE(agent.state(), WorkerAgent::State::Registered);

        const auto regs = server.ofType(wire::type::Register);
        QCOMPARE(regs.size(), 1);
        const auto r = wire::decodeRegister(regs.first());
        QVERIFY2(r.ok(), qPrintable(r.error()));
        QCOMPARE(r->workerId, u"test-reg"_s);
        QCOMPARE(r->address, u"10.0.0.7"_s);
        QCOMPARE(r->tags, (QStringList{u"gpu"_s, u"eu"_s}));
        QCOMPARE(r->capacity, 3);
        QCOMPARE(r->pid, QCoreApplication::applicationPid());
        QCOMPARE(r->version, u"9.9.9-test"_s);
        QVERIFY(r->held.isEmpty());
        QVERIFY(r->metrics.cpus > 0);
        QVERIFY(r->metrics.memTotalMb > 0);
        QVERIFY(r->metrics.memFreeMb > 0 && r->metrics.memFreeMb <= r->metrics.memTotalMb);
        QVERIFY(r->metrics.diskFreeMb > 0);
        QVERIFY(r->metrics.load1 >= 0);

        // The lease the registration started is in the file kairos-exec watches.
        QFile lease(m_dir.filePath(u"reg/lease"_s));
        QVERIFY(lease.open(QIODevice::ReadOnly));
        const qint64 expiry = lease.readAll().trimmed().toLongLong();
        QVERIFY(expiry > monotonicMs());
        QVERIFY(expiry <= monotonicMs() + server.reply.leaseMs);
    }

    void heartbeatsFollowTheServersPeriod()
    {
        FakeServer server(kApp, kSecret);
        server.reply.heartbeatMs = 100; // the server's value wins over --heartbeat-ms 1000
        QVERIFY(server.listen());
        WorkerConfig config = configFor({server.port()}, u"hb"_s);
        config.heartbeatMs = 1000;
        WorkerAgent agent(config);
        QVERIFY(agent.start().ok());

        QTRY_VERIFY_WITH_TIMEOUT(server.count(wire::type::Heartbeat) >= 7, kWaitMs);
        QCOMPARE(agent.heartbeatMs(), 100);
        QList<qint64> arrivals;
        QList<qint64> stamps;
        for (const FakeServer::Received &r : server.received) {
            if (r.message.type == wire::type::Heartbeat) {
                arrivals.append(r.atMs);
                const auto hb = wire::decodeHeartbeat(r.message);
                QVERIFY2(hb.ok(), qPrintable(hb.error()));
                stamps.append(hb->ts);
                QVERIFY(hb->metrics.cpus > 0);
            }
        }
        // The first heartbeat leaves right after registration; the next ones every 100 ms.
        const double meanInterval = double(arrivals.at(6) - arrivals.at(1)) / 5.0;
        QVERIFY2(meanInterval >= 70 && meanInterval <= 250,
                 qPrintable(u"mean heartbeat interval %1 ms"_s.arg(meanInterval)));
        for (qsizetype i = 1; i < stamps.size(); ++i)
            QVERIFY(stamps.at(i) >= stamps.at(i - 1));
        // Acknowledged heartbeats keep the lease running.
        QVERIFY(agent.lease().isHeld());
        QVERIFY(agent.lease().lastHeardMs() >= stamps.at(1));
    }

    void echoTaskIsAcceptedRunAndReported()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerAgent agent(configFor({server.port()}, u"echo"_s));
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        server.dispatch({echoTask(41, u"hello from the worker"_s)});
        const TaskKey key{41, 1, 0};
        QTRY_COMPARE_WITH_TIMEOUT(server.accepted(), QList<TaskKey>{key}, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(server.reportsOf(key, InstanceStatus::Succeeded).size(), 1,
                                  kWaitMs);
        const QList<TaskReport> reports = server.reportsOf(key);
        QCOMPARE(reports.size(), 2);
        QCOMPARE(toString(reports.at(0).status), toString(InstanceStatus::Running));
        QCOMPARE(toString(reports.at(1).status), toString(InstanceStatus::Succeeded));
        QCOMPARE(reports.at(1).result, u"hello from the worker"_s);
        // Its output line reached the server too, before the terminal report.
        QStringList texts;
        for (const protocol::Message &m : server.ofType(wire::type::Logs)) {
            for (const LogLine &l : wire::decodeLogs(m).items)
                texts.append(l.text);
        }
        QVERIFY2(texts.contains(u"hello from the worker"_s), qPrintable(texts.join(u'|')));
    }

    void sameTaskDispatchedTwiceRunsOnce_data()
    {
        QTest::addColumn<bool>("againAfterFinish");
        QTest::newRow("again while running") << false;
        QTest::newRow("again after it finished") << true;
    }

    void sameTaskDispatchedTwiceRunsOnce()
    {
        QFETCH(bool, againAfterFinish);
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerAgent agent(configFor({server.port()}, u"dup"_s));
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        const TaskSpec task = sleepTask(7, 300);
        const TaskKey key = taskKeyOf(task);
        // One dispatch that holds the same task twice, then the same task once more.
        server.dispatch({task, task});
        QTRY_COMPARE_WITH_TIMEOUT(server.reportsOf(key, InstanceStatus::Running).size(), 1,
                                  kWaitMs);
        if (againAfterFinish) {
            QTRY_COMPARE_WITH_TIMEOUT(server.reportsOf(key, InstanceStatus::Succeeded).size(), 1,
                                      kWaitMs);
        }
        server.dispatch({task});
        // A later task on the same path tells when the duplicate has been dealt with.
        const TaskSpec sentinel = echoTask(8, u"after"_s);
        server.dispatch({sentinel});
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(taskKeyOf(sentinel), InstanceStatus::Succeeded).size(), 1, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(server.reportsOf(key, InstanceStatus::Succeeded).size(), 1,
                                  kWaitMs);

        // Every dispatch message was answered with every key it held.
        const auto accepts = server.ofType(wire::type::Accept);
        QCOMPARE(accepts.size(), 3);
        QCOMPARE(wire::decodeAccept(accepts.at(0)).items, (QList<TaskKey>{key, key}));
        QCOMPARE(wire::decodeAccept(accepts.at(1)).items, QList<TaskKey>{key});
        // ...and the task ran once: one Running, one terminal report.
        QCOMPARE(server.reportsOf(key).size(), 2);
        QCOMPARE(server.reportsOf(key, InstanceStatus::Running).size(), 1);
    }

    void cancelStopsRunningAndQueuedTasks()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerConfig config = configFor({server.port()}, u"cancel"_s);
        config.threads = 1;
        WorkerAgent agent(config);
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        const TaskSpec running = sleepTask(20, 60000);
        const TaskSpec queued = sleepTask(20, 60000, 1, 1); // same attempt, second subtask
        const TaskSpec other = echoTask(21, u"still runs"_s);
        server.dispatch({running, queued});
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(taskKeyOf(running), InstanceStatus::Running).size(), 1, kWaitMs);
        server.dispatch({other});
        // `k` absent: every task of instance 20 attempt 1.
        server.send(wire::encodeCancel({wire::KeyReason{TaskKey{20, 1, -1}, u"stopped by Ann"_s}}));

        for (const TaskSpec &t : {running, queued}) {
            QTRY_COMPARE_WITH_TIMEOUT(
                server.reportsOf(taskKeyOf(t), InstanceStatus::Canceled).size(), 1, kWaitMs);
            QCOMPARE(server.reportsOf(taskKeyOf(t), InstanceStatus::Canceled).first().result,
                     u"stopped by Ann"_s);
        }
        // The queued one never started; the other instance ran once a slot was free.
        QCOMPARE(server.reportsOf(taskKeyOf(queued), InstanceStatus::Running).size(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(taskKeyOf(other), InstanceStatus::Succeeded).size(), 1, kWaitMs);
    }

    void cancelOfOneRunStopsOnlyThatRun()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerAgent agent(configFor({server.port()}, u"cancel-run"_s));
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        // Two subtasks of one broadcast/map attempt on this worker.
        const TaskSpec one = sleepTask(22, 60000, 1, 1);
        const TaskSpec two = sleepTask(22, 800, 1, 2);
        server.dispatch({one, two});
        for (const TaskSpec &t : {one, two})
            QTRY_COMPARE_WITH_TIMEOUT(
                server.reportsOf(taskKeyOf(t), InstanceStatus::Running).size(), 1, kWaitMs);
        // A cancel of a run this worker does not have (run 2 of task 1) touches nothing.
        server.send(wire::encodeCancel({wire::KeyReason{TaskKey{22, 1, 1, 2}, u"not here"_s},
                                        wire::KeyReason{taskKeyOf(one), u"task canceled"_s}}));
        QTRY_COMPARE_WITH_TIMEOUT(server.reportsOf(taskKeyOf(one), InstanceStatus::Canceled).size(),
                                  1, kWaitMs);
        QCOMPARE(server.reportsOf(taskKeyOf(one), InstanceStatus::Canceled).first().result,
                 u"task canceled"_s);
        // Its sibling of the same attempt runs to its end.
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(taskKeyOf(two), InstanceStatus::Succeeded).size(), 1, kWaitMs);
        QCOMPARE(server.reportsOf(taskKeyOf(two), InstanceStatus::Canceled).size(), 0);
        QCOMPARE(server.reportsOf(TaskKey{22, 1, 1, 2}).size(), 0);
    }

    void runNumbersTravelWithAcceptReportsAndHeld()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerAgent agent(configFor({server.port()}, u"runs"_s));
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        // The third run of a map subtask (its earlier workers died), and an echo's second run.
        TaskSpec slow = sleepTask(23, 60000, 1, 4);
        slow.taskAttempt = 3;
        TaskSpec quick = echoTask(24, u"again"_s, 1, 2);
        quick.taskAttempt = 2;
        server.dispatch({slow, quick});
        QTRY_COMPARE_WITH_TIMEOUT(server.accepted(),
                                  (QList<TaskKey>{TaskKey{23, 1, 4, 3}, TaskKey{24, 1, 2, 2}}),
                                  kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(TaskKey{24, 1, 2, 2}, InstanceStatus::Succeeded).size(), 1, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(TaskKey{23, 1, 4, 3}, InstanceStatus::Running).size(), 1, kWaitMs);
        // A new connection hears which run is still going.
        server.current()->close(u"server restarting"_s);
        QTRY_COMPARE_WITH_TIMEOUT(registered.size(), 2, kWaitMs);
        const auto regs = server.ofType(wire::type::Register, 2);
        QCOMPARE(regs.size(), 1);
        const auto r = wire::decodeRegister(regs.first());
        QVERIFY2(r.ok(), qPrintable(r.error()));
        QCOMPARE(r->held, (QList<TaskKey>{TaskKey{23, 1, 4, 3}}));
        server.send(wire::encodeCancel({wire::KeyReason{TaskKey{23, 1, -1, 1}, u"stale"_s}}));
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(TaskKey{23, 1, 4, 3}, InstanceStatus::Canceled).size(), 1, kWaitMs);
    }

    void subtasksAreNotAcknowledgedWithAccept()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerAgent agent(configFor({server.port()}, u"accept-sub"_s));
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        const TaskSpec standalone = echoTask(28, u"alone"_s);
        TaskSpec subtask = echoTask(29, u"leaf"_s, 1, 5);
        subtask.mode = ExecutionMode::Map;
        subtask.role = TaskRole::Subtask;
        subtask.taskName = u"number"_s;
        server.dispatch({standalone, subtask});
        for (const TaskSpec &t : {standalone, subtask})
            QTRY_COMPARE_WITH_TIMEOUT(
                server.reportsOf(taskKeyOf(t), InstanceStatus::Succeeded).size(), 1, kWaitMs);
        // Both ran; only the standalone task was acknowledged (its RUNNING report says the
        // subtask arrived).
        QCOMPARE(server.accepted(), QList<TaskKey>{taskKeyOf(standalone)});
        QCOMPARE(server.reportsOf(taskKeyOf(subtask), InstanceStatus::Running).size(), 1);

        // A dispatch of subtasks only sends no `accept` at all.
        TaskSpec another = subtask;
        another.taskId = 6;
        server.dispatch({another});
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(taskKeyOf(another), InstanceStatus::Succeeded).size(), 1, kWaitMs);
        QCOMPARE(server.count(wire::type::Accept), 1);
    }

    void mapCallsGoToTheServerAndTheirRepliesReachTheRun()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        // The server stores what is mapped, as the task tracker does, and answers.
        QList<QByteArray> stored;
        server.callHandler = [&stored](const QList<TaskCall> &calls) {
            QList<TaskCallReply> replies;
            for (const TaskCall &c : calls) {
                if (c.op == TaskCall::Op::Map && c.from == stored.size())
                    stored += c.items;
                replies << TaskCallReply{c.callId, {}, {}, false};
            }
            return replies;
        };
        WorkerAgent agent(configFor({server.port()}, u"map"_s));
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        const TaskSpec root = rangeSumTask(25, TaskRole::Root, 1, 5, 2);
        server.dispatch({root});
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(taskKeyOf(root), InstanceStatus::Succeeded).size(), 1, kWaitMs);
        // map() returned only after each reply: three calls, in order, positions continuing.
        const QList<TaskCall> calls = server.calls();
        QCOMPARE(calls.size(), 3);
        QList<qint64> froms;
        for (const TaskCall &c : calls) {
            QCOMPARE(c.key, taskKeyOf(root));
            QCOMPARE(c.name, u"number"_s);
            froms << c.from;
        }
        QCOMPARE(froms, (QList<qint64>{0, 2, 4}));
        QCOMPARE(stored.size(), 5);
        QCOMPARE(QSet<QByteArray>(stored.begin(), stored.end()).size(), 5);
        for (const TaskCall &c : calls)
            QCOMPARE(c.items, stored.mid(c.from, c.items.size()));
        // Every call went out before the task's terminal report.
        qsizetype lastCall = -1;
        qsizetype terminal = -1;
        for (qsizetype i = 0; i < server.received.size(); ++i) {
            const protocol::Message &m = server.received[i].message;
            if (m.type == wire::type::Call)
                lastCall = i;
            if (m.type == wire::type::Status && terminal < 0) {
                for (const TaskReport &r : wire::decodeStatus(m).items)
                    terminal = isTerminal(r.status) ? i : terminal;
            }
        }
        QVERIFY(lastCall >= 0 && lastCall < terminal);
    }

    void reduceReadsItsResultsPageByPage()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        constexpr int kCount = 250;
        // The server of a MAP_REDUCE run in miniature: mapped items become subtasks 2, 3, ...
        // whose result is their item; the reduce reads them in pages of at most 100.
        QList<QByteArray> stored;
        server.callHandler = [&stored](const QList<TaskCall> &calls) {
            QList<TaskCallReply> replies;
            for (const TaskCall &c : calls) {
                TaskCallReply r{c.callId, {}, {}, false};
                if (c.op == TaskCall::Op::Map) {
                    if (c.from == stored.size())
                        stored += c.items;
                    replies << r;
                    continue;
                }
                const int limit = std::min(c.limit, 100);
                for (qint64 id = std::max<qint64>(c.afterTaskId + 1, 2);
                     id < 2 + stored.size() && r.results.size() < limit; ++id) {
                    TaskResultEntry e;
                    e.taskId = id;
                    e.name = u"number"_s;
                    e.result = QString::fromLatin1(stored.at(id - 2));
                    e.worker = u"w1"_s;
                    r.results << e;
                }
                r.end = r.results.isEmpty() || r.results.last().taskId == 1 + stored.size();
                replies << r;
            }
            return replies;
        };
        WorkerAgent agent(configFor({server.port()}, u"reduce"_s));
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        const TaskSpec root = rangeSumTask(26, TaskRole::Root, 1, kCount, 100);
        server.dispatch({root});
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(taskKeyOf(root), InstanceStatus::Succeeded).size(), 1, kWaitMs);
        QCOMPARE(stored.size(), kCount);
        qint64 sum = 0;
        for (const QByteArray &item : stored)
            sum += item.toLongLong();

        const TaskSpec reduce = rangeSumTask(26, TaskRole::Reduce, kCount + 2, kCount, 100);
        server.dispatch({reduce});
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(taskKeyOf(reduce), InstanceStatus::Succeeded).size()
                + server.reportsOf(taskKeyOf(reduce), InstanceStatus::Failed).size(),
            1, kWaitMs);
        const auto done = server.reportsOf(taskKeyOf(reduce), InstanceStatus::Succeeded);
        QVERIFY2(done.size() == 1, qPrintable(server.reportsOf(taskKeyOf(reduce)).last().result));
        // Every result read exactly once, across the pages.
        const QString result = done.first().result;
        QVERIFY2(result.contains(u"\"count\":%1"_s.arg(kCount)), qPrintable(result));
        QVERIFY2(result.contains(u"\"sum\":%1"_s.arg(sum)), qPrintable(result));
        QVERIFY2(result.contains(u"\"duplicates\":0"_s), qPrintable(result));
        QVERIFY2(result.contains(u"\"missing\":0"_s), qPrintable(result));
        // At least three pages were asked for, each further on than the one before.
        QList<TaskCall> pages;
        for (const TaskCall &c : server.calls()) {
            if (c.op == TaskCall::Op::Results)
                pages << c;
        }
        QVERIFY2(pages.size() >= 3, qPrintable(QString::number(pages.size())));
        for (qsizetype i = 0; i < pages.size(); ++i) {
            QCOMPARE(pages[i].key, taskKeyOf(reduce));
            if (i > 0)
                QVERIFY(pages[i].afterTaskId > pages[i - 1].afterTaskId);
        }
    }

    void callsWaitingWhenTheConnectionIsLostFailAtOnce()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerAgent agent(configFor({server.port()}, u"map-lost"_s));
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        // No callHandler: the server keeps the call waiting, then the connection drops.
        const TaskSpec root = rangeSumTask(27, TaskRole::Root, 1, 10, 5);
        server.dispatch({root});
        QTRY_COMPARE_WITH_TIMEOUT(server.calls().size(), 1, kWaitMs);
        QElapsedTimer clock;
        clock.start();
        server.current()->close(u"server going away"_s);
        // The processor was told at once (it did not wait for a reconnect or a timeout): its
        // failure is reported on the next connection.
        QTRY_COMPARE_WITH_TIMEOUT(server.reportsOf(taskKeyOf(root), InstanceStatus::Failed).size(),
                                  1, kWaitMs);
        const QString result =
            server.reportsOf(taskKeyOf(root), InstanceStatus::Failed).first().result;
        QVERIFY2(result.contains(u"connection to the server lost"_s), qPrintable(result));
        QVERIFY2(clock.elapsed() < 5000, qPrintable(QString::number(clock.elapsed())));
        // Nothing more was mapped after the loss.
        QCOMPARE(server.calls().size(), 1);
    }

    void deadNoticeStopsRunsAndRegistersAgain()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerAgent agent(configFor({server.port()}, u"dead"_s));
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QSignalSpy dead(&agent, &WorkerAgent::deadNotice);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        const QString pidFile = m_dir.filePath(u"dead-script.pid"_s);
        const TaskSpec task = shellTask(30, u"echo $$ > '%1'; exec sleep 60"_s.arg(pidFile));
        server.dispatch({task});
        QTRY_VERIFY_WITH_TIMEOUT(readPid(pidFile) > 0, kWaitMs);
        const qint64 pid = readPid(pidFile);
        QVERIFY(processAlive(pid));

        // What the server does after deadAfterMs without a heartbeat: `dead`, then close.
        server.current()->send(wire::encodeDead(u"no heartbeat for 5.0 s"_s));
        server.current()->close(u"worker declared dead"_s);

        QVERIFY(dead.wait(kWaitMs));
        QCOMPARE(dead.first().first().toString(), u"no heartbeat for 5.0 s"_s);
        QTRY_VERIFY_WITH_TIMEOUT(!processAlive(pid), kWaitMs);
        // It registered again, on a new connection...
        QTRY_COMPARE_WITH_TIMEOUT(registered.size(), 2, kWaitMs);
        QCOMPARE(server.connectionCount(), 2);
        QCOMPARE(server.ofType(wire::type::Register, 2).size(), 1);
        // ...and told that one how the old run ended (the server fences it as stale).
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(taskKeyOf(task), InstanceStatus::Canceled).size(), 1, kWaitMs);
        QVERIFY(server.reportsOf(taskKeyOf(task), InstanceStatus::Canceled)
                    .first()
                    .result.startsWith(u"the server declared this worker dead: no heartbeat"_s));
        QCOMPARE(server.ofType(wire::type::Status, 2).isEmpty(), false);
    }

    void leaseExpiryWithPolicyKillStopsRuns()
    {
        FakeServer server(kApp, kSecret);
        server.reply.heartbeatMs = 100;
        server.reply.leaseMs = 700;
        QVERIFY(server.listen());
        WorkerConfig config = configFor({server.port()}, u"lease"_s);
        config.onLeaseLoss = LeaseLossPolicy::Kill;
        WorkerAgent agent(config);
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QSignalSpy expired(&agent, &WorkerAgent::leaseExpired);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        const QString pidFile = m_dir.filePath(u"lease-script.pid"_s);
        const TaskSpec task = shellTask(31, u"echo $$ > '%1'; exec sleep 60"_s.arg(pidFile));
        server.dispatch({task});
        QTRY_VERIFY_WITH_TIMEOUT(readPid(pidFile) > 0, kWaitMs);
        const qint64 pid = readPid(pidFile);
        QVERIFY(processAlive(pid));

        // The server goes silent (a partition or a frozen server): no more heartbeatAcks.
        QElapsedTimer silence;
        silence.start();
        server.ackHeartbeats = false;
        QVERIFY(expired.wait(kWaitMs));
        QVERIFY2(silence.elapsed() <= 700 + 2000,
                 qPrintable(u"lease ended after %1 ms of silence"_s.arg(silence.elapsed())));
        QVERIFY(expired.first().first().toLongLong() >= 700);
        QTRY_VERIFY_WITH_TIMEOUT(!processAlive(pid), kWaitMs);
        // The stop is reported (on the next connection: a silent server is given up on).
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(taskKeyOf(task), InstanceStatus::Canceled).size(), 1, kWaitMs);
        QVERIFY(server.reportsOf(taskKeyOf(task), InstanceStatus::Canceled)
                    .first()
                    .result.startsWith(u"lease lost: no server heard from for"_s));
    }

    void leaseExpiryWithPolicyFinishLetsRunsEnd()
    {
        FakeServer server(kApp, kSecret);
        server.reply.heartbeatMs = 100;
        server.reply.leaseMs = 400;
        QVERIFY(server.listen());
        WorkerConfig config = configFor({server.port()}, u"finish"_s);
        config.onLeaseLoss = LeaseLossPolicy::Finish;
        WorkerAgent agent(config);
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QSignalSpy expired(&agent, &WorkerAgent::leaseExpired);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        const TaskSpec task = sleepTask(32, 1500);
        server.dispatch({task});
        QTRY_COMPARE_WITH_TIMEOUT(server.reportsOf(taskKeyOf(task), InstanceStatus::Running).size(),
                                  1, kWaitMs);
        server.ackHeartbeats = false;
        QVERIFY(expired.wait(kWaitMs));
        // The run goes on and reports its real end (late; the server fences it if it retried).
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(taskKeyOf(task), InstanceStatus::Succeeded).size(), 1, kWaitMs);
        QCOMPARE(server.reportsOf(taskKeyOf(task), InstanceStatus::Canceled).size(), 0);
    }

    void failsOverToTheNextServer()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        const quint16 refused = closedPort();
        WorkerAgent agent(configFor({refused, server.port()}, u"failover"_s));
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QSignalSpy failed(&agent, &WorkerAgent::connectFailed);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));
        QCOMPARE(registered.first().first().toString(), server.address());
        QCOMPARE(failed.size(), 1);
        QCOMPARE(failed.first().at(0).toString(), u"127.0.0.1:%1"_s.arg(refused));
        QCOMPARE(failed.first().at(2).toInt(), 0); // the next address is tried at once
        QCOMPARE(agent.currentServer(), addressOf(server.port()));
    }

    void wrongSecretIsRefusedAndRetriedWithBackoff()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerConfig config = configFor({server.port()}, u"secret"_s);
        config.secret = u"not the secret"_s;
        config.reconnectMaxMs = 400;
        WorkerAgent agent(config);
        QSignalSpy failed(&agent, &WorkerAgent::connectFailed);
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QElapsedTimer clock;
        clock.start();
        QList<qint64> failedAt;
        connect(&agent, &WorkerAgent::connectFailed, this,
                [&] { failedAt.append(clock.elapsed()); });
        QVERIFY(agent.start().ok());

        QTRY_VERIFY_WITH_TIMEOUT(failed.size() >= 4, kWaitMs);
        QCOMPARE(registered.size(), 0);
        QCOMPARE(failed.first().at(1).toString(), u"authentication failed: wrong name or secret"_s);
        // Waits of 200, 400, 400 ms (+-20%): doubling, capped by --reconnect-max-ms.
        const QList<int> expected{200, 400, 400};
        for (int i = 0; i < 3; ++i) {
            const int retry = failed.at(i).at(2).toInt();
            QVERIFY2(retry >= expected.at(i) * 0.8 && retry <= expected.at(i) * 1.2,
                     qPrintable(u"retry %1 in %2 ms"_s.arg(i).arg(retry)));
            // It really waited: no spinning.
            QVERIFY2(failedAt.at(i + 1) - failedAt.at(i) >= retry,
                     qPrintable(u"attempt %1 came %2 ms after the failure"_s.arg(i + 1).arg(
                         failedAt.at(i + 1) - failedAt.at(i))));
        }
        // The server saw the same refusals, and nothing more.
        QCOMPARE(server.connectionCount(), 0);
        QVERIFY(server.loginFailures.size() >= 4);
    }

    void drainReturnsQueuedTasksAndLetsRunningOnesFinish()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerConfig config = configFor({server.port()}, u"drain"_s);
        config.threads = 1;
        WorkerAgent agent(config);
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QSignalSpy finished(&agent, &WorkerAgent::finished);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        const TaskSpec running = sleepTask(50, 1500);
        const TaskSpec queued1 = echoTask(51, u"q1"_s);
        const TaskSpec queued2 = echoTask(52, u"q2"_s);
        server.dispatch({running, queued1, queued2});
        QTRY_COMPARE_WITH_TIMEOUT(
            server.reportsOf(taskKeyOf(running), InstanceStatus::Running).size(), 1, kWaitMs);

        agent.drain(u"received SIGTERM"_s);
        QTRY_COMPARE_WITH_TIMEOUT(server.count(wire::type::Drain), 1, kWaitMs);
        QCOMPARE(wire::decodeReason(server.ofType(wire::type::Drain).first()).value(),
                 u"received SIGTERM"_s);
        QTRY_COMPARE_WITH_TIMEOUT(server.returned().size(), 2, kWaitMs);
        QCOMPARE(server.returned().at(0).key, taskKeyOf(queued1));
        QCOMPARE(server.returned().at(1).key, taskKeyOf(queued2));
        QVERIFY(server.returned().at(0).reason.contains(u"draining"_s));

        // A dispatch that crosses the drain goes straight back.
        const TaskSpec late = echoTask(53, u"late"_s);
        server.dispatch({late});
        QTRY_COMPARE_WITH_TIMEOUT(server.returned().size(), 3, kWaitMs);

        QVERIFY(finished.wait(kWaitMs));
        // Finished only once the server had read the last report (nothing lost on exit).
        QCOMPARE(server.reportsOf(taskKeyOf(running), InstanceStatus::Succeeded).size(), 1);
        // Handed-back tasks never ran and were never reported.
        for (const TaskSpec &t : {queued1, queued2, late})
            QVERIFY(server.reportsOf(taskKeyOf(t)).isEmpty());
        QCOMPARE(agent.state(), WorkerAgent::State::Finished);
        QTRY_COMPARE_WITH_TIMEOUT(server.openConnections(), 0, kWaitMs);
    }

    void drainTimeoutStopsWhatStillRuns()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerConfig config = configFor({server.port()}, u"drain-timeout"_s);
        config.drainTimeoutMs = 200;
        WorkerAgent agent(config);
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QSignalSpy finished(&agent, &WorkerAgent::finished);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        const TaskSpec slow = sleepTask(60, 60000);
        server.dispatch({slow});
        QTRY_COMPARE_WITH_TIMEOUT(server.reportsOf(taskKeyOf(slow), InstanceStatus::Running).size(),
                                  1, kWaitMs);
        agent.drain(u"received SIGTERM"_s);
        QVERIFY(finished.wait(kWaitMs));
        const auto canceled = server.reportsOf(taskKeyOf(slow), InstanceStatus::Canceled);
        QCOMPARE(canceled.size(), 1);
        QVERIFY2(canceled.first().result.contains(u"drain timeout"_s),
                 qPrintable(canceled.first().result));
    }

    void drainWithoutAServerStopsAtOnce()
    {
        WorkerConfig config = configFor({closedPort()}, u"drain-alone"_s);
        config.reconnectMaxMs = 200;
        WorkerAgent agent(config);
        QSignalSpy failed(&agent, &WorkerAgent::connectFailed);
        QSignalSpy finished(&agent, &WorkerAgent::finished);
        QVERIFY(agent.start().ok());
        QVERIFY(failed.wait(kWaitMs));
        // Nothing to hand back or report: no waiting for a server that is not there (the
        // delivery grace is 5 s).
        QElapsedTimer clock;
        clock.start();
        agent.drain(u"received SIGTERM"_s);
        QVERIFY(finished.wait(kWaitMs));
        QVERIFY2(clock.elapsed() < 2000, qPrintable(u"%1 ms"_s.arg(clock.elapsed())));
        QCOMPARE(agent.state(), WorkerAgent::State::Finished);
    }

    void unknownMessageTypesAreAnsweredWithAnError()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerAgent agent(configFor({server.port()}, u"unknown"_s));
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));
        server.send(protocol::Message(u"teleport"_s));
        QTRY_COMPARE_WITH_TIMEOUT(server.count(protocol::msg::Error), 1, kWaitMs);
        QVERIFY(
            server.ofType(protocol::msg::Error).first().text("reason"_L1).contains(u"teleport"_s));
        QCOMPARE(agent.state(), WorkerAgent::State::Registered);
    }
};

QTEST_GUILESS_MAIN(TstWorkerAgent)
#include "tst_worker_agent.moc"
