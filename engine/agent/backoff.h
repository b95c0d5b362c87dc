#pragma once
// Backoff: the waits between reconnect rounds — 200 ms doubling up to a maximum, each with
// +-20% random jitter so that many workers cut off by the same server restart do not all come
// back in the same millisecond. reset() after a successful registration starts over.
//
// Not thread-safe: use from one thread.

#include <QRandomGenerator>

namespace kairos::agent {

class Backoff {
public:
    static constexpr double kJitter = 0.2;

    // `seed` makes the jitter reproducible in tests; 0 seeds from the system.
    Backoff(int initialMs, int maxMs, quint32 seed = 0);

    // The wait before the next round (jittered), then doubles the base for the round after.
    int nextDelayMs();
    // Back to the initial wait.
    void reset() { m_baseMs = m_initialMs; }
    // The un-jittered wait nextDelayMs() will start from.
    int baseMs() const { return m_baseMs; }
    int maxMs() const { return m_maxMs; }

private:
    int m_initialMs;
    int m_maxMs;
    int m_baseMs;
    QRandomGenerator m_random;
};

} // namespace kairos::agent
