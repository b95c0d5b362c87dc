#pragma once
// FakeClient: a scripted Client for CommandRunner tests. Each admin method has a handler that
// computes the reply when the call is made; the reply is delivered on a later event-loop turn,
// as from a real server. Handlers can also push events (instancesChanged, logsAppended,
// deployStages) that arrive before their reply. Every call and subscription is recorded in order.

#include <client/client.h>

#include <QHash>
#include <QJsonArray>
#include <QMetaObject>
#include <QPointer>

#include <optional>

namespace kairos::cli::test {

class FakeClient : public client::Client {
    Q_OBJECT
public:
    // nullopt: the server never answers (the call stays pending).
    using Handler = std::function<std::optional<Result<QJsonObject>>(const QJsonObject &params)>;

    struct Call {
        QString method; // "events.subscribe" for subscribe()
        QJsonObject params;
    };

    QHash<QString, Handler> handlers;
    QList<Call> calls;
    LinkState state = LinkState::Connected;

    void call(const QString &method, const QJsonObject &params, QObject *context,
              Reply reply) override
    {
        calls.append({method, params});
        const Handler handler = handlers.value(method);
        std::optional<Result<QJsonObject>> result =
            handler ? handler(params)
                    : std::optional<Result<QJsonObject>>(
                        makeError(QStringLiteral("unknown method \"%1\"").arg(method)));
        if (!result)
            return;
        QPointer<QObject> guard(context);
        QMetaObject::invokeMethod(
            this,
            [guard, reply, r = *result] {
                if (guard)
                    reply(r);
            },
            Qt::QueuedConnection);
    }

    void subscribe(const QStringList &topics, qint64 logsOfInstance = 0) override
    {
        QJsonObject p{{QStringLiteral("topics"), QJsonArray::fromStringList(topics)}};
        if (logsOfInstance)
            p[QStringLiteral("instanceId")] = logsOfInstance;
        calls.append({QStringLiteral("events.subscribe"), p});
    }

    LinkState linkState() const override { return state; }
    QString endpoint() const override { return QStringLiteral("fake:1"); }

    void setLink(LinkState s, const QString &detail)
    {
        state = s;
        emit linkStateChanged(s, detail);
    }
    // Events, delivered on a later turn (after replies already queued).
    void pushInstances(const QList<Instance> &instances)
    {
        QMetaObject::invokeMethod(
            this, [this, instances] { emit instancesChanged(instances); }, Qt::QueuedConnection);
    }
    void pushLogs(const QList<LogLine> &lines)
    {
        QMetaObject::invokeMethod(
            this, [this, lines] { emit logsAppended(lines); }, Qt::QueuedConnection);
    }

    void pushDeployStages(const QList<DeployStage> &stages)
    {
        QMetaObject::invokeMethod(
            this, [this, stages] { emit deployStages(stages); }, Qt::QueuedConnection);
    }

    QStringList methods() const
    {
        QStringList out;
        for (const Call &c : calls)
            out << c.method;
        return out;
    }
};

} // namespace kairos::cli::test
