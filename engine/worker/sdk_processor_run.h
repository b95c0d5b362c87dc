#pragma once
// SdkProcessorRun: one run of an SDK processor (kairos/sdk.h) — the built-ins now, container
// plugins later. The processor is made by its entry's factory and called on a pool thread (the
// TaskRunner's pool), never on the runner's thread, because processors may block: in map(), in a
// ResultReader's next(), or in their own work. The method is picked by the task's role:
// Standalone/Root/Subtask/Broadcast -> process, PreProcess -> preProcess, PostProcess ->
// postProcess (the spec's inline results), Reduce -> reduce (results paged in with `results`
// calls, the next page prefetched while the current one is read). A PreProcess/PostProcess task
// for a processor that is not a BroadcastProcessor runs the SDK's default hook; a Reduce task for
// one that is not a MapReduceProcessor fails, saying so.
//
// The pool thread talks to the run only through a shared, mutex-guarded state (held by
// shared_ptr, so it outlives whichever side ends first): log lines, calls and the result are
// queued there and delivered on the runner's thread in order (a run's lines and map calls always
// precede its result); replies are handed back there and wake the blocked pool thread. A cancel
// or timeout finishes the run at once (Canceled / TimedOut): isCanceled() turns true, blocked
// map() and next() return false with "canceled", and whatever the pool thread returns later is
// dropped. A processor that throws fails the run ("processor threw: what()"). Results longer than
// kMaxResultChars are cut.
//
// Threading: like every ProcessorRun, create, start, cancel, answer and destroy it on the
// runner's thread. Destroying it while the processor still runs is safe: the processor sees
// isCanceled() and its late output goes nowhere.

#include "processor.h"

#include <kairos/sdk.h>

#include <QHash>

#include <functional>
#include <memory>

class QThreadPool;

namespace kairos {

class SdkProcessorRun final : public ProcessorRun {
    Q_OBJECT
public:
    using Factory = std::function<std::unique_ptr<sdk::Processor>()>;

    // Results a reduce asks for per `results` call.
    static constexpr int kResultsPageSize = 4096;
    // A map() is sent as calls of at most wire::kMaxMapItems items and about this many bytes of
    // items each (so a call always fits in a frame), at most kMapWindow of them unanswered.
    static constexpr qsizetype kMaxMapCallBytes = 4 * 1024 * 1024;
    static constexpr int kMapWindow = 4;
    static constexpr qsizetype kMaxResultChars = 65536;

    // `name` is how errors refer to the processor ("builtin#range-sum"). `pool` null: the global
    // QThreadPool.
    SdkProcessorRun(const TaskSpec &spec, Factory factory, QString name, QThreadPool *pool,
                    QObject *parent = nullptr);
    ~SdkProcessorRun() override;

    void start() override;
    void cancel(const QString &reason) override;
    void callAnswered(const TaskCallReply &reply) override;

    struct Shared; // the state the pool thread and the run share (sdk_processor_run.cpp)

private:
    void drainOutbox();

    std::shared_ptr<Shared> m_shared;
    Factory m_factory;
    QString m_name;
    QThreadPool *m_pool = nullptr;
    QHash<quint64, quint64> m_tickets; // callId -> the pool thread's ticket for it
};

} // namespace kairos
