#pragma once
// StoreProvider: a fresh, empty store for each repetition of a workload, so repetitions do not
// see each other's rows. SQLite: a new file in a temporary folder (removed afterwards).
// PostgreSQL: the private PostgreSQL 15 of the tests (tests/support/pg-fixture.sh: initdb on
// 127.0.0.1, fsync and synchronous_commit on), started once per bench run, with a new database
// per repetition (dropped afterwards). It also tells the PostgreSQL server's process id, so its
// CPU can be counted with the engine's. KAIROS_BENCH_PG_URL=postgres://user@host:port/db uses an
// existing server instead (its user must be allowed to CREATE DATABASE; KAIROS_BENCH_PG_PID
// names its postmaster for the CPU figures).
//
// Main thread only.

#include <core/result.h>

#include <QString>
#include <QTemporaryDir>

#include <memory>

namespace kairos::bench {

class StoreProvider {
public:
    // kind: "sqlite" or "postgres". Starts PostgreSQL for "postgres" (blocks, up to a minute).
    static Result<std::unique_ptr<StoreProvider>> create(const QString &kind);
    ~StoreProvider(); // stops PostgreSQL and removes the temporary folder

    QString kind() const { return m_kind; }
    // A store URL for an empty database named after `tag`. For SQLite, `dir` (when given) is
    // where the file goes (kairosd --data wants its database inside its data folder).
    Result<QString> freshUrl(const QString &tag, const QString &dir = QString());
    // Drops the database / removes the SQLite file once nothing uses it any more.
    void release(const QString &url);
    // The postmaster's pid (PostgreSQL), 0 for SQLite.
    qint64 serverPid() const;
    // Where temporary data lives.
    QString workDir() const { return m_dir.path(); }

private:
    StoreProvider() = default;
    Status startPostgres();
    Status adminExec(const QString &sql);

    QString m_kind;
    QTemporaryDir m_dir{QStringLiteral("/tmp/kairos-bench.XXXXXX")};
    QString m_adminUrl; // postgres://postgres@127.0.0.1:PORT/postgres
    int m_counter = 0;
    bool m_external = false; // KAIROS_BENCH_PG_URL: a server we neither start nor stop
};

} // namespace kairos::bench
