#include "sdk_processor_run.h"

#include "wire.h"

#include <QLoggingCategory>
#include <QPointer>
#include <QThreadPool>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <unordered_map>
#include <vector>

Q_LOGGING_CATEGORY(lcWorkerSdk, "kairos.worker.sdk", QtWarningMsg)

namespace kairos {

namespace {

// Something the pool thread has to say on the runner's thread, in order.
struct OutEvent {
    enum class Kind { Log, Call, Done };
    Kind kind = Kind::Log;
    LogStream stream = LogStream::Stdout; // Log
    QString text;                         // Log: the line; Done: the result
    quint64 ticket = 0;                   // Call: how the pool thread waits for the reply
    TaskCall call;                        // Call
    InstanceStatus status = InstanceStatus::Succeeded; // Done
};

} // namespace

struct SdkProcessorRun::Shared {
    explicit Shared(const TaskSpec &s)
        : spec(s)
    {}

    const TaskSpec spec;
    // Set once by cancel/timeout or the run's destruction; read without the lock by isCanceled(),
    // written under it so that waiters cannot miss the wake-up.
    std::atomic<bool> canceled{false};

    std::mutex mutex;
    std::condition_variable changed;
    // Everything below is guarded by `mutex`.
    SdkProcessorRun *target = nullptr; // null once the run object is gone
    std::vector<OutEvent> outbox;
    bool drainPosted = false;
    std::unordered_map<quint64, TaskCallReply> replies; // by ticket
    quint64 nextTicket = 1;
    qint64 mapPosition = 0; // items this run has sent to map so far (TaskCall::from)

    // Queues `event` for the runner's thread. False when the run is gone. Lock held.
    bool postLocked(OutEvent &&event)
    {
        if (!target)
            return false;
        outbox.push_back(std::move(event));
        if (!drainPosted) {
            drainPosted = true;
            // Posted to the run itself: if it is destroyed first, Qt drops the event with it.
            QMetaObject::invokeMethod(
                target, [run = target] { run->drainOutbox(); }, Qt::QueuedConnection);
        }
        return true;
    }

    bool post(OutEvent &&event)
    {
        const std::lock_guard lock(mutex);
        return postLocked(std::move(event));
    }

    // Sends a call to the server; the ticket to wait for, or 0 when the run is gone. Lock held.
    quint64 sendLocked(TaskCall &&call)
    {
        const quint64 ticket = nextTicket++;
        OutEvent e;
        e.kind = OutEvent::Kind::Call;
        e.ticket = ticket;
        e.call = std::move(call);
        return postLocked(std::move(e)) ? ticket : 0;
    }

    // Waits for the reply to `ticket`. False (and no reply) once the run is canceled.
    bool awaitLocked(std::unique_lock<std::mutex> &lock, quint64 ticket, TaskCallReply &out)
    {
        changed.wait(lock, [&] { return canceled.load() || replies.count(ticket) > 0; });
        if (canceled.load())
            return false;
        auto node = replies.extract(ticket);
        out = std::move(node.mapped());
        return true;
    }
};

namespace {

using Shared = SdkProcessorRun::Shared;

const QString kCanceled = QStringLiteral("canceled");

// Text and bytes a processor hands over may point into its library's read-only data
// (QStringLiteral, QByteArrayLiteral, fromRawData). They outlive the processor, and a container
// library is unloaded once its runs have ended, so such data is copied into memory of our own.
QString owned(const QString &s)
{
    return s.data_ptr().isMutable() || s.isNull() ? s : QString(s.constData(), s.size());
}

bool ownsData(const QByteArray &b)
{
    // QByteArray has no const data_ptr() in Qt 6.4; isMutable() only reads.
    return const_cast<QByteArray &>(b).data_ptr().isMutable();
}

QByteArray owned(const QByteArray &b)
{
    return ownsData(b) || b.isNull() ? b : QByteArray(b.constData(), b.size());
}

sdk::TaskRole toSdk(TaskRole role)
{
    switch (role) {
    case TaskRole::Standalone:
        return sdk::TaskRole::Standalone;
    case TaskRole::Root:
        return sdk::TaskRole::Root;
    case TaskRole::Subtask:
        return sdk::TaskRole::Subtask;
    case TaskRole::Reduce:
        return sdk::TaskRole::Reduce;
    case TaskRole::PreProcess:
        return sdk::TaskRole::PreProcess;
    case TaskRole::Broadcast:
        return sdk::TaskRole::Broadcast;
    case TaskRole::PostProcess:
        return sdk::TaskRole::PostProcess;
    }
    return sdk::TaskRole::Standalone;
}

sdk::SubtaskResult toSdk(const TaskResultEntry &e)
{
    sdk::SubtaskResult r;
    r.taskId = e.taskId;
    r.name = e.name;
    r.success = e.status == InstanceStatus::Succeeded;
    r.status = toString(e.status);
    r.result = e.result;
    r.worker = e.worker;
    r.address = e.address;
    r.runs = e.runs;
    return r;
}

class LoggerImpl final : public sdk::Logger {
public:
    explicit LoggerImpl(Shared &shared)
        : m_shared(shared)
    {}
    void info(const QString &text) override { line(LogStream::Stdout, text); }
    void warn(const QString &text) override { line(LogStream::Stderr, text); }
    void error(const QString &text) override { line(LogStream::Stderr, text); }

private:
    void line(LogStream stream, const QString &text)
    {
        OutEvent e;
        e.kind = OutEvent::Kind::Log;
        e.stream = stream;
        e.text = owned(text);
        m_shared.post(std::move(e));
    }
    Shared &m_shared;
};

class ContextImpl final : public sdk::TaskContext {
public:
    explicit ContextImpl(Shared &shared)
        : m_shared(shared)
        , m_spec(shared.spec)
        , m_logger(shared)
    {}

    qint64 instanceId() const override { return m_spec.instanceId; }
    int instanceAttempt() const override { return m_spec.attempt; }
    qint64 taskId() const override { return m_spec.taskId; }
    QString taskName() const override { return m_spec.taskName; }
    int taskAttempt() const override { return m_spec.taskAttempt; }
    sdk::TaskRole role() const override { return toSdk(m_spec.role); }
    QString jobName() const override { return m_spec.jobName; }
    QString jobParams() const override { return m_spec.jobParams; }
    QString instanceParams() const override { return m_spec.instanceParams; }
    QJsonObject config() const override { return m_spec.config; }
    QByteArray payload() const override { return m_spec.payload; }
    sdk::Logger &log() override { return m_logger; }
    bool isCanceled() const override { return m_shared.canceled.load(); }

    bool map(const QList<QByteArray> &items, const QString &name, QString *error) override
    {
        const auto fail = [error](const QString &why) {
            if (error)
                *error = why;
            return false;
        };
        if (m_spec.mode != ExecutionMode::Map && m_spec.mode != ExecutionMode::MapReduce)
            return fail(QStringLiteral("map() needs a MAP or MAP_REDUCE job; this job is %1")
                            .arg(toString(m_spec.mode)));
        if (m_spec.role != TaskRole::Root && m_spec.role != TaskRole::Subtask)
            return fail(QStringLiteral("map() is for the root task and its subtasks; this task "
                                       "is %1")
                            .arg(toString(m_spec.role)));
        if (name.trimmed().isEmpty())
            return fail(QStringLiteral("map(): the name of the items must not be empty"));

        std::unique_lock lock(m_shared.mutex);
        if (m_shared.canceled.load())
            return fail(kCanceled);
        // Calls go out in order, at most kMapWindow unanswered, so a huge list is never all in
        // flight; every sent one is waited for, even after an error, so no reply is left behind.
        std::deque<quint64> inFlight;
        qsizetype next = 0;
        QString firstError;
        while (next < items.size() || !inFlight.empty()) {
            if (next < items.size() && firstError.isEmpty()
                && inFlight.size() < static_cast<size_t>(SdkProcessorRun::kMapWindow)) {
                qsizetype end = next;
                qsizetype bytes = 0;
                while (end < items.size() && end - next < wire::kMaxMapItems
                       && (end == next
                           || bytes + items.at(end).size() <= SdkProcessorRun::kMaxMapCallBytes)) {
                    bytes += items.at(end).size();
                    ++end;
                }
                TaskCall call;
                call.op = TaskCall::Op::Map;
                call.name = owned(name);
                call.from = m_shared.mapPosition;
                call.items = items.mid(next, end - next);
                for (qsizetype i = 0; i < call.items.size(); ++i) {
                    if (!ownsData(call.items.at(i)))
                        call.items[i] = owned(call.items.at(i));
                }
                const quint64 ticket = m_shared.sendLocked(std::move(call));
                if (ticket == 0) {
                    firstError = kCanceled;
                    continue; // drain what is in flight (nothing will answer: canceled wins)
                }
                m_shared.mapPosition += end - next;
                inFlight.push_back(ticket);
                next = end;
                continue;
            }
            if (inFlight.empty())
                break;
            TaskCallReply reply;
            if (!m_shared.awaitLocked(lock, inFlight.front(), reply))
                return fail(kCanceled);
            inFlight.pop_front();
            if (!reply.error.isEmpty() && firstError.isEmpty())
                firstError = reply.error;
        }
        if (!firstError.isEmpty())
            return fail(firstError);
        return true;
    }

private:
    Shared &m_shared;
    const TaskSpec &m_spec;
    LoggerImpl m_logger;
};

// Reads a reduce's input a page at a time; while the processor reads one page, the next one is
// already on its way.
class ReaderImpl final : public sdk::ResultReader {
public:
    explicit ReaderImpl(Shared &shared)
        : m_shared(shared)
    {}

    bool next(sdk::SubtaskResult &out) override
    {
        std::unique_lock lock(m_shared.mutex);
        for (;;) {
            if (m_shared.canceled.load()) {
                m_error = kCanceled;
                return false;
            }
            while (!m_buffer.empty()) {
                TaskResultEntry e = std::move(m_buffer.front());
                m_buffer.pop_front();
                if (e.taskId <= m_lastSeen)
                    continue; // never hand out a task twice, whatever the pages overlap
                m_lastSeen = e.taskId;
                out = toSdk(e);
                return true;
            }
            if (!m_error.isEmpty() || (m_serverEnd && m_pending == 0))
                return false;
            if (m_pending == 0 && !request(m_lastSeen))
                return false;
            TaskCallReply reply;
            if (!m_shared.awaitLocked(lock, m_pending, reply)) {
                m_error = kCanceled;
                return false;
            }
            m_pending = 0;
            if (!reply.error.isEmpty()) {
                m_error = reply.error;
                return false;
            }
            if (reply.results.isEmpty() && !reply.end) {
                m_error = QStringLiteral("the server sent an empty page of results that is not the "
                                         "last one (after task %1)")
                              .arg(m_lastSeen);
                return false;
            }
            m_serverEnd = reply.end;
            const qint64 pageEnd =
                reply.results.isEmpty() ? m_lastSeen : reply.results.last().taskId;
            for (TaskResultEntry &e : reply.results)
                m_buffer.push_back(std::move(e));
            if (!m_serverEnd)
                request(pageEnd); // prefetch
        }
    }

    QString error() const override { return m_error; }

private:
    bool request(qint64 afterTaskId)
    {
        TaskCall call;
        call.op = TaskCall::Op::Results;
        call.afterTaskId = afterTaskId;
        call.limit = SdkProcessorRun::kResultsPageSize;
        m_pending = m_shared.sendLocked(std::move(call));
        if (m_pending == 0) {
            m_error = kCanceled;
            return false;
        }
        return true;
    }

    Shared &m_shared;
    std::deque<TaskResultEntry> m_buffer;
    quint64 m_pending = 0;
    bool m_serverEnd = false;
    qint64 m_lastSeen = 0;
    QString m_error;
};

// The hooks a processor without them gets: BroadcastProcessor's defaults.
class DefaultHooks final : public sdk::BroadcastProcessor {
public:
    sdk::ProcessResult process(sdk::TaskContext &) override { return sdk::ProcessResult::ok(); }
};

sdk::ProcessResult callByRole(sdk::Processor &processor, ContextImpl &context, Shared &shared,
                              const QString &name)
{
    const TaskSpec &spec = shared.spec;
    switch (spec.role) {
    case TaskRole::Standalone:
    case TaskRole::Root:
    case TaskRole::Subtask:
    case TaskRole::Broadcast:
        return processor.process(context);
    case TaskRole::PreProcess:
        if (auto *b = dynamic_cast<sdk::BroadcastProcessor *>(&processor))
            return b->preProcess(context);
        return DefaultHooks().preProcess(context);
    case TaskRole::PostProcess: {
        QList<sdk::SubtaskResult> results;
        results.reserve(spec.results.size());
        for (const TaskResultEntry &e : spec.results)
            results << toSdk(e);
        if (auto *b = dynamic_cast<sdk::BroadcastProcessor *>(&processor))
            return b->postProcess(context, results);
        return DefaultHooks().postProcess(context, results);
    }
    case TaskRole::Reduce:
        if (auto *r = dynamic_cast<sdk::MapReduceProcessor *>(&processor)) {
            ReaderImpl reader(shared);
            return r->reduce(context, reader);
        }
        return sdk::ProcessResult::failed(
            QStringLiteral("%1 has no reduce: a MAP_REDUCE job needs an SDK MapReduceProcessor")
                .arg(name));
    }
    return sdk::ProcessResult::failed(QStringLiteral("unknown task role"));
}

// The pool thread's part of a run.
void runOnPool(const std::shared_ptr<Shared> &shared, const SdkProcessorRun::Factory &factory,
               const QString &name)
{
    if (shared->canceled.load())
        return; // canceled while waiting for a pool thread
    sdk::ProcessResult result;
    try {
        std::unique_ptr<sdk::Processor> processor = factory ? factory() : nullptr;
        if (!processor) {
            result = sdk::ProcessResult::failed(
                QStringLiteral("%1: the processor factory returned no processor").arg(name));
        } else {
            ContextImpl context(*shared);
            result = callByRole(*processor, context, *shared, name);
        }
    } catch (const std::exception &e) {
        result = sdk::ProcessResult::failed(
            QStringLiteral("processor threw: %1").arg(QString::fromLocal8Bit(e.what())));
    } catch (...) {
        result = sdk::ProcessResult::failed(
            QStringLiteral("processor threw an exception that is not a std::exception"));
    }
    OutEvent done;
    done.kind = OutEvent::Kind::Done;
    done.status = result.success ? InstanceStatus::Succeeded : InstanceStatus::Failed;
    done.text = owned(result.message.left(SdkProcessorRun::kMaxResultChars));
    if (!shared->post(std::move(done)))
        qCDebug(lcWorkerSdk) << "result of a run that is gone dropped: instance"
                             << shared->spec.instanceId << "task" << shared->spec.taskId;
}

} // namespace

SdkProcessorRun::SdkProcessorRun(const TaskSpec &spec, Factory factory, QString name,
                                 QThreadPool *pool, QObject *parent)
    : ProcessorRun(spec, parent)
    , m_shared(std::make_shared<Shared>(spec))
    , m_factory(std::move(factory))
    , m_name(std::move(name))
    , m_pool(pool)
{
    m_shared->target = this; // no other thread knows the state yet
}

SdkProcessorRun::~SdkProcessorRun()
{
    {
        const std::lock_guard lock(m_shared->mutex);
        m_shared->target = nullptr;
        m_shared->canceled.store(true);
        m_shared->outbox.clear();
    }
    m_shared->changed.notify_all();
}

void SdkProcessorRun::start()
{
    QThreadPool *pool = m_pool ? m_pool : QThreadPool::globalInstance();
    pool->start([shared = m_shared, factory = m_factory, name = m_name] {
        runOnPool(shared, factory, name);
    });
}

void SdkProcessorRun::cancel(const QString &reason)
{
    if (!beginStop())
        return;
    {
        const std::lock_guard lock(m_shared->mutex);
        m_shared->canceled.store(true);
    }
    m_shared->changed.notify_all();
    // No need to wait for the processor: its later output is dropped, and it sees isCanceled().
    finish(InstanceStatus::Canceled, reason);
}

void SdkProcessorRun::callAnswered(const TaskCallReply &reply)
{
    const quint64 ticket = m_tickets.take(reply.callId);
    if (ticket == 0)
        return; // not ours, or answered twice
    {
        const std::lock_guard lock(m_shared->mutex);
        m_shared->replies.insert_or_assign(ticket, reply);
    }
    m_shared->changed.notify_all();
}

void SdkProcessorRun::drainOutbox()
{
    std::vector<OutEvent> events;
    {
        const std::lock_guard lock(m_shared->mutex);
        events.swap(m_shared->outbox);
        m_shared->drainPosted = false;
    }
    const QPointer<SdkProcessorRun> self(this);
    for (OutEvent &e : events) {
        if (!self)
            return; // a receiver of finished() deleted the run
        switch (e.kind) {
        case OutEvent::Kind::Log:
            log(e.stream, e.text);
            break;
        case OutEvent::Kind::Call: {
            const quint64 callId = requestCall(std::move(e.call));
            if (callId != 0) {
                m_tickets.insert(callId, e.ticket);
                break;
            }
            // Finished meanwhile (canceled): the waiter wakes on `canceled`, but answer anyway.
            {
                const std::lock_guard lock(m_shared->mutex);
                m_shared->replies.insert_or_assign(e.ticket,
                                                   TaskCallReply{0, kCanceled, {}, false});
            }
            m_shared->changed.notify_all();
            break;
        }
        case OutEvent::Kind::Done:
            finish(e.status, e.text);
            break;
        }
    }
}

} // namespace kairos
