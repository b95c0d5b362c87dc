#include "cronexpression.h"

#include "civiltime.h"
#include "timinglog.h"
#include "zoneclock.h"

#include <algorithm>
#include <bit>

namespace kairos {

using namespace timing;

namespace {

// Smallest set bit at or above `from`, or -1.
template<typename Mask> int nextBit(Mask mask, int from)
{
    constexpr int kBits = int(sizeof(Mask) * 8);
    if (from >= kBits)
        return -1;
    const auto rest = static_cast<quint64>(mask) >> from;
    return rest == 0 ? -1 : from + std::countr_zero(rest);
}

// UTC offsets lie within -12h..+14h, so an instant and its wall time are at most 14 h apart, and
// the offsets at two instants differ by at most 26 h. These bounds let the search skip far ahead
// without missing a fire hidden in a later fall-back overlap.
constexpr qint64 kMaxOffset = 15 * 3600;
constexpr qint64 kMaxOffsetSwing = 27 * 3600;

// A DST zone has about two transitions a year; 2,000 spans is more than 1970-2199 needs.
constexpr int kMaxSpans = 2000;

} // namespace

CronExpression::CronExpression(CronFields fields, QString text)
    : m_fields(std::move(fields))
    , m_text(std::move(text))
{}

Result<CronExpression> CronExpression::parse(const QString &expression)
{
    auto fields = parseCronFields(expression);
    if (!fields)
        return Error{fields.error()};
    return CronExpression(std::move(fields).value(), expression.trimmed());
}

std::optional<qint64> CronExpression::nextWall(qint64 from, std::optional<qint64> until) const
{
    const CronFields &f = m_fields;
    const CivilDateTime start = fromWallSeconds(std::max<qint64>(from, 0)); // 0 = 1970-01-01
    int y = start.date.year;
    int mo = start.date.month;
    int d = start.date.day;
    int h = start.hour;
    int mi = start.minute;
    int s = start.second;
    // Each step either accepts a field or moves it (and resets the smaller ones); the year bound
    // ends every search, so this loop is finite: at most a few steps per month of the range.
    for (;;) {
        if (s > 59) {
            s = 0;
            ++mi;
        }
        if (mi > 59) {
            mi = 0;
            ++h;
        }
        if (h > 23) {
            h = 0;
            ++d;
        }
        if (mo <= 12 && d > daysInMonth(y, mo)) {
            d = 1;
            ++mo;
        }
        if (mo > 12) {
            mo = 1;
            ++y;
        }
        if (y > kMaxYear)
            return std::nullopt;
        if (until && toWallSeconds(y, mo, d, h, mi, s) >= *until)
            return std::nullopt;

        if (!f.years.test(y - kMinYear)) {
            int ny = y + 1;
            while (ny <= kMaxYear && !f.years.test(ny - kMinYear))
                ++ny;
            if (ny > kMaxYear)
                return std::nullopt;
            y = ny;
            mo = d = 1;
            h = mi = s = 0;
            continue;
        }
        const int nm = nextBit(f.months, mo);
        if (nm < 0 || nm > 12) {
            ++y;
            mo = d = 1;
            h = mi = s = 0;
            continue;
        }
        if (nm != mo) {
            mo = nm;
            d = 1;
            h = mi = s = 0;
            continue;
        }
        const int nd = nextBit(f.dayMaskFor(y, mo), d);
        if (nd < 0) {
            ++mo;
            d = 1;
            h = mi = s = 0;
            continue;
        }
        if (nd != d) {
            d = nd;
            h = mi = s = 0;
            continue;
        }
        const int nh = nextBit(f.hours, h);
        if (nh < 0) {
            ++d;
            h = mi = s = 0;
            continue;
        }
        if (nh != h) {
            h = nh;
            mi = s = 0;
            continue;
        }
        const int nmi = nextBit(f.minutes, mi);
        if (nmi < 0) {
            ++h;
            mi = s = 0;
            continue;
        }
        if (nmi != mi) {
            mi = nmi;
            s = 0;
            continue;
        }
        const int ns = nextBit(f.seconds, s);
        if (ns < 0) {
            ++mi;
            s = 0;
            continue;
        }
        const qint64 wall = toWallSeconds(y, mo, d, h, mi, ns);
        if (until && wall >= *until)
            return std::nullopt;
        return wall;
    }
}

std::optional<qint64> CronExpression::nextAfter(qint64 afterMs, const QTimeZone &zone) const
{
    // Walk the zone's spans of constant offset. Inside a span wall time and real time move
    // together, so the field search runs on wall seconds; the DST rules only act at a span's
    // start: a spring-forward start owns the gap's wall times, a fall-back start repeats wall
    // times that pinned jobs have already fired on.
    qint64 at = floorDiv(afterMs, 1000) + 1; // fire times are whole seconds
    for (int guard = 0; guard < kMaxSpans; ++guard) {
        // Any later fire has a wall time at or after this bound, so if nothing matches from
        // there the expression is exhausted; otherwise jump close to the first candidate
        // instead of visiting every span in between (a yearly expression over decades).
        const auto ahead = nextWall(at + offsetAt(zone, at) - kMaxOffsetSwing, std::nullopt);
        if (!ahead)
            return std::nullopt;
        at = std::max(at, *ahead - kMaxOffset);

        const OffsetSpan span = offsetSpanAt(zone, at);
        if (span.hasStart && span.start == at && span.offset > span.offsetBefore) {
            // Spring forward: wall times in [start + before, start + offset) do not exist and
            // fire at the first instant after the gap, the transition itself.
            if (nextWall(at + span.offsetBefore, at + span.offset))
                return at * 1000;
        }
        qint64 from = at + span.offset;
        if (m_fields.wallClockPinned && span.hasStart && span.offset < span.offsetBefore) {
            // Fall back: wall times in [start + offset, start + before) were already lived
            // through once; a pinned job fired on its first pass, so skip them.
            from = std::max(from, span.start + span.offsetBefore);
        }
        const auto wall = nextWall(from, span.hasEnd ? std::optional<qint64>(span.end + span.offset)
                                                     : std::nullopt);
        if (wall)
            return (*wall - span.offset) * 1000;
        if (!span.hasEnd)
            return std::nullopt;
        at = span.end;
    }
    qCWarning(lcCron) << "gave up searching the next fire time of" << m_text << "after" << afterMs
                      << "in" << zone.id();
    return std::nullopt;
}

} // namespace kairos
