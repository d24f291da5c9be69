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

// "1.4 days", or "10 points" when under a tenth of a day.
std::string historyText(std::size_t points, std::size_t period) {
    if (points * 10 < period) {
        return std::to_string(points) + (points == 1 ? " point" : " points");
    }
    const double days = static_cast<double>(points) / static_cast<double>(period);
    char buffer[32];
    const auto result =
        std::to_chars(buffer, buffer + sizeof buffer, days, std::chars_format::fixed, 1);
    return std::string(buffer, result.ptr) + " days";
}

// Copies `train` into `out` as float, scaled to a mean magnitude of 1, and returns the scale.
// Parameter searches only rank candidates, so float precision (~1e-7 relative) is plenty; it
// doubles the SIMD width, and the scaling rules out overflow whatever the series' units.
double scaledFloatCopy(std::span<const double> train, std::vector<float>& out) {
    double magnitude = 0.0;
    for (const double y : train) {
        magnitude += std::abs(y);
    }
    magnitude /= static_cast<double>(std::max<std::size_t>(train.size(), 1));
    const double scale = magnitude > 0.0 && std::isfinite(magnitude) ? 1.0 / magnitude : 1.0;
    out.resize(train.size());
    for (std::size_t t = 0; t < train.size(); ++t) {
        out[t] = static_cast<float>(train[t] * scale);
    }
    return scale;
}

Error needsTwoDays(std::string_view model, std::size_t points, std::size_t period) {
    return Error{std::string(model) + " needs 2 days of history (has " +
                 historyText(points, period) + ")"};
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
    for (const ForecastModel model :
         {ForecastModel::SeasonalNaive, ForecastModel::Ewma, ForecastModel::HoltWinters,
          ForecastModel::Spar, ForecastModel::Auto}) {
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

constexpr std::size_t kEwmaBatch = 16;

// Candidate alphas, log-spaced from 0.005 to 0.95 (neighbours ~1.4× apart: the one-step SSE is
// flat enough in log α that a finer search buys nothing measurable).
constexpr std::array<double, kEwmaBatch> kEwmaAlphas = {
    0.005,  0.0071, 0.0101, 0.0143, 0.0203, 0.0289, 0.041,  0.0583,
    0.0828, 0.1176, 0.167,  0.2372, 0.3369, 0.4785, 0.6796, 0.95};

} // namespace

Status EwmaModel::fit(std::span<const double> train, const ModelSettings&) {
    m_alpha = 0.3;
    start();
    if (train.size() < 3) {
        return Status::success(); // too little to tune: a middle-of-the-road alpha
    }
    // One sweep evaluates all candidates in lockstep, in float on the scaled series.
    // l ← (1 − α)·l + α·y has a shorter dependency chain than l ← l + α·(y − l).
    scaledFloatCopy(train, m_scaledTrain);
    std::array<float, kEwmaBatch> level, keep, gain, sse;
    for (std::size_t k = 0; k < kEwmaBatch; ++k) {
        level[k] = m_scaledTrain[0];
        gain[k] = static_cast<float>(kEwmaAlphas[k]);
        keep[k] = 1.0f - gain[k];
        sse[k] = 0.0f;
    }
    for (std::size_t t = 1; t < m_scaledTrain.size(); ++t) {
        const float y = m_scaledTrain[t];
        // Keep the candidate loop a loop, so it is vectorised rather than unrolled into scalar
        // code specialised on each constant alpha.
#pragma GCC unroll 1
        for (std::size_t k = 0; k < kEwmaBatch; ++k) {
            const float error = y - level[k];
            sse[k] += error * error;
            level[k] = keep[k] * level[k] + gain[k] * y;
        }
    }
    std::size_t best = 0;
    for (std::size_t k = 1; k < kEwmaBatch; ++k) {
        if (std::isfinite(sse[k]) && !(sse[best] <= sse[k])) {
            best = k;
        }
    }
    m_alpha = kEwmaAlphas[best];
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
// With β = 0 the damped trend decays geometrically into subnormal numbers, whose arithmetic is two
// orders of magnitude slower. Every kFlushInterval steps a trend below these thresholds (0 for
// every practical purpose; the float one is relative to the series scaled to magnitude 1) is set
// to 0; at φ ≥ 0.8, 64 steps of decay cannot take it from there to a subnormal.
constexpr std::size_t kFlushInterval = 64;
constexpr float kFlushToZero = 1e-8f;
constexpr double kFlushToZeroDouble = 1e-200;

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
        trial[8 + i].beta =
            best.beta > 0.0 ? best.beta * factors[i] : 0.02 * best.alpha * factors[i];
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

void HoltWintersModel::evaluateBatch(std::span<const float> scaled, double scale,
                                     std::span<const HoltWintersParameters> candidates,
                                     std::span<double> sse) {
    // The search only ranks candidates, so it runs in float on the scaled series (see
    // scaledFloatCopy); the final model runs in double. Same recursion as advance(), on
    // u = l + φ·b and d = φ·b. Struct-of-arrays state so the inner loop over candidates
    // vectorises; the season table is phase-major (the candidates of one phase are adjacent).
    std::array<float, kHwBatch> base, damped, phi, levelGain, trendGain, gamma, total;
    for (std::size_t k = 0; k < kHwBatch; ++k) {
        const HoltWintersParameters& c = candidates[std::min(k, candidates.size() - 1)];
        phi[k] = static_cast<float>(c.phi);
        levelGain[k] = static_cast<float>(c.alpha + c.phi * c.beta);
        trendGain[k] = static_cast<float>(c.phi * c.beta);
        gamma[k] = static_cast<float>(c.gamma);
        damped[k] = static_cast<float>(c.phi * m_initialTrend * scale);
        base[k] = static_cast<float>(m_initialLevel * scale) + damped[k];
        total[k] = 0.0f;
    }
    m_batchSeasons.resize(m_period * kHwBatch);
    for (std::size_t phase = 0; phase < m_period; ++phase) {
        std::fill_n(m_batchSeasons.begin() + static_cast<std::ptrdiff_t>(phase * kHwBatch),
                    kHwBatch, static_cast<float>(m_initialSeason[phase] * scale));
    }
    std::size_t phase = 0;
    std::size_t sinceFlush = 0;
    for (const float y : scaled) {
        float* season = m_batchSeasons.data() + phase * kHwBatch;
        for (std::size_t k = 0; k < kHwBatch; ++k) {
            const float error = (y - season[k]) - base[k];
            total[k] += error * error;
            const float nextDamped = phi[k] * damped[k];
            base[k] = (base[k] + nextDamped) + levelGain[k] * error;
            damped[k] = nextDamped + trendGain[k] * error;
            season[k] += gamma[k] * error;
        }
        if (++phase == m_period) {
            phase = 0;
        }
        if (++sinceFlush == kFlushInterval) {
            sinceFlush = 0;
            for (float& value : damped) {
                value = std::abs(value) >= kFlushToZero ? value : 0.0f;
            }
        }
    }
    for (std::size_t k = 0; k < candidates.size() && k < kHwBatch; ++k) {
        sse[k] = finiteOrMax(static_cast<double>(total[k]));
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

    // The search runs on a scaled float copy, converted once rather than per pass.
    const double scale = scaledFloatCopy(train, m_scaledTrain);

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
    evaluateBatch(m_scaledTrain, scale, trial, sse);
    std::size_t bestIndex = indexOfMinimum(sse);
    HoltWintersParameters best = trial[bestIndex];
    double bestSse = sse[bestIndex];

    // Coordinate search: coarse then fine steps, 16 moves per sweep.
    constexpr std::array<std::array<double, 3>, 2> passes = {{{1.5, 2.5, 0.03}, {1.1, 1.25, 0.01}}};
    for (const auto& [f1, f2, delta] : passes) {
        coordinateMoves(best, f1, f2, delta, trial);
        evaluateBatch(m_scaledTrain, scale, trial, sse);
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
    m_damped = m_parameters.phi * m_initialTrend;
    m_base = m_initialLevel + m_damped;
    m_season = m_initialSeason;
    m_position = 0;
}

void HoltWintersModel::advance(std::span<const double> series, std::size_t to) {
    to = std::min(to, series.size());
    if (m_season.empty() || m_position >= to) {
        m_position = std::max(m_position, to);
        return;
    }
    // With u = l + φ·b and d = φ·b the error-correction updates become
    //   e = y − s − u,  u ← u + φ·d + (α + φ·β)·e,  d ← φ·d + φ·β·e,  s ← s + γ·e.
    const auto [alpha, beta, gamma, phi] = m_parameters;
    const double levelGain = alpha + phi * beta;
    const double trendGain = phi * beta;
    double base = m_base;
    double damped = m_damped;
    std::size_t phase = m_position % m_period;
    for (std::size_t t = m_position; t < to; ++t) {
        const double error = (series[t] - m_season[phase]) - base;
        const double nextDamped = phi * damped;
        base = (base + nextDamped) + levelGain * error;
        damped = nextDamped + trendGain * error;
        m_season[phase] += gamma * error;
        if (++phase == m_period) {
            phase = 0;
        }
        if (t % kFlushInterval == 0 && std::abs(damped) < kFlushToZeroDouble) {
            damped = 0.0;
        }
    }
    m_base = base;
    m_damped = damped;
    m_position = to;
}

void HoltWintersModel::forecast(std::span<const double>, std::span<double> out) const {
    // ŷ(o + h − 1) = l + (φ + … + φ^h)·b + s = u + (φ + … + φ^(h−1))·d + s.
    const double phi = m_parameters.phi;
    double dampedSum = 0.0;
    double phiPower = 1.0;
    for (std::size_t h = 0; h < out.size(); ++h) {
        const double season = m_season.empty() ? 0.0 : m_season[(m_position + h) % m_period];
        out[h] = cleanForecast(m_base + dampedSum * m_damped + season);
        phiPower *= phi;
        dampedSum += phiPower;
    }
}

// ---------------------------------------------------------------------------------------------
// SPAR

namespace {

constexpr double kSparRidge = 1e-4; // relative to each column's energy; see solveSymmetricRidge
constexpr int kMaxSparDays = 14;
constexpr int kMaxSparRecent = 12;

std::size_t ceilDiv(std::size_t a, std::size_t b) {
    return (a + b - 1) / b;
}

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
    int days =
        std::min({std::max(settings.spar_days, 1), kMaxSparDays, static_cast<int>(fullDays) - 1});
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
                     "-step horizon with " + historyText(train.size(), period) + " of history"};
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

namespace {

// Σ a[i]·b[i] with four partial sums: independent chains keep the FP units busy (the compiler
// may not reorder a single floating-point sum by itself).
double dot(const double* a, const double* b, std::size_t n) {
    double s0 = 0.0;
    double s1 = 0.0;
    double s2 = 0.0;
    double s3 = 0.0;
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; ++i) {
        s0 += a[i] * b[i];
    }
    return (s0 + s1) + (s2 + s3);
}

} // namespace

// Over the training rows s ∈ [firstRow, T), once for all horizon steps (k, l 1-based lags):
//   seasonalGram[k][k']   = Σ y(s − kP)·y(s − k'P)          k, k' = 1..K
//   seasonalRecent[k][l]  = Σ y(s − kP)·r(s − l)             l = 1..L (L = H + m − 1)
//   recentGram[l][d]      = Σ r(s − l)·r(s − l − d)          d = 0..m−1, l + d ≤ L
//   seasonalTarget[k]     = Σ y(s)·y(s − kP),  recentTarget[l] = Σ y(s)·r(s − l)
// For step τ the features are seasonal lags k0..k0+n−1 and recent lags τ..τ+m−1 (r(t − j) with
// t = s − τ), so its normal equations are sub-blocks of these sums. Every sum is a dot product of
// two contiguous slices of y or r.
void SparModel::accumulateCrossProducts(std::span<const double> train, std::size_t firstRow) {
    const auto lags = static_cast<std::size_t>(m_lags);
    const auto maxLag = static_cast<std::size_t>(m_maxRecentLag);
    const auto recent = static_cast<std::size_t>(m_recent);
    const std::size_t rows = train.size() - firstRow;
    const double* target = train.data() + firstRow;
    const auto seasonal = [&](std::size_t k) { // k = 0 is lag P
        return train.data() + firstRow - (k + 1) * m_period;
    };
    const auto residual = [&](std::size_t l) { // l = 0 is lag 1
        return m_residuals.data() + firstRow - (l + 1);
    };
    m_seasonalGram.assign(lags * lags, 0.0);
    m_seasonalRecent.assign(lags * maxLag, 0.0);
    m_recentGram.assign(maxLag * std::max<std::size_t>(recent, 1), 0.0);
    m_seasonalTarget.assign(lags, 0.0);
    m_recentTarget.assign(maxLag, 0.0);
    for (std::size_t k = 0; k < lags; ++k) {
        m_seasonalTarget[k] = dot(target, seasonal(k), rows);
        for (std::size_t k2 = k; k2 < lags; ++k2) {
            const double value = dot(seasonal(k), seasonal(k2), rows);
            m_seasonalGram[k * lags + k2] = value;
            m_seasonalGram[k2 * lags + k] = value;
        }
        for (std::size_t l = 0; l < maxLag; ++l) {
            m_seasonalRecent[k * maxLag + l] = dot(seasonal(k), residual(l), rows);
        }
    }
    for (std::size_t l = 0; l < maxLag; ++l) {
        m_recentTarget[l] = dot(target, residual(l), rows);
        for (std::size_t d = 0; d < recent && l + d < maxLag; ++d) {
            m_recentGram[l * recent + d] = dot(residual(l), residual(l + d), rows);
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
        // Shrink towards the prior "mean of the previous n days" (a_k = 1/n, b_j = 0) rather than
        // towards 0, so the ridge does not bias the level: solve for the deviation from the prior.
        const double prior = 1.0 / static_cast<double>(n);
        for (std::size_t i = 0; i < features; ++i) {
            double priorFit = 0.0;
            for (std::size_t a = 0; a < n; ++a) {
                priorFit += g(i, a) * prior;
            }
            rhs[i] -= priorFit;
        }
        const std::span<double> solution(m_coefficients.data() + (tau - 1) * features, features);
        if (!series_math::solveSymmetricRidge(std::span(gram).first(features * features),
                                              std::span(rhs).first(features),
                                              static_cast<int>(features), kSparRidge, solution)) {
            std::fill(solution.begin(), solution.end(), 0.0); // degenerate: keep the prior
        }
        for (std::size_t a = 0; a < n; ++a) {
            solution[a] += prior;
        }
    }
}

std::size_t SparModel::firstOrigin() const {
    return std::max<std::size_t>(
        static_cast<std::size_t>(m_days) * m_period + static_cast<std::size_t>(m_recent), 1);
}

std::span<const double> SparModel::coefficients(int tau) const {
    if (tau < 1 || tau > m_horizon || m_coefficients.empty()) {
        return {};
    }
    const auto features = static_cast<std::size_t>(m_days + m_recent);
    return std::span(m_coefficients)
        .subspan(static_cast<std::size_t>(tau - 1) * features, features);
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
