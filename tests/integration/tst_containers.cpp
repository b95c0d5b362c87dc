// Containers as an operator uses them: a real kairosd, real kairos-worker processes, the real
// kairosctl for uploads and deploys, the test containers of tests/fixtures/containers. The
// regression PowerJob shipped (an update that keeps running the old code) is checked from the
// side: the `greet` processor appends "<label> <instance id> <pid>" to a file, and every task's
// result says which version ran it.
#include "server_process.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace kairos;
using namespace kairos::test;

namespace {

QString fixture(const QString &file)
{
    return QStringLiteral(KAIROS_BIN_DIR "/containers/") + file;
}

QString sha256Of(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(&f);
    return QString::fromLatin1(h.result().toHex());
}

struct CtlResult {
    int exitCode = -1;
    QString out;
    QString err;
};

QString str(const QJsonObject &o, const char *key)
{
    return o.value(QLatin1StringView(key)).toString();
}

// Every task of the instance's current attempt (broadcast runs here are small: one page).
QList<QJsonObject> tasksOf(AdminSession &admin, qint64 instanceId)
{
    QList<QJsonObject> out;
    const auto reply =
        admin.call(QStringLiteral("instance.tasks"),
                   {{QStringLiteral("id"), instanceId}, {QStringLiteral("limit"), 1000}});
    if (!reply.ok()) {
        qWarning("instance.tasks: %s", qPrintable(reply.error()));
        return out;
    }
    for (const QJsonValue &t : reply->value(QStringLiteral("tasks")).toArray())
        out << t.toObject();
    return out;
}

QList<QJsonObject> broadcastTasks(AdminSession &admin, qint64 instanceId)
{
    QList<QJsonObject> out;
    for (const QJsonObject &t : tasksOf(admin, instanceId)) {
        if (str(t, "role") == QLatin1String("BROADCAST"))
            out << t;
    }
    return out;
}

// worker id -> the result of its broadcast task.
QMap<QString, QString> resultsByWorker(AdminSession &admin, qint64 instanceId)
{
    QMap<QString, QString> out;
    for (const QJsonObject &t : broadcastTasks(admin, instanceId))
        out.insert(str(t, "worker"), str(t, "result"));
    return out;
}

// The side file's lines of one instance, by label ("v1", "v2").
QMap<QString, int> sideLabels(const QString &file, qint64 instanceId)
{
    QMap<QString, int> out;
    for (const QString &line : readLines(file)) {
        const QStringList parts = line.split(QLatin1Char(' '));
        if (parts.size() == 3 && parts[1].toLongLong() == instanceId)
            out[parts[0]] += 1;
    }
    return out;
}

// The rows of container.status for one container, by worker.
QHash<QString, QJsonObject> statusRows(AdminSession &admin, const QString &container)
{
    QHash<QString, QJsonObject> out;
    const auto reply =
        admin.call(QStringLiteral("container.status"), {{QStringLiteral("name"), container}});
    if (!reply.ok())
        return out;
    for (const QJsonValue &v : reply->value(QStringLiteral("workers")).toArray()) {
        const QJsonObject row = v.toObject();
        if (str(row, "container") == container)
            out.insert(str(row, "worker"), row);
    }
    return out;
}

// Whether a live process maps `file` or runs with it on its command line: an in-process
// container still loaded in the worker, or a host process of that version still alive.
bool fileInUseBy(qint64 pid, const QString &needle)
{
    QFile maps(QStringLiteral("/proc/%1/maps").arg(pid));
    if (maps.open(QIODevice::ReadOnly) && maps.readAll().contains(needle.toUtf8()))
        return true;
    return false;
}

bool anyHostRunning(const QString &needle)
{
    const QStringList pids = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &pid : pids) {
        bool isPid = false;
        pid.toLongLong(&isPid);
        if (!isPid)
            continue;
        QFile cmd(QStringLiteral("/proc/%1/cmdline").arg(pid));
        if (!cmd.open(QIODevice::ReadOnly))
            continue;
        const QByteArray line = cmd.readAll();
        if (line.contains("kairos-container-host") && line.contains(needle.toUtf8())) {
            QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
            if (stat.open(QIODevice::ReadOnly) && !stat.readAll().contains(") Z "))
                return true;
        }
    }
    return false;
}

} // namespace

class TstContainers : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<ServerProcess> m_server;
    std::unique_ptr<AdminSession> m_admin;
    std::vector<std::unique_ptr<WorkerProcess>> m_workers;
    int m_clusters = 0;

    CtlResult ctl(const QStringList &args, int timeoutMs = 120000)
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("KAIROS_SERVER"),
                   QStringLiteral("127.0.0.1:%1").arg(m_server->port()));
        env.insert(QStringLiteral("KAIROS_PASSWORD_FILE"),
                   m_server->dataDir() + QStringLiteral("/admin.password"));
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(KAIROS_BIN_DIR "/kairosctl"), args);
        if (!p.waitForStarted(10000))
            return {};
        // The event loop keeps running: kairosd and the workers are our children and write to
        // pipes we read.
        waitUntil([&] { return p.state() == QProcess::NotRunning; }, timeoutMs);
        if (p.state() != QProcess::NotRunning) {
            p.kill();
            p.waitForFinished(5000);
            return {-1, QString::fromUtf8(p.readAllStandardOutput()),
                    QStringLiteral("kairosctl timed out")};
        }
        return CtlResult{p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
                         QString::fromUtf8(p.readAllStandardOutput()),
                         QString::fromUtf8(p.readAllStandardError())};
    }

    WorkerProcess &startWorker(const QString &id)
    {
        const QString work = m_dir.filePath(QStringLiteral("work-%1-").arg(m_clusters) + id);
        m_workers.push_back(std::make_unique<WorkerProcess>(
            id, m_server->port(), m_server->secretFile(),
            QStringList{QStringLiteral("--work-dir"), work, QStringLiteral("--threads"),
                        QStringLiteral("8")}));
        const QString error = m_workers.back()->start();
        if (!error.isEmpty())
            qWarning("%s", qPrintable(error));
        return *m_workers.back();
    }

    void startCluster(int workers)
    {
        // A fresh server (data folder and store) for every test function.
        m_server = std::make_unique<ServerProcess>(
            m_dir.filePath(QStringLiteral("server-%1").arg(++m_clusters)),
            remoteWorkerServerArgs());
        const QString error = m_server->start();
        QVERIFY2(error.isEmpty(), qPrintable(error));
        m_admin = std::make_unique<AdminSession>(*m_server);
        const QString opened = m_admin->open();
        QVERIFY2(opened.isEmpty(), qPrintable(opened));
        for (int i = 1; i <= workers; ++i) {
            WorkerProcess &w = startWorker(QStringLiteral("w%1").arg(i));
            QVERIFY2(w.isRunning(), qPrintable(w.readOutput()));
        }
    }

    void upload(const QString &file)
    {
        const CtlResult r = ctl({QStringLiteral("container"), QStringLiteral("upload"), file});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
    }

    void deployAndFollow(const QStringList &extra)
    {
        const CtlResult r = ctl(QStringList{QStringLiteral("container"), QStringLiteral("deploy")}
                                + extra + QStringList{QStringLiteral("--follow")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        QVERIFY2(r.out.contains(QLatin1String("READY")), qPrintable(r.out));
    }

    qint64 createJob(const QString &name, const QString &mode, const QJsonObject &processor,
                     int timeoutMs = 0)
    {
        QJsonObject job{{QStringLiteral("name"), name},
                        {QStringLiteral("app"), QStringLiteral("default")},
                        {QStringLiteral("mode"), mode},
                        {QStringLiteral("processor"), processor}};
        if (timeoutMs > 0)
            job.insert(QStringLiteral("limits"),
                       QJsonObject{{QStringLiteral("timeoutMs"), timeoutMs}});
        const auto created = m_admin->createJob(job);
        if (!created.ok()) {
            qWarning("job.create %s: %s", qPrintable(name), qPrintable(created.error()));
            return 0;
        }
        return created->value(QStringLiteral("id")).toInteger();
    }

    qint64 runAndWait(qint64 jobId, int timeoutMs = 60000)
    {
        const qint64 id = m_admin->run(jobId, 1).value(0);
        if (id > 0 && !m_admin->waitForTerminal(id, timeoutMs))
            qWarning("instance %lld did not end: %s", id, qPrintable(m_admin->status(id)));
        return id;
    }

    void stopCluster()
    {
        for (auto &w : m_workers)
            w->terminate(20000);
        m_workers.clear();
        m_admin.reset();
        if (m_server)
            m_server->terminate();
        m_server.reset();
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        for (const char *f :
             {"hello-v1.so", "hello-v2.so", "crashy.so", "notalib.so", "notmeta.so", "wrongsdk.so"})
            QVERIFY2(QFile::exists(fixture(QString::fromLatin1(f))), f);
    }

    void cleanup() { stopCluster(); }

    // The done-means of issue 5: v1 deployed and running on 3 workers; v2 deployed while a slow
    // v1 run is in flight on each; the next run on every worker is v2, the in-flight ones end as
    // v1, the old version is unloaded once drained, and a worker that connects later gets v2.
    void hotUpdateReachesEveryWorker_data()
    {
        QTest::addColumn<QString>("isolation");
        QTest::newRow("process") << QStringLiteral("process");
        QTest::newRow("inprocess") << QStringLiteral("inprocess");
    }
    void hotUpdateReachesEveryWorker()
    {
        QFETCH(QString, isolation);
        startCluster(3);
        const QString v1 = sha256Of(fixture(QStringLiteral("hello-v1.so")));
        const QString v2 = sha256Of(fixture(QStringLiteral("hello-v2.so")));
        upload(fixture(QStringLiteral("hello-v1.so")));
        upload(fixture(QStringLiteral("hello-v2.so")));
        deployAndFollow({QStringLiteral("hello"), QStringLiteral("--version"),
                         QStringLiteral("1.0"), QStringLiteral("--isolation"), isolation});

        const QString side = m_dir.filePath(QStringLiteral("side-") + isolation);
        const QString slowSide = m_dir.filePath(QStringLiteral("slow-side-") + isolation);
        const qint64 greet =
            createJob(QStringLiteral("greet-") + isolation, QStringLiteral("BROADCAST"),
                      {{QStringLiteral("type"), QStringLiteral("CONTAINER")},
                       {QStringLiteral("ref"), QStringLiteral("hello#greet")},
                       {QStringLiteral("sideFile"), side}});
        const qint64 slow =
            createJob(QStringLiteral("slow-greet-") + isolation, QStringLiteral("BROADCAST"),
                      {{QStringLiteral("type"), QStringLiteral("CONTAINER")},
                       {QStringLiteral("ref"), QStringLiteral("hello#greet")},
                       {QStringLiteral("sideFile"), slowSide},
                       {QStringLiteral("sleepMs"), 4000}});
        QVERIFY(greet > 0 && slow > 0);

        const qint64 first = runAndWait(greet);
        QCOMPARE(m_admin->status(first), QStringLiteral("SUCCEEDED"));
        const QMap<QString, QString> firstResults = resultsByWorker(*m_admin, first);
        QCOMPARE(firstResults.keys(), (QStringList{"w1", "w2", "w3"}));
        for (const QString &r : firstResults)
            QCOMPARE(r, QStringLiteral("v1"));
        QCOMPARE(sideLabels(side, first), (QMap<QString, int>{{"v1", 3}}));

        // A slow v1 run on every worker, in flight while v2 is deployed.
        const qint64 inFlight = m_admin->run(slow, 1).value(0);
        QVERIFY(inFlight > 0);
        QVERIFY2(waitUntil(
                     [&] {
                         const auto bc = broadcastTasks(*m_admin, inFlight);
                         return bc.size() == 3
                                && std::all_of(bc.begin(), bc.end(), [](const QJsonObject &t) {
                                       return str(t, "status") == "RUNNING";
                                   });
                     },
                     20000),
                 qPrintable(m_admin->status(inFlight)));

        deployAndFollow({QStringLiteral("hello"), QStringLiteral("--version"),
                         QStringLiteral("2.0"), QStringLiteral("--isolation"), isolation});
        QVERIFY2(!isTerminalStatus(m_admin->status(inFlight)),
                 "the slow v1 run ended before v2 was ready: raise sleepMs");

        const qint64 next = runAndWait(greet);
        QCOMPARE(m_admin->status(next), QStringLiteral("SUCCEEDED"));
        const QMap<QString, QString> nextResults = resultsByWorker(*m_admin, next);
        QCOMPARE(nextResults.keys(), (QStringList{"w1", "w2", "w3"}));
        for (const QString &r : nextResults)
            QCOMPARE(r, QStringLiteral("v2"));
        QCOMPARE(sideLabels(side, next), (QMap<QString, int>{{"v2", 3}}));

        // The runs that were in flight finish on the version they started with.
        QVERIFY(m_admin->waitForTerminal(inFlight, 30000));
        QCOMPARE(m_admin->status(inFlight), QStringLiteral("SUCCEEDED"));
        for (const QString &r : resultsByWorker(*m_admin, inFlight))
            QCOMPARE(r, QStringLiteral("v1"));
        QCOMPARE(sideLabels(slowSide, inFlight), (QMap<QString, int>{{"v1", 3}}));

        // Drained: v1 is unloaded everywhere (no host of it alive, not mapped in any worker).
        QVERIFY2(waitUntil(
                     [&] {
                         if (anyHostRunning(v1))
                             return false;
                         for (auto &w : m_workers) {
                             if (fileInUseBy(w->pid(), v1))
                                 return false;
                         }
                         return true;
                     },
                     15000),
                 "version 1.0 is still loaded after its last run ended");
        // Each worker reports v2 as its active, current version.
        const auto rows = statusRows(*m_admin, QStringLiteral("hello"));
        for (const QString &w :
             {QStringLiteral("w1"), QStringLiteral("w2"), QStringLiteral("w3")}) {
            QVERIFY2(rows.contains(w), qPrintable(w));
            QCOMPARE(str(rows[w], "activeSha256"), v2);
            QVERIFY(rows[w].value(QStringLiteral("current")).toBool());
        }

        // A worker that connects now gets the deployed version without being named.
        WorkerProcess &late = startWorker(QStringLiteral("w4"));
        QVERIFY(late.isRunning());
        QVERIFY2(waitUntil(
                     [&] {
                         const auto r = statusRows(*m_admin, QStringLiteral("hello"));
                         return r.contains(QStringLiteral("w4"))
                                && str(r[QStringLiteral("w4")], "stage") == "READY"
                                && str(r[QStringLiteral("w4")], "activeSha256") == v2;
                     },
                     20000),
                 "w4 did not report version 2.0 READY");
        const qint64 withLate = runAndWait(greet);
        QCOMPARE(m_admin->status(withLate), QStringLiteral("SUCCEEDED"));
        const QMap<QString, QString> lateResults = resultsByWorker(*m_admin, withLate);
        QCOMPARE(lateResults.keys(), (QStringList{"w1", "w2", "w3", "w4"}));
        for (const QString &r : lateResults)
            QCOMPARE(r, QStringLiteral("v2"));
    }

    // Code that crashes, aborts or hangs fails its run with a reason that names it; the worker
    // process keeps serving (process isolation, the default).
    void crashingContainerCodeFailsOnlyTheRun()
    {
        startCluster(1);
        const qint64 workerPid = m_workers.front()->pid();
        upload(fixture(QStringLiteral("crashy.so")));
        deployAndFollow({QStringLiteral("crashy")});

        auto job = [&](const QString &processor, int timeoutMs = 0) {
            return createJob(QStringLiteral("crashy-") + processor, QStringLiteral("STANDALONE"),
                             {{QStringLiteral("type"), QStringLiteral("CONTAINER")},
                              {QStringLiteral("ref"), QStringLiteral("crashy#") + processor}},
                             timeoutMs);
        };
        const qint64 segv = job(QStringLiteral("segv"));
        const qint64 abrt = job(QStringLiteral("abort"));
        const qint64 hang = job(QStringLiteral("hang"), 800);
        const qint64 ok = job(QStringLiteral("ok"));
        QVERIFY(segv > 0 && abrt > 0 && hang > 0 && ok > 0);

        const auto resultOf = [&](qint64 id) {
            return m_admin->instance(id)->value(QStringLiteral("instance")).toObject();
        };
        const qint64 s = runAndWait(segv);
        QCOMPARE(m_admin->status(s), QStringLiteral("FAILED"));
        QVERIFY2(str(resultOf(s), "result").contains(QLatin1String("SIGSEGV")),
                 qPrintable(str(resultOf(s), "result")));
        QCOMPARE(m_workers.front()->pid(), workerPid);
        QVERIFY(m_workers.front()->isRunning());

        const qint64 after = runAndWait(ok);
        QCOMPARE(m_admin->status(after), QStringLiteral("SUCCEEDED"));
        QCOMPARE(str(resultOf(after), "result"), QStringLiteral("ok"));

        const qint64 a = runAndWait(abrt);
        QCOMPARE(m_admin->status(a), QStringLiteral("FAILED"));
        QVERIFY2(str(resultOf(a), "result").contains(QLatin1String("SIGABRT")),
                 qPrintable(str(resultOf(a), "result")));

        const qint64 h = runAndWait(hang);
        QCOMPARE(m_admin->status(h), QStringLiteral("TIMED_OUT"));
        QVERIFY2(str(resultOf(h), "result").contains(QLatin1String("timed out")),
                 qPrintable(str(resultOf(h), "result")));

        const qint64 last = runAndWait(ok);
        QCOMPARE(m_admin->status(last), QStringLiteral("SUCCEEDED"));
        QVERIFY(m_workers.front()->isRunning());
        QCOMPARE(m_workers.front()->pid(), workerPid);
    }

    // Bad input through the real CLI: each gets its specific error and nothing is installed.
    void badInputIsRefusedWithAReason()
    {
        startCluster(1);
        const struct {
            const char *file;
            const char *error;
        } bad[] = {{"notalib.so", "not a shared library"},
                   {"notmeta.so", "not a Kairos container"},
                   {"wrongsdk.so", "SDK version"}};
        for (const auto &b : bad) {
            const CtlResult r = ctl({QStringLiteral("container"), QStringLiteral("upload"),
                                     fixture(QString::fromLatin1(b.file))});
            QVERIFY2(r.exitCode != 0, b.file);
            QVERIFY2(r.err.contains(QLatin1String(b.error)), qPrintable(r.err));
        }
        const auto list = m_admin->call(QStringLiteral("container.list"));
        QVERIFY2(list.ok(), qPrintable(list.error()));
        QCOMPARE(list->value(QStringLiteral("containers")).toArray().size(), 0);

        upload(fixture(QStringLiteral("hello-v1.so")));
        // A deploy naming a worker that is not connected changes nothing.
        const CtlResult offline =
            ctl({QStringLiteral("container"), QStringLiteral("deploy"), QStringLiteral("hello"),
                 QStringLiteral("--workers"), QStringLiteral("w1,ghost")});
        QVERIFY(offline.exitCode != 0);
        QVERIFY2(offline.err.contains(QLatin1String("ghost")), qPrintable(offline.err));
        QVERIFY(statusRows(*m_admin, QStringLiteral("hello")).isEmpty());

        // A job naming a processor the container does not have is refused when saved.
        const auto created = m_admin->createJob(
            {{QStringLiteral("name"), QStringLiteral("nope")},
             {QStringLiteral("app"), QStringLiteral("default")},
             {QStringLiteral("processor"),
              QJsonObject{{QStringLiteral("type"), QStringLiteral("CONTAINER")},
                          {QStringLiteral("ref"), QStringLiteral("hello#nope")}}}});
        QVERIFY(!created.ok());
        QVERIFY2(created.error().contains(QLatin1String("nope")), qPrintable(created.error()));
    }
};

QTEST_GUILESS_MAIN(TstContainers)
#include "tst_containers.moc"
