#pragma once
// CredentialRepository: the stored credentials of administrators (console logins) and apps
// (worker groups). The credential is an opaque string produced by the protocol layer (e.g. a
// salted verifier); the store never interprets it. Synchronous and not thread-safe: use it on
// the thread that owns the Database.

#include "database.h"

#include <QStringList>

#include <optional>

namespace kairos {

class CredentialRepository {
public:
    // The two kinds of principals; stored as these names.
    static inline const QString Admin = QStringLiteral("admin");
    static inline const QString App = QStringLiteral("app");

    explicit CredentialRepository(Database &db)
        : m_db(db)
    {}

    // Creates or replaces the credential of (kind, name). kind must be "admin" or "app".
    Status upsert(const QString &kind, const QString &name, const QString &credential);
    std::optional<QString> find(const QString &kind, const QString &name);
    QStringList names(const QString &kind); // sorted
    Status remove(const QString &kind, const QString &name);

private:
    Database &m_db;
};

} // namespace kairos
