#include "migrator.h"

#include "dividers.h"
#include "timestamp.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rangepilot {

namespace {

using HostIndex = std::uint32_t;

// Ranking moves by gain per byte would let a range of a few bytes win on rounding noise; below
// this size every range costs the same.
constexpr double kBytesFloor = 1024.0 * 1024.0;
// Above this many hosts, targets are searched among the least loaded and the nearest few first.
constexpr std::size_t kExhaustiveTargetSearchHosts = 64;
constexpr std::size_t kTargetShortlist = 16;
// Candidates per hot host that get a target search; the rest rank too low to matter.
constexpr std::size_t kCandidatesWithTargetSearch = 64;

// ---- Wording for operators ----

std::string shortKey(std::string_view key) {
    std::string text = formatKey(key);
    if (text.size() > 16) {
        text.resize(14);
        text += "…";
    }
    return text;
}

std::string shortRange(const KeyRange& range) {
    return "[" + shortKey(range.start) + ", " + (range.end.empty() ? "+inf" : shortKey(range.end)) +
           ")";
}

std::string formatRatio(double ratio) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", ratio);
    return text;
}

std::string formatMegabytes(double bytes) {
    char text[32];
    std::snprintf(text, sizeof text, bytes < 10e6 ? "%.1f MB" : "%.0f MB", bytes / 1e6);
    return text;
}

std::string clockTime(TimeMs time) {
    return formatIso8601(time).substr(11, 5) + " UTC";
}

// ---- Series arithmetic without allocation ----

double peakOfSum(std::span<const ResourceVector> a, std::span<const ResourceVector> b,
                 const ResourceVector& capacity, const ScoreWeights& weights) {
    double peak = 0.0;
    for (std::size_t step = 0; step < a.size(); ++step)
        peak = std::max(peak, weightedUtilization(a[step] + b[step], capacity, weights));
    return peak;
}

// The peak weighted score of host + range, or nullopt when some step would exceed the target
// score or put any resource over capacity.
std::optional<double> peakIfFits(std::span<const ResourceVector> host,
                                 std::span<const ResourceVector> range,
                                 const ResourceVector& capacity, const ScoreWeights& weights,
                                 double targetScore) {
    double peak = 0.0;
    for (std::size_t step = 0; step < host.size(); ++step) {
        const ResourceVector load = host[step] + range[step];
        const double score = weightedUtilization(load, capacity, weights);
        if (score > targetScore || load.maxRatioTo(capacity) > 1.0)
            return std::nullopt;
        peak = std::max(peak, score);
    }
    return peak;
}

// ---- The working copy of the cluster ----

struct RangeState {
    ShardId id = 0;
    KeyRange range;
    CellIndex first = 0; // cells [first, end) carry the shard's load
    CellIndex end = 0;
    HostIndex owner = 0;
    std::vector<HostIndex> replicas;
    double bytes = 0.0;
    bool in_flight = false;
    bool recut = false;     // split in this round (or merged: see `merged`)
    bool merged = false;    // merged in this round: not carved, because a plan applies its
                            // splits before its merges, so a cut inside the joint range would
                            // land on a shard that does not exist yet
    std::size_t series = 0; // offset into the series store
    PeakScore peak;         // on the owner's capacity
};

class PlanningState {
public:
    PlanningState(const PlanningInput& input, const MigratorOptions& options)
        : m_input(input)
        , m_options(options)
        , m_steps(input.projection.steps()) {}

    Status build();

    std::size_t steps() const { return m_steps; }
    std::size_t rangeCount() const { return m_ranges.size(); }
    RangeState& range(std::size_t index) { return m_ranges[index]; }
    const RangeState& range(std::size_t index) const { return m_ranges[index]; }
    std::span<const ResourceVector> series(const RangeState& range) const {
        return {m_store.data() + range.series, m_steps};
    }

    std::size_t hostCount() const { return m_input.cluster.hosts.size(); }
    const HostId& hostId(HostIndex host) const { return m_input.cluster.hosts[host].id; }
    const ResourceVector& capacity(HostIndex host) const {
        return m_input.cluster.hosts[host].capacity;
    }
    std::span<const ResourceVector> hostSeries(HostIndex host) const {
        return {m_hostSeries.data() + host * m_steps, m_steps};
    }
    double hostPeak(HostIndex host) const { return m_hostPeak[host]; }
    double latencyMs(HostIndex from, HostIndex to) const {
        const LatencyMatrix& latency = m_input.cluster.latency;
        return latency.size() == hostCount() ? latency.at(from, to) : 0.0;
    }
    double cellBytes(CellIndex first, CellIndex end) const {
        return m_input.projection.unionDataBytes(first, end);
    }
    double cellBytes(CellIndex cell) const { return m_input.projection.dataBytes(cell); }
    // Adds (sign +1) or removes (-1) one cell's projected load to/from a series of steps().
    void accumulateCell(std::span<ResourceVector> series, CellIndex cell, double sign) const;
    // The key where cell `cell` starts inside `range` (its own bounds at its first and end cell).
    Key keyAt(const RangeState& range, CellIndex cell) const;

    void split(std::size_t index, CellIndex at, ShardId newId);
    void mergeWithNext(std::size_t index);
    void move(std::size_t index, HostIndex to);

private:
    Result<HostIndex> hostIndexOf(const HostId& host, ShardId shard) const;
    std::size_t storeCellSum(CellIndex first, CellIndex end);
    void refreshRangePeak(RangeState& range) {
        range.peak = peakScore(series(range), capacity(range.owner), m_options.weights);
    }
    void refreshHostPeak(HostIndex host) {
        m_hostPeak[host] = peakScore(hostSeries(host), capacity(host), m_options.weights).score;
    }
    void addToHost(HostIndex host, std::span<const ResourceVector> series, double sign);

    const PlanningInput& m_input;
    const MigratorOptions& m_options;
    std::size_t m_steps;
    std::unordered_map<std::string_view, HostIndex> m_hostIndex;
    std::vector<RangeState> m_ranges;         // key order
    std::vector<ResourceVector> m_store;      // append-only: steps entries per stored series
    std::vector<ResourceVector> m_hostSeries; // host × steps
    std::vector<double> m_hostPeak;
};

Result<HostIndex> PlanningState::hostIndexOf(const HostId& host, ShardId shard) const {
    const auto found = m_hostIndex.find(host);
    if (found == m_hostIndex.end())
        return Error{"shard " + std::to_string(shard) + ": host '" + host +
                     "' is not in the cluster model"};
    return found->second;
}

Status PlanningState::build() {
    const std::size_t hosts = hostCount();
    if (m_steps == 0)
        return Error{"the projection has no steps"};
    if (m_input.projection.cells() != m_input.cells.size())
        return Error{"the projection has " + std::to_string(m_input.projection.cells()) +
                     " cells, the key cells " + std::to_string(m_input.cells.size())};
    const LatencyMatrix& latency = m_input.cluster.latency;
    if (latency.size() != 0 && latency.size() != hosts)
        return Error{"the latency matrix is " + std::to_string(latency.size()) + "×" +
                     std::to_string(latency.size()) + " for " + std::to_string(hosts) + " hosts"};
    for (HostIndex host = 0; host < hosts; ++host)
        m_hostIndex.emplace(m_input.cluster.hosts[host].id, host);

    m_hostSeries.assign(hosts * m_steps, ResourceVector{});
    for (HostIndex host = 0; host < hosts; ++host) {
        for (std::size_t step = 0; step < m_steps; ++step)
            m_hostSeries[host * m_steps + step] = m_input.cluster.hosts[host].background;
    }

    std::unordered_map<ShardId, const InFlightMove*> moving;
    for (const InFlightMove& move : m_input.in_flight)
        moving.emplace(move.shard, &move);

    const std::vector<Shard>& shards = m_input.table.shards();
    m_ranges.reserve(shards.size());
    m_store.reserve(shards.size() * m_steps * 5 / 4);
    for (const Shard& shard : shards) {
        RangeState range;
        range.id = shard.id;
        range.range = shard.range;
        const CellSpan cells = m_input.cells.cellsStartingIn(shard.range);
        range.first = cells.first;
        range.end = cells.end;
        const auto inFlight = moving.find(shard.id);
        range.in_flight = inFlight != moving.end();
        Result<HostIndex> owner =
            hostIndexOf(range.in_flight ? inFlight->second->to : shard.owner, shard.id);
        if (!owner)
            return owner.error();
        range.owner = *owner;
        for (const HostId& replica : shard.replicas) {
            Result<HostIndex> index = hostIndexOf(replica, shard.id);
            if (!index)
                return index.error();
            range.replicas.push_back(*index);
        }
        range.series = storeCellSum(range.first, range.end);
        range.bytes = cellBytes(range.first, range.end);
        addToHost(range.owner, series(range), 1.0);
        m_ranges.push_back(std::move(range));
    }
    m_hostPeak.assign(hosts, 0.0);
    for (HostIndex host = 0; host < hosts; ++host)
        refreshHostPeak(host);
    for (RangeState& range : m_ranges)
        refreshRangePeak(range);
    return {};
}

std::size_t PlanningState::storeCellSum(CellIndex first, CellIndex end) {
    const std::size_t offset = m_store.size();
    m_store.resize(offset + m_steps);
    const CellProjection& projection = m_input.projection;
    for (CellIndex cell = first; cell < end; ++cell) {
        for (std::size_t step = 0; step < m_steps; ++step) {
            ResourceVector& sum = m_store[offset + step];
            for (const Resource resource : kAllResources)
                sum[resource] += projection.rate(cell, step, resource);
        }
    }
    return offset;
}

void PlanningState::accumulateCell(std::span<ResourceVector> series, CellIndex cell,
                                   double sign) const {
    const CellProjection& projection = m_input.projection;
    for (std::size_t step = 0; step < m_steps; ++step) {
        for (const Resource resource : kAllResources)
            series[step][resource] += sign * projection.rate(cell, step, resource);
    }
}

Key PlanningState::keyAt(const RangeState& range, CellIndex cell) const {
    if (cell <= range.first)
        return range.range.start;
    if (cell >= range.end)
        return range.range.end;
    return m_input.cells.start(cell);
}

void PlanningState::addToHost(HostIndex host, std::span<const ResourceVector> series, double sign) {
    for (std::size_t step = 0; step < m_steps; ++step) {
        ResourceVector& total = m_hostSeries[host * m_steps + step];
        total += series[step] * sign;
        for (double& value : total.values)
            value = std::max(0.0, value); // rounding must not leave a negative load behind
    }
}

void PlanningState::split(std::size_t index, CellIndex at, ShardId newId) {
    RangeState right = m_ranges[index];
    RangeState& left = m_ranges[index];
    right.id = newId;
    right.first = at;
    right.range.start = m_input.cells.start(at);
    left.end = at;
    left.range.end = right.range.start;
    left.recut = right.recut = true;
    left.series = storeCellSum(left.first, left.end);
    right.series = storeCellSum(right.first, right.end);
    left.bytes = cellBytes(left.first, left.end);
    right.bytes = cellBytes(right.first, right.end);
    refreshRangePeak(left);
    refreshRangePeak(right);
    m_ranges.insert(m_ranges.begin() + static_cast<std::ptrdiff_t>(index) + 1, std::move(right));
}

void PlanningState::mergeWithNext(std::size_t index) {
    RangeState& left = m_ranges[index];
    const RangeState& right = m_ranges[index + 1];
    left.end = right.end;
    left.range.end = right.range.end;
    left.bytes += right.bytes;
    left.merged = true;
    const std::size_t offset = m_store.size();
    m_store.resize(offset + m_steps);
    for (std::size_t step = 0; step < m_steps; ++step)
        m_store[offset + step] = m_store[left.series + step] + m_store[right.series + step];
    left.series = offset;
    refreshRangePeak(left);
    m_ranges.erase(m_ranges.begin() + static_cast<std::ptrdiff_t>(index) + 1);
}

void PlanningState::move(std::size_t index, HostIndex to) {
    RangeState& range = m_ranges[index];
    const HostIndex from = range.owner;
    addToHost(from, series(range), -1.0);
    addToHost(to, series(range), 1.0);
    range.owner = to;
    refreshHostPeak(from);
    refreshHostPeak(to);
    refreshRangePeak(range);
}

// ---- Dividers ----

std::string splitReason(const PlanningState& state, const RangeState& range, TimeMs peakAt,
                        const Key& at, const SplitPoint& point) {
    return "shard " + std::to_string(range.id) + " " + shortRange(range.range) + " projected at " +
           formatPercent(range.peak.score) + " of " + state.hostId(range.owner) +
           "'s capacity at " + clockTime(peakAt) + "; split at " + shortKey(at) +
           " into halves projected at " + formatPercent(point.peak_left) + " and " +
           formatPercent(point.peak_right);
}

void planSplits(PlanningState& state, const PlanningInput& input, const MigratorOptions& options,
                ShardId& nextShardId, MigrationPlan& plan) {
    std::unordered_set<ShardId> unsplittable;
    const TimeMs stepMs = input.projection.stepMs();
    while (plan.splits.size() < options.max_splits_per_round &&
           (options.max_shards == 0 || state.rangeCount() < options.max_shards)) {
        std::optional<std::size_t> hottest;
        for (std::size_t i = 0; i < state.rangeCount(); ++i) {
            const RangeState& range = state.range(i);
            if (range.in_flight || range.end - range.first < 2 ||
                range.peak.score <= options.split_above || unsplittable.contains(range.id))
                continue;
            if (!hottest || range.peak.score > state.range(*hottest).peak.score)
                hottest = i;
        }
        if (!hottest)
            return;
        const RangeState& range = state.range(*hottest);
        const std::optional<SplitPoint> point = findBalancingSplit(
            input.projection, range.first, range.end, state.capacity(range.owner), options.weights);
        const bool worthIt =
            point &&
            range.peak.score - std::max(point->peak_left, point->peak_right) >= options.min_gain;
        const bool bigEnough =
            point && state.cellBytes(range.first, point->cell) >= options.min_shard_bytes &&
            state.cellBytes(point->cell, range.end) >= options.min_shard_bytes;
        if (!worthIt || !bigEnough) {
            unsplittable.insert(range.id);
            continue;
        }
        SplitInstruction split;
        split.shard = range.id;
        split.at = input.cells.start(point->cell);
        split.new_shard = nextShardId++;
        split.peak_before = range.peak.score;
        split.peak_left = point->peak_left;
        split.peak_right = point->peak_right;
        split.reason =
            splitReason(state, range, input.now + static_cast<TimeMs>(range.peak.step) * stepMs,
                        split.at, *point);
        state.split(*hottest, point->cell, split.new_shard);
        plan.splits.push_back(std::move(split));
    }
}

bool recentlyTouched(const MoveHistory& history, const KeyRange& range, TimeMs now,
                     TimeMs cooldown) {
    const std::optional<TimeMs> recut = history.lastBoundaryChangeOverlapping(range);
    const std::optional<TimeMs> moved = history.lastMoveOverlapping(range);
    return (recut && *recut > now - cooldown) || (moved && *moved > now - cooldown);
}

void planMerges(PlanningState& state, const PlanningInput& input, const MigratorOptions& options,
                MigrationPlan& plan) {
    for (std::size_t i = 0;
         i + 1 < state.rangeCount() && plan.merges.size() < options.max_merges_per_round;) {
        const RangeState& left = state.range(i);
        const RangeState& right = state.range(i + 1);
        const bool sameHosts = left.owner == right.owner && left.replicas == right.replicas;
        const bool settled = !left.in_flight && !right.in_flight && !left.recut && !right.recut;
        if (!sameHosts || !settled || left.peak.score >= options.merge_below ||
            right.peak.score >= options.merge_below) {
            ++i;
            continue;
        }
        const double jointPeak = peakOfSum(state.series(left), state.series(right),
                                           state.capacity(left.owner), options.weights);
        const KeyRange joint{left.range.start, right.range.end};
        if (jointPeak >= options.merge_below ||
            recentlyTouched(input.history, joint, input.now, options.cooldown_ms)) {
            ++i;
            continue;
        }
        MergeInstruction merge;
        merge.left = left.id;
        merge.right = right.id;
        merge.joint_peak = jointPeak;
        merge.reason = "shards " + std::to_string(left.id) + " and " + std::to_string(right.id) +
                       " on " + state.hostId(left.owner) + " are cold (" +
                       formatPercent(jointPeak) +
                       " of its capacity together at peak); merge into " + shortRange(joint);
        plan.merges.push_back(std::move(merge));
        state.mergeWithNext(i); // stay at i: the merged shard may take its next neighbour too
    }
}

// ---- Placement ----

// A run of cells strictly inside a shard that moves on its own: the shard is split around it.
struct Carve {
    CellIndex first = 0;
    CellIndex end = 0;
    double bytes = 0.0;
    double after = 0.0; // the source's projected peak score without the run
};

struct MoveChoice {
    std::size_t range = 0;      // the shard that moves, or the one the carve is cut from
    std::optional<Carve> carve; // only these cells move
    HostIndex to = 0;
    double source_before = 0.0;
    double source_after = 0.0;
    double target_after = 0.0;
};

// What a choice moves, before any carve has been cut: the shard, or the run of its cells.
struct MoveSubject {
    ShardId shard = 0;
    KeyRange range;
    CellIndex first = 0;
    CellIndex end = 0;
    double bytes = 0.0;
    HostIndex owner = 0;
    std::optional<ShardId> carved_from;
};

// Shard ids the carves of one round created, by the piece that moves: the splits to drop when
// that move is held after all.
using CarveSplits = std::unordered_map<ShardId, std::vector<ShardId>>;

class MovePlanner {
public:
    // Carves take ids from nextShardId and are bounded by splitsLeft (further splits this round).
    MovePlanner(PlanningState& state, const PlanningInput& input, const MigratorOptions& options,
                ShardId nextShardId, std::size_t splitsLeft)
        : m_state(state)
        , m_input(input)
        , m_options(options)
        , m_rangesOf(state.hostCount())
        , m_exhausted(state.hostCount(), false)
        , m_nextShardId(nextShardId)
        , m_splitsLeft(splitsLeft)
        , m_window(state.steps()) {
        indexRangesByOwner();
        setThresholds();
        rankHosts();
    }

    // Plans moves into `plan` until no host is over the threshold or none can shed more, under
    // the anti-thrash rules and budgets. The splits of carves that start now go to plan.splits.
    void planMoves(MigrationPlan& plan);
    const CarveSplits& carveSplits() const { return m_carveSplits; }
    ShardId nextShardId() const { return m_nextShardId; }
    // The same with cooldowns, undo windows and budgets lifted (the next-round check): the
    // shards it moves or carves from.
    std::unordered_set<ShardId> shardsMovedWithoutLimits();

private:
    // The best move of the hottest host that can still shed load; hosts that cannot are retired.
    std::optional<MoveChoice> nextChoice();
    std::size_t maxIterations() const;
    std::optional<HostIndex> hottestOverThreshold() const;
    std::optional<MoveChoice> bestMove(HostIndex source);
    std::optional<Carve> cheapestSufficientCarve(HostIndex source, const RangeState& range);
    bool carveFitsBounds(const RangeState& range, const Carve& carve, double leftBytes) const;
    std::optional<std::pair<HostIndex, double>> bestTarget(std::span<const ResourceVector> series,
                                                           const std::vector<HostIndex>& replicas,
                                                           HostIndex source) const;
    std::vector<HostIndex> targetCandidates(HostIndex source) const;
    MoveSubject subjectOf(const MoveChoice& choice) const;
    std::optional<std::string> antiThrashVeto(const MoveChoice& choice,
                                              const MoveSubject& subject) const;
    MoveInstruction describe(const MoveChoice& choice, const MoveSubject& subject) const;
    // Cuts the carve out of its shard in the working state (and into `emitted` when given);
    // returns the choice rewritten to move the piece.
    MoveChoice cutCarve(const MoveChoice& choice, std::vector<SplitInstruction>* emitted);
    void apply(const MoveChoice& choice);
    void indexRangesByOwner();
    void rankHosts();
    void setThresholds();

    PlanningState& m_state;
    const PlanningInput& m_input;
    const MigratorOptions& m_options;
    std::vector<std::vector<std::size_t>> m_rangesOf; // range indices per owner
    std::vector<HostIndex> m_byPeak;                  // hosts, least loaded first
    mutable std::unordered_map<HostIndex, std::vector<HostIndex>> m_byLatency;
    std::vector<bool> m_exhausted;
    std::unordered_set<ShardId> m_excluded;
    ShardId m_nextShardId;
    std::size_t m_splitsLeft;
    CarveSplits m_carveSplits;
    std::vector<ResourceVector> m_window; // scratch: the load of a run of cells
    std::vector<ResourceVector> m_rest;   // scratch: the load of a shard's cells from one on
    double m_meanPeak = 0.0;              // peak score of the cluster's mean host series
    double m_hotAbove = 0.0;              // a host sheds above this score
    double m_fillUpTo = 0.0;              // a target takes load up to this score
};

void MovePlanner::indexRangesByOwner() {
    for (std::vector<std::size_t>& ranges : m_rangesOf)
        ranges.clear();
    for (std::size_t i = 0; i < m_state.rangeCount(); ++i)
        m_rangesOf[m_state.range(i).owner].push_back(i);
}

void MovePlanner::setThresholds() {
    // The mean host: the cluster's total series over the hosts, scored against the mean capacity.
    const std::size_t hosts = m_state.hostCount();
    std::vector<ResourceVector> total(m_state.steps());
    ResourceVector capacity;
    for (HostIndex host = 0; host < hosts; ++host) {
        const auto series = m_state.hostSeries(host);
        for (std::size_t step = 0; step < total.size(); ++step)
            total[step] += series[step];
        capacity += m_state.capacity(host);
    }
    m_meanPeak = peakScore(total, capacity, m_options.weights).score;
    m_hotAbove = m_options.overload_threshold;
    m_fillUpTo = m_options.target_utilization;
    if (m_options.balance_band > 0.0) {
        m_hotAbove = std::min(m_hotAbove, std::max(m_options.balance_floor,
                                                   m_meanPeak * (1.0 + m_options.balance_band)));
        m_fillUpTo = std::min(m_fillUpTo, m_meanPeak * (1.0 + m_options.balance_band / 2.0));
    }
}

void MovePlanner::rankHosts() {
    m_byPeak.resize(m_state.hostCount());
    for (HostIndex host = 0; host < m_byPeak.size(); ++host)
        m_byPeak[host] = host;
    std::stable_sort(m_byPeak.begin(), m_byPeak.end(), [this](HostIndex a, HostIndex b) {
        return m_state.hostPeak(a) < m_state.hostPeak(b);
    });
}

std::optional<HostIndex> MovePlanner::hottestOverThreshold() const {
    std::optional<HostIndex> hottest;
    for (HostIndex host = 0; host < m_state.hostCount(); ++host) {
        if (m_exhausted[host] || m_state.hostPeak(host) <= m_hotAbove)
            continue;
        if (!hottest || m_state.hostPeak(host) > m_state.hostPeak(*hottest))
            hottest = host;
    }
    return hottest;
}

std::vector<HostIndex> MovePlanner::targetCandidates(HostIndex source) const {
    if (m_state.hostCount() <= kExhaustiveTargetSearchHosts)
        return m_byPeak;
    std::vector<HostIndex> candidates(
        m_byPeak.begin(), m_byPeak.begin() + static_cast<std::ptrdiff_t>(
                                                 std::min(kTargetShortlist, m_byPeak.size())));
    if (m_input.cluster.latency.size() != 0) {
        auto [entry, inserted] = m_byLatency.try_emplace(source);
        if (inserted) {
            entry->second = m_byPeak;
            std::stable_sort(entry->second.begin(), entry->second.end(),
                             [this, source](HostIndex a, HostIndex b) {
                                 return m_state.latencyMs(source, a) < m_state.latencyMs(source, b);
                             });
        }
        // The nearest hosts that are not already loaded past the target.
        std::size_t added = 0;
        for (const HostIndex host : entry->second) {
            if (added == kTargetShortlist)
                break;
            if (m_state.hostPeak(host) < m_fillUpTo) {
                candidates.push_back(host);
                ++added;
            }
        }
    }
    return candidates;
}

std::optional<std::pair<HostIndex, double>>
MovePlanner::bestTarget(std::span<const ResourceVector> series,
                        const std::vector<HostIndex>& replicas, HostIndex source) const {
    std::optional<std::pair<HostIndex, double>> best;
    double bestCost = std::numeric_limits<double>::infinity();
    auto consider = [&](HostIndex host) {
        if (host == source || std::find(replicas.begin(), replicas.end(), host) != replicas.end())
            return;
        const std::optional<double> peak =
            peakIfFits(m_state.hostSeries(host), series, m_state.capacity(host), m_options.weights,
                       m_fillUpTo);
        if (!peak)
            return;
        const double cost = *peak + m_options.latency_weight * m_state.latencyMs(source, host);
        if (cost < bestCost) {
            bestCost = cost;
            best = std::pair{host, *peak};
        }
    };
    for (const HostIndex host : targetCandidates(source))
        consider(host);
    if (!best && m_state.hostCount() > kExhaustiveTargetSearchHosts) {
        // The shortlist was full; the first host that fits in load order is the best left.
        for (const HostIndex host : m_byPeak) {
            consider(host);
            if (best)
                break;
        }
    }
    return best;
}

bool MovePlanner::carveFitsBounds(const RangeState& range, const Carve& carve,
                                  double leftBytes) const {
    const double minBytes = m_options.min_shard_bytes;
    const double rightBytes = range.bytes - leftBytes - carve.bytes;
    const std::size_t cuts = (carve.first > range.first ? 1 : 0) + (carve.end < range.end ? 1 : 0);
    const bool withinShardCount =
        m_options.max_shards == 0 || m_state.rangeCount() + cuts <= m_options.max_shards;
    return cuts > 0 && cuts <= m_splitsLeft && withinShardCount && carve.bytes >= minBytes &&
           (carve.first == range.first || leftBytes >= minBytes) &&
           (carve.end == range.end || rightBytes >= minBytes) &&
           carve.bytes <= m_options.carve_max_fraction * range.bytes;
}

// The run of the shard's cells with the fewest bytes whose move alone brings the source under
// the threshold (by at least min_gain), within the split and size bounds. Removing more cells
// never lowers the gain, so for each first cell the shortest run that suffices and holds
// min_shard_bytes ends no earlier than the previous first cell's: two pointers, O(cells · steps).
// Each first cell also tries the whole rest of the shard, which needs one cut instead of two.
std::optional<Carve> MovePlanner::cheapestSufficientCarve(HostIndex source,
                                                          const RangeState& range) {
    if (m_options.carve_max_fraction <= 0.0 || m_splitsLeft == 0 || range.end - range.first < 2)
        return std::nullopt;
    const auto host = m_state.hostSeries(source);
    const ResourceVector& capacity = m_state.capacity(source);
    const double before = m_state.hostPeak(source);
    auto sufficientAfter = [&](std::span<const ResourceVector> part) -> std::optional<double> {
        const double after = peakWithout(host, part, capacity, m_options.weights);
        if (after <= m_hotAbove && before - after >= m_options.min_gain)
            return after;
        return std::nullopt;
    };
    std::optional<Carve> best;
    auto consider = [&](const Carve& carve, double leftBytes) {
        const bool cheaper =
            !best || carve.bytes < best->bytes ||
            (carve.bytes == best->bytes && carve.after < best->after); // more headroom
        if (cheaper && carveFitsBounds(range, carve, leftBytes))
            best = carve;
    };

    std::fill(m_window.begin(), m_window.end(), ResourceVector{});
    // The shard's series minus its cells before `first`: the rest of the shard.
    const auto whole = m_state.series(range);
    m_rest.assign(whole.begin(), whole.end());
    double leftBytes = 0.0;
    double windowBytes = 0.0;
    CellIndex end = range.first;
    for (CellIndex first = range.first; first < range.end; ++first) {
        if (first > range.first) {
            if (const std::optional<double> after = sufficientAfter(m_rest))
                consider({first, range.end, range.bytes - leftBytes, *after}, leftBytes);
            else
                break; // no run from here on can suffice
        }
        std::optional<double> after = sufficientAfter(m_window);
        while ((!after || windowBytes < m_options.min_shard_bytes) && end < range.end) {
            m_state.accumulateCell(m_window, end, 1.0);
            windowBytes += m_state.cellBytes(end);
            ++end;
            after = sufficientAfter(m_window);
        }
        if (after && windowBytes >= m_options.min_shard_bytes)
            consider({first, end, windowBytes, *after}, leftBytes);
        m_state.accumulateCell(m_window, first, -1.0);
        m_state.accumulateCell(m_rest, first, -1.0);
        windowBytes -= m_state.cellBytes(first);
        leftBytes += m_state.cellBytes(first);
    }
    return best;
}

std::optional<MoveChoice> MovePlanner::bestMove(HostIndex source) {
    struct Candidate {
        std::size_t range;
        std::optional<Carve> carve;
        double after;
        bool sufficient;
        double rank; // bytes for sufficient ones (lower first), −gain per byte otherwise
    };
    // Among equally cheap sufficient moves, the larger gain leaves more headroom, so the host is
    // less likely to need another move next round.
    const double before = m_state.hostPeak(source);
    std::vector<Candidate> candidates;
    for (const std::size_t index : m_rangesOf[source]) {
        const RangeState& range = m_state.range(index);
        if (range.in_flight || range.peak.score <= 0.0 || m_excluded.contains(range.id))
            continue;
        const double after = peakWithout(m_state.hostSeries(source), m_state.series(range),
                                         m_state.capacity(source), m_options.weights);
        const double gain = before - after;
        if (gain < m_options.min_gain)
            continue;
        const bool sufficient = after <= m_hotAbove;
        const double rank = sufficient ? range.bytes : -gain / (range.bytes + kBytesFloor);
        candidates.push_back({index, std::nullopt, after, sufficient, rank});
        if (sufficient && !range.merged) {
            if (const std::optional<Carve> carve = cheapestSufficientCarve(source, range))
                candidates.push_back({index, carve, carve->after, true, carve->bytes});
        }
    }
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
        if (a.sufficient != b.sufficient)
            return a.sufficient;
        if (a.rank != b.rank)
            return a.rank < b.rank;
        if (a.after != b.after)
            return a.after < b.after;
        if (a.range != b.range)
            return a.range < b.range;
        return !a.carve && b.carve;
    });
    const std::size_t searched = std::min(candidates.size(), kCandidatesWithTargetSearch);
    for (std::size_t i = 0; i < searched; ++i) {
        const Candidate& candidate = candidates[i];
        const RangeState& range = m_state.range(candidate.range);
        std::span<const ResourceVector> series = m_state.series(range);
        if (candidate.carve) {
            std::fill(m_window.begin(), m_window.end(), ResourceVector{});
            for (CellIndex cell = candidate.carve->first; cell < candidate.carve->end; ++cell)
                m_state.accumulateCell(m_window, cell, 1.0);
            series = m_window;
        }
        if (const auto target = bestTarget(series, range.replicas, source))
            return MoveChoice{candidate.range, candidate.carve, target->first,
                              before,          candidate.after, target->second};
    }
    return std::nullopt;
}

MoveSubject MovePlanner::subjectOf(const MoveChoice& choice) const {
    const RangeState& range = m_state.range(choice.range);
    MoveSubject subject{range.id,    range.range, range.first, range.end,
                        range.bytes, range.owner, std::nullopt};
    if (choice.carve) {
        subject.range = KeyRange{m_state.keyAt(range, choice.carve->first),
                                 m_state.keyAt(range, choice.carve->end)};
        subject.first = choice.carve->first;
        subject.end = choice.carve->end;
        subject.bytes = choice.carve->bytes;
        subject.carved_from = range.id;
    }
    return subject;
}

std::optional<std::string> MovePlanner::antiThrashVeto(const MoveChoice& choice,
                                                       const MoveSubject& subject) const {
    const TimeMs now = m_input.now;
    // A cooldown damps balancing churn; it does not stand in the way of a projected overload.
    const bool sourceOverloaded = choice.source_before > m_options.overload_threshold;
    if (const std::optional<TimeMs> moved = m_input.history.lastMoveOverlapping(subject.range);
        !sourceOverloaded && moved && *moved > now - m_options.cooldown_ms) {
        return "cooldown: an overlapping range moved " +
               std::to_string((now - *moved) / kMsPerMinute) + " min ago (cooldown " +
               std::to_string(m_options.cooldown_ms / kMsPerMinute) + " min)";
    }
    const HostId& from = m_state.hostId(subject.owner);
    const HostId& to = m_state.hostId(choice.to);
    if (const MoveRecord* undone =
            m_input.history.undoneBy(subject.range, from, to, now, m_options.undo_window_ms)) {
        const auto source = m_state.hostSeries(subject.owner);
        const bool overloadedNow = weightedUtilization(source[0], m_state.capacity(subject.owner),
                                                       m_options.weights) > 1.0;
        if (!overloadedNow)
            return "would undo the move of " + shortRange(undone->range) + " from " + to + " to " +
                   from + " at " + clockTime(undone->started_ms);
    }
    return std::nullopt;
}

MoveInstruction MovePlanner::describe(const MoveChoice& choice, const MoveSubject& subject) const {
    const HostIndex source = subject.owner;
    const auto sourceSeries = m_state.hostSeries(source);
    const std::size_t hotStep = std::min(
        firstStepAbove(sourceSeries, m_state.capacity(source), m_options.weights, m_hotAbove),
        m_state.steps() - 1);
    const Resource bottleneck =
        bottleneckResource(sourceSeries[hotStep], m_state.capacity(source), m_options.weights);

    MoveInstruction move;
    move.shard = subject.shard;
    move.range = subject.range;
    move.from = m_state.hostId(source);
    move.to = m_state.hostId(choice.to);
    move.bytes = subject.bytes;
    move.carved_from = subject.carved_from;
    move.batches = batchRanges(m_input.cells, subject.first, subject.end,
                               m_input.projection.allDataBytes(), m_options.batch_bytes);
    move.duration_ms =
        static_cast<TimeMs>(std::ceil(subject.bytes / m_options.migration_bytes_per_s * 1000.0));
    move.hot_at = m_input.now + static_cast<TimeMs>(hotStep) * m_input.projection.stepMs();
    move.start_by = move.hot_at - move.duration_ms - m_options.safety_ms;
    move.source_peak_before = choice.source_before;
    move.source_peak_after = choice.source_after;
    move.target_peak_after = choice.target_after;
    move.expected_gain = choice.source_before - choice.source_after;
    // A whole shard's peak on its owner is kept up to date; a carve's is scored here, once.
    const double shareOfSource =
        subject.carved_from ? peakScore(m_input.projection.unionSeries(subject.first, subject.end),
                                        m_state.capacity(source), m_options.weights)
                                  .score
                            : m_state.range(choice.range).peak.score;
    const bool overThreshold = choice.source_before > m_options.overload_threshold;
    const std::string relativeToMean =
        overThreshold || m_meanPeak <= 0.0
            ? std::string()
            : ", " + formatRatio(choice.source_before / m_meanPeak) + "× the cluster mean,";
    const std::string carvedFrom =
        subject.carved_from ? ", its hot part: " + formatMegabytes(subject.bytes) + " of shard " +
                                  std::to_string(*subject.carved_from) + "'s " +
                                  formatMegabytes(m_state.range(choice.range).bytes)
                            : std::string();
    move.reason = move.from + " projected at " + formatPercent(choice.source_before) +
                  " of capacity (" + std::string(resourceName(bottleneck)) + ")" + relativeToMean +
                  " at " + clockTime(move.hot_at) + "; move " + shortRange(subject.range) + " (" +
                  formatPercent(shareOfSource) + " of " + move.from + carvedFrom + ") to " +
                  move.to + " (projected " + formatPercent(choice.target_after) + " after)";
    return move;
}

MoveChoice MovePlanner::cutCarve(const MoveChoice& choice, std::vector<SplitInstruction>* emitted) {
    const Carve& carve = *choice.carve;
    std::size_t piece = choice.range;
    const KeyRange hotPart{m_state.keyAt(m_state.range(piece), carve.first),
                           m_state.keyAt(m_state.range(piece), carve.end)};
    std::vector<ShardId> created;
    auto cut = [&](std::size_t index, CellIndex at) {
        RangeState& whole = m_state.range(index);
        SplitInstruction split;
        split.shard = whole.id;
        split.at = m_state.keyAt(whole, at);
        split.new_shard = m_nextShardId++;
        split.peak_before = whole.peak.score;
        const KeyRange wholeRange = whole.range;
        m_state.split(index, at, split.new_shard);
        split.peak_left = m_state.range(index).peak.score;
        split.peak_right = m_state.range(index + 1).peak.score;
        split.reason = "shard " + std::to_string(split.shard) + " " + shortRange(wholeRange) +
                       ": split at " + shortKey(split.at) + " so that only its hot part " +
                       shortRange(hotPart) + " moves to " + m_state.hostId(choice.to);
        created.push_back(split.new_shard);
        --m_splitsLeft;
        if (emitted)
            emitted->push_back(std::move(split));
    };
    // Cut the right edge first, so the piece keeps the shard's id when it is the left part.
    if (carve.end < m_state.range(piece).end)
        cut(piece, carve.end);
    if (carve.first > m_state.range(piece).first) {
        cut(piece, carve.first);
        ++piece;
    }
    indexRangesByOwner();
    // The rest of the shard waits for the next round: its id may not exist outside this plan
    // until the cut is applied, and a dropped cut must not strand a later instruction.
    for (std::size_t index = choice.range; index <= choice.range + created.size(); ++index) {
        if (index != piece)
            m_excluded.insert(m_state.range(index).id);
    }
    if (emitted)
        m_carveSplits[m_state.range(piece).id] = created;
    MoveChoice cutChoice = choice;
    cutChoice.range = piece;
    cutChoice.carve.reset();
    return cutChoice;
}

void MovePlanner::apply(const MoveChoice& choice) {
    const HostIndex from = m_state.range(choice.range).owner;
    std::erase(m_rangesOf[from], choice.range);
    m_rangesOf[choice.to].push_back(choice.range);
    m_state.move(choice.range, choice.to);
    m_excluded.insert(m_state.range(choice.range).id); // one move per shard and round
    rankHosts();
}

std::optional<MoveChoice> MovePlanner::nextChoice() {
    while (const std::optional<HostIndex> source = hottestOverThreshold()) {
        if (std::optional<MoveChoice> choice = bestMove(*source))
            return choice;
        m_exhausted[*source] = true;
    }
    return std::nullopt;
}

std::size_t MovePlanner::maxIterations() const {
    // Every iteration moves a shard (at most once per round), excludes one, or retires a host;
    // carves add at most two shards each, within the split budget.
    return 2 * (m_state.rangeCount() + 2 * m_splitsLeft) + m_state.hostCount() + 1;
}

void MovePlanner::planMoves(MigrationPlan& plan) {
    const std::size_t running = m_input.in_flight.size();
    std::size_t slots =
        m_options.max_concurrent_moves > running ? m_options.max_concurrent_moves - running : 0;
    double bytesLeft = std::numeric_limits<double>::infinity();
    if (m_options.max_bytes_per_hour > 0.0)
        bytesLeft = m_options.max_bytes_per_hour -
                    m_input.history.bytesStartedSince(m_input.now - kMsPerHour);
    const std::size_t iterations = maxIterations();
    for (std::size_t iteration = 0; iteration < iterations; ++iteration) {
        std::optional<MoveChoice> choice = nextChoice();
        if (!choice)
            return;
        const MoveSubject subject = subjectOf(*choice);
        MoveInstruction move = describe(*choice, subject);
        if (std::optional<std::string> why = antiThrashVeto(*choice, subject)) {
            m_excluded.insert(move.shard);
            plan.held.push_back({std::move(move), std::move(*why)});
            continue;
        }
        const bool due = move.start_by <= m_input.now + m_input.round_ms;
        if (due && (slots == 0 || move.bytes > bytesLeft)) {
            std::string why = slots == 0
                                  ? "budget: " + std::to_string(running) + " moves in flight and " +
                                        std::to_string(plan.moves.size()) + " planned (max " +
                                        std::to_string(m_options.max_concurrent_moves) + ")"
                                  : "budget: " + std::to_string(std::llround(move.bytes / 1e6)) +
                                        " MB would exceed the bytes-per-hour budget";
            m_exhausted[subject.owner] = true;
            plan.held.push_back({std::move(move), std::move(why)});
            continue;
        }
        if (choice->carve) {
            // A deferred carve is cut in the working state only: the next rounds re-plan it.
            choice = cutCarve(*choice, due ? &plan.splits : nullptr);
            if (due)
                move.shard = m_state.range(choice->range).id;
        }
        apply(*choice);
        if (due) {
            --slots;
            bytesLeft -= move.bytes;
            plan.moves.push_back(std::move(move));
        } else {
            plan.deferred.push_back(std::move(move));
        }
    }
}

std::unordered_set<ShardId> MovePlanner::shardsMovedWithoutLimits() {
    std::unordered_set<ShardId> moved;
    const std::size_t iterations = maxIterations();
    for (std::size_t iteration = 0; iteration < iterations; ++iteration) {
        std::optional<MoveChoice> choice = nextChoice();
        if (!choice)
            break;
        moved.insert(m_state.range(choice->range).id);
        if (choice->carve)
            choice = cutCarve(*choice, nullptr);
        apply(*choice);
    }
    return moved;
}

// The next-round check: plan again on the post-move state with cooldowns and budgets lifted;
// moves whose shard that pass would move again are held, and the splits that carved them out
// are dropped with them.
void holdMovesTheNextRoundWouldRedo(PlanningState& state, const PlanningInput& input,
                                    const MigratorOptions& options, ShardId nextShardId,
                                    const CarveSplits& carveSplits, MigrationPlan& plan) {
    if (plan.moves.empty() && plan.deferred.empty())
        return;
    const std::unordered_set<ShardId> redone =
        MovePlanner(state, input, options, nextShardId, options.max_splits_per_round)
            .shardsMovedWithoutLimits();
    std::unordered_set<ShardId> droppedSplits;
    auto holdRedone = [&](std::vector<MoveInstruction>& moves) {
        std::erase_if(moves, [&](MoveInstruction& move) {
            if (!redone.contains(move.shard))
                return false;
            if (const auto carved = carveSplits.find(move.shard); carved != carveSplits.end())
                droppedSplits.insert(carved->second.begin(), carved->second.end());
            plan.held.push_back({std::move(move), "the next round would move it again"});
            return true;
        });
    };
    holdRedone(plan.moves);
    holdRedone(plan.deferred);
    std::erase_if(plan.splits, [&](const SplitInstruction& split) {
        return droppedSplits.contains(split.new_shard);
    });
}

} // namespace

Status validate(const MigratorOptions& options) {
    auto inRange = [](double value, double low, double high) {
        return std::isfinite(value) && value > low && value <= high;
    };
    if (!inRange(options.overload_threshold, 0.0, 10.0))
        return Error{"overload_threshold must be in (0, 10]"};
    if (!inRange(options.target_utilization, 0.0, 1.0))
        return Error{"target_utilization must be in (0, 1]"};
    if (options.target_utilization > options.overload_threshold)
        return Error{"target_utilization must not exceed overload_threshold"};
    if (!inRange(options.split_above, 0.0, 10.0))
        return Error{"split_above must be in (0, 10]"};
    if (!std::isfinite(options.merge_below) || options.merge_below < 0.0 ||
        options.merge_below >= options.split_above)
        return Error{"merge_below must be in [0, split_above)"};
    if (!std::isfinite(options.balance_band) || options.balance_band < 0.0)
        return Error{"balance_band must be >= 0 (0 = off)"};
    if (!std::isfinite(options.balance_floor) || options.balance_floor < 0.0)
        return Error{"balance_floor must be >= 0"};
    if (!std::isfinite(options.min_gain) || options.min_gain <= 0.0)
        return Error{"min_gain must be > 0"};
    if (!std::isfinite(options.min_shard_bytes) || options.min_shard_bytes < 0.0)
        return Error{"min_shard_bytes must be >= 0"};
    if (!std::isfinite(options.carve_max_fraction) || options.carve_max_fraction < 0.0 ||
        options.carve_max_fraction >= 1.0)
        return Error{"carve_max_fraction must be in [0, 1) (0 = whole shards only)"};
    if (options.cooldown_ms < 0 || options.undo_window_ms < 0 || options.safety_ms < 0)
        return Error{"cooldown_ms, undo_window_ms and safety_ms must be >= 0"};
    if (!std::isfinite(options.max_bytes_per_hour) || options.max_bytes_per_hour < 0.0)
        return Error{"max_bytes_per_hour must be >= 0 (0 = unbounded)"};
    if (!inRange(options.migration_bytes_per_s, 0.0, 1e15))
        return Error{"migration_bytes_per_s must be > 0"};
    if (!inRange(options.batch_bytes, 0.0, 1e15))
        return Error{"batch_bytes must be > 0"};
    if (!std::isfinite(options.latency_weight) || options.latency_weight < 0.0)
        return Error{"latency_weight must be >= 0"};
    for (const Resource resource : kAllResources) {
        const double weight = options.weights.weight[resource];
        if (!std::isfinite(weight) || weight < 0.0)
            return Error{"the weight of " + std::string(resourceName(resource)) + " must be >= 0"};
    }
    return {};
}

Result<MigrationPlan> planMigrations(const PlanningInput& input, const MigratorOptions& options) {
    if (Status valid = validate(options); !valid)
        return Error{valid.message()};
    PlanningState state(input, options);
    if (Status built = state.build(); !built)
        return Error{built.message()};

    MigrationPlan plan;
    plan.now = input.now;
    plan.table_epoch = input.table.epoch();
    ShardId nextShardId = input.table.nextFreeShardId();
    planSplits(state, input, options, nextShardId, plan);
    planMerges(state, input, options, plan);
    const std::size_t splitsLeft = options.max_splits_per_round > plan.splits.size()
                                       ? options.max_splits_per_round - plan.splits.size()
                                       : 0;
    MovePlanner placement(state, input, options, nextShardId, splitsLeft);
    placement.planMoves(plan);
    if (options.check_next_round)
        holdMovesTheNextRoundWouldRedo(state, input, options, placement.nextShardId(),
                                       placement.carveSplits(), plan);
    return plan;
}

} // namespace rangepilot
