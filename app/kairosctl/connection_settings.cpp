#include "connection_settings.h"

#include <QFile>

namespace kairos::cli {

ConnectionEnvironment ConnectionEnvironment::fromProcess()
{
    return {qEnvironmentVariable("KAIROS_SERVER"), qEnvironmentVariable("KAIROS_USER"),
            qEnvironmentVariable("KAIROS_PASSWORD_FILE")};
}

Result<QString> readPasswordFile(const QString &path, const QString &source)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return makeError(
            QStringLiteral("%1: cannot read %2: %3").arg(source, path, file.errorString()));
    // Only the first line counts, so a file written by `echo` (or an editor) works as is.
    QString line = QString::fromUtf8(file.readLine(64 * 1024));
    while (line.endsWith(u'\n') || line.endsWith(u'\r'))
        line.chop(1);
    if (line.isEmpty())
        return makeError(QStringLiteral("%1: the first line of %2 is empty; expected the "
                                        "password there")
                             .arg(source, path));
    return line;
}

Result<client::RemoteEndpoint> resolveEndpoint(const GlobalOptions &options,
                                               const ConnectionEnvironment &env)
{
    QString address = options.server;
    QString addressSource = QStringLiteral("--server");
    if (address.isEmpty() && !env.server.trimmed().isEmpty()) {
        address = env.server.trimmed();
        addressSource = QStringLiteral("KAIROS_SERVER");
    }
    if (address.isEmpty())
        address = QStringLiteral("127.0.0.1:7070");
    auto endpoint = client::RemoteEndpoint::parseAddress(address);
    if (!endpoint.ok()) {
        // parseAddress words it for a field called "server"; name the real source.
        QString why = endpoint.error();
        if (why.startsWith(QLatin1String("server: ")))
            why = why.mid(8);
        return makeError(addressSource + QStringLiteral(": ") + why);
    }

    QString user = options.user;
    if (user.isEmpty())
        user = env.user.trimmed();
    if (!user.isEmpty())
        endpoint->user = user;

    QString passwordFile = options.passwordFile;
    QString source = QStringLiteral("--password-file");
    if (passwordFile.isEmpty() && !env.passwordFile.isEmpty()) {
        passwordFile = env.passwordFile;
        source = QStringLiteral("KAIROS_PASSWORD_FILE");
    }
    if (passwordFile.isEmpty()) {
        return makeError(
            QStringLiteral(
                "no password: give --password-file FILE or set KAIROS_PASSWORD_FILE to a file "
                "whose "
                "first line is the password of \"%1\" (kairosd writes the administrator's to "
                "DATA/admin.password on its first start)")
                .arg(endpoint->user));
    }
    auto password = readPasswordFile(passwordFile, source);
    if (!password.ok())
        return makeError(password.error());
    endpoint->password = *password;

    endpoint->tls.enabled = options.tls;
    endpoint->tls.caCertificateFile = options.tlsCaFile;
    if (!options.tlsCaFile.isEmpty() && !QFile::exists(options.tlsCaFile))
        return makeError(QStringLiteral("--tls-ca: %1 does not exist").arg(options.tlsCaFile));
    return endpoint;
}

} // namespace kairos::cli
