#pragma once
// ContainerService: the server's side of containers (docs/containers.md): chunked uploads
// checked and stored by SHA-256, the versions of each container, deployments (the default
// version for every worker and per-worker pins, recorded in the store before any order is
// sent), the orders sent to each worker link (at deploy, and at every registration), the
// latest deploy stage of every worker and container, and the bytes workers fetch (read from the
// store once per version and kept in a small cache). It also checks the container refs of jobs.
//
// Several servers on one PostgreSQL: versions and deployments live in the store, so any server
// can serve a fetch or answer a `want`. A deploy made through one server reaches the workers of
// that server now and every other worker at its next registration (docs/containers.md notes
// this; cross-server push is later work).
//
// Not thread-safe: engine thread only. Store work runs on the StoreThread; replies come back on
// the engine thread.

#include <core/container_info.h>
#include <core/job.h>
#include <core/result.h>

#include <QHash>
#include <QObject>
#include <QPointer>

#include <functional>

namespace kairos {
class StoreThread;
}

namespace kairos::server {

class WorkerLink;

struct ContainerServiceConfig {
    QString
        uploadDirectory; // temp files of uploads in progress; empty: a folder in QDir::tempPath()
    qint64 maxBytes = kMaxContainerBytes;
    qint64 chunkBytes = 1024 * 1024;   // the chunk size told to uploaders
    int maxUploads = 4;                // concurrent uploads in progress
    int uploadIdleMs = 10 * 60 * 1000; // an upload silent this long is dropped
    int cachedVersions = 4;            // version bytes kept in memory for fetches
};

struct UploadTicket {
    qint64 uploadId = 0;
    qint64 chunkBytes = 0;
};

struct DeployRequest {
    QString container;
    QString version;     // sha256, unique sha prefix of >= 8 hex digits, or label; empty: newest
    QStringList workers; // empty: every worker (the default version)
    ContainerIsolation isolation = ContainerIsolation::Process;
    QString user; // who deploys (stored)
};

struct DeployTicket {
    qint64 deployId = 0;
    ContainerVersion version;
    QStringList workers; // the workers an order was sent to now
};

// One row of `container.status`.
struct WorkerContainerState {
    DeployStage latest;    // the latest stage reported (worker and container set)
    QString activeSha256;  // the version that worker last reported READY ("" = none)
    QString desiredSha256; // what the deployments say it should run
    bool current() const { return !desiredSha256.isEmpty() && activeSha256 == desiredSha256; }
};

class ContainerService : public QObject {
    Q_OBJECT
public:
    template<typename T> using Reply = std::function<void(Result<T>)>;

    ContainerService(kairos::StoreThread &store, ContainerServiceConfig config,
                     QObject *parent = nullptr);
    ~ContainerService() override; // removes the upload folder

    // Reads versions and deployments from the store. Blocks (engine start-up).
    Status load();

    // --- uploads ----------------------------------------------------------------------------
    // Errors: size outside 1..maxBytes, sha256 not 64 hex, too many uploads in progress.
    Result<UploadTicket> beginUpload(qint64 size, const QString &sha256, const QString &user);
    // Appends at `offset`, which must equal the bytes received so far ("offset: expected
    // 1048576, got 0"); refuses bytes beyond the announced size. Returns the bytes received.
    Result<qint64> appendUpload(qint64 uploadId, qint64 offset, const QByteArray &data);
    // Checks completeness, the digest and the library (readContainerMetadata), stores the
    // version, ends the upload either way. `existing` tells a re-upload of a known version.
    void finishUpload(qint64 uploadId, Reply<std::pair<ContainerVersion, bool>> reply);

    // --- versions and deployments -------------------------------------------------------------
    QList<ContainerVersion> versions(const QString &container = {}) const; // newest first
    QStringList containerNames() const;
    QList<ContainerDeployment> deployments(const QString &container = {}) const;
    // The desired version of `container` for `worker` (pin, else default); empty: none.
    QString desiredSha(const QString &container, const QString &worker) const;
    // Records the deployment, then sends the orders. Errors: unknown container or version
    // (ambiguous prefix named), an offline worker among `workers` (nothing changed).
    void deploy(const DeployRequest &request, Reply<DeployTicket> reply);
    // Per worker (connected now or seen since start) and container; `container` empty: all.
    QList<WorkerContainerState> workerStates(const QString &container = {}) const;

    // --- jobs ---------------------------------------------------------------------------------
    // For a CONTAINER job whose ref is not "builtin#...": the container must exist and its
    // default version (else its newest) must offer the processor with a shape that serves the
    // job's execution mode. Errors name `processor.ref` (docs/containers.md section 8). OK for
    // every other job.
    Status validateJob(const Job &job) const;

    // --- worker links -------------------------------------------------------------------------
    // A worker registered (or the local worker exists): sends it the orders of every container
    // with a desired version for it, and serves its stages, fetches and wants from now on.
    // The link may be deleted at any time (QPointer inside).
    void attach(WorkerLink *link);

signals:
    // Every stage received, worker filled in (the `containers` event topic).
    void stagesReported(const QList<kairos::DeployStage> &stages);
    // Versions or deployments of these containers changed.
    void containersChanged(const QStringList &containers);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace kairos::server
