#pragma once

// NodeStore: a node's data on disk (RocksDB, one instance per node under its data directory),
// where every value carries a version and writes resolve last-writer-wins.
//
// Layout: column family "default" maps each user key to an encoded StoredValue (format byte,
// flags, HLC, writer node id, value bytes); a delete is a tombstone with its own version, so an
// older copy of the key arriving later (a copied batch, a late shadow write) cannot bring it back.
// Column family "meta" holds the node's own state (the installed ownership table, the HLC floor,
// the fences of migrations it is the source of).
//
// Invariants: apply() never replaces a stored version with an older or equal one (versions order
// by hlc, then by node id bytes); the read of the stored version and the write happen under one
// lock per key stripe, so concurrent writers to a key cannot both win. Acknowledged writes survive
// a kill -9 of the process (they are in RocksDB's write-ahead log before apply() returns); with
// sync_writes they also survive a power loss (the log is fsynced per write batch). putMeta() and
// deleteMeta() always sync. Nothing throws: RocksDB errors come back as Errors naming the
// operation and the key.
//
// Cost: get is one RocksDB point lookup; apply is a lookup plus a write; scans and checksums read a
// consistent snapshot sequentially; sampleKeys reads every key of its range once.

#include "hybrid_clock.h"
#include "key.h"
#include "result.h"

#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rangepilot::node {

struct ValueVersion {
    HlcTimestamp hlc = 0;
    std::string node; // the node that assigned hlc; breaks ties

    // Orders by hlc, then node bytes: the larger version wins.
    std::strong_ordering operator<=>(const ValueVersion& other) const;
    bool operator==(const ValueVersion&) const = default;
};

struct StoredValue {
    ValueVersion version;
    bool tombstone = false;
    std::string value; // empty for a tombstone

    bool operator==(const StoredValue&) const = default;
};

struct StoredEntry {
    std::string key;
    StoredValue stored;

    bool operator==(const StoredEntry&) const = default;
};

enum class ApplyOutcome { Applied, SkippedOlder };

enum class ScanFor { Client, Copy };

struct ScanPage {
    std::vector<StoredEntry> entries;
    std::string resume_key; // the next key to read; empty when the range is exhausted
};

// What two copies of a range must agree on.
struct RangeDigest {
    std::uint64_t checksum = 0; // over (key, version, tombstone, value) in key order
    std::uint64_t entries = 0;  // tombstones included
    std::uint64_t bytes = 0;    // key + value bytes

    bool operator==(const RangeDigest&) const = default;
};

// A point-in-time view of a NodeStore's data, pinned (RocksDB keeps every version it shows) until
// the last handle to it goes. It must not outlive its store. Cost: holding one keeps overwritten
// and deleted data on disk, so a holder releases it as soon as it is done.
class StoreSnapshot;
using PinnedSnapshot = std::shared_ptr<const StoreSnapshot>;

struct NodeStoreOptions {
    bool sync_writes = false;                    // fsync the log on every write batch
    std::size_t block_cache_bytes = 64ull << 20; // RocksDB block cache
    bool create_if_missing = true;
};

class NodeStore {
public:
    // Opens (or creates) the database in `directory`. An error names the directory and what
    // RocksDB said (another process holding its LOCK file gives a message that says so).
    static Result<std::unique_ptr<NodeStore>> open(const std::string& directory,
                                                   const NodeStoreOptions& options = {});
    ~NodeStore(); // flushes the log and closes

    NodeStore(const NodeStore&) = delete;
    NodeStore& operator=(const NodeStore&) = delete;

    // The newest stored value of `key`, tombstone included; nullopt when never written.
    Result<std::optional<StoredValue>> get(std::string_view key) const;

    // Last-writer-wins: stores `value` under `key` unless the key holds a version >= value.version.
    Result<ApplyOutcome> apply(std::string_view key, const StoredValue& value);
    // The same for many keys in one atomic RocksDB write batch; outcomes in entry order. A key
    // repeated in the batch resolves last-writer-wins among its entries too.
    Result<std::vector<ApplyOutcome>> applyBatch(const std::vector<StoredEntry>& entries);

    // Entries of `range` from `from` (clamped to range.start) in key order: at most maxEntries,
    // and stops once maxBytes of keys and values are collected (always at least one entry).
    // ScanFor::Client: live values only, read through the block cache. ScanFor::Copy (a migration's
    // batches): tombstones too, which the target needs, and without filling the block cache, since
    // a copy reads the whole range once and would evict the serving working set.
    Result<ScanPage> scan(const KeyRange& range, std::string_view from, std::size_t maxEntries,
                          std::size_t maxBytes, ScanFor purpose) const;

    // Digest of every entry of `range`, tombstones included, read from one snapshot: a fresh one,
    // or `at` (from this store's pinSnapshot()).
    Result<RangeDigest> digest(const KeyRange& range) const;
    Result<RangeDigest> digest(const KeyRange& range, const StoreSnapshot& at) const;

    // Pins the data as it is now: every write applied before the call is in it, none after.
    PinnedSnapshot pinSnapshot() const;

    // Removes every entry of `range` (a range that left this node, or an aborted copy).
    Status deleteRange(const KeyRange& range);

    // Up to maxKeys keys of `range` spread evenly over its stored keys (tombstones skipped), in
    // key order; keysSeen receives how many live keys the range holds.
    Result<std::vector<std::string>> sampleKeys(const KeyRange& range, std::size_t maxKeys,
                                                std::uint64_t* keysSeen = nullptr) const;

    // The node's own state in the "meta" column family; putMeta and deleteMeta are synced
    // (deleting a name that is not there succeeds).
    Status putMeta(std::string_view name, std::string_view bytes);
    Result<std::optional<std::string>> getMeta(std::string_view name) const;
    Status deleteMeta(std::string_view name);

    // RocksDB's estimates (cheap): live keys and bytes on disk plus in memtables.
    std::uint64_t estimatedKeys() const;
    std::uint64_t estimatedBytes() const;

    // Flushes memtables and syncs the log: what a graceful shutdown does before closing.
    Status flush();

private:
    struct Impl;
    explicit NodeStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// The value encoding in the "default" column family, exposed for tests: decode(encode(v)) == v,
// and decode names what is wrong with bytes that are not an encoded value.
std::string encodeStoredValue(const StoredValue& value);
Result<StoredValue> decodeStoredValue(std::string_view bytes);

} // namespace rangepilot::node
