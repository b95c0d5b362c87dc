#pragma once
// LinkStatusWidget: the status-bar corner that says where the console is attached (the
// Client's endpoint) and whether the link is healthy: connected, connecting, or down with the
// reason.
//
// GUI thread only.

#include <client/client.h>

#include <QWidget>

class QLabel;

namespace kairos::ui {

class LinkStatusWidget : public QWidget {
    Q_OBJECT
public:
    explicit LinkStatusWidget(client::Client *client, QWidget *parent = nullptr);

    QString endpointText() const;
    QString stateText() const;

private:
    void setState(client::Client::LinkState state, const QString &detail);

    client::Client *m_client;
    QLabel *m_endpoint;
    QLabel *m_dot;
    QLabel *m_state;
};

} // namespace kairos::ui
