#pragma once

// rangepilot-plan's subcommands and what they share: the trace options (our format or a foreign
// log's column mapping), the generated workload's options, bad-line and progress reporting on
// stderr, and number formatting.
//
// Exit codes: 0 success, 1 the work failed (unreadable input, strict mode hit a bad line, I/O
// error), 2 the command line was wrong.

#include "analysis.h"
#include "cli_options.h"
#include "trace_reader.h"
#include "workload_generator.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rangepilot {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

int runGenerate(const std::vector<std::string>& arguments);
int runAnalyze(const std::vector<std::string>& arguments);
int runForecast(const std::vector<std::string>& arguments);
int runSimulate(const std::vector<std::string>& arguments);
int runCompare(const std::vector<std::string>& arguments);

// Options for reading a trace: our format or a foreign log's column mapping, strict mode.
void addTraceReadOptions(CommandLine& commandLine);
Result<TraceReadOptions> traceReadOptionsFrom(const CommandLine& commandLine);
// The first of those options given on the command line, if any (they make no sense for a
// generated workload).
std::optional<std::string> givenTraceReadOption(const CommandLine& commandLine);

// The generator's scenario names, comma-separated, for help texts and errors.
std::string scenarioList();

// --hours and --rate of a generated workload, worded alike in every command that has them.
void addScenarioLengthOptions(CommandLine& commandLine);

// The generated workload a command line asks for: --scenario (default diurnal), --hours, --rate,
// --seed, and where the command declares them --keys, --key-prefix, --zipf, --clients, --start;
// checked by validate(const WorkloadOptions&). Errors are usage errors.
Result<WorkloadOptions> workloadOptionsFrom(const CommandLine& commandLine);

// The read options plus those for building a load map, shared by analyze and forecast.
void addTraceOptions(CommandLine& commandLine);

// What analyze and forecast read from their command line; errors are usage errors.
struct AnalysisRequest {
    std::string trace;
    TraceReadOptions read;
    AnalyzeOptions analyze;
};
Result<AnalysisRequest> analysisRequestFrom(const CommandLine& commandLine);

// Stores a parsed option value in `target` unless an earlier option already failed; the first
// failure stays in `error`. Lets a command parse all its options, then report the first error.
template <typename T, typename Target>
void takeOption(const Result<T>& parsed, Target& target, std::optional<Error>& error) {
    if (error)
        return;
    if (!parsed)
        error = parsed.error();
    else
        target = static_cast<Target>(parsed.value());
}

// Prints "rangepilot-plan COMMAND: message" on stderr and returns `exitCode`.
int fail(const std::string& command, const std::string& message, int exitCode);

// Handles --help and usage errors; returns -1 when the command should go on.
int handleCommandLine(const std::string& command, CommandLine& commandLine,
                      const std::vector<std::string>& arguments);

// Reports bad lines on stderr as FILE:LINE: reason, the first 20 of them, then a total.
class BadLineReporter {
public:
    void report(const BadLine& bad);
    void printTotal(std::uint64_t badLines) const;

private:
    std::uint64_t m_printed = 0;
};

// A progress line on stderr while a large file is read, only when stderr is a terminal.
class ProgressReporter {
public:
    explicit ProgressReporter(std::string name);
    ~ProgressReporter();
    void update(std::uint64_t bytesDone, std::uint64_t bytesTotal);

private:
    std::string m_name;
    bool m_enabled = false;
    bool m_shown = false;
};

// The analysis pipeline with the CLI's bad-line and progress reporting around it.
struct TimedAnalysis {
    TraceAnalysis analysis;
    double seconds = 0;
};
Result<TimedAnalysis> runAnalysis(const AnalysisRequest& request);

// The load map's bucket width in seconds.
double bucketSeconds(const LoadMap& map);

std::string withThousandsSeparators(std::uint64_t value);
std::string formatFixed(double value, int decimals);

} // namespace rangepilot
