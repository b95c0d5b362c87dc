#include "console_options.h"

#include "translations.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QStandardPaths>

namespace kairos::ui {

QString ConsoleOptions::languageArgument(const QStringList &arguments)
{
    for (qsizetype i = 1; i < arguments.size(); ++i) {
        const QString &a = arguments.at(i);
        if ((a == QLatin1String("--lang") || a == QLatin1String("-lang"))
            && i + 1 < arguments.size())
            return arguments.at(i + 1);
        if (a.startsWith(QLatin1String("--lang=")))
            return a.mid(7);
    }
    return {};
}

Result<ConsoleOptions> ConsoleOptions::parse(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        tr("Kairos console: jobs, runs and logs of a Kairos scheduler. Without --remote it runs "
           "its own engine and worker on the data folder (local single-node mode)."));
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")},
                                  tr("Show this help and exit."));
    const QCommandLineOption version(QStringLiteral("version"), tr("Show the version and exit."));
    const QCommandLineOption data(
        QStringLiteral("data"),
        tr("Data folder: the local database and admin.password (default %1).")
            .arg(QDir::toNativeSeparators(
                QStandardPaths::writableLocation(QStandardPaths::AppDataLocation))),
        tr("DIR"));
    const QCommandLineOption remote(QStringLiteral("remote"),
                                    tr("Attach to a running kairosd instead of running locally."),
                                    tr("HOST:PORT"));
    const QCommandLineOption user(QStringLiteral("user"),
                                  tr("Administrator to log in as with --remote (default admin)."),
                                  tr("NAME"), QStringLiteral("admin"));
    const QCommandLineOption passwordFile(
        QStringLiteral("password-file"),
        tr("With --remote: a file whose first line is the password (default DIR/admin.password)."),
        tr("FILE"));
    const QCommandLineOption lang(QStringLiteral("lang"),
                                  tr("Language of the console: %1 (default: the system's).")
                                      .arg(Translations::available().join(QStringLiteral(", "))),
                                  tr("LANG"));
    const QCommandLineOption noListen(
        QStringLiteral("no-listen"),
        tr("Local mode: do not accept kairosctl on 127.0.0.1:%1.").arg(kAdminPort));
    const QCommandLineOption screenshot(
        QStringLiteral("screenshot"),
        tr("Save a picture of the window to FILE once jobs and runs are shown, then quit."),
        tr("FILE"));
    parser.addOptions(
        {help, version, data, remote, user, passwordFile, lang, noListen, screenshot});

    if (!parser.parse(arguments))
        return makeError(parser.errorText());
    if (!parser.positionalArguments().isEmpty()) {
        return makeError(tr("unexpected argument \"%1\"; see --help")
                             .arg(parser.positionalArguments().constFirst()));
    }

    ConsoleOptions o;
    if (parser.isSet(help)) {
        o.helpText = parser.helpText();
        return o;
    }
    if (parser.isSet(version)) {
        o.helpText = QStringLiteral("kairos %1\n").arg(QCoreApplication::applicationVersion());
        return o;
    }
    const QString dir = parser.isSet(data)
                            ? parser.value(data)
                            : QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    if (dir.isEmpty())
        return makeError(tr("--data: no default data folder on this system; give --data DIR"));
    o.dataDir = QDir(dir).absolutePath();
    o.remote = parser.value(remote);
    o.user = parser.value(user);
    o.passwordFile = parser.value(passwordFile);
    o.listen = !parser.isSet(noListen);
    o.screenshot = parser.value(screenshot);
    o.language = parser.isSet(lang) ? parser.value(lang) : Translations::systemDefault();
    if (!Translations::available().contains(o.language)) {
        return makeError(
            tr("--lang: expected one of %1 but got \"%2\"")
                .arg(Translations::available().join(QStringLiteral(", ")), o.language));
    }
    if (!o.remote.isEmpty()) {
        if (auto endpoint = client::RemoteEndpoint::parseAddress(o.remote); !endpoint.ok())
            return makeError(tr("--remote: expected HOST:PORT with a port from 1 to 65535, got "
                                "\"%1\"")
                                 .arg(o.remote));
    } else if (parser.isSet(passwordFile) || parser.isSet(user)) {
        return makeError(tr("--user and --password-file only apply with --remote HOST:PORT"));
    }
    return o;
}

Result<client::RemoteEndpoint> ConsoleOptions::remoteEndpoint() const
{
    auto endpoint = client::RemoteEndpoint::parseAddress(remote);
    if (!endpoint.ok())
        return makeError(endpoint.error());
    endpoint->user = user;
    const QString file = passwordFile.isEmpty()
                             ? QDir(dataDir).filePath(QStringLiteral("admin.password"))
                             : passwordFile;
    const QString source =
        passwordFile.isEmpty() ? QStringLiteral("--data") : QStringLiteral("--password-file");
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly)) {
        return makeError(tr("%1: cannot read the password from %2: %3; give --password-file "
                            "FILE with the password of \"%4\" on its first line")
                             .arg(source, QDir::toNativeSeparators(file), f.errorString(), user));
    }
    // Only the first line counts, so a file written by `echo` or an editor works as is.
    QString line = QString::fromUtf8(f.readLine(64 * 1024));
    while (line.endsWith(u'\n') || line.endsWith(u'\r'))
        line.chop(1);
    if (line.isEmpty()) {
        return makeError(tr("%1: the first line of %2 is empty; expected the password there")
                             .arg(source, QDir::toNativeSeparators(file)));
    }
    endpoint->password = line;
    return endpoint;
}

} // namespace kairos::ui
