#pragma once
// LoadedContainer: one container version (file, sha256) loaded on a worker in one isolation
// mode (docs/containers.md section 4). Two implementations: InProcessContainer (the library
// loaded into the worker, RTLD_LOCAL | RTLD_DEEPBIND) and HostedContainer (a
// kairos-container-host child per version, over a local socket). ContainerManager owns them:
// it loads one per deploy, hands its runs out while it is the active version, and unloads it
// once it is no longer active and its last run has ended — that is how in-flight runs finish on
// the old version while new runs use the new one, and how memory stays flat over redeploys.
//
// "Busy" counts runs created by this version whose code may still execute: a run is busy from
// createRun() until it has finished AND (in-process) its processor object and every factory
// copy are destroyed / (hosted) the host said `released` or died. Unloading waits for busy == 0.
//
// Threading: create, use and destroy on the worker's runner thread (the TaskRunner's); runs it
// creates live there too. Signals are emitted there.

#include "processor.h"

#include <core/container_info.h>

#include <QObject>
#include <QStringList>

#include <memory>

namespace kairos {

struct LoadedContainerSpec {
    QString container;
    QString sha256;
    QString version; // label, for messages
    QString file;    // the verified, content-addressed file
    ContainerIsolation isolation = ContainerIsolation::Process;
    // HostedContainer only.
    QString hostProgram;    // path of kairos-container-host
    int hostThreads = 64;   // --threads of the host (its SDK pool size)
    int hangGraceMs = 5000; // a canceled processor not returned by then retires its host
    int quitGraceMs = 2000; // after closing the socket, SIGKILL if the host is still there
};

class LoadedContainer : public QObject {
    Q_OBJECT
public:
    ~LoadedContainer() override = default;

    const LoadedContainerSpec &spec() const { return m_spec; }
    // "hello 2.0 (1a2b3c4d)": how messages name this version.
    QString describe() const;

    // Loads it; emits exactly one of loaded() / loadFailed() (possibly before returning). Call
    // once.
    virtual void load() = 0;
    bool isLoaded() const { return m_loaded; }
    // The processors the library offers (valid once loaded).
    virtual QStringList processorNames() const = 0;

    // A run of `processor` for `spec` (not started), bound to this version until it is no longer
    // busy. Errors: not loaded, unloading, no such processor. `context` supplies the pool of
    // in-process runs.
    virtual Result<std::unique_ptr<ProcessorRun>>
    createRun(const TaskSpec &spec, const QString &processor, const ProcessorContext &context) = 0;

    virtual int busyCount() const = 0;
    // No new runs from now on; unloads (library closed / host gone) as soon as busyCount() is 0,
    // then emits unloaded(). Destroying the object unloads at once (killing a host).
    virtual void unloadWhenDrained() = 0;

signals:
    void loaded();
    void loadFailed(const QString &reason);
    // busyCount() changed.
    void busyChanged(int busy);
    void unloaded();

protected:
    explicit LoadedContainer(LoadedContainerSpec spec, QObject *parent = nullptr)
        : QObject(parent)
        , m_spec(std::move(spec))
    {}
    bool m_loaded = false;

private:
    LoadedContainerSpec m_spec;
};

// Creates the implementation for spec.isolation (not loaded yet).
std::unique_ptr<LoadedContainer> makeLoadedContainer(const LoadedContainerSpec &spec);

} // namespace kairos
