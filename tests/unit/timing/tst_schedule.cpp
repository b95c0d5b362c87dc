// A job's timing as the server sees it: Schedule::fromJob validates what a user typed (and
// names the field when it is wrong), then answers "when next?" for cron, fixed rate, fixed
// delay, one-shot and API jobs, inside the job's window; the misfire helpers list what a
// downtime missed.
#include <timing/misfire.h>
#include <timing/schedule.h>

#include <QDateTime>
#include <QtTest>

using namespace kairos;

namespace {

qint64 at(const char *iso)
{
    const QDateTime dt = QDateTime::fromString(QString::fromLatin1(iso), Qt::ISODateWithMs);
    Q_ASSERT_X(dt.isValid() && dt.timeSpec() != Qt::LocalTime, "at", iso);
    return dt.toMSecsSinceEpoch();
}

Job job(TimingType type, const QString &expression, const QString &zone = QStringLiteral("UTC"))
{
    Job j;
    j.name = QStringLiteral("t");
    j.timingType = type;
    j.timingExpression = expression;
    j.timeZone = zone;
    return j;
}

Schedule schedule(const Job &j)
{
    auto s = Schedule::fromJob(j, QTimeZone(QByteArrayLiteral("UTC")));
    if (!s.ok())
        qFatal("Schedule::fromJob failed: %s", qPrintable(s.error()));
    return *s;
}

QList<qint64> times(std::initializer_list<const char *> isos)
{
    QList<qint64> out;
    for (const char *iso : isos)
        out << at(iso);
    return out;
}

const QTimeZone kUtc(QByteArrayLiteral("UTC"));

} // namespace

class TstSchedule : public QObject {
    Q_OBJECT
private slots:
    void parsesDurations_data();
    void parsesDurations();
    void refusesBadTiming_data();
    void refusesBadTiming();
    void cronFiresInTheJobZone();
    void emptyZoneMeansServerZone();
    void cronHonoursWindow();
    void fixedRateIsAnchoredToWindowStart();
    void fixedRateUsesGivenAnchorWithoutWindow();
    void fixedRateOneArgumentUsesCreationTime();
    void fixedDelayFollowsRunEnd();
    void oneShotFiresOnce_data();
    void oneShotFiresOnce();
    void oneShotOutsideWindowNeverFires();
    void apiNeverFiresOnItsOwn();
    void missedFireTimesAreEarliestFirstAndCapped();
    void missedFireTimesBoundaries();
    void latestMissedFireTimeAfterLongOutage();
    void misfirePolicies();
    void misfiresOfOtherTypes();
};

void TstSchedule::parsesDurations_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qint64>("ms");
    QTest::newRow("plain ms") << "1500" << qint64(1500);
    QTest::newRow("ms") << "250ms" << qint64(250);
    QTest::newRow("seconds") << "30s" << qint64(30000);
    QTest::newRow("minutes") << "5m" << qint64(300000);
    QTest::newRow("hours") << "2h" << qint64(7200000);
    QTest::newRow("days") << "1d" << qint64(86400000);
    QTest::newRow("spaces and case") << " 10 S " << qint64(10000);
    QTest::newRow("one ms") << "1" << qint64(1);
}

void TstSchedule::parsesDurations()
{
    QFETCH(QString, text);
    QFETCH(qint64, ms);
    const auto parsed = parseDurationMs(text);
    QVERIFY2(parsed.ok(), qPrintable(parsed.error()));
    QCOMPARE(*parsed, ms);
}

void TstSchedule::refusesBadTiming_data()
{
    QTest::addColumn<int>("type");
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("zone");
    QTest::addColumn<qint64>("windowStart");
    QTest::addColumn<qint64>("windowEnd");
    QTest::addColumn<QString>("message");
    const int cron = int(TimingType::Cron);
    const int rate = int(TimingType::FixedRate);
    const int delay = int(TimingType::FixedDelay);
    const int oneShot = int(TimingType::OneShot);
    const QString badDuration =
        QStringLiteral("timing.expression: expected a duration like 1500, 30s, 5m or 2h");
    QTest::newRow("unknown zone") << cron << "0 0 2 * * ?"
                                  << "Mars/Base" << qint64(0) << qint64(0)
                                  << "timing.timeZone: unknown time zone \"Mars/Base\"";
    QTest::newRow("cron error is prefixed")
        << cron << "0 99 * * * ?"
        << "UTC" << qint64(0) << qint64(0) << "timing.expression: minutes: 99 is outside 0-59";
    QTest::newRow("cron empty") << cron << ""
                                << "UTC" << qint64(0) << qint64(0)
                                << "timing.expression: expected 5 fields (Unix) or 6-7 fields "
                                   "(Quartz), got 0";
    QTest::newRow("cron that never fires")
        << cron << "0 0 0 30 2 ?"
        << "UTC" << qint64(0) << qint64(0)
        << "timing.expression: \"0 0 0 30 2 ?\" never fires (no date matches it)";
    QTest::newRow("rate unit") << rate << "5x"
                               << "UTC" << qint64(0) << qint64(0) << badDuration;
    QTest::newRow("rate empty") << rate << ""
                                << "UTC" << qint64(0) << qint64(0) << badDuration;
    QTest::newRow("rate negative") << rate << "-5s"
                                   << "UTC" << qint64(0) << qint64(0) << badDuration;
    QTest::newRow("rate fraction") << rate << "1.5s"
                                   << "UTC" << qint64(0) << qint64(0) << badDuration;
    QTest::newRow("rate zero") << rate << "0s"
                               << "UTC" << qint64(0) << qint64(0)
                               << "timing.expression: a duration must be at least 1 ms, got \"0s\"";
    QTest::newRow("delay zero") << delay << "0"
                                << "UTC" << qint64(0) << qint64(0)
                                << "timing.expression: a duration must be at least 1 ms, got \"0\"";
    QTest::newRow("delay overflow") << delay << "999999999999999d"
                                    << "UTC" << qint64(0) << qint64(0) << badDuration;
    QTest::newRow("one-shot garbage")
        << oneShot << "tomorrow"
        << "UTC" << qint64(0) << qint64(0)
        << "timing.expression: expected an ISO-8601 date-time like 2026-03-08T02:30:00 or epoch "
           "milliseconds";
    QTest::newRow("one-shot bad date")
        << oneShot << "2026-02-30T10:00:00"
        << "UTC" << qint64(0) << qint64(0)
        << "timing.expression: expected an ISO-8601 date-time like 2026-03-08T02:30:00 or epoch "
           "milliseconds";
    QTest::newRow("window reversed") << cron << "@daily"
                                     << "UTC" << qint64(5000) << qint64(4000)
                                     << "timing.windowEndMs: must not be before "
                                        "timing.windowStartMs";
    QTest::newRow("window negative")
        << cron << "@daily"
        << "UTC" << qint64(-1) << qint64(0) << "timing.windowStartMs: must not be negative";
}

void TstSchedule::refusesBadTiming()
{
    QFETCH(int, type);
    QFETCH(QString, expression);
    QFETCH(QString, zone);
    QFETCH(qint64, windowStart);
    QFETCH(qint64, windowEnd);
    QFETCH(QString, message);
    Job j = job(TimingType(type), expression, zone);
    j.windowStartMs = windowStart;
    j.windowEndMs = windowEnd;
    const auto s = Schedule::fromJob(j, kUtc);
    QVERIFY(!s.ok());
    QCOMPARE(s.error(), message);
}

void TstSchedule::cronFiresInTheJobZone()
{
    // 09:00 in New York is 14:00Z in winter and 13:00Z in summer.
    const Schedule s = schedule(
        job(TimingType::Cron, QStringLiteral("0 0 9 * * ?"), QStringLiteral("America/New_York")));
    QCOMPARE(kairos::toString(s.type()), QStringLiteral("CRON"));
    QCOMPARE(s.zone().id(), QByteArrayLiteral("America/New_York"));
    QCOMPARE(s.nextFireAfter(at("2026-01-10T00:00:00Z")), at("2026-01-10T14:00:00Z"));
    QCOMPARE(s.nextFireAfter(at("2026-07-10T00:00:00Z")), at("2026-07-10T13:00:00Z"));
}

void TstSchedule::emptyZoneMeansServerZone()
{
    const auto s = Schedule::fromJob(job(TimingType::Cron, QStringLiteral("0 0 9 * * ?"), {}),
                                     QTimeZone(QByteArrayLiteral("Asia/Tokyo")));
    QVERIFY2(s.ok(), qPrintable(s.error()));
    QCOMPARE(s->zone().id(), QByteArrayLiteral("Asia/Tokyo"));
    QCOMPARE(s->nextFireAfter(at("2026-01-10T12:00:00Z")), at("2026-01-11T00:00:00Z"));
}

void TstSchedule::cronHonoursWindow()
{
    Job j = job(TimingType::Cron, QStringLiteral("0 0 * * * ?"));
    j.windowStartMs = at("2026-01-01T10:30:00Z");
    j.windowEndMs = at("2026-01-01T13:00:00Z"); // inclusive: a fire at the end still counts
    const Schedule s = schedule(j);
    QCOMPARE(s.nextFireAfter(at("2026-01-01T00:00:00Z")), at("2026-01-01T11:00:00Z"));
    QCOMPARE(s.nextFireAfter(at("2026-01-01T11:00:00Z")), at("2026-01-01T12:00:00Z"));
    QCOMPARE(s.nextFireAfter(at("2026-01-01T12:00:00Z")), at("2026-01-01T13:00:00Z"));
    QCOMPARE(s.nextFireAfter(at("2026-01-01T13:00:00Z")), std::optional<qint64>());

    // A fire exactly at the window start counts too.
    j.windowStartMs = at("2026-01-01T10:00:00Z");
    QCOMPARE(schedule(j).nextFireAfter(at("2026-01-01T00:00:00Z")), at("2026-01-01T10:00:00Z"));
}

void TstSchedule::fixedRateIsAnchoredToWindowStart()
{
    Job j = job(TimingType::FixedRate, QStringLiteral("5m"));
    j.windowStartMs = at("2026-01-01T10:02:00Z");
    j.windowEndMs = at("2026-01-01T10:20:00Z");
    const Schedule s = schedule(j);
    QCOMPARE(s.periodMs(), qint64(300000));
    QCOMPARE(s.isFixedDelay(), false);
    const qint64 ignoredAnchor = at("2026-01-01T09:59:59Z");
    // Before the window: the window start itself. Then every 5 minutes from it.
    QCOMPARE(s.nextFireAfter(at("2026-01-01T08:00:00Z"), ignoredAnchor),
             at("2026-01-01T10:02:00Z"));
    QCOMPARE(s.nextFireAfter(at("2026-01-01T10:02:00Z"), ignoredAnchor),
             at("2026-01-01T10:07:00Z"));
    QCOMPARE(s.nextFireAfter(at("2026-01-01T10:08:30Z"), ignoredAnchor),
             at("2026-01-01T10:12:00Z"));
    QCOMPARE(s.nextFireAfter(at("2026-01-01T10:12:00Z"), ignoredAnchor),
             at("2026-01-01T10:17:00Z"));
    // 10:22 would be after the window end.
    QCOMPARE(s.nextFireAfter(at("2026-01-01T10:17:00Z"), ignoredAnchor), std::optional<qint64>());
}

void TstSchedule::fixedRateUsesGivenAnchorWithoutWindow()
{
    const Schedule s = schedule(job(TimingType::FixedRate, QStringLiteral("1500")));
    const qint64 anchor = 1000000;
    QCOMPARE(s.nextFireAfter(0, anchor), anchor);
    QCOMPARE(s.nextFireAfter(anchor - 1, anchor), anchor);
    QCOMPARE(s.nextFireAfter(anchor, anchor), anchor + 1500);
    QCOMPARE(s.nextFireAfter(anchor + 1499, anchor), anchor + 1500);
    QCOMPARE(s.nextFireAfter(anchor + 1500, anchor), anchor + 3000);
    QCOMPARE(s.nextFireAfter(anchor + 1500 * 1000 + 7, anchor), anchor + 1500 * 1001);
}

void TstSchedule::fixedRateOneArgumentUsesCreationTime()
{
    Job j = job(TimingType::FixedRate, QStringLiteral("1h"));
    j.createdAtMs = at("2026-01-01T10:17:00Z");
    const Schedule s = schedule(j);
    QCOMPARE(s.defaultAnchorMs(), j.createdAtMs);
    QCOMPARE(s.nextFireAfter(at("2026-01-01T12:00:00Z")), at("2026-01-01T12:17:00Z"));
}

void TstSchedule::fixedDelayFollowsRunEnd()
{
    Job j = job(TimingType::FixedDelay, QStringLiteral("30s"));
    j.windowStartMs = at("2026-01-01T10:00:00Z");
    j.windowEndMs = at("2026-01-01T11:00:00Z");
    const Schedule s = schedule(j);
    QVERIFY(s.isFixedDelay());
    QCOMPARE(s.delayMs(), qint64(30000));
    QCOMPARE(s.periodMs(), qint64(0));
    // Its fires depend on run ends, so the fixed-time query has no answer.
    QCOMPARE(s.nextFireAfter(at("2026-01-01T10:30:00Z")), std::optional<qint64>());
    // Never run: at the anchor, but not before the window opens.
    QCOMPARE(s.nextDelayedFire(std::nullopt, at("2026-01-01T09:00:00Z")),
             at("2026-01-01T10:00:00Z"));
    QCOMPARE(s.nextDelayedFire(std::nullopt, at("2026-01-01T10:05:00Z")),
             at("2026-01-01T10:05:00Z"));
    QCOMPARE(s.nextDelayedFire(at("2026-01-01T10:10:00.500Z"), 0), at("2026-01-01T10:10:30.500Z"));
    QCOMPARE(s.nextDelayedFire(at("2026-01-01T10:59:30Z"), 0), at("2026-01-01T11:00:00Z"));
    QCOMPARE(s.nextDelayedFire(at("2026-01-01T10:59:31Z"), 0), std::optional<qint64>());
    // Other types have no delayed fire.
    QCOMPARE(schedule(job(TimingType::FixedRate, QStringLiteral("30s"))).nextDelayedFire(0, 0),
             std::optional<qint64>());
}

void TstSchedule::oneShotFiresOnce_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("zone");
    QTest::addColumn<qint64>("fire");
    QTest::newRow("local time in the job zone") << "2026-07-01T09:00:00"
                                                << "America/New_York" << at("2026-07-01T13:00:00Z");
    QTest::newRow("local time in a spring-forward gap")
        << "2026-03-08T02:30:00"
        << "America/New_York" << at("2026-03-08T07:00:00Z");
    QTest::newRow("repeated local time: first pass")
        << "2026-11-01T01:30:00"
        << "America/New_York" << at("2026-11-01T05:30:00Z");
    QTest::newRow("with milliseconds") << "2026-07-01T09:00:00.250"
                                       << "UTC" << at("2026-07-01T09:00:00.250Z");
    QTest::newRow("date and time with a space") << "2026-07-01 09:00"
                                                << "Europe/Berlin" << at("2026-07-01T07:00:00Z");
    QTest::newRow("explicit offset wins over the zone")
        << "2026-07-01T09:00:00+02:00"
        << "America/New_York" << at("2026-07-01T07:00:00Z");
    QTest::newRow("explicit Z") << "2026-07-01T09:00:00Z"
                                << "Asia/Tokyo" << at("2026-07-01T09:00:00Z");
    QTest::newRow("date alone is midnight in the zone")
        << "2026-07-01"
        << "Asia/Tokyo" << at("2026-06-30T15:00:00Z");
    QTest::newRow("epoch milliseconds") << "1782900000000"
                                        << "Asia/Tokyo" << qint64(1782900000000);
}

void TstSchedule::oneShotFiresOnce()
{
    QFETCH(QString, expression);
    QFETCH(QString, zone);
    QFETCH(qint64, fire);
    const Schedule s = schedule(job(TimingType::OneShot, expression, zone));
    QCOMPARE(s.oneShotAtMs(), fire);
    QCOMPARE(s.nextFireAfter(fire - 86400000), fire);
    QCOMPARE(s.nextFireAfter(fire - 1), fire);
    QCOMPARE(s.nextFireAfter(fire), std::optional<qint64>());
}

void TstSchedule::oneShotOutsideWindowNeverFires()
{
    Job j = job(TimingType::OneShot, QStringLiteral("2026-07-01T09:00:00Z"));
    j.windowEndMs = at("2026-06-30T00:00:00Z");
    QCOMPARE(schedule(j).nextFireAfter(0), std::optional<qint64>());
    j.windowEndMs = 0;
    j.windowStartMs = at("2026-07-02T00:00:00Z");
    QCOMPARE(schedule(j).nextFireAfter(0), std::optional<qint64>());
}

void TstSchedule::apiNeverFiresOnItsOwn()
{
    const Schedule s = schedule(job(TimingType::Api, {}));
    QCOMPARE(s.nextFireAfter(0), std::optional<qint64>());
    QCOMPARE(missedFireTimes(s, 0, at("2026-01-01T00:00:00Z"), 10), QList<qint64>());
}

void TstSchedule::missedFireTimesAreEarliestFirstAndCapped()
{
    const Schedule s = schedule(job(TimingType::Cron, QStringLiteral("0 */10 * * * ?")));
    const qint64 last = at("2026-01-01T00:00:00Z");
    const qint64 now = at("2026-01-01T01:05:00Z");
    QCOMPARE(missedFireTimes(s, last, now, 100),
             times({"2026-01-01T00:10:00Z", "2026-01-01T00:20:00Z", "2026-01-01T00:30:00Z",
                    "2026-01-01T00:40:00Z", "2026-01-01T00:50:00Z", "2026-01-01T01:00:00Z"}));
    QCOMPARE(missedFireTimes(s, last, now, 2),
             times({"2026-01-01T00:10:00Z", "2026-01-01T00:20:00Z"}));
    QCOMPARE(missedFireTimes(s, last, now, 0), QList<qint64>());
}

void TstSchedule::missedFireTimesBoundaries()
{
    // (last, now]: the last recorded fire is not missed again, a fire exactly at now is.
    const Schedule s = schedule(job(TimingType::Cron, QStringLiteral("0 */10 * * * ?")));
    QCOMPARE(missedFireTimes(s, at("2026-01-01T00:10:00Z"), at("2026-01-01T00:30:00Z"), 10),
             times({"2026-01-01T00:20:00Z", "2026-01-01T00:30:00Z"}));
    QCOMPARE(missedFireTimes(s, at("2026-01-01T00:10:00Z"), at("2026-01-01T00:19:59Z"), 10),
             QList<qint64>());
    QCOMPARE(missedFireTimes(s, at("2026-01-01T00:30:00Z"), at("2026-01-01T00:10:00Z"), 10),
             QList<qint64>());
    QCOMPARE(latestMissedFireTime(s, at("2026-01-01T00:10:00Z"), at("2026-01-01T00:19:59Z")),
             std::optional<qint64>());
    QCOMPARE(latestMissedFireTime(s, at("2026-01-01T00:10:00Z"), at("2026-01-01T00:30:00Z")),
             at("2026-01-01T00:30:00Z"));
}

void TstSchedule::latestMissedFireTimeAfterLongOutage()
{
    // An every-second job down for a week: the latest missed fire is the last whole second.
    const Schedule everySecond = schedule(job(TimingType::Cron, QStringLiteral("* * * * * ?")));
    QCOMPARE(latestMissedFireTime(everySecond, at("2026-01-01T00:00:00Z"),
                                  at("2026-01-08T00:00:00.999Z")),
             at("2026-01-08T00:00:00Z"));
    // Fires dense at the start of the outage and none later: still found without walking
    // through 31 million seconds of 2026.
    const Schedule only2026 = schedule(job(TimingType::Cron, QStringLiteral("* * * * * ? 2026")));
    QCOMPARE(latestMissedFireTime(only2026, at("2026-01-01T00:00:00Z"), at("2029-06-01T00:00:00Z")),
             at("2026-12-31T23:59:59Z"));
    // A yearly job down for three years.
    const Schedule yearly = schedule(job(TimingType::Cron, QStringLiteral("@yearly")));
    QCOMPARE(latestMissedFireTime(yearly, at("2026-01-01T00:00:00Z"), at("2029-06-01T00:00:00Z")),
             at("2029-01-01T00:00:00Z"));
    // A fire in the future of `now` is not missed.
    QCOMPARE(latestMissedFireTime(yearly, at("2026-01-01T00:00:00Z"), at("2026-12-31T23:59:59Z")),
             std::optional<qint64>());
}

void TstSchedule::misfirePolicies()
{
    const Schedule s = schedule(job(TimingType::Cron, QStringLiteral("0 0 * * * ?")));
    const qint64 last = at("2026-01-01T00:00:00Z");
    const qint64 now = at("2026-01-01T05:30:00Z"); // missed 01:00 .. 05:00
    QCOMPARE(misfireCatchUp(s, MisfirePolicy::Skip, 10, last, now), QList<qint64>());
    QCOMPARE(misfireCatchUp(s, MisfirePolicy::FireOnce, 10, last, now),
             times({"2026-01-01T05:00:00Z"}));
    QCOMPARE(misfireCatchUp(s, MisfirePolicy::FireAll, 3, last, now),
             times({"2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z"}));
    QCOMPARE(misfireCatchUp(s, MisfirePolicy::FireAll, 100, last, now).size(), 5);
    // Nothing missed: every policy fires nothing.
    for (const auto policy : {MisfirePolicy::Skip, MisfirePolicy::FireOnce, MisfirePolicy::FireAll})
        QCOMPARE(misfireCatchUp(s, policy, 10, last, at("2026-01-01T00:59:59Z")), QList<qint64>());
}

void TstSchedule::misfiresOfOtherTypes()
{
    Job rate = job(TimingType::FixedRate, QStringLiteral("1h"));
    rate.createdAtMs = at("2026-01-01T00:15:00Z");
    QCOMPARE(
        missedFireTimes(schedule(rate), at("2026-01-01T00:15:00Z"), at("2026-01-01T03:00:00Z"), 10),
        times({"2026-01-01T01:15:00Z", "2026-01-01T02:15:00Z"}));
    QCOMPARE(latestMissedFireTime(schedule(rate), at("2026-01-01T00:15:00Z"),
                                  at("2026-01-01T03:00:00Z")),
             at("2026-01-01T02:15:00Z"));

    // A fixed-delay job's next fire follows its last run: nothing to miss.
    const Schedule delay = schedule(job(TimingType::FixedDelay, QStringLiteral("1m")));
    QCOMPARE(missedFireTimes(delay, 0, at("2026-01-01T03:00:00Z"), 10), QList<qint64>());
    QCOMPARE(latestMissedFireTime(delay, 0, at("2026-01-01T03:00:00Z")), std::optional<qint64>());

    const Schedule oneShot =
        schedule(job(TimingType::OneShot, QStringLiteral("2026-01-01T02:00:00Z")));
    QCOMPARE(missedFireTimes(oneShot, 0, at("2026-01-01T03:00:00Z"), 10),
             times({"2026-01-01T02:00:00Z"}));
    QCOMPARE(missedFireTimes(oneShot, at("2026-01-01T02:00:00Z"), at("2026-01-01T03:00:00Z"), 10),
             QList<qint64>());
}

QTEST_GUILESS_MAIN(TstSchedule)
#include "tst_schedule.moc"
