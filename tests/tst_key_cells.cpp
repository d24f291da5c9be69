#include "key_cells.h"
#include "random.h"

#include <QtTest>

#include <algorithm>
#include <cstdint>

using namespace rangepilot;

namespace {

std::uint64_t nextRandom(std::uint64_t& state) {
    return splitMix64Next(state);
}

// Keys from a small alphabet and short lengths, so prefixes of each other and equal 8-byte
// windows are common, plus a shared prefix like real keys have.
std::string randomKey(std::uint64_t& state, bool sharedPrefix) {
    static constexpr char kAlphabet[] = {'\0', 'a', 'b', '\xff', '0'};
    std::string key = sharedPrefix ? "tenant/0042/" : "";
    const std::size_t length = nextRandom(state) % 14;
    for (std::size_t i = 0; i < length; ++i)
        key += kAlphabet[nextRandom(state) % sizeof(kAlphabet)];
    return key;
}

CellIndex linearCellOf(const std::vector<Key>& starts, std::string_view key) {
    CellIndex cell = 0;
    for (std::size_t i = 0; i < starts.size(); ++i) {
        if (std::string_view(starts[i]) <= key)
            cell = static_cast<CellIndex>(i);
    }
    return cell;
}

} // namespace

class TestKeyCells : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void lookupAgreesWithLinearScan_data();
    void lookupAgreesWithLinearScan();
    void quantilesBalanceTheSample();
    void fewDistinctKeysGiveOneCellEach();
    void rangesTileTheKeySpace();
    void fromStartsRejectsBadStarts();
};

void TestKeyCells::lookupAgreesWithLinearScan_data() {
    QTest::addColumn<int>("cells");
    QTest::addColumn<bool>("sharedPrefix");
    QTest::addColumn<quint64>("seed");
    for (const int cells : {1, 2, 7, 64, 1024}) {
        for (const bool shared : {false, true}) {
            QTest::addRow("%d cells%s", cells, shared ? " shared prefix" : "")
                << cells << shared << quint64(cells * 31 + shared);
        }
    }
}

void TestKeyCells::lookupAgreesWithLinearScan() {
    QFETCH(int, cells);
    QFETCH(bool, sharedPrefix);
    QFETCH(quint64, seed);
    std::uint64_t state = seed;
    std::vector<Key> sample;
    for (int i = 0; i < 4000; ++i)
        sample.push_back(randomKey(state, sharedPrefix));
    const KeyCells keyCells = KeyCells::fromSample(sample, static_cast<std::size_t>(cells));
    QVERIFY(keyCells.size() <= static_cast<std::size_t>(cells));
    QVERIFY(keyCells.size() >= 1);

    std::vector<Key> probes = keyCells.starts(); // exact boundaries
    for (int i = 0; i < 20000; ++i)
        probes.push_back(randomKey(state, nextRandom(state) % 4 != 0 && sharedPrefix));
    probes.push_back("");
    probes.push_back(std::string(40, '\xff'));
    for (const Key& probe : probes) {
        const CellIndex expected = linearCellOf(keyCells.starts(), probe);
        const CellIndex actual = keyCells.cellOf(probe);
        if (actual != expected) {
            QFAIL(qPrintable(QStringLiteral("key %1: cell %2, linear scan says %3")
                                 .arg(QString::fromStdString(formatKey(probe)))
                                 .arg(actual)
                                 .arg(expected)));
        }
        QVERIFY(keyCells.range(actual).contains(probe));
    }
}

void TestKeyCells::quantilesBalanceTheSample() {
    std::vector<Key> sample;
    std::uint64_t state = 7;
    // Skewed: most keys in a narrow region, which quantiles must split finely.
    for (int i = 0; i < 100000; ++i) {
        const std::uint64_t value = nextRandom(state) % 10 < 8 ? 500000 + nextRandom(state) % 1000
                                                               : nextRandom(state) % 1000000;
        char text[32];
        std::snprintf(text, sizeof text, "user%010llu", static_cast<unsigned long long>(value));
        sample.emplace_back(text);
    }
    const KeyCells keyCells = KeyCells::fromSample(sample, 100);
    std::vector<int> counts(keyCells.size());
    for (const Key& key : sample)
        ++counts[keyCells.cellOf(key)];
    const int most = *std::max_element(counts.begin(), counts.end());
    // 1000 per cell on average; quantiles keep every cell near that.
    QVERIFY2(most < 2000, qPrintable(QString::number(most)));
    QVERIFY(keyCells.size() >= 90);
}

void TestKeyCells::fewDistinctKeysGiveOneCellEach() {
    const KeyCells keyCells = KeyCells::fromSample({"b", "a", "b", "c", "a"}, 1024);
    QCOMPARE(keyCells.size(), std::size_t(4)); // "", a, b, c
    QCOMPARE(keyCells.cellOf("a"), CellIndex(1));
    QCOMPARE(keyCells.cellOf("bz"), CellIndex(2));
    QCOMPARE(keyCells.cellOf("0"), CellIndex(0));
    QCOMPARE(KeyCells::fromSample({}, 16).size(), std::size_t(1));
}

void TestKeyCells::rangesTileTheKeySpace() {
    const auto keyCells = KeyCells::fromStarts({"", "d", "m", "t"});
    QVERIFY(keyCells.ok());
    QCOMPARE(keyCells->range(0).start, Key());
    for (CellIndex cell = 0; cell + 1 < keyCells->size(); ++cell)
        QCOMPARE(keyCells->range(cell).end, keyCells->range(cell + 1).start);
    QVERIFY(keyCells->range(3).unboundedAbove());
}

void TestKeyCells::fromStartsRejectsBadStarts() {
    QVERIFY(!KeyCells::fromStarts({}).ok());
    QVERIFY(!KeyCells::fromStarts({"a", "b"}).ok());
    const auto unsorted = KeyCells::fromStarts({"", "m", "d"});
    QVERIFY(!unsorted.ok());
    QVERIFY(QString::fromStdString(unsorted.error().message).contains(QStringLiteral("start 2")));
}

QTEST_APPLESS_MAIN(TestKeyCells)
#include "tst_key_cells.moc"
