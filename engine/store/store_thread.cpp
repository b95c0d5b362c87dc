#include "store_thread.h"

#include "completion_ticket.h"
#include "store_log.h"

#include <QMutex>
#include <QMutexLocker>

#include <deque>

namespace kairos {
namespace detail {

// Lives on the store thread and owns the Database there. Takes queued work in batches and
// group-commits runs of consecutive writes.
class StoreWorker : public QObject {
public:
    struct Task {
        std::function<void(Database &)> run;          // post()
        std::function<Status(Database &)> write;      // write()
        std::function<void(const Status &)> complete; // after the group's commit
    };

    explicit StoreWorker(StoreThread *owner)
        : m_owner(owner)
    {}

    Status open(const StoreConfig &config)
    {
        auto db = Database::open(config);
        if (!db)
            return makeError(db.error());
        if (auto s = db.value()->migrate(); !s)
            return s;
        m_db = std::move(db.value());
        return {};
    }

    void enqueue(Task task)
    {
        bool schedule = false;
        {
            QMutexLocker lock(&m_mutex);
            m_queue.push_back(std::move(task));
            schedule = !m_drainScheduled;
            m_drainScheduled = true;
        }
        // One queued call per burst, not one per task: the drain takes everything queued.
        if (schedule)
            QMetaObject::invokeMethod(
                this, [this] { drain(); }, Qt::QueuedConnection);
    }

    void drain()
    {
        for (;;) {
            std::deque<Task> batch;
            {
                QMutexLocker lock(&m_mutex);
                if (m_queue.empty()) {
                    m_drainScheduled = false;
                    return;
                }
                batch.swap(m_queue);
            }
            process(batch);
        }
    }

    void shutdown()
    {
        drain();
        m_db.reset(); // on this thread, which opened it
        QThread::currentThread()->quit();
    }

    Database &database() { return *m_db; }

private:
    static constexpr int kMaxGroup = 10000;

    void process(std::deque<Task> &batch)
    {
        std::vector<Task *> group;
        for (Task &t : batch) {
            if (t.write) {
                group.push_back(&t);
                if (int(group.size()) >= kMaxGroup) {
                    commitGroup(group);
                    group.clear();
                }
                continue;
            }
            if (!group.empty()) {
                commitGroup(group);
                group.clear();
            }
            if (m_db && t.run)
                t.run(*m_db);
        }
        if (!group.empty())
            commitGroup(group);
    }

    void commitGroup(const std::vector<Task *> &group)
    {
        std::vector<Status> results(group.size());
        if (!m_db) {
            for (Task *t : group)
                t->complete(makeError(QStringLiteral("store: the database is closed")));
            return;
        }
        Database &db = *m_db;
        Status began = db.begin();
        if (!began) {
            for (Task *t : group)
                t->complete(began);
            return;
        }
        const QString sp = QStringLiteral("kairos_write");
        // The write whose savepoint is still open (released lazily, see below), or -1.
        int open = -1;
        const auto undo = [&](int k, const Status &why) {
            if (db.rollbackToSavepoint(sp))
                (void)db.releaseSavepoint(sp);
            if (results[k])
                results[k] = why;
        };
        // Releasing the savepoint fails if the write swallowed a database error (PostgreSQL
        // then aborted the transaction): the write is undone like a failed one.
        const auto release = [&]() {
            if (open < 0)
                return;
            if (auto s = db.releaseSavepoint(sp); !s)
                undo(open, s);
            open = -1;
        };
        for (size_t k = 0; k < group.size(); ++k) {
            if (!db.inTransaction()) {
                // A previous write ended the transaction itself; keep the rest grouped.
                open = -1;
                if (auto s = db.begin(); !s) {
                    results[k] = s;
                    continue;
                }
            }
            if (open >= 0 && db.dialect() == Dialect::Postgres) {
                // One round trip for "previous write done, next write starts".
                const Status s =
                    db.exec(QStringLiteral("RELEASE SAVEPOINT %1; SAVEPOINT %1").arg(sp),
                            QStringLiteral("releasing a savepoint"));
                if (!s) {
                    undo(open, s);
                    open = -1;
                } else {
                    open = int(k);
                }
            } else {
                release();
            }
            if (open != int(k)) {
                if (auto s = db.savepoint(sp); !s) {
                    results[k] = s;
                    continue;
                }
                open = int(k);
            }
            db.beginWriteScope();
            Status r = group[k]->write(db);
            const bool scopeFailed = db.endWriteScope();
            if (!db.inTransaction()) {
                results[k] = makeError(QStringLiteral("store: a write committed or rolled back "
                                                      "the group transaction; writes must not "
                                                      "manage transactions"));
                open = -1;
                continue;
            }
            if (r && scopeFailed)
                r = makeError(QStringLiteral("store: a database operation of this write failed, "
                                             "so the write was undone"));
            results[k] = r;
            if (!r) {
                undo(int(k), r);
                open = -1;
            }
        }
        release();
        Status committed = db.inTransaction() ? db.commit() : Status();
        int ok = 0;
        for (size_t k = 0; k < group.size(); ++k) {
            if (!committed && results[k])
                results[k] = committed;
            ok += results[k] ? 1 : 0;
        }
        if (committed) {
            m_owner->m_committedWrites += ok;
            m_owner->m_committedGroups += 1;
        }
        qCDebug(lcStoreThread) << "group commit:" << group.size() << "writes," << ok << "ok";
        for (size_t k = 0; k < group.size(); ++k)
            group[k]->complete(results[k]);
    }

    StoreThread *m_owner;
    std::unique_ptr<Database> m_db;
    QMutex m_mutex;
    std::deque<Task> m_queue;
    bool m_drainScheduled = false;
};

} // namespace detail

Result<std::unique_ptr<StoreThread>> StoreThread::start(const StoreConfig &config)
{
    auto parsed = StoreConfig::parse(config.url);
    if (!parsed)
        return makeError(parsed.error());
    std::unique_ptr<StoreThread> st(new StoreThread);
    st->m_dialect = parsed->dialect;
    st->m_thread = std::make_unique<QThread>();
    st->m_thread->setObjectName(QStringLiteral("kairos-store"));
    st->m_worker = new detail::StoreWorker(st.get());
    st->m_worker->moveToThread(st->m_thread.get());
    QObject::connect(st->m_thread.get(), &QThread::finished, st->m_worker, &QObject::deleteLater);
    st->m_thread->start();

    Status opened;
    detail::StoreWorker *worker = st->m_worker;
    QMetaObject::invokeMethod(
        worker, [worker, &config] { return worker->open(config); }, Qt::BlockingQueuedConnection,
        &opened);
    if (!opened)
        return makeError(opened.error()); // ~StoreThread stops the thread
    qCInfo(lcStoreThread) << "store thread started on" << parsed->redactedUrl();
    return st;
}

StoreThread::~StoreThread()
{
    if (!m_thread)
        return;
    if (m_thread->isRunning()) {
        detail::StoreWorker *worker = m_worker;
        QMetaObject::invokeMethod(
            worker, [worker] { worker->shutdown(); }, Qt::QueuedConnection);
        m_thread->wait();
    }
}

void StoreThread::post(std::function<void(Database &)> fn)
{
    m_worker->enqueue({std::move(fn), {}, {}});
}

void StoreThread::write(std::function<Status(Database &)> fn, QObject *context,
                        std::function<void(Status)> done)
{
    auto result = std::make_shared<Status>();
    QObject *ticket = makeTicket(context, [result, done = std::move(done)]() {
        if (done)
            done(*result);
    });
    m_worker->enqueue({{}, std::move(fn), [result, ticket](const Status &s) {
                           *result = s;
                           fireTicket(ticket);
                       }});
}

QObject *StoreThread::makeTicket(QObject *context, std::function<void()> onContextThread)
{
    if (!context)
        return nullptr;
    auto *ticket = new detail::CompletionTicket;
    QObject::connect(ticket, &detail::CompletionTicket::fired, context, std::move(onContextThread),
                     Qt::QueuedConnection);
    ticket->moveToThread(m_thread.get());
    return ticket;
}

void StoreThread::fireTicket(QObject *ticket)
{
    if (!ticket)
        return;
    emit static_cast<detail::CompletionTicket *>(ticket)->fired();
    delete ticket;
}

Database &StoreThread::database()
{
    return m_worker->database();
}

} // namespace kairos
