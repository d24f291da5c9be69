#include "key_cells.h"

#include <algorithm>

namespace rangepilot {

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
}

// The 8 bytes after the common prefix, big-endian and zero-padded, so that integer order agrees
// with key order wherever the windows differ (a shorter key pads with zeros and sorts first).
std::uint64_t KeyCells::windowOf(std::string_view key) const {
    std::uint64_t window = 0;
    const std::size_t offset = m_commonPrefix.size();
    for (std::size_t i = 0; i < 8; ++i) {
        const std::size_t position = offset + i;
        const std::uint64_t byte =
            position < key.size() ? static_cast<unsigned char>(key[position]) : 0u;
        window = (window << 8) | byte;
    }
    return window;
}

CellIndex KeyCells::cellOf(std::string_view key) const {
    if (m_windows.empty())
        return 0;
    const std::string_view prefix = m_commonPrefix;
    const std::string_view head = key.substr(0, prefix.size());
    if (head != prefix) {
        // Every start after the first begins with the prefix, so comparing with it decides.
        return head < prefix ? 0 : static_cast<CellIndex>(m_starts.size() - 1);
    }
    const std::uint64_t window = windowOf(key);
    // Starts with a smaller window are below the key, with a larger one above it; only equal
    // windows need the full comparison.
    const auto lower = std::lower_bound(m_windows.begin(), m_windows.end(), window);
    const auto upper = std::upper_bound(lower, m_windows.end(), window);
    // Among equal windows, binary search the full start keys (m_starts is offset by one).
    const auto firstEqual = m_starts.begin() + 1 + (lower - m_windows.begin());
    const auto lastEqual = m_starts.begin() + 1 + (upper - m_windows.begin());
    const auto firstAbove =
        std::upper_bound(firstEqual, lastEqual, key,
                         [](std::string_view probe, const Key& start) { return probe < start; });
    const std::size_t below = static_cast<std::size_t>(firstAbove - (m_starts.begin() + 1));
    // `below` starts after the first are <= key; the first ("") always is.
    return static_cast<CellIndex>(below);
}

KeyRange KeyCells::range(CellIndex cell) const {
    KeyRange range{m_starts[cell], Key()};
    if (cell + 1 < m_starts.size())
        range.end = m_starts[cell + 1];
    return range;
}

} // namespace rangepilot
