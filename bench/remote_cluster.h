#pragma once
// The pieces of a remote-worker benchmark that live outside the bench process, and how the bench
// talks to them: a real kairosd (started on an ephemeral loopback port, its port read from its
// listening line), real kairos-worker processes of the app `default` (the secret kairosd wrote
// to DATA/apps/default.secret), an administrator session over the real admin protocol
// (client::RemoteClient, password from DATA/admin.password) with blocking calls that keep the
// event loop running, and ProcessMeter, which splits CPU time between the bench itself and the
// processes it started, so load from other people on this shared box shows up as
// foreign_cores.
//
// Not thread-safe: main thread only.

#include "child_process.h"

#include <client/remote_client.h>
#include <core/result.h>

#include <QHash>
#include <QJsonObject>

#include <memory>

namespace kairos::bench {

// A program installed next to kairos-bench (bin/kairosd, bin/kairos-worker).
QString siblingProgram(const QString &name);
// The whole file, trimmed; empty when unreadable.
QString readTrimmed(const QString &path);

// A real kairosd: --data DIR --listen 127.0.0.1:0 (--db URL when given) plus `extraArgs`.
class KairosdChild {
public:
    explicit KairosdChild(QString dataDir);
    // Starts it and waits for its listening line.
    Status start(const QString &dbUrl, const QStringList &extraArgs, int timeoutMs = 60000);
    bool stop(int timeoutMs = 30000) { return m_proc.stop(timeoutMs); }
    quint16 port() const { return m_port; }
    qint64 pid() const { return m_proc.pid(); }
    QString dataDir() const { return m_dataDir; }
    QString adminPassword() const;
    QString secretFile() const; // DATA/apps/default.secret
    ChildProcess &process() { return m_proc; }

private:
    QString m_dataDir;
    ChildProcess m_proc{QStringLiteral("kairosd")};
    quint16 m_port = 0;
};

// Starts a real kairos-worker (app `default`, id `id`, work folder `workDir`, `threads` = 0 for
// its default) and waits until it printed that it registered.
Status startWorker(ChildProcess &proc, const QString &id, quint16 serverPort,
                   const QString &secretFile, const QString &workDir, int threads,
                   int timeoutMs = 30000);

// An administrator session over the admin protocol; each call blocks (running the event loop)
// until its reply or the deadline.
class AdminSession {
public:
    AdminSession(quint16 port, const QString &password);
    ~AdminSession();
    Status open(int timeoutMs = 15000);
    Result<QJsonObject> call(const QString &method, const QJsonObject &params = {},
                             int timeoutMs = 60000);
    // worker.list, counted by state ("ALIVE", "DEAD", ...).
    Result<QHash<QString, int>> workerStates();

private:
    std::unique_ptr<client::RemoteClient> m_client;
};

// CPU time over one interval: this process ("bench") and each added process with its
// descendants, and the host's busy time, from which load by others (foreign_cores) follows.
class ProcessMeter {
public:
    // `pid` <= 0 is ignored. CPU of processes that exit before stop() is not counted.
    void add(const QString &name, qint64 pid);
    void start();
    // {wall_s, cpu_ms: {bench, NAME...}, cpu_pct_of_core: {...}, foreign_cores}; with
    // perItems > 0 also cpu_us_per_instance: {bench, NAME..., total}.
    QJsonObject stop(qint64 perItems = 0);

private:
    struct Proc {
        QString name;
        qint64 pid = 0;
        qint64 cpu0 = 0;
    };
    QList<Proc> m_procs;
    qint64 m_wall0 = 0, m_self0 = 0, m_host0 = 0;
};

} // namespace kairos::bench
