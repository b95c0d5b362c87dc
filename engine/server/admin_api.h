#pragma once
// AdminApi: the administrator operations as named methods with JSON parameters — the one
// table that both the admin protocol service (remote console, kairosctl) and the in-process
// client (local mode) call, so both modes behave the same by construction. docs/protocol.md
// lists every method.
//
// Not thread-safe: engine thread only (it calls the Engine).

#include "engine.h"

#include <core/container_info.h>

#include <QJsonObject>
#include <QJsonValue>

namespace kairos::server {

class CredentialCache;

class AdminApi {
public:
    using Done = std::function<void(Result<QJsonObject>)>;

    // `credentials` serves the app.* methods; without it they answer "apps are not managed here".
    // worker.list reads Engine::workers().
    explicit AdminApi(Engine &engine, std::shared_ptr<CredentialCache> credentials = nullptr)
        : m_engine(engine)
        , m_credentials(std::move(credentials))
    {}

    // Runs `method` with `params`; `done` is called exactly once, possibly synchronously.
    // `user` is who asks (the administrator's login name; "local" in-process): recorded with
    // container uploads and deployments.
    void handle(const QString &method, const QJsonObject &params, Done done,
                const QString &user = QStringLiteral("local"));

    static QStringList methods();

    // Event payloads, shared by the service (wire) and clients (decoding).
    static QJsonObject instancesEvent(const QList<Instance> &instances);
    static QJsonObject logsEvent(const QList<LogLine> &lines);
    static QJsonObject jobEvent(const Job &job);
    // The `tasks` topic: {events: [TaskProgress]}.
    static QJsonObject tasksEvent(const QList<TaskProgress> &events);
    // The `containers` topic: {stages: [DeployStage]} and/or {changed: [name]} (a key only when
    // its list is not empty).
    static QJsonObject containersEvent(const QList<kairos::DeployStage> &stages,
                                       const QStringList &changed);

private:
    Result<Job> resolveJob(const QJsonObject &params) const;
    // worker.* and app.* methods; false for a method it does not know.
    bool handleWorkersAndApps(const QString &method, const QJsonObject &params, const Done &done);
    // container.* methods (docs/containers.md section 7); false for a method it does not know.
    bool handleContainers(const QString &method, const QJsonObject &params, const Done &done,
                          const QString &user);
    // container.list / container.versions / container.status replies.
    QJsonObject containerList() const;
    Result<QJsonObject> containerVersions(const QString &name) const;
    QJsonObject containerStatus(const QString &name) const;

    Engine &m_engine;
    std::shared_ptr<CredentialCache> m_credentials;
};

// Reads an InstanceFilter from request params, naming bad fields.
Result<InstanceFilter> instanceFilterFromJson(const QJsonObject &params);
QJsonObject instanceFilterToJson(const InstanceFilter &filter);

// Reads the paging and filter params of `instance.tasks` ({attempt?, status?: [STATE],
// after?, limit? (1-1000, default 100)}), naming bad fields: "limit: 5000 is outside 1-1000".
Result<TaskFilter> taskFilterFromJson(const QJsonObject &params);
// The states a task can be in, in the order of its life (WAITING_DISPATCH ... CANCELED).
QStringList taskStatusNames();

} // namespace kairos::server
