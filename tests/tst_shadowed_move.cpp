#include "shadowed_move.h"

#include <QtTest>

#include <vector>

using namespace rangepilot;

namespace {

// Round numbers so that every duration is exact: 1 MB/s, so a 1 MB batch takes 1 s.
ShadowedMoveOptions exactOptions() {
    ShadowedMoveOptions options;
    options.copy_bytes_per_s = 1e6;
    options.shadowing_ms = 1000;
    options.replay_bytes_per_write = 1000;
    options.checksum_ms = 500;
    options.cutover_ms = 500;
    options.rollback_ms = 1000;
    options.failure_rate = 0.0;
    options.seed = 7;
    return options;
}

ShadowedMoveSpec threeBatches(MigrationId id = 1) {
    return ShadowedMoveSpec{id, 17, KeyRange{"k10", "k20"}, "host-1", "host-4", {1e6, 2e6, 1e6}};
}

// Phase timeline of the exact move with 10 writes/s raced during its 4 s copy: 40 writes of
// 1000 bytes replay in 40 ms, then 500 ms of checksums.
constexpr TimeMs kCopyingAt = 1000;
constexpr TimeMs kCatchingUpAt = 5000;
constexpr TimeMs kCuttingOverAt = 5540;
constexpr TimeMs kDoneAt = 6040;

struct Phase {
    MigrationPhase phase;
    TimeMs at;
    bool operator==(const Phase&) const = default;
};

std::vector<Phase> phasesOf(const std::vector<MigrationProgress>& reports) {
    std::vector<Phase> phases;
    for (const MigrationProgress& report : reports)
        phases.push_back({report.phase, report.updated_ms});
    return phases;
}

// Advances in `stepMs` steps up to `endMs`, collecting every report.
std::vector<MigrationProgress> runTo(ShadowedMove& move, TimeMs endMs, TimeMs stepMs) {
    std::vector<MigrationProgress> reports = move.takeReports();
    for (TimeMs t = move.now(); t < endMs;) {
        t = std::min(endMs, t + stepMs);
        move.advanceTo(t);
        for (MigrationProgress& report : move.takeReports())
            reports.push_back(std::move(report));
    }
    return reports;
}

QString phaseText(const std::vector<Phase>& phases) {
    QStringList parts;
    for (const Phase& phase : phases)
        parts << migrationPhaseName(phase.phase) + QLatin1Char('@') + QString::number(phase.at);
    return parts.join(QLatin1String(", "));
}

} // namespace

class TestShadowedMove : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void happyPathPhasesAndDurations_data();
    void happyPathPhasesAndDurations();
    void workedTimeCoversTheWholeMove();
    void pauseHoldsProgress();
    void pauseIsRefusedWhereItCannotApply();
    void abortRollsBackInEachPhase_data();
    void abortRollsBackInEachPhase();
    void forcedFailureRollsBack_data();
    void forcedFailureRollsBack();
    void failedCommitRollsBack();
    void failureRateZeroNeverFailsAndOneAlwaysFails_data();
    void failureRateZeroNeverFailsAndOneAlwaysFails();
    void failuresAreReproducible();
    void progressBytesStayWithinTotal_data();
    void progressBytesStayWithinTotal();
    void moveWithoutBatchesStillPassesEveryPhase();
    void validateNamesTheField();
};

void TestShadowedMove::happyPathPhasesAndDurations_data() {
    QTest::addColumn<qint64>("stepMs");
    QTest::newRow("one jump") << qint64(100'000);
    QTest::newRow("100 ms steps") << qint64(100);
    QTest::newRow("7 ms steps") << qint64(7);
    QTest::newRow("1 s steps") << qint64(1000);
}

void TestShadowedMove::happyPathPhasesAndDurations() {
    QFETCH(qint64, stepMs);
    ShadowedMove move(threeBatches(), exactOptions(), 0);
    move.setRangeWriteRate(10.0);
    int commits = 0;
    MigrationPhase phaseAtCommit = MigrationPhase::Proposed;
    move.setCutoverCommit([&] {
        ++commits;
        phaseAtCommit = move.phase();
        return Status::success();
    });

    const std::vector<MigrationProgress> reports = runTo(move, 20'000, stepMs);
    const std::vector<Phase> expected{{MigrationPhase::Shadowing, 0},
                                      {MigrationPhase::Copying, kCopyingAt},
                                      {MigrationPhase::CatchingUp, kCatchingUpAt},
                                      {MigrationPhase::CuttingOver, kCuttingOverAt},
                                      {MigrationPhase::Done, kDoneAt}};
    QCOMPARE(phaseText(phasesOf(reports)), phaseText(expected));
    QCOMPARE(commits, 1);
    QCOMPARE(phaseAtCommit, MigrationPhase::CuttingOver);
    const MigrationProgress done = move.progress();
    QCOMPARE(done.phase, MigrationPhase::Done);
    QCOMPARE(done.batches_done, std::size_t(3));
    QCOMPARE(done.batches_total, std::size_t(3));
    QCOMPARE(done.bytes_copied, 4e6);
    QCOMPARE(done.bytes_total, 4e6);
    QVERIFY(done.error.isEmpty());
    QCOMPARE(done.shard, ShardId(17));
    QCOMPARE(done.from, HostId("host-1"));
    QCOMPARE(done.to, HostId("host-4"));
    QVERIFY(!move.dualWrites());
}

void TestShadowedMove::workedTimeCoversTheWholeMove() {
    ShadowedMove move(threeBatches(), exactOptions(), 0);
    move.setRangeWriteRate(10.0);
    TimeMs worked = 0;
    for (TimeMs t = 250; t <= 10'000; t += 250)
        worked += move.advanceTo(t);
    QCOMPARE(worked, kDoneAt);
    // Halfway through batch 2 (second 1 of its 2), one and a half of four MB are copied.
    ShadowedMove half(threeBatches(), exactOptions(), 0);
    half.advanceTo(3000);
    QCOMPARE(half.progress().bytes_copied, 2e6);
    QCOMPARE(half.progress().batches_done, std::size_t(1));
    QCOMPARE(half.progress().bytes_per_s, 2e6 / 3.0);
}

void TestShadowedMove::pauseHoldsProgress() {
    ShadowedMove move(threeBatches(), exactOptions(), 0);
    move.advanceTo(2500); // 1.5 MB copied
    (void)move.takeReports();
    QVERIFY(move.pause().ok());
    QCOMPARE(move.phase(), MigrationPhase::Paused);
    QCOMPARE(move.resumePhase(), MigrationPhase::Copying);
    const double held = move.progress().bytes_copied;
    QCOMPARE(held, 1.5e6);
    QCOMPARE(move.advanceTo(60'000), TimeMs(0)); // a paused move does no work
    QCOMPARE(move.progress().bytes_copied, held);
    QCOMPARE(move.phase(), MigrationPhase::Paused);
    QVERIFY(move.dualWrites()); // the target keeps receiving writes while paused
    QVERIFY(move.resume().ok());
    QCOMPARE(move.phase(), MigrationPhase::Copying);

    // 2.5 s of copying were left: the copy ends at 62,500 (no raced writes: no replay).
    const std::vector<Phase> phases = phasesOf(runTo(move, 70'000, 100));
    const std::vector<Phase> expected{{MigrationPhase::Paused, 2500},
                                      {MigrationPhase::Copying, 60'000},
                                      {MigrationPhase::CatchingUp, 62'500},
                                      {MigrationPhase::CuttingOver, 63'000},
                                      {MigrationPhase::Done, 63'500}};
    QCOMPARE(phaseText(phases), phaseText(expected));
}

void TestShadowedMove::pauseIsRefusedWhereItCannotApply() {
    ShadowedMove move(threeBatches(), exactOptions(), 0);
    QVERIFY(!move.resume().ok());
    QVERIFY(move.pause().ok());
    const Status twice = move.pause();
    QVERIFY(!twice.ok());
    QVERIFY2(QString::fromStdString(twice.message()).contains(QLatin1String("already paused")),
             twice.message().c_str());
    QVERIFY(move.resume().ok());
    move.advanceTo(kCuttingOverAt + 100);
    QCOMPARE(move.phase(), MigrationPhase::CuttingOver);
    const Status inCutover = move.pause();
    QVERIFY(!inCutover.ok());
    QVERIFY(QString::fromStdString(inCutover.message()).contains(QLatin1String("cutting over")));
    move.advanceTo(kDoneAt);
    QCOMPARE(move.phase(), MigrationPhase::Done);
    QVERIFY(!move.pause().ok());
    QVERIFY(!move.abort().ok());
}

void TestShadowedMove::abortRollsBackInEachPhase_data() {
    QTest::addColumn<qint64>("abortAt");
    QTest::addColumn<bool>("pauseFirst");
    QTest::addColumn<int>("phaseBefore");
    QTest::newRow("shadowing") << qint64(500) << false << int(MigrationPhase::Shadowing);
    QTest::newRow("copying") << qint64(2000) << false << int(MigrationPhase::Copying);
    QTest::newRow("catching up") << qint64(5200) << false << int(MigrationPhase::CatchingUp);
    QTest::newRow("cutting over") << qint64(5800) << false << int(MigrationPhase::CuttingOver);
    QTest::newRow("paused") << qint64(2000) << true << int(MigrationPhase::Paused);
}

void TestShadowedMove::abortRollsBackInEachPhase() {
    QFETCH(qint64, abortAt);
    QFETCH(bool, pauseFirst);
    QFETCH(int, phaseBefore);
    ShadowedMove move(threeBatches(), exactOptions(), 0);
    move.setRangeWriteRate(10.0);
    int commits = 0;
    move.setCutoverCommit([&] {
        ++commits;
        return Status::success();
    });
    move.advanceTo(abortAt);
    if (pauseFirst)
        QVERIFY(move.pause().ok());
    QCOMPARE(int(move.phase()), phaseBefore);
    (void)move.takeReports();

    QVERIFY(move.abort().ok());
    QCOMPARE(move.phase(), MigrationPhase::RollingBack);
    QVERIFY(!move.dualWrites());
    QVERIFY(!move.abort().ok()); // already rolling back
    const std::vector<Phase> phases = phasesOf(runTo(move, abortAt + 5000, 300));
    const std::vector<Phase> expected{{MigrationPhase::RollingBack, abortAt},
                                      {MigrationPhase::Aborted, abortAt + 1000}};
    QCOMPARE(phaseText(phases), phaseText(expected));
    QCOMPARE(commits, 0); // the source stays the owner
    QVERIFY(move.progress().error.startsWith(QLatin1String("aborted by the operator while")));
}

void TestShadowedMove::forcedFailureRollsBack_data() {
    QTest::addColumn<int>("phase");
    QTest::addColumn<int>("batch");
    QTest::addColumn<qint64>("failsAt");
    QTest::addColumn<QString>("error");
    QTest::addColumn<int>("batchesDone");
    QTest::newRow("shadowing") << int(MigrationPhase::Shadowing) << 0 << qint64(1000)
                               << QStringLiteral(
                                      "dual writes to host-4 could not be set up: injected failure")
                               << 0;
    QTest::newRow("copy batch 1") << int(MigrationPhase::Copying) << 1 << qint64(2000)
                                  << QStringLiteral(
                                         "copy of batch 1/3 to host-4 failed: injected failure")
                                  << 0;
    QTest::newRow("copy batch 3") << int(MigrationPhase::Copying) << 3 << qint64(5000)
                                  << QStringLiteral(
                                         "copy of batch 3/3 to host-4 failed: injected failure")
                                  << 2;
    QTest::newRow("checksum") << int(MigrationPhase::CatchingUp) << 0 << qint64(kCuttingOverAt)
                              << QStringLiteral("checksums of shard 17 differ on host-1 and "
                                                "host-4 after catch-up: injected failure")
                              << 3;
    QTest::newRow("cutover") << int(MigrationPhase::CuttingOver) << 0 << qint64(kDoneAt)
                             << QStringLiteral("cutover of shard 17 to host-4 failed: injected "
                                               "failure")
                             << 3;
}

void TestShadowedMove::forcedFailureRollsBack() {
    QFETCH(int, phase);
    QFETCH(int, batch);
    QFETCH(qint64, failsAt);
    QFETCH(QString, error);
    QFETCH(int, batchesDone);
    ShadowedMove move(threeBatches(), exactOptions(), 0);
    move.setRangeWriteRate(10.0);
    int commits = 0;
    move.setCutoverCommit([&] {
        ++commits;
        return Status::success();
    });
    move.forceFailure(static_cast<MigrationPhase>(phase), static_cast<std::size_t>(batch));

    const std::vector<MigrationProgress> reports = runTo(move, 20'000, 250);
    QCOMPARE(reports.size() >= 2, true);
    const Phase rollback{MigrationPhase::RollingBack, failsAt};
    const Phase failed{MigrationPhase::Failed, failsAt + 1000};
    QCOMPARE(phaseText({phasesOf(reports).end()[-2], phasesOf(reports).back()}),
             phaseText({rollback, failed}));
    QCOMPARE(move.progress().error, error);
    QCOMPARE(reports.back().error, error);
    QCOMPARE(move.progress().batches_done, std::size_t(batchesDone));
    QCOMPARE(commits, 0);
}

void TestShadowedMove::failedCommitRollsBack() {
    ShadowedMove move(threeBatches(), exactOptions(), 0);
    move.setCutoverCommit([] { return Status(Error{"epoch 5 is stale"}); });
    move.advanceTo(100'000);
    QCOMPARE(move.phase(), MigrationPhase::Failed);
    QCOMPARE(move.progress().error,
             QStringLiteral("cutover of shard 17 to host-4 failed: epoch 5 is stale"));
}

void TestShadowedMove::failureRateZeroNeverFailsAndOneAlwaysFails_data() {
    QTest::addColumn<double>("rate");
    QTest::addColumn<int>("expectedFailures");
    QTest::newRow("0") << 0.0 << 0;
    QTest::newRow("1") << 1.0 << 200;
}

void TestShadowedMove::failureRateZeroNeverFailsAndOneAlwaysFails() {
    QFETCH(double, rate);
    QFETCH(int, expectedFailures);
    ShadowedMoveOptions options = exactOptions();
    options.failure_rate = rate;
    int failures = 0;
    for (MigrationId id = 1; id <= 200; ++id) {
        ShadowedMove move(threeBatches(id), options, 0);
        move.advanceTo(100'000);
        QVERIFY(isTerminal(move.phase()));
        if (move.phase() == MigrationPhase::Failed) {
            ++failures;
            // Certain failure strikes the first batch.
            QVERIFY(move.progress().error.startsWith(QLatin1String("copy of batch 1/3")));
        }
    }
    QCOMPARE(failures, expectedFailures);
}

void TestShadowedMove::failuresAreReproducible() {
    ShadowedMoveOptions options = exactOptions();
    options.failure_rate = 0.2; // 4 draws per move: about 59% succeed
    const auto outcomes = [&](std::uint64_t seed) {
        options.seed = seed;
        QStringList list;
        for (MigrationId id = 1; id <= 100; ++id) {
            ShadowedMove move(threeBatches(id), options, 0);
            move.advanceTo(100'000);
            list << move.progress().error;
        }
        return list;
    };
    const QStringList first = outcomes(11);
    QCOMPARE(outcomes(11), first);
    QVERIFY(outcomes(12) != first);
    const auto done = first.count(QString());
    QVERIFY2(done > 30 && done < 90, qPrintable(QString::number(done)));
}

void TestShadowedMove::progressBytesStayWithinTotal_data() {
    QTest::addColumn<qint64>("stepMs");
    QTest::newRow("13 ms") << qint64(13);
    QTest::newRow("333 ms") << qint64(333);
}

void TestShadowedMove::progressBytesStayWithinTotal() {
    QFETCH(qint64, stepMs);
    // Sizes whose durations round, and an empty batch.
    ShadowedMoveSpec spec{3,        5,        KeyRange{"a", "b"},
                          "host-1", "host-2", {333.3, 0.0, 1e6 / 3, 77.7}};
    ShadowedMoveOptions options = exactOptions();
    options.copy_bytes_per_s = 1000.0;
    ShadowedMove move(spec, options, 1000);
    const double total = 333.3 + 0.0 + 1e6 / 3 + 77.7;
    double last = 0.0;
    std::size_t lastBatches = 0;
    for (TimeMs t = 1000; !move.finished(); t += stepMs) {
        move.advanceTo(t);
        const MigrationProgress progress = move.progress();
        QVERIFY(progress.bytes_copied <= progress.bytes_total);
        QVERIFY(progress.bytes_copied >= last);
        QVERIFY(progress.batches_done >= lastBatches);
        last = progress.bytes_copied;
        lastBatches = progress.batches_done;
        QVERIFY(t < 10'000'000);
    }
    QCOMPARE(move.phase(), MigrationPhase::Done);
    QCOMPARE(move.progress().bytes_total, total);
    QCOMPARE(move.progress().bytes_copied, move.progress().bytes_total);
    QCOMPARE(move.progress().batches_done, std::size_t(4));
}

void TestShadowedMove::moveWithoutBatchesStillPassesEveryPhase() {
    ShadowedMove move(ShadowedMoveSpec{2, 9, KeyRange{"a", ""}, "host-2", "host-3", {}},
                      exactOptions(), 0);
    const std::vector<Phase> phases = phasesOf(runTo(move, 10'000, 10'000));
    const std::vector<Phase> expected{{MigrationPhase::Shadowing, 0},
                                      {MigrationPhase::Copying, 1000},
                                      {MigrationPhase::CatchingUp, 1000},
                                      {MigrationPhase::CuttingOver, 1500},
                                      {MigrationPhase::Done, 2000}};
    QCOMPARE(phaseText(phases), phaseText(expected));
    QCOMPARE(move.progress().bytes_copied, 0.0);
}

void TestShadowedMove::validateNamesTheField() {
    QVERIFY(validate(exactOptions()).ok());
    ShadowedMoveOptions options = exactOptions();
    options.copy_bytes_per_s = 0.0;
    QVERIFY(QString::fromStdString(validate(options).message())
                .contains(QLatin1String("copy_bytes_per_s")));
    options = exactOptions();
    options.failure_rate = 1.5;
    QVERIFY(QString::fromStdString(validate(options).message())
                .contains(QLatin1String("failure_rate")));
    options = exactOptions();
    options.cutover_ms = -1;
    QVERIFY(!validate(options).ok());
}

QTEST_APPLESS_MAIN(TestShadowedMove)
#include "tst_shadowed_move.moc"
