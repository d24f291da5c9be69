// rangepilot-plan simulate / compare: replay a trace, or a workload generated in process, against
// a modeled cluster under balancing policies and report overload, latency, balance and what the
// moves cost.

#include "json_writer.h"
#include "plan_commands.h"
#include "policy_catalog.h"
#include "timestamp.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <span>
#include <sstream>

namespace rangepilot {

namespace {

constexpr double kBytesPerMegabyte = 1e6;

// The help paragraph on --scenario that simulate and compare share.
std::string scenarioHelp() {
    return "With --scenario NAME (" + scenarioList() +
           ")\n"
           "the workload is generated in process: the events 'generate' writes for the same\n"
           "--scenario, --hours, --rate and --seed, without a file.";
}

void addSimulationOptions(CommandLine& commandLine) {
    commandLine.addOption("--scenario", "NAME",
                          "a generated workload instead of TRACE (with --hours, --rate, --seed)");
    addScenarioLengthOptions(commandLine);
    addTraceReadOptions(commandLine);
    commandLine.addOption("--hosts", "H", "hosts in the modeled cluster (default 8)");
    commandLine.addOption("--capacity-ops", "N",
                          "ops/s each host serves (default: the trace's peak total ops/s over "
                          "1-minute windows / H / 0.75)");
    commandLine.addOption("--migration-mbps", "N", "copy bandwidth per move in MB/s (default 50)");
    commandLine.addOption("--bytes-per-key", "N",
                          "data size of a key when the trace has no bytes column (default 1024)");
    commandLine.addOption("--cells", "N", "key cells, the planner's resolution (default 1024)");
    commandLine.addOption("--shards-per-host", "N", "initial shards per host (default 8)");
    commandLine.addOption("--warmup", "DURATION",
                          "trace prefix the initial layout is built from; no policy acts before "
                          "its end (default 10m)");
    commandLine.addOption("--round", "DURATION", "planning round (default 1m)");
    commandLine.addOption("--sla-ms", "MS", "modeled p99 latency threshold (default 10)");
    commandLine.addOption("--seed", "N",
                          "seed for the layout's key sample and, with --scenario, for the "
                          "generated workload (default 1)");
    commandLine.addOption("--timeline", "FILE.csv",
                          "write per-minute load per host and every decision, for plots");
    commandLine.addFlag("--json", "print one JSON object on stdout");
}

struct SimulationRequest {
    std::string source_name; // what the output calls the source: TRACE, or the scenario
    std::string trace;       // empty when the workload is generated
    TraceReadOptions read;
    std::optional<WorkloadOptions> workload; // --scenario
    SimulationOptions simulation;
    std::optional<std::string> timeline;
    bool json = false;
};

// A number as short as it reads back exactly, without an exponent: "48", "0.5", "1000".
std::string shortestDecimal(double value) {
    char buffer[128];
    const auto result =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
    return std::string(buffer, result.ptr);
}

// "scenario:hotspot-drift hours=48 rate=1000 seed=1": names a generated workload in the output
// where a trace's path would be.
std::string scenarioLabel(const WorkloadOptions& workload) {
    return "scenario:" + std::string(scenarioName(workload.scenario)) +
           " hours=" + shortestDecimal(workload.hours) +
           " rate=" + shortestDecimal(workload.rate_eps) + " seed=" + std::to_string(workload.seed);
}

// The generated workload --scenario asks for; the trace-read options are for files only.
Status takeScenario(const CommandLine& commandLine, SimulationRequest& request) {
    if (const auto option = givenTraceReadOption(commandLine))
        return Error{*option + " applies only to a TRACE file, not with --scenario"};
    auto workload = workloadOptionsFrom(commandLine);
    if (!workload)
        return workload.error();
    request.source_name = scenarioLabel(workload.value());
    request.workload = std::move(workload).value();
    return Status::success();
}

// The TRACE file and how to read it; --hours and --rate are for a generated workload only.
Status takeTrace(const CommandLine& commandLine, SimulationRequest& request) {
    for (const char* option : {"--hours", "--rate"}) {
        if (commandLine.has(option))
            return Error{std::string(option) +
                         " applies only with --scenario NAME, not to a TRACE file"};
    }
    request.trace = commandLine.positionals().front();
    if (request.trace == "-")
        return Error{"TRACE must be a file, not '-': the simulator reads it more than once"};
    auto read = traceReadOptionsFrom(commandLine);
    if (!read)
        return read.error();
    request.read = read.value();
    request.source_name = request.trace;
    return Status::success();
}

// Exactly one source: a TRACE file or --scenario.
Status takeSource(const CommandLine& commandLine, SimulationRequest& request) {
    const std::size_t traces = commandLine.positionals().size();
    const bool generated = commandLine.has("--scenario");
    if (traces > 1)
        return Error{"expects exactly one TRACE file; see --help"};
    if (traces == 1 && generated)
        return Error{"give either a TRACE file or --scenario NAME, not both"};
    if (traces == 0 && !generated)
        return Error{"expects a TRACE file or --scenario NAME; see --help"};
    return generated ? takeScenario(commandLine, request) : takeTrace(commandLine, request);
}

Result<SimulationRequest> simulationRequestFrom(const CommandLine& commandLine) {
    SimulationRequest request;
    if (Status source = takeSource(commandLine, request); !source)
        return Error{source.message()};
    SimulationOptions& options = request.simulation;
    std::optional<Error> error;
    double megabytesPerSecond = 50.0;
    takeOption(commandLine.integer("--hosts", 8, 1, 100'000), options.hosts, error);
    takeOption(commandLine.number("--capacity-ops", 0.0, 0.0, 1e15), options.capacity_ops, error);
    takeOption(commandLine.number("--migration-mbps", 50.0, 1e-6, 1e9), megabytesPerSecond, error);
    takeOption(commandLine.number("--bytes-per-key", 1024.0, 1.0, 1e12), options.bytes_per_key,
               error);
    takeOption(commandLine.integer("--cells", 1024, 1, 1 << 20), options.cells, error);
    takeOption(commandLine.integer("--shards-per-host", 8, 1, 100'000), options.shards_per_host,
               error);
    takeOption(commandLine.duration("--warmup", 10 * kMsPerMinute, 0, 30 * kMsPerDay),
               options.warmup_ms, error);
    takeOption(commandLine.duration("--round", kMsPerMinute, kMsPerSecond, kMsPerDay),
               options.round_ms, error);
    takeOption(commandLine.number("--sla-ms", 10.0, 1e-6, 1e9), options.sla_p99_ms, error);
    takeOption(commandLine.integer("--seed", 1, 0, INT64_MAX), options.seed, error);
    if (error)
        return *error;
    options.migration_bytes_per_s = megabytesPerSecond * kBytesPerMegabyte;
    if (Status valid = validate(options); !valid)
        return Error{valid.message()};
    request.timeline = commandLine.value("--timeline");
    request.json = commandLine.has("--json");
    return request;
}

Result<std::vector<PolicySpec>> specsFor(const std::vector<std::string>& names,
                                         const SimulationOptions& simulation) {
    PolicyTuning tuning;
    // The projection step must be a whole number of rounds: the nearest to 5 minutes.
    const TimeMs rounds = std::max<TimeMs>(1, tuning.forecast.step_ms / simulation.round_ms);
    tuning.forecast.round_ms = simulation.round_ms;
    tuning.forecast.step_ms = rounds * simulation.round_ms;
    std::vector<PolicySpec> specs;
    for (const std::string& name : names) {
        Result<PolicySpec> spec = policySpec(name, tuning);
        if (!spec)
            return spec.error();
        specs.push_back(std::move(spec).value());
    }
    return specs;
}

// ---- Output ----

void writePolicyJson(JsonWriter& json, const PolicyMetrics& metrics) {
    json.beginObject()
        .field("name", metrics.name)
        .field("overload_s", metrics.overload_s)
        .field("overload_host_s", metrics.overload_host_s)
        .field("sla_violation_minutes", metrics.sla_violation_minutes)
        .field("imbalance_p50", metrics.imbalance_p50)
        .field("imbalance_p99", metrics.imbalance_p99)
        .field("bytes_moved", metrics.bytes_moved)
        .field("moves", metrics.moves)
        .field("thrash_moves", metrics.thrash_moves)
        .field("planner_ms_p99", metrics.planner_ms_p99)
        .field("upper_bound", isUpperBound(metrics.name))
        .field("splits", metrics.splits)
        .field("merges", metrics.merges)
        .field("final_shards", static_cast<std::uint64_t>(metrics.final_shards))
        .field("rejected_instructions", metrics.rejected_instructions)
        .endObject();
}

std::string resultJson(const std::string& trace, const SimulationResult& result) {
    JsonWriter json;
    json.beginObject()
        .field("trace", trace)
        .field("hosts", static_cast<std::uint64_t>(result.hosts))
        .field("capacity_ops", result.capacity_ops)
        .field("events", result.events)
        .field("late_events", result.late_events)
        .field("bad_lines", result.bad_lines)
        .field("start_ms", result.start_ms)
        .field("end_ms", result.end_ms);
    json.key("policies").beginArray();
    for (const PolicyMetrics& metrics : result.policies)
        writePolicyJson(json, metrics);
    json.endArray().endObject();
    return json.text();
}

std::string megabytes(double bytes) {
    return withThousandsSeparators(static_cast<std::uint64_t>(std::llround(bytes / 1e6))) + " MB";
}

void printTable(std::ostream& out, const std::string& trace, const SimulationResult& result) {
    const double days = static_cast<double>(result.end_ms - result.start_ms) / kMsPerDay;
    out << "Trace     " << trace << ": " << withThousandsSeparators(result.events) << " events, "
        << formatIso8601(result.start_ms) << " + " << formatFixed(days, 2) << " days";
    if (result.bad_lines > 0)
        out << " (" << withThousandsSeparators(result.bad_lines) << " bad lines skipped)";
    out << "\nCluster   " << result.hosts << " hosts at "
        << withThousandsSeparators(static_cast<std::uint64_t>(std::llround(result.capacity_ops)))
        << " ops/s each\n\n";
    char line[256];
    std::snprintf(line, sizeof line, "%-12s %11s %13s %9s %8s %8s %14s %6s %7s %11s\n", "policy",
                  "overload_s", "overload_host", "sla_min", "imb_p50", "imb_p99", "bytes_moved",
                  "moves", "thrash", "plan_ms_p99");
    out << line;
    bool anyBound = false;
    for (const PolicyMetrics& metrics : result.policies) {
        const bool bound = isUpperBound(metrics.name);
        anyBound = anyBound || bound;
        std::snprintf(
            line, sizeof line, "%-12s %11s %13s %9s %8s %8s %14s %6s %7s %11s\n",
            (metrics.name + (bound ? "*" : "")).c_str(),
            withThousandsSeparators(static_cast<std::uint64_t>(std::llround(metrics.overload_s)))
                .c_str(),
            withThousandsSeparators(
                static_cast<std::uint64_t>(std::llround(metrics.overload_host_s)))
                .c_str(),
            formatFixed(metrics.sla_violation_minutes, 0).c_str(),
            formatFixed(metrics.imbalance_p50, 2).c_str(),
            formatFixed(metrics.imbalance_p99, 2).c_str(), megabytes(metrics.bytes_moved).c_str(),
            withThousandsSeparators(metrics.moves).c_str(),
            withThousandsSeparators(metrics.thrash_moves).c_str(),
            formatFixed(metrics.planner_ms_p99, 2).c_str());
        out << line;
    }
    if (anyBound)
        out << "\n* oracle: the predictive planner fed with the actual future; an upper bound, "
               "not a policy.\n";
}

// Runs the policies over the generated workload, or over the trace file and then reports its bad
// lines on stderr.
Result<SimulationResult> simulateSource(const SimulationRequest& request,
                                        std::span<const PolicySpec> specs,
                                        SimulationTimeline* timeline) {
    if (request.workload) {
        WorkloadEventSource source(*request.workload);
        return simulate(source, specs, request.simulation, timeline);
    }
    TraceFileSource source(request.trace, request.read);
    auto result = simulate(source, specs, request.simulation, timeline);
    if (result) {
        for (const std::string& bad : source.firstBadLines())
            std::cerr << bad << "\n";
        if (source.badLines() > source.firstBadLines().size())
            std::cerr << source.badLines() << " bad lines in total (skipped)\n";
    }
    return result;
}

int runSimulation(const std::string& command, const SimulationRequest& request,
                  const std::vector<std::string>& policies) {
    auto specs = specsFor(policies, request.simulation);
    if (!specs)
        return fail(command, specs.error().message, kExitUsage);
    std::optional<CsvTimelineWriter> timeline;
    if (request.timeline) {
        auto opened = CsvTimelineWriter::open(*request.timeline);
        if (!opened)
            return fail(command, opened.error().message, kExitFailure);
        timeline.emplace(std::move(opened).value());
    }
    auto result = simulateSource(request, specs.value(), timeline ? &*timeline : nullptr);
    if (timeline) {
        if (Status written = timeline->finish(); !written)
            return fail(command, written.message(), kExitFailure);
    }
    if (!result)
        return fail(command, result.error().message, kExitFailure);
    if (request.json)
        std::cout << resultJson(request.source_name, result.value()) << "\n";
    else
        printTable(std::cout, request.source_name, result.value());
    return kExitOk;
}

} // namespace

int runSimulate(const std::vector<std::string>& arguments) {
    const std::string command = "simulate";
    CommandLine commandLine(
        "rangepilot-plan simulate (TRACE | --scenario NAME) --policy P [options]",
        "Replays TRACE in time order against a modeled cluster of H hosts whose initial shards "
        "are\n"
        "placed by jump hash, lets policy P move key ranges every round, and reports overload\n"
        "seconds, modeled p99 SLA violations, imbalance and the bytes the moves copied.\n"
        "P is static, reactive, predictive or oracle (knows the future: an upper bound).\n" +
            scenarioHelp());
    commandLine.addOption("--policy", "P", "static, reactive, predictive (default) or oracle");
    addSimulationOptions(commandLine);
    if (const int handled = handleCommandLine(command, commandLine, arguments); handled >= 0)
        return handled;
    auto request = simulationRequestFrom(commandLine);
    if (!request)
        return fail(command, request.error().message, kExitUsage);
    return runSimulation(command, request.value(), {commandLine.valueOr("--policy", "predictive")});
}

int runCompare(const std::vector<std::string>& arguments) {
    const std::string command = "compare";
    CommandLine commandLine(
        "rangepilot-plan compare (TRACE | --scenario NAME) [options]",
        "Runs simulate's replay once for several policies side by side (default: static,\n"
        "reactive, predictive and oracle) and prints one row per policy.\n" +
            scenarioHelp());
    commandLine.addOption("--policies", "LIST",
                          "comma-separated policies (default static,reactive,predictive,oracle)");
    addSimulationOptions(commandLine);
    if (const int handled = handleCommandLine(command, commandLine, arguments); handled >= 0)
        return handled;
    auto request = simulationRequestFrom(commandLine);
    if (!request)
        return fail(command, request.error().message, kExitUsage);
    std::vector<std::string> policies;
    std::stringstream list(commandLine.valueOr("--policies", "static,reactive,predictive,oracle"));
    for (std::string name; std::getline(list, name, ',');) {
        if (!name.empty())
            policies.push_back(name);
    }
    if (policies.empty())
        return fail(command, "--policies: no policy named", kExitUsage);
    return runSimulation(command, request.value(), policies);
}

} // namespace rangepilot
