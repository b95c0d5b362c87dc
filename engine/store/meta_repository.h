#pragma once
// MetaRepository: small key/value settings kept in the database itself (e.g. the cluster id,
// the time of the last retention run), so every server on a shared database sees the same.
// Synchronous and not thread-safe: use it on the thread that owns the Database.

#include "database.h"

#include <optional>

namespace kairos {

class MetaRepository {
public:
    explicit MetaRepository(Database &db)
        : m_db(db)
    {}

    std::optional<QString> get(const QString &key);
    Status set(const QString &key, const QString &value); // creates or replaces

private:
    Database &m_db;
};

} // namespace kairos
