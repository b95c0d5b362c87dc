#include "database.h"

#include "schema.h"
#include "sql_util.h"
#include "store_log.h"

#include <QAtomicInteger>
#include <QDir>
#include <QFileInfo>
#include <QSqlError>

namespace kairos {
namespace {

QString uniqueConnectionName()
{
    static QAtomicInteger<quint64> counter;
    return QStringLiteral("kairos-store-%1").arg(counter.fetchAndAddRelaxed(1) + 1);
}

// Any fixed number works; it only has to be the same in every Kairos process.
constexpr qint64 kMigrationLockKey = 0x4b6169726f73; // "Kairos"
constexpr int kPreparedCacheLimit = 256;

} // namespace

Database::Database(StoreConfig config, QString name)
    : m_config(std::move(config))
    , m_name(std::move(name))
    , m_thread(QThread::currentThread())
{}

Database::~Database()
{
    checkThread("~Database");
    m_prepared.clear(); // prepared queries must go before the connection
    if (m_db.isOpen()) {
        QSqlQuery q(m_db);
        if (m_inTransaction)
            q.exec(QStringLiteral("ROLLBACK"));
        // Refreshes the planner statistics SQLite lacks otherwise; cheap, and what the SQLite
        // documentation recommends before closing a connection.
        if (dialect() == Dialect::Sqlite)
            q.exec(QStringLiteral("PRAGMA optimize"));
        q.finish();
        m_db.close();
    }
    m_db = QSqlDatabase();
    QSqlDatabase::removeDatabase(m_name);
}

Result<std::unique_ptr<Database>> Database::open(const StoreConfig &input)
{
    auto parsed = StoreConfig::parse(input.url);
    if (!parsed)
        return makeError(parsed.error());
    const StoreConfig config = parsed.value();

    const QString driver =
        config.dialect == Dialect::Sqlite ? QStringLiteral("QSQLITE") : QStringLiteral("QPSQL");
    if (!QSqlDatabase::isDriverAvailable(driver)) {
        return makeError(QStringLiteral("store: the Qt %1 driver (%2) is not installed; install "
                                        "the package %3")
                             .arg(toString(config.dialect), driver,
                                  config.dialect == Dialect::Sqlite
                                      ? QStringLiteral("libqt6sql6-sqlite")
                                      : QStringLiteral("libqt6sql6-psql")));
    }

    std::unique_ptr<Database> db(new Database(config, uniqueConnectionName()));
    db->m_db = QSqlDatabase::addDatabase(driver, db->m_name);
    const Status configured =
        config.dialect == Dialect::Sqlite ? db->configureSqlite() : db->configurePostgres();
    if (!configured)
        return makeError(configured.error()); // ~Database removes the connection
    qCInfo(lcStoreDb) << "opened" << config.redactedUrl() << "as" << db->m_name;
    return db;
}

Status Database::configureSqlite()
{
    const QFileInfo file(m_config.sqlitePath);
    if (!QDir().mkpath(file.absolutePath()))
        return makeError(QStringLiteral("store: cannot create the folder %1 for the database")
                             .arg(file.absolutePath()));
    m_db.setDatabaseName(m_config.sqlitePath);
    // Writers queue for up to 10 s on the file lock instead of failing with "database is locked".
    m_db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=10000"));
    if (!m_db.open())
        return sql::error(QStringLiteral("opening %1").arg(m_config.sqlitePath), m_db.lastError());

    QSqlQuery q(m_db);
    if (!q.exec(QStringLiteral("PRAGMA journal_mode=WAL")) || !q.next())
        return sql::error(QStringLiteral("switching %1 to WAL").arg(m_config.sqlitePath),
                          q.lastError());
    const QString mode = q.value(0).toString();
    if (mode.compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0)
        return makeError(QStringLiteral("store: %1: expected WAL journal mode but SQLite kept "
                                        "\"%2\" (is the file on a network file system?)")
                             .arg(m_config.sqlitePath, mode));
    q.finish();
    // FULL in WAL mode syncs the log on every commit: what was acknowledged survives power loss.
    const QStringList pragmas = {
        QStringLiteral("PRAGMA synchronous=FULL"),   QStringLiteral("PRAGMA foreign_keys=ON"),
        QStringLiteral("PRAGMA busy_timeout=10000"), QStringLiteral("PRAGMA temp_store=MEMORY"),
        QStringLiteral("PRAGMA cache_size=-16384"), // 16 MiB page cache per connection
    };
    for (const QString &p : pragmas) {
        if (!q.exec(p))
            return sql::error(p, q.lastError());
        q.finish();
    }
    return {};
}

Status Database::configurePostgres()
{
    m_db.setHostName(m_config.host);
    m_db.setPort(m_config.port);
    m_db.setDatabaseName(m_config.database);
    m_db.setUserName(m_config.user);
    m_db.setPassword(m_config.password);
    m_db.setConnectOptions(m_config.connectOptions);
    if (!m_db.open())
        return makeError(QStringLiteral("store: cannot connect to %1: %2")
                             .arg(m_config.redactedUrl(), sql::errorText(m_db.lastError())));
    // "done" of a write means durable, whatever the server's default is; NOTICEs from
    // CREATE ... IF NOT EXISTS are noise in our logs.
    const QStringList settings = {
        QStringLiteral("SET synchronous_commit = on"),
        QStringLiteral("SET client_min_messages = warning"),
        QStringLiteral("SET application_name = 'kairos'"),
    };
    for (const QString &s : settings) {
        if (auto st = exec(s, s); !st)
            return st;
    }
    return {};
}

void Database::checkThread(const char *where) const
{
    if (QThread::currentThread() != m_thread) {
        qCWarning(lcStoreDb, "%s: connection %s used from a thread that did not open it", where,
                  qPrintable(m_name));
    }
}

int Database::latestSchemaVersion()
{
    return schema::kLatestVersion;
}

Result<int> Database::schemaVersion()
{
    checkThread("schemaVersion");
    if (!m_db.tables().contains(QStringLiteral("schema_version")))
        return 0;
    QSqlQuery q(m_db);
    if (!q.exec(QStringLiteral("SELECT version FROM schema_version")))
        return sql::error(QStringLiteral("reading the schema version"), q.lastError());
    return q.next() ? q.value(0).toInt() : 0;
}

Status Database::migrate()
{
    return migrate(schema::kLatestVersion);
}

Status Database::migrate(int targetVersion)
{
    checkThread("migrate");
    if (targetVersion < 1 || targetVersion > schema::kLatestVersion)
        return makeError(QStringLiteral("store: schema version %1 does not exist (1-%2)")
                             .arg(targetVersion)
                             .arg(schema::kLatestVersion));
    Transaction tx(*this);
    if (auto s = tx.begin(); !s)
        return s;
    if (dialect() == Dialect::Postgres) {
        // Two kairosd starting together: the second waits here until the first committed, then
        // sees the finished schema. The lock ends with the transaction.
        if (auto s = exec(QStringLiteral("SELECT pg_advisory_xact_lock(%1)").arg(kMigrationLockKey),
                          QStringLiteral("locking the schema for migration"));
            !s)
            return s;
    }
    if (auto s = exec(QStringLiteral("CREATE TABLE IF NOT EXISTS schema_version "
                                     "(version INTEGER NOT NULL)"),
                      QStringLiteral("creating schema_version"));
        !s)
        return s;

    QSqlQuery q(m_db);
    if (!q.exec(QStringLiteral("SELECT version FROM schema_version")))
        return sql::error(QStringLiteral("reading the schema version"), q.lastError());
    const bool empty = !q.next();
    const int current = empty ? 0 : q.value(0).toInt();
    q.finish();

    Status result;
    if (empty) {
        result = schema::createDB(*this, targetVersion);
    } else if (current > schema::kLatestVersion) {
        return makeError(QStringLiteral("store: the database has schema version %1 but this "
                                        "Kairos supports up to %2; upgrade Kairos")
                             .arg(current)
                             .arg(schema::kLatestVersion));
    } else if (current < targetVersion) {
        result = schema::updateDB(*this, current, targetVersion);
    }
    if (!result)
        return result;
    return tx.commit();
}

Status Database::begin()
{
    checkThread("begin");
    if (m_inTransaction)
        return makeError(QStringLiteral("store: a transaction is already open on this connection"));
    const QString sql =
        dialect() == Dialect::Sqlite ? QStringLiteral("BEGIN IMMEDIATE") : QStringLiteral("BEGIN");
    if (auto s = execControl(sql, QStringLiteral("starting a transaction")); !s)
        return s;
    m_inTransaction = true;
    return {};
}

Status Database::commit()
{
    checkThread("commit");
    if (!m_inTransaction)
        return makeError(QStringLiteral("store: commit without an open transaction"));
    if (auto s = execControl(QStringLiteral("COMMIT"), QStringLiteral("committing")); !s) {
        // SQLite keeps the transaction open after a failed COMMIT; PostgreSQL has ended it.
        (void)rollback();
        return s;
    }
    m_inTransaction = false;
    return {};
}

Status Database::rollback()
{
    checkThread("rollback");
    if (!m_inTransaction)
        return {};
    m_inTransaction = false;
    ++m_rollbackGeneration;
    QSqlQuery q(m_db);
    if (!q.exec(QStringLiteral("ROLLBACK")))
        return sql::error(QStringLiteral("rolling back"), q.lastError());
    return {};
}

Status Database::savepoint(const QString &name)
{
    return execControl(QStringLiteral("SAVEPOINT ") + name, QStringLiteral("creating a savepoint"));
}

Status Database::releaseSavepoint(const QString &name)
{
    return execControl(QStringLiteral("RELEASE SAVEPOINT ") + name,
                       QStringLiteral("releasing a savepoint"));
}

Status Database::rollbackToSavepoint(const QString &name)
{
    ++m_rollbackGeneration;
    return execControl(QStringLiteral("ROLLBACK TO SAVEPOINT ") + name,
                       QStringLiteral("rolling back to a savepoint"));
}

Status Database::execControl(const QString &sqlText, const QString &what)
{
    if (dialect() == Dialect::Postgres) // PREPARE cannot hold transaction control statements
        return exec(sqlText, what);
    // SQLite: compiled once per connection; group commit runs these for every write.
    auto q = prepared(sqlText);
    if (!q)
        return makeError(q.error());
    if (!(*q)->exec())
        return sql::error(what, (*q)->lastError());
    (*q)->finish();
    return {};
}

Status Database::exec(const QString &sql, const QString &what)
{
    QSqlQuery q(m_db);
    if (!q.exec(sql))
        return sql::error(what, q.lastError());
    return {};
}

Result<std::shared_ptr<QSqlQuery>> Database::prepared(const QString &sqlText)
{
    checkThread("prepared");
    if (auto it = m_prepared.constFind(sqlText); it != m_prepared.constEnd())
        return *it;
    auto q = std::make_shared<QSqlQuery>(m_db);
    // SQLite: no client-side row cache. PostgreSQL: forward-only would switch libpq to
    // single-row mode, which is slower and blocks the connection until the rows are read.
    q->setForwardOnly(dialect() == Dialect::Sqlite);
    if (!q->prepare(sqlText))
        return sql::error(QStringLiteral("preparing a statement"), q->lastError());
    if (m_prepared.size() >= kPreparedCacheLimit)
        m_prepared.clear(); // variants by row count are few; this is a safety valve
    m_prepared.insert(sqlText, q);
    return q;
}

QSqlQuery Database::newQuery()
{
    QSqlQuery q(m_db);
    q.setForwardOnly(dialect() == Dialect::Sqlite);
    return q;
}

void Database::beginWriteScope()
{
    m_writeScope = true;
    m_writeScopeFailed = false;
    m_elidedScopes = 0;
}

bool Database::endWriteScope()
{
    m_writeScope = false;
    return m_writeScopeFailed;
}

Transaction::~Transaction()
{
    if (m_active)
        rollback();
}

Status Transaction::begin()
{
    if (m_db.inTransaction() && m_db.m_writeScope && m_db.m_elidedScopes == 0
        && m_nesting == Nesting::ReuseWriteSavepoint) {
        m_elided = true;
        ++m_db.m_elidedScopes;
    } else if (m_db.inTransaction()) {
        m_savepoint = m_db.nextSavepointName();
        if (auto s = m_db.savepoint(m_savepoint); !s)
            return s;
    } else if (auto s = m_db.begin(); !s) {
        return s;
    }
    m_active = true;
    return {};
}

Status Transaction::commit()
{
    if (!m_active)
        return makeError(QStringLiteral("store: commit of a scope that was not begun"));
    m_active = false;
    if (m_elided) {
        --m_db.m_elidedScopes;
        return {};
    }
    if (m_savepoint.isEmpty())
        return m_db.commit();
    if (auto s = m_db.releaseSavepoint(m_savepoint); !s) {
        // The surrounding transaction is unusable (PostgreSQL aborted it); undo this scope.
        if (m_db.rollbackToSavepoint(m_savepoint))
            (void)m_db.releaseSavepoint(m_savepoint);
        return s;
    }
    return {};
}

void Transaction::rollback()
{
    if (!m_active)
        return;
    m_active = false;
    if (m_elided) {
        --m_db.m_elidedScopes;
        m_db.m_writeScopeFailed = true;
        ++m_db.m_rollbackGeneration; // the write will be rolled back; caches must not trust it
    } else if (m_savepoint.isEmpty()) {
        (void)m_db.rollback();
    } else if (m_db.rollbackToSavepoint(m_savepoint)) {
        (void)m_db.releaseSavepoint(m_savepoint);
    }
}

} // namespace kairos
