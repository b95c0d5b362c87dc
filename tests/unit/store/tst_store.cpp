// The store as the engine and an operator rely on it, run on both SQLite and PostgreSQL (every
// test function runs once per backend row of initTestCase_data). PostgreSQL rows use a fresh
// database on the private server of the ctest fixture.
#include <store/sqlite_row.h>
#include <store/store.h>
#include <support/postgres_fixture.h>

#include <QSemaphore>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <thread>

using namespace kairos;

namespace {

Job makeJob(const QString &name)
{
    Job job;
    job.name = name;
    job.description = QStringLiteral("runs %1").arg(name);
    job.timingType = TimingType::Cron;
    job.timingExpression = QStringLiteral("*/5 * * * *");
    job.timeZone = QStringLiteral("Europe/Berlin");
    job.processor = ProcessorKind::Shell;
    job.processorConfig = QJsonObject{{"script", "echo 'hi' \"there\""}, {"shell", "/bin/sh"}};
    job.params = QStringLiteral("{\"k\": 1}");
    job.dispatch.strategy = DispatchStrategy::Specified;
    job.dispatch.targets = {QStringLiteral("tag:gpu"), QStringLiteral("w1")};
    job.dispatch.maxWorkers = 3;
    job.maxConcurrentInstances = 2;
    job.retryCount = 1;
    job.timeoutMs = 5000;
    return job;
}

Instance makeInstance(qint64 jobId, qint64 fireTimeMs, const QString &params = {})
{
    Instance i;
    i.jobId = jobId;
    i.fireTimeMs = fireTimeMs;
    i.trigger = fireTimeMs ? TriggerKind::Scheduled : TriggerKind::Api;
    i.params = params;
    i.maxAttempts = 2;
    return i;
}

Result<std::unique_ptr<Database>> openMigrated(const QString &url)
{
    auto db = Database::open(StoreConfig{url});
    if (!db)
        return db;
    if (auto s = db.value()->migrate(); !s)
        return makeError(s.error());
    return db;
}

QStringList tableNames(Database &db)
{
    QStringList t = db.connection().tables();
    t.sort();
    return t;
}

} // namespace

// Declares `url` for a fresh, empty database of the current backend row.
#define FRESH_URL(url)                                                                             \
    QFETCH_GLOBAL(QString, backend);                                                               \
    QString url;                                                                                   \
    if (backend == QLatin1String("postgres")) {                                                    \
        KAIROS_FRESH_POSTGRES_URL(pgUrl_);                                                         \
        url = pgUrl_;                                                                              \
    } else {                                                                                       \
        url = QStringLiteral("sqlite:") + m_tmp.filePath(QStringLiteral("t%1.db").arg(++m_files)); \
    }

// Declares std::unique_ptr<Database> `db` opened on `url` and migrated.
#define OPEN(db, url)                                                                              \
    auto db##Opened_ = openMigrated(url);                                                          \
    QVERIFY2(db##Opened_.ok(), qPrintable(db##Opened_.error()));                                   \
    std::unique_ptr<Database> db = std::move(db##Opened_.value())

#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        const auto r_ = (expr);                                                                    \
        QVERIFY2(r_.ok(), qPrintable(r_.error()));                                                 \
    } while (false)

class TstStore : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;
    int m_files = 0;

private slots:
    void initTestCase_data()
    {
        QTest::addColumn<QString>("backend");
        QTest::newRow("sqlite") << QStringLiteral("sqlite");
        QTest::newRow("postgres") << QStringLiteral("postgres");
    }

    void initTestCase() { QVERIFY(m_tmp.isValid()); }

    void migrateFromEmptyAndRerun()
    {
        FRESH_URL(url);
        auto opened = Database::open(StoreConfig{url});
        QVERIFY2(opened.ok(), qPrintable(opened.error()));
        Database &db = *opened.value();
        QCOMPARE(db.schemaVersion().value(), 0);
        CHECK_OK(db.migrate());
        QCOMPARE(db.schemaVersion().value(), Database::latestSchemaVersion());
        const QStringList expected = {"credentials",    "instance_attempts",
                                      "instance_logs",  "instance_tasks",
                                      "instances",      "job_leases",
                                      "jobs",           "meta",
                                      "schema_version", "servers"};
        for (const QString &t : expected)
            QVERIFY2(tableNames(db).contains(t), qPrintable(t));
        CHECK_OK(JobRepository(db).insert(makeJob("kept")));
        // Running it again (a restart) changes nothing and keeps the data.
        CHECK_OK(db.migrate());
        OPEN(second, url);
        QCOMPARE(second->schemaVersion().value(), Database::latestSchemaVersion());
        QVERIFY(JobRepository(*second).findByName("kept").has_value());
        QSqlQuery q(db.connection());
        QVERIFY(q.exec("SELECT COUNT(*) FROM schema_version") && q.next());
        QCOMPARE(q.value(0).toInt(), 1);
    }

    void upgradeFromVersion1KeepsData()
    {
        FRESH_URL(url);
        auto opened = Database::open(StoreConfig{url});
        QVERIFY2(opened.ok(), qPrintable(opened.error()));
        Database &db = *opened.value();
        CHECK_OK(db.migrate(1));
        QCOMPARE(db.schemaVersion().value(), 1);
        QVERIFY(!tableNames(db).contains("servers"));
        const auto job = JobRepository(db).insert(makeJob("before-upgrade"));
        CHECK_OK(job);
        CHECK_OK(db.migrate());
        QCOMPARE(db.schemaVersion().value(), Database::latestSchemaVersion());
        QVERIFY(tableNames(db).contains("servers"));
        QVERIFY(tableNames(db).contains("job_leases"));
        QCOMPARE(JobRepository(db).get(job->id).value(), job.value());
        CHECK_OK(ClusterRepository(db).upsertLease({job->id, "s1", 1000, 0}));
    }

    void concurrentMigrationOfOneDatabase()
    {
        FRESH_URL(url);
        QString errors[4];
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&, t] {
                auto db = openMigrated(url);
                if (!db)
                    errors[t] = db.error();
            });
        }
        for (auto &th : threads)
            th.join();
        for (const QString &e : errors)
            QVERIFY2(e.isEmpty(), qPrintable(e));
        OPEN(db, url);
        QCOMPARE(db->schemaVersion().value(), Database::latestSchemaVersion());
    }

    void refusesNewerSchema()
    {
        FRESH_URL(url);
        OPEN(db, url);
        CHECK_OK(db->exec("UPDATE schema_version SET version = 99", "test"));
        const Status s = db->migrate();
        QVERIFY(!s.ok());
        QVERIFY2(s.error().contains("schema version 99") && s.error().contains("upgrade Kairos"),
                 qPrintable(s.error()));
    }

    void jobCrud()
    {
        FRESH_URL(url);
        OPEN(db, url);
        JobRepository jobs(*db);
        const qint64 before = QDateTime::currentMSecsSinceEpoch();
        auto a = jobs.insert(makeJob("alpha"));
        CHECK_OK(a);
        QVERIFY(a->id > 0);
        QCOMPARE(a->version, 1);
        QVERIFY(a->createdAtMs >= before && a->updatedAtMs == a->createdAtMs);
        auto b = jobs.insert(makeJob("beta"));
        CHECK_OK(b);
        QVERIFY(b->id > a->id);

        // Every field survives the round trip, JSON columns included.
        QCOMPARE(jobs.get(a->id).value(), a.value());
        QCOMPARE(jobs.findByName("beta").value(), b.value());
        QVERIFY(!jobs.findByName("gamma").has_value());
        QVERIFY(!jobs.get(987654).has_value());
        const QList<Job> listed = jobs.list();
        QCOMPARE(listed.size(), 2);
        QCOMPARE(listed[0].name, "alpha");
        QCOMPARE(listed[1].name, "beta");

        Job edited = a.value();
        edited.timingExpression = "0 3 * * *";
        edited.enabled = false;
        edited.dispatch.targets = {"w9"};
        auto updated = jobs.update(edited);
        CHECK_OK(updated);
        QCOMPARE(updated->version, 2);
        QCOMPARE(jobs.get(a->id).value(), updated.value());

        // Removing a job keeps its history, with the job's name.
        QList<Instance> runs{makeInstance(a->id, 0)};
        CHECK_OK(InstanceRepository(*db).insertBatch(runs));
        CHECK_OK(jobs.remove(a->id));
        QVERIFY(!jobs.get(a->id).has_value());
        const auto run = InstanceRepository(*db).get(runs[0].id);
        QVERIFY(run.has_value());
        QCOMPARE(run->jobName, "alpha");
        const Status again = jobs.remove(a->id);
        QCOMPARE(again.error(), QStringLiteral("job %1: not found").arg(a->id));
    }

    void jobVersionConflictBetweenConnections()
    {
        FRESH_URL(url);
        OPEN(db1, url);
        OPEN(db2, url);
        auto created = JobRepository(*db1).insert(makeJob("contended"));
        CHECK_OK(created);
        // Both consoles read version 1.
        Job first = JobRepository(*db1).get(created->id).value();
        Job second = JobRepository(*db2).get(created->id).value();
        QCOMPARE(first.version, 1);
        QCOMPARE(second.version, 1);
        first.description = "first";
        second.description = "second";
        auto won = JobRepository(*db1).update(first);
        CHECK_OK(won);
        QCOMPARE(won->version, 2);
        auto lost = JobRepository(*db2).update(second);
        QVERIFY(!lost.ok());
        QVERIFY2(lost.error().startsWith("conflict:"), qPrintable(lost.error()));
        QVERIFY(isConflict(lost));
        QVERIFY(lost.error().contains("version 2"));
        QCOMPARE(JobRepository(*db2).get(created->id)->description, "first");
        // Reload and retry: works.
        Job reloaded = JobRepository(*db2).get(created->id).value();
        reloaded.description = "second";
        CHECK_OK(JobRepository(*db2).update(reloaded));
        QCOMPARE(JobRepository(*db1).get(created->id)->version, 3);
        // Updating a job that is gone is not a conflict.
        CHECK_OK(JobRepository(*db1).remove(created->id));
        auto gone = JobRepository(*db2).update(reloaded);
        QVERIFY(!gone.ok() && !isConflict(gone));
        QVERIFY2(gone.error().contains("not found"), qPrintable(gone.error()));
    }

    void jobNameIsUnique()
    {
        FRESH_URL(url);
        OPEN(db, url);
        JobRepository jobs(*db);
        CHECK_OK(jobs.insert(makeJob("x")));
        auto dup = jobs.insert(makeJob("x"));
        QCOMPARE(dup.error(), QStringLiteral("name: a job named \"x\" already exists"));
        auto y = jobs.insert(makeJob("y"));
        CHECK_OK(y);
        Job renamed = y.value();
        renamed.name = "x";
        QCOMPARE(jobs.update(renamed).error(),
                 QStringLiteral("name: a job named \"x\" already exists"));
        QCOMPARE(jobs.insert(makeJob("  ")).error(),
                 QStringLiteral("name: expected a non-empty job name"));
        QCOMPARE(jobs.list().size(), 2);
    }

    void instanceBatchInsertAssignsIdsInOrder()
    {
        FRESH_URL(url);
        OPEN(db, url);
        const auto job = JobRepository(*db).insert(makeJob("batch"));
        CHECK_OK(job);
        QList<Instance> batch;
        for (int k = 0; k < 1200; ++k) { // several multi-row statements
            Instance i = makeInstance(job->id, k % 3 ? 1000 + k : 0, QStringLiteral("p%1").arg(k));
            i.worker = k % 2 ? "w-odd" : "";
            i.workflowRunId = k == 5 ? 77 : 0;
            batch << i;
        }
        QList<bool> inserted;
        CHECK_OK(InstanceRepository(*db).insertBatch(batch, &inserted));
        QCOMPARE(inserted.size(), batch.size());
        QVERIFY(std::all_of(inserted.begin(), inserted.end(), [](bool b) { return b; }));
        for (int k = 0; k < batch.size(); ++k) {
            QCOMPARE(batch[k].version, 1);
            if (k)
                QVERIFY(batch[k].id > batch[k - 1].id);
        }
        InstanceRepository repo(*db);
        for (int k : {0, 1, 5, 599, 1199}) {
            const auto stored = repo.get(batch[k].id);
            QVERIFY(stored.has_value());
            QCOMPARE(stored.value(), batch[k]); // jobName and createdAt were filled in place
        }
        QCOMPARE(batch[0].jobName, "batch");
        QCOMPARE(repo.count({}), 1200);
    }

    void duplicateFireKeysAreSkippedNotErrors()
    {
        FRESH_URL(url);
        OPEN(db, url);
        const auto job = JobRepository(*db).insert(makeJob("fires"));
        CHECK_OK(job);
        InstanceRepository repo(*db);
        QList<Instance> first{makeInstance(job->id, 100, "a"), makeInstance(job->id, 200, "b")};
        CHECK_OK(repo.insertBatch(first));
        // 100 exists already, 300 appears twice in the batch, API runs (no fire time) never clash.
        QList<Instance> second{makeInstance(job->id, 300, "c"),  makeInstance(job->id, 100, "dup"),
                               makeInstance(job->id, 0, "api1"), makeInstance(job->id, 300, "dup2"),
                               makeInstance(job->id, 0, "api2"), makeInstance(job->id, 400, "d")};
        QList<bool> inserted;
        CHECK_OK(repo.insertBatch(second, &inserted));
        QCOMPARE(inserted, (QList<bool>{true, false, true, false, true, true}));
        QCOMPARE(second[1].id, 0);
        QCOMPARE(second[3].id, 0);
        // Each returned id names exactly the row it was given to.
        for (int k : {0, 2, 4, 5}) {
            const auto stored = repo.get(second[k].id);
            QVERIFY(stored.has_value());
            QCOMPARE(stored->params, second[k].params);
            QCOMPARE(stored->fireTimeMs, second[k].fireTimeMs);
        }
        QCOMPARE(repo.count({}), 6);
        InstanceFilter f;
        f.jobId = job->id;
        f.limit = 10;
        QStringList params;
        for (const Instance &i : repo.list(f))
            params << i.params;
        QCOMPARE(params, (QStringList{"d", "api2", "api1", "c", "b", "a"}));
    }

    void racingServersInsertEachFireOnce()
    {
        FRESH_URL(url);
        OPEN(db, url);
        const auto job = JobRepository(*db).insert(makeJob("raced"));
        CHECK_OK(job);
        const int fires = 600;
        QString errors[2];
        int created[2] = {0, 0};
        std::vector<std::thread> servers;
        for (int s = 0; s < 2; ++s) {
            servers.emplace_back([&, s] {
                auto conn = openMigrated(url);
                if (!conn) {
                    errors[s] = conn.error();
                    return;
                }
                QList<Instance> batch;
                for (int k = 0; k < fires;
                     ++k) // the two servers build their batches in opposite order
                    batch << makeInstance(job->id, 1'000'000 + (s ? fires - 1 - k : k) * 1000,
                                          QStringLiteral("server%1").arg(s));
                QList<bool> inserted;
                if (auto st = InstanceRepository(*conn.value()).insertBatch(batch, &inserted); !st)
                    errors[s] = st.error();
                created[s] = int(std::count(inserted.begin(), inserted.end(), true));
            });
        }
        for (auto &t : servers)
            t.join();
        QVERIFY2(errors[0].isEmpty(), qPrintable(errors[0]));
        QVERIFY2(errors[1].isEmpty(), qPrintable(errors[1]));
        QCOMPARE(created[0] + created[1], fires);
        QSqlQuery q(db->connection());
        QVERIFY(q.exec("SELECT COUNT(*), COUNT(DISTINCT fire_time_ms) FROM instances"));
        QVERIFY(q.next());
        QCOMPARE(q.value(0).toInt(), fires);
        QCOMPARE(q.value(1).toInt(), fires);
    }

    void applyUpdatesReportsLostRaces()
    {
        FRESH_URL(url);
        OPEN(db, url);
        const auto job = JobRepository(*db).insert(makeJob("updates"));
        CHECK_OK(job);
        InstanceRepository repo(*db);
        QList<Instance> runs;
        for (int k = 0; k < 4; ++k)
            runs << makeInstance(job->id, 0);
        CHECK_OK(repo.insertBatch(runs));

        InstanceUpdate dispatched = updateFrom(runs[0]);
        dispatched.status = InstanceStatus::Dispatched;
        dispatched.worker = "w1";
        dispatched.dispatchedAtMs = 11;
        InstanceUpdate running = dispatched; // same instance again in the same batch
        running.expectedVersion = 2;
        running.status = InstanceStatus::Running;
        running.startedAtMs = 12;
        InstanceUpdate stale = updateFrom(runs[1]);
        stale.expectedVersion = 7;
        stale.status = InstanceStatus::Canceled;
        InstanceUpdate missing = updateFrom(runs[2]);
        missing.id = 999999;
        InstanceUpdate done = updateFrom(runs[3]);
        done.status = InstanceStatus::Succeeded;
        done.result = "ok 'quoted' \\ text";
        done.finishedAtMs = 13;

        QList<bool> applied;
        CHECK_OK(repo.applyUpdates({dispatched, running, stale, missing, done}, &applied));
        QCOMPARE(applied, (QList<bool>{true, true, false, false, true}));
        const Instance r0 = repo.get(runs[0].id).value();
        QCOMPARE(toString(r0.status), toString(InstanceStatus::Running));
        QCOMPARE(r0.version, 3);
        QCOMPARE(r0.worker, "w1");
        QCOMPARE(r0.dispatchedAtMs, 11);
        QCOMPARE(r0.startedAtMs, 12);
        QCOMPARE(toString(repo.get(runs[1].id)->status), toString(InstanceStatus::WaitingDispatch));
        QCOMPARE(repo.get(runs[1].id)->version, 1);
        const Instance r3 = repo.get(runs[3].id).value();
        QCOMPARE(toString(r3.status), toString(InstanceStatus::Succeeded));
        QCOMPARE(r3.result, done.result);
        QCOMPARE(r3.version, 2);
        // Replaying the same batch: every row is now stale.
        CHECK_OK(repo.applyUpdates({dispatched, done}, &applied));
        QCOMPARE(applied, (QList<bool>{false, false}));

        // A large batch spans several statements.
        QList<Instance> many;
        for (int k = 0; k < 1500; ++k)
            many << makeInstance(job->id, 0);
        CHECK_OK(repo.insertBatch(many));
        QList<InstanceUpdate> updates;
        for (int k = 0; k < many.size(); ++k) {
            InstanceUpdate u = updateFrom(many[k]);
            u.status = InstanceStatus::Dispatched;
            if (k % 10 == 0)
                u.expectedVersion = 5; // stale
            updates << u;
        }
        CHECK_OK(repo.applyUpdates(updates, &applied));
        QCOMPARE(std::count(applied.begin(), applied.end(), true), 1350);
        for (int k : {0, 1, 10, 11, 1499})
            QCOMPARE(
                toString(repo.get(many[k].id)->status),
                toString(k % 10 ? InstanceStatus::Dispatched : InstanceStatus::WaitingDispatch));
    }

    void listFiltersAndPaging()
    {
        FRESH_URL(url);
        OPEN(db, url);
        QList<qint64> jobIds;
        for (const char *n : {"j0", "j1", "j2"})
            jobIds << JobRepository(*db).insert(makeJob(n)).value().id;
        const QList<InstanceStatus> statuses = {InstanceStatus::WaitingDispatch,
                                                InstanceStatus::Running, InstanceStatus::Succeeded,
                                                InstanceStatus::Failed};
        QList<Instance> all;
        for (int k = 0; k < 300; ++k) {
            Instance i = makeInstance(jobIds[k % 3], 0);
            i.status = statuses[(k / 3) % 4];
            i.worker = k % 5 == 0 ? "w5" : "w";
            i.createdAtMs = 1'000'000 + k * 10;
            all << i;
        }
        InstanceRepository repo(*db);
        CHECK_OK(repo.insertBatch(all));

        struct Case {
            const char *name;
            InstanceFilter filter;
        };
        QList<Case> cases;
        cases << Case{"all", {}};
        InstanceFilter f;
        f.jobId = jobIds[1];
        cases << Case{"job", f};
        f = {};
        f.statuses = {InstanceStatus::Running};
        cases << Case{"one status", f};
        f.statuses = {InstanceStatus::Succeeded, InstanceStatus::WaitingDispatch};
        cases << Case{"two statuses", f};
        f.jobId = jobIds[2];
        cases << Case{"two statuses of a job", f};
        f = {};
        f.worker = "w5";
        cases << Case{"worker", f};
        f = {};
        f.createdFromMs = 1'000'500;
        f.createdToMs = 1'001'500;
        cases << Case{"created range", f};

        for (const Case &c : cases) {
            // What a user expects: the matching rows, newest first.
            QList<qint64> expected;
            for (auto it = all.crbegin(); it != all.crend(); ++it) {
                const InstanceFilter &cf = c.filter;
                if ((cf.jobId && it->jobId != cf.jobId)
                    || (!cf.statuses.isEmpty() && !cf.statuses.contains(it->status))
                    || (!cf.worker.isEmpty() && it->worker != cf.worker)
                    || (cf.createdFromMs && it->createdAtMs < cf.createdFromMs)
                    || (cf.createdToMs && it->createdAtMs > cf.createdToMs))
                    continue;
                expected << it->id;
            }
            QCOMPARE(repo.count(c.filter), expected.size());
            // Walk every page of 7 with keyset paging.
            QList<qint64> walked;
            InstanceFilter page = c.filter;
            page.limit = 7;
            for (int guard = 0; guard < 100; ++guard) {
                const QList<Instance> rows = repo.list(page);
                QVERIFY2(rows.size() <= 7, c.name);
                for (const Instance &i : rows)
                    walked << i.id;
                if (rows.size() < 7)
                    break;
                page.beforeId = rows.last().id;
            }
            QVERIFY2(walked == expected, c.name);
        }
    }

    void activeCountsAndLastFireTimes()
    {
        FRESH_URL(url);
        OPEN(db, url);
        const qint64 a = JobRepository(*db).insert(makeJob("a")).value().id;
        const qint64 b = JobRepository(*db).insert(makeJob("b")).value().id;
        const qint64 c = JobRepository(*db).insert(makeJob("c")).value().id;
        QList<Instance> runs{makeInstance(a, 500), makeInstance(a, 900), makeInstance(a, 0),
                             makeInstance(b, 0), makeInstance(b, 100)};
        runs[1].status = InstanceStatus::Succeeded;
        runs[2].status = InstanceStatus::Running;
        runs[4].status = InstanceStatus::Skipped;
        InstanceRepository repo(*db);
        CHECK_OK(repo.insertBatch(runs));
        const auto active = repo.countActiveByJob();
        QCOMPARE(active.value(a), 2);
        QCOMPARE(active.value(b), 1);
        QVERIFY(!active.contains(c));
        const auto last = repo.lastFireTimeByJob();
        QCOMPARE(last.value(a), 900);
        QCOMPARE(last.value(b), 100);
        QVERIFY(!last.contains(c));
        QList<qint64> nonTerminal;
        for (const Instance &i : repo.listNonTerminal())
            nonTerminal << i.id;
        QCOMPARE(nonTerminal, (QList<qint64>{runs[0].id, runs[2].id, runs[3].id}));
    }

    void attemptsAreUpserted()
    {
        FRESH_URL(url);
        OPEN(db, url);
        const qint64 job = JobRepository(*db).insert(makeJob("att")).value().id;
        QList<Instance> runs{makeInstance(job, 0)};
        InstanceRepository repo(*db);
        CHECK_OK(repo.insertBatch(runs));
        const qint64 id = runs[0].id;
        Attempt a1{id, 1, InstanceStatus::Running, "w1", "", 10, 0};
        CHECK_OK(repo.insertAttempts({a1}));
        Attempt a1done = a1;
        a1done.status = InstanceStatus::Failed;
        a1done.reason = "exit code 3";
        a1done.finishedAtMs = 20;
        Attempt a2{id, 2, InstanceStatus::Running, "w2", "", 30, 0};
        Attempt a2done = a2;
        a2done.status = InstanceStatus::Succeeded;
        a2done.finishedAtMs = 40;
        CHECK_OK(repo.insertAttempts({a2, a1done, a2done}));
        QCOMPARE(repo.attempts(id), (QList<Attempt>{a1done, a2done}));
        QVERIFY(repo.attempts(id + 1).isEmpty());
    }

    void logSeqIsContiguousAcrossBatchesAndReopen()
    {
        FRESH_URL(url);
        QList<qint64> ids;
        {
            OPEN(db, url);
            const qint64 job = JobRepository(*db).insert(makeJob("logs")).value().id;
            QList<Instance> runs{makeInstance(job, 0), makeInstance(job, 0)};
            CHECK_OK(InstanceRepository(*db).insertBatch(runs));
            ids = {runs[0].id, runs[1].id};
            LogRepository logs(*db);
            for (int batch = 0; batch < 3; ++batch) {
                QList<LogLine> lines;
                for (int k = 0; k < 700; ++k) // interleaved instances, several statements
                    lines << LogLine{ids[k % 2],
                                     0,
                                     1,
                                     k % 3, // the task that logged it (0: standalone / server)
                                     1000 + k,
                                     LogStream::Stdout,
                                     QStringLiteral("line %1 'q' \"d\" \\ ü").arg(k)};
                CHECK_OK(logs.append(lines));
                QCOMPARE(lines[0].seq, batch * 350 + 1);
                QCOMPARE(lines[1].seq, batch * 350 + 1);
                QCOMPARE(lines[699].seq, batch * 350 + 350);
            }
            // A failed batch (unknown instance) leaves no gap behind.
            QList<LogLine> bad{{ids[0], 0, 1, 0, 5, LogStream::Stderr, "x"},
                               {424242, 0, 1, 0, 5, LogStream::Stderr, "y"}};
            QVERIFY(!logs.append(bad).ok());
            QList<LogLine> one{{ids[0], 0, 2, 0, 6, LogStream::System, "after failure"}};
            CHECK_OK(logs.append(one));
            QCOMPARE(one[0].seq, 1051);
        }
        OPEN(db, url); // a restart: the counters come from the database
        LogRepository logs(*db);
        QList<LogLine> more{{ids[0], 0, 2, 0, 7, LogStream::Stdout, "after restart"},
                            {ids[1], 0, 2, 0, 7, LogStream::Stdout, "after restart"}};
        CHECK_OK(logs.append(more));
        QCOMPARE(more[0].seq, 1052);
        QCOMPARE(more[1].seq, 1051);
        for (qint64 id : ids) {
            qint64 expect = 1;
            qint64 after = 0;
            for (;;) {
                const QList<LogLine> page = logs.read(id, after, 400);
                for (const LogLine &l : page)
                    QCOMPARE(l.seq, expect++);
                if (page.isEmpty())
                    break;
                after = page.last().seq;
            }
            QCOMPARE(expect - 1, id == ids[0] ? 1052 : 1051);
        }
        const QList<LogLine> tail = logs.read(ids[0], 1050, 10);
        QCOMPARE(tail.size(), 2);
        QCOMPARE(tail[0].text, "after failure");
        QCOMPARE(toString(tail[0].stream), toString(LogStream::System));
        QCOMPARE(tail[0].attempt, 2);
        QCOMPARE(logs.read(ids[0], 0, 1)[0].text, QStringLiteral("line 0 'q' \"d\" \\ ü"));
        // Each line keeps the task that logged it.
        const QList<LogLine> firstBatch = logs.read(ids[1], 0, 4);
        QCOMPARE(firstBatch.size(), 4);
        for (int k = 0; k < 4; ++k)
            QCOMPARE(firstBatch[k].taskId, (2 * k + 1) % 3);
    }

    void retentionDeletesFinishedWithLogsAndAttempts()
    {
        FRESH_URL(url);
        OPEN(db, url);
        const qint64 job = JobRepository(*db).insert(makeJob("old")).value().id;
        QList<Instance> runs;
        for (int k = 0; k < 2300; ++k) { // several delete chunks
            Instance i = makeInstance(job, k + 1);
            i.createdAtMs = 1000;
            i.status = k % 2 ? InstanceStatus::Succeeded : InstanceStatus::Failed;
            i.finishedAtMs = 2000;
            runs << i;
        }
        Instance recent = makeInstance(job, 0, "recent");
        recent.createdAtMs = 1000;
        recent.status = InstanceStatus::Succeeded;
        recent.finishedAtMs = 9000;
        Instance running = makeInstance(job, 0, "running");
        running.createdAtMs = 1000;
        running.status = InstanceStatus::Running;
        runs << recent << running;
        InstanceRepository repo(*db);
        CHECK_OK(repo.insertBatch(runs));
        QList<LogLine> lines;
        QList<Attempt> attempts;
        for (const Instance &i : runs) {
            lines << LogLine{i.id, 0, 1, 0, 1500, LogStream::Stdout, "x"};
            attempts << Attempt{i.id, 1, i.status, "w", "", 1000, i.finishedAtMs};
        }
        CHECK_OK(LogRepository(*db).append(lines));
        CHECK_OK(repo.insertAttempts(attempts));

        const auto deleted = repo.deleteFinishedBefore(5000);
        CHECK_OK(deleted);
        QCOMPARE(deleted.value(), 2300);
        QCOMPARE(repo.count({}), 2);
        QCOMPARE(repo.get(runs[2300].id)->params, "recent");
        QCOMPARE(repo.get(runs[2301].id)->params, "running");
        QSqlQuery q(db->connection());
        QVERIFY(q.exec("SELECT COUNT(*) FROM instance_logs") && q.next());
        QCOMPARE(q.value(0).toInt(), 2);
        QVERIFY(q.exec("SELECT COUNT(*) FROM instance_attempts") && q.next());
        QCOMPARE(q.value(0).toInt(), 2);
        QCOMPARE(repo.deleteFinishedBefore(5000).value(), 0);

        // Ids of deleted instances are never handed out again, even when the newest went.
        QList<Instance> newest{makeInstance(job, 0, "newest")};
        newest[0].createdAtMs = 1000;
        newest[0].status = InstanceStatus::Canceled;
        newest[0].finishedAtMs = 1500;
        CHECK_OK(repo.insertBatch(newest));
        QCOMPARE(repo.deleteFinishedBefore(5000).value(), 1);
        QList<Instance> later{makeInstance(job, 0, "later")};
        CHECK_OK(repo.insertBatch(later));
        QVERIFY(later[0].id > newest[0].id);
    }

    void credentialsAndMeta()
    {
        FRESH_URL(url);
        OPEN(db, url);
        CredentialRepository creds(*db);
        CHECK_OK(creds.upsert("admin", "root", "v1"));
        CHECK_OK(creds.upsert("app", "billing", "s1"));
        CHECK_OK(creds.upsert("app", "analytics", "s2"));
        CHECK_OK(creds.upsert("admin", "root", "v2"));
        QCOMPARE(creds.find("admin", "root").value(), "v2");
        QVERIFY(!creds.find("app", "root").has_value());
        QCOMPARE(creds.names("app"), (QStringList{"analytics", "billing"}));
        QCOMPARE(creds.names("admin"), QStringList{"root"});
        QCOMPARE(creds.upsert("user", "x", "y").error(),
                 QStringLiteral("kind: expected admin or app but got \"user\""));
        CHECK_OK(creds.remove("app", "billing"));
        QCOMPARE(creds.names("app"), QStringList{"analytics"});

        MetaRepository meta(*db);
        QVERIFY(!meta.get("cluster.id").has_value());
        CHECK_OK(meta.set("cluster.id", "abc"));
        CHECK_OK(meta.set("cluster.id", "def"));
        QCOMPARE(meta.get("cluster.id").value(), "def");

        ClusterRepository cluster(*db);
        CHECK_OK(cluster.upsertServer({"s1", "127.0.0.1:7700", 10, 20}));
        CHECK_OK(cluster.upsertServer({"s1", "127.0.0.1:7700", 10, 30}));
        QCOMPARE(cluster.servers(), (QList<ServerRecord>{{"s1", "127.0.0.1:7700", 10, 30}}));
        const qint64 job = JobRepository(*db).insert(makeJob("leased")).value().id;
        CHECK_OK(cluster.upsertLease({job, "s1", 100, 0}));
        CHECK_OK(cluster.upsertLease({job, "s2", 200, 0}));
        QCOMPARE(cluster.leases(), (QList<JobLease>{{job, "s2", 200, 2}}));
    }

    void groupCommitDeliversDoneAfterCommit()
    {
        FRESH_URL(url);
        auto started = StoreThread::start(StoreConfig{url});
        QVERIFY2(started.ok(), qPrintable(started.error()));
        StoreThread &store = *started.value();

        // Hold the store thread so that all 1,000 writes are queued when it gets to them.
        QSemaphore gate;
        store.post([&](Database &) { gate.acquire(); });

        QList<Status> results(1000);
        int delivered = 0;
        int visibleAtFirstDone = -1;
        auto countJobs = [&] {
            auto other = openMigrated(url); // an independent connection
            return other ? int(JobRepository(*other.value()).list().size()) : -1;
        };
        std::thread producer([&] {
            for (int k = 0; k < 1000; ++k) {
                store.write(
                    [k](Database &db) -> Status {
                        if (k == 500) { // a real database error in the middle of the group
                            auto dup = JobRepository(db).insert(makeJob("job-0"));
                            return dup ? Status() : Status(makeError(dup.error()));
                        }
                        if (k == 501) { // wrote, then failed: must be undone alone
                            (void)JobRepository(db).insert(makeJob("undone"));
                            return makeError("validation failed after the insert");
                        }
                        if (k == 502) { // ignored a failed repository call: undone as a whole
                            (void)JobRepository(db).insert(makeJob("half-done"));
                            (void)InstanceRepository(db).insertAttempts(
                                {Attempt{424242, 1, InstanceStatus::Running, "w", "", 1, 0}});
                            return Status();
                        }
                        auto job =
                            JobRepository(db).insert(makeJob(QStringLiteral("job-%1").arg(k)));
                        return job ? Status() : Status(makeError(job.error()));
                    },
                    this,
                    [&, k](Status s) {
                        QCOMPARE(QThread::currentThread(), thread());
                        if (delivered++ == 0)
                            visibleAtFirstDone = countJobs();
                        results[k] = s;
                    });
            }
        });
        producer.join();
        gate.release();
        QTRY_COMPARE_WITH_TIMEOUT(delivered, 1000, 30000);
        QCOMPARE(visibleAtFirstDone, 997); // the whole group was committed before any done
        QCOMPARE(results[500].error(),
                 QStringLiteral("name: a job named \"job-0\" already exists"));
        QCOMPARE(results[501].error(), QStringLiteral("validation failed after the insert"));
        QCOMPARE(results[502].error(),
                 QStringLiteral("store: a database operation of this write failed, so the write "
                                "was undone"));
        for (int k = 0; k < 1000; ++k) {
            if (k < 500 || k > 502)
                QVERIFY2(results[k].ok(), qPrintable(results[k].error()));
        }
        QCOMPARE(store.committedWrites(), 997u);
        QCOMPARE(store.committedGroups(), 1u);
        OPEN(fresh, url);
        QVERIFY(!JobRepository(*fresh).findByName("undone").has_value());
        QVERIFY(!JobRepository(*fresh).findByName("half-done").has_value());
        QCOMPARE(JobRepository(*fresh).list().size(), 997);
    }

    void doneMeansVisibleToAFreshConnection()
    {
        FRESH_URL(url);
        auto started = StoreThread::start(StoreConfig{url});
        QVERIFY2(started.ok(), qPrintable(started.error()));
        StoreThread &store = *started.value();
        // Free-running writers from two threads, checked one by one as their done arrives.
        QList<qint64> ids;
        QString failure;
        int done = 0;
        auto writer = [&](int base) {
            for (int k = 0; k < 100; ++k) {
                auto batch = std::make_shared<QList<Instance>>();
                batch->append(makeInstance(1, 0, QStringLiteral("w%1").arg(base + k)));
                store.write(
                    [batch](Database &db) { return InstanceRepository(db).insertBatch(*batch); },
                    this,
                    [&, batch](Status s) {
                        ++done;
                        if (!s)
                            failure = s.error();
                        else
                            ids << batch->first().id;
                    });
            }
        };
        std::thread t1(writer, 0), t2(writer, 1000);
        t1.join();
        t2.join();
        QTRY_COMPARE_WITH_TIMEOUT(done, 200, 30000);
        QVERIFY2(failure.isEmpty(), qPrintable(failure));
        OPEN(fresh, url);
        InstanceRepository repo(*fresh);
        for (qint64 id : ids)
            QVERIFY(repo.get(id).has_value());
        QCOMPARE(repo.count({}), 200);
        QVERIFY(store.committedGroups() <= 200u);
    }

    void callDeliversOnContextThreadAndSkipsDeadContexts()
    {
        FRESH_URL(url);
        auto started = StoreThread::start(StoreConfig{url});
        QVERIFY2(started.ok(), qPrintable(started.error()));
        StoreThread &store = *started.value();
        QCOMPARE(toString(store.dialect()),
                 toString(backend == "postgres" ? Dialect::Postgres : Dialect::Sqlite));

        std::optional<int> version;
        QThread *deliveredOn = nullptr;
        store.call([](Database &db) { return db.schemaVersion().value(); }, this,
                   [&](int v) {
                       version = v;
                       deliveredOn = QThread::currentThread();
                   });
        QTRY_VERIFY_WITH_TIMEOUT(version.has_value(), 10000);
        QCOMPARE(*version, Database::latestSchemaVersion());
        QCOMPARE(deliveredOn, thread());

        // The context dies while its call is running: no callback, no crash.
        QSemaphore gate;
        bool deadCalled = false;
        auto *context = new QObject;
        store.call<int>(
            [&](Database &) {
                gate.acquire();
                return 1;
            },
            context, [&](int) { deadCalled = true; });
        delete context;
        gate.release();
        bool later = false;
        store.call<int>([](Database &) { return 2; }, this, [&](int) { later = true; });
        QTRY_VERIFY_WITH_TIMEOUT(later, 10000);
        QCoreApplication::processEvents();
        QVERIFY(!deadCalled);

        // post runs in order with writes; callBlocking returns the value.
        QList<int> order;
        store.post([&](Database &) { order << 1; });
        store.write(
            [&](Database &) {
                order << 2;
                return Status();
            },
            nullptr, {});
        store.post([&](Database &) { order << 3; });
        const int jobs = store.callBlocking<int>([&](Database &db) {
            order << 4;
            return int(JobRepository(db).list().size());
        });
        QCOMPARE(jobs, 0);
        QCOMPARE(order, (QList<int>{1, 2, 3, 4}));
    }

    // SQLite rows are normally bound through the SQLite C API; the QtSql fallback (used where
    // that API is not reachable) must give the same results.
    void sqliteQtBindingFallbackGivesSameResults()
    {
        QFETCH_GLOBAL(QString, backend);
        if (backend != QLatin1String("sqlite"))
            QSKIP("SQLite-only code path");
        sql::SqliteRow::setNativeAllowed(false);
        const auto restore = qScopeGuard([] { sql::SqliteRow::setNativeAllowed(true); });
        OPEN(db, QStringLiteral("sqlite:") + m_tmp.filePath(QStringLiteral("fallback.db")));
        const qint64 job = JobRepository(*db).insert(makeJob("fallback")).value().id;
        InstanceRepository repo(*db);
        QList<Instance> runs{makeInstance(job, 10, "a"), makeInstance(job, 10, "dup"),
                             makeInstance(job, 0, "")};
        QList<bool> inserted;
        CHECK_OK(repo.insertBatch(runs, &inserted));
        QCOMPARE(inserted, (QList<bool>{true, false, true}));
        QCOMPARE(repo.get(runs[2].id)->params, QString());
        InstanceUpdate u = updateFrom(runs[0]);
        u.status = InstanceStatus::Running;
        InstanceUpdate stale = updateFrom(runs[2]);
        stale.expectedVersion = 9;
        QList<bool> applied;
        CHECK_OK(repo.applyUpdates({u, stale}, &applied));
        QCOMPARE(applied, (QList<bool>{true, false}));
        QList<LogLine> lines{{runs[0].id, 0, 1, 0, 1, LogStream::Stdout, "x"},
                             {runs[0].id, 0, 1, 0, 2, LogStream::Stdout, ""}};
        CHECK_OK(LogRepository(*db).append(lines));
        QCOMPARE(lines[1].seq, 2);
        CHECK_OK(
            repo.insertAttempts({Attempt{runs[0].id, 1, InstanceStatus::Running, "w", "", 1, 0}}));
        QCOMPARE(repo.attempts(runs[0].id).size(), 1);
    }

    void startReportsUnreachableDatabase()
    {
        QFETCH_GLOBAL(QString, backend);
        const QString url = backend == "postgres"
                                ? QStringLiteral("postgres://nobody@127.0.0.1:1/none")
                                : QStringLiteral("sqlite:/proc/kairos-cannot-write-here/k.db");
        auto started = StoreThread::start(StoreConfig{url});
        QVERIFY(!started.ok());
        QVERIFY2(started.error().startsWith("store: "), qPrintable(started.error()));
    }
};

QTEST_GUILESS_MAIN(TstStore)
#include "tst_store.moc"
