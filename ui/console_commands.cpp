#include "console_commands.h"

#include <QJsonArray>

namespace kairos::ui {

ConsoleCommands::ConsoleCommands(client::Client *client, QObject *parent)
    : QObject(parent)
    , m_client(client)
{}

void ConsoleCommands::runNow(qint64 jobId, const QString &jobName)
{
    m_client->call(
        QStringLiteral("job.run"), QJsonObject{{QStringLiteral("id"), jobId}}, this,
        [this, jobName](Result<QJsonObject> reply) {
            if (!reply.ok()) {
                emit failed(tr("Could not run \"%1\": %2").arg(jobName, reply.error()));
                return;
            }
            QList<qint64> ids;
            for (const QJsonValue &v : reply->value(QStringLiteral("instanceIds")).toArray())
                ids << v.toInteger();
            emit runsStarted(ids);
            emit succeeded(
                ids.size() == 1
                    ? tr("Started run #%1 of \"%2\"").arg(ids.first()).arg(jobName)
                    : tr("Started %n run(s) of \"%1\"", nullptr, int(ids.size())).arg(jobName));
        });
}

void ConsoleCommands::setJobEnabled(qint64 jobId, const QString &jobName, bool enabled)
{
    const QString method = enabled ? QStringLiteral("job.enable") : QStringLiteral("job.disable");
    m_client->call(
        method, QJsonObject{{QStringLiteral("id"), jobId}}, this,
        [this, jobName, enabled](Result<QJsonObject> reply) {
            if (!reply.ok()) {
                emit failed(enabled
                                ? tr("Could not enable \"%1\": %2").arg(jobName, reply.error())
                                : tr("Could not disable \"%1\": %2").arg(jobName, reply.error()));
                return;
            }
            emit succeeded(enabled ? tr("Enabled \"%1\"").arg(jobName)
                                   : tr("Disabled \"%1\"").arg(jobName));
        });
}

void ConsoleCommands::deleteJob(qint64 jobId, const QString &jobName)
{
    m_client->call(QStringLiteral("job.delete"), QJsonObject{{QStringLiteral("id"), jobId}}, this,
                   [this, jobName](Result<QJsonObject> reply) {
                       if (!reply.ok()) {
                           emit failed(
                               tr("Could not delete \"%1\": %2").arg(jobName, reply.error()));
                           return;
                       }
                       emit succeeded(tr("Deleted \"%1\"").arg(jobName));
                   });
}

void ConsoleCommands::cancelRun(qint64 instanceId)
{
    m_client->call(
        QStringLiteral("instance.cancel"), QJsonObject{{QStringLiteral("id"), instanceId}}, this,
        [this, instanceId](Result<QJsonObject> reply) {
            if (!reply.ok()) {
                emit failed(tr("Could not cancel run #%1: %2").arg(instanceId).arg(reply.error()));
                return;
            }
            emit succeeded(tr("Asked run #%1 to stop").arg(instanceId));
        });
}

void ConsoleCommands::retryRun(qint64 instanceId)
{
    m_client->call(
        QStringLiteral("instance.retry"), QJsonObject{{QStringLiteral("id"), instanceId}}, this,
        [this, instanceId](Result<QJsonObject> reply) {
            if (!reply.ok()) {
                emit failed(tr("Could not retry run #%1: %2").arg(instanceId).arg(reply.error()));
                return;
            }
            emit succeeded(tr("Retrying run #%1").arg(instanceId));
        });
}

} // namespace kairos::ui
