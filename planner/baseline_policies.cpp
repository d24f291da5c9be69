#include "baseline_policies.h"

#include "dividers.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace rangepilot {

MigrationPlan StaticPolicy::planRound(const RoundObservation& observation) {
    MigrationPlan plan;
    plan.now = observation.now;
    plan.table_epoch = observation.table.epoch();
    return plan;
}

Status validate(const ReactiveOptions& options) {
    const auto nonNegative = [](double value) { return std::isfinite(value) && value >= 0.0; };
    if (!nonNegative(options.band))
        return Error{"band must be >= 0"};
    if (options.consecutive_rounds < 1)
        return Error{"consecutive_rounds must be at least 1"};
    if (!nonNegative(options.split_above) || options.split_above <= 0.0)
        return Error{"split_above must be > 0"};
    if (!nonNegative(options.merge_below))
        return Error{"merge_below must be >= 0"};
    if (options.merge_below >= options.split_above)
        return Error{"merge_below must be below split_above (or a merge would be split again)"};
    if (options.merge_cooldown_ms < 0)
        return Error{"merge_cooldown_ms must be >= 0"};
    if (!nonNegative(options.migration_bytes_per_s) || options.migration_bytes_per_s <= 0.0)
        return Error{"migration_bytes_per_s must be > 0"};
    if (!nonNegative(options.batch_bytes) || options.batch_bytes <= 0.0)
        return Error{"batch_bytes must be > 0"};
    for (const Resource resource : kAllResources) {
        if (!nonNegative(options.weights.weight[resource]))
            return Error{"the " + std::string(resourceName(resource)) + " weight must be >= 0"};
    }
    return Status::success();
}

namespace {

// Current load of key ranges from per-cell rates, by prefix sums over the cells.
class RangeLoads {
public:
    RangeLoads(const KeyCells& cells, std::span<const ResourceVector> cellRates)
        : m_cells(cells)
        , m_prefix(cells.size() + 1) {
        for (std::size_t cell = 0; cell < cells.size(); ++cell) {
            m_prefix[cell + 1] = m_prefix[cell];
            if (cell < cellRates.size())
                m_prefix[cell + 1] += cellRates[cell];
        }
    }

    ResourceVector of(const KeyRange& range) const {
        const CellSpan span = m_cells.cellsCovering(range);
        return m_prefix[span.end] - m_prefix[span.first];
    }

private:
    const KeyCells& m_cells;
    std::vector<ResourceVector> m_prefix;
};

bool isInFlight(std::span<const InFlightMove> inFlight, const KeyRange& range) {
    return std::any_of(inFlight.begin(), inFlight.end(),
                       [&](const InFlightMove& move) { return rangesOverlap(move.range, range); });
}

// The observed rates as a projection of one step, for findBalancingSplit.
CellProjection currentProjection(const RoundObservation& observation) {
    const std::size_t cellCount = observation.cells.size();
    CellProjection projection(cellCount, 1, observation.now, observation.round_ms);
    for (std::size_t cell = 0; cell < cellCount; ++cell) {
        const auto index = static_cast<CellIndex>(cell);
        if (cell < observation.cell_rates.size()) {
            for (const Resource resource : kAllResources)
                projection.setRate(index, 0, resource, observation.cell_rates[cell][resource]);
        }
        if (cell < observation.cell_data_bytes.size())
            projection.setDataBytes(index, observation.cell_data_bytes[cell]);
    }
    return projection;
}

class HostLookup {
public:
    explicit HostLookup(const ClusterModel& cluster)
        : m_cluster(cluster) {
        for (std::size_t i = 0; i < cluster.hosts.size(); ++i)
            m_index.emplace(cluster.hosts[i].id, i);
    }
    std::optional<std::size_t> indexOf(std::string_view host) const {
        const auto it = m_index.find(host);
        if (it == m_index.end())
            return std::nullopt;
        return it->second;
    }
    const ResourceVector* capacityOf(std::string_view host) const {
        const std::optional<std::size_t> index = indexOf(host);
        return index ? &m_cluster.hosts[*index].capacity : nullptr;
    }

private:
    const ClusterModel& m_cluster;
    std::unordered_map<std::string_view, std::size_t> m_index;
};

struct SplitCandidate {
    const Shard* shard = nullptr;
    double score = 0.0;
    ResourceVector capacity;
};

} // namespace

ReactivePolicy::ReactivePolicy(ReactiveOptions options)
    : m_options(options) {}

MigrationPlan ReactivePolicy::planRound(const RoundObservation& observation) {
    MigrationPlan plan;
    plan.now = observation.now;
    plan.table_epoch = observation.table.epoch();
    const OwnershipTable& table = observation.table;
    if (m_maxShards == 0)
        m_maxShards = m_options.max_shards > 0 ? m_options.max_shards : 4 * table.shardCount();
    const HostLookup hosts(observation.cluster);
    const RangeLoads loads(observation.cells, observation.cell_rates);
    const ScoreWeights& weights = m_options.weights;

    // Splits: ranges hot now, hottest first.
    std::vector<SplitCandidate> candidates;
    for (const Shard& shard : table.shards()) {
        const ResourceVector* capacity = hosts.capacityOf(shard.owner);
        if (!capacity || isInFlight(observation.in_flight, shard.range) ||
            observation.cells.cellsCovering(shard.range).size() < 2)
            continue;
        const double score = weightedUtilization(loads.of(shard.range), *capacity, weights);
        if (score > m_options.split_above)
            candidates.push_back({&shard, score, *capacity});
    }
    std::stable_sort(
        candidates.begin(), candidates.end(),
        [](const SplitCandidate& a, const SplitCandidate& b) { return a.score > b.score; });
    std::vector<ShardId> splitShards;
    if (!candidates.empty()) {
        const CellProjection projection = currentProjection(observation);
        ShardId nextId = table.nextFreeShardId();
        for (const SplitCandidate& candidate : candidates) {
            if (plan.splits.size() >= m_options.max_splits_per_round ||
                table.shardCount() + plan.splits.size() >= m_maxShards)
                break;
            const Shard& shard = *candidate.shard;
            const CellSpan span = observation.cells.cellsCovering(shard.range);
            const std::optional<SplitPoint> point =
                findBalancingSplit(projection, span.first, span.end, candidate.capacity, weights);
            if (!point)
                continue;
            SplitInstruction split;
            split.shard = shard.id;
            split.at = observation.cells.start(point->cell);
            split.new_shard = nextId++;
            split.peak_before = candidate.score;
            split.peak_left = point->peak_left;
            split.peak_right = point->peak_right;
            split.reason = "shard " + std::to_string(shard.id) + " " + formatKeyRange(shard.range) +
                           " at " + formatPercent(candidate.score) + " of " + shard.owner +
                           " now (above " + formatPercent(m_options.split_above) + "); split at " +
                           formatKey(split.at) + " into " + formatPercent(point->peak_left) +
                           " and " + formatPercent(point->peak_right);
            splitShards.push_back(shard.id);
            plan.splits.push_back(std::move(split));
        }
    }

    // Merges: cold neighbours on the same host, left to right, each shard at most once.
    const std::vector<Shard>& shards = table.shards();
    const auto wasSplit = [&](ShardId id) {
        return std::find(splitShards.begin(), splitShards.end(), id) != splitShards.end();
    };
    for (std::size_t i = 0; i + 1 < shards.size(); ++i) {
        const Shard& left = shards[i];
        const Shard& right = shards[i + 1];
        if (left.owner != right.owner || left.replicas != right.replicas || wasSplit(left.id) ||
            wasSplit(right.id))
            continue;
        const ResourceVector* capacity = hosts.capacityOf(left.owner);
        const KeyRange joint{left.range.start, right.range.end};
        if (!capacity || isInFlight(observation.in_flight, joint))
            continue;
        const std::optional<TimeMs> changed =
            observation.history.lastBoundaryChangeOverlapping(joint);
        if (changed && observation.now - *changed < m_options.merge_cooldown_ms)
            continue;
        const double score = weightedUtilization(loads.of(joint), *capacity, weights);
        if (score >= m_options.merge_below)
            continue;
        MergeInstruction merge;
        merge.left = left.id;
        merge.right = right.id;
        merge.joint_peak = score;
        merge.reason = "shards " + std::to_string(left.id) + " and " + std::to_string(right.id) +
                       " on " + left.owner + " together at " + formatPercent(score) +
                       " of its capacity (below " + formatPercent(m_options.merge_below) +
                       "); merge into " + formatKeyRange(joint);
        plan.merges.push_back(std::move(merge));
        ++i; // `right` is taken
    }

    // A move: hottest host above the band for long enough → its hottest movable range to the
    // coldest host.
    const std::vector<Host>& clusterHosts = observation.cluster.hosts;
    if (clusterHosts.empty() || observation.host_rates.size() < clusterHosts.size())
        return plan;
    std::size_t hottest = 0;
    std::size_t coldest = 0;
    double total = 0.0;
    for (std::size_t host = 0; host < clusterHosts.size(); ++host) {
        const double load = observation.host_rates[host][Resource::Ops];
        total += load;
        if (load > observation.host_rates[hottest][Resource::Ops])
            hottest = host;
        if (load < observation.host_rates[coldest][Resource::Ops])
            coldest = host;
    }
    const double mean = total / static_cast<double>(clusterHosts.size());
    const double hotLoad = observation.host_rates[hottest][Resource::Ops];
    const double coldLoad = observation.host_rates[coldest][Resource::Ops];
    const bool aboveBand = mean > 0.0 && hotLoad > (1.0 + m_options.band) * mean;
    m_roundsAboveBand = aboveBand ? m_roundsAboveBand + 1 : 0;
    if (m_roundsAboveBand < m_options.consecutive_rounds || hottest == coldest)
        return plan;

    // Choose among the shards as they will be after this round's splits and merges.
    Result<OwnershipTable> after = applyBoundaryChanges(table, plan);
    // Splits cut strictly inside their shard with unused ids and merges skip split shards, so
    // this holds; if it ever did not, a release build falls back to moving without them.
    assert(after && "the reactive policy planned inconsistent boundary changes");
    if (!after) {
        plan.splits.clear();
        plan.merges.clear();
        after = table;
    }
    const HostId& source = clusterHosts[hottest].id;
    const HostId& target = clusterHosts[coldest].id;
    const double gap = hotLoad - coldLoad;
    const Shard* best = nullptr;
    double bestLoad = 0.0;
    for (const Shard& shard : after->shards()) {
        if (shard.owner != source || isInFlight(observation.in_flight, shard.range))
            continue;
        const double load = loads.of(shard.range)[Resource::Ops];
        if (load > bestLoad && load < gap) {
            best = &shard;
            bestLoad = load;
        }
    }
    if (!best)
        return plan;

    MoveInstruction move;
    move.shard = best->id;
    move.range = best->range;
    move.from = source;
    move.to = target;
    const CellSpan data = observation.cells.cellsStartingIn(best->range);
    for (CellIndex cell = data.first; cell < data.end && cell < observation.cell_data_bytes.size();
         ++cell)
        move.bytes += observation.cell_data_bytes[cell];
    move.batches = batchRanges(observation.cells, data.first, data.end, observation.cell_data_bytes,
                               m_options.batch_bytes);
    if (move.batches.empty()) {
        move.batches.push_back(best->range);
    } else {
        move.batches.front().start = best->range.start;
        move.batches.back().end = best->range.end;
    }
    move.duration_ms = std::llround(move.bytes / m_options.migration_bytes_per_s * kMsPerSecond);
    move.hot_at = observation.now;
    move.start_by = observation.now;
    const auto opsShare = [&](double ops, const Host& host) {
        ResourceVector load;
        load[Resource::Ops] = ops;
        return weightedUtilization(load, host.capacity, weights);
    };
    move.source_peak_before = opsShare(hotLoad, clusterHosts[hottest]);
    move.source_peak_after = opsShare(hotLoad - bestLoad, clusterHosts[hottest]);
    move.target_peak_after = opsShare(coldLoad + bestLoad, clusterHosts[coldest]);
    move.expected_gain = move.source_peak_before - move.source_peak_after;
    move.reason = source + " at " + formatPercent(hotLoad / mean) + " of the mean for " +
                  std::to_string(m_roundsAboveBand) +
                  (m_roundsAboveBand == 1 ? " round; move " : " rounds; move ") +
                  formatKeyRange(best->range) + " (" + formatPercent(bestLoad / hotLoad) + " of " +
                  source + ") to " + target;
    plan.moves.push_back(std::move(move));
    return plan;
}

PolicySpec staticPolicySpec() {
    return {"static", [](const SimulationSetup&) { return std::make_unique<StaticPolicy>(); },
            false};
}

PolicySpec reactivePolicySpec(ReactiveOptions options) {
    return {"reactive",
            [options](const SimulationSetup& setup) {
                ReactiveOptions resolved = options;
                resolved.migration_bytes_per_s = setup.options.migration_bytes_per_s;
                return std::make_unique<ReactivePolicy>(resolved);
            },
            false};
}

} // namespace rangepilot
