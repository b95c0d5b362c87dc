#pragma once
// The `kairosctl container ...` commands as far as the command line goes: the options each one
// declares and the Action its words make (which admin method with which parameters, or an upload
// or a followed deploy). It never touches the network or the file to upload; CommandRunner
// carries the Action out. Pure functions; thread-safe.

#include "arg_reader.h"
#include "invocation.h"

#include <core/result.h>

namespace kairos::cli {

// The default of `container deploy --follow --timeout`, in seconds.
inline constexpr int kDefaultDeployTimeoutS = 120;

// The options of a "container ..." command path (empty for another path).
QList<OptionSpec> containerOptionSpecs(const QString &command);

// Fills `action` for `command` ("container upload", "container deploy", ...) from its parsed
// words; an error is a usage error naming the flag or argument ("--isolation: expected process or
// inprocess, got \"fast\"").
Status parseContainerCommand(const QString &command, const ParsedArgs &args, Action &action);

} // namespace kairos::cli
