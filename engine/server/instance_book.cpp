#include "instance_book.h"

#include "server_log.h"

#include <core/clock.h>
#include <store/instance_repository.h>
#include <store/log_repository.h>

#include <QTimer>

namespace kairos::server {

// Everything one group commit writes, filled on the store thread and read back on the engine
// thread after the commit.
struct InstanceBook::Batch {
    QList<PendingInsert> inserts;
    QList<QList<bool>> insertedFlags;
    QList<kairos::InstanceUpdate> updates;
    QList<Instance> updatedSnapshots;
    QList<bool> applied;
    QList<Attempt> attempts;
    QList<LogLine> logs;
};

InstanceBook::InstanceBook(kairos::StoreThread *store, QObject *parent)
    : QObject(parent)
    , m_store(store)
    , m_repos(std::make_shared<std::optional<Repos>>())
{}

void InstanceBook::insert(QList<Instance> rows, InsertDone done)
{
    m_inserts.append(PendingInsert{std::move(rows), std::move(done)});
    scheduleFlush();
}

void InstanceBook::adopt(const Instance &instance, bool evenIfTerminal)
{
    if (evenIfTerminal || !isTerminal(instance.status))
        m_active.insert(instance.id, instance);
}

const Instance *InstanceBook::find(qint64 id) const
{
    const auto it = m_active.constFind(id);
    return it == m_active.cend() ? nullptr : &it.value();
}

bool InstanceBook::transition(qint64 id, InstanceStatus to,
                              const std::function<void(Instance &)> &mutate)
{
    const auto it = m_active.find(id);
    if (it == m_active.end())
        return false;
    if (!isAllowedTransition(it->status, to)) {
        qCInfo(lcBook) << "refused transition of instance" << id << toString(it->status) << "->"
                       << toString(to);
        return false;
    }
    it->status = to;
    if (mutate)
        mutate(*it);
    m_dirty.insert(id);
    scheduleFlush();
    return true;
}

void InstanceBook::recordAttempt(const Attempt &attempt)
{
    m_attempts << attempt;
    scheduleFlush();
}

void InstanceBook::appendLogs(const QList<LogLine> &lines)
{
    m_logs << lines;
    scheduleFlush();
}

bool InstanceBook::idle() const
{
    return !m_inFlight && m_dirty.isEmpty() && m_inserts.isEmpty() && m_attempts.isEmpty()
           && m_logs.isEmpty();
}

void InstanceBook::whenFlushed(std::function<void()> fn)
{
    if (idle()) {
        fn();
        return;
    }
    m_flushWaiters << std::move(fn);
    scheduleFlush();
}

void InstanceBook::scheduleFlush()
{
    if (m_flushScheduled || m_inFlight)
        return;
    m_flushScheduled = true;
    // One event-loop turn lets everything that arrives in the same burst join this commit.
    QTimer::singleShot(0, this, &InstanceBook::flush);
}

void InstanceBook::flush()
{
    m_flushScheduled = false;
    if (m_inFlight)
        return;
    auto batch = std::make_shared<Batch>();
    batch->inserts = std::exchange(m_inserts, {});
    batch->attempts = std::exchange(m_attempts, {});
    batch->logs = std::exchange(m_logs, {});
    batch->updates.reserve(m_dirty.size());
    for (qint64 id : std::as_const(m_dirty)) {
        const auto it = m_active.find(id);
        if (it == m_active.end())
            continue;
        Instance &inst = *it;
        kairos::InstanceUpdate u;
        u.id = inst.id;
        u.expectedVersion = inst.version;
        u.status = inst.status;
        u.reason = inst.reason;
        u.attempt = inst.attempt;
        u.worker = inst.worker;
        u.result = inst.result;
        u.dispatchedAtMs = inst.dispatchedAtMs;
        u.startedAtMs = inst.startedAtMs;
        u.finishedAtMs = inst.finishedAtMs;
        u.nextAttemptAtMs = inst.nextAttemptAtMs;
        batch->updates << u;
        ++inst.version; // the version the row has once this commit lands
        batch->updatedSnapshots << inst;
        // A terminal instance stays until its commit has landed (onFlushed): until then a read
        // from the store would still see the old row, and only our copy has the truth.
    }
    m_dirty.clear();
    if (batch->inserts.isEmpty() && batch->updates.isEmpty() && batch->attempts.isEmpty()
        && batch->logs.isEmpty()) {
        for (auto &fn : std::exchange(m_flushWaiters, {}))
            fn();
        return;
    }
    m_inFlight = true;
    m_store->write(
        [batch, repos = m_repos](kairos::Database &db) -> Status {
            // Repositories live across commits: they cache prepared statements and the
            // per-instance log sequence numbers.
            if (!*repos)
                repos->emplace(db);
            kairos::InstanceRepository &instances = (*repos)->instances;
            for (PendingInsert &p : batch->inserts) {
                QList<bool> flags;
                if (Status s = instances.insertBatch(p.rows, &flags); !s.ok())
                    return s;
                batch->insertedFlags << flags;
            }
            if (!batch->updates.isEmpty()) {
                if (Status s = instances.applyUpdates(batch->updates, &batch->applied); !s.ok())
                    return s;
            }
            if (!batch->attempts.isEmpty()) {
                if (Status s = instances.insertAttempts(batch->attempts); !s.ok())
                    return s;
            }
            if (!batch->logs.isEmpty()) {
                if (Status s = (*repos)->logs.append(batch->logs); !s.ok())
                    return s;
            }
            return {};
        },
        this, [this, batch](Status status) { onFlushed(batch, status); });
}

void InstanceBook::onFlushed(const std::shared_ptr<Batch> &batch, const Status &status)
{
    m_inFlight = false;
    if (!status.ok()) {
        // Nothing of this batch is stored. Inserts were never acknowledged: their callers get
        // the error. State changes are put back and written again, so none is lost.
        qCCritical(lcBook) << "group commit failed:" << status.error();
        emit writeFailed(status.error());
        for (PendingInsert &p : batch->inserts)
            p.done(p.rows, QList<bool>(p.rows.size(), false), status);
        for (int i = 0; i < batch->updates.size(); ++i) {
            const auto it = m_active.find(batch->updatedSnapshots.at(i).id);
            if (it == m_active.end())
                continue;
            it->version = batch->updates.at(i).expectedVersion;
            m_dirty.insert(it->id);
        }
        m_attempts = batch->attempts + m_attempts;
        m_logs = batch->logs + m_logs;
        const int delay = std::min(5000, 100 << std::min(m_failures++, 6));
        QTimer::singleShot(delay, this, &InstanceBook::scheduleFlush);
        return;
    }
    m_failures = 0;

    QList<Instance> changed;
    changed.reserve(batch->updates.size());
    for (int i = 0; i < batch->inserts.size(); ++i) {
        PendingInsert &p = batch->inserts[i];
        const QList<bool> &flags = batch->insertedFlags.at(i);
        for (int r = 0; r < p.rows.size(); ++r) {
            if (flags.value(r)) {
                adopt(p.rows.at(r));
                changed << p.rows.at(r);
            }
        }
        p.done(p.rows, flags, status);
    }
    for (int i = 0; i < batch->updates.size(); ++i) {
        const Instance &snap = batch->updatedSnapshots.at(i);
        if (batch->applied.value(i, true)) {
            changed << snap;
            // Forget a finished instance once it is stored, unless it moved on meanwhile
            // (a retry made it waiting again).
            const auto it = m_active.find(snap.id);
            if (it != m_active.end() && it->version == snap.version && isTerminal(it->status)
                && !m_dirty.contains(snap.id))
                m_active.erase(it);
            continue;
        }
        // Another writer moved this row first. Our view is stale: take the stored one.
        qCWarning(lcBook) << "instance" << snap.id << "was changed by another writer; reloading";
        m_active.remove(snap.id);
        const qint64 id = snap.id;
        m_store->call<std::optional<Instance>>(
            [id](kairos::Database &db) { return kairos::InstanceRepository(db).get(id); }, this,
            [this, id](std::optional<Instance> fresh) {
                if (fresh) {
                    adopt(*fresh);
                    emit committed({*fresh}, {});
                }
                emit conflicted(id);
            });
    }
    emit committed(changed, batch->logs);

    if (!idle())
        scheduleFlush();
    else
        for (auto &fn : std::exchange(m_flushWaiters, {}))
            fn();
}

} // namespace kairos::server
