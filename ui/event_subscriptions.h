#pragma once
// EventSubscriptions: the one place that tells the Client which events the console wants.
// Client::subscribe replaces the whole set each time, so the views must not call it on their
// own: the jobs and instances topics are always on; a view asks for the topics it shows
// ("workers", "containers", "tasks") with want(), for as long as it lives; the log topic follows
// the run whose log is shown.
//
// GUI thread only.

#include <client/client.h>

#include <QHash>
#include <QObject>
#include <QStringList>

namespace kairos::ui {

class EventSubscriptions : public QObject {
    Q_OBJECT
public:
    explicit EventSubscriptions(client::Client *client, QObject *parent = nullptr);

    // The topics `owner` needs now (replaces its earlier wish; an empty list withdraws it). The
    // wish ends by itself when `owner` is destroyed.
    void want(QObject *owner, const QStringList &topics);
    // Follow the log of this run (0: no log).
    void setLogsOf(qint64 instanceId);
    qint64 logsOf() const { return m_logsOf; }
    // Every topic asked for now, sorted.
    QStringList topics() const;

private:
    void apply();

    client::Client *m_client;
    QHash<QObject *, QStringList> m_wishes;
    qint64 m_logsOf = 0;
    QStringList m_applied;
    qint64 m_appliedLogsOf = -1;
};

} // namespace kairos::ui
