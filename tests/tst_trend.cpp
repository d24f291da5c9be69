#include "random.h"
#include "trend.h"

#include <QtTest>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

using namespace rangepilot;

Q_DECLARE_METATYPE(rangepilot::TrendDirection)

namespace {

constexpr int kStepsPerDay = 288;

// The planner's deterministic generator: same draws on every platform.
using TestRng = Random;

struct SeriesShape {
    double days = 7;
    double base = 100;
    double slopePerDay = 0;
    double seasonAmplitude = 0;
    double noise = 0;
    double burstFactor = 1; // one hour on the last day multiplied by this
};

// base + slope·day + amplitude·sin(time of day) + noise, clipped at 0.
std::vector<double> makeSeries(const SeriesShape& shape, std::uint64_t seed = 1) {
    TestRng rng(seed);
    const auto size = static_cast<std::size_t>(shape.days * kStepsPerDay);
    std::vector<double> series(size);
    for (std::size_t t = 0; t < size; ++t) {
        const double day = static_cast<double>(t) / kStepsPerDay;
        double value = shape.base + shape.slopePerDay * day +
                       shape.seasonAmplitude * std::sin(2.0 * std::numbers::pi * day) +
                       shape.noise * rng.normal();
        const std::size_t burstStart = size > 300 ? size - 200 : size;
        if (t >= burstStart && t < burstStart + 12) {
            value *= shape.burstFactor;
        }
        series[t] = std::max(value, 0.0);
    }
    return series;
}

bool finite(const TrendResult& r) {
    return std::isfinite(r.slope_per_day) && std::isfinite(r.relative_slope_per_day) &&
           std::isfinite(r.t_statistic) && std::isfinite(r.mean_level);
}

} // namespace

class TestTrend : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void classifies_data();
    void classifies();
    void degenerateSeriesAreFlat_data();
    void degenerateSeriesAreFlat();
    void thresholdsComeFromOptions();
    void relativeSlopeIsSlopeOverMean();
    void deterministicAndWorkspaceIndependent();
    void directionNames();
};

void TestTrend::classifies_data() {
    QTest::addColumn<double>("days");
    QTest::addColumn<double>("base");
    QTest::addColumn<double>("slopePerDay");
    QTest::addColumn<double>("seasonAmplitude");
    QTest::addColumn<double>("noise");
    QTest::addColumn<double>("burstFactor");
    QTest::addColumn<TrendDirection>("direction");
    QTest::addColumn<double>("slopeTolerance"); // absolute, per day; negative: not checked

    QTest::newRow("clean ramp") << 7.0 << 100.0 << 20.0 << 0.0 << 0.0 << 1.0
                                << TrendDirection::Growing << 0.05;
    QTest::newRow("ramp with noise")
        << 7.0 << 100.0 << 20.0 << 0.0 << 10.0 << 1.0 << TrendDirection::Growing << 1.5;
    QTest::newRow("ramp with season and noise")
        << 7.0 << 100.0 << 20.0 << 50.0 << 10.0 << 1.0 << TrendDirection::Growing << 1.5;
    QTest::newRow("ramp with season, 3 days")
        << 3.0 << 200.0 << 40.0 << 80.0 << 10.0 << 1.0 << TrendDirection::Growing << 3.0;
    QTest::newRow("ramp under one day")
        << 0.8 << 100.0 << 100.0 << 0.0 << 5.0 << 1.0 << TrendDirection::Growing << 8.0;
    QTest::newRow("decline with season and noise")
        << 7.0 << 300.0 << -25.0 << 80.0 << 10.0 << 1.0 << TrendDirection::Declining << 2.0;
    QTest::newRow("clean decline")
        << 5.0 << 500.0 << -60.0 << 0.0 << 0.0 << 1.0 << TrendDirection::Declining << 0.1;
    QTest::newRow("flat noisy") << 7.0 << 50.0 << 0.0 << 0.0 << 15.0 << 1.0 << TrendDirection::Flat
                                << 1.5;
    QTest::newRow("flat noisy with season")
        << 7.0 << 100.0 << 0.0 << 60.0 << 20.0 << 1.0 << TrendDirection::Flat << 2.0;
    QTest::newRow("flat with a late burst")
        << 7.0 << 100.0 << 0.0 << 40.0 << 10.0 << 6.0 << TrendDirection::Flat << 2.0;
    QTest::newRow("growth under 5%/day stays flat")
        << 7.0 << 1000.0 << 10.0 << 0.0 << 2.0 << 1.0 << TrendDirection::Flat << 0.5;
}

void TestTrend::classifies() {
    QFETCH(double, days);
    QFETCH(double, base);
    QFETCH(double, slopePerDay);
    QFETCH(double, seasonAmplitude);
    QFETCH(double, noise);
    QFETCH(double, burstFactor);
    QFETCH(TrendDirection, direction);
    QFETCH(double, slopeTolerance);

    const std::vector<double> series =
        makeSeries({days, base, slopePerDay, seasonAmplitude, noise, burstFactor});
    TrendOptions options;
    options.steps_per_day = kStepsPerDay;
    const TrendResult result = analyzeTrend(series, options);

    QVERIFY(finite(result));
    const QString detail = QStringLiteral("slope/day %1, rel %2, t %3")
                               .arg(result.slope_per_day)
                               .arg(result.relative_slope_per_day)
                               .arg(result.t_statistic);
    QVERIFY2(result.direction == direction, qPrintable(detail));
    QVERIFY2(std::abs(result.slope_per_day - slopePerDay) <= slopeTolerance, qPrintable(detail));
    QCOMPARE(result.deseasonalised, days >= 2.0);
    if (direction == TrendDirection::Growing) {
        QVERIFY(result.t_statistic >= options.t_threshold);
    } else if (direction == TrendDirection::Declining) {
        QVERIFY(result.t_statistic <= -options.t_threshold);
    }
}

void TestTrend::degenerateSeriesAreFlat_data() {
    QTest::addColumn<QList<double>>("series");
    QTest::addColumn<int>("stepsPerDay");
    QTest::addColumn<double>("mean");
    QTest::newRow("empty") << QList<double>{} << 288 << 0.0;
    QTest::newRow("one point") << QList<double>{5} << 288 << 5.0;
    QTest::newRow("two points rising") << QList<double>{1, 1000} << 288 << 500.5;
    QTest::newRow("five points rising") << QList<double>{1, 2, 3, 4, 5} << 288 << 3.0;
    QList<double> constant(3 * 24, 7.25);
    QTest::newRow("constant, 3 days") << constant << 24 << 7.25;
    QList<double> zeros(3 * 24, 0.0);
    QTest::newRow("all zero, 3 days") << zeros << 24 << 0.0;
    QList<double> smallConstant(100, 0.1);
    QTest::newRow("constant 0.1, not a whole number of groups") << smallConstant << 24 << 0.1;
}

void TestTrend::degenerateSeriesAreFlat() {
    QFETCH(QList<double>, series);
    QFETCH(int, stepsPerDay);
    QFETCH(double, mean);
    const std::vector<double> values(series.begin(), series.end());
    TrendOptions options;
    options.steps_per_day = stepsPerDay;
    const TrendResult result = analyzeTrend(values, options);
    QVERIFY(finite(result));
    QCOMPARE(result.direction, TrendDirection::Flat);
    QCOMPARE(result.t_statistic, 0.0);
    QCOMPARE(result.slope_per_day, 0.0);
    QCOMPARE(result.relative_slope_per_day, 0.0);
    QVERIFY(std::abs(result.mean_level - mean) < 1e-9);
}

void TestTrend::thresholdsComeFromOptions() {
    // +1.2%/day with little noise: significant, but under the default 5%/day minimum.
    const std::vector<double> series = makeSeries({7, 1000, 12, 100, 3});
    TrendOptions options;
    options.steps_per_day = kStepsPerDay;
    const TrendResult byDefault = analyzeTrend(series, options);
    QCOMPARE(byDefault.direction, TrendDirection::Flat);
    QVERIFY(byDefault.t_statistic > 3.0);

    options.min_relative_slope_per_day = 0.01;
    QCOMPARE(analyzeTrend(series, options).direction, TrendDirection::Growing);

    options.t_threshold = 1e7; // beyond any t, even the capped one
    QCOMPARE(analyzeTrend(series, options).direction, TrendDirection::Flat);
}

void TestTrend::relativeSlopeIsSlopeOverMean() {
    const std::vector<double> series = makeSeries({4, 100, 30, 20, 5});
    TrendOptions options;
    options.steps_per_day = kStepsPerDay;
    const TrendResult result = analyzeTrend(series, options);
    double total = 0;
    for (const double value : series) {
        total += value;
    }
    const double mean = total / static_cast<double>(series.size());
    QVERIFY(std::abs(result.mean_level - mean) < 1e-9);
    QVERIFY(std::abs(result.relative_slope_per_day - result.slope_per_day / mean) < 1e-12);
    // Mean of 100 + 30·day over 4 days is 160: about +19%/day.
    QVERIFY(std::abs(result.relative_slope_per_day - 30.0 / 160.0) < 0.02);
}

void TestTrend::deterministicAndWorkspaceIndependent() {
    const std::vector<double> first = makeSeries({7, 100, 15, 40, 12}, 11);
    const std::vector<double> second = makeSeries({2.5, 900, -80, 300, 40}, 12);
    TrendOptions options;
    options.steps_per_day = kStepsPerDay;
    TrendWorkspace workspace;
    const TrendResult a = analyzeTrend(first, options, workspace);
    const TrendResult b = analyzeTrend(second, options, workspace);
    const TrendResult aAgain = analyzeTrend(first, options, workspace);
    const TrendResult bFresh = analyzeTrend(second, options);
    QCOMPARE(a.slope_per_day, aAgain.slope_per_day);
    QCOMPARE(a.t_statistic, aAgain.t_statistic);
    QCOMPARE(a.direction, aAgain.direction);
    QCOMPARE(b.slope_per_day, bFresh.slope_per_day);
    QCOMPARE(b.t_statistic, bFresh.t_statistic);
    QCOMPARE(b.points_used, bFresh.points_used);
    QVERIFY(a.slope_per_day != b.slope_per_day);
}

void TestTrend::directionNames() {
    QCOMPARE(trendDirectionName(TrendDirection::Growing), std::string_view("growing"));
    QCOMPARE(trendDirectionName(TrendDirection::Flat), std::string_view("flat"));
    QCOMPARE(trendDirectionName(TrendDirection::Declining), std::string_view("declining"));
}

QTEST_APPLESS_MAIN(TestTrend)
#include "tst_trend.moc"
