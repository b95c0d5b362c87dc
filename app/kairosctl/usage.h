#pragma once
// The help texts of kairosctl: the overview (`kairosctl --help`) and the usage of each command
// (`kairosctl job run --help`, and the text shown after a usage error). One table holds every
// command, so the overview and the per-command usage cannot disagree. Thread-safe.

#include <QString>
#include <QStringList>

namespace kairos::cli {

// Every command path, e.g. "job create", "cron next", "server info".
QStringList commandPaths();
// Command paths of a group ("job" -> "job create", "job update", ...); empty if unknown.
QStringList commandsOfGroup(const QString &group);

// The overview: global options, environment, every command, exit codes.
QString generalHelp();
// "Usage: kairosctl [GLOBAL OPTIONS] job run ID|NAME [...]" plus the command's options. For a
// group ("job") the list of its commands; for an empty or unknown path the overview.
QString usageFor(const QString &commandPath);

} // namespace kairos::cli
