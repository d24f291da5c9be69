#pragma once

// The top growing (or declining) key ranges with their slopes, as a table: the console's answer
// to "what is heating up, and how fast?". One model per direction; the view shows two of them.
//
// Invariants. The rows are the `limit` ranges of the model's direction with the largest
// |relative slope per day|, strongest first (ties by shard id, so the order is deterministic).
// setTrends() updates in place: row i that now shows different figures gets one dataChanged
// spanning the columns that changed; rows beyond the new count are removed at the end and new
// ones inserted at the end. There is never a model reset, so a view keeps its selection and
// scroll position across the periodic refresh. Cost: setTrends() is O(n log limit) for n ranges;
// text is formatted only when a view asks.

#include "display_text.h"
#include "key.h"
#include "ownership_table.h"
#include "trend.h"

#include <QAbstractTableModel>
#include <QVariant>

#include <vector>

namespace rangepilot {

// One range's trend as the app computed it.
struct RangeTrend {
    ShardId shard = 0;
    KeyRange range;
    HostId owner;
    TrendDirection direction = TrendDirection::Flat;
    double relative_slope_per_day = 0.0; // 0.12 = +12% of the mean level per day
    double slope_per_day = 0.0;          // ops/s per day
    double load_now_ops = 0.0;           // measured ops/s over the last step

    bool operator==(const RangeTrend&) const = default;
};

class TopTrendsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Columns : int {
        RangeColumn,   // "[a, b)"; sorts in key order
        OwnerColumn,   // host id
        TrendColumn,   // "+12%/day": relative slope
        SlopeColumn,   // "+340 ops/s per day"
        LoadNowColumn, // "1,234 ops/s"
        ColumnCount
    };

    enum Roles : int {
        SortRole = display::kSortRole, // a number per column (hex key order for the range)
        ShardIdRole,                   // qulonglong, any column
    };

    // `limit` < 0 counts as 0.
    TopTrendsModel(TrendDirection direction, int limit, QObject* parent = nullptr);

    // All ranges' trends, in any order; keeps those described above.
    void setTrends(const std::vector<RangeTrend>& all);
    void clear();

    TrendDirection direction() const { return m_direction; }
    int limit() const { return m_limit; }
    const RangeTrend& trendAt(int row) const { return m_rows[static_cast<std::size_t>(row)]; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    std::vector<RangeTrend> strongest(const std::vector<RangeTrend>& all) const;
    void updateSharedRows(std::vector<RangeTrend>& next);
    void resizeTo(std::vector<RangeTrend>& next);

    TrendDirection m_direction;
    int m_limit;
    std::vector<RangeTrend> m_rows;
};

} // namespace rangepilot
