#pragma once
// The SDK processors every worker carries, addressed by a job as CONTAINER {"ref":
// "builtin#NAME"} (container plugins, issue 5, will be found through the same SDK entry type):
//
//   builtin#echo       a BroadcastProcessor: returns config "message" (else the instance params,
//                      else the job params); default preProcess / postProcess hooks.
//   builtin#range-sum  a MapReduceProcessor that maps the numbers 0..count-1 (directly, or in
//                      two levels: "lo-hi" chunks that map their numbers) and checks in reduce
//                      that every number came back exactly once. Also usable as MAP (no reduce).
//                      Config: {"count": 1..100000000 (required), "batch": items per map() call
//                      (default 1000), "levels": 1 | 2, "taskMs": sleep per number task
//                      (default 0), "reduceFile": a file the reduce appends "<taskId> <number>"
//                      lines to (optional)}.
//
// This file also knows what shape an SDK processor has (shapeOf), which the mode validation and
// broadcastHooksOf use. Everything here is thread-safe: the list is built once and immutable.

#include <core/result.h>
#include <kairos/sdk.h>

#include <QJsonObject>
#include <QList>
#include <QString>

#include <functional>

namespace kairos {

// The prefix of a CONTAINER ref that names a built-in processor.
inline constexpr QLatin1StringView kBuiltinRefPrefix{"builtin#"};

// What an SDK processor can serve, by the SDK class it derives from.
struct SdkShape {
    bool broadcast = false; // a BroadcastProcessor (has preProcess / postProcess)
    bool map = false;       // a MapProcessor (may call map())
    bool reduce = false;    // a MapReduceProcessor
};
SdkShape shapeOf(const sdk::Processor &processor);

struct BuiltinProcessor {
    sdk::ProcessorEntry entry; // entry.name is NAME of "builtin#NAME"
    SdkShape shape;
    // Checks the processor config as a run would, errors naming the field
    // ("processor.count: missing").
    std::function<Status(const QJsonObject &config)> validate;
};

// Every built-in processor, in a stable order. Thread-safe.
const QList<BuiltinProcessor> &builtinProcessors();
// The built-in called `name` ("echo", not "builtin#echo"), or null. Thread-safe.
const BuiltinProcessor *findBuiltinProcessor(const QString &name);

// Resolves a CONTAINER processor config: the built-in its "ref" names, or why it cannot run
// here ("processor.ref: missing", "processor.ref: no built-in processor 'x' (built-ins: echo,
// range-sum)", "'c#p' is not a built-in processor"). Only the ref is checked,
// not the rest of the config. Thread-safe.
Result<const BuiltinProcessor *> resolveContainerRef(const QJsonObject &config);

// builtin#range-sum's config, parsed and checked (exposed for tests and docs).
struct RangeSumConfig {
    static constexpr qint64 kMaxCount = 100000000;
    qint64 count = 0;
    qint64 batch = 1000;
    int levels = 1;
    qint64 taskMs = 0;
    QString reduceFile;
};
Result<RangeSumConfig> parseRangeSumConfig(const QJsonObject &config);

} // namespace kairos
