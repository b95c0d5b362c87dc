#pragma once
// StoreThread: owns the engine's Database on a thread of its own, so that no other thread ever
// waits for disk or network I/O of the store. Work is handed over as functions that run on the
// store thread in the order they were queued. Writes are group-committed: every write queued
// when the store thread gets to them runs in ONE transaction (each inside its own SAVEPOINT, so
// a failing write rolls back alone and gets its error while the others commit), followed by one
// COMMIT; only after that commit succeeded is each write's `done` called, so "done" means
// durable (SQLite WAL with synchronous=FULL, PostgreSQL with synchronous_commit=on).
//
// Every public method is thread-safe and may be called from any thread, including from inside
// a function running on the store thread (which then queues behind the current work), except
// where noted. Results are delivered with queued calls to a `context` QObject's thread and are
// dropped if the context has been destroyed by then; the context must be alive when the call is
// made.

#include "database.h"

#include <QObject>
#include <QSemaphore>
#include <QThread>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

namespace kairos {

namespace detail {
class StoreWorker;
}

class StoreThread {
public:
    // Starts the thread, opens the database on it and migrates the schema. Fails with the
    // error of open() or migrate(). Call from any thread.
    static Result<std::unique_ptr<StoreThread>> start(const StoreConfig &config);
    // Runs everything already queued (writes still get their durable done), closes the
    // database on the store thread, then stops the thread and waits for it. Do not queue new
    // work concurrently with destruction.
    ~StoreThread();

    StoreThread(const StoreThread &) = delete;
    StoreThread &operator=(const StoreThread &) = delete;

    // Runs fn(db) on the store thread, in order with all other work. Fire and forget: fn
    // handles its own errors. Not inside a transaction unless fn opens one.
    void post(std::function<void(Database &)> fn);

    // Runs fn(db) on the store thread, then then(result) on `context`'s thread (queued), unless
    // `context` is gone by then. With a null context the result is discarded.
    template<typename R>
    void call(std::function<R(Database &)> fn, QObject *context, std::function<void(R)> then)
    {
        auto result = std::make_shared<std::optional<R>>();
        QObject *ticket = makeTicket(context, [result, then = std::move(then)]() {
            if (then)
                then(std::move(**result));
        });
        post([fn = std::move(fn), result, ticket](Database &db) {
            result->emplace(fn(db));
            fireTicket(ticket);
        });
    }
    // Same, deducing R from the callable: call([](Database &db) { ... }, this, [](R r) { ... }).
    template<typename F, typename Then>
    requires std::is_invocable_v<F, Database &>
    void call(F fn, QObject *context, Then then)
    {
        using R = std::invoke_result_t<F, Database &>;
        call<R>(std::function<R(Database &)>(std::move(fn)), context,
                std::function<void(R)>(std::move(then)));
    }

    // Runs fn(db) on the store thread and blocks the caller until it returned. For start-up,
    // shutdown, tools and tests ONLY: never call it from the GUI thread or any thread that
    // must stay responsive. From the store thread itself it runs fn directly.
    template<typename R> R callBlocking(std::function<R(Database &)> fn)
    {
        if (QThread::currentThread() == thread())
            return fn(database());
        QSemaphore finished;
        if constexpr (std::is_void_v<R>) {
            post([&](Database &db) {
                fn(db);
                finished.release();
            });
            finished.acquire();
        } else {
            std::optional<R> result;
            post([&](Database &db) {
                result.emplace(fn(db));
                finished.release();
            });
            finished.acquire();
            return std::move(*result);
        }
    }
    // Same, deducing R from the callable: int n = store.callBlocking([](Database &db) { ... }).
    template<typename F>
    requires std::is_invocable_v<F, Database &>
    auto callBlocking(F fn) -> std::invoke_result_t<F, Database &>
    {
        using R = std::invoke_result_t<F, Database &>;
        return callBlocking<R>(std::function<R(Database &)>(std::move(fn)));
    }

    // Queues a write for the next group commit. done(status) runs on `context`'s thread after
    // the transaction holding this write committed (status ok: the write is durable) or with
    // the error of this write, or of the commit. fn must not begin/commit/rollback itself; it
    // may use Transaction (which becomes a nested savepoint). A null context drops `done`.
    void write(std::function<Status(Database &)> fn, QObject *context,
               std::function<void(Status)> done);

    QThread *thread() const { return m_thread.get(); }
    Dialect dialect() const { return m_dialect; }

    // Counters for benchmarks and diagnostics (thread-safe): writes that were committed and
    // transactions used for them; writes / groups is the average group size.
    quint64 committedWrites() const { return m_committedWrites.load(); }
    quint64 committedGroups() const { return m_committedGroups.load(); }

private:
    friend class detail::StoreWorker;
    StoreThread() = default;

    QObject *makeTicket(QObject *context, std::function<void()> onContextThread);
    static void fireTicket(QObject *ticket); // on the store thread; deletes the ticket
    Database &database();                    // store thread only

    std::unique_ptr<QThread> m_thread;
    detail::StoreWorker *m_worker = nullptr; // lives on m_thread; deleted on finished
    Dialect m_dialect = Dialect::Sqlite;
    std::atomic<quint64> m_committedWrites{0};
    std::atomic<quint64> m_committedGroups{0};
};

} // namespace kairos
