#pragma once
// EventSubscriptions: the one place that tells the Client which events the console wants.
// Client::subscribe replaces the whole set each time, so the views must not call it on their
// own: the jobs and instances topics are always on, the log topic follows the run whose log is
// shown.
//
// GUI thread only.

#include <client/client.h>

#include <QStringList>

namespace kairos::ui {

class EventSubscriptions {
public:
    explicit EventSubscriptions(client::Client *client);

    // Follow the log of this run (0: no log).
    void setLogsOf(qint64 instanceId);
    qint64 logsOf() const { return m_logsOf; }

private:
    void apply();

    client::Client *m_client;
    qint64 m_logsOf = 0;
};

} // namespace kairos::ui
