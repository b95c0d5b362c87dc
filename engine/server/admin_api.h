#pragma once
// AdminApi: the administrator operations as named methods with JSON parameters — the one
// table that both the admin protocol service (remote console, kairosctl) and the in-process
// client (local mode) call, so both modes behave the same by construction. docs/protocol.md
// lists every method.
//
// Not thread-safe: engine thread only (it calls the Engine).

#include "engine.h"

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
    void handle(const QString &method, const QJsonObject &params, Done done);

    static QStringList methods();

    // Event payloads, shared by the service (wire) and clients (decoding).
    static QJsonObject instancesEvent(const QList<Instance> &instances);
    static QJsonObject logsEvent(const QList<LogLine> &lines);
    static QJsonObject jobEvent(const Job &job);
    // The `tasks` topic: {events: [TaskProgress]}.
    static QJsonObject tasksEvent(const QList<TaskProgress> &events);

private:
    Result<Job> resolveJob(const QJsonObject &params) const;
    // worker.* and app.* methods; false for a method it does not know.
    bool handleWorkersAndApps(const QString &method, const QJsonObject &params, const Done &done);

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
