#pragma once

// MigrationExecutor: runs shadowed migrations on real rangepilot-nodes, step by step over gRPC,
// with the ownership store as the only place a move is committed.
//
// Steps of one migration (node.proto, "Migrations", says what each does on a node):
//   Shadowing   make sure source and target have the store's table; BeginShadow on the target,
//               then on the source: from here every write to the range reaches both.
//   Copying     CopyBatch on the source until done (node to node), at most copy_bytes_per_s on
//               average (a token bucket over whole batches); the cursor is persisted per batch.
//   CatchingUp  writes that raced the copy are already on the target (the source forwards before it
//               acknowledges), so catching up is proving it: the source pins a snapshot on itself
//               and on the target at the same point of the range's writes (RangeChecksum with
//               pin_target_snapshot), both digest them while writes go on, and the digests must be
//               equal. Then FenceWrites on the source stops writes to the range until the cutover.
//               If the shadowing was lost on the way (a forward failed, a node restarted) the
//               range is shadowed and copied again from the start.
//   CuttingOver compare-and-swap in the store: the table with the target as owner (epoch + 1),
//               together with the record's phase; then Cutover on the source first (it stops
//               serving the range: no client can read old data from it once the target accepts
//               writes), then on the target, then InstallTable on every other node.
//   Done        EndMigration on the source drops its copy.
// An operator abort, or a failure that retries (retry_attempts, backoff doubling from
// retry_backoff_ms) cannot fix, rolls back before the cutover: AbortMigration on the source (it
// keeps serving, unfenced) and the target (it drops its copy); the table is unchanged. After the
// compare-and-swap the move is committed and nothing rolls back: steps that fail there are retried
// and reported, and the connector pushes the store's table to nodes that are behind.
// A copy whose target or source became unreachable and came back (kill -9 and restart) resumes by
// shadowing again and copying from the start, within the same retry budget.
//
// Invariants: the source stays authoritative until the store's table says otherwise; the store
// record of every migration is written before each step that changes a node, so recover() (run
// when a console starts) finishes committed moves and rolls back the others.
//
// Threads: one std::thread per running migration; the progress sink is called on those threads
// (the connector queues it to the GUI thread). Public calls are thread-safe. The destructor rolls
// back running migrations and joins their threads.

#include "cluster_connector.h"
#include "migration_plan.h"
#include "node_directory.h"
#include "ownership_store.h"
#include "result.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace rangepilot {

struct MigrationExecutorOptions {
    double copy_bytes_per_s = 50e6; // average copy rate limit; 0 = unlimited
    // CopyBatch max_bytes (1 .. 32 MiB). 1 MiB copies as fast as 4 MiB on loopback and halves
    // the foreground p99 during a copy (bench_migration: about 10 ms against 17 ms).
    std::uint32_t batch_bytes = 1u << 20;
    int rpc_deadline_ms = 10'000;
    int retry_attempts = 8;     // per migration, for transient failures
    int retry_backoff_ms = 250; // first backoff; doubles up to 4 s
};

// The first problem with the options, naming the field.
Status validate(const MigrationExecutorOptions& options);

class MigrationExecutor {
public:
    using ProgressSink = std::function<void(const MigrationProgress&)>;

    // `store` must hold the driver lock for start(); `store` and `nodes` outlive the executor.
    MigrationExecutor(OwnershipStore& store, NodeDirectory& nodes, MigrationExecutorOptions options,
                      ProgressSink sink);
    ~MigrationExecutor();

    MigrationExecutor(const MigrationExecutor&) = delete;
    MigrationExecutor& operator=(const MigrationExecutor&) = delete;

    // Starts moving move.shard from move.from to move.to. Refused (naming why) when the store has
    // no table or no driver lock, the shard or a host is unknown, the owner is not move.from, the
    // range differs from move.range (when given), or the range is already moving.
    Result<MigrationId> start(const MoveInstruction& move);
    Status pause(MigrationId id); // between batches; dual writes go on
    Status resume(MigrationId id);
    Status abort(MigrationId id, const std::string& reason = {});

    // Finishes (committed) or rolls back (not committed) every migration the store records as
    // unfinished: what a console does at start, before it starts anything new. Blocking; returns
    // how each ended.
    std::vector<MigrationProgress> recover();

    std::optional<MigrationProgress> progress(MigrationId id) const;
    std::size_t runningCount() const;
    // Blocks until no migration runs (tests and benchmarks).
    void waitForAll();

private:
    struct Run;
    // Recopy: the shadowing was lost (a node restarted or a forward failed); shadow again and
    // copy from the start, within the retry budget.
    enum class Outcome { Ok, Aborted, Failed, Recopy };
    struct StepResult {
        Outcome outcome = Outcome::Ok;
        std::string message;
        static StepResult ok() { return {}; }
    };

    void drive(Run& run);
    StepResult shadow(Run& run);
    StepResult copy(Run& run);
    StepResult verify(Run& run);
    StepResult fence(Run& run);
    StepResult startOver(Run& run, const std::string& why);
    static bool lostShadowing(const grpc::Status& status);
    // One RPC of the verification (withRetries): Ok, Aborted when an abort came meanwhile,
    // Recopy when the shadowing was lost (lostShadowing), Failed otherwise.
    StepResult runStep(Run& run, const HostId& node, const char* step,
                       const std::function<grpc::Status(NodeStub&, grpc::ClientContext&)>& call);
    StepResult commit(Run& run);
    void cutOverNodes(Run& run, const OwnershipTable& table);
    void finish(Run& run);
    void rollBack(Run& run, const StepResult& why);

    // Calls `call` (one RPC on the node `node`) until it succeeds or fails with a status that
    // retrying cannot fix, consuming the run's retry budget; aborts interrupt the backoff.
    grpc::Status
    withRetries(Run& run, const HostId& node, const char* step,
                const std::function<grpc::Status(NodeStub&, grpc::ClientContext&)>& call);
    bool waitBackoff(Run& run, int attempt); // false when an abort came
    bool waitWhilePaused(Run& run);          // false when an abort came
    bool waitForRateLimit(Run& run, double bytesSoFar, std::int64_t startedMs);
    bool abortRequested(Run& run);

    void setPhase(Run& run, MigrationPhase phase, const std::string& error = {});
    void report(Run& run);
    Status persist(Run& run);
    StepResult ensureTable(Run& run, const HostId& node, const OwnershipTable& table);
    grpc::Status installOn(Run& run, const HostId& node, const OwnershipTable& table);
    void installEverywhere(const OwnershipTable& table, const std::vector<HostId>& skip);

    OwnershipStore& m_store;
    NodeDirectory& m_nodes;
    MigrationExecutorOptions m_options;
    ProgressSink m_sink;

    mutable std::mutex m_mutex;
    std::condition_variable m_finished;
    std::map<MigrationId, std::unique_ptr<Run>> m_runs;
    MigrationId m_nextId = 1;
};

} // namespace rangepilot
