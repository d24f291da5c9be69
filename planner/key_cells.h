#pragma once

// KeyCells: a fine partition of the key space into contiguous cells, the unit in which load is
// counted. Cells are finer than shards, so shard boundaries (dividers) can be recomputed from cell
// loads without rereading traffic. Boundaries are quantiles of a sample of the keys seen, so each
// cell receives about the same number of distinct sampled keys whatever the key distribution.
//
// Invariants: cell 0 starts at "" (the smallest key) and the last cell is unbounded above, so every
// key maps to exactly one cell; starts are strictly increasing.
//
// Cost: cellOf() is O(log cells) and does not allocate. Start keys usually share a long common
// prefix ("user000…"), so the search compares the 8 bytes that follow that prefix as one integer
// and falls back to full string comparison only among starts with equal 8-byte windows. A table
// on the window's top 16 bits (256 KiB, built when there are more than 16 cells) usually leaves
// one block of 16 windows to count.

#include "key.h"
#include "result.h"

#include <cstdint>
#include <string_view>
#include <vector>

namespace rangepilot {

using CellIndex = std::uint32_t;

// Cells [first, end) of a KeyCells; empty when end <= first.
struct CellSpan {
    CellIndex first = 0;
    CellIndex end = 0;
    std::size_t size() const { return end > first ? end - first : 0; }
};

class KeyCells {
public:
    // A single cell covering the whole key space.
    KeyCells();

    // At most `cellCount` cells whose starts are quantiles of the sample (duplicates removed).
    // Fewer distinct keys than cells gives one cell per distinct key. The sample may be unsorted.
    static KeyCells fromSample(std::vector<Key> sample, std::size_t cellCount);

    // Cells with exactly these starts; the first must be "" and the rest strictly increasing.
    static Result<KeyCells> fromStarts(std::vector<Key> starts);

    std::size_t size() const { return m_starts.size(); }
    CellIndex cellOf(std::string_view key) const;
    KeyRange range(CellIndex cell) const;
    // The cells whose start key lies in `range`: those a shard with that range carries the load
    // and data of (a cell straddling a shard boundary belongs to the shard holding its start).
    // Empty for a range narrower than a cell that holds no cell start.
    CellSpan cellsStartingIn(const KeyRange& range) const;
    // The cells holding any key of `range` (the first may start before it).
    CellSpan cellsCovering(const KeyRange& range) const;
    const Key& start(CellIndex cell) const { return m_starts[cell]; }
    const std::vector<Key>& starts() const { return m_starts; }

private:
    explicit KeyCells(std::vector<Key> starts);
    void buildSearchIndex();
    std::uint64_t windowOf(std::string_view key) const;
    void buildWindowLevels();
    void buildRadix();
    std::size_t windowLowerBound(std::uint64_t window) const;
    // The first cell whose start is at or after `key` (size() when none is).
    CellIndex firstStartAtOrAfter(std::string_view key) const;
    bool startIsAtMost(std::string_view start, std::string_view key) const;

    std::vector<Key> m_starts;
    // Common prefix of m_starts[1..]; keys that do not share it are ordered by it alone.
    Key m_commonPrefix;
    // Big-endian 8 bytes after the common prefix, for m_starts[1..] (index i holds start i + 1).
    std::vector<std::uint64_t> m_windows;
    // m_levels[0] is m_windows; each next level keeps every 16th value; all padded with ~0.
    std::vector<std::vector<std::uint64_t>> m_levels;
    // m_radix[v] = lower bound in m_windows of the first window whose top 16 bits are v (65537
    // entries; empty for few cells): the top bits narrow the search to a span, usually short.
    std::vector<std::uint32_t> m_radix;
};

} // namespace rangepilot
