#pragma once
// JobFeed: keeps a JobListModel equal to the server's job list. It loads `job.list` whenever
// the Client (re)connects, applies jobChanged/jobRemoved events as they come, and refreshes a
// job's next fire time when the job changes or fires (events carry the job, not its plan).
//
// GUI thread only. Replies are tied to this object: a feed that is gone gets no late reply.

#include <client/client.h>

#include <QObject>
#include <QSet>
#include <QTimer>

namespace kairos::ui {

class JobListModel;

class JobFeed : public QObject {
    Q_OBJECT
public:
    JobFeed(client::Client *client, JobListModel *model, QObject *parent = nullptr);

    // Loads the full list again (also done on every connect).
    void reload();
    bool isLoaded() const { return m_loaded; }

signals:
    void loaded();
    // A call failed; `message` says what the console tried and the server's reason.
    void failed(const QString &message);

private:
    void onJobChanged(const kairos::Job &job);
    void onInstancesChanged(const QList<kairos::Instance> &instances);
    void refreshNextFires();

    client::Client *m_client;
    JobListModel *m_model;
    bool m_loaded = false;
    int m_generation = 0; // bumps with each reload so a superseded reply is dropped
    QSet<qint64> m_staleNextFire;
    QTimer m_nextFireTimer;
};

} // namespace kairos::ui
