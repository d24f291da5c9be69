#include "jump_hash.h"

#include <QtTest>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

using namespace rangepilot;

namespace {

// Chi-square statistic of bucket counts against a uniform expectation.
double chiSquare(const std::vector<std::int64_t>& counts, double expectedPerBucket) {
    double sum = 0.0;
    for (const std::int64_t count : counts) {
        const double diff = static_cast<double>(count) - expectedPerBucket;
        sum += diff * diff / expectedPerBucket;
    }
    return sum;
}

} // namespace

class TestJumpHash : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void publishedValues_data();
    void publishedValues();
    void resultInRange_data();
    void resultInRange();
    void nonPositiveBucketsGiveZero_data();
    void nonPositiveBucketsGiveZero();
    void oneBucketIsAlwaysZero();
    void growingMovesKeysOnlyToTheNewBucket();
    void growingMovesAboutOneOverNPlusOne_data();
    void growingMovesAboutOneOverNPlusOne();
    void distributionIsUniform_data();
    void distributionIsUniform();
    void consecutiveIdsAreSpreadAfterMixing();
    void mix64IsSplitmix64();
    void mix64Avalanches();
    void fnv1a64PublishedVectors_data();
    void fnv1a64PublishedVectors();
    void hashBytesSeparatesSimilarNames();
};

// Values published for the reference algorithm (the paper's C++ code) by independent
// implementations (ClickHouse's jumpConsistentHash tests, the Python "jump" package, rust
// jumphash crates). Placement must never change silently: hosts would reshuffle on upgrade.
void TestJumpHash::publishedValues_data() {
    QTest::addColumn<quint64>("key");
    QTest::addColumn<qint32>("buckets");
    QTest::addColumn<qint32>("expected");
    QTest::newRow("1/1") << quint64(1) << 1 << 0;
    QTest::newRow("42/57") << quint64(42) << 57 << 43;
    QTest::newRow("256/1024") << quint64(256) << 1024 << 520;
    QTest::newRow("3735883980/1") << quint64(3735883980ULL) << 1 << 0;
    QTest::newRow("3735883980/666") << quint64(3735883980ULL) << 666 << 361;
    QTest::newRow("16045690984833335023/255") << quint64(16045690984833335023ULL) << 255 << 237;
    QTest::newRow("123456/1000") << quint64(123456) << 1000 << 984;
}

void TestJumpHash::publishedValues() {
    QFETCH(quint64, key);
    QFETCH(qint32, buckets);
    QFETCH(qint32, expected);
    QCOMPARE(jumpConsistentHash(key, buckets), expected);
}

void TestJumpHash::resultInRange_data() {
    QTest::addColumn<qint32>("buckets");
    for (const qint32 buckets : {1, 2, 3, 7, 10, 100, 1000, 65536, 2147483647})
        QTest::addRow("%d", buckets) << buckets;
}

void TestJumpHash::resultInRange() {
    QFETCH(qint32, buckets);
    for (std::uint64_t i = 0; i < 5000; ++i) {
        for (const std::uint64_t key : {i, mix64(i), ~i}) {
            const std::int32_t bucket = jumpConsistentHash(key, buckets);
            QVERIFY2(bucket >= 0 && bucket < buckets,
                     qPrintable(QStringLiteral("key %1 → bucket %2").arg(key).arg(bucket)));
        }
    }
}

void TestJumpHash::nonPositiveBucketsGiveZero_data() {
    QTest::addColumn<qint32>("buckets");
    QTest::newRow("zero") << 0;
    QTest::newRow("minus one") << -1;
    QTest::newRow("minimum") << std::numeric_limits<qint32>::min();
}

void TestJumpHash::nonPositiveBucketsGiveZero() {
    QFETCH(qint32, buckets);
    QCOMPARE(jumpConsistentHash(0, buckets), 0);
    QCOMPARE(jumpConsistentHash(~std::uint64_t{0}, buckets), 0);
    QCOMPARE(jumpConsistentHash(mix64(7), buckets), 0);
}

void TestJumpHash::oneBucketIsAlwaysZero() {
    for (std::uint64_t i = 0; i < 10000; ++i)
        QCOMPARE(jumpConsistentHash(mix64(i), 1), 0);
    QCOMPARE(jumpConsistentHash(~std::uint64_t{0}, 1), 0);
}

// The consistency property: going from n to n + 1 buckets, a key stays or moves to bucket n.
void TestJumpHash::growingMovesKeysOnlyToTheNewBucket() {
    for (std::uint64_t i = 0; i < 2000; ++i) {
        const std::uint64_t key = mix64(i);
        std::int32_t previous = jumpConsistentHash(key, 1);
        for (std::int32_t n = 1; n < 300; ++n) {
            const std::int32_t grown = jumpConsistentHash(key, n + 1);
            if (grown != previous && grown != n)
                QFAIL(qPrintable(QStringLiteral("key %1: %2 buckets → %3, %4 buckets → %5")
                                     .arg(key)
                                     .arg(n)
                                     .arg(previous)
                                     .arg(n + 1)
                                     .arg(grown)));
            previous = grown;
        }
    }
}

// Each key moves with probability 1/(n+1), independently: the moved count is binomial. Five
// standard deviations is a bound a correct hash essentially never exceeds (and the keys are
// fixed, so the test is deterministic), while a hash that moves twice as much fails by far.
void TestJumpHash::growingMovesAboutOneOverNPlusOne_data() {
    QTest::addColumn<qint32>("buckets");
    for (const qint32 buckets : {1, 2, 3, 9, 49, 99})
        QTest::addRow("%d → %d", buckets, buckets + 1) << buckets;
}

void TestJumpHash::growingMovesAboutOneOverNPlusOne() {
    QFETCH(qint32, buckets);
    constexpr int kKeys = 20000;
    int moved = 0;
    for (std::uint64_t i = 0; i < kKeys; ++i) {
        const std::uint64_t key = mix64(i);
        if (jumpConsistentHash(key, buckets) != jumpConsistentHash(key, buckets + 1))
            ++moved;
    }
    const double p = 1.0 / (buckets + 1);
    const double expected = kKeys * p;
    const double sd = std::sqrt(kKeys * p * (1.0 - p));
    QVERIFY2(
        std::abs(moved - expected) <= 5.0 * sd,
        qPrintable(
            QStringLiteral("moved %1, expected %2 ± %3").arg(moved).arg(expected).arg(5.0 * sd)));
}

// Chi-square with buckets - 1 degrees of freedom has mean df and variance 2·df; accepting up to
// df + 6·sqrt(2·df) rejects a correct hash with negligible probability, and catches any
// noticeable bias (a bucket getting even 20% more than its share at these sample sizes).
void TestJumpHash::distributionIsUniform_data() {
    QTest::addColumn<qint32>("buckets");
    for (const qint32 buckets : {2, 3, 10, 64, 1000})
        QTest::addRow("%d", buckets) << buckets;
}

void TestJumpHash::distributionIsUniform() {
    QFETCH(qint32, buckets);
    const std::int64_t keys = std::max<std::int64_t>(50000, 200LL * buckets);
    std::vector<std::int64_t> counts(static_cast<std::size_t>(buckets), 0);
    for (std::int64_t i = 0; i < keys; ++i)
        ++counts[static_cast<std::size_t>(
            jumpConsistentHash(mix64(static_cast<std::uint64_t>(i)), buckets))];
    const double df = buckets - 1;
    const double chi2 = chiSquare(counts, static_cast<double>(keys) / buckets);
    QVERIFY2(
        chi2 <= df + 6.0 * std::sqrt(2.0 * df),
        qPrintable(QStringLiteral("chi-square %1 for %2 degrees of freedom").arg(chi2).arg(df)));
}

// Shard ids are small consecutive integers; after mix64 they must land evenly, in every bucket.
void TestJumpHash::consecutiveIdsAreSpreadAfterMixing() {
    constexpr int kBuckets = 8;
    std::vector<std::int64_t> counts(kBuckets, 0);
    for (std::uint64_t id = 1; id <= 800; ++id)
        ++counts[static_cast<std::size_t>(jumpConsistentHash(mix64(id), kBuckets))];
    for (const std::int64_t count : counts)
        QVERIFY2(count >= 60 && count <= 140, qPrintable(QString::number(count)));
}

// The first splitmix64 outputs for seeds 0 and 1, as published with the generator.
void TestJumpHash::mix64IsSplitmix64() {
    static_assert(mix64(0) == 0xe220a8397b1dcdafULL);
    QCOMPARE(mix64(0), quint64(0xe220a8397b1dcdafULL));
    QCOMPARE(mix64(1), quint64(0x910a2dec89025cc1ULL));
    std::set<std::uint64_t> seen;
    for (std::uint64_t i = 0; i < 10000; ++i)
        seen.insert(mix64(i));
    QCOMPARE(seen.size(), std::size_t{10000});
}

// Flipping any one input bit flips about half of the output bits.
void TestJumpHash::mix64Avalanches() {
    for (int bit = 0; bit < 64; ++bit) {
        std::int64_t flipped = 0;
        constexpr int kSamples = 200;
        for (std::uint64_t i = 0; i < kSamples; ++i) {
            const std::uint64_t input = mix64(i + 1000);
            flipped += std::popcount(mix64(input) ^ mix64(input ^ (std::uint64_t{1} << bit)));
        }
        const double average = static_cast<double>(flipped) / kSamples;
        QVERIFY2(average > 30.0 && average < 34.0,
                 qPrintable(QStringLiteral("bit %1 flips %2 bits").arg(bit).arg(average)));
    }
}

void TestJumpHash::fnv1a64PublishedVectors_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<quint64>("expected");
    QTest::newRow("empty") << QByteArray() << quint64(0xcbf29ce484222325ULL);
    QTest::newRow("a") << QByteArray("a") << quint64(0xaf63dc4c8601ec8cULL);
    QTest::newRow("foobar") << QByteArray("foobar") << quint64(0x85944171f73967e8ULL);
}

void TestJumpHash::fnv1a64PublishedVectors() {
    QFETCH(QByteArray, bytes);
    QFETCH(quint64, expected);
    QCOMPARE(fnv1a64(std::string_view(bytes.constData(), static_cast<std::size_t>(bytes.size()))),
             expected);
}

void TestJumpHash::hashBytesSeparatesSimilarNames() {
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 1000; ++i)
        seen.insert(hashBytes("host-" + std::to_string(i)));
    QCOMPARE(seen.size(), std::size_t{1000});
    // Bytes past a NUL count too: keys are binary.
    QVERIFY(hashBytes(std::string_view("a\0b", 3)) != hashBytes(std::string_view("a\0c", 3)));
    QCOMPARE(hashBytes("host-3"), mix64(fnv1a64("host-3")));
}

QTEST_APPLESS_MAIN(TestJumpHash)
#include "tst_jump_hash.moc"
