// Containers through a real worker agent and a fake server on 127.0.0.1 (docs/containers.md
// section 5): the server's `deploy` reaches the worker's ContainerManager, which downloads the
// version over the same connection (`fetch` / `fetchReply`), reports every stage
// (`deployStage`), and runs the container's processor for a dispatched task (in a real
// kairos-container-host); a run of a container the worker lacks asks the server (`want`) and
// fails with the server's reason; a connection lost mid-download fails it, and the orders the
// server sends at the next registration complete it.
#include "fake_server.h"

#include <agent/command_line.h>
#include <agent/worker_agent.h>
#include <worker/container_wire.h>

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace kairos;
using namespace kairos::agent;
using namespace kairos::test;
using namespace Qt::StringLiterals;

namespace {

constexpr int kWaitMs = 20000;
const QString kApp = u"billing"_s;
const QString kSecret = u"w-secret"_s;

struct Fixture {
    QByteArray bytes;
    QString sha;
};

Fixture fixture(const QString &file)
{
    QFile in(QStringLiteral(KAIROS_BIN_DIR "/containers/") + file);
    if (!in.open(QIODevice::ReadOnly))
        qFatal("test fixture %s is missing (build kairos_test_containers)", qPrintable(file));
    Fixture f;
    f.bytes = in.readAll();
    f.sha =
        QString::fromLatin1(QCryptographicHash::hash(f.bytes, QCryptographicHash::Sha256).toHex());
    return f;
}

ContainerOrder orderFor(const Fixture &f, qint64 deployId, const QString &version)
{
    ContainerOrder o;
    o.deployId = deployId;
    o.container = u"hello"_s;
    o.sha256 = f.sha;
    o.sizeBytes = f.bytes.size();
    o.isolation = ContainerIsolation::Process;
    o.version = version;
    return o;
}

TaskSpec containerTask(qint64 instance, const QString &ref)
{
    TaskSpec t;
    t.instanceId = instance;
    t.jobName = u"container-job"_s;
    t.processor = ProcessorKind::Container;
    t.config = QJsonObject{{u"ref"_s, ref}};
    return t;
}

// The server's side of fetches: answers each `fetch` of the current connection from the files
// it serves, unless told to hold them.
class FetchAnswerer : public QObject {
public:
    explicit FetchAnswerer(FakeServer *server)
        : m_server(server)
    {}
    // Call after each registration: hooks the connection that registered.
    void attach()
    {
        protocol::Connection *c = m_server->current();
        if (!c)
            return;
        connect(c, &protocol::Connection::messageReceived, this,
                [this, c](const protocol::Message &m) {
                    if (m.type != wire::type::Fetch)
                        return;
                    const auto batch = wire::decodeFetch(m);
                    requests += batch.items;
                    if (hold)
                        return;
                    QList<FetchReply> replies;
                    for (const FetchRequest &r : batch.items) {
                        FetchReply rep{r.fetchId, r.sha256, r.offset, {}, {}};
                        const auto file = files.constFind(r.sha256);
                        if (file == files.constEnd())
                            rep.error = u"no stored version"_s;
                        else
                            rep.data = file->mid(r.offset, r.length);
                        replies.append(rep);
                    }
                    c->send(wire::encodeFetchReply(replies));
                });
    }

    QHash<QString, QByteArray> files;
    QList<FetchRequest> requests;
    bool hold = false;

private:
    FakeServer *m_server;
};

QList<DeployStage> stagesOf(const FakeServer &server, qint64 deployId, int connection = 0)
{
    QList<DeployStage> out;
    for (const protocol::Message &m : server.ofType(wire::type::DeployStageMsg, connection)) {
        const auto batch = wire::decodeDeployStage(m);
        if (!batch.errors.isEmpty())
            qWarning() << batch.errors;
        for (const DeployStage &s : batch.items) {
            if (s.deployId == deployId)
                out.append(s);
        }
    }
    return out;
}

QStringList stageNames(const QList<DeployStage> &stages)
{
    QStringList out;
    for (const DeployStage &s : stages) {
        const QString n = toString(s.stage);
        if (out.isEmpty() || out.last() != n)
            out.append(n);
    }
    return out;
}

QString lastStage(const FakeServer &server, qint64 deployId, int connection = 0)
{
    const QList<DeployStage> s = stagesOf(server, deployId, connection);
    return s.isEmpty() ? QString() : toString(s.last().stage) + u' ' + s.last().reason;
}

QString outcome(const FakeServer &server, qint64 instance)
{
    for (const TaskReport &r : server.reports()) {
        if (r.instanceId == instance && isTerminal(r.status))
            return toString(r.status) + u' ' + r.result;
    }
    return {};
}

QStringList linesOf(const FakeServer &server, qint64 instance)
{
    QStringList out;
    for (const protocol::Message &m : server.ofType(wire::type::Logs)) {
        for (const LogLine &l : wire::decodeLogs(m).items) {
            if (l.instanceId == instance)
                out.append(l.text);
        }
    }
    return out;
}

QStringList wantedNames(const FakeServer &server)
{
    QStringList out;
    for (const protocol::Message &m : server.ofType(wire::type::Want))
        out += wire::decodeWant(m).items;
    return out;
}

} // namespace

class TstContainerAgent : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;

    WorkerConfig configFor(quint16 port, const QString &name)
    {
        WorkerConfig c;
        c.servers.append(ServerAddress{u"127.0.0.1"_s, port});
        c.app = kApp;
        c.secret = kSecret;
        c.threads = 2;
        c.workerId = u"test-"_s + name;
        c.workDir = m_dir.filePath(name);
        c.containerHost = QStringLiteral(KAIROS_BIN_DIR "/kairos-container-host");
        c.version = u"9.9.9-test"_s;
        c.drainTimeoutMs = 5000;
        return c;
    }

    QString secretFile()
    {
        const QString path = m_dir.filePath(u"secret"_s);
        QFile f(path);
        if (!f.exists() && f.open(QIODevice::WriteOnly)) {
            f.write("s3cret\n");
            f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        }
        return path;
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void containerFlags_data()
    {
        QTest::addColumn<QStringList>("extra");
        QTest::addColumn<QString>("containersDir"); // "WORK/" stands for the work folder
        QTest::addColumn<QString>("containerHost");
        QTest::addColumn<QString>("error");
        const QString host = QStringLiteral(KAIROS_BIN_DIR "/kairos-container-host");
        const QString plainFile = secretFile(); // exists, not executable
        QTest::newRow("defaults") << QStringList{u"--work-dir"_s, u"/tmp/kw"_s}
                                  << u"/tmp/kw/containers"_s << QString() << QString();
        QTest::newRow("both set") << QStringList{u"--containers-dir"_s, u"/srv/kairos/c"_s,
                                                 u"--container-host"_s, host}
                                  << u"/srv/kairos/c"_s << host << QString();
        QTest::newRow("host missing")
            << QStringList{u"--container-host"_s, u"/nonexistent/kairos-container-host"_s}
            << QString() << QString()
            << u"--container-host /nonexistent/kairos-container-host: expected an executable "
               "file (the kairos-container-host program)"_s;
        QTest::newRow("host not executable")
            << QStringList{u"--container-host"_s, plainFile} << QString() << QString()
            << u"--container-host %1: expected an executable file (the kairos-container-host "
               "program)"_s.arg(plainFile);
        QTest::newRow("containers dir is a file")
            << QStringList{u"--containers-dir"_s, host} << QString() << QString()
            << u"--containers-dir %1: exists and is not a folder"_s.arg(host);
    }

    void containerFlags()
    {
        QFETCH(QStringList, extra);
        QFETCH(QString, containersDir);
        QFETCH(QString, containerHost);
        QFETCH(QString, error);
        QStringList args{u"kairos-worker"_s, u"--server"_s,      u"127.0.0.1:7070"_s, u"--app"_s,
                         u"billing"_s,       u"--secret-file"_s, secretFile()};
        args += extra;
        const auto parsed = parseWorkerCommandLine(args, u"1"_s);
        if (!error.isEmpty()) {
            QVERIFY(!parsed.ok());
            QCOMPARE(parsed.error(), error);
            return;
        }
        QVERIFY2(parsed.ok(), qPrintable(parsed.error()));
        QCOMPARE(parsed->config.containersDir, containersDir);
        QCOMPARE(parsed->config.containerHost, containerHost);
        const QString help = workerHelpText();
        QVERIFY(help.contains(u"--containers-dir"_s) && help.contains(u"--container-host"_s));
    }

    void deploysAndRunsOverTheServerConnection()
    {
        const Fixture v1 = fixture(u"hello-v1.so"_s);
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        FetchAnswerer fetches(&server);
        fetches.files.insert(v1.sha, v1.bytes);
        WorkerConfig config = configFor(server.port(), u"deploy"_s);
        WorkerAgent agent(config);
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));
        fetches.attach();

        server.send(wire::encodeDeploy({orderFor(v1, 1, u"1.0"_s)}));
        QTRY_COMPARE_WITH_TIMEOUT(lastStage(server, 1), u"READY "_s, kWaitMs);
        QCOMPARE(stageNames(stagesOf(server, 1)),
                 (QStringList{"QUEUED", "DOWNLOADING", "VERIFYING", "LOADING", "READY"}));
        QCOMPARE(stagesOf(server, 1).last().total, qint64(v1.bytes.size()));
        QVERIFY(!fetches.requests.isEmpty());
        for (const FetchRequest &r : fetches.requests) {
            QCOMPARE(r.sha256, v1.sha);
            QVERIFY(r.length <= kMaxFetchBytes);
        }
        // Stored under the default folder, WORK-DIR/containers/NAME/SHA256.so.
        QFile stored(QDir(config.workDir).filePath(u"containers/hello/"_s + v1.sha + u".so"_s));
        QVERIFY(stored.open(QIODevice::ReadOnly));
        QVERIFY(stored.readAll() == v1.bytes);

        server.dispatch({containerTask(10, u"hello#greet"_s)});
        QTRY_COMPARE_WITH_TIMEOUT(outcome(server, 10), u"SUCCEEDED v1"_s, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(!linesOf(server, 10).isEmpty(), kWaitMs);
        QCOMPARE(linesOf(server, 10).first(),
                 u"container hello 1.0 (%1) process"_s.arg(v1.sha.left(8)));
    }

    void missingContainerIsWantedAndFailsWithTheServersReason()
    {
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        WorkerAgent agent(configFor(server.port(), u"want"_s));
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));

        server.dispatch({containerTask(20, u"ghost#greet"_s)});
        QTRY_COMPARE_WITH_TIMEOUT(wantedNames(server), QStringList{u"ghost"_s}, kWaitMs);
        ContainerOrder none;
        none.container = u"ghost"_s;
        none.reason = u"processor.ref: no container 'ghost' is uploaded"_s;
        server.send(wire::encodeDeploy({none}));
        QTRY_COMPARE_WITH_TIMEOUT(outcome(server, 20),
                                  u"FAILED processor.ref: no container 'ghost' is uploaded"_s,
                                  kWaitMs);
        QCOMPARE(server.count(wire::type::DeployStageMsg), 0);
    }

    void connectionLostMidDownloadStartsOverAtRegistration()
    {
        const Fixture v2 = fixture(u"hello-v2.so"_s);
        FakeServer server(kApp, kSecret);
        QVERIFY(server.listen());
        FetchAnswerer fetches(&server);
        fetches.files.insert(v2.sha, v2.bytes);
        fetches.hold = true;
        WorkerConfig config = configFor(server.port(), u"lost"_s);
        config.containersDir = m_dir.filePath(u"lost-containers"_s);
        config.reconnectMaxMs = 300;
        WorkerAgent agent(config);
        QSignalSpy registered(&agent, &WorkerAgent::registered);
        QVERIFY(agent.start().ok());
        QVERIFY(registered.wait(kWaitMs));
        fetches.attach();

        server.send(wire::encodeDeploy({orderFor(v2, 7, u"2.0"_s)}));
        QTRY_VERIFY_WITH_TIMEOUT(!fetches.requests.isEmpty(), kWaitMs);
        const QString part =
            QDir(config.containersDir).filePath(u"hello/"_s + v2.sha + u".so.part"_s);
        QVERIFY(QFileInfo::exists(part));

        // The server goes away mid-download; at the worker's next registration it sends its
        // orders again (as kairosd does) and answers this time.
        server.current()->close(u"server restarting"_s);
        QTRY_COMPARE_WITH_TIMEOUT(registered.size(), 2, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(!QFileInfo::exists(part), kWaitMs); // the failed download
        fetches.hold = false;
        fetches.attach();
        server.send(wire::encodeDeploy({orderFor(v2, 7, u"2.0"_s)}));
        QTRY_COMPARE_WITH_TIMEOUT(lastStage(server, 7, 2), u"READY "_s, kWaitMs);
        // On the lost connection it got as far as the download; on the new one it downloaded
        // again from the start.
        QCOMPARE(stageNames(stagesOf(server, 7, 1)), (QStringList{"QUEUED", "DOWNLOADING"}));
        QVERIFY(stageNames(stagesOf(server, 7, 2)).contains(u"DOWNLOADING"_s));
        QCOMPARE(stagesOf(server, 7, 2).last().bytes, qint64(v2.bytes.size()));
        QVERIFY(QFileInfo::exists(
            QDir(config.containersDir).filePath(u"hello/"_s + v2.sha + u".so"_s)));

        server.dispatch({containerTask(30, u"hello#greet"_s)});
        QTRY_COMPARE_WITH_TIMEOUT(outcome(server, 30), u"SUCCEEDED v2"_s, kWaitMs);
    }
};

QTEST_GUILESS_MAIN(TstContainerAgent)
#include "tst_container_agent.moc"
