#pragma once
// The job options shared by `job create` and `job update` (--name, --cron, --shell, --retries,
// ...) and their translation into the job JSON shape of jobToJson()/jobFromJson(), so a job
// built from flags, a job file and an exported job all reach the server in the same form.
// Only the fields of the flags given are written: on update that is exactly the patch.
// Pure functions; thread-safe.

#include "arg_reader.h"

#include <core/result.h>

#include <QByteArray>
#include <QJsonObject>

namespace kairos::cli {

// The job options, without --file.
QList<OptionSpec> jobOptionSpecs();

// Whether any job option (not --file) was given.
bool hasJobFlags(const ParsedArgs &args);

// The JSON fields the given flags set. With `requireComplete` (job create without --file),
// --name, one timing flag and one processor flag are required. Errors name the flag:
// "--cron and --rate cannot be combined; give one of --cron, --rate, --delay, --at, --api".
Result<QJsonObject> jobFieldsFromFlags(const ParsedArgs &args, bool requireComplete);

// `top` laid over `base`: the nested groups timing, limits and dispatch merge field by field;
// every other field, the processor included (its type decides which fields it has), is
// replaced whole.
QJsonObject overlayJob(QJsonObject base, const QJsonObject &top);

// Parses a job document (the contents of --file); `source` names it in errors:
// "--file job.json: not valid JSON: unterminated object at offset 12".
Result<QJsonObject> parseJobDocument(const QByteArray &bytes, const QString &source);

// The fields of an exported job the server assigns itself (id, version, createdAtMs,
// updatedAtMs, nextFireMs). They are taken out of documents before sending.
QStringList serverAssignedJobFields();

} // namespace kairos::cli
