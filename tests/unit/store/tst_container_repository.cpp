// Container versions, their bytes and their deployments as the server's ContainerService relies
// on them, on SQLite and on PostgreSQL (every test function runs once per backend row of
// initTestCase_data): versions read back with every field, listing order, bytes come back
// byte-exact, a re-upload stores nothing, bad input is refused with the field named, deployments
// upsert per (container, target), a default removes the container's pins, deploy ids survive,
// concurrent servers storing one version, and the upgrade from schema version 3.
#include <store/container_repository.h>
#include <store/store.h>
#include <support/postgres_fixture.h>

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

#include <thread>
#include <vector>

using namespace kairos;

namespace QTest {
template<> char *toString(const ContainerVersion &v)
{
    return qstrdup(QJsonDocument(v.toJson()).toJson(QJsonDocument::Compact));
}
template<> char *toString(const ContainerDeployment &d)
{
    return qstrdup(QJsonDocument(d.toJson()).toJson(QJsonDocument::Compact));
}
} // namespace QTest

namespace {

Result<std::unique_ptr<Database>> openMigrated(const QString &url)
{
    auto db = Database::open(StoreConfig{url});
    if (!db)
        return db;
    if (auto s = db.value()->migrate(); !s)
        return makeError(s.error());
    return db;
}

// `size` bytes that do not compress (as a stripped library's code mostly does not), every
// byte value and NULs among them.
QByteArray randomBytes(qsizetype size, quint32 seed)
{
    QByteArray b(size, Qt::Uninitialized);
    QRandomGenerator gen(seed);
    for (qsizetype i = 0; i < size; ++i)
        b[i] = char(gen.bounded(256));
    for (int k = 0; k < 256 && k < size; ++k)
        b[k] = char(k);
    return b;
}

QString sha256Of(const QByteArray &bytes)
{
    return QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
}

ContainerVersion makeVersion(const QString &name, const QString &label, const QByteArray &bytes,
                             qint64 uploadedAtMs)
{
    ContainerVersion v;
    v.sha256 = sha256Of(bytes);
    v.metadata.name = name;
    v.metadata.version = label;
    v.metadata.sdkVersion = 1;
    v.metadata.processors = {
        {QStringLiteral("greet"), ProcessorShape::Standalone, QStringLiteral("Says hello")},
        {QStringLiteral("sum"), ProcessorShape::MapReduce,
         QStringLiteral("Sums 'n' \"numbers\" \\ ü")},
    };
    v.sizeBytes = bytes.size();
    v.uploadedAtMs = uploadedAtMs;
    v.uploadedBy = QStringLiteral("admin");
    return v;
}

ContainerDeployment makeDeployment(const ContainerVersion &v, const QString &target,
                                   qint64 deployId)
{
    ContainerDeployment d;
    d.container = v.metadata.name;
    d.target = target;
    d.sha256 = v.sha256;
    d.isolation = ContainerIsolation::Process;
    d.deployId = deployId;
    d.deployedAtMs = 1700000000000 + deployId;
    d.deployedBy = QStringLiteral("ops");
    return d;
}

qint64 countRows(Database &db, const QString &table)
{
    QSqlQuery q(db.connection());
    if (!q.exec(QStringLiteral("SELECT COUNT(*) FROM ") + table) || !q.next())
        return -1;
    return q.value(0).toLongLong();
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

class TstContainerRepository : public QObject {
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

    void versionsReadBackAndListByNameThenNewestFirst()
    {
        FRESH_URL(url);
        OPEN(db, url);
        ContainerRepository repo(*db);
        QCOMPARE(repo.versions(), QList<ContainerVersion>{});

        const QByteArray oldBytes = randomBytes(1000, 1), newBytes = randomBytes(1000, 2),
                         plainBytes = randomBytes(10, 3), mapBytes = randomBytes(2000, 4);
        const ContainerVersion helloOld = makeVersion("hello", "1.0", oldBytes, 1700000000000);
        const ContainerVersion helloNew = makeVersion("hello", "2.0", newBytes, 1700000005000);
        ContainerVersion plain = makeVersion("Big", "", plainBytes, 1600000000000);
        plain.uploadedBy.clear(); // empty texts come back empty, not NULL
        plain.metadata.processors = {{"noop", ProcessorShape::Broadcast, QString()}};
        ContainerVersion map = makeVersion("mapsum", "ü 3 'q'", mapBytes, 1);
        map.metadata.sdkVersion = 7;
        map.metadata.processors = {{"sum", ProcessorShape::MapReduce, "d"},
                                   {"m", ProcessorShape::Map, "e"}};
        const QList<std::pair<ContainerVersion, QByteArray>> uploads{
            {helloOld, oldBytes}, {plain, plainBytes}, {helloNew, newBytes}, {map, mapBytes}};
        for (const auto &[version, bytes] : uploads) {
            bool inserted = false;
            CHECK_OK(repo.insertVersion(version, bytes, &inserted));
            QVERIFY(inserted);
        }

        QCOMPARE(repo.version(helloOld.sha256).value(), helloOld);
        QCOMPARE(repo.version(plain.sha256).value(), plain);
        QCOMPARE(repo.version(map.sha256).value(), map);
        QVERIFY(!repo.version(sha256Of("never stored")).has_value());
        // Code-point order of names ("Big" before "hello"), then newest upload first.
        QCOMPARE(repo.versions(), (QList<ContainerVersion>{plain, helloNew, helloOld, map}));

        // Reopened (a restart): the same.
        db.reset();
        OPEN(again, url);
        QCOMPARE(ContainerRepository(*again).versions(),
                 (QList<ContainerVersion>{plain, helloNew, helloOld, map}));
    }

    void bytesRoundTripByteExact()
    {
        FRESH_URL(url);
        OPEN(db, url);
        ContainerRepository repo(*db);
        // A big.so-sized file: 5 MiB of incompressible data with every byte value and NULs
        // (KAIROS_TEST_CONTAINER_MB=256 tries the container limit by hand).
        const qint64 mib = qEnvironmentVariableIntValue("KAIROS_TEST_CONTAINER_MB") > 0
                               ? qEnvironmentVariableIntValue("KAIROS_TEST_CONTAINER_MB")
                               : 5;
        const QByteArray big = randomBytes(mib * 1024 * 1024 + 17, 42);
        const QByteArray one("\0", 1);
        const ContainerVersion bigVersion = makeVersion("big", "1", big, 10);
        const ContainerVersion oneVersion = makeVersion("tiny", "1", one, 11);
        QElapsedTimer timer;
        timer.start();
        CHECK_OK(repo.insertVersion(bigVersion, big));
        const qint64 insertMs = timer.restart();
        const Result<QByteArray> readBig = repo.bytes(bigVersion.sha256);
        const qint64 readMs = timer.elapsed();
        qInfo("%lld MiB: insert %lld ms, read %lld ms", mib, insertMs, readMs);
        CHECK_OK(repo.insertVersion(oneVersion, one));

        QVERIFY2(readBig.ok(), qPrintable(readBig.error()));
        QCOMPARE(readBig->size(), big.size());
        QCOMPARE(sha256Of(*readBig), bigVersion.sha256);
        QVERIFY(*readBig == big);
        QCOMPARE(repo.bytes(oneVersion.sha256).value(), one);
        QCOMPARE(repo.version(bigVersion.sha256)->sizeBytes, big.size());

        // A chunk of the bytes lost (a damaged database): an error, never a short file.
        QSqlQuery damage(db->connection());
        QVERIFY(damage.exec(
            QStringLiteral("DELETE FROM container_blobs WHERE sha256 = '%1' AND seq = %2")
                .arg(bigVersion.sha256)
                .arg(mib - 1)));
        const Result<QByteArray> damaged = repo.bytes(bigVersion.sha256);
        QVERIFY(!damaged.ok());
        QCOMPARE(damaged.error(),
                 QStringLiteral("store: container version %1 is damaged: %2 of its %3 bytes are "
                                "stored")
                     .arg(bigVersion.sha256)
                     .arg((mib - 1) * 1024 * 1024)
                     .arg(big.size()));

        const QString unknown = sha256Of("unknown");
        const Result<QByteArray> missing = repo.bytes(unknown);
        QVERIFY(!missing.ok());
        QCOMPARE(missing.error(),
                 QStringLiteral("sha256: no container version %1 is stored").arg(unknown));
    }

    void reinsertingAVersionStoresNothing()
    {
        FRESH_URL(url);
        OPEN(db, url);
        ContainerRepository repo(*db);
        const QByteArray bytes = randomBytes(64 * 1024, 9);
        const ContainerVersion first = makeVersion("hello", "1.0", bytes, 100);
        bool inserted = false;
        CHECK_OK(repo.insertVersion(first, bytes, &inserted));
        QVERIFY(inserted);

        // Uploaded again later by someone else: not an error, and the first record stays.
        ContainerVersion again = first;
        again.uploadedAtMs = 200;
        again.uploadedBy = QStringLiteral("someone-else");
        inserted = true;
        CHECK_OK(repo.insertVersion(again, bytes, &inserted));
        QVERIFY(!inserted);
        QCOMPARE(repo.version(first.sha256).value(), first);
        QCOMPARE(repo.versions(), QList<ContainerVersion>{first});
        QCOMPARE(repo.bytes(first.sha256).value(), bytes);
        QCOMPARE(countRows(*db, "container_versions"), 1);
        QCOMPARE(countRows(*db, "container_blobs"), 1);
    }

    void badVersionsAreRefusedNamingTheField_data()
    {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("expected");
        QTest::newRow("uppercase sha") << "sha"
                                       << "sha256: expected 64 lowercase hex digits";
        QTest::newRow("short sha") << "shortSha"
                                   << "sha256: expected 64 lowercase hex digits";
        QTest::newRow("name") << "name"
                              << "metadata: field 'name' must match";
        QTest::newRow("no processors")
            << "processors"
            << "metadata: field 'processors' must list at least one processor";
        QTest::newRow("size") << "size"
                              << "sizeBytes: the version says 101 bytes but 100";
        QTest::newRow("empty") << "empty"
                               << "bytes: expected the container file's bytes";
        QTest::newRow("digest") << "digest"
                                << "digest mismatch: expected ";
    }

    void badVersionsAreRefusedNamingTheField()
    {
        QFETCH(QString, field);
        QFETCH(QString, expected);
        FRESH_URL(url);
        OPEN(db, url);
        ContainerRepository repo(*db);
        QByteArray bytes = randomBytes(100, 5);
        ContainerVersion v = makeVersion("hello", "1.0", bytes, 1);
        if (field == "sha")
            v.sha256 = v.sha256.toUpper();
        else if (field == "shortSha")
            v.sha256.chop(1);
        else if (field == "name")
            v.metadata.name = QStringLiteral("-bad");
        else if (field == "processors")
            v.metadata.processors.clear();
        else if (field == "size")
            v.sizeBytes = 101;
        else if (field == "empty")
            v.sizeBytes = 0, bytes.clear();
        else if (field == "digest")
            bytes[50] = char(bytes[50] ^ 1);
        bool inserted = true;
        const Status s = repo.insertVersion(v, bytes, &inserted);
        QVERIFY(!s.ok());
        QVERIFY2(s.error().startsWith(expected), qPrintable(s.error()));
        QVERIFY(!inserted);
        QCOMPARE(countRows(*db, "container_versions"), 0);
        QCOMPARE(countRows(*db, "container_blobs"), 0);
    }

    void deploymentsUpsertAndADefaultRemovesPins()
    {
        FRESH_URL(url);
        OPEN(db, url);
        ContainerRepository repo(*db);
        QCOMPARE(repo.maxDeployId(), 0);
        QCOMPARE(repo.deployments(), QList<ContainerDeployment>{});

        const QByteArray b1 = randomBytes(300, 1), b2 = randomBytes(300, 2),
                         b3 = randomBytes(300, 3);
        const ContainerVersion v1 = makeVersion("hello", "1.0", b1, 1);
        const ContainerVersion v2 = makeVersion("hello", "2.0", b2, 2);
        const ContainerVersion other = makeVersion("mapsum", "1", b3, 3);
        CHECK_OK(repo.insertVersion(v1, b1));
        CHECK_OK(repo.insertVersion(v2, b2));
        CHECK_OK(repo.insertVersion(other, b3));

        const ContainerDeployment defaultV1 = makeDeployment(v1, "*", 1);
        ContainerDeployment pinW2 = makeDeployment(v2, "w2", 2);
        pinW2.isolation = ContainerIsolation::InProcess;
        const ContainerDeployment pinW10 = makeDeployment(v2, "w10", 2);
        const ContainerDeployment otherPin = makeDeployment(other, "w2", 3);
        for (const ContainerDeployment &d : {defaultV1, pinW2, pinW10, otherPin})
            CHECK_OK(repo.upsertDeployment(d));
        QCOMPARE(repo.deployments(),
                 (QList<ContainerDeployment>{defaultV1, pinW10, pinW2, otherPin}));
        QCOMPARE(repo.maxDeployId(), 3);

        // Same (container, target): replaced, not added.
        ContainerDeployment repin = makeDeployment(v1, "w2", 4);
        repin.deployedBy = QStringLiteral("someone ü");
        CHECK_OK(repo.upsertDeployment(repin));
        QCOMPARE(repo.deployments(),
                 (QList<ContainerDeployment>{defaultV1, pinW10, repin, otherPin}));
        QCOMPARE(repo.maxDeployId(), 4);

        // A new default of hello: hello's pins go, mapsum's pin stays.
        ContainerDeployment defaultV2 = makeDeployment(v2, "*", 5);
        defaultV2.isolation = ContainerIsolation::InProcess;
        CHECK_OK(repo.upsertDeployment(defaultV2));
        QCOMPARE(repo.deployments(), (QList<ContainerDeployment>{defaultV2, otherPin}));
        QCOMPARE(repo.maxDeployId(), 5);

        // A restart reads the same rows and continues the ids.
        db.reset();
        OPEN(again, url);
        ContainerRepository reopened(*again);
        QCOMPARE(reopened.deployments(), (QList<ContainerDeployment>{defaultV2, otherPin}));
        QCOMPARE(reopened.maxDeployId(), 5);
    }

    void badDeploymentsAreRefusedAndChangeNothing_data()
    {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("expected");
        QTest::newRow("unknown version") << "unknown"
                                         << "sha256: no container version ";
        QTest::newRow("other container") << "other"
                                         << "sha256: version ";
        QTest::newRow("bad sha") << "sha"
                                 << "sha256: expected 64 lowercase hex digits";
        QTest::newRow("container") << "container"
                                   << "container: expected a container name";
        QTest::newRow("target") << "target"
                                << "target: expected \"*\" or a worker id";
        QTest::newRow("deploy id") << "id"
                                   << "deployId: expected a positive deploy id, got 0";
    }

    void badDeploymentsAreRefusedAndChangeNothing()
    {
        QFETCH(QString, field);
        QFETCH(QString, expected);
        FRESH_URL(url);
        OPEN(db, url);
        ContainerRepository repo(*db);
        const QByteArray b1 = randomBytes(300, 1), b2 = randomBytes(300, 2);
        const ContainerVersion hello = makeVersion("hello", "1.0", b1, 1);
        const ContainerVersion other = makeVersion("mapsum", "1", b2, 2);
        CHECK_OK(repo.insertVersion(hello, b1));
        CHECK_OK(repo.insertVersion(other, b2));
        const ContainerDeployment pin = makeDeployment(hello, "w1", 1);
        CHECK_OK(repo.upsertDeployment(pin));

        // Every bad deploy is a default ("*"), which would also remove the pin if it went through.
        ContainerDeployment d = makeDeployment(hello, "*", 2);
        if (field == "unknown")
            d.sha256 = sha256Of("not stored");
        else if (field == "other")
            d.sha256 = other.sha256;
        else if (field == "sha")
            d.sha256 = QStringLiteral("1a2b3c4d");
        else if (field == "container")
            d.container.clear();
        else if (field == "target")
            d.target.clear();
        else if (field == "id")
            d.deployId = 0;
        const Status s = repo.upsertDeployment(d);
        QVERIFY(!s.ok());
        QVERIFY2(s.error().startsWith(expected), qPrintable(s.error()));
        QCOMPARE(repo.deployments(), QList<ContainerDeployment>{pin});
        QCOMPARE(repo.maxDeployId(), 1);
    }

    // Inside an outer transaction that rolls back (a StoreThread group whose write failed), a
    // default and the removal of the pins are undone together.
    void aRolledBackDefaultKeepsThePins()
    {
        FRESH_URL(url);
        OPEN(db, url);
        ContainerRepository repo(*db);
        const QByteArray b = randomBytes(300, 1);
        const ContainerVersion v = makeVersion("hello", "1.0", b, 1);
        CHECK_OK(repo.insertVersion(v, b));
        const ContainerDeployment pin = makeDeployment(v, "w1", 1);
        CHECK_OK(repo.upsertDeployment(pin));

        CHECK_OK(db->begin());
        CHECK_OK(repo.upsertDeployment(makeDeployment(v, "*", 2)));
        QCOMPARE(repo.deployments().size(), 1); // the pin is gone inside the transaction
        CHECK_OK(db->rollback());
        QCOMPARE(repo.deployments(), QList<ContainerDeployment>{pin});
        QCOMPARE(repo.maxDeployId(), 1);
    }

    // Several servers on one database store the same upload at once: every one succeeds, exactly
    // one reports that it inserted, and the bytes are stored once.
    void concurrentServersStoreOneVersionOnce()
    {
        FRESH_URL(url);
        {
            OPEN(db, url); // migrated once before the race
        }
        const QByteArray bytes = randomBytes(512 * 1024, 77);
        const ContainerVersion v = makeVersion("hello", "1.0", bytes, 1);
        constexpr int kServers = 4;
        QString errors[kServers];
        bool inserted[kServers] = {};
        std::vector<std::thread> threads;
        for (int t = 0; t < kServers; ++t) {
            threads.emplace_back([&, t] {
                auto db = openMigrated(url);
                if (!db) {
                    errors[t] = db.error();
                    return;
                }
                if (auto s = ContainerRepository(**db).insertVersion(v, bytes, &inserted[t]); !s)
                    errors[t] = s.error();
            });
        }
        for (auto &th : threads)
            th.join();
        int insertedCount = 0;
        for (int t = 0; t < kServers; ++t) {
            QVERIFY2(errors[t].isEmpty(), qPrintable(errors[t]));
            insertedCount += inserted[t] ? 1 : 0;
        }
        QCOMPARE(insertedCount, 1);
        OPEN(db, url);
        QCOMPARE(ContainerRepository(*db).bytes(v.sha256).value(), bytes);
        QCOMPARE(countRows(*db, "container_blobs"), 1);
    }

    // A database written by schema version 3 (before containers) upgrades in place: its jobs,
    // runs and tasks stay, and containers can be stored.
    void upgradeFromVersion3KeepsDataAndAddsContainers()
    {
        FRESH_URL(url);
        qint64 jobId = 0;
        qint64 instanceId = 0;
        TaskInfo task;
        {
            auto opened = Database::open(StoreConfig{url});
            QVERIFY2(opened.ok(), qPrintable(opened.error()));
            Database &v3 = *opened.value();
            CHECK_OK(v3.migrate(3));
            QCOMPARE(v3.schemaVersion().value(), 3);
            QVERIFY(!v3.connection().tables().contains(QStringLiteral("container_versions")));
            Job job;
            job.name = QStringLiteral("old");
            const Result<Job> stored = JobRepository(v3).insert(job);
            QVERIFY2(stored.ok(), qPrintable(stored.error()));
            jobId = stored->id;
            QList<Instance> runs{Instance{}};
            runs[0].jobId = jobId;
            CHECK_OK(InstanceRepository(v3).insertBatch(runs));
            instanceId = runs[0].id;
            task.instanceId = instanceId;
            task.attempt = 1;
            task.taskId = 1;
            task.role = TaskRole::Subtask;
            task.status = InstanceStatus::WaitingDispatch;
            task.payload = QByteArray("\0payload", 8);
            CHECK_OK(TaskRepository(v3).insertBatch({task}));
            QList<LogLine> lines{{instanceId, 0, 1, 1, 77, LogStream::Stdout, "before"}};
            CHECK_OK(LogRepository(v3).append(lines));
        }
        OPEN(db, url);
        QCOMPARE(db->schemaVersion().value(), 4);
        QCOMPARE(Database::latestSchemaVersion(), 4);
        QCOMPARE(JobRepository(*db).get(jobId)->name, QStringLiteral("old"));
        QCOMPARE(InstanceRepository(*db).get(instanceId)->jobName, QStringLiteral("old"));
        QCOMPARE(TaskRepository(*db).waiting(instanceId, 1, 0, 10), QList<TaskInfo>{task});
        QCOMPARE(LogRepository(*db).read(instanceId, 0, 10).size(), 1);

        ContainerRepository repo(*db);
        QCOMPARE(repo.versions(), QList<ContainerVersion>{});
        QCOMPARE(repo.maxDeployId(), 0);
        const QByteArray b = randomBytes(1000, 1);
        const ContainerVersion v = makeVersion("hello", "1.0", b, 1);
        CHECK_OK(repo.insertVersion(v, b));
        CHECK_OK(repo.upsertDeployment(makeDeployment(v, "*", 1)));
        QCOMPARE(repo.version(v.sha256).value(), v);
        QCOMPARE(repo.deployments().size(), 1);
    }
};

QTEST_GUILESS_MAIN(TstContainerRepository)
#include "tst_container_repository.moc"
