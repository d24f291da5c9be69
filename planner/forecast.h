#pragma once

// Per-series load forecasting with prediction intervals, and the rolling-origin backtest that
// scores the models and lets "auto" pick one per series.
//
// A series is load per time bucket (events per bucket) of a cell, a range or the total; P =
// steps_per_day buckets make a day (the season). Models are described in forecast_models.h.
//
// Forecast (forecastSeries): fit the model on the whole history, run it to the end, forecast
// horizon_steps points. "auto" first picks the model with the lowest validation MAE (same protocol
// as the backtest's validation step, with one window at the end) and then refits it on the whole
// history. A model that cannot work on the series (Holt–Winters and SPAR need 2 days) is replaced
// by auto's choice among those that can, and `notes` says so.
// Prediction interval (`interval`, default 80%): per step h, the 10% / 90% quantiles of the
// model's own in-sample h-step errors, collected from rolling origins over the history (at most
// ~256 origins), when at least 20 errors exist for that h; otherwise the normal approximation
// point ± z·σ₁·sqrt(h) with σ₁ the RMS one-step error. Always 0 ≤ lo ≤ point ≤ hi.
//
// Backtest protocol (backtestSeries):
//  1. Windows at the end of the history: test = the last w points, validation = the w before, train
//     = the rest, with w = min(P, n / 4). If that leaves under 2 days of training but the series
//     has at least 2 days plus two windows of max(H, P / 8), w shrinks to min(P, (n − 2P) / 2) so
//     that Holt–Winters and SPAR can train. Under 4 points nothing is scored.
//  2. Each model is fitted on train only, then run forward over validation and test without
//     refitting: from origins train_end, train_end + H, … it forecasts h = 1..H, truncated at the
//     end of the window; then origins validation_end, validation_end + H, … likewise over test.
//  3. A model's sMAPE and MASE are over the test window (MASE scaled from the training part, see
//     accuracy.h). Validation MAE is kept for selection.
//  4. auto picks the available model with the lowest validation MAE (ties: the simpler model, in
//     the order seasonal naive, EWMA, Holt–Winters, SPAR) and reports that model's TEST scores.
//     The test window never influences the choice.
// Models whose training part has under 2 days are unavailable (available = false, note says why);
// auto chooses among what can work. When nothing can be scored, `chosen` is EWMA.
// Options out of range are clamped (steps_per_day ≥ 1, horizon ≥ 0, interval in [0, 0.999],
// spar_days 1..14, spar_recent 0..12); a NaN interval means the default 0.8.
//
// Invariants: never throws, never NaN or infinity in outputs, deterministic for equal input.
// Cost: a backtest of a week of 5-minute buckets (2016 points, all models + auto) takes ~0.1 ms
// on one core, forecastSeries with auto ~0.2 ms (see bench/bench_forecast). A ForecastWorkspace
// kept per thread avoids reallocating buffers.

#include "accuracy.h"
#include "forecast_models.h"

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace rangepilot {

// Which concrete models auto may choose from and backtestSeries() scores.
struct ModelSet {
    bool seasonal_naive = true;
    bool ewma = true;
    bool holt_winters = true;
    bool spar = true;

    bool contains(ForecastModel model) const;
    static ModelSet only(ForecastModel model);
    // The flag that stands for a concrete model; nullptr for auto.
    static bool ModelSet::*flagFor(ForecastModel model);
};

struct ForecastOptions {
    int steps_per_day = 288; // P, the season length: 86400 s / bucket width
    int horizon_steps = 12;  // H
    double interval = 0.8;   // central prediction interval probability
    int spar_days = 7;       // SPAR n (reduced to fit the data; capped at 14)
    int spar_recent = 3;     // SPAR m (capped at 12)
    ModelSet candidates;     // models auto considers and the backtest scores
};

struct SeriesForecast {
    ForecastModel model = ForecastModel::Ewma; // the model used (for auto: the chosen one)
    std::vector<double> point;                 // horizon_steps values, point[h − 1] for step h
    std::vector<double> lo;                    // 0 ≤ lo ≤ point
    std::vector<double> hi;                    // point ≤ hi
    std::vector<std::string> notes;            // fallbacks and choices, in plain words
};

struct ModelScore {
    ForecastModel model = ForecastModel::SeasonalNaive;
    bool available = false;
    double smape = 0.0;              // percent, on the test window
    double mase = 0.0;               // on the test window; meaningful when mase_available
    bool mase_available = false;     // false when the MASE scale is unavailable (see accuracy.h)
    bool mase_lag1_fallback = false; // scaled by the lag-1 naive (training under one day + 1)
    double validation_mae = 0.0;     // what auto selects on
    std::size_t test_points = 0;     // forecasts scored in the test window
    std::string note;                // why unavailable, or what auto chose
};

struct BacktestWindows {
    std::size_t train_end = 0;      // train = [0, train_end)
    std::size_t validation_end = 0; // validation = [train_end, validation_end)
    std::size_t size = 0;           // test = [validation_end, size)

    bool scorable() const { return validation_end > train_end && size > validation_end; }
};

struct BacktestResult {
    // seasonal naive, EWMA, Holt–Winters, SPAR, then auto (the chosen model's scores).
    std::array<ModelScore, 5> models;
    ForecastModel chosen = ForecastModel::Ewma;
    double volume = 0.0; // sum of the history, the natural weight for aggregates
    BacktestWindows windows;

    const ModelScore& score(ForecastModel model) const;
};

// Reusable buffers and model objects; one per thread. Contents are scratch: results never depend on
// what a workspace was used for before.
struct ForecastWorkspace {
    SeasonalNaiveModel seasonal_naive;
    EwmaModel ewma;
    HoltWintersModel holt_winters;
    SparModel spar;
    std::vector<double> forecast_buffer;
    std::vector<double> errors;      // in-sample errors, H rows
    std::vector<std::size_t> counts; // per step h
    std::vector<double> scratch;
};

BacktestWindows planBacktestWindows(std::size_t size, const ForecastOptions& options);

SeriesForecast forecastSeries(std::span<const double> history, ForecastModel model,
                              const ForecastOptions& options);
SeriesForecast forecastSeries(std::span<const double> history, ForecastModel model,
                              const ForecastOptions& options, ForecastWorkspace& workspace);

BacktestResult backtestSeries(std::span<const double> history, const ForecastOptions& options);
BacktestResult backtestSeries(std::span<const double> history, const ForecastOptions& options,
                              ForecastWorkspace& workspace);

} // namespace rangepilot
