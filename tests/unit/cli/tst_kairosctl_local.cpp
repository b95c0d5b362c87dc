// kairosctl's app and worker commands against a real engine in this process (LocalEngineHost +
// InProcessClient, the same AdminApi kairosd serves): an app created gets a secret that a worker
// can log in with, the database keeps only a verifier, rotating makes the old secret useless,
// bad and duplicate names are refused with the field named, and `worker list` shows the local
// worker. Also the first-start bootstrap of the app `default` (its secret file, 0600 in a 0700
// folder; never silently recreated) and the error of an engine that manages no apps.
#include <command_line.h>
#include <command_runner.h>

#include <client/in_process_client.h>
#include <server/admin_api.h>
#include <server/credentials.h>
#include <store/credential_repository.h>
#include <store/store_thread.h>

#include <QFile>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

#include <sys/stat.h>

using namespace kairos;
using namespace kairos::cli;

namespace {

// One kairosctl command run over `client`, with its output captured.
struct Run {
    QString out;
    QString err;
    int exitCode = -1;
};

Run kairosctl(client::Client &client, const QStringList &args)
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
    CommandRunner runner(client, parsed.invocation.action, options, out, err);
    QSignalSpy finished(&runner, &CommandRunner::finished);
    runner.start();
    if (finished.isEmpty() && !finished.wait(10000))
        return run;
    out.flush();
    err.flush();
    run.exitCode = finished.at(0).at(0).toInt();
    return run;
}

// Whether `secret` is what the stored verifier was derived from (what a worker's SCRAM login
// proves).
bool verifies(const protocol::ScramCredential &stored, const QString &secret)
{
    return protocol::ScramCredential::derive(secret, stored.salt, stored.iterations) == stored;
}

quint16 freePort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

// The permission bits, as `ls -l` shows them.
int modeOf(const QString &path)
{
    struct stat st {};
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return -1;
    return int(st.st_mode & 07777);
}

QString readFirstLine(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(f.readLine()).trimmed();
}

} // namespace

class TestKairosctlLocal : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::unique_ptr<client::LocalEngineHost> m_host;
    std::unique_ptr<client::InProcessClient> m_client;

    // Starts a local engine whose data lives in `dataDir` (listening for kairosctl and workers on
    // a free loopback port when `listen`).
    void startHost(const QString &dataDir, bool listen)
    {
        server::EngineConfig config;
        config.store = *StoreConfig::parse(QDir(dataDir).filePath(QStringLiteral("kairos.db")));
        config.localWorkerCapacity = 4;
        m_host = std::make_unique<client::LocalEngineHost>(config);
        if (listen)
            m_host->setAdminListenPort(freePort(), dataDir);
        m_client = std::make_unique<client::InProcessClient>(m_host.get());
        QSignalSpy started(m_host.get(), &client::LocalEngineHost::started);
        QSignalSpy failed(m_host.get(), &client::LocalEngineHost::failed);
        m_host->start();
        QTRY_VERIFY_WITH_TIMEOUT(!started.isEmpty() || !failed.isEmpty(), 10000);
        QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(0).toString()));
    }

    // The stored credential of app `name`, looked up on the engine thread as a login would.
    std::optional<protocol::ScramCredential> appCredential(const QString &name)
    {
        std::optional<protocol::ScramCredential> found;
        auto credentials = m_host->credentials();
        QMetaObject::invokeMethod(
            m_host->engine(),
            [&found, credentials, name] {
                found = credentials->find(QStringLiteral("worker"), name);
            },
            Qt::BlockingQueuedConnection);
        return found;
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void cleanup()
    {
        m_client.reset();
        m_host.reset();
    }

    void createListRotate()
    {
        startHost(m_dir.filePath(QStringLiteral("apps")), false);

        const Run created = kairosctl(*m_client, {"app", "create", "billing"});
        QCOMPARE(created.exitCode, 0);
        const QString secret = created.out.trimmed();
        QCOMPARE(created.out, secret + u'\n'); // the secret alone, one line
        QVERIFY2(secret.size() >= 24, qPrintable(secret));
        QVERIFY(created.err.contains(QStringLiteral("created app \"billing\"")));

        const auto stored = appCredential(QStringLiteral("billing"));
        QVERIFY(stored.has_value());
        QVERIFY2(verifies(*stored, secret), "a worker could not log in with the printed secret");
        QVERIFY(!verifies(*stored, secret + u'x'));

        // The database holds a verifier, never the secret.
        QByteArray database;
        {
            QFile db(m_dir.filePath(QStringLiteral("apps/kairos.db")));
            QVERIFY(db.open(QIODevice::ReadOnly));
            database = db.readAll();
            QFile wal(m_dir.filePath(QStringLiteral("apps/kairos.db-wal")));
            if (wal.open(QIODevice::ReadOnly))
                database += wal.readAll();
        }
        QVERIFY(database.contains("billing"));
        QVERIFY2(!database.contains(secret.toUtf8()), "the secret is stored in clear");

        const Run again = kairosctl(*m_client, {"app", "create", "billing"});
        QCOMPARE(again.exitCode, 1);
        QCOMPARE(again.out, QString());
        QVERIFY2(again.err.startsWith(
                     QStringLiteral("kairosctl: name: an app named \"billing\" exists already")),
                 qPrintable(again.err));
        QVERIFY2(verifies(*appCredential(QStringLiteral("billing")), secret),
                 "a refused create changed the secret");

        QVERIFY(kairosctl(*m_client, {"app", "create", "reports.v2"}).exitCode == 0);
        const Run list = kairosctl(*m_client, {"app", "list", "--json"});
        QCOMPARE(list.exitCode, 0);
        const QJsonObject listed = QJsonDocument::fromJson(list.out.toUtf8()).object();
        QCOMPARE(listed, QJsonDocument::fromJson(R"({"apps":[
                     {"name":"billing","aliveWorkers":0},
                     {"name":"reports.v2","aliveWorkers":0}]})")
                             .object());

        const Run rotated = kairosctl(*m_client, {"app", "rotate-secret", "billing", "--json"});
        QCOMPARE(rotated.exitCode, 0);
        const QJsonObject reply = QJsonDocument::fromJson(rotated.out.toUtf8()).object();
        QCOMPARE(reply.value("name").toString(), QStringLiteral("billing"));
        const QString fresh = reply.value("secret").toString();
        QVERIFY(!fresh.isEmpty() && fresh != secret);
        const auto now = appCredential(QStringLiteral("billing"));
        QVERIFY(verifies(*now, fresh));
        QVERIFY2(!verifies(*now, secret), "the old secret still logs in after rotate-secret");
    }

    void refusals_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("error");
        QTest::newRow("name with a space")
            << QStringList{"app", "create", "my app"}
            << "kairosctl: name: expected 1 to 64 characters of A-Z a-z 0-9 . _ - but got \"my "
               "app\"\n";
        QTest::newRow("name too long")
            << QStringList{"app", "create", QString(65, u'a')}
            << QStringLiteral("kairosctl: name: expected 1 to 64 characters of A-Z a-z 0-9 . _ "
                              "- but got \"%1\"\n")
                   .arg(QString(65, u'a'));
        QTest::newRow("slash") << QStringList{"app", "create", "../etc"}
                               << "kairosctl: name: expected 1 to 64 characters of A-Z a-z 0-9 "
                                  ". _ - but got \"../etc\"\n";
        QTest::newRow("rotate unknown") << QStringList{"app", "rotate-secret", "ghost"}
                                        << "kairosctl: name: no app named \"ghost\"\n";
    }

    void refusals()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, error);
        startHost(m_dir.filePath(QStringLiteral("refusals")), false);
        const Run run = kairosctl(*m_client, args);
        QCOMPARE(run.exitCode, 1);
        QCOMPARE(run.err, error);
        QCOMPARE(run.out, QString());
        const Run list = kairosctl(*m_client, {"app", "list", "--json"});
        QCOMPARE(QJsonDocument::fromJson(list.out.toUtf8()).object().value("apps").toArray(),
                 QJsonArray());
    }

    void workerListShowsTheLocalWorker()
    {
        startHost(m_dir.filePath(QStringLiteral("workers")), false);
        const Run run = kairosctl(*m_client, {"worker", "list", "--json"});
        QCOMPARE(run.exitCode, 0);
        const QJsonArray workers =
            QJsonDocument::fromJson(run.out.toUtf8()).object().value("workers").toArray();
        QStringList ids;
        for (const QJsonValue &w : workers) {
            auto info = workerFromJson(w.toObject());
            QVERIFY2(info.ok(), qPrintable(info.error()));
            ids << info->id;
            if (info->id == QLatin1String("local"))
                QCOMPARE(toString(info->state), QStringLiteral("ALIVE"));
        }
        QVERIFY2(ids.contains(QStringLiteral("local")), qPrintable(ids.join(u',')));

        const Run table = kairosctl(*m_client, {"worker", "list"});
        QCOMPARE(table.exitCode, 0);
        QVERIFY2(table.out.startsWith(QStringLiteral("ID ")), qPrintable(table.out));
        QVERIFY(table.out.contains(QStringLiteral("LAST HEARTBEAT")));
    }

    void listeningHostCreatesTheDefaultApp()
    {
        const QString data = m_dir.filePath(QStringLiteral("listening"));
        startHost(data, true);
        const QString path = QDir(data).filePath(QStringLiteral("apps/default.secret"));
        const QString secret = readFirstLine(path);
        QVERIFY2(!secret.isEmpty(), qPrintable(path));
        QVERIFY(verifies(*appCredential(QStringLiteral("default")), secret));
        const Run list = kairosctl(*m_client, {"app", "list"});
        QCOMPARE(list.out, QStringLiteral("NAME     ALIVE WORKERS\n"
                                          "default              0\n"));
    }

    void bootstrapDefaultApp()
    {
        const QString data = m_dir.filePath(QStringLiteral("bootstrap"));
        QVERIFY(QDir().mkpath(data));
        auto store = StoreThread::start(*StoreConfig::parse(data + QStringLiteral("/k.db")));
        QVERIFY2(store.ok(), qPrintable(store.error()));
        const QString folder = QDir(data).filePath(QStringLiteral("apps"));
        const QString path = QDir(folder).filePath(QStringLiteral("default.secret"));

        QString secret;
        {
            server::CredentialCache cache(store->get());
            QVERIFY(!cache.hasApp(QStringLiteral("default")));
            const Status s = server::bootstrapDefaultApp(cache, data);
            QVERIFY2(s.ok(), qPrintable(s.error()));
            secret = readFirstLine(path);
            QVERIFY(!secret.isEmpty());
            QVERIFY(
                verifies(*cache.find(QStringLiteral("worker"), QStringLiteral("default")), secret));
            QCOMPARE(modeOf(path), 0600);
            QCOMPARE(modeOf(folder), 0700);
        }
        {
            // The next start: the app exists, the file is kept as it is.
            server::CredentialCache cache(store->get());
            QVERIFY(cache.hasApp(QStringLiteral("default")));
            QVERIFY(server::bootstrapDefaultApp(cache, data).ok());
            QCOMPARE(readFirstLine(path), secret);
        }
        {
            // The file is gone: no new secret behind the workers' back, a warning that says how.
            QVERIFY(QFile::remove(path));
            server::CredentialCache cache(store->get());
            QTest::ignoreMessage(QtWarningMsg,
                                 QRegularExpression(QStringLiteral(
                                     "app 'default' exists but its secret file .*default\\.secret "
                                     "is missing.*kairosctl app rotate-secret default")));
            QVERIFY(server::bootstrapDefaultApp(cache, data).ok());
            QVERIFY(!QFile::exists(path));
            QVERIFY(
                verifies(*cache.find(QStringLiteral("worker"), QStringLiteral("default")), secret));
        }
    }

    void apiWithoutCredentialsSaysSo()
    {
        server::EngineConfig config;
        config.store = *StoreConfig::parse(m_dir.filePath(QStringLiteral("bare.db")));
        config.localWorker = false;
        server::Engine engine(config);
        QVERIFY(engine.start().ok());
        server::AdminApi api(engine);
        QVERIFY(server::AdminApi::methods().contains(QStringLiteral("app.rotateSecret")));
        for (const char *method : {"app.list", "app.create", "app.rotateSecret"}) {
            std::optional<Result<QJsonObject>> reply;
            api.handle(QLatin1String(method), QJsonObject{{"name", "x"}},
                       [&reply](Result<QJsonObject> r) { reply.emplace(std::move(r)); });
            QTRY_VERIFY_WITH_TIMEOUT(reply.has_value(), 5000);
            QVERIFY(!reply->ok());
            QCOMPARE(reply->error(), QStringLiteral("%1: apps are not managed here (this engine "
                                                    "has no credential store for workers)")
                                         .arg(QLatin1String(method)));
        }
        // worker.list needs no credentials.
        std::optional<Result<QJsonObject>> workers;
        api.handle(QStringLiteral("worker.list"), {},
                   [&workers](Result<QJsonObject> r) { workers.emplace(std::move(r)); });
        QTRY_VERIFY_WITH_TIMEOUT(workers.has_value(), 5000);
        QVERIFY(workers->ok());
        QVERIFY(workers->value().value("workers").isArray());
    }
};

QTEST_GUILESS_MAIN(TestKairosctlLocal)
#include "tst_kairosctl_local.moc"
