#pragma once

// The Predictive Load Migrator: one planning round turns projected per-cell load into boundary
// changes and key-range moves that keep every host under its capacity *before* load arrives.
//
// A round, on a working copy of the cluster (the input is not modified):
//  1. State. Each shard's projected series is the sum of its key cells' (a cell belongs to the
//     shard holding its first key, so shard boundaries should be cell boundaries; a shard narrower
//     than a cell carries no load). A host's series is its background plus its shards'. Shards
//     being moved count on their target already: that is where they will serve the horizon.
//  2. Dividers (dividers.h). A shard whose projected peak score on its owner exceeds split_above
//     is split at its load-balancing cell boundary, recursively, while each cut lowers the peak by
//     at least min_gain and the shard bounds hold. Then adjacent shards with the same hosts merge
//     while their joint peak stays under merge_below, unless either was re-cut or moved within the
//     cooldown. The gap between split_above and merge_below is the hysteresis.
//  3. Placement. While a host's projected peak score exceeds overload_threshold (or the mean
//     host's peak by more than balance_band, when over balance_floor), move one of its shards: one
//     whose move alone brings the host under the threshold with the fewest bytes, or else the best
//     peak reduction per byte. Sufficient moves include the hot part of a shard: the cheapest run
//     of its cells that alone suffices, cut out by one or two splits (within the split budget,
//     max_shards and min_shard_bytes) when it holds at most carve_max_fraction of the shard's
//     bytes, so a hot key range moves without the cold data around it. The target is a host that
//     does not serve the shard yet (replicas stay distinct) and whose projected series plus the
//     shard's stays, at every step, under target_utilization (and mean × (1 + band / 2)) on the
//     weighted score and under 1.0 on every resource (so no move puts a host over projected
//     capacity); among those, the one with the lowest projected peak after the move plus
//     latency_weight × the source→target latency.
//  4. Timing. hot_at is the first step at which the source crosses overload_threshold; start_by
//     = hot_at − copy duration − safety. Moves that can start later than the next round are
//     deferred: planned (they count in this round's state) but re-planned next round on fresher
//     data.
//  5. Anti-thrash. A shard overlapping a range moved within the cooldown does not move to even out
//     load (it does to keep its host under overload_threshold: a cooldown must not keep a host
//     hot while a sweeping hot spot reaches the range it just received); a move
//     back to a host the range left within undo_window is held (unless that host is over
//     capacity now); at most max_concurrent_moves run at once and at most max_bytes_per_hour
//     start per hour (moves in flight and started ones count); a move whose gain is under
//     min_gain is not made; and the round is re-planned on its own post-move state with cooldowns
//     and budgets lifted: a planned move whose range that second pass would move again is held.
//     Because every target stays under target_utilization ≤ overload_threshold at every step,
//     that second pass finds nothing to undo unless the placement rules are broken; it is the
//     guard that keeps it so. Held moves say why.
//
// Deterministic: ties break by shard order and host order. Cost, for n shards, c cells, s steps,
// H hosts: O((n + c) · s) to build the state, O(c_shard · s) per split considered, and per move
// O(k · s) for the shards of the hot host plus O(H log H) to re-rank hosts. 100,000 shards ×
// 1,000 hosts × 12 steps plan in well under 200 ms on one core (bench/bench_planner).

#include "cluster_model.h"
#include "key_cells.h"
#include "load_score.h"
#include "migration_plan.h"
#include "move_history.h"
#include "ownership_table.h"
#include "result.h"
#include "time_ms.h"

#include <cstddef>
#include <span>

namespace rangepilot {

struct MigratorOptions {
    ScoreWeights weights;
    double overload_threshold = 0.85; // a host projected above this score sheds load
    double target_utilization = 0.80; // a move fills its target at most to this score
    // Balance as well: a host projected above the mean host's peak × (1 + band) also sheds, and
    // targets fill only to mean × (1 + band / 2). Hosts then meet a hot spot with headroom
    // instead of at the threshold, and where nothing can be predicted the planner still evens
    // out load that is already there (as the reactive balancers do, without waiting). 0 = off.
    double balance_band = 0.25;
    // The band applies only above this score: a host with that much headroom is not worth a move
    // whatever the mean is (at night, 33% against a 25% mean moved 10 MB for nothing on the
    // generated diurnal trace).
    double balance_floor = 0.5;
    double split_above = 0.20;    // shards projected above this share of their owner split
    double merge_below = 0.05;    // same-host neighbours merge under this joint peak
    double min_gain = 0.02;       // the smallest peak reduction a split or move must buy
    std::size_t max_shards = 0;   // 0: unbounded
    double min_shard_bytes = 0.0; // each half of a split holds at least this
    // A host that one shard's move would bring under the threshold may instead move only the
    // cheapest run of that shard's cells that does the same (the shard is split around it), when
    // the run holds at most this share of the shard's bytes. Load within a shard is rarely even:
    // its hot keys carry the excess at a fraction of the copy. 0 = whole shards only.
    double carve_max_fraction = 0.5;
    std::size_t max_splits_per_round = 32;
    std::size_t max_merges_per_round = 32;
    TimeMs cooldown_ms = 30 * kMsPerMinute;
    // A move that takes a range back to a host it left within this window is held, unless the
    // host it would leave is over capacity right now (an overload beats thrash avoidance).
    TimeMs undo_window_ms = kMsPerHour;
    std::size_t max_concurrent_moves = 4;
    double max_bytes_per_hour = 0.0; // 0: unbounded
    double migration_bytes_per_s = 50e6;
    double batch_bytes = 16.0 * 1024 * 1024;
    TimeMs safety_ms = 5 * kMsPerMinute;
    double latency_weight = 0.002; // score points per ms of source→target latency
    bool check_next_round = true;
};

// "overload_threshold must be in (0, 10]", "merge_below must be below split_above", ...
Status validate(const MigratorOptions& options);

struct PlanningInput {
    TimeMs now = 0;
    TimeMs round_ms = kMsPerMinute;
    const OwnershipTable& table;
    const KeyCells& cells;
    const CellProjection& projection; // steps from `now`, with data bytes per cell
    const ClusterModel& cluster;      // every owner and replica of the table must be a host here
    std::span<const InFlightMove> in_flight;
    const MoveHistory& history;
};

// One planning round. Errors only for inconsistent input (a projection with a different cell
// count, an owner that is not a host of the cluster, invalid options), naming what is wrong.
Result<MigrationPlan> planMigrations(const PlanningInput& input, const MigratorOptions& options);

} // namespace rangepilot
