#pragma once

// The forecasting models behind forecast.h, one class each: seasonal naive, EWMA, Holt–Winters
// (additive daily season, additive damped trend) and SPAR (sparse periodic auto-regression, as in
// P-Store, SIGMOD 2018).
//
// Every model has the same shape, so a backtest can run it forward without refitting per origin:
//   fit(train, settings)   estimates parameters from `train` only; a failed Status says why the
//                          model cannot work on this series (e.g. "needs 2 days of history");
//   start()                rewinds the running state to time 0 (parameters are kept);
//   advance(series, to)    consumes series[position() .. to);
//   forecast(series, out)  writes out[h − 1] = ŷ(position() + h − 1) for h = 1..out.size(), reading
//                          only series[0 .. position()) — never the future;
//   firstOrigin()          the first origin whose forecasts use the model's full structure (earlier
//                          origins fall back, e.g. to the last value), for in-sample error
//                          sampling.
// "Origin o" means the model has seen series[0 .. o). Forecasts are clipped at 0 (load is never
// negative) and are always finite.
//
// Cost (n = training points, P = steps per day, H = horizon): seasonal naive O(1) fit; EWMA one
// pass of 16 candidate alphas; Holt–Winters three passes of 16 candidate parameter sets evaluated
// in lockstep; SPAR one pass accumulating shared cross products over ~P rows, then one small ridge
// solve per horizon step. advance() is O(1) per point (SPAR O(n): it keeps y − ȳ); forecast() is
// O(H) (SPAR O(H·(n + m))). Buffers live in the model objects and are reused across fits, so a
// model object kept per thread does not allocate once warm.

#include "result.h"

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace rangepilot {

enum class ForecastModel { SeasonalNaive, Ewma, HoltWinters, Spar, Auto };

// "seasonal_naive", "ewma", "holt_winters", "spar", "auto".
std::string_view modelName(ForecastModel model);
std::optional<ForecastModel> parseModelName(std::string_view name);

// The concrete models in the order backtests report them (Auto is a choice among these).
inline constexpr std::array<ForecastModel, 4> kConcreteModels = {
    ForecastModel::SeasonalNaive, ForecastModel::Ewma, ForecastModel::HoltWinters,
    ForecastModel::Spar};

// What a model needs to know besides the data. Values are used as given: forecast.h sanitises them.
struct ModelSettings {
    int steps_per_day = 288; // season length P
    int horizon_steps = 12;  // SPAR fits one coefficient set per step ahead
    int spar_days = 7;       // SPAR's n (seasonal lags), reduced to fit the data
    int spar_recent = 3;     // SPAR's m (recent residual lags)
};

// ŷ(t + h) = y(t + h − P·k) for the smallest k ≥ 1 that is in the past. Before one full day has
// been seen it repeats the last value (0 before any value).
class SeasonalNaiveModel {
public:
    Status fit(std::span<const double> train, const ModelSettings& settings);
    void start() { m_position = 0; }
    void advance(std::span<const double> series, std::size_t to);
    void forecast(std::span<const double> series, std::span<double> out) const;
    std::size_t position() const { return m_position; }
    std::size_t firstOrigin() const { return m_period; }

private:
    std::size_t m_period = 1;
    std::size_t m_position = 0;
};

// Exponentially weighted level, flat forecast. alpha minimises the in-sample one-step squared
// error over 16 log-spaced values from 0.005 to 0.95, evaluated in one sweep.
class EwmaModel {
public:
    Status fit(std::span<const double> train, const ModelSettings& settings);
    void start();
    void advance(std::span<const double> series, std::size_t to);
    void forecast(std::span<const double> series, std::span<double> out) const;
    std::size_t position() const { return m_position; }
    std::size_t firstOrigin() const { return 1; }

    double alpha() const { return m_alpha; }

private:
    double m_alpha = 0.3;
    double m_level = 0.0;
    std::size_t m_position = 0;
    std::vector<float> m_scaledTrain; // fitting scratch
};

struct HoltWintersParameters {
    double alpha = 0.1; // level
    double beta = 0.0;  // trend (error-correction form: b ← φ·b + β·e, so β ≤ α)
    double gamma = 0.1; // season (≤ 1 − α)
    double phi = 0.95;  // trend damping
};

// Additive Holt–Winters with a damped additive trend, in error-correction form:
//   ŷ(t) = l + φ·b + s[t mod P],  e = y(t) − ŷ(t),
//   l ← l + φ·b + α·e,  b ← φ·b + β·e,  s[t mod P] ← s[t mod P] + γ·e,
//   ŷ(t + h) from origin t = l + (φ + … + φ^h)·b + s[(t + h − 1) mod P].
// Initial state from the first two days (level and slope from the two day means, season from the
// detrended average of the two days). Parameters minimise the one-step SSE over the training data:
// a grid of 16 (alpha × gamma × two trend settings), then two coordinate-search passes of 16
// candidates (four steps per parameter), every pass evaluating its 16 candidates in lockstep in one
// sweep over the data. Needs 2 days.
class HoltWintersModel {
public:
    Status fit(std::span<const double> train, const ModelSettings& settings);
    void start();
    void advance(std::span<const double> series, std::size_t to);
    void forecast(std::span<const double> series, std::span<double> out) const;
    std::size_t position() const { return m_position; }
    std::size_t firstOrigin() const { return 2 * m_period; }

    const HoltWintersParameters& parameters() const { return m_parameters; }

private:
    void evaluateBatch(std::span<const float> scaled, double scale,
                       std::span<const HoltWintersParameters> candidates, std::span<double> sse);

    HoltWintersParameters m_parameters;
    std::size_t m_period = 1;
    double m_initialLevel = 0.0;
    double m_initialTrend = 0.0;
    std::vector<double> m_initialSeason;
    // Running state as u = l + φ·b (the next forecast before the season) and d = φ·b: the same
    // model, but the update has a shorter dependency chain (see advance()).
    double m_base = 0.0;
    double m_damped = 0.0;
    std::vector<double> m_season;
    std::size_t m_position = 0;
    std::vector<float> m_batchSeasons; // P × batch, parameter-search scratch
    std::vector<float> m_scaledTrain;  // the training data as searched
};

// SPAR: for origin t (last seen point) and step τ,
//   ŷ(t + τ) = Σ_{k=k0..k0+n−1} a_k(τ)·y(t + τ − k·P) + Σ_{j=0..m−1} b_j(τ)·(y(t − j) − ȳ(t − j)),
// where ȳ(u) is the mean of y(u − k·P) over k = 1..n and k0 = ceil(τ / P) (1 for τ ≤ P).
// Coefficients are fitted per τ by ridge-regularised least squares over the training rows (the
// cross products are accumulated once and shared by all τ); the ridge shrinks towards the plain
// mean of the previous n days (a_k = 1/n, b_j = 0), so a constant or exactly periodic series is
// reproduced without bias. n = min(spar_days, days − 1), reduced
// further while there are fewer than 2·(n + m) + 8 rows; needs n ≥ 1, i.e. 2 days.
class SparModel {
public:
    Status fit(std::span<const double> train, const ModelSettings& settings);
    void start();
    void advance(std::span<const double> series, std::size_t to);
    void forecast(std::span<const double> series, std::span<double> out) const;
    std::size_t position() const { return m_position; }
    std::size_t firstOrigin() const;

    int seasonalTerms() const { return m_days; }
    int recentTerms() const { return m_recent; }
    // a_k then b_j for step τ (1-based); empty when τ is out of range.
    std::span<const double> coefficients(int tau) const;

private:
    void extendResiduals(std::span<const double> series, std::size_t to);
    double seasonalMean(std::span<const double> series, std::size_t u) const;
    void accumulateCrossProducts(std::span<const double> train, std::size_t firstRow);
    void solveCoefficients();

    std::size_t m_period = 1;
    int m_days = 0;                     // n
    int m_recent = 0;                   // m
    int m_horizon = 0;                  // H
    int m_lags = 0;                     // K: seasonal lags used by some τ
    int m_maxRecentLag = 0;             // H + m − 1
    std::vector<double> m_coefficients; // H × (n + m)
    std::vector<double> m_residuals;    // y(u) − ȳ(u), 0 where u < n·P
    std::size_t m_position = 0;
    // Cross products, see accumulateCrossProducts().
    std::vector<double> m_seasonalGram, m_seasonalRecent, m_recentGram, m_seasonalTarget,
        m_recentTarget;
};

} // namespace rangepilot
