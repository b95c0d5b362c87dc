#include "worker_registry.h"

#include "remote_worker_link.h"

#include <core/clock.h>

#include <QLoggingCategory>

#include <algorithm>

namespace kairos::server {
namespace {

Q_LOGGING_CATEGORY(lcWorkers, "kairos.server.workers", QtWarningMsg)

} // namespace

WorkerRegistry::WorkerRegistry(QString serverId, int deadAfterMs, QObject *parent)
    : QObject(parent)
    , m_serverId(std::move(serverId))
    , m_deadAfterMs(std::max(1, deadAfterMs))
{
    // One timer for every link: a tenth of the timeout keeps the detection within 10% late
    // (5.0 s -> declared by 5.25 s at worst) and costs a few cheap checks a second.
    m_tick.setInterval(std::clamp(m_deadAfterMs / 10, 20, 250));
    connect(&m_tick, &QTimer::timeout, this, &WorkerRegistry::tick);
}

WorkerRegistry::~WorkerRegistry() = default;

void WorkerRegistry::setLocalWorker(const QString &app, int capacity)
{
    WorkerInfo w;
    w.id = QStringLiteral("local");
    w.app = app;
    w.address = QStringLiteral("local");
    w.capacity = capacity;
    w.state = WorkerState::Alive;
    w.registeredAtMs = nowMs();
    w.server = m_serverId;
    m_local = w;
    emit workersChanged({w});
}

void WorkerRegistry::add(RemoteWorkerLink *link)
{
    const QString id = link->id();
    const qint64 now = nowMs();
    m_entries.removeIf([now](const auto &e) {
        return !e.value().link && now - e.value().info.deadAtMs >= kKeepDeadMs;
    });
    auto it = m_entries.find(id);
    if (it != m_entries.end() && it->link && it->link != link && !it->link->isLost()) {
        qCWarning(lcWorkers).noquote()
            << QStringLiteral("worker %1 registered again from a new connection; the old one is "
                              "closed")
                   .arg(id);
        // Lost is handled (and announced) synchronously, before the new entry takes the id.
        it->link->declareDead(tr("replaced by a new connection of the same worker"));
    }
    Entry &entry = m_entries[id];
    entry.link = link;
    entry.info = link->info();
    entry.metricsPending = false;
    connect(link, &WorkerLink::changed, this, [this, link] { onLinkChanged(link); });
    connect(link, &WorkerLink::lost, this, [this, link] { onLinkLost(link); });
    QList<WorkerInfo> out;
    announce(entry, now, out);
    emit workersChanged(out);
    updateTimer();
}

RemoteWorkerLink *WorkerRegistry::liveLink(const QString &workerId) const
{
    const auto it = m_entries.constFind(workerId);
    if (it == m_entries.cend() || !it->link || it->link->isLost())
        return nullptr;
    return it->link.data();
}

QList<WorkerInfo> WorkerRegistry::workers() const
{
    QList<WorkerInfo> out;
    out.reserve(m_entries.size() + 1);
    if (m_local)
        out << *m_local;
    const qint64 now = nowMs();
    QList<WorkerInfo> remote;
    for (const Entry &e : m_entries) {
        if (e.link && !e.link->isLost())
            remote << e.link->info();
        else if (now - e.info.deadAtMs < kKeepDeadMs)
            remote << e.info;
    }
    std::sort(remote.begin(), remote.end(),
              [](const WorkerInfo &a, const WorkerInfo &b) { return a.id < b.id; });
    return out << remote;
}

void WorkerRegistry::announce(Entry &entry, qint64 now, QList<WorkerInfo> &out)
{
    if (entry.link && !entry.link->isLost())
        entry.info = entry.link->info();
    entry.lastAnnouncedMs = now;
    entry.metricsPending = false;
    out << entry.info;
}

void WorkerRegistry::onLinkChanged(RemoteWorkerLink *link)
{
    auto it = m_entries.find(link->id());
    if (it == m_entries.end() || it->link != link)
        return;
    const qint64 now = nowMs();
    const WorkerInfo fresh = link->info();
    if (fresh.state != it->info.state || now - it->lastAnnouncedMs >= kMetricsIntervalMs) {
        QList<WorkerInfo> out;
        announce(*it, now, out);
        emit workersChanged(out);
        return;
    }
    // Too soon after the last announcement: the tick sends it when the interval is over.
    it->metricsPending = true;
}

void WorkerRegistry::onLinkLost(RemoteWorkerLink *link)
{
    auto it = m_entries.find(link->id());
    if (it == m_entries.end() || it->link != link)
        return;
    it->info = link->info(); // DEAD, with the time and the reason
    it->link = nullptr;
    it->lastAnnouncedMs = nowMs();
    it->metricsPending = false;
    emit workersChanged({it->info});
    updateTimer();
}

void WorkerRegistry::tick()
{
    const qint64 now = nowMs();
    const QString timeoutReason =
        tr("no heartbeat for %1 s").arg(QString::number(m_deadAfterMs / 1000.0, 'f', 1));
    // Collected first: declaring a link dead re-enters onLinkLost(), which edits m_entries.
    QList<QPointer<RemoteWorkerLink>> expired;
    QList<WorkerInfo> out;
    for (auto it = m_entries.begin(); it != m_entries.end();) {
        Entry &e = it.value();
        if (!e.link || e.link->isLost()) {
            if (now - e.info.deadAtMs >= kKeepDeadMs) {
                it = m_entries.erase(it);
                continue;
            }
        } else if (e.link->msSinceHeartbeat() >= m_deadAfterMs) {
            expired << e.link;
        } else if (e.metricsPending && now - e.lastAnnouncedMs >= kMetricsIntervalMs) {
            announce(e, now, out);
        }
        ++it;
    }
    if (!out.isEmpty())
        emit workersChanged(out);
    for (const QPointer<RemoteWorkerLink> &link : expired) {
        if (link)
            link->declareDead(timeoutReason);
    }
    updateTimer();
}

void WorkerRegistry::updateTimer()
{
    const bool anyLive = std::any_of(m_entries.cbegin(), m_entries.cend(),
                                     [](const Entry &e) { return e.link && !e.link->isLost(); });
    if (anyLive && !m_tick.isActive())
        m_tick.start();
    else if (!anyLive && m_tick.isActive())
        m_tick.stop();
}

} // namespace kairos::server
