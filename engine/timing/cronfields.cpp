#include "cronfields.h"

#include "civiltime.h"

#include <QRegularExpression>
#include <QStringList>

#include <array>
#include <limits>

namespace kairos::timing {

// ---- Day rules: which days of a given month match ---------------------------------------------

namespace {

quint32 allDays(int dim)
{
    return ((quint32(1) << dim) - 1) << 1;
}

// Quartz's W: the weekday nearest to day d without leaving the month. A Saturday moves back to
// Friday unless it is the 1st (then forward to Monday the 3rd); a Sunday moves forward to Monday
// unless it is the last day (then back to Friday).
int nearestWeekday(int y, int m, int d, int dim)
{
    const int wd = weekday(y, m, d);
    if (wd == 6)
        return d > 1 ? d - 1 : d + 2;
    if (wd == 0)
        return d < dim ? d + 1 : d - 2;
    return d;
}

} // namespace

quint32 DayOfMonthRule::maskFor(int y, int m) const
{
    const int dim = daysInMonth(y, m);
    switch (kind) {
    case Kind::Every:
        return allDays(dim);
    case Kind::Days:
        return days & allDays(dim);
    case Kind::Last: {
        int d = dim - lastOffset;
        if (d < 1)
            return 0;
        if (nearestToLast)
            d = nearestWeekday(y, m, d, dim);
        return quint32(1) << d;
    }
    case Kind::NearestWeekday:
        // A month without day n (31W in April) has no fire: the same as a plain 31.
        if (day > dim)
            return 0;
        return quint32(1) << nearestWeekday(y, m, day, dim);
    }
    return 0;
}

quint32 DayOfWeekRule::maskFor(int y, int m) const
{
    const int dim = daysInMonth(y, m);
    const int first = weekdayFromDays(daysFromCivil(y, m, 1)); // the member hides weekday()
    switch (kind) {
    case Kind::Every:
        return allDays(dim);
    case Kind::Weekdays: {
        quint32 mask = 0;
        for (int d = 1; d <= dim; ++d) {
            if (weekdays & (1u << ((first + d - 1) % 7)))
                mask |= quint32(1) << d;
        }
        return mask;
    }
    case Kind::LastInMonth: {
        const int lastWd = (first + dim - 1) % 7;
        return quint32(1) << (dim - (lastWd - weekday + 7) % 7);
    }
    case Kind::Nth: {
        const int d = 1 + (weekday - first + 7) % 7 + 7 * (nth - 1);
        return d > dim ? 0 : quint32(1) << d;
    }
    }
    return 0;
}

quint32 CronFields::dayMaskFor(int y, int m) const
{
    const quint32 dom = dayOfMonth.maskFor(y, m);
    const quint32 dow = dayOfWeek.maskFor(y, m);
    return eitherDayMatches ? (dom | dow) : (dom & dow);
}

// ---- Parser ------------------------------------------------------------------------------------

namespace {

constexpr std::array<const char *, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                      "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char *, 7> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

// What one field accepts. Values are stored in a bitset indexed by value - min.
struct FieldSpec {
    const char *name;
    int min;
    int max;     // the largest literal accepted
    int openMax; // where * and n/step end, and where a reversed range wraps (Unix day-of-week
                 // accepts 7 for Sunday but its week is 0-6)
    const char *const *names = nullptr; // 3-letter names; names[i] means nameBase + i
    int nameCount = 0;
    int nameBase = 0;
    bool wraps = true;          // FRI-MON and 22-2 wrap around; years do not
    bool sevenIsSunday = false; // Unix day-of-week: 7 and 0 are both Sunday
};

constexpr FieldSpec kSeconds{"seconds", 0, 59, 59};
constexpr FieldSpec kMinutes{"minutes", 0, 59, 59};
constexpr FieldSpec kHours{"hours", 0, 23, 23};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, 31};
constexpr FieldSpec kMonth{"month", 1, 12, 12, kMonthNames.data(), 12, 1};
constexpr FieldSpec kQuartzDayOfWeek{"day-of-week", 1, 7, 7, kDayNames.data(), 7, 1};
constexpr FieldSpec kUnixDayOfWeek{"day-of-week", 0, 7, 6, kDayNames.data(), 7, 0, true, true};
constexpr FieldSpec kYear{"year", kMinYear, kMaxYear, kMaxYear, nullptr, 0, 0, false};

using Bits = std::bitset<256>;

Error fieldError(const FieldSpec &f, const QString &what)
{
    return makeError(QLatin1String(f.name) + QLatin1String(": ") + what);
}

QString quoted(const QString &s)
{
    return QLatin1Char('"') + s + QLatin1Char('"');
}

// Non-empty ASCII digits only. Values too large for an int come back as INT_MAX so they still
// fail the range check with the user's own text.
bool parseDigits(const QString &text, qint64 &value)
{
    if (text.isEmpty())
        return false;
    for (const QChar c : text) {
        if (c < QLatin1Char('0') || c > QLatin1Char('9'))
            return false;
    }
    value = text.size() > 9 ? std::numeric_limits<int>::max() : text.toLongLong();
    return true;
}

Result<int> parseValue(const FieldSpec &f, const QString &token)
{
    if (!token.isEmpty() && token.front().isLetter()) {
        for (int i = 0; i < f.nameCount; ++i) {
            if (token == QLatin1String(f.names[i]))
                return f.nameBase + i;
        }
        if (f.nameCount > 0) {
            return fieldError(f, QStringLiteral("unknown name %1 (expected %2-%3)")
                                     .arg(quoted(token), QLatin1String(f.names[0]),
                                          QLatin1String(f.names[f.nameCount - 1])));
        }
        return fieldError(f, QStringLiteral("%1 is not a number").arg(quoted(token)));
    }
    qint64 value = 0;
    if (!parseDigits(token, value))
        return fieldError(f, QStringLiteral("%1 is not a number").arg(quoted(token)));
    if (value < f.min || value > f.max)
        return fieldError(f,
                          QStringLiteral("%1 is outside %2-%3").arg(token).arg(f.min).arg(f.max));
    return int(value);
}

// One comma-separated item: *, n, a-b, with an optional /step (also n/step = n-max/step).
Status addItem(const FieldSpec &f, const QString &item, Bits &bits)
{
    const qsizetype slash = item.indexOf(QLatin1Char('/'));
    const QString base = slash < 0 ? item : item.left(slash);
    int step = 1;
    if (slash >= 0) {
        const QString stepText = item.mid(slash + 1);
        if (stepText.contains(QLatin1Char('/')))
            return fieldError(f, QStringLiteral("%1 has more than one /").arg(quoted(item)));
        if (base.isEmpty()) {
            return fieldError(
                f,
                QStringLiteral("a value, range or * must come before / in %1").arg(quoted(item)));
        }
        if (stepText.isEmpty())
            return fieldError(f, QStringLiteral("a number must follow / in %1").arg(quoted(item)));
        qint64 n = 0;
        if (!parseDigits(stepText, n))
            return fieldError(f, QStringLiteral("step %1 is not a number").arg(quoted(stepText)));
        if (n < 1)
            return fieldError(f, QStringLiteral("step must be at least 1"));
        const int widest = f.openMax - f.min;
        if (n > widest) {
            return fieldError(
                f, QStringLiteral("step %1 is too large (at most %2)").arg(stepText).arg(widest));
        }
        step = int(n);
    }

    int lo = 0;
    int hi = 0;
    if (base == QLatin1String("*")) {
        lo = f.min;
        hi = f.openMax;
    } else if (base.contains(QLatin1Char('-'))) {
        const QStringList ends = base.split(QLatin1Char('-'));
        if (ends.size() != 2 || ends[0].isEmpty() || ends[1].isEmpty()) {
            return fieldError(
                f, QStringLiteral("%1 is not a valid range (expected a-b)").arg(quoted(base)));
        }
        const auto a = parseValue(f, ends[0]);
        if (!a)
            return Error{a.error()};
        const auto b = parseValue(f, ends[1]);
        if (!b)
            return Error{b.error()};
        lo = *a;
        hi = *b;
        if (f.sevenIsSunday && lo == 7)
            lo = 0; // SUN-TUE written 7-2
        if (lo > hi && !f.wraps) {
            return fieldError(
                f, QStringLiteral("range %1 is reversed (years do not wrap around)").arg(base));
        }
    } else {
        const auto v = parseValue(f, base);
        if (!v)
            return Error{v.error()};
        lo = hi = *v;
        if (slash >= 0) {
            // Quartz reads MON/2 as plain MON, and a user who writes it usually means "every
            // other Monday", which cron cannot say. A number start (1/2) is the common
            // shorthand for 1-max/2 and stays allowed.
            if (base.front().isLetter()) {
                return fieldError(
                    f, QStringLiteral("a step must follow * or a range, not the "
                                      "single name %1 (write %2-%3/%4 or */%4)")
                           .arg(quoted(base), base, QLatin1String(f.names[f.nameCount - 1]))
                           .arg(step));
            }
            if (f.sevenIsSunday && lo == 7)
                lo = 0;
            hi = std::max(lo, f.openMax);
        }
    }

    if (lo <= hi) {
        for (int v = lo; v <= hi; v += step)
            bits.set(v - f.min);
    } else {
        // Wrap-around range such as FRI-MON or 22-2: lo..openMax, then min..hi.
        const int cycle = f.openMax - f.min + 1;
        const int length = (f.openMax - lo + 1) + (hi - f.min + 1);
        for (int k = 0; k < length; k += step) {
            int v = lo + k;
            if (v > f.openMax)
                v -= cycle;
            bits.set(v - f.min);
        }
    }
    return {};
}

Result<Bits> parseList(const FieldSpec &f, const QString &text)
{
    Bits bits;
    const QStringList items = text.split(QLatin1Char(','));
    for (const QString &item : items) {
        if (item.isEmpty())
            return fieldError(f, QStringLiteral("empty value in %1").arg(quoted(text)));
        if (item.contains(QLatin1Char('?'))) {
            return fieldError(f,
                              QStringLiteral("? is only allowed in day-of-month or day-of-week"));
        }
        if (item.contains(QLatin1Char('#')))
            return fieldError(f, QStringLiteral("# is only allowed in day-of-week"));
        if (f.nameCount == 0 && item.contains(QLatin1Char('L'))) {
            return fieldError(f,
                              QStringLiteral("L is only allowed in day-of-month or day-of-week"));
        }
        if (f.nameCount == 0 && item.contains(QLatin1Char('W')))
            return fieldError(f, QStringLiteral("W is only allowed in day-of-month"));
        const Status added = addItem(f, item, bits);
        if (!added)
            return Error{added.error()};
    }
    return bits;
}

template<typename Mask> Result<Mask> parseMask(const FieldSpec &f, const QString &text)
{
    const auto bits = parseList(f, text);
    if (!bits)
        return Error{bits.error()};
    Mask mask = 0;
    for (int v = f.min; v <= f.max; ++v) {
        if (bits->test(v - f.min))
            mask |= Mask(1) << v;
    }
    return mask;
}

// A day field as written, for the rules that look at the text rather than the values.
struct DayFieldText {
    bool noSpec = false; // "?"
    bool star = false;   // exactly "*"
    bool startsWithStar = false;
};

DayFieldText describeDayField(const QString &text)
{
    return DayFieldText{text == QLatin1String("?"), text == QLatin1String("*"),
                        text.startsWith(QLatin1Char('*'))};
}

Error quartzOnly(const FieldSpec &f, QChar c)
{
    return fieldError(
        f, QStringLiteral("%1 is only allowed in Quartz (6-7 field) expressions").arg(c));
}

Result<DayOfMonthRule> parseDayOfMonth(const QString &text, CronDialect dialect)
{
    const FieldSpec &f = kDayOfMonth;
    DayOfMonthRule rule;
    if (text == QLatin1String("?")) {
        if (dialect == CronDialect::Unix)
            return quartzOnly(f, QLatin1Char('?'));
        return rule;
    }
    if (text.contains(QLatin1Char('?')))
        return fieldError(f, QStringLiteral("? must stand alone"));
    const bool hasL = text.contains(QLatin1Char('L'));
    const bool hasW = text.contains(QLatin1Char('W'));
    if (hasL || hasW) {
        if (dialect == CronDialect::Unix)
            return quartzOnly(f, hasL ? QLatin1Char('L') : QLatin1Char('W'));
        if (text.contains(QLatin1Char(','))) {
            return fieldError(
                f,
                QStringLiteral("L and W must stand alone, not in a list (%1)").arg(quoted(text)));
        }
        static const QRegularExpression lastRe(QStringLiteral("^L(?:-(\\d+))?(W?)$"));
        static const QRegularExpression nearestRe(QStringLiteral("^(\\d+)W$"));
        if (const auto m = lastRe.match(text); m.hasMatch()) {
            rule.kind = DayOfMonthRule::Kind::Last;
            if (m.capturedLength(1) > 0) {
                qint64 offset = 0;
                parseDigits(m.captured(1), offset);
                if (offset > 30) {
                    return fieldError(f, QStringLiteral("the offset after L- must be 0-30, got %1")
                                             .arg(m.captured(1)));
                }
                rule.lastOffset = int(offset);
            }
            rule.nearestToLast = m.capturedLength(2) > 0;
            return rule;
        }
        if (const auto m = nearestRe.match(text); m.hasMatch()) {
            const auto day = parseValue(f, m.captured(1));
            if (!day)
                return Error{day.error()};
            rule.kind = DayOfMonthRule::Kind::NearestWeekday;
            rule.day = *day;
            return rule;
        }
        if (hasW) {
            return fieldError(f,
                              QStringLiteral("W must follow a single day (e.g. 15W) or L, got %1")
                                  .arg(quoted(text)));
        }
        return fieldError(
            f, QStringLiteral("%1 is not a valid L expression (expected L, L-3, LW or L-3W)")
                   .arg(quoted(text)));
    }
    const auto days = parseMask<quint32>(f, text);
    if (!days)
        return Error{days.error()};
    if (text != QLatin1String("*")) {
        rule.kind = DayOfMonthRule::Kind::Days;
        rule.days = *days;
    }
    return rule;
}

Result<DayOfWeekRule> parseDayOfWeek(const QString &text, CronDialect dialect)
{
    const FieldSpec &f = dialect == CronDialect::Unix ? kUnixDayOfWeek : kQuartzDayOfWeek;
    // Quartz numbers days 1-7 from Sunday, Unix 0-7 (0 and 7 both Sunday); stored 0-6.
    const auto toWeekday = [&](int v) { return dialect == CronDialect::Unix ? v % 7 : v - 1; };
    DayOfWeekRule rule;
    if (text == QLatin1String("?")) {
        if (dialect == CronDialect::Unix)
            return quartzOnly(f, QLatin1Char('?'));
        return rule;
    }
    if (text.contains(QLatin1Char('?')))
        return fieldError(f, QStringLiteral("? must stand alone"));
    // No day name contains L or #, so either marks a special form.
    const bool hasL = text.contains(QLatin1Char('L'));
    const bool hasHash = text.contains(QLatin1Char('#'));
    if (hasL || hasHash) {
        if (dialect == CronDialect::Unix)
            return quartzOnly(f, hasL ? QLatin1Char('L') : QLatin1Char('#'));
        if (text.contains(QLatin1Char(','))) {
            return fieldError(
                f,
                QStringLiteral("L and # must stand alone, not in a list (%1)").arg(quoted(text)));
        }
        static const QRegularExpression single(QStringLiteral("^[0-9A-Z]+$"));
        if (text == QLatin1String("L")) {
            // Quartz: L alone in day-of-week is 7, Saturday.
            rule.kind = DayOfWeekRule::Kind::Weekdays;
            rule.weekdays = 1u << 6;
            return rule;
        }
        if (hasHash) {
            const QStringList parts = text.split(QLatin1Char('#'));
            if (parts.size() != 2 || parts[0].isEmpty() || parts[1].isEmpty() || hasL) {
                return fieldError(
                    f,
                    QStringLiteral("%1 is not a valid # expression (expected weekday#n, e.g. 6#3)")
                        .arg(quoted(text)));
            }
            if (!single.match(parts[0]).hasMatch()) {
                return fieldError(
                    f, QStringLiteral("# must follow a single weekday, got %1").arg(quoted(text)));
            }
            const auto day = parseValue(f, parts[0]);
            if (!day)
                return Error{day.error()};
            qint64 nth = 0;
            if (!parseDigits(parts[1], nth) || nth < 1 || nth > 5) {
                return fieldError(
                    f, QStringLiteral("the occurrence after # must be 1-5, got %1").arg(parts[1]));
            }
            rule.kind = DayOfWeekRule::Kind::Nth;
            rule.weekday = toWeekday(*day);
            rule.nth = int(nth);
            return rule;
        }
        if (text.endsWith(QLatin1Char('L')) && text.count(QLatin1Char('L')) == 1) {
            const QString dayText = text.chopped(1);
            if (!single.match(dayText).hasMatch()) {
                return fieldError(f, QStringLiteral("L must follow a single weekday (e.g. 6L), "
                                                    "got %1")
                                         .arg(quoted(text)));
            }
            const auto day = parseValue(f, dayText);
            if (!day)
                return Error{day.error()};
            rule.kind = DayOfWeekRule::Kind::LastInMonth;
            rule.weekday = toWeekday(*day);
            return rule;
        }
        return fieldError(f, QStringLiteral("%1 is not a valid L expression (expected L or a "
                                            "weekday followed by L, e.g. 6L)")
                                 .arg(quoted(text)));
    }
    const auto bits = parseList(f, text);
    if (!bits)
        return Error{bits.error()};
    if (text != QLatin1String("*")) {
        rule.kind = DayOfWeekRule::Kind::Weekdays;
        for (int v = f.min; v <= f.max; ++v) {
            if (bits->test(v - f.min))
                rule.weekdays |= quint8(1u << toWeekday(v));
        }
    }
    return rule;
}

// The hour field names wall-clock hours only: single values, no *, range or step.
bool hoursArePinned(const QString &text)
{
    static const QRegularExpression singles(QStringLiteral("^\\d+(,\\d+)*$"));
    return singles.match(text).hasMatch();
}

struct FieldTexts {
    QString seconds, minutes, hours, dayOfMonth, month, dayOfWeek, year;
};

Result<CronFields> build(CronDialect dialect, const FieldTexts &t)
{
    CronFields out;
    out.dialect = dialect;
    const auto seconds = parseMask<quint64>(kSeconds, t.seconds);
    if (!seconds)
        return Error{seconds.error()};
    const auto minutes = parseMask<quint64>(kMinutes, t.minutes);
    if (!minutes)
        return Error{minutes.error()};
    const auto hours = parseMask<quint32>(kHours, t.hours);
    if (!hours)
        return Error{hours.error()};
    const auto dom = parseDayOfMonth(t.dayOfMonth, dialect);
    if (!dom)
        return Error{dom.error()};
    const auto months = parseMask<quint16>(kMonth, t.month);
    if (!months)
        return Error{months.error()};
    const auto dow = parseDayOfWeek(t.dayOfWeek, dialect);
    if (!dow)
        return Error{dow.error()};
    const auto years = parseList(kYear, t.year);
    if (!years)
        return Error{years.error()};

    const DayFieldText domText = describeDayField(t.dayOfMonth);
    const DayFieldText dowText = describeDayField(t.dayOfWeek);
    if (dialect == CronDialect::Quartz) {
        if (domText.noSpec && dowText.noSpec) {
            return fieldError(kQuartzDayOfWeek, QStringLiteral("? may be used in only one of "
                                                               "day-of-month and day-of-week"));
        }
        // Quartz refuses to AND the two day fields; so do we rather than guess. `*` counts as
        // unrestricted (Quartz would insist on ?), so "0 0 12 * * MON" means Mondays.
        const bool domRestricted = !domText.noSpec && !domText.star;
        const bool dowRestricted = !dowText.noSpec && !dowText.star;
        if (domRestricted && dowRestricted) {
            return fieldError(kQuartzDayOfWeek,
                              QStringLiteral("a Quartz expression cannot restrict both "
                                             "day-of-month and day-of-week; put ? in one of them"));
        }
    } else {
        out.eitherDayMatches = !domText.startsWithStar && !dowText.startsWithStar;
    }

    out.seconds = *seconds;
    out.minutes = *minutes;
    out.hours = *hours;
    out.dayOfMonth = *dom;
    out.months = *months;
    out.dayOfWeek = *dow;
    for (int y = kMinYear; y <= kMaxYear; ++y)
        out.years.set(y - kMinYear, years->test(y - kMinYear));
    out.wallClockPinned = hoursArePinned(t.hours);
    return out;
}

struct Macro {
    const char *name;
    const char *expansion;
};
constexpr std::array<Macro, 7> kMacros{{{"@YEARLY", "0 0 1 1 *"},
                                        {"@ANNUALLY", "0 0 1 1 *"},
                                        {"@MONTHLY", "0 0 1 * *"},
                                        {"@WEEKLY", "0 0 * * 0"},
                                        {"@DAILY", "0 0 * * *"},
                                        {"@MIDNIGHT", "0 0 * * *"},
                                        {"@HOURLY", "0 * * * *"}}};

} // namespace

Result<CronFields> parseCronFields(const QString &expression)
{
    static const QRegularExpression whitespace(QStringLiteral("\\s+"));
    const QString upper = expression.trimmed().toUpper();
    if (upper.startsWith(QLatin1Char('@'))) {
        for (const Macro &m : kMacros) {
            if (upper == QLatin1String(m.name))
                return parseCronFields(QLatin1String(m.expansion));
        }
        return makeError(QStringLiteral("unknown macro %1 (expected @yearly, @annually, @monthly, "
                                        "@weekly, @daily, @midnight or @hourly)")
                             .arg(quoted(expression.trimmed())));
    }
    const QStringList parts = upper.split(whitespace, Qt::SkipEmptyParts);
    FieldTexts t;
    if (parts.size() == 5) {
        t = FieldTexts{QStringLiteral("0"), parts[0], parts[1], parts[2], parts[3], parts[4],
                       QStringLiteral("*")};
        return build(CronDialect::Unix, t);
    }
    if (parts.size() == 6 || parts.size() == 7) {
        t = FieldTexts{parts[0],
                       parts[1],
                       parts[2],
                       parts[3],
                       parts[4],
                       parts[5],
                       parts.size() == 7 ? parts[6] : QStringLiteral("*")};
        return build(CronDialect::Quartz, t);
    }
    return makeError(QStringLiteral("expected 5 fields (Unix) or 6-7 fields (Quartz), got %1")
                         .arg(parts.size()));
}

} // namespace kairos::timing
