#pragma once

// The Key Range Ownership Table: which shard holds a key, and which hosts serve that shard.
//
// Invariants. Strictly increasing split keys cut the key space into contiguous shards: the first
// starts at the empty key, the last is unbounded above, and each shard ends where the next one
// starts, so every key belongs to exactly one shard. Shard ids are unique. Each shard has one
// owner (serves reads and writes) and zero or more replicas, all on distinct hosts. The table also
// keeps its hosts in a stable placement order: bucket i of Jump Consistent Hash is
// placementHosts()[i]. Every owner and replica is one of these hosts; a host may hold nothing.
//
// A table is an immutable snapshot versioned by its epoch. Every change (split, merge, reassign,
// host added or removed) returns a new table with epoch + 1 and leaves the original untouched, so
// readers keep using an old snapshot while a new one is published by compare-and-swap on the
// epoch. Nothing throws: invalid input gives an Error that names the shard and the broken rule.
//
// Hosts joining or leaving move the minimum (see withHostAdded / withHostRemoved): Jump Consistent
// Hash places shards, while key lookups stay a sorted range table.
//
// Cost: lookup by key is std::upper_bound over a contiguous vector of start keys, O(log n); lookup
// by id is a binary search over a sorted id index, O(log n). Building or changing a table copies
// and re-validates it: O(n log n) for n shards.

#include "key.h"
#include "result.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rangepilot {

using HostId = std::string;
using ShardId = std::uint64_t;

struct Shard {
    ShardId id = 0;
    KeyRange range;
    HostId owner;
    std::vector<HostId> replicas; // in slot order: replica 1, replica 2, ...

    bool operator==(const Shard&) const = default;
};

// The jump-hash key of one role of a shard: slot 0 is the owner, slot k >= 1 is replica k.
// Slot 0 is exactly mix64(id); other slots are decorrelated from it so that a shard's owner and
// replicas move independently when hosts join.
std::uint64_t placementKey(ShardId id, std::size_t slot);

class OwnershipTable {
public:
    // A table from explicit shards, in key order. `placementHosts` fixes the jump-hash order of
    // the hosts; when empty it becomes the sorted distinct owners and replicas. Rules checked:
    // at least one shard; first start "" and last end "" (+inf); each shard starts where the
    // previous one ends (no gap, no overlap, key order); non-empty ranges; unique ids; non-empty
    // owners; replicas non-empty, distinct from the owner and from each other; placement hosts
    // non-empty and unique, and containing every owner and replica.
    static Result<OwnershipTable> create(std::vector<Shard> shards, std::uint64_t epoch,
                                         std::vector<HostId> placementHosts = {});

    // splitKeys.size() + 1 shards with ids 1..N in key order, bounded by the given strictly
    // increasing, non-empty split keys. Shard `id` is owned by hosts[jump(mix64(id), H)] and its
    // replicas are the next `replicaCount` hosts after the owner in `hosts` order (wrapping).
    // `hosts` becomes the placement order. Needs replicaCount < hosts.size(). Epoch 1.
    static Result<OwnershipTable> withInitialPlacement(std::vector<Key> splitKeys,
                                                       std::vector<HostId> hosts,
                                                       int replicaCount = 0);

    std::uint64_t epoch() const { return m_epoch; }
    std::size_t shardCount() const { return m_shards.size(); }
    const std::vector<Shard>& shards() const { return m_shards; } // in key order
    std::vector<Key> splitKeys() const;                           // every start key but ""

    // Index (into shards()) of the shard whose range contains `key`. O(log n).
    std::size_t indexOf(std::string_view key) const;
    const Shard& shardFor(std::string_view key) const { return m_shards[indexOf(key)]; }
    // nullptr when no shard has this id. O(log n).
    const Shard* shardById(ShardId id) const;

    // Every host of the table, sorted (owners, replicas, and hosts that hold nothing yet).
    const std::vector<HostId>& hosts() const { return m_sortedHosts; }
    // The same hosts in jump-hash bucket order.
    const std::vector<HostId>& placementHosts() const { return m_placementHosts; }
    bool hasHost(std::string_view host) const;

    // An id no shard uses: one more than the largest id (or the smallest unused one if that
    // overflows).
    ShardId nextFreeShardId() const;

    // --- Changes: each returns a new table with epoch + 1; this one stays as it is. ---

    // Splits `shard` at `at`, which must lie strictly inside it (greater than its start, less
    // than its end). The left half keeps the id; the right half gets `newShardId` (must be
    // unused). Both halves keep the owner and replicas: splitting moves no data.
    Result<OwnershipTable> split(ShardId shard, const Key& at, ShardId newShardId) const;

    // Merges `right` into `left`; `right` must start exactly where `left` ends. The result keeps
    // the left shard's id, owner and replicas.
    Result<OwnershipTable> merge(ShardId left, ShardId right) const;

    // Makes `newOwner` (a host of the table, not the current owner) own `shard`. When newOwner
    // is one of the shard's replicas, the previous owner takes its replica slot (a promotion), so
    // the replica set stays the same size and distinct.
    Result<OwnershipTable> reassign(ShardId shard, const HostId& newOwner) const;
    // Sets owner and replicas at once; every host must belong to the table, all distinct, and
    // something must change.
    Result<OwnershipTable> reassign(ShardId shard, const HostId& newOwner,
                                    std::vector<HostId> newReplicas) const;

    // Adds `host` as jump-hash bucket H (H = hosts before). For each shard, the first role (slot
    // 0 = owner, then replicas in order) with jump(placementKey(id, slot), H + 1) == H moves to
    // the new host; all other roles stay. So a shard's owner moves iff
    // jump(mix64(id), H + 1) == H: about 1/(H + 1) of the shards, all onto the new host, and
    // the new host takes about 1/(H + 1) of the replica roles too. A shard gets the new host in
    // at most one role, so its hosts stay distinct.
    Result<OwnershipTable> withHostAdded(const HostId& host) const;

    // Removes `host` from the placement order (the others keep their relative order). Each role
    // it held goes to a host chosen by jump hash among the remaining hosts that do not already
    // serve that shard, keyed by placementKey(id, slot) salted with the departing host's name
    // (so its shards spread evenly instead of landing on one neighbour). Only shards the host
    // served change, and only in the role it held. Fails for an unknown or the last host, or
    // when a shard it serves needs more distinct hosts (owner + replicas) than would remain.
    Result<OwnershipTable> withHostRemoved(const HostId& host) const;

    bool operator==(const OwnershipTable&) const = default;

private:
    OwnershipTable() = default;

    static Result<OwnershipTable> assemble(std::vector<Shard> shards,
                                           std::vector<HostId> placementHosts, std::uint64_t epoch);
    Result<OwnershipTable> successor(std::vector<Shard> shards,
                                     std::vector<HostId> placementHosts) const;
    // Position in m_shards, or shardCount() when the id is unknown.
    std::size_t positionOf(ShardId id) const;

    std::vector<Shard> m_shards;
    std::vector<Key> m_startKeys;                           // m_startKeys[i] == shard i's start
    std::vector<std::pair<ShardId, std::size_t>> m_idIndex; // sorted by id → position
    std::vector<HostId> m_placementHosts;
    std::vector<HostId> m_sortedHosts;
    std::uint64_t m_epoch = 0;
};

// A multi-line, human-readable dump for logs and debugging: the epoch, the hosts, then one line
// per shard with its id, range, owner and replicas.
std::string describe(const OwnershipTable& table);

} // namespace rangepilot
