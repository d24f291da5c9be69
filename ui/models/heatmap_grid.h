#pragma once

// HeatmapGrid: what the console's heatmap draws, as plain numbers. Columns are time buckets, rows
// are key cells in key order; the first `observed_columns` columns come from the load map (what
// happened), the rest from the forecaster's projection (what is expected), so one plot shows
// past and future with "now" between them.
//
// "Now" is the end of the newest counts, which usually falls inside the newest observed column
// (the bucket in progress: a live cluster's rounds are seconds, its buckets minutes); the
// projected columns start where the observed ones end. The default view (defaultViewSpan) shows
// every observed column and as much of the projection as has been observed, so that a cluster
// watched for minutes is not squeezed to a sliver beside an hour of projection.
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
    // The end of the newest counts, in [start_ms, observedEndMs()]; unset: observedEndMs().
    std::optional<TimeMs> now_ms;

    double at(std::size_t column, std::size_t row) const { return values[column * rows + row]; }
    // Where the observed columns end and the projected ones begin (a column boundary).
    TimeMs observedEndMs() const {
        return start_ms + static_cast<TimeMs>(observed_columns) * column_ms;
    }
    TimeMs endMs() const { return start_ms + static_cast<TimeMs>(columns) * column_ms; }
    // Where the view draws its "now" line: what the cluster clock said at the newest counts.
    TimeMs nowMs() const { return now_ms.value_or(observedEndMs()); }
};

// The time the load map's counts cover: [from_ms, to_ms). Counts of a span that straddles a
// bucket boundary land in the bucket it ends in, so the newest bucket's counts cover
// [current_from_ms, to_ms), which may start before the bucket.
struct ObservedSpan {
    TimeMs from_ms = 0;
    TimeMs to_ms = 0;
    TimeMs current_from_ms = 0;
};

// The seconds the counts of the bucket [bucketStartMs, bucketStartMs + bucketMs) cover: its width,
// or with `span`, from the first counts (the bucket a live cluster was connected in) or the newest
// bucket's first counts (`newest`: the bucket in progress) to the last counts. The width when
// that is empty: nothing was counted there anyway. Counts divided by it are the rate so far.
double coveredSeconds(TimeMs bucketStartMs, TimeMs bucketMs, bool newest,
                      const std::optional<ObservedSpan>& span);

// The newest bucket the counts cover (a bucket number, as LoadMap's): the load map's last one,
// or with `span` the bucket of the span's end when that is later, the cluster having gone quiet
// since (those buckets had no load: zero, not unknown). Meaningless for an empty map.
std::int64_t newestBucket(const LoadMap& observed, const std::optional<ObservedSpan>& span);

// The resource the projection carries for a metric, or nullopt when none does.
std::optional<Resource> projectedResource(LoadMetric metric);

// The newest `observedColumns` buckets of the load map's fine tier up to newestBucket() (fewer
// when it holds fewer; buckets after the map's last are zero) and,
// when `projection` is given, the projected columns after them, one per bucket width up to the
// projection's horizon (projection.startMs() + steps × stepMs); each projected column shows the
// step holding its middle. The projection must have as many cells as the map. With `span`, the
// first and the newest bucket (which the counts may cover only in part: the one a live cluster
// was connected in, the one in progress) are divided by the seconds their counts cover rather
// than by their width, so that they show the rate so far, not a fraction of it, and now_ms is
// span->to_ms.
HeatmapGrid buildHeatmap(const LoadMap& observed, LoadMetric metric, std::size_t observedColumns,
                         const CellProjection* projection = nullptr,
                         std::optional<ObservedSpan> span = std::nullopt);

// The shortest projection the default view shows, in columns past the observed ones.
inline constexpr std::size_t kMinProjectedColumnsShown = 2;

struct TimeSpanMs {
    TimeMs from_ms = 0;
    TimeMs to_ms = 0;
    bool operator==(const TimeSpanMs&) const = default;
};

// The time the heatmap shows by default: from the first column to now plus as much projection as
// has been observed (now - start), at least kMinProjectedColumnsShown columns past the observed
// ones and at most the whole projection, rounded up to a column boundary. After hours of history
// that is the whole grid; a live cluster watched for minutes sees its minutes and about as many
// projected ones, the share growing with its history until the projection's horizon caps it.
TimeSpanMs defaultViewSpan(const HeatmapGrid& grid);

} // namespace rangepilot
