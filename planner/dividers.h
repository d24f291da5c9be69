#pragma once

// Dynamic dividers: where shard boundaries should be, computed from projected load per key cell.
//
// A shard whose projected peak score exceeds a target is split at the cell boundary that balances
// the projected peaks of the two halves: it minimizes max(peak(left), peak(right)), where each
// peak is taken over the half's own step-by-step series (halves that peak at different times
// balance differently than their totals suggest). Not the key midpoint, not the median key: a hot
// key at one end gets a shard of its own. Cold adjacent shards on the same hosts merge when their
// joint projected peak stays below a lower target; the gap between the two targets, a minimum
// gain and a cooldown are the hysteresis that keeps boundaries from flapping.
//
// Boundaries are cell boundaries: key cells are the planner's finest resolution (see
// key_cells.h). Cost: findBalancingSplit is O(cells × steps × resources) over the shard's cells.

#include "cluster_model.h"
#include "key_cells.h"
#include "load_score.h"

#include <optional>

namespace rangepilot {

struct SplitPoint {
    CellIndex cell = 0; // the right half starts at this cell
    double peak_left = 0.0;
    double peak_right = 0.0;
};

// The balancing split of the cells [first, end) against `capacity`; nullopt when the range has
// fewer than two cells.
std::optional<SplitPoint> findBalancingSplit(const CellProjection& projection, CellIndex first,
                                             CellIndex end, const ResourceVector& capacity,
                                             const ScoreWeights& weights);

} // namespace rangepilot
