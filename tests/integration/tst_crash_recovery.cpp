// kill -9 of kairosd while 100 instances run: after a restart every instance ends (or is
// retried per its policy), none is missing, none ran twice in one attempt, and no script of the
// killed server outlived it. Executions are counted from the side: each run appends
// "<instance> <attempt> <pid>" to a file.
#include "server_process.h"

#include <support/postgres_fixture.h>

#include <QJsonArray>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

using namespace kairos;
using namespace kairos::test;

class TstCrashRecovery : public QObject {
    Q_OBJECT

private slots:
    void killDuringHundredRuns()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QStringList args;
        if (qgetenv("KAIROS_E2E_BACKEND") == "postgres") {
            const auto url = PostgresFixture::freshDatabaseUrl();
            QVERIFY2(url.ok(), qPrintable(url.error()));
            args << QStringLiteral("--db") << *url;
        }
        const QString runs = dir.filePath(QStringLiteral("runs.txt"));
        ServerProcess server(dir.filePath(QStringLiteral("data")), args);
        QString err = server.start();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        auto admin = std::make_unique<AdminSession>(server);
        err = admin->open();
        QVERIFY2(err.isEmpty(), qPrintable(err));

        const auto job = admin->createJob(QJsonObject{
            {QStringLiteral("name"), QStringLiteral("long-runner")},
            {QStringLiteral("processor"),
             QJsonObject{{QStringLiteral("type"), QStringLiteral("SHELL")},
                         {QStringLiteral("script"),
                          QStringLiteral("echo \"$KAIROS_INSTANCE_ID $KAIROS_ATTEMPT $$\" >> '%1'\n"
                                         "sleep 4")
                              .arg(runs)}}},
            {QStringLiteral("limits"), QJsonObject{{QStringLiteral("retryCount"), 1},
                                                   {QStringLiteral("retryBackoffMs"), 100}}}});
        QVERIFY2(job.ok(), qPrintable(job.error()));
        const QList<qint64> ids = admin->run(job->value(QStringLiteral("id")).toInteger(), 100);
        QCOMPARE(ids.size(), 100);

        // Kill while many scripts are in the middle of their run.
        QVERIFY(waitUntil([&] { return readLines(runs).size() >= 50; }, 30000));
        admin.reset();
        server.kill9();

        // The scripts of the killed server die with it (their process groups).
        const QStringList before = readLines(runs);
        QList<qint64> scriptPids;
        for (const QString &line : before)
            scriptPids << line.section(u' ', 2, 2).toLongLong();
        QVERIFY(waitUntil(
            [&] {
                return std::none_of(scriptPids.begin(), scriptPids.end(),
                                    [](qint64 pid) { return processExists(pid); });
            },
            15000));

        err = server.start();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        admin = std::make_unique<AdminSession>(server);
        err = admin->open();
        QVERIFY2(err.isEmpty(), qPrintable(err));

        QHash<qint64, QJsonObject> finals;
        for (qint64 id : ids) {
            QVERIFY2(admin->waitForTerminal(id, 60000), qPrintable(admin->status(id)));
            finals.insert(id, admin->instance(id)->value(QStringLiteral("instance")).toObject());
        }
        QCOMPARE(finals.size(), 100); // none missing

        // None ran twice in one attempt.
        QSet<QString> seen;
        QHash<qint64, int> lastAttemptRun;
        for (const QString &line : readLines(runs)) {
            const QString key = line.section(u' ', 0, 1);
            QVERIFY2(!seen.contains(key), qPrintable(QStringLiteral("ran twice: ") + key));
            seen.insert(key);
            const qint64 id = line.section(u' ', 0, 0).toLongLong();
            lastAttemptRun[id] =
                std::max(lastAttemptRun.value(id), line.section(u' ', 1, 1).toInt());
        }
        // Every instance ended as its policy says: succeeded (in attempt 1, or in attempt 2
        // after "server restarted"), each final attempt actually ran.
        int retried = 0;
        for (auto it = finals.cbegin(); it != finals.cend(); ++it) {
            const QJsonObject &inst = it.value();
            QCOMPARE(inst.value(QStringLiteral("status")).toString(), QStringLiteral("SUCCEEDED"));
            const int attempt = inst.value(QStringLiteral("attempt")).toInt();
            QCOMPARE(lastAttemptRun.value(it.key()), attempt);
            if (attempt == 2) {
                ++retried;
                const auto detail = admin->instance(it.key());
                const QJsonArray attempts = detail->value(QStringLiteral("attempts")).toArray();
                QCOMPARE(attempts.first().toObject().value(QStringLiteral("reason")).toString(),
                         QStringLiteral("server restarted"));
            }
        }
        QVERIFY2(retried >= 50, qPrintable(QString::number(retried)));
        admin.reset();
        QVERIFY2(server.terminate(), qPrintable(server.output()));
    }
};

QTEST_GUILESS_MAIN(TstCrashRecovery)
#include "tst_crash_recovery.moc"
