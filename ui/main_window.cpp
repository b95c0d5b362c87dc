#include "main_window.h"

#include "console_actions.h"
#include "console_commands.h"
#include "console_settings.h"
#include "empty_state_table_view.h"
#include "error_banner.h"
#include "event_subscriptions.h"
#include "instance_feed.h"
#include "instance_list_model.h"
#include "instances_pane.h"
#include "job_feed.h"
#include "job_list_model.h"
#include "jobs_pane.h"
#include "link_status_widget.h"
#include "log_panel.h"
#include "new_job_dialog.h"
#include "ui_log.h"

#include <QAction>
#include <QCloseEvent>
#include <QFrame>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QStatusBar>
#include <QToolBar>
#include <QVBoxLayout>

namespace kairos::ui {

MainWindow::MainWindow(client::Client *client, QWidget *parent)
    : QMainWindow(parent)
    , m_client(client)
    , m_subscriptions(std::make_unique<EventSubscriptions>(client))
    , m_actions(new ConsoleActions(this))
    , m_commands(new ConsoleCommands(client, this))
    , m_jobModel(new JobListModel(this))
    , m_instanceModel(new InstanceListModel(this))
    , m_jobFeed(nullptr)
    , m_instanceFeed(nullptr)
    , m_banner(new ErrorBanner(this))
    , m_splitter(new QSplitter(Qt::Vertical, this))
    , m_jobsPane(new JobsPane(m_jobModel, this))
    , m_instancesPane(new InstancesPane(m_instanceModel, this))
    , m_logPanel(new LogPanel(client, m_subscriptions.get(), this))
    , m_linkStatus(new LinkStatusWidget(client, this))
    , m_counts(new QLabel(this))
{
    setObjectName(QStringLiteral("kairosMainWindow"));
    setWindowTitle(tr("Kairos — %1").arg(client->endpoint()));
    // Events may name a job only by id; the jobs model knows the names.
    m_instanceModel->setJobNameLookup([this](qint64 id) { return m_jobModel->nameOf(id); });

    m_splitter->setObjectName(QStringLiteral("mainSplitter"));
    m_splitter->setChildrenCollapsible(false);
    m_splitter->addWidget(m_jobsPane);
    m_splitter->addWidget(m_instancesPane);
    m_splitter->addWidget(m_logPanel);
    m_splitter->setStretchFactor(0, 3);
    m_splitter->setStretchFactor(1, 5);
    m_splitter->setStretchFactor(2, 3);

    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->setContentsMargins(6, 6, 6, 0);
    layout->addWidget(m_banner);
    layout->addWidget(m_splitter, 1);
    setCentralWidget(central);

    buildActions();
    buildStatusBar();

    // Feeds start loading as soon as they exist (or when the link comes up).
    m_jobFeed = new JobFeed(client, m_jobModel, this);
    m_instanceFeed = new InstanceFeed(client, m_instanceModel, this);
    connect(m_jobFeed, &JobFeed::failed, this, &MainWindow::showError);
    connect(m_instanceFeed, &InstanceFeed::failed, this, &MainWindow::showError);
    connect(m_jobFeed, &JobFeed::loaded, this, &MainWindow::checkLoaded);
    connect(m_instanceFeed, &InstanceFeed::loaded, this, &MainWindow::checkLoaded);
    connect(m_logPanel, &LogPanel::failed, this, &MainWindow::showError);
    connect(m_commands, &ConsoleCommands::failed, this, &MainWindow::showError);
    connect(m_commands, &ConsoleCommands::succeeded, this,
            [this](const QString &message) { statusBar()->showMessage(message, 5000); });
    connect(client, &client::Client::linkStateChanged, this, &MainWindow::onLinkState);

    connect(m_jobsPane, &JobsPane::currentJobChanged, this, &MainWindow::updateActions);
    connect(m_instancesPane, &InstancesPane::currentInstanceChanged, this,
            &MainWindow::onInstanceSelected);
    for (QAbstractItemModel *model : {static_cast<QAbstractItemModel *>(m_jobModel),
                                      static_cast<QAbstractItemModel *>(m_instanceModel)}) {
        connect(model, &QAbstractItemModel::dataChanged, this, &MainWindow::updateActions);
        connect(model, &QAbstractItemModel::rowsInserted, this, &MainWindow::updateCounts);
        connect(model, &QAbstractItemModel::rowsRemoved, this, &MainWindow::updateCounts);
        connect(model, &QAbstractItemModel::modelReset, this, &MainWindow::updateCounts);
    }

    restoreLayout();
    updateActions();
    updateCounts();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildActions()
{
    ConsoleActions *a = m_actions;
    connect(a->newJob, &QAction::triggered, this, &MainWindow::openNewJobDialog);
    connect(a->runNow, &QAction::triggered, this, [this] {
        if (const JobRow *row = m_jobModel->find(m_jobsPane->currentJobId()))
            m_commands->runNow(row->job.id, row->job.name);
    });
    connect(a->enableJob, &QAction::triggered, this, [this] {
        if (const JobRow *row = m_jobModel->find(m_jobsPane->currentJobId()))
            m_commands->setJobEnabled(row->job.id, row->job.name, true);
    });
    connect(a->disableJob, &QAction::triggered, this, [this] {
        if (const JobRow *row = m_jobModel->find(m_jobsPane->currentJobId()))
            m_commands->setJobEnabled(row->job.id, row->job.name, false);
    });
    connect(a->deleteJob, &QAction::triggered, this, &MainWindow::confirmDelete);
    connect(a->cancelRun, &QAction::triggered, this, [this] {
        if (const qint64 id = m_instancesPane->currentInstanceId())
            m_commands->cancelRun(id);
    });
    connect(a->retryRun, &QAction::triggered, this, [this] {
        if (const qint64 id = m_instancesPane->currentInstanceId())
            m_commands->retryRun(id);
    });
    connect(a->refresh, &QAction::triggered, this, [this] {
        m_jobFeed->reload();
        m_instanceFeed->reload();
    });
    connect(a->quit, &QAction::triggered, this, &QWidget::close);

    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(a->newJob);
    file->addSeparator();
    file->addAction(a->quit);
    QMenu *job = menuBar()->addMenu(tr("&Job"));
    job->addActions({a->runNow, a->enableJob, a->disableJob});
    job->addSeparator();
    job->addAction(a->deleteJob);
    QMenu *run = menuBar()->addMenu(tr("&Run", "menu of run (instance) commands"));
    run->addActions({a->cancelRun, a->retryRun});
    QMenu *view = menuBar()->addMenu(tr("&View"));
    view->addAction(a->refresh);

    QToolBar *bar = addToolBar(tr("Commands"));
    bar->setObjectName(QStringLiteral("mainToolBar"));
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->setMovable(false);
    bar->addAction(a->newJob);
    bar->addSeparator();
    bar->addActions({a->runNow, a->enableJob, a->disableJob, a->deleteJob});
    bar->addSeparator();
    bar->addActions({a->cancelRun, a->retryRun});
    bar->addSeparator();
    bar->addAction(a->refresh);
}

void MainWindow::buildStatusBar()
{
    m_counts->setObjectName(QStringLiteral("countsLabel"));
    statusBar()->addPermanentWidget(m_counts);
    auto *separator = new QFrame(this);
    separator->setFrameShape(QFrame::VLine);
    separator->setFrameShadow(QFrame::Sunken);
    statusBar()->addPermanentWidget(separator);
    statusBar()->addPermanentWidget(m_linkStatus);
}

void MainWindow::restoreLayout()
{
    ConsoleSettings settings;
    const QByteArray geometry = settings.windowGeometry();
    if (geometry.isEmpty() || !restoreGeometry(geometry))
        resize(1200, 760);
    restoreState(settings.windowState(), ConsoleSettings::kWindowStateVersion);
    if (const QByteArray s = settings.splitterState(); !s.isEmpty())
        m_splitter->restoreState(s);
    if (const QByteArray s = settings.jobsHeaderState(); !s.isEmpty())
        m_jobsPane->table()->horizontalHeader()->restoreState(s);
    if (const QByteArray s = settings.runsHeaderState(); !s.isEmpty())
        m_instancesPane->table()->horizontalHeader()->restoreState(s);
}

void MainWindow::saveLayout()
{
    ConsoleSettings settings;
    settings.setWindowGeometry(saveGeometry());
    settings.setWindowState(saveState(ConsoleSettings::kWindowStateVersion));
    settings.setSplitterState(m_splitter->saveState());
    settings.setJobsHeaderState(m_jobsPane->table()->horizontalHeader()->saveState());
    settings.setRunsHeaderState(m_instancesPane->table()->horizontalHeader()->saveState());
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveLayout();
    QMainWindow::closeEvent(event);
}

void MainWindow::showNotice(const QString &message)
{
    m_banner->showMessage(message, ErrorBanner::Level::Notice);
}

void MainWindow::showError(const QString &message)
{
    qCInfo(lcUiWindow) << "error shown:" << message;
    m_banner->showMessage(message, ErrorBanner::Level::Error);
}

NewJobDialog *MainWindow::openNewJobDialog()
{
    auto *dialog = new NewJobDialog(m_client, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &NewJobDialog::created, this, [this](const Job &job) {
        m_jobModel->upsert(job);
        m_jobsPane->selectJob(job.id);
        statusBar()->showMessage(tr("Created \"%1\"").arg(job.name), 5000);
    });
    dialog->open();
    return dialog;
}

bool MainWindow::isLoaded() const
{
    return m_jobFeed->isLoaded() && m_instanceFeed->isLoaded();
}

void MainWindow::checkLoaded()
{
    if (m_loadedEmitted || !isLoaded())
        return;
    m_loadedEmitted = true;
    emit loaded();
}

void MainWindow::confirmDelete()
{
    const JobRow *row = m_jobModel->find(m_jobsPane->currentJobId());
    if (!row)
        return;
    const qint64 id = row->job.id;
    const QString name = row->job.name;
    auto *box = new QMessageBox(QMessageBox::Question, tr("Delete job"),
                                tr("Delete the job \"%1\"? Its schedule stops; runs already "
                                   "recorded stay in the history.")
                                    .arg(name),
                                QMessageBox::Yes | QMessageBox::Cancel, this);
    box->setObjectName(QStringLiteral("confirmDeleteBox"));
    box->button(QMessageBox::Yes)->setText(tr("Delete"));
    box->setDefaultButton(QMessageBox::Cancel);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::finished, this, [this, box, id, name] {
        if (box->standardButton(box->clickedButton()) == QMessageBox::Yes)
            m_commands->deleteJob(id, name);
    });
    box->open();
}

void MainWindow::onLinkState(client::Client::LinkState state, const QString &detail)
{
    if (state == client::Client::LinkState::Connected) {
        m_everConnected = true;
        return;
    }
    // A first attach that fails is worth a banner (wrong password, engine could not start);
    // later drops show in the status bar while the client reconnects.
    if (state == client::Client::LinkState::Disconnected && !m_everConnected && !detail.isEmpty())
        showError(tr("Could not attach to %1: %2").arg(m_client->endpoint(), detail));
}

void MainWindow::onInstanceSelected(qint64 instanceId)
{
    const Instance *instance = m_instanceModel->find(instanceId);
    m_logPanel->showInstance(instanceId, instance ? instance->jobName : QString());
    updateActions();
}

void MainWindow::updateActions()
{
    const JobRow *job = m_jobModel->find(m_jobsPane->currentJobId());
    m_actions->runNow->setEnabled(job != nullptr);
    m_actions->deleteJob->setEnabled(job != nullptr);
    m_actions->enableJob->setEnabled(job != nullptr && !job->job.enabled);
    m_actions->disableJob->setEnabled(job != nullptr && job->job.enabled);

    const Instance *run = m_instanceModel->find(m_instancesPane->currentInstanceId());
    m_actions->cancelRun->setEnabled(run != nullptr && !isTerminal(run->status));
    m_actions->retryRun->setEnabled(run != nullptr
                                    && (run->status == InstanceStatus::Failed
                                        || run->status == InstanceStatus::TimedOut
                                        || run->status == InstanceStatus::Canceled));
}

void MainWindow::updateCounts()
{
    m_counts->setText(tr("%n job(s)", nullptr, m_jobModel->rowCount()) + QStringLiteral("  ·  ")
                      + tr("%n run(s) shown", nullptr, m_instanceModel->rowCount()));
    updateActions();
}

} // namespace kairos::ui
