// Choosing a worker (docs/protocol.md 12.4): a real Engine on a temporary SQLite store, without
// its local worker, with scripted worker links. What is checked is what an operator sees: which
// worker got each run, and the state and reason of runs that wait — health-first, round-robin,
// random and specified (ids, addresses, tags) choices, the memory/disk/overload filters with the
// WAITING_WORKER reasons they give, dispatch once a fitting worker appears or reports room, and
// full workers keeping runs queued (not waiting) without blocking other apps.
#include <core/clock.h>
#include <server/dispatcher.h>
#include <server/engine.h>
#include <server/instance_book.h>
#include <server/job_catalog.h>
#include <server/worker_link.h>
#include <store/store_thread.h>

#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace kairos;
using namespace kairos::server;

namespace {

// A worker link the test drives: it records what it is given and reports runs as the test says.
class FakeLink : public WorkerLink {
    Q_OBJECT
public:
    FakeLink(QString id, QString app, int capacity, QObject *parent = nullptr)
        : WorkerLink(parent)
        , m_id(std::move(id))
        , m_app(std::move(app))
        , m_capacity(capacity)
    {}

    QString id() const override { return m_id; }
    QString address() const override { return addressText; }
    QString app() const override { return m_app; }
    bool isAlive() const override { return alive; }
    int freeSlots() const override { return m_capacity - int(held.size()); }
    int slotCount() const override { return m_capacity; }
    QStringList tags() const override { return tagList; }
    WorkerMetrics metrics() const override { return machine; }

    void dispatch(const QList<TaskSpec> &tasks) override
    {
        for (const TaskSpec &t : tasks) {
            received << t.instanceId;
            held << taskKeyOf(t);
        }
    }
    void cancel(qint64, int, const QString &) override {}
    void cancelTasks(const QList<TaskKey> &, const QString &) override {}
    void answer(const QList<TaskCallReply> &) override {}

    // Runs and ends every held task successfully.
    void finishAll()
    {
        QList<TaskReport> reports;
        const qint64 now = nowMs();
        for (const TaskKey &k : std::as_const(held)) {
            reports << TaskReport{
                k.instanceId, k.attempt, k.taskId, k.taskAttempt, InstanceStatus::Running, {}, now};
            reports << TaskReport{
                k.instanceId,         k.attempt, k.taskId, k.taskAttempt, InstanceStatus::Succeeded,
                QStringLiteral("ok"), now};
        }
        held.clear();
        emit this->reports(reports);
    }
    // New metrics, as a heartbeat brings them.
    void report(const WorkerMetrics &m)
    {
        machine = m;
        emit changed();
    }

    QString addressText = QStringLiteral("127.0.0.1");
    QStringList tagList;
    WorkerMetrics machine; // all zero: reports none, like the local worker
    bool alive = true;
    QList<qint64> received; // instance ids, in dispatch order
    QList<TaskKey> held;

private:
    QString m_id;
    QString m_app;
    int m_capacity;
};

WorkerMetrics machine(double load1, int cpus, qint64 memFreeMb, qint64 memTotalMb,
                      qint64 diskFreeMb = 100'000)
{
    WorkerMetrics m;
    m.load1 = load1;
    m.cpus = cpus;
    m.memFreeMb = memFreeMb;
    m.memTotalMb = memTotalMb;
    m.diskFreeMb = diskFreeMb;
    return m;
}

} // namespace

class TstDispatcher : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    int m_dbCounter = 0;
    std::unique_ptr<Engine> m_engine;
    std::vector<std::unique_ptr<FakeLink>> m_links;

    Engine &engine() { return *m_engine; }

    FakeLink *addLink(const QString &id, int capacity,
                      const QString &app = QStringLiteral("default"))
    {
        m_links.push_back(std::make_unique<FakeLink>(id, app, capacity));
        return m_links.back().get();
    }
    void connectLink(FakeLink *link) { engine().addWorkerLink(link); }

    Job created(Job job)
    {
        if (job.name.isEmpty())
            job.name = QStringLiteral("job-%1").arg(++m_dbCounter);
        job.processor = ProcessorKind::Echo;
        std::optional<Result<Job>> out;
        engine().createJob(job, [&out](Result<Job> r) { out.emplace(std::move(r)); });
        if (!QTest::qWaitFor([&] { return out.has_value(); }, 10000) || !out->ok())
            qFatal("createJob failed: %s", out ? qPrintable(out->error()) : "timeout");
        return out->value();
    }

    QList<qint64> run(const Job &job, int count = 1)
    {
        std::optional<Result<QList<qint64>>> out;
        engine().runJob(job.id, QStringList(count, QString()),
                        [&out](Result<QList<qint64>> r) { out.emplace(std::move(r)); });
        if (!QTest::qWaitFor([&] { return out.has_value(); }, 10000) || !out->ok())
            qFatal("runJob failed: %s", out ? qPrintable(out->error()) : "timeout");
        return out->value();
    }

    // The engine's current view of a run (in memory, ahead of the store).
    Instance state(qint64 id)
    {
        std::optional<Result<InstanceDetail>> out;
        engine().instance(id, [&out](Result<InstanceDetail> r) { out.emplace(std::move(r)); });
        if (!QTest::qWaitFor([&] { return out.has_value(); }, 10000) || !out->ok())
            return {};
        return out->value().instance;
    }
    QString statusOf(qint64 id) { return toString(state(id).status); }

    static Job withStrategy(DispatchStrategy strategy, QStringList targets = {})
    {
        Job job;
        job.dispatch.strategy = strategy;
        job.dispatch.targets = std::move(targets);
        return job;
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void init()
    {
        EngineConfig config;
        config.store = *StoreConfig::parse(
            m_dir.filePath(QStringLiteral("dispatch-%1.db").arg(++m_dbCounter)));
        config.serverZone = QTimeZone("UTC");
        config.localWorker = false; // only the scripted links run anything
        m_engine = std::make_unique<Engine>(config);
        QVERIFY(m_engine->start().ok());
    }

    void cleanup()
    {
        m_engine.reset(); // before the links it may still point at
        m_links.clear();
    }

    void healthFirstPicksTheHealthiest_data()
    {
        QTest::addColumn<WorkerMetrics>("a");
        QTest::addColumn<int>("aHeld");
        QTest::addColumn<WorkerMetrics>("b");
        QTest::addColumn<int>("bHeld");
        QTest::addColumn<QString>("expected");

        QTest::newRow("idle CPU wins")
            << machine(3.5, 4, 4000, 8000) << 0 << machine(0.2, 4, 4000, 8000) << 0 << "b";
        QTest::newRow("free memory wins")
            << machine(1, 4, 7000, 8000) << 0 << machine(1, 4, 1000, 8000) << 0 << "a";
        QTest::newRow("free slots win")
            << machine(1, 4, 4000, 8000) << 6 << machine(1, 4, 4000, 8000) << 1 << "b";
        QTest::newRow("load outweighs slots")
            << machine(0, 4, 4000, 8000) << 4 << machine(3.9, 4, 4000, 8000) << 0 << "a";
    }

    void healthFirstPicksTheHealthiest()
    {
        QFETCH(WorkerMetrics, a);
        QFETCH(int, aHeld);
        QFETCH(WorkerMetrics, b);
        QFETCH(int, bHeld);
        QFETCH(QString, expected);
        FakeLink *la = addLink(QStringLiteral("a"), 8);
        FakeLink *lb = addLink(QStringLiteral("b"), 8);
        la->machine = a;
        lb->machine = b;
        for (int i = 0; i < aHeld; ++i)
            la->held << TaskKey{-1 - i, 1, 0}; // busy with work from elsewhere
        for (int i = 0; i < bHeld; ++i)
            lb->held << TaskKey{-100 - i, 1, 0};
        connectLink(la);
        connectLink(lb);

        const qint64 id = run(created(withStrategy(DispatchStrategy::HealthFirst))).value(0);
        QTRY_COMPARE_WITH_TIMEOUT(la->received.size() + lb->received.size(), 1, 5000);
        FakeLink *chosen = expected == QLatin1String("a") ? la : lb;
        QCOMPARE(chosen->received, QList<qint64>{id});
        QCOMPARE(state(id).worker, expected);
        QCOMPARE(statusOf(id), QStringLiteral("DISPATCHED"));
    }

    void healthFirstSpreadsABurst()
    {
        // Equally healthy workers: the slots planned within one pump count as taken, so a burst
        // does not all land on the first one.
        FakeLink *a = addLink(QStringLiteral("a"), 10);
        FakeLink *b = addLink(QStringLiteral("b"), 10);
        a->machine = b->machine = machine(0.5, 4, 4000, 8000);
        connectLink(a);
        connectLink(b);
        run(created(withStrategy(DispatchStrategy::HealthFirst)), 12);
        QTRY_COMPARE_WITH_TIMEOUT(a->received.size() + b->received.size(), 12, 5000);
        QCOMPARE(a->received.size(), 6);
        QCOMPARE(b->received.size(), 6);
    }

    void roundRobinSpreadsEvenly()
    {
        QList<FakeLink *> links;
        for (const char *id : {"w1", "w2", "w3"}) {
            links << addLink(QLatin1String(id), 100);
            connectLink(links.last());
        }
        // Unequal health must not matter to round-robin.
        links[0]->machine = machine(3.0, 4, 100, 8000);
        links[1]->machine = machine(0.0, 4, 8000, 8000);
        const Job job = created(withStrategy(DispatchStrategy::RoundRobin));
        // One burst, then runs one at a time (one pump each): both spread evenly.
        run(job, 30);
        QTRY_COMPARE_WITH_TIMEOUT(links[0]->received.size() + links[1]->received.size()
                                      + links[2]->received.size(),
                                  30, 5000);
        for (int i = 0; i < 9; ++i) {
            run(job);
            QTRY_COMPARE_WITH_TIMEOUT(links[0]->received.size() + links[1]->received.size()
                                          + links[2]->received.size(),
                                      31 + i, 5000);
        }
        for (FakeLink *l : links)
            QCOMPARE(l->received.size(), 13);
    }

    void randomUsesOnlyWorkersThatFit()
    {
        FakeLink *a = addLink(QStringLiteral("a"), 1000);
        FakeLink *b = addLink(QStringLiteral("b"), 1000);
        FakeLink *small = addLink(QStringLiteral("small"), 1000);
        // Health does not matter to RANDOM: health-first would send every run to `a`.
        a->machine = machine(0.1, 4, 8000, 8000);
        b->machine = machine(3.5, 4, 1000, 8000);
        small->machine = machine(0.1, 4, 100, 8000); // below the job's minimum
        connectLink(a);
        connectLink(b);
        connectLink(small);
        Job job = withStrategy(DispatchStrategy::Random);
        job.dispatch.minFreeMemoryMb = 512;
        run(created(job), 100);
        QTRY_COMPARE_WITH_TIMEOUT(a->received.size() + b->received.size(), 100, 5000);
        QCOMPARE(small->received.size(), 0);
        // Chance of a worker getting none of 100 uniform picks out of two: 2^-99.
        QVERIFY(a->received.size() > 0);
        QVERIFY(b->received.size() > 0);
    }

    void specifiedUsesOnlyTheTargets_data()
    {
        QTest::addColumn<QStringList>("targets");
        QTest::newRow("by id") << QStringList{QStringLiteral("gpu-box:42")};
        QTest::newRow("by advertised address") << QStringList{QStringLiteral("10.0.0.7")};
        QTest::newRow("by tag") << QStringList{QStringLiteral("tag:gpu")};
        QTest::newRow("one of several")
            << QStringList{QStringLiteral("nowhere"), QStringLiteral("tag:gpu")};
    }

    void specifiedUsesOnlyTheTargets()
    {
        QFETCH(QStringList, targets);
        FakeLink *plain = addLink(QStringLiteral("plain:1"), 100);
        plain->machine = machine(0, 8, 16000, 16000); // healthier: would win otherwise
        FakeLink *gpu = addLink(QStringLiteral("gpu-box:42"), 100);
        gpu->addressText = QStringLiteral("10.0.0.7");
        gpu->tagList = {QStringLiteral("eu"), QStringLiteral("gpu")};
        gpu->machine = machine(2, 4, 1000, 16000);
        connectLink(plain);
        connectLink(gpu);
        run(created(withStrategy(DispatchStrategy::Specified, targets)), 5);
        QTRY_COMPARE_WITH_TIMEOUT(gpu->received.size(), 5, 5000);
        QCOMPARE(plain->received.size(), 0);
    }

    void specifiedWithoutMatchWaitsAndNeverFallsBack()
    {
        FakeLink *plain = addLink(QStringLiteral("plain:1"), 100);
        connectLink(plain);
        const QList<qint64> ids =
            run(created(withStrategy(DispatchStrategy::Specified,
                                     {QStringLiteral("tag:gpu"), QStringLiteral("gpu-box:42")})),
                2);
        for (qint64 id : ids) {
            QTRY_COMPARE_WITH_TIMEOUT(statusOf(id), QStringLiteral("WAITING_WORKER"), 5000);
            QCOMPARE(state(id).reason,
                     QStringLiteral("no live worker of app 'default' matches tag:gpu, "
                                    "gpu-box:42"));
        }
        QCOMPARE(plain->received.size(), 0);

        FakeLink *gpu = addLink(QStringLiteral("gpu-box:9"), 100);
        gpu->tagList = {QStringLiteral("gpu")};
        connectLink(gpu);
        QTRY_COMPARE_WITH_TIMEOUT(gpu->received, ids, 5000);
        for (qint64 id : ids) {
            QCOMPARE(statusOf(id), QStringLiteral("DISPATCHED"));
            QCOMPARE(state(id).reason, QString());
        }
        QCOMPARE(plain->received.size(), 0);
    }

    void noWorkerOfTheAppWaitsUntilOneRegisters()
    {
        FakeLink *other = addLink(QStringLiteral("other"), 100, QStringLiteral("default"));
        connectLink(other);
        Job job;
        job.app = QStringLiteral("billing");
        const qint64 id = run(created(job)).value(0);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(id), QStringLiteral("WAITING_WORKER"), 5000);
        QCOMPARE(state(id).reason, QStringLiteral("no live worker of app 'billing' is connected"));

        FakeLink *billing = addLink(QStringLiteral("b1"), 4, QStringLiteral("billing"));
        connectLink(billing);
        QTRY_COMPARE_WITH_TIMEOUT(billing->received, QList<qint64>{id}, 5000);
        QCOMPARE(other->received.size(), 0);
    }

    void filteredWorkersGiveTheReason_data()
    {
        QTest::addColumn<WorkerMetrics>("before");
        QTest::addColumn<WorkerMetrics>("after");
        QTest::addColumn<QString>("reason");

        QTest::newRow("memory") << machine(0.1, 4, 180, 8000) << machine(0.1, 4, 1024, 8000)
                                << "worker w1 has 180 MB free memory; the job needs 512";
        QTest::newRow("disk") << machine(0.1, 4, 4000, 8000, 900)
                              << machine(0.1, 4, 4000, 8000, 5000)
                              << "worker w1 has 900 MB free disk; the job needs 2048";
        QTest::newRow("overloaded") << machine(7.2, 2, 4000, 8000) << machine(1.0, 2, 4000, 8000)
                                    << "worker w1 is overloaded (load 7.2 on 2 CPUs)";
        QTest::newRow("overloaded, one CPU")
            << machine(3.0, 1, 4000, 8000) << machine(0.5, 1, 4000, 8000)
            << "worker w1 is overloaded (load 3.0 on 1 CPU)";
    }

    void filteredWorkersGiveTheReason()
    {
        QFETCH(WorkerMetrics, before);
        QFETCH(WorkerMetrics, after);
        QFETCH(QString, reason);
        FakeLink *w1 = addLink(QStringLiteral("w1"), 8);
        w1->machine = before;
        connectLink(w1);
        Job job;
        job.dispatch.minFreeMemoryMb = 512;
        job.dispatch.minFreeDiskMb = 2048;
        const qint64 id = run(created(job)).value(0);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(id), QStringLiteral("WAITING_WORKER"), 5000);
        QCOMPARE(state(id).reason, reason);
        QCOMPARE(w1->received.size(), 0);

        // The next heartbeat shows room again: dispatched without anything else happening.
        w1->report(after);
        QTRY_COMPARE_WITH_TIMEOUT(w1->received, QList<qint64>{id}, 5000);
        QCOMPARE(statusOf(id), QStringLiteral("DISPATCHED"));
    }

    void firstRejectionIsNamed()
    {
        FakeLink *w1 = addLink(QStringLiteral("w1"), 8);
        w1->machine = machine(0.1, 4, 100, 8000);
        FakeLink *w2 = addLink(QStringLiteral("w2"), 8);
        w2->machine = machine(9.0, 2, 4000, 8000);
        connectLink(w1);
        connectLink(w2);
        Job job;
        job.dispatch.minFreeMemoryMb = 512;
        const qint64 id = run(created(job)).value(0);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(id), QStringLiteral("WAITING_WORKER"), 5000);
        QCOMPARE(state(id).reason,
                 QStringLiteral("worker w1 has 100 MB free memory; the job needs 512"));
    }

    void overloadedWorkerIsSkipped()
    {
        FakeLink *busy = addLink(QStringLiteral("busy"), 100);
        busy->machine = machine(12.0, 4, 8000, 8000);
        FakeLink *calm = addLink(QStringLiteral("calm"), 100);
        calm->machine = machine(0.5, 4, 8000, 8000);
        connectLink(busy);
        connectLink(calm);
        // Round-robin would alternate between the two if the busy one were not filtered out.
        run(created(withStrategy(DispatchStrategy::RoundRobin)), 6);
        QTRY_COMPARE_WITH_TIMEOUT(calm->received.size(), 6, 5000);
        QCOMPARE(busy->received.size(), 0);
    }

    void workerWithoutMetricsPassesTheFilters()
    {
        // The local worker reports no metrics: it is not filtered on figures it never sent.
        FakeLink *local = addLink(QStringLiteral("local"), 8, QStringLiteral("*"));
        connectLink(local);
        Job job;
        job.dispatch.minFreeMemoryMb = 4096;
        job.dispatch.minFreeDiskMb = 4096;
        const qint64 id = run(created(job)).value(0);
        QTRY_COMPARE_WITH_TIMEOUT(local->received, QList<qint64>{id}, 5000);
    }

    void fullWorkersKeepRunsQueuedNotWaiting()
    {
        FakeLink *w = addLink(QStringLiteral("w1"), 2);
        connectLink(w);
        const QList<qint64> ids = run(created(Job()), 5);
        QTRY_COMPARE_WITH_TIMEOUT(w->received.size(), 2, 5000);
        // No free slot is not a reason to wait: the rest stay queued, in order.
        for (qint64 id : ids.mid(2)) {
            QCOMPARE(statusOf(id), QStringLiteral("WAITING_DISPATCH"));
            QCOMPARE(state(id).reason, QString());
        }
        w->finishAll();
        QTRY_COMPARE_WITH_TIMEOUT(w->received.size(), 4, 5000);
        w->finishAll();
        QTRY_COMPARE_WITH_TIMEOUT(w->received.size(), 5, 5000);
        QCOMPARE(w->received, ids); // FIFO
        w->finishAll();
        for (qint64 id : ids)
            QTRY_COMPARE_WITH_TIMEOUT(statusOf(id), QStringLiteral("SUCCEEDED"), 5000);
    }

    void fullWorkersOfOneAppDoNotBlockAnother()
    {
        FakeLink *a = addLink(QStringLiteral("a1"), 1, QStringLiteral("alpha"));
        FakeLink *b = addLink(QStringLiteral("b1"), 4, QStringLiteral("beta"));
        connectLink(a);
        connectLink(b);
        Job alpha;
        alpha.app = QStringLiteral("alpha");
        Job beta;
        beta.app = QStringLiteral("beta");
        const QList<qint64> alphaIds = run(created(alpha), 3); // queued first
        QTRY_COMPARE_WITH_TIMEOUT(a->received.size(), 1, 5000);
        const QList<qint64> betaIds = run(created(beta), 2);
        QTRY_COMPARE_WITH_TIMEOUT(b->received, betaIds, 5000);
        QCOMPARE(a->received, QList<qint64>{alphaIds.first()});
        a->finishAll();
        QTRY_COMPARE_WITH_TIMEOUT(a->received, alphaIds.mid(0, 2), 5000);
    }

    void deadLinkIsNotUsed()
    {
        FakeLink *gone = addLink(QStringLiteral("gone"), 100);
        gone->alive = false;
        connectLink(gone);
        const qint64 id = run(created(Job())).value(0);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(id), QStringLiteral("WAITING_WORKER"), 5000);
        QCOMPARE(state(id).reason, QStringLiteral("no live worker of app 'default' is connected"));
        QCOMPARE(gone->received.size(), 0);
    }

    void concurrencyLimitStillApplies()
    {
        FakeLink *w = addLink(QStringLiteral("w1"), 100);
        connectLink(w);
        Job job;
        job.maxConcurrentInstances = 1;
        const QList<qint64> ids = run(created(job), 3);
        QTRY_COMPARE_WITH_TIMEOUT(w->received.size(), 1, 5000);
        QTRY_COMPARE_WITH_TIMEOUT(statusOf(ids[1]), QStringLiteral("SKIPPED"), 5000);
        QCOMPARE(statusOf(ids[2]), QStringLiteral("SKIPPED"));
        QCOMPARE(state(ids[1]).reason,
                 QStringLiteral("the job already runs 1 instance(s), its limit"));
    }
};

// A Dispatcher without an Engine: a task a worker hands back goes out again, ahead of newer
// work, with the same attempt, and keeps the job's concurrency slot semantics.
class TstDispatcherRequeue : public QObject {
    Q_OBJECT

private slots:
    void returnedRunIsDispatchedAgain()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto store = StoreThread::start(*StoreConfig::parse(dir.filePath(QStringLiteral("r.db"))));
        QVERIFY2(store.ok(), qPrintable(store.error()));
        JobCatalog catalog(QTimeZone("UTC"));
        Job job;
        job.id = 1;
        job.name = QStringLiteral("limited");
        job.maxConcurrentInstances = 1;
        catalog.put(job, std::nullopt);
        {
            InstanceBook book(store->get(), nullptr);
            Dispatcher dispatcher(catalog, book);
            // Finished runs leave the book once committed; their last state is seen here.
            QHash<qint64, InstanceStatus> committed;
            connect(&book, &InstanceBook::committed, this,
                    [&committed](const QList<Instance> &changed, const QList<LogLine> &) {
                        for (const Instance &i : changed)
                            committed[i.id] = i.status;
                    });
            FakeLink draining(QStringLiteral("draining"), QStringLiteral("default"), 10);
            FakeLink fresh(QStringLiteral("fresh"), QStringLiteral("default"), 10);
            dispatcher.addLink(&draining);

            QList<Instance> rows;
            for (int i = 0; i < 2; ++i) {
                Instance inst;
                inst.jobId = 1;
                inst.jobName = job.name;
                inst.status = InstanceStatus::WaitingDispatch;
                inst.trigger = TriggerKind::Api;
                inst.attempt = 1;
                inst.maxAttempts = 1;
                inst.createdAtMs = nowMs();
                rows << inst;
            }
            QList<qint64> ids;
            book.insert(rows, [&](const QList<Instance> &stored, const QList<bool> &, Status s) {
                QVERIFY2(s.ok(), qPrintable(s.error()));
                for (const Instance &i : stored)
                    ids << i.id;
            });
            QTRY_COMPARE_WITH_TIMEOUT(ids.size(), 2, 5000);
            // The second is held back by the limit only when the first still runs: enqueue it
            // after the first was dispatched, as a trigger arriving later would be.
            dispatcher.enqueue(ids[0]);
            QTRY_COMPARE_WITH_TIMEOUT(draining.received, QList<qint64>{ids[0]}, 5000);
            QCOMPARE(catalog.find(1)->running, 1);

            // The worker drains and hands the task back; another worker is there.
            draining.alive = false;
            dispatcher.addLink(&fresh);
            dispatcher.requeue(ids[0], QStringLiteral("handed back by worker draining: draining"));
            QCOMPARE(toString(book.find(ids[0])->status), QStringLiteral("WAITING_DISPATCH"));
            QCOMPARE(book.find(ids[0])->worker, QString());
            QCOMPARE(catalog.find(1)->running, 0); // the slot it held is free again
            dispatcher.enqueue(ids[1]);            // newer: must not overtake it

            QTRY_COMPARE_WITH_TIMEOUT(fresh.received, QList<qint64>{ids[0]}, 5000);
            QCOMPARE(book.find(ids[0])->attempt, 1); // the same attempt: it never started
            QCOMPARE(book.find(ids[0])->worker, QStringLiteral("fresh"));
            // The newer run met the limit (1) and was skipped, not the returned one.
            QTRY_COMPARE_WITH_TIMEOUT(toString(committed.value(ids[1])), QStringLiteral("SKIPPED"),
                                      5000);

            // requeue() of a run in any other state changes nothing.
            dispatcher.requeue(ids[1]);
            QCOMPARE(catalog.find(1)->running, 1);
            QCOMPARE(fresh.received, QList<qint64>{ids[0]});

            bool flushed = false;
            book.whenFlushed([&] { flushed = true; });
            QTRY_VERIFY_WITH_TIMEOUT(flushed, 5000);
        }
    }
};

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    int status = 0;
    {
        TstDispatcher t;
        status |= QTest::qExec(&t, argc, argv);
    }
    {
        TstDispatcherRequeue t;
        status |= QTest::qExec(&t, argc, argv);
    }
    return status;
}

#include "tst_dispatcher.moc"
