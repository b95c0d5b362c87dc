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
        "Kairos server: schedules jobs, dispatches them to workers and serves the console and "
        "kairosctl over the admin protocol."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption listen(
        QStringLiteral("listen"),
        QStringLiteral("Admin/worker listener address (default 127.0.0.1:7070; port 0 picks a "
                       "free port and prints it)."),
        QStringLiteral("HOST:PORT"), QStringLiteral("127.0.0.1:7070"));
    const QCommandLineOption data(QStringLiteral("data"),
                                  QStringLiteral("Data folder: database (SQLite by default), "
                                                 "admin.password."),
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
    const QCommandLineOption retention(
        QStringLiteral("retention-days"),
        QStringLiteral("Delete finished instances and their logs after N days (default 30, 0 = "
                       "keep)."),
        QStringLiteral("N"), QStringLiteral("30"));
    parser.addOptions(
        {listen, data, db, tlsCert, tlsKey, insecure, noLocalWorker, threads, retention});
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

    server::Engine engine(config);
    if (Status s = engine.start(); !s.ok())
        return fail(QStringLiteral("cannot start: ") + s.error());

    auto credentials = std::make_shared<server::CredentialCache>(engine.store());
    if (Status s = server::bootstrapAdministrator(*credentials, dataDir); !s.ok())
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
