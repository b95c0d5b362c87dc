// CommandRunner against a scripted Client: exit codes and messages for server errors and lost
// connections, `job run --wait` (events, the poll safety net, failures, the deadline) and
// `instance logs [--follow]` (pages, events overlapping pages, gaps, the end of the run) — every
// line exactly once, in order.
#include "fake_client.h"

#include <command_line.h>
#include <command_runner.h>
#include <core/task_info.h>
#include <core/worker_info.h>

#include <QJsonDocument>
#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace kairos;
using namespace kairos::cli;
using kairos::cli::test::FakeClient;

namespace {

// One runner with its captured output.
struct Session {
    QString out;
    QString err;
    QTextStream outStream{&out};
    QTextStream errStream{&err};
    std::unique_ptr<CommandRunner> runner;
    std::unique_ptr<QSignalSpy> finished;

    Session(FakeClient &client, const QStringList &args, CommandRunner::Options options = {})
    {
        const ParsedCommandLine parsed =
            parseCommandLine(args, [](const QString &) -> Result<QByteArray> {
                return makeError(QStringLiteral("no files here"));
            });
        if (!parsed.ok())
            qFatal("bad test command line: %s", qPrintable(parsed.error));
        options.zone = QTimeZone::utc();
        runner = std::make_unique<CommandRunner>(client, parsed.invocation.action, options,
                                                 outStream, errStream);
        finished = std::make_unique<QSignalSpy>(runner.get(), &CommandRunner::finished);
        runner->start();
    }

    // Waits for the end; -1 if it did not come in time.
    int wait(int timeoutMs = 5000)
    {
        if (finished->isEmpty() && !finished->wait(timeoutMs))
            return -1;
        if (finished->size() != 1)
            return -2; // finished twice
        outStream.flush();
        errStream.flush();
        return finished->at(0).at(0).toInt();
    }
};

QJsonObject detail(const Instance &i)
{
    return {{QStringLiteral("instance"), instanceToJson(i)},
            {QStringLiteral("attempts"), QJsonArray{}}};
}

Instance inst(qint64 id, InstanceStatus status, qint64 version = 1)
{
    Instance i;
    i.id = id;
    i.jobId = 3;
    i.jobName = QStringLiteral("nightly");
    i.status = status;
    i.version = version;
    return i;
}

LogLine logLine(qint64 instanceId, qint64 seq, int attempt = 1)
{
    LogLine l;
    l.instanceId = instanceId;
    l.seq = seq;
    l.attempt = attempt;
    l.timeMs = seq * 1000;
    l.text = QStringLiteral("line %1").arg(seq);
    return l;
}

// instance.logs over a growing list of stored lines.
FakeClient::Handler logsHandler(const QList<LogLine> *stored, QList<qint64> *afterSeqs = nullptr)
{
    return [stored, afterSeqs](const QJsonObject &p) -> std::optional<Result<QJsonObject>> {
        const qint64 after = p.value(QStringLiteral("afterSeq")).toInteger();
        const int limit = p.value(QStringLiteral("limit")).toInt();
        if (afterSeqs)
            afterSeqs->append(after);
        QJsonArray lines;
        for (const LogLine &l : *stored) {
            if (l.seq > after && lines.size() < limit)
                lines.append(logLineToJson(l));
        }
        return Result<QJsonObject>(QJsonObject{{QStringLiteral("lines"), lines}});
    };
}

// A map run's tasks on a scripted server: instance.tasks pages them by id like the real one
// (after, limit, status; `next` = the last id of a full page, else 0) and records each `after`.
struct TaskServer {
    QList<TaskInfo> tasks;
    QList<qint64> afters;

    explicit TaskServer(int count)
    {
        for (int i = 1; i <= count; ++i) {
            TaskInfo t;
            t.instanceId = 42;
            t.taskId = i;
            t.parentId = i == 1 ? 0 : 1;
            t.name = i == 1 ? QStringLiteral("root") : QStringLiteral("shard");
            t.role = i == 1 ? TaskRole::Root : TaskRole::Subtask;
            t.status = i % 10 == 0 ? InstanceStatus::Failed : InstanceStatus::Succeeded;
            t.runs = 1;
            t.worker = QStringLiteral("w%1").arg(i % 3);
            t.address = QStringLiteral("10.0.0.%1:9100").arg(i % 3);
            t.result = QStringLiteral("result %1").arg(i);
            tasks << t;
        }
    }

    FakeClient::Handler handler()
    {
        return [this](const QJsonObject &p) -> std::optional<Result<QJsonObject>> {
            if (p.value("id").toInteger() != 42)
                return Result<QJsonObject>(makeError(
                    QStringLiteral("no instance with id %1").arg(p.value("id").toInteger())));
            const qint64 after = p.value("after").toInteger();
            const int limit = p.value("limit").toInt(100);
            QStringList statuses;
            for (const QJsonValue &v : p.value("status").toArray())
                statuses << v.toString();
            afters << after;
            QJsonArray page;
            qint64 last = 0;
            for (const TaskInfo &t : std::as_const(tasks)) {
                if (t.taskId <= after || page.size() >= limit)
                    continue;
                if (!statuses.isEmpty() && !statuses.contains(toString(t.status)))
                    continue;
                page.append(taskInfoToJson(t));
                last = t.taskId;
            }
            return Result<QJsonObject>(
                QJsonObject{{"tasks", page}, {"next", page.size() >= limit ? last : 0}});
        };
    }
};

// The task ids in a printed table (the first column of each row after the header).
QList<qint64> taskIdsOf(const QString &table)
{
    QList<qint64> ids;
    const QStringList lines = table.split(u'\n', Qt::SkipEmptyParts);
    for (qsizetype i = 1; i < lines.size(); ++i)
        ids << lines.at(i).trimmed().section(u' ', 0, 0).toLongLong();
    return ids;
}

// The seq numbers of JSON Lines output.
QList<qint64> seqsOf(const QString &jsonLines)
{
    QList<qint64> out;
    for (const QString &line : jsonLines.split(u'\n', Qt::SkipEmptyParts))
        out << QJsonDocument::fromJson(line.toUtf8()).object().value("seq").toInteger();
    return out;
}

QList<qint64> range(qint64 from, qint64 to)
{
    QList<qint64> out;
    for (qint64 i = from; i <= to; ++i)
        out << i;
    return out;
}

} // namespace

class TestCliRunner : public QObject {
    Q_OBJECT

private slots:
    void printsReplyAsJson();
    void serverErrorExitsOne();
    void waitsForTheLink();
    void cannotConnectExitsThree();
    void lostConnectionExitsThree();
    void runWithoutWaitPrintsIds();
    void runWaitFollowsEvents();
    void runWaitReportsFailure();
    void runWaitPollsWithoutEvents();
    void runWaitDeadline();
    void runWaitJson();
    void instanceListResolvesJobName();
    void logsInPages();
    void logsJson();
    void logsUnknownInstance();
    void followEndedInstance();
    void followPrintsEveryLineOnce();
    void followCatchesUpAfterGapDuringFetch();
    void appSecretAloneOnStdout_data();
    void appSecretAloneOnStdout();
    void appSecretJson();
    void appCreateRefused();
    void appList();
    void workerListTable();
    void workerListJson();
    void tasksOnePage();
    void tasksEveryPage();
    void tasksEveryPageJson();
    void tasksOnePageJson();
    void tasksNoneNote();
    void tasksUnknownInstance();
    void tasksServerNotMovingOn();
    void tasksConnectionLostBetweenPages();
};

void TestCliRunner::printsReplyAsJson()
{
    FakeClient client;
    const QJsonObject reply{{QStringLiteral("serverId"), QStringLiteral("s1")},
                            {QStringLiteral("jobs"), 2}};
    client.handlers.insert("server.info", [&](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(reply);
    });
    CommandRunner::Options options;
    options.json = true;
    Session s(client, {"server", "info"}, options);
    QCOMPARE(s.wait(), 0);
    QCOMPARE(QJsonDocument::fromJson(s.out.toUtf8()).object(), reply);
    QCOMPARE(s.err, QString());
}

void TestCliRunner::serverErrorExitsOne()
{
    FakeClient client;
    client.handlers.insert("job.get", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(makeError("no job named \"ghost\""));
    });
    Session s(client, {"job", "show", "ghost"});
    QCOMPARE(s.wait(), 1);
    QCOMPARE(s.err, QStringLiteral("kairosctl: no job named \"ghost\"\n"));
    QCOMPARE(s.out, QString());
}

void TestCliRunner::waitsForTheLink()
{
    FakeClient client;
    client.state = client::Client::LinkState::Connecting;
    client.handlers.insert("job.delete", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(QJsonObject{{"deleted", true}});
    });
    Session s(client, {"job", "delete", "nightly"});
    QVERIFY(client.calls.isEmpty()); // nothing is sent before the login finished
    client.setLink(client::Client::LinkState::Connected, "fake:1");
    QCOMPARE(s.wait(), 0);
    QCOMPARE(client.methods(), QStringList{"job.delete"});
    QCOMPARE(s.out, QStringLiteral("deleted job nightly\n"));
}

void TestCliRunner::cannotConnectExitsThree()
{
    FakeClient client;
    client.state = client::Client::LinkState::Connecting;
    CommandRunner::Options options;
    options.target = QStringLiteral("127.0.0.1:7070 as admin");
    Session s(client, {"job", "list"}, options);
    client.setLink(client::Client::LinkState::Disconnected,
                   "authentication failed: wrong name or secret");
    QCOMPARE(s.wait(), 3);
    QCOMPARE(s.err, QStringLiteral("kairosctl: cannot connect to 127.0.0.1:7070 as admin: "
                                   "authentication failed: wrong name or secret\n"));
    QVERIFY(client.calls.isEmpty());
}

void TestCliRunner::lostConnectionExitsThree()
{
    FakeClient client;
    client.handlers.insert("job.list", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(); // never answered
    });
    Session s(client, {"job", "list"});
    QCOMPARE(client.methods(), QStringList{"job.list"});
    client.setLink(client::Client::LinkState::Disconnected,
                   "the remote host closed the connection");
    QCOMPARE(s.wait(), 3);
    QCOMPARE(s.err, QStringLiteral("kairosctl: lost the connection to fake:1: the remote host "
                                   "closed the connection\n"));
}

void TestCliRunner::runWithoutWaitPrintsIds()
{
    FakeClient client;
    client.handlers.insert("job.run", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(
            QJsonObject{{"instanceIds", QJsonArray{21, 22, 23}}});
    });
    Session s(client, {"job", "run", "nightly", "--count", "3"});
    QCOMPARE(s.wait(), 0);
    QCOMPARE(s.out, QStringLiteral("21\n22\n23\n"));
    QCOMPARE(client.methods(), QStringList{"job.run"}); // no subscription without --wait
}

void TestCliRunner::runWaitFollowsEvents()
{
    FakeClient client;
    QHash<qint64, Instance> states{{11, inst(11, InstanceStatus::Running)},
                                   {12, inst(12, InstanceStatus::WaitingWorker)}};
    client.handlers.insert("job.run", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(QJsonObject{{"instanceIds", QJsonArray{11, 12}}});
    });
    client.handlers.insert("instance.get", [&](const QJsonObject &p) {
        return std::optional<Result<QJsonObject>>(detail(states.value(p.value("id").toInteger())));
    });
    CommandRunner::Options options;
    options.pollIntervalMs = 600000; // only events can end it in time
    Session s(client, {"job", "run", "nightly", "--count", "2", "--wait"}, options);

    // Subscribed before the run is asked for, so no transition can slip by.
    QTRY_VERIFY_WITH_TIMEOUT(client.methods().count("instance.get") == 2, 5000);
    QCOMPARE(client.methods().mid(0, 2), (QStringList{"events.subscribe", "job.run"}));
    QCOMPARE(client.calls.at(0).params.value("topics").toArray(), QJsonArray{"instances"});
    QTRY_COMPARE_WITH_TIMEOUT(s.out, QStringLiteral("11\n12\n"), 5000);
    QVERIFY(s.finished->isEmpty());

    // A retry in between: attempt 1 failed, attempt 2 is waiting — not the end.
    Instance retrying = inst(12, InstanceStatus::WaitingDispatch, 3);
    retrying.attempt = 2;
    retrying.maxAttempts = 2;
    // This spy is connected after the runner, so once it has seen the event, so has the runner.
    QSignalSpy delivered(&client, &FakeClient::instancesChanged);
    client.pushInstances({inst(11, InstanceStatus::Succeeded, 2), retrying});
    QTRY_COMPARE_WITH_TIMEOUT(delivered.size(), 1, 5000);
    QVERIFY(s.finished->isEmpty());

    Instance done = inst(12, InstanceStatus::Succeeded, 4);
    done.attempt = 2;
    done.maxAttempts = 2;
    client.pushInstances({done});
    QCOMPARE(s.wait(), 0);
    QVERIFY(s.out.startsWith("11\n12\nID  JOB"));
    QCOMPARE(s.out.count("SUCCEEDED"), 2);
    QVERIFY(s.out.contains("2/2"));
    QCOMPARE(s.err, QString());
}

void TestCliRunner::runWaitReportsFailure()
{
    FakeClient client;
    client.handlers.insert("job.run", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(QJsonObject{{"instanceIds", QJsonArray{11, 12}}});
    });
    client.handlers.insert("instance.get", [&](const QJsonObject &p) {
        const qint64 id = p.value("id").toInteger();
        Instance i = inst(id, id == 11 ? InstanceStatus::Succeeded : InstanceStatus::Skipped);
        if (id == 12)
            i.reason = QStringLiteral("job nightly is at its limit of 1 running instance(s)");
        return std::optional<Result<QJsonObject>>(detail(i));
    });
    Session s(client, {"job", "run", "3", "--wait"});
    QCOMPARE(s.wait(), 4);
    QCOMPARE(s.err, QStringLiteral("kairosctl: 1 of 2 run(s) did not succeed\n"));
    QVERIFY(s.out.contains("SKIPPED"));
    QVERIFY(s.out.contains("job nightly is at its limit of 1 running instance(s)"));
}

void TestCliRunner::runWaitPollsWithoutEvents()
{
    FakeClient client;
    QHash<qint64, int> asked;
    client.handlers.insert("job.run", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(QJsonObject{{"instanceIds", QJsonArray{5}}});
    });
    client.handlers.insert("instance.get", [&](const QJsonObject &p) {
        const qint64 id = p.value("id").toInteger();
        const int n = ++asked[id];
        return std::optional<Result<QJsonObject>>(
            detail(inst(id, n < 3 ? InstanceStatus::Running : InstanceStatus::Succeeded, n)));
    });
    CommandRunner::Options options;
    options.pollIntervalMs = 20;
    Session s(client, {"job", "run", "3", "--wait"}, options);
    QCOMPARE(s.wait(), 0);
    QCOMPARE(asked.value(5), 3); // stops polling once it has ended
}

void TestCliRunner::runWaitDeadline()
{
    FakeClient client;
    client.handlers.insert("job.run", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(QJsonObject{{"instanceIds", QJsonArray{7, 8}}});
    });
    client.handlers.insert("instance.get", [&](const QJsonObject &p) {
        const qint64 id = p.value("id").toInteger();
        Instance i = inst(id, id == 7 ? InstanceStatus::Succeeded : InstanceStatus::WaitingWorker);
        if (id == 8)
            i.reason = QStringLiteral("no worker serves app default");
        return std::optional<Result<QJsonObject>>(detail(i));
    });
    Session s(client, {"job", "run", "3", "--wait", "--timeout-s", "1"});
    QCOMPARE(s.wait(10000), 5);
    QCOMPARE(s.err, QStringLiteral("kairosctl: --timeout-s: after 1 s, 1 run(s) had not ended: 8 "
                                   "WAITING_WORKER (no worker serves app default)\n"));
}

void TestCliRunner::runWaitJson()
{
    FakeClient client;
    client.handlers.insert("job.run", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(QJsonObject{{"instanceIds", QJsonArray{9}}});
    });
    client.handlers.insert("instance.get", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(detail(inst(9, InstanceStatus::TimedOut)));
    });
    CommandRunner::Options options;
    options.json = true;
    Session s(client, {"job", "run", "3", "--wait"}, options);
    QCOMPARE(s.wait(), 4);
    const QJsonObject doc = QJsonDocument::fromJson(s.out.toUtf8()).object();
    QCOMPARE(doc.value("instanceIds").toArray(), QJsonArray{9});
    QCOMPARE(doc.value("instances").toArray().at(0).toObject().value("status").toString(),
             QStringLiteral("TIMED_OUT"));
}

void TestCliRunner::instanceListResolvesJobName()
{
    FakeClient client;
    client.handlers.insert("job.get", [](const QJsonObject &p) {
        if (p != QJsonObject{{"name", "nightly"}})
            return std::optional<Result<QJsonObject>>(makeError("unexpected params"));
        return std::optional<Result<QJsonObject>>(QJsonObject{{"id", 3}, {"name", "nightly"}});
    });
    client.handlers.insert("instance.list", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(QJsonObject{
            {"instances", QJsonArray{instanceToJson(inst(40, InstanceStatus::Succeeded)),
                                     instanceToJson(inst(39, InstanceStatus::Failed))}}});
    });
    Session s(client, {"instance", "list", "--job", "nightly", "--limit", "2"});
    QCOMPARE(s.wait(), 0);
    QCOMPARE(client.methods(), (QStringList{"job.get", "instance.list"}));
    QCOMPARE(client.calls.at(1).params, (QJsonObject{{"jobId", 3}, {"limit", 2}}));
    QVERIFY(s.out.startsWith("ID  JOB"));
    QCOMPARE(s.out.count('\n'), 3);
    // A full page: say how to get the next one.
    QCOMPARE(s.err, QStringLiteral("(more: add --before 39)\n"));
}

void TestCliRunner::logsInPages()
{
    FakeClient client;
    const QList<LogLine> stored{logLine(4, 1), logLine(4, 2), logLine(4, 3), logLine(4, 4, 2),
                                logLine(4, 5, 2)};
    QList<qint64> afterSeqs;
    client.handlers.insert("instance.get", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(detail(inst(4, InstanceStatus::Failed)));
    });
    client.handlers.insert("instance.logs", logsHandler(&stored, &afterSeqs));
    CommandRunner::Options options;
    options.logPageSize = 2;
    Session s(client, {"instance", "logs", "4"}, options);
    QCOMPARE(s.wait(), 0);
    QCOMPARE(afterSeqs, (QList<qint64>{0, 2, 4}));
    QCOMPARE(s.out, QStringLiteral("1970-01-01T00:00:01+00:00 OUT line 1\n"
                                   "1970-01-01T00:00:02+00:00 OUT line 2\n"
                                   "1970-01-01T00:00:03+00:00 OUT line 3\n"
                                   "--- attempt 2 ---\n"
                                   "1970-01-01T00:00:04+00:00 OUT line 4\n"
                                   "1970-01-01T00:00:05+00:00 OUT line 5\n"));
    QVERIFY(!client.methods().contains("events.subscribe")); // no --follow, no events
}

void TestCliRunner::logsJson()
{
    FakeClient client;
    const QList<LogLine> stored{logLine(4, 1), logLine(4, 2), logLine(4, 3)};
    client.handlers.insert("instance.get", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(detail(inst(4, InstanceStatus::Running)));
    });
    client.handlers.insert("instance.logs", logsHandler(&stored));
    CommandRunner::Options options;
    options.json = true;
    options.logPageSize = 2;
    Session s(client, {"instance", "logs", "4"}, options);
    QCOMPARE(s.wait(), 0);
    const QJsonArray lines =
        QJsonDocument::fromJson(s.out.toUtf8()).object().value("lines").toArray();
    QCOMPARE(lines.size(), 3);
    QCOMPARE(lines.at(2).toObject(), logLineToJson(stored.at(2)));
}

void TestCliRunner::logsUnknownInstance()
{
    FakeClient client;
    client.handlers.insert("instance.get", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(makeError("no instance with id 99"));
    });
    Session s(client, {"instance", "logs", "99", "--follow"});
    QCOMPARE(s.wait(), 1);
    QCOMPARE(s.err, QStringLiteral("kairosctl: no instance with id 99\n"));
    QVERIFY(!client.methods().contains("instance.logs"));
}

void TestCliRunner::followEndedInstance()
{
    FakeClient client;
    const QList<LogLine> stored{logLine(4, 1), logLine(4, 2)};
    client.handlers.insert("instance.get", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(detail(inst(4, InstanceStatus::Succeeded)));
    });
    client.handlers.insert("instance.logs", logsHandler(&stored));
    CommandRunner::Options options;
    options.json = true;
    Session s(client, {"instance", "logs", "4", "--follow"}, options);
    QCOMPARE(s.wait(), 0);
    QCOMPARE(seqsOf(s.out), (QList<qint64>{1, 2}));
    QCOMPARE(client.methods(), (QStringList{"events.subscribe", "instance.get", "instance.logs"}));
    QCOMPARE(client.calls.at(0).params,
             (QJsonObject{{"topics", QJsonArray{"logs", "instances"}}, {"instanceId", 4}}));
}

void TestCliRunner::followPrintsEveryLineOnce()
{
    FakeClient client;
    QList<LogLine> stored{logLine(4, 1), logLine(4, 2), logLine(4, 3)};
    Instance state = inst(4, InstanceStatus::Running);
    int logCalls = 0;
    client.handlers.insert("instance.get", [&](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(detail(state));
    });
    const FakeClient::Handler read = logsHandler(&stored);
    client.handlers.insert("instance.logs", [&](const QJsonObject &p) {
        auto reply = read(p);
        if (++logCalls == 1) {
            // While the first page is on its way, line 4 is stored and announced together
            // with line 3, which the pages will also bring: both must print once.
            stored << logLine(4, 4);
            client.pushLogs({logLine(4, 3), logLine(4, 4)});
        }
        return reply;
    });
    CommandRunner::Options options;
    options.json = true;
    options.logPageSize = 2;
    options.pollIntervalMs = 600000;
    Session s(client, {"instance", "logs", "4", "--follow"}, options);
    QTRY_COMPARE_WITH_TIMEOUT(seqsOf(s.out), range(1, 4), 5000);

    // Lines 5-7 are stored but the event carries 5 and 7 only: 6 is read from the server.
    stored << logLine(4, 5) << logLine(4, 6) << logLine(4, 7);
    client.pushLogs({logLine(4, 5), logLine(4, 7), logLine(5, 1) /* another instance */});
    QTRY_COMPARE_WITH_TIMEOUT(seqsOf(s.out), range(1, 7), 5000);
    QVERIFY(s.finished->isEmpty());

    // The run ends; its last line was stored before the end was reported, without an event.
    stored << logLine(4, 8);
    state = inst(4, InstanceStatus::Succeeded, 2);
    client.pushInstances({state});
    QCOMPARE(s.wait(), 0);
    QCOMPARE(seqsOf(s.out), range(1, 8));
}

void TestCliRunner::followCatchesUpAfterGapDuringFetch()
{
    FakeClient client;
    QList<LogLine> stored{logLine(4, 1), logLine(4, 2)};
    Instance state = inst(4, InstanceStatus::Running);
    int logCalls = 0;
    client.handlers.insert("instance.get", [&](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(detail(state));
    });
    const FakeClient::Handler read = logsHandler(&stored);
    client.handlers.insert("instance.logs", [&](const QJsonObject &p) {
        auto reply = read(p); // the page is read first ...
        if (++logCalls == 1) {
            // ... then 3-5 are stored, and only 5 reaches this subscriber as an event.
            stored << logLine(4, 3) << logLine(4, 4) << logLine(4, 5);
            client.pushLogs({logLine(4, 5)});
        }
        return reply;
    });
    CommandRunner::Options options;
    options.json = true;
    options.pollIntervalMs = 30; // the end is found by the poll this time
    Session s(client, {"instance", "logs", "4", "--follow"}, options);
    QTRY_COMPARE_WITH_TIMEOUT(seqsOf(s.out), range(1, 5), 5000);
    state = inst(4, InstanceStatus::Canceled, 2);
    QCOMPARE(s.wait(), 0);
    QCOMPARE(seqsOf(s.out), range(1, 5));
}

void TestCliRunner::appSecretAloneOnStdout_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("method");
    QTest::addColumn<QString>("note");
    QTest::newRow("create") << QStringList{"app", "create", "billing"} << "app.create"
                            << "created app \"billing\"";
    QTest::newRow("rotate") << QStringList{"app", "rotate-secret", "billing"} << "app.rotateSecret"
                            << "app \"billing\" has a new secret";
}

void TestCliRunner::appSecretAloneOnStdout()
{
    QFETCH(QStringList, args);
    QFETCH(QString, method);
    QFETCH(QString, note);
    FakeClient client;
    client.handlers.insert(method, [](const QJsonObject &p) {
        return std::optional<Result<QJsonObject>>(
            QJsonObject{{"name", p.value("name")}, {"secret", "Zm9vYmFyYmF6cXV4"}});
    });
    Session s(client, args);
    QCOMPARE(s.wait(), 0);
    QCOMPARE(client.methods(), QStringList{method});
    QCOMPARE(client.calls.at(0).params, (QJsonObject{{"name", "billing"}}));
    // `kairosctl app create billing > billing.secret` must give a usable secret file.
    QCOMPARE(s.out, QStringLiteral("Zm9vYmFyYmF6cXV4\n"));
    QVERIFY2(s.err.startsWith(note), qPrintable(s.err));
}

void TestCliRunner::appSecretJson()
{
    FakeClient client;
    const QJsonObject reply{{"name", "billing"}, {"secret", "Zm9vYmFyYmF6cXV4"}};
    client.handlers.insert("app.rotateSecret", [&](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(reply);
    });
    CommandRunner::Options options;
    options.json = true;
    Session s(client, {"app", "rotate-secret", "billing"}, options);
    QCOMPARE(s.wait(), 0);
    QCOMPARE(QJsonDocument::fromJson(s.out.toUtf8()).object(), reply);
    QCOMPARE(s.err, QString());
}

void TestCliRunner::appCreateRefused()
{
    FakeClient client;
    client.handlers.insert("app.create", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(
            makeError("name: an app named \"default\" exists already"));
    });
    Session s(client, {"app", "create", "default"});
    QCOMPARE(s.wait(), 1);
    QCOMPARE(s.out, QString());
    QCOMPARE(s.err, QStringLiteral("kairosctl: name: an app named \"default\" exists already\n"));
}

void TestCliRunner::appList()
{
    FakeClient client;
    client.handlers.insert("app.list", [](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(QJsonObject{
            {"apps", QJsonArray{QJsonObject{{"name", "default"}, {"aliveWorkers", 3}}}}});
    });
    Session s(client, {"app", "list"});
    QCOMPARE(s.wait(), 0);
    QCOMPARE(s.out, QStringLiteral("NAME     ALIVE WORKERS\n"
                                   "default              3\n"));
}

void TestCliRunner::workerListTable()
{
    const qint64 now = 1'700'000'000'000;
    WorkerInfo w;
    w.id = QStringLiteral("w1");
    w.app = QStringLiteral("default");
    w.address = QStringLiteral("127.0.0.1");
    w.capacity = 4;
    w.lastHeartbeatMs = now - 1'500;
    w.metrics.cpus = 4;
    w.metrics.load1 = 0.5;
    w.metrics.memTotalMb = 8192;
    w.metrics.memFreeMb = 4096;
    w.metrics.diskFreeMb = 700;
    w.metrics.running = 1;
    FakeClient client;
    client.handlers.insert("worker.list", [&](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(
            QJsonObject{{"workers", QJsonArray{workerToJson(w)}}});
    });
    CommandRunner::Options options;
    options.nowMs = now;
    Session s(client, {"worker", "list"}, options);
    QCOMPARE(s.wait(), 0);
    QCOMPARE(s.out, QStringLiteral("ID  APP      ADDRESS    STATE  LAST HEARTBEAT    LOAD  "
                                   "MEM FREE  DISK FREE  RUNNING  TAGS\n"
                                   "w1  default  127.0.0.1  ALIVE  1.5 s ago       0.50/4    "
                                   "4.0 GB     700 MB      1/4  -\n"));
}

void TestCliRunner::workerListJson()
{
    WorkerInfo w;
    w.id = QStringLiteral("w1");
    w.app = QStringLiteral("default");
    w.state = WorkerState::Dead;
    w.deadReason = QStringLiteral("no heartbeat for 5.0 s");
    const QJsonObject reply{{"workers", QJsonArray{workerToJson(w)}}};
    FakeClient client;
    client.handlers.insert("worker.list", [&](const QJsonObject &) {
        return std::optional<Result<QJsonObject>>(reply);
    });
    CommandRunner::Options options;
    options.json = true;
    Session s(client, {"worker", "list"}, options);
    QCOMPARE(s.wait(), 0);
    const QJsonObject printed = QJsonDocument::fromJson(s.out.toUtf8()).object();
    QCOMPARE(printed, reply);
    auto back = workerFromJson(printed.value("workers").toArray().at(0).toObject());
    QVERIFY2(back.ok(), qPrintable(back.error()));
    QCOMPARE(back->deadReason, w.deadReason);
}

void TestCliRunner::tasksOnePage()
{
    TaskServer server(250);
    server.tasks[1].result = QStringLiteral("line one\nline two");
    FakeClient client;
    client.handlers.insert("instance.tasks", server.handler());
    Session s(client, {"instance", "tasks", "42", "--limit", "3"});
    QCOMPARE(s.wait(), 0);
    QCOMPARE(s.out, QStringLiteral("TASK  NAME   ROLE     STATUS     RUNS  WORKER  ADDRESS      "
                                   "  RESULT\n"
                                   "   1  root   ROOT     SUCCEEDED     1  w1      10.0.0.1:9100  "
                                   "result 1\n"
                                   "   2  shard  SUBTASK  SUCCEEDED     1  w2      10.0.0.2:9100  "
                                   "line one ...\n"
                                   "   3  shard  SUBTASK  SUCCEEDED     1  w0      10.0.0.0:9100  "
                                   "result 3\n"));
    // Where the next page starts, on stderr so stdout stays a table.
    QCOMPARE(s.err, QStringLiteral("(more: add --after 3, or --all)\n"));
    QCOMPARE(server.afters, QList<qint64>{0});
}

void TestCliRunner::tasksEveryPage()
{
    TaskServer server(2500);
    FakeClient client;
    client.handlers.insert("instance.tasks", server.handler());
    Session s(client, {"instance", "tasks", "42", "--all"});
    QCOMPARE(s.wait(), 0);
    QCOMPARE(s.err, QString());
    // Pages of 1000, each continuing where the last ended; the last page is short, so no
    // extra empty call.
    QCOMPARE(server.afters, (QList<qint64>{0, 1000, 2000}));
    QCOMPARE(s.out.count(QStringLiteral("TASK  NAME")), 1); // one header
    QCOMPARE(taskIdsOf(s.out), range(1, 2500));
    QCOMPARE(s.out.count(QStringLiteral(" FAILED ")), 250);

    // With a filter and a start, only those, still every page.
    TaskServer failedOnly(2500);
    FakeClient client2;
    client2.handlers.insert("instance.tasks", failedOnly.handler());
    Session s2(client2, {"instance", "tasks", "42", "--all", "--status", "FAILED", "--after",
                         "2000", "--limit", "20"});
    QCOMPARE(s2.wait(), 0);
    QList<qint64> expected;
    for (qint64 id = 2010; id <= 2500; id += 10)
        expected << id;
    QCOMPARE(taskIdsOf(s2.out), expected);
    QCOMPARE(failedOnly.afters, (QList<qint64>{2000, 2200, 2400}));
}

void TestCliRunner::tasksEveryPageJson()
{
    TaskServer server(45);
    FakeClient client;
    client.handlers.insert("instance.tasks", server.handler());
    CommandRunner::Options options;
    options.json = true;
    Session s(client, {"instance", "tasks", "42", "--all", "--limit", "15"}, options);
    QCOMPARE(s.wait(), 0);
    // One document with every task; 45 = 3 full pages, so the 4th call finds the end.
    QCOMPARE(server.afters, (QList<qint64>{0, 15, 30, 45}));
    const QJsonObject doc = QJsonDocument::fromJson(s.out.toUtf8()).object();
    QCOMPARE(doc.value("next").toInteger(), 0);
    const QJsonArray tasks = doc.value("tasks").toArray();
    QCOMPARE(tasks.size(), 45);
    for (qsizetype i = 0; i < tasks.size(); ++i)
        QCOMPARE(taskInfoFromJson(tasks.at(i).toObject()), server.tasks.at(i));
    QCOMPARE(s.err, QString());
}

void TestCliRunner::tasksOnePageJson()
{
    TaskServer server(5);
    FakeClient client;
    client.handlers.insert("instance.tasks", server.handler());
    CommandRunner::Options options;
    options.json = true;
    Session s(client, {"instance", "tasks", "42", "--limit", "2"}, options);
    QCOMPARE(s.wait(), 0);
    const QJsonObject doc = QJsonDocument::fromJson(s.out.toUtf8()).object();
    QCOMPARE(doc.value("next").toInteger(), 2); // the server's reply, as is
    QCOMPARE(doc.value("tasks").toArray().size(), 2);
    QCOMPARE(server.afters, QList<qint64>{0});
}

void TestCliRunner::tasksNoneNote()
{
    TaskServer server(0);
    FakeClient client;
    client.handlers.insert("instance.tasks", server.handler());
    Session s(client, {"instance", "tasks", "42"});
    QCOMPARE(s.wait(), 0);
    QCOMPARE(s.out, QStringLiteral("TASK  NAME  ROLE  STATUS  RUNS  WORKER  ADDRESS  RESULT\n"));
    QVERIFY2(s.err.contains("instance 42 has no tasks: a STANDALONE run has none"),
             qPrintable(s.err));

    // No note when a filter simply matched nothing.
    TaskServer some(5);
    FakeClient client2;
    client2.handlers.insert("instance.tasks", some.handler());
    Session s2(client2, {"instance", "tasks", "42", "--status", "CANCELED"});
    QCOMPARE(s2.wait(), 0);
    QCOMPARE(s2.err, QString());
}

void TestCliRunner::tasksUnknownInstance()
{
    TaskServer server(5);
    FakeClient client;
    client.handlers.insert("instance.tasks", server.handler());
    Session s(client, {"instance", "tasks", "7", "--all"});
    QCOMPARE(s.wait(), 1);
    QCOMPARE(s.err, QStringLiteral("kairosctl: no instance with id 7\n"));
    QCOMPARE(s.out, QString());
}

void TestCliRunner::tasksServerNotMovingOn()
{
    FakeClient client;
    int asked = 0;
    client.handlers.insert("instance.tasks", [&](const QJsonObject &p) {
        ++asked;
        TaskInfo t;
        t.taskId = p.value("after").toInteger() == 0 ? 5 : 3; // then goes backwards
        return std::optional<Result<QJsonObject>>(
            QJsonObject{{"tasks", QJsonArray{taskInfoToJson(t)}}, {"next", t.taskId}});
    });
    Session s(client, {"instance", "tasks", "42", "--all", "--limit", "1"});
    QCOMPARE(s.wait(), 1);
    QCOMPARE(asked, 2);
    QCOMPARE(s.err, QStringLiteral("kairosctl: instance.tasks: the page after task 5 continues "
                                   "at task 3, which does not move on\n"));
}

void TestCliRunner::tasksConnectionLostBetweenPages()
{
    TaskServer server(30);
    FakeClient client;
    auto page = server.handler();
    client.handlers.insert("instance.tasks", [&](const QJsonObject &p) {
        if (p.value("after").toInteger() > 0)
            return std::optional<Result<QJsonObject>>(); // the second page never comes
        return page(p);
    });
    Session s(client, {"instance", "tasks", "42", "--all", "--limit", "10"});
    QTRY_COMPARE_WITH_TIMEOUT(client.methods().size(), 2, 5000);
    client.setLink(client::Client::LinkState::Disconnected,
                   "the remote host closed the connection");
    QCOMPARE(s.wait(), 3);
    QCOMPARE(taskIdsOf(s.out), range(1, 10)); // what arrived was printed
    QCOMPARE(s.err, QStringLiteral("kairosctl: lost the connection to fake:1: the remote host "
                                   "closed the connection\n"));
}

QTEST_GUILESS_MAIN(TestCliRunner)
#include "tst_cli_runner.moc"
