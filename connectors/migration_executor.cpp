#include "migration_executor.h"

#include "key.h"
#include "proto_convert.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

namespace rangepilot {

namespace {

constexpr int kMaxBackoffMs = 4000;
constexpr std::uint32_t kMaxBatchBytes = 32u << 20;

std::int64_t wallMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Statuses that another attempt may fix: the node is down, restarting, slow, or behind.
bool retryable(const grpc::Status& status) {
    switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
        return true;
    default:
        return false;
    }
}

std::string label(MigrationId id) {
    return "migration " + std::to_string(id);
}

} // namespace

Status validate(const MigrationExecutorOptions& options) {
    if (!(options.copy_bytes_per_s >= 0.0) || !std::isfinite(options.copy_bytes_per_s))
        return Error{"copy_bytes_per_s must be 0 (unlimited) or positive"};
    if (options.batch_bytes < 1 || options.batch_bytes > kMaxBatchBytes)
        return Error{"batch_bytes must be in 1 .. 33554432 (32 MiB)"};
    if (options.rpc_deadline_ms < 100)
        return Error{"rpc_deadline_ms must be at least 100"};
    if (options.retry_attempts < 0)
        return Error{"retry_attempts must not be negative"};
    if (options.retry_backoff_ms < 1)
        return Error{"retry_backoff_ms must be at least 1"};
    return {};
}

// One migration: what the store records, what the console sees, and the operator's requests.
struct MigrationExecutor::Run {
    MigrationRecord record;
    MigrationProgress progress;
    std::thread thread;
    bool finished = false;

    // Guarded by the executor's m_mutex; the condition variable wakes backoffs and pauses.
    bool pause_requested = false;
    bool abort_requested = false;
    std::string abort_reason;
    std::condition_variable wake;

    int attempts_used = 0;
};

MigrationExecutor::MigrationExecutor(OwnershipStore& store, NodeDirectory& nodes,
                                     MigrationExecutorOptions options, ProgressSink sink)
    : m_store(store)
    , m_nodes(nodes)
    , m_options(options)
    , m_sink(std::move(sink)) {}

MigrationExecutor::~MigrationExecutor() {
    {
        const std::lock_guard lock(m_mutex);
        for (auto& [id, run] : m_runs) {
            // A reason already set may be being read by the drive thread: it is written once.
            if (run->finished || run->abort_requested)
                continue;
            run->abort_requested = true;
            run->abort_reason = "the console is closing";
            run->wake.notify_all();
        }
    }
    for (auto& [id, run] : m_runs)
        if (run->thread.joinable())
            run->thread.join();
}

// --- Public calls ---------------------------------------------------------------------------

Result<MigrationId> MigrationExecutor::start(const MoveInstruction& move) {
    const std::string refused = "cannot move shard " + std::to_string(move.shard) + ": ";
    if (!m_store.holdsDriverLock())
        return Error{refused + m_store.describe().toStdString() + " is locked by " +
                     m_store.driverLockHolder().toStdString() + "; this console only watches"};
    Result<OwnershipState> state = m_store.load();
    if (!state)
        return Error{refused + state.error().message};
    if (!state->table)
        return Error{refused + "the ownership store holds no table yet"};
    const OwnershipTable& table = *state->table;
    const Shard* shard = table.shardById(move.shard);
    if (!shard)
        return Error{refused + "no such shard at epoch " + std::to_string(table.epoch())};
    if (shard->owner != move.from)
        return Error{refused + "it is owned by " + shard->owner + ", not " + move.from};
    if (move.to == move.from)
        return Error{refused + "it is already on " + move.to};
    if (!table.hasHost(move.to) || !m_nodes.stub(move.to))
        return Error{refused + "unknown target node '" + move.to + "'"};
    if (!m_nodes.stub(move.from))
        return Error{refused + "unknown source node '" + move.from + "'"};
    if (move.range != KeyRange{} && move.range != shard->range)
        return Error{refused + "its range is now " + formatKeyRange(shard->range) +
                     ", the move was planned for " + formatKeyRange(move.range)};

    const std::lock_guard lock(m_mutex);
    for (const auto& [id, run] : m_runs)
        if (!run->finished && run->record.range.overlaps(shard->range))
            return Error{refused + "its range " + formatKeyRange(shard->range) +
                         " is already moving (" + label(id) + ")"};
    for (const MigrationRecord& record : state->migrations)
        m_nextId = std::max(m_nextId, record.id + 1);

    auto run = std::make_unique<Run>();
    MigrationRecord& record = run->record;
    record.id = m_nextId++;
    record.shard = shard->id;
    record.range = shard->range;
    record.from = move.from;
    record.to = move.to;
    record.phase = MigrationPhase::Approved;
    record.table_epoch = table.epoch();
    record.started_ms = record.updated_ms = wallMs();
    if (Status persisted = m_store.putMigration(record); !persisted)
        return Error{refused + persisted.message()};

    MigrationProgress& progress = run->progress;
    progress.id = record.id;
    progress.shard = record.shard;
    progress.range = record.range;
    progress.from = record.from;
    progress.to = record.to;
    progress.phase = MigrationPhase::Shadowing;
    progress.bytes_total = move.bytes;
    progress.updated_ms = record.updated_ms;

    Run& started = *run;
    const MigrationId id = record.id;
    m_runs.emplace(id, std::move(run));
    started.thread = std::thread([this, &started] { drive(started); });
    return id;
}

Status MigrationExecutor::pause(MigrationId id) {
    const std::lock_guard lock(m_mutex);
    const auto found = m_runs.find(id);
    if (found == m_runs.end() || found->second->finished)
        return Error{label(id) + " is not running"};
    found->second->pause_requested = true;
    return {};
}

Status MigrationExecutor::resume(MigrationId id) {
    const std::lock_guard lock(m_mutex);
    const auto found = m_runs.find(id);
    if (found == m_runs.end() || found->second->finished)
        return Error{label(id) + " is not running"};
    if (!found->second->pause_requested)
        return Error{label(id) + " is not paused"};
    found->second->pause_requested = false;
    found->second->wake.notify_all();
    return {};
}

Status MigrationExecutor::abort(MigrationId id, const std::string& reason) {
    const std::lock_guard lock(m_mutex);
    const auto found = m_runs.find(id);
    if (found == m_runs.end() || found->second->finished)
        return Error{label(id) + " is not running"};
    Run& run = *found->second;
    if (run.progress.phase == MigrationPhase::CuttingOver)
        return Error{label(id) + " is cutting over: the move is committed and cannot be aborted"};
    // The drive thread reads the reason without the lock once it saw the request: write it once.
    if (run.abort_requested)
        return {};
    run.abort_requested = true;
    run.abort_reason = reason.empty() ? "aborted by the operator" : reason;
    run.wake.notify_all();
    return {};
}

std::optional<MigrationProgress> MigrationExecutor::progress(MigrationId id) const {
    const std::lock_guard lock(m_mutex);
    const auto found = m_runs.find(id);
    if (found == m_runs.end())
        return std::nullopt;
    return found->second->progress;
}

std::size_t MigrationExecutor::runningCount() const {
    const std::lock_guard lock(m_mutex);
    return static_cast<std::size_t>(std::count_if(
        m_runs.begin(), m_runs.end(), [](const auto& entry) { return !entry.second->finished; }));
}

void MigrationExecutor::waitForAll() {
    std::unique_lock lock(m_mutex);
    m_finished.wait(lock, [this] {
        return std::all_of(m_runs.begin(), m_runs.end(),
                           [](const auto& entry) { return entry.second->finished; });
    });
}

// --- The steps --------------------------------------------------------------------------------

void MigrationExecutor::drive(Run& run) {
    StepResult result = shadow(run);
    while (result.outcome == Outcome::Ok) {
        result = copy(run);
        if (result.outcome == Outcome::Ok)
            result = verify(run);
        if (result.outcome != Outcome::Recopy)
            break;
        result = startOver(run, result.message);
    }
    if (result.outcome == Outcome::Ok)
        result = commit(run);
    if (result.outcome == Outcome::Ok)
        finish(run);
    else
        rollBack(run, result);

    const std::lock_guard lock(m_mutex);
    run.finished = true;
    m_finished.notify_all();
}

MigrationExecutor::StepResult MigrationExecutor::ensureTable(Run& run, const HostId& node,
                                                             const OwnershipTable& table) {
    const grpc::Status status = installOn(run, node, table);
    if (status.ok())
        return StepResult::ok();
    if (abortRequested(run))
        return {Outcome::Aborted, run.abort_reason};
    return {Outcome::Failed, "installing epoch " + std::to_string(table.epoch()) + " on " + node +
                                 ": " + describeStatus(status)};
}

MigrationExecutor::StepResult MigrationExecutor::shadow(Run& run) {
    setPhase(run, MigrationPhase::Shadowing);
    Result<OwnershipState> state = m_store.load();
    if (!state || !state->table)
        return {Outcome::Failed, state ? "the store lost its table" : state.error().message};
    const OwnershipTable& table = *state->table;
    for (const HostId& node : {run.record.to, run.record.from})
        if (StepResult installed = ensureTable(run, node, table); installed.outcome != Outcome::Ok)
            return installed;

    for (const bool source : {false, true}) {
        v1::BeginShadowRequest request;
        request.set_migration_id(run.record.id);
        request.set_epoch(table.epoch());
        request.set_role(source ? v1::SOURCE : v1::TARGET);
        request.set_shard_id(run.record.shard);
        *request.mutable_range() = toProto(run.record.range);
        request.set_peer_node(source ? run.record.to : run.record.from);
        request.set_peer_address(m_nodes.address(run.record.to));
        const HostId& node = source ? run.record.from : run.record.to;
        v1::MigrationStepResponse reply;
        const grpc::Status status = withRetries(
            run, node, "BeginShadow", [&](NodeStub& stub, grpc::ClientContext& context) {
                return stub.BeginShadow(&context, request, &reply);
            });
        if (abortRequested(run))
            return {Outcome::Aborted, run.abort_reason};
        if (!status.ok())
            return {Outcome::Failed, "BeginShadow on " + node + ": " + describeStatus(status)};
    }
    return StepResult::ok();
}

MigrationExecutor::StepResult MigrationExecutor::copy(Run& run) {
    // The exact size of what is to copy, for the progress bar (the plan's figure is an estimate).
    v1::RangeChecksumRequest sizeRequest;
    sizeRequest.set_migration_id(run.record.id);
    v1::RangeChecksumResponse size;
    if (withRetries(run, run.record.from, "RangeChecksum",
                    [&](NodeStub& stub, grpc::ClientContext& context) {
                        return stub.RangeChecksum(&context, sizeRequest, &size);
                    })
            .ok()) {
        const std::lock_guard lock(m_mutex);
        run.progress.bytes_total = static_cast<double>(size.bytes());
        run.progress.batches_total = static_cast<std::size_t>(std::max<std::uint64_t>(
            1, (size.bytes() + m_options.batch_bytes - 1) / m_options.batch_bytes));
    }

    setPhase(run, MigrationPhase::Copying);
    std::string cursor = run.record.copy_cursor;
    double copied = 0.0;
    const std::int64_t startedMs = wallMs();
    for (;;) {
        if (!waitWhilePaused(run) || !waitForRateLimit(run, copied, startedMs))
            return {Outcome::Aborted, run.abort_reason};
        v1::CopyBatchRequest request;
        request.set_migration_id(run.record.id);
        request.set_cursor(cursor);
        request.set_max_bytes(m_options.batch_bytes);
        v1::CopyBatchResponse reply;
        const std::int64_t batchStart = wallMs();
        const grpc::Status status = withRetries(
            run, run.record.from, "CopyBatch", [&](NodeStub& stub, grpc::ClientContext& context) {
                return stub.CopyBatch(&context, request, &reply);
            });
        if (abortRequested(run))
            return {Outcome::Aborted, run.abort_reason};
        if (!status.ok()) {
            if (lostShadowing(status))
                return {Outcome::Recopy,
                        "CopyBatch on " + run.record.from + ": " + describeStatus(status)};
            return {Outcome::Failed, "CopyBatch on " + run.record.from + " after " +
                                         std::to_string(run.attempts_used) +
                                         " retries: " + describeStatus(status)};
        }
        copied += static_cast<double>(reply.bytes());
        cursor = reply.next_cursor();
        {
            const std::lock_guard lock(m_mutex);
            run.record.copy_cursor = cursor;
            run.record.bytes_copied = copied;
            run.progress.batches_done += 1;
            run.progress.batches_total =
                std::max(run.progress.batches_total, run.progress.batches_done);
            run.progress.bytes_copied = copied;
            run.progress.bytes_total = std::max(run.progress.bytes_total, copied);
            const double seconds =
                static_cast<double>(std::max<std::int64_t>(1, wallMs() - batchStart)) / 1000.0;
            run.progress.bytes_per_s = static_cast<double>(reply.bytes()) / seconds;
        }
        if (Status persisted = persist(run); !persisted)
            return {Outcome::Failed, persisted.message()};
        report(run);
        if (reply.done())
            return StepResult::ok();
    }
}

MigrationExecutor::StepResult MigrationExecutor::startOver(Run& run, const std::string& why) {
    if (run.attempts_used >= m_options.retry_attempts)
        return {Outcome::Failed, why + " (no retries left to copy again)"};
    ++run.attempts_used;
    {
        const std::lock_guard lock(m_mutex);
        run.record.copy_cursor.clear();
        run.record.bytes_copied = 0.0;
        run.progress.batches_done = 0;
        run.progress.bytes_copied = 0.0;
        run.progress.error = QString::fromStdString(why + "; copying again");
    }
    return shadow(run);
}

MigrationExecutor::StepResult MigrationExecutor::verify(Run& run) {
    setPhase(run, MigrationPhase::CatchingUp);
    // Both digests come from snapshots the two nodes pinned at the same point of the range's
    // writes, so writes go on while they are computed; only the pin holds them for a round trip.
    v1::RangeChecksumRequest pin;
    pin.set_migration_id(run.record.id);
    pin.set_pin_target_snapshot(true);
    v1::RangeChecksumResponse source;
    StepResult step = runStep(run, run.record.from, "RangeChecksum",
                              [&](NodeStub& stub, grpc::ClientContext& context) {
                                  return stub.RangeChecksum(&context, pin, &source);
                              });
    if (step.outcome != Outcome::Ok)
        return step;

    v1::RangeChecksumRequest pinned;
    pinned.set_migration_id(run.record.id);
    pinned.set_snapshot_id(source.target_snapshot_id());
    v1::RangeChecksumResponse target;
    step = runStep(run, run.record.to, "RangeChecksum",
                   [&](NodeStub& stub, grpc::ClientContext& context) {
                       return stub.RangeChecksum(&context, pinned, &target);
                   });
    if (step.outcome != Outcome::Ok)
        return step;
    if (source.checksum() != target.checksum() || source.entries() != target.entries() ||
        source.bytes() != target.bytes())
        return {Outcome::Failed, "checksums differ: " + run.record.from + " has " +
                                     std::to_string(source.entries()) + " entries (" +
                                     std::to_string(source.bytes()) + " bytes), " + run.record.to +
                                     " has " + std::to_string(target.entries()) + " (" +
                                     std::to_string(target.bytes()) + " bytes)"};
    return fence(run);
}

MigrationExecutor::StepResult MigrationExecutor::fence(Run& run) {
    // From here until the cutover the source refuses writes to the range, and the fence fails if
    // a forward broke since the snapshots: no write can miss the target.
    v1::FenceWritesRequest request;
    request.set_migration_id(run.record.id);
    v1::MigrationStepResponse reply;
    return runStep(run, run.record.from, "FenceWrites",
                   [&](NodeStub& stub, grpc::ClientContext& context) {
                       return stub.FenceWrites(&context, request, &reply);
                   });
}

// The source forgot the migration (it restarted), its shadowing broke (a forward to the target
// failed) or the target forgot it: writes may have been missed, so shadow again and copy it all.
bool MigrationExecutor::lostShadowing(const grpc::Status& status) {
    return status.error_code() == grpc::StatusCode::NOT_FOUND ||
           status.error_code() == grpc::StatusCode::FAILED_PRECONDITION;
}

MigrationExecutor::StepResult MigrationExecutor::runStep(
    Run& run, const HostId& node, const char* step,
    const std::function<grpc::Status(NodeStub&, grpc::ClientContext&)>& call) {
    const grpc::Status status = withRetries(run, node, step, call);
    if (abortRequested(run))
        return {Outcome::Aborted, run.abort_reason};
    if (status.ok())
        return StepResult::ok();
    return {lostShadowing(status) ? Outcome::Recopy : Outcome::Failed,
            std::string(step) + " on " + node + ": " + describeStatus(status)};
}

MigrationExecutor::StepResult MigrationExecutor::commit(Run& run) {
    setPhase(run, MigrationPhase::CuttingOver);
    // Boundary changes elsewhere in the table may land between our read and our swap; the move is
    // still valid as long as the shard keeps its range and owner, so re-read and retry.
    for (int attempt = 0; attempt <= m_options.retry_attempts; ++attempt) {
        Result<OwnershipState> state = m_store.load();
        if (!state || !state->table)
            return {Outcome::Failed, state ? "the store lost its table" : state.error().message};
        const Shard* shard = state->table->shardById(run.record.shard);
        if (!shard || shard->range != run.record.range || shard->owner != run.record.from)
            return {Outcome::Failed, "shard " + std::to_string(run.record.shard) +
                                         " changed while it moved (epoch " +
                                         std::to_string(state->table->epoch()) + ")"};
        Result<OwnershipTable> next = state->table->reassign(run.record.shard, run.record.to);
        if (!next)
            return {Outcome::Failed, next.error().message};
        MigrationRecord record;
        {
            const std::lock_guard lock(m_mutex);
            run.record.phase = MigrationPhase::CuttingOver;
            run.record.updated_ms = wallMs();
            record = run.record;
        }
        const Status swapped = m_store.compareAndSwapTable(state->table->epoch(), *next, &record);
        if (swapped) {
            cutOverNodes(run, *next);
            return StepResult::ok();
        }
        if (!swapped.message().starts_with("conflict:"))
            return {Outcome::Failed, swapped.message()};
    }
    return {Outcome::Failed, "the table kept changing; the cutover lost every compare-and-swap"};
}

void MigrationExecutor::cutOverNodes(Run& run, const OwnershipTable& table) {
    v1::CutoverRequest request;
    request.set_migration_id(run.record.id);
    *request.mutable_table() = toProto(table);
    std::string problems;
    // The source first: once it serves the new epoch it refuses the range, so no client reads its
    // old copy after the target starts taking writes.
    for (const HostId& node : {run.record.from, run.record.to}) {
        v1::MigrationStepResponse reply;
        grpc::Status status =
            withRetries(run, node, "Cutover", [&](NodeStub& stub, grpc::ClientContext& context) {
                return stub.Cutover(&context, request, &reply);
            });
        // A node that restarted (or never began, after a console crash) does not know the
        // migration; what matters is that it serves the committed table.
        if (status.error_code() == grpc::StatusCode::NOT_FOUND)
            status = installOn(run, node, table);
        if (!status.ok())
            problems += (problems.empty() ? "" : "; ") + node + " did not confirm the cutover (" +
                        describeStatus(status) + "): it gets epoch " +
                        std::to_string(table.epoch()) + " when it is back";
    }
    installEverywhere(table, {run.record.from, run.record.to});
    if (!problems.empty()) {
        const std::lock_guard lock(m_mutex);
        run.progress.error = QString::fromStdString(problems);
    }
}

grpc::Status MigrationExecutor::installOn(Run& run, const HostId& node,
                                          const OwnershipTable& table) {
    v1::InstallTableRequest request;
    *request.mutable_table() = toProto(table);
    v1::InstallTableResponse reply;
    return withRetries(run, node, "InstallTable",
                       [&](NodeStub& stub, grpc::ClientContext& context) {
                           return stub.InstallTable(&context, request, &reply);
                       });
}

void MigrationExecutor::installEverywhere(const OwnershipTable& table,
                                          const std::vector<HostId>& skip) {
    v1::InstallTableRequest request;
    *request.mutable_table() = toProto(table);
    for (const HostId& node : m_nodes.ids()) {
        if (std::find(skip.begin(), skip.end(), node) != skip.end())
            continue;
        const std::shared_ptr<NodeStub> stub = m_nodes.stub(node);
        auto context = m_nodes.context(m_options.rpc_deadline_ms);
        v1::InstallTableResponse reply;
        // A node that misses it is behind; the connector pushes the store's table to nodes that
        // report an older epoch, so one attempt is enough here.
        (void)stub->InstallTable(context.get(), request, &reply);
    }
}

void MigrationExecutor::finish(Run& run) {
    v1::EndMigrationRequest request;
    request.set_migration_id(run.record.id);
    // A source that restarted after the cutover no longer knows the migration: the range tells
    // it what to drop.
    *request.mutable_range() = toProto(run.record.range);
    v1::MigrationStepResponse reply;
    const grpc::Status status = withRetries(run, run.record.from, "EndMigration",
                                            [&](NodeStub& stub, grpc::ClientContext& context) {
                                                return stub.EndMigration(&context, request, &reply);
                                            });
    {
        const std::lock_guard lock(m_mutex);
        run.progress.bytes_copied = run.progress.bytes_total =
            std::max(run.progress.bytes_total, run.progress.bytes_copied);
        run.progress.batches_total = run.progress.batches_done;
        if (!status.ok()) {
            const std::string note =
                run.record.from + " kept its copy of the range (" + describeStatus(status) + ")";
            const std::string previous = run.progress.error.toStdString();
            run.progress.error =
                QString::fromStdString(previous.empty() ? note : previous + "; " + note);
        }
    }
    setPhase(run, MigrationPhase::Done, run.progress.error.toStdString());
}

void MigrationExecutor::rollBack(Run& run, const StepResult& why) {
    setPhase(run, MigrationPhase::RollingBack, why.message);
    v1::AbortMigrationRequest request;
    request.set_migration_id(run.record.id);
    request.set_reason(why.message);
    // Rolling back must not stop at the first refusal: the source is what matters (it unfences
    // and stops forwarding); the target's copy is dropped when it can be reached.
    for (const HostId& node : {run.record.from, run.record.to}) {
        const std::shared_ptr<NodeStub> stub = m_nodes.stub(node);
        if (!stub)
            continue;
        for (int attempt = 0; attempt < 3; ++attempt) {
            auto context = m_nodes.context(m_options.rpc_deadline_ms);
            v1::MigrationStepResponse reply;
            const grpc::Status status = stub->AbortMigration(context.get(), request, &reply);
            if (status.ok() || !retryable(status))
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(m_options.retry_backoff_ms));
        }
    }
    setPhase(run,
             why.outcome == Outcome::Aborted ? MigrationPhase::Aborted : MigrationPhase::Failed,
             why.message);
}

// --- Recovery ---------------------------------------------------------------------------------

std::vector<MigrationProgress> MigrationExecutor::recover() {
    std::vector<MigrationProgress> ended;
    Result<OwnershipState> state = m_store.load();
    if (!state || !state->table || !m_store.holdsDriverLock())
        return ended;
    for (const MigrationRecord& record : state->migrations) {
        if (isTerminal(record.phase))
            continue;
        Run run;
        run.record = record;
        run.progress.id = record.id;
        run.progress.shard = record.shard;
        run.progress.range = record.range;
        run.progress.from = record.from;
        run.progress.to = record.to;
        run.progress.bytes_copied = record.bytes_copied;
        run.progress.bytes_total = record.bytes_copied;
        const Shard* shard = state->table->shardById(record.shard);
        const bool committed = shard && shard->range == record.range && shard->owner == record.to;
        const std::string interrupted = "the console driving it stopped while " +
                                        migrationPhaseName(record.phase).toStdString();
        if (committed) {
            run.progress.error =
                QString::fromStdString(interrupted + "; finished after the restart");
            setPhase(run, MigrationPhase::CuttingOver, run.progress.error.toStdString());
            cutOverNodes(run, *state->table);
            finish(run);
        } else {
            rollBack(run, {Outcome::Aborted, interrupted + "; rolled back"});
        }
        ended.push_back(run.progress);
        const std::lock_guard lock(m_mutex);
        m_nextId = std::max(m_nextId, record.id + 1);
    }
    return ended;
}

// --- Helpers ----------------------------------------------------------------------------------

grpc::Status MigrationExecutor::withRetries(
    Run& run, const HostId& node, const char* step,
    const std::function<grpc::Status(NodeStub&, grpc::ClientContext&)>& call) {
    const std::shared_ptr<NodeStub> stub = m_nodes.stub(node);
    if (!stub)
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            std::string(step) + ": unknown node '" + node + "'");
    for (int attempt = 0;; ++attempt) {
        auto context = m_nodes.context(m_options.rpc_deadline_ms);
        const grpc::Status status = call(*stub, *context);
        if (status.ok() || !retryable(status))
            return status;
        if (run.attempts_used >= m_options.retry_attempts)
            return status;
        ++run.attempts_used;
        if (!waitBackoff(run, attempt))
            return status;
    }
}

bool MigrationExecutor::waitBackoff(Run& run, int attempt) {
    const int delayMs =
        std::min(kMaxBackoffMs, m_options.retry_backoff_ms << std::min(attempt, 10));
    std::unique_lock lock(m_mutex);
    run.wake.wait_for(lock, std::chrono::milliseconds(delayMs),
                      [&run] { return run.abort_requested; });
    return !run.abort_requested;
}

bool MigrationExecutor::waitWhilePaused(Run& run) {
    std::unique_lock lock(m_mutex);
    if (!run.pause_requested)
        return !run.abort_requested;
    const MigrationPhase pausedFrom = run.progress.phase;
    run.progress.phase = MigrationPhase::Paused;
    lock.unlock();
    report(run);
    lock.lock();
    run.wake.wait(lock, [&run] { return !run.pause_requested || run.abort_requested; });
    if (run.abort_requested)
        return false;
    run.progress.phase = pausedFrom;
    lock.unlock();
    report(run);
    return true;
}

bool MigrationExecutor::waitForRateLimit(Run& run, double bytesSoFar, std::int64_t startedMs) {
    if (m_options.copy_bytes_per_s <= 0.0)
        return !abortRequested(run);
    // The next batch may start once the bytes so far fit the average rate since the copy began.
    const auto dueMs = startedMs + static_cast<std::int64_t>(
                                       std::ceil(bytesSoFar / m_options.copy_bytes_per_s * 1000.0));
    const auto due = std::chrono::system_clock::time_point(std::chrono::milliseconds(dueMs));
    std::unique_lock lock(m_mutex);
    run.wake.wait_until(lock, due, [&run] { return run.abort_requested; });
    return !run.abort_requested;
}

bool MigrationExecutor::abortRequested(Run& run) {
    const std::lock_guard lock(m_mutex);
    return run.abort_requested;
}

void MigrationExecutor::setPhase(Run& run, MigrationPhase phase, const std::string& error) {
    {
        const std::lock_guard lock(m_mutex);
        run.progress.phase = phase;
        if (!error.empty())
            run.progress.error = QString::fromStdString(error);
        run.record.phase = phase;
        run.record.error = run.progress.error;
    }
    if (Status persisted = persist(run); !persisted) {
        const std::lock_guard lock(m_mutex);
        run.progress.error =
            QString::fromStdString("could not record the phase: " + persisted.message());
    }
    report(run);
}

Status MigrationExecutor::persist(Run& run) {
    MigrationRecord record;
    {
        const std::lock_guard lock(m_mutex);
        run.record.updated_ms = wallMs();
        record = run.record;
    }
    return m_store.putMigration(record);
}

void MigrationExecutor::report(Run& run) {
    MigrationProgress progress;
    {
        const std::lock_guard lock(m_mutex);
        run.progress.updated_ms = wallMs();
        progress = run.progress;
    }
    if (m_sink)
        m_sink(progress);
}

} // namespace rangepilot
