#pragma once
// JobListModel: the jobs table — one row per job with its timing, processor, enabled flag,
// next planned fire and version. It only holds rows; JobFeed fills it from `job.list` and keeps
// it live from the Client's job events, so the model can be tested without an engine.
//
// GUI thread only.

#include <core/job.h>

#include <QAbstractTableModel>
#include <QHash>
#include <QList>

#include <optional>

namespace kairos::ui {

struct JobRow {
    Job job;
    qint64 nextFireMs = -1; // -1: nothing planned
};

class JobListModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        NameColumn,
        TimingColumn,
        ProcessorColumn,
        EnabledColumn,
        NextFireColumn,
        VersionColumn,
        ColumnCount
    };
    enum Role {
        JobIdRole = Qt::UserRole + 1, // qint64
        SortRole,                     // a value that sorts naturally (numbers, times, text)
        EnabledRole,                  // bool
    };

    explicit JobListModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // Replaces every row (a fresh `job.list`).
    void reset(const QList<JobRow> &rows);
    // Adds the job or updates its row. An update older than the row (lower version) is ignored,
    // so a late event cannot undo a newer state. `nextFireMs` unset keeps the known next fire.
    void upsert(const Job &job, std::optional<qint64> nextFireMs = std::nullopt);
    void setNextFire(qint64 jobId, qint64 nextFireMs);
    void remove(qint64 jobId);

    int rowOf(qint64 jobId) const { return m_rowById.value(jobId, -1); }
    const JobRow *rowAt(int row) const;
    const JobRow *find(qint64 jobId) const;
    // Name of a job for other views (empty when unknown).
    QString nameOf(qint64 jobId) const;

    // Parses one element of `job.list` / the reply of `job.get` (a job plus "nextFireMs").
    static std::optional<JobRow> rowFromJson(const QJsonObject &json);

private:
    void reindex();
    QString timingText(const Job &job) const;
    QString processorText(const Job &job) const;

    QList<JobRow> m_rows;
    QHash<qint64, int> m_rowById;
};

} // namespace kairos::ui
