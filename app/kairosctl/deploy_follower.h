#pragma once
// DeployFollower: where one deploy stands on each of its target workers, for `kairosctl container
// deploy --follow`. It is fed the stages the workers report (the `containers` events and, as a
// safety net, the rows of `container.status`), keeps the newest per target worker, says which
// line to print (one per stage change; a download's progress again at most every
// `progressEveryMs`), and knows when every target is READY or FAILED. A target whose latest stage
// belongs to a newer deploy was superseded there: that counts as FAILED. Stages of other deploys,
// containers or workers are ignored. Stages are the JSON of DeployStage::toJson().
// A value type; not thread-safe.

#include <QHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QStringList>

namespace kairos::cli {

class DeployFollower {
public:
    DeployFollower(qint64 deployId, QString container, QStringList targets, QString versionLabel,
                   int progressEveryMs = 2000);

    qint64 deployId() const { return m_deployId; }
    const QStringList &targets() const { return m_targets; }

    // A stage reported by a worker (or a container.status row). Returns the text to print: one
    // line, or empty when there is nothing new to say.
    QString onStage(const QJsonObject &stage, qint64 nowMs);

    // Every target has ended (READY or FAILED); true at once without targets.
    bool finished() const;
    QStringList failedWorkers() const;
    int readyCount() const;
    // The targets still under way, each with its last stage: "w2 (DOWNLOADING 2.0/5.0 MiB)",
    // "w3 (nothing reported)".
    QStringList unfinished() const;
    // The last stage of each target in target order (a target that reported nothing: its worker
    // and stage "" only).
    QJsonArray lastStages() const;

private:
    struct Target {
        QJsonObject last;         // the newest stage (empty: none yet)
        QString printedStage;     // the stage of the last printed line
        qint64 printedBytes = -1; // DOWNLOADING: the bytes of the last printed line
        qint64 printedAtMs = 0;
        bool ended = false;
    };
    QString print(Target &target, const QJsonObject &stage, qint64 nowMs);

    qint64 m_deployId;
    QString m_container;
    QStringList m_targets;
    QString m_versionLabel;
    int m_progressEveryMs;
    int m_workerWidth = 0;
    QHash<QString, Target> m_state;
};

} // namespace kairos::cli
