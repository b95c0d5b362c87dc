#pragma once
// EngineSession: one Engine with its local worker, running on the calling thread (the bench's
// main thread is the engine thread: calls reach the engine directly, as the in-process client's
// calls do once they are on the engine thread). It offers blocking helpers for the workloads —
// create jobs, run a job, wait for a condition with a deadline — that run the event loop while
// they wait, and hands every commit (Engine::instancesChanged) and every batch of worker reports
// (the local WorkerLink's `reports`) to observers, stamped with the microsecond wall clock at
// which the engine thread saw them.
//
// Not thread-safe: create and use it on one thread, which must not be running another wait.

#include <core/instance.h>
#include <core/job.h>
#include <server/engine.h>
#include <worker/task.h>

#include <QEventLoop>
#include <QObject>

#include <functional>
#include <memory>

namespace kairos::bench {

class EngineSession : public QObject {
    Q_OBJECT
public:
    using CommitObserver = std::function<void(const QList<Instance> &changed, qint64 seenUs)>;
    using ReportObserver = std::function<void(const QList<TaskReport> &reports, qint64 seenUs)>;

    // Starts an engine on `storeUrl` (blocks until the store is open and the jobs are loaded).
    static Result<std::unique_ptr<EngineSession>> start(const QString &storeUrl,
                                                        bool localWorker = true);
    ~EngineSession() override; // stops the engine: waits for pending writes

    server::Engine &engine() { return *m_engine; }

    void setCommitObserver(CommitObserver fn) { m_onCommit = std::move(fn); }
    void setReportObserver(ReportObserver fn) { m_onReports = std::move(fn); }

    // Blocking helpers; the deadline covers the whole call.
    Result<Job> createJob(const Job &job, int timeoutMs = 30000);
    // Issues every create at once (the engine group-commits them) and waits for all replies.
    Result<QList<Job>> createJobs(const QList<Job> &jobs, int timeoutMs);
    // Engine::runJob with one instance per entry of `params`; returns after the durable commit.
    Result<QList<qint64>> runJob(qint64 jobId, const QStringList &params, int timeoutMs = 60000);
    // Waits until everything changed so far is committed.
    bool flush(int timeoutMs = 60000);

    // Runs the event loop until pred() holds or timeoutMs passes; returns pred(). pred() is
    // checked after every commit, report batch and reply the session sees, and every 100 ms.
    bool waitFor(const std::function<bool()> &pred, int timeoutMs);
    // Runs the event loop until the wall clock reaches `epochUs`.
    void runUntilUs(qint64 epochUs);

    // Store counters (group commits) for the report.
    quint64 committedWrites() const;
    quint64 committedGroups() const;

private:
    EngineSession() = default;
    void poke();

    std::unique_ptr<server::Engine> m_engine;
    CommitObserver m_onCommit;
    ReportObserver m_onReports;
    QEventLoop *m_waitLoop = nullptr;
    std::function<bool()> m_waitPred;
};

} // namespace kairos::bench
