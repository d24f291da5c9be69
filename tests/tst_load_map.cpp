#include "load_map.h"
#include "random.h"

#include <QtTest>

#include <limits>
#include <map>
#include <tuple>

using namespace rangepilot;

namespace {

std::uint64_t nextRandom(std::uint64_t& state) {
    return splitMix64Next(state);
}

KeyCells fourCells() {
    return KeyCells::fromStarts({"", "g", "n", "t"}).value();
}

LoadMapOptions smallOptions(std::size_t fine, std::size_t factor, std::size_t coarse) {
    LoadMapOptions options;
    options.bucket_ms = 1000;
    options.fine_buckets = fine;
    options.rollup_factor = factor;
    options.coarse_buckets = coarse;
    return options;
}

struct Event {
    TimeMs ts;
    CellIndex cell;
    Op op;
    std::uint64_t bytes;
};

} // namespace

class TestLoadMap : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void countsMatchANaiveTally_data();
    void countsMatchANaiveTally();
    void lateEventsInsideTheWindowAreCounted();
    void eventsOlderThanTheWindowAreDropped();
    void rollUpConservesEveryCount();
    void coarseHistoryIsBounded();
    void hugeTimeJumpsStayBounded();
    void seriesSumsCellsAndMetrics();
    void validateRejectsNonsense();
};

void TestLoadMap::countsMatchANaiveTally_data() {
    QTest::addColumn<int>("shuffleWindow");
    QTest::newRow("in order") << 0;
    QTest::newRow("out of order within 20 s") << 20000;
}

// Random events, optionally jittered backwards in time, against a std::map tally.
void TestLoadMap::countsMatchANaiveTally() {
    QFETCH(int, shuffleWindow);
    LoadMap map(fourCells(), smallOptions(1000, 10, 100));
    std::map<std::pair<std::int64_t, CellIndex>, CellLoad> expected;
    std::uint64_t state = 42;
    for (int i = 0; i < 50000; ++i) {
        TimeMs ts = 1'700'000'000'000 + i * 7;
        if (shuffleWindow > 0)
            ts -=
                static_cast<TimeMs>(nextRandom(state) % static_cast<std::uint64_t>(shuffleWindow));
        const auto cell = static_cast<CellIndex>(nextRandom(state) % 4);
        const auto op = static_cast<Op>(nextRandom(state) % kOpCount);
        const std::uint64_t bytes = nextRandom(state) % 5000;
        QVERIFY(map.add(ts, cell, op, bytes, 100));
        CellLoad& load = expected[{floorDiv(ts, 1000), cell}];
        (isWrite(op) ? load.writes : load.reads) += 1;
        load.bytes += bytes;
        load.latency_us += 100;
    }
    QCOMPARE(map.stats().events, std::uint64_t(50000));
    for (std::size_t offset = 0; offset < map.bucketCount(); ++offset) {
        for (CellIndex cell = 0; cell < 4; ++cell) {
            const auto key = std::make_pair(map.firstBucket() + std::int64_t(offset), cell);
            const auto it = expected.find(key);
            const CellLoad want = it == expected.end() ? CellLoad{} : it->second;
            QCOMPARE(map.at(offset, cell), want);
        }
    }
    QCOMPARE(map.firstBucket(), expected.begin()->first.first);
}

void TestLoadMap::lateEventsInsideTheWindowAreCounted() {
    LoadMap map(fourCells(), smallOptions(10, 5, 10));
    QVERIFY(map.add(5000, 0, Op::Get, 0, 0));
    QVERIFY(map.add(1000, 1, Op::Put, 0, 0)); // 4 buckets earlier: prepended
    QCOMPARE(map.firstBucket(), std::int64_t(1));
    QCOMPARE(map.bucketCount(), std::size_t(5));
    QCOMPARE(map.at(0, 1).writes, std::uint64_t(1));
    QCOMPARE(map.at(4, 0).reads, std::uint64_t(1));
    QCOMPARE(map.stats().late_dropped, std::uint64_t(0));
}

void TestLoadMap::eventsOlderThanTheWindowAreDropped() {
    LoadMap map(fourCells(), smallOptions(10, 5, 10));
    QVERIFY(map.add(20'000, 0, Op::Get, 0, 0));
    QVERIFY(map.add(11'000, 0, Op::Get, 0, 0));  // newest - 9: the window's oldest bucket
    QVERIFY(!map.add(10'999, 0, Op::Get, 0, 0)); // newest - 10: outside
    QCOMPARE(map.stats().late_dropped, std::uint64_t(1));
    QCOMPARE(map.stats().events, std::uint64_t(2));
}

void TestLoadMap::rollUpConservesEveryCount() {
    LoadMap map(fourCells(), smallOptions(6, 4, 1000));
    std::uint64_t state = 9;
    std::uint64_t reads = 0;
    for (int second = 0; second < 500; ++second) {
        const int events = static_cast<int>(nextRandom(state) % 5);
        for (int i = 0; i < events; ++i) {
            QVERIFY(map.add(second * 1000 + i, static_cast<CellIndex>(i % 4), Op::Get, 10, 1));
            ++reads;
        }
    }
    std::uint64_t counted = 0;
    for (std::size_t offset = 0; offset < map.bucketCount(); ++offset) {
        for (CellIndex cell = 0; cell < 4; ++cell)
            counted += map.at(offset, cell).reads;
    }
    for (std::size_t offset = 0; offset < map.coarseBucketCount(); ++offset) {
        for (CellIndex cell = 0; cell < 4; ++cell)
            counted += map.coarseAt(offset, cell).reads;
    }
    QCOMPARE(counted, reads);
    QCOMPARE(map.bucketCount(), std::size_t(6));
    // Coarse buckets are aligned to 4 fine buckets and end right where the fine tier begins.
    const std::int64_t coarseEnd =
        (map.firstCoarseBucket() + std::int64_t(map.coarseBucketCount())) * 4;
    QVERIFY(coarseEnd >= map.firstBucket());
    QVERIFY(coarseEnd - 4 < map.firstBucket());
}

void TestLoadMap::coarseHistoryIsBounded() {
    LoadMap map(fourCells(), smallOptions(3, 2, 5));
    for (int second = 0; second < 1000; ++second)
        QVERIFY(map.add(second * 1000, 0, Op::Get, 0, 0));
    QCOMPARE(map.coarseBucketCount(), std::size_t(5));
    QVERIFY(map.stats().expired_coarse_buckets > 0);
    QCOMPARE(map.stats().rolled_up_buckets, std::uint64_t(997));
}

void TestLoadMap::hugeTimeJumpsStayBounded() {
    LoadMap map(fourCells(), smallOptions(2016, 12, 2160));
    QVERIFY(map.add(0, 0, Op::Get, 0, 0));
    QVERIFY(map.add(std::int64_t(1) << 60, 1, Op::Get, 0, 0)); // far future: must not loop
    QCOMPARE(map.bucketCount(), std::size_t(1));
    QVERIFY(map.add(-(std::int64_t(1) << 60), 1, Op::Get, 0, 0) == false);
    QVERIFY(map.coarseBucketCount() <= 2160);
    QVERIFY(!map.add(std::numeric_limits<TimeMs>::max(), 0, Op::Get, 0, 0));
    QVERIFY(!map.add(std::numeric_limits<TimeMs>::min(), 0, Op::Get, 0, 0));
    QVERIFY(!map.add(0, 4, Op::Get, 0, 0)); // no such cell
    QCOMPARE(map.stats().out_of_range, std::uint64_t(3));
}

void TestLoadMap::seriesSumsCellsAndMetrics() {
    LoadMap map(fourCells(), smallOptions(100, 10, 10));
    QVERIFY(map.add(0, 0, Op::Get, 100, 300));
    QVERIFY(map.add(10, 1, Op::Put, 50, 100));
    QVERIFY(map.add(2500, 2, Op::Scan, 7, 50));
    QCOMPARE(map.totalSeries(LoadMetric::Ops), (std::vector<double>{2, 0, 1}));
    QCOMPARE(map.series(0, 2, LoadMetric::Writes), (std::vector<double>{1, 0, 0}));
    QCOMPARE(map.series(0, 2, LoadMetric::Bytes), (std::vector<double>{150, 0, 0}));
    QCOMPARE(map.totalSeries(LoadMetric::MeanLatencyUs), (std::vector<double>{200, 0, 50}));
    QCOMPARE(map.cellTotal(2).reads, std::uint64_t(1));
    QCOMPARE(metricName(LoadMetric::MeanLatencyUs), std::string_view("latency"));
    QCOMPARE(parseMetricName("bytes"), std::optional<LoadMetric>(LoadMetric::Bytes));
    QVERIFY(!parseMetricName("qps").has_value());
}

void TestLoadMap::validateRejectsNonsense() {
    LoadMapOptions options;
    QVERIFY(validate(options).ok());
    options.bucket_ms = 0;
    QVERIFY(validate(options).message().find("bucket width") != std::string::npos);
    options = {};
    options.fine_buckets = 0;
    QVERIFY(!validate(options).ok());
}

QTEST_APPLESS_MAIN(TestLoadMap)
#include "tst_load_map.moc"
