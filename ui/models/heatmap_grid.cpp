#include "heatmap_grid.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rangepilot {

std::optional<Resource> projectedResource(LoadMetric metric) {
    switch (metric) {
    case LoadMetric::Ops:
        return Resource::Ops;
    case LoadMetric::Bytes:
        return Resource::NetworkBytes;
    case LoadMetric::Reads:
    case LoadMetric::Writes:
    case LoadMetric::MeanLatencyUs:
        break;
    }
    return std::nullopt;
}

double coveredSeconds(TimeMs bucketStartMs, TimeMs bucketMs, bool newest,
                      const std::optional<ObservedSpan>& span) {
    TimeMs from = bucketStartMs;
    TimeMs to = bucketStartMs + bucketMs;
    if (span) {
        from = newest ? span->current_from_ms : std::max(from, span->from_ms);
        to = newest ? span->to_ms : to;
    }
    return static_cast<double>(to > from ? to - from : bucketMs) / 1000.0;
}

std::int64_t newestBucket(const LoadMap& observed, const std::optional<ObservedSpan>& span) {
    const std::int64_t last =
        observed.firstBucket() + static_cast<std::int64_t>(observed.bucketCount()) - 1;
    if (!span)
        return last;
    return std::max(last, floorDiv(span->to_ms - 1, observed.options().bucket_ms));
}

namespace {

// Counts per bucket become per-second rates; the mean latency is already a per-event figure.
double observedValue(const CellLoad& load, LoadMetric metric, double bucketSeconds) {
    const double value = metricValue(load, metric);
    return metric == LoadMetric::MeanLatencyUs ? value : value / bucketSeconds;
}

TimeMs ceilDiv(TimeMs value, TimeMs divisor) {
    return -floorDiv(-value, divisor);
}

// Columns from the end of the observed ones to the projection's horizon. The projection starts
// at the round's end (now), which is usually inside the newest observed column.
std::size_t projectedColumnCount(const CellProjection& projection, TimeMs observedEndMs,
                                 TimeMs columnMs) {
    const TimeMs horizonEnd =
        projection.startMs() + static_cast<TimeMs>(projection.steps()) * projection.stepMs();
    return horizonEnd > observedEndMs
               ? static_cast<std::size_t>(ceilDiv(horizonEnd - observedEndMs, columnMs))
               : 0;
}

// Column c shows the map's bucket at offset firstOffset + c; offsets past the map's last bucket
// are buckets without load.
void fillObserved(HeatmapGrid& grid, const LoadMap& observed, LoadMetric metric,
                  std::size_t firstOffset, const std::optional<ObservedSpan>& span) {
    const CellLoad none;
    for (std::size_t column = 0; column < grid.observed_columns; ++column) {
        const double bucketSeconds =
            coveredSeconds(grid.start_ms + static_cast<TimeMs>(column) * grid.column_ms,
                           grid.column_ms, column + 1 == grid.observed_columns, span);
        const std::size_t offset = firstOffset + column;
        const bool inMap = offset < observed.bucketCount();
        for (std::size_t row = 0; row < grid.rows; ++row)
            grid.values[column * grid.rows + row] =
                observedValue(inMap ? observed.at(offset, static_cast<CellIndex>(row)) : none,
                              metric, bucketSeconds);
    }
}

// Each projected column shows the step its middle falls in (the last step past the horizon).
void fillProjected(HeatmapGrid& grid, const CellProjection& projection, LoadMetric metric) {
    const std::optional<Resource> resource = projectedResource(metric);
    for (std::size_t column = grid.observed_columns; column < grid.columns; ++column) {
        const TimeMs middle =
            grid.start_ms + static_cast<TimeMs>(column) * grid.column_ms + grid.column_ms / 2;
        const TimeMs offset = std::max<TimeMs>(middle - projection.startMs(), 0);
        const auto step = std::min(static_cast<std::size_t>(offset / projection.stepMs()),
                                   projection.steps() - 1);
        for (std::size_t row = 0; row < grid.rows; ++row)
            grid.values[column * grid.rows + row] =
                resource ? projection.rate(static_cast<CellIndex>(row), step, *resource)
                         : std::numeric_limits<double>::quiet_NaN();
    }
}

} // namespace

HeatmapGrid buildHeatmap(const LoadMap& observed, LoadMetric metric, std::size_t observedColumns,
                         const CellProjection* projection, std::optional<ObservedSpan> span) {
    HeatmapGrid grid;
    grid.column_ms = observed.options().bucket_ms;
    grid.rows = observed.cells().size();
    const std::size_t buckets =
        observed.empty()
            ? 0
            : static_cast<std::size_t>(newestBucket(observed, span) - observed.firstBucket() + 1);
    grid.observed_columns = std::min(observedColumns, buckets);
    const std::size_t firstOffset = buckets - grid.observed_columns;
    grid.start_ms =
        observed.bucketStartMs(observed.firstBucket() + static_cast<std::int64_t>(firstOffset));
    const bool withProjection = projection && projection->cells() == grid.rows &&
                                projection->stepMs() > 0 && projection->steps() > 0 &&
                                !observed.empty();
    if (span && grid.observed_columns > 0)
        grid.now_ms = std::clamp(span->to_ms, grid.start_ms, grid.observedEndMs());
    grid.columns =
        grid.observed_columns +
        (withProjection ? projectedColumnCount(*projection, grid.observedEndMs(), grid.column_ms)
                        : 0);
    grid.values.assign(grid.columns * grid.rows, 0.0);
    fillObserved(grid, observed, metric, firstOffset, span);
    if (withProjection)
        fillProjected(grid, *projection, metric);
    return grid;
}

TimeSpanMs defaultViewSpan(const HeatmapGrid& grid) {
    const TimeSpanMs whole{grid.start_ms, grid.endMs()};
    if (grid.column_ms <= 0 || grid.columns <= grid.observed_columns)
        return whole;
    const TimeMs now = grid.nowMs();
    const TimeMs shortest =
        grid.observedEndMs() + static_cast<TimeMs>(kMinProjectedColumnsShown) * grid.column_ms;
    const TimeMs proportionate = std::max(now + (now - grid.start_ms), shortest);
    const TimeMs columnsShown = ceilDiv(proportionate - grid.start_ms, grid.column_ms);
    return {grid.start_ms, std::min(grid.start_ms + columnsShown * grid.column_ms, whole.to_ms)};
}

} // namespace rangepilot
