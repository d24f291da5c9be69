#pragma once

// A balancing policy: what the cluster simulator (and later the console's auto-apply) asks, once
// per round, for the splits, merges and moves to make. Implementations: static (never moves),
// reactive (what production balancers do: act on load that is already there), predictive (ours:
// act on projected load) and oracle (predictive fed with the actual future; an upper bound).
//
// Causality: a round's observation holds only what happened up to `now`. A policy may keep its
// own history of observations (forecasters do) but receives nothing later than `now`; only the
// oracle is built with the future, and it is labeled as such everywhere it is reported.

#include "cluster_model.h"
#include "key_cells.h"
#include "migration_plan.h"
#include "move_history.h"
#include "ownership_table.h"
#include "time_ms.h"

#include <span>
#include <string_view>

namespace rangepilot {

struct RoundObservation {
    TimeMs now = 0;      // end of the round just observed
    TimeMs round_ms = 0; // its length
    const KeyCells& cells;
    // Mean per-second load of each cell over the round: ops/s, bytes/s (network), disk bytes/s
    // (writes), service time µs/s. Memory is left 0: data size is in cell_data_bytes.
    std::span<const ResourceVector> cell_rates;
    // Bytes stored in each cell, as far as the keys seen so far tell.
    std::span<const double> cell_data_bytes;
    // The current table: ranges being moved are still owned by their source until cutover.
    const OwnershipTable& table;
    // Hosts with capacity; background = load no range explains (running migrations, other work).
    const ClusterModel& cluster;
    // Measured mean per-second load of each host over the round (ranges + migrations), indexed
    // like cluster.hosts.
    std::span<const ResourceVector> host_rates;
    std::span<const InFlightMove> in_flight;
    const MoveHistory& history; // moves started and boundaries changed so far
};

class BalancingPolicy {
public:
    virtual ~BalancingPolicy() = default;
    virtual std::string_view name() const = 0;
    // Called once per round, in time order. The caller applies the plan's splits and merges at
    // once, starts its moves, and records all of them in the history it passes next time.
    virtual MigrationPlan planRound(const RoundObservation& observation) = 0;
};

} // namespace rangepilot
