#pragma once
// Containers as the engine, the store, the wire and the tools see them (docs/containers.md):
// the metadata a container library carries, a stored version, a deployment, the orders and
// stages of a deploy on one worker, and the chunked fetch of a version's bytes. Plain value types
// with their JSON shapes (admin protocol, `containers` event topic). Enum names are the wire and
// JSON names (upper case for stages, lower case for shapes and isolation).

#include "result.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

namespace kairos {

// What SDK class a processor implements, hence which execution modes it serves.
enum class ProcessorShape { Standalone, Broadcast, Map, MapReduce };
QString toString(ProcessorShape v); // "standalone", "broadcast", "map", "mapReduce"
Result<ProcessorShape> processorShapeFromString(const QString &s);

enum class ContainerIsolation { Process, InProcess };
QString toString(ContainerIsolation v); // "process", "inprocess"
Result<ContainerIsolation> containerIsolationFromString(const QString &s);

enum class DeployStageName { Queued, Downloading, Verifying, Loading, Ready, Failed };
QString toString(DeployStageName v); // "QUEUED" ... "FAILED"
Result<DeployStageName> deployStageFromString(const QString &s);
inline bool isFinal(DeployStageName s)
{
    return s == DeployStageName::Ready || s == DeployStageName::Failed;
}

struct ContainerProcessorInfo {
    QString name;
    ProcessorShape shape = ProcessorShape::Standalone;
    QString description;
    bool operator==(const ContainerProcessorInfo &) const = default;
};

// The metadata embedded in a container library (the plugin's MetaData object).
struct ContainerMetadata {
    QString name;
    QString version; // free label
    int sdkVersion = 0;
    QList<ContainerProcessorInfo> processors;
    bool operator==(const ContainerMetadata &) const = default;

    const ContainerProcessorInfo *processor(const QString &name) const;
    QStringList processorNames() const;
    // {"name","version","sdk","processors":[{"name","shape","description"}]}
    QJsonObject toJson() const;
    // Checks every rule of docs/containers.md section 1 except the SDK version's value, naming
    // the field: "metadata: field 'processors[1].shape' must be one of standalone, broadcast,
    // map, mapReduce".
    static Result<ContainerMetadata> fromJson(const QJsonObject &json);
};

// Valid container or processor name: [A-Za-z0-9][A-Za-z0-9._-]{0,63}.
bool isValidContainerName(const QString &name);
// Splits "name#processor"; an error names the field `field` ("processor.ref: expected
// CONTAINER#PROCESSOR, got 'x'").
Result<std::pair<QString, QString>>
splitContainerRef(const QString &ref, const QString &field = QStringLiteral("processor.ref"));

// One stored version (the file's bytes live apart, in the blob table).
struct ContainerVersion {
    QString sha256; // 64 lowercase hex: the version's identity
    ContainerMetadata metadata;
    qint64 sizeBytes = 0;
    qint64 uploadedAtMs = 0;
    QString uploadedBy;
    bool operator==(const ContainerVersion &) const = default;
    // metadata fields flattened: {sha256, name, version, sdk, processors, sizeBytes,
    // uploadedAtMs, uploadedBy}
    QJsonObject toJson() const;
    static Result<ContainerVersion> fromJson(const QJsonObject &json);
};

// A deployment: the desired version of a container for every worker (target "*", the default)
// or for one worker (target = worker id, a pin).
struct ContainerDeployment {
    static inline const QString kAllWorkers = QStringLiteral("*");
    QString container;
    QString target = kAllWorkers;
    QString sha256;
    ContainerIsolation isolation = ContainerIsolation::Process;
    qint64 deployId = 0; // server-assigned, increasing
    qint64 deployedAtMs = 0;
    QString deployedBy;
    bool operator==(const ContainerDeployment &) const = default;
    QJsonObject toJson() const;
    static Result<ContainerDeployment> fromJson(const QJsonObject &json);
};

// Server -> worker: make this version the active one of its container (wire `deploy`). With an
// empty sha256 and a reason: the container has no version for this worker.
struct ContainerOrder {
    qint64 deployId = 0; // 0: answer to a `want`
    QString container;
    QString sha256;
    qint64 sizeBytes = 0;
    ContainerIsolation isolation = ContainerIsolation::Process;
    QString version; // label, for messages
    QString reason;
    bool operator==(const ContainerOrder &) const = default;
};

// Worker -> server: where one deploy stands on one worker (wire `deployStage`; with the worker
// id filled in by the server, the `containers` event and `container.status`).
struct DeployStage {
    qint64 deployId = 0;
    QString worker; // set by the server (the link's id); empty on the wire
    QString container;
    QString sha256;
    DeployStageName stage = DeployStageName::Queued;
    qint64 bytes = 0; // DOWNLOADING: received so far
    qint64 total = 0; // the version's size
    QString reason;   // FAILED: why
    qint64 atMs = 0;  // set by the server when received
    bool operator==(const DeployStage &) const = default;
    // {deployId, worker, container, sha256, stage, bytes, total, reason?, atMs}
    QJsonObject toJson() const;
    static Result<DeployStage> fromJson(const QJsonObject &json);
};

// Worker -> server: bytes [offset, offset + length) of a stored version (wire `fetch`).
struct FetchRequest {
    qint64 fetchId = 0; // worker-assigned, unique per connection
    QString sha256;
    qint64 offset = 0;
    qint64 length = 0;
    bool operator==(const FetchRequest &) const = default;
};

// Server -> worker: the answer (wire `fetchReply`): the bytes, or why not.
struct FetchReply {
    qint64 fetchId = 0;
    QString sha256;
    qint64 offset = 0;
    QByteArray data;
    QString error;
    bool operator==(const FetchReply &) const = default;
};

// The limits of docs/containers.md.
inline constexpr qint64 kMaxContainerBytes = 256LL * 1024 * 1024;
inline constexpr qint64 kMaxFetchBytes = 1024 * 1024;
inline constexpr int kFetchWindow = 4;

} // namespace kairos
