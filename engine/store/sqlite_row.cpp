#include "sqlite_row.h"

#include "store_log.h"

#include <QSqlResult>

#include <atomic>

#include <dlfcn.h>

namespace kairos::sql {
namespace {

// The few SQLite C API functions used, with their documented (stable since 3.x) signatures.
struct SqliteApi {
    using Stmt = void;
    using Db = void;
    int (*bind_int64)(Stmt *, int, qint64) = nullptr;
    int (*bind_null)(Stmt *, int) = nullptr;
    int (*bind_text16)(Stmt *, int, const void *, int, void (*)(void *)) = nullptr;
    int (*step)(Stmt *) = nullptr;
    int (*reset)(Stmt *) = nullptr;
    Db *(*db_handle)(Stmt *) = nullptr;
    int (*changes)(Db *) = nullptr;
    int (*extended_errcode)(Db *) = nullptr;
    const char *(*errmsg)(Db *) = nullptr;
    bool ok = false;
};

constexpr int kSqliteOk = 0;
constexpr int kSqliteRow = 100;
constexpr int kSqliteDone = 101;
constexpr int kConstraintPrimaryKey = 1555;
constexpr int kConstraintUnique = 2067;
// SQLITE_TRANSIENT: SQLite copies the value before the bind call returns.
void (*const kTransient)(void *) = reinterpret_cast<void (*)(void *)>(-1);

const SqliteApi &api()
{
    static const SqliteApi resolved = [] {
        SqliteApi a;
        // RTLD_NOLOAD: only the library the QSQLITE plugin already loaded, never a second copy.
        void *lib = dlopen("libsqlite3.so.0", RTLD_LAZY | RTLD_NOLOAD);
        if (!lib) {
            qCInfo(lcStoreDb) << "SQLite C API not reachable; using QtSql binding";
            return a;
        }
        const auto get = [lib](auto &fn, const char *name) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
            return fn != nullptr;
        };
        a.ok = get(a.bind_int64, "sqlite3_bind_int64") && get(a.bind_null, "sqlite3_bind_null")
               && get(a.bind_text16, "sqlite3_bind_text16") && get(a.step, "sqlite3_step")
               && get(a.reset, "sqlite3_reset") && get(a.db_handle, "sqlite3_db_handle")
               && get(a.changes, "sqlite3_changes")
               && get(a.extended_errcode, "sqlite3_extended_errcode")
               && get(a.errmsg, "sqlite3_errmsg");
        // The handle stays open on purpose: the functions are used for the process lifetime.
        return a;
    }();
    return resolved;
}

const QStringList &placeholderNames()
{
    static const QStringList names = [] {
        QStringList n;
        for (int k = 0; k < 64; ++k)
            n << QStringLiteral(":p%1").arg(k);
        return n;
    }();
    return names;
}

std::atomic<bool> g_nativeAllowed{true};

} // namespace

void SqliteRow::setNativeAllowed(bool allowed)
{
    g_nativeAllowed = allowed;
}

QString SqliteRow::placeholders(int count)
{
    Q_ASSERT(count <= placeholderNames().size());
    return placeholderNames().mid(0, count).join(QStringLiteral(", "));
}

void SqliteRow::bindFallback(const QVariant &v)
{
    Q_ASSERT(m_next < placeholderNames().size());
    m_query->bindValue(placeholderNames().at(m_next++), v);
}

SqliteRow::SqliteRow(std::shared_ptr<QSqlQuery> query)
    : m_query(std::move(query))
{
    const QVariant handle = m_query->result() ? m_query->result()->handle() : QVariant();
    if (g_nativeAllowed && api().ok && handle.isValid()
        && qstrcmp(handle.typeName(), "sqlite3_stmt*") == 0)
        m_stmt = *static_cast<void *const *>(handle.constData());
}

SqliteRow::~SqliteRow() = default;

SqliteRow &SqliteRow::add(qint64 v)
{
    if (m_stmt)
        m_bindFailed |= api().bind_int64(m_stmt, ++m_next, v) != kSqliteOk;
    else
        bindFallback(QVariant(v));
    return *this;
}

SqliteRow &SqliteRow::add(const QString &s)
{
    if (m_stmt) {
        // Never NULL for text (the columns are NOT NULL): an empty string binds as "".
        static const char16_t empty = 0;
        const void *data = s.isEmpty() ? static_cast<const void *>(&empty) : s.utf16();
        m_bindFailed |=
            api().bind_text16(m_stmt, ++m_next, data, int(s.size() * 2), kTransient) != kSqliteOk;
    } else {
        bindFallback(str(s));
    }
    return *this;
}

SqliteRow &SqliteRow::addNull()
{
    if (m_stmt)
        m_bindFailed |= api().bind_null(m_stmt, ++m_next) != kSqliteOk;
    else
        bindFallback(QVariant(QMetaType::fromType<qint64>()));
    return *this;
}

Status SqliteRow::exec(const QString &what)
{
    m_next = 0;
    m_changes = 0;
    m_uniqueViolation = false;
    if (!m_stmt) {
        if (!m_query->exec()) {
            m_uniqueViolation = isUniqueViolation(m_query->lastError());
            return error(what, m_query->lastError());
        }
        m_changes = m_query->numRowsAffected();
        return {};
    }
    void *db = api().db_handle(m_stmt);
    if (m_bindFailed) {
        m_bindFailed = false;
        const QString message = QString::fromUtf8(api().errmsg(db));
        api().reset(m_stmt);
        return makeError(QStringLiteral("store: %1: binding values failed: %2").arg(what, message));
    }
    const int rc = api().step(m_stmt);
    if (rc == kSqliteDone || rc == kSqliteRow) {
        m_changes = api().changes(db);
        api().reset(m_stmt);
        return {};
    }
    // sqlite3_reset returns the statement's error; the connection holds its message.
    api().reset(m_stmt);
    const int code = api().extended_errcode(db);
    m_uniqueViolation = code == kConstraintUnique || code == kConstraintPrimaryKey;
    return makeError(
        QStringLiteral("store: %1: %2").arg(what, QString::fromUtf8(api().errmsg(db))));
}

} // namespace kairos::sql
