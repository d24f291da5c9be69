#include "hybrid_clock.h"

#include <QDateTime>
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

using namespace rangepilot::node;

namespace {

// A physical clock the test moves by hand.
struct ManualClock {
    std::shared_ptr<std::atomic<std::uint64_t>> ms =
        std::make_shared<std::atomic<std::uint64_t>>(0);
    HybridClock::PhysicalClock function() const {
        return [ms = ms] { return ms->load(); };
    }
    void set(std::uint64_t value) const { ms->store(value); }
};

QString describe(HlcTimestamp t) {
    return QStringLiteral("%1.%2").arg(hlcPhysicalMs(t)).arg(hlcLogical(t));
}

} // namespace

class TestHybridClock : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void packing();
    void sequence_data();
    void sequence();
    void observeFutureTimestamp();
    void observePastTimestampChangesNothing();
    void leadOverPhysicalClock_data();
    void leadOverPhysicalClock();
    void logicalOverflowBorrowsNextMillisecond();
    void logicalOverflowFromManyEvents();
    void defaultClockIsWallTime();
    void concurrentTimestampsAreUnique();
};

void TestHybridClock::packing() {
    const HlcTimestamp t = makeHlc(1'700'000'000'123ull, 42);
    QCOMPARE(hlcPhysicalMs(t), 1'700'000'000'123ull);
    QCOMPARE(hlcLogical(t), 42ull);
    QVERIFY(makeHlc(5, 0xffff) < makeHlc(6, 0));
    QCOMPARE(makeHlc(5, 0xffff) + 1, makeHlc(6, 0));
}

// Each row: the physical clock's successive readings and the timestamps now() must give.
void TestHybridClock::sequence_data() {
    QTest::addColumn<QList<quint64>>("physical");
    QTest::addColumn<QStringList>("expected");
    QTest::newRow("clock advances: logical resets")
        << QList<quint64>{1000, 1001, 1005}
        << QStringList{QStringLiteral("1000.0"), QStringLiteral("1001.0"),
                       QStringLiteral("1005.0")};
    QTest::newRow("clock stands still: logical counts")
        << QList<quint64>{1000, 1000, 1000, 1000}
        << QStringList{QStringLiteral("1000.0"), QStringLiteral("1000.1"), QStringLiteral("1000.2"),
                       QStringLiteral("1000.3")};
    QTest::newRow("clock steps back: physical part holds")
        << QList<quint64>{1000, 400, 999, 1000, 1001}
        << QStringList{QStringLiteral("1000.0"), QStringLiteral("1000.1"), QStringLiteral("1000.2"),
                       QStringLiteral("1000.3"), QStringLiteral("1001.0")};
    QTest::newRow("clock at zero")
        << QList<quint64>{0, 0} << QStringList{QStringLiteral("0.1"), QStringLiteral("0.2")};
}

void TestHybridClock::sequence() {
    QFETCH(QList<quint64>, physical);
    QFETCH(QStringList, expected);
    ManualClock manual;
    HybridClock clock(manual.function());
    QStringList got;
    HlcTimestamp previous = 0;
    for (const quint64 reading : physical) {
        manual.set(reading);
        const HlcTimestamp t = clock.now();
        QVERIFY2(t > previous, qPrintable(describe(t)));
        QCOMPARE(clock.last(), t);
        previous = t;
        got << describe(t);
    }
    QCOMPARE(got, expected);
}

void TestHybridClock::observeFutureTimestamp() {
    ManualClock manual;
    manual.set(1000);
    HybridClock clock(manual.function());
    QCOMPARE(clock.now(), makeHlc(1000, 0));
    clock.observe(makeHlc(5000, 7));
    QCOMPARE(clock.last(), makeHlc(5000, 7));
    QCOMPARE(clock.now(), makeHlc(5000, 8));
    QCOMPARE(clock.now(), makeHlc(5000, 9));
    // Once wall time passes the observed timestamp, the physical part takes over again.
    manual.set(5001);
    QCOMPARE(clock.now(), makeHlc(5001, 0));
}

void TestHybridClock::observePastTimestampChangesNothing() {
    ManualClock manual;
    manual.set(2000);
    HybridClock clock(manual.function());
    const HlcTimestamp first = clock.now();
    clock.observe(makeHlc(1500, 3));
    clock.observe(0);
    QCOMPARE(clock.last(), first);
    QCOMPARE(clock.now(), makeHlc(2000, 1));
}

void TestHybridClock::leadOverPhysicalClock_data() {
    QTest::addColumn<quint64>("remote");
    QTest::addColumn<quint64>("lead");
    QTest::newRow("behind") << quint64(makeHlc(9000, 5)) << quint64(0);
    QTest::newRow("same millisecond, higher logical") << quint64(makeHlc(10000, 9)) << quint64(0);
    QTest::newRow("at the bound") << quint64(makeHlc(10000 + kMaxClockOffsetMs, 0))
                                  << quint64(kMaxClockOffsetMs);
    QTest::newRow("just past the bound")
        << quint64(makeHlc(10001 + kMaxClockOffsetMs, 0)) << quint64(kMaxClockOffsetMs + 1);
    QTest::newRow("a year ahead") << quint64(makeHlc(10000 + 31'536'000'000ull, 0))
                                  << quint64(31'536'000'000ull);
}

void TestHybridClock::leadOverPhysicalClock() {
    QFETCH(quint64, remote);
    QFETCH(quint64, lead);
    ManualClock manual;
    manual.set(10000);
    HybridClock clock(manual.function());
    // The lead is over the physical clock, not over the HLC, which observe() may have moved.
    clock.observe(makeHlc(12000, 0));
    QCOMPARE(quint64(clock.leadOverPhysical(remote)), lead);
}

void TestHybridClock::logicalOverflowBorrowsNextMillisecond() {
    ManualClock manual;
    manual.set(1000);
    HybridClock clock(manual.function());
    clock.observe(makeHlc(1000, 0xffff));
    const HlcTimestamp t = clock.now();
    QCOMPARE(describe(t), QStringLiteral("1001.0"));
    // The physical clock catching up to the borrowed millisecond must not repeat it.
    manual.set(1001);
    QCOMPARE(describe(clock.now()), QStringLiteral("1001.1"));
}

void TestHybridClock::logicalOverflowFromManyEvents() {
    ManualClock manual;
    manual.set(7);
    HybridClock clock(manual.function());
    HlcTimestamp t = 0;
    for (int i = 0; i < 0x10000; ++i)
        t = clock.now();
    QCOMPARE(t, makeHlc(7, 0xffff));
    QCOMPARE(clock.now(), makeHlc(8, 0));
}

void TestHybridClock::defaultClockIsWallTime() {
    HybridClock clock;
    const auto before = static_cast<std::uint64_t>(QDateTime::currentMSecsSinceEpoch());
    const HlcTimestamp t = clock.now();
    const auto after = static_cast<std::uint64_t>(QDateTime::currentMSecsSinceEpoch());
    QVERIFY2(hlcPhysicalMs(t) >= before && hlcPhysicalMs(t) <= after, qPrintable(describe(t)));
    QVERIFY(clock.now() > t);
}

void TestHybridClock::concurrentTimestampsAreUnique() {
    // Several threads move the physical clock forward and back while taking timestamps: every
    // timestamp must be unique and each thread's must increase.
    ManualClock manual;
    manual.set(100);
    HybridClock clock(manual.function());
    constexpr int kThreads = 4;
    constexpr int kPerThread = 20000;
    std::vector<std::vector<HlcTimestamp>> stamps(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::vector<HlcTimestamp>& mine = stamps[static_cast<std::size_t>(t)];
            mine.reserve(kPerThread);
            for (int i = 0; i < kPerThread; ++i) {
                if (i % 1000 == 0)
                    manual.set(100 + static_cast<std::uint64_t>((i / 1000 + t) % 5));
                if (i % 777 == 0)
                    clock.observe(makeHlc(101, static_cast<std::uint64_t>(i)));
                mine.push_back(clock.now());
            }
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    std::vector<HlcTimestamp> all;
    for (const std::vector<HlcTimestamp>& mine : stamps) {
        QVERIFY(std::is_sorted(mine.begin(), mine.end()));
        QVERIFY(std::adjacent_find(mine.begin(), mine.end()) == mine.end());
        all.insert(all.end(), mine.begin(), mine.end());
    }
    std::sort(all.begin(), all.end());
    QVERIFY(std::adjacent_find(all.begin(), all.end()) == all.end());
    QCOMPARE(all.size(), std::size_t{kThreads * kPerThread});
    QCOMPARE(clock.last(), all.back());
}

QTEST_APPLESS_MAIN(TestHybridClock)
#include "tst_hybrid_clock.moc"
