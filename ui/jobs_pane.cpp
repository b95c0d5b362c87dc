#include "jobs_pane.h"

#include "empty_state_table_view.h"
#include "job_list_model.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>

namespace kairos::ui {

JobsPane::JobsPane(JobListModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_proxy(new QSortFilterProxyModel(this))
    , m_filter(new QLineEdit(this))
    , m_table(new EmptyStateTableView(this))
{
    m_proxy->setSourceModel(model);
    m_proxy->setSortRole(JobListModel::SortRole);
    m_proxy->setFilterKeyColumn(-1);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setDynamicSortFilter(true);

    m_filter->setObjectName(QStringLiteral("jobFilter"));
    m_filter->setPlaceholderText(tr("Filter jobs"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString &text) {
        m_proxy->setFilterFixedString(text);
        updateEmptyText();
    });

    m_table->setObjectName(QStringLiteral("jobsTable"));
    m_table->setModel(m_proxy);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(JobListModel::NameColumn, Qt::AscendingOrder);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
    QHeaderView *header = m_table->horizontalHeader();
    header->setStretchLastSection(false);
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setSectionResizeMode(JobListModel::ProcessorColumn, QHeaderView::Stretch);
    const QFontMetrics fm = m_table->fontMetrics();
    const int pad = 24;
    m_table->setColumnWidth(JobListModel::NameColumn, fm.horizontalAdvance(u'M') * 14);
    m_table->setColumnWidth(
        JobListModel::TimingColumn,
        fm.horizontalAdvance(QStringLiteral("CRON: 30 7 * * 1-5 (Europe/Berlin)")) + pad);
    m_table->setColumnWidth(JobListModel::EnabledColumn,
                            fm.horizontalAdvance(tr("Disabled")) + pad);
    m_table->setColumnWidth(JobListModel::NextFireColumn,
                            fm.horizontalAdvance(QStringLiteral("2000-00-00 00:00:00")) + pad);
    m_table->setColumnWidth(
        JobListModel::VersionColumn,
        fm.horizontalAdvance(
            model->headerData(JobListModel::VersionColumn, Qt::Horizontal).toString())
            + pad);

    // Current row and selection can change apart (Ctrl+click deselects): follow both.
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this] { emit currentJobChanged(currentJobId()); });
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { emit currentJobChanged(currentJobId()); });
    for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
        connect(model, signal, this, &JobsPane::updateEmptyText);
    connect(model, &QAbstractItemModel::modelReset, this, &JobsPane::updateEmptyText);
    // After the view has laid the new rows out, or there is nothing to measure.
    connect(model, &QAbstractItemModel::modelReset, this,
            [this] { QTimer::singleShot(0, this, &JobsPane::widenToFit); });

    auto *title = new QLabel(tr("Jobs"), this);
    QFont bold = title->font();
    bold.setBold(true);
    title->setFont(bold);
    auto *top = new QHBoxLayout;
    top->addWidget(title);
    top->addStretch();
    top->addWidget(m_filter);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    layout->addLayout(top);
    layout->addWidget(m_table);
    updateEmptyText();
}

qint64 JobsPane::currentJobId() const
{
    const QModelIndex current = m_table->selectionModel()->currentIndex();
    if (!current.isValid() || !m_table->selectionModel()->isRowSelected(current.row(), {}))
        return 0;
    return current.data(JobListModel::JobIdRole).toLongLong();
}

void JobsPane::selectJob(qint64 jobId)
{
    const int sourceRow = m_model->rowOf(jobId);
    if (sourceRow < 0)
        return;
    const QModelIndex index = m_proxy->mapFromSource(m_model->index(sourceRow, 0));
    if (!index.isValid())
        return;
    m_table->selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect
                                                          | QItemSelectionModel::Rows);
    m_table->scrollTo(index);
}

void JobsPane::widenToFit()
{
    // Names and timings are what people scan: after a load, widen their columns to the text
    // (up to a third of the view each), never narrowing what the user made wider.
    const int cap = std::max(m_table->viewport()->width() / 3, 120);
    for (int column : {int(JobListModel::NameColumn), int(JobListModel::TimingColumn)}) {
        // QTableView hides it as protected; it is public API on QAbstractItemView.
        const auto *view = static_cast<const QAbstractItemView *>(m_table);
        const int wanted = std::min(view->sizeHintForColumn(column), cap);
        if (wanted > m_table->columnWidth(column))
            m_table->setColumnWidth(column, wanted);
    }
}

void JobsPane::updateEmptyText()
{
    if (m_model->rowCount() == 0) {
        m_table->setEmptyText(
            tr("No jobs yet — create one with %1")
                .arg(QKeySequence(QKeySequence::New).toString(QKeySequence::NativeText)));
    } else {
        m_table->setEmptyText(tr("No job matches \"%1\"").arg(m_filter->text()));
    }
}

} // namespace kairos::ui
