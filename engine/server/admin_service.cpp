#include "admin_service.h"

#include "container_service.h"
#include "credentials.h"
#include "server_log.h"

#include <QCborArray>
#include <QJsonArray>

namespace kairos::server {
namespace {

constexpr int kEventFlushMs = 50;
constexpr int kMaxPendingLogLines = 5000; // per subscriber; older lines are read on demand

QCborMap toCbor(const QJsonObject &o)
{
    return QCborMap::fromJsonObject(o);
}
QJsonObject toJson(const QCborMap &m)
{
    return m.toJsonObject();
}

} // namespace

void TaskProgressBuffer::add(const QList<TaskProgress> &events)
{
    for (const TaskProgress &event : events) {
        const Key key{event.instanceId, event.attempt};
        auto it = m_entries.find(key);
        if (it == m_entries.end()) {
            m_order << key;
            it = m_entries.insert(key, Entry{});
            it->progress.instanceId = event.instanceId;
            it->progress.attempt = event.attempt;
        }
        TaskProgress &merged = it->progress;
        merged.counts = event.counts; // counts are absolute: the newest wins
        merged.truncated = merged.truncated || event.truncated;
        for (const TaskInfo &row : event.changed) {
            const auto known = it->rowOfTask.constFind(row.taskId);
            if (known != it->rowOfTask.cend()) {
                merged.changed[*known] = row;
            } else if (merged.changed.size() < TaskProgress::kMaxChangedPerEvent) {
                it->rowOfTask.insert(row.taskId, merged.changed.size());
                merged.changed << row;
            } else {
                merged.truncated = true;
            }
        }
    }
}

QList<TaskProgress> TaskProgressBuffer::take()
{
    QList<TaskProgress> out;
    out.reserve(m_order.size());
    for (const Key &key : std::as_const(m_order))
        out << m_entries.value(key).progress;
    m_order.clear();
    m_entries.clear();
    return out;
}

void DeployStageBuffer::add(const QList<DeployStage> &stages)
{
    for (const DeployStage &stage : stages) {
        const QString key =
            stage.worker + QChar(0) + stage.container + QChar(0) + QString::number(stage.deployId);
        auto it = m_entries.find(key);
        if (it != m_entries.end()) {
            *it = stage; // the newest wins; the entry keeps its place
            continue;
        }
        m_entries.insert(key, stage);
        m_order << key;
        while (m_entries.size() > kMaxEntries && !m_order.isEmpty()) {
            if (m_entries.remove(m_order.takeFirst()))
                ++m_dropped;
        }
    }
}

QList<DeployStage> DeployStageBuffer::take()
{
    QList<DeployStage> out;
    out.reserve(m_entries.size());
    for (const QString &key : std::as_const(m_order)) {
        const auto it = m_entries.constFind(key);
        if (it != m_entries.cend())
            out << *it;
    }
    m_order.clear();
    m_entries.clear();
    m_dropped = 0;
    return out;
}

AdminService::AdminService(Engine &engine, std::shared_ptr<CredentialCache> credentials,
                           QObject *parent)
    : QObject(parent)
    , m_engine(engine)
    , m_api(engine, credentials)
    , m_credentials(std::move(credentials))
    , m_workers(engine)
{
    m_flush.setInterval(kEventFlushMs);
    connect(&m_flush, &QTimer::timeout, this, &AdminService::flushEvents);
    connect(&m_engine, &Engine::instancesChanged, this, &AdminService::onInstances);
    connect(&m_engine, &Engine::logsAppended, this, &AdminService::onLogs);
    connect(&m_engine, &Engine::workersChanged, this, &AdminService::onWorkers);
    connect(&m_engine, &Engine::taskProgress, this, &AdminService::onTaskProgress);
    if (ContainerService *containers = m_engine.containers()) {
        connect(containers, &ContainerService::stagesReported, this, &AdminService::onDeployStages);
        connect(containers, &ContainerService::containersChanged, this,
                &AdminService::onContainersChanged);
    }
    connect(&m_engine, &Engine::jobChanged, this, [this](const Job &job) {
        for (Subscriber &s : m_clients) {
            if (s.jobs && s.connection)
                s.connection->sendEvent(QStringLiteral("job"),
                                        QCborMap::fromJsonObject(AdminApi::jobEvent(job)));
        }
    });
    connect(&m_engine, &Engine::jobRemoved, this, [this](qint64 id) {
        for (Subscriber &s : m_clients) {
            if (s.jobs && s.connection)
                s.connection->sendEvent(QStringLiteral("jobRemoved"),
                                        QCborMap{{QStringLiteral("id"), id}});
        }
    });
}

AdminService::~AdminService() = default;

Status AdminService::listen(const QHostAddress &address, quint16 port,
                            const protocol::ListenerOptions &options)
{
    protocol::ListenerOptions opts = options;
    opts.connection.auth.serverId = m_engine.serverId();
    m_listener = new protocol::Listener(m_credentials, opts, this);
    connect(m_listener, &protocol::Listener::connectionReady, this, &AdminService::onConnection);
    return m_listener->listen(address, port);
}

quint16 AdminService::port() const
{
    return m_listener ? m_listener->serverPort() : 0;
}

void AdminService::onConnection(protocol::Connection *connection)
{
    if (connection->role() == QLatin1String("worker")) {
        m_workers.adopt(connection);
        return;
    }
    if (connection->role() != QLatin1String("admin")) {
        // The handshake admits only these two roles; anything else is a bug worth a clear end.
        connection->close(tr("role '%1' is not served here").arg(connection->role()));
        return;
    }
    m_clients.insert(connection, Subscriber{connection});
    connect(connection, &protocol::Connection::requestReceived, this,
            [this, connection](qint64 id, const QString &method, const QCborMap &params) {
                onRequest(connection, id, method, params);
            });
    connect(connection, &protocol::Connection::messageReceived, connection,
            &protocol::Connection::replyUnknownType);
    connect(connection, &protocol::Connection::closed, this, [this, connection] {
        m_clients.remove(connection);
        connection->deleteLater();
    });
    qCInfo(lcAdmin) << "administrator" << connection->name() << "connected from"
                    << connection->peerAddress();
}

void AdminService::onRequest(protocol::Connection *connection, qint64 id, const QString &method,
                             const QCborMap &params)
{
    QPointer<protocol::Connection> guard(connection);
    if (method == QLatin1String("events.subscribe")) {
        Subscriber &s = m_clients[connection];
        const QJsonObject p = toJson(params);
        const QJsonArray topics = p.value(QStringLiteral("topics")).toArray();
        for (const QJsonValue &t : topics) {
            const QString topic = t.toString();
            if (topic == QLatin1String("instances"))
                s.instances = true;
            else if (topic == QLatin1String("jobs"))
                s.jobs = true;
            else if (topic == QLatin1String("logs"))
                s.logs = true;
            else if (topic == QLatin1String("workers"))
                s.workers = true;
            else if (topic == QLatin1String("tasks"))
                s.tasks = true;
            else if (topic == QLatin1String("containers"))
                s.containers = true;
            else
                return connection->reply(
                    id, makeError(tr("topics: unknown topic \"%1\"; expected containers, tasks, "
                                     "instances, jobs, logs or workers")
                                      .arg(topic)));
        }
        s.logsOfInstance = p.value(QStringLiteral("instanceId")).toInteger();
        if (!m_flush.isActive())
            m_flush.start();
        return connection->reply(id, QCborMap{{QStringLiteral("subscribed"), true}});
    }
    m_api.handle(
        method, toJson(params),
        [guard, id](Result<QJsonObject> result) {
            if (!guard)
                return;
            if (!result.ok())
                return guard->reply(id, makeError(result.error()));
            guard->reply(id, toCbor(*result));
        },
        connection->name());
}

void AdminService::onInstances(const QList<Instance> &instances)
{
    for (Subscriber &s : m_clients) {
        if (!s.instances)
            continue;
        for (const Instance &i : instances)
            s.pendingInstances.insert(i.id, i);
    }
}

void AdminService::onLogs(const QList<LogLine> &lines)
{
    for (Subscriber &s : m_clients) {
        if (!s.logs)
            continue;
        for (const LogLine &l : lines) {
            if (s.logsOfInstance == 0 || s.logsOfInstance == l.instanceId)
                s.pendingLogs << l;
        }
        if (s.pendingLogs.size() > kMaxPendingLogLines) {
            // A subscriber that cannot keep up gets the newest lines; it can read the rest.
            s.pendingLogs.erase(s.pendingLogs.begin(), s.pendingLogs.end() - kMaxPendingLogLines);
        }
    }
}

void AdminService::onWorkers(const QList<WorkerInfo> &workers)
{
    for (Subscriber &s : m_clients) {
        if (!s.workers)
            continue;
        for (const WorkerInfo &w : workers)
            s.pendingWorkers.insert(w.id, w);
    }
}

void AdminService::onTaskProgress(const QList<TaskProgress> &events)
{
    for (Subscriber &s : m_clients) {
        if (s.tasks)
            s.pendingTasks.add(events);
    }
}

void AdminService::onDeployStages(const QList<DeployStage> &stages)
{
    for (Subscriber &s : m_clients) {
        if (s.containers)
            s.pendingStages.add(stages);
    }
}

void AdminService::onContainersChanged(const QStringList &names)
{
    for (Subscriber &s : m_clients) {
        if (!s.containers)
            continue;
        for (const QString &name : names) {
            if (!s.pendingChanged.contains(name))
                s.pendingChanged << name;
        }
    }
}

void AdminService::flushEvents()
{
    for (Subscriber &s : m_clients) {
        if (!s.connection)
            continue;
        if (!s.pendingInstances.isEmpty()) {
            const QList<Instance> list = s.pendingInstances.values();
            s.pendingInstances.clear();
            s.connection->sendEvent(QStringLiteral("instances"),
                                    toCbor(AdminApi::instancesEvent(list)));
        }
        if (!s.pendingLogs.isEmpty()) {
            s.connection->sendEvent(QStringLiteral("logs"),
                                    toCbor(AdminApi::logsEvent(std::exchange(s.pendingLogs, {}))));
        }
        if (!s.pendingWorkers.isEmpty()) {
            QJsonArray list;
            for (const WorkerInfo &w : std::as_const(s.pendingWorkers))
                list.append(workerToJson(w));
            s.pendingWorkers.clear();
            s.connection->sendEvent(QStringLiteral("workers"),
                                    toCbor(QJsonObject{{QStringLiteral("workers"), list}}));
        }
        if (!s.pendingTasks.isEmpty()) {
            s.connection->sendEvent(QStringLiteral("tasks"),
                                    toCbor(AdminApi::tasksEvent(s.pendingTasks.take())));
        }
        if (!s.pendingStages.isEmpty() || !s.pendingChanged.isEmpty()) {
            if (s.pendingStages.dropped() > 0) {
                qCInfo(lcAdmin) << "dropped" << s.pendingStages.dropped()
                                << "deploy stages for a slow subscriber";
            }
            s.connection->sendEvent(
                QStringLiteral("containers"),
                toCbor(AdminApi::containersEvent(s.pendingStages.take(),
                                                 std::exchange(s.pendingChanged, {}))));
        }
    }
}

} // namespace kairos::server
