// The server side of remote workers over real sockets on 127.0.0.1: an Engine (no local worker)
// on a temporary SQLite file, the AdminService listener, and fake workers written here with
// protocol::Connection and the wire codec — what a kairos-worker would send, and every way it
// can misbehave. Timeouts are short (heartbeat 100 ms, dead after 600 ms, lease 500 ms) so the
// failure paths run in seconds; every wait is for a condition, with a deadline.
#include <core/clock.h>
#include <protocol/connection.h>
#include <protocol/listener.h>
#include <server/admin_service.h>
#include <server/credentials.h>
#include <server/engine.h>
#include <worker/wire.h>

#include <QJsonArray>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace kairos;
using namespace kairos::server;
using namespace Qt::StringLiterals;

namespace {

constexpr int kWaitMs = 5000;
constexpr int kHeartbeatMs = 100;
constexpr int kDeadAfterMs = 600;
constexpr int kLeaseMs = 500;
const QString kSecret = u"worker-secret-of-default"_s;
const QString kAdminPassword = u"admin-password"_s;

template<typename T> T valueOr(const Result<T> &r, T fallback)
{
    return r.ok() ? r.value() : fallback;
}

WorkerMetrics someMetrics()
{
    WorkerMetrics m;
    m.load1 = 0.25;
    m.cpus = 4;
    m.memFreeMb = 2048;
    m.memTotalMb = 4096;
    m.diskFreeMb = 10000;
    return m;
}

// A worker as the server sees it: logs in as app "default", registers, heartbeats and reports
// by hand (or heartbeats on a timer), and keeps every message the server sends in an inbox.
class FakeWorker : public QObject {
public:
    FakeWorker(quint16 port, QString workerId, QString secret = kSecret)
        : id(std::move(workerId))
    {
        connect(&conn, &protocol::Connection::messageReceived, this,
                [this](const protocol::Message &m) { inbox << m; });
        connect(&beat, &QTimer::timeout, this, [this] { heartbeat(); });
        conn.connectToServer(u"127.0.0.1"_s, port, u"worker"_s, u"default"_s, secret);
    }

    bool waitReady()
    {
        return QTest::qWaitFor(
                   [this] {
                       return conn.isReady() || conn.state() == protocol::Connection::State::Closed;
                   },
                   kWaitMs)
               && conn.isReady();
    }

    void sendRegister(const QList<TaskKey> &held = {}, int capacity = 4)
    {
        wire::Registration r;
        r.workerId = id;
        r.address = id + u".example"_s;
        r.tags = {u"gpu"_s};
        r.capacity = capacity;
        r.pid = 4242;
        r.version = u"test"_s;
        r.held = held;
        r.metrics = someMetrics();
        conn.send(wire::encodeRegister(r));
    }

    // Logs in and registers; the server's `registered` reply is returned.
    std::optional<wire::RegisteredReply> login(const QList<TaskKey> &held = {})
    {
        if (!waitReady())
            return std::nullopt;
        sendRegister(held);
        const auto reply = take(wire::type::Registered);
        if (!reply)
            return std::nullopt;
        auto decoded = wire::decodeRegistered(*reply);
        return decoded.ok() ? std::optional(*decoded) : std::nullopt;
    }

    // Sends `m`, which later heartbeats (and sync()) repeat.
    void heartbeat(const WorkerMetrics &m)
    {
        metrics = m;
        heartbeat();
    }
    void heartbeat() { conn.send(wire::encodeHeartbeat(wire::Heartbeat{++lastTs, metrics})); }
    void startHeartbeats() { beat.start(kHeartbeatMs); }
    void stopHeartbeats() { beat.stop(); }

    // Everything sent before has been handled by the server once its heartbeat is acknowledged
    // (one connection, handled in order).
    bool sync()
    {
        heartbeat();
        const qint64 ts = lastTs;
        return QTest::qWaitFor(
            [&] {
                for (qsizetype i = 0; i < inbox.size(); ++i) {
                    if (inbox[i].type == wire::type::HeartbeatAck
                        && valueOr(wire::decodeHeartbeatAck(inbox[i]), qint64(-1)) == ts) {
                        inbox.removeAt(i);
                        return true;
                    }
                }
                return false;
            },
            kWaitMs);
    }

    void report(const TaskKey &k, InstanceStatus status, const QString &result = {})
    {
        conn.send(wire::encodeStatus({TaskReport{k.instanceId, k.attempt, k.taskId, k.taskAttempt,
                                                 status, result, nowMs()}}));
    }

    // The first message of `type` (waiting for it), removed from the inbox.
    std::optional<protocol::Message> take(QLatin1StringView type, int timeoutMs = kWaitMs)
    {
        std::optional<protocol::Message> found;
        (void)QTest::qWaitFor(
            [&] {
                for (qsizetype i = 0; i < inbox.size(); ++i) {
                    if (inbox[i].type == type) {
                        found = inbox.takeAt(i);
                        return true;
                    }
                }
                return false;
            },
            timeoutMs);
        return found;
    }

    bool has(QLatin1StringView type) const
    {
        return std::any_of(inbox.cbegin(), inbox.cend(),
                           [type](const protocol::Message &m) { return m.type == type; });
    }

    // The tasks of the next `dispatch`.
    QList<TaskSpec> takeDispatch(int timeoutMs = kWaitMs)
    {
        const auto m = take(wire::type::Dispatch, timeoutMs);
        return m ? wire::decodeDispatch(*m).items : QList<TaskSpec>{};
    }

    QString id;
    protocol::Connection conn;
    QList<protocol::Message> inbox;
    QTimer beat;
    qint64 lastTs = 0;
    WorkerMetrics metrics = someMetrics();
};

// The one login a bare listener knows: app "default" with kSecret.
class DefaultAppLogin : public protocol::CredentialLookup {
public:
    std::optional<protocol::ScramCredential> find(const QString &role, const QString &name) override
    {
        if (role != u"worker"_s || name != u"default"_s)
            return std::nullopt;
        return protocol::ScramCredential::derive(kSecret);
    }
};

TaskCall mapCall(quint64 id, const TaskKey &key)
{
    TaskCall c;
    c.callId = id;
    c.key = key;
    c.op = TaskCall::Op::Map;
    c.name = u"number"_s;
    c.items = {"1", "2"};
    return c;
}

TaskCall resultsCall(quint64 id, const TaskKey &key)
{
    TaskCall c;
    c.callId = id;
    c.key = key;
    c.op = TaskCall::Op::Results;
    c.limit = wire::kMaxResultsPage;
    return c;
}

// Every callReply entry in the inbox (taken out), by call id.
QHash<quint64, TaskCallReply> takeReplies(QList<protocol::Message> &inbox)
{
    QHash<quint64, TaskCallReply> out;
    for (qsizetype i = 0; i < inbox.size();) {
        if (inbox[i].type != wire::type::CallReply) {
            ++i;
            continue;
        }
        for (const TaskCallReply &r : wire::decodeCallReply(inbox.takeAt(i)).items)
            out.insert(r.callId, r);
    }
    return out;
}

// One kairosd in the test process: engine, credentials, listener.
struct Server {
    std::unique_ptr<Engine> engine;
    std::shared_ptr<CredentialCache> credentials;
    std::unique_ptr<AdminService> admin;

    ~Server() { shutDown(); }
    // As on a server stop: the listener (and its worker links) first, then the engine.
    void shutDown()
    {
        admin.reset();
        credentials.reset();
        engine.reset();
    }
    quint16 port() const { return admin->port(); }
};

std::optional<WorkerInfo> workerNamed(const Engine &engine, const QString &id)
{
    for (const WorkerInfo &w : engine.workers()) {
        if (w.id == id)
            return w;
    }
    return std::nullopt;
}

} // namespace

class TstWorkerService : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    int m_dbCounter = 0;

    QString freshDb() { return m_dir.filePath(u"workers-%1.db"_s.arg(++m_dbCounter)); }

    static std::unique_ptr<Server> startServer(const QString &dbFile)
    {
        auto s = std::make_unique<Server>();
        EngineConfig config;
        config.store = *StoreConfig::parse(dbFile);
        config.serverZone = QTimeZone("UTC");
        config.localWorker = false;
        config.workerHeartbeatMs = kHeartbeatMs;
        config.workerDeadAfterMs = kDeadAfterMs;
        config.workerLeaseMs = kLeaseMs;
        s->engine = std::make_unique<Engine>(config);
        if (Status st = s->engine->start(); !st.ok())
            qFatal("engine start failed: %s", qPrintable(st.error()));
        s->credentials = std::make_shared<CredentialCache>(s->engine->store());
        if (!s->credentials->set(u"app"_s, u"default"_s, kSecret).ok()
            || !s->credentials->set(u"admin"_s, u"admin"_s, kAdminPassword).ok())
            qFatal("cannot store credentials");
        s->admin = std::make_unique<AdminService>(*s->engine, s->credentials);
        if (Status st = s->admin->listen(QHostAddress::LocalHost, 0, {}); !st.ok())
            qFatal("listen failed: %s", qPrintable(st.error()));
        return s;
    }

    static Job created(Engine &engine, int retryCount = 0)
    {
        Job job;
        job.name = u"remote-%1"_s.arg(nowMs());
        job.app = u"default"_s;
        job.processor = ProcessorKind::Echo;
        job.retryCount = retryCount;
        job.retryBackoffMs = 100;
        std::optional<Result<Job>> out;
        engine.createJob(job, [&out](Result<Job> r) { out.emplace(std::move(r)); });
        if (!QTest::qWaitFor([&] { return out.has_value(); }, kWaitMs) || !out->ok())
            qFatal("createJob failed: %s", out ? qPrintable(out->error()) : "timeout");
        return out->value();
    }

    static qint64 run(Engine &engine, qint64 jobId)
    {
        std::optional<Result<QList<qint64>>> out;
        engine.runJob(jobId, {}, [&out](Result<QList<qint64>> r) { out.emplace(std::move(r)); });
        if (!QTest::qWaitFor([&] { return out.has_value(); }, kWaitMs) || !out->ok()
            || (*out)->size() != 1)
            qFatal("runJob failed");
        return (*out)->first();
    }

    static InstanceDetail detail(Engine &engine, qint64 id)
    {
        std::optional<Result<InstanceDetail>> out;
        engine.instance(id, [&out](Result<InstanceDetail> r) { out.emplace(std::move(r)); });
        if (!QTest::qWaitFor([&] { return out.has_value(); }, kWaitMs) || !out->ok())
            qFatal("instance(%lld) failed", id);
        return out->value();
    }

    // As text, so a failed comparison prints the state's name.
    static QString statusOf(Engine &engine, qint64 id)
    {
        return toString(detail(engine, id).instance.status);
    }

    static QList<LogLine> logsOf(Engine &engine, qint64 id)
    {
        std::optional<Result<QList<LogLine>>> out;
        engine.logs(id, 0, 1000, [&out](Result<QList<LogLine>> r) { out.emplace(std::move(r)); });
        if (!QTest::qWaitFor([&] { return out.has_value(); }, kWaitMs) || !out->ok())
            return {};
        return out->value();
    }

    static void flushed(Engine &engine)
    {
        bool done = false;
        engine.whenFlushed([&done] { done = true; });
        QVERIFY(QTest::qWaitFor([&] { return done; }, kWaitMs));
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void registeredWorkerIsListedWithItsMetrics()
    {
        auto server = startServer(freshDb());
        QSignalSpy changed(server->engine.get(), &Engine::workersChanged);
        FakeWorker w(server->port(), u"w1"_s);
        const auto reply = w.login();
        QVERIFY(reply);
        QCOMPARE(reply->heartbeatMs, kHeartbeatMs);
        QCOMPARE(reply->deadAfterMs, kDeadAfterMs);
        QCOMPARE(reply->leaseMs, kLeaseMs);
        QVERIFY(qAbs(reply->serverTimeMs - nowMs()) < 5000);

        const auto info = workerNamed(*server->engine, u"w1"_s);
        QVERIFY(info);
        QCOMPARE(toString(info->state), u"ALIVE"_s);
        QCOMPARE(info->app, u"default"_s);
        QCOMPARE(info->address, u"w1.example"_s);
        QCOMPARE(info->tags, QStringList{u"gpu"_s});
        QCOMPARE(info->capacity, 4);
        QCOMPARE(info->pid, qint64(4242));
        QCOMPARE(info->server, server->engine->serverId());
        QCOMPARE(info->metrics, someMetrics());
        QVERIFY(!changed.isEmpty());
        QCOMPARE(changed.last().first().value<QList<WorkerInfo>>().first().id, u"w1"_s);
        // Not the local worker: this engine has none.
        QVERIFY(!workerNamed(*server->engine, u"local"_s));

        // A heartbeat is acknowledged with its own ts and updates the metrics.
        WorkerMetrics busier = someMetrics();
        busier.load1 = 3.5;
        busier.running = 3;
        w.heartbeat(busier);
        const auto ack = w.take(wire::type::HeartbeatAck);
        QVERIFY(ack);
        QCOMPARE(valueOr(wire::decodeHeartbeatAck(*ack), qint64(-1)), w.lastTs);
        QCOMPARE(workerNamed(*server->engine, u"w1"_s)->metrics, busier);
        QVERIFY(workerNamed(*server->engine, u"w1"_s)->lastHeartbeatMs >= info->registeredAtMs);
    }

    void metricsAreAnnouncedAtMostOnceASecond()
    {
        auto server = startServer(freshDb());
        QList<std::pair<qint64, WorkerInfo>> announced; // (when, what) for w1
        connect(server->engine.get(), &Engine::workersChanged, this,
                [&announced](const QList<WorkerInfo> &workers) {
                    for (const WorkerInfo &w : workers) {
                        if (w.id == u"w1"_s)
                            announced.append({nowMs(), w});
                    }
                });
        FakeWorker w(server->port(), u"w1"_s);
        w.startHeartbeats(); // same metrics every time: nothing to announce
        QVERIFY(w.login());
        QCOMPARE(announced.size(), 1); // the registration, at once
        WorkerMetrics m = someMetrics();
        for (int i = 1; i <= 5; ++i) {
            m.running = i;
            w.heartbeat(m);
        }
        QVERIFY(w.sync());
        QCOMPARE(workerNamed(*server->engine, u"w1"_s)->metrics.running, 5);
        // Five changes within a few milliseconds: the newest one is announced, a second after the
        // previous announcement at the earliest.
        QTRY_VERIFY_WITH_TIMEOUT(announced.last().second.metrics.running == 5, kWaitMs);
        QVERIFY2(announced.size() <= 3, qPrintable(QString::number(announced.size())));
        for (qsizetype i = 1; i < announced.size(); ++i) {
            const qint64 gap = announced[i].first - announced[i - 1].first;
            QVERIFY2(gap >= 990, qPrintable(u"announced %1 ms apart"_s.arg(gap))); // clock jitter
        }
        const qsizetype before = announced.size();
        // A state change is not held back.
        w.conn.send(wire::encodeDrain(u"SIGTERM"_s));
        QVERIFY(w.sync());
        QCOMPARE(announced.size(), before + 1);
        QCOMPARE(toString(announced.last().second.state), u"DRAINING"_s);
    }

    void workerWithAWrongSecretNeverGetsIn()
    {
        auto server = startServer(freshDb());
        // The refusal is logged with the peer's address (the listener's connection does it).
        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(u"refused login of worker 'default' from "
                                                "127\\.0\\.0\\.1:\\d+: .*"_s));
        FakeWorker w(server->port(), u"w1"_s, u"not-the-secret"_s);
        QVERIFY(!w.waitReady());
        QCOMPARE(server->engine->workers().size(), 0);
        QCOMPARE(server->admin->workerService().linkCount(), 0);
        // The others keep being served.
        FakeWorker good(server->port(), u"w2"_s);
        QVERIFY(good.login());
        QCOMPARE(server->engine->workers().size(), 1);
    }

    void messagesBeforeRegisterAreRefused_data()
    {
        QTest::addColumn<QString>("type");
        QTest::newRow("heartbeat") << u"heartbeat"_s;
        QTest::newRow("status") << u"status"_s;
        QTest::newRow("logs") << u"logs"_s;
        QTest::newRow("drain") << u"drain"_s;
    }
    void messagesBeforeRegisterAreRefused()
    {
        QFETCH(QString, type);
        auto server = startServer(freshDb());
        FakeWorker w(server->port(), u"w1"_s);
        QVERIFY(w.waitReady());
        protocol::Message early;
        if (type == u"heartbeat"_s)
            early = wire::encodeHeartbeat({1, someMetrics()});
        else if (type == u"status"_s)
            early = wire::encodeStatus({TaskReport{1, 1, 0, 1, InstanceStatus::Succeeded, {}, 1}});
        else if (type == u"logs"_s)
            early = wire::encodeLogs({LogLine{1, 0, 1, 0, 1, LogStream::Stdout, u"x"_s}});
        else
            early = wire::encodeDrain(u"bye"_s);
        w.conn.send(early);
        const auto error = w.take(protocol::msg::Error);
        QVERIFY(error);
        QCOMPARE(error->text("reason"_L1),
                 u"expected 'register' as the first message of a worker, got '%1'"_s.arg(type));
        QVERIFY(!workerNamed(*server->engine, u"w1"_s));
        // The connection stays usable: the worker can still register.
        w.sendRegister();
        QVERIFY(w.take(wire::type::Registered));
        QVERIFY(workerNamed(*server->engine, u"w1"_s));
    }

    void invalidRegistrationIsRefused_data()
    {
        QTest::addColumn<QString>("workerId");
        QTest::addColumn<int>("capacity");
        QTest::addColumn<QString>("expectedError");
        QTest::newRow("capacity 0") << u"w1"_s << 0 << u"capacity"_s;
        QTest::newRow("capacity too large") << u"w1"_s << 5000 << u"capacity"_s;
        QTest::newRow("reserved id")
            << u"local"_s << 2 << u"'local' is reserved for the server's own worker"_s;
    }
    void invalidRegistrationIsRefused()
    {
        QFETCH(QString, workerId);
        QFETCH(int, capacity);
        QFETCH(QString, expectedError);
        auto server = startServer(freshDb());
        FakeWorker w(server->port(), workerId);
        QVERIFY(w.waitReady());
        w.sendRegister({}, capacity);
        const auto error = w.take(protocol::msg::Error);
        QVERIFY(error);
        QVERIFY2(error->text("reason"_L1).contains(expectedError),
                 qPrintable(error->text("reason"_L1)));
        QTRY_COMPARE_WITH_TIMEOUT(w.conn.state(), protocol::Connection::State::Closed, kWaitMs);
        QVERIFY(!w.has(wire::type::Registered));
        QCOMPARE(server->engine->workers().size(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(server->admin->workerService().linkCount(), 0, kWaitMs);
    }

    void linkSendsPerRunCancelsAndAnswersOnlyWaitingCalls()
    {
        // One RemoteWorkerLink on a bare listener (no engine): what the link itself puts on the
        // wire for the task tracker.
        protocol::Listener listener(std::make_shared<DefaultAppLogin>());
        QVERIFY(listener.listen(QHostAddress::LocalHost).ok());
        std::unique_ptr<RemoteWorkerLink> link;
        connect(&listener, &protocol::Listener::connectionReady, this,
                [&link](protocol::Connection *c) {
                    link = std::make_unique<RemoteWorkerLink>(
                        c, RemoteWorkerSettings{kHeartbeatMs, kDeadAfterMs, kLeaseMs, u"s1"_s});
                });
        FakeWorker w(listener.serverPort(), u"w-bare"_s);
        QVERIFY(w.login());
        QVERIFY(link && link->isAlive());
        QSignalSpy calls(link.get(), &WorkerLink::calls);

        // Two subtasks of one attempt; the second is its task's second run.
        TaskSpec a;
        a.instanceId = 5;
        a.taskId = 1;
        a.jobName = u"map-job"_s;
        a.mode = ExecutionMode::Map;
        a.role = TaskRole::Subtask;
        TaskSpec b = a;
        b.taskId = 2;
        b.taskAttempt = 2;
        link->dispatch({a, b});
        const QList<TaskSpec> dispatched = w.takeDispatch();
        QCOMPARE(dispatched.size(), 2);
        QCOMPARE(taskKeyOf(dispatched[1]), (TaskKey{5, 1, 2, 2}));
        QCOMPARE(link->heldCount(), 2);

        // cancelTasks: one entry per run, naming task and run, nothing for the whole attempt.
        link->cancelTasks({taskKeyOf(b)}, u"task canceled: the run failed"_s);
        const auto cancel = w.take(wire::type::Cancel);
        QVERIFY(cancel);
        const auto entries = wire::decodeCancel(*cancel);
        QCOMPARE(entries.errors, QStringList());
        QCOMPARE(entries.items, (QList<wire::KeyReason>{
                                    {TaskKey{5, 1, 2, 2}, u"task canceled: the run failed"_s}}));

        // Calls: from a held run, from another run of a held task, from a task never given.
        w.conn.send(wire::encodeCall({mapCall(11, taskKeyOf(a)), mapCall(12, TaskKey{5, 1, 2, 1}),
                                      resultsCall(13, TaskKey{6, 1, 0, 1})}));
        QTRY_COMPARE_WITH_TIMEOUT(calls.size(), 1, kWaitMs);
        const auto passed = calls.first().first().value<QList<TaskCall>>();
        QCOMPARE(passed, QList<TaskCall>{mapCall(11, taskKeyOf(a))});
        QTRY_VERIFY_WITH_TIMEOUT(w.has(wire::type::CallReply), kWaitMs);
        QHash<quint64, TaskCallReply> replies = takeReplies(w.inbox);
        QCOMPARE(replies.size(), 2);
        QVERIFY2(replies[12].error.contains(u"task (5,1,2) is not running on worker w-bare"_s),
                 qPrintable(replies[12].error));
        QVERIFY2(replies[13].error.contains(u"task (6,1,0) is not running on worker w-bare"_s),
                 qPrintable(replies[13].error));
        QCOMPARE(link->pendingCallCount(), 1);

        // answer(): only the waiting call goes out, and only once.
        link->answer({TaskCallReply{11, {}, {}, false}, TaskCallReply{99, u"stray"_s, {}, false}});
        link->answer({TaskCallReply{11, u"second answer"_s, {}, false}});
        QVERIFY(w.sync());
        replies = takeReplies(w.inbox);
        QCOMPARE(replies.size(), 1);
        QCOMPARE(replies[11], (TaskCallReply{11, {}, {}, false}));
        QCOMPARE(link->pendingCallCount(), 0);

        // A page of huge results is cut to fit a frame; the reader asks again for the rest.
        w.conn.send(wire::encodeCall({resultsCall(14, taskKeyOf(a))}));
        QTRY_COMPARE_WITH_TIMEOUT(calls.size(), 2, kWaitMs);
        TaskCallReply page{14, {}, {}, true};
        for (int i = 0; i < 2000; ++i) {
            TaskResultEntry e;
            e.taskId = i + 10;
            e.result = QString(10000, u'r');
            page.results << e;
        }
        link->answer({page});
        const auto cut = w.take(wire::type::CallReply);
        QVERIFY(cut);
        const auto cutReplies = wire::decodeCallReply(*cut);
        QCOMPARE(cutReplies.errors, QStringList());
        QCOMPARE(cutReplies.items.size(), 1);
        QVERIFY(!cutReplies.items[0].end);
        QVERIFY(!cutReplies.items[0].results.isEmpty());
        QVERIFY(cutReplies.items[0].results.size() < page.results.size());
        QCOMPARE(cutReplies.items[0].results,
                 page.results.mid(0, cutReplies.items[0].results.size()));

        // Once its run ended, a task may not call any more.
        w.report(taskKeyOf(a), InstanceStatus::Succeeded);
        w.conn.send(wire::encodeCall({mapCall(15, taskKeyOf(a))}));
        QTRY_VERIFY_WITH_TIMEOUT(w.has(wire::type::CallReply), kWaitMs);
        replies = takeReplies(w.inbox);
        QVERIFY2(replies[15].error.contains(u"is not running on worker w-bare"_s),
                 qPrintable(replies[15].error));
        QCOMPARE(calls.size(), 2);
        QCOMPARE(link->heldKeys(), QList<TaskKey>{taskKeyOf(b)});
    }

    void callsReachTheEngineOnlyFromRunsTheWorkerHolds()
    {
        auto server = startServer(freshDb());
        Engine &engine = *server->engine;
        FakeWorker w(server->port(), u"w1"_s);
        QVERIFY(w.login());
        const qint64 id = run(engine, created(engine).id);
        const QList<TaskSpec> tasks = w.takeDispatch();
        QCOMPARE(tasks.size(), 1);
        const TaskKey held = taskKeyOf(tasks[0]);

        // A held run, a forged one, a malformed entry whose id is readable, one without an id.
        protocol::Message m = wire::encodeCall(
            {mapCall(1, held), mapCall(2, TaskKey{id + 1000, 1, 0, 1}), mapCall(3, held)});
        QCborArray entries = m.array("calls"_L1);
        QCborMap bad = entries.at(2).toMap();
        bad.insert(u"op"_s, u"explode"_s);
        entries[2] = bad;
        QCborMap noId = entries.at(0).toMap();
        noId.remove(u"c"_s);
        entries.append(noId);
        m.body.insert(u"calls"_s, entries);
        w.conn.send(m);

        // Every call with an id is answered: none is left waiting.
        QHash<quint64, TaskCallReply> replies;
        QVERIFY(QTest::qWaitFor(
            [&] {
                replies.insert(takeReplies(w.inbox));
                return replies.size() >= 3;
            },
            kWaitMs));
        QCOMPARE(replies.size(), 3);
        QVERIFY2(replies[2].error.contains(
                     u"task (%1,1,0) is not running on worker w1"_s.arg(id + 1000)),
                 qPrintable(replies[2].error));
        QVERIFY2(replies[3].error.contains(u"field 'calls[2].op' of 'call': unknown operation"_s),
                 qPrintable(replies[3].error));
        // The held run's call went past the fence to the engine, which answered it (a
        // standalone run cannot map: whatever it says, it is not the fence's refusal).
        QVERIFY2(!replies[1].error.contains(u"is not running on worker"_s),
                 qPrintable(replies[1].error));
        // The malformed entries were also reported as errors.
        const auto error = w.take(protocol::msg::Error);
        QVERIFY(error);
        QVERIFY2(error->text("reason"_L1).contains(u"calls[2].op"_s),
                 qPrintable(error->text("reason"_L1)));
        const auto error2 = w.take(protocol::msg::Error);
        QVERIFY(error2);
        QVERIFY2(error2->text("reason"_L1).contains(u"calls[3].c"_s),
                 qPrintable(error2->text("reason"_L1)));

        // The run itself is untouched by all this.
        w.report(held, InstanceStatus::Succeeded, u"done"_s);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(engine, id), toString(InstanceStatus::Succeeded),
                                  kWaitMs);
    }

    void jobRunsOnTheRemoteWorker()
    {
        auto server = startServer(freshDb());
        Engine &engine = *server->engine;
        FakeWorker w(server->port(), u"w1"_s);
        QVERIFY(w.login());
        const Job job = created(engine);
        const qint64 id = run(engine, job.id);

        const QList<TaskSpec> tasks = w.takeDispatch();
        QCOMPARE(tasks.size(), 1);
        QCOMPARE(tasks[0].instanceId, id);
        QCOMPARE(tasks[0].attempt, 1);
        QCOMPARE(tasks[0].taskId, 0);
        QCOMPARE(tasks[0].jobName, job.name);
        QCOMPARE(toString(tasks[0].processor), toString(ProcessorKind::Echo));
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(engine, id), toString(InstanceStatus::Dispatched),
                                  kWaitMs);
        QCOMPARE(detail(engine, id).instance.worker, u"w1"_s);

        const TaskKey key = taskKeyOf(tasks[0]);
        w.conn.send(wire::encodeAccept({key}));
        w.report(key, InstanceStatus::Running);
        w.conn.send(wire::encodeLogs(
            {LogLine{id, 0, 1, 0, nowMs(), LogStream::Stdout, u"hello from w1"_s}}));
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(engine, id), toString(InstanceStatus::Running), kWaitMs);
        w.report(key, InstanceStatus::Succeeded, u"done on w1"_s);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(engine, id), toString(InstanceStatus::Succeeded),
                                  kWaitMs);
        const Instance inst = detail(engine, id).instance;
        QCOMPARE(inst.result, u"done on w1"_s);
        QCOMPARE(inst.attempt, 1);
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                const QList<LogLine> lines = logsOf(engine, id);
                return std::any_of(lines.begin(), lines.end(),
                                   [](const LogLine &l) { return l.text == u"hello from w1"_s; });
            }(),
            kWaitMs);
        // Nothing it sent was refused.
        QVERIFY(!w.has(protocol::msg::Error));
    }

    void malformedEntriesAreAnsweredAndTheRestApplied()
    {
        auto server = startServer(freshDb());
        Engine &engine = *server->engine;
        FakeWorker w(server->port(), u"w1"_s);
        QVERIFY(w.login());
        const qint64 id = run(engine, created(engine).id);
        const QList<TaskSpec> tasks = w.takeDispatch();
        QCOMPARE(tasks.size(), 1);
        protocol::Message status = wire::encodeStatus(
            {TaskReport{id, 1, 0, 1, InstanceStatus::Succeeded, u"ok"_s, nowMs()}});
        QCborArray reports = status.array("reports"_L1);
        QCborMap bad = reports.at(0).toMap();
        bad.insert(u"a"_s, u"one"_s);
        reports.prepend(bad);
        status.body.insert(u"reports"_s, reports);
        w.conn.send(status);
        const auto error = w.take(protocol::msg::Error);
        QVERIFY(error);
        QVERIFY2(error->text("reason"_L1).contains(u"reports[0].a"_s),
                 qPrintable(error->text("reason"_L1)));
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(engine, id), toString(InstanceStatus::Succeeded),
                                  kWaitMs);
    }

    void reportOnATaskOfAnotherWorkerIsIgnored()
    {
        auto server = startServer(freshDb());
        Engine &engine = *server->engine;
        FakeWorker a(server->port(), u"wa"_s);
        QVERIFY(a.login());
        const qint64 id = run(engine, created(engine).id);
        const QList<TaskSpec> tasks = a.takeDispatch();
        QCOMPARE(tasks.size(), 1);
        const TaskKey key = taskKeyOf(tasks[0]);

        FakeWorker b(server->port(), u"wb"_s);
        QVERIFY(b.login());
        // B claims A's task and writes into its log: both ignored.
        b.report(key, InstanceStatus::Succeeded, u"forged by wb"_s);
        b.conn.send(
            wire::encodeLogs({LogLine{id, 0, 1, 0, nowMs(), LogStream::Stdout, u"forged line"_s}}));
        QVERIFY(b.sync());
        flushed(engine);
        QCOMPARE(statusOf(engine, id), toString(InstanceStatus::Dispatched));
        QVERIFY(logsOf(engine, id).isEmpty());
        // And a task nobody was given at all.
        a.report(TaskKey{id + 1000, 1, 0}, InstanceStatus::Succeeded);
        QVERIFY(a.sync());

        a.report(key, InstanceStatus::Succeeded, u"done by wa"_s);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(engine, id), toString(InstanceStatus::Succeeded),
                                  kWaitMs);
        QCOMPARE(detail(engine, id).instance.result, u"done by wa"_s);
        QCOMPARE(detail(engine, id).instance.worker, u"wa"_s);
    }

    void lateReportOfASupersededAttemptIsIgnored()
    {
        auto server = startServer(freshDb());
        Engine &engine = *server->engine;
        FakeWorker w(server->port(), u"w1"_s);
        w.startHeartbeats();
        QVERIFY(w.login());
        const qint64 id = run(engine, created(engine, 1).id);
        const QList<TaskSpec> first = w.takeDispatch();
        QCOMPARE(first.size(), 1);
        w.report(taskKeyOf(first[0]), InstanceStatus::Failed, u"exit code 1"_s);
        const QList<TaskSpec> second = w.takeDispatch();
        QCOMPARE(second.size(), 1);
        QCOMPARE(second[0].attempt, 2);

        // Attempt 1 "succeeds" late (a zombie): the current attempt must not move.
        w.report(taskKeyOf(first[0]), InstanceStatus::Succeeded, u"late"_s);
        QVERIFY(w.sync());
        flushed(engine);
        const Instance now = detail(engine, id).instance;
        QCOMPARE(now.attempt, 2);
        QCOMPARE(toString(now.status), toString(InstanceStatus::Dispatched));

        w.report(taskKeyOf(second[0]), InstanceStatus::Succeeded, u"second try"_s);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(engine, id), toString(InstanceStatus::Succeeded),
                                  kWaitMs);
        const InstanceDetail d = detail(engine, id);
        QCOMPARE(d.instance.result, u"second try"_s);
        QCOMPARE(d.attempts.size(), 2);
        QCOMPARE(toString(d.attempts[0].status), toString(InstanceStatus::Failed));
        QCOMPARE(d.attempts[0].reason, u"exit code 1"_s);
    }

    void silentWorkerIsDeclaredDeadAndItsRetryWaitsForTheLease()
    {
        auto server = startServer(freshDb());
        Engine &engine = *server->engine;
        FakeWorker a(server->port(), u"wa"_s);
        QVERIFY(a.login());
        const qint64 id = run(engine, created(engine, 1).id);
        const QList<TaskSpec> tasks = a.takeDispatch();
        QCOMPARE(tasks.size(), 1);
        a.report(taskKeyOf(tasks[0]), InstanceStatus::Running);
        QVERIFY(a.sync()); // the last heartbeat it sends
        const qint64 lastHeartbeat = workerNamed(engine, u"wa"_s)->lastHeartbeatMs;

        // Silence: the server says so, closes, and ends the run.
        const auto dead = a.take(wire::type::Dead, kDeadAfterMs + 3000);
        QVERIFY(dead);
        const qint64 deadSeenMs = nowMs();
        QCOMPARE(valueOr(wire::decodeReason(*dead), QString()), u"no heartbeat for 0.6 s"_s);
        QVERIFY2(deadSeenMs - lastHeartbeat >= kDeadAfterMs,
                 qPrintable(
                     u"declared dead %1 ms after the heartbeat"_s.arg(deadSeenMs - lastHeartbeat)));
        QTRY_COMPARE_WITH_TIMEOUT(a.conn.state(), protocol::Connection::State::Closed, kWaitMs);
        const auto info = workerNamed(engine, u"wa"_s);
        QVERIFY(info);
        QCOMPARE(toString(info->state), u"DEAD"_s);
        QCOMPARE(info->deadReason, u"no heartbeat for 0.6 s"_s);
        QVERIFY(info->deadAtMs >= lastHeartbeat + kDeadAfterMs);

        // Another worker is there at once, but the retry waits until wa's lease has surely ended.
        FakeWorker b(server->port(), u"wb"_s);
        b.startHeartbeats();
        QVERIFY(b.login());
        const qint64 notBefore = lastHeartbeat + kLeaseMs + 2500;
        QTRY_COMPARE_WITH_TIMEOUT(detail(engine, id).instance.attempt, 2, kWaitMs);
        const InstanceDetail waiting = detail(engine, id);
        QCOMPARE(waiting.instance.nextAttemptAtMs, notBefore);
        QCOMPARE(waiting.attempts.size(), 1);
        QCOMPARE(toString(waiting.attempts[0].status), toString(InstanceStatus::Failed));
        QCOMPARE(waiting.attempts[0].worker, u"wa"_s);
        QCOMPARE(waiting.attempts[0].reason, u"worker lost: no heartbeat for 0.6 s"_s);

        const QList<TaskSpec> retry = b.takeDispatch(notBefore - nowMs() + 3000);
        const qint64 receivedMs = nowMs();
        QCOMPARE(retry.size(), 1);
        QCOMPARE(retry[0].instanceId, id);
        QCOMPARE(retry[0].attempt, 2);
        QVERIFY2(receivedMs >= notBefore,
                 qPrintable(u"retry dispatched %1 ms before the lease ended"_s.arg(notBefore
                                                                                   - receivedMs)));
        b.report(taskKeyOf(retry[0]), InstanceStatus::Succeeded);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(engine, id), toString(InstanceStatus::Succeeded),
                                  kWaitMs);
    }

    void closedConnectionIsDeadAtOnce()
    {
        auto server = startServer(freshDb());
        Engine &engine = *server->engine;
        FakeWorker a(server->port(), u"wa"_s);
        a.startHeartbeats();
        QVERIFY(a.login());
        const qint64 id = run(engine, created(engine).id);
        const QList<TaskSpec> tasks = a.takeDispatch();
        QCOMPARE(tasks.size(), 1);
        a.report(taskKeyOf(tasks[0]), InstanceStatus::Running);
        QVERIFY(a.sync());
        a.conn.close(u"unplugged"_s);
        // Well before a heartbeat timeout could fire: the reason tells which path it was.
        QTRY_VERIFY_WITH_TIMEOUT(workerNamed(engine, u"wa"_s)->state == WorkerState::Dead, kWaitMs);
        const WorkerInfo info = *workerNamed(engine, u"wa"_s);
        QVERIFY2(info.deadReason.startsWith(u"connection closed: "_s), qPrintable(info.deadReason));
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(engine, id), toString(InstanceStatus::Failed), kWaitMs);
        QVERIFY(detail(engine, id).instance.reason.startsWith(u"worker lost: connection closed"_s));
        QTRY_COMPARE_WITH_TIMEOUT(server->admin->workerService().linkCount(), 0, kWaitMs);
    }

    void returnedTaskRunsElsewhereUnderTheSameAttempt()
    {
        auto server = startServer(freshDb());
        Engine &engine = *server->engine;
        FakeWorker a(server->port(), u"wa"_s);
        a.startHeartbeats();
        QVERIFY(a.login());
        const qint64 id = run(engine, created(engine, 2).id);
        const QList<TaskSpec> tasks = a.takeDispatch();
        QCOMPARE(tasks.size(), 1);

        FakeWorker b(server->port(), u"wb"_s);
        b.startHeartbeats();
        QVERIFY(b.login());
        a.conn.send(wire::encodeDrain(u"SIGTERM"_s));
        a.conn.send(wire::encodeReturn({wire::KeyReason{taskKeyOf(tasks[0]), u"draining"_s}}));
        QTRY_VERIFY_WITH_TIMEOUT(workerNamed(engine, u"wa"_s)->state == WorkerState::Draining,
                                 kWaitMs);

        const QList<TaskSpec> again = b.takeDispatch();
        QCOMPARE(again.size(), 1);
        QCOMPARE(again[0].instanceId, id);
        QCOMPARE(again[0].attempt, 1);
        b.report(taskKeyOf(again[0]), InstanceStatus::Succeeded, u"ran on wb"_s);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(engine, id), toString(InstanceStatus::Succeeded),
                                  kWaitMs);
        const InstanceDetail d = detail(engine, id);
        QCOMPARE(d.instance.attempt, 1);
        QCOMPARE(d.instance.worker, u"wb"_s);
        // A draining worker is given nothing more.
        QVERIFY(!a.has(wire::type::Dispatch));
    }

    void sameWorkerIdReplacesTheOldConnection()
    {
        auto server = startServer(freshDb());
        Engine &engine = *server->engine;
        FakeWorker first(server->port(), u"w1"_s);
        first.startHeartbeats();
        QVERIFY(first.login());
        const qint64 id = run(engine, created(engine).id);
        const QList<TaskSpec> tasks = first.takeDispatch();
        QCOMPARE(tasks.size(), 1);
        first.report(taskKeyOf(tasks[0]), InstanceStatus::Running);
        QVERIFY(first.sync());

        // The same worker comes in again (say after a network change) still holding the run.
        FakeWorker second(server->port(), u"w1"_s);
        second.startHeartbeats();
        const qint64 before = nowMs();
        QVERIFY(second.login({taskKeyOf(tasks[0])}));
        const auto dead = first.take(wire::type::Dead);
        QVERIFY(dead);
        QCOMPARE(valueOr(wire::decodeReason(*dead), QString()),
                 u"replaced by a new connection of the same worker"_s);
        QTRY_COMPARE_WITH_TIMEOUT(first.conn.state(), protocol::Connection::State::Closed, kWaitMs);

        const QList<WorkerInfo> all = engine.workers();
        QCOMPARE(all.size(), 1);
        QCOMPARE(all[0].id, u"w1"_s);
        QCOMPARE(toString(all[0].state), u"ALIVE"_s);
        QVERIFY(all[0].registeredAtMs >= before);
        // The run under the old connection ended with it; the worker is told to stop it.
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(engine, id), toString(InstanceStatus::Failed), kWaitMs);
        QCOMPARE(detail(engine, id).instance.reason,
                 u"worker lost: replaced by a new connection of the same worker"_s);
        const auto cancel = second.take(wire::type::Cancel);
        QVERIFY(cancel);
        const auto canceled = wire::decodeCancel(*cancel).items;
        QCOMPARE(canceled.size(), 1);
        QCOMPARE(canceled[0].key.instanceId, id);
        QCOMPARE(canceled[0].key.attempt, 1);
    }

    void workersEventTopic()
    {
        auto server = startServer(freshDb());
        protocol::Connection admin;
        QList<QJsonObject> events;
        connect(&admin, &protocol::Connection::eventReceived, this,
                [&events](const QString &topic, const QCborValue &d) {
                    if (topic == u"workers"_s)
                        events << d.toMap().toJsonObject();
                });
        admin.connectToServer(u"127.0.0.1"_s, server->port(), u"admin"_s, u"admin"_s,
                              kAdminPassword);
        QTRY_VERIFY_WITH_TIMEOUT(admin.isReady(), kWaitMs);

        std::optional<Result<QCborMap>> bad;
        admin.request(u"events.subscribe"_s, QCborMap{{u"topics"_s, QCborArray{u"workerz"_s}}},
                      this, [&bad](Result<QCborMap> r) { bad.emplace(std::move(r)); });
        QTRY_VERIFY_WITH_TIMEOUT(bad.has_value(), kWaitMs);
        QVERIFY(!bad->ok());
        QVERIFY2(bad->error().contains(u"jobs, logs or workers"_s), qPrintable(bad->error()));

        std::optional<Result<QCborMap>> ok;
        admin.request(u"events.subscribe"_s, QCborMap{{u"topics"_s, QCborArray{u"workers"_s}}},
                      this, [&ok](Result<QCborMap> r) { ok.emplace(std::move(r)); });
        QTRY_VERIFY_WITH_TIMEOUT(ok.has_value(), kWaitMs);
        QVERIFY(ok->ok());

        auto stateIn = [&events](const QString &state) {
            for (const QJsonObject &e : events) {
                for (const QJsonValue &w : e.value(u"workers"_s).toArray()) {
                    if (w[u"id"_s].toString() == u"w1"_s && w[u"state"_s].toString() == state)
                        return true;
                }
            }
            return false;
        };
        FakeWorker w(server->port(), u"w1"_s);
        QVERIFY(w.login());
        QTRY_VERIFY_WITH_TIMEOUT(stateIn(u"ALIVE"_s), kWaitMs);
        w.conn.close(u"bye"_s);
        QTRY_VERIFY_WITH_TIMEOUT(stateIn(u"DEAD"_s), kWaitMs);
    }

    void runsOfARemoteWorkerSurviveAServerRestart_data()
    {
        QTest::addColumn<bool>("comesBack");
        QTest::newRow("worker comes back") << true;
        QTest::newRow("worker does not come back") << false;
    }
    void runsOfARemoteWorkerSurviveAServerRestart()
    {
        QFETCH(bool, comesBack);
        const QString db = freshDb();
        qint64 id = 0;
        TaskKey key;
        {
            auto server = startServer(db);
            FakeWorker w(server->port(), u"w1"_s);
            w.startHeartbeats();
            QVERIFY(w.login());
            id = run(*server->engine, created(*server->engine).id);
            const QList<TaskSpec> tasks = w.takeDispatch();
            QCOMPARE(tasks.size(), 1);
            key = taskKeyOf(tasks[0]);
            w.report(key, InstanceStatus::Running);
            QTRY_COMPARE_WITH_TIMEOUT(statusOf(*server->engine, id),
                                      toString(InstanceStatus::Running), kWaitMs);
            flushed(*server->engine);
            server->shutDown(); // the server goes away while w1 still runs the task
        }

        const qint64 startedMs = nowMs();
        auto server = startServer(db);
        Engine &engine = *server->engine;
        // Not failed at once: its worker may come back.
        QCOMPARE(statusOf(engine, id), toString(InstanceStatus::Running));
        if (comesBack) {
            FakeWorker w(server->port(), u"w1"_s);
            w.startHeartbeats();
            QVERIFY(w.login({key}));
            w.report(key, InstanceStatus::Succeeded, u"finished across the restart"_s);
            QTRY_COMPARE_WITH_TIMEOUT(statusOf(engine, id), toString(InstanceStatus::Succeeded),
                                      kWaitMs);
            QCOMPARE(detail(engine, id).instance.result, u"finished across the restart"_s);
            QCOMPARE(detail(engine, id).instance.attempt, 1);
            QVERIFY(!w.has(wire::type::Cancel));
        } else {
            QTRY_COMPARE_WITH_TIMEOUT(statusOf(engine, id), toString(InstanceStatus::Failed),
                                      kWaitMs);
            const Instance inst = detail(engine, id).instance;
            QCOMPARE(inst.reason,
                     u"worker lost: it did not come back after the server restarted"_s);
            // Held for the time a live worker needs to show up, from the engine's start.
            QVERIFY2(
                inst.finishedAtMs - startedMs >= kDeadAfterMs,
                qPrintable(u"failed %1 ms after the start"_s.arg(inst.finishedAtMs - startedMs)));
            // Coming back later is too late: the worker is told to stop the run.
            FakeWorker w(server->port(), u"w1"_s);
            QVERIFY(w.login({key}));
            const auto cancel = w.take(wire::type::Cancel);
            QVERIFY(cancel);
            QCOMPARE(wire::decodeCancel(*cancel).items.value(0).key.instanceId, id);
        }
    }

    // kairos-bench's dispatch-to-start figure: a RUNNING report stamped in microseconds (`tu`)
    // gives (stamp - the time the dispatch was sent); unstamped and terminal reports give none.
    void runningReportsWithAMicrosecondStampGiveStartLatencies()
    {
        auto server = startServer(freshDb());
        FakeWorker w(server->port(), u"w1"_s);
        w.startHeartbeats();
        QVERIFY(w.login());
        QCOMPARE(server->engine->workerLinks().size(), 1);
        auto *link = qobject_cast<RemoteWorkerLink *>(server->engine->workerLinks().first());
        QVERIFY(link);
        QSignalSpy latencies(link, &RemoteWorkerLink::startLatencies);
        const Job job = created(*server->engine);

        const qint64 beforeRun = nowUs();
        const qint64 stamped = run(*server->engine, job.id);
        const qint64 plain = run(*server->engine, job.id);
        QList<TaskSpec> tasks;
        while (tasks.size() < 2) { // one `dispatch` or two, as the turns fall
            const QList<TaskSpec> more = w.takeDispatch();
            if (more.isEmpty())
                break;
            tasks << more;
        }
        QCOMPARE(tasks.size(), 2);
        const qint64 afterDispatch = nowUs();
        const TaskKey stampedKey =
            taskKeyOf(tasks.at(0).instanceId == stamped ? tasks.at(0) : tasks.at(1));
        const TaskKey plainKey =
            taskKeyOf(tasks.at(0).instanceId == plain ? tasks.at(0) : tasks.at(1));
        QCOMPARE(stampedKey.instanceId, stamped);
        QCOMPARE(plainKey.instanceId, plain);

        // 1 ms after the dispatch arrived here; the link sent it before that.
        const qint64 startUs = afterDispatch + 1000;
        TaskReport started{stamped, stampedKey.attempt, 0, 1, InstanceStatus::Running};
        started.timeMs = startUs / 1000;
        started.timeUs = startUs;
        TaskReport unstamped{plain, plainKey.attempt, 0, 1, InstanceStatus::Running};
        unstamped.timeMs = nowMs();
        w.conn.send(wire::encodeStatus({started, unstamped}));
        QVERIFY(w.sync());
        QCOMPARE(latencies.size(), 1);
        const auto values = latencies.first().first().value<QList<qint64>>();
        QCOMPARE(values.size(), 1);
        QVERIFY2(values.first() >= 1000 && values.first() <= startUs - beforeRun,
                 qPrintable(u"latency %1 us, expected 1000..%2"_s.arg(values.first())
                                .arg(startUs - beforeRun)));

        // Terminal reports carry the stamp too, but only starts are measured.
        TaskReport done = started;
        done.status = InstanceStatus::Succeeded;
        done.timeUs = nowUs();
        done.timeMs = done.timeUs / 1000;
        w.conn.send(wire::encodeStatus({done}));
        w.report(plainKey, InstanceStatus::Succeeded);
        QVERIFY(w.sync());
        QCOMPARE(latencies.size(), 1);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(*server->engine, stamped),
                                  toString(InstanceStatus::Succeeded), kWaitMs);
    }
};

QTEST_GUILESS_MAIN(TstWorkerService)
#include "tst_worker_service.moc"
