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

QTEST_APPLESS_MAIN(TestHeatmapGrid)
#include "tst_heatmap_grid.moc"
