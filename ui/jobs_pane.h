#pragma once
// JobsPane: the jobs table with its filter line — a sortable, filterable view of a
// JobListModel that reports which job is selected and says what to do when there is none.
//
// GUI thread only.

#include <QWidget>

class QLineEdit;
class QSortFilterProxyModel;

namespace kairos::ui {

class EmptyStateTableView;
class JobListModel;

class JobsPane : public QWidget {
    Q_OBJECT
public:
    explicit JobsPane(JobListModel *model, QWidget *parent = nullptr);

    qint64 currentJobId() const; // 0: none
    void selectJob(qint64 jobId);
    EmptyStateTableView *table() const { return m_table; }
    QLineEdit *filterEdit() const { return m_filter; }
    QSortFilterProxyModel *proxy() const { return m_proxy; }

signals:
    void currentJobChanged(qint64 jobId);

private:
    void updateEmptyText();
    void widenToFit();

    JobListModel *m_model;
    QSortFilterProxyModel *m_proxy;
    QLineEdit *m_filter;
    EmptyStateTableView *m_table;
};

} // namespace kairos::ui
