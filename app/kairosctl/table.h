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
    // Every line ends with '\n'.
    QString toString() const;

private:
    QStringList m_headers;
    QList<bool> m_right;
    QList<QStringList> m_rows;
};

// Key/value lines ("name:      nightly") with the values aligned.
QString keyValueLines(const QList<std::pair<QString, QString>> &pairs);

} // namespace kairos::cli
