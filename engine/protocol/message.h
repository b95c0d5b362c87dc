#pragma once
// Message: one protocol message as it travels in one frame — a type name ("hello", "req", "evt",
// ...) and a CBOR map of fields. The typed accessors are how receivers read fields: they never
// fail on a wrong type (a hostile peer can send anything), they return a default or an error text
// naming the field, the message type and what was expected, so a bad message can be refused with a
// reason instead of being misread. Unknown fields are simply never asked for, which is what makes
// "unknown fields are ignored" true for every receiver.
//
// Plain value type: safe to copy between threads; a single instance is not synchronised.

#include <core/result.h>

#include <QCborMap>
#include <QCborValue>
#include <QMetaType>
#include <QString>

#include <optional>

namespace kairos::protocol {

struct Message {
    QString type;
    QCborMap body; // every field except the type ("t"), which lives in `type`

    Message() = default;
    explicit Message(QString messageType, QCborMap fields = {})
        : type(std::move(messageType))
        , body(std::move(fields))
    {}

    bool has(QLatin1StringView key) const { return body.contains(key); }
    QCborValue value(QLatin1StringView key) const { return body.value(key); }

    // Lenient getters: the field's value when it has the expected CBOR type, else `fallback`.
    QString text(QLatin1StringView key, const QString &fallback = {}) const;
    qint64 integer(QLatin1StringView key, qint64 fallback = 0) const;
    bool boolean(QLatin1StringView key, bool fallback = false) const;
    QByteArray bytes(QLatin1StringView key, const QByteArray &fallback = {}) const;
    QCborMap map(QLatin1StringView key) const;
    QCborArray array(QLatin1StringView key) const;

    // Strict getters for required fields: an error such as
    // "field 'nonce' of 'hello' must be a byte string" when missing or of another type.
    Result<QString> requireText(QLatin1StringView key) const;
    Result<qint64> requireInteger(QLatin1StringView key) const;
    Result<bool> requireBoolean(QLatin1StringView key) const;
    Result<QByteArray> requireBytes(QLatin1StringView key) const;
    Result<QCborMap> requireMap(QLatin1StringView key) const;

    // Builder style: Message(u"evt"_s).with("topic"_L1, topic).with("d"_L1, data).
    Message with(QLatin1StringView key, const QCborValue &v) &&
    {
        body.insert(key, v);
        return std::move(*this);
    }
    Message &with(QLatin1StringView key, const QCborValue &v) &
    {
        body.insert(key, v);
        return *this;
    }
};

bool operator==(const Message &a, const Message &b);
inline bool operator!=(const Message &a, const Message &b)
{
    return !(a == b);
}

// Well-known message types and the error reply every receiver uses for what it does not know.
namespace msg {
inline constexpr QLatin1StringView Hello{"hello"};
inline constexpr QLatin1StringView Challenge{"challenge"};
inline constexpr QLatin1StringView Auth{"auth"};
inline constexpr QLatin1StringView Welcome{"welcome"};
inline constexpr QLatin1StringView Refused{"refused"};
inline constexpr QLatin1StringView Request{"req"};
inline constexpr QLatin1StringView Response{"res"};
inline constexpr QLatin1StringView Event{"evt"};
inline constexpr QLatin1StringView Error{"error"};
} // namespace msg

// `error {reason}`: sent to a peer to say what was wrong with something it sent.
Message makeErrorMessage(const QString &reason);
// `error {reason: "unknown message type X"}`: the answer to a type the application does not handle.
Message makeUnknownTypeError(const QString &type);

// A short human-readable name of a CBOR value's type ("text", "integer", "map", ...) for errors.
QString cborTypeName(const QCborValue &v);

} // namespace kairos::protocol

Q_DECLARE_METATYPE(kairos::protocol::Message)
