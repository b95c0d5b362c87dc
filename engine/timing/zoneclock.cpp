#include "zoneclock.h"

#include "civiltime.h"

#include <QDateTime>

namespace kairos::timing {
namespace {

QDateTime utcAt(qint64 epochSeconds)
{
    return QDateTime::fromSecsSinceEpoch(epochSeconds, Qt::UTC);
}

// UTC offsets in use lie within -12h..+14h; a wall time's instant is within this distance.
constexpr qint64 kMaxOffsetSeconds = 15 * 3600;

} // namespace

int offsetAt(const QTimeZone &zone, qint64 epochSeconds)
{
    return zone.isValid() ? zone.offsetFromUtc(utcAt(epochSeconds)) : 0;
}

OffsetSpan offsetSpanAt(const QTimeZone &zone, qint64 epochSeconds)
{
    OffsetSpan span;
    span.offset = offsetAt(zone, epochSeconds);
    if (!zone.isValid() || !zone.hasTransitions())
        return span;
    // previousTransition is strictly before its argument; +1 s includes a transition at
    // exactly `epochSeconds`.
    const QTimeZone::OffsetData prev = zone.previousTransition(utcAt(epochSeconds + 1));
    if (prev.atUtc.isValid()) {
        span.hasStart = true;
        span.start = prev.atUtc.toSecsSinceEpoch();
        span.offsetBefore = offsetAt(zone, span.start - 1);
    }
    const QTimeZone::OffsetData next = zone.nextTransition(utcAt(epochSeconds));
    if (next.atUtc.isValid()) {
        span.hasEnd = true;
        span.end = next.atUtc.toSecsSinceEpoch();
    }
    return span;
}

qint64 instantForWall(const QTimeZone &zone, qint64 wallSeconds)
{
    // Walk the spans that could hold the wall time, earliest first: the first span whose own
    // offset maps the wall time inside itself wins, which is the first pass of a repeated wall
    // time. A wall time between one span's end and the next span's start (in wall terms) is in
    // a spring-forward gap and means the transition instant.
    qint64 at = wallSeconds - kMaxOffsetSeconds;
    for (int guard = 0; guard < 64; ++guard) {
        const OffsetSpan span = offsetSpanAt(zone, at);
        const qint64 instant = wallSeconds - span.offset;
        if ((!span.hasStart || instant >= span.start) && (!span.hasEnd || instant < span.end))
            return instant;
        if (!span.hasEnd || span.end > wallSeconds + kMaxOffsetSeconds)
            return instant; // defensive: no transition left that could matter
        const int nextOffset = offsetAt(zone, span.end);
        if (wallSeconds >= span.end + span.offset && wallSeconds < span.end + nextOffset)
            return span.end;
        at = span.end;
    }
    return wallSeconds - offsetAt(zone, wallSeconds);
}

QString formatLocalIso(qint64 epochMs, const QTimeZone &zone)
{
    const qint64 seconds = floorDiv(epochMs, 1000);
    const int millis = int(epochMs - seconds * 1000);
    const int offset = offsetAt(zone, seconds);
    const CivilDateTime c = fromWallSeconds(seconds + offset);
    QString out = QStringLiteral("%1-%2-%3T%4:%5:%6")
                      .arg(c.date.year, 4, 10, QLatin1Char('0'))
                      .arg(c.date.month, 2, 10, QLatin1Char('0'))
                      .arg(c.date.day, 2, 10, QLatin1Char('0'))
                      .arg(c.hour, 2, 10, QLatin1Char('0'))
                      .arg(c.minute, 2, 10, QLatin1Char('0'))
                      .arg(c.second, 2, 10, QLatin1Char('0'));
    if (millis != 0)
        out += QStringLiteral(".%1").arg(millis, 3, 10, QLatin1Char('0'));
    const int abs = offset < 0 ? -offset : offset;
    out += QStringLiteral("%1%2:%3")
               .arg(offset < 0 ? QLatin1Char('-') : QLatin1Char('+'))
               .arg(abs / 3600, 2, 10, QLatin1Char('0'))
               .arg(abs % 3600 / 60, 2, 10, QLatin1Char('0'));
    if (abs % 60 != 0) // historical local mean time offsets
        out += QStringLiteral(":%1").arg(abs % 60, 2, 10, QLatin1Char('0'));
    return out;
}

} // namespace kairos::timing
