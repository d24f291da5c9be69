#pragma once

// What one planning round proposes: boundary changes (splits, merges) and key-range moves, each
// with the numbers behind it and a sentence an operator can act on.
//
// Order of application: splits first, in order, then merges, then moves. A move names the shard
// id it moves as it exists after the splits and merges (a split's right half has `new_shard`).
// Splits and merges move no data; a move copies `bytes` in `batches` (contiguous key ranges in
// key order that tile the moved range, each at most the batch size unless one key cell alone is
// larger; the executor may cut those further).
//
// Times: `hot_at` is when the source host is projected to cross the overload threshold (or now,
// if it already has); `start_by` is the latest start that finishes the copy `safety` before
// hot_at. Moves due within the round are in `moves`; those that can wait are in `deferred`, so a
// console can show them as scheduled while the next rounds re-plan them on fresher data. Moves the
// anti-thrash rules stopped are in `held`, with the rule that stopped them.

#include "key.h"
#include "key_cells.h"
#include "ownership_table.h"
#include "result.h"
#include "time_ms.h"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rangepilot {

struct SplitInstruction {
    ShardId shard = 0;        // split; keeps the left half
    Key at;                   // first key of the right half, strictly inside the shard
    ShardId new_shard = 0;    // id of the right half
    double peak_before = 0.0; // projected peak score of the whole shard on its owner
    double peak_left = 0.0;
    double peak_right = 0.0;
    std::string reason;
};

struct MergeInstruction {
    ShardId left = 0;  // keeps its id
    ShardId right = 0; // starts where `left` ends, same owner and replicas
    double joint_peak = 0.0;
    std::string reason;
};

struct MoveInstruction {
    ShardId shard = 0;
    KeyRange range;
    HostId from;
    HostId to;
    double bytes = 0.0;
    std::vector<KeyRange> batches;
    TimeMs duration_ms = 0; // bytes / migration bandwidth
    TimeMs hot_at = 0;
    TimeMs start_by = 0;
    // Drop in the source host's projected peak score (fraction of its capacity) that the move
    // buys; source before/after and the target's projected peak after the move.
    double expected_gain = 0.0;
    double source_peak_before = 0.0;
    double source_peak_after = 0.0;
    double target_peak_after = 0.0;
    // Set when only the hot part of a shard moves: `range` is cut out of shard carved_from. For a
    // move in `moves`, the plan's splits cut it and `shard` is the piece (carved_from itself when
    // the piece is the shard's left part). For a deferred or held one the cut waits until the
    // move is due, and `shard` is carved_from.
    std::optional<ShardId> carved_from;
    std::string reason;
};

struct HeldMove {
    MoveInstruction move;
    std::string why; // "cooldown: moved 12 min ago", "budget: 3 moves in flight", ...
};

struct MigrationPlan {
    TimeMs now = 0;
    std::uint64_t table_epoch = 0; // the table the plan was made for
    std::vector<SplitInstruction> splits;
    std::vector<MergeInstruction> merges;
    std::vector<MoveInstruction> moves;    // start now
    std::vector<MoveInstruction> deferred; // planned, not due yet
    std::vector<HeldMove> held;            // stopped by anti-thrash rules

    bool hasActions() const { return !splits.empty() || !merges.empty() || !moves.empty(); }
};

// "42%" for 0.42: how reasons state scores and shares.
std::string formatPercent(double fraction);

// Applies the plan's splits, then its merges, to `table` (epoch + 1 per change). Moves are not
// applied: they take effect at cutover (OwnershipTable::reassign). An error names the instruction
// ("split 2 of 3 (shard 17 at 'k42'): ...") and the table is returned unchanged in no case.
Result<OwnershipTable> applyBoundaryChanges(const OwnershipTable& table, const MigrationPlan& plan);

// A move under way: the range is still served by `from` (writes go to both) until cutover at
// finishes_ms, when `to` becomes the owner.
struct InFlightMove {
    ShardId shard = 0;
    KeyRange range;
    HostId from;
    HostId to;
    double bytes = 0.0;
    TimeMs started_ms = 0;
    TimeMs finishes_ms = 0;
};

// Cuts the cells [firstCell, endCell) into batches of at most `batchBytes` (a single larger cell
// is its own batch) and returns their key ranges, which tile the cells' range in key order.
std::vector<KeyRange> batchRanges(const KeyCells& cells, CellIndex firstCell, CellIndex endCell,
                                  std::span<const double> cellBytes, double batchBytes);

} // namespace rangepilot
