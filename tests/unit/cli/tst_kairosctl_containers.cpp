// The container surface against a real engine in this process (LocalEngineHost + InProcessClient,
// the AdminApi kairosd serves) and over its admin listener (AdminService + RemoteClient):
// `kairosctl container upload` of the test containers (and the exact errors for files that are
// not containers), `container list` / `versions` / `status` with their JSON shapes, and
// `container deploy --follow` to the engine's own worker until READY, after which a job runs the
// new version. Also the container.* params errors that name the field, and the per-subscriber
// buffer of deploy stages on its own.
#include <command_line.h>
#include <command_runner.h>

#include <client/in_process_client.h>
#include <client/remote_client.h>
#include <server/admin_api.h>
#include <server/admin_service.h>

#include <QCryptographicHash>
#include <QFile>
#include <QJsonDocument>
#include <QProcess>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace kairos;
using namespace kairos::cli;

namespace {

struct Run {
    QString out;
    QString err;
    int exitCode = -1;
    QJsonObject json() const { return QJsonDocument::fromJson(out.toUtf8()).object(); }
};

Run kairosctl(client::Client &client, const QStringList &args, int timeoutMs = 90000)
{
    Run run;
    const ParsedCommandLine parsed = parseCommandLine(
        args, [](const QString &) -> Result<QByteArray> { return makeError("no files"); });
    if (!parsed.ok()) {
        run.err = parsed.error;
        run.exitCode = 2;
        return run;
    }
    QTextStream out(&run.out);
    QTextStream err(&run.err);
    CommandRunner::Options options;
    options.json = parsed.invocation.global.json;
    options.zone = QTimeZone::utc();
    CommandRunner runner(client, parsed.invocation.action, options, out, err);
    QSignalSpy finished(&runner, &CommandRunner::finished);
    runner.start();
    if (finished.isEmpty() && !finished.wait(timeoutMs))
        return run;
    out.flush();
    err.flush();
    run.exitCode = finished.at(0).at(0).toInt();
    return run;
}

QString fixture(const QString &file)
{
    return QStringLiteral(KAIROS_BIN_DIR "/containers/") + file;
}

QString sha256Of(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(&f);
    return QString::fromLatin1(h.result().toHex());
}

quint16 freePort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

Result<QJsonObject> callAndWait(client::Client &client, const QString &method,
                                const QJsonObject &params)
{
    std::optional<Result<QJsonObject>> reply;
    QObject context;
    client.call(method, params, &context,
                [&reply](Result<QJsonObject> r) { reply.emplace(std::move(r)); });
    QDeadlineTimer deadline(20000);
    while (!reply && !deadline.hasExpired())
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    if (!reply)
        return makeError(QStringLiteral("no reply to %1 in 20 s").arg(method));
    return *reply;
}

QStringList names(const QJsonValue &list, const char *key)
{
    QStringList out;
    for (const QJsonValue &v : list.toArray())
        out << v.toObject().value(QLatin1String(key)).toString();
    return out;
}

bool sawStage(const QSignalSpy &spy, const QString &worker, const QString &sha,
              DeployStageName stage)
{
    for (const QList<QVariant> &args : spy) {
        for (const DeployStage &s : args.at(0).value<QList<DeployStage>>()) {
            if (s.worker == worker && s.sha256 == sha && s.stage == stage)
                return true;
        }
    }
    return false;
}

bool sawChanged(const QSignalSpy &spy, const QString &name)
{
    for (const QList<QVariant> &args : spy) {
        if (args.at(0).toStringList().contains(name))
            return true;
    }
    return false;
}

DeployStage stageOf(const QString &worker, qint64 deployId, DeployStageName name, qint64 bytes)
{
    DeployStage s;
    s.worker = worker;
    s.container = QStringLiteral("hello");
    s.deployId = deployId;
    s.stage = name;
    s.bytes = bytes;
    s.total = 1000;
    return s;
}

} // namespace

class TestKairosctlContainers : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::unique_ptr<client::LocalEngineHost> m_host;
    std::unique_ptr<client::InProcessClient> m_client;
    quint16 m_port = 0;
    QString m_data;

    void startHost(const QString &name)
    {
        m_data = m_dir.filePath(name);
        server::EngineConfig config;
        config.store = *StoreConfig::parse(QDir(m_data).filePath(QStringLiteral("kairos.db")));
        config.localWorkerCapacity = 4;
        config.localContainerDir = QDir(m_data).filePath(QStringLiteral("containers"));
        m_host = std::make_unique<client::LocalEngineHost>(config);
        m_port = freePort();
        m_host->setAdminListenPort(m_port, m_data);
        m_client = std::make_unique<client::InProcessClient>(m_host.get());
        QSignalSpy started(m_host.get(), &client::LocalEngineHost::started);
        QSignalSpy failed(m_host.get(), &client::LocalEngineHost::failed);
        m_host->start();
        QTRY_VERIFY_WITH_TIMEOUT(!started.isEmpty() || !failed.isEmpty(), 10000);
        QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(0).toString()));
    }

    void upload(client::Client &client, const QString &file)
    {
        const Run r = kairosctl(client, {"container", "upload", fixture(file)});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
    }

    // Runs job `name` once and waits for its end: the instance's result ("" on failure).
    QString runResult(const QString &name)
    {
        const Run run =
            kairosctl(*m_client, {"job", "run", name, "--wait", "--timeout-s", "60", "--json"});
        const QJsonObject inst = run.json().value("instances").toArray().at(0).toObject();
        if (run.exitCode != 0 || inst.value("status").toString() != QLatin1String("SUCCEEDED")) {
            qWarning() << "job run failed:" << run.exitCode << run.out << run.err;
            return {};
        }
        return inst.value("result").toString();
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        for (const char *file : {"hello-v1.so", "hello-v2.so", "notalib.so", "notmeta.so",
                                 "wrongsdk.so", "badshape.so"}) {
            QVERIFY2(QFile::exists(fixture(QLatin1String(file))),
                     qPrintable(fixture(QLatin1String(file))
                                + " is missing (build "
                                  "kairos_test_containers)"));
        }
    }

    void cleanup()
    {
        m_client.reset();
        m_host.reset();
    }

    void uploadListAndVersions()
    {
        startHost(QStringLiteral("upload"));
        QSignalSpy changed(m_client.get(), &client::Client::containersChanged);
        const QString sha = sha256Of(fixture(QStringLiteral("hello-v1.so")));
        QCOMPARE(sha.size(), 64);

        const Run up = kairosctl(*m_client, {"container", "upload", fixture("hello-v1.so")});
        QCOMPARE(up.exitCode, 0);
        QVERIFY2(up.out.startsWith("status:     uploaded\ncontainer:  hello\nversion:    1.0\n"
                                   "sha256:     "
                                   + sha + "\n"),
                 qPrintable(up.out));
        QVERIFY2(up.out.contains("processors: greet (standalone): Says hello\n"
                                 "            noop (standalone): Does nothing\n"),
                 qPrintable(up.out));
        QVERIFY2(up.out.contains(" by local\n"), qPrintable(up.out));
        QVERIFY2(up.err.endsWith("(100%)\n"), qPrintable(up.err));
        QTRY_VERIFY_WITH_TIMEOUT(sawChanged(changed, QStringLiteral("hello")), 5000);

        // The same file again: the stored version, nothing new.
        const Run again =
            kairosctl(*m_client, {"container", "upload", fixture("hello-v1.so"), "--json"});
        QCOMPARE(again.exitCode, 0);
        const QJsonObject version = again.json();
        QCOMPARE(version.value("sha256").toString(), sha);
        QCOMPARE(version.value("existing").toBool(), true);
        QCOMPARE(version.value("name").toString(), QStringLiteral("hello"));
        QCOMPARE(version.value("version").toString(), QStringLiteral("1.0"));
        QCOMPARE(version.value("sdk").toInt(), 1);
        QCOMPARE(version.value("sizeBytes").toInteger(), QFileInfo(fixture("hello-v1.so")).size());
        QCOMPARE(names(version.value("processors"), "name"), (QStringList{"greet", "noop"}));

        const Run list = kairosctl(*m_client, {"container", "list", "--json"});
        QCOMPARE(list.exitCode, 0);
        const QJsonArray containers = list.json().value("containers").toArray();
        QCOMPARE(containers.size(), 1);
        const QJsonObject hello = containers.at(0).toObject();
        QCOMPARE(hello.value("name").toString(), QStringLiteral("hello"));
        QCOMPARE(hello.value("versions").toInt(), 1);
        QVERIFY(hello.value("defaultVersion").isNull());
        QVERIFY(hello.value("isolation").isNull());
        QCOMPARE(hello.value("pins").toObject(), QJsonObject());
        QCOMPARE(hello.value("jobs").toArray(), QJsonArray());
        QCOMPARE(hello.value("newest").toObject().value("sha256").toString(), sha);

        const Run table = kairosctl(*m_client, {"container", "list"});
        QCOMPARE(table.exitCode, 0);
        QCOMPARE(table.out,
                 QStringLiteral("NAME   DEFAULT  ISOLATION  VERSIONS  NEWEST          "
                                "PINS  JOBS\n"
                                "hello  -        -                 1  1.0 (%1)  -     -\n")
                     .arg(sha.left(8)));

        const Run versions = kairosctl(*m_client, {"container", "versions", "hello", "--json"});
        QCOMPARE(versions.exitCode, 0);
        const QJsonArray rows = versions.json().value("versions").toArray();
        QCOMPARE(rows.size(), 1);
        const QJsonObject row = rows.at(0).toObject();
        QCOMPARE(row.value("sha256").toString(), sha);
        QCOMPARE(row.value("uploadedBy").toString(), QStringLiteral("local"));
        QCOMPARE(row.value("deployedTo").toArray(), QJsonArray());
        QCOMPARE(row.value("jobs").toArray(), QJsonArray());
        QCOMPARE(row.value("missing").toArray(), QJsonArray());

        const Run human = kairosctl(*m_client, {"container", "versions", "hello"});
        QCOMPARE(human.exitCode, 0);
        QVERIFY2(human.out.startsWith("SHA256        VERSION"), qPrintable(human.out));
        QVERIFY2(human.out.contains(sha.left(12) + "  1.0"), qPrintable(human.out));
        QVERIFY2(human.out.endsWith("\nNo job uses hello.\n"), qPrintable(human.out));

        const Run unknown = kairosctl(*m_client, {"container", "versions", "nope"});
        QCOMPARE(unknown.exitCode, 1);
        QCOMPARE(unknown.err, QStringLiteral("kairosctl: name: no container 'nope' is uploaded\n"));
    }

    void filesThatAreNotContainers_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("error");
        QTest::newRow("text") << "notalib.so"
                              << "not a shared library: no ELF header";
        QTest::newRow("plain library")
            << "notmeta.so"
            << "not a Kairos container: no plugin metadata (build it with kairos_add_container)";
        QTest::newRow("other SDK")
            << "wrongsdk.so"
            << "incompatible SDK version 99: this server supports SDK version 1";
        QTest::newRow("bad shape") << "badshape.so"
                                   << "metadata: field 'processors[1].shape' must be one of "
                                      "standalone, broadcast, map, mapReduce";
    }

    void filesThatAreNotContainers()
    {
        QFETCH(QString, file);
        QFETCH(QString, error);
        if (!m_host)
            startHost(QStringLiteral("bad"));
        const Run r = kairosctl(*m_client, {"container", "upload", fixture(file)});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.out, QString());
        // The progress line, then the server's reason as the last line.
        const QStringList lines = r.err.split(u'\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 2);
        QVERIFY2(lines.at(0).startsWith("uploading " + file + ": "), qPrintable(r.err));
        QCOMPARE(lines.at(1), QStringLiteral("kairosctl: ") + error);
        const auto list = callAndWait(*m_client, QStringLiteral("container.list"), {});
        QVERIFY2(list.ok(), qPrintable(list.error()));
        QCOMPARE(list->value("containers").toArray(), QJsonArray());
    }

    void missingFileIsAUsageError()
    {
        if (!m_host)
            startHost(QStringLiteral("missing"));
        const QString path = m_dir.filePath(QStringLiteral("nothing-here.so"));
        const Run r = kairosctl(*m_client, {"container", "upload", path});
        QCOMPARE(r.exitCode, 2);
        QCOMPARE(
            r.err,
            QStringLiteral("kairosctl: %1: cannot read: No such file or directory\n").arg(path));
    }

    void deployFollowToTheLocalWorker()
    {
        startHost(QStringLiteral("deploy"));
        const QString v1 = sha256Of(fixture(QStringLiteral("hello-v1.so")));
        const QString v2 = sha256Of(fixture(QStringLiteral("hello-v2.so")));
        upload(*m_client, QStringLiteral("hello-v1.so"));
        const Run created = kairosctl(*m_client, {"job", "create", "--name", "greeter", "--api",
                                                  "--container", "hello#greet"});
        QVERIFY2(created.exitCode == 0, qPrintable(created.err));
        QVERIFY2(created.out.contains("processor:     CONTAINER\n  ref:         hello#greet\n"),
                 qPrintable(created.out));

        const Run deploy =
            kairosctl(*m_client, {"container", "deploy", "hello", "--follow", "--timeout", "60"});
        QVERIFY2(deploy.exitCode == 0, qPrintable(deploy.out + deploy.err));
        const QStringList lines = deploy.out.split(u'\n', Qt::SkipEmptyParts);
        QVERIFY2(
            QRegularExpression(
                QStringLiteral("^deploy \\d+: hello 1\\.0 \\(%1\\), isolation process, sent to "
                               "local$")
                    .arg(v1.left(8)))
                .match(lines.first())
                .hasMatch(),
            qPrintable(deploy.out));
        QVERIFY2(
            lines.contains(
                QStringLiteral("local  READY        hello 1.0 (%1) is active").arg(v1.left(8))),
            qPrintable(deploy.out));
        QVERIFY2(QRegularExpression(QStringLiteral("^deploy \\d+: READY on 1 of 1 worker\\(s\\)$"))
                     .match(lines.last())
                     .hasMatch(),
                 qPrintable(deploy.out));
        // Every line between names the local worker and a stage.
        for (const QString &line : lines.mid(1, lines.size() - 2)) {
            QVERIFY2(QRegularExpression(
                         QStringLiteral("^local  (QUEUED|DOWNLOADING|VERIFYING|LOADING|READY)"))
                         .match(line)
                         .hasMatch(),
                     qPrintable(line));
        }
        QCOMPARE(runResult(QStringLiteral("greeter")), QStringLiteral("v1"));

        const Run status = kairosctl(*m_client, {"container", "status", "hello", "--json"});
        QCOMPARE(status.exitCode, 0);
        const QJsonArray rows = status.json().value("workers").toArray();
        QCOMPARE(rows.size(), 1);
        const QJsonObject local = rows.at(0).toObject();
        QCOMPARE(local.value("worker").toString(), QStringLiteral("local"));
        QCOMPARE(local.value("container").toString(), QStringLiteral("hello"));
        QCOMPARE(local.value("stage").toString(), QStringLiteral("READY"));
        QCOMPARE(local.value("sha256").toString(), v1);
        QCOMPARE(local.value("version").toString(), QStringLiteral("1.0"));
        QCOMPARE(local.value("activeSha256").toString(), v1);
        QCOMPARE(local.value("desiredSha256").toString(), v1);
        QCOMPARE(local.value("current").toBool(), true);

        // A new version, in-process this time, followed as JSON.
        upload(*m_client, QStringLiteral("hello-v2.so"));
        const Run second = kairosctl(*m_client, {"container", "deploy", "hello", "--version", "2.0",
                                                 "--isolation", "inprocess", "--follow", "--json"});
        QVERIFY2(second.exitCode == 0, qPrintable(second.out + second.err));
        const QJsonObject doc = second.json();
        QVERIFY(doc.value("deployId").toInteger() > 0);
        QCOMPARE(doc.value("isolation").toString(), QStringLiteral("inprocess"));
        QCOMPARE(doc.value("workers").toArray(), QJsonArray{"local"});
        QCOMPARE(doc.value("version").toObject().value("sha256").toString(), v2);
        const QJsonArray stages = doc.value("stages").toArray();
        QCOMPARE(stages.size(), 1);
        QCOMPARE(stages.at(0).toObject().value("stage").toString(), QStringLiteral("READY"));
        QCOMPARE(stages.at(0).toObject().value("deployId").toInteger(),
                 doc.value("deployId").toInteger());
        QCOMPARE(runResult(QStringLiteral("greeter")), QStringLiteral("v2"));

        const QJsonObject versions =
            kairosctl(*m_client, {"container", "versions", "hello", "--json"}).json();
        const QJsonArray list = versions.value("versions").toArray();
        QCOMPARE(list.size(), 2);
        QCOMPARE(list.at(0).toObject().value("sha256").toString(), v2); // newest first
        QCOMPARE(list.at(0).toObject().value("deployedTo").toArray(), QJsonArray{"*"});
        QCOMPARE(list.at(1).toObject().value("deployedTo").toArray(), QJsonArray());
        const QJsonArray jobs = list.at(0).toObject().value("jobs").toArray();
        QCOMPARE(jobs.size(), 1);
        QCOMPARE(jobs.at(0).toObject().value("name").toString(), QStringLiteral("greeter"));
        QCOMPARE(jobs.at(0).toObject().value("processor").toString(), QStringLiteral("greet"));

        const QJsonObject hello = kairosctl(*m_client, {"container", "list", "--json"})
                                      .json()
                                      .value("containers")
                                      .toArray()
                                      .at(0)
                                      .toObject();
        QCOMPARE(hello.value("defaultVersion").toObject().value("sha256").toString(), v2);
        QCOMPARE(hello.value("isolation").toString(), QStringLiteral("inprocess"));
        QCOMPARE(names(hello.value("jobs"), "name"), QStringList{"greeter"});

        const Run human = kairosctl(*m_client, {"container", "status"});
        QCOMPARE(human.exitCode, 0);
        QVERIFY2(
            human.out.contains(QStringLiteral("local   hello      2.0 (%1)  2.0 (%1)  yes      "
                                              "READY 2.0 (%1)")
                                   .arg(v2.left(8))),
            qPrintable(human.out));
        QCOMPARE(human.err, QString());
    }

    void deployToAnOfflineWorkerChangesNothing()
    {
        startHost(QStringLiteral("offline"));
        upload(*m_client, QStringLiteral("hello-v1.so"));
        const Run r = kairosctl(*m_client, {"container", "deploy", "hello", "--workers", "w9"});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.startsWith("kairosctl: workers: w9 is not connected ("), qPrintable(r.err));
        const Run status = kairosctl(*m_client, {"container", "status", "--json"});
        QCOMPARE(status.exitCode, 0);
        QCOMPARE(status.json().value("workers").toArray(), QJsonArray());
        const QJsonObject hello = kairosctl(*m_client, {"container", "list", "--json"})
                                      .json()
                                      .value("containers")
                                      .toArray()
                                      .at(0)
                                      .toObject();
        QVERIFY(hello.value("defaultVersion").isNull());
        QCOMPARE(hello.value("pins").toObject(), QJsonObject());
    }

    void remoteClientFollowsADeploy()
    {
        startHost(QStringLiteral("remote"));
        QFile pw(QDir(m_data).filePath(QStringLiteral("admin.password")));
        QVERIFY(pw.open(QIODevice::ReadOnly));
        client::RemoteEndpoint endpoint;
        endpoint.port = m_port;
        endpoint.password = QString::fromUtf8(pw.readLine()).trimmed();
        client::RemoteClient remote(endpoint);
        QSignalSpy stages(&remote, &client::Client::deployStages);
        QSignalSpy changed(&remote, &client::Client::containersChanged);
        remote.open(false);
        QTRY_COMPARE_WITH_TIMEOUT(remote.linkState(), client::Client::LinkState::Connected, 10000);
        remote.subscribe({QStringLiteral("containers")});
        // Asked over the protocol, so that the subscription is surely in place.
        QVERIFY(callAndWait(remote, QStringLiteral("server.info"), {}).ok());

        const QString sha = sha256Of(fixture(QStringLiteral("hello-v1.so")));
        const Run up = kairosctl(remote, {"container", "upload", fixture("hello-v1.so"), "--json"});
        QVERIFY2(up.exitCode == 0, qPrintable(up.err));
        QCOMPARE(up.json().value("sha256").toString(), sha);
        QCOMPARE(up.json().value("uploadedBy").toString(), QStringLiteral("admin"));
        QTRY_VERIFY_WITH_TIMEOUT(sawChanged(changed, QStringLiteral("hello")), 5000);

        const Run deploy = kairosctl(remote, {"container", "deploy", "hello", "--follow"});
        QVERIFY2(deploy.exitCode == 0, qPrintable(deploy.out + deploy.err));
        QVERIFY2(
            deploy.out.contains(
                QStringLiteral("local  READY        hello 1.0 (%1) is active\n").arg(sha.left(8))),
            qPrintable(deploy.out));
        QTRY_VERIFY_WITH_TIMEOUT(
            sawStage(stages, QStringLiteral("local"), sha, DeployStageName::Ready), 5000);
        remote.close();
    }

    void realKairosdAndKairosctl()
    {
        // The binaries as an operator runs them: kairosd with a 1 MiB container limit refuses
        // the 5 MiB container at the first call, takes a small one, and `container deploy
        // --follow` ends with exit code 0 once its own worker is READY.
        const QString data = m_dir.filePath(QStringLiteral("kairosd"));
        QProcess kairosd;
        kairosd.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        kairosd.start(QStringLiteral(KAIROS_BIN_DIR "/kairosd"),
                      {"--data", data, "--listen", "127.0.0.1:0", "--max-container-mb", "1",
                       "--worker-threads", "2"});
        QVERIFY2(kairosd.waitForStarted(10000), qPrintable(kairosd.errorString()));
        QString banner;
        QDeadlineTimer deadline(15000);
        while (!banner.contains(u'\n') && !deadline.hasExpired()
               && kairosd.state() == QProcess::Running) {
            kairosd.waitForReadyRead(200);
            banner += QString::fromUtf8(kairosd.readAllStandardOutput());
        }
        const QRegularExpressionMatch port =
            QRegularExpression(QStringLiteral("listening on 127\\.0\\.0\\.1:(\\d+)")).match(banner);
        QVERIFY2(port.hasMatch(), qPrintable(banner));

        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("KAIROS_SERVER"),
                   QStringLiteral("127.0.0.1:") + port.captured(1));
        env.insert(QStringLiteral("KAIROS_PASSWORD_FILE"),
                   QDir(data).filePath(QStringLiteral("admin.password")));
        auto ctl = [&env](const QStringList &args) {
            QProcess p;
            p.setProcessEnvironment(env);
            p.start(QStringLiteral(KAIROS_BIN_DIR "/kairosctl"), args);
            Run r;
            if (!p.waitForFinished(60000)) {
                p.kill();
                p.waitForFinished(5000);
                return r;
            }
            r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
            r.out = QString::fromUtf8(p.readAllStandardOutput());
            r.err = QString::fromUtf8(p.readAllStandardError());
            return r;
        };

        const Run big = ctl({"container", "upload", fixture("big.so")});
        QCOMPARE(big.exitCode, 1);
        QCOMPARE(big.err, QStringLiteral("kairosctl: size: %1 bytes exceeds the 1048576-byte "
                                         "container limit\n")
                              .arg(QFileInfo(fixture("big.so")).size()));

        const Run small = ctl({"container", "upload", fixture("hello-v1.so"), "--json"});
        QCOMPARE(small.exitCode, 0);
        QCOMPARE(small.json().value("sha256").toString(), sha256Of(fixture("hello-v1.so")));

        const Run deploy = ctl({"container", "deploy", "hello", "--follow", "--timeout", "60"});
        QVERIFY2(deploy.exitCode == 0, qPrintable(deploy.out + deploy.err));
        QVERIFY2(deploy.out.contains("local  READY        hello 1.0 ("), qPrintable(deploy.out));
        // The local worker of kairosd keeps its files with the data.
        QVERIFY(QFile::exists(QDir(data).filePath(
            QStringLiteral("containers/hello/%1.so").arg(sha256Of(fixture("hello-v1.so"))))));

        kairosd.terminate();
        QVERIFY(kairosd.waitForFinished(15000));
        QCOMPARE(kairosd.exitCode(), 0);
    }

    void paramsErrorsNameTheField_data()
    {
        QTest::addColumn<QString>("method");
        QTest::addColumn<QByteArray>("params");
        QTest::addColumn<QString>("error");
        const QString sha(64, u'a');
        QTest::newRow("begin without size")
            << "container.upload.begin" << QByteArray("{}")
            << "size: expected the file's size in bytes (a positive integer)";
        QTest::newRow("begin with size 0")
            << "container.upload.begin" << QByteArray(R"({"size":0})")
            << "size: expected the file's size in bytes (a positive integer)";
        QTest::newRow("begin without sha")
            << "container.upload.begin" << QByteArray(R"({"size":10})")
            << "sha256: expected the file's SHA-256 as a string of 64 hex digits";
        QTest::newRow("begin too big")
            << "container.upload.begin"
            << QByteArray(R"({"size":300000000,"sha256":")") + sha.toLatin1() + "\"}"
            << "size: 300000000 bytes exceeds the 268435456-byte container limit";
        QTest::newRow("chunk without upload") << "container.upload.chunk" << QByteArray("{}")
                                              << "uploadId: expected a positive integer";
        QTest::newRow("chunk with text id")
            << "container.upload.chunk" << QByteArray(R"({"uploadId":"1"})")
            << "uploadId: expected a positive integer";
        QTest::newRow("chunk without offset")
            << "container.upload.chunk" << QByteArray(R"({"uploadId":1})")
            << "offset: expected the chunk's position in bytes (0 or more)";
        QTest::newRow("chunk negative offset")
            << "container.upload.chunk" << QByteArray(R"({"uploadId":1,"offset":-1})")
            << "offset: expected the chunk's position in bytes (0 or more)";
        QTest::newRow("chunk without data")
            << "container.upload.chunk" << QByteArray(R"({"uploadId":1,"offset":0})")
            << "data: expected the chunk's bytes as base64 text";
        QTest::newRow("chunk bad base64")
            << "container.upload.chunk" << QByteArray(R"({"uploadId":1,"offset":0,"data":"@@@"})")
            << "data: not valid base64";
        QTest::newRow("finish fractional id")
            << "container.upload.finish" << QByteArray(R"({"uploadId":1.5})")
            << "uploadId: expected a positive integer";
        QTest::newRow("versions without name") << "container.versions" << QByteArray("{}")
                                               << "name: expected the container name as a string";
        QTest::newRow("versions of nothing")
            << "container.versions" << QByteArray(R"({"name":"nope"})")
            << "name: no container 'nope' is uploaded";
        QTest::newRow("status of a number")
            << "container.status" << QByteArray(R"({"name":5})")
            << "name: expected the container name as a string (or no name: every container)";
        QTest::newRow("status of nothing") << "container.status" << QByteArray(R"({"name":"nope"})")
                                           << "name: no container 'nope' is uploaded";
        QTest::newRow("deploy without name") << "container.deploy" << QByteArray("{}")
                                             << "name: expected the container name as a string";
        QTest::newRow("deploy bad isolation")
            << "container.deploy" << QByteArray(R"({"name":"hello","isolation":"fast"})")
            << "isolation: expected \"process\" or \"inprocess\", got \"fast\"";
        QTest::newRow("deploy isolation not text")
            << "container.deploy" << QByteArray(R"({"name":"hello","isolation":1})")
            << "isolation: expected \"process\" or \"inprocess\", got a non-string value";
        QTest::newRow("deploy workers as text")
            << "container.deploy" << QByteArray(R"({"name":"hello","workers":"w1"})")
            << "workers: expected a list of worker ids (strings)";
        QTest::newRow("deploy worker not text")
            << "container.deploy" << QByteArray(R"({"name":"hello","workers":["w1",2]})")
            << "workers: expected a list of worker ids (strings)";
        QTest::newRow("deploy no workers")
            << "container.deploy" << QByteArray(R"({"name":"hello","workers":[]})")
            << "workers: expected at least one worker id; leave the field out to deploy to every "
               "worker";
        QTest::newRow("deploy version not text")
            << "container.deploy" << QByteArray(R"({"name":"hello","version":3})")
            << "version: expected a SHA-256, a prefix of at least 8 of its hex digits or a version "
               "label";
        QTest::newRow("deploy of nothing") << "container.deploy" << QByteArray(R"({"name":"nope"})")
                                           << "name: no container 'nope' is uploaded";
    }

    void paramsErrorsNameTheField()
    {
        QFETCH(QString, method);
        QFETCH(QByteArray, params);
        QFETCH(QString, error);
        if (!m_host)
            startHost(QStringLiteral("params"));
        const auto reply = callAndWait(*m_client, method, QJsonDocument::fromJson(params).object());
        QVERIFY(!reply.ok());
        QCOMPARE(reply.error(), error);
    }

    void truncatedUploadIsRefused()
    {
        startHost(QStringLiteral("truncated"));
        const auto begin = callAndWait(*m_client, QStringLiteral("container.upload.begin"),
                                       {{"size", 100}, {"sha256", QString(64, u'a')}});
        QVERIFY2(begin.ok(), qPrintable(begin.error()));
        const qint64 id = begin->value("uploadId").toInteger();
        QVERIFY(id > 0);
        QVERIFY(begin->value("chunkBytes").toInteger() > 0);
        const auto chunk =
            callAndWait(*m_client, QStringLiteral("container.upload.chunk"),
                        {{"uploadId", id},
                         {"offset", 0},
                         {"data", QString::fromLatin1(QByteArray(10, 'x').toBase64())}});
        QVERIFY2(chunk.ok(), qPrintable(chunk.error()));
        QCOMPARE(chunk->value("received").toInteger(), 10);
        const auto finish =
            callAndWait(*m_client, QStringLiteral("container.upload.finish"), {{"uploadId", id}});
        QVERIFY(!finish.ok());
        QCOMPARE(finish.error(), QStringLiteral("truncated upload: received 10 of 100 bytes"));
    }

    void methodsAreListed()
    {
        const QStringList methods = server::AdminApi::methods();
        for (const char *m :
             {"container.upload.begin", "container.upload.chunk", "container.upload.finish",
              "container.list", "container.versions", "container.deploy", "container.status"})
            QVERIFY2(methods.contains(QLatin1String(m)), m);
    }

    void containersEventShape()
    {
        const DeployStage s = stageOf(QStringLiteral("w1"), 3, DeployStageName::Ready, 1000);
        QCOMPARE(server::AdminApi::containersEvent({s}, {}),
                 (QJsonObject{{"stages", QJsonArray{s.toJson()}}}));
        QCOMPARE(server::AdminApi::containersEvent({}, {QStringLiteral("hello")}),
                 (QJsonObject{{"changed", QJsonArray{"hello"}}}));
        QCOMPARE(server::AdminApi::containersEvent({}, {}), QJsonObject());
    }

    void stageBufferKeepsTheNewestPerWorkerAndDeploy()
    {
        server::DeployStageBuffer buffer;
        QVERIFY(buffer.isEmpty());
        buffer.add({stageOf("w1", 3, DeployStageName::Downloading, 100),
                    stageOf("w2", 3, DeployStageName::Downloading, 50)});
        buffer.add({stageOf("w1", 3, DeployStageName::Downloading, 400),
                    stageOf("w1", 4, DeployStageName::Queued, 0),
                    stageOf("w1", 3, DeployStageName::Verifying, 1000)});
        const QList<DeployStage> out = buffer.take();
        QVERIFY(buffer.isEmpty());
        QCOMPARE(out.size(), 3);
        // In the order the keys first came, each with its newest stage.
        QVERIFY(out.at(0) == stageOf("w1", 3, DeployStageName::Verifying, 1000));
        QVERIFY(out.at(1) == stageOf("w2", 3, DeployStageName::Downloading, 50));
        QVERIFY(out.at(2) == stageOf("w1", 4, DeployStageName::Queued, 0));

        // Another container on the same worker and deploy is another entry.
        DeployStage other = stageOf("w1", 3, DeployStageName::Ready, 0);
        other.container = QStringLiteral("mapsum");
        buffer.add({stageOf("w1", 3, DeployStageName::Ready, 0), other});
        QCOMPARE(buffer.take().size(), 2);
    }

    void stageBufferStaysBounded()
    {
        server::DeployStageBuffer buffer;
        const int max = server::DeployStageBuffer::kMaxEntries;
        // A burst of deploys behind a slow subscriber: one entry each, the oldest dropped.
        for (int i = 1; i <= max + 500; ++i) {
            buffer.add({stageOf("w1", i, DeployStageName::Queued, 0)});
            buffer.add({stageOf("w1", i, DeployStageName::Downloading, i)}); // replaces
        }
        QCOMPARE(buffer.dropped(), 500);
        const QList<DeployStage> out = buffer.take();
        QCOMPARE(out.size(), max);
        QCOMPARE(out.first().deployId, 501);
        QCOMPARE(out.last().deployId, max + 500);
        QVERIFY(out.last().stage == DeployStageName::Downloading);
        QCOMPARE(buffer.dropped(), 0);
    }
};

QTEST_GUILESS_MAIN(TestKairosctlContainers)
#include "tst_kairosctl_containers.moc"
