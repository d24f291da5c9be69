#include "connector_test_moves.h"
#include "random.h"
#include "trace_replay_connector.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QThreadPool>
#include <QtTest>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace rangepilot;
using rangepilot::testing::moveOf;
using rangepilot::testing::otherHost;

namespace {

// Not on a second boundary, so the clock's start (the first event's step) is below it.
constexpr TimeMs kTraceStart = 1'767'571'200'123;

struct Event {
    TimeMs ts = 0;
    std::string key;
    Op op = Op::Get;
    std::uint64_t bytes = 0;
    std::uint64_t latency_us = 0;
};

// `count` events over [kTraceStart, kTraceStart + spanMs), sorted by time: 1000 keys of which the
// low ones are hotter, about 75% gets, 17% puts, 3% deletes, 5% scans.
std::vector<Event> makeEvents(std::size_t count, TimeMs spanMs, std::uint64_t seed) {
    Random random(seed);
    std::vector<Event> events(count);
    for (Event& event : events) {
        event.ts = kTraceStart + static_cast<TimeMs>(random.uniformInt(spanMs));
        const std::uint64_t a = random.uniformInt(1000);
        const std::uint64_t b = random.uniformInt(1000);
        const std::string index = std::to_string(1000 + a * b / 999); // 1000..1999
        event.key = "user" + index.substr(1);
        const std::uint64_t kind = random.uniformInt(100);
        event.op = kind < 75 ? Op::Get : kind < 92 ? Op::Put : kind < 95 ? Op::Delete : Op::Scan;
        event.bytes = event.op == Op::Delete ? 0 : 100 + random.uniformInt(2000);
        event.latency_us = 50 + random.uniformInt(500);
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& x, const Event& y) { return x.ts < y.ts; });
    return events;
}

// Shuffles each run of `window` events (0: all of them): a trace not sorted by time.
void shuffle(std::vector<Event>& events, std::size_t window, std::uint64_t seed) {
    Random random(seed);
    const std::size_t run = window == 0 ? events.size() : window;
    for (std::size_t begin = 0; begin < events.size(); begin += run) {
        const std::size_t end = std::min(events.size(), begin + run);
        for (std::size_t i = end - 1; i > begin; --i)
            std::swap(events[i], events[begin + random.uniformInt(i - begin + 1)]);
    }
}

// Our CSV format with a header.
void writeTrace(const QString& path, const std::vector<Event>& events) {
    std::ofstream out(path.toStdString(), std::ios::binary);
    out << "ts,key,op,bytes,latency_us\n";
    for (const Event& event : events)
        out << event.ts << ',' << event.key << ',' << opName(event.op) << ',' << event.bytes << ','
            << event.latency_us << '\n';
}

void writeText(const QString& path, const std::string& text) {
    std::ofstream out(path.toStdString(), std::ios::binary);
    out << text;
}

// Counted here from the events the test wrote, not through the reader.
std::vector<CellLoad> countIn(const std::vector<Event>& events, const KeyCells& cells, TimeMs from,
                              TimeMs to) {
    std::vector<CellLoad> counts(cells.size());
    for (const Event& event : events) {
        if (event.ts < from || event.ts >= to)
            continue;
        CellLoad& load = counts[cells.cellOf(event.key)];
        (isWrite(event.op) ? load.writes : load.reads) += 1;
        load.bytes += event.bytes;
        load.latency_us += event.latency_us;
    }
    return counts;
}

std::uint64_t opsOf(const std::vector<CellLoad>& counts) {
    std::uint64_t ops = 0;
    for (const CellLoad& load : counts)
        ops += load.ops();
    return ops;
}

// A small cluster that replays fast in a Debug build: 4 hosts x 4 shards, 64 cells, 1 s steps,
// only advance() moves the clock, blocks of 2 KiB so that even small traces have many.
TraceReplayOptions smallOptions(const QString& path) {
    TraceReplayOptions options;
    options.path = path.toStdString();
    options.hosts = 4;
    options.shards_per_host = 4;
    options.cells = 64;
    options.step_ms = 1000;
    options.timer = false;
    options.block_bytes = 2048;
    options.move.copy_bytes_per_s = 20'000;
    return options;
}

// Starts and waits for the preparation to end; true when Running.
bool startAndWait(TraceReplayConnector& replay) {
    replay.start();
    if (!QTest::qWaitFor([&] { return replay.state() != ConnectorState::Starting; }, 10'000))
        return false;
    return replay.state() == ConnectorState::Running;
}

QString text(const Status& status) {
    return QString::fromStdString(status.message());
}

// Everything a connector emits, in order, as text (for determinism), and the batches.
class Recorder : public QObject {
public:
    explicit Recorder(ClusterConnector& connector) {
        connect(&connector, &ClusterConnector::accessBatch, this, [this](const AccessBatch& batch) {
            batches.push_back(batch);
            QString line = QStringLiteral("batch %1 %2").arg(batch.start_ms).arg(batch.end_ms);
            for (const CellLoad& load : batch.cells)
                line += QStringLiteral(" %1/%2/%3/%4")
                            .arg(load.reads)
                            .arg(load.writes)
                            .arg(load.bytes)
                            .arg(load.latency_us);
            log << line;
        });
        connect(&connector, &ClusterConnector::hostUsage, this,
                [this](const HostUsageSample& sample) {
                    QString line = QStringLiteral("usage %1").arg(sample.start_ms);
                    for (const ResourceVector& usage : sample.usage)
                        for (const Resource resource : kAllResources)
                            line += QLatin1Char(' ') + QString::number(usage[resource], 'g', 17);
                    log << line;
                });
        connect(&connector, &ClusterConnector::migrationProgress, this,
                [this](const MigrationProgress& progress) {
                    log << QStringLiteral("move %1 %2 %3 %4 %5")
                               .arg(progress.id)
                               .arg(migrationPhaseName(progress.phase))
                               .arg(progress.bytes_copied, 0, 'g', 17)
                               .arg(progress.updated_ms)
                               .arg(progress.error);
                });
        connect(&connector, &ClusterConnector::ownershipChanged, this,
                [this](const OwnershipTable& table) {
                    log << QStringLiteral("table %1").arg(table.epoch());
                });
        connect(&connector, &ClusterConnector::clockAdvanced, this,
                [this](TimeMs now, double eventsPerS) {
                    log << QStringLiteral("clock %1 %2").arg(now).arg(eventsPerS, 0, 'g', 17);
                });
        connect(&connector, &ClusterConnector::stateChanged, this,
                [this](ConnectorState state, const QString& detail) {
                    log << QStringLiteral("state %1 %2").arg(connectorStateName(state), detail);
                });
        connect(&connector, &ClusterConnector::errorOccurred, this, [this](const QString& message) {
            errors << message;
            log << QStringLiteral("error ") + message;
        });
    }

    // The batches from `first` on, summed per cell.
    std::vector<CellLoad> sum(std::size_t first = 0) const {
        std::vector<CellLoad> total;
        for (std::size_t i = first; i < batches.size(); ++i) {
            total.resize(batches[i].cells.size());
            for (std::size_t cell = 0; cell < total.size(); ++cell)
                total[cell].add(batches[i].cells[cell]);
        }
        return total;
    }

    // Batches tile the clock: each starts where the one before ended.
    bool contiguous(std::size_t first = 0) const {
        for (std::size_t i = first + 1; i < batches.size(); ++i) {
            if (batches[i].start_ms != batches[i - 1].end_ms)
                return false;
        }
        return true;
    }

    std::vector<AccessBatch> batches;
    QStringList log;
    QStringList errors;
};

double shardBytes(const TraceReplayConnector& replay, const Shard& shard) {
    const std::vector<double> bytes = replay.cellDataBytes();
    const CellSpan span = replay.topology().cells.cellsStartingIn(shard.range);
    double total = 0.0;
    for (CellIndex cell = span.first; cell < span.end; ++cell)
        total += bytes[cell];
    return total;
}

// The shard holding the most data, so that its move copies something.
Shard shardWithData(const TraceReplayConnector& replay) {
    const OwnershipTable table = replay.ownership();
    const std::vector<Shard>& shards = table.shards();
    return *std::max_element(shards.begin(), shards.end(), [&](const Shard& a, const Shard& b) {
        return shardBytes(replay, a) < shardBytes(replay, b);
    });
}

void runMoveToEnd(TraceReplayConnector& replay, MigrationId id, TimeMs limitMs) {
    for (TimeMs spent = 0; spent < limitMs && !isTerminal(replay.moveProgress(id)->phase);
         spent += replay.stepMs())
        QVERIFY(replay.advance(replay.stepMs()).ok());
}

// OwnershipTable has no public default constructor, which QVariant::value() needs.
const OwnershipTable& tableIn(const QVariant& variant) {
    return *static_cast<const OwnershipTable*>(variant.constData());
}

} // namespace

class TestTraceReplayConnector : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void startPreparesOffTheGuiThread();
    void batchesEqualAnIndependentCount_data();
    void batchesEqualAnIndependentCount();
    void seekIsExact_data();
    void seekIsExact();
    void seekClampsAndNeedsAPreparedTrace();
    void foreignLogWithColumnMapping();
    void badLinesAreReportedOnceWithTheirLines();
    void strictModeFailsAtTheFirstBadLine();
    void failuresNameTheFile_data();
    void failuresNameTheFile();
    void moveRunsToDoneOnTheReplayedCluster();
    void abortRollsBack();
    void seekRollsBackRunningMovesAndKeepsTheTable();
    void boundaryChangesApply();
    void sameFileSameCallsSameSignals();
    void pauseResumeAndSpeed();
    void stopWhilePreparingDropsTheResult();
    void cellDataBytesFollowTheTrace();
    void cellDataBytesEstimatedFromASample();
    void fileChangedWhileReplayingFails();
    void optionsAreValidated();

private:
    QString pathOf(const QString& name) const { return m_dir.filePath(name); }

    QTemporaryDir m_dir;
};

void TestTraceReplayConnector::initTestCase() {
    QVERIFY(m_dir.isValid());
}

void TestTraceReplayConnector::startPreparesOffTheGuiThread() {
    const std::vector<Event> events = makeEvents(3000, 5 * kMsPerMinute, 1);
    writeTrace(pathOf(QStringLiteral("start.csv")), events);
    TraceReplayConnector replay(smallOptions(pathOf(QStringLiteral("start.csv"))));
    QCOMPARE(replay.name(), QStringLiteral("trace replay: start.csv"));
    QSignalSpy states(&replay, &ClusterConnector::stateChanged);
    QSignalSpy topologies(&replay, &ClusterConnector::topologyChanged);
    QSignalSpy tables(&replay, &ClusterConnector::ownershipChanged);
    QVERIFY(!replay.advance(1000).ok());
    replay.start();
    QCOMPARE(replay.state(), ConnectorState::Starting); // the pass runs on a worker thread
    QVERIFY(!replay.prepared());
    QTRY_COMPARE_WITH_TIMEOUT(replay.state(), ConnectorState::Running, 10'000);

    QCOMPARE(states.count(), 2);
    QCOMPARE(states.at(0).at(0).value<ConnectorState>(), ConnectorState::Starting);
    QCOMPARE(states.at(1).at(0).value<ConnectorState>(), ConnectorState::Running);
    QCOMPARE(topologies.count(), 1);
    const auto topology = topologies.at(0).at(0).value<ClusterTopology>();
    QCOMPARE(topology.cluster.hosts.size(), std::size_t(4));
    QCOMPARE(topology.cluster.hosts[3].id, HostId("host-4"));
    QCOMPARE(topology.cells.size(), std::size_t(64));
    QCOMPARE(tables.count(), 1);
    QCOMPARE(tableIn(tables.at(0).at(0)).shardCount(), std::size_t(16));

    const TraceReplayStats& stats = replay.stats();
    QCOMPARE(stats.events, std::uint64_t(3000));
    QCOMPARE(stats.bad_lines, std::uint64_t(0));
    QCOMPARE(stats.lines, std::uint64_t(3001));
    QCOMPARE(stats.first_event_ms, events.front().ts);
    QCOMPARE(stats.last_event_ms, events.back().ts);
    QVERIFY2(stats.blocks > 30, qPrintable(QString::number(stats.blocks)));
    QCOMPARE(stats.out_of_order_events, std::uint64_t(0));
    QVERIFY(stats.distinct_keys_exact);
    QCOMPARE(replay.startMs(), events.front().ts / 1000 * 1000); // the first event's step
    QCOMPARE(replay.clusterTime(), replay.startMs());
    QCOMPARE(replay.endMs(), events.back().ts + 1);

    // The auto capacity: the busiest minute's events/s over 4 hosts at 75% headroom.
    std::map<TimeMs, int> perMinute;
    for (const Event& event : events)
        ++perMinute[event.ts / kMsPerMinute];
    int busiest = 0;
    for (const auto& [minute, count] : perMinute)
        busiest = std::max(busiest, count);
    QCOMPARE(replay.capacityOps(), busiest / 60.0 / 4 / 0.75);
    QCOMPARE(topology.cluster.hosts[0].capacity[Resource::Ops], replay.capacityOps());
}

void TestTraceReplayConnector::batchesEqualAnIndependentCount_data() {
    QTest::addColumn<int>("disorder"); // -1: sorted; 0: shuffled; n: shuffled in runs of n
    QTest::addColumn<qint64>("blockBytes");
    QTest::addColumn<qint64>("cacheBytes");
    QTest::newRow("sorted, small blocks") << -1 << qint64(2048) << qint64(64 << 20);
    QTest::newRow("sorted, one block") << -1 << qint64(0) << qint64(64 << 20);
    QTest::newRow("sorted, no cache") << -1 << qint64(512) << qint64(1);
    QTest::newRow("disorder of 40 lines") << 40 << qint64(1024) << qint64(64 << 20);
    QTest::newRow("shuffled, cached") << 0 << qint64(4096) << qint64(64 << 20);
    QTest::newRow("shuffled, rereads") << 0 << qint64(4096) << qint64(1);
}

void TestTraceReplayConnector::batchesEqualAnIndependentCount() {
    QFETCH(int, disorder);
    QFETCH(qint64, blockBytes);
    QFETCH(qint64, cacheBytes);
    std::vector<Event> events = makeEvents(2000, 3 * kMsPerMinute, 2);
    if (disorder >= 0)
        shuffle(events, static_cast<std::size_t>(disorder), 7);
    const QString path = pathOf(QStringLiteral("count.csv"));
    writeTrace(path, events);
    TraceReplayOptions options = smallOptions(path);
    options.block_bytes = static_cast<std::uint64_t>(blockBytes);
    options.cache_bytes = static_cast<std::uint64_t>(cacheBytes);
    options.step_ms = 5000;
    TraceReplayConnector replay(options);
    Recorder recorder(replay);
    QVERIFY(startAndWait(replay));
    QCOMPARE(replay.stats().out_of_order_events > 0, disorder >= 0);
    // Only a trace whose disorder outgrows the cache is worth a warning.
    QCOMPARE(recorder.errors.size(), cacheBytes == 1 && disorder == 0 ? 1 : 0);

    QVERIFY(replay.advance(replay.endMs() - replay.clusterTime()).ok());
    QCOMPARE(replay.state(), ConnectorState::Stopped);
    QCOMPARE(replay.clusterTime(), replay.endMs());
    QVERIFY(!recorder.batches.empty());
    QCOMPARE(recorder.batches.front().start_ms, replay.startMs());
    QCOMPARE(recorder.batches.back().end_ms, replay.endMs());
    QVERIFY(recorder.contiguous());
    const std::vector<CellLoad> expected =
        countIn(events, replay.topology().cells, replay.startMs(), replay.endMs());
    QCOMPARE(opsOf(expected), std::uint64_t(2000));
    QVERIFY(recorder.sum() == expected);
    QCOMPARE(replay.eventsReplayed(), std::uint64_t(2000));
    QVERIFY(recorder.log.last().contains(QLatin1String("the trace ended")));
}

void TestTraceReplayConnector::seekIsExact_data() {
    QTest::addColumn<int>("disorder");
    QTest::newRow("sorted") << -1;
    QTest::newRow("shuffled") << 0;
}

void TestTraceReplayConnector::seekIsExact() {
    QFETCH(int, disorder);
    std::vector<Event> events = makeEvents(3000, 2 * kMsPerMinute, 3);
    if (disorder >= 0)
        shuffle(events, static_cast<std::size_t>(disorder), 8);
    const QString path = pathOf(QStringLiteral("seek.csv"));
    writeTrace(path, events);

    // A straight replay, 1 s steps from the start to the end.
    TraceReplayConnector straight(smallOptions(path));
    Recorder reference(straight);
    QVERIFY(startAndWait(straight));
    const TimeMs start = straight.startMs();
    QVERIFY(straight.advance(straight.endMs() - start).ok());
    const KeyCells cells = straight.topology().cells;
    // The straight replay's counts over [from, to), both on its 1 s grid.
    const auto straightOver = [&](TimeMs from, TimeMs to) {
        std::vector<CellLoad> total(cells.size());
        for (const AccessBatch& batch : reference.batches) {
            if (batch.start_ms < from || batch.end_ms > to)
                continue;
            for (std::size_t cell = 0; cell < total.size(); ++cell)
                total[cell].add(batch.cells[cell]);
        }
        return total;
    };

    TraceReplayConnector replay(smallOptions(path));
    Recorder recorder(replay);
    QVERIFY(startAndWait(replay));
    QVERIFY(replay.topology().cells.starts() == cells.starts());
    const auto replayFrom = [&](TimeMs t, TimeMs duration) {
        const std::size_t first = recorder.batches.size();
        const Status sought = replay.seek(t);
        if (!sought.ok() || replay.clusterTime() != t || !replay.advance(duration).ok())
            return std::make_pair(false, std::vector<CellLoad>{});
        const bool startsThere =
            recorder.batches.size() > first && recorder.batches[first].start_ms == t &&
            recorder.batches.back().end_ms == t + duration && recorder.contiguous(first);
        return std::make_pair(startsThere, recorder.sum(first));
    };

    // Forward, on the grid: equal to the straight replay and to the file.
    auto [onGrid, forward] = replayFrom(start + 40'000, 30'000);
    QVERIFY(onGrid);
    QVERIFY(forward == straightOver(start + 40'000, start + 70'000));
    QVERIFY(forward == countIn(events, cells, start + 40'000, start + 70'000));
    QVERIFY(opsOf(forward) > 500);
    // Backward.
    auto [back, backward] = replayFrom(start + 5'000, 12'000);
    QVERIFY(back);
    QVERIFY(backward == straightOver(start + 5'000, start + 17'000));
    // Inside a step, off the grid: the first batch starts there.
    auto [inside, partial] = replayFrom(start + 20'250, 9'500);
    QVERIFY(inside);
    QVERIFY(partial == countIn(events, cells, start + 20'250, start + 29'750));
    // Repeated: the same span twice in a row counts the same.
    auto [again, repeated] = replayFrom(start + 20'250, 9'500);
    QVERIFY(again);
    QVERIFY(repeated == partial);
    // Then a straight run from the last seek on, to the end: still the file's counts.
    const std::size_t tail = recorder.batches.size();
    QVERIFY(replay.advance(replay.endMs()).ok());
    QVERIFY(recorder.sum(tail) == countIn(events, cells, start + 29'750, replay.endMs()));
    QCOMPARE(replay.state(), ConnectorState::Stopped);
}

void TestTraceReplayConnector::seekClampsAndNeedsAPreparedTrace() {
    const std::vector<Event> events = makeEvents(500, kMsPerMinute, 4);
    const QString path = pathOf(QStringLiteral("clamp.csv"));
    writeTrace(path, events);
    TraceReplayConnector replay(smallOptions(path));
    const Status early = replay.seek(kTraceStart);
    QVERIFY(!early.ok());
    QVERIFY2(text(early).contains(QLatin1String("clamp.csv")), early.message().c_str());
    QVERIFY(startAndWait(replay));

    QSignalSpy clocks(&replay, &ClusterConnector::clockAdvanced);
    QVERIFY(replay.seek(replay.startMs() - kMsPerHour).ok());
    QCOMPARE(replay.clusterTime(), replay.startMs());
    QCOMPARE(clocks.count(), 0); // already there: nothing happens
    QVERIFY(replay.seek(replay.startMs() + 1234).ok());
    QCOMPARE(clocks.count(), 1);
    QCOMPARE(clocks.at(0).at(0).value<TimeMs>(), replay.startMs() + 1234);
    QCOMPARE(replay.positionMs(), replay.startMs() + 1234);

    // Beyond the end: clamped to the end, where the replay stops.
    QVERIFY(replay.seek(replay.endMs() + kMsPerHour).ok());
    QCOMPARE(replay.clusterTime(), replay.endMs());
    QCOMPARE(replay.state(), ConnectorState::Stopped);
    replay.start();
    QCOMPARE(replay.state(), ConnectorState::Stopped); // nothing left to play
    // Seeking back and starting again plays from there.
    QVERIFY(replay.seek(replay.startMs()).ok());
    replay.start();
    QCOMPARE(replay.state(), ConnectorState::Running);
    Recorder recorder(replay);
    QVERIFY(replay.advance(replay.endMs()).ok());
    QCOMPARE(opsOf(recorder.sum()), std::uint64_t(500));
}

void TestTraceReplayConnector::foreignLogWithColumnMapping() {
    // "key|ts in seconds|verb", no header, as a foreign system might log it.
    const std::vector<Event> events = makeEvents(800, 10 * kMsPerMinute, 5);
    std::string log;
    std::vector<Event> expected;
    for (const Event& event : events) {
        const TimeMs seconds = event.ts / 1000;
        log += event.key + '|' + std::to_string(seconds) + '|' +
               (isWrite(event.op) ? "SET" : "READ") + '\n';
        Event seen = event;
        seen.ts = seconds * 1000;
        seen.op = isWrite(event.op) ? Op::Put : Op::Get;
        seen.bytes = 0;
        seen.latency_us = 0;
        expected.push_back(seen);
    }
    const QString path = pathOf(QStringLiteral("foreign.log"));
    writeText(path, log);
    TraceReplayOptions options = smallOptions(path);
    Result<ColumnMapping> mapping = parseColumnMapping("ts=2,key=1,op=3");
    QVERIFY(mapping.ok());
    options.read.columns = *mapping;
    options.read.header = false;
    options.read.time_unit = TimeUnit::Seconds;
    options.read.delimiter = '|';
    TraceReplayConnector replay(options);
    Recorder recorder(replay);
    QVERIFY2(startAndWait(replay), qPrintable(recorder.errors.join(QLatin1Char('\n'))));
    QCOMPARE(replay.stats().events, std::uint64_t(800));
    QCOMPARE(replay.stats().bad_lines, std::uint64_t(0));
    QCOMPARE(replay.startMs(), expected.front().ts);
    QVERIFY(replay.advance(replay.endMs()).ok());
    QVERIFY(recorder.sum() ==
            countIn(expected, replay.topology().cells, replay.startMs(), replay.endMs()));
    // Without bytes in the log, every key counts the default size.
    double data = 0.0;
    for (const double bytes : replay.cellDataBytes())
        data += bytes;
    QCOMPARE(data, replay.stats().distinct_keys * options.default_value_bytes);
}

void TestTraceReplayConnector::badLinesAreReportedOnceWithTheirLines() {
    const std::vector<Event> events = makeEvents(400, kMsPerMinute, 6);
    std::string csv = "ts,key,op,bytes,latency_us\n";
    std::uint64_t line = 1;
    std::vector<std::uint64_t> badLines;
    std::vector<Event> good;
    for (std::size_t i = 0; i < events.size(); ++i) {
        ++line;
        if (i == 3 || i == 150 || i == 151 || i == 390) {
            csv += i == 150 ? "yesterday,user0001,get,1,1\n"
                            : std::to_string(events[i].ts) + ",,put,1,1\n";
            badLines.push_back(line);
            continue;
        }
        csv += std::to_string(events[i].ts) + ',' + events[i].key + ',' +
               std::string(opName(events[i].op)) + ',' + std::to_string(events[i].bytes) + ',' +
               std::to_string(events[i].latency_us) + '\n';
        good.push_back(events[i]);
    }
    const QString path = pathOf(QStringLiteral("bad.csv"));
    writeText(path, csv);
    TraceReplayOptions options = smallOptions(path);
    options.block_bytes = 512; // the bad lines fall in different blocks
    TraceReplayConnector replay(options);
    QSignalSpy errors(&replay, &ClusterConnector::errorOccurred);
    QVERIFY(startAndWait(replay));
    QCOMPARE(replay.stats().bad_lines, std::uint64_t(4));
    QCOMPARE(replay.stats().events, std::uint64_t(396));
    QCOMPARE(errors.count(), 1); // one report, not one per line
    const QString message = errors.at(0).at(0).toString();
    QVERIFY2(message.contains(QLatin1String("4 bad line")), qPrintable(message));
    for (const std::uint64_t bad : badLines)
        QVERIFY2(message.contains(QStringLiteral("%1:%2: ").arg(path).arg(bad)),
                 qPrintable(message));
    Recorder recorder(replay);
    QVERIFY(replay.advance(replay.endMs()).ok());
    QVERIFY(recorder.sum() ==
            countIn(good, replay.topology().cells, replay.startMs(), replay.endMs()));
}

void TestTraceReplayConnector::strictModeFailsAtTheFirstBadLine() {
    std::vector<Event> events = makeEvents(300, kMsPerMinute, 7);
    std::string csv = "ts,key,op\n";
    for (std::size_t i = 0; i < events.size(); ++i)
        csv += (i == 200 ? std::string("12:00") : std::to_string(events[i].ts)) + ',' +
               events[i].key + ",get\n";
    const QString path = pathOf(QStringLiteral("strict.csv"));
    writeText(path, csv);
    TraceReplayOptions options = smallOptions(path);
    options.block_bytes = 256;
    options.read.strict = true;
    TraceReplayConnector replay(options);
    QSignalSpy errors(&replay, &ClusterConnector::errorOccurred);
    QSignalSpy states(&replay, &ClusterConnector::stateChanged);
    QVERIFY(!startAndWait(replay));
    QCOMPARE(replay.state(), ConnectorState::Failed);
    QCOMPARE(errors.count(), 1);
    const QString message = errors.at(0).at(0).toString();
    QVERIFY2(message.startsWith(path + QStringLiteral(":202: ")), qPrintable(message));
    QCOMPARE(states.last().at(1).toString(), message);
    QVERIFY(!replay.prepared());
}

void TestTraceReplayConnector::failuresNameTheFile_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("content"); // "-": do not create the file
    QTest::addColumn<QString>("reason");
    QTest::newRow("missing") << QStringLiteral("missing.csv") << QStringLiteral("-")
                             << QStringLiteral("missing.csv: cannot open");
    QTest::newRow("empty") << QStringLiteral("empty.csv") << QString()
                           << QStringLiteral("empty.csv: the trace is empty");
    QTest::newRow("header only") << QStringLiteral("header.csv") << QStringLiteral("ts,key,op\n")
                                 << QStringLiteral("header.csv: the trace has no events (1 line)");
    QTest::newRow("only bad lines")
        << QStringLiteral("allbad.csv") << QStringLiteral("ts,key\nnoon,a\n\nlater,b\n")
        << QStringLiteral("allbad.csv: the trace has no events (4 lines, 2 bad (first: ");
    QTest::newRow("header without key")
        << QStringLiteral("nokey.csv") << QStringLiteral("ts,op\n1,get\n")
        << QStringLiteral("nokey.csv:1: ");
}

void TestTraceReplayConnector::failuresNameTheFile() {
    QFETCH(QString, file);
    QFETCH(QString, content);
    QFETCH(QString, reason);
    const QString path = pathOf(file);
    if (content != QLatin1String("-"))
        writeText(path, content.toStdString());
    TraceReplayConnector replay(smallOptions(path));
    QSignalSpy errors(&replay, &ClusterConnector::errorOccurred);
    QSignalSpy states(&replay, &ClusterConnector::stateChanged);
    QVERIFY(!startAndWait(replay));
    QCOMPARE(replay.state(), ConnectorState::Failed);
    QCOMPARE(errors.count(), 1);
    const QString message = errors.at(0).at(0).toString();
    QVERIFY2(message.contains(reason), qPrintable(message));
    QCOMPARE(states.count(), 2);
    QCOMPARE(states.at(0).at(0).value<ConnectorState>(), ConnectorState::Starting);
    QCOMPARE(states.at(1).at(0).value<ConnectorState>(), ConnectorState::Failed);
    QVERIFY(!replay.executeMove(moveOf(replay.ownership().shards()[0], "host-2")).ok());
    QVERIFY(!replay.advance(1000).ok());
}

void TestTraceReplayConnector::moveRunsToDoneOnTheReplayedCluster() {
    const std::vector<Event> events = makeEvents(6000, 10 * kMsPerMinute, 8);
    const QString path = pathOf(QStringLiteral("move.csv"));
    writeTrace(path, events);
    TraceReplayConnector replay(smallOptions(path));
    QVERIFY(startAndWait(replay));
    QVERIFY(replay.advance(10'000).ok());
    const OwnershipTable before = replay.ownership();
    const Shard shard = shardWithData(replay);
    const double bytes = shardBytes(replay, shard);
    QVERIFY(bytes > 40'000); // at 20 kB/s, copying spans several steps
    const HostId target = otherHost(before, shard.owner);

    struct Seen {
        MigrationPhase phase;
        std::uint64_t epoch;
        HostId owner;
    };
    std::vector<Seen> seen;
    connect(&replay, &ClusterConnector::migrationProgress, this,
            [&](const MigrationProgress& progress) {
                const OwnershipTable now = replay.ownership();
                seen.push_back({progress.phase, now.epoch(), now.shardById(shard.id)->owner});
            });
    QSignalSpy tables(&replay, &ClusterConnector::ownershipChanged);
    const Result<MigrationId> id = replay.executeMove(moveOf(shard, target));
    QVERIFY(id.ok());
    runMoveToEnd(replay, *id, 5 * kMsPerMinute);

    std::vector<MigrationPhase> phases;
    for (const Seen& report : seen) {
        if (phases.empty() || phases.back() != report.phase)
            phases.push_back(report.phase);
        const bool done = report.phase == MigrationPhase::Done;
        QCOMPARE(report.epoch, before.epoch() + (done ? 1 : 0));
        QCOMPARE(report.owner, done ? target : shard.owner);
    }
    const std::vector<MigrationPhase> expected{MigrationPhase::Shadowing, MigrationPhase::Copying,
                                               MigrationPhase::CatchingUp,
                                               MigrationPhase::CuttingOver, MigrationPhase::Done};
    QVERIFY(phases == expected);
    QCOMPARE(tables.count(), 1);
    QCOMPARE(tableIn(tables.at(0).at(0)).shardById(shard.id)->owner, target);
    QCOMPARE(replay.moveProgress(*id)->bytes_copied, bytes);
}

void TestTraceReplayConnector::abortRollsBack() {
    const std::vector<Event> events = makeEvents(6000, 10 * kMsPerMinute, 9);
    const QString path = pathOf(QStringLiteral("abort.csv"));
    writeTrace(path, events);
    TraceReplayConnector replay(smallOptions(path));
    QVERIFY(startAndWait(replay));
    const OwnershipTable before = replay.ownership();
    const Shard shard = shardWithData(replay);
    const HostId target = otherHost(before, shard.owner);
    QSignalSpy tables(&replay, &ClusterConnector::ownershipChanged);
    const MigrationId id = *replay.executeMove(moveOf(shard, target));
    QVERIFY(replay.advance(2000).ok());
    QCOMPARE(replay.moveProgress(id)->phase, MigrationPhase::Copying);
    QVERIFY(replay.abortMove(id).ok());
    runMoveToEnd(replay, id, kMsPerMinute);
    QCOMPARE(replay.moveProgress(id)->phase, MigrationPhase::Aborted);
    QVERIFY(replay.moveProgress(id)->error.startsWith(QLatin1String("aborted by the operator")));
    QCOMPARE(tables.count(), 0);
    QVERIFY(replay.ownership() == before);

    // An injected copy failure rolls back the same way.
    const MigrationId failing = *replay.executeMove(moveOf(shard, target));
    QVERIFY(replay.injectMoveFailure(failing, MigrationPhase::Copying, 1).ok());
    runMoveToEnd(replay, failing, 5 * kMsPerMinute);
    QCOMPARE(replay.moveProgress(failing)->phase, MigrationPhase::Failed);
    QVERIFY(replay.ownership() == before);
}

void TestTraceReplayConnector::seekRollsBackRunningMovesAndKeepsTheTable() {
    const std::vector<Event> events = makeEvents(6000, 10 * kMsPerMinute, 10);
    const QString path = pathOf(QStringLiteral("seekmove.csv"));
    writeTrace(path, events);
    TraceReplayConnector replay(smallOptions(path));
    QVERIFY(startAndWait(replay));
    const OwnershipTable before = replay.ownership();
    const std::vector<Shard>& shards = before.shards();

    // One move completes, then a second is under way when the operator seeks back.
    const MigrationId done =
        *replay.executeMove(moveOf(shards[0], otherHost(before, shards[0].owner)));
    runMoveToEnd(replay, done, 5 * kMsPerMinute);
    QCOMPARE(replay.moveProgress(done)->phase, MigrationPhase::Done);
    const OwnershipTable afterMove = replay.ownership();
    const Shard second = shardWithData(replay);
    const MigrationId running =
        *replay.executeMove(moveOf(*afterMove.shardById(second.id),
                                   otherHost(afterMove, afterMove.shardById(second.id)->owner)));
    QVERIFY(replay.advance(2000).ok());
    QVERIFY(!isTerminal(replay.moveProgress(running)->phase));

    QSignalSpy progress(&replay, &ClusterConnector::migrationProgress);
    QSignalSpy tables(&replay, &ClusterConnector::ownershipChanged);
    QVERIFY(replay.seek(replay.startMs() + 3000).ok());
    QVERIFY(progress.count() >= 1);
    const auto last = progress.last().at(0).value<MigrationProgress>();
    QCOMPARE(last.id, running);
    QCOMPARE(last.phase, MigrationPhase::Aborted);
    QVERIFY2(last.error.startsWith(QLatin1String("replay seeked to 2026-01-05T00:00:03")),
             qPrintable(last.error));
    QCOMPARE(tables.count(), 0);
    QVERIFY(replay.ownership() == afterMove); // the completed move stays
    // The range is free again.
    QVERIFY(replay
                .executeMove(moveOf(*afterMove.shardById(second.id),
                                    otherHost(afterMove, afterMove.shardById(second.id)->owner)))
                .ok());
}

void TestTraceReplayConnector::boundaryChangesApply() {
    const std::vector<Event> events = makeEvents(1000, kMsPerMinute, 11);
    const QString path = pathOf(QStringLiteral("split.csv"));
    writeTrace(path, events);
    TraceReplayConnector replay(smallOptions(path));
    QVERIFY(startAndWait(replay));
    const OwnershipTable before = replay.ownership();
    const Shard shard = before.shards()[2];
    const CellSpan cells = replay.topology().cells.cellsStartingIn(shard.range);
    QVERIFY(cells.size() >= 2);
    SplitInstruction split;
    split.shard = shard.id;
    split.at = replay.topology().cells.start((cells.first + cells.end) / 2);
    split.new_shard = before.nextFreeShardId();
    QVERIFY(replay.changeBoundaries({split}, {}).ok());
    QCOMPARE(replay.ownership().shardCount(), before.shardCount() + 1);
    Recorder recorder(replay);
    QVERIFY(replay.advance(replay.endMs()).ok());
    QVERIFY(recorder.sum() ==
            countIn(events, replay.topology().cells, replay.startMs(), replay.endMs()));
}

void TestTraceReplayConnector::sameFileSameCallsSameSignals() {
    std::vector<Event> events = makeEvents(4000, 5 * kMsPerMinute, 12);
    shuffle(events, 100, 3);
    const QString path = pathOf(QStringLiteral("same.csv"));
    writeTrace(path, events);
    const auto run = [&](std::uint64_t failureSeed) {
        TraceReplayOptions options = smallOptions(path);
        options.move.failure_rate = 0.3;
        options.move.seed = failureSeed;
        TraceReplayConnector replay(options);
        Recorder recorder(replay);
        if (!startAndWait(replay))
            return QStringList();
        const OwnershipTable table = replay.ownership();
        for (std::size_t i = 0; i < 4; ++i) {
            const Shard& shard = table.shards()[i * 3];
            (void)replay.executeMove(moveOf(shard, otherHost(table, shard.owner)));
        }
        (void)replay.advance(20'000);
        (void)replay.pauseMove(2);
        (void)replay.seek(replay.startMs() + 7'500);
        (void)replay.advance(30'000);
        (void)replay.seek(replay.startMs() + 100'000);
        (void)replay.advance(15'000);
        return recorder.log;
    };
    const QStringList first = run(1);
    QVERIFY(first.size() > 100);
    QCOMPARE(run(1), first);
    QVERIFY(run(2) != first); // the failure draws do depend on the seed
}

void TestTraceReplayConnector::pauseResumeAndSpeed() {
    const std::vector<Event> events = makeEvents(3000, kMsPerHour, 13);
    const QString path = pathOf(QStringLiteral("paced.csv"));
    writeTrace(path, events);
    TraceReplayOptions options = smallOptions(path);
    options.timer = true;
    options.step_ms = 0;
    options.speed = 1000; // auto step: 100 s, ten per wall second
    TraceReplayConnector paused(options);
    TraceReplayConnector running(options);
    QSignalSpy pausedBatches(&paused, &ClusterConnector::accessBatch);
    QSignalSpy runningBatches(&running, &ClusterConnector::accessBatch);
    QVERIFY(startAndWait(paused));
    QCOMPARE(paused.stepMs(), TimeMs(100'000));
    paused.pause();
    QCOMPARE(paused.state(), ConnectorState::Paused);
    const TimeMs heldAt = paused.clusterTime();
    QVERIFY(startAndWait(running));
    // While the other replay plays three steps, the paused one stands still.
    QTRY_VERIFY_WITH_TIMEOUT(runningBatches.count() >= 3, 10'000);
    QCOMPARE(pausedBatches.count(), 0);
    QCOMPARE(paused.clusterTime(), heldAt);
    paused.resume();
    QCOMPARE(paused.state(), ConnectorState::Running);
    QTRY_VERIFY_WITH_TIMEOUT(pausedBatches.count() >= 2, 10'000);
    QVERIFY(paused.clusterTime() > heldAt);

    // Speed: validated; the auto step follows it; 0 plays as fast as possible, to the end.
    QVERIFY(text(paused.setSpeed(0.5)).contains(QLatin1String("speed")));
    QVERIFY(!paused.setSpeed(2000).ok());
    QVERIFY(paused.setSpeed(500).ok());
    QCOMPARE(paused.stepMs(), TimeMs(50'000));
    QCOMPARE(paused.options().speed, 500.0);
    QVERIFY(paused.setSpeed(0).ok());
    QTRY_COMPARE_WITH_TIMEOUT(paused.state(), ConnectorState::Stopped, 10'000);
    QCOMPARE(paused.clusterTime(), paused.endMs());
    running.stop();
    QCOMPARE(running.state(), ConnectorState::Stopped);
}

void TestTraceReplayConnector::stopWhilePreparingDropsTheResult() {
    const std::vector<Event> events = makeEvents(2000, kMsPerMinute, 14);
    const QString path = pathOf(QStringLiteral("stop.csv"));
    writeTrace(path, events);
    TraceReplayConnector replay(smallOptions(path));
    QSignalSpy states(&replay, &ClusterConnector::stateChanged);
    QSignalSpy topologies(&replay, &ClusterConnector::topologyChanged);
    replay.start();
    replay.stop();
    QCOMPARE(replay.state(), ConnectorState::Stopped);
    QThreadPool::globalInstance()->waitForDone();
    QCoreApplication::processEvents(); // the watcher's finished signal, if the pass delivered
    QCoreApplication::sendPostedEvents();
    QCOMPARE(replay.state(), ConnectorState::Stopped);
    QCOMPARE(topologies.count(), 0);
    QVERIFY(!replay.prepared());
    QVERIFY(startAndWait(replay));
    QCOMPARE(topologies.count(), 1);
}

void TestTraceReplayConnector::cellDataBytesFollowTheTrace() {
    // k1: put 100 then put 300 -> 300. k2: put 500, delete -> 0. k3: get of 700 -> 700.
    // k4: put without bytes -> the default. k5: delete, then put 50 -> 50. k6: scan only ->
    // default.
    const std::string csv = "ts,key,op,bytes\n"
                            "1000,k1,put,100\n"
                            "2000,k2,put,500\n"
                            "3000,k3,get,700\n"
                            "4000,k1,put,300\n"
                            "5000,k2,delete,\n"
                            "6000,k4,put,\n"
                            "7000,k5,delete,\n"
                            "8000,k5,put,50\n"
                            "9000,k6,scan,9999\n"
                            "9500,k1,get,\n";
    const QString path = pathOf(QStringLiteral("data.csv"));
    writeText(path, csv);
    TraceReplayOptions options = smallOptions(path);
    options.default_value_bytes = 1000;
    TraceReplayConnector replay(options);
    QVERIFY(startAndWait(replay));
    QVERIFY(replay.stats().distinct_keys_exact);
    QCOMPARE(replay.stats().distinct_keys, 6.0);
    const KeyCells& cells = replay.topology().cells;
    QCOMPARE(cells.size(), std::size_t(7)); // fewer keys than cells: "" and one per key
    const std::map<std::string, double> stored{{"k1", 300},  {"k2", 0},  {"k3", 700},
                                               {"k4", 1000}, {"k5", 50}, {"k6", 1000}};
    std::vector<double> expected(cells.size(), 0.0);
    for (const auto& [key, bytes] : stored)
        expected[cells.cellOf(key)] += bytes;
    QCOMPARE(replay.cellDataBytes(), expected);
}

void TestTraceReplayConnector::cellDataBytesEstimatedFromASample() {
    // 4000 distinct keys of 100 bytes each; a sample of 256 keys estimates them.
    std::string csv = "ts,key,op,bytes\n";
    for (int i = 0; i < 4000; ++i)
        csv += std::to_string(kTraceStart + i * 10) + ",key" + std::to_string(i * 7919 % 4000) +
               ",put,100\n";
    const QString path = pathOf(QStringLiteral("sampled.csv"));
    writeText(path, csv);
    TraceReplayOptions options = smallOptions(path);
    options.key_sample = 256;
    TraceReplayConnector replay(options);
    QVERIFY(startAndWait(replay));
    QVERIFY(!replay.stats().distinct_keys_exact);
    const double distinct = replay.stats().distinct_keys;
    QVERIFY2(distinct > 3200 && distinct < 4800, qPrintable(QString::number(distinct)));
    double data = 0.0;
    for (const double bytes : replay.cellDataBytes())
        data += bytes;
    QCOMPARE(data, distinct * 100);
    QCOMPARE(replay.topology().cells.size(), std::size_t(64));
}

void TestTraceReplayConnector::fileChangedWhileReplayingFails() {
    const std::vector<Event> events = makeEvents(1000, kMsPerMinute, 15);
    const QString path = pathOf(QStringLiteral("changed.csv"));
    writeTrace(path, events);
    TraceReplayOptions options = smallOptions(path);
    options.cache_bytes = 1;
    TraceReplayConnector replay(options);
    QVERIFY(startAndWait(replay));
    QVERIFY(replay.advance(5000).ok());
    writeTrace(path, makeEvents(900, kMsPerMinute, 16)); // shorter: another size
    QSignalSpy errors(&replay, &ClusterConnector::errorOccurred);
    QVERIFY(!replay.advance(30'000).ok());
    QCOMPARE(replay.state(), ConnectorState::Failed);
    QCOMPARE(errors.count(), 1);
    QVERIFY2(errors.at(0).at(0).toString().contains(QLatin1String("changed since it was indexed")),
             qPrintable(errors.at(0).at(0).toString()));
}

void TestTraceReplayConnector::optionsAreValidated() {
    TraceReplayOptions options = smallOptions(QStringLiteral("x.csv"));
    QVERIFY(validate(options).ok());
    options.path.clear();
    QVERIFY(text(validate(options)).contains(QLatin1String("path")));
    options = smallOptions(QStringLiteral("x.csv"));
    options.speed = 0.5;
    QVERIFY(text(validate(options)).contains(QLatin1String("speed")));
    options = smallOptions(QStringLiteral("x.csv"));
    options.block_bytes = 10;
    QVERIFY(text(validate(options)).contains(QLatin1String("block_bytes")));
    options = smallOptions(QStringLiteral("x.csv"));
    options.move.copy_bytes_per_s = 0;
    QVERIFY(text(validate(options)).contains(QLatin1String("move.copy_bytes_per_s")));

    options = smallOptions(pathOf(QStringLiteral("never.csv")));
    options.hosts = 0;
    TraceReplayConnector replay(options);
    QSignalSpy errors(&replay, &ClusterConnector::errorOccurred);
    replay.start();
    QCOMPARE(replay.state(), ConnectorState::Failed); // at once: nothing to read
    QCOMPARE(errors.count(), 1);
    QVERIFY(errors.at(0).at(0).toString().contains(QLatin1String("hosts")));
}

QTEST_GUILESS_MAIN(TestTraceReplayConnector)
#include "tst_trace_replay_connector.moc"
