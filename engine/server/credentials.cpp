#include "credentials.h"

#include "server_log.h"

#include <store/credential_repository.h>
#include <store/store_thread.h>

#include <QDir>
#include <QFile>
#include <QRandomGenerator>

namespace kairos::server {
namespace {

QString keyOf(const QString &role, const QString &name)
{
    return role + u'\n' + name;
}

} // namespace

CredentialCache::CredentialCache(kairos::StoreThread *store)
    : m_store(store)
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
            m_byKey.insert(key, *cred);
        else
            qCWarning(lcAdmin) << "ignoring an unreadable stored credential:" << cred.error();
    }
}

std::optional<protocol::ScramCredential> CredentialCache::find(const QString &role,
                                                               const QString &name)
{
    // Workers log in with the role "worker" and their app's credential.
    const QString kind = role == QLatin1String("worker") ? QStringLiteral("app") : role;
    const auto it = m_byKey.constFind(keyOf(kind, name));
    if (it == m_byKey.cend())
        return std::nullopt;
    return *it;
}

bool CredentialCache::hasAny(const QString &role) const
{
    const QString prefix = role + u'\n';
    for (auto it = m_byKey.cbegin(); it != m_byKey.cend(); ++it) {
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
        m_byKey.insert(keyOf(role, name), cred);
    return status;
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
    if (cache.hasAny(QStringLiteral("admin")))
        return {};
    const QString password = generateSecret();
    const QString path = QDir(dataDir).filePath(QStringLiteral("admin.password"));
    QFile file(path);
    // Created with 0600 from the start: the password never sits in a world-readable file.
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate,
                   QFileDevice::ReadOwner | QFileDevice::WriteOwner)) {
        return makeError(QStringLiteral("cannot write %1: %2").arg(path, file.errorString()));
    }
    file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    file.write(password.toUtf8() + '\n');
    if (!file.flush())
        return makeError(QStringLiteral("cannot write %1: %2").arg(path, file.errorString()));
    file.close();
    if (Status s = cache.set(QStringLiteral("admin"), QStringLiteral("admin"), password); !s.ok())
        return s;
    qCInfo(lcAdmin) << "created administrator 'admin'; password in" << path;
    return {};
}

} // namespace kairos::server
