#include "models/heatmap_grid.h"
#include "trace_reader.h"
#include "workload_generator.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

using namespace rangepilot;

namespace {

constexpr TimeMs kMinute = kMsPerMinute;

LoadMap readIntoLoadMap(const std::string& path, const KeyCells& cells) {
    LoadMapOptions options;
    options.bucket_ms = kMinute;
    LoadMap map(cells, options);
    TraceReader reader = TraceReader::open(path).value();
    const auto summary = reader.read([&](const TraceEvent& event) { map.add(event); });
    if (!summary)
        qFatal("%s", summary.error().message.c_str());
    return map;
}

} // namespace

class TestHeatmapGrid : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void observedColumnsAreTheLoadMapsRates_data();
    void observedColumnsAreTheLoadMapsRates();
    void projectedColumnsFollowNow();
    void generatedTraceMatchesAnIndependentCount();
    void partlyCoveredBucketsShowTheirRateSoFar_data();
    void partlyCoveredBucketsShowTheirRateSoFar();
    void nowIsTheNewestCountsNotTheBucketEnd();
    void quietBucketsUpToNowAreZero();
    void defaultViewShowsAsMuchProjectionAsHistory_data();
    void defaultViewShowsAsMuchProjectionAsHistory();
};

void TestHeatmapGrid::observedColumnsAreTheLoadMapsRates_data() {
    QTest::addColumn<int>("metric");
    QTest::addColumn<std::size_t>("column");
    QTest::addColumn<std::size_t>("row");
    QTest::addColumn<double>("expected");
    // Minute 1: one get in cell 2 with 500 µs; minute 2: one put of 300 bytes in cell 0.
    QTest::newRow("ops, minute 1, cell 2")
        << int(LoadMetric::Ops) << std::size_t(0) << std::size_t(2) << 1.0 / 60.0;
    QTest::newRow("ops, minute 1, cell 0")
        << int(LoadMetric::Ops) << std::size_t(0) << std::size_t(0) << 0.0;
    QTest::newRow("writes, minute 2, cell 0")
        << int(LoadMetric::Writes) << std::size_t(1) << std::size_t(0) << 1.0 / 60.0;
    QTest::newRow("reads, minute 2, cell 0")
        << int(LoadMetric::Reads) << std::size_t(1) << std::size_t(0) << 0.0;
    QTest::newRow("bytes, minute 2, cell 0")
        << int(LoadMetric::Bytes) << std::size_t(1) << std::size_t(0) << 300.0 / 60.0;
    QTest::newRow("latency is a mean, not a rate")
        << int(LoadMetric::MeanLatencyUs) << std::size_t(0) << std::size_t(2) << 500.0;
}

void TestHeatmapGrid::observedColumnsAreTheLoadMapsRates() {
    QFETCH(int, metric);
    QFETCH(std::size_t, column);
    QFETCH(std::size_t, row);
    QFETCH(double, expected);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath(QStringLiteral("known.csv")).toStdString();
    {
        std::ofstream out(path);
        out << "ts,key,op,bytes,latency_us\n"
            << "1767571200000,k1,get,10,100\n"  // minute 0, cell 0
            << "1767571210000,k3,put,100,200\n" // minute 0, cell 1
            << "1767571230000,k3,get,10,100\n"  // minute 0, cell 1
            << "1767571265000,k6,get,0,500\n"   // minute 1, cell 2
            << "1767571325000,k1,put,300,50\n"; // minute 2, cell 0
    }
    const KeyCells cells = KeyCells::fromStarts({"", "k2", "k5"}).value();
    const LoadMap map = readIntoLoadMap(path, cells);
    // The newest two minutes only.
    const HeatmapGrid grid = buildHeatmap(map, static_cast<LoadMetric>(metric), 2);
    QCOMPARE(grid.rows, std::size_t(3));
    QCOMPARE(grid.columns, std::size_t(2));
    QCOMPARE(grid.observed_columns, std::size_t(2));
    QCOMPARE(grid.column_ms, kMinute);
    QCOMPARE(grid.start_ms, 1767571200000 + kMinute);
    QCOMPARE(grid.nowMs(), 1767571200000 + 3 * kMinute);
    QCOMPARE(grid.at(column, row), expected);
}

void TestHeatmapGrid::projectedColumnsFollowNow() {
    const KeyCells cells = KeyCells::fromStarts({"", "k5"}).value();
    LoadMapOptions options;
    options.bucket_ms = kMinute;
    LoadMap map(cells, options);
    map.add(1767571200000, 0, Op::Get, 0, 0);
    // Two projected steps of two minutes: four projected columns.
    CellProjection projection(2, 2, 1767571200000 + kMinute, 2 * kMinute);
    projection.setRate(0, 0, Resource::Ops, 5.0);
    projection.setRate(0, 1, Resource::Ops, 7.0);
    projection.setRate(1, 1, Resource::Ops, 3.0);
    const HeatmapGrid grid = buildHeatmap(map, LoadMetric::Ops, 10, &projection);
    QCOMPARE(grid.observed_columns, std::size_t(1)); // the map holds one minute
    QCOMPARE(grid.columns, std::size_t(5));
    QCOMPARE(grid.at(0, 0), 1.0 / 60.0);
    QCOMPARE(grid.at(1, 0), 5.0);
    QCOMPARE(grid.at(2, 0), 5.0);
    QCOMPARE(grid.at(3, 0), 7.0);
    QCOMPARE(grid.at(4, 1), 3.0);
    QCOMPARE(grid.at(2, 1), 0.0);
    // Reads are not projected: the future is blank, not zero.
    const HeatmapGrid reads = buildHeatmap(map, LoadMetric::Reads, 10, &projection);
    QVERIFY(std::isnan(reads.at(1, 0)));
    QCOMPARE(reads.at(0, 0), 1.0 / 60.0);
    // A projection for other cells is ignored.
    CellProjection otherCells(3, 2, 1767571200000 + kMinute, 2 * kMinute);
    QCOMPARE(buildHeatmap(map, LoadMetric::Ops, 10, &otherCells).columns, std::size_t(1));
}

void TestHeatmapGrid::generatedTraceMatchesAnIndependentCount() {
    WorkloadOptions workload;
    workload.scenario = Scenario::HotspotDrift;
    workload.rate_eps = 200;
    workload.start_ms = 1767571200000;
    workload.hours = 0.5;
    WorkloadGenerator generator(workload);
    std::vector<Key> starts{""};
    for (int i = 1; i < 64; ++i) { // 64 equal slices of the generator's 10-digit user keys
        char key[32];
        std::snprintf(key, sizeof key, "user%010d", i * 15'625);
        starts.emplace_back(key);
    }
    const KeyCells cells = KeyCells::fromStarts(starts).value();
    LoadMapOptions options;
    options.bucket_ms = kMinute;
    LoadMap map(cells, options);
    std::map<std::pair<TimeMs, CellIndex>, double> counted;
    TraceEvent event;
    while (generator.next(event)) {
        map.add(event);
        counted[{floorDiv(event.ts_ms, kMinute), cells.cellOf(event.key)}] += 1.0;
    }
    QVERIFY(counted.size() > 30 * 10);
    const HeatmapGrid grid = buildHeatmap(map, LoadMetric::Ops, 30);
    QCOMPARE(grid.columns, std::size_t(30));
    for (std::size_t column = 0; column < grid.columns; ++column) {
        const TimeMs bucket = floorDiv(grid.start_ms, kMinute) + static_cast<TimeMs>(column);
        for (std::size_t row = 0; row < grid.rows; ++row) {
            const auto found = counted.find({bucket, static_cast<CellIndex>(row)});
            const double expected = found == counted.end() ? 0.0 : found->second / 60.0;
            QCOMPARE(grid.at(column, row), expected);
        }
    }
}

void TestHeatmapGrid::partlyCoveredBucketsShowTheirRateSoFar_data() {
    QTest::addColumn<TimeMs>("from");          // ObservedSpan::from_ms, after the base minute
    QTest::addColumn<TimeMs>("currentFrom");   // ObservedSpan::current_from_ms
    QTest::addColumn<TimeMs>("to");            // ObservedSpan::to_ms
    QTest::addColumn<double>("firstSeconds");  // what the first column's 60 counts are over
    QTest::addColumn<double>("newestSeconds"); // what the newest column's 60 counts are over
    // A live cluster connected 45 s into minute 0; now is 15 s into minute 2.
    QTest::newRow("connected mid-bucket")
        << TimeMs{45'000} << TimeMs{120'000} << TimeMs{135'000} << 15.0 << 15.0;
    // Rounds of 5 s, one straddling minute 2's start: its counts landed in minute 2.
    QTest::newRow("a round straddles the boundary")
        << TimeMs{0} << TimeMs{118'000} << TimeMs{128'000} << 60.0 << 10.0;
    // Whole buckets: every column is divided by its width, as without a span.
    QTest::newRow("whole buckets")
        << TimeMs{0} << TimeMs{120'000} << TimeMs{180'000} << 60.0 << 60.0;
}

void TestHeatmapGrid::partlyCoveredBucketsShowTheirRateSoFar() {
    QFETCH(TimeMs, from);
    QFETCH(TimeMs, currentFrom);
    QFETCH(TimeMs, to);
    QFETCH(double, firstSeconds);
    QFETCH(double, newestSeconds);
    constexpr TimeMs base = 1767571200000;
    const KeyCells cells = KeyCells::fromStarts({""}).value();
    LoadMapOptions options;
    options.bucket_ms = kMinute;
    LoadMap map(cells, options);
    for (const TimeMs minute : {0, 1, 2})
        map.addCounts(base + minute * kMinute + 59'000, 0, CellLoad{60, 0, 0, 0});
    const HeatmapGrid whole = buildHeatmap(map, LoadMetric::Ops, 3);
    const HeatmapGrid grid = buildHeatmap(map, LoadMetric::Ops, 3, nullptr,
                                          ObservedSpan{base + from, base + to, base + currentFrom});
    QCOMPARE(grid.columns, std::size_t(3));
    QCOMPARE(whole.at(0, 0), 1.0);
    QCOMPARE(whole.at(2, 0), 1.0);
    QCOMPARE(grid.at(0, 0), 60.0 / firstSeconds);
    QCOMPARE(grid.at(1, 0), 1.0); // a bucket in the middle is covered whole
    QCOMPARE(grid.at(2, 0), 60.0 / newestSeconds);
}

// A live cluster's rounds are seconds and its buckets minutes: now (the end of the newest counts,
// what the status bar's cluster time says) is inside the bucket in progress, not at its end.
void TestHeatmapGrid::nowIsTheNewestCountsNotTheBucketEnd() {
    constexpr TimeMs base = 1767571200000;
    constexpr TimeMs bucket = 5 * kMinute;
    const KeyCells cells = KeyCells::fromStarts({"", "k5"}).value();
    LoadMap map(cells);                              // 5-minute buckets
    const TimeMs now = base + 35 * kMinute + 20'000; // 13:35:20 in the picture's terms
    map.addCounts(now - 1, 0, CellLoad{300, 0, 0, 0});
    // The planner's projection starts at the round's end, now: 12 steps of 5 minutes.
    CellProjection projection(2, 12, now, bucket);
    for (std::size_t step = 0; step < 12; ++step)
        projection.setRate(0, step, Resource::Ops, 10.0 + static_cast<double>(step));
    const ObservedSpan span{now - 20'000, now, now - 20'000};
    const HeatmapGrid grid = buildHeatmap(map, LoadMetric::Ops, 288, &projection, span);

    QCOMPARE(grid.observed_columns, std::size_t(1));
    QCOMPARE(grid.start_ms, base + 35 * kMinute);
    QCOMPARE(grid.observedEndMs(), base + 40 * kMinute);
    QCOMPARE(grid.nowMs(), now); // not 13:40, where the bucket ends
    QCOMPARE(grid.at(0, 0), 300.0 / 20.0);
    // The projected columns start at the bucket's end and reach the projection's horizon
    // (now + 1 h), each showing the step its middle falls in.
    QCOMPARE(grid.endMs(), base + 40 * kMinute + 12 * bucket);
    QCOMPARE(grid.columns, std::size_t(13));
    QCOMPARE(grid.at(1, 0), 11.0);  // 13:42:30 is in step 1 (13:40:20 - 13:45:20)
    QCOMPARE(grid.at(2, 0), 12.0);  // 13:47:30 in step 2
    QCOMPARE(grid.at(12, 0), 21.0); // 14:37:30 is past the horizon: the last step
    // Without a span (a trace read whole) now is where the observed columns end.
    const HeatmapGrid whole = buildHeatmap(map, LoadMetric::Ops, 288, &projection);
    QCOMPARE(whole.nowMs(), whole.observedEndMs());
}

// The load stopped two buckets ago while the rounds went on: the grid still reaches now, with
// zeros where nothing was counted, so its now line keeps up with the cluster's clock.
void TestHeatmapGrid::quietBucketsUpToNowAreZero() {
    constexpr TimeMs base = 1767571200000;
    const KeyCells cells = KeyCells::fromStarts({""}).value();
    LoadMap map(cells);
    map.addCounts(base + 60'000, 0, CellLoad{600, 0, 0, 0});
    const TimeMs now = base + 12 * kMinute;
    const ObservedSpan span{base, now, base + 10 * kMinute};
    const HeatmapGrid grid = buildHeatmap(map, LoadMetric::Ops, 288, nullptr, span);
    QCOMPARE(newestBucket(map, span), floorDiv(base, 5 * kMinute) + 2);
    QCOMPARE(grid.observed_columns, std::size_t(3));
    QCOMPARE(grid.nowMs(), now);
    QCOMPARE(grid.at(0, 0), 2.0);
    QCOMPARE(grid.at(1, 0), 0.0);
    QCOMPARE(grid.at(2, 0), 0.0);
    // At most the columns asked for, the newest ones.
    const HeatmapGrid newest = buildHeatmap(map, LoadMetric::Ops, 2, nullptr, span);
    QCOMPARE(newest.observed_columns, std::size_t(2));
    QCOMPARE(newest.start_ms, base + 5 * kMinute);
}

void TestHeatmapGrid::defaultViewShowsAsMuchProjectionAsHistory_data() {
    QTest::addColumn<int>("observedColumns");
    QTest::addColumn<int>("projectedColumns");
    QTest::addColumn<TimeMs>("nowIntoNewest"); // ms into the newest observed column
    QTest::addColumn<int>("shownColumns");     // columns the default view spans
    // A live cluster after a minute: its bucket and the shortest projection (2 columns).
    QTest::newRow("live, 1 minute") << 1 << 12 << TimeMs{kMinute} << 3;
    // After 5.5 minutes (13:30 - 13:35:30): still the two columns past the observed ones.
    QTest::newRow("live, 5 minutes") << 2 << 12 << TimeMs{30'000} << 4;
    // After 30 minutes: 30 more; after 32, 32 more rounded up to the column boundary.
    QTest::newRow("live, half an hour") << 7 << 12 << TimeMs{0} << 12;
    QTest::newRow("live, half an hour and a bit") << 7 << 12 << TimeMs{2 * kMinute} << 13;
    // After an hour and more the projection's horizon caps it: the whole grid.
    QTest::newRow("live, 2 hours") << 24 << 12 << TimeMs{kMinute} << 36;
    // The simulated cluster and trace replays: a day observed, everything shown, as before.
    QTest::newRow("a day of history") << 288 << 12 << TimeMs{3 * kMinute} << 300;
    // Nothing projected: the observed columns.
    QTest::newRow("no projection") << 5 << 0 << TimeMs{kMinute} << 5;
}

void TestHeatmapGrid::defaultViewShowsAsMuchProjectionAsHistory() {
    QFETCH(int, observedColumns);
    QFETCH(int, projectedColumns);
    QFETCH(TimeMs, nowIntoNewest);
    QFETCH(int, shownColumns);
    constexpr TimeMs column = 5 * kMinute;
    HeatmapGrid grid;
    grid.start_ms = 1767571200000 + 13 * kMsPerHour + 30 * kMinute;
    grid.column_ms = column;
    grid.observed_columns = static_cast<std::size_t>(observedColumns);
    grid.columns = static_cast<std::size_t>(observedColumns + projectedColumns);
    grid.rows = 1;
    grid.values.assign(grid.columns, 1.0);
    grid.now_ms = grid.start_ms + (observedColumns - 1) * column + nowIntoNewest;
    const TimeSpanMs span = defaultViewSpan(grid);
    QCOMPARE(span.from_ms, grid.start_ms);
    QCOMPARE(span.to_ms, grid.start_ms + shownColumns * column);
    QVERIFY(span.to_ms <= grid.endMs());
    QVERIFY(span.to_ms > grid.nowMs());
}

QTEST_APPLESS_MAIN(TestHeatmapGrid)
#include "tst_heatmap_grid.moc"
