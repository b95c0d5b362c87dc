#include "config_fields.h"

#include <QJsonValue>

#include <cmath>

namespace kairos::config {

QString fieldName(const QString &key)
{
    return QStringLiteral("processor.") + key;
}

namespace {

bool absent(const QJsonValue &v)
{
    return v.isUndefined() || v.isNull();
}

Result<qint64> toInt(const QJsonValue &v, const QString &key, qint64 min, qint64 max)
{
    const double d = v.toDouble();
    if (!v.isDouble() || std::floor(d) != d || std::abs(d) > 9.0e15)
        return makeError(fieldName(key) + QStringLiteral(": expected a whole number"));
    const auto n = static_cast<qint64>(d);
    if (n < min || n > max) {
        return makeError(
            QStringLiteral("%1: %2 is outside %3-%4").arg(fieldName(key)).arg(n).arg(min).arg(max));
    }
    return n;
}

} // namespace

Result<QString> requiredString(const QJsonObject &o, const QString &key)
{
    const QJsonValue v = o.value(key);
    if (absent(v))
        return makeError(fieldName(key) + QStringLiteral(": missing"));
    if (!v.isString())
        return makeError(fieldName(key) + QStringLiteral(": expected a string"));
    return v.toString();
}

Result<QString> optionalString(const QJsonObject &o, const QString &key, const QString &fallback)
{
    const QJsonValue v = o.value(key);
    if (absent(v))
        return fallback;
    if (!v.isString())
        return makeError(fieldName(key) + QStringLiteral(": expected a string"));
    return v.toString();
}

Result<qint64> optionalInt(const QJsonObject &o, const QString &key, qint64 fallback, qint64 min,
                           qint64 max)
{
    const QJsonValue v = o.value(key);
    if (absent(v))
        return fallback;
    return toInt(v, key, min, max);
}

Result<qint64> requiredInt(const QJsonObject &o, const QString &key, qint64 min, qint64 max)
{
    const QJsonValue v = o.value(key);
    if (absent(v))
        return makeError(fieldName(key) + QStringLiteral(": missing"));
    return toInt(v, key, min, max);
}

Result<bool> optionalBool(const QJsonObject &o, const QString &key, bool fallback)
{
    const QJsonValue v = o.value(key);
    if (absent(v))
        return fallback;
    if (!v.isBool())
        return makeError(fieldName(key) + QStringLiteral(": expected true or false"));
    return v.toBool();
}

} // namespace kairos::config
