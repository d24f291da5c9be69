#include "plan_commands.h"
#include "timestamp.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace rangepilot {

namespace {

constexpr std::uint64_t kBadLinesShown = 20;

// One list for declaring the trace-read options and for finding any of them on a command line.
constexpr OptionSpec kTraceReadOptions[] = {
    {"--columns", "MAP", "foreign log: 1-based field positions, e.g. ts=1,key=5,op=6"},
    {"--no-header", "", "the first line is data (a header row is still detected)"},
    {"--time-unit", "UNIT", "numeric ts unit: s, ms (default), us, ns"},
    {"--delimiter", "CHAR", "field delimiter (default ','; 'tab' for \\t)"},
    {"--strict", "", "stop at the first bad line with an error"},
};

} // namespace

void addTraceReadOptions(CommandLine& commandLine) {
    commandLine.addAll(kTraceReadOptions);
}

std::optional<std::string> givenTraceReadOption(const CommandLine& commandLine) {
    for (const OptionSpec& option : kTraceReadOptions) {
        if (commandLine.has(option.name))
            return option.name;
    }
    return std::nullopt;
}

void addTraceOptions(CommandLine& commandLine) {
    addTraceReadOptions(commandLine);
    commandLine.addOption("--cells", "N", "key cells of the load map (default 1024)");
    commandLine.addOption("--bucket", "DURATION", "time bucket width (default 5m)");
    commandLine.addOption("--seed", "N", "seed for the key sample (default 1)");
    commandLine.addOption("--threads", "N",
                          "threads that read and analyse a trace file (default 0 = one per core, "
                          "at most 8; 1 = one sequential pass)");
}

Result<TraceReadOptions> traceReadOptionsFrom(const CommandLine& commandLine) {
    TraceReadOptions options;
    options.strict = commandLine.has("--strict");
    options.header = !commandLine.has("--no-header");
    if (const auto columns = commandLine.value("--columns")) {
        auto mapping = parseColumnMapping(*columns);
        if (!mapping.ok())
            return mapping.error();
        options.columns = mapping.value();
    }
    if (const auto unit = commandLine.value("--time-unit")) {
        const auto parsed = parseTimeUnit(*unit);
        if (!parsed)
            return Error{"--time-unit: '" + *unit + "' is not one of s, ms, us, ns"};
        options.time_unit = *parsed;
    }
    if (const auto delimiter = commandLine.value("--delimiter")) {
        if (*delimiter == "tab" || *delimiter == "\\t")
            options.delimiter = '\t';
        else if (delimiter->size() == 1 && (*delimiter)[0] != '"' && (*delimiter)[0] != '\n')
            options.delimiter = (*delimiter)[0];
        else
            return Error{"--delimiter: '" + *delimiter + "' is not a single character or 'tab'"};
    }
    return options;
}

std::string scenarioList() {
    std::string names;
    for (const Scenario scenario : allScenarios()) {
        if (!names.empty())
            names += ", ";
        names += scenarioName(scenario);
    }
    return names;
}

void addScenarioLengthOptions(CommandLine& commandLine) {
    commandLine.addOption("--hours", "H", "trace length in hours (default 24)");
    commandLine.addOption("--rate", "EPS", "average events per second (default 1000)");
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

namespace {

Result<AnalyzeOptions> analyzeOptionsFrom(const CommandLine& commandLine) {
    AnalyzeOptions options;
    const auto cells = commandLine.integer("--cells", 1024, 1, 1 << 20);
    if (!cells.ok())
        return cells.error();
    options.cells = static_cast<std::size_t>(cells.value());
    const auto bucket = commandLine.duration("--bucket", 5 * kMsPerMinute, 1, kMsPerDay);
    if (!bucket.ok())
        return bucket.error();
    options.load_map.bucket_ms = bucket.value();
    // Keep eight days at full resolution whatever the bucket width, and the coarse tier at 90
    // days of 12-bucket roll-ups.
    options.load_map.fine_buckets =
        static_cast<std::size_t>(std::max<TimeMs>(1, 8 * kMsPerDay / bucket.value()));
    const auto seed = commandLine.integer("--seed", 1, 0, INT64_MAX);
    if (!seed.ok())
        return seed.error();
    options.seed = static_cast<std::uint64_t>(seed.value());
    const auto top = commandLine.integer("--top", 10, 0, 1'000'000);
    if (!top.ok())
        return top.error();
    options.top = static_cast<std::size_t>(top.value());
    const auto threads =
        commandLine.integer("--threads", 0, 0, static_cast<std::int64_t>(kMaxAnalyzeThreads));
    if (!threads.ok())
        return threads.error();
    options.threads = static_cast<std::size_t>(threads.value());
    return options;
}

} // namespace

Result<AnalysisRequest> analysisRequestFrom(const CommandLine& commandLine) {
    if (commandLine.positionals().size() != 1)
        return Error{"expects exactly one TRACE file ('-' for standard input); see --help"};
    auto read = traceReadOptionsFrom(commandLine);
    if (!read.ok())
        return read.error();
    auto analyze = analyzeOptionsFrom(commandLine);
    if (!analyze.ok())
        return analyze.error();
    return AnalysisRequest{commandLine.positionals().front(), read.value(), analyze.value()};
}

int fail(const std::string& command, const std::string& message, int exitCode) {
    std::cerr << "rangepilot-plan " << command << ": " << message << "\n";
    return exitCode;
}

int handleCommandLine(const std::string& command, CommandLine& commandLine,
                      const std::vector<std::string>& arguments) {
    const Status parsed = commandLine.parse(arguments);
    if (!parsed.ok())
        return fail(command, parsed.message(), kExitUsage);
    if (commandLine.helpRequested()) {
        std::cout << commandLine.helpText();
        return kExitOk;
    }
    return -1;
}

void BadLineReporter::report(const BadLine& bad) {
    if (m_printed < kBadLinesShown)
        std::cerr << formatBadLine(bad) << "\n";
    ++m_printed;
}

void BadLineReporter::printTotal(std::uint64_t badLines) const {
    if (badLines > kBadLinesShown) {
        std::cerr << "... " << badLines - kBadLinesShown << " more; " << badLines
                  << " bad lines in total (skipped)\n";
    } else if (badLines > 0) {
        std::cerr << badLines << " bad line" << (badLines == 1 ? "" : "s") << " skipped\n";
    }
}

ProgressReporter::ProgressReporter(std::string name)
    : m_name(std::move(name))
    , m_enabled(::isatty(STDERR_FILENO) == 1) {}

ProgressReporter::~ProgressReporter() {
    if (m_shown)
        std::fprintf(stderr, "\r\033[K");
}

void ProgressReporter::update(std::uint64_t bytesDone, std::uint64_t bytesTotal) {
    if (!m_enabled)
        return;
    m_shown = true;
    const double megabytes = static_cast<double>(bytesDone) / 1e6;
    if (bytesTotal > 0) {
        const double percent =
            100.0 * static_cast<double>(bytesDone) / static_cast<double>(bytesTotal);
        std::fprintf(stderr, "\rreading %s: %5.1f%% (%.0f MB)", m_name.c_str(), percent, megabytes);
    } else {
        std::fprintf(stderr, "\rreading %s: %.0f MB", m_name.c_str(), megabytes);
    }
    std::fflush(stderr);
}

Result<TimedAnalysis> runAnalysis(const AnalysisRequest& request) {
    auto reader = TraceReader::open(request.trace, request.read);
    if (!reader.ok())
        return reader.error();

    BadLineReporter badLines;
    ProgressReporter progress(reader->displayName());
    const auto started = std::chrono::steady_clock::now();
    auto analysis = analyzeTrace(
        reader.value(), request.analyze, [&](const BadLine& bad) { badLines.report(bad); },
        [&](std::uint64_t done, std::uint64_t total) { progress.update(done, total); });
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    if (!analysis.ok())
        return analysis.error();
    badLines.printTotal(analysis->read.bad_lines);
    return TimedAnalysis{std::move(analysis.value()), elapsed.count()};
}

double bucketSeconds(const LoadMap& map) {
    return static_cast<double>(map.options().bucket_ms) / 1000.0;
}

std::string withThousandsSeparators(std::uint64_t value) {
    const std::string digits = std::to_string(value);
    std::string grouped;
    grouped.reserve(digits.size() + digits.size() / 3);
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            grouped += ',';
        grouped += digits[i];
    }
    return grouped;
}

std::string formatFixed(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

} // namespace rangepilot
