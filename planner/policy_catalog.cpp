#include "policy_catalog.h"

#include "predictive_policy.h"

#include <memory>
#include <string>

namespace rangepilot {

namespace {

std::string knownNames() {
    std::string names;
    for (const std::string_view name : standardPolicyNames())
        names += (names.empty() ? "" : ", ") + std::string(name);
    return names;
}

MigratorOptions migratorFor(const PolicyTuning& tuning, const SimulationSetup& setup) {
    MigratorOptions options = tuning.migrator;
    options.migration_bytes_per_s = setup.options.migration_bytes_per_s;
    return options;
}

PolicySpec predictiveSpec(const PolicyTuning& tuning) {
    return {"predictive",
            [tuning](const SimulationSetup& setup) -> std::unique_ptr<BalancingPolicy> {
                PredictiveOptions options{migratorFor(tuning, setup), tuning.forecast};
                options.forecast.round_ms = setup.options.round_ms;
                return std::make_unique<PredictivePolicy>(setup.cells.size(), options);
            },
            false};
}

PolicySpec oracleSpec(const PolicyTuning& tuning) {
    return {"oracle",
            [tuning](const SimulationSetup& setup) -> std::unique_ptr<BalancingPolicy> {
                if (setup.recorded == nullptr)
                    return nullptr;
                return std::make_unique<OraclePolicy>(*setup.recorded, migratorFor(tuning, setup),
                                                      tuning.forecast.step_ms,
                                                      tuning.forecast.steps);
            },
            true};
}

} // namespace

std::vector<std::string_view> standardPolicyNames() {
    return {"static", "reactive", "predictive", "oracle"};
}

bool isUpperBound(std::string_view policy) {
    return policy == "oracle";
}

Result<PolicySpec> policySpec(std::string_view name, const PolicyTuning& tuning) {
    if (name == "static")
        return staticPolicySpec();
    if (name == "reactive") {
        if (Status valid = validate(tuning.reactive); !valid)
            return Error{"reactive: " + valid.message()};
        return reactivePolicySpec(tuning.reactive);
    }
    if (name == "predictive" || name == "oracle") {
        if (Status valid = validate(tuning.migrator); !valid)
            return Error{std::string(name) + ": " + valid.message()};
        OnlineForecastOptions forecast = tuning.forecast;
        if (Status valid = validate(forecast); !valid)
            return Error{std::string(name) + ": " + valid.message()};
        return name == "predictive" ? predictiveSpec(tuning) : oracleSpec(tuning);
    }
    return Error{"unknown policy '" + std::string(name) + "' (" + knownNames() + ")"};
}

} // namespace rangepilot
