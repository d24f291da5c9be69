#pragma once

// RecordedCellLoad: the actual load of every key cell over a whole trace, bucket by bucket, so
// that the oracle policy can be handed the true future as a CellProjection. It is the one place
// where the simulator knows what is still to come; only policies that ask for it (the oracle,
// labeled as an upper bound) ever see it.
//
// Amounts, not rates, are added: ops, network bytes, disk bytes and service microseconds of each
// event go into the bucket [start + k·step, start + (k+1)·step) holding its time. Memory is not
// recorded (data size is the simulator's per-cell byte count). project() turns amounts back into
// mean per-second rates over arbitrary steps, splitting a bucket that straddles a step boundary
// in proportion to the overlap, i.e. assuming load is spread evenly inside a bucket.
//
// Invariants: times before startMs are ignored (the caller attributes late events to a time it
// has reached); buckets are kept sparse, so a bucket no event touched takes no memory and a gap
// of days (or one bogus timestamp decades ahead) costs nothing. Projecting beyond the recorded
// end gives 0.
//
// Cost: 4 floats per cell per touched bucket (1,024 cells × 4 days of minutes ≈ 90 MB); float
// sums keep about 6 significant digits, plenty for load. add() is O(1) (a hash lookup when the
// bucket changes); project() is O(steps × buckets per step × cells).

#include "cluster_model.h"
#include "key_cells.h"
#include "time_ms.h"

#include <cstddef>
#include <span>
#include <unordered_map>
#include <vector>

namespace rangepilot {

class RecordedCellLoad {
public:
    // `buckets` is only a capacity hint: buckets are added on demand.
    RecordedCellLoad(std::size_t cells, TimeMs startMs, TimeMs stepMs, std::size_t buckets = 0);
    // Move-only: it is large, and a copy is never what is wanted.
    RecordedCellLoad(RecordedCellLoad&& other) noexcept;
    RecordedCellLoad& operator=(RecordedCellLoad&& other) noexcept;
    RecordedCellLoad(const RecordedCellLoad&) = delete;
    RecordedCellLoad& operator=(const RecordedCellLoad&) = delete;

    std::size_t cells() const { return m_cells; }
    TimeMs startMs() const { return m_startMs; }
    TimeMs stepMs() const { return m_stepMs; }
    // Buckets from the start up to the last one touched (untouched ones inside count).
    std::size_t buckets() const { return m_bucketCount; }
    // Exclusive end of the recorded buckets.
    TimeMs endMs() const { return m_startMs + static_cast<TimeMs>(m_bucketCount) * m_stepMs; }

    // Adds an event's amounts (ops, bytes, µs; Memory is ignored) to `cell` at time `ts`.
    // Ignored when ts < startMs or cell >= cells().
    void add(CellIndex cell, TimeMs ts, const ResourceVector& amount);

    // The recorded amount of `resource` in `cell` during bucket `bucket` (0 for Memory).
    double amount(CellIndex cell, std::size_t bucket, Resource resource) const;

    // Mean per-second rates over [now + k·stepMs, now + (k+1)·stepMs) for k < steps, buckets
    // that straddle a step counted by overlap. Data bytes per cell come from cellDataBytes (0 for
    // cells it does not cover). stepMs must be > 0.
    CellProjection project(TimeMs now, std::size_t steps, TimeMs stepMs,
                           std::span<const double> cellDataBytes) const;

private:
    static constexpr std::size_t kRecorded = 4; // ops, disk, network, service time
    static int slotOf(Resource resource);
    const std::vector<float>* row(std::size_t bucket) const;

    std::size_t m_cells;
    TimeMs m_startMs;
    TimeMs m_stepMs;
    std::size_t m_bucketCount = 0;
    // bucket → cells × kRecorded floats; absent while the bucket is empty.
    std::unordered_map<std::size_t, std::vector<float>> m_rows;
    // The row add() wrote last: events come in time order, so it is nearly always the next one.
    std::size_t m_lastBucket = 0;
    std::vector<float>* m_lastRow = nullptr;
};

} // namespace rangepilot
