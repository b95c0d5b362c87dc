// The engine in-process on a temporary SQLite store: cron and fixed-delay jobs fire, misfire
// policies after downtime, retention. Downtime is simulated by moving the job's "last defined"
// time into the past in the store, so no test waits for wall-clock minutes.
#include <core/clock.h>
#include <server/engine.h>
#include <store/database.h>
#include <store/store_thread.h>

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
};

QTEST_GUILESS_MAIN(TstEngine)
#include "tst_engine.moc"
