#pragma once

// NodeMigrations: a node's side of shadowed migrations. As a source it forwards every write to a
// migrating range to the target before acknowledging it, pushes copy batches to the target, fences
// writes for the cutover and drops its copy at the end; as a target it accepts copied batches and
// shadow writes for the incoming range (last-writer-wins, so order does not matter) and drops them
// on abort. The migration executor (in the console) drives the steps; see node.proto.
//
// Invariants:
//  - A client write to a key of a migrating range runs inside writeThrough(): local apply, then the
//    forward to the target, both while holding the migration's write gate shared. A fence takes
//    the gate exclusively, so when RangeChecksum(fence_writes) computes its digest no write to the
//    range is half done, and later writes are refused (UNAVAILABLE) until cutover or abort.
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
#include <set>
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
// else (and never accepts a truncated or extended value). Defined inline below so that tests
// which do not link the node library can check the format.
inline std::string encodeFences(const std::vector<PersistedFence>& fences);
inline Result<std::vector<PersistedFence>> decodeFences(std::string_view bytes);

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

// --- The fence encoding ---------------------------------------------------------------------
//
// Version 1, integers little-endian: [u8 version = 1] [u32 fence count], then per fence
// [u64 migration id] [u64 shard id] [u64 begin epoch] [bytes range start] [bytes range end (empty:
// unbounded)] [bytes target node], where bytes = [u32 length] [length bytes].

namespace fence_encoding {

inline constexpr std::uint8_t kVersion = 1;
// The fewest bytes one fence takes: three u64 and three empty byte strings.
inline constexpr std::size_t kMinFenceBytes = 3 * 8 + 3 * 4;

inline void appendUint(std::string& out, std::uint64_t value, std::size_t bytes) {
    for (std::size_t i = 0; i < bytes; ++i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xffu));
}

inline void appendBytes(std::string& out, std::string_view bytes) {
    appendUint(out, bytes.size(), 4);
    out.append(bytes);
}

// Reads the encoding front to back; the first failure is kept and names the field and offset.
class Reader {
public:
    explicit Reader(std::string_view bytes)
        : m_bytes(bytes) {}

    std::uint64_t uint(std::size_t bytes, const std::string& field) {
        if (!take(bytes, field))
            return 0;
        const std::string_view read = m_bytes.substr(m_at - bytes, bytes);
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < bytes; ++i)
            value |= std::uint64_t{static_cast<unsigned char>(read[i])} << (8 * i);
        return value;
    }

    std::string text(const std::string& field) {
        const std::uint64_t length = uint(4, field + " length");
        if (!take(length, field))
            return {};
        return std::string(m_bytes.substr(m_at - length, length));
    }

    std::size_t remaining() const { return m_bytes.size() - m_at; }
    std::size_t offset() const { return m_at; }
    bool failed() const { return !m_error.empty(); }
    const std::string& error() const { return m_error; }

private:
    bool take(std::uint64_t count, const std::string& field) {
        if (failed())
            return false;
        if (count > remaining()) {
            m_error = "truncated: " + field + " at byte " + std::to_string(m_at) + " needs " +
                      std::to_string(count) + " bytes, " + std::to_string(remaining()) + " left";
            return false;
        }
        m_at += count;
        return true;
    }

    std::string_view m_bytes;
    std::size_t m_at = 0;
    std::string m_error;
};

// What is wrong with a decoded fence, or an empty string.
inline std::string defectOf(const PersistedFence& fence) {
    if (fence.migration_id == 0)
        return "migration id 0";
    if (!fence.range.unboundedAbove() && !(fence.range.start < fence.range.end))
        return "empty range " + formatKeyRange(fence.range);
    if (fence.target_node.empty())
        return "no target node";
    return {};
}

} // namespace fence_encoding

inline std::string encodeFences(const std::vector<PersistedFence>& fences) {
    std::string out;
    out.push_back(static_cast<char>(fence_encoding::kVersion));
    fence_encoding::appendUint(out, fences.size(), 4);
    for (const PersistedFence& fence : fences) {
        fence_encoding::appendUint(out, fence.migration_id, 8);
        fence_encoding::appendUint(out, fence.shard_id, 8);
        fence_encoding::appendUint(out, fence.begin_epoch, 8);
        fence_encoding::appendBytes(out, fence.range.start);
        fence_encoding::appendBytes(out, fence.range.end);
        fence_encoding::appendBytes(out, fence.target_node);
    }
    return out;
}

inline Result<std::vector<PersistedFence>> decodeFences(std::string_view bytes) {
    using fence_encoding::Reader;
    if (bytes.empty())
        return Error{"migration fences: empty value (expected at least a format version byte)"};
    Reader reader(bytes);
    const std::uint64_t version = reader.uint(1, "format version");
    if (version != fence_encoding::kVersion)
        return Error{"migration fences: unknown format version " + std::to_string(version) +
                     " (this node reads version " + std::to_string(fence_encoding::kVersion) + ")"};
    const std::uint64_t count = reader.uint(4, "fence count");
    if (reader.failed())
        return Error{"migration fences: " + reader.error()};
    if (count > reader.remaining() / fence_encoding::kMinFenceBytes)
        return Error{"migration fences: " + std::to_string(count) + " fences cannot fit in the " +
                     std::to_string(reader.remaining()) + " bytes that follow the count"};
    std::vector<PersistedFence> fences;
    fences.reserve(static_cast<std::size_t>(count));
    std::set<std::uint64_t> ids;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::string which = "fence " + std::to_string(i + 1) + " of " + std::to_string(count);
        PersistedFence fence;
        fence.migration_id = reader.uint(8, which + ": migration id");
        fence.shard_id = reader.uint(8, which + ": shard id");
        fence.begin_epoch = reader.uint(8, which + ": begin epoch");
        fence.range.start = reader.text(which + ": range start");
        fence.range.end = reader.text(which + ": range end");
        fence.target_node = reader.text(which + ": target node");
        if (reader.failed())
            return Error{"migration fences: " + reader.error()};
        if (const std::string defect = fence_encoding::defectOf(fence); !defect.empty())
            return Error{"migration fences: " + which + ": " + defect};
        if (!ids.insert(fence.migration_id).second)
            return Error{"migration fences: " + which + ": migration " +
                         std::to_string(fence.migration_id) + " appears twice"};
        fences.push_back(std::move(fence));
    }
    if (reader.remaining() != 0)
        return Error{"migration fences: " + std::to_string(reader.remaining()) +
                     " unexpected bytes after the last fence, at byte " +
                     std::to_string(reader.offset())};
    return fences;
}

} // namespace rangepilot::node
