#include "table_style.h"

#include <QAbstractItemModel>
#include <QFontMetrics>
#include <QHeaderView>
#include <QTableView>

#include <algorithm>

namespace rangepilot {

void styleTable(QTableView* table) {
    table->setSortingEnabled(true);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setSelectionMode(QAbstractItemView::SingleSelection);
    table->setAlternatingRowColors(true);
    table->setWordWrap(false);
    table->verticalHeader()->hide();
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 8);
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    table->horizontalHeader()->setHighlightSections(false);
}

void fitColumns(QTableView* table, int maximumWidth) {
    QAbstractItemModel* model = table->model();
    if (!model)
        return;
    const QFontMetrics headerFont(table->horizontalHeader()->font());
    // Room for the sort indicator and the section's margins.
    const int headerPadding = 34;
    for (int column = 0; column < model->columnCount(); ++column) {
        const QString title = model->headerData(column, Qt::Horizontal).toString();
        const int headerWidth = headerFont.horizontalAdvance(title) + headerPadding;
        const int contentWidth =
            static_cast<const QAbstractItemView*>(table)->sizeHintForColumn(column) + 12;
        table->setColumnWidth(column, std::min(maximumWidth, std::max(headerWidth, contentWidth)));
    }
}

} // namespace rangepilot
