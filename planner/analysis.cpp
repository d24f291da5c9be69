#include "analysis.h"

#include "concurrency.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <numeric>
#include <system_error>
#include <thread>

namespace rangepilot {

namespace {

// An event copied out of the reader's buffer, for the pipe case where events must wait for the
// cell boundaries.
struct BufferedEvent {
    TimeMs ts_ms;
    Key key;
    Op op;
    std::uint64_t bytes;
    std::uint64_t latency_us;
};

// Counts events into the map once it exists; buffers them until then (pipes only).
class Ingest {
public:
    Ingest(const AnalyzeOptions& options, std::optional<LoadMap>& map,
           std::vector<std::uint64_t>& cellEvents)
        : m_options(options)
        , m_map(map)
        , m_cellEvents(cellEvents) {}

    void add(const TraceEvent& event) {
        if (m_map) {
            count(event.ts_ms, m_map->cells().cellOf(event.key), event.op, event.bytes,
                  event.latency_us);
            return;
        }
        m_buffer.push_back({event.ts_ms, Key(event.key), event.op, event.bytes, event.latency_us});
        if (m_buffer.size() >= m_options.key_sample)
            flush();
    }

    // Builds the cells from the buffered keys (if not built yet) and counts the buffer.
    void flush() {
        if (m_map)
            return;
        std::vector<Key> sample;
        sample.reserve(m_buffer.size());
        for (const BufferedEvent& event : m_buffer)
            sample.push_back(event.key);
        start(KeyCells::fromSample(std::move(sample), m_options.cells));
        for (const BufferedEvent& event : m_buffer) {
            count(event.ts_ms, m_map->cells().cellOf(event.key), event.op, event.bytes,
                  event.latency_us);
        }
        m_buffer.clear();
        m_buffer.shrink_to_fit();
    }

    void start(KeyCells cells) {
        m_cellEvents.assign(cells.size(), 0);
        m_map.emplace(std::move(cells), m_options.load_map);
    }

private:
    void count(TimeMs ts, CellIndex cell, Op op, std::uint64_t bytes, std::uint64_t latency) {
        ++m_cellEvents[cell];
        m_map->add(ts, cell, op, bytes, latency);
    }

    const AnalyzeOptions& m_options;
    std::optional<LoadMap>& m_map;
    std::vector<std::uint64_t>& m_cellEvents;
    std::vector<BufferedEvent> m_buffer;
};

// The events of one range of the file, counted apart from the others' until the merge.
struct alignas(64) RangeCount {
    RangeCount(const KeyCells& cells, const LoadMapOptions& options)
        : map(cells, options)
        , cellEvents(cells.size(), 0) {}

    void add(const TraceEvent& event) {
        const CellIndex cell = map.cells().cellOf(event.key);
        ++cellEvents[cell];
        map.add(event.ts_ms, cell, event.op, event.bytes, event.latency_us);
    }

    LoadMap map;
    std::vector<std::uint64_t> cellEvents;
};

std::size_t threadsFor(const AnalyzeOptions& options, const TraceReader& reader) {
    if (options.threads != 0)
        return options.threads;
    constexpr std::size_t kMaxAutoThreads = 8;
    constexpr std::uint64_t kMinBytesPerThread = 4u << 20; // less is not worth a thread
    const std::size_t cores =
        std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, kMaxAutoThreads);
    return static_cast<std::size_t>(std::clamp<std::uint64_t>(
        reader.sizeBytes() / kMinBytesPerThread, 1, static_cast<std::uint64_t>(cores)));
}

// Counts a seekable file, its ranges on `threads` threads, and merges the counts in file order.
Result<TraceReadSummary> countInRanges(TraceReader& reader, KeyCells cells,
                                       const AnalyzeOptions& options, std::size_t threads,
                                       TraceAnalysis& analysis, BadLineCallback onBadLine,
                                       ProgressCallback onProgress) {
    // Each on its own cache lines: the threads write to theirs for every event.
    std::vector<std::unique_ptr<RangeCount>> ranges;
    for (std::size_t i = 0; i < threads; ++i)
        ranges.push_back(std::make_unique<RangeCount>(cells, options.load_map));
    auto summary = reader.readParallel(
        threads, [&](std::size_t range, const TraceEvent& event) { ranges[range]->add(event); },
        onBadLine, onProgress);
    if (!summary.ok())
        return summary;
    analysis.load_map.emplace(std::move(ranges.front()->map));
    analysis.cell_events = std::move(ranges.front()->cellEvents);
    for (std::size_t i = 1; i < ranges.size(); ++i) {
        if (const Status merged = analysis.load_map->merge(ranges[i]->map); !merged.ok())
            return Error{merged.message()};
        for (std::size_t cell = 0; cell < analysis.cell_events.size(); ++cell)
            analysis.cell_events[cell] += ranges[i]->cellEvents[cell];
        ranges[i].reset(); // its memory is no longer needed
    }
    return summary;
}

template <typename Before>
std::vector<CellReport> takeTop(std::vector<CellReport> list, std::size_t top, Before before) {
    const std::size_t keep = std::min(top, list.size());
    std::partial_sort(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(keep), list.end(),
                      before);
    list.resize(keep);
    return list;
}

// Joins adjacent cells that trend the same way into one range, so a growing region shows up
// once with its combined trend instead of as a dozen neighbouring cells.
std::vector<CellReport> trendingRanges(const TraceAnalysis& analysis,
                                       const std::vector<std::optional<CellReport>>& cells,
                                       TrendDirection direction, const TrendOptions& trendOptions) {
    const LoadMap& map = *analysis.load_map;
    std::vector<CellReport> ranges;
    TrendWorkspace workspace;
    auto trendsThisWay = [&](std::size_t cell) {
        return cell < cells.size() && cells[cell] && cells[cell]->trend.direction == direction;
    };
    for (std::size_t first = 0; first < cells.size();) {
        if (!trendsThisWay(first)) {
            ++first;
            continue;
        }
        std::size_t end = first + 1;
        while (trendsThisWay(end))
            ++end;
        CellReport range = *cells[first];
        if (end - first > 1) {
            range.cell_count = static_cast<CellIndex>(end - first);
            range.range.end = cells[end - 1]->range.end;
            for (std::size_t cell = first + 1; cell < end; ++cell)
                range.events += cells[cell]->events;
            range.trend = analyzeTrend(map.series(static_cast<CellIndex>(first),
                                                  static_cast<CellIndex>(end), LoadMetric::Ops),
                                       trendOptions, workspace);
        }
        ranges.push_back(std::move(range));
        first = end;
    }
    return ranges;
}

void rankCells(TraceAnalysis& analysis, const std::vector<std::optional<CellReport>>& reports,
               std::size_t top, const TrendOptions& trendOptions) {
    std::vector<CellReport> cells;
    for (const std::optional<CellReport>& report : reports) {
        if (report)
            cells.push_back(*report);
    }
    analysis.top_cells =
        takeTop(std::move(cells), top, [](const CellReport& a, const CellReport& b) {
            return a.events != b.events ? a.events > b.events : a.cell < b.cell;
        });
    analysis.growing =
        takeTop(trendingRanges(analysis, reports, TrendDirection::Growing, trendOptions), top,
                [](const CellReport& a, const CellReport& b) {
                    return a.trend.relative_slope_per_day > b.trend.relative_slope_per_day;
                });
    analysis.declining =
        takeTop(trendingRanges(analysis, reports, TrendDirection::Declining, trendOptions), top,
                [](const CellReport& a, const CellReport& b) {
                    return a.trend.relative_slope_per_day < b.trend.relative_slope_per_day;
                });
}

// The trend of every cell with events, the cells split into `threads` contiguous slices: each
// thread builds and analyses the series of its slice, so the result does not depend on threads.
void reportTrends(TraceAnalysis& analysis, const AnalyzeOptions& options, std::size_t threads) {
    const LoadMap& map = *analysis.load_map;
    const TrendOptions trendOptions = trendOptionsFor(map.options(), options.trend);
    const auto cellCount = static_cast<CellIndex>(map.cells().size());
    threads = std::clamp<std::size_t>(threads, 1, cellCount);

    std::vector<std::optional<CellReport>> reports(cellCount);
    runConcurrently(threads, [&](std::size_t slice) {
        const auto first = static_cast<CellIndex>(cellCount * slice / threads);
        const auto end = static_cast<CellIndex>(cellCount * (slice + 1) / threads);
        const std::vector<std::vector<double>> series =
            cellSeriesOf(map, first, end, LoadMetric::Ops);
        TrendWorkspace workspace;
        for (CellIndex cell = first; cell < end; ++cell) {
            if (analysis.cell_events[cell] == 0)
                continue;
            reports[cell] = CellReport{cell, 1, map.cells().range(cell), analysis.cell_events[cell],
                                       analyzeTrend(series[cell - first], trendOptions, workspace)};
        }
    });
    TrendWorkspace workspace;
    analysis.total_trend = analyzeTrend(map.totalSeries(LoadMetric::Ops), trendOptions, workspace);

    rankCells(analysis, reports, options.top, trendOptions);
}

} // namespace

Status validate(const AnalyzeOptions& options) {
    if (options.cells < 1 || options.cells > (1u << 20))
        return Error{"cells must be between 1 and 1048576"};
    if (options.key_sample < 1)
        return Error{"the key sample must hold at least 1 key"};
    if (options.threads > kMaxAnalyzeThreads)
        return Error{"threads must be between 0 (one per core) and " +
                     std::to_string(kMaxAnalyzeThreads)};
    return validate(options.load_map);
}

TrendOptions trendOptionsFor(const LoadMapOptions& loadMap, TrendOptions base) {
    base.steps_per_day = static_cast<int>(
        std::max<TimeMs>(1, (kMsPerDay + loadMap.bucket_ms / 2) / loadMap.bucket_ms));
    return base;
}

std::vector<std::vector<double>> cellSeriesOf(const LoadMap& map, CellIndex firstCell,
                                              CellIndex endCell, LoadMetric metric) {
    endCell = std::min(endCell, static_cast<CellIndex>(map.cells().size()));
    firstCell = std::min(firstCell, endCell);
    std::vector<std::vector<double>> series(endCell - firstCell,
                                            std::vector<double>(map.bucketCount(), 0.0));
    for (std::size_t bucket = 0; bucket < map.bucketCount(); ++bucket) {
        for (CellIndex cell = firstCell; cell < endCell; ++cell)
            series[cell - firstCell][bucket] = metricValue(map.at(bucket, cell), metric);
    }
    return series;
}

std::vector<std::vector<double>> allCellSeries(const LoadMap& map, LoadMetric metric) {
    return cellSeriesOf(map, 0, static_cast<CellIndex>(map.cells().size()), metric);
}

Result<TraceAnalysis> analyzeTrace(TraceReader& reader, const AnalyzeOptions& options,
                                   BadLineCallback onBadLine, ProgressCallback onProgress) {
    if (const Status valid = validate(options); !valid.ok())
        return Error{valid.message()};

    TraceAnalysis analysis;
    const std::size_t threads = threadsFor(options, reader);
    if (reader.seekable()) {
        auto sample = reader.sampleKeys(options.key_sample, options.seed);
        if (!sample.ok())
            return sample.error();
        analysis.cells_from =
            "quantiles of " + std::to_string(sample->size()) + " keys sampled across the file";
        // Strict mode reads sequentially (the first bad line must end the read).
        const std::size_t countingThreads = reader.options().strict ? 1 : threads;
        auto summary =
            countInRanges(reader, KeyCells::fromSample(std::move(sample.value()), options.cells),
                          options, countingThreads, analysis, onBadLine, onProgress);
        if (!summary.ok())
            return summary.error();
        analysis.read = summary.value();
    } else {
        analysis.cells_from =
            "quantiles of the first " + std::to_string(options.key_sample) + " events' keys";
        Ingest ingest(options, analysis.load_map, analysis.cell_events);
        auto summary =
            reader.read([&](const TraceEvent& event) { ingest.add(event); }, onBadLine, onProgress);
        if (!summary.ok())
            return summary.error();
        ingest.flush();
        analysis.read = summary.value();
    }
    reportTrends(analysis, options, threads);
    return analysis;
}

} // namespace rangepilot
