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

bool hasLoad(const CellLoad* row, std::size_t width) {
    return std::any_of(row, row + width, [](const CellLoad& load) { return load.ops() != 0; });
}

std::uint64_t eventsIn(const CellLoad* row, std::size_t width) {
    std::uint64_t events = 0;
    for (std::size_t cell = 0; cell < width; ++cell)
        events += row[cell].ops();
    return events;
}

void addRow(CellLoad* target, const CellLoad* row, std::size_t width) {
    for (std::size_t cell = 0; cell < width; ++cell)
        target[cell].add(row[cell]);
}

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
    CellLoad* row = rowFor(bucketOf(ts));
    if (row == nullptr) {
        ++m_stats.late_dropped;
        return false;
    }
    CellLoad& load = row[cell];
    if (isWrite(op))
        ++load.writes;
    else
        ++load.reads;
    load.bytes += bytes;
    load.latency_us += latency_us;
    ++m_stats.events;
    return true;
}

bool LoadMap::addCounts(TimeMs ts, CellIndex cell, const CellLoad& counts) {
    if (counts.ops() == 0)
        return true; // nothing to count; an empty row must not extend the tier
    if (ts > kMaxAbsTimestampMs || ts < -kMaxAbsTimestampMs || cell >= m_cells.size()) {
        m_stats.out_of_range += counts.ops();
        return false;
    }
    CellLoad* row = rowFor(bucketOf(ts));
    if (row == nullptr) {
        m_stats.late_dropped += counts.ops();
        return false;
    }
    row[cell].add(counts);
    m_stats.events += counts.ops();
    return true;
}

// floorDiv(ts, bucket_ms), remembering the last bucket: consecutive events mostly share one, and
// a 64-bit division costs more than the rest of add().
std::int64_t LoadMap::bucketOf(TimeMs ts) {
    if (static_cast<std::uint64_t>(ts - m_lastBucketStart) <
        static_cast<std::uint64_t>(m_options.bucket_ms))
        return m_lastBucket;
    m_lastBucket = floorDiv(ts, m_options.bucket_ms);
    m_lastBucketStart = m_lastBucket * m_options.bucket_ms;
    return m_lastBucket;
}

// The row of `bucket`, moving the window when needed; nullptr when the bucket is older than the
// window. The common case, a bucket already in the tier, stays inline and branch-light.
CellLoad* LoadMap::rowFor(std::int64_t bucket) {
    const auto offset = static_cast<std::uint64_t>(bucket - m_first);
    if (offset < m_count) // also false for buckets before m_first (the difference wraps)
        return bucketRow(static_cast<std::size_t>(offset));
    return rowOutsideTheTier(bucket);
}

CellLoad* LoadMap::rowOutsideTheTier(std::int64_t bucket) {
    if (m_count == 0) {
        ensureSlots(1);
        m_head = 0;
        m_first = bucket;
        m_count = 1;
        clearRow(0);
    } else if (bucket >= m_first + static_cast<std::int64_t>(m_count)) {
        extendTo(bucket);
    } else {
        const std::int64_t newest = m_first + static_cast<std::int64_t>(m_count) - 1;
        if (newest - bucket >= static_cast<std::int64_t>(m_options.fine_buckets))
            return nullptr;
        prependTo(bucket);
    }
    return bucketRow(static_cast<std::size_t>(bucket - m_first));
}

// bucketOffset < m_count <= m_slots and m_head < m_slots: one wrap at most, no division.
CellLoad* LoadMap::bucketRow(std::size_t bucketOffset) {
    std::size_t slot = m_head + bucketOffset;
    if (slot >= m_slots)
        slot -= m_slots;
    return m_storage.data() + slot * m_cells.size();
}

const CellLoad* LoadMap::bucketRow(std::size_t bucketOffset) const {
    std::size_t slot = m_head + bucketOffset;
    if (slot >= m_slots)
        slot -= m_slots;
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

// `bucket` becomes the newest: what falls out of the window rolls up, and the tier starts again
// at its oldest row with load (possibly `bucket` itself, after a gap longer than the window).
void LoadMap::extendTo(std::int64_t bucket) {
    evictBefore(bucket - static_cast<std::int64_t>(m_options.fine_buckets) + 1);
    if (m_count == 0) {
        m_first = bucket;
        m_head = 0;
        m_count = 1;
        clearRow(0);
        return;
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

void LoadMap::dropOldest() {
    m_head = (m_head + 1) % m_slots;
    ++m_first;
    --m_count;
}

// Rolls up the rows before `bucket`, then drops empty rows at the front, so the tier starts with
// load (rows without load carry nothing to roll up).
void LoadMap::evictBefore(std::int64_t bucket) {
    const std::size_t width = m_cells.size();
    while (m_count > 0 && m_first < bucket) {
        const CellLoad* row = bucketRow(0);
        if (hasLoad(row, width))
            rollUp(m_first, row);
        dropOldest();
    }
    while (m_count > 0 && !hasLoad(bucketRow(0), width))
        dropOldest();
}

void LoadMap::rollUp(std::int64_t bucket, const CellLoad* row) {
    m_stats.rolled_up_events += eventsIn(row, m_cells.size());
    addToCoarse(floorDiv(bucket, static_cast<std::int64_t>(m_options.rollup_factor)), row);
}

// Adds a row with load to its coarse bucket, in any order: a newer bucket moves the coarse window
// (expiring what falls out of it), an older one inside the window is prepended, an older one
// outside it expires at once.
void LoadMap::addToCoarse(std::int64_t coarseBucket, const CellLoad* row) {
    const std::size_t width = m_cells.size();
    const auto window = static_cast<std::int64_t>(m_options.coarse_buckets);
    if (m_coarse.empty()) {
        m_coarseFirst = coarseBucket;
        m_coarse.emplace_back(row, row + width);
        return;
    }
    std::int64_t newest = m_coarseFirst + static_cast<std::int64_t>(m_coarse.size()) - 1;
    if (coarseBucket > newest) {
        expireCoarseBefore(coarseBucket - window + 1);
        if (m_coarse.empty()) {
            m_coarseFirst = coarseBucket;
            m_coarse.emplace_back(row, row + width);
            return;
        }
        for (; newest < coarseBucket; ++newest)
            m_coarse.emplace_back(width);
    } else if (coarseBucket < m_coarseFirst) {
        if (newest - coarseBucket >= window) {
            m_stats.expired_events += eventsIn(row, width);
            return;
        }
        for (; m_coarseFirst > coarseBucket; --m_coarseFirst)
            m_coarse.emplace_front(width);
    }
    addRow(m_coarse[static_cast<std::size_t>(coarseBucket - m_coarseFirst)].data(), row, width);
}

// Forgets the coarse rows before `coarseBucket`, then empty rows at the front.
void LoadMap::expireCoarseBefore(std::int64_t coarseBucket) {
    const std::size_t width = m_cells.size();
    while (!m_coarse.empty() && m_coarseFirst < coarseBucket) {
        m_stats.expired_events += eventsIn(m_coarse.front().data(), width);
        m_coarse.pop_front();
        ++m_coarseFirst;
    }
    while (!m_coarse.empty() && !hasLoad(m_coarse.front().data(), width)) {
        m_coarse.pop_front();
        ++m_coarseFirst;
    }
}

Status LoadMap::merge(const LoadMap& later) {
    if (&later == this)
        return Error{"cannot merge a load map into itself"};
    if (later.m_cells.starts() != m_cells.starts())
        return Error{"cannot merge load maps with different key cells"};
    if (!(later.m_options == m_options))
        return Error{"cannot merge load maps with different bucket or tier settings"};
    const std::size_t width = m_cells.size();
    m_stats.events += later.m_stats.events;
    m_stats.late_dropped += later.m_stats.late_dropped;
    m_stats.out_of_range += later.m_stats.out_of_range;
    m_stats.rolled_up_events += later.m_stats.rolled_up_events;
    m_stats.expired_events += later.m_stats.expired_events;

    // Fine rows oldest first, as their events would have arrived: each newer bucket moves the
    // window (rolling up what leaves it) exactly as add() does.
    for (std::size_t offset = 0; offset < later.m_count; ++offset) {
        const CellLoad* row = later.bucketRow(offset);
        if (!hasLoad(row, width))
            continue;
        CellLoad* target = rowFor(later.m_first + static_cast<std::int64_t>(offset));
        if (target == nullptr) {
            const std::uint64_t events = eventsIn(row, width);
            m_stats.late_dropped += events;
            m_stats.events -= events;
            continue;
        }
        addRow(target, row, width);
    }
    // Coarse rows are history already: they land in their coarse bucket or expire.
    for (std::size_t offset = 0; offset < later.m_coarse.size(); ++offset) {
        const CellLoad* row = later.m_coarse[offset].data();
        if (hasLoad(row, width))
            addToCoarse(later.m_coarseFirst + static_cast<std::int64_t>(offset), row);
    }
    return Status::success();
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
