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

// "user" and `digits` digits of `value`: keys shaped like the generator's, whose windows after a
// long common prefix run past the key's end (the zero-padded case) and share top bytes.
std::string numberedKey(std::uint64_t value, int digits) {
    std::string key = "user" + std::to_string(value);
    key.insert(4, static_cast<std::size_t>(std::max(0, digits - static_cast<int>(key.size() - 4))),
               '0');
    return key;
}

// The last start <= key by plain string order, found with a binary search over all starts.
CellIndex searchedCellOf(const std::vector<Key>& starts, std::string_view key) {
    const auto above = std::upper_bound(starts.begin(), starts.end(), key,
                                        [](std::string_view k, const Key& s) { return k < s; });
    return static_cast<CellIndex>(above - starts.begin() - 1);
}

void checkAgainstBinarySearch(const KeyCells& keyCells, const std::vector<Key>& probes) {
    for (const Key& probe : probes) {
        const CellIndex expected = searchedCellOf(keyCells.starts(), probe);
        const CellIndex actual = keyCells.cellOf(probe);
        if (actual != expected) {
            QFAIL(qPrintable(QStringLiteral("key %1: cell %2, binary search says %3")
                                 .arg(QString::fromStdString(formatKey(probe)))
                                 .arg(actual)
                                 .arg(expected)));
        }
    }
}

} // namespace

class TestKeyCells : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void lookupAgreesWithLinearScan_data();
    void lookupAgreesWithLinearScan();
    void numberedKeysAgreeWithBinarySearch_data();
    void numberedKeysAgreeWithBinarySearch();
    void quantilesBalanceTheSample();
    void fewDistinctKeysGiveOneCellEach();
    void rangesTileTheKeySpace();
    void fromStartsRejectsBadStarts();
    void cellSpansOfRanges_data();
    void cellSpansOfRanges();
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

void TestKeyCells::numberedKeysAgreeWithBinarySearch_data() {
    QTest::addColumn<int>("cells");
    QTest::addColumn<int>("digits");
    QTest::addColumn<quint64>("range"); // values drawn from [0, range)
    // Dense or sparse cells over the window's top 16 bits (short spans or the level search),
    // keys shorter or longer than the common prefix plus 8 bytes.
    QTest::newRow("1024 cells, 10 digits") << 1024 << 10 << quint64(1000000);
    QTest::newRow("4096 cells, 10 digits") << 4096 << 10 << quint64(1000000);
    QTest::newRow("17 cells, 10 digits") << 17 << 10 << quint64(1000000);
    QTest::newRow("1024 cells, 6 digits") << 1024 << 6 << quint64(1000000);
    QTest::newRow("1024 cells, 16 digits") << 1024 << 16 << quint64(1);
}

void TestKeyCells::numberedKeysAgreeWithBinarySearch() {
    QFETCH(int, cells);
    QFETCH(int, digits);
    QFETCH(quint64, range);
    std::uint64_t state = static_cast<std::uint64_t>(cells * 7 + digits);
    auto draw = [&] {
        // Zipf-like: small values far more often, as hot keys are; wide 16-digit values too.
        const std::uint64_t value = nextRandom(state) % range;
        const std::uint64_t skewed = value * (value % 7 + 1) / 7;
        return digits >= 16 ? nextRandom(state) % 10000000000000000ULL : skewed;
    };
    std::vector<Key> sample;
    for (int i = 0; i < 30000; ++i)
        sample.push_back(numberedKey(draw(), digits));
    const KeyCells keyCells = KeyCells::fromSample(sample, static_cast<std::size_t>(cells));
    QVERIFY(keyCells.size() > static_cast<std::size_t>(cells) / 2);

    std::vector<Key> probes = sample;
    for (const Key& start : keyCells.starts()) {
        // Each start and its neighbours in key order: a byte shorter, longer, one more.
        probes.push_back(start);
        probes.push_back(start + '\0');
        probes.push_back(start + '5');
        if (!start.empty()) {
            probes.push_back(start.substr(0, start.size() - 1));
            Key next = start;
            ++next.back();
            probes.push_back(next);
        }
    }
    for (int i = 0; i < 20000; ++i)
        probes.push_back(numberedKey(draw(), digits - 2 + static_cast<int>(nextRandom(state) % 5)));
    for (const char* other : {"", "u", "use", "usea", "usez", "user", "v", "user\xff"})
        probes.emplace_back(other);
    checkAgainstBinarySearch(keyCells, probes);
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

void TestKeyCells::cellSpansOfRanges_data() {
    // Cells start at "", "c", "f", "m", "t".
    QTest::addColumn<QString>("start");
    QTest::addColumn<QString>("end");
    QTest::addColumn<int>("startingFirst");
    QTest::addColumn<int>("startingEnd");
    QTest::addColumn<int>("coveringFirst");
    QTest::addColumn<int>("coveringEnd");
    QTest::newRow("whole key space") << ""
                                     << "" << 0 << 5 << 0 << 5;
    QTest::newRow("on cell boundaries") << "c"
                                        << "m" << 1 << 3 << 1 << 3;
    QTest::newRow("straddling both ends") << "d"
                                          << "n" << 2 << 4 << 1 << 4;
    QTest::newRow("inside one cell") << "g"
                                     << "h" << 3 << 3 << 2 << 3;
    QTest::newRow("unbounded from inside") << "u"
                                           << "" << 5 << 5 << 4 << 5;
}

void TestKeyCells::cellSpansOfRanges() {
    QFETCH(QString, start);
    QFETCH(QString, end);
    QFETCH(int, startingFirst);
    QFETCH(int, startingEnd);
    QFETCH(int, coveringFirst);
    QFETCH(int, coveringEnd);
    const KeyCells cells = KeyCells::fromStarts({"", "c", "f", "m", "t"}).value();
    const KeyRange range{start.toStdString(), end.toStdString()};
    const CellSpan starting = cells.cellsStartingIn(range);
    QCOMPARE(int(starting.first), startingFirst);
    QCOMPARE(int(starting.end), startingEnd);
    QCOMPARE(int(starting.size()), std::max(0, startingEnd - startingFirst));
    const CellSpan covering = cells.cellsCovering(range);
    QCOMPARE(int(covering.first), coveringFirst);
    QCOMPARE(int(covering.end), coveringEnd);
}

QTEST_APPLESS_MAIN(TestKeyCells)
#include "tst_key_cells.moc"
