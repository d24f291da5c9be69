#pragma once

// NodeMigrations: a node's side of shadowed migrations. As a source it forwards every write to a
// migrating range to the target before acknowledging it, pushes copy batches to the target, fences
// writes for the cutover and drops its copy at the end; as a target it accepts copied batches and
// shadow writes for the incoming range (last-writer-wins, so order does not matter) and drops them
// on abort. The migration executor (in the console) drives the steps; see node.proto.
//
// Invariants:
//  - A client write to a key of a migrating range runs inside writeThrough(): local apply, then the
//    forward to the target, both while holding the migration's write gate shared. Pinning the
//    verification snapshots (RangeChecksum with pin_target_snapshot) takes the gate exclusively for
//    one round trip to the target, so both snapshots hold the same writes. A fence (FenceWrites,
//    or RangeChecksum with fence_writes) takes it exclusively too, so no write to the range is
//    half done, and later writes are refused (UNAVAILABLE) until cutover or abort.
//  - A target keeps at most one pinned snapshot per migration, released by the next pin, the
//    cutover or the abort.
//  - A forward that fails never fails the client's write (the source stays authoritative); it
//    marks the migration BROKEN, stops forwarding, and the executor must abort or begin again.
//  - Abort at any step before the cutover leaves the source serving and the target without the
//    range's data. EndMigration drops the source's copy only if the source no longer owns the
//    range at its installed epoch.
//  - A fence outlives the process: RangeChecksum(fence_writes) writes it to the store's meta
//    (key kMetaFencesKey, synced) before it replies, and only Cutover, AbortMigration or
//    EndMigration of that migration clears it (a newer table alone does not: the move may still
//    commit). The constructor restores every persisted fence as a FENCED source migration without
//    a target channel, so a source killed after its fence cannot come back at the old epoch and
//    accept writes the target will never see. If the fences cannot be read or decoded, the
//    node refuses every client write and restoreStatus() says why: it must not start.
//
// Thread-safe: gRPC calls arrive on many threads. Cost: a write to a key outside every migrating
// range costs one shared lock and a scan of the (few) active migrations.

#include "hybrid_clock.h"
#include "node_store.h"
#include "ownership_table.h"
#include "rangepilot/v1/node.grpc.pb.h"
#include "result.h"
#include "rpc_util.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rangepilot::node {

// The store's meta key holding every fence a source raised and has not cleared yet.
inline constexpr std::string_view kMetaFencesKey = "migration_fences";

// What a source must remember of a fenced migration across a restart.
struct PersistedFence {
    std::uint64_t migration_id = 0;
    ShardId shard_id = 0;
    KeyRange range;
    std::uint64_t begin_epoch = 0; // the table epoch the migration began at
    std::string target_node;

    bool operator==(const PersistedFence&) const = default;
};

// The value under kMetaFencesKey: decodeFences(encodeFences(f)) == f for fences with distinct
// non-zero ids, non-empty ranges and a target; decodeFences names what is wrong with anything
// else (and never accepts a truncated or extended value).
std::string encodeFences(const std::vector<PersistedFence>& fences);
Result<std::vector<PersistedFence>> decodeFences(std::string_view bytes);

struct MigrationContext {
    std::string node_id;
    NodeStore* store = nullptr;
    HybridClock* clock = nullptr;
    ChannelSecurity peer_security; // TLS roots and token for calls to the target
    // The node's installed table (nullopt before the first install).
    std::function<std::optional<OwnershipTable>()> current_table;
    // Installs a newer table exactly as InstallTable does (validated, persisted, then served).
    std::function<grpc::Status(const v1::OwnershipTable&, v1::InstallTableResponse*)> install_table;
};

class NodeMigrations {
public:
    explicit NodeMigrations(MigrationContext context);
    ~NodeMigrations();

    NodeMigrations(const NodeMigrations&) = delete;
    NodeMigrations& operator=(const NodeMigrations&) = delete;

    // The migration RPCs; the service has checked the token already.
    grpc::Status beginShadow(const v1::BeginShadowRequest& request,
                             v1::MigrationStepResponse* reply);
    grpc::Status copyBatch(const v1::CopyBatchRequest& request, v1::CopyBatchResponse* reply);
    grpc::Status ingest(const v1::IngestRequest& request, v1::IngestResponse* reply);
    grpc::Status rangeChecksum(const v1::RangeChecksumRequest& request,
                               v1::RangeChecksumResponse* reply);
    grpc::Status pinSnapshot(const v1::PinSnapshotRequest& request, v1::PinSnapshotResponse* reply);
    grpc::Status fenceWrites(const v1::FenceWritesRequest& request,
                             v1::MigrationStepResponse* reply);
    grpc::Status cutover(const v1::CutoverRequest& request, v1::MigrationStepResponse* reply);
    grpc::Status endMigration(const v1::EndMigrationRequest& request,
                              v1::MigrationStepResponse* reply);
    grpc::Status abortMigration(const v1::AbortMigrationRequest& request,
                                v1::MigrationStepResponse* reply);

    // A client write (Put or Delete) to `key`, after the service checked epoch and ownership.
    // `applyLocally` stamps the version, applies to the store and returns the stored entry; when
    // the key lies in a range this node is shadowing out, the entry is then forwarded to the
    // target. Refused with UNAVAILABLE while the range is fenced.
    grpc::Status writeThrough(std::string_view key,
                              const std::function<Result<StoredEntry>()>& applyLocally);

    // True while this node receives `key` as a migration target (it must not serve client
    // requests for it until a table makes it the owner).
    bool isIncoming(std::string_view key) const;

    // Every migration this node takes part in, newest last (ended ones are kept for a while).
    std::vector<v1::MigrationStatus> statuses() const;

    // How restoring the persisted fences went at construction: an Error naming kMetaFencesKey
    // when they could not be read or decoded. The node must then not start; until it stops, it
    // refuses every client write (it cannot tell which ranges are fenced).
    Status restoreStatus() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace rangepilot::node
