#include "forecast_models.h"

#include "series_math.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

namespace rangepilot {

namespace {

std::size_t periodOf(const ModelSettings& settings) {
    return static_cast<std::size_t>(std::max(settings.steps_per_day, 1));
}

// The value at lag P·k (smallest k ≥ 1 in the past) for target index `target` seen from `origin`;
// before a full day of history, the last value (0 before any).
double seasonalNaiveValue(std::span<const double> series, std::size_t origin, std::size_t target,
                          std::size_t period) {
    const std::size_t stepsAhead = target - origin + 1;
    const std::size_t lag = period * ((stepsAhead + period - 1) / period);
    if (target >= lag) {
        return series[target - lag];
    }
    return origin > 0 ? series[origin - 1] : 0.0;
}

// Forecasts are load: never negative, never NaN.
double cleanForecast(double value) {
    return std::isfinite(value) ? std::max(value, 0.0) : 0.0;
}

// Sum of squared errors that compares safely even if a candidate diverged.
double finiteOrMax(double value) {
    return std::isfinite(value) ? value : std::numeric_limits<double>::max();
}

std::string daysText(std::size_t points, std::size_t period) {
    const double days = static_cast<double>(points) / static_cast<double>(period);
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, days,
                                      std::chars_format::fixed, 1);
    return std::string(buffer, result.ptr);
}

Error needsTwoDays(std::string_view model, std::size_t points, std::size_t period) {
    return Error{std::string(model) + " needs 2 days of history (has " + daysText(points, period) +
                 ")"};
}

} // namespace

std::string_view modelName(ForecastModel model) {
    switch (model) {
    case ForecastModel::SeasonalNaive:
        return "seasonal_naive";
    case ForecastModel::Ewma:
        return "ewma";
    case ForecastModel::HoltWinters:
        return "holt_winters";
    case ForecastModel::Spar:
        return "spar";
    case ForecastModel::Auto:
        return "auto";
    }
    return "auto";
}

std::optional<ForecastModel> parseModelName(std::string_view name) {
    for (const ForecastModel model : {ForecastModel::SeasonalNaive, ForecastModel::Ewma,
                                      ForecastModel::HoltWinters, ForecastModel::Spar,
                                      ForecastModel::Auto}) {
        if (modelName(model) == name) {
            return model;
        }
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Seasonal naive

Status SeasonalNaiveModel::fit(std::span<const double>, const ModelSettings& settings) {
    m_period = periodOf(settings);
    m_position = 0;
    return Status::success();
}

void SeasonalNaiveModel::advance(std::span<const double> series, std::size_t to) {
    m_position = std::min(to, series.size());
}

void SeasonalNaiveModel::forecast(std::span<const double> series, std::span<double> out) const {
    for (std::size_t h = 0; h < out.size(); ++h) {
        out[h] = cleanForecast(seasonalNaiveValue(series, m_position, m_position + h, m_period));
    }
}

// ---------------------------------------------------------------------------------------------
// EWMA

namespace {

constexpr std::size_t kEwmaBatch = 8;

// One-step SSE of a flat EWMA for several alphas in one sweep (level starts at y[0]).
void ewmaBatchSse(std::span<const double> train, const std::array<double, kEwmaBatch>& alphas,
                  std::array<double, kEwmaBatch>& sse) {
    std::array<double, kEwmaBatch> level;
    level.fill(train[0]);
    sse.fill(0.0);
    for (std::size_t t = 1; t < train.size(); ++t) {
        const double y = train[t];
        for (std::size_t k = 0; k < kEwmaBatch; ++k) {
            const double error = y - level[k];
            sse[k] += error * error;
            level[k] += alphas[k] * error;
        }
    }
    for (double& value : sse) {
        value = finiteOrMax(value);
    }
}

} // namespace

Status EwmaModel::fit(std::span<const double> train, const ModelSettings&) {
    m_alpha = 0.3;
    start();
    if (train.size() < 3) {
        return Status::success(); // too little to tune: a middle-of-the-road alpha
    }
    std::array<double, kEwmaBatch> alphas = {0.01, 0.03, 0.06, 0.1, 0.18, 0.3, 0.5, 0.8};
    std::array<double, kEwmaBatch> sse{};
    ewmaBatchSse(train, alphas, sse);
    auto best = static_cast<std::size_t>(std::min_element(sse.begin(), sse.end()) - sse.begin());
    double bestAlpha = alphas[best];
    double bestSse = sse[best];

    // Refine between the grid neighbours of the best value.
    constexpr std::array<double, kEwmaBatch> factors = {0.6, 0.7, 0.8, 0.9, 1.1, 1.25, 1.4, 1.6};
    for (std::size_t k = 0; k < kEwmaBatch; ++k) {
        alphas[k] = std::clamp(bestAlpha * factors[k], 0.001, 0.999);
    }
    ewmaBatchSse(train, alphas, sse);
    best = static_cast<std::size_t>(std::min_element(sse.begin(), sse.end()) - sse.begin());
    if (sse[best] < bestSse) {
        bestAlpha = alphas[best];
    }
    m_alpha = bestAlpha;
    return Status::success();
}

void EwmaModel::start() {
    m_level = 0.0;
    m_position = 0;
}

void EwmaModel::advance(std::span<const double> series, std::size_t to) {
    to = std::min(to, series.size());
    for (std::size_t t = m_position; t < to; ++t) {
        m_level = t == 0 ? series[0] : m_level + m_alpha * (series[t] - m_level);
    }
    m_position = std::max(m_position, to);
}

void EwmaModel::forecast(std::span<const double>, std::span<double> out) const {
    std::fill(out.begin(), out.end(), cleanForecast(m_level));
}

// ---------------------------------------------------------------------------------------------
// Holt–Winters

namespace {

constexpr std::size_t kHwBatch = 16;

// Keeps the parameters in the region where the recursions are stable and interpretable.
void constrain(HoltWintersParameters& p) {
    p.alpha = std::clamp(p.alpha, 0.005, 0.95);
    p.beta = std::clamp(p.beta, 0.0, p.alpha);
    p.gamma = std::clamp(p.gamma, 0.0, 1.0 - p.alpha);
    p.phi = std::clamp(p.phi, 0.8, 0.98);
}

std::size_t indexOfMinimum(std::span<const double> values) {
    return static_cast<std::size_t>(std::min_element(values.begin(), values.end()) -
                                    values.begin());
}

// Four one-coordinate moves per parameter around `best`: alpha and gamma by the factors 1/f2, 1/f1,
// f1, f2; beta likewise (from small fractions of alpha when it is 0); phi by ±delta, ±2·delta.
void coordinateMoves(const HoltWintersParameters& best, double f1, double f2, double delta,
                     std::array<HoltWintersParameters, kHwBatch>& trial) {
    const std::array<double, 4> factors = {1.0 / f2, 1.0 / f1, f1, f2};
    trial.fill(best);
    for (std::size_t i = 0; i < 4; ++i) {
        trial[i].alpha = best.alpha * factors[i];
        trial[4 + i].gamma = best.gamma > 0.0 ? best.gamma * factors[i] : 0.01 * factors[i] * f2;
        trial[8 + i].beta = best.beta > 0.0 ? best.beta * factors[i] : 0.02 * best.alpha * factors[i];
    }
    trial[12].phi = best.phi - 2.0 * delta;
    trial[13].phi = best.phi - delta;
    trial[14].phi = best.phi + delta;
    trial[15].phi = best.phi + 2.0 * delta;
    for (HoltWintersParameters& p : trial) {
        constrain(p);
    }
}

} // namespace

void HoltWintersModel::evaluateBatch(std::span<const double> train,
                                     std::span<const HoltWintersParameters> candidates,
                                     std::span<double> sse) {
    // The recursion is rewritten on u = l + φ·b (the forecast before the season) and d = φ·b:
    //   e = y − s − u,  u ← u + φ·d + (α + φ·β)·e,  d ← φ·d + φ·β·e,  s ← s + γ·e,
    // which is algebraically the same as fit()'s form but has a shorter dependency chain per step.
    // Struct-of-arrays state so the inner loop over candidates vectorises; the season table is
    // phase-major (the candidates of one phase are adjacent).
    std::array<double, kHwBatch> base, damped, phi, levelGain, trendGain, gamma, total;
    for (std::size_t k = 0; k < kHwBatch; ++k) {
        const HoltWintersParameters& c = candidates[std::min(k, candidates.size() - 1)];
        phi[k] = c.phi;
        levelGain[k] = c.alpha + c.phi * c.beta;
        trendGain[k] = c.phi * c.beta;
        gamma[k] = c.gamma;
        damped[k] = c.phi * m_initialTrend;
        base[k] = m_initialLevel + damped[k];
        total[k] = 0.0;
    }
    m_batchSeasons.resize(m_period * kHwBatch);
    for (std::size_t phase = 0; phase < m_period; ++phase) {
        std::fill_n(m_batchSeasons.begin() + static_cast<std::ptrdiff_t>(phase * kHwBatch),
                    kHwBatch, m_initialSeason[phase]);
    }
    std::size_t phase = 0;
    for (const double y : train) {
        double* season = m_batchSeasons.data() + phase * kHwBatch;
        for (std::size_t k = 0; k < kHwBatch; ++k) {
            const double error = (y - season[k]) - base[k];
            total[k] += error * error;
            const double nextDamped = phi[k] * damped[k];
            base[k] = (base[k] + nextDamped) + levelGain[k] * error;
            damped[k] = nextDamped + trendGain[k] * error;
            season[k] += gamma[k] * error;
        }
        if (++phase == m_period) {
            phase = 0;
        }
    }
    for (std::size_t k = 0; k < candidates.size() && k < kHwBatch; ++k) {
        sse[k] = finiteOrMax(total[k]);
    }
}

Status HoltWintersModel::fit(std::span<const double> train, const ModelSettings& settings) {
    m_period = periodOf(settings);
    m_parameters = {};
    if (train.size() < 2 * m_period) {
        m_initialSeason.assign(m_period, 0.0);
        m_initialLevel = train.empty() ? 0.0 : series_math::mean(train);
        m_initialTrend = 0.0;
        start();
        return needsTwoDays("holt_winters", train.size(), m_period);
    }

    // Initial state from the first two days.
    const double period = static_cast<double>(m_period);
    const double firstMean = series_math::mean(train.first(m_period));
    const double secondMean = series_math::mean(train.subspan(m_period, m_period));
    const double slope = (secondMean - firstMean) / period;
    const double centre = 0.5 * (period - 1.0);
    m_initialSeason.resize(m_period);
    for (std::size_t i = 0; i < m_period; ++i) {
        const double offset = slope * (static_cast<double>(i) - centre);
        m_initialSeason[i] = 0.5 * ((train[i] - (firstMean + offset)) +
                                    (train[m_period + i] - (secondMean + offset)));
    }
    const double seasonMean = series_math::mean(m_initialSeason);
    for (double& value : m_initialSeason) {
        value -= seasonMean;
    }
    m_initialTrend = slope;
    m_initialLevel = firstMean - slope * (centre + 1.0); // one step before t = 0

    std::array<HoltWintersParameters, kHwBatch> trial{};
    std::array<double, kHwBatch> sse{};

    // Coarse grid over the parameters that matter most for noisy daily load.
    constexpr std::array<double, 4> alphaGrid = {0.02, 0.08, 0.25, 0.6};
    constexpr std::array<double, 2> gammaGrid = {0.05, 0.25};
    std::size_t next = 0;
    for (const double alpha : alphaGrid) {
        for (const double gamma : gammaGrid) {
            trial[next++] = {alpha, 0.0, gamma, 0.95};
            trial[next++] = {alpha, 0.05 * alpha, gamma, 0.9};
        }
    }
    for (HoltWintersParameters& p : trial) {
        constrain(p);
    }
    evaluateBatch(train, trial, sse);
    std::size_t bestIndex = indexOfMinimum(sse);
    HoltWintersParameters best = trial[bestIndex];
    double bestSse = sse[bestIndex];

    // Coordinate search: coarse then fine steps, 16 moves per sweep.
    constexpr std::array<std::array<double, 3>, 2> passes = {{{1.5, 2.5, 0.03}, {1.1, 1.25, 0.01}}};
    for (const auto& [f1, f2, delta] : passes) {
        coordinateMoves(best, f1, f2, delta, trial);
        evaluateBatch(train, trial, sse);
        bestIndex = indexOfMinimum(sse);
        if (sse[bestIndex] < bestSse) {
            bestSse = sse[bestIndex];
            best = trial[bestIndex];
        }
    }
    m_parameters = best;
    start();
    return Status::success();
}

void HoltWintersModel::start() {
    m_level = m_initialLevel;
    m_trend = m_initialTrend;
    m_season = m_initialSeason;
    m_position = 0;
}

void HoltWintersModel::advance(std::span<const double> series, std::size_t to) {
    to = std::min(to, series.size());
    if (m_season.empty() || m_position >= to) {
        m_position = std::max(m_position, to);
        return;
    }
    const auto [alpha, beta, gamma, phi] = m_parameters;
    double level = m_level;
    double trend = m_trend;
    std::size_t phase = m_position % m_period;
    for (std::size_t t = m_position; t < to; ++t) {
        const double damped = phi * trend;
        const double error = series[t] - (level + damped + m_season[phase]);
        level += damped + alpha * error;
        trend = damped + beta * error;
        m_season[phase] += gamma * error;
        if (++phase == m_period) {
            phase = 0;
        }
    }
    m_level = level;
    m_trend = trend;
    m_position = to;
}

void HoltWintersModel::forecast(std::span<const double>, std::span<double> out) const {
    double dampedSum = 0.0;
    double phiPower = 1.0;
    for (std::size_t h = 0; h < out.size(); ++h) {
        phiPower *= m_parameters.phi;
        dampedSum += phiPower;
        const double season =
            m_season.empty() ? 0.0 : m_season[(m_position + h) % m_period];
        out[h] = cleanForecast(m_level + dampedSum * m_trend + season);
    }
}

// ---------------------------------------------------------------------------------------------
// SPAR

namespace {

constexpr double kSparRidge = 1e-4; // relative to each column's energy; see solveSymmetricRidge
constexpr int kMaxSparDays = 14;
constexpr int kMaxSparRecent = 12;

std::size_t ceilDiv(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

} // namespace

Status SparModel::fit(std::span<const double> train, const ModelSettings& settings) {
    m_period = periodOf(settings);
    m_recent = std::clamp(settings.spar_recent, 0, kMaxSparRecent);
    m_horizon = std::max(settings.horizon_steps, 1);
    m_days = 0;
    m_coefficients.clear();
    start();
    const std::size_t period = m_period;
    const std::size_t fullDays = train.size() / period;
    if (fullDays < 2) {
        return needsTwoDays("spar", train.size(), period);
    }

    const auto recent = static_cast<std::size_t>(m_recent);
    const auto horizon = static_cast<std::size_t>(m_horizon);
    const std::size_t maxRecentLag = recent > 0 ? horizon + recent - 1 : 0;
    int days = std::min({std::max(settings.spar_days, 1), kMaxSparDays,
                         static_cast<int>(fullDays) - 1});
    std::size_t firstRow = 0;
    for (; days >= 1; --days) {
        const auto n = static_cast<std::size_t>(days);
        const std::size_t lags = ceilDiv(horizon, period) + n - 1;
        firstRow = std::max(lags * period, n * period + maxRecentLag);
        const std::size_t rows = train.size() > firstRow ? train.size() - firstRow : 0;
        if (rows >= 2 * (n + recent) + 8) {
            break;
        }
    }
    if (days < 1) {
        return Error{"spar has too few training rows for a " + std::to_string(m_horizon) +
                     "-step horizon with " + daysText(train.size(), period) + " days of history"};
    }
    m_days = days;
    m_lags = static_cast<int>(ceilDiv(horizon, period)) + days - 1;
    m_maxRecentLag = static_cast<int>(maxRecentLag);

    extendResiduals(train, train.size());
    accumulateCrossProducts(train, firstRow);
    solveCoefficients();
    start();
    return Status::success();
}

void SparModel::start() {
    m_position = 0;
    m_residuals.clear();
}

double SparModel::seasonalMean(std::span<const double> series, std::size_t u) const {
    double total = 0.0;
    for (int k = 1; k <= m_days; ++k) {
        total += series[u - static_cast<std::size_t>(k) * m_period];
    }
    return total / static_cast<double>(m_days);
}

void SparModel::extendResiduals(std::span<const double> series, std::size_t to) {
    const std::size_t warmUp = static_cast<std::size_t>(m_days) * m_period;
    for (std::size_t u = m_residuals.size(); u < to; ++u) {
        m_residuals.push_back(m_days > 0 && u >= warmUp ? series[u] - seasonalMean(series, u)
                                                        : 0.0);
    }
}

// For every training row s (target y(s)) accumulates, once for all horizon steps:
//   seasonalGram[k][k']   = Σ y(s − kP)·y(s − k'P)          k, k' = 1..K
//   seasonalRecent[k][l]  = Σ y(s − kP)·r(s − l)             l = 1..L (L = H + m − 1)
//   recentGram[l][d]      = Σ r(s − l)·r(s − l − d)          d = 0..m−1, l + d ≤ L
//   seasonalTarget[k]     = Σ y(s)·y(s − kP),  recentTarget[l] = Σ y(s)·r(s − l)
// For step τ the features are seasonal lags k0..k0+n−1 and recent lags τ..τ+m−1 (r(t − j) with
// t = s − τ), so its normal equations are sub-blocks of these sums.
void SparModel::accumulateCrossProducts(std::span<const double> train, std::size_t firstRow) {
    const auto lags = static_cast<std::size_t>(m_lags);
    const auto maxLag = static_cast<std::size_t>(m_maxRecentLag);
    const auto recent = static_cast<std::size_t>(m_recent);
    m_seasonalGram.assign(lags * lags, 0.0);
    m_seasonalRecent.assign(lags * maxLag, 0.0);
    m_recentGram.assign(maxLag * std::max<std::size_t>(recent, 1), 0.0);
    m_seasonalTarget.assign(lags, 0.0);
    m_recentTarget.assign(maxLag, 0.0);

    // One row's features, contiguous so the products below vectorise: x[k] = y(s − (k + 1)·P),
    // r[l] = r(s − l − 1).
    m_rowScratch.resize(lags + maxLag);
    double* x = m_rowScratch.data();
    double* r = m_rowScratch.data() + lags;
    for (std::size_t s = firstRow; s < train.size(); ++s) {
        const double target = train[s];
        for (std::size_t k = 0; k < lags; ++k) {
            x[k] = train[s - (k + 1) * m_period];
        }
        for (std::size_t l = 0; l < maxLag; ++l) {
            r[l] = m_residuals[s - l - 1];
        }
        for (std::size_t k = 0; k < lags; ++k) {
            const double xk = x[k];
            m_seasonalTarget[k] += target * xk;
            double* row = m_seasonalGram.data() + k * lags;
            for (std::size_t k2 = k; k2 < lags; ++k2) {
                row[k2] += xk * x[k2];
            }
            double* cross = m_seasonalRecent.data() + k * maxLag;
            for (std::size_t l = 0; l < maxLag; ++l) {
                cross[l] += xk * r[l];
            }
        }
        for (std::size_t l = 0; l < maxLag; ++l) {
            m_recentTarget[l] += target * r[l];
            double* row = m_recentGram.data() + l * recent;
            const std::size_t width = std::min(recent, maxLag - l);
            for (std::size_t d = 0; d < width; ++d) {
                row[d] += r[l] * r[l + d];
            }
        }
    }
    for (std::size_t k = 0; k < lags; ++k) { // mirror the upper triangle
        for (std::size_t k2 = 0; k2 < k; ++k2) {
            m_seasonalGram[k * lags + k2] = m_seasonalGram[k2 * lags + k];
        }
    }
}

void SparModel::solveCoefficients() {
    const auto n = static_cast<std::size_t>(m_days);
    const auto m = static_cast<std::size_t>(m_recent);
    const std::size_t features = n + m;
    const auto lags = static_cast<std::size_t>(m_lags);
    const auto maxLag = static_cast<std::size_t>(m_maxRecentLag);
    m_coefficients.assign(static_cast<std::size_t>(m_horizon) * features, 0.0);

    constexpr auto kMax = static_cast<std::size_t>(series_math::kMaxSolveDimension);
    std::array<double, kMax * kMax> gram{};
    std::array<double, kMax> rhs{};
    for (std::size_t tau = 1; tau <= static_cast<std::size_t>(m_horizon); ++tau) {
        const std::size_t k0 = ceilDiv(tau, m_period) - 1; // 0-based first seasonal lag
        const auto g = [&](std::size_t row, std::size_t col) -> double& {
            return gram[row * features + col];
        };
        for (std::size_t a = 0; a < n; ++a) {
            rhs[a] = m_seasonalTarget[k0 + a];
            for (std::size_t b = 0; b < n; ++b) {
                g(a, b) = m_seasonalGram[(k0 + a) * lags + (k0 + b)];
            }
            for (std::size_t j = 0; j < m; ++j) {
                const double value = m_seasonalRecent[(k0 + a) * maxLag + (tau + j - 1)];
                g(a, n + j) = value;
                g(n + j, a) = value;
            }
        }
        for (std::size_t i = 0; i < m; ++i) {
            rhs[n + i] = m_recentTarget[tau + i - 1];
            for (std::size_t j = i; j < m; ++j) {
                const double value = m_recentGram[(tau + i - 1) * m + (j - i)];
                g(n + i, n + j) = value;
                g(n + j, n + i) = value;
            }
        }
        const std::span<double> solution(m_coefficients.data() + (tau - 1) * features, features);
        if (!series_math::solveSymmetricRidge(std::span(gram).first(features * features),
                                              std::span(rhs).first(features),
                                              static_cast<int>(features), kSparRidge, solution)) {
            // Degenerate beyond repair: the plain mean of the previous n days.
            std::fill(solution.begin(), solution.end(), 0.0);
            std::fill_n(solution.begin(), n, 1.0 / static_cast<double>(n));
        }
    }
}

std::size_t SparModel::firstOrigin() const {
    return std::max<std::size_t>(static_cast<std::size_t>(m_days) * m_period +
                                     static_cast<std::size_t>(m_recent),
                                 1);
}

std::span<const double> SparModel::coefficients(int tau) const {
    if (tau < 1 || tau > m_horizon || m_coefficients.empty()) {
        return {};
    }
    const auto features = static_cast<std::size_t>(m_days + m_recent);
    return std::span(m_coefficients).subspan(static_cast<std::size_t>(tau - 1) * features,
                                             features);
}

void SparModel::advance(std::span<const double> series, std::size_t to) {
    to = std::min(to, series.size());
    if (m_days > 0) {
        extendResiduals(series, to);
    }
    m_position = std::max(m_position, to);
}

void SparModel::forecast(std::span<const double> series, std::span<double> out) const {
    const std::size_t origin = m_position;
    const bool structured = m_days > 0 && origin >= firstOrigin();
    const auto n = static_cast<std::size_t>(m_days);
    const auto m = static_cast<std::size_t>(m_recent);
    for (std::size_t h = 0; h < out.size(); ++h) {
        const std::size_t tau = h + 1;
        const std::size_t target = origin + h;
        if (!structured || tau > static_cast<std::size_t>(m_horizon)) {
            out[h] = cleanForecast(seasonalNaiveValue(series, origin, target, m_period));
            continue;
        }
        const std::span<const double> c = coefficients(static_cast<int>(tau));
        const std::size_t k0 = ceilDiv(tau, m_period);
        double value = 0.0;
        for (std::size_t a = 0; a < n; ++a) {
            value += c[a] * series[target - (k0 + a) * m_period];
        }
        for (std::size_t j = 0; j < m; ++j) {
            value += c[n + j] * m_residuals[origin - 1 - j];
        }
        out[h] = cleanForecast(value);
    }
}

} // namespace rangepilot
