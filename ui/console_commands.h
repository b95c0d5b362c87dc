#pragma once
// ConsoleCommands: what the job and run commands do — each is one Client call whose outcome is
// reported as a short status message or, when it failed, as a message for the error banner
// that says what was tried and the server's reason. No widgets: the window asks for
// confirmation before calling deleteJob().
//
// GUI thread only. Replies are tied to this object.

#include <client/client.h>

#include <QObject>

namespace kairos::ui {

class ConsoleCommands : public QObject {
    Q_OBJECT
public:
    explicit ConsoleCommands(client::Client *client, QObject *parent = nullptr);

    void runNow(qint64 jobId, const QString &jobName);
    void setJobEnabled(qint64 jobId, const QString &jobName, bool enabled);
    void deleteJob(qint64 jobId, const QString &jobName);
    void cancelRun(qint64 instanceId);
    void retryRun(qint64 instanceId);

signals:
    void succeeded(const QString &message);
    void failed(const QString &message);
    void runsStarted(const QList<qint64> &instanceIds);

private:
    client::Client *m_client;
};

} // namespace kairos::ui
