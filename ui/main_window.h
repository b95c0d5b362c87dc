#pragma once
// MainWindow: the console's first screen — jobs on top, recent runs below, the selected run's
// log at the bottom, the commands in a toolbar and menus, where the console is attached and
// how the link is in the status bar, and failures in a banner. It only arranges and wires the
// pieces (models, feeds, panes, commands); each piece does one job and talks to the Client
// given here, whichever kind it is (in-process or remote).
//
// GUI thread only. No call blocks: every reply comes back through the event loop, tied to the
// object that asked.

#include <client/client.h>

#include <QMainWindow>

#include <memory>

class QLabel;
class QSplitter;

namespace kairos::ui {

class ConsoleActions;
class ConsoleCommands;
class ErrorBanner;
class EventSubscriptions;
class InstanceFeed;
class InstanceListModel;
class InstancesPane;
class JobFeed;
class JobListModel;
class JobsPane;
class LinkStatusWidget;
class LogPanel;
class NewJobDialog;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(client::Client *client, QWidget *parent = nullptr);
    ~MainWindow() override;

    // A message that is not an error (e.g. "port 7070 is taken"), shown in the banner.
    void showNotice(const QString &message);
    void showError(const QString &message);
    // Opens the New-job dialog (window-modal, deleted when closed) and returns it.
    NewJobDialog *openNewJobDialog();
    // Whether jobs and runs have been loaded at least once.
    bool isLoaded() const;

    ConsoleActions *actions() const { return m_actions; }
    JobsPane *jobsPane() const { return m_jobsPane; }
    InstancesPane *instancesPane() const { return m_instancesPane; }
    LogPanel *logPanel() const { return m_logPanel; }
    ErrorBanner *banner() const { return m_banner; }
    LinkStatusWidget *linkStatus() const { return m_linkStatus; }
    JobListModel *jobModel() const { return m_jobModel; }
    InstanceListModel *instanceModel() const { return m_instanceModel; }

signals:
    // Jobs and runs are on screen for the first time.
    void loaded();

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildActions();
    void buildStatusBar();
    void restoreLayout();
    void saveLayout();
    void updateActions();
    void updateCounts();
    void confirmDelete();
    void onLinkState(client::Client::LinkState state, const QString &detail);
    void onInstanceSelected(qint64 instanceId);
    void checkLoaded();

    client::Client *m_client;
    std::unique_ptr<EventSubscriptions> m_subscriptions;
    ConsoleActions *m_actions;
    ConsoleCommands *m_commands;
    JobListModel *m_jobModel;
    InstanceListModel *m_instanceModel;
    JobFeed *m_jobFeed;
    InstanceFeed *m_instanceFeed;
    ErrorBanner *m_banner;
    QSplitter *m_splitter;
    JobsPane *m_jobsPane;
    InstancesPane *m_instancesPane;
    LogPanel *m_logPanel;
    LinkStatusWidget *m_linkStatus;
    QLabel *m_counts;
    bool m_everConnected = false;
    bool m_loadedEmitted = false;
};

} // namespace kairos::ui
