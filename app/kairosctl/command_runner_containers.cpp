// CommandRunner's container commands: `container upload` and `container deploy --follow`
// (the rest of the class is in command_runner.cpp).
#include "command_runner.h"

#include "container_views.h"

#include <QFileInfo>
#include <QJsonDocument>

namespace kairos::cli {
namespace {

// Stages of the container that arrive before the deploy is answered, kept for when its id is
// known; a bound, because an unrelated busy deploy of the same container could send many.
constexpr int kMaxEarlyStages = 10000;

} // namespace

// --- container upload ------------------------------------------------------------------------

bool CommandRunner::prepareUpload()
{
    m_upload = std::make_unique<ContainerUpload>(m_client, m_action.path);
    if (Status s = m_upload->open(); !s.ok()) {
        fail(kExitBadFile, s.error());
        return false;
    }
    return true;
}

void CommandRunner::uploadContainer()
{
    m_upload->start(
        [this](qint64 acknowledged, qint64 total) { onUploadProgress(acknowledged, total); },
        [this](Result<QJsonObject> version) {
            if (m_done)
                return;
            if (!version.ok())
                return failWith(version.error());
            if (m_options.json)
                printJson(*version);
            else
                m_out << uploadedVersionText(*version, m_options.zone);
            finish(0);
        });
}

void CommandRunner::onUploadProgress(qint64 acknowledged, qint64 total)
{
    const qint64 elapsed = m_clock.elapsed();
    const bool last = acknowledged >= total;
    if (!last && elapsed - std::max<qint64>(0, m_lastProgressMs) < m_options.progressEveryMs)
        return;
    m_lastProgressMs = elapsed;
    m_err << tr("uploading %1: %2 (%3%)")
                 .arg(QFileInfo(m_action.path).fileName(), progressText(acknowledged, total))
                 .arg(total > 0 ? acknowledged * 100 / total : 100)
          << '\n';
    m_err.flush();
}

// --- container deploy --follow ---------------------------------------------------------------
//
// The subscription goes out before the deploy, so no stage of it can be missed; stages that
// arrive before the deploy's reply (the local worker can be that quick) wait for its id. A
// container.status poll every pollIntervalMs covers events a server dropped (a slow subscriber's
// buffer is bounded) or never sent.

void CommandRunner::followDeploy()
{
    connect(&m_client, &client::Client::deployStages, this, &CommandRunner::onDeployStages);
    m_client.subscribe({QStringLiteral("containers")});
    call(m_action.method, m_action.params,
         [this](const QJsonObject &reply) { onDeployReply(reply); });
}

void CommandRunner::onDeployReply(const QJsonObject &reply)
{
    m_deployReply = reply;
    QStringList targets;
    for (const QJsonValue &w : reply.value(QStringLiteral("workers")).toArray())
        targets << w.toString();
    const QJsonObject version = reply.value(QStringLiteral("version")).toObject();
    const QString container = m_action.params.value(QStringLiteral("name")).toString();
    m_deploy = std::make_unique<DeployFollower>(
        reply.value(QStringLiteral("deployId")).toInteger(), container, targets,
        version.value(QStringLiteral("version")).toString(), m_options.deployProgressEveryMs);
    if (!m_options.json) {
        m_out << deployedLine(reply);
        m_out.flush();
    }
    if (targets.isEmpty()) {
        // Recorded as the default; workers get it when they connect. Nothing to follow.
        if (m_options.json)
            printJson(deployDocument());
        return finish(0);
    }
    for (const QJsonObject &stage : std::exchange(m_earlyStages, {})) {
        if (m_done)
            return;
        applyDeployStage(stage);
    }
    if (m_done)
        return;
    connect(&m_deadline, &QTimer::timeout, this, &CommandRunner::onDeployDeadline);
    m_deadline.start(std::max(1, m_action.waitTimeoutS) * 1000);
    connect(&m_poll, &QTimer::timeout, this, &CommandRunner::pollDeployStatus);
    m_poll.start();
    checkDeployDone();
}

void CommandRunner::onDeployStages(const QList<DeployStage> &stages)
{
    if (m_done)
        return;
    const QString container = m_action.params.value(QStringLiteral("name")).toString();
    for (const DeployStage &stage : stages) {
        if (m_done)
            return;
        if (stage.container != container)
            continue;
        if (m_deploy) {
            applyDeployStage(stage.toJson());
        } else if (m_earlyStages.size() < kMaxEarlyStages) {
            m_earlyStages << stage.toJson();
        }
    }
}

void CommandRunner::applyDeployStage(const QJsonObject &stage)
{
    const QString line = m_deploy->onStage(stage, m_clock.elapsed());
    if (!line.isEmpty() && !m_options.json) {
        m_out << line;
        m_out.flush();
    }
    checkDeployDone();
}

void CommandRunner::pollDeployStatus()
{
    if (m_deployPollInFlight || m_done)
        return;
    m_deployPollInFlight = true;
    call(QStringLiteral("container.status"),
         QJsonObject{{QStringLiteral("name"), m_action.params.value(QStringLiteral("name"))}},
         [this](const QJsonObject &reply) {
             m_deployPollInFlight = false;
             for (const QJsonValue &row : reply.value(QStringLiteral("workers")).toArray()) {
                 if (m_done)
                     return;
                 applyDeployStage(row.toObject());
             }
         });
}

void CommandRunner::checkDeployDone()
{
    if (m_done || !m_deploy || !m_deploy->finished())
        return;
    const QStringList failed = m_deploy->failedWorkers();
    const int total = int(m_deploy->targets().size());
    if (m_options.json) {
        printJson(deployDocument());
    } else if (failed.isEmpty()) {
        m_out << tr("deploy %1: READY on %2 of %3 worker(s)")
                     .arg(m_deploy->deployId())
                     .arg(total)
                     .arg(total)
              << '\n';
    }
    if (!failed.isEmpty()) {
        return fail(kExitDeployFailed, tr("deploy %1 FAILED on %2 of %3 worker(s): %4")
                                           .arg(m_deploy->deployId())
                                           .arg(failed.size())
                                           .arg(total)
                                           .arg(failed.join(QStringLiteral(", "))));
    }
    finish(0);
}

void CommandRunner::onDeployDeadline()
{
    if (m_done || !m_deploy)
        return;
    const QStringList open = m_deploy->unfinished();
    if (m_options.json)
        printJson(deployDocument());
    fail(kExitDeployTimeout, tr("--timeout: after %1 s, %2 of %3 worker(s) had not finished: %4")
                                 .arg(m_action.waitTimeoutS)
                                 .arg(open.size())
                                 .arg(m_deploy->targets().size())
                                 .arg(open.join(QStringLiteral("; "))));
}

QJsonObject CommandRunner::deployDocument() const
{
    QJsonObject doc = m_deployReply;
    doc[QStringLiteral("stages")] = m_deploy ? m_deploy->lastStages() : QJsonArray();
    return doc;
}

} // namespace kairos::cli
