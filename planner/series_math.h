#pragma once

// Small numeric helpers shared by accuracy, trend and forecasting code: robust location and scale
// (median, quantile, MAD), robust and least-squares line fits, a ridge-regularised solver for
// small dense symmetric systems, and the standard normal quantile.
//
// Invariants: every function accepts empty input and returns 0 (or an all-zero result) instead of
// NaN; nothing divides by zero. Functions that reorder data say so ("InPlace") or take a scratch
// buffer that they overwrite, so hot callers can reuse memory. Cost is stated per function.

#include <cstddef>
#include <span>
#include <vector>

namespace rangepilot::series_math {

// Arithmetic mean; 0 for empty input. O(n).
double mean(std::span<const double> values);

// Sum of values. O(n).
double sum(std::span<const double> values);

// Median, reordering `values`; 0 for empty input. Even counts average the two middle values. O(n).
double medianInPlace(std::span<double> values);

// Median of `values` using `scratch` as working memory. O(n).
double median(std::span<const double> values, std::vector<double>& scratch);

// Quantile with linear interpolation between order statistics (Hyndman–Fan type 7), reordering
// `values`; `probability` is clamped to [0, 1]. 0 for empty input. O(n).
double quantileInPlace(std::span<double> values, double probability);

// Median absolute deviation from the median (unscaled: multiply by 1.4826 for a normal sigma).
// O(n), uses `scratch`.
double medianAbsoluteDeviation(std::span<const double> values, std::vector<double>& scratch);

struct LineFit {
    double slope = 0.0;
    double intercept = 0.0;
};

// Ordinary least squares line y = intercept + slope·x. With fewer than two distinct x the slope is
// 0 and the intercept is the mean of y. O(n).
LineFit leastSquaresLine(std::span<const double> x, std::span<const double> y);

// Theil–Sen line: slope is the median of the pairwise slopes over pairs with distinct x, intercept
// the median of y − slope·x. Robust to up to ~29% outliers. O(n²) time and memory in `scratch`,
// so keep n to a few hundred.
LineFit theilSenLine(std::span<const double> x, std::span<const double> y,
                     std::vector<double>& scratch);

// Largest system solveSymmetricRidge() accepts.
inline constexpr int kMaxSolveDimension = 32;

// Solves (G + Λ)·x = b for a symmetric positive semi-definite n×n matrix G (row-major, n ≤
// kMaxSolveDimension) by Cholesky. Λ is a diagonal ridge: relativeRidge × G_ii per row (the
// same as ridge on standardised columns), with G_ii floored at 1e-6 × the mean diagonal, so
// collinear or all-zero columns get a small or zero coefficient rather than a blow-up. When the
// factorisation still fails the ridge grows a hundredfold, up to four times. Returns false (and x =
// 0) only if all attempts fail or n is out of range. O(n³); no allocation.
bool solveSymmetricRidge(std::span<const double> gram, std::span<const double> rhs, int n,
                         double relativeRidge, std::span<double> solution);

// The standard normal quantile Φ⁻¹(p) for p in (0, 1), by bisection on std::erfc (deterministic,
// accurate to ~1e-12). p is clamped to [1e-12, 1 − 1e-12]. O(60 erfc evaluations).
double normalQuantile(double probability);

} // namespace rangepilot::series_math
