// The task rows of broadcast and map runs as the admin protocol carries them: every field
// survives a JSON round trip under the names docs/protocol.md gives, the payload never leaves
// the server, and the counts a console shows stay right through every move of a task.
#include <core/instance.h>
#include <core/task_info.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSet>
#include <QTest>

using namespace kairos;

namespace {

TaskInfo sampleTask()
{
    TaskInfo t;
    t.instanceId = 42;
    t.attempt = 2;
    t.taskId = 17;
    t.parentId = 1;
    t.seq = 16;
    t.name = QStringLiteral("shards");
    t.role = TaskRole::Subtask;
    t.status = InstanceStatus::Failed;
    t.runs = 3;
    t.worker = QStringLiteral("host-b:4711");
    t.address = QStringLiteral("10.0.0.7:9100");
    t.result = QStringLiteral("worker lost: heartbeat timeout\nsecond line");
    t.createdAtMs = 1700000000000;
    t.startedAtMs = 1700000000500;
    t.finishedAtMs = 1700000009000;
    return t;
}

} // namespace

namespace kairos {
// Failure messages a reader can use (found by QCOMPARE through argument-dependent lookup).
char *toString(const TaskCounts &c)
{
    return qstrdup(QStringLiteral("{total %1, waiting %2, running %3, succeeded %4, failed %5}")
                       .arg(c.total)
                       .arg(c.waiting)
                       .arg(c.running)
                       .arg(c.succeeded)
                       .arg(c.failed)
                       .toUtf8()
                       .constData());
}
} // namespace kairos

namespace {

using Move = std::pair<std::optional<InstanceStatus>, InstanceStatus>;

} // namespace

class TestTaskInfo : public QObject {
    Q_OBJECT

private slots:
    void taskRoundTrip_data();
    void taskRoundTrip();
    void taskJsonNamesAndNoPayload();
    void taskFromForeignJsonKeepsDefaults();
    void countsRoundTrip();
    void progressRoundTrip();
    void resultRoundTrip_data();
    void resultRoundTrip();
    void countTransitions_data();
    void countTransitions();
    void countsNeverGoNegative();
    void logLineCarriesItsTask();
};

void TestTaskInfo::taskRoundTrip_data()
{
    QTest::addColumn<TaskInfo>("task");
    QTest::newRow("failed subtask, every field") << sampleTask();
    for (TaskRole role : {TaskRole::Root, TaskRole::Reduce, TaskRole::PreProcess,
                          TaskRole::Broadcast, TaskRole::PostProcess, TaskRole::Standalone}) {
        TaskInfo t = sampleTask();
        t.role = role;
        t.parentId = 0;
        t.seq = 0;
        QTest::newRow(qPrintable(toString(role))) << t;
    }
    for (InstanceStatus s :
         {InstanceStatus::WaitingDispatch, InstanceStatus::Dispatched, InstanceStatus::Running,
          InstanceStatus::Succeeded, InstanceStatus::TimedOut, InstanceStatus::Canceled}) {
        TaskInfo t = sampleTask();
        t.status = s;
        QTest::newRow(qPrintable(toString(s))) << t;
    }
    TaskInfo fresh;
    QTest::newRow("defaults") << fresh;
}

void TestTaskInfo::taskRoundTrip()
{
    QFETCH(TaskInfo, task);
    // Through text, as it travels: a number must not come back as something else.
    const QByteArray wire = QJsonDocument(taskInfoToJson(task)).toJson(QJsonDocument::Compact);
    QCOMPARE(taskInfoFromJson(QJsonDocument::fromJson(wire).object()), task);
}

void TestTaskInfo::taskJsonNamesAndNoPayload()
{
    TaskInfo t = sampleTask();
    t.role = TaskRole::PostProcess;
    t.payload = QByteArray("secret item bytes");
    const QJsonObject o = taskInfoToJson(t);
    const QStringList keys = o.keys();
    QCOMPARE(QSet<QString>(keys.cbegin(), keys.cend()),
             (QSet<QString>{"instance", "attempt", "task", "parent", "seq", "name", "role",
                            "status", "runs", "worker", "address", "result", "createdAt",
                            "startedAt", "finishedAt"}));
    QCOMPARE(o.value("role").toString(), QStringLiteral("POST_PROCESS"));
    QCOMPARE(o.value("status").toString(), QStringLiteral("FAILED"));
    QCOMPARE(o.value("task").toInteger(), 17);
    QCOMPARE(o.value("address").toString(), QStringLiteral("10.0.0.7:9100"));
    // The mapped item stays on the server: a million payloads must not reach a console.
    const TaskInfo back = taskInfoFromJson(o);
    QVERIFY(back.payload.isEmpty());
    t.payload.clear();
    QCOMPARE(back, t);
}

void TestTaskInfo::taskFromForeignJsonKeepsDefaults()
{
    // A newer server may send a role or field this client does not know: the row still shows.
    const QJsonObject o = QJsonDocument::fromJson(R"({"instance": 5, "task": 9,
        "role": "SOMETHING_NEW", "status": "RUNNING", "extra": [1, 2]})")
                              .object();
    const TaskInfo t = taskInfoFromJson(o);
    QCOMPARE(t.instanceId, 5);
    QCOMPARE(t.taskId, 9);
    QCOMPARE(t.attempt, 1);
    QCOMPARE(toString(t.role), QStringLiteral("SUBTASK"));
    QCOMPARE(toString(t.status), QStringLiteral("RUNNING"));
    QCOMPARE(t.runs, 0);
}

void TestTaskInfo::countsRoundTrip()
{
    const TaskCounts c{1000000, 990000, 64, 9000, 936};
    const QJsonObject o = taskCountsToJson(c);
    QCOMPARE(o.value("total").toInteger(), 1000000);
    QCOMPARE(o.value("waiting").toInteger(), 990000);
    QCOMPARE(o.value("running").toInteger(), 64);
    QCOMPARE(o.value("succeeded").toInteger(), 9000);
    QCOMPARE(o.value("failed").toInteger(), 936);
    QCOMPARE(taskCountsFromJson(o), c);
}

void TestTaskInfo::progressRoundTrip()
{
    TaskProgress p;
    p.instanceId = 42;
    p.attempt = 2;
    p.counts = TaskCounts{3, 0, 1, 1, 1};
    p.changed << sampleTask();
    TaskInfo second = sampleTask();
    second.taskId = 18;
    second.status = InstanceStatus::Running;
    second.result.clear();
    p.changed << second;
    p.truncated = true;

    const QJsonObject o = taskProgressToJson(p);
    QCOMPARE(o.value("instance").toInteger(), 42);
    QCOMPARE(o.value("attempt").toInt(), 2);
    QCOMPARE(o.value("counts").toObject().value("running").toInteger(), 1);
    QCOMPARE(o.value("changed").toArray().size(), 2);
    QCOMPARE(o.value("changed").toArray().at(1).toObject().value("task").toInteger(), 18);
    QCOMPARE(o.value("truncated").toBool(), true);
    const QByteArray wire = QJsonDocument(o).toJson(QJsonDocument::Compact);
    QCOMPARE(taskProgressFromJson(QJsonDocument::fromJson(wire).object()), p);

    TaskProgress empty;
    QCOMPARE(taskProgressFromJson(taskProgressToJson(empty)), empty);
}

void TestTaskInfo::resultRoundTrip_data()
{
    QTest::addColumn<TaskResultEntry>("entry");
    TaskResultEntry ok{7,
                       QStringLiteral("broadcast"),
                       InstanceStatus::Succeeded,
                       QStringLiteral("disk cleaned"),
                       QStringLiteral("w1"),
                       QStringLiteral("10.0.0.1:9100"),
                       1};
    QTest::newRow("succeeded") << ok;
    TaskResultEntry lost{8,
                         QStringLiteral("broadcast"),
                         InstanceStatus::Failed,
                         QStringLiteral("worker lost: connection closed"),
                         QStringLiteral("w2"),
                         QStringLiteral("10.0.0.2:9100"),
                         1};
    QTest::newRow("lost worker keeps its address") << lost;
    TaskResultEntry retried{9,         QStringLiteral("item"), InstanceStatus::TimedOut,
                            QString(), QStringLiteral("w3"),   QString(),
                            4};
    QTest::newRow("timed out after reruns") << retried;
}

void TestTaskInfo::resultRoundTrip()
{
    QFETCH(TaskResultEntry, entry);
    const QJsonObject o = taskResultToJson(entry);
    // The shape KAIROS_RESULTS hands a broadcast postScript (docs/execution-modes.md).
    for (const char *key : {"task", "worker", "address", "status", "result", "runs"})
        QVERIFY2(o.contains(QLatin1String(key)), key);
    QCOMPARE(o.value("task").toInteger(), entry.taskId);
    QCOMPARE(o.value("status").toString(), toString(entry.status));
    QCOMPARE(taskResultFromJson(o), entry);
}

void TestTaskInfo::countTransitions_data()
{
    QTest::addColumn<QList<Move>>("moves");
    QTest::addColumn<TaskCounts>("expected");
    using S = InstanceStatus;
    const std::optional<S> none;

    QTest::newRow("nothing") << QList<Move>{} << TaskCounts{};
    QTest::newRow("three new tasks") << QList<Move>{{none, S::WaitingDispatch},
                                                    {none, S::WaitingDispatch},
                                                    {none, S::WaitingDispatch}}
                                     << TaskCounts{3, 3, 0, 0, 0};
    QTest::newRow("dispatched then running counts once as running")
        << QList<Move>{{none, S::WaitingDispatch},
                       {S::WaitingDispatch, S::Dispatched},
                       {S::Dispatched, S::Running}}
        << TaskCounts{1, 0, 1, 0, 0};
    QTest::newRow("a whole life to success") << QList<Move>{{none, S::WaitingDispatch},
                                                            {S::WaitingDispatch, S::Dispatched},
                                                            {S::Dispatched, S::Running},
                                                            {S::Running, S::Succeeded}}
                                             << TaskCounts{1, 0, 0, 1, 0};
    QTest::newRow("failover: running back to waiting, then succeeded")
        << QList<Move>{{none, S::WaitingDispatch},
                       {S::WaitingDispatch, S::Running},
                       {S::Running, S::WaitingDispatch},
                       {S::WaitingDispatch, S::Running},
                       {S::Running, S::Succeeded}}
        << TaskCounts{1, 0, 0, 1, 0};
    QTest::newRow("failed, timed out and canceled are all failed")
        << QList<Move>{{none, S::Running},         {none, S::Running},
                       {none, S::WaitingDispatch}, {S::Running, S::Failed},
                       {S::Running, S::TimedOut},  {S::WaitingDispatch, S::Canceled}}
        << TaskCounts{3, 0, 0, 0, 3};
    QTest::newRow("a broadcast run bound at creation") << QList<Move>{{none, S::Dispatched},
                                                                      {none, S::Dispatched},
                                                                      {none, S::Dispatched},
                                                                      {S::Dispatched, S::Succeeded},
                                                                      {S::Dispatched, S::Failed}}
                                                       << TaskCounts{3, 0, 1, 1, 1};
    QTest::newRow("same state twice changes nothing")
        << QList<Move>{{none, S::Running}, {S::Running, S::Running}} << TaskCounts{1, 0, 1, 0, 0};
}

void TestTaskInfo::countTransitions()
{
    QFETCH(QList<Move>, moves);
    QFETCH(TaskCounts, expected);
    TaskCounts c;
    for (const auto &[from, to] : moves)
        countTransition(c, from, to);
    QCOMPARE(c, expected);
    QCOMPARE(c.total, c.waiting + c.running + c.succeeded + c.failed);
}

void TestTaskInfo::countsNeverGoNegative()
{
    // A move out of a state nothing was counted in (a bug upstream) must not leave "-1 running"
    // on a console for ever: the task is counted where it is now, and the sum still holds.
    TaskCounts c;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("task counts: a move from .*RUNNING"));
    countTransition(c, InstanceStatus::Running, InstanceStatus::Succeeded);
    QCOMPARE(c, (TaskCounts{1, 0, 0, 1, 0}));
}

void TestTaskInfo::logLineCarriesItsTask()
{
    LogLine l;
    l.instanceId = 3;
    l.seq = 9;
    l.attempt = 2;
    l.taskId = 12;
    l.timeMs = 1000;
    l.stream = LogStream::Stderr;
    l.text = QStringLiteral("shard 12 failed");
    const QJsonObject o = logLineToJson(l);
    QCOMPARE(o.value("task").toInteger(), 12);
    QCOMPARE(logLineFromJson(o), l);
    // A line from a server without tasks reads as the run's own line.
    QJsonObject old = o;
    old.remove("task");
    QCOMPARE(logLineFromJson(old).taskId, 0);
}

QTEST_GUILESS_MAIN(TestTaskInfo)
#include "tst_task_info.moc"
