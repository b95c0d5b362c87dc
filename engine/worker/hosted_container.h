#pragma once
// HostedContainer: a container version run in its own kairos-container-host child process
// (isolation `process`, the default; docs/containers.md sections 4 and 6), so a crash, a hang or
// a symbol clash in container code cannot take the worker down. The worker listens on a private
// QLocalServer (user-only access), starts the host with --library/--socket/--name/--threads and
// speaks the host protocol over a HostChannel. Each run is a HostedRun: a `dispatch` to the host,
// its `logs` and `call`s forwarded, its terminal `status` finishing the run.
//
// Failures: a host that crashes fails every run it had ("container host crashed: SIGSEGV
// (Segmentation fault) in hello 2.0 (1a2b3c4d)"), an unexpected exit likewise ("container host
// exited with code 1 in ..."); the version stays loaded and the next run starts a fresh host. A
// canceled run whose processor has not returned (`released`) within hangGraceMs retires its
// host: it gets no new runs, and is killed once its other runs have ended.
//
// Threading: like every LoadedContainer, the runner's thread only.

#include "loaded_container.h"

#include <QObject>

#include <memory>

namespace kairos {

class HostedContainer final : public LoadedContainer {
    Q_OBJECT
public:
    // How long load() waits for the host's `hello`.
    static constexpr int kHelloTimeoutMs = 10000;
    // A canceled run whose host has not confirmed the cancel by then finishes Canceled anyway.
    static constexpr int kCancelConfirmMs = 1000;

    explicit HostedContainer(LoadedContainerSpec spec, QObject *parent = nullptr);
    // Kills every host at once (SIGKILL) and fails the runs still open.
    ~HostedContainer() override;

    void load() override;
    QStringList processorNames() const override;
    Result<std::unique_ptr<ProcessorRun>> createRun(const TaskSpec &spec, const QString &processor,
                                                    const ProcessorContext &context) override;
    int busyCount() const override;
    void unloadWhenDrained() override;

    // How long a starting host may take to say hello (default kHelloTimeoutMs); for tests.
    // Applies to hosts started afterwards. Runner thread.
    void setHelloTimeoutMs(int ms);

    // For tests and diagnostics. Runner thread.
    // The pid of the host that takes new runs (0 when none is running or starting).
    qint64 currentHostPid() const;
    // Host processes that are still running (the current one and retired ones).
    int liveHostCount() const;

signals:
    // A host process said hello.
    void hostStarted(qint64 pid);
    // A host stopped taking new runs because a canceled processor in it did not return.
    void hostRetired(qint64 pid);
    // A host process is gone (any reason).
    void hostExited(qint64 pid);

private:
    friend class HostedRun;
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace kairos
