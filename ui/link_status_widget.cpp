#include "link_status_widget.h"

#include <QHBoxLayout>
#include <QLabel>

namespace kairos::ui {

LinkStatusWidget::LinkStatusWidget(client::Client *client, QWidget *parent)
    : QWidget(parent)
    , m_client(client)
    , m_endpoint(new QLabel(this))
    , m_dot(new QLabel(this))
    , m_state(new QLabel(this))
{
    m_endpoint->setObjectName(QStringLiteral("endpointLabel"));
    m_state->setObjectName(QStringLiteral("linkStateLabel"));
    m_endpoint->setTextFormat(Qt::PlainText);
    m_state->setTextFormat(Qt::PlainText);
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_endpoint);
    layout->addSpacing(8);
    layout->addWidget(m_dot);
    layout->addWidget(m_state);
    connect(client, &client::Client::linkStateChanged, this, &LinkStatusWidget::setState);
    setState(client->linkState(), QString());
}

QString LinkStatusWidget::endpointText() const
{
    return m_endpoint->text();
}
QString LinkStatusWidget::stateText() const
{
    return m_state->text();
}

void LinkStatusWidget::setState(client::Client::LinkState state, const QString &detail)
{
    m_endpoint->setText(tr("Attached to %1").arg(m_client->endpoint()));
    QString color;
    switch (state) {
    case client::Client::LinkState::Connected:
        color = QStringLiteral("#2e7d32");
        m_state->setText(tr("Connected"));
        m_state->setToolTip({});
        break;
    case client::Client::LinkState::Connecting:
        color = QStringLiteral("#b26a00");
        m_state->setText(tr("Connecting…"));
        m_state->setToolTip({});
        break;
    case client::Client::LinkState::Disconnected:
        color = QStringLiteral("#c62828");
        m_state->setText(detail.isEmpty() ? tr("Disconnected")
                                          : tr("Disconnected: %1").arg(detail));
        m_state->setToolTip(detail);
        break;
    }
    m_dot->setText(QStringLiteral("●"));
    m_dot->setStyleSheet(QStringLiteral("color: %1;").arg(color));
}

} // namespace kairos::ui
