#pragma once

// WriteLedger: remembers what the cluster promised, so that a workload run can check afterwards
// that no acknowledged write was lost or rolled back.
//
// What is recorded. For every key, the *newest acknowledged write*: its content (a put's value
// digest, or a tombstone for a delete) and the Version the node acknowledged it with. "Newest" is
// by Version (hlc, then node id), the order the cluster resolves writes by (last writer wins), not
// by the order the acknowledgements arrived in: two threads writing one key are both acknowledged,
// and the store must end with the one with the larger version. Separately, every *uncertain* write:
// one that failed in a way that does not tell whether the node stored it (a deadline, a dropped
// connection; see writeMayHaveApplied), and earlier ambiguous attempts of writes that were
// acknowledged in the end. Its version is unknown, so it may have been stored with any version;
// the ledger keeps the distinct contents of such writes per key.
//
// How a key is judged (verify). Read the key back (value or tombstone, with its version), then:
//   ok    the read's content equals the newest acknowledged write's content (for a delete: the key
//         is absent), whatever the version (an equal value written twice is not a loss); or the
//         read's content equals an uncertain write's content and the read's version is newer than
//         the newest acknowledged one: that write was stored after all and legitimately won.
//   stale the key holds a value that is not the newest acknowledged one, with an older version
//         than it: an earlier state survived and the newest acknowledged write was rolled back.
//   lost  everything else: the key is absent although its newest acknowledged write is a put; a
//         deleted key came back (a value where the newest acknowledged write is a delete); or the
//         key holds content this client never wrote at a version at or above the acknowledged one
//         (overwritten behind its back, or corrupted).
// This assumes the ledger's client is the only writer of its keys until the check: another
// client's put or delete of a ledger key shows up as lost (which is how the e2e test plants one).
// Keys whose writes were all uncertain are skipped (counted, not judged): nothing was promised.
// Keys that cannot be read are counted as unreadable. A verification passes when lost, stale and
// unreadable are all zero.
//
// Digests. Values are not kept: a digest is the value's length plus a 64-bit hash of its bytes
// (mix64 applied per 8-byte word, a bijection step, then a final mix; so its collisions behave like
// a random function's). Two different values compare equal only if both their lengths and hashes
// agree: about 2^-64 per comparison, under 1e-9 even over 10^10 comparisons. That keeps a ledger
// entry at a fixed size whatever the value size (10 MB values included): about 170 bytes with the
// hash map's overhead plus the key, so a million keys take under 200 MB.
//
// Thread-safety and cost. record* calls are thread-safe: keys are spread over 64 stripes, each
// with its own mutex and hash map, so writer threads rarely meet. Recording is O(value bytes) for
// the digest plus O(1) expected. verify() reads each key once, on as many threads as asked.
// save()/load() write and read a line-oriented text file (hex fields), for verifying later or from
// another process.

#include "cluster_client.h"
#include "key.h"
#include "result.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rangepilot {

// The content of a write: a tombstone, or a value's length and 64-bit hash.
struct WriteDigest {
    bool tombstone = false;
    std::uint64_t length = 0;
    std::uint64_t hash = 0;

    static WriteDigest ofValue(std::string_view value);
    static WriteDigest deletion() { return WriteDigest{true, 0, 0}; }
    // The content a read saw: a tombstone when the key is absent.
    static WriteDigest ofRead(const ReadValue& read);

    bool operator==(const WriteDigest&) const = default;
};

// The 64-bit hash used in digests (exposed for tests).
std::uint64_t valueHash(std::string_view value);

enum class Verdict { Ok, Lost, Stale, Unreadable, Skipped };

// "ok", "lost", "stale", "unreadable", "skipped".
const char* verdictName(Verdict verdict);

// The newest acknowledged write of a key and the uncertain ones.
struct LedgerEntry {
    bool acknowledged = false; // false: only uncertain writes were seen
    WriteDigest newest;        // valid when acknowledged
    ValueVersion newest_version;
    std::vector<WriteDigest> uncertain; // distinct contents
};

// Judges one key by the rules above.
Verdict judge(const LedgerEntry& entry, const ReadValue& read);

// A key that did not verify, for the report ("lost user42: expected put (1024 bytes) at v,
// read absent at w").
struct VerifyProblem {
    Key key;
    Verdict verdict = Verdict::Lost;
    std::string detail;
};

struct VerifyReport {
    std::uint64_t keys = 0; // judged keys: ok + lost + stale + unreadable
    std::uint64_t ok = 0;
    std::uint64_t lost = 0;
    std::uint64_t stale = 0;
    std::uint64_t unreadable = 0;
    std::uint64_t skipped = 0;           // only uncertain writes; not in `keys`
    std::vector<VerifyProblem> examples; // the first few problems, in key order

    bool passed() const { return lost == 0 && stale == 0 && unreadable == 0; }
};

// "verify: N keys, ok X, lost Y, stale Z", plus ", unreadable U" and ", skipped S" when non-zero.
std::string formatVerifyLine(const VerifyReport& report);

// Reads a key back from the cluster; must be thread-safe when verify() runs several threads.
using KeyReader = std::function<Result<ReadValue>(const Key& key)>;

class WriteLedger {
public:
    WriteLedger() = default;
    WriteLedger(const WriteLedger&) = delete;
    WriteLedger& operator=(const WriteLedger&) = delete;

    // An acknowledged put or delete; kept when its version is newer than the key's newest
    // acknowledged one (an older acknowledgement arriving late changes nothing).
    void recordAcknowledged(const Key& key, const WriteDigest& content,
                            const ValueVersion& version);
    // A write that may or may not have been stored.
    void recordUncertain(const Key& key, const WriteDigest& content);

    std::size_t keyCount() const;
    // A copy of one key's entry (tests, the e2e test's choice of a key to delete).
    std::optional<LedgerEntry> entry(const Key& key) const;
    // Every key, sorted.
    std::vector<Key> keys() const;

    // Reads every key back with `reader` on `threads` threads (at least 1) and judges it. At most
    // `maxExamples` problems are kept, the smallest keys first.
    VerifyReport verify(const KeyReader& reader, std::size_t threads = 1,
                        std::size_t maxExamples = 10) const;

    // The ledger as text: a header line, then one line per key in key order. Errors name the
    // file; load() errors also name the line.
    Status save(const std::string& path) const;
    static Result<std::unique_ptr<WriteLedger>> load(const std::string& path);

private:
    static constexpr std::size_t kStripes = 64;
    struct Stripe {
        mutable std::mutex mutex;
        std::unordered_map<Key, LedgerEntry> entries;
    };

    Stripe& stripeFor(std::string_view key);
    const Stripe& stripeFor(std::string_view key) const;
    // Every entry, sorted by key (a consistent copy per stripe).
    std::vector<std::pair<Key, LedgerEntry>> snapshot() const;

    std::array<Stripe, kStripes> m_stripes;
};

} // namespace rangepilot
