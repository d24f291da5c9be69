#include "load_map.h"

#include <algorithm>
#include <array>
#include <utility>

namespace rangepilot {

namespace {

constexpr std::array<std::pair<std::string_view, LoadMetric>, 5> kMetricNames{{
    {"ops", LoadMetric::Ops},
    {"reads", LoadMetric::Reads},
    {"writes", LoadMetric::Writes},
    {"bytes", LoadMetric::Bytes},
    {"latency", LoadMetric::MeanLatencyUs},
}};

} // namespace

std::string_view metricName(LoadMetric metric) {
    for (const auto& [name, value] : kMetricNames) {
        if (value == metric)
            return name;
    }
    return "ops";
}

std::optional<LoadMetric> parseMetricName(std::string_view name) {
    for (const auto& [candidate, value] : kMetricNames) {
        if (candidate == name)
            return value;
    }
    return std::nullopt;
}

double metricValue(const CellLoad& load, LoadMetric metric) {
    switch (metric) {
    case LoadMetric::Ops:
        return static_cast<double>(load.ops());
    case LoadMetric::Reads:
        return static_cast<double>(load.reads);
    case LoadMetric::Writes:
        return static_cast<double>(load.writes);
    case LoadMetric::Bytes:
        return static_cast<double>(load.bytes);
    case LoadMetric::MeanLatencyUs:
        return load.ops() == 0
                   ? 0.0
                   : static_cast<double>(load.latency_us) / static_cast<double>(load.ops());
    }
    return 0.0;
}

Status validate(const LoadMapOptions& options) {
    if (options.bucket_ms < 1)
        return Error{"bucket width must be at least 1 ms"};
    if (options.fine_buckets < 1)
        return Error{"the full-resolution window must hold at least 1 bucket"};
    if (options.rollup_factor < 1)
        return Error{"the roll-up factor must be at least 1"};
    if (options.coarse_buckets < 1)
        return Error{"the coarse history must hold at least 1 bucket"};
    return Status::success();
}

LoadMap::LoadMap(KeyCells cells, LoadMapOptions options)
    : m_cells(std::move(cells))
    , m_options(options) {}

bool LoadMap::add(const TraceEvent& event) {
    return add(event.ts_ms, m_cells.cellOf(event.key), event.op, event.bytes, event.latency_us);
}

bool LoadMap::add(TimeMs ts, CellIndex cell, Op op, std::uint64_t bytes, std::uint64_t latency_us) {
    if (ts > kMaxAbsTimestampMs || ts < -kMaxAbsTimestampMs || cell >= m_cells.size()) {
        ++m_stats.out_of_range;
        return false;
    }
    const std::int64_t bucket = floorDiv(ts, m_options.bucket_ms);
    if (m_count == 0) {
        ensureSlots(1);
        m_head = 0;
        m_first = bucket;
        m_count = 1;
        clearRow(0);
    } else if (bucket >= m_first + static_cast<std::int64_t>(m_count)) {
        extendTo(bucket);
    } else if (bucket < m_first) {
        const std::int64_t newest = m_first + static_cast<std::int64_t>(m_count) - 1;
        if (newest - bucket >= static_cast<std::int64_t>(m_options.fine_buckets)) {
            ++m_stats.late_dropped;
            return false;
        }
        prependTo(bucket);
    }
    CellLoad& load = bucketRow(static_cast<std::size_t>(bucket - m_first))[cell];
    if (isWrite(op))
        ++load.writes;
    else
        ++load.reads;
    load.bytes += bytes;
    load.latency_us += latency_us;
    ++m_stats.events;
    return true;
}

CellLoad* LoadMap::bucketRow(std::size_t bucketOffset) {
    const std::size_t slot = (m_head + bucketOffset) % m_slots;
    return m_storage.data() + slot * m_cells.size();
}

const CellLoad* LoadMap::bucketRow(std::size_t bucketOffset) const {
    const std::size_t slot = (m_head + bucketOffset) % m_slots;
    return m_storage.data() + slot * m_cells.size();
}

void LoadMap::clearRow(std::size_t bucketOffset) {
    CellLoad* row = bucketRow(bucketOffset);
    std::fill(row, row + m_cells.size(), CellLoad{});
}

// Grows the ring to hold at least `slots` buckets (at most fine_buckets), doubling to keep the
// cost amortised, and lays the buckets out oldest-first again.
void LoadMap::ensureSlots(std::size_t slots) {
    if (slots <= m_slots)
        return;
    const std::size_t newSlots = std::min(m_options.fine_buckets, std::max(slots, m_slots * 2));
    const std::size_t width = m_cells.size();
    std::vector<CellLoad> storage(newSlots * width);
    for (std::size_t offset = 0; offset < m_count; ++offset) {
        const CellLoad* row = bucketRow(offset);
        std::copy(row, row + width, storage.begin() + static_cast<std::ptrdiff_t>(offset * width));
    }
    m_storage = std::move(storage);
    m_slots = newSlots;
    m_head = 0;
}

void LoadMap::extendTo(std::int64_t bucket) {
    const auto needed = static_cast<std::uint64_t>(bucket - m_first) + 1;
    const std::size_t capacity = m_options.fine_buckets;
    if (needed > capacity) {
        const std::uint64_t excess = needed - capacity;
        if (excess >= m_count) {
            // The new bucket is so far ahead that nothing of the window survives.
            evictOldest(m_count);
            m_first = bucket;
            m_head = 0;
            m_count = 1;
            clearRow(0);
            return;
        }
        evictOldest(static_cast<std::size_t>(excess));
    }
    const auto count = static_cast<std::size_t>(bucket - m_first) + 1;
    ensureSlots(count);
    for (std::size_t offset = m_count; offset < count; ++offset)
        clearRow(offset);
    m_count = count;
}

void LoadMap::prependTo(std::int64_t bucket) {
    const auto added = static_cast<std::size_t>(m_first - bucket);
    ensureSlots(m_count + added);
    m_head = (m_head + m_slots - added % m_slots) % m_slots;
    m_first = bucket;
    m_count += added;
    for (std::size_t offset = 0; offset < added; ++offset)
        clearRow(offset);
}

void LoadMap::evictOldest(std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
        rollUp(m_first, bucketRow(0));
        m_head = (m_head + 1) % m_slots;
        ++m_first;
        --m_count;
        ++m_stats.rolled_up_buckets;
    }
}

void LoadMap::rollUp(std::int64_t bucket, const CellLoad* row) {
    const std::int64_t coarse =
        floorDiv(bucket, static_cast<std::int64_t>(m_options.rollup_factor));
    const std::size_t width = m_cells.size();
    const std::int64_t coarseEnd = m_coarseFirst + static_cast<std::int64_t>(m_coarse.size());
    if (m_coarse.empty() ||
        coarse - coarseEnd >= static_cast<std::int64_t>(m_options.coarse_buckets)) {
        m_stats.expired_coarse_buckets += m_coarse.size();
        m_coarse.clear();
        m_coarseFirst = coarse;
    }
    while (m_coarseFirst + static_cast<std::int64_t>(m_coarse.size()) <= coarse)
        m_coarse.emplace_back(width);
    while (m_coarse.size() > m_options.coarse_buckets) {
        m_coarse.pop_front();
        ++m_coarseFirst;
        ++m_stats.expired_coarse_buckets;
    }
    std::vector<CellLoad>& target = m_coarse[static_cast<std::size_t>(coarse - m_coarseFirst)];
    for (std::size_t cell = 0; cell < width; ++cell)
        target[cell].add(row[cell]);
}

const CellLoad& LoadMap::at(std::size_t bucketOffset, CellIndex cell) const {
    return bucketRow(bucketOffset)[cell];
}

std::vector<double> LoadMap::series(CellIndex firstCell, CellIndex endCell,
                                    LoadMetric metric) const {
    std::vector<double> values(m_count, 0.0);
    endCell = std::min<CellIndex>(endCell, static_cast<CellIndex>(m_cells.size()));
    for (std::size_t offset = 0; offset < m_count; ++offset) {
        const CellLoad* row = bucketRow(offset);
        CellLoad sum;
        for (CellIndex cell = firstCell; cell < endCell; ++cell)
            sum.add(row[cell]);
        values[offset] = metricValue(sum, metric);
    }
    return values;
}

std::vector<double> LoadMap::cellSeries(CellIndex cell, LoadMetric metric) const {
    return series(cell, cell + 1, metric);
}

std::vector<double> LoadMap::totalSeries(LoadMetric metric) const {
    return series(0, static_cast<CellIndex>(m_cells.size()), metric);
}

CellLoad LoadMap::cellTotal(CellIndex cell) const {
    CellLoad total;
    for (std::size_t offset = 0; offset < m_count; ++offset)
        total.add(bucketRow(offset)[cell]);
    return total;
}

const CellLoad& LoadMap::coarseAt(std::size_t bucketOffset, CellIndex cell) const {
    return m_coarse[bucketOffset][cell];
}

} // namespace rangepilot
