// Broadcast and map-reduce as a user runs them: a real kairosd and real kairos-worker processes
// on loopback, one worker SIGKILLed mid-run. Executions are counted from the side — the shell
// scripts of a broadcast append lines to a file, the built-in range-sum reduce writes every
// result it read to a file — so a task that ran twice or a result read twice shows up there,
// whatever the server believes.
#include "server_process.h"

#include <core/task_info.h>

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

using namespace kairos;
using namespace kairos::test;

namespace {

// Every task of the instance's current attempt, paged through `instance.tasks`.
QList<QJsonObject> allTasks(AdminSession &admin, qint64 instanceId)
{
    QList<QJsonObject> out;
    qint64 after = 0;
    for (int page = 0; page < 10000; ++page) {
        const auto reply =
            admin.call(QStringLiteral("instance.tasks"), {{QStringLiteral("id"), instanceId},
                                                          {QStringLiteral("after"), after},
                                                          {QStringLiteral("limit"), 1000}});
        if (!reply.ok()) {
            qWarning("instance.tasks: %s", qPrintable(reply.error()));
            return out;
        }
        const QJsonArray tasks = reply->value(QStringLiteral("tasks")).toArray();
        for (const QJsonValue &t : tasks)
            out << t.toObject();
        after = reply->value(QStringLiteral("next")).toInteger();
        if (tasks.isEmpty() || after == 0)
            break;
    }
    return out;
}

QList<QJsonObject> tasksOfRole(const QList<QJsonObject> &tasks, const QString &role)
{
    QList<QJsonObject> out;
    for (const QJsonObject &t : tasks) {
        if (t.value(QStringLiteral("role")).toString() == role)
            out << t;
    }
    return out;
}

QString str(const QJsonObject &o, const char *key)
{
    return o.value(QLatin1StringView(key)).toString();
}

} // namespace

class TstExecutionModes : public QObject {
    Q_OBJECT

private slots:
    // Broadcast to 4 workers, one SIGKILLed right after the fan-out: the other 3 ran it exactly
    // once, the killed one's task is FAILED("worker lost") with its worker and address intact and
    // never ran anywhere else, a worker that joined later took no part, preProcess and
    // postProcess ran once each, and the instance FAILED because not every worker succeeded. A
    // second run then goes to exactly the workers alive at its dispatch and succeeds.
    void broadcastSurvivesAKilledWorker()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString side = dir.filePath(QStringLiteral("side.txt"));
        const QString results = dir.filePath(QStringLiteral("results.json"));
        ServerProcess server(dir.filePath(QStringLiteral("data")), remoteWorkerServerArgs());
        QString err = server.start();
        QVERIFY2(err.isEmpty(), qPrintable(err));

        std::vector<std::unique_ptr<WorkerProcess>> workers;
        for (const char *id : {"w1", "w2", "w3", "w4"}) {
            workers.push_back(std::make_unique<WorkerProcess>(
                QString::fromLatin1(id), server.port(), server.secretFile(),
                QStringList{QStringLiteral("--threads"), QStringLiteral("2")}));
            err = workers.back()->start();
            QVERIFY2(err.isEmpty(), qPrintable(err));
        }
        AdminSession admin(server);
        err = admin.open();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        QHash<QString, QString> addressOf;
        for (const auto &w : workers) {
            const QJsonObject entry = workerEntry(admin, w->id());
            QCOMPARE(str(entry, "state"), QStringLiteral("ALIVE"));
            addressOf.insert(w->id(), str(entry, "address"));
            QVERIFY(!addressOf.value(w->id()).isEmpty());
        }

        // Each worker's task records its start, sleeps long enough for the kill to land
        // mid-run, and records its end.
        const QString script =
            QStringLiteral("echo \"run $KAIROS_INSTANCE_ID $KAIROS_TASK_ID $KAIROS_TASK_ATTEMPT "
                           "$KAIROS_TEST_WORKER\" >> '%1'\n"
                           "sleep 2\n"
                           "echo \"end $KAIROS_INSTANCE_ID $KAIROS_TASK_ID $KAIROS_TEST_WORKER\" "
                           ">> '%1'\n")
                .arg(side);
        const QString pre =
            QStringLiteral("echo \"pre $KAIROS_INSTANCE_ID $KAIROS_TEST_WORKER\" >> '%1'\n")
                .arg(side);
        const QString post =
            QStringLiteral("echo \"post $KAIROS_INSTANCE_ID $KAIROS_TEST_WORKER\" >> '%1'\n"
                           "printf '%s' \"$KAIROS_RESULTS\" > '%2.'$KAIROS_INSTANCE_ID\n")
                .arg(side, results);
        const auto job = admin.createJob(
            QJsonObject{{QStringLiteral("name"), QStringLiteral("broadcast")},
                        {QStringLiteral("app"), QStringLiteral("default")},
                        {QStringLiteral("mode"), QStringLiteral("BROADCAST")},
                        {QStringLiteral("processor"),
                         QJsonObject{{QStringLiteral("type"), QStringLiteral("SHELL")},
                                     {QStringLiteral("script"), script},
                                     {QStringLiteral("preScript"), pre},
                                     {QStringLiteral("postScript"), post}}}});
        QVERIFY2(job.ok(), qPrintable(job.error()));
        const qint64 jobId = job->value(QStringLiteral("id")).toInteger();
        const QList<qint64> ids = admin.run(jobId, 1);
        QCOMPARE(ids.size(), 1);
        const qint64 id = ids.first();

        // Right after the fan-out (all 4 broadcast tasks handed to their workers), kill w3.
        QVERIFY2(waitUntil(
                     [&] {
                         const auto bc = tasksOfRole(allTasks(admin, id), "BROADCAST");
                         return bc.size() == 4
                                && std::all_of(bc.begin(), bc.end(), [](const QJsonObject &t) {
                                       return str(t, "status") != "WAITING_DISPATCH";
                                   });
                     },
                     30000),
                 qPrintable(admin.status(id)));
        workers[2]->kill9();
        // A worker that registers now is not part of this run.
        WorkerProcess late(QStringLiteral("w5"), server.port(), server.secretFile());
        err = late.start();
        QVERIFY2(err.isEmpty(), qPrintable(err));

        QVERIFY2(admin.waitForTerminal(id, 60000), qPrintable(admin.status(id)));
        const QJsonObject inst = admin.instance(id)->value(QStringLiteral("instance")).toObject();
        QCOMPARE(str(inst, "status"), QStringLiteral("FAILED"));

        const QList<QJsonObject> tasks = allTasks(admin, id);
        const QList<QJsonObject> bc = tasksOfRole(tasks, "BROADCAST");
        QCOMPARE(bc.size(), 4);
        QCOMPARE(tasksOfRole(tasks, "PRE_PROCESS").size(), 1);
        QCOMPARE(tasksOfRole(tasks, "POST_PROCESS").size(), 1);
        QCOMPARE(str(tasksOfRole(tasks, "POST_PROCESS").first(), "status"),
                 QStringLiteral("SUCCEEDED"));
        QSet<QString> boundWorkers;
        qint64 taskOfW3 = 0;
        for (const QJsonObject &t : bc) {
            const QString w = str(t, "worker");
            boundWorkers.insert(w);
            QCOMPARE(str(t, "address"), addressOf.value(w));
            QCOMPARE(t.value(QStringLiteral("runs")).toInt(), 1);
            if (w == QLatin1String("w3")) {
                taskOfW3 = t.value(QStringLiteral("task")).toInteger();
                QCOMPARE(str(t, "status"), QStringLiteral("FAILED"));
                QVERIFY2(str(t, "result").contains(QStringLiteral("worker lost")),
                         qPrintable(str(t, "result")));
            } else {
                QCOMPARE(str(t, "status"), QStringLiteral("SUCCEEDED"));
            }
        }
        QCOMPARE(boundWorkers, (QSet<QString>{"w1", "w2", "w3", "w4"}));
        QVERIFY(taskOfW3 > 0);

        // From the side: every surviving worker ran its task exactly once, nobody ran w3's task
        // (w3 itself at most once before it died), w5 ran nothing, pre and post once each.
        QHash<QString, int> runsByWorker;
        QHash<qint64, QSet<QString>> workersByTask;
        int preRuns = 0;
        int postRuns = 0;
        for (const QString &line : readLines(side)) {
            const QStringList f = line.split(u' ');
            if (f.value(1).toLongLong() != id)
                continue;
            if (f.value(0) == QLatin1String("run")) {
                ++runsByWorker[f.value(4)];
                workersByTask[f.value(2).toLongLong()].insert(f.value(4));
                QCOMPARE(f.value(3), QStringLiteral("1")); // first and only run of the task
            } else if (f.value(0) == QLatin1String("pre")) {
                ++preRuns;
            } else if (f.value(0) == QLatin1String("post")) {
                ++postRuns;
            }
        }
        for (const char *w : {"w1", "w2", "w4"})
            QCOMPARE(runsByWorker.value(QString::fromLatin1(w)), 1);
        QVERIFY(runsByWorker.value(QStringLiteral("w3")) <= 1);
        QCOMPARE(runsByWorker.value(QStringLiteral("w5")), 0);
        QVERIFY(workersByTask.value(taskOfW3).isEmpty()
                || workersByTask.value(taskOfW3) == QSet<QString>{QStringLiteral("w3")});
        for (auto it = workersByTask.begin(); it != workersByTask.end(); ++it)
            QCOMPARE(it.value().size(), 1);
        QCOMPARE(preRuns, 1);
        QCOMPARE(postRuns, 1);

        // postProcess saw every worker's result, the lost one as FAILED.
        QFile resultFile(results + QLatin1Char('.') + QString::number(id));
        QVERIFY2(resultFile.open(QIODevice::ReadOnly), qPrintable(resultFile.fileName()));
        const QJsonArray seen = QJsonDocument::fromJson(resultFile.readAll()).array();
        QCOMPARE(seen.size(), 4);
        for (const QJsonValue &v : seen) {
            const QJsonObject r = v.toObject();
            QCOMPARE(str(r, "status"), str(r, "worker") == QLatin1String("w3")
                                           ? QStringLiteral("FAILED")
                                           : QStringLiteral("SUCCEEDED"));
            QCOMPARE(str(r, "address"), addressOf.value(str(r, "worker")));
        }

        // The next run goes to the workers alive at its dispatch (w3 dead, w5 new) and succeeds.
        QVERIFY(waitUntil([&] { return str(workerEntry(admin, "w3"), "state") == "DEAD"; }, 10000));
        const qint64 second = admin.run(jobId, 1).value(0);
        QVERIFY(second > 0);
        QVERIFY2(admin.waitForTerminal(second, 60000), qPrintable(admin.status(second)));
        QCOMPARE(
            str(admin.instance(second)->value(QStringLiteral("instance")).toObject(), "status"),
            QStringLiteral("SUCCEEDED"));
        QSet<QString> secondWorkers;
        for (const QJsonObject &t : tasksOfRole(allTasks(admin, second), "BROADCAST"))
            secondWorkers.insert(str(t, "worker"));
        QCOMPARE(secondWorkers, (QSet<QString>{"w1", "w2", "w4", "w5"}));
    }

    // Map-reduce of 100,000 subtasks over 3 workers with one SIGKILLed midway: the run
    // succeeds, and the reduce read every subtask (id and item) exactly once — counted from the
    // file the reduce wrote, not from what the server reports.
    void mapReduceSurvivesAKilledWorker()
    {
        constexpr int kCount = 100000;
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString reduceFile = dir.filePath(QStringLiteral("reduce.txt"));
        ServerProcess server(dir.filePath(QStringLiteral("data")), remoteWorkerServerArgs());
        QString err = server.start();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        std::vector<std::unique_ptr<WorkerProcess>> workers;
        for (const char *id : {"m1", "m2", "m3"}) {
            workers.push_back(std::make_unique<WorkerProcess>(
                QString::fromLatin1(id), server.port(), server.secretFile(),
                QStringList{QStringLiteral("--threads"), QStringLiteral("8")}));
            err = workers.back()->start();
            QVERIFY2(err.isEmpty(), qPrintable(err));
        }
        AdminSession admin(server);
        err = admin.open();
        QVERIFY2(err.isEmpty(), qPrintable(err));

        // Progress arrives as coalesced events; the kill happens once a third is done.
        qint64 succeeded = 0;
        int events = 0;
        QObject::connect(&admin.client(), &client::Client::taskProgress,
                         [&](const QList<TaskProgress> &list) {
                             for (const TaskProgress &p : list) {
                                 ++events;
                                 succeeded = std::max(succeeded, p.counts.succeeded);
                             }
                         });
        admin.client().subscribe({QStringLiteral("tasks")});

        const auto job = admin.createJob(
            QJsonObject{{QStringLiteral("name"), QStringLiteral("range-sum")},
                        {QStringLiteral("app"), QStringLiteral("default")},
                        {QStringLiteral("mode"), QStringLiteral("MAP_REDUCE")},
                        {QStringLiteral("processor"),
                         QJsonObject{{QStringLiteral("type"), QStringLiteral("CONTAINER")},
                                     {QStringLiteral("ref"), QStringLiteral("builtin#range-sum")},
                                     {QStringLiteral("count"), kCount},
                                     {QStringLiteral("batch"), 1000},
                                     {QStringLiteral("taskMs"), 1},
                                     {QStringLiteral("reduceFile"), reduceFile}}}});
        QVERIFY2(job.ok(), qPrintable(job.error()));
        const qint64 id = admin.run(job->value(QStringLiteral("id")).toInteger(), 1).value(0);
        QVERIFY(id > 0);

        QVERIFY2(
            waitUntil([&] { return succeeded >= kCount / 3; }, 120000),
            qPrintable(QStringLiteral("%1 succeeded, %2").arg(succeeded).arg(admin.status(id))));
        QVERIFY2(succeeded < kCount, "the run finished before the kill: raise taskMs");
        workers[1]->kill9();
        qInfo("killed m2 with %lld of %d subtasks done", succeeded, kCount);

        QVERIFY2(admin.waitForTerminal(id, 180000), qPrintable(admin.status(id)));
        const QJsonObject inst = admin.instance(id)->value(QStringLiteral("instance")).toObject();
        QCOMPARE(str(inst, "status"), QStringLiteral("SUCCEEDED"));
        const QJsonObject summary = QJsonDocument::fromJson(str(inst, "result").toUtf8()).object();
        QCOMPARE(summary.value(QStringLiteral("count")).toInteger(), kCount);
        QCOMPARE(summary.value(QStringLiteral("duplicates")).toInteger(), 0);
        QCOMPARE(summary.value(QStringLiteral("missing")).toInteger(), 0);

        // The reduce's own record: every subtask id and every item exactly once.
        QSet<qint64> taskIds;
        QList<bool> itemSeen(kCount, false);
        int lines = 0;
        for (const QString &line : readLines(reduceFile)) {
            const QStringList f = line.split(u' ');
            QCOMPARE(f.size(), 2);
            const qint64 task = f[0].toLongLong();
            const int item = f[1].toInt();
            QVERIFY2(!taskIds.contains(task),
                     qPrintable(QStringLiteral("task %1 twice").arg(task)));
            taskIds.insert(task);
            QVERIFY(item >= 0 && item < kCount);
            QVERIFY2(!itemSeen[item], qPrintable(QStringLiteral("item %1 twice").arg(item)));
            itemSeen[item] = true;
            ++lines;
        }
        QCOMPARE(lines, kCount);

        // The server's view agrees: every subtask SUCCEEDED; the ones that were on m2 when it
        // died ran again elsewhere.
        const QList<QJsonObject> subtasks = tasksOfRole(allTasks(admin, id), "SUBTASK");
        QCOMPARE(subtasks.size(), kCount);
        int reruns = 0;
        for (const QJsonObject &t : subtasks) {
            QCOMPARE(str(t, "status"), QStringLiteral("SUCCEEDED"));
            QVERIFY(taskIds.contains(t.value(QStringLiteral("task")).toInteger()));
            if (t.value(QStringLiteral("runs")).toInt() > 1) {
                ++reruns;
                QVERIFY(str(t, "worker") != QLatin1String("m2"));
            }
        }
        qInfo("%d subtasks ran again after the kill; %d progress events", reruns, events);
        QVERIFY(reruns > 0);
        // Coalesced: far fewer events than transitions.
        QVERIFY2(events < 2000, qPrintable(QString::number(events)));
    }
};

QTEST_GUILESS_MAIN(TstExecutionModes)
#include "tst_execution_modes.moc"
