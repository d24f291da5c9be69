#pragma once

// The balancing policies by name, as the simulator's PolicySpecs: "static", "reactive",
// "predictive" and "oracle" (predictive's planner fed with the actual future: an upper bound,
// not a policy anyone can run). The CLI and the console pick policies here, so a name means the
// same thing everywhere.

#include "baseline_policies.h"
#include "cluster_simulator.h"
#include "migrator.h"
#include "online_forecaster.h"
#include "result.h"

#include <string_view>
#include <vector>

namespace rangepilot {

struct PolicyTuning {
    ReactiveOptions reactive;
    MigratorOptions migrator;       // predictive and oracle
    OnlineForecastOptions forecast; // predictive; the oracle uses its step and horizon
};

// static, reactive, predictive, oracle.
std::vector<std::string_view> standardPolicyNames();

// True for the oracle: its numbers are a bound, to be labeled as such.
bool isUpperBound(std::string_view policy);

// The spec for `name`. Migration bandwidth and round length come from the simulation's options
// when the policy is built. Error: "unknown policy 'x' (static, reactive, predictive, oracle)",
// or the first invalid option of the tuning.
Result<PolicySpec> policySpec(std::string_view name, const PolicyTuning& tuning);

} // namespace rangepilot
