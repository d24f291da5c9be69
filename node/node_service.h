#pragma once

// NodeService: the rangepilot.v1.NodeAgent gRPC service of a node (node.proto's comments are the
// spec). It serves the data RPCs from the NodeStore, keeps the installed ownership table, reports
// node info and statistics, and hands the migration steps and the write path to NodeMigrations.
//
// What every data request (Get, Put, Delete, Scan) goes through, in this order: the token (Put and
// Delete, when the node has one), the request's limits (empty key INVALID_ARGUMENT naming the
// field, oversized key or value RESOURCE_EXHAUSTED), then the route: the request's epoch against
// the installed one (older: FAILED_PRECONDITION with EpochMismatch details; newer: UNAVAILABLE)
// and the ownership of the key at that epoch (not owned, or only being received as a migration
// target: FAILED_PRECONDITION with EpochMismatch). Only a request that passes is served and
// counted (ops, payload bytes and service time for StatsReport, and every WatchStats watcher's
// access counters).
//
// Invariants: a table is persisted to the store's meta (synced) before it is served, so a restart
// never goes back to an older table; the installed epoch only grows, and a different table at the
// same epoch is refused. Writes are stamped by the node's HybridClock inside
// NodeMigrations::writeThrough, so a shadowed range forwards them before acknowledging.
//
// Thread-safe: gRPC's synchronous server calls the handlers from its own thread pool. Cost per
// data request: a table lookup (O(log shards)), one store operation, and O(log cells) per watcher.

#include "access_counters.h"
#include "hybrid_clock.h"
#include "node_migrations.h"
#include "node_store.h"
#include "ownership_table.h"
#include "peer_links.h"
#include "proc_stats.h"
#include "rangepilot/v1/node.grpc.pb.h"
#include "result.h"
#include "rpc_util.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rangepilot::node {

// The protocol's limits (node.proto, "Limits"); GetNodeInfo reports them.
inline constexpr std::uint32_t kMaxKeyBytes = 4096;
inline constexpr std::uint32_t kMaxValueBytes = 16u << 20;
inline constexpr std::uint32_t kMaxScanEntries = 10000;
inline constexpr std::uint32_t kMaxScanBytes = 16u << 20;
inline constexpr std::uint32_t kMaxCopyBatchBytes = 32u << 20;
inline constexpr std::uint32_t kMaxSampleKeys = 100000;
inline constexpr std::uint32_t kMinStatsIntervalMs = 100;
inline constexpr std::uint32_t kMaxStatsIntervalMs = 60000;

// Names in the store's meta column family.
inline constexpr std::string_view kMetaTableKey = "ownership_table"; // a serialized v1 table
inline constexpr std::string_view kMetaHlcFloorKey = "hlc_floor";    // decimal HLC timestamp

struct NodeServiceConfig {
    std::string node_id;
    std::string token; // empty: no token required
    bool tls = false;
    v1::Resources capacity;
    ChannelSecurity peer_security; // for the migrations' calls to targets (TLS roots, token)
    std::int64_t started_unix_ms = 0;
};

class NodeService final : public v1::NodeAgent::Service {
public:
    // `peers` may be null (a node without peers); store, clock and peers outlive the service.
    NodeService(NodeServiceConfig config, NodeStore& store, HybridClock& clock, PeerLinks* peers);
    ~NodeService() override;

    NodeService(const NodeService&) = delete;
    NodeService& operator=(const NodeService&) = delete;

    // The table an earlier run persisted, if any; an Error when the meta holds one that does not
    // parse or validate (the node must not guess its ownership).
    Status loadPersistedTable();
    // Validates, persists, then serves `table` under InstallTable's rules (older epoch or a
    // different table at the same epoch: FAILED_PRECONDITION; the same table again: installed =
    // false). Used by InstallTable, Cutover and the startup adoption of a peer's newer table.
    grpc::Status installTable(const v1::OwnershipTable& table, v1::InstallTableResponse* reply);
    std::shared_ptr<const OwnershipTable> table() const; // null before the first install
    std::uint64_t epoch() const;                         // 0 before the first install

    // The address the server actually listens on (known once it is bound).
    void setListenAddress(std::string address);
    // Ends every WatchStats stream; call before grpc::Server::Shutdown so they do not hold it up.
    void beginShutdown();

    NodeMigrations& migrations() { return *m_migrations; }

    grpc::Status GetNodeInfo(grpc::ServerContext* context, const v1::NodeInfoRequest* request,
                             v1::NodeInfo* reply) override;
    grpc::Status WatchStats(grpc::ServerContext* context, const v1::WatchStatsRequest* request,
                            grpc::ServerWriter<v1::StatsReport>* writer) override;
    grpc::Status SampleKeys(grpc::ServerContext* context, const v1::SampleKeysRequest* request,
                            v1::SampleKeysResponse* reply) override;

    grpc::Status Get(grpc::ServerContext* context, const v1::GetRequest* request,
                     v1::GetResponse* reply) override;
    grpc::Status Put(grpc::ServerContext* context, const v1::PutRequest* request,
                     v1::PutResponse* reply) override;
    grpc::Status Delete(grpc::ServerContext* context, const v1::DeleteRequest* request,
                        v1::DeleteResponse* reply) override;
    grpc::Status Scan(grpc::ServerContext* context, const v1::ScanRequest* request,
                      v1::ScanResponse* reply) override;

    grpc::Status GetTable(grpc::ServerContext* context, const v1::GetTableRequest* request,
                          v1::OwnershipTable* reply) override;
    grpc::Status InstallTable(grpc::ServerContext* context, const v1::InstallTableRequest* request,
                              v1::InstallTableResponse* reply) override;

    grpc::Status BeginShadow(grpc::ServerContext* context, const v1::BeginShadowRequest* request,
                             v1::MigrationStepResponse* reply) override;
    grpc::Status CopyBatch(grpc::ServerContext* context, const v1::CopyBatchRequest* request,
                           v1::CopyBatchResponse* reply) override;
    grpc::Status Ingest(grpc::ServerContext* context, const v1::IngestRequest* request,
                        v1::IngestResponse* reply) override;
    grpc::Status RangeChecksum(grpc::ServerContext* context,
                               const v1::RangeChecksumRequest* request,
                               v1::RangeChecksumResponse* reply) override;
    grpc::Status PinSnapshot(grpc::ServerContext* context, const v1::PinSnapshotRequest* request,
                             v1::PinSnapshotResponse* reply) override;
    grpc::Status FenceWrites(grpc::ServerContext* context, const v1::FenceWritesRequest* request,
                             v1::MigrationStepResponse* reply) override;
    grpc::Status Cutover(grpc::ServerContext* context, const v1::CutoverRequest* request,
                         v1::MigrationStepResponse* reply) override;
    grpc::Status EndMigration(grpc::ServerContext* context, const v1::EndMigrationRequest* request,
                              v1::MigrationStepResponse* reply) override;
    grpc::Status AbortMigration(grpc::ServerContext* context,
                                const v1::AbortMigrationRequest* request,
                                v1::MigrationStepResponse* reply) override;

    grpc::Status Ping(grpc::ServerContext* context, const v1::PingRequest* request,
                      v1::PingResponse* reply) override;

private:
    // Counters since the node started; each watcher keeps its own baseline to take rates from.
    struct RequestTotals {
        std::atomic<std::uint64_t> ops{0};
        std::atomic<std::uint64_t> payload_bytes{0};
        std::atomic<std::uint64_t> service_us{0};
    };
    // What one served request adds to the figures.
    struct Served {
        std::string_view key; // the key (a scan: its start) whose cell gets the count
        AccessKind kind = AccessKind::Read;
        std::uint64_t data_bytes = 0;    // key + value bytes read or written
        std::uint64_t payload_bytes = 0; // request + response message bytes
        std::chrono::steady_clock::time_point started;
    };
    struct UsageBaseline;
    using Watchers = std::vector<std::shared_ptr<AccessCounters>>;

    grpc::Status checkToken(const grpc::ServerContext& context) const;
    // The epoch and ownership rules for serving `key` (see the header paragraph); `routedBy`
    // receives the table snapshot that allowed it.
    grpc::Status routeKey(std::uint64_t requestEpoch, std::string_view key,
                          std::shared_ptr<const OwnershipTable>* routedBy = nullptr) const;
    // Stamps and applies a Put (tombstone = false) or Delete through the migrations.
    grpc::Status writeKey(const std::string& key, const std::string& value, bool tombstone,
                          ValueVersion* stamped, bool* existed);
    void recordServed(const Served& served);

    void addWatcher(const std::shared_ptr<AccessCounters>& counters);
    void removeWatcher(const std::shared_ptr<AccessCounters>& counters);
    // Waits until `until`; false when the client cancelled or the node is shutting down.
    bool waitForReport(const grpc::ServerContext& context,
                       std::chrono::steady_clock::time_point until);
    UsageBaseline takeBaseline() const;
    v1::StatsReport makeReport(UsageBaseline& baseline, AccessCounters& counters) const;

    void fillLimits(v1::Limits* limits) const;
    std::string listenAddress() const;

    NodeServiceConfig m_config;
    NodeStore& m_store;
    HybridClock& m_clock;
    PeerLinks* m_peers;
    std::unique_ptr<NodeMigrations> m_migrations;

    mutable std::mutex m_tableMutex; // guards m_table (the pointer, not the table)
    std::shared_ptr<const OwnershipTable> m_table;
    std::mutex m_installMutex; // one install at a time: check, persist, swap
    mutable std::mutex m_addressMutex;
    std::string m_listenAddress;

    RequestTotals m_totals;
    mutable std::mutex m_watchersMutex;
    std::shared_ptr<const Watchers> m_watchers; // copied on change, so recording never blocks one

    std::mutex m_shutdownMutex;
    std::condition_variable m_shutdownWake;
    bool m_shuttingDown = false;
};

} // namespace rangepilot::node
