#pragma once
// ConsoleOptions: the `kairos` command line — data folder, local or remote mode, login,
// language, whether to accept kairosctl, and a screenshot for the docs. Parsing lives here (not
// in main) so the help text is translated and the rules are testable.
//
// Main thread only (QCommandLineParser).

#include <client/remote_client.h>
#include <core/result.h>

#include <QCoreApplication>
#include <QStringList>

namespace kairos::ui {

struct ConsoleOptions {
    Q_DECLARE_TR_FUNCTIONS(kairos::ui::ConsoleOptions)

public:
    static constexpr quint16 kAdminPort = 7070;

    QString dataDir; // absolute; default: the user's data folder
    QString remote;  // HOST:PORT; empty: local single-node mode
    QString user = QStringLiteral("admin");
    QString passwordFile; // remote: first line is the password (default DATA/admin.password)
    QString language;     // one of Translations::available()
    bool listen = true;   // local: accept kairosctl on 127.0.0.1:kAdminPort
    QString screenshot;   // save a picture of the window here, then quit
    QString helpText;     // --help/--version: print this and exit

    // Parses `arguments` (arguments[0] is the program).
    static Result<ConsoleOptions> parse(const QStringList &arguments);
    // The --lang value, read before translations exist (so that parse() can be translated).
    static QString languageArgument(const QStringList &arguments);

    // Remote mode: the address and the login, with the password read from its file.
    Result<client::RemoteEndpoint> remoteEndpoint() const;
};

} // namespace kairos::ui
