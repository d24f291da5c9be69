// GrpcClusterConnector end to end: the console's connector on three real rangepilot-nodes (with a
// token) and a local-file ownership store. The tests run in order on one cluster and one
// connector, each building on what the previous one left: start (the store is fresh, so it takes
// the nodes' table), access counts in the right cells, host usage, a shadowed move to Done, a
// split that every node installs, a second console on the same store that only watches and
// follows the first one's commits, and a node killed with SIGKILL whose statistics stream comes
// back after a restart; and a node that missed a commit and came back when no peer could tell it,
// which the connector brings up to date. Then migrations driven by hand that the store records as
// ended while a node still holds them: a source fenced for a move the store records as failed
// (it came back from a kill -9 with its persisted fence) is aborted, a move the store records as
// done is cut over and ended on the nodes that missed it, and a migration the store has no record
// of is left alone and reported once. Last, on a second cluster that holds neither a table nor
// keys: the connector installs a first table, rolls back a migration a crashed console left in
// the store, and cuts finer cells once keys arrive.
//
// Layout: keys key000..key299, shards [, key100) [key100, key200) [key200, +inf).

#include "grpc_cluster_connector.h"
#include "local_file_ownership_store.h"
#include "node_cluster.h"
#include "proto_convert.h"

#include <QSignalSpy>
#include <QtTest>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace rangepilot;
using namespace rangepilot::e2e;

namespace {

constexpr int kKeys = 300;
constexpr int kStartTimeoutMs = 30000;
constexpr int kReportTimeoutMs = 15000;
constexpr int kMoveTimeoutMs = 90000;
constexpr int kCells = 32;

std::string keyOf(int i) {
    std::string number = std::to_string(i);
    return "key" + std::string(3 - number.size(), '0') + number;
}

std::string valueOf(const std::string& key) {
    return "value of " + key;
}

QString qs(const std::string& text) {
    return QString::fromStdString(text);
}

// The table an ownershipChanged spy recorded (QVariant::value() needs a default constructor,
// which OwnershipTable does not have).
OwnershipTable tableOf(const QVariant& argument) {
    return *static_cast<const OwnershipTable*>(argument.constData());
}

// A migration driven by hand on the test's nodes (indexes into the cluster).
struct HandMove {
    std::uint64_t id = 0;
    Shard shard;
    int source = -1;
    int target = -1;
    std::uint64_t epoch = 0; // the table epoch it begins at
};

QString stateText(const v1::MigrationStatus& status) {
    return qs(v1::MigrationState_Name(status.state()) + ": " + status.error());
}

// How a table reads in a failure message.
QString tableText(const OwnershipTable& table) {
    QString text = QStringLiteral("epoch %1:").arg(table.epoch());
    for (const Shard& shard : table.shards())
        text += QStringLiteral(" %1[%2, %3)@%4")
                    .arg(shard.id)
                    .arg(qs(formatKey(shard.range.start)), qs(formatKey(shard.range.end)),
                         qs(shard.owner));
    return text;
}

} // namespace

class TestGrpcClusterConnector : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void startsWithTheNodesTable();
    void countsRequestsInTheirCells();
    void reportsHostUsage();
    void movesAShardToDone();
    void splitReachesEveryNode();
    void secondConsoleOnlyWatches();
    void reconnectsToAKilledNode();
    void pushesTheTableToANodeThatMissedIt();
    void abortsAFenceOfAFailedMove();
    void finishesADoneMoveOnNodesThatMissedIt();
    void leavesAMigrationWithoutARecordAlone();
    void freshClusterGetsATableAndFinerCells();

private:
    // A migration of the shard holding `key`, from its owner to the next node, at the connector's
    // epoch (which every node has by then).
    HandMove planHandMove(std::uint64_t id, const std::string& key);
    // BeginShadow on the target, then on the source.
    grpc::Status beginShadow(const HandMove& move);
    grpc::Status copyAll(const HandMove& move);
    grpc::Status fenceWrites(const HandMove& move);
    grpc::Status abortOn(int node, std::uint64_t id);
    grpc::Status putAt(int node, std::uint64_t epoch, const std::string& key,
                       const std::string& value);
    // The migration as GetNodeInfo lists it; state UNSPECIFIED when the node does not list it.
    v1::MigrationStatus migrationOn(int node, std::uint64_t id);
    // Entries node `node` stores in `range`, whoever owns it (a checksum without migration id).
    std::uint64_t entriesOn(int node, const KeyRange& range);
    // Stops and drops the driving connector, which frees the store's driver lock.
    void dropConnector();
    // Changes the store through a driver handle of its own (the connector must be gone).
    Status editStore(const std::function<Status(OwnershipStore&, const OwnershipState&)>& edit);
    // A new driving connector on the store, started and running (QVERIFY inside).
    void startConnector();
    qsizetype errorsMentioning(const QString& text) const;

    GrpcClusterOptions connectorOptions();
    std::unique_ptr<GrpcClusterConnector> makeConnector(LocalFileOwnershipStore::OpenMode mode);
    void record(GrpcClusterConnector& connector);
    bool running() const { return m_connector && m_connector->state() == ConnectorState::Running; }
    std::optional<OwnershipTable> storedTable() const;
    std::uint64_t nodeEpoch(int node);
    // Whether every host has delivered a report (a live process always has resident memory)
    // since the samples were last cleared.
    bool everyHostReported() const;
    bool hostReported(std::size_t host) const;
    std::size_t hostIndex(const HostId& id) const;

    NodeCluster m_cluster;
    QString m_storePath;
    std::unique_ptr<GrpcClusterConnector> m_connector;
    std::vector<AccessBatch> m_batches;
    std::vector<HostUsageSample> m_usage;
    std::vector<MigrationProgress> m_progress;
    QStringList m_errors;
};

// --- Fixture ----------------------------------------------------------------------------------

void TestGrpcClusterConnector::initTestCase() {
    NodeClusterOptions options;
    options.nodeCount = 3;
    options.splitKeys = {"key100", "key200"};
    options.token = QStringLiteral("connector-e2e-token");
    QVERIFY2(m_cluster.start(options), qPrintable(m_cluster.errorString()));
    for (int i = 0; i < kKeys; ++i) {
        const grpc::Status status = m_cluster.put(keyOf(i), valueOf(keyOf(i)));
        QVERIFY2(status.ok(), describeStatus(status).c_str());
    }
    m_storePath = m_cluster.directory() + QStringLiteral("/console/ownership.json");
}

void TestGrpcClusterConnector::cleanupTestCase() {
    m_connector.reset(); // before the nodes go
}

GrpcClusterOptions TestGrpcClusterConnector::connectorOptions() {
    GrpcClusterOptions options;
    for (int i = 0; i < m_cluster.size(); ++i)
        options.endpoints.push_back(m_cluster.node(i).address().toStdString());
    options.security = m_cluster.security();
    options.cells = kCells;
    options.stats_interval_ms = 200; // fast ticks keep the test short
    options.executor.retry_backoff_ms = 100;
    return options;
}

std::unique_ptr<GrpcClusterConnector>
TestGrpcClusterConnector::makeConnector(LocalFileOwnershipStore::OpenMode mode) {
    auto store = LocalFileOwnershipStore::open(m_storePath, mode);
    if (!store) {
        qWarning("store: %s", store.error().message.c_str());
        return nullptr;
    }
    return std::make_unique<GrpcClusterConnector>(connectorOptions(), std::move(store).value());
}

void TestGrpcClusterConnector::record(GrpcClusterConnector& connector) {
    connect(&connector, &ClusterConnector::accessBatch, this,
            [this](const AccessBatch& batch) { m_batches.push_back(batch); });
    connect(&connector, &ClusterConnector::hostUsage, this,
            [this](const HostUsageSample& sample) { m_usage.push_back(sample); });
    connect(&connector, &ClusterConnector::migrationProgress, this,
            [this](const MigrationProgress& progress) { m_progress.push_back(progress); });
    connect(&connector, &ClusterConnector::errorOccurred, this,
            [this](const QString& message) { m_errors.append(message); });
}

std::optional<OwnershipTable> TestGrpcClusterConnector::storedTable() const {
    auto store =
        LocalFileOwnershipStore::open(m_storePath, LocalFileOwnershipStore::OpenMode::ReadOnly);
    if (!store)
        return std::nullopt;
    Result<OwnershipState> state = store.value()->load();
    if (!state)
        return std::nullopt;
    return state->table;
}

std::uint64_t TestGrpcClusterConnector::nodeEpoch(int node) {
    v1::OwnershipTable reply;
    const grpc::Status status =
        m_cluster.call(node, &v1::NodeAgent::Stub::GetTable, v1::GetTableRequest{}, &reply);
    return status.ok() ? reply.epoch() : 0;
}

bool TestGrpcClusterConnector::hostReported(std::size_t host) const {
    return std::any_of(m_usage.begin(), m_usage.end(), [host](const HostUsageSample& sample) {
        return host < sample.usage.size() && sample.usage[host][Resource::Memory] > 0.0;
    });
}

bool TestGrpcClusterConnector::everyHostReported() const {
    for (std::size_t host = 0; host < static_cast<std::size_t>(m_cluster.size()); ++host)
        if (!hostReported(host))
            return false;
    return true;
}

std::size_t TestGrpcClusterConnector::hostIndex(const HostId& id) const {
    return m_connector->topology().cluster.indexOf(id).value_or(SIZE_MAX);
}

HandMove TestGrpcClusterConnector::planHandMove(std::uint64_t id, const std::string& key) {
    HandMove move;
    move.id = id;
    move.shard = m_connector->ownership().shardFor(key);
    move.epoch = m_connector->ownership().epoch();
    move.source = m_cluster.indexOf(move.shard.owner);
    move.target = (move.source + 1) % m_cluster.size();
    return move;
}

grpc::Status TestGrpcClusterConnector::beginShadow(const HandMove& move) {
    for (const auto& [node, role] :
         {std::pair{move.target, v1::TARGET}, std::pair{move.source, v1::SOURCE}}) {
        v1::BeginShadowRequest request;
        request.set_migration_id(move.id);
        request.set_epoch(move.epoch);
        request.set_role(role);
        request.set_shard_id(move.shard.id);
        *request.mutable_range() = toProto(move.shard.range);
        const int peer = role == v1::SOURCE ? move.target : move.source;
        request.set_peer_node(m_cluster.node(peer).name().toStdString());
        if (role == v1::SOURCE)
            request.set_peer_address(m_cluster.node(move.target).address().toStdString());
        v1::MigrationStepResponse reply;
        const grpc::Status status =
            m_cluster.call(node, &v1::NodeAgent::Stub::BeginShadow, request, &reply);
        if (!status.ok())
            return status;
    }
    return grpc::Status::OK;
}

grpc::Status TestGrpcClusterConnector::copyAll(const HandMove& move) {
    std::string cursor;
    for (;;) {
        v1::CopyBatchRequest request;
        request.set_migration_id(move.id);
        request.set_cursor(cursor);
        request.set_max_bytes(1u << 20);
        v1::CopyBatchResponse reply;
        const grpc::Status status =
            m_cluster.call(move.source, &v1::NodeAgent::Stub::CopyBatch, request, &reply);
        if (!status.ok() || reply.done())
            return status;
        cursor = reply.next_cursor();
    }
}

grpc::Status TestGrpcClusterConnector::fenceWrites(const HandMove& move) {
    v1::FenceWritesRequest request;
    request.set_migration_id(move.id);
    v1::MigrationStepResponse reply;
    return m_cluster.call(move.source, &v1::NodeAgent::Stub::FenceWrites, request, &reply);
}

grpc::Status TestGrpcClusterConnector::abortOn(int node, std::uint64_t id) {
    v1::AbortMigrationRequest request;
    request.set_migration_id(id);
    request.set_reason("the test is over");
    v1::MigrationStepResponse reply;
    return m_cluster.call(node, &v1::NodeAgent::Stub::AbortMigration, request, &reply);
}

grpc::Status TestGrpcClusterConnector::putAt(int node, std::uint64_t epoch, const std::string& key,
                                             const std::string& value) {
    v1::PutRequest request;
    request.set_epoch(epoch);
    request.set_key(key);
    request.set_value(value);
    v1::PutResponse reply;
    return m_cluster.call(node, &v1::NodeAgent::Stub::Put, request, &reply);
}

v1::MigrationStatus TestGrpcClusterConnector::migrationOn(int node, std::uint64_t id) {
    v1::NodeInfo info;
    if (m_cluster.call(node, &v1::NodeAgent::Stub::GetNodeInfo, v1::NodeInfoRequest{}, &info).ok())
        for (const v1::MigrationStatus& status : info.migrations())
            if (status.migration_id() == id)
                return status;
    return {};
}

std::uint64_t TestGrpcClusterConnector::entriesOn(int node, const KeyRange& range) {
    v1::RangeChecksumRequest request;
    request.set_migration_id(0);
    *request.mutable_range() = toProto(range);
    v1::RangeChecksumResponse reply;
    const grpc::Status status =
        m_cluster.call(node, &v1::NodeAgent::Stub::RangeChecksum, request, &reply);
    return status.ok() ? reply.entries() : UINT64_MAX;
}

void TestGrpcClusterConnector::dropConnector() {
    if (!m_connector)
        return;
    m_connector->stop();
    m_connector.reset();
}

Status TestGrpcClusterConnector::editStore(
    const std::function<Status(OwnershipStore&, const OwnershipState&)>& edit) {
    auto store =
        LocalFileOwnershipStore::open(m_storePath, LocalFileOwnershipStore::OpenMode::Driver);
    if (!store)
        return Error{store.error().message};
    const Result<OwnershipState> state = store.value()->load();
    if (!state)
        return Error{state.error().message};
    return edit(*store.value(), *state);
}

void TestGrpcClusterConnector::startConnector() {
    m_connector = makeConnector(LocalFileOwnershipStore::OpenMode::Driver);
    QVERIFY(m_connector);
    record(*m_connector);
    m_connector->start();
    QTRY_COMPARE_WITH_TIMEOUT(m_connector->state(), ConnectorState::Running, kStartTimeoutMs);
    QVERIFY(m_connector->drives());
}

qsizetype TestGrpcClusterConnector::errorsMentioning(const QString& text) const {
    return std::count_if(m_errors.begin(), m_errors.end(),
                         [&text](const QString& message) { return message.contains(text); });
}

// --- Tests ------------------------------------------------------------------------------------

void TestGrpcClusterConnector::startsWithTheNodesTable() {
    QVERIFY(!storedTable().has_value()); // a fresh store
    m_connector = makeConnector(LocalFileOwnershipStore::OpenMode::Driver);
    QVERIFY(m_connector);
    record(*m_connector);
    QSignalSpy states(m_connector.get(), &ClusterConnector::stateChanged);
    QSignalSpy topologies(m_connector.get(), &ClusterConnector::topologyChanged);
    QSignalSpy tables(m_connector.get(), &ClusterConnector::ownershipChanged);

    m_connector->start();
    QCOMPARE(m_connector->state(), ConnectorState::Starting);
    QTRY_COMPARE_WITH_TIMEOUT(m_connector->state(), ConnectorState::Running, kStartTimeoutMs);
    QVERIFY2(m_errors.isEmpty(), qPrintable(m_errors.join(u'\n')));
    QCOMPARE(states.last().at(0).value<ConnectorState>(), ConnectorState::Running);
    QVERIFY(m_connector->drives());

    QCOMPARE(topologies.size(), 1);
    const ClusterTopology topology = topologies.last().at(0).value<ClusterTopology>();
    QCOMPARE(topology.cluster.hosts.size(), std::size_t{3});
    std::vector<HostId> ids;
    for (const Host& host : topology.cluster.hosts) {
        ids.push_back(host.id);
        QVERIFY2(host.capacity[Resource::Ops] > 0, host.id.c_str());
        QVERIFY2(host.capacity[Resource::Memory] > 0, host.id.c_str());
        QVERIFY2(host.capacity[Resource::ServiceTime] > 0, host.id.c_str());
    }
    std::sort(ids.begin(), ids.end());
    QCOMPARE(ids, (std::vector<HostId>{"n1", "n2", "n3"}));

    // The store was empty: the table is the one the nodes had, and the store now holds it.
    QVERIFY(tables.size() >= 1);
    const OwnershipTable table = tableOf(tables.last().at(0));
    QVERIFY2(table == m_cluster.table(), qPrintable(tableText(table)));
    QVERIFY(m_connector->ownership() == m_cluster.table());
    const std::optional<OwnershipTable> stored = storedTable();
    QVERIFY(stored.has_value());
    QVERIFY2(*stored == m_cluster.table(), qPrintable(tableText(*stored)));

    // Cells: finer than the shards, and every shard holds whole cells.
    QVERIFY(topology.cells.size() >= std::size_t{kCells});
    for (const Shard& shard : table.shards()) {
        const CellIndex cell = topology.cells.cellOf(shard.range.start);
        QCOMPARE(qs(formatKey(topology.cells.start(cell))), qs(formatKey(shard.range.start)));
    }
}

void TestGrpcClusterConnector::countsRequestsInTheirCells() {
    if (!running())
        QSKIP("the connector did not start");
    // Counters start with each node's stream: wait until every stream has delivered a report.
    QTRY_VERIFY_WITH_TIMEOUT(everyHostReported(), kReportTimeoutMs);
    m_batches.clear();

    struct Requests {
        std::string key;
        int gets = 0;
        int puts = 0;
    };
    const std::vector<Requests> requests = {
        {keyOf(50), 10, 0}, {keyOf(150), 30, 0}, {keyOf(250), 0, 20}, {keyOf(251), 5, 5}};
    const KeyCells& cells = m_connector->topology().cells;
    std::map<CellIndex, CellLoad> expected;
    std::uint64_t expectedOps = 0;
    for (const Requests& request : requests) {
        for (int i = 0; i < request.gets; ++i) {
            v1::GetResponse reply;
            const grpc::Status status = m_cluster.get(request.key, &reply);
            QVERIFY2(status.ok() && reply.found(), describeStatus(status).c_str());
        }
        for (int i = 0; i < request.puts; ++i) {
            const grpc::Status status = m_cluster.put(request.key, valueOf(request.key));
            QVERIFY2(status.ok(), describeStatus(status).c_str());
        }
        CellLoad& load = expected[cells.cellOf(request.key)];
        load.reads += static_cast<std::uint64_t>(request.gets);
        load.writes += static_cast<std::uint64_t>(request.puts);
        expectedOps += static_cast<std::uint64_t>(request.gets + request.puts);
    }

    const auto sumOfOps = [this] {
        std::uint64_t ops = 0;
        for (const AccessBatch& batch : m_batches)
            for (const CellLoad& cell : batch.cells)
                ops += cell.ops();
        return ops;
    };
    QTRY_COMPARE_WITH_TIMEOUT(sumOfOps(), expectedOps, kReportTimeoutMs);
    // One more tick: nothing beyond what was asked arrives late.
    const std::size_t batches = m_batches.size();
    QTRY_VERIFY_WITH_TIMEOUT(m_batches.size() > batches + 1, kReportTimeoutMs);
    QCOMPARE(sumOfOps(), expectedOps);

    std::vector<CellLoad> counted(cells.size());
    for (std::size_t i = 0; i < m_batches.size(); ++i) {
        const AccessBatch& batch = m_batches[i];
        QCOMPARE(batch.cells.size(), cells.size());
        QVERIFY(batch.end_ms > batch.start_ms);
        if (i > 0) // consecutive spans of wall time
            QCOMPARE(batch.start_ms, m_batches[i - 1].end_ms);
        for (std::size_t cell = 0; cell < batch.cells.size(); ++cell)
            counted[cell].add(batch.cells[cell]);
    }
    for (CellIndex cell = 0; cell < counted.size(); ++cell) {
        const CellLoad want = expected.count(cell) ? expected[cell] : CellLoad{};
        QVERIFY2(counted[cell].reads == want.reads && counted[cell].writes == want.writes,
                 qPrintable(QStringLiteral("cell %1 [%2): %3 reads, %4 writes; expected %5, %6")
                                .arg(cell)
                                .arg(qs(formatKey(cells.start(cell))))
                                .arg(counted[cell].reads)
                                .arg(counted[cell].writes)
                                .arg(want.reads)
                                .arg(want.writes)));
        if (want.ops() > 0) {
            QVERIFY(counted[cell].bytes > 0);
        }
    }
}

void TestGrpcClusterConnector::reportsHostUsage() {
    if (!running())
        QSKIP("the connector did not start");
    QVERIFY(!m_usage.empty());
    // The owner of key150 served 30 gets in the previous test: its reported rate shows them.
    const std::size_t owner = hostIndex(m_connector->ownership().shardFor(keyOf(150)).owner);
    QVERIFY(owner < 3);
    const bool busy = std::any_of(m_usage.begin(), m_usage.end(), [owner](const auto& sample) {
        return sample.usage[owner][Resource::Ops] > 0.0;
    });
    QVERIFY(busy);
    for (const HostUsageSample& sample : m_usage) {
        QCOMPARE(sample.usage.size(), std::size_t{3});
        QVERIFY(sample.end_ms > sample.start_ms);
    }
    // Live time: the connector's clock is the wall clock.
    const TimeMs now = QDateTime::currentMSecsSinceEpoch();
    QVERIFY(std::abs(m_connector->clusterTime() - now) < 5000);
    // Stored bytes reach the cells the nodes own.
    const std::vector<double> bytes = m_connector->cellDataBytes();
    QCOMPARE(bytes.size(), m_connector->topology().cells.size());
    QVERIFY(std::any_of(bytes.begin(), bytes.end(), [](double b) { return b > 0.0; }));
}

void TestGrpcClusterConnector::movesAShardToDone() {
    if (!running())
        QSKIP("the connector did not start");
    const OwnershipTable before = m_connector->ownership();
    const Shard shard = before.shardFor(keyOf(150));
    HostId target;
    for (const Host& host : m_connector->topology().cluster.hosts)
        if (host.id != shard.owner)
            target = host.id;
    QSignalSpy tables(m_connector.get(), &ClusterConnector::ownershipChanged);
    m_progress.clear();

    MoveInstruction move;
    move.shard = shard.id;
    move.range = shard.range;
    move.from = shard.owner;
    move.to = target;
    const Result<MigrationId> id = m_connector->executeMove(move);
    QVERIFY2(id.ok(), id ? "" : id.error().message.c_str());
    QTRY_VERIFY_WITH_TIMEOUT(!m_progress.empty() && isTerminal(m_progress.back().phase),
                             kMoveTimeoutMs);
    QVERIFY2(m_progress.back().phase == MigrationPhase::Done,
             qPrintable(migrationPhaseName(m_progress.back().phase) + QStringLiteral(": ") +
                        m_progress.back().error));
    std::vector<MigrationPhase> phases;
    for (const MigrationProgress& progress : m_progress) {
        QCOMPARE(progress.id, *id);
        QCOMPARE(progress.shard, shard.id);
        if (phases.empty() || phases.back() != progress.phase)
            phases.push_back(progress.phase);
    }
    for (const MigrationPhase phase :
         {MigrationPhase::Shadowing, MigrationPhase::Copying, MigrationPhase::CuttingOver})
        QVERIFY2(std::find(phases.begin(), phases.end(), phase) != phases.end(),
                 qPrintable(migrationPhaseName(phase)));

    // The connector, the store and the new owner agree.
    QTRY_VERIFY_WITH_TIMEOUT(!tables.isEmpty(), kReportTimeoutMs);
    const OwnershipTable after = tableOf(tables.last().at(0));
    QCOMPARE(after.epoch(), before.epoch() + 1);
    QCOMPARE(after.shardById(shard.id)->owner, target);
    QVERIFY(m_connector->ownership() == after);
    const std::optional<OwnershipTable> stored = storedTable();
    QVERIFY(stored.has_value());
    QVERIFY2(*stored == after, qPrintable(tableText(*stored)));

    // The data moved: the new owner serves the shard's keys at the new epoch.
    const int newOwner = m_cluster.indexOf(target);
    QVERIFY(newOwner >= 0);
    QTRY_COMPARE_WITH_TIMEOUT(nodeEpoch(newOwner), after.epoch(), kReportTimeoutMs);
    for (const int i : {100, 150, 199}) {
        v1::GetRequest request;
        request.set_epoch(after.epoch());
        request.set_key(keyOf(i));
        v1::GetResponse reply;
        const grpc::Status status =
            m_cluster.call(newOwner, &v1::NodeAgent::Stub::Get, request, &reply);
        QVERIFY2(status.ok(), describeStatus(status).c_str());
        QVERIFY(reply.found());
        QCOMPARE(qs(reply.value()), qs(valueOf(keyOf(i))));
    }
}

void TestGrpcClusterConnector::splitReachesEveryNode() {
    if (!running())
        QSKIP("the connector did not start");
    const OwnershipTable before = m_connector->ownership();
    const Shard& shard = before.shardFor(keyOf(250));
    SplitInstruction split;
    split.shard = shard.id;
    split.at = keyOf(250);
    split.new_shard = before.nextFreeShardId();
    QSignalSpy tables(m_connector.get(), &ClusterConnector::ownershipChanged);
    const Status changed = m_connector->changeBoundaries({split}, {});
    QVERIFY2(changed.ok(), changed.message().c_str());

    QCOMPARE(tables.size(), 1);
    const OwnershipTable after = m_connector->ownership();
    QCOMPARE(after.epoch(), before.epoch() + 1);
    QCOMPARE(after.shardCount(), before.shardCount() + 1);
    const Shard* right = after.shardById(split.new_shard);
    QVERIFY(right);
    QCOMPARE(qs(right->range.start), qs(keyOf(250)));
    QCOMPARE(right->owner, shard.owner);
    const std::optional<OwnershipTable> stored = storedTable();
    QVERIFY(stored.has_value());
    QVERIFY2(*stored == after, qPrintable(tableText(*stored)));
    for (int node = 0; node < m_cluster.size(); ++node)
        QTRY_COMPARE_WITH_TIMEOUT(nodeEpoch(node), after.epoch(), kReportTimeoutMs);
}

void TestGrpcClusterConnector::secondConsoleOnlyWatches() {
    if (!running())
        QSKIP("the connector did not start");
    // The first console holds the driver lock: a second driver is refused, naming the holder.
    auto refused =
        LocalFileOwnershipStore::open(m_storePath, LocalFileOwnershipStore::OpenMode::Driver);
    QVERIFY(!refused.ok());
    QVERIFY2(refused.error().message.find("pid ") != std::string::npos,
             refused.error().message.c_str());

    std::unique_ptr<GrpcClusterConnector> watcher =
        makeConnector(LocalFileOwnershipStore::OpenMode::ReadOnly);
    QVERIFY(watcher);
    QStringList watcherErrors;
    connect(watcher.get(), &ClusterConnector::errorOccurred, this,
            [&watcherErrors](const QString& message) { watcherErrors.append(message); });
    watcher->start();
    QTRY_COMPARE_WITH_TIMEOUT(watcher->state(), ConnectorState::Running, kStartTimeoutMs);
    QVERIFY(!watcher->drives());
    QVERIFY(m_connector->drives());
    QVERIFY2(watcher->name().endsWith(QStringLiteral(", watching only")),
             qPrintable(watcher->name()));
    QVERIFY2(!m_connector->name().contains(QStringLiteral("watching")),
             qPrintable(m_connector->name()));
    QVERIFY(watcher->ownership() == m_connector->ownership());
    QVERIFY2(watcherErrors.join(u'\n').contains(QStringLiteral("only watches")),
             qPrintable(watcherErrors.join(u'\n')));

    // Moves and boundary changes are refused, naming who drives.
    const OwnershipTable table = watcher->ownership();
    const Shard& shard = table.shardFor(keyOf(20));
    MoveInstruction move;
    move.shard = shard.id;
    move.from = shard.owner;
    move.to = shard.owner == "n1" ? "n2" : "n1";
    const Result<MigrationId> moved = watcher->executeMove(move);
    QVERIFY(!moved.ok());
    const QString why = qs(moved.error().message);
    QVERIFY2(why.contains(QStringLiteral("locked by pid ")), qPrintable(why));
    QVERIFY2(why.contains(QStringLiteral("only watches")), qPrintable(why));
    QVERIFY(!watcher->changeBoundaries({}, {MergeInstruction{}}).ok());
    QVERIFY(watcher->ownership() == table); // nothing changed

    // It follows what the driver commits: merge back the split of the previous test.
    const Shard& left = table.shardFor(keyOf(249));
    const Shard& right = table.shardFor(keyOf(250));
    QVERIFY(left.id != right.id);
    MergeInstruction merge;
    merge.left = left.id;
    merge.right = right.id;
    const Status merged = m_connector->changeBoundaries({}, {merge});
    QVERIFY2(merged.ok(), merged.message().c_str());
    QCOMPARE(m_connector->ownership().epoch(), table.epoch() + 1);
    QTRY_COMPARE_WITH_TIMEOUT(watcher->ownership().epoch(), table.epoch() + 1, kReportTimeoutMs);
    QVERIFY(watcher->ownership() == m_connector->ownership());

    watcher->stop();
    QCOMPARE(watcher->state(), ConnectorState::Stopped);
}

void TestGrpcClusterConnector::reconnectsToAKilledNode() {
    if (!running())
        QSKIP("the connector did not start");
    const int victim = 2;
    const QString name = m_cluster.node(victim).name();
    const std::size_t host = hostIndex(name.toStdString());
    QVERIFY(host < 3);
    m_errors.clear();
    m_cluster.node(victim).kill9();
    const auto streamError = [&] {
        return std::any_of(m_errors.begin(), m_errors.end(), [&](const QString& message) {
            return message.startsWith(name + QStringLiteral(":")) &&
                   message.contains(QStringLiteral("statistics stream"));
        });
    };
    QTRY_VERIFY_WITH_TIMEOUT(streamError(), kReportTimeoutMs);
    QCOMPARE(m_connector->state(), ConnectorState::Running); // one node down is not a failure

    // While it is down, the others go on reporting and it does not. One tick first: it takes in
    // what the node reported before it died.
    const std::size_t ticks = m_batches.size();
    QTRY_VERIFY_WITH_TIMEOUT(m_batches.size() > ticks, kReportTimeoutMs);
    m_usage.clear();
    QTRY_VERIFY_WITH_TIMEOUT(hostReported((host + 1) % 3) && hostReported((host + 2) % 3),
                             kReportTimeoutMs);
    QVERIFY(!hostReported(host));

    // A change committed while it is down: it catches up when it returns (from its peers here).
    const OwnershipTable before = m_connector->ownership();
    SplitInstruction split;
    split.shard = before.shardFor(keyOf(260)).id;
    split.at = keyOf(260);
    split.new_shard = before.nextFreeShardId();
    const Status changed = m_connector->changeBoundaries({split}, {});
    QVERIFY2(changed.ok(), changed.message().c_str());
    QCOMPARE(m_connector->ownership().epoch(), before.epoch() + 1);

    QVERIFY2(m_cluster.node(victim).restart(), qPrintable(m_cluster.node(victim).errorString()));
    m_usage.clear();
    QTRY_VERIFY_WITH_TIMEOUT(hostReported(host), kStartTimeoutMs);
    // One message for the outage, not one per reconnection attempt.
    const auto outageMessages =
        std::count_if(m_errors.begin(), m_errors.end(), [&](const QString& message) {
            return message.startsWith(name + QStringLiteral(":")) &&
                   message.contains(QStringLiteral("statistics stream"));
        });
    QCOMPARE(outageMessages, 1);
    // And its counters count again.
    std::string key;
    for (int i = 0; i < kKeys && key.empty(); ++i)
        if (m_connector->ownership().shardFor(keyOf(i)).owner == name.toStdString())
            key = keyOf(i);
    QVERIFY(!key.empty());
    QTRY_COMPARE_WITH_TIMEOUT(nodeEpoch(victim), m_connector->ownership().epoch(),
                              kReportTimeoutMs);
    const CellIndex cell = m_connector->topology().cells.cellOf(key);
    m_batches.clear();
    const auto readsOfCell = [&] {
        std::uint64_t reads = 0;
        for (const AccessBatch& batch : m_batches)
            reads += batch.cells[cell].reads;
        return reads;
    };
    v1::GetRequest request;
    request.set_epoch(m_connector->ownership().epoch());
    request.set_key(key);
    v1::GetResponse reply;
    const grpc::Status status = m_cluster.call(victim, &v1::NodeAgent::Stub::Get, request, &reply);
    QVERIFY2(status.ok() && reply.found(), describeStatus(status).c_str());
    QTRY_COMPARE_WITH_TIMEOUT(readsOfCell(), std::uint64_t{1}, kReportTimeoutMs);
}

void TestGrpcClusterConnector::pushesTheTableToANodeThatMissedIt() {
    if (!running())
        QSKIP("the connector did not start");
    // n3 misses a commit; then its peers go too, so when it returns it has no one to learn the
    // table from but the connector (whose first push to it failed).
    NodeProcess& victim = m_cluster.node(2);
    victim.kill9();
    const OwnershipTable before = m_connector->ownership();
    SplitInstruction split;
    split.shard = before.shardFor(keyOf(20)).id;
    split.at = keyOf(20);
    split.new_shard = before.nextFreeShardId();
    const Status changed = m_connector->changeBoundaries({split}, {});
    QVERIFY2(changed.ok(), changed.message().c_str());
    const std::uint64_t epoch = m_connector->ownership().epoch();
    QTRY_VERIFY_WITH_TIMEOUT(nodeEpoch(0) == epoch && nodeEpoch(1) == epoch, kReportTimeoutMs);
    m_cluster.node(0).kill9();
    m_cluster.node(1).kill9();

    QVERIFY2(victim.restart(), qPrintable(victim.errorString()));
    QCOMPARE(nodeEpoch(2), before.epoch()); // nobody told it
    QTRY_COMPARE_WITH_TIMEOUT(nodeEpoch(2), epoch, kStartTimeoutMs);

    for (int node : {0, 1})
        QVERIFY2(m_cluster.node(node).restart(), qPrintable(m_cluster.node(node).errorString()));
    for (int node = 0; node < m_cluster.size(); ++node)
        QTRY_COMPARE_WITH_TIMEOUT(nodeEpoch(node), epoch, kReportTimeoutMs);
    QCOMPARE(m_connector->state(), ConnectorState::Running);
}

// The case the reconciliation exists for: the executor rolled a move back, but its AbortMigration
// never reached the source (it was down); the source came back with its persisted fence and
// would refuse writes to the range for ever. The console aborts it, and the target's copy.
void TestGrpcClusterConnector::abortsAFenceOfAFailedMove() {
    if (!running())
        QSKIP("the connector did not start");
    const std::uint64_t epoch = m_connector->ownership().epoch();
    for (int node = 0; node < m_cluster.size(); ++node)
        QTRY_COMPARE_WITH_TIMEOUT(nodeEpoch(node), epoch, kReportTimeoutMs);
    const HandMove move = planHandMove(501, keyOf(50));
    QVERIFY(move.source >= 0);
    const HostId target = m_cluster.node(move.target).name().toStdString();
    dropConnector(); // the executor of the console that "crashed"

    grpc::Status status = beginShadow(move);
    QVERIFY2(status.ok(), describeStatus(status).c_str());
    status = copyAll(move);
    QVERIFY2(status.ok(), describeStatus(status).c_str());
    QVERIFY(entriesOn(move.target, move.shard.range) > 0);
    status = fenceWrites(move);
    QVERIFY2(status.ok(), describeStatus(status).c_str());
    NodeProcess& source = m_cluster.node(move.source);
    source.kill9();
    QVERIFY2(source.restart(), qPrintable(source.errorString()));
    QCOMPARE(migrationOn(move.source, move.id).state(), v1::FENCED);
    status = putAt(move.source, epoch, keyOf(50), "refused while fenced");
    QVERIFY2(status.error_code() == grpc::StatusCode::UNAVAILABLE, describeStatus(status).c_str());

    const Status edited = editStore([&](OwnershipStore& store, const OwnershipState& state) {
        MigrationRecord record;
        record.id = move.id;
        record.shard = move.shard.id;
        record.range = move.shard.range;
        record.from = move.shard.owner;
        record.to = target;
        record.phase = MigrationPhase::Failed;
        record.table_epoch = state.table->epoch();
        record.error = QStringLiteral("the source did not answer the rollback");
        return store.putMigration(record);
    });
    QVERIFY2(edited.ok(), edited.message().c_str());
    m_errors.clear();
    startConnector();
    if (QTest::currentTestFailed())
        return;

    QTRY_COMPARE_WITH_TIMEOUT(migrationOn(move.source, move.id).state(), v1::ABORTED,
                              kReportTimeoutMs);
    const v1::MigrationStatus aborted = migrationOn(move.source, move.id);
    QVERIFY2(aborted.error().find("records migration 501 as failed") != std::string::npos,
             aborted.error().c_str());
    status = putAt(move.source, epoch, keyOf(50), valueOf(keyOf(50)));
    QVERIFY2(status.ok(), describeStatus(status).c_str());
    // The target, still shadowing, dropped what it had copied.
    QTRY_COMPARE_WITH_TIMEOUT(migrationOn(move.target, move.id).state(), v1::ABORTED,
                              kReportTimeoutMs);
    QCOMPARE(entriesOn(move.target, move.shard.range), std::uint64_t{0});
    QVERIFY2(errorsMentioning(QStringLiteral("migration 501")) == 0,
             qPrintable(m_errors.join(u'\n')));
}

// The move committed (the store's table makes the target the owner, the record says done), but
// neither Cutover nor EndMigration reached the nodes: the source came back fenced, the target is
// still shadowing. The console cuts both over and the source drops its copy.
void TestGrpcClusterConnector::finishesADoneMoveOnNodesThatMissedIt() {
    if (!running())
        QSKIP("the connector did not start");
    const HandMove move = planHandMove(502, keyOf(230));
    QVERIFY(move.source >= 0);
    const HostId target = m_cluster.node(move.target).name().toStdString();
    dropConnector();

    grpc::Status status = beginShadow(move);
    QVERIFY2(status.ok(), describeStatus(status).c_str());
    status = copyAll(move);
    QVERIFY2(status.ok(), describeStatus(status).c_str());
    status = fenceWrites(move);
    QVERIFY2(status.ok(), describeStatus(status).c_str());
    NodeProcess& source = m_cluster.node(move.source);
    source.kill9();
    QVERIFY2(source.restart(), qPrintable(source.errorString()));
    QCOMPARE(migrationOn(move.source, move.id).state(), v1::FENCED);
    std::vector<std::string> keys;
    for (int i = 0; i < kKeys; ++i)
        if (move.shard.range.contains(keyOf(i)))
            keys.push_back(keyOf(i));
    QVERIFY(!keys.empty());
    QCOMPARE(entriesOn(move.source, move.shard.range), std::uint64_t{keys.size()});

    std::optional<OwnershipTable> committed;
    const Status edited = editStore([&](OwnershipStore& store, const OwnershipState& state) {
        Result<OwnershipTable> next = state.table->reassign(move.shard.id, target);
        if (!next)
            return Status{Error{next.error().message}};
        MigrationRecord record;
        record.id = move.id;
        record.shard = move.shard.id;
        record.range = move.shard.range;
        record.from = move.shard.owner;
        record.to = target;
        record.phase = MigrationPhase::Done;
        record.table_epoch = state.table->epoch();
        record.error = QStringLiteral("the source did not answer the cutover");
        committed = next.value();
        return store.compareAndSwapTable(state.table->epoch(), *next, &record);
    });
    QVERIFY2(edited.ok(), edited.message().c_str());
    QVERIFY(committed.has_value());
    m_errors.clear();
    startConnector();
    if (QTest::currentTestFailed())
        return;
    QVERIFY(m_connector->ownership() == *committed);

    const auto sourceEnded = [&] {
        const v1::MigrationState state = migrationOn(move.source, move.id).state();
        return state == v1::ENDED || state == v1::MIGRATION_STATE_UNSPECIFIED;
    };
    QTRY_VERIFY2_WITH_TIMEOUT(
        sourceEnded(), qPrintable(stateText(migrationOn(move.source, move.id))), kReportTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(migrationOn(move.target, move.id).state(), v1::CUT_OVER,
                              kReportTimeoutMs);
    // The new owner serves every key of the range at the committed epoch, and takes writes.
    for (const std::string& key : keys) {
        v1::GetRequest request;
        request.set_epoch(committed->epoch());
        request.set_key(key);
        v1::GetResponse reply;
        status = m_cluster.call(move.target, &v1::NodeAgent::Stub::Get, request, &reply);
        QVERIFY2(status.ok(), (key + ": " + describeStatus(status)).c_str());
        QVERIFY2(reply.found(), key.c_str());
        QCOMPARE(qs(reply.value()), qs(valueOf(key)));
    }
    status = putAt(move.target, committed->epoch(), keys.front(), valueOf(keys.front()));
    QVERIFY2(status.ok(), describeStatus(status).c_str());
    // And the source's copy is gone.
    QCOMPARE(entriesOn(move.source, move.shard.range), std::uint64_t{0});
    QVERIFY2(errorsMentioning(QStringLiteral("migration 502")) == 0,
             qPrintable(m_errors.join(u'\n')));
}

// Ids restart in every store: a migration the store has no record of may be another console's.
// It is reported once and nothing is sent.
void TestGrpcClusterConnector::leavesAMigrationWithoutARecordAlone() {
    if (!running())
        QSKIP("the connector did not start");
    const HandMove move = planHandMove(9001, keyOf(280));
    QVERIFY(move.source >= 0);
    m_errors.clear();
    const grpc::Status status = beginShadow(move);
    QVERIFY2(status.ok(), describeStatus(status).c_str());

    const QString mention = QStringLiteral("migration 9001");
    const auto reportedBoth = [&] {
        const auto reported = [&](int node) {
            return std::any_of(m_errors.begin(), m_errors.end(), [&](const QString& message) {
                return message.startsWith(m_cluster.node(node).name() + QStringLiteral(": ")) &&
                       message.contains(mention) && message.contains(QStringLiteral("no record"));
            });
        };
        return reported(move.source) && reported(move.target);
    };
    QTRY_VERIFY2_WITH_TIMEOUT(reportedBoth(), qPrintable(m_errors.join(u'\n')), kReportTimeoutMs);
    // Long enough for the connector to look at it again (it does every few seconds): still one
    // message per node, and both sides still shadowing.
    const TimeMs reportedAt = QDateTime::currentMSecsSinceEpoch();
    QTRY_VERIFY_WITH_TIMEOUT(!m_batches.empty() && m_batches.back().end_ms > reportedAt + 6000,
                             kReportTimeoutMs);
    QCOMPARE(errorsMentioning(mention), qsizetype{2});
    QCOMPARE(migrationOn(move.source, move.id).state(), v1::SHADOWING);
    QCOMPARE(migrationOn(move.target, move.id).state(), v1::SHADOWING);

    for (const int node : {move.source, move.target}) {
        const grpc::Status aborted = abortOn(node, move.id);
        QVERIFY2(aborted.ok(), describeStatus(aborted).c_str());
    }
}

void TestGrpcClusterConnector::freshClusterGetsATableAndFinerCells() {
    NodeCluster fresh;
    NodeClusterOptions options;
    options.nodeCount = 3;
    options.installTable = false;
    options.token = QStringLiteral("fresh-token");
    QVERIFY2(fresh.start(options), qPrintable(fresh.errorString()));
    GrpcClusterOptions connectorOptions;
    for (int i = 0; i < fresh.size(); ++i)
        connectorOptions.endpoints.push_back(fresh.node(i).address().toStdString());
    connectorOptions.security = fresh.security();
    connectorOptions.cells = kCells;
    connectorOptions.stats_interval_ms = 200;
    auto store = LocalFileOwnershipStore::open(fresh.directory() + QStringLiteral("/own.json"),
                                               LocalFileOwnershipStore::OpenMode::Driver);
    QVERIFY(store.ok());
    LocalFileOwnershipStore* storeHandle = store.value().get();
    // A migration a crashed console left mid-copy: the connector rolls it back while starting.
    const OwnershipTable expected =
        OwnershipTable::withInitialPlacement({}, {"n1", "n2", "n3"}).value();
    MigrationRecord interrupted;
    interrupted.id = 7;
    interrupted.shard = expected.shards().front().id;
    interrupted.range = expected.shards().front().range;
    interrupted.from = expected.shards().front().owner;
    interrupted.to = interrupted.from == "n1" ? "n2" : "n1";
    interrupted.phase = MigrationPhase::Copying;
    interrupted.table_epoch = expected.epoch();
    QVERIFY(storeHandle->putMigration(interrupted).ok());
    GrpcClusterConnector connector(connectorOptions, std::move(store).value());
    std::vector<ClusterTopology> topologies;
    std::vector<AccessBatch> batches;
    std::vector<MigrationProgress> progress;
    connect(&connector, &ClusterConnector::migrationProgress, this,
            [&progress](const MigrationProgress& report) { progress.push_back(report); });
    connect(&connector, &ClusterConnector::topologyChanged, this,
            [&topologies](const ClusterTopology& topology) { topologies.push_back(topology); });
    connect(&connector, &ClusterConnector::accessBatch, this,
            [&batches](const AccessBatch& batch) { batches.push_back(batch); });
    connector.start();
    QTRY_COMPARE_WITH_TIMEOUT(connector.state(), ConnectorState::Running, kStartTimeoutMs);

    // Nobody had a table: the connector placed one (no keys: one shard), stored and installed it.
    const OwnershipTable table = connector.ownership();
    QVERIFY(table.epoch() >= 1);
    QCOMPARE(table.shardCount(), std::size_t{1});
    const Result<OwnershipState> state = storeHandle->load();
    QVERIFY(state.ok() && state->table.has_value());
    QVERIFY(*state->table == table);
    const auto epochOf = [&fresh](int node) {
        v1::OwnershipTable reply;
        const grpc::Status status =
            fresh.call(node, &v1::NodeAgent::Stub::GetTable, v1::GetTableRequest{}, &reply);
        return status.ok() ? reply.epoch() : 0;
    };
    for (int node = 0; node < fresh.size(); ++node)
        QTRY_COMPARE_WITH_TIMEOUT(epochOf(node), table.epoch(), kReportTimeoutMs);
    QCOMPARE(topologies.size(), std::size_t{1});
    QCOMPARE(topologies.front().cells.size(), std::size_t{1}); // nothing to cut by yet
    QVERIFY(table == expected);

    // The interrupted migration was rolled back, and reported once, after the topology.
    QCOMPARE(connector.recovered().size(), std::size_t{1});
    QCOMPARE(connector.recovered().front().id, MigrationId{7});
    QVERIFY(isTerminal(connector.recovered().front().phase));
    QVERIFY(connector.recovered().front().phase != MigrationPhase::Done);
    QTRY_VERIFY_WITH_TIMEOUT(!progress.empty(), kReportTimeoutMs);
    QCOMPARE(progress.size(), std::size_t{1});
    QCOMPARE(progress.front().id, MigrationId{7});
    QCOMPARE(progress.front().phase, connector.recovered().front().phase);
    const Result<OwnershipState> after = storeHandle->load();
    QVERIFY(after.ok() && after->migrations.size() == 1);
    QVERIFY(isTerminal(after->migrations.front().phase));

    // Keys arrive: the cells are cut again, finer.
    const int owner = fresh.indexOf(table.shards().front().owner);
    QVERIFY(owner >= 0);
    for (int i = 0; i < 200; ++i) {
        v1::PutRequest put;
        put.set_epoch(table.epoch());
        put.set_key(keyOf(i));
        put.set_value(valueOf(keyOf(i)));
        v1::PutResponse reply;
        const grpc::Status status = fresh.call(owner, &v1::NodeAgent::Stub::Put, put, &reply);
        QVERIFY2(status.ok(), describeStatus(status).c_str());
    }
    QTRY_COMPARE_WITH_TIMEOUT(topologies.size(), std::size_t{2}, kReportTimeoutMs);
    const KeyCells& cells = topologies.back().cells;
    QVERIFY(cells.size() >= std::size_t{kCells});
    QCOMPARE(connector.topology().cells.size(), cells.size());
    QCOMPARE(connector.cellDataBytes().size(), cells.size());

    // And the streams count by the new cells.
    batches.clear();
    for (int i = 0; i < 7; ++i) {
        v1::GetRequest get;
        get.set_epoch(table.epoch());
        get.set_key(keyOf(120));
        v1::GetResponse reply;
        const grpc::Status status = fresh.call(owner, &v1::NodeAgent::Stub::Get, get, &reply);
        QVERIFY2(status.ok() && reply.found(), describeStatus(status).c_str());
    }
    const CellIndex cell = cells.cellOf(keyOf(120));
    const auto reads = [&] {
        std::uint64_t total = 0;
        for (const AccessBatch& batch : batches)
            if (batch.cells.size() == cells.size())
                total += batch.cells[cell].reads;
        return total;
    };
    QTRY_COMPARE_WITH_TIMEOUT(reads(), std::uint64_t{7}, kReportTimeoutMs);
    for (const AccessBatch& batch : batches)
        QCOMPARE(batch.cells.size(), cells.size());
    connector.stop();
}

QTEST_GUILESS_MAIN(TestGrpcClusterConnector)
#include "tst_grpc_cluster_connector.moc"
