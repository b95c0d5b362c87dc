#include "job.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>
#include <limits>

namespace kairos {
namespace {

// Reads typed fields out of a JSON object and remembers the first error, naming the field by
// its dotted path so that a user can find it in the file they wrote.
class FieldReader {
public:
    FieldReader(const QJsonObject &obj, QString path, QString *error)
        : m_obj(obj)
        , m_path(std::move(path))
        , m_error(error)
    {}

    QString where(const QString &key) const { return m_path.isEmpty() ? key : m_path + u'.' + key; }
    bool has(const QString &key) const { return m_obj.contains(key) && !m_obj[key].isNull(); }

    void fail(const QString &key, const QString &what)
    {
        if (m_error->isEmpty())
            *m_error = where(key) + QStringLiteral(": ") + what;
    }

    void string(const QString &key, QString &out)
    {
        if (!has(key))
            return;
        if (!m_obj[key].isString())
            return fail(key, QStringLiteral("expected a string"));
        out = m_obj[key].toString();
    }

    void boolean(const QString &key, bool &out)
    {
        if (!has(key))
            return;
        if (!m_obj[key].isBool())
            return fail(key, QStringLiteral("expected true or false"));
        out = m_obj[key].toBool();
    }

    template<typename Int> void integer(const QString &key, Int &out, qint64 min, qint64 max)
    {
        if (!has(key))
            return;
        const QJsonValue v = m_obj[key];
        const double d = v.toDouble();
        if (!v.isDouble() || d != static_cast<double>(static_cast<qint64>(d)))
            return fail(key, QStringLiteral("expected a whole number"));
        const qint64 n = static_cast<qint64>(d);
        if (n < min || n > max)
            return fail(key, QStringLiteral("%1 is outside %2-%3").arg(n).arg(min).arg(max));
        out = static_cast<Int>(n);
    }

    template<typename E, typename Parse>
    void enumeration(const QString &key, E &out, Parse parse, const QStringList &names)
    {
        if (!has(key))
            return;
        const auto parsed = m_obj[key].isString() ? parse(m_obj[key].toString()) : std::nullopt;
        if (!parsed) {
            return fail(
                key,
                QStringLiteral("expected one of %1 but got %2")
                    .arg(names.join(QStringLiteral(", ")),
                         QString::fromUtf8(
                             QJsonDocument(QJsonArray{m_obj[key]}).toJson(QJsonDocument::Compact))
                             .mid(1)
                             .chopped(1)));
        }
        out = *parsed;
    }

    void stringList(const QString &key, QStringList &out)
    {
        if (!has(key))
            return;
        if (!m_obj[key].isArray())
            return fail(key, QStringLiteral("expected an array of strings"));
        QStringList list;
        for (const QJsonValue &v : m_obj[key].toArray()) {
            if (!v.isString())
                return fail(key, QStringLiteral("expected an array of strings"));
            list << v.toString();
        }
        out = list;
    }

    QJsonObject object(const QString &key)
    {
        if (!has(key))
            return {};
        if (!m_obj[key].isObject()) {
            fail(key, QStringLiteral("expected an object"));
            return {};
        }
        return m_obj[key].toObject();
    }

private:
    const QJsonObject &m_obj;
    QString m_path;
    QString *m_error;
};

constexpr qint64 kMaxInt = 2147483647;
constexpr qint64 kMaxMs = 253402300799999; // 9999-12-31

} // namespace

QJsonObject jobToJson(const Job &job)
{
    QJsonObject processor = job.processorConfig;
    processor[QStringLiteral("type")] = toString(job.processor);
    return QJsonObject{
        {QStringLiteral("id"), job.id},
        {QStringLiteral("name"), job.name},
        {QStringLiteral("description"), job.description},
        {QStringLiteral("app"), job.app},
        {QStringLiteral("enabled"), job.enabled},
        {QStringLiteral("timing"),
         QJsonObject{{QStringLiteral("type"), toString(job.timingType)},
                     {QStringLiteral("expression"), job.timingExpression},
                     {QStringLiteral("timeZone"), job.timeZone},
                     {QStringLiteral("windowStartMs"), job.windowStartMs},
                     {QStringLiteral("windowEndMs"), job.windowEndMs},
                     {QStringLiteral("misfirePolicy"), toString(job.misfirePolicy)},
                     {QStringLiteral("misfireMaxFires"), job.misfireMaxFires}}},
        {QStringLiteral("mode"), toString(job.mode)},
        {QStringLiteral("processor"), processor},
        {QStringLiteral("params"), job.params},
        {QStringLiteral("dispatch"),
         QJsonObject{{QStringLiteral("strategy"), toString(job.dispatch.strategy)},
                     {QStringLiteral("targets"), QJsonArray::fromStringList(job.dispatch.targets)},
                     {QStringLiteral("maxWorkers"), job.dispatch.maxWorkers},
                     {QStringLiteral("minFreeMemoryMb"), job.dispatch.minFreeMemoryMb},
                     {QStringLiteral("minFreeDiskMb"), job.dispatch.minFreeDiskMb},
                     {QStringLiteral("taskRetries"), job.dispatch.taskRetryCount}}},
        {QStringLiteral("limits"),
         QJsonObject{{QStringLiteral("maxConcurrentInstances"), job.maxConcurrentInstances},
                     {QStringLiteral("retryCount"), job.retryCount},
                     {QStringLiteral("retryBackoffMs"), job.retryBackoffMs},
                     {QStringLiteral("timeoutMs"), job.timeoutMs}}},
        {QStringLiteral("version"), job.version},
        {QStringLiteral("createdAtMs"), job.createdAtMs},
        {QStringLiteral("updatedAtMs"), job.updatedAtMs},
    };
}

Result<Job> applyJobPatch(const Job &base, const QJsonObject &json)
{
    Job job = base;
    QString error;
    FieldReader top(json, QString(), &error);
    top.integer(QStringLiteral("id"), job.id, 0, std::numeric_limits<qint64>::max());
    top.string(QStringLiteral("name"), job.name);
    top.string(QStringLiteral("description"), job.description);
    top.string(QStringLiteral("app"), job.app);
    top.boolean(QStringLiteral("enabled"), job.enabled);
    top.enumeration(QStringLiteral("mode"), job.mode, executionModeFromString,
                    executionModeNames());
    top.string(QStringLiteral("params"), job.params);
    top.integer(QStringLiteral("version"), job.version, 0, std::numeric_limits<qint64>::max());
    top.integer(QStringLiteral("createdAtMs"), job.createdAtMs, 0, kMaxMs);
    top.integer(QStringLiteral("updatedAtMs"), job.updatedAtMs, 0, kMaxMs);

    const QJsonObject timing = top.object(QStringLiteral("timing"));
    FieldReader t(timing, QStringLiteral("timing"), &error);
    t.enumeration(QStringLiteral("type"), job.timingType, timingTypeFromString, timingTypeNames());
    t.string(QStringLiteral("expression"), job.timingExpression);
    t.string(QStringLiteral("timeZone"), job.timeZone);
    t.integer(QStringLiteral("windowStartMs"), job.windowStartMs, 0, kMaxMs);
    t.integer(QStringLiteral("windowEndMs"), job.windowEndMs, 0, kMaxMs);
    t.enumeration(QStringLiteral("misfirePolicy"), job.misfirePolicy, misfirePolicyFromString,
                  misfirePolicyNames());
    t.integer(QStringLiteral("misfireMaxFires"), job.misfireMaxFires, 1, 10000);

    if (top.has(QStringLiteral("processor"))) {
        QJsonObject processor = top.object(QStringLiteral("processor"));
        FieldReader p(processor, QStringLiteral("processor"), &error);
        if (!p.has(QStringLiteral("type")) && error.isEmpty())
            p.fail(QStringLiteral("type"), QStringLiteral("missing; expected one of ")
                                               + processorKindNames().join(QStringLiteral(", ")));
        p.enumeration(QStringLiteral("type"), job.processor, processorKindFromString,
                      processorKindNames());
        processor.remove(QStringLiteral("type"));
        job.processorConfig = processor;
    }

    const QJsonObject dispatch = top.object(QStringLiteral("dispatch"));
    FieldReader d(dispatch, QStringLiteral("dispatch"), &error);
    d.enumeration(QStringLiteral("strategy"), job.dispatch.strategy, dispatchStrategyFromString,
                  dispatchStrategyNames());
    d.stringList(QStringLiteral("targets"), job.dispatch.targets);
    d.integer(QStringLiteral("maxWorkers"), job.dispatch.maxWorkers, 0, 100000);
    d.integer(QStringLiteral("minFreeMemoryMb"), job.dispatch.minFreeMemoryMb, 0, kMaxInt);
    d.integer(QStringLiteral("minFreeDiskMb"), job.dispatch.minFreeDiskMb, 0, kMaxInt);
    // Per-task reruns multiply with a map run's task count, so the ceiling is kept low.
    d.integer(QStringLiteral("taskRetries"), job.dispatch.taskRetryCount, 0, 100);

    const QJsonObject limits = top.object(QStringLiteral("limits"));
    FieldReader l(limits, QStringLiteral("limits"), &error);
    l.integer(QStringLiteral("maxConcurrentInstances"), job.maxConcurrentInstances, 0, 100000);
    l.integer(QStringLiteral("retryCount"), job.retryCount, 0, 1000);
    l.integer(QStringLiteral("retryBackoffMs"), job.retryBackoffMs, 0, 86400000);
    l.integer(QStringLiteral("timeoutMs"), job.timeoutMs, 0, kMaxInt);

    if (error.isEmpty() && job.name.trimmed().isEmpty())
        error = QStringLiteral("name: must not be empty");
    if (error.isEmpty() && job.windowEndMs != 0 && job.windowEndMs < job.windowStartMs)
        error = QStringLiteral("timing.windowEndMs: must not be before timing.windowStartMs");
    if (!error.isEmpty())
        return makeError(error);
    return job;
}

Result<Job> jobFromJson(const QJsonObject &json)
{
    return applyJobPatch(Job{}, json);
}

qint64 retryDelayMs(const Job &job, int nextAttempt)
{
    constexpr qint64 kCap = 3600 * 1000;
    qint64 delay = job.retryBackoffMs;
    for (int i = 2; i < nextAttempt && delay < kCap; ++i)
        delay *= 2;
    return std::min(delay, kCap);
}

} // namespace kairos
