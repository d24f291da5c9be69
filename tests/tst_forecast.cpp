#include "forecast.h"
#include "random.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

using namespace rangepilot;

Q_DECLARE_METATYPE(rangepilot::ForecastModel)

namespace {

constexpr int kStepsPerDay = 288;

// The planner's deterministic generator: same draws on every platform.
using TestRng = Random;

// A daily load shape, exactly periodic in t mod period (always >= 15).
double dailyShape(std::size_t t, int period) {
    const double day = static_cast<double>(t % static_cast<std::size_t>(period)) / period;
    return 100.0 + 60.0 * std::sin(2.0 * std::numbers::pi * day) +
           25.0 * std::cos(6.0 * std::numbers::pi * day);
}

std::vector<double> seasonalSeries(std::size_t size, double noise, std::uint64_t seed,
                                   int period = kStepsPerDay) {
    TestRng rng(seed);
    std::vector<double> series(size);
    for (std::size_t t = 0; t < size; ++t) {
        series[t] = std::max(0.0, dailyShape(t, period) + noise * rng.normal());
    }
    return series;
}

ForecastOptions defaultOptions(int period = kStepsPerDay) {
    ForecastOptions options;
    options.steps_per_day = period;
    return options;
}

bool allFinite(const std::vector<double>& values) {
    return std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
}

bool mentions(const std::vector<std::string>& notes, std::string_view text) {
    return std::any_of(notes.begin(), notes.end(),
                       [&](const std::string& note) { return note.find(text) != note.npos; });
}

QString describe(const BacktestResult& result) {
    QString text;
    for (const ModelScore& score : result.models) {
        text += QStringLiteral("%1: avail %2 smape %3 mase %4 val %5 %6; ")
                    .arg(QString::fromStdString(std::string(modelName(score.model))))
                    .arg(score.available)
                    .arg(score.smape)
                    .arg(score.mase)
                    .arg(score.validation_mae)
                    .arg(QString::fromStdString(score.note));
    }
    return text + QStringLiteral("chosen %1")
                      .arg(QString::fromStdString(std::string(modelName(result.chosen))));
}

void verifyWellFormed(const SeriesForecast& forecast, std::size_t horizon) {
    QCOMPARE(forecast.point.size(), horizon);
    QCOMPARE(forecast.lo.size(), horizon);
    QCOMPARE(forecast.hi.size(), horizon);
    QVERIFY(allFinite(forecast.point) && allFinite(forecast.lo) && allFinite(forecast.hi));
    for (std::size_t h = 0; h < horizon; ++h) {
        QVERIFY(forecast.lo[h] >= 0.0);
        QVERIFY(forecast.lo[h] <= forecast.point[h]);
        QVERIFY(forecast.point[h] <= forecast.hi[h]);
    }
}

void verifyScoresFinite(const BacktestResult& result) {
    QVERIFY(std::isfinite(result.volume));
    for (const ModelScore& score : result.models) {
        QVERIFY(std::isfinite(score.smape) && std::isfinite(score.mase) &&
                std::isfinite(score.validation_mae));
        QVERIFY(score.smape >= 0.0 && score.smape <= 200.0);
    }
}

} // namespace

class TestForecast : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void modelNamesRoundTrip_data();
    void modelNamesRoundTrip();
    void exactSeasonalSignal_data();
    void exactSeasonalSignal();
    void exactSeasonalForecasts_data();
    void exactSeasonalForecasts();
    void noisySeasonalBeatsSeasonalNaive_data();
    void noisySeasonalBeatsSeasonalNaive();
    void autoSelectsOnValidationOnly();
    void candidatesRestrictTheBacktest();
    void shortSeries_data();
    void shortSeries();
    void backtestWindows_data();
    void backtestWindows();
    void modelsNeverReadTheFuture_data();
    void modelsNeverReadTheFuture();
    void intervalCoverage_data();
    void intervalCoverage();
    void intervalWidthFollowsOption();
    void zeroAndConstantSeries();
    void oddOptionsStayWellFormed_data();
    void oddOptionsStayWellFormed();
    void deterministic();
};

void TestForecast::modelNamesRoundTrip_data() {
    QTest::addColumn<ForecastModel>("model");
    QTest::addColumn<QString>("name");
    QTest::newRow("seasonal naive")
        << ForecastModel::SeasonalNaive << QStringLiteral("seasonal_naive");
    QTest::newRow("ewma") << ForecastModel::Ewma << QStringLiteral("ewma");
    QTest::newRow("holt-winters") << ForecastModel::HoltWinters << QStringLiteral("holt_winters");
    QTest::newRow("spar") << ForecastModel::Spar << QStringLiteral("spar");
    QTest::newRow("auto") << ForecastModel::Auto << QStringLiteral("auto");
}

void TestForecast::modelNamesRoundTrip() {
    QFETCH(ForecastModel, model);
    QFETCH(QString, name);
    QCOMPARE(QString::fromStdString(std::string(modelName(model))), name);
    const std::string text = name.toStdString();
    QCOMPARE(parseModelName(text), std::optional<ForecastModel>(model));
    QVERIFY(!parseModelName(text + "x").has_value());
    QVERIFY(!parseModelName("").has_value());
}

void TestForecast::exactSeasonalSignal_data() {
    QTest::addColumn<int>("period");
    QTest::addColumn<int>("days");
    QTest::addColumn<int>("horizon");
    QTest::newRow("5-minute buckets, 5 days") << 288 << 5 << 12;
    QTest::newRow("5-minute buckets, 7 days") << 288 << 7 << 12;
    QTest::newRow("hourly buckets, horizon beyond a day") << 24 << 8 << 30;
}

void TestForecast::exactSeasonalSignal() {
    QFETCH(int, period);
    QFETCH(int, days);
    QFETCH(int, horizon);
    const std::vector<double> series =
        seasonalSeries(static_cast<std::size_t>(days * period), 0.0, 1, period);
    ForecastOptions options = defaultOptions(period);
    options.horizon_steps = horizon;
    const BacktestResult result = backtestSeries(series, options);
    verifyScoresFinite(result);
    for (const ForecastModel model :
         {ForecastModel::SeasonalNaive, ForecastModel::HoltWinters, ForecastModel::Spar}) {
        const ModelScore& score = result.score(model);
        QVERIFY2(score.available, qPrintable(describe(result)));
        QVERIFY2(score.smape < 0.01, qPrintable(describe(result))); // percent
        QVERIFY(score.test_points > 0);
    }
    // The daily cycle defeats a flat forecast.
    QVERIFY2(result.score(ForecastModel::Ewma).smape > 5.0, qPrintable(describe(result)));
    QVERIFY2(result.chosen == ForecastModel::SeasonalNaive ||
                 result.chosen == ForecastModel::HoltWinters ||
                 result.chosen == ForecastModel::Spar,
             qPrintable(describe(result)));
    const ModelScore& autoScore = result.score(ForecastModel::Auto);
    QVERIFY(autoScore.available);
    QCOMPARE(autoScore.smape, result.score(result.chosen).smape);
    QVERIFY(autoScore.smape < 0.01);
}

void TestForecast::exactSeasonalForecasts_data() {
    QTest::addColumn<ForecastModel>("model");
    QTest::newRow("seasonal naive") << ForecastModel::SeasonalNaive;
    QTest::newRow("holt-winters") << ForecastModel::HoltWinters;
    QTest::newRow("spar") << ForecastModel::Spar;
    QTest::newRow("auto") << ForecastModel::Auto;
}

void TestForecast::exactSeasonalForecasts() {
    QFETCH(ForecastModel, model);
    const std::size_t size = 4 * kStepsPerDay + 100; // origins mid-day
    const std::vector<double> series = seasonalSeries(size, 0.0, 1);
    const ForecastOptions options = defaultOptions();
    const SeriesForecast forecast = forecastSeries(series, model, options);
    verifyWellFormed(forecast, 12);
    if (model != ForecastModel::Auto) {
        QCOMPARE(forecast.model, model);
    }
    for (std::size_t h = 0; h < 12; ++h) {
        const double actual = dailyShape(size + h, kStepsPerDay);
        QVERIFY2(
            std::abs(forecast.point[h] - actual) < 1e-3 * actual,
            qPrintable(
                QStringLiteral("h=%1: %2 vs %3").arg(h + 1).arg(forecast.point[h]).arg(actual)));
        // A perfect in-sample fit leaves a (near) zero-width interval.
        QVERIFY(forecast.hi[h] - forecast.lo[h] < 1e-3 * actual);
    }
}

void TestForecast::noisySeasonalBeatsSeasonalNaive_data() {
    QTest::addColumn<quint64>("seed");
    QTest::addColumn<double>("noise");
    QTest::newRow("seed 2, noise 10") << quint64(2) << 10.0;
    QTest::newRow("seed 3, noise 10") << quint64(3) << 10.0;
    QTest::newRow("seed 4, noise 20") << quint64(4) << 20.0;
}

void TestForecast::noisySeasonalBeatsSeasonalNaive() {
    QFETCH(quint64, seed);
    QFETCH(double, noise);
    const std::vector<double> series = seasonalSeries(7 * kStepsPerDay, noise, seed);
    const BacktestResult result = backtestSeries(series, defaultOptions());
    verifyScoresFinite(result);
    const ModelScore& naive = result.score(ForecastModel::SeasonalNaive);
    QVERIFY(naive.available && naive.mase_available);
    QVERIFY(!naive.mase_lag1_fallback);
    for (const ForecastModel model : {ForecastModel::HoltWinters, ForecastModel::Spar}) {
        const ModelScore& score = result.score(model);
        QVERIFY2(score.available && score.mase_available, qPrintable(describe(result)));
        QVERIFY2(score.mase < 1.0, qPrintable(describe(result)));
        QVERIFY2(score.mase < naive.mase, qPrintable(describe(result)));
        QVERIFY2(score.smape < naive.smape, qPrintable(describe(result)));
    }
    QVERIFY2(result.chosen == ForecastModel::HoltWinters || result.chosen == ForecastModel::Spar,
             qPrintable(describe(result)));
}

void TestForecast::autoSelectsOnValidationOnly() {
    std::vector<double> series = seasonalSeries(7 * kStepsPerDay, 15.0, 5);
    const ForecastOptions options = defaultOptions();
    const BacktestResult before = backtestSeries(series, options);
    QVERIFY(before.windows.scorable());

    // auto's choice is the lowest validation error, and it reports that model's test scores.
    double lowest = std::numeric_limits<double>::max();
    for (const ForecastModel model : kConcreteModels) {
        const ModelScore& score = before.score(model);
        if (score.available) {
            lowest = std::min(lowest, score.validation_mae);
        }
    }
    const ModelScore& chosen = before.score(before.chosen);
    QCOMPARE(chosen.validation_mae, lowest);
    QCOMPARE(before.score(ForecastModel::Auto).smape, chosen.smape);
    QCOMPARE(before.score(ForecastModel::Auto).mase, chosen.mase);

    // Rewriting the test window changes test scores but not the choice.
    for (std::size_t t = before.windows.validation_end; t < series.size(); ++t) {
        series[t] = (t % 7 == 0) ? 0.0 : series[t] * 3.0;
    }
    const BacktestResult after = backtestSeries(series, options);
    QCOMPARE(after.chosen, before.chosen);
    for (const ForecastModel model : kConcreteModels) {
        QCOMPARE(after.score(model).validation_mae, before.score(model).validation_mae);
    }
    QVERIFY(after.score(before.chosen).smape != before.score(before.chosen).smape);
}

void TestForecast::candidatesRestrictTheBacktest() {
    const std::vector<double> series = seasonalSeries(7 * kStepsPerDay, 10.0, 6);
    ForecastOptions options = defaultOptions();
    options.candidates = ModelSet::only(ForecastModel::SeasonalNaive);
    const BacktestResult result = backtestSeries(series, options);
    QCOMPARE(result.chosen, ForecastModel::SeasonalNaive);
    QVERIFY(result.score(ForecastModel::SeasonalNaive).available);
    for (const ForecastModel model :
         {ForecastModel::Ewma, ForecastModel::HoltWinters, ForecastModel::Spar}) {
        QVERIFY(!result.score(model).available);
        QVERIFY(!result.score(model).note.empty());
    }
    const SeriesForecast forecast = forecastSeries(series, ForecastModel::Auto, options);
    QCOMPARE(forecast.model, ForecastModel::SeasonalNaive);
}

void TestForecast::shortSeries_data() {
    QTest::addColumn<int>("size");
    QTest::addColumn<ForecastModel>("model");
    for (const int size : {0, 1, 2, 10, 432}) {
        for (const ForecastModel model :
             {ForecastModel::SeasonalNaive, ForecastModel::Ewma, ForecastModel::HoltWinters,
              ForecastModel::Spar, ForecastModel::Auto}) {
            const QString name = QStringLiteral("%1 points, %2")
                                     .arg(size)
                                     .arg(QString::fromStdString(std::string(modelName(model))));
            QTest::newRow(qPrintable(name)) << size << model;
        }
    }
}

void TestForecast::shortSeries() {
    QFETCH(int, size);
    QFETCH(ForecastModel, model);
    const std::vector<double> series = seasonalSeries(static_cast<std::size_t>(size), 10.0, 7);
    const ForecastOptions options = defaultOptions();

    const SeriesForecast forecast = forecastSeries(series, model, options);
    verifyWellFormed(forecast, 12);
    QVERIFY(forecast.model != ForecastModel::Auto);
    const bool needsTwoDays = model == ForecastModel::HoltWinters || model == ForecastModel::Spar;
    if (size > 0 && needsTwoDays) {
        QVERIFY(forecast.model != model);
        QVERIFY(mentions(forecast.notes, "needs 2 days"));
    }
    if (size == 0) {
        QVERIFY(mentions(forecast.notes, "no history"));
        QCOMPARE(forecast.point, std::vector<double>(12, 0.0));
    }

    const BacktestResult result = backtestSeries(series, options);
    verifyScoresFinite(result);
    for (const ForecastModel twoDayModel : {ForecastModel::HoltWinters, ForecastModel::Spar}) {
        const ModelScore& score = result.score(twoDayModel);
        QVERIFY(!score.available);
        QVERIFY2(!score.note.empty(), qPrintable(describe(result)));
    }
    if (size >= 10) {
        QVERIFY2(mentions({result.score(ForecastModel::HoltWinters).note}, "needs 2 days"),
                 qPrintable(describe(result)));
        QVERIFY(result.score(ForecastModel::Auto).available);
        QVERIFY(result.chosen == ForecastModel::SeasonalNaive ||
                result.chosen == ForecastModel::Ewma);
        // Under one day + 1 of training: MASE is scaled by the lag-1 naive.
        QVERIFY(result.score(ForecastModel::SeasonalNaive).mase_lag1_fallback);
    } else {
        QVERIFY(!result.windows.scorable());
        QVERIFY(!result.score(ForecastModel::Auto).available);
    }
}

void TestForecast::backtestWindows_data() {
    QTest::addColumn<int>("size");
    QTest::addColumn<int>("trainEnd");
    QTest::addColumn<int>("validationEnd");
    QTest::newRow("7 days: a day each") << 2016 << 1440 << 1728;
    QTest::newRow("4 days: a day each") << 1152 << 576 << 864;
    QTest::newRow("3 days: 2 days of training") << 864 << 576 << 720;
    QTest::newRow("2 days: quarters") << 576 << 288 << 432;
    QTest::newRow("1.5 days: quarters") << 432 << 216 << 324;
    QTest::newRow("10 points") << 10 << 6 << 8;
    QTest::newRow("3 points: nothing to score") << 3 << 3 << 3;
    QTest::newRow("empty") << 0 << 0 << 0;
}

void TestForecast::backtestWindows() {
    QFETCH(int, size);
    QFETCH(int, trainEnd);
    QFETCH(int, validationEnd);
    const BacktestWindows windows =
        planBacktestWindows(static_cast<std::size_t>(size), defaultOptions());
    QCOMPARE(windows.train_end, static_cast<std::size_t>(trainEnd));
    QCOMPARE(windows.validation_end, static_cast<std::size_t>(validationEnd));
    QCOMPARE(windows.size, static_cast<std::size_t>(size));
}

void TestForecast::modelsNeverReadTheFuture_data() {
    QTest::addColumn<ForecastModel>("model");
    for (const ForecastModel model : kConcreteModels) {
        QTest::newRow(std::string(modelName(model)).c_str()) << model;
    }
}

void TestForecast::modelsNeverReadTheFuture() {
    QFETCH(ForecastModel, model);
    const std::vector<double> series = seasonalSeries(6 * kStepsPerDay, 10.0, 8);
    std::vector<double> changedFuture = series;
    const std::size_t origin = 5 * kStepsPerDay + 17;
    for (std::size_t t = origin; t < changedFuture.size(); ++t) {
        changedFuture[t] += 1000.0;
    }
    const ModelSettings settings{kStepsPerDay, 12, 7, 3};
    const std::span<const double> train(series.data(), 4 * kStepsPerDay);
    ForecastWorkspace a;
    ForecastWorkspace b;
    std::vector<double> first(12);
    std::vector<double> second(12);
    const auto run = [&](auto& modelObject, const std::vector<double>& data,
                         std::vector<double>& out) {
        QVERIFY(modelObject.fit(train, settings).ok());
        modelObject.start();
        modelObject.advance(data, origin);
        QCOMPARE(modelObject.position(), origin);
        modelObject.forecast(data, out);
    };
    switch (model) {
    case ForecastModel::SeasonalNaive:
        run(a.seasonal_naive, series, first);
        run(b.seasonal_naive, changedFuture, second);
        break;
    case ForecastModel::Ewma:
        run(a.ewma, series, first);
        run(b.ewma, changedFuture, second);
        break;
    case ForecastModel::HoltWinters:
        run(a.holt_winters, series, first);
        run(b.holt_winters, changedFuture, second);
        break;
    case ForecastModel::Spar:
        run(a.spar, series, first);
        run(b.spar, changedFuture, second);
        break;
    case ForecastModel::Auto:
        QFAIL("not a concrete model");
    }
    QCOMPARE(first, second);
    QVERIFY(allFinite(first));
    // And the forecasts are sensible: within 50% of the true shape.
    for (std::size_t h = 0; h < 12; ++h) {
        const double truth = dailyShape(origin + h, kStepsPerDay);
        if (model != ForecastModel::Ewma) {
            QVERIFY(std::abs(first[h] - truth) < 0.5 * truth);
        }
    }
}

void TestForecast::intervalCoverage_data() {
    QTest::addColumn<ForecastModel>("model");
    QTest::newRow("seasonal naive") << ForecastModel::SeasonalNaive;
    QTest::newRow("holt-winters") << ForecastModel::HoltWinters;
    QTest::newRow("spar") << ForecastModel::Spar;
    QTest::newRow("auto") << ForecastModel::Auto;
}

void TestForecast::intervalCoverage() {
    QFETCH(ForecastModel, model);
    const std::vector<double> series = seasonalSeries(9 * kStepsPerDay, 12.0, 9);
    const ForecastOptions options = defaultOptions();
    ForecastWorkspace workspace;
    int covered = 0;
    int total = 0;
    // 24 origins spread over two days after a week of history, 12 steps each.
    for (std::size_t origin = 7 * kStepsPerDay; origin + 12 <= series.size(); origin += 24) {
        const SeriesForecast forecast =
            forecastSeries(std::span(series).first(origin), model, options, workspace);
        for (std::size_t h = 0; h < 12; ++h) {
            const double actual = series[origin + h];
            covered += (actual >= forecast.lo[h] && actual <= forecast.hi[h]) ? 1 : 0;
            ++total;
        }
    }
    const double coverage = 100.0 * covered / total;
    QVERIFY2(coverage >= 65.0 && coverage <= 95.0, qPrintable(QString::number(coverage)));
}

void TestForecast::intervalWidthFollowsOption() {
    const std::vector<double> series = seasonalSeries(5 * kStepsPerDay, 10.0, 10);
    ForecastOptions options = defaultOptions();
    options.interval = 0.8;
    const SeriesForecast eighty = forecastSeries(series, ForecastModel::HoltWinters, options);
    options.interval = 0.95;
    const SeriesForecast ninetyFive = forecastSeries(series, ForecastModel::HoltWinters, options);
    options.interval = 0.0;
    const SeriesForecast none = forecastSeries(series, ForecastModel::HoltWinters, options);
    verifyWellFormed(eighty, 12);
    verifyWellFormed(ninetyFive, 12);
    verifyWellFormed(none, 12);
    for (std::size_t h = 0; h < 12; ++h) {
        QCOMPARE(eighty.point[h], ninetyFive.point[h]);
        QVERIFY(ninetyFive.hi[h] - ninetyFive.lo[h] > eighty.hi[h] - eighty.lo[h]);
        QVERIFY(eighty.hi[h] - eighty.lo[h] > 0.0);
        QCOMPARE(none.lo[h], none.point[h]);
        QCOMPARE(none.hi[h], none.point[h]);
    }
}

void TestForecast::zeroAndConstantSeries() {
    const ForecastOptions options = defaultOptions();
    for (const double level : {0.0, 7.0}) {
        const std::vector<double> series(5 * kStepsPerDay, level);
        const BacktestResult result = backtestSeries(series, options);
        verifyScoresFinite(result);
        QCOMPARE(result.volume, level * static_cast<double>(series.size()));
        for (const ForecastModel model : kConcreteModels) {
            QVERIFY(result.score(model).available);
            QVERIFY(result.score(model).smape < 1e-6);
        }
        // Exact forecasts of a constant: MASE is 0 although its scale is 0.
        for (const ForecastModel model :
             {ForecastModel::SeasonalNaive, ForecastModel::Ewma, ForecastModel::Auto}) {
            QVERIFY(result.score(model).mase_available);
            QCOMPARE(result.score(model).mase, 0.0);
        }
        for (const ForecastModel model :
             {ForecastModel::SeasonalNaive, ForecastModel::Ewma, ForecastModel::HoltWinters,
              ForecastModel::Spar, ForecastModel::Auto}) {
            const SeriesForecast forecast = forecastSeries(series, model, options);
            verifyWellFormed(forecast, 12);
            for (std::size_t h = 0; h < 12; ++h) {
                QVERIFY(std::abs(forecast.point[h] - level) < 1e-6);
                QVERIFY(forecast.hi[h] - forecast.lo[h] < 1e-6);
            }
        }
    }
    // A series with a partly-zero history does not trip the interval code either.
    std::vector<double> sparse(3 * kStepsPerDay, 0.0);
    sparse[100] = 4.0;
    sparse[700] = 1.0;
    for (const ForecastModel model :
         {ForecastModel::HoltWinters, ForecastModel::Spar, ForecastModel::Auto}) {
        verifyWellFormed(forecastSeries(sparse, model, options), 12);
    }
    verifyScoresFinite(backtestSeries(sparse, options));
}

void TestForecast::oddOptionsStayWellFormed_data() {
    QTest::addColumn<int>("stepsPerDay");
    QTest::addColumn<int>("horizon");
    QTest::addColumn<int>("sparDays");
    QTest::addColumn<int>("sparRecent");
    QTest::addColumn<double>("interval");
    QTest::addColumn<int>("size");
    QTest::addColumn<bool>("sparAvailable");
    QTest::newRow("daily buckets") << 1 << 3 << 7 << 3 << 0.8 << 30 << true;
    QTest::newRow("two buckets a day") << 2 << 4 << 7 << 3 << 0.8 << 40 << true;
    QTest::newRow("hourly, horizon beyond a day") << 24 << 30 << 7 << 3 << 0.8 << 200 << true;
    QTest::newRow("no horizon") << 288 << 0 << 7 << 3 << 0.8 << 1200 << true;
    QTest::newRow("one step") << 288 << 1 << 7 << 3 << 0.8 << 1200 << true;
    QTest::newRow("no recent terms") << 288 << 12 << 7 << 0 << 0.8 << 1200 << true;
    QTest::newRow("one seasonal day") << 288 << 12 << 1 << 3 << 0.8 << 1200 << true;
    QTest::newRow("huge spar settings") << 288 << 12 << 1000 << 1000 << 0.8 << 1200 << true;
    QTest::newRow("interval 100%") << 288 << 12 << 7 << 3 << 1.0 << 1200 << true;
    QTest::newRow("interval NaN") << 288 << 12 << 7 << 3 << std::nan("") << 1200 << true;
    QTest::newRow("negative settings") << -5 << -3 << -1 << -2 << -0.5 << 100 << true;
    QTest::newRow("horizon of a day, 3 days") << 288 << 288 << 7 << 3 << 0.8 << 864 << false;
}

void TestForecast::oddOptionsStayWellFormed() {
    QFETCH(int, stepsPerDay);
    QFETCH(int, horizon);
    QFETCH(int, sparDays);
    QFETCH(int, sparRecent);
    QFETCH(double, interval);
    QFETCH(int, size);
    QFETCH(bool, sparAvailable);
    ForecastOptions options;
    options.steps_per_day = stepsPerDay;
    options.horizon_steps = horizon;
    options.spar_days = sparDays;
    options.spar_recent = sparRecent;
    options.interval = interval;
    const std::vector<double> series =
        seasonalSeries(static_cast<std::size_t>(size), 8.0, 13, std::max(stepsPerDay, 1));
    const auto expectedSize = static_cast<std::size_t>(std::max(horizon, 0));
    for (const ForecastModel model :
         {ForecastModel::SeasonalNaive, ForecastModel::Ewma, ForecastModel::HoltWinters,
          ForecastModel::Spar, ForecastModel::Auto}) {
        verifyWellFormed(forecastSeries(series, model, options), expectedSize);
    }
    const BacktestResult result = backtestSeries(series, options);
    verifyScoresFinite(result);
    QVERIFY2(result.score(ForecastModel::Spar).available == sparAvailable,
             qPrintable(describe(result)));
    QVERIFY(result.score(ForecastModel::Auto).available);
}

void TestForecast::deterministic() {
    const std::vector<double> first = seasonalSeries(7 * kStepsPerDay, 10.0, 11);
    const std::vector<double> second = seasonalSeries(3 * kStepsPerDay + 50, 30.0, 12);
    const ForecastOptions options = defaultOptions();
    ForecastWorkspace shared;
    const BacktestResult a1 = backtestSeries(first, options, shared);
    const BacktestResult b1 = backtestSeries(second, options, shared);
    const BacktestResult a2 = backtestSeries(first, options, shared);
    const BacktestResult b2 = backtestSeries(second, options); // fresh workspace
    for (std::size_t i = 0; i < a1.models.size(); ++i) {
        QCOMPARE(a1.models[i].smape, a2.models[i].smape);
        QCOMPARE(a1.models[i].mase, a2.models[i].mase);
        QCOMPARE(a1.models[i].validation_mae, a2.models[i].validation_mae);
        QCOMPARE(b1.models[i].smape, b2.models[i].smape);
        QCOMPARE(b1.models[i].mase, b2.models[i].mase);
        QCOMPARE(b1.models[i].note, b2.models[i].note);
    }
    QCOMPARE(a1.chosen, a2.chosen);
    QCOMPARE(b1.chosen, b2.chosen);

    for (const ForecastModel model :
         {ForecastModel::HoltWinters, ForecastModel::Spar, ForecastModel::Auto}) {
        const SeriesForecast x = forecastSeries(first, model, options, shared);
        forecastSeries(second, model, options, shared);
        const SeriesForecast y = forecastSeries(first, model, options);
        QCOMPARE(x.model, y.model);
        QCOMPARE(x.point, y.point);
        QCOMPARE(x.lo, y.lo);
        QCOMPARE(x.hi, y.hi);
        QCOMPARE(x.notes, y.notes);
    }
}

QTEST_APPLESS_MAIN(TestForecast)
#include "tst_forecast.moc"
