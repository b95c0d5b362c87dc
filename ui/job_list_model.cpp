#include "job_list_model.h"

#include "labels.h"

#include <QBrush>
#include <QGuiApplication>
#include <QPalette>

#include <limits>

namespace kairos::ui {

JobListModel::JobListModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

int JobListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int JobListModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString JobListModel::timingText(const Job &job) const
{
    const QString type = Labels::timingType(job.timingType);
    if (job.timingType == TimingType::Api || job.timingExpression.isEmpty())
        return type;
    const QString text =
        tr("%1: %2", "timing column: type, expression").arg(type, job.timingExpression);
    // The next-fire column shows local time; say when the expression is read in another zone.
    if (job.timeZone.isEmpty())
        return text;
    return tr("%1 (%2)", "timing column: timing, time zone").arg(text, job.timeZone);
}

QString JobListModel::processorText(const Job &job) const
{
    // The one setting that tells runs of the same kind apart, first line only.
    QString detail;
    const QJsonObject &c = job.processorConfig;
    switch (job.processor) {
    case ProcessorKind::Shell:
        detail = c.value(QStringLiteral("script")).toString().section(u'\n', 0, 0);
        break;
    case ProcessorKind::Http:
        detail = c.value(QStringLiteral("url")).toString();
        break;
    case ProcessorKind::Echo:
        detail = c.value(QStringLiteral("message")).toString();
        break;
    case ProcessorKind::Sleep:
        detail = tr("%1 ms").arg(c.value(QStringLiteral("ms")).toInteger());
        break;
    case ProcessorKind::Container:
        detail = c.value(QStringLiteral("ref")).toString();
        break;
    }
    const QString name = Labels::processor(job.processor);
    return detail.isEmpty() ? name
                            : tr("%1: %2", "processor column: kind, detail").arg(name, detail);
}

QVariant JobListModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const JobRow &r = m_rows.at(index.row());
    const Job &job = r.job;
    switch (role) {
    case JobIdRole:
        return job.id;
    case EnabledRole:
        return job.enabled;
    case Qt::DisplayRole:
        switch (index.column()) {
        case NameColumn:
            return job.name;
        case TimingColumn:
            return timingText(job);
        case ProcessorColumn:
            return processorText(job);
        case EnabledColumn:
            return job.enabled ? tr("Enabled") : tr("Disabled");
        case NextFireColumn:
            return job.enabled ? Labels::nextFire(r.nextFireMs) : Labels::nextFire(-1);
        case VersionColumn:
            return job.version;
        }
        break;
    case SortRole:
        switch (index.column()) {
        case NameColumn:
            return job.name.toLower();
        case NextFireColumn:
            // Planned fires first, soonest on top; "none" last.
            return r.nextFireMs > 0 && job.enabled ? r.nextFireMs
                                                   : std::numeric_limits<qint64>::max();
        case VersionColumn:
            return job.version;
        case EnabledColumn:
            return job.enabled;
        default:
            return data(index, Qt::DisplayRole);
        }
    case Qt::ToolTipRole: {
        QString tip = job.description.isEmpty() ? job.name : job.name + u'\n' + job.description;
        if (index.column() == TimingColumn && !job.timeZone.isEmpty())
            tip += u'\n' + tr("Time zone: %1").arg(job.timeZone);
        if (index.column() == ProcessorColumn)
            tip += u'\n' + processorText(job);
        return tip;
    }
    case Qt::ForegroundRole:
        // A disabled job reads as inactive in every column.
        if (!job.enabled)
            return QGuiApplication::palette().brush(QPalette::Disabled, QPalette::Text);
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == VersionColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    default:
        break;
    }
    return {};
}

QVariant JobListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case NameColumn:
        return tr("Name");
    case TimingColumn:
        return tr("Timing");
    case ProcessorColumn:
        return tr("Processor");
    case EnabledColumn:
        return tr("State", "job column: enabled or disabled");
    case NextFireColumn:
        return tr("Next fire");
    case VersionColumn:
        return tr("Version");
    }
    return {};
}

void JobListModel::reset(const QList<JobRow> &rows)
{
    beginResetModel();
    m_rows = rows;
    reindex();
    endResetModel();
}

void JobListModel::upsert(const Job &job, std::optional<qint64> nextFireMs)
{
    const int row = rowOf(job.id);
    if (row < 0) {
        const int at = int(m_rows.size());
        beginInsertRows({}, at, at);
        m_rows.append(JobRow{job, nextFireMs.value_or(-1)});
        m_rowById.insert(job.id, at);
        endInsertRows();
        return;
    }
    JobRow &r = m_rows[row];
    if (job.version < r.job.version)
        return;
    r.job = job;
    if (nextFireMs)
        r.nextFireMs = *nextFireMs;
    emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

void JobListModel::setNextFire(qint64 jobId, qint64 nextFireMs)
{
    const int row = rowOf(jobId);
    if (row < 0 || m_rows[row].nextFireMs == nextFireMs)
        return;
    m_rows[row].nextFireMs = nextFireMs;
    emit dataChanged(index(row, NextFireColumn), index(row, NextFireColumn));
}

void JobListModel::remove(qint64 jobId)
{
    const int row = rowOf(jobId);
    if (row < 0)
        return;
    beginRemoveRows({}, row, row);
    m_rows.removeAt(row);
    reindex();
    endRemoveRows();
}

const JobRow *JobListModel::rowAt(int row) const
{
    return row >= 0 && row < m_rows.size() ? &m_rows.at(row) : nullptr;
}

const JobRow *JobListModel::find(qint64 jobId) const
{
    return rowAt(rowOf(jobId));
}

QString JobListModel::nameOf(qint64 jobId) const
{
    const JobRow *r = find(jobId);
    return r ? r->job.name : QString();
}

std::optional<JobRow> JobListModel::rowFromJson(const QJsonObject &json)
{
    auto job = jobFromJson(json);
    if (!job.ok())
        return std::nullopt;
    return JobRow{*job, json.value(QStringLiteral("nextFireMs")).toInteger(-1)};
}

void JobListModel::reindex()
{
    m_rowById.clear();
    for (int i = 0; i < m_rows.size(); ++i)
        m_rowById.insert(m_rows.at(i).job.id, i);
}

} // namespace kairos::ui
