#include "builtin_processors.h"

#include "config_fields.h"

#include <QElapsedTimer>
#include <QFile>
#include <QStringList>
#include <QThread>

#include <algorithm>
#include <vector>

namespace kairos {

namespace {

using sdk::ProcessResult;
using sdk::TaskContext;
using sdk::TaskRole;

QString roleName(TaskRole role)
{
    switch (role) {
    case TaskRole::Standalone:
        return QStringLiteral("STANDALONE");
    case TaskRole::Root:
        return QStringLiteral("ROOT");
    case TaskRole::Subtask:
        return QStringLiteral("SUBTASK");
    case TaskRole::Reduce:
        return QStringLiteral("REDUCE");
    case TaskRole::PreProcess:
        return QStringLiteral("PRE_PROCESS");
    case TaskRole::Broadcast:
        return QStringLiteral("BROADCAST");
    case TaskRole::PostProcess:
        return QStringLiteral("POST_PROCESS");
    }
    return QStringLiteral("?");
}

// --- builtin#echo -------------------------------------------------------------------------------

Status validateEcho(const QJsonObject &config)
{
    if (auto m = config::optionalString(config, QStringLiteral("message"), QString()); !m)
        return makeError(m.error());
    return {};
}

class BuiltinEcho final : public sdk::BroadcastProcessor {
public:
    ProcessResult process(TaskContext &context) override
    {
        const QJsonValue message = context.config().value(QLatin1String("message"));
        const QString text = message.isString()                    ? message.toString()
                             : !context.instanceParams().isEmpty() ? context.instanceParams()
                                                                   : context.jobParams();
        context.log().info(text);
        return ProcessResult::ok(text);
    }
};

// --- builtin#range-sum --------------------------------------------------------------------------

const QString kNumber = QStringLiteral("number");
const QString kChunk = QStringLiteral("chunk");

Status validateRangeSum(const QJsonObject &config)
{
    if (auto c = parseRangeSumConfig(config); !c)
        return makeError(c.error());
    return {};
}

class RangeSum final : public sdk::MapReduceProcessor {
public:
    ProcessResult process(TaskContext &context) override
    {
        auto parsed = parseRangeSumConfig(context.config());
        if (!parsed)
            return ProcessResult::failed(parsed.error());
        m_config = std::move(parsed).value();

        switch (context.role()) {
        case TaskRole::Root:
            if (m_config.levels == 1)
                return mapRange(context, 0, m_config.count - 1, kNumber);
            return mapChunks(context);
        case TaskRole::Subtask:
            if (context.taskName() == kChunk)
                return runChunk(context);
            if (context.taskName() == kNumber)
                return runNumber(context);
            return ProcessResult::failed(
                QStringLiteral("builtin#range-sum: unknown subtask name '%1' (expected '%2' or "
                               "'%3')")
                    .arg(context.taskName(), kNumber, kChunk));
        default:
            return ProcessResult::failed(
                QStringLiteral("builtin#range-sum runs in MAP or MAP_REDUCE jobs; this task has "
                               "role %1")
                    .arg(roleName(context.role())));
        }
    }

    ProcessResult reduce(TaskContext &context, sdk::ResultReader &results) override
    {
        auto parsed = parseRangeSumConfig(context.config());
        if (!parsed)
            return ProcessResult::failed(parsed.error());
        m_config = std::move(parsed).value();
        const qint64 count = m_config.count;

        QFile file(m_config.reduceFile);
        const bool writeFile = !m_config.reduceFile.isEmpty();
        if (writeFile && !file.open(QIODevice::WriteOnly | QIODevice::Append)) {
            return ProcessResult::failed(QStringLiteral("processor.reduceFile: cannot open %1: %2")
                                             .arg(m_config.reduceFile, file.errorString()));
        }
        QByteArray buffer;
        constexpr qsizetype kFlushBytes = 64 * 1024;
        const auto flush = [&]() -> bool {
            if (buffer.isEmpty())
                return true;
            const bool ok = file.write(buffer) == buffer.size();
            buffer.clear();
            return ok;
        };

        // One bit per number: a million results cost 125 KB, not a hash of a million entries.
        std::vector<quint64> seen(static_cast<size_t>((count + 63) / 64), 0);
        qint64 read = 0;
        qint64 leaves = 0;
        qint64 distinct = 0;
        qint64 sum = 0;
        qint64 duplicates = 0;
        qint64 failed = 0;
        sdk::SubtaskResult r;
        while (results.next(r)) {
            ++read;
            if (!r.success) {
                ++failed;
                continue;
            }
            if (r.name != kNumber)
                continue; // a chunk that mapped its numbers
            bool isNumber = false;
            const qint64 n = r.result.toLongLong(&isNumber);
            if (!isNumber || n < 0 || n >= count) {
                ++failed;
                context.log().warn(QStringLiteral("task %1: result '%2' is not a number in 0-%3")
                                       .arg(r.taskId)
                                       .arg(r.result.left(100))
                                       .arg(count - 1));
                continue;
            }
            ++leaves;
            sum += n;
            quint64 &word = seen[static_cast<size_t>(n / 64)];
            const quint64 bit = quint64(1) << (n % 64);
            if (word & bit) {
                ++duplicates;
            } else {
                word |= bit;
                ++distinct;
            }
            if (writeFile) {
                buffer += QByteArray::number(r.taskId) + ' ' + QByteArray::number(n) + '\n';
                if (buffer.size() >= kFlushBytes && !flush())
                    return ProcessResult::failed(
                        QStringLiteral("processor.reduceFile: cannot write %1: %2")
                            .arg(m_config.reduceFile, file.errorString()));
            }
        }
        if (writeFile && (!flush() || !file.flush())) {
            return ProcessResult::failed(QStringLiteral("processor.reduceFile: cannot write %1: %2")
                                             .arg(m_config.reduceFile, file.errorString()));
        }
        if (!results.error().isEmpty())
            return ProcessResult::failed(
                QStringLiteral("reading the results failed after %1 of them: %2")
                    .arg(read)
                    .arg(results.error()));

        const qint64 missing = count - distinct;
        const QString summary =
            QStringLiteral(R"({"count":%1,"sum":%2,"duplicates":%3,"failed":%4,"missing":%5})")
                .arg(leaves)
                .arg(sum)
                .arg(duplicates)
                .arg(failed)
                .arg(missing);
        context.log().info(QStringLiteral("read %1 results: %2").arg(read).arg(summary));
        if (duplicates > 0 || failed > 0 || missing > 0)
            return ProcessResult::failed(summary);
        return ProcessResult::ok(summary);
    }

private:
    // Maps "lo".."hi" as `name` items, `batch` per map() call.
    ProcessResult mapRange(TaskContext &context, qint64 lo, qint64 hi, const QString &name)
    {
        qint64 calls = 0;
        for (qint64 from = lo; from <= hi; from += m_config.batch) {
            if (context.isCanceled())
                return ProcessResult::failed(QStringLiteral("canceled"));
            const qint64 to = std::min(hi, from + m_config.batch - 1);
            QList<QByteArray> items;
            items.reserve(static_cast<qsizetype>(to - from + 1));
            for (qint64 n = from; n <= to; ++n)
                items << QByteArray::number(n);
            QString error;
            if (!context.map(items, name, &error))
                return ProcessResult::failed(QStringLiteral("map of %1 %2-%3 failed: %4")
                                                 .arg(name)
                                                 .arg(from)
                                                 .arg(to)
                                                 .arg(error));
            ++calls;
        }
        return ProcessResult::ok(QStringLiteral("mapped %1 %2 items (%3-%4) in %5 calls")
                                     .arg(hi - lo + 1)
                                     .arg(name)
                                     .arg(lo)
                                     .arg(hi)
                                     .arg(calls));
    }

    // Level 2 root: one "lo-hi" chunk item per `batch` numbers, `batch` chunks per map() call.
    ProcessResult mapChunks(TaskContext &context)
    {
        const qint64 chunks = (m_config.count + m_config.batch - 1) / m_config.batch;
        for (qint64 first = 0; first < chunks; first += m_config.batch) {
            if (context.isCanceled())
                return ProcessResult::failed(QStringLiteral("canceled"));
            const qint64 last = std::min(chunks - 1, first + m_config.batch - 1);
            QList<QByteArray> items;
            items.reserve(static_cast<qsizetype>(last - first + 1));
            for (qint64 c = first; c <= last; ++c) {
                const qint64 lo = c * m_config.batch;
                const qint64 hi = std::min(m_config.count - 1, lo + m_config.batch - 1);
                items << QByteArray::number(lo) + '-' + QByteArray::number(hi);
            }
            QString error;
            if (!context.map(items, kChunk, &error))
                return ProcessResult::failed(QStringLiteral("map of chunks %1-%2 failed: %3")
                                                 .arg(first)
                                                 .arg(last)
                                                 .arg(error));
        }
        return ProcessResult::ok(
            QStringLiteral("mapped %1 chunks of %2 numbers").arg(chunks).arg(m_config.batch));
    }

    ProcessResult runChunk(TaskContext &context)
    {
        const QList<QByteArray> bounds = context.payload().split('-');
        bool loOk = false;
        bool hiOk = false;
        const qint64 lo = bounds.value(0).toLongLong(&loOk);
        const qint64 hi = bounds.size() == 2 ? bounds.value(1).toLongLong(&hiOk) : 0;
        if (!loOk || !hiOk || lo < 0 || hi < lo || hi >= m_config.count)
            return ProcessResult::failed(
                QStringLiteral("chunk '%1' is not a range lo-hi within 0-%2")
                    .arg(QString::fromLatin1(context.payload().left(100)))
                    .arg(m_config.count - 1));
        return mapRange(context, lo, hi, kNumber);
    }

    ProcessResult runNumber(TaskContext &context)
    {
        bool ok = false;
        const qint64 n = context.payload().toLongLong(&ok);
        if (!ok || n < 0 || n >= m_config.count)
            return ProcessResult::failed(QStringLiteral("item '%1' is not a number in 0-%2")
                                             .arg(QString::fromLatin1(context.payload().left(100)))
                                             .arg(m_config.count - 1));
        if (m_config.taskMs > 0) {
            // Simulated work that still notices a cancel within a few milliseconds.
            QElapsedTimer clock;
            clock.start();
            while (!context.isCanceled() && clock.elapsed() < m_config.taskMs)
                QThread::msleep(static_cast<unsigned long>(
                    std::min<qint64>(10, m_config.taskMs - clock.elapsed())));
            if (context.isCanceled())
                return ProcessResult::failed(QStringLiteral("canceled"));
        }
        return ProcessResult::ok(QString::number(n));
    }

    RangeSumConfig m_config;
};

QList<BuiltinProcessor> makeBuiltins()
{
    QList<BuiltinProcessor> list;
    const auto add = [&list](QString name, QString description,
                             std::function<std::unique_ptr<sdk::Processor>()> create,
                             std::function<Status(const QJsonObject &)> validate) {
        const SdkShape shape = shapeOf(*create());
        list.append(BuiltinProcessor{
            sdk::ProcessorEntry{std::move(name), std::move(description), std::move(create)}, shape,
            std::move(validate)});
    };
    add(
        QStringLiteral("echo"),
        QStringLiteral("Returns config \"message\" (else the params); broadcast hooks by default"),
        [] { return std::make_unique<BuiltinEcho>(); }, validateEcho);
    add(
        QStringLiteral("range-sum"),
        QStringLiteral("Maps the numbers 0..count-1 and checks in reduce that each came back once"),
        [] { return std::make_unique<RangeSum>(); }, validateRangeSum);
    return list;
}

QStringList builtinNames()
{
    QStringList names;
    for (const BuiltinProcessor &b : builtinProcessors())
        names << b.entry.name;
    return names;
}

} // namespace

SdkShape shapeOf(const sdk::Processor &processor)
{
    SdkShape shape;
    shape.broadcast = dynamic_cast<const sdk::BroadcastProcessor *>(&processor) != nullptr;
    shape.map = dynamic_cast<const sdk::MapProcessor *>(&processor) != nullptr;
    shape.reduce = dynamic_cast<const sdk::MapReduceProcessor *>(&processor) != nullptr;
    return shape;
}

const QList<BuiltinProcessor> &builtinProcessors()
{
    static const QList<BuiltinProcessor> list = makeBuiltins(); // thread-safe static init
    return list;
}

const BuiltinProcessor *findBuiltinProcessor(const QString &name)
{
    for (const BuiltinProcessor &b : builtinProcessors()) {
        if (b.entry.name == name)
            return &b;
    }
    return nullptr;
}

Result<const BuiltinProcessor *> resolveContainerRef(const QJsonObject &config)
{
    auto ref = config::requiredString(config, QStringLiteral("ref"));
    if (!ref)
        return makeError(ref.error());
    if (!ref->startsWith(kBuiltinRefPrefix))
        return makeError(QStringLiteral("%1: '%2' is not a built-in processor")
                             .arg(config::fieldName(QStringLiteral("ref")), *ref));
    const QString name = ref->mid(kBuiltinRefPrefix.size());
    if (const BuiltinProcessor *b = findBuiltinProcessor(name))
        return b;
    return makeError(QStringLiteral("%1: no built-in processor '%2' (built-ins: %3)")
                         .arg(config::fieldName(QStringLiteral("ref")), name,
                              builtinNames().join(QStringLiteral(", "))));
}

Result<RangeSumConfig> parseRangeSumConfig(const QJsonObject &config)
{
    RangeSumConfig c;
    const auto count =
        config::requiredInt(config, QStringLiteral("count"), 1, RangeSumConfig::kMaxCount);
    if (!count)
        return makeError(count.error());
    c.count = *count;
    const auto batch = config::optionalInt(config, QStringLiteral("batch"), c.batch, 1, 1000000);
    if (!batch)
        return makeError(batch.error());
    c.batch = *batch;
    const auto levels = config::optionalInt(config, QStringLiteral("levels"), 1, 1, 2);
    if (!levels)
        return makeError(levels.error());
    c.levels = static_cast<int>(*levels);
    const auto taskMs = config::optionalInt(config, QStringLiteral("taskMs"), 0, 0, 3600 * 1000);
    if (!taskMs)
        return makeError(taskMs.error());
    c.taskMs = *taskMs;
    auto file = config::optionalString(config, QStringLiteral("reduceFile"), QString());
    if (!file)
        return makeError(file.error());
    c.reduceFile = std::move(file).value();
    return c;
}

} // namespace kairos
