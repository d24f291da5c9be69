#include "predictive_policy.h"

#include "recorded_load.h"

namespace rangepilot {

namespace {

// Plans one round on `projection` for the observation's cluster state; on inconsistent input
// returns an empty plan and sets `error`.
MigrationPlan planOnProjection(const RoundObservation& observation,
                               const CellProjection& projection, const MigratorOptions& options,
                               std::string& error) {
    const PlanningInput input{observation.now,       observation.round_ms, observation.table,
                              observation.cells,     projection,           observation.cluster,
                              observation.in_flight, observation.history};
    Result<MigrationPlan> plan = planMigrations(input, options);
    if (!plan) {
        error = plan.error().message;
        MigrationPlan empty;
        empty.now = observation.now;
        empty.table_epoch = observation.table.epoch();
        return empty;
    }
    error.clear();
    return std::move(plan).value();
}

} // namespace

PredictivePolicy::PredictivePolicy(std::size_t cells, PredictiveOptions options)
    : m_options(std::move(options))
    , m_forecaster(cells, m_options.forecast) {}

MigrationPlan PredictivePolicy::planRound(const RoundObservation& observation) {
    m_forecaster.observe(observation.now, observation.cell_rates);
    m_lastProjection = m_forecaster.project(observation.now, observation.cell_data_bytes);
    return planOnProjection(observation, m_lastProjection, m_options.migrator, m_lastError);
}

void PredictivePolicy::observeOnly(TimeMs now, std::span<const ResourceVector> cellRates) {
    m_forecaster.observe(now, cellRates);
}

OraclePolicy::OraclePolicy(const RecordedCellLoad& recorded, MigratorOptions options, TimeMs stepMs,
                           std::size_t steps)
    : m_recorded(recorded)
    , m_options(std::move(options))
    , m_stepMs(stepMs)
    , m_steps(steps) {}

MigrationPlan OraclePolicy::planRound(const RoundObservation& observation) {
    const CellProjection projection =
        m_recorded.project(observation.now, m_steps, m_stepMs, observation.cell_data_bytes);
    return planOnProjection(observation, projection, m_options, m_lastError);
}

} // namespace rangepilot
