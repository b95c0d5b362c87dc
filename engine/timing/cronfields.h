#pragma once
// CronFields: the parsed, validated form of a cron expression — one set of allowed values per
// field plus the day-of-month / day-of-week rules (L, W, #) that depend on the month — and the
// parser that builds it from either dialect. CronExpression (cronexpression.h) is the public
// face; this header exists so the matching code and the parser share one representation.
// Everything here is a plain value or a pure function: thread-safe.

#include <core/result.h>

#include <QString>

#include <bitset>

namespace kairos::timing {

enum class CronDialect { Unix, Quartz };

constexpr int kMinYear = 1970;
constexpr int kMaxYear = 2199;

// Which days of a month the day-of-month field allows.
struct DayOfMonthRule {
    enum class Kind : quint8 {
        Every,          // * or ?
        Days,           // a set of days (1-31); days a month lacks never match
        Last,           // L, L-n, LW, L-nW
        NearestWeekday, // nW
    };
    Kind kind = Kind::Every;
    quint32 days = 0;           // Days: bit n = day n
    int day = 0;                // NearestWeekday: n
    int lastOffset = 0;         // Last: n of L-n
    bool nearestToLast = false; // Last: the W of LW / L-nW

    // Bit d set = day d of month m of year y matches.
    quint32 maskFor(int y, int m) const;
};

// Which days of a month the day-of-week field allows (weekdays 0 = Sunday ... 6 = Saturday).
struct DayOfWeekRule {
    enum class Kind : quint8 {
        Every,       // * or ?
        Weekdays,    // a set of weekdays
        LastInMonth, // nL: the last weekday n of the month
        Nth,         // n#k: the k-th weekday n of the month
    };
    Kind kind = Kind::Every;
    quint8 weekdays = 0; // Weekdays: bit w = weekday w
    int weekday = 0;     // LastInMonth / Nth
    int nth = 0;         // Nth: 1-5

    quint32 maskFor(int y, int m) const;
};

struct CronFields {
    CronDialect dialect = CronDialect::Quartz;
    quint64 seconds = 0;                        // bit s = second s (0-59)
    quint64 minutes = 0;                        // bit m = minute m (0-59)
    quint32 hours = 0;                          // bit h = hour h (0-23)
    quint16 months = 0;                         // bit m = month m (1-12)
    std::bitset<kMaxYear - kMinYear + 1> years; // bit y - 1970
    DayOfMonthRule dayOfMonth;
    DayOfWeekRule dayOfWeek;
    // Vixie cron's rule for 5-field expressions: when neither day field starts with '*', a day
    // matches if EITHER field matches. Otherwise both must match (an unrestricted field
    // matches every day, so that reduces to the restricted one).
    bool eitherDayMatches = false;
    // The hour field lists single hours only (no *, range or step). Such a job names a wall-clock
    // time and fires once in a repeated fall-back hour; other jobs keep their real-time rhythm
    // through both passes (see docs/timing.md, "Daylight saving").
    bool wallClockPinned = false;

    quint32 dayMaskFor(int y, int m) const;
};

// Parses a 5-field (Unix), 6/7-field (Quartz) expression or an @macro. Errors read
// "<field>: <what>" with the field names seconds, minutes, hours, day-of-month, month,
// day-of-week, year, e.g. "minutes: 99 is outside 0-59".
Result<CronFields> parseCronFields(const QString &expression);

} // namespace kairos::timing
