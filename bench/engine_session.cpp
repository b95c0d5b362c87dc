#include "engine_session.h"

#include <core/clock.h>
#include <server/worker_link.h>
#include <store/store_config.h>
#include <store/store_thread.h>

#include <QTimer>

namespace kairos::bench {

Result<std::unique_ptr<EngineSession>> EngineSession::start(const QString &storeUrl,
                                                            bool localWorker)
{
    auto store = StoreConfig::parse(storeUrl);
    if (!store)
        return makeError(store.error());
    server::EngineConfig config;
    config.store = *store;
    config.serverId = QStringLiteral("kairos-bench");
    config.localWorker = localWorker;
    std::unique_ptr<EngineSession> s(new EngineSession);
    s->m_engine = std::make_unique<server::Engine>(config);
    if (Status st = s->m_engine->start(); !st.ok())
        return makeError(QStringLiteral("engine start: %1").arg(st.error()));

    EngineSession *self = s.get();
    connect(s->m_engine.get(), &server::Engine::instancesChanged, self,
            [self](const QList<Instance> &changed) {
                const qint64 seen = nowUs();
                if (self->m_onCommit)
                    self->m_onCommit(changed, seen);
                self->poke();
            });
    // Connected after the engine's own connection (made in Engine::start), so the engine has
    // handled a batch when we see it.
    for (server::WorkerLink *link : s->m_engine->workerLinks()) {
        connect(link, &server::WorkerLink::reports, self, [self](const QList<TaskReport> &reports) {
            const qint64 seen = nowUs();
            if (self->m_onReports)
                self->m_onReports(reports, seen);
            self->poke();
        });
    }
    return s;
}

EngineSession::~EngineSession()
{
    if (m_engine)
        m_engine->stop();
}

void EngineSession::poke()
{
    if (m_waitLoop && m_waitPred && m_waitPred())
        m_waitLoop->quit();
}

bool EngineSession::waitFor(const std::function<bool()> &pred, int timeoutMs)
{
    if (pred())
        return true;
    Q_ASSERT(!m_waitLoop);
    QEventLoop loop;
    QTimer tick;
    tick.setInterval(100);
    connect(&tick, &QTimer::timeout, &loop, [this] { poke(); });
    QTimer deadline;
    deadline.setSingleShot(true);
    connect(&deadline, &QTimer::timeout, &loop, &QEventLoop::quit);
    m_waitLoop = &loop;
    m_waitPred = pred;
    tick.start();
    deadline.start(timeoutMs);
    loop.exec();
    m_waitLoop = nullptr;
    m_waitPred = nullptr;
    return pred();
}

void EngineSession::runUntilUs(qint64 epochUs)
{
    const qint64 waitMs = (epochUs - nowUs()) / 1000;
    if (waitMs <= 0)
        return;
    QEventLoop loop;
    QTimer timer;
    timer.setSingleShot(true);
    timer.setTimerType(Qt::PreciseTimer);
    connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
    timer.start(int(waitMs));
    loop.exec();
}

Result<Job> EngineSession::createJob(const Job &job, int timeoutMs)
{
    auto created = createJobs({job}, timeoutMs);
    if (!created)
        return makeError(created.error());
    return created->first();
}

Result<QList<Job>> EngineSession::createJobs(const QList<Job> &jobs, int timeoutMs)
{
    struct State {
        QList<Job> stored;
        int replies = 0;
        QString error;
    };
    auto state = std::make_shared<State>();
    state->stored.resize(jobs.size());
    for (qsizetype i = 0; i < jobs.size(); ++i) {
        m_engine->createJob(jobs.at(i), [this, state, i](Result<Job> r) {
            ++state->replies;
            if (r.ok())
                state->stored[i] = *r;
            else if (state->error.isEmpty())
                state->error = QStringLiteral("job %1: %2").arg(i).arg(r.error());
            poke();
        });
    }
    if (!waitFor([&] { return state->replies == jobs.size(); }, timeoutMs))
        return makeError(QStringLiteral("creating %1 jobs: only %2 replies after %3 ms")
                             .arg(jobs.size())
                             .arg(state->replies)
                             .arg(timeoutMs));
    if (!state->error.isEmpty())
        return makeError(state->error);
    return state->stored;
}

Result<QList<qint64>> EngineSession::runJob(qint64 jobId, const QStringList &params, int timeoutMs)
{
    auto result = std::make_shared<std::optional<Result<QList<qint64>>>>();
    m_engine->runJob(jobId, params, [this, result](Result<QList<qint64>> r) {
        result->emplace(std::move(r));
        poke();
    });
    if (!waitFor([&] { return result->has_value(); }, timeoutMs))
        return makeError(QStringLiteral("job.run of %1 instances: no reply after %2 ms")
                             .arg(params.size())
                             .arg(timeoutMs));
    return std::move(**result);
}

bool EngineSession::flush(int timeoutMs)
{
    auto done = std::make_shared<bool>(false);
    m_engine->whenFlushed([this, done] {
        *done = true;
        poke();
    });
    return waitFor([done] { return *done; }, timeoutMs);
}

quint64 EngineSession::committedWrites() const
{
    return m_engine->store() ? m_engine->store()->committedWrites() : 0;
}

quint64 EngineSession::committedGroups() const
{
    return m_engine->store() ? m_engine->store()->committedGroups() : 0;
}

} // namespace kairos::bench
