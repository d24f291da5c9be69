#pragma once

// Instructions the connector tests give a modeled cluster.

#include "migration_plan.h"
#include "ownership_table.h"

namespace rangepilot::testing {

// A host of the table other than `host` (itself when there is no other).
inline HostId otherHost(const OwnershipTable& table, const HostId& host) {
    for (const HostId& candidate : table.placementHosts()) {
        if (candidate != host)
            return candidate;
    }
    return host;
}

// A move of the whole shard to `to`, without batches (the connector cuts them).
inline MoveInstruction moveOf(const Shard& shard, const HostId& to) {
    MoveInstruction move;
    move.shard = shard.id;
    move.range = shard.range;
    move.from = shard.owner;
    move.to = to;
    return move;
}

} // namespace rangepilot::testing
