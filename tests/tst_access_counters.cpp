#include "access_counters.h"

#include <QByteArray>
#include <QtTest>

#include <atomic>
#include <thread>
#include <vector>

using namespace rangepilot;
using namespace rangepilot::node;

namespace {

std::string toKey(const QByteArray& bytes) {
    return {bytes.constData(), std::size_t(bytes.size())};
}

std::vector<std::string> toKeys(const QList<QByteArray>& list) {
    std::vector<std::string> keys;
    for (const QByteArray& bytes : list)
        keys.push_back(toKey(bytes));
    return keys;
}

QString describe(const CellLoad& load) {
    return QStringLiteral("r%1 w%2 b%3 l%4")
        .arg(load.reads)
        .arg(load.writes)
        .arg(load.bytes)
        .arg(load.latency_us);
}

} // namespace

class TestAccessCounters : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void countsLandInCells_data();
    void countsLandInCells();
    void kindsBytesAndLatency();
    void takeResets();
    void concurrentRecordsLoseNothing();
    void validation_data();
    void validation();
};

// Each key is recorded once as a read; `cells` is the cell each key must land in.
void TestAccessCounters::countsLandInCells_data() {
    QTest::addColumn<QList<QByteArray>>("starts");
    QTest::addColumn<QList<QByteArray>>("keys");
    QTest::addColumn<QList<int>>("cells");
    QTest::newRow("no starts: one cell")
        << QList<QByteArray>{} << QList<QByteArray>{"", "a", "\xff\xff"} << QList<int>{0, 0, 0};
    QTest::newRow("keys on and between boundaries")
        << QList<QByteArray>{"", "b", "d"}
        << QList<QByteArray>{"",   QByteArray("\x00", 1),  "a", "azzz",
                             "b",  QByteArray("b\x00", 2), "c", "d",
                             "zzz"}
        << QList<int>{0, 0, 0, 0, 1, 1, 1, 2, 2};
    QTest::newRow("binary starts")
        << QList<QByteArray>{"", QByteArray("\x00", 1), "\x7f", "\xff", "\xff\xff"}
        << QList<QByteArray>{"",
                             QByteArray("\x00", 1),
                             QByteArray("\x00\x00", 2),
                             "\x7e\xff",
                             "\x7f",
                             "\xfe",
                             "\xff",
                             QByteArray("\xff\x00", 2),
                             "\xff\xff",
                             "\xff\xff\xff"}
        << QList<int>{0, 1, 1, 1, 2, 2, 3, 3, 4, 4};
    QTest::newRow("shared prefixes")
        << QList<QByteArray>{"", "user0100", "user0200", "user03"}
        << QList<QByteArray>{"user",     "user0099", "user0100", "user01999",
                             "user0200", "user02",   "user0300", "user1"}
        << QList<int>{0, 0, 1, 1, 2, 1, 3, 3};
}

void TestAccessCounters::countsLandInCells() {
    QFETCH(QList<QByteArray>, starts);
    QFETCH(QList<QByteArray>, keys);
    QFETCH(QList<int>, cells);
    QCOMPARE(keys.size(), cells.size());
    auto counters = AccessCounters::create(toKeys(starts));
    QVERIFY2(counters.ok(), counters.ok() ? "" : counters.error().message.c_str());
    const std::size_t cellCount = starts.isEmpty() ? 1 : std::size_t(starts.size());
    QCOMPARE((*counters)->cellCount(), cellCount);
    std::vector<CellLoad> expected(cellCount);
    for (qsizetype i = 0; i < keys.size(); ++i) {
        (*counters)->record(toKey(keys[i]), AccessKind::Read, 0, 0);
        // Each key on its own: the cell it lands in is exactly the expected one.
        const std::vector<CellLoad> one = (*counters)->take();
        QCOMPARE(one.size(), cellCount);
        for (std::size_t c = 0; c < cellCount; ++c)
            QVERIFY2(one[c].reads == (c == std::size_t(cells[i]) ? 1u : 0u),
                     qPrintable(QStringLiteral("key #%1 in cell %2").arg(i).arg(c)));
        expected[std::size_t(cells[i])].reads += 1;
    }
    // All of them together.
    for (const QByteArray& key : keys)
        (*counters)->record(toKey(key), AccessKind::Read, 0, 0);
    const std::vector<CellLoad> all = (*counters)->take();
    for (std::size_t c = 0; c < cellCount; ++c)
        QCOMPARE(describe(all[c]), describe(expected[c]));
}

void TestAccessCounters::kindsBytesAndLatency() {
    auto counters = AccessCounters::create({"", "m"});
    QVERIFY(counters.ok());
    AccessCounters& c = **counters;
    c.record("apple", AccessKind::Read, 100, 7);
    c.record("banana", AccessKind::Write, 30, 11);
    c.record("melon", AccessKind::Write, 5, 1);
    c.record("zucchini", AccessKind::Read, 0, 0);
    c.record("m", AccessKind::Read, 1000, 2);
    const std::vector<CellLoad> loads = c.take();
    QCOMPARE(loads.size(), std::size_t(2));
    QCOMPARE(describe(loads[0]), QStringLiteral("r1 w1 b130 l18"));
    QCOMPARE(describe(loads[1]), QStringLiteral("r2 w1 b1005 l3"));
}

void TestAccessCounters::takeResets() {
    auto counters = AccessCounters::create({});
    QVERIFY(counters.ok());
    (*counters)->record("k", AccessKind::Write, 10, 20);
    QCOMPARE(describe((*counters)->take()[0]), QStringLiteral("r0 w1 b10 l20"));
    QCOMPARE(describe((*counters)->take()[0]), QStringLiteral("r0 w0 b0 l0"));
    (*counters)->record("k", AccessKind::Read, 1, 2);
    QCOMPARE(describe((*counters)->take()[0]), QStringLiteral("r1 w0 b1 l2"));
}

void TestAccessCounters::concurrentRecordsLoseNothing() {
    // Writers record while a reader keeps taking: the takes add up to everything recorded.
    std::vector<std::string> starts = {""};
    for (int i = 1; i < 64; ++i)
        starts.push_back("key" + std::to_string(100 + i * 10));
    auto created = AccessCounters::create(starts);
    QVERIFY(created.ok());
    AccessCounters& counters = **created;
    constexpr int kThreads = 4;
    constexpr int kPerThread = 50000;
    std::atomic<int> running{kThreads};
    std::vector<CellLoad> taken(counters.cellCount());
    const auto takeInto = [&] {
        const std::vector<CellLoad> loads = counters.take();
        for (std::size_t i = 0; i < loads.size(); ++i)
            taken[i].add(loads[i]);
    };
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
        writers.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const std::string key = "key" + std::to_string((i * 7 + t) % 800);
                counters.record(key, i % 3 == 0 ? AccessKind::Write : AccessKind::Read,
                                static_cast<std::uint64_t>(i % 5), 3);
            }
            running.fetch_sub(1);
        });
    }
    int takes = 0;
    while (running.load() > 0) {
        takeInto();
        ++takes;
    }
    for (std::thread& writer : writers)
        writer.join();
    takeInto();

    CellLoad total;
    for (const CellLoad& load : taken)
        total.add(load);
    std::uint64_t expectedWrites = 0;
    std::uint64_t expectedBytes = 0;
    for (int i = 0; i < kPerThread; ++i) {
        expectedWrites += i % 3 == 0 ? 1 : 0;
        expectedBytes += static_cast<std::uint64_t>(i % 5);
    }
    QCOMPARE(total.ops(), std::uint64_t(kThreads) * kPerThread);
    QCOMPARE(total.writes, kThreads * expectedWrites);
    QCOMPARE(total.bytes, kThreads * expectedBytes);
    QCOMPARE(total.latency_us, std::uint64_t(kThreads) * kPerThread * 3);
    QVERIFY(takes > 0);
    // Keys spread over many cells, not one.
    const auto used = std::count_if(taken.begin(), taken.end(),
                                    [](const CellLoad& load) { return load.ops() > 0; });
    QVERIFY(used > 32);
}

void TestAccessCounters::validation_data() {
    QTest::addColumn<QList<QByteArray>>("starts");
    QTest::addColumn<int>("maxCells");
    QTest::addColumn<QString>("error"); // empty: valid
    QTest::newRow("empty list") << QList<QByteArray>{} << 1 << QString();
    QTest::newRow("one empty start") << QList<QByteArray>{""} << 1 << QString();
    QTest::newRow("exactly max cells") << QList<QByteArray>{"", "a", "b"} << 3 << QString();
    QTest::newRow("too many cells") << QList<QByteArray>{"", "a", "b", "c"} << 3
                                    << QStringLiteral("cell_starts: 4 cells, at most 3");
    QTest::newRow("first not empty")
        << QList<QByteArray>{"a", "b"} << 10
        << QStringLiteral("cell_starts[0]: must be empty (the start of the key space), not a");
    QTest::newRow("duplicate") << QList<QByteArray>{"", "a", "b", "b"} << 10
                               << QStringLiteral("cell_starts[3]: not greater than cell_starts[2]");
    QTest::newRow("decreasing") << QList<QByteArray>{"", "b", "a"} << 10
                                << QStringLiteral(
                                       "cell_starts[2]: not greater than cell_starts[1]");
    QTest::newRow("empty start later")
        << QList<QByteArray>{"", ""} << 10 << QStringLiteral("cell_starts[1]: not greater than");
    QTest::newRow("binary order") << QList<QByteArray>{"", "\xff", "\x7f"} << 10
                                  << QStringLiteral("cell_starts[2]: not greater than");
}

void TestAccessCounters::validation() {
    QFETCH(QList<QByteArray>, starts);
    QFETCH(int, maxCells);
    QFETCH(QString, error);
    auto counters = AccessCounters::create(toKeys(starts), std::size_t(maxCells));
    if (error.isEmpty()) {
        QVERIFY2(counters.ok(), counters.ok() ? "" : counters.error().message.c_str());
        QCOMPARE((*counters)->cellCount(), std::size_t(std::max<qsizetype>(1, starts.size())));
        return;
    }
    QVERIFY(!counters.ok());
    const QString message = QString::fromStdString(counters.error().message);
    QVERIFY2(message.startsWith(error), qPrintable(message));
}

QTEST_APPLESS_MAIN(TestAccessCounters)
#include "tst_access_counters.moc"
