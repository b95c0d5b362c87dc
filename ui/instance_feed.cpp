#include "instance_feed.h"

#include "instance_list_model.h"
#include "ui_log.h"

#include <QJsonArray>

#include <utility>

namespace kairos::ui {

InstanceFeed::InstanceFeed(client::Client *client, InstanceListModel *model, QObject *parent)
    : QObject(parent)
    , m_client(client)
    , m_model(model)
{
    connect(client, &client::Client::instancesChanged, this, &InstanceFeed::onInstancesChanged);
    connect(client, &client::Client::linkStateChanged, this,
            [this](client::Client::LinkState state) {
                if (state == client::Client::LinkState::Connected)
                    reload();
            });
    if (client->linkState() == client::Client::LinkState::Connected)
        reload();
}

void InstanceFeed::reload()
{
    const int generation = ++m_generation;
    m_loading = true;
    m_duringLoad.clear();
    const QJsonObject params{{QStringLiteral("limit"), kPageSize}};
    m_client->call(QStringLiteral("instance.list"), params, this,
                   [this, generation](Result<QJsonObject> reply) {
                       if (generation != m_generation)
                           return;
                       m_loading = false;
                       const QList<Instance> missed = std::exchange(m_duringLoad, {});
                       if (!reply.ok()) {
                           qCWarning(lcUiInstances) << "instance.list failed:" << reply.error();
                           emit failed(tr("Could not load the runs: %1").arg(reply.error()));
                           return;
                       }
                       QList<Instance> page;
                       const QJsonArray list = reply->value(QStringLiteral("instances")).toArray();
                       for (const QJsonValue &v : list)
                           page << instanceFromJson(v.toObject());
                       m_model->reset(page);
                       m_model->apply(missed);
                       m_loaded = true;
                       emit loaded();
                   });
}

void InstanceFeed::onInstancesChanged(const QList<Instance> &instances)
{
    if (m_loading)
        m_duringLoad << instances;
    m_model->apply(instances);
}

} // namespace kairos::ui
