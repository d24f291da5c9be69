// Shadowed migrations end to end: real rangepilot-nodes, the real workload driver with --verify,
// the console's MigrationExecutor and the local-file ownership store. What the issue asks: zero
// lost acknowledged writes and zero stale reads across a migration under load, equal checksums
// (the executor refuses to cut over otherwise), kill -9 of the target mid-copy (the migration
// rolls back, or resumes when the target returns), kill -9 of the source after the cutover.
//
// Layout: three nodes, shards [, user2) [user2, user5) [user5, +inf). The driver's keys are
// user0000..user3999, so half its traffic hits the middle shard, which every test moves. A bulk of
// larger values under "user45_..." (also in the middle shard) makes the copy take seconds at the
// rate limit, so kills land mid-copy.

#include "local_file_ownership_store.h"
#include "migration_executor.h"
#include "node_cluster.h"
#include "node_directory.h"
#include "proto_convert.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QtTest>

#include <map>
#include <mutex>

using namespace rangepilot;
using namespace rangepilot::e2e;

namespace {

constexpr ShardId kMovingShard = 2; // [user2, user5)
constexpr int kBulkKeys = 1500;
constexpr int kBulkValueBytes = 2048;
constexpr int kMigrationTimeoutMs = 90000;

std::string bulkKey(int i) {
    return "user45_" + std::to_string(100000 + i);
}
std::string bulkValue(int i) {
    std::string value(kBulkValueBytes, static_cast<char>('a' + i % 26));
    value.replace(0, std::to_string(i).size(), std::to_string(i));
    return value;
}

// Everything one test needs: the nodes, the store, the executor and the progress it reported.
class Rig {
public:
    bool start(const MigrationExecutorOptions& options) {
        NodeClusterOptions clusterOptions;
        clusterOptions.nodeCount = 3;
        clusterOptions.splitKeys = {"user2", "user5"};
        clusterOptions.token = QStringLiteral("e2e-secret");
        if (!cluster.start(clusterOptions)) {
            qWarning("cluster: %s", qPrintable(cluster.errorString()));
            return false;
        }
        auto opened =
            LocalFileOwnershipStore::open(cluster.directory() + QStringLiteral("/ownership.json"),
                                          LocalFileOwnershipStore::OpenMode::Driver);
        if (!opened) {
            qWarning("store: %s", opened.error().message.c_str());
            return false;
        }
        store = std::move(opened).value();
        if (Status initialized = store->initialize(cluster.table()); !initialized) {
            qWarning("store: %s", initialized.message().c_str());
            return false;
        }
        directory = std::make_unique<NodeDirectory>(cluster.security());
        for (int i = 0; i < cluster.size(); ++i)
            if (Status added = directory->add(cluster.node(i).name().toStdString(),
                                              cluster.node(i).address().toStdString());
                !added)
                return false;
        executor = std::make_unique<MigrationExecutor>(
            *store, *directory, options,
            [this](const MigrationProgress& progress) { record(progress); });
        return true;
    }

    void record(const MigrationProgress& progress) {
        const std::lock_guard lock(mutex);
        reports.push_back(progress);
    }
    MigrationProgress last() {
        const std::lock_guard lock(mutex);
        return reports.empty() ? MigrationProgress{} : reports.back();
    }
    std::size_t batchesDone() {
        const std::lock_guard lock(mutex);
        return reports.empty() ? 0 : reports.back().batches_done;
    }
    bool sawPhase(MigrationPhase phase) {
        const std::lock_guard lock(mutex);
        return std::any_of(reports.begin(), reports.end(),
                           [phase](const MigrationProgress& p) { return p.phase == phase; });
    }

    const Shard& movingShard() const { return *cluster.table().shardById(kMovingShard); }
    int sourceIndex() const { return cluster.indexOf(movingShard().owner); }
    int targetIndex() const { return (sourceIndex() + 1) % cluster.size(); }
    MoveInstruction move() {
        MoveInstruction move;
        move.shard = kMovingShard;
        move.range = movingShard().range;
        move.from = movingShard().owner;
        move.to = cluster.node(targetIndex()).name().toStdString();
        return move;
    }

    OwnershipTable storedTable() const { return *store->load().value().table; }

    // The bulk of larger values the copy has to carry, written through the owners.
    bool writeBulk() {
        for (int i = 0; i < kBulkKeys; ++i)
            if (grpc::Status status = cluster.put(bulkKey(i), bulkValue(i)); !status.ok()) {
                qWarning("bulk put %d: %s", i, describeStatus(status).c_str());
                return false;
            }
        return true;
    }

    // Every bulk key reads back whole from whoever owns it in the store's table now.
    int bulkKeysIntact() {
        int intact = 0;
        for (int i = 0; i < kBulkKeys; ++i) {
            v1::GetResponse reply;
            if (cluster.get(bulkKey(i), &reply).ok() && reply.found() &&
                reply.value() == bulkValue(i))
                ++intact;
        }
        return intact;
    }

    std::uint64_t entriesOn(int index, const KeyRange& range) {
        v1::RangeChecksumRequest request;
        *request.mutable_range() = toProto(range);
        v1::RangeChecksumResponse reply;
        const grpc::Status status =
            cluster.call(index, &v1::NodeAgent::Stub::RangeChecksum, request, &reply);
        return status.ok() ? reply.entries() : ~std::uint64_t{0};
    }

    std::uint64_t epochOn(int index) {
        v1::OwnershipTable reply;
        const grpc::Status status =
            cluster.call(index, &v1::NodeAgent::Stub::GetTable, v1::GetTableRequest{}, &reply);
        if (!status.ok())
            qWarning("GetTable on node %d: %s", index, describeStatus(status).c_str());
        return status.ok() ? reply.epoch() : 0;
    }

    NodeCluster cluster;
    std::unique_ptr<LocalFileOwnershipStore> store;
    std::unique_ptr<NodeDirectory> directory;
    std::unique_ptr<MigrationExecutor> executor;
    std::mutex mutex;
    std::vector<MigrationProgress> reports;
};

// The workload driver as its own process: writes and reads over the driver's keys, recording
// every acknowledged write, reading all back at the end (--verify).
class LoadProcess {
public:
    void start(NodeCluster& cluster, double seconds, const QStringList& extra = {}) {
        QStringList arguments{QStringLiteral("--duration"),       QString::number(seconds),
                              QStringLiteral("--rate"),           QStringLiteral("600"),
                              QStringLiteral("--threads"),        QStringLiteral("4"),
                              QStringLiteral("--keys"),           QStringLiteral("4000"),
                              QStringLiteral("--value-bytes"),    QStringLiteral("256"),
                              QStringLiteral("--write-fraction"), QStringLiteral("0.5"),
                              QStringLiteral("--report-every"),   QStringLiteral("0"),
                              QStringLiteral("--verify"),         QStringLiteral("--json")};
        run(cluster, arguments + extra);
    }

    // Reads back every key of a ledger an earlier run saved (--ledger-out); runs no workload.
    void verifyLedger(NodeCluster& cluster, const QString& ledger) {
        run(cluster, {QStringLiteral("--verify-ledger"), ledger, QStringLiteral("--json")});
    }

    // The driver's JSON summary once it exits; an empty object (and a warning) if it did not.
    QJsonObject finish() {
        // waitForFinished() is false for a process that already ended: ask its state instead.
        if (m_process.state() != QProcess::NotRunning && !m_process.waitForFinished(120000)) {
            qWarning("rangepilot-load did not finish");
            m_process.kill();
            m_process.waitForFinished();
            return {};
        }
        const QByteArray output = m_process.readAllStandardOutput();
        const QJsonDocument document = QJsonDocument::fromJson(output);
        if (!document.isObject())
            qWarning("rangepilot-load (exit %d) printed:\n%s\nstderr:\n%s", m_process.exitCode(),
                     output.constData(), m_process.readAllStandardError().constData());
        m_exitCode = m_process.exitCode();
        return document.object();
    }
    int exitCode() const { return m_exitCode; }

private:
    void run(NodeCluster& cluster, QStringList arguments) {
        QStringList nodes;
        for (int i = 0; i < cluster.size(); ++i)
            nodes << cluster.node(i).address();
        arguments << QStringLiteral("--nodes") << nodes.join(QLatin1Char(','))
                  << QStringLiteral("--token") << QStringLiteral("e2e-secret");
        m_process.start(QStringLiteral(RANGEPILOT_LOAD_BINARY), arguments);
    }

    QProcess m_process;
    int m_exitCode = -1;
};

qint64 field(const QJsonObject& object, const char* section, const char* name) {
    return object.value(QLatin1String(section)).toObject().value(QLatin1String(name)).toInteger(-1);
}

MigrationExecutorOptions slowCopy(int retryAttempts) {
    MigrationExecutorOptions options;
    options.copy_bytes_per_s = 1.0e6; // the bulk is 3 MB: a few seconds of copy to aim kills at
    options.batch_bytes = 128 * 1024;
    options.rpc_deadline_ms = 3000;
    options.retry_attempts = retryAttempts;
    options.retry_backoff_ms = 100;
    return options;
}

// `summary` is evaluated several times: pass a variable.
#define CHECK_NOTHING_LOST(summary)                                                                \
    do {                                                                                           \
        QVERIFY2(!(summary).isEmpty(), "the driver printed no summary");                           \
        QCOMPARE(field(summary, "verify", "lost"), 0);                                             \
        QCOMPARE(field(summary, "verify", "stale"), 0);                                            \
        QVERIFY(field(summary, "verify", "ok") > 0);                                               \
    } while (false)

} // namespace

class TestMigrationE2e : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void migratesUnderWriteLoadLosingNothing();
    void targetKilledMidCopyRollsBack();
    void targetKilledMidCopyResumesWhenItReturns();
    void sourceKilledAfterCutoverLosesNothing();
    void operatorAbortLeavesSourceAuthoritative();
    void restartedConsoleRollsBackOrFinishes();
    void refusesMovesItCannotMake();
};

void TestMigrationE2e::migratesUnderWriteLoadLosingNothing() {
    Rig rig;
    QVERIFY(rig.start(slowCopy(8)));
    QVERIFY(rig.writeBulk());
    const OwnershipTable before = rig.storedTable();
    const int source = rig.sourceIndex();
    const int target = rig.targetIndex();

    LoadProcess load;
    load.start(rig.cluster, 8);
    const Result<MigrationId> id = rig.executor->start(rig.move());
    QVERIFY2(id.ok(), id.ok() ? "" : id.error().message.c_str());
    QTRY_COMPARE_WITH_TIMEOUT(rig.executor->runningCount(), std::size_t{0}, kMigrationTimeoutMs);

    const MigrationProgress done = rig.last();
    QCOMPARE(done.phase, MigrationPhase::Done);
    QVERIFY2(done.error.isEmpty(), qPrintable(done.error));
    QVERIFY(rig.sawPhase(MigrationPhase::Copying));
    QVERIFY(rig.sawPhase(MigrationPhase::CatchingUp)); // where the checksums were compared
    QVERIFY(done.batches_done >= 10);                  // 3 MB in 128 KiB batches

    // One committed change: the target owns the range, and every node serves that epoch.
    const OwnershipTable after = rig.storedTable();
    QCOMPARE(after.epoch(), before.epoch() + 1);
    QCOMPARE(after.shardById(kMovingShard)->owner, rig.move().to);
    for (int i = 0; i < rig.cluster.size(); ++i)
        QCOMPARE(rig.epochOn(i), after.epoch());
    QVERIFY(rig.cluster.installTable(after).ok()); // the harness routes by it from here on

    // The source dropped its copy; the target holds all of it.
    QCOMPARE(rig.entriesOn(source, after.shardById(kMovingShard)->range), std::uint64_t{0});
    QVERIFY(rig.entriesOn(target, after.shardById(kMovingShard)->range) >= kBulkKeys);
    QCOMPARE(rig.bulkKeysIntact(), kBulkKeys);

    const QJsonObject summary = load.finish();
    CHECK_NOTHING_LOST(summary);
    QVERIFY(summary.value(QLatin1String("table_refreshes")).toInteger() >= 1);
    QCOMPARE(load.exitCode(), 0);
}

void TestMigrationE2e::targetKilledMidCopyRollsBack() {
    Rig rig;
    QVERIFY(rig.start(slowCopy(2)));
    QVERIFY(rig.writeBulk());
    const OwnershipTable before = rig.storedTable();

    LoadProcess load;
    load.start(rig.cluster, 6);
    QVERIFY(rig.executor->start(rig.move()).ok());
    QTRY_VERIFY_WITH_TIMEOUT(rig.batchesDone() >= 3, kMigrationTimeoutMs);
    rig.cluster.node(rig.targetIndex()).kill9();
    QTRY_COMPARE_WITH_TIMEOUT(rig.executor->runningCount(), std::size_t{0}, kMigrationTimeoutMs);

    QCOMPARE(rig.last().phase, MigrationPhase::Failed);
    QVERIFY2(!rig.last().error.isEmpty(), "a failed migration says why");
    QCOMPARE(rig.storedTable(), before); // nothing committed: the source still owns the range
    QCOMPARE(rig.epochOn(rig.sourceIndex()), before.epoch());

    const QJsonObject summary = load.finish(); // writes to the source went on while it failed
    CHECK_NOTHING_LOST(summary);
    QCOMPARE(rig.bulkKeysIntact(), kBulkKeys);
}

void TestMigrationE2e::targetKilledMidCopyResumesWhenItReturns() {
    Rig rig;
    QVERIFY(rig.start(slowCopy(40)));
    QVERIFY(rig.writeBulk());
    const OwnershipTable before = rig.storedTable();

    LoadProcess load;
    load.start(rig.cluster, 8);
    QVERIFY(rig.executor->start(rig.move()).ok());
    QTRY_VERIFY_WITH_TIMEOUT(rig.batchesDone() >= 3, kMigrationTimeoutMs);
    NodeProcess& target = rig.cluster.node(rig.targetIndex());
    target.kill9();
    QVERIFY2(target.restart(), qPrintable(target.errorString()));
    QTRY_COMPARE_WITH_TIMEOUT(rig.executor->runningCount(), std::size_t{0}, kMigrationTimeoutMs);

    QCOMPARE(rig.last().phase, MigrationPhase::Done);
    const OwnershipTable after = rig.storedTable();
    QCOMPARE(after.epoch(), before.epoch() + 1);
    QCOMPARE(after.shardById(kMovingShard)->owner, rig.move().to);
    QVERIFY(rig.cluster.installTable(after).ok());
    QCOMPARE(rig.bulkKeysIntact(), kBulkKeys);

    const QJsonObject summary = load.finish();
    CHECK_NOTHING_LOST(summary);
}

void TestMigrationE2e::sourceKilledAfterCutoverLosesNothing() {
    Rig rig;
    QVERIFY(rig.start(slowCopy(8)));
    QVERIFY(rig.writeBulk());
    const QString ledger = rig.cluster.directory() + QStringLiteral("/ledger.bin");

    LoadProcess load;
    load.start(rig.cluster, 6, {QStringLiteral("--ledger-out"), ledger});
    QVERIFY(rig.executor->start(rig.move()).ok());
    QTRY_COMPARE_WITH_TIMEOUT(rig.executor->runningCount(), std::size_t{0}, kMigrationTimeoutMs);
    QCOMPARE(rig.last().phase, MigrationPhase::Done);
    const QJsonObject summary = load.finish();
    CHECK_NOTHING_LOST(summary);

    // kill -9 the old owner and bring it back from its data directory: it must not serve the
    // range it gave away, and nothing anyone acknowledged may be missing.
    NodeProcess& source = rig.cluster.node(rig.sourceIndex());
    source.kill9();
    QVERIFY2(source.restart(), qPrintable(source.errorString()));
    QCOMPARE(rig.epochOn(rig.sourceIndex()), rig.storedTable().epoch());
    // And the new owner too: its copy must be durable.
    NodeProcess& target = rig.cluster.node(rig.targetIndex());
    target.kill9();
    QVERIFY2(target.restart(), qPrintable(target.errorString()));

    LoadProcess check;
    check.verifyLedger(rig.cluster, ledger);
    const QJsonObject verified = check.finish();
    CHECK_NOTHING_LOST(verified);
    QVERIFY(rig.cluster.installTable(rig.storedTable()).ok());
    QCOMPARE(rig.bulkKeysIntact(), kBulkKeys);
}

void TestMigrationE2e::operatorAbortLeavesSourceAuthoritative() {
    Rig rig;
    QVERIFY(rig.start(slowCopy(8)));
    QVERIFY(rig.writeBulk());
    const OwnershipTable before = rig.storedTable();
    const Result<MigrationId> id = rig.executor->start(rig.move());
    QVERIFY(id.ok());
    QTRY_VERIFY_WITH_TIMEOUT(rig.batchesDone() >= 2, kMigrationTimeoutMs);
    QVERIFY(rig.executor->abort(id.value(), "operator changed their mind").ok());
    // A second abort while the first is under way changes nothing: the first reason stands.
    const Status again = rig.executor->abort(id.value(), "a second thought");
    QVERIFY(again.ok() || again.message().find("not running") != std::string::npos);
    QTRY_COMPARE_WITH_TIMEOUT(rig.executor->runningCount(), std::size_t{0}, kMigrationTimeoutMs);

    QCOMPARE(rig.last().phase, MigrationPhase::Aborted);
    QVERIFY(rig.last().error.contains(QLatin1String("operator changed their mind")));
    QVERIFY(!rig.last().error.contains(QLatin1String("a second thought")));
    QVERIFY(rig.sawPhase(MigrationPhase::RollingBack));
    QCOMPARE(rig.storedTable(), before);
    // The target dropped what it had received; the source still has and serves everything.
    QCOMPARE(rig.entriesOn(rig.targetIndex(), rig.movingShard().range), std::uint64_t{0});
    QCOMPARE(rig.bulkKeysIntact(), kBulkKeys);
    v1::PutResponse put;
    QVERIFY(rig.cluster.put("user3000", "after the abort", &put).ok());

    const auto stored = rig.store->load();
    QVERIFY(stored.ok());
    QCOMPARE(stored->migrations.size(), std::size_t{1});
    QCOMPARE(stored->migrations.front().phase, MigrationPhase::Aborted);
}

void TestMigrationE2e::restartedConsoleRollsBackOrFinishes() {
    Rig rig;
    QVERIFY(rig.start(slowCopy(8)));
    QVERIFY(rig.writeBulk());
    const OwnershipTable before = rig.storedTable();
    const MoveInstruction move = rig.move();

    // A console that died mid-copy: the store says Copying and both nodes are shadowing.
    MigrationRecord copying;
    copying.id = 41;
    copying.shard = kMovingShard;
    copying.range = move.range;
    copying.from = move.from;
    copying.to = move.to;
    copying.phase = MigrationPhase::Copying;
    copying.table_epoch = before.epoch();
    QVERIFY(rig.store->putMigration(copying).ok());
    for (const bool sourceRole : {false, true}) {
        v1::BeginShadowRequest request;
        request.set_migration_id(copying.id);
        request.set_epoch(before.epoch());
        request.set_role(sourceRole ? v1::SOURCE : v1::TARGET);
        request.set_shard_id(kMovingShard);
        *request.mutable_range() = toProto(move.range);
        request.set_peer_node(sourceRole ? move.to : move.from);
        request.set_peer_address(rig.cluster.node(rig.targetIndex()).address().toStdString());
        v1::MigrationStepResponse reply;
        const int node = sourceRole ? rig.sourceIndex() : rig.targetIndex();
        const grpc::Status status =
            rig.cluster.call(node, &v1::NodeAgent::Stub::BeginShadow, request, &reply);
        QVERIFY2(status.ok(), describeStatus(status).c_str());
    }

    const std::vector<MigrationProgress> ended = rig.executor->recover();
    QCOMPARE(ended.size(), std::size_t{1});
    QCOMPARE(ended.front().phase, MigrationPhase::Aborted);
    QVERIFY(ended.front().error.contains(QLatin1String("rolled back")));
    QCOMPARE(rig.storedTable(), before);
    v1::NodeInfo info;
    QVERIFY(rig.cluster
                .call(rig.sourceIndex(), &v1::NodeAgent::Stub::GetNodeInfo, v1::NodeInfoRequest{},
                      &info)
                .ok());
    bool abortedOnSource = false;
    for (const v1::MigrationStatus& status : info.migrations())
        abortedOnSource |= status.migration_id() == copying.id && status.state() == v1::ABORTED;
    QVERIFY(abortedOnSource);
    v1::PutResponse put;
    QVERIFY(rig.cluster.put("user3001", "writes are not fenced", &put).ok());

    // A console that died right after its compare-and-swap: the store has the new table, the
    // nodes do not. Recovery finishes the move.
    const OwnershipTable moved = before.reassign(kMovingShard, move.to).value();
    MigrationRecord cutting = copying;
    cutting.id = 42;
    cutting.phase = MigrationPhase::CuttingOver;
    QVERIFY(rig.store->compareAndSwapTable(before.epoch(), moved, &cutting).ok());
    const std::vector<MigrationProgress> finished = rig.executor->recover();
    QCOMPARE(finished.size(), std::size_t{1});
    QCOMPARE(finished.front().phase, MigrationPhase::Done);
    for (int i = 0; i < rig.cluster.size(); ++i)
        QCOMPARE(rig.epochOn(i), moved.epoch());
}

void TestMigrationE2e::refusesMovesItCannotMake() {
    Rig rig;
    QVERIFY(rig.start(slowCopy(8)));
    MoveInstruction move = rig.move();

    MoveInstruction wrongOwner = move;
    wrongOwner.from = move.to;
    const auto refusedOwner = rig.executor->start(wrongOwner);
    QVERIFY(!refusedOwner.ok());
    QVERIFY(
        QString::fromStdString(refusedOwner.error().message).contains(QLatin1String("owned by")));

    MoveInstruction unknownTarget = move;
    unknownTarget.to = "n9";
    QVERIFY(!rig.executor->start(unknownTarget).ok());

    QVERIFY(rig.executor->start(move).ok());
    const auto twice = rig.executor->start(move);
    QVERIFY(!twice.ok());
    QVERIFY(
        QString::fromStdString(twice.error().message).contains(QLatin1String("already moving")));

    // A second console cannot drive: the store's lock is taken.
    auto second =
        LocalFileOwnershipStore::open(rig.cluster.directory() + QStringLiteral("/ownership.json"),
                                      LocalFileOwnershipStore::OpenMode::Driver);
    QVERIFY(!second.ok());
    QVERIFY(QString::fromStdString(second.error().message).contains(QLatin1String("locked")));
    QTRY_COMPARE_WITH_TIMEOUT(rig.executor->runningCount(), std::size_t{0}, kMigrationTimeoutMs);
}

QTEST_GUILESS_MAIN(TestMigrationE2e)
#include "tst_migration_e2e.moc"
