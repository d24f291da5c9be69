#include "ownership_table.h"

#include "jump_hash.h"

#include <algorithm>
#include <cstddef>
#include <limits>

namespace rangepilot {

namespace {

std::string quoted(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

std::string describeShard(const Shard& shard) {
    return "shard " + std::to_string(shard.id) + " " + formatKeyRange(shard.range);
}

std::string keyText(std::string_view key) {
    return key.empty() ? std::string("the empty key") : quoted(formatKey(key));
}

bool contains(const std::vector<HostId>& hosts, std::string_view host) {
    return std::find(hosts.begin(), hosts.end(), host) != hosts.end();
}

// True when `host` already serves `shard` as owner or replica.
bool serves(const Shard& shard, std::string_view host) {
    return shard.owner == host || contains(shard.replicas, host);
}

// The host in a role slot: 0 is the owner, k >= 1 is replicas[k - 1].
HostId& hostInSlot(Shard& shard, std::size_t slot) {
    return slot == 0 ? shard.owner : shard.replicas[slot - 1];
}

std::size_t roleCount(const Shard& shard) {
    return 1 + shard.replicas.size();
}

// Jump hash takes an int32 bucket count; a table with more hosts than that is refused up front.
bool fitsJumpBuckets(std::size_t count) {
    return count <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
}

std::int32_t jumpBucket(std::uint64_t key, std::size_t buckets) {
    return jumpConsistentHash(key, static_cast<std::int32_t>(buckets));
}

Status checkPlacementHosts(const std::vector<HostId>& hosts) {
    if (!fitsJumpBuckets(hosts.size()))
        return Error{"too many hosts for jump-hash placement (" + std::to_string(hosts.size()) +
                     ")"};
    std::vector<HostId> sorted = hosts;
    std::sort(sorted.begin(), sorted.end());
    if (!sorted.empty() && sorted.front().empty())
        return Error{"a host has an empty name"};
    const auto duplicate = std::adjacent_find(sorted.begin(), sorted.end());
    if (duplicate != sorted.end())
        return Error{"host " + quoted(*duplicate) + " is listed twice"};
    return Status::success();
}

Status checkHostsOfShard(const Shard& shard) {
    if (shard.owner.empty())
        return Error{describeShard(shard) + " has no owner"};
    for (std::size_t i = 0; i < shard.replicas.size(); ++i) {
        const HostId& replica = shard.replicas[i];
        if (replica.empty())
            return Error{describeShard(shard) + ": replica " + std::to_string(i + 1) +
                         " has an empty host name"};
        if (replica == shard.owner)
            return Error{describeShard(shard) + ": replica " + quoted(replica) +
                         " is also its owner; replicas must be on other hosts"};
        const auto earlier = shard.replicas.begin() + static_cast<std::ptrdiff_t>(i);
        if (std::find(shard.replicas.begin(), earlier, replica) != earlier)
            return Error{describeShard(shard) + ": replica " + quoted(replica) +
                         " is listed twice; replicas must be on distinct hosts"};
    }
    return Status::success();
}

// Coverage of the key space: key order, no gap, no overlap, non-empty ranges, +inf at the end.
Status checkCoverage(const std::vector<Shard>& shards) {
    if (shards.empty())
        return Error{"an ownership table needs at least one shard"};
    if (!shards.front().range.start.empty())
        return Error{describeShard(shards.front()) +
                     " is first but does not start at the empty key; the table must cover the "
                     "whole key space"};
    for (std::size_t i = 0; i < shards.size(); ++i) {
        const Shard& shard = shards[i];
        const bool last = i + 1 == shards.size();
        if (!shard.range.unboundedAbove() && shard.range.end <= shard.range.start)
            return Error{describeShard(shard) +
                         " is empty or inverted: its end must be greater than its start"};
        if (last && !shard.range.unboundedAbove())
            return Error{describeShard(shard) + " is last but ends at " + keyText(shard.range.end) +
                         "; the last shard must be unbounded above (+inf)"};
        if (last)
            break;
        const Shard& following = shards[i + 1];
        if (shard.range.unboundedAbove())
            return Error{describeShard(shard) + " is unbounded above but is not the last shard (" +
                         describeShard(following) + " follows it)"};
        if (following.range.start > shard.range.end)
            return Error{"gap between " + describeShard(shard) + " and " +
                         describeShard(following) +
                         ": shards must be listed in key order, each starting where the previous "
                         "one ends"};
        if (following.range.start < shard.range.end)
            return Error{"overlap: " + describeShard(following) + " starts before " +
                         describeShard(shard) +
                         " ends; shards must be listed in key order, each starting where the "
                         "previous one ends"};
    }
    return Status::success();
}

std::vector<HostId> sortedDistinctHosts(const std::vector<Shard>& shards) {
    std::vector<HostId> hosts;
    for (const Shard& shard : shards) {
        hosts.push_back(shard.owner);
        hosts.insert(hosts.end(), shard.replicas.begin(), shard.replicas.end());
    }
    std::sort(hosts.begin(), hosts.end());
    hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
    return hosts;
}

Status checkSplitKeys(const std::vector<Key>& splitKeys) {
    for (std::size_t i = 0; i < splitKeys.size(); ++i) {
        if (splitKeys[i].empty())
            return Error{"split key #" + std::to_string(i) +
                         " is the empty key, which already starts the key space"};
        if (i > 0 && splitKeys[i] <= splitKeys[i - 1])
            return Error{"split keys must be strictly increasing: #" + std::to_string(i) + " (" +
                         keyText(splitKeys[i]) + ") is not greater than #" + std::to_string(i - 1) +
                         " (" + keyText(splitKeys[i - 1]) + ")"};
    }
    return Status::success();
}

// The host that takes over role `slot` of `shard` from `departing`: jump hash over the remaining
// hosts that do not already serve the shard (so the shard's hosts stay distinct), in placement
// order. The key is salted with the departing host's name: unsalted, jump(k, H - 1) returns the
// departed bucket's own index for nearly every key it held, piling them all onto one neighbour.
// Precondition: at least one remaining host is free.
HostId heirFor(const Shard& shard, std::size_t slot, const HostId& departing,
               const std::vector<HostId>& remaining) {
    std::vector<const HostId*> free;
    free.reserve(remaining.size());
    for (const HostId& candidate : remaining)
        if (!serves(shard, candidate))
            free.push_back(&candidate);
    const std::uint64_t key = mix64(placementKey(shard.id, slot) ^ hashBytes(departing));
    return *free[static_cast<std::size_t>(jumpBucket(key, free.size()))];
}

Error unknownShard(ShardId id) {
    return Error{"unknown shard id " + std::to_string(id)};
}

Error unknownHost(const HostId& host) {
    return Error{"unknown host " + quoted(host) + ": it is not a host of this table"};
}

} // namespace

std::uint64_t placementKey(ShardId id, std::size_t slot) {
    const std::uint64_t ownerKey = mix64(id);
    return slot == 0 ? ownerKey : mix64(ownerKey + slot);
}

// --- Construction ---

Result<OwnershipTable> OwnershipTable::create(std::vector<Shard> shards, std::uint64_t epoch,
                                              std::vector<HostId> placementHosts) {
    if (placementHosts.empty())
        placementHosts = sortedDistinctHosts(shards);
    return assemble(std::move(shards), std::move(placementHosts), epoch);
}

Result<OwnershipTable> OwnershipTable::withInitialPlacement(std::vector<Key> splitKeys,
                                                            std::vector<HostId> hosts,
                                                            int replicaCount) {
    if (hosts.empty())
        return Error{"initial placement needs at least one host"};
    if (replicaCount < 0)
        return Error{"replica count must not be negative (got " + std::to_string(replicaCount) +
                     ")"};
    if (static_cast<std::size_t>(replicaCount) >= hosts.size())
        return Error{std::to_string(replicaCount) + " replicas need at least " +
                     std::to_string(replicaCount + 1) +
                     " hosts (owner and replicas on distinct hosts), got " +
                     std::to_string(hosts.size())};
    if (const Status hostsOk = checkPlacementHosts(hosts); !hostsOk)
        return Error{hostsOk.message()};
    if (const Status splitsOk = checkSplitKeys(splitKeys); !splitsOk)
        return Error{splitsOk.message()};

    std::vector<Shard> shards(splitKeys.size() + 1);
    for (std::size_t i = 0; i < shards.size(); ++i) {
        Shard& shard = shards[i];
        shard.id = i + 1;
        shard.range.start = i == 0 ? Key() : std::move(splitKeys[i - 1]);
        shard.range.end = i < splitKeys.size() ? splitKeys[i] : Key();
        const auto ownerBucket =
            static_cast<std::size_t>(jumpBucket(mix64(shard.id), hosts.size()));
        shard.owner = hosts[ownerBucket];
        for (int r = 1; r <= replicaCount; ++r)
            shard.replicas.push_back(
                hosts[(ownerBucket + static_cast<std::size_t>(r)) % hosts.size()]);
    }
    return assemble(std::move(shards), std::move(hosts), 1);
}

Result<OwnershipTable> OwnershipTable::assemble(std::vector<Shard> shards,
                                                std::vector<HostId> placementHosts,
                                                std::uint64_t epoch) {
    if (const Status coverage = checkCoverage(shards); !coverage)
        return Error{coverage.message()};
    for (const Shard& shard : shards)
        if (const Status hostsOk = checkHostsOfShard(shard); !hostsOk)
            return Error{hostsOk.message()};
    if (const Status hostsOk = checkPlacementHosts(placementHosts); !hostsOk)
        return Error{hostsOk.message()};

    OwnershipTable table;
    table.m_sortedHosts = placementHosts;
    std::sort(table.m_sortedHosts.begin(), table.m_sortedHosts.end());

    for (const Shard& shard : shards) {
        const auto known = [&](const HostId& host) {
            return std::binary_search(table.m_sortedHosts.begin(), table.m_sortedHosts.end(), host);
        };
        if (!known(shard.owner))
            return Error{describeShard(shard) + ": owner " + quoted(shard.owner) +
                         " is not one of the table's hosts"};
        for (const HostId& replica : shard.replicas)
            if (!known(replica))
                return Error{describeShard(shard) + ": replica " + quoted(replica) +
                             " is not one of the table's hosts"};
    }

    table.m_idIndex.reserve(shards.size());
    table.m_startKeys.reserve(shards.size());
    for (std::size_t i = 0; i < shards.size(); ++i) {
        table.m_idIndex.emplace_back(shards[i].id, i);
        table.m_startKeys.push_back(shards[i].range.start);
    }
    std::sort(table.m_idIndex.begin(), table.m_idIndex.end());
    const auto sameId = [](const auto& a, const auto& b) { return a.first == b.first; };
    const auto duplicate =
        std::adjacent_find(table.m_idIndex.begin(), table.m_idIndex.end(), sameId);
    if (duplicate != table.m_idIndex.end())
        return Error{"shard id " + std::to_string(duplicate->first) + " is used twice (" +
                     describeShard(shards[duplicate->second]) + " and " +
                     describeShard(shards[(duplicate + 1)->second]) + "); ids must be unique"};

    table.m_shards = std::move(shards);
    table.m_placementHosts = std::move(placementHosts);
    table.m_epoch = epoch;
    return table;
}

Result<OwnershipTable> OwnershipTable::successor(std::vector<Shard> shards,
                                                 std::vector<HostId> placementHosts) const {
    if (m_epoch == std::numeric_limits<std::uint64_t>::max())
        return Error{"the table's epoch is at its maximum and cannot advance"};
    return assemble(std::move(shards), std::move(placementHosts), m_epoch + 1);
}

// --- Queries ---

std::vector<Key> OwnershipTable::splitKeys() const {
    return {m_startKeys.begin() + 1, m_startKeys.end()};
}

std::size_t OwnershipTable::indexOf(std::string_view key) const {
    // The first start key greater than `key`, minus one: the last shard starting at or before
    // it. m_startKeys[0] is "" and no key is smaller, so the result is never negative.
    const auto after = std::upper_bound(
        m_startKeys.begin(), m_startKeys.end(), key,
        [](std::string_view probe, const Key& start) { return probe < std::string_view(start); });
    return static_cast<std::size_t>(after - m_startKeys.begin()) - 1;
}

std::size_t OwnershipTable::positionOf(ShardId id) const {
    const auto found =
        std::lower_bound(m_idIndex.begin(), m_idIndex.end(), id,
                         [](const auto& entry, ShardId wanted) { return entry.first < wanted; });
    return found != m_idIndex.end() && found->first == id ? found->second : m_shards.size();
}

const Shard* OwnershipTable::shardById(ShardId id) const {
    const std::size_t position = positionOf(id);
    return position < m_shards.size() ? &m_shards[position] : nullptr;
}

bool OwnershipTable::hasHost(std::string_view host) const {
    return std::binary_search(m_sortedHosts.begin(), m_sortedHosts.end(), host,
                              [](std::string_view a, std::string_view b) { return a < b; });
}

ShardId OwnershipTable::nextFreeShardId() const {
    const ShardId largest = m_idIndex.back().first;
    if (largest != std::numeric_limits<ShardId>::max())
        return largest + 1;
    // The top id is taken: the first gap in the sorted ids (there are far fewer shards than ids).
    ShardId candidate = 0;
    for (const auto& [id, position] : m_idIndex) {
        if (id != candidate)
            break;
        ++candidate;
    }
    return candidate;
}

// --- Changes ---

Result<OwnershipTable> OwnershipTable::split(ShardId shard, const Key& at,
                                             ShardId newShardId) const {
    const std::size_t position = positionOf(shard);
    if (position == m_shards.size())
        return unknownShard(shard);
    if (positionOf(newShardId) != m_shards.size())
        return Error{"cannot split " + describeShard(m_shards[position]) + ": new shard id " +
                     std::to_string(newShardId) + " is already used by " +
                     describeShard(*shardById(newShardId))};
    const KeyRange& range = m_shards[position].range;
    if (at <= range.start)
        return Error{"cannot split " + describeShard(m_shards[position]) + " at " + keyText(at) +
                     ": the split key must be greater than the shard's start"};
    if (!range.unboundedAbove() && at >= range.end)
        return Error{"cannot split " + describeShard(m_shards[position]) + " at " + keyText(at) +
                     ": the split key must be less than the shard's end"};

    std::vector<Shard> shards = m_shards;
    Shard right = shards[position];
    right.id = newShardId;
    right.range.start = at;
    shards[position].range.end = at;
    shards.insert(shards.begin() + static_cast<std::ptrdiff_t>(position) + 1, std::move(right));
    return successor(std::move(shards), m_placementHosts);
}

Result<OwnershipTable> OwnershipTable::merge(ShardId left, ShardId right) const {
    const std::size_t leftPosition = positionOf(left);
    const std::size_t rightPosition = positionOf(right);
    if (leftPosition == m_shards.size())
        return unknownShard(left);
    if (rightPosition == m_shards.size())
        return unknownShard(right);
    if (left == right)
        return Error{"cannot merge " + describeShard(m_shards[leftPosition]) + " with itself"};
    if (rightPosition != leftPosition + 1) {
        const std::string hint = rightPosition + 1 == leftPosition
                                     ? " (they are in the other order: pass shard " +
                                           std::to_string(right) + " as the left one)"
                                     : std::string();
        return Error{"cannot merge " + describeShard(m_shards[leftPosition]) + " with " +
                     describeShard(m_shards[rightPosition]) +
                     ": not adjacent, the right shard must start where the left one ends" + hint};
    }

    std::vector<Shard> shards = m_shards;
    shards[leftPosition].range.end = shards[rightPosition].range.end;
    shards.erase(shards.begin() + static_cast<std::ptrdiff_t>(rightPosition));
    return successor(std::move(shards), m_placementHosts);
}

Result<OwnershipTable> OwnershipTable::reassign(ShardId shard, const HostId& newOwner) const {
    const std::size_t position = positionOf(shard);
    if (position == m_shards.size())
        return unknownShard(shard);
    if (!hasHost(newOwner))
        return unknownHost(newOwner);
    const Shard& current = m_shards[position];
    if (current.owner == newOwner)
        return Error{describeShard(current) + " is already owned by " + quoted(newOwner)};

    std::vector<HostId> replicas = current.replicas;
    // Promotion: the old owner steps into the new owner's replica slot.
    const auto promoted = std::find(replicas.begin(), replicas.end(), newOwner);
    if (promoted != replicas.end())
        *promoted = current.owner;
    return reassign(shard, newOwner, std::move(replicas));
}

Result<OwnershipTable> OwnershipTable::reassign(ShardId shard, const HostId& newOwner,
                                                std::vector<HostId> newReplicas) const {
    const std::size_t position = positionOf(shard);
    if (position == m_shards.size())
        return unknownShard(shard);
    if (!hasHost(newOwner))
        return unknownHost(newOwner);
    for (const HostId& replica : newReplicas)
        if (!hasHost(replica))
            return unknownHost(replica);
    const Shard& current = m_shards[position];
    if (current.owner == newOwner && current.replicas == newReplicas)
        return Error{describeShard(current) + " already has this owner and these replicas"};

    std::vector<Shard> shards = m_shards;
    shards[position].owner = newOwner;
    shards[position].replicas = std::move(newReplicas);
    return successor(std::move(shards), m_placementHosts);
}

Result<OwnershipTable> OwnershipTable::withHostAdded(const HostId& host) const {
    if (host.empty())
        return Error{"cannot add a host with an empty name"};
    if (hasHost(host))
        return Error{"host " + quoted(host) + " is already in the table"};
    const std::size_t before = m_placementHosts.size();
    if (!fitsJumpBuckets(before + 1))
        return Error{"too many hosts for jump-hash placement"};

    std::vector<Shard> shards = m_shards;
    const auto newBucket = static_cast<std::int32_t>(before);
    for (Shard& shard : shards) {
        // The first role jump hash sends to the new bucket moves there; at most one per shard,
        // so the shard's hosts stay distinct.
        for (std::size_t slot = 0; slot < roleCount(shard); ++slot) {
            if (jumpBucket(placementKey(shard.id, slot), before + 1) == newBucket) {
                hostInSlot(shard, slot) = host;
                break;
            }
        }
    }
    std::vector<HostId> placementHosts = m_placementHosts;
    placementHosts.push_back(host);
    return successor(std::move(shards), std::move(placementHosts));
}

Result<OwnershipTable> OwnershipTable::withHostRemoved(const HostId& host) const {
    if (!hasHost(host))
        return unknownHost(host);
    if (m_placementHosts.size() == 1)
        return Error{"cannot remove host " + quoted(host) + ": it is the last host"};

    std::vector<HostId> remaining = m_placementHosts;
    remaining.erase(std::find(remaining.begin(), remaining.end(), host));

    std::vector<Shard> shards = m_shards;
    for (Shard& shard : shards) {
        if (!serves(shard, host))
            continue;
        if (roleCount(shard) > remaining.size())
            return Error{"cannot remove host " + quoted(host) + ": " + describeShard(shard) +
                         " needs " + std::to_string(roleCount(shard)) +
                         " distinct hosts (owner and replicas) but only " +
                         std::to_string(remaining.size()) + " would remain"};
        for (std::size_t slot = 0; slot < roleCount(shard); ++slot) {
            if (hostInSlot(shard, slot) == host)
                hostInSlot(shard, slot) = heirFor(shard, slot, host, remaining);
        }
    }
    return successor(std::move(shards), std::move(remaining));
}

std::string describe(const OwnershipTable& table) {
    std::string text = "epoch " + std::to_string(table.epoch()) + ": " +
                       std::to_string(table.shardCount()) + " shards on " +
                       std::to_string(table.placementHosts().size()) + " hosts (";
    for (std::size_t i = 0; i < table.placementHosts().size(); ++i)
        text += (i == 0 ? "" : ", ") + table.placementHosts()[i];
    text += ")\n";
    for (const Shard& shard : table.shards()) {
        text += "  " + describeShard(shard) + " owner " + shard.owner;
        if (!shard.replicas.empty()) {
            text += " replicas";
            for (const HostId& replica : shard.replicas)
                text += " " + replica;
        }
        text += "\n";
    }
    return text;
}

} // namespace rangepilot
