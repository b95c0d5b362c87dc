#pragma once
// Administrator and app credentials: created on first start, stored as SCRAM verifiers (a copy
// of the database does not reveal a password), and served to the protocol handshake from
// memory so a login never waits on the store.
//
// Not thread-safe: engine thread only (the lookup is called by the listener on that thread).

#include <protocol/handshake.h>
#include <protocol/scram.h>

#include <QHash>
#include <QString>

namespace kairos {
class StoreThread;
}

namespace kairos::server {

class CredentialCache : public protocol::CredentialLookup {
public:
    // Loads every stored credential (blocking; start-up only).
    explicit CredentialCache(kairos::StoreThread *store);

    std::optional<protocol::ScramCredential> find(const QString &role,
                                                  const QString &name) override;
    bool hasAny(const QString &role) const;
    // Stores a new secret for (role, name) and keeps it in memory. Blocking; start-up and
    // administrative calls only.
    Status set(const QString &role, const QString &name, const QString &secret);

private:
    kairos::StoreThread *m_store;
    QHash<QString, protocol::ScramCredential> m_byKey; // "role\nname"
};

// A fresh random secret (24 characters, URL-safe).
QString generateSecret();

// On first start: creates the app `default` (role "worker") with a random secret written to
// `dataDir/apps/default.secret` (mode 0600, folder 0700). Does nothing when the app exists.
Status bootstrapDefaultApp(CredentialCache &cache, const QString &dataDir);

// On first start: creates the administrator `admin` with a random password written to
// `dataDir/admin.password` (mode 0600). Does nothing when an administrator exists.
Status bootstrapAdministrator(CredentialCache &cache, const QString &dataDir);

} // namespace kairos::server
