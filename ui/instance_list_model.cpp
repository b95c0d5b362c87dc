#include "instance_list_model.h"

#include "labels.h"

#include <algorithm>

namespace kairos::ui {
namespace {

bool newerFirst(const Instance &a, const Instance &b)
{
    return a.id > b.id;
}

} // namespace

InstanceListModel::InstanceListModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

int InstanceListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int InstanceListModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString InstanceListModel::jobNameOf(const Instance &i) const
{
    if (!i.jobName.isEmpty())
        return i.jobName;
    const QString name = m_jobName ? m_jobName(i.jobId) : QString();
    return name.isEmpty() ? tr("job #%1").arg(i.jobId) : name;
}

QVariant InstanceListModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const Instance &i = m_rows.at(index.row());
    switch (role) {
    case InstanceIdRole:
        return i.id;
    case JobIdRole:
        return i.jobId;
    case StatusRole:
        return int(i.status);
    case Qt::DisplayRole:
        switch (index.column()) {
        case IdColumn:
            return i.id;
        case JobColumn:
            return jobNameOf(i);
        case StatusColumn:
            return Labels::status(i.status);
        case AttemptColumn:
            return i.maxAttempts > 1 ? tr("%1 of %2").arg(i.attempt).arg(i.maxAttempts)
                                     : QString::number(i.attempt);
        case TriggerColumn:
            return Labels::trigger(i.trigger);
        case CreatedColumn:
            return Labels::time(i.createdAtMs);
        case StartedColumn:
            return Labels::time(i.startedAtMs);
        case FinishedColumn:
            return Labels::time(i.finishedAtMs);
        case WorkerColumn:
            return i.worker;
        case ReasonColumn:
            return i.reason.section(u'\n', 0, 0);
        }
        break;
    case SortRole:
        switch (index.column()) {
        case IdColumn:
            return i.id;
        case AttemptColumn:
            return i.attempt;
        case CreatedColumn:
            return i.createdAtMs;
        case StartedColumn:
            return i.startedAtMs;
        case FinishedColumn:
            return i.finishedAtMs;
        default:
            return data(index, Qt::DisplayRole);
        }
    case Qt::ForegroundRole:
        if (index.column() == StatusColumn) {
            const QColor c = Labels::statusColor(i.status);
            if (c.isValid())
                return c;
        }
        break;
    case Qt::ToolTipRole: {
        QStringList tip;
        tip << tr("Run #%1 of %2").arg(i.id).arg(jobNameOf(i));
        if (!i.reason.isEmpty())
            tip << tr("Reason: %1").arg(i.reason);
        if (!i.result.isEmpty())
            tip << tr("Result: %1").arg(i.result);
        if (!i.params.isEmpty())
            tip << tr("Parameters: %1").arg(i.params);
        return tip.join(u'\n');
    }
    case Qt::TextAlignmentRole:
        if (index.column() == IdColumn || index.column() == AttemptColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    default:
        break;
    }
    return {};
}

QVariant InstanceListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case IdColumn:
        return tr("Run", "column: instance id");
    case JobColumn:
        return tr("Job");
    case StatusColumn:
        return tr("Status");
    case AttemptColumn:
        return tr("Attempt");
    case TriggerColumn:
        return tr("Trigger");
    case CreatedColumn:
        return tr("Created");
    case StartedColumn:
        return tr("Started");
    case FinishedColumn:
        return tr("Finished");
    case WorkerColumn:
        return tr("Worker");
    case ReasonColumn:
        return tr("Reason");
    }
    return {};
}

void InstanceListModel::reset(QList<Instance> instances)
{
    std::sort(instances.begin(), instances.end(), newerFirst);
    if (instances.size() > m_maxRows)
        instances.resize(m_maxRows);
    beginResetModel();
    m_rows = std::move(instances);
    reindex();
    endResetModel();
}

void InstanceListModel::apply(const QList<Instance> &instances)
{
    QList<Instance> fresh;
    for (const Instance &in : instances) {
        const int row = rowOf(in.id);
        if (row < 0) {
            fresh << in;
            continue;
        }
        Instance &mine = m_rows[row];
        if (in.version < mine.version)
            continue; // a late event; the row already shows a newer state
        const QString knownName = mine.jobName;
        mine = in;
        if (mine.jobName.isEmpty())
            mine.jobName = knownName;
        emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
    }
    if (fresh.isEmpty())
        return;

    // One event batch may hold several versions of one new run: keep the newest of each.
    std::sort(fresh.begin(), fresh.end(), [](const Instance &a, const Instance &b) {
        return a.id != b.id ? a.id > b.id : a.version > b.version;
    });
    fresh.erase(std::unique(fresh.begin(), fresh.end(),
                            [](const Instance &a, const Instance &b) { return a.id == b.id; }),
                fresh.end());

    // Insert in runs of consecutive rows, so a view sees "n rows at the top" for new runs.
    int pos = 0;
    for (qsizetype k = 0; k < fresh.size();) {
        while (pos < m_rows.size() && m_rows.at(pos).id > fresh.at(k).id)
            ++pos;
        qsizetype end = k + 1;
        while (end < fresh.size() && (pos >= m_rows.size() || m_rows.at(pos).id < fresh.at(end).id))
            ++end;
        const int count = int(end - k);
        beginInsertRows({}, pos, pos + count - 1);
        for (qsizetype j = k; j < end; ++j)
            m_rows.insert(pos + (j - k), fresh.at(j));
        reindex();
        endInsertRows();
        pos += count;
        k = end;
    }
    trimToCap();
}

void InstanceListModel::setMaxRows(int maxRows)
{
    m_maxRows = std::max(1, maxRows);
    trimToCap();
}

const Instance *InstanceListModel::instanceAt(int row) const
{
    return row >= 0 && row < m_rows.size() ? &m_rows.at(row) : nullptr;
}

void InstanceListModel::trimToCap()
{
    if (m_rows.size() <= m_maxRows)
        return;
    beginRemoveRows({}, m_maxRows, int(m_rows.size()) - 1);
    m_rows.resize(m_maxRows);
    reindex();
    endRemoveRows();
}

void InstanceListModel::reindex()
{
    m_rowById.clear();
    for (int i = 0; i < m_rows.size(); ++i)
        m_rowById.insert(m_rows.at(i).id, i);
}

} // namespace kairos::ui
