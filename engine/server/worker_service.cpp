#include "worker_service.h"

#include "engine.h"

#include <protocol/connection.h>

namespace kairos::server {

WorkerService::WorkerService(Engine &engine, QObject *parent)
    : QObject(parent)
    , m_engine(engine)
{}

WorkerService::~WorkerService() = default;

void WorkerService::adopt(protocol::Connection *connection)
{
    const EngineConfig &config = m_engine.config();
    RemoteWorkerSettings settings;
    settings.heartbeatMs = config.workerHeartbeatMs;
    settings.deadAfterMs = config.workerDeadAfterMs;
    settings.leaseMs = config.workerLeaseMs;
    settings.serverId = m_engine.serverId();
    auto *link = new RemoteWorkerLink(connection, settings, this);
    m_links.insert(link);
    connect(link, &RemoteWorkerLink::registrationAccepted, this,
            [this, link] { m_engine.addWorkerLink(link); });
    connect(link, &RemoteWorkerLink::finished, this, [this, link] {
        m_links.remove(link);
        // Later: finished() is emitted from inside the link's own handlers.
        link->deleteLater();
    });
}

} // namespace kairos::server
