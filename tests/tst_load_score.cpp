#include "load_score.h"

#include <QtTest>

#include <vector>

using namespace rangepilot;

namespace {

ResourceVector vec(double ops, double network = 0.0, double serviceTime = 0.0) {
    ResourceVector v;
    v[Resource::Ops] = ops;
    v[Resource::NetworkBytes] = network;
    v[Resource::ServiceTime] = serviceTime;
    return v;
}

} // namespace

class TestLoadScore : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void scoreIsTheWeightedBottleneck_data();
    void scoreIsTheWeightedBottleneck();
    void bottleneckNamesTheResource();
    void peakScoreFindsTheStep();
    void firstStepAboveThreshold();
    void peakWithoutAPart();
    void unexplainedUsageIsClampedAtZero();
};

void TestLoadScore::scoreIsTheWeightedBottleneck_data() {
    QTest::addColumn<double>("ops");
    QTest::addColumn<double>("network");
    QTest::addColumn<double>("service");
    QTest::addColumn<double>("networkWeight");
    QTest::addColumn<double>("expected");
    // capacity: 1,000 ops/s, 100 MB/s network, 4 requests in service (4e6 µs/s)
    QTest::newRow("ops decides") << 900.0 << 10e6 << 1e6 << 1.0 << 0.9;
    QTest::newRow("network decides") << 100.0 << 95e6 << 1e6 << 1.0 << 0.95;
    QTest::newRow("network discounted") << 100.0 << 95e6 << 1e6 << 0.5 << 0.475;
    QTest::newRow("service time decides") << 100.0 << 0.0 << 6e6 << 1.0 << 1.5;
    QTest::newRow("idle") << 0.0 << 0.0 << 0.0 << 1.0 << 0.0;
}

void TestLoadScore::scoreIsTheWeightedBottleneck() {
    QFETCH(double, ops);
    QFETCH(double, network);
    QFETCH(double, service);
    QFETCH(double, networkWeight);
    QFETCH(double, expected);
    const ResourceVector capacity = vec(1000.0, 100e6, 4e6);
    ScoreWeights weights;
    weights.weight[Resource::NetworkBytes] = networkWeight;
    QCOMPARE(weightedUtilization(vec(ops, network, service), capacity, weights), expected);
}

void TestLoadScore::bottleneckNamesTheResource() {
    const ResourceVector capacity = vec(1000.0, 100e6);
    QCOMPARE(bottleneckResource(vec(100.0, 90e6), capacity, {}), Resource::NetworkBytes);
    QCOMPARE(bottleneckResource(vec(950.0, 90e6), capacity, {}), Resource::Ops);
    // Memory is huge but its capacity unknown: it cannot be the bottleneck.
    ResourceVector load = vec(10.0);
    load[Resource::Memory] = 1e12;
    QCOMPARE(bottleneckResource(load, capacity, {}), Resource::Ops);
    QCOMPARE(weightedUtilization(load, capacity, {}), 0.01);
}

void TestLoadScore::peakScoreFindsTheStep() {
    const std::vector<ResourceVector> series{vec(100), vec(700), vec(400), vec(700)};
    const PeakScore peak = peakScore(series, vec(1000.0), {});
    QCOMPARE(peak.score, 0.7);
    QCOMPARE(peak.step, std::size_t(1)); // the first of two equal peaks
    QCOMPARE(peakScore({}, vec(1000.0), {}).score, 0.0);
}

void TestLoadScore::firstStepAboveThreshold() {
    const std::vector<ResourceVector> series{vec(100), vec(800), vec(900), vec(700)};
    QCOMPARE(firstStepAbove(series, vec(1000.0), {}, 0.85), std::size_t(2));
    QCOMPARE(firstStepAbove(series, vec(1000.0), {}, 0.75), std::size_t(1));
    QCOMPARE(firstStepAbove(series, vec(1000.0), {}, 0.95), series.size());
}

void TestLoadScore::peakWithoutAPart() {
    const std::vector<ResourceVector> host{vec(10), vec(60), vec(40)};
    const std::vector<ResourceVector> range{vec(15), vec(50), vec(5)};
    // 10 − 15 is rounding residue, not negative load: 0; then 10 and 35.
    QCOMPARE(peakWithout(host, range, vec(100.0), {}), 0.35);
    QCOMPARE(peakWithout(host, std::vector<ResourceVector>(3), vec(100.0), {}), 0.6);
}

void TestLoadScore::unexplainedUsageIsClampedAtZero() {
    const ResourceVector background = unexplainedUsage(vec(500.0, 10e6), vec(350.0, 20e6));
    QCOMPARE(background[Resource::Ops], 150.0);
    QCOMPARE(background[Resource::NetworkBytes], 0.0);
}

QTEST_APPLESS_MAIN(TestLoadScore)
#include "tst_load_score.moc"
