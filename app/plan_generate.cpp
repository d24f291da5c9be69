// rangepilot-plan generate: a synthetic trace in the contract format.

#include "plan_commands.h"
#include "timestamp.h"
#include "trace_writer.h"
#include "workload_generator.h"

#include <iostream>

namespace rangepilot {

namespace {

constexpr const char* kCommand = "generate";

std::string scenarioList() {
    std::string names;
    for (const Scenario scenario : allScenarios()) {
        if (!names.empty())
            names += ", ";
        names += scenarioName(scenario);
    }
    return names;
}

Result<WorkloadOptions> workloadOptionsFrom(const CommandLine& commandLine) {
    WorkloadOptions options;
    const std::string scenario = commandLine.valueOr("--scenario", "diurnal");
    const auto parsed = parseScenario(scenario);
    if (!parsed)
        return Error{"--scenario: '" + scenario + "' is not one of " + scenarioList()};
    options.scenario = *parsed;

    const auto hours = commandLine.number("--hours", 24, 1e-6, 8784);
    const auto rate = commandLine.number("--rate", 1000, 1e-6, 1e7);
    const auto seed = commandLine.integer("--seed", 1, 0, INT64_MAX);
    const auto keys = commandLine.integer("--keys", 1'000'000, 1, INT64_MAX);
    const auto zipf = commandLine.number("--zipf", 0.99, 0, 10);
    const auto clients = commandLine.integer("--clients", 16, 1, UINT32_MAX);
    for (const Error* error :
         {hours.ok() ? nullptr : &hours.error(), rate.ok() ? nullptr : &rate.error(),
          seed.ok() ? nullptr : &seed.error(), keys.ok() ? nullptr : &keys.error(),
          zipf.ok() ? nullptr : &zipf.error(), clients.ok() ? nullptr : &clients.error()}) {
        if (error)
            return *error;
    }
    options.zipf_s = zipf.value();
    options.client_count = static_cast<std::uint32_t>(clients.value());
    options.key_prefix = commandLine.valueOr("--key-prefix", options.key_prefix);
    options.hours = hours.value();
    options.rate_eps = rate.value();
    options.seed = static_cast<std::uint64_t>(seed.value());
    options.key_count = static_cast<std::uint64_t>(keys.value());
    if (const auto start = commandLine.value("--start")) {
        const char* reason = nullptr;
        if (!parseTimestamp(*start, TimeUnit::Milliseconds, options.start_ms, reason))
            return Error{"--start: '" + *start + "': " + reason};
    }
    if (const Status valid = validate(options); !valid.ok())
        return Error{valid.message()};
    return options;
}

} // namespace

int runGenerate(const std::vector<std::string>& arguments) {
    CommandLine commandLine(
        "rangepilot-plan generate --scenario NAME [--hours H] [--rate EPS] [--seed S] [--out FILE]",
        "Writes a synthetic query trace (CSV, the trace contract) for a scenario: " +
            scenarioList() + ".\nThe same options and seed always give the same trace.");
    commandLine.addOption("--scenario", "NAME", "workload scenario (default diurnal)");
    commandLine.addOption("--hours", "H", "trace length in hours (default 24)");
    commandLine.addOption("--rate", "EPS", "average events per second (default 1000)");
    commandLine.addOption("--seed", "S", "random seed (default 1)");
    commandLine.addOption("--keys", "N", "distinct keys in the key space (default 1000000)");
    commandLine.addOption("--key-prefix", "TEXT", "text before each key's digits (default user)");
    commandLine.addOption("--zipf", "S", "Zipf exponent of the background keys (default 0.99)");
    commandLine.addOption("--clients", "N", "client names in the client column (default 16)");
    commandLine.addFlag("--with-client", "write the optional client column");
    commandLine.addOption("--start", "TIME",
                          "first timestamp, ms or ISO-8601 (default 2026-01-05)");
    commandLine.addOption("--out", "FILE", "output file (default '-', standard output)");
    if (const int handled = handleCommandLine(kCommand, commandLine, arguments); handled >= 0)
        return handled;
    if (!commandLine.positionals().empty())
        return fail(kCommand, "unexpected argument '" + commandLine.positionals().front() + "'",
                    kExitUsage);
    const auto options = workloadOptionsFrom(commandLine);
    if (!options.ok())
        return fail(kCommand, options.error().message, kExitUsage);

    TraceCsvWriterOptions writerOptions;
    writerOptions.include_client = commandLine.has("--with-client");
    auto writer = TraceCsvWriter::open(commandLine.valueOr("--out", "-"), writerOptions);
    if (!writer.ok())
        return fail(kCommand, writer.error().message, kExitFailure);
    const auto written = writeWorkloadCsv(options.value(), writer.value());
    if (!written.ok())
        return fail(kCommand, written.error().message, kExitFailure);
    if (const Status closed = writer->close(); !closed.ok())
        return fail(kCommand, closed.message(), kExitFailure);
    return kExitOk;
}

} // namespace rangepilot
