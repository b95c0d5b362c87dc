// kairosctl's human output: aligned tables, one job or instance field by field, log lines —
// the exact text a user reads, with times pinned to UTC.
#include <table.h>
#include <views.h>

#include <core/instance.h>
#include <core/job.h>
#include <core/task_info.h>
#include <core/worker_info.h>

#include <QTest>

using namespace kairos;
using namespace kairos::cli;

namespace {

const QTimeZone kUtc = QTimeZone::utc();

Instance instance(qint64 id, const QString &jobName, InstanceStatus status)
{
    Instance i;
    i.id = id;
    i.jobId = 4;
    i.jobName = jobName;
    i.status = status;
    return i;
}

} // namespace

class TestCliViews : public QObject {
    Q_OBJECT

private slots:
    void tableAlignsColumns();
    void keyValueLinesIndentContinuations();
    void times();
    void jobTable();
    void jobDetail();
    void jobStateLine();
    void instanceTable();
    void instanceDetail();
    void logLine();
    void logLineOfATask();
    void taskTable();
    void taskTablePagesLineUp();
    void firstLines_data();
    void firstLines();
    void serverInfo();
    void ages_data();
    void ages();
    void sizes_data();
    void sizes();
    void appTable();
    void appSecretNote();
    void workerTable();
};

void TestCliViews::tableAlignsColumns()
{
    Table t({"ID", "NAME", "NOTE"});
    t.alignRight(0);
    t.addRow({"7", "alpha", "x"});
    t.addRow({"123", "b", "multi\nline"});
    t.addRow({"5", "c", ""});
    t.addRow({"8"}); // missing cells are blank
    QCOMPARE(t.rowCount(), 4);
    QCOMPARE(t.toString(), QStringLiteral(" ID  NAME   NOTE\n"
                                          "  7  alpha  x\n"
                                          "123  b      multi line\n"
                                          "  5  c\n"
                                          "  8\n"));
}

void TestCliViews::keyValueLinesIndentContinuations()
{
    QCOMPARE(keyValueLines({{"a", "1"}, {"longer", "two\nlines"}, {"empty", ""}}),
             QStringLiteral("a:      1\n"
                            "longer: two\n"
                            "        lines\n"
                            "empty:\n"));
}

void TestCliViews::times()
{
    QCOMPARE(formatTime(0, kUtc), QStringLiteral("-"));
    QCOMPARE(formatTime(-1, kUtc), QStringLiteral("-")); // the server's "no next fire"
    QCOMPARE(formatTime(43200000, kUtc), QStringLiteral("1970-01-01T12:00:00+00:00"));
    QCOMPARE(formatTime(1500, kUtc), QStringLiteral("1970-01-01T00:00:01.500+00:00"));
    // Local time of the zone given, with its offset (CET in January).
    QCOMPARE(formatTime(1767225600000, QTimeZone("Europe/Berlin")),
             QStringLiteral("2026-01-01T01:00:00+01:00"));
}

void TestCliViews::jobTable()
{
    Job cron;
    cron.id = 3;
    cron.name = QStringLiteral("nightly");
    cron.timingType = TimingType::Cron;
    cron.timingExpression = QStringLiteral("0 0 2 * * ?");
    cron.timeZone = QStringLiteral("Europe/Berlin");
    cron.processor = ProcessorKind::Shell;
    QJsonObject first = jobToJson(cron);
    first[QStringLiteral("nextFireMs")] = 86400000;

    Job manual;
    manual.id = 12;
    manual.name = QStringLiteral("manual");
    manual.enabled = false;
    QJsonObject second = jobToJson(manual);
    second[QStringLiteral("nextFireMs")] = 0;

    QCOMPARE(cli::jobTable(QJsonArray{first, second}, kUtc),
             QStringLiteral(
                 "ID  NAME     ENABLED  TIMING            ZONE           NEXT FIRE                "
                 "  PROCESSOR\n"
                 " 3  nightly  yes      CRON 0 0 2 * * ?  Europe/Berlin  1970-01-02T00:00:00+00:00"
                 "  SHELL\n"
                 "12  manual   no       API               -              -                        "
                 "  ECHO\n"));
    QCOMPARE(cli::jobTable(QJsonArray{}, kUtc),
             QStringLiteral("ID  NAME  ENABLED  TIMING  ZONE  NEXT FIRE  PROCESSOR\n"));
}

void TestCliViews::jobDetail()
{
    Job job;
    job.id = 3;
    job.name = QStringLiteral("nightly");
    job.timingType = TimingType::Cron;
    job.timingExpression = QStringLiteral("0 0 2 * * ?");
    job.timeZone = QStringLiteral("UTC");
    job.processor = ProcessorKind::Shell;
    job.processorConfig = {{QStringLiteral("script"), QStringLiteral("echo one\necho two")}};
    job.maxConcurrentInstances = 1;
    job.retryCount = 2;
    job.version = 5;
    job.createdAtMs = 1000;
    job.updatedAtMs = 2000;
    QJsonObject json = jobToJson(job);
    json[QStringLiteral("nextFireMs")] = 86400000;

    QCOMPARE(cli::jobDetail(json, kUtc),
             QStringLiteral("id:            3\n"
                            "name:          nightly\n"
                            "app:           default\n"
                            "enabled:       yes\n"
                            "timing:        CRON 0 0 2 * * ?\n"
                            "time zone:     UTC\n"
                            "misfire:       FIRE_ONCE\n"
                            "next fire:     1970-01-02T00:00:00+00:00\n"
                            "mode:          STANDALONE\n"
                            "processor:     SHELL\n"
                            "  script:      echo one\n"
                            "               echo two\n"
                            "dispatch:      HEALTH_FIRST\n"
                            "max instances: 1\n"
                            "retries:       2 (first after 1000 ms, doubling)\n"
                            "timeout:       none\n"
                            "version:       5\n"
                            "created:       1970-01-01T00:00:01+00:00\n"
                            "updated:       1970-01-01T00:00:02+00:00\n"));

    // The optional lines appear when set.
    job.description = QStringLiteral("the report");
    job.misfirePolicy = MisfirePolicy::FireAll;
    job.misfireMaxFires = 5;
    job.maxConcurrentInstances = 0;
    job.timeoutMs = 30000;
    job.timeZone.clear();
    job.dispatch.strategy = DispatchStrategy::Specified;
    job.dispatch.targets = {QStringLiteral("tag:gpu")};
    const QString detail = cli::jobDetail(jobToJson(job), kUtc);
    for (const char *line :
         {"description:   the report\n", "misfire:       FIRE_ALL (at most 5)\n",
          "max instances: unlimited\n", "timeout:       30000 ms\n",
          "time zone:     (the server's)\n", "dispatch:      SPECIFIED [\"tag:gpu\"]\n"})
        QVERIFY2(detail.contains(QLatin1String(line)), line);
    QVERIFY(!detail.contains("next fire"));    // not sent: not shown
    QVERIFY(!detail.contains("task retries")); // a standalone run has no tasks

    // A broadcast or map job shows how far it spreads and how often a task is retried.
    job.mode = ExecutionMode::Broadcast;
    job.dispatch.taskRetryCount = 2;
    const QString broadcast = cli::jobDetail(jobToJson(job), kUtc);
    for (const char *line :
         {"mode:          BROADCAST\n", "max workers:   all that fit\n", "task retries:  2\n"})
        QVERIFY2(broadcast.contains(QLatin1String(line)), line);
    job.mode = ExecutionMode::MapReduce;
    job.dispatch.maxWorkers = 8;
    QVERIFY(cli::jobDetail(jobToJson(job), kUtc).contains("max workers:   8\n"));
}

void TestCliViews::jobStateLine()
{
    Job job;
    job.id = 7;
    job.name = QStringLiteral("tick");
    QJsonObject json = jobToJson(job);
    json[QStringLiteral("nextFireMs")] = 60000;
    QCOMPARE(cli::jobStateLine(json, kUtc),
             QStringLiteral("job 7 (tick) enabled; next fire 1970-01-01T00:01:00+00:00\n"));
    json[QStringLiteral("enabled")] = false;
    QCOMPARE(cli::jobStateLine(json, kUtc), QStringLiteral("job 7 (tick) disabled\n"));
}

void TestCliViews::instanceTable()
{
    Instance failed = instance(11, QStringLiteral("nightly"), InstanceStatus::Failed);
    failed.trigger = TriggerKind::Scheduled;
    failed.attempt = 2;
    failed.maxAttempts = 3;
    failed.worker = QStringLiteral("w1@127.0.0.1");
    failed.createdAtMs = 1000;
    failed.finishedAtMs = 61500;
    failed.reason = QStringLiteral("exit code 1");
    Instance running = instance(9, QString(), InstanceStatus::Running);
    running.createdAtMs = 2000;

    QCOMPARE(
        cli::instanceTable(QJsonArray{instanceToJson(failed), instanceToJson(running)}, kUtc),
        QStringLiteral("ID  JOB      STATUS   TRIGGER    ATTEMPT  WORKER        CREATED      "
                       "              FINISHED                       REASON\n"
                       "11  nightly  FAILED   SCHEDULED      2/3  w1@127.0.0.1  "
                       "1970-01-01T00:00:01+00:00  1970-01-01T00:01:01.500+00:00  exit code 1\n"
                       " 9  #4       RUNNING  API            1/1  -             "
                       "1970-01-01T00:00:02+00:00  -\n"));
}

void TestCliViews::instanceDetail()
{
    Instance inst = instance(11, QStringLiteral("nightly"), InstanceStatus::Succeeded);
    inst.attempt = 2;
    inst.maxAttempts = 2;
    inst.result = QStringLiteral("done");
    inst.worker = QStringLiteral("w1");
    inst.createdAtMs = 1000;
    inst.dispatchedAtMs = 2000;
    inst.startedAtMs = 3000;
    inst.finishedAtMs = 4000;
    Attempt first;
    first.instanceId = 11;
    first.attempt = 1;
    first.status = InstanceStatus::Failed;
    first.worker = QStringLiteral("w2");
    first.reason = QStringLiteral("exit code 3");
    first.startedAtMs = 1500;
    first.finishedAtMs = 1600;
    const QJsonObject reply{{QStringLiteral("instance"), instanceToJson(inst)},
                            {QStringLiteral("attempts"), QJsonArray{attemptToJson(first)}}};
    QCOMPARE(cli::instanceDetail(reply, kUtc),
             QStringLiteral("id:         11\n"
                            "job:        nightly (id 4)\n"
                            "status:     SUCCEEDED\n"
                            "trigger:    API\n"
                            "attempt:    2/2\n"
                            "worker:     w1\n"
                            "result:     done\n"
                            "created:    1970-01-01T00:00:01+00:00\n"
                            "dispatched: 1970-01-01T00:00:02+00:00\n"
                            "started:    1970-01-01T00:00:03+00:00\n"
                            "finished:   1970-01-01T00:00:04+00:00\n"
                            "\n"
                            "Attempts:\n"
                            "ATTEMPT  STATUS  WORKER  STARTED                        "
                            "FINISHED                       REASON\n"
                            "      1  FAILED  w2      1970-01-01T00:00:01.500+00:00  "
                            "1970-01-01T00:00:01.600+00:00  exit code 3\n"));

    const QJsonObject fresh{{QStringLiteral("instance"),
                             instanceToJson(instance(12, "x", InstanceStatus::WaitingWorker))},
                            {QStringLiteral("attempts"), QJsonArray{}}};
    QVERIFY(cli::instanceDetail(fresh, kUtc).endsWith("\nAttempts: none finished yet\n"));
}

void TestCliViews::logLine()
{
    LogLine l;
    l.instanceId = 3;
    l.seq = 1;
    l.timeMs = 43200250;
    l.stream = LogStream::Stderr;
    l.text = QStringLiteral("disk almost full");
    QCOMPARE(logLineText(logLineToJson(l), kUtc),
             QStringLiteral("1970-01-01T12:00:00.250+00:00 ERR disk almost full\n"));
}

void TestCliViews::logLineOfATask()
{
    LogLine l;
    l.instanceId = 3;
    l.seq = 2;
    l.taskId = 17;
    l.timeMs = 43200250;
    l.text = QStringLiteral("shard 17 done");
    QCOMPARE(logLineText(logLineToJson(l), kUtc),
             QStringLiteral("1970-01-01T12:00:00.250+00:00 OUT [task 17] shard 17 done\n"));
}

namespace {

TaskInfo task(qint64 id, const QString &name, TaskRole role, InstanceStatus status)
{
    TaskInfo t;
    t.instanceId = 42;
    t.taskId = id;
    t.name = name;
    t.role = role;
    t.status = status;
    t.runs = 1;
    return t;
}

} // namespace

void TestCliViews::taskTable()
{
    TaskInfo pre =
        task(1, QStringLiteral("preProcess"), TaskRole::PreProcess, InstanceStatus::Succeeded);
    pre.worker = QStringLiteral("w1");
    pre.address = QStringLiteral("10.0.0.1:9100");
    pre.result = QStringLiteral("prepared");
    TaskInfo lost =
        task(2, QStringLiteral("broadcast"), TaskRole::Broadcast, InstanceStatus::Failed);
    lost.worker = QStringLiteral("w2");
    lost.address = QStringLiteral("10.0.0.2:9100");
    lost.result = QStringLiteral("worker lost: heartbeat timeout\nlast seen 12:00:01");
    TaskInfo retried =
        task(10, QStringLiteral("broadcast"), TaskRole::Broadcast, InstanceStatus::Running);
    retried.runs = 3;
    retried.worker = QStringLiteral("w3");
    retried.address = QStringLiteral("10.0.0.3:9100");
    const TaskInfo waiting = task(11, QStringLiteral("postProcess"), TaskRole::PostProcess,
                                  InstanceStatus::WaitingDispatch);
    const QJsonArray tasks{taskInfoToJson(pre), taskInfoToJson(lost), taskInfoToJson(retried),
                           taskInfoToJson(waiting)};
    QCOMPARE(cli::taskTable(tasks),
             QStringLiteral("TASK  NAME         ROLE          STATUS            RUNS  WORKER  "
                            "ADDRESS        RESULT\n"
                            "   1  preProcess   PRE_PROCESS   SUCCEEDED            1  w1      "
                            "10.0.0.1:9100  prepared\n"
                            "   2  broadcast    BROADCAST     FAILED               1  w2      "
                            "10.0.0.2:9100  worker lost: heartbeat timeout ...\n"
                            "  10  broadcast    BROADCAST     RUNNING              3  w3      "
                            "10.0.0.3:9100\n"
                            "  11  postProcess  POST_PROCESS  WAITING_DISPATCH     1  -       "
                            "-\n"));
    QCOMPARE(cli::taskTable(QJsonArray{}),
             QStringLiteral("TASK  NAME  ROLE  STATUS  RUNS  WORKER  ADDRESS  RESULT\n"));
}

void TestCliViews::taskTablePagesLineUp()
{
    TaskInfo a = task(1, QStringLiteral("root"), TaskRole::Root, InstanceStatus::Succeeded);
    a.worker = QStringLiteral("worker-long-name");
    a.result = QStringLiteral("mapped 2");
    const TaskInfo b =
        task(2, QStringLiteral("item"), TaskRole::PostProcess, InstanceStatus::WaitingDispatch);
    TaskInfo c = task(3, QStringLiteral("item"), TaskRole::Subtask, InstanceStatus::Failed);
    c.worker = QStringLiteral("w-even-longer-name");
    QList<qsizetype> widths;
    const QString first = taskTablePage(QJsonArray{taskInfoToJson(a)}, widths);
    const QString second = taskTablePage(QJsonArray{taskInfoToJson(b)}, widths);
    const QString third = taskTablePage(QJsonArray{taskInfoToJson(c)}, widths);
    // The header once; ROLE and STATUS are as wide as their longest names from the start, so a
    // later page lines up in them; a wider worker on a later page moves only what follows it.
    QCOMPARE(first, QStringLiteral("TASK  NAME  ROLE          STATUS            RUNS  WORKER      "
                                   "      ADDRESS  RESULT\n"
                                   "   1  root  ROOT          SUCCEEDED            1  "
                                   "worker-long-name  -        mapped 2\n"));
    QCOMPARE(second, QStringLiteral("   2  item  POST_PROCESS  WAITING_DISPATCH     1  -          "
                                    "       -\n"));
    QCOMPARE(third, QStringLiteral("   3  item  SUBTASK       FAILED               1  "
                                   "w-even-longer-name  -\n"));
    // An empty page prints nothing more.
    QCOMPARE(taskTablePage(QJsonArray{}, widths), QString());
}

void TestCliViews::firstLines_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("max");
    QTest::addColumn<QString>("expected");
    QTest::newRow("empty") << QString() << 20 << QString();
    QTest::newRow("short") << "ok" << 20 << "ok";
    QTest::newRow("exactly the width") << "12345" << 5 << "12345";
    QTest::newRow("too long") << "123456" << 5 << "12...";
    QTest::newRow("more lines") << "first\nsecond" << 20 << "first ...";
    QTest::newRow("windows line ends") << "first\r\nsecond" << 20 << "first ...";
    QTest::newRow("leading blank lines") << "\n\n  exit code 3\n" << 20 << "exit code 3";
    QTest::newRow("long and more lines") << "abcdefghij\nk" << 6 << "abc...";
}

void TestCliViews::firstLines()
{
    QFETCH(QString, text);
    QFETCH(int, max);
    QFETCH(QString, expected);
    QCOMPARE(firstLine(text, max), expected);
}

void TestCliViews::serverInfo()
{
    const QJsonObject info{{QStringLiteral("serverId"), QStringLiteral("srv-1")},
                           {QStringLiteral("version"), QStringLiteral("0.1.0")},
                           {QStringLiteral("timeMs"), 0},
                           {QStringLiteral("timeZone"), QStringLiteral("Europe/Paris")},
                           {QStringLiteral("jobs"), 4},
                           {QStringLiteral("activeInstances"), 2}};
    QCOMPARE(cli::serverInfo(info, kUtc), QStringLiteral("server id:        srv-1\n"
                                                         "version:          0.1.0\n"
                                                         "time:             -\n"
                                                         "time zone:        Europe/Paris\n"
                                                         "jobs:             4\n"
                                                         "active instances: 2\n"));
}

void TestCliViews::ages_data()
{
    QTest::addColumn<qint64>("then");
    QTest::addColumn<qint64>("now");
    QTest::addColumn<QString>("text");
    const qint64 t = 1'700'000'000'000;
    QTest::newRow("never") << qint64(0) << t << "-";
    QTest::newRow("sub-second") << t << t + 800 << "0.8 s ago";
    QTest::newRow("just now") << t << t << "0.0 s ago";
    QTest::newRow("clock of the server ahead") << t + 300 << t << "0.0 s ago";
    QTest::newRow("under ten seconds") << t << t + 9'949 << "9.9 s ago";
    QTest::newRow("seconds") << t << t + 42'500 << "42 s ago";
    QTest::newRow("minutes") << t << t + 5 * 60'000 + 1 << "5 min ago";
    QTest::newRow("hours") << t << t + 3 * 3600'000 << "3 h ago";
    QTest::newRow("days") << t << t + 50 * 3600'000LL << "2 d ago";
}

void TestCliViews::ages()
{
    QFETCH(qint64, then);
    QFETCH(qint64, now);
    QFETCH(QString, text);
    QCOMPARE(ageText(then, now), text);
}

void TestCliViews::sizes_data()
{
    QTest::addColumn<qint64>("mb");
    QTest::addColumn<QString>("text");
    QTest::newRow("zero") << qint64(0) << "0 MB";
    QTest::newRow("megabytes") << qint64(180) << "180 MB";
    QTest::newRow("gigabytes") << qint64(1536) << "1.5 GB";
    QTest::newRow("terabytes") << qint64(2 * 1024 * 1024) << "2.0 TB";
}

void TestCliViews::sizes()
{
    QFETCH(qint64, mb);
    QFETCH(QString, text);
    QCOMPARE(sizeText(mb), text);
}

void TestCliViews::appTable()
{
    const QJsonArray apps{QJsonObject{{QStringLiteral("name"), QStringLiteral("billing")},
                                      {QStringLiteral("aliveWorkers"), 12}},
                          QJsonObject{{QStringLiteral("name"), QStringLiteral("default")},
                                      {QStringLiteral("aliveWorkers"), 0}}};
    QCOMPARE(cli::appTable(apps), QStringLiteral("NAME     ALIVE WORKERS\n"
                                                 "billing             12\n"
                                                 "default              0\n"));
}

void TestCliViews::appSecretNote()
{
    const QJsonObject reply{{QStringLiteral("name"), QStringLiteral("billing")},
                            {QStringLiteral("secret"), QStringLiteral("s3cr3t")}};
    const QString created = cli::appSecretNote(reply, true);
    QVERIFY2(created.contains(QStringLiteral("created app \"billing\"")), qPrintable(created));
    QVERIFY(created.contains(QStringLiteral("kairos-worker --app billing --secret-file FILE")));
    QVERIFY2(!created.contains(QStringLiteral("s3cr3t")), "the note must not repeat the secret");
    const QString rotated = cli::appSecretNote(reply, false);
    QVERIFY2(rotated.contains(QStringLiteral("app \"billing\" has a new secret")),
             qPrintable(rotated));
    QVERIFY(rotated.contains(QStringLiteral("Connected workers stay connected")));
}

void TestCliViews::workerTable()
{
    const qint64 now = 1'700'000'000'000;
    WorkerInfo remote;
    remote.id = QStringLiteral("host-a:4242");
    remote.app = QStringLiteral("billing");
    remote.address = QStringLiteral("10.0.0.5");
    remote.tags = {QStringLiteral("gpu"), QStringLiteral("eu")};
    remote.capacity = 8;
    remote.state = WorkerState::Alive;
    remote.lastHeartbeatMs = now - 800;
    remote.metrics.load1 = 7.2;
    remote.metrics.cpus = 2;
    remote.metrics.memFreeMb = 180;
    remote.metrics.memTotalMb = 4096;
    remote.metrics.diskFreeMb = 20480;
    remote.metrics.running = 3;
    WorkerInfo dead = remote;
    dead.id = QStringLiteral("host-b:77");
    dead.address = QStringLiteral("10.0.0.6");
    dead.tags.clear();
    dead.state = WorkerState::Dead;
    dead.lastHeartbeatMs = now - 42'000;
    dead.deadAtMs = now - 37'000;
    dead.metrics.running = 0;
    WorkerInfo local; // the server's own worker reports no metrics
    local.id = QStringLiteral("local");
    local.app = QStringLiteral("*");
    local.address = QStringLiteral("local");
    local.capacity = 64;
    local.lastHeartbeatMs = now - 100;

    const QJsonArray workers{workerToJson(remote), workerToJson(dead), workerToJson(local)};
    QCOMPARE(cli::workerTable(workers, now),
             QStringLiteral("ID           APP      ADDRESS   STATE  LAST HEARTBEAT    LOAD  "
                            "MEM FREE  DISK FREE  RUNNING  TAGS\n"
                            "host-a:4242  billing  10.0.0.5  ALIVE  0.8 s ago       7.20/2    "
                            "180 MB    20.0 GB      3/8  gpu,eu\n"
                            "host-b:77    billing  10.0.0.6  DEAD   42 s ago        7.20/2    "
                            "180 MB    20.0 GB      0/8  -\n"
                            "local        *        local     ALIVE  0.1 s ago            -  "
                            "       -          -     0/64  -\n"));
}

QTEST_GUILESS_MAIN(TestCliViews)
#include "tst_cli_views.moc"
