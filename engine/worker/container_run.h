#pragma once
// ContainerRun: the ProcessorRun of a container ref ("hello#greet", docs/containers.md section
// 4). The TaskRunner gets it from the ContainerManager before the container may even be on this
// worker: when it starts, it asks its binder (the manager) for the container's active version.
// With one, it is bound at once; without, it waits (at most waitMs) until the manager binds it
// to the version that becomes READY or fails it with the reason. Bound, it writes the first log
// line ("container hello 2.0 (1a2b3c4d) process") and creates the real run from that
// LoadedContainer, which it keeps for its whole life: a run in flight finishes on the version it
// started with, whatever is deployed meanwhile. It forwards the real run's log lines, result and
// cancel; the real run's calls (map, results) are re-requested under this run's own call ids
// (ProcessorRun::requestCall assigns them) and replies are mapped back to the real run's ids.
//
// Threading: like every ProcessorRun, create, start, cancel and destroy it on the runner's
// thread; the binder is called there too.

#include "processor.h"

#include <QHash>
#include <QPointer>
#include <QTimer>

#include <memory>

namespace kairos {

class LoadedContainer;
class ContainerRun;

// Whoever hands out container versions to runs (the ContainerManager). Runner thread.
class ContainerBinder {
public:
    virtual ~ContainerBinder() = default;
    // `run` started: bind it now or later (ContainerRun::bind), or fail it (ContainerRun::fail).
    virtual void runStarted(ContainerRun *run) = 0;
    // `run` no longer waits (it was bound, failed, canceled, timed out or destroyed).
    virtual void runGone(ContainerRun *run) = 0;
};

class ContainerRun final : public ProcessorRun {
    Q_OBJECT
public:
    // `guard` is the binder's QObject: once it is destroyed the binder is not called any more.
    // `waitMs`: how long a started run waits for its container to become ready.
    ContainerRun(const TaskSpec &spec, QString container, QString processor,
                 const ProcessorContext &context, ContainerBinder *binder, QObject *guard,
                 int waitMs, QObject *parent = nullptr);
    ~ContainerRun() override;

    const QString &container() const { return m_container; }
    const QString &processor() const { return m_processorName; }
    // Started and neither bound nor finished.
    bool isWaiting() const { return m_phase == Phase::Waiting; }

    void start() override;
    void cancel(const QString &reason) override;
    void callAnswered(const TaskCallReply &reply) override;

    // The binder's side. bind(): run on `version` (its own run created and started now; fails
    // when the version has no such processor or refuses the run). fail(): the container will
    // not become ready here. Both ignored unless the run is waiting.
    void bind(LoadedContainer &version);
    void fail(const QString &reason);

private:
    enum class Phase { New, Waiting, Bound, Done };

    void onWaitTimeout();
    void leaveBinder();

    QString m_container;
    QString m_processorName;
    ProcessorContext m_context;
    ContainerBinder *m_binder = nullptr;
    QPointer<QObject> m_guard;
    int m_waitMs = 0;
    Phase m_phase = Phase::New;
    QTimer m_waitTimer{this};
    std::unique_ptr<ProcessorRun> m_inner;
    QHash<quint64, quint64> m_innerCallIds; // this run's call id -> the real run's
};

} // namespace kairos
