#pragma once

// PlannerEngine: everything the console computes from the cluster's load, in one object that
// lives on the planner's worker thread (the GUI thread hands it rounds and gets outcomes back;
// see ConsoleSession). Per round of cluster time it
//  - counts the round's per-cell load into the LoadMap (5-minute buckets, 8 days at full
//    resolution) behind the heatmap, the trends and the trend charts;
//  - feeds the predictive policy (online forecaster + migrator) and, unless the session is behind,
//    asks it for a plan;
//  - derives what the tables show: per shard its load now, projected peak, score and trend; per
//    host its measured usage and projected peak per resource;
//  - builds the heatmap grid (observed columns, then the projection) for the chosen metric.
//
// Per-cell rates follow the cluster simulator's convention: ops/s, network bytes/s = all bytes,
// disk bytes/s = the writes' share of the bytes (CellLoad does not split bytes by op), service
// time µs/s. A host's background is its measured usage minus the load of the cells it owns
// (unexplainedUsage), so running migrations and work outside the key space count.
//
// Not thread-safe: one call at a time (the session runs them on a one-thread pool, in order).
// Cost per round at 1,024 cells, 64 shards: well under 10 ms (planning ~1 ms, heatmap of
// 288 + 12 columns ~2 ms, trends every few rounds ~5 ms).

#include "forecast.h"
#include "heatmap_grid.h"
#include "hosts_model.h"
#include "load_map.h"
#include "move_history.h"
#include "ownership_table_model.h"
#include "predictive_policy.h"
#include "trend.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rangepilot {

struct RoundInput {
    explicit RoundInput(OwnershipTable current)
        : table(std::move(current)) {}

    TimeMs now = 0;      // end of the round
    TimeMs round_ms = 0; // the span the counts cover, ending at `now`
    std::vector<CellLoad> cell_counts;
    std::vector<double> cell_data_bytes;
    OwnershipTable table;
    ClusterModel cluster;                   // hosts with capacities; background is derived here
    std::vector<ResourceVector> host_rates; // measured mean usage over the round; empty: unknown
    std::vector<InFlightMove> in_flight;
    MoveHistory history;
    bool plan = true; // false: only observe (the session is behind; a later round plans)
    LoadMetric heatmap_metric = LoadMetric::Ops;
    bool trends = false; // recompute the per-shard trends this round
};

struct ShardTrend {
    ShardId shard = 0;
    TrendResult trend; // of the shard's ops/s over the fine window, bucket by bucket
};

struct RoundOutcome {
    TimeMs now = 0;
    bool planned = false;
    MigrationPlan plan;
    std::string error; // the planner's complaint about its input, if any
    std::vector<ShardFigures> shards;
    std::vector<ShardTrend> trends; // when the input asked for them
    std::vector<HostFigures> hosts;
    HeatmapGrid heatmap;
};

// History, forecast and prediction band of a set of cells (a shard, or every shard of a host).
// The history is what the heatmap shows for those cells: one rate per bucket, the newest bucket
// (in progress) and a first bucket the counts cover only in part at their rate so far. The
// forecast starts after the newest bucket, so "now" lies between the two.
struct TrendData {
    std::string title;
    std::string unit; // "ops/s", "bytes/s", ...
    TimeMs history_start_ms = 0;
    TimeMs step_ms = 0;
    std::vector<double> history; // per-second rates, one per bucket
    TimeMs forecast_start_ms = 0;
    std::vector<double> forecast, band_low, band_high;
    std::optional<TimeMs> now_ms; // the end of the newest counts (the heatmap's now)
    std::string model;            // the forecasting model chosen ("holt_winters", ...)
    std::optional<double> capacity;
};

struct PlannerEngineOptions {
    PredictiveOptions predictive;
    LoadMapOptions load_map;
    std::size_t heatmap_columns = 288; // observed columns shown (a day of 5-minute buckets)
    std::size_t trend_history_buckets = 576;
    // Trends need two days of history before they call anything growing or declining: with
    // less, the daily cycle cannot be removed, and the afternoon's rise reads as growth of a
    // hundred percent a day on every range.
    TrendOptions trend = TrendOptions{.min_points = 2 * 288};
    // The trend chart's forecast: as many steps as the history shown has buckets, at least
    // min_chart_horizon_steps and at most chart_horizon_steps (3 h of 5-minute steps), so that
    // minutes of a live cluster's history are not a dot beside hours of forecast.
    int chart_horizon_steps = 36;
    int min_chart_horizon_steps = 3;
};

class PlannerEngine {
public:
    PlannerEngine(KeyCells cells, PlannerEngineOptions options);

    RoundOutcome runRound(const RoundInput& input);
    HeatmapGrid heatmap(LoadMetric metric) const;
    // The cells [first, end) of each span, summed. `capacity` is drawn as a line (hosts).
    TrendData trendOf(const std::vector<CellSpan>& spans, LoadMetric metric, std::string title,
                      std::optional<double> capacity) const;

    const LoadMap& loadMap() const { return m_loadMap; }
    const KeyCells& cells() const { return m_cells; }
    const CellProjection& projection() const { return m_policy.lastProjection(); }

private:
    std::vector<ResourceVector> cellRates(const RoundInput& input) const;
    ClusterModel withBackground(const RoundInput& input,
                                const std::vector<ResourceVector>& rates) const;
    std::vector<ShardFigures> shardFigures(const RoundInput& input,
                                           const std::vector<ResourceVector>& rates) const;
    std::vector<ShardTrend> shardTrends(const OwnershipTable& table) const;
    std::vector<HostFigures> hostFigures(const RoundInput& input,
                                         const ClusterModel& cluster) const;

    KeyCells m_cells;
    PlannerEngineOptions m_options;
    LoadMap m_loadMap;
    PredictivePolicy m_policy;
    bool m_planned = false;                 // a projection exists
    std::optional<ObservedSpan> m_observed; // what the rounds so far covered
    std::int64_t m_observedBucket = 0;      // the bucket the last round counted in
};

// Ops, network bytes, disk bytes (the writes' share) and service time per second of `seconds`.
ResourceVector cellRate(const CellLoad& load, double seconds);

} // namespace rangepilot
