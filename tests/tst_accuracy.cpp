#include "accuracy.h"

#include <QtTest>

#include <cmath>
#include <limits>
#include <vector>

using namespace rangepilot;

namespace {

std::vector<double> toVector(const QList<double>& values) {
    return std::vector<double>(values.begin(), values.end());
}

} // namespace

class TestAccuracy : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void smapeHandComputed_data();
    void smapeHandComputed();
    void maseHandComputed_data();
    void maseHandComputed();
    void maseZeroScale_data();
    void maseZeroScale();
    void errorAccumulatorMatchesBatchFunctions();
    void weightedAggregate_data();
    void weightedAggregate();
    void weightedAverageSkipsUnavailable();
};

void TestAccuracy::smapeHandComputed_data() {
    QTest::addColumn<QList<double>>("actual");
    QTest::addColumn<QList<double>>("forecast");
    QTest::addColumn<double>("expected");
    // 200·10/210 = 9.5238, 200·20/380 = 10.5263 → mean 10.0251
    QTest::newRow("two points") << QList<double>{100, 200} << QList<double>{110, 180}
                                << (100.0 * (20.0 / 210.0 + 40.0 / 380.0) / 2.0);
    QTest::newRow("perfect") << QList<double>{3, 4, 5} << QList<double>{3, 4, 5} << 0.0;
    QTest::newRow("both zero is no error") << QList<double>{0, 10} << QList<double>{0, 10} << 0.0;
    QTest::newRow("zero actual is the maximum") << QList<double>{0} << QList<double>{5} << 200.0;
    QTest::newRow("zero and perfect mix")
        << QList<double>{0, 0, 50} << QList<double>{0, 5, 50} << 200.0 / 3.0;
    QTest::newRow("empty") << QList<double>{} << QList<double>{} << 0.0;
    QTest::newRow("common prefix only") << QList<double>{1, 2, 3} << QList<double>{1} << 0.0;
}

void TestAccuracy::smapeHandComputed() {
    QFETCH(QList<double>, actual);
    QFETCH(QList<double>, forecast);
    QFETCH(double, expected);
    QVERIFY(std::abs(smape(toVector(actual), toVector(forecast)) - expected) < 1e-9);
}

void TestAccuracy::maseHandComputed_data() {
    QTest::addColumn<QList<double>>("training");
    QTest::addColumn<int>("stepsPerDay");
    QTest::addColumn<QList<double>>("actual");
    QTest::addColumn<QList<double>>("forecast");
    QTest::addColumn<double>("expected");
    QTest::addColumn<bool>("lag1Fallback");
    // Seasonal lag 2: |3−1| = |4−2| = |5−3| = |6−4| = 2 → scale 2; errors 1 and 3 → MAE 2.
    QTest::newRow("seasonal scale") << QList<double>{1, 2, 3, 4, 5, 6} << 2 << QList<double>{10, 20}
                                    << QList<double>{11, 17} << 1.0 << false;
    // Period 4 needs 5 training points; 3 → lag-1 diffs |3−1| = 2, |2−3| = 1 → scale 1.5.
    QTest::newRow("lag-1 fallback")
        << QList<double>{1, 3, 2} << 4 << QList<double>{5} << QList<double>{2} << 2.0 << true;
    // Exactly one day + 1 point: the seasonal scale is used, |9 − 1| = 8.
    QTest::newRow("one day plus one")
        << QList<double>{1, 5, 5, 9} << 3 << QList<double>{0} << QList<double>{4} << 0.5 << false;
    QTest::newRow("perfect forecast")
        << QList<double>{1, 2, 3, 4} << 2 << QList<double>{7} << QList<double>{7} << 0.0 << false;
}

void TestAccuracy::maseHandComputed() {
    QFETCH(QList<double>, training);
    QFETCH(int, stepsPerDay);
    QFETCH(QList<double>, actual);
    QFETCH(QList<double>, forecast);
    QFETCH(double, expected);
    QFETCH(bool, lag1Fallback);
    const MaseScore score =
        mase(toVector(actual), toVector(forecast), toVector(training), stepsPerDay);
    QVERIFY(score.available);
    QCOMPARE(score.lag1_fallback, lag1Fallback);
    QVERIFY2(std::abs(score.value - expected) < 1e-12, qPrintable(QString::number(score.value)));
}

void TestAccuracy::maseZeroScale_data() {
    QTest::addColumn<QList<double>>("training");
    QTest::addColumn<QList<double>>("actual");
    QTest::addColumn<QList<double>>("forecast");
    QTest::addColumn<bool>("available");
    QTest::addColumn<double>("expected");
    QTest::newRow("constant, exact")
        << QList<double>{4, 4, 4, 4} << QList<double>{4, 4} << QList<double>{4, 4} << true << 0.0;
    QTest::newRow("constant, errors")
        << QList<double>{4, 4, 4, 4} << QList<double>{5} << QList<double>{4} << false << 0.0;
    QTest::newRow("all zero, errors") << QList<double>{0, 0, 0, 0, 0} << QList<double>{0, 1}
                                      << QList<double>{0, 0} << false << 0.0;
    QTest::newRow("one training point")
        << QList<double>{3} << QList<double>{3} << QList<double>{3} << false << 0.0;
    QTest::newRow("no points to score")
        << QList<double>{1, 2, 3} << QList<double>{} << QList<double>{} << false << 0.0;
}

void TestAccuracy::maseZeroScale() {
    QFETCH(QList<double>, training);
    QFETCH(QList<double>, actual);
    QFETCH(QList<double>, forecast);
    QFETCH(bool, available);
    QFETCH(double, expected);
    const MaseScore score = mase(toVector(actual), toVector(forecast), toVector(training), 2);
    QCOMPARE(score.available, available);
    QVERIFY(std::isfinite(score.value));
    QCOMPARE(score.value, expected);
}

void TestAccuracy::errorAccumulatorMatchesBatchFunctions() {
    const std::vector<double> actual = {0, 3, 8, 2, 0, 11};
    const std::vector<double> forecast = {1, 3, 6, 0, 0, 9.5};
    ErrorAccumulator errors;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        errors.add(actual[i], forecast[i]);
    }
    QCOMPARE(errors.count(), actual.size());
    QVERIFY(std::abs(errors.smape() - smape(actual, forecast)) < 1e-12);
    QVERIFY(std::abs(errors.meanAbsoluteError() - (1 + 0 + 2 + 2 + 0 + 1.5) / 6.0) < 1e-12);
    errors.clear();
    QCOMPARE(errors.count(), std::size_t(0));
    QCOMPARE(errors.smape(), 0.0);
    QCOMPARE(errors.meanAbsoluteError(), 0.0);
}

void TestAccuracy::weightedAggregate_data() {
    QTest::addColumn<QList<double>>("values");
    QTest::addColumn<QList<double>>("weights");
    QTest::addColumn<double>("expected");
    QTest::newRow("volume weighted") << QList<double>{1, 2} << QList<double>{1, 3} << 1.75;
    QTest::newRow("equal weights") << QList<double>{0.5, 1.5, 1.0} << QList<double>{2, 2, 2} << 1.0;
    QTest::newRow("zero weight ignored") << QList<double>{9, 2} << QList<double>{0, 5} << 2.0;
    QTest::newRow("negative weight ignored") << QList<double>{9, 2} << QList<double>{-1, 5} << 2.0;
    QTest::newRow("all zero weights") << QList<double>{1, 2} << QList<double>{0, 0} << 0.0;
    QTest::newRow("empty") << QList<double>{} << QList<double>{} << 0.0;
}

void TestAccuracy::weightedAggregate() {
    QFETCH(QList<double>, values);
    QFETCH(QList<double>, weights);
    QFETCH(double, expected);
    QVERIFY(std::abs(weightedAverage(toVector(values), toVector(weights)) - expected) < 1e-12);
}

void TestAccuracy::weightedAverageSkipsUnavailable() {
    WeightedAverage average;
    QVERIFY(average.empty());
    average.add(1.0, 100.0);
    average.add(50.0, 1000.0, /*available=*/false);
    average.add(std::nan(""), 10.0);
    average.add(3.0, std::numeric_limits<double>::infinity());
    average.add(3.0, 100.0);
    QVERIFY(!average.empty());
    QCOMPARE(average.count(), std::size_t(2));
    QCOMPARE(average.skipped(), std::size_t(3));
    QCOMPARE(average.totalWeight(), 200.0);
    QCOMPARE(average.value(), 2.0);
}

QTEST_APPLESS_MAIN(TestAccuracy)
#include "tst_accuracy.moc"
