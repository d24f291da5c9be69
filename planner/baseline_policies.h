#pragma once

// The two baselines the predictive policy is measured against.
//
// StaticPolicy never acts: the initial equal-count, jump-hash layout for the whole trace.
//
// ReactivePolicy is what production balancers do today: act on load that is already there. Every
// round it reads the hosts' measured ops/s over the round just ended. When the hottest host is
// above the mean by more than `band` for `consecutive_rounds` rounds in a row (the count goes on
// while the condition holds, so it keeps acting every round), it moves the hottest *movable* range
// of that host to the coldest host: not in flight, and carrying less than (hottest − coldest), so
// that the move narrows the gap instead of swapping which host is hottest. Independently, every
// range that alone uses more than `split_above` of its owner's capacity now is split at the cell
// that balances the two halves' current load (hottest first, at most max_splits_per_round per
// round and max_shards in all), and adjacent ranges on the same host that together use less than
// `merge_below` merge, unless a split or merge touched them within merge_cooldown_ms or one of them
// is in flight. It never looks ahead: no forecast, no recorded future.
//
// Instructions are complete (bytes, batches, duration, start_by = hot_at = now, gains) and each
// carries a sentence an operator can act on. Cost per round: O(cells + shards · log) plus
// findBalancingSplit over the cells of each shard it splits.

#include "balancing_policy.h"
#include "cluster_simulator.h"
#include "load_score.h"
#include "result.h"
#include "time_ms.h"

#include <cstddef>
#include <string_view>

namespace rangepilot {

class StaticPolicy : public BalancingPolicy {
public:
    std::string_view name() const override { return "static"; }
    // An empty plan for the observed table.
    MigrationPlan planRound(const RoundObservation& observation) override;
};

struct ReactiveOptions {
    double band = 0.25;         // act when the hottest host exceeds the mean by this fraction
    int consecutive_rounds = 3; // ... for this many rounds in a row
    double split_above = 0.20;  // split a range using more than this share of its owner now
    std::size_t max_splits_per_round = 4;
    double merge_below = 0.05; // merge same-host neighbours using less than this together
    TimeMs merge_cooldown_ms = 30 * kMsPerMinute;
    std::size_t max_shards = 0;          // 0 = 4 × the shard count of the first round
    double migration_bytes_per_s = 50e6; // for the instructions' durations
    double batch_bytes = 16.0 * 1024 * 1024;
    ScoreWeights weights;
};

// The first problem with the options, naming the field ("band must be >= 0").
Status validate(const ReactiveOptions& options);

class ReactivePolicy : public BalancingPolicy {
public:
    // The options must pass validate().
    explicit ReactivePolicy(ReactiveOptions options = {});

    std::string_view name() const override { return "reactive"; }
    MigrationPlan planRound(const RoundObservation& observation) override;

    // Rounds in a row so far in which the hottest host was above the band.
    int roundsAboveBand() const { return m_roundsAboveBand; }

private:
    ReactiveOptions m_options;
    int m_roundsAboveBand = 0;
    std::size_t m_maxShards = 0; // resolved on the first round
};

// Specs for simulate(). The reactive factory takes migration_bytes_per_s from the simulation's
// options (the policy estimates durations with the cluster's bandwidth); the options must pass
// validate().
PolicySpec staticPolicySpec();
PolicySpec reactivePolicySpec(ReactiveOptions options = {});

} // namespace rangepilot
