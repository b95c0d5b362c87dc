#pragma once
// StoreConfig: where the store lives, given as one URL string the operator writes in a config
// file or on the command line. parse() turns it into the connection parameters and explains
// what was wrong with a bad one. A plain value type; thread-safe like any value.

#include <core/result.h>

#include <QString>

namespace kairos {

enum class Dialect { Sqlite, Postgres };

QString toString(Dialect d);

struct StoreConfig {
    // "sqlite:/abs/path.db", a plain file path (SQLite), or
    // "postgres://user[:password]@host[:port]/database[?sslmode=...&...]" ("postgresql://" too).
    QString url;

    // Filled by parse().
    Dialect dialect = Dialect::Sqlite;
    QString sqlitePath; // absolute
    QString host;       // PostgreSQL
    int port = 5432;
    QString user;
    QString password;
    QString database;
    QString connectOptions; // libpq options from the query string, "k=v;k=v" as QPSQL takes them

    // Parses `url`. Errors name the part that is wrong, e.g.
    // "store url: expected a database name after the host, as in postgres://host/kairos".
    static Result<StoreConfig> parse(const QString &url);

    // The URL with the password replaced by "***", for logs and error messages.
    QString redactedUrl() const;
};

} // namespace kairos
