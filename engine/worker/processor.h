#pragma once
// ProcessorRun: one run of a processor (Shell, Http, Echo, Sleep, an SDK processor) for one
// task. It is started
// once, may be canceled, streams log lines and ends with exactly one `finished` signal. The
// "exactly once" is the base class's job, not each processor's: `finished` carries a
// QPrivateSignal tag, so only ProcessorRun itself can emit it, through finish(), which ignores
// every call after the first. A cancel that races with normal completion therefore yields one
// result, whichever came first; log lines after the result are dropped. (KJob's emitResult is
// the model.)
//
// Threading: a run is not thread-safe. Create, start, cancel and destroy it on one thread, and a
// long-lived one (TaskRunner's): Shell runs start processes whose parent-death signal is tied to
// the thread that forked them, so never a thread-pool thread.

#include "task.h"

#include <core/instance.h>
#include <core/result.h>
#include <kairos/sdk.h>

#include <QObject>

#include <functional>
#include <memory>

class QNetworkAccessManager;
class QThreadPool;

namespace kairos {

class ProcessorRun : public QObject {
    Q_OBJECT
public:
    ~ProcessorRun() override;

    // Starts the run. May finish synchronously (Echo does, and invalid runs do): connect to
    // `finished` before calling start(). Call once.
    virtual void start() = 0;
    // Asks the run to stop; it finishes as Canceled with `reason` as the result once it has
    // actually stopped (a Shell run: once its process group is gone). No effect once finished.
    virtual void cancel(const QString &reason) = 0;

    // Ends the run because it exceeded its time limit: like cancel(), but the run finishes as
    // TimedOut with "timed out after <timeoutMs> ms". Called by TaskRunner.
    void timeOut(int timeoutMs);

    bool isFinished() const { return m_finished; }
    const TaskSpec &spec() const { return m_spec; }

    // The server's answer to a call this run made (requestCall). TaskRunner routes it here by
    // call id. Default: ignored. Runner thread.
    virtual void callAnswered(const TaskCallReply &reply);

signals:
    // A call to the server (TaskCall: map items, read results). TaskRunner forwards it in its
    // `calls` batch and hands the reply to callAnswered(). Not emitted once finished.
    void callRequested(const kairos::TaskCall &call, QPrivateSignal);
    void logLine(kairos::LogStream stream, const QString &text, QPrivateSignal);
    // Emitted exactly once. status is Succeeded, Failed, TimedOut or Canceled.
    void finished(kairos::InstanceStatus status, const QString &result, QPrivateSignal);

protected:
    explicit ProcessorRun(const TaskSpec &spec, QObject *parent = nullptr);

    // Emits a log line unless the run has already finished.
    void log(LogStream stream, const QString &text);
    // Emits `finished` the first time it is called and returns true; later calls return false
    // and do nothing. A Canceled result after timeOut() is reported as TimedOut, so subclasses
    // simply finish as Canceled once they have stopped.
    bool finish(InstanceStatus status, const QString &result);

    // Subclasses' cancel() calls this first: it records the request and returns false when there
    // is nothing to do (already finished, or already stopping).
    bool beginStop();
    bool isStopping() const { return m_stopping; }

    // Sends `call` (its key is set to this run's, its callId to a process-wide unique number,
    // which is returned) unless the run has finished (then returns 0 and sends nothing).
    quint64 requestCall(TaskCall call);

private:
    TaskSpec m_spec;
    bool m_finished = false;
    bool m_stopping = false;
    int m_timedOutAfterMs = -1;
};

// Kept for the API brief, where the one-run object is also called "Processor".
using Processor = ProcessorRun;

// What runs share: one QNetworkAccessManager per thread (creating one per request is costly);
// the pool SDK processors run on (they may block, so never the runner's thread). Null is
// allowed: an Http run then creates its own manager, an SDK run uses QThreadPool's global one.
// Finds the SDK processor a CONTAINER ref names when it is not a built-in ("builtin#NAME"):
// container plugins (issue 5) and tests plug in here. Called on the runner's thread; the
// entry's factory is then called on a pool thread, so it must be thread-safe.
using SdkProcessorResolver = std::function<Result<sdk::ProcessorEntry>(const QString &ref)>;

struct ProcessorContext;

// Where runs of container refs ("name#processor", docs/containers.md) come from: the worker's
// ContainerManager. Called on the runner's thread.
class ContainerRuns {
public:
    virtual ~ContainerRuns() = default;
    virtual Result<std::unique_ptr<ProcessorRun>>
    createContainerRun(const TaskSpec &spec, const ProcessorContext &context) = 0;
};

struct ProcessorContext {
    QNetworkAccessManager *network = nullptr;
    QThreadPool *pool = nullptr;
    // Non-built-in CONTAINER refs, first `containers`, then `resolver` (tests); neither:
    // "this worker has no container support (ref R)".
    ContainerRuns *containers = nullptr;
    const SdkProcessorResolver *resolver = nullptr;
};

// Checks a processor config the way a run would, with errors naming the field
// ("processor.script: missing"). Thread-safe (pure function).
Status validateProcessorConfig(ProcessorKind kind, const QJsonObject &config);

// Per-run settings that come from the worker rather than from the job.
struct ProcessorRunOptions {
    // Shell runs: the lease file their kairos-exec watches (`--lease-file`); once the expiry
    // written there has passed, the launcher stops the run by itself. Empty: no lease.
    QString leaseFile;
};

// Which broadcast hooks a processor has, so the server knows whether a BROADCAST run has a
// PreProcess / PostProcess task: Shell when its config has a non-empty "preScript" /
// "postScript"; a CONTAINER "builtin#NAME" when that built-in is a BroadcastProcessor (both, as
// BroadcastProcessor has default hooks); any other CONTAINER ref both (it may be one; if it is
// not, its hook tasks run the SDK's default hooks); Echo, Sleep, Http never. A hook task sent for
// a processor without that hook runs the SDK default (PreProcess: succeeds; PostProcess: "N of M
// workers succeeded"). Thread-safe (pure function).
struct BroadcastHooks {
    bool preProcess = false;
    bool postProcess = false;
};
BroadcastHooks broadcastHooksOf(ProcessorKind kind, const QJsonObject &config);

// Checks that a processor can serve a job of `mode`: MAP and MAP_REDUCE need a CONTAINER (SDK)
// processor of that shape (a MapProcessor / MapReduceProcessor; for "builtin#NAME" refs this is
// checked against the built-in list); Shell "preScript"/"postScript" only make sense for
// BROADCAST. Errors name the field ("processor: a MAP_REDUCE job needs a CONTAINER processor
// that implements reduce; builtin#echo does not"). Thread-safe.
Status validateProcessorForMode(ExecutionMode mode, ProcessorKind kind, const QJsonObject &config);

// Creates the run for `spec` (not started), or the reason it cannot run: an invalid config, or
// a processor this worker does not have (a CONTAINER ref other than "builtin#NAME" that the
// context's containers and resolver do not know: "this worker has no container support (ref R)").
// CONTAINER processors run as SdkProcessorRun on the context's pool. A PreProcess/PostProcess
// task for a processor without that hook runs the default hook (see broadcastHooksOf). Call on
// the thread that will run it.
Result<std::unique_ptr<ProcessorRun>> createProcessorRun(const TaskSpec &spec,
                                                         const ProcessorContext &context,
                                                         const ProcessorRunOptions &options = {});

} // namespace kairos
