#pragma once
// ServerRotation: which server a worker connects to next, and after how long. The list of
// --server addresses is tried in order; a failed attempt moves on to the next address at once,
// and only when every address of the round has failed does the worker wait (Backoff) before it
// starts over with the first. A worker whose registered connection drops starts a new round
// after the initial wait, so a server that accepts and drops at once cannot make it spin.
//
// Not thread-safe: use from one thread.

#include "backoff.h"
#include "worker_config.h"

#include <QList>

namespace kairos::agent {

class ServerRotation {
public:
    struct Attempt {
        ServerAddress server;
        int delayMs = 0; // wait this long before connecting
    };

    // `servers` must not be empty. `seed` as in Backoff.
    ServerRotation(QList<ServerAddress> servers, int initialDelayMs, int maxDelayMs,
                   quint32 seed = 0);

    // The very first attempt: the first server, now.
    Attempt first();
    // The attempt after a connection or login that failed before registration.
    Attempt afterFailure();
    // The attempt after a registered connection was lost (or the worker was declared dead).
    Attempt afterLoss();
    // A registration succeeded: the next round's wait starts from the initial delay again.
    void registered() { m_backoff.reset(); }

    int size() const { return int(m_servers.size()); }
    const Backoff &backoff() const { return m_backoff; }

private:
    QList<ServerAddress> m_servers;
    Backoff m_backoff;
    int m_index = 0;
};

} // namespace kairos::agent
