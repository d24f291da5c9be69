// Forecast backtest throughput: backtestSeries() with all models + auto over N synthetic series of
// 7 days of 5-minute buckets (2016 points), next to a baseline measured in the same run: the
// seasonal-naive-only backtest of the same series. Also prints the volume-weighted test MASE and
// sMAPE per model, how often auto chose each model, and analyzeTrend()'s cost on the same series.
//
// Usage: bench_forecast [--series N] [--quick]     (--quick = 1,000 series; default 10,000)
//
// Series are generated deterministically (splitmix64): a daily shape × level + count-like noise,
// 30% with a multiplicative trend, 10% with a burst. Only the analysis calls are timed.

#include "accuracy.h"
#include "forecast.h"
#include "trend.h"

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

namespace {

using rangepilot::ForecastModel;

struct SplitMix64 {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; } // [0, 1)
    double normal() {
        const double u1 = 1.0 - uniform(); // (0, 1]
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }
};

constexpr int kStepsPerDay = 288;
constexpr int kDays = 7;

void generateSeries(std::uint64_t index, std::vector<double>& series) {
    SplitMix64 rng{index * 7919 + 17};
    const double level = 2.0 + 400.0 * rng.uniform() * rng.uniform();
    const double phase = rng.uniform();
    const double amplitude = 0.3 + 0.5 * rng.uniform();
    const bool trending = rng.uniform() < 0.3;
    const double growthPerDay = trending ? -0.08 + 0.22 * rng.uniform() : 0.0;
    const bool bursty = rng.uniform() < 0.1;
    const std::size_t burstStart = static_cast<std::size_t>(rng.uniform() * kDays * kStepsPerDay);
    const std::size_t burstLength = 6 + static_cast<std::size_t>(rng.uniform() * 30);
    series.resize(static_cast<std::size_t>(kDays * kStepsPerDay));
    for (std::size_t t = 0; t < series.size(); ++t) {
        const double dayFraction = static_cast<double>(t % kStepsPerDay) / kStepsPerDay;
        const double shape = 1.0 +
                             amplitude * std::sin(2.0 * std::numbers::pi * (dayFraction - phase)) +
                             0.15 * std::sin(4.0 * std::numbers::pi * dayFraction);
        const double days = static_cast<double>(t) / kStepsPerDay;
        double mean = level * std::max(shape, 0.05) * std::max(1.0 + growthPerDay * days, 0.1);
        if (bursty && t >= burstStart && t < burstStart + burstLength) {
            mean *= 3.0;
        }
        // Count-like noise: Poisson's sqrt(mean) plus 5% multiplicative jitter.
        const double noisy = mean + std::sqrt(mean) * rng.normal() + 0.05 * mean * rng.normal();
        series[t] = std::max(0.0, std::round(noisy));
    }
}

double seconds(std::chrono::steady_clock::duration duration) {
    return std::chrono::duration<double>(duration).count();
}

} // namespace

int main(int argc, char** argv) {
    std::size_t seriesCount = 10000;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            seriesCount = 1000;
        } else if (std::strcmp(argv[i], "--series") == 0 && i + 1 < argc) {
            seriesCount = static_cast<std::size_t>(std::strtoull(argv[++i], nullptr, 10));
        } else {
            std::fprintf(stderr, "usage: %s [--series N] [--quick]\n", argv[0]);
            return 2;
        }
    }

    rangepilot::ForecastOptions allModels;
    allModels.steps_per_day = kStepsPerDay;
    rangepilot::ForecastOptions naiveOnly = allModels;
    naiveOnly.candidates = rangepilot::ModelSet::only(ForecastModel::SeasonalNaive);
    rangepilot::TrendOptions trendOptions;
    trendOptions.steps_per_day = kStepsPerDay;

    rangepilot::ForecastWorkspace workspace;
    rangepilot::TrendWorkspace trendWorkspace;
    std::vector<double> series;
    std::array<rangepilot::WeightedAverage, 5> mase;
    std::array<rangepilot::WeightedAverage, 5> smape;
    std::array<std::size_t, 4> chosen{};
    std::array<std::size_t, 3> trends{};
    std::chrono::steady_clock::duration allTime{};
    std::chrono::steady_clock::duration naiveTime{};
    std::chrono::steady_clock::duration trendTime{};
    double checksum = 0.0;

    for (std::size_t i = 0; i < seriesCount; ++i) {
        generateSeries(i, series);

        auto start = std::chrono::steady_clock::now();
        const rangepilot::BacktestResult all =
            rangepilot::backtestSeries(series, allModels, workspace);
        allTime += std::chrono::steady_clock::now() - start;

        start = std::chrono::steady_clock::now();
        const rangepilot::BacktestResult naive =
            rangepilot::backtestSeries(series, naiveOnly, workspace);
        naiveTime += std::chrono::steady_clock::now() - start;

        start = std::chrono::steady_clock::now();
        const rangepilot::TrendResult trend =
            rangepilot::analyzeTrend(series, trendOptions, trendWorkspace);
        trendTime += std::chrono::steady_clock::now() - start;

        for (std::size_t m = 0; m < all.models.size(); ++m) {
            const rangepilot::ModelScore& score = all.models[m];
            mase[m].add(score.mase, all.volume, score.available && score.mase_available);
            smape[m].add(score.smape, all.volume, score.available);
        }
        ++chosen[static_cast<std::size_t>(all.chosen) % chosen.size()];
        ++trends[static_cast<std::size_t>(trend.direction)];
        checksum += naive.models[0].smape;
    }

    const double allSeconds = seconds(allTime);
    const double naiveSeconds = seconds(naiveTime);
    std::printf("backtest all models: %.2f s (%zu series, %.0f series/s); baseline seasonal naive "
                "only: %.2f s; ratio %.1fx\n",
                allSeconds, seriesCount,
                allSeconds > 0 ? static_cast<double>(seriesCount) / allSeconds : 0.0, naiveSeconds,
                naiveSeconds > 0 ? allSeconds / naiveSeconds : 0.0);
    std::printf("volume-weighted test MASE / sMAPE%%:");
    for (std::size_t m = 0; m < mase.size(); ++m) {
        const ForecastModel model = m < 4 ? rangepilot::kConcreteModels[m] : ForecastModel::Auto;
        std::printf(" %s %.3f / %.1f%s", std::string(rangepilot::modelName(model)).c_str(),
                    mase[m].value(), smape[m].value(), m + 1 < mase.size() ? ";" : "\n");
    }
    std::printf("auto chose: seasonal_naive %zu, ewma %zu, holt_winters %zu, spar %zu\n", chosen[0],
                chosen[1], chosen[2], chosen[3]);
    std::printf("trend: %.3f s for %zu series (%.1f us each): declining %zu, flat %zu, growing "
                "%zu\n",
                seconds(trendTime), seriesCount,
                seriesCount > 0 ? 1e6 * seconds(trendTime) / static_cast<double>(seriesCount) : 0.0,
                trends[0], trends[1], trends[2]);
    std::printf("(checksum %.6f)\n", checksum);
    return 0;
}
