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

namespace {

// Counts per bucket become per-second rates; the mean latency is already a per-event figure.
double observedValue(const CellLoad& load, LoadMetric metric, double bucketSeconds) {
    const double value = metricValue(load, metric);
    return metric == LoadMetric::MeanLatencyUs ? value : value / bucketSeconds;
}

std::size_t projectedColumnCount(const CellProjection& projection, TimeMs columnMs) {
    const TimeMs horizon = static_cast<TimeMs>(projection.steps()) * projection.stepMs();
    return static_cast<std::size_t>(horizon / columnMs);
}

// The seconds the counts of the bucket starting at `start` cover: its width, or with `span`, from
// the first counts (first bucket) or the newest bucket's first counts (newest) to the last counts.
// The width when that is empty: nothing was counted there anyway.
double coveredSeconds(TimeMs start, TimeMs width, bool newest,
                      const std::optional<ObservedSpan>& span) {
    TimeMs from = start;
    TimeMs to = start + width;
    if (span) {
        from = newest ? span->current_from_ms : std::max(from, span->from_ms);
        to = newest ? span->to_ms : to;
    }
    return static_cast<double>(to > from ? to - from : width) / 1000.0;
}

void fillObserved(HeatmapGrid& grid, const LoadMap& observed, LoadMetric metric,
                  std::size_t firstOffset, const std::optional<ObservedSpan>& span) {
    for (std::size_t column = 0; column < grid.observed_columns; ++column) {
        const double bucketSeconds =
            coveredSeconds(grid.start_ms + static_cast<TimeMs>(column) * grid.column_ms,
                           grid.column_ms, column + 1 == grid.observed_columns, span);
        for (std::size_t row = 0; row < grid.rows; ++row)
            grid.values[column * grid.rows + row] =
                observedValue(observed.at(firstOffset + column, static_cast<CellIndex>(row)),
                              metric, bucketSeconds);
    }
}

void fillProjected(HeatmapGrid& grid, const CellProjection& projection, LoadMetric metric) {
    const std::optional<Resource> resource = projectedResource(metric);
    const TimeMs now = grid.nowMs();
    for (std::size_t column = grid.observed_columns; column < grid.columns; ++column) {
        const TimeMs columnStart =
            now + static_cast<TimeMs>(column - grid.observed_columns) * grid.column_ms;
        const auto step = static_cast<std::size_t>((columnStart - now) / projection.stepMs());
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
    grid.observed_columns = std::min(observedColumns, observed.bucketCount());
    const std::size_t firstOffset = observed.bucketCount() - grid.observed_columns;
    grid.start_ms =
        observed.bucketStartMs(observed.firstBucket() + static_cast<std::int64_t>(firstOffset));
    const bool withProjection = projection && projection->cells() == grid.rows &&
                                projection->stepMs() > 0 && !observed.empty();
    grid.columns = grid.observed_columns +
                   (withProjection ? projectedColumnCount(*projection, grid.column_ms) : 0);
    grid.values.assign(grid.columns * grid.rows, 0.0);
    fillObserved(grid, observed, metric, firstOffset, span);
    if (withProjection)
        fillProjected(grid, *projection, metric);
    return grid;
}

} // namespace rangepilot
