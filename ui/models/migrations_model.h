#pragma once

// Migrations as the console shows them: the planner's proposals with their reason and expected
// gain, and moves under way with their phase, batches, bytes, copy rate and progress, in one list.
//
// The model only shows entries: approving, rejecting, scheduling, pausing and aborting happen
// elsewhere (the app's migration controller), which hands the model the updated entry. An entry
// is found by its MigrationId once the connector started it, and before that by its proposal key
// (shard, from, to). So a proposal turns into the running move in the same row when the app
// upserts it with the id executeMove() returned, and the connector's migrationProgress reports
// update that row in place.
//
// Invariants: rows keep the order in which entries first arrived; updates never move a row, and
// emit one dataChanged for the columns that changed. Progress is the copied share of the bytes
// (of the batches when bytes are unknown), 100% at Done, and absent before the move starts.
// Cost: lookups are O(n) over the rows, fine for the tens of entries a console holds.

#include "cluster_connector.h"
#include "display_text.h"

#include <QAbstractTableModel>
#include <QString>
#include <QVariant>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace rangepilot {

// What identifies a proposal before it has a MigrationId: a planning round that proposes the
// same move again updates that row instead of adding another.
struct ProposalKey {
    ShardId shard = 0;
    HostId from;
    HostId to;

    bool operator==(const ProposalKey&) const = default;
};

struct MigrationEntry {
    std::optional<MigrationId> id; // set once the connector started the move
    ShardId shard = 0;
    KeyRange range;
    HostId from;
    HostId to;
    MigrationPhase phase = MigrationPhase::Proposed;
    std::string reason; // MoveInstruction::reason
    // Drop in the source's projected peak score (0.12 = 12 points); none for a move the console
    // did not propose (resumed after a restart, or started by another console).
    std::optional<double> expected_gain;
    std::size_t batches_done = 0;
    std::size_t batches_total = 0;
    double bytes_copied = 0.0;
    double bytes_total = 0.0;
    double bytes_per_s = 0.0;           // copy rate over the last step
    std::optional<TimeMs> scheduled_ms; // when an operator (or auto-apply) scheduled it
    TimeMs updated_ms = 0;              // cluster time of the last report
    QString error;                      // why it failed or was rolled back

    ProposalKey proposalKey() const { return {shard, from, to}; }
    bool operator==(const MigrationEntry&) const = default;

    // A proposal as the planner made it: phase Proposed, no id, nothing copied yet.
    static MigrationEntry fromProposal(const MoveInstruction& move);
};

class MigrationsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Columns : int {
        IdColumn,        // MigrationId; empty before the move starts
        ShardColumn,     // shard id
        RangeColumn,     // "[a, b)"; sorts in key order
        FromColumn,      // host id
        ToColumn,        // host id
        PhaseColumn,     // migrationPhaseName(); sorts in state-machine order
        ReasonColumn,    // the planner's sentence
        GainColumn,      // "12%"
        BatchesColumn,   // "3 / 12"
        BytesColumn,     // "21.4 MB / 80.0 MB", or the total before the move starts
        RateColumn,      // "5.2 MB/s" while the move runs
        ProgressColumn,  // "27%"; ProgressRole for the progress-bar delegate
        ScheduledColumn, // "2026-01-05 19:20" (UTC)
        ColumnCount
    };

    enum Roles : int {
        // Numbers, text for hosts and reasons; invalid where the cell is empty, which a plain
        // QSortFilterProxyModel sorts after the others in ascending order.
        SortRole = display::kSortRole,
        ProgressRole,    // int 0..100, any column; invalid before the move starts
        PhaseRole,       // int(MigrationPhase), any column
        MigrationIdRole, // qulonglong, any column; invalid before the move starts
    };

    explicit MigrationsModel(QObject* parent = nullptr);

    // Replaces every entry (e.g. restored from the ownership store after a restart): a reset.
    void setEntries(std::vector<MigrationEntry> entries);
    // Updates the row with the entry's id, or (with no such row) the not-yet-started row with its
    // proposal key; appends a row when neither exists. Returns the row.
    int upsert(const MigrationEntry& entry);
    // Applies a connector report to the row with its id, keeping what the report does not carry
    // (reason, gain, schedule). An unknown id (a move resumed after a restart, or started by
    // another console) appends a row. Returns the row.
    int applyProgress(const MigrationProgress& progress);
    void removeAt(int row);
    // Replaces the entry in `row` (its key may change: a proposal renamed to a new shard id).
    void replace(int row, const MigrationEntry& entry);

    std::optional<int> rowOf(MigrationId id) const;
    // The row of a proposal with this key that has not started (no id).
    std::optional<int> rowOfProposal(const ProposalKey& key) const;
    const MigrationEntry& entryAt(int row) const {
        return m_entries[static_cast<std::size_t>(row)];
    }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    int append(const MigrationEntry& entry);

    std::vector<MigrationEntry> m_entries;
};

} // namespace rangepilot
