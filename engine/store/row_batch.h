#pragma once
// How batches of rows reach the database, per dialect (measured in docs/storage.md):
//
// - PostgreSQL: RowBatch packs the rows into one array literal per column, consumed by
//   `unnest(CAST(? AS BIGINT[]), ...)`: one round trip and a handful of binds per statement, and
//   the SQL text is the same for every batch size, so one prepared statement serves them all.
// - SQLite: SqliteRow (sqlite_row.h) binds one row into a single-row prepared statement that is
//   executed once per row inside the batch's transaction. SQLite runs in-process, so a step
//   costs a few microseconds, less than any multi-row form (JSON unpacking costs more than it
//   saves).
//
// Plain multi-row `VALUES (?, ?, ...), (...)` is avoided on both: QtSql binds every parameter
// through a hash of generated placeholder names, and for SQLite it rewrites `?` to named
// placeholders, which SQLite compiles in time quadratic in their number (a 500-row, 19-column
// INSERT took about half a second to prepare). Internal to engine/store.

#include "store_config.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>
#include <QVariant>

#include <vector>

namespace kairos::sql {

enum class ColumnType { BigInt, Int, Text, Bytes };

// PostgreSQL: the rows of a batch as one array literal per column.
class RowBatch {
public:
    explicit RowBatch(QList<ColumnType> types);

    // Values of the current row, in column order; endRow() closes it.
    RowBatch &add(qint64 v);
    RowBatch &add(const QString &s);
    RowBatch &add(const QByteArray &bytes); // a Bytes column (BYTEA)
    RowBatch &addNull();
    RowBatch &addNullIfZero(qint64 v) { return v == 0 ? addNull() : add(v); }
    void endRow();

    int rows() const { return m_rows; }
    // Bind these, in order, for the placeholders of source().
    QVariantList params() const;

    // "SELECT * FROM unnest(...) AS v (name0, ..., nameN)": the batch's rows, in order.
    static QString source(const QList<ColumnType> &types, const QStringList &names);
    // A one-parameter list of ids for "x IN (<idList>)" (json_each on SQLite, unnest on
    // PostgreSQL); bind idListParam(ids).
    static QString idList(Dialect dialect);
    static QVariant idListParam(Dialect dialect, const QList<qint64> &ids);

private:
    QList<ColumnType> m_types;
    int m_rows = 0;
    int m_column = 0;
    std::vector<QString> m_arrays; // one array body per column
};

} // namespace kairos::sql
