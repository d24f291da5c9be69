#include "series_math.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace rangepilot::series_math {

double sum(std::span<const double> values) {
    double total = 0.0;
    for (const double value : values) {
        total += value;
    }
    return total;
}

double mean(std::span<const double> values) {
    return values.empty() ? 0.0 : sum(values) / static_cast<double>(values.size());
}

double medianInPlace(std::span<double> values) {
    const std::size_t n = values.size();
    if (n == 0) {
        return 0.0;
    }
    const auto middle = values.begin() + static_cast<std::ptrdiff_t>(n / 2);
    if (n <= 16) {
        // Small inputs (e.g. one value per day): sorting is cheaper than selection's partitioning.
        std::sort(values.begin(), values.end());
        return n % 2 == 1 ? *middle : 0.5 * (*(middle - 1) + *middle);
    }
    std::nth_element(values.begin(), middle, values.end());
    const double upper = *middle;
    if (n % 2 == 1) {
        return upper;
    }
    // The lower middle is the largest element of the left part after nth_element.
    const double lower = *std::max_element(values.begin(), middle);
    return 0.5 * (lower + upper);
}

double median(std::span<const double> values, std::vector<double>& scratch) {
    scratch.assign(values.begin(), values.end());
    return medianInPlace(scratch);
}

double quantileInPlace(std::span<double> values, double probability) {
    const std::size_t n = values.size();
    if (n == 0) {
        return 0.0;
    }
    const double p = std::clamp(probability, 0.0, 1.0);
    const double position = p * static_cast<double>(n - 1);
    const auto lowerIndex = static_cast<std::size_t>(std::floor(position));
    const double fraction = position - static_cast<double>(lowerIndex);
    const auto lowerIt = values.begin() + static_cast<std::ptrdiff_t>(lowerIndex);
    std::nth_element(values.begin(), lowerIt, values.end());
    const double lower = *lowerIt;
    if (fraction <= 0.0 || lowerIndex + 1 >= n) {
        return lower;
    }
    // The next order statistic is the smallest element right of the lower one.
    const double upper = *std::min_element(lowerIt + 1, values.end());
    return lower + fraction * (upper - lower);
}

double medianAbsoluteDeviation(std::span<const double> values, std::vector<double>& scratch) {
    if (values.empty()) {
        return 0.0;
    }
    const double center = median(values, scratch);
    for (std::size_t i = 0; i < values.size(); ++i) {
        scratch[i] = std::abs(values[i] - center);
    }
    return medianInPlace(scratch);
}

LineFit leastSquaresLine(std::span<const double> x, std::span<const double> y) {
    const std::size_t n = std::min(x.size(), y.size());
    if (n == 0) {
        return {};
    }
    const double meanX = mean(x.first(n));
    const double meanY = mean(y.first(n));
    double sxx = 0.0;
    double sxy = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double dx = x[i] - meanX;
        sxx += dx * dx;
        sxy += dx * (y[i] - meanY);
    }
    const double slope = sxx > 0.0 ? sxy / sxx : 0.0;
    return {slope, meanY - slope * meanX};
}

LineFit theilSenLine(std::span<const double> x, std::span<const double> y,
                     std::vector<double>& scratch) {
    const std::size_t n = std::min(x.size(), y.size());
    if (n == 0) {
        return {};
    }
    scratch.clear();
    scratch.reserve(n * (n - 1) / 2);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = i + 1; j < n; ++j) {
            const double dx = x[j] - x[i];
            if (dx != 0.0) {
                scratch.push_back((y[j] - y[i]) / dx);
            }
        }
    }
    const double slope = medianInPlace(scratch);
    scratch.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        scratch[i] = y[i] - slope * x[i];
    }
    return {slope, medianInPlace(scratch)};
}

namespace {

// Cholesky factorisation of a (row-major, n×n) in place into its lower triangle, then forward and
// back substitution. False when a pivot is not positive and finite.
bool choleskySolveInPlace(std::span<double> a, std::span<double> b, int n) {
    const auto at = [&](int row, int col) -> double& {
        return a[static_cast<std::size_t>(row * n + col)];
    };
    for (int j = 0; j < n; ++j) {
        double diagonal = at(j, j);
        for (int k = 0; k < j; ++k) {
            diagonal -= at(j, k) * at(j, k);
        }
        if (!(diagonal > 0.0) || !std::isfinite(diagonal)) {
            return false;
        }
        const double pivot = std::sqrt(diagonal);
        at(j, j) = pivot;
        for (int i = j + 1; i < n; ++i) {
            double value = at(i, j);
            for (int k = 0; k < j; ++k) {
                value -= at(i, k) * at(j, k);
            }
            at(i, j) = value / pivot;
        }
    }
    for (int i = 0; i < n; ++i) { // L·z = b
        double value = b[static_cast<std::size_t>(i)];
        for (int k = 0; k < i; ++k) {
            value -= at(i, k) * b[static_cast<std::size_t>(k)];
        }
        b[static_cast<std::size_t>(i)] = value / at(i, i);
    }
    for (int i = n - 1; i >= 0; --i) { // Lᵀ·x = z
        double value = b[static_cast<std::size_t>(i)];
        for (int k = i + 1; k < n; ++k) {
            value -= at(k, i) * b[static_cast<std::size_t>(k)];
        }
        b[static_cast<std::size_t>(i)] = value / at(i, i);
    }
    for (int i = 0; i < n; ++i) {
        if (!std::isfinite(b[static_cast<std::size_t>(i)])) {
            return false;
        }
    }
    return true;
}

} // namespace

bool solveSymmetricRidge(std::span<const double> gram, std::span<const double> rhs, int n,
                         double relativeRidge, std::span<double> solution) {
    const auto size = static_cast<std::size_t>(std::max(n, 0));
    std::fill(solution.begin(), solution.end(), 0.0);
    if (n <= 0 || n > kMaxSolveDimension || gram.size() < size * size || rhs.size() < size ||
        solution.size() < size) {
        return false;
    }
    double meanDiagonal = 0.0;
    for (std::size_t i = 0; i < size; ++i) {
        meanDiagonal += std::abs(gram[i * size + i]);
    }
    meanDiagonal /= static_cast<double>(size);
    if (!(meanDiagonal > 0.0) || !std::isfinite(meanDiagonal)) {
        return std::isfinite(meanDiagonal); // all-zero system: x = 0 is the ridge solution
    }
    // Left uninitialised on purpose: only the first n×n / n entries are written and read.
    std::array<double, kMaxSolveDimension * kMaxSolveDimension> work;
    std::array<double, kMaxSolveDimension> vector;
    double ridge = std::max(relativeRidge, 1e-12);
    for (int attempt = 0; attempt < 5; ++attempt, ridge *= 100.0) {
        std::copy_n(gram.begin(), size * size, work.begin());
        std::copy_n(rhs.begin(), size, vector.begin());
        for (std::size_t i = 0; i < size; ++i) {
            // A column that is (nearly) zero gets the mean diagonal's load so it solves to ~0.
            const double diagonal = std::max(work[i * size + i], 1e-6 * meanDiagonal);
            work[i * size + i] += ridge * diagonal;
        }
        if (choleskySolveInPlace(std::span(work).first(size * size), std::span(vector).first(size),
                                 n)) {
            std::copy_n(vector.begin(), size, solution.begin());
            return true;
        }
    }
    return false;
}

double normalQuantile(double probability) {
    const double p = std::clamp(probability, 1e-12, 1.0 - 1e-12);
    double low = -10.0;
    double high = 10.0;
    for (int i = 0; i < 60; ++i) {
        const double middle = 0.5 * (low + high);
        const double cdf = 0.5 * std::erfc(-middle / std::sqrt(2.0));
        if (cdf < p) {
            low = middle;
        } else {
            high = middle;
        }
    }
    return 0.5 * (low + high);
}

} // namespace rangepilot::series_math
