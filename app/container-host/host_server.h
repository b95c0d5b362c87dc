#pragma once
// HostServer: the inside of kairos-container-host (docs/containers.md section 6) — the runs of
// one loaded container library, driven by the worker over a HostChannel. It speaks as a small
// worker: `dispatch` starts an SdkProcessorRun per task on the host's pool, `cancel` cancels
// runs, `callReply` answers their calls; their log lines, calls and terminal reports go back in
// one `logs`, `call` and `status` batch per turn of the event loop (in that order, so a run's
// lines precede its result), and `released` tells the worker that a canceled run's processor
// has actually returned (its code no longer runs), which is how the worker tells a slow cancel
// from a hung processor.
//
// Threading: the host's main thread (its event loop); processors run on the pool.

#include <worker/host_channel.h>
#include <worker/inprocess_container.h>
#include <worker/task.h>
#include <worker/wire.h>

#include <QHash>
#include <QObject>

#include <memory>

class QThreadPool;

namespace kairos {

class HostServer : public QObject {
    Q_OBJECT
public:
    // `channel` and `library` (loaded) must outlive the server; so must `pool`.
    HostServer(HostChannel *channel, const ContainerLibrary *library, QThreadPool *pool,
               QObject *parent = nullptr);
    ~HostServer() override;

    // Runs whose processor may still execute.
    int activeCount() const { return int(m_runs.size()); }

signals:
    // The worker said `quit`.
    void quitRequested();

private:
    struct Run {
        ProcessorRun *run = nullptr; // null once finished (deleted later)
        bool leaseHeld = true;       // the processor may still run
        bool cancelRequested = false;
    };

    struct Guard; // lets pool threads reach the server while it exists

    void onMessage(const protocol::Message &m);
    void dispatch(const TaskSpec &spec);
    void cancel(const TaskKey &key, const QString &reason);
    void onLeaseReleased(const TaskKey &key);
    void report(const TaskSpec &spec, InstanceStatus status, const QString &result);
    void forget(const TaskKey &key);
    void scheduleFlush();
    void flush();

    HostChannel *m_channel;
    const ContainerLibrary *m_library;
    QThreadPool *m_pool;
    QHash<TaskKey, Run> m_runs;
    QHash<quint64, TaskKey> m_calls; // call id -> the run that made it
    // This turn's output.
    QList<LogLine> m_logs;
    QList<TaskCall> m_outCalls;
    QList<TaskReport> m_reports;
    QList<TaskKey> m_released;
    bool m_flushScheduled = false;
    std::shared_ptr<Guard> m_guard;
};

} // namespace kairos
