// End to end through a real kairosd process and the real admin protocol: what an operator does
// with kairosctl, checked the way they would check it. Runs on SQLite, and on the private
// PostgreSQL of the test run when KAIROS_E2E_BACKEND=postgres.
#include "server_process.h"

#include <support/postgres_fixture.h>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

using namespace kairos;
using namespace kairos::test;

namespace {

QJsonObject shellJob(const QString &name, const QString &script, QJsonObject limits = {})
{
    return QJsonObject{
        {QStringLiteral("name"), name},
        {QStringLiteral("processor"), QJsonObject{{QStringLiteral("type"), QStringLiteral("SHELL")},
                                                  {QStringLiteral("script"), script}}},
        {QStringLiteral("limits"), limits},
    };
}

QString statusOf(const QJsonObject &instance)
{
    return instance.value(QStringLiteral("status")).toString();
}

} // namespace

class TstServerE2e : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::unique_ptr<ServerProcess> m_server;
    std::unique_ptr<AdminSession> m_admin;
    QStringList m_serverArgs;

    QString sidePath(const QString &name) const { return m_dir.filePath(name); }

    void startServer()
    {
        m_server =
            std::make_unique<ServerProcess>(m_dir.filePath(QStringLiteral("data")), m_serverArgs);
        const QString err = m_server->start();
        QVERIFY2(err.isEmpty(), qPrintable(err));
        m_admin = std::make_unique<AdminSession>(*m_server);
        const QString openErr = m_admin->open();
        QVERIFY2(openErr.isEmpty(), qPrintable(openErr));
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        if (qgetenv("KAIROS_E2E_BACKEND") == "postgres") {
            const auto url = PostgresFixture::freshDatabaseUrl();
            QVERIFY2(url.ok(), qPrintable(url.error()));
            m_serverArgs << QStringLiteral("--db") << *url;
        }
        startServer();
    }

    void cleanupTestCase()
    {
        m_admin.reset();
        if (m_server)
            QVERIFY2(m_server->terminate(), qPrintable(m_server->output()));
    }

    void storeIsTheRequestedBackend()
    {
        const auto info = m_admin->call(QStringLiteral("server.info"));
        QVERIFY2(info.ok(), qPrintable(info.error()));
        const QString expected = qgetenv("KAIROS_E2E_BACKEND") == "postgres"
                                     ? QStringLiteral("PostgreSQL")
                                     : QStringLiteral("SQLite");
        QCOMPARE(info->value(QStringLiteral("store")).toString(), expected);
    }

    void adminPasswordFileIsPrivate()
    {
        const QFileInfo info(QDir(m_server->dataDir()).filePath(QStringLiteral("admin.password")));
        QVERIFY(info.exists());
        QCOMPARE(
            info.permissions()
                & (QFile::ReadGroup | QFile::ReadOther | QFile::WriteGroup | QFile::WriteOther),
            QFile::Permissions());
        QVERIFY(!m_server->adminPassword().isEmpty());
    }

    void wrongPasswordIsRefused()
    {
        client::RemoteEndpoint ep;
        ep.port = m_server->port();
        ep.password = QStringLiteral("not-the-password");
        client::RemoteClient intruder(ep);
        intruder.open(false);
        QVERIFY(waitUntil([&] { return !intruder.lastError().isEmpty(); }, 10000));
        QVERIFY(intruder.linkState() != client::Client::LinkState::Connected);
        QVERIFY2(intruder.lastError().contains(QStringLiteral("authentication failed")),
                 qPrintable(intruder.lastError()));
    }

    void echoJobRunsAndLogs()
    {
        const auto job = m_admin->createJob(QJsonObject{
            {QStringLiteral("name"), QStringLiteral("echo")},
            {QStringLiteral("processor"),
             QJsonObject{{QStringLiteral("type"), QStringLiteral("ECHO")},
                         {QStringLiteral("message"), QStringLiteral("hello from kairos")}}}});
        QVERIFY2(job.ok(), qPrintable(job.error()));
        const qint64 jobId = job->value(QStringLiteral("id")).toInteger();
        const QList<qint64> ids = m_admin->run(jobId);
        QCOMPARE(ids.size(), 1);
        QVERIFY(m_admin->waitForTerminal(ids.first()));
        QCOMPARE(m_admin->status(ids.first()), QStringLiteral("SUCCEEDED"));
        // One run, one attempt in its history.
        const QJsonArray attempts =
            m_admin->instance(ids.first())->value(QStringLiteral("attempts")).toArray();
        QCOMPARE(attempts.size(), 1);
        QCOMPARE(attempts.first().toObject().value(QStringLiteral("status")).toString(),
                 QStringLiteral("SUCCEEDED"));
        QCOMPARE(attempts.first().toObject().value(QStringLiteral("worker")).toString(),
                 QStringLiteral("local"));
        const auto logs = m_admin->call(QStringLiteral("instance.logs"),
                                        QJsonObject{{QStringLiteral("id"), ids.first()}});
        QVERIFY2(logs.ok(), qPrintable(logs.error()));
        QStringList texts;
        for (const QJsonValue &l : logs->value(QStringLiteral("lines")).toArray())
            texts << l.toObject().value(QStringLiteral("text")).toString();
        QVERIFY2(texts.join(u'\n').contains(QStringLiteral("hello from kairos")),
                 qPrintable(texts.join(u'\n')));
    }

    void shellFailureIsRetriedWithVisibleAttempts()
    {
        const QString file = sidePath(QStringLiteral("retry.txt"));
        const auto job = m_admin->createJob(
            shellJob(QStringLiteral("flaky"),
                     QStringLiteral("echo \"$KAIROS_INSTANCE_ID $KAIROS_ATTEMPT\" >> '%1'\n"
                                    "echo to-stderr >&2\n"
                                    "[ \"$KAIROS_ATTEMPT\" -ge 3 ] || exit 3")
                         .arg(file),
                     QJsonObject{{QStringLiteral("retryCount"), 3},
                                 {QStringLiteral("retryBackoffMs"), 50}}));
        QVERIFY2(job.ok(), qPrintable(job.error()));
        const QList<qint64> ids = m_admin->run(job->value(QStringLiteral("id")).toInteger());
        QCOMPARE(ids.size(), 1);
        QVERIFY(m_admin->waitForTerminal(ids.first()));
        const auto detail = m_admin->instance(ids.first());
        QVERIFY(detail.ok());
        const QJsonObject inst = detail->value(QStringLiteral("instance")).toObject();
        QCOMPARE(statusOf(inst), QStringLiteral("SUCCEEDED"));
        QCOMPARE(inst.value(QStringLiteral("attempt")).toInt(), 3);
        const QJsonArray attempts = detail->value(QStringLiteral("attempts")).toArray();
        QCOMPARE(attempts.size(), 3);
        QCOMPARE(attempts.at(0).toObject().value(QStringLiteral("status")).toString(),
                 QStringLiteral("FAILED"));
        QCOMPARE(attempts.at(0).toObject().value(QStringLiteral("reason")).toString(),
                 QStringLiteral("exit code 3"));
        QCOMPARE(attempts.at(2).toObject().value(QStringLiteral("status")).toString(),
                 QStringLiteral("SUCCEEDED"));
        // Counted from the side: each attempt ran exactly once.
        const QString id = QString::number(ids.first());
        QCOMPARE(readLines(file), (QStringList{id + QStringLiteral(" 1"), id + QStringLiteral(" 2"),
                                               id + QStringLiteral(" 3")}));
    }

    void timeoutKillsTheWholeProcessGroup()
    {
        const QString pidFile = sidePath(QStringLiteral("bg.pid"));
        const auto job = m_admin->createJob(
            shellJob(QStringLiteral("hangs"),
                     QStringLiteral("sleep 60 &\necho $! > '%1'\nsleep 60").arg(pidFile),
                     QJsonObject{{QStringLiteral("timeoutMs"), 700}}));
        QVERIFY2(job.ok(), qPrintable(job.error()));
        const QList<qint64> ids = m_admin->run(job->value(QStringLiteral("id")).toInteger());
        QVERIFY(m_admin->waitForTerminal(ids.first(), 20000));
        const auto detail = m_admin->instance(ids.first());
        const QJsonObject inst = detail->value(QStringLiteral("instance")).toObject();
        QCOMPARE(statusOf(inst), QStringLiteral("TIMED_OUT"));
        QVERIFY2(inst.value(QStringLiteral("result")).toString().contains(QStringLiteral("700")),
                 qPrintable(inst.value(QStringLiteral("result")).toString()));
        const QStringList pid = readLines(pidFile);
        QCOMPARE(pid.size(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(!processExists(pid.first().toLongLong()), 10000);
    }

    void concurrencyLimitSkipsWithReason()
    {
        const auto job = m_admin->createJob(
            QJsonObject{{QStringLiteral("name"), QStringLiteral("single")},
                        {QStringLiteral("processor"),
                         QJsonObject{{QStringLiteral("type"), QStringLiteral("SLEEP")},
                                     {QStringLiteral("ms"), 3000}}},
                        {QStringLiteral("limits"),
                         QJsonObject{{QStringLiteral("maxConcurrentInstances"), 1}}}});
        QVERIFY2(job.ok(), qPrintable(job.error()));
        const qint64 jobId = job->value(QStringLiteral("id")).toInteger();
        const QList<qint64> first = m_admin->run(jobId);
        QVERIFY(m_admin->waitForInstance(first.first(), [](const QJsonObject &i) {
            return statusOf(i) == QStringLiteral("RUNNING");
        }));
        const QList<qint64> second = m_admin->run(jobId);
        QVERIFY(m_admin->waitForTerminal(second.first()));
        const auto detail = m_admin->instance(second.first());
        const QJsonObject inst = detail->value(QStringLiteral("instance")).toObject();
        QCOMPARE(statusOf(inst), QStringLiteral("SKIPPED"));
        QVERIFY2(inst.value(QStringLiteral("reason")).toString().contains(QStringLiteral("limit")),
                 qPrintable(inst.value(QStringLiteral("reason")).toString()));
        // The running one is unaffected; cancel it to keep the test short.
        const auto cancel = m_admin->call(QStringLiteral("instance.cancel"),
                                          QJsonObject{{QStringLiteral("id"), first.first()}});
        QVERIFY2(cancel.ok(), qPrintable(cancel.error()));
        QVERIFY(m_admin->waitForTerminal(first.first()));
        QCOMPARE(m_admin->status(first.first()), QStringLiteral("CANCELED"));
    }

    void manualRetryOfACanceledInstance()
    {
        const auto job =
            m_admin->createJob(shellJob(QStringLiteral("cancel-me"), QStringLiteral("sleep 60")));
        QVERIFY2(job.ok(), qPrintable(job.error()));
        const QList<qint64> ids = m_admin->run(job->value(QStringLiteral("id")).toInteger());
        QVERIFY(m_admin->waitForInstance(ids.first(), [](const QJsonObject &i) {
            return statusOf(i) == QStringLiteral("RUNNING");
        }));
        QVERIFY(m_admin
                    ->call(QStringLiteral("instance.cancel"),
                           QJsonObject{{QStringLiteral("id"), ids.first()}})
                    .ok());
        QVERIFY(m_admin->waitForTerminal(ids.first()));
        QCOMPARE(m_admin->status(ids.first()), QStringLiteral("CANCELED"));
        const auto retried = m_admin->call(QStringLiteral("instance.retry"),
                                           QJsonObject{{QStringLiteral("id"), ids.first()}});
        QVERIFY2(retried.ok(), qPrintable(retried.error()));
        QCOMPARE(retried->value(QStringLiteral("attempt")).toInt(), 2);
        QVERIFY(m_admin->waitForInstance(ids.first(), [](const QJsonObject &i) {
            return statusOf(i) == QStringLiteral("RUNNING");
        }));
        QVERIFY(m_admin
                    ->call(QStringLiteral("instance.cancel"),
                           QJsonObject{{QStringLiteral("id"), ids.first()}})
                    .ok());
        QVERIFY(m_admin->waitForTerminal(ids.first()));
        const auto again = m_admin->call(QStringLiteral("instance.cancel"),
                                         QJsonObject{{QStringLiteral("id"), ids.first()}});
        QVERIFY(!again.ok());
        QVERIFY2(again.error().contains(QStringLiteral("already ended")),
                 qPrintable(again.error()));
    }

    void fixedRateJobFiresOnTime()
    {
        const auto job = m_admin->createJob(
            QJsonObject{{QStringLiteral("name"), QStringLiteral("every-400ms")},
                        {QStringLiteral("timing"),
                         QJsonObject{{QStringLiteral("type"), QStringLiteral("FIXED_RATE")},
                                     {QStringLiteral("expression"), QStringLiteral("400ms")}}},
                        {QStringLiteral("processor"),
                         QJsonObject{{QStringLiteral("type"), QStringLiteral("ECHO")}}},
                        {QStringLiteral("limits"),
                         QJsonObject{{QStringLiteral("maxConcurrentInstances"), 0}}}});
        QVERIFY2(job.ok(), qPrintable(job.error()));
        const qint64 jobId = job->value(QStringLiteral("id")).toInteger();
        QVERIFY(waitUntil(
            [&] {
                int done = 0;
                for (const QJsonObject &i : m_admin->instancesOfJob(jobId))
                    done += statusOf(i) == QStringLiteral("SUCCEEDED");
                return done >= 3;
            },
            15000));
        // Disable it, then check the fires were 400 ms apart, on the rate's grid.
        QVERIFY(
            m_admin->call(QStringLiteral("job.disable"), QJsonObject{{QStringLiteral("id"), jobId}})
                .ok());
        QList<qint64> fires;
        for (const QJsonObject &i : m_admin->instancesOfJob(jobId)) {
            QCOMPARE(i.value(QStringLiteral("trigger")).toString(), QStringLiteral("SCHEDULED"));
            fires << i.value(QStringLiteral("fireTimeMs")).toInteger();
        }
        std::sort(fires.begin(), fires.end());
        for (int i = 1; i < fires.size(); ++i)
            QCOMPARE(fires[i] - fires[i - 1], 400);
    }

    void badInputIsNamed_data()
    {
        QTest::addColumn<QJsonObject>("job");
        QTest::addColumn<QString>("expected");
        QTest::newRow("bad cron") << QJsonObject{{QStringLiteral("name"), QStringLiteral("b1")},
                                                 {QStringLiteral("timing"),
                                                  QJsonObject{{QStringLiteral("type"),
                                                               QStringLiteral("CRON")},
                                                              {QStringLiteral("expression"),
                                                               QStringLiteral("0 0 12 * * 8")}}}}
                                  << QStringLiteral("day-of-week");
        QTest::newRow("bad zone")
            << QJsonObject{{QStringLiteral("name"), QStringLiteral("b2")},
                           {QStringLiteral("timing"),
                            QJsonObject{{QStringLiteral("type"), QStringLiteral("CRON")},
                                        {QStringLiteral("expression"), QStringLiteral("0 * * * *")},
                                        {QStringLiteral("timeZone"), QStringLiteral("Mars/Base")}}}}
            << QStringLiteral("timing.timeZone");
        QTest::newRow("shell without script")
            << QJsonObject{{QStringLiteral("name"), QStringLiteral("b3")},
                           {QStringLiteral("processor"),
                            QJsonObject{{QStringLiteral("type"), QStringLiteral("SHELL")}}}}
            << QStringLiteral("processor.script");
        QTest::newRow("duplicate name")
            << QJsonObject{{QStringLiteral("name"), QStringLiteral("echo")}}
            << QStringLiteral("already exists");
    }
    void badInputIsNamed()
    {
        QFETCH(QJsonObject, job);
        QFETCH(QString, expected);
        const auto r = m_admin->createJob(job);
        QVERIFY(!r.ok());
        QVERIFY2(r.error().contains(expected), qPrintable(r.error()));
    }

    void everythingSurvivesKill9()
    {
        const auto before = m_admin->call(QStringLiteral("job.list"));
        QVERIFY(before.ok());
        const auto echoJob =
            m_admin->call(QStringLiteral("job.get"),
                          QJsonObject{{QStringLiteral("name"), QStringLiteral("echo")}});
        QVERIFY(echoJob.ok());
        const QList<qint64> ids =
            m_admin->run(echoJob->value(QStringLiteral("id")).toInteger(), 20);
        QCOMPARE(ids.size(), 20); // acknowledged = committed
        m_admin.reset();
        m_server->kill9();
        startServer();
        const auto after = m_admin->call(QStringLiteral("job.list"));
        QVERIFY(after.ok());
        QCOMPARE(after->value(QStringLiteral("jobs")).toArray().size(),
                 before->value(QStringLiteral("jobs")).toArray().size());
        // Every acknowledged instance is there and ends: those that had not started run
        // normally; those the killed server was running end as "server restarted" (this job
        // has no retries).
        for (qint64 id : ids) {
            QVERIFY2(m_admin->waitForTerminal(id), qPrintable(m_admin->status(id)));
            const QJsonObject inst =
                m_admin->instance(id)->value(QStringLiteral("instance")).toObject();
            if (statusOf(inst) != QStringLiteral("SUCCEEDED")) {
                QCOMPARE(statusOf(inst), QStringLiteral("FAILED"));
                QCOMPARE(inst.value(QStringLiteral("reason")).toString(),
                         QStringLiteral("server restarted"));
            }
        }
    }
};

QTEST_GUILESS_MAIN(TstServerE2e)
#include "tst_server_e2e.moc"
