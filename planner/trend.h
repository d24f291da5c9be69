#pragma once

// Trend classification of a load series (events per bucket): is a cell, range or total growing,
// flat or declining, how fast, and how sure are we.
//
// Method:
//  1. A series covering at least two whole days is deseasonalised first: a first slope comes from
//     a Theil–Sen line through the whole-day means (the daily cycle cancels in a day's mean), the
//     daily profile is the per-time-of-day median of the data detrended by that slope, centred to
//     mean 0, and it is subtracted from every point.
//  2. Long series are averaged into at most `max_points` consecutive groups (e.g. 2016 five-minute
//     points → 63 points of 32 buckets), which keeps step 3 cheap and damps short bursts.
//  3. A Theil–Sen line through the points gives the slope; the residual scale is 1.4826·MAD of the
//     residuals (1.2533·mean absolute deviation when the MAD is 0); the standard error is that
//     scale over sqrt(Σ(x − x̄)²), and t = slope / SE.
//  4. Growing when t ≥ t_threshold and slope / mean level ≥ min_relative_slope_per_day; Declining
//     symmetrically; Flat otherwise.
//
// Invariants: never NaN or infinity. Series with fewer than `min_points` points, and all-zero or
// constant series, are Flat with t = 0. |t| is capped at kMaxTStatistic (an exact line has zero
// residual scale). Cost: O(n + D·P) plus O(max_points²) for Theil–Sen; about 50 µs for a week of
// 5-minute buckets on one core, so 1024 cells take ~50 ms. The workspace overload does not
// allocate once warm.

#include <span>
#include <string_view>
#include <vector>

namespace rangepilot {

enum class TrendDirection { Declining, Flat, Growing };

// "declining", "flat", "growing".
std::string_view trendDirectionName(TrendDirection direction);

struct TrendOptions {
    int steps_per_day = 288;                  // buckets per day (the season length)
    double t_threshold = 3.0;                 // |t| needed to call a trend
    double min_relative_slope_per_day = 0.05; // |slope| / mean level needed, per day (0.05 = 5%)
    int max_points = 64;                      // aggregate longer series down to this many points
    int min_points = 6;                       // shorter series are Flat with t = 0
};

inline constexpr double kMaxTStatistic = 1e6;

struct TrendResult {
    TrendDirection direction = TrendDirection::Flat;
    double slope_per_day = 0.0;          // change per day, in the series' units (per bucket)
    double relative_slope_per_day = 0.0; // slope_per_day / mean level; 0.1 = +10% per day
    double t_statistic = 0.0;            // slope / standard error, capped at ±kMaxTStatistic
    double mean_level = 0.0;             // mean of the series
    bool deseasonalised = false;         // a daily profile was removed (>= 2 days of data)
    int points_used = 0;                 // points in the regression after aggregation
};

// Reusable buffers for analyzeTrend(); one per thread.
struct TrendWorkspace {
    std::vector<double> adjusted;
    std::vector<double> profile;
    std::vector<double> x;
    std::vector<double> y;
    std::vector<double> scratch;
};

TrendResult analyzeTrend(std::span<const double> series, const TrendOptions& options = {});
TrendResult analyzeTrend(std::span<const double> series, const TrendOptions& options,
                         TrendWorkspace& workspace);

} // namespace rangepilot
