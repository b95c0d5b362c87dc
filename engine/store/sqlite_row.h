#pragma once
// SqliteRow: executes a prepared single-row SQLite statement many times, binding values through
// the SQLite C API of the library QtSql itself loaded (QSqlResult::handle() documents access to
// the sqlite3_stmt). On the hot path (instances, logs) QtSql's own binding cost more than SQLite's
// whole work per row: every bind goes through a hash of placeholder names. The C API is found
// with dlopen(RTLD_NOLOAD), so it is only ever the copy the QSQLITE plugin already uses; when
// that is not possible (a Qt with SQLite built in) it falls back to QtSql binding, same results.
// Internal to engine/store; use on the Database's thread.

#include "sql_util.h"

#include <core/result.h>

#include <QSqlQuery>

#include <memory>

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
    SqliteRow &addNull();
    SqliteRow &addNullIfZero(qint64 v) { return v == 0 ? addNull() : add(v); }
    void endRow() {}

    // Runs the statement with the values added since the last exec. `what` names the operation
    // in the error text.
    Status exec(const QString &what);
    // Rows changed by the last exec (0 for an INSERT skipped by ON CONFLICT DO NOTHING).
    int changes() const { return m_changes; }
    // Whether the last failure was a UNIQUE / PRIMARY KEY violation.
    bool uniqueViolation() const { return m_uniqueViolation; }
    // Whether the SQLite C API is used (false: QtSql binding fallback).
    bool native() const { return m_stmt != nullptr; }

    // ":p0, :p1, ..." for the VALUES list of a statement with `count` columns.
    static QString placeholders(int count);

    // Tests: use the QtSql fallback even where the C API is available (rows created later).
    static void setNativeAllowed(bool allowed);

private:
    void bindFallback(const QVariant &v);

    std::shared_ptr<QSqlQuery> m_query;
    void *m_stmt = nullptr; // sqlite3_stmt*
    int m_next = 0;
    int m_changes = 0;
    bool m_uniqueViolation = false;
    bool m_bindFailed = false;
};

} // namespace kairos::sql
