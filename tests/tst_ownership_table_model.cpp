#include "models/ownership_table_model.h"

#include <QAbstractItemModelTester>
#include <QPersistentModelIndex>
#include <QSignalSpy>
#include <QtTest>

#include <cmath>
#include <string>
#include <vector>

using namespace rangepilot;

namespace {

using Model = OwnershipTableModel;
using Tester = QAbstractItemModelTester;

constexpr auto kFailMode = QAbstractItemModelTester::FailureReportingMode::QtTest;

OwnershipTable makeTable(std::vector<Shard> shards, std::uint64_t epoch) {
    Result<OwnershipTable> table = OwnershipTable::create(std::move(shards), epoch);
    if (!table)
        qFatal("bad test table: %s", table.error().message.c_str());
    return std::move(table).value();
}

// Five shards over three hosts:
//   1 ["", c)  h1 [h2]     2 [c, g)  h2 [h3]     3 [g, m)  h3 [h1]
//   4 [m, t)   h1 [h3]     5 [t, +inf)  h2 [h1]
OwnershipTable fiveShards(std::uint64_t epoch = 4) {
    return makeTable({{1, {"", "c"}, "h1", {"h2"}},
                      {2, {"c", "g"}, "h2", {"h3"}},
                      {3, {"g", "m"}, "h3", {"h1"}},
                      {4, {"m", "t"}, "h1", {"h3"}},
                      {5, {"t", ""}, "h2", {"h1"}}},
                     epoch);
}

// Figures chosen so that text order and numeric order differ ("100%" < "10%" < "9%" as text).
// Shard 5 has none.
std::vector<ShardFigures> fiveFigures() {
    return {{1, 1000.0, 1500.0, 0.09, TrendDirection::Growing, 0.20},
            {2, 900.0, 1200.0, 0.10, TrendDirection::Flat, 0.30},
            {3, 50.0, 80.0, 0.85, TrendDirection::Declining, -0.10},
            {4, 12000.0, 15000.0, 1.00, TrendDirection::Growing, 0.05}};
}

QList<ShardId> shardsInOrder(const QAbstractItemModel& model) {
    QList<ShardId> ids;
    for (int row = 0; row < model.rowCount(); ++row)
        ids.append(model.index(row, 0).data(Model::ShardIdRole).toULongLong());
    return ids;
}

QString text(const QAbstractItemModel& model, int row, int column, int role = Qt::DisplayRole) {
    return model.index(row, column).data(role).toString();
}

} // namespace

class OwnershipTableModelTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void displayFormats_data();
    void displayFormats();
    void showsKnownRow_data();
    void showsKnownRow();
    void sortRoleIsNumeric_data();
    void sortRoleIsNumeric();
    void trendTextAndSortValue_data();
    void trendTextAndSortValue();
    void longKeysAreShortenedWithFullToolTip();
    void missingFiguresShowDash();
    void headersCarryUnits();
    void sameShardsUpdateChangedRowsOnly();
    void unchangedSnapshotEmitsNothing();
    void newEpochMarksOnlyTheChangedShard();
    void splitInsertsRowKeepingPersistentIndexes();
    void mergeRemovesRow();
    void shrinksAndGrows();
    void reorderedShardsReset();
    void setFiguresIgnoresUnknownShards();

    void proxyFiltersByHost_data();
    void proxyFiltersByHost();
    void proxyFiltersByKeyPrefix_data();
    void proxyFiltersByKeyPrefix();
    void proxyPrefixSpanningShards();
    void proxyRejectsMalformedHexPrefix();
    void proxyFiltersByMinimumScore_data();
    void proxyFiltersByMinimumScore();
    void proxyCombinesFilters();
    void proxySortsNumerically_data();
    void proxySortsNumerically();
    void proxyFollowsSourceUpdates();
};

void OwnershipTableModelTest::displayFormats_data() {
    QTest::addColumn<QString>("actual");
    QTest::addColumn<QString>("expected");
    QTest::newRow("percent") << display::percent(0.734) << QStringLiteral("73%");
    QTest::newRow("percent over 100") << display::percent(1.126) << QStringLiteral("113%");
    QTest::newRow("bytes") << display::bytes(512) << QStringLiteral("512 B");
    QTest::newRow("kilobytes") << display::bytes(1500) << QStringLiteral("1.5 kB");
    QTest::newRow("megabytes") << display::bytes(21.4e6) << QStringLiteral("21.4 MB");
    QTest::newRow("rounding edge") << display::bytes(999'960) << QStringLiteral("1.0 MB");
    QTest::newRow("gigabytes") << display::bytes(64e9) << QStringLiteral("64.0 GB");
    QTest::newRow("byte rate") << display::byteRate(5.2e6) << QStringLiteral("5.2 MB/s");
    QTest::newRow("ops") << display::opsRate(1234.4) << QStringLiteral("1,234 ops/s");
    QTest::newRow("many ops") << display::opsRate(1234567) << QStringLiteral("1,234,567 ops/s");
    QTest::newRow("time") << display::utcTime(1767640800000) << QStringLiteral("2026-01-05 19:20");
    QTest::newRow("time before 1970")
        << display::utcTime(-60000) << QStringLiteral("1969-12-31 23:59");
    QTest::newRow("binary key") << display::key(std::string("\x01\xff", 2))
                                << QStringLiteral("0x01ff");
    QTest::newRow("unbounded range") << display::keyRange({"a", ""}) << QStringLiteral("[a, +inf)");
    QTest::newRow("key order is byte order")
        << QString::number(display::keyOrder("a") < display::keyOrder(std::string("a\x00", 2)))
        << QStringLiteral("1");
    QTest::newRow("not a number") << display::percent(std::nan("")) << QStringLiteral("\u2014");
}

void OwnershipTableModelTest::displayFormats() {
    QFETCH(QString, actual);
    QFETCH(QString, expected);
    QCOMPARE(actual, expected);
}

void OwnershipTableModelTest::showsKnownRow_data() {
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("expected");
    QTest::newRow("range") << int(Model::RangeColumn) << QStringLiteral("[user:0100, user:0200)");
    QTest::newRow("shard") << int(Model::ShardColumn) << QStringLiteral("7");
    QTest::newRow("owner") << int(Model::OwnerColumn) << QStringLiteral("h1");
    QTest::newRow("replicas") << int(Model::ReplicasColumn) << QStringLiteral("h2, h3");
    QTest::newRow("load now") << int(Model::LoadNowColumn) << QStringLiteral("1,234 ops/s");
    QTest::newRow("peak") << int(Model::ProjectedPeakColumn) << QStringLiteral("2,500 ops/s");
    QTest::newRow("score") << int(Model::ScoreColumn) << QStringLiteral("73%");
    QTest::newRow("trend") << int(Model::TrendColumn) << QStringLiteral("growing +12%/day");
    QTest::newRow("epoch") << int(Model::EpochColumn) << QStringLiteral("3");
}

void OwnershipTableModelTest::showsKnownRow() {
    QFETCH(int, column);
    QFETCH(QString, expected);
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(makeTable({{6, {"", "user:0100"}, "h2", {}},
                                 {7, {"user:0100", "user:0200"}, "h1", {"h2", "h3"}},
                                 {8, {"user:0200", ""}, "h3", {}}},
                                3),
                      {{7, 1234.4, 2500.0, 0.734, TrendDirection::Growing, 0.12}});
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(text(model, 1, column), expected);
}

void OwnershipTableModelTest::sortRoleIsNumeric_data() {
    QTest::addColumn<int>("column");
    QTest::addColumn<QVariant>("expected");
    QTest::newRow("range: key order") << int(Model::RangeColumn) << QVariant(1);
    QTest::newRow("shard") << int(Model::ShardColumn) << QVariant::fromValue<qulonglong>(7);
    QTest::newRow("load now") << int(Model::LoadNowColumn) << QVariant(1234.4);
    QTest::newRow("peak") << int(Model::ProjectedPeakColumn) << QVariant(2500.0);
    QTest::newRow("score") << int(Model::ScoreColumn) << QVariant(0.734);
    QTest::newRow("trend") << int(Model::TrendColumn) << QVariant(0.12);
    QTest::newRow("epoch") << int(Model::EpochColumn) << QVariant::fromValue<qulonglong>(3);
    QTest::newRow("owner: text") << int(Model::OwnerColumn) << QVariant(QStringLiteral("h1"));
}

void OwnershipTableModelTest::sortRoleIsNumeric() {
    QFETCH(int, column);
    QFETCH(QVariant, expected);
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(makeTable({{6, {"", "user:0100"}, "h2", {}},
                                 {7, {"user:0100", "user:0200"}, "h1", {"h2", "h3"}},
                                 {8, {"user:0200", ""}, "h3", {}}},
                                3),
                      {{7, 1234.4, 2500.0, 0.734, TrendDirection::Growing, 0.12}});
    const QVariant value = model.index(1, column).data(Model::SortRole);
    QCOMPARE(value.typeId(), expected.typeId());
    QCOMPARE(value, expected);
}

void OwnershipTableModelTest::trendTextAndSortValue_data() {
    QTest::addColumn<int>("direction");
    QTest::addColumn<double>("slope");
    QTest::addColumn<QString>("expectedText");
    QTest::addColumn<double>("expectedSort");
    QTest::newRow("growing") << int(TrendDirection::Growing) << 0.12
                             << QStringLiteral("growing +12%/day") << 0.12;
    QTest::newRow("declining") << int(TrendDirection::Declining) << -0.08
                               << QStringLiteral("declining -8%/day") << -0.08;
    // A flat trend's slope is below the significance the planner asks for: no number, sorts as 0.
    QTest::newRow("flat") << int(TrendDirection::Flat) << 0.03 << QStringLiteral("flat") << 0.0;
}

void OwnershipTableModelTest::trendTextAndSortValue() {
    QFETCH(int, direction);
    QFETCH(double, slope);
    QFETCH(QString, expectedText);
    QFETCH(double, expectedSort);
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(makeTable({{1, {"", ""}, "h1", {}}}, 1),
                      {{1, 1.0, 1.0, 0.1, static_cast<TrendDirection>(direction), slope}});
    QCOMPARE(text(model, 0, Model::TrendColumn), expectedText);
    QCOMPARE(model.index(0, Model::TrendColumn).data(Model::SortRole).toDouble(), expectedSort);
}

void OwnershipTableModelTest::longKeysAreShortenedWithFullToolTip() {
    Model model;
    Tester tester(&model, kFailMode);
    const Key longKey = "customer:00000000000000000000000042";
    model.setSnapshot(makeTable({{1, {"", longKey}, "h1", {}}, {2, {longKey, ""}, "h2", {}}}, 1),
                      {});
    const QString shown = text(model, 0, Model::RangeColumn);
    // 23 characters of the key and the ellipsis: display::kMaxKeyChars in all.
    QCOMPARE(shown, QStringLiteral("[, customer:00000000000000\u2026)"));
    QCOMPARE(text(model, 0, Model::RangeColumn, Qt::ToolTipRole),
             QStringLiteral("[, customer:00000000000000000000000042)"));
    QCOMPARE(model.index(1, 0).data(Model::StartKeyRole).toByteArray(),
             QByteArray::fromStdString(longKey));
}

void OwnershipTableModelTest::missingFiguresShowDash() {
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(fiveShards(), fiveFigures());
    for (const int column : {Model::LoadNowColumn, Model::ProjectedPeakColumn, Model::ScoreColumn,
                             Model::TrendColumn}) {
        QCOMPARE(text(model, 4, column), QStringLiteral("\u2014"));
        QVERIFY(!model.index(4, column).data(Model::SortRole).isValid());
    }
    QCOMPARE(text(model, 4, Model::OwnerColumn), QStringLiteral("h2"));
}

void OwnershipTableModelTest::headersCarryUnits() {
    Model model;
    Tester tester(&model, kFailMode);
    QCOMPARE(model.headerData(Model::LoadNowColumn, Qt::Horizontal).toString(),
             QStringLiteral("Load now (ops/s)"));
    QCOMPARE(model.headerData(Model::ProjectedPeakColumn, Qt::Horizontal).toString(),
             QStringLiteral("Projected peak (ops/s)"));
    QCOMPARE(model.headerData(Model::ScoreColumn, Qt::Horizontal).toString(),
             QStringLiteral("Score (% of owner)"));
    for (int column = 0; column < Model::ColumnCount; ++column) {
        QVERIFY(!model.headerData(column, Qt::Horizontal).toString().isEmpty());
        QVERIFY(!model.headerData(column, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty());
    }
}

void OwnershipTableModelTest::sameShardsUpdateChangedRowsOnly() {
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(fiveShards(), fiveFigures());
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);

    std::vector<ShardFigures> figures = fiveFigures();
    figures[1].score = 0.42;        // shard 2, row 1
    figures[3].load_now_ops = 11.0; // shard 4, row 3
    model.setSnapshot(fiveShards(), figures);

    QCOMPARE(reset.count(), 0);
    QCOMPARE(inserted.count(), 0);
    QCOMPARE(removed.count(), 0);
    QCOMPARE(changed.count(), 2);
    const auto topLeft = [&](int i) { return changed.at(i).at(0).value<QModelIndex>(); };
    const auto bottomRight = [&](int i) { return changed.at(i).at(1).value<QModelIndex>(); };
    QCOMPARE(topLeft(0).row(), 1);
    QCOMPARE(bottomRight(0).row(), 1);
    QCOMPARE(topLeft(0).column(), int(Model::ScoreColumn));
    QCOMPARE(bottomRight(0).column(), int(Model::ScoreColumn));
    QCOMPARE(topLeft(1).row(), 3);
    QCOMPARE(topLeft(1).column(), int(Model::LoadNowColumn));
    QCOMPARE(bottomRight(1).column(), int(Model::LoadNowColumn));
    QCOMPARE(text(model, 1, Model::ScoreColumn), QStringLiteral("42%"));
    QCOMPARE(text(model, 3, Model::LoadNowColumn), QStringLiteral("11 ops/s"));
}

void OwnershipTableModelTest::unchangedSnapshotEmitsNothing() {
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(fiveShards(), fiveFigures());
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    std::vector<ShardFigures> shuffled = fiveFigures();
    std::reverse(shuffled.begin(), shuffled.end()); // figures match by id, not position
    model.setSnapshot(fiveShards(), shuffled);
    QCOMPARE(changed.count(), 0);
    QCOMPARE(reset.count(), 0);
}

void OwnershipTableModelTest::newEpochMarksOnlyTheChangedShard() {
    Model model;
    Tester tester(&model, kFailMode);
    const OwnershipTable before = fiveShards(4);
    model.setSnapshot(before, fiveFigures());
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);

    Result<OwnershipTable> after = before.reassign(3, "h2");
    QVERIFY(after.ok());
    model.setSnapshot(after.value(), fiveFigures());

    QCOMPARE(model.epoch(), std::uint64_t{5});
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).value<QModelIndex>().row(), 2);
    QCOMPARE(changed.at(0).at(0).value<QModelIndex>().column(), int(Model::OwnerColumn));
    QCOMPARE(changed.at(0).at(1).value<QModelIndex>().column(), int(Model::EpochColumn));
    QCOMPARE(text(model, 2, Model::OwnerColumn), QStringLiteral("h2"));
    QCOMPARE(text(model, 2, Model::EpochColumn), QStringLiteral("5"));
    QCOMPARE(text(model, 1, Model::EpochColumn), QStringLiteral("4"));
}

void OwnershipTableModelTest::splitInsertsRowKeepingPersistentIndexes() {
    Model model;
    Tester tester(&model, kFailMode);
    const OwnershipTable before = fiveShards(4);
    model.setSnapshot(before, fiveFigures());
    const QPersistentModelIndex shard4(model.index(3, Model::OwnerColumn));
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);

    Result<OwnershipTable> after = before.split(3, "j", 6);
    QVERIFY(after.ok());
    model.setSnapshot(after.value(), fiveFigures());

    QCOMPARE(reset.count(), 0);
    QCOMPARE(removed.count(), 0);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(inserted.at(0).at(1).toInt(), 3);
    QCOMPARE(inserted.at(0).at(2).toInt(), 3);
    QCOMPARE(shardsInOrder(model), (QList<ShardId>{1, 2, 3, 6, 4, 5}));
    QCOMPARE(changed.count(), 1); // the left half: its range and epoch
    QCOMPARE(changed.at(0).at(0).value<QModelIndex>().row(), 2);
    QCOMPARE(text(model, 2, Model::RangeColumn), QStringLiteral("[g, j)"));
    QCOMPARE(text(model, 3, Model::RangeColumn), QStringLiteral("[j, m)"));
    QCOMPARE(text(model, 3, Model::EpochColumn), QStringLiteral("5"));
    QCOMPARE(shard4.row(), 4);
    QCOMPARE(shard4.data(Model::ShardIdRole).toULongLong(), 4ULL);
}

void OwnershipTableModelTest::mergeRemovesRow() {
    Model model;
    Tester tester(&model, kFailMode);
    const OwnershipTable before = fiveShards(4);
    model.setSnapshot(before, fiveFigures());
    const QPersistentModelIndex shard5(model.index(4, 0));
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);

    Result<OwnershipTable> after = before.merge(2, 3);
    QVERIFY(after.ok());
    model.setSnapshot(after.value(), fiveFigures());

    QCOMPARE(reset.count(), 0);
    QCOMPARE(inserted.count(), 0);
    QCOMPARE(removed.count(), 1);
    QCOMPARE(removed.at(0).at(1).toInt(), 2);
    QCOMPARE(removed.at(0).at(2).toInt(), 2);
    QCOMPARE(shardsInOrder(model), (QList<ShardId>{1, 2, 4, 5}));
    QCOMPARE(text(model, 1, Model::RangeColumn), QStringLiteral("[c, m)"));
    QCOMPARE(shard5.row(), 3);
}

void OwnershipTableModelTest::shrinksAndGrows() {
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(fiveShards(), fiveFigures());
    QCOMPARE(model.rowCount(), 5);

    // Different shards altogether: every old row goes, the new ones come.
    model.setSnapshot(makeTable({{10, {"", "k"}, "h1", {}}, {11, {"k", ""}, "h2", {}}}, 9), {});
    QCOMPARE(shardsInOrder(model), (QList<ShardId>{10, 11}));

    std::vector<Shard> seven;
    const std::vector<Key> bounds{"", "b", "d", "f", "h", "k", "p", ""};
    for (std::size_t i = 0; i + 1 < bounds.size(); ++i)
        seven.push_back({20 + i, {bounds[i], bounds[i + 1]}, i % 2 ? "h1" : "h2", {}});
    model.setSnapshot(makeTable(seven, 10), {{23, 5.0, 6.0, 0.5, TrendDirection::Flat, 0.0}});
    QCOMPARE(model.rowCount(), 7);
    QCOMPARE(text(model, 3, Model::ScoreColumn), QStringLiteral("50%"));

    model.setSnapshot(makeTable({{1, {"", ""}, "h1", {}}}, 11), {});
    QCOMPARE(model.rowCount(), 1);
    model.clear();
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.epoch(), std::uint64_t{0});
    model.setSnapshot(fiveShards(), fiveFigures());
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(model.rowOfShard(4), std::optional<int>(3));
    QCOMPARE(model.rowOfShard(99), std::optional<int>());
}

void OwnershipTableModelTest::reorderedShardsReset() {
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(makeTable({{1, {"", "k"}, "h1", {}}, {2, {"k", ""}, "h2", {}}}, 1), {});
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    model.setSnapshot(makeTable({{2, {"", "k"}, "h1", {}}, {1, {"k", ""}, "h2", {}}}, 2), {});
    QCOMPARE(reset.count(), 1);
    QCOMPARE(shardsInOrder(model), (QList<ShardId>{2, 1}));
}

void OwnershipTableModelTest::setFiguresIgnoresUnknownShards() {
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(fiveShards(), {});
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setFigures({{5, 70.0, 90.0, 0.3, TrendDirection::Flat, 0.0},
                      {42, 1.0, 1.0, 1.0, TrendDirection::Flat, 0.0}});
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).value<QModelIndex>().row(), 4);
    QCOMPARE(text(model, 4, Model::LoadNowColumn), QStringLiteral("70 ops/s"));
    QCOMPARE(model.rowCount(), 5);
}

// ----- proxy -----

void OwnershipTableModelTest::proxyFiltersByHost_data() {
    QTest::addColumn<QString>("host");
    QTest::addColumn<QList<ShardId>>("expected");
    QTest::newRow("owner or replica") << QStringLiteral("h1") << QList<ShardId>{1, 3, 4, 5};
    QTest::newRow("h2") << QStringLiteral("h2") << QList<ShardId>{1, 2, 5};
    QTest::newRow("unknown host") << QStringLiteral("h9") << QList<ShardId>{};
    QTest::newRow("no prefix match of names") << QStringLiteral("h") << QList<ShardId>{};
    QTest::newRow("all") << QString() << QList<ShardId>{1, 2, 3, 4, 5};
}

void OwnershipTableModelTest::proxyFiltersByHost() {
    QFETCH(QString, host);
    QFETCH(QList<ShardId>, expected);
    Model model;
    OwnershipFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    Tester tester(&model, kFailMode);
    Tester proxyTester(&proxy, kFailMode);
    model.setSnapshot(fiveShards(), fiveFigures());
    proxy.setHostFilter(host);
    QCOMPARE(shardsInOrder(proxy), expected);
}

void OwnershipTableModelTest::proxyFiltersByKeyPrefix_data() {
    QTest::addColumn<QString>("prefix");
    QTest::addColumn<QList<ShardId>>("expected");
    QTest::newRow("inside one shard") << QStringLiteral("d") << QList<ShardId>{2};
    QTest::newRow("at a shard's start") << QStringLiteral("g") << QList<ShardId>{3};
    QTest::newRow("first shard") << QStringLiteral("b") << QList<ShardId>{1};
    QTest::newRow("unbounded last shard") << QStringLiteral("zz") << QList<ShardId>{5};
    QTest::newRow("hex text") << QStringLiteral("0x6d") << QList<ShardId>{4};
    QTest::newRow("prefix ending in 0xff") << QStringLiteral("0x66ff") << QList<ShardId>{2};
    QTest::newRow("every key") << QString() << QList<ShardId>{1, 2, 3, 4, 5};
}

void OwnershipTableModelTest::proxyFiltersByKeyPrefix() {
    QFETCH(QString, prefix);
    QFETCH(QList<ShardId>, expected);
    Model model;
    OwnershipFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    Tester proxyTester(&proxy, kFailMode);
    model.setSnapshot(fiveShards(), fiveFigures());
    QVERIFY(proxy.setKeyPrefixText(prefix));
    QCOMPARE(shardsInOrder(proxy), expected);
}

void OwnershipTableModelTest::proxyPrefixSpanningShards() {
    Model model;
    OwnershipFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    Tester proxyTester(&proxy, kFailMode);
    model.setSnapshot(makeTable({{1, {"", "order:"}, "h1", {}},
                                 {2, {"order:", "user:3"}, "h1", {}},
                                 {3, {"user:3", "user:6"}, "h2", {}},
                                 {4, {"user:6", "v"}, "h3", {}},
                                 {5, {"v", ""}, "h3", {}}},
                                1),
                      {});
    proxy.setKeyPrefix("user:");
    QCOMPARE(shardsInOrder(proxy), (QList<ShardId>{2, 3, 4}));
    proxy.setKeyPrefix("user:4");
    QCOMPARE(shardsInOrder(proxy), (QList<ShardId>{3}));
    proxy.setKeyPrefix("order");
    QCOMPARE(shardsInOrder(proxy), (QList<ShardId>{1, 2}));
}

void OwnershipTableModelTest::proxyRejectsMalformedHexPrefix() {
    Model model;
    OwnershipFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    model.setSnapshot(fiveShards(), fiveFigures());
    QVERIFY(proxy.setKeyPrefixText(QStringLiteral("m")));
    QVERIFY(!proxy.setKeyPrefixText(QStringLiteral("0x6")));
    QCOMPARE(proxy.keyPrefix(), Key("m"));
    QCOMPARE(shardsInOrder(proxy), (QList<ShardId>{4}));
}

void OwnershipTableModelTest::proxyFiltersByMinimumScore_data() {
    QTest::addColumn<double>("minimum");
    QTest::addColumn<QList<ShardId>>("expected");
    QTest::newRow("off, even without figures") << 0.0 << QList<ShardId>{1, 2, 3, 4, 5};
    QTest::newRow("at least 10%") << 0.10 << QList<ShardId>{2, 3, 4};
    QTest::newRow("at least 90%") << 0.90 << QList<ShardId>{4};
    QTest::newRow("none that hot") << 2.0 << QList<ShardId>{};
}

void OwnershipTableModelTest::proxyFiltersByMinimumScore() {
    QFETCH(double, minimum);
    QFETCH(QList<ShardId>, expected);
    Model model;
    OwnershipFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    Tester proxyTester(&proxy, kFailMode);
    model.setSnapshot(fiveShards(), fiveFigures());
    proxy.setMinimumScore(minimum);
    QCOMPARE(shardsInOrder(proxy), expected);
}

void OwnershipTableModelTest::proxyCombinesFilters() {
    Model model;
    OwnershipFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    Tester proxyTester(&proxy, kFailMode);
    model.setSnapshot(fiveShards(), fiveFigures());
    proxy.setHostFilter(QStringLiteral("h1"));
    proxy.setMinimumScore(0.5);
    QCOMPARE(shardsInOrder(proxy), (QList<ShardId>{3, 4}));
    proxy.setKeyPrefix("n");
    QCOMPARE(shardsInOrder(proxy), (QList<ShardId>{4}));
    proxy.setHostFilter(QString());
    proxy.setMinimumScore(0.0);
    proxy.setKeyPrefix({});
    QCOMPARE(proxy.rowCount(), 5);
}

void OwnershipTableModelTest::proxySortsNumerically_data() {
    QTest::addColumn<int>("column");
    QTest::addColumn<int>("order");
    QTest::addColumn<QList<ShardId>>("expected");
    // As text these would go "100%" < "10%" < "85%" < "9%"; shard 5 has no figures and comes first.
    QTest::newRow("score") << int(Model::ScoreColumn) << int(Qt::AscendingOrder)
                           << QList<ShardId>{5, 1, 2, 3, 4};
    QTest::newRow("score descending")
        << int(Model::ScoreColumn) << int(Qt::DescendingOrder) << QList<ShardId>{4, 3, 2, 1, 5};
    QTest::newRow("load now") << int(Model::LoadNowColumn) << int(Qt::AscendingOrder)
                              << QList<ShardId>{5, 3, 2, 1, 4};
    QTest::newRow("trend") << int(Model::TrendColumn) << int(Qt::AscendingOrder)
                           << QList<ShardId>{5, 3, 2, 4, 1};
    QTest::newRow("range descending")
        << int(Model::RangeColumn) << int(Qt::DescendingOrder) << QList<ShardId>{5, 4, 3, 2, 1};
    QTest::newRow("owner") << int(Model::OwnerColumn) << int(Qt::AscendingOrder)
                           << QList<ShardId>{1, 4, 2, 5, 3};
}

void OwnershipTableModelTest::proxySortsNumerically() {
    QFETCH(int, column);
    QFETCH(int, order);
    QFETCH(QList<ShardId>, expected);
    Model model;
    OwnershipFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    Tester proxyTester(&proxy, kFailMode);
    model.setSnapshot(fiveShards(), fiveFigures());
    proxy.sort(column, static_cast<Qt::SortOrder>(order));
    QCOMPARE(shardsInOrder(proxy), expected);
}

void OwnershipTableModelTest::proxyFollowsSourceUpdates() {
    Model model;
    OwnershipFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    Tester tester(&model, kFailMode);
    Tester proxyTester(&proxy, kFailMode);
    model.setSnapshot(fiveShards(), fiveFigures());
    proxy.setMinimumScore(0.5);
    proxy.sort(Model::ScoreColumn, Qt::DescendingOrder);
    QCOMPARE(shardsInOrder(proxy), (QList<ShardId>{4, 3}));

    std::vector<ShardFigures> figures = fiveFigures();
    figures[0].score = 0.95; // shard 1 heats up: enters the filter, sorts between 4 and 3
    model.setFigures(figures);
    QCOMPARE(shardsInOrder(proxy), (QList<ShardId>{4, 1, 3}));

    Result<OwnershipTable> split = fiveShards().split(4, "p", 6);
    QVERIFY(split.ok());
    figures.push_back({6, 10.0, 20.0, 0.99, TrendDirection::Flat, 0.0});
    model.setSnapshot(split.value(), figures);
    QCOMPARE(shardsInOrder(proxy), (QList<ShardId>{4, 6, 1, 3}));
}

QTEST_APPLESS_MAIN(OwnershipTableModelTest)
#include "tst_ownership_table_model.moc"
