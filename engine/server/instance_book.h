#pragma once
// InstanceBook: the in-memory copy of every active (non-terminal) instance this server owns,
// and the only path by which instance state changes. Each change is checked against the state
// machine, coalesced per instance, and written in the next group commit as
// `UPDATE ... WHERE id = ? AND version = ?`. A lost race (another writer moved the row) is a
// normal outcome: the instance is reloaded from the store and `conflicted` is emitted.
//
// At most one group commit is in flight; changes made meanwhile go into the next one, so the
// batch grows with the load and the hot path costs a handful of statements per thousand runs.
//
// Not thread-safe: engine thread only.

#include <core/instance.h>
#include <store/instance_repository.h>
#include <store/log_repository.h>
#include <store/store_thread.h>

#include <QHash>
#include <QObject>
#include <QSet>

#include <functional>
#include <memory>
#include <optional>

namespace kairos::server {

class InstanceBook : public QObject {
    Q_OBJECT
public:
    // Called once the rows are durably committed. `isNew[i]` is false where a scheduled fire was
    // already recorded under the same (job, fire time) key (by another server or before a
    // restart): that instance was not created and its id is 0.
    using InsertDone =
        std::function<void(const QList<Instance> &rows, const QList<bool> &isNew, Status status)>;

    explicit InstanceBook(kairos::StoreThread *store, QObject *parent = nullptr);

    void insert(QList<Instance> rows, InsertDone done);
    // Takes over an instance read from the store (recovery). Terminal ones are ignored unless
    // `evenIfTerminal` (a manual retry, which moves it out of its terminal state next).
    void adopt(const Instance &instance, bool evenIfTerminal = false);
    const Instance *find(qint64 id) const;
    // Moves `id` to `to` if the state machine allows it; `mutate` fills the other fields.
    // Returns false and changes nothing otherwise.
    bool transition(qint64 id, InstanceStatus to,
                    const std::function<void(Instance &)> &mutate = {});
    void recordAttempt(const Attempt &attempt);
    void appendLogs(const QList<LogLine> &lines);
    const QHash<qint64, Instance> &active() const { return m_active; }
    bool idle() const;

    // Invokes `fn` once everything queued so far is committed (tests, shutdown).
    void whenFlushed(std::function<void()> fn);

signals:
    void committed(const QList<kairos::Instance> &changed, const QList<kairos::LogLine> &logs);
    void conflicted(qint64 instanceId);
    void writeFailed(const QString &reason);

private:
    struct Batch;
    void scheduleFlush();
    void flush();
    void onFlushed(const std::shared_ptr<Batch> &batch, const Status &status);

    kairos::StoreThread *m_store;
    struct Repos {
        explicit Repos(kairos::Database &db)
            : instances(db)
            , logs(db)
        {}
        kairos::InstanceRepository instances;
        kairos::LogRepository logs;
    };
    // Created and used on the store thread only; shared so queued writes keep it alive.
    std::shared_ptr<std::optional<Repos>> m_repos;
    QHash<qint64, Instance> m_active;
    QSet<qint64> m_dirty;
    struct PendingInsert {
        QList<Instance> rows;
        InsertDone done;
    };
    QList<PendingInsert> m_inserts;
    QList<Attempt> m_attempts;
    QList<LogLine> m_logs;
    QList<std::function<void()>> m_flushWaiters;
    bool m_inFlight = false;
    bool m_flushScheduled = false;
    int m_failures = 0;
};

} // namespace kairos::server
