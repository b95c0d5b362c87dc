#pragma once
// Database: one open connection to the store (SQLite in WAL mode or PostgreSQL) and the only
// way the repositories reach it. A QSqlDatabase belongs to the thread that opened it, so a
// Database is used by exactly ONE thread: the one that called open() (in the engine that is the
// StoreThread; tests and tools may own one directly). Nothing here is thread-safe; open two
// Databases for two threads. Besides the connection it keeps what belongs to a connection:
// prepared statements reused across calls, the transaction state and small per-connection
// caches of the repositories.

#include "store_config.h"

#include <core/result.h>

#include <QHash>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QThread>

#include <memory>

namespace kairos {

class Database {
public:
    // Opens a connection on the calling thread (which then owns it). SQLite: creates the folder
    // and the file if missing, switches to WAL, synchronous=FULL (an acknowledged commit
    // survives kill -9 and power loss), foreign keys on, a busy timeout. PostgreSQL: connects
    // with synchronous_commit=on. Does not touch the schema: call migrate().
    static Result<std::unique_ptr<Database>> open(const StoreConfig &config);
    ~Database(); // closes and removes the named connection; call on the owning thread

    Database(const Database &) = delete;
    Database &operator=(const Database &) = delete;

    // Brings the schema to the latest version (createDB on an empty database, updateDB from
    // the stored version otherwise). Idempotent. Safe when several processes migrate the same
    // PostgreSQL database at once (pg_advisory_xact_lock) or the same SQLite file (BEGIN
    // IMMEDIATE). Refuses a database written by a newer Kairos. Owning thread only.
    Status migrate();
    // Migrates only up to `targetVersion` (tests of upgrade paths use it). Owning thread only.
    Status migrate(int targetVersion);
    // The version stored in schema_version, 0 for an empty database. Owning thread only.
    Result<int> schemaVersion();
    static int latestSchemaVersion();

    Dialect dialect() const { return m_config.dialect; }
    const StoreConfig &config() const { return m_config; }
    QString connectionName() const { return m_name; }
    // The underlying connection, for the repositories. Owning thread only.
    QSqlDatabase &connection() { return m_db; }

    // Plain transactions (owning thread only). SQLite uses BEGIN IMMEDIATE so that the write
    // lock is taken up front and waits for busy_timeout instead of failing half-way. begin()
    // inside an open transaction is an error; use Transaction for code that may be nested.
    Status begin();
    Status commit();
    Status rollback();
    bool inTransaction() const { return m_inTransaction; }

    // Savepoints inside an open transaction (owning thread only).
    Status savepoint(const QString &name);
    Status releaseSavepoint(const QString &name);
    Status rollbackToSavepoint(const QString &name);

    // Runs one statement without results; `what` names the operation in the error text
    // ("store: <what>: <database message>"). Owning thread only.
    Status exec(const QString &sql, const QString &what);
    // Transaction control (BEGIN, SAVEPOINT, ...): prepared once on SQLite, sent as is on
    // PostgreSQL (which cannot prepare them). Owning thread only.
    Status execControl(const QString &sql, const QString &what);
    // A prepared statement for `sql`, cached on this connection and reused across calls (the
    // shared pointer keeps it valid even if the cache is trimmed meanwhile). Owning thread only.
    Result<std::shared_ptr<QSqlQuery>> prepared(const QString &sql);
    // A fresh, unprepared query object on this connection. Owning thread only.
    QSqlQuery newQuery();

    // Bumped on every rollback (whole transaction or to a savepoint). Caches that mirror
    // database state (LogRepository's per-instance sequence numbers) compare it to know that
    // rows they counted may be gone.
    quint64 rollbackGeneration() const { return m_rollbackGeneration; }
    // Per-connection state of LogRepository: next free log seq per instance id.
    QHash<qint64, qint64> &logSeqCache() { return m_logSeq; }
    quint64 &logSeqCacheGeneration() { return m_logSeqGeneration; }

    // Unique savepoint name for nested scopes.
    QString nextSavepointName() { return QStringLiteral("kairos_sp%1").arg(++m_savepointCounter); }

    // Group-commit support (StoreThread). Between beginWriteScope() and endWriteScope() the
    // caller has wrapped one write in its own savepoint, so the outermost Transaction inside it
    // does not open another one (on PostgreSQL that saves two round trips per write); if such a
    // scope rolls back, the whole write is marked failed instead. endWriteScope() returns
    // whether that happened. Owning thread only.
    void beginWriteScope();
    bool endWriteScope();

    // PostgreSQL: instance ids taken from the sequence in blocks and handed out by
    // InstanceRepository (sequence values are not transactional, so unused ones are just gaps).
    QList<qint64> &instanceIdPool() { return m_instanceIdPool; }

private:
    Database(StoreConfig config, QString name);
    Status configureSqlite();
    Status configurePostgres();
    void checkThread(const char *where) const;

    StoreConfig m_config;
    QString m_name;
    QSqlDatabase m_db;
    QThread *m_thread = nullptr;
    bool m_inTransaction = false;
    quint64 m_rollbackGeneration = 0;
    quint64 m_savepointCounter = 0;
    QHash<QString, std::shared_ptr<QSqlQuery>> m_prepared;
    QHash<qint64, qint64> m_logSeq;
    quint64 m_logSeqGeneration = 0;
    QList<qint64> m_instanceIdPool;
    bool m_writeScope = false;
    bool m_writeScopeFailed = false;
    int m_elidedScopes = 0;

    friend class Transaction;
};

// Transaction: a scope that is atomic whether or not a transaction is already open. Outside a
// transaction it runs BEGIN/COMMIT; inside one it uses a SAVEPOINT, so a failing repository call
// rolls back alone and leaves the surrounding transaction (e.g. a StoreThread group commit)
// usable. Destroying it without commit() rolls back. Owning thread of the Database only.
class Transaction {
public:
    enum class Nesting {
        // Inside a StoreThread write the write's own savepoint is reused (see
        // Database::beginWriteScope): a failure here fails the whole write.
        ReuseWriteSavepoint,
        // Always a savepoint of its own when nested, for callers that recover from a failure
        // and continue (LogRepository's retry).
        OwnSavepoint,
    };

    explicit Transaction(Database &db, Nesting nesting = Nesting::ReuseWriteSavepoint)
        : m_db(db)
        , m_nesting(nesting)
    {}
    ~Transaction();
    Transaction(const Transaction &) = delete;
    Transaction &operator=(const Transaction &) = delete;

    Status begin();
    Status commit();
    void rollback();

private:
    Database &m_db;
    Nesting m_nesting;
    QString m_savepoint; // empty when this scope owns the whole transaction or is elided
    bool m_elided = false;
    bool m_active = false;
};

} // namespace kairos
