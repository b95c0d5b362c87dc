#pragma once
// Test helpers for integration tests: a real kairosd process on an ephemeral loopback port,
// and a synchronous administrator session over the real admin protocol. Waits are bounded by
// deadlines and driven by the event loop; nothing sleeps for a fixed time.

#include <client/remote_client.h>

#include <QJsonObject>
#include <QProcess>
#include <QString>
#include <QTemporaryDir>

#include <functional>
#include <memory>

namespace kairos::test {

class ServerProcess {
public:
    // `dataDir` persists across restarts of the same ServerProcess.
    explicit ServerProcess(QString dataDir, QStringList extraArgs = {});
    ~ServerProcess();

    // Starts kairosd and waits (bounded) until it prints its listening line. Empty on success,
    // else why it failed (with its stderr).
    QString start(int timeoutMs = 20000);
    void kill9();                          // SIGKILL, then reap
    bool terminate(int timeoutMs = 20000); // SIGTERM, wait for a clean exit
    qint64 pid() const { return m_process ? m_process->processId() : 0; }
    quint16 port() const { return m_port; }
    QString dataDir() const { return m_dataDir; }
    QString adminPassword() const;
    QString output() const { return m_output; }
    // Reads what the process printed since the last read and returns everything so far.
    QString readOutput();
    QString secretFile() const; // DIR/apps/default.secret

private:
    QString m_dataDir;
    QStringList m_extraArgs;
    std::unique_ptr<QProcess> m_process;
    quint16 m_port = 0;
    QString m_output;
};

// A real kairos-worker process connected to a ServerProcess (app `default`, its secret file).
class WorkerProcess {
public:
    WorkerProcess(QString id, quint16 serverPort, QString secretFile, QStringList extraArgs = {});
    ~WorkerProcess();

    // Starts kairos-worker and waits (bounded) until it printed that it registered. Empty on
    // success, else why (with its output). With waitForRegistration false it only starts.
    QString start(bool waitForRegistration = true, int timeoutMs = 20000);
    void kill9();
    void freeze();                         // SIGSTOP
    void thaw();                           // SIGCONT
    bool terminate(int timeoutMs = 30000); // SIGTERM; true on a clean exit (code 0)
    bool isRunning() const;
    qint64 pid() const { return m_process ? m_process->processId() : 0; }
    QString id() const { return m_id; }
    // Reads new output; returns everything printed so far (stdout and stderr).
    QString readOutput();
    // How many times it printed that it registered.
    int registrations();

private:
    QString m_id;
    quint16 m_port;
    QString m_secretFile;
    QStringList m_extraArgs;
    // Its own work folder unless the test names one: workers of concurrent tests share ids
    // ("w1"), and the default folder is derived from the id.
    QTemporaryDir m_workDir;
    std::unique_ptr<QProcess> m_process;
    QString m_output;
};

class AdminSession {
public:
    AdminSession(const ServerProcess &server);
    ~AdminSession();

    QString open(int timeoutMs = 10000); // empty on success
    // Calls a method and waits for the reply (bounded).
    Result<QJsonObject> call(const QString &method, const QJsonObject &params = {},
                             int timeoutMs = 30000);
    client::RemoteClient &client() { return *m_client; }

    // Helpers built on call().
    Result<QJsonObject> createJob(const QJsonObject &job);
    QList<qint64> run(qint64 jobId, int count = 1, const QString &params = {});
    Result<QJsonObject> instance(qint64 id); // {"instance":..., "attempts":[...]}
    QString status(qint64 id);
    // Polls instance.get until `pred` holds for the instance or the deadline passes.
    bool waitForInstance(qint64 id, const std::function<bool(const QJsonObject &)> &pred,
                         int timeoutMs = 30000);
    bool waitForTerminal(qint64 id, int timeoutMs = 30000);
    QList<QJsonObject> instancesOfJob(qint64 jobId, int limit = 10000);

private:
    std::unique_ptr<client::RemoteClient> m_client;
};

// kairosd arguments for tests with remote workers only: --no-local-worker, plus --db with a fresh
// database on the private PostgreSQL when KAIROS_E2E_BACKEND=postgres.
QStringList remoteWorkerServerArgs();
// The worker's entry of worker.list, or an empty object.
QJsonObject workerEntry(AdminSession &admin, const QString &id);

// Reads a text file's lines (the side channel processors append to).
QStringList readLines(const QString &path);
bool isTerminalStatus(const QString &status);
// Spins the event loop until pred() or the deadline; returns pred().
bool waitUntil(const std::function<bool()> &pred, int timeoutMs);
bool processExists(qint64 pid);
// True while a live (not zombie) process is in the process group.
bool processGroupExists(qint64 pgid);

} // namespace kairos::test
