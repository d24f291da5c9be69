// The node's side of shadowed migrations, driven step by step over gRPC against real
// rangepilot-node processes, as the console's migration executor will drive them: a full move by
// hand, an abort mid-copy, a target killed mid-copy, a broken source beginning again, versions
// that a copy must not overwrite, and the refusals (overlap, bad parameters, wrong token).

#include "key.h"
#include "node_cluster.h"
#include "proto_convert.h"

#include <QtTest>

#include <cstdio>
#include <string>
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
                     v1::MigrationStepResponse* reply = nullptr);
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

private Q_SLOTS:
    void initTestCase();
    void fullMigrationByHand();
    void abortMidCopyLeavesTheSourceServing();
    void targetKilledMidCopy();
    void brokenSourceBeginsAgain();
    void copyKeepsNewerVersionsOnTheTarget();
    void overlappingMigrationRefused();
    void beginShadowValidation_data();
    void beginShadowValidation();
    void stepsNeedTheToken();
    void unknownMigrationIsNotFound();
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
                                         v1::MigrationStepResponse* reply) {
    v1::EndMigrationRequest request;
    request.set_migration_id(id);
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
    entry->mutable_version()->set_hlc(original.version().hlc() + (std::uint64_t{1000} << 16));
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
    QCOMPARE(got.version().hlc(), original.version().hlc() + (std::uint64_t{1000} << 16));
    // The target's clock moved past the version it received, so its own writes win.
    v1::PutResponse put;
    QVERIFY_OK(cluster.put(testKey(3), "latest", &put));
    QVERIFY(put.version().hlc() > got.version().hlc());
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

QTEST_GUILESS_MAIN(TestNodeMigrationSteps)
#include "tst_node_migration_steps.moc"
