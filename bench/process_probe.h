#pragma once
// ProcessProbe: what the benchmarks read about processes and the host from /proc — resident
// memory (VmRSS, and the peak VmHWM, which can be reset for this process), CPU time of this
// process or of a process tree (PostgreSQL's postmaster and its backends), and the host's busy
// CPU, from which "foreign" load (other people's processes on this shared box) is derived.
// Linux only. Free functions on /proc files: thread-safe.

#include <QHash>
#include <QString>

namespace kairos::bench {

struct MemoryKb {
    qint64 rss = -1; // VmRSS
    qint64 hwm = -1; // VmHWM: peak RSS since start or the last resetPeakRss()
};

// VmRSS/VmHWM of `pid` (0 = this process); -1 fields when unreadable.
MemoryKb memoryOf(qint64 pid = 0);
// Proportional set size of `pid` in kB (/proc/PID/smaps_rollup: shared pages split among the
// processes that map them); -1 when unreadable.
qint64 pssKbOf(qint64 pid);
// Resets this process's VmHWM to its current RSS (writes 5 to /proc/self/clear_refs), so a
// following memoryOf().hwm is the peak of one workload. False if the kernel refused.
bool resetPeakRss();

// User + system CPU of this process (all threads), in microseconds.
qint64 selfCpuUs();
// User + system CPU of each thread of this process, in microseconds, summed by thread name
// (/proc/self/task/*/comm: "kairos-store", "kairos-local-wo", the main thread's is the
// program's name). Threads that ended are not counted.
QHash<QString, qint64> threadCpuUs();
// The same for another process `pid` (kairosd's threads: "kairosd" = its engine thread,
// "kairos-store", "QThread" helpers, ...).
QHash<QString, qint64> threadCpuUsOf(qint64 pid);
// User + system CPU of `pid` and every live descendant, in microseconds (0 for pid 0). CPU of
// processes that exited in between is not counted, which is fine for PostgreSQL's long-lived
// backends.
qint64 treeCpuUs(qint64 pid);
// Busy CPU of the whole host since boot (user+nice+system+irq+softirq+steal), in microseconds.
qint64 hostBusyUs();

// Cores used by others during an interval: (host busy − our own measured CPU) / wall time.
double foreignCores(qint64 hostBusyDeltaUs, qint64 ownCpuDeltaUs, qint64 wallUs);

} // namespace kairos::bench
