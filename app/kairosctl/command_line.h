#pragma once
// parseCommandLine: turns kairosctl's arguments into an Invocation — which admin method to call
// with which JSON parameters, or which local action to take — or into a usage error that names
// the bad flag or argument and the command whose usage to show. It never touches the network;
// reading a --file goes through the FileReader passed in, so tests can supply the contents.
// Pure apart from the reader; thread-safe.

#include "invocation.h"

#include <core/result.h>

#include <QByteArray>
#include <QStringList>

#include <functional>

namespace kairos::cli {

// Reads a --file argument; "-" means standard input. Errors are shown to the user as is.
using FileReader = std::function<Result<QByteArray>(const QString &path)>;

struct ParsedCommandLine {
    // Valid when ok(); otherwise `invocation.command` names the command whose usage to show
    // (empty: the overview).
    Invocation invocation;
    QString error;
    bool ok() const { return error.isEmpty(); }
};

// `arguments` excludes the program name.
ParsedCommandLine parseCommandLine(const QStringList &arguments, const FileReader &readFile);

// The FileReader of the real program: the file's bytes, or all of stdin for "-".
Result<QByteArray> readFileOrStdin(const QString &path);

// A job addressed as ID|NAME: {"id": n} for digits only, else {"name": s}.
QJsonObject jobReference(const QString &text);

} // namespace kairos::cli
