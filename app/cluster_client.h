#pragma once

// ClusterClient: a routing client for a cluster of rangepilot-nodes, for the workload driver.
//
// Problem. A key is served by the node that owns its shard in the ownership table, and the table
// changes while clients run (splits, moves). The client keeps a snapshot of the newest table it
// has seen, sends each request straight to the owner with that table's epoch, and heals itself
// when the node disagrees: FAILED_PRECONDITION with an EpochMismatch (node.proto: the client's
// table is stale, or disagrees about the key) fetches the table again (GetTable from every
// reachable node, the highest epoch wins) and retries; UNAVAILABLE (node down, behind our epoch,
// or fencing a range during a cutover) retries after a short, growing, jittered backoff. Any other
// status is final and comes back as an Error naming the operation, the key, the node and the
// status. Every call has a bounded number of attempts and a total deadline, so a dead cluster
// turns into errors, not a hang.
//
// Node ids and addresses. Tables name owners by node id; the client learns each endpoint's id
// from its GetNodeInfo, and the addresses of nodes it was not given from the peers those nodes
// report. An endpoint that does not answer at connect time is probed again when a table names an
// owner the client cannot place.
//
// Invariants. Calls are thread-safe. The table and the id -> node map form one immutable routing
// snapshot behind an atomic shared_ptr: a call routes by one consistent snapshot and a refresh
// swaps in a new one without blocking callers. Refreshes are coalesced: when many threads meet the
// same stale epoch, one fetches and the others reuse its result. The epoch only moves forward.
// Nothing throws; failures are Result/Status values.
//
// Cost. A routed call is one atomic load, a binary search of the table (O(log shards)) and one
// RPC per attempt. A refresh is one GetTable per known node, sequential, each bounded by the
// call's deadline.

#include "key.h"
#include "ownership_table.h"
#include "result.h"
#include "rpc_util.h"

#include <atomic>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rangepilot {

// A value's hybrid-logical-clock version (node.proto, Version). Orders by hlc, then by node id
// bytes; the larger is the newer. hlc 0 with an empty node is "no version" (a key never written).
struct ValueVersion {
    std::uint64_t hlc = 0;
    std::string node;

    std::strong_ordering operator<=>(const ValueVersion& other) const;
    bool operator==(const ValueVersion&) const = default;
    bool empty() const { return hlc == 0 && node.empty(); }
};

// "hlc@node" for messages, e.g. "115813430598402048@n2".
std::string formatVersion(const ValueVersion& version);

// What a Get saw. Not found carries the tombstone's version when a delete is the newest write,
// and no version when the key was never written.
struct ReadValue {
    bool found = false;
    std::string value;
    ValueVersion version;
};

// What a Put or Delete was stored with.
struct WriteAck {
    ValueVersion version;
    bool existed = false; // deletes: the key held a live value
};

struct ScanEntry {
    Key key;
    std::string value;
    ValueVersion version;
};

struct ScanResult {
    std::vector<ScanEntry> entries; // live values in key order
    Key resume_key; // where to continue when the limit cut the scan short; empty when complete
    std::size_t pages = 0; // Scan RPCs it took (one per shard crossed, more for large shards)
};

// How one call went, for the driver's accounting. `code` is the final gRPC status (OK on
// success). `ambiguous_attempts` counts write attempts that failed in a way that does not tell
// whether the node stored the write (a deadline, a dropped connection): such a write may surface
// later, which the write ledger must know (write_ledger.h).
struct CallReport {
    grpc::StatusCode code = grpc::StatusCode::OK;
    int attempts = 0;
    int ambiguous_attempts = 0;
};

// True for statuses after which a write may or may not have been stored. Definite rejections
// (bad argument, limits, auth, stale epoch) are false: the node refused before writing.
bool writeMayHaveApplied(grpc::StatusCode code);

// The status code's name ("UNAVAILABLE"), for counting errors by status.
std::string statusCodeName(grpc::StatusCode code);

struct ClusterClientOptions {
    std::vector<std::string> endpoints; // "host:port" of the nodes to start from
    ChannelSecurity security;
    int max_attempts = 10;                            // per call, first attempt included
    std::chrono::milliseconds call_deadline{10'000};  // per call, across its attempts
    std::chrono::milliseconds connect_timeout{3'000}; // GetNodeInfo/GetTable while connecting
    std::chrono::milliseconds initial_backoff{5};     // after the first UNAVAILABLE
    std::chrono::milliseconds max_backoff{250};
};

// Counters over the client's lifetime. `retries` = stale_epoch_retries + unavailable_retries.
struct ClientCounters {
    std::uint64_t calls = 0;               // routed calls (a multi-page scan counts each page)
    std::uint64_t retries = 0;             // attempts after the first, over all calls
    std::uint64_t stale_epoch_retries = 0; // after FAILED_PRECONDITION with an EpochMismatch
    std::uint64_t unavailable_retries = 0; // after UNAVAILABLE or an owner with no known address
    std::uint64_t table_fetches = 0;       // rounds of GetTable over the nodes
    std::uint64_t table_refreshes = 0;     // fetches that installed a newer table
    std::uint64_t table_epoch = 0;         // the epoch routed by now
};

struct NodeEndpoint {
    std::string node_id; // empty while the endpoint has not answered GetNodeInfo
    std::string address;
};

class ClusterClient {
public:
    // Connects: asks every endpoint for its node id (at least one must answer) and fetches the
    // table (at least one node must have one). Errors name the endpoints and their statuses.
    static Result<std::unique_ptr<ClusterClient>> connect(ClusterClientOptions options);
    ~ClusterClient();

    ClusterClient(const ClusterClient&) = delete;
    ClusterClient& operator=(const ClusterClient&) = delete;

    Result<ReadValue> get(const Key& key, CallReport* report = nullptr);
    Result<WriteAck> put(const Key& key, const std::string& value, CallReport* report = nullptr);
    Result<WriteAck> remove(const Key& key, CallReport* report = nullptr); // the Delete RPC

    // The live entries of `range` in key order, at most `limit` (0 = no limit: mind the memory),
    // following each node's resume_key across shards. Every page is a routed call of its own.
    Result<ScanResult> scan(const KeyRange& range, std::size_t limit, CallReport* report = nullptr);

    // Fetches the table from every known node and installs it when its epoch is newer.
    Status refreshTable();

    std::shared_ptr<const OwnershipTable> table() const;
    std::vector<NodeEndpoint> endpoints() const;
    ClientCounters counters() const;

    // Owners in the current table that no known endpoint is (calls to their keys fail at once
    // when every endpoint has answered); the driver warns about them at start.
    std::vector<HostId> unplacedOwners() const;

    // The address of a node id, empty when unknown (tests use it to reach a key's owner).
    std::string addressOf(const std::string& nodeId) const;

private:
    struct Node;
    struct Routing;

    explicit ClusterClient(ClusterClientOptions options);

    // Asks endpoints for their node ids (all, or those without one yet), then the peers they
    // report; fails only when no endpoint answered.
    Status probeEndpoints(bool onlyUnknown);
    // Adds nodes for peer addresses not known yet; true when it added any.
    bool addPeers(const std::vector<NodeEndpoint>& peers);
    // Probes endpoints without an id and republishes the routing; true while some endpoint still
    // has no id (so an unplaced owner may yet turn up).
    bool placeUnknownNodes();
    // Fetches the table unless another thread already moved past `routedEpoch`.
    Status fetchTable(std::uint64_t routedEpoch);
    void publishRouting(std::shared_ptr<const OwnershipTable> table);
    std::shared_ptr<const Routing> routing() const;
    std::vector<std::shared_ptr<Node>> knownNodes() const;

    // The retry loop shared by every data call: routes `key`, runs `rpc` against the owner and
    // retries as described above. `what` names the operation in errors ("put").
    template <typename Rpc>
    Status routedCall(const char* what, std::string_view key, bool isWrite, Rpc rpc,
                      CallReport* report);
    Result<ScanResult> scanPage(const KeyRange& range, std::size_t limit, CallReport* report);
    void backoff(int unavailableAttempt, std::chrono::steady_clock::time_point deadline) const;

    ClusterClientOptions m_options;

    mutable std::mutex m_nodesMutex; // guards m_nodes and each Node's id
    std::vector<std::shared_ptr<Node>> m_nodes;

    std::mutex m_refreshMutex;                         // one table fetch or probe round at a time
    std::chrono::steady_clock::time_point m_lastProbe; // guarded by m_refreshMutex
    std::atomic<std::shared_ptr<const Routing>> m_routing;

    std::atomic<std::uint64_t> m_calls{0};
    std::atomic<std::uint64_t> m_staleEpochRetries{0};
    std::atomic<std::uint64_t> m_unavailableRetries{0};
    std::atomic<std::uint64_t> m_tableFetches{0};
    std::atomic<std::uint64_t> m_tableRefreshes{0};
};

} // namespace rangepilot
