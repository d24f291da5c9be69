#include "write_ledger.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <unordered_set>

using namespace rangepilot;

namespace {

ValueVersion version(std::uint64_t hlc, const std::string& node = "n1") {
    return ValueVersion{hlc, node};
}

ReadValue present(const std::string& value, const ValueVersion& at) {
    return ReadValue{true, value, at};
}

ReadValue absent(const ValueVersion& at = {}) {
    return ReadValue{false, std::string(), at};
}

// A cluster stand-in for verify(): what each key reads back, or an error.
class FakeStore {
public:
    void set(const Key& key, ReadValue read) { m_reads[key] = std::move(read); }
    void fail(const Key& key) { m_failing.insert(key); }

    KeyReader reader() const {
        return [this](const Key& key) -> Result<ReadValue> {
            if (m_failing.count(key) > 0)
                return Error{"get " + key + ": UNAVAILABLE: node down"};
            const auto found = m_reads.find(key);
            if (found == m_reads.end())
                return absent();
            return found->second;
        };
    }

private:
    std::map<Key, ReadValue> m_reads;
    std::set<Key> m_failing;
};

QString verdictText(Verdict verdict) {
    return QString::fromLatin1(verdictName(verdict));
}

} // namespace

class TestWriteLedger : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void digestDistinguishesValues();
    void hashHasNoCollisionsAmongManySimilarValues();
    void judge_data();
    void judge();
    void keepsTheNewestAcknowledgedWriteWhateverTheOrder();
    void uncertainWritesAreDeduplicated();
    void verifyCountsEveryClassification();
    void verifyOnSeveralThreadsAgreesWithOne();
    void concurrentRecordingKeepsTheNewestPerKey();
    void saveAndLoadRoundTrip();
    void loadNamesTheBadLine_data();
    void loadNamesTheBadLine();
    void verifyLineFormat();
};

void TestWriteLedger::digestDistinguishesValues() {
    const std::string big(1 << 20, 'x');
    std::string bigFlipped = big;
    bigFlipped[123'456] = 'y';

    QCOMPARE(WriteDigest::ofValue("abc"), WriteDigest::ofValue("abc"));
    QVERIFY(WriteDigest::ofValue("abc") != WriteDigest::ofValue("abd"));
    QVERIFY(WriteDigest::ofValue(big) != WriteDigest::ofValue(bigFlipped));
    // Same bytes up to zero padding of the last word: the length keeps them apart.
    QVERIFY(valueHash(std::string("ab")) != valueHash(std::string("ab\0", 3)));
    // An empty value is a value, not a tombstone.
    QVERIFY(WriteDigest::ofValue("") != WriteDigest::deletion());
    QCOMPARE(WriteDigest::ofRead(absent(version(5))), WriteDigest::deletion());
    QCOMPARE(WriteDigest::ofRead(present("v", version(5))), WriteDigest::ofValue("v"));
}

void TestWriteLedger::hashHasNoCollisionsAmongManySimilarValues() {
    // Values that differ in one bit or one counter step are the hard case for a weak hash.
    std::unordered_set<std::uint64_t> seen;
    std::string value(24, '\0');
    for (std::uint32_t i = 0; i < 100'000; ++i) {
        std::memcpy(value.data() + 9, &i, sizeof i);
        QVERIFY(seen.insert(valueHash(value)).second);
    }
    const std::string base(64, 'k');
    for (std::size_t bit = 0; bit < base.size() * 8; ++bit) {
        std::string flipped = base;
        flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
        QVERIFY(seen.insert(valueHash(flipped)).second);
    }
}

void TestWriteLedger::judge_data() {
    QTest::addColumn<bool>("acknowledgedDelete");
    QTest::addColumn<QStringList>("uncertainValues"); // "<tombstone>" for an uncertain delete
    QTest::addColumn<bool>("found");
    QTest::addColumn<QString>("readValue");
    QTest::addColumn<qulonglong>("readHlc");
    QTest::addColumn<QString>("expected");

    // The newest acknowledged write is a put of "new" at hlc 100 unless acknowledgedDelete.
    const QStringList none;
    QTest::newRow("ok: the acknowledged value") << false << none << true << "new" << 100ull << "ok";
    QTest::newRow("ok: same value, another version")
        << false << none << true << "new" << 150ull << "ok";
    QTest::newRow("ok: deleted and absent") << true << none << false << "" << 100ull << "ok";
    QTest::newRow("ok: deleted, never seen") << true << none << false << "" << 0ull << "ok";
    QTest::newRow("ok: an uncertain newer put won")
        << false << QStringList{QStringLiteral("maybe")} << true << "maybe" << 200ull << "ok";
    QTest::newRow("ok: an uncertain newer delete won")
        << false << QStringList{QStringLiteral("<tombstone>")} << false << "" << 200ull << "ok";
    QTest::newRow("stale: an older value") << false << none << true << "old" << 50ull << "stale";
    QTest::newRow("stale: an uncertain write that could not have won")
        << false << QStringList{QStringLiteral("maybe")} << true << "maybe" << 50ull << "stale";
    QTest::newRow("lost: absent, never written") << false << none << false << "" << 0ull << "lost";
    QTest::newRow("lost: an older tombstone") << false << none << false << "" << 50ull << "lost";
    QTest::newRow("lost: deleted behind our back")
        << false << none << false << "" << 200ull << "lost";
    QTest::newRow("lost: a deleted key came back (older value)")
        << true << none << true << "old" << 50ull << "lost";
    QTest::newRow("lost: a deleted key came back (newer value)")
        << true << none << true << "other" << 200ull << "lost";
    QTest::newRow("lost: overwritten by a stranger")
        << false << QStringList{QStringLiteral("maybe")} << true << "stranger" << 200ull << "lost";
    QTest::newRow("lost: another value at the acknowledged version")
        << false << none << true << "corrupt" << 100ull << "lost";
}

void TestWriteLedger::judge() {
    QFETCH(bool, acknowledgedDelete);
    QFETCH(QStringList, uncertainValues);
    QFETCH(bool, found);
    QFETCH(QString, readValue);
    QFETCH(qulonglong, readHlc);
    QFETCH(QString, expected);

    LedgerEntry entry;
    entry.acknowledged = true;
    entry.newest = acknowledgedDelete ? WriteDigest::deletion() : WriteDigest::ofValue("new");
    entry.newest_version = version(100);
    for (const QString& uncertain : uncertainValues) {
        entry.uncertain.push_back(uncertain == QStringLiteral("<tombstone>")
                                      ? WriteDigest::deletion()
                                      : WriteDigest::ofValue(uncertain.toStdString()));
    }
    const ValueVersion readVersion = readHlc == 0 ? ValueVersion{} : version(readHlc);
    const ReadValue read{found, readValue.toStdString(), readVersion};
    QCOMPARE(verdictText(rangepilot::judge(entry, read)), expected);
}

void TestWriteLedger::keepsTheNewestAcknowledgedWriteWhateverTheOrder() {
    WriteLedger ledger;
    ledger.recordAcknowledged("k", WriteDigest::ofValue("second"), version(20));
    ledger.recordAcknowledged("k", WriteDigest::ofValue("first"), version(10)); // arrives late
    QCOMPARE(ledger.entry("k")->newest, WriteDigest::ofValue("second"));

    // Equal hlc: the node id breaks the tie, as in the store.
    ledger.recordAcknowledged("k", WriteDigest::ofValue("n2"), version(20, "n2"));
    ledger.recordAcknowledged("k", WriteDigest::ofValue("n0"), version(20, "n0"));
    QCOMPARE(ledger.entry("k")->newest, WriteDigest::ofValue("n2"));
    QCOMPARE(ledger.entry("k")->newest_version, version(20, "n2"));

    ledger.recordAcknowledged("k", WriteDigest::deletion(), version(30));
    QVERIFY(ledger.entry("k")->newest.tombstone);
    QVERIFY(!ledger.entry("other").has_value());
}

void TestWriteLedger::uncertainWritesAreDeduplicated() {
    WriteLedger ledger;
    ledger.recordUncertain("k", WriteDigest::ofValue("a"));
    ledger.recordUncertain("k", WriteDigest::ofValue("a"));
    ledger.recordUncertain("k", WriteDigest::deletion());
    const auto entry = ledger.entry("k");
    QVERIFY(entry.has_value());
    QVERIFY(!entry->acknowledged);
    QCOMPARE(entry->uncertain.size(), std::size_t{2});
}

void TestWriteLedger::verifyCountsEveryClassification() {
    WriteLedger ledger;
    FakeStore store;
    ledger.recordAcknowledged("a-ok", WriteDigest::ofValue("v"), version(10));
    store.set("a-ok", present("v", version(10)));
    ledger.recordAcknowledged("b-ok-deleted", WriteDigest::deletion(), version(10));
    store.set("b-ok-deleted", absent(version(10)));
    ledger.recordAcknowledged("c-lost", WriteDigest::ofValue("v"), version(10));
    store.set("c-lost", absent(version(11, "intruder")));
    ledger.recordAcknowledged("d-stale", WriteDigest::ofValue("v2"), version(20));
    store.set("d-stale", present("v1", version(10)));
    ledger.recordAcknowledged("e-unreadable", WriteDigest::ofValue("v"), version(10));
    store.fail("e-unreadable");
    ledger.recordUncertain("f-skipped", WriteDigest::ofValue("v"));
    ledger.recordAcknowledged("g-lost-came-back", WriteDigest::deletion(), version(10));
    store.set("g-lost-came-back", present("v", version(5)));

    const VerifyReport report = ledger.verify(store.reader(), 1, 2);
    QCOMPARE(report.keys, std::uint64_t{6});
    QCOMPARE(report.ok, std::uint64_t{2});
    QCOMPARE(report.lost, std::uint64_t{2});
    QCOMPARE(report.stale, std::uint64_t{1});
    QCOMPARE(report.unreadable, std::uint64_t{1});
    QCOMPARE(report.skipped, std::uint64_t{1});
    QVERIFY(!report.passed());
    // At most two examples, smallest keys first, each saying what was expected and what was read.
    QCOMPARE(report.examples.size(), std::size_t{2});
    QCOMPARE(report.examples[0].key, Key("c-lost"));
    QCOMPARE(report.examples[0].verdict, Verdict::Lost);
    QVERIFY2(report.examples[0].detail.find("expected put (1 bytes) at 10@n1, read absent at "
                                            "11@intruder") != std::string::npos,
             report.examples[0].detail.c_str());
    QCOMPARE(report.examples[1].key, Key("d-stale"));
    QCOMPARE(report.examples[1].verdict, Verdict::Stale);

    WriteLedger healthy;
    healthy.recordAcknowledged("a-ok", WriteDigest::ofValue("v"), version(10));
    QVERIFY(healthy.verify(store.reader()).passed());
}

void TestWriteLedger::verifyOnSeveralThreadsAgreesWithOne() {
    WriteLedger ledger;
    FakeStore store;
    for (int i = 0; i < 500; ++i) {
        const Key key = "key" + std::to_string(i);
        ledger.recordAcknowledged(key, WriteDigest::ofValue("v" + std::to_string(i)),
                                  version(100 + static_cast<std::uint64_t>(i)));
        if (i % 7 == 0)
            store.set(key, absent(version(1)));
        else if (i % 11 == 0)
            store.set(key, present("old", version(1)));
        else
            store.set(key, present("v" + std::to_string(i), version(100)));
    }
    const VerifyReport one = ledger.verify(store.reader(), 1);
    const VerifyReport four = ledger.verify(store.reader(), 4);
    QCOMPARE(one.keys, std::uint64_t{500});
    QCOMPARE(four.ok, one.ok);
    QCOMPARE(four.lost, one.lost);
    QCOMPARE(four.stale, one.stale);
    QCOMPARE(one.lost, std::uint64_t{72});  // multiples of 7 in [0, 500)
    QCOMPARE(one.stale, std::uint64_t{39}); // multiples of 11 that are not multiples of 7
    QCOMPARE(four.examples.front().key, one.examples.front().key);
}

void TestWriteLedger::concurrentRecordingKeepsTheNewestPerKey() {
    // Eight writers over 64 shared keys, each write with a unique version; the ledger must end
    // with the largest version per key, as if recorded one at a time.
    constexpr int kThreads = 8;
    constexpr int kWritesPerThread = 4000;
    constexpr int kKeys = 64;
    WriteLedger ledger;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&ledger, t] {
            for (int i = 0; i < kWritesPerThread; ++i) {
                const Key key = "key" + std::to_string((i * 7 + t) % kKeys);
                // Versions interleave across threads and go up and down within a thread.
                const std::uint64_t hlc = static_cast<std::uint64_t>(
                    (i % 2 == 0 ? i : kWritesPerThread - i) * kThreads + t);
                ledger.recordAcknowledged(key, WriteDigest::ofValue(std::to_string(hlc)),
                                          version(hlc));
                if (i % 100 == 0)
                    ledger.recordUncertain(key, WriteDigest::ofValue("u" + std::to_string(t)));
            }
        });
    }
    for (std::thread& thread : threads)
        thread.join();

    std::map<Key, std::uint64_t> newest;
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kWritesPerThread; ++i) {
            const Key key = "key" + std::to_string((i * 7 + t) % kKeys);
            const auto hlc =
                static_cast<std::uint64_t>((i % 2 == 0 ? i : kWritesPerThread - i) * kThreads + t);
            newest[key] = std::max(newest[key], hlc);
        }
    }
    QCOMPARE(ledger.keyCount(), std::size_t{kKeys});
    for (const auto& [key, hlc] : newest) {
        const auto entry = ledger.entry(key);
        QVERIFY(entry.has_value());
        QCOMPARE(entry->newest_version.hlc, hlc);
        QCOMPARE(entry->newest, WriteDigest::ofValue(std::to_string(hlc)));
        QVERIFY(entry->uncertain.size() <= std::size_t{kThreads});
    }
}

void TestWriteLedger::saveAndLoadRoundTrip() {
    QTemporaryDir directory;
    QVERIFY(directory.isValid());
    const std::string path = directory.filePath(QStringLiteral("ledger.txt")).toStdString();

    WriteLedger ledger;
    const Key binaryKey("\x00\xff key with spaces", 18);
    ledger.recordAcknowledged(binaryKey, WriteDigest::ofValue("value"), version(7, "node a"));
    ledger.recordAcknowledged("deleted", WriteDigest::deletion(), version(9));
    ledger.recordUncertain("deleted", WriteDigest::ofValue("maybe"));
    ledger.recordUncertain("only-uncertain", WriteDigest::deletion());
    QVERIFY(ledger.save(path).ok());

    auto loaded = WriteLedger::load(path);
    QVERIFY2(loaded.ok(), loaded.ok() ? "" : loaded.error().message.c_str());
    QCOMPARE((*loaded)->keys(), ledger.keys());
    for (const Key& key : ledger.keys()) {
        const LedgerEntry expected = *ledger.entry(key);
        const LedgerEntry actual = *(*loaded)->entry(key);
        QCOMPARE(actual.acknowledged, expected.acknowledged);
        QCOMPARE(actual.newest, expected.newest);
        QCOMPARE(actual.newest_version, expected.newest_version);
        QCOMPARE(actual.uncertain, expected.uncertain);
    }
}

void TestWriteLedger::loadNamesTheBadLine_data() {
    QTest::addColumn<QByteArray>("contents");
    QTest::addColumn<QString>("expected");
    QTest::newRow("not a ledger") << QByteArray("ts,key\n") << "ledger.txt:1: not a write ledger";
    QTest::newRow("empty") << QByteArray() << "empty file";
    QTest::newRow("short line") << QByteArray("rangepilot-write-ledger 1\n6b A P:1:ff 7\n")
                                << "ledger.txt:2: expected at least 5 fields, found 4";
    QTest::newRow("bad hex key") << QByteArray("rangepilot-write-ledger 1\nzz A P:1:ff 7 -\n")
                                 << "ledger.txt:2: bad key 'zz'";
    QTest::newRow("bad digest") << QByteArray("rangepilot-write-ledger 1\n\n6b A X:1:ff 7 -\n")
                                << "ledger.txt:3: bad digest 'X:1:ff'";
    QTest::newRow("bad uncertain") << QByteArray("rangepilot-write-ledger 1\n6b A P:1:ff 7 - P:1\n")
                                   << "ledger.txt:2: bad uncertain digest 'P:1'";
}

void TestWriteLedger::loadNamesTheBadLine() {
    QFETCH(QByteArray, contents);
    QFETCH(QString, expected);
    QTemporaryDir directory;
    QVERIFY(directory.isValid());
    const QString path = directory.filePath(QStringLiteral("ledger.txt"));
    {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(contents);
    }
    const auto loaded = WriteLedger::load(path.toStdString());
    QVERIFY(!loaded.ok());
    const QString message = QString::fromStdString(loaded.error().message);
    QVERIFY2(message.contains(expected), qPrintable(message));

    const auto missing =
        WriteLedger::load(directory.filePath(QStringLiteral("nope")).toStdString());
    QVERIFY(!missing.ok());
    QVERIFY(QString::fromStdString(missing.error().message).contains(QStringLiteral("nope")));
}

void TestWriteLedger::verifyLineFormat() {
    VerifyReport report;
    report.keys = 10;
    report.ok = 8;
    report.lost = 1;
    report.stale = 1;
    QCOMPARE(QString::fromStdString(formatVerifyLine(report)),
             QStringLiteral("verify: 10 keys, ok 8, lost 1, stale 1"));
    report.unreadable = 2;
    report.skipped = 3;
    QCOMPARE(QString::fromStdString(formatVerifyLine(report)),
             QStringLiteral("verify: 10 keys, ok 8, lost 1, stale 1, unreadable 2, skipped 3"));
}

QTEST_APPLESS_MAIN(TestWriteLedger)
#include "tst_write_ledger.moc"
