#pragma once

// The Query Pattern Analyzer over a trace: one pass that turns query events into a LoadMap and a
// per-cell trend report (the busiest cells, the fastest growing and declining ones).
//
// Cell boundaries come from keys sampled before the counting pass: for a seekable file, keys at
// random offsets over the whole file (a few thousand small reads); for a pipe, the first
// `key_sample` events, which are buffered and then replayed, so no event is counted twice or lost.
//
// A seekable file is counted on several threads: its data is cut into line-aligned ranges, each
// counted into a LoadMap and per-cell counts of its own, which are then merged in file order
// (LoadMap::merge). For a trace in time order, or disordered by less than the fine window, the
// result is identical whatever the thread count. Strict mode and pipes take one sequential pass.
//
// Cost: O(events × log cells) for the pass, then O(cells × buckets) for the trends, both spread
// over the threads; memory is up to one LoadMap per thread plus one counter per cell and thread.
// Deterministic for a given input and seed.

#include "key_cells.h"
#include "load_map.h"
#include "result.h"
#include "trace_reader.h"
#include "trend.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rangepilot {

struct AnalyzeOptions {
    std::size_t cells = 1024;
    LoadMapOptions load_map;
    std::size_t key_sample = 32768; // keys used to place the cell boundaries
    std::uint64_t seed = 1;
    std::size_t top = 10; // length of each ranked list in the report
    TrendOptions trend;   // steps_per_day is derived from the bucket width
    // Threads for the counting pass and the trends: 0 = one per core, at most 8 (and at most one
    // per 4 MiB of the file); 1 = a single sequential pass.
    std::size_t threads = 0;
};

inline constexpr std::size_t kMaxAnalyzeThreads = 64;

// Clear errors for bad settings, naming the option ("cells must be between 1 and 1048576").
Status validate(const AnalyzeOptions& options);

// A key range made of `cell_count` adjacent cells starting at `cell` (one cell in top_cells).
struct CellReport {
    CellIndex cell = 0;
    CellIndex cell_count = 1;
    KeyRange range;
    std::uint64_t events = 0; // over the whole trace, all tiers
    TrendResult trend;        // over the full-resolution window
};

struct TraceAnalysis {
    TraceReadSummary read;
    std::optional<LoadMap> load_map; // always set on success
    std::vector<std::uint64_t> cell_events;
    TrendResult total_trend;
    std::vector<CellReport> top_cells; // most events first
    // Growing (declining) key ranges: maximal runs of adjacent cells that all grow (decline),
    // with the trend of their summed load; steepest relative slope (fall) first.
    std::vector<CellReport> growing;
    std::vector<CellReport> declining;
    std::string cells_from; // how the boundaries were chosen, for the report
};

Result<TraceAnalysis> analyzeTrace(TraceReader& reader, const AnalyzeOptions& options,
                                   BadLineCallback onBadLine = {},
                                   ProgressCallback onProgress = {});

// Trend options matched to the map's bucket width (steps per day).
TrendOptions trendOptionsFor(const LoadMapOptions& loadMap, TrendOptions base);

// One series per cell (ops per bucket over the fine tier), all cells at once: faster than asking
// the LoadMap cell by cell because it walks each bucket row once.
std::vector<std::vector<double>> allCellSeries(const LoadMap& map, LoadMetric metric);
// The same for cells [firstCell, endCell) only (index 0 is firstCell's series).
std::vector<std::vector<double>> cellSeriesOf(const LoadMap& map, CellIndex firstCell,
                                              CellIndex endCell, LoadMetric metric);

} // namespace rangepilot
