#pragma once

// HeatmapGrid: what the console's heatmap draws, as plain numbers. Columns are time buckets, rows
// are key cells in key order; the first `observed_columns` columns come from the load map (what
// happened), the rest from the forecaster's projection (what is expected), so one plot shows
// past and future with "now" between them.
//
// Values are per-second rates over their bucket: ops/s, reads/s, writes/s, bytes/s, or the mean
// latency in µs (not a rate). Projected columns exist for the metrics the planner projects (ops and
// bytes); for the others they are NaN, which the view leaves blank.
//
// Cost: O(columns × cells) to build; no Qt, so the builder runs on the planner's worker thread.

#include "cluster_model.h"
#include "load_map.h"

#include <cstddef>
#include <optional>
#include <vector>

namespace rangepilot {

struct HeatmapGrid {
    TimeMs start_ms = 0;  // start of column 0
    TimeMs column_ms = 0; // width of every column
    std::size_t columns = 0;
    std::size_t observed_columns = 0; // columns [0, observed_columns) are observed
    std::size_t rows = 0;             // key cells, row 0 = the first cell
    std::vector<double> values;       // values[column * rows + row]

    double at(std::size_t column, std::size_t row) const { return values[column * rows + row]; }
    TimeMs nowMs() const { return start_ms + static_cast<TimeMs>(observed_columns) * column_ms; }
};

// The time the load map's counts cover: [from_ms, to_ms). Counts of a span that straddles a
// bucket boundary land in the bucket it ends in, so the newest bucket's counts cover
// [current_from_ms, to_ms), which may start before the bucket.
struct ObservedSpan {
    TimeMs from_ms = 0;
    TimeMs to_ms = 0;
    TimeMs current_from_ms = 0;
};

// The resource the projection carries for a metric, or nullopt when none does.
std::optional<Resource> projectedResource(LoadMetric metric);

// The newest `observedColumns` buckets of the load map's fine tier (fewer when it holds fewer) and,
// when `projection` is given, the projected columns after them, one per bucket width up to the
// projection's horizon. A projection step wider than a bucket covers several columns; the
// projection must have as many cells as the map. With `span`, the first and the newest bucket
// (which the counts may cover only in part: the one a live cluster was connected in, the one in
// progress) are divided by the seconds their counts cover rather than by their width, so that
// they show the rate so far, not a fraction of it.
HeatmapGrid buildHeatmap(const LoadMap& observed, LoadMetric metric, std::size_t observedColumns,
                         const CellProjection* projection = nullptr,
                         std::optional<ObservedSpan> span = std::nullopt);

} // namespace rangepilot
