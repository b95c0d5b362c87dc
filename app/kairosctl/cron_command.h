#pragma once
// `kairosctl cron next`: fire times computed on this machine with engine/timing — no server,
// no connection, no password — so scripts and the console's users can check an expression
// before they save a job. The batch form is a line protocol for tools that check many
// expressions in one process. Thread-safe (no shared state).

#include "invocation.h"

#include <QTextStream>

#include <iosfwd>

namespace kairos::cli {

// Prints `<epoch ms>\t<ISO local time>` per fire time (or, with `json`, one document
// {"expression","timeZone","fromMs","times":[{"epochMs","local"}]}). An invalid expression or
// zone is printed on `err` as the cron engine words it; the exit code is then 1, else 0.
int runCronNext(const Action &action, bool json, QTextStream &out, QTextStream &err);

// Reads EXPR<TAB>ZONE<TAB>FROM_EPOCH_MS lines from `in` until its end and writes, per line and
// flushed at once (a driving process may wait for each answer), cronBatchLine(line, count).
// Returns 0.
int runCronBatch(int count, std::istream &in, std::ostream &out);

} // namespace kairos::cli
