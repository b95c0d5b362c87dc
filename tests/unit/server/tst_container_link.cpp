// Containers through the engine's links (docs/containers.md sections 3 and 5): an Engine on a
// temporary SQLite file with the AdminService listener on 127.0.0.1, a fake remote worker
// written here with protocol::Connection and the container wire codec (what kairos-worker sends,
// and malformed variants), and the engine's own local worker with its ContainerManager. Uploads
// go through Engine::containers(). Every wait is for a condition, with a deadline.
#include <core/clock.h>
#include <protocol/connection.h>
#include <server/admin_service.h>
#include <server/container_service.h>
#include <server/credentials.h>
#include <server/engine.h>
#include <worker/container_wire.h>
#include <worker/wire.h>

#include <QCborArray>
#include <QCryptographicHash>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace kairos;
using namespace kairos::server;
using namespace Qt::StringLiterals;

namespace {

constexpr int kWaitMs = 10000;
const QString kSecret = u"worker-secret-of-default"_s;

QString fixture(const QString &name)
{
    return QStringLiteral(KAIROS_BIN_DIR "/containers/") + name;
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read fixture %s (build kairos_test_containers)", qPrintable(path));
    return f.readAll();
}

QString shaOf(const QByteArray &bytes)
{
    return QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
}

template<typename T, typename Call> Result<T> await(Call call)
{
    auto out = std::make_shared<std::optional<Result<T>>>();
    call([out](Result<T> r) { out->emplace(std::move(r)); });
    if (!QTest::qWaitFor([&] { return out->has_value(); }, kWaitMs))
        return makeError(u"timed out waiting for the reply"_s);
    return std::move(**out);
}

Result<ContainerVersion> upload(ContainerService &s, const QByteArray &bytes)
{
    auto ticket = s.beginUpload(bytes.size(), shaOf(bytes), u"admin"_s);
    if (!ticket.ok())
        return makeError(ticket.error());
    for (qint64 offset = 0; offset < bytes.size(); offset += ticket->chunkBytes) {
        auto r = s.appendUpload(ticket->uploadId, offset, bytes.mid(offset, ticket->chunkBytes));
        if (!r.ok())
            return makeError(r.error());
    }
    auto done = await<std::pair<ContainerVersion, bool>>(
        [&](auto reply) { s.finishUpload(ticket->uploadId, std::move(reply)); });
    if (!done.ok())
        return makeError(done.error());
    return done->first;
}

Result<DeployTicket> deploy(ContainerService &s, const QString &container,
                            ContainerIsolation isolation = ContainerIsolation::Process,
                            const QStringList &workers = {})
{
    DeployRequest request;
    request.container = container;
    request.workers = workers;
    request.isolation = isolation;
    return await<DeployTicket>([&](auto reply) { s.deploy(request, std::move(reply)); });
}

// A remote worker as the server sees it: logs in as app "default", registers, and keeps every
// message the server sends in an inbox.
class FakeWorker : public QObject {
public:
    FakeWorker(quint16 port, QString workerId)
        : id(std::move(workerId))
    {
        connect(&conn, &protocol::Connection::messageReceived, this,
                [this](const protocol::Message &m) { inbox << m; });
        conn.connectToServer(u"127.0.0.1"_s, port, u"worker"_s, u"default"_s, kSecret);
    }

    bool login()
    {
        if (!QTest::qWaitFor([this] { return conn.isReady(); }, kWaitMs))
            return false;
        wire::Registration r;
        r.workerId = id;
        r.capacity = 4;
        r.pid = 4242;
        r.version = u"test"_s;
        conn.send(wire::encodeRegister(r));
        return take(wire::type::Registered).has_value();
    }

    // Everything sent before has been handled once the heartbeat is acknowledged (one
    // connection, handled in order).
    bool sync()
    {
        const qint64 ts = ++lastTs;
        conn.send(wire::encodeHeartbeat(wire::Heartbeat{ts, {}}));
        return QTest::qWaitFor(
            [&] {
                for (qsizetype i = 0; i < inbox.size(); ++i) {
                    if (inbox[i].type == wire::type::HeartbeatAck) {
                        auto acked = wire::decodeHeartbeatAck(inbox[i]);
                        if (acked.ok() && *acked == ts) {
                            inbox.removeAt(i);
                            return true;
                        }
                    }
                }
                return false;
            },
            kWaitMs);
    }

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

    QList<ContainerOrder> takeOrders()
    {
        const auto m = take(wire::type::Deploy);
        return m ? wire::decodeDeploy(*m).items : QList<ContainerOrder>{};
    }

    // Fetch replies until `count` have arrived (several messages), by fetch id.
    QHash<qint64, FetchReply> takeFetchReplies(qsizetype count)
    {
        QHash<qint64, FetchReply> out;
        while (out.size() < count) {
            const auto m = take(wire::type::FetchReplyMsg);
            if (!m)
                break;
            ++fetchReplyMessages;
            for (const FetchReply &r : wire::decodeFetchReply(*m).items)
                out.insert(r.fetchId, r);
        }
        return out;
    }

    QStringList errors()
    {
        QStringList out;
        for (qsizetype i = 0; i < inbox.size();) {
            if (inbox[i].type == protocol::msg::Error)
                out << inbox.takeAt(i).text("reason"_L1);
            else
                ++i;
        }
        return out;
    }

    QString id;
    protocol::Connection conn;
    QList<protocol::Message> inbox;
    qint64 lastTs = 0;
    int fetchReplyMessages = 0;
};

class DefaultAppLogin : public protocol::CredentialLookup {
public:
    std::optional<protocol::ScramCredential> find(const QString &role, const QString &name) override
    {
        if (role != u"worker"_s || name != u"default"_s)
            return std::nullopt;
        return protocol::ScramCredential::derive(kSecret);
    }
};

struct Server {
    std::unique_ptr<Engine> engine;
    std::shared_ptr<CredentialCache> credentials;
    std::unique_ptr<AdminService> admin;

    ~Server()
    {
        admin.reset();
        credentials.reset();
        engine.reset();
    }
    quint16 port() const { return admin->port(); }
    ContainerService &containers() const { return *engine->containers(); }
};

DeployStage stage(const ContainerOrder &order, DeployStageName name, qint64 bytes = 0)
{
    DeployStage s;
    s.deployId = order.deployId;
    s.container = order.container;
    s.sha256 = order.sha256;
    s.stage = name;
    s.bytes = bytes;
    s.total = order.sizeBytes;
    return s;
}

Job containerJob(const QString &ref, ExecutionMode mode)
{
    Job job;
    job.name = u"container-job-%1"_s.arg(nowUs());
    job.app = u"default"_s;
    job.processor = ProcessorKind::Container;
    job.processorConfig = QJsonObject{{u"ref"_s, ref}};
    job.mode = mode;
    return job;
}

} // namespace

class TstContainerLink : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    int m_dbCounter = 0;
    QByteArray m_v1, m_v2;

    std::unique_ptr<Server> startServer(bool localWorker = false, QString db = {})
    {
        auto s = std::make_unique<Server>();
        EngineConfig config;
        if (db.isEmpty())
            db = m_dir.filePath(u"containers-%1.db"_s.arg(++m_dbCounter));
        config.store = *StoreConfig::parse(db);
        config.serverZone = QTimeZone("UTC");
        config.localWorker = localWorker;
        config.localWorkerCapacity = 4;
        config.localContainerDir = m_dir.filePath(u"local-containers-%1"_s.arg(m_dbCounter));
        config.containerHostProgram = QStringLiteral(KAIROS_BIN_DIR "/kairos-container-host");
        s->engine = std::make_unique<Engine>(config);
        if (Status st = s->engine->start(); !st.ok())
            qFatal("engine start failed: %s", qPrintable(st.error()));
        if (!s->engine->containers())
            qFatal("the engine has no ContainerService after start()");
        if (localWorker)
            return s;
        s->credentials = std::make_shared<CredentialCache>(s->engine->store());
        if (!s->credentials->set(u"app"_s, u"default"_s, kSecret).ok())
            qFatal("cannot store credentials");
        s->admin = std::make_unique<AdminService>(*s->engine, s->credentials);
        if (Status st = s->admin->listen(QHostAddress::LocalHost, 0, {}); !st.ok())
            qFatal("listen failed: %s", qPrintable(st.error()));
        return s;
    }

    static Result<Job> create(Engine &engine, const Job &job)
    {
        return await<Job>([&](auto reply) { engine.createJob(job, std::move(reply)); });
    }

    static InstanceDetail waitForEnd(Engine &engine, qint64 id)
    {
        InstanceDetail last;
        (void)QTest::qWaitFor(
            [&] {
                auto d = await<InstanceDetail>(
                    [&](auto reply) { engine.instance(id, std::move(reply)); });
                if (d.ok())
                    last = *d;
                return d.ok() && isTerminal(d->instance.status);
            },
            kWaitMs * 3);
        return last;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_v1 = readAll(fixture(u"hello-v1.so"_s));
        m_v2 = readAll(fixture(u"hello-v2.so"_s));
    }

    void aRemoteWorkerGetsTheOrderFetchesAndReports()
    {
        auto server = startServer();
        FakeWorker w1(server->port(), u"w1"_s);
        QVERIFY(w1.login());
        QVERIFY(w1.sync());
        QVERIFY(!w1.take(wire::type::Deploy, 0)); // nothing deployed yet

        auto version = upload(server->containers(), m_v1);
        QVERIFY2(version.ok(), qPrintable(version.error()));
        auto ticket = deploy(server->containers(), u"hello"_s);
        QVERIFY2(ticket.ok(), qPrintable(ticket.error()));
        QCOMPARE(ticket->workers, QStringList{u"w1"_s});
        const QList<ContainerOrder> orders = w1.takeOrders();
        QCOMPARE(orders, (QList<ContainerOrder>{{ticket->deployId,
                                                 u"hello"_s,
                                                 version->sha256,
                                                 m_v1.size(),
                                                 ContainerIsolation::Process,
                                                 u"1.0"_s,
                                                 {}}}));

        // The download: in pieces of 16 KiB, all in one message.
        QSignalSpy reported(&server->containers(), &ContainerService::stagesReported);
        w1.conn.send(wire::encodeDeployStage({stage(orders[0], DeployStageName::Downloading)}));
        QList<FetchRequest> requests;
        const qint64 piece = 16 * 1024;
        for (qint64 offset = 0, id = 1; offset < m_v1.size(); offset += piece, ++id)
            requests << FetchRequest{id, version->sha256, offset,
                                     std::min<qint64>(piece, m_v1.size() - offset)};
        w1.conn.send(wire::encodeFetch(requests));
        const QHash<qint64, FetchReply> replies = w1.takeFetchReplies(requests.size());
        QCOMPARE(replies.size(), requests.size());
        QByteArray joined;
        for (const FetchRequest &r : requests) {
            QVERIFY2(replies.value(r.fetchId).error.isEmpty(),
                     qPrintable(replies.value(r.fetchId).error));
            QCOMPARE(replies.value(r.fetchId).offset, r.offset);
            joined += replies.value(r.fetchId).data;
        }
        QCOMPARE(joined, m_v1);

        w1.conn.send(wire::encodeDeployStage({stage(orders[0], DeployStageName::Verifying),
                                              stage(orders[0], DeployStageName::Loading),
                                              stage(orders[0], DeployStageName::Ready)}));
        QTRY_COMPARE_WITH_TIMEOUT(reported.size(), 2, kWaitMs);
        const auto last = reported.last().first().value<QList<DeployStage>>();
        QCOMPARE(last.size(), 3);
        QCOMPARE(last.last().worker, u"w1"_s);
        const QList<WorkerContainerState> states = server->containers().workerStates(u"hello"_s);
        QCOMPARE(states.size(), 1);
        QCOMPARE(states[0].latest.worker, u"w1"_s);
        QCOMPARE(toString(states[0].latest.stage), u"READY"_s);
        QVERIFY(states[0].current());
        QVERIFY(w1.errors().isEmpty());
    }

    void bigFetchRepliesAreSplitIntoSeveralMessages()
    {
        auto server = startServer();
        FakeWorker w1(server->port(), u"w1"_s);
        QVERIFY(w1.login());
        const QByteArray big = readAll(fixture(u"big.so"_s));
        auto version = upload(server->containers(), big);
        QVERIFY2(version.ok(), qPrintable(version.error()));
        QList<FetchRequest> requests;
        for (qint64 offset = 0, id = 1; offset < big.size(); offset += kMaxFetchBytes, ++id)
            requests << FetchRequest{id, version->sha256, offset,
                                     std::min<qint64>(kMaxFetchBytes, big.size() - offset)};
        QVERIFY(requests.size() >= 6);
        w1.conn.send(wire::encodeFetch(requests));
        const QHash<qint64, FetchReply> replies = w1.takeFetchReplies(requests.size());
        QCOMPARE(replies.size(), requests.size());
        QByteArray joined;
        for (const FetchRequest &r : requests)
            joined += replies.value(r.fetchId).data;
        QCOMPARE(joined, big);
        // At most about 4 MiB of data per message.
        QVERIFY2(w1.fetchReplyMessages >= 2, qPrintable(QString::number(w1.fetchReplyMessages)));
    }

    void aWorkerRegisteringLaterGetsItsOrders()
    {
        auto server = startServer();
        QVERIFY(upload(server->containers(), m_v1).ok());
        auto ticket = deploy(server->containers(), u"hello"_s, ContainerIsolation::InProcess);
        QVERIFY2(ticket.ok(), qPrintable(ticket.error()));
        QVERIFY(ticket->workers.isEmpty());
        FakeWorker w2(server->port(), u"w2"_s);
        QVERIFY(w2.login()); // `registered` first, then the order
        const QList<ContainerOrder> orders = w2.takeOrders();
        QCOMPARE(orders.size(), 1);
        QCOMPARE(orders[0].deployId, ticket->deployId);
        QCOMPARE(orders[0].sha256, shaOf(m_v1));
        QCOMPARE(toString(orders[0].isolation), u"inprocess"_s);
    }

    void wantsAreAnswered()
    {
        auto server = startServer();
        FakeWorker w1(server->port(), u"w1"_s);
        QVERIFY(w1.login());
        QVERIFY(upload(server->containers(), m_v1).ok());
        w1.conn.send(wire::encodeWant({u"hello"_s}));
        QList<ContainerOrder> orders = w1.takeOrders();
        QCOMPARE(orders.size(), 1);
        QCOMPARE(orders[0].reason, u"container 'hello' is not deployed"_s);
        QVERIFY(orders[0].sha256.isEmpty());

        QVERIFY(deploy(server->containers(), u"hello"_s).ok());
        QCOMPARE(w1.takeOrders().size(), 1); // the deploy itself
        w1.conn.send(wire::encodeWant({u"hello"_s, u"nope"_s}));
        orders = w1.takeOrders();
        QCOMPARE(orders.size(), 2);
        QCOMPARE(orders[0].deployId, qint64(0));
        QCOMPARE(orders[0].sha256, shaOf(m_v1));
        QCOMPARE(orders[1].reason, u"no container 'nope' is uploaded"_s);
    }

    void deployToAnOfflineWorkerIsRefused()
    {
        auto server = startServer();
        FakeWorker w1(server->port(), u"w1"_s);
        QVERIFY(w1.login());
        QVERIFY(upload(server->containers(), m_v1).ok());
        auto refused = deploy(server->containers(), u"hello"_s, ContainerIsolation::Process,
                              {u"w1"_s, u"w9"_s});
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error(),
                 u"workers: w9 is not connected (connected: w1); nothing was deployed"_s);
        QVERIFY(w1.sync());
        QVERIFY(!w1.take(wire::type::Deploy, 0));
        // A worker that has gone is offline too.
        w1.conn.close(u"bye"_s);
        QTRY_VERIFY_WITH_TIMEOUT(
            !deploy(server->containers(), u"hello"_s, ContainerIsolation::Process, {u"w1"_s}).ok(),
            kWaitMs);
    }

    void malformedContainerMessagesAreAnsweredWithErrors()
    {
        auto server = startServer();
        FakeWorker w1(server->port(), u"w1"_s);
        QVERIFY(w1.login());
        auto version = upload(server->containers(), m_v1);
        QVERIFY(version.ok());
        QSignalSpy reported(&server->containers(), &ContainerService::stagesReported);

        // One good and one bad stage: the good one is taken, the bad one named.
        ContainerOrder order{
            7, u"hello"_s, version->sha256, m_v1.size(), ContainerIsolation::Process, u"1.0"_s, {}};
        protocol::Message m = wire::encodeDeployStage(
            {stage(order, DeployStageName::Loading), stage(order, DeployStageName::Ready)});
        QCborArray stages = m.array("stages"_L1);
        QCborMap bad = stages.at(1).toMap();
        bad.insert(u"st"_s, u"DONE"_s);
        stages[1] = bad;
        m.body.insert(u"stages"_s, stages);
        w1.conn.send(m);

        // The same fetch id twice in one message: the second is refused.
        w1.conn.send(wire::encodeFetch(
            {FetchRequest{1, version->sha256, 0, 10}, FetchRequest{1, version->sha256, 10, 10}}));
        QVERIFY(w1.sync());
        const QStringList errors = w1.errors();
        QCOMPARE(errors.size(), 2);
        QVERIFY2(errors[0].contains(u"stages[1].st"_s), qPrintable(errors[0]));
        QVERIFY2(errors[1].contains(u"fetch id 1 is already waiting"_s), qPrintable(errors[1]));
        QTRY_COMPARE_WITH_TIMEOUT(reported.size(), 1, kWaitMs);
        QCOMPARE(reported.first().first().value<QList<DeployStage>>().size(), 1);
        const auto replies = w1.takeFetchReplies(1);
        QCOMPARE(replies.value(1).data, m_v1.left(10));
        QVERIFY(w1.conn.isReady()); // one bad entry does not cost the connection
    }

    void containerJobsAreCheckedWhenSaved()
    {
        auto server = startServer();
        Engine &engine = *server->engine;
        auto missing = create(engine, containerJob(u"hello#greet"_s, ExecutionMode::Standalone));
        QVERIFY(!missing.ok());
        QCOMPARE(missing.error(), u"processor.ref: no container 'hello' is uploaded"_s);

        QVERIFY(upload(server->containers(), m_v1).ok());
        auto wrongShape = create(engine, containerJob(u"hello#greet"_s, ExecutionMode::MapReduce));
        QVERIFY(!wrongShape.ok());
        QCOMPARE(wrongShape.error(), u"processor.ref: a MAP_REDUCE job needs a mapReduce "
                                     "processor; hello#greet is standalone"_s);
        auto ok = create(engine, containerJob(u"hello#greet"_s, ExecutionMode::Standalone));
        QVERIFY2(ok.ok(), qPrintable(ok.error()));

        // An update is checked the same way.
        auto patched = await<Job>([&](auto reply) {
            engine.updateJob(
                ok->id,
                QJsonObject{{u"processor"_s, QJsonObject{{u"type"_s, u"CONTAINER"_s},
                                                         {u"ref"_s, u"hello#nope"_s}}}},
                0, std::move(reply));
        });
        QVERIFY(!patched.ok());
        QCOMPARE(patched.error(), u"processor.ref: container 'hello' 1.0 has no processor 'nope' "
                                  "(it has: greet, noop)"_s);

        // Built-ins keep their own checks.
        auto builtin = create(engine, containerJob(u"builtin#echo"_s, ExecutionMode::MapReduce));
        QVERIFY(!builtin.ok());
        QVERIFY2(builtin.error().contains(u"builtin#echo"_s), qPrintable(builtin.error()));
    }

    void aRestartedEngineKnowsItsContainers()
    {
        const QString db = m_dir.filePath(u"restart.db"_s);
        QString sha;
        qint64 deployId = 0;
        {
            auto server = startServer(false, db);
            auto v = upload(server->containers(), m_v1);
            QVERIFY(v.ok());
            sha = v->sha256;
            auto t = deploy(server->containers(), u"hello"_s);
            QVERIFY(t.ok());
            deployId = t->deployId;
        }
        auto server = startServer(false, db);
        QCOMPARE(server->containers().versions().size(), 1);
        QCOMPARE(server->containers().desiredSha(u"hello"_s, u"any"_s), sha);
        FakeWorker w1(server->port(), u"w1"_s);
        QVERIFY(w1.login());
        const QList<ContainerOrder> orders = w1.takeOrders();
        QCOMPARE(orders.size(), 1);
        QCOMPARE(orders[0].deployId, deployId);
    }

    void theLocalWorkerDeploysAndRunsContainers_data()
    {
        QTest::addColumn<ContainerIsolation>("isolation");
        QTest::newRow("inprocess") << ContainerIsolation::InProcess;
        QTest::newRow("process") << ContainerIsolation::Process;
    }

    void theLocalWorkerDeploysAndRunsContainers()
    {
        QFETCH(ContainerIsolation, isolation);
        if (isolation == ContainerIsolation::Process
            && !QFileInfo::exists(QStringLiteral(KAIROS_BIN_DIR "/kairos-container-host")))
            QSKIP("kairos-container-host is not built");
        auto server = startServer(true);
        Engine &engine = *server->engine;
        QSignalSpy reported(&server->containers(), &ContainerService::stagesReported);
        QVERIFY(upload(server->containers(), m_v1).ok());
        QVERIFY(upload(server->containers(), m_v2).ok());
        auto ticket = deploy(server->containers(), u"hello"_s, isolation);
        QVERIFY2(ticket.ok(), qPrintable(ticket.error()));
        QCOMPARE(ticket->workers, QStringList{u"local"_s});
        const auto state = [&]() -> QString {
            const auto rows = server->containers().workerStates(u"hello"_s);
            if (rows.isEmpty())
                return u"none"_s;
            return toString(rows[0].latest.stage) + u' ' + rows[0].latest.reason
                   + (rows[0].current() ? u" current"_s : QString());
        };
        QTRY_COMPARE_WITH_TIMEOUT(state(), u"READY  current"_s, kWaitMs);
        QCOMPARE(server->containers().workerStates()[0].latest.worker, u"local"_s);

        auto job = create(engine, containerJob(u"hello#greet"_s, ExecutionMode::Standalone));
        QVERIFY2(job.ok(), qPrintable(job.error()));
        auto ids =
            await<QList<qint64>>([&](auto reply) { engine.runJob(job->id, {}, std::move(reply)); });
        QVERIFY(ids.ok());
        const InstanceDetail done = waitForEnd(engine, ids->first());
        QCOMPARE(toString(done.instance.status), u"SUCCEEDED"_s);
        QCOMPARE(done.instance.result, u"v2"_s);
    }
};

QTEST_GUILESS_MAIN(TstContainerLink)
#include "tst_container_link.moc"
