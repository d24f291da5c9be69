// The console session on the embedded simulated cluster: rounds reach the planner off the GUI
// thread, proposals appear, and every operator and automatic action changes the state it should
// and leaves its audit entry (in the model and in the file).

#include "console_session.h"
#include "console_test_cluster.h"
#include "simulated_cluster_connector.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <functional>

using namespace rangepilot;

namespace {

constexpr TimeMs kPinnedWallClock = 1'800'000'000'000;

class Fixture {
public:
    Fixture()
        : connector(testing::hotClusterOptions()) {
        session = std::make_unique<ConsoleSession>(&connector);
        session->setOperatorName(QStringLiteral("alice"));
        session->setWallClock([] { return kPinnedWallClock; });
        connector.start();
    }

    // Runs `minutes` of cluster time, a round at a time, letting each round's outcome arrive.
    bool runMinutes(int minutes) {
        for (int minute = 0; minute < minutes; ++minute) {
            if (!connector.advance(kMsPerMinute))
                return false;
            if (!QTest::qWaitFor([this] { return session->pendingTasks() == 0; }, 10'000))
                return false;
        }
        return true;
    }

    // Runs round by round until `done` holds; false after `maxMinutes`.
    bool runUntil(const std::function<bool()>& done, int maxMinutes) {
        for (int minute = 0; minute < maxMinutes; ++minute) {
            if (done())
                return true;
            if (!runMinutes(1))
                return false;
        }
        return done();
    }

    std::optional<int> firstRowIn(MigrationPhase phase) const {
        MigrationsModel* model = session->migrationsModel();
        for (int row = 0; row < model->rowCount(); ++row) {
            if (model->entryAt(row).phase == phase)
                return row;
        }
        return std::nullopt;
    }

    bool hasProposal() const { return firstRowIn(MigrationPhase::Proposed).has_value(); }

    const AuditEntry& lastAudit() const {
        AuditLogModel* audit = session->auditModel();
        return audit->entryAt(audit->rowCount() - 1);
    }

    bool auditContains(const QString& part) const {
        AuditLogModel* audit = session->auditModel();
        for (int row = 0; row < audit->rowCount(); ++row) {
            if (audit->entryAt(row).what.contains(part))
                return true;
        }
        return false;
    }

    SimulatedClusterConnector connector;
    std::unique_ptr<ConsoleSession> session;
};

} // namespace

class TestConsoleSession : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundsReachThePlannerAndTheModels();
    void approveStartsTheMoveAndCutoverIsAudited();
    void rejectRemovesAndRemembers();
    void scheduleStartsAtItsTime();
    void abortRollsBackAndPauseResumes();
    void injectedFailureIsAuditedAndRolledBack();
    void actionsOnTheWrongRowAreRefused();
    void autoApplyRespectsMaxConcurrent();
    void autoApplyHonoursQuietHours();
    void auditFileKeepsEveryEntry();
    void everyPlanAppliesWhileProposalsWait();
    void approvingAHotPartCutsItFirst();
    void liveTrendShowsTheBucketInProgress();
    void followedTrendIsDeliveredAgainAfterEachRound();
};

void TestConsoleSession::roundsReachThePlannerAndTheModels() {
    Fixture fixture;
    QSignalSpy heatmaps(fixture.session.get(), &ConsoleSession::heatmapUpdated);
    QVERIFY(fixture.runMinutes(12));
    QCOMPARE(fixture.session->roundsSubmitted(), std::uint64_t(12));
    QVERIFY(fixture.session->roundsPlanned() >= 10); // at most the queue limit was only observed
    QCOMPARE(heatmaps.count(), 12);
    const HeatmapGrid& grid = fixture.session->heatmap();
    QCOMPARE(grid.rows, std::size_t(128));
    QVERIFY(grid.observed_columns >= 2);
    QVERIFY(grid.columns > grid.observed_columns); // the projection follows "now"
    // The observed columns hold every event the connector generated up to the last round. The
    // newest bucket is in progress: its rate is over the time its rounds covered so far.
    double counted = 0.0;
    for (std::size_t column = 0; column < grid.observed_columns; ++column) {
        const TimeMs start = grid.start_ms + static_cast<TimeMs>(column) * grid.column_ms;
        const bool newest = column + 1 == grid.observed_columns;
        const TimeMs covered = newest ? fixture.session->clusterTime() - start : grid.column_ms;
        for (std::size_t row = 0; row < grid.rows; ++row)
            counted += grid.at(column, row) * static_cast<double>(covered) / 1000.0;
    }
    QVERIFY(counted > 0.0);
    QCOMPARE(qRound64(counted), qint64(fixture.connector.eventsGenerated()));
    // Tables: every shard has figures, every host its usage.
    OwnershipTableModel* ownership = fixture.session->ownershipModel();
    QCOMPARE(ownership->rowCount(), int(fixture.connector.ownership().shardCount()));
    for (int row = 0; row < ownership->rowCount(); ++row)
        QVERIFY(ownership->rowAt(row).figures.has_value());
    HostsModel* hosts = fixture.session->hostsModel();
    QCOMPARE(hosts->rowCount(), 4);
    double usage = 0.0;
    for (int row = 0; row < hosts->rowCount(); ++row)
        usage += hosts->hostAt(row).usage_now[Resource::Ops];
    QVERIFY(usage > 0.0);
}

void TestConsoleSession::approveStartsTheMoveAndCutoverIsAudited() {
    Fixture fixture;
    QVERIFY2(fixture.runUntil([&] { return fixture.hasProposal(); }, 600),
             "no proposal in 10 simulated hours");
    const int row = *fixture.firstRowIn(MigrationPhase::Proposed);
    const MigrationEntry proposal = fixture.session->migrationsModel()->entryAt(row);
    QVERIFY(!proposal.reason.empty());
    const Status approved = fixture.session->approve(row, QStringLiteral("looks right"));
    QVERIFY2(approved, approved.message().c_str());
    MigrationsModel* model = fixture.session->migrationsModel();
    const MigrationEntry started = model->entryAt(row);
    QVERIFY(started.id.has_value());
    QCOMPARE(started.phase, MigrationPhase::Shadowing);
    QCOMPARE(fixture.session->runningMoves(), std::size_t(1));
    QVERIFY(fixture.auditContains(QStringLiteral("approved move of shard %1").arg(proposal.shard)));
    QCOMPARE(fixture.lastAudit().who, QStringLiteral("alice"));
    QCOMPARE(fixture.lastAudit().why, QStringLiteral("looks right"));
    QVERIFY(!fixture.lastAudit().automatic);

    const MigrationId id = *started.id;
    QVERIFY(fixture.runUntil(
        [&] {
            const std::optional<int> now = model->rowOf(id);
            return now && model->entryAt(*now).phase == MigrationPhase::Done;
        },
        120));
    QCOMPARE(fixture.session->runningMoves(), std::size_t(0));
    QVERIFY(fixture.auditContains(QStringLiteral("completed #%1").arg(id)));
    QVERIFY(fixture.lastAudit().automatic || fixture.auditContains(QStringLiteral("completed")));
    // The owner of the moved range changed in the table the window shows.
    const OwnershipTable table = fixture.connector.ownership();
    QCOMPARE(table.shardFor(proposal.range.start).owner, proposal.to);
}

void TestConsoleSession::rejectRemovesAndRemembers() {
    Fixture fixture;
    QVERIFY(fixture.runUntil([&] { return fixture.hasProposal(); }, 600));
    MigrationsModel* model = fixture.session->migrationsModel();
    const int row = *fixture.firstRowIn(MigrationPhase::Proposed);
    const MigrationEntry rejected = model->entryAt(row);
    const int before = model->rowCount();
    QVERIFY(fixture.session->reject(row, QStringLiteral("peak is over soon")));
    QCOMPARE(model->rowCount(), before - 1);
    QVERIFY(!model->rowOfProposal(rejected.proposalKey()));
    QCOMPARE(fixture.lastAudit().what.left(8), QStringLiteral("rejected"));
    QCOMPARE(fixture.lastAudit().why, QStringLiteral("peak is over soon"));
    // Later rounds do not propose the same move again while the rejection holds.
    for (int minute = 0; minute < 20; ++minute) {
        QVERIFY(fixture.runMinutes(1));
        for (int other = 0; other < model->rowCount(); ++other) {
            const MigrationEntry& entry = model->entryAt(other);
            const bool same = entry.phase == MigrationPhase::Proposed &&
                              entry.from == rejected.from && entry.to == rejected.to &&
                              rangesOverlap(entry.range, rejected.range);
            QVERIFY2(!same, "a rejected move came back");
        }
    }
}

void TestConsoleSession::scheduleStartsAtItsTime() {
    Fixture fixture;
    QVERIFY(fixture.runUntil([&] { return fixture.hasProposal(); }, 600));
    MigrationsModel* model = fixture.session->migrationsModel();
    const int row = *fixture.firstRowIn(MigrationPhase::Proposed);
    const ProposalKey key = model->entryAt(row).proposalKey();
    const TimeMs now = fixture.session->clusterTime();
    const Status past = fixture.session->schedule(row, now - kMsPerMinute);
    QVERIFY(!past);
    QVERIFY(QString::fromStdString(past.message()).contains(QStringLiteral("has passed")));
    const TimeMs at = now + 5 * kMsPerMinute;
    QVERIFY(fixture.session->schedule(row, at, QStringLiteral("after the backup")));
    QCOMPARE(model->entryAt(row).phase, MigrationPhase::Scheduled);
    QVERIFY(fixture.lastAudit().what.contains(QStringLiteral("scheduled")));
    // Rounds replace proposals but keep the scheduled move, and it waits for its time.
    QVERIFY(fixture.runMinutes(3));
    std::optional<int> scheduled = model->rowOfProposal(key);
    QVERIFY(scheduled);
    QCOMPARE(model->entryAt(*scheduled).phase, MigrationPhase::Scheduled);
    QCOMPARE(fixture.session->runningMoves(), std::size_t(0));
    QVERIFY(fixture.runMinutes(3));
    QVERIFY(fixture.auditContains(QStringLiteral("started")));
    bool startedBySchedule = false;
    for (int entry = 0; entry < fixture.session->auditModel()->rowCount(); ++entry) {
        const AuditEntry& audit = fixture.session->auditModel()->entryAt(entry);
        if (audit.who == QStringLiteral("scheduler") &&
            audit.what.startsWith(QStringLiteral("started")))
            startedBySchedule = audit.why.contains(QStringLiteral("scheduled by alice"));
    }
    QVERIFY(startedBySchedule);
    QVERIFY(!model->rowOfProposal(key)); // it is a running (or finished) move now
}

void TestConsoleSession::abortRollsBackAndPauseResumes() {
    Fixture fixture;
    QVERIFY(fixture.runUntil([&] { return fixture.hasProposal(); }, 600));
    MigrationsModel* model = fixture.session->migrationsModel();
    const int row = *fixture.firstRowIn(MigrationPhase::Proposed);
    const MigrationEntry proposal = model->entryAt(row);
    const HostId ownerBefore = fixture.connector.ownership().shardFor(proposal.range.start).owner;
    QVERIFY(fixture.session->approve(row));
    const MigrationId id = *model->entryAt(row).id;
    QVERIFY(fixture.session->pause(*model->rowOf(id), QStringLiteral("checking")));
    QVERIFY(fixture.runMinutes(1));
    QCOMPARE(model->entryAt(*model->rowOf(id)).phase, MigrationPhase::Paused);
    QVERIFY(!fixture.session->pause(*model->rowOf(id))); // already paused
    QVERIFY(fixture.session->resume(*model->rowOf(id)));
    QVERIFY(fixture.session->abort(*model->rowOf(id), QStringLiteral("wrong target")));
    QVERIFY(fixture.auditContains(QStringLiteral("aborted #%1").arg(id)));
    QVERIFY(fixture.runUntil(
        [&] { return model->entryAt(*model->rowOf(id)).phase == MigrationPhase::Aborted; }, 10));
    QVERIFY(fixture.auditContains(QStringLiteral("rolled back #%1").arg(id)));
    QCOMPARE(fixture.connector.ownership().shardFor(proposal.range.start).owner, ownerBefore);
    QCOMPARE(fixture.session->runningMoves(), std::size_t(0));
    QVERIFY(!fixture.session->abort(*model->rowOf(id))); // over
}

void TestConsoleSession::injectedFailureIsAuditedAndRolledBack() {
    Fixture fixture;
    QVERIFY(fixture.runUntil([&] { return fixture.hasProposal(); }, 600));
    MigrationsModel* model = fixture.session->migrationsModel();
    const int row = *fixture.firstRowIn(MigrationPhase::Proposed);
    const MigrationEntry proposal = model->entryAt(row);
    const HostId ownerBefore = fixture.connector.ownership().shardFor(proposal.range.start).owner;
    QVERIFY(fixture.session->approve(row));
    const MigrationId id = *model->entryAt(row).id;
    QVERIFY(fixture.connector.injectMoveFailure(id, MigrationPhase::CatchingUp));
    QVERIFY(fixture.runUntil(
        [&] { return model->entryAt(*model->rowOf(id)).phase == MigrationPhase::Failed; }, 60));
    QVERIFY(!model->entryAt(*model->rowOf(id)).error.isEmpty());
    QVERIFY(fixture.auditContains(QStringLiteral("failed and rolled back #%1").arg(id)));
    QCOMPARE(fixture.connector.ownership().shardFor(proposal.range.start).owner, ownerBefore);
}

void TestConsoleSession::actionsOnTheWrongRowAreRefused() {
    Fixture fixture;
    QVERIFY(!fixture.session->approve(0)); // no rows yet
    QVERIFY(!fixture.session->reject(-1));
    QVERIFY(fixture.runUntil([&] { return fixture.hasProposal(); }, 600));
    const int row = *fixture.firstRowIn(MigrationPhase::Proposed);
    QVERIFY(!fixture.session->pause(row));  // not running
    QVERIFY(!fixture.session->resume(row)); // not paused
    QVERIFY(!fixture.session->abort(row));  // nothing to abort
    const int audited = fixture.session->auditModel()->rowCount();
    QVERIFY(fixture.session->approve(row));
    QVERIFY(!fixture.session->approve(row));                          // already running
    QVERIFY(!fixture.session->reject(row));                           // running: abort instead
    QCOMPARE(fixture.session->auditModel()->rowCount(), audited + 2); // approved, started
}

void TestConsoleSession::autoApplyRespectsMaxConcurrent() {
    Fixture fixture;
    AutoApplyGuardrails guardrails;
    guardrails.enabled = true;
    guardrails.max_concurrent_moves = 1;
    guardrails.max_bytes_per_hour = 1e12;
    guardrails.min_gain = 0.0;
    fixture.session->setGuardrails(guardrails);
    QVERIFY(fixture.lastAudit().what.contains(QStringLiteral("turned auto-apply on")));
    std::size_t mostRunning = 0;
    int started = 0;
    QObject::connect(fixture.session->auditModel(), &QAbstractItemModel::rowsInserted, [&] {
        const AuditEntry& entry = fixture.lastAudit();
        if (entry.who == QStringLiteral("auto-apply"))
            ++started;
        mostRunning = std::max(mostRunning, fixture.session->runningMoves());
    });
    QVERIFY(fixture.runUntil([&] { return started >= 3; }, 900));
    QCOMPARE(mostRunning, std::size_t(1));
    for (int row = 0; row < fixture.session->auditModel()->rowCount(); ++row) {
        const AuditEntry& entry = fixture.session->auditModel()->entryAt(row);
        if (entry.who == QStringLiteral("auto-apply")) {
            QVERIFY(entry.automatic);
            QVERIFY(entry.why.contains(QStringLiteral("of 1 moves running")));
        }
    }
}

void TestConsoleSession::autoApplyHonoursQuietHours() {
    Fixture fixture;
    AutoApplyGuardrails guardrails;
    guardrails.enabled = true;
    guardrails.min_gain = 0.0;
    guardrails.quiet_hours = DailyWindow{0, 23 * 60 + 59}; // all day but one minute
    fixture.session->setGuardrails(guardrails);
    QVERIFY(fixture.runUntil([&] { return fixture.hasProposal(); }, 600));
    QVERIFY(fixture.runMinutes(30));
    QVERIFY(fixture.hasProposal());
    for (int row = 0; row < fixture.session->auditModel()->rowCount(); ++row)
        QVERIFY(fixture.session->auditModel()->entryAt(row).who != QStringLiteral("auto-apply"));
    QCOMPARE(fixture.session->runningMoves(), std::size_t(0));
}

void TestConsoleSession::auditFileKeepsEveryEntry() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("logs/audit.log"));
    std::vector<AuditEntry> written;
    {
        Fixture fixture;
        fixture.session->setAuditLogPath(path);
        QVERIFY(fixture.runUntil([&] { return fixture.hasProposal(); }, 600));
        QVERIFY(fixture.session->reject(*fixture.firstRowIn(MigrationPhase::Proposed),
                                        QStringLiteral("not now")));
        QVERIFY(fixture.runUntil([&] { return fixture.hasProposal(); }, 600));
        QVERIFY(fixture.session->approve(*fixture.firstRowIn(MigrationPhase::Proposed)));
        for (int row = 0; row < fixture.session->auditModel()->rowCount(); ++row)
            written.push_back(fixture.session->auditModel()->entryAt(row));
    }
    QVERIFY(written.size() >= 3);
    const AuditTail tail = AuditLogFile::readTail(path, 1000);
    QVERIFY2(tail.problems.isEmpty(), qPrintable(tail.problems.join(u'\n')));
    QCOMPARE(tail.records.size(), written.size());
    for (std::size_t i = 0; i < written.size(); ++i) {
        QCOMPARE(tail.records[i].entry, written[i]);
        QVERIFY(tail.records[i].cluster_ms.has_value());
    }
    // A new session on the same file shows the old entries, and a damaged line is reported
    // with its line number, not fatal.
    {
        QFile file(path);
        QVERIFY(file.open(QIODevice::Append));
        file.write("{not json\n");
    }
    SimulatedClusterConnector connector(testing::hotClusterOptions());
    ConsoleSession again(&connector);
    QSignalSpy problems(&again, &ConsoleSession::problem);
    again.setAuditLogPath(path);
    QCOMPARE(again.auditModel()->rowCount(), int(written.size()));
    QCOMPARE(problems.count(), 1);
    QVERIFY(problems.at(0).at(0).toString().contains(
        QStringLiteral("audit.log:%1:").arg(written.size() + 1)));
}

// Nobody approves anything for eight hours of a sweeping hot range: the planner's boundary
// changes must all apply to the table they were made for (a plan's splits come before its
// merges), and the cuts that only serve a move of a shard's hot part wait for that move instead
// of being applied, merged back by a later round and cut again.
void TestConsoleSession::everyPlanAppliesWhileProposalsWait() {
    SimulatedClusterConnector connector(testing::hotClusterOptions());
    ConsoleSession session(&connector);
    QStringList problems;
    connect(&session, &ConsoleSession::problem, this,
            [&problems](const QString& message) { problems << message; });
    connector.start();
    int hotPartProposals = 0;
    for (int minute = 0; minute < 8 * 60; ++minute) {
        QVERIFY(connector.advance(kMsPerMinute));
        QVERIFY(QTest::qWaitFor([&] { return session.pendingTasks() == 0; }, 10'000));
        for (int row = 0; row < session.migrationsModel()->rowCount(); ++row) {
            const SessionMove* move = session.moveOf(row);
            hotPartProposals += move && !move->carve_splits.empty();
        }
    }
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(u'\n')));
    QVERIFY(hotPartProposals > 0);
    for (int row = 0; row < session.auditModel()->rowCount(); ++row) {
        const AuditEntry& entry = session.auditModel()->entryAt(row);
        QVERIFY2(!entry.why.contains(QStringLiteral("only its hot part")),
                 qPrintable(entry.what + QStringLiteral(": ") + entry.why));
    }
}

// Approving the move of a shard's hot part first cuts that part out (audited as the operator's
// action), then moves exactly the cut-out shard.
void TestConsoleSession::approvingAHotPartCutsItFirst() {
    Fixture fixture;
    auto hotPartRow = [&]() -> std::optional<int> {
        for (int row = 0; row < fixture.session->migrationsModel()->rowCount(); ++row) {
            const SessionMove* move = fixture.session->moveOf(row);
            if (move && !move->carve_splits.empty() &&
                fixture.session->migrationsModel()->entryAt(row).phase == MigrationPhase::Proposed)
                return row;
        }
        return std::nullopt;
    };
    QVERIFY2(fixture.runUntil([&] { return hotPartRow().has_value(); }, 8 * 60),
             "no move of a hot part proposed in 8 hours");
    const int row = *hotPartRow();
    const SessionMove proposal = *fixture.session->moveOf(row);
    const std::size_t shardsBefore = fixture.connector.ownership().shardCount();
    QVERIFY(fixture.session->approve(row, QStringLiteral("cut it")));
    const OwnershipTable table = fixture.connector.ownership();
    QCOMPARE(table.shardCount(), shardsBefore + proposal.carve_splits.size());
    const MigrationEntry started = fixture.session->migrationsModel()->entryAt(row);
    QVERIFY(started.id.has_value());
    const Shard* moved = table.shardById(started.shard);
    QVERIFY(moved);
    QCOMPARE(moved->range, proposal.instruction.range); // exactly the hot part
    QCOMPARE(moved->owner, proposal.instruction.from);  // until cutover
    int cuts = 0;
    for (int entry = 0; entry < fixture.session->auditModel()->rowCount(); ++entry) {
        const AuditEntry& audit = fixture.session->auditModel()->entryAt(entry);
        if (audit.what.startsWith(QStringLiteral("split shard")) &&
            audit.why.contains(QStringLiteral("only its hot part"))) {
            QCOMPARE(audit.who, QStringLiteral("alice"));
            ++cuts;
        }
    }
    QCOMPARE(cuts, int(proposal.carve_splits.size()));
    QVERIFY(fixture.lastAudit().what.startsWith(QStringLiteral("started #")));
}

// A live cluster's rounds are 5 s and its buckets 5 minutes: a minute after connecting, all its
// load is in the bucket in progress. The trend must show it (as the heatmap does, from the same
// load map at the same rate), with now inside that bucket and a forecast about as long as the
// history rather than hours of it.
void TestConsoleSession::liveTrendShowsTheBucketInProgress() {
    constexpr TimeMs kRound = 5 * kMsPerSecond;
    constexpr TimeMs kBucket = 5 * kMsPerMinute;
    const KeyCells cells = KeyCells::fromStarts({"", "k5"}).value();
    PlannerEngineOptions options;
    options.predictive.forecast.round_ms = kRound;
    PlannerEngine engine(cells, options);
    const OwnershipTable table = OwnershipTable::withInitialPlacement({}, {"n1"}).value();
    const TimeMs connected = 1767571200000 + 13 * kMsPerHour + 33 * kMsPerMinute + 10'000;
    TimeMs now = connected; // 13:33:10
    const auto runRounds = [&](int rounds) {
        for (int round = 0; round < rounds; ++round) {
            RoundInput input{table};
            input.now = now + kRound;
            input.round_ms = kRound;
            input.cell_counts = {CellLoad{50, 0, 0, 0}, CellLoad{}}; // 10 ops/s in cell 0
            input.plan = false;
            engine.runRound(input);
            now = input.now;
        }
    };
    const auto trendOfCell0 = [&] {
        return engine.trendOf({CellSpan{0, 1}}, LoadMetric::Ops, "cell 0", std::nullopt);
    };

    runRounds(12); // 13:34:10, in the bucket that started at 13:30
    const TrendData first = trendOfCell0();
    QCOMPARE(first.history.size(), std::size_t(1));
    QCOMPARE(first.history[0], 10.0); // 600 ops over the 60 s counted, not over 300 s
    QCOMPARE(first.history_start_ms, floorDiv(connected, kBucket) * kBucket);
    QCOMPARE(first.now_ms, std::optional<TimeMs>(now));
    QCOMPARE(first.forecast_start_ms, first.history_start_ms + kBucket);
    QCOMPARE(first.forecast.size(), std::size_t(options.min_chart_horizon_steps));
    const HeatmapGrid grid = engine.heatmap(LoadMetric::Ops);
    QCOMPARE(grid.at(0, 0), first.history[0]);
    QCOMPARE(grid.nowMs(), now);

    runRounds(36); // 13:37:10: the 13:30 bucket is over, the 13:35 one in progress
    const TrendData later = trendOfCell0();
    QCOMPARE(later.history.size(), std::size_t(2));
    QCOMPARE(later.history[0], 10.0); // 1,100 ops from 13:33:10 to 13:35
    QCOMPARE(later.history[1], 10.0); // 1,300 ops from 13:35 to 13:37:10
    QCOMPARE(later.now_ms, std::optional<TimeMs>(now));
    QCOMPARE(later.forecast.size(), std::size_t(options.min_chart_horizon_steps));
    QVERIFY(std::abs(later.forecast.front() - 10.0) < 1.0);
}

// The chart follows what was asked for: a range asked for before its first load shows it once
// the load is there, and the heatmap's now is the status bar's cluster time.
void TestConsoleSession::followedTrendIsDeliveredAgainAfterEachRound() {
    Fixture fixture;
    QSignalSpy trends(fixture.session.get(), &ConsoleSession::trendReady);
    const ShardId shard = fixture.connector.ownership().shards().front().id;
    fixture.session->requestShardTrend(shard);
    QTRY_COMPARE(trends.count(), 1);
    QVERIFY(trends.at(0).at(0).value<TrendData>().history.empty()); // nothing counted yet

    QVERIFY(fixture.runMinutes(1));
    QVERIFY(trends.count() >= 2);
    const TrendData data = trends.last().at(0).value<TrendData>();
    QVERIFY(!data.history.empty());
    QVERIFY(data.title.rfind("shard " + std::to_string(shard) + " ", 0) == 0);
    QCOMPARE(data.now_ms, std::optional<TimeMs>(fixture.session->clusterTime()));
    QCOMPARE(fixture.session->heatmap().nowMs(), fixture.session->clusterTime());
    QVERIFY(std::holds_alternative<ShardId>(fixture.session->followedTrend()));

    const auto delivered = trends.count();
    QVERIFY(fixture.runMinutes(2));
    QVERIFY(trends.count() >= delivered + 2);
}

QTEST_GUILESS_MAIN(TestConsoleSession)
#include "tst_console_session.moc"
