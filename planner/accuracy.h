#pragma once

// Forecast accuracy: sMAPE, MASE and volume-weighted aggregates across series.
//
// - sMAPE is in percent, 0..200: mean of 200·|a − f| / (|a| + |f|); a point where actual and
//   forecast are both 0 counts as 0 error. Empty input scores 0.
// - MASE divides the mean absolute error by the in-sample MAE of the one-day seasonal naive
// forecast
//   (lag = steps_per_day) on the training part. A training part shorter than one day + 1 point is
//   scaled by the lag-1 naive MAE instead, and the result says so (lag1_fallback). When the scale
//   is 0 (a constant training part), MASE is 0 if the errors are 0 too, otherwise it is reported as
//   unavailable (available = false, value 0) rather than infinite. No epsilon is ever added.
// - WeightedAverage aggregates per-series scores with caller-given weights (e.g. series volume),
//   skipping unavailable scores and non-positive or non-finite weights.
//
// Invariants: no function returns NaN or infinity for finite input. Cost: O(n) per call, no
// allocation.

#include <cstddef>
#include <span>

namespace rangepilot {

// sMAPE over the common prefix of `actual` and `forecast`, in percent.
double smape(std::span<const double> actual, std::span<const double> forecast);

// The denominator of MASE, computed once per series from its training part.
struct MaseScale {
    double value = 0.0;         // mean absolute naive error; 0 when unavailable or constant
    bool available = false;     // false when the training part has under 2 points
    bool lag1_fallback = false; // true when scaled by the lag-1 naive (training < one day + 1)
};

MaseScale maseScale(std::span<const double> training, int stepsPerDay);

struct MaseScore {
    double value = 0.0;     // meaningful only when available
    bool available = false; // false: no points, no scale, or errors over a zero scale
    bool lag1_fallback = false;
};

// MASE from an already computed mean absolute error over `count` points.
MaseScore maseFromMeanAbsoluteError(double meanAbsoluteError, std::size_t count,
                                    const MaseScale& scale);

// MASE of `forecast` against `actual` (common prefix), scaled from `training`.
MaseScore mase(std::span<const double> actual, std::span<const double> forecast,
               std::span<const double> training, int stepsPerDay);

// Streaming accumulator of point errors, for backtests that produce forecasts one at a time.
class ErrorAccumulator {
public:
    void add(double actual, double forecast);
    void clear() { *this = ErrorAccumulator(); }

    std::size_t count() const { return m_count; }
    double meanAbsoluteError() const;
    double smape() const; // percent, as smape()

private:
    double m_absoluteErrorSum = 0.0;
    double m_smapeSum = 0.0; // sum of 2|a − f| / (|a| + |f|), before the ×100 / n
    std::size_t m_count = 0;
};

// Weighted mean of scores across series.
class WeightedAverage {
public:
    // Ignored when !available or when weight is not a positive finite number or value is not
    // finite.
    void add(double value, double weight, bool available = true);

    bool empty() const { return m_totalWeight <= 0.0; }
    double value() const; // 0 when empty
    double totalWeight() const { return m_totalWeight; }
    std::size_t count() const { return m_count; }     // scores included
    std::size_t skipped() const { return m_skipped; } // scores ignored

private:
    double m_weightedSum = 0.0;
    double m_totalWeight = 0.0;
    std::size_t m_count = 0;
    std::size_t m_skipped = 0;
};

// Weighted mean of values (common prefix with weights), with WeightedAverage's rules.
double weightedAverage(std::span<const double> values, std::span<const double> weights);

} // namespace rangepilot
