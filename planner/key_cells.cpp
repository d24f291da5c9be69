#include "key_cells.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace rangepilot {

namespace {

std::uint64_t toBigEndianOrder(std::uint64_t raw) {
    if constexpr (std::endian::native == std::endian::little)
        return __builtin_bswap64(raw);
    return raw;
}

constexpr std::size_t kBlock = 16;
constexpr std::uint64_t kPadding = ~std::uint64_t(0);
constexpr int kRadixShift = 48;
constexpr std::size_t kRadixEntries = std::size_t(1) << (64 - kRadixShift);

// a == b for short texts without a library call: eight bytes at a time.
bool equalBytes(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    std::size_t i = 0;
    for (; i + 8 <= a.size(); i += 8) {
        std::uint64_t x, y;
        std::memcpy(&x, a.data() + i, 8);
        std::memcpy(&y, b.data() + i, 8);
        if (x != y)
            return false;
    }
    for (; i < a.size(); ++i) {
        if (a[i] != b[i])
            return false;
    }
    return true;
}

// How many of the kBlock values at `block` are below `key`: independent compares that the CPU
// overlaps, instead of a chain of dependent, mispredicted branches.
std::size_t countBelow(const std::uint64_t* block, std::uint64_t key) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < kBlock; ++i)
        count += block[i] < key ? 1 : 0;
    return count;
}

} // namespace

void KeyCells::buildWindowLevels() {
    m_levels.clear();
    std::vector<std::uint64_t> level = m_windows;
    while (true) {
        std::vector<std::uint64_t> padded = level;
        padded.resize((level.size() / kBlock + 2) * kBlock, kPadding);
        m_levels.push_back(std::move(padded));
        if (level.size() <= kBlock)
            break;
        std::vector<std::uint64_t> coarser;
        for (std::size_t i = 0; i < level.size(); i += kBlock)
            coarser.push_back(level[i]);
        level = std::move(coarser);
    }
}

void KeyCells::buildRadix() {
    m_radix.clear();
    if (m_windows.size() <= kBlock)
        return; // one block of the levels is as fast
    m_radix.resize(kRadixEntries + 1);
    std::size_t position = 0;
    for (std::size_t top = 0; top < kRadixEntries; ++top) {
        while (position < m_windows.size() && (m_windows[position] >> kRadixShift) < top)
            ++position;
        m_radix[top] = static_cast<std::uint32_t>(position);
    }
    m_radix[kRadixEntries] = static_cast<std::uint32_t>(m_windows.size());
}

// lower_bound over m_windows through the sampled levels: level i+1 holds every kBlock-th value of
// level i, so knowing the position p in level i+1 leaves one block of level i to count.
std::size_t KeyCells::windowLowerBound(std::uint64_t window) const {
    if (!m_radix.empty()) {
        const auto top = static_cast<std::size_t>(window >> kRadixShift);
        const std::size_t first = m_radix[top];
        // Windows from m_radix[top + 1] on are above `window`, so counting a whole block from
        // `first` is exact when the span fits in it (level 0 is padded by at least one block).
        if (m_radix[top + 1] - first <= kBlock)
            return first + countBelow(m_levels.front().data() + first, window);
    }
    std::size_t position = countBelow(m_levels.back().data(), window);
    for (std::size_t level = m_levels.size() - 1; level-- > 0;) {
        if (position == 0)
            continue; // the first value of the level is already >= window
        const std::size_t blockStart = (position - 1) * kBlock + 1;
        position = blockStart + countBelow(m_levels[level].data() + blockStart, window);
    }
    return std::min(position, m_windows.size());
}

KeyCells::KeyCells()
    : KeyCells(std::vector<Key>{Key()}) {}

KeyCells::KeyCells(std::vector<Key> starts)
    : m_starts(std::move(starts)) {
    buildSearchIndex();
}

KeyCells KeyCells::fromSample(std::vector<Key> sample, std::size_t cellCount) {
    // Quantiles over the sample with its repetitions, so cells are finer where traffic is
    // denser; a key hotter than one cell's share simply gets a cell of its own.
    std::sort(sample.begin(), sample.end());
    cellCount = std::max<std::size_t>(cellCount, 1);
    std::vector<Key> starts{Key()};
    starts.reserve(cellCount);
    for (std::size_t q = 1; q < cellCount && !sample.empty(); ++q) {
        const std::size_t index = q * sample.size() / cellCount;
        if (sample[index] > starts.back())
            starts.push_back(sample[index]);
    }
    const std::size_t distinct =
        static_cast<std::size_t>(std::unique(sample.begin(), sample.end()) - sample.begin());
    if (distinct <= cellCount && distinct + 1 > starts.size()) {
        // Few distinct keys: one cell per key separates them all.
        sample.resize(distinct);
        starts.assign(1, Key());
        for (Key& key : sample) {
            if (!key.empty())
                starts.push_back(std::move(key));
        }
    }
    return KeyCells(std::move(starts));
}

Result<KeyCells> KeyCells::fromStarts(std::vector<Key> starts) {
    if (starts.empty() || !starts.front().empty())
        return Error{"key cells: the first cell must start at the empty key"};
    for (std::size_t i = 1; i < starts.size(); ++i) {
        if (!(starts[i - 1] < starts[i]))
            return Error{"key cells: start " + std::to_string(i) + " (" + formatKey(starts[i]) +
                         ") is not greater than the one before it"};
    }
    return KeyCells(std::move(starts));
}

void KeyCells::buildSearchIndex() {
    m_commonPrefix.clear();
    m_windows.clear();
    if (m_starts.size() < 2)
        return;
    std::string_view prefix = m_starts[1];
    for (std::size_t i = 2; i < m_starts.size() && !prefix.empty(); ++i) {
        const std::string_view start = m_starts[i];
        std::size_t shared = 0;
        while (shared < prefix.size() && shared < start.size() && prefix[shared] == start[shared])
            ++shared;
        prefix = prefix.substr(0, shared);
    }
    m_commonPrefix.assign(prefix);
    m_windows.reserve(m_starts.size() - 1);
    for (std::size_t i = 1; i < m_starts.size(); ++i)
        m_windows.push_back(windowOf(m_starts[i]));
    buildWindowLevels();
    buildRadix();
}

// The 8 bytes after the common prefix, big-endian and zero-padded, so that integer order agrees
// with key order wherever the windows differ (a shorter key pads with zeros and sorts first).
std::uint64_t KeyCells::windowOf(std::string_view key) const {
    const std::size_t offset = m_commonPrefix.size();
    if (key.size() >= offset + 8) {
        std::uint64_t raw = 0;
        std::memcpy(&raw, key.data() + offset, 8);
        return toBigEndianOrder(raw);
    }
    if (key.size() > offset && key.size() >= 8) {
        // The key's last 8 bytes, shifted so the ones after the prefix lead and zeros follow.
        std::uint64_t raw = 0;
        std::memcpy(&raw, key.data() + key.size() - 8, 8);
        const std::size_t after = key.size() - offset; // 1..7
        return toBigEndianOrder(raw) << (8 * (8 - after));
    }
    std::uint64_t window = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        const std::size_t position = offset + i;
        const std::uint64_t byte =
            position < key.size() ? static_cast<unsigned char>(key[position]) : 0u;
        window = (window << 8) | byte;
    }
    return window;
}

// start <= key for a start that shares the key's prefix and window. Their bytes agree up to the
// shorter one's length or up to prefix + 8, whichever comes first (zero padding only stands for
// missing bytes), so within that the shorter one is the smaller; beyond it, the rest decides.
bool KeyCells::startIsAtMost(std::string_view start, std::string_view key) const {
    const std::size_t known = m_commonPrefix.size() + 8;
    if (start.size() <= known || key.size() <= known)
        return start.size() <= key.size();
    return start.substr(known) <= key.substr(known);
}

CellIndex KeyCells::cellOf(std::string_view key) const {
    if (m_windows.empty())
        return 0;
    const std::string_view prefix = m_commonPrefix;
    const std::string_view head = key.substr(0, prefix.size());
    if (!equalBytes(head, prefix)) {
        // Every start after the first begins with the prefix, so comparing with it decides.
        return head < prefix ? 0 : static_cast<CellIndex>(m_starts.size() - 1);
    }
    const std::uint64_t window = windowOf(key);
    // Starts with a smaller window are below the key, with a larger one above it; only equal
    // windows need the full comparison, which is rare once the common prefix is skipped.
    const std::size_t lower = windowLowerBound(window);
    if (lower == m_windows.size() || m_windows[lower] != window)
        return static_cast<CellIndex>(lower); // `lower` starts after the first are below the key
    if (lower + 1 == m_windows.size() || m_windows[lower + 1] != window) {
        // One start shares the window, typically because a hot key is itself a cell's start.
        const bool startIsBelowOrEqual = startIsAtMost(m_starts[lower + 1], key);
        return static_cast<CellIndex>(lower + (startIsBelowOrEqual ? 1 : 0));
    }
    const auto upper = std::upper_bound(m_windows.begin() + static_cast<std::ptrdiff_t>(lower),
                                        m_windows.end(), window);
    // Among equal windows, binary search the full start keys (m_starts is offset by one).
    const auto firstEqual = m_starts.begin() + 1 + static_cast<std::ptrdiff_t>(lower);
    const auto lastEqual = m_starts.begin() + 1 + (upper - m_windows.begin());
    const auto firstAbove =
        std::upper_bound(firstEqual, lastEqual, key,
                         [](std::string_view probe, const Key& start) { return probe < start; });
    // Starts after the first that are <= key; the first ("") always is.
    return static_cast<CellIndex>(firstAbove - (m_starts.begin() + 1));
}

KeyRange KeyCells::range(CellIndex cell) const {
    KeyRange range{m_starts[cell], Key()};
    if (cell + 1 < m_starts.size())
        range.end = m_starts[cell + 1];
    return range;
}

CellIndex KeyCells::firstStartAtOrAfter(std::string_view key) const {
    const CellIndex cell = cellOf(key);
    return std::string_view(m_starts[cell]) < key ? cell + 1 : cell;
}

CellSpan KeyCells::cellsStartingIn(const KeyRange& range) const {
    const CellIndex first = firstStartAtOrAfter(range.start);
    const CellIndex end = range.end.empty() ? static_cast<CellIndex>(m_starts.size())
                                            : firstStartAtOrAfter(range.end);
    return {first, std::max(first, end)};
}

CellSpan KeyCells::cellsCovering(const KeyRange& range) const {
    const CellIndex first = cellOf(range.start);
    const CellIndex end = range.end.empty() ? static_cast<CellIndex>(m_starts.size())
                                            : firstStartAtOrAfter(range.end);
    return {first, std::max(first, end)};
}

} // namespace rangepilot
