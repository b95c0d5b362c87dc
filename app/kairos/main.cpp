// kairos: the desktop console. Without --remote it embeds the engine with a local worker on
// DATA/kairos.db (local single-node mode) and lets kairosctl attach on 127.0.0.1:7070; with
// --remote it attaches to a kairosd. The window is the same either way: it only sees a Client.
#include <client/in_process_client.h>
#include <client/remote_client.h>
#include <common/unix_signals.h>
#include <store/store_config.h>
#include <ui/console_options.h>
#include <ui/instance_list_model.h>
#include <ui/instances_pane.h>
#include <ui/job_list_model.h>
#include <ui/jobs_pane.h>
#include <ui/log_panel.h>
#include <ui/main_window.h>
#include <ui/translations.h>

#include <QApplication>
#include <QDir>
#include <QHostAddress>
#include <QPixmap>
#include <QTcpServer>
#include <QTextStream>
#include <QTimer>

#include <memory>

using namespace kairos;

namespace {

struct AppText {
    Q_DECLARE_TR_FUNCTIONS(kairos::app)
};

int fail(const QString &message)
{
    QTextStream(stderr) << "kairos: " << message << Qt::endl;
    return 2;
}

// Whether kairosctl's port is free. A check, not a reservation: if another program takes the
// port between this and the engine's listen, the engine reports that as its start failure.
bool portIsFree(quint16 port)
{
    QTcpServer probe;
    return probe.listen(QHostAddress::LocalHost, port);
}

// --screenshot: once jobs and runs are shown, select the newest run so its log is on screen too,
// then save the window as a picture and quit (used for docs/screenshots).
void takeScreenshotWhenReady(ui::MainWindow *window, const QString &file)
{
    auto save = [window, file] {
        const bool ok = window->grab().save(file);
        if (!ok)
            QTextStream(stderr) << "kairos: --screenshot: cannot write " << file << Qt::endl;
        QCoreApplication::exit(ok ? 0 : 1);
    };
    auto whenLoaded = [window, save] {
        if (window->jobModel()->rowCount() > 0)
            window->jobsPane()->selectJob(
                window->jobModel()->index(0, 0).data(ui::JobListModel::JobIdRole).toLongLong());
        const auto *newest = window->instanceModel()->instanceAt(0);
        if (!newest) {
            QTimer::singleShot(0, window, save);
            return;
        }
        QObject::connect(window->logPanel(), &ui::LogPanel::loaded, window,
                         [window, save] { QTimer::singleShot(0, window, save); });
        window->instancesPane()->selectInstance(newest->id);
    };
    if (window->isLoaded())
        whenLoaded();
    else
        QObject::connect(window, &ui::MainWindow::loaded, window, whenLoaded);
    // Do not hang a script when the engine never comes up: take what is there.
    QTimer::singleShot(30000, window, save);
}

} // namespace

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("kairos"));
    QCoreApplication::setApplicationVersion(QStringLiteral(KAIROS_VERSION));

    // The language first, so that --help and every message after it are translated.
    QString language = ui::ConsoleOptions::languageArgument(app.arguments());
    if (language.isEmpty())
        language = ui::Translations::systemDefault();
    if (Status s = ui::Translations::install(language); !s.ok())
        return fail(s.error());

    auto options = ui::ConsoleOptions::parse(app.arguments());
    if (!options.ok())
        return fail(options.error());
    if (!options->helpText.isEmpty()) {
        QTextStream(stdout) << options->helpText;
        return 0;
    }

    std::unique_ptr<client::LocalEngineHost> host;
    std::unique_ptr<client::Client> client;
    QString notice;
    if (!options->remote.isEmpty()) {
        auto endpoint = options->remoteEndpoint();
        if (!endpoint.ok())
            return fail(endpoint.error());
        auto remote = std::make_unique<client::RemoteClient>(*endpoint);
        remote->open();
        client = std::move(remote);
    } else {
        if (!QDir().mkpath(options->dataDir))
            return fail(AppText::tr("--data: cannot create %1").arg(options->dataDir));
        auto store =
            StoreConfig::parse(QStringLiteral("sqlite:")
                               + QDir(options->dataDir).filePath(QStringLiteral("kairos.db")));
        if (!store.ok())
            return fail(AppText::tr("--data: %1").arg(store.error()));
        server::EngineConfig config;
        config.store = *store;
        config.localWorker = true;
        host = std::make_unique<client::LocalEngineHost>(config);
        if (options->listen) {
            if (portIsFree(ui::ConsoleOptions::kAdminPort)) {
                host->setAdminListenPort(ui::ConsoleOptions::kAdminPort, options->dataDir);
            } else {
                notice = AppText::tr(
                             "Port %1 on 127.0.0.1 is in use, so kairosctl cannot attach to this "
                             "console; everything else works. Start with --no-listen to run "
                             "without it.")
                             .arg(ui::ConsoleOptions::kAdminPort);
            }
        }
        client = std::make_unique<client::InProcessClient>(host.get());
        host->start();
    }

    ui::MainWindow window(client.get());
    if (!notice.isEmpty())
        window.showNotice(notice);
    if (!options->screenshot.isEmpty()) {
        window.resize(1240, 760);
        takeScreenshotWhenReady(&window, options->screenshot);
    }
    window.show();

    // SIGTERM/SIGINT close the window the normal way: layout saved, engine stopped and flushed.
    app::UnixSignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &app::UnixSignalWatcher::terminationRequested, &window,
                     [&window](int) {
                         window.close();
                         QCoreApplication::quit();
                     });
    return QApplication::exec();
}
