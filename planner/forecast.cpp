#include "forecast.h"

#include "series_math.h"

#include <algorithm>
#include <cmath>
#include <string_view>

namespace rangepilot {

namespace {

namespace sm = series_math;

constexpr std::size_t kMaxIntervalOrigins = 256;
constexpr std::size_t kMinEmpiricalErrors = 20;
constexpr std::size_t kMinScorablePoints = 4;

ForecastOptions sanitized(const ForecastOptions& options) {
    ForecastOptions result = options;
    result.steps_per_day = std::max(result.steps_per_day, 1);
    result.horizon_steps = std::max(result.horizon_steps, 0);
    result.interval =
        std::isfinite(result.interval) ? std::clamp(result.interval, 0.0, 0.999) : 0.8;
    result.spar_days = std::clamp(result.spar_days, 1, 14);
    result.spar_recent = std::clamp(result.spar_recent, 0, 12);
    return result;
}

std::size_t periodOf(const ForecastOptions& options) {
    return static_cast<std::size_t>(options.steps_per_day);
}

// Models are fitted for at least one step even when no output is asked for.
std::size_t fitHorizonOf(const ForecastOptions& options) {
    return static_cast<std::size_t>(std::max(options.horizon_steps, 1));
}

ModelSettings settingsFor(const ForecastOptions& options) {
    return {options.steps_per_day, static_cast<int>(fitHorizonOf(options)), options.spar_days,
            options.spar_recent};
}

// Calls `action` with the workspace's model object for `model` (Auto has no object: EWMA).
template <typename Action>
decltype(auto) withModel(ForecastWorkspace& workspace, ForecastModel model, Action&& action) {
    switch (model) {
    case ForecastModel::SeasonalNaive:
        return action(workspace.seasonal_naive);
    case ForecastModel::HoltWinters:
        return action(workspace.holt_winters);
    case ForecastModel::Spar:
        return action(workspace.spar);
    case ForecastModel::Ewma:
    case ForecastModel::Auto:
        break;
    }
    return action(workspace.ewma);
}

std::size_t modelIndex(ForecastModel model) {
    switch (model) {
    case ForecastModel::SeasonalNaive:
        return 0;
    case ForecastModel::Ewma:
        return 1;
    case ForecastModel::HoltWinters:
        return 2;
    case ForecastModel::Spar:
        return 3;
    case ForecastModel::Auto:
        break;
    }
    return 4;
}

// Length of each evaluation window at the end of a series of `size` points (see the header).
std::size_t endWindowLength(std::size_t size, const ForecastOptions& options, std::size_t windows) {
    if (size < kMinScorablePoints) {
        return 0;
    }
    const std::size_t period = periodOf(options);
    const std::size_t minWindow = std::max<std::size_t>({fitHorizonOf(options), period / 8, 1});
    std::size_t window = std::min(period, size / 4);
    if (size - windows * window < 2 * period && size >= 2 * period + windows * minWindow) {
        window = std::min(period, (size - 2 * period) / windows);
    }
    return window;
}

std::string pointsText(std::size_t points) {
    return std::to_string(points) + (points == 1 ? " point" : " points");
}

// Forecasts from origins begin, begin + H, … over [begin, end), scoring each target once.
template <typename Model>
void rollWindow(Model& model, std::span<const double> series, std::size_t begin, std::size_t end,
                std::span<double> buffer, ErrorAccumulator& errors) {
    const std::size_t horizon = buffer.size();
    for (std::size_t origin = begin; origin < end; origin += horizon) {
        model.advance(series, origin);
        model.forecast(series, buffer);
        const std::size_t steps = std::min(horizon, end - origin);
        for (std::size_t h = 0; h < steps; ++h) {
            errors.add(series[origin + h], buffer[h]);
        }
    }
}

struct ModelChoice {
    ForecastModel model = ForecastModel::Ewma;
    bool compared = false; // false: nothing could be compared, `model` is the default
};

// auto's selection: lowest validation MAE over one window at the end of `history`, every candidate
// fitted on what precedes the window. Appends the reasons for excluded models to `notes`.
ModelChoice chooseByValidation(std::span<const double> history, const ForecastOptions& options,
                               const ModelSet& candidates, ForecastWorkspace& workspace,
                               std::vector<std::string>& notes) {
    ModelChoice choice;
    choice.model = candidates.ewma || !candidates.seasonal_naive ? ForecastModel::Ewma
                                                                 : ForecastModel::SeasonalNaive;
    const std::size_t window = endWindowLength(history.size(), options, 1);
    if (window == 0) {
        notes.push_back("auto: too short to compare models (" + pointsText(history.size()) +
                        "); used " + std::string(modelName(choice.model)));
        return choice;
    }
    const std::size_t trainEnd = history.size() - window;
    const ModelSettings settings = settingsFor(options);
    workspace.forecast_buffer.assign(fitHorizonOf(options), 0.0);
    double bestError = 0.0;
    for (const ForecastModel model : kConcreteModels) {
        if (!candidates.contains(model)) {
            continue;
        }
        ErrorAccumulator errors;
        const Status status = withModel(workspace, model, [&](auto& m) {
            Status fitted = m.fit(history.first(trainEnd), settings);
            if (fitted) {
                m.start();
                m.advance(history, trainEnd);
                rollWindow(m, history, trainEnd, history.size(), workspace.forecast_buffer, errors);
            }
            return fitted;
        });
        if (!status) {
            notes.push_back("auto: " + status.message() + " before the validation window");
            continue;
        }
        if (!choice.compared || errors.meanAbsoluteError() < bestError) {
            choice = {model, true};
            bestError = errors.meanAbsoluteError();
        }
    }
    notes.push_back("auto chose " + std::string(modelName(choice.model)) +
                    (choice.compared ? " by validation error over the last " + pointsText(window)
                                     : std::string(" (no model could be compared)")));
    return choice;
}

double rootMeanSquare(std::span<const double> values) {
    double total = 0.0;
    for (const double value : values) {
        total += value * value;
    }
    return values.empty() ? 0.0 : std::sqrt(total / static_cast<double>(values.size()));
}

double standardDeviation(std::span<const double> values) {
    if (values.size() < 2) {
        return 0.0;
    }
    const double center = sm::mean(values);
    double total = 0.0;
    for (const double value : values) {
        total += (value - center) * (value - center);
    }
    return std::sqrt(total / static_cast<double>(values.size() - 1));
}

// Collects the fitted model's in-sample h-step errors (actual − forecast) from up to
// kMaxIntervalOrigins rolling origins: row h of workspace.errors holds workspace.counts[h] values.
template <typename Model>
std::size_t collectInSampleErrors(Model& model, std::span<const double> history,
                                  std::size_t horizon, ForecastWorkspace& workspace) {
    const std::size_t size = history.size();
    const std::size_t first = std::clamp<std::size_t>(model.firstOrigin(), 1, size);
    const std::size_t span = size - first;
    const std::size_t stride =
        std::max<std::size_t>(1, (span + kMaxIntervalOrigins - 1) / kMaxIntervalOrigins);
    const std::size_t capacity = kMaxIntervalOrigins;
    workspace.errors.resize(horizon * capacity);
    workspace.counts.assign(horizon, 0);
    workspace.forecast_buffer.assign(horizon, 0.0);
    model.start();
    for (std::size_t origin = first; origin < size; origin += stride) {
        model.advance(history, origin);
        model.forecast(history, workspace.forecast_buffer);
        for (std::size_t h = 0; h < horizon && origin + h < size; ++h) {
            std::size_t& count = workspace.counts[h];
            workspace.errors[h * capacity + count++] =
                history[origin + h] - workspace.forecast_buffer[h];
        }
    }
    return capacity;
}

template <typename Model>
void fillIntervals(Model& model, std::span<const double> history, const ForecastOptions& options,
                   ForecastWorkspace& workspace, SeriesForecast& result) {
    const std::size_t horizon = result.point.size();
    if (horizon == 0 || options.interval <= 0.0) {
        result.lo = result.point;
        result.hi = result.point;
        return;
    }
    const std::size_t capacity = collectInSampleErrors(model, history, horizon, workspace);
    const double lowerProbability = 0.5 * (1.0 - options.interval);
    const double upperProbability = 1.0 - lowerProbability;

    const std::span<double> oneStep(workspace.errors.data(), workspace.counts[0]);
    const double sigma = oneStep.size() >= 2 ? rootMeanSquare(oneStep) : standardDeviation(history);
    const double z = sm::normalQuantile(upperProbability);
    bool usedNormal = false;
    for (std::size_t h = 0; h < horizon; ++h) {
        const std::span<double> errors(workspace.errors.data() + h * capacity, workspace.counts[h]);
        double lowOffset = 0.0;
        double highOffset = 0.0;
        if (errors.size() >= kMinEmpiricalErrors) {
            lowOffset = sm::quantileInPlace(errors, lowerProbability);
            highOffset = sm::quantileInPlace(errors, upperProbability);
        } else {
            usedNormal = true;
            highOffset = z * sigma * std::sqrt(static_cast<double>(h + 1));
            lowOffset = -highOffset;
        }
        result.lo[h] = result.point[h] + lowOffset;
        result.hi[h] = result.point[h] + highOffset;
    }
    if (usedNormal) {
        result.notes.push_back(
            "prediction interval: normal approximation (under 20 in-sample errors per step)");
    }
}

// Enforces 0 ≤ lo ≤ point ≤ hi with finite values.
void tidyForecast(SeriesForecast& result) {
    for (std::size_t h = 0; h < result.point.size(); ++h) {
        double& point = result.point[h];
        point = std::isfinite(point) ? std::max(point, 0.0) : 0.0;
        double& lo = result.lo[h];
        double& hi = result.hi[h];
        lo = std::isfinite(lo) ? std::clamp(lo, 0.0, point) : point;
        hi = std::isfinite(hi) ? std::max(hi, point) : point;
    }
}

ModelSet allExcept(ModelSet set, ForecastModel model) {
    if (bool ModelSet::*flag = ModelSet::flagFor(model))
        set.*flag = false;
    return set;
}

} // namespace

bool ModelSet::*ModelSet::flagFor(ForecastModel model) {
    switch (model) {
    case ForecastModel::SeasonalNaive:
        return &ModelSet::seasonal_naive;
    case ForecastModel::Ewma:
        return &ModelSet::ewma;
    case ForecastModel::HoltWinters:
        return &ModelSet::holt_winters;
    case ForecastModel::Spar:
        return &ModelSet::spar;
    case ForecastModel::Auto:
        break;
    }
    return nullptr;
}

bool ModelSet::contains(ForecastModel model) const {
    const bool ModelSet::*flag = flagFor(model);
    return flag != nullptr && this->*flag;
}

ModelSet ModelSet::only(ForecastModel model) {
    bool ModelSet::*flag = flagFor(model);
    if (flag == nullptr)
        return ModelSet{}; // auto: every model
    ModelSet set{false, false, false, false};
    set.*flag = true;
    return set;
}

const ModelScore& BacktestResult::score(ForecastModel model) const {
    return models[modelIndex(model)];
}

BacktestWindows planBacktestWindows(std::size_t size, const ForecastOptions& options) {
    const ForecastOptions clean = sanitized(options);
    const std::size_t window = endWindowLength(size, clean, 2);
    return {size - 2 * window, size - window, size};
}

SeriesForecast forecastSeries(std::span<const double> history, ForecastModel model,
                              const ForecastOptions& options) {
    ForecastWorkspace workspace;
    return forecastSeries(history, model, options, workspace);
}

SeriesForecast forecastSeries(std::span<const double> history, ForecastModel model,
                              const ForecastOptions& options, ForecastWorkspace& workspace) {
    const ForecastOptions clean = sanitized(options);
    SeriesForecast result;
    const auto horizon = static_cast<std::size_t>(clean.horizon_steps);
    result.point.assign(horizon, 0.0);
    result.lo.assign(horizon, 0.0);
    result.hi.assign(horizon, 0.0);
    result.model = model == ForecastModel::Auto ? ForecastModel::Ewma : model;
    if (history.empty()) {
        result.notes.emplace_back("no history: the forecast is 0");
        return result;
    }

    if (model == ForecastModel::Auto) {
        result.model =
            chooseByValidation(history, clean, clean.candidates, workspace, result.notes).model;
    }
    const ModelSettings settings = settingsFor(clean);
    Status fitted =
        withModel(workspace, result.model, [&](auto& m) { return m.fit(history, settings); });
    if (!fitted) {
        // Fall back to auto's choice among the models that can work on this series.
        std::vector<std::string> selectionNotes;
        const ForecastModel fallback =
            chooseByValidation(history, clean, allExcept(clean.candidates, result.model), workspace,
                               selectionNotes)
                .model;
        result.notes.push_back(fitted.message() + "; used " + std::string(modelName(fallback)));
        result.model = fallback;
        fitted =
            withModel(workspace, result.model, [&](auto& m) { return m.fit(history, settings); });
    }
    if (!fitted) { // unreachable: seasonal naive and EWMA always fit; stay safe anyway
        result.notes.push_back(fitted.message());
        return result;
    }

    withModel(workspace, result.model, [&](auto& m) {
        m.start();
        m.advance(history, history.size());
        m.forecast(history, result.point);
        fillIntervals(m, history, clean, workspace, result);
    });
    tidyForecast(result);
    return result;
}

BacktestResult backtestSeries(std::span<const double> history, const ForecastOptions& options) {
    ForecastWorkspace workspace;
    return backtestSeries(history, options, workspace);
}

BacktestResult backtestSeries(std::span<const double> history, const ForecastOptions& options,
                              ForecastWorkspace& workspace) {
    const ForecastOptions clean = sanitized(options);
    BacktestResult result;
    result.volume = sm::sum(history);
    result.windows = planBacktestWindows(history.size(), clean);
    for (std::size_t i = 0; i < kConcreteModels.size(); ++i) {
        result.models[i].model = kConcreteModels[i];
    }
    ModelScore& autoScore = result.models[4];
    autoScore.model = ForecastModel::Auto;

    const BacktestWindows& windows = result.windows;
    if (!windows.scorable()) {
        for (ModelScore& score : result.models) {
            score.note = "too short to backtest (" + pointsText(history.size()) + ")";
        }
        return result;
    }

    const MaseScale scale = maseScale(history.first(windows.train_end), clean.steps_per_day);
    const ModelSettings settings = settingsFor(clean);
    workspace.forecast_buffer.assign(fitHorizonOf(clean), 0.0);
    const ModelScore* best = nullptr;
    for (std::size_t i = 0; i < kConcreteModels.size(); ++i) {
        ModelScore& score = result.models[i];
        if (!clean.candidates.contains(score.model)) {
            score.note = "not a candidate";
            continue;
        }
        ErrorAccumulator validation;
        ErrorAccumulator test;
        const Status status = withModel(workspace, score.model, [&](auto& m) {
            Status fitted = m.fit(history.first(windows.train_end), settings);
            if (fitted) {
                m.start();
                m.advance(history, windows.train_end);
                rollWindow(m, history, windows.train_end, windows.validation_end,
                           workspace.forecast_buffer, validation);
                rollWindow(m, history, windows.validation_end, windows.size,
                           workspace.forecast_buffer, test);
            }
            return fitted;
        });
        if (!status) {
            score.note = status.message();
            continue;
        }
        const MaseScore mase =
            maseFromMeanAbsoluteError(test.meanAbsoluteError(), test.count(), scale);
        score.available = true;
        score.smape = test.smape();
        score.mase = mase.value;
        score.mase_available = mase.available;
        score.mase_lag1_fallback = mase.lag1_fallback;
        score.validation_mae = validation.meanAbsoluteError();
        score.test_points = test.count();
        if (best == nullptr || score.validation_mae < best->validation_mae) {
            best = &score;
        }
    }

    if (best == nullptr) {
        autoScore.note = "no model could be scored";
        return result;
    }
    result.chosen = best->model;
    autoScore = *best;
    autoScore.model = ForecastModel::Auto;
    autoScore.note = "chose " + std::string(modelName(best->model));
    return result;
}

} // namespace rangepilot
