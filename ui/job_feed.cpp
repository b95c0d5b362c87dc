#include "job_feed.h"

#include "job_list_model.h"
#include "ui_log.h"

#include <QJsonArray>

#include <utility>

namespace kairos::ui {

JobFeed::JobFeed(client::Client *client, JobListModel *model, QObject *parent)
    : QObject(parent)
    , m_client(client)
    , m_model(model)
{
    // Fires come in bursts (many jobs on the same minute): ask for their plans once per burst.
    m_nextFireTimer.setSingleShot(true);
    m_nextFireTimer.setInterval(250);
    connect(&m_nextFireTimer, &QTimer::timeout, this, &JobFeed::refreshNextFires);

    connect(client, &client::Client::jobChanged, this, &JobFeed::onJobChanged);
    connect(client, &client::Client::jobRemoved, this, [this](qint64 id) { m_model->remove(id); });
    connect(client, &client::Client::instancesChanged, this, &JobFeed::onInstancesChanged);
    connect(client, &client::Client::linkStateChanged, this,
            [this](client::Client::LinkState state) {
                if (state == client::Client::LinkState::Connected)
                    reload();
            });
    if (client->linkState() == client::Client::LinkState::Connected)
        reload();
}

void JobFeed::reload()
{
    const int generation = ++m_generation;
    m_client->call(QStringLiteral("job.list"), {}, this,
                   [this, generation](Result<QJsonObject> reply) {
                       if (generation != m_generation)
                           return;
                       if (!reply.ok()) {
                           qCWarning(lcUiJobs) << "job.list failed:" << reply.error();
                           emit failed(tr("Could not load the jobs: %1").arg(reply.error()));
                           return;
                       }
                       QList<JobRow> rows;
                       for (const QJsonValue &v : reply->value(QStringLiteral("jobs")).toArray()) {
                           if (auto row = JobListModel::rowFromJson(v.toObject()))
                               rows << *row;
                           else
                               qCWarning(lcUiJobs) << "skipping an unreadable job" << v;
                       }
                       m_model->reset(rows);
                       m_loaded = true;
                       emit loaded();
                   });
}

void JobFeed::onJobChanged(const Job &job)
{
    m_model->upsert(job);
    m_staleNextFire.insert(job.id);
    m_nextFireTimer.start();
}

void JobFeed::onInstancesChanged(const QList<Instance> &instances)
{
    // A scheduled fire moves the job's next fire on; new runs are the sign of one.
    for (const Instance &i : instances) {
        if (i.trigger != TriggerKind::Api && i.status == InstanceStatus::WaitingDispatch
            && i.attempt == 1 && m_model->rowOf(i.jobId) >= 0)
            m_staleNextFire.insert(i.jobId);
    }
    if (!m_staleNextFire.isEmpty() && !m_nextFireTimer.isActive())
        m_nextFireTimer.start();
}

void JobFeed::refreshNextFires()
{
    const QSet<qint64> ids = std::exchange(m_staleNextFire, {});
    for (qint64 id : ids) {
        m_client->call(QStringLiteral("job.get"), QJsonObject{{QStringLiteral("id"), id}}, this,
                       [this, id](Result<QJsonObject> reply) {
                           // A job deleted meanwhile is not an error worth a banner.
                           if (!reply.ok()) {
                               qCInfo(lcUiJobs) << "job.get" << id << "failed:" << reply.error();
                               return;
                           }
                           if (auto row = JobListModel::rowFromJson(*reply))
                               m_model->upsert(row->job, row->nextFireMs);
                       });
    }
}

} // namespace kairos::ui
