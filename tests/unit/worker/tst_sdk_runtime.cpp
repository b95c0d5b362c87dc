// SDK processors as the worker runs them: through a TaskRunner, with the server's side of the
// calls played by the test. Each role reaches the right method with the right context; map()
// leaves in chunks with the right positions and returns what the server said; a reduce reads a
// paged result set exactly once; cancel and timeout unblock a waiting processor at once; a throw
// fails the run; and builtin#range-sum runs end to end against a small in-test "server" that
// stores mapped items, dispatches them, and pages their results back.
#include <worker/builtin_processors.h>
#include <worker/sdk_processor_run.h>
#include <worker/task_runner.h>
#include <worker/wire.h>

#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>

#include <mutex>
#include <optional>
#include <stdexcept>

using namespace kairos;

namespace {

// --- what the test processors saw, readable from the test thread ------------------------------

struct MapOutcome {
    bool returned = false;
    bool ok = false;
    QString error;
    bool canceledAfter = false;
};

std::mutex g_mutex;
MapOutcome g_map;

void resetOutcome()
{
    const std::lock_guard lock(g_mutex);
    g_map = {};
}

MapOutcome mapOutcome()
{
    const std::lock_guard lock(g_mutex);
    return g_map;
}

QString roleText(sdk::TaskRole role)
{
    static const QStringList names{"Standalone", "Root",      "Subtask",    "Reduce",
                                   "PreProcess", "Broadcast", "PostProcess"};
    return names.value(static_cast<int>(role));
}

// A MapReduceProcessor whose process() does what config "do" says.
class TestProcessor final : public sdk::MapReduceProcessor {
public:
    sdk::ProcessResult process(sdk::TaskContext &ctx) override
    {
        const QString what = ctx.config().value("do").toString();
        if (what == "throw")
            throw std::runtime_error("boom");
        if (what == "throwInt")
            throw 42;
        if (what == "log") {
            ctx.log().info("to stdout");
            ctx.log().warn("a warning");
            ctx.log().error("an error");
            return sdk::ProcessResult::ok(QString(100000, QLatin1Char('x')));
        }
        if (what == "map") {
            // config "a": items named "a" in one map() call, then "b" items named "b".
            QList<QByteArray> a;
            for (int i = 0; i < ctx.config().value("a").toInt(); ++i)
                a << QByteArray::number(i);
            QList<QByteArray> b;
            for (int i = 0; i < ctx.config().value("b").toInt(); ++i)
                b << "b" + QByteArray::number(i);
            QString error;
            bool ok = ctx.map(a, "a", &error);
            if (ok && !b.isEmpty())
                ok = ctx.map(b, "b", &error);
            {
                const std::lock_guard lock(g_mutex);
                g_map = {true, ok, error, ctx.isCanceled()};
            }
            return ok ? sdk::ProcessResult::ok("mapped") : sdk::ProcessResult::failed(error);
        }
        if (what == "spin") {
            // Runs until canceled: a processor busy in its own work.
            while (!ctx.isCanceled())
                QThread::msleep(1);
            return sdk::ProcessResult::ok("noticed the cancel");
        }
        QString error;
        const bool mapped = ctx.map({}, "nothing", &error); // an empty map is a no-op
        return sdk::ProcessResult::ok(
            QStringLiteral("process role=%1 instance=%2/%3 task=%4 name=%5 run=%6 job=%7 jp=%8 "
                           "ip=%9 payload=%10 cfg=%11 emptyMap=%12")
                .arg(roleText(ctx.role()))
                .arg(ctx.instanceId())
                .arg(ctx.instanceAttempt())
                .arg(ctx.taskId())
                .arg(ctx.taskName())
                .arg(ctx.taskAttempt())
                .arg(ctx.jobName(), ctx.jobParams(), ctx.instanceParams(),
                     QString::fromUtf8(ctx.payload()),
                     QString::fromUtf8(QJsonDocument(ctx.config()).toJson(QJsonDocument::Compact)))
                .arg(mapped ? QStringLiteral("ok") : error));
    }

    sdk::ProcessResult reduce(sdk::TaskContext &ctx, sdk::ResultReader &results) override
    {
        qint64 read = 0;
        qint64 failed = 0;
        qint64 sum = 0;
        qint64 last = 0;
        sdk::SubtaskResult r;
        while (results.next(r)) {
            if (r.taskId <= last)
                return sdk::ProcessResult::failed(
                    QStringLiteral("task %1 after %2").arg(r.taskId).arg(last));
            last = r.taskId;
            ++read;
            failed += r.success ? 0 : 1;
            sum += r.taskId;
        }
        if (!results.error().isEmpty())
            return sdk::ProcessResult::failed("reduce: " + results.error());
        return sdk::ProcessResult::ok(QStringLiteral("reduce role=%1 read=%2 failed=%3 sum=%4")
                                          .arg(roleText(ctx.role()))
                                          .arg(read)
                                          .arg(failed)
                                          .arg(sum));
    }
};

class BroadcastProbe final : public sdk::BroadcastProcessor {
public:
    sdk::ProcessResult process(sdk::TaskContext &ctx) override
    {
        return sdk::ProcessResult::ok(QStringLiteral("broadcast task %1").arg(ctx.taskId()));
    }
    sdk::ProcessResult preProcess(sdk::TaskContext &ctx) override
    {
        return sdk::ProcessResult::ok("pre " + roleText(ctx.role()));
    }
    sdk::ProcessResult postProcess(sdk::TaskContext &ctx,
                                   const QList<sdk::SubtaskResult> &results) override
    {
        QStringList parts;
        for (const sdk::SubtaskResult &r : results)
            parts << QStringLiteral("%1:%2:%3:%4@%5:%6:%7")
                         .arg(r.taskId)
                         .arg(r.status, r.success ? "ok" : "bad", r.worker, r.address, r.result)
                         .arg(r.runs);
        return sdk::ProcessResult::ok("post " + roleText(ctx.role()) + " " + parts.join(' '));
    }
};

// Neither broadcast hooks nor map nor reduce.
class PlainProcessor final : public sdk::Processor {
public:
    sdk::ProcessResult process(sdk::TaskContext &) override { return sdk::ProcessResult::ok("p"); }
};

// The example of sdk.h's header comment and docs/sdk.md, verbatim (sdkExampleIsTrue checks
// that all three agree).
// clang-format off
class SumTo1000 : public kairos::sdk::MapReduceProcessor {
public:
    kairos::sdk::ProcessResult process(kairos::sdk::TaskContext &ctx) override {
        if (ctx.role() == kairos::sdk::TaskRole::Root) {
            QList<QByteArray> items;
            for (int i = 1; i <= 1000; ++i)
                items << QByteArray::number(i);
            QString error;
            if (!ctx.map(items, QStringLiteral("number"), &error))
                return kairos::sdk::ProcessResult::failed(error);
            return kairos::sdk::ProcessResult::ok();
        }
        return kairos::sdk::ProcessResult::ok(QString::fromLatin1(ctx.payload()));
    }
    kairos::sdk::ProcessResult reduce(kairos::sdk::TaskContext &ctx,
                                      kairos::sdk::ResultReader &results) override {
        qint64 sum = 0;
        kairos::sdk::SubtaskResult r;
        while (results.next(r))
            sum += r.result.toLongLong();
        if (!results.error().isEmpty())
            return kairos::sdk::ProcessResult::failed(results.error());
        ctx.log().info(QStringLiteral("sum is %1").arg(sum));
        return kairos::sdk::ProcessResult::ok(QString::number(sum));
    }
};
// clang-format on

// The example's code as sdk.h's header comment shows it, without the comment markers.
QString exampleFromSdkHeader()
{
    QFile f(QStringLiteral(KAIROS_SOURCE_DIR "/engine/sdk/kairos/sdk.h"));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QStringList lines;
    bool inside = false;
    for (const QString &line : QString::fromUtf8(f.readAll()).split('\n')) {
        if (line.startsWith("//   class SumTo1000"))
            inside = true;
        if (inside)
            lines << line.mid(5); // "//   "
        if (inside && line == "//   };")
            break;
    }
    return lines.join('\n');
}

QString fileText(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

Result<sdk::ProcessorEntry> resolveTestProcessor(const QString &ref)
{
    if (ref == "test#sum")
        return sdk::ProcessorEntry{ref, {}, [] { return std::make_unique<SumTo1000>(); }};
    if (ref == "test#mr")
        return sdk::ProcessorEntry{ref, {}, [] { return std::make_unique<TestProcessor>(); }};
    if (ref == "test#bc")
        return sdk::ProcessorEntry{ref, {}, [] { return std::make_unique<BroadcastProbe>(); }};
    if (ref == "test#plain")
        return sdk::ProcessorEntry{ref, {}, [] { return std::make_unique<PlainProcessor>(); }};
    return makeError("no test processor " + ref);
}

TaskSpec sdkSpec(TaskRole role, ExecutionMode mode, const QJsonObject &config,
                 const QString &ref = "test#mr", qint64 taskId = 1)
{
    TaskSpec s;
    s.instanceId = 7;
    s.attempt = 2;
    s.taskId = taskId;
    s.taskAttempt = 1;
    s.jobName = "sdk-job";
    s.mode = mode;
    s.role = role;
    s.processor = ProcessorKind::Container;
    QJsonObject c = config;
    c.insert("ref", ref);
    s.config = c;
    return s;
}

// A runner with the test processors, what it emitted, and the server's side of calls: `policy`
// answers a call (nullopt: never). Replies go back on a later turn, as over a connection.
class Harness : public QObject {
public:
    using Policy = std::function<std::optional<TaskCallReply>(const TaskCall &)>;

    explicit Harness(int capacity = 4)
    {
        runner.setCapacity(capacity);
        runner.setSdkProcessorResolver(resolveTestProcessor);
        connect(&runner, &TaskRunner::reports, this, [this](const QList<TaskReport> &b) {
            for (const TaskReport &r : b) {
                if (isTerminal(r.status))
                    callsBeforeTerminal.insert(r.taskId, calls.size());
            }
            reports += b;
        });
        connect(&runner, &TaskRunner::logs, this, [this](const QList<LogLine> &b) { logs += b; });
        connect(&runner, &TaskRunner::calls, this, [this](const QList<TaskCall> &b) {
            ++callEmissions;
            QList<TaskCallReply> replies;
            for (const TaskCall &c : b) {
                calls << c;
                ++outstanding[c.key.taskId];
                maxOutstanding = std::max(maxOutstanding, outstanding[c.key.taskId]);
                if (!policy)
                    continue;
                if (std::optional<TaskCallReply> reply = policy(c)) {
                    reply->callId = c.callId;
                    replies << *reply;
                }
            }
            if (replies.isEmpty())
                return;
            QMetaObject::invokeMethod(
                this,
                [this, replies] {
                    for (const TaskCallReply &r : replies) {
                        for (const TaskCall &c : std::as_const(calls)) {
                            if (c.callId == r.callId)
                                --outstanding[c.key.taskId];
                        }
                    }
                    runner.answer(replies);
                },
                Qt::QueuedConnection);
        });
    }

    std::optional<TaskReport> terminal(qint64 taskId, int taskAttempt = 1) const
    {
        for (const TaskReport &r : reports) {
            if (r.taskId == taskId && r.taskAttempt == taskAttempt && isTerminal(r.status))
                return r;
        }
        return std::nullopt;
    }
    QString outcome(qint64 taskId, int taskAttempt = 1) const
    {
        const auto r = terminal(taskId, taskAttempt);
        return r ? toString(r->status) + ' ' + r->result : QString();
    }

    TaskRunner runner;
    Policy policy;
    QList<TaskReport> reports;
    QList<LogLine> logs;
    QList<TaskCall> calls;
    QHash<qint64, qsizetype> callsBeforeTerminal;
    QHash<qint64, int> outstanding;
    int maxOutstanding = 0;
    int callEmissions = 0;
};

TaskCallReply ok()
{
    return TaskCallReply{};
}

// Results pages from a list sorted by task id; `overlap` repeats the entry at afterTaskId, as a
// careless server might.
TaskCallReply page(const QList<TaskResultEntry> &all, const TaskCall &c, bool overlap = false)
{
    TaskCallReply reply;
    qsizetype i = 0;
    while (i < all.size()
           && (overlap ? all[i].taskId < c.afterTaskId : all[i].taskId <= c.afterTaskId))
        ++i;
    while (i < all.size() && reply.results.size() < c.limit)
        reply.results << all[i++];
    reply.end = i == all.size();
    return reply;
}

QList<TaskResultEntry> storedResults(int n)
{
    QList<TaskResultEntry> all;
    for (int id = 1; id <= n; ++id) {
        TaskResultEntry e;
        e.taskId = id;
        e.name = "a";
        e.status = id % 1000 == 0 ? InstanceStatus::Failed : InstanceStatus::Succeeded;
        e.result = QString::number(id);
        e.worker = "w1";
        e.address = "10.0.0.1";
        all << e;
    }
    return all;
}

// --- a small server for builtin#range-sum -------------------------------------------------------

// Plays the task tracker for one MAP_REDUCE run: stores mapped items as tasks (skipping positions
// a task already stored, refusing gaps), dispatches them to the runner, and when the root and
// every task have ended, dispatches the reduce and pages the results to it.
class MiniServer : public QObject {
    Q_OBJECT
public:
    struct Task {
        qint64 id = 0;
        qint64 parent = 0;
        QString name;
        QByteArray payload;
        TaskRole role = TaskRole::Subtask;
        InstanceStatus status = InstanceStatus::Dispatched;
        QString result;
        int runs = 1;
    };

    MiniServer(TaskRunner &runner, const QJsonObject &config, ExecutionMode mode)
        : m_runner(runner)
        , m_mode(mode)
    {
        m_base.instanceId = 31;
        m_base.attempt = 1;
        m_base.jobName = "range-sum";
        m_base.mode = mode;
        m_base.processor = ProcessorKind::Container;
        m_base.config = config;
        connect(&runner, &TaskRunner::calls, this, &MiniServer::onCalls);
        connect(&runner, &TaskRunner::reports, this, &MiniServer::onReports);
    }

    // Re-runs the root once after its first run succeeded (what a failover does).
    bool rerunRoot = false;
    // Store every mapped item, also at positions already stored (a broken server).
    bool dedupe = true;
    // Answer OK but never store numbers that are multiples of this (a broken server); 0 = off.
    int loseMultiplesOf = 0;

    void start() { dispatch(addTask(0, "root", {}, TaskRole::Root), 1); }

    QString outcome() const { return m_outcome; }
    qsizetype taskCount() const { return m_tasks.size(); }
    int mapCalls = 0;
    int resultCalls = 0;
    QStringList refused;

signals:
    void finished();

private:
    qint64 addTask(qint64 parent, const QString &name, const QByteArray &payload, TaskRole role)
    {
        Task t;
        t.id = m_tasks.size() + 1;
        t.parent = parent;
        t.name = name;
        t.payload = payload;
        t.role = role;
        m_tasks << t;
        return t.id;
    }

    void dispatch(qint64 id, int run)
    {
        Task &t = m_tasks[id - 1];
        t.status = InstanceStatus::Dispatched;
        t.runs = run;
        TaskSpec s = m_base;
        s.taskId = id;
        s.taskAttempt = run;
        s.role = t.role;
        s.taskName = t.name;
        s.payload = t.payload;
        ++m_undone;
        QVERIFY(m_runner.submit(s));
    }

    void onCalls(const QList<TaskCall> &calls)
    {
        QList<TaskCallReply> replies;
        for (const TaskCall &c : calls) {
            TaskCallReply reply;
            reply.callId = c.callId;
            const qint64 parent = c.key.taskId;
            if (c.op == TaskCall::Op::Map) {
                ++mapCalls;
                qint64 &stored = m_storedPositions[parent];
                if (c.from > stored) {
                    reply.error = QStringLiteral("gap: task %1 mapped from %2 but %3 are stored")
                                      .arg(parent)
                                      .arg(c.from)
                                      .arg(stored);
                    refused << reply.error;
                } else {
                    for (qsizetype i = 0; i < c.items.size(); ++i) {
                        if (dedupe && c.from + i < stored)
                            continue; // a re-run mapping the same items again
                        if (loseMultiplesOf > 0 && c.name == "number"
                            && c.items[i].toLongLong() % loseMultiplesOf == 0)
                            continue;
                        dispatch(addTask(parent, c.name, c.items[i], TaskRole::Subtask), 1);
                    }
                    stored = std::max(stored, c.from + c.items.size());
                }
            } else {
                ++resultCalls;
                for (const Task &t : std::as_const(m_tasks)) {
                    if (t.id <= c.afterTaskId || t.role != TaskRole::Subtask)
                        continue;
                    if (reply.results.size() == c.limit)
                        break;
                    reply.results << TaskResultEntry{t.id,     t.name,      t.status, t.result,
                                                     "w-test", "127.0.0.1", t.runs};
                }
                reply.end =
                    reply.results.isEmpty() || reply.results.last().taskId >= lastSubtaskId();
            }
            replies << reply;
        }
        QMetaObject::invokeMethod(
            this, [this, replies] { m_runner.answer(replies); }, Qt::QueuedConnection);
    }

    qint64 lastSubtaskId() const
    {
        for (qsizetype i = m_tasks.size() - 1; i >= 0; --i) {
            if (m_tasks[i].role == TaskRole::Subtask)
                return m_tasks[i].id;
        }
        return 0;
    }

    void onReports(const QList<TaskReport> &reports)
    {
        for (const TaskReport &r : reports) {
            if (!isTerminal(r.status))
                continue;
            Task &t = m_tasks[r.taskId - 1];
            if (r.taskAttempt != t.runs)
                continue; // a report of a superseded run
            t.status = r.status;
            t.result = r.result;
            --m_undone;
            if (t.role == TaskRole::Reduce) {
                m_outcome = toString(r.status) + ' ' + r.result;
                emit finished();
                return;
            }
            if (t.role == TaskRole::Root && rerunRoot && t.runs == 1
                && r.status == InstanceStatus::Succeeded) {
                // Mapped positions are per task: the second run starts counting at 0 again.
                dispatch(t.id, 2);
            }
        }
        if (m_undone == 0 && !m_reduceStarted) {
            m_reduceStarted = true;
            if (m_mode == ExecutionMode::MapReduce) {
                dispatch(addTask(0, "reduce", {}, TaskRole::Reduce), 1);
            } else {
                int failed = 0;
                for (const Task &t : std::as_const(m_tasks))
                    failed += t.status == InstanceStatus::Succeeded ? 0 : 1;
                m_outcome =
                    QStringLiteral("MAP %1 tasks, %2 failed").arg(m_tasks.size()).arg(failed);
                emit finished();
            }
        }
    }

    TaskRunner &m_runner;
    ExecutionMode m_mode;
    TaskSpec m_base;
    QList<Task> m_tasks;                     // index = id - 1
    QHash<qint64, qint64> m_storedPositions; // parent -> positions stored
    qint64 m_undone = 0;
    bool m_reduceStarted = false;
    QString m_outcome;
};

} // namespace

class TstSdkRuntime : public QObject {
    Q_OBJECT
private slots:
    void init() { resetOutcome(); }

    void rolesPickTheMethod_data();
    void rolesPickTheMethod();
    void mapSendsChunksWithPositions();
    void mapErrorReachesTheProcessor();
    void mapOutsideMapTasksFails_data();
    void mapOutsideMapTasksFails();
    void reducePagesThroughResults_data();
    void reducePagesThroughResults();
    void reduceReadErrorFailsTheRun();
    void reduceWithoutReduceFails();
    void exceptionsFailTheRun_data();
    void exceptionsFailTheRun();
    void loggerLinesAreTaggedAndComeFirst();
    void resultIsCutTo64KiB();
    void cancelDuringBlockedMapReturnsPromptly();
    void timeoutWhileWaitingForResults();
    void cancelReachesABusyProcessor();
    void destroyingRunnerWithBlockedProcessorIsPrompt();
    void unknownRefsFailClearly_data();
    void unknownRefsFailClearly();
    void rangeSumEndToEnd_data();
    void rangeSumEndToEnd();
    void rangeSumReduceFileListsEveryNumberOnce();
    void sdkExampleIsTrue();
};

void TstSdkRuntime::rolesPickTheMethod_data()
{
    QTest::addColumn<TaskSpec>("task");
    QTest::addColumn<QString>("outcome");

    TaskSpec standalone = sdkSpec(TaskRole::Standalone, ExecutionMode::Standalone, {});
    standalone.taskId = 0;
    standalone.jobParams = "J";
    standalone.instanceParams = "I";
    QTest::newRow("standalone -> process")
        << standalone
        << "SUCCEEDED process role=Standalone instance=7/2 task=0 name= run=1 job=sdk-job jp=J "
           "ip=I payload= cfg={\"ref\":\"test#mr\"} emptyMap=map() needs a MAP or MAP_REDUCE "
           "job; this job is STANDALONE";

    TaskSpec sub = sdkSpec(TaskRole::Subtask, ExecutionMode::Map, {{"k", 1}}, "test#mr", 12);
    sub.taskName = "part";
    sub.taskAttempt = 3;
    sub.payload = "item-5";
    QTest::newRow("subtask -> process with payload and run number")
        << sub
        << "SUCCEEDED process role=Subtask instance=7/2 task=12 name=part run=3 job=sdk-job jp= "
           "ip= payload=item-5 cfg={\"k\":1,\"ref\":\"test#mr\"} emptyMap=ok";

    TaskSpec bc = sdkSpec(TaskRole::Broadcast, ExecutionMode::Broadcast, {}, "test#bc", 4);
    QTest::newRow("broadcast -> process") << bc << "SUCCEEDED broadcast task 4";
    QTest::newRow("preProcess -> preProcess")
        << sdkSpec(TaskRole::PreProcess, ExecutionMode::Broadcast, {}, "test#bc")
        << "SUCCEEDED pre PreProcess";

    TaskSpec post = sdkSpec(TaskRole::PostProcess, ExecutionMode::Broadcast, {}, "test#bc", 5);
    post.results = {
        TaskResultEntry{2, "broadcast", InstanceStatus::Succeeded, "fine", "w1", "10.0.0.1", 1},
        TaskResultEntry{3, "broadcast", InstanceStatus::Failed, "worker lost: gone", "w2",
                        "10.0.0.2", 2}};
    QTest::newRow("postProcess -> postProcess with every result")
        << post
        << "SUCCEEDED post PostProcess 2:SUCCEEDED:ok:w1@10.0.0.1:fine:1 "
           "3:FAILED:bad:w2@10.0.0.2:worker lost: gone:2";

    // Hooks of a processor that is not a BroadcastProcessor: the SDK's defaults.
    QTest::newRow("preProcess of a plain processor -> default")
        << sdkSpec(TaskRole::PreProcess, ExecutionMode::Broadcast, {}, "test#plain")
        << "SUCCEEDED ";
    TaskSpec plainPost = post;
    plainPost.config.insert("ref", "test#plain");
    QTest::newRow("postProcess of a plain processor -> default summary")
        << plainPost << "FAILED 1 of 2 workers succeeded";

    TaskSpec echo = sdkSpec(TaskRole::Broadcast, ExecutionMode::Broadcast, {{"message", "hello"}},
                            "builtin#echo");
    QTest::newRow("builtin#echo") << echo << "SUCCEEDED hello";
    TaskSpec echoParams =
        sdkSpec(TaskRole::Standalone, ExecutionMode::Standalone, {}, "builtin#echo", 0);
    echoParams.jobParams = "job params";
    QTest::newRow("builtin#echo without message echoes the params")
        << echoParams << "SUCCEEDED job params";
}

void TstSdkRuntime::rolesPickTheMethod()
{
    QFETCH(TaskSpec, task);
    QFETCH(QString, outcome);
    Harness h;
    QVERIFY(h.runner.submit(task));
    QTRY_VERIFY_WITH_TIMEOUT(h.terminal(task.taskId, task.taskAttempt).has_value(), 5000);
    QCOMPARE(h.outcome(task.taskId, task.taskAttempt), outcome);
    QCOMPARE(toString(h.reports.first().status), toString(InstanceStatus::Running));
    QCOMPARE(h.reports.last().taskAttempt, task.taskAttempt);
    QVERIFY(h.calls.isEmpty()); // an empty map() sends nothing
}

void TstSdkRuntime::mapSendsChunksWithPositions()
{
    Harness h;
    h.policy = [](const TaskCall &) { return ok(); };
    TaskSpec s =
        sdkSpec(TaskRole::Root, ExecutionMode::MapReduce, {{"do", "map"}, {"a", 25000}, {"b", 3}});
    s.taskAttempt = 2;
    QVERIFY(h.runner.submit(s));
    QTRY_VERIFY_WITH_TIMEOUT(h.terminal(1, 2).has_value(), 10000);
    QCOMPARE(h.outcome(1, 2), QStringLiteral("SUCCEEDED mapped"));

    QStringList shape;
    QSet<quint64> ids;
    for (const TaskCall &c : std::as_const(h.calls)) {
        QVERIFY(c.op == TaskCall::Op::Map);
        QCOMPARE(c.key, taskKeyOf(s)); // the run that asks, with its run number
        QVERIFY(c.callId != 0);
        ids.insert(c.callId);
        shape << QStringLiteral("%1@%2+%3").arg(c.name).arg(c.from).arg(c.items.size());
    }
    QCOMPARE(ids.size(), h.calls.size());
    // Chunks of at most wire::kMaxMapItems; positions count everything the run mapped.
    QCOMPARE(shape, (QStringList{"a@0+10000", "a@10000+10000", "a@20000+5000", "b@25000+3"}));
    QCOMPARE(h.calls[0].items.first(), QByteArray("0"));
    QCOMPARE(h.calls[2].items.last(), QByteArray("24999"));
    QCOMPARE(h.calls[3].items, (QList<QByteArray>{"b0", "b1", "b2"}));
    QVERIFY(h.maxOutstanding <= SdkProcessorRun::kMapWindow);
    QCOMPARE(h.callsBeforeTerminal.value(1), h.calls.size()); // calls left before the result
    const MapOutcome m = mapOutcome();
    QVERIFY(m.returned && m.ok);
}

void TstSdkRuntime::mapErrorReachesTheProcessor()
{
    Harness h;
    // The server stores the first chunk and refuses the second.
    h.policy = [](const TaskCall &c) {
        TaskCallReply r;
        if (c.from > 0)
            r.error = "task 1: the items could not be stored: disk full";
        return std::optional<TaskCallReply>(r);
    };
    QVERIFY(h.runner.submit(
        sdkSpec(TaskRole::Root, ExecutionMode::Map, {{"do", "map"}, {"a", 15000}, {"b", 5}})));
    QTRY_VERIFY_WITH_TIMEOUT(h.terminal(1).has_value(), 10000);
    QCOMPARE(h.outcome(1),
             QStringLiteral("FAILED task 1: the items could not be stored: disk full"));
    QCOMPARE(h.calls.size(), 2); // map() stopped there: "b" was never sent
    const MapOutcome m = mapOutcome();
    QVERIFY(m.returned && !m.ok);
}

void TstSdkRuntime::mapOutsideMapTasksFails_data()
{
    QTest::addColumn<TaskSpec>("task");
    QTest::addColumn<QString>("outcome");
    const QJsonObject cfg{{"do", "map"}, {"a", 3}};
    QTest::newRow("broadcast job")
        << sdkSpec(TaskRole::Broadcast, ExecutionMode::Broadcast, cfg)
        << "FAILED map() needs a MAP or MAP_REDUCE job; this job is BROADCAST";
    QTest::newRow("standalone job")
        << sdkSpec(TaskRole::Standalone, ExecutionMode::Standalone, cfg)
        << "FAILED map() needs a MAP or MAP_REDUCE job; this job is STANDALONE";
    QTest::newRow("a post-process task of a map job")
        << sdkSpec(TaskRole::PostProcess, ExecutionMode::MapReduce, cfg)
        << "SUCCEEDED 0 of 0 workers succeeded";
}

void TstSdkRuntime::mapOutsideMapTasksFails()
{
    QFETCH(TaskSpec, task);
    QFETCH(QString, outcome);
    Harness h;
    h.policy = [](const TaskCall &) { return ok(); };
    QVERIFY(h.runner.submit(task));
    QTRY_VERIFY_WITH_TIMEOUT(h.terminal(task.taskId).has_value(), 5000);
    QCOMPARE(h.outcome(task.taskId), outcome);
    QVERIFY(h.calls.isEmpty());
}

void TstSdkRuntime::reducePagesThroughResults_data()
{
    QTest::addColumn<bool>("overlap");
    QTest::newRow("pages after the last id") << false;
    QTest::newRow("pages that repeat the last id") << true;
}

void TstSdkRuntime::reducePagesThroughResults()
{
    QFETCH(bool, overlap);
    constexpr int kResults = 25000;
    const QList<TaskResultEntry> all = storedResults(kResults);
    Harness h;
    h.policy = [&all, overlap](const TaskCall &c) {
        return std::optional<TaskCallReply>(page(all, c, overlap));
    };
    QVERIFY(h.runner.submit(
        sdkSpec(TaskRole::Reduce, ExecutionMode::MapReduce, {}, "test#mr", kResults + 1)));
    QTRY_VERIFY_WITH_TIMEOUT(h.terminal(kResults + 1).has_value(), 10000);
    const qint64 sum = qint64(kResults) * (kResults + 1) / 2;
    QCOMPARE(h.outcome(kResults + 1),
             QStringLiteral("SUCCEEDED reduce role=Reduce read=25000 failed=25 sum=%1").arg(sum));

    QList<qint64> after;
    for (const TaskCall &c : std::as_const(h.calls)) {
        QVERIFY(c.op == TaskCall::Op::Results);
        QCOMPARE(c.limit, SdkProcessorRun::kResultsPageSize);
        QVERIFY(c.limit <= wire::kMaxResultsPage);
        after << c.afterTaskId;
    }
    if (!overlap) {
        // Each page asked for once, after the last id of the page before.
        QCOMPARE(after, (QList<qint64>{0, 4096, 8192, 12288, 16384, 20480, 24576}));
    } else {
        QCOMPARE(after.first(), 0);
        QVERIFY(std::is_sorted(after.begin(), after.end()));
    }
    QCOMPARE(h.maxOutstanding, 1); // one page in flight while the one before is read
}

void TstSdkRuntime::reduceReadErrorFailsTheRun()
{
    const QList<TaskResultEntry> all = storedResults(10000);
    Harness h;
    h.policy = [&all](const TaskCall &c) {
        if (c.afterTaskId >= 4096) {
            TaskCallReply r;
            r.error = "the connection to the server was lost";
            return std::optional<TaskCallReply>(r);
        }
        return std::optional<TaskCallReply>(page(all, c));
    };
    QVERIFY(h.runner.submit(sdkSpec(TaskRole::Reduce, ExecutionMode::MapReduce, {})));
    QTRY_VERIFY_WITH_TIMEOUT(h.terminal(1).has_value(), 10000);
    QCOMPARE(h.outcome(1), QStringLiteral("FAILED reduce: the connection to the server was lost"));
}

void TstSdkRuntime::reduceWithoutReduceFails()
{
    Harness h;
    QVERIFY(h.runner.submit(sdkSpec(TaskRole::Reduce, ExecutionMode::MapReduce, {}, "test#bc")));
    QTRY_VERIFY_WITH_TIMEOUT(h.terminal(1).has_value(), 5000);
    QCOMPARE(h.outcome(1), QStringLiteral("FAILED test#bc has no reduce: a MAP_REDUCE job needs "
                                          "an SDK MapReduceProcessor"));
}

void TstSdkRuntime::exceptionsFailTheRun_data()
{
    QTest::addColumn<QString>("what");
    QTest::addColumn<QString>("outcome");
    QTest::newRow("std::exception") << "throw"
                                    << "FAILED processor threw: boom";
    QTest::newRow("anything else")
        << "throwInt"
        << "FAILED processor threw an exception that is not a std::exception";
}

void TstSdkRuntime::exceptionsFailTheRun()
{
    QFETCH(QString, what);
    QFETCH(QString, outcome);
    Harness h;
    QVERIFY(
        h.runner.submit(sdkSpec(TaskRole::Standalone, ExecutionMode::Standalone, {{"do", what}})));
    QTRY_VERIFY_WITH_TIMEOUT(h.terminal(1).has_value(), 5000);
    QCOMPARE(h.outcome(1), outcome);
    // The worker goes on: the next run works.
    QVERIFY(
        h.runner.submit(sdkSpec(TaskRole::Broadcast, ExecutionMode::Broadcast, {}, "test#bc", 2)));
    QTRY_COMPARE_WITH_TIMEOUT(h.outcome(2), QStringLiteral("SUCCEEDED broadcast task 2"), 5000);
}

void TstSdkRuntime::loggerLinesAreTaggedAndComeFirst()
{
    Harness h;
    qsizetype logsAtTerminal = -1;
    connect(&h.runner, &TaskRunner::reports, &h, [&](const QList<TaskReport> &b) {
        for (const TaskReport &r : b) {
            if (isTerminal(r.status))
                logsAtTerminal = h.logs.size();
        }
    });
    QVERIFY(h.runner.submit(
        sdkSpec(TaskRole::Subtask, ExecutionMode::Map, {{"do", "log"}}, "test#mr", 9)));
    QTRY_VERIFY_WITH_TIMEOUT(h.terminal(9).has_value(), 5000);
    QCOMPARE(logsAtTerminal, 3);
    QStringList lines;
    for (const LogLine &l : std::as_const(h.logs)) {
        QCOMPARE(l.instanceId, 7);
        QCOMPARE(l.attempt, 2);
        QCOMPARE(l.taskId, 9);
        lines << toString(l.stream) + ' ' + l.text;
    }
    QCOMPARE(lines, (QStringList{toString(LogStream::Stdout) + " to stdout",
                                 toString(LogStream::Stderr) + " a warning",
                                 toString(LogStream::Stderr) + " an error"}));
}

void TstSdkRuntime::resultIsCutTo64KiB()
{
    Harness h;
    QVERIFY(
        h.runner.submit(sdkSpec(TaskRole::Standalone, ExecutionMode::Standalone, {{"do", "log"}})));
    QTRY_VERIFY_WITH_TIMEOUT(h.terminal(1).has_value(), 5000);
    QCOMPARE(h.terminal(1)->result.size(), 65536);
}

void TstSdkRuntime::cancelDuringBlockedMapReturnsPromptly()
{
    Harness h; // no policy: the server never answers
    TaskSpec blocked = sdkSpec(TaskRole::Root, ExecutionMode::Map, {{"do", "map"}, {"a", 5}});
    QVERIFY(h.runner.submit(blocked));
    QTRY_COMPARE_WITH_TIMEOUT(h.calls.size(), 1, 5000);
    QVERIFY(!mapOutcome().returned);

    QElapsedTimer clock;
    clock.start();
    h.runner.cancelTask(taskKeyOf(blocked), "canceled by alice");
    // The run ends at once; the processor's map() returns "canceled" right after.
    QCOMPARE(h.outcome(1), QString()); // reports leave on the next turn
    QTRY_COMPARE_WITH_TIMEOUT(h.outcome(1), QStringLiteral("CANCELED canceled by alice"), 2000);
    QTRY_VERIFY_WITH_TIMEOUT(mapOutcome().returned, 2000);
    QVERIFY2(clock.elapsed() < 1000, qPrintable(QString::number(clock.elapsed())));
    const MapOutcome m = mapOutcome();
    QVERIFY(!m.ok);
    QCOMPARE(m.error, QStringLiteral("canceled"));
    QVERIFY(m.canceledAfter);
    QCOMPARE(h.runner.runningCount(), 0);

    // A late reply to the abandoned call goes nowhere.
    h.runner.answer({TaskCallReply{h.calls.first().callId, {}, {}, false}});
    QCOMPARE(h.reports.size(), 2);
}

void TstSdkRuntime::timeoutWhileWaitingForResults()
{
    Harness h; // never answers the reduce's first page
    TaskSpec reduce = sdkSpec(TaskRole::Reduce, ExecutionMode::MapReduce, {});
    reduce.timeoutMs = 500;
    QElapsedTimer clock;
    clock.start();
    QVERIFY(h.runner.submit(reduce));
    QTRY_COMPARE_WITH_TIMEOUT(h.calls.size(), 1, 5000); // blocked in next()
    QTRY_VERIFY_WITH_TIMEOUT(h.terminal(1).has_value(), 5000);
    QCOMPARE(h.outcome(1), QStringLiteral("TIMED_OUT timed out after 500 ms"));
    QVERIFY(clock.elapsed() >= 500);
    QCOMPARE(h.calls.size(), 1);
}

void TstSdkRuntime::cancelReachesABusyProcessor()
{
    // Two runs of the same attempt, busy in their own loops; canceling one leaves the other.
    Harness h;
    QVERIFY(h.runner.submit(
        sdkSpec(TaskRole::Subtask, ExecutionMode::Map, {{"do", "spin"}}, "test#mr", 1)));
    QVERIFY(h.runner.submit(
        sdkSpec(TaskRole::Subtask, ExecutionMode::Map, {{"do", "spin"}}, "test#mr", 2)));
    QTRY_COMPARE_WITH_TIMEOUT(h.runner.runningCount(), 2, 5000);
    TaskKey first = taskKeyOf(sdkSpec(TaskRole::Subtask, ExecutionMode::Map, {}, "test#mr", 1));
    h.runner.cancelTask(first, "not needed");
    QTRY_COMPARE_WITH_TIMEOUT(h.outcome(1), QStringLiteral("CANCELED not needed"), 2000);
    QCOMPARE(h.runner.runningCount(), 1);
    QVERIFY(!h.terminal(2).has_value());
    h.runner.cancel(7, 2, "all of it");
    QTRY_COMPARE_WITH_TIMEOUT(h.outcome(2), QStringLiteral("CANCELED all of it"), 2000);
}

void TstSdkRuntime::destroyingRunnerWithBlockedProcessorIsPrompt()
{
    QElapsedTimer clock;
    {
        auto h = std::make_unique<Harness>();
        QVERIFY(h->runner.submit(
            sdkSpec(TaskRole::Root, ExecutionMode::Map, {{"do", "map"}, {"a", 5}})));
        QTRY_COMPARE_WITH_TIMEOUT(h->calls.size(), 1, 5000);
        clock.start();
    }
    // The blocked map() was woken by the destruction, so the pool did not hold it up.
    QVERIFY2(clock.elapsed() < TaskRunner::kPoolGraceMs,
             qPrintable(QString::number(clock.elapsed())));
    QTRY_VERIFY_WITH_TIMEOUT(mapOutcome().returned, 2000);
    QCOMPARE(mapOutcome().error, QStringLiteral("canceled"));
}

void TstSdkRuntime::unknownRefsFailClearly_data()
{
    QTest::addColumn<QJsonObject>("config");
    QTest::addColumn<QString>("outcome");
    QTest::newRow("not a built-in")
        << QJsonObject{{"ref", "builtin#nope"}}
        << "FAILED processor.ref: no built-in processor 'nope' (built-ins: echo, range-sum)";
    QTest::newRow("a container the resolver does not know")
        << QJsonObject{{"ref", "acme#report"}} << "FAILED no test processor acme#report";
    QTest::newRow("range-sum without count")
        << QJsonObject{{"ref", "builtin#range-sum"}} << "FAILED processor.count: missing";
}

void TstSdkRuntime::unknownRefsFailClearly()
{
    QFETCH(QJsonObject, config);
    QFETCH(QString, outcome);
    Harness h;
    TaskSpec s = sdkSpec(TaskRole::Root, ExecutionMode::Map, {});
    s.config = config;
    QVERIFY(h.runner.submit(s));
    QTRY_VERIFY_WITH_TIMEOUT(h.terminal(1).has_value(), 5000);
    QCOMPARE(h.outcome(1), outcome);
}

void TstSdkRuntime::rangeSumEndToEnd_data()
{
    QTest::addColumn<QJsonObject>("config");
    QTest::addColumn<ExecutionMode>("mode");
    QTest::addColumn<bool>("rerunRoot");
    QTest::addColumn<bool>("dedupe");
    QTest::addColumn<int>("lose");
    QTest::addColumn<QString>("outcome");
    QTest::addColumn<int>("tasks"); // root + mapped (+ reduce)

    // 20,000 numbers: the reduce reads five pages of results.
    const QJsonObject one{{"ref", "builtin#range-sum"}, {"count", 20000}, {"batch", 700}};
    const QString perfect =
        R"(SUCCEEDED {"count":20000,"sum":199990000,"duplicates":0,"failed":0,"missing":0})";
    QTest::newRow("one level") << one << ExecutionMode::MapReduce << false << true << 0 << perfect
                               << 1 + 20000 + 1;
    QJsonObject two = one;
    two.insert("levels", 2);
    two.insert("batch", 200);
    QTest::newRow("two levels (recursive map)")
        << two << ExecutionMode::MapReduce << false << true << 0 << perfect << 1 + 100 + 20000 + 1;
    QTest::newRow("root runs twice: positions already stored are skipped")
        << one << ExecutionMode::MapReduce << true << true << 0 << perfect << 1 + 20000 + 1;
    // The check can fail: a server that stores re-mapped items again gives duplicates...
    QTest::newRow("a server without dedup is caught")
        << one << ExecutionMode::MapReduce << true << false << 0
        << R"(FAILED {"count":40000,"sum":399980000,"duplicates":20000,"failed":0,"missing":0})"
        << 1 + 40000 + 1;
    // ... and one that loses items gives missing numbers (0, 100, ..., 19900).
    QTest::newRow("a server that loses items is caught")
        << one << ExecutionMode::MapReduce << false << true << 100
        << R"(FAILED {"count":19800,"sum":198000000,"duplicates":0,"failed":0,"missing":200})"
        << 1 + 19800 + 1;
    QTest::newRow("as MAP") << two << ExecutionMode::Map << false << true << 0
                            << "MAP 20101 tasks, 0 failed" << 1 + 100 + 20000;
}

void TstSdkRuntime::rangeSumEndToEnd()
{
    QFETCH(QJsonObject, config);
    QFETCH(ExecutionMode, mode);
    QFETCH(bool, rerunRoot);
    QFETCH(bool, dedupe);
    QFETCH(int, lose);
    QFETCH(QString, outcome);
    QFETCH(int, tasks);
    TaskRunner runner;
    runner.setCapacity(4);
    MiniServer server(runner, config, mode);
    server.rerunRoot = rerunRoot;
    server.dedupe = dedupe;
    server.loseMultiplesOf = lose;
    QSignalSpy finished(&server, &MiniServer::finished);
    QElapsedTimer clock;
    clock.start();
    server.start();
    QVERIFY(finished.wait(30000));
    qInfo("range-sum: %lld tasks in %lld ms", qint64(server.taskCount()), clock.elapsed());
    QCOMPARE(server.outcome(), outcome);
    QCOMPARE(server.taskCount(), qsizetype(tasks));
    QVERIFY(server.refused.isEmpty());
}

void TstSdkRuntime::rangeSumReduceFileListsEveryNumberOnce()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString file = dir.filePath("reduce.txt");
    TaskRunner runner;
    runner.setCapacity(4);
    MiniServer server(
        runner,
        {{"ref", "builtin#range-sum"}, {"count", 2000}, {"batch", 2000}, {"reduceFile", file}},
        ExecutionMode::MapReduce);
    QSignalSpy finished(&server, &MiniServer::finished);
    server.start();
    QVERIFY(finished.wait(30000));
    QVERIFY2(server.outcome().startsWith("SUCCEEDED"), qPrintable(server.outcome()));
    QCOMPARE(server.mapCalls, 1); // batch 2000: one map() call
    QVERIFY(server.resultCalls >= 1);
    QFile f(file);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = f.readAll().split('\n');
    QCOMPARE(lines.size(), 2001); // 2000 lines and the empty rest after the last newline
    QSet<qint64> numbers;
    QSet<qint64> taskIds;
    for (int i = 0; i < 2000; ++i) {
        const QList<QByteArray> parts = lines[i].split(' ');
        QCOMPARE(parts.size(), 2);
        taskIds.insert(parts[0].toLongLong());
        numbers.insert(parts[1].toLongLong());
    }
    QCOMPARE(numbers.size(), 2000);
    QCOMPARE(taskIds.size(), 2000);
    QVERIFY(numbers.contains(0) && numbers.contains(1999));
}

void TstSdkRuntime::sdkExampleIsTrue()
{
    const QString example = exampleFromSdkHeader();
    QVERIFY(example.startsWith("class SumTo1000") && example.endsWith("};"));
    QVERIFY2(fileText(QStringLiteral(KAIROS_SOURCE_DIR "/docs/sdk.md")).contains(example),
             "docs/sdk.md does not show sdk.h's example");
    QVERIFY2(fileText(QStringLiteral(KAIROS_SOURCE_DIR "/tests/unit/worker/tst_sdk_runtime.cpp"))
                 .contains(example),
             "the SumTo1000 this test runs is not sdk.h's example");

    TaskRunner runner;
    runner.setCapacity(4);
    runner.setSdkProcessorResolver(resolveTestProcessor);
    MiniServer server(runner, {{"ref", "test#sum"}}, ExecutionMode::MapReduce);
    QSignalSpy finished(&server, &MiniServer::finished);
    QList<LogLine> logs;
    connect(&runner, &TaskRunner::logs, this, [&logs](const QList<LogLine> &b) { logs += b; });
    server.start();
    QVERIFY(finished.wait(30000));
    QCOMPARE(server.outcome(), QStringLiteral("SUCCEEDED 500500"));
    QCOMPARE(server.taskCount(), 1 + 1000 + 1);
    QCOMPARE(logs.size(), 1);
    QCOMPARE(logs.first().text, QStringLiteral("sum is 500500"));
    QCOMPARE(logs.first().taskId, 1002); // the reduce task
}

QTEST_GUILESS_MAIN(TstSdkRuntime)
#include "tst_sdk_runtime.moc"
