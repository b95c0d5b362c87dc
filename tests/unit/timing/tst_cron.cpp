// Cron expressions as a user writes them: every operator of both dialects fires when the user
// expects (expected times worked out on a calendar, in UTC), every mistake is refused with a
// message naming the field, and an expression that never fires says so at once.
#include <timing/cronexpression.h>
#include <timing/cronnext.h>

#include <QDateTime>
#include <QElapsedTimer>
#include <QtTest>

using namespace kairos;

namespace {

qint64 utcMs(const QString &iso)
{
    const QDateTime dt = QDateTime::fromString(iso, Qt::ISODate);
    Q_ASSERT_X(dt.isValid() && dt.timeSpec() != Qt::LocalTime, "utcMs", qPrintable(iso));
    return dt.toMSecsSinceEpoch();
}

QStringList isoUtc(const QList<qint64> &times)
{
    QStringList out;
    for (const qint64 t : times)
        out << QDateTime::fromMSecsSinceEpoch(t, Qt::UTC).toString(Qt::ISODate);
    return out;
}

// The next `count` fire times after `fromIso`, in UTC, as ISO strings.
QStringList nextUtc(const QString &expr, const QString &fromIso, int count)
{
    const auto times = nextFireTimes(expr, QStringLiteral("UTC"), utcMs(fromIso), count);
    if (!times.ok())
        return {QStringLiteral("ERROR: ") + times.error()};
    return isoUtc(*times);
}

} // namespace

class TstCron : public QObject {
    Q_OBJECT
private slots:
    void firesWhenExpected_data();
    void firesWhenExpected();
    void dialectFollowsFieldCount_data();
    void dialectFollowsFieldCount();
    void refusesWithFieldMessage_data();
    void refusesWithFieldMessage();
    void neverFiringExpressionEndsQuickly_data();
    void neverFiringExpressionEndsQuickly();
    void fireTimesAreStrictlyAfterAndWholeSeconds();
    void yearRangeRunsOutAfterLastYear();
    void frequentExpressionOverManyFiresTerminates();
    void nextFireTimesReportsBadInput_data();
    void nextFireTimesReportsBadInput();
    void batchLine_data();
    void batchLine();
};

void TstCron::firesWhenExpected_data()
{
    QTest::addColumn<QString>("expr");
    QTest::addColumn<QString>("from");
    QTest::addColumn<QStringList>("expected");
    const QString jan1 = QStringLiteral("2026-01-01T00:00:00Z"); // a Thursday

    // --- Quartz: seconds, lists, ranges, steps ---
    QTest::newRow("every second") << "* * * * * ?" << jan1
                                  << QStringList{"2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z",
                                                 "2026-01-01T00:00:03Z"};
    QTest::newRow("second list") << "0,15,30 * * * * ?"
                                 << "2026-01-01T00:00:20Z"
                                 << QStringList{"2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z",
                                                "2026-01-01T00:01:15Z"};
    QTest::newRow("minute range") << "0 10-12 * * * ?" << jan1
                                  << QStringList{"2026-01-01T00:10:00Z", "2026-01-01T00:11:00Z",
                                                 "2026-01-01T00:12:00Z", "2026-01-01T01:10:00Z"};
    QTest::newRow("star step") << "0 */20 * * * ?" << jan1
                               << QStringList{"2026-01-01T00:20:00Z", "2026-01-01T00:40:00Z",
                                              "2026-01-01T01:00:00Z"};
    QTest::newRow("range step") << "0 5-30/10 * * * ?" << jan1
                                << QStringList{"2026-01-01T00:05:00Z", "2026-01-01T00:15:00Z",
                                               "2026-01-01T00:25:00Z", "2026-01-01T01:05:00Z"};
    QTest::newRow("number/step is number-max/step")
        << "0 7/20 * * * ?" << jan1
        << QStringList{"2026-01-01T00:07:00Z", "2026-01-01T00:27:00Z", "2026-01-01T00:47:00Z",
                       "2026-01-01T01:07:00Z"};
    QTest::newRow("reversed minute range wraps")
        << "0 55-2 * * * ?" << jan1
        << QStringList{"2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:55:00Z",
                       "2026-01-01T00:56:00Z"};
    QTest::newRow("reversed hour range wraps")
        << "0 0 22-1 * * ?" << jan1
        << QStringList{"2026-01-01T01:00:00Z", "2026-01-01T22:00:00Z", "2026-01-01T23:00:00Z",
                       "2026-01-02T00:00:00Z"};
    QTest::newRow("wrapped range with step")
        << "0 50-10/10 * * * ?"
        << "2026-01-01T00:45:00Z"
        << QStringList{"2026-01-01T00:50:00Z", "2026-01-01T01:00:00Z", "2026-01-01T01:10:00Z",
                       "2026-01-01T01:50:00Z"};

    // --- Quartz: months and days of week ---
    QTest::newRow("month names") << "0 0 0 1 JAN,JUL ?" << jan1
                                 << QStringList{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z",
                                                "2027-07-01T00:00:00Z"};
    QTest::newRow("month step") << "0 0 0 1 */4 ?" << jan1
                                << QStringList{"2026-05-01T00:00:00Z", "2026-09-01T00:00:00Z",
                                               "2027-01-01T00:00:00Z"};
    QTest::newRow("dow numbers 2-6 are MON-FRI")
        << "0 0 9 ? * 2-6" << jan1
        << QStringList{"2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z",
                       "2026-01-06T09:00:00Z"};
    QTest::newRow("dow names") << "0 30 8 ? * MON,WED" << jan1
                               << QStringList{"2026-01-05T08:30:00Z", "2026-01-07T08:30:00Z",
                                              "2026-01-12T08:30:00Z"};
    QTest::newRow("dow lower case")
        << "0 0 12 ? * mon-fri" << jan1
        << QStringList{"2026-01-01T12:00:00Z", "2026-01-02T12:00:00Z", "2026-01-05T12:00:00Z"};
    QTest::newRow("dow range wraps FRI-MON")
        << "0 0 12 ? * FRI-MON" << jan1
        << QStringList{"2026-01-02T12:00:00Z", "2026-01-03T12:00:00Z", "2026-01-04T12:00:00Z",
                       "2026-01-05T12:00:00Z", "2026-01-09T12:00:00Z"};
    QTest::newRow("dow step from SUN")
        << "0 0 0 ? * */3" << jan1 // 1,4,7 = SUN, WED, SAT
        << QStringList{"2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-07T00:00:00Z"};
    QTest::newRow("star in both day fields is every day")
        << "0 0 6 * * *" << jan1 << QStringList{"2026-01-01T06:00:00Z", "2026-01-02T06:00:00Z"};
    QTest::newRow("star day-of-month with a weekday is that weekday")
        << "0 0 12 * * MON" << jan1
        << QStringList{"2026-01-05T12:00:00Z", "2026-01-12T12:00:00Z", "2026-01-19T12:00:00Z"};

    // --- Quartz: L, W, # ---
    QTest::newRow("L last day") << "0 0 0 L * ?" << jan1
                                << QStringList{"2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z",
                                               "2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z"};
    QTest::newRow("L-3 third to last day")
        << "0 0 0 L-3 * ?" << jan1
        << QStringList{"2026-01-28T00:00:00Z", "2026-02-25T00:00:00Z", "2026-03-28T00:00:00Z",
                       "2026-04-27T00:00:00Z"};
    // Jan 31 and Feb 28 2026 are Saturdays, May 31 a Sunday.
    QTest::newRow("LW last weekday")
        << "0 0 0 LW * ?" << jan1
        << QStringList{"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-31T00:00:00Z",
                       "2026-04-30T00:00:00Z", "2026-05-29T00:00:00Z"};
    QTest::newRow("L-1W") << "0 0 0 L-1W * ?" << jan1 // Jan 30 Fri, Feb 27 Fri, Mar 30 Mon
                          << QStringList{"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z",
                                         "2026-03-30T00:00:00Z"};
    // Feb 15 and Mar 15 2026 are Sundays; Aug 15 a Saturday.
    QTest::newRow("15W nearest weekday")
        << "0 0 0 15W * ?" << jan1
        << QStringList{"2026-01-15T00:00:00Z", "2026-02-16T00:00:00Z", "2026-03-16T00:00:00Z",
                       "2026-04-15T00:00:00Z"};
    QTest::newRow("15W on a Saturday moves back")
        << "0 0 0 15W 8 ?" << jan1 << QStringList{"2026-08-14T00:00:00Z"};
    // Aug 1 2026 is a Saturday: W never leaves the month, so Monday the 3rd. Nov 1 is a Sunday.
    QTest::newRow("1W on a Saturday is Monday the 3rd")
        << "0 0 0 1W * ?"
        << "2026-07-15T00:00:00Z"
        << QStringList{"2026-08-03T00:00:00Z", "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z",
                       "2026-11-02T00:00:00Z"};
    // May 31 2026 is a Sunday: back to Friday the 29th. June has no 31st.
    QTest::newRow("31W on a Sunday is Friday the 29th")
        << "0 0 0 31W * ?"
        << "2026-04-15T00:00:00Z"
        << QStringList{"2026-05-29T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"};
    QTest::newRow("L alone in day-of-week is Saturday")
        << "0 0 0 ? * L" << jan1
        << QStringList{"2026-01-03T00:00:00Z", "2026-01-10T00:00:00Z", "2026-01-17T00:00:00Z"};
    QTest::newRow("6L last Friday")
        << "0 0 0 ? * 6L" << jan1
        << QStringList{"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-27T00:00:00Z"};
    QTest::newRow("FRIL last Friday by name")
        << "0 0 0 ? * FRIL" << jan1 << QStringList{"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z"};
    QTest::newRow("6#3 third Friday")
        << "0 0 0 ? * 6#3" << jan1
        << QStringList{"2026-01-16T00:00:00Z", "2026-02-20T00:00:00Z", "2026-03-20T00:00:00Z"};
    QTest::newRow("MON#5 skips months without a fifth Monday")
        << "0 0 0 ? * MON#5" << jan1
        << QStringList{"2026-03-30T00:00:00Z", "2026-06-29T00:00:00Z", "2026-08-31T00:00:00Z",
                       "2026-11-30T00:00:00Z"};

    // --- Quartz: years and leap days ---
    QTest::newRow("29 February only in leap years")
        << "0 0 0 29 2 ?" << jan1
        << QStringList{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"};
    QTest::newRow("2100 is not a leap year")
        << "0 0 0 29 2 ?"
        << "2096-03-01T00:00:00Z" << QStringList{"2104-02-29T00:00:00Z", "2108-02-29T00:00:00Z"};
    QTest::newRow("year list and range run out")
        << "0 0 12 1 1 ? 2030,2035-2036" << jan1
        << QStringList{"2030-01-01T12:00:00Z", "2035-01-01T12:00:00Z", "2036-01-01T12:00:00Z"};
    QTest::newRow("year step") << "0 0 0 1 1 ? 2030/10" << jan1
                               << QStringList{"2030-01-01T00:00:00Z", "2040-01-01T00:00:00Z",
                                              "2050-01-01T00:00:00Z"};

    // --- Unix (5 fields, minute resolution, 0-7 day-of-week) ---
    QTest::newRow("unix step") << "*/15 * * * *" << jan1
                               << QStringList{"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z",
                                              "2026-01-01T00:45:00Z"};
    QTest::newRow("unix weekdays 1-5")
        << "30 8 * * 1-5" << jan1
        << QStringList{"2026-01-01T08:30:00Z", "2026-01-02T08:30:00Z", "2026-01-05T08:30:00Z"};
    QTest::newRow("unix 7 is Sunday")
        << "0 0 * * 7" << jan1 << QStringList{"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"};
    QTest::newRow("unix 0 is Sunday")
        << "0 0 * * 0" << jan1 << QStringList{"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"};
    QTest::newRow("unix 7-1 is SUN-MON")
        << "0 0 * * 7-1" << jan1
        << QStringList{"2026-01-04T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-11T00:00:00Z"};
    QTest::newRow("unix FRI-SUN wraps")
        << "0 0 * * FRI-SUN" << jan1
        << QStringList{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
                       "2026-01-09T00:00:00Z"};
    // Vixie's rule: both day fields restricted -> a day matches if EITHER does.
    QTest::newRow("unix OR rule: 13th or Fridays")
        << "0 0 13 * FRI" << jan1
        << QStringList{"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z",
                       "2026-01-16T00:00:00Z"};
    QTest::newRow("unix OR rule: first week or Mondays")
        << "0 0 1-7 * 1" << jan1
        << QStringList{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
                       "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z", "2026-01-07T00:00:00Z",
                       "2026-01-12T00:00:00Z"};
    // A field starting with * (even */10) is unrestricted for the rule, as in Vixie cron: AND.
    QTest::newRow("unix */10 day-of-month ANDs with Monday")
        << "0 0 */10 * MON" << jan1
        << QStringList{"2026-05-11T00:00:00Z", "2026-06-01T00:00:00Z", "2026-08-31T00:00:00Z"};
    QTest::newRow("unix month names")
        << "0 12 1 jan,jul *" << jan1
        << QStringList{"2026-01-01T12:00:00Z", "2026-07-01T12:00:00Z"};

    // --- Macros (Unix meaning) ---
    QTest::newRow("@yearly") << "@yearly" << jan1
                             << QStringList{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"};
    QTest::newRow("@annually") << "@annually" << jan1 << QStringList{"2027-01-01T00:00:00Z"};
    QTest::newRow("@monthly") << "@monthly" << jan1
                              << QStringList{"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"};
    QTest::newRow("@weekly") << "@weekly" << jan1
                             << QStringList{"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"};
    QTest::newRow("@daily") << "@daily" << jan1
                            << QStringList{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"};
    QTest::newRow("@midnight") << "@MIDNIGHT" << jan1 << QStringList{"2026-01-02T00:00:00Z"};
    QTest::newRow("@hourly") << "@hourly" << jan1
                             << QStringList{"2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"};
}

void TstCron::firesWhenExpected()
{
    QFETCH(QString, expr);
    QFETCH(QString, from);
    QFETCH(QStringList, expected);
    const auto parsed = CronExpression::parse(expr);
    QVERIFY2(parsed.ok(), qPrintable(parsed.error()));
    // Ask for one more than expected when the expression runs out (year rows), so "fewer"
    // is checked too.
    const bool runsOut = QByteArray(QTest::currentDataTag()).contains("run out");
    QCOMPARE(nextUtc(expr, from, int(expected.size()) + (runsOut ? 2 : 0)), expected);
}

void TstCron::dialectFollowsFieldCount_data()
{
    QTest::addColumn<QString>("expr");
    QTest::addColumn<int>("dialect");
    QTest::addColumn<bool>("pinned");
    QTest::newRow("5 fields") << "0 2 * * *" << int(CronDialect::Unix) << true;
    QTest::newRow("6 fields") << "0 0 2 * * ?" << int(CronDialect::Quartz) << true;
    QTest::newRow("7 fields") << "0 0 2 * * ? 2030" << int(CronDialect::Quartz) << true;
    QTest::newRow("macro") << "@daily" << int(CronDialect::Unix) << true;
    QTest::newRow("hour list is pinned") << "0 0 1,13 * * ?" << int(CronDialect::Quartz) << true;
    QTest::newRow("hour star") << "0 0 * * * ?" << int(CronDialect::Quartz) << false;
    QTest::newRow("hour step") << "0 0 */1 * * ?" << int(CronDialect::Quartz) << false;
    QTest::newRow("hour range") << "0 0 1-3 * * ?" << int(CronDialect::Quartz) << false;
    QTest::newRow("@hourly") << "@hourly" << int(CronDialect::Unix) << false;
}

void TstCron::dialectFollowsFieldCount()
{
    QFETCH(QString, expr);
    QFETCH(int, dialect);
    QFETCH(bool, pinned);
    const auto parsed = CronExpression::parse(expr);
    QVERIFY2(parsed.ok(), qPrintable(parsed.error()));
    QCOMPARE(int(parsed->dialect()), dialect);
    QCOMPARE(parsed->isWallClockPinned(), pinned);
    QCOMPARE(parsed->expression(), expr);
}

void TstCron::refusesWithFieldMessage_data()
{
    QTest::addColumn<QString>("expr");
    QTest::addColumn<QString>("message");
    // The refusals Quartz would let through (or misread).
    QTest::newRow("step 0") << "0 */0 * * * ?"
                            << "minutes: step must be at least 1";
    QTest::newRow("unix step 0") << "*/0 * * * *"
                                 << "minutes: step must be at least 1";
    QTest::newRow("step after a name")
        << "0 0 12 ? * MON/2"
        << "day-of-week: a step must follow * or a range, not the single name \"MON\" (write "
           "MON-SAT/2 or */2)";
    QTest::newRow("step after a month name")
        << "0 0 0 1 JAN/3 ?"
        << "month: a step must follow * or a range, not the single name \"JAN\" (write "
           "JAN-DEC/3 or */3)";
    QTest::newRow("W after a range")
        << "0 0 0 1-15W * ?"
        << "day-of-month: W must follow a single day (e.g. 15W) or L, got "
           "\"1-15W\"";
    QTest::newRow("0W") << "0 0 0 0W * ?"
                        << "day-of-month: 0 is outside 1-31";
    QTest::newRow("32W") << "0 0 0 32W * ?"
                         << "day-of-month: 32 is outside 1-31";
    QTest::newRow("minute 99") << "0 99 * * * ?"
                               << "minutes: 99 is outside 0-59";
    QTest::newRow("unix minute 99") << "99 * * * *"
                                    << "minutes: 99 is outside 0-59";
    QTest::newRow("second 60") << "60 * * * * ?"
                               << "seconds: 60 is outside 0-59";
    QTest::newRow("hour 24") << "0 0 24 * * ?"
                             << "hours: 24 is outside 0-23";
    QTest::newRow("day 32") << "0 0 0 32 * ?"
                            << "day-of-month: 32 is outside 1-31";
    QTest::newRow("day 0") << "0 0 0 0 * ?"
                           << "day-of-month: 0 is outside 1-31";
    QTest::newRow("month 13") << "0 0 0 1 13 ?"
                              << "month: 13 is outside 1-12";
    QTest::newRow("month 0") << "0 0 0 1 0 ?"
                             << "month: 0 is outside 1-12";
    QTest::newRow("quartz dow 8") << "0 0 0 ? * 8"
                                  << "day-of-week: 8 is outside 1-7";
    QTest::newRow("quartz dow 0") << "0 0 0 ? * 0"
                                  << "day-of-week: 0 is outside 1-7";
    QTest::newRow("unix dow 8") << "0 0 * * 8"
                                << "day-of-week: 8 is outside 0-7";
    QTest::newRow("year 2200") << "0 0 0 1 1 ? 2200"
                               << "year: 2200 is outside 1970-2199";
    QTest::newRow("year 1969") << "0 0 0 1 1 ? 1969"
                               << "year: 1969 is outside 1970-2199";
    QTest::newRow("huge number") << "0 12345678901234567890 * * * ?"
                                 << "minutes: 12345678901234567890 is outside 0-59";
    QTest::newRow("reversed years") << "0 0 0 1 1 ? 2030-2020"
                                    << "year: range 2030-2020 is reversed (years do not wrap "
                                       "around)";
    QTest::newRow("# occurrence 6") << "0 0 0 ? * 6#6"
                                    << "day-of-week: the occurrence after # must be 1-5, got 6";
    QTest::newRow("# occurrence 0") << "0 0 0 ? * FRI#0"
                                    << "day-of-week: the occurrence after # must be 1-5, got 0";
    QTest::newRow("# weekday 9") << "0 0 0 ? * 9#2"
                                 << "day-of-week: 9 is outside 1-7";
    QTest::newRow("# without weekday")
        << "0 0 0 ? * #3"
        << "day-of-week: \"#3\" is not a valid # expression (expected weekday#n, e.g. 6#3)";
    QTest::newRow("# after a range")
        << "0 0 0 ? * 2-3#1"
        << "day-of-week: # must follow a single weekday, got \"2-3#1\"";
    QTest::newRow("empty list item") << "0 1,,2 * * * ?"
                                     << "minutes: empty value in \"1,,2\"";
    QTest::newRow("trailing comma") << "0 1, * * * ?"
                                    << "minutes: empty value in \"1,\"";
    QTest::newRow("4 fields") << "* * * *"
                              << "expected 5 fields (Unix) or 6-7 fields (Quartz), "
                                 "got 4";
    QTest::newRow("8 fields") << "0 0 0 1 1 ? 2030 x"
                              << "expected 5 fields (Unix) or 6-7 fields (Quartz), got 8";
    QTest::newRow("empty") << "   "
                           << "expected 5 fields (Unix) or 6-7 fields (Quartz), got 0";
    QTest::newRow("unknown month name") << "0 0 0 1 JANU ?"
                                        << "month: unknown name \"JANU\" (expected JAN-DEC)";
    QTest::newRow("unknown day name") << "0 0 0 ? * MOX"
                                      << "day-of-week: unknown name \"MOX\" (expected SUN-SAT)";
    QTest::newRow("month name in day-of-week")
        << "0 0 0 ? * JAN"
        << "day-of-week: unknown name \"JAN\" (expected SUN-SAT)";
    QTest::newRow("name in minutes") << "0 MON * * * ?"
                                     << "minutes: \"MON\" is not a number";
    QTest::newRow("decimal") << "0 1.5 * * * ?"
                             << "minutes: \"1.5\" is not a number";
    QTest::newRow("negative") << "0 -5 * * * ?"
                              << "minutes: \"-5\" is not a valid range (expected a-b)";
    QTest::newRow("open range") << "0 5- * * * ?"
                                << "minutes: \"5-\" is not a valid range (expected a-b)";
    QTest::newRow("double range") << "0 1-2-3 * * * ?"
                                  << "minutes: \"1-2-3\" is not a valid range (expected a-b)";
    QTest::newRow("two steps") << "0 1/2/3 * * * ?"
                               << "minutes: \"1/2/3\" has more than one /";
    QTest::newRow("missing step") << "0 5/ * * * ?"
                                  << "minutes: a number must follow / in \"5/\"";
    QTest::newRow("step without start")
        << "0 /5 * * * ?"
        << "minutes: a value, range or * must come before / in \"/5\"";
    QTest::newRow("step not a number") << "0 */x * * * ?"
                                       << "minutes: step \"X\" is not a number";
    QTest::newRow("step too large") << "0 */60 * * * ?"
                                    << "minutes: step 60 is too large (at most 59)";
    QTest::newRow("year step too large") << "0 0 0 1 1 ? */300"
                                         << "year: step 300 is too large (at most 229)";
    QTest::newRow("? in both day fields")
        << "0 0 0 ? * ?"
        << "day-of-week: ? may be used in only one of day-of-month and day-of-week";
    QTest::newRow("both day fields restricted")
        << "0 0 0 1 * MON"
        << "day-of-week: a Quartz expression cannot restrict both day-of-month and day-of-week; "
           "put ? in one of them";
    QTest::newRow("? in minutes") << "0 ? * * * ?"
                                  << "minutes: ? is only allowed in day-of-month or day-of-week";
    QTest::newRow("? in a list") << "0 0 0 1,? * ?"
                                 << "day-of-month: ? must stand alone";
    QTest::newRow("L in hours") << "0 0 L * * ?"
                                << "hours: L is only allowed in day-of-month or day-of-week";
    QTest::newRow("W in hours") << "0 0 5W * * ?"
                                << "hours: W is only allowed in day-of-month";
    QTest::newRow("# in day-of-month") << "0 0 0 1#2 * ?"
                                       << "day-of-month: # is only allowed in day-of-week";
    QTest::newRow("L-31") << "0 0 0 L-31 * ?"
                          << "day-of-month: the offset after L- must be 0-30, got 31";
    QTest::newRow("5L in day-of-month")
        << "0 0 0 5L * ?"
        << "day-of-month: \"5L\" is not a valid L expression (expected L, L-3, LW or L-3W)";
    QTest::newRow("L in a day-of-month list")
        << "0 0 0 L,15 * ?"
        << "day-of-month: L and W must stand alone, not in a list (\"L,15\")";
    QTest::newRow("L in a day-of-week list")
        << "0 0 0 ? * 6L,2"
        << "day-of-week: L and # must stand alone, not in a list (\"6L,2\")";
    QTest::newRow("L after a weekday range")
        << "0 0 0 ? * 2-3L"
        << "day-of-week: L must follow a single weekday (e.g. 6L), got "
           "\"2-3L\"";
    QTest::newRow("L-2 in day-of-week")
        << "0 0 0 ? * L-2"
        << "day-of-week: \"L-2\" is not a valid L expression (expected L or a "
           "weekday followed by L, e.g. 6L)";
    QTest::newRow("unix ?") << "0 0 ? * *"
                            << "day-of-month: ? is only allowed in Quartz (6-7 field) expressions";
    QTest::newRow("unix L") << "0 0 L * *"
                            << "day-of-month: L is only allowed in Quartz (6-7 field) expressions";
    QTest::newRow("unix W") << "0 0 15W * *"
                            << "day-of-month: W is only allowed in Quartz (6-7 field) expressions";
    QTest::newRow("unix nL") << "0 0 * * 5L"
                             << "day-of-week: L is only allowed in Quartz (6-7 field) expressions";
    QTest::newRow("unix #") << "0 0 * * 5#2"
                            << "day-of-week: # is only allowed in Quartz (6-7 field) expressions";
    QTest::newRow("unknown macro") << "@reboot"
                                   << "unknown macro \"@reboot\" (expected @yearly, @annually, "
                                      "@monthly, @weekly, @daily, @midnight or @hourly)";
}

void TstCron::refusesWithFieldMessage()
{
    QFETCH(QString, expr);
    QFETCH(QString, message);
    const auto parsed = CronExpression::parse(expr);
    QVERIFY2(!parsed.ok(), qPrintable(QStringLiteral("accepted: ") + expr));
    QCOMPARE(parsed.error(), message);
}

void TstCron::neverFiringExpressionEndsQuickly_data()
{
    QTest::addColumn<QString>("expr");
    QTest::addColumn<QString>("zone");
    QTest::newRow("30 February") << "0 0 0 30 2 ?"
                                 << "UTC";
    QTest::newRow("30 February in a DST zone") << "0 0 0 30 2 ?"
                                               << "America/New_York";
    QTest::newRow("31st of 30-day months") << "0 0 0 31 4,6,9,11 ?"
                                           << "Australia/Lord_Howe";
    QTest::newRow("unix 31 February") << "0 0 31 2 *"
                                      << "Europe/Berlin";
    QTest::newRow("years over") << "0 0 0 1 1 ? 1999-2020"
                                << "America/New_York";
}

void TstCron::neverFiringExpressionEndsQuickly()
{
    QFETCH(QString, expr);
    QFETCH(QString, zone);
    const auto cron = CronExpression::parse(expr);
    QVERIFY2(cron.ok(), qPrintable(cron.error()));
    QElapsedTimer timer;
    timer.start();
    QCOMPARE(
        cron->nextAfter(utcMs(QStringLiteral("2026-01-01T00:00:00Z")), QTimeZone(zone.toUtf8())),
        std::optional<qint64>());
    // A bound, not a benchmark: a search that scanned minute by minute to 2199 would take
    // minutes; a field skip takes microseconds.
    QVERIFY2(timer.elapsed() < 2000, qPrintable(QString::number(timer.elapsed())));
}

void TstCron::fireTimesAreStrictlyAfterAndWholeSeconds()
{
    const auto cron = CronExpression::parse(QStringLiteral("0 0 12 * * ?"));
    QVERIFY(cron.ok());
    const QTimeZone utc(QByteArrayLiteral("UTC"));
    const qint64 noon = utcMs(QStringLiteral("2026-01-01T12:00:00Z"));
    QCOMPARE(cron->nextAfter(noon - 1, utc), noon);
    QCOMPARE(cron->nextAfter(noon, utc), noon + 86400000);
    QCOMPARE(cron->nextAfter(noon - 86400000 + 500, utc), noon);
    // Before 1970 the search starts at 1970-01-01.
    QCOMPARE(cron->nextAfter(-5000, utc), utcMs(QStringLiteral("1970-01-01T12:00:00Z")));
}

void TstCron::yearRangeRunsOutAfterLastYear()
{
    // Performance sanity from the brief: 1,000 next times of a 100-year expression must end,
    // with exactly the 100 fires it has.
    for (const char *zone : {"UTC", "America/New_York"}) {
        const auto times =
            nextFireTimes(QStringLiteral("0 0 0 1 1 ? 2100-2199"), QString::fromLatin1(zone),
                          utcMs(QStringLiteral("2026-06-01T00:00:00Z")), 1000);
        QVERIFY2(times.ok(), qPrintable(times.error()));
        QCOMPARE(times->size(), 100);
        const QTimeZone z(zone);
        QCOMPARE(formatLocalIso(times->first(), z).left(19), QStringLiteral("2100-01-01T00:00:00"));
        QCOMPARE(formatLocalIso(times->last(), z).left(19), QStringLiteral("2199-01-01T00:00:00"));
    }
}

void TstCron::frequentExpressionOverManyFiresTerminates()
{
    // Every 15 minutes for ~104 days, across New York's spring-forward gap: consecutive fires
    // stay exactly 15 real minutes apart (01:45 EST -> 03:00 EDT is 15 minutes), none repeats.
    const auto times =
        nextFireTimes(QStringLiteral("*/15 * * * *"), QStringLiteral("America/New_York"),
                      utcMs(QStringLiteral("2026-01-01T00:00:00Z")), 10000);
    QVERIFY2(times.ok(), qPrintable(times.error()));
    QCOMPARE(times->size(), 10000);
    for (qsizetype i = 1; i < times->size(); ++i)
        QCOMPARE(times->at(i) - times->at(i - 1), qint64(15 * 60 * 1000));
}

void TstCron::nextFireTimesReportsBadInput_data()
{
    QTest::addColumn<QString>("expr");
    QTest::addColumn<QString>("zone");
    QTest::addColumn<int>("count");
    QTest::addColumn<QString>("message");
    QTest::newRow("bad zone") << "* * * * *"
                              << "Mars/Base" << 3 << "timeZone: unknown time zone \"Mars/Base\"";
    QTest::newRow("bad expression") << "0 99 * * * ?"
                                    << "UTC" << 3 << "minutes: 99 is outside 0-59";
    QTest::newRow("negative count") << "* * * * *"
                                    << "UTC" << -1 << "count: must be 0-100000, got -1";
}

void TstCron::nextFireTimesReportsBadInput()
{
    QFETCH(QString, expr);
    QFETCH(QString, zone);
    QFETCH(int, count);
    QFETCH(QString, message);
    const auto times = nextFireTimes(expr, zone, 0, count);
    QVERIFY(!times.ok());
    QCOMPARE(times.error(), message);
}

void TstCron::batchLine_data()
{
    QTest::addColumn<QString>("line");
    QTest::addColumn<int>("count");
    QTest::addColumn<QString>("expected");
    const QString jan1 = QString::number(utcMs(QStringLiteral("2026-01-01T00:00:00Z")));
    const auto ms = [](const char *iso) {
        return QString::number(utcMs(QString::fromLatin1(iso)));
    };
    QTest::newRow("three fires") << "0 0 12 * * ?\tUTC\t" + jan1 << 3
                                 << ms("2026-01-01T12:00:00Z") + '\t' + ms("2026-01-02T12:00:00Z")
                                        + '\t' + ms("2026-01-03T12:00:00Z");
    QTest::newRow("zone is honoured")
        << "0 9 * * *\tAmerica/New_York\t" + jan1 << 2
        << ms("2026-01-01T14:00:00Z") + '\t' + ms("2026-01-02T14:00:00Z");
    QTest::newRow("trailing newline ignored") << "@daily\tUTC\t" + jan1 + "\r\n"
                                              << 1 << ms("2026-01-02T00:00:00Z");
    QTest::newRow("fewer when it runs out")
        << "0 0 0 1 1 ? 2030\tUTC\t" + jan1 << 3 << ms("2030-01-01T00:00:00Z");
    QTest::newRow("empty when it never fires again") << "0 0 0 1 1 ? 2020\tUTC\t" + jan1 << 3 << "";
    QTest::newRow("bad expression")
        << "0 99 * * * ?\tUTC\t0" << 3 << "INVALID\tminutes: 99 is outside 0-59";
    QTest::newRow("bad zone") << "* * * * *\tMars/Base\t0" << 3
                              << "INVALID\ttimeZone: unknown time zone \"Mars/Base\"";
    QTest::newRow("bad number") << "* * * * *\tUTC\tsoon" << 3
                                << "INVALID\tfrom: expected epoch milliseconds, got \"soon\"";
    QTest::newRow("missing field")
        << "* * * * *\tUTC" << 3
        << "INVALID\tinput: expected EXPR<TAB>ZONE<TAB>FROM_EPOCH_MS, got 2 field(s)";
}

void TstCron::batchLine()
{
    QFETCH(QString, line);
    QFETCH(int, count);
    QFETCH(QString, expected);
    QCOMPARE(cronBatchLine(line, count), expected);
}

QTEST_GUILESS_MAIN(TstCron)
#include "tst_cron.moc"
