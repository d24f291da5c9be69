#pragma once

// LoadMap: query load counted per (time bucket, key cell): reads, writes, bytes and summed latency.
// It is the Query Pattern Analyzer's store, from which heatmaps, trends and forecasts are read.
//
// Two tiers keep memory bounded on unbounded streams:
//  - the fine tier holds the most recent `fine_buckets` buckets at full resolution (default 8 days
//    of 5-minute buckets), in a ring that grows on demand up to that size;
//  - a bucket that leaves the fine tier is rolled up into the coarse tier (default 1-hour buckets,
//    `coarse_buckets` of them), whose oldest buckets expire.
// An event is counted wherever it falls inside the fine window, even if it arrives out of order; an
// event older than the fine window is counted as dropped (stats().late_dropped), never misplaced.
// Scans count as reads in the cell of their start key.
//
// Invariants: the fine window ends at the newest bucket counted, N, and reaches back at most to
// N - fine_buckets + 1; the fine tier runs from the oldest bucket with load inside that window to N
// (so its first and last rows always hold load). The coarse tier likewise runs from its oldest
// bucket with load to its newest, at most coarse_buckets. So the map depends only on which events
// it counted, not on their order, and two maps built from consecutive parts of a stream merge()
// into exactly the map of the whole stream.
//
// Cost: add() is O(1) with no allocation except when the ring grows or a bucket rolls up; memory
// is at most (fine_buckets + coarse_buckets) × cells × 32 bytes.

#include "key_cells.h"
#include "result.h"
#include "time_ms.h"
#include "trace_event.h"

#include <cstdint>
#include <deque>
#include <string_view>
#include <vector>

namespace rangepilot {

struct CellLoad {
    std::uint64_t reads = 0;  // gets and scans
    std::uint64_t writes = 0; // puts and deletes
    std::uint64_t bytes = 0;
    std::uint64_t latency_us = 0; // summed over the events

    std::uint64_t ops() const { return reads + writes; }
    void add(const CellLoad& other) {
        reads += other.reads;
        writes += other.writes;
        bytes += other.bytes;
        latency_us += other.latency_us;
    }
    bool operator==(const CellLoad&) const = default;
};

enum class LoadMetric { Ops, Reads, Writes, Bytes, MeanLatencyUs };

std::string_view metricName(LoadMetric metric); // "ops", "reads", "writes", "bytes", "latency"
std::optional<LoadMetric> parseMetricName(std::string_view name);

// The metric's value for an aggregate; mean latency is the latency sum over ops (0 without ops).
double metricValue(const CellLoad& load, LoadMetric metric);

struct LoadMapOptions {
    TimeMs bucket_ms = 5 * kMsPerMinute;
    std::size_t fine_buckets = 8 * 288;   // full-resolution window
    std::size_t rollup_factor = 12;       // fine buckets per coarse bucket
    std::size_t coarse_buckets = 90 * 24; // coarse history kept
    bool operator==(const LoadMapOptions&) const = default;
};

// Clear errors for nonsensical settings ("bucket width must be at least 1 ms", ...).
Status validate(const LoadMapOptions& options);

// Every event counted (`events`) is, at any time, in the fine tier, in the coarse tier
// (rolled_up_events - expired_events of them) or forgotten (expired_events).
struct LoadMapStats {
    std::uint64_t events = 0;           // counted (into the fine tier)
    std::uint64_t late_dropped = 0;     // older than the fine window when they arrived
    std::uint64_t out_of_range = 0;     // timestamps beyond ±2^61 ms or no such cell: not counted
    std::uint64_t rolled_up_events = 0; // counted events whose bucket moved into the coarse tier
    std::uint64_t expired_events = 0;   // ... and whose coarse bucket has since been forgotten
    bool operator==(const LoadMapStats&) const = default;
};

class LoadMap {
public:
    // `options` must pass validate().
    LoadMap(KeyCells cells, LoadMapOptions options = {});

    const KeyCells& cells() const { return m_cells; }
    const LoadMapOptions& options() const { return m_options; }
    const LoadMapStats& stats() const { return m_stats; }

    // Timestamps beyond this magnitude (about 73 million years) are refused, so bucket arithmetic
    // can never overflow.
    static constexpr TimeMs kMaxAbsTimestampMs = TimeMs(1) << 61;

    // Counts one event; false when it was older than the fine window (counted as dropped) or its
    // timestamp is out of range.
    bool add(const TraceEvent& event);
    bool add(TimeMs ts, CellIndex cell, Op op, std::uint64_t bytes, std::uint64_t latency_us);
    // Counts an aggregate (a connector's per-cell counts for a step) as counts.ops() events at
    // `ts`, as that many add() calls with the same time would. Zero ops count nothing.
    bool addCounts(TimeMs ts, CellIndex cell, const CellLoad& counts);

    // Folds in `later`, a map with the same cells and options built from the events that follow
    // this map's in a stream: the result is the map one add() pass over both streams in order
    // would have built, whenever that pass drops no event that the two maps counted, i.e. when no
    // event of `later` is older than this map's newest bucket minus the fine window (true for
    // streams in time order or disordered by less than the window). Otherwise a fine row of
    // `later` older than the merged window is dropped as late (as add() would drop its events), and
    // its coarse rows still land in their coarse buckets or expire. Stats add up. Errors when the
    // cells or options differ (the map is then unchanged). Cost: O(rows × cells) of both maps.
    Status merge(const LoadMap& later);

    // The fine tier: buckets firstBucket() .. firstBucket() + bucketCount() - 1, where a bucket
    // number is floorDiv(ts, bucket_ms).
    bool empty() const { return m_count == 0; }
    std::int64_t firstBucket() const { return m_first; }
    std::size_t bucketCount() const { return m_count; }
    TimeMs bucketStartMs(std::int64_t bucket) const { return bucket * m_options.bucket_ms; }
    const CellLoad& at(std::size_t bucketOffset, CellIndex cell) const;

    // Per-bucket values of a metric over the fine tier, summed over cells [firstCell, endCell).
    std::vector<double> series(CellIndex firstCell, CellIndex endCell, LoadMetric metric) const;
    std::vector<double> cellSeries(CellIndex cell, LoadMetric metric) const;
    std::vector<double> totalSeries(LoadMetric metric) const;
    // Everything a cell saw in the fine tier.
    CellLoad cellTotal(CellIndex cell) const;

    // The coarse tier, bucket numbers in units of bucket_ms × rollup_factor.
    std::int64_t firstCoarseBucket() const { return m_coarseFirst; }
    std::size_t coarseBucketCount() const { return m_coarse.size(); }
    const CellLoad& coarseAt(std::size_t bucketOffset, CellIndex cell) const;

private:
    CellLoad* bucketRow(std::size_t bucketOffset);
    const CellLoad* bucketRow(std::size_t bucketOffset) const;
    std::int64_t bucketOf(TimeMs ts);
    CellLoad* rowFor(std::int64_t bucket);
    CellLoad* rowOutsideTheTier(std::int64_t bucket);
    void clearRow(std::size_t bucketOffset);
    void ensureSlots(std::size_t slots);
    void extendTo(std::int64_t bucket);
    void prependTo(std::int64_t bucket);
    void dropOldest();
    void evictBefore(std::int64_t bucket);
    void rollUp(std::int64_t bucket, const CellLoad* row);
    void addToCoarse(std::int64_t coarseBucket, const CellLoad* row);
    void expireCoarseBefore(std::int64_t coarseBucket);

    KeyCells m_cells;
    LoadMapOptions m_options;
    LoadMapStats m_stats;
    std::int64_t m_lastBucket = 0; // bucketOf()'s last answer, which starts at m_lastBucketStart
    TimeMs m_lastBucketStart = 0;

    // Fine tier: a ring of m_slots rows of m_cells.size() counters each.
    std::vector<CellLoad> m_storage;
    std::size_t m_slots = 0;
    std::size_t m_head = 0; // slot of the oldest bucket
    std::size_t m_count = 0;
    std::int64_t m_first = 0;

    // Coarse tier: one row per coarse bucket, oldest first.
    std::deque<std::vector<CellLoad>> m_coarse;
    std::int64_t m_coarseFirst = 0;
};

} // namespace rangepilot
