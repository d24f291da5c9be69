#include "connector_test_moves.h"
#include "simulated_cluster_connector.h"

#include <QSignalSpy>
#include <QtTest>

#include <algorithm>
#include <map>
#include <vector>

using namespace rangepilot;
using rangepilot::testing::moveOf;
using rangepilot::testing::otherHost;

namespace {

// A small cluster that runs fast in a Debug build: 4 hosts x 4 shards, 256 cells, 100k keys of
// 1410 bytes (8.8 MB per shard), copied at 1 MB/s so a move spans several steps.
SimulatedClusterOptions smallOptions() {
    SimulatedClusterOptions options;
    options.scenario = Scenario::HotspotDrift;
    options.hours = 2;
    options.rate_eps = 200;
    options.seed = 3;
    options.key_count = 100'000;
    options.hosts = 4;
    options.shards_per_host = 4;
    options.cells = 256;
    options.step_ms = 1000;
    options.timer = false;
    options.move.copy_bytes_per_s = 1e6;
    return options;
}

QString text(const Status& status) {
    return QString::fromStdString(status.message());
}

template <typename T>
QString text(const Result<T>& result) {
    return result ? QString() : QString::fromStdString(result.error().message);
}

// Ops per shard id in one batch: the cells whose start lies in the shard's range.
std::map<ShardId, std::uint64_t> opsPerShard(const OwnershipTable& table, const KeyCells& cells,
                                             const AccessBatch& batch) {
    std::map<ShardId, std::uint64_t> ops;
    for (const Shard& shard : table.shards()) {
        const CellSpan span = cells.cellsStartingIn(shard.range);
        for (CellIndex cell = span.first; cell < span.end; ++cell)
            ops[shard.id] += batch.cells[cell].ops();
    }
    return ops;
}

// The ops each host served in a batch under `table` (shards on cell boundaries, no moves).
std::vector<double> opsPerHost(const OwnershipTable& table, const ClusterTopology& topology,
                               const AccessBatch& batch) {
    std::vector<double> ops(topology.cluster.hosts.size(), 0.0);
    const std::map<ShardId, std::uint64_t> perShard = opsPerShard(table, topology.cells, batch);
    for (const Shard& shard : table.shards())
        ops[*topology.cluster.indexOf(shard.owner)] += static_cast<double>(perShard.at(shard.id));
    return ops;
}

SplitInstruction splitOf(ShardId shard, const Key& at, ShardId newShard) {
    SplitInstruction split;
    split.shard = shard;
    split.at = at;
    split.new_shard = newShard;
    return split;
}

MergeInstruction mergeOf(ShardId left, ShardId right) {
    MergeInstruction merge;
    merge.left = left;
    merge.right = right;
    return merge;
}

// OwnershipTable has no public default constructor, which QVariant::value() needs.
const OwnershipTable& tableIn(const QVariant& variant) {
    Q_ASSERT(variant.metaType() == QMetaType::fromType<OwnershipTable>());
    return *static_cast<const OwnershipTable*>(variant.constData());
}

// Advances step by step until the move ends (at most `limitMs`).
void runMoveToEnd(SimulatedClusterConnector& cluster, MigrationId id, TimeMs limitMs) {
    for (TimeMs spent = 0; spent < limitMs && !isTerminal(cluster.moveProgress(id)->phase);
         spent += cluster.stepMs())
        QVERIFY(cluster.advance(cluster.stepMs()).ok());
}

} // namespace

class TestSimulatedClusterConnector : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void startEmitsTopologyAndOwnership();
    void autoCapacityCoversThePeakMinute();
    void stateChangesOnStopAndPause();
    void accessBatchesMatchTheGenerator();
    void hostUsageFollowsTheOwners();
    void moveChangesTheOwnerExactlyAtDone();
    void ownerChangesAtDoneWhenCutoverAndDoneShareAStep();
    void ownershipIsTheRealTableBeforeStart();
    void endedMovesLeaveTheTableUnchanged_data();
    void endedMovesLeaveTheTableUnchanged();
    void failureRateOneFailsEveryMove();
    void executeMoveErrorsNameTheReason_data();
    void executeMoveErrorsNameTheReason();
    void moveControlsOnUnknownIds();
    void splitThenMerge();
    void boundaryChangesAvoidMovingRanges();
    void sameSeedSameBatches();
    void sourceUsageDropsAfterCutover();
    void clockStopsAtTheWorkloadsEnd();
    void optionsAreValidated();
    void autoStep_data();
    void autoStep();
};

void TestSimulatedClusterConnector::startEmitsTopologyAndOwnership() {
    SimulatedClusterConnector cluster(smallOptions());
    QSignalSpy states(&cluster, &ClusterConnector::stateChanged);
    QSignalSpy topologies(&cluster, &ClusterConnector::topologyChanged);
    QSignalSpy tables(&cluster, &ClusterConnector::ownershipChanged);
    QVERIFY(!cluster.advance(1000).ok()); // not started
    cluster.start();

    QCOMPARE(cluster.state(), ConnectorState::Running);
    QCOMPARE(states.count(), 2);
    QCOMPARE(states.at(0).at(0).value<ConnectorState>(), ConnectorState::Starting);
    QCOMPARE(states.at(1).at(0).value<ConnectorState>(), ConnectorState::Running);
    QCOMPARE(topologies.count(), 1);
    const auto topology = topologies.at(0).at(0).value<ClusterTopology>();
    QCOMPARE(topology.cluster.hosts.size(), std::size_t(4));
    QCOMPARE(topology.cluster.hosts[0].id, HostId("host-1"));
    QCOMPARE(topology.cells.size(), std::size_t(256));
    QVERIFY(topology.cluster.hosts[0].capacity[Resource::Ops] > 0.0);
    QCOMPARE(topology.cluster.hosts[0].capacity[Resource::Ops], cluster.capacityOps());
    QCOMPARE(tables.count(), 1);
    const OwnershipTable& table = tableIn(tables.at(0).at(0));
    QCOMPARE(table.shardCount(), std::size_t(16));
    QCOMPARE(table.epoch(), std::uint64_t(1));
    QVERIFY(table == cluster.ownership());
    QCOMPARE(cluster.clusterTime(), kDefaultWorkloadStartMs);
}

// The auto capacity is estimated without generating the events: a perfectly balanced cluster
// must still stay under headroom in the busiest actual minute, without wasting much capacity.
void TestSimulatedClusterConnector::autoCapacityCoversThePeakMinute() {
    SimulatedClusterConnector cluster(smallOptions());
    WorkloadGenerator generator(cluster.workloadOptions());
    std::vector<std::uint64_t> perMinute;
    TraceEvent event;
    while (generator.next(event)) {
        const auto minute =
            static_cast<std::size_t>((event.ts_ms - generator.startMs()) / kMsPerMinute);
        perMinute.resize(std::max(perMinute.size(), minute + 1));
        ++perMinute[minute];
    }
    const double peakOpsPerS =
        static_cast<double>(*std::max_element(perMinute.begin(), perMinute.end())) / 60.0;
    const double modeledPeak = cluster.capacityOps() * 4 * 0.75;
    QVERIFY2(
        modeledPeak >= peakOpsPerS && modeledPeak < 1.2 * peakOpsPerS,
        qPrintable(QStringLiteral("estimated %1, actual %2").arg(modeledPeak).arg(peakOpsPerS)));
}

void TestSimulatedClusterConnector::stateChangesOnStopAndPause() {
    SimulatedClusterConnector cluster(smallOptions());
    cluster.start();
    QSignalSpy states(&cluster, &ClusterConnector::stateChanged);
    cluster.pause();
    QCOMPARE(cluster.state(), ConnectorState::Paused);
    QVERIFY(cluster.advance(2000).ok()); // a paused clock can still be stepped by hand
    cluster.resume();
    cluster.stop();
    QCOMPARE(states.count(), 3);
    QCOMPARE(states.at(0).at(0).value<ConnectorState>(), ConnectorState::Paused);
    QCOMPARE(states.at(1).at(0).value<ConnectorState>(), ConnectorState::Running);
    QCOMPARE(states.at(2).at(0).value<ConnectorState>(), ConnectorState::Stopped);
    QVERIFY(!cluster.advance(1000).ok());
    QVERIFY(!cluster.executeMove(moveOf(cluster.ownership().shards()[0], "host-2")).ok());
}

void TestSimulatedClusterConnector::accessBatchesMatchTheGenerator() {
    SimulatedClusterConnector cluster(smallOptions());
    cluster.start();
    QSignalSpy batches(&cluster, &ClusterConnector::accessBatch);
    QSignalSpy clocks(&cluster, &ClusterConnector::clockAdvanced);
    const TimeMs start = cluster.clusterTime();
    const TimeMs span = 10 * kMsPerMinute + 500; // the last step is half a second
    QVERIFY(cluster.advance(span).ok());
    QCOMPARE(cluster.clusterTime(), start + span);
    QCOMPARE(batches.count(), 601);
    QCOMPARE(clocks.count(), 601);
    QCOMPARE(clocks.last().at(0).value<TimeMs>(), start + span);

    // The same events, generated and counted here.
    const KeyCells& cells = cluster.topology().cells;
    std::vector<CellLoad> expected(cells.size());
    WorkloadGenerator generator(cluster.workloadOptions());
    TraceEvent event;
    std::uint64_t events = 0;
    while (generator.next(event) && event.ts_ms < start + span) {
        CellLoad& load = expected[cells.cellOf(event.key)];
        (isWrite(event.op) ? load.writes : load.reads) += 1;
        load.bytes += event.bytes;
        load.latency_us += event.latency_us;
        ++events;
    }
    QVERIFY(events > 100'000);

    std::vector<CellLoad> counted(cells.size());
    TimeMs expectedStart = start;
    std::uint64_t total = 0;
    double eventsFromRates = 0.0;
    for (int i = 0; i < batches.count(); ++i) {
        const auto batch = batches.at(i).at(0).value<AccessBatch>();
        QCOMPARE(batch.start_ms, expectedStart);
        QVERIFY(batch.end_ms > batch.start_ms);
        expectedStart = batch.end_ms;
        QCOMPARE(batch.cells.size(), cells.size());
        for (std::size_t cell = 0; cell < cells.size(); ++cell) {
            counted[cell].add(batch.cells[cell]);
            total += batch.cells[cell].ops();
        }
        eventsFromRates += clocks.at(i).at(1).toDouble() *
                           static_cast<double>(batch.end_ms - batch.start_ms) / kMsPerSecond;
    }
    QCOMPARE(total, events);
    QCOMPARE(cluster.eventsGenerated(), events);
    QVERIFY(counted == expected);
    QCOMPARE(std::llround(eventsFromRates), static_cast<long long>(events));
}

void TestSimulatedClusterConnector::hostUsageFollowsTheOwners() {
    SimulatedClusterConnector cluster(smallOptions());
    cluster.start();
    QSignalSpy batches(&cluster, &ClusterConnector::accessBatch);
    QSignalSpy usages(&cluster, &ClusterConnector::hostUsage);
    QVERIFY(cluster.advance(30 * kMsPerSecond).ok());
    QCOMPARE(usages.count(), batches.count());
    for (int i = 0; i < batches.count(); ++i) {
        const auto batch = batches.at(i).at(0).value<AccessBatch>();
        const auto usage = usages.at(i).at(0).value<HostUsageSample>();
        QCOMPARE(usage.start_ms, batch.start_ms);
        QCOMPARE(usage.end_ms, batch.end_ms);
        const std::vector<double> ops = opsPerHost(cluster.ownership(), cluster.topology(), batch);
        QCOMPARE(usage.usage.size(), ops.size());
        for (std::size_t host = 0; host < ops.size(); ++host)
            QCOMPARE(usage.usage[host][Resource::Ops], ops[host]); // 1 s steps: ops = ops/s
    }
}

void TestSimulatedClusterConnector::moveChangesTheOwnerExactlyAtDone() {
    SimulatedClusterConnector cluster(smallOptions());
    cluster.start();
    QVERIFY(cluster.advance(kMsPerMinute).ok());
    const OwnershipTable before = cluster.ownership();
    const Shard shard = before.shards()[3];
    const HostId target = otherHost(before, shard.owner);

    struct Seen {
        MigrationPhase phase;
        std::uint64_t epoch;
        HostId owner;
    };
    std::vector<Seen> seen;
    connect(&cluster, &ClusterConnector::migrationProgress, this,
            [&](const MigrationProgress& progress) {
                const OwnershipTable now = cluster.ownership();
                seen.push_back({progress.phase, now.epoch(), now.shardById(shard.id)->owner});
            });
    QSignalSpy tables(&cluster, &ClusterConnector::ownershipChanged);
    const Result<MigrationId> id = cluster.executeMove(moveOf(shard, target));
    QVERIFY2(id.ok(), qPrintable(text(id)));
    runMoveToEnd(cluster, *id, 10 * kMsPerMinute);

    std::vector<MigrationPhase> phases;
    int copyingReports = 0;
    for (const Seen& report : seen) {
        if (phases.empty() || phases.back() != report.phase)
            phases.push_back(report.phase);
        copyingReports += report.phase == MigrationPhase::Copying ? 1 : 0;
        const bool done = report.phase == MigrationPhase::Done;
        QCOMPARE(report.epoch, before.epoch() + (done ? 1 : 0));
        QCOMPARE(report.owner, done ? target : shard.owner);
    }
    const std::vector<MigrationPhase> expected{MigrationPhase::Shadowing, MigrationPhase::Copying,
                                               MigrationPhase::CatchingUp,
                                               MigrationPhase::CuttingOver, MigrationPhase::Done};
    QVERIFY(phases == expected);
    // 8.8 MB at 1 MB/s: a report for each of about nine 1 s steps of copying.
    QVERIFY2(copyingReports >= 8, qPrintable(QString::number(copyingReports)));
    QCOMPARE(tables.count(), 1);
    const OwnershipTable& after = tableIn(tables.at(0).at(0));
    QCOMPARE(after.epoch(), before.epoch() + 1);
    QCOMPARE(after.shardById(shard.id)->owner, target);
    QCOMPARE(cluster.moveProgress(*id)->bytes_copied, 100'000.0 / 16 * 1410);
}

// With 10 s steps the cutover (500 ms) begins and commits within one step: its CuttingOver
// report must still see the old owner, and the table is announced once, before Done.
void TestSimulatedClusterConnector::ownerChangesAtDoneWhenCutoverAndDoneShareAStep() {
    SimulatedClusterOptions options = smallOptions();
    options.step_ms = 10'000;
    options.move.copy_bytes_per_s = 50e6;
    SimulatedClusterConnector cluster(options);
    cluster.start();
    const OwnershipTable before = cluster.ownership();
    const Shard shard = before.shards()[2];
    const HostId target = otherHost(before, shard.owner);
    std::vector<QString> order;
    connect(&cluster, &ClusterConnector::migrationProgress, this,
            [&](const MigrationProgress& progress) {
                const HostId owner = cluster.ownership().shardById(shard.id)->owner;
                order.push_back(migrationPhaseName(progress.phase) + QLatin1Char('@') +
                                QString::fromStdString(owner));
            });
    connect(&cluster, &ClusterConnector::ownershipChanged, this, [&](const OwnershipTable& table) {
        QCOMPARE(cluster.ownership(), table);
        order.push_back(QStringLiteral("table"));
    });
    const MigrationId id = *cluster.executeMove(moveOf(shard, target));
    runMoveToEnd(cluster, id, 5 * kMsPerMinute);
    QCOMPARE(cluster.moveProgress(id)->phase, MigrationPhase::Done);
    const QString from = QString::fromStdString(shard.owner);
    const QString to = QString::fromStdString(target);
    const auto cutover =
        std::find(order.begin(), order.end(), QStringLiteral("cutting over@") + from);
    QVERIFY2(cutover != order.end(),
             qPrintable(QStringList(order.begin(), order.end()).join(u' ')));
    QVERIFY(std::next(cutover) != order.end());
    QCOMPARE(*std::next(cutover), QStringLiteral("table"));
    QCOMPARE(order.back(), QStringLiteral("done@") + to);
    QCOMPARE(std::count(order.begin(), order.end(), QStringLiteral("table")), 1);
}

// Built in the constructor: the real table answers before start(), as it did before the model
// was shared with trace replay.
void TestSimulatedClusterConnector::ownershipIsTheRealTableBeforeStart() {
    SimulatedClusterConnector cluster(smallOptions());
    QCOMPARE(cluster.ownership().shardCount(), std::size_t(16));
    QCOMPARE(cluster.topology().cells.size(), std::size_t(256));
    QCOMPARE(cluster.startMs(), kDefaultWorkloadStartMs);
    QSignalSpy tables(&cluster, &ClusterConnector::ownershipChanged);
    cluster.start();
    QCOMPARE(tables.count(), 1);
    QVERIFY(tableIn(tables.at(0).at(0)) == cluster.ownership());
}

void TestSimulatedClusterConnector::endedMovesLeaveTheTableUnchanged_data() {
    QTest::addColumn<QString>("how");
    QTest::addColumn<int>("finalPhase");
    QTest::addColumn<QString>("error");
    QTest::newRow("abort") << QStringLiteral("abort") << int(MigrationPhase::Aborted)
                           << QStringLiteral("aborted by the operator while copying");
    QTest::newRow("copy failure") << QStringLiteral("copy") << int(MigrationPhase::Failed)
                                  << QStringLiteral("copy of batch 2/2 to {to} failed");
    QTest::newRow("cutover failure") << QStringLiteral("cutover") << int(MigrationPhase::Failed)
                                     << QStringLiteral("cutover of shard {shard} to {to} failed");
}

void TestSimulatedClusterConnector::endedMovesLeaveTheTableUnchanged() {
    QFETCH(QString, how);
    QFETCH(int, finalPhase);
    QFETCH(QString, error);
    SimulatedClusterConnector cluster(smallOptions());
    cluster.start();
    const OwnershipTable before = cluster.ownership();
    const Shard shard = before.shards()[5];
    const HostId target = otherHost(before, shard.owner);
    QSignalSpy tables(&cluster, &ClusterConnector::ownershipChanged);
    const Result<MigrationId> id = cluster.executeMove(moveOf(shard, target));
    QVERIFY(id.ok());
    QCOMPARE(cluster.moveProgress(*id)->batches_total, std::size_t(2)); // 8.8 MB in 8 MB batches
    if (how == QLatin1String("copy"))
        QVERIFY(cluster.injectMoveFailure(*id, MigrationPhase::Copying, 2).ok());
    if (how == QLatin1String("cutover"))
        QVERIFY(cluster.injectMoveFailure(*id, MigrationPhase::CuttingOver).ok());
    QVERIFY(cluster.advance(3000).ok());
    if (how == QLatin1String("abort")) {
        QCOMPARE(cluster.moveProgress(*id)->phase, MigrationPhase::Copying);
        QVERIFY(cluster.abortMove(*id).ok());
    }
    runMoveToEnd(cluster, *id, 10 * kMsPerMinute);

    const MigrationProgress last = *cluster.moveProgress(*id);
    QCOMPARE(int(last.phase), finalPhase);
    error.replace(QLatin1String("{to}"), QString::fromStdString(target));
    error.replace(QLatin1String("{shard}"), QString::number(shard.id));
    QVERIFY2(last.error.startsWith(error), qPrintable(last.error));
    QCOMPARE(tables.count(), 0);
    QVERIFY(cluster.ownership() == before);
    // The range is free again: a new move may start.
    QVERIFY(cluster.executeMove(moveOf(shard, target)).ok());
}

void TestSimulatedClusterConnector::failureRateOneFailsEveryMove() {
    SimulatedClusterOptions options = smallOptions();
    options.move.failure_rate = 1.0;
    SimulatedClusterConnector cluster(options);
    cluster.start();
    const OwnershipTable before = cluster.ownership();
    std::vector<MigrationId> ids;
    for (std::size_t i = 0; i < 4; ++i) {
        const Shard& shard = before.shards()[i];
        ids.push_back(*cluster.executeMove(moveOf(shard, otherHost(before, shard.owner))));
    }
    QVERIFY(cluster.advance(kMsPerMinute).ok());
    for (const MigrationId id : ids)
        QCOMPARE(cluster.moveProgress(id)->phase, MigrationPhase::Failed);
    QVERIFY(cluster.ownership() == before);
}

void TestSimulatedClusterConnector::executeMoveErrorsNameTheReason_data() {
    QTest::addColumn<QString>("mistake");
    QTest::addColumn<QString>("reason");
    QTest::newRow("unknown shard") << QStringLiteral("shard") << QStringLiteral("no such shard");
    QTest::newRow("wrong source") << QStringLiteral("from") << QStringLiteral("it is owned by");
    QTest::newRow("unknown target")
        << QStringLiteral("to") << QStringLiteral("unknown target host 'host-99'");
    QTest::newRow("same host") << QStringLiteral("same") << QStringLiteral("it is already on");
    QTest::newRow("stale range") << QStringLiteral("range") << QStringLiteral("its range is now");
    QTest::newRow("batch outside") << QStringLiteral("batch") << QStringLiteral("is not inside");
    QTest::newRow("already moving")
        << QStringLiteral("moving") << QStringLiteral("is already moving (migration 1, shadowing)");
}

void TestSimulatedClusterConnector::executeMoveErrorsNameTheReason() {
    QFETCH(QString, mistake);
    QFETCH(QString, reason);
    SimulatedClusterConnector cluster(smallOptions());
    cluster.start();
    const Shard shard = cluster.ownership().shards()[2];
    const HostId target = otherHost(cluster.ownership(), shard.owner);
    MoveInstruction move = moveOf(shard, target);
    if (mistake == QLatin1String("shard"))
        move.shard = 999;
    if (mistake == QLatin1String("from"))
        move.from = target;
    if (mistake == QLatin1String("to"))
        move.to = "host-99";
    if (mistake == QLatin1String("same"))
        move.to = shard.owner;
    if (mistake == QLatin1String("range"))
        move.range.end = shard.range.end + "0";
    if (mistake == QLatin1String("batch"))
        move.batches = {KeyRange{shard.range.start, shard.range.end}, KeyRange{"", "a"}};
    if (mistake == QLatin1String("moving"))
        QVERIFY(cluster.executeMove(moveOf(shard, target)).ok());

    const Result<MigrationId> result = cluster.executeMove(move);
    QVERIFY(!result.ok());
    QVERIFY2(text(result).contains(reason), qPrintable(text(result)));
    QVERIFY(text(result).startsWith(QLatin1String("cannot move shard")));
}

void TestSimulatedClusterConnector::moveControlsOnUnknownIds() {
    SimulatedClusterConnector cluster(smallOptions());
    cluster.start();
    QVERIFY(text(cluster.pauseMove(42)).contains(QLatin1String("no migration 42")));
    QVERIFY(text(cluster.resumeMove(42)).contains(QLatin1String("no migration 42")));
    QVERIFY(text(cluster.abortMove(42)).contains(QLatin1String("no migration 42")));

    // Pausing a move holds its progress across steps; resuming lets it finish.
    const Shard shard = cluster.ownership().shards()[0];
    const MigrationId id =
        *cluster.executeMove(moveOf(shard, otherHost(cluster.ownership(), shard.owner)));
    QVERIFY(cluster.advance(3000).ok());
    QVERIFY(cluster.pauseMove(id).ok());
    const double held = cluster.moveProgress(id)->bytes_copied;
    QVERIFY(held > 0.0);
    QVERIFY(cluster.advance(20'000).ok());
    QCOMPARE(cluster.moveProgress(id)->phase, MigrationPhase::Paused);
    QCOMPARE(cluster.moveProgress(id)->bytes_copied, held);
    QVERIFY(cluster.resumeMove(id).ok());
    runMoveToEnd(cluster, id, 10 * kMsPerMinute);
    QCOMPARE(cluster.moveProgress(id)->phase, MigrationPhase::Done);
    QVERIFY(text(cluster.abortMove(id)).contains(QLatin1String("has already ended")));
}

void TestSimulatedClusterConnector::splitThenMerge() {
    SimulatedClusterConnector cluster(smallOptions());
    cluster.start();
    QSignalSpy tables(&cluster, &ClusterConnector::ownershipChanged);
    const OwnershipTable before = cluster.ownership();
    const Shard shard = before.shards()[4];
    const CellSpan cells = cluster.topology().cells.cellsStartingIn(shard.range);
    const Key middle = cluster.topology().cells.start((cells.first + cells.end) / 2);
    const ShardId right = before.nextFreeShardId();

    QVERIFY(cluster.changeBoundaries({splitOf(shard.id, middle, right)}, {}).ok());
    QCOMPARE(tables.count(), 1);
    const OwnershipTable split = cluster.ownership();
    QCOMPARE(split.epoch(), before.epoch() + 1);
    QCOMPARE(split.shardCount(), before.shardCount() + 1);
    QCOMPARE(split.shardById(right)->range.start, middle);
    QCOMPARE(split.shardById(right)->owner, shard.owner);
    QVERIFY(cluster.advance(5000).ok()); // events still route (straddle-free split at a cell start)

    QVERIFY(cluster.changeBoundaries({}, {mergeOf(shard.id, right)}).ok());
    QCOMPARE(tables.count(), 2);
    const OwnershipTable merged = cluster.ownership();
    QCOMPARE(merged.epoch(), before.epoch() + 2);
    QCOMPARE(merged.shards(), before.shards());

    // A bad instruction is named and changes nothing, even after a good one in the same call.
    const Status bad =
        cluster.changeBoundaries({splitOf(shard.id, middle, right), splitOf(999, "x", 1000)}, {});
    QVERIFY(!bad.ok());
    QVERIFY2(text(bad).startsWith(QLatin1String("split 2 of 2 (shard 999")), bad.message().c_str());
    QVERIFY(cluster.ownership() == merged);
    QCOMPARE(tables.count(), 2);
    // Shards on different hosts do not merge: a merge moves no data.
    const std::vector<Shard>& shards = merged.shards();
    for (std::size_t i = 0; i + 1 < shards.size(); ++i) {
        if (shards[i].owner == shards[i + 1].owner)
            continue;
        const Status apart =
            cluster.changeBoundaries({}, {mergeOf(shards[i].id, shards[i + 1].id)});
        QVERIFY(text(apart).contains(QLatin1String("a merge moves no data")));
        break;
    }
}

void TestSimulatedClusterConnector::boundaryChangesAvoidMovingRanges() {
    SimulatedClusterConnector cluster(smallOptions());
    cluster.start();
    const OwnershipTable before = cluster.ownership();
    const Shard shard = before.shards()[6];
    const Shard next = before.shards()[7];
    const MigrationId id = *cluster.executeMove(moveOf(shard, otherHost(before, shard.owner)));
    const CellSpan cells = cluster.topology().cells.cellsStartingIn(shard.range);
    const Key middle = cluster.topology().cells.start((cells.first + cells.end) / 2);

    const Status split = cluster.changeBoundaries({splitOf(shard.id, middle, 500)}, {});
    QVERIFY2(text(split).contains(
                 QStringLiteral("shard %1 is moving (migration %2)").arg(shard.id).arg(id)),
             split.message().c_str());
    const Status merge = cluster.changeBoundaries({}, {mergeOf(shard.id, next.id)});
    QVERIFY(text(merge).contains(QLatin1String("is moving")));
    QVERIFY(cluster.ownership() == before);
    // Once the move has ended, the same split applies.
    QVERIFY(cluster.abortMove(id).ok());
    runMoveToEnd(cluster, id, kMsPerMinute);
    QVERIFY(cluster.changeBoundaries({splitOf(shard.id, middle, 500)}, {}).ok());
}

void TestSimulatedClusterConnector::sameSeedSameBatches() {
    const auto batchesOf = [](std::uint64_t seed) {
        SimulatedClusterOptions options = smallOptions();
        options.seed = seed;
        SimulatedClusterConnector cluster(options);
        std::vector<std::vector<CellLoad>> batches;
        std::vector<TimeMs> ends;
        QObject::connect(&cluster, &ClusterConnector::accessBatch, [&](const AccessBatch& batch) {
            batches.push_back(batch.cells);
            ends.push_back(batch.end_ms);
        });
        cluster.start();
        const Shard shard = cluster.ownership().shards()[1];
        (void)cluster.executeMove(moveOf(shard, otherHost(cluster.ownership(), shard.owner)));
        (void)cluster.advance(2 * kMsPerMinute);
        return std::make_pair(batches, ends);
    };
    const auto first = batchesOf(5);
    QCOMPARE(first.first.size(), std::size_t(120));
    QVERIFY(batchesOf(5) == first);
    QVERIFY(batchesOf(6).first != first.first);
}

void TestSimulatedClusterConnector::sourceUsageDropsAfterCutover() {
    SimulatedClusterOptions options = smallOptions();
    options.rate_eps = 2000;
    options.step_ms = 10'000;
    options.move.copy_bytes_per_s = 50e6;
    SimulatedClusterConnector cluster(options);
    cluster.start();
    AccessBatch lastBatch;
    HostUsageSample lastUsage;
    connect(&cluster, &ClusterConnector::accessBatch, this,
            [&](const AccessBatch& batch) { lastBatch = batch; });
    connect(&cluster, &ClusterConnector::hostUsage, this,
            [&](const HostUsageSample& usage) { lastUsage = usage; });
    QVERIFY(cluster.advance(5 * kMsPerMinute).ok());

    // The hottest shard carries the hot spot: about a third of the events.
    const OwnershipTable before = cluster.ownership();
    const std::map<ShardId, std::uint64_t> perShard =
        opsPerShard(before, cluster.topology().cells, lastBatch);
    const auto hottest =
        std::max_element(perShard.begin(), perShard.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    const Shard shard = *before.shardById(hottest->first);
    const double shardOpsPerS = static_cast<double>(hottest->second) / 10.0;
    QVERIFY2(shardOpsPerS > 400.0, qPrintable(QString::number(shardOpsPerS)));
    const std::size_t source = *cluster.topology().cluster.indexOf(shard.owner);
    const HostId targetId = otherHost(before, shard.owner);
    const std::size_t target = *cluster.topology().cluster.indexOf(targetId);
    const ResourceVector sourceBefore = lastUsage.usage[source];
    const ResourceVector targetBefore = lastUsage.usage[target];

    const MigrationId id = *cluster.executeMove(moveOf(shard, targetId));
    runMoveToEnd(cluster, id, 10 * kMsPerMinute);
    QCOMPARE(cluster.moveProgress(id)->phase, MigrationPhase::Done);
    QVERIFY(cluster.advance(options.step_ms).ok()); // routing changes from the next step
    const double sourceAfter = lastUsage.usage[source][Resource::Ops];
    const double targetAfter = lastUsage.usage[target][Resource::Ops];
    QVERIFY2(sourceAfter < sourceBefore[Resource::Ops] - 0.7 * shardOpsPerS,
             qPrintable(QStringLiteral("%1 -> %2, shard %3")
                            .arg(sourceBefore[Resource::Ops])
                            .arg(sourceAfter)
                            .arg(shardOpsPerS)));
    QVERIFY(targetAfter > targetBefore[Resource::Ops] + 0.7 * shardOpsPerS);
    // And exactly the owners' share of the batch.
    const std::vector<double> ops = opsPerHost(cluster.ownership(), cluster.topology(), lastBatch);
    QCOMPARE(sourceAfter * 10.0, ops[source]);
}

void TestSimulatedClusterConnector::clockStopsAtTheWorkloadsEnd() {
    SimulatedClusterOptions options = smallOptions();
    options.hours = 0.01; // 36 s
    SimulatedClusterConnector cluster(options);
    cluster.start();
    QSignalSpy states(&cluster, &ClusterConnector::stateChanged);
    QVERIFY(cluster.advance(kMsPerMinute).ok());
    QCOMPARE(cluster.clusterTime(), cluster.endMs());
    QCOMPARE(cluster.endMs() - kDefaultWorkloadStartMs, TimeMs(36'000));
    QCOMPARE(cluster.state(), ConnectorState::Stopped);
    QCOMPARE(states.count(), 1);
    QVERIFY(states.at(0).at(1).toString().contains(QLatin1String("ended")));
}

void TestSimulatedClusterConnector::optionsAreValidated() {
    SimulatedClusterOptions options = smallOptions();
    options.speed = 0.5;
    QVERIFY(text(validate(options)).contains(QLatin1String("speed")));
    options = smallOptions();
    options.move.copy_bytes_per_s = -1;
    QVERIFY(text(validate(options)).contains(QLatin1String("move.copy_bytes_per_s")));
    options = smallOptions();
    options.rate_eps = -5;
    SimulatedClusterConnector cluster(options);
    QSignalSpy errors(&cluster, &ClusterConnector::errorOccurred);
    cluster.start();
    QCOMPARE(cluster.state(), ConnectorState::Failed);
    QCOMPARE(errors.count(), 1);
    QVERIFY(errors.at(0).at(0).toString().contains(QLatin1String("--rate")));

    SimulatedClusterConnector fine(smallOptions());
    QVERIFY(!fine.setSpeed(2000).ok());
    QVERIFY(fine.setSpeed(0).ok());
}

void TestSimulatedClusterConnector::autoStep_data() {
    QTest::addColumn<double>("speed");
    QTest::addColumn<double>("rate");
    QTest::addColumn<qint64>("stepMs");
    QTest::newRow("real time") << 1.0 << 1000.0 << qint64(1000);
    QTest::newRow("x60") << 60.0 << 1000.0 << qint64(6000);
    QTest::newRow("x1000") << 1000.0 << 1000.0 << qint64(100'000);
    QTest::newRow("fast, 1000/s") << 0.0 << 1000.0 << qint64(200'000);
    QTest::newRow("fast, 1M/s") << 0.0 << 1e6 << qint64(1000);
    QTest::newRow("fast, 1/s") << 0.0 << 1.0 << qint64(kMsPerHour);
}

void TestSimulatedClusterConnector::autoStep() {
    QFETCH(double, speed);
    QFETCH(double, rate);
    QFETCH(qint64, stepMs);
    QCOMPARE(autoStepMs(speed, rate), TimeMs(stepMs));
}

QTEST_APPLESS_MAIN(TestSimulatedClusterConnector)
#include "tst_simulated_cluster_connector.moc"
