#include "accuracy.h"

#include <algorithm>
#include <cmath>

namespace rangepilot {

namespace {

// 2|a − f| / (|a| + |f|), with 0/0 = 0: both zero means a perfect forecast.
double symmetricRelativeError(double actual, double forecast) {
    const double denominator = std::abs(actual) + std::abs(forecast);
    return denominator > 0.0 ? 2.0 * std::abs(actual - forecast) / denominator : 0.0;
}

double meanAbsoluteLagDifference(std::span<const double> series, std::size_t lag) {
    double total = 0.0;
    for (std::size_t t = lag; t < series.size(); ++t) {
        total += std::abs(series[t] - series[t - lag]);
    }
    return total / static_cast<double>(series.size() - lag);
}

} // namespace

double smape(std::span<const double> actual, std::span<const double> forecast) {
    ErrorAccumulator errors;
    const std::size_t n = std::min(actual.size(), forecast.size());
    for (std::size_t i = 0; i < n; ++i) {
        errors.add(actual[i], forecast[i]);
    }
    return errors.smape();
}

MaseScale maseScale(std::span<const double> training, int stepsPerDay) {
    MaseScale scale;
    const auto period = static_cast<std::size_t>(std::max(stepsPerDay, 1));
    if (training.size() >= period + 1) {
        scale.value = meanAbsoluteLagDifference(training, period);
        scale.available = true;
    } else if (training.size() >= 2) {
        scale.value = meanAbsoluteLagDifference(training, 1);
        scale.available = true;
        scale.lag1_fallback = period > 1;
    }
    return scale;
}

MaseScore maseFromMeanAbsoluteError(double meanAbsoluteError, std::size_t count,
                                    const MaseScale& scale) {
    MaseScore score;
    score.lag1_fallback = scale.lag1_fallback;
    if (count == 0 || !scale.available || !std::isfinite(meanAbsoluteError)) {
        return score;
    }
    if (scale.value > 0.0) {
        score.value = meanAbsoluteError / scale.value;
        score.available = std::isfinite(score.value);
        if (!score.available) {
            score.value = 0.0;
        }
    } else if (meanAbsoluteError == 0.0) {
        score.available = true; // constant history forecast exactly: no error at all
    }
    return score;
}

MaseScore mase(std::span<const double> actual, std::span<const double> forecast,
               std::span<const double> training, int stepsPerDay) {
    ErrorAccumulator errors;
    const std::size_t n = std::min(actual.size(), forecast.size());
    for (std::size_t i = 0; i < n; ++i) {
        errors.add(actual[i], forecast[i]);
    }
    return maseFromMeanAbsoluteError(errors.meanAbsoluteError(), errors.count(),
                                     maseScale(training, stepsPerDay));
}

void ErrorAccumulator::add(double actual, double forecast) {
    m_absoluteErrorSum += std::abs(actual - forecast);
    m_smapeSum += symmetricRelativeError(actual, forecast);
    ++m_count;
}

double ErrorAccumulator::meanAbsoluteError() const {
    return m_count == 0 ? 0.0 : m_absoluteErrorSum / static_cast<double>(m_count);
}

double ErrorAccumulator::smape() const {
    return m_count == 0 ? 0.0 : 100.0 * m_smapeSum / static_cast<double>(m_count);
}

void WeightedAverage::add(double value, double weight, bool available) {
    if (!available || !std::isfinite(value) || !std::isfinite(weight) || !(weight > 0.0)) {
        ++m_skipped;
        return;
    }
    m_weightedSum += value * weight;
    m_totalWeight += weight;
    ++m_count;
}

double WeightedAverage::value() const {
    if (m_totalWeight <= 0.0) {
        return 0.0;
    }
    const double average = m_weightedSum / m_totalWeight;
    return std::isfinite(average) ? average : 0.0;
}

double weightedAverage(std::span<const double> values, std::span<const double> weights) {
    WeightedAverage average;
    const std::size_t n = std::min(values.size(), weights.size());
    for (std::size_t i = 0; i < n; ++i) {
        average.add(values[i], weights[i]);
    }
    return average.value();
}

} // namespace rangepilot
