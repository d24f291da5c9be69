#pragma once

// NodeDirectory: the console's address book of rangepilot-node processes: node id -> address and
// a gRPC stub, all sharing one ChannelSecurity (TLS roots, bearer token). The GrpcConnector fills
// it from GetNodeInfo; the migration executor looks nodes up by the host ids of the ownership
// table.
//
// Thread-safe (a mutex around the map; stubs are shared and gRPC stubs are thread-safe).
// Cost: O(log n) per lookup.

#include "ownership_table.h"
#include "rangepilot/v1/node.grpc.pb.h"
#include "result.h"
#include "rpc_util.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace rangepilot {

using NodeStub = v1::NodeAgent::Stub;

class NodeDirectory {
public:
    explicit NodeDirectory(ChannelSecurity security);

    const ChannelSecurity& security() const { return m_security; }

    // Adds or replaces the node `id` at `address`; an Error when the channel cannot be made
    // (an unreadable CA file).
    Status add(const HostId& id, const std::string& address);

    // nullptr when the id is unknown.
    std::shared_ptr<NodeStub> stub(const HostId& id) const;
    std::string address(const HostId& id) const; // empty when unknown
    std::vector<HostId> ids() const;             // sorted

    // A client context with a deadline `deadlineMs` from now and the token.
    std::unique_ptr<grpc::ClientContext> context(int deadlineMs) const;

private:
    struct Node {
        std::string address;
        std::shared_ptr<NodeStub> stub;
    };
    ChannelSecurity m_security;
    mutable std::mutex m_mutex;
    std::map<HostId, Node> m_nodes;
};

} // namespace rangepilot
