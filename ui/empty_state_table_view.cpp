#include "empty_state_table_view.h"

#include <QPainter>

namespace kairos::ui {

EmptyStateTableView::EmptyStateTableView(QWidget *parent)
    : QTableView(parent)
{}

void EmptyStateTableView::setEmptyText(const QString &text)
{
    m_emptyText = text;
    viewport()->update();
}

bool EmptyStateTableView::isShowingEmptyText() const
{
    return !m_emptyText.isEmpty() && (!model() || model()->rowCount(rootIndex()) == 0);
}

void EmptyStateTableView::paintEvent(QPaintEvent *event)
{
    QTableView::paintEvent(event);
    if (!isShowingEmptyText())
        return;
    QPainter painter(viewport());
    painter.setPen(palette().color(QPalette::Disabled, QPalette::Text));
    const QRect area = viewport()->rect().adjusted(16, 16, -16, -16);
    painter.drawText(area, Qt::AlignCenter | Qt::TextWordWrap, m_emptyText);
}

} // namespace kairos::ui
