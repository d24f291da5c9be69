// The node's side of shadowed migrations, driven step by step over gRPC against real
// rangepilot-node processes, as the console's migration executor will drive them: a full move by
// hand, an abort mid-copy, a target killed mid-copy, a broken source beginning again, versions
// that a copy must not overwrite, and the refusals (overlap, bad parameters, wrong token). A fenced
// source killed with -9 comes back fenced until a cutover or an abort clears the fence, and one
// killed after the cutover drops its copy on EndMigration with the range; the encoding of the
// persisted fences is checked here too. Verification from snapshots pinned on both nodes while
// writes go on, FenceWrites, and the clock bound on ingested versions.

#include "key.h"
#include "node_cluster.h"
#include "node_migrations.h"
#include "proto_convert.h"

#include <QtTest>

#include <atomic>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace rangepilot;
using namespace rangepilot::e2e;

namespace {

const QString kToken = QStringLiteral("migration-steps-token");
// Two shards: [, k) moves, [k, +inf) stays; every test key lies in the moving one.
const Key kSplitKey = "k";
constexpr std::uint32_t kSmallBatchBytes = 128;

std::string testKey(int index) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "c%04d", index);
    return buffer;
}

std::string valueFor(int index, int generation) {
    return "value-" + std::to_string(generation) + "-" + std::to_string(index);
}

// The shard holding "c..." keys, its owner (the source) and another node (the target).
struct Move {
    Shard shard;
    int source = -1;
    int target = -1;
};

Move chooseMove(const NodeCluster& cluster) {
    Move move;
    move.shard = cluster.table().shardFor(testKey(0));
    move.source = cluster.indexOf(move.shard.owner);
    move.target = move.source == 0 ? 1 : 0;
    return move;
}

bool hasCode(const grpc::Status& status, grpc::StatusCode code) {
    return status.error_code() == code;
}

bool mentions(const grpc::Status& status, const std::string& text) {
    return status.error_message().find(text) != std::string::npos;
}

// A client that keeps writing its own keys to the source until told to stop, and remembers the
// last value each key was acknowledged with. Runs on its own thread with its own channel.
struct Writer {
    std::string address;
    ChannelSecurity security;
    std::uint64_t epoch = 0;
    int first = 0; // keys testKey(first) .. testKey(first + kWriterKeys - 1)
    std::map<std::string, std::string> acknowledged;
    std::string unexpected; // the first failure other than UNAVAILABLE (the fence)

    static constexpr int kWriterKeys = 20;

    void run(const std::atomic<bool>& stop, std::atomic<int>& writes, std::atomic<int>& refusals) {
        Result<std::shared_ptr<grpc::Channel>> channel = makeChannel(address, security);
        if (!channel) {
            unexpected = channel.error().message;
            return;
        }
        const std::unique_ptr<v1::NodeAgent::Stub> stub = v1::NodeAgent::NewStub(channel.value());
        for (int round = 0; !stop.load(); ++round) {
            v1::PutRequest request;
            request.set_epoch(epoch);
            request.set_key(testKey(first + round % kWriterKeys));
            request.set_value(valueFor(first + round % kWriterKeys, round));
            v1::PutResponse reply;
            grpc::ClientContext context;
            context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
            addToken(context, security.token);
            const grpc::Status status = stub->Put(&context, request, &reply);
            if (status.ok()) {
                acknowledged[request.key()] = request.value();
                writes.fetch_add(1);
            } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
                refusals.fetch_add(1);
            } else if (unexpected.empty()) {
                unexpected = describeStatus(status);
            }
        }
    }
};

// Writer threads, stopped and joined however the test leaves.
struct WriterThreads {
    std::vector<Writer> writers;
    std::atomic<bool> stop{false};
    std::atomic<int> writes{0};
    std::atomic<int> refusals{0};
    std::vector<std::thread> threads;

    // `count` writers to `address` at the cluster's epoch, on keys from testKey(firstKey) on.
    void start(const NodeCluster& cluster, const std::string& address, int count, int firstKey) {
        writers.resize(static_cast<std::size_t>(count));
        for (int i = 0; i < count; ++i) {
            Writer& writer = writers[static_cast<std::size_t>(i)];
            writer.address = address;
            writer.security = cluster.security();
            writer.epoch = cluster.table().epoch();
            writer.first = firstKey + i * Writer::kWriterKeys;
        }
        for (Writer& writer : writers)
            threads.emplace_back([this, &writer] { writer.run(stop, writes, refusals); });
    }
    void join() {
        stop = true;
        for (std::thread& thread : threads)
            thread.join();
        threads.clear();
    }
    ~WriterThreads() { join(); }
};

} // namespace

// Fails the test with the status's code and message when it is not the expected code. The
// status expression is evaluated once (it is often the call itself).
#define QVERIFY_STATUS(status, code)                                                               \
    do {                                                                                           \
        const grpc::Status checked_ = (status);                                                    \
        QVERIFY2(hasCode(checked_, (code)), describeStatus(checked_).c_str());                     \
    } while (false)
#define QVERIFY_OK(status) QVERIFY_STATUS(status, grpc::StatusCode::OK)

class TestNodeMigrationSteps : public QObject {
    Q_OBJECT

private:
    // The step calls, each on node `index` with the cluster's token.
    grpc::Status begin(NodeCluster& cluster, int index, std::uint64_t id, v1::MigrationRole role,
                       const Move& move, v1::MigrationStepResponse* reply = nullptr);
    grpc::Status copyBatch(NodeCluster& cluster, std::uint64_t id, const Move& move,
                           const std::string& cursor, std::uint32_t maxBytes,
                           v1::CopyBatchResponse* reply);
    // Copies from `cursor` to the end; `batches` receives how many calls that took.
    grpc::Status copyRest(NodeCluster& cluster, std::uint64_t id, const Move& move,
                          std::string cursor, int* batches = nullptr);
    grpc::Status checksum(NodeCluster& cluster, int index, std::uint64_t id, bool fence,
                          v1::RangeChecksumResponse* reply, const KeyRange& range = {});
    grpc::Status cutover(NodeCluster& cluster, int index, std::uint64_t id,
                         const OwnershipTable& table, v1::MigrationStepResponse* reply = nullptr);
    grpc::Status end(NodeCluster& cluster, int index, std::uint64_t id,
                     v1::MigrationStepResponse* reply = nullptr, const KeyRange& range = {});
    grpc::Status fenceWrites(NodeCluster& cluster, int index, std::uint64_t id,
                             v1::MigrationStepResponse* reply = nullptr);
    // The source pins snapshots on itself and the target; both digest them.
    grpc::Status pinnedChecksums(NodeCluster& cluster, std::uint64_t id, const Move& move,
                                 v1::RangeChecksumResponse* sourceSum,
                                 v1::RangeChecksumResponse* targetSum);
    grpc::Status abort(NodeCluster& cluster, int index, std::uint64_t id,
                       v1::MigrationStepResponse* reply = nullptr);
    // The migration as GetNodeInfo reports it; state UNSPECIFIED when the node does not list it.
    v1::MigrationStatus statusOn(NodeCluster& cluster, int index, std::uint64_t id);
    // Entries node `index` stores in the moving shard's range (a checksum without migration id).
    std::uint64_t storedEntries(NodeCluster& cluster, int index, const Move& move);

    bool startCluster(NodeCluster& cluster, int nodes = 2);
    // A cluster for the tests that leave no migration behind, started once.
    NodeCluster m_shared;
    bool m_sharedStarted = false;
    bool writeKeys(NodeCluster& cluster, int count, int generation);
    // Begins migration `id` on the target, then on the source.
    bool beginBoth(NodeCluster& cluster, std::uint64_t id, const Move& move);
    // Installs a table where the source also owns every other shard, so that it has keys outside
    // the moving range ("zz..." keys) to take writes for.
    bool sourceOwnsTheRest(NodeCluster& cluster, const Move& move);
    // Begins migration `id`, copies everything and fences the source; the checksums agree.
    bool copyAndFence(NodeCluster& cluster, std::uint64_t id, const Move& move,
                      std::uint64_t* checksum = nullptr);
    // kill -9 of the source, then a start from the same data directory.
    bool killAndRestartSource(NodeCluster& cluster, const Move& move);

private Q_SLOTS:
    void initTestCase();
    void fullMigrationByHand();
    void abortMidCopyLeavesTheSourceServing();
    void targetKilledMidCopy();
    void brokenSourceBeginsAgain();
    void copyKeepsNewerVersionsOnTheTarget();
    void concurrentWritesDuringCopyAndFence();
    void overlappingMigrationRefused();
    void beginShadowValidation_data();
    void beginShadowValidation();
    void stepsNeedTheToken();
    void unknownMigrationIsNotFound();

    void fenceEncodingRoundTrips();
    void fenceEncodingIsStable();
    void fenceDecodingNamesTheDefect_data();
    void fenceDecodingNamesTheDefect();
    void everyTruncatedFenceValueIsRefused();
    void fenceSurvivesAKilledSourceUntilCutover();
    void abortClearsARestoredFence();
    void liveCutoverAndAbortClearTheirFences();

    void snapshotChecksumsWhileWritesGoOn();
    void snapshotAndFenceRefusals();
    void ingestRefusesVersionsFarAhead();
};

// --- Helpers ------------------------------------------------------------------------------------

bool TestNodeMigrationSteps::startCluster(NodeCluster& cluster, int nodes) {
    NodeClusterOptions options;
    options.nodeCount = nodes;
    options.splitKeys = {kSplitKey};
    options.token = kToken;
    if (!cluster.start(options)) {
        qWarning("%s", qPrintable(cluster.errorString()));
        return false;
    }
    return true;
}

bool TestNodeMigrationSteps::writeKeys(NodeCluster& cluster, int count, int generation) {
    for (int i = 0; i < count; ++i) {
        const grpc::Status status = cluster.put(testKey(i), valueFor(i, generation));
        if (!status.ok()) {
            qWarning("put %s: %s", testKey(i).c_str(), describeStatus(status).c_str());
            return false;
        }
    }
    return true;
}

grpc::Status TestNodeMigrationSteps::begin(NodeCluster& cluster, int index, std::uint64_t id,
                                           v1::MigrationRole role, const Move& move,
                                           v1::MigrationStepResponse* reply) {
    v1::BeginShadowRequest request;
    request.set_migration_id(id);
    request.set_epoch(cluster.table().epoch());
    request.set_role(role);
    request.set_shard_id(move.shard.id);
    *request.mutable_range() = toProto(move.shard.range);
    const int peer = role == v1::SOURCE ? move.target : move.source;
    request.set_peer_node(cluster.node(peer).name().toStdString());
    if (role == v1::SOURCE)
        request.set_peer_address(cluster.node(move.target).address().toStdString());
    v1::MigrationStepResponse ignored;
    return cluster.call(index, &v1::NodeAgent::Stub::BeginShadow, request,
                        reply ? reply : &ignored);
}

bool TestNodeMigrationSteps::beginBoth(NodeCluster& cluster, std::uint64_t id, const Move& move) {
    for (const auto& [index, role] :
         {std::pair{move.target, v1::TARGET}, std::pair{move.source, v1::SOURCE}}) {
        const grpc::Status status = begin(cluster, index, id, role, move);
        if (!status.ok()) {
            qWarning("BeginShadow on %s: %s", qPrintable(cluster.node(index).name()),
                     describeStatus(status).c_str());
            return false;
        }
    }
    return true;
}

bool TestNodeMigrationSteps::sourceOwnsTheRest(NodeCluster& cluster, const Move& move) {
    const std::string source = cluster.node(move.source).name().toStdString();
    OwnershipTable table = cluster.table();
    for (const Shard& shard : cluster.table().shards()) {
        if (shard.owner == source)
            continue;
        Result<OwnershipTable> next = table.reassign(shard.id, source);
        if (!next) {
            qWarning("reassign: %s", next.error().message.c_str());
            return false;
        }
        table = std::move(next.value());
    }
    const grpc::Status installed = cluster.installTable(table);
    if (!installed.ok())
        qWarning("InstallTable: %s", describeStatus(installed).c_str());
    return installed.ok();
}

bool TestNodeMigrationSteps::copyAndFence(NodeCluster& cluster, std::uint64_t id, const Move& move,
                                          std::uint64_t* checksumOut) {
    if (!beginBoth(cluster, id, move))
        return false;
    grpc::Status status = copyRest(cluster, id, move, "");
    v1::RangeChecksumResponse sourceSum;
    v1::RangeChecksumResponse targetSum;
    if (status.ok())
        status = checksum(cluster, move.source, id, true, &sourceSum);
    if (status.ok())
        status = checksum(cluster, move.target, id, false, &targetSum);
    if (!status.ok()) {
        qWarning("migration %llu: %s", static_cast<unsigned long long>(id),
                 describeStatus(status).c_str());
        return false;
    }
    if (sourceSum.checksum() != targetSum.checksum() || sourceSum.entries() == 0) {
        qWarning("migration %llu: checksums differ or nothing copied",
                 static_cast<unsigned long long>(id));
        return false;
    }
    if (checksumOut != nullptr)
        *checksumOut = sourceSum.checksum();
    return true;
}

bool TestNodeMigrationSteps::killAndRestartSource(NodeCluster& cluster, const Move& move) {
    NodeProcess& source = cluster.node(move.source);
    source.kill9();
    if (!source.restart()) {
        qWarning("restart of %s: %s", qPrintable(source.name()), qPrintable(source.errorString()));
        return false;
    }
    return true;
}

grpc::Status TestNodeMigrationSteps::copyBatch(NodeCluster& cluster, std::uint64_t id,
                                               const Move& move, const std::string& cursor,
                                               std::uint32_t maxBytes,
                                               v1::CopyBatchResponse* reply) {
    v1::CopyBatchRequest request;
    request.set_migration_id(id);
    request.set_cursor(cursor);
    request.set_max_bytes(maxBytes);
    return cluster.call(move.source, &v1::NodeAgent::Stub::CopyBatch, request, reply);
}

grpc::Status TestNodeMigrationSteps::copyRest(NodeCluster& cluster, std::uint64_t id,
                                              const Move& move, std::string cursor, int* batches) {
    for (int calls = 1;; ++calls) {
        v1::CopyBatchResponse reply;
        const grpc::Status status = copyBatch(cluster, id, move, cursor, kSmallBatchBytes, &reply);
        if (!status.ok() || reply.done()) {
            if (batches != nullptr)
                *batches = calls;
            return status;
        }
        cursor = reply.next_cursor();
    }
}

grpc::Status TestNodeMigrationSteps::checksum(NodeCluster& cluster, int index, std::uint64_t id,
                                              bool fence, v1::RangeChecksumResponse* reply,
                                              const KeyRange& range) {
    v1::RangeChecksumRequest request;
    request.set_migration_id(id);
    *request.mutable_range() = toProto(range);
    request.set_fence_writes(fence);
    return cluster.call(index, &v1::NodeAgent::Stub::RangeChecksum, request, reply);
}

grpc::Status TestNodeMigrationSteps::cutover(NodeCluster& cluster, int index, std::uint64_t id,
                                             const OwnershipTable& table,
                                             v1::MigrationStepResponse* reply) {
    v1::CutoverRequest request;
    request.set_migration_id(id);
    *request.mutable_table() = toProto(table);
    v1::MigrationStepResponse ignored;
    return cluster.call(index, &v1::NodeAgent::Stub::Cutover, request, reply ? reply : &ignored);
}

grpc::Status TestNodeMigrationSteps::end(NodeCluster& cluster, int index, std::uint64_t id,
                                         v1::MigrationStepResponse* reply, const KeyRange& range) {
    v1::EndMigrationRequest request;
    request.set_migration_id(id);
    *request.mutable_range() = toProto(range);
    v1::MigrationStepResponse ignored;
    return cluster.call(index, &v1::NodeAgent::Stub::EndMigration, request,
                        reply ? reply : &ignored);
}

grpc::Status TestNodeMigrationSteps::abort(NodeCluster& cluster, int index, std::uint64_t id,
                                           v1::MigrationStepResponse* reply) {
    v1::AbortMigrationRequest request;
    request.set_migration_id(id);
    request.set_reason("test");
    v1::MigrationStepResponse ignored;
    return cluster.call(index, &v1::NodeAgent::Stub::AbortMigration, request,
                        reply ? reply : &ignored);
}

v1::MigrationStatus TestNodeMigrationSteps::statusOn(NodeCluster& cluster, int index,
                                                     std::uint64_t id) {
    v1::NodeInfo info;
    const grpc::Status status =
        cluster.call(index, &v1::NodeAgent::Stub::GetNodeInfo, v1::NodeInfoRequest(), &info);
    if (!status.ok())
        qWarning("GetNodeInfo: %s", describeStatus(status).c_str());
    for (const v1::MigrationStatus& migration : info.migrations()) {
        if (migration.migration_id() == id)
            return migration;
    }
    return {};
}

std::uint64_t TestNodeMigrationSteps::storedEntries(NodeCluster& cluster, int index,
                                                    const Move& move) {
    v1::RangeChecksumResponse reply;
    const grpc::Status status = checksum(cluster, index, 0, false, &reply, move.shard.range);
    if (!status.ok())
        qWarning("RangeChecksum: %s", describeStatus(status).c_str());
    return reply.entries();
}

// --- Tests --------------------------------------------------------------------------------------

void TestNodeMigrationSteps::initTestCase() {
    m_sharedStarted = startCluster(m_shared);
}

void TestNodeMigrationSteps::fullMigrationByHand() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster));
    const Move move = chooseMove(cluster);
    constexpr int kKeys = 60;
    QVERIFY(writeKeys(cluster, kKeys, 1));
    QVERIFY_OK(cluster.remove(testKey(7))); // a tombstone travels too

    v1::MigrationStepResponse step;
    QVERIFY_OK(begin(cluster, move.target, 1, v1::TARGET, move, &step));
    QCOMPARE(step.status().state(), v1::SHADOWING);
    QCOMPARE(step.status().role(), v1::TARGET);
    QVERIFY_OK(begin(cluster, move.source, 1, v1::SOURCE, move, &step));
    QCOMPARE(step.status().state(), v1::SHADOWING);
    // The executor may repeat a step after a lost reply.
    QVERIFY_OK(begin(cluster, move.source, 1, v1::SOURCE, move, &step));
    QCOMPARE(step.status().state(), v1::SHADOWING);

    // One small batch, then writes while the copy runs: to a copied key, an uncopied key and a
    // new key. They are forwarded, so the target has them whatever the copy does.
    v1::CopyBatchResponse first;
    QVERIFY_OK(copyBatch(cluster, 1, move, "", kSmallBatchBytes, &first));
    QVERIFY(!first.done());
    QVERIFY(first.entries() >= 1);
    QVERIFY(first.bytes() <= kSmallBatchBytes + 64);
    QCOMPARE(first.applied(), first.entries());
    QVERIFY_OK(cluster.put(testKey(0), valueFor(0, 2)));
    QVERIFY_OK(cluster.put(testKey(kKeys - 1), valueFor(kKeys - 1, 2)));
    QVERIFY_OK(cluster.put(testKey(kKeys), valueFor(kKeys, 2)));
    QVERIFY_OK(cluster.remove(testKey(1)));
    QCOMPARE(statusOn(cluster, move.source, 1).forwarded_writes(), std::uint64_t{4});
    QCOMPARE(statusOn(cluster, move.target, 1).forwarded_writes(), std::uint64_t{4});

    int batches = 0;
    QVERIFY_OK(copyRest(cluster, 1, move, first.next_cursor(), &batches));
    QVERIFY2(batches >= 3, "small batches should take several calls");
    const v1::MigrationStatus copied = statusOn(cluster, move.source, 1);
    QCOMPARE(copied.copied_entries(), std::uint64_t{kKeys + 1}); // tombstones included
    QCOMPARE(statusOn(cluster, move.target, 1).copied_entries(), copied.copied_entries());

    // The fence: writes to the range wait for the cutover; a write elsewhere is unaffected.
    v1::RangeChecksumResponse sourceSum;
    v1::RangeChecksumResponse targetSum;
    QVERIFY_OK(checksum(cluster, move.source, 1, true, &sourceSum));
    QCOMPARE(statusOn(cluster, move.source, 1).state(), v1::FENCED);
    const grpc::Status fenced = cluster.put(testKey(3), valueFor(3, 3));
    QVERIFY_STATUS(fenced, grpc::StatusCode::UNAVAILABLE);
    QVERIFY2(mentions(fenced, "being cut over") && mentions(fenced, "migration 1"),
             fenced.error_message().c_str());
    QVERIFY_OK(cluster.put("zz-outside", "stays"));
    QVERIFY_OK(checksum(cluster, move.target, 1, false, &targetSum));
    QCOMPARE(sourceSum.entries(), std::uint64_t{kKeys + 1});
    QCOMPARE(targetSum.entries(), sourceSum.entries());
    QCOMPARE(targetSum.bytes(), sourceSum.bytes());
    QCOMPARE(targetSum.checksum(), sourceSum.checksum());

    // The committed table moves the shard; the target installs it first, then the source.
    Result<OwnershipTable> moved =
        cluster.table().reassign(move.shard.id, cluster.node(move.target).name().toStdString());
    QVERIFY(moved.ok());
    QVERIFY_OK(cutover(cluster, move.target, 1, moved.value(), &step));
    QCOMPARE(step.status().state(), v1::CUT_OVER);
    QVERIFY_OK(cutover(cluster, move.source, 1, moved.value(), &step));
    QCOMPARE(step.status().state(), v1::CUT_OVER);
    QVERIFY_STATUS(abort(cluster, move.source, 1), grpc::StatusCode::FAILED_PRECONDITION);

    // The source refuses a client of the old table with a stale epoch; the target serves every
    // key with its newest value.
    const grpc::Status stale = cluster.put(testKey(3), valueFor(3, 3));
    QVERIFY_STATUS(stale, grpc::StatusCode::FAILED_PRECONDITION);
    const std::optional<v1::EpochMismatch> mismatch = epochMismatchOf(stale);
    QVERIFY(mismatch.has_value());
    QCOMPARE(mismatch->node_epoch(), moved->epoch());
    QVERIFY_OK(cluster.installTable(moved.value()));
    QCOMPARE(cluster.ownerIndex(testKey(0)), move.target);
    for (int i = 0; i <= kKeys; ++i) {
        v1::GetResponse got;
        QVERIFY_OK(cluster.get(testKey(i), &got));
        const bool deleted = i == 1 || i == 7;
        QCOMPARE(got.found(), !deleted);
        if (deleted)
            continue;
        const int generation = (i == 0 || i == kKeys - 1 || i == kKeys) ? 2 : 1;
        QCOMPARE(got.value(), valueFor(i, generation));
    }
    QVERIFY_OK(cluster.put(testKey(3), valueFor(3, 3))); // the new owner takes writes

    QCOMPARE(storedEntries(cluster, move.source, move), std::uint64_t{kKeys + 1});
    QVERIFY_OK(end(cluster, move.source, 1, &step));
    QCOMPARE(step.status().state(), v1::ENDED);
    QCOMPARE(storedEntries(cluster, move.source, move), std::uint64_t{0});
    QCOMPARE(storedEntries(cluster, move.target, move), std::uint64_t{kKeys + 1});
    QVERIFY_OK(end(cluster, move.target, 1, &step));
    QCOMPARE(step.status().state(), v1::ENDED);
}

void TestNodeMigrationSteps::abortMidCopyLeavesTheSourceServing() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster));
    const Move move = chooseMove(cluster);
    QVERIFY(writeKeys(cluster, 40, 1));
    QVERIFY(beginBoth(cluster, 5, move));
    v1::CopyBatchResponse batch;
    QVERIFY_OK(copyBatch(cluster, 5, move, "", kSmallBatchBytes, &batch));
    QVERIFY(storedEntries(cluster, move.target, move) > 0);

    v1::MigrationStepResponse step;
    QVERIFY_OK(abort(cluster, move.source, 5, &step));
    QCOMPARE(step.status().state(), v1::ABORTED);
    QVERIFY_OK(abort(cluster, move.target, 5, &step));
    QCOMPARE(step.status().state(), v1::ABORTED);
    QVERIFY_OK(abort(cluster, move.target, 5, &step)); // repeated: nothing more to do
    QCOMPARE(storedEntries(cluster, move.target, move), std::uint64_t{0});

    // The source still owns and serves the range, and no longer forwards.
    QVERIFY_OK(cluster.put(testKey(2), valueFor(2, 2)));
    v1::GetResponse got;
    QVERIFY_OK(cluster.get(testKey(2), &got));
    QCOMPARE(got.value(), valueFor(2, 2));
    QCOMPARE(statusOn(cluster, move.source, 5).forwarded_writes(), std::uint64_t{0});
    QCOMPARE(storedEntries(cluster, move.target, move), std::uint64_t{0});
    QCOMPARE(storedEntries(cluster, move.source, move), std::uint64_t{40});

    // An aborted migration takes no more steps, but a new one may move the range.
    QVERIFY_STATUS(copyBatch(cluster, 5, move, "", kSmallBatchBytes, &batch),
                   grpc::StatusCode::FAILED_PRECONDITION);
    Result<OwnershipTable> moved =
        cluster.table().reassign(move.shard.id, cluster.node(move.target).name().toStdString());
    QVERIFY(moved.ok());
    QVERIFY_STATUS(cutover(cluster, move.target, 5, moved.value()),
                   grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY_STATUS(begin(cluster, move.source, 5, v1::SOURCE, move),
                   grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY(beginBoth(cluster, 6, move));
}

void TestNodeMigrationSteps::targetKilledMidCopy() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster));
    const Move move = chooseMove(cluster);
    QVERIFY(writeKeys(cluster, 40, 1));
    QVERIFY(beginBoth(cluster, 9, move));
    v1::CopyBatchResponse batch;
    QVERIFY_OK(copyBatch(cluster, 9, move, "", kSmallBatchBytes, &batch));

    cluster.node(move.target).kill9();
    const grpc::Status lost = copyBatch(cluster, 9, move, batch.next_cursor(), 1024, &batch);
    QVERIFY_STATUS(lost, grpc::StatusCode::UNAVAILABLE);
    QVERIFY2(mentions(lost, cluster.node(move.target).name().toStdString()),
             lost.error_message().c_str());

    // Clients of the source do not notice: the write is stored, the forward breaks the move.
    QVERIFY_OK(cluster.put(testKey(4), valueFor(4, 2)));
    v1::GetResponse got;
    QVERIFY_OK(cluster.get(testKey(4), &got));
    QCOMPARE(got.value(), valueFor(4, 2));
    const v1::MigrationStatus broken = statusOn(cluster, move.source, 9);
    QCOMPARE(broken.state(), v1::BROKEN);
    QVERIFY2(!broken.error().empty(), "BROKEN names why");
    QVERIFY_OK(cluster.put(testKey(5), valueFor(5, 2))); // no more forwarding attempts needed
    QVERIFY_STATUS(copyBatch(cluster, 9, move, "", 1024, &batch),
                   grpc::StatusCode::FAILED_PRECONDITION);
    v1::RangeChecksumResponse sum;
    QVERIFY_STATUS(checksum(cluster, move.source, 9, true, &sum),
                   grpc::StatusCode::FAILED_PRECONDITION);

    // Abort: the source serves on; the restarted target forgot the migration, and a new one
    // drops the leftover copy before anything else.
    v1::MigrationStepResponse step;
    QVERIFY_OK(abort(cluster, move.source, 9, &step));
    QCOMPARE(step.status().state(), v1::ABORTED);
    QVERIFY_OK(cluster.put(testKey(6), valueFor(6, 2)));
    QVERIFY(cluster.node(move.target).restart());
    QVERIFY_STATUS(abort(cluster, move.target, 9), grpc::StatusCode::NOT_FOUND);
    QVERIFY(storedEntries(cluster, move.target, move) > 0);
    QVERIFY_OK(begin(cluster, move.target, 10, v1::TARGET, move));
    QCOMPARE(storedEntries(cluster, move.target, move), std::uint64_t{0});
    QVERIFY_OK(abort(cluster, move.target, 10));
}

void TestNodeMigrationSteps::brokenSourceBeginsAgain() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster));
    const Move move = chooseMove(cluster);
    QVERIFY(writeKeys(cluster, 30, 1));
    QVERIFY(beginBoth(cluster, 11, move));
    v1::CopyBatchResponse batch;
    QVERIFY_OK(copyBatch(cluster, 11, move, "", kSmallBatchBytes, &batch));
    cluster.node(move.target).kill9();
    QVERIFY_OK(cluster.put(testKey(2), valueFor(2, 2))); // the target misses this one
    QCOMPARE(statusOn(cluster, move.source, 11).state(), v1::BROKEN);

    // Same id again on both: the target starts empty, the source forwards again, and a fresh
    // copy makes both sides agree.
    QVERIFY(cluster.node(move.target).restart());
    QVERIFY(beginBoth(cluster, 11, move));
    const v1::MigrationStatus again = statusOn(cluster, move.source, 11);
    QCOMPARE(again.state(), v1::SHADOWING);
    QVERIFY(again.error().empty());
    QCOMPARE(again.copied_entries(), std::uint64_t{0});
    QVERIFY_OK(copyRest(cluster, 11, move, ""));
    QVERIFY_OK(cluster.put(testKey(3), valueFor(3, 2)));
    QCOMPARE(statusOn(cluster, move.target, 11).forwarded_writes(), std::uint64_t{1});
    v1::RangeChecksumResponse sourceSum;
    v1::RangeChecksumResponse targetSum;
    QVERIFY_OK(checksum(cluster, move.source, 11, true, &sourceSum));
    QVERIFY_OK(checksum(cluster, move.target, 11, false, &targetSum));
    QCOMPARE(targetSum.checksum(), sourceSum.checksum());
    QCOMPARE(targetSum.entries(), std::uint64_t{30});

    // Abort unfences the source and empties the target.
    QVERIFY_OK(abort(cluster, move.source, 11));
    QVERIFY_OK(abort(cluster, move.target, 11));
    QVERIFY_OK(cluster.put(testKey(3), valueFor(3, 3)));
    QCOMPARE(storedEntries(cluster, move.target, move), std::uint64_t{0});
}

void TestNodeMigrationSteps::copyKeepsNewerVersionsOnTheTarget() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster));
    const Move move = chooseMove(cluster);
    QVERIFY(writeKeys(cluster, 10, 1));
    v1::GetResponse original;
    QVERIFY_OK(cluster.get(testKey(3), &original));
    QVERIFY(beginBoth(cluster, 21, move));

    // A write the target holds with a newer version than the source's copy (as a shadow write
    // that overtook the copy would be).
    const std::string sourceName = cluster.node(move.source).name().toStdString();
    v1::IngestRequest newer;
    newer.set_migration_id(21);
    newer.set_from_node(sourceName);
    newer.set_shadow(true);
    v1::Entry* entry = newer.add_entries();
    entry->set_key(testKey(3));
    entry->set_value("newer");
    entry->mutable_version()->set_hlc(original.version().hlc() + (std::uint64_t{100} << 16));
    entry->mutable_version()->set_node(sourceName);
    v1::IngestResponse ingested;
    QVERIFY_OK(cluster.call(move.target, &v1::NodeAgent::Stub::Ingest, newer, &ingested));
    QCOMPARE(ingested.applied(), std::uint64_t{1});

    v1::CopyBatchResponse batch;
    QVERIFY_OK(copyBatch(cluster, 21, move, "", 1 << 20, &batch));
    QVERIFY(batch.done());
    QCOMPARE(batch.entries(), std::uint64_t{10});
    QCOMPARE(batch.applied(), std::uint64_t{9});

    // An older version arriving late is skipped too.
    entry->set_value("older");
    entry->mutable_version()->set_hlc(original.version().hlc() - 1);
    QVERIFY_OK(cluster.call(move.target, &v1::NodeAgent::Stub::Ingest, newer, &ingested));
    QCOMPARE(ingested.skipped_older(), std::uint64_t{1});

    // After a cutover the target serves the newer value with its version.
    v1::RangeChecksumResponse sum;
    QVERIFY_OK(checksum(cluster, move.source, 21, true, &sum));
    Result<OwnershipTable> moved =
        cluster.table().reassign(move.shard.id, cluster.node(move.target).name().toStdString());
    QVERIFY(moved.ok());
    QVERIFY_OK(cutover(cluster, move.target, 21, moved.value()));
    QVERIFY_OK(cutover(cluster, move.source, 21, moved.value()));
    QVERIFY_OK(cluster.installTable(moved.value()));
    v1::GetResponse got;
    QVERIFY_OK(cluster.get(testKey(3), &got));
    QCOMPARE(got.value(), std::string("newer"));
    QCOMPARE(got.version().hlc(), original.version().hlc() + (std::uint64_t{100} << 16));
    // The target's clock moved past the version it received, so its own writes win.
    v1::PutResponse put;
    QVERIFY_OK(cluster.put(testKey(3), "latest", &put));
    QVERIFY(put.version().hlc() > got.version().hlc());
}

void TestNodeMigrationSteps::concurrentWritesDuringCopyAndFence() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster));
    const Move move = chooseMove(cluster);
    QVERIFY(writeKeys(cluster, 50, 1));
    QVERIFY(beginBoth(cluster, 25, move));

    // Writers run through the copy and into the fence: every write they were told succeeded
    // must reach the target, by the copy or by a forward, and the fence refuses the rest.
    WriterThreads clients;
    clients.start(cluster, cluster.node(move.source).address().toStdString(), 3, 1000);
    QTRY_VERIFY_WITH_TIMEOUT(clients.writes.load() >= 30, 10000);
    QVERIFY_OK(copyRest(cluster, 25, move, ""));
    v1::RangeChecksumResponse sourceSum;
    QVERIFY_OK(checksum(cluster, move.source, 25, true, &sourceSum));
    QTRY_VERIFY_WITH_TIMEOUT(clients.refusals.load() >= 3, 10000);
    clients.join();
    for (const Writer& writer : clients.writers) {
        QVERIFY2(writer.unexpected.empty(), writer.unexpected.c_str());
        QVERIFY(!writer.acknowledged.empty());
    }

    v1::RangeChecksumResponse targetSum;
    QVERIFY_OK(checksum(cluster, move.target, 25, false, &targetSum));
    QCOMPARE(targetSum.entries(), sourceSum.entries());
    QCOMPARE(targetSum.checksum(), sourceSum.checksum());
    QVERIFY(statusOn(cluster, move.source, 25).forwarded_writes() > 0);

    Result<OwnershipTable> moved =
        cluster.table().reassign(move.shard.id, cluster.node(move.target).name().toStdString());
    QVERIFY(moved.ok());
    QVERIFY_OK(cutover(cluster, move.target, 25, moved.value()));
    QVERIFY_OK(cutover(cluster, move.source, 25, moved.value()));
    QVERIFY_OK(cluster.installTable(moved.value()));
    for (const Writer& writer : clients.writers) {
        for (const auto& [key, value] : writer.acknowledged) {
            v1::GetResponse got;
            QVERIFY_OK(cluster.get(key, &got));
            QCOMPARE(got.value(), value);
        }
    }
}

void TestNodeMigrationSteps::overlappingMigrationRefused() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster, 3));
    const Move move = chooseMove(cluster);
    QVERIFY(beginBoth(cluster, 31, move));

    // Another migration of the same range, from the source to a third node.
    Move other = move;
    other.target = 3 - move.source - move.target;
    const grpc::Status overlap = begin(cluster, move.source, 32, v1::SOURCE, other);
    QVERIFY_STATUS(overlap, grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY2(mentions(overlap, "overlaps") && mentions(overlap, "migration 31"),
             overlap.error_message().c_str());
    // The same id with other parameters is a different migration.
    QVERIFY_STATUS(begin(cluster, move.source, 31, v1::SOURCE, other),
                   grpc::StatusCode::ALREADY_EXISTS);

    // Once aborted, the range is free again.
    QVERIFY_OK(abort(cluster, move.source, 31));
    QVERIFY_OK(abort(cluster, move.target, 31));
    QVERIFY_OK(begin(cluster, other.target, 32, v1::TARGET, other));
    QVERIFY_OK(begin(cluster, move.source, 32, v1::SOURCE, other));
}

void TestNodeMigrationSteps::beginShadowValidation_data() {
    QTest::addColumn<int>("defect");
    QTest::addColumn<int>("expectedCode");
    QTest::addColumn<QString>("expectedText");

    const auto row = [](const char* name, int defect, grpc::StatusCode code, const char* text) {
        QTest::newRow(name) << defect << static_cast<int>(code) << QString::fromLatin1(text);
    };
    row("zero id", 0, grpc::StatusCode::INVALID_ARGUMENT, "migration_id");
    row("no role", 1, grpc::StatusCode::INVALID_ARGUMENT, "role");
    row("stale epoch", 2, grpc::StatusCode::FAILED_PRECONDITION, "request epoch 0");
    row("newer epoch", 3, grpc::StatusCode::FAILED_PRECONDITION, "is at epoch 1");
    row("range not the shard's", 4, grpc::StatusCode::FAILED_PRECONDITION, "is not shard");
    row("unknown shard", 5, grpc::StatusCode::FAILED_PRECONDITION, "no shard 99");
    row("source does not own", 6, grpc::StatusCode::FAILED_PRECONDITION, "is not the owner");
    row("target already owns", 7, grpc::StatusCode::FAILED_PRECONDITION, "already owns");
    row("source without address", 8, grpc::StatusCode::INVALID_ARGUMENT, "peer_address");
    row("peer is itself", 9, grpc::StatusCode::INVALID_ARGUMENT, "peer_node");
}

void TestNodeMigrationSteps::beginShadowValidation() {
    QFETCH(int, defect);
    QFETCH(int, expectedCode);
    QFETCH(QString, expectedText);

    QVERIFY(m_sharedStarted);
    NodeCluster& cluster = m_shared;
    const Move move = chooseMove(cluster);
    v1::BeginShadowRequest request;
    request.set_migration_id(41);
    request.set_epoch(cluster.table().epoch());
    request.set_role(v1::SOURCE);
    request.set_shard_id(move.shard.id);
    *request.mutable_range() = toProto(move.shard.range);
    request.set_peer_node(cluster.node(move.target).name().toStdString());
    request.set_peer_address(cluster.node(move.target).address().toStdString());
    int node = move.source;
    switch (defect) {
    case 0:
        request.set_migration_id(0);
        break;
    case 1:
        request.set_role(v1::MIGRATION_ROLE_UNSPECIFIED);
        break;
    case 2:
        request.set_epoch(0);
        break;
    case 3:
        request.set_epoch(cluster.table().epoch() + 1);
        break;
    case 4:
        request.mutable_range()->set_end("b");
        break;
    case 5:
        request.set_shard_id(99);
        break;
    case 6:
        node = move.target;
        request.set_peer_node(move.shard.owner);
        break;
    case 7:
        request.set_role(v1::TARGET);
        break;
    case 8:
        request.clear_peer_address();
        break;
    case 9:
        request.set_peer_node(move.shard.owner);
        break;
    default:
        QFAIL("unknown defect");
    }
    v1::MigrationStepResponse reply;
    const grpc::Status status =
        cluster.call(node, &v1::NodeAgent::Stub::BeginShadow, request, &reply);
    QVERIFY_STATUS(status, static_cast<grpc::StatusCode>(expectedCode));
    QVERIFY2(mentions(status, expectedText.toStdString()), status.error_message().c_str());
    // A refused begin leaves nothing behind.
    QCOMPARE(statusOn(cluster, node, request.migration_id()).state(),
             v1::MIGRATION_STATE_UNSPECIFIED);
}

void TestNodeMigrationSteps::stepsNeedTheToken() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster));
    const Move move = chooseMove(cluster);
    v1::BeginShadowRequest request;
    request.set_migration_id(51);
    request.set_epoch(cluster.table().epoch());
    request.set_role(v1::TARGET);
    request.set_shard_id(move.shard.id);
    *request.mutable_range() = toProto(move.shard.range);
    request.set_peer_node(move.shard.owner);
    v1::MigrationStepResponse reply;
    for (const std::string& token : {std::string(), std::string("not-the-token")}) {
        const std::unique_ptr<grpc::ClientContext> context = cluster.context(false);
        addToken(*context, token);
        const grpc::Status status =
            cluster.stub(move.target).BeginShadow(context.get(), request, &reply);
        QVERIFY_STATUS(status, grpc::StatusCode::UNAUTHENTICATED);
    }
    QCOMPARE(statusOn(cluster, move.target, 51).state(), v1::MIGRATION_STATE_UNSPECIFIED);

    // Ingest, the node-to-node call, is no exception.
    QVERIFY(beginBoth(cluster, 51, move));
    v1::IngestRequest ingest;
    ingest.set_migration_id(51);
    ingest.set_from_node(move.shard.owner);
    v1::IngestResponse ingested;
    const std::unique_ptr<grpc::ClientContext> context = cluster.context(false);
    addToken(*context, "not-the-token");
    QVERIFY_STATUS(cluster.stub(move.target).Ingest(context.get(), ingest, &ingested),
                   grpc::StatusCode::UNAUTHENTICATED);
}

void TestNodeMigrationSteps::unknownMigrationIsNotFound() {
    QVERIFY(m_sharedStarted);
    NodeCluster& cluster = m_shared;
    const Move move = chooseMove(cluster);
    v1::CopyBatchResponse batch;
    const grpc::Status copy = copyBatch(cluster, 77, move, "", 1024, &batch);
    QVERIFY_STATUS(copy, grpc::StatusCode::NOT_FOUND);
    QVERIFY2(mentions(copy, "migration 77"), copy.error_message().c_str());
    v1::RangeChecksumResponse sum;
    QVERIFY_STATUS(checksum(cluster, move.source, 77, true, &sum), grpc::StatusCode::NOT_FOUND);
    QVERIFY_STATUS(end(cluster, move.source, 77), grpc::StatusCode::NOT_FOUND);
    QVERIFY_STATUS(abort(cluster, move.source, 77), grpc::StatusCode::NOT_FOUND);
    QVERIFY_STATUS(cutover(cluster, move.source, 77, cluster.table()), grpc::StatusCode::NOT_FOUND);
    // Without a migration id any range can be summed, but nothing can be fenced.
    QVERIFY_STATUS(checksum(cluster, move.source, 0, true, &sum),
                   grpc::StatusCode::INVALID_ARGUMENT);
    QVERIFY_OK(checksum(cluster, move.source, 0, false, &sum));
}

// --- Fences that outlive the source process -----------------------------------------------------

namespace {

node::PersistedFence fence(std::uint64_t id, Key start, Key end, std::string target = "n2") {
    node::PersistedFence made;
    made.migration_id = id;
    made.shard_id = id * 10;
    made.range = KeyRange{std::move(start), std::move(end)};
    made.begin_epoch = id + 100;
    made.target_node = std::move(target);
    return made;
}

QByteArray bytesOf(const std::string& text) {
    return QByteArray(text.data(), static_cast<qsizetype>(text.size()));
}

} // namespace

void TestNodeMigrationSteps::fenceEncodingRoundTrips() {
    const std::vector<std::vector<node::PersistedFence>> cases = {
        {},
        {fence(1, "", "")},
        {fence(7, "a", "k"), fence(std::uint64_t{1} << 63, std::string("\0\xff", 2), "", "node-3"),
         fence(9, "k", std::string(5000, 'z'), std::string(300, 't'))},
    };
    for (const std::vector<node::PersistedFence>& fences : cases) {
        const Result<std::vector<node::PersistedFence>> decoded =
            node::decodeFences(node::encodeFences(fences));
        QVERIFY2(decoded.ok(), decoded.ok() ? "" : decoded.error().message.c_str());
        QCOMPARE(decoded->size(), fences.size());
        QVERIFY(decoded.value() == fences);
    }
}

void TestNodeMigrationSteps::fenceEncodingIsStable() {
    // A node must read what an older build of itself wrote: the layout is fixed per version.
    node::PersistedFence one = fence(2, "a", "");
    one.shard_id = 0x0102;
    one.begin_epoch = 5;
    one.target_node = "t";
    const QByteArray expected = QByteArray::fromHex("01"               // version
                                                    "01000000"         // one fence
                                                    "0200000000000000" // migration id
                                                    "0201000000000000" // shard id
                                                    "0500000000000000" // begin epoch
                                                    "0100000061"       // start "a"
                                                    "00000000"         // end: unbounded
                                                    "0100000074");     // target "t"
    QCOMPARE(bytesOf(node::encodeFences({one})), expected);
}

void TestNodeMigrationSteps::fenceDecodingNamesTheDefect_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("expectedText");

    const auto encoded = [](const std::vector<node::PersistedFence>& fences) {
        return bytesOf(node::encodeFences(fences));
    };
    const QByteArray good = encoded({fence(3, "a", "b")});
    QTest::newRow("empty") << QByteArray() << QStringLiteral("empty value");
    QTest::newRow("unknown version")
        << QByteArray(good).replace(0, 1, "\x02") << QStringLiteral("unknown format version 2");
    QTest::newRow("no count") << good.left(3) << QStringLiteral("truncated: fence count");
    QTest::newRow("count beyond the value")
        << QByteArray::fromHex("01e8030000") + QByteArray(40, '\0')
        << QStringLiteral("1000 fences cannot fit");
    QTest::newRow("cut in the target")
        << good.left(good.size() - 1) << QStringLiteral("fence 1 of 1: target node");
    QTest::newRow("trailing bytes")
        << good + QByteArray("x") << QStringLiteral("1 unexpected bytes after the last fence");
    QTest::newRow("migration id 0")
        << encoded({fence(0, "a", "b")}) << QStringLiteral("fence 1 of 1: migration id 0");
    QTest::newRow("empty range") << encoded({fence(4, "b", "b")})
                                 << QStringLiteral("fence 1 of 1: empty range");
    QTest::newRow("reversed range")
        << encoded({fence(4, "c", "b")}) << QStringLiteral("empty range");
    QTest::newRow("no target") << encoded({fence(4, "a", "b", "")})
                               << QStringLiteral("no target node");
    QTest::newRow("id twice") << encoded({fence(4, "a", "b"), fence(4, "c", "d")})
                              << QStringLiteral("fence 2 of 2: migration 4 appears twice");
}

void TestNodeMigrationSteps::fenceDecodingNamesTheDefect() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, expectedText);
    const Result<std::vector<node::PersistedFence>> decoded = node::decodeFences(
        std::string_view(bytes.constData(), static_cast<std::size_t>(bytes.size())));
    QVERIFY(!decoded.ok());
    const QString message = QString::fromStdString(decoded.error().message);
    QVERIFY2(message.contains(expectedText), qPrintable(message));
    QVERIFY2(message.startsWith(QStringLiteral("migration fences: ")), qPrintable(message));
}

void TestNodeMigrationSteps::everyTruncatedFenceValueIsRefused() {
    const std::string full =
        node::encodeFences({fence(5, "a", "m"), fence(6, "m", "", "a-target")});
    QVERIFY(node::decodeFences(full).ok());
    for (std::size_t length = 0; length < full.size(); ++length) {
        const Result<std::vector<node::PersistedFence>> decoded =
            node::decodeFences(std::string_view(full).substr(0, length));
        QVERIFY2(!decoded.ok(), qPrintable(QStringLiteral("prefix of %1 bytes").arg(length)));
    }
}

void TestNodeMigrationSteps::fenceSurvivesAKilledSourceUntilCutover() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster));
    const Move move = chooseMove(cluster);
    QVERIFY(sourceOwnsTheRest(cluster, move));
    QCOMPARE(cluster.ownerIndex("zz-outside"), move.source);
    QVERIFY(writeKeys(cluster, 30, 1));
    std::uint64_t fencedChecksum = 0;
    QVERIFY(copyAndFence(cluster, 61, move, &fencedChecksum));

    // kill -9 right after the fence's reply: the executor may be committing the move now.
    QVERIFY(killAndRestartSource(cluster, move));
    const grpc::Status refused = cluster.put(testKey(3), valueFor(3, 2));
    QVERIFY_STATUS(refused, grpc::StatusCode::UNAVAILABLE);
    QCOMPARE(refused.error_message(),
             "range " + formatKeyRange(move.shard.range) +
                 " is fenced by migration 61 (restored after a restart); waiting for its cutover "
                 "or abort");
    QVERIFY_STATUS(cluster.remove(testKey(4)), grpc::StatusCode::UNAVAILABLE);
    QVERIFY_OK(cluster.put("zz-outside", "still served"));
    v1::GetResponse got;
    QVERIFY_OK(cluster.get(testKey(3), &got)); // reads go on
    QCOMPARE(got.value(), valueFor(3, 1));

    const v1::MigrationStatus restored = statusOn(cluster, move.source, 61);
    QCOMPARE(restored.state(), v1::FENCED);
    QCOMPARE(restored.role(), v1::SOURCE);
    QCOMPARE(restored.shard_id(), move.shard.id);
    QVERIFY(fromProto(restored.range()) == move.shard.range);
    QCOMPARE(restored.peer_node(), cluster.node(move.target).name().toStdString());
    QVERIFY2(restored.error().find("restored after a restart") != std::string::npos,
             restored.error().c_str());

    // It cannot shadow again (no target channel, no forwarding), and it copies nothing; the
    // executor may check the fenced data again.
    const grpc::Status again = begin(cluster, move.source, 61, v1::SOURCE, move);
    QVERIFY_STATUS(again, grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY2(mentions(again, "AbortMigration") && mentions(again, "Cutover"),
             again.error_message().c_str());
    v1::CopyBatchResponse batch;
    QVERIFY_STATUS(copyBatch(cluster, 61, move, "", 1024, &batch),
                   grpc::StatusCode::FAILED_PRECONDITION);
    v1::RangeChecksumResponse sum;
    QVERIFY_OK(checksum(cluster, move.source, 61, true, &sum));
    QCOMPARE(sum.checksum(), fencedChecksum);
    QCOMPARE(statusOn(cluster, move.source, 61).state(), v1::FENCED);

    // The executor's retried Cutover works as on a live fence; then the range is refused by epoch.
    Result<OwnershipTable> moved =
        cluster.table().reassign(move.shard.id, cluster.node(move.target).name().toStdString());
    QVERIFY(moved.ok());
    v1::MigrationStepResponse step;
    QVERIFY_OK(cutover(cluster, move.source, 61, moved.value(), &step));
    QCOMPARE(step.status().state(), v1::CUT_OVER);
    const grpc::Status stale = cluster.put(testKey(3), valueFor(3, 2));
    QVERIFY_STATUS(stale, grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY(epochMismatchOf(stale).has_value());
    QVERIFY_OK(cutover(cluster, move.target, 61, moved.value()));

    // After another restart nothing is fenced: the source forgot the migration, refuses the
    // range by epoch, and serves the rest.
    QVERIFY(killAndRestartSource(cluster, move));
    QCOMPARE(statusOn(cluster, move.source, 61).state(), v1::MIGRATION_STATE_UNSPECIFIED);
    QVERIFY_STATUS(cluster.put(testKey(3), valueFor(3, 2)), grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY_OK(cluster.installTable(moved.value()));
    QVERIFY_OK(cluster.put(testKey(3), valueFor(3, 3))); // the target's now
    QCOMPARE(cluster.ownerIndex(testKey(3)), move.target);
    QVERIFY_OK(cluster.put("zz-outside", "after the move"));
    QCOMPARE(cluster.ownerIndex("zz-outside"), move.source);
}

void TestNodeMigrationSteps::abortClearsARestoredFence() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster));
    const Move move = chooseMove(cluster);
    QVERIFY(writeKeys(cluster, 20, 1));
    QVERIFY(copyAndFence(cluster, 62, move));
    QVERIFY(killAndRestartSource(cluster, move));
    QVERIFY_STATUS(cluster.put(testKey(1), valueFor(1, 2)), grpc::StatusCode::UNAVAILABLE);
    QCOMPARE(statusOn(cluster, move.source, 62).state(), v1::FENCED);

    v1::MigrationStepResponse step;
    QVERIFY_OK(abort(cluster, move.source, 62, &step));
    QCOMPARE(step.status().state(), v1::ABORTED);
    QVERIFY_OK(abort(cluster, move.source, 62, &step)); // repeated: nothing more to do
    QVERIFY_OK(cluster.put(testKey(1), valueFor(1, 2)));
    QVERIFY_OK(abort(cluster, move.target, 62));
    QCOMPARE(storedEntries(cluster, move.target, move), std::uint64_t{0});

    // The abort was persisted too: another restart leaves the range writable.
    QVERIFY(killAndRestartSource(cluster, move));
    QCOMPARE(statusOn(cluster, move.source, 62).state(), v1::MIGRATION_STATE_UNSPECIFIED);
    QVERIFY_OK(cluster.put(testKey(1), valueFor(1, 3)));
    v1::GetResponse got;
    QVERIFY_OK(cluster.get(testKey(1), &got));
    QCOMPARE(got.value(), valueFor(1, 3));
    // And the range may move again.
    QVERIFY(beginBoth(cluster, 63, move));
}

void TestNodeMigrationSteps::liveCutoverAndAbortClearTheirFences() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster));
    const Move move = chooseMove(cluster);
    QVERIFY(writeKeys(cluster, 20, 1));

    // Aborted while the source ran: after a kill -9 the range is writable.
    QVERIFY(copyAndFence(cluster, 64, move));
    QVERIFY_OK(abort(cluster, move.source, 64));
    QVERIFY_OK(abort(cluster, move.target, 64));
    QVERIFY(killAndRestartSource(cluster, move));
    QCOMPARE(statusOn(cluster, move.source, 64).state(), v1::MIGRATION_STATE_UNSPECIFIED);
    QVERIFY_OK(cluster.put(testKey(2), valueFor(2, 2)));

    // Cut over while the source ran: after a kill -9 nothing is fenced, the range is refused by
    // epoch (not UNAVAILABLE), and EndMigration has nothing to do there any more.
    QVERIFY(copyAndFence(cluster, 65, move));
    Result<OwnershipTable> moved =
        cluster.table().reassign(move.shard.id, cluster.node(move.target).name().toStdString());
    QVERIFY(moved.ok());
    QVERIFY_OK(cutover(cluster, move.target, 65, moved.value()));
    QVERIFY_OK(cutover(cluster, move.source, 65, moved.value()));
    QVERIFY(killAndRestartSource(cluster, move));
    QCOMPARE(statusOn(cluster, move.source, 65).state(), v1::MIGRATION_STATE_UNSPECIFIED);
    QVERIFY_STATUS(cluster.put(testKey(2), valueFor(2, 3)), grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY_OK(cluster.installTable(moved.value()));
    QVERIFY_OK(cluster.put(testKey(2), valueFor(2, 3)));

    // Its copy of the range is still on disk: EndMigration with the range drops it, and only
    // because the node owns none of the range any more.
    QCOMPARE(storedEntries(cluster, move.source, move), std::uint64_t{20});
    QVERIFY_STATUS(end(cluster, move.source, 65), grpc::StatusCode::NOT_FOUND);
    v1::MigrationStepResponse step;
    const grpc::Status kept = end(cluster, move.target, 165, &step, move.shard.range);
    QVERIFY_STATUS(kept, grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY2(mentions(kept, "owns part of the range"), kept.error_message().c_str());
    QVERIFY_OK(end(cluster, move.source, 65, &step, move.shard.range));
    QCOMPARE(step.status().state(), v1::ENDED);
    QVERIFY(!step.status().error().empty());
    QCOMPARE(storedEntries(cluster, move.source, move), std::uint64_t{0});
    QCOMPARE(storedEntries(cluster, move.target, move), std::uint64_t{20});
}

// --- Verification from pinned snapshots ---------------------------------------------------------

grpc::Status TestNodeMigrationSteps::pinnedChecksums(NodeCluster& cluster, std::uint64_t id,
                                                     const Move& move,
                                                     v1::RangeChecksumResponse* sourceSum,
                                                     v1::RangeChecksumResponse* targetSum) {
    v1::RangeChecksumRequest pin;
    pin.set_migration_id(id);
    pin.set_pin_target_snapshot(true);
    grpc::Status status =
        cluster.call(move.source, &v1::NodeAgent::Stub::RangeChecksum, pin, sourceSum);
    if (!status.ok())
        return status;
    if (sourceSum->target_snapshot_id() == 0)
        return grpc::Status(grpc::StatusCode::INTERNAL, "the source named no target snapshot");
    v1::RangeChecksumRequest pinned;
    pinned.set_migration_id(id);
    pinned.set_snapshot_id(sourceSum->target_snapshot_id());
    return cluster.call(move.target, &v1::NodeAgent::Stub::RangeChecksum, pinned, targetSum);
}

grpc::Status TestNodeMigrationSteps::fenceWrites(NodeCluster& cluster, int index, std::uint64_t id,
                                                 v1::MigrationStepResponse* reply) {
    v1::FenceWritesRequest request;
    request.set_migration_id(id);
    v1::MigrationStepResponse ignored;
    return cluster.call(index, &v1::NodeAgent::Stub::FenceWrites, request,
                        reply ? reply : &ignored);
}

void TestNodeMigrationSteps::snapshotChecksumsWhileWritesGoOn() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster));
    const Move move = chooseMove(cluster);
    QVERIFY(writeKeys(cluster, 50, 1));
    QVERIFY(beginBoth(cluster, 71, move));

    WriterThreads clients;
    clients.start(cluster, cluster.node(move.source).address().toStdString(), 3, 2000);
    QTRY_VERIFY_WITH_TIMEOUT(clients.writes.load() >= 30, 10000);
    QVERIFY_OK(copyRest(cluster, 71, move, ""));

    // The two snapshots agree although writes never stopped: none was refused, and more were
    // acknowledged after the pin, so the current data differs from the snapshot.
    v1::RangeChecksumResponse sourceSum;
    v1::RangeChecksumResponse targetSum;
    QVERIFY_OK(pinnedChecksums(cluster, 71, move, &sourceSum, &targetSum));
    QCOMPARE(targetSum.checksum(), sourceSum.checksum());
    QCOMPARE(targetSum.entries(), sourceSum.entries());
    QCOMPARE(targetSum.bytes(), sourceSum.bytes());
    QCOMPARE(statusOn(cluster, move.source, 71).state(), v1::SHADOWING);
    const int writesAtPin = clients.writes.load();
    QTRY_VERIFY_WITH_TIMEOUT(clients.writes.load() >= writesAtPin + 30, 10000);
    QCOMPARE(clients.refusals.load(), 0);
    v1::RangeChecksumResponse now;
    QVERIFY_OK(checksum(cluster, move.source, 71, false, &now));
    QVERIFY(now.checksum() != sourceSum.checksum());

    // A second pin releases the first snapshot on the target.
    v1::RangeChecksumResponse again;
    v1::RangeChecksumResponse targetAgain;
    QVERIFY_OK(pinnedChecksums(cluster, 71, move, &again, &targetAgain));
    QCOMPARE(targetAgain.checksum(), again.checksum());
    QVERIFY(again.target_snapshot_id() != sourceSum.target_snapshot_id());
    v1::RangeChecksumRequest released;
    released.set_migration_id(71);
    released.set_snapshot_id(sourceSum.target_snapshot_id());
    const grpc::Status gone =
        cluster.call(move.target, &v1::NodeAgent::Stub::RangeChecksum, released, &now);
    QVERIFY_STATUS(gone, grpc::StatusCode::NOT_FOUND);
    QVERIFY2(mentions(gone, "verify again"), gone.error_message().c_str());

    // FenceWrites stops the writers without a digest; then both sides hold the same data.
    v1::MigrationStepResponse step;
    QVERIFY_OK(fenceWrites(cluster, move.source, 71, &step));
    QCOMPARE(step.status().state(), v1::FENCED);
    QTRY_VERIFY_WITH_TIMEOUT(clients.refusals.load() >= 3, 10000);
    clients.join();
    for (const Writer& writer : clients.writers)
        QVERIFY2(writer.unexpected.empty(), writer.unexpected.c_str());
    v1::RangeChecksumResponse fencedSource;
    v1::RangeChecksumResponse fencedTarget;
    QVERIFY_OK(checksum(cluster, move.source, 71, false, &fencedSource));
    QVERIFY_OK(checksum(cluster, move.target, 71, false, &fencedTarget));
    QCOMPARE(fencedTarget.checksum(), fencedSource.checksum());

    Result<OwnershipTable> moved =
        cluster.table().reassign(move.shard.id, cluster.node(move.target).name().toStdString());
    QVERIFY(moved.ok());
    QVERIFY_OK(cutover(cluster, move.source, 71, moved.value()));
    QVERIFY_OK(cutover(cluster, move.target, 71, moved.value()));
    QVERIFY_OK(cluster.installTable(moved.value()));
    for (const Writer& writer : clients.writers) {
        for (const auto& [key, value] : writer.acknowledged) {
            v1::GetResponse got;
            QVERIFY_OK(cluster.get(key, &got));
            QCOMPARE(got.value(), value);
        }
    }
    // The cutover released the target's snapshot.
    const grpc::Status afterCutover =
        cluster.call(move.target, &v1::NodeAgent::Stub::RangeChecksum, released, &now);
    QVERIFY_STATUS(afterCutover, grpc::StatusCode::NOT_FOUND);
}

void TestNodeMigrationSteps::snapshotAndFenceRefusals() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster));
    const Move move = chooseMove(cluster);
    QVERIFY(writeKeys(cluster, 5, 1));
    QVERIFY(beginBoth(cluster, 72, move));
    v1::RangeChecksumResponse sum;

    const auto checksumWith = [&](int index, std::uint64_t id, bool pin, std::uint64_t snapshot,
                                  bool fence) {
        v1::RangeChecksumRequest request;
        request.set_migration_id(id);
        request.set_pin_target_snapshot(pin);
        request.set_snapshot_id(snapshot);
        request.set_fence_writes(fence);
        if (id == 0)
            *request.mutable_range() = toProto(move.shard.range);
        return cluster.call(index, &v1::NodeAgent::Stub::RangeChecksum, request, &sum);
    };
    QVERIFY_STATUS(checksumWith(move.source, 0, true, 0, false),
                   grpc::StatusCode::INVALID_ARGUMENT);
    QVERIFY_STATUS(checksumWith(move.target, 0, false, 5, false),
                   grpc::StatusCode::INVALID_ARGUMENT);
    QVERIFY_STATUS(checksumWith(move.source, 72, true, 0, true),
                   grpc::StatusCode::INVALID_ARGUMENT);
    QVERIFY_STATUS(checksumWith(move.source, 72, true, 5, false),
                   grpc::StatusCode::INVALID_ARGUMENT);
    QVERIFY_STATUS(checksumWith(move.target, 72, false, 5, true),
                   grpc::StatusCode::INVALID_ARGUMENT);
    const grpc::Status onTarget = checksumWith(move.target, 72, true, 0, false);
    QVERIFY_STATUS(onTarget, grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY2(mentions(onTarget, "is for the source"), onTarget.error_message().c_str());
    const grpc::Status onSource = checksumWith(move.source, 72, false, 5, false);
    QVERIFY_STATUS(onSource, grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY2(mentions(onSource, "is for the target"), onSource.error_message().c_str());
    QVERIFY_STATUS(checksumWith(move.target, 72, false, 12345, false), grpc::StatusCode::NOT_FOUND);

    // PinSnapshot is node to node: only from the migration's source, and only with the token.
    v1::PinSnapshotRequest pin;
    pin.set_migration_id(72);
    pin.set_from_node("somebody-else");
    v1::PinSnapshotResponse pinned;
    const grpc::Status stranger =
        cluster.call(move.target, &v1::NodeAgent::Stub::PinSnapshot, pin, &pinned);
    QVERIFY_STATUS(stranger, grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY2(mentions(stranger, "somebody-else"), stranger.error_message().c_str());
    pin.set_from_node(move.shard.owner);
    const std::unique_ptr<grpc::ClientContext> context = cluster.context(false);
    addToken(*context, "not-the-token");
    QVERIFY_STATUS(cluster.stub(move.target).PinSnapshot(context.get(), pin, &pinned),
                   grpc::StatusCode::UNAUTHENTICATED);
    QVERIFY_STATUS(cluster.call(move.source, &v1::NodeAgent::Stub::PinSnapshot, pin, &pinned),
                   grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY_OK(cluster.call(move.target, &v1::NodeAgent::Stub::PinSnapshot, pin, &pinned));
    QVERIFY(pinned.snapshot_id() != 0);

    // FenceWrites: the source only, a known migration only, and the same call again is fine.
    QVERIFY_STATUS(fenceWrites(cluster, move.source, 99), grpc::StatusCode::NOT_FOUND);
    const grpc::Status targetFence = fenceWrites(cluster, move.target, 72);
    QVERIFY_STATUS(targetFence, grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY2(mentions(targetFence, "FenceWrites"), targetFence.error_message().c_str());
    QVERIFY_OK(fenceWrites(cluster, move.source, 72));
    QVERIFY_OK(fenceWrites(cluster, move.source, 72));
    QVERIFY_STATUS(cluster.put(testKey(1), "refused"), grpc::StatusCode::UNAVAILABLE);

    // After an abort there is nothing to pin or fence any more.
    QVERIFY_OK(abort(cluster, move.source, 72));
    QVERIFY_OK(abort(cluster, move.target, 72));
    QVERIFY_STATUS(checksumWith(move.source, 72, true, 0, false),
                   grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY_STATUS(fenceWrites(cluster, move.source, 72), grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY_STATUS(cluster.call(move.target, &v1::NodeAgent::Stub::PinSnapshot, pin, &pinned),
                   grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY_OK(cluster.put(testKey(1), "writable again"));
}

void TestNodeMigrationSteps::ingestRefusesVersionsFarAhead() {
    NodeCluster cluster;
    QVERIFY(startCluster(cluster));
    const Move move = chooseMove(cluster);
    QVERIFY(writeKeys(cluster, 3, 1));
    v1::GetResponse original;
    QVERIFY_OK(cluster.get(testKey(1), &original));
    QVERIFY(beginBoth(cluster, 73, move));

    // A source whose clock runs a minute ahead: the whole request is refused, nothing applied,
    // and the target's clock is not dragged along.
    v1::IngestRequest ahead;
    ahead.set_migration_id(73);
    ahead.set_from_node(move.shard.owner);
    ahead.set_shadow(true);
    const auto addEntry = [&](const std::string& key, std::uint64_t hlc) {
        v1::Entry* entry = ahead.add_entries();
        entry->set_key(key);
        entry->set_value("from the future");
        entry->mutable_version()->set_hlc(hlc);
        entry->mutable_version()->set_node(move.shard.owner);
    };
    addEntry(testKey(1), original.version().hlc() + 1);
    addEntry(testKey(2), original.version().hlc() + (std::uint64_t{60'000} << 16));
    v1::IngestResponse ingested;
    const grpc::Status refused =
        cluster.call(move.target, &v1::NodeAgent::Stub::Ingest, ahead, &ingested);
    QVERIFY_STATUS(refused, grpc::StatusCode::FAILED_PRECONDITION);
    QVERIFY2(mentions(refused, "ahead of this node's clock") && mentions(refused, "c0002"),
             refused.error_message().c_str());
    QCOMPARE(storedEntries(cluster, move.target, move), std::uint64_t{0});

    // Within the allowed offset it is taken.
    ahead.mutable_entries(1)->mutable_version()->set_hlc(original.version().hlc() + 2);
    QVERIFY_OK(cluster.call(move.target, &v1::NodeAgent::Stub::Ingest, ahead, &ingested));
    QCOMPARE(ingested.applied(), std::uint64_t{2});
}

QTEST_GUILESS_MAIN(TestNodeMigrationSteps)
#include "tst_node_migration_steps.moc"
