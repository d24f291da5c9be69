#include "grpc_cluster_connector.h"

#include "key_cells.h"
#include "proto_convert.h"

#include <QMetaObject>
#include <QPointer>

#include <algorithm>
#include <chrono>
#include <map>

namespace rangepilot {

namespace {

constexpr int kReconnectMs = 1000;
constexpr int kPushDeadlineMs = 3000;
// A node still behind this long after a push gets the table again (the push may have failed).
constexpr TimeMs kPushRetryMs = kPushDeadlineMs + 1000;
// How often a cluster with fewer keys than cells is sampled again (refineCells).
constexpr TimeMs kResampleMs = 2000;
// Each RPC of a migration clean-up waits this long for a node that is down.
constexpr int kCleanupDeadlineMs = 3000;
// At most one clean-up attempt per node and migration this often: a node that reports the same
// state again before the last attempt took effect must not get the calls twice.
constexpr TimeMs kCleanupRetryMs = 5000;

TimeMs wallNowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

OwnershipTable placeholderTable() {
    return OwnershipTable::withInitialPlacement({}, {"(connecting)"}).value();
}

QString qs(const std::string& text) {
    return QString::fromStdString(text);
}

// The keys the nodes hold, spread evenly over each node's keys: sorted and distinct. A node that
// does not answer adds a line to `warnings`.
std::vector<Key> sampleKeys(const NodeDirectory& nodes, const std::vector<HostId>& ids,
                            std::uint32_t maxKeysPerNode, int deadlineMs,
                            std::vector<std::string>& warnings) {
    std::vector<Key> sample;
    for (const HostId& id : ids) {
        const std::shared_ptr<NodeStub> stub = nodes.stub(id);
        if (!stub)
            continue;
        auto context = nodes.context(deadlineMs);
        v1::SampleKeysRequest request;
        request.set_max_keys(maxKeysPerNode);
        v1::SampleKeysResponse reply;
        const grpc::Status status = stub->SampleKeys(context.get(), request, &reply);
        if (!status.ok()) {
            warnings.push_back(id + ": SampleKeys: " + describeStatus(status));
            continue;
        }
        sample.insert(sample.end(), reply.keys().begin(), reply.keys().end());
    }
    std::sort(sample.begin(), sample.end());
    sample.erase(std::unique(sample.begin(), sample.end()), sample.end());
    return sample;
}

// Cells at quantiles of `sample`, plus every shard start so that shards hold whole cells.
Result<KeyCells> cellsFor(const std::vector<Key>& sample, std::size_t cellCount,
                          const OwnershipTable& table) {
    std::vector<Key> starts = KeyCells::fromSample(sample, cellCount).starts();
    const std::vector<Key> splits = table.splitKeys();
    starts.insert(starts.end(), splits.begin(), splits.end());
    std::sort(starts.begin(), starts.end());
    starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
    Result<KeyCells> cells = KeyCells::fromStarts(std::move(starts));
    if (!cells)
        return Error{"key cells: " + cells.error().message};
    return cells;
}

// Split keys that cut `sample` (sorted, distinct) into `shards` runs of about equal size.
std::vector<Key> quantileSplits(const std::vector<Key>& sample, std::size_t shards) {
    std::vector<Key> splits;
    if (sample.empty() || shards < 2)
        return splits;
    for (std::size_t i = 1; i < shards; ++i) {
        const Key& key = sample[i * sample.size() / shards];
        if (!key.empty() && (splits.empty() || splits.back() < key))
            splits.push_back(key);
    }
    return splits;
}

// --- Reconciling node migrations with the store ---

// Whether the node keeps nothing of the migration that needs another step: ENDED, ABORTED, or a
// target that cut over (the executor never ends a target; the node counts it finished too).
bool settledOnNode(const v1::MigrationStatus& status) {
    return status.state() == v1::ENDED || status.state() == v1::ABORTED ||
           (status.role() == v1::TARGET && status.state() == v1::CUT_OVER);
}

// "migration 5 (SOURCE of [key100, key200) to n2, FENCED)" for messages.
std::string describeOnNode(const v1::MigrationStatus& status) {
    const bool source = status.role() == v1::SOURCE;
    return "migration " + std::to_string(status.migration_id()) + " (" +
           v1::MigrationRole_Name(status.role()) + " of " +
           formatKeyRange(fromProto(status.range())) + (source ? " to " : " from ") +
           status.peer_node() + ", " + v1::MigrationState_Name(status.state()) + ")";
}

enum class CleanupStep { Abort, Cutover, End };

// What a node gets so that its side of a migration matches the store's terminal record: either
// steps, or a `problem` saying why it is left alone.
struct CleanupPlan {
    std::vector<CleanupStep> steps;
    std::string problem;
};

CleanupPlan planCleanup(const MigrationRecord& record, const HostId& node,
                        const v1::MigrationStatus& status) {
    const bool source = status.role() == v1::SOURCE;
    const bool target = status.role() == v1::TARGET;
    // Ids restart in every store: a migration another store's console began on these nodes may
    // carry the id of one of ours. Only the same move is ours to touch.
    const bool sameMove = fromProto(status.range()) == record.range &&
                          ((source && node == record.from && status.peer_node() == record.to) ||
                           (target && node == record.to && status.peer_node() == record.from));
    if (!sameMove)
        return {{},
                "does not match the store's record of that id (" + record.from + " to " +
                    record.to + ", " + formatKeyRange(record.range) + "): left alone"};
    const v1::MigrationState state = status.state();
    if (record.phase == MigrationPhase::Done) {
        // Committed: the target owns the range. A fenced source still needs the new table (it
        // refuses the range until then) and then to drop its copy; a target still shadowing
        // refuses clients until it is cut over.
        if (source && state == v1::FENCED)
            return {{CleanupStep::Cutover, CleanupStep::End}, {}};
        if (source && state == v1::CUT_OVER)
            return {{CleanupStep::End}, {}};
        if (target && state == v1::SHADOWING)
            return {{CleanupStep::Cutover}, {}};
    } else if (state == v1::SHADOWING || state == v1::FENCED || state == v1::BROKEN) {
        // Rolled back: the source stays the owner and must serve again; a target drops its copy.
        return {{CleanupStep::Abort}, {}};
    }
    return {{},
            "the store records it " + migrationPhaseName(record.phase).toStdString() +
                ", which this state cannot follow from: left alone"};
}

struct CleanupCall {
    std::shared_ptr<NodeStub> stub;
    std::vector<CleanupStep> steps;
    MigrationId id = 0;
    std::string reason;       // AbortMigration
    v1::OwnershipTable table; // Cutover: the store's table
    v1::KeyRange range;       // EndMigration: the record's range
};

// Runs the steps in order on the calling thread; "" when all succeeded, else what failed.
std::string runCleanup(const CleanupCall& call, const NodeDirectory& nodes) {
    for (const CleanupStep step : call.steps) {
        const std::unique_ptr<grpc::ClientContext> context = nodes.context(kCleanupDeadlineMs);
        v1::MigrationStepResponse reply;
        grpc::Status status;
        const char* name = "";
        switch (step) {
        case CleanupStep::Abort: {
            name = "AbortMigration";
            v1::AbortMigrationRequest request;
            request.set_migration_id(call.id);
            request.set_reason(call.reason);
            status = call.stub->AbortMigration(context.get(), request, &reply);
            break;
        }
        case CleanupStep::Cutover: {
            name = "Cutover";
            v1::CutoverRequest request;
            request.set_migration_id(call.id);
            *request.mutable_table() = call.table;
            status = call.stub->Cutover(context.get(), request, &reply);
            break;
        }
        case CleanupStep::End: {
            name = "EndMigration";
            v1::EndMigrationRequest request;
            request.set_migration_id(call.id);
            *request.mutable_range() = call.range;
            status = call.stub->EndMigration(context.get(), request, &reply);
            break;
        }
        }
        // A node that forgot the migration meanwhile (it restarted) has nothing left to abort or
        // cut over; EndMigration with the range still drops a forgotten copy.
        if (status.error_code() == grpc::StatusCode::NOT_FOUND && step != CleanupStep::End)
            continue;
        if (!status.ok())
            return std::string(name) + " failed: " + describeStatus(status);
    }
    return {};
}

} // namespace

// What the startup thread hands to the GUI thread.
struct GrpcClusterConnector::Connected {
    std::vector<HostId> ids; // index = host index
    std::vector<std::string> addresses;
    ClusterModel cluster;
    KeyCells cells;
    OwnershipTable table = placeholderTable();
    std::vector<HostId> behind; // nodes whose table is older than the store's
    std::vector<MigrationProgress> recovered;
    std::size_t sampled_keys = 0; // distinct keys the cells were cut from
    std::vector<std::string> warnings;
};

Status validate(const GrpcClusterOptions& options) {
    if (options.endpoints.empty())
        return Error{"endpoints: at least one node address (host:port) is needed"};
    for (std::size_t i = 0; i < options.endpoints.size(); ++i)
        if (options.endpoints[i].find(':') == std::string::npos)
            return Error{"endpoints[" + std::to_string(i) + "]: '" + options.endpoints[i] +
                         "' is not host:port"};
    if (options.cells < 1 || options.cells > 65536)
        return Error{"cells must be in 1 .. 65536"};
    if (options.stats_interval_ms < 100 || options.stats_interval_ms > 60000)
        return Error{"stats_interval_ms must be in 100 .. 60000"};
    if (options.sample_keys_per_node < 1 || options.sample_keys_per_node > 100000)
        return Error{"sample_keys_per_node must be in 1 .. 100000"};
    if (options.initial_shards_per_node < 1)
        return Error{"initial_shards_per_node must be at least 1"};
    if (options.connect_deadline_ms < 100)
        return Error{"connect_deadline_ms must be at least 100"};
    return validate(options.executor);
}

GrpcClusterConnector::GrpcClusterConnector(GrpcClusterOptions options,
                                           std::unique_ptr<OwnershipStore> store, QObject* parent)
    : ClusterConnector(parent)
    , m_options(std::move(options))
    , m_store(std::move(store))
    , m_nodes(m_options.security)
    , m_table(placeholderTable()) {
    m_tick.setInterval(m_options.stats_interval_ms);
    connect(&m_tick, &QTimer::timeout, this, &GrpcClusterConnector::onTick);
}

GrpcClusterConnector::~GrpcClusterConnector() {
    stopThreads();
    m_executor.reset(); // rolls back running moves while the store and directory still exist
}

QString GrpcClusterConnector::name() const {
    std::string list;
    for (const std::string& endpoint : m_options.endpoints)
        list += (list.empty() ? "" : ", ") + endpoint;
    const std::size_t count = m_options.endpoints.size();
    const QString name =
        QStringLiteral("gRPC cluster (%1 %2: %3)")
            .arg(count)
            .arg(count == 1 ? QStringLiteral("node") : QStringLiteral("nodes"), qs(list));
    // The status bar and the title say so for as long as it lasts, not only in a passing message.
    return drives() ? name : name + QStringLiteral(", watching only");
}

TimeMs GrpcClusterConnector::clusterTime() const {
    return m_lastTickMs != 0 ? m_lastTickMs : wallNowMs();
}

bool GrpcClusterConnector::drives() const {
    return m_store && m_store->holdsDriverLock();
}

void GrpcClusterConnector::setState(ConnectorState state, const QString& detail) {
    m_state = state;
    Q_EMIT stateChanged(state, detail);
}

// --- Starting ---------------------------------------------------------------------------------

void GrpcClusterConnector::start() {
    if (m_state == ConnectorState::Starting || m_state == ConnectorState::Running)
        return;
    if (Status valid = validate(m_options); !valid) {
        setState(ConnectorState::Failed, qs(valid.message()));
        Q_EMIT errorOccurred(qs(valid.message()));
        return;
    }
    setState(ConnectorState::Starting,
             QStringLiteral("connecting to %1 nodes").arg(m_options.endpoints.size()));
    m_stopping = false;
    if (m_startThread.joinable())
        m_startThread.join();
    const std::uint64_t generation = ++m_startGeneration;
    QPointer<GrpcClusterConnector> self(this);
    // A new executor for each start: the previous one (if any) rolls back what it still runs, so
    // that recover() finds only migrations nobody drives.
    m_executor.reset();
    if (drives())
        m_executor = std::make_unique<MigrationExecutor>(
            *m_store, m_nodes, m_options.executor, [this, self](const MigrationProgress& progress) {
                if (m_recovering)
                    return; // recover() returns the outcomes; finishStart reports them
                QMetaObject::invokeMethod(
                    this,
                    [this, self, progress] {
                        if (self)
                            onProgress(progress);
                    },
                    Qt::QueuedConnection);
            });
    m_startThread = std::thread([this, self, generation] {
        Result<Connected> connected = connectCluster();
        QMetaObject::invokeMethod(
            this,
            [this, self, generation, result = std::move(connected)]() mutable {
                if (self)
                    finishStart(generation, std::move(result));
            },
            Qt::QueuedConnection);
    });
}

Result<GrpcClusterConnector::Connected> GrpcClusterConnector::connectCluster() {
    Connected connected;
    std::vector<v1::NodeInfo> infos;
    for (const std::string& endpoint : m_options.endpoints) {
        Result<std::shared_ptr<grpc::Channel>> channel = makeChannel(endpoint, m_options.security);
        if (!channel)
            return Error{endpoint + ": " + channel.error().message};
        auto stub = v1::NodeAgent::NewStub(channel.value());
        auto context = m_nodes.context(m_options.connect_deadline_ms);
        v1::NodeInfo info;
        const grpc::Status status = stub->GetNodeInfo(context.get(), {}, &info);
        if (!status.ok()) {
            connected.warnings.push_back(endpoint + ": " + describeStatus(status));
            continue;
        }
        if (std::find(connected.ids.begin(), connected.ids.end(), info.node_id()) !=
            connected.ids.end())
            return Error{endpoint + ": node id '" + info.node_id() +
                         "' is already used by another endpoint"};
        if (Status added = m_nodes.add(info.node_id(), endpoint); !added)
            return Error{added.message()};
        connected.ids.push_back(info.node_id());
        connected.addresses.push_back(endpoint);
        infos.push_back(std::move(info));
    }
    if (connected.ids.empty()) {
        std::string why;
        for (const std::string& warning : connected.warnings)
            why += "; " + warning;
        return Error{"no node answered" + why};
    }

    // Hosts, capacities and the RTTs the nodes measured to each other.
    connected.cluster.latency = LatencyMatrix(connected.ids.size());
    for (std::size_t i = 0; i < infos.size(); ++i) {
        Host host;
        host.id = connected.ids[i];
        host.capacity = fromProto(infos[i].capacity());
        connected.cluster.hosts.push_back(std::move(host));
    }
    for (std::size_t i = 0; i < infos.size(); ++i)
        for (const v1::PeerStatus& peer : infos[i].peers()) {
            const auto found =
                std::find(connected.ids.begin(), connected.ids.end(), peer.node_id());
            const auto j = static_cast<std::size_t>(found - connected.ids.begin());
            if (found != connected.ids.end() && peer.reachable() && j != i)
                connected.cluster.latency.set(i, j, peer.rtt_ms());
        }

    // Key samples: the basis of the cells and, for a fresh cluster, of the first split keys.
    const std::vector<Key> sample =
        sampleKeys(m_nodes, connected.ids, m_options.sample_keys_per_node,
                   m_options.connect_deadline_ms, connected.warnings);
    connected.sampled_keys = sample.size();

    // The table: the store's, else the newest a node has, else a fresh placement.
    Result<OwnershipState> state = m_store->load();
    if (!state)
        return Error{state.error().message};
    std::optional<OwnershipTable> table = state->table;
    if (!table) {
        for (const HostId& id : connected.ids) {
            auto context = m_nodes.context(m_options.connect_deadline_ms);
            v1::OwnershipTable reply;
            if (!m_nodes.stub(id)->GetTable(context.get(), {}, &reply).ok() || reply.epoch() == 0)
                continue;
            Result<OwnershipTable> candidate = fromProto(reply, id + ".GetTable");
            if (candidate && (!table || candidate->epoch() > table->epoch()))
                table = std::move(candidate).value();
        }
    }
    if (!table) {
        Result<OwnershipTable> fresh = OwnershipTable::withInitialPlacement(
            quantileSplits(sample, m_options.initial_shards_per_node * connected.ids.size()),
            connected.ids);
        if (!fresh)
            return Error{"initial placement: " + fresh.error().message};
        table = std::move(fresh).value();
    }
    if (!state->table && m_store->holdsDriverLock())
        if (Status initialized = m_store->initialize(*table); !initialized)
            return Error{initialized.message()};
    // Migrations a previous console left unfinished: finished (committed) or rolled back before
    // anything new starts. Blocking (retries with backoff), hence here and not on the GUI thread.
    if (m_executor) {
        m_recovering = true;
        connected.recovered = m_executor->recover();
        m_recovering = false;
        if (!connected.recovered.empty())
            if (Result<OwnershipState> after = m_store->load(); after && after->table)
                table = after->table;
    }
    for (std::size_t i = 0; i < infos.size(); ++i)
        if (infos[i].table_epoch() < table->epoch())
            connected.behind.push_back(connected.ids[i]);

    Result<KeyCells> cells = cellsFor(sample, m_options.cells, *table);
    if (!cells)
        return cells.error();
    connected.cells = std::move(cells).value();
    connected.table = std::move(*table);
    return connected;
}

void GrpcClusterConnector::finishStart(std::uint64_t generation, Result<Connected> connected) {
    if (m_stopping || generation != m_startGeneration)
        return; // stopped, or started again, meanwhile
    if (!connected) {
        setState(ConnectorState::Failed, qs(connected.error().message));
        Q_EMIT errorOccurred(qs(connected.error().message));
        return;
    }
    for (const std::string& warning : connected->warnings)
        Q_EMIT errorOccurred(qs(warning));
    m_topology.cluster = connected->cluster;
    m_topology.cells = connected->cells;
    m_storedBytes.assign(connected->ids.size(), 0);
    m_memoryBytes.assign(connected->ids.size(), 0.0);
    m_pushPending.assign(connected->ids.size(), PendingPush{});
    m_cellBytes.assign(m_topology.cells.size(), 0.0);
    m_sampledKeys = connected->sampled_keys;
    m_lastSampleMs = wallNowMs();
    m_table = connected->table;
    Q_EMIT topologyChanged(m_topology);
    Q_EMIT ownershipChanged(m_table);

    if (drives()) {
        pushTableTo(connected->behind);
        m_recovered = connected->recovered;
        for (const MigrationProgress& progress : m_recovered)
            Q_EMIT migrationProgress(progress);
    } else {
        Q_EMIT errorOccurred(qs(watchingReason()));
    }
    startStreams();
    m_lastTickMs = wallNowMs();
    m_tick.start();
    setState(ConnectorState::Running, name());
}

// --- Streams ----------------------------------------------------------------------------------

void GrpcClusterConnector::startStreams() {
    const std::size_t hosts = m_topology.cluster.hosts.size();
    {
        // Reports of a previous start may index other hosts.
        const std::lock_guard lock(m_inboxMutex);
        m_inbox.clear();
        m_streaming.assign(hosts, false);
    }
    m_streamContexts.assign(hosts, nullptr);
    for (std::size_t host = 0; host < hosts; ++host)
        m_streamThreads.emplace_back([this, host] { streamStats(host); });
}

void GrpcClusterConnector::streamStats(std::size_t host) {
    const HostId id = m_topology.cluster.hosts[host].id;
    v1::WatchStatsRequest request;
    request.set_interval_ms(static_cast<std::uint32_t>(m_options.stats_interval_ms));
    for (const Key& start : m_topology.cells.starts())
        request.add_cell_starts(start);
    bool reported = false; // this outage was reported: one message, not one per attempt
    while (!m_stopping) {
        auto context = std::make_shared<grpc::ClientContext>();
        addToken(*context, m_options.security.token);
        {
            const std::lock_guard lock(m_inboxMutex);
            if (m_stopping)
                return;
            m_streamContexts[host] = context;
        }
        auto reader = m_nodes.stub(id)->WatchStats(context.get(), request);
        v1::StatsReport report;
        while (reader->Read(&report)) {
            const std::lock_guard lock(m_inboxMutex);
            m_inbox.push_back({host, report});
            m_streaming[host] = true;
            reported = false;
        }
        const grpc::Status status = reader->Finish();
        std::unique_lock lock(m_inboxMutex);
        m_streamContexts[host] = nullptr;
        m_streaming[host] = false;
        if (m_stopping)
            return;
        if (!reported) {
            const QString message =
                QStringLiteral("%1: statistics stream ended (%2); reconnecting every second")
                    .arg(qs(id), qs(describeStatus(status)));
            QMetaObject::invokeMethod(
                this, [this, message] { Q_EMIT errorOccurred(message); }, Qt::QueuedConnection);
            reported = true;
        }
        m_stopWake.wait_for(lock, std::chrono::milliseconds(kReconnectMs),
                            [this] { return m_stopping.load(); });
    }
}

void GrpcClusterConnector::stopStreams() {
    {
        const std::lock_guard lock(m_inboxMutex);
        m_stopping = true;
        for (const auto& context : m_streamContexts)
            if (context)
                context->TryCancel();
    }
    m_stopWake.notify_all();
    for (std::thread& thread : m_streamThreads)
        thread.join();
    m_streamThreads.clear();
}

void GrpcClusterConnector::stopThreads() {
    stopStreams();
    if (m_startThread.joinable())
        m_startThread.join();
    m_pushes.clear();       // waits for each, at most its deadline
    m_cleanupCalls.clear(); // likewise, at most its deadline per call
    m_cleanups.clear();     // nothing is in flight any more
    m_resample = {};        // waits for it, at most the connect deadline per node
}

void GrpcClusterConnector::stop() {
    m_tick.stop();
    stopThreads();
    if (m_state != ConnectorState::Stopped)
        setState(ConnectorState::Stopped, QStringLiteral("stopped"));
}

// --- Ticks ------------------------------------------------------------------------------------

void GrpcClusterConnector::onTick() {
    std::vector<NodeReport> reports;
    std::vector<bool> streaming;
    {
        const std::lock_guard lock(m_inboxMutex);
        reports.swap(m_inbox);
        streaming = m_streaming;
    }
    const TimeMs now = wallNowMs();
    const std::size_t hosts = m_topology.cluster.hosts.size();
    AccessBatch batch;
    batch.start_ms = m_lastTickMs;
    batch.end_ms = now;
    batch.cells.assign(m_topology.cells.size(), CellLoad{});
    // Rates × the seconds each report covers, so that reports and ticks need not line up.
    std::vector<ResourceVector> amounts(hosts);
    std::vector<HostId> behind;
    ReportedMigrations migrations;
    for (const NodeReport& node : reports) {
        const v1::StatsReport& report = node.report;
        // The last report of a tick is the node's latest word on its migrations.
        migrations[node.host].assign(report.migrations().begin(), report.migrations().end());
        const auto cellCount = std::min<std::size_t>(batch.cells.size(),
                                                     static_cast<std::size_t>(report.cells_size()));
        for (std::size_t cell = 0; cell < cellCount; ++cell) {
            const v1::CellCounters& counters = report.cells(static_cast<int>(cell));
            batch.cells[cell].add(CellLoad{counters.reads(), counters.writes(), counters.bytes(),
                                           counters.latency_us()});
        }
        const ResourceVector usage = fromProto(report.usage());
        const double seconds = static_cast<double>(std::max<std::int64_t>(
                                   0, report.end_unix_ms() - report.start_unix_ms())) /
                               1000.0;
        amounts[node.host] += usage * seconds;
        m_memoryBytes[node.host] = usage[Resource::Memory]; // a level, not a rate
        m_storedBytes[node.host] = report.stored_bytes();
        if (needsPush(node.host, report.table_epoch(), now) &&
            std::find(behind.begin(), behind.end(), m_topology.cluster.hosts[node.host].id) ==
                behind.end())
            behind.push_back(m_topology.cluster.hosts[node.host].id);
    }
    HostUsageSample usage;
    usage.start_ms = m_lastTickMs;
    usage.end_ms = now;
    usage.usage.assign(hosts, ResourceVector{});
    const double tickSeconds = static_cast<double>(now - m_lastTickMs) / 1000.0;
    double opsPerS = 0.0;
    for (std::size_t host = 0; host < hosts; ++host) {
        if (tickSeconds > 0.0)
            usage.usage[host] = amounts[host] * (1.0 / tickSeconds);
        // Unknown while its stream is down: nothing rather than a stale figure.
        usage.usage[host][Resource::Memory] =
            host < streaming.size() && streaming[host] ? m_memoryBytes[host] : 0.0;
        opsPerS += usage.usage[host][Resource::Ops];
    }
    m_lastTickMs = now;

    if (!drives()) {
        // Another console drives: follow its commits.
        if (Result<OwnershipState> state = m_store->load();
            state && state->table && state->table->epoch() != m_table.epoch())
            publishTable(*state->table);
    } else {
        if (!behind.empty())
            pushTableTo(behind);
        reconcileMigrations(migrations, now);
    }
    reapPushes();
    updateCellBytes(m_storedBytes);
    Q_EMIT accessBatch(batch);
    Q_EMIT hostUsage(usage);
    Q_EMIT clockAdvanced(now, opsPerS);
    refineCells(now);
}

// A cluster that held fewer keys than cells at the start (a fresh one) got coarse cells: the
// planner cannot split what it cannot tell apart. Sample again every few seconds, off the GUI
// thread, and cut finer cells once the keys are there: when the sample fills the cells, or holds
// four times the keys of the current cut (so a slowly filling cluster is re-cut a few times, not
// every tick). Each cut is a new topology (the session starts its history again): this happens
// in a fresh cluster's first minutes only.
void GrpcClusterConnector::refineCells(TimeMs now) {
    // As many keys as cells, or as many as the sampling can return.
    const std::size_t wanted = std::min<std::size_t>(
        m_options.cells, m_options.sample_keys_per_node * m_topology.cluster.hosts.size());
    if (m_sampledKeys >= wanted || m_state != ConnectorState::Running)
        return;
    if (m_resample.valid()) {
        if (m_resample.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
            return;
        const std::vector<Key> sample = m_resample.get();
        if (sample.size() >= wanted || sample.size() >= 4 * std::max<std::size_t>(m_sampledKeys, 1))
            recutCells(sample);
        return;
    }
    if (now - m_lastSampleMs < kResampleMs)
        return;
    m_lastSampleMs = now;
    std::vector<HostId> ids;
    for (const Host& host : m_topology.cluster.hosts)
        ids.push_back(host.id);
    m_resample = std::async(std::launch::async, [this, ids] {
        std::vector<std::string> ignored; // a node that is down is reported by its stream
        return sampleKeys(m_nodes, ids, m_options.sample_keys_per_node,
                          m_options.connect_deadline_ms, ignored);
    });
}

void GrpcClusterConnector::recutCells(const std::vector<Key>& sample) {
    Result<KeyCells> cells = cellsFor(sample, m_options.cells, m_table);
    if (!cells)
        return; // keep the cells there are
    // The streams count by cells given when they open: open them again with the new ones. The
    // reports of the old cells that did not make it into a batch yet are dropped (one tick).
    stopStreams();
    m_stopping = false;
    m_topology.cells = std::move(cells).value();
    m_sampledKeys = sample.size();
    m_cellBytes.assign(m_topology.cells.size(), 0.0);
    updateCellBytes(m_storedBytes);
    Q_EMIT topologyChanged(m_topology);
    startStreams();
}

bool GrpcClusterConnector::needsPush(std::size_t host, std::uint64_t nodeEpoch, TimeMs now) const {
    if (nodeEpoch >= m_table.epoch())
        return false;
    const PendingPush& pending = m_pushPending[host];
    return pending.epoch < m_table.epoch() || now - pending.at_ms >= kPushRetryMs;
}

void GrpcClusterConnector::updateCellBytes(const std::vector<std::uint64_t>& storedBytes) {
    std::fill(m_cellBytes.begin(), m_cellBytes.end(), 0.0);
    std::map<HostId, std::size_t> cellsOwned;
    for (const Shard& shard : m_table.shards())
        cellsOwned[shard.owner] += m_topology.cells.cellsStartingIn(shard.range).size();
    for (const Shard& shard : m_table.shards()) {
        const auto host = m_topology.cluster.indexOf(shard.owner);
        const std::size_t owned = cellsOwned[shard.owner];
        if (!host || owned == 0)
            continue;
        const double perCell = static_cast<double>(storedBytes[*host]) / static_cast<double>(owned);
        const CellSpan span = m_topology.cells.cellsStartingIn(shard.range);
        for (CellIndex cell = span.first; cell < span.end; ++cell)
            m_cellBytes[cell] = perCell;
    }
}

void GrpcClusterConnector::pushTableTo(const std::vector<HostId>& nodes) {
    reapPushes();
    const OwnershipTable table = m_table;
    const TimeMs now = wallNowMs();
    for (const HostId& id : nodes) {
        const auto host = m_topology.cluster.indexOf(id);
        if (host)
            m_pushPending[*host] = PendingPush{table.epoch(), now};
        // Off the GUI thread: a node that is down would hold the window for the deadline. A
        // failure needs no report: the node's next report shows it behind, and it gets the table
        // again (needsPush).
        std::shared_ptr<NodeStub> stub = m_nodes.stub(id);
        if (!stub)
            continue;
        m_pushes.push_back(std::async(std::launch::async,
                                      [stub, table, context = m_nodes.context(kPushDeadlineMs)] {
                                          v1::InstallTableRequest request;
                                          *request.mutable_table() = toProto(table);
                                          v1::InstallTableResponse reply;
                                          (void)stub->InstallTable(context.get(), request, &reply);
                                      }));
    }
}

void GrpcClusterConnector::reapPushes() {
    std::erase_if(m_pushes, [](const std::future<void>& push) {
        return push.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    });
}

// See "Reconciling migrations" in the header. Called on each tick while this console drives, with
// the migrations of the reports that arrived since the previous tick.
void GrpcClusterConnector::reconcileMigrations(const ReportedMigrations& reported, TimeMs now) {
    reapCleanups();
    if (!m_executor)
        return;
    std::vector<std::pair<CleanupKey, v1::MigrationStatus>> due;
    for (const auto& [host, statuses] : reported) {
        const HostId& node = m_topology.cluster.hosts[host].id;
        std::vector<MigrationId> unsettled;
        for (const v1::MigrationStatus& status : statuses) {
            const MigrationId id = status.migration_id();
            if (settledOnNode(status))
                continue;
            // The executor's own run will take its next step, or already did.
            if (const std::optional<MigrationProgress> run = m_executor->progress(id);
                run && !isTerminal(run->phase))
                continue;
            unsettled.push_back(id);
            Cleanup& cleanup = m_cleanups[{node, id}];
            if (cleanup.in_flight ||
                (cleanup.attempted_ms != 0 && now - cleanup.attempted_ms < kCleanupRetryMs))
                continue;
            cleanup.attempted_ms = now;
            due.emplace_back(CleanupKey{node, id}, status);
        }
        // Forget what the node no longer reports unfinished: it settled, or it forgot it.
        std::erase_if(m_cleanups, [&](const auto& entry) {
            return entry.first.first == node && !entry.second.in_flight &&
                   std::find(unsettled.begin(), unsettled.end(), entry.first.second) ==
                       unsettled.end();
        });
    }
    if (due.empty())
        return;
    const Result<OwnershipState> state = m_store->load();
    for (const auto& entry : due) {
        const CleanupKey& key = entry.first;
        const v1::MigrationStatus& status = entry.second;
        const std::string label = key.first + ": " + describeOnNode(status);
        if (!state) {
            reportCleanupOnce(key, qs(label +
                                      " is unfinished, but the ownership store cannot be "
                                      "read to tell how it ended: " +
                                      state.error().message));
            continue;
        }
        const auto record = std::find_if(
            state->migrations.begin(), state->migrations.end(),
            [&key](const MigrationRecord& candidate) { return candidate.id == key.second; });
        if (record == state->migrations.end()) {
            reportCleanupOnce(key,
                              qs(label + " has no record in " + m_store->describe().toStdString() +
                                 ": it is not this console's, so it is left alone"));
            continue;
        }
        if (!isTerminal(record->phase))
            continue; // the executor drives it (recover() finished every older one at start)
        const CleanupPlan plan = planCleanup(*record, key.first, status);
        const std::shared_ptr<NodeStub> stub = m_nodes.stub(key.first);
        std::string problem = plan.problem;
        if (problem.empty() && !stub)
            problem = "the node is not in the directory";
        if (problem.empty() && !state->table)
            problem = "the ownership store holds no table to cut over to";
        if (!problem.empty()) {
            reportCleanupOnce(key, qs(label + ": " + problem));
            continue;
        }
        const std::string phase = migrationPhaseName(record->phase).toStdString();
        CleanupCall call;
        call.stub = stub;
        call.steps = plan.steps;
        call.id = record->id;
        call.reason =
            "the ownership store records migration " + std::to_string(record->id) + " as " + phase +
            (record->error.isEmpty() ? std::string() : " (" + record->error.toStdString() + ")");
        call.table = toProto(*state->table);
        call.range = toProto(record->range);
        m_cleanups[key].in_flight = true;
        const std::string failurePrefix =
            label + ", which the ownership store records as " + phase + ": ";
        m_cleanupCalls.push_back(
            std::async(std::launch::async, [this, call = std::move(call), key, failurePrefix] {
                const std::string failure = runCleanup(call, m_nodes);
                return CleanupOutcome{key, failure.empty() ? failure : failurePrefix + failure};
            }));
    }
}

void GrpcClusterConnector::reapCleanups() {
    for (auto call = m_cleanupCalls.begin(); call != m_cleanupCalls.end();) {
        if (call->wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
            ++call;
            continue;
        }
        const CleanupOutcome outcome = call->get();
        call = m_cleanupCalls.erase(call);
        const auto found = m_cleanups.find(outcome.key);
        if (found == m_cleanups.end())
            continue;
        found->second.in_flight = false;
        if (outcome.failure.empty())
            found->second.reported = false; // a later failure is news again
        else
            reportCleanupOnce(outcome.key, qs(outcome.failure + "; retrying every few seconds"));
    }
}

void GrpcClusterConnector::reportCleanupOnce(const CleanupKey& key, const QString& message) {
    Cleanup& cleanup = m_cleanups[key];
    if (cleanup.reported)
        return;
    cleanup.reported = true;
    Q_EMIT errorOccurred(message);
}

void GrpcClusterConnector::publishTable(OwnershipTable table) {
    m_table = std::move(table);
    m_pushPending.assign(m_pushPending.size(), PendingPush{});
    Q_EMIT ownershipChanged(m_table);
}

// --- Moves and boundaries ---------------------------------------------------------------------

// Why a console without the driver lock may not change anything.
std::string GrpcClusterConnector::watchingReason() const {
    const QString holder = m_store->driverLockHolder();
    if (holder.isEmpty()) // the driver has gone since: connecting again makes this one drive
        return m_store->describe().toStdString() +
               " was locked by another console when this one connected; this console only "
               "watches";
    return m_store->describe().toStdString() + " is locked by " + holder.toStdString() +
           "; this console only watches";
}

Status GrpcClusterConnector::refuseUnlessDriving(const std::string& what) const {
    if (m_state != ConnectorState::Running)
        return Error{what + ": the cluster is not connected"};
    if (!drives() || !m_executor)
        return Error{what + ": " + watchingReason()};
    return {};
}

// Running moves stay under control after stop(): they go on until they end or are aborted.
Status GrpcClusterConnector::controlsMoves(const std::string& what) const {
    if (!drives())
        return Error{what + ": " + watchingReason()};
    if (!m_executor)
        return Error{what + ": no migration is running"};
    return {};
}

Result<MigrationId> GrpcClusterConnector::executeMove(const MoveInstruction& move) {
    if (Status allowed = refuseUnlessDriving("cannot move shard " + std::to_string(move.shard));
        !allowed)
        return Error{allowed.message()};
    return m_executor->start(move);
}

Status GrpcClusterConnector::pauseMove(MigrationId id) {
    if (Status allowed = controlsMoves("cannot pause move " + std::to_string(id)); !allowed)
        return allowed;
    return m_executor->pause(id);
}

Status GrpcClusterConnector::resumeMove(MigrationId id) {
    if (Status allowed = controlsMoves("cannot resume move " + std::to_string(id)); !allowed)
        return allowed;
    return m_executor->resume(id);
}

Status GrpcClusterConnector::abortMove(MigrationId id) {
    if (Status allowed = controlsMoves("cannot abort move " + std::to_string(id)); !allowed)
        return allowed;
    return m_executor->abort(id);
}

Status GrpcClusterConnector::changeBoundaries(const std::vector<SplitInstruction>& splits,
                                              const std::vector<MergeInstruction>& merges) {
    if (Status allowed = refuseUnlessDriving("cannot change boundaries"); !allowed)
        return allowed;
    if (splits.empty() && merges.empty())
        return {};
    Result<OwnershipState> state = m_store->load();
    if (!state || !state->table)
        return Error{state ? "the ownership store holds no table" : state.error().message};
    const OwnershipTable& current = *state->table;
    // A shard that is moving keeps its range until the move ends: the nodes' migration knows it
    // by that range.
    std::vector<KeyRange> moving;
    for (const MigrationRecord& record : state->migrations)
        if (!isTerminal(record.phase))
            moving.push_back(record.range);
    const auto touchesMove = [&](ShardId id) {
        const Shard* shard = current.shardById(id);
        return shard && std::any_of(moving.begin(), moving.end(), [&](const KeyRange& range) {
                   return range.overlaps(shard->range);
               });
    };
    OwnershipTable next = current;
    for (const SplitInstruction& split : splits) {
        if (touchesMove(split.shard))
            return Error{"cannot split shard " + std::to_string(split.shard) + ": it is moving"};
        Result<OwnershipTable> applied = next.split(split.shard, split.at, split.new_shard);
        if (!applied)
            return Error{applied.error().message};
        next = std::move(applied).value();
    }
    for (const MergeInstruction& merge : merges) {
        if (touchesMove(merge.left) || touchesMove(merge.right))
            return Error{"cannot merge shards " + std::to_string(merge.left) + " and " +
                         std::to_string(merge.right) + ": one of them is moving"};
        Result<OwnershipTable> applied = next.merge(merge.left, merge.right);
        if (!applied)
            return Error{applied.error().message};
        next = std::move(applied).value();
    }
    // One epoch step for the whole change, so nodes and clients refresh once.
    Result<OwnershipTable> committed =
        OwnershipTable::create(next.shards(), current.epoch() + 1, next.placementHosts());
    if (!committed)
        return Error{committed.error().message};
    if (Status swapped = m_store->compareAndSwapTable(current.epoch(), *committed); !swapped)
        return swapped;
    publishTable(*committed);
    pushTableTo(m_nodes.ids());
    return {};
}

void GrpcClusterConnector::onProgress(const MigrationProgress& progress) {
    Q_EMIT migrationProgress(progress);
    if (progress.phase == MigrationPhase::Done)
        if (Result<OwnershipState> state = m_store->load(); state && state->table)
            publishTable(*state->table);
}

} // namespace rangepilot
