#pragma once
// Civil (proleptic Gregorian) calendar arithmetic on "wall seconds": a local date and time
// counted as seconds since 1970-01-01T00:00:00 as if the zone had no offset. Cron matching runs
// on wall seconds and only the zone mapping (zoneclock.h) turns them into instants, so the
// field search never asks QTimeZone anything. Pure functions, thread-safe.
// The day-count algorithms are Howard Hinnant's days_from_civil / civil_from_days.

#include <QtGlobal>

namespace kairos::timing {

struct CivilDate {
    int year = 1970;
    int month = 1; // 1-12
    int day = 1;   // 1-31
};

struct CivilDateTime {
    CivilDate date;
    int hour = 0;
    int minute = 0;
    int second = 0;
};

constexpr qint64 kSecondsPerDay = 86400;

constexpr bool isLeapYear(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr int daysInMonth(int y, int m)
{
    constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && isLeapYear(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 (negative before).
constexpr qint64 daysFromCivil(int y, int m, int d)
{
    y -= m <= 2;
    const qint64 era = (y >= 0 ? y : y - 399) / 400;
    const qint64 yoe = y - era * 400;
    const qint64 doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const qint64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

constexpr CivilDate civilFromDays(qint64 z)
{
    z += 719468;
    const qint64 era = (z >= 0 ? z : z - 146096) / 146097;
    const qint64 doe = z - era * 146097;
    const qint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const qint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const qint64 mp = (5 * doy + 2) / 153;
    const int d = int(doy - (153 * mp + 2) / 5 + 1);
    const int m = int(mp < 10 ? mp + 3 : mp - 9);
    return CivilDate{int(yoe + era * 400 + (m <= 2)), m, d};
}

// 0 = Sunday ... 6 = Saturday (1970-01-01 was a Thursday).
constexpr int weekdayFromDays(qint64 days)
{
    const qint64 w = (days + 4) % 7;
    return int(w < 0 ? w + 7 : w);
}

constexpr int weekday(int y, int m, int d)
{
    return weekdayFromDays(daysFromCivil(y, m, d));
}

// Floor division, so instants before 1970 map to the right day and second.
constexpr qint64 floorDiv(qint64 a, qint64 b)
{
    const qint64 q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

constexpr qint64 toWallSeconds(const CivilDateTime &c)
{
    return daysFromCivil(c.date.year, c.date.month, c.date.day) * kSecondsPerDay + c.hour * 3600
           + c.minute * 60 + c.second;
}

constexpr qint64 toWallSeconds(int y, int mo, int d, int h, int mi, int s)
{
    return daysFromCivil(y, mo, d) * kSecondsPerDay + h * 3600 + mi * 60 + s;
}

constexpr CivilDateTime fromWallSeconds(qint64 wall)
{
    const qint64 days = floorDiv(wall, kSecondsPerDay);
    const qint64 rest = wall - days * kSecondsPerDay;
    return CivilDateTime{civilFromDays(days), int(rest / 3600), int(rest % 3600 / 60),
                         int(rest % 60)};
}

} // namespace kairos::timing
