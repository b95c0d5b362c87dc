#pragma once
// CommandRunner: carries out one server command of kairosctl over a Client — waits for the link,
// makes the admin calls, prints the replies (tables or JSON) and reports the exit code once.
// The long-running commands live here too: `job run --wait` (the "instances" events plus a
// slow instance.get poll as a safety net, with an optional deadline), `instance tasks --all` (every
// page of instance.tasks, the table streamed a page at a time) and `instance logs --follow` (the
// "logs" events for that instance plus instance.logs pages with afterSeq, so no line is missed or
// printed twice, until the instance has ended), `container upload` (ContainerUpload, progress on
// stderr) and `container deploy --follow` (the "containers" events, subscribed before the deploy
// is sent, plus a container.status poll as a safety net, until every target worker is READY or
// FAILED or the deadline passes; command_runner_containers.cpp). It talks only to the Client
// interface, so tests drive it with a scripted client and no server.
//
// Threading: create, start and destroy on the Client's thread (the main thread); it uses that
// thread's event loop and never blocks.

#include "container_upload.h"
#include "deploy_follower.h"
#include "invocation.h"

#include <client/client.h>

#include <QElapsedTimer>
#include <QHash>
#include <QJsonArray>
#include <QSet>
#include <QTextStream>
#include <QTimeZone>
#include <QTimer>

#include <functional>
#include <memory>

namespace kairos::cli {

class CommandRunner : public QObject {
    Q_OBJECT
public:
    // Exit codes beyond 0 (done), 1 (server error), 2 (usage), 3 (connection).
    static constexpr int kExitServerError = 1;
    static constexpr int kExitConnection = 3;
    static constexpr int kExitRunFailed = 4;
    static constexpr int kExitWaitTimeout = 5;
    // container deploy --follow (the codes docs/containers.md gives it).
    static constexpr int kExitDeployFailed = 1;
    static constexpr int kExitDeployTimeout = 2;
    // A file to upload that cannot be read is a bad argument.
    static constexpr int kExitBadFile = 2;

    struct Options {
        bool json = false;
        QTimeZone zone = QTimeZone::systemTimeZone(); // times in human output
        QString target;            // "127.0.0.1:7070 as admin" for connection errors
        int pollIntervalMs = 2000; // safety-net poll of instance.get while waiting
        int logPageSize = 1000;    // lines per instance.logs call
        qint64 nowMs = 0;          // "now" for ages in human output (worker list); 0 = the clock
        int progressEveryMs = 500; // container upload: progress lines on stderr at most this often
        int deployProgressEveryMs = 2000; // deploy --follow: a download's progress line
    };

    CommandRunner(client::Client &client, Action action, Options options, QTextStream &out,
                  QTextStream &err, QObject *parent = nullptr);

    // Starts once the client is connected (at once if it is); connect finished() first.
    void start();
    bool isFinished() const { return m_done; }
    int exitCode() const { return m_exitCode; }

signals:
    // Emitted exactly once, with the process exit code.
    void finished(int exitCode);

private:
    using OnReply = std::function<void(const QJsonObject &)>;

    void onLinkState(client::Client::LinkState state, const QString &detail);
    void begin();
    qint64 now() const;
    void call(const QString &method, const QJsonObject &params, OnReply onReply);
    void printReply(const QJsonObject &reply);
    void printJson(const QJsonObject &doc);
    void fail(int code, const QString &message);
    // A failed call: a lost link (exit 3) or the server's error (exit 1), decided on the next
    // turn, when the client has reported the link state.
    void failWith(const QString &error);
    void finish(int code);

    // job run [--wait]
    void runJob();
    void onInstancesForWait(const QList<kairos::Instance> &instances);
    void recordWaited(const QJsonObject &instance);
    void pollWaited();
    void completeWait();
    void onWaitDeadline();
    QJsonArray waitedInstances() const;

    // instance list
    void listInstances();

    // instance tasks [--all]
    void listTasks(QJsonObject params);
    void onTaskPage(const QJsonObject &params, const QJsonObject &reply);

    // instance logs [--follow]
    void showLogs();
    void fetchLogs();
    void onLogPage(const QJsonObject &reply);
    void printLogLine(const QJsonObject &line);
    // Prints the lines that continue the printed sequence; false at a gap (lines unseen).
    bool printInOrder(QList<QJsonObject> lines);
    void onLogEvent(const QList<kairos::LogLine> &lines);
    void onInstancesForLogs(const QList<kairos::Instance> &instances);
    void noteLogInstanceStatus(const QString &status);
    void pollLogInstance();

    // container upload / container deploy --follow (command_runner_containers.cpp)
    bool prepareUpload();
    void uploadContainer();
    void onUploadProgress(qint64 acknowledged, qint64 total);
    void followDeploy();
    void onDeployReply(const QJsonObject &reply);
    void onDeployStages(const QList<kairos::DeployStage> &stages);
    void applyDeployStage(const QJsonObject &stage);
    void pollDeployStatus();
    void checkDeployDone();
    void onDeployDeadline();
    QJsonObject deployDocument() const;

    client::Client &m_client;
    Action m_action;
    Options m_options;
    QTextStream &m_out;
    QTextStream &m_err;
    bool m_begun = false;
    bool m_done = false;
    int m_exitCode = -1;
    QTimer m_poll;
    QTimer m_deadline;

    // job run --wait
    QList<qint64> m_runIds;
    QHash<qint64, QJsonObject> m_latest; // last known instance JSON per waited id (empty: none)
    QSet<qint64> m_ended;                // waited ids known to be terminal
    QSet<qint64> m_polling;              // instance.get in flight

    // instance logs
    qint64 m_lastSeq = 0;
    int m_lastAttempt = 0;
    bool m_fetching = false;
    bool m_fetchAfterEnd = false; // the fetch in flight was sent after the end was known
    bool m_instanceEnded = false;
    bool m_statusPollInFlight = false;
    QList<QJsonObject> m_bufferedLines; // event lines that arrived during a fetch
    QJsonArray m_collectedLines;        // --json without --follow

    // instance tasks --all
    QList<qsizetype> m_taskWidths; // the table's column widths so far (empty: header not out)
    qint64 m_taskRows = 0;
    QJsonArray m_collectedTasks; // --json

    // container upload
    std::unique_ptr<ContainerUpload> m_upload;
    qint64 m_lastProgressMs = -1;
    // container deploy --follow
    std::unique_ptr<DeployFollower> m_deploy; // once the deploy is answered
    QJsonObject m_deployReply;
    QList<QJsonObject> m_earlyStages; // stages of the container before the deploy's reply
    bool m_deployPollInFlight = false;
    QElapsedTimer m_clock;
};

} // namespace kairos::cli
