#pragma once
// ConsoleActions: the console's commands as QActions — text, shortcut, icon, tooltip — shared
// by the toolbar and the menus. Only what a command looks like lives here; what it does is
// MainWindow's wiring to ConsoleCommands, and when it is enabled depends on the selection.
//
// GUI thread only.

#include <QObject>

class QAction;

namespace kairos::ui {

class ConsoleActions : public QObject {
    Q_OBJECT
public:
    explicit ConsoleActions(QObject *parent = nullptr);

    QAction *newJob;
    QAction *runNow;
    QAction *enableJob;
    QAction *disableJob;
    QAction *deleteJob;
    QAction *cancelRun;
    QAction *retryRun;
    QAction *refresh;
    QAction *quit;

private:
    QAction *make(const QString &objectName, const QString &text, const QString &toolTip);
};

} // namespace kairos::ui
