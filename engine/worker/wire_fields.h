#pragma once
// Internal to the worker protocol's codecs (wire.cpp, container_wire.cpp; not installed, not for
// other modules): the strict reader of the fields of one CBOR map that both decode with, and the
// list helpers around it. Fields keeps the first error, phrased like protocol::Message's strict
// getters and naming the field by its path inside the message ("field 'reports[0].s' of 'status'
// must be a text string, got an integer"); paths are only spelled out for an error, so a batch of
// thousands of good entries builds no strings. decodeEntries decodes a message's list of maps
// entry by entry and lists at most kMaxListedErrors errors plus one line with the count of the
// others, so a frame full of tiny bad entries cannot make the receiver build millions of error
// texts. The error texts are part of the protocol's tests: keep them as they are.
//
// Plain values and functions: a Fields or ErrorList belongs to the one decode that made it; the
// free functions are thread-safe.

#include <protocol/message.h>

#include <QCborArray>
#include <QCborMap>
#include <QList>
#include <QStringList>

#include <limits>
#include <optional>

namespace kairos::wire::detail {

inline constexpr qsizetype kMaxListedErrors = 32;
inline constexpr qint64 kIntMax = std::numeric_limits<int>::max();
inline constexpr qint64 kInt64Max = std::numeric_limits<qint64>::max();

enum class Need { Required, Optional };

// `s` in double quotes for an error text, clipped to 64 characters: a hostile peer's text must
// not flood the log.
QString quoted(const QString &s);

// Reads the fields of one CBOR map (the message body, one entry of a list, or a nested map) and
// keeps the first error. `map` and `type` must outlive the reader.
class Fields {
public:
    // The message body.
    Fields(const QCborMap &map, const QString &type)
        : m_map(map)
        , m_type(type)
    {}
    // A nested map of the message body: entry `index` of the list `base` (index >= 0), or the
    // map `base`.
    Fields(const QCborMap &map, QLatin1StringView base, qsizetype index, const QString &type)
        : m_map(map)
        , m_type(type)
        , m_base(base)
        , m_index(index)
    {}
    // The same, one level further down: `base` is a field of `parent`.
    Fields(const QCborMap &map, const Fields &parent, QLatin1StringView base, qsizetype index)
        : m_map(map)
        , m_type(parent.m_type)
        , m_parent(&parent)
        , m_base(base)
        , m_index(index)
    {}

    bool ok() const { return m_error.isEmpty(); }
    const QString &error() const { return m_error; }
    const QString &type() const { return m_type; }
    bool has(QLatin1StringView k) const { return m_map.contains(k); }
    // Where this map sits in the message ("tasks[3].res[0]"); empty for the body.
    QString path() const;
    // The field `k` of this map by its path in the message ("tasks[3].res[0].n").
    QString name(QLatin1StringView k) const;

    // "field 'NAME' of 'TYPE' WHAT", unless an error is already recorded.
    void fail(const QString &fieldName, const QString &what);
    void fail(QLatin1StringView k, const QString &what) { fail(name(k), what); }
    // For a value of the right type that is not acceptable: "field 's' of 'status': unknown...".
    void failValue(QLatin1StringView k, const QString &what);
    // Takes the first error of a nested map's reader (its paths are already complete).
    void adopt(const Fields &inner)
    {
        if (m_error.isEmpty())
            m_error = inner.m_error;
    }

    // The value, or nullopt after recording "missing" / "must be X" (or silently for an absent
    // optional field).
    std::optional<QCborValue> get(QLatin1StringView k, Need need, const char *expected,
                                  bool (QCborValue::*isType)() const)
    {
        QCborValue v = m_map.value(k);
        if (v.isUndefined()) {
            if (need == Need::Required)
                failMissing(k, expected);
            return std::nullopt;
        }
        if (!(v.*isType)()) {
            failType(k, expected, v);
            return std::nullopt;
        }
        return v;
    }

    template<typename Int>
    void integer(QLatin1StringView k, Int &out, qint64 min, qint64 max, Need need = Need::Required)
    {
        const auto v = get(k, need, "an integer", &QCborValue::isInteger);
        if (!v)
            return;
        const qint64 n = v->toInteger();
        if (n < min || n > max) {
            failRange(k, n, min, max);
            return;
        }
        out = static_cast<Int>(n);
    }

    // `maxLength` < 0: no limit.
    void text(QLatin1StringView k, QString &out, Need need = Need::Required,
              qsizetype maxLength = -1)
    {
        const auto v = get(k, need, "a text string", &QCborValue::isString);
        if (!v)
            return;
        QString s = v->toString();
        if (maxLength >= 0 && s.size() > maxLength) {
            failLength(k, s.size(), maxLength);
            return;
        }
        out = std::move(s);
    }

    // `maxSize` < 0: no limit.
    void bytes(QLatin1StringView k, QByteArray &out, Need need = Need::Required,
               qsizetype maxSize = -1);

    void boolean(QLatin1StringView k, bool &out, Need need = Need::Required)
    {
        if (const auto v = get(k, need, "a boolean", &QCborValue::isBool))
            out = v->toBool();
    }

    // An optional finite number >= 0, integer or float (absent leaves `out` as it is).
    void number(QLatin1StringView k, double &out);

    // `maxSize` < 0: no limit.
    std::optional<QCborArray> array(QLatin1StringView k, Need need = Need::Required,
                                    qsizetype maxSize = -1);

    std::optional<QCborMap> map(QLatin1StringView k, Need need = Need::Required)
    {
        const auto v = get(k, need, "a map", &QCborValue::isMap);
        if (!v)
            return std::nullopt;
        return v->toMap();
    }

private:
    // The error texts, out of line: only a bad field gets here.
    void failMissing(QLatin1StringView k, const char *expected);
    void failType(QLatin1StringView k, const char *expected, const QCborValue &v);
    void failRange(QLatin1StringView k, qint64 n, qint64 min, qint64 max);
    void failLength(QLatin1StringView k, qsizetype size, qsizetype maxLength);

    const QCborMap &m_map;
    const QString &m_type;
    const Fields *m_parent = nullptr;
    QLatin1StringView m_base;
    qsizetype m_index = -1;
    QString m_error;
};

// "field 'LIST[INDEX]' of 'TYPE' must be a map, got ...": entry `index` of the message's list
// `listKey` is not a map.
QString notAMap(QLatin1StringView listKey, qsizetype index, const QString &type,
                const QCborValue &entry);

// The error list of one batch decode: the first kMaxListedErrors texts, then (when it goes out
// of scope) one line with the count of the others.
class ErrorList {
public:
    ErrorList(QStringList &errors, QLatin1StringView listKey, const QString &type)
        : m_errors(errors)
        , m_listKey(listKey)
        , m_type(type)
    {}
    ~ErrorList();
    ErrorList(const ErrorList &) = delete;
    ErrorList &operator=(const ErrorList &) = delete;

    void add(const QString &error)
    {
        if (m_errors.size() < kMaxListedErrors)
            m_errors << error;
        else
            ++m_unlisted;
    }

private:
    QStringList &m_errors;
    QLatin1StringView m_listKey;
    const QString &m_type;
    qsizetype m_unlisted = 0;
};

// Reads the list `k` of `f`, a list of maps, entry by entry with `read(Fields &, T &)`; the
// first bad entry becomes f's error (a nested list is part of one entry: all or nothing).
template<typename T, typename Read>
void readMapList(Fields &f, QLatin1StringView k, Need need, qsizetype maxSize, QList<T> &out,
                 Read read)
{
    const auto list = f.array(k, need, maxSize);
    if (!list)
        return;
    out.reserve(list->size());
    for (qsizetype i = 0; i < list->size(); ++i) {
        const QCborValue entry = list->at(i);
        if (!entry.isMap()) {
            f.fail(QStringLiteral("%1[%2]").arg(f.name(k)).arg(i),
                   QStringLiteral("must be a map, got %1").arg(protocol::cborTypeName(entry)));
            return;
        }
        const QCborMap map = entry.toMap();
        Fields inner(map, f, k, i);
        T item;
        read(inner, item);
        if (!inner.ok())
            return f.adopt(inner);
        out.append(std::move(item));
    }
}

// The message's list `listKey` (required), or nullopt after adding the error naming it.
std::optional<QCborArray> topList(const protocol::Message &m, QLatin1StringView listKey,
                                  QStringList &errors);

// Decodes the list `listKey` of `m` entry by entry with `read(Fields &, T &)`: good entries are
// appended to `items`, each bad one adds its error to `errors`; `onBad(item, error)` sees each
// bad entry that was a map (and may append to `items` itself).
template<typename T, typename Read, typename OnBad>
void decodeEntries(const protocol::Message &m, QLatin1StringView listKey, QList<T> &items,
                   QStringList &errors, Read read, OnBad onBad)
{
    const auto list = topList(m, listKey, errors);
    if (!list)
        return;
    items.reserve(list->size());
    ErrorList errorList(errors, listKey, m.type);
    for (qsizetype i = 0; i < list->size(); ++i) {
        const QCborValue entry = list->at(i);
        if (!entry.isMap()) {
            errorList.add(notAMap(listKey, i, m.type, entry));
            continue;
        }
        const QCborMap map = entry.toMap();
        Fields f(map, listKey, i, m.type);
        T item;
        read(f, item);
        if (f.ok()) {
            items.append(std::move(item));
        } else {
            onBad(item, f.error());
            errorList.add(f.error());
        }
    }
}

// A message whose only field `listKey` is the list of `items`, each encoded by `toCbor`.
template<typename T, typename ToCbor>
protocol::Message listMessage(QLatin1StringView type, QLatin1StringView listKey,
                              const QList<T> &items, ToCbor toCbor)
{
    QCborArray a;
    for (const T &item : items)
        a.append(toCbor(item));
    QCborMap c;
    c.insert(listKey, a);
    return protocol::Message(QString(type), std::move(c));
}

} // namespace kairos::wire::detail
