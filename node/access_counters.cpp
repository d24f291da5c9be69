#include "access_counters.h"

#include <utility>

namespace rangepilot::node {

namespace {

std::string startName(std::size_t index) {
    return "cell_starts[" + std::to_string(index) + "]";
}

// The protocol's rules for WatchStatsRequest.cell_starts, with errors a client can act on.
Status validateStarts(const std::vector<std::string>& starts, std::size_t maxCells) {
    if (starts.size() > maxCells)
        return Error{"cell_starts: " + std::to_string(starts.size()) + " cells, at most " +
                     std::to_string(maxCells)};
    if (!starts.front().empty())
        return Error{startName(0) + ": must be empty (the start of the key space), not " +
                     formatKey(starts.front())};
    for (std::size_t i = 1; i < starts.size(); ++i) {
        if (!(starts[i - 1] < starts[i]))
            return Error{startName(i) + ": not greater than " + startName(i - 1) + " (" +
                         formatKey(starts[i]) + " after " + formatKey(starts[i - 1]) + ")"};
    }
    return Status::success();
}

} // namespace

Result<std::unique_ptr<AccessCounters>> AccessCounters::create(std::vector<std::string> starts,
                                                               std::size_t maxCells) {
    if (starts.empty())
        starts.emplace_back(); // one cell for the whole key space
    if (Status valid = validateStarts(starts, maxCells); !valid)
        return Error{valid.message()};
    Result<KeyCells> cells = KeyCells::fromStarts(std::move(starts));
    if (!cells)
        return cells.error();
    return std::unique_ptr<AccessCounters>(new AccessCounters(std::move(*cells)));
}

AccessCounters::AccessCounters(KeyCells cells)
    : m_cells(std::move(cells))
    , m_counts(std::make_unique<Cell[]>(m_cells.size())) {}

std::size_t AccessCounters::cellCount() const {
    return m_cells.size();
}

void AccessCounters::record(std::string_view key, AccessKind kind, std::uint64_t bytes,
                            std::uint64_t latencyUs) {
    // Relaxed: each counter only has to be exact on its own; nothing else is published through it.
    Cell& cell = m_counts[m_cells.cellOf(key)];
    if (kind == AccessKind::Read)
        cell.reads.fetch_add(1, std::memory_order_relaxed);
    else
        cell.writes.fetch_add(1, std::memory_order_relaxed);
    cell.bytes.fetch_add(bytes, std::memory_order_relaxed);
    cell.latency_us.fetch_add(latencyUs, std::memory_order_relaxed);
}

std::vector<CellLoad> AccessCounters::take() {
    std::vector<CellLoad> loads(m_cells.size());
    for (std::size_t i = 0; i < loads.size(); ++i) {
        Cell& cell = m_counts[i];
        loads[i].reads = cell.reads.exchange(0, std::memory_order_relaxed);
        loads[i].writes = cell.writes.exchange(0, std::memory_order_relaxed);
        loads[i].bytes = cell.bytes.exchange(0, std::memory_order_relaxed);
        loads[i].latency_us = cell.latency_us.exchange(0, std::memory_order_relaxed);
    }
    return loads;
}

} // namespace rangepilot::node
