#include "message.h"

#include <QCborArray>

namespace kairos::protocol {

namespace {

Error fieldError(const Message &m, QLatin1StringView key, const char *expected)
{
    const QCborValue v = m.body.value(key);
    if (v.isUndefined())
        return makeError(QStringLiteral("field '%1' of '%2' is missing; expected %3")
                             .arg(key, m.type, QLatin1StringView(expected)));
    return makeError(QStringLiteral("field '%1' of '%2' must be %3, got %4")
                         .arg(key, m.type, QLatin1StringView(expected), cborTypeName(v)));
}

} // namespace

QString Message::text(QLatin1StringView key, const QString &fallback) const
{
    const QCborValue v = body.value(key);
    return v.isString() ? v.toString() : fallback;
}

qint64 Message::integer(QLatin1StringView key, qint64 fallback) const
{
    const QCborValue v = body.value(key);
    return v.isInteger() ? v.toInteger() : fallback;
}

bool Message::boolean(QLatin1StringView key, bool fallback) const
{
    const QCborValue v = body.value(key);
    return v.isBool() ? v.toBool() : fallback;
}

QByteArray Message::bytes(QLatin1StringView key, const QByteArray &fallback) const
{
    const QCborValue v = body.value(key);
    return v.isByteArray() ? v.toByteArray() : fallback;
}

QCborMap Message::map(QLatin1StringView key) const
{
    return body.value(key).toMap();
}

QCborArray Message::array(QLatin1StringView key) const
{
    return body.value(key).toArray();
}

Result<QString> Message::requireText(QLatin1StringView key) const
{
    const QCborValue v = body.value(key);
    if (!v.isString())
        return fieldError(*this, key, "a text string");
    return v.toString();
}

Result<qint64> Message::requireInteger(QLatin1StringView key) const
{
    const QCborValue v = body.value(key);
    if (!v.isInteger())
        return fieldError(*this, key, "an integer");
    return v.toInteger();
}

Result<bool> Message::requireBoolean(QLatin1StringView key) const
{
    const QCborValue v = body.value(key);
    if (!v.isBool())
        return fieldError(*this, key, "true or false");
    return v.toBool();
}

Result<QByteArray> Message::requireBytes(QLatin1StringView key) const
{
    const QCborValue v = body.value(key);
    if (!v.isByteArray())
        return fieldError(*this, key, "a byte string");
    return v.toByteArray();
}

Result<QCborMap> Message::requireMap(QLatin1StringView key) const
{
    const QCborValue v = body.value(key);
    if (!v.isMap())
        return fieldError(*this, key, "a map");
    return v.toMap();
}

bool operator==(const Message &a, const Message &b)
{
    return a.type == b.type && a.body == b.body;
}

Message makeErrorMessage(const QString &reason)
{
    return Message(QString(msg::Error)).with(QLatin1StringView("reason"), reason);
}

Message makeUnknownTypeError(const QString &type)
{
    return makeErrorMessage(QStringLiteral("unknown message type %1").arg(type));
}

QString cborTypeName(const QCborValue &v)
{
    switch (v.type()) {
    case QCborValue::Integer:
        return QStringLiteral("an integer");
    case QCborValue::ByteArray:
        return QStringLiteral("a byte string");
    case QCborValue::String:
        return QStringLiteral("a text string");
    case QCborValue::Array:
        return QStringLiteral("an array");
    case QCborValue::Map:
        return QStringLiteral("a map");
    case QCborValue::False:
    case QCborValue::True:
        return QStringLiteral("a boolean");
    case QCborValue::Null:
        return QStringLiteral("null");
    case QCborValue::Undefined:
        return QStringLiteral("undefined");
    case QCborValue::Double:
        return QStringLiteral("a floating-point number");
    case QCborValue::Invalid:
        return QStringLiteral("an invalid value");
    default:
        break;
    }
    if (v.isTag())
        return QStringLiteral("a tagged value");
    if (v.isSimpleType())
        return QStringLiteral("a simple value");
    return QStringLiteral("an unsupported value");
}

} // namespace kairos::protocol
