#include "node_service.h"

#include "proto_convert.h"

#include <algorithm>

namespace rangepilot::node {

namespace {

constexpr std::size_t kShownKeyChars = 64;
// How often a waiting WatchStats stream looks at its ServerContext: the synchronous API has no
// notification for a client that went away.
constexpr auto kCancelPollPeriod = std::chrono::milliseconds(100);

std::int64_t unixNowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::uint64_t elapsedUs(std::chrono::steady_clock::time_point started) {
    const auto elapsed = std::chrono::steady_clock::now() - started;
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
}

// A key for a message: its text form, cut short so a 4 KiB key does not flood a log line.
std::string shownKey(std::string_view key) {
    std::string text = formatKey(key);
    if (text.size() > kShownKeyChars)
        text = text.substr(0, kShownKeyChars) + "...";
    return "'" + text + "'";
}

grpc::Status invalidArgument(const std::string& field, const std::string& what) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, field + ": " + what);
}

grpc::Status tooLarge(const std::string& field, std::size_t size, std::size_t limit) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, field + ": " + std::to_string(size) +
                                                                  " bytes, more than " +
                                                                  std::to_string(limit));
}

grpc::Status internalError(const Error& error) {
    return grpc::Status(grpc::StatusCode::INTERNAL, error.message);
}

grpc::Status checkKey(const std::string& field, std::string_view key) {
    if (key.empty())
        return invalidArgument(field, "empty");
    if (key.size() > kMaxKeyBytes)
        return tooLarge(field, key.size(), kMaxKeyBytes);
    return grpc::Status::OK;
}

grpc::Status checkValue(const std::string& field, std::string_view value) {
    if (value.size() > kMaxValueBytes)
        return tooLarge(field, value.size(), kMaxValueBytes);
    return grpc::Status::OK;
}

// A range's bounds may be empty (start of the key space, +inf) but not oversized or inverted.
grpc::Status checkRange(const std::string& field, const v1::KeyRange& range) {
    if (range.start().size() > kMaxKeyBytes)
        return tooLarge(field + ".start", range.start().size(), kMaxKeyBytes);
    if (range.end().size() > kMaxKeyBytes)
        return tooLarge(field + ".end", range.end().size(), kMaxKeyBytes);
    if (!range.end().empty() && range.end() < range.start())
        return invalidArgument(field, "end " + shownKey(range.end()) + " < start " +
                                          shownKey(range.start()));
    return grpc::Status::OK;
}

v1::Version toProto(const ValueVersion& version) {
    v1::Version message;
    message.set_hlc(version.hlc);
    message.set_node(version.node);
    return message;
}

double perSecond(std::uint64_t now, std::uint64_t before, double seconds) {
    return now >= before ? static_cast<double>(now - before) / seconds : 0.0;
}

} // namespace

struct NodeService::UsageBaseline {
    std::chrono::steady_clock::time_point at;
    std::int64_t unix_ms = 0;
    bool proc_known = false;
    ProcSample proc;
    std::uint64_t ops = 0;
    std::uint64_t payload_bytes = 0;
    std::uint64_t service_us = 0;
};

NodeService::NodeService(NodeServiceConfig config, NodeStore& store, HybridClock& clock,
                         PeerLinks* peers)
    : m_config(std::move(config))
    , m_store(store)
    , m_clock(clock)
    , m_peers(peers)
    , m_watchers(std::make_shared<const Watchers>()) {
    MigrationContext context;
    context.node_id = m_config.node_id;
    context.store = &m_store;
    context.clock = &m_clock;
    context.peer_security = m_config.peer_security;
    context.current_table = [this]() -> std::optional<OwnershipTable> {
        const std::shared_ptr<const OwnershipTable> current = table();
        if (!current)
            return std::nullopt;
        return *current;
    };
    context.install_table = [this](const v1::OwnershipTable& next,
                                   v1::InstallTableResponse* reply) {
        return installTable(next, reply);
    };
    m_migrations = std::make_unique<NodeMigrations>(std::move(context));
}

NodeService::~NodeService() = default;

// --- The ownership table ------------------------------------------------------------------------

Status NodeService::loadPersistedTable() {
    Result<std::optional<std::string>> stored = m_store.getMeta(kMetaTableKey);
    if (!stored)
        return stored.error();
    if (!stored->has_value())
        return Status::success();
    v1::OwnershipTable message;
    if (!message.ParseFromString(**stored))
        return Error{"the persisted ownership table does not parse"};
    Result<OwnershipTable> parsed = fromProto(message, "persisted table");
    if (!parsed)
        return parsed.error();
    std::lock_guard lock(m_tableMutex);
    m_table = std::make_shared<const OwnershipTable>(std::move(parsed.value()));
    return Status::success();
}

grpc::Status NodeService::installTable(const v1::OwnershipTable& message,
                                       v1::InstallTableResponse* reply) {
    Result<OwnershipTable> parsed = fromProto(message, "InstallTableRequest.table");
    if (!parsed)
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, parsed.error().message);
    const std::uint64_t next = parsed->epoch();

    std::lock_guard install(m_installMutex);
    const std::shared_ptr<const OwnershipTable> current = table();
    const std::uint64_t currentEpoch = current ? current->epoch() : 0;
    if (next < currentEpoch) {
        v1::EpochMismatch details;
        details.set_node_epoch(currentEpoch);
        details.set_request_epoch(next);
        details.set_node_id(m_config.node_id);
        return staleEpochStatus("table epoch " + std::to_string(next) + " is older than node " +
                                    m_config.node_id + "'s epoch " + std::to_string(currentEpoch),
                                details);
    }
    if (next == currentEpoch) {
        if (!(*current == parsed.value()))
            return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                "node " + m_config.node_id + " has a different table at epoch " +
                                    std::to_string(next));
        reply->set_epoch(currentEpoch);
        reply->set_installed(false);
        return grpc::Status::OK;
    }
    // Persist first: a node that acknowledged an epoch must come back with it after a crash.
    if (Status persisted =
            m_store.putMeta(kMetaTableKey, toProto(parsed.value()).SerializeAsString());
        !persisted)
        return grpc::Status(grpc::StatusCode::INTERNAL,
                            "persisting the table failed: " + persisted.message());
    {
        std::lock_guard lock(m_tableMutex);
        m_table = std::make_shared<const OwnershipTable>(std::move(parsed.value()));
    }
    reply->set_epoch(next);
    reply->set_installed(true);
    return grpc::Status::OK;
}

std::shared_ptr<const OwnershipTable> NodeService::table() const {
    std::lock_guard lock(m_tableMutex);
    return m_table;
}

std::uint64_t NodeService::epoch() const {
    const std::shared_ptr<const OwnershipTable> current = table();
    return current ? current->epoch() : 0;
}

void NodeService::setListenAddress(std::string address) {
    std::lock_guard lock(m_addressMutex);
    m_listenAddress = std::move(address);
}

std::string NodeService::listenAddress() const {
    std::lock_guard lock(m_addressMutex);
    return m_listenAddress;
}

void NodeService::beginShutdown() {
    {
        std::lock_guard lock(m_shutdownMutex);
        m_shuttingDown = true;
    }
    m_shutdownWake.notify_all();
}

// --- Checks shared by the RPCs ------------------------------------------------------------------

grpc::Status NodeService::checkToken(const grpc::ServerContext& context) const {
    if (m_config.token.empty())
        return grpc::Status::OK;
    const std::optional<std::string> presented = bearerToken(context);
    if (!presented)
        return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                            "this call needs the metadata \"authorization: Bearer <token>\"");
    if (!tokensEqual(*presented, m_config.token))
        return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "wrong token");
    return grpc::Status::OK;
}

grpc::Status NodeService::routeKey(std::uint64_t requestEpoch, std::string_view key,
                                   std::shared_ptr<const OwnershipTable>* routedBy) const {
    std::shared_ptr<const OwnershipTable> current = table();
    const std::uint64_t nodeEpoch = current ? current->epoch() : 0;
    const std::string& node = m_config.node_id;
    v1::EpochMismatch details;
    details.set_node_epoch(nodeEpoch);
    details.set_request_epoch(requestEpoch);
    details.set_node_id(node);
    if (requestEpoch < nodeEpoch)
        return staleEpochStatus("stale epoch " + std::to_string(requestEpoch) + ": node " + node +
                                    " is at epoch " + std::to_string(nodeEpoch),
                                details);
    if (requestEpoch > nodeEpoch)
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "node " + node + " is at epoch " + std::to_string(nodeEpoch) +
                                ", behind " + std::to_string(requestEpoch));
    if (!current)
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "node " + node + " has no ownership table installed yet");
    const Shard& shard = current->shardFor(key);
    const std::string where = "key " + shownKey(key) + " is not owned by node " + node +
                              " at epoch " + std::to_string(nodeEpoch);
    if (shard.owner != node)
        return staleEpochStatus(where + " (shard " + std::to_string(shard.id) + " belongs to " +
                                    shard.owner + ")",
                                details);
    // Belt and braces: a migration target holds a copy, never the authoritative value.
    if (m_migrations->isIncoming(key))
        return staleEpochStatus(where + " (it is receiving the key in a migration)", details);
    if (routedBy != nullptr)
        *routedBy = std::move(current);
    return grpc::Status::OK;
}

void NodeService::recordServed(const Served& served) {
    const std::uint64_t latencyUs = elapsedUs(served.started);
    m_totals.ops.fetch_add(1, std::memory_order_relaxed);
    m_totals.payload_bytes.fetch_add(served.payload_bytes, std::memory_order_relaxed);
    m_totals.service_us.fetch_add(latencyUs, std::memory_order_relaxed);
    std::shared_ptr<const Watchers> watchers;
    {
        std::lock_guard lock(m_watchersMutex);
        watchers = m_watchers;
    }
    for (const std::shared_ptr<AccessCounters>& counters : *watchers)
        counters->record(served.key, served.kind, served.data_bytes, latencyUs);
}

// --- Data ---------------------------------------------------------------------------------------

grpc::Status NodeService::Get(grpc::ServerContext*, const v1::GetRequest* request,
                              v1::GetResponse* reply) {
    const auto started = std::chrono::steady_clock::now();
    if (grpc::Status valid = checkKey("GetRequest.key", request->key()); !valid.ok())
        return valid;
    if (grpc::Status route = routeKey(request->epoch(), request->key()); !route.ok())
        return route;
    Result<std::optional<StoredValue>> stored = m_store.get(request->key());
    if (!stored)
        return internalError(stored.error());
    std::uint64_t valueBytes = 0;
    if (stored->has_value()) {
        const StoredValue& value = **stored;
        *reply->mutable_version() = toProto(value.version);
        reply->set_found(!value.tombstone);
        if (!value.tombstone) {
            valueBytes = value.value.size();
            reply->set_value(std::move((*stored)->value));
        }
    }
    recordServed({request->key(), AccessKind::Read, request->key().size() + valueBytes,
                  request->ByteSizeLong() + reply->ByteSizeLong(), started});
    return grpc::Status::OK;
}

grpc::Status NodeService::writeKey(const std::string& key, const std::string& value, bool tombstone,
                                   ValueVersion* stamped, bool* existed) {
    auto applyLocally = [&]() -> Result<StoredEntry> {
        if (existed != nullptr) {
            Result<std::optional<StoredValue>> before = m_store.get(key);
            if (!before)
                return before.error();
            *existed = before->has_value() && !(*before)->tombstone;
        }
        // now() is above every version this node has seen, so the first attempt normally wins;
        // the retry covers a version that arrived between the stamp and the apply.
        for (int attempt = 0; attempt < 3; ++attempt) {
            StoredEntry entry{key, StoredValue{ValueVersion{m_clock.now(), m_config.node_id},
                                               tombstone, tombstone ? std::string() : value}};
            Result<ApplyOutcome> outcome = m_store.apply(key, entry.stored);
            if (!outcome)
                return outcome.error();
            if (outcome.value() == ApplyOutcome::Applied) {
                *stamped = entry.stored.version;
                return entry;
            }
            Result<std::optional<StoredValue>> newer = m_store.get(key);
            if (newer && newer->has_value())
                m_clock.observe((*newer)->version.hlc);
        }
        return Error{"key " + shownKey(key) + ": a newer version kept winning over this write"};
    };
    return m_migrations->writeThrough(key, applyLocally);
}

grpc::Status NodeService::Put(grpc::ServerContext* context, const v1::PutRequest* request,
                              v1::PutResponse* reply) {
    const auto started = std::chrono::steady_clock::now();
    if (grpc::Status token = checkToken(*context); !token.ok())
        return token;
    if (grpc::Status valid = checkKey("PutRequest.key", request->key()); !valid.ok())
        return valid;
    if (grpc::Status valid = checkValue("PutRequest.value", request->value()); !valid.ok())
        return valid;
    if (grpc::Status route = routeKey(request->epoch(), request->key()); !route.ok())
        return route;
    ValueVersion stamped;
    grpc::Status written = writeKey(request->key(), request->value(), false, &stamped, nullptr);
    if (!written.ok())
        return written;
    *reply->mutable_version() = toProto(stamped);
    recordServed({request->key(), AccessKind::Write,
                  request->key().size() + request->value().size(),
                  request->ByteSizeLong() + reply->ByteSizeLong(), started});
    return grpc::Status::OK;
}

grpc::Status NodeService::Delete(grpc::ServerContext* context, const v1::DeleteRequest* request,
                                 v1::DeleteResponse* reply) {
    const auto started = std::chrono::steady_clock::now();
    if (grpc::Status token = checkToken(*context); !token.ok())
        return token;
    if (grpc::Status valid = checkKey("DeleteRequest.key", request->key()); !valid.ok())
        return valid;
    if (grpc::Status route = routeKey(request->epoch(), request->key()); !route.ok())
        return route;
    ValueVersion stamped;
    bool existed = false;
    grpc::Status written = writeKey(request->key(), std::string(), true, &stamped, &existed);
    if (!written.ok())
        return written;
    reply->set_existed(existed);
    *reply->mutable_version() = toProto(stamped);
    recordServed({request->key(), AccessKind::Write, request->key().size(),
                  request->ByteSizeLong() + reply->ByteSizeLong(), started});
    return grpc::Status::OK;
}

grpc::Status NodeService::Scan(grpc::ServerContext*, const v1::ScanRequest* request,
                               v1::ScanResponse* reply) {
    const auto started = std::chrono::steady_clock::now();
    if (grpc::Status valid = checkRange("ScanRequest.range", request->range()); !valid.ok())
        return valid;
    if (request->limit() > kMaxScanEntries)
        return invalidArgument("ScanRequest.limit", std::to_string(request->limit()) +
                                                        " is more than " +
                                                        std::to_string(kMaxScanEntries));
    const std::string& start = request->range().start();
    std::shared_ptr<const OwnershipTable> current;
    if (grpc::Status route = routeKey(request->epoch(), start, &current); !route.ok())
        return route;
    const KeyRange requested = fromProto(request->range());
    const KeyRange shard = current->shardFor(start).range;
    // Serve only what this node's shard holds; the rest belongs to the next shard's owner.
    const bool shardEndsFirst =
        !shard.end.empty() && (requested.end.empty() || shard.end < requested.end);
    const KeyRange served{start, shardEndsFirst ? shard.end : requested.end};
    const std::size_t limit = request->limit() == 0 ? kMaxScanEntries : request->limit();

    std::uint64_t dataBytes = 0;
    if (requested.end.empty() || start < requested.end) {
        Result<ScanPage> page = m_store.scan(served, start, limit, kMaxScanBytes, ScanFor::Client);
        if (!page)
            return internalError(page.error());
        for (StoredEntry& stored : page->entries) {
            v1::Entry* entry = reply->add_entries();
            dataBytes += stored.key.size() + stored.stored.value.size();
            *entry->mutable_version() = toProto(stored.stored.version);
            entry->set_key(std::move(stored.key));
            entry->set_value(std::move(stored.stored.value));
        }
        if (!page->resume_key.empty())
            reply->set_resume_key(std::move(page->resume_key));
        else if (shardEndsFirst)
            reply->set_resume_key(shard.end);
    }
    recordServed({start, AccessKind::Read, start.size() + dataBytes,
                  request->ByteSizeLong() + reply->ByteSizeLong(), started});
    return grpc::Status::OK;
}

// --- Table --------------------------------------------------------------------------------------

grpc::Status NodeService::GetTable(grpc::ServerContext*, const v1::GetTableRequest*,
                                   v1::OwnershipTable* reply) {
    const std::shared_ptr<const OwnershipTable> current = table();
    if (!current)
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            "node " + m_config.node_id + " has no ownership table installed yet");
    *reply = toProto(*current);
    return grpc::Status::OK;
}

grpc::Status NodeService::InstallTable(grpc::ServerContext* context,
                                       const v1::InstallTableRequest* request,
                                       v1::InstallTableResponse* reply) {
    if (grpc::Status token = checkToken(*context); !token.ok())
        return token;
    if (!request->has_table())
        return invalidArgument("InstallTableRequest.table", "missing");
    return installTable(request->table(), reply);
}

// --- Migrations: the token, then NodeMigrations -------------------------------------------------

grpc::Status NodeService::BeginShadow(grpc::ServerContext* context,
                                      const v1::BeginShadowRequest* request,
                                      v1::MigrationStepResponse* reply) {
    if (grpc::Status token = checkToken(*context); !token.ok())
        return token;
    return m_migrations->beginShadow(*request, reply);
}

grpc::Status NodeService::CopyBatch(grpc::ServerContext* context,
                                    const v1::CopyBatchRequest* request,
                                    v1::CopyBatchResponse* reply) {
    if (grpc::Status token = checkToken(*context); !token.ok())
        return token;
    return m_migrations->copyBatch(*request, reply);
}

grpc::Status NodeService::Ingest(grpc::ServerContext* context, const v1::IngestRequest* request,
                                 v1::IngestResponse* reply) {
    if (grpc::Status token = checkToken(*context); !token.ok())
        return token;
    // NodeMigrations moves the clock past every version it accepts, so later local writes win.
    grpc::Status status = m_migrations->ingest(*request, reply);
    m_totals.payload_bytes.fetch_add(request->ByteSizeLong() + reply->ByteSizeLong(),
                                     std::memory_order_relaxed);
    return status;
}

grpc::Status NodeService::RangeChecksum(grpc::ServerContext* context,
                                        const v1::RangeChecksumRequest* request,
                                        v1::RangeChecksumResponse* reply) {
    if (grpc::Status token = checkToken(*context); !token.ok())
        return token;
    return m_migrations->rangeChecksum(*request, reply);
}

grpc::Status NodeService::PinSnapshot(grpc::ServerContext* context,
                                      const v1::PinSnapshotRequest* request,
                                      v1::PinSnapshotResponse* reply) {
    if (grpc::Status token = checkToken(*context); !token.ok())
        return token;
    return m_migrations->pinSnapshot(*request, reply);
}

grpc::Status NodeService::FenceWrites(grpc::ServerContext* context,
                                      const v1::FenceWritesRequest* request,
                                      v1::MigrationStepResponse* reply) {
    if (grpc::Status token = checkToken(*context); !token.ok())
        return token;
    return m_migrations->fenceWrites(*request, reply);
}

grpc::Status NodeService::Cutover(grpc::ServerContext* context, const v1::CutoverRequest* request,
                                  v1::MigrationStepResponse* reply) {
    if (grpc::Status token = checkToken(*context); !token.ok())
        return token;
    return m_migrations->cutover(*request, reply);
}

grpc::Status NodeService::EndMigration(grpc::ServerContext* context,
                                       const v1::EndMigrationRequest* request,
                                       v1::MigrationStepResponse* reply) {
    if (grpc::Status token = checkToken(*context); !token.ok())
        return token;
    return m_migrations->endMigration(*request, reply);
}

grpc::Status NodeService::AbortMigration(grpc::ServerContext* context,
                                         const v1::AbortMigrationRequest* request,
                                         v1::MigrationStepResponse* reply) {
    if (grpc::Status token = checkToken(*context); !token.ok())
        return token;
    return m_migrations->abortMigration(*request, reply);
}

// --- Info, statistics, samples, liveness --------------------------------------------------------

void NodeService::fillLimits(v1::Limits* limits) const {
    limits->set_max_key_bytes(kMaxKeyBytes);
    limits->set_max_value_bytes(kMaxValueBytes);
    limits->set_max_scan_entries(kMaxScanEntries);
    limits->set_max_scan_bytes(kMaxScanBytes);
    limits->set_max_copy_batch_bytes(kMaxCopyBatchBytes);
    limits->set_max_message_bytes(static_cast<std::uint32_t>(kMaxMessageBytes));
}

grpc::Status NodeService::GetNodeInfo(grpc::ServerContext*, const v1::NodeInfoRequest*,
                                      v1::NodeInfo* reply) {
    reply->set_node_id(m_config.node_id);
    reply->set_address(listenAddress());
    reply->set_software_version(kNodeSoftwareVersion);
    reply->set_table_epoch(epoch());
    *reply->mutable_capacity() = m_config.capacity;
    reply->set_stored_keys(m_store.estimatedKeys());
    reply->set_stored_bytes(m_store.estimatedBytes());
    reply->set_started_unix_ms(m_config.started_unix_ms);
    reply->set_tls(m_config.tls);
    reply->set_token_required(!m_config.token.empty());
    fillLimits(reply->mutable_limits());
    if (m_peers != nullptr) {
        for (v1::PeerStatus& peer : m_peers->statuses())
            *reply->add_peers() = std::move(peer);
    }
    for (v1::MigrationStatus& migration : m_migrations->statuses())
        *reply->add_migrations() = std::move(migration);
    return grpc::Status::OK;
}

grpc::Status NodeService::SampleKeys(grpc::ServerContext*, const v1::SampleKeysRequest* request,
                                     v1::SampleKeysResponse* reply) {
    if (grpc::Status valid = checkRange("SampleKeysRequest.range", request->range()); !valid.ok())
        return valid;
    if (request->max_keys() < 1 || request->max_keys() > kMaxSampleKeys)
        return invalidArgument("SampleKeysRequest.max_keys", std::to_string(request->max_keys()) +
                                                                 " is outside 1 .. " +
                                                                 std::to_string(kMaxSampleKeys));
    std::uint64_t seen = 0;
    Result<std::vector<std::string>> keys =
        m_store.sampleKeys(fromProto(request->range()), request->max_keys(), &seen);
    if (!keys)
        return internalError(keys.error());
    for (std::string& key : keys.value())
        reply->add_keys(std::move(key));
    reply->set_keys_seen(seen);
    return grpc::Status::OK;
}

grpc::Status NodeService::Ping(grpc::ServerContext*, const v1::PingRequest* request,
                               v1::PingResponse* reply) {
    reply->set_node_id(m_config.node_id);
    reply->set_sent_unix_us(request->sent_unix_us());
    reply->set_table_epoch(epoch());
    return grpc::Status::OK;
}

void NodeService::addWatcher(const std::shared_ptr<AccessCounters>& counters) {
    std::lock_guard lock(m_watchersMutex);
    auto next = std::make_shared<Watchers>(*m_watchers);
    next->push_back(counters);
    m_watchers = std::move(next);
}

void NodeService::removeWatcher(const std::shared_ptr<AccessCounters>& counters) {
    std::lock_guard lock(m_watchersMutex);
    auto next = std::make_shared<Watchers>(*m_watchers);
    std::erase(*next, counters);
    m_watchers = std::move(next);
}

bool NodeService::waitForReport(const grpc::ServerContext& context,
                                std::chrono::steady_clock::time_point until) {
    std::unique_lock lock(m_shutdownMutex);
    for (;;) {
        if (m_shuttingDown || context.IsCancelled())
            return false;
        const auto now = std::chrono::steady_clock::now();
        if (now >= until)
            return true;
        m_shutdownWake.wait_until(lock, std::min(until, now + kCancelPollPeriod));
    }
}

NodeService::UsageBaseline NodeService::takeBaseline() const {
    UsageBaseline baseline;
    baseline.at = std::chrono::steady_clock::now();
    baseline.unix_ms = unixNowMs();
    Result<ProcSample> sample = readProcSample();
    baseline.proc_known = sample.ok();
    if (sample)
        baseline.proc = sample.value();
    baseline.ops = m_totals.ops.load(std::memory_order_relaxed);
    baseline.payload_bytes = m_totals.payload_bytes.load(std::memory_order_relaxed);
    baseline.service_us = m_totals.service_us.load(std::memory_order_relaxed);
    return baseline;
}

v1::StatsReport NodeService::makeReport(UsageBaseline& baseline, AccessCounters& counters) const {
    UsageBaseline now = takeBaseline();
    const double seconds =
        std::max(1e-3, std::chrono::duration<double>(now.at - baseline.at).count());
    v1::StatsReport report;
    report.set_start_unix_ms(baseline.unix_ms);
    report.set_end_unix_ms(now.unix_ms);
    v1::Resources* usage = report.mutable_usage();
    usage->set_ops_per_s(perSecond(now.ops, baseline.ops, seconds));
    usage->set_network_bytes_per_s(perSecond(now.payload_bytes, baseline.payload_bytes, seconds));
    usage->set_service_us_per_s(perSecond(now.service_us, baseline.service_us, seconds));
    if (now.proc_known) {
        usage->set_memory_bytes(static_cast<double>(now.proc.resident_bytes));
        if (baseline.proc_known) {
            usage->set_cpu_cores(std::max(0.0, now.proc.cpu.seconds - baseline.proc.cpu.seconds) /
                                 seconds);
            if (now.proc.io_known && baseline.proc.io_known) {
                const std::uint64_t total = now.proc.io.read_bytes + now.proc.io.write_bytes;
                const std::uint64_t before =
                    baseline.proc.io.read_bytes + baseline.proc.io.write_bytes;
                usage->set_disk_bytes_per_s(perSecond(total, before, seconds));
            }
        }
    } else if (baseline.proc_known) {
        now.proc = baseline.proc; // keep the last good sample as the next baseline
        now.proc_known = true;
    }
    *report.mutable_capacity() = m_config.capacity;
    for (const CellLoad& cell : counters.take()) {
        v1::CellCounters* out = report.add_cells();
        out->set_reads(cell.reads);
        out->set_writes(cell.writes);
        out->set_bytes(cell.bytes);
        out->set_latency_us(cell.latency_us);
    }
    report.set_table_epoch(epoch());
    if (m_peers != nullptr) {
        for (v1::PeerStatus& peer : m_peers->statuses())
            *report.add_peers() = std::move(peer);
    }
    for (v1::MigrationStatus& migration : m_migrations->statuses())
        *report.add_migrations() = std::move(migration);
    report.set_stored_keys(m_store.estimatedKeys());
    report.set_stored_bytes(m_store.estimatedBytes());
    baseline = std::move(now);
    return report;
}

grpc::Status NodeService::WatchStats(grpc::ServerContext* context,
                                     const v1::WatchStatsRequest* request,
                                     grpc::ServerWriter<v1::StatsReport>* writer) {
    const std::uint32_t intervalMs = request->interval_ms();
    if (intervalMs < kMinStatsIntervalMs || intervalMs > kMaxStatsIntervalMs)
        return invalidArgument("WatchStatsRequest.interval_ms",
                               std::to_string(intervalMs) + " is outside " +
                                   std::to_string(kMinStatsIntervalMs) + " .. " +
                                   std::to_string(kMaxStatsIntervalMs));
    Result<std::unique_ptr<AccessCounters>> created = AccessCounters::create(
        std::vector<std::string>(request->cell_starts().begin(), request->cell_starts().end()));
    if (!created)
        return invalidArgument("WatchStatsRequest", created.error().message);
    const std::shared_ptr<AccessCounters> counters = std::move(created.value());

    addWatcher(counters);
    UsageBaseline baseline = takeBaseline();
    const auto interval = std::chrono::milliseconds(intervalMs);
    auto next = baseline.at + interval;
    bool clientGone = false;
    while (waitForReport(*context, next)) {
        if (!writer->Write(makeReport(baseline, *counters))) {
            clientGone = true;
            break;
        }
        // Keep the cadence; after a slow write, start again from now rather than burst.
        next += interval;
        if (const auto now = std::chrono::steady_clock::now(); next < now)
            next = now + interval;
    }
    removeWatcher(counters);
    if (clientGone || context->IsCancelled())
        return grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away");
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "node " + m_config.node_id + " is shutting down");
}

} // namespace rangepilot::node
