#include "top_trends_model.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QtTest>

#include <vector>

using namespace rangepilot;

namespace {

using Model = TopTrendsModel;
using Tester = QAbstractItemModelTester;

constexpr auto kFailMode = QAbstractItemModelTester::FailureReportingMode::QtTest;

RangeTrend trend(ShardId shard, KeyRange range, HostId owner, TrendDirection direction,
                 double relative, double slope, double load) {
    return RangeTrend{shard, std::move(range), std::move(owner), direction, relative, slope, load};
}

// Growing by strength: 4 (50%), then 1 and 7 (20% each: shard id breaks the tie), then 3 (5%).
// Declining by strength: 2 (-30%), 6 (-10%). Flat: 5.
std::vector<RangeTrend> sevenRanges() {
    using enum TrendDirection;
    return {trend(1, {"", "c"}, "h1", Growing, 0.20, 200.0, 1000.0),
            trend(2, {"c", "g"}, "h2", Declining, -0.30, -150.0, 500.0),
            trend(3, {"g", "m"}, "h3", Growing, 0.05, 10.0, 200.0),
            trend(4, {"m", "t"}, "h1", Growing, 0.50, 340.0, 680.0),
            trend(5, {"t", "v"}, "h2", Flat, 0.01, 1.0, 100.0),
            trend(6, {"v", "x"}, "h3", Declining, -0.10, -20.0, 200.0),
            trend(7, {"x", ""}, "h1", Growing, 0.20, 30.0, 150.0)};
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

class TopTrendsModelTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void keepsTheStrongestOfItsDirection_data();
    void keepsTheStrongestOfItsDirection();
    void displayText_data();
    void displayText();
    void sortRoleIsNumeric();
    void rangeToolTipIsFullAndNamesTheShard();
    void headersHaveTitlesAndToolTips();
    void changedSlopeIsDataChangedNotReset();
    void unchangedTrendsEmitNothing();
    void moreRangesAreInsertedAtTheEnd();
    void fewerRangesAreRemovedFromTheEnd();
    void reorderedRangesUpdateRowsInPlace();
    void clearRemovesEveryRow();
};

void TopTrendsModelTest::keepsTheStrongestOfItsDirection_data() {
    QTest::addColumn<int>("direction");
    QTest::addColumn<int>("limit");
    QTest::addColumn<QList<ShardId>>("expected");
    QTest::newRow("growing, all") << int(TrendDirection::Growing) << 10
                                  << QList<ShardId>{4, 1, 7, 3};
    QTest::newRow("growing, top 2") << int(TrendDirection::Growing) << 2 << QList<ShardId>{4, 1};
    QTest::newRow("declining by |slope|")
        << int(TrendDirection::Declining) << 10 << QList<ShardId>{2, 6};
    QTest::newRow("flat") << int(TrendDirection::Flat) << 10 << QList<ShardId>{5};
    QTest::newRow("limit 0") << int(TrendDirection::Growing) << 0 << QList<ShardId>{};
    QTest::newRow("negative limit") << int(TrendDirection::Growing) << -3 << QList<ShardId>{};
}

void TopTrendsModelTest::keepsTheStrongestOfItsDirection() {
    QFETCH(int, direction);
    QFETCH(int, limit);
    QFETCH(QList<ShardId>, expected);
    Model model(static_cast<TrendDirection>(direction), limit);
    Tester tester(&model, kFailMode);
    model.setTrends(sevenRanges());
    QCOMPARE(shardsInOrder(model), expected);
    for (int row = 0; row < model.rowCount(); ++row)
        QCOMPARE(model.trendAt(row).shard, expected[row]);
}

void TopTrendsModelTest::displayText_data() {
    QTest::addColumn<int>("direction");
    QTest::addColumn<int>("row");
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("expected");
    const int growing = int(TrendDirection::Growing);
    const int declining = int(TrendDirection::Declining);
    QTest::newRow("range") << growing << 0 << int(Model::RangeColumn) << QStringLiteral("[m, t)");
    QTest::newRow("unbounded range")
        << growing << 2 << int(Model::RangeColumn) << QStringLiteral("[x, +inf)");
    QTest::newRow("owner") << growing << 0 << int(Model::OwnerColumn) << QStringLiteral("h1");
    QTest::newRow("growth per day")
        << growing << 0 << int(Model::TrendColumn) << QStringLiteral("+50%/day");
    QTest::newRow("decline per day")
        << declining << 0 << int(Model::TrendColumn) << QStringLiteral("-30%/day");
    QTest::newRow("positive slope")
        << growing << 0 << int(Model::SlopeColumn) << QStringLiteral("+340 ops/s per day");
    QTest::newRow("negative slope")
        << declining << 0 << int(Model::SlopeColumn) << QStringLiteral("-150 ops/s per day");
    QTest::newRow("load now with separator")
        << growing << 1 << int(Model::LoadNowColumn) << QStringLiteral("1,000 ops/s");
}

void TopTrendsModelTest::displayText() {
    QFETCH(int, direction);
    QFETCH(int, row);
    QFETCH(int, column);
    QFETCH(QString, expected);
    Model model(static_cast<TrendDirection>(direction), 10);
    model.setTrends(sevenRanges());
    QCOMPARE(text(model, row, column), expected);
}

void TopTrendsModelTest::sortRoleIsNumeric() {
    Model model(TrendDirection::Declining, 10);
    model.setTrends(sevenRanges());
    const QVariant trend = model.index(0, Model::TrendColumn).data(Model::SortRole);
    QCOMPARE(trend.toDouble(), -0.30);
    QCOMPARE(model.index(1, Model::SlopeColumn).data(Model::SortRole).toDouble(), -20.0);
    QCOMPARE(model.index(1, Model::LoadNowColumn).data(Model::SortRole).toDouble(), 200.0);
    // Key order, not text order: hex of the start key.
    QCOMPARE(text(model, 0, Model::RangeColumn, Model::SortRole), QStringLiteral("63")); // "c"
    QCOMPARE(model.index(0, Model::TrendColumn).data(Qt::TextAlignmentRole),
             display::numberAlignment());
    QVERIFY(!model.index(0, Model::OwnerColumn).data(Qt::TextAlignmentRole).isValid());
}

void TopTrendsModelTest::rangeToolTipIsFullAndNamesTheShard() {
    Model model(TrendDirection::Growing, 10);
    const Key longStart(40, 'a');
    model.setTrends({trend(9, {longStart, ""}, "h1", TrendDirection::Growing, 0.3, 5.0, 9.0)});
    const QString shown = text(model, 0, Model::RangeColumn);
    QVERIFY(shown.contains(QChar(0x2026))); // shortened with an ellipsis
    const QString tip = text(model, 0, Model::RangeColumn, Qt::ToolTipRole);
    QVERIFY(tip.contains(QString::fromStdString(longStart)));
    QVERIFY(tip.contains(QStringLiteral("shard 9")));
}

void TopTrendsModelTest::headersHaveTitlesAndToolTips() {
    Model model(TrendDirection::Growing, 10);
    const QStringList expected{QStringLiteral("Range"), QStringLiteral("Owner"),
                               QStringLiteral("Trend (per day)"), QStringLiteral("Slope"),
                               QStringLiteral("Load now")};
    QCOMPARE(model.columnCount(), expected.size());
    for (int column = 0; column < model.columnCount(); ++column) {
        QCOMPARE(model.headerData(column, Qt::Horizontal).toString(), expected[column]);
        QVERIFY(!model.headerData(column, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty());
    }
}

void TopTrendsModelTest::changedSlopeIsDataChangedNotReset() {
    Model model(TrendDirection::Growing, 10);
    Tester tester(&model, kFailMode);
    std::vector<RangeTrend> trends = sevenRanges();
    model.setTrends(trends);

    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removes(&model, &QAbstractItemModel::rowsRemoved);
    trends[2].slope_per_day = 12.0; // shard 3, row 3: its absolute slope only
    model.setTrends(trends);

    QCOMPARE(resets.count(), 0);
    QCOMPARE(inserts.count(), 0);
    QCOMPARE(removes.count(), 0);
    QCOMPARE(changes.count(), 1);
    const auto topLeft = changes.at(0).at(0).value<QModelIndex>();
    const auto bottomRight = changes.at(0).at(1).value<QModelIndex>();
    QCOMPARE(topLeft.row(), 3);
    QCOMPARE(bottomRight.row(), 3);
    QCOMPARE(topLeft.column(), int(Model::SlopeColumn));
    QCOMPARE(bottomRight.column(), int(Model::SlopeColumn));
    QCOMPARE(text(model, 3, Model::SlopeColumn), QStringLiteral("+12 ops/s per day"));
}

void TopTrendsModelTest::unchangedTrendsEmitNothing() {
    Model model(TrendDirection::Growing, 10);
    model.setTrends(sevenRanges());
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy layout(&model, &QAbstractItemModel::layoutChanged);
    std::vector<RangeTrend> shuffled = sevenRanges();
    std::reverse(shuffled.begin(), shuffled.end()); // input order does not matter
    model.setTrends(shuffled);
    QCOMPARE(changes.count(), 0);
    QCOMPARE(layout.count(), 0);
}

void TopTrendsModelTest::moreRangesAreInsertedAtTheEnd() {
    Model model(TrendDirection::Growing, 10);
    Tester tester(&model, kFailMode);
    std::vector<RangeTrend> trends = sevenRanges();
    model.setTrends(trends);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    trends.push_back(trend(8, {"y", "z"}, "h2", TrendDirection::Growing, 0.01, 1.0, 10.0));
    trends.push_back(trend(9, {"z", ""}, "h3", TrendDirection::Growing, 0.02, 2.0, 10.0));
    model.setTrends(trends);
    QCOMPARE(resets.count(), 0);
    QCOMPARE(inserts.count(), 1);
    QCOMPARE(inserts.at(0).at(1).toInt(), 4);
    QCOMPARE(inserts.at(0).at(2).toInt(), 5);
    QCOMPARE(shardsInOrder(model), (QList<ShardId>{4, 1, 7, 3, 9, 8}));
}

void TopTrendsModelTest::fewerRangesAreRemovedFromTheEnd() {
    Model model(TrendDirection::Growing, 10);
    Tester tester(&model, kFailMode);
    std::vector<RangeTrend> trends = sevenRanges();
    model.setTrends(trends);
    QSignalSpy removes(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    trends[0].direction = TrendDirection::Flat; // shard 1 (row 1) stops growing
    model.setTrends(trends);
    QCOMPARE(removes.count(), 1);
    QCOMPARE(removes.at(0).at(1).toInt(), 3);
    QCOMPARE(removes.at(0).at(2).toInt(), 3);
    // Rows 1 and 2 now show shards 7 and 3: updated in place.
    QCOMPARE(changes.count(), 2);
    QCOMPARE(shardsInOrder(model), (QList<ShardId>{4, 7, 3}));
}

void TopTrendsModelTest::reorderedRangesUpdateRowsInPlace() {
    Model model(TrendDirection::Growing, 10);
    Tester tester(&model, kFailMode);
    std::vector<RangeTrend> trends = sevenRanges();
    model.setTrends(trends);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    trends[2].relative_slope_per_day = 0.9; // shard 3 overtakes everyone
    model.setTrends(trends);
    QCOMPARE(resets.count(), 0);
    QCOMPARE(changes.count(), 4); // every row shows another range now
    QCOMPARE(shardsInOrder(model), (QList<ShardId>{3, 4, 1, 7}));
    QCOMPARE(text(model, 0, Model::TrendColumn), QStringLiteral("+90%/day"));
}

void TopTrendsModelTest::clearRemovesEveryRow() {
    Model model(TrendDirection::Declining, 10);
    Tester tester(&model, kFailMode);
    model.setTrends(sevenRanges());
    QCOMPARE(model.rowCount(), 2);
    model.clear();
    QCOMPARE(model.rowCount(), 0);
    model.setTrends({});
    QCOMPARE(model.rowCount(), 0);
}

QTEST_APPLESS_MAIN(TopTrendsModelTest)
#include "tst_top_trends_model.moc"
