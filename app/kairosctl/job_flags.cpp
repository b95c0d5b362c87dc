#include "job_flags.h"

#include <core/types.h>

#include <QJsonDocument>
#include <QJsonParseError>

namespace kairos::cli {
namespace {

constexpr qint64 kMaxInt = 2147483647;

struct Choice {
    const char *flag;
    const char *typeName;
};

// Flag -> timing.type. The expression is the flag's value (none for --api).
constexpr Choice kTimingFlags[] = {{"cron", "CRON"},
                                   {"rate", "FIXED_RATE"},
                                   {"delay", "FIXED_DELAY"},
                                   {"at", "ONE_SHOT"},
                                   {"api", "API"}};
// Flag -> processor.type.
constexpr Choice kProcessorFlags[] = {{"shell", "SHELL"},
                                      {"http", "HTTP"},
                                      {"echo", "ECHO"},
                                      {"sleep", "SLEEP"},
                                      {"container", "CONTAINER"}};

template<std::size_t N> QStringList flagList(const Choice (&choices)[N])
{
    QStringList out;
    for (const Choice &c : choices)
        out << QStringLiteral("--") + QLatin1String(c.flag);
    return out;
}

// The one flag of `choices` that was given, nullptr for none, or an error when several were.
template<std::size_t N>
Result<const Choice *> pickOne(const ParsedArgs &args, const Choice (&choices)[N])
{
    const Choice *picked = nullptr;
    for (const QString &name : args.given()) {
        for (const Choice &c : choices) {
            if (name != QLatin1String(c.flag))
                continue;
            if (picked) {
                return makeError(QStringLiteral("--%1 and --%2 cannot be combined; give one of %3")
                                     .arg(QLatin1String(picked->flag), name,
                                          flagList(choices).join(QStringLiteral(", "))));
            }
            picked = &c;
        }
    }
    return picked;
}

} // namespace

QList<OptionSpec> jobOptionSpecs()
{
    return {
        {QStringLiteral("name"), QStringLiteral("NAME")},
        {QStringLiteral("description"), QStringLiteral("TEXT")},
        {QStringLiteral("cron"), QStringLiteral("EXPR")},
        {QStringLiteral("rate"), QStringLiteral("DUR")},
        {QStringLiteral("delay"), QStringLiteral("DUR")},
        {QStringLiteral("at"), QStringLiteral("TIME")},
        {QStringLiteral("api"), QString()},
        {QStringLiteral("tz"), QStringLiteral("ZONE")},
        {QStringLiteral("shell"), QStringLiteral("SCRIPT")},
        {QStringLiteral("http"), QStringLiteral("URL")},
        {QStringLiteral("method"), QStringLiteral("M")},
        {QStringLiteral("echo"), QStringLiteral("MSG")},
        {QStringLiteral("sleep"), QStringLiteral("MS")},
        {QStringLiteral("container"), QStringLiteral("REF")},
        {QStringLiteral("params"), QStringLiteral("P")},
        {QStringLiteral("timeout"), QStringLiteral("MS")},
        {QStringLiteral("retries"), QStringLiteral("N")},
        {QStringLiteral("retry-backoff"), QStringLiteral("MS")},
        {QStringLiteral("max-instances"), QStringLiteral("N")},
        {QStringLiteral("misfire"), QStringLiteral("POLICY")},
        {QStringLiteral("disabled"), QString()},
        {QStringLiteral("mode"), QStringLiteral("MODE")},
        {QStringLiteral("max-workers"), QStringLiteral("N")},
        {QStringLiteral("task-retries"), QStringLiteral("N")},
    };
}

bool hasJobFlags(const ParsedArgs &args)
{
    for (const OptionSpec &spec : jobOptionSpecs()) {
        if (args.has(spec.name))
            return true;
    }
    return false;
}

Result<QJsonObject> jobFieldsFromFlags(const ParsedArgs &args, bool requireComplete)
{
    QJsonObject job;

    if (args.has(QStringLiteral("name"))) {
        const QString name = args.value(QStringLiteral("name")).trimmed();
        if (name.isEmpty())
            return makeError(QStringLiteral("--name: must not be empty"));
        job[QStringLiteral("name")] = name;
    } else if (requireComplete) {
        return makeError(QStringLiteral("--name: required (or give the whole job with --file)"));
    }
    if (args.has(QStringLiteral("description")))
        job[QStringLiteral("description")] = args.value(QStringLiteral("description"));
    if (args.has(QStringLiteral("params")))
        job[QStringLiteral("params")] = args.value(QStringLiteral("params"));
    if (args.has(QStringLiteral("disabled")))
        job[QStringLiteral("enabled")] = false;
    if (args.has(QStringLiteral("mode"))) {
        const auto mode = executionModeFromString(args.value(QStringLiteral("mode")).trimmed());
        if (!mode) {
            return makeError(QStringLiteral("--mode: expected standalone, broadcast, map or "
                                            "map-reduce, got \"%1\"")
                                 .arg(args.value(QStringLiteral("mode"))));
        }
        job[QStringLiteral("mode")] = toString(*mode);
    }

    // Timing.
    QJsonObject timing;
    auto timingFlag = pickOne(args, kTimingFlags);
    if (!timingFlag.ok())
        return makeError(timingFlag.error());
    if (const Choice *c = *timingFlag) {
        timing[QStringLiteral("type")] = QLatin1String(c->typeName);
        timing[QStringLiteral("expression")] = args.value(QLatin1String(c->flag));
    } else if (requireComplete) {
        // Like a job file without "timing": runs only when triggered (kairosctl job run, API).
        timing[QStringLiteral("type")] = QStringLiteral("API");
    }
    if (args.has(QStringLiteral("tz")))
        timing[QStringLiteral("timeZone")] = args.value(QStringLiteral("tz")).trimmed();
    if (args.has(QStringLiteral("misfire"))) {
        const auto policy = misfirePolicyFromString(args.value(QStringLiteral("misfire")));
        if (!policy) {
            return makeError(QStringLiteral("--misfire: expected fire-once, skip or fire-all, got "
                                            "\"%1\"")
                                 .arg(args.value(QStringLiteral("misfire"))));
        }
        timing[QStringLiteral("misfirePolicy")] = toString(*policy);
    }
    if (!timing.isEmpty())
        job[QStringLiteral("timing")] = timing;

    // Processor.
    auto processorFlag = pickOne(args, kProcessorFlags);
    if (!processorFlag.ok())
        return makeError(processorFlag.error());
    const Choice *processorChoice = *processorFlag;
    if (args.has(QStringLiteral("method"))
        && (!processorChoice || QLatin1String(processorChoice->flag) != QLatin1String("http")))
        return makeError(QStringLiteral("--method: only with --http URL"));
    if (processorChoice) {
        const QString flag = QLatin1String(processorChoice->flag);
        const QString value = args.value(flag);
        QJsonObject processor{{QStringLiteral("type"), QLatin1String(processorChoice->typeName)}};
        if (flag == QLatin1String("shell")) {
            processor[QStringLiteral("script")] = value;
        } else if (flag == QLatin1String("http")) {
            processor[QStringLiteral("url")] = value;
            if (args.has(QStringLiteral("method")))
                processor[QStringLiteral("method")] =
                    args.value(QStringLiteral("method")).trimmed().toUpper();
        } else if (flag == QLatin1String("echo")) {
            processor[QStringLiteral("message")] = value;
        } else if (flag == QLatin1String("container")) {
            // The server checks the ref against the uploaded containers; here only its form.
            const QString ref = value.trimmed();
            if (!ref.contains(u'#') || ref.startsWith(u'#') || ref.endsWith(u'#')) {
                return makeError(QStringLiteral("--container: expected CONTAINER#PROCESSOR (for "
                                                "example hello#greet), got \"%1\"")
                                     .arg(value));
            }
            processor[QStringLiteral("ref")] = ref;
        } else {
            auto ms = readInteger(QStringLiteral("--sleep"), value, 0, kMaxInt);
            if (!ms.ok())
                return makeError(ms.error());
            processor[QStringLiteral("ms")] = *ms;
        }
        job[QStringLiteral("processor")] = processor;
    } else if (requireComplete) {
        return makeError(QStringLiteral("one of %1 is required (what the job runs)")
                             .arg(flagList(kProcessorFlags).join(QStringLiteral(", "))));
    }

    // Limits.
    struct LimitFlag {
        const char *flag;
        const char *field;
    };
    constexpr LimitFlag kLimits[] = {{"timeout", "timeoutMs"},
                                     {"retries", "retryCount"},
                                     {"retry-backoff", "retryBackoffMs"},
                                     {"max-instances", "maxConcurrentInstances"}};
    QJsonObject limits;
    for (const LimitFlag &l : kLimits) {
        const QString flag = QLatin1String(l.flag);
        if (!args.has(flag))
            continue;
        auto n = readInteger(QStringLiteral("--") + flag, args.value(flag), 0, kMaxInt);
        if (!n.ok())
            return makeError(n.error());
        limits[QLatin1String(l.field)] = *n;
    }
    if (!limits.isEmpty())
        job[QStringLiteral("limits")] = limits;

    // Dispatch: the bounds are the job document's (jobFromJson), so a flag fails here, before
    // a round trip, with the same range the server would name.
    struct DispatchFlag {
        const char *flag;
        const char *field;
        qint64 max;
    };
    constexpr DispatchFlag kDispatch[] = {{"max-workers", "maxWorkers", 100000},
                                          {"task-retries", "taskRetries", 100}};
    QJsonObject dispatch;
    for (const DispatchFlag &d : kDispatch) {
        const QString flag = QLatin1String(d.flag);
        if (!args.has(flag))
            continue;
        auto n = readInteger(QStringLiteral("--") + flag, args.value(flag), 0, d.max);
        if (!n.ok())
            return makeError(n.error());
        dispatch[QLatin1String(d.field)] = *n;
    }
    if (!dispatch.isEmpty())
        job[QStringLiteral("dispatch")] = dispatch;
    return job;
}

QJsonObject overlayJob(QJsonObject base, const QJsonObject &top)
{
    static const QStringList kMerged{QStringLiteral("timing"), QStringLiteral("limits"),
                                     QStringLiteral("dispatch")};
    for (auto it = top.begin(); it != top.end(); ++it) {
        if (kMerged.contains(it.key()) && it.value().isObject()
            && base.value(it.key()).isObject()) {
            QJsonObject merged = base.value(it.key()).toObject();
            const QJsonObject part = it.value().toObject();
            for (auto f = part.begin(); f != part.end(); ++f)
                merged[f.key()] = f.value();
            base[it.key()] = merged;
        } else {
            base[it.key()] = it.value();
        }
    }
    return base;
}

Result<QJsonObject> parseJobDocument(const QByteArray &bytes, const QString &source)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &error);
    if (error.error != QJsonParseError::NoError) {
        return makeError(QStringLiteral("%1: not valid JSON: %2 at offset %3")
                             .arg(source, error.errorString())
                             .arg(error.offset));
    }
    if (!doc.isObject())
        return makeError(QStringLiteral("%1: expected a JSON object (a job)").arg(source));
    return doc.object();
}

QStringList serverAssignedJobFields()
{
    return {QStringLiteral("id"), QStringLiteral("version"), QStringLiteral("createdAtMs"),
            QStringLiteral("updatedAtMs"), QStringLiteral("nextFireMs")};
}

} // namespace kairos::cli
