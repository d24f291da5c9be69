// rangepilot-plan: the planner, headless. Subcommands generate, analyze, forecast, simulate and
// compare.

#include "plan_commands.h"

#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage = R"(Usage: rangepilot-plan COMMAND [options]

RangePilot's planner without the console: reads query traces, builds load maps over the key
space, finds growing and declining key ranges, forecasts load, and replays traces against a
modeled cluster to compare balancing policies.

Commands:
  generate    write a synthetic trace for a workload scenario
  analyze     load map and trends of a trace
  forecast    forecast load per key cell and backtest the forecasting models
  simulate    replay a trace (or a generated scenario) against a modeled cluster under one
              balancing policy
  compare     the same for static, reactive, predictive and oracle, side by side

Run 'rangepilot-plan COMMAND --help' for a command's options.
)";

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> arguments(argv + 1, argv + argc);
    if (arguments.empty() || arguments.front() == "--help" || arguments.front() == "-h" ||
        arguments.front() == "help") {
        std::cout << kUsage;
        return arguments.empty() ? rangepilot::kExitUsage : rangepilot::kExitOk;
    }
    const std::string command = arguments.front();
    arguments.erase(arguments.begin());
    if (command == "generate")
        return rangepilot::runGenerate(arguments);
    if (command == "analyze")
        return rangepilot::runAnalyze(arguments);
    if (command == "forecast")
        return rangepilot::runForecast(arguments);
    if (command == "simulate")
        return rangepilot::runSimulate(arguments);
    if (command == "compare")
        return rangepilot::runCompare(arguments);
    std::cerr << "rangepilot-plan: unknown command '" << command << "'\n\n" << kUsage;
    return rangepilot::kExitUsage;
}
