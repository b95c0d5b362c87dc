#pragma once
// The Kairos processor SDK: what a processor author compiles against — the built-in processors
// now, container plugins later (issue 5) through the same API. Header-only, Qt Core only, no
// other Kairos header: a container is built against this file alone.
//
// A processor is a class with one job: turn one task into one result. Kairos creates a fresh
// processor object for every task run (so members need no locking), calls it on a worker thread
// from the worker's task pool (never the worker's event loop: blocking calls are fine), and
// reports what it returns. Four shapes, one per execution mode of a job:
//
//   STANDALONE   Processor::process, once per run.
//   BROADCAST    BroadcastProcessor: preProcess once (on one worker) before the fan-out,
//                process once on every worker that was alive at dispatch, postProcess once
//                (on one worker) after every worker's task has ended, with all their results.
//   MAP          MapProcessor: process runs first as the root task (context.role() == Root);
//                it calls context.map(items, name) to create subtasks, each of which runs
//                process again (role Subtask, the item in context.payload()) and may map
//                further. At-least-once: a subtask whose worker dies runs again elsewhere
//                (context.taskAttempt() tells which run this is).
//   MAP_REDUCE   MapReduceProcessor: like MAP, then reduce once with every subtask's result,
//                each exactly once even when a subtask ran twice.
//
// Example (a map-reduce that sums 1..1000; see docs/sdk.md for the full walk-through):
//
//   class SumTo1000 : public kairos::sdk::MapReduceProcessor {
//   public:
//       kairos::sdk::ProcessResult process(kairos::sdk::TaskContext &ctx) override {
//           if (ctx.role() == kairos::sdk::TaskRole::Root) {
//               QList<QByteArray> items;
//               for (int i = 1; i <= 1000; ++i)
//                   items << QByteArray::number(i);
//               QString error;
//               if (!ctx.map(items, QStringLiteral("number"), &error))
//                   return kairos::sdk::ProcessResult::failed(error);
//               return kairos::sdk::ProcessResult::ok();
//           }
//           return kairos::sdk::ProcessResult::ok(QString::fromLatin1(ctx.payload()));
//       }
//       kairos::sdk::ProcessResult reduce(kairos::sdk::TaskContext &ctx,
//                                         kairos::sdk::ResultReader &results) override {
//           qint64 sum = 0;
//           kairos::sdk::SubtaskResult r;
//           while (results.next(r))
//               sum += r.result.toLongLong();
//           if (!results.error().isEmpty())
//               return kairos::sdk::ProcessResult::failed(results.error());
//           ctx.log().info(QStringLiteral("sum is %1").arg(sum));
//           return kairos::sdk::ProcessResult::ok(QString::number(sum));
//       }
//   };

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>

#include <functional>
#include <memory>
#include <utility>

namespace kairos::sdk {

// The same names and meaning as the engine's TaskRole.
enum class TaskRole { Standalone, Root, Subtask, Reduce, PreProcess, Broadcast, PostProcess };

// What a run returns. The message is stored as the task's result (shown in kairosctl and the
// console; a reduce's or postProcess's result becomes the instance's result); keep it short
// (Kairos keeps the first 64 KiB).
struct ProcessResult {
    bool success = true;
    QString message;
    static ProcessResult ok(QString message = {}) { return {true, std::move(message)}; }
    static ProcessResult failed(QString message) { return {false, std::move(message)}; }
};

// One finished task as a reduce or a postProcess sees it.
struct SubtaskResult {
    qint64 taskId = 0;
    QString name; // the map name (Subtask) or "broadcast"
    bool success = false;
    QString status;  // SUCCEEDED, FAILED, TIMED_OUT or CANCELED
    QString result;  // the task's result text, or why it failed
    QString worker;  // id of the worker of its last run
    QString address; // that worker's address
    int runs = 1;    // how many times it ran
};

// Log lines land in the instance's log (kairosctl instance logs, the console), tagged with the
// task id. Thread-safe.
class Logger {
public:
    virtual ~Logger() = default;
    virtual void info(const QString &text) = 0;
    virtual void warn(const QString &text) = 0;
    virtual void error(const QString &text) = 0;
};

// The results a reduce reads, in task id order, each finished subtask exactly once. next()
// blocks while the next page is fetched from the server (pages of a few thousand results, so a
// million subtasks never sit in memory at once). It returns false at the end, or on an error
// (the connection to the server was lost, the run was canceled): check error() afterwards.
class ResultReader {
public:
    virtual ~ResultReader() = default;
    virtual bool next(SubtaskResult &out) = 0;
    virtual QString error() const = 0;
};

// Everything a run may know and do. Valid during the call it is passed to; do not keep it.
class TaskContext {
public:
    virtual ~TaskContext() = default;

    virtual qint64 instanceId() const = 0;
    virtual int instanceAttempt() const = 0; // the run of the whole instance (retries: 2, 3...)
    virtual qint64 taskId() const = 0;       // 0 for a standalone run
    virtual QString taskName() const = 0;
    virtual int taskAttempt() const = 0; // which run of this task: > 1 after a failover/retry
    virtual TaskRole role() const = 0;
    virtual QString jobName() const = 0;
    virtual QString jobParams() const = 0;      // the job's parameters
    virtual QString instanceParams() const = 0; // this run's parameters
    virtual QJsonObject config() const = 0;     // the job's processor config
    virtual QByteArray payload() const = 0;     // Subtask: the item it was mapped with
    virtual Logger &log() = 0;
    // True once the run was canceled or timed out: return soon; the result is ignored.
    virtual bool isCanceled() const = 0;

    // MAP / MAP_REDUCE only, from the root or any subtask (so maps can be recursive): stores
    // every item as a subtask named `name` and returns true once the server has stored them
    // durably (large lists are sent in several batches). On false, `error` (if given) says why:
    // not a map job, the run was canceled or superseded, the server refused the items. Mapping
    // the same items again in a later run of the same task does not create them twice: the
    // server counts items per task by position, so map deterministically.
    virtual bool map(const QList<QByteArray> &items, const QString &name,
                     QString *error = nullptr) = 0;
};

class Processor {
public:
    virtual ~Processor() = default;
    virtual ProcessResult process(TaskContext &context) = 0;
};

class BroadcastProcessor : public Processor {
public:
    // Once, before any worker's process(). A failure ends the run before the fan-out.
    virtual ProcessResult preProcess(TaskContext &context)
    {
        (void)context;
        return ProcessResult::ok();
    }
    // Once, after every worker's task has ended, with one result per worker (failed ones too:
    // a worker that died is there as FAILED "worker lost"). Its result becomes the instance's
    // result; the instance succeeds only when every worker's task and this succeeded.
    virtual ProcessResult postProcess(TaskContext &context, const QList<SubtaskResult> &results)
    {
        (void)context;
        int ok = 0;
        for (const SubtaskResult &r : results)
            ok += r.success ? 1 : 0;
        const QString summary =
            QStringLiteral("%1 of %2 workers succeeded").arg(ok).arg(results.size());
        return ok == results.size() ? ProcessResult::ok(summary) : ProcessResult::failed(summary);
    }
};

class MapProcessor : public Processor {};

class MapReduceProcessor : public MapProcessor {
public:
    // Once, after every subtask has ended (failed ones included, with success == false).
    virtual ProcessResult reduce(TaskContext &context, ResultReader &results) = 0;
};

// How a processor is found: a name and a factory that makes one object per task run.
struct ProcessorEntry {
    QString name;
    QString description;
    std::function<std::unique_ptr<Processor>()> create;
};

} // namespace kairos::sdk
