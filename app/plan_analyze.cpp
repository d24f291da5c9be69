// rangepilot-plan analyze: load maps and trends of a trace, as a readable report or JSON.

#include "json_writer.h"
#include "plan_commands.h"
#include "timestamp.h"

#include <iostream>
#include <sstream>

namespace rangepilot {

namespace {

constexpr const char* kCommand = "analyze";

// Trend slopes are per bucket; operators think in events per second.
double slopeEventsPerSecondPerDay(const TraceAnalysis& analysis, const TrendResult& trend) {
    return trend.slope_per_day / bucketSeconds(*analysis.load_map);
}

void writeCellJson(JsonWriter& json, const TraceAnalysis& analysis, const CellReport& cell) {
    json.beginObject()
        .field("cell", static_cast<std::uint64_t>(cell.cell))
        .field("cells", static_cast<std::uint64_t>(cell.cell_count))
        .field("start_key", formatKey(cell.range.start));
    json.key("end_key");
    if (cell.range.unboundedAbove())
        json.null();
    else
        json.value(formatKey(cell.range.end));
    json.field("events", cell.events)
        .field("trend", trendDirectionName(cell.trend.direction))
        .field("slope_per_day", slopeEventsPerSecondPerDay(analysis, cell.trend))
        .field("relative_slope_per_day", cell.trend.relative_slope_per_day)
        .field("t_statistic", cell.trend.t_statistic)
        .endObject();
}

void writeCellListJson(JsonWriter& json, std::string_view name, const TraceAnalysis& analysis,
                       const std::vector<CellReport>& cells) {
    json.key(name).beginArray();
    for (const CellReport& cell : cells)
        writeCellJson(json, analysis, cell);
    json.endArray();
}

std::string analysisJson(const std::string& trace, const TimedAnalysis& timed) {
    const TraceAnalysis& analysis = timed.analysis;
    const LoadMap& map = *analysis.load_map;
    const double seconds = std::max(timed.seconds, 1e-9);
    JsonWriter json;
    json.beginObject()
        .field("trace", trace)
        .field("events", analysis.read.events)
        .field("bad_lines", analysis.read.bad_lines)
        .field("lines", analysis.read.lines)
        .field("late_dropped", map.stats().late_dropped)
        .field("start_ms", analysis.read.events > 0 ? analysis.read.min_ts : 0)
        .field("end_ms", analysis.read.events > 0 ? analysis.read.max_ts : 0)
        .field("bucket_s", bucketSeconds(*analysis.load_map))
        .field("buckets", static_cast<std::uint64_t>(map.bucketCount()))
        .field("cells", static_cast<std::uint64_t>(map.cells().size()))
        .field("cells_from", analysis.cells_from)
        .field("elapsed_s", timed.seconds)
        .field("events_per_second", static_cast<double>(analysis.read.events) / seconds)
        .field("bytes_per_second", static_cast<double>(analysis.read.bytes) / seconds);
    json.key("total_trend")
        .beginObject()
        .field("trend", trendDirectionName(analysis.total_trend.direction))
        .field("slope_per_day", slopeEventsPerSecondPerDay(analysis, analysis.total_trend))
        .field("relative_slope_per_day", analysis.total_trend.relative_slope_per_day)
        .field("t_statistic", analysis.total_trend.t_statistic)
        .endObject();
    writeCellListJson(json, "top_cells", analysis, analysis.top_cells);
    writeCellListJson(json, "growing", analysis, analysis.growing);
    writeCellListJson(json, "declining", analysis, analysis.declining);
    json.endObject();
    return json.text();
}

// Three significant digits, so slow trends do not print as "+0.00".
std::string formatSignedSignificant(double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%+.3g", value);
    return buffer;
}

std::string describeTrend(const TraceAnalysis& analysis, const TrendResult& trend) {
    std::ostringstream text;
    text << trendDirectionName(trend.direction) << " "
         << formatSignedSignificant(slopeEventsPerSecondPerDay(analysis, trend))
         << " ev/s per day (" << (trend.relative_slope_per_day >= 0 ? "+" : "")
         << formatFixed(100 * trend.relative_slope_per_day, 1)
         << "%/day, t = " << formatFixed(trend.t_statistic, 1) << ")";
    return text.str();
}

void printCellTable(std::ostream& out, const std::string& title, const TraceAnalysis& analysis,
                    const std::vector<CellReport>& cells) {
    out << "\n" << title << "\n";
    if (cells.empty()) {
        out << "  (none)\n";
        return;
    }
    const double total = static_cast<double>(std::max<std::uint64_t>(analysis.read.events, 1));
    char line[512];
    std::snprintf(line, sizeof line, "  %-44s %12s %7s  %s\n", "key range", "events", "share",
                  "trend");
    out << line;
    for (const CellReport& cell : cells) {
        std::snprintf(line, sizeof line, "  %-44s %12s %6.2f%%  %s\n",
                      formatKeyRange(cell.range).c_str(),
                      withThousandsSeparators(cell.events).c_str(),
                      100.0 * static_cast<double>(cell.events) / total,
                      describeTrend(analysis, cell.trend).c_str());
        out << line;
    }
}

void printReport(std::ostream& out, const std::string& trace, const TimedAnalysis& timed) {
    const TraceAnalysis& analysis = timed.analysis;
    const LoadMap& map = *analysis.load_map;
    const double spanDays =
        analysis.read.events > 0
            ? static_cast<double>(analysis.read.max_ts - analysis.read.min_ts) / kMsPerDay
            : 0.0;
    out << "Trace        " << trace << "\n";
    out << "Events       " << withThousandsSeparators(analysis.read.events) << " ("
        << withThousandsSeparators(analysis.read.bad_lines) << " bad lines, "
        << withThousandsSeparators(map.stats().late_dropped) << " too late to count)\n";
    if (analysis.read.events > 0) {
        out << "Span         " << formatIso8601(analysis.read.min_ts) << " .. "
            << formatIso8601(analysis.read.max_ts) << " (" << formatFixed(spanDays, 2)
            << " days)\n";
    }
    out << "Load map     " << map.cells().size() << " key cells (" << analysis.cells_from << "), "
        << map.bucketCount() << " buckets of " << formatFixed(bucketSeconds(*analysis.load_map), 0)
        << " s\n";
    out << "Throughput   "
        << formatFixed(
               static_cast<double>(analysis.read.events) / std::max(timed.seconds, 1e-9) / 1e6, 2)
        << " M events/s (" << formatFixed(timed.seconds, 2) << " s)\n";
    out << "Total load   " << describeTrend(analysis, analysis.total_trend) << "\n";
    printCellTable(out, "Busiest key cells", analysis, analysis.top_cells);
    printCellTable(out, "Growing fastest", analysis, analysis.growing);
    printCellTable(out, "Declining fastest", analysis, analysis.declining);
}

} // namespace

int runAnalyze(const std::vector<std::string>& arguments) {
    CommandLine commandLine("rangepilot-plan analyze TRACE [options]",
                            "Counts a trace's load per time bucket and key cell, and reports the "
                            "busiest cells and the\nfastest growing and declining ones (daily "
                            "cycle removed). TRACE is a CSV file or '-'.");
    addTraceOptions(commandLine);
    commandLine.addOption("--top", "N", "cells in each ranked list (default 10)");
    commandLine.addFlag("--json", "print one JSON object on stdout");
    if (const int handled = handleCommandLine(kCommand, commandLine, arguments); handled >= 0)
        return handled;
    const auto request = analysisRequestFrom(commandLine);
    if (!request.ok())
        return fail(kCommand, request.error().message, kExitUsage);
    auto timed = runAnalysis(request.value());
    if (!timed.ok())
        return fail(kCommand, timed.error().message, kExitFailure);
    const std::string& trace = request->trace;
    if (commandLine.has("--json"))
        std::cout << analysisJson(trace, timed.value()) << "\n";
    else
        printReport(std::cout, trace, timed.value());
    return kExitOk;
}

} // namespace rangepilot
