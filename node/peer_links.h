#pragma once

// PeerLinks: a node's view of the other nodes of its cluster. It keeps one gRPC channel per peer
// (made with the peer security: TLS roots from --tls-ca), pings every peer once a second with a
// one-second deadline, and remembers for each whether it answered, the round trip, why it did
// not, and when it was last measured; GetNodeInfo and StatsReport publish that. At startup it
// also asks the peers for their ownership tables, so a node that missed a cutover while it was
// down adopts the newer table before it serves anything.
//
// Invariants: statuses() lists the peers in the order given, each exactly once; before a peer's
// first ping it is unreachable with last_error "not pinged yet". One thread per peer, so a peer
// that times out does not delay the measurements of the others. After a failed ping the channel's
// reconnect backoff is reset, so a restarted peer shows as reachable within about a second rather
// than after gRPC's backoff (which grows to two minutes).
//
// Thread-safe. Cost: one Ping RPC per peer per second.

#include "node_options.h"
#include "rangepilot/v1/node.grpc.pb.h"
#include "result.h"
#include "rpc_util.h"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace rangepilot::node {

// A peer's answer to GetTable at startup.
struct PeerTable {
    std::string peer_id;
    v1::OwnershipTable table;
};

class PeerLinks {
public:
    // Channels to every peer; an Error names the peer whose channel could not be made (an
    // unreadable CA file). Nothing is sent until start() or fetchTables().
    static Result<std::unique_ptr<PeerLinks>>
    create(std::string selfId, std::vector<PeerAddress> peers, const ChannelSecurity& security);
    ~PeerLinks(); // stops the ping threads

    PeerLinks(const PeerLinks&) = delete;
    PeerLinks& operator=(const PeerLinks&) = delete;

    // Starts pinging every peer once a second; stop() ends it (also called by the destructor).
    void start();
    void stop();

    std::vector<v1::PeerStatus> statuses() const;

    // Asks every peer for its table at once, each call bounded by `deadline`; returns the tables
    // of those that answered with one (the caller validates them). `failures` (optional) gets
    // one line per peer that did not answer.
    std::vector<PeerTable> fetchTables(std::chrono::milliseconds deadline,
                                       std::vector<std::string>* failures = nullptr) const;

    std::size_t size() const { return m_links.size(); }

private:
    struct Link {
        PeerAddress peer;
        std::shared_ptr<grpc::Channel> channel;
        std::unique_ptr<v1::NodeAgent::Stub> stub;
        v1::PeerStatus status; // guarded by PeerLinks::m_mutex
    };

    PeerLinks(std::string selfId, std::vector<std::unique_ptr<Link>> links);
    void pingLoop(Link& link);
    void pingOnce(Link& link);

    std::string m_selfId;
    std::vector<std::unique_ptr<Link>> m_links;
    std::vector<std::thread> m_threads;

    mutable std::mutex m_mutex;
    std::condition_variable m_wake; // signalled by stop()
    bool m_stopping = false;
};

} // namespace rangepilot::node
