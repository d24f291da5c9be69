#pragma once

// TopTrendsView: the ten fastest growing and the ten fastest declining ranges, in two compact
// tables headed "Growing" and "Declining", each with a short text instead of the table when it
// has nothing to show. Clicking a row (or moving to it with the keyboard) activates its shard;
// updates from the app never do, so a periodic refresh does not move the operator's selection.

#include "ownership_table.h"
#include "top_trends_model.h"

#include <QWidget>

#include <vector>

class QLabel;
class QModelIndex;
class QStackedWidget;
class QTableView;

namespace rangepilot {

class TopTrendsView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kRowsPerTable = 10;

    explicit TopTrendsView(QWidget* parent = nullptr);

    void setTrends(const std::vector<RangeTrend>& all);

    // The parts, for the window's wiring and for tests.
    TopTrendsModel* growingModel() { return m_growing; }
    TopTrendsModel* decliningModel() { return m_declining; }
    QTableView* growingTable() { return m_growingTable; }
    QTableView* decliningTable() { return m_decliningTable; }
    bool isShowingGrowingTable() const;
    bool isShowingDecliningTable() const;

Q_SIGNALS:
    void shardActivated(rangepilot::ShardId shard); // on click / selection

private:
    struct Section {
        QStackedWidget* stack;
        QTableView* table;
    };
    Section addSection(const QString& heading, const QString& emptyText, TopTrendsModel* model);
    void activate(const QModelIndex& index, QTableView* other);
    void showTablesOrEmptyTexts();

    TopTrendsModel* m_growing = nullptr;
    TopTrendsModel* m_declining = nullptr;
    QTableView* m_growingTable = nullptr;
    QTableView* m_decliningTable = nullptr;
    QStackedWidget* m_growingStack = nullptr;
    QStackedWidget* m_decliningStack = nullptr;
    bool m_updating = false; // the models are changing: selection changes are not the user's
};

} // namespace rangepilot
