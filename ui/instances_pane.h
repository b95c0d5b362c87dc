#pragma once
// InstancesPane: the runs table (newest first, sortable) over an InstanceListModel; reports the
// selected run and says what to do when there is none.
//
// GUI thread only.

#include <QWidget>

class QSortFilterProxyModel;

namespace kairos::ui {

class EmptyStateTableView;
class InstanceListModel;

class InstancesPane : public QWidget {
    Q_OBJECT
public:
    explicit InstancesPane(InstanceListModel *model, QWidget *parent = nullptr);

    qint64 currentInstanceId() const; // 0: none
    void selectInstance(qint64 instanceId);
    EmptyStateTableView *table() const { return m_table; }

signals:
    void currentInstanceChanged(qint64 instanceId);

private:
    InstanceListModel *m_model;
    QSortFilterProxyModel *m_proxy;
    EmptyStateTableView *m_table;
};

} // namespace kairos::ui
