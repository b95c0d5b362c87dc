#include "server_rotation.h"

namespace kairos::agent {

ServerRotation::ServerRotation(QList<ServerAddress> servers, int initialDelayMs, int maxDelayMs,
                               quint32 seed)
    : m_servers(std::move(servers))
    , m_backoff(initialDelayMs, maxDelayMs, seed)
{
    if (m_servers.isEmpty())
        m_servers.append(ServerAddress{QStringLiteral("127.0.0.1"), 7070});
}

ServerRotation::Attempt ServerRotation::first()
{
    m_index = 0;
    return {m_servers.at(0), 0};
}

ServerRotation::Attempt ServerRotation::afterFailure()
{
    if (m_index + 1 < m_servers.size()) {
        ++m_index;
        return {m_servers.at(m_index), 0};
    }
    m_index = 0;
    return {m_servers.at(0), m_backoff.nextDelayMs()};
}

ServerRotation::Attempt ServerRotation::afterLoss()
{
    m_backoff.reset();
    m_index = 0;
    return {m_servers.at(0), m_backoff.nextDelayMs()};
}

} // namespace kairos::agent
