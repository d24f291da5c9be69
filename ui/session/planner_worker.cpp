#include "planner_worker.h"

#include "load_score.h"

#include <algorithm>
#include <utility>

namespace rangepilot {

namespace {

std::string unitOf(LoadMetric metric) {
    switch (metric) {
    case LoadMetric::Ops:
        return "ops/s";
    case LoadMetric::Reads:
        return "reads/s";
    case LoadMetric::Writes:
        return "writes/s";
    case LoadMetric::Bytes:
        return "bytes/s";
    case LoadMetric::MeanLatencyUs:
        return "µs mean latency";
    }
    return {};
}

// The last `count` values of `series` (all of them when shorter).
std::vector<double> tail(const std::vector<double>& series, std::size_t count) {
    const std::size_t skip = series.size() > count ? series.size() - count : 0;
    return {series.begin() + static_cast<std::ptrdiff_t>(skip), series.end()};
}

} // namespace

ResourceVector cellRate(const CellLoad& load, double seconds) {
    ResourceVector rate;
    if (seconds <= 0.0)
        return rate;
    const double ops = static_cast<double>(load.ops());
    const double bytes = static_cast<double>(load.bytes);
    const double writeShare = ops > 0.0 ? static_cast<double>(load.writes) / ops : 0.0;
    rate[Resource::Ops] = ops / seconds;
    rate[Resource::NetworkBytes] = bytes / seconds;
    rate[Resource::DiskBytes] = bytes * writeShare / seconds;
    rate[Resource::ServiceTime] = static_cast<double>(load.latency_us) / seconds;
    return rate;
}

PlannerEngine::PlannerEngine(KeyCells cells, PlannerEngineOptions options)
    : m_cells(std::move(cells))
    , m_options(std::move(options))
    , m_loadMap(m_cells, m_options.load_map)
    , m_policy(m_cells.size(), m_options.predictive) {}

std::vector<ResourceVector> PlannerEngine::cellRates(const RoundInput& input) const {
    const double seconds = static_cast<double>(input.round_ms) / 1000.0;
    std::vector<ResourceVector> rates(m_cells.size());
    for (std::size_t cell = 0; cell < rates.size() && cell < input.cell_counts.size(); ++cell)
        rates[cell] = cellRate(input.cell_counts[cell], seconds);
    return rates;
}

RoundOutcome PlannerEngine::runRound(const RoundInput& input) {
    // The counts land in the bucket holding the round's last millisecond: rounds are a minute
    // and buckets five, so a round straddles a bucket boundary only when the connector's steps
    // are longer than a minute (as-fast-as-possible replay).
    const TimeMs countedAt = input.now - 1;
    for (CellIndex cell = 0; cell < m_cells.size() && cell < input.cell_counts.size(); ++cell)
        m_loadMap.addCounts(countedAt, cell, input.cell_counts[cell]);
    // What the counts cover, so that a bucket in progress shows its rate so far (buildHeatmap).
    const TimeMs roundStart = input.now - input.round_ms;
    const std::int64_t bucket = floorDiv(countedAt, m_loadMap.options().bucket_ms);
    if (!m_observed || bucket != m_observedBucket)
        m_observed =
            ObservedSpan{m_observed ? m_observed->from_ms : roundStart, input.now, roundStart};
    m_observed->to_ms = input.now;
    m_observedBucket = bucket;

    const std::vector<ResourceVector> rates = cellRates(input);
    const ClusterModel cluster = withBackground(input, rates);
    RoundOutcome outcome;
    outcome.now = input.now;
    if (input.plan) {
        const RoundObservation observation{
            input.now,   input.round_ms, m_cells,          rates,           input.cell_data_bytes,
            input.table, cluster,        input.host_rates, input.in_flight, input.history};
        outcome.plan = m_policy.planRound(observation);
        outcome.error = m_policy.lastError();
        outcome.planned = true;
        m_planned = true;
    } else {
        m_policy.observeOnly(input.now, rates);
    }
    outcome.shards = shardFigures(input, rates);
    if (input.trends)
        outcome.trends = shardTrends(input.table);
    outcome.hosts = hostFigures(input, cluster);
    outcome.heatmap = heatmap(input.heatmap_metric);
    return outcome;
}

HeatmapGrid PlannerEngine::heatmap(LoadMetric metric) const {
    const CellProjection* projection = m_planned ? &m_policy.lastProjection() : nullptr;
    return buildHeatmap(m_loadMap, metric, m_options.heatmap_columns, projection, m_observed);
}

ClusterModel PlannerEngine::withBackground(const RoundInput& input,
                                           const std::vector<ResourceVector>& rates) const {
    ClusterModel cluster = input.cluster;
    if (input.host_rates.size() != cluster.hosts.size())
        return cluster;
    std::vector<ResourceVector> rangeLoad(cluster.hosts.size());
    for (const Shard& shard : input.table.shards()) {
        const std::optional<std::size_t> host = cluster.indexOf(shard.owner);
        if (!host)
            continue;
        const CellSpan span = m_cells.cellsStartingIn(shard.range);
        for (CellIndex cell = span.first; cell < span.end; ++cell)
            rangeLoad[*host] += rates[cell];
    }
    for (std::size_t host = 0; host < cluster.hosts.size(); ++host)
        cluster.hosts[host].background = unexplainedUsage(input.host_rates[host], rangeLoad[host]);
    return cluster;
}

std::vector<ShardFigures>
PlannerEngine::shardFigures(const RoundInput& input,
                            const std::vector<ResourceVector>& rates) const {
    const CellProjection& projection = m_policy.lastProjection();
    const bool projected = m_planned && projection.cells() == m_cells.size();
    const ScoreWeights& weights = m_options.predictive.migrator.weights;
    std::vector<ShardFigures> figures;
    figures.reserve(input.table.shardCount());
    for (const Shard& shard : input.table.shards()) {
        const CellSpan span = m_cells.cellsStartingIn(shard.range);
        ShardFigures figure;
        figure.shard = shard.id;
        for (CellIndex cell = span.first; cell < span.end; ++cell)
            figure.load_now_ops += rates[cell][Resource::Ops];
        if (projected && span.size() > 0) {
            const std::vector<ResourceVector> series = projection.unionSeries(span.first, span.end);
            for (const ResourceVector& step : series)
                figure.projected_peak_ops =
                    std::max(figure.projected_peak_ops, step[Resource::Ops]);
            if (const std::optional<std::size_t> owner = input.cluster.indexOf(shard.owner))
                figure.score =
                    peakScore(series, input.cluster.hosts[*owner].capacity, weights).score;
        }
        figures.push_back(figure);
    }
    return figures;
}

std::vector<ShardTrend> PlannerEngine::shardTrends(const OwnershipTable& table) const {
    TrendOptions options = m_options.trend;
    options.steps_per_day = static_cast<int>(kMsPerDay / m_loadMap.options().bucket_ms);
    // Per-second rates, so slope_per_day is in ops/s per day.
    const double perSecond = 1000.0 / static_cast<double>(m_loadMap.options().bucket_ms);
    TrendWorkspace workspace;
    std::vector<ShardTrend> trends;
    trends.reserve(table.shardCount());
    for (const Shard& shard : table.shards()) {
        const CellSpan span = m_cells.cellsStartingIn(shard.range);
        std::vector<double> series = span.size() > 0
                                         ? m_loadMap.series(span.first, span.end, LoadMetric::Ops)
                                         : std::vector<double>{};
        for (double& value : series)
            value *= perSecond;
        trends.push_back({shard.id, analyzeTrend(series, options, workspace)});
    }
    return trends;
}

std::vector<HostFigures> PlannerEngine::hostFigures(const RoundInput& input,
                                                    const ClusterModel& cluster) const {
    const CellProjection& projection = m_policy.lastProjection();
    const bool projected = m_planned && projection.cells() == m_cells.size();
    std::vector<HostFigures> hosts(cluster.hosts.size());
    std::vector<std::vector<ResourceVector>> projectedSeries(
        cluster.hosts.size(), std::vector<ResourceVector>(projected ? projection.steps() : 0));
    for (std::size_t host = 0; host < cluster.hosts.size(); ++host) {
        hosts[host].host = cluster.hosts[host].id;
        hosts[host].capacity = cluster.hosts[host].capacity;
        if (host < input.host_rates.size())
            hosts[host].usage_now = input.host_rates[host];
        for (ResourceVector& step : projectedSeries[host])
            step = cluster.hosts[host].background;
    }
    for (const Shard& shard : input.table.shards()) {
        const std::optional<std::size_t> host = cluster.indexOf(shard.owner);
        if (!host)
            continue;
        ++hosts[*host].shards;
        const CellSpan span = m_cells.cellsStartingIn(shard.range);
        if (!projected || span.size() == 0)
            continue;
        const std::vector<ResourceVector> series = projection.unionSeries(span.first, span.end);
        for (std::size_t step = 0; step < series.size(); ++step)
            projectedSeries[*host][step] += series[step];
    }
    for (std::size_t host = 0; host < hosts.size(); ++host) {
        for (const ResourceVector& step : projectedSeries[host]) {
            for (Resource resource : kAllResources)
                hosts[host].projected_peak[resource] =
                    std::max(hosts[host].projected_peak[resource], step[resource]);
        }
    }
    return hosts;
}

TrendData PlannerEngine::trendOf(const std::vector<CellSpan>& spans, LoadMetric metric,
                                 std::string title, std::optional<double> capacity) const {
    TrendData data;
    data.title = std::move(title);
    data.unit = unitOf(metric);
    data.capacity = capacity;
    data.step_ms = m_loadMap.options().bucket_ms;
    if (m_observed)
        data.now_ms = m_observed->to_ms;
    if (m_loadMap.empty())
        return data;
    // Up to the bucket of now: buckets after the map's last one had no load.
    const auto buckets =
        static_cast<std::size_t>(newestBucket(m_loadMap, m_observed) - m_loadMap.firstBucket() + 1);
    std::vector<double> total(buckets, 0.0);
    for (const CellSpan& span : spans) {
        if (span.size() == 0)
            continue;
        const std::vector<double> series = m_loadMap.series(span.first, span.end, metric);
        for (std::size_t i = 0; i < total.size() && i < series.size(); ++i)
            total[i] += series[i];
    }
    // Counts per bucket become per-second rates over the time they cover, as in the heatmap: the
    // bucket in progress and the one the counting began in show their rate so far (a live
    // cluster's first minutes are all such buckets). A mean latency summed over spans becomes
    // the mean over them (approximately: spans weighted equally).
    const double latencyScale = spans.empty() ? 1.0 : 1.0 / static_cast<double>(spans.size());
    for (std::size_t i = 0; i < total.size(); ++i) {
        const TimeMs start =
            m_loadMap.bucketStartMs(m_loadMap.firstBucket() + static_cast<std::int64_t>(i));
        total[i] *=
            metric == LoadMetric::MeanLatencyUs
                ? latencyScale
                : 1.0 / coveredSeconds(start, data.step_ms, i + 1 == total.size(), m_observed);
    }
    data.history = tail(total, m_options.trend_history_buckets);
    const int horizon =
        std::clamp(static_cast<int>(data.history.size()), m_options.min_chart_horizon_steps,
                   std::max(m_options.chart_horizon_steps, m_options.min_chart_horizon_steps));
    ForecastOptions forecastOptions;
    forecastOptions.steps_per_day = static_cast<int>(kMsPerDay / data.step_ms);
    forecastOptions.horizon_steps = horizon;
    const SeriesForecast forecast = forecastSeries(total, ForecastModel::Auto, forecastOptions);
    const std::int64_t firstShown =
        m_loadMap.firstBucket() + static_cast<std::int64_t>(total.size() - data.history.size());
    data.history_start_ms = m_loadMap.bucketStartMs(firstShown);
    data.forecast_start_ms =
        m_loadMap.bucketStartMs(m_loadMap.firstBucket() + static_cast<std::int64_t>(total.size()));
    if (m_observed)
        data.now_ms = std::clamp(m_observed->to_ms, data.history_start_ms, data.forecast_start_ms);
    data.forecast = forecast.point;
    data.band_low = forecast.lo;
    data.band_high = forecast.hi;
    data.model = std::string(modelName(forecast.model));
    return data;
}

} // namespace rangepilot
