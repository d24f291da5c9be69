#include "jump_hash.h"
#include "ownership_table.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <vector>

using namespace rangepilot;

using Shards = std::vector<Shard>;
using Hosts = std::vector<HostId>;
using Keys = std::vector<Key>;

Q_DECLARE_METATYPE(Shards)
Q_DECLARE_METATYPE(Hosts) // also Keys: both are std::vector<std::string>
Q_DECLARE_METATYPE(KeyRange)

namespace {

// Deterministic test randomness (splitmix64 counter); no std:: distributions.
class TestRng {
public:
    explicit TestRng(std::uint64_t seed)
        : m_state(seed) {}
    std::uint64_t next() { return mix64(m_state++); }
    std::size_t below(std::size_t bound) { return static_cast<std::size_t>(next() % bound); }

private:
    std::uint64_t m_state;
};

Hosts numberedHosts(int count, const char* prefix = "host-") {
    Hosts hosts;
    for (int i = 0; i < count; ++i)
        hosts.push_back(prefix + std::to_string(i));
    return hosts;
}

// "k000001" ... : count - 1 evenly named split keys, so count shards.
Keys numberedSplitKeys(int shardCount) {
    Keys keys;
    for (int i = 1; i < shardCount; ++i) {
        char buffer[16];
        std::snprintf(buffer, sizeof buffer, "k%06d", i);
        keys.emplace_back(buffer);
    }
    return keys;
}

QString toQString(std::string_view text) {
    return QString::fromStdString(std::string(text));
}

// The invariants every table must satisfy, checked independently of the table's own validation.
// Returns an empty string when all hold, else what broke.
QString invariantViolation(const OwnershipTable& table) {
    const Shards& shards = table.shards();
    if (shards.empty() || !shards.front().range.start.empty() || !shards.back().range.end.empty())
        return QStringLiteral("key space not covered at the ends");
    for (std::size_t i = 0; i + 1 < shards.size(); ++i)
        if (shards[i].range.end != shards[i + 1].range.start ||
            shards[i].range.end <= shards[i].range.start)
            return QStringLiteral("shards %1/%2 not contiguous").arg(i).arg(i + 1);
    for (const Shard& shard : shards) {
        Hosts roles = shard.replicas;
        roles.push_back(shard.owner);
        std::sort(roles.begin(), roles.end());
        if (std::adjacent_find(roles.begin(), roles.end()) != roles.end())
            return QStringLiteral("shard %1 has a host twice").arg(shard.id);
        for (const HostId& host : roles)
            if (!table.hasHost(host))
                return QStringLiteral("shard %1 uses unknown host %2")
                    .arg(shard.id)
                    .arg(toQString(host));
    }
    return {};
}

std::size_t linearIndexOf(const OwnershipTable& table, std::string_view key, int& matches) {
    std::size_t found = 0;
    matches = 0;
    for (std::size_t i = 0; i < table.shardCount(); ++i) {
        if (table.shards()[i].range.contains(key)) {
            found = i;
            ++matches;
        }
    }
    return found;
}

// Builds the three-shard table [, g) [g, p) [p, +inf) with ids 10, 20, 30 on hosts a, b, c.
OwnershipTable threeShards() {
    Shards shards{
        {10, {"", "g"}, "a", {"b"}}, {20, {"g", "p"}, "b", {"c"}}, {30, {"p", ""}, "c", {"a"}}};
    return OwnershipTable::create(std::move(shards), 5, Hosts{"a", "b", "c", "d"}).value();
}

} // namespace

class TestOwnershipTable : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void lookupAgreesWithLinearScan_data();
    void lookupAgreesWithLinearScan();
    void lookupAtBoundaries();
    void shardById();
    void createAcceptsValidTables();
    void createRejects_data();
    void createRejects();
    void initialPlacementFollowsJumpHash();
    void initialPlacementRejects_data();
    void initialPlacementRejects();
    void initialPlacementIsBalanced();
    void split_data();
    void split();
    void splitRejects_data();
    void splitRejects();
    void merge();
    void mergeRejects_data();
    void mergeRejects();
    void reassign();
    void reassignPromotesAReplica();
    void reassignWithReplicas();
    void reassignRejects_data();
    void reassignRejects();
    void hostAddedMovesAboutOneOverHPlusOne_data();
    void hostAddedMovesAboutOneOverHPlusOne();
    void hostRemovedMovesOnlyItsShards_data();
    void hostRemovedMovesOnlyItsShards();
    void hostChangesReject_data();
    void hostChangesReject();
    void hostChurnKeepsInvariants();
    void nextFreeShardId();
    void describeListsEveryShard();
};

// --- Lookup ---

void TestOwnershipTable::lookupAgreesWithLinearScan_data() {
    QTest::addColumn<QByteArray>("alphabet");
    QTest::addColumn<quint64>("seed");
    // Small alphabets and short keys make split keys prefixes of each other; the binary one has
    // NUL and bytes >= 0x80, which must sort as unsigned.
    QTest::newRow("text") << QByteArray("abc") << quint64(1);
    QTest::newRow("binary") << QByteArray("\x00\x01\x7f\x80\xff", 5) << quint64(2);
    QTest::newRow("two letters") << QByteArray("ab") << quint64(3);
    QTest::newRow("mixed") << QByteArray("\x00z0\xfe", 4) << quint64(4);
}

void TestOwnershipTable::lookupAgreesWithLinearScan() {
    QFETCH(QByteArray, alphabet);
    QFETCH(quint64, seed);
    TestRng rng(seed);
    const auto randomKey = [&](std::size_t maxLength) {
        Key key(1 + rng.below(maxLength), '\0');
        for (char& c : key)
            c = alphabet[static_cast<qsizetype>(
                rng.below(static_cast<std::size_t>(alphabet.size())))];
        return key;
    };

    for (int round = 0; round < 60; ++round) {
        Keys splits;
        const std::size_t wanted = rng.below(40);
        for (std::size_t i = 0; i < wanted; ++i)
            splits.push_back(randomKey(4));
        std::sort(splits.begin(), splits.end());
        splits.erase(std::unique(splits.begin(), splits.end()), splits.end());
        auto built = OwnershipTable::withInitialPlacement(splits, numberedHosts(3));
        QVERIFY2(built.ok(), built.ok() ? "" : built.error().message.c_str());
        const OwnershipTable& table = built.value();
        QCOMPARE(table.shardCount(), splits.size() + 1);
        QCOMPARE(table.splitKeys(), splits);

        Keys probes{Key(), Key(8, '\xff')};
        for (const Key& split : splits) {
            probes.push_back(split);
            probes.push_back(split + '\0');
            probes.push_back(split.substr(0, split.size() - 1));
            probes.push_back(split + '\xff');
        }
        for (int i = 0; i < 100; ++i)
            probes.push_back(randomKey(6));

        for (const Key& probe : probes) {
            int matches = 0;
            const std::size_t expected = linearIndexOf(table, probe, matches);
            QCOMPARE(matches, 1);
            QCOMPARE(table.indexOf(probe), expected);
            QVERIFY(table.shardFor(probe).range.contains(probe));
        }
    }
}

void TestOwnershipTable::lookupAtBoundaries() {
    const OwnershipTable table = threeShards();
    QCOMPARE(table.shardFor("").id, ShardId{10});
    QCOMPARE(table.shardFor("f\xff\xff").id, ShardId{10});
    QCOMPARE(table.shardFor("g").id, ShardId{20}); // a split key belongs to the shard it starts
    QCOMPARE(table.shardFor(std::string_view("g\0", 2)).id, ShardId{20});
    QCOMPARE(table.shardFor("p").id, ShardId{30});
    QCOMPARE(table.shardFor("\xff\xff\xff").id, ShardId{30});
    QCOMPARE(table.indexOf("o"), std::size_t{1});
}

void TestOwnershipTable::shardById() {
    const OwnershipTable table = threeShards();
    QVERIFY(table.shardById(20) != nullptr);
    QCOMPARE(table.shardById(20)->range, (KeyRange{"g", "p"}));
    QCOMPARE(table.shardById(30)->owner, HostId("c"));
    QVERIFY(table.shardById(0) == nullptr);
    QVERIFY(table.shardById(25) == nullptr);
    QVERIFY(table.shardById(std::numeric_limits<ShardId>::max()) == nullptr);
}

// --- create() ---

void TestOwnershipTable::createAcceptsValidTables() {
    auto whole = OwnershipTable::create({{7, {"", ""}, "solo", {}}}, 0);
    QVERIFY(whole.ok());
    QCOMPARE(whole->shardCount(), std::size_t{1});
    QCOMPARE(whole->epoch(), std::uint64_t{0});
    QCOMPARE(whole->hosts(), Hosts{"solo"});
    QCOMPARE(whole->shardFor("anything").id, ShardId{7});

    // Without explicit placement hosts, they are the sorted distinct owners and replicas.
    auto derived =
        OwnershipTable::create({{3, {"", "m"}, "z", {"b", "a"}}, {1, {"m", ""}, "b", {}}}, 42);
    QVERIFY(derived.ok());
    QCOMPARE(derived->epoch(), std::uint64_t{42});
    QCOMPARE(derived->placementHosts(), (Hosts{"a", "b", "z"}));
    QCOMPARE(derived->shards()[0].replicas, (Hosts{"b", "a"}));

    // Explicit placement order is kept; an idle host is still a host.
    const OwnershipTable table = threeShards();
    QCOMPARE(table.placementHosts(), (Hosts{"a", "b", "c", "d"}));
    QCOMPARE(table.hosts(), (Hosts{"a", "b", "c", "d"}));
    QVERIFY(table.hasHost("d"));
    QVERIFY(!table.hasHost("e"));
    QCOMPARE(invariantViolation(table), QString());
}

void TestOwnershipTable::createRejects_data() {
    QTest::addColumn<Shards>("shards");
    QTest::addColumn<Hosts>("placementHosts");
    QTest::addColumn<QStringList>("fragments"); // all must appear in the error message

    const Hosts derive;
    QTest::newRow("no shards") << Shards{} << derive << QStringList{QStringLiteral("at least one")};
    QTest::newRow("first not at empty key")
        << Shards{{1, {"a", "m"}, "h", {}}, {2, {"m", ""}, "h", {}}} << derive
        << QStringList{QStringLiteral("shard 1"), QStringLiteral("empty key")};
    QTest::newRow("gap") << Shards{{1, {"", "m"}, "h", {}}, {2, {"n", ""}, "h", {}}} << derive
                         << QStringList{QStringLiteral("gap"), QStringLiteral("shard 1"),
                                        QStringLiteral("shard 2")};
    QTest::newRow("overlap") << Shards{{1, {"", "m"}, "h", {}}, {2, {"k", ""}, "h", {}}} << derive
                             << QStringList{QStringLiteral("overlap"), QStringLiteral("shard 2")};
    QTest::newRow("unsorted")
        << Shards{{1, {"", "f"}, "h", {}}, {3, {"p", ""}, "h", {}}, {2, {"f", "p"}, "h", {}}}
        << derive << QStringList{QStringLiteral("shard 3"), QStringLiteral("key order")};
    QTest::newRow("last bounded") << Shards{{1, {"", "m"}, "h", {}}, {2, {"m", "z"}, "h", {}}}
                                  << derive
                                  << QStringList{QStringLiteral("shard 2"),
                                                 QStringLiteral("unbounded above")};
    QTest::newRow("unbounded in the middle")
        << Shards{{1, {"", ""}, "h", {}}, {2, {"m", ""}, "h", {}}} << derive
        << QStringList{QStringLiteral("shard 1"), QStringLiteral("not the last")};
    QTest::newRow("empty range")
        << Shards{{1, {"", "m"}, "h", {}}, {2, {"m", "m"}, "h", {}}, {3, {"m", ""}, "h", {}}}
        << derive << QStringList{QStringLiteral("shard 2"), QStringLiteral("empty or inverted")};
    QTest::newRow("inverted range")
        << Shards{{1, {"", "m"}, "h", {}}, {2, {"m", "c"}, "h", {}}, {3, {"c", ""}, "h", {}}}
        << derive << QStringList{QStringLiteral("shard 2"), QStringLiteral("empty or inverted")};
    QTest::newRow("duplicate id") << Shards{{4, {"", "m"}, "h", {}}, {4, {"m", ""}, "h", {}}}
                                  << derive
                                  << QStringList{QStringLiteral("shard id 4"),
                                                 QStringLiteral("twice")};
    QTest::newRow("no owner") << Shards{{1, {"", "m"}, "h", {}}, {2, {"m", ""}, "", {}}} << derive
                              << QStringList{QStringLiteral("shard 2"), QStringLiteral("no owner")};
    QTest::newRow("replica is owner")
        << Shards{{1, {"", ""}, "h", {"x", "h"}}} << derive
        << QStringList{QStringLiteral("shard 1"), QStringLiteral("also its owner")};
    QTest::newRow("replica twice")
        << Shards{{1, {"", ""}, "h", {"x", "x"}}} << derive
        << QStringList{QStringLiteral("shard 1"), QStringLiteral("listed twice")};
    QTest::newRow("empty replica")
        << Shards{{1, {"", ""}, "h", {""}}} << derive
        << QStringList{QStringLiteral("shard 1"), QStringLiteral("empty host name")};
    QTest::newRow("owner not a placement host")
        << Shards{{1, {"", ""}, "h", {}}} << Hosts{"a", "b"}
        << QStringList{QStringLiteral("shard 1"), QStringLiteral("not one of the table's hosts")};
    QTest::newRow("replica not a placement host")
        << Shards{{1, {"", ""}, "a", {"q"}}} << Hosts{"a", "b"}
        << QStringList{QStringLiteral("\"q\""), QStringLiteral("not one of the table's hosts")};
    QTest::newRow("placement host twice")
        << Shards{{1, {"", ""}, "a", {}}} << Hosts{"a", "b", "a"}
        << QStringList{QStringLiteral("\"a\""), QStringLiteral("listed twice")};
    QTest::newRow("empty placement host") << Shards{{1, {"", ""}, "a", {}}} << Hosts{"a", ""}
                                          << QStringList{QStringLiteral("empty name")};
}

void TestOwnershipTable::createRejects() {
    QFETCH(Shards, shards);
    QFETCH(Hosts, placementHosts);
    QFETCH(QStringList, fragments);
    const auto table = OwnershipTable::create(shards, 1, placementHosts);
    QVERIFY(!table.ok());
    const QString message = toQString(table.error().message);
    for (const QString& fragment : fragments)
        QVERIFY2(message.contains(fragment), qPrintable(message));
}

// --- Initial placement ---

void TestOwnershipTable::initialPlacementFollowsJumpHash() {
    const Hosts hosts{"n1", "n2", "n3", "n4", "n5"};
    auto built = OwnershipTable::withInitialPlacement({"d", "h", "q", "t"}, hosts, 2);
    QVERIFY(built.ok());
    const OwnershipTable& table = built.value();
    QCOMPARE(table.epoch(), std::uint64_t{1});
    QCOMPARE(table.shardCount(), std::size_t{5});
    QCOMPARE(table.placementHosts(), hosts);
    const std::vector<KeyRange> ranges{{"", "d"}, {"d", "h"}, {"h", "q"}, {"q", "t"}, {"t", ""}};
    for (std::size_t i = 0; i < ranges.size(); ++i) {
        const Shard& shard = table.shards()[i];
        QCOMPARE(shard.id, ShardId(i + 1));
        QCOMPARE(shard.range, ranges[i]);
        const auto bucket = static_cast<std::size_t>(jumpConsistentHash(mix64(shard.id), 5));
        QCOMPARE(shard.owner, hosts[bucket]);
        QCOMPARE(shard.replicas, (Hosts{hosts[(bucket + 1) % 5], hosts[(bucket + 2) % 5]}));
    }
    QCOMPARE(invariantViolation(table), QString());

    auto noSplits = OwnershipTable::withInitialPlacement({}, {"only"});
    QVERIFY(noSplits.ok());
    QCOMPARE(noSplits->shardCount(), std::size_t{1});
    QCOMPARE(noSplits->shards()[0].range, (KeyRange{"", ""}));
}

void TestOwnershipTable::initialPlacementRejects_data() {
    QTest::addColumn<Keys>("splits");
    QTest::addColumn<Hosts>("hosts");
    QTest::addColumn<int>("replicas");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("no hosts") << Keys{"m"} << Hosts{} << 0 << QStringLiteral("at least one host");
    QTest::newRow("negative replicas")
        << Keys{"m"} << Hosts{"a"} << -1 << QStringLiteral("negative");
    QTest::newRow("replicas need more hosts")
        << Keys{"m"} << Hosts{"a", "b"} << 2 << QStringLiteral("need at least 3 hosts");
    QTest::newRow("duplicate host")
        << Keys{"m"} << Hosts{"a", "b", "a"} << 0 << QStringLiteral("listed twice");
    QTest::newRow("empty host") << Keys{"m"} << Hosts{"a", ""} << 0 << QStringLiteral("empty name");
    QTest::newRow("empty split key")
        << Keys{"", "m"} << Hosts{"a"} << 0 << QStringLiteral("split key #0 is the empty key");
    QTest::newRow("unsorted splits")
        << Keys{"m", "c"} << Hosts{"a"} << 0 << QStringLiteral("strictly increasing");
    QTest::newRow("repeated split")
        << Keys{"c", "m", "m"} << Hosts{"a"} << 0 << QStringLiteral("#2");
}

void TestOwnershipTable::initialPlacementRejects() {
    QFETCH(Keys, splits);
    QFETCH(Hosts, hosts);
    QFETCH(int, replicas);
    QFETCH(QString, fragment);
    const auto table = OwnershipTable::withInitialPlacement(splits, hosts, replicas);
    QVERIFY(!table.ok());
    QVERIFY2(toQString(table.error().message).contains(fragment), table.error().message.c_str());
}

// 10,000 shards on 8 hosts: each host's count is binomial(10000, 1/8), mean 1250, sd 33. A
// tolerance of 5 sd (±165, ±13%) is never hit by a uniform placement yet catches a host with a
// double or half share. Replicas sit on the next hosts, so their counts balance the same way.
void TestOwnershipTable::initialPlacementIsBalanced() {
    constexpr int kShards = 10000;
    constexpr int kHosts = 8;
    auto built =
        OwnershipTable::withInitialPlacement(numberedSplitKeys(kShards), numberedHosts(kHosts), 1);
    QVERIFY(built.ok());
    std::map<HostId, int> owned;
    std::map<HostId, int> replicated;
    for (const Shard& shard : built->shards()) {
        ++owned[shard.owner];
        ++replicated[shard.replicas.at(0)];
    }
    const double mean = double(kShards) / kHosts;
    const double tolerance = 5.0 * std::sqrt(kShards * (1.0 / kHosts) * (1.0 - 1.0 / kHosts));
    QCOMPARE(owned.size(), std::size_t{kHosts});
    for (const auto& [host, count] : owned)
        QVERIFY2(std::abs(count - mean) <= tolerance,
                 qPrintable(QStringLiteral("%1 owns %2").arg(toQString(host)).arg(count)));
    for (const auto& [host, count] : replicated)
        QVERIFY2(std::abs(count - mean) <= tolerance,
                 qPrintable(QStringLiteral("%1 replicates %2").arg(toQString(host)).arg(count)));
}

// --- split / merge / reassign ---

void TestOwnershipTable::split_data() {
    QTest::addColumn<quint64>("shard");
    QTest::addColumn<QByteArray>("at");
    QTest::addColumn<KeyRange>("left");
    QTest::addColumn<KeyRange>("right");
    QTest::newRow("first shard") << quint64(10) << QByteArray("c") << KeyRange{"", "c"}
                                 << KeyRange{"c", "g"};
    QTest::newRow("middle shard") << quint64(20) << QByteArray("k") << KeyRange{"g", "k"}
                                  << KeyRange{"k", "p"};
    QTest::newRow("just above start")
        << quint64(20) << QByteArray("g\0", 2) << KeyRange{"g", Key("g\0", 2)}
        << KeyRange{Key("g\0", 2), "p"};
    QTest::newRow("last shard, unbounded") << quint64(30) << QByteArray("\xff\xff")
                                           << KeyRange{"p", "\xff\xff"} << KeyRange{"\xff\xff", ""};
}

void TestOwnershipTable::split() {
    QFETCH(quint64, shard);
    QFETCH(QByteArray, at);
    QFETCH(KeyRange, left);
    QFETCH(KeyRange, right);
    const OwnershipTable before = threeShards();
    const OwnershipTable copy = before;
    const ShardId newId = before.nextFreeShardId();
    QCOMPARE(newId, ShardId{31});

    auto after = before.split(shard, at.toStdString(), newId);
    QVERIFY2(after.ok(), after.ok() ? "" : after.error().message.c_str());
    QVERIFY(before == copy);
    QCOMPARE(after->epoch(), before.epoch() + 1);
    QCOMPARE(after->shardCount(), before.shardCount() + 1);
    QCOMPARE(after->shardById(shard)->range, left);
    QCOMPARE(after->shardById(newId)->range, right);
    QCOMPARE(after->shardById(newId)->owner, before.shardById(shard)->owner);
    QCOMPARE(after->shardById(newId)->replicas, before.shardById(shard)->replicas);
    QCOMPARE(after->shardFor(right.start).id, newId);
    QCOMPARE(invariantViolation(after.value()), QString());
    QCOMPARE(after->placementHosts(), before.placementHosts());
}

void TestOwnershipTable::splitRejects_data() {
    QTest::addColumn<quint64>("shard");
    QTest::addColumn<QByteArray>("at");
    QTest::addColumn<quint64>("newId");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("unknown shard")
        << quint64(99) << QByteArray("k") << quint64(40) << QStringLiteral("unknown shard id 99");
    QTest::newRow("at the start") << quint64(20) << QByteArray("g") << quint64(40)
                                  << QStringLiteral("greater than the shard's start");
    QTest::newRow("first shard at empty key") << quint64(10) << QByteArray() << quint64(40)
                                              << QStringLiteral("greater than the shard's start");
    QTest::newRow("below the start") << quint64(20) << QByteArray("a") << quint64(40)
                                     << QStringLiteral("greater than the shard's start");
    QTest::newRow("at the end") << quint64(20) << QByteArray("p") << quint64(40)
                                << QStringLiteral("less than the shard's end");
    QTest::newRow("beyond the end") << quint64(10) << QByteArray("z") << quint64(40)
                                    << QStringLiteral("less than the shard's end");
    QTest::newRow("id in use") << quint64(20) << QByteArray("k") << quint64(30)
                               << QStringLiteral("already used by shard 30");
}

void TestOwnershipTable::splitRejects() {
    QFETCH(quint64, shard);
    QFETCH(QByteArray, at);
    QFETCH(quint64, newId);
    QFETCH(QString, fragment);
    const auto result = threeShards().split(shard, at.toStdString(), newId);
    QVERIFY(!result.ok());
    QVERIFY2(toQString(result.error().message).contains(fragment), result.error().message.c_str());
}

void TestOwnershipTable::merge() {
    const OwnershipTable before = threeShards();
    const OwnershipTable copy = before;
    auto after = before.merge(20, 30);
    QVERIFY(after.ok());
    QVERIFY(before == copy);
    QCOMPARE(after->epoch(), before.epoch() + 1);
    QCOMPARE(after->shardCount(), std::size_t{2});
    QVERIFY(after->shardById(30) == nullptr);
    const Shard* merged = after->shardById(20);
    QCOMPARE(merged->range, (KeyRange{"g", ""}));
    QCOMPARE(merged->owner, HostId("b"));
    QCOMPARE(merged->replicas, Hosts{"c"});
    QCOMPARE(after->shardFor("zzz").id, ShardId{20});
    QCOMPARE(invariantViolation(after.value()), QString());

    // Split then merge gives back the same shards, two epochs later.
    auto roundTrip = before.split(10, "c", 77).value().merge(10, 77);
    QVERIFY(roundTrip.ok());
    QCOMPARE(roundTrip->shards(), before.shards());
    QCOMPARE(roundTrip->epoch(), before.epoch() + 2);
}

void TestOwnershipTable::mergeRejects_data() {
    QTest::addColumn<quint64>("left");
    QTest::addColumn<quint64>("right");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("unknown left") << quint64(11) << quint64(20)
                                  << QStringLiteral("unknown shard id 11");
    QTest::newRow("unknown right")
        << quint64(10) << quint64(21) << QStringLiteral("unknown shard id 21");
    QTest::newRow("itself") << quint64(20) << quint64(20) << QStringLiteral("with itself");
    QTest::newRow("not adjacent") << quint64(10) << quint64(30) << QStringLiteral("not adjacent");
    QTest::newRow("reversed") << quint64(20) << quint64(10)
                              << QStringLiteral("pass shard 10 as the left one");
}

void TestOwnershipTable::mergeRejects() {
    QFETCH(quint64, left);
    QFETCH(quint64, right);
    QFETCH(QString, fragment);
    const auto result = threeShards().merge(left, right);
    QVERIFY(!result.ok());
    QVERIFY2(toQString(result.error().message).contains(fragment), result.error().message.c_str());
}

void TestOwnershipTable::reassign() {
    const OwnershipTable before = threeShards();
    const OwnershipTable copy = before;
    auto after = before.reassign(20, "d");
    QVERIFY(after.ok());
    QVERIFY(before == copy);
    QCOMPARE(after->epoch(), before.epoch() + 1);
    QCOMPARE(after->shardById(20)->owner, HostId("d"));
    QCOMPARE(after->shardById(20)->replicas, Hosts{"c"});
    QCOMPARE(after->shardById(10)->owner, HostId("a"));
    QCOMPARE(after->shardById(30)->owner, HostId("c"));
    QCOMPARE(invariantViolation(after.value()), QString());
}

void TestOwnershipTable::reassignPromotesAReplica() {
    auto after = threeShards().reassign(10, "b");
    QVERIFY(after.ok());
    QCOMPARE(after->shardById(10)->owner, HostId("b"));
    QCOMPARE(after->shardById(10)->replicas, Hosts{"a"});
    QCOMPARE(invariantViolation(after.value()), QString());
}

void TestOwnershipTable::reassignWithReplicas() {
    const OwnershipTable before = threeShards();
    auto after = before.reassign(30, "c", {"d", "b"});
    QVERIFY(after.ok());
    QCOMPARE(after->epoch(), before.epoch() + 1);
    QCOMPARE(after->shardById(30)->owner, HostId("c"));
    QCOMPARE(after->shardById(30)->replicas, (Hosts{"d", "b"}));
    auto dropped = before.reassign(30, "a", {});
    QVERIFY(dropped.ok());
    QVERIFY(dropped->shardById(30)->replicas.empty());
}

void TestOwnershipTable::reassignRejects_data() {
    QTest::addColumn<quint64>("shard");
    QTest::addColumn<QByteArray>("owner");
    QTest::addColumn<bool>("withReplicas");
    QTest::addColumn<Hosts>("replicas");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("unknown shard") << quint64(1) << QByteArray("a") << false << Hosts{}
                                   << QStringLiteral("unknown shard id 1");
    QTest::newRow("unknown host") << quint64(10) << QByteArray("x") << false << Hosts{}
                                  << QStringLiteral("unknown host \"x\"");
    QTest::newRow("same owner") << quint64(10) << QByteArray("a") << false << Hosts{}
                                << QStringLiteral("already owned by \"a\"");
    QTest::newRow("unknown replica host") << quint64(10) << QByteArray("b") << true << Hosts{"y"}
                                          << QStringLiteral("unknown host \"y\"");
    QTest::newRow("replica equals owner")
        << quint64(10) << QByteArray("b") << true << Hosts{"b"} << QStringLiteral("also its owner");
    QTest::newRow("replica twice") << quint64(10) << QByteArray("b") << true << Hosts{"c", "c"}
                                   << QStringLiteral("listed twice");
    QTest::newRow("no change") << quint64(10) << QByteArray("a") << true << Hosts{"b"}
                               << QStringLiteral("already has this owner");
}

void TestOwnershipTable::reassignRejects() {
    QFETCH(quint64, shard);
    QFETCH(QByteArray, owner);
    QFETCH(bool, withReplicas);
    QFETCH(Hosts, replicas);
    QFETCH(QString, fragment);
    const OwnershipTable table = threeShards();
    const auto result = withReplicas ? table.reassign(shard, owner.toStdString(), replicas)
                                     : table.reassign(shard, owner.toStdString());
    QVERIFY(!result.ok());
    QVERIFY2(toQString(result.error().message).contains(fragment), result.error().message.c_str());
}

// --- Hosts joining and leaving ---

// Owners move to the new host iff jump(mix64(id), H + 1) == H: a binomial(10000, 1/(H+1))
// count. The tolerance is 5 standard deviations (e.g. ±217 of 2500 for H = 3, ±69 of 196 for
// H = 50): a correct hash never leaves it, while moving twice or half the share fails clearly.
void TestOwnershipTable::hostAddedMovesAboutOneOverHPlusOne_data() {
    QTest::addColumn<int>("hostCount");
    for (const int hosts : {3, 8, 16, 50})
        QTest::addRow("%d hosts", hosts) << hosts;
}

void TestOwnershipTable::hostAddedMovesAboutOneOverHPlusOne() {
    QFETCH(int, hostCount);
    constexpr int kShards = 10000;
    constexpr int kReplicas = 2;
    const OwnershipTable before =
        OwnershipTable::withInitialPlacement(numberedSplitKeys(kShards), numberedHosts(hostCount),
                                             kReplicas)
            .value();
    const OwnershipTable copy = before;
    auto after = before.withHostAdded("newcomer");
    QVERIFY2(after.ok(), after.ok() ? "" : after.error().message.c_str());
    QVERIFY(before == copy);
    QCOMPARE(after->epoch(), before.epoch() + 1);
    QCOMPARE(after->placementHosts().back(), HostId("newcomer"));
    QCOMPARE(after->placementHosts().size(), std::size_t(hostCount + 1));
    QCOMPARE(invariantViolation(after.value()), QString());

    int ownersMoved = 0;
    int replicaRolesTaken = 0;
    for (std::size_t i = 0; i < before.shardCount(); ++i) {
        const Shard& old = before.shards()[i];
        const Shard& now = after->shards()[i];
        QCOMPARE(now.id, old.id);
        QCOMPARE(now.range, old.range);
        QCOMPARE(now.replicas.size(), old.replicas.size());
        const bool shouldMove = jumpConsistentHash(mix64(old.id), hostCount + 1) == hostCount;
        if (now.owner != old.owner) {
            ++ownersMoved;
            QCOMPARE(now.owner, HostId("newcomer"));
        }
        QCOMPARE(now.owner != old.owner, shouldMove);
        int rolesChanged = now.owner != old.owner ? 1 : 0;
        for (std::size_t r = 0; r < old.replicas.size(); ++r) {
            if (now.replicas[r] != old.replicas[r]) {
                ++rolesChanged;
                ++replicaRolesTaken;
                QCOMPARE(now.replicas[r], HostId("newcomer"));
            }
        }
        QVERIFY(rolesChanged <= 1);
    }

    const double p = 1.0 / (hostCount + 1);
    const double expected = kShards * p;
    const double tolerance = 5.0 * std::sqrt(kShards * p * (1.0 - p));
    QVERIFY2(std::abs(ownersMoved - expected) <= tolerance,
             qPrintable(QStringLiteral("%1 owners moved, expected %2 ± %3")
                            .arg(ownersMoved)
                            .arg(expected)
                            .arg(tolerance)));
    // The newcomer also takes its share of replica roles (slightly under 2/(H+1), since a shard
    // whose owner moved keeps its replicas): at least half of that share.
    QVERIFY2(replicaRolesTaken >= kReplicas * expected / 2,
             qPrintable(QString::number(replicaRolesTaken)));
}

void TestOwnershipTable::hostRemovedMovesOnlyItsShards_data() {
    QTest::addColumn<int>("hostCount");
    QTest::addColumn<int>("replicas");
    QTest::addColumn<int>("removed");
    QTest::newRow("3 hosts, remove first") << 3 << 1 << 0;
    QTest::newRow("8 hosts, remove middle") << 8 << 2 << 4;
    QTest::newRow("16 hosts, remove last") << 16 << 2 << 15;
    QTest::newRow("50 hosts") << 50 << 2 << 17;
}

void TestOwnershipTable::hostRemovedMovesOnlyItsShards() {
    QFETCH(int, hostCount);
    QFETCH(int, replicas);
    QFETCH(int, removed);
    constexpr int kShards = 10000;
    const Hosts hosts = numberedHosts(hostCount);
    const HostId gone = hosts[static_cast<std::size_t>(removed)];
    const OwnershipTable before =
        OwnershipTable::withInitialPlacement(numberedSplitKeys(kShards), hosts, replicas).value();
    auto after = before.withHostRemoved(gone);
    QVERIFY2(after.ok(), after.ok() ? "" : after.error().message.c_str());
    QCOMPARE(after->epoch(), before.epoch() + 1);
    QVERIFY(!after->hasHost(gone));
    Hosts expectedOrder = hosts;
    expectedOrder.erase(expectedOrder.begin() + removed);
    QCOMPARE(after->placementHosts(), expectedOrder);
    QCOMPARE(invariantViolation(after.value()), QString());

    std::map<HostId, int> heirs;
    std::map<HostId, int> ownerHeirs;
    int shardsServed = 0;
    int ownedByGone = 0;
    for (std::size_t i = 0; i < before.shardCount(); ++i) {
        const Shard& old = before.shards()[i];
        const Shard& now = after->shards()[i];
        QCOMPARE(now.range, old.range);
        if (old.owner != gone &&
            std::find(old.replicas.begin(), old.replicas.end(), gone) == old.replicas.end()) {
            QCOMPARE(now, old); // untouched
            continue;
        }
        ++shardsServed;
        QCOMPARE(now.replicas.size(), old.replicas.size());
        if (old.owner == gone) {
            ++ownedByGone;
            ++heirs[now.owner];
            ++ownerHeirs[now.owner];
        } else
            QCOMPARE(now.owner, old.owner);
        for (std::size_t r = 0; r < old.replicas.size(); ++r) {
            if (old.replicas[r] == gone)
                ++heirs[now.replicas[r]];
            else
                QCOMPARE(now.replicas[r], old.replicas[r]);
        }
    }
    // Each host serves about (1 + replicas)/H of the shards: hundreds here, enough that jump
    // hash hands some of them to every remaining host.
    QVERIFY(shardsServed > 0);
    QCOMPARE(heirs.size(), expectedOrder.size());
    // ...and evenly: a shard's role can go to any of at least H - 1 - replicas free hosts, so no
    // host should get much more than that share. Twice the share plus 10 leaves room for
    // binomial noise (shares of 4 to 600 here) but not for piling everything onto a neighbour.
    const double freeHosts = hostCount - 1 - replicas;
    int rolesMoved = 0;
    for (const auto& [host, count] : heirs)
        rolesMoved += count;
    for (const auto& [host, count] : heirs)
        QVERIFY2(count <= 2.0 * rolesMoved / freeHosts + 10,
                 qPrintable(QStringLiteral("%1 took %2 of %3 roles")
                                .arg(toQString(host))
                                .arg(count)
                                .arg(rolesMoved)));
    for (const auto& [host, count] : ownerHeirs)
        QVERIFY2(count <= 2.0 * ownedByGone / freeHosts + 10,
                 qPrintable(QStringLiteral("%1 took %2 of %3 owned shards")
                                .arg(toQString(host))
                                .arg(count)
                                .arg(ownedByGone)));
}

void TestOwnershipTable::hostChangesReject_data() {
    QTest::addColumn<bool>("add");
    QTest::addColumn<QByteArray>("host");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("add duplicate") << true << QByteArray("b") << QStringLiteral("already in");
    QTest::newRow("add idle duplicate") << true << QByteArray("d") << QStringLiteral("already in");
    QTest::newRow("add empty name") << true << QByteArray() << QStringLiteral("empty name");
    QTest::newRow("remove unknown")
        << false << QByteArray("zz") << QStringLiteral("unknown host \"zz\"");
}

void TestOwnershipTable::hostChangesReject() {
    QFETCH(bool, add);
    QFETCH(QByteArray, host);
    QFETCH(QString, fragment);
    const OwnershipTable table = threeShards();
    const auto result =
        add ? table.withHostAdded(host.toStdString()) : table.withHostRemoved(host.toStdString());
    QVERIFY(!result.ok());
    QVERIFY2(toQString(result.error().message).contains(fragment), result.error().message.c_str());

    // The last host cannot go; nor can a host whose shards would lack distinct replica hosts.
    const auto single = OwnershipTable::withInitialPlacement({"m"}, {"only"}).value();
    const auto last = single.withHostRemoved("only");
    QVERIFY(!last.ok());
    QVERIFY(toQString(last.error().message).contains(QStringLiteral("last host")));
    const auto tight = OwnershipTable::withInitialPlacement({"m"}, {"a", "b", "c"}, 2).value();
    const auto crowded = tight.withHostRemoved("b");
    QVERIFY(!crowded.ok());
    QVERIFY2(toQString(crowded.error().message).contains(QStringLiteral("needs 3 distinct hosts")),
             crowded.error().message.c_str());
}

// Many joins and departures in a row: every step bumps the epoch by one, keeps the invariants,
// and touches only what it must (joins: only roles taken by the newcomer).
void TestOwnershipTable::hostChurnKeepsInvariants() {
    TestRng rng(99);
    OwnershipTable table =
        OwnershipTable::withInitialPlacement(numberedSplitKeys(2000), numberedHosts(5), 2).value();
    int nextHost = 0;
    for (int step = 0; step < 40; ++step) {
        const bool join = table.placementHosts().size() <= 4 || rng.below(2) == 0;
        const std::uint64_t epochBefore = table.epoch();
        Result<OwnershipTable> next = Error{};
        if (join) {
            const HostId host = "joiner-" + std::to_string(nextHost++);
            next = table.withHostAdded(host);
            QVERIFY(next.ok());
            for (std::size_t i = 0; i < table.shardCount(); ++i) {
                const Shard& old = table.shards()[i];
                const Shard& now = next->shards()[i];
                QVERIFY(now.owner == old.owner || now.owner == host);
                for (std::size_t r = 0; r < old.replicas.size(); ++r)
                    QVERIFY(now.replicas[r] == old.replicas[r] || now.replicas[r] == host);
            }
        } else {
            const Hosts& current = table.placementHosts();
            next = table.withHostRemoved(current[rng.below(current.size())]);
            QVERIFY2(next.ok(), next.ok() ? "" : next.error().message.c_str());
        }
        QCOMPARE(next->epoch(), epochBefore + 1);
        QCOMPARE(invariantViolation(next.value()), QString());
        // An independent re-validation of the same content must accept it.
        QVERIFY(OwnershipTable::create(next->shards(), next->epoch(), next->placementHosts()).ok());
        table = std::move(next).value();
    }
}

void TestOwnershipTable::nextFreeShardId() {
    const auto placed =
        OwnershipTable::withInitialPlacement(numberedSplitKeys(10), numberedHosts(2)).value();
    QCOMPARE(placed.nextFreeShardId(), ShardId{11});
    constexpr ShardId kMax = std::numeric_limits<ShardId>::max();
    const auto crowded =
        OwnershipTable::create(
            {{0, {"", "b"}, "h", {}}, {1, {"b", "c"}, "h", {}}, {kMax, {"c", ""}, "h", {}}}, 1)
            .value();
    QCOMPARE(crowded.nextFreeShardId(), ShardId{2});
}

void TestOwnershipTable::describeListsEveryShard() {
    const std::string text = describe(threeShards());
    const QString described = toQString(text);
    QVERIFY2(described.startsWith(QStringLiteral("epoch 5: 3 shards on 4 hosts (a, b, c, d)")),
             text.c_str());
    QVERIFY2(described.contains(QStringLiteral("shard 10 [, g) owner a replicas b")), text.c_str());
    QVERIFY2(described.contains(QStringLiteral("shard 30 [p, +inf) owner c replicas a")),
             text.c_str());
    QCOMPARE(described.count(QLatin1Char('\n')), 4);
}

QTEST_APPLESS_MAIN(TestOwnershipTable)
#include "tst_ownership_table.moc"
