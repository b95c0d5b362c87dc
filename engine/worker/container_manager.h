#pragma once
// ContainerManager: a worker's containers (docs/containers.md sections 2-4). It carries out the
// server's `deploy` orders — download in chunks over the worker's connection (`fetch`, at most
// kFetchWindow unanswered, kMaxFetchBytes each), SHA-256 check, metadata check, load
// (LoadedContainer) — reporting each stage, and switches a container's active version only
// once the new one is loaded (READY), so a failed deploy leaves the previous version serving. It
// creates the runs of "name#processor" refs (ContainerRuns): a run binds to the active version
// when it starts; a run of a container with no active version waits for one (asking the server
// with `want`), at most waitForContainerMs. Versions that are no longer active are unloaded once
// their last run has ended; files of older versions are deleted beyond the last keepVersions
// activated ones per container (never a loaded one).
//
// Files: <directory>/<name>/<sha256>.so, written as <sha256>.so.part and renamed after the
// checks, so a crash mid-download never leaves a file that looks complete.
//
// Threading: lives on the worker's runner thread (beside the TaskRunner, which gets it with
// setContainerRuns); every method there; signals are emitted there.

#include "loaded_container.h"
#include "processor.h"

#include <core/container_info.h>

#include <QObject>

#include <functional>
#include <memory>

namespace kairos {

struct ContainerManagerConfig {
    QString directory;   // where versions are stored (created when missing)
    QString hostProgram; // kairos-container-host; empty: next to the running executable
    int keepVersions = 3;
    qint64 maxBytes = kMaxContainerBytes;
    int waitForContainerMs = 60000;
    int hostThreads = 64;
    int hangGraceMs = 5000;
    // Makes the LoadedContainer of a verified version; empty: makeLoadedContainer. Tests plug a
    // double in here.
    std::function<std::unique_ptr<LoadedContainer>(const LoadedContainerSpec &)> loaderFactory;
};

class ContainerManager : public QObject, public ContainerRuns {
    Q_OBJECT
public:
    explicit ContainerManager(ContainerManagerConfig config, QObject *parent = nullptr);
    ~ContainerManager() override; // unloads everything (kills hosts)

    const ContainerManagerConfig &config() const { return m_config; }

    // The server's orders. An order with a reason and no sha256 fails the runs waiting for
    // that container with the reason.
    void deploy(const QList<ContainerOrder> &orders);
    // Answers to fetchRequests.
    void fetchAnswered(const QList<FetchReply> &replies);
    // The connection to the server ended: unanswered fetches never will be; their downloads
    // end FAILED ("connection to the server lost"). The server re-sends its orders when the
    // worker registers again.
    void connectionLost();

    // ContainerRuns: a run of spec's "name#processor" (not started). Errors only for a ref
    // that cannot be a container ref; everything else (unknown container, no such processor,
    // load failure, wait timeout) ends the run FAILED with the reason.
    Result<std::unique_ptr<ProcessorRun>>
    createContainerRun(const TaskSpec &spec, const ProcessorContext &context) override;

    // For tests, the console's worker view and the benchmarks.
    QString activeSha(const QString &container) const;
    // Loaded versions (active ones and draining ones).
    int loadedCount() const;

signals:
    void stages(const QList<kairos::DeployStage> &stages);
    void fetchRequests(const QList<kairos::FetchRequest> &requests);
    void wanted(const QStringList &containers);

private:
    struct Impl;
    ContainerManagerConfig m_config;
    std::unique_ptr<Impl> m_impl;
};

} // namespace kairos
