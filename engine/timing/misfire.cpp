#include "misfire.h"

namespace kairos {

QList<qint64> missedFireTimes(const Schedule &schedule, qint64 lastFireMs, qint64 nowMs, int cap)
{
    QList<qint64> out;
    if (cap <= 0 || nowMs <= lastFireMs)
        return out;
    qint64 at = lastFireMs;
    while (out.size() < cap) {
        const auto next = schedule.nextFireAfter(at);
        if (!next || *next > nowMs)
            break;
        out.append(*next);
        at = *next;
    }
    return out;
}

std::optional<qint64> latestMissedFireTime(const Schedule &schedule, qint64 lastFireMs,
                                           qint64 nowMs)
{
    if (nowMs <= lastFireMs)
        return std::nullopt;
    const auto firesBy = [&](qint64 after) {
        const auto fire = schedule.nextFireAfter(after);
        return fire && *fire <= nowMs;
    };
    // Widen a window (lo, nowMs] backwards from one second, doubling, until it holds a fire.
    // Then the latest fire L lies in (lo, hi], where hi is the previous window's start, and
    // "the next fire after x is <= nowMs" holds exactly for x < L, so a binary search finds
    // it. Cost: about 2 * log2(outage in ms) look-ups whatever the fire density, so an
    // every-second job down for years is as cheap as a yearly one.
    qint64 hi = nowMs;
    for (qint64 span = 1000;; span *= 2) {
        // Compare the span with the gap rather than compute nowMs - span, which could overflow.
        const qint64 lo = span >= nowMs / 2 - lastFireMs / 2 ? lastFireMs : nowMs - span;
        if (firesBy(lo)) {
            qint64 a = lo;
            qint64 b = hi;
            while (b - a > 1) {
                const qint64 mid = a + (b - a) / 2;
                if (firesBy(mid))
                    a = mid;
                else
                    b = mid;
            }
            return schedule.nextFireAfter(a);
        }
        if (lo == lastFireMs)
            return std::nullopt; // the window reached the last fire: nothing was missed
        hi = lo;
    }
}

QList<qint64> misfireCatchUp(const Schedule &schedule, MisfirePolicy policy, int maxFires,
                             qint64 lastFireMs, qint64 nowMs)
{
    switch (policy) {
    case MisfirePolicy::Skip:
        return {};
    case MisfirePolicy::FireOnce: {
        const auto latest = latestMissedFireTime(schedule, lastFireMs, nowMs);
        return latest ? QList<qint64>{*latest} : QList<qint64>{};
    }
    case MisfirePolicy::FireAll:
        return missedFireTimes(schedule, lastFireMs, nowMs, maxFires);
    }
    return {};
}

} // namespace kairos
