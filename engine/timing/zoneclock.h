#pragma once
// ZoneClock helpers: the bridge between wall-clock seconds (civiltime.h) and real instants in a
// QTimeZone, with Kairos's daylight-saving rules in one place. A wall time that does not exist
// (spring-forward gap) means the first instant after the gap; a wall time that exists twice
// (fall-back) means its first pass unless a caller asks for both. Every function is reentrant
// and thread-safe (QTimeZone is only read); an invalid QTimeZone behaves as UTC.

#include <QString>
#include <QTimeZone>

namespace kairos::timing {

// A stretch of time with one UTC offset, between two transitions of the zone.
struct OffsetSpan {
    int offset = 0;        // seconds east of UTC inside the span
    bool hasStart = false; // false: no transition before (or the zone has none)
    qint64 start = 0;      // epoch seconds of the transition that began the span
    int offsetBefore = 0;  // the offset just before `start`
    bool hasEnd = false;   // false: no transition after
    qint64 end = 0;        // epoch seconds of the next transition
};

// The span that contains the instant `epochSeconds`.
OffsetSpan offsetSpanAt(const QTimeZone &zone, qint64 epochSeconds);

int offsetAt(const QTimeZone &zone, qint64 epochSeconds);

// The instant (epoch seconds) a wall time means in `zone`: the only one, the first pass of a
// repeated wall time, or for a wall time inside a spring-forward gap the first instant after
// the gap (the transition itself).
qint64 instantForWall(const QTimeZone &zone, qint64 wallSeconds);

// "2026-03-08T03:00:00-04:00": the local time in `zone` with its UTC offset; milliseconds are
// shown only when not zero. UTC is written "+00:00".
QString formatLocalIso(qint64 epochMs, const QTimeZone &zone);

} // namespace kairos::timing

namespace kairos {
using timing::formatLocalIso;
} // namespace kairos
