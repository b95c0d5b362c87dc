#pragma once
// ChildProcess: one program the remote-worker benchmarks start beside themselves — a real kairosd,
// a real kairos-worker, or kairos-bench's own fake-worker fleet. Its stdout is collected (the
// programs announce "listening on", "registered with" there), its stderr goes to a file so a
// chatty child can never block on a full pipe, and every wait runs this thread's event loop:
// the bench may host the server itself (dispatch_to_start), which must keep answering while we
// wait for a worker to register or to drain. Waits are for a condition with a deadline.
//
// Also the two event-loop helpers the workloads share: pumpUntil() and pumpFor().
//
// Not thread-safe: create and use on the bench's main thread.

#include <core/result.h>

#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>

namespace kairos::bench {

// Runs the event loop until pred() holds (checked every `pollMs`) or `timeoutMs` passed;
// returns pred().
bool pumpUntil(const std::function<bool()> &pred, int timeoutMs, int pollMs = 5);
// Runs the event loop for `ms` milliseconds: a measuring window or a polling interval, never a
// wait for a result.
void pumpFor(int ms);

class ChildProcess {
public:
    // `name` appears in error texts ("kairosd", "worker bench-w1").
    explicit ChildProcess(QString name);
    ChildProcess(const ChildProcess &) = delete;
    ChildProcess &operator=(const ChildProcess &) = delete;
    ~ChildProcess(); // kills the process if it still runs

    // Starts `program`; stderr is written to `stderrFile`. Errors: it could not be started.
    Status start(const QString &program, const QStringList &arguments, const QString &stderrFile);
    // Waits until stdout contains `text`. Errors name the process, say whether it exited or
    // timed out, and quote the end of its stderr.
    Status waitForOutput(const QString &text, int timeoutMs);
    // Everything printed on stdout so far.
    QString output() const { return QString::fromUtf8(m_out); }
    // SIGTERM, then waits (event loop running) up to `timeoutMs`, then SIGKILL. True when it
    // exited by itself with code 0.
    bool stop(int timeoutMs = 30000);
    bool isRunning() const;
    qint64 pid() const;
    QString name() const { return m_name; }
    // The last `maxChars` characters of stderr, trimmed.
    QString stderrTail(int maxChars = 1500) const;

private:
    QString m_name;
    QString m_stderrFile;
    std::unique_ptr<QProcess> m_proc;
    QByteArray m_out;
};

} // namespace kairos::bench
