#include "node_migrations.h"

#include "key.h"
#include "proto_convert.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <utility>

namespace rangepilot::node {

namespace {

using grpc::StatusCode;

constexpr std::size_t kCopyBatchMaxEntries = 10'000;
constexpr std::uint32_t kMaxCopyBatchBytes = 32u << 20;
constexpr std::size_t kFinishedMigrationsKept = 32;
// A shadow write holds up the client's write, so it may not wait long: a target that does not
// answer within a few seconds breaks the migration instead of stalling the source.
constexpr auto kShadowForwardDeadline = std::chrono::seconds(5);
// A copy batch is up to 32 MiB plus one large entry; generous for slow links.
constexpr auto kCopyIngestDeadline = std::chrono::seconds(60);
// Writes to the range wait while a source pins snapshots with its target: keep that wait short.
constexpr auto kPinSnapshotDeadline = std::chrono::seconds(1);

grpc::Status failure(StatusCode code, const std::string& message) {
    return grpc::Status(code, message);
}

std::string stateName(v1::MigrationState state) {
    return v1::MigrationState_Name(state);
}

bool rangesOverlap(const KeyRange& a, const KeyRange& b) {
    const bool aStartsBeforeBEnds = b.unboundedAbove() || a.start < b.end;
    const bool bStartsBeforeAEnds = a.unboundedAbove() || b.start < a.end;
    return aStartsBeforeBEnds && bStartsBeforeAEnds;
}

bool rangeCovers(const KeyRange& outer, const KeyRange& inner) {
    if (inner.start < outer.start)
        return false;
    if (outer.unboundedAbove())
        return true;
    return !inner.unboundedAbove() && inner.end <= outer.end;
}

bool isValidRange(const KeyRange& range) {
    return range.unboundedAbove() || range.start < range.end;
}

// The shards of `table` that hold part of `range`, in key order.
std::vector<const Shard*> shardsOverlapping(const OwnershipTable& table, const KeyRange& range) {
    std::vector<const Shard*> shards;
    for (std::size_t i = table.indexOf(range.start); i < table.shardCount(); ++i) {
        const Shard& shard = table.shards()[i];
        if (!rangesOverlap(shard.range, range))
            break;
        shards.push_back(&shard);
    }
    return shards;
}

bool ownsAnyOf(const OwnershipTable& table, const KeyRange& range, const std::string& host) {
    const std::vector<const Shard*> shards = shardsOverlapping(table, range);
    return std::any_of(shards.begin(), shards.end(),
                       [&](const Shard* shard) { return shard->owner == host; });
}

// The first shard over `range` that `host` does not own, or nullptr when it owns all of them.
const Shard* firstShardNotOwnedBy(const OwnershipTable& table, const KeyRange& range,
                                  const std::string& host) {
    for (const Shard* shard : shardsOverlapping(table, range)) {
        if (shard->owner != host)
            return shard;
    }
    return nullptr;
}

v1::Entry toProtoEntry(const StoredEntry& entry) {
    v1::Entry message;
    message.set_key(entry.key);
    message.set_value(entry.stored.value);
    message.mutable_version()->set_hlc(entry.stored.version.hlc);
    message.mutable_version()->set_node(entry.stored.version.node);
    message.set_tombstone(entry.stored.tombstone);
    return message;
}

std::uint64_t payloadBytes(const StoredEntry& entry) {
    return entry.key.size() + entry.stored.value.size();
}

// One migration as this node sees it.
struct Migration {
    // Fixed at BeginShadow: the parameters a repeated BeginShadow must match.
    std::uint64_t id = 0;
    v1::MigrationRole role = v1::MIGRATION_ROLE_UNSPECIFIED;
    ShardId shard_id = 0;
    KeyRange range;
    std::string peer_node;
    std::string peer_address;
    // Rebuilt from a persisted fence after a restart: FENCED, without a channel to the target.
    bool restored = false;

    // Client writes (source) and ingests (target) hold it shared for their whole duration; the
    // pin, the fence, a restart, the end and an abort take it exclusively so none of those is half
    // done. Take it through enterShared() and enterExclusive() only.
    std::shared_mutex gate;
    // Queues exclusive takers ahead of new shared ones: glibc's shared_mutex lets new readers pass
    // a waiting writer, so under a steady stream of client writes a pin or a fence could wait
    // indefinitely (and hold every other step of the node behind it).
    std::mutex turnstile;

    std::shared_lock<std::shared_mutex> enterShared() {
        { std::lock_guard queued(turnstile); }
        return std::shared_lock(gate);
    }
    std::unique_lock<std::shared_mutex> enterExclusive() {
        std::lock_guard queued(turnstile);
        return std::unique_lock(gate);
    }

    mutable std::mutex mutex; // guards everything below
    v1::MigrationState state = v1::SHADOWING;
    std::string error;
    std::uint64_t begin_epoch = 0;
    std::shared_ptr<v1::NodeAgent::Stub> target; // the source's channel to the target
    std::uint64_t forwarded_writes = 0;
    std::uint64_t copied_entries = 0;
    std::uint64_t copied_bytes = 0;
    // Target only: the snapshot the source had pinned here for its verification, and its id.
    PinnedSnapshot pinned;
    std::uint64_t pinned_id = 0;

    // "migration 7 (shard 3, [a, b))": how every message names it.
    std::string label() const {
        return "migration " + std::to_string(id) + " (shard " + std::to_string(shard_id) + ", " +
               formatKeyRange(range) + ")";
    }

    bool sameParameters(const Migration& other) const {
        return role == other.role && shard_id == other.shard_id && range == other.range &&
               peer_node == other.peer_node && peer_address == other.peer_address;
    }

    v1::MigrationState currentState() const {
        std::lock_guard lock(mutex);
        return state;
    }

    // Before the cutover, and for a source until EndMigration: another migration of an
    // overlapping range would fight over the same keys.
    bool blocksOverlapLocked() const {
        switch (state) {
        case v1::SHADOWING:
        case v1::FENCED:
        case v1::BROKEN:
            return true;
        case v1::CUT_OVER:
            return role == v1::SOURCE; // its copy is still here until EndMigration drops it
        default:
            return false;
        }
    }

    // Nothing more will happen to it: it only stays for statuses() to show.
    bool finishedLocked() const {
        return state == v1::ENDED || state == v1::ABORTED ||
               (role == v1::TARGET && state == v1::CUT_OVER);
    }

    v1::MigrationStatus status() const {
        v1::MigrationStatus out;
        out.set_migration_id(id);
        out.set_role(role);
        out.set_shard_id(shard_id);
        *out.mutable_range() = toProto(range);
        out.set_peer_node(peer_node);
        std::lock_guard lock(mutex);
        out.set_state(state);
        out.set_forwarded_writes(forwarded_writes);
        out.set_copied_entries(copied_entries);
        out.set_copied_bytes(copied_bytes);
        out.set_error(error);
        return out;
    }

    // A failed forward: the target misses a write, so only a fresh copy or an abort can follow.
    void markBroken(const std::string& why) {
        std::lock_guard lock(mutex);
        if (state != v1::SHADOWING && state != v1::FENCED)
            return;
        state = v1::BROKEN;
        error = why;
        target.reset();
    }
};

} // namespace

struct NodeMigrations::Impl {
    explicit Impl(MigrationContext c)
        : context(std::move(c)) {
        restoreResult = restoreFences();
    }

    MigrationContext context;
    // Serializes the state-changing steps (begin, fence, cutover, end, abort) so that each sees
    // the state the previous one left; data paths (writes, copies, ingests) never take it.
    std::mutex stepMutex;
    // What kMetaFencesKey holds, by migration id; guarded by stepMutex.
    std::map<std::uint64_t, PersistedFence> persistedFences;
    // Set once by the constructor: an Error makes writeThrough refuse every write.
    Status restoreResult;
    mutable std::shared_mutex registryMutex;
    std::vector<std::shared_ptr<Migration>> migrations; // in creation order
    // Bumped whenever a migration is added, so that a write that found no migration can tell
    // cheaply whether one began while it was applying (and then forward itself).
    std::atomic<std::uint64_t> registrations{0};
    // Ids of the snapshots pinned for sources (PinSnapshot), unique while the process lives.
    std::atomic<std::uint64_t> nextSnapshotId{1};

    std::shared_ptr<Migration> find(std::uint64_t id) const {
        std::shared_lock lock(registryMutex);
        for (const auto& migration : migrations) {
            if (migration->id == id)
                return migration;
        }
        return nullptr;
    }

    grpc::Status notFound(const char* step, std::uint64_t id) const {
        return failure(StatusCode::NOT_FOUND, std::string(step) + ": no migration " +
                                                  std::to_string(id) + " on node " +
                                                  context.node_id);
    }

    std::uint64_t installedEpoch() const {
        const std::optional<OwnershipTable> table = context.current_table();
        return table ? table->epoch() : 0;
    }

    // The source migration whose gate a write to `key` must pass, if any. `generation` receives
    // the registrations count the lookup saw.
    std::shared_ptr<Migration> sourceMigrationFor(std::string_view key,
                                                  std::uint64_t* generation = nullptr) const {
        std::shared_lock lock(registryMutex);
        if (generation != nullptr)
            *generation = registrations.load(std::memory_order_acquire);
        for (const auto& migration : migrations) {
            if (migration->role != v1::SOURCE || !migration->range.contains(key))
                continue;
            std::lock_guard stateLock(migration->mutex);
            if (!migration->finishedLocked())
                return migration;
        }
        return nullptr;
    }

    // --- Persisted fences ---

    std::string fencesKeyName() const {
        return "meta key '" + std::string(kMetaFencesKey) + "' of node " + context.node_id;
    }

    // Rebuilds every persisted fence as a FENCED source migration (construction only).
    Status restoreFences() {
        if (context.store == nullptr)
            return Status::success();
        Result<std::optional<std::string>> stored = context.store->getMeta(kMetaFencesKey);
        if (!stored)
            return Error{"cannot read the migration fences (" + fencesKeyName() +
                         "): " + stored.error().message};
        if (!stored->has_value())
            return Status::success();
        Result<std::vector<PersistedFence>> fences = decodeFences(**stored);
        if (!fences)
            return Error{"the migration fences in " + fencesKeyName() + " cannot be decoded (" +
                         fences.error().message +
                         "); refusing to start, since the node cannot tell which ranges it "
                         "fenced for a cutover"};
        for (PersistedFence& fence : fences.value())
            restoreFence(std::move(fence));
        return Status::success();
    }

    void restoreFence(PersistedFence fence) {
        auto migration = std::make_shared<Migration>();
        migration->id = fence.migration_id;
        migration->role = v1::SOURCE;
        migration->shard_id = fence.shard_id;
        migration->range = fence.range;
        migration->peer_node = fence.target_node;
        migration->restored = true;
        migration->state = v1::FENCED;
        migration->begin_epoch = fence.begin_epoch;
        migration->error = "restored after a restart: fenced since before node " + context.node_id +
                           " stopped (the migration began at epoch " +
                           std::to_string(fence.begin_epoch) +
                           "); waiting for its cutover or abort";
        persistedFences.emplace(fence.migration_id, std::move(fence));
        std::unique_lock lock(registryMutex);
        migrations.push_back(std::move(migration));
        registrations.fetch_add(1, std::memory_order_release);
    }

    Status saveFences(const std::map<std::uint64_t, PersistedFence>& fences) {
        if (fences.empty())
            return context.store->deleteMeta(kMetaFencesKey);
        std::vector<PersistedFence> all;
        all.reserve(fences.size());
        for (const auto& entry : fences)
            all.push_back(entry.second);
        return context.store->putMeta(kMetaFencesKey, encodeFences(all));
    }

    // Persists the fence of `migration` (a source) unless it is already; call with stepMutex.
    grpc::Status rememberFence(const Migration& migration, const char* step) {
        if (persistedFences.count(migration.id) != 0)
            return grpc::Status::OK;
        PersistedFence fence;
        fence.migration_id = migration.id;
        fence.shard_id = migration.shard_id;
        fence.range = migration.range;
        {
            std::lock_guard lock(migration.mutex);
            fence.begin_epoch = migration.begin_epoch;
        }
        fence.target_node = migration.peer_node;
        std::map<std::uint64_t, PersistedFence> next = persistedFences;
        next.emplace(migration.id, std::move(fence));
        if (Status saved = saveFences(next); !saved)
            return failure(StatusCode::INTERNAL, std::string(step) + " " + migration.label() +
                                                     ": persisting the fence in " +
                                                     fencesKeyName() +
                                                     " failed: " + saved.message());
        persistedFences = std::move(next);
        return grpc::Status::OK;
    }

    // Clears the persisted fence of `migration`, if it has one; call with stepMutex. A failure
    // leaves it persisted (a restart restores it fenced) and the step may be repeated.
    grpc::Status forgetFence(const Migration& migration, const char* step) {
        if (persistedFences.count(migration.id) == 0)
            return grpc::Status::OK;
        std::map<std::uint64_t, PersistedFence> next = persistedFences;
        next.erase(migration.id);
        if (Status saved = saveFences(next); !saved)
            return failure(StatusCode::INTERNAL,
                           std::string(step) + " " + migration.label() +
                               ": clearing the persisted fence in " + fencesKeyName() +
                               " failed: " + saved.message() + "; repeat the step");
        persistedFences = std::move(next);
        return grpc::Status::OK;
    }

    // --- BeginShadow ---

    grpc::Status validateBegin(const Migration& proposed, std::uint64_t requestEpoch) const {
        const std::string where = "BeginShadow " + proposed.label();
        const std::optional<OwnershipTable> table = context.current_table();
        if (!table)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": node " + context.node_id + " has no table installed yet");
        if (requestEpoch != table->epoch()) {
            v1::EpochMismatch details;
            details.set_node_epoch(table->epoch());
            details.set_request_epoch(requestEpoch);
            details.set_node_id(context.node_id);
            return staleEpochStatus(where + ": request epoch " + std::to_string(requestEpoch) +
                                        ", but node " + context.node_id + " is at epoch " +
                                        std::to_string(table->epoch()),
                                    details);
        }
        const Shard* shard = table->shardById(proposed.shard_id);
        const std::string atEpoch = " at epoch " + std::to_string(table->epoch());
        if (shard == nullptr)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": no shard " + std::to_string(proposed.shard_id) + atEpoch);
        if (shard->range != proposed.range)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": the request's range " + formatKeyRange(proposed.range) +
                               " is not shard " + std::to_string(shard->id) + "'s range " +
                               formatKeyRange(shard->range) + atEpoch);
        if (proposed.role == v1::SOURCE && shard->owner != context.node_id)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": node " + context.node_id + " is not the owner of shard " +
                               std::to_string(shard->id) + atEpoch + " (" + shard->owner +
                               " is), so it cannot be the source");
        if (proposed.role == v1::TARGET && shard->owner == context.node_id)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": node " + context.node_id + " already owns shard " +
                               std::to_string(shard->id) + atEpoch +
                               ", so it cannot be the target");
        if (proposed.role == v1::TARGET && shard->owner != proposed.peer_node)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": the source " + proposed.peer_node +
                               " is not the owner of shard " + std::to_string(shard->id) + atEpoch +
                               " (" + shard->owner + " is)");
        return grpc::Status::OK;
    }

    grpc::Status checkNoOverlap(const Migration& proposed) const {
        std::shared_lock lock(registryMutex);
        for (const auto& other : migrations) {
            if (other->id == proposed.id || !rangesOverlap(other->range, proposed.range))
                continue;
            std::lock_guard stateLock(other->mutex);
            if (other->blocksOverlapLocked())
                return failure(StatusCode::FAILED_PRECONDITION,
                               "BeginShadow " + proposed.label() + ": overlaps " + other->label() +
                                   ", which is " + stateName(other->state) +
                                   " on this node; end or abort it first");
        }
        return grpc::Status::OK;
    }

    Result<std::shared_ptr<v1::NodeAgent::Stub>> openTarget(const Migration& migration) const {
        Result<std::shared_ptr<grpc::Channel>> channel =
            makeChannel(migration.peer_address, context.peer_security);
        if (!channel)
            return Error{migration.label() + ": cannot open a channel to the target " +
                         migration.peer_node + " at " + migration.peer_address + ": " +
                         channel.error().message};
        return std::shared_ptr<v1::NodeAgent::Stub>(v1::NodeAgent::NewStub(channel.value()));
    }

    grpc::Status beginNew(std::shared_ptr<Migration> migration, std::uint64_t requestEpoch) {
        if (grpc::Status valid = validateBegin(*migration, requestEpoch); !valid.ok())
            return valid;
        if (grpc::Status free = checkNoOverlap(*migration); !free.ok())
            return free;
        migration->begin_epoch = requestEpoch;
        if (migration->role == v1::TARGET) {
            // Leftovers of an earlier, aborted copy would otherwise count in the checksum.
            if (Status dropped = context.store->deleteRange(migration->range); !dropped.ok())
                return failure(StatusCode::INTERNAL,
                               "BeginShadow " + migration->label() +
                                   ": cannot drop leftover data: " + dropped.message());
        } else {
            Result<std::shared_ptr<v1::NodeAgent::Stub>> target = openTarget(*migration);
            if (!target)
                return failure(StatusCode::INTERNAL, "BeginShadow " + target.error().message);
            migration->target = std::move(target.value());
        }
        std::unique_lock lock(registryMutex);
        migrations.push_back(std::move(migration));
        registrations.fetch_add(1, std::memory_order_release);
        return grpc::Status::OK;
    }

    // A source that lost its target begins again: forwards resume at once and the executor
    // copies the whole range again.
    grpc::Status restartBroken(Migration& migration, std::uint64_t requestEpoch) {
        if (grpc::Status valid = validateBegin(migration, requestEpoch); !valid.ok())
            return valid;
        Result<std::shared_ptr<v1::NodeAgent::Stub>> target = openTarget(migration);
        if (!target)
            return failure(StatusCode::INTERNAL, "BeginShadow " + target.error().message);
        // Exclusive: a write either finished before (the new copy will carry it) or sees
        // SHADOWING and forwards.
        const auto gate = migration.enterExclusive();
        std::lock_guard lock(migration.mutex);
        migration.state = v1::SHADOWING;
        migration.error.clear();
        migration.begin_epoch = requestEpoch;
        migration.target = std::move(target.value());
        migration.copied_entries = 0;
        migration.copied_bytes = 0;
        return grpc::Status::OK;
    }

    grpc::Status repeatBegin(Migration& existing, const Migration& proposed,
                             std::uint64_t requestEpoch) {
        if (existing.restored)
            return refuseRestoredBegin(existing);
        if (!existing.sameParameters(proposed))
            return failure(StatusCode::ALREADY_EXISTS,
                           "BeginShadow: " + existing.label() + " already exists on node " +
                               context.node_id + " with other parameters (role, shard, range, " +
                               "peer); use a new migration id");
        const v1::MigrationState state = existing.currentState();
        if (state == v1::ENDED || state == v1::ABORTED)
            return failure(StatusCode::FAILED_PRECONDITION, "BeginShadow: " + existing.label() +
                                                                " is " + stateName(state) +
                                                                "; use a new migration id");
        if (state == v1::BROKEN)
            return restartBroken(existing, requestEpoch);
        return grpc::Status::OK; // the same call again: nothing to do
    }

    // A fence restored after a restart has lost its target channel and the forwarding: shadowing
    // cannot resume where it stopped, so only the steps that finish it may follow.
    grpc::Status refuseRestoredBegin(const Migration& existing) const {
        const v1::MigrationState state = existing.currentState();
        if (state != v1::FENCED)
            return failure(StatusCode::FAILED_PRECONDITION,
                           "BeginShadow: " + existing.label() + " was restored after a restart " +
                               "and is " + stateName(state) + "; use a new migration id");
        return failure(StatusCode::FAILED_PRECONDITION,
                       "BeginShadow: " + existing.label() + " is FENCED on node " +
                           context.node_id +
                           " (restored after a restart, without its target channel); it cannot "
                           "shadow again: abort it (AbortMigration) or cut it over (Cutover)");
    }

    grpc::Status beginShadow(const v1::BeginShadowRequest& request,
                             v1::MigrationStepResponse* reply) {
        if (request.migration_id() == 0)
            return failure(StatusCode::INVALID_ARGUMENT, "BeginShadow: migration_id must not be 0");
        auto proposed = std::make_shared<Migration>();
        proposed->id = request.migration_id();
        proposed->role = request.role();
        proposed->shard_id = request.shard_id();
        proposed->range = fromProto(request.range());
        proposed->peer_node = request.peer_node();
        proposed->peer_address = request.peer_address();
        if (grpc::Status shape = checkBeginShape(*proposed); !shape.ok())
            return shape;

        std::lock_guard steps(stepMutex);
        std::shared_ptr<Migration> existing = find(proposed->id);
        grpc::Status status = existing ? repeatBegin(*existing, *proposed, request.epoch())
                                       : beginNew(proposed, request.epoch());
        if (!status.ok())
            return status;
        *reply->mutable_status() = (existing ? existing : proposed)->status();
        return grpc::Status::OK;
    }

    grpc::Status checkBeginShape(const Migration& proposed) const {
        const std::string where = "BeginShadow " + proposed.label();
        if (proposed.role != v1::SOURCE && proposed.role != v1::TARGET)
            return failure(StatusCode::INVALID_ARGUMENT, where + ": role must be SOURCE or TARGET");
        if (proposed.peer_node.empty() || proposed.peer_node == context.node_id)
            return failure(StatusCode::INVALID_ARGUMENT,
                           where + ": peer_node must name the other node, not '" +
                               proposed.peer_node + "'");
        if (proposed.role == v1::SOURCE && proposed.peer_address.empty())
            return failure(StatusCode::INVALID_ARGUMENT,
                           where + ": a source needs the target's peer_address (host:port)");
        return grpc::Status::OK;
    }

    // --- Writes ---

    // Sends one stored write to the target. A failure breaks the migration rather than the
    // write: the write is stored here and this node is still the owner.
    void forwardToTarget(Migration& migration, const StoredEntry& entry) {
        std::shared_ptr<v1::NodeAgent::Stub> target;
        {
            std::lock_guard lock(migration.mutex);
            if (migration.state == v1::BROKEN || !migration.target)
                return; // already broken by another write: only a fresh copy can repair it
            target = migration.target;
        }
        v1::IngestRequest request;
        request.set_migration_id(migration.id);
        request.set_from_node(context.node_id);
        request.set_shadow(true);
        *request.add_entries() = toProtoEntry(entry);
        v1::IngestResponse response;
        grpc::ClientContext call;
        call.set_deadline(std::chrono::system_clock::now() + kShadowForwardDeadline);
        addToken(call, context.peer_security.token);
        const grpc::Status sent = target->Ingest(&call, request, &response);
        if (!sent.ok()) {
            migration.markBroken("shadow write of key " + formatKey(entry.key) + " to " +
                                 migration.peer_node + " at " + migration.peer_address +
                                 " failed: " + describeStatus(sent));
            return;
        }
        std::lock_guard lock(migration.mutex);
        ++migration.forwarded_writes;
    }

    // A write that found no migration, while one began for its key before the write was stored:
    // the copy may already have passed the key, so the write goes to the target itself. If the
    // move even committed meanwhile (the write stalled through a whole migration), the write is
    // refused: the new owner never saw it, and this node's copy of the range is dropped.
    grpc::Status forwardLateWrite(const StoredEntry& stored) {
        if (const std::shared_ptr<Migration> migration = sourceMigrationFor(stored.key)) {
            const auto gate = migration->enterShared();
            const v1::MigrationState state = migration->currentState();
            if (state == v1::SHADOWING || state == v1::FENCED)
                forwardToTarget(*migration, stored);
        }
        // A cutover installs the new table before the migration shows CUT_OVER, so a write that
        // saw the migration shadowing or fenced was forwarded, and any later one fails here.
        const std::optional<OwnershipTable> table = context.current_table();
        if (table && table->shardFor(stored.key).owner != context.node_id)
            return failure(StatusCode::UNAVAILABLE,
                           "key " + formatKey(stored.key) + " moved away from node " +
                               context.node_id +
                               " while this write was applied; refresh the table and retry");
        return grpc::Status::OK;
    }

    static grpc::Status applyLocal(std::string_view key,
                                   const std::function<Result<StoredEntry>()>& applyLocally,
                                   StoredEntry* stored) {
        Result<StoredEntry> applied = applyLocally();
        if (!applied)
            return failure(StatusCode::INTERNAL, "write to key " + formatKey(key) +
                                                     " failed: " + applied.error().message);
        *stored = std::move(applied.value());
        return grpc::Status::OK;
    }

    grpc::Status fencedStatus(const Migration& migration) const {
        const std::string range = formatKeyRange(migration.range);
        const std::string id = std::to_string(migration.id);
        if (migration.restored)
            return failure(StatusCode::UNAVAILABLE,
                           "range " + range + " is fenced by migration " + id +
                               " (restored after a restart); waiting for its cutover or abort");
        return failure(StatusCode::UNAVAILABLE,
                       "range " + range + " is being cut over (migration " + id + "); retry");
    }

    grpc::Status writeThrough(std::string_view key,
                              const std::function<Result<StoredEntry>()>& applyLocally) {
        if (!restoreResult.ok())
            return failure(StatusCode::UNAVAILABLE,
                           "node " + context.node_id +
                               " refuses writes: " + restoreResult.message());
        StoredEntry stored;
        std::uint64_t generation = 0;
        const std::shared_ptr<Migration> migration = sourceMigrationFor(key, &generation);
        if (!migration) {
            if (grpc::Status applied = applyLocal(key, applyLocally, &stored); !applied.ok())
                return applied;
            if (registrations.load(std::memory_order_acquire) != generation)
                return forwardLateWrite(stored);
            return grpc::Status::OK;
        }

        const auto gate = migration->enterShared();
        const v1::MigrationState state = migration->currentState();
        if (state == v1::FENCED)
            return fencedStatus(*migration);
        if (state == v1::CUT_OVER || state == v1::ENDED)
            return failure(StatusCode::UNAVAILABLE,
                           "range " + formatKeyRange(migration->range) + " moved to " +
                               migration->peer_node + " (migration " +
                               std::to_string(migration->id) + "); refresh the table and retry");
        if (grpc::Status applied = applyLocal(key, applyLocally, &stored); !applied.ok())
            return applied;
        if (state == v1::SHADOWING)
            forwardToTarget(*migration, stored);
        return grpc::Status::OK;
    }

    // --- CopyBatch (source) ---

    grpc::Status copyBatch(const v1::CopyBatchRequest& request, v1::CopyBatchResponse* reply) {
        const std::shared_ptr<Migration> migration = find(request.migration_id());
        if (!migration)
            return notFound("CopyBatch", request.migration_id());
        const std::string where = "CopyBatch " + migration->label();
        if (migration->role != v1::SOURCE)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": node " + context.node_id + " is the target, not the source");
        if (request.max_bytes() < 1 || request.max_bytes() > kMaxCopyBatchBytes)
            return failure(StatusCode::INVALID_ARGUMENT,
                           where + ": max_bytes " + std::to_string(request.max_bytes()) +
                               " is outside 1 .. " + std::to_string(kMaxCopyBatchBytes));
        const std::string& cursor =
            request.cursor().empty() ? migration->range.start : request.cursor();
        if (!migration->range.contains(cursor))
            return failure(StatusCode::INVALID_ARGUMENT,
                           where + ": cursor " + formatKey(cursor) + " lies outside the range");

        std::shared_ptr<v1::NodeAgent::Stub> target;
        {
            std::lock_guard lock(migration->mutex);
            if (migration->state != v1::SHADOWING && migration->state != v1::FENCED)
                return failure(StatusCode::FAILED_PRECONDITION,
                               where + " is " + stateName(migration->state) +
                                   (migration->error.empty() ? "" : ": " + migration->error) +
                                   (migration->state == v1::BROKEN
                                        ? "; abort it or call BeginShadow again to copy afresh"
                                        : ""));
            target = migration->target;
        }
        if (!target)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + " has no channel to the target " + migration->peer_node +
                               " (restored after a restart); cut it over or abort it");

        Result<ScanPage> page = context.store->scan(migration->range, cursor, kCopyBatchMaxEntries,
                                                    request.max_bytes(), ScanFor::Copy);
        if (!page)
            return failure(StatusCode::INTERNAL,
                           where + ": reading the batch failed: " + page.error().message);
        return sendBatch(*migration, *target, page.value(), reply);
    }

    grpc::Status sendBatch(Migration& migration, v1::NodeAgent::Stub& target, const ScanPage& page,
                           v1::CopyBatchResponse* reply) {
        v1::IngestRequest request;
        request.set_migration_id(migration.id);
        request.set_from_node(context.node_id);
        request.set_shadow(false);
        std::uint64_t bytes = 0;
        for (const StoredEntry& entry : page.entries) {
            *request.add_entries() = toProtoEntry(entry);
            bytes += payloadBytes(entry);
        }
        v1::IngestResponse response;
        if (!page.entries.empty()) {
            grpc::ClientContext call;
            call.set_deadline(std::chrono::system_clock::now() + kCopyIngestDeadline);
            addToken(call, context.peer_security.token);
            const grpc::Status sent = target.Ingest(&call, request, &response);
            if (!sent.ok())
                return targetFailure(migration, sent);
        }
        {
            std::lock_guard lock(migration.mutex);
            migration.copied_entries += page.entries.size();
            migration.copied_bytes += bytes;
        }
        reply->set_next_cursor(page.resume_key);
        reply->set_done(page.resume_key.empty());
        reply->set_entries(page.entries.size());
        reply->set_bytes(bytes);
        reply->set_applied(response.applied());
        return grpc::Status::OK;
    }

    static grpc::Status targetFailure(const Migration& migration, const grpc::Status& sent) {
        const bool unreachable = sent.error_code() == StatusCode::UNAVAILABLE ||
                                 sent.error_code() == StatusCode::DEADLINE_EXCEEDED;
        const std::string message = "CopyBatch " + migration.label() + ": the target " +
                                    migration.peer_node + " at " + migration.peer_address +
                                    (unreachable ? " is unreachable: " : " refused the batch: ") +
                                    describeStatus(sent);
        return failure(unreachable ? StatusCode::UNAVAILABLE : sent.error_code(), message);
    }

    // --- Ingest (target) ---

    static grpc::Status convertIncoming(const Migration& migration,
                                        const v1::IngestRequest& request, const HybridClock& clock,
                                        std::vector<StoredEntry>* entries) {
        const std::string where = "Ingest " + migration.label();
        entries->reserve(static_cast<std::size_t>(request.entries_size()));
        for (const v1::Entry& entry : request.entries()) {
            if (entry.key().empty() || !migration.range.contains(entry.key()))
                return failure(StatusCode::INVALID_ARGUMENT,
                               where + ": key " + formatKey(entry.key()) +
                                   " lies outside the incoming range");
            if (entry.version().hlc() == 0 || entry.version().node().empty())
                return failure(StatusCode::INVALID_ARGUMENT,
                               where + ": key " + formatKey(entry.key()) + " has no version");
            if (const std::uint64_t lead = clock.leadOverPhysical(entry.version().hlc());
                lead > kMaxClockOffsetMs)
                return failure(StatusCode::FAILED_PRECONDITION,
                               where + ": the version of key " + formatKey(entry.key()) +
                                   " (written by " + entry.version().node() + ") is " +
                                   std::to_string(lead) + " ms ahead of this node's clock, more " +
                                   "than the " + std::to_string(kMaxClockOffsetMs) +
                                   " ms allowed; check the nodes' clocks (NTP)");
            if (entry.tombstone() && !entry.value().empty())
                return failure(StatusCode::INVALID_ARGUMENT, where + ": key " +
                                                                 formatKey(entry.key()) +
                                                                 " is a tombstone with a value");
            StoredEntry stored;
            stored.key = entry.key();
            stored.stored.version = ValueVersion{entry.version().hlc(), entry.version().node()};
            stored.stored.tombstone = entry.tombstone();
            stored.stored.value = entry.value();
            entries->push_back(std::move(stored));
        }
        return grpc::Status::OK;
    }

    // Copies only while shadowing; shadow writes also after the cutover, since the source may
    // have accepted one just before its fence and last-writer-wins keeps newer values.
    static bool acceptsIngest(v1::MigrationState state, bool shadow) {
        if (state == v1::SHADOWING)
            return true;
        return shadow && (state == v1::CUT_OVER || state == v1::ENDED);
    }

    grpc::Status ingest(const v1::IngestRequest& request, v1::IngestResponse* reply) {
        const std::shared_ptr<Migration> migration = find(request.migration_id());
        if (!migration)
            return notFound("Ingest", request.migration_id());
        const std::string where = "Ingest " + migration->label();
        if (migration->role != v1::TARGET)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": node " + context.node_id + " is the source, not the target");
        if (request.from_node() != migration->peer_node)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": entries come from " + migration->peer_node + ", not from '" +
                               request.from_node() + "'");
        std::vector<StoredEntry> entries;
        if (grpc::Status converted = convertIncoming(*migration, request, *context.clock, &entries);
            !converted.ok())
            return converted;

        // Shared: an abort (exclusive) cannot drop the range between the check and the apply.
        const auto gate = migration->enterShared();
        const v1::MigrationState state = migration->currentState();
        if (!acceptsIngest(state, request.shadow()))
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + " is " + stateName(state) + ": it takes no more " +
                               (request.shadow() ? "shadow writes" : "copies"));
        for (const StoredEntry& entry : entries)
            context.clock->observe(entry.stored.version.hlc);
        Result<std::vector<ApplyOutcome>> outcomes = context.store->applyBatch(entries);
        if (!outcomes)
            return failure(StatusCode::INTERNAL, where + ": " + outcomes.error().message);
        countIngested(*migration, request.shadow(), entries, outcomes.value(), reply);
        return grpc::Status::OK;
    }

    static void countIngested(Migration& migration, bool shadow,
                              const std::vector<StoredEntry>& entries,
                              const std::vector<ApplyOutcome>& outcomes,
                              v1::IngestResponse* reply) {
        const auto applied = static_cast<std::uint64_t>(
            std::count(outcomes.begin(), outcomes.end(), ApplyOutcome::Applied));
        reply->set_applied(applied);
        reply->set_skipped_older(outcomes.size() - applied);
        std::uint64_t bytes = 0;
        for (const StoredEntry& entry : entries)
            bytes += payloadBytes(entry);
        std::lock_guard lock(migration.mutex);
        if (shadow) {
            migration.forwarded_writes += entries.size();
        } else {
            migration.copied_entries += entries.size();
            migration.copied_bytes += bytes;
        }
    }

    // --- RangeChecksum ---

    // Refuses writes from now on and waits for the ones in flight, so the digest that follows
    // sees every acknowledged write and no half-done one.
    grpc::Status fence(Migration& migration, const char* step) {
        const std::string where = std::string(step) + " " + migration.label();
        if (migration.role != v1::SOURCE)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": fencing writes is for the source; node " + context.node_id +
                               " is the target");
        {
            std::lock_guard lock(migration.mutex);
            if (migration.state == v1::SHADOWING)
                migration.state = v1::FENCED;
            else if (migration.state != v1::FENCED)
                return failure(StatusCode::FAILED_PRECONDITION,
                               where + ": cannot fence writes, the migration is " +
                                   stateName(migration.state) +
                                   (migration.error.empty() ? "" : ": " + migration.error));
        }
        // Setting FENCED first makes new writers leave at once, so this exclusive lock only waits
        // for the writes already past the check.
        {
            const auto drained = migration.enterExclusive();
            std::lock_guard lock(migration.mutex);
            if (migration.state == v1::BROKEN)
                return failure(
                    StatusCode::FAILED_PRECONDITION,
                    where + ": a write in flight could not be forwarded: " + migration.error);
        }
        // Before the reply: a source killed from here on must come back fenced, or it would
        // serve the range at the old epoch while the executor commits the move.
        return rememberFence(migration, step);
    }

    grpc::Status checksumShape(const v1::RangeChecksumRequest& request) const {
        const bool snapshotted = request.pin_target_snapshot() || request.snapshot_id() != 0;
        if (request.migration_id() == 0 && (request.fence_writes() || snapshotted))
            return failure(StatusCode::INVALID_ARGUMENT,
                           "RangeChecksum: fence_writes, pin_target_snapshot and snapshot_id need "
                           "a migration id");
        if (request.pin_target_snapshot() && (request.fence_writes() || request.snapshot_id() != 0))
            return failure(StatusCode::INVALID_ARGUMENT,
                           "RangeChecksum: pin_target_snapshot goes with neither fence_writes nor "
                           "snapshot_id");
        if (request.fence_writes() && request.snapshot_id() != 0)
            return failure(StatusCode::INVALID_ARGUMENT,
                           "RangeChecksum: fence_writes and snapshot_id are for different nodes "
                           "(source and target)");
        return grpc::Status::OK;
    }

    // The range to digest: the request's, or with a migration id and no range the migration's.
    grpc::Status checksumRange(const Migration* migration, const v1::RangeChecksumRequest& request,
                               KeyRange* range) const {
        const KeyRange asked = fromProto(request.range());
        if (migration == nullptr) {
            if (!isValidRange(asked))
                return failure(StatusCode::INVALID_ARGUMENT,
                               "RangeChecksum: empty range " + formatKeyRange(asked));
            *range = asked;
            return grpc::Status::OK;
        }
        const bool wholeMigration = asked.start.empty() && asked.end.empty();
        *range = wholeMigration ? migration->range : asked;
        if (!isValidRange(*range) || !rangeCovers(migration->range, *range))
            return failure(StatusCode::INVALID_ARGUMENT,
                           "RangeChecksum " + migration->label() + ": range " +
                               formatKeyRange(*range) + " is not part of the migration's range");
        return grpc::Status::OK;
    }

    grpc::Status rangeChecksum(const v1::RangeChecksumRequest& request,
                               v1::RangeChecksumResponse* reply) {
        if (grpc::Status shape = checksumShape(request); !shape.ok())
            return shape;
        std::shared_ptr<Migration> migration;
        if (request.migration_id() != 0) {
            migration = find(request.migration_id());
            if (!migration)
                return notFound("RangeChecksum", request.migration_id());
        }
        KeyRange range;
        if (grpc::Status valid = checksumRange(migration.get(), request, &range); !valid.ok())
            return valid;

        PinnedSnapshot snapshot; // null: digest the current data
        if (request.fence_writes()) {
            std::lock_guard steps(stepMutex);
            if (grpc::Status fenced = fence(*migration, "RangeChecksum"); !fenced.ok())
                return fenced;
        } else if (request.pin_target_snapshot()) {
            std::uint64_t targetSnapshot = 0;
            if (grpc::Status pinned = pinWithTarget(*migration, &snapshot, &targetSnapshot);
                !pinned.ok())
                return pinned;
            reply->set_target_snapshot_id(targetSnapshot);
        } else if (request.snapshot_id() != 0) {
            if (grpc::Status found = pinnedSnapshot(*migration, request.snapshot_id(), &snapshot);
                !found.ok())
                return found;
        }
        return digestInto(range, snapshot.get(), reply);
    }

    grpc::Status digestInto(const KeyRange& range, const StoreSnapshot* snapshot,
                            v1::RangeChecksumResponse* reply) const {
        Result<RangeDigest> digest = snapshot != nullptr ? context.store->digest(range, *snapshot)
                                                         : context.store->digest(range);
        if (!digest)
            return failure(StatusCode::INTERNAL, "RangeChecksum " + formatKeyRange(range) + ": " +
                                                     digest.error().message);
        reply->set_checksum(digest->checksum);
        reply->set_entries(digest->entries);
        reply->set_bytes(digest->bytes);
        reply->set_epoch(installedEpoch());
        return grpc::Status::OK;
    }

    // --- Snapshots for verification ---

    // Source: pins a snapshot here and has the target pin one at the same point of the range's
    // write stream. Holding the gate exclusively, no write to the range is half done (applied
    // here but not yet forwarded) and none starts, so both hold exactly the same writes; the
    // writes wait for one round trip to the target.
    grpc::Status pinWithTarget(Migration& migration, PinnedSnapshot* local,
                               std::uint64_t* targetSnapshot) {
        const std::string where = "RangeChecksum " + migration.label();
        if (migration.role != v1::SOURCE)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": pin_target_snapshot is for the source; node " +
                               context.node_id + " is the target");
        std::lock_guard steps(stepMutex);
        const auto drained = migration.enterExclusive();
        std::shared_ptr<v1::NodeAgent::Stub> target;
        {
            std::lock_guard lock(migration.mutex);
            if (migration.state != v1::SHADOWING && migration.state != v1::FENCED)
                return failure(StatusCode::FAILED_PRECONDITION,
                               where + ": cannot verify, the migration is " +
                                   stateName(migration.state) +
                                   (migration.error.empty() ? "" : ": " + migration.error));
            target = migration.target;
        }
        if (!target)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + " has no channel to the target " + migration.peer_node +
                               " (restored after a restart); cut it over or abort it");
        *local = context.store->pinSnapshot();
        v1::PinSnapshotRequest request;
        request.set_migration_id(migration.id);
        request.set_from_node(context.node_id);
        v1::PinSnapshotResponse response;
        grpc::ClientContext call;
        call.set_deadline(std::chrono::system_clock::now() + kPinSnapshotDeadline);
        addToken(call, context.peer_security.token);
        const grpc::Status sent = target->PinSnapshot(&call, request, &response);
        if (!sent.ok())
            return failure(
                sent.error_code() == StatusCode::NOT_FOUND ? StatusCode::FAILED_PRECONDITION
                                                           : sent.error_code(),
                where + ": the target " + migration.peer_node + " at " + migration.peer_address +
                    " could not pin a snapshot: " + describeStatus(sent));
        *targetSnapshot = response.snapshot_id();
        return grpc::Status::OK;
    }

    // Target: the PinSnapshot call a source makes under its gate.
    grpc::Status pinSnapshot(const v1::PinSnapshotRequest& request,
                             v1::PinSnapshotResponse* reply) {
        const std::shared_ptr<Migration> migration = find(request.migration_id());
        if (!migration)
            return notFound("PinSnapshot", request.migration_id());
        const std::string where = "PinSnapshot " + migration->label();
        if (migration->role != v1::TARGET)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": node " + context.node_id + " is the source, not the target");
        if (request.from_node() != migration->peer_node)
            return failure(StatusCode::FAILED_PRECONDITION, where + ": the source is " +
                                                                migration->peer_node + ", not '" +
                                                                request.from_node() + "'");
        PinnedSnapshot snapshot = context.store->pinSnapshot();
        const std::uint64_t id = nextSnapshotId.fetch_add(1, std::memory_order_relaxed);
        {
            std::lock_guard lock(migration->mutex);
            if (migration->state != v1::SHADOWING)
                return failure(StatusCode::FAILED_PRECONDITION, where + " is " +
                                                                    stateName(migration->state) +
                                                                    ": there is nothing to verify");
            migration->pinned = std::move(snapshot); // releases an earlier one
            migration->pinned_id = id;
        }
        reply->set_snapshot_id(id);
        return grpc::Status::OK;
    }

    grpc::Status pinnedSnapshot(const Migration& migration, std::uint64_t id,
                                PinnedSnapshot* snapshot) const {
        const std::string where = "RangeChecksum " + migration.label();
        if (migration.role != v1::TARGET)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": snapshot_id is for the target; node " + context.node_id +
                               " is the source");
        std::lock_guard lock(migration.mutex);
        if (migration.pinned_id != id || !migration.pinned)
            return failure(
                StatusCode::NOT_FOUND,
                where + ": no snapshot " + std::to_string(id) + " is pinned on node " +
                    context.node_id +
                    " (a newer pin, the cutover or the abort released it); verify again");
        *snapshot = migration.pinned;
        return grpc::Status::OK;
    }

    // --- FenceWrites (source) ---

    grpc::Status fenceWrites(const v1::FenceWritesRequest& request,
                             v1::MigrationStepResponse* reply) {
        const std::shared_ptr<Migration> migration = find(request.migration_id());
        if (!migration)
            return notFound("FenceWrites", request.migration_id());
        std::lock_guard steps(stepMutex);
        if (grpc::Status fenced = fence(*migration, "FenceWrites"); !fenced.ok())
            return fenced;
        *reply->mutable_status() = migration->status();
        return grpc::Status::OK;
    }

    // --- Cutover ---

    grpc::Status checkCutoverTable(const Migration& migration, const OwnershipTable& table) const {
        const std::string where = "Cutover " + migration.label();
        const std::string target =
            migration.role == v1::SOURCE ? migration.peer_node : context.node_id;
        std::uint64_t beginEpoch = 0;
        {
            std::lock_guard lock(migration.mutex);
            beginEpoch = migration.begin_epoch;
        }
        if (table.epoch() <= beginEpoch)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": the table's epoch " + std::to_string(table.epoch()) +
                               " is not newer than " + std::to_string(beginEpoch) +
                               ", where the migration began");
        if (const Shard* other = firstShardNotOwnedBy(table, migration.range, target))
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": the table at epoch " + std::to_string(table.epoch()) +
                               " does not make " + target + " the owner of the range (shard " +
                               std::to_string(other->id) + " " + formatKeyRange(other->range) +
                               " is owned by " + other->owner + ")");
        return grpc::Status::OK;
    }

    // Installs the table unless the node already has exactly it (a repeated cutover, or the table
    // arrived by InstallTable first).
    grpc::Status installCutoverTable(const Migration& migration, const v1::OwnershipTable& message,
                                     const OwnershipTable& table) {
        const std::string where = "Cutover " + migration.label();
        const std::optional<OwnershipTable> current = context.current_table();
        if (current && current->epoch() > table.epoch())
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": node " + context.node_id + " is at epoch " +
                               std::to_string(current->epoch()) +
                               ", newer than the table's epoch " + std::to_string(table.epoch()));
        if (current && current->epoch() == table.epoch()) {
            if (*current == table)
                return grpc::Status::OK;
            return failure(StatusCode::FAILED_PRECONDITION, where + ": node " + context.node_id +
                                                                " has a different table at epoch " +
                                                                std::to_string(table.epoch()));
        }
        v1::InstallTableResponse installed;
        const grpc::Status status = context.install_table(message, &installed);
        if (!status.ok())
            return failure(status.error_code(),
                           where + ": installing the table failed: " + status.error_message());
        return grpc::Status::OK;
    }

    grpc::Status cutover(const v1::CutoverRequest& request, v1::MigrationStepResponse* reply) {
        const std::shared_ptr<Migration> migration = find(request.migration_id());
        if (!migration)
            return notFound("Cutover", request.migration_id());
        const std::string where = "Cutover " + migration->label();
        Result<OwnershipTable> table = fromProto(request.table(), "Cutover.table");
        if (!table)
            return failure(StatusCode::INVALID_ARGUMENT, where + ": " + table.error().message);

        std::lock_guard steps(stepMutex);
        const v1::MigrationState state = migration->currentState();
        if (state == v1::CUT_OVER || state == v1::ENDED) {
            // Done already; an earlier attempt may have failed to clear the fence.
            if (grpc::Status cleared = forgetFence(*migration, "Cutover"); !cleared.ok())
                return cleared;
            *reply->mutable_status() = migration->status();
            return grpc::Status::OK;
        }
        // The source must be fenced: only then did the checksums compare the same data, and no
        // write can slip in between the comparison and the new table.
        const v1::MigrationState ready = migration->role == v1::SOURCE ? v1::FENCED : v1::SHADOWING;
        if (state != ready)
            return failure(StatusCode::FAILED_PRECONDITION, where + ": the migration is " +
                                                                stateName(state) + ", not " +
                                                                stateName(ready));
        if (grpc::Status valid = checkCutoverTable(*migration, table.value()); !valid.ok())
            return valid;
        if (grpc::Status installed =
                installCutoverTable(*migration, request.table(), table.value());
            !installed.ok())
            return installed;
        {
            std::lock_guard lock(migration->mutex);
            migration->state = v1::CUT_OVER;
            migration->target.reset();
            migration->pinned.reset();
        }
        // Only now: a restart before this point restores the fence, and the table persisted
        // with the install keeps the node from serving the range after it.
        if (grpc::Status cleared = forgetFence(*migration, "Cutover"); !cleared.ok())
            return cleared;
        pruneFinished();
        *reply->mutable_status() = migration->status();
        return grpc::Status::OK;
    }

    // --- EndMigration and AbortMigration ---

    grpc::Status endMigration(const v1::EndMigrationRequest& request,
                              v1::MigrationStepResponse* reply) {
        const std::shared_ptr<Migration> migration = find(request.migration_id());
        const KeyRange range = fromProto(request.range());
        if (!migration && range != KeyRange{})
            return dropForgottenCopy(request.migration_id(), range, reply);
        if (!migration)
            return notFound("EndMigration", request.migration_id());
        std::lock_guard steps(stepMutex);
        const v1::MigrationState state = migration->currentState();
        if (state != v1::ENDED) {
            if (state != v1::CUT_OVER)
                return failure(StatusCode::FAILED_PRECONDITION,
                               "EndMigration " + migration->label() + ": the migration is " +
                                   stateName(state) + ", not CUT_OVER; abort it instead");
            if (grpc::Status ended = finishEnd(*migration); !ended.ok())
                return ended;
        }
        if (grpc::Status cleared = forgetFence(*migration, "EndMigration"); !cleared.ok())
            return cleared;
        pruneFinished();
        *reply->mutable_status() = migration->status();
        return grpc::Status::OK;
    }

    // EndMigration on a source that restarted after the cutover: the migration is gone from
    // memory, its copy of the range is not. Dropped only when nothing here can still need it.
    grpc::Status dropForgottenCopy(std::uint64_t id, const KeyRange& range,
                                   v1::MigrationStepResponse* reply) {
        const std::string where =
            "EndMigration of migration " + std::to_string(id) + " " + formatKeyRange(range);
        if (!isValidRange(range))
            return failure(StatusCode::INVALID_ARGUMENT, where + ": the range is empty");
        std::lock_guard steps(stepMutex);
        const std::optional<OwnershipTable> table = context.current_table();
        if (!table)
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": node " + context.node_id + " has no table installed yet");
        if (ownsAnyOf(*table, range, context.node_id))
            return failure(StatusCode::FAILED_PRECONDITION,
                           where + ": node " + context.node_id +
                               " owns part of the range at epoch " +
                               std::to_string(table->epoch()) + "; it keeps the data");
        if (const std::shared_ptr<Migration> other = activeOverlapping(range))
            return failure(StatusCode::FAILED_PRECONDITION, where + ": node " + context.node_id +
                                                                " takes part in " + other->label() +
                                                                "; it keeps the data");
        if (Status dropped = context.store->deleteRange(range); !dropped.ok())
            return failure(StatusCode::INTERNAL,
                           where + ": dropping the range failed: " + dropped.message());
        v1::MigrationStatus* status = reply->mutable_status();
        status->set_migration_id(id);
        status->set_role(v1::SOURCE);
        *status->mutable_range() = toProto(range);
        status->set_state(v1::ENDED);
        status->set_error("node " + context.node_id +
                          " had forgotten the migration (it restarted); dropped its copy of the "
                          "range");
        return grpc::Status::OK;
    }

    // A migration of a range overlapping `range` that still needs its data on this node.
    std::shared_ptr<Migration> activeOverlapping(const KeyRange& range) const {
        std::shared_lock lock(registryMutex);
        for (const auto& migration : migrations) {
            if (!rangesOverlap(migration->range, range))
                continue;
            std::lock_guard stateLock(migration->mutex);
            if (migration->blocksOverlapLocked())
                return migration;
        }
        return nullptr;
    }

    grpc::Status finishEnd(Migration& migration) {
        std::string note;
        if (migration.role == v1::SOURCE) {
            const std::optional<OwnershipTable> table = context.current_table();
            const bool stillOwner = !table || ownsAnyOf(*table, migration.range, context.node_id);
            // Exclusive: a write that raced with the cutover must not land after the drop.
            const auto gate = migration.enterExclusive();
            if (stillOwner) {
                note = "kept the range's data: node " + context.node_id +
                       " owns part of it at its installed epoch";
            } else if (Status dropped = context.store->deleteRange(migration.range);
                       !dropped.ok()) {
                return failure(StatusCode::INTERNAL,
                               "EndMigration " + migration.label() +
                                   ": dropping the range failed: " + dropped.message());
            }
        }
        std::lock_guard lock(migration.mutex);
        migration.state = v1::ENDED;
        if (!note.empty())
            migration.error = note;
        return grpc::Status::OK;
    }

    grpc::Status abortMigration(const v1::AbortMigrationRequest& request,
                                v1::MigrationStepResponse* reply) {
        const std::shared_ptr<Migration> migration = find(request.migration_id());
        if (!migration)
            return notFound("AbortMigration", request.migration_id());
        std::lock_guard steps(stepMutex);
        const v1::MigrationState state = migration->currentState();
        if (state == v1::CUT_OVER || state == v1::ENDED)
            return failure(StatusCode::FAILED_PRECONDITION, "AbortMigration " + migration->label() +
                                                                ": too late, the migration is " +
                                                                stateName(state) +
                                                                " and the move is committed");
        if (state != v1::ABORTED) {
            if (grpc::Status aborted = finishAbort(*migration, request.reason()); !aborted.ok())
                return aborted;
        }
        if (grpc::Status cleared = forgetFence(*migration, "AbortMigration"); !cleared.ok())
            return cleared;
        pruneFinished();
        *reply->mutable_status() = migration->status();
        return grpc::Status::OK;
    }

    grpc::Status finishAbort(Migration& migration, const std::string& reason) {
        bool keepData = true; // the source keeps its data: it stays the owner
        if (migration.role == v1::TARGET) {
            const std::optional<OwnershipTable> table = context.current_table();
            keepData = table && ownsAnyOf(*table, migration.range, context.node_id);
        }
        // Exclusive: no write is half forwarded and no ingest half applied while the state
        // changes, so nothing reaches the target's store after the drop.
        const auto gate = migration.enterExclusive();
        if (!keepData) {
            if (Status dropped = context.store->deleteRange(migration.range); !dropped.ok())
                return failure(StatusCode::INTERNAL,
                               "AbortMigration " + migration.label() +
                                   ": dropping the copied data failed: " + dropped.message());
        }
        std::lock_guard lock(migration.mutex);
        const std::string earlier = migration.error;
        migration.state = v1::ABORTED;
        migration.target.reset();
        migration.pinned.reset();
        migration.error = "aborted" + (reason.empty() ? std::string() : ": " + reason) +
                          (earlier.empty() ? std::string() : " (earlier: " + earlier + ")");
        return grpc::Status::OK;
    }

    // Keeps the newest kFinishedMigrationsKept finished migrations for statuses(); call with
    // stepMutex.
    void pruneFinished() {
        std::unique_lock lock(registryMutex);
        std::size_t finished = 0;
        for (const auto& migration : migrations) {
            std::lock_guard stateLock(migration->mutex);
            finished += migration->finishedLocked() ? 1 : 0;
        }
        for (auto it = migrations.begin();
             finished > kFinishedMigrationsKept && it != migrations.end();) {
            bool remove = false;
            {
                std::lock_guard stateLock((*it)->mutex);
                // One whose fence could not be cleared stays, so that repeating the step works.
                remove = (*it)->finishedLocked() && persistedFences.count((*it)->id) == 0;
            }
            if (remove) {
                it = migrations.erase(it);
                --finished;
            } else {
                ++it;
            }
        }
    }

    bool isIncoming(std::string_view key) const {
        std::shared_lock lock(registryMutex);
        for (const auto& migration : migrations) {
            if (migration->role == v1::TARGET && migration->range.contains(key) &&
                migration->currentState() == v1::SHADOWING)
                return true;
        }
        return false;
    }

    std::vector<v1::MigrationStatus> statuses() const {
        std::shared_lock lock(registryMutex);
        std::vector<v1::MigrationStatus> all;
        all.reserve(migrations.size());
        for (const auto& migration : migrations)
            all.push_back(migration->status());
        return all;
    }
};

NodeMigrations::NodeMigrations(MigrationContext context)
    : m_impl(std::make_unique<Impl>(std::move(context))) {}

NodeMigrations::~NodeMigrations() = default;

grpc::Status NodeMigrations::beginShadow(const v1::BeginShadowRequest& request,
                                         v1::MigrationStepResponse* reply) {
    return m_impl->beginShadow(request, reply);
}

grpc::Status NodeMigrations::copyBatch(const v1::CopyBatchRequest& request,
                                       v1::CopyBatchResponse* reply) {
    return m_impl->copyBatch(request, reply);
}

grpc::Status NodeMigrations::ingest(const v1::IngestRequest& request, v1::IngestResponse* reply) {
    return m_impl->ingest(request, reply);
}

grpc::Status NodeMigrations::rangeChecksum(const v1::RangeChecksumRequest& request,
                                           v1::RangeChecksumResponse* reply) {
    return m_impl->rangeChecksum(request, reply);
}

grpc::Status NodeMigrations::pinSnapshot(const v1::PinSnapshotRequest& request,
                                         v1::PinSnapshotResponse* reply) {
    return m_impl->pinSnapshot(request, reply);
}

grpc::Status NodeMigrations::fenceWrites(const v1::FenceWritesRequest& request,
                                         v1::MigrationStepResponse* reply) {
    return m_impl->fenceWrites(request, reply);
}

grpc::Status NodeMigrations::cutover(const v1::CutoverRequest& request,
                                     v1::MigrationStepResponse* reply) {
    return m_impl->cutover(request, reply);
}

grpc::Status NodeMigrations::endMigration(const v1::EndMigrationRequest& request,
                                          v1::MigrationStepResponse* reply) {
    return m_impl->endMigration(request, reply);
}

grpc::Status NodeMigrations::abortMigration(const v1::AbortMigrationRequest& request,
                                            v1::MigrationStepResponse* reply) {
    return m_impl->abortMigration(request, reply);
}

grpc::Status
NodeMigrations::writeThrough(std::string_view key,
                             const std::function<Result<StoredEntry>()>& applyLocally) {
    return m_impl->writeThrough(key, applyLocally);
}

bool NodeMigrations::isIncoming(std::string_view key) const {
    return m_impl->isIncoming(key);
}

std::vector<v1::MigrationStatus> NodeMigrations::statuses() const {
    return m_impl->statuses();
}

Status NodeMigrations::restoreStatus() const {
    return m_impl->restoreResult;
}

// --- The fence encoding ---------------------------------------------------------------------
//
// Version 1, integers little-endian: [u8 version = 1] [u32 fence count], then per fence
// [u64 migration id] [u64 shard id] [u64 begin epoch] [bytes range start] [bytes range end (empty:
// unbounded)] [bytes target node], where bytes = [u32 length] [length bytes].

namespace fence_encoding {

constexpr std::uint8_t kVersion = 1;
// The fewest bytes one fence takes: three u64 and three empty byte strings.
constexpr std::size_t kMinFenceBytes = 3 * 8 + 3 * 4;

void appendUint(std::string& out, std::uint64_t value, std::size_t bytes) {
    for (std::size_t i = 0; i < bytes; ++i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xffu));
}

void appendBytes(std::string& out, std::string_view bytes) {
    appendUint(out, bytes.size(), 4);
    out.append(bytes);
}

// Reads the encoding front to back; the first failure is kept and names the field and offset.
class Reader {
public:
    explicit Reader(std::string_view bytes)
        : m_bytes(bytes) {}

    std::uint64_t uint(std::size_t bytes, const std::string& field) {
        if (!take(bytes, field))
            return 0;
        const std::string_view read = m_bytes.substr(m_at - bytes, bytes);
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < bytes; ++i)
            value |= std::uint64_t{static_cast<unsigned char>(read[i])} << (8 * i);
        return value;
    }

    std::string text(const std::string& field) {
        const std::uint64_t length = uint(4, field + " length");
        if (!take(length, field))
            return {};
        return std::string(m_bytes.substr(m_at - length, length));
    }

    std::size_t remaining() const { return m_bytes.size() - m_at; }
    std::size_t offset() const { return m_at; }
    bool failed() const { return !m_error.empty(); }
    const std::string& error() const { return m_error; }

private:
    bool take(std::uint64_t count, const std::string& field) {
        if (failed())
            return false;
        if (count > remaining()) {
            m_error = "truncated: " + field + " at byte " + std::to_string(m_at) + " needs " +
                      std::to_string(count) + " bytes, " + std::to_string(remaining()) + " left";
            return false;
        }
        m_at += count;
        return true;
    }

    std::string_view m_bytes;
    std::size_t m_at = 0;
    std::string m_error;
};

// What is wrong with a decoded fence, or an empty string.
std::string defectOf(const PersistedFence& fence) {
    if (fence.migration_id == 0)
        return "migration id 0";
    if (!fence.range.unboundedAbove() && !(fence.range.start < fence.range.end))
        return "empty range " + formatKeyRange(fence.range);
    if (fence.target_node.empty())
        return "no target node";
    return {};
}

} // namespace fence_encoding

std::string encodeFences(const std::vector<PersistedFence>& fences) {
    std::string out;
    out.push_back(static_cast<char>(fence_encoding::kVersion));
    fence_encoding::appendUint(out, fences.size(), 4);
    for (const PersistedFence& fence : fences) {
        fence_encoding::appendUint(out, fence.migration_id, 8);
        fence_encoding::appendUint(out, fence.shard_id, 8);
        fence_encoding::appendUint(out, fence.begin_epoch, 8);
        fence_encoding::appendBytes(out, fence.range.start);
        fence_encoding::appendBytes(out, fence.range.end);
        fence_encoding::appendBytes(out, fence.target_node);
    }
    return out;
}

Result<std::vector<PersistedFence>> decodeFences(std::string_view bytes) {
    using fence_encoding::Reader;
    if (bytes.empty())
        return Error{"migration fences: empty value (expected at least a format version byte)"};
    Reader reader(bytes);
    const std::uint64_t version = reader.uint(1, "format version");
    if (version != fence_encoding::kVersion)
        return Error{"migration fences: unknown format version " + std::to_string(version) +
                     " (this node reads version " + std::to_string(fence_encoding::kVersion) + ")"};
    const std::uint64_t count = reader.uint(4, "fence count");
    if (reader.failed())
        return Error{"migration fences: " + reader.error()};
    if (count > reader.remaining() / fence_encoding::kMinFenceBytes)
        return Error{"migration fences: " + std::to_string(count) + " fences cannot fit in the " +
                     std::to_string(reader.remaining()) + " bytes that follow the count"};
    std::vector<PersistedFence> fences;
    fences.reserve(static_cast<std::size_t>(count));
    std::set<std::uint64_t> ids;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::string which = "fence " + std::to_string(i + 1) + " of " + std::to_string(count);
        PersistedFence fence;
        fence.migration_id = reader.uint(8, which + ": migration id");
        fence.shard_id = reader.uint(8, which + ": shard id");
        fence.begin_epoch = reader.uint(8, which + ": begin epoch");
        fence.range.start = reader.text(which + ": range start");
        fence.range.end = reader.text(which + ": range end");
        fence.target_node = reader.text(which + ": target node");
        if (reader.failed())
            return Error{"migration fences: " + reader.error()};
        if (const std::string defect = fence_encoding::defectOf(fence); !defect.empty())
            return Error{"migration fences: " + which + ": " + defect};
        if (!ids.insert(fence.migration_id).second)
            return Error{"migration fences: " + which + ": migration " +
                         std::to_string(fence.migration_id) + " appears twice"};
        fences.push_back(std::move(fence));
    }
    if (reader.remaining() != 0)
        return Error{"migration fences: " + std::to_string(reader.remaining()) +
                     " unexpected bytes after the last fence, at byte " +
                     std::to_string(reader.offset())};
    return fences;
}

} // namespace rangepilot::node
