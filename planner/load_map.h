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
// Cost: add() is O(1) with no allocation except when the ring grows; memory is at most
// (fine_buckets + coarse_buckets) × cells × 32 bytes.

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
};

// Clear errors for nonsensical settings ("bucket width must be at least 1 ms", ...).
Status validate(const LoadMapOptions& options);

struct LoadMapStats {
    std::uint64_t events = 0;                 // counted in the fine tier
    std::uint64_t late_dropped = 0;           // older than the fine window when they arrived
    std::uint64_t out_of_range = 0;           // timestamps beyond ±2^61 ms, never bucketed
    std::uint64_t rolled_up_buckets = 0;      // fine buckets moved into the coarse tier
    std::uint64_t expired_coarse_buckets = 0; // coarse buckets forgotten
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
    void clearRow(std::size_t bucketOffset);
    void ensureSlots(std::size_t slots);
    void extendTo(std::int64_t bucket);
    void prependTo(std::int64_t bucket);
    void evictOldest(std::size_t count);
    void rollUp(std::int64_t bucket, const CellLoad* row);

    KeyCells m_cells;
    LoadMapOptions m_options;
    LoadMapStats m_stats;

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
