#pragma once

// HybridClock: a hybrid logical clock (Kulkarni et al., 2014) that versions every write a node
// stores. A timestamp packs physical milliseconds and a logical counter into 64 bits
// (ms << 16 | logical), so it compares as one integer and stays close to wall time.
//
// Invariants: now() is strictly increasing across calls, even when the physical clock stands still
// or steps back; after observe(t), every later now() is greater than t. So a node that receives a
// version (a shadow write, a copied batch) stamps its own later writes above it: the last writer
// in causal order wins. When the logical counter would overflow 16 bits the clock borrows the next
// millisecond.
//
// Thread-safe (one mutex); cost: a physical-clock read and a few integer operations per call.

#include <cstdint>
#include <functional>
#include <mutex>

namespace rangepilot::node {

using HlcTimestamp = std::uint64_t;

inline constexpr int kHlcLogicalBits = 16;
inline HlcTimestamp makeHlc(std::uint64_t physicalMs, std::uint64_t logical) {
    return (physicalMs << kHlcLogicalBits) | logical;
}
inline std::uint64_t hlcPhysicalMs(HlcTimestamp t) {
    return t >> kHlcLogicalBits;
}
inline std::uint64_t hlcLogical(HlcTimestamp t) {
    return t & ((std::uint64_t{1} << kHlcLogicalBits) - 1);
}

// How far a version from another node may lead this node's physical clock. A peer with a broken
// clock (set years ahead) would otherwise drag every node that observes its versions away from
// wall time for good, since the clock's floor is persisted; NTP keeps honest clocks within a few
// milliseconds, and CockroachDB's default maximum offset is 500 ms too.
inline constexpr std::uint64_t kMaxClockOffsetMs = 500;

class HybridClock {
public:
    // Milliseconds since the Unix epoch; the default reads the system clock. Tests inject one.
    using PhysicalClock = std::function<std::uint64_t()>;

    explicit HybridClock(PhysicalClock physical = {});

    // A timestamp for a new local event, greater than every one returned or observed before.
    HlcTimestamp now();
    // Takes in a timestamp from elsewhere (a remote write, a persisted floor after a restart).
    void observe(HlcTimestamp remote);
    // The largest timestamp issued or observed so far (what a node persists as its floor).
    HlcTimestamp last() const;
    // How many milliseconds `remote`'s physical part leads this node's physical clock (0 when it
    // does not): what a receiver compares with kMaxClockOffsetMs before it observes `remote`.
    std::uint64_t leadOverPhysical(HlcTimestamp remote) const;

private:
    PhysicalClock m_physical;
    mutable std::mutex m_mutex;
    HlcTimestamp m_last = 0;
};

} // namespace rangepilot::node
