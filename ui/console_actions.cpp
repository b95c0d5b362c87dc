#include "console_actions.h"

#include <QAction>
#include <QApplication>
#include <QKeySequence>
#include <QStyle>

namespace kairos::ui {

QAction *ConsoleActions::make(const QString &objectName, const QString &text,
                              const QString &toolTip)
{
    auto *action = new QAction(text, this);
    action->setObjectName(objectName);
    action->setToolTip(toolTip);
    return action;
}

ConsoleActions::ConsoleActions(QObject *parent)
    : QObject(parent)
    , newJob(make(QStringLiteral("actionNewJob"), tr("&New job…"), tr("Create a job")))
    , runNow(make(QStringLiteral("actionRunNow"), tr("&Run now"),
                  tr("Start a run of the selected job now")))
    , enableJob(make(QStringLiteral("actionEnableJob"), tr("&Enable"),
                     tr("Let the selected job fire on its schedule")))
    , disableJob(make(QStringLiteral("actionDisableJob"), tr("D&isable"),
                      tr("Stop the selected job from firing (runs in progress go on)")))
    , deleteJob(
          make(QStringLiteral("actionDeleteJob"), tr("&Delete…"), tr("Delete the selected job")))
    , cancelRun(
          make(QStringLiteral("actionCancelRun"), tr("&Cancel run"), tr("Stop the selected run")))
    , retryRun(make(QStringLiteral("actionRetryRun"), tr("Re&try run"),
                    tr("Run the selected finished run again as a new attempt")))
    , refresh(make(QStringLiteral("actionRefresh"), tr("Re&fresh"),
                   tr("Load jobs and runs again from the server")))
    , quit(make(QStringLiteral("actionQuit"), tr("&Quit"), tr("Close the console")))
{
    const QStyle *style = QApplication::style();
    newJob->setShortcut(QKeySequence::New);
    newJob->setIcon(style->standardIcon(QStyle::SP_FileDialogNewFolder));
    runNow->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    runNow->setIcon(style->standardIcon(QStyle::SP_MediaPlay));
    enableJob->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    enableJob->setIcon(style->standardIcon(QStyle::SP_DialogApplyButton));
    disableJob->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    disableJob->setIcon(style->standardIcon(QStyle::SP_MediaPause));
    deleteJob->setShortcut(QKeySequence::Delete);
    deleteJob->setIcon(style->standardIcon(QStyle::SP_TrashIcon));
    cancelRun->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_X));
    cancelRun->setIcon(style->standardIcon(QStyle::SP_MediaStop));
    retryRun->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    retryRun->setIcon(style->standardIcon(QStyle::SP_BrowserReload));
    refresh->setShortcut(QKeySequence::Refresh);
    quit->setShortcut(QKeySequence::Quit);

    // Shortcuts belong in the tooltip: the toolbar is where people learn them.
    for (QAction *a :
         {newJob, runNow, enableJob, disableJob, deleteJob, cancelRun, retryRun, refresh}) {
        if (!a->shortcut().isEmpty()) {
            a->setToolTip(tr("%1 (%2)", "tooltip: description (shortcut)")
                              .arg(a->toolTip(), a->shortcut().toString(QKeySequence::NativeText)));
        }
    }
}

} // namespace kairos::ui
