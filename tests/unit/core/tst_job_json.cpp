// What a user writing a job file sees: round trips keep every field, and mistakes are named.
#include <core/job.h>

#include <QJsonDocument>
#include <QtTest>

using namespace kairos;

class TstJobJson : public QObject {
    Q_OBJECT
private slots:
    void roundTripKeepsEveryField()
    {
        Job job;
        job.id = 7;
        job.name = QStringLiteral("nightly-report");
        job.description = QStringLiteral("d");
        job.timingType = TimingType::Cron;
        job.timingExpression = QStringLiteral("0 0 2 * * ?");
        job.timeZone = QStringLiteral("Europe/Berlin");
        job.windowStartMs = 10;
        job.windowEndMs = 20;
        job.enabled = false;
        job.misfirePolicy = MisfirePolicy::FireAll;
        job.misfireMaxFires = 5;
        job.mode = ExecutionMode::Broadcast;
        job.processor = ProcessorKind::Shell;
        job.processorConfig = QJsonObject{{QStringLiteral("script"), QStringLiteral("echo hi")}};
        job.params = QStringLiteral("{\"a\":1}");
        job.dispatch.strategy = DispatchStrategy::Specified;
        job.dispatch.targets = QStringList{QStringLiteral("tag:gpu")};
        job.dispatch.maxWorkers = 3;
        job.dispatch.taskRetryCount = 5;
        job.maxConcurrentInstances = 4;
        job.retryCount = 2;
        job.retryBackoffMs = 500;
        job.timeoutMs = 9000;
        job.version = 3;
        job.createdAtMs = 1000;
        job.updatedAtMs = 2000;
        const auto back = jobFromJson(jobToJson(job));
        QVERIFY2(back.ok(), qPrintable(back.error()));
        QCOMPARE(*back, job);
    }

    void errorsNameTheField_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("expected");
        QTest::newRow("no name") << QByteArray(R"({"timing":{"type":"API"}})")
                                 << QStringLiteral("name: must not be empty");
        QTest::newRow("bad timing type")
            << QByteArray(R"({"name":"a","timing":{"type":"daily"}})")
            << QStringLiteral("timing.type: expected one of API, CRON, FIXED_RATE, FIXED_DELAY, "
                              "ONE_SHOT but got \"daily\"");
        QTest::newRow("retry not a number")
            << QByteArray(R"({"name":"a","limits":{"retryCount":"two"}})")
            << QStringLiteral("limits.retryCount: expected a whole number");
        QTest::newRow("negative timeout")
            << QByteArray(R"({"name":"a","limits":{"timeoutMs":-1}})")
            << QStringLiteral("limits.timeoutMs: -1 is outside 0-2147483647");
        QTest::newRow("processor without type")
            << QByteArray(R"({"name":"a","processor":{"script":"x"}})")
            << QStringLiteral("processor.type: missing; expected one of SHELL, HTTP, ECHO, "
                              "SLEEP, CONTAINER");
        QTest::newRow("task retries not a number")
            << QByteArray(R"({"name":"a","dispatch":{"taskRetries":"3"}})")
            << QStringLiteral("dispatch.taskRetries: expected a whole number");
        QTest::newRow("task retries fractional")
            << QByteArray(R"({"name":"a","dispatch":{"taskRetries":1.5}})")
            << QStringLiteral("dispatch.taskRetries: expected a whole number");
        QTest::newRow("task retries negative")
            << QByteArray(R"({"name":"a","dispatch":{"taskRetries":-1}})")
            << QStringLiteral("dispatch.taskRetries: -1 is outside 0-100");
        QTest::newRow("task retries too many")
            << QByteArray(R"({"name":"a","dispatch":{"taskRetries":101}})")
            << QStringLiteral("dispatch.taskRetries: 101 is outside 0-100");
        QTest::newRow("window reversed")
            << QByteArray(R"({"name":"a","timing":{"windowStartMs":5,"windowEndMs":4}})")
            << QStringLiteral("timing.windowEndMs: must not be before timing.windowStartMs");
    }
    void errorsNameTheField()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, expected);
        const auto job = jobFromJson(QJsonDocument::fromJson(json).object());
        QVERIFY(!job.ok());
        QCOMPARE(job.error(), expected);
    }

    void patchTouchesOnlyGivenFields()
    {
        Job base;
        base.name = QStringLiteral("a");
        base.retryCount = 3;
        const auto patched = applyJobPatch(
            base, QJsonDocument::fromJson(R"({"limits":{"timeoutMs":100}})").object());
        QVERIFY(patched.ok());
        QCOMPARE(patched->retryCount, 3);
        QCOMPARE(patched->timeoutMs, 100);
        QCOMPARE(patched->name, QStringLiteral("a"));
    }

    void taskRetries_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<int>("expected");
        QTest::newRow("absent: none") << QByteArray(R"({"name":"a"})") << 0;
        QTest::newRow("null: none")
            << QByteArray(R"({"name":"a","dispatch":{"taskRetries":null}})") << 0;
        QTest::newRow("zero") << QByteArray(R"({"name":"a","dispatch":{"taskRetries":0}})") << 0;
        QTest::newRow("three") << QByteArray(R"({"name":"a","mode":"MAP",
            "dispatch":{"taskRetries":3}})")
                               << 3;
        QTest::newRow("the most") << QByteArray(R"({"name":"a","dispatch":{"taskRetries":100}})")
                                  << 100;
    }
    void taskRetries()
    {
        QFETCH(QByteArray, json);
        QFETCH(int, expected);
        const auto job = jobFromJson(QJsonDocument::fromJson(json).object());
        QVERIFY2(job.ok(), qPrintable(job.error()));
        QCOMPARE(job->dispatch.taskRetryCount, expected);
        // Written back under the same name, beside the other dispatch fields.
        const QJsonObject dispatch = jobToJson(*job).value("dispatch").toObject();
        QCOMPARE(dispatch.value("taskRetries").toInt(-1), expected);
        QCOMPARE(dispatch.value("strategy").toString(), QStringLiteral("HEALTH_FIRST"));
    }

    void patchOfTaskRetriesKeepsOtherDispatchFields()
    {
        Job base;
        base.name = QStringLiteral("a");
        base.mode = ExecutionMode::Broadcast;
        base.dispatch.maxWorkers = 4;
        base.dispatch.taskRetryCount = 2;
        const auto patched = applyJobPatch(
            base, QJsonDocument::fromJson(R"({"dispatch":{"taskRetries":7}})").object());
        QVERIFY2(patched.ok(), qPrintable(patched.error()));
        QCOMPARE(patched->dispatch.taskRetryCount, 7);
        QCOMPARE(patched->dispatch.maxWorkers, 4);
        QCOMPARE(toString(patched->mode), QStringLiteral("BROADCAST"));
        const auto refused = applyJobPatch(
            base, QJsonDocument::fromJson(R"({"dispatch":{"taskRetries":500}})").object());
        QCOMPARE(refused.error(), QStringLiteral("dispatch.taskRetries: 500 is outside 0-100"));
    }

    void retryBackoffDoublesAndIsCapped()
    {
        Job job;
        job.retryBackoffMs = 1000;
        QCOMPARE(retryDelayMs(job, 2), 1000);
        QCOMPARE(retryDelayMs(job, 3), 2000);
        QCOMPARE(retryDelayMs(job, 4), 4000);
        QCOMPARE(retryDelayMs(job, 40), 3600 * 1000);
    }

    void stateMachine()
    {
        using S = InstanceStatus;
        QVERIFY(isAllowedTransition(S::WaitingDispatch, S::Dispatched));
        QVERIFY(isAllowedTransition(S::Running, S::Succeeded));
        QVERIFY(isAllowedTransition(S::Failed, S::WaitingDispatch));
        QVERIFY(!isAllowedTransition(S::Succeeded, S::Running));
        QVERIFY(!isAllowedTransition(S::Succeeded, S::Canceled));
        QVERIFY(!isAllowedTransition(S::Skipped, S::WaitingDispatch));
        QVERIFY(isAllowedTransition(S::WaitingDispatch, S::Skipped));
        QVERIFY(!isAllowedTransition(S::Running, S::Dispatched));
        QVERIFY(isAllowedTransition(S::Running, S::Canceled));
    }
};

QTEST_GUILESS_MAIN(TstJobJson)
#include "tst_job_json.moc"
