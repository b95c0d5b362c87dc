#pragma once
// A fake Kairos server for the worker tests: a real protocol::Listener on 127.0.0.1 that knows
// one worker login (app + secret), answers `register` with `registered` and acknowledges
// heartbeats (both can be turned off), answers the workers' `call`s through a test's handler
// (none: calls wait), and records every message each worker connection sent, with its arrival
// time, so tests can assert what a server would see. It speaks kairos::wire, the same codec as
// the real server.

#include <agent/monotonic_clock.h>
#include <protocol/listener.h>
#include <worker/wire.h>

#include <QHash>
#include <QList>
#include <QPointer>

#include <functional>

namespace kairos::test {

class MapLookup : public protocol::CredentialLookup {
public:
    std::optional<protocol::ScramCredential> find(const QString &role, const QString &name) override
    {
        const auto it = logins.constFind(role + u'/' + name);
        if (it == logins.constEnd())
            return std::nullopt;
        return *it;
    }
    QHash<QString, protocol::ScramCredential> logins;
};

class FakeServer : public QObject {
public:
    struct Received {
        int connection = 0; // 1 for the first connection that logged in, 2 for the next...
        protocol::Message message;
        qint64 atMs = 0; // monotonic ms of arrival
    };

    FakeServer(const QString &app, const QString &secret, protocol::ListenerOptions options = {})
        : m_lookup(std::make_shared<MapLookup>())
    {
        m_lookup->logins.insert(QStringLiteral("worker/") + app,
                                protocol::ScramCredential::derive(secret));
        m_listener = new protocol::Listener(m_lookup, std::move(options), this);
        connect(m_listener, &protocol::Listener::handshakeFailed, this,
                [this](const QString &, const QString &reason) { loginFailures.append(reason); });
        connect(m_listener, &protocol::Listener::connectionReady, this,
                [this](protocol::Connection *c) { onConnection(c); });
    }

    bool listen() { return m_listener->listen(QHostAddress::LocalHost).ok(); }
    quint16 port() const { return m_listener->serverPort(); }
    QString address() const { return QStringLiteral("127.0.0.1:%1").arg(port()); }

    // The connection of the latest login (null once it closed).
    protocol::Connection *current() const { return m_current; }
    int connectionCount() const { return m_connectionCount; }
    int openConnections() const
    {
        int n = 0;
        for (const auto &c : m_open)
            n += c ? 1 : 0;
        return n;
    }

    void send(const protocol::Message &m)
    {
        if (m_current)
            m_current->send(m);
    }
    void dispatch(const QList<TaskSpec> &tasks) { send(wire::encodeDispatch(tasks)); }

    QList<protocol::Message> ofType(QLatin1StringView type, int connection = 0) const
    {
        QList<protocol::Message> out;
        for (const Received &r : received) {
            if (r.message.type == type && (connection == 0 || r.connection == connection))
                out.append(r.message);
        }
        return out;
    }
    int count(QLatin1StringView type) const { return int(ofType(type).size()); }

    QList<TaskReport> reports() const
    {
        QList<TaskReport> out;
        for (const protocol::Message &m : ofType(wire::type::Status))
            out += wire::decodeStatus(m).items;
        return out;
    }
    // Reports of one task, by status name ("RUNNING", "SUCCEEDED", ...).
    QList<TaskReport> reportsOf(const TaskKey &key, std::optional<InstanceStatus> status = {}) const
    {
        QList<TaskReport> out;
        for (const TaskReport &r : reports()) {
            if (taskKeyOf(r) == key && (!status || r.status == *status))
                out.append(r);
        }
        return out;
    }
    QList<TaskKey> accepted() const
    {
        QList<TaskKey> out;
        for (const protocol::Message &m : ofType(wire::type::Accept))
            out += wire::decodeAccept(m).items;
        return out;
    }
    QList<TaskCall> calls() const
    {
        QList<TaskCall> out;
        for (const protocol::Message &m : ofType(wire::type::Call))
            out += wire::decodeCall(m).items;
        return out;
    }
    QList<wire::KeyReason> returned() const
    {
        QList<wire::KeyReason> out;
        for (const protocol::Message &m : ofType(wire::type::Return))
            out += wire::decodeReturn(m).items;
        return out;
    }

    // Behaviour.
    bool answerRegister = true;
    bool ackHeartbeats = true;
    wire::RegisteredReply reply;
    // Answers the calls of one `call` message (replies are sent at once); unset: never answered.
    std::function<QList<TaskCallReply>(const QList<TaskCall> &)> callHandler;

    QList<Received> received;
    QStringList loginFailures;

private:
    void onConnection(protocol::Connection *c)
    {
        const int number = ++m_connectionCount;
        m_current = c;
        m_open.append(c);
        connect(c, &protocol::Connection::messageReceived, this,
                [this, c, number](const protocol::Message &m) {
                    received.append(Received{number, m, agent::monotonicMs()});
                    if (m.type == wire::type::Register && answerRegister) {
                        c->send(wire::encodeRegistered(reply));
                    } else if (m.type == wire::type::Heartbeat && ackHeartbeats) {
                        if (const auto hb = wire::decodeHeartbeat(m))
                            c->send(wire::encodeHeartbeatAck(hb->ts));
                    } else if (m.type == wire::type::Call && callHandler) {
                        const QList<TaskCallReply> replies = callHandler(wire::decodeCall(m).items);
                        if (!replies.isEmpty())
                            c->send(wire::encodeCallReply(replies));
                    }
                });
    }

    std::shared_ptr<MapLookup> m_lookup;
    protocol::Listener *m_listener = nullptr;
    QPointer<protocol::Connection> m_current;
    QList<QPointer<protocol::Connection>> m_open;
    int m_connectionCount = 0;
};

inline TaskSpec echoTask(qint64 instance, const QString &message, int attempt = 1, qint64 task = 0)
{
    TaskSpec t;
    t.instanceId = instance;
    t.attempt = attempt;
    t.taskId = task;
    t.jobName = QStringLiteral("echo-job");
    t.processor = ProcessorKind::Echo;
    t.config = QJsonObject{{QStringLiteral("message"), message}};
    return t;
}

inline TaskSpec sleepTask(qint64 instance, int ms, int attempt = 1, qint64 task = 0)
{
    TaskSpec t;
    t.instanceId = instance;
    t.attempt = attempt;
    t.taskId = task;
    t.jobName = QStringLiteral("sleep-job");
    t.processor = ProcessorKind::Sleep;
    t.config = QJsonObject{{QStringLiteral("ms"), ms}};
    return t;
}

// A task of the built-in map-reduce processor (engine/worker/builtin_processors.h): the root maps
// the numbers 1..count, `batch` per map() call; the reduce reads every result back.
inline TaskSpec rangeSumTask(qint64 instance, TaskRole role, qint64 task, int count, int batch)
{
    TaskSpec t;
    t.instanceId = instance;
    t.taskId = task;
    t.jobName = QStringLiteral("range-sum-job");
    t.processor = ProcessorKind::Container;
    t.mode = ExecutionMode::MapReduce;
    t.role = role;
    t.taskName = role == TaskRole::Root ? QStringLiteral("root") : QStringLiteral("reduce");
    t.config = QJsonObject{{QStringLiteral("ref"), QStringLiteral("builtin#range-sum")},
                           {QStringLiteral("count"), count},
                           {QStringLiteral("batch"), batch}};
    return t;
}

inline TaskSpec shellTask(qint64 instance, const QString &script, int attempt = 1)
{
    TaskSpec t;
    t.instanceId = instance;
    t.attempt = attempt;
    t.jobName = QStringLiteral("shell-job");
    t.processor = ProcessorKind::Shell;
    t.config = QJsonObject{{QStringLiteral("script"), script}};
    return t;
}

} // namespace kairos::test
