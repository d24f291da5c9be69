#include "analysis.h"

#include <algorithm>
#include <numeric>

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

void rankCells(TraceAnalysis& analysis, const std::vector<CellReport>& cells, std::size_t top) {
    auto takeTop = [top](std::vector<CellReport> list, auto before) {
        const std::size_t keep = std::min(top, list.size());
        std::partial_sort(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(keep),
                          list.end(), before);
        list.resize(keep);
        return list;
    };
    analysis.top_cells = takeTop(cells, [](const CellReport& a, const CellReport& b) {
        return a.events != b.events ? a.events > b.events : a.cell < b.cell;
    });
    std::vector<CellReport> growing;
    std::vector<CellReport> declining;
    for (const CellReport& cell : cells) {
        if (cell.trend.direction == TrendDirection::Growing)
            growing.push_back(cell);
        else if (cell.trend.direction == TrendDirection::Declining)
            declining.push_back(cell);
    }
    analysis.growing = takeTop(std::move(growing), [](const CellReport& a, const CellReport& b) {
        return a.trend.relative_slope_per_day > b.trend.relative_slope_per_day;
    });
    analysis.declining =
        takeTop(std::move(declining), [](const CellReport& a, const CellReport& b) {
            return a.trend.relative_slope_per_day < b.trend.relative_slope_per_day;
        });
}

void reportTrends(TraceAnalysis& analysis, const AnalyzeOptions& options) {
    const LoadMap& map = *analysis.load_map;
    const TrendOptions trendOptions = trendOptionsFor(map.options(), options.trend);
    TrendWorkspace workspace;
    analysis.total_trend = analyzeTrend(map.totalSeries(LoadMetric::Ops), trendOptions, workspace);

    const std::vector<std::vector<double>> series = allCellSeries(map, LoadMetric::Ops);
    std::vector<CellReport> cells;
    for (CellIndex cell = 0; cell < map.cells().size(); ++cell) {
        if (analysis.cell_events[cell] == 0)
            continue;
        cells.push_back({cell, map.cells().range(cell), analysis.cell_events[cell],
                         analyzeTrend(series[cell], trendOptions, workspace)});
    }
    rankCells(analysis, cells, options.top);
}

} // namespace

Status validate(const AnalyzeOptions& options) {
    if (options.cells < 1 || options.cells > (1u << 20))
        return Error{"cells must be between 1 and 1048576"};
    if (options.key_sample < 1)
        return Error{"the key sample must hold at least 1 key"};
    return validate(options.load_map);
}

TrendOptions trendOptionsFor(const LoadMapOptions& loadMap, TrendOptions base) {
    base.steps_per_day = static_cast<int>(
        std::max<TimeMs>(1, (kMsPerDay + loadMap.bucket_ms / 2) / loadMap.bucket_ms));
    return base;
}

std::vector<std::vector<double>> allCellSeries(const LoadMap& map, LoadMetric metric) {
    std::vector<std::vector<double>> series(map.cells().size(),
                                            std::vector<double>(map.bucketCount(), 0.0));
    for (std::size_t bucket = 0; bucket < map.bucketCount(); ++bucket) {
        for (CellIndex cell = 0; cell < map.cells().size(); ++cell)
            series[cell][bucket] = metricValue(map.at(bucket, cell), metric);
    }
    return series;
}

Result<TraceAnalysis> analyzeTrace(TraceReader& reader, const AnalyzeOptions& options,
                                   BadLineCallback onBadLine, ProgressCallback onProgress) {
    if (const Status valid = validate(options); !valid.ok())
        return Error{valid.message()};

    TraceAnalysis analysis;
    Ingest ingest(options, analysis.load_map, analysis.cell_events);
    if (reader.seekable()) {
        auto sample = reader.sampleKeys(options.key_sample, options.seed);
        if (!sample.ok())
            return sample.error();
        analysis.cells_from =
            "quantiles of " + std::to_string(sample->size()) + " keys sampled across the file";
        ingest.start(KeyCells::fromSample(std::move(sample.value()), options.cells));
    } else {
        analysis.cells_from =
            "quantiles of the first " + std::to_string(options.key_sample) + " events' keys";
    }

    auto summary =
        reader.read([&](const TraceEvent& event) { ingest.add(event); }, onBadLine, onProgress);
    if (!summary.ok())
        return summary.error();
    ingest.flush();
    analysis.read = summary.value();
    reportTrends(analysis, options);
    return analysis;
}

} // namespace rangepilot
