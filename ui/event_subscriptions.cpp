#include "event_subscriptions.h"

#include <algorithm>

namespace kairos::ui {

EventSubscriptions::EventSubscriptions(client::Client *client, QObject *parent)
    : QObject(parent)
    , m_client(client)
{
    apply();
}

void EventSubscriptions::want(QObject *owner, const QStringList &topics)
{
    if (!owner)
        return;
    if (!m_wishes.contains(owner)) {
        // Withdraw the wish when the owner goes; the lambda never touches the dying object.
        connect(owner, &QObject::destroyed, this, [this, owner] {
            m_wishes.remove(owner);
            apply();
        });
    }
    if (topics.isEmpty())
        m_wishes.remove(owner);
    else
        m_wishes.insert(owner, topics);
    apply();
}

void EventSubscriptions::setLogsOf(qint64 instanceId)
{
    if (instanceId == m_logsOf)
        return;
    m_logsOf = instanceId;
    apply();
}

QStringList EventSubscriptions::topics() const
{
    QStringList topics{QStringLiteral("instances"), QStringLiteral("jobs")};
    for (const QStringList &wish : m_wishes)
        topics << wish;
    if (m_logsOf)
        topics << QStringLiteral("logs");
    topics.removeDuplicates();
    std::sort(topics.begin(), topics.end());
    return topics;
}

void EventSubscriptions::apply()
{
    const QStringList wanted = topics();
    // Subscribing again costs a round trip on a remote link: only when something changed.
    if (wanted == m_applied && m_logsOf == m_appliedLogsOf)
        return;
    m_applied = wanted;
    m_appliedLogsOf = m_logsOf;
    m_client->subscribe(wanted, m_logsOf);
}

} // namespace kairos::ui
