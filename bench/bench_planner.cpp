// One planning round of the migrator at scale: 100,000 ranges on 1,000 hosts with a 12-step
// projection (an hour in 5-minute steps), next to a naive planner measured in the same run on the
// same input. The naive planner makes the same kind of decisions the obvious way: before every
// move it recomputes every host's series from every range, and it tries every range of the
// hottest host against every other host.
//
// Usage: bench_planner [--quick] [--ranges N] [--hosts H]   (--quick: 10,000 ranges, 100 hosts)
//
// Then the same cluster with 4 key cells per range (uneven load inside a range): the migrator,
// which may move a range's hot part alone, against its previous version (whole ranges only), with
// the bytes each would copy.
//
// The cluster: ranges placed round-robin with a random offset, each with a daily-shaped load and
// random size; 5% of the hosts carry hot ranges (a tenth of their ranges at 8x) that put them
// near or over capacity. The
// migrator runs with an unbounded move budget so that it has to resolve every hot host (the
// default budget of 4 concurrent moves would make the round trivially cheap), and without the
// balance band, so that it follows the same rules as the naive planner; the default
// configuration (with the band) is timed and printed too. Only the planning
// calls are timed; the median of several runs is printed.

#include "migrator.h"
#include "random.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using namespace rangepilot;

namespace {

constexpr std::size_t kSteps = 12;
constexpr TimeMs kNow = 1'767'571'200'000 + 17 * kMsPerHour;

struct Cluster {
    KeyCells cells = KeyCells::fromStarts({""}).value();
    std::vector<Shard> shards;
    ClusterModel model;
    CellProjection projection;
};

std::string keyOf(std::size_t index) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "key%09zu", index);
    return buffer;
}

// `cellsPerRange` key cells per range, each with its own load (so a range's load is uneven and the
// planner can move the hot part of a range); 1 gives one cell per range.
Cluster makeCluster(std::size_t rangeCount, std::size_t hostCount, std::size_t cellsPerRange = 1) {
    Random random(42);
    Cluster cluster;
    const std::size_t cellCount = rangeCount * cellsPerRange;
    std::vector<Key> starts{""};
    for (std::size_t i = 1; i < cellCount; ++i)
        starts.push_back(keyOf(i));
    cluster.cells = KeyCells::fromStarts(starts).value();
    for (std::size_t host = 0; host < hostCount; ++host) {
        Host entry{"host-" + std::to_string(host + 1), {}, {}};
        entry.capacity[Resource::Ops] = 1000.0;
        entry.capacity[Resource::NetworkBytes] = 1e9;
        cluster.model.hosts.push_back(entry);
    }
    cluster.model.latency = LatencyMatrix(hostCount, 0.5);
    for (std::size_t host = 0; host < hostCount; ++host) {
        for (std::size_t other = host + 1; other < hostCount; ++other) {
            const bool sameRack = host / 40 == other / 40;
            cluster.model.latency.set(host, other, sameRack ? 0.2 : 1.0 + 0.01 * (other % 7));
        }
    }
    const std::size_t cellsPerHost = cellCount / hostCount;
    // Mean cell load so that an average host sits at 60% of capacity at the daily peak.
    const double meanOps = 0.6 * 1000.0 / static_cast<double>(cellsPerHost);
    cluster.projection = CellProjection(cellCount, kSteps, kNow, 5 * kMsPerMinute);
    const std::size_t offset = random.uniformInt(hostCount);
    for (std::size_t i = 0; i < cellCount; ++i) {
        const std::size_t range = i / cellsPerRange;
        const std::size_t host = (range + offset) % hostCount;
        if (i % cellsPerRange == 0) {
            Shard shard;
            shard.id = range + 1;
            shard.range = {starts[i],
                           i + cellsPerRange < cellCount ? starts[i + cellsPerRange] : Key()};
            shard.owner = cluster.model.hosts[host].id;
            cluster.shards.push_back(std::move(shard));
        }
        const bool hotHost = host % 20 == 0;
        const bool hotCell = hotHost && random.uniform() < 0.10;
        const double base = meanOps * (0.5 + random.uniform()) * (hotCell ? 8.0 : 1.0);
        const double phase = random.uniform();
        const auto cell = static_cast<CellIndex>(i);
        for (std::size_t step = 0; step < kSteps; ++step) {
            const double shape =
                0.85 + 0.15 * std::sin(6.283 * (phase + static_cast<double>(step) / kSteps));
            cluster.projection.setRate(cell, step, Resource::Ops, base * shape);
            cluster.projection.setRate(cell, step, Resource::NetworkBytes, base * shape * 900.0);
        }
        cluster.projection.setDataBytes(cell, (1.0 + 63.0 * random.uniform()) * 1e6 /
                                                  static_cast<double>(cellsPerRange));
    }
    return cluster;
}

// ---- The naive baseline ----

struct NaiveResult {
    std::size_t moves = 0;
    double worstPeakAfter = 0.0;
};

NaiveResult naivePlan(const Cluster& cluster, const MigratorOptions& options) {
    const std::size_t hosts = cluster.model.hosts.size();
    const std::size_t ranges = cluster.shards.size();
    std::vector<std::size_t> owner(ranges);
    for (std::size_t i = 0; i < ranges; ++i)
        owner[i] = static_cast<std::size_t>(std::stoul(cluster.shards[i].owner.substr(5))) - 1;
    const CellProjection& projection = cluster.projection;
    auto rangeLoad = [&](std::size_t range, std::size_t step) {
        ResourceVector load;
        for (const Resource resource : kAllResources)
            load[resource] = projection.rate(static_cast<CellIndex>(range), step, resource);
        return load;
    };
    std::vector<bool> moved(ranges, false);
    NaiveResult result;
    for (;;) {
        std::vector<ResourceVector> hostSeries(hosts * kSteps);
        for (std::size_t i = 0; i < ranges; ++i) {
            for (std::size_t step = 0; step < kSteps; ++step)
                hostSeries[owner[i] * kSteps + step] += rangeLoad(i, step);
        }
        auto peakOf = [&](std::size_t host) {
            return peakScore({hostSeries.data() + host * kSteps, kSteps},
                             cluster.model.hosts[host].capacity, options.weights)
                .score;
        };
        std::size_t hottest = 0;
        for (std::size_t host = 1; host < hosts; ++host) {
            if (peakOf(host) > peakOf(hottest))
                hottest = host;
        }
        const double before = peakOf(hottest);
        result.worstPeakAfter = before;
        if (before <= options.overload_threshold)
            break;
        double bestGain = 0.0;
        std::size_t bestRange = ranges;
        std::size_t bestTarget = hosts;
        for (std::size_t i = 0; i < ranges; ++i) {
            if (owner[i] != hottest || moved[i])
                continue;
            double after = 0.0;
            for (std::size_t step = 0; step < kSteps; ++step) {
                ResourceVector load = hostSeries[hottest * kSteps + step] - rangeLoad(i, step);
                after =
                    std::max(after, weightedUtilization(load, cluster.model.hosts[hottest].capacity,
                                                        options.weights));
            }
            for (std::size_t target = 0; target < hosts; ++target) {
                if (target == hottest)
                    continue;
                bool fits = true;
                for (std::size_t step = 0; step < kSteps && fits; ++step) {
                    const ResourceVector load =
                        hostSeries[target * kSteps + step] + rangeLoad(i, step);
                    fits = weightedUtilization(load, cluster.model.hosts[target].capacity,
                                               options.weights) <= options.target_utilization;
                }
                if (fits && before - after > bestGain) {
                    bestGain = before - after;
                    bestRange = i;
                    bestTarget = target;
                }
            }
        }
        if (bestRange == ranges)
            break;
        owner[bestRange] = bestTarget;
        moved[bestRange] = true;
        ++result.moves;
    }
    return result;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

template <typename F>
double timeMs(F&& work) {
    const auto start = std::chrono::steady_clock::now();
    work();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

double medianPlanMs(const PlanningInput& input, const MigratorOptions& options,
                    MigrationPlan& plan) {
    std::vector<double> ms;
    for (int run = 0; run < 5; ++run)
        ms.push_back(timeMs([&] { plan = planMigrations(input, options).value(); }));
    return median(ms);
}

double bytesOf(const std::vector<MoveInstruction>& moves) {
    double bytes = 0.0;
    for (const MoveInstruction& move : moves)
        bytes += move.bytes;
    return bytes;
}

// The same cluster with 4 cells per range, whose hot cells the planner can move alone, next to
// the previous version of the planner (whole ranges only) in the same run.
void printCarving(std::size_t ranges, std::size_t hosts, const MigratorOptions& options) {
    constexpr std::size_t kCellsPerRange = 4;
    const Cluster cluster = makeCluster(ranges, hosts, kCellsPerRange);
    const OwnershipTable table = OwnershipTable::create(cluster.shards, 1).value();
    const MoveHistory history;
    const std::vector<InFlightMove> inFlight;
    const PlanningInput input{
        kNow,          kMsPerMinute, table,  cluster.cells, cluster.projection,
        cluster.model, inFlight,     history};
    MigrationPlan carving;
    const double carvingMs = medianPlanMs(input, options, carving);
    MigratorOptions wholeOnly = options;
    wholeOnly.carve_max_fraction = 0.0;
    MigrationPlan whole;
    const double wholeMs = medianPlanMs(input, wholeOnly, whole);
    const auto carved =
        std::count_if(carving.moves.begin(), carving.moves.end(),
                      [](const MoveInstruction& move) { return move.carved_from.has_value(); });
    std::printf("with %zu cells per range (%zu cells):\n", kCellsPerRange, ranges * kCellsPerRange);
    std::printf("  migrator   %9.1f ms  %zu moves (%td of a range's hot part), %zu splits, "
                "%.0f MB to copy\n",
                carvingMs, carving.moves.size(), carved, carving.splits.size(),
                bytesOf(carving.moves) / 1e6);
    std::printf("  whole ranges only (the previous version) %9.1f ms  %zu moves, %.0f MB to copy\n",
                wholeMs, whole.moves.size(), bytesOf(whole.moves) / 1e6);
}

} // namespace

int main(int argc, char** argv) {
    std::size_t ranges = 100'000;
    std::size_t hosts = 1'000;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            ranges = 10'000;
            hosts = 100;
        } else if (std::strcmp(argv[i], "--ranges") == 0 && i + 1 < argc) {
            ranges = std::stoul(argv[++i]);
        } else if (std::strcmp(argv[i], "--hosts") == 0 && i + 1 < argc) {
            hosts = std::stoul(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: bench_planner [--quick] [--ranges N] [--hosts H]\n");
            return 2;
        }
    }
    if (hosts < 2 || ranges < hosts) {
        std::fprintf(stderr, "bench_planner: need at least 2 hosts and a range per host\n");
        return 2;
    }
    const Cluster cluster = makeCluster(ranges, hosts);
    const OwnershipTable table = OwnershipTable::create(cluster.shards, 1).value();
    const MoveHistory history;
    const std::vector<InFlightMove> inFlight;
    MigratorOptions options;
    options.max_concurrent_moves = std::numeric_limits<std::size_t>::max() / 2;
    // The naive planner knows only the overload threshold; compare like with like.
    options.balance_band = 0.0;
    const PlanningInput input{
        kNow,          kMsPerMinute, table,  cluster.cells, cluster.projection,
        cluster.model, inFlight,     history};

    auto timePlans = [&](const MigratorOptions& planOptions, MigrationPlan& plan) {
        std::vector<double> ms;
        for (int run = 0; run < 5; ++run)
            ms.push_back(timeMs([&] { plan = planMigrations(input, planOptions).value(); }));
        return ms;
    };
    MigrationPlan plan;
    const std::vector<double> planMs = timePlans(options, plan);
    // The default configuration also balances (band 0.25), which plans many more moves.
    MigratorOptions balancing = options;
    balancing.balance_band = MigratorOptions{}.balance_band;
    MigrationPlan balancedPlan;
    const std::vector<double> balancedMs = timePlans(balancing, balancedPlan);
    NaiveResult naive;
    std::vector<double> naiveMs;
    for (int run = 0; run < (ranges > 20'000 ? 1 : 3); ++run)
        naiveMs.push_back(timeMs([&] { naive = naivePlan(cluster, options); }));

    std::printf("planning round: %zu ranges x %zu hosts x %zu steps (one core)\n", ranges, hosts,
                kSteps);
    std::printf("  migrator   %9.1f ms  (median of %zu)  %zu moves, %zu deferred, %zu splits, "
                "%zu merges, %zu held\n",
                median(planMs), planMs.size(), plan.moves.size(), plan.deferred.size(),
                plan.splits.size(), plan.merges.size(), plan.held.size());
    std::printf("  migrator with balance band %.2f: %.1f ms, %zu moves, %zu deferred\n",
                balancing.balance_band, median(balancedMs), balancedPlan.moves.size(),
                balancedPlan.deferred.size());
    std::printf("  naive      %9.1f ms  (full recompute per move, every range x every host)  "
                "%zu moves\n",
                median(naiveMs), naive.moves);
    std::printf("  speed-up   %9.1fx\n", median(naiveMs) / median(planMs));
    printCarving(ranges, hosts, options);
    return 0;
}
