#pragma once
// The human-readable forms of the container replies kairosctl prints (docs/containers.md
// section 7): the container list, a container's versions, the per-worker status, an uploaded
// version, a deploy, and the lines of `container deploy --follow`. They read the JSON shapes the
// AdminApi sends (ContainerVersion::toJson, DeployStage::toJson and the rows built on them).
// Pure functions; thread-safe.

#include <QJsonArray>
#include <QJsonObject>
#include <QString>
#include <QTimeZone>

namespace kairos::cli {

// Bytes for a reader: "312 B", "16.2 KiB", "5.0 MiB", "1.2 GiB".
QString bytesText(qint64 bytes);
// "2.0/5.0 MiB": both in the unit of the total.
QString progressText(qint64 bytes, qint64 total);
// The first 8 hex digits of a SHA-256 ("" stays "").
QString shortSha(const QString &sha256);
// "2.0 (1a2b3c4d)"; "-" without a SHA-256. `label` may be empty.
QString versionText(const QString &label, const QString &sha256);

// NAME DEFAULT ISOLATION VERSIONS NEWEST PINS JOBS (container list).
QString containerTable(const QJsonArray &containers);
// SHA256 VERSION SIZE UPLOADED BY PROCESSORS DEPLOYED TO MISSING (container versions), then the
// jobs that use the container.
QString containerVersionsText(const QJsonObject &reply, const QTimeZone &zone);
// WORKER CONTAINER ACTIVE DESIRED CURRENT STAGE PROGRESS UPDATED REASON (container status), ages
// seen at `nowMs`.
QString containerStatusTable(const QJsonArray &states, qint64 nowMs);
// How many rows of a container.status reply are not on their desired version.
int notCurrentCount(const QJsonArray &states);
// A stored version, a field per line, headed by whether it is new (container upload).
QString uploadedVersionText(const QJsonObject &version, const QTimeZone &zone);
// "deploy 7: hello 2.0 (1a2b3c4d), isolation process, to w1, w2" (container deploy).
QString deployedLine(const QJsonObject &reply);

// One line of `container deploy --follow`: the worker id padded to `workerWidth`, the stage, and
// what there is to say (progress, the reason, the version now active).
QString stageLine(const QJsonObject &stage, int workerWidth, const QString &versionLabel);

} // namespace kairos::cli
