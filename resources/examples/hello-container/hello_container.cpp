// The "hello" container: two processors showing the two common shapes.
//
//   hello#greet      (standalone)  "Hello, <who>!" where who is the processor config's "who",
//                                  else this run's parameters, else the job's, else "world".
//   hello#wordcount  (mapReduce)   the root maps every line of the run's parameters (else the
//                                  job's) as a subtask; each subtask counts its words; the reduce
//                                  adds them up: "12 words in 3 lines".
//
// Kairos creates a fresh processor object for every run and calls it on a worker thread, so
// members need no locking and blocking calls are fine. Keep no threads or global state: a
// version is unloaded once its last run has ended.
#include <kairos/container.h>

#include <QRegularExpression>
#include <QStringList>

namespace {

using kairos::sdk::ProcessResult;
using kairos::sdk::TaskContext;

// The text a run works on: its own parameters win over the job's.
QString runInput(TaskContext &ctx)
{
    return !ctx.instanceParams().isEmpty() ? ctx.instanceParams() : ctx.jobParams();
}

class Greet final : public kairos::sdk::Processor {
public:
    ProcessResult process(TaskContext &ctx) override
    {
        QString who = ctx.config().value(QLatin1String("who")).toString().trimmed();
        if (who.isEmpty())
            who = runInput(ctx).trimmed();
        if (who.isEmpty())
            who = QStringLiteral("world");
        const QString greeting = QStringLiteral("Hello, %1!").arg(who);
        ctx.log().info(greeting); // lands in `kairosctl instance logs`
        return ProcessResult::ok(greeting);
    }
};

class WordCount final : public kairos::sdk::MapReduceProcessor {
public:
    ProcessResult process(TaskContext &ctx) override
    {
        if (ctx.role() == kairos::sdk::TaskRole::Subtask) {
            // One line: the item the root mapped.
            const QString line = QString::fromUtf8(ctx.payload());
            static const QRegularExpression space(QStringLiteral("\\s+"));
            return ProcessResult::ok(QString::number(line.split(space, Qt::SkipEmptyParts).size()));
        }
        // The root. Map deterministically (same input, same items in the same order): a root
        // that runs again after a failover must not create its subtasks twice.
        QList<QByteArray> lines;
        const QStringList input = runInput(ctx).split(QLatin1Char('\n'));
        for (const QString &line : input) {
            if (!line.trimmed().isEmpty())
                lines << line.toUtf8();
        }
        QString error;
        if (!ctx.map(lines, QStringLiteral("line"), &error))
            return ProcessResult::failed(error);
        return ProcessResult::ok(QStringLiteral("%1 lines").arg(lines.size()));
    }

    ProcessResult reduce(TaskContext &ctx, kairos::sdk::ResultReader &results) override
    {
        qint64 words = 0;
        qint64 lines = 0;
        kairos::sdk::SubtaskResult r;
        while (results.next(r)) {
            if (!r.success)
                return ProcessResult::failed(
                    QStringLiteral("line task %1 failed: %2").arg(r.taskId).arg(r.result));
            words += r.result.toLongLong();
            ++lines;
        }
        // next() also returns false when paging failed or the run was canceled.
        if (!results.error().isEmpty())
            return ProcessResult::failed(results.error());
        const QString summary = QStringLiteral("%1 words in %2 lines").arg(words).arg(lines);
        ctx.log().info(summary);
        return ProcessResult::ok(summary);
    }
};

} // namespace

// The plugin's root object: lists the processors, each with a factory. The names must include
// every processor of PROCESSORS in CMakeLists.txt (a worker refuses to load it otherwise).
class HelloContainer : public QObject, public kairos::sdk::Container {
    Q_OBJECT
    Q_PLUGIN_METADATA(IID KAIROS_CONTAINER_IID FILE "kairos-container.json")
    Q_INTERFACES(kairos::sdk::Container)

public:
    QList<kairos::sdk::ProcessorEntry> processors() const override
    {
        return {
            {QStringLiteral("greet"), QStringLiteral("Says hello to whoever the job names"),
             [] { return std::make_unique<Greet>(); }},
            {QStringLiteral("wordcount"),
             QStringLiteral("Counts the words of the instance parameters, one subtask per line"),
             [] { return std::make_unique<WordCount>(); }}};
    }
};

#include "hello_container.moc"
