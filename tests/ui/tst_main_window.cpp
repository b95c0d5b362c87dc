// The console window against a real engine embedded in a temporary folder (LocalEngineHost +
// InProcessClient, no admin listener): what a user does — create a job in the dialog, run it,
// watch the run succeed and its log follow, cancel and retry, delete — and what a user sees
// when something is wrong.
#include <client/in_process_client.h>
#include <client/remote_client.h>
#include <store/store_config.h>
#include <ui/console_actions.h>
#include <ui/console_settings.h>
#include <ui/empty_state_table_view.h>
#include <ui/error_banner.h>
#include <ui/instance_list_model.h>
#include <ui/instances_pane.h>
#include <ui/job_list_model.h>
#include <ui/jobs_pane.h>
#include <ui/labels.h>
#include <ui/link_status_widget.h>
#include <ui/log_panel.h>
#include <ui/main_window.h>
#include <ui/new_job_dialog.h>

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace kairos;
using namespace kairos::ui;

namespace {
constexpr int kRunTimeoutMs = 20000;
}

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void cleanupTestCase();
    void emptyTablesSayWhatToDo();
    void invalidCronShowsTheServersMessage();
    void createdJobAppearsInTheTable();
    void runNowSucceedsAndShowsItsLog();
    void logFollowsARunningRun();
    void cancelAndRetry();
    void disableAndEnable();
    void deleteAsksFirst();
    void filterHidesOtherJobs();
    void geometryIsRemembered();
    void unreachableServerIsReported();

private:
    NewJobDialog *openDialog();
    qint64 createJob(const QString &name, const QString &script);
    qint64 runAndWait(qint64 jobId);
    qint64 newestRunOf(qint64 jobId) const;

    QTemporaryDir m_dir;
    std::unique_ptr<client::LocalEngineHost> m_host;
    std::unique_ptr<client::InProcessClient> m_client;
    std::unique_ptr<MainWindow> m_window;
};

void TestMainWindow::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QStandardPaths::setTestModeEnabled(true); // settings go to a test location
    ConsoleSettings().clear();
    // Closing the window in geometryIsRemembered must not end the application.
    QApplication::setQuitOnLastWindowClosed(false);

    server::EngineConfig config;
    auto store = StoreConfig::parse(QStringLiteral("sqlite:") + m_dir.filePath("kairos.db"));
    QVERIFY2(store.ok(), qPrintable(store.error()));
    config.store = *store;
    config.localWorker = true;
    m_host = std::make_unique<client::LocalEngineHost>(config);
    m_client = std::make_unique<client::InProcessClient>(m_host.get());
    QSignalSpy started(m_host.get(), &client::LocalEngineHost::started);
    // The window exists before the engine is up, as in the app: it must load once connected.
    m_window = std::make_unique<MainWindow>(m_client.get());
    m_window->show();
    m_host->start();
    QVERIFY(started.wait(15000));
    QTRY_VERIFY_WITH_TIMEOUT(m_window->isLoaded(), 10000);
    QCOMPARE(m_window->linkStatus()->stateText(), QStringLiteral("Connected"));
    QVERIFY(m_window->linkStatus()->endpointText().contains(m_dir.path()));
}

void TestMainWindow::cleanupTestCase()
{
    m_window.reset();
    m_client.reset();
    m_host.reset();
}

NewJobDialog *TestMainWindow::openDialog()
{
    m_window->actions()->newJob->trigger();
    auto *dialog = m_window->findChild<NewJobDialog *>();
    return dialog && dialog->isVisible() ? dialog : nullptr;
}

static void fill(NewJobDialog *dialog, const QString &name, const QString &processor,
                 const QString &text, const QString &timing, const QString &expression)
{
    dialog->findChild<QLineEdit *>(QStringLiteral("nameEdit"))->setText(name);
    auto *p = dialog->findChild<QComboBox *>(QStringLiteral("processorCombo"));
    p->setCurrentIndex(p->findData(processor));
    dialog->findChild<QPlainTextEdit *>(QStringLiteral("processorTextEdit"))->setPlainText(text);
    auto *t = dialog->findChild<QComboBox *>(QStringLiteral("timingCombo"));
    t->setCurrentIndex(t->findData(timing));
    dialog->findChild<QLineEdit *>(QStringLiteral("expressionEdit"))->setText(expression);
}

qint64 TestMainWindow::createJob(const QString &name, const QString &script)
{
    QPointer<NewJobDialog> dialog = openDialog();
    if (!dialog)
        return 0;
    fill(dialog, name, QStringLiteral("SHELL"), script, QStringLiteral("API"), QString());
    dialog->accept();
    // The dialog closes (and is deleted) only once the server has the job.
    if (!QTest::qWaitFor([&] { return dialog.isNull(); }, 10000))
        return 0;
    const int rows = m_window->jobModel()->rowCount();
    for (int r = 0; r < rows; ++r) {
        const JobRow *row = m_window->jobModel()->rowAt(r);
        if (row->job.name == name)
            return row->job.id;
    }
    return 0;
}

qint64 TestMainWindow::newestRunOf(qint64 jobId) const
{
    const InstanceListModel *m = m_window->instanceModel();
    for (int r = 0; r < m->rowCount(); ++r) {
        if (m->instanceAt(r)->jobId == jobId)
            return m->instanceAt(r)->id;
    }
    return 0;
}

void TestMainWindow::emptyTablesSayWhatToDo()
{
    EmptyStateTableView *jobs = m_window->jobsPane()->table();
    QVERIFY(jobs->isShowingEmptyText());
    QVERIFY2(jobs->emptyText().contains(QStringLiteral("Ctrl+N")), qPrintable(jobs->emptyText()));
    QVERIFY(m_window->instancesPane()->table()->isShowingEmptyText());
    QVERIFY(!m_window->actions()->runNow->isEnabled()); // nothing selected
}

void TestMainWindow::invalidCronShowsTheServersMessage()
{
    QPointer<NewJobDialog> dialog = openDialog();
    QVERIFY(dialog);
    fill(dialog, QStringLiteral("bad-cron"), QStringLiteral("ECHO"), QStringLiteral("x"),
         QStringLiteral("CRON"), QStringLiteral("61 * * * *"));
    dialog->accept();
    QTRY_VERIFY_WITH_TIMEOUT(!dialog->errorText().isEmpty(), 10000);
    // The server's words, naming the field; the dialog stays open for a fix.
    QVERIFY2(dialog->errorText().startsWith(QStringLiteral("timing.expression")),
             qPrintable(dialog->errorText()));
    QVERIFY(dialog->isVisible());
    QCOMPARE(dialog->focusWidget(),
             dialog->findChild<QLineEdit *>(QStringLiteral("expressionEdit")));
    QCOMPARE(m_window->jobModel()->rowCount(), 0);

    // An empty name is refused the same way.
    fill(dialog, QString(), QStringLiteral("ECHO"), QStringLiteral("x"), QStringLiteral("API"),
         QString());
    dialog->accept();
    QTRY_VERIFY_WITH_TIMEOUT(dialog->errorText().startsWith(QStringLiteral("name")), 10000);
    dialog->reject();
    QTRY_VERIFY(dialog.isNull());
}

void TestMainWindow::createdJobAppearsInTheTable()
{
    const qint64 id = createJob(QStringLiteral("hello"), QStringLiteral("echo hello-from-kairos"));
    QVERIFY(id > 0);
    // Shown in the table (through the sort/filter proxy), and selected.
    QAbstractItemModel *shown = m_window->jobsPane()->table()->model();
    QCOMPARE(shown->rowCount(), 1);
    QCOMPARE(shown->index(0, JobListModel::NameColumn).data().toString(), QStringLiteral("hello"));
    QVERIFY(shown->index(0, JobListModel::ProcessorColumn)
                .data()
                .toString()
                .contains(QStringLiteral("echo hello-from-kairos")));
    QCOMPARE(m_window->jobsPane()->currentJobId(), id);
    QVERIFY(!m_window->jobsPane()->table()->isShowingEmptyText());
    QVERIFY(m_window->actions()->runNow->isEnabled());
}

qint64 TestMainWindow::runAndWait(qint64 jobId)
{
    const qint64 before = newestRunOf(jobId);
    m_window->jobsPane()->selectJob(jobId);
    m_window->actions()->runNow->trigger();
    if (!QTest::qWaitFor([&] { return newestRunOf(jobId) != before; }, 10000))
        return 0;
    return newestRunOf(jobId);
}

void TestMainWindow::runNowSucceedsAndShowsItsLog()
{
    const qint64 jobId = m_window->jobsPane()->currentJobId();
    QVERIFY(jobId > 0);
    const qint64 runId = runAndWait(jobId);
    QVERIFY(runId > 0);
    InstanceListModel *runs = m_window->instanceModel();
    QCOMPARE(runs->rowOf(runId), 0); // newest on top
    QTRY_COMPARE_WITH_TIMEOUT(toString(runs->find(runId)->status),
                              toString(InstanceStatus::Succeeded), kRunTimeoutMs);
    // What the table shows: the status word in green, on the top row of the view.
    QAbstractItemModel *shown = m_window->instancesPane()->table()->model();
    const QModelIndex status = shown->index(0, InstanceListModel::StatusColumn);
    QCOMPARE(status.data().toString(), QStringLiteral("Succeeded"));
    QCOMPARE(status.data(Qt::ForegroundRole).value<QColor>(),
             Labels::statusColor(InstanceStatus::Succeeded));
    QCOMPARE(shown->index(0, InstanceListModel::JobColumn).data().toString(),
             QStringLiteral("hello"));
    QVERIFY(!shown->index(0, InstanceListModel::FinishedColumn).data().toString().isEmpty());

    QSignalSpy loaded(m_window->logPanel(), &LogPanel::loaded);
    m_window->instancesPane()->selectInstance(runId);
    QTRY_VERIFY_WITH_TIMEOUT(
        m_window->logPanel()->text().contains(QStringLiteral("hello-from-kairos")), 10000);
    QVERIFY(loaded.count() >= 1);
    QCOMPARE(m_window->logPanel()->instanceId(), runId);
    // A finished run can be retried, not canceled.
    QVERIFY(!m_window->actions()->cancelRun->isEnabled());
    QVERIFY(!m_window->actions()->retryRun->isEnabled()); // it succeeded
}

void TestMainWindow::logFollowsARunningRun()
{
    // The run prints, then waits for a file we create, then prints again: the second line can
    // only reach the panel while the run is shown, i.e. by following.
    const QString go = m_dir.filePath(QStringLiteral("go"));
    const qint64 jobId =
        createJob(QStringLiteral("waiter"),
                  QStringLiteral(
                      "echo first-line; while [ ! -f '%1' ]; do sleep 0.05; done; echo second-line")
                      .arg(go));
    QVERIFY(jobId > 0);
    const qint64 runId = runAndWait(jobId);
    QVERIFY(runId > 0);
    m_window->instancesPane()->selectInstance(runId);
    QTRY_VERIFY_WITH_TIMEOUT(m_window->logPanel()->text().contains(QStringLiteral("first-line")),
                             kRunTimeoutMs);
    // The status event and the log event travel apart: wait for the state, do not assume it.
    QTRY_COMPARE_WITH_TIMEOUT(toString(m_window->instanceModel()->find(runId)->status),
                              toString(InstanceStatus::Running), kRunTimeoutMs);
    QVERIFY(m_window->actions()->cancelRun->isEnabled());
    QVERIFY(!m_window->logPanel()->text().contains(QStringLiteral("second-line")));

    QFile file(go);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    QTRY_VERIFY_WITH_TIMEOUT(m_window->logPanel()->text().contains(QStringLiteral("second-line")),
                             kRunTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(toString(m_window->instanceModel()->find(runId)->status),
                              toString(InstanceStatus::Succeeded), kRunTimeoutMs);
    // Each line once, in order.
    const QString text = m_window->logPanel()->text();
    QCOMPARE(text.count(QStringLiteral("first-line")), 1);
    QCOMPARE(text.count(QStringLiteral("second-line")), 1);
    QVERIFY(text.indexOf(QStringLiteral("first-line"))
            < text.indexOf(QStringLiteral("second-line")));
    QFile::remove(go);
}

void TestMainWindow::cancelAndRetry()
{
    const QString go = m_dir.filePath(QStringLiteral("go"));
    QFile::remove(go);
    const qint64 jobId = m_window->jobModel()
                             ->find(m_window->jobsPane()->currentJobId())
                             ->job.id; // "waiter", still selected
    const qint64 runId = runAndWait(jobId);
    QVERIFY(runId > 0);
    m_window->instancesPane()->selectInstance(runId);
    QTRY_COMPARE_WITH_TIMEOUT(toString(m_window->instanceModel()->find(runId)->status),
                              toString(InstanceStatus::Running), kRunTimeoutMs);
    QVERIFY(m_window->actions()->cancelRun->isEnabled());
    m_window->actions()->cancelRun->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(toString(m_window->instanceModel()->find(runId)->status),
                              toString(InstanceStatus::Canceled), kRunTimeoutMs);
    QAbstractItemModel *shown = m_window->instancesPane()->table()->model();
    const int row = 0;
    QCOMPARE(shown->index(row, InstanceListModel::IdColumn).data().toLongLong(), runId);
    QCOMPARE(
        shown->index(row, InstanceListModel::StatusColumn).data(Qt::ForegroundRole).value<QColor>(),
        Labels::statusColor(InstanceStatus::Canceled));

    // Retry: the same run gets a second attempt, which finishes once the file is there.
    QTRY_VERIFY(m_window->actions()->retryRun->isEnabled());
    QFile file(go);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    m_window->actions()->retryRun->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(m_window->instanceModel()->find(runId)->attempt, 2, kRunTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(toString(m_window->instanceModel()->find(runId)->status),
                              toString(InstanceStatus::Succeeded), kRunTimeoutMs);
    QCOMPARE(m_window->instanceModel()->rowOf(runId), 0); // updated in place, not a new row
    QVERIFY(m_window->banner()->message().isEmpty());
}

void TestMainWindow::disableAndEnable()
{
    const qint64 jobId = m_window->jobsPane()->currentJobId();
    QVERIFY(jobId > 0);
    QVERIFY(m_window->actions()->disableJob->isEnabled());
    QVERIFY(!m_window->actions()->enableJob->isEnabled());
    const qint64 version = m_window->jobModel()->find(jobId)->job.version;
    m_window->actions()->disableJob->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(!m_window->jobModel()->find(jobId)->job.enabled, 10000);
    QVERIFY(m_window->jobModel()->find(jobId)->job.version > version);
    const QModelIndex state = m_window->jobsPane()->table()->model()->index(
        m_window->jobsPane()
            ->proxy()
            ->mapFromSource(m_window->jobModel()->index(m_window->jobModel()->rowOf(jobId), 0))
            .row(),
        JobListModel::EnabledColumn);
    QCOMPARE(state.data().toString(), QStringLiteral("Disabled"));
    QTRY_VERIFY(m_window->actions()->enableJob->isEnabled());
    m_window->actions()->enableJob->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(m_window->jobModel()->find(jobId)->job.enabled, 10000);
}

void TestMainWindow::deleteAsksFirst()
{
    const qint64 jobId = m_window->jobsPane()->currentJobId();
    QVERIFY(jobId > 0);
    const int jobs = m_window->jobModel()->rowCount();

    // Cancel in the confirmation keeps the job.
    m_window->actions()->deleteJob->trigger();
    QPointer<QMessageBox> box =
        m_window->findChild<QMessageBox *>(QStringLiteral("confirmDeleteBox"));
    QVERIFY(box);
    box->button(QMessageBox::Cancel)->click();
    QTRY_VERIFY(box.isNull());
    QCOMPARE(m_window->jobModel()->rowCount(), jobs);

    m_window->actions()->deleteJob->trigger();
    box = m_window->findChild<QMessageBox *>(QStringLiteral("confirmDeleteBox"));
    QVERIFY(box);
    box->button(QMessageBox::Yes)->click();
    QTRY_COMPARE_WITH_TIMEOUT(m_window->jobModel()->rowCount(), jobs - 1, 10000);
    QCOMPARE(m_window->jobModel()->rowOf(jobId), -1);
    QVERIFY(m_window->banner()->message().isEmpty());
}

void TestMainWindow::filterHidesOtherJobs()
{
    QVERIFY(createJob(QStringLiteral("report-daily"), QStringLiteral("true")) > 0);
    QLineEdit *filter = m_window->jobsPane()->filterEdit();
    QAbstractItemModel *shown = m_window->jobsPane()->table()->model();
    QVERIFY(shown->rowCount() >= 2);
    filter->setText(QStringLiteral("REPORT"));
    QCOMPARE(shown->rowCount(), 1);
    QCOMPARE(shown->index(0, JobListModel::NameColumn).data().toString(),
             QStringLiteral("report-daily"));
    filter->setText(QStringLiteral("no-such-job"));
    QVERIFY(m_window->jobsPane()->table()->isShowingEmptyText());
    QVERIFY(m_window->jobsPane()->table()->emptyText().contains(QStringLiteral("no-such-job")));
    filter->clear();
    QVERIFY(shown->rowCount() >= 2);
}

void TestMainWindow::geometryIsRemembered()
{
    m_window->resize(900, 640);
    QVERIFY(m_window->close());
    MainWindow second(m_client.get());
    QCOMPARE(second.size(), QSize(900, 640));
    m_window->show();
}

void TestMainWindow::unreachableServerIsReported()
{
    // Port 1 on loopback refuses: the first attach fails and the window says so.
    client::RemoteEndpoint endpoint;
    endpoint.port = 1;
    endpoint.password = QStringLiteral("x");
    client::RemoteClient remote(endpoint);
    MainWindow window(&remote);
    remote.open(false);
    QTRY_VERIFY_WITH_TIMEOUT(!window.banner()->message().isEmpty(), 10000);
    QVERIFY2(window.banner()->message().contains(QStringLiteral("127.0.0.1:1")),
             qPrintable(window.banner()->message()));
    QVERIFY(window.linkStatus()->stateText().startsWith(QStringLiteral("Disconnected")));
}

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
