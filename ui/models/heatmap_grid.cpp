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

void fillObserved(HeatmapGrid& grid, const LoadMap& observed, LoadMetric metric,
                  std::size_t firstOffset) {
    const double bucketSeconds = static_cast<double>(grid.column_ms) / 1000.0;
    for (std::size_t column = 0; column < grid.observed_columns; ++column) {
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
                         const CellProjection* projection) {
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
    fillObserved(grid, observed, metric, firstOffset);
    if (withProjection)
        fillProjected(grid, *projection, metric);
    return grid;
}

} // namespace rangepilot
