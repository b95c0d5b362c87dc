#include "credentials.h"

#include "server_log.h"

#include <store/credential_repository.h>
#include <store/store_thread.h>

#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QRegularExpression>

#include <algorithm>

namespace kairos::server {
namespace {

const QString kApp = QStringLiteral("app");
const QString kAdmin = QStringLiteral("admin");

QString keyOf(const QString &role, const QString &name)
{
    return role + u'\n' + name;
}

// Creates `path` (and its parents) and leaves it readable by the owner only.
Status makePrivateFolder(const QString &path)
{
    if (!QDir().mkpath(path))
        return makeError(QStringLiteral("cannot create the folder %1").arg(path));
    if (!QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner
                                         | QFileDevice::ExeOwner)) {
        return makeError(QStringLiteral("cannot make %1 private (mode 0700)").arg(path));
    }
    return {};
}

// Writes `text` to a file that is created 0600, so a secret never sits in a world-readable file.
Status writePrivateFile(const QString &path, const QByteArray &text)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate,
                   QFileDevice::ReadOwner | QFileDevice::WriteOwner)) {
        return makeError(QStringLiteral("cannot write %1: %2").arg(path, file.errorString()));
    }
    // An existing file keeps its mode on open: tighten it.
    file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    file.write(text);
    if (!file.flush())
        return makeError(QStringLiteral("cannot write %1: %2").arg(path, file.errorString()));
    file.close();
    return {};
}

} // namespace

CredentialCache::CredentialCache(kairos::StoreThread *store)
    : m_store(store)
    , m_byKey(std::make_shared<QHash<QString, protocol::ScramCredential>>())
{
    using Pairs = QList<std::pair<QString, QString>>;
    const Pairs stored = m_store->callBlocking([](kairos::Database &db) {
        kairos::CredentialRepository repo(db);
        Pairs out;
        for (const QString &kind : {QStringLiteral("admin"), QStringLiteral("app")}) {
            for (const QString &name : repo.names(kind)) {
                if (auto c = repo.find(kind, name))
                    out.append({keyOf(kind, name), *c});
            }
        }
        return out;
    });
    for (const auto &[key, text] : stored) {
        auto cred = protocol::ScramCredential::fromString(text);
        if (cred.ok())
            m_byKey->insert(key, *cred);
        else
            qCWarning(lcAdmin) << "ignoring an unreadable stored credential:" << cred.error();
    }
}

std::optional<protocol::ScramCredential> CredentialCache::find(const QString &role,
                                                               const QString &name)
{
    // Workers log in with the role "worker" and their app's credential.
    const QString kind = role == QLatin1String("worker") ? kApp : role;
    const auto it = m_byKey->constFind(keyOf(kind, name));
    if (it == m_byKey->cend())
        return std::nullopt;
    return *it;
}

bool CredentialCache::hasAny(const QString &role) const
{
    const QString prefix = role + u'\n';
    for (auto it = m_byKey->cbegin(); it != m_byKey->cend(); ++it) {
        if (it.key().startsWith(prefix))
            return true;
    }
    return false;
}

Status CredentialCache::set(const QString &role, const QString &name, const QString &secret)
{
    const protocol::ScramCredential cred = protocol::ScramCredential::derive(secret);
    const QString text = cred.toString();
    const Status status = m_store->callBlocking([role, name, text](kairos::Database &db) {
        return kairos::CredentialRepository(db).upsert(role, name, text);
    });
    if (status.ok())
        m_byKey->insert(keyOf(role, name), cred);
    return status;
}

QStringList CredentialCache::appNames() const
{
    const QString prefix = keyOf(kApp, QString());
    QStringList out;
    for (auto it = m_byKey->cbegin(); it != m_byKey->cend(); ++it) {
        if (it.key().startsWith(prefix))
            out << it.key().mid(prefix.size());
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool CredentialCache::hasApp(const QString &name) const
{
    return m_byKey->contains(keyOf(kApp, name));
}

void CredentialCache::createApp(const QString &name, QObject *context, SecretDone done)
{
    writeApp(AppWrite::Create, name, context, std::move(done));
}

void CredentialCache::rotateAppSecret(const QString &name, QObject *context, SecretDone done)
{
    writeApp(AppWrite::Rotate, name, context, std::move(done));
}

void CredentialCache::writeApp(AppWrite kind, const QString &name, QObject *context,
                               SecretDone done)
{
    if (Status s = validateAppName(name); !s.ok())
        return done(makeError(s.error()));
    // The store is the truth (another server on the same database may have created or removed
    // the app), so existence is checked there, in the same transaction as the write.
    const QString secret = generateSecret();
    const protocol::ScramCredential cred = protocol::ScramCredential::derive(secret);
    const QString text = cred.toString();
    m_store->write(
        [kind, name, text](kairos::Database &db) -> Status {
            kairos::CredentialRepository repo(db);
            const bool exists = repo.find(kApp, name).has_value();
            if (kind == AppWrite::Create && exists) {
                return makeError(QStringLiteral("name: an app named \"%1\" exists already; "
                                                "`kairosctl app rotate-secret %1` gives it a new "
                                                "secret")
                                     .arg(name));
            }
            if (kind == AppWrite::Rotate && !exists)
                return makeError(QStringLiteral("name: no app named \"%1\"").arg(name));
            return repo.upsert(kApp, name, text);
        },
        context,
        [map = m_byKey, kind, name, cred, secret, done = std::move(done)](Status status) {
            if (!status.ok())
                return done(makeError(status.error()));
            map->insert(keyOf(kApp, name), cred);
            qCInfo(lcAdmin) << (kind == AppWrite::Create ? "created app" : "new secret for app")
                            << name;
            done(secret);
        });
}

Status validateAppName(const QString &name)
{
    static const QRegularExpression valid(QStringLiteral("^[A-Za-z0-9._-]{1,64}$"));
    if (!valid.match(name).hasMatch()) {
        return makeError(QStringLiteral("name: expected 1 to 64 characters of A-Z a-z 0-9 . _ - "
                                        "but got \"%1\"")
                             .arg(name));
    }
    return {};
}

QString generateSecret()
{
    QByteArray bytes(18, Qt::Uninitialized);
    for (int i = 0; i < bytes.size(); ++i)
        bytes[i] = char(QRandomGenerator::system()->bounded(256));
    return QString::fromLatin1(bytes.toBase64(QByteArray::Base64UrlEncoding));
}

Status bootstrapAdministrator(CredentialCache &cache, const QString &dataDir)
{
    if (cache.hasAny(kAdmin))
        return {};
    const QString password = generateSecret();
    const QString path = QDir(dataDir).filePath(QStringLiteral("admin.password"));
    if (Status s = writePrivateFile(path, password.toUtf8() + '\n'); !s.ok())
        return s;
    if (Status s = cache.set(kAdmin, QStringLiteral("admin"), password); !s.ok())
        return s;
    qCInfo(lcAdmin) << "created administrator 'admin'; password in" << path;
    return {};
}

Status bootstrapDefaultApp(CredentialCache &cache, const QString &dataDir)
{
    const QString name = QStringLiteral("default");
    const QString folder = QDir(dataDir).filePath(QStringLiteral("apps"));
    const QString path = QDir(folder).filePath(name + QStringLiteral(".secret"));
    if (cache.hasApp(name)) {
        // Not recreated silently: workers may run with the secret the file held, and a new one
        // would lock them out. Only the operator can decide that.
        if (!QFile::exists(path)) {
            qCWarning(lcAdmin).noquote()
                << "app 'default' exists but its secret file" << path
                << "is missing; the secret cannot be recovered. To give the app a new secret, "
                   "run `kairosctl app rotate-secret default` and save the secret it prints in "
                   "that file (mode 0600) for the workers.";
        }
        return {};
    }
    if (Status s = makePrivateFolder(folder); !s.ok())
        return s;
    const QString secret = generateSecret();
    // The file first: if storing the verifier fails, the next start makes a new pair, and a
    // secret is never stored without the file that hands it to the workers.
    if (Status s = writePrivateFile(path, secret.toUtf8() + '\n'); !s.ok())
        return s;
    if (Status s = cache.set(kApp, name, secret); !s.ok())
        return s;
    qCInfo(lcAdmin) << "created app 'default'; secret in" << path;
    return {};
}

} // namespace kairos::server
