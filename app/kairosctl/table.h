#pragma once
// Table: plain-text columns aligned for a terminal — a header row, then one row per item, two
// spaces between columns, no trailing blanks. Cells are single lines (line breaks become
// spaces). Widths count characters, which is right for the ASCII kairosctl mostly prints.
// A value type; not thread-safe.

#include <QList>
#include <QString>
#include <QStringList>

namespace kairos::cli {

class Table {
public:
    explicit Table(QStringList headers);

    // Numbers read better right-aligned.
    void alignRight(int column);
    // Missing cells are blank; extra cells are dropped.
    void addRow(QStringList cells);
    int rowCount() const { return int(m_rows.size()); }
    // Columns are at least this wide (a table printed in pages keeps the widths of the pages
    // before, so they line up unless a later page holds a wider value).
    void setMinimumWidths(const QList<qsizetype> &widths);
    // The width of each column: its widest cell, header and minimum included.
    QList<qsizetype> columnWidths() const;
    // Every line ends with '\n'. Without the header: only the rows (a later page).
    QString toString(bool withHeader = true) const;

private:
    QStringList m_headers;
    QList<bool> m_right;
    QList<qsizetype> m_minimum;
    QList<QStringList> m_rows;
};

// Key/value lines ("name:      nightly") with the values aligned.
QString keyValueLines(const QList<std::pair<QString, QString>> &pairs);

} // namespace kairos::cli
