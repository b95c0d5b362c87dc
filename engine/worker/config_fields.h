#pragma once
// Reading processor config fields with errors that name the field the way a user wrote it
// ("processor.ms: expected a whole number"). Internal to the worker library.

#include <core/result.h>

#include <QJsonObject>
#include <QString>

namespace kairos::config {

QString fieldName(const QString &key); // "processor.<key>"

// A string that must be present.
Result<QString> requiredString(const QJsonObject &o, const QString &key);
// A string, or `fallback` when the field is absent or null.
Result<QString> optionalString(const QJsonObject &o, const QString &key, const QString &fallback);
// A whole number in [min, max], or `fallback` when absent or null.
Result<qint64> optionalInt(const QJsonObject &o, const QString &key, qint64 fallback, qint64 min,
                           qint64 max);
// A whole number in [min, max] that must be present.
Result<qint64> requiredInt(const QJsonObject &o, const QString &key, qint64 min, qint64 max);
// true/false, or `fallback` when absent or null.
Result<bool> optionalBool(const QJsonObject &o, const QString &key, bool fallback);

} // namespace kairos::config
