#include "move_history.h"

#include <QtTest>

using namespace rangepilot;

namespace {

MoveRecord move(const char* start, const char* end, const char* from, const char* to, double bytes,
                TimeMs at) {
    return MoveRecord{1, KeyRange{start, end}, from, to, bytes, at};
}

} // namespace

class TestMoveHistory : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void overlap_data();
    void overlap();
    void lastMoveAndBoundaryChange();
    void bytesStartedSince();
    void undoNeedsOppositeDirectionOverlapAndWindow();
    void pruneForgetsOldEntries();
};

void TestMoveHistory::overlap_data() {
    QTest::addColumn<QString>("aStart");
    QTest::addColumn<QString>("aEnd");
    QTest::addColumn<QString>("bStart");
    QTest::addColumn<QString>("bEnd");
    QTest::addColumn<bool>("overlaps");
    QTest::newRow("disjoint") << "a"
                              << "c"
                              << "c"
                              << "e" << false; // end is exclusive
    QTest::newRow("nested") << "a"
                            << "z"
                            << "c"
                            << "e" << true;
    QTest::newRow("partial") << "a"
                             << "d"
                             << "c"
                             << "e" << true;
    QTest::newRow("unbounded above") << "m"
                                     << ""
                                     << "x"
                                     << "y" << true;
    QTest::newRow("unbounded, before") << "m"
                                       << ""
                                       << "a"
                                       << "m" << false;
    QTest::newRow("both unbounded") << "m"
                                    << ""
                                    << "a"
                                    << "" << true;
}

void TestMoveHistory::overlap() {
    QFETCH(QString, aStart);
    QFETCH(QString, aEnd);
    QFETCH(QString, bStart);
    QFETCH(QString, bEnd);
    QFETCH(bool, overlaps);
    const KeyRange a{aStart.toStdString(), aEnd.toStdString()};
    const KeyRange b{bStart.toStdString(), bEnd.toStdString()};
    QCOMPARE(rangesOverlap(a, b), overlaps);
    QCOMPARE(rangesOverlap(b, a), overlaps);
}

void TestMoveHistory::lastMoveAndBoundaryChange() {
    MoveHistory history;
    history.recordMove(move("a", "c", "h1", "h2", 10, 1000));
    history.recordMove(move("b", "d", "h2", "h3", 10, 5000));
    history.recordMove(move("x", "z", "h1", "h3", 10, 3000)); // recorded late, kept in order
    QCOMPARE(history.moves()[1].started_ms, TimeMs(3000));
    QCOMPARE(history.lastMoveOverlapping({"a", "b"}).value(), TimeMs(1000));
    QCOMPARE(history.lastMoveOverlapping({"c", "e"}).value(), TimeMs(5000));
    QVERIFY(!history.lastMoveOverlapping({"e", "f"}).has_value());
    history.recordBoundaryChange({{"p", "r"}, 7000});
    QCOMPARE(history.lastBoundaryChangeOverlapping({"q", ""}).value(), TimeMs(7000));
    QVERIFY(!history.lastBoundaryChangeOverlapping({"a", "p"}).has_value());
}

void TestMoveHistory::bytesStartedSince() {
    MoveHistory history;
    history.recordMove(move("a", "b", "h1", "h2", 100, 1000));
    history.recordMove(move("b", "c", "h1", "h2", 20, 2000));
    history.recordMove(move("c", "d", "h1", "h2", 3, 3000));
    QCOMPARE(history.bytesStartedSince(0), 123.0);
    QCOMPARE(history.bytesStartedSince(2000), 23.0);
    QCOMPARE(history.bytesStartedSince(3001), 0.0);
}

void TestMoveHistory::undoNeedsOppositeDirectionOverlapAndWindow() {
    MoveHistory history;
    history.recordMove(move("a", "m", "h1", "h2", 10, 10 * kMsPerMinute));
    const TimeMs now = 40 * kMsPerMinute;
    // Back from h2 to h1, overlapping, within the hour: an undo.
    const MoveRecord* undone = history.undoneBy({"c", "d"}, "h2", "h1", now, kMsPerHour);
    QVERIFY(undone != nullptr);
    QCOMPARE(undone->from, HostId("h1"));
    // Same direction again, another target, a disjoint range, or outside the window: not one.
    QVERIFY(!history.undoneBy({"c", "d"}, "h1", "h2", now, kMsPerHour));
    QVERIFY(!history.undoneBy({"c", "d"}, "h2", "h3", now, kMsPerHour));
    QVERIFY(!history.undoneBy({"m", "z"}, "h2", "h1", now, kMsPerHour));
    QVERIFY(!history.undoneBy({"c", "d"}, "h2", "h1", now, 20 * kMsPerMinute));
}

void TestMoveHistory::pruneForgetsOldEntries() {
    MoveHistory history;
    history.recordMove(move("a", "b", "h1", "h2", 1, 1000));
    history.recordMove(move("a", "b", "h2", "h1", 1, 9000));
    history.recordBoundaryChange({{"a", "b"}, 2000});
    history.prune(5000);
    QCOMPARE(history.moves().size(), std::size_t(1));
    QCOMPARE(history.moves().front().started_ms, TimeMs(9000));
    QVERIFY(history.boundaryChanges().empty());
}

QTEST_APPLESS_MAIN(TestMoveHistory)
#include "tst_move_history.moc"
