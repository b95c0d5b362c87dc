#pragma once
// Misfires: the fire times a job missed while no server was running it, and what its policy
// makes of them. The server records every fire under (job, scheduled time), so it passes the
// last fire it recorded and the current time; these functions only compute, they never fire.
// All functions are pure and thread-safe.

#include "schedule.h"

#include <core/types.h>

#include <QList>

#include <optional>

namespace kairos {

// The fire times in (lastFireMs, nowMs], earliest first, at most `cap` of them (the earliest
// `cap`). Empty for API and FIXED_DELAY jobs (a fixed-delay job's next fire follows its last
// run, so it cannot miss one) and when cap <= 0. FIXED_RATE uses the schedule's default anchor.
// Thread-safe.
QList<qint64> missedFireTimes(const Schedule &schedule, qint64 lastFireMs, qint64 nowMs, int cap);

// The most recent fire time in (lastFireMs, nowMs], or nullopt if none was missed. Cheap even
// after a long outage of a frequent job: it probes backwards from nowMs in doubling steps.
// Thread-safe.
std::optional<qint64> latestMissedFireTime(const Schedule &schedule, qint64 lastFireMs,
                                           qint64 nowMs);

// The scheduled times to fire now under `policy`: FIRE_ONCE -> the most recent missed time
// (one run, recorded under a time that cannot collide with the next regular fire), SKIP ->
// none, FIRE_ALL -> the earliest `maxFires` missed times, in order (the rest are dropped).
// Thread-safe.
QList<qint64> misfireCatchUp(const Schedule &schedule, MisfirePolicy policy, int maxFires,
                             qint64 lastFireMs, qint64 nowMs);

} // namespace kairos
