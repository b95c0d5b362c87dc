#pragma once
// Client: what the console and kairosctl talk to — the same interface whether the engine runs
// in this process (local mode) or in a remote kairosd (admin protocol). Requests are named
// methods with JSON parameters (docs/protocol.md, "Admin methods"); replies arrive
// asynchronously on the caller's thread; engine events arrive as signals.
//
// Threading: a Client lives on the thread that created it (the GUI thread in the console); call
// it from that thread only. Replies and signals are delivered on that thread. No method blocks.

#include <core/container_info.h>
#include <core/instance.h>
#include <core/job.h>
#include <core/result.h>
#include <core/task_info.h>
#include <core/worker_info.h>

#include <QJsonObject>
#include <QObject>

#include <functional>

namespace kairos::client {

class Client : public QObject {
    Q_OBJECT
public:
    enum class LinkState { Disconnected, Connecting, Connected };
    Q_ENUM(LinkState)
    using Reply = std::function<void(Result<QJsonObject>)>;

    using QObject::QObject;
    ~Client() override = default;

    // Calls `method`. `reply` runs exactly once on this thread, unless `context` (the object the
    // callback touches) is destroyed first; then it does not run at all.
    virtual void call(const QString &method, const QJsonObject &params, QObject *context,
                      Reply reply) = 0;
    // Asks for events: topics "instances", "jobs", "logs" (optionally only one instance's logs),
    // "tasks" (task progress of broadcast / map runs), "containers" (deploy stages, changes),
    // "workers" (state and metrics). Replaces the whole set each time.
    virtual void subscribe(const QStringList &topics, qint64 logsOfInstance = 0) = 0;

    virtual LinkState linkState() const = 0;
    // Where the client is attached, for the status bar: "local (/path/to/data)", "host:port".
    virtual QString endpoint() const = 0;

signals:
    void linkStateChanged(kairos::client::Client::LinkState state, const QString &detail);
    void instancesChanged(const QList<kairos::Instance> &instances);
    void logsAppended(const QList<kairos::LogLine> &lines);
    void jobChanged(const kairos::Job &job);
    void jobRemoved(qint64 jobId);
    // Task progress of BROADCAST / MAP / MAP_REDUCE runs (topic "tasks"): per instance attempt
    // the counts by state and up to TaskProgress::kMaxChangedPerEvent changed rows; `truncated`
    // means more rows changed than were sent (re-read a page with `instance.tasks`).
    void taskProgress(const QList<kairos::TaskProgress> &events);
    // Topic "containers": deploy stages as workers report them (worker filled in), and the
    // containers whose versions or deployments changed.
    void deployStages(const QList<kairos::DeployStage> &stages);
    void containersChanged(const QStringList &containers);
    // Topic "workers": workers whose state changed (metrics at most once a second per worker).
    void workersChanged(const QList<kairos::WorkerInfo> &workers);
};

} // namespace kairos::client
