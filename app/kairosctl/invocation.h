#pragma once
// Invocation: what one `kairosctl` command line asks for, once parsed — the global connection
// options and a single Action (an admin method with its JSON parameters, or a local `cron next`).
// Parsing (command_line.h) builds it without touching the network or the console, so the
// mapping "flags -> params sent" is unit-testable; CommandRunner and the cron helpers execute it.
// Plain values; thread-safe as values are.

#include <QJsonObject>
#include <QString>

#include <optional>

namespace kairos::cli {

// Options that are valid before or after any command.
struct GlobalOptions {
    QString server;       // HOST:PORT; empty = $KAIROS_SERVER or 127.0.0.1:7070
    QString user;         // empty = $KAIROS_USER or admin
    QString passwordFile; // empty = $KAIROS_PASSWORD_FILE (no default)
    bool json = false;    // machine output: one JSON document on stdout
    bool tls = false;     // connect with TLS (system CAs unless tlsCaFile)
    QString tlsCaFile;    // PEM file the server certificate must verify against; implies tls
};

// How a human-readable reply is printed (the JSON mode prints the reply as is).
enum class View {
    Job,               // job.create / job.update / job.get: the job, one field per line
    JobState,          // job.enable / job.disable: one line
    JobList,           // job.list: a table
    Deleted,           // job.delete: one line
    Instance,          // instance.cancel / instance.retry: a one-row table
    InstanceDetail,    // instance.get: fields, then the attempts table
    ServerInfo,        // server.info: one field per line
    AppCreated,        // app.create: the secret alone on stdout, a note on stderr
    AppRotated,        // app.rotateSecret: the same
    AppList,           // app.list: a table
    WorkerList,        // worker.list: a table
    ContainerList,     // container.list: a table
    ContainerVersions, // container.versions: a table, then the container's jobs
    ContainerStatus,   // container.status: a table marking workers not on the desired version
    ContainerDeployed, // container.deploy (without --follow): one line
};

enum class ActionKind {
    Help,            // print `text` on stdout, exit 0
    Version,         // print the version, exit 0
    Call,            // one admin `method` with `params`, printed per `view`
    RunJob,          // job.run, optionally waiting for the instances to end
    InstanceList,    // instance.list, resolving `jobName` to an id first when given
    InstanceLogs,    // instance.get + instance.logs pages, optionally following new lines
    InstanceTasks,   // instance.tasks, one page or (allPages) every page
    CronNext,        // local: next fire times of an expression (no server)
    CronBatch,       // local: the `cron next --batch` line protocol on stdin/stdout (no server)
    ContainerUpload, // container.upload.begin / chunk / finish of the file at `path`
    ContainerDeploy, // container.deploy --follow: the `containers` events until every target ends
};

struct Action {
    ActionKind kind = ActionKind::Call;
    QString method;     // Call, RunJob, InstanceList, ContainerDeploy
    QJsonObject params; // Call, RunJob, InstanceList, ContainerDeploy
    View view = View::Job;
    QString subject; // Call: how the addressed thing is named in one-line replies ("job 7")

    bool wait = false;     // RunJob --wait
    int waitTimeoutS = 0;  // RunJob --timeout-s, ContainerDeploy --timeout; 0 = no deadline
    QString jobName;       // InstanceList --job NAME, resolved with job.get first
    qint64 instanceId = 0; // InstanceLogs
    bool follow = false;   // InstanceLogs --follow
    QString path;          // ContainerUpload: the file
    bool allPages = false; // InstanceTasks --all

    QString cronExpression;       // CronNext
    QString timeZone;             // CronNext; empty = the system zone
    std::optional<qint64> fromMs; // CronNext; empty = now
    int count = 10;               // CronNext, CronBatch

    QString text; // Help
};

struct Invocation {
    GlobalOptions global;
    // The command path ("job create", "cron next"; empty before one is recognised). Usage
    // errors show this command's usage.
    QString command;
    Action action;

    bool needsServer() const
    {
        switch (action.kind) {
        case ActionKind::Help:
        case ActionKind::Version:
        case ActionKind::CronNext:
        case ActionKind::CronBatch:
            return false;
        default:
            return true;
        }
    }
};

} // namespace kairos::cli
