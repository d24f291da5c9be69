// rangepilot-plan forecast: projected load per key cell (or range, or in total) over a horizon,
// with prediction intervals, and a backtest that scores every model against seasonal naive.

#include "forecast.h"
#include "json_writer.h"
#include "plan_commands.h"
#include "timestamp.h"
#include "trace_writer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>

namespace rangepilot {

namespace {

constexpr const char* kCommand = "forecast";
constexpr std::array<ForecastModel, 5> kReportedModels{
    ForecastModel::SeasonalNaive, ForecastModel::Ewma, ForecastModel::HoltWinters,
    ForecastModel::Spar, ForecastModel::Auto};

enum class SeriesLevel { Cells, Ranges, Total };

struct NamedSeries {
    std::string name; // the key range, or "total"
    std::vector<double> values;
    double volume = 0;
};

struct ForecastRequest {
    AnalysisRequest analysis;
    SeriesLevel level = SeriesLevel::Cells;
    std::size_t ranges = 64;
    ForecastModel model = ForecastModel::Auto;
    TimeMs horizon_ms = kMsPerHour;
    bool backtest = false;
    bool json = false;
    std::optional<std::string> forecast_out;
};

Result<ForecastRequest> forecastRequestFrom(const CommandLine& commandLine) {
    ForecastRequest request;
    auto analysis = analysisRequestFrom(commandLine);
    if (!analysis.ok())
        return analysis.error();
    request.analysis = analysis.value();
    const std::string level = commandLine.valueOr("--level", "cells");
    if (level == "cells")
        request.level = SeriesLevel::Cells;
    else if (level == "ranges")
        request.level = SeriesLevel::Ranges;
    else if (level == "total")
        request.level = SeriesLevel::Total;
    else
        return Error{"--level: '" + level + "' is not one of cells, ranges, total"};
    const auto ranges = commandLine.integer("--ranges", 64, 1, 1 << 20);
    if (!ranges.ok())
        return ranges.error();
    request.ranges = static_cast<std::size_t>(ranges.value());
    const std::string model = commandLine.valueOr("--model", "auto");
    const auto parsedModel = parseModelName(model);
    if (!parsedModel)
        return Error{"--model: '" + model +
                     "' is not one of auto, seasonal_naive, ewma, holt_winters, spar"};
    request.model = *parsedModel;
    const auto horizon = commandLine.duration("--horizon", kMsPerHour, 1, 7 * kMsPerDay);
    if (!horizon.ok())
        return horizon.error();
    request.horizon_ms = horizon.value();
    if (request.horizon_ms < request.analysis.analyze.load_map.bucket_ms)
        return Error{"--horizon must be at least one bucket (--bucket)"};
    request.backtest = commandLine.has("--backtest");
    request.json = commandLine.has("--json");
    request.forecast_out = commandLine.value("--forecast-out");
    return request;
}

// The trace rarely ends on a bucket boundary; a last bucket that saw under 90% of its width
// would look like a sudden drop, so it is left out of the history.
std::size_t completeBuckets(const TraceAnalysis& analysis) {
    const LoadMap& map = *analysis.load_map;
    if (map.bucketCount() == 0 || analysis.read.events == 0)
        return 0;
    const std::int64_t last = map.firstBucket() + static_cast<std::int64_t>(map.bucketCount()) - 1;
    const TimeMs covered = analysis.read.max_ts + 1 - map.bucketStartMs(last);
    const bool partial = covered * 10 < map.options().bucket_ms * 9;
    return map.bucketCount() - (partial ? 1 : 0);
}

double sumOf(const std::vector<double>& values) {
    double total = 0;
    for (const double value : values)
        total += value;
    return total;
}

std::vector<NamedSeries> buildSeries(const TraceAnalysis& analysis, const ForecastRequest& request,
                                     std::size_t length) {
    const LoadMap& map = *analysis.load_map;
    std::vector<NamedSeries> series;
    auto addSeries = [&](std::string name, std::vector<double> values) {
        values.resize(length);
        const double volume = sumOf(values);
        if (volume > 0)
            series.push_back({std::move(name), std::move(values), volume});
    };
    const auto cellCount = static_cast<CellIndex>(map.cells().size());
    switch (request.level) {
    case SeriesLevel::Total:
        addSeries("total", map.totalSeries(LoadMetric::Ops));
        break;
    case SeriesLevel::Cells: {
        std::vector<std::vector<double>> cells = allCellSeries(map, LoadMetric::Ops);
        for (CellIndex cell = 0; cell < cellCount; ++cell)
            addSeries(formatKeyRange(map.cells().range(cell)), std::move(cells[cell]));
        break;
    }
    case SeriesLevel::Ranges: {
        // Cells are quantiles of the traffic, so equal cell counts are roughly equal load.
        const std::size_t groups = std::min<std::size_t>(request.ranges, cellCount);
        for (std::size_t group = 0; group < groups; ++group) {
            const auto first = static_cast<CellIndex>(group * cellCount / groups);
            const auto end = static_cast<CellIndex>((group + 1) * cellCount / groups);
            const KeyRange range{map.cells().range(first).start, map.cells().range(end - 1).end};
            addSeries(formatKeyRange(range), map.series(first, end, LoadMetric::Ops));
        }
        break;
    }
    }
    return series;
}

ForecastOptions forecastOptionsFor(const LoadMap& map, const ForecastRequest& request) {
    ForecastOptions options;
    options.steps_per_day = trendOptionsFor(map.options(), TrendOptions{}).steps_per_day;
    const TimeMs bucket = map.options().bucket_ms;
    options.horizon_steps = static_cast<int>((request.horizon_ms + bucket - 1) / bucket);
    return options;
}

struct ModelSummary {
    WeightedAverage smape;
    WeightedAverage mase;
    std::size_t available = 0;
};

struct BacktestSummary {
    std::array<ModelSummary, 5> models; // in kReportedModels order
    std::map<std::string, std::size_t> chosen;
    std::size_t lag1_scaled = 0;
};

BacktestSummary runBacktests(const std::vector<NamedSeries>& series,
                             const ForecastOptions& options) {
    BacktestSummary summary;
    ForecastWorkspace workspace;
    for (const NamedSeries& one : series) {
        const BacktestResult result = backtestSeries(one.values, options, workspace);
        for (std::size_t i = 0; i < kReportedModels.size(); ++i) {
            const ModelScore& score = result.score(kReportedModels[i]);
            ModelSummary& model = summary.models[i];
            if (!score.available || score.test_points == 0)
                continue;
            ++model.available;
            model.smape.add(score.smape, one.volume);
            model.mase.add(score.mase, one.volume, score.mase_available);
        }
        ++summary.chosen[std::string(modelName(result.chosen))];
        summary.lag1_scaled += result.score(ForecastModel::Auto).mase_lag1_fallback ? 1 : 0;
    }
    return summary;
}

struct Projection {
    const NamedSeries* series = nullptr;
    SeriesForecast forecast;
    double peak = 0; // highest projected point
};

std::vector<Projection> runForecasts(const std::vector<NamedSeries>& series,
                                     const ForecastOptions& options, ForecastModel model) {
    std::vector<Projection> projections;
    projections.reserve(series.size());
    ForecastWorkspace workspace;
    for (const NamedSeries& one : series) {
        Projection projection{&one, forecastSeries(one.values, model, options, workspace), 0};
        for (const double point : projection.forecast.point)
            projection.peak = std::max(projection.peak, point);
        projections.push_back(std::move(projection));
    }
    return projections;
}

// Quotes a CSV field when needed (range names contain ", ").
std::string csvField(const std::string& text) {
    std::string field;
    appendCsvField(field, text);
    return field;
}

Status writeForecastCsv(const std::string& path, const std::vector<Projection>& projections,
                        TimeMs firstForecastMs, TimeMs bucketMs) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out)
        return Error{path + ": cannot open for writing"};
    const double perSecond = 1000.0 / static_cast<double>(bucketMs);
    out << "series,time,projected,lo,hi\n";
    for (const Projection& projection : projections) {
        const SeriesForecast& forecast = projection.forecast;
        for (std::size_t step = 0; step < forecast.point.size(); ++step) {
            out << csvField(projection.series->name) << ','
                << formatIso8601(firstForecastMs + static_cast<TimeMs>(step) * bucketMs) << ','
                << forecast.point[step] * perSecond << ',' << forecast.lo[step] * perSecond << ','
                << forecast.hi[step] * perSecond << '\n';
        }
    }
    out.flush();
    if (!out)
        return Error{path + ": write failed"};
    return Status::success();
}

void writeModelJson(JsonWriter& json, std::string_view name, const ModelSummary& model) {
    json.beginObject().field("name", name);
    json.key("smape");
    model.smape.empty() ? json.null() : json.value(model.smape.value());
    json.key("mase");
    model.mase.empty() ? json.null() : json.value(model.mase.value());
    json.field("series", static_cast<std::uint64_t>(model.available)).endObject();
}

void writeProjectionJson(JsonWriter& json, const Projection& projection, TimeMs firstMs,
                         TimeMs bucketMs) {
    const double perSecond = 1000.0 / static_cast<double>(bucketMs);
    json.beginObject()
        .field("series", projection.series->name)
        .field("model", modelName(projection.forecast.model))
        .field("peak_per_second", projection.peak * perSecond);
    json.key("points").beginArray();
    for (std::size_t step = 0; step < projection.forecast.point.size(); ++step) {
        json.beginObject()
            .field("time_ms", firstMs + static_cast<TimeMs>(step) * bucketMs)
            .field("projected", projection.forecast.point[step] * perSecond)
            .field("lo", projection.forecast.lo[step] * perSecond)
            .field("hi", projection.forecast.hi[step] * perSecond)
            .endObject();
    }
    json.endArray();
    json.key("notes").beginArray();
    for (const std::string& note : projection.forecast.notes)
        json.value(note);
    json.endArray().endObject();
}

struct ForecastReport {
    const ForecastRequest* request = nullptr;
    const TraceAnalysis* analysis = nullptr;
    ForecastOptions options;
    std::size_t history = 0;
    std::size_t series = 0;
    std::optional<BacktestSummary> backtest;
    std::vector<Projection> projections; // busiest projected peak first
    TimeMs first_forecast_ms = 0;
};

double historyDays(const ForecastReport& report) {
    return static_cast<double>(report.history) / report.options.steps_per_day;
}

std::string levelName(SeriesLevel level) {
    switch (level) {
    case SeriesLevel::Cells:
        return "cells";
    case SeriesLevel::Ranges:
        return "ranges";
    case SeriesLevel::Total:
        return "total";
    }
    return "cells";
}

void printJson(const ForecastReport& report, std::size_t top) {
    const LoadMap& map = *report.analysis->load_map;
    JsonWriter json;
    json.beginObject()
        .field("trace", report.request->analysis.trace)
        .field("events", report.analysis->read.events)
        .field("bucket_s", bucketSeconds(map))
        .field("horizon_s", bucketSeconds(map) * static_cast<double>(report.options.horizon_steps))
        .field("history_buckets", static_cast<std::uint64_t>(report.history))
        .field("history_days", historyDays(report))
        .field("level", levelName(report.request->level))
        .field("series", static_cast<std::uint64_t>(report.series));
    if (report.backtest) {
        json.key("models").beginArray();
        for (std::size_t i = 0; i < kReportedModels.size(); ++i)
            writeModelJson(json, modelName(kReportedModels[i]), report.backtest->models[i]);
        json.endArray();
        json.key("chosen");
        writeModelJson(json, "auto", report.backtest->models.back());
        json.key("auto_choices").beginObject();
        for (const auto& [name, count] : report.backtest->chosen)
            json.field(name, static_cast<std::uint64_t>(count));
        json.endObject();
        json.field("mase_lag1_scaled_series",
                   static_cast<std::uint64_t>(report.backtest->lag1_scaled));
    }
    json.key("forecasts").beginArray();
    for (std::size_t i = 0; i < std::min(top, report.projections.size()); ++i)
        writeProjectionJson(json, report.projections[i], report.first_forecast_ms,
                            map.options().bucket_ms);
    json.endArray().endObject();
    std::cout << json.text() << "\n";
}

void printBacktestTable(const BacktestSummary& backtest) {
    std::cout << "\nBacktest (rolling origin; scores on the last window, weighted by volume; "
                 "MASE < 1 beats seasonal naive)\n";
    char line[256];
    std::snprintf(line, sizeof line, "  %-16s %9s %8s %8s\n", "model", "sMAPE", "MASE", "series");
    std::cout << line;
    for (std::size_t i = 0; i < kReportedModels.size(); ++i) {
        const ModelSummary& model = backtest.models[i];
        const std::string smapeText =
            model.smape.empty() ? "n/a" : formatFixed(model.smape.value(), 1) + "%";
        const std::string maseText =
            model.mase.empty() ? "n/a" : formatFixed(model.mase.value(), 3);
        std::snprintf(line, sizeof line, "  %-16s %9s %8s %8zu\n",
                      std::string(modelName(kReportedModels[i])).c_str(), smapeText.c_str(),
                      maseText.c_str(), model.available);
        std::cout << line;
    }
    std::cout << "  auto chose:";
    for (const auto& [name, count] : backtest.chosen)
        std::cout << " " << name << " " << count;
    std::cout << "\n";
}

void printProjections(const ForecastReport& report, std::size_t top) {
    const TimeMs bucketMs = report.analysis->load_map->options().bucket_ms;
    const double perSecond = 1000.0 / static_cast<double>(bucketMs);
    std::cout << "\nHighest projected peaks over the next "
              << formatFixed(static_cast<double>(report.options.horizon_steps * bucketMs) / 60000.0,
                             0)
              << " min (events/s, " << formatFixed(100 * report.options.interval, 0)
              << "% interval)\n";
    char line[512];
    for (std::size_t i = 0; i < std::min(top, report.projections.size()); ++i) {
        const Projection& projection = report.projections[i];
        const auto peakStep = static_cast<std::size_t>(
            std::max_element(projection.forecast.point.begin(), projection.forecast.point.end()) -
            projection.forecast.point.begin());
        std::snprintf(
            line, sizeof line, "  %-44s %9.2f [%8.2f, %8.2f] at %s  (%s)\n",
            projection.series->name.c_str(), projection.peak * perSecond,
            projection.forecast.lo[peakStep] * perSecond,
            projection.forecast.hi[peakStep] * perSecond,
            formatIso8601(report.first_forecast_ms + static_cast<TimeMs>(peakStep) * bucketMs)
                .substr(11, 5)
                .c_str(),
            std::string(modelName(projection.forecast.model)).c_str());
        std::cout << line;
    }
    for (const Projection& projection : report.projections) {
        if (!projection.forecast.notes.empty()) {
            std::cout << "  note: " << projection.forecast.notes.front() << "\n";
            break;
        }
    }
}

void printText(const ForecastReport& report, std::size_t top) {
    const LoadMap& map = *report.analysis->load_map;
    std::cout << "Trace        " << report.request->analysis.trace << "\n";
    std::cout << "History      " << report.history << " buckets of "
              << formatFixed(bucketSeconds(map), 0) << " s (" << formatFixed(historyDays(report), 2)
              << " days)\n";
    std::cout << "Series       " << report.series << " (" << levelName(report.request->level)
              << " with traffic)\n";
    if (report.backtest)
        printBacktestTable(*report.backtest);
    printProjections(report, top);
}

} // namespace

int runForecast(const std::vector<std::string>& arguments) {
    CommandLine commandLine(
        "rangepilot-plan forecast TRACE [--backtest] [options]",
        "Forecasts load per key cell (or range, or in total) over a horizon with an 80% "
        "prediction\ninterval. --backtest scores seasonal naive, EWMA, Holt-Winters, SPAR and "
        "auto by rolling-origin\nbacktest (sMAPE, and MASE against the one-day seasonal naive).");
    addTraceOptions(commandLine);
    commandLine.addOption("--level", "LEVEL", "series: cells (default), ranges or total");
    commandLine.addOption("--ranges", "N", "with --level ranges: how many ranges (default 64)");
    commandLine.addOption("--model", "NAME",
                          "auto (default), seasonal_naive, ewma, holt_winters or spar");
    commandLine.addOption("--horizon", "DURATION", "how far ahead (default 1h)");
    commandLine.addFlag("--backtest", "score the models on the end of the history");
    commandLine.addOption("--forecast-out", "FILE.csv",
                          "write series,time,projected,lo,hi (events/s) for every series");
    commandLine.addOption("--top", "N", "series listed in the report (default 10)");
    commandLine.addFlag("--json", "print one JSON object on stdout");
    if (const int handled = handleCommandLine(kCommand, commandLine, arguments); handled >= 0)
        return handled;
    const auto request = forecastRequestFrom(commandLine);
    if (!request.ok())
        return fail(kCommand, request.error().message, kExitUsage);

    auto timed = runAnalysis(request->analysis);
    if (!timed.ok())
        return fail(kCommand, timed.error().message, kExitFailure);
    const TraceAnalysis& analysis = timed->analysis;
    const LoadMap& map = *analysis.load_map;

    ForecastReport report;
    report.request = &request.value();
    report.analysis = &analysis;
    report.options = forecastOptionsFor(map, request.value());
    report.history = completeBuckets(analysis);
    const std::vector<NamedSeries> series = buildSeries(analysis, request.value(), report.history);
    report.series = series.size();
    report.first_forecast_ms =
        map.bucketStartMs(map.firstBucket() + static_cast<std::int64_t>(report.history));
    if (request->backtest)
        report.backtest = runBacktests(series, report.options);
    report.projections = runForecasts(series, report.options, request->model);
    if (request->forecast_out) {
        const Status written = writeForecastCsv(*request->forecast_out, report.projections,
                                                report.first_forecast_ms, map.options().bucket_ms);
        if (!written.ok())
            return fail(kCommand, written.message(), kExitFailure);
    }
    std::stable_sort(report.projections.begin(), report.projections.end(),
                     [](const Projection& a, const Projection& b) { return a.peak > b.peak; });
    const std::size_t top = request->analysis.analyze.top;
    if (request->json)
        printJson(report, top);
    else
        printText(report, top);
    return kExitOk;
}

} // namespace rangepilot
