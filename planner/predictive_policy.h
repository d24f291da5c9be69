#pragma once

// The predictive policy (ours) and the oracle, as BalancingPolicy implementations for the
// cluster simulator and the console's auto-apply.
//
// Predictive: every round it feeds the round's per-cell load to an OnlineCellForecaster, asks it
// for the projected load over the horizon (seasonal where the daily pattern has skill, corrected
// by what each cell does now; the recent level elsewhere), and lets the migrator plan on that
// projection. Where
// nothing recurs (hot spots that jump at random) the projection is the recent level, so the
// policy degrades to acting on load that is already there, without the reactive policy's wait.
//
// Oracle: the same migrator fed with the load that actually happens next (recorded from the
// whole trace before the run). It is not a policy anyone can run; it bounds what prediction can
// buy, and is labeled as such wherever it is reported.

#include "balancing_policy.h"
#include "migrator.h"
#include "online_forecaster.h"

#include <string>

namespace rangepilot {

class RecordedCellLoad;

struct PredictiveOptions {
    MigratorOptions migrator;
    OnlineForecastOptions forecast;
};

class PredictivePolicy : public BalancingPolicy {
public:
    PredictivePolicy(std::size_t cells, PredictiveOptions options);

    std::string_view name() const override { return "predictive"; }
    MigrationPlan planRound(const RoundObservation& observation) override;

    // Feeds a round to the forecaster without planning: a caller that falls behind (the console,
    // when planning takes longer than a round) still keeps the forecaster's history complete.
    void observeOnly(TimeMs now, std::span<const ResourceVector> cellRates);
    // The projection the last planRound() planned on (empty before the first).
    const CellProjection& lastProjection() const { return m_lastProjection; }

    const OnlineCellForecaster& forecaster() const { return m_forecaster; }
    // The last planning error (inconsistent input); empty when the last round planned.
    const std::string& lastError() const { return m_lastError; }

private:
    PredictiveOptions m_options;
    OnlineCellForecaster m_forecaster;
    CellProjection m_lastProjection;
    std::string m_lastError;
};

class OraclePolicy : public BalancingPolicy {
public:
    // `recorded` must outlive the policy. The projection has `steps` steps of `stepMs`.
    OraclePolicy(const RecordedCellLoad& recorded, MigratorOptions options, TimeMs stepMs,
                 std::size_t steps);

    std::string_view name() const override { return "oracle"; }
    MigrationPlan planRound(const RoundObservation& observation) override;

    const std::string& lastError() const { return m_lastError; }

private:
    const RecordedCellLoad& m_recorded;
    MigratorOptions m_options;
    TimeMs m_stepMs;
    std::size_t m_steps;
    std::string m_lastError;
};

} // namespace rangepilot
