// kairosd: the headless Kairos server — the engine of the console without the window.
#include <client/remote_client.h>
#include <common/unix_signals.h>
#include <server/admin_service.h>
#include <server/credentials.h>
#include <server/engine.h>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QHostAddress>
#include <QTextStream>

using namespace kairos;

namespace {

int fail(const QString &message)
{
    QTextStream(stderr) << "kairosd: " << message << '\n';
    return 2;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("kairosd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(KAIROS_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Kairos server: schedules jobs, dispatches them to its own worker and to remote "
        "kairos-worker processes, and serves the console and kairosctl. One listener serves "
        "administrators and workers."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption listen(
        QStringLiteral("listen"),
        QStringLiteral("Listener address for administrators (console, kairosctl) and workers "
                       "(kairos-worker) alike (default 127.0.0.1:7070; port 0 picks a free port "
                       "and prints it)."),
        QStringLiteral("HOST:PORT"), QStringLiteral("127.0.0.1:7070"));
    const QCommandLineOption data(QStringLiteral("data"),
                                  QStringLiteral("Data folder: database (SQLite by default), "
                                                 "admin.password, apps/default.secret (the "
                                                 "secret of the app 'default' for workers)."),
                                  QStringLiteral("DIR"));
    const QCommandLineOption db(
        QStringLiteral("db"),
        QStringLiteral("Database URL: sqlite:/path/file.db or postgres://user:pass@host:port/db "
                       "(default: SQLite in the data folder)."),
        QStringLiteral("URL"));
    const QCommandLineOption tlsCert(QStringLiteral("tls-cert"),
                                     QStringLiteral("TLS certificate (PEM) for the listener."),
                                     QStringLiteral("FILE"));
    const QCommandLineOption tlsKey(QStringLiteral("tls-key"),
                                    QStringLiteral("TLS private key (PEM) for the listener."),
                                    QStringLiteral("FILE"));
    const QCommandLineOption insecure(
        QStringLiteral("insecure"),
        QStringLiteral("Allow a non-loopback listener without TLS (messages in clear text)."));
    const QCommandLineOption noLocalWorker(QStringLiteral("no-local-worker"),
                                           QStringLiteral("Do not run jobs in this process."));
    const QCommandLineOption threads(QStringLiteral("worker-threads"),
                                     QStringLiteral("Concurrent runs of the local worker "
                                                    "(default 64)."),
                                     QStringLiteral("N"), QStringLiteral("64"));
    const QCommandLineOption heartbeat(
        QStringLiteral("worker-heartbeat-ms"),
        QStringLiteral("How often remote workers send a heartbeat, in ms (100 to 60000, default "
                       "1000)."),
        QStringLiteral("MS"), QStringLiteral("1000"));
    const QCommandLineOption deadAfter(
        QStringLiteral("worker-dead-after-ms"),
        QStringLiteral("A remote worker without a heartbeat for this long is DEAD and its runs "
                       "fail over, in ms (100 to 60000, more than the heartbeat; default 5000)."),
        QStringLiteral("MS"), QStringLiteral("5000"));
    const QCommandLineOption lease(
        QStringLiteral("worker-lease-ms"),
        QStringLiteral("A remote worker cut off from the server stops its runs this long after "
                       "its last acknowledged heartbeat, in ms (100 to 60000, default 5000)."),
        QStringLiteral("MS"), QStringLiteral("5000"));
    const QCommandLineOption retention(
        QStringLiteral("retention-days"),
        QStringLiteral("Delete finished instances and their logs after N days (default 30, 0 = "
                       "keep)."),
        QStringLiteral("N"), QStringLiteral("30"));
    const QCommandLineOption maxContainer(
        QStringLiteral("max-container-mb"),
        QStringLiteral("Largest container library accepted by `container upload`, in MiB (1 to "
                       "1024, default 256)."),
        QStringLiteral("N"), QStringLiteral("256"));
    parser.addOptions({listen, data, db, tlsCert, tlsKey, insecure, noLocalWorker, threads,
                       heartbeat, deadAfter, lease, retention, maxContainer});
    parser.process(app);

    if (!parser.isSet(data))
        return fail(QStringLiteral("--data DIR is required (where the database and "
                                   "admin.password live)"));
    const QString dataDir = QDir(parser.value(data)).absolutePath();
    if (!QDir().mkpath(dataDir))
        return fail(QStringLiteral("--data: cannot create %1").arg(dataDir));

    const auto address = client::RemoteEndpoint::parseAddress(parser.value(listen), true);
    if (!address.ok())
        return fail(QStringLiteral("--listen: ") + address.error().section(u':', 1).trimmed());
    QHostAddress host;
    if (address->host == QLatin1String("localhost"))
        host = QHostAddress::LocalHost;
    else if (!host.setAddress(address->host))
        return fail(QStringLiteral("--listen: \"%1\" is not an IP address").arg(address->host));

    bool ok = false;
    const int threadCount = parser.value(threads).toInt(&ok);
    if (!ok || threadCount < 1 || threadCount > 4096)
        return fail(QStringLiteral("--worker-threads: expected a number from 1 to 4096"));
    const int retentionDays = parser.value(retention).toInt(&ok);
    if (!ok || retentionDays < 0)
        return fail(QStringLiteral("--retention-days: expected 0 or a positive number"));
    int workerMs[3] = {};
    const QCommandLineOption *workerOptions[3] = {&heartbeat, &deadAfter, &lease};
    for (int i = 0; i < 3; ++i) {
        const QString text = parser.value(*workerOptions[i]);
        workerMs[i] = text.toInt(&ok);
        if (!ok || workerMs[i] < 100 || workerMs[i] > 60000)
            return fail(QStringLiteral("--%1: expected milliseconds from 100 to 60000 but got "
                                       "\"%2\"")
                            .arg(workerOptions[i]->names().constFirst(), text));
    }
    const int maxContainerMb = parser.value(maxContainer).toInt(&ok);
    if (!ok || maxContainerMb < 1 || maxContainerMb > 1024)
        return fail(QStringLiteral("--max-container-mb: expected a number from 1 to 1024 but got "
                                   "\"%1\"")
                        .arg(parser.value(maxContainer)));
    if (workerMs[1] <= workerMs[0])
        return fail(QStringLiteral("--worker-dead-after-ms (%1) must be more than "
                                   "--worker-heartbeat-ms (%2): a worker would be declared dead "
                                   "between two heartbeats")
                        .arg(workerMs[1])
                        .arg(workerMs[0]));

    server::EngineConfig config;
    const QString dbUrl = parser.isSet(db)
                              ? parser.value(db)
                              : QStringLiteral("sqlite:") + QDir(dataDir).filePath("kairos.db");
    auto storeConfig = kairos::StoreConfig::parse(dbUrl);
    if (!storeConfig.ok())
        return fail(QStringLiteral("--db: ") + storeConfig.error());
    config.store = *storeConfig;
    config.localWorker = !parser.isSet(noLocalWorker);
    config.localWorkerCapacity = threadCount;
    config.retentionDays = retentionDays;
    config.workerHeartbeatMs = workerMs[0];
    config.workerDeadAfterMs = workerMs[1];
    config.workerLeaseMs = workerMs[2];
    config.maxContainerBytes = qint64(maxContainerMb) * 1024 * 1024;
    // The local worker's container files live with the data, so a restart finds them again.
    config.localContainerDir = QDir(dataDir).filePath(QStringLiteral("containers"));

    server::Engine engine(config);
    if (Status s = engine.start(); !s.ok())
        return fail(QStringLiteral("cannot start: ") + s.error());

    auto credentials = std::make_shared<server::CredentialCache>(engine.store());
    if (Status s = server::bootstrapAdministrator(*credentials, dataDir); !s.ok())
        return fail(s.error());
    // Workers of the app `default` log in with the secret in DIR/apps/default.secret.
    if (Status s = server::bootstrapDefaultApp(*credentials, dataDir); !s.ok())
        return fail(s.error());

    server::AdminService admin(engine, credentials);
    protocol::ListenerOptions listenerOptions;
    listenerOptions.certificateFile = parser.value(tlsCert);
    listenerOptions.privateKeyFile = parser.value(tlsKey);
    listenerOptions.allowInsecure = parser.isSet(insecure);
    if (Status s = admin.listen(host, address->port, listenerOptions); !s.ok())
        return fail(QStringLiteral("--listen: ") + s.error());

    // Tests and scripts read this line to learn the port when they asked for port 0.
    QTextStream(stdout) << "kairosd " << engine.serverId() << " listening on " << host.toString()
                        << ':' << admin.port() << Qt::endl;

    app::UnixSignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &app::UnixSignalWatcher::terminationRequested, &app,
                     [](int) { QCoreApplication::quit(); });
    const int rc = QCoreApplication::exec();
    engine.stop(); // flushes every acknowledged change before exit
    return rc;
}
