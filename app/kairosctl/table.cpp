#include "table.h"

#include <algorithm>

namespace kairos::cli {
namespace {

QString oneLine(QString text)
{
    text.replace(QLatin1String("\r\n"), QLatin1String(" "));
    text.replace(u'\n', u' ');
    text.replace(u'\r', u' ');
    text.replace(u'\t', u' ');
    return text;
}

} // namespace

Table::Table(QStringList headers)
    : m_headers(std::move(headers))
    , m_right(m_headers.size(), false)
{}

void Table::alignRight(int column)
{
    if (column >= 0 && column < m_right.size())
        m_right[column] = true;
}

void Table::addRow(QStringList cells)
{
    cells.resize(m_headers.size());
    for (QString &cell : cells)
        cell = oneLine(cell);
    m_rows << cells;
}

void Table::setMinimumWidths(const QList<qsizetype> &widths)
{
    m_minimum = widths;
}

QList<qsizetype> Table::columnWidths() const
{
    QList<qsizetype> widths(m_headers.size(), 0);
    for (qsizetype c = 0; c < m_headers.size(); ++c) {
        widths[c] = std::max(m_headers.at(c).size(), m_minimum.value(c, 0));
        for (const QStringList &row : m_rows)
            widths[c] = std::max(widths[c], row.at(c).size());
    }
    return widths;
}

QString Table::toString(bool withHeader) const
{
    const QList<qsizetype> widths = columnWidths();
    auto line = [&](const QStringList &cells) {
        QString out;
        for (qsizetype c = 0; c < cells.size(); ++c) {
            const bool last = c + 1 == cells.size();
            if (c > 0)
                out += QLatin1String("  ");
            if (m_right.at(c))
                out += cells.at(c).rightJustified(widths.at(c));
            else
                out += last ? cells.at(c) : cells.at(c).leftJustified(widths.at(c));
        }
        // A blank last cell would leave the padding of the one before.
        while (out.endsWith(u' '))
            out.chop(1);
        return out + u'\n';
    };
    QString out = withHeader ? line(m_headers) : QString();
    for (const QStringList &row : m_rows)
        out += line(row);
    return out;
}

QString keyValueLines(const QList<std::pair<QString, QString>> &pairs)
{
    qsizetype width = 0;
    for (const auto &[key, value] : pairs)
        width = std::max(width, key.size() + 1);
    QString out;
    const QString indent(width + 1, u' ');
    for (const auto &[key, value] : pairs) {
        // A multi-line value (a script) continues under its first line.
        const QStringList lines = value.split(u'\n');
        for (qsizetype i = 0; i < lines.size(); ++i) {
            QString l = (i == 0 ? (key + u':').leftJustified(width) + u' ' : indent) + lines.at(i);
            while (l.endsWith(u' ') || l.endsWith(u'\r'))
                l.chop(1);
            out += l + u'\n';
        }
    }
    return out;
}

} // namespace kairos::cli
