#pragma once
// Administrator and app credentials: created on first start, stored as SCRAM verifiers (a copy
// of the database does not reveal a password), and served to the protocol handshake from
// memory so a login never waits on the store.
//
// Not thread-safe: engine thread only (the lookup is called by the listener on that thread).

#include <protocol/handshake.h>
#include <protocol/scram.h>

#include <QHash>
#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>

namespace kairos {
class StoreThread;
}

namespace kairos::server {

class CredentialCache : public protocol::CredentialLookup {
public:
    using SecretDone = std::function<void(Result<QString>)>;

    // Loads every stored credential (blocking; start-up only).
    explicit CredentialCache(kairos::StoreThread *store);

    std::optional<protocol::ScramCredential> find(const QString &role,
                                                  const QString &name) override;
    bool hasAny(const QString &role) const;
    // Stores a new secret for (role, name) and keeps it in memory. Blocking; start-up and
    // administrative calls only.
    Status set(const QString &role, const QString &name, const QString &secret);

    // --- apps (the credentials workers log in with, role "worker") ---------------------------
    // The apps known to this server, sorted. Engine thread.
    QStringList appNames() const;
    bool hasApp(const QString &name) const;
    // Creates app `name` with a fresh random secret; `done` gets the secret (the only time it is
    // shown) or an error: an invalid name (see validateAppName), an app that exists already.
    // Only the SCRAM verifier is stored. Asynchronous: `done` runs on `context`'s thread (the
    // engine thread) once the credential is durably stored, and not at all if `context` is
    // destroyed first. Call on the engine thread.
    void createApp(const QString &name, QObject *context, SecretDone done);
    // Gives app `name` a fresh random secret; connected workers stay connected, new logins need
    // the new secret. Errors for an unknown app. Same threading as createApp.
    void rotateAppSecret(const QString &name, QObject *context, SecretDone done);

private:
    enum class AppWrite { Create, Rotate };
    void writeApp(AppWrite kind, const QString &name, QObject *context, SecretDone done);

    kairos::StoreThread *m_store;
    // "role\nname" -> credential. Shared with the completions of queued writes, which may run
    // after this cache is gone.
    std::shared_ptr<QHash<QString, protocol::ScramCredential>> m_byKey;
};

// App names: 1 to 64 characters of A-Z a-z 0-9 . _ - (they appear in file names and logs).
// The error names the field: "name: expected 1 to 64 characters of A-Z a-z 0-9 . _ - but got
// \"my app\"". Thread-safe.
Status validateAppName(const QString &name);

// A fresh random secret (24 characters, URL-safe).
QString generateSecret();

// On first start: creates the app `default` (role "worker") with a random secret written to
// `dataDir/apps/default.secret` (mode 0600, folder 0700). Does nothing when the app exists; when
// it exists but the file is gone, it logs a warning that says how to get a new secret (the old
// one cannot be recovered: only its verifier is stored). Blocking; start-up only.
Status bootstrapDefaultApp(CredentialCache &cache, const QString &dataDir);

// On first start: creates the administrator `admin` with a random password written to
// `dataDir/admin.password` (mode 0600). Does nothing when an administrator exists.
Status bootstrapAdministrator(CredentialCache &cache, const QString &dataDir);

} // namespace kairos::server
