#include "analysis.h"
#include "trace_writer.h"
#include "workload_generator.h"

#include <QtTest>

#include <fstream>
#include <numeric>
#include <sys/stat.h>
#include <thread>

using namespace rangepilot;

namespace {

WorkloadOptions workload(Scenario scenario, double hours, double rate, std::uint64_t seed = 3) {
    WorkloadOptions options;
    options.scenario = scenario;
    options.hours = hours;
    options.rate_eps = rate;
    options.seed = seed;
    options.key_count = 100'000;
    return options;
}

std::uint64_t writeTrace(const WorkloadOptions& options, const std::string& path) {
    auto writer = TraceCsvWriter::open(path);
    if (!writer.ok())
        qFatal("%s", writer.error().message.c_str());
    const auto written = writeWorkloadCsv(options, writer.value());
    if (!written.ok() || !writer->close().ok())
        qFatal("could not write %s", path.c_str());
    return written.value();
}

Result<TraceAnalysis> analyzeFile(const std::string& path, AnalyzeOptions options = {}) {
    auto reader = TraceReader::open(path);
    if (!reader.ok())
        return reader.error();
    return analyzeTrace(reader.value(), options);
}

std::uint64_t sum(const std::vector<std::uint64_t>& values) {
    return std::accumulate(values.begin(), values.end(), std::uint64_t(0));
}

std::uint64_t loadMapOps(const LoadMap& map) {
    std::uint64_t ops = 0;
    for (std::size_t bucket = 0; bucket < map.bucketCount(); ++bucket) {
        for (CellIndex cell = 0; cell < map.cells().size(); ++cell)
            ops += map.at(bucket, cell).ops();
    }
    return ops;
}

} // namespace

class TestAnalysis : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void generatedCountsMatch_data();
    void generatedCountsMatch();
    void pipeAndFileAgree();
    void growingRangeIsReportedGrowing();
    void badLinesAreSkippedAndCounted();
    void rejectsBadOptions();

private:
    QTemporaryDir m_dir;
};

void TestAnalysis::generatedCountsMatch_data() {
    QTest::addColumn<int>("scenario");
    for (const Scenario scenario : allScenarios())
        QTest::newRow(std::string(scenarioName(scenario)).c_str()) << static_cast<int>(scenario);
}

// generate → analyze: every generated event is read, placed in exactly one cell and counted once.
void TestAnalysis::generatedCountsMatch() {
    QFETCH(int, scenario);
    const std::string path = m_dir.filePath(QStringLiteral("counts.csv")).toStdString();
    const auto options = workload(static_cast<Scenario>(scenario), 2, 12);
    const std::uint64_t written = writeTrace(options, path);
    QVERIFY(written > 70'000);

    const auto analysis = analyzeFile(path);
    QVERIFY2(analysis.ok(), analysis.ok() ? "" : analysis.error().message.c_str());
    QCOMPARE(analysis->read.events, written);
    QCOMPARE(analysis->read.bad_lines, std::uint64_t(0));
    QCOMPARE(sum(analysis->cell_events), written);
    QCOMPARE(loadMapOps(*analysis->load_map), written);
    QCOMPARE(analysis->load_map->bucketCount(), std::size_t(24)); // 2 h of 5-minute buckets
    QVERIFY(analysis->load_map->cells().size() > 500);
    QVERIFY(!analysis->top_cells.empty());
    for (std::size_t i = 1; i < analysis->top_cells.size(); ++i)
        QVERIFY(analysis->top_cells[i - 1].events >= analysis->top_cells[i].events);
}

// A pipe cannot be sampled ahead, so its first events are buffered until the cells exist; the
// counts must be the same as reading the file.
void TestAnalysis::pipeAndFileAgree() {
    const std::string path = m_dir.filePath(QStringLiteral("pipe.csv")).toStdString();
    const std::uint64_t written = writeTrace(workload(Scenario::HotspotDrift, 2, 10), path);
    const std::string fifo = m_dir.filePath(QStringLiteral("fifo")).toStdString();
    QCOMPARE(::mkfifo(fifo.c_str(), 0600), 0);

    std::thread feeder([&] {
        std::ifstream in(path, std::ios::binary);
        std::ofstream out(fifo, std::ios::binary);
        out << in.rdbuf();
    });
    auto reader = TraceReader::open(fifo);
    QVERIFY(reader.ok());
    QVERIFY(!reader->seekable());
    AnalyzeOptions options;
    options.key_sample = 5000; // far fewer than the events: buffering ends mid-stream
    const auto fromPipe = analyzeTrace(reader.value(), options);
    feeder.join();
    QVERIFY2(fromPipe.ok(), fromPipe.ok() ? "" : fromPipe.error().message.c_str());
    QCOMPARE(fromPipe->read.events, written);
    QCOMPARE(sum(fromPipe->cell_events), written);
    QCOMPARE(loadMapOps(*fromPipe->load_map), written);
    QVERIFY(QString::fromStdString(fromPipe->cells_from).contains(QStringLiteral("first")));

    const auto fromFile = analyzeFile(path);
    QVERIFY(fromFile.ok());
    QCOMPARE(fromFile->load_map->totalSeries(LoadMetric::Ops),
             fromPipe->load_map->totalSeries(LoadMetric::Ops));
}

// Three days of a range whose share grows every day: the analyzer must name it.
void TestAnalysis::growingRangeIsReportedGrowing() {
    const std::string path = m_dir.filePath(QStringLiteral("growth.csv")).toStdString();
    const auto options = workload(Scenario::Growth, 72, 4);
    writeTrace(options, path);
    AnalyzeOptions analyzeOptions;
    analyzeOptions.cells = 64;
    const auto analysis = analyzeFile(path, analyzeOptions);
    QVERIFY(analysis.ok());
    QVERIFY(!analysis->growing.empty());

    WorkloadGenerator truth(options);
    const auto special = truth.specialRangeAt(truth.endMs() - 1);
    QVERIFY(special.has_value());
    const std::string growingStart = truth.keyAt(truth.keyIndexAt(special->start));
    const std::string growingEnd = truth.keyAt(truth.keyIndexAt(special->start + special->width));
    const CellReport& fastest = analysis->growing.front();
    // The fastest-growing cell overlaps the scenario's growing range.
    QVERIFY2(fastest.range.start < growingEnd &&
                 (fastest.range.unboundedAbove() || growingStart < fastest.range.end),
             formatKeyRange(fastest.range).c_str());
    QCOMPARE(fastest.trend.direction, TrendDirection::Growing);
}

void TestAnalysis::badLinesAreSkippedAndCounted() {
    const std::string path = m_dir.filePath(QStringLiteral("bad.csv")).toStdString();
    {
        std::ofstream out(path);
        out << "ts,key,op\n1000,a,get\nnot-a-time,b,get\n2000,c,frobnicate\n3000,d,put\n";
    }
    std::vector<std::uint64_t> lines;
    auto reader = TraceReader::open(path);
    QVERIFY(reader.ok());
    const auto analysis = analyzeTrace(reader.value(), AnalyzeOptions{},
                                       [&](const BadLine& bad) { lines.push_back(bad.line); });
    QVERIFY(analysis.ok());
    QCOMPARE(analysis->read.events, std::uint64_t(2));
    QCOMPARE(analysis->read.bad_lines, std::uint64_t(2));
    QCOMPARE(lines, (std::vector<std::uint64_t>{3, 4}));
}

void TestAnalysis::rejectsBadOptions() {
    AnalyzeOptions options;
    options.cells = 0;
    QVERIFY(!validate(options).ok());
    options = {};
    options.load_map.bucket_ms = 0;
    const std::string path = m_dir.filePath(QStringLiteral("options.csv")).toStdString();
    std::ofstream(path) << "ts,key\n1000,a\n";
    auto reader = TraceReader::open(path);
    QVERIFY(reader.ok());
    const auto analysis = analyzeTrace(reader.value(), options);
    QVERIFY(!analysis.ok());
    QVERIFY(QString::fromStdString(analysis.error().message).contains(QStringLiteral("bucket")));
}

QTEST_APPLESS_MAIN(TestAnalysis)
#include "tst_analysis.moc"
