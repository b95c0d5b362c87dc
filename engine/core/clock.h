#pragma once
// Wall-clock time in epoch milliseconds, in one place so tests and benchmarks agree on it.

#include <QDateTime>

#include <chrono>

namespace kairos {

inline qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

// Sub-millisecond wall clock (epoch, microseconds) for latency measurements across processes.
inline qint64 nowUs()
{
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace kairos
