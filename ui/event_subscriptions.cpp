#include "event_subscriptions.h"

namespace kairos::ui {

EventSubscriptions::EventSubscriptions(client::Client *client)
    : m_client(client)
{
    apply();
}

void EventSubscriptions::setLogsOf(qint64 instanceId)
{
    if (instanceId == m_logsOf)
        return;
    m_logsOf = instanceId;
    apply();
}

void EventSubscriptions::apply()
{
    QStringList topics{QStringLiteral("instances"), QStringLiteral("jobs")};
    if (m_logsOf)
        topics << QStringLiteral("logs");
    m_client->subscribe(topics, m_logsOf);
}

} // namespace kairos::ui
