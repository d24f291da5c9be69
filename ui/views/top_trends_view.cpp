#include "top_trends_view.h"

#include <QApplication>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace rangepilot {

namespace {

QTableView* compactTable(TopTrendsModel* model, QWidget* parent) {
    auto* table = new QTableView(parent);
    table->setModel(model);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setSelectionMode(QAbstractItemView::SingleSelection);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setAlternatingRowColors(true);
    table->setShowGrid(false);
    table->setWordWrap(false);
    table->setCornerButtonEnabled(false);
    table->verticalHeader()->setVisible(false);
    table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 6);
    QHeaderView* header = table->horizontalHeader();
    header->setHighlightSections(false);
    header->setSectionResizeMode(QHeaderView::ResizeToContents);
    header->setSectionResizeMode(TopTrendsModel::RangeColumn, QHeaderView::Stretch);
    header->setMinimumSectionSize(40);
    table->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    table->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
    return table;
}

QLabel* heading(const QString& text, QWidget* parent) {
    auto* label = new QLabel(text, parent);
    QFont font = label->font();
    font.setBold(true);
    label->setFont(font);
    return label;
}

} // namespace

TopTrendsView::TopTrendsView(QWidget* parent)
    : QWidget(parent) {
    m_growing = new TopTrendsModel(TrendDirection::Growing, kRowsPerTable, this);
    m_declining = new TopTrendsModel(TrendDirection::Declining, kRowsPerTable, this);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    const Section growing =
        addSection(tr("Growing"), tr("No range is growing significantly."), m_growing);
    const Section declining =
        addSection(tr("Declining"), tr("No range is declining significantly."), m_declining);
    m_growingStack = growing.stack;
    m_growingTable = growing.table;
    m_decliningStack = declining.stack;
    m_decliningTable = declining.table;

    // A click activates the row, even the current one (to jump back to it); keyboard moves do
    // too. A mouse press also moves the current row, which is left to the click that follows.
    for (const auto& [table, other] : {std::pair{m_growingTable, m_decliningTable},
                                       std::pair{m_decliningTable, m_growingTable}}) {
        QTableView* otherTable = other;
        connect(table, &QTableView::clicked, this,
                [this, otherTable](const QModelIndex& index) { activate(index, otherTable); });
        connect(table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
                [this, otherTable](const QModelIndex& current) {
                    if (m_updating || !current.isValid() ||
                        QApplication::mouseButtons() != Qt::NoButton)
                        return;
                    activate(current, otherTable);
                });
    }
    showTablesOrEmptyTexts();
}

TopTrendsView::Section TopTrendsView::addSection(const QString& title, const QString& emptyText,
                                                 TopTrendsModel* model) {
    auto* stack = new QStackedWidget(this);
    QTableView* table = compactTable(model, stack);
    auto* empty = new QLabel(emptyText, stack);
    empty->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    empty->setContentsMargins(6, 4, 6, 4);
    empty->setWordWrap(true);
    empty->setStyleSheet(QStringLiteral("color: palette(mid);"));
    stack->addWidget(table);
    stack->addWidget(empty);

    auto* box = qobject_cast<QVBoxLayout*>(layout());
    box->addWidget(heading(title, this));
    box->addWidget(stack, 1);
    return {stack, table};
}

void TopTrendsView::setTrends(const std::vector<RangeTrend>& all) {
    m_updating = true;
    m_growing->setTrends(all);
    m_declining->setTrends(all);
    m_updating = false;
    showTablesOrEmptyTexts();
}

void TopTrendsView::showTablesOrEmptyTexts() {
    m_growingStack->setCurrentIndex(m_growing->rowCount() > 0 ? 0 : 1);
    m_decliningStack->setCurrentIndex(m_declining->rowCount() > 0 ? 0 : 1);
}

bool TopTrendsView::isShowingGrowingTable() const {
    return m_growingStack->currentIndex() == 0;
}

bool TopTrendsView::isShowingDecliningTable() const {
    return m_decliningStack->currentIndex() == 0;
}

// One selected range across both tables: picking in one clears the other.
void TopTrendsView::activate(const QModelIndex& index, QTableView* other) {
    if (!index.isValid())
        return;
    m_updating = true;
    other->clearSelection();
    other->selectionModel()->clearCurrentIndex();
    m_updating = false;
    Q_EMIT shardActivated(index.data(TopTrendsModel::ShardIdRole).value<ShardId>());
}

} // namespace rangepilot
