#include "lease_keeper.h"

#include "agent_log.h"
#include "monotonic_clock.h"

#include <QSaveFile>

namespace kairos::agent {

LeaseKeeper::LeaseKeeper(QString leaseFile, QObject *parent)
    : QObject(parent)
    , m_file(std::move(leaseFile))
{
    m_timer.setSingleShot(true);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &LeaseKeeper::onTimer);
}

void LeaseKeeper::resetFile()
{
    writeFile(0);
}

bool LeaseKeeper::renew(qint64 sentAtMs, int leaseMs)
{
    const qint64 now = monotonicMs();
    // A timestamp from the future is not one this worker sent; never let it stretch the lease.
    if (sentAtMs > now || leaseMs <= 0)
        return false;
    const qint64 expiry = sentAtMs + leaseMs;
    if (expiry <= now || expiry <= m_expiresAtMs)
        return false;
    m_expiresAtMs = expiry;
    m_lastHeardMs = sentAtMs;
    writeFile(expiry);
    m_timer.start(int(std::min<qint64>(expiry - now, std::numeric_limits<int>::max())));
    qCDebug(lcAgentLease) << "lease renewed until" << expiry << "(in" << (expiry - now) << "ms)";
    return true;
}

bool LeaseKeeper::isHeld() const
{
    return m_expiresAtMs > monotonicMs();
}

void LeaseKeeper::onTimer()
{
    const qint64 now = monotonicMs();
    if (now < m_expiresAtMs) {
        // Timers may fire a little early; wait for the real end.
        m_timer.start(int(m_expiresAtMs - now));
        return;
    }
    qCDebug(lcAgentLease) << "lease ended at" << m_expiresAtMs;
    emit expired(now - m_lastHeardMs);
}

void LeaseKeeper::writeFile(qint64 expiresAtMs)
{
    if (m_file.isEmpty())
        return;
    QSaveFile file(m_file);
    bool ok = file.open(QIODevice::WriteOnly);
    if (ok) {
        const QByteArray line = QByteArray::number(expiresAtMs) + '\n';
        ok = file.write(line) == line.size() && file.commit();
    }
    if (!ok && !m_writeFailed) {
        qCWarning(lcAgentLease).noquote()
            << QStringLiteral("cannot write the lease file %1: %2; shell runs cannot stop "
                              "themselves if this worker freezes")
                   .arg(m_file, file.errorString());
    }
    m_writeFailed = !ok;
}

} // namespace kairos::agent
