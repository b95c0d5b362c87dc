#pragma once
// CronExpression: a parsed cron expression that answers "when does this fire next?" in a given
// time zone. It accepts Unix (5 fields, minute resolution, Vixie's day-of-month OR day-of-week
// rule), Quartz (6-7 fields with seconds, year, ?, L, W, #) and the @daily-style macros; the
// field count decides the dialect. Input that Quartz silently misreads is refused with a message
// naming the field. Daylight saving follows docs/timing.md: a fire time inside a spring-forward
// gap fires at the first instant after the gap; in a repeated fall-back hour a job pinned to
// wall-clock hours fires once (first pass) and a job with a wildcard, range or step hour keeps
// its real-time rhythm through both passes.
//
// A CronExpression is an immutable value: every method is thread-safe and may be called from
// any thread.

#include "cronfields.h"

#include <core/result.h>

#include <QString>
#include <QTimeZone>

#include <optional>

namespace kairos {

using CronDialect = timing::CronDialect;

class CronExpression {
public:
    // Parses either dialect. Errors read "<field>: <what>" (e.g. "minutes: 99 is outside
    // 0-59"), or name the field count / macro when the shape is wrong. Thread-safe.
    static Result<CronExpression> parse(const QString &expression);

    // The first fire time strictly after `afterMs` (epoch ms), or nullopt when the expression
    // never fires again (its years are over, or it names a day that never comes, such as
    // 30 February). Fire times are whole seconds. Cost: a few field skips plus a handful of
    // QTimeZone transition look-ups, whatever the expression; the search ends at 2199.
    // An invalid `zone` is treated as UTC. Thread-safe (the zone is only read).
    std::optional<qint64> nextAfter(qint64 afterMs, const QTimeZone &zone) const;

    CronDialect dialect() const { return m_fields.dialect; }
    // The expression as given (trimmed).
    QString expression() const { return m_text; }
    // True when the hour field lists single hours only: such a job fires once in a repeated
    // fall-back hour. False for *, ranges and steps, which fire in both passes.
    bool isWallClockPinned() const { return m_fields.wallClockPinned; }

private:
    CronExpression(timing::CronFields fields, QString text);

    // The first matching wall time (wall seconds, see civiltime.h) at or after `from` and
    // before `until`, ignoring the zone.
    std::optional<qint64> nextWall(qint64 from, std::optional<qint64> until) const;

    timing::CronFields m_fields;
    QString m_text;
};

} // namespace kairos
