#include "node_store.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <utility>

namespace rangepilot::node {

// ---------------------------------------------------------------------------------------------
// Versions and the value encoding

std::strong_ordering ValueVersion::operator<=>(const ValueVersion& other) const {
    if (hlc != other.hlc)
        return hlc <=> other.hlc;
    // std::string compares bytes as unsigned char, the order the protocol defines for node ids.
    const int byNode = node.compare(other.node);
    if (byNode < 0)
        return std::strong_ordering::less;
    if (byNode > 0)
        return std::strong_ordering::greater;
    return std::strong_ordering::equal;
}

namespace {

// format (1) | flags (1) | hlc (8, big-endian) | node length (1) | node | value
constexpr unsigned char kFormat = 1;
constexpr unsigned char kTombstoneFlag = 0x01;
constexpr std::size_t kFixedHeaderBytes = 1 + 1 + 8 + 1;
constexpr std::size_t kMaxNodeIdBytes = 255;

// A decoded value that still points into the encoded bytes: checksums and samples read versions
// and flags without copying values that may be megabytes long.
struct StoredView {
    HlcTimestamp hlc = 0;
    std::string_view node;
    bool tombstone = false;
    std::string_view value;
};

Result<StoredView> parseStored(std::string_view bytes) {
    if (bytes.size() < kFixedHeaderBytes)
        return Error{"truncated header (" + std::to_string(bytes.size()) +
                     " bytes, need at least " + std::to_string(kFixedHeaderBytes) + ")"};
    const auto byteAt = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    if (byteAt(0) != kFormat)
        return Error{"unknown format " + std::to_string(byteAt(0))};
    const unsigned char flags = byteAt(1);
    if ((flags & ~kTombstoneFlag) != 0)
        return Error{"unknown flags " + std::to_string(flags)};
    StoredView view;
    view.tombstone = (flags & kTombstoneFlag) != 0;
    for (std::size_t i = 0; i < 8; ++i)
        view.hlc = (view.hlc << 8) | byteAt(2 + i);
    const std::size_t nodeBytes = byteAt(10);
    if (bytes.size() < kFixedHeaderBytes + nodeBytes)
        return Error{"truncated node id (" + std::to_string(nodeBytes) + " bytes announced, " +
                     std::to_string(bytes.size() - kFixedHeaderBytes) + " present)"};
    view.node = bytes.substr(kFixedHeaderBytes, nodeBytes);
    view.value = bytes.substr(kFixedHeaderBytes + nodeBytes);
    if (view.tombstone && !view.value.empty())
        return Error{"tombstone with " + std::to_string(view.value.size()) + " value bytes"};
    return view;
}

StoredValue toStoredValue(const StoredView& view) {
    StoredValue stored;
    stored.version.hlc = view.hlc;
    stored.version.node = std::string(view.node);
    stored.tombstone = view.tombstone;
    stored.value = std::string(view.value);
    return stored;
}

} // namespace

std::string encodeStoredValue(const StoredValue& value) {
    // apply() rejects longer node ids; cutting here keeps the bytes decodable whatever the caller.
    const std::size_t nodeBytes = std::min(value.version.node.size(), kMaxNodeIdBytes);
    const std::size_t valueBytes = value.tombstone ? 0 : value.value.size();
    std::string out;
    out.reserve(kFixedHeaderBytes + nodeBytes + valueBytes);
    out.push_back(static_cast<char>(kFormat));
    out.push_back(static_cast<char>(value.tombstone ? kTombstoneFlag : 0));
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((value.version.hlc >> shift) & 0xff));
    out.push_back(static_cast<char>(nodeBytes));
    out.append(value.version.node, 0, nodeBytes);
    if (!value.tombstone)
        out.append(value.value);
    return out;
}

Result<StoredValue> decodeStoredValue(std::string_view bytes) {
    Result<StoredView> view = parseStored(bytes);
    if (!view)
        return view.error();
    return toStoredValue(*view);
}

// ---------------------------------------------------------------------------------------------
// The store

namespace {

constexpr const char* kMetaFamily = "meta";
constexpr std::size_t kStripeCount = 256;

rocksdb::Slice toSlice(std::string_view bytes) {
    return {bytes.data(), bytes.size()};
}
std::string_view toView(const rocksdb::Slice& slice) {
    return {slice.data(), slice.size()};
}

Error storeError(std::string_view operation, std::string_view key, const rocksdb::Status& status) {
    return Error{"node store: " + std::string(operation) + " of key " + formatKey(key) + ": " +
                 status.ToString()};
}

Error rangeError(std::string_view operation, const KeyRange& range, const rocksdb::Status& status) {
    return Error{"node store: " + std::string(operation) + " of " + formatKeyRange(range) + ": " +
                 status.ToString()};
}

Error corruptValue(std::string_view key, const Error& why) {
    return Error{"node store: stored value of key " + formatKey(key) +
                 " cannot be decoded: " + why.message};
}

Status checkNodeId(std::string_view key, const StoredValue& value) {
    if (value.version.node.size() > kMaxNodeIdBytes)
        return Error{"node store: key " + formatKey(key) + ": node id of " +
                     std::to_string(value.version.node.size()) + " bytes (at most " +
                     std::to_string(kMaxNodeIdBytes) + ")"};
    return Status::success();
}

bool mentionsLock(const std::string& text) {
    std::string lower(text.size(), '\0');
    std::transform(text.begin(), text.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower.find("lock") != std::string::npos;
}

// The digest's hash: 64 bits, eight bytes at a time. Each little-endian word is multiplied,
// rotated and multiplied again before it is folded into the state, which is then rotated and
// stepped (the structure of MurmurHash3's 64-bit body); a byte string's last 0-7 bytes form one
// more word, and a final avalanche spreads every input bit over the result. The digest feeds every
// field length-prefixed, so no two different entry sequences give the same word stream. Not
// cryptographic: it tells apart copies that differ by accident (a lost write, an older version),
// which is what a migration's check needs. Eight bytes per step rather than FNV-1a's one: a
// range digest runs while writes go on, and its CPU time is taken from serving them (with it,
// bench_migration's verification of 256 MB on two nodes fell from about 1.3 s to 0.6 s).
class DigestHash {
public:
    void u64(std::uint64_t word) {
        word *= 0x87c37b91114253d5ull;
        word = std::rotl(word, 31);
        word *= 0x4cf5ad432745937full;
        m_state ^= word;
        m_state = std::rotl(m_state, 27) * 5 + 0x52dce729ull;
    }
    void bytes(std::string_view data) {
        std::size_t at = 0;
        for (; at + 8 <= data.size(); at += 8)
            u64(wordAt(data.data() + at));
        if (at < data.size())
            u64(tailWord(data.substr(at)));
    }
    void field(std::string_view data) {
        u64(data.size());
        bytes(data);
    }
    std::uint64_t value() const {
        std::uint64_t h = m_state;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 33;
        return h;
    }

private:
    // Eight bytes, the first one lowest: the same word on any machine.
    static std::uint64_t wordAt(const char* bytes) {
        std::uint64_t word = 0;
        std::memcpy(&word, bytes, sizeof word);
        if constexpr (std::endian::native == std::endian::big)
            word = __builtin_bswap64(word);
        return word;
    }
    // Fewer than eight bytes, the first one lowest, the rest zero.
    static std::uint64_t tailWord(std::string_view bytes) {
        std::uint64_t word = 0;
        for (std::size_t i = 0; i < bytes.size(); ++i)
            word |= std::uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
        return word;
    }

    std::uint64_t m_state = 0x243f6a8885a308d3ull; // the first fraction digits of pi
};

// An iterator over one key range of one consistent snapshot: its own (taken at construction and
// released however the read ends) or a pinned one it does not own. It owns the upper bound the
// iterator points to, so it is neither copied nor moved.
class SnapshotRangeReader {
public:
    // `fillCache` false for whole-range passes (checksums, samples), so they do not evict the
    // serving working set from the block cache.
    SnapshotRangeReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family, const KeyRange& range,
                        bool fillCache)
        : SnapshotRangeReader(db, family, range, fillCache, db->GetSnapshot(), true) {}
    SnapshotRangeReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family, const KeyRange& range,
                        const rocksdb::Snapshot* pinned)
        : SnapshotRangeReader(db, family, range, false, pinned, false) {}
    ~SnapshotRangeReader() {
        m_iterator.reset(); // before the snapshot it reads
        if (m_ownsSnapshot)
            m_db->ReleaseSnapshot(m_snapshot);
    }
    SnapshotRangeReader(const SnapshotRangeReader&) = delete;
    SnapshotRangeReader& operator=(const SnapshotRangeReader&) = delete;

    rocksdb::Iterator* operator->() const { return m_iterator.get(); }

private:
    SnapshotRangeReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family, const KeyRange& range,
                        bool fillCache, const rocksdb::Snapshot* snapshot, bool ownsSnapshot)
        : m_db(db)
        , m_snapshot(snapshot)
        , m_ownsSnapshot(ownsSnapshot)
        , m_upper(toSlice(range.end)) {
        rocksdb::ReadOptions options;
        options.snapshot = m_snapshot;
        options.fill_cache = fillCache;
        if (!range.end.empty())
            options.iterate_upper_bound = &m_upper;
        m_iterator.reset(db->NewIterator(options, family));
    }

    rocksdb::DB* m_db;
    const rocksdb::Snapshot* m_snapshot;
    bool m_ownsSnapshot;
    rocksdb::Slice m_upper;
    std::unique_ptr<rocksdb::Iterator> m_iterator;
};

} // namespace

class StoreSnapshot {
public:
    StoreSnapshot(rocksdb::DB* db, const void* store)
        : m_db(db)
        , m_snapshot(db->GetSnapshot())
        , m_store(store) {}
    ~StoreSnapshot() { m_db->ReleaseSnapshot(m_snapshot); }
    StoreSnapshot(const StoreSnapshot&) = delete;
    StoreSnapshot& operator=(const StoreSnapshot&) = delete;

    const rocksdb::Snapshot* get() const { return m_snapshot; }
    // Which NodeStore pinned it, so that digest() can refuse another store's snapshot.
    const void* store() const { return m_store; }

private:
    rocksdb::DB* m_db;
    const rocksdb::Snapshot* m_snapshot;
    const void* m_store;
};

struct NodeStore::Impl {
    std::string directory;
    NodeStoreOptions options;
    std::unique_ptr<rocksdb::DB> db;
    rocksdb::ColumnFamilyHandle* data = nullptr;
    rocksdb::ColumnFamilyHandle* meta = nullptr;
    // Serializes read-compare-write per key; a key always maps to the same stripe.
    std::array<std::mutex, kStripeCount> stripes;

    ~Impl() { close(); }

    void close() {
        if (!db)
            return;
        // Make acknowledged but unsynced writes durable before the handles go away.
        db->FlushWAL(true).PermitUncheckedError();
        for (rocksdb::ColumnFamilyHandle* handle : {data, meta}) {
            if (handle != nullptr)
                db->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
        }
        data = meta = nullptr;
        db->Close().PermitUncheckedError();
        db.reset();
    }

    rocksdb::WriteOptions writeOptions() const {
        rocksdb::WriteOptions write;
        write.sync = options.sync_writes;
        write.disableWAL = false; // acknowledged writes must survive kill -9
        return write;
    }

    static std::size_t stripeOf(std::string_view key) {
        return std::hash<std::string_view>{}(key) % kStripeCount;
    }

    // The stored value of `key`, decoded (apply() calls it holding the key's stripe).
    Result<std::optional<StoredValue>> read(std::string_view key,
                                            const rocksdb::ReadOptions& readOptions) const {
        rocksdb::PinnableSlice bytes;
        const rocksdb::Status status = db->Get(readOptions, data, toSlice(key), &bytes);
        if (status.IsNotFound())
            return std::optional<StoredValue>();
        if (!status.ok())
            return storeError("get", key, status);
        Result<StoredValue> decoded = decodeStoredValue(toView(bytes));
        if (!decoded)
            return corruptValue(key, decoded.error());
        return std::optional<StoredValue>(std::move(*decoded));
    }
};

NodeStore::NodeStore(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl)) {}

NodeStore::~NodeStore() = default;

Result<std::unique_ptr<NodeStore>> NodeStore::open(const std::string& directory,
                                                   const NodeStoreOptions& options) {
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
    // Every apply() looks its key up first, and most new keys are absent: a Bloom filter answers
    // those misses without reading data blocks.
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    rocksdb::ColumnFamilyOptions family;
    family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

    rocksdb::DBOptions dbOptions;
    dbOptions.create_if_missing = options.create_if_missing;
    dbOptions.create_missing_column_families = true;

    const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, family},
        {kMetaFamily, family},
    };
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    const rocksdb::Status status =
        rocksdb::DB::Open(dbOptions, directory, families, &handles, &raw);
    if (!status.ok()) {
        const std::string said = status.ToString();
        if (status.IsIOError() && mentionsLock(said))
            return Error{"node store: cannot open " + directory +
                         ": its lock is held (another rangepilot-node process or store in this "
                         "process has it open): " +
                         said};
        return Error{"node store: cannot open " + directory + ": " + said};
    }
    auto impl = std::make_unique<Impl>();
    impl->directory = directory;
    impl->options = options;
    impl->db.reset(raw);
    impl->data = handles.at(0);
    impl->meta = handles.at(1);
    return std::unique_ptr<NodeStore>(new NodeStore(std::move(impl)));
}

Result<std::optional<StoredValue>> NodeStore::get(std::string_view key) const {
    return m_impl->read(key, rocksdb::ReadOptions());
}

Result<ApplyOutcome> NodeStore::apply(std::string_view key, const StoredValue& value) {
    if (Status valid = checkNodeId(key, value); !valid)
        return Error{valid.message()};
    const std::lock_guard lock(m_impl->stripes[Impl::stripeOf(key)]);
    Result<std::optional<StoredValue>> current = m_impl->read(key, rocksdb::ReadOptions());
    if (!current)
        return current.error();
    if (current->has_value() && (*current)->version >= value.version)
        return ApplyOutcome::SkippedOlder;
    const rocksdb::Status status = m_impl->db->Put(m_impl->writeOptions(), m_impl->data,
                                                   toSlice(key), encodeStoredValue(value));
    if (!status.ok())
        return storeError("put", key, status);
    return ApplyOutcome::Applied;
}

Result<std::vector<ApplyOutcome>> NodeStore::applyBatch(const std::vector<StoredEntry>& entries) {
    for (const StoredEntry& entry : entries) {
        if (Status valid = checkNodeId(entry.key, entry.stored); !valid)
            return Error{valid.message()};
    }
    // Lock every stripe the batch touches, each once and in ascending order, so two batches (or a
    // batch and an apply) never wait on each other in a cycle.
    std::vector<std::size_t> stripeIds;
    stripeIds.reserve(entries.size());
    for (const StoredEntry& entry : entries)
        stripeIds.push_back(Impl::stripeOf(entry.key));
    std::sort(stripeIds.begin(), stripeIds.end());
    stripeIds.erase(std::unique(stripeIds.begin(), stripeIds.end()), stripeIds.end());
    std::vector<std::unique_lock<std::mutex>> locks;
    locks.reserve(stripeIds.size());
    for (const std::size_t id : stripeIds)
        locks.emplace_back(m_impl->stripes[id]);

    // The winner so far per key: the stored version, replaced by newer entries of the batch. An
    // entry that wins here but loses to a later one of the same key still reports Applied (it was
    // newer than everything before it); only the final winner is written.
    std::map<std::string_view, std::optional<StoredValue>> winners;
    std::map<std::string_view, const StoredValue*> toWrite;
    std::vector<ApplyOutcome> outcomes;
    outcomes.reserve(entries.size());
    const rocksdb::ReadOptions readOptions;
    for (const StoredEntry& entry : entries) {
        auto found = winners.find(entry.key);
        if (found == winners.end()) {
            Result<std::optional<StoredValue>> current = m_impl->read(entry.key, readOptions);
            if (!current)
                return current.error();
            found = winners.emplace(entry.key, std::move(*current)).first;
        }
        std::optional<StoredValue>& winner = found->second;
        if (winner.has_value() && winner->version >= entry.stored.version) {
            outcomes.push_back(ApplyOutcome::SkippedOlder);
            continue;
        }
        winner = entry.stored;
        toWrite[entry.key] = &entry.stored;
        outcomes.push_back(ApplyOutcome::Applied);
    }
    if (toWrite.empty())
        return outcomes;
    rocksdb::WriteBatch batch;
    for (const auto& [key, stored] : toWrite) {
        const rocksdb::Status status =
            batch.Put(m_impl->data, toSlice(key), encodeStoredValue(*stored));
        if (!status.ok())
            return storeError("batch put", key, status);
    }
    const rocksdb::Status status = m_impl->db->Write(m_impl->writeOptions(), &batch);
    if (!status.ok())
        return storeError("batch write starting at", toWrite.begin()->first, status);
    return outcomes;
}

Result<ScanPage> NodeStore::scan(const KeyRange& range, std::string_view from,
                                 std::size_t maxEntries, std::size_t maxBytes,
                                 ScanFor purpose) const {
    ScanPage page;
    const std::string start(std::max(from, std::string_view(range.start)));
    if (!range.end.empty() && start >= range.end)
        return page;
    // A page of zero entries would never make progress; the smallest page is one entry.
    maxEntries = std::max<std::size_t>(maxEntries, 1);

    const SnapshotRangeReader it(m_impl->db.get(), m_impl->data, range, purpose == ScanFor::Client);

    std::size_t bytes = 0;
    for (it->Seek(start); it->Valid(); it->Next()) {
        const std::string_view key = toView(it->key());
        Result<StoredView> view = parseStored(toView(it->value()));
        if (!view)
            return corruptValue(key, view.error());
        if (view->tombstone && purpose == ScanFor::Client)
            continue;
        // The resume key is the next entry this scan would have returned (peeked, not computed
        // as last + "\0"): exact, skips tombstones a client scan would skip anyway, and when
        // nothing follows the page says so (empty) instead of costing an empty round trip.
        const std::size_t entryBytes = key.size() + view->value.size();
        const bool full = page.entries.size() >= maxEntries ||
                          (!page.entries.empty() && bytes + entryBytes > maxBytes);
        if (full) {
            page.resume_key = std::string(key);
            return page;
        }
        page.entries.push_back({std::string(key), toStoredValue(*view)});
        bytes += entryBytes;
    }
    if (!it->status().ok())
        return rangeError("scan", range, it->status());
    return page;
}

// The digest of what `it` reads, entry by entry in key order.
static Result<RangeDigest> digestOf(const KeyRange& range, const SnapshotRangeReader& it) {
    // checksum = DigestHash over, per entry in key order: len(key) key hlc len(node) node
    // tombstone-byte len(value) value, lengths and hlc as one word each. A sequence hash: the same
    // entries give the same checksum on any node, and any differing byte, version, flag or extra
    // entry changes it.
    RangeDigest result;
    DigestHash hash;
    for (it->Seek(toSlice(range.start)); it->Valid(); it->Next()) {
        const std::string_view key = toView(it->key());
        Result<StoredView> view = parseStored(toView(it->value()));
        if (!view)
            return corruptValue(key, view.error());
        hash.field(key);
        hash.u64(view->hlc);
        hash.field(view->node);
        hash.bytes(view->tombstone ? std::string_view("\x01", 1) : std::string_view("\x00", 1));
        hash.field(view->value);
        ++result.entries;
        result.bytes += key.size() + view->value.size();
    }
    if (!it->status().ok())
        return rangeError("digest", range, it->status());
    result.checksum = hash.value();
    return result;
}

Result<RangeDigest> NodeStore::digest(const KeyRange& range) const {
    const SnapshotRangeReader it(m_impl->db.get(), m_impl->data, range, false);
    return digestOf(range, it);
}

Result<RangeDigest> NodeStore::digest(const KeyRange& range, const StoreSnapshot& at) const {
    if (at.store() != this)
        return Error{"digest of " + formatKeyRange(range) +
                     ": the snapshot was pinned on another store"};
    const SnapshotRangeReader it(m_impl->db.get(), m_impl->data, range, at.get());
    return digestOf(range, it);
}

PinnedSnapshot NodeStore::pinSnapshot() const {
    return std::make_shared<const StoreSnapshot>(m_impl->db.get(), this);
}

Status NodeStore::deleteRange(const KeyRange& range) {
    rocksdb::WriteBatch batch;
    if (!range.end.empty()) {
        if (range.start >= range.end)
            return Status::success();
        const rocksdb::Status status =
            batch.DeleteRange(m_impl->data, toSlice(range.start), toSlice(range.end));
        if (!status.ok())
            return rangeError("delete range", range, status);
    } else {
        // No key bounds every binary key from above ("\xff\xff" has "\xff\xff\xff" after it), so
        // an unbounded range ends at the last stored key: [start, last) plus last itself.
        std::unique_ptr<rocksdb::Iterator> it(
            m_impl->db->NewIterator(rocksdb::ReadOptions(), m_impl->data));
        it->SeekToLast();
        if (!it->status().ok())
            return rangeError("delete range", range, it->status());
        if (!it->Valid() || toView(it->key()) < std::string_view(range.start))
            return Status::success();
        const std::string last(toView(it->key()));
        rocksdb::Status status =
            batch.DeleteRange(m_impl->data, toSlice(range.start), toSlice(last));
        if (status.ok())
            status = batch.Delete(m_impl->data, toSlice(last));
        if (!status.ok())
            return rangeError("delete range", range, status);
    }
    const rocksdb::Status status = m_impl->db->Write(m_impl->writeOptions(), &batch);
    if (!status.ok())
        return rangeError("delete range", range, status);
    return Status::success();
}

Result<std::vector<std::string>> NodeStore::sampleKeys(const KeyRange& range, std::size_t maxKeys,
                                                       std::uint64_t* keysSeen) const {
    const SnapshotRangeReader it(m_impl->db.get(), m_impl->data, range, false);

    // One pass, bounded memory: keep the live keys whose index is a multiple of `stride`; when more
    // than 2 * maxKeys are kept, drop every other one and double the stride. The kept keys are
    // then evenly spaced over the range whatever its size.
    const std::size_t keepAtMost = 2 * std::max<std::size_t>(maxKeys, 1);
    std::vector<std::string> kept;
    std::uint64_t stride = 1;
    std::uint64_t seen = 0;
    for (it->Seek(toSlice(range.start)); it->Valid(); it->Next()) {
        const std::string_view key = toView(it->key());
        Result<StoredView> view = parseStored(toView(it->value()));
        if (!view)
            return corruptValue(key, view.error());
        if (view->tombstone)
            continue;
        if (seen % stride == 0) {
            kept.emplace_back(key);
            if (kept.size() > keepAtMost) {
                std::size_t out = 0;
                for (std::size_t in = 0; in < kept.size(); in += 2, ++out) {
                    if (in != out) // a self-move would leave the key empty
                        kept[out] = std::move(kept[in]);
                }
                kept.resize(out);
                stride *= 2;
            }
        }
        ++seen;
    }
    if (!it->status().ok())
        return rangeError("sample keys", range, it->status());
    if (keysSeen != nullptr)
        *keysSeen = seen;
    if (maxKeys == 0)
        return std::vector<std::string>();
    if (kept.size() <= maxKeys)
        return kept;
    // Thin to maxKeys: the middle key of each of maxKeys equal slices of the kept keys. The kept
    // keys are 1 stride apart and each slice holds one or two, so picks are 1 or 2 strides apart.
    std::vector<std::string> sample;
    sample.reserve(maxKeys);
    for (std::size_t slice = 0; slice < maxKeys; ++slice)
        sample.push_back(std::move(kept[(2 * slice + 1) * kept.size() / (2 * maxKeys)]));
    return sample;
}

Status NodeStore::putMeta(std::string_view name, std::string_view bytes) {
    rocksdb::WriteOptions write = m_impl->writeOptions();
    write.sync = true; // the node's own state (table, clock floor) must survive a power loss
    const rocksdb::Status status =
        m_impl->db->Put(write, m_impl->meta, toSlice(name), toSlice(bytes));
    if (!status.ok())
        return storeError("put meta", name, status);
    return Status::success();
}

Result<std::optional<std::string>> NodeStore::getMeta(std::string_view name) const {
    std::string bytes;
    const rocksdb::Status status =
        m_impl->db->Get(rocksdb::ReadOptions(), m_impl->meta, toSlice(name), &bytes);
    if (status.IsNotFound())
        return std::optional<std::string>();
    if (!status.ok())
        return storeError("get meta", name, status);
    return std::optional<std::string>(std::move(bytes));
}

Status NodeStore::deleteMeta(std::string_view name) {
    rocksdb::WriteOptions write = m_impl->writeOptions();
    write.sync = true; // a cleared fence must stay cleared after a power loss, like a put
    const rocksdb::Status status = m_impl->db->Delete(write, m_impl->meta, toSlice(name));
    if (!status.ok())
        return storeError("delete meta", name, status);
    return Status::success();
}

std::uint64_t NodeStore::estimatedKeys() const {
    std::uint64_t keys = 0;
    if (!m_impl->db->GetIntProperty(m_impl->data, "rocksdb.estimate-num-keys", &keys))
        return 0;
    return keys;
}

std::uint64_t NodeStore::estimatedBytes() const {
    std::uint64_t live = 0;
    std::uint64_t memtables = 0;
    if (!m_impl->db->GetIntProperty(m_impl->data, "rocksdb.estimate-live-data-size", &live))
        live = 0;
    if (!m_impl->db->GetIntProperty(m_impl->data, "rocksdb.cur-size-all-mem-tables", &memtables))
        memtables = 0;
    return live + memtables;
}

Status NodeStore::flush() {
    rocksdb::Status status = m_impl->db->FlushWAL(true);
    if (!status.ok())
        return Error{"node store: sync of the write-ahead log in " + m_impl->directory + ": " +
                     status.ToString()};
    rocksdb::FlushOptions flushOptions;
    flushOptions.wait = true;
    status = m_impl->db->Flush(flushOptions, {m_impl->data, m_impl->meta});
    if (!status.ok())
        return Error{"node store: flush of memtables in " + m_impl->directory + ": " +
                     status.ToString()};
    return Status::success();
}

} // namespace rangepilot::node
