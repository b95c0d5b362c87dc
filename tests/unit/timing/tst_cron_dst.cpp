// Daylight saving, pinned to zones with the transitions worked out (tzdata 2025b):
//
// America/New_York, 2026
//   spring: Sun 2026-03-08 02:00 EST (-05:00) -> 03:00 EDT (-04:00), at 07:00Z;
//           wall times 02:00-02:59 do not exist.
//   fall:   Sun 2026-11-01 02:00 EDT (-04:00) -> 01:00 EST (-05:00), at 06:00Z;
//           wall times 01:00-01:59 happen twice (first -04:00, then -05:00).
// Australia/Lord_Howe, 2026 (a 30-minute shift)
//   fall:   Sun 2026-04-05 02:00 (+11:00) -> 01:30 (+10:30), at 2026-04-04T15:00Z;
//           wall times 01:30-01:59 happen twice.
//   spring: Sun 2026-10-04 02:00 (+10:30) -> 02:30 (+11:00), at 2026-10-03T15:30Z;
//           wall times 02:00-02:29 do not exist.
//
// The rules (docs/timing.md): a wall time in a gap fires at the first instant after the gap;
// in a repeated hour a job whose hour field lists single hours fires once (first pass) and a
// job with a wildcard, range or step hour fires in both passes, keeping its real-time rhythm.
// Expected times are written with their offsets so each one names a single instant.
#include <timing/cronexpression.h>
#include <timing/cronnext.h>
#include <timing/zoneclock.h>

#include <QDateTime>
#include <QtTest>

using namespace kairos;

namespace {

qint64 instantMs(const QString &isoWithOffset)
{
    const QDateTime dt = QDateTime::fromString(isoWithOffset, Qt::ISODate);
    Q_ASSERT_X(dt.isValid() && dt.timeSpec() != Qt::LocalTime, "instantMs",
               qPrintable(isoWithOffset));
    return dt.toMSecsSinceEpoch();
}

// Qt's own rendering of each instant in the zone: independent of formatLocalIso.
QStringList qtIso(const QList<qint64> &times, const QTimeZone &zone)
{
    QStringList out;
    for (const qint64 t : times)
        out << QDateTime::fromMSecsSinceEpoch(t, zone).toString(Qt::ISODate);
    return out;
}

} // namespace

class TstCronDst : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void firesThroughTransitions_data();
    void firesThroughTransitions();
    void everyFifteenMinutesKeepsRhythmThroughFallBack();
    void pinnedJobFiresOncePerDayAroundTransitions_data();
    void pinnedJobFiresOncePerDayAroundTransitions();
    void formatLocalIsoShowsOffset_data();
    void formatLocalIsoShowsOffset();
    void instantForWallAppliesTheSameRules_data();
    void instantForWallAppliesTheSameRules();
};

void TstCronDst::initTestCase()
{
    // Make sure the zone data knows the transitions this file is built on.
    const QTimeZone ny(QByteArrayLiteral("America/New_York"));
    const QTimeZone lh(QByteArrayLiteral("Australia/Lord_Howe"));
    QVERIFY(ny.isValid());
    QVERIFY(lh.isValid());
    const auto nySpring = ny.nextTransition(
        QDateTime::fromMSecsSinceEpoch(instantMs("2026-03-01T00:00:00Z"), Qt::UTC));
    QCOMPARE(nySpring.atUtc.toMSecsSinceEpoch(), instantMs("2026-03-08T07:00:00Z"));
    const auto lhFall = lh.nextTransition(
        QDateTime::fromMSecsSinceEpoch(instantMs("2026-04-01T00:00:00Z"), Qt::UTC));
    QCOMPARE(lhFall.atUtc.toMSecsSinceEpoch(), instantMs("2026-04-04T15:00:00Z"));
    QCOMPARE(lhFall.offsetFromUtc, 10 * 3600 + 1800);
}

void TstCronDst::firesThroughTransitions_data()
{
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QString>("expr");
    QTest::addColumn<QString>("from");
    QTest::addColumn<QStringList>("expected");
    const QString ny = QStringLiteral("America/New_York");
    const QString lh = QStringLiteral("Australia/Lord_Howe");

    // --- New York, spring forward ---
    QTest::newRow("ny: daily 02:30 fires at 03:00 EDT on the gap day")
        << ny << "0 30 2 * * ?"
        << "2026-03-06T12:00:00-05:00"
        << QStringList{"2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00",
                       "2026-03-09T02:30:00-04:00"};
    QTest::newRow("ny: unix daily 02:30 fires at 03:00 EDT on the gap day")
        << ny << "30 2 * * *"
        << "2026-03-07T03:00:00-05:00"
        << QStringList{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"};
    QTest::newRow("ny: 02:00, 02:30 and 03:00 collapse into one fire")
        << ny << "0 0,30 2,3 * * ?"
        << "2026-03-08T01:00:00-05:00"
        << QStringList{"2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00",
                       "2026-03-09T02:00:00-04:00"};
    QTest::newRow("ny: every 15 minutes skips the missing hour")
        << ny << "0 */15 * * * ?"
        << "2026-03-08T01:30:00-05:00"
        << QStringList{"2026-03-08T01:45:00-05:00", "2026-03-08T03:00:00-04:00",
                       "2026-03-08T03:15:00-04:00"};
    QTest::newRow("ny: hourly goes 01:00 EST -> 03:00 EDT")
        << ny << "0 0 * * * ?"
        << "2026-03-08T00:30:00-05:00"
        << QStringList{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00",
                       "2026-03-08T04:00:00-04:00"};
    // The 02:07 wall time does not exist: it fires at the first instant after the gap.
    QTest::newRow("ny: hourly at :07 moves the missing 02:07 to 03:00")
        << ny << "0 7 * * * ?"
        << "2026-03-08T01:30:00-05:00"
        << QStringList{"2026-03-08T03:00:00-04:00", "2026-03-08T03:07:00-04:00",
                       "2026-03-08T04:07:00-04:00"};
    QTest::newRow("ny: from exactly one second before the gap")
        << ny << "0 30 2 * * ?"
        << "2026-03-08T01:59:59-05:00" << QStringList{"2026-03-08T03:00:00-04:00"};
    QTest::newRow("ny: from the transition instant the gap fire is past")
        << ny << "0 30 2 * * ?"
        << "2026-03-08T03:00:00-04:00" << QStringList{"2026-03-09T02:30:00-04:00"};

    // --- New York, fall back ---
    QTest::newRow("ny: pinned 01:30 fires on the first pass only")
        << ny << "0 30 1 * * ?"
        << "2026-10-31T12:00:00-04:00"
        << QStringList{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"};
    QTest::newRow("ny: pinned 01:30 asked from the first pass after firing")
        << ny << "0 30 1 * * ?"
        << "2026-11-01T01:45:00-04:00" << QStringList{"2026-11-02T01:30:00-05:00"};
    QTest::newRow("ny: pinned 01:30 asked from inside the second pass")
        << ny << "0 30 1 * * ?"
        << "2026-11-01T01:10:00-05:00" << QStringList{"2026-11-02T01:30:00-05:00"};
    QTest::newRow("ny: pinned hour with minute step stays in the first pass")
        << ny << "0 */20 1 * * ?"
        << "2026-11-01T00:00:00-04:00"
        << QStringList{"2026-11-01T01:00:00-04:00", "2026-11-01T01:20:00-04:00",
                       "2026-11-01T01:40:00-04:00", "2026-11-02T01:00:00-05:00"};
    QTest::newRow("ny: unix pinned 01:00 fires once")
        << ny << "0 1 * * *"
        << "2026-10-31T12:00:00-04:00"
        << QStringList{"2026-11-01T01:00:00-04:00", "2026-11-02T01:00:00-05:00"};
    QTest::newRow("ny: hour step */1 fires in both passes")
        << ny << "0 0 */1 * * ?"
        << "2026-11-01T00:30:00-04:00"
        << QStringList{"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00",
                       "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"};
    QTest::newRow("ny: @hourly fires in both passes")
        << ny << "@hourly"
        << "2026-11-01T00:30:00-04:00"
        << QStringList{"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00",
                       "2026-11-01T02:00:00-05:00"};
    QTest::newRow("ny: every hour at :30 fires in both passes")
        << ny << "0 30 * * * ?"
        << "2026-11-01T00:45:00-04:00"
        << QStringList{"2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00",
                       "2026-11-01T02:30:00-05:00"};
    QTest::newRow("ny: hour range keeps its rhythm")
        << ny << "0 0 0-3 * * ?"
        << "2026-10-31T23:00:00-04:00"
        << QStringList{"2026-11-01T00:00:00-04:00", "2026-11-01T01:00:00-04:00",
                       "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00",
                       "2026-11-01T03:00:00-05:00"};

    // --- Lord Howe, 30-minute fall back ---
    QTest::newRow("lh: every 30 minutes fires in both passes of 01:30")
        << lh << "0 */30 * * * ?"
        << "2026-04-05T00:45:00+11:00"
        << QStringList{"2026-04-05T01:00:00+11:00", "2026-04-05T01:30:00+11:00",
                       "2026-04-05T01:30:00+10:30", "2026-04-05T02:00:00+10:30",
                       "2026-04-05T02:30:00+10:30"};
    QTest::newRow("lh: every 15 minutes keeps its rhythm")
        << lh << "0 */15 * * * ?"
        << "2026-04-05T01:20:00+11:00"
        << QStringList{"2026-04-05T01:30:00+11:00", "2026-04-05T01:45:00+11:00",
                       "2026-04-05T01:30:00+10:30", "2026-04-05T01:45:00+10:30",
                       "2026-04-05T02:00:00+10:30"};
    QTest::newRow("lh: pinned 01:45 fires once")
        << lh << "0 45 1 * * ?"
        << "2026-04-04T12:00:00+11:00"
        << QStringList{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"};
    QTest::newRow("lh: pinned 01:15 is not repeated anyway")
        << lh << "0 15 1 * * ?"
        << "2026-04-04T12:00:00+11:00"
        << QStringList{"2026-04-05T01:15:00+11:00", "2026-04-06T01:15:00+10:30"};

    // --- Lord Howe, 30-minute spring forward ---
    QTest::newRow("lh: every 30 minutes across the gap")
        << lh << "0 */30 * * * ?"
        << "2026-10-04T01:00:00+10:30"
        << QStringList{"2026-10-04T01:30:00+10:30", "2026-10-04T02:30:00+11:00",
                       "2026-10-04T03:00:00+11:00"};
    QTest::newRow("lh: every 20 minutes: 02:00 and 02:20 move to 02:30")
        << lh << "0 */20 * * * ?"
        << "2026-10-04T01:30:00+10:30"
        << QStringList{"2026-10-04T01:40:00+10:30", "2026-10-04T02:30:00+11:00",
                       "2026-10-04T02:40:00+11:00"};
    QTest::newRow("lh: daily 02:15 fires at 02:30 on the gap day")
        << lh << "0 15 2 * * ?"
        << "2026-10-03T12:00:00+10:30"
        << QStringList{"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"};
}

void TstCronDst::firesThroughTransitions()
{
    QFETCH(QString, zone);
    QFETCH(QString, expr);
    QFETCH(QString, from);
    QFETCH(QStringList, expected);
    const QTimeZone tz(zone.toUtf8());
    QVERIFY(tz.isValid());
    const auto times = nextFireTimes(expr, zone, instantMs(from), int(expected.size()));
    QVERIFY2(times.ok(), qPrintable(times.error()));
    QCOMPARE(qtIso(*times, tz), expected);
    // The same instants, compared as numbers, so a formatting quirk cannot hide a wrong time.
    QList<qint64> expectedMs;
    for (const QString &iso : expected)
        expectedMs << instantMs(iso);
    QCOMPARE(*times, expectedMs);
}

void TstCronDst::everyFifteenMinutesKeepsRhythmThroughFallBack()
{
    // From 01:00 EDT up to (not including) 02:00 EST there are 8 fires, 15 real minutes apart:
    // four in the EDT pass and four in the EST pass; no 2-hour hole, no doubled instant.
    const QTimeZone ny(QByteArrayLiteral("America/New_York"));
    const auto cron = CronExpression::parse(QStringLiteral("0 */15 * * * ?"));
    QVERIFY(cron.ok());
    const qint64 start = instantMs(QStringLiteral("2026-11-01T01:00:00-04:00"));
    const qint64 end = instantMs(QStringLiteral("2026-11-01T02:00:00-05:00"));
    QList<qint64> fires;
    for (auto t = cron->nextAfter(start - 1, ny); t && *t < end; t = cron->nextAfter(*t, ny))
        fires << *t;
    QCOMPARE(fires.size(), 8);
    for (qsizetype i = 1; i < fires.size(); ++i)
        QCOMPARE(fires[i] - fires[i - 1], qint64(15 * 60 * 1000));
    QCOMPARE(fires.first(), start);
    QCOMPARE(end - fires.last(), qint64(15 * 60 * 1000));
}

void TstCronDst::pinnedJobFiresOncePerDayAroundTransitions_data()
{
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QString>("expr");
    QTest::addColumn<QString>("from");
    QTest::newRow("ny 02:30 over the spring week") << "America/New_York"
                                                   << "0 30 2 * * ?"
                                                   << "2026-03-05T00:00:00-05:00";
    QTest::newRow("ny 01:30 over the fall week") << "America/New_York"
                                                 << "0 30 1 * * ?"
                                                 << "2026-10-29T00:00:00-04:00";
    QTest::newRow("lh 01:45 over the fall week") << "Australia/Lord_Howe"
                                                 << "0 45 1 * * ?"
                                                 << "2026-04-02T00:00:00+11:00";
    QTest::newRow("lh 02:15 over the spring week") << "Australia/Lord_Howe"
                                                   << "0 15 2 * * ?"
                                                   << "2026-10-01T00:00:00+10:30";
}

void TstCronDst::pinnedJobFiresOncePerDayAroundTransitions()
{
    // A daily job fires exactly once on each local date, transition day included.
    QFETCH(QString, zone);
    QFETCH(QString, expr);
    QFETCH(QString, from);
    const QTimeZone tz(zone.toUtf8());
    const auto times = nextFireTimes(expr, zone, instantMs(from), 8);
    QVERIFY2(times.ok(), qPrintable(times.error()));
    QCOMPARE(times->size(), 8);
    QDate previous;
    for (const qint64 t : *times) {
        const QDate day = QDateTime::fromMSecsSinceEpoch(t, tz).date();
        if (previous.isValid())
            QCOMPARE(previous.daysTo(day), qint64(1));
        previous = day;
    }
}

void TstCronDst::formatLocalIsoShowsOffset_data()
{
    QTest::addColumn<QString>("instant");
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QString>("expected");
    QTest::newRow("ny after the gap") << "2026-03-08T07:00:00Z"
                                      << "America/New_York"
                                      << "2026-03-08T03:00:00-04:00";
    QTest::newRow("ny second pass") << "2026-11-01T06:30:00Z"
                                    << "America/New_York"
                                    << "2026-11-01T01:30:00-05:00";
    QTest::newRow("lh half-hour offset") << "2026-04-04T15:00:00Z"
                                         << "Australia/Lord_Howe"
                                         << "2026-04-05T01:30:00+10:30";
    QTest::newRow("utc") << "2026-01-01T00:00:00Z"
                         << "UTC"
                         << "2026-01-01T00:00:00+00:00";
    QTest::newRow("milliseconds") << "2026-01-01T00:00:00.250Z"
                                  << "UTC"
                                  << "2026-01-01T00:00:00.250+00:00";
    QTest::newRow("before 1970") << "1969-12-31T23:59:59Z"
                                 << "UTC"
                                 << "1969-12-31T23:59:59+00:00";
}

void TstCronDst::formatLocalIsoShowsOffset()
{
    QFETCH(QString, instant);
    QFETCH(QString, zone);
    QFETCH(QString, expected);
    QCOMPARE(formatLocalIso(instantMs(instant), QTimeZone(zone.toUtf8())), expected);
}

void TstCronDst::instantForWallAppliesTheSameRules_data()
{
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QString>("wall");
    QTest::addColumn<QString>("expected");
    QTest::newRow("ny plain") << "America/New_York"
                              << "2026-07-01T09:00:00"
                              << "2026-07-01T09:00:00-04:00";
    QTest::newRow("ny in the gap") << "America/New_York"
                                   << "2026-03-08T02:30:00"
                                   << "2026-03-08T03:00:00-04:00";
    QTest::newRow("ny repeated: first pass") << "America/New_York"
                                             << "2026-11-01T01:30:00"
                                             << "2026-11-01T01:30:00-04:00";
    QTest::newRow("ny just after the repeat") << "America/New_York"
                                              << "2026-11-01T02:00:00"
                                              << "2026-11-01T02:00:00-05:00";
    QTest::newRow("lh in the gap") << "Australia/Lord_Howe"
                                   << "2026-10-04T02:10:00"
                                   << "2026-10-04T02:30:00+11:00";
    QTest::newRow("lh repeated: first pass") << "Australia/Lord_Howe"
                                             << "2026-04-05T01:40:00"
                                             << "2026-04-05T01:40:00+11:00";
}

void TstCronDst::instantForWallAppliesTheSameRules()
{
    QFETCH(QString, zone);
    QFETCH(QString, wall);
    QFETCH(QString, expected);
    const QDateTime w = QDateTime::fromString(wall + QLatin1Char('Z'), Qt::ISODate);
    QVERIFY(w.isValid());
    const qint64 instant = timing::instantForWall(QTimeZone(zone.toUtf8()), w.toSecsSinceEpoch());
    QCOMPARE(instant * 1000, instantMs(expected));
}

QTEST_GUILESS_MAIN(TstCronDst)
#include "tst_cron_dst.moc"
