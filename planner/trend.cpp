#include "trend.h"

#include "series_math.h"

#include <algorithm>
#include <cmath>

namespace rangepilot {

namespace {

namespace sm = series_math;

// Consistency constants that turn a deviation into a normal-distribution sigma.
constexpr double kMadToSigma = 1.4826;
constexpr double kMeanAbsToSigma = 1.2533;

bool isConstant(std::span<const double> series) {
    return std::all_of(series.begin(), series.end(),
                       [first = series.front()](double value) { return value == first; });
}

// Writes series − daily profile into workspace.adjusted. The profile is estimated from data
// detrended by the slope through whole-day means, so a trend does not leak into the profile.
void removeDailyProfile(std::span<const double> series, std::size_t period,
                        TrendWorkspace& workspace) {
    const std::size_t days = series.size() / period;
    workspace.x.resize(days);
    workspace.y.resize(days);
    for (std::size_t d = 0; d < days; ++d) {
        workspace.x[d] = static_cast<double>(d * period) + 0.5 * static_cast<double>(period - 1);
        workspace.y[d] = sm::mean(series.subspan(d * period, period));
    }
    const double daySlope = sm::theilSenLine(workspace.x, workspace.y, workspace.scratch).slope;

    workspace.profile.resize(period);
    workspace.scratch.resize(days);
    for (std::size_t phase = 0; phase < period; ++phase) {
        for (std::size_t d = 0; d < days; ++d) {
            const std::size_t t = d * period + phase;
            workspace.scratch[d] = series[t] - daySlope * static_cast<double>(t);
        }
        workspace.profile[phase] = sm::medianInPlace(workspace.scratch);
    }
    const double profileMean = sm::mean(workspace.profile);
    for (double& value : workspace.profile) {
        value -= profileMean;
    }

    workspace.adjusted.resize(series.size());
    for (std::size_t dayStart = 0; dayStart < series.size(); dayStart += period) {
        const std::size_t count = std::min(period, series.size() - dayStart);
        for (std::size_t phase = 0; phase < count; ++phase) {
            workspace.adjusted[dayStart + phase] =
                series[dayStart + phase] - workspace.profile[phase];
        }
    }
}

// Averages consecutive groups of `group` points into workspace.x (group centre) and .y (mean).
void aggregate(std::span<const double> values, std::size_t group, TrendWorkspace& workspace) {
    workspace.x.clear();
    workspace.y.clear();
    for (std::size_t start = 0; start < values.size(); start += group) {
        const std::size_t count = std::min(group, values.size() - start);
        workspace.x.push_back(static_cast<double>(start) + 0.5 * static_cast<double>(count - 1));
        workspace.y.push_back(sm::mean(values.subspan(start, count)));
    }
}

// Robust sigma of the residuals y − line(x).
double residualSigma(const TrendWorkspace& workspace, const sm::LineFit& line,
                     std::vector<double>& residuals, std::vector<double>& scratch) {
    residuals.resize(workspace.x.size());
    for (std::size_t i = 0; i < residuals.size(); ++i) {
        residuals[i] = workspace.y[i] - (line.intercept + line.slope * workspace.x[i]);
    }
    const double mad = sm::medianAbsoluteDeviation(residuals, scratch);
    if (mad > 0.0) {
        return kMadToSigma * mad;
    }
    // More than half the residuals coincide (e.g. a sparse series): fall back to the mean
    // absolute deviation around the median so real scatter is not ignored.
    const double center = sm::median(residuals, scratch);
    double total = 0.0;
    for (const double r : residuals) {
        total += std::abs(r - center);
    }
    return kMeanAbsToSigma * total / static_cast<double>(residuals.size());
}

double tStatistic(double slope, double sigma, std::span<const double> x) {
    const double meanX = sm::mean(x);
    double sxx = 0.0;
    for (const double value : x) {
        sxx += (value - meanX) * (value - meanX);
    }
    const double standardError = sxx > 0.0 ? sigma / std::sqrt(sxx) : 0.0;
    if (slope == 0.0) {
        return 0.0;
    }
    if (!(standardError > 0.0)) {
        return std::copysign(kMaxTStatistic, slope);
    }
    return std::clamp(slope / standardError, -kMaxTStatistic, kMaxTStatistic);
}

TrendDirection classify(const TrendResult& result, const TrendOptions& options) {
    if (result.t_statistic >= options.t_threshold &&
        result.relative_slope_per_day >= options.min_relative_slope_per_day) {
        return TrendDirection::Growing;
    }
    if (result.t_statistic <= -options.t_threshold &&
        result.relative_slope_per_day <= -options.min_relative_slope_per_day) {
        return TrendDirection::Declining;
    }
    return TrendDirection::Flat;
}

} // namespace

std::string_view trendDirectionName(TrendDirection direction) {
    switch (direction) {
    case TrendDirection::Declining:
        return "declining";
    case TrendDirection::Flat:
        return "flat";
    case TrendDirection::Growing:
        return "growing";
    }
    return "flat";
}

TrendResult analyzeTrend(std::span<const double> series, const TrendOptions& options) {
    TrendWorkspace workspace;
    return analyzeTrend(series, options, workspace);
}

TrendResult analyzeTrend(std::span<const double> series, const TrendOptions& options,
                         TrendWorkspace& workspace) {
    TrendResult result;
    result.mean_level = sm::mean(series);
    const auto minPoints = static_cast<std::size_t>(std::max(options.min_points, 3));
    if (series.size() < minPoints || isConstant(series)) {
        return result;
    }

    const auto period = static_cast<std::size_t>(std::max(options.steps_per_day, 1));
    std::span<const double> values = series;
    if (period >= 2 && series.size() >= 2 * period) {
        removeDailyProfile(series, period, workspace);
        values = workspace.adjusted;
        result.deseasonalised = true;
    }

    const auto maxPoints = static_cast<std::size_t>(std::max(options.max_points, 8));
    const std::size_t group = (values.size() + maxPoints - 1) / maxPoints;
    aggregate(values, group, workspace);
    result.points_used = static_cast<int>(workspace.x.size());

    const sm::LineFit line = sm::theilSenLine(workspace.x, workspace.y, workspace.scratch);
    // `profile` is free again after deseasonalising: reuse it for the residuals.
    const double sigma = residualSigma(workspace, line, workspace.profile, workspace.scratch);

    result.t_statistic = tStatistic(line.slope, sigma, workspace.x);
    result.slope_per_day = line.slope * static_cast<double>(period);
    result.relative_slope_per_day =
        result.mean_level > 0.0 ? result.slope_per_day / result.mean_level : 0.0;
    result.direction = classify(result, options);
    return result;
}

} // namespace rangepilot
