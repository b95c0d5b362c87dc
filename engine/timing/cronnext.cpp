#include "cronnext.h"

#include "cronexpression.h"

#include <QRegularExpression>
#include <QStringList>
#include <QTimeZone>

namespace kairos {

namespace {

constexpr int kMaxCount = 100000;

Result<QTimeZone> zoneFor(const QString &zoneId)
{
    const QString id = zoneId.trimmed();
    if (id.isEmpty())
        return QTimeZone::systemTimeZone();
    const QTimeZone zone(id.toUtf8());
    if (!zone.isValid())
        return makeError(QStringLiteral("timeZone: unknown time zone \"%1\"").arg(zoneId));
    return zone;
}

QString invalid(QString reason)
{
    reason.replace(QLatin1Char('\t'), QLatin1Char(' '));
    reason.replace(QLatin1Char('\r'), QLatin1Char(' '));
    reason.replace(QLatin1Char('\n'), QLatin1Char(' '));
    return QStringLiteral("INVALID\t") + reason;
}

} // namespace

Result<QList<qint64>> nextFireTimes(const QString &expression, const QString &zoneId, qint64 fromMs,
                                    int count)
{
    const auto cron = CronExpression::parse(expression);
    if (!cron)
        return Error{cron.error()};
    const auto zone = zoneFor(zoneId);
    if (!zone)
        return Error{zone.error()};
    if (count < 0 || count > kMaxCount) {
        return makeError(QStringLiteral("count: must be 0-%1, got %2").arg(kMaxCount).arg(count));
    }
    QList<qint64> out;
    out.reserve(count);
    qint64 at = fromMs;
    while (out.size() < count) {
        const auto next = cron->nextAfter(at, *zone);
        if (!next)
            break;
        out.append(*next);
        at = *next;
    }
    return out;
}

QString cronBatchLine(const QString &inputLine, int count)
{
    QString line = inputLine;
    while (line.endsWith(QLatin1Char('\n')) || line.endsWith(QLatin1Char('\r')))
        line.chop(1);
    const QStringList parts = line.split(QLatin1Char('\t'));
    if (parts.size() != 3) {
        return invalid(QStringLiteral("input: expected EXPR<TAB>ZONE<TAB>FROM_EPOCH_MS, got %1 "
                                      "field(s)")
                           .arg(parts.size()));
    }
    static const QRegularExpression numberRe(QStringLiteral("^-?\\d{1,18}$"));
    const QString fromText = parts[2].trimmed();
    if (!numberRe.match(fromText).hasMatch()) {
        return invalid(
            QStringLiteral("from: expected epoch milliseconds, got \"%1\"").arg(parts[2]));
    }
    const auto times = nextFireTimes(parts[0], parts[1], fromText.toLongLong(), count);
    if (!times)
        return invalid(times.error());
    QStringList fields;
    fields.reserve(times->size());
    for (const qint64 t : *times)
        fields << QString::number(t);
    return fields.join(QLatin1Char('\t'));
}

} // namespace kairos
