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

std::uint64_t sumOps(const LoadMap& map, bool coarse) {
    std::uint64_t ops = 0;
    const std::size_t rows = coarse ? map.coarseBucketCount() : map.bucketCount();
    for (std::size_t offset = 0; offset < rows; ++offset) {
        for (CellIndex cell = 0; cell < map.cells().size(); ++cell)
            ops += (coarse ? map.coarseAt(offset, cell) : map.at(offset, cell)).ops();
    }
    return ops;
}

QString describe(const LoadMapStats& stats) {
    return QStringLiteral("events %1 late %2 out %3 rolled %4 expired %5")
        .arg(stats.events)
        .arg(stats.late_dropped)
        .arg(stats.out_of_range)
        .arg(stats.rolled_up_events)
        .arg(stats.expired_events);
}

// Empty when both maps hold the same: tiers, every counter, stats; else the first difference.
QString differences(const LoadMap& expected, const LoadMap& actual) {
    if (!(expected.stats() == actual.stats()))
        return QStringLiteral("stats: %1 vs %2")
            .arg(describe(expected.stats()), describe(actual.stats()));
    if (expected.firstBucket() != actual.firstBucket() ||
        expected.bucketCount() != actual.bucketCount())
        return QStringLiteral("fine tier: %1+%2 vs %3+%4")
            .arg(expected.firstBucket())
            .arg(expected.bucketCount())
            .arg(actual.firstBucket())
            .arg(actual.bucketCount());
    if (expected.firstCoarseBucket() != actual.firstCoarseBucket() ||
        expected.coarseBucketCount() != actual.coarseBucketCount())
        return QStringLiteral("coarse tier: %1+%2 vs %3+%4")
            .arg(expected.firstCoarseBucket())
            .arg(expected.coarseBucketCount())
            .arg(actual.firstCoarseBucket())
            .arg(actual.coarseBucketCount());
    for (CellIndex cell = 0; cell < expected.cells().size(); ++cell) {
        for (std::size_t offset = 0; offset < expected.bucketCount(); ++offset) {
            if (!(expected.at(offset, cell) == actual.at(offset, cell)))
                return QStringLiteral("fine bucket %1, cell %2").arg(offset).arg(cell);
        }
        for (std::size_t offset = 0; offset < expected.coarseBucketCount(); ++offset) {
            if (!(expected.coarseAt(offset, cell) == actual.coarseAt(offset, cell)))
                return QStringLiteral("coarse bucket %1, cell %2").arg(offset).arg(cell);
        }
    }
    return QString();
}

// Every counted event is in the fine tier, the coarse tier or counted as expired.
bool conservesEvents(const LoadMap& map) {
    const LoadMapStats& stats = map.stats();
    return sumOps(map, false) == stats.events - stats.rolled_up_events &&
           sumOps(map, true) == stats.rolled_up_events - stats.expired_events;
}

// A stream of `count` events: time mostly advancing by `step` ms, jittered back by up to
// `jitter` ms, with a jump of `gap` ms every `gapEvery` events (0: never).
std::vector<Event> stream(std::uint64_t seed, int count, TimeMs step, TimeMs jitter, TimeMs gap,
                          int gapEvery) {
    std::vector<Event> events;
    std::uint64_t state = seed;
    TimeMs now = 1'700'000'000'000;
    for (int i = 0; i < count; ++i) {
        now += step;
        if (gapEvery > 0 && i % gapEvery == gapEvery - 1)
            now += gap;
        const TimeMs back =
            jitter > 0 ? static_cast<TimeMs>(nextRandom(state) % static_cast<std::uint64_t>(jitter))
                       : 0;
        events.push_back({now - back, static_cast<CellIndex>(nextRandom(state) % 4),
                          static_cast<Op>(nextRandom(state) % kOpCount), nextRandom(state) % 1000});
    }
    return events;
}

void addAll(LoadMap& map, const std::vector<Event>& events, std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i)
        map.add(events[i].ts, events[i].cell, events[i].op, events[i].bytes, 7);
}

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
    void orderInsideTheWindowDoesNotMatter();
    void mergeOfPartsEqualsTheWhole_data();
    void mergeOfPartsEqualsTheWhole();
    void mergeOfOlderDataKeepsItsHistory();
    void mergeRefusesOtherCellsOrOptions();
    void aggregatesCountAsTheirEvents();
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
    int lastSecond = 0;
    for (int second = 0; second < 500; ++second) {
        const int events = static_cast<int>(nextRandom(state) % 5);
        if (events > 0)
            lastSecond = second;
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
    QCOMPARE(map.stats().expired_events, std::uint64_t(0));
    QVERIFY(conservesEvents(map));
    // The window is the newest 6 buckets; the tier starts at the oldest of them with load.
    QVERIFY(map.bucketCount() <= 6);
    QCOMPARE(map.firstBucket() + std::int64_t(map.bucketCount()), std::int64_t(lastSecond + 1));
    QVERIFY(map.at(0, 0).ops() > 0);
    QVERIFY(map.at(map.bucketCount() - 1, 0).ops() > 0);
    // Coarse buckets are aligned to 4 fine buckets and end before the fine tier begins.
    const std::int64_t coarseEnd =
        (map.firstCoarseBucket() + std::int64_t(map.coarseBucketCount())) * 4;
    QVERIFY(coarseEnd - 4 < map.firstBucket());
    QVERIFY(coarseEnd >= lastSecond - 6 - 4);
}

void TestLoadMap::coarseHistoryIsBounded() {
    LoadMap map(fourCells(), smallOptions(3, 2, 5));
    for (int second = 0; second < 1000; ++second)
        QVERIFY(map.add(second * 1000, 0, Op::Get, 0, 0));
    QCOMPARE(map.coarseBucketCount(), std::size_t(5));
    QCOMPARE(map.firstCoarseBucket(), std::int64_t(494));
    // 997 one-event buckets (0..996) left the window, into coarse buckets 0..498 of which the
    // newest 5 are kept: 494..497 with two events each, 498 with one.
    QCOMPARE(map.stats().rolled_up_events, std::uint64_t(997));
    QCOMPARE(map.stats().expired_events, std::uint64_t(997 - 9));
    QVERIFY(conservesEvents(map));
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
    QCOMPARE(map.stats().rolled_up_events, std::uint64_t(1));
    QVERIFY(conservesEvents(map));
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

// The map depends on which events it counted, not on the order they came in (within the window).
void TestLoadMap::orderInsideTheWindowDoesNotMatter() {
    const LoadMapOptions options = smallOptions(20, 3, 6);
    // Events up to 15 s early in a 20 s window, against the same events sorted by time.
    std::vector<Event> events = stream(5, 20000, 40, 15'000, 30'000, 997);
    std::vector<Event> sorted = events;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Event& a, const Event& b) { return a.ts < b.ts; });
    QVERIFY(sorted.front().ts != events.front().ts);
    LoadMap inOrder(fourCells(), options);
    addAll(inOrder, sorted, 0, sorted.size());
    LoadMap shuffled(fourCells(), options);
    addAll(shuffled, events, 0, events.size());
    QCOMPARE(shuffled.stats().late_dropped, std::uint64_t(0));
    QVERIFY(inOrder.stats().rolled_up_events > 0);
    QVERIFY(inOrder.stats().expired_events > 0);
    const QString difference = differences(inOrder, shuffled);
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
    QVERIFY(conservesEvents(shuffled));
}

void TestLoadMap::mergeOfPartsEqualsTheWhole_data() {
    QTest::addColumn<int>("count");
    QTest::addColumn<qint64>("step");   // ms between events
    QTest::addColumn<qint64>("jitter"); // ms an event may be early
    QTest::addColumn<qint64>("gap");    // ms of silence every gapEvery events
    QTest::addColumn<int>("gapEvery");
    QTest::addColumn<int>("fine");
    QTest::addColumn<int>("coarse");
    QTest::newRow("shorter than the window")
        << 2000 << qint64(3) << qint64(0) << qint64(0) << 0 << 100 << 10;
    QTest::newRow("many windows, roll-ups and expiry")
        << 20000 << qint64(50) << qint64(0) << qint64(0) << 0 << 12 << 8;
    QTest::newRow("disordered within the window")
        << 20000 << qint64(50) << qint64(8000) << qint64(0) << 0 << 12 << 8;
    QTest::newRow("gaps of a few windows")
        << 20000 << qint64(20) << qint64(3000) << qint64(45'000) << 501 << 12 << 8;
    QTest::newRow("gaps longer than the coarse history")
        << 20000 << qint64(20) << qint64(0) << qint64(500'000) << 1500 << 12 << 8;
    QTest::newRow("huge gaps") << 5000 << qint64(100) << qint64(0) << qint64(1'000'000'000'000'000)
                               << 999 << 12 << 8;
}

// Maps of consecutive parts of a stream, merged in order, equal the map of the whole stream.
void TestLoadMap::mergeOfPartsEqualsTheWhole() {
    QFETCH(int, count);
    QFETCH(qint64, step);
    QFETCH(qint64, jitter);
    QFETCH(qint64, gap);
    QFETCH(int, gapEvery);
    QFETCH(int, fine);
    QFETCH(int, coarse);
    const LoadMapOptions options =
        smallOptions(static_cast<std::size_t>(fine), 3, static_cast<std::size_t>(coarse));
    const std::vector<Event> events = stream(11, count, step, jitter, gap, gapEvery);
    LoadMap whole(fourCells(), options);
    addAll(whole, events, 0, events.size());
    QCOMPARE(whole.stats().late_dropped, std::uint64_t(0));
    QVERIFY(conservesEvents(whole));

    std::uint64_t state = 3;
    for (int round = 0; round < 40; ++round) {
        // Cut points: a random number of parts (up to 5), some of them empty.
        const std::size_t parts = 2 + nextRandom(state) % 4;
        std::vector<std::size_t> cuts{0, events.size()};
        for (std::size_t i = 1; i < parts; ++i)
            cuts.push_back(nextRandom(state) % (events.size() + 1));
        std::sort(cuts.begin(), cuts.end());
        LoadMap merged(fourCells(), options);
        addAll(merged, events, cuts[0], cuts[1]);
        for (std::size_t i = 1; i + 1 < cuts.size(); ++i) {
            LoadMap part(fourCells(), options);
            addAll(part, events, cuts[i], cuts[i + 1]);
            QVERIFY(merged.merge(part).ok());
        }
        const QString difference = differences(whole, merged);
        QVERIFY2(
            difference.isEmpty(),
            qPrintable(
                QStringLiteral("round %1, %2 parts: %3").arg(round).arg(parts).arg(difference)));
    }
}

// A later map that holds older data (a stream disordered by more than the window): its fine rows
// older than the merged window are dropped as late, as add() would; its coarse history lands in
// its coarse buckets, before the ones already there, or expires.
void TestLoadMap::mergeOfOlderDataKeepsItsHistory() {
    const LoadMapOptions options = smallOptions(5, 2, 10);
    LoadMap newer(fourCells(), options);
    for (int second = 100; second < 120; ++second)
        QVERIFY(newer.add(second * 1000, 0, Op::Get, 1, 1));
    QCOMPARE(newer.firstCoarseBucket(), std::int64_t(50)); // buckets 100..114 rolled up
    LoadMap older(fourCells(), options);
    for (int second = 80; second < 100; ++second)
        QVERIFY(older.add(second * 1000, 1, Op::Put, 1, 1));
    QCOMPARE(older.firstCoarseBucket(), std::int64_t(40)); // buckets 80..94: coarse 40..47
    QCOMPARE(older.bucketCount(), std::size_t(5));

    QVERIFY(newer.merge(older).ok());
    const LoadMapStats& stats = newer.stats();
    QCOMPARE(stats.late_dropped, std::uint64_t(5)); // older's fine buckets 95..99
    QCOMPARE(stats.events, std::uint64_t(35));
    QVERIFY(conservesEvents(newer));
    // Coarse 40..47 from older go before 50..57 from newer; the window of 10 keeps 48..57, so
    // older's history has expired apart from nothing; the empty rows 48..49 are not kept either.
    QCOMPARE(newer.firstCoarseBucket(), std::int64_t(50));
    QCOMPARE(stats.expired_events, std::uint64_t(15));

    // With a longer coarse history the older rows are kept, in their own buckets.
    const LoadMapOptions longer = smallOptions(5, 2, 30);
    LoadMap newer2(fourCells(), longer);
    LoadMap older2(fourCells(), longer);
    for (int second = 100; second < 120; ++second)
        QVERIFY(newer2.add(second * 1000, 0, Op::Get, 1, 1));
    for (int second = 80; second < 100; ++second)
        QVERIFY(older2.add(second * 1000, 1, Op::Put, 1, 1));
    QVERIFY(newer2.merge(older2).ok());
    QCOMPARE(newer2.firstCoarseBucket(), std::int64_t(40));
    QCOMPARE(newer2.coarseBucketCount(), std::size_t(18)); // 40..57
    QCOMPARE(newer2.coarseAt(0, 1).writes, std::uint64_t(2));
    QCOMPARE(newer2.coarseAt(0, 0).reads, std::uint64_t(0));
    QCOMPARE(newer2.coarseAt(8, 1).writes, std::uint64_t(0)); // 48: older's fine rows, dropped
    QCOMPARE(newer2.coarseAt(10, 0).reads, std::uint64_t(2)); // 50: newer's own
    QCOMPARE(newer2.stats().expired_events, std::uint64_t(0));
    QVERIFY(conservesEvents(newer2));
}

void TestLoadMap::mergeRefusesOtherCellsOrOptions() {
    LoadMap map(fourCells(), smallOptions(10, 2, 10));
    QVERIFY(map.add(1000, 0, Op::Get, 0, 0));
    LoadMap otherCells(KeyCells::fromStarts({"", "m"}).value(), smallOptions(10, 2, 10));
    QVERIFY(otherCells.add(1000, 0, Op::Get, 0, 0));
    const Status cells = map.merge(otherCells);
    QVERIFY(!cells.ok());
    QVERIFY(QString::fromStdString(cells.message()).contains(QStringLiteral("key cells")));
    LoadMap otherOptions(fourCells(), smallOptions(10, 3, 10));
    QVERIFY(!map.merge(otherOptions).ok());
    QVERIFY(!map.merge(map).ok());
    QCOMPARE(map.stats().events, std::uint64_t(1)); // unchanged by the refusals
}

// A connector's per-step counts per cell, added with addCounts(), build the same map as the
// events one by one: tiers, roll-ups, expiry and late drops included.
void TestLoadMap::aggregatesCountAsTheirEvents() {
    const LoadMapOptions options = smallOptions(20, 3, 6);
    std::vector<Event> events = stream(9, 20000, 40, 0, 30'000, 997);
    events.push_back({events.front().ts, 1, Op::Put, 5}); // late by then: dropped by both
    LoadMap oneByOne(fourCells(), options);
    addAll(oneByOne, events, 0, events.size());
    LoadMap aggregated(fourCells(), options);
    std::size_t begin = 0;
    while (begin < events.size()) {
        // One step: the events of one second (a bucket), tallied per cell.
        std::size_t end = begin;
        std::vector<CellLoad> counts(4);
        const TimeMs stepStart = floorDiv(events[begin].ts, TimeMs(1000)) * 1000;
        while (end < events.size() && events[end].ts >= stepStart &&
               events[end].ts < stepStart + 1000) {
            CellLoad& load = counts[events[end].cell];
            (isWrite(events[end].op) ? load.writes : load.reads) += 1;
            load.bytes += events[end].bytes;
            load.latency_us += 7;
            ++end;
        }
        for (CellIndex cell = 0; cell < 4; ++cell)
            aggregated.addCounts(events[begin].ts, cell, counts[cell]);
        begin = end;
    }
    QCOMPARE(oneByOne.stats().late_dropped, std::uint64_t(1));
    const QString difference = differences(oneByOne, aggregated);
    QVERIFY2(difference.isEmpty(), qPrintable(difference));
    QVERIFY(aggregated.addCounts(events.back().ts, 2, CellLoad{}));
    QCOMPARE(aggregated.stats().events, oneByOne.stats().events);
}

QTEST_APPLESS_MAIN(TestLoadMap)
#include "tst_load_map.moc"
