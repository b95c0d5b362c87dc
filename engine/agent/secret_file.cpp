#include "secret_file.h"

#include <QFile>
#include <QFileInfo>

namespace kairos::agent {

namespace {
// A secret is a short line; a huge file is certainly the wrong file.
constexpr qint64 kMaxSecretFileBytes = 64 * 1024;
} // namespace

Result<SecretFile> readSecretFile(const QString &path)
{
    const QString flag = QStringLiteral("--secret-file %1: ").arg(path);
    const QFileInfo info(path);
    if (!info.exists())
        return makeError(flag + QStringLiteral("the file does not exist"));
    if (info.isDir())
        return makeError(flag + QStringLiteral("is a folder; expected a file holding the secret"));
    if (info.size() > kMaxSecretFileBytes) {
        return makeError(flag
                         + QStringLiteral("the file is %1 bytes; a secret file holds one "
                                          "line (at most %2 bytes)")
                               .arg(info.size())
                               .arg(kMaxSecretFileBytes));
    }
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return makeError(flag + QStringLiteral("cannot be read: %1").arg(file.errorString()));
    QByteArray bytes = file.readAll();
    if (bytes.endsWith('\n'))
        bytes.chop(1);
    if (bytes.endsWith('\r'))
        bytes.chop(1);
    if (bytes.isEmpty())
        return makeError(flag + QStringLiteral("the file is empty; it must hold the app's secret"));

    SecretFile out;
    out.secret = QString::fromUtf8(bytes);
    if (info.permissions() & QFile::ReadOther) {
        out.warning = QStringLiteral("the secret file %1 is readable by every user of this "
                                     "machine; restrict it with: chmod 600 %1")
                          .arg(path);
    }
    return out;
}

} // namespace kairos::agent
