// The tasks of BROADCAST / MAP / MAP_REDUCE runs as the task tracker relies on them, on SQLite
// and on PostgreSQL (every test function runs once per backend row of initTestCase_data):
// every field comes back as stored, pages follow a cursor, a terminal task never changes again,
// a reduce reads each finished task once, restart state, retention and the upgrade from
// schema version 2.
#include <store/sqlite_row.h>
#include <store/store.h>
#include <support/postgres_fixture.h>

#include <QJsonDocument>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>

using namespace kairos;

// Readable failures for compared tasks (the payload by size and checksum).
namespace QTest {
template<> char *toString(const TaskInfo &t)
{
    const QByteArray json = QJsonDocument(taskInfoToJson(t)).toJson(QJsonDocument::Compact);
    return qstrdup(json + " payload=" + QByteArray::number(t.payload.size()) + "B/crc"
                   + QByteArray::number(qChecksum(t.payload)));
}
template<> char *toString(const TaskResultEntry &r)
{
    return qstrdup(QJsonDocument(taskResultToJson(r)).toJson(QJsonDocument::Compact));
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

// A waiting subtask of `parent` at position `seq`.
TaskInfo subtask(qint64 instanceId, int attempt, qint64 taskId, qint64 parent, qint64 seq)
{
    TaskInfo t;
    t.instanceId = instanceId;
    t.attempt = attempt;
    t.taskId = taskId;
    t.parentId = parent;
    t.seq = seq;
    t.name = QStringLiteral("items");
    t.role = TaskRole::Subtask;
    t.status = InstanceStatus::WaitingDispatch;
    t.payload = QByteArray::number(taskId);
    t.createdAtMs = 1000 + taskId;
    return t;
}

TaskUpdate finish(const TaskInfo &t, InstanceStatus status, const QString &result)
{
    TaskUpdate u;
    u.instanceId = t.instanceId;
    u.attempt = t.attempt;
    u.taskId = t.taskId;
    u.status = status;
    u.runs = 1;
    u.worker = QStringLiteral("w-%1").arg(t.taskId % 3);
    u.address = QStringLiteral("10.0.0.%1:7700").arg(t.taskId % 3);
    u.result = result;
    u.startedAtMs = 5000 + t.taskId;
    u.finishedAtMs = 6000 + t.taskId;
    return u;
}

// What a stored task looks like after `u` (listings carry no payload).
TaskInfo applied(TaskInfo t, const TaskUpdate &u, bool withPayload)
{
    t.status = u.status;
    t.runs = u.runs;
    t.worker = u.worker;
    t.address = u.address;
    t.result = u.result;
    t.startedAtMs = u.startedAtMs;
    t.finishedAtMs = u.finishedAtMs;
    if (!withPayload)
        t.payload.clear();
    return t;
}

TaskInfo withoutPayload(TaskInfo t)
{
    t.payload.clear();
    return t;
}

QList<qint64> idsOf(const QList<TaskInfo> &tasks)
{
    QList<qint64> ids;
    for (const TaskInfo &t : tasks)
        ids << t.taskId;
    return ids;
}

// Every byte value, NUL first and in the middle.
QByteArray allBytes()
{
    QByteArray b;
    for (int k = 0; k < 256; ++k)
        b.append(char(k));
    b.append('\0');
    b.append("\\x00\"'{},NULL");
    return b;
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

class TstTaskRepository : public QObject {
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

    void insertedTasksReadBackWithEveryField()
    {
        FRESH_URL(url);
        OPEN(db, url);
        TaskRepository repo(*db);

        TaskInfo root;
        root.instanceId = 7;
        root.attempt = 2;
        root.taskId = 1;
        root.name = QStringLiteral("root");
        root.role = TaskRole::Root;
        root.status = InstanceStatus::Running;
        root.runs = 3;
        root.worker = QStringLiteral("worker-a");
        root.address = QStringLiteral("127.0.0.1:7700");
        root.result = QStringLiteral("partial 'q' \"d\" \\ ü NULL {a,b}");
        root.createdAtMs = 1700000000000;
        root.startedAtMs = 1700000000100;
        TaskInfo binary = subtask(7, 2, 2, 1, 0);
        binary.name = QStringLiteral("bytes \"x\" ü");
        binary.payload = allBytes();
        TaskInfo empty = subtask(7, 2, 3, 1, 1);
        empty.payload.clear();
        TaskInfo big = subtask(7, 2, 4, 1, 2);
        big.payload = QByteArray(200000, '\0') + allBytes();
        TaskInfo bound; // a broadcast task keeps its worker and address from the start
        bound.instanceId = 7;
        bound.attempt = 2;
        bound.taskId = 5;
        bound.name = QStringLiteral("broadcast");
        bound.role = TaskRole::Broadcast;
        bound.status = InstanceStatus::WaitingDispatch;
        bound.worker = QStringLiteral("worker-b");
        bound.address = QStringLiteral("[::1]:7701");
        const QList<TaskInfo> all{root, binary, empty, big, bound};
        CHECK_OK(repo.insertBatch(all));

        // The dispatch window carries the payload byte for byte, NULs included.
        const QList<TaskInfo> window = repo.waiting(7, 2, 0, 100);
        QCOMPARE(window, (QList<TaskInfo>{binary, empty, big, bound}));
        QCOMPARE(window[0].payload.size(), 256 + 1 + 13);
        QCOMPARE(window[2].payload.size(), 200000 + 270);

        // Listings leave the payload out.
        QList<TaskInfo> expected;
        for (const TaskInfo &t : all)
            expected << withoutPayload(t);
        QCOMPARE(repo.list(7, 2, TaskFilter{}), expected);
        QCOMPARE(repo.open(7, 2, 0, 100), expected);
        // Attempt 0 means the newest attempt with tasks.
        QCOMPARE(repo.list(7, 0, TaskFilter{}), expected);
        QVERIFY(repo.list(7, 1, TaskFilter{}).isEmpty());
        QVERIFY(repo.list(8, 0, TaskFilter{}).isEmpty());
    }

    void insertRejectsDuplicatesAndInvalidIdsAtomically()
    {
        FRESH_URL(url);
        OPEN(db, url);
        TaskRepository repo(*db);
        CHECK_OK(repo.insertBatch({subtask(1, 1, 1, 0, 0)}));

        const Status dup = repo.insertBatch({subtask(1, 1, 2, 0, 1), subtask(1, 1, 1, 0, 0)});
        QVERIFY(!dup.ok());
        QVERIFY2(dup.error().contains("stored already"), qPrintable(dup.error()));
        // Nothing of the failed batch is stored.
        QCOMPARE(idsOf(repo.list(1, 1, TaskFilter{})), (QList<qint64>{1}));

        const Status zero = repo.insertBatch({subtask(1, 1, 3, 0, 2), subtask(1, 1, 0, 0, 3)});
        QVERIFY(!zero.ok());
        QVERIFY2(zero.error().contains("taskId: expected a positive task id"),
                 qPrintable(zero.error()));
        const Status noInstance = repo.insertBatch({subtask(0, 1, 3, 0, 2)});
        QVERIFY2(noInstance.error().contains("instanceId"), qPrintable(noInstance.error()));
        QCOMPARE(idsOf(repo.list(1, 1, TaskFilter{})), (QList<qint64>{1}));

        // The same task id in another attempt or instance is another task.
        CHECK_OK(repo.insertBatch({subtask(1, 2, 1, 0, 0), subtask(2, 1, 1, 0, 0)}));
    }

    void waitingPagesFollowTheCursorAndSkipOthers()
    {
        FRESH_URL(url);
        OPEN(db, url);
        TaskRepository repo(*db);
        QList<TaskInfo> tasks;
        for (qint64 id = 1; id <= 40; ++id)
            tasks << subtask(5, 1, id, 0, id);
        // Neighbours that must never show up: another attempt, other instances around it.
        tasks << subtask(5, 2, 3, 0, 3) << subtask(4, 1, 50, 0, 0) << subtask(6, 1, 2, 0, 0);
        CHECK_OK(repo.insertBatch(tasks));
        QList<TaskUpdate> done;
        QList<qint64> expected;
        for (qint64 id = 1; id <= 40; ++id) {
            if (id % 3 == 0 || (id >= 10 && id <= 20))
                done << finish(tasks[id - 1],
                               id % 2 ? InstanceStatus::Failed : InstanceStatus::Succeeded, "x");
            else
                expected << id;
        }
        CHECK_OK(repo.applyUpdates(done));

        QList<qint64> seen;
        qint64 cursor = 0;
        int pages = 0;
        for (;;) {
            const QList<TaskInfo> page = repo.waiting(5, 1, cursor, 4);
            QVERIFY(page.size() <= 4);
            if (page.isEmpty())
                break;
            ++pages;
            for (const TaskInfo &t : page) {
                QCOMPARE(toString(t.status), toString(InstanceStatus::WaitingDispatch));
                QCOMPARE(t.payload, QByteArray::number(t.taskId));
            }
            seen << idsOf(page);
            cursor = page.last().taskId;
        }
        QCOMPARE(seen, expected);
        QCOMPARE(pages, int(expected.size() + 3) / 4);
        // Tasks mapped after the cursor passed are found by the next read from the cursor.
        CHECK_OK(repo.insertBatch({subtask(5, 1, 41, 2, 0)}));
        QCOMPARE(idsOf(repo.waiting(5, 1, cursor, 4)), (QList<qint64>{41}));
        QCOMPARE(idsOf(repo.waiting(5, 2, 0, 10)), (QList<qint64>{3}));
    }

    void applyUpdatesNeverChangesATerminalTask()
    {
        FRESH_URL(url);
        OPEN(db, url);
        TaskRepository repo(*db);
        const TaskInfo a = subtask(3, 1, 1, 0, 0);
        const TaskInfo b = subtask(3, 1, 2, 0, 1);
        const TaskInfo c = subtask(3, 1, 3, 0, 2);
        CHECK_OK(repo.insertBatch({a, b, c}));

        const TaskUpdate aDone = finish(a, InstanceStatus::Succeeded, "first");
        TaskUpdate missing = finish(a, InstanceStatus::Succeeded, "nobody");
        missing.taskId = 99;
        TaskUpdate otherAttempt = finish(b, InstanceStatus::Succeeded, "other attempt");
        otherAttempt.attempt = 2;
        QList<bool> appliedFlags;
        CHECK_OK(repo.applyUpdates({aDone, missing, otherAttempt}, &appliedFlags));
        QCOMPARE(appliedFlags, (QList<bool>{true, false, false}));

        // A late report, a replayed batch: the stored outcome stays.
        TaskUpdate late = finish(a, InstanceStatus::Failed, "late");
        late.runs = 2;
        TaskUpdate bFailed = finish(b, InstanceStatus::Failed, "worker lost: w-2");
        TaskUpdate bAgain = finish(b, InstanceStatus::Succeeded, "second report");
        CHECK_OK(repo.applyUpdates({late, bFailed, bAgain, aDone}, &appliedFlags));
        QCOMPARE(appliedFlags, (QList<bool>{false, true, false, false}));

        // A non-terminal state is written as given and a terminal one may follow it.
        TaskUpdate cRunning = finish(c, InstanceStatus::Running, "");
        cRunning.finishedAtMs = 0;
        CHECK_OK(repo.applyUpdates({cRunning}, &appliedFlags));
        QCOMPARE(appliedFlags, (QList<bool>{true}));
        TaskUpdate cDone = finish(c, InstanceStatus::TimedOut, "timed out after 5 s");
        cDone.runs = 2;
        CHECK_OK(repo.applyUpdates({cDone}, &appliedFlags));
        QCOMPARE(appliedFlags, (QList<bool>{true}));

        QCOMPARE(repo.list(3, 1, TaskFilter{}),
                 (QList<TaskInfo>{applied(a, aDone, false), applied(b, bFailed, false),
                                  applied(c, cDone, false)}));
        QVERIFY(repo.open(3, 1, 0, 10).isEmpty());
        // Without an out-list the batch still applies.
        CHECK_OK(repo.applyUpdates({finish(a, InstanceStatus::Failed, "x")}));
        QCOMPARE(repo.list(3, 1, TaskFilter{})[0].result, QStringLiteral("first"));
    }

    // Batches larger than one statement, with a task repeated far apart in one batch.
    void largeBatchesSpanStatements()
    {
        FRESH_URL(url);
        OPEN(db, url);
        TaskRepository repo(*db);
        const int n = 12000;
        QList<TaskInfo> tasks;
        for (int id = 1; id <= n; ++id) {
            TaskInfo t = subtask(9, 1, id, 1, id - 1);
            if (id % 1000 == 0)
                t.payload = allBytes();
            tasks << t;
        }
        // Payloads above the bytes limit of one PostgreSQL statement.
        const int big = 3;
        for (int k = 0; k < big; ++k) {
            TaskInfo t = subtask(9, 1, n + 1 + k, 1, n + k);
            t.payload = QByteArray(3 << 20, char(k));
            tasks << t;
        }
        CHECK_OK(repo.insertBatch(tasks));
        qint64 maxId = 0;
        QCOMPARE(repo.counts(9, 1, &maxId).waiting, n + big);
        QCOMPARE(maxId, n + big);
        QCOMPARE(repo.waiting(9, 1, 2999, 1).first().payload, allBytes());
        const QList<TaskInfo> bigOnes = repo.waiting(9, 1, n, 10);
        QCOMPARE(bigOnes.size(), big);
        for (int k = 0; k < big; ++k)
            QCOMPARE(bigOnes[k].payload, QByteArray(3 << 20, char(k)));

        QList<TaskUpdate> updates;
        for (int id = 1; id <= n; ++id)
            updates << finish(tasks[id - 1], InstanceStatus::Succeeded, QString::number(id));
        updates.insert(7000, finish(tasks[10], InstanceStatus::Failed, "repeated"));
        QList<bool> appliedFlags;
        CHECK_OK(repo.applyUpdates(updates, &appliedFlags));
        QCOMPARE(appliedFlags.size(), n + 1);
        QCOMPARE(std::count(appliedFlags.begin(), appliedFlags.end(), true), n);
        QVERIFY(!appliedFlags[7000]);
        const TaskCounts c = repo.counts(9, 1);
        QCOMPARE(c.succeeded, n);
        QCOMPARE(c.waiting, big);
        QCOMPARE(repo.results(9, 1, TaskRole::Subtask, 10, 1).first().result, QStringLiteral("11"));
    }

    void resultsPageInIdOrderPerRoleAndAttempt()
    {
        FRESH_URL(url);
        OPEN(db, url);
        TaskRepository repo(*db);
        TaskInfo root = subtask(11, 1, 1, 0, 0);
        root.role = TaskRole::Root;
        root.name = QStringLiteral("root");
        QList<TaskInfo> tasks{root};
        for (qint64 id = 2; id <= 21; ++id)
            tasks << subtask(11, 1, id, 1, id - 2);
        TaskInfo reduce = subtask(11, 1, 22, 0, 0);
        reduce.role = TaskRole::Reduce;
        tasks << reduce;
        QList<TaskInfo> otherAttempt;
        for (qint64 id = 2; id <= 6; ++id)
            otherAttempt << subtask(11, 2, id, 1, id - 2);
        CHECK_OK(repo.insertBatch(tasks + otherAttempt));

        QList<TaskUpdate> updates{finish(root, InstanceStatus::Succeeded, "mapped")};
        QList<TaskResultEntry> expected;
        for (qint64 id = 2; id <= 21; ++id) {
            if (id == 8)
                continue; // still running: not a result yet
            const InstanceStatus s =
                id % 5 == 0 ? InstanceStatus::Failed : InstanceStatus::Succeeded;
            TaskUpdate u = finish(tasks[id - 1], s, QStringLiteral("r%1").arg(id));
            u.runs = 1 + int(id % 2);
            updates << u;
            expected << TaskResultEntry{
                id, QStringLiteral("items"), s, u.result, u.worker, u.address, u.runs};
        }
        for (const TaskInfo &t : otherAttempt)
            updates << finish(t, InstanceStatus::Succeeded, "attempt 2");
        CHECK_OK(repo.applyUpdates(updates));

        // Page by page, each finished subtask once, failed ones too, never root or reduce.
        QList<TaskResultEntry> seen;
        qint64 cursor = 0;
        for (;;) {
            const QList<TaskResultEntry> page = repo.results(11, 1, TaskRole::Subtask, cursor, 3);
            if (page.isEmpty())
                break;
            QVERIFY(page.size() <= 3);
            seen << page;
            cursor = page.last().taskId;
        }
        QCOMPARE(seen, expected);
        QCOMPARE(repo.results(11, 2, TaskRole::Subtask, 0, 100).size(), 5);
        QCOMPARE(repo.results(11, 1, TaskRole::Root, 0, 100).size(), 1);
        QVERIFY(repo.results(11, 1, TaskRole::Reduce, 0, 100).isEmpty());
        QVERIFY(repo.results(11, 1, TaskRole::Broadcast, 0, 100).isEmpty());
    }

    void countsByState()
    {
        FRESH_URL(url);
        OPEN(db, url);
        TaskRepository repo(*db);
        qint64 maxId = -1;
        QCOMPARE(repo.counts(12, 1, &maxId), TaskCounts{});
        QCOMPARE(maxId, 0);

        QList<TaskInfo> tasks;
        for (qint64 id = 1; id <= 10; ++id)
            tasks << subtask(12, 1, id, 0, id);
        tasks[0].status = InstanceStatus::Running;
        tasks[1].status = InstanceStatus::Dispatched;
        tasks << subtask(12, 2, 30, 0, 0);
        CHECK_OK(repo.insertBatch(tasks));
        CHECK_OK(repo.applyUpdates({finish(tasks[2], InstanceStatus::Succeeded, ""),
                                    finish(tasks[3], InstanceStatus::Succeeded, ""),
                                    finish(tasks[4], InstanceStatus::Failed, ""),
                                    finish(tasks[5], InstanceStatus::TimedOut, ""),
                                    finish(tasks[6], InstanceStatus::Canceled, "")}));
        const TaskCounts c = repo.counts(12, 1, &maxId);
        QCOMPARE(c, (TaskCounts{10, 3, 2, 2, 3}));
        QCOMPARE(maxId, 10);
        QCOMPARE(repo.counts(12, 2, &maxId), (TaskCounts{1, 1, 0, 0, 0}));
        QCOMPARE(maxId, 30);

        // Listing by state, paged.
        TaskFilter f;
        f.statuses = {InstanceStatus::Failed, InstanceStatus::Canceled, InstanceStatus::Failed};
        f.limit = 1;
        QCOMPARE(idsOf(repo.list(12, 1, f)), (QList<qint64>{5}));
        f.afterTaskId = 5;
        f.limit = 10;
        QCOMPARE(idsOf(repo.list(12, 1, f)), (QList<qint64>{7}));
    }

    void mappedPositionsOfOpenParentsOnly()
    {
        FRESH_URL(url);
        OPEN(db, url);
        TaskRepository repo(*db);
        TaskInfo root = subtask(13, 1, 1, 0, 0);
        root.role = TaskRole::Root;
        root.status = InstanceStatus::Running;
        QList<TaskInfo> tasks{root};
        // Root stored positions 0..4 in two map() calls (position 3 arrived in the second).
        for (qint64 seq : {0, 1, 2, 4, 3})
            tasks << subtask(13, 1, 2 + seq, 1, seq);
        // Task 2 (open) mapped two items; task 3 (finished) mapped three; task 4 mapped none.
        tasks << subtask(13, 1, 7, 2, 0) << subtask(13, 1, 8, 2, 1);
        tasks << subtask(13, 1, 9, 3, 0) << subtask(13, 1, 10, 3, 1) << subtask(13, 1, 11, 3, 2);
        // Another attempt's children of a task with the same id do not count here.
        tasks << subtask(13, 2, 1, 0, 0) << subtask(13, 2, 2, 1, 0) << subtask(13, 2, 3, 1, 7);
        CHECK_OK(repo.insertBatch(tasks));
        CHECK_OK(repo.applyUpdates({finish(tasks[2], InstanceStatus::Succeeded, "")}));

        const QHash<qint64, qint64> mapped = repo.mappedByOpenParents(13, 1);
        QCOMPARE(mapped, (QHash<qint64, qint64>{{1, 5}, {2, 2}}));
        QCOMPARE(repo.mappedByOpenParents(13, 2), (QHash<qint64, qint64>{{1, 8}}));
        QVERIFY(repo.mappedByOpenParents(14, 1).isEmpty());
    }

    void removeForInstancesTakesEveryAttempt()
    {
        FRESH_URL(url);
        OPEN(db, url);
        TaskRepository repo(*db);
        CHECK_OK(repo.insertBatch({subtask(21, 1, 1, 0, 0), subtask(21, 2, 1, 0, 0),
                                   subtask(22, 1, 1, 0, 0), subtask(23, 1, 1, 0, 0)}));
        CHECK_OK(repo.removeForInstances({21, 23, 999}));
        QVERIFY(repo.list(21, 1, {}).isEmpty());
        QVERIFY(repo.list(21, 2, {}).isEmpty());
        QVERIFY(repo.list(23, 1, {}).isEmpty());
        QCOMPARE(repo.list(22, 1, {}).size(), 1);
        CHECK_OK(repo.removeForInstances({}));
    }

    void retentionRemovesTheTasksOfDeletedInstances()
    {
        FRESH_URL(url);
        OPEN(db, url);
        Job job;
        job.name = QStringLiteral("mapper");
        job.mode = ExecutionMode::Map;
        const qint64 jobId = JobRepository(*db).insert(job).value().id;
        QList<Instance> runs;
        for (int k = 0; k < 3; ++k) {
            Instance i;
            i.jobId = jobId;
            i.createdAtMs = 1000;
            i.status = k == 2 ? InstanceStatus::Running : InstanceStatus::Succeeded;
            i.finishedAtMs = k == 1 ? 9000 : 2000; // k=1 finished after the cut-off
            runs << i;
        }
        InstanceRepository instances(*db);
        CHECK_OK(instances.insertBatch(runs));
        TaskRepository tasks(*db);
        QList<TaskInfo> rows;
        for (const Instance &i : runs) {
            for (qint64 id = 1; id <= 1500; ++id)
                rows << subtask(i.id, 1 + int(id % 2), id, 0, id);
        }
        CHECK_OK(tasks.insertBatch(rows));

        QCOMPARE(instances.deleteFinishedBefore(5000).value(), 1);
        QCOMPARE(tasks.counts(runs[0].id, 1).total, 0);
        QCOMPARE(tasks.counts(runs[0].id, 2).total, 0);
        QCOMPARE(tasks.counts(runs[1].id, 1).total + tasks.counts(runs[1].id, 2).total, 1500);
        QCOMPARE(tasks.counts(runs[2].id, 2).total, 750);
        QCOMPARE(countRows(*db, QStringLiteral("instance_tasks")), 3000);
    }

    // A database written by schema version 2 (before tasks existed) upgrades in place: its runs
    // and log lines stay, its log lines read as logged by no task, and tasks can be stored.
    void upgradeFromVersion2KeepsLogsAndAddsTasks()
    {
        FRESH_URL(url);
        qint64 instanceId = 0;
        {
            auto opened = Database::open(StoreConfig{url});
            QVERIFY2(opened.ok(), qPrintable(opened.error()));
            Database &v2 = *opened.value();
            CHECK_OK(v2.migrate(2));
            QCOMPARE(v2.schemaVersion().value(), 2);
            QVERIFY(!v2.connection().tables().contains(QStringLiteral("instance_tasks")));
            Job job;
            job.name = QStringLiteral("old");
            const qint64 jobId = JobRepository(v2).insert(job).value().id;
            QList<Instance> runs{Instance{}};
            runs[0].jobId = jobId;
            CHECK_OK(InstanceRepository(v2).insertBatch(runs));
            instanceId = runs[0].id;
            // The version-2 log row shape: no task_id column yet.
            QSqlQuery q(v2.connection());
            QVERIFY2(q.exec(QStringLiteral("INSERT INTO instance_logs (instance_id, seq, attempt, "
                                           "time_ms, stream, text) VALUES (%1, 1, 1, 77, "
                                           "'STDOUT', 'before the upgrade')")
                                .arg(instanceId)),
                     qPrintable(q.lastError().text()));
        }
        OPEN(db, url);
        QCOMPARE(db->schemaVersion().value(), Database::latestSchemaVersion());
        QCOMPARE(InstanceRepository(*db).get(instanceId)->jobName, QStringLiteral("old"));
        LogRepository logs(*db);
        QList<LogLine> more{{instanceId, 0, 1, 4, 78, LogStream::Stderr, "from task 4"}};
        CHECK_OK(logs.append(more));
        QCOMPARE(more[0].seq, 2);
        const QList<LogLine> read = logs.read(instanceId, 0, 10);
        QCOMPARE(read.size(), 2);
        QCOMPARE(read[0].text, QStringLiteral("before the upgrade"));
        QCOMPARE(read[0].taskId, 0);
        QCOMPARE(read[1].taskId, 4);
        QCOMPARE(toString(read[1].stream), toString(LogStream::Stderr));

        TaskRepository tasks(*db);
        TaskInfo t = subtask(instanceId, 1, 1, 0, 0);
        t.payload = allBytes();
        CHECK_OK(tasks.insertBatch({t}));
        QCOMPARE(tasks.waiting(instanceId, 1, 0, 10), (QList<TaskInfo>{t}));
    }

    // SQLite values are normally bound through the SQLite C API; the QtSql fallback must store
    // the same bytes (an empty payload included: the column is NOT NULL).
    void sqliteQtBindingFallbackStoresTheSameTasks()
    {
        QFETCH_GLOBAL(QString, backend);
        if (backend != QLatin1String("sqlite"))
            QSKIP("SQLite-only code path");
        sql::SqliteRow::setNativeAllowed(false);
        const auto restore = qScopeGuard([] { sql::SqliteRow::setNativeAllowed(true); });
        OPEN(db, QStringLiteral("sqlite:") + m_tmp.filePath(QStringLiteral("fallback.db")));
        TaskRepository repo(*db);
        TaskInfo a = subtask(1, 1, 1, 0, 0);
        a.payload = allBytes();
        TaskInfo b = subtask(1, 1, 2, 0, 1);
        b.payload = QByteArray();
        CHECK_OK(repo.insertBatch({a, b}));
        QCOMPARE(repo.waiting(1, 1, 0, 10), (QList<TaskInfo>{a, b}));
        QList<bool> flags;
        CHECK_OK(repo.applyUpdates(
            {finish(a, InstanceStatus::Succeeded, "ok"), finish(a, InstanceStatus::Failed, "no")},
            &flags));
        QCOMPARE(flags, (QList<bool>{true, false}));
        QVERIFY(!repo.insertBatch({a}).ok());
    }
};

QTEST_GUILESS_MAIN(TstTaskRepository)
#include "tst_task_repository.moc"
