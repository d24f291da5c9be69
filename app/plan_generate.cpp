// rangepilot-plan generate: a synthetic trace in the contract format.

#include "plan_commands.h"
#include "trace_writer.h"
#include "workload_generator.h"

#include <iostream>

namespace rangepilot {

namespace {

constexpr const char* kCommand = "generate";

} // namespace

int runGenerate(const std::vector<std::string>& arguments) {
    CommandLine commandLine(
        "rangepilot-plan generate --scenario NAME [--hours H] [--rate EPS] [--seed S] [--out FILE]",
        "Writes a synthetic query trace (CSV, the trace contract) for a scenario: " +
            scenarioList() + ".\nThe same options and seed always give the same trace.");
    commandLine.addOption("--scenario", "NAME", "workload scenario (default diurnal)");
    addScenarioLengthOptions(commandLine);
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
