#pragma once
// The worker's monotonic clock in milliseconds: CLOCK_MONOTONIC, the clock kairos-exec reads
// the lease file with, so the agent and the launcher agree on when a lease ends. It does not
// jump with wall-clock changes (NTP, an operator's `date`), which would otherwise end or extend
// leases by accident. Thread-safe.

#include <QtGlobal>

#include <time.h>

namespace kairos::agent {

inline qint64 monotonicMs()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

} // namespace kairos::agent
