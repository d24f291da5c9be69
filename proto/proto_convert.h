#pragma once

// Conversions between the protocol's messages (rangepilot/v1/node.proto) and the planner's types,
// shared by the node, the console's gRPC connector and the workload driver so that all three read
// a table the same way. Messages from the wire are untrusted: converting one validates it and
// names the field that is wrong ("table.shards[2].owner: empty").
//
// Cost: linear in the message; a table conversion also runs OwnershipTable::create's checks
// (O(n log n)).

#include "cluster_model.h"
#include "key.h"
#include "ownership_table.h"
#include "rangepilot/v1/node.pb.h"
#include "result.h"

#include <string>

namespace rangepilot {

v1::KeyRange toProto(const KeyRange& range);
KeyRange fromProto(const v1::KeyRange& range);

v1::OwnershipTable toProto(const OwnershipTable& table);
// `where` prefixes error messages ("InstallTable.table").
Result<OwnershipTable> fromProto(const v1::OwnershipTable& table, const std::string& where);

// The planner's five resources; cpu_cores has no planner counterpart and is dropped.
ResourceVector fromProto(const v1::Resources& resources);

} // namespace rangepilot
