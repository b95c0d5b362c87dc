#pragma once
// InstanceFeed: keeps an InstanceListModel showing the newest runs. It loads one page of
// `instance.list` whenever the Client (re)connects and applies instancesChanged events live.
// Events that arrive while the page is loading are kept and applied on top of it, so a run
// that changed between the server's read and the reply is never shown in its older state.
//
// GUI thread only. Replies are tied to this object.

#include <client/client.h>

#include <QObject>

namespace kairos::ui {

class InstanceListModel;

class InstanceFeed : public QObject {
    Q_OBJECT
public:
    static constexpr int kPageSize = 200;

    InstanceFeed(client::Client *client, InstanceListModel *model, QObject *parent = nullptr);

    void reload();
    bool isLoaded() const { return m_loaded; }

signals:
    void loaded();
    void failed(const QString &message);

private:
    void onInstancesChanged(const QList<kairos::Instance> &instances);

    client::Client *m_client;
    InstanceListModel *m_model;
    bool m_loaded = false;
    bool m_loading = false;
    int m_generation = 0;
    QList<Instance> m_duringLoad;
};

} // namespace kairos::ui
