#include "hybrid_clock.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace rangepilot::node {

namespace {

std::uint64_t systemMs() {
    const auto sinceEpoch = std::chrono::system_clock::now().time_since_epoch();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(sinceEpoch).count();
    // A clock set before 1970 reads as 0: the logical counter keeps now() increasing anyway.
    return ms > 0 ? static_cast<std::uint64_t>(ms) : 0;
}

} // namespace

HybridClock::HybridClock(PhysicalClock physical)
    : m_physical(physical ? std::move(physical) : PhysicalClock(systemMs)) {}

HlcTimestamp HybridClock::now() {
    const std::uint64_t physicalMs = m_physical();
    const std::lock_guard lock(m_mutex);
    // Send rule: the physical part is max(last, physical clock); the logical part counts events
    // within one millisecond. last + 1 carries a full logical counter into the physical part, which
    // is exactly "borrow the next millisecond".
    const HlcTimestamp fromPhysical = makeHlc(physicalMs, 0);
    m_last = fromPhysical > m_last ? fromPhysical : m_last + 1;
    return m_last;
}

void HybridClock::observe(HlcTimestamp remote) {
    // Receive rule, reduced: the next now() takes max(last, remote, physical) and adds one when the
    // physical clock does not lead, so remembering the larger timestamp is all observe() needs.
    const std::lock_guard lock(m_mutex);
    m_last = std::max(m_last, remote);
}

std::uint64_t HybridClock::leadOverPhysical(HlcTimestamp remote) const {
    const std::uint64_t physicalMs = m_physical();
    const std::uint64_t remoteMs = hlcPhysicalMs(remote);
    return remoteMs > physicalMs ? remoteMs - physicalMs : 0;
}

HlcTimestamp HybridClock::last() const {
    const std::lock_guard lock(m_mutex);
    return m_last;
}

} // namespace rangepilot::node
