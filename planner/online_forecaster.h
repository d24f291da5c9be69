#pragma once

// OnlineCellForecaster: per key cell projected load for the predictive migrator, updated once per
// round (1 minute of trace time) from each cell's mean per-second load over that round, and asked
// every round for a projection over the planning horizon (e.g. the next hour in 5-minute steps).
//
// Two models per cell. Recent: an EWMA of the observed rates (the planner then simply reacts).
// Seasonal: the same time of day in the last few seasons (days), weighted toward the latest, in
// step-sized buckets, times a cluster-wide level correction per resource (today's total traffic
// over what the seasonal model says for the same stretch of time), so a busier day scales the
// pattern up. A seasonal cell's residual (its level over the last few rounds against what the
// seasonal model says for those rounds) carries on over the horizon: above the model as load on
// top, below it as a factor. So a hot spot that is here but was not expected is never projected
// away, and one that was expected moves on with the model. (An earlier max(recent, seasonal)
// counted a sweeping hot spot twice, where it is now for the whole hour and where it goes, and
// lifted every noisy cell: on the generated hotspot-drift trace the planner then found no room
// for moves at the daily peak: 13 overloaded host-minutes on day 2 against 0 now, at 50 events/s.)
//
// Choosing the model: whenever a bucket completes, the forecasts both models made `skill_lead_ms`
// before it are scored against it (EWMA of absolute errors per cell). A cell's own scores are
// blended with the cluster's (see modelOf()), because a cell has no evidence of its own until its
// pattern has come round twice: on a workload whose patterns recur (a hot range sweeping the key
// space daily) a cell follows the cluster's verdict and is anticipated on the second day; where
// hot spots jump randomly the cluster's verdict is firmly Recent, and yesterday's hot spot is not
// re-invented. Near-ties go to Seasonal (on the generated `diurnal` and `flash-crowd` traces, a
// tie rule toward Recent under-projected shard peaks by 7–8% instead of 1–3%).
//
// The recent level's half-life is one round: where nothing recurs, the planner acts on a hot spot
// a round after it appears (with 3 rounds, the first day of the generated hotspot-drift trace at
// 50 events/s had 45 overloaded host-minutes; with 1, and the residual rule, 3). The residual uses
// a smoother level (3 rounds), because it is carried over the whole horizon.
//
// Invariants: causal (a projection depends only on the rounds observed so far, never on `now`
// beyond them), deterministic (no clock, no randomness), never throws. Memory is not modeled
// (observations carry 0 there; data size comes with project()). Rates are clipped at 0; NaN
// counts as 0.
//
// Gaps: a round that was not observed is unknown, not zero. A bucket's mean covers the observed
// part of it only, a bucket nobody observed is skipped by the seasonal model (the other seasons
// are averaged), and the recent level keeps its last value.
//
// Cost (n cells, K = seasons_kept, P = season / step, H = steps): memory ≈ n × 16 bytes × K × P
// (1,024 cells × 3 days × 288 buckets = 14 MB) plus O(n × lead / step). observe() is O(n) per
// round, plus O(n × K) when a bucket completes; project() is O(n × H × K) with no per-cell
// allocation, plus O(n × K) for each bucket the residual's EWMA reaches back into (6–7 at the
// defaults). Measured before the residual term, 1,024 cells × 12 steps in a Release build:
// 0.2 ms with every cell Recent, 0.45 ms with every cell Seasonal; observe() 8 µs, 45 µs when a
// bucket completes. With it, a whole planning round of the predictive policy (projection and
// migrator) took 0.4–0.95 ms at the 99th percentile on the generated 48 h scenarios (an idle core;
// several times that while the machine is busy).

#include "cluster_model.h"
#include "key_cells.h"
#include "result.h"
#include "time_ms.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace rangepilot {

struct OnlineForecastOptions {
    TimeMs round_ms = 60'000;                 // cadence of observe()
    TimeMs step_ms = 5 * kMsPerMinute;        // projection step (a multiple of round_ms)
    std::size_t steps = 12;                   // horizon = steps × step_ms
    TimeMs season_ms = kMsPerDay;             // a multiple of step_ms
    std::size_t seasons_kept = 3;             // history depth of the seasonal model
    double recent_half_life_rounds = 1.0;     // EWMA of the recent level
    double residual_half_life_rounds = 3.0;   // EWMA behind a seasonal cell's residual
    TimeMs skill_lead_ms = 15 * kMsPerMinute; // the lead time at which both models are scored
    double skill_half_life_steps = 288.0;     // memory of the skill scores (~ a day of steps)
    double level_ratio_min = 0.5;             // clamp of the seasonal level correction
    double level_ratio_max = 2.0;
    // How the model is chosen and the level corrected, tuned on the generated traces (see
    // modelOf() and online_forecaster.cpp). The EWMA of the cluster totals behind the level
    // correction is longer than the recent level's: it measures the day, not the minute (a
    // 9-minute window let the minute-scale noise of the total through as ±10% on every
    // seasonal forecast).
    double level_half_life_rounds = 30.0;
    double pooled_skill_weight = 1.0; // weight of the cluster's skill verdict in each cell's choice
    double seasonal_tolerance = 0.2;  // how far behind Recent a cell's blended score may be
};

// The first problem, worded for a config file: "step_ms must be a multiple of round_ms", ...
Status validate(const OnlineForecastOptions& options);

class OnlineCellForecaster {
public:
    enum class CellModel { Recent, Seasonal };

    // What the skill scoring knows about one cell: the EWMA of each model's absolute error at
    // the skill lead, relative to the cluster-wide mean total load of each resource and summed
    // over resources (so ops/s and bytes/s add up).
    struct CellSkill {
        double recent_error = 0.0;
        double seasonal_error = 0.0;
    };

    // `options` must validate; if they do not, the defaults are used (options() tells).
    OnlineCellForecaster(std::size_t cells, OnlineForecastOptions options);

    // One round's mean per-second load per cell, ending at roundEnd. Rounds come in time order:
    // a round that ends at or before the previous one is ignored, one that overlaps it counts
    // from the previous end only. Cells beyond cellRates.size() count as 0; extra entries are
    // ignored.
    void observe(TimeMs roundEnd, std::span<const ResourceVector> cellRates);

    // Projection of `steps` steps from `now` (step k covers [now + k·step, now + (k+1)·step)) from
    // the rounds observed so far, with cellDataBytes copied in (missing cells get 0 bytes). All
    // zero before the first round. `now` is normally the end of the last observed round.
    CellProjection project(TimeMs now, std::span<const double> cellDataBytes) const;

    // Seasonal iff seasonalAvailable() and, with a = (recent − seasonal) / (recent + seasonal)
    // skill errors of the cell (0 when both are 0) and A the same over the sums of all cells'
    // errors: a + pooled_skill_weight × A > −seasonal_tolerance. A cell with no evidence of its
    // own (a ≈ 0) thus follows the cluster: Seasonal unless the cluster's seasonal forecasts are
    // clearly the worse (random jumps: A ≈ −0.6; a share growing for days: A ≈ −0.5; daily cycle
    // only: A ≈ 0; a hot range sweeping daily: A ≈ +0.6, on the generated traces). Recomputed
    // whenever a bucket completes.
    CellModel modelOf(CellIndex cell) const;
    std::size_t seasonalCellCount() const;
    bool seasonalAvailable() const; // a full season of history observed
    std::size_t cells() const { return m_cells; }
    const OnlineForecastOptions& options() const { return m_options; }

    // Diagnostics.
    CellSkill skillOf(CellIndex cell) const;
    // The cluster-wide pooled advantage A of the seasonal model in [-1, 1] (0 before scoring).
    double pooledSeasonalAdvantage() const { return m_pooledAdvantage; }
    // The clamped level correction the seasonal model would apply at `now` (1 without history).
    double levelRatio(TimeMs now, Resource resource) const;
    // The recent level of a cell (the Recent model's projection at every step).
    ResourceVector recentLevel(CellIndex cell) const;
    std::uint64_t scoredBuckets() const { return m_scoredBuckets; }
    std::size_t memoryBytes() const;

private:
    // Resources modeled, in slot order: Ops, DiskBytes, NetworkBytes, ServiceTime.
    static constexpr std::size_t kSlots = 4;
    using SlotValues = std::array<double, kSlots>;
    struct SeasonSource {
        std::size_t slot = 0; // ring slot
        double weight = 0.0;  // normalized over the sources of one bucket
    };

    void resetToDefaultsIfInvalid();
    std::size_t ringSlotOf(std::int64_t bucket) const;
    std::size_t snapshotSlotOf(std::int64_t boundary) const;
    // The ring slots holding the same time of earlier seasons for `bucket`, weighted; empty when
    // none of them was observed.
    std::vector<SeasonSource> seasonSources(std::int64_t bucket) const;
    // The seasonal estimate of the cluster-wide total of `bucket`; none without history for it.
    std::optional<SlotValues> seasonalTotal(std::int64_t bucket) const;
    std::array<double, kSlots> levelRatios(TimeMs now) const;
    struct BucketWeight {
        std::int64_t bucket = 0;
        double weight = 0.0;
    };
    // The weights an EWMA with `alpha` per round gives the rounds that end at or before `now`,
    // summed per bucket, newest first: truncated where a round's weight falls below a thousandth
    // of the newest's, and at the first observed round. What the seasonal model says for the
    // stretch of time such an EWMA averages is these weights applied to its buckets.
    std::vector<BucketWeight> ewmaBucketWeights(TimeMs now, double alpha) const;
    // The seasonal model's values (before the level correction) for the stretch of time the
    // residual level averages, per cell and slot; none when no season covers that stretch.
    std::optional<std::vector<double>> seasonalValuesForResidual(TimeMs now) const;
    void accumulate(std::span<const ResourceVector> cellRates, TimeMs from, TimeMs to);
    void updateRecentLevel(std::span<const ResourceVector> cellRates);
    void completeBucket();
    void scoreBucket(std::int64_t bucket, std::span<const double> actual,
                     const SlotValues& actualTotal);
    void storeBucket(std::int64_t bucket, std::span<const double> actual,
                     const SlotValues& actualTotal);
    void snapshotAtBoundary(std::int64_t boundary);
    void chooseModels();

    OnlineForecastOptions m_options;
    std::size_t m_cells = 0;
    std::size_t m_bucketsPerSeason = 0;  // P
    std::size_t m_ringBuckets = 0;       // K × P
    std::size_t m_leadBuckets = 0;       // skill lead in buckets
    double m_recentAlpha = 0.0;          // per round
    double m_residualAlpha = 0.0;        // per round, for the residual of seasonal cells
    double m_levelAlpha = 0.0;           // per round, for the level correction
    double m_skillAlpha = 0.0;           // per scored bucket
    std::vector<double> m_seasonWeights; // [k − 1] for the season k back, unnormalized

    // Observation state.
    bool m_observedAny = false;
    TimeMs m_firstStartMs = 0;
    TimeMs m_lastEndMs = 0;
    std::int64_t m_accBucket = 0;
    TimeMs m_accCoveredMs = 0;
    std::vector<double> m_accSums; // [cell × kSlots + slot], rate × ms within m_accBucket
    std::vector<double> m_actual;  // scratch: the completed bucket's means

    // Recent model.
    std::vector<double> m_recent;        // [cell × kSlots + slot]
    std::vector<double> m_residualLevel; // the same with the residual's half-life
    bool m_recentInitialized = false;
    SlotValues m_levelTotal{}; // EWMA of the cluster-wide round totals, for the level correction

    // Seasonal history: a ring of step-sized buckets, each a row of cells × kSlots floats.
    std::vector<float> m_ring;
    std::vector<std::int64_t> m_ringBucket; // bucket index held by each slot (or none)
    std::vector<SlotValues> m_ringTotal;    // cluster-wide total of each slot's row

    // Skill: recent levels and level ratios at the last lead/step + 1 bucket boundaries.
    std::vector<float> m_snapLevel;           // [snapshot][cell × kSlots + slot]
    std::vector<std::int64_t> m_snapBoundary; // boundary (bucket index) of each snapshot
    std::vector<SlotValues> m_snapRatio;      // level ratios at that boundary
    std::vector<double> m_recentError;        // per cell
    std::vector<double> m_seasonalError;      // per cell
    SlotValues m_errorScale{};                // EWMA of the cluster-wide bucket totals
    bool m_errorScaleSet = false;
    std::uint64_t m_scoredBuckets = 0;
    double m_pooledAdvantage = 0.0;
    std::vector<CellModel> m_model;
    std::size_t m_seasonalCells = 0;
};

} // namespace rangepilot
