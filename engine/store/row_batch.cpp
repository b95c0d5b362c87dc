#include "row_batch.h"

namespace kairos::sql {
namespace {

// An element of a PostgreSQL array literal: always quoted, so the text "NULL" stays text.
void appendArrayString(QString &out, const QString &s)
{
    out += u'"';
    qsizetype start = 0;
    for (qsizetype k = 0; k < s.size(); ++k) {
        const QChar c = s.at(k);
        if (c == u'"' || c == u'\\') {
            out += QStringView(s).mid(start, k - start);
            out += u'\\';
            start = k;
        }
    }
    out += QStringView(s).mid(start);
    out += u'"';
}

QString pgType(ColumnType t)
{
    switch (t) {
    case ColumnType::BigInt:
        return QStringLiteral("BIGINT[]");
    case ColumnType::Int:
        return QStringLiteral("INTEGER[]");
    case ColumnType::Bytes:
        return QStringLiteral("BYTEA[]");
    case ColumnType::Text:
        break;
    }
    return QStringLiteral("TEXT[]");
}

} // namespace

RowBatch::RowBatch(QList<ColumnType> types)
    : m_types(std::move(types))
    , m_arrays(m_types.size())
{}

RowBatch &RowBatch::add(qint64 v)
{
    QString &a = m_arrays[m_column++];
    if (m_rows)
        a += u',';
    a += QString::number(v);
    return *this;
}

RowBatch &RowBatch::add(const QString &s)
{
    QString &a = m_arrays[m_column++];
    if (m_rows)
        a += u',';
    appendArrayString(a, s);
    return *this;
}

RowBatch &RowBatch::add(const QByteArray &bytes)
{
    // bytea's hex input form, quoted; the array parser turns "\\x" into the \x bytea expects.
    static constexpr char kHex[] = "0123456789abcdef";
    QString &a = m_arrays[m_column++];
    if (m_rows)
        a += u',';
    const qsizetype start = a.size();
    a.resize(start + 5 + bytes.size() * 2);
    QChar *out = a.data() + start;
    *out++ = u'"';
    *out++ = u'\\';
    *out++ = u'\\';
    *out++ = u'x';
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        *out++ = QLatin1Char(kHex[b >> 4]);
        *out++ = QLatin1Char(kHex[b & 0xf]);
    }
    *out = u'"';
    return *this;
}

RowBatch &RowBatch::addNull()
{
    QString &a = m_arrays[m_column++];
    if (m_rows)
        a += u',';
    a += QLatin1String("NULL");
    return *this;
}

void RowBatch::endRow()
{
    Q_ASSERT(m_column == m_types.size());
    m_column = 0;
    ++m_rows;
}

QVariantList RowBatch::params() const
{
    QVariantList out;
    out.reserve(int(m_arrays.size()));
    for (const QString &a : m_arrays)
        out << QVariant(u'{' + a + u'}');
    return out;
}

QString RowBatch::source(const QList<ColumnType> &types, const QStringList &names)
{
    QStringList arrays;
    for (ColumnType t : types)
        arrays << QStringLiteral("CAST(? AS %1)").arg(pgType(t));
    return QStringLiteral("SELECT * FROM unnest(%1) AS v (%2)")
        .arg(arrays.join(QStringLiteral(", ")), names.join(QStringLiteral(", ")));
}

QString RowBatch::idList(Dialect dialect)
{
    return dialect == Dialect::Sqlite ? QStringLiteral("SELECT value FROM json_each(?)")
                                      : QStringLiteral("SELECT unnest(CAST(? AS BIGINT[]))");
}

QVariant RowBatch::idListParam(Dialect dialect, const QList<qint64> &ids)
{
    QString s;
    s.reserve(ids.size() * 8 + 2);
    s += dialect == Dialect::Sqlite ? u'[' : u'{';
    for (int k = 0; k < ids.size(); ++k) {
        if (k)
            s += u',';
        s += QString::number(ids[k]);
    }
    s += dialect == Dialect::Sqlite ? u']' : u'}';
    return s;
}

} // namespace kairos::sql
