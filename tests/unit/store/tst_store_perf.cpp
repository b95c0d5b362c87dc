// Throughput of the store's hot path on SQLite and PostgreSQL: instances through
// insert -> dispatched -> running -> succeeded in batches, and small group-committed writes.
// Prints one machine-readable line per figure ("PERF backend=... op=... n=... per_second=...").
// KAIROS_PERF_INSTANCES sets the instance count (default 20000; the report uses 100000).
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
