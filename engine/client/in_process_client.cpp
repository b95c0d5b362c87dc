#include "in_process_client.h"

#include <server/admin_api.h>
#include <server/admin_service.h>
#include <server/container_service.h>
#include <server/credentials.h>

#include <QHostAddress>
#include <QPointer>

namespace kairos::client {

LocalEngineHost::LocalEngineHost(server::EngineConfig config, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
{
    m_thread.setObjectName(QStringLiteral("kairos-engine"));
}

LocalEngineHost::~LocalEngineHost()
{
    if (m_engine) {
        // Stop and destroy the engine on its own thread, then end the thread.
        QMetaObject::invokeMethod(
            m_engine, [engine = m_engine] { delete engine; }, Qt::BlockingQueuedConnection);
        m_engine = nullptr;
    }
    m_thread.quit();
    m_thread.wait();
}

void LocalEngineHost::setAdminListenPort(quint16 port, QString dataDir)
{
    m_adminPort = port;
    m_dataDir = std::move(dataDir);
}

void LocalEngineHost::start()
{
    m_thread.start();
    m_engine = new server::Engine(m_config);
    m_engine->moveToThread(&m_thread);
    QPointer<LocalEngineHost> self(this);
    QMetaObject::invokeMethod(
        m_engine, [self, engine = m_engine, port = m_adminPort, dataDir = m_dataDir] {
            std::shared_ptr<server::CredentialCache> credentials;
            Status status = engine->start();
            if (status.ok()) {
                // Always: the in-process client manages apps too (app.list, app.create).
                credentials = std::make_shared<server::CredentialCache>(engine->store());
            }
            if (status.ok() && port != 0) {
                // The listener takes kairosctl, remote consoles and workers, so the
                // administrator and the app `default` need their secrets in the data folder.
                status = server::bootstrapAdministrator(*credentials, dataDir);
                if (status.ok())
                    status = server::bootstrapDefaultApp(*credentials, dataDir);
                if (status.ok()) {
                    auto *service = new server::AdminService(*engine, credentials, engine);
                    status = service->listen(QHostAddress::LocalHost, port, {});
                }
            }
            QMetaObject::invokeMethod(self.data(), [self, status, credentials] {
                if (!self)
                    return;
                self->m_running = status.ok();
                self->m_credentials = credentials;
                if (status.ok())
                    emit self->started();
                else
                    emit self->failed(status.error());
            });
        });
}

InProcessClient::InProcessClient(LocalEngineHost *host, QObject *parent)
    : Client(parent)
    , m_host(host)
{
    connect(host, &LocalEngineHost::started, this, [this] {
        wireEvents();
        emit linkStateChanged(LinkState::Connected, endpoint());
    });
    connect(host, &LocalEngineHost::failed, this, [this](const QString &reason) {
        emit linkStateChanged(LinkState::Disconnected, reason);
    });
    if (host->isRunning())
        wireEvents();
}

InProcessClient::~InProcessClient()
{
    if (m_api && m_host->engine()) {
        // The API object must die on the engine thread, after any call still queued there.
        QMetaObject::invokeMethod(m_host->engine(),
                                  [api = std::move(m_api)]() mutable { api.reset(); });
    }
}

void InProcessClient::wireEvents()
{
    if (m_wired || !m_host->engine())
        return;
    m_wired = true;
    server::Engine *engine = m_host->engine();
    m_api = std::make_shared<server::AdminApi>(*engine, m_host->credentials());
    connect(engine, &server::Engine::instancesChanged, this, &Client::instancesChanged,
            Qt::QueuedConnection);
    connect(
        engine, &server::Engine::logsAppended, this,
        [this](const QList<LogLine> &lines) {
            if (m_logsOfInstance == 0) {
                emit logsAppended(lines);
                return;
            }
            QList<LogLine> mine;
            for (const LogLine &l : lines) {
                if (l.instanceId == m_logsOfInstance)
                    mine << l;
            }
            if (!mine.isEmpty())
                emit logsAppended(mine);
        },
        Qt::QueuedConnection);
    connect(engine, &server::Engine::jobChanged, this, &Client::jobChanged, Qt::QueuedConnection);
    connect(engine, &server::Engine::jobRemoved, this, &Client::jobRemoved, Qt::QueuedConnection);
    connect(engine, &server::Engine::workersChanged, this, &Client::workersChanged,
            Qt::QueuedConnection);
    // Already coalesced by the engine's task tracker (at most four events a second per run).
    connect(engine, &server::Engine::taskProgress, this, &Client::taskProgress,
            Qt::QueuedConnection);
    // The `containers` topic: deploy stages (a worker reports DOWNLOADING at most every 100 ms)
    // and changed containers, forwarded as they come.
    if (server::ContainerService *containers = engine->containers()) {
        connect(containers, &server::ContainerService::stagesReported, this, &Client::deployStages,
                Qt::QueuedConnection);
        connect(containers, &server::ContainerService::containersChanged, this,
                &Client::containersChanged, Qt::QueuedConnection);
    }
}

void InProcessClient::call(const QString &method, const QJsonObject &params, QObject *context,
                           Reply reply)
{
    QPointer<QObject> guard(context);
    const bool hasContext = context != nullptr;
    QPointer<InProcessClient> self(this);
    auto deliver = [self, guard, hasContext, reply](Result<QJsonObject> result) {
        // Back to the client's thread; the guard is checked there, where the context lives.
        QMetaObject::invokeMethod(self.data(), [self, guard, hasContext, reply, result] {
            if (!self || (hasContext && !guard))
                return;
            reply(result);
        });
    };
    if (!m_api) {
        deliver(makeError(tr("the local engine is not running")));
        return;
    }
    QMetaObject::invokeMethod(m_host->engine(), [api = m_api, method, params, deliver] {
        api->handle(method, params, deliver);
    });
}

void InProcessClient::subscribe(const QStringList &, qint64 logsOfInstance)
{
    // Every engine event is wired already; only the log filter matters in-process.
    m_logsOfInstance = logsOfInstance;
}

Client::LinkState InProcessClient::linkState() const
{
    return m_host->isRunning() ? LinkState::Connected : LinkState::Connecting;
}

QString InProcessClient::endpoint() const
{
    return tr("local (%1)").arg(m_host->dataDescription());
}

} // namespace kairos::client
