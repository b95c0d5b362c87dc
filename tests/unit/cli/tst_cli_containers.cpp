// The `kairosctl container ...` commands without a server: the command line (flags -> the admin
// params sent, usage errors naming the flag), the tables, DeployFollower's view of one deploy,
// and CommandRunner against a scripted Client — an upload in chunks the server acknowledges, its
// errors, and `container deploy --follow` through early events, dropped events (the status
// poll), a failure, a superseded deploy and the deadline, with the exit codes the docs give.
#include "fake_client.h"

#include <command_line.h>
#include <command_runner.h>
#include <container_views.h>
#include <deploy_follower.h>

#include <QCryptographicHash>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace kairos;
using namespace kairos::cli;
using kairos::cli::test::FakeClient;

namespace {

const QString kShaV1 = QStringLiteral("1a2b3c4d") + QString(56, u'1');
const QString kShaV2 = QStringLiteral("5e6f7a8b") + QString(56, u'2');

ParsedCommandLine parse(const QStringList &args)
{
    return parseCommandLine(args, [](const QString &) -> Result<QByteArray> {
        return makeError(QStringLiteral("no files here"));
    });
}

struct Session {
    QString out;
    QString err;
    QTextStream outStream{&out};
    QTextStream errStream{&err};
    std::unique_ptr<CommandRunner> runner;
    std::unique_ptr<QSignalSpy> finished;

    Session(FakeClient &client, const QStringList &args, CommandRunner::Options options = {})
    {
        const ParsedCommandLine parsed = parse(args);
        if (!parsed.ok())
            qFatal("bad test command line: %s", qPrintable(parsed.error));
        options.zone = QTimeZone::utc();
        if (options.nowMs == 0)
            options.nowMs = 1'700'000'060'000;
        options.json = parsed.invocation.global.json;
        runner = std::make_unique<CommandRunner>(client, parsed.invocation.action, options,
                                                 outStream, errStream);
        finished = std::make_unique<QSignalSpy>(runner.get(), &CommandRunner::finished);
        runner->start();
    }

    int wait(int timeoutMs = 5000)
    {
        if (finished->isEmpty() && !finished->wait(timeoutMs))
            return -1;
        if (finished->size() != 1)
            return -2;
        outStream.flush();
        errStream.flush();
        return finished->at(0).at(0).toInt();
    }
};

QJsonObject versionJson(const QString &sha, const QString &label, qint64 size = 5 * 1024 * 1024)
{
    ContainerVersion v;
    v.sha256 = sha;
    v.metadata.name = QStringLiteral("hello");
    v.metadata.version = label;
    v.metadata.sdkVersion = 1;
    v.metadata.processors = {
        {QStringLiteral("greet"), ProcessorShape::Standalone, QStringLiteral("Says hello")},
        {QStringLiteral("noop"), ProcessorShape::Standalone, QString()}};
    v.sizeBytes = size;
    v.uploadedAtMs = 1'700'000'000'000;
    v.uploadedBy = QStringLiteral("admin");
    return v.toJson();
}

DeployStage stage(const QString &worker, DeployStageName name, qint64 deployId = 7,
                  qint64 bytes = 0, const QString &reason = QString(), const QString &sha = kShaV2)
{
    DeployStage s;
    s.deployId = deployId;
    s.worker = worker;
    s.container = QStringLiteral("hello");
    s.sha256 = sha;
    s.stage = name;
    s.bytes = bytes;
    s.total = 5 * 1024 * 1024;
    s.reason = reason;
    s.atMs = 1'700'000'050'000;
    return s;
}

QJsonObject deployReply(const QStringList &workers, qint64 deployId = 7)
{
    return {{QStringLiteral("deployId"), deployId},
            {QStringLiteral("version"), versionJson(kShaV2, QStringLiteral("2.0"))},
            {QStringLiteral("isolation"), QStringLiteral("process")},
            {QStringLiteral("workers"), QJsonArray::fromStringList(workers)}};
}

FakeClient::Handler answer(const QJsonObject &reply)
{
    return [reply](const QJsonObject &) -> std::optional<Result<QJsonObject>> {
        return Result<QJsonObject>(reply);
    };
}

// container.status answering the rows in `rows` (the latest stage per worker).
FakeClient::Handler statusHandler(const QList<DeployStage> *rows)
{
    return [rows](const QJsonObject &) -> std::optional<Result<QJsonObject>> {
        QJsonArray states;
        for (const DeployStage &s : *rows) {
            QJsonObject row = s.toJson();
            row[QStringLiteral("current")] = s.stage == DeployStageName::Ready;
            states.append(row);
        }
        return Result<QJsonObject>(QJsonObject{{QStringLiteral("workers"), states}});
    };
}

// A scripted upload server: container.upload.* as the real one checks them (offset = bytes
// received so far, nothing beyond the announced size, the digest at the end).
struct UploadServer {
    qint64 size = 0;
    QString sha;
    qint64 chunkBytes = 4096;
    QByteArray received;
    QList<qint64> offsets;
    int inFlightMax = 0;

    void install(FakeClient &client)
    {
        client.handlers[QStringLiteral("container.upload.begin")] =
            [this](const QJsonObject &p) -> std::optional<Result<QJsonObject>> {
            size = p.value(QStringLiteral("size")).toInteger();
            sha = p.value(QStringLiteral("sha256")).toString();
            return Result<QJsonObject>(QJsonObject{{QStringLiteral("uploadId"), 3},
                                                   {QStringLiteral("chunkBytes"), chunkBytes}});
        };
        client.handlers[QStringLiteral("container.upload.chunk")] =
            [this](const QJsonObject &p) -> std::optional<Result<QJsonObject>> {
            const qint64 offset = p.value(QStringLiteral("offset")).toInteger();
            offsets << offset;
            if (p.value(QStringLiteral("uploadId")).toInteger() != 3)
                return Result<QJsonObject>(makeError(QStringLiteral("uploadId: unknown")));
            if (offset != received.size())
                return Result<QJsonObject>(makeError(QStringLiteral("offset: expected %1, got %2")
                                                         .arg(received.size())
                                                         .arg(offset)));
            auto bytes = QByteArray::fromBase64Encoding(
                p.value(QStringLiteral("data")).toString().toLatin1(),
                QByteArray::AbortOnBase64DecodingErrors);
            if (!bytes)
                return Result<QJsonObject>(makeError(QStringLiteral("data: not valid base64")));
            received += *bytes;
            return Result<QJsonObject>(
                QJsonObject{{QStringLiteral("received"), qint64(received.size())}});
        };
        client.handlers[QStringLiteral("container.upload.finish")] =
            [this](const QJsonObject &) -> std::optional<Result<QJsonObject>> {
            const QString actual = QString::fromLatin1(
                QCryptographicHash::hash(received, QCryptographicHash::Sha256).toHex());
            if (actual != sha)
                return Result<QJsonObject>(makeError(
                    QStringLiteral("digest mismatch: expected %1, got %2").arg(sha, actual)));
            QJsonObject v = versionJson(sha, QStringLiteral("1.0"), received.size());
            v[QStringLiteral("existing")] = false;
            return Result<QJsonObject>(v);
        };
    }
};

QString writeFile(const QTemporaryDir &dir, const QString &name, const QByteArray &bytes)
{
    QFile f(dir.filePath(name));
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
        qFatal("cannot write %s", qPrintable(f.fileName()));
    return f.fileName();
}

QByteArray someBytes(int n)
{
    QByteArray b(n, Qt::Uninitialized);
    for (int i = 0; i < n; ++i)
        b[i] = char((i * 7919) >> 3);
    return b;
}

} // namespace

class TestCliContainers : public QObject {
    Q_OBJECT

private slots:
    // --- the command line ----------------------------------------------------------------------

    void parsesIntoParams_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("method");
        QTest::addColumn<QByteArray>("params");
        QTest::addColumn<bool>("follow");
        QTest::addColumn<int>("timeoutS");

        QTest::newRow("list") << QStringList{"container", "list"} << "container.list"
                              << QByteArray("{}") << false << 0;
        QTest::newRow("versions") << QStringList{"container", "versions", "hello"}
                                  << "container.versions" << QByteArray(R"({"name":"hello"})")
                                  << false << 0;
        QTest::newRow("status of all") << QStringList{"container", "status"} << "container.status"
                                       << QByteArray("{}") << false << 0;
        QTest::newRow("status of one")
            << QStringList{"container", "status", "hello"} << "container.status"
            << QByteArray(R"({"name":"hello"})") << false << 0;
        QTest::newRow("deploy to all")
            << QStringList{"container", "deploy", "hello"} << "container.deploy"
            << QByteArray(R"({"name":"hello"})") << false << 0;
        QTest::newRow("deploy everything")
            << QStringList{"container", "deploy",    "hello",      "--version",
                           "2.0",       "--workers", " w1, w2,w1", "--isolation",
                           "InProcess", "--follow",  "--timeout",  "30"}
            << "container.deploy"
            << QByteArray(
                   R"({"name":"hello","version":"2.0","workers":["w1","w2"],"isolation":"inprocess"})")
            << true << 30;
        QTest::newRow("follow: default timeout")
            << QStringList{"container", "deploy", "hello", "--follow"} << "container.deploy"
            << QByteArray(R"({"name":"hello"})") << true << 120;
        QTest::newRow("global options around")
            << QStringList{"--json",   "container", "deploy", "hello", "--version=5e6f7a8b",
                           "--server", "h:1"}
            << "container.deploy" << QByteArray(R"({"name":"hello","version":"5e6f7a8b"})") << false
            << 0;
    }

    void parsesIntoParams()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, method);
        QFETCH(QByteArray, params);
        QFETCH(bool, follow);
        QFETCH(int, timeoutS);
        const ParsedCommandLine parsed = parse(args);
        QVERIFY2(parsed.ok(), qPrintable(parsed.error));
        const Action &a = parsed.invocation.action;
        QCOMPARE(a.method, method);
        QCOMPARE(a.params, QJsonDocument::fromJson(params).object());
        QCOMPARE(a.follow, follow);
        QCOMPARE(a.waitTimeoutS, timeoutS);
        QCOMPARE(a.kind, follow ? ActionKind::ContainerDeploy : ActionKind::Call);
        QVERIFY(parsed.invocation.needsServer());
    }

    void parsesUpload()
    {
        const ParsedCommandLine parsed = parse({"container", "upload", "build/hello.so"});
        QVERIFY2(parsed.ok(), qPrintable(parsed.error));
        QCOMPARE(parsed.invocation.action.kind, ActionKind::ContainerUpload);
        QCOMPARE(parsed.invocation.action.path, QStringLiteral("build/hello.so"));
        // kairosctl's own --version still works everywhere else.
        QCOMPARE(parse({"container", "list", "--version"}).invocation.action.kind,
                 ActionKind::Version);
    }

    void jobWithAContainerProcessor()
    {
        const ParsedCommandLine parsed =
            parse({"job", "create", "--name", "greeter", "--api", "--container", " hello#greet"});
        QVERIFY2(parsed.ok(), qPrintable(parsed.error));
        QCOMPARE(parsed.invocation.action.params.value("job").toObject().value("processor"),
                 QJsonValue(QJsonObject{{"type", "CONTAINER"}, {"ref", "hello#greet"}}));
        const ParsedCommandLine update = parse({"job", "update", "7", "--container", "mapsum#sum"});
        QVERIFY2(update.ok(), qPrintable(update.error));
        QCOMPARE(update.invocation.action.params.value("patch").toObject().value("processor"),
                 QJsonValue(QJsonObject{{"type", "CONTAINER"}, {"ref", "mapsum#sum"}}));
        for (const char *bad : {"hello", "#greet", "hello#"}) {
            const ParsedCommandLine p =
                parse({"job", "create", "--name", "g", "--api", "--container", bad});
            QCOMPARE(p.error,
                     QStringLiteral("--container: expected CONTAINER#PROCESSOR (for example "
                                    "hello#greet), got \"%1\"")
                         .arg(QLatin1String(bad)));
        }
    }

    void usageErrors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("error");
        QTest::addColumn<QString>("usageOf");

        QTest::newRow("upload without file")
            << QStringList{"container", "upload"} << "missing argument FILE"
            << "container upload";
        QTest::newRow("upload two files")
            << QStringList{"container", "upload", "a.so", "b.so"} << "unexpected argument \"b.so\""
            << "container upload";
        QTest::newRow("versions without name")
            << QStringList{"container", "versions"} << "missing argument NAME"
            << "container versions";
        QTest::newRow("status of two")
            << QStringList{"container", "status", "a", "b"} << "unexpected argument \"b\""
            << "container status";
        QTest::newRow("deploy without name")
            << QStringList{"container", "deploy"} << "missing argument NAME"
            << "container deploy";
        QTest::newRow("deploy empty name")
            << QStringList{"container", "deploy", " "} << "NAME: must not be empty"
            << "container deploy";
        QTest::newRow("bad isolation")
            << QStringList{"container", "deploy", "hello", "--isolation", "fast"}
            << "--isolation: expected process or inprocess, got \"fast\""
            << "container deploy";
        QTest::newRow("empty worker id")
            << QStringList{"container", "deploy", "hello", "--workers", "w1,,w2"}
            << "--workers: expected worker ids separated by commas (w1,w2), got \"w1,,w2\""
            << "container deploy";
        QTest::newRow("timeout without follow")
            << QStringList{"container", "deploy", "hello", "--timeout", "5"}
            << "--timeout: only with --follow"
            << "container deploy";
        QTest::newRow("timeout zero")
            << QStringList{"container", "deploy", "hello", "--follow", "--timeout", "0"}
            << "--timeout: expected a whole number from 1 to 86400, got \"0\""
            << "container deploy";
        QTest::newRow("empty version")
            << QStringList{"container", "deploy", "hello", "--version="}
            << "--version: expected a SHA-256 (or a prefix of at least 8 hex digits) or a "
               "version label"
            << "container deploy";
        QTest::newRow("follow on list")
            << QStringList{"container", "list", "--follow"} << "unknown option --follow"
            << "container list";
        QTest::newRow("unknown container command")
            << QStringList{"container", "remove", "hello"}
            << "container: unknown command \"remove\"; expected one of upload, list, versions, "
               "deploy, status"
            << "container";
    }

    void usageErrors()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, error);
        QFETCH(QString, usageOf);
        const ParsedCommandLine parsed = parse(args);
        QVERIFY(!parsed.ok());
        QCOMPARE(parsed.error, error);
        QCOMPARE(parsed.invocation.command, usageOf);
    }

    void helpListsTheCommands()
    {
        const ParsedCommandLine help = parse({"container", "deploy", "--help"});
        QVERIFY(help.ok());
        QCOMPARE(help.invocation.action.kind, ActionKind::Help);
        const QString text = help.invocation.action.text;
        QVERIFY2(text.startsWith("Usage: kairosctl [GLOBAL OPTIONS] container deploy NAME "
                                 "[--version V] [--workers W[,W]]"),
                 qPrintable(text));
        for (const char *flag : {"--isolation MODE", "--follow", "--timeout S", "exit code 0"})
            QVERIFY2(text.contains(QLatin1String(flag)), flag);
        const QString group = parse({"container", "--help"}).invocation.action.text;
        for (const char *cmd : {"container upload FILE", "container list",
                                "container versions NAME", "container status [NAME]"})
            QVERIFY2(group.contains(QLatin1String(cmd)), cmd);
    }

    // --- views -------------------------------------------------------------------------------

    void sizes_data()
    {
        QTest::addColumn<qint64>("bytes");
        QTest::addColumn<qint64>("total");
        QTest::addColumn<QString>("size");
        QTest::addColumn<QString>("progress");
        QTest::newRow("bytes") << qint64(312) << qint64(900) << "312 B"
                               << "312/900 B";
        QTest::newRow("KiB") << qint64(16589) << qint64(16589) << "16.2 KiB"
                             << "16.2/16.2 KiB";
        QTest::newRow("MiB") << qint64(2 * 1048576) << qint64(5 * 1048576) << "2.0 MiB"
                             << "2.0/5.0 MiB";
        QTest::newRow("small part of MiB")
            << qint64(512 * 1024) << qint64(5 * 1048576) << "512.0 KiB"
            << "0.5/5.0 MiB";
        QTest::newRow("GiB") << qint64(1536) * 1048576 << qint64(2048) * 1048576 << "1.5 GiB"
                             << "1.5/2.0 GiB";
    }

    void sizes()
    {
        QFETCH(qint64, bytes);
        QFETCH(qint64, total);
        QFETCH(QString, size);
        QFETCH(QString, progress);
        QCOMPARE(bytesText(bytes), size);
        QCOMPARE(progressText(bytes, total), progress);
    }

    void listTable()
    {
        QJsonObject hello{{"name", "hello"},
                          {"defaultVersion", versionJson(kShaV2, "2.0")},
                          {"newest", versionJson(kShaV2, "2.0")},
                          {"isolation", "process"},
                          {"versions", 2},
                          {"pins", QJsonObject{{"w1", kShaV1}}},
                          {"jobs", QJsonArray{QJsonObject{
                                       {"id", 4}, {"name", "greeter"}, {"processor", "greet"}}}}};
        QJsonObject idle{{"name", "mapsum"},
                         {"defaultVersion", QJsonValue::Null},
                         {"newest", versionJson(kShaV1, "1.0")},
                         {"isolation", QJsonValue::Null},
                         {"versions", 1},
                         {"pins", QJsonObject{}},
                         {"jobs", QJsonArray{}}};
        QCOMPARE(
            containerTable({hello, idle}),
            QStringLiteral(
                "NAME    DEFAULT         ISOLATION  VERSIONS  NEWEST          PINS         JOBS\n"
                "hello   2.0 (5e6f7a8b)  process           2  2.0 (5e6f7a8b)  w1=1a2b3c4d  greeter "
                "(greet)\n"
                "mapsum  -               -                 1  1.0 (1a2b3c4d)  -            -\n"));
    }

    void versionsText()
    {
        QJsonObject v2 = versionJson(kShaV2, "2.0");
        v2["deployedTo"] = QJsonArray{"*", "w2"};
        v2["jobs"] = QJsonArray{QJsonObject{{"id", 4}, {"name", "greeter"}, {"processor", "greet"}},
                                QJsonObject{{"id", 5}, {"name", "old"}, {"processor", "wave"}}};
        v2["missing"] = QJsonArray{"wave"};
        QJsonObject v1 = versionJson(kShaV1, "1.0", 16589);
        v1["deployedTo"] = QJsonArray{};
        v1["jobs"] = v2["jobs"];
        v1["missing"] = QJsonArray{"wave"};
        const QString text = containerVersionsText(
            {{"name", "hello"}, {"versions", QJsonArray{v2, v1}}}, QTimeZone::utc());
        QCOMPARE(text, QStringLiteral("SHA256        VERSION      SIZE  UPLOADED                   "
                                      "BY     PROCESSORS   DEPLOYED TO      MISSING\n"
                                      "5e6f7a8b2222  2.0       5.0 MiB  2023-11-14T22:13:20+00:00  "
                                      "admin  greet, noop  * (default), w2  wave\n"
                                      "1a2b3c4d1111  1.0      16.2 KiB  2023-11-14T22:13:20+00:00  "
                                      "admin  greet, noop  -                wave\n"
                                      "\nJobs using hello: greeter (greet), old (wave)\n"));
    }

    void statusMarksWorkersBehind()
    {
        QJsonObject ready = stage("w1", DeployStageName::Ready).toJson();
        ready["version"] = "2.0";
        ready["activeSha256"] = kShaV2;
        ready["activeVersion"] = "2.0";
        ready["desiredSha256"] = kShaV2;
        ready["desiredVersion"] = "2.0";
        ready["current"] = true;
        ready["reason"] = "";
        QJsonObject busy = stage("w2", DeployStageName::Downloading, 7, 2 * 1048576).toJson();
        busy["version"] = "2.0";
        busy["activeSha256"] = kShaV1;
        busy["activeVersion"] = "1.0";
        busy["desiredSha256"] = kShaV2;
        busy["desiredVersion"] = "2.0";
        busy["current"] = false;
        const QJsonArray rows{ready, busy};
        QCOMPARE(notCurrentCount(rows), 1);
        QCOMPARE(containerStatusTable(rows, 1'700'000'060'000),
                 QStringLiteral("WORKER  CONTAINER  ACTIVE          DESIRED         CURRENT  STAGE "
                                "                      PROGRESS     UPDATED   REASON\n"
                                "w1      hello      2.0 (5e6f7a8b)  2.0 (5e6f7a8b)  yes      READY "
                                "2.0 (5e6f7a8b)        -            10 s ago\n"
                                "w2      hello      1.0 (1a2b3c4d)  2.0 (5e6f7a8b)  NO       "
                                "DOWNLOADING 2.0 (5e6f7a8b)  2.0/5.0 MiB  10 s ago\n"));
    }

    // --- DeployFollower ----------------------------------------------------------------------

    void followerPrintsStageChanges()
    {
        DeployFollower f(7, QStringLiteral("hello"), {QStringLiteral("w1"), QStringLiteral("w22")},
                         QStringLiteral("2.0"), 2000);
        QVERIFY(!f.finished());
        auto feed = [&f](const DeployStage &s, qint64 at) { return f.onStage(s.toJson(), at); };
        QCOMPARE(feed(stage("w1", DeployStageName::Downloading, 7, 0), 0),
                 QStringLiteral("w1   DOWNLOADING  0.0/5.0 MiB\n"));
        // Progress again only after 2 s.
        QCOMPARE(feed(stage("w1", DeployStageName::Downloading, 7, 1048576), 100), QString());
        QCOMPARE(feed(stage("w1", DeployStageName::Downloading, 7, 2 * 1048576), 2100),
                 QStringLiteral("w1   DOWNLOADING  2.0/5.0 MiB\n"));
        // Other deploys, containers and workers are not ours.
        QCOMPARE(feed(stage("w1", DeployStageName::Ready, 6), 2200), QString());
        QCOMPARE(feed(stage("w9", DeployStageName::Ready), 2200), QString());
        DeployStage other = stage("w1", DeployStageName::Ready);
        other.container = QStringLiteral("mapsum");
        QCOMPARE(feed(other, 2200), QString());
        QCOMPARE(feed(stage("w1", DeployStageName::Verifying), 2300),
                 QStringLiteral("w1   VERIFYING\n"));
        // An older stage after a newer one (a status row overtook an event) is not news.
        QCOMPARE(feed(stage("w1", DeployStageName::Downloading, 7, 3 * 1048576), 5000), QString());
        QCOMPARE(feed(stage("w1", DeployStageName::Ready), 2400),
                 QStringLiteral("w1   READY        hello 2.0 (5e6f7a8b) is active\n"));
        QVERIFY(!f.finished());
        QCOMPARE(f.unfinished(), QStringList{QStringLiteral("w22 (nothing reported)")});
        QCOMPARE(feed(stage("w22", DeployStageName::Failed, 7, 0,
                            QStringLiteral("digest mismatch: expected a, got b")),
                      2500),
                 QStringLiteral("w22  FAILED       digest mismatch: expected a, got b\n"));
        QVERIFY(f.finished());
        QCOMPARE(f.failedWorkers(), QStringList{QStringLiteral("w22")});
        QCOMPARE(f.readyCount(), 1);
        // Ended targets stay ended.
        QCOMPARE(feed(stage("w22", DeployStageName::Ready), 2600), QString());
        const QJsonArray last = f.lastStages();
        QCOMPARE(last.size(), 2);
        QCOMPARE(last.at(0).toObject().value("stage").toString(), QStringLiteral("READY"));
        QCOMPARE(last.at(1).toObject().value("stage").toString(), QStringLiteral("FAILED"));
    }

    void followerSupersededByNewerDeploy()
    {
        DeployFollower f(7, QStringLiteral("hello"), {QStringLiteral("w1")}, QStringLiteral("2.0"));
        QCOMPARE(f.onStage(stage("w1", DeployStageName::Queued).toJson(), 0),
                 QStringLiteral("w1  QUEUED\n"));
        QCOMPARE(f.onStage(stage("w1", DeployStageName::Loading, 9).toJson(), 10),
                 QStringLiteral("w1  FAILED       superseded by deploy 9\n"));
        QVERIFY(f.finished());
        QCOMPARE(f.failedWorkers(), QStringList{QStringLiteral("w1")});
    }

    void followerWithoutTargetsIsDone()
    {
        DeployFollower f(7, QStringLiteral("hello"), {}, QStringLiteral("2.0"));
        QVERIFY(f.finished());
        QVERIFY(f.failedWorkers().isEmpty());
    }

    // --- CommandRunner: upload ---------------------------------------------------------------

    void uploadSendsChunksInOrder()
    {
        QTemporaryDir dir;
        const QByteArray bytes = someBytes(10 * 1024 + 17);
        const QString path = writeFile(dir, QStringLiteral("hello.so"), bytes);
        FakeClient client;
        UploadServer server;
        server.install(client);
        CommandRunner::Options options;
        options.progressEveryMs = 0;
        Session s(client, {"container", "upload", path}, options);
        QCOMPARE(s.wait(), 0);
        QCOMPARE(server.received, bytes);
        QCOMPARE(server.size, bytes.size());
        QCOMPARE(server.sha,
                 QString::fromLatin1(
                     QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex()));
        QCOMPARE(server.offsets, (QList<qint64>{0, 4096, 8192}));
        QCOMPARE(client.methods(), (QStringList{"container.upload.begin", "container.upload.chunk",
                                                "container.upload.chunk", "container.upload.chunk",
                                                "container.upload.finish"}));
        QVERIFY2(s.out.startsWith("status:     uploaded\ncontainer:  hello\nversion:    1.0\n"
                                  "sha256:     "
                                  + server.sha + "\nsize:       10.0 KiB\n"),
                 qPrintable(s.out));
        QVERIFY2(s.out.contains("processors: greet (standalone): Says hello\n"
                                "            noop (standalone)\n"),
                 qPrintable(s.out));
        QVERIFY2(s.err.endsWith("uploading hello.so: 10.0/10.0 KiB (100%)\n"), qPrintable(s.err));
        QVERIFY2(s.err.contains("uploading hello.so: 4.0/10.0 KiB (39%)\n"), qPrintable(s.err));
    }

    void uploadJson()
    {
        QTemporaryDir dir;
        const QString path = writeFile(dir, QStringLiteral("x.so"), someBytes(100));
        FakeClient client;
        UploadServer server;
        server.install(client);
        Session s(client, {"container", "upload", path, "--json"});
        QCOMPARE(s.wait(), 0);
        const QJsonObject doc = QJsonDocument::fromJson(s.out.toUtf8()).object();
        QCOMPARE(doc.value("sha256").toString(), server.sha);
        QCOMPARE(doc.value("name").toString(), QStringLiteral("hello"));
        QCOMPARE(doc.value("existing").toBool(true), false);
        QCOMPARE(doc.value("sizeBytes").toInteger(), 100);
    }

    void uploadErrorFromTheServer()
    {
        QTemporaryDir dir;
        const QString path = writeFile(dir, QStringLiteral("x.so"), someBytes(5000));
        FakeClient client;
        UploadServer server;
        server.install(client);
        // The server keeps a different byte: the digest check at the end refuses the upload.
        auto chunk = client.handlers.value(QStringLiteral("container.upload.chunk"));
        client.handlers[QStringLiteral("container.upload.chunk")] = [&server,
                                                                     chunk](const QJsonObject &p) {
            auto r = chunk(p);
            if (p.value(QStringLiteral("offset")).toInteger() == 0)
                server.received[10] = char(server.received[10] ^ 1);
            return r;
        };
        Session s(client, {"container", "upload", path});
        QCOMPARE(s.wait(), CommandRunner::kExitServerError);
        // The progress line, then the server's error as the last line.
        const QStringList lines = s.err.split(u'\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.first(), QStringLiteral("uploading x.so: 4.9/4.9 KiB (100%)"));
        QVERIFY2(lines.last().startsWith("kairosctl: digest mismatch: expected " + server.sha
                                         + ", got "),
                 qPrintable(s.err));
        QCOMPARE(s.out, QString());
    }

    void uploadRefusedAtBegin()
    {
        QTemporaryDir dir;
        const QString path = writeFile(dir, QStringLiteral("x.so"), someBytes(64));
        FakeClient client;
        client.handlers[QStringLiteral("container.upload.begin")] =
            [](const QJsonObject &) -> std::optional<Result<QJsonObject>> {
            return Result<QJsonObject>(makeError(QStringLiteral(
                "size: 300000000 bytes exceeds the 268435456-byte container limit")));
        };
        Session s(client, {"container", "upload", path});
        QCOMPARE(s.wait(), 1);
        QCOMPARE(s.err, QStringLiteral("kairosctl: size: 300000000 bytes exceeds the "
                                       "268435456-byte container limit\n"));
        QCOMPARE(client.methods(), QStringList{"container.upload.begin"});
    }

    void uploadOfAFileThatIsNotThere()
    {
        QTemporaryDir dir;
        FakeClient client;
        const QString missing = dir.filePath(QStringLiteral("nope.so"));
        Session s(client, {"container", "upload", missing});
        QCOMPARE(s.wait(), 2);
        QCOMPARE(
            s.err,
            QStringLiteral("kairosctl: %1: cannot read: No such file or directory\n").arg(missing));
        QVERIFY(client.calls.isEmpty()); // nothing was sent

        const QString empty = writeFile(dir, QStringLiteral("empty.so"), QByteArray());
        Session e(client, {"container", "upload", empty});
        QCOMPARE(e.wait(), 2);
        QCOMPARE(e.err,
                 QStringLiteral("kairosctl: %1: the file is empty; expected a container library "
                                "(.so)\n")
                     .arg(empty));
        QVERIFY(client.calls.isEmpty());
    }

    // --- CommandRunner: deploy ---------------------------------------------------------------

    void deployWithoutFollowPrintsOneLine()
    {
        FakeClient client;
        client.handlers[QStringLiteral("container.deploy")] = answer(deployReply({"w1", "w2"}));
        Session s(client, {"container", "deploy", "hello", "--workers", "w1,w2"});
        QCOMPARE(s.wait(), 0);
        QCOMPARE(s.out, QStringLiteral("deploy 7: hello 2.0 (5e6f7a8b), isolation process, sent to "
                                       "w1, w2\n"));
        QCOMPARE(client.calls.at(0).params,
                 (QJsonObject{{"name", "hello"}, {"workers", QJsonArray{"w1", "w2"}}}));
    }

    void followSubscribesFirstAndEndsWhenAllReady()
    {
        FakeClient client;
        // The local worker is quick: its first stages arrive before the deploy's reply.
        client.handlers[QStringLiteral("container.deploy")] =
            [&client](const QJsonObject &) -> std::optional<Result<QJsonObject>> {
            client.pushDeployStages({stage("w1", DeployStageName::Downloading, 7, 0),
                                     stage("w1", DeployStageName::Downloading, 7, 5 * 1048576),
                                     stage("w1", DeployStageName::Verifying)});
            QMetaObject::invokeMethod(
                &client,
                [&client] {
                    client.pushDeployStages({stage("w1", DeployStageName::Loading),
                                             stage("w2", DeployStageName::Ready),
                                             stage("w1", DeployStageName::Ready)});
                },
                Qt::QueuedConnection);
            return Result<QJsonObject>(deployReply({"w1", "w2"}));
        };
        Session s(client, {"container", "deploy", "hello", "--follow"});
        QCOMPARE(s.wait(), 0);
        QCOMPARE(client.methods().mid(0, 2), (QStringList{"events.subscribe", "container.deploy"}));
        QCOMPARE(client.calls.at(0).params.value("topics").toArray(), QJsonArray{"containers"});
        QCOMPARE(s.out, QStringLiteral("deploy 7: hello 2.0 (5e6f7a8b), isolation process, sent to "
                                       "w1, w2\n"
                                       "w1  DOWNLOADING  0.0/5.0 MiB\n"
                                       "w1  VERIFYING\n"
                                       "w1  LOADING\n"
                                       "w2  READY        hello 2.0 (5e6f7a8b) is active\n"
                                       "w1  READY        hello 2.0 (5e6f7a8b) is active\n"
                                       "deploy 7: READY on 2 of 2 worker(s)\n"));
        QCOMPARE(s.err, QString());
    }

    void followFailsWhenOneFails()
    {
        FakeClient client;
        client.handlers[QStringLiteral("container.deploy")] =
            [&client](const QJsonObject &) -> std::optional<Result<QJsonObject>> {
            QMetaObject::invokeMethod(
                &client,
                [&client] {
                    client.pushDeployStages(
                        {stage("w1", DeployStageName::Ready),
                         stage("w2", DeployStageName::Failed, 7, 0,
                               QStringLiteral("digest mismatch: expected 5e6f, got 0000"))});
                },
                Qt::QueuedConnection);
            return Result<QJsonObject>(deployReply({"w1", "w2"}));
        };
        Session s(client, {"container", "deploy", "hello", "--follow"});
        QCOMPARE(s.wait(), CommandRunner::kExitDeployFailed);
        QVERIFY2(s.out.endsWith("w2  FAILED       digest mismatch: expected 5e6f, got 0000\n"),
                 qPrintable(s.out));
        QCOMPARE(s.err, QStringLiteral("kairosctl: deploy 7 FAILED on 1 of 2 worker(s): w2\n"));
    }

    void followReadsStatusWhenEventsAreLost()
    {
        FakeClient client;
        QList<DeployStage> rows{stage("w1", DeployStageName::Downloading, 7, 1048576),
                                stage("w2", DeployStageName::Ready, 3, 0, QString(), kShaV1)};
        client.handlers[QStringLiteral("container.deploy")] = answer(deployReply({"w1", "w2"}));
        client.handlers[QStringLiteral("container.status")] = statusHandler(&rows);
        CommandRunner::Options options;
        options.pollIntervalMs = 20;
        Session s(client, {"container", "deploy", "hello", "--follow", "--timeout", "20"}, options);
        QTRY_VERIFY_WITH_TIMEOUT(s.out.contains("w1  DOWNLOADING  1.0/5.0 MiB\n"), 5000);
        QVERIFY(s.finished->isEmpty());
        // w2's row is of an older deploy: not ours, so nothing is printed for it yet.
        QVERIFY2(!s.out.contains("\nw2 "), qPrintable(s.out));
        rows = {stage("w1", DeployStageName::Ready), stage("w2", DeployStageName::Ready)};
        QCOMPARE(s.wait(), 0);
        QVERIFY2(s.out.endsWith("w1  READY        hello 2.0 (5e6f7a8b) is active\n"
                                "w2  READY        hello 2.0 (5e6f7a8b) is active\n"
                                "deploy 7: READY on 2 of 2 worker(s)\n"),
                 qPrintable(s.out));
        QCOMPARE(client.calls.last().params, (QJsonObject{{"name", "hello"}}));
    }

    void followTimesOut()
    {
        FakeClient client;
        QList<DeployStage> rows;
        client.handlers[QStringLiteral("container.deploy")] =
            [&client](const QJsonObject &) -> std::optional<Result<QJsonObject>> {
            client.pushDeployStages({stage("w1", DeployStageName::Downloading, 7, 2 * 1048576)});
            return Result<QJsonObject>(deployReply({"w1", "w2"}));
        };
        client.handlers[QStringLiteral("container.status")] = statusHandler(&rows);
        Session s(client, {"container", "deploy", "hello", "--follow", "--timeout", "1"});
        QCOMPARE(s.wait(10000), CommandRunner::kExitDeployTimeout);
        QCOMPARE(s.err, QStringLiteral("kairosctl: --timeout: after 1 s, 2 of 2 worker(s) had not "
                                       "finished: w1 (DOWNLOADING 2.0/5.0 MiB); w2 (nothing "
                                       "reported)\n"));
    }

    void followWithoutConnectedWorkers()
    {
        FakeClient client;
        client.handlers[QStringLiteral("container.deploy")] = answer(deployReply({}));
        Session s(client, {"container", "deploy", "hello", "--follow"});
        QCOMPARE(s.wait(), 0);
        QCOMPARE(s.out,
                 QStringLiteral("deploy 7: hello 2.0 (5e6f7a8b), isolation process, no "
                                "worker is connected now (each gets it when it connects)\n"));
    }

    void followJson()
    {
        FakeClient client;
        client.handlers[QStringLiteral("container.deploy")] =
            [&client](const QJsonObject &) -> std::optional<Result<QJsonObject>> {
            QMetaObject::invokeMethod(
                &client,
                [&client] { client.pushDeployStages({stage("w1", DeployStageName::Ready)}); },
                Qt::QueuedConnection);
            return Result<QJsonObject>(deployReply({"w1"}));
        };
        Session s(client, {"--json", "container", "deploy", "hello", "--follow"});
        QCOMPARE(s.wait(), 0);
        QJsonParseError error;
        const QJsonObject doc = QJsonDocument::fromJson(s.out.toUtf8(), &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        QCOMPARE(doc.value("deployId").toInteger(), 7);
        QCOMPARE(doc.value("workers").toArray(), QJsonArray{"w1"});
        QCOMPARE(doc.value("version").toObject().value("sha256").toString(), kShaV2);
        const QJsonArray stages = doc.value("stages").toArray();
        QCOMPARE(stages.size(), 1);
        QCOMPARE(stages.at(0).toObject(), stage("w1", DeployStageName::Ready).toJson());
    }

    void deployRefused()
    {
        FakeClient client;
        client.handlers[QStringLiteral("container.deploy")] =
            [](const QJsonObject &) -> std::optional<Result<QJsonObject>> {
            return Result<QJsonObject>(makeError(QStringLiteral(
                "workers: w9 is not connected (connected: local); nothing was deployed")));
        };
        Session s(client, {"container", "deploy", "hello", "--workers", "w9", "--follow"});
        QCOMPARE(s.wait(), 1);
        QCOMPARE(s.err, QStringLiteral("kairosctl: workers: w9 is not connected (connected: "
                                       "local); nothing was deployed\n"));
    }

    void statusNotesRowsBehind()
    {
        FakeClient client;
        QList<DeployStage> rows{stage("w1", DeployStageName::Ready),
                                stage("w2", DeployStageName::Failed, 7, 0, QStringLiteral("x"))};
        client.handlers[QStringLiteral("container.status")] = statusHandler(&rows);
        Session s(client, {"container", "status"});
        QCOMPARE(s.wait(), 0);
        QVERIFY2(s.out.startsWith("WORKER  CONTAINER  ACTIVE"), qPrintable(s.out));
        QCOMPARE(s.err,
                 QStringLiteral("(1 of 2 row(s) not on the desired version: CURRENT is NO)\n"));
    }
};

QTEST_GUILESS_MAIN(TestCliContainers)
#include "tst_cli_containers.moc"
