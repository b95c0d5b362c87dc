// The task surface against a real engine in this process (LocalEngineHost + InProcessClient, the
// AdminApi kairosd serves): `kairosctl instance tasks` of a broadcast run shows its task on the
// local worker, a standalone run has none, bad `instance.tasks` params are refused naming the
// field, and the `tasks` event topic reaches both clients — the in-process one (engine signal,
// queued) and a RemoteClient over the admin listener (AdminService, coalesced). Also the
// per-connection coalescing of task events (TaskProgressBuffer) on its own.
#include <command_line.h>
#include <command_runner.h>

#include <client/in_process_client.h>
#include <client/remote_client.h>
#include <server/admin_api.h>
#include <server/admin_service.h>

#include <QFile>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace kairos;
using namespace kairos::cli;

namespace {

struct Run {
    QString out;
    QString err;
    int exitCode = -1;
};

Run kairosctl(client::Client &client, const QStringList &args)
{
    Run run;
    const ParsedCommandLine parsed = parseCommandLine(
        args, [](const QString &) -> Result<QByteArray> { return makeError("no files"); });
    if (!parsed.ok()) {
        run.err = parsed.error;
        run.exitCode = 2;
        return run;
    }
    QTextStream out(&run.out);
    QTextStream err(&run.err);
    CommandRunner::Options options;
    options.json = parsed.invocation.global.json;
    options.zone = QTimeZone::utc();
    CommandRunner runner(client, parsed.invocation.action, options, out, err);
    QSignalSpy finished(&runner, &CommandRunner::finished);
    runner.start();
    if (finished.isEmpty() && !finished.wait(20000))
        return run;
    out.flush();
    err.flush();
    run.exitCode = finished.at(0).at(0).toInt();
    return run;
}

quint16 freePort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

// Waits for the reply of one admin call.
Result<QJsonObject> callAndWait(client::Client &client, const QString &method,
                                const QJsonObject &params)
{
    std::optional<Result<QJsonObject>> reply;
    QObject context;
    client.call(method, params, &context,
                [&reply](Result<QJsonObject> r) { reply.emplace(std::move(r)); });
    QDeadlineTimer deadline(10000);
    while (!reply && !deadline.hasExpired())
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    if (!reply)
        return makeError(QStringLiteral("no reply to %1 in 10 s").arg(method));
    return *reply;
}

// Whether `spy` (of Client::taskProgress) has seen `instanceId` with every one of its `total`
// tasks succeeded.
bool sawAllSucceeded(const QSignalSpy &spy, qint64 instanceId, qint64 total)
{
    for (const QList<QVariant> &args : spy) {
        for (const TaskProgress &p : args.at(0).value<QList<TaskProgress>>()) {
            if (p.instanceId == instanceId && p.counts.total == total
                && p.counts.succeeded == total)
                return true;
        }
    }
    return false;
}

TaskInfo row(qint64 id, InstanceStatus status, const QString &result = QString())
{
    TaskInfo t;
    t.instanceId = 7;
    t.taskId = id;
    t.status = status;
    t.result = result;
    return t;
}

} // namespace

class TestKairosctlTasks : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::unique_ptr<client::LocalEngineHost> m_host;
    std::unique_ptr<client::InProcessClient> m_client;
    quint16 m_port = 0;
    QString m_data;

    void startHost(const QString &name)
    {
        m_data = m_dir.filePath(name);
        server::EngineConfig config;
        config.store = *StoreConfig::parse(QDir(m_data).filePath(QStringLiteral("kairos.db")));
        config.localWorkerCapacity = 4;
        m_host = std::make_unique<client::LocalEngineHost>(config);
        m_port = freePort();
        m_host->setAdminListenPort(m_port, m_data);
        m_client = std::make_unique<client::InProcessClient>(m_host.get());
        QSignalSpy started(m_host.get(), &client::LocalEngineHost::started);
        QSignalSpy failed(m_host.get(), &client::LocalEngineHost::failed);
        m_host->start();
        QTRY_VERIFY_WITH_TIMEOUT(!started.isEmpty() || !failed.isEmpty(), 10000);
        QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(0).toString()));
    }

    // Runs job `name` once, waits for its end; the instance id, 0 on failure.
    qint64 runToEnd(const QString &name)
    {
        const Run run = kairosctl(*m_client, {"job", "run", name, "--wait", "--timeout-s", "15"});
        if (run.exitCode != 0) {
            qWarning() << "job run failed:" << run.exitCode << run.out << run.err;
            return 0;
        }
        return run.out.section(u'\n', 0, 0).toLongLong();
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void cleanup()
    {
        m_client.reset();
        m_host.reset();
    }

    void broadcastRunShowsItsTasks()
    {
        startHost(QStringLiteral("broadcast"));
        QSignalSpy progress(m_client.get(), &client::Client::taskProgress);
        m_client->subscribe({QStringLiteral("tasks")});

        const Run created =
            kairosctl(*m_client, {"job", "create", "--name", "fan", "--api", "--echo", "hello",
                                  "--mode", "broadcast", "--task-retries", "1"});
        QCOMPARE(created.exitCode, 0);
        QVERIFY2(created.out.contains("mode:          BROADCAST\n"), qPrintable(created.out));
        QVERIFY2(created.out.contains("task retries:  1\n"), qPrintable(created.out));

        const qint64 id = runToEnd(QStringLiteral("fan"));
        QVERIFY(id > 0);

        // One worker alive (the local one): one broadcast task, bound to it, run once.
        const Run json = kairosctl(*m_client, {"instance", "tasks", QString::number(id), "--json"});
        QCOMPARE(json.exitCode, 0);
        const QJsonObject reply = QJsonDocument::fromJson(json.out.toUtf8()).object();
        QCOMPARE(reply.value("next").toInteger(), 0);
        const QJsonArray tasks = reply.value("tasks").toArray();
        QList<TaskInfo> broadcast;
        for (const QJsonValue &v : tasks) {
            const TaskInfo t = taskInfoFromJson(v.toObject());
            QCOMPARE(t.instanceId, id);
            if (t.role == TaskRole::Broadcast)
                broadcast << t;
        }
        QCOMPARE(broadcast.size(), 1);
        QCOMPARE(broadcast.at(0).worker, QStringLiteral("local"));
        QCOMPARE(toString(broadcast.at(0).status), QStringLiteral("SUCCEEDED"));
        QCOMPARE(broadcast.at(0).runs, 1);

        const Run table = kairosctl(*m_client, {"instance", "tasks", QString::number(id)});
        QCOMPARE(table.exitCode, 0);
        QVERIFY2(table.out.startsWith("TASK  NAME"), qPrintable(table.out));
        QVERIFY2(table.out.contains(QRegularExpression("BROADCAST +SUCCEEDED +1 +local")),
                 qPrintable(table.out));
        QCOMPARE(table.err, QString());

        // Only failed ones: none.
        const Run failed = kairosctl(
            *m_client, {"instance", "tasks", QString::number(id), "--status", "FAILED", "--json"});
        QCOMPARE(failed.exitCode, 0);
        QCOMPARE(QJsonDocument::fromJson(failed.out.toUtf8()).object().value("tasks").toArray(),
                 QJsonArray());

        // The in-process client forwarded the engine's task progress of that run.
        QTRY_VERIFY_WITH_TIMEOUT(sawAllSucceeded(progress, id, tasks.size()), 5000);
    }

    void remoteClientGetsTaskEvents()
    {
        startHost(QStringLiteral("remote"));
        QFile pw(QDir(m_data).filePath(QStringLiteral("admin.password")));
        QVERIFY(pw.open(QIODevice::ReadOnly));
        client::RemoteEndpoint endpoint;
        endpoint.port = m_port;
        endpoint.password = QString::fromUtf8(pw.readLine()).trimmed();
        client::RemoteClient remote(endpoint);
        QSignalSpy progress(&remote, &client::Client::taskProgress);
        remote.subscribe({QStringLiteral("tasks")});
        remote.open(false);
        QTRY_COMPARE_WITH_TIMEOUT(remote.linkState(), client::Client::LinkState::Connected, 10000);

        QCOMPARE(kairosctl(remote, {"job", "create", "--name", "fan", "--api", "--echo", "hi",
                                    "--mode", "broadcast"})
                     .exitCode,
                 0);
        // Asked over the protocol, so that the subscription is surely in place before the run.
        QVERIFY(callAndWait(remote, QStringLiteral("server.info"), {}).ok());
        const Run run = kairosctl(remote, {"job", "run", "fan", "--wait", "--timeout-s", "15"});
        QCOMPARE(run.exitCode, 0);
        const qint64 id = run.out.section(u'\n', 0, 0).toLongLong();

        const Run tasks = kairosctl(remote, {"instance", "tasks", QString::number(id), "--json"});
        QCOMPARE(tasks.exitCode, 0);
        const qint64 total =
            QJsonDocument::fromJson(tasks.out.toUtf8()).object().value("tasks").toArray().size();
        QVERIFY(total >= 1);
        QTRY_VERIFY_WITH_TIMEOUT(sawAllSucceeded(progress, id, total), 5000);
        remote.close();
    }

    void standaloneRunHasNoTasks()
    {
        startHost(QStringLiteral("standalone"));
        QCOMPARE(kairosctl(*m_client, {"job", "create", "--name", "one", "--api", "--echo", "x"})
                     .exitCode,
                 0);
        const qint64 id = runToEnd(QStringLiteral("one"));
        QVERIFY(id > 0);
        const Run run = kairosctl(*m_client, {"instance", "tasks", QString::number(id)});
        QCOMPARE(run.exitCode, 0);
        QCOMPARE(run.out,
                 QStringLiteral("TASK  NAME  ROLE  STATUS  RUNS  WORKER  ADDRESS  RESULT\n"));
        QVERIFY2(run.err.contains(QStringLiteral("instance %1 has no tasks").arg(id)),
                 qPrintable(run.err));

        const Run unknown = kairosctl(*m_client, {"instance", "tasks", "999999"});
        QCOMPARE(unknown.exitCode, 1);
        QVERIFY2(unknown.err.startsWith("kairosctl: ") && unknown.err.contains("999999"),
                 qPrintable(unknown.err));
    }

    void badParamsNameTheField_data()
    {
        QTest::addColumn<QByteArray>("params");
        QTest::addColumn<QString>("error");
        QTest::newRow("no id") << QByteArray(R"({"limit":5})")
                               << "id: expected an instance id (number)";
        QTest::newRow("limit too big")
            << QByteArray(R"({"id":1,"limit":5000})") << "limit: 5000 is outside 1-1000";
        QTest::newRow("limit zero")
            << QByteArray(R"({"id":1,"limit":0})") << "limit: 0 is outside 1-1000";
        QTest::newRow("limit text")
            << QByteArray(R"({"id":1,"limit":"10"})") << "limit: expected a whole number";
        QTest::newRow("after negative")
            << QByteArray(R"({"id":1,"after":-1})") << "after: expected 0 or more, got -1";
        QTest::newRow("after fractional")
            << QByteArray(R"({"id":1,"after":1.5})") << "after: expected a whole number";
        QTest::newRow("attempt negative")
            << QByteArray(R"({"id":1,"attempt":-2})") << "attempt: -2 is outside 0-1000000";
        QTest::newRow("status not a task state")
            << QByteArray(R"({"id":1,"status":["FAILED","SKIPPED"]})")
            << "status: unknown task state \"SKIPPED\"; expected one of WAITING_DISPATCH, "
               "DISPATCHED, RUNNING, SUCCEEDED, FAILED, TIMED_OUT, CANCELED";
        QTest::newRow("status unknown name")
            << QByteArray(R"({"id":1,"status":["done"]})")
            << "status: unknown task state \"done\"; expected one of WAITING_DISPATCH, "
               "DISPATCHED, RUNNING, SUCCEEDED, FAILED, TIMED_OUT, CANCELED";
        QTest::newRow("status number in list")
            << QByteArray(R"({"id":1,"status":[3]})")
            << "status: unknown task state (not a string); expected one of WAITING_DISPATCH, "
               "DISPATCHED, RUNNING, SUCCEEDED, FAILED, TIMED_OUT, CANCELED";
        QTest::newRow("status an object") << QByteArray(R"({"id":1,"status":{"a":1}})")
                                          << "status: expected a list of task states such as "
                                             "[\"FAILED\"]";
    }

    void badParamsNameTheField()
    {
        QFETCH(QByteArray, params);
        QFETCH(QString, error);
        if (!m_host)
            startHost(QStringLiteral("params"));
        const auto reply = callAndWait(*m_client, QStringLiteral("instance.tasks"),
                                       QJsonDocument::fromJson(params).object());
        QVERIFY(!reply.ok());
        QCOMPARE(reply.error(), error);
    }

    void filterParamsAreRead()
    {
        // One state alone needs no list; repeats count once; absent fields keep the defaults.
        auto f = server::taskFilterFromJson(
            QJsonDocument::fromJson(R"({"status":"failed","after":40,"limit":7,"attempt":2})")
                .object());
        QVERIFY2(f.ok(), qPrintable(f.error()));
        QCOMPARE(f->statuses.size(), 1);
        QCOMPARE(toString(f->statuses.at(0)), QStringLiteral("FAILED"));
        QCOMPARE(f->afterTaskId, 40);
        QCOMPARE(f->limit, 7);
        QCOMPARE(f->attempt, 2);
        auto d = server::taskFilterFromJson(
            QJsonDocument::fromJson(R"({"status":["RUNNING","running","TIMED-OUT"]})").object());
        QVERIFY2(d.ok(), qPrintable(d.error()));
        QCOMPARE(d->statuses.size(), 2);
        QCOMPARE(d->limit, 100);
        QCOMPARE(d->attempt, 0);
        QCOMPARE(d->afterTaskId, 0);
        QVERIFY(server::AdminApi::methods().contains(QStringLiteral("instance.tasks")));
    }

    void taskEventsCoalescePerRun()
    {
        server::TaskProgressBuffer buffer;
        QVERIFY(buffer.isEmpty());

        TaskProgress first;
        first.instanceId = 7;
        first.counts = TaskCounts{3, 2, 1, 0, 0};
        first.changed = {row(1, InstanceStatus::Running), row(2, InstanceStatus::WaitingDispatch)};
        TaskProgress other;
        other.instanceId = 9;
        other.counts = TaskCounts{1, 0, 0, 1, 0};
        other.changed = {row(1, InstanceStatus::Succeeded)};
        TaskProgress later;
        later.instanceId = 7;
        later.counts = TaskCounts{3, 1, 1, 1, 0};
        later.changed = {row(1, InstanceStatus::Succeeded, QStringLiteral("ok")),
                         row(3, InstanceStatus::Running)};
        buffer.add({first, other});
        buffer.add({later});
        QVERIFY(!buffer.isEmpty());

        const QList<TaskProgress> out = buffer.take();
        QVERIFY(buffer.isEmpty());
        QCOMPARE(out.size(), 2);
        // Instance 7 first (it came first): the newest counts, each task once with its newest
        // row, in the order the tasks first changed.
        QCOMPARE(out.at(0).instanceId, 7);
        QVERIFY(out.at(0).counts == later.counts);
        QCOMPARE(out.at(0).changed.size(), 3);
        QVERIFY(out.at(0).changed.at(0) == later.changed.at(0));
        QVERIFY(out.at(0).changed.at(1) == first.changed.at(1));
        QVERIFY(out.at(0).changed.at(2) == later.changed.at(1));
        QVERIFY(!out.at(0).truncated);
        QVERIFY(out.at(1) == other);
        QVERIFY(buffer.take().isEmpty());

        // Another attempt of the same instance is another run: kept apart.
        TaskProgress retry = first;
        retry.attempt = 2;
        buffer.add({first, retry});
        QCOMPARE(buffer.take().size(), 2);
    }

    void taskEventsStayBounded()
    {
        server::TaskProgressBuffer buffer;
        const int max = TaskProgress::kMaxChangedPerEvent;
        for (int batch = 0; batch < 5; ++batch) {
            TaskProgress p;
            p.instanceId = 7;
            p.counts.total = 1000000;
            for (int i = 0; i < max; ++i)
                p.changed << row(qint64(batch) * max + i + 1, InstanceStatus::Succeeded);
            buffer.add({p});
        }
        // A million-task run behind a slow connection: one event, 200 rows, truncated.
        const QList<TaskProgress> out = buffer.take();
        QCOMPARE(out.size(), 1);
        QCOMPARE(out.at(0).changed.size(), max);
        QVERIFY(out.at(0).truncated);
        QCOMPARE(out.at(0).changed.last().taskId, max); // the first ones are kept
        QCOMPARE(out.at(0).counts.total, 1000000);

        // A row already in the event is still updated when the event is full.
        TaskProgress full;
        full.instanceId = 8;
        for (int i = 1; i <= max; ++i)
            full.changed << row(i, InstanceStatus::Running);
        TaskProgress update;
        update.instanceId = 8;
        update.changed << row(5, InstanceStatus::Failed, QStringLiteral("exit code 2"));
        buffer.add({full, update});
        const TaskProgress merged = buffer.take().at(0);
        QVERIFY(!merged.truncated);
        QCOMPARE(merged.changed.at(4).result, QStringLiteral("exit code 2"));

        // A truncated event from the tracker stays truncated after merging.
        TaskProgress cut;
        cut.instanceId = 9;
        cut.truncated = true;
        TaskProgress next;
        next.instanceId = 9;
        buffer.add({cut, next});
        QVERIFY(buffer.take().at(0).truncated);
    }
};

QTEST_GUILESS_MAIN(TestKairosctlTasks)
#include "tst_kairosctl_tasks.moc"
