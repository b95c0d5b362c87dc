// The task tracker (docs/execution-modes.md) on a real store thread over a temporary SQLite
// database, with the real instance book, job catalog and dispatcher, and scripted worker links
// that stand in for workers: they record every task they are given and run it the way the test
// says (a map root maps items, a reduce pages through results, a subtask echoes its item). What
// is checked is what a user would: the stored task rows (status, runs, worker, address), what
// each worker was given, what a postProcess and a reduce saw, and how the instance ended.
#include <core/clock.h>
#include <server/dispatcher.h>
#include <server/instance_book.h>
#include <server/job_catalog.h>
#include <server/task_tracker.h>
#include <server/worker_link.h>
#include <store/instance_repository.h>
#include <store/job_repository.h>
#include <store/store_thread.h>
#include <store/task_repository.h>

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <deque>
#include <functional>
#include <memory>

using namespace kairos;
using namespace kairos::server;

// The enums compare by their names, which is also what a failure prints. (QCOMPARE itself would
// find kairos::toString, which returns a QString, instead of QTest's.)
#define QCOMPARE_ENUM(actual, expected)                                                            \
    QCOMPARE(kairos::toString(actual), kairos::toString(expected))

namespace {

quint64 g_nextCallId = 0;

// A worker the test drives. Tasks it is given wait in its queue; with `autoRun` it works through
// `perTick` of them per event-loop turn, handing each to `behaviour` (default: succeed, echoing
// a subtask's item). Reports of one turn leave in one batch, as a real worker's do.
class FakeLink : public WorkerLink {
    Q_OBJECT
public:
    using Behaviour = std::function<void(FakeLink &, const TaskSpec &)>;

    FakeLink(QString id, int capacity, QObject *parent = nullptr)
        : WorkerLink(parent)
        , m_id(std::move(id))
        , m_capacity(capacity)
    {
        m_tick.setInterval(0);
        connect(&m_tick, &QTimer::timeout, this, &FakeLink::tick);
    }

    QString id() const override { return m_id; }
    QString address() const override { return QStringLiteral("10.0.0.%1").arg(m_id.mid(1)); }
    QString app() const override { return QStringLiteral("default"); }
    bool isAlive() const override { return alive; }
    int freeSlots() const override { return alive ? m_capacity - int(held.size()) : 0; }
    int slotCount() const override { return m_capacity; }

    void dispatch(const QList<TaskSpec> &tasks) override
    {
        ++dispatchCalls;
        for (const TaskSpec &t : tasks) {
            dispatched << t;
            held.insert(taskKeyOf(t), t);
            m_queue.push_back(taskKeyOf(t));
        }
        if (autoRun && alive)
            m_tick.start();
    }
    void cancel(qint64, int, const QString &) override {}
    void cancelTasks(const QList<TaskKey> &keys, const QString &reason) override
    {
        canceled << keys;
        if (!alive)
            return;
        for (const TaskKey &k : keys) {
            if (held.contains(k))
                complete(k, InstanceStatus::Canceled, reason);
        }
        flushSoon();
    }
    void answer(const QList<TaskCallReply> &replies) override
    {
        for (const TaskCallReply &r : replies) {
            answers << r;
            auto fn = m_pendingCalls.take(r.callId);
            if (fn)
                QTimer::singleShot(0, this, [fn, r] { fn(r); });
        }
    }

    // --- driving -----------------------------------------------------------------------------

    // Sends one call of a run; `onReply` gets the server's answer.
    void call(TaskCall c, std::function<void(const TaskCallReply &)> onReply = {})
    {
        c.callId = ++g_nextCallId;
        m_pendingCalls.insert(c.callId, std::move(onReply));
        emit calls({c});
    }
    // Queues Running + the terminal report of a held run; sent at the end of the turn.
    void complete(const TaskKey &k, InstanceStatus status, const QString &result = {})
    {
        if (!held.remove(k))
            return;
        const qint64 now = nowMs();
        m_out << TaskReport{
            k.instanceId, k.attempt, k.taskId, k.taskAttempt, InstanceStatus::Running, {}, now};
        m_out << TaskReport{k.instanceId, k.attempt, k.taskId, k.taskAttempt, status, result, now};
        completions << std::pair{k, status};
        flushSoon();
    }
    void succeed(const TaskSpec &s, const QString &result)
    {
        complete(taskKeyOf(s), InstanceStatus::Succeeded, result);
    }
    void lose(const QString &reason)
    {
        alive = false;
        m_tick.stop();
        emit lost(reason, nowMs());
    }
    void startAuto()
    {
        autoRun = true;
        if (!m_queue.empty())
            m_tick.start();
    }

    QList<TaskSpec> ofRole(TaskRole role) const
    {
        QList<TaskSpec> out;
        for (const TaskSpec &s : dispatched) {
            if (s.role == role)
                out << s;
        }
        return out;
    }

    bool alive = true;
    bool autoRun = false;
    int perTick = 64;
    Behaviour behaviour;
    QList<TaskSpec> dispatched;
    QHash<TaskKey, TaskSpec> held;
    QList<TaskKey> canceled;
    QList<TaskCallReply> answers;
    QList<std::pair<TaskKey, InstanceStatus>> completions;
    int dispatchCalls = 0;

private:
    void tick()
    {
        int n = 0;
        while (alive && !m_queue.empty() && n < perTick) {
            const TaskKey k = m_queue.front();
            m_queue.pop_front();
            const auto it = held.constFind(k);
            if (it == held.cend())
                continue;
            ++n;
            const TaskSpec spec = *it;
            if (behaviour)
                behaviour(*this, spec);
            else
                succeed(spec, spec.role == TaskRole::Subtask ? QString::fromLatin1(spec.payload)
                                                             : QStringLiteral("ok"));
        }
        if (m_queue.empty() || !alive)
            m_tick.stop();
        flush();
    }
    void flushSoon()
    {
        if (!m_flushScheduled) {
            m_flushScheduled = true;
            QTimer::singleShot(0, this, &FakeLink::flush);
        }
    }
    void flush()
    {
        m_flushScheduled = false;
        if (m_out.isEmpty() || !alive)
            return;
        emit reports(std::exchange(m_out, {}));
    }

    QString m_id;
    int m_capacity;
    std::deque<TaskKey> m_queue;
    QList<TaskReport> m_out;
    bool m_flushScheduled = false;
    QHash<quint64, std::function<void(const TaskCallReply &)>> m_pendingCalls;
    QTimer m_tick;
};

// A map processor played by the links: the root maps `items` numbers in calls of `chunk`, one
// call after the other (as the SDK does); a subtask succeeds with its item; a reduce reads every
// result page by page and records what it saw.
struct MapScript {
    int items = 0;
    int chunk = 10000;
    QList<qint64> reducedIds; // every task id the reduce read, in order
    QList<QString> reducedItems;
    int reduces = 0;

    FakeLink::Behaviour behaviour()
    {
        return [this](FakeLink &link, const TaskSpec &spec) {
            switch (spec.role) {
            case TaskRole::Root:
                mapFrom(link, spec, 0);
                break;
            case TaskRole::Reduce:
                ++reduces;
                readFrom(link, spec, 0);
                break;
            default:
                link.succeed(spec, QString::fromLatin1(spec.payload));
                break;
            }
        };
    }

    void mapFrom(FakeLink &link, const TaskSpec &spec, int from)
    {
        if (from >= items) {
            link.succeed(spec, QStringLiteral("mapped %1").arg(items));
            return;
        }
        TaskCall c;
        c.key = taskKeyOf(spec);
        c.op = TaskCall::Op::Map;
        c.name = QStringLiteral("number");
        c.from = from;
        for (int i = from; i < std::min(items, from + chunk); ++i)
            c.items << QByteArray::number(i);
        QPointer<FakeLink> l(&link);
        link.call(c, [this, l, spec, from](const TaskCallReply &r) {
            if (!l || !l->held.contains(taskKeyOf(spec)))
                return;
            if (!r.error.isEmpty()) {
                l->complete(taskKeyOf(spec), InstanceStatus::Failed, r.error);
                return;
            }
            mapFrom(*l, spec, from + chunk);
        });
    }

    void readFrom(FakeLink &link, const TaskSpec &spec, qint64 after)
    {
        TaskCall c;
        c.key = taskKeyOf(spec);
        c.op = TaskCall::Op::Results;
        c.afterTaskId = after;
        c.limit = 4096;
        QPointer<FakeLink> l(&link);
        link.call(c, [this, l, spec](const TaskCallReply &r) {
            if (!l || !l->held.contains(taskKeyOf(spec)))
                return;
            if (!r.error.isEmpty()) {
                l->complete(taskKeyOf(spec), InstanceStatus::Failed, r.error);
                return;
            }
            for (const TaskResultEntry &e : r.results) {
                reducedIds << e.taskId;
                reducedItems << e.result;
            }
            if (r.end) {
                l->succeed(spec, QString::number(reducedIds.size()));
                return;
            }
            readFrom(*l, spec, r.results.isEmpty() ? 0 : r.results.last().taskId);
        });
    }
};

struct Finished {
    qint64 instanceId = 0;
    int attempt = 0;
    InstanceStatus status = InstanceStatus::Failed;
    QString result;
};

// The engine's part around the tracker: store, catalog, book, dispatcher and the wiring of
// links (reports, calls, returns, losses) the Engine does.
class Server : public QObject {
    Q_OBJECT
public:
    explicit Server(const QString &dbPath)
    {
        auto s = StoreThread::start(*StoreConfig::parse(dbPath));
        if (!s.ok())
            qFatal("store: %s", qPrintable(s.error()));
        store = std::move(s).value();
        book = std::make_unique<InstanceBook>(store.get());
        dispatcher = std::make_unique<Dispatcher>(catalog, *book);
        tracker = std::make_unique<TaskTracker>(catalog, *book, *dispatcher, store.get());
        dispatcher->setTracker(tracker.get());
        connect(tracker.get(), &TaskTracker::runFinished, this,
                [this](qint64 id, int attempt, InstanceStatus status, const QString &result,
                       qint64 timeMs) {
                    finished << Finished{id, attempt, status, result};
                    // What Engine::endAttempt does for an attempt that is not retried.
                    book->transition(id, status, [&](Instance &i) {
                        i.result = result;
                        i.reason = status == InstanceStatus::Succeeded ? QString() : result;
                        i.finishedAtMs = timeMs;
                    });
                    if (JobEntry *e = catalog.find(book->find(id) ? book->find(id)->jobId : 0))
                        e->running = std::max(0, e->running - 1);
                });
        connect(tracker.get(), &TaskTracker::progress, this,
                [this](const QList<TaskProgress> &events) {
                    ++progressEmissions;
                    progress << events;
                });
    }

    ~Server() override
    {
        dispatcher->setTracker(nullptr);
        tracker.reset();
        dispatcher.reset();
        book.reset();
        links.clear();
        store.reset();
    }

    // Stores the job (the instances table refers to it) and puts it in the catalog.
    Job addJob(Job job)
    {
        if (job.name.isEmpty())
            job.name = QStringLiteral("job");
        auto stored =
            store->callBlocking([job](Database &db) { return JobRepository(db).insert(job); });
        if (!stored.ok())
            qFatal("job: %s", qPrintable(stored.error()));
        catalog.put(stored.value(), std::nullopt);
        return stored.value();
    }

    FakeLink *addLink(const QString &id, int capacity = 64)
    {
        links.push_back(std::make_unique<FakeLink>(id, capacity));
        FakeLink *link = links.back().get();
        connect(link, &WorkerLink::reports, this, [this, link](const QList<TaskReport> &r) {
            tracker->onReports(link, r);
            dispatcher->pump();
        });
        connect(link, &WorkerLink::calls, this,
                [this, link](const QList<TaskCall> &c) { tracker->onCalls(link, c); });
        connect(link, &WorkerLink::returned, this,
                [this, link](const QList<TaskKey> &k, const QString &reason) {
                    tracker->onReturned(link, k, reason);
                });
        connect(link, &WorkerLink::lost, this,
                [this, link](const QString &reason, qint64 notBefore) {
                    dispatcher->removeLink(link);
                    tracker->onWorkerLost(link, reason, notBefore);
                    dispatcher->pump();
                });
        dispatcher->addLink(link);
        return link;
    }

    // Creates a WAITING_DISPATCH instance of the job and queues it, as runJob does.
    qint64 run(const Job &job)
    {
        Instance inst;
        inst.jobId = job.id;
        inst.jobName = job.name;
        inst.status = InstanceStatus::WaitingDispatch;
        inst.createdAtMs = nowMs();
        qint64 id = 0;
        book->insert({inst}, [&id](const QList<Instance> &rows, const QList<bool> &, Status s) {
            if (s.ok())
                id = rows.first().id;
        });
        if (!QTest::qWaitFor([&] { return id > 0; }, 10000))
            qFatal("instance insert timed out");
        dispatcher->enqueue(id);
        return id;
    }

    bool waitFinished(qint64 id, int timeoutMs = 20000)
    {
        return QTest::qWaitFor([&] { return finishedRun(id) != nullptr; }, timeoutMs);
    }
    const Finished *finishedRun(qint64 id) const
    {
        for (const Finished &f : finished) {
            if (f.instanceId == id)
                return &f;
        }
        return nullptr;
    }

    void flush()
    {
        bool tasks = false;
        bool instances = false;
        tracker->whenFlushed([&] { tasks = true; });
        book->whenFlushed([&] { instances = true; });
        if (!QTest::qWaitFor([&] { return tasks && instances; }, 20000))
            qFatal("flush timed out");
    }

    // Every stored task row of the instance's first attempt, by id.
    QList<TaskInfo> rows(qint64 id)
    {
        flush();
        return store->callBlocking([id](Database &db) {
            QList<TaskInfo> all;
            TaskFilter f;
            f.limit = 1000;
            for (;;) {
                const QList<TaskInfo> page = TaskRepository(db).list(id, 1, f);
                all << page;
                if (page.size() < f.limit)
                    return all;
                f.afterTaskId = page.last().taskId;
            }
        });
    }

    InstanceStatus statusOf(qint64 id)
    {
        if (const Instance *i = book->find(id))
            return i->status;
        flush();
        return store->callBlocking([id](Database &db) {
            auto inst = InstanceRepository(db).get(id);
            return inst ? inst->status : InstanceStatus::Skipped;
        });
    }

    std::unique_ptr<StoreThread> store;
    JobCatalog catalog{QTimeZone::utc()};
    std::unique_ptr<InstanceBook> book;
    std::unique_ptr<Dispatcher> dispatcher;
    std::unique_ptr<TaskTracker> tracker;
    std::vector<std::unique_ptr<FakeLink>> links;
    QList<Finished> finished;
    QList<TaskProgress> progress;
    int progressEmissions = 0;
};

QList<TaskInfo> ofRole(const QList<TaskInfo> &rows, TaskRole role)
{
    QList<TaskInfo> out;
    for (const TaskInfo &t : rows) {
        if (t.role == role)
            out << t;
    }
    return out;
}

Job broadcastJob(bool hooks)
{
    Job job;
    job.name = QStringLiteral("broadcast");
    job.mode = ExecutionMode::Broadcast;
    job.processor = ProcessorKind::Shell;
    job.processorConfig = QJsonObject{{QStringLiteral("script"), QStringLiteral("true")}};
    if (hooks) {
        job.processorConfig.insert(QStringLiteral("preScript"), QStringLiteral("true"));
        job.processorConfig.insert(QStringLiteral("postScript"), QStringLiteral("true"));
    }
    return job;
}

Job mapJob(ExecutionMode mode, int taskRetries = 0)
{
    Job job;
    job.name = QStringLiteral("map");
    job.mode = mode;
    job.processor = ProcessorKind::Container;
    job.processorConfig = QJsonObject{{QStringLiteral("ref"), QStringLiteral("builtin#test")}};
    job.dispatch.taskRetryCount = taskRetries;
    return job;
}

} // namespace

class TstTaskTracker : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    int m_db = 0;

    QString freshDb() { return m_dir.filePath(QStringLiteral("tracker-%1.db").arg(++m_db)); }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // --- broadcast ---------------------------------------------------------------------------

    // Four workers at dispatch; w3 dies right after it got its task; w5 registers afterwards.
    void broadcastLostWorkerFailsOnlyItsTask()
    {
        Server server(freshDb());
        const Job job = server.addJob(broadcastJob(true));
        QList<FakeLink *> set;
        for (const char *id : {"w1", "w2", "w3", "w4"}) {
            FakeLink *l = server.addLink(QString::fromLatin1(id));
            l->startAuto();
            set << l;
        }
        FakeLink *w3 = set[2];
        w3->behaviour = [](FakeLink &l, const TaskSpec &s) {
            if (s.role != TaskRole::Broadcast) // its broadcast task never reports
                l.succeed(s, QStringLiteral("ok"));
        };
        QList<TaskResultEntry> postSaw;
        for (FakeLink *l : set) {
            l->behaviour = [inner = l->behaviour, &postSaw](FakeLink &link, const TaskSpec &s) {
                if (s.role == TaskRole::PostProcess)
                    postSaw = s.results;
                if (inner)
                    inner(link, s);
                else
                    link.succeed(s, s.role == TaskRole::PostProcess ? QStringLiteral("post done")
                                                                    : QStringLiteral("ok"));
            };
        }
        const qint64 id = server.run(job);
        QTRY_COMPARE_WITH_TIMEOUT(w3->ofRole(TaskRole::Broadcast).size(), 1, 10000);
        w3->lose(QStringLiteral("connection closed"));
        FakeLink *w5 = server.addLink(QStringLiteral("w5"));
        w5->startAuto();
        QVERIFY(server.waitFinished(id));

        const Finished *f = server.finishedRun(id);
        QCOMPARE_ENUM(f->status, InstanceStatus::Failed);
        QVERIFY2(f->result.contains(QStringLiteral("3 of 4 workers succeeded")),
                 qPrintable(f->result));
        QCOMPARE_ENUM(server.statusOf(id), InstanceStatus::Failed);

        const QList<TaskInfo> rows = server.rows(id);
        QCOMPARE(rows.size(), 6);
        QCOMPARE(ofRole(rows, TaskRole::PreProcess).size(), 1);
        QCOMPARE_ENUM(ofRole(rows, TaskRole::PreProcess).first().status, InstanceStatus::Succeeded);
        const QList<TaskInfo> bc = ofRole(rows, TaskRole::Broadcast);
        QCOMPARE(bc.size(), 4);
        for (const TaskInfo &t : bc) {
            QCOMPARE(t.runs, 1);
            QCOMPARE(t.address, QStringLiteral("10.0.0.%1").arg(t.worker.mid(1)));
            if (t.worker == QLatin1String("w3")) {
                QCOMPARE_ENUM(t.status, InstanceStatus::Failed);
                QVERIFY2(t.result.startsWith(QStringLiteral("worker lost: connection closed")),
                         qPrintable(t.result));
            } else {
                QCOMPARE_ENUM(t.status, InstanceStatus::Succeeded);
            }
        }
        const QList<TaskInfo> post = ofRole(rows, TaskRole::PostProcess);
        QCOMPARE(post.size(), 1);
        QCOMPARE_ENUM(post.first().status, InstanceStatus::Succeeded);

        // Each worker of the set was given its own task once; nobody else got w3's; w5 nothing.
        for (FakeLink *l : set) {
            const QList<TaskSpec> mine = l->ofRole(TaskRole::Broadcast);
            QCOMPARE(mine.size(), 1);
            QCOMPARE(mine.first().taskAttempt, 1);
        }
        QVERIFY(w5->dispatched.isEmpty());
        int pres = 0;
        int posts = 0;
        for (FakeLink *l : set) {
            pres += int(l->ofRole(TaskRole::PreProcess).size());
            posts += int(l->ofRole(TaskRole::PostProcess).size());
        }
        QCOMPARE(pres, 1);
        QCOMPARE(posts, 1);
        // postProcess saw all four, the lost one FAILED with its address.
        QCOMPARE(postSaw.size(), 4);
        for (const TaskResultEntry &r : postSaw) {
            QCOMPARE(r.address, QStringLiteral("10.0.0.%1").arg(r.worker.mid(1)));
            QCOMPARE_ENUM(r.status, r.worker == QLatin1String("w3") ? InstanceStatus::Failed
                                                                    : InstanceStatus::Succeeded);
        }
    }

    void broadcastAllSucceed_data()
    {
        QTest::addColumn<bool>("hooks");
        QTest::addColumn<int>("rows");
        QTest::addColumn<QString>("result");
        QTest::newRow("without hooks") << false << 3 << "3 of 3 workers succeeded";
        QTest::newRow("with pre and post") << true << 5 << "post says hi";
    }

    void broadcastAllSucceed()
    {
        QFETCH(bool, hooks);
        QFETCH(int, rows);
        QFETCH(QString, result);
        Server server(freshDb());
        const Job job = server.addJob(broadcastJob(hooks));
        QList<FakeLink *> set;
        for (const char *wid : {"w1", "w2", "w3"}) {
            FakeLink *l = server.addLink(QString::fromLatin1(wid));
            l->behaviour = [](FakeLink &link, const TaskSpec &s) {
                link.succeed(s, s.role == TaskRole::PostProcess ? QStringLiteral("post says hi")
                                                                : QStringLiteral("ok"));
            };
            l->startAuto();
            set << l;
        }
        const qint64 id = server.run(job);
        QVERIFY(server.waitFinished(id));
        QCOMPARE_ENUM(server.finishedRun(id)->status, InstanceStatus::Succeeded);
        QCOMPARE(server.finishedRun(id)->result, result);
        QCOMPARE_ENUM(server.statusOf(id), InstanceStatus::Succeeded);
        const QList<TaskInfo> stored = server.rows(id);
        QCOMPARE(stored.size(), rows);
        for (const TaskInfo &t : stored)
            QCOMPARE_ENUM(t.status, InstanceStatus::Succeeded);
        for (FakeLink *l : set)
            QCOMPARE(l->ofRole(TaskRole::Broadcast).size(), 1);
    }

    void broadcastPreProcessFailureStopsTheFanOut()
    {
        Server server(freshDb());
        const Job job = server.addJob(broadcastJob(true));
        QList<FakeLink *> set;
        for (const char *wid : {"w1", "w2"}) {
            FakeLink *l = server.addLink(QString::fromLatin1(wid));
            l->behaviour = [](FakeLink &link, const TaskSpec &s) {
                if (s.role == TaskRole::PreProcess)
                    link.complete(taskKeyOf(s), InstanceStatus::Failed, QStringLiteral("no disk"));
                else
                    link.succeed(s, QStringLiteral("ok"));
            };
            l->startAuto();
            set << l;
        }
        const qint64 id = server.run(job);
        QVERIFY(server.waitFinished(id));
        QCOMPARE_ENUM(server.finishedRun(id)->status, InstanceStatus::Failed);
        QCOMPARE(server.finishedRun(id)->result, QStringLiteral("preProcess failed: no disk"));
        for (FakeLink *l : set) {
            QVERIFY(l->ofRole(TaskRole::Broadcast).isEmpty());
            QVERIFY(l->ofRole(TaskRole::PostProcess).isEmpty());
        }
        const QList<TaskInfo> rows = server.rows(id);
        QCOMPARE(rows.size(), 4);
        QCOMPARE_ENUM(ofRole(rows, TaskRole::PreProcess).first().status, InstanceStatus::Failed);
        for (const TaskInfo &t : rows) {
            if (t.role != TaskRole::PreProcess)
                QCOMPARE_ENUM(t.status, InstanceStatus::Canceled);
        }
    }

    // A broadcast task whose processor fails runs again on its own worker only.
    void broadcastRetryStaysOnItsWorker()
    {
        Server server(freshDb());
        Job job = broadcastJob(false);
        job.dispatch.taskRetryCount = 1;
        job = server.addJob(job);
        FakeLink *w1 = server.addLink(QStringLiteral("w1"));
        FakeLink *w2 = server.addLink(QStringLiteral("w2"));
        w2->behaviour = [](FakeLink &l, const TaskSpec &s) {
            if (s.taskAttempt == 1)
                l.complete(taskKeyOf(s), InstanceStatus::Failed, QStringLiteral("flaky"));
            else
                l.succeed(s, QStringLiteral("second time"));
        };
        w1->startAuto();
        w2->startAuto();
        const qint64 id = server.run(job);
        QVERIFY(server.waitFinished(id));
        QCOMPARE_ENUM(server.finishedRun(id)->status, InstanceStatus::Succeeded);
        QCOMPARE(w1->dispatched.size(), 1);
        QCOMPARE(w2->dispatched.size(), 2);
        QCOMPARE(w2->dispatched.at(1).taskId, w2->dispatched.at(0).taskId);
        QCOMPARE(w2->dispatched.at(1).taskAttempt, 2);
        for (const TaskInfo &t : server.rows(id)) {
            QCOMPARE_ENUM(t.status, InstanceStatus::Succeeded);
            QCOMPARE(t.runs, t.worker == QLatin1String("w2") ? 2 : 1);
        }
    }

    // --- map / map-reduce ----------------------------------------------------------------------

    // 20,000 subtasks over three workers; w2 dies with tasks in hand once a quarter is done.
    void mapReduceFailsOverALostWorker()
    {
        constexpr int kItems = 20000;
        Server server(freshDb());
        const Job job = server.addJob(mapJob(ExecutionMode::MapReduce));
        MapScript script;
        script.items = kItems;
        QList<FakeLink *> links;
        for (const char *wid : {"w1", "w2", "w3"}) {
            FakeLink *l = server.addLink(QString::fromLatin1(wid), 32);
            l->behaviour = script.behaviour();
            l->perTick = 16;
            l->startAuto();
            links << l;
        }
        // w2 works through 300 subtasks, then hangs on to whatever it gets.
        FakeLink *w2 = links[1];
        int w2Done = 0;
        w2->behaviour = [&script, &w2Done](FakeLink &l, const TaskSpec &s) {
            if (s.role == TaskRole::Subtask && ++w2Done > 300)
                return;
            script.behaviour()(l, s);
        };
        const qint64 id = server.run(job);
        // Once a quarter is done, w2 dies with the tasks in its hands.
        qint64 succeeded = 0;
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                for (const TaskProgress &p : std::as_const(server.progress))
                    succeeded = std::max(succeeded, p.counts.succeeded);
                return succeeded >= kItems / 4 && !w2->held.isEmpty();
            }(),
            30000);
        const QList<TaskKey> inHand = w2->held.keys();
        w2->lose(QStringLiteral("heartbeat timeout"));
        QVERIFY(server.waitFinished(id, 60000));

        const Finished *f = server.finishedRun(id);
        QCOMPARE_ENUM(f->status, InstanceStatus::Succeeded);
        QCOMPARE(f->result, QString::number(kItems));
        QCOMPARE(script.reduces, 1);

        // The reduce read each subtask once, and every item once.
        QCOMPARE(script.reducedIds.size(), kItems);
        QCOMPARE(QSet<qint64>(script.reducedIds.begin(), script.reducedIds.end()).size(), kItems);
        QCOMPARE(QSet<QString>(script.reducedItems.begin(), script.reducedItems.end()).size(),
                 kItems);
        QVERIFY(std::is_sorted(script.reducedIds.begin(), script.reducedIds.end()));

        const QList<TaskInfo> rows = server.rows(id);
        QCOMPARE(rows.size(), kItems + 2);
        QCOMPARE(ofRole(rows, TaskRole::Root).size(), 1);
        QCOMPARE(ofRole(rows, TaskRole::Reduce).size(), 1);
        QHash<qint64, TaskInfo> byId;
        for (const TaskInfo &t : rows) {
            QCOMPARE_ENUM(t.status, InstanceStatus::Succeeded);
            byId.insert(t.taskId, t);
        }
        // What w2 held ran again elsewhere, one run later.
        for (const TaskKey &k : inHand) {
            const TaskInfo t = byId.value(k.taskId);
            QCOMPARE(t.runs, k.taskAttempt + 1);
            QVERIFY(t.worker != QLatin1String("w2"));
        }
        // Every task ended once: each had exactly one accepted completion among the workers.
        QHash<qint64, int> completions;
        for (FakeLink *l : links) {
            for (const auto &[k, s] : l->completions) {
                if (k.instanceId == id && byId.value(k.taskId).runs == k.taskAttempt)
                    ++completions[k.taskId];
            }
        }
        QCOMPARE(completions.size(), kItems + 2);
        for (auto it = completions.cbegin(); it != completions.cend(); ++it)
            QCOMPARE(it.value(), 1);
        // No held-back slots: nothing is left on the workers.
        for (FakeLink *l : links) {
            if (l != w2)
                QVERIFY(l->held.isEmpty());
        }
    }

    // The root maps 100 items, its worker dies, the rerun maps the same 200 items again in two
    // calls: the first 100 are not stored twice.
    void remappingAfterARerunCreatesNoDuplicates()
    {
        Server server(freshDb());
        const Job job = server.addJob(mapJob(ExecutionMode::Map));
        FakeLink *a = server.addLink(QStringLiteral("w1"));
        FakeLink *b = server.addLink(QStringLiteral("w2"));
        for (FakeLink *l : {a, b}) {
            // Subtasks echo their item; the root is played by the test.
            l->behaviour = [](FakeLink &link, const TaskSpec &s) {
                if (s.role == TaskRole::Subtask)
                    link.succeed(s, QString::fromLatin1(s.payload));
            };
            l->startAuto();
        }
        const qint64 id = server.run(job);
        QTRY_COMPARE_WITH_TIMEOUT(a->ofRole(TaskRole::Root).size()
                                      + b->ofRole(TaskRole::Root).size(),
                                  qsizetype(1), 10000);
        FakeLink *first = a->ofRole(TaskRole::Root).isEmpty() ? b : a;
        FakeLink *second = first == a ? b : a;
        const TaskSpec root = first->ofRole(TaskRole::Root).first();
        QCOMPARE_ENUM(root.role, TaskRole::Root);
        QCOMPARE(root.taskAttempt, 1);

        auto mapCall = [](const TaskSpec &spec, int from, int count) {
            TaskCall c;
            c.key = taskKeyOf(spec);
            c.name = QStringLiteral("item");
            c.from = from;
            for (int i = from; i < from + count; ++i)
                c.items << QByteArray::number(i);
            return c;
        };
        std::optional<TaskCallReply> reply;
        first->call(mapCall(root, 0, 100), [&](const TaskCallReply &r) { reply = r; });
        QTRY_VERIFY_WITH_TIMEOUT(reply.has_value(), 10000);
        QCOMPARE(reply->error, QString());

        first->lose(QStringLiteral("connection closed"));
        QTRY_COMPARE_WITH_TIMEOUT(second->ofRole(TaskRole::Root).size(), qsizetype(1), 10000);
        const TaskSpec rerun = second->ofRole(TaskRole::Root).first();
        QCOMPARE(rerun.taskId, root.taskId);
        QCOMPARE(rerun.taskAttempt, 2);
        for (int from : {0, 100}) {
            reply.reset();
            second->call(mapCall(rerun, from, 100), [&](const TaskCallReply &r) { reply = r; });
            QTRY_VERIFY_WITH_TIMEOUT(reply.has_value(), 10000);
            QCOMPARE(reply->error, QString());
        }
        second->succeed(rerun, QStringLiteral("mapped"));
        QVERIFY(server.waitFinished(id));
        QCOMPARE_ENUM(server.finishedRun(id)->status, InstanceStatus::Succeeded);
        QCOMPARE(server.finishedRun(id)->result, QStringLiteral("201 tasks succeeded"));

        const QList<TaskInfo> subtasks = ofRole(server.rows(id), TaskRole::Subtask);
        QCOMPARE(subtasks.size(), 200);
        QSet<qint64> seqs;
        for (const TaskInfo &t : subtasks) {
            QCOMPARE(t.parentId, root.taskId);
            QCOMPARE(t.name, QStringLiteral("item"));
            QCOMPARE(t.result, QString::number(t.seq)); // it echoed its item
            seqs.insert(t.seq);
        }
        QCOMPARE(seqs.size(), 200);
        QCOMPARE(*std::max_element(seqs.begin(), seqs.end()), 199);
    }

    // Calls the tracker must refuse, each with an error naming what is wrong.
    void callsAreFenced_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("expected");
        QTest::newRow("gap") << "gap"
                             << "starts at position 5";
        QTest::newRow("superseded run") << "superseded"
                                        << "is not a current run";
        QTest::newRow("other worker") << "otherLink"
                                      << "is not a current run";
        QTest::newRow("unknown instance") << "unknown"
                                          << "is not a current run";
        QTest::newRow("results from the root") << "results"
                                               << "only the reduce task";
    }

    void callsAreFenced()
    {
        QFETCH(QString, kind);
        QFETCH(QString, expected);
        Server server(freshDb());
        const Job job = server.addJob(mapJob(ExecutionMode::MapReduce, 1));
        FakeLink *a = server.addLink(QStringLiteral("w1"));
        const qint64 id = server.run(job);
        QTRY_COMPARE_WITH_TIMEOUT(a->dispatched.size(), qsizetype(1), 10000);
        TaskSpec root = a->dispatched.first();
        FakeLink *from = a;
        TaskCall c;
        c.key = taskKeyOf(root);
        c.items = {QByteArray("x")};
        if (kind == QLatin1String("gap")) {
            c.from = 5;
        } else if (kind == QLatin1String("superseded")) {
            // The first run fails; the retry is the current run, the first one no longer is.
            a->complete(taskKeyOf(root), InstanceStatus::Failed, QStringLiteral("oops"));
            QTRY_COMPARE_WITH_TIMEOUT(a->dispatched.size(), qsizetype(2), 10000);
            QCOMPARE(a->dispatched.at(1).taskAttempt, 2);
        } else if (kind == QLatin1String("otherLink")) {
            from = server.addLink(QStringLiteral("w2"));
        } else if (kind == QLatin1String("unknown")) {
            c.key.instanceId = id + 1000;
        } else if (kind == QLatin1String("results")) {
            c.op = TaskCall::Op::Results;
            c.limit = 10;
        }
        std::optional<TaskCallReply> reply;
        from->call(c, [&](const TaskCallReply &r) { reply = r; });
        QTRY_VERIFY_WITH_TIMEOUT(reply.has_value(), 10000);
        QVERIFY2(reply->error.contains(expected), qPrintable(reply->error));
        // Nothing was stored for it.
        QCOMPARE(ofRole(server.rows(id), TaskRole::Subtask).size(), 0);
    }

    void taskRetries_data()
    {
        QTest::addColumn<int>("retries");
        QTest::addColumn<int>("failures"); // how many runs of item "bad" fail
        QTest::addColumn<InstanceStatus>("badStatus");
        QTest::addColumn<int>("badRuns");
        QTest::addColumn<InstanceStatus>("runStatus");
        QTest::newRow("no retries")
            << 0 << 1 << InstanceStatus::Failed << 1 << InstanceStatus::Failed;
        QTest::newRow("succeeds on its third run")
            << 2 << 2 << InstanceStatus::Succeeded << 3 << InstanceStatus::Succeeded;
        QTest::newRow("fails for good")
            << 2 << 5 << InstanceStatus::Failed << 3 << InstanceStatus::Failed;
    }

    void taskRetries()
    {
        QFETCH(int, retries);
        QFETCH(int, failures);
        QFETCH(InstanceStatus, badStatus);
        QFETCH(int, badRuns);
        QFETCH(InstanceStatus, runStatus);
        Server server(freshDb());
        const Job job = server.addJob(mapJob(ExecutionMode::Map, retries));
        MapScript script;
        script.items = 3; // items "0", "1", "2": "1" is the bad one
        FakeLink *link = server.addLink(QStringLiteral("w1"));
        link->behaviour = [&script, failures](FakeLink &l, const TaskSpec &s) {
            if (s.role == TaskRole::Subtask && s.payload == "1" && s.taskAttempt <= failures) {
                l.complete(taskKeyOf(s), InstanceStatus::Failed,
                           QStringLiteral("bad item, run %1").arg(s.taskAttempt));
                return;
            }
            script.behaviour()(l, s);
        };
        link->startAuto();
        const qint64 id = server.run(job);
        QVERIFY(server.waitFinished(id));
        const Finished *f = server.finishedRun(id);
        QCOMPARE_ENUM(f->status, runStatus);
        if (runStatus == InstanceStatus::Failed) {
            QVERIFY2(f->result.startsWith(QStringLiteral("1 of 4 tasks failed; first: task")),
                     qPrintable(f->result));
            QVERIFY2(f->result.contains(QStringLiteral("bad item, run %1").arg(badRuns)),
                     qPrintable(f->result));
        } else {
            QCOMPARE(f->result, QStringLiteral("4 tasks succeeded"));
        }
        for (const TaskInfo &t : ofRole(server.rows(id), TaskRole::Subtask)) {
            if (t.seq == 1) { // item "1"
                QCOMPARE_ENUM(t.status, badStatus);
                QCOMPARE(t.runs, badRuns);
            } else {
                QCOMPARE_ENUM(t.status, InstanceStatus::Succeeded);
                QCOMPARE(t.runs, 1);
            }
        }
    }

    // Cancel with 3,000 subtasks stored, some of them on workers: the dispatched ones are
    // canceled there, the waiting ones end CANCELED without running, then the run.
    void cancelEndsEveryTask()
    {
        constexpr int kItems = 3000;
        Server server(freshDb());
        const Job job = server.addJob(mapJob(ExecutionMode::MapReduce));
        MapScript script;
        script.items = kItems;
        FakeLink *a = server.addLink(QStringLiteral("w1"), 16);
        FakeLink *b = server.addLink(QStringLiteral("w2"), 16);
        for (FakeLink *l : {a, b}) {
            // Subtasks are accepted and held: they never finish by themselves.
            l->behaviour = [&script](FakeLink &link, const TaskSpec &s) {
                if (s.role != TaskRole::Subtask)
                    script.behaviour()(link, s);
            };
            l->startAuto();
        }
        const qint64 id = server.run(job);
        QTRY_COMPARE_WITH_TIMEOUT(a->held.size() + b->held.size(), qsizetype(32), 20000);
        const QList<TaskKey> held = a->held.keys() + b->held.keys();
        server.tracker->cancel(id, QStringLiteral("canceled by the operator"));
        QVERIFY(server.waitFinished(id));
        QCOMPARE_ENUM(server.finishedRun(id)->status, InstanceStatus::Canceled);
        QCOMPARE(server.finishedRun(id)->result, QStringLiteral("canceled by the operator"));
        QCOMPARE_ENUM(server.statusOf(id), InstanceStatus::Canceled);
        QCOMPARE(QSet<TaskKey>(a->canceled.begin(), a->canceled.end())
                     + QSet<TaskKey>(b->canceled.begin(), b->canceled.end()),
                 QSet<TaskKey>(held.begin(), held.end()));
        const QList<TaskInfo> rows = server.rows(id);
        QCOMPARE(rows.size(), kItems + 1); // no reduce after a cancel
        QCOMPARE_ENUM(ofRole(rows, TaskRole::Root).first().status, InstanceStatus::Succeeded);
        for (const TaskInfo &t : ofRole(rows, TaskRole::Subtask)) {
            QCOMPARE_ENUM(t.status, InstanceStatus::Canceled);
            QCOMPARE(t.result, QStringLiteral("canceled by the operator"));
        }
        QCOMPARE(script.reduces, 0);
    }

    void deletedJobFailsTheRun()
    {
        Server server(freshDb());
        const Job job = server.addJob(mapJob(ExecutionMode::Map));
        MapScript script;
        script.items = 500;
        FakeLink *a = server.addLink(QStringLiteral("w1"), 8);
        a->behaviour = [&script](FakeLink &link, const TaskSpec &s) {
            if (s.role != TaskRole::Subtask)
                script.behaviour()(link, s);
        };
        a->startAuto();
        const qint64 id = server.run(job);
        QTRY_COMPARE_WITH_TIMEOUT(a->held.size(), qsizetype(8), 10000);
        server.catalog.remove(job.id);
        server.tracker->pump();
        QVERIFY(server.waitFinished(id));
        QCOMPARE_ENUM(server.finishedRun(id)->status, InstanceStatus::Failed);
        QCOMPARE(server.finishedRun(id)->result, QStringLiteral("the job was deleted"));
        QCOMPARE(a->canceled.size(), 8);
        for (const TaskInfo &t : ofRole(server.rows(id), TaskRole::Subtask))
            QVERIFY(isTerminal(t.status));
    }

    // --- restarts ------------------------------------------------------------------------------

    // A broadcast cut by a restart: what had not ended is FAILED("server restarted") and never
    // sent again; postProcess still runs, once, with every result.
    void restartDuringBroadcast()
    {
        const QString db = freshDb();
        qint64 id = 0;
        Job job;
        QSet<qint64> endedBefore;
        {
            Server before(db);
            job = before.addJob(broadcastJob(true));
            QList<FakeLink *> set;
            for (const char *wid : {"w1", "w2", "w3", "w4"}) {
                FakeLink *l = before.addLink(QString::fromLatin1(wid));
                // w1 and w2 finish their broadcast task, w3 and w4 are still at it.
                l->behaviour = [](FakeLink &link, const TaskSpec &s) {
                    if (s.role != TaskRole::Broadcast || link.id() == QLatin1String("w1")
                        || link.id() == QLatin1String("w2"))
                        link.succeed(s, QStringLiteral("ok"));
                };
                l->startAuto();
                set << l;
            }
            id = before.run(job);
            QTRY_VERIFY_WITH_TIMEOUT(set[2]->held.size() == 1 && set[3]->held.size() == 1
                                         && set[0]->ofRole(TaskRole::Broadcast).size() == 1
                                         && set[0]->held.isEmpty() && set[1]->held.isEmpty(),
                                     10000);
            before.flush();
            for (const TaskInfo &t : before.rows(id)) {
                if (isTerminal(t.status))
                    endedBefore.insert(t.taskId);
            }
            QCOMPARE(endedBefore.size(), 3); // pre, w1's and w2's
            // The process dies here: nothing more is written.
        }
        Server after(db);
        after.catalog.put(job, std::nullopt);
        const QList<Instance> open = after.store->callBlocking(
            [](Database &d) { return InstanceRepository(d).listNonTerminal(); });
        QCOMPARE(open.size(), 1);
        after.book->adopt(open.first());
        QList<TaskResultEntry> postSaw;
        QList<FakeLink *> set;
        for (const char *wid : {"w1", "w2", "w3", "w4"}) {
            FakeLink *l = after.addLink(QString::fromLatin1(wid));
            l->behaviour = [&postSaw](FakeLink &link, const TaskSpec &s) {
                if (s.role == TaskRole::PostProcess)
                    postSaw = s.results;
                link.succeed(s, QStringLiteral("post ok"));
            };
            l->startAuto();
            set << l;
        }
        after.tracker->recover(id);
        QVERIFY(after.tracker->owns(id));
        QVERIFY(after.waitFinished(id));
        QCOMPARE_ENUM(after.finishedRun(id)->status, InstanceStatus::Failed);
        int posts = 0;
        for (FakeLink *l : set) {
            QVERIFY(l->ofRole(TaskRole::Broadcast).isEmpty()); // never sent again
            QVERIFY(l->ofRole(TaskRole::PreProcess).isEmpty());
            posts += int(l->ofRole(TaskRole::PostProcess).size());
        }
        QCOMPARE(posts, 1);
        QCOMPARE(postSaw.size(), 4);
        for (const TaskInfo &t : after.rows(id)) {
            if (t.role == TaskRole::PostProcess) {
                QCOMPARE_ENUM(t.status, InstanceStatus::Succeeded);
            } else if (endedBefore.contains(t.taskId)) {
                QCOMPARE_ENUM(t.status, InstanceStatus::Succeeded);
            } else {
                QCOMPARE_ENUM(t.status, InstanceStatus::Failed);
                QCOMPARE(t.result, QStringLiteral("server restarted"));
                QVERIFY(!t.address.isEmpty());
            }
        }
        for (const TaskResultEntry &r : postSaw) {
            QCOMPARE_ENUM(r.status,
                          r.worker == QLatin1String("w1") || r.worker == QLatin1String("w2")
                              ? InstanceStatus::Succeeded
                              : InstanceStatus::Failed);
        }
    }

    // A map-reduce cut by a restart: the unfinished tasks (including the ones workers held) are
    // dispatched again, with run numbers no worker has seen, and the reduce reads each once.
    void restartDuringMapReduce()
    {
        constexpr int kItems = 2000;
        const QString db = freshDb();
        qint64 id = 0;
        Job job;
        QList<TaskKey> heldAtCrash;
        {
            Server before(db);
            job = before.addJob(mapJob(ExecutionMode::MapReduce));
            MapScript script;
            script.items = kItems;
            FakeLink *w1 = before.addLink(QStringLiteral("w1"), 16);
            // Finishes the first 500 subtasks, then holds what it gets.
            int done = 0;
            w1->behaviour = [&script, &done](FakeLink &l, const TaskSpec &s) {
                if (s.role == TaskRole::Subtask && ++done > 500)
                    return;
                script.behaviour()(l, s);
            };
            w1->startAuto();
            id = before.run(job);
            QTRY_COMPARE_WITH_TIMEOUT(w1->held.size(), qsizetype(16), 20000);
            heldAtCrash = w1->held.keys();
            before.flush();
        }
        Server after(db);
        after.catalog.put(job, std::nullopt);
        const QList<Instance> open = after.store->callBlocking(
            [](Database &d) { return InstanceRepository(d).listNonTerminal(); });
        QCOMPARE(open.size(), 1);
        after.book->adopt(open.first());
        MapScript script;
        script.items = kItems;
        FakeLink *w1 = after.addLink(QStringLiteral("w1"), 16);
        w1->behaviour = script.behaviour();
        w1->startAuto();
        after.tracker->recover(id);
        QVERIFY(after.waitFinished(id, 30000));
        QCOMPARE_ENUM(after.finishedRun(id)->status, InstanceStatus::Succeeded);
        QCOMPARE(after.finishedRun(id)->result, QString::number(kItems));
        QCOMPARE(script.reducedIds.size(), kItems);
        QCOMPARE(QSet<qint64>(script.reducedIds.begin(), script.reducedIds.end()).size(), kItems);
        // The root had ended before: it did not run again. Only unfinished subtasks did.
        QVERIFY(w1->ofRole(TaskRole::Root).isEmpty());
        QCOMPARE(w1->ofRole(TaskRole::Subtask).size(), kItems - 500);
        QHash<qint64, int> runOf;
        for (const TaskSpec &s : w1->dispatched)
            runOf.insert(s.taskId, s.taskAttempt);
        for (const TaskKey &k : heldAtCrash) {
            QVERIFY(runOf.contains(k.taskId));
            QVERIFY2(runOf.value(k.taskId) > k.taskAttempt,
                     "a rerun after a restart must not reuse a run number");
        }
        const QList<TaskInfo> rows = after.rows(id);
        QCOMPARE(rows.size(), kItems + 2);
        for (const TaskInfo &t : rows)
            QCOMPARE_ENUM(t.status, InstanceStatus::Succeeded);
    }

    // --- progress ------------------------------------------------------------------------------

    void progressIsCoalesced()
    {
        constexpr int kItems = 20000;
        Server server(freshDb());
        const Job job = server.addJob(mapJob(ExecutionMode::Map));
        MapScript script;
        script.items = kItems;
        for (const char *wid : {"w1", "w2"}) {
            FakeLink *l = server.addLink(QString::fromLatin1(wid), 64);
            l->behaviour = script.behaviour();
            l->startAuto();
        }
        QElapsedTimer clock;
        clock.start();
        const qint64 id = server.run(job);
        QVERIFY(server.waitFinished(id, 60000));
        // The last event (with the final counts) leaves within one interval after the end.
        QTRY_VERIFY_WITH_TIMEOUT(!server.progress.isEmpty()
                                     && server.progress.last().counts.succeeded == kItems + 1,
                                 5000);
        const qint64 elapsed = clock.elapsed();
        int events = 0;
        for (const TaskProgress &p : std::as_const(server.progress)) {
            if (p.instanceId != id)
                continue;
            ++events;
            QVERIFY(p.changed.size() <= TaskProgress::kMaxChangedPerEvent);
            QCOMPARE(p.counts.total,
                     p.counts.waiting + p.counts.running + p.counts.succeeded + p.counts.failed);
        }
        qInfo("%d task transitions, %d progress events in %lld ms", 3 * kItems, events, elapsed);
        QVERIFY(events >= 1);
        QVERIFY2(events <= elapsed / TaskTracker::kProgressIntervalMs + 2,
                 qPrintable(QStringLiteral("%1 events in %2 ms").arg(events).arg(elapsed)));
        const TaskProgress &last = server.progress.last();
        QCOMPARE(last.counts.total, qint64(kItems + 1));
        QCOMPARE(last.counts.waiting + last.counts.running + last.counts.failed, qint64(0));
    }
};

QTEST_GUILESS_MAIN(TstTaskTracker)
#include "tst_task_tracker.moc"
