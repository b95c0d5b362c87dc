// The engine in-process on a temporary SQLite store: cron and fixed-delay jobs fire, misfire
// policies after downtime, retention. Downtime is simulated by moving the job's "last defined"
// time into the past in the store, so no test waits for wall-clock minutes.
#include <core/clock.h>
#include <server/engine.h>
#include <store/database.h>
#include <store/store_thread.h>

#include <QJsonDocument>
#include <QSignalSpy>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

using namespace kairos;
using namespace kairos::server;

class TstEngine : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    int m_dbCounter = 0;

    EngineConfig freshConfig()
    {
        EngineConfig config;
        config.store =
            *StoreConfig::parse(m_dir.filePath(QStringLiteral("engine-%1.db").arg(++m_dbCounter)));
        config.serverZone = QTimeZone("UTC");
        config.localWorkerCapacity = 8;
        return config;
    }

    static Job echoJob(const QString &name)
    {
        Job job;
        job.name = name;
        job.processor = ProcessorKind::Echo;
        return job;
    }

    static Job created(Engine &engine, const Job &job)
    {
        std::optional<Result<Job>> out;
        engine.createJob(job, [&out](Result<Job> r) { out.emplace(std::move(r)); });
        if (!QTest::qWaitFor([&] { return out.has_value(); }, 10000) || !out->ok())
            qFatal("createJob failed: %s", out ? qPrintable(out->error()) : "timeout");
        return out->value();
    }

    static QList<Instance> instancesOf(Engine &engine, qint64 jobId)
    {
        std::optional<Result<QList<Instance>>> out;
        InstanceFilter f;
        f.jobId = jobId;
        f.limit = 10000;
        engine.listInstances(f, [&out](Result<QList<Instance>> r) { out.emplace(std::move(r)); });
        if (!QTest::qWaitFor([&] { return out.has_value(); }, 10000))
            return {};
        return out->ok() ? out->value() : QList<Instance>{};
    }

    static int count(const QList<Instance> &list, TriggerKind trigger)
    {
        return int(std::count_if(list.begin(), list.end(),
                                 [trigger](const Instance &i) { return i.trigger == trigger; }));
    }

    // Pretends the job was last defined `agoMs` ago: the engine then sees the fires in between
    // as missed while it was down.
    static void backdate(const StoreConfig &store, qint64 jobId, qint64 agoMs)
    {
        auto db = Database::open(store);
        QVERIFY2(db.ok(), qPrintable(db.error()));
        QSqlQuery q = (*db)->newQuery();
        QVERIFY(q.prepare(
            QStringLiteral("UPDATE jobs SET updated_at_ms = ?, created_at_ms = ? WHERE id = ?")));
        const qint64 t = nowMs() - agoMs;
        q.addBindValue(t);
        q.addBindValue(t);
        q.addBindValue(jobId);
        QVERIFY2(q.exec(), qPrintable(q.lastError().text()));
        QCOMPARE(q.numRowsAffected(), 1);
    }

    static Job rangeSumJob(const QString &name, ExecutionMode mode, int count, int taskMs = 0)
    {
        Job job;
        job.name = name;
        job.mode = mode;
        job.processor = ProcessorKind::Container;
        job.processorConfig =
            QJsonObject{{QStringLiteral("ref"), QStringLiteral("builtin#range-sum")},
                        {QStringLiteral("count"), count},
                        {QStringLiteral("batch"), 100},
                        {QStringLiteral("levels"), 2},
                        {QStringLiteral("taskMs"), taskMs}};
        return job;
    }

    static qint64 runOnce(Engine &engine, const Job &job)
    {
        std::optional<Result<QList<qint64>>> ran;
        engine.runJob(job.id, {}, [&ran](Result<QList<qint64>> r) { ran.emplace(std::move(r)); });
        if (!QTest::qWaitFor([&] { return ran.has_value(); }, 10000) || !ran->ok())
            return 0;
        return ran->value().first();
    }

    static Instance stateOf(Engine &engine, qint64 id)
    {
        std::optional<Result<InstanceDetail>> out;
        engine.instance(id, [&out](Result<InstanceDetail> r) { out.emplace(std::move(r)); });
        if (!QTest::qWaitFor([&] { return out.has_value(); }, 10000) || !out->ok())
            return {};
        return out->value().instance;
    }

    static QList<TaskInfo> tasksOf(Engine &engine, qint64 id, TaskFilter filter = {})
    {
        std::optional<Result<QList<TaskInfo>>> out;
        engine.tasks(id, filter, [&out](Result<QList<TaskInfo>> r) { out.emplace(std::move(r)); });
        if (!QTest::qWaitFor([&] { return out.has_value(); }, 10000) || !out->ok())
            return {};
        return out->value();
    }

    static bool finished(Engine &engine, qint64 id, int timeoutMs)
    {
        return QTest::qWaitFor([&] { return isTerminal(stateOf(engine, id).status); }, timeoutMs);
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void cronJobFiresEverySecondOnTheSecond()
    {
        Engine engine(freshConfig());
        QVERIFY(engine.start().ok());
        Job job = echoJob(QStringLiteral("every-second"));
        job.timingType = TimingType::Cron;
        job.timingExpression = QStringLiteral("* * * * * ?");
        const Job stored = created(engine, job);
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                int done = 0;
                for (const Instance &i : instancesOf(engine, stored.id))
                    done += i.status == InstanceStatus::Succeeded;
                return done >= 2;
            }(),
            10000);
        for (const Instance &i : instancesOf(engine, stored.id)) {
            QCOMPARE(toString(i.trigger), toString(TriggerKind::Scheduled));
            QCOMPARE(i.fireTimeMs % 1000, 0);
            if (i.startedAtMs)
                QVERIFY2(i.startedAtMs >= i.fireTimeMs, "started before its fire time");
        }
    }

    void fixedDelayWaitsForThePreviousRun()
    {
        Engine engine(freshConfig());
        QVERIFY(engine.start().ok());
        Job job = echoJob(QStringLiteral("delay"));
        job.processor = ProcessorKind::Sleep;
        job.processorConfig = QJsonObject{{QStringLiteral("ms"), 300}};
        job.timingType = TimingType::FixedDelay;
        job.timingExpression = QStringLiteral("200ms");
        const Job stored = created(engine, job);
        QTRY_VERIFY_WITH_TIMEOUT(instancesOf(engine, stored.id).size() >= 3, 10000);
        engine.setJobEnabled(stored.id, false, [](Result<Job>) {});
        QList<Instance> list = instancesOf(engine, stored.id);
        std::sort(list.begin(), list.end(),
                  [](const Instance &a, const Instance &b) { return a.id < b.id; });
        for (int i = 1; i < list.size(); ++i) {
            if (list[i - 1].finishedAtMs == 0)
                continue;
            // Measured from the previous run's end, not its start.
            QVERIFY2(list[i].fireTimeMs >= list[i - 1].finishedAtMs + 200,
                     qPrintable(QStringLiteral("fire %1 < end %2 + 200")
                                    .arg(list[i].fireTimeMs)
                                    .arg(list[i - 1].finishedAtMs)));
        }
    }

    void misfirePolicies_data()
    {
        QTest::addColumn<int>("policyValue");
        QTest::addColumn<int>("maxFires");
        QTest::addColumn<int>("expectedMisfires");
        QTest::newRow("fire once") << int(MisfirePolicy::FireOnce) << 100 << 1;
        QTest::newRow("skip") << int(MisfirePolicy::Skip) << 100 << 0;
        QTest::newRow("fire all, capped") << int(MisfirePolicy::FireAll) << 5 << 5;
        QTest::newRow("fire all") << int(MisfirePolicy::FireAll) << 100 << 30;
    }
    void misfirePolicies()
    {
        QFETCH(int, policyValue);
        const auto policy = MisfirePolicy(policyValue);
        QFETCH(int, maxFires);
        QFETCH(int, expectedMisfires);
        const EngineConfig config = freshConfig();
        qint64 jobId = 0;
        {
            Engine engine(config);
            QVERIFY(engine.start().ok());
            Job job = echoJob(QStringLiteral("minutely"));
            job.timingType = TimingType::Cron;
            job.timingExpression = QStringLiteral("0 * * * * ?"); // every minute
            job.misfirePolicy = policy;
            job.misfireMaxFires = maxFires;
            jobId = created(engine, job).id;
        }
        // Down for 30.5 minutes: 30 (or 31, near a minute boundary) fire times were missed.
        backdate(config.store, jobId, 30 * 60 * 1000 + 30 * 1000);
        Engine engine(config);
        QVERIFY(engine.start().ok());
        // start() hands every catch-up fire to the instance book before it returns, so once
        // the book has flushed, all of them are stored.
        bool flushed = false;
        engine.whenFlushed([&flushed] { flushed = true; });
        QTRY_VERIFY_WITH_TIMEOUT(flushed, 10000);
        const QList<Instance> list = instancesOf(engine, jobId);
        const int misfires = count(list, TriggerKind::Misfire);
        if (expectedMisfires == 30)
            QVERIFY2(misfires == 30 || misfires == 31, qPrintable(QString::number(misfires)));
        else
            QCOMPARE(misfires, expectedMisfires);
        for (const Instance &i : list) {
            if (i.trigger == TriggerKind::Misfire) {
                QCOMPARE(i.fireTimeMs % 60000, 0);
                QVERIFY(i.fireTimeMs < nowMs());
                QVERIFY2(i.reason.contains(QStringLiteral("late"))
                             || i.status == InstanceStatus::Succeeded,
                         qPrintable(i.reason));
            }
        }
        if (policy == MisfirePolicy::FireOnce) {
            // The one catch-up run carries the most recent missed time.
            const Instance &only = *std::find_if(list.begin(), list.end(), [](const Instance &i) {
                return i.trigger == TriggerKind::Misfire;
            });
            QVERIFY(nowMs() - only.fireTimeMs < 60000 + 10000);
        }
    }

    void firesAreNotRepeatedAfterARestart()
    {
        // A fire recorded (prepared) before a restart is found by its key and not recorded again.
        const EngineConfig config = freshConfig();
        qint64 jobId = 0;
        {
            Engine engine(config);
            QVERIFY(engine.start().ok());
            Job job = echoJob(QStringLiteral("rate"));
            job.timingType = TimingType::FixedRate;
            job.timingExpression = QStringLiteral("300ms");
            jobId = created(engine, job).id;
            QTRY_VERIFY_WITH_TIMEOUT(instancesOf(engine, jobId).size() >= 2, 10000);
        }
        Engine engine(config);
        QVERIFY(engine.start().ok());
        QTRY_VERIFY_WITH_TIMEOUT(instancesOf(engine, jobId).size() >= 5, 10000);
        QSet<qint64> fireTimes;
        for (const Instance &i : instancesOf(engine, jobId)) {
            QVERIFY2(!fireTimes.contains(i.fireTimeMs), "a fire time was recorded twice");
            fireTimes.insert(i.fireTimeMs);
        }
    }

    void readAfterTerminalChangeSeesItBeforeTheCommit()
    {
        // Read-your-writes across the group commit: a read issued right after an instance
        // finished reaches the store before that change is committed; the engine must still
        // answer with the finished state (it keeps its copy until the commit lands).
        EngineConfig config = freshConfig();
        config.localWorker = false; // instances wait: nothing else moves them
        Engine engine(config);
        QVERIFY(engine.start().ok());
        const Job job = created(engine, echoJob(QStringLiteral("waits")));
        std::optional<Result<QList<qint64>>> ran;
        engine.runJob(job.id, {QString()},
                      [&ran](Result<QList<qint64>> r) { ran.emplace(std::move(r)); });
        QTRY_VERIFY_WITH_TIMEOUT(ran.has_value(), 10000);
        QVERIFY(ran->ok());
        const qint64 id = ran->value().first();
        std::optional<InstanceStatus> waiting;
        engine.instance(id, [&](Result<InstanceDetail> d) { waiting = d->instance.status; });
        QTRY_VERIFY_WITH_TIMEOUT(waiting.has_value(), 10000);
        QCOMPARE(toString(*waiting), toString(InstanceStatus::WaitingWorker));
        bool flushed = false;
        engine.whenFlushed([&flushed] { flushed = true; });
        QTRY_VERIFY_WITH_TIMEOUT(flushed, 10000);

        std::optional<Result<Instance>> canceled;
        engine.cancelInstance(id, [&](Result<Instance> r) { canceled.emplace(std::move(r)); });
        QVERIFY(canceled.has_value() && canceled->ok()); // synchronous for a waiting instance
        std::optional<InstanceStatus> seen;
        engine.instance(id, [&](Result<InstanceDetail> d) { seen = d->instance.status; });
        QTRY_VERIFY_WITH_TIMEOUT(seen.has_value(), 10000);
        QCOMPARE(toString(*seen), toString(InstanceStatus::Canceled));
        // And after the commit, from the store.
        flushed = false;
        engine.whenFlushed([&flushed] { flushed = true; });
        QTRY_VERIFY_WITH_TIMEOUT(flushed, 10000);
        seen.reset();
        engine.instance(id, [&](Result<InstanceDetail> d) { seen = d->instance.status; });
        QTRY_VERIFY_WITH_TIMEOUT(seen.has_value(), 10000);
        QCOMPARE(toString(*seen), toString(InstanceStatus::Canceled));
    }

    void retentionDeletesOnlyOldFinishedInstances()
    {
        EngineConfig config = freshConfig();
        config.retentionDays = 1;
        Engine engine(config);
        QVERIFY(engine.start().ok());
        const Job job = created(engine, echoJob(QStringLiteral("old-and-new")));
        std::optional<Result<QList<qint64>>> ran;
        engine.runJob(job.id, {QString(), QString()},
                      [&ran](Result<QList<qint64>> r) { ran.emplace(std::move(r)); });
        QTRY_VERIFY_WITH_TIMEOUT(ran.has_value(), 10000);
        QVERIFY(ran->ok());
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                const auto list = instancesOf(engine, job.id);
                return list.size() == 2
                       && std::all_of(list.begin(), list.end(), [](const Instance &i) {
                              return i.status == InstanceStatus::Succeeded;
                          });
            }(),
            10000);
        // Age one of them by two days.
        const qint64 oldId = ran->value().first();
        const qint64 twoDays = 2LL * 24 * 3600 * 1000;
        engine.store()->callBlocking([oldId, twoDays](Database &db) {
            QSqlQuery q = db.newQuery();
            q.prepare(QStringLiteral("UPDATE instances SET finished_at_ms = finished_at_ms - ?, "
                                     "created_at_ms = created_at_ms - ? WHERE id = ?"));
            q.addBindValue(twoDays);
            q.addBindValue(twoDays);
            q.addBindValue(oldId);
            q.exec();
        });
        std::optional<Result<int>> purged;
        engine.purgeOld([&purged](Result<int> r) { purged.emplace(std::move(r)); });
        QTRY_VERIFY_WITH_TIMEOUT(purged.has_value(), 10000);
        QVERIFY2(purged->ok(), qPrintable(purged->error()));
        QCOMPARE(purged->value(), 1);
        const auto left = instancesOf(engine, job.id);
        QCOMPARE(left.size(), 1);
        QCOMPARE(left.first().id, ran->value().last());
    }
    // --- tracked runs through the local worker ------------------------------------------------

    void broadcastRunsOnTheLocalWorker()
    {
        Engine engine(freshConfig());
        QVERIFY(engine.start().ok());
        QSignalSpy progress(&engine, &Engine::taskProgress);
        Job job = echoJob(QStringLiteral("everywhere"));
        job.mode = ExecutionMode::Broadcast;
        job.processorConfig = QJsonObject{{QStringLiteral("message"), QStringLiteral("hi")}};
        const qint64 id = runOnce(engine, created(engine, job));
        QVERIFY(id > 0);
        QVERIFY(finished(engine, id, 10000));
        const Instance inst = stateOf(engine, id);
        QCOMPARE(toString(inst.status), toString(InstanceStatus::Succeeded));
        QCOMPARE(inst.result, QStringLiteral("1 of 1 workers succeeded"));
        const QList<TaskInfo> tasks = tasksOf(engine, id);
        QCOMPARE(tasks.size(), 1);
        QCOMPARE(toString(tasks.first().role), toString(TaskRole::Broadcast));
        QCOMPARE(toString(tasks.first().status), toString(InstanceStatus::Succeeded));
        QCOMPARE(tasks.first().worker, QStringLiteral("local"));
        QCOMPARE(tasks.first().address, QStringLiteral("local"));
        QCOMPARE(tasks.first().result, QStringLiteral("hi"));
        // The tasks topic saw the run end.
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                for (const QList<QVariant> &args : std::as_const(progress)) {
                    for (const TaskProgress &p : args.at(0).value<QList<TaskProgress>>()) {
                        if (p.instanceId == id && p.counts.succeeded == 1 && p.counts.total == 1)
                            return true;
                    }
                }
                return false;
            }(),
            5000);
    }

    void mapJobsNeedAMapProcessor()
    {
        Engine engine(freshConfig());
        QVERIFY(engine.start().ok());
        Job job = echoJob(QStringLiteral("not-a-map"));
        job.mode = ExecutionMode::Map;
        std::optional<Result<Job>> out;
        engine.createJob(job, [&out](Result<Job> r) { out.emplace(std::move(r)); });
        QTRY_VERIFY_WITH_TIMEOUT(out.has_value(), 10000);
        QVERIFY(!out->ok());
        QVERIFY2(out->error().startsWith(QStringLiteral("processor:")), qPrintable(out->error()));
    }

    // builtin#range-sum maps 0..N-1 in two levels; its reduce fails if a number is missing or
    // came back twice. The task list pages by id with the live state laid over the rows.
    void mapReduceRunsEndToEnd()
    {
        constexpr int kCount = 3000;
        Engine engine(freshConfig());
        QVERIFY(engine.start().ok());
        const Job job =
            created(engine, rangeSumJob(QStringLiteral("sum"), ExecutionMode::MapReduce, kCount));
        const qint64 id = runOnce(engine, job);
        QVERIFY(finished(engine, id, 30000));
        const Instance inst = stateOf(engine, id);
        QCOMPARE(toString(inst.status), toString(InstanceStatus::Succeeded));
        const QJsonObject result = QJsonDocument::fromJson(inst.result.toUtf8()).object();
        QCOMPARE(result.value(QStringLiteral("count")).toInteger(), kCount);
        QCOMPARE(result.value(QStringLiteral("duplicates")).toInteger(), 0);
        QCOMPARE(result.value(QStringLiteral("missing")).toInteger(), 0);

        TaskFilter page;
        page.limit = 1000;
        QSet<qint64> ids;
        int reduces = 0;
        for (;;) {
            const QList<TaskInfo> list = tasksOf(engine, id, page);
            for (const TaskInfo &t : list) {
                QCOMPARE(toString(t.status), toString(InstanceStatus::Succeeded));
                QVERIFY(!ids.contains(t.taskId));
                ids.insert(t.taskId);
                reduces += t.role == TaskRole::Reduce;
            }
            if (list.size() < page.limit)
                break;
            page.afterTaskId = list.last().taskId;
        }
        // root + 30 chunks + 3000 numbers + reduce
        QCOMPARE(ids.size(), 1 + kCount / 100 + kCount + 1);
        QCOMPARE(reduces, 1);
        TaskFilter waiting;
        waiting.statuses = {InstanceStatus::WaitingDispatch, InstanceStatus::Running};
        QVERIFY(tasksOf(engine, id, waiting).isEmpty());
    }

    void cancelStopsATrackedRun()
    {
        Engine engine(freshConfig());
        QVERIFY(engine.start().ok());
        const Job job =
            created(engine, rangeSumJob(QStringLiteral("slow"), ExecutionMode::Map, 2000, 60000));
        const qint64 id = runOnce(engine, job);
        // Leaves are running (each would take a minute) while most wait.
        TaskFilter running;
        running.statuses = {InstanceStatus::Running};
        QTRY_VERIFY_WITH_TIMEOUT(tasksOf(engine, id, running).size() >= 4, 20000);
        std::optional<Result<Instance>> canceled;
        engine.cancelInstance(id, [&](Result<Instance> r) { canceled.emplace(std::move(r)); });
        QTRY_VERIFY_WITH_TIMEOUT(canceled.has_value(), 10000);
        QVERIFY(canceled->ok());
        QVERIFY(finished(engine, id, 15000));
        QCOMPARE(toString(stateOf(engine, id).status), toString(InstanceStatus::Canceled));
        TaskFilter open;
        open.statuses = {InstanceStatus::WaitingDispatch, InstanceStatus::Dispatched,
                         InstanceStatus::Running};
        QVERIFY(tasksOf(engine, id, open).isEmpty());
        TaskFilter canceledTasks;
        canceledTasks.statuses = {InstanceStatus::Canceled};
        canceledTasks.limit = 1000;
        QCOMPARE(tasksOf(engine, id, canceledTasks).size(), 1000);
    }

    // The server stops in the middle of a map-reduce; the next one finishes it, and the reduce
    // still sees every number exactly once.
    void mapReduceSurvivesARestart()
    {
        constexpr int kCount = 2000;
        const EngineConfig config = freshConfig();
        qint64 id = 0;
        {
            Engine engine(config);
            QVERIFY(engine.start().ok());
            qint64 succeeded = 0;
            connect(&engine, &Engine::taskProgress, this,
                    [&succeeded](const QList<TaskProgress> &events) {
                        for (const TaskProgress &p : events)
                            succeeded = std::max(succeeded, p.counts.succeeded);
                    });
            const Job job = created(engine, rangeSumJob(QStringLiteral("restarted"),
                                                        ExecutionMode::MapReduce, kCount, 2));
            id = runOnce(engine, job);
            QTRY_VERIFY_WITH_TIMEOUT(succeeded >= 300, 30000);
            QVERIFY(!isTerminal(stateOf(engine, id).status));
        }
        Engine engine(config);
        QVERIFY(engine.start().ok());
        QVERIFY(finished(engine, id, 60000));
        const Instance inst = stateOf(engine, id);
        QCOMPARE(toString(inst.status), toString(InstanceStatus::Succeeded));
        const QJsonObject result = QJsonDocument::fromJson(inst.result.toUtf8()).object();
        QCOMPARE(result.value(QStringLiteral("count")).toInteger(), kCount);
        QCOMPARE(result.value(QStringLiteral("duplicates")).toInteger(), 0);
        QCOMPARE(result.value(QStringLiteral("missing")).toInteger(), 0);
        QCOMPARE(result.value(QStringLiteral("failed")).toInteger(), 0);
    }
};

QTEST_GUILESS_MAIN(TstEngine)
#include "tst_engine.moc"
