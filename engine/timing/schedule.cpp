#include "schedule.h"

#include "civiltime.h"
#include "zoneclock.h"

#include <QDateTime>
#include <QRegularExpression>

#include <limits>

namespace kairos {

using namespace timing;

namespace {

QString fieldMessage(const char *field, const QString &what)
{
    return QLatin1String(field) + QLatin1String(": ") + what;
}

} // namespace

Result<qint64> parseDurationMs(const QString &text)
{
    static const QRegularExpression re(QStringLiteral("^(\\d{1,15})\\s*(ms|s|m|h|d)?$"),
                                       QRegularExpression::CaseInsensitiveOption);
    const QString expected = QStringLiteral("expected a duration like 1500, 30s, 5m or 2h");
    const auto m = re.match(text.trimmed());
    if (!m.hasMatch())
        return makeError(expected);
    const qint64 amount = m.captured(1).toLongLong();
    const QString unit = m.captured(2).toLower();
    qint64 factor = 1;
    if (unit == QLatin1String("s"))
        factor = 1000;
    else if (unit == QLatin1String("m"))
        factor = 60 * 1000;
    else if (unit == QLatin1String("h"))
        factor = 3600 * 1000;
    else if (unit == QLatin1String("d"))
        factor = 86400 * 1000;
    if (amount < 1) {
        return makeError(
            QStringLiteral("a duration must be at least 1 ms, got \"%1\"").arg(text.trimmed()));
    }
    // 15 digits of days would overflow; anything beyond ~290 million years is a typo anyway.
    if (amount > std::numeric_limits<qint64>::max() / factor)
        return makeError(expected);
    return amount * factor;
}

Result<qint64> parseOneShotMs(const QString &text, const QTimeZone &zone)
{
    const QString t = text.trimmed();
    static const QRegularExpression epochRe(QStringLiteral("^\\d{1,16}$"));
    if (epochRe.match(t).hasMatch())
        return t.toLongLong();
    const Error error = makeError(QStringLiteral("expected an ISO-8601 date-time like "
                                                 "2026-03-08T02:30:00 or epoch milliseconds"));
    // An explicit offset or Z names an instant; without one the text is a wall time in `zone`.
    static const QRegularExpression offsetRe(
        QStringLiteral("[T ]\\d\\d:\\d\\d(:\\d\\d([.,]\\d+)?)?(Z|[+-]\\d\\d(:?\\d\\d)?)$"),
        QRegularExpression::CaseInsensitiveOption);
    const bool hasOffset = offsetRe.match(t).hasMatch();
    if (hasOffset) {
        const QDateTime dt = QDateTime::fromString(t, Qt::ISODateWithMs);
        if (!dt.isValid())
            return error;
        return dt.toMSecsSinceEpoch();
    }
    // Parse as UTC so Qt applies no zone rules, then map the wall time with Kairos's DST rules.
    // A date alone means midnight.
    static const QRegularExpression dateOnlyRe(QStringLiteral("^\\d{4}-\\d\\d-\\d\\d$"));
    const QString wallText =
        dateOnlyRe.match(t).hasMatch() ? t + QStringLiteral("T00:00:00Z") : t + QLatin1Char('Z');
    const QDateTime wall = QDateTime::fromString(wallText, Qt::ISODateWithMs);
    if (!wall.isValid() || wall.timeSpec() != Qt::UTC)
        return error;
    const qint64 wallMs = wall.toMSecsSinceEpoch();
    const qint64 wallSeconds = floorDiv(wallMs, 1000);
    return instantForWall(zone, wallSeconds) * 1000 + (wallMs - wallSeconds * 1000);
}

Result<Schedule> Schedule::fromJob(const Job &job, const QTimeZone &serverZone)
{
    Schedule s;
    s.m_type = job.timingType;
    s.m_createdAtMs = job.createdAtMs;

    if (job.timeZone.trimmed().isEmpty()) {
        s.m_zone = serverZone.isValid() ? serverZone : QTimeZone(QByteArrayLiteral("UTC"));
    } else {
        s.m_zone = QTimeZone(job.timeZone.trimmed().toUtf8());
        if (!s.m_zone.isValid()) {
            return makeError(fieldMessage(
                "timing.timeZone", QStringLiteral("unknown time zone \"%1\"").arg(job.timeZone)));
        }
    }

    if (job.windowStartMs < 0)
        return makeError(
            fieldMessage("timing.windowStartMs", QStringLiteral("must not be negative")));
    if (job.windowEndMs < 0)
        return makeError(
            fieldMessage("timing.windowEndMs", QStringLiteral("must not be negative")));
    if (job.windowStartMs > 0 && job.windowEndMs > 0 && job.windowEndMs < job.windowStartMs) {
        return makeError(fieldMessage("timing.windowEndMs",
                                      QStringLiteral("must not be before timing.windowStartMs")));
    }
    s.m_windowStartMs = job.windowStartMs;
    s.m_windowEndMs = job.windowEndMs;

    switch (job.timingType) {
    case TimingType::Api:
        break; // fired by calls only; the expression is not used
    case TimingType::Cron: {
        auto cron = CronExpression::parse(job.timingExpression);
        if (!cron)
            return makeError(fieldMessage("timing.expression", cron.error()));
        // Syntax can be right and the meaning empty (30 February): say so now rather than
        // leave a job that silently never runs.
        if (!cron->nextAfter(std::numeric_limits<qint64>::min() / 2, QTimeZone())) {
            return makeError(fieldMessage(
                "timing.expression",
                QStringLiteral("\"%1\" never fires (no date matches it)").arg(cron->expression())));
        }
        s.m_cron = std::move(cron).value();
        break;
    }
    case TimingType::FixedRate:
    case TimingType::FixedDelay: {
        const auto duration = parseDurationMs(job.timingExpression);
        if (!duration)
            return makeError(fieldMessage("timing.expression", duration.error()));
        s.m_durationMs = *duration;
        break;
    }
    case TimingType::OneShot: {
        const auto at = parseOneShotMs(job.timingExpression, s.m_zone);
        if (!at)
            return makeError(fieldMessage("timing.expression", at.error()));
        s.m_oneShotAtMs = *at;
        break;
    }
    }
    return s;
}

std::optional<qint64> Schedule::clampToWindow(std::optional<qint64> fire) const
{
    if (fire && m_windowEndMs > 0 && *fire > m_windowEndMs)
        return std::nullopt;
    return fire;
}

std::optional<qint64> Schedule::nextFireAfter(qint64 afterMs) const
{
    return nextFireAfter(afterMs, m_createdAtMs);
}

std::optional<qint64> Schedule::nextFireAfter(qint64 afterMs, qint64 anchorMs) const
{
    // Nothing before the window opens: search from just before its start so a fire at exactly
    // windowStartMs counts.
    const qint64 from = m_windowStartMs > 0 ? std::max(afterMs, m_windowStartMs - 1) : afterMs;
    switch (m_type) {
    case TimingType::Api:
    case TimingType::FixedDelay:
        return std::nullopt;
    case TimingType::Cron:
        return clampToWindow(m_cron->nextAfter(from, m_zone));
    case TimingType::OneShot:
        if (*m_oneShotAtMs > from)
            return clampToWindow(m_oneShotAtMs);
        return std::nullopt;
    case TimingType::FixedRate: {
        const qint64 anchor = m_windowStartMs > 0 ? m_windowStartMs : anchorMs;
        if (from < anchor)
            return clampToWindow(anchor);
        const qint64 k = (from - anchor) / m_durationMs + 1;
        if (k > (std::numeric_limits<qint64>::max() - anchor) / m_durationMs)
            return std::nullopt;
        return clampToWindow(anchor + k * m_durationMs);
    }
    }
    return std::nullopt;
}

std::optional<qint64> Schedule::nextDelayedFire(std::optional<qint64> previousRunEndMs,
                                                qint64 anchorMs) const
{
    if (m_type != TimingType::FixedDelay)
        return std::nullopt;
    qint64 fire = previousRunEndMs ? *previousRunEndMs + m_durationMs : anchorMs;
    if (m_windowStartMs > 0)
        fire = std::max(fire, m_windowStartMs);
    return clampToWindow(fire);
}

} // namespace kairos
