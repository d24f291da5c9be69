#include "proto_convert.h"

#include <utility>
#include <vector>

namespace rangepilot {

v1::KeyRange toProto(const KeyRange& range) {
    v1::KeyRange message;
    message.set_start(range.start);
    message.set_end(range.end);
    return message;
}

KeyRange fromProto(const v1::KeyRange& range) {
    return KeyRange{range.start(), range.end()};
}

v1::OwnershipTable toProto(const OwnershipTable& table) {
    v1::OwnershipTable message;
    message.set_epoch(table.epoch());
    for (const Shard& shard : table.shards()) {
        v1::Shard* out = message.add_shards();
        out->set_id(shard.id);
        *out->mutable_range() = toProto(shard.range);
        out->set_owner(shard.owner);
        for (const HostId& replica : shard.replicas)
            out->add_replicas(replica);
    }
    for (const HostId& host : table.placementHosts())
        message.add_placement_hosts(host);
    return message;
}

Result<OwnershipTable> fromProto(const v1::OwnershipTable& table, const std::string& where) {
    if (table.epoch() == 0)
        return Error{where + ".epoch: must be at least 1"};
    std::vector<Shard> shards;
    shards.reserve(static_cast<std::size_t>(table.shards_size()));
    for (const v1::Shard& shard : table.shards()) {
        Shard converted;
        converted.id = shard.id();
        converted.range = fromProto(shard.range());
        converted.owner = shard.owner();
        converted.replicas.assign(shard.replicas().begin(), shard.replicas().end());
        shards.push_back(std::move(converted));
    }
    std::vector<HostId> hosts(table.placement_hosts().begin(), table.placement_hosts().end());
    Result<OwnershipTable> created =
        OwnershipTable::create(std::move(shards), table.epoch(), std::move(hosts));
    if (!created)
        return Error{where + ": " + created.error().message};
    return created;
}

ResourceVector fromProto(const v1::Resources& resources) {
    ResourceVector vector;
    vector[Resource::Ops] = resources.ops_per_s();
    vector[Resource::DiskBytes] = resources.disk_bytes_per_s();
    vector[Resource::NetworkBytes] = resources.network_bytes_per_s();
    vector[Resource::Memory] = resources.memory_bytes();
    vector[Resource::ServiceTime] = resources.service_us_per_s();
    return vector;
}

} // namespace rangepilot
