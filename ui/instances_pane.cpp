#include "instances_pane.h"

#include "empty_state_table_view.h"
#include "instance_list_model.h"
#include "labels.h"

#include <QHeaderView>
#include <QKeySequence>
#include <QLabel>
#include <QSortFilterProxyModel>
#include <QVBoxLayout>

namespace kairos::ui {

InstancesPane::InstancesPane(InstanceListModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_proxy(new QSortFilterProxyModel(this))
    , m_table(new EmptyStateTableView(this))
{
    m_proxy->setSourceModel(model);
    m_proxy->setSortRole(InstanceListModel::SortRole);
    m_proxy->setDynamicSortFilter(true);

    m_table->setObjectName(QStringLiteral("instancesTable"));
    m_table->setModel(m_proxy);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(InstanceListModel::IdColumn, Qt::DescendingOrder);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
    m_table->setEmptyText(
        tr("No runs yet — select a job and press %1 to run it now")
            .arg(QKeySequence(Qt::CTRL | Qt::Key_R).toString(QKeySequence::NativeText)));

    QHeaderView *header = m_table->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setStretchLastSection(true);
    const QFontMetrics fm = m_table->fontMetrics();
    const int pad = 24;
    auto widthOf = [&](const QString &sample, int column) {
        const QString title = model->headerData(column, Qt::Horizontal).toString();
        return std::max(fm.horizontalAdvance(sample), fm.horizontalAdvance(title)) + pad;
    };
    const QString time = QStringLiteral("2000-00-00 00:00:00");
    m_table->setColumnWidth(InstanceListModel::IdColumn,
                            widthOf(QStringLiteral("000000"), InstanceListModel::IdColumn));
    m_table->setColumnWidth(InstanceListModel::JobColumn, fm.horizontalAdvance(u'M') * 11);
    m_table->setColumnWidth(
        InstanceListModel::StatusColumn,
        widthOf(Labels::status(InstanceStatus::WaitingWorker), InstanceListModel::StatusColumn));
    m_table->setColumnWidth(InstanceListModel::AttemptColumn,
                            widthOf(InstanceListModel::tr("%1 of %2").arg(10).arg(10),
                                    InstanceListModel::AttemptColumn));
    m_table->setColumnWidth(
        InstanceListModel::TriggerColumn,
        widthOf(Labels::trigger(TriggerKind::Scheduled), InstanceListModel::TriggerColumn));
    for (int c : {InstanceListModel::CreatedColumn, InstanceListModel::StartedColumn,
                  InstanceListModel::FinishedColumn})
        m_table->setColumnWidth(c, widthOf(time, c));
    m_table->setColumnWidth(InstanceListModel::WorkerColumn, fm.horizontalAdvance(u'M') * 10);

    // Current row and selection can change apart (Ctrl+click deselects): follow both.
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this] { emit currentInstanceChanged(currentInstanceId()); });
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { emit currentInstanceChanged(currentInstanceId()); });

    auto *title = new QLabel(tr("Recent runs"), this);
    QFont bold = title->font();
    bold.setBold(true);
    title->setFont(bold);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    layout->addWidget(title);
    layout->addWidget(m_table);
}

qint64 InstancesPane::currentInstanceId() const
{
    const QModelIndex current = m_table->selectionModel()->currentIndex();
    if (!current.isValid() || !m_table->selectionModel()->isRowSelected(current.row(), {}))
        return 0;
    return current.data(InstanceListModel::InstanceIdRole).toLongLong();
}

void InstancesPane::selectInstance(qint64 instanceId)
{
    const int sourceRow = m_model->rowOf(instanceId);
    if (sourceRow < 0)
        return;
    const QModelIndex index = m_proxy->mapFromSource(m_model->index(sourceRow, 0));
    m_table->selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect
                                                          | QItemSelectionModel::Rows);
    m_table->scrollTo(index);
}

} // namespace kairos::ui
