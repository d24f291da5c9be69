#pragma once

// What the anti-thrash rules remember between rounds: the moves started, and the boundary changes
// (splits, merges) made, with their times. Entries are keyed by key range, not shard id, because
// ids change when shards split and merge while the data stays where it is.
//
// Answers: when was anything overlapping this range last moved or re-cut (cooldown), how many
// bytes have moves started since a time (the bytes-per-hour budget), and would moving a range
// from A to B undo a recent move from B to A (thrash). Cost: linear in the entries kept; prune()
// drops those older than the longest window in use, so a few hundred remain.

#include "key.h"
#include "ownership_table.h"
#include "time_ms.h"

#include <deque>
#include <optional>

namespace rangepilot {

struct MoveRecord {
    ShardId shard = 0;
    KeyRange range;
    HostId from;
    HostId to;
    double bytes = 0.0;
    TimeMs started_ms = 0;
};

struct BoundaryRecord {
    KeyRange range; // the shard(s) affected: a split shard's whole range, a merge's joint range
    TimeMs at_ms = 0;
};

class MoveHistory {
public:
    void recordMove(MoveRecord move);
    void recordBoundaryChange(BoundaryRecord change);

    // The latest start of a move whose range overlaps `range`.
    std::optional<TimeMs> lastMoveOverlapping(const KeyRange& range) const;
    // The latest split or merge touching `range`.
    std::optional<TimeMs> lastBoundaryChangeOverlapping(const KeyRange& range) const;
    // Bytes of the moves started at or after `since`.
    double bytesStartedSince(TimeMs since) const;
    // A move of an overlapping range from `to` to `from` started in [now - window, now]: moving
    // `range` from `from` to `to` now would undo it.
    const MoveRecord* undoneBy(const KeyRange& range, const HostId& from, const HostId& to,
                               TimeMs now, TimeMs window) const;

    // Forgets entries that started before `before`.
    void prune(TimeMs before);

    const std::deque<MoveRecord>& moves() const { return m_moves; }
    const std::deque<BoundaryRecord>& boundaryChanges() const { return m_boundaryChanges; }

private:
    std::deque<MoveRecord> m_moves;               // in start order
    std::deque<BoundaryRecord> m_boundaryChanges; // in time order
};

// True when the two ranges share at least one key (empty end = +inf).
bool rangesOverlap(const KeyRange& a, const KeyRange& b);

} // namespace rangepilot
