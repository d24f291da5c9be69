#pragma once

// AccessCounters: per key-cell request counters of a node, the source of the console's heatmap
// for a real cluster. A watcher (WatchStats) gives the cell starts; the node records every request
// it serves into each watcher's counters, and the watcher takes and resets them once per interval.
//
// Invariants: cells come from KeyCells::fromStarts (first start "", strictly increasing), so every
// key maps to exactly one cell. record() is lock-free (relaxed atomics per cell and field), so
// request threads do not contend; take() exchanges each counter with zero, so no count is lost or
// counted twice between two takes, though one take may see a request's reads but not yet its bytes.
//
// Cost: record() is KeyCells::cellOf (O(log cells)) plus four atomic adds; take() is O(cells).
// Memory: 32 bytes per cell.

#include "key_cells.h"
#include "load_map.h"
#include "result.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rangepilot::node {

enum class AccessKind { Read, Write };

class AccessCounters {
public:
    // Cells with these starts; an empty list means one cell for the whole key space. Errors name
    // the offending start ("cell_starts[3]: not greater than cell_starts[2]"). At most maxCells.
    static Result<std::unique_ptr<AccessCounters>> create(std::vector<std::string> starts,
                                                          std::size_t maxCells = 65536);

    std::size_t cellCount() const;
    void record(std::string_view key, AccessKind kind, std::uint64_t bytes,
                std::uint64_t latencyUs);
    // The counts since the previous take, indexed by cell; resets them.
    std::vector<CellLoad> take();

private:
    struct Cell {
        std::atomic<std::uint64_t> reads{0};
        std::atomic<std::uint64_t> writes{0};
        std::atomic<std::uint64_t> bytes{0};
        std::atomic<std::uint64_t> latency_us{0};
    };
    explicit AccessCounters(KeyCells cells);

    KeyCells m_cells;
    std::unique_ptr<Cell[]> m_counts;
};

} // namespace rangepilot::node
