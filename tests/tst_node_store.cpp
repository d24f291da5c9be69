#include "hybrid_clock.h"
#include "node_store.h"
#include "random.h"

#include <QByteArray>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <poll.h>
#include <rocksdb/db.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

using namespace rangepilot;
using namespace rangepilot::node;

namespace {

constexpr std::size_t kNoLimit = std::size_t(1) << 40;

StoredValue value(HlcTimestamp hlc, std::string node, std::string bytes) {
    StoredValue stored;
    stored.version = {hlc, std::move(node)};
    stored.value = std::move(bytes);
    return stored;
}

StoredValue tombstone(HlcTimestamp hlc, std::string node) {
    StoredValue stored;
    stored.version = {hlc, std::move(node)};
    stored.tombstone = true;
    return stored;
}

std::string toKey(const QByteArray& bytes) {
    return {bytes.constData(), std::size_t(bytes.size())};
}
QByteArray toBytes(std::string_view bytes) {
    return {bytes.data(), qsizetype(bytes.size())};
}

QString describe(const std::optional<StoredValue>& stored) {
    if (!stored)
        return QStringLiteral("absent");
    return QStringLiteral("%1@%2/%3 %4")
        .arg(stored->tombstone ? QStringLiteral("tombstone") : QStringLiteral("value"))
        .arg(stored->version.hlc)
        .arg(QString::fromStdString(formatKey(stored->version.node)))
        .arg(QString::fromStdString(formatKey(stored->value)));
}

QList<QByteArray> keysOf(const std::vector<StoredEntry>& entries) {
    QList<QByteArray> keys;
    for (const StoredEntry& entry : entries)
        keys << toBytes(entry.key);
    return keys;
}

// Everything in the store, tombstones included, in key order.
std::vector<StoredEntry> everything(const NodeStore& store) {
    Result<ScanPage> page = store.scan({}, {}, 1'000'000, kNoLimit, ScanFor::Copy);
    if (!page)
        qFatal("scan failed: %s", page.error().message.c_str());
    return page->entries;
}

// A copy's scan includes tombstones, a client's does not.
ScanFor scanFor(bool tombstones) {
    return tombstones ? ScanFor::Copy : ScanFor::Client;
}

// The reference definition of RangeDigest::checksum, written out independently of the store: a
// multiply-rotate hash over 64-bit words of len(key) key hlc len(node) node tombstone-byte
// len(value) value per entry.
std::uint64_t referenceChecksum(const std::vector<StoredEntry>& entries) {
    std::uint64_t state = 0x243f6a8885a308d3ull;
    const auto rotl = [](std::uint64_t v, int r) { return (v << r) | (v >> (64 - r)); };
    const auto feedWord = [&](std::uint64_t word) {
        word = rotl(word * 0x87c37b91114253d5ull, 31) * 0x4cf5ad432745937full;
        state = rotl(state ^ word, 27) * 5 + 0x52dce729ull;
    };
    // Bytes in groups of eight, the first byte lowest; a shorter last group is zero-padded.
    const auto feed = [&](std::string_view bytes) {
        for (std::size_t group = 0; group < bytes.size(); group += 8) {
            std::uint64_t word = 0;
            for (std::size_t i = group; i < bytes.size() && i < group + 8; ++i)
                word |= std::uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * (i - group));
            feedWord(word);
        }
    };
    for (const StoredEntry& entry : entries) {
        feedWord(entry.key.size());
        feed(entry.key);
        feedWord(entry.stored.version.hlc);
        feedWord(entry.stored.version.node.size());
        feed(entry.stored.version.node);
        feed(entry.stored.tombstone ? std::string_view("\x01", 1) : std::string_view("\x00", 1));
        feedWord(entry.stored.value.size());
        feed(entry.stored.value);
    }
    std::uint64_t h = state; // MurmurHash3's 64-bit finalizer
    h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdull;
    h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

// A copy of this test binary running the helperHoldsStoreOpen() slot: it opens a store, writes,
// prints a marker and holds the store until its stdin closes (or it is killed).
class HelperProcess {
public:
    bool start(const QString& directory, int writes) {
        int toChild[2];
        int fromChild[2];
        if (pipe(toChild) != 0 || pipe(fromChild) != 0)
            return false;
        // Everything the child needs is prepared before fork(): after it, only exec.
        std::vector<std::string> env;
        for (char** e = environ; *e != nullptr; ++e)
            env.emplace_back(*e);
        env.push_back("RANGEPILOT_TST_STORE_DIR=" + directory.toStdString());
        env.push_back("RANGEPILOT_TST_STORE_WRITES=" + std::to_string(writes));
        std::vector<char*> envp;
        for (std::string& e : env)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        std::string exe = "/proc/self/exe";
        std::string slot = "helperHoldsStoreOpen";
        std::string silent = "-silent";
        char* argv[] = {exe.data(), slot.data(), silent.data(), nullptr};
        m_pid = fork();
        if (m_pid == 0) {
            dup2(toChild[0], 0);
            dup2(fromChild[1], 1);
            close(toChild[1]);
            close(fromChild[0]);
            execve(exe.c_str(), argv, envp.data());
            _exit(127);
        }
        close(toChild[0]);
        close(fromChild[1]);
        m_stdin = toChild[1];
        m_stdout = fromChild[0];
        return m_pid > 0;
    }

    // Reads the child's output until `marker` shows up; false on EOF or after 20 s.
    bool waitFor(const std::string& marker) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (m_output.find(marker) == std::string::npos) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return false;
            pollfd fd{m_stdout, POLLIN, 0};
            if (poll(&fd, 1, static_cast<int>(left.count())) <= 0)
                continue;
            char buffer[4096];
            const ssize_t got = read(m_stdout, buffer, sizeof buffer);
            if (got <= 0)
                return false;
            m_output.append(buffer, static_cast<std::size_t>(got));
        }
        return true;
    }

    void kill9() {
        if (m_pid > 0)
            ::kill(m_pid, SIGKILL);
        reap();
    }
    // Closing its stdin tells the child to close its store and exit; returns its exit code.
    int finish() {
        closeFd(m_stdin);
        return reap();
    }
    const std::string& output() const { return m_output; }

    ~HelperProcess() {
        kill9();
        closeFd(m_stdin);
        closeFd(m_stdout);
    }

private:
    static void closeFd(int& fd) {
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    int reap() {
        if (m_pid <= 0)
            return -1;
        int status = 0;
        waitpid(m_pid, &status, 0);
        m_pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    pid_t m_pid = -1;
    int m_stdin = -1;
    int m_stdout = -1;
    std::string m_output;
};

std::string helperKey(int i) {
    char key[32];
    std::snprintf(key, sizeof key, "kill-%05d", i);
    return key;
}

} // namespace

#define OPEN_STORE(name, directory)                                                                \
    auto name##Opened = NodeStore::open((directory).toStdString());                                \
    QVERIFY2(name##Opened.ok(), name##Opened.ok() ? "" : name##Opened.error().message.c_str());    \
    std::unique_ptr<NodeStore> name = std::move(name##Opened.value())

// The test's shared store, emptied: most tests need an empty store, and opening one costs tens of
// milliseconds (more while the disk is busy).
#define SHARED_STORE(name)                                                                         \
    NodeStore* name = m_shared.get();                                                              \
    QVERIFY(name != nullptr);                                                                      \
    QVERIFY(name->deleteRange({}).ok())

#define CHECK_OK(expression)                                                                       \
    do {                                                                                           \
        const auto& checked_ = (expression);                                                       \
        QVERIFY2(checked_.ok(), #expression);                                                      \
    } while (false)

class TestNodeStore : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void versionOrder_data();
    void versionOrder();
    void encodeDecodeRoundTrip_data();
    void encodeDecodeRoundTrip();
    void encodingLayout();
    void decodeBadBytes_data();
    void decodeBadBytes();
    void lastWriterWins_data();
    void lastWriterWins();
    void tombstoneBlocksOlderCopy();
    void applyRejectsLongNodeId();
    void applyBatchRepeatedKey();
    void scan_data();
    void scan();
    void scanPagesCoverEverything();
    void digestIgnoresWriteOrder();
    void digestSeesEveryDifference();
    void digestMatchesDefinition();
    void pinnedSnapshotDigestIgnoresLaterWrites();
    void deleteRange_data();
    void deleteRange();
    void sampleKeysSpread();
    void sampleKeysSmallRange();
    void metaRoundTrip();
    void reopenKeepsEverything();
    void estimatesAndFlush();
    void corruptValueNamesKey();
    void concurrentWritersKeepNewest();
    void secondOpenInProcessFails();
    void openErrorsNameDirectory();
    void lockHeldByAnotherProcess();
    void killedWriterKeepsAcknowledgedWrites();
    void helperHoldsStoreOpen();

private:
    QTemporaryDir m_sharedDir;
    std::unique_ptr<NodeStore> m_shared;
};

void TestNodeStore::initTestCase() {
    QVERIFY(m_sharedDir.isValid());
    auto opened = NodeStore::open(m_sharedDir.path().toStdString());
    QVERIFY2(opened.ok(), opened.ok() ? "" : opened.error().message.c_str());
    m_shared = std::move(opened.value());
}

void TestNodeStore::cleanupTestCase() {
    m_shared.reset();
}

void TestNodeStore::versionOrder_data() {
    QTest::addColumn<quint64>("hlcA");
    QTest::addColumn<QByteArray>("nodeA");
    QTest::addColumn<quint64>("hlcB");
    QTest::addColumn<QByteArray>("nodeB");
    QTest::addColumn<int>("expected"); // sign of A <=> B
    QTest::newRow("hlc decides") << quint64(5) << QByteArray("z") << quint64(6) << QByteArray("a")
                                 << -1;
    QTest::newRow("equal") << quint64(5) << QByteArray("n") << quint64(5) << QByteArray("n") << 0;
    QTest::newRow("node breaks tie")
        << quint64(5) << QByteArray("n2") << quint64(5) << QByteArray("n1") << 1;
    QTest::newRow("node bytes unsigned")
        << quint64(5) << QByteArray("\xff") << quint64(5) << QByteArray("a") << 1;
    QTest::newRow("prefix is smaller")
        << quint64(5) << QByteArray("n") << quint64(5) << QByteArray("n1") << -1;
}

void TestNodeStore::versionOrder() {
    QFETCH(quint64, hlcA);
    QFETCH(QByteArray, nodeA);
    QFETCH(quint64, hlcB);
    QFETCH(QByteArray, nodeB);
    QFETCH(int, expected);
    const ValueVersion a{hlcA, toKey(nodeA)};
    const ValueVersion b{hlcB, toKey(nodeB)};
    const auto order = a <=> b;
    const int sign = order < 0 ? -1 : (order > 0 ? 1 : 0);
    QCOMPARE(sign, expected);
    QCOMPARE(a == b, expected == 0);
}

void TestNodeStore::encodeDecodeRoundTrip_data() {
    QTest::addColumn<quint64>("hlc");
    QTest::addColumn<QByteArray>("node");
    QTest::addColumn<bool>("isTombstone");
    QTest::addColumn<QByteArray>("bytes");
    QTest::newRow("value") << quint64(makeHlc(1'700'000'000'000ull, 3)) << QByteArray("node-1")
                           << false << QByteArray("hello");
    QTest::newRow("empty value") << quint64(1) << QByteArray("n") << false << QByteArray();
    QTest::newRow("binary value") << quint64(2) << QByteArray("n") << false
                                  << QByteArray("\x00\x01\xff\x00", 4);
    QTest::newRow("tombstone") << quint64(9) << QByteArray("n") << true << QByteArray();
    QTest::newRow("empty node id") << quint64(0) << QByteArray() << false << QByteArray("v");
    QTest::newRow("255-byte node id")
        << quint64(~0ull) << QByteArray(255, '\xee') << false << QByteArray("v");
    QTest::newRow("large value") << quint64(7) << QByteArray("n") << false
                                 << QByteArray(1 << 20, 'x');
}

void TestNodeStore::encodeDecodeRoundTrip() {
    QFETCH(quint64, hlc);
    QFETCH(QByteArray, node);
    QFETCH(bool, isTombstone);
    QFETCH(QByteArray, bytes);
    const StoredValue original =
        isTombstone ? tombstone(hlc, toKey(node)) : value(hlc, toKey(node), toKey(bytes));
    const std::string encoded = encodeStoredValue(original);
    QCOMPARE(encoded.size(), 11 + std::size_t(node.size()) + std::size_t(bytes.size()));
    Result<StoredValue> decoded = decodeStoredValue(encoded);
    QVERIFY2(decoded.ok(), decoded.ok() ? "" : decoded.error().message.c_str());
    QCOMPARE(describe(*decoded), describe(original));
    QVERIFY(*decoded == original);
}

void TestNodeStore::encodingLayout() {
    const std::string encoded = encodeStoredValue(value(0x0102030405060708ull, "n1", "v"));
    QCOMPARE(toBytes(encoded), QByteArray("\x01\x00\x01\x02\x03\x04\x05\x06\x07\x08\x02n1v", 14));
    const std::string dead = encodeStoredValue(tombstone(0xff, ""));
    QCOMPARE(toBytes(dead), QByteArray("\x01\x01\x00\x00\x00\x00\x00\x00\x00\xff\x00", 11));
}

void TestNodeStore::decodeBadBytes_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("expected");
    QTest::newRow("empty") << QByteArray() << QStringLiteral("truncated header");
    QTest::newRow("short header") << QByteArray("\x01\x00\x00\x00", 4)
                                  << QStringLiteral("truncated header");
    QTest::newRow("unknown format")
        << QByteArray("\x07\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00", 11)
        << QStringLiteral("unknown format 7");
    QTest::newRow("unknown flags") << QByteArray("\x01\x02\x00\x00\x00\x00\x00\x00\x00\x01\x00", 11)
                                   << QStringLiteral("unknown flags 2");
    QTest::newRow("node id cut short")
        << QByteArray("\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x05n1", 13)
        << QStringLiteral("truncated node id");
    QTest::newRow("tombstone with value")
        << QByteArray("\x01\x01\x00\x00\x00\x00\x00\x00\x00\x01\x01nXY", 14)
        << QStringLiteral("tombstone with 2 value bytes");
}

void TestNodeStore::decodeBadBytes() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, expected);
    Result<StoredValue> decoded = decodeStoredValue(toKey(bytes));
    QVERIFY(!decoded.ok());
    const QString message = QString::fromStdString(decoded.error().message);
    QVERIFY2(message.contains(expected), qPrintable(message));
}

void TestNodeStore::lastWriterWins_data() {
    QTest::addColumn<quint64>("storedHlc");
    QTest::addColumn<QByteArray>("storedNode");
    QTest::addColumn<bool>("storedTombstone");
    QTest::addColumn<quint64>("incomingHlc");
    QTest::addColumn<QByteArray>("incomingNode");
    QTest::addColumn<bool>("incomingTombstone");
    QTest::addColumn<bool>("applied");
    QTest::newRow("older") << quint64(20) << QByteArray("n1") << false << quint64(10)
                           << QByteArray("n1") << false << false;
    QTest::newRow("equal") << quint64(20) << QByteArray("n1") << false << quint64(20)
                           << QByteArray("n1") << false << false;
    QTest::newRow("newer") << quint64(20) << QByteArray("n1") << false << quint64(21)
                           << QByteArray("n1") << false << true;
    QTest::newRow("tie, larger node wins") << quint64(20) << QByteArray("n1") << false
                                           << quint64(20) << QByteArray("n2") << false << true;
    QTest::newRow("tie, smaller node loses") << quint64(20) << QByteArray("n2") << false
                                             << quint64(20) << QByteArray("n1") << false << false;
    QTest::newRow("newer tombstone replaces value")
        << quint64(20) << QByteArray("n1") << false << quint64(30) << QByteArray("n1") << true
        << true;
    QTest::newRow("older tombstone loses to value")
        << quint64(20) << QByteArray("n1") << false << quint64(10) << QByteArray("n9") << true
        << false;
    QTest::newRow("newer value replaces tombstone")
        << quint64(20) << QByteArray("n1") << true << quint64(30) << QByteArray("n1") << false
        << true;
    QTest::newRow("older value loses to tombstone")
        << quint64(20) << QByteArray("n1") << true << quint64(19) << QByteArray("n9") << false
        << false;
    QTest::newRow("tombstone over tombstone") << quint64(20) << QByteArray("n1") << true
                                              << quint64(21) << QByteArray("n1") << true << true;
}

void TestNodeStore::lastWriterWins() {
    QFETCH(quint64, storedHlc);
    QFETCH(QByteArray, storedNode);
    QFETCH(bool, storedTombstone);
    QFETCH(quint64, incomingHlc);
    QFETCH(QByteArray, incomingNode);
    QFETCH(bool, incomingTombstone);
    QFETCH(bool, applied);
    SHARED_STORE(store);

    const StoredValue first = storedTombstone ? tombstone(storedHlc, toKey(storedNode))
                                              : value(storedHlc, toKey(storedNode), "first");
    const StoredValue second = incomingTombstone
                                   ? tombstone(incomingHlc, toKey(incomingNode))
                                   : value(incomingHlc, toKey(incomingNode), "second");
    Result<ApplyOutcome> initial = store->apply("k", first);
    QVERIFY(initial.ok());
    QCOMPARE(*initial, ApplyOutcome::Applied);
    Result<ApplyOutcome> outcome = store->apply("k", second);
    QVERIFY(outcome.ok());
    QCOMPARE(*outcome, applied ? ApplyOutcome::Applied : ApplyOutcome::SkippedOlder);
    Result<std::optional<StoredValue>> now = store->get("k");
    QVERIFY(now.ok());
    QCOMPARE(describe(*now), describe(applied ? second : first));

    // The batch path resolves the same way.
    NodeStore* batchStore = store;
    QVERIFY(batchStore->deleteRange({}).ok());
    CHECK_OK(batchStore->apply("k", first));
    Result<std::vector<ApplyOutcome>> outcomes = batchStore->applyBatch({{"k", second}});
    QVERIFY(outcomes.ok());
    QCOMPARE(outcomes->size(), std::size_t(1));
    QCOMPARE(outcomes->front(), applied ? ApplyOutcome::Applied : ApplyOutcome::SkippedOlder);
    QCOMPARE(describe(*batchStore->get("k")), describe(applied ? second : first));
}

void TestNodeStore::tombstoneBlocksOlderCopy() {
    SHARED_STORE(store);
    QCOMPARE(*store->apply("k", value(10, "a", "v1")), ApplyOutcome::Applied);
    QCOMPARE(*store->apply("k", tombstone(20, "a")), ApplyOutcome::Applied);
    // A copied batch still carrying the value written between the two arrives late.
    QCOMPARE(*store->apply("k", value(15, "b", "stale")), ApplyOutcome::SkippedOlder);
    Result<std::optional<StoredValue>> now = store->get("k");
    QVERIFY(now.ok());
    QVERIFY(now->has_value());
    QVERIFY((*now)->tombstone);
    QCOMPARE((*now)->version.hlc, HlcTimestamp(20));
    // A client scan does not see the tombstone; a copy does.
    QVERIFY(store->scan({}, {}, 10, kNoLimit, ScanFor::Client)->entries.empty());
    QCOMPARE(store->scan({}, {}, 10, kNoLimit, ScanFor::Copy)->entries.size(), std::size_t(1));
    QVERIFY(!store->get("never written")->has_value());
}

void TestNodeStore::applyRejectsLongNodeId() {
    SHARED_STORE(store);
    const std::string longNode(256, 'n');
    Result<ApplyOutcome> single = store->apply("k", value(1, longNode, "v"));
    QVERIFY(!single.ok());
    QVERIFY2(QString::fromStdString(single.error().message).contains(QStringLiteral("node id")),
             single.error().message.c_str());
    Result<std::vector<ApplyOutcome>> batch =
        store->applyBatch({{"a", value(1, "ok", "v")}, {"b", value(1, longNode, "v")}});
    QVERIFY(!batch.ok());
    QVERIFY(everything(*store).empty()); // nothing of a rejected batch is written
    QCOMPARE(*store->apply("k", value(1, std::string(255, 'n'), "v")), ApplyOutcome::Applied);
}

void TestNodeStore::applyBatchRepeatedKey() {
    SHARED_STORE(store);
    CHECK_OK(store->apply("k", value(6, "n", "stored")));
    const std::vector<StoredEntry> batch = {
        {"k", value(5, "n", "older than stored")},
        {"k", value(9, "n", "newest")},
        {"j", value(1, "n", "j1")},
        {"k", value(7, "n", "older than the batch's newest")},
        {"j", tombstone(2, "n")},
        {"k", value(9, "n", "equal to the newest")},
    };
    Result<std::vector<ApplyOutcome>> outcomes = store->applyBatch(batch);
    QVERIFY(outcomes.ok());
    const std::vector<ApplyOutcome> expected = {
        ApplyOutcome::SkippedOlder, ApplyOutcome::Applied, ApplyOutcome::Applied,
        ApplyOutcome::SkippedOlder, ApplyOutcome::Applied, ApplyOutcome::SkippedOlder};
    QVERIFY(*outcomes == expected);
    QCOMPARE(describe(*store->get("k")), describe(value(9, "n", "newest")));
    QCOMPARE(describe(*store->get("j")), describe(tombstone(2, "n")));
    QVERIFY(store->applyBatch({})->empty());
}

// The scan fixture: "\0" "a" "a\0" b(tombstone) "c" "\xff" "\xff\xff"; values of 3 bytes, c's 10.
void TestNodeStore::scan_data() {
    QTest::addColumn<QByteArray>("start");
    QTest::addColumn<QByteArray>("end");
    QTest::addColumn<QByteArray>("from");
    QTest::addColumn<int>("maxEntries");
    QTest::addColumn<int>("maxBytes");
    QTest::addColumn<bool>("tombstones");
    QTest::addColumn<QList<QByteArray>>("expected");
    QTest::addColumn<QByteArray>("resume");
    const QByteArray zero("\x00", 1);
    const QByteArray aZero("a\x00", 2);
    const QByteArray ff("\xff");
    const QByteArray ffff("\xff\xff");
    const int big = 1 << 30;
    const QByteArray none;
    QTest::newRow("everything") << none << none << none << 100 << big << false
                                << QList<QByteArray>{zero, "a", aZero, "c", ff, ffff} << none;
    QTest::newRow("everything with tombstones")
        << none << none << none << 100 << big << true
        << QList<QByteArray>{zero, "a", aZero, "b", "c", ff, ffff} << none;
    QTest::newRow("bounded end") << QByteArray("a") << QByteArray("c") << none << 100 << big
                                 << false << QList<QByteArray>{"a", aZero} << none;
    QTest::newRow("bounded end with tombstones")
        << QByteArray("a") << QByteArray("c") << none << 100 << big << true
        << QList<QByteArray>{"a", aZero, "b"} << none;
    QTest::newRow("from below start is clamped")
        << QByteArray("a") << none << zero << 100 << big << false
        << QList<QByteArray>{"a", aZero, "c", ff, ffff} << none;
    QTest::newRow("from inside the range") << none << none << aZero << 100 << big << false
                                           << QList<QByteArray>{aZero, "c", ff, ffff} << none;
    QTest::newRow("from past the end") << QByteArray("a") << QByteArray("b") << QByteArray("c")
                                       << 100 << big << false << QList<QByteArray>{} << none;
    QTest::newRow("empty range") << QByteArray("a") << QByteArray("a") << none << 100 << big << true
                                 << QList<QByteArray>{} << none;
    QTest::newRow("entry limit") << none << none << none << 2 << big << false
                                 << QList<QByteArray>{zero, "a"} << aZero;
    QTest::newRow("resume skips a tombstone")
        << none << none << none << 3 << big << false << QList<QByteArray>{zero, "a", aZero}
        << QByteArray("c");
    QTest::newRow("resume at a tombstone when copying")
        << none << none << none << 3 << big << true << QList<QByteArray>{zero, "a", aZero}
        << QByteArray("b");
    QTest::newRow("limit reached at the last entry")
        << none << none << none << 6 << big << false
        << QList<QByteArray>{zero, "a", aZero, "c", ff, ffff} << none;
    QTest::newRow("limit reached at the range end")
        << QByteArray("a") << QByteArray("b") << none << 2 << big << false
        << QList<QByteArray>{"a", aZero} << none;
    QTest::newRow("zero entries means one")
        << none << none << none << 0 << big << false << QList<QByteArray>{zero} << QByteArray("a");
    QTest::newRow("byte limit filled exactly")
        << none << none << none << 100 << 8 << false << QList<QByteArray>{zero, "a"} << aZero;
    QTest::newRow("byte limit not exceeded") << none << none << aZero << 100 << 15 << false
                                             << QList<QByteArray>{aZero} << QByteArray("c");
    QTest::newRow("entry larger than the byte limit travels alone")
        << QByteArray("c") << none << none << 100 << 4 << false << QList<QByteArray>{"c"} << ff;
    QTest::newRow("zero bytes means one entry")
        << none << none << none << 100 << 0 << false << QList<QByteArray>{zero} << QByteArray("a");
    QTest::newRow("binary bounds")
        << ff << ffff << none << 100 << big << false << QList<QByteArray>{ff} << none;
    QTest::newRow("from the last key")
        << ffff << none << none << 100 << big << false << QList<QByteArray>{ffff} << none;
    QTest::newRow("below the zero byte")
        << none << zero << none << 100 << big << true << QList<QByteArray>{} << none;
}

void TestNodeStore::scan() {
    QFETCH(QByteArray, start);
    QFETCH(QByteArray, end);
    QFETCH(QByteArray, from);
    QFETCH(int, maxEntries);
    QFETCH(int, maxBytes);
    QFETCH(bool, tombstones);
    QFETCH(QList<QByteArray>, expected);
    QFETCH(QByteArray, resume);
    SHARED_STORE(store);
    const std::vector<StoredEntry> fixture = {
        {std::string("\x00", 1), value(1, "n", "v00")},
        {"a", value(1, "n", "va_")},
        {std::string("a\x00", 2), value(1, "n", "va0")},
        {"b", tombstone(1, "n")},
        {"c", value(1, "n", "0123456789")},
        {"\xff", value(1, "n", "vff")},
        {"\xff\xff", value(1, "n", "vfx")},
    };
    CHECK_OK(store->applyBatch(fixture));

    Result<ScanPage> page =
        store->scan({toKey(start), toKey(end)}, toKey(from), std::size_t(maxEntries),
                    std::size_t(maxBytes), scanFor(tombstones));
    QVERIFY2(page.ok(), page.ok() ? "" : page.error().message.c_str());
    QCOMPARE(keysOf(page->entries), expected);
    QCOMPARE(toBytes(page->resume_key), resume);
    for (const StoredEntry& entry : page->entries) {
        const auto match = std::find_if(fixture.begin(), fixture.end(),
                                        [&](const StoredEntry& e) { return e.key == entry.key; });
        QVERIFY(match != fixture.end());
        QCOMPARE(describe(entry.stored), describe(match->stored));
    }
}

void TestNodeStore::scanPagesCoverEverything() {
    // Paging by resume key with small limits returns exactly one full scan, in order, for both
    // client scans and copies.
    SHARED_STORE(store);
    std::uint64_t state = 42;
    std::vector<StoredEntry> batch;
    for (int i = 0; i < 500; ++i) {
        std::string key;
        const std::size_t length = 1 + splitMix64Next(state) % 4;
        for (std::size_t b = 0; b < length; ++b)
            key.push_back(static_cast<char>(
                splitMix64Next(state) % 4 == 0 ? 0xff : splitMix64Next(state) % 256));
        const bool dead = splitMix64Next(state) % 5 == 0;
        batch.push_back(
            {key, dead ? tombstone(i + 1, "n")
                       : value(i + 1, "n", std::string(splitMix64Next(state) % 40, 'v'))});
    }
    CHECK_OK(store->applyBatch(batch));
    const KeyRange range{std::string("\x10"), std::string("\xff\xff")};
    for (const bool tombstones : {false, true}) {
        const std::vector<StoredEntry> whole =
            store->scan(range, {}, 1'000'000, kNoLimit, scanFor(tombstones))->entries;
        QVERIFY(whole.size() > 100);
        std::vector<StoredEntry> paged;
        std::string cursor;
        int pages = 0;
        do {
            Result<ScanPage> page = store->scan(range, cursor, 7, 60, scanFor(tombstones));
            QVERIFY(page.ok());
            QVERIFY(!page->entries.empty());
            QVERIFY(page->entries.size() <= 7);
            paged.insert(paged.end(), page->entries.begin(), page->entries.end());
            cursor = page->resume_key;
            QVERIFY(++pages < 1000);
        } while (!cursor.empty());
        QCOMPARE(keysOf(paged), keysOf(whole));
        QVERIFY(paged == whole);
    }
}

void TestNodeStore::digestIgnoresWriteOrder() {
    // The same final content, written in opposite orders and with superseded versions in between,
    // digests the same.
    std::vector<StoredEntry> writes;
    for (int i = 0; i < 200; ++i) {
        const std::string key = "key" + std::to_string(i * 7 % 200);
        writes.push_back(
            {key, value(100 + i % 13, "n" + std::to_string(i % 3), "v" + std::to_string(i))});
        if (i % 9 == 0)
            writes.push_back({key, tombstone(100 + i % 11, "n1")});
    }
    QTemporaryDir dirA;
    QTemporaryDir dirB;
    OPEN_STORE(a, dirA.path());
    OPEN_STORE(b, dirB.path());
    for (const StoredEntry& entry : writes)
        CHECK_OK(a->apply(entry.key, entry.stored));
    for (auto it = writes.rbegin(); it != writes.rend(); ++it)
        CHECK_OK(b->apply(it->key, it->stored));
    QVERIFY(everything(*a) == everything(*b));
    for (const KeyRange& range :
         {KeyRange{}, KeyRange{"key1", "key5"}, KeyRange{"key5", ""}, KeyRange{"x", ""}}) {
        Result<RangeDigest> digestA = a->digest(range);
        Result<RangeDigest> digestB = b->digest(range);
        QVERIFY(digestA.ok() && digestB.ok());
        QCOMPARE(digestA->checksum, digestB->checksum);
        QCOMPARE(digestA->entries, digestB->entries);
        QCOMPARE(digestA->bytes, digestB->bytes);
    }
    QCOMPARE(a->digest({})->entries, std::uint64_t(200));
    QVERIFY(a->digest({"x", ""})->entries == 0);
}

void TestNodeStore::digestSeesEveryDifference() {
    const std::vector<StoredEntry> base = {
        {"a", value(10, "n1", "alpha")},
        {"b", tombstone(11, "n1")},
        {"c", value(12, "n2", "gamma")},
    };
    NodeStore* store = m_shared.get();
    QVERIFY(store != nullptr);
    const auto digestOf = [store](const std::vector<StoredEntry>& entries) {
        if (!store->deleteRange({}) || !store->applyBatch(entries))
            qFatal("cannot build the store");
        return *store->digest({});
    };
    const RangeDigest reference = digestOf(base);
    QCOMPARE(reference.entries, std::uint64_t(3));
    QCOMPARE(reference.bytes, std::uint64_t(3 + 5 + 5));
    QVERIFY(digestOf(base) == reference);

    std::vector<std::vector<StoredEntry>> variants(7, base);
    variants[0][0].stored.version.hlc = 13;                        // a newer version of one key
    variants[1][2].stored.version.node = "n3";                     // same hlc, other writer
    variants[2][0].stored.value = "alphb";                         // one value byte
    variants[3][1].stored = value(11, "n1", "");                   // tombstone vs empty value
    variants[4].pop_back();                                        // a missing entry
    variants[5][2].key = "d";                                      // another key
    variants[6][0].stored.version.node = std::string("n1\x00", 3); // bytes, not a C string
    for (std::size_t i = 0; i < variants.size(); ++i)
        QVERIFY2(digestOf(variants[i]).checksum != reference.checksum,
                 qPrintable(QStringLiteral("variant %1").arg(i)));
    // Length prefixes keep moved field boundaries apart: key "ab" + value "c" vs "a" + "bc".
    QVERIFY(digestOf({{"ab", value(1, "n", "c")}}).checksum !=
            digestOf({{"a", value(1, "n", "bc")}}).checksum);
}

void TestNodeStore::digestMatchesDefinition() {
    SHARED_STORE(store);
    QCOMPARE(store->digest({})->checksum, referenceChecksum({})); // the finalized seed
    const std::vector<StoredEntry> entries = {
        {std::string("\x00k", 2), value(makeHlc(1000, 1), "node-a", std::string("v\x00", 2))},
        {"m", tombstone(makeHlc(1000, 2), "node-b")},
        {"\xff", value(7, "", "")},
    };
    CHECK_OK(store->applyBatch(entries));
    const RangeDigest digest = *store->digest({});
    QCOMPARE(digest.checksum, referenceChecksum(entries));
    QCOMPARE(digest.entries, std::uint64_t(3));
    QCOMPARE(digest.bytes, std::uint64_t(2 + 2 + 1 + 0 + 1 + 0));
    QCOMPARE(store->digest({"a", "\xff"})->checksum, referenceChecksum({entries[1]}));
}

void TestNodeStore::pinnedSnapshotDigestIgnoresLaterWrites() {
    SHARED_STORE(store);
    CHECK_OK(store->applyBatch({{"a", value(10, "n1", "one")}, {"b", value(11, "n1", "two")}}));
    const RangeDigest before = *store->digest({});
    const PinnedSnapshot pinned = store->pinSnapshot();
    QVERIFY(pinned != nullptr);

    // Overwrites, deletes, new keys and a range drop after the pin: the snapshot still shows the
    // data as it was, the current digest does not.
    CHECK_OK(store->apply("a", value(20, "n2", "one, later")));
    CHECK_OK(store->apply("c", value(21, "n2", "three")));
    CHECK_OK(store->deleteRange({"b", "bb"}));
    const Result<RangeDigest> atPin = store->digest({}, *pinned);
    QVERIFY(atPin.ok());
    QVERIFY(atPin.value() == before);
    QVERIFY(store->digest({})->checksum != before.checksum);
    QCOMPARE(store->digest({"b", ""}, *pinned)->entries, std::uint64_t(1));

    // A snapshot of another store is refused, naming the range.
    QTemporaryDir otherDir;
    OPEN_STORE(other, otherDir.path());
    const Result<RangeDigest> foreign = other->digest({"a", "z"}, *pinned);
    QVERIFY(!foreign.ok());
    QVERIFY2(foreign.error().message.find("another store") != std::string::npos,
             foreign.error().message.c_str());
}

void TestNodeStore::deleteRange_data() {
    QTest::addColumn<QByteArray>("start");
    QTest::addColumn<QByteArray>("end");
    QTest::addColumn<QList<QByteArray>>("remaining");
    const QByteArray zero("\x00", 1);
    const QByteArray ff("\xff");
    const QByteArray ff2("\xff\xff");
    const QByteArray ff3("\xff\xff\xff");
    QTest::newRow("bounded") << QByteArray("a") << QByteArray("c")
                             << QList<QByteArray>{zero, "c", ff, ff2, ff3};
    QTest::newRow("from the smallest key")
        << QByteArray() << QByteArray("b") << QList<QByteArray>{"b", "c", ff, ff2, ff3};
    QTest::newRow("unbounded") << QByteArray("b") << QByteArray() << QList<QByteArray>{zero, "a"};
    QTest::newRow("unbounded over binary keys")
        << ff2 << QByteArray() << QList<QByteArray>{zero, "a", "b", "c", ff};
    QTest::newRow("bounded by binary keys")
        << ff << ff3 << QList<QByteArray>{zero, "a", "b", "c", ff3};
    QTest::newRow("everything") << QByteArray() << QByteArray() << QList<QByteArray>{};
    QTest::newRow("past the last key") << QByteArray("\xff\xff\xff\x00", 4) << QByteArray()
                                       << QList<QByteArray>{zero, "a", "b", "c", ff, ff2, ff3};
    QTest::newRow("end not after start") << QByteArray("c") << QByteArray("a")
                                         << QList<QByteArray>{zero, "a", "b", "c", ff, ff2, ff3};
}

void TestNodeStore::deleteRange() {
    QFETCH(QByteArray, start);
    QFETCH(QByteArray, end);
    QFETCH(QList<QByteArray>, remaining);
    SHARED_STORE(store);
    CHECK_OK(store->applyBatch({
        {std::string("\x00", 1), value(1, "n", "0")},
        {"a", value(1, "n", "a")},
        {"b", tombstone(1, "n")},
        {"c", value(1, "n", "c")},
        {"\xff", value(1, "n", "f")},
        {"\xff\xff", value(1, "n", "ff")},
        {"\xff\xff\xff", tombstone(1, "n")},
    }));
    const KeyRange range{toKey(start), toKey(end)};
    const Status deleted = store->deleteRange(range);
    QVERIFY2(deleted.ok(), deleted.message().c_str());
    QCOMPARE(keysOf(everything(*store)), remaining);
    // What was deleted is gone for point reads and digests too.
    for (const QByteArray& key : {QByteArray("a"), QByteArray("\xff\xff")}) {
        const bool kept = remaining.contains(key);
        QCOMPARE(store->get(toKey(key))->has_value(), kept);
    }
    QCOMPARE(store->digest({})->entries, std::uint64_t(remaining.size()));
}

void TestNodeStore::sampleKeysSpread() {
    SHARED_STORE(store);
    constexpr int kLive = 1000;
    std::vector<StoredEntry> batch;
    char key[16];
    for (int i = 0; i < kLive; ++i) {
        std::snprintf(key, sizeof key, "k%04d", i);
        batch.push_back({key, value(1, "n", "v")});
        batch.push_back({std::string(key) + "-dead", tombstone(1, "n")});
    }
    CHECK_OK(store->applyBatch(batch));

    for (const std::size_t maxKeys : {std::size_t(1), std::size_t(10), std::size_t(37)}) {
        std::uint64_t seen = 0;
        Result<std::vector<std::string>> sample = store->sampleKeys({}, maxKeys, &seen);
        QVERIFY(sample.ok());
        QCOMPARE(seen, std::uint64_t(kLive));
        QCOMPARE(sample->size(), maxKeys);
        QVERIFY(std::is_sorted(sample->begin(), sample->end()));
        QVERIFY(std::adjacent_find(sample->begin(), sample->end()) == sample->end());
        std::vector<int> indices;
        for (const std::string& k : *sample) {
            QCOMPARE(k.size(), std::size_t(5)); // a live key, never a tombstone's
            indices.push_back(std::stoi(k.substr(1)));
        }
        // Evenly spread: consecutive picks are between a quarter and twice the ideal gap apart,
        // and the sample reaches into the first and last part of the range.
        const double ideal = double(kLive) / double(maxKeys);
        for (std::size_t i = 1; i < indices.size(); ++i) {
            const int gap = indices[i] - indices[i - 1];
            QVERIFY2(gap >= ideal / 4 && gap <= 2 * ideal,
                     qPrintable(QStringLiteral("gap %1 for %2 keys").arg(gap).arg(maxKeys)));
        }
        QVERIFY(indices.front() < 2 * ideal);
        QVERIFY(indices.back() > kLive - 2 * ideal || maxKeys == 1);
    }
    // maxKeys 0: no keys, but the count.
    std::uint64_t seen = 0;
    QVERIFY(store->sampleKeys({}, 0, &seen)->empty());
    QCOMPARE(seen, std::uint64_t(kLive));
}

void TestNodeStore::sampleKeysSmallRange() {
    SHARED_STORE(store);
    CHECK_OK(store->applyBatch({{"a", value(1, "n", "")},
                                {"b", tombstone(1, "n")},
                                {"c", value(1, "n", "")},
                                {"\xff", value(1, "n", "")},
                                {std::string("\xff\x00", 2), value(1, "n", "")}}));
    std::uint64_t seen = 0;
    Result<std::vector<std::string>> all = store->sampleKeys({}, 100, &seen);
    QVERIFY(all.ok());
    QCOMPARE(seen, std::uint64_t(4));
    QVERIFY(*all == (std::vector<std::string>{"a", "c", "\xff", std::string("\xff\x00", 2)}));
    Result<std::vector<std::string>> ranged = store->sampleKeys({"b", "\xff"}, 100, &seen);
    QVERIFY(*ranged == std::vector<std::string>{"c"});
    QCOMPARE(seen, std::uint64_t(1));
    QVERIFY(store->sampleKeys({"x", "y"}, 5, &seen)->empty());
    QCOMPARE(seen, std::uint64_t(0));
    QCOMPARE(store->sampleKeys({"\xff", ""}, 100)->size(), std::size_t(2));
}

void TestNodeStore::metaRoundTrip() {
    QTemporaryDir dir;
    OPEN_STORE(store, dir.path());
    QVERIFY(!store->getMeta("table")->has_value());
    const std::string binary("\x00\x01\xfftable", 8);
    QVERIFY(store->putMeta("table", binary).ok());
    QVERIFY(store->putMeta("hlc_floor", "12345").ok());
    QCOMPARE(toBytes(store->getMeta("table")->value()), toBytes(binary));
    QVERIFY(store->putMeta("hlc_floor", "12346").ok());
    QCOMPARE(store->getMeta("hlc_floor")->value(), std::string("12346"));
    // Meta lives beside the data, never in it.
    QVERIFY(everything(*store).empty());
    QCOMPARE(store->digest({})->entries, std::uint64_t(0));
    QVERIFY(!store->get("table")->has_value());
}

void TestNodeStore::reopenKeepsEverything() {
    QTemporaryDir dir;
    std::vector<StoredEntry> before;
    RangeDigest digestBefore;
    {
        OPEN_STORE(store, dir.path());
        for (int i = 0; i < 300; ++i) {
            const std::string key = "r" + std::to_string(i);
            CHECK_OK(store->apply(key, i % 4 == 0 ? tombstone(i, "n") : value(i, "n", key + key)));
        }
        QVERIFY(store->putMeta("table", "epoch 7").ok());
        before = everything(*store);
        digestBefore = *store->digest({});
    }
    OPEN_STORE(reopened, dir.path());
    QCOMPARE(reopened->getMeta("table")->value(), std::string("epoch 7"));
    QVERIFY(everything(*reopened) == before);
    QVERIFY(*reopened->digest({}) == digestBefore);
    QCOMPARE(before.size(), std::size_t(300));
    // Versions still count after the reopen: an older copy of a deleted key stays out.
    QCOMPARE(*reopened->apply("r0", value(0, "a", "old")), ApplyOutcome::SkippedOlder);
}

void TestNodeStore::estimatesAndFlush() {
    QTemporaryDir dir;
    OPEN_STORE(store, dir.path());
    QCOMPARE(store->estimatedKeys(), std::uint64_t(0));
    std::vector<StoredEntry> batch;
    for (int i = 0; i < 2000; ++i)
        batch.push_back({"e" + std::to_string(i), value(1, "n", std::string(100, 'x'))});
    CHECK_OK(store->applyBatch(batch));
    QVERIFY(store->estimatedBytes() > 0);
    const Status flushed = store->flush();
    QVERIFY2(flushed.ok(), flushed.message().c_str());
    const std::uint64_t keys = store->estimatedKeys();
    QVERIFY2(keys >= 1000 && keys <= 4000, qPrintable(QString::number(keys)));
    const std::uint64_t bytes = store->estimatedBytes();
    QVERIFY2(bytes >= 10'000 && bytes <= 2'000'000, qPrintable(QString::number(bytes)));
}

void TestNodeStore::corruptValueNamesKey() {
    // Bytes that are not an encoded value (a damaged or foreign database), planted with RocksDB
    // directly: every read that meets them is an Error naming the key, never a crash.
    QTemporaryDir dir;
    {
        OPEN_STORE(store, dir.path());
        CHECK_OK(store->apply("fine", value(1, "n", "v")));
    }
    {
        const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
            {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
            {"meta", rocksdb::ColumnFamilyOptions()}};
        std::vector<rocksdb::ColumnFamilyHandle*> handles;
        rocksdb::DB* raw = nullptr;
        QVERIFY(rocksdb::DB::Open(rocksdb::DBOptions(), dir.path().toStdString(), families,
                                  &handles, &raw)
                    .ok());
        const std::string bad("\x07\x00\x00\x00\x00\x00\x00\x00\x01\x01n", 11);
        QVERIFY(raw->Put(rocksdb::WriteOptions(), handles[0], "bad\x01", bad).ok());
        for (rocksdb::ColumnFamilyHandle* handle : handles)
            QVERIFY(raw->DestroyColumnFamilyHandle(handle).ok());
        QVERIFY(raw->Close().ok());
        delete raw;
    }
    OPEN_STORE(store, dir.path());
    const QString key = QStringLiteral("0x62616401"); // formatKey("bad\x01")
    const auto expectNamed = [&](const std::string& message) {
        const QString text = QString::fromStdString(message);
        return text.contains(key) && text.contains(QStringLiteral("unknown format 7"));
    };
    Result<std::optional<StoredValue>> got = store->get("bad\x01");
    QVERIFY(!got.ok());
    QVERIFY2(expectNamed(got.error().message), got.error().message.c_str());
    Result<ApplyOutcome> applied = store->apply("bad\x01", value(9, "n", "v"));
    QVERIFY(!applied.ok());
    QVERIFY2(expectNamed(applied.error().message), applied.error().message.c_str());
    Result<ScanPage> scanned = store->scan({}, {}, 10, kNoLimit, ScanFor::Client);
    QVERIFY(!scanned.ok());
    QVERIFY2(expectNamed(scanned.error().message), scanned.error().message.c_str());
    Result<RangeDigest> digested = store->digest({});
    QVERIFY(!digested.ok());
    QVERIFY2(expectNamed(digested.error().message), digested.error().message.c_str());
    QVERIFY(!store->sampleKeys({}, 5).ok());
    // Reads that do not touch the damaged key still work.
    QVERIFY(store->get("fine")->has_value());
    QCOMPARE(store->scan({"c", ""}, {}, 10, kNoLimit, ScanFor::Client)->entries.size(),
             std::size_t(1));
}

void TestNodeStore::concurrentWritersKeepNewest() {
    // Threads apply random versions (single and batched) to a few keys; each key must end with
    // the largest version any thread offered, whatever the interleaving.
    SHARED_STORE(store);
    constexpr int kThreads = 4;
    constexpr int kOps = 1500;
    constexpr int kKeys = 6;
    const auto offered = [](std::uint64_t hlc, int writer) {
        const std::string node = "n" + std::to_string(writer % 3);
        // The content is a function of the version, so equal versions are equal values.
        if (hlc % 7 == 0)
            return tombstone(hlc, node);
        return value(hlc, node, std::to_string(hlc) + node);
    };
    std::vector<std::map<std::string, StoredValue>> best(kThreads);
    std::vector<std::string> failures(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::uint64_t state = 1000 + static_cast<std::uint64_t>(t);
            auto& mine = best[static_cast<std::size_t>(t)];
            const auto remember = [&](const std::string& key, const StoredValue& v) {
                auto [it, inserted] = mine.emplace(key, v);
                if (!inserted && it->second.version < v.version)
                    it->second = v;
            };
            for (int i = 0; i < kOps; ++i) {
                const std::string key = "key" + std::to_string(splitMix64Next(state) % kKeys);
                const std::uint64_t hlc = splitMix64Next(state) % 5000;
                const int writer = static_cast<int>(splitMix64Next(state) % 5);
                if (i % 10 == 0) {
                    std::vector<StoredEntry> batch;
                    for (int b = 0; b < 3; ++b) {
                        const std::string bkey =
                            "key" + std::to_string(splitMix64Next(state) % kKeys);
                        batch.push_back({bkey, offered(splitMix64Next(state) % 5000, b)});
                        remember(bkey, batch.back().stored);
                    }
                    if (!store->applyBatch(batch))
                        failures[static_cast<std::size_t>(t)] = "applyBatch failed";
                } else {
                    const StoredValue v = offered(hlc, writer);
                    remember(key, v);
                    if (!store->apply(key, v))
                        failures[static_cast<std::size_t>(t)] = "apply failed";
                }
            }
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    for (const std::string& failure : failures)
        QVERIFY2(failure.empty(), failure.c_str());
    std::map<std::string, StoredValue> expected;
    for (const auto& mine : best) {
        for (const auto& [key, v] : mine) {
            auto [it, inserted] = expected.emplace(key, v);
            if (!inserted && it->second.version < v.version)
                it->second = v;
        }
    }
    QCOMPARE(expected.size(), std::size_t(kKeys));
    for (const auto& [key, v] : expected)
        QCOMPARE(describe(*store->get(key)), describe(v));
}

void TestNodeStore::secondOpenInProcessFails() {
    QTemporaryDir dir;
    OPEN_STORE(store, dir.path());
    auto second = NodeStore::open(dir.path().toStdString());
    QVERIFY(!second.ok());
    const QString message = QString::fromStdString(second.error().message);
    QVERIFY2(message.contains(QStringLiteral("lock")), qPrintable(message));
    QVERIFY2(message.contains(dir.path()), qPrintable(message));
    // The first store is unaffected, and once it closes the directory opens again.
    CHECK_OK(store->apply("k", value(1, "n", "v")));
    store.reset();
    OPEN_STORE(again, dir.path());
    QVERIFY(again->get("k")->has_value());
}

void TestNodeStore::openErrorsNameDirectory() {
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("plain-file"));
    {
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("not a directory");
    }
    auto onFile = NodeStore::open(file.toStdString());
    QVERIFY(!onFile.ok());
    QVERIFY2(QString::fromStdString(onFile.error().message).contains(file),
             onFile.error().message.c_str());

    NodeStoreOptions noCreate;
    noCreate.create_if_missing = false;
    const QString missing = dir.filePath(QStringLiteral("missing"));
    auto notThere = NodeStore::open(missing.toStdString(), noCreate);
    QVERIFY(!notThere.ok());
    QVERIFY2(QString::fromStdString(notThere.error().message).contains(missing),
             notThere.error().message.c_str());
}

void TestNodeStore::lockHeldByAnotherProcess() {
    QTemporaryDir dir;
    HelperProcess helper;
    QVERIFY(helper.start(dir.path(), 3));
    QVERIFY2(helper.waitFor("STORE-READY"), helper.output().c_str());
    auto second = NodeStore::open(dir.path().toStdString());
    QVERIFY(!second.ok());
    const QString message = QString::fromStdString(second.error().message);
    QVERIFY2(message.contains(QStringLiteral("lock")), qPrintable(message));
    QVERIFY2(message.contains(dir.path()), qPrintable(message));
    QCOMPARE(helper.finish(), 0);
    OPEN_STORE(afterwards, dir.path());
    QCOMPARE(afterwards->digest({})->entries, std::uint64_t(3));
}

void TestNodeStore::killedWriterKeepsAcknowledgedWrites() {
    // The helper writes without sync_writes and is killed with SIGKILL right after its writes
    // were acknowledged: the write-ahead log (in the OS cache) must bring every one of them back.
    QTemporaryDir dir;
    constexpr int kWrites = 500;
    {
        HelperProcess helper;
        QVERIFY(helper.start(dir.path(), kWrites));
        QVERIFY2(helper.waitFor("STORE-READY"), helper.output().c_str());
        helper.kill9();
    }
    OPEN_STORE(store, dir.path());
    for (int i = 0; i < kWrites; ++i) {
        const std::string key = helperKey(i);
        Result<std::optional<StoredValue>> got = store->get(key);
        QVERIFY(got.ok());
        QVERIFY2(got->has_value(), key.c_str());
        QCOMPARE((*got)->value, "value of " + key);
    }
    QCOMPARE(store->getMeta("written")->value_or(std::string()), std::to_string(kWrites));
}

void TestNodeStore::helperHoldsStoreOpen() {
    const char* directory = std::getenv("RANGEPILOT_TST_STORE_DIR");
    if (directory == nullptr)
        QSKIP("only runs as the child process of the lock and kill tests");
    const int writes = std::atoi(std::getenv("RANGEPILOT_TST_STORE_WRITES"));
    auto opened = NodeStore::open(directory);
    QVERIFY2(opened.ok(), opened.ok() ? "" : opened.error().message.c_str());
    for (int i = 0; i < writes; ++i) {
        const std::string key = helperKey(i);
        QVERIFY(opened.value()->apply(key, value(makeHlc(1, i), "child", "value of " + key)).ok());
    }
    QVERIFY(opened.value()->putMeta("written", std::to_string(writes)).ok());
    std::printf("STORE-READY\n");
    std::fflush(stdout);
    char buffer[64];
    while (read(0, buffer, sizeof buffer) > 0) {
    }
}

QTEST_APPLESS_MAIN(TestNodeStore)
#include "tst_node_store.moc"
