#include "analysis.h"
#include "trace_writer.h"
#include "workload_generator.h"

#include <QtTest>

#include <fstream>
#include <numeric>
#include <sstream>
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

std::string describe(const TraceReadSummary& read) {
    std::ostringstream text;
    text << "lines " << read.lines << " events " << read.events << " bad " << read.bad_lines
         << " bytes " << read.bytes << " ts " << read.min_ts << ".." << read.max_ts;
    return text.str();
}

std::string describe(const LoadMapStats& stats) {
    std::ostringstream text;
    text << "events " << stats.events << " late " << stats.late_dropped << " out "
         << stats.out_of_range << " rolled " << stats.rolled_up_events << " expired "
         << stats.expired_events;
    return text.str();
}

std::string describe(const CellReport& report) {
    std::ostringstream text;
    text.precision(17);
    text << "cell " << report.cell << "+" << report.cell_count << " "
         << formatKeyRange(report.range) << " events " << report.events << " trend "
         << static_cast<int>(report.trend.direction) << ' ' << report.trend.slope_per_day << ' '
         << report.trend.t_statistic << ' ' << report.trend.mean_level;
    return text.str();
}

std::string describe(const std::vector<CellReport>& reports) {
    std::string text;
    for (const CellReport& report : reports)
        text += describe(report) + "; ";
    return text;
}

// Empty when two analyses agree on everything they hold; else the first difference.
std::string differences(const TraceAnalysis& expected, const TraceAnalysis& actual) {
    if (describe(expected.read) != describe(actual.read))
        return "read: " + describe(expected.read) + " vs " + describe(actual.read);
    if (expected.cell_events != actual.cell_events)
        return "cell events";
    const LoadMap& a = *expected.load_map;
    const LoadMap& b = *actual.load_map;
    if (!(a.stats() == b.stats()))
        return "load map stats: " + describe(a.stats()) + " vs " + describe(b.stats());
    if (a.cells().starts() != b.cells().starts())
        return "cells";
    if (a.firstBucket() != b.firstBucket() || a.bucketCount() != b.bucketCount() ||
        a.firstCoarseBucket() != b.firstCoarseBucket() ||
        a.coarseBucketCount() != b.coarseBucketCount())
        return "tiers";
    for (CellIndex cell = 0; cell < a.cells().size(); ++cell) {
        for (std::size_t bucket = 0; bucket < a.bucketCount(); ++bucket) {
            if (!(a.at(bucket, cell) == b.at(bucket, cell)))
                return "fine bucket " + std::to_string(bucket) + " cell " + std::to_string(cell);
        }
        for (std::size_t bucket = 0; bucket < a.coarseBucketCount(); ++bucket) {
            if (!(a.coarseAt(bucket, cell) == b.coarseAt(bucket, cell)))
                return "coarse bucket " + std::to_string(bucket) + " cell " + std::to_string(cell);
        }
    }
    if (describe(expected.top_cells) != describe(actual.top_cells) ||
        describe(expected.growing) != describe(actual.growing) ||
        describe(expected.declining) != describe(actual.declining))
        return "ranked cells";
    if (describe(CellReport{0, 1, {}, 0, expected.total_trend}) !=
        describe(CellReport{0, 1, {}, 0, actual.total_trend}))
        return "total trend";
    return {};
}

// Lines of a text file, and back.
std::vector<std::string> readLines(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

void writeLines(const std::string& path, const std::vector<std::string>& lines) {
    std::ofstream out(path, std::ios::binary);
    for (const std::string& line : lines)
        out << line << '\n';
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
    void threadCountDoesNotChangeTheResult_data();
    void threadCountDoesNotChangeTheResult();

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
    QCOMPARE(fastest.trend.direction, TrendDirection::Growing);
    QCOMPARE(fastest.range.start, analysis->load_map->cells().range(fastest.cell).start);
    QCOMPARE(fastest.range.end,
             analysis->load_map->cells().range(fastest.cell + fastest.cell_count - 1).end);
    QVERIFY(fastest.cell_count >= 2); // adjacent growing cells are reported as one range

    // The growing ranges cover most cells inside the scenario's growing range (a hot background
    // key inside it may decline on its own), and none lies outside it.
    const KeyCells& cells = analysis->load_map->cells();
    auto inGrowingRange = [&](CellIndex cell) {
        for (const CellReport& range : analysis->growing) {
            if (cell >= range.cell && cell < range.cell + range.cell_count)
                return true;
        }
        return false;
    };
    int inside = 0;
    int covered = 0;
    for (CellIndex cell = 0; cell < cells.size(); ++cell) {
        const KeyRange range = cells.range(cell);
        const bool overlaps =
            range.start < growingEnd && (range.unboundedAbove() || growingStart < range.end);
        const bool within =
            range.start >= growingStart && !range.unboundedAbove() && range.end <= growingEnd;
        if (within) {
            ++inside;
            covered += inGrowingRange(cell) ? 1 : 0;
        }
        QVERIFY2(overlaps || !inGrowingRange(cell),
                 (formatKeyRange(range) + " is reported growing").c_str());
    }
    QVERIFY(inside >= 3);
    QVERIFY2(covered * 4 >= inside * 3,
             qPrintable(QStringLiteral("%1 of %2").arg(covered).arg(inside)));
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
    options.threads = kMaxAnalyzeThreads + 1;
    QVERIFY(
        QString::fromStdString(validate(options).message()).contains(QStringLiteral("threads")));
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

void TestAnalysis::threadCountDoesNotChangeTheResult_data() {
    QTest::addColumn<QString>("shape");
    QTest::addColumn<bool>("smallTiers"); // 1-minute buckets, a 20-minute window: roll-ups
    QTest::newRow("generated") << QStringLiteral("generated") << false;
    QTest::newRow("generated, rolled up and expired") << QStringLiteral("generated") << true;
    QTest::newRow("disordered within the window") << QStringLiteral("disordered") << true;
    QTest::newRow("bad lines sprinkled in") << QStringLiteral("bad lines") << false;
    QTest::newRow("fewer lines than threads") << QStringLiteral("three lines") << false;
    QTest::newRow("header only") << QStringLiteral("header only") << false;
}

// One thread or several: the same load map, cell counts, trends, summary and bad lines.
void TestAnalysis::threadCountDoesNotChangeTheResult() {
    QFETCH(QString, shape);
    QFETCH(bool, smallTiers);
    const std::string path = m_dir.filePath(QStringLiteral("threads.csv")).toStdString();
    if (shape == QStringLiteral("three lines")) {
        std::ofstream(path) << "ts,key,op\n1000,a,get\n2000,b,put\nbad\n";
    } else if (shape == QStringLiteral("header only")) {
        std::ofstream(path) << "ts,key,op,end_key,bytes,latency_us\n";
    } else {
        writeTrace(workload(Scenario::HotspotDrift, 2, 6, 5), path);
        std::vector<std::string> lines = readLines(path);
        if (shape == QStringLiteral("disordered")) {
            // Swap lines a few dozen apart: seconds out of order, far less than the window.
            for (std::size_t i = 1; i + 40 < lines.size(); i += 7)
                std::swap(lines[i], lines[i + 1 + i % 39]);
        } else if (shape == QStringLiteral("bad lines")) {
            for (std::size_t i = 1; i < lines.size(); i += 97)
                lines[i] = i % 2 == 0 ? "not a line" : "1,k,frobnicate,,1,1";
        }
        writeLines(path, lines);
    }

    AnalyzeOptions options;
    options.cells = 64;
    options.key_sample = 2000; // plenty for 64 cells, and quick to sample
    if (smallTiers) {
        options.load_map.bucket_ms = kMsPerMinute;
        options.load_map.fine_buckets = 20;
        options.load_map.rollup_factor = 3;
        options.load_map.coarse_buckets = 6;
    }
    auto analyze = [&](std::size_t threads, std::vector<std::uint64_t>& badLines) {
        options.threads = threads;
        auto reader = TraceReader::open(path);
        if (!reader.ok())
            qFatal("cannot open %s", path.c_str());
        return analyzeTrace(reader.value(), options,
                            [&](const BadLine& bad) { badLines.push_back(bad.line); });
    };
    std::vector<std::uint64_t> expectedBadLines;
    const auto expected = analyze(1, expectedBadLines);
    QVERIFY2(expected.ok(), expected.ok() ? "" : expected.error().message.c_str());
    if (smallTiers) {
        QVERIFY(expected->load_map->stats().rolled_up_events > 0);
        QVERIFY(expected->load_map->stats().expired_events > 0);
    }
    for (const std::size_t threads : {2, 3, 7}) {
        std::vector<std::uint64_t> badLines;
        const auto actual = analyze(threads, badLines);
        QVERIFY2(actual.ok(), actual.ok() ? "" : actual.error().message.c_str());
        const std::string difference = differences(expected.value(), actual.value());
        QVERIFY2(difference.empty(), (std::to_string(threads) + " threads: " + difference).c_str());
        QCOMPARE(badLines, expectedBadLines);
    }
}

QTEST_APPLESS_MAIN(TestAnalysis)
#include "tst_analysis.moc"
