#pragma once
// Small helpers shared by the repositories: error text, placeholders, NULL mapping and value
// conversion. Internal to engine/store; pure functions, thread-safe.

#include <core/result.h>

#include <QSqlError>
#include <QSqlQuery>
#include <QString>
#include <QStringList>
#include <QVariant>

namespace kairos::sql {

// "store: <what>: <database message>".
Error error(const QString &what, const QSqlError &e);
QString errorText(const QSqlError &e);

// A UNIQUE or PRIMARY KEY violation (SQLite extended code 1555/2067, PostgreSQL 23505).
bool isUniqueViolation(const QSqlError &e);

// "(?, ?, ?)" for one row of `columns` columns.
QString valuesList(int columns);

// Text columns are NOT NULL; QtSql binds a null QString as NULL, so bind "" instead.
inline QVariant str(const QString &s)
{
    return s.isNull() ? QVariant(QStringLiteral("")) : QVariant(s);
}
inline qint64 toInt64(const QVariant &v)
{
    return v.isNull() ? 0 : v.toLongLong();
}

// `'A', 'B'` for an IN list of fixed, trusted names (enum names only, never user input).
QString quotedList(const QStringList &names);

} // namespace kairos::sql
