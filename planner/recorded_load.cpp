#include "recorded_load.h"

#include <algorithm>

namespace rangepilot {

namespace {

constexpr Resource kRecordedResources[] = {Resource::Ops, Resource::DiskBytes,
                                           Resource::NetworkBytes, Resource::ServiceTime};

} // namespace

RecordedCellLoad::RecordedCellLoad(std::size_t cells, TimeMs startMs, TimeMs stepMs,
                                   std::size_t buckets)
    : m_cells(cells)
    , m_startMs(startMs)
    , m_stepMs(std::max<TimeMs>(stepMs, 1)) {
    m_rows.reserve(std::min<std::size_t>(buckets, 1u << 20));
}

RecordedCellLoad::RecordedCellLoad(RecordedCellLoad&& other) noexcept
    : m_cells(other.m_cells)
    , m_startMs(other.m_startMs)
    , m_stepMs(other.m_stepMs)
    , m_bucketCount(other.m_bucketCount)
    , m_rows(std::move(other.m_rows)) {
    other.m_lastRow = nullptr; // the rows (and the cached one) are ours now
    other.m_bucketCount = 0;
}

RecordedCellLoad& RecordedCellLoad::operator=(RecordedCellLoad&& other) noexcept {
    m_cells = other.m_cells;
    m_startMs = other.m_startMs;
    m_stepMs = other.m_stepMs;
    m_bucketCount = other.m_bucketCount;
    m_rows = std::move(other.m_rows);
    m_lastRow = nullptr;
    other.m_lastRow = nullptr;
    other.m_rows.clear();
    other.m_bucketCount = 0;
    return *this;
}

int RecordedCellLoad::slotOf(Resource resource) {
    switch (resource) {
    case Resource::Ops:
        return 0;
    case Resource::DiskBytes:
        return 1;
    case Resource::NetworkBytes:
        return 2;
    case Resource::ServiceTime:
        return 3;
    case Resource::Memory:
        break;
    }
    return -1;
}

const std::vector<float>* RecordedCellLoad::row(std::size_t bucket) const {
    const auto it = m_rows.find(bucket);
    return it == m_rows.end() ? nullptr : &it->second;
}

void RecordedCellLoad::add(CellIndex cell, TimeMs ts, const ResourceVector& amount) {
    if (ts < m_startMs || cell >= m_cells)
        return;
    const auto bucket = static_cast<std::size_t>((ts - m_startMs) / m_stepMs);
    if (!m_lastRow || bucket != m_lastBucket) {
        std::vector<float>& row = m_rows[bucket]; // references stay valid on rehash
        if (row.empty())
            row.assign(m_cells * kRecorded, 0.0f);
        m_lastRow = &row;
        m_lastBucket = bucket;
        m_bucketCount = std::max(m_bucketCount, bucket + 1);
    }
    float* values = m_lastRow->data() + static_cast<std::size_t>(cell) * kRecorded;
    for (std::size_t slot = 0; slot < kRecorded; ++slot)
        values[slot] += static_cast<float>(amount[kRecordedResources[slot]]);
}

double RecordedCellLoad::amount(CellIndex cell, std::size_t bucket, Resource resource) const {
    const int slot = slotOf(resource);
    const std::vector<float>* values = row(bucket);
    if (slot < 0 || cell >= m_cells || !values)
        return 0.0;
    return (*values)[static_cast<std::size_t>(cell) * kRecorded + static_cast<std::size_t>(slot)];
}

CellProjection RecordedCellLoad::project(TimeMs now, std::size_t steps, TimeMs stepMs,
                                         std::span<const double> cellDataBytes) const {
    stepMs = std::max<TimeMs>(stepMs, 1);
    CellProjection projection(m_cells, steps, now, stepMs);
    for (std::size_t cell = 0; cell < m_cells && cell < cellDataBytes.size(); ++cell)
        projection.setDataBytes(static_cast<CellIndex>(cell), cellDataBytes[cell]);

    std::vector<double> sums(m_cells * kRecorded);
    for (std::size_t step = 0; step < steps; ++step) {
        const TimeMs from = now + static_cast<TimeMs>(step) * stepMs;
        const TimeMs to = from + stepMs;
        std::fill(sums.begin(), sums.end(), 0.0);
        // Buckets that overlap [from, to); the part of each inside the step counts.
        const TimeMs firstBucket = std::max<TimeMs>(0, floorDiv(from - m_startMs, m_stepMs));
        const TimeMs endBucket = std::min<TimeMs>(static_cast<TimeMs>(m_bucketCount),
                                                  floorDiv(to - 1 - m_startMs, m_stepMs) + 1);
        for (TimeMs bucket = firstBucket; bucket < endBucket; ++bucket) {
            const std::vector<float>* values = row(static_cast<std::size_t>(bucket));
            if (!values)
                continue;
            const TimeMs bucketStart = m_startMs + bucket * m_stepMs;
            const TimeMs overlap =
                std::min(to, bucketStart + m_stepMs) - std::max(from, bucketStart);
            const double share = static_cast<double>(overlap) / static_cast<double>(m_stepMs);
            for (std::size_t i = 0; i < sums.size(); ++i)
                sums[i] += share * static_cast<double>((*values)[i]);
        }
        const double seconds = static_cast<double>(stepMs) / kMsPerSecond;
        for (std::size_t cell = 0; cell < m_cells; ++cell) {
            for (std::size_t slot = 0; slot < kRecorded; ++slot) {
                projection.setRate(static_cast<CellIndex>(cell), step, kRecordedResources[slot],
                                   sums[cell * kRecorded + slot] / seconds);
            }
        }
    }
    return projection;
}

} // namespace rangepilot
