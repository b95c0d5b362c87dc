#include "sqlite_row.h"

#include "store_log.h"

#include <QSqlResult>
#include <QStringEncoder>

#include <algorithm>

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
    int (*bind_blob)(Stmt *, int, const void *, int, void (*)(void *)) = nullptr;
    int (*bind_text)(Stmt *, int, const char *, int, void (*)(void *)) = nullptr;
    int (*clear_bindings)(Stmt *) = nullptr;
    qint64 (*column_int64)(Stmt *, int) = nullptr;
    const unsigned char *(*column_text)(Stmt *, int) = nullptr;
    const void *(*column_blob)(Stmt *, int) = nullptr;
    int (*column_bytes)(Stmt *, int) = nullptr;
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
// SQLITE_STATIC: SQLite uses the bytes where they are until the parameter is bound again.
void (*const kStatic)(void *) = nullptr;

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
               && get(a.bind_blob, "sqlite3_bind_blob") && get(a.bind_text, "sqlite3_bind_text")
               && get(a.clear_bindings, "sqlite3_clear_bindings")
               && get(a.column_int64, "sqlite3_column_int64")
               && get(a.column_text, "sqlite3_column_text")
               && get(a.column_blob, "sqlite3_column_blob")
               && get(a.column_bytes, "sqlite3_column_bytes") && get(a.step, "sqlite3_step")
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
        for (int k = 0; k < SqliteRow::kMaxParameters; ++k)
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

QString SqliteRow::rows(int columns, int rows)
{
    Q_ASSERT(columns * rows <= kMaxParameters);
    QStringList out;
    for (int r = 0; r < rows; ++r)
        out << u'(' + placeholderNames().mid(r * columns, columns).join(QStringLiteral(", "))
                   + u')';
    return out.join(QStringLiteral(", "));
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

SqliteRow::~SqliteRow()
{
    if (!m_stmt && m_stepping)
        m_query->finish();
    if (m_stmt) {
        if (m_stepping)
            api().reset(m_stmt);
        // The statement outlives this object in the connection's cache: it must not keep
        // pointers to the buffers that go with it.
        api().clear_bindings(m_stmt);
    }
}

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
    if (!m_stmt) {
        bindFallback(str(s));
        return *this;
    }
    const int index = ++m_next;
    if (m_text.size() < size_t(index))
        m_text.resize(index);
    QByteArray &buffer = m_text[index - 1];
    // Stateless: a lone surrogate at the end of one value must not change the next one.
    QStringEncoder encoder(QStringEncoder::Utf8, QStringConverter::Flag::Stateless);
    // Never NULL for text (the columns are NOT NULL): an empty string binds as "".
    buffer.resize(std::max<qsizetype>(1, encoder.requiredSpace(s.size())));
    const char *end = encoder.appendToBuffer(buffer.data(), s);
    m_bindFailed |=
        api().bind_text(m_stmt, index, buffer.constData(), int(end - buffer.constData()), kStatic)
        != kSqliteOk;
    return *this;
}

SqliteRow &SqliteRow::add(const QByteArray &bytes)
{
    if (!m_stmt) {
        // A null QByteArray would bind NULL; the columns are NOT NULL with x'' for "none".
        bindFallback(bytes.isNull() ? QVariant(QByteArray("", 0)) : QVariant(bytes));
        return *this;
    }
    const int index = ++m_next;
    if (m_blobs.size() < size_t(index))
        m_blobs.resize(index);
    m_blobs[index - 1] = bytes; // shares the data; keeps it alive until the row ran
    // A null data pointer would bind NULL, so an empty BLOB points at a valid empty array.
    static const char empty = 0;
    const void *data = bytes.isEmpty() ? static_cast<const void *>(&empty) : bytes.constData();
    m_bindFailed |= api().bind_blob(m_stmt, index, data, int(bytes.size()), kStatic) != kSqliteOk;
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

Status SqliteRow::failure(const QString &what)
{
    // sqlite3_reset returns the statement's error; the connection holds its message.
    void *db = api().db_handle(m_stmt);
    api().reset(m_stmt);
    m_stepping = false;
    const int code = api().extended_errcode(db);
    m_uniqueViolation = code == kConstraintUnique || code == kConstraintPrimaryKey;
    return makeError(
        QStringLiteral("store: %1: %2").arg(what, QString::fromUtf8(api().errmsg(db))));
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
        m_query->finish();
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
    return failure(what);
}

Result<bool> SqliteRow::step(const QString &what)
{
    m_next = 0;
    m_uniqueViolation = false;
    if (!m_stmt) {
        if (!m_stepping) {
            if (!m_query->exec())
                return error(what, m_query->lastError());
            m_stepping = true;
        }
        if (m_query->next())
            return true;
        m_stepping = false;
        if (m_query->lastError().isValid())
            return error(what, m_query->lastError());
        m_query->finish();
        return false;
    }
    if (m_bindFailed) {
        m_bindFailed = false;
        const QString message = QString::fromUtf8(api().errmsg(api().db_handle(m_stmt)));
        api().reset(m_stmt);
        return makeError(QStringLiteral("store: %1: binding values failed: %2").arg(what, message));
    }
    const int rc = api().step(m_stmt);
    if (rc == kSqliteRow) {
        m_stepping = true;
        return true;
    }
    if (rc == kSqliteDone) {
        api().reset(m_stmt);
        m_stepping = false;
        return false;
    }
    return makeError(failure(what).error());
}

qint64 SqliteRow::int64At(int column) const
{
    return m_stmt ? api().column_int64(m_stmt, column) : m_query->value(column).toLongLong();
}

QString SqliteRow::textAt(int column) const
{
    if (!m_stmt)
        return m_query->value(column).toString();
    // column_text first, then column_bytes: the documented order for the UTF-8 length.
    const auto *text = reinterpret_cast<const char *>(api().column_text(m_stmt, column));
    return QString::fromUtf8(text, api().column_bytes(m_stmt, column));
}

QByteArray SqliteRow::blobAt(int column) const
{
    if (!m_stmt)
        return m_query->value(column).toByteArray();
    const auto *data = static_cast<const char *>(api().column_blob(m_stmt, column));
    const int size = api().column_bytes(m_stmt, column);
    return size > 0 ? QByteArray(data, size) : QByteArray();
}

} // namespace kairos::sql
