#include "models/migrations_model.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QtTest>

#include <vector>

using namespace rangepilot;

namespace {

using Model = MigrationsModel;
using Tester = QAbstractItemModelTester;

constexpr auto kFailMode = QAbstractItemModelTester::FailureReportingMode::QtTest;
constexpr TimeMs kScheduled = 1767640800000; // 2026-01-05 19:20 UTC

MoveInstruction proposal(ShardId shard, const HostId& from = "h1", const HostId& to = "h3") {
    MoveInstruction move;
    move.shard = shard;
    move.range = {"user:0100", "user:0200"};
    move.from = from;
    move.to = to;
    move.bytes = 80e6;
    move.batches = std::vector<KeyRange>(12);
    move.expected_gain = 0.12;
    move.reason = "h1 projected at 112% by 19:20; moving this range leaves it at 81%";
    return move;
}

MigrationProgress progress(MigrationId id, ShardId shard, MigrationPhase phase,
                           std::size_t batchesDone, double bytesCopied, double rate) {
    MigrationProgress report;
    report.id = id;
    report.shard = shard;
    report.range = {"user:0100", "user:0200"};
    report.from = "h1";
    report.to = "h3";
    report.phase = phase;
    report.batches_done = batchesDone;
    report.batches_total = 12;
    report.bytes_copied = bytesCopied;
    report.bytes_total = 80e6;
    report.bytes_per_s = rate;
    return report;
}

// Three proposals for shards 1, 2, 3; shard 2's has started as migration 7.
void fillThree(Model& model) {
    for (const ShardId shard : {1, 2, 3})
        model.upsert(MigrationEntry::fromProposal(proposal(shard)));
    MigrationEntry started = model.entryAt(1);
    started.id = 7;
    started.phase = MigrationPhase::Shadowing;
    model.upsert(started);
}

QList<ShardId> shardsInOrder(const QAbstractItemModel& model) {
    QList<ShardId> shards;
    for (int row = 0; row < model.rowCount(); ++row)
        shards.append(model.index(row, Model::ShardColumn).data(Model::SortRole).toULongLong());
    return shards;
}

QString text(const QAbstractItemModel& model, int row, int column, int role = Qt::DisplayRole) {
    return model.index(row, column).data(role).toString();
}

} // namespace

class MigrationsModelTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void showsProposal_data();
    void showsProposal();
    void showsRunningMove_data();
    void showsRunningMove();
    void progressValue_data();
    void progressValue();
    void progressUpdatesRowInPlaceById();
    void proposalBecomesMigrationInSameRow();
    void repeatedProposalUpdatesItsRow();
    void unknownIdAppendsRow();
    void removesShrinksAndGrows();
    void failureShowsErrorAndColour();
    void headersCarryUnits();
    void sortsNumerically_data();
    void sortsNumerically();
};

void MigrationsModelTest::showsProposal_data() {
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("expected");
    QTest::newRow("id") << int(Model::IdColumn) << QString();
    QTest::newRow("shard") << int(Model::ShardColumn) << QStringLiteral("17");
    QTest::newRow("range") << int(Model::RangeColumn) << QStringLiteral("[user:0100, user:0200)");
    QTest::newRow("from") << int(Model::FromColumn) << QStringLiteral("h1");
    QTest::newRow("to") << int(Model::ToColumn) << QStringLiteral("h3");
    QTest::newRow("phase") << int(Model::PhaseColumn) << QStringLiteral("proposed");
    QTest::newRow("reason")
        << int(Model::ReasonColumn)
        << QStringLiteral("h1 projected at 112% by 19:20; moving this range leaves it at 81%");
    QTest::newRow("gain") << int(Model::GainColumn) << QStringLiteral("12%");
    QTest::newRow("batches") << int(Model::BatchesColumn) << QStringLiteral("0 / 12");
    QTest::newRow("bytes: the total") << int(Model::BytesColumn) << QStringLiteral("80.0 MB");
    QTest::newRow("no rate yet") << int(Model::RateColumn) << QString();
    QTest::newRow("no progress yet") << int(Model::ProgressColumn) << QString();
    QTest::newRow("scheduled") << int(Model::ScheduledColumn) << QStringLiteral("2026-01-05 19:20");
}

void MigrationsModelTest::showsProposal() {
    QFETCH(int, column);
    QFETCH(QString, expected);
    Model model;
    Tester tester(&model, kFailMode);
    MigrationEntry entry = MigrationEntry::fromProposal(proposal(17));
    entry.scheduled_ms = kScheduled;
    QCOMPARE(model.upsert(entry), 0);
    QCOMPARE(text(model, 0, column), expected);
    QVERIFY(!model.index(0, column).data(Model::ProgressRole).isValid());
    QVERIFY(!model.index(0, column).data(Model::MigrationIdRole).isValid());
    QCOMPARE(model.index(0, column).data(Model::PhaseRole).toInt(), int(MigrationPhase::Proposed));
}

void MigrationsModelTest::showsRunningMove_data() {
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("expected");
    QTest::newRow("id") << int(Model::IdColumn) << QStringLiteral("42");
    QTest::newRow("phase") << int(Model::PhaseColumn) << QStringLiteral("copying");
    QTest::newRow("gain kept") << int(Model::GainColumn) << QStringLiteral("12%");
    QTest::newRow("batches") << int(Model::BatchesColumn) << QStringLiteral("3 / 12");
    QTest::newRow("bytes") << int(Model::BytesColumn) << QStringLiteral("21.4 MB / 80.0 MB");
    QTest::newRow("rate") << int(Model::RateColumn) << QStringLiteral("5.2 MB/s");
    QTest::newRow("progress, rounded down") << int(Model::ProgressColumn) << QStringLiteral("26%");
    QTest::newRow("schedule kept")
        << int(Model::ScheduledColumn) << QStringLiteral("2026-01-05 19:20");
}

void MigrationsModelTest::showsRunningMove() {
    QFETCH(int, column);
    QFETCH(QString, expected);
    Model model;
    Tester tester(&model, kFailMode);
    MigrationEntry entry = MigrationEntry::fromProposal(proposal(17));
    entry.scheduled_ms = kScheduled;
    model.upsert(entry);
    entry.id = 42;
    entry.phase = MigrationPhase::Shadowing;
    QCOMPARE(model.upsert(entry), 0);
    QCOMPARE(model.applyProgress(progress(42, 17, MigrationPhase::Copying, 3, 21.4e6, 5.2e6)), 0);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(text(model, 0, column), expected);
    QCOMPARE(model.index(0, column).data(Model::ProgressRole).toInt(), 26);
    QCOMPARE(model.index(0, column).data(Model::MigrationIdRole).toULongLong(), 42ULL);
}

void MigrationsModelTest::progressValue_data() {
    QTest::addColumn<int>("phase");
    QTest::addColumn<double>("bytesCopied");
    QTest::addColumn<double>("bytesTotal");
    QTest::addColumn<int>("batchesDone");
    QTest::addColumn<int>("expected"); // -1: no progress value
    QTest::newRow("proposed") << int(MigrationPhase::Proposed) << 0.0 << 80.0 << 0 << -1;
    QTest::newRow("scheduled") << int(MigrationPhase::Scheduled) << 0.0 << 80.0 << 0 << -1;
    QTest::newRow("shadowing") << int(MigrationPhase::Shadowing) << 0.0 << 80.0 << 0 << 0;
    QTest::newRow("half copied") << int(MigrationPhase::Copying) << 40.0 << 80.0 << 6 << 50;
    QTest::newRow("almost") << int(MigrationPhase::CatchingUp) << 79.9 << 80.0 << 12 << 99;
    QTest::newRow("done") << int(MigrationPhase::Done) << 79.9 << 80.0 << 12 << 100;
    QTest::newRow("bytes unknown") << int(MigrationPhase::Copying) << 0.0 << 0.0 << 9 << 75;
    QTest::newRow("paused") << int(MigrationPhase::Paused) << 20.0 << 80.0 << 3 << 25;
    QTest::newRow("failed keeps it") << int(MigrationPhase::Failed) << 60.0 << 80.0 << 9 << 75;
    QTest::newRow("overshoot clamps") << int(MigrationPhase::Copying) << 90.0 << 80.0 << 12 << 100;
}

void MigrationsModelTest::progressValue() {
    QFETCH(int, phase);
    QFETCH(double, bytesCopied);
    QFETCH(double, bytesTotal);
    QFETCH(int, batchesDone);
    QFETCH(int, expected);
    Model model;
    Tester tester(&model, kFailMode);
    MigrationEntry entry = MigrationEntry::fromProposal(proposal(1));
    entry.phase = static_cast<MigrationPhase>(phase);
    entry.bytes_copied = bytesCopied;
    entry.bytes_total = bytesTotal;
    entry.batches_done = static_cast<std::size_t>(batchesDone);
    model.upsert(entry);
    const QVariant value = model.index(0, Model::ProgressColumn).data(Model::ProgressRole);
    QCOMPARE(value.isValid() ? value.toInt() : -1, expected);
    const QString shown = text(model, 0, Model::ProgressColumn);
    QCOMPARE(shown, expected < 0 ? QString() : QString::number(expected) + QLatin1Char('%'));
}

void MigrationsModelTest::progressUpdatesRowInPlaceById() {
    Model model;
    Tester tester(&model, kFailMode);
    fillThree(model);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QSignalSpy layout(&model, &QAbstractItemModel::layoutChanged);

    QCOMPARE(model.applyProgress(progress(7, 2, MigrationPhase::Copying, 3, 20e6, 5e6)), 1);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).value<QModelIndex>().row(), 1);
    QCOMPARE(changed.at(0).at(1).value<QModelIndex>().row(), 1);
    QCOMPARE(text(model, 1, Model::PhaseColumn), QStringLiteral("copying"));
    QCOMPARE(model.index(1, 0).data(Model::ProgressRole).toInt(), 25);

    // The same report again changes nothing; a new rate alone touches only the Rate column.
    model.applyProgress(progress(7, 2, MigrationPhase::Copying, 3, 20e6, 5e6));
    QCOMPARE(changed.count(), 1);
    model.applyProgress(progress(7, 2, MigrationPhase::Copying, 3, 20e6, 6e6));
    QCOMPARE(changed.count(), 2);
    QCOMPARE(changed.at(1).at(0).value<QModelIndex>().column(), int(Model::RateColumn));
    QCOMPARE(changed.at(1).at(1).value<QModelIndex>().column(), int(Model::RateColumn));

    model.applyProgress(progress(7, 2, MigrationPhase::Done, 12, 80e6, 0));
    QCOMPARE(text(model, 1, Model::PhaseColumn), QStringLiteral("done"));
    QCOMPARE(text(model, 1, Model::RateColumn), QString());
    QCOMPARE(model.index(1, 0).data(Model::ProgressRole).toInt(), 100);

    QCOMPARE(inserted.count(), 0);
    QCOMPARE(removed.count(), 0);
    QCOMPARE(reset.count(), 0);
    QCOMPARE(layout.count(), 0);
    QCOMPARE(shardsInOrder(model), (QList<ShardId>{1, 2, 3}));
    QCOMPARE(text(model, 1, Model::GainColumn), QStringLiteral("12%")); // kept from the proposal
}

void MigrationsModelTest::proposalBecomesMigrationInSameRow() {
    Model model;
    Tester tester(&model, kFailMode);
    model.upsert(MigrationEntry::fromProposal(proposal(1)));
    model.upsert(MigrationEntry::fromProposal(proposal(2)));
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    const ProposalKey key{1, "h1", "h3"};
    QCOMPARE(model.rowOfProposal(key), std::optional<int>(0));

    MigrationEntry started = model.entryAt(0);
    started.id = 99;
    started.phase = MigrationPhase::Shadowing;
    QCOMPARE(model.upsert(started), 0);

    QCOMPARE(inserted.count(), 0);
    QCOMPARE(model.rowOf(99), std::optional<int>(0));
    QCOMPARE(model.rowOfProposal(key), std::optional<int>()); // it has started
    QCOMPARE(text(model, 0, Model::IdColumn), QStringLiteral("99"));

    // The planner proposing the same move again, after this one: a new row, not the running one.
    QCOMPARE(model.upsert(MigrationEntry::fromProposal(proposal(1))), 2);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(text(model, 0, Model::PhaseColumn), QStringLiteral("shadowing"));
}

void MigrationsModelTest::repeatedProposalUpdatesItsRow() {
    Model model;
    Tester tester(&model, kFailMode);
    fillThree(model);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);

    MoveInstruction fresher = proposal(3);
    fresher.expected_gain = 0.2;
    QCOMPARE(model.upsert(MigrationEntry::fromProposal(fresher)), 2);
    QCOMPARE(inserted.count(), 0);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).value<QModelIndex>().column(), int(Model::GainColumn));
    QCOMPARE(text(model, 2, Model::GainColumn), QStringLiteral("20%"));

    // Another target is another proposal.
    QCOMPARE(model.upsert(MigrationEntry::fromProposal(proposal(3, "h1", "h2"))), 3);
    QCOMPARE(inserted.count(), 1);
}

void MigrationsModelTest::unknownIdAppendsRow() {
    Model model;
    Tester tester(&model, kFailMode);
    fillThree(model);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QCOMPARE(model.applyProgress(progress(5, 9, MigrationPhase::Copying, 1, 8e6, 1e6)), 3);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(inserted.at(0).at(1).toInt(), 3);
    QCOMPARE(text(model, 3, Model::ShardColumn), QStringLiteral("9"));
    QCOMPARE(text(model, 3, Model::GainColumn), QStringLiteral("\u2014")); // not our proposal
    QVERIFY(!model.index(3, Model::GainColumn).data(Model::SortRole).isValid());
    QCOMPARE(model.index(3, 0).data(Model::ProgressRole).toInt(), 10);
}

void MigrationsModelTest::removesShrinksAndGrows() {
    Model model;
    Tester tester(&model, kFailMode);
    fillThree(model);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    model.removeAt(0); // a rejected proposal
    QCOMPARE(removed.count(), 1);
    QCOMPARE(shardsInOrder(model), (QList<ShardId>{2, 3}));
    QCOMPARE(model.rowOf(7), std::optional<int>(0));
    model.removeAt(5); // out of range: ignored
    QCOMPARE(model.rowCount(), 2);

    std::vector<MigrationEntry> five;
    for (const ShardId shard : {10, 11, 12, 13, 14})
        five.push_back(MigrationEntry::fromProposal(proposal(shard)));
    model.setEntries(five);
    QCOMPARE(shardsInOrder(model), (QList<ShardId>{10, 11, 12, 13, 14}));
    model.setEntries({five[4]});
    QCOMPARE(shardsInOrder(model), (QList<ShardId>{14}));
    model.setEntries({});
    QCOMPARE(model.rowCount(), 0);
    fillThree(model);
    QCOMPARE(model.rowCount(), 3);
}

void MigrationsModelTest::failureShowsErrorAndColour() {
    Model model;
    Tester tester(&model, kFailMode);
    fillThree(model);
    QVERIFY(!model.index(1, Model::PhaseColumn).data(Qt::ForegroundRole).isValid());
    MigrationProgress failed = progress(7, 2, MigrationPhase::Failed, 5, 30e6, 0);
    failed.error = QStringLiteral("checksum mismatch on batch 5; rolled back");
    model.applyProgress(failed);
    QCOMPARE(text(model, 1, Model::PhaseColumn), QStringLiteral("failed"));
    QCOMPARE(text(model, 1, Model::PhaseColumn, Qt::ToolTipRole), failed.error);
    QVERIFY(model.index(1, Model::PhaseColumn).data(Qt::ForegroundRole).isValid());
    QCOMPARE(model.entryAt(1).error, failed.error);
}

void MigrationsModelTest::headersCarryUnits() {
    Model model;
    QCOMPARE(model.headerData(Model::RateColumn, Qt::Horizontal).toString(),
             QStringLiteral("Rate (bytes/s)"));
    QCOMPARE(model.headerData(Model::ScheduledColumn, Qt::Horizontal).toString(),
             QStringLiteral("Scheduled (UTC)"));
    QCOMPARE(model.headerData(Model::ProgressColumn, Qt::Horizontal).toString(),
             QStringLiteral("Progress (%)"));
    for (int column = 0; column < Model::ColumnCount; ++column)
        QVERIFY(!model.headerData(column, Qt::Horizontal).toString().isEmpty());
}

void MigrationsModelTest::sortsNumerically_data() {
    QTest::addColumn<int>("column");
    QTest::addColumn<QList<ShardId>>("expected");
    // Shard 1: 9% copied at 900 kB/s, shard 2: 10% at 10 MB/s, shard 3: done (100%), shard 4 a
    // proposal. Ids 10, 9, 100: as text "10" < "100" < "9". A plain QSortFilterProxyModel puts
    // cells without a value (no progress, no rate, no id) after the others.
    QTest::newRow("progress") << int(Model::ProgressColumn) << QList<ShardId>{1, 2, 3, 4};
    QTest::newRow("rate") << int(Model::RateColumn) << QList<ShardId>{1, 2, 3, 4};
    QTest::newRow("id") << int(Model::IdColumn) << QList<ShardId>{2, 1, 3, 4};
    QTest::newRow("phase: state machine order")
        << int(Model::PhaseColumn) << QList<ShardId>{4, 1, 2, 3};
}

void MigrationsModelTest::sortsNumerically() {
    QFETCH(int, column);
    QFETCH(QList<ShardId>, expected);
    Model model;
    QSortFilterProxyModel proxy;
    proxy.setSortRole(Model::SortRole);
    proxy.setSourceModel(&model);
    Tester proxyTester(&proxy, kFailMode);
    const std::vector<std::pair<MigrationId, MigrationProgress>> runs{
        {10, progress(10, 1, MigrationPhase::Copying, 1, 7.2e6, 900e3)},
        {9, progress(9, 2, MigrationPhase::CatchingUp, 1, 8e6, 10e6)},
        {100, progress(100, 3, MigrationPhase::Done, 12, 80e6, 0)}};
    for (const auto& [id, report] : runs)
        model.applyProgress(report);
    model.upsert(MigrationEntry::fromProposal(proposal(4)));
    proxy.sort(column, Qt::AscendingOrder);
    QCOMPARE(shardsInOrder(proxy), expected);
}

QTEST_APPLESS_MAIN(MigrationsModelTest)
#include "tst_migrations_model.moc"
