#pragma once
// InstanceListModel: the runs table, newest first — id, job, status (coloured), attempt,
// trigger, times, worker and reason. It holds at most maxRows() rows: live updates change a row
// in place, add new runs at the top and drop the oldest rows beyond the cap. InstanceFeed
// fills it from `instance.list` and the Client's instance events.
//
// GUI thread only.

#include <core/instance.h>

#include <QAbstractTableModel>
#include <QHash>
#include <QList>

#include <functional>

namespace kairos::ui {

class InstanceListModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        IdColumn,
        JobColumn,
        StatusColumn,
        AttemptColumn,
        TriggerColumn,
        CreatedColumn,
        StartedColumn,
        FinishedColumn,
        WorkerColumn,
        ReasonColumn,
        ColumnCount
    };
    enum Role {
        InstanceIdRole = Qt::UserRole + 1, // qint64
        StatusRole,                        // InstanceStatus as int
        SortRole,                          // a value that sorts naturally
        JobIdRole,                         // qint64
    };
    static constexpr int kDefaultMaxRows = 1000;

    explicit InstanceListModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // Replaces every row (a fresh page from `instance.list`), newest first, capped.
    void reset(QList<Instance> instances);
    // Applies changed and new instances: a known id is updated in place unless the change is
    // older than the row (lower version); an unknown id is inserted by id, so new runs land on
    // top; rows beyond maxRows() are dropped from the bottom (the oldest).
    void apply(const QList<Instance> &instances);

    void setMaxRows(int maxRows);
    int maxRows() const { return m_maxRows; }
    // Names jobs whose events arrive without a name (optional).
    void setJobNameLookup(std::function<QString(qint64)> lookup) { m_jobName = std::move(lookup); }

    int rowOf(qint64 instanceId) const { return m_rowById.value(instanceId, -1); }
    const Instance *instanceAt(int row) const;
    const Instance *find(qint64 instanceId) const { return instanceAt(rowOf(instanceId)); }

private:
    void reindex();
    void trimToCap();
    QString jobNameOf(const Instance &i) const;

    QList<Instance> m_rows; // sorted by id, descending
    QHash<qint64, int> m_rowById;
    int m_maxRows = kDefaultMaxRows;
    std::function<QString(qint64)> m_jobName;
};

} // namespace kairos::ui
