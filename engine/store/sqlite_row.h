#pragma once
// SqliteRow: executes a prepared single-row SQLite statement many times, binding values through
// the SQLite C API of the library QtSql itself loaded (QSqlResult::handle() documents access to
// the sqlite3_stmt). On the hot path (instances, logs) QtSql's own binding cost more than SQLite's
// whole work per row: every bind goes through a hash of placeholder names. The C API is found
// with dlopen(RTLD_NOLOAD), so it is only ever the copy the QSQLITE plugin already uses; when
// that is not possible (a Qt with SQLite built in) it falls back to QtSql binding, same results.
// Text is bound as UTF-8 converted by Qt (SQLite's own UTF-16 conversion is a byte loop) and, like
// BLOBs, without a copy: the bytes stay in this object until the statement ran. Statements that
// return rows (the task windows of a map run) are read through the same API with step() and the
// column accessors, without QtSql's per-value QVariant cache. Internal to engine/store; use on the
// Database's thread.

#include "sql_util.h"

#include <core/result.h>

#include <QSqlQuery>

#include <memory>
#include <vector>

namespace kairos::sql {

class SqliteRow {
public:
    // `query` was prepared with placeholders ":p0", ":p1", ... in binding order (see
    // placeholders()). Named, because QtSql's positional binding (the fallback) formats a
    // placeholder name on every call.
    explicit SqliteRow(std::shared_ptr<QSqlQuery> query);
    ~SqliteRow();
    SqliteRow(const SqliteRow &) = delete;
    SqliteRow &operator=(const SqliteRow &) = delete;

    SqliteRow &add(qint64 v);
    SqliteRow &add(const QString &s);
    SqliteRow &add(const QByteArray &bytes); // a BLOB; empty binds as a zero-length BLOB
    SqliteRow &addNull();
    SqliteRow &addNullIfZero(qint64 v) { return v == 0 ? addNull() : add(v); }
    void endRow() {}

    // Runs the statement with the values added since the last exec. `what` names the operation
    // in the error text (build it once per batch, not per row).
    Status exec(const QString &what);

    // Statements that return rows: after the values are added, each step() moves to the next
    // row and says whether there is one (false at the end, when the statement is done and
    // reset). Read the current row's columns (0-based) in between.
    Result<bool> step(const QString &what);
    qint64 int64At(int column) const;
    QString textAt(int column) const;
    QByteArray blobAt(int column) const;
    // Rows changed by the last exec (0 for an INSERT skipped by ON CONFLICT DO NOTHING).
    int changes() const { return m_changes; }
    // Whether the last failure was a UNIQUE / PRIMARY KEY violation.
    bool uniqueViolation() const { return m_uniqueViolation; }
    // Whether the SQLite C API is used (false: QtSql binding fallback).
    bool native() const { return m_stmt != nullptr; }

    static constexpr int kMaxParameters = 1024;
    // ":p0, :p1, ..." for the VALUES list of a statement with `count` columns.
    static QString placeholders(int count);
    // "(:p0, ..., :pC-1), (:pC, ...), ..." for a multi-row VALUES list: `rows` rows of `columns`
    // values, bound row after row.
    static QString rows(int columns, int rows);

    // Tests: use the QtSql fallback even where the C API is available (rows created later).
    static void setNativeAllowed(bool allowed);

private:
    void bindFallback(const QVariant &v);
    Status failure(const QString &what);

    std::shared_ptr<QSqlQuery> m_query;
    void *m_stmt = nullptr; // sqlite3_stmt*
    // Bound without a copy (SQLITE_STATIC), so kept here until the next bind of the parameter:
    // per parameter a UTF-8 buffer whose capacity is reused, and the BLOBs (shared, not copied).
    std::vector<QByteArray> m_text;
    std::vector<QByteArray> m_blobs;
    int m_next = 0;
    bool m_stepping = false; // step() returned a row and the statement is not reset yet
    int m_changes = 0;
    bool m_uniqueViolation = false;
    bool m_bindFailed = false;
};

} // namespace kairos::sql
