// Throughput of the store's hot path on SQLite and PostgreSQL: instances through
// insert -> dispatched -> running -> succeeded in batches, and small group-committed writes.
// Prints one machine-readable line per figure ("PERF backend=... op=... n=... per_second=...").
// KAIROS_PERF_INSTANCES sets the instance count (default 20000; the report uses 100000).
// taskLifecycle: the tasks of one map run (TaskRepository): insert in batches, the dispatch
// window read back (waiting()), one terminal update each, a reduce's reads (results()), and the
// restart queries. KAIROS_PERF_TASKS sets the task count (default 100000; docs/storage.md
// reports 1,000,000), KAIROS_PERF_TASK_BATCH the batch size (default 5000),
// KAIROS_PERF_TASK_PAYLOAD the payload bytes per task (default 32). KAIROS_PERF_TASK_VARIANT
// measures the schema alternatives docs/storage.md compares: "parent_index" adds an index on
// (instance_id, attempt, parent_id, seq), "status_index" one on (instance_id, attempt, status,
// task_id), "rowid" (SQLite) rebuilds the table with a rowid, "fillfactor100" (PostgreSQL)
// packs the pages full.
#include <store/store.h>
#include <support/postgres_fixture.h>

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <thread>

#include <time.h>

using namespace kairos;

class TstStorePerf : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;

    static int instanceCount()
    {
        const int n = qEnvironmentVariableIntValue("KAIROS_PERF_INSTANCES");
        return n > 0 ? n : 20000;
    }

    // CPU time of this thread: on a shared machine the wall clock also measures the other
    // processes. For SQLite (in-process) this is the store's whole work; for PostgreSQL only the
    // client's share (the server's work is in its own processes).
    static qint64 threadCpuNs()
    {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return qint64(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    }

    static void report(const QString &backend, const char *op, qint64 n, qint64 ns, qint64 cpuNs)
    {
        const double seconds = double(ns) / 1e9;
        const double cpu = double(cpuNs) / 1e9;
        qInfo("PERF backend=%s op=%s n=%lld seconds=%.3f per_second=%.0f client_cpu_seconds=%.3f "
              "per_client_cpu_second=%.0f",
              qPrintable(backend), op, static_cast<long long>(n), seconds, double(n) / seconds, cpu,
              cpu > 0 ? double(n) / cpu : 0.0);
    }

private slots:
    void initTestCase_data()
    {
        QTest::addColumn<QString>("backend");
        QTest::newRow("sqlite") << QStringLiteral("sqlite");
        QTest::newRow("postgres") << QStringLiteral("postgres");
    }

    void instanceLifecycle()
    {
        QFETCH_GLOBAL(QString, backend);
        QString url = QStringLiteral("sqlite:") + m_tmp.filePath(QStringLiteral("perf.db"));
        if (backend == QLatin1String("postgres")) {
            KAIROS_FRESH_POSTGRES_URL(pg);
            url = pg;
        }
        auto opened = Database::open(StoreConfig{url});
        QVERIFY2(opened.ok(), qPrintable(opened.error()));
        Database &db = *opened.value();
        QVERIFY(db.migrate().ok());
        const qint64 job = JobRepository(db).insert(Job{.name = QStringLiteral("perf")}).value().id;

        const int n = instanceCount();
        const int batch = 1000;
        InstanceRepository repo(db);
        QList<Instance> all;
        all.reserve(n);
        QElapsedTimer timer;
        timer.start();
        qint64 cpu = threadCpuNs();
        for (int from = 0; from < n; from += batch) {
            QList<Instance> chunk;
            for (int k = from; k < std::min(n, from + batch); ++k) {
                Instance i;
                i.jobId = job;
                i.trigger = TriggerKind::Scheduled;
                i.fireTimeMs = 1'700'000'000'000 + k * 1000LL;
                chunk << i;
            }
            QList<bool> inserted;
            const Status s = repo.insertBatch(chunk, &inserted);
            QVERIFY2(s.ok(), qPrintable(s.error()));
            all << chunk;
        }
        report(backend, "insertBatch", n, timer.nsecsElapsed(), threadCpuNs() - cpu);

        const InstanceStatus steps[] = {InstanceStatus::Dispatched, InstanceStatus::Running,
                                        InstanceStatus::Succeeded};
        qint64 totalNs = 0;
        qint64 totalCpuNs = 0;
        for (InstanceStatus step : steps) {
            timer.restart();
            cpu = threadCpuNs();
            for (int from = 0; from < n; from += batch) {
                QList<InstanceUpdate> updates;
                for (int k = from; k < std::min(n, from + batch); ++k) {
                    Instance &i = all[k];
                    i.status = step;
                    i.worker = QStringLiteral("worker-1");
                    InstanceUpdate u = updateFrom(i);
                    updates << u;
                    ++i.version;
                }
                QList<bool> applied;
                const Status s = repo.applyUpdates(updates, &applied);
                QVERIFY2(s.ok(), qPrintable(s.error()));
                QVERIFY(!applied.contains(false));
            }
            const qint64 ns = timer.nsecsElapsed();
            const qint64 cpuNs = threadCpuNs() - cpu;
            totalNs += ns;
            totalCpuNs += cpuNs;
            report(backend, qPrintable(QStringLiteral("applyUpdates_%1").arg(toString(step))), n,
                   ns, cpuNs);
        }
        report(backend, "applyUpdates_all", 3LL * n, totalNs, totalCpuNs);
        InstanceFilter succeeded;
        succeeded.statuses = {InstanceStatus::Succeeded};
        QCOMPARE(repo.count(succeeded), n);
    }

    void taskLifecycle()
    {
        QFETCH_GLOBAL(QString, backend);
        QString url = QStringLiteral("sqlite:") + m_tmp.filePath(QStringLiteral("tasks.db"));
        if (backend == QLatin1String("postgres")) {
            KAIROS_FRESH_POSTGRES_URL(pg);
            url = pg;
        }
        auto opened = Database::open(StoreConfig{url});
        QVERIFY2(opened.ok(), qPrintable(opened.error()));
        Database &db = *opened.value();
        QVERIFY(db.migrate().ok());
        const bool sqlite = backend == QLatin1String("sqlite");
        const QString variant = qEnvironmentVariable("KAIROS_PERF_TASK_VARIANT");
        if (variant == QLatin1String("parent_index")) {
            QVERIFY(db.exec("CREATE INDEX tasks_parent ON instance_tasks (instance_id, attempt, "
                            "parent_id, seq)",
                            "variant"));
        } else if (variant == QLatin1String("status_index")) {
            QVERIFY(db.exec("CREATE INDEX tasks_status ON instance_tasks (instance_id, attempt, "
                            "status, task_id)",
                            "variant"));
        } else if (variant == QLatin1String("rowid") && sqlite) {
            QVERIFY(db.exec("DROP TABLE instance_tasks", "variant"));
            QVERIFY(db.exec("CREATE TABLE instance_tasks (instance_id INTEGER NOT NULL, attempt "
                            "INTEGER NOT NULL, task_id INTEGER NOT NULL, parent_id INTEGER NOT "
                            "NULL DEFAULT 0, seq INTEGER NOT NULL DEFAULT 0, name TEXT NOT NULL "
                            "DEFAULT '', role TEXT NOT NULL, status TEXT NOT NULL, runs INTEGER "
                            "NOT NULL DEFAULT 0, worker TEXT NOT NULL DEFAULT '', address TEXT "
                            "NOT NULL DEFAULT '', result TEXT NOT NULL DEFAULT '', payload BLOB "
                            "NOT NULL DEFAULT x'', created_at_ms INTEGER NOT NULL DEFAULT 0, "
                            "started_at_ms INTEGER NOT NULL DEFAULT 0, finished_at_ms INTEGER NOT "
                            "NULL DEFAULT 0, PRIMARY KEY (instance_id, attempt, task_id))",
                            "variant"));
        } else if (variant.startsWith(QLatin1String("fillfactor")) && !sqlite) {
            QVERIFY(db.exec(QStringLiteral("ALTER TABLE instance_tasks SET (fillfactor = %1)")
                                .arg(variant.mid(10).toInt()),
                            "variant"));
        }

        const int envTasks = qEnvironmentVariableIntValue("KAIROS_PERF_TASKS");
        const int n = envTasks > 0 ? envTasks : 100000;
        const int envBatch = qEnvironmentVariableIntValue("KAIROS_PERF_TASK_BATCH");
        const int batch = envBatch > 0 ? envBatch : 5000;
        const int payloadBytes = qEnvironmentVariableIsSet("KAIROS_PERF_TASK_PAYLOAD")
                                     ? qEnvironmentVariableIntValue("KAIROS_PERF_TASK_PAYLOAD")
                                     : 32;
        const qint64 instance = 42;
        const QString tag = QStringLiteral("%1%2").arg(
            backend, variant.isEmpty() ? QString() : QStringLiteral("/") + variant);
        TaskRepository repo(db);

        // The root task, then its mapped items, in map() batches.
        TaskInfo root;
        root.instanceId = instance;
        root.taskId = 1;
        root.name = QStringLiteral("root");
        root.role = TaskRole::Root;
        root.status = InstanceStatus::Running;
        QVERIFY(repo.insertBatch({root}).ok());
        // Only the repository calls are timed: building the batches is the caller's work.
        qint64 ns = 0;
        qint64 cpuNs = 0;
        const auto timed = [&](auto fn) {
            QElapsedTimer t;
            t.start();
            const qint64 c = threadCpuNs();
            fn();
            ns += t.nsecsElapsed();
            cpuNs += threadCpuNs() - c;
        };
        for (int from = 0; from < n; from += batch) {
            QList<TaskInfo> chunk;
            chunk.reserve(batch);
            for (int k = from; k < std::min(n, from + batch); ++k) {
                TaskInfo t;
                t.instanceId = instance;
                t.taskId = 2 + k;
                t.parentId = 1;
                t.seq = k;
                t.name = QStringLiteral("items");
                t.role = TaskRole::Subtask;
                t.status = InstanceStatus::WaitingDispatch;
                t.payload = QByteArray(payloadBytes, char('a' + k % 26));
                t.createdAtMs = 1'700'000'000'000 + k;
                chunk << t;
            }
            Status s;
            timed([&] { s = repo.insertBatch(chunk); });
            QVERIFY2(s.ok(), qPrintable(s.error()));
        }
        const auto flush = [&](const char *op, qint64 rows) {
            report(tag, op, rows, ns, cpuNs);
            ns = cpuNs = 0;
        };
        flush("tasks_insertBatch", n);

        // The dispatch window, read the way the tracker does: 4,096 at a time from a cursor.
        qint64 read = 0;
        timed([&] {
            for (qint64 cursor = 0;;) {
                const QList<TaskInfo> page = repo.waiting(instance, 1, cursor, 4096);
                if (page.isEmpty())
                    break;
                read += page.size();
                cursor = page.last().taskId;
            }
        });
        flush("tasks_waiting_pages", read);
        QCOMPARE(read, n);

        // Every task written once more with its final state.
        for (int from = 0; from < n; from += batch) {
            QList<TaskUpdate> updates;
            updates.reserve(batch);
            for (int k = from; k < std::min(n, from + batch); ++k) {
                TaskUpdate u;
                u.instanceId = instance;
                u.taskId = 2 + k;
                u.status = k % 100 ? InstanceStatus::Succeeded : InstanceStatus::Failed;
                u.worker = QStringLiteral("worker-%1").arg(k % 4);
                u.address = QStringLiteral("127.0.0.1:77%1").arg(k % 4);
                u.result = QStringLiteral("result %1").arg(k);
                u.startedAtMs = 1'700'000'001'000 + k;
                u.finishedAtMs = 1'700'000'002'000 + k;
                updates << u;
            }
            QList<bool> applied;
            Status s;
            timed([&] { s = repo.applyUpdates(updates, &applied); });
            QVERIFY2(s.ok(), qPrintable(s.error()));
            QVERIFY(!applied.contains(false));
        }
        flush("tasks_applyUpdates", n);

        // A reduce's input, 10,000 results per page (the largest page a worker may ask for).
        read = 0;
        timed([&] {
            for (qint64 cursor = 0;;) {
                const QList<TaskResultEntry> page =
                    repo.results(instance, 1, TaskRole::Subtask, cursor, 10000);
                if (page.isEmpty())
                    break;
                read += page.size();
                cursor = page.last().taskId;
            }
        });
        flush("tasks_results_pages", read);
        QCOMPARE(read, n);

        // Queries over the whole run: counts (instance.tasks, restart), mapped positions of
        // open parents (restart of a map run), a page of failed tasks (console filter) and the
        // first waiting() read after a restart, which walks over every finished task. Rates are
        // per task of the run (a whole-run figure), not per row returned.
        qint64 total = 0;
        timed([&] { total = repo.counts(instance, 1).total; });
        flush("tasks_counts_scan", n);
        QCOMPARE(total, n + 1);
        QHash<qint64, qint64> mapped;
        timed([&] { mapped = repo.mappedByOpenParents(instance, 1); });
        flush("tasks_mappedByOpenParents_scan", n);
        QCOMPARE(mapped, (QHash<qint64, qint64>{{1, n}}));
        TaskFilter failed;
        failed.statuses = {InstanceStatus::Failed};
        failed.afterTaskId = qint64(n) / 2;
        qsizetype failedPage = 0;
        timed([&] { failedPage = repo.list(instance, 1, failed).size(); });
        flush("tasks_list_failed_page", n);
        QCOMPARE(failedPage, std::min(100, n / 200));
        bool none = false;
        timed([&] { none = repo.waiting(instance, 1, 0, 4096).isEmpty(); });
        flush("tasks_waiting_after_restart_scan", n);
        QVERIFY(none);
        Status removed;
        timed([&] { removed = repo.removeForInstances({instance}); });
        flush("tasks_removeForInstances", n);
        QVERIFY(removed.ok());
    }

    void groupCommitSmallWrites()
    {
        QFETCH_GLOBAL(QString, backend);
        QString url = QStringLiteral("sqlite:") + m_tmp.filePath(QStringLiteral("group.db"));
        if (backend == QLatin1String("postgres")) {
            KAIROS_FRESH_POSTGRES_URL(pg);
            url = pg;
        }
        auto started = StoreThread::start(StoreConfig{url});
        QVERIFY2(started.ok(), qPrintable(started.error()));
        StoreThread &store = *started.value();
        const int writes = 5000;
        int done = 0;
        int failed = 0;
        QElapsedTimer timer;
        timer.start();
        // Small writes (one instance each) as a stream from another thread, the way the
        // engine's components hand them over.
        std::thread producer([&] {
            for (int k = 0; k < writes; ++k) {
                store.write(
                    [k](Database &db) {
                        QList<Instance> one{Instance{.jobId = 1,
                                                     .jobName = QStringLiteral("perf"),
                                                     .params = QString::number(k)}};
                        return InstanceRepository(db).insertBatch(one);
                    },
                    this,
                    [&](Status s) {
                        ++done;
                        failed += s.ok() ? 0 : 1;
                    });
            }
        });
        producer.join();
        QTRY_COMPARE_WITH_TIMEOUT(done, writes, 120000);
        report(backend, "groupCommit_smallWrites", writes, timer.nsecsElapsed(), 0);
        qInfo("PERF backend=%s op=groupCommit_groups n=%llu avg_group=%.1f", qPrintable(backend),
              static_cast<unsigned long long>(store.committedGroups()),
              double(store.committedWrites())
                  / double(std::max<quint64>(1, store.committedGroups())));
        QCOMPARE(failed, 0);
        QCOMPARE(store.callBlocking([](Database &db) { return InstanceRepository(db).count({}); }),
                 writes);
    }
};

QTEST_GUILESS_MAIN(TstStorePerf)
#include "tst_store_perf.moc"
