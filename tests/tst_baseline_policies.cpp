#include "baseline_policies.h"
#include "migration_plan.h"

#include <QtTest>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

using namespace rangepilot;

namespace {

constexpr std::size_t kCells = 16;
constexpr TimeMs kNow = 1'767'571'200'000;

QString qs(std::string_view text) {
    return QString::fromStdString(std::string(text));
}

// Cell i starts at "k" + two digits (cell 0 at ""): 16 cells.
Key cellKey(std::size_t cell) {
    if (cell == 0)
        return Key();
    return (cell < 10 ? "k0" : "k") + std::to_string(cell);
}

struct ShardLayout {
    std::size_t first_cell;
    int owner; // 1-based host number
};

// A small cluster the test sets up by hand: 4 hosts of 100 ops/s, 16 cells, shards on cell
// boundaries, explicit cell and host rates.
struct World {
    World() {
        std::vector<Key> starts;
        for (std::size_t cell = 0; cell < kCells; ++cell)
            starts.push_back(cellKey(cell));
        cells = KeyCells::fromStarts(starts).value();
        for (int host = 1; host <= 4; ++host) {
            Host entry;
            entry.id = "host-" + std::to_string(host);
            entry.capacity[Resource::Ops] = 100.0;
            cluster.hosts.push_back(entry);
        }
        cluster.latency = LatencyMatrix(4, 0.5);
        cellRates.assign(kCells, ResourceVector{});
        cellBytes.assign(kCells, 0.0);
        hostRates.assign(4, ResourceVector{});
    }

    void setShards(const std::vector<ShardLayout>& layout) {
        std::vector<Shard> shards;
        for (std::size_t i = 0; i < layout.size(); ++i) {
            Shard shard;
            shard.id = i + 1;
            shard.range.start = cellKey(layout[i].first_cell);
            shard.range.end = i + 1 < layout.size() ? cellKey(layout[i + 1].first_cell) : Key();
            shard.owner = "host-" + std::to_string(layout[i].owner);
            shards.push_back(shard);
        }
        table = OwnershipTable::create(shards, 7, {"host-1", "host-2", "host-3", "host-4"}).value();
    }

    // Spreads `ops` evenly over the cells [first, end).
    void setLoad(std::size_t first, std::size_t end, double ops) {
        for (std::size_t cell = first; cell < end; ++cell)
            cellRates[cell][Resource::Ops] = ops / static_cast<double>(end - first);
    }

    void setHostLoads(std::vector<double> loads) {
        for (std::size_t host = 0; host < loads.size(); ++host)
            hostRates[host][Resource::Ops] = loads[host];
    }

    const Shard& shard(ShardId id) const { return *table->shardById(id); }

    void markInFlight(ShardId id, const HostId& to) {
        InFlightMove move;
        move.shard = id;
        move.range = shard(id).range;
        move.from = shard(id).owner;
        move.to = to;
        move.started_ms = kNow - 1000;
        move.finishes_ms = kNow + 1000;
        inFlight.push_back(move);
    }

    RoundObservation observe(TimeMs now = kNow) const {
        return RoundObservation{now,    kMsPerMinute, cells,     cellRates, cellBytes,
                                *table, cluster,      hostRates, inFlight,  history};
    }

    KeyCells cells;
    ClusterModel cluster;
    std::optional<OwnershipTable> table;
    std::vector<ResourceVector> cellRates;
    std::vector<double> cellBytes;
    std::vector<ResourceVector> hostRates;
    std::vector<InFlightMove> inFlight;
    MoveHistory history;
};

// Options that only move: no split, no merge.
ReactiveOptions movesOnly() {
    ReactiveOptions options;
    options.split_above = 100.0;
    options.merge_below = 0.0;
    return options;
}

// host-1 is hot (200 ops/s) with ranges of 160 (too big to move: the gap to host-4 is 150), 30,
// 10, and 100 in flight; host-4 is the coldest.
World hotHostWorld() {
    World world;
    world.setShards({{0, 1}, {4, 1}, {8, 1}, {10, 1}, {12, 2}, {14, 3}});
    world.setLoad(0, 4, 160.0);
    world.setLoad(4, 8, 30.0);
    world.setLoad(8, 10, 10.0);
    world.setLoad(10, 12, 100.0);
    world.setLoad(12, 14, 90.0);
    world.setLoad(14, 16, 90.0);
    world.setHostLoads({200.0, 100.0, 100.0, 50.0});
    for (double& bytes : world.cellBytes)
        bytes = 10.0 * 1024 * 1024;
    world.markInFlight(4, "host-2");
    return world;
}

QString describeMerges(const MigrationPlan& plan) {
    QStringList merges;
    for (const MergeInstruction& merge : plan.merges)
        merges << QStringLiteral("%1+%2").arg(merge.left).arg(merge.right);
    return merges.join(QLatin1Char(' '));
}

QString describeSplits(const MigrationPlan& plan) {
    QStringList splits;
    for (const SplitInstruction& split : plan.splits)
        splits
            << QStringLiteral("%1@%2->%3").arg(split.shard).arg(qs(split.at)).arg(split.new_shard);
    return splits.join(QLatin1Char(' '));
}

} // namespace

class TestBaselinePolicies : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void staticNeverActs();
    void optionsAreValidated_data();
    void optionsAreValidated();
    void waitsForConsecutiveRounds_data();
    void waitsForConsecutiveRounds();
    void bandIsRespected_data();
    void bandIsRespected();
    void aBreakInTheConditionRestartsTheCount();
    void movesTheHottestMovableRangeToTheColdestHost();
    void noMovableRangeMeansNoMove();
    void splitsAHotRangeAtTheLoadBalancingCell();
    void splitsAreBoundedAndSkipMovingOrSingleCellRanges_data();
    void splitsAreBoundedAndSkipMovingOrSingleCellRanges();
    void mergesColdNeighbours_data();
    void mergesColdNeighbours();
    void movesAHalfOfARangeSplitInTheSameRound();
};

void TestBaselinePolicies::staticNeverActs() {
    World world = hotHostWorld();
    StaticPolicy policy;
    QCOMPARE(qs(policy.name()), QStringLiteral("static"));
    for (int round = 0; round < 5; ++round) {
        const MigrationPlan plan = policy.planRound(world.observe(kNow + round * kMsPerMinute));
        QVERIFY(!plan.hasActions());
        QVERIFY(plan.deferred.empty());
        QCOMPARE(plan.now, kNow + round * kMsPerMinute);
        QCOMPARE(plan.table_epoch, std::uint64_t(7));
    }
}

void TestBaselinePolicies::optionsAreValidated_data() {
    QTest::addColumn<int>("row");
    QTest::addColumn<QString>("field");
    QTest::newRow("band") << 0 << QStringLiteral("band");
    QTest::newRow("consecutive_rounds") << 1 << QStringLiteral("consecutive_rounds");
    QTest::newRow("split_above") << 2 << QStringLiteral("split_above");
    QTest::newRow("merge_below above split") << 3 << QStringLiteral("merge_below");
    QTest::newRow("merge_cooldown_ms") << 4 << QStringLiteral("merge_cooldown_ms");
    QTest::newRow("migration_bytes_per_s") << 5 << QStringLiteral("migration_bytes_per_s");
    QTest::newRow("batch_bytes") << 6 << QStringLiteral("batch_bytes");
}

void TestBaselinePolicies::optionsAreValidated() {
    QFETCH(int, row);
    QFETCH(QString, field);
    ReactiveOptions options;
    QVERIFY(validate(options).ok());
    switch (row) {
    case 0:
        options.band = -0.1;
        break;
    case 1:
        options.consecutive_rounds = 0;
        break;
    case 2:
        options.split_above = 0.0;
        break;
    case 3:
        options.merge_below = 0.3;
        break;
    case 4:
        options.merge_cooldown_ms = -1;
        break;
    case 5:
        options.migration_bytes_per_s = 0.0;
        break;
    case 6:
        options.batch_bytes = 0.0;
        break;
    default:
        QFAIL("unknown row");
    }
    const Status status = validate(options);
    QVERIFY(!status.ok());
    QVERIFY2(qs(status.message()).startsWith(field), status.message().c_str());
}

void TestBaselinePolicies::waitsForConsecutiveRounds_data() {
    QTest::addColumn<int>("consecutive");
    QTest::newRow("1") << 1;
    QTest::newRow("3 (default)") << 3;
    QTest::newRow("5") << 5;
}

void TestBaselinePolicies::waitsForConsecutiveRounds() {
    QFETCH(int, consecutive);
    World world = hotHostWorld();
    ReactiveOptions options = movesOnly();
    options.consecutive_rounds = consecutive;
    ReactivePolicy policy(options);
    for (int round = 1; round <= consecutive + 2; ++round) {
        const MigrationPlan plan = policy.planRound(world.observe(kNow + round * kMsPerMinute));
        QCOMPARE(policy.roundsAboveBand(), round);
        // Nothing before the count is reached; then a move every round the condition holds.
        QCOMPARE(plan.moves.size(), std::size_t(round >= consecutive ? 1 : 0));
    }
}

void TestBaselinePolicies::bandIsRespected_data() {
    QTest::addColumn<double>("band");
    QTest::addColumn<double>("ratio"); // hottest / mean
    QTest::addColumn<bool>("moves");
    QTest::newRow("124% with a 25% band") << 0.25 << 1.24 << false;
    QTest::newRow("126% with a 25% band") << 0.25 << 1.26 << true;
    QTest::newRow("126% with a 30% band") << 0.30 << 1.26 << false;
    QTest::newRow("112% with a 10% band") << 0.10 << 1.12 << true;
}

void TestBaselinePolicies::bandIsRespected() {
    QFETCH(double, band);
    QFETCH(double, ratio);
    QFETCH(bool, moves);
    World world = hotHostWorld();
    // host-1 = ratio × mean of [x, 100, 100, 90]: x = ratio × 290 / (4 − ratio).
    const double hottest = ratio * 290.0 / (4.0 - ratio);
    world.setHostLoads({hottest, 100.0, 100.0, 90.0});
    world.setLoad(4, 8, 5.0); // small enough to move whatever the gap
    ReactiveOptions options = movesOnly();
    options.band = band;
    ReactivePolicy policy(options);
    std::size_t moved = 0;
    for (int round = 1; round <= 6; ++round)
        moved += policy.planRound(world.observe(kNow + round * kMsPerMinute)).moves.size();
    QCOMPARE(moved, std::size_t(moves ? 4 : 0)); // rounds 3, 4, 5, 6
}

void TestBaselinePolicies::aBreakInTheConditionRestartsTheCount() {
    World world = hotHostWorld();
    ReactivePolicy policy(movesOnly());
    const std::vector<bool> hot{true, true, false, true, true, true};
    for (std::size_t round = 0; round < hot.size(); ++round) {
        world.setHostLoads(hot[round] ? std::vector<double>{200.0, 100.0, 100.0, 50.0}
                                      : std::vector<double>{110.0, 100.0, 100.0, 90.0});
        const MigrationPlan plan =
            policy.planRound(world.observe(kNow + static_cast<TimeMs>(round) * kMsPerMinute));
        QCOMPARE(plan.moves.size(), std::size_t(round == 5 ? 1 : 0));
    }
    QCOMPARE(policy.roundsAboveBand(), 3);
}

void TestBaselinePolicies::movesTheHottestMovableRangeToTheColdestHost() {
    World world = hotHostWorld();
    ReactiveOptions options = movesOnly();
    options.consecutive_rounds = 1;
    ReactivePolicy policy(options);
    const MigrationPlan plan = policy.planRound(world.observe());
    QVERIFY(plan.splits.empty());
    QVERIFY(plan.merges.empty());
    QCOMPARE(plan.moves.size(), std::size_t(1));
    const MoveInstruction& move = plan.moves[0];
    // Shard 1 (160) would only swap the hottest host, shard 4 (100) is in flight: shard 2 (30).
    QCOMPARE(move.shard, ShardId(2));
    QCOMPARE(qs(formatKeyRange(move.range)), QStringLiteral("[k04, k08)"));
    QCOMPARE(qs(move.from), QStringLiteral("host-1"));
    QCOMPARE(qs(move.to), QStringLiteral("host-4"));
    QCOMPARE(move.bytes, 40.0 * 1024 * 1024);
    QCOMPARE(move.duration_ms, std::llround(40.0 * 1024 * 1024 / 50e6 * 1000));
    QCOMPARE(move.hot_at, kNow);
    QCOMPARE(move.start_by, kNow);
    QCOMPARE(move.source_peak_before, 2.0);
    QCOMPARE(move.source_peak_after, 1.7);
    QCOMPARE(move.target_peak_after, 0.8);
    QVERIFY(std::abs(move.expected_gain - 0.3) < 1e-12);
    // 10 MiB cells, 16 MiB batches: one cell per batch, tiling the range in key order.
    QCOMPARE(move.batches.size(), std::size_t(4));
    QCOMPARE(move.batches.front().start, move.range.start);
    QCOMPARE(move.batches.back().end, move.range.end);
    for (std::size_t i = 1; i < move.batches.size(); ++i)
        QCOMPARE(move.batches[i].start, move.batches[i - 1].end);
    QCOMPARE(qs(move.reason), QStringLiteral("host-1 at 178% of the mean for 1 round; move "
                                             "[k04, k08) (15% of host-1) to host-4"));
    QCOMPARE(plan.now, kNow);
    QCOMPARE(plan.table_epoch, std::uint64_t(7));
}

void TestBaselinePolicies::noMovableRangeMeansNoMove() {
    World world = hotHostWorld();
    world.setLoad(4, 8, 155.0); // with shard 1 (160) all above the gap of 150; shard 4 in flight
    world.setLoad(8, 10, 151.0);
    ReactiveOptions options = movesOnly();
    options.consecutive_rounds = 1;
    ReactivePolicy policy(options);
    QVERIFY(policy.planRound(world.observe()).moves.empty());
    QCOMPARE(policy.roundsAboveBand(), 1);
}

void TestBaselinePolicies::splitsAHotRangeAtTheLoadBalancingCell() {
    World world;
    world.setShards({{0, 1}, {8, 2}, {12, 3}});
    const double loads[8] = {10, 10, 50, 10, 5, 5, 5, 5}; // 100 ops/s: 100% of host-1
    for (std::size_t cell = 0; cell < 8; ++cell)
        world.cellRates[cell][Resource::Ops] = loads[cell];
    world.setLoad(8, 12, 12.0);
    world.setLoad(12, 16, 12.0);
    world.setHostLoads({100.0, 12.0, 12.0, 0.0});
    ReactivePolicy policy; // defaults: split above 20%
    const MigrationPlan plan = policy.planRound(world.observe());
    QCOMPARE(plan.splits.size(), std::size_t(1));
    const SplitInstruction& split = plan.splits[0];
    QCOMPARE(split.shard, ShardId(1));
    // Halves 70 | 30 at k03 beat 80 | 20 at the midpoint k04 (and 20 | 80 at k02).
    QCOMPARE(qs(split.at), QStringLiteral("k03"));
    QCOMPARE(split.new_shard, ShardId(4));
    QCOMPARE(split.peak_before, 1.0);
    QCOMPARE(split.peak_left, 0.7);
    QCOMPARE(split.peak_right, 0.3);
    QVERIFY2(qs(split.reason).contains(QLatin1String("split at k03")), split.reason.c_str());
    QVERIFY(plan.merges.empty());
    QVERIFY(applyBoundaryChanges(*world.table, plan).ok());
}

void TestBaselinePolicies::splitsAreBoundedAndSkipMovingOrSingleCellRanges_data() {
    QTest::addColumn<int>("maxSplits");
    QTest::addColumn<int>("maxShards");
    QTest::addColumn<int>("inFlight"); // shard id, 0 = none
    QTest::addColumn<QString>("expected");
    // Shards 1..4 use 40%, 60%, 30%, 10%; shard 5 (one cell) 50%. Hottest first.
    QTest::newRow("all hot ones") << 4 << 0 << 0 << QStringLiteral("2@k06->6 1@k02->7 3@k10->8");
    QTest::newRow("two per round") << 2 << 0 << 0 << QStringLiteral("2@k06->6 1@k02->7");
    QTest::newRow("max shards 6") << 4 << 6 << 0 << QStringLiteral("2@k06->6");
    QTest::newRow("in flight") << 4 << 0 << 2 << QStringLiteral("1@k02->6 3@k10->7");
}

void TestBaselinePolicies::splitsAreBoundedAndSkipMovingOrSingleCellRanges() {
    QFETCH(int, maxSplits);
    QFETCH(int, maxShards);
    QFETCH(int, inFlight);
    QFETCH(QString, expected);
    World world;
    world.setShards({{0, 1}, {4, 2}, {8, 3}, {12, 4}, {15, 1}});
    world.setLoad(0, 4, 40.0);
    world.setLoad(4, 8, 60.0);
    world.setLoad(8, 12, 30.0);
    world.setLoad(12, 15, 10.0);
    world.setLoad(15, 16, 50.0);
    world.setHostLoads({90.0, 60.0, 30.0, 10.0});
    ReactiveOptions options;
    options.max_splits_per_round = static_cast<std::size_t>(maxSplits);
    options.max_shards = static_cast<std::size_t>(maxShards);
    options.band = 10.0; // no moves
    if (inFlight != 0)
        world.markInFlight(static_cast<ShardId>(inFlight), "host-4");
    ReactivePolicy policy(options);
    const MigrationPlan plan = policy.planRound(world.observe());
    QCOMPARE(describeSplits(plan), expected);
    QVERIFY(applyBoundaryChanges(*world.table, plan).ok());
}

void TestBaselinePolicies::mergesColdNeighbours_data() {
    QTest::addColumn<QString>("variant");
    QTest::addColumn<QString>("expected");
    // Shards 1, 2, 3 on host-1 and 4 on host-2, each at 1% of a host.
    QTest::newRow("cold, same host") << QStringLiteral("cold") << QStringLiteral("1+2");
    QTest::newRow("too warm together") << QStringLiteral("warm") << QString();
    QTest::newRow("different owners") << QStringLiteral("owners") << QString();
    QTest::newRow("split 10 min ago") << QStringLiteral("recent") << QStringLiteral("2+3");
    QTest::newRow("split 31 min ago") << QStringLiteral("cooled") << QStringLiteral("1+2");
    QTest::newRow("in flight") << QStringLiteral("moving") << QStringLiteral("2+3");
}

void TestBaselinePolicies::mergesColdNeighbours() {
    QFETCH(QString, variant);
    QFETCH(QString, expected);
    World world;
    const int ownerOfTwo = variant == QLatin1String("owners") ? 2 : 1;
    world.setShards({{0, 1}, {4, ownerOfTwo}, {8, 1}, {12, 2}});
    world.setLoad(0, 4, 1.0);
    world.setLoad(4, 8, variant == QLatin1String("warm") ? 4.0 : 1.0);
    world.setLoad(8, 12, 1.0);
    world.setLoad(12, 16, 1.0);
    world.setHostLoads({3.0, 1.0, 0.0, 0.0});
    if (variant == QLatin1String("recent"))
        world.history.recordBoundaryChange({world.shard(1).range, kNow - 10 * kMsPerMinute});
    if (variant == QLatin1String("cooled"))
        world.history.recordBoundaryChange({world.shard(1).range, kNow - 31 * kMsPerMinute});
    if (variant == QLatin1String("moving"))
        world.markInFlight(1, "host-3");
    ReactiveOptions options;
    options.band = 10.0; // no moves
    ReactivePolicy policy(options);
    const MigrationPlan plan = policy.planRound(world.observe());
    QCOMPARE(describeMerges(plan), expected);
    QVERIFY(plan.splits.empty());
    for (const MergeInstruction& merge : plan.merges) {
        QVERIFY(merge.joint_peak < 0.05);
        QVERIFY2(qs(merge.reason).contains(QLatin1String("merge into")), merge.reason.c_str());
    }
    QVERIFY(applyBoundaryChanges(*world.table, plan).ok());
}

void TestBaselinePolicies::movesAHalfOfARangeSplitInTheSameRound() {
    // One range of 160 on host-1: too big to move (gap 160), but split into halves of 80 it is
    // not, and the move names the half as it exists after the split.
    World world;
    world.setShards({{0, 1}, {8, 2}, {12, 3}});
    world.setLoad(0, 8, 160.0);
    world.setLoad(8, 12, 15.0);
    world.setLoad(12, 16, 15.0);
    world.setHostLoads({160.0, 15.0, 15.0, 0.0});
    ReactiveOptions options;
    options.consecutive_rounds = 1;
    ReactivePolicy policy(options);
    const MigrationPlan plan = policy.planRound(world.observe());
    QCOMPARE(describeSplits(plan), QStringLiteral("1@k04->4"));
    QCOMPARE(plan.moves.size(), std::size_t(1));
    const MoveInstruction& move = plan.moves[0];
    QCOMPARE(qs(move.to), QStringLiteral("host-4"));
    const Result<OwnershipTable> after = applyBoundaryChanges(*world.table, plan);
    QVERIFY(after.ok());
    const Shard* moved = after->shardById(move.shard);
    QVERIFY(moved);
    QCOMPARE(moved->range, move.range);
    QCOMPARE(qs(moved->owner), QStringLiteral("host-1"));
    QCOMPARE(qs(formatKeyRange(move.range)), QStringLiteral("[, k04)"));
}

QTEST_APPLESS_MAIN(TestBaselinePolicies)
#include "tst_baseline_policies.moc"
