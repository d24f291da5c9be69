#include "dividers.h"

#include <QtTest>

#include <vector>

using namespace rangepilot;

namespace {

// One cell per series; each series is the cell's ops/s per step.
CellProjection projectionOf(const std::vector<std::vector<double>>& cells) {
    const std::size_t steps = cells.front().size();
    CellProjection projection(cells.size(), steps, 0, kMsPerMinute);
    for (std::size_t cell = 0; cell < cells.size(); ++cell) {
        for (std::size_t step = 0; step < steps; ++step)
            projection.setRate(static_cast<CellIndex>(cell), step, Resource::Ops,
                               cells[cell][step]);
    }
    return projection;
}

ResourceVector opsCapacity(double ops) {
    ResourceVector capacity;
    capacity[Resource::Ops] = ops;
    return capacity;
}

} // namespace

class TestDividers : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void hotKeyAtOneEndGetsItsOwnHalf();
    void balancesPeaksNotTotals();
    void splitsOnlyInsideTheGivenCells();
    void needsTwoCells();
    void otherResourcesCount();
};

void TestDividers::hotKeyAtOneEndGetsItsOwnHalf() {
    // Neither the key midpoint (cell 3) nor an equal-count cut: the boundary right before the hot
    // cell, which leaves 5 on the left and 30 + 1 on the right.
    const CellProjection projection = projectionOf({{1}, {1}, {1}, {1}, {1}, {30}, {1}});
    const auto split = findBalancingSplit(projection, 0, 7, opsCapacity(100), {});
    QVERIFY(split.has_value());
    QCOMPARE(split->cell, CellIndex(5));
    QCOMPARE(split->peak_left, 0.05);
    QCOMPARE(split->peak_right, 0.31);
}

void TestDividers::balancesPeaksNotTotals() {
    // Cells 0 and 1 are busy in step 0, cells 2-4 in step 1. Totals (10, 10, 10, 10, 1) would
    // be cut after cell 2 (20 | 21), but the halves' own peaks are then 20 and 21; cutting after
    // cell 3 gives peaks 20 and 11.
    const CellProjection projection = projectionOf({{10, 0}, {10, 0}, {0, 10}, {0, 10}, {0, 1}});
    const auto split = findBalancingSplit(projection, 0, 5, opsCapacity(100), {});
    QVERIFY(split.has_value());
    QCOMPARE(split->cell, CellIndex(3));
    QCOMPARE(split->peak_left, 0.2);
    QCOMPARE(split->peak_right, 0.11);
}

void TestDividers::splitsOnlyInsideTheGivenCells() {
    const CellProjection projection = projectionOf({{50}, {1}, {1}, {8}, {8}, {50}});
    const auto split = findBalancingSplit(projection, 1, 5, opsCapacity(100), {});
    QVERIFY(split.has_value());
    QVERIFY(split->cell > 1 && split->cell < 5);
    QCOMPARE(split->cell, CellIndex(4)); // 1 + 1 + 8 | 8
    QCOMPARE(split->peak_left, 0.1);
    QCOMPARE(split->peak_right, 0.08);
}

void TestDividers::needsTwoCells() {
    const CellProjection projection = projectionOf({{5}, {5}});
    QVERIFY(!findBalancingSplit(projection, 0, 1, opsCapacity(100), {}).has_value());
    QVERIFY(!findBalancingSplit(projection, 1, 1, opsCapacity(100), {}).has_value());
    QVERIFY(findBalancingSplit(projection, 0, 2, opsCapacity(100), {}).has_value());
}

void TestDividers::otherResourcesCount() {
    // Ops are even, but cell 0 moves most network bytes: with network capacity known the cut
    // isolates it.
    CellProjection projection = projectionOf({{10}, {10}, {10}, {10}});
    projection.setRate(0, 0, Resource::NetworkBytes, 90e6);
    ResourceVector capacity = opsCapacity(100);
    capacity[Resource::NetworkBytes] = 100e6;
    const auto split = findBalancingSplit(projection, 0, 4, capacity, {});
    QVERIFY(split.has_value());
    QCOMPARE(split->cell, CellIndex(1));
    QCOMPARE(split->peak_left, 0.9);
    QCOMPARE(split->peak_right, 0.3);
}

QTEST_APPLESS_MAIN(TestDividers)
#include "tst_dividers.moc"
