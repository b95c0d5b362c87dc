#include "wire_fields.h"

#include <cmath>

namespace kairos::wire::detail {

QString quoted(const QString &s)
{
    QString out = s.left(64);
    out.replace(u'"', QStringLiteral("\\\""));
    return u'"' + out + (s.size() > 64 ? QStringLiteral("...\"") : QStringLiteral("\""));
}

QString Fields::path() const
{
    QString p = m_parent ? m_parent->path() : QString();
    if (m_base.isEmpty())
        return p;
    if (!p.isEmpty())
        p += u'.';
    p += m_base;
    if (m_index >= 0)
        p += u'[' + QString::number(m_index) + u']';
    return p;
}

QString Fields::name(QLatin1StringView k) const
{
    const QString p = path();
    return p.isEmpty() ? QString(k) : p + u'.' + k;
}

void Fields::fail(const QString &fieldName, const QString &what)
{
    if (m_error.isEmpty())
        m_error = QStringLiteral("field '%1' of '%2' %3").arg(fieldName, m_type, what);
}

void Fields::failValue(QLatin1StringView k, const QString &what)
{
    if (m_error.isEmpty())
        m_error = QStringLiteral("field '%1' of '%2': %3").arg(name(k), m_type, what);
}

void Fields::failMissing(QLatin1StringView k, const char *expected)
{
    fail(k, QStringLiteral("is missing; expected %1").arg(QLatin1StringView(expected)));
}

void Fields::failType(QLatin1StringView k, const char *expected, const QCborValue &v)
{
    fail(k, QStringLiteral("must be %1, got %2")
                .arg(QLatin1StringView(expected), protocol::cborTypeName(v)));
}

void Fields::failRange(QLatin1StringView k, qint64 n, qint64 min, qint64 max)
{
    if (min == 0 && n < 0)
        fail(k, QStringLiteral("must not be negative, got %1").arg(n));
    else
        fail(k, QStringLiteral("must be between %1 and %2, got %3").arg(min).arg(max).arg(n));
}

void Fields::failLength(QLatin1StringView k, qsizetype size, qsizetype maxLength)
{
    fail(k, QStringLiteral("must be at most %1 characters, got %2").arg(maxLength).arg(size));
}

void Fields::bytes(QLatin1StringView k, QByteArray &out, Need need, qsizetype maxSize)
{
    const auto v = get(k, need, "a byte string", &QCborValue::isByteArray);
    if (!v)
        return;
    QByteArray b = v->toByteArray();
    if (maxSize >= 0 && b.size() > maxSize) {
        fail(k, QStringLiteral("must be at most %1 bytes, got %2").arg(maxSize).arg(b.size()));
        return;
    }
    out = std::move(b);
}

void Fields::number(QLatin1StringView k, double &out)
{
    const QCborValue v = m_map.value(k);
    if (v.isUndefined())
        return; // every METRICS field is optional
    if (!v.isInteger() && !v.isDouble()) {
        fail(k, QStringLiteral("must be a number, got %1").arg(protocol::cborTypeName(v)));
        return;
    }
    const double d = v.toDouble();
    if (!std::isfinite(d) || d < 0) {
        fail(k, QStringLiteral("must be a finite number >= 0, got %1").arg(d));
        return;
    }
    out = d;
}

std::optional<QCborArray> Fields::array(QLatin1StringView k, Need need, qsizetype maxSize)
{
    const auto v = get(k, need, "an array", &QCborValue::isArray);
    if (!v)
        return std::nullopt;
    QCborArray a = v->toArray();
    if (maxSize >= 0 && a.size() > maxSize) {
        fail(k, QStringLiteral("must hold at most %1 entries, got %2").arg(maxSize).arg(a.size()));
        return std::nullopt;
    }
    return a;
}

QString notAMap(QLatin1StringView listKey, qsizetype index, const QString &type,
                const QCborValue &entry)
{
    return QStringLiteral("field '%1[%2]' of '%3' must be a map, got %4")
        .arg(listKey)
        .arg(index)
        .arg(type, protocol::cborTypeName(entry));
}

ErrorList::~ErrorList()
{
    if (m_unlisted > 0)
        m_errors << QStringLiteral("%1 more bad entries of '%2' in '%3' were not listed")
                        .arg(m_unlisted)
                        .arg(m_listKey, m_type);
}

std::optional<QCborArray> topList(const protocol::Message &m, QLatin1StringView listKey,
                                  QStringList &errors)
{
    Fields top(m.body, m.type);
    auto list = top.array(listKey);
    if (!list)
        errors << top.error();
    return list;
}

} // namespace kairos::wire::detail
