#pragma once
// The kairos-worker command line: turns argv into a WorkerConfig, or into an error that names
// the flag and what was expected ("--threads: expected a whole number from 1 to 4096, got
// \"0\""). It also reads the secret file, so every reason not to start is reported before the
// worker touches the network. `--help` text is generated from the same option table.
//
// Plain functions over a QCommandLineParser: call from one thread (they use tr()).

#include "worker_config.h"

#include <core/result.h>

#include <QStringList>

namespace kairos::agent {

struct ParsedCommandLine {
    enum class Action { Run, Help, Version };
    Action action = Action::Run;
    WorkerConfig config;  // filled when action is Run
    QStringList warnings; // worth telling the operator, not fatal (a world-readable secret)
};

// `arguments` includes the program name first, as QCoreApplication::arguments() does.
// `version` is what `register` carries and `--version` prints.
Result<ParsedCommandLine> parseWorkerCommandLine(const QStringList &arguments,
                                                 const QString &version);

// The --help text: usage, a description and every flag with its default.
QString workerHelpText();

} // namespace kairos::agent
