#pragma once
// Shell processor: runs a script with a shell (bash by default) through `kairos-exec`, which
// puts the script and everything it starts into a process group of its own and makes that group
// die with the worker. Timeout and cancel end the whole group: SIGTERM, then SIGKILL after a
// 2 s grace. stdout and stderr become log lines. Outcome:
//   exit 0               -> Succeeded, result = the last non-empty stdout line, else "exit code 0"
//   exit N               -> Failed "exit code N"
//   killed by a signal   -> Failed "killed by signal 9 (SIGKILL)"
//   timeout / cancel     -> TimedOut "timed out after N ms" / Canceled with the cancel reason
// BROADCAST hooks: a PreProcess task runs config "preScript", a PostProcess task "postScript"
// with every worker's result in $KAIROS_RESULTS (a JSON array of {task, worker, address, status,
// result, runs}); every other task runs "script".
// Background jobs still running when the script exits are killed (nothing outlives its run).
// With a lease file, the launcher also stops the group by itself once the lease written there
// has expired, so a frozen or cut-off worker cannot leave the run behind (docs/processors.md).
// Same threading rules as ProcessorRun: start it on a long-lived thread.

#include "line_splitter.h"
#include "processor.h"

#include <QProcess>
#include <QTimer>

#include <memory>

class QTemporaryFile;

namespace kairos {

struct ShellConfig {
    QString script;
    QString preScript;  // BROADCAST: run once before the fan-out (optional)
    QString postScript; // BROADCAST: run once after every worker's task ended (optional)
    QString shell = QStringLiteral("/bin/bash");
};
Result<ShellConfig> parseShellConfig(const QJsonObject &config);

// Where kairos-exec is: $KAIROS_EXEC if set (must be executable), else next to the running
// program, else in $KAIROS_BIN_DIR, else on PATH. The error says where it looked.
// Thread-safe once a QCoreApplication exists.
Result<QString> findExecHelper();

// The environment a script sees: the worker's, minus inherited KAIROS_PARAM_* and KAIROS_RESULTS
// variables, plus KAIROS_INSTANCE_ID, KAIROS_ATTEMPT, KAIROS_TASK_ID, KAIROS_TASK_NAME,
// KAIROS_TASK_ROLE (STANDALONE, BROADCAST, PRE_PROCESS, ...), KAIROS_TASK_ATTEMPT, KAIROS_JOB_NAME,
// KAIROS_JOB_PARAMS, KAIROS_INSTANCE_PARAMS and, for params that are a JSON object,
// KAIROS_PARAM_<KEY> per key (upper-cased, other than A-Z/0-9 -> '_'; instance params override
// job params). KAIROS_RESULTS is added by the run (shellResultsVariable). Thread-safe.
QProcessEnvironment shellEnvironment(const TaskSpec &spec);
// A PostProcess task's KAIROS_RESULTS: the spec's results as a compact JSON array of {task,
// worker, address, status, result, runs}; an error when it would exceed
// kMaxResultsVariableBytes (environment strings are limited by the kernel). Thread-safe.
inline constexpr qsizetype kMaxResultsVariableBytes = 100 * 1024;
Result<QByteArray> shellResultsVariable(const TaskSpec &spec);
// "KAIROS_PARAM_" + the key as described above.
QString paramVariableName(const QString &key);

// "SIGKILL" for 9; "signal 64" for a number without a name.
QString signalName(int signal);

class ShellRun final : public ProcessorRun {
    Q_OBJECT
public:
    static constexpr int kGraceMs = 2000;
    // Scripts up to this size are passed with -c; longer ones through a temporary file (the
    // kernel limits one argument to 128 KiB).
    static constexpr qsizetype kMaxInlineScriptBytes = 100 * 1024;

    ShellRun(const TaskSpec &spec, ShellConfig config, QObject *parent = nullptr);
    // Kills the whole process group (SIGKILL) if the script still runs.
    ~ShellRun() override;

    // The lease file passed to kairos-exec as `--lease-file` (one line: the expiry in
    // CLOCK_MONOTONIC milliseconds). Empty (default): no lease. Call before start().
    void setLeaseFile(const QString &path) { m_leaseFile = path; }
    QString leaseFile() const { return m_leaseFile; }

    void start() override;
    void cancel(const QString &reason) override;

    // The process group of the running script (== the pid of its kairos-exec), 0 when none.
    qint64 processGroup() const { return m_pgid; }

private:
    void drain(QProcess::ProcessChannel channel);
    void onExited(int exitCode, QProcess::ExitStatus exitStatus);
    void onError(QProcess::ProcessError error);
    void onGraceOver();

    ShellConfig m_config;
    QProcess m_process{this}; // children move with the run to its thread
    QTimer m_killTimer{this};
    LineSplitter m_stdout;
    LineSplitter m_stderr;
    QString m_lastStdoutLine;
    QString m_stopReason;
    std::unique_ptr<QTemporaryFile> m_scriptFile;
    QString m_leaseFile;
    qint64 m_pgid = 0;
};

} // namespace kairos
