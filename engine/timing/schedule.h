#pragma once
// Schedule: a job's timing fields (type, expression, time zone, window) validated once and
// turned into fire times. CRON fires by its expression in the job's zone, FIXED_RATE at
// anchor + k * period, ONE_SHOT once, API never; FIXED_DELAY depends on when the previous run
// ended, so the server asks nextDelayedFire() with that time. Every answer honours the window:
// nothing before windowStartMs, nothing after windowEndMs (0 = open on that side).
//
// A Schedule is an immutable value: every method is thread-safe and may be called from any
// thread.

#include "cronexpression.h"

#include <core/job.h>
#include <core/result.h>

#include <QString>
#include <QTimeZone>

#include <optional>

namespace kairos {

// "1500" (milliseconds), "250ms", "30s", "5m", "2h", "1d"; units are case-insensitive and may be
// separated from the number by spaces. Must be at least 1 ms. Errors carry no field prefix:
// "expected a duration like 1500, 30s, 5m or 2h". Thread-safe.
Result<qint64> parseDurationMs(const QString &text);

// A ONE_SHOT expression: epoch milliseconds ("1772953200000") or an ISO-8601 date-time. With an
// offset or Z it is that instant; without one it is a wall time in `zone` (a time inside a
// spring-forward gap means the first instant after the gap, a repeated time its first pass); a
// date alone is midnight in `zone`. Thread-safe.
Result<qint64> parseOneShotMs(const QString &text, const QTimeZone &zone);

class Schedule {
public:
    // Validates the job's timing. Errors name the field: "timing.timeZone: unknown time zone
    // \"Mars/Base\"", "timing.expression: expected a duration like 1500, 30s, 5m or 2h",
    // "timing.expression: minutes: 99 is outside 0-59". An empty job zone means `serverZone`
    // (UTC if that is invalid too). A cron expression that can never fire (0 0 0 30 2 ?) is
    // refused. Thread-safe.
    static Result<Schedule> fromJob(const Job &job, const QTimeZone &serverZone);

    TimingType type() const { return m_type; }
    QTimeZone zone() const { return m_zone; }
    qint64 windowStartMs() const { return m_windowStartMs; }
    qint64 windowEndMs() const { return m_windowEndMs; }
    // CRON only.
    const std::optional<CronExpression> &cron() const { return m_cron; }
    // FIXED_RATE: the period; FIXED_DELAY: the delay; 0 otherwise.
    qint64 periodMs() const { return m_type == TimingType::FixedRate ? m_durationMs : 0; }
    bool isFixedDelay() const { return m_type == TimingType::FixedDelay; }
    qint64 delayMs() const { return m_type == TimingType::FixedDelay ? m_durationMs : 0; }
    // ONE_SHOT: the instant it fires.
    std::optional<qint64> oneShotAtMs() const { return m_oneShotAtMs; }
    // The FIXED_RATE anchor used when none is passed: windowStartMs if set, else the job's
    // createdAtMs.
    qint64 defaultAnchorMs() const { return m_windowStartMs > 0 ? m_windowStartMs : m_createdAtMs; }

    // The first fire strictly after `afterMs`, or nullopt if there is none (API, FIXED_DELAY,
    // a one-shot already past, the window closed, the cron's years over).
    // FIXED_RATE fires at anchor + k * period (k >= 0), where the anchor is windowStartMs if
    // set, else `anchorMs` (the one-argument form uses the job's createdAtMs). Thread-safe.
    std::optional<qint64> nextFireAfter(qint64 afterMs) const;
    std::optional<qint64> nextFireAfter(qint64 afterMs, qint64 anchorMs) const;

    // FIXED_DELAY: the next fire after a run that ended at `previousRunEndMs` (end + delay), or
    // the first fire (`anchorMs`, typically when the job was created or enabled) if it has
    // never run. Moved forward to windowStartMs, nullopt after windowEndMs. nullopt for other
    // types. Thread-safe.
    std::optional<qint64> nextDelayedFire(std::optional<qint64> previousRunEndMs,
                                          qint64 anchorMs) const;

private:
    Schedule() = default;
    std::optional<qint64> clampToWindow(std::optional<qint64> fire) const;

    TimingType m_type = TimingType::Api;
    QTimeZone m_zone;
    qint64 m_windowStartMs = 0;
    qint64 m_windowEndMs = 0;
    qint64 m_createdAtMs = 0;
    qint64 m_durationMs = 0;
    std::optional<qint64> m_oneShotAtMs;
    std::optional<CronExpression> m_cron;
};

} // namespace kairos
