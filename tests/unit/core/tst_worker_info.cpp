// WorkerInfo as kairosctl and the console read it (docs/protocol.md 12.5): the JSON field names,
// round trips, errors that name the field, and the health-first score and overload rule of
// docs/protocol.md 12.4 worked out by hand.
#include <core/worker_info.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>

using namespace kairos;

namespace {

WorkerInfo sampleWorker()
{
    WorkerInfo w;
    w.id = QStringLiteral("build-7:4242");
    w.app = QStringLiteral("default");
    w.address = QStringLiteral("10.0.0.7:0");
    w.tags = {QStringLiteral("gpu"), QStringLiteral("linux")};
    w.capacity = 8;
    w.pid = 4242;
    w.version = QStringLiteral("0.1.0");
    w.state = WorkerState::Dead;
    w.registeredAtMs = 1700000000000;
    w.lastHeartbeatMs = 1700000005000;
    w.deadAtMs = 1700000010000;
    w.deadReason = QStringLiteral("no heartbeat for 5.0 s");
    w.server = QStringLiteral("kairosd-1");
    w.metrics = WorkerMetrics{1.5, 4, 2048, 8192, 100000, 3, 1};
    return w;
}

QJsonObject parse(const char *json)
{
    return QJsonDocument::fromJson(json).object();
}

} // namespace

class TstWorkerInfo : public QObject {
    Q_OBJECT
private slots:
    void stateNames_data();
    void stateNames();
    void jsonUsesTheDocumentedFieldNames();
    void jsonRoundTrip_data();
    void jsonRoundTrip();
    void fromJsonErrorsNameTheField_data();
    void fromJsonErrorsNameTheField();
    void fromJsonAcceptsMissingOptionalFields();
    void metricsFromJsonIsLenient();
    void healthScore_data();
    void healthScore();
    void healthierWorkerScoresHigher();
    void overloaded_data();
    void overloaded();
};

void TstWorkerInfo::stateNames_data()
{
    QTest::addColumn<WorkerState>("state");
    QTest::addColumn<QString>("name");
    QTest::newRow("alive") << WorkerState::Alive << "ALIVE";
    QTest::newRow("draining") << WorkerState::Draining << "DRAINING";
    QTest::newRow("dead") << WorkerState::Dead << "DEAD";
}

void TstWorkerInfo::stateNames()
{
    QFETCH(WorkerState, state);
    QFETCH(QString, name);
    QCOMPARE(toString(state), name);
    QCOMPARE(workerStateFromString(name), std::optional<WorkerState>(state));
    QCOMPARE(workerStateFromString(name.toLower()), std::optional<WorkerState>(state));
    QVERIFY(!workerStateFromString(name + "X").has_value());
}

void TstWorkerInfo::jsonUsesTheDocumentedFieldNames()
{
    const QJsonObject o = workerToJson(sampleWorker());
    QStringList keys = o.keys();
    keys.sort();
    QStringList expected{"id",       "app",        "address", "tags",           "capacity",
                         "state",    "pid",        "version", "registeredAtMs", "lastHeartbeatMs",
                         "deadAtMs", "deadReason", "server",  "metrics"};
    expected.sort();
    QCOMPARE(keys, expected);
    QCOMPARE(o["state"].toString(), QStringLiteral("DEAD"));
    QCOMPARE(o["tags"].toArray(), (QJsonArray{"gpu", "linux"}));
    QCOMPARE(o["lastHeartbeatMs"].toInteger(), 1700000005000);

    QStringList metricKeys = o["metrics"].toObject().keys();
    metricKeys.sort();
    QStringList expectedMetrics{"load1",      "cpus",    "memFreeMb", "memTotalMb",
                                "diskFreeMb", "running", "queued"};
    expectedMetrics.sort();
    QCOMPARE(metricKeys, expectedMetrics);
    QCOMPARE(o["metrics"]["load1"].toDouble(), 1.5);
    QCOMPARE(o["metrics"]["memTotalMb"].toInteger(), 8192);
}

void TstWorkerInfo::jsonRoundTrip_data()
{
    QTest::addColumn<WorkerInfo>("worker");
    WorkerInfo minimal;
    minimal.id = QStringLiteral("w1");
    QTest::newRow("minimal") << minimal;
    QTest::newRow("full dead worker") << sampleWorker();
    WorkerInfo draining = sampleWorker();
    draining.state = WorkerState::Draining;
    draining.deadAtMs = 0;
    draining.deadReason.clear();
    draining.tags.clear();
    draining.metrics.load1 = 0.123456789;
    QTest::newRow("draining, no tags, fractional load") << draining;
}

void TstWorkerInfo::jsonRoundTrip()
{
    QFETCH(WorkerInfo, worker);
    // Through text, as kairosctl --json and the admin protocol carry it.
    const QByteArray text = QJsonDocument(workerToJson(worker)).toJson(QJsonDocument::Compact);
    const auto back = workerFromJson(QJsonDocument::fromJson(text).object());
    QVERIFY2(back.ok(), qPrintable(back.error()));
    QCOMPARE(workerToJson(*back), workerToJson(worker));
    QVERIFY(*back == worker);
}

void TstWorkerInfo::fromJsonErrorsNameTheField_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("error");
    QTest::newRow("unknown state") << QByteArray(R"({"id":"w","state":"x"})")
                                   << R"(state: expected ALIVE, DRAINING or DEAD but got "x")";
    QTest::newRow("state not a string") << QByteArray(R"({"id":"w","state":3})")
                                        << "state: expected ALIVE, DRAINING or DEAD but got 3";
    QTest::newRow("state missing")
        << QByteArray(R"({"id":"w"})") << "state: missing; expected ALIVE, DRAINING or DEAD";
    QTest::newRow("id missing") << QByteArray(R"({"state":"ALIVE"})")
                                << "id: missing; expected a string";
    QTest::newRow("id empty") << QByteArray(R"({"id":"","state":"ALIVE"})")
                              << R"(id: expected a worker id but got "")";
    QTest::newRow("id a number") << QByteArray(R"({"id":7,"state":"ALIVE"})")
                                 << "id: expected a string but got 7";
    QTest::newRow("capacity fractional")
        << QByteArray(R"({"id":"w","state":"ALIVE","capacity":1.5})")
        << "capacity: expected a whole number but got 1.5";
    QTest::newRow("capacity negative") << QByteArray(R"({"id":"w","state":"ALIVE","capacity":-1})")
                                       << "capacity: -1 is outside 0-2147483647";
    QTest::newRow("capacity too big")
        << QByteArray(R"({"id":"w","state":"ALIVE","capacity":3000000000})")
        << "capacity: 3000000000 is outside 0-2147483647";
    QTest::newRow("pid huge") << QByteArray(R"({"id":"w","state":"ALIVE","pid":1e300})")
                              << "pid: expected a whole number but got 1e+300";
    QTest::newRow("tags not a list") << QByteArray(R"({"id":"w","state":"ALIVE","tags":"gpu"})")
                                     << R"(tags: expected a list of strings but got "gpu")";
    QTest::newRow("tag not a string") << QByteArray(R"({"id":"w","state":"ALIVE","tags":["a",{}]})")
                                      << "tags[1]: expected a string but got {}";
    QTest::newRow("metrics not an object")
        << QByteArray(R"({"id":"w","state":"ALIVE","metrics":[]})")
        << "metrics: expected an object but got []";
    QTest::newRow("metrics field wrong type")
        << QByteArray(R"({"id":"w","state":"ALIVE","metrics":{"cpus":"four"}})")
        << R"(metrics.cpus: expected a whole number but got "four")";
    QTest::newRow("negative load")
        << QByteArray(R"({"id":"w","state":"ALIVE","metrics":{"load1":-2}})")
        << "metrics.load1: expected a number >= 0 but got -2";
    QTest::newRow("the first error wins")
        << QByteArray(R"({"id":"w","state":"nope","pid":"x"})")
        << R"(state: expected ALIVE, DRAINING or DEAD but got "nope")";
}

void TstWorkerInfo::fromJsonErrorsNameTheField()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, error);
    const QJsonDocument doc = QJsonDocument::fromJson(json);
    QVERIFY2(doc.isObject(), json.constData());
    const auto w = workerFromJson(doc.object());
    QVERIFY(!w.ok());
    QCOMPARE(w.error(), error);
}

void TstWorkerInfo::fromJsonAcceptsMissingOptionalFields()
{
    const auto w = workerFromJson(parse(R"({"id":"w9","state":"alive","unknown":{"x":1}})"));
    QVERIFY2(w.ok(), qPrintable(w.error()));
    QCOMPARE(w->id, QStringLiteral("w9"));
    QCOMPARE(toString(w->state), QStringLiteral("ALIVE"));
    QCOMPARE(w->capacity, 0);
    QVERIFY(w->tags.isEmpty());
    QVERIFY(w->metrics == WorkerMetrics{});
}

void TstWorkerInfo::metricsFromJsonIsLenient()
{
    const WorkerMetrics m =
        workerMetricsFromJson(parse(R"({"load1":"high","cpus":4,"memFreeMb":1e300,"queued":-5})"));
    QCOMPARE(m.load1, 0.0); // wrong type: unknown
    QCOMPARE(m.cpus, 4);
    QCOMPARE(m.memTotalMb, 0); // missing: unknown
    QVERIFY(m.memFreeMb > 0);  // clamped, not undefined behaviour
    QCOMPARE(m.queued, 0);     // a count is never negative
    QVERIFY(workerMetricsFromJson({}) == WorkerMetrics{});
}

void TstWorkerInfo::healthScore_data()
{
    QTest::addColumn<WorkerMetrics>("metrics");
    QTest::addColumn<int>("freeSlots");
    QTest::addColumn<int>("slotCount");
    QTest::addColumn<double>("score");
    // score = 0.4 idle CPU + 0.3 free memory + 0.3 free slots; idle = 1 - min(1, load1 / cpus)
    QTest::newRow("idle, empty, all free")
        << WorkerMetrics{0, 4, 8000, 8000, 1, 0, 0} << 4 << 4 << 1.0;
    QTest::newRow("half loaded, quarter memory, half slots")
        << WorkerMetrics{2, 4, 2000, 8000, 1, 2, 0} << 2 << 4 << 0.4 * 0.5 + 0.3 * 0.25 + 0.3 * 0.5;
    QTest::newRow("load above cpus counts as fully busy")
        << WorkerMetrics{16, 4, 8000, 8000, 1, 0, 0} << 4 << 4 << 0.0 + 0.3 + 0.3;
    QTest::newRow("unknown cpus and memory count as free")
        << WorkerMetrics{5, 0, 0, 0, 0, 0, 0} << 1 << 4 << 0.4 + 0.3 + 0.3 * 0.25;
    QTest::newRow("no free slot") << WorkerMetrics{0, 2, 1000, 1000, 1, 2, 0} << 0 << 2 << 0.7;
    QTest::newRow("zero slots") << WorkerMetrics{0, 2, 1000, 1000, 1, 0, 0} << 0 << 0 << 0.7;
    QTest::newRow("bogus free memory above total is clamped")
        << WorkerMetrics{0, 2, 9000, 1000, 1, 0, 0} << 2 << 2 << 1.0;
}

void TstWorkerInfo::healthScore()
{
    QFETCH(WorkerMetrics, metrics);
    QFETCH(int, freeSlots);
    QFETCH(int, slotCount);
    QFETCH(double, score);
    const double got = kairos::healthScore(metrics, freeSlots, slotCount);
    QVERIFY2(qAbs(got - score) < 1e-9, qPrintable(QStringLiteral("%1 != %2").arg(got).arg(score)));
    QVERIFY(got >= 0.0 && got <= 1.0);
}

void TstWorkerInfo::healthierWorkerScoresHigher()
{
    const WorkerMetrics busy{3.5, 4, 500, 8000, 1, 6, 0};
    const WorkerMetrics quiet{0.2, 4, 6000, 8000, 1, 1, 0};
    QVERIFY(kairos::healthScore(quiet, 7, 8) > kairos::healthScore(busy, 2, 8));
}

void TstWorkerInfo::overloaded_data()
{
    QTest::addColumn<WorkerMetrics>("metrics");
    QTest::addColumn<int>("freeSlots");
    QTest::addColumn<bool>("overloaded");
    QTest::newRow("room and low load") << WorkerMetrics{1, 4, 0, 0, 0, 0, 0} << 1 << false;
    QTest::newRow("no free slot") << WorkerMetrics{0, 4, 0, 0, 0, 0, 0} << 0 << true;
    QTest::newRow("load 3 per cpu") << WorkerMetrics{12, 4, 0, 0, 0, 0, 0} << 5 << true;
    QTest::newRow("just under 3 per cpu") << WorkerMetrics{11.99, 4, 0, 0, 0, 0, 0} << 5 << false;
    QTest::newRow("unknown cpus: load alone never overloads")
        << WorkerMetrics{100, 0, 0, 0, 0, 0, 0} << 5 << false;
}

void TstWorkerInfo::overloaded()
{
    QFETCH(WorkerMetrics, metrics);
    QFETCH(int, freeSlots);
    QFETCH(bool, overloaded);
    QCOMPARE(isOverloaded(metrics, freeSlots), overloaded);
}

QTEST_GUILESS_MAIN(TstWorkerInfo)
#include "tst_worker_info.moc"
