// rangepilot-node end to end: real node processes on loopback ports, driven over gRPC as the
// protocol (proto/rangepilot/v1/node.proto) says they behave: tokens, epochs, ownership, limits,
// versioned deletes, scans that stop at shard ends, durability across SIGTERM and kill -9, table
// adoption after a restart, statistics, peers and TLS.
//
// The stateless checks share one two-node cluster started in initTestCase (its table: ["", g) and
// [g, p) on n1, [p, +inf) on n2); tests that restart or kill nodes start their own.

#include "node_cluster.h"
#include "proto_convert.h"
#include "rpc_util.h"

#include <QtTest>

#include <functional>
#include <optional>
#include <string>

using namespace rangepilot;
using namespace rangepilot::e2e;

namespace {

constexpr const char* kToken = "e2e-token-0123";

#define VERIFY_OK(status)                                                                          \
    do {                                                                                           \
        const grpc::Status verified_ = (status);                                                   \
        QVERIFY2(verified_.ok(), describeStatus(verified_).c_str());                               \
    } while (false)

#define COMPARE_CODE(status, code)                                                                 \
    do {                                                                                           \
        const grpc::Status compared_ = (status);                                                   \
        QVERIFY2(compared_.error_code() == (code), describeStatus(compared_).c_str());             \
    } while (false)

OwnershipTable explicitTable(std::uint64_t epoch, const std::string& lowOwner,
                             const std::string& highOwner) {
    std::vector<Shard> shards{Shard{1, KeyRange{"", "g"}, lowOwner, {}},
                              Shard{2, KeyRange{"g", "p"}, lowOwner, {}},
                              Shard{3, KeyRange{"p", ""}, highOwner, {}}};
    return OwnershipTable::create(std::move(shards), epoch, {"n1", "n2"}).value();
}

// A value whose every byte depends on its position, so a truncated or shifted read shows.
std::string patternValue(std::size_t size) {
    std::string value(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        value[i] = static_cast<char>((i * 131 + i / 4099) & 0xff);
    return value;
}

std::string keyName(const char* prefix, int i) {
    return prefix + std::to_string(1000 + i);
}

// Every key of `keys` is on the cluster with the value "v-" + key.
bool allPresent(NodeCluster& cluster, const std::vector<std::string>& keys, QString* problem) {
    for (const std::string& key : keys) {
        v1::GetResponse reply;
        const grpc::Status status = cluster.get(key, &reply);
        if (!status.ok() || !reply.found() || reply.value() != "v-" + key) {
            *problem =
                QString::fromStdString(key + ": " + describeStatus(status) +
                                       (reply.found() ? " value " + reply.value() : " not found"));
            return false;
        }
    }
    return true;
}

std::vector<std::string> putMany(NodeCluster& cluster, int count, QString* problem) {
    std::vector<std::string> keys;
    for (int i = 0; i < count; ++i) {
        const std::string key = keyName(i % 2 == 0 ? "a" : "x", i);
        const grpc::Status status = cluster.put(key, "v-" + key);
        if (!status.ok()) {
            *problem = QString::fromStdString(key + ": " + describeStatus(status));
            return {};
        }
        keys.push_back(key); // acknowledged
    }
    return keys;
}

} // namespace

class TestNodeAgent : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void tokenGuardsMutationsNotReads();
    void epochMismatches();
    void keyNotOwned();
    void malformedRequests_data();
    void malformedRequests();
    void tenMegabyteValue();
    void deleteLeavesTombstone();
    void scanStopsAtShardEnd();
    void sampleKeys();
    void installTableRules();
    void watchStatsCountsCells();
    void nodeInfoShowsPeers();
    void sigtermKeepsWritesAndEpoch();
    void kill9KeepsAcknowledgedWrites();
    void restartAdoptsNewerEpochFromPeers();
    void startupErrors();
    void tls();

private:
    grpc::Status runMalformed(const QString& name);

    std::unique_ptr<NodeCluster> m_cluster;
};

void TestNodeAgent::initTestCase() {
    m_cluster = std::make_unique<NodeCluster>();
    NodeClusterOptions options;
    options.nodeCount = 2;
    options.installTable = false;
    options.token = QLatin1String(kToken);
    QVERIFY2(m_cluster->start(options), qPrintable(m_cluster->errorString()));
    VERIFY_OK(m_cluster->installTable(explicitTable(1, "n1", "n2")));
}

void TestNodeAgent::cleanupTestCase() {
    if (m_cluster) {
        for (int i = 0; i < m_cluster->size(); ++i)
            QVERIFY2(m_cluster->node(i).terminate(), qPrintable(m_cluster->node(i).errorString()));
    }
    m_cluster.reset();
}

void TestNodeAgent::tokenGuardsMutationsNotReads() {
    NodeCluster& cluster = *m_cluster;
    v1::PutRequest put;
    put.set_epoch(cluster.table().epoch());
    put.set_key("auth-key");
    put.set_value("v");
    v1::PutResponse putReply;
    COMPARE_CODE(cluster.call(0, &v1::NodeAgent::Stub::Put, put, &putReply, false),
                 grpc::StatusCode::UNAUTHENTICATED);

    auto wrong = cluster.context(false);
    addToken(*wrong, "not-the-token");
    COMPARE_CODE(cluster.stub(0).Put(wrong.get(), put, &putReply),
                 grpc::StatusCode::UNAUTHENTICATED);

    v1::AbortMigrationRequest abort;
    abort.set_migration_id(7);
    v1::MigrationStepResponse step;
    COMPARE_CODE(cluster.call(0, &v1::NodeAgent::Stub::AbortMigration, abort, &step, false),
                 grpc::StatusCode::UNAUTHENTICATED);
    v1::InstallTableRequest install;
    *install.mutable_table() = toProto(cluster.table());
    v1::InstallTableResponse installReply;
    COMPARE_CODE(cluster.call(0, &v1::NodeAgent::Stub::InstallTable, install, &installReply, false),
                 grpc::StatusCode::UNAUTHENTICATED);

    // Reads need no token, and the rejected Put stored nothing.
    v1::GetRequest get;
    get.set_epoch(cluster.table().epoch());
    get.set_key("auth-key");
    v1::GetResponse getReply;
    VERIFY_OK(cluster.call(0, &v1::NodeAgent::Stub::Get, get, &getReply, false));
    QVERIFY(!getReply.found());
    v1::NodeInfo info;
    VERIFY_OK(
        cluster.call(0, &v1::NodeAgent::Stub::GetNodeInfo, v1::NodeInfoRequest(), &info, false));
    QVERIFY(info.token_required());

    VERIFY_OK(cluster.call(0, &v1::NodeAgent::Stub::Put, put, &putReply));
    VERIFY_OK(cluster.call(0, &v1::NodeAgent::Stub::Get, get, &getReply, false));
    QVERIFY(getReply.found());
    QCOMPARE(getReply.value(), std::string("v"));
}

void TestNodeAgent::epochMismatches() {
    NodeCluster& cluster = *m_cluster;
    const std::uint64_t old = cluster.table().epoch();
    VERIFY_OK(cluster.installTable(explicitTable(old + 1, "n1", "n2")));
    const std::uint64_t current = old + 1;

    v1::GetRequest get;
    get.set_key("b");
    v1::GetResponse reply;
    get.set_epoch(old);
    const grpc::Status stale = cluster.call(0, &v1::NodeAgent::Stub::Get, get, &reply);
    COMPARE_CODE(stale, grpc::StatusCode::FAILED_PRECONDITION);
    QCOMPARE(QString::fromStdString(stale.error_message()),
             QStringLiteral("stale epoch %1: node n1 is at epoch %2").arg(old).arg(current));
    const std::optional<v1::EpochMismatch> details = epochMismatchOf(stale);
    QVERIFY2(details.has_value(), "no EpochMismatch in the error details");
    QCOMPARE(details->node_epoch(), current);
    QCOMPARE(details->request_epoch(), old);
    QCOMPARE(details->node_id(), std::string("n1"));

    // A client ahead of the node: retry later.
    get.set_epoch(current + 5);
    const grpc::Status ahead = cluster.call(0, &v1::NodeAgent::Stub::Get, get, &reply);
    COMPARE_CODE(ahead, grpc::StatusCode::UNAVAILABLE);
    QCOMPARE(QString::fromStdString(ahead.error_message()),
             QStringLiteral("node n1 is at epoch %1, behind %2").arg(current).arg(current + 5));

    // Writes obey the same rule.
    v1::PutRequest put;
    put.set_epoch(old);
    put.set_key("b");
    v1::PutResponse putReply;
    COMPARE_CODE(cluster.call(0, &v1::NodeAgent::Stub::Put, put, &putReply),
                 grpc::StatusCode::FAILED_PRECONDITION);
    get.set_epoch(current);
    VERIFY_OK(cluster.call(0, &v1::NodeAgent::Stub::Get, get, &reply));
}

void TestNodeAgent::keyNotOwned() {
    NodeCluster& cluster = *m_cluster;
    const std::uint64_t epoch = cluster.table().epoch();
    // "q" lies in [p, +inf), n2's shard: n1 refuses it, n2 serves it.
    v1::PutRequest put;
    put.set_epoch(epoch);
    put.set_key("q");
    put.set_value("owned by n2");
    v1::PutResponse reply;
    const grpc::Status refused = cluster.call(0, &v1::NodeAgent::Stub::Put, put, &reply);
    COMPARE_CODE(refused, grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY2(QString::fromStdString(refused.error_message()).contains(QLatin1String("not owned")),
             refused.error_message().c_str());
    const std::optional<v1::EpochMismatch> details = epochMismatchOf(refused);
    QVERIFY(details.has_value());
    QCOMPARE(details->node_epoch(), epoch);
    QCOMPARE(details->request_epoch(), epoch);

    v1::ScanRequest scan;
    scan.set_epoch(epoch);
    scan.mutable_range()->set_start("q");
    v1::ScanResponse scanReply;
    COMPARE_CODE(cluster.call(0, &v1::NodeAgent::Stub::Scan, scan, &scanReply),
                 grpc::StatusCode::FAILED_PRECONDITION);

    VERIFY_OK(cluster.call(1, &v1::NodeAgent::Stub::Put, put, &reply));
    QCOMPARE(reply.version().node(), std::string("n2"));
}

void TestNodeAgent::malformedRequests_data() {
    QTest::addColumn<QString>("request");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("message"); // a part of the message that must appear

    const int invalid = int(grpc::StatusCode::INVALID_ARGUMENT);
    const int exhausted = int(grpc::StatusCode::RESOURCE_EXHAUSTED);
    auto row = [](const char* request, int code, const char* message) {
        QTest::newRow(request) << QString(QLatin1String(request)) << code
                               << QString(QLatin1String(message));
    };
    row("get empty key", invalid, "GetRequest.key: empty");
    row("put empty key", invalid, "PutRequest.key: empty");
    row("delete empty key", invalid, "DeleteRequest.key: empty");
    row("scan end before start", invalid, "ScanRequest.range: end");
    row("scan limit too large", invalid, "ScanRequest.limit: 10001 is more than 10000");
    row("install table without shards", invalid, "InstallTableRequest.table");
    row("install table with a gap", invalid, "InstallTableRequest.table");
    row("install table epoch 0", invalid, "InstallTableRequest.table.epoch");
    row("install no table", invalid, "InstallTableRequest.table: missing");
    row("sample zero keys", invalid, "SampleKeysRequest.max_keys");
    row("watch interval too short", invalid, "WatchStatsRequest.interval_ms: 50 is outside");
    row("watch cells not increasing", invalid, "WatchStatsRequest");
    row("get key of 4097 bytes", exhausted, "GetRequest.key: 4097 bytes, more than 4096");
    row("put key of 4097 bytes", exhausted, "PutRequest.key: 4097 bytes, more than 4096");
    row("put value of 16 MiB + 1", exhausted,
        "PutRequest.value: 16777217 bytes, more than 16777216");
}

grpc::Status TestNodeAgent::runMalformed(const QString& name) {
    NodeCluster& cluster = *m_cluster;
    const std::uint64_t epoch = cluster.table().epoch();
    const std::string longKey = "b" + std::string(4096, 'k');
    if (name.startsWith(QLatin1String("get"))) {
        v1::GetRequest request;
        request.set_epoch(epoch);
        request.set_key(name.contains(QLatin1String("4097")) ? longKey : std::string());
        v1::GetResponse reply;
        return cluster.call(0, &v1::NodeAgent::Stub::Get, request, &reply);
    }
    if (name.startsWith(QLatin1String("put"))) {
        v1::PutRequest request;
        request.set_epoch(epoch);
        request.set_key(name.contains(QLatin1String("empty")) ? std::string()
                        : name.contains(QLatin1String("key")) ? longKey
                                                              : std::string("b-large"));
        if (name.contains(QLatin1String("16 MiB")))
            request.set_value(std::string((16u << 20) + 1, 'v'));
        v1::PutResponse reply;
        return cluster.call(0, &v1::NodeAgent::Stub::Put, request, &reply);
    }
    if (name.startsWith(QLatin1String("delete"))) {
        v1::DeleteRequest request;
        request.set_epoch(epoch);
        v1::DeleteResponse reply;
        return cluster.call(0, &v1::NodeAgent::Stub::Delete, request, &reply);
    }
    if (name.startsWith(QLatin1String("scan"))) {
        v1::ScanRequest request;
        request.set_epoch(epoch);
        request.mutable_range()->set_start("c");
        if (name.contains(QLatin1String("end before")))
            request.mutable_range()->set_end("b");
        else
            request.set_limit(10001);
        v1::ScanResponse reply;
        return cluster.call(0, &v1::NodeAgent::Stub::Scan, request, &reply);
    }
    if (name.startsWith(QLatin1String("install"))) {
        v1::InstallTableRequest request;
        if (!name.contains(QLatin1String("no table"))) {
            *request.mutable_table() = toProto(cluster.table());
            request.mutable_table()->set_epoch(epoch + 10);
            if (name.contains(QLatin1String("without shards")))
                request.mutable_table()->clear_shards();
            else if (name.contains(QLatin1String("gap")))
                request.mutable_table()->mutable_shards(1)->mutable_range()->set_start("h");
            else
                request.mutable_table()->set_epoch(0);
        }
        v1::InstallTableResponse reply;
        return cluster.call(0, &v1::NodeAgent::Stub::InstallTable, request, &reply);
    }
    if (name.startsWith(QLatin1String("sample"))) {
        v1::SampleKeysRequest request;
        v1::SampleKeysResponse reply;
        return cluster.call(0, &v1::NodeAgent::Stub::SampleKeys, request, &reply);
    }
    // WatchStats fails before its first report, so the stream ends with the status at once.
    v1::WatchStatsRequest request;
    request.set_interval_ms(name.contains(QLatin1String("short")) ? 50 : 1000);
    if (name.contains(QLatin1String("cells"))) {
        request.add_cell_starts("");
        request.add_cell_starts("m");
        request.add_cell_starts("c");
    }
    auto context = cluster.context(false);
    auto reader = cluster.stub(0).WatchStats(context.get(), request);
    v1::StatsReport report;
    while (reader->Read(&report)) {
    }
    return reader->Finish();
}

void TestNodeAgent::malformedRequests() {
    QFETCH(QString, request);
    QFETCH(int, code);
    QFETCH(QString, message);
    const grpc::Status status = runMalformed(request);
    QVERIFY2(int(status.error_code()) == code, describeStatus(status).c_str());
    QVERIFY2(QString::fromStdString(status.error_message()).contains(message),
             status.error_message().c_str());
}

void TestNodeAgent::tenMegabyteValue() {
    const std::string value = patternValue(10'000'000);
    v1::PutResponse put;
    VERIFY_OK(m_cluster->put("big-value", value, &put));
    v1::GetResponse got;
    VERIFY_OK(m_cluster->get("big-value", &got));
    QVERIFY(got.found());
    QCOMPARE(got.value().size(), value.size());
    QVERIFY(got.value() == value);
    QCOMPARE(got.version().hlc(), put.version().hlc());
    QCOMPARE(got.version().node(), std::string("n1"));
}

void TestNodeAgent::deleteLeavesTombstone() {
    NodeCluster& cluster = *m_cluster;
    v1::PutResponse put;
    VERIFY_OK(cluster.put("doomed", "here", &put));
    v1::DeleteResponse removed;
    VERIFY_OK(cluster.remove("doomed", &removed));
    QVERIFY(removed.existed());
    QVERIFY2(removed.version().hlc() > put.version().hlc(), "the tombstone is not newer");

    v1::GetResponse got;
    VERIFY_OK(cluster.get("doomed", &got));
    QVERIFY(!got.found());
    QVERIFY(got.value().empty());
    QCOMPARE(got.version().hlc(), removed.version().hlc()); // the tombstone's version

    v1::DeleteResponse again;
    VERIFY_OK(cluster.remove("doomed", &again));
    QVERIFY(!again.existed());
    v1::DeleteResponse never;
    VERIFY_OK(cluster.remove("never-written", &never));
    QVERIFY(!never.existed());
}

void TestNodeAgent::scanStopsAtShardEnd() {
    NodeCluster& cluster = *m_cluster;
    // Shard ["", g) holds c1..c3 (c2 deleted), shard [g, p) holds h1: both on n1.
    for (const char* key : {"c1", "c2", "c3", "h1"})
        VERIFY_OK(cluster.put(key, std::string("v-") + key));
    VERIFY_OK(cluster.remove("c2"));

    v1::ScanRequest request;
    request.set_epoch(cluster.table().epoch());
    request.mutable_range()->set_start("c");
    request.mutable_range()->set_end("i");
    v1::ScanResponse reply;
    VERIFY_OK(cluster.call(0, &v1::NodeAgent::Stub::Scan, request, &reply));
    QCOMPARE(reply.entries_size(), 2); // the tombstone of c2 is not a live value
    QCOMPARE(reply.entries(0).key(), std::string("c1"));
    QCOMPARE(reply.entries(0).value(), std::string("v-c1"));
    QVERIFY(reply.entries(0).version().hlc() > 0);
    QCOMPARE(reply.entries(1).key(), std::string("c3"));
    QCOMPARE(reply.resume_key(), std::string("g"));

    // Continuing from the resume key serves the next shard, up to range.end.
    request.mutable_range()->set_start(reply.resume_key());
    VERIFY_OK(cluster.call(0, &v1::NodeAgent::Stub::Scan, request, &reply));
    QCOMPARE(reply.entries_size(), 1);
    QCOMPARE(reply.entries(0).key(), std::string("h1"));
    QVERIFY(reply.resume_key().empty());

    // A limit cuts the page short: resume at the next key to read.
    request.mutable_range()->set_start("c");
    request.set_limit(1);
    VERIFY_OK(cluster.call(0, &v1::NodeAgent::Stub::Scan, request, &reply));
    QCOMPARE(reply.entries_size(), 1);
    QCOMPARE(reply.entries(0).key(), std::string("c1"));
    QVERIFY(!reply.resume_key().empty());
    QVERIFY(reply.resume_key() > std::string("c1"));
    QVERIFY(reply.resume_key() <= std::string("c3"));
}

void TestNodeAgent::sampleKeys() {
    NodeCluster& cluster = *m_cluster;
    for (int i = 0; i < 40; ++i)
        VERIFY_OK(cluster.put(keyName("s", i), "x"));
    v1::SampleKeysRequest request;
    request.mutable_range()->set_start("s");
    request.mutable_range()->set_end("t");
    request.set_max_keys(10);
    v1::SampleKeysResponse reply;
    // [p, +inf) is n2's shard.
    VERIFY_OK(cluster.call(cluster.ownerIndex("s"), &v1::NodeAgent::Stub::SampleKeys, request,
                           &reply, false));
    QCOMPARE(reply.keys_seen(), std::uint64_t{40});
    QCOMPARE(reply.keys_size(), 10);
    for (int i = 1; i < reply.keys_size(); ++i)
        QVERIFY(reply.keys(i - 1) < reply.keys(i));
    QVERIFY(reply.keys(0).starts_with("s"));
}

void TestNodeAgent::installTableRules() {
    NodeCluster& cluster = *m_cluster;
    // A fresh epoch, so that an older one (epoch - 1 >= 1) exists however the tests are run.
    VERIFY_OK(cluster.installTable(explicitTable(cluster.table().epoch() + 1, "n1", "n2")));
    const OwnershipTable current = cluster.table();
    v1::InstallTableRequest request;
    *request.mutable_table() = toProto(current);
    v1::InstallTableResponse reply;
    // The same table again: accepted, nothing new installed.
    VERIFY_OK(cluster.call(0, &v1::NodeAgent::Stub::InstallTable, request, &reply));
    QVERIFY(!reply.installed());
    QCOMPARE(reply.epoch(), current.epoch());

    // A different table at the same epoch, and an older epoch: refused, naming both epochs.
    *request.mutable_table() = toProto(explicitTable(current.epoch(), "n2", "n1"));
    COMPARE_CODE(cluster.call(0, &v1::NodeAgent::Stub::InstallTable, request, &reply),
                 grpc::StatusCode::FAILED_PRECONDITION);
    *request.mutable_table() = toProto(explicitTable(current.epoch() - 1, "n1", "n2"));
    const grpc::Status older = cluster.call(0, &v1::NodeAgent::Stub::InstallTable, request, &reply);
    COMPARE_CODE(older, grpc::StatusCode::FAILED_PRECONDITION);
    const QString message = QString::fromStdString(older.error_message());
    QVERIFY2(message.contains(QString::number(current.epoch())) &&
                 message.contains(QString::number(current.epoch() - 1)),
             qPrintable(message));

    v1::OwnershipTable served;
    VERIFY_OK(
        cluster.call(0, &v1::NodeAgent::Stub::GetTable, v1::GetTableRequest(), &served, false));
    QVERIFY(fromProto(served, "GetTable").value() == current);
}

void TestNodeAgent::watchStatsCountsCells() {
    NodeCluster& cluster = *m_cluster;
    v1::WatchStatsRequest request;
    request.set_interval_ms(200);
    for (const char* start : {"", "d", "m"})
        request.add_cell_starts(start);
    auto context = cluster.context(false, 30000);
    auto reader = cluster.stub(0).WatchStats(context.get(), request);
    // The first report proves the watcher is registered; count only what follows it.
    v1::StatsReport report;
    if (!reader->Read(&report))
        QFAIL(("no first report: " + describeStatus(reader->Finish())).c_str());
    QCOMPARE(report.cells_size(), 3);
    QCOMPARE(report.capacity().ops_per_s(), 20000.0);
    QVERIFY(report.capacity().cpu_cores() >= 1.0);
    QCOMPARE(report.capacity().service_us_per_s(), report.capacity().cpu_cores() * 1e6);
    QVERIFY(report.capacity().memory_bytes() > 0.0);
    QVERIFY(report.usage().memory_bytes() > 0.0);
    QCOMPARE(report.table_epoch(), cluster.table().epoch());
    QCOMPARE(report.peers_size(), 1);

    constexpr int kReads = 7;  // cell 0: ["", d)
    constexpr int kWrites = 5; // cell 2: [m, +inf) -- "m".."o" is n1's
    for (int i = 0; i < kReads; ++i) {
        v1::GetResponse got;
        VERIFY_OK(cluster.get(keyName("b", i), &got));
    }
    for (int i = 0; i < kWrites; ++i)
        VERIFY_OK(cluster.put(keyName("n", i), "1234"));

    std::uint64_t reads[3] = {0, 0, 0};
    std::uint64_t writes[3] = {0, 0, 0};
    std::uint64_t bytes = 0;
    double maxOps = 0.0;
    QDeadlineTimer deadline(10000);
    while ((reads[0] < kReads || writes[2] < kWrites) && !deadline.hasExpired()) {
        if (!reader->Read(&report))
            QFAIL(("the stream ended early: " + describeStatus(reader->Finish())).c_str());
        QVERIFY(report.end_unix_ms() >= report.start_unix_ms());
        for (int cell = 0; cell < 3; ++cell) {
            reads[cell] += report.cells(cell).reads();
            writes[cell] += report.cells(cell).writes();
            bytes += report.cells(cell).bytes();
        }
        maxOps = std::max(maxOps, report.usage().ops_per_s());
    }
    context->TryCancel();
    QCOMPARE(reads[0], std::uint64_t{kReads});
    QCOMPARE(writes[2], std::uint64_t{kWrites});
    QCOMPARE(reads[1] + writes[1] + reads[2] + writes[0], std::uint64_t{0});
    QCOMPARE(bytes, std::uint64_t{kReads * 5 + kWrites * (5 + 4)});
    QVERIFY2(maxOps > 0.0, "no ops per second reported");
    const grpc::Status finished = reader->Finish();
    COMPARE_CODE(finished, grpc::StatusCode::CANCELLED);
}

void TestNodeAgent::nodeInfoShowsPeers() {
    NodeCluster& cluster = *m_cluster;
    auto peerReachable = [&cluster](int index, v1::NodeInfo* info) {
        const grpc::Status status =
            cluster.call(index, &v1::NodeAgent::Stub::GetNodeInfo, v1::NodeInfoRequest(), info);
        return status.ok() && info->peers_size() == 1 && info->peers(0).reachable() &&
               info->peers(0).rtt_ms() > 0.0;
    };
    v1::NodeInfo first;
    v1::NodeInfo second;
    QTRY_VERIFY_WITH_TIMEOUT(peerReachable(0, &first) && peerReachable(1, &second), 15000);
    QCOMPARE(first.node_id(), std::string("n1"));
    QCOMPARE(first.address(), cluster.node(0).address().toStdString());
    QCOMPARE(first.peers(0).node_id(), std::string("n2"));
    QCOMPARE(first.peers(0).address(), cluster.node(1).address().toStdString());
    QCOMPARE(
        cluster.addressList(),
        QStringLiteral("n1=%1,n2=%2").arg(cluster.node(0).address(), cluster.node(1).address()));
    QVERIFY(first.peers(0).last_error().empty());
    QVERIFY(first.peers(0).measured_unix_ms() >= first.started_unix_ms());
    QCOMPARE(second.peers(0).node_id(), std::string("n1"));
    QVERIFY(!first.software_version().empty());
    QCOMPARE(first.table_epoch(), cluster.table().epoch());
    QVERIFY(!first.tls());
    QCOMPARE(first.limits().max_key_bytes(), 4096u);
    QCOMPARE(first.limits().max_value_bytes(), 16u << 20);
    QCOMPARE(first.limits().max_scan_entries(), 10000u);
    QCOMPARE(first.limits().max_scan_bytes(), 16u << 20);
    QCOMPARE(first.limits().max_copy_batch_bytes(), 32u << 20);
    QCOMPARE(first.limits().max_message_bytes(), 64u << 20);
    QCOMPARE(first.capacity().ops_per_s(), 20000.0);

    v1::PingRequest ping;
    ping.set_from_node("test");
    ping.set_sent_unix_us(123456);
    v1::PingResponse pong;
    VERIFY_OK(cluster.call(1, &v1::NodeAgent::Stub::Ping, ping, &pong, false));
    QCOMPARE(pong.node_id(), std::string("n2"));
    QCOMPARE(pong.sent_unix_us(), std::int64_t{123456});
}

void TestNodeAgent::sigtermKeepsWritesAndEpoch() {
    NodeCluster cluster;
    NodeClusterOptions options;
    options.nodeCount = 1;
    options.splitKeys = {"m"};
    QVERIFY2(cluster.start(options), qPrintable(cluster.errorString()));
    QString problem;
    const std::vector<std::string> keys = putMany(cluster, 200, &problem);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    const OwnershipTable next =
        cluster.table().split(cluster.table().shards().back().id, "t", 99).value();
    VERIFY_OK(cluster.installTable(next));

    NodeProcess& node = cluster.node(0);
    QVERIFY2(node.terminate(), qPrintable(node.errorString()));
    QVERIFY2(node.stderrText().contains(QLatin1String("stopped")), "no clean stop logged");
    QVERIFY2(node.restart(), qPrintable(node.errorString()));

    v1::OwnershipTable served;
    VERIFY_OK(cluster.call(0, &v1::NodeAgent::Stub::GetTable, v1::GetTableRequest(), &served));
    QCOMPARE(served.epoch(), next.epoch());
    QVERIFY2(allPresent(cluster, keys, &problem), qPrintable(problem));

    // Versions keep growing across the restart (the HLC floor was persisted).
    v1::GetResponse before;
    VERIFY_OK(cluster.get(keys.back(), &before));
    v1::PutResponse after;
    VERIFY_OK(cluster.put(keys.back(), "v-" + keys.back(), &after));
    QVERIFY(after.version().hlc() > before.version().hlc());
    QVERIFY2(node.terminate(), qPrintable(node.errorString()));
}

void TestNodeAgent::kill9KeepsAcknowledgedWrites() {
    NodeCluster cluster;
    NodeClusterOptions options;
    options.nodeCount = 1;
    QVERIFY2(cluster.start(options), qPrintable(cluster.errorString()));
    QString problem;
    const std::vector<std::string> keys = putMany(cluster, 300, &problem);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    VERIFY_OK(cluster.remove(keys.front()));

    NodeProcess& node = cluster.node(0);
    node.kill9();
    QVERIFY(!node.isRunning());
    QVERIFY2(node.restart(), qPrintable(node.errorString()));
    QVERIFY2(allPresent(cluster, std::vector<std::string>(keys.begin() + 1, keys.end()), &problem),
             qPrintable(problem));
    v1::GetResponse deleted;
    VERIFY_OK(cluster.get(keys.front(), &deleted));
    QVERIFY(!deleted.found());
}

void TestNodeAgent::restartAdoptsNewerEpochFromPeers() {
    NodeCluster cluster;
    NodeClusterOptions options;
    options.nodeCount = 3;
    options.splitKeys = {"h", "p"};
    options.token = QLatin1String(kToken);
    QVERIFY2(cluster.start(options), qPrintable(cluster.errorString()));
    const OwnershipTable first = cluster.table();

    // n3 goes down; meanwhile the table moves every shard it owned to n1 (n3 stays in it).
    NodeProcess& late = cluster.node(2);
    late.kill9();
    OwnershipTable moved = first;
    for (const Shard& shard : first.shards()) {
        if (shard.owner == "n3")
            moved = moved.reassign(shard.id, "n1").value();
    }
    if (moved.epoch() == first.epoch()) // n3 owned nothing: give it nothing, still a new epoch
        moved = moved.split(first.shards().front().id, "c", first.nextFreeShardId()).value();
    VERIFY_OK(cluster.installTable(moved));

    QVERIFY2(late.restart(), qPrintable(late.errorString()));
    QVERIFY2(late.stderrText().contains(QLatin1String("adopted epoch")),
             qPrintable(late.stderrText()));
    v1::OwnershipTable served;
    VERIFY_OK(cluster.call(2, &v1::NodeAgent::Stub::GetTable, v1::GetTableRequest(), &served));
    QCOMPARE(served.epoch(), moved.epoch());

    // It refuses the old epoch, and at the new one it does not serve what it lost.
    v1::GetRequest get;
    get.set_key("a");
    v1::GetResponse reply;
    get.set_epoch(first.epoch());
    COMPARE_CODE(cluster.call(2, &v1::NodeAgent::Stub::Get, get, &reply),
                 grpc::StatusCode::FAILED_PRECONDITION);
    for (const Shard& shard : first.shards()) {
        if (shard.owner != "n3")
            continue;
        get.set_epoch(moved.epoch());
        get.set_key(shard.range.start.empty() ? std::string("a") : shard.range.start);
        const grpc::Status lost = cluster.call(2, &v1::NodeAgent::Stub::Get, get, &reply);
        COMPARE_CODE(lost, grpc::StatusCode::FAILED_PRECONDITION);
        QVERIFY(epochMismatchOf(lost).has_value());
    }
}

void TestNodeAgent::startupErrors() {
    // A bad flag: exit code 2 and the flag named.
    ProcessOutcome bad = runToCompletion(QStringLiteral(RANGEPILOT_NODE_BINARY),
                                         {QStringLiteral("--name"), QStringLiteral("x")});
    QCOMPARE(bad.exitCode, 2);
    QVERIFY2(bad.standardError.contains("--data-dir"), bad.standardError.constData());

    // A data directory another node holds: exit code 1 saying it is locked.
    NodeCluster cluster;
    NodeClusterOptions options;
    options.nodeCount = 1;
    QVERIFY2(cluster.start(options), qPrintable(cluster.errorString()));
    ProcessOutcome locked = runToCompletion(
        QStringLiteral(RANGEPILOT_NODE_BINARY),
        {QStringLiteral("--name"), QStringLiteral("other"), QStringLiteral("--listen"),
         QStringLiteral("127.0.0.1:0"), QStringLiteral("--data-dir"), cluster.node(0).dataDir()});
    QCOMPARE(locked.exitCode, 1);
    QVERIFY2(locked.standardError.contains("locked"), locked.standardError.constData());

    // A port another node listens on: exit code 1, and the harness's retry depends on the words.
    ProcessOutcome taken = runToCompletion(QStringLiteral(RANGEPILOT_NODE_BINARY),
                                           {QStringLiteral("--name"), QStringLiteral("other"),
                                            QStringLiteral("--listen"), cluster.node(0).address(),
                                            QStringLiteral("--data-dir"),
                                            cluster.directory() + QStringLiteral("/other")});
    QCOMPARE(taken.exitCode, 1);
    QVERIFY2(taken.standardError.contains("cannot listen on"), taken.standardError.constData());

    // An unreadable certificate: exit code 1 naming the flag.
    ProcessOutcome noCertificate = runToCompletion(
        QStringLiteral(RANGEPILOT_NODE_BINARY),
        {QStringLiteral("--name"), QStringLiteral("other"), QStringLiteral("--data-dir"),
         cluster.directory() + QStringLiteral("/other"), QStringLiteral("--tls-cert"),
         cluster.directory() + QStringLiteral("/missing.pem"), QStringLiteral("--tls-key"),
         cluster.directory() + QStringLiteral("/missing.key")});
    QCOMPARE(noCertificate.exitCode, 1);
    QVERIFY2(noCertificate.standardError.contains("--tls-cert"),
             noCertificate.standardError.constData());

    // The help names the flags.
    ProcessOutcome help =
        runToCompletion(QStringLiteral(RANGEPILOT_NODE_BINARY), {QStringLiteral("--help")});
    QCOMPARE(help.exitCode, 0);
    QVERIFY(help.standardOutput.contains("--peers"));
}

void TestNodeAgent::tls() {
    if (!opensslAvailable())
        QSKIP("the openssl command is not installed");
    NodeCluster cluster;
    NodeClusterOptions options;
    options.nodeCount = 2;
    options.tls = true;
    options.token = QLatin1String(kToken);
    options.splitKeys = {"m"};
    QVERIFY2(cluster.start(options), qPrintable(cluster.errorString()));

    // The cluster's client trusts the certificate: data flows, with the token.
    VERIFY_OK(cluster.put("secure", "payload"));
    v1::GetResponse got;
    VERIFY_OK(cluster.get("secure", &got));
    QCOMPARE(got.value(), std::string("payload"));

    // The nodes reach each other over TLS too (--tls-ca).
    auto peersReachable = [&cluster] {
        v1::NodeInfo info;
        const grpc::Status status =
            cluster.call(0, &v1::NodeAgent::Stub::GetNodeInfo, v1::NodeInfoRequest(), &info);
        return status.ok() && info.tls() && info.peers_size() == 1 && info.peers(0).reachable();
    };
    QTRY_VERIFY_WITH_TIMEOUT(peersReachable(), 15000);

    // A plaintext client gets nowhere.
    std::shared_ptr<grpc::Channel> plain =
        makeChannel(cluster.node(0).address().toStdString(), ChannelSecurity{}).value();
    auto stub = v1::NodeAgent::NewStub(plain);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    v1::NodeInfo info;
    const grpc::Status refused = stub->GetNodeInfo(&context, v1::NodeInfoRequest(), &info);
    QVERIFY2(!refused.ok(), "a plaintext client was served by a TLS node");
    QVERIFY(info.node_id().empty());
}

// A QCoreApplication (not APPLESS): QProcess and QTRY_* need its event dispatcher.
QTEST_GUILESS_MAIN(TestNodeAgent)
#include "tst_node_agent.moc"
