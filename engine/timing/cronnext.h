#pragma once
// Helpers behind `kairosctl cron next` and the console's cron editor: the next N fire times of
// an expression in a zone, the tab-separated batch protocol of `cron next --batch`, and the
// ISO-8601 form used to show fire times to a user. Pure functions, thread-safe.

#include "zoneclock.h"

#include <core/result.h>

#include <QList>
#include <QString>

namespace kairos {

// The next `count` fire times strictly after `fromMs` (epoch ms), fewer when the expression runs
// out. An empty `zoneId` means the system zone. Errors: the cron message as is ("minutes: 99 is
// outside 0-59"), "timeZone: unknown time zone \"Mars/Base\"", "count: must be 0-100000, got
// -1". Thread-safe.
Result<QList<qint64>> nextFireTimes(const QString &expression, const QString &zoneId, qint64 fromMs,
                                    int count);

// One line of `cron next --batch`: input "EXPR<TAB>ZONE<TAB>FROM_EPOCH_MS" (a trailing newline
// is ignored; ZONE may be empty for the system zone). Output: the next `count` epoch-ms values
// separated by tabs, fewer when the expression runs out, an empty string when it never fires
// again; or "INVALID<TAB>reason" for a bad expression, zone, number or line shape, where the
// reason is the same field-naming message on one line. Thread-safe.
QString cronBatchLine(const QString &inputLine, int count);

// formatLocalIso(ms, zone) -> "2026-03-08T03:00:00-04:00" is declared in zoneclock.h.

} // namespace kairos
