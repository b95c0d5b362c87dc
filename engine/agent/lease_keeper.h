#pragma once
// LeaseKeeper: the worker's lease on the runs it holds (docs/protocol.md 12.3). Every
// heartbeatAck renews it: the lease ends `leaseMs` after the worker SENT the acknowledged
// heartbeat, measured on CLOCK_MONOTONIC (so the server's clock never matters, and a wall-clock
// jump cannot end or extend it). The expiry is also written, atomically (temporary file +
// rename), to a lease file that every kairos-exec launcher of a Shell run watches on its own: a
// worker that is frozen (SIGSTOP) or cut off still gets its scripts stopped in time. When the
// lease ends without renewal, expired() fires once; the agent then applies its lease-loss policy.
//
// Not thread-safe: create and use on one thread (the agent's); expired() is emitted there.

#include <QObject>
#include <QString>
#include <QTimer>

namespace kairos::agent {

class LeaseKeeper : public QObject {
    Q_OBJECT
public:
    // `leaseFile` may be empty (no file is written; the timer still works).
    explicit LeaseKeeper(QString leaseFile, QObject *parent = nullptr);

    // Writes an already-ended lease (0) to the file, so no launcher left over from an earlier
    // worker process with this work folder keeps running on a stale lease. Agent thread.
    void resetFile();
    // Renews the lease to `sentAtMs + leaseMs` (monotonic ms) when that is later than the
    // current expiry and still in the future; returns whether it was renewed. Agent thread.
    bool renew(qint64 sentAtMs, int leaseMs);

    // Whether the lease runs now. Agent thread.
    bool isHeld() const;
    qint64 expiresAtMs() const { return m_expiresAtMs; } // monotonic ms, 0 before any renewal
    // The send time of the heartbeat behind the current lease: the last moment a server is
    // known to have heard from this worker.
    qint64 lastHeardMs() const { return m_lastHeardMs; }
    QString leaseFile() const { return m_file; }

signals:
    // The lease ended without renewal; `silentMs` is how long no server has heard from the
    // worker (now - lastHeardMs()). Emitted once per lease.
    void expired(qint64 silentMs);

private:
    void writeFile(qint64 expiresAtMs);
    void onTimer();

    QString m_file;
    qint64 m_expiresAtMs = 0;
    qint64 m_lastHeardMs = 0;
    bool m_writeFailed = false; // warn once, not once per heartbeat
    QTimer m_timer;
};

} // namespace kairos::agent
