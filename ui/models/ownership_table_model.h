#pragma once

// The ownership table as the console shows it: one row per shard in key order with the figures
// the app computes for it (load now, projected peak, score, trend), and a proxy that filters by
// host, key prefix and minimum score and sorts by numbers rather than by display text.
//
// Invariants. Rows follow the last snapshot's shards in key order. A snapshot with the same
// shards updates in place: one dataChanged per changed row, spanning the columns that changed, and
// nothing for the rest, so a view keeps its selection across the once-a-second refresh. Splits and
// merges (shards appear or vanish while the survivors keep their order) become rowsRemoved and
// rowsInserted; any other reshuffle resets the model. Cost: a snapshot is O(n) for n shards plus
// hash lookups; text is formatted only when a view asks for it.

#include "display_text.h"
#include "key.h"
#include "ownership_table.h"
#include "time_ms.h"
#include "trend.h"

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>
#include <QString>
#include <QVariant>

#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace rangepilot {

// What the app computed for one shard at one moment. Matched to rows by shard id, so the order
// of a figures vector does not matter.
struct ShardFigures {
    ShardId shard = 0;
    double load_now_ops = 0.0;       // measured ops/s over the last step
    double projected_peak_ops = 0.0; // highest projected ops/s over the horizon
    double score = 0.0; // projected peak score on its owner (load_score.h): 0.73 = 73% of it
    TrendDirection trend = TrendDirection::Flat;
    double trend_per_day = 0.0; // TrendResult::relative_slope_per_day: 0.12 = +12% per day

    bool operator==(const ShardFigures&) const = default;
};

// One row of the model: the shard as the table has it and the figures the app gave for it.
struct OwnershipRow {
    Shard shard;
    // The table epoch at which this shard's range, owner or replicas last changed (the first
    // snapshot's epoch for shards that have not changed since): shows which rows moved lately.
    std::uint64_t changed_epoch = 0;
    std::optional<ShardFigures> figures; // none until the app has figures for this shard

    bool operator==(const OwnershipRow&) const = default;
};

class OwnershipTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Columns : int {
        RangeColumn,         // "[a, b)"; sorts in key order
        ShardColumn,         // shard id
        OwnerColumn,         // host id
        ReplicasColumn,      // "h2, h3"; sorts by text
        LoadNowColumn,       // "1,234 ops/s"
        ProjectedPeakColumn, // "2,500 ops/s"
        ScoreColumn,         // "73%" of the owner's capacity
        TrendColumn,         // "growing +12%/day"; sorts by slope, flat as 0
        EpochColumn,         // OwnershipRow::changed_epoch
        ColumnCount
    };

    enum Roles : int {
        SortRole = display::kSortRole, // per column as above; invalid when no figures yet
        ShardIdRole,                   // qulonglong, any column
        HostsRole,                     // QStringList: the owner, then the replicas
        StartKeyRole,                  // QByteArray: raw bytes of the range start
        EndKeyRole,                    // QByteArray: raw bytes of the range end; empty = +inf
    };

    explicit OwnershipTableModel(QObject* parent = nullptr);

    // A new ownership snapshot with the figures for its shards (any order; shards without
    // figures show "—"). Updates in place, or inserts and removes rows, as described above.
    void setSnapshot(const OwnershipTable& table, const std::vector<ShardFigures>& figures);
    // Fresh figures for the shards already shown; figures for unknown shards are ignored.
    void setFigures(const std::vector<ShardFigures>& figures);
    void clear();

    std::uint64_t epoch() const { return m_epoch; } // of the last snapshot; 0 before any
    const OwnershipRow& rowAt(int row) const { return m_rows[static_cast<std::size_t>(row)]; }
    std::optional<int> rowOfShard(ShardId shard) const; // O(n)

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    std::vector<OwnershipRow> rowsFor(const OwnershipTable& table,
                                      const std::vector<ShardFigures>& figures) const;
    bool applyRemovalsAndInsertions(const std::vector<OwnershipRow>& next);
    void removeRowsNotIn(const std::unordered_set<ShardId>& kept);
    void insertRowsNotIn(const std::vector<OwnershipRow>& next,
                         const std::unordered_set<ShardId>& present);
    void updateChangedRows(std::vector<OwnershipRow>& next);

    std::vector<OwnershipRow> m_rows;
    std::uint64_t m_epoch = 0;
};

// Filters the ownership table by host (owner or replica, exact id), key prefix (shards holding
// any key with that prefix) and minimum score, all combined; sorts by OwnershipTableModel's
// SortRole, numbers as numbers, text case-insensitively. Shards without figures sort first in
// ascending order, so that sorting by score descending (the usual question: what is hottest?)
// puts them at the bottom; a plain QSortFilterProxyModel would put them on top. Filters and
// sorting follow source updates (dynamicSortFilter).
class OwnershipFilterProxyModel : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit OwnershipFilterProxyModel(QObject* parent = nullptr);

    void setHostFilter(const QString& host); // empty: every host
    void setKeyPrefix(const Key& prefix);    // empty: every key
    // Parses `text` as parseKeyText() does ("0x…" is hex); false, and the filter unchanged, when
    // the hex is malformed, so a line edit can show the mistake.
    bool setKeyPrefixText(const QString& text);
    void setMinimumScore(double fraction); // 0: every shard, even those without figures

    const QString& hostFilter() const { return m_host; }
    const Key& keyPrefix() const { return m_keyPrefix; }
    double minimumScore() const { return m_minimumScore; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;
    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;

private:
    bool hostMatches(const QModelIndex& sourceIndex) const;
    bool keyPrefixMatches(const QModelIndex& sourceIndex) const;
    bool scoreMatches(const QModelIndex& sourceIndex) const;

    QString m_host;
    Key m_keyPrefix;
    double m_minimumScore = 0.0;
};

} // namespace rangepilot
