#include "deploy_follower.h"

#include "container_views.h"

namespace kairos::cli {
namespace {

QString stageOf(const QJsonObject &stage)
{
    return stage.value(QStringLiteral("stage")).toString();
}

bool isFinal(const QString &stage)
{
    return stage == QLatin1String("READY") || stage == QLatin1String("FAILED");
}

// The order of the stages of one deploy on one worker. A status row can be newer than an event
// still on its way, so an older stage arriving after a newer one is not news.
int rank(const QString &stage)
{
    static const QStringList order{QStringLiteral("QUEUED"), QStringLiteral("DOWNLOADING"),
                                   QStringLiteral("VERIFYING"), QStringLiteral("LOADING")};
    const qsizetype i = order.indexOf(stage);
    return i >= 0 ? int(i) : int(order.size());
}

} // namespace

DeployFollower::DeployFollower(qint64 deployId, QString container, QStringList targets,
                               QString versionLabel, int progressEveryMs)
    : m_deployId(deployId)
    , m_container(std::move(container))
    , m_targets(std::move(targets))
    , m_versionLabel(std::move(versionLabel))
    , m_progressEveryMs(progressEveryMs)
{
    for (const QString &worker : std::as_const(m_targets)) {
        m_workerWidth = std::max(m_workerWidth, int(worker.size()));
        m_state.insert(worker, Target{});
    }
}

QString DeployFollower::onStage(const QJsonObject &stage, qint64 nowMs)
{
    const QString worker = stage.value(QStringLiteral("worker")).toString();
    const auto it = m_state.find(worker);
    if (it == m_state.end() || it->ended
        || stage.value(QStringLiteral("container")).toString() != m_container)
        return {};
    const qint64 deployId = stage.value(QStringLiteral("deployId")).toInteger();
    if (deployId > m_deployId) {
        // A newer deploy of this container reached the worker first: ours will not finish there.
        QJsonObject superseded{
            {QStringLiteral("deployId"), m_deployId},
            {QStringLiteral("worker"), worker},
            {QStringLiteral("container"), m_container},
            {QStringLiteral("stage"), QStringLiteral("FAILED")},
            {QStringLiteral("reason"), QStringLiteral("superseded by deploy %1").arg(deployId)}};
        return print(*it, superseded, nowMs);
    }
    if (deployId != m_deployId || stageOf(stage).isEmpty())
        return {};
    if (!it->last.isEmpty()) {
        const int before = rank(stageOf(it->last));
        const int now = rank(stageOf(stage));
        if (now < before
            || (now == before
                && stage.value(QStringLiteral("bytes")).toInteger()
                       < it->last.value(QStringLiteral("bytes")).toInteger()))
            return {};
    }
    return print(*it, stage, nowMs);
}

QString DeployFollower::print(Target &target, const QJsonObject &stage, qint64 nowMs)
{
    target.last = stage;
    const QString name = stageOf(stage);
    target.ended = isFinal(name);
    const qint64 bytes = stage.value(QStringLiteral("bytes")).toInteger();
    bool show = name != target.printedStage;
    if (!show && name == QLatin1String("DOWNLOADING")) {
        // Progress again, but not every 100 ms.
        show = bytes != target.printedBytes && nowMs - target.printedAtMs >= m_progressEveryMs;
    }
    if (!show)
        return {};
    target.printedStage = name;
    target.printedBytes = bytes;
    target.printedAtMs = nowMs;
    return stageLine(stage, m_workerWidth, m_versionLabel);
}

bool DeployFollower::finished() const
{
    for (const Target &t : m_state) {
        if (!t.ended)
            return false;
    }
    return true;
}

QStringList DeployFollower::failedWorkers() const
{
    QStringList out;
    for (const QString &worker : m_targets) {
        if (stageOf(m_state.value(worker).last) == QLatin1String("FAILED"))
            out << worker;
    }
    return out;
}

int DeployFollower::readyCount() const
{
    int n = 0;
    for (const Target &t : m_state) {
        if (stageOf(t.last) == QLatin1String("READY"))
            ++n;
    }
    return n;
}

QStringList DeployFollower::unfinished() const
{
    QStringList out;
    for (const QString &worker : m_targets) {
        const Target t = m_state.value(worker);
        if (t.ended)
            continue;
        if (t.last.isEmpty()) {
            out << QStringLiteral("%1 (nothing reported)").arg(worker);
            continue;
        }
        QString where = stageOf(t.last);
        if (where == QLatin1String("DOWNLOADING")) {
            where += u' '
                     + progressText(t.last.value(QStringLiteral("bytes")).toInteger(),
                                    t.last.value(QStringLiteral("total")).toInteger());
        }
        out << QStringLiteral("%1 (%2)").arg(worker, where);
    }
    return out;
}

QJsonArray DeployFollower::lastStages() const
{
    QJsonArray out;
    for (const QString &worker : m_targets) {
        QJsonObject last = m_state.value(worker).last;
        if (last.isEmpty()) {
            last = {{QStringLiteral("deployId"), m_deployId},
                    {QStringLiteral("worker"), worker},
                    {QStringLiteral("container"), m_container},
                    {QStringLiteral("stage"), QString()}};
        }
        out.append(last);
    }
    return out;
}

} // namespace kairos::cli
