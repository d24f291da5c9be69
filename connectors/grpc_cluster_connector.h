#pragma once

// GrpcClusterConnector: the console on a real cluster of rangepilot-nodes. It shows the nodes
// exactly like the simulated cluster: per-cell access counts, host usage and capacity, the
// ownership table, and shadowed moves, which a MigrationExecutor runs over gRPC.
//
// Reconciling migrations: the executor's last word on a migration is its store record, but the
// RPC that carries it to a node can fail (the node was down). A source that missed the
// AbortMigration of a rolled-back move comes back with its persisted fence and refuses writes to
// the range for ever; one that missed Cutover or EndMigration of a committed move keeps a stale
// copy on disk; a target that missed the abort keeps a partial copy. So, while this console
// drives, every migration a node's statistics report lists as unfinished (not ENDED or ABORTED,
// and not a target that cut over: its last step), that the executor is not running and whose
// store record (by id) is terminal, is brought in line with the record: Aborted or Failed ->
// AbortMigration (the reason names the store's phase); Done -> Cutover with the store's table then
// EndMigration with the record's range for a FENCED source, EndMigration with the range for a
// CUT_OVER source, Cutover for a SHADOWING target. A migration the store has no record of (or
// whose record names other nodes or another range) is not this console's: it is left alone and
// reported once, as is a state the record cannot explain (a source cut over for a rolled-back
// move). Those calls run off the GUI thread, at most one attempt per node and migration every few
// seconds; a failure is reported once (errorOccurred) and retried.
//
// Starting (on a worker thread, so the window stays responsive): GetNodeInfo on every endpoint
// (node ids, capacities, peer RTTs, epochs; unreachable endpoints are reported and skipped); the
// table comes from the ownership store, or, when the store is empty, from the node with the
// highest epoch, or, when no node has one either, from an initial placement over key samples
// (initial_shards_per_node shards per node, cut at quantiles of SampleKeys; one shard when the
// nodes hold no keys yet); a store that holds no table is initialized with it, and every node
// behind the store gets it (InstallTable). Key cells are quantiles of the key samples merged with
// the shard boundaries, so every shard holds whole cells. A cluster with fewer keys than cells
// (a fresh one) is sampled again every 2 s while running, and the cells are cut again
// (topologyChanged) once the keys are there. Then, still on that thread, the executor recovers
// migrations a previous console left unfinished (their outcomes are reported once the cluster is
// shown).
//
// Running: one WatchStats stream per node, on its own thread, reconnecting every second while a
// node is down (errorOccurred once per outage); a timer on the GUI thread (stats_interval_ms) sums
// the cells of the reports that arrived into one AccessBatch over [previous tick, now), emits each
// node's usage (its reported rates weighted by the time each report covers, over the tick; its
// memory as last reported while its stream is up, 0 while it is down) and the clock (wall time: a
// live cluster runs in real time), and pushes the store's table to any node whose report shows an
// older epoch (again every few seconds while it stays behind: a push to a node that was down
// fails). Stored bytes per cell are each node's stored bytes spread evenly over the cells of the
// shards it owns (cells hold about equal numbers of sampled keys).
//
// Driving: the store's driver lock decides. Without it (another console drives), the connector
// only watches: it re-reads the store's table every tick, and moves and boundary changes are
// refused naming the lock holder.
//
// Threads: signals are emitted on the connector's (GUI) thread; executor progress is queued there.
// Table pushes and migration clean-ups run on their own threads (a node that is down would hold
// the window for the deadline); stop() and the destructor wait for them, at most that deadline
// (two for a clean-up of two calls).

#include "cluster_connector.h"
#include "migration_executor.h"
#include "node_directory.h"
#include "ownership_store.h"

#include <QTimer>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace rangepilot {

struct GrpcClusterOptions {
    std::vector<std::string> endpoints; // "host:port" of each node
    ChannelSecurity security;
    std::size_t cells = 256;
    int stats_interval_ms = 1000; // 100 .. 60,000
    std::uint32_t sample_keys_per_node = 2000;
    std::size_t initial_shards_per_node = 4;
    int connect_deadline_ms = 3000;
    MigrationExecutorOptions executor;
};

// The first problem with the options, naming the field.
Status validate(const GrpcClusterOptions& options);

class GrpcClusterConnector : public ClusterConnector {
    Q_OBJECT
public:
    GrpcClusterConnector(GrpcClusterOptions options, std::unique_ptr<OwnershipStore> store,
                         QObject* parent = nullptr);
    ~GrpcClusterConnector() override;

    // "gRPC cluster (3 nodes: 127.0.0.1:7401, ...)", and ", watching only" without the lock.
    QString name() const override;
    ConnectorState state() const override { return m_state; }
    void start() override;
    void stop() override;

    ClusterTopology topology() const override { return m_topology; }
    OwnershipTable ownership() const override { return m_table; }
    TimeMs clusterTime() const override;
    std::vector<double> cellDataBytes() const override { return m_cellBytes; }

    Result<MigrationId> executeMove(const MoveInstruction& move) override;
    Status pauseMove(MigrationId id) override;
    Status resumeMove(MigrationId id) override;
    Status abortMove(MigrationId id) override;
    Status changeBoundaries(const std::vector<SplitInstruction>& splits,
                            const std::vector<MergeInstruction>& merges) override;

    // False when another console holds the store's driver lock: this one only watches.
    bool drives() const;
    const GrpcClusterOptions& options() const { return m_options; }
    // The migrations the executor finished or rolled back at start (a previous console's).
    const std::vector<MigrationProgress>& recovered() const { return m_recovered; }

private:
    struct Connected; // what the startup thread learned
    struct NodeReport {
        std::size_t host = 0; // index into m_topology.cluster.hosts
        v1::StatsReport report;
    };
    struct PendingPush {
        std::uint64_t epoch = 0; // the table epoch last pushed to the node
        TimeMs at_ms = 0;        // when (wall time)
    };

    // One node's leftover of one migration, while the node reports it unfinished (GUI thread).
    using CleanupKey = std::pair<HostId, MigrationId>;
    struct Cleanup {
        TimeMs attempted_ms = 0; // when it was last looked at or acted on (wall time)
        bool in_flight = false;  // its RPCs are running
        bool reported = false;   // a failure or a reason to leave it alone was reported
    };
    struct CleanupOutcome {
        CleanupKey key;
        std::string failure; // empty when every call succeeded
    };
    // Each host's latest report's migrations, by host index.
    using ReportedMigrations = std::map<std::size_t, std::vector<v1::MigrationStatus>>;

    Result<Connected> connectCluster(); // runs on the startup thread
    void finishStart(std::uint64_t generation, Result<Connected> connected);
    void setState(ConnectorState state, const QString& detail);
    void startStreams();
    void stopStreams();
    void stopThreads();
    void streamStats(std::size_t host); // runs on a stream thread
    void onTick();
    void refineCells(TimeMs now);
    void recutCells(const std::vector<Key>& sample);
    bool needsPush(std::size_t host, std::uint64_t nodeEpoch, TimeMs now) const;
    void pushTableTo(const std::vector<HostId>& nodes);
    void reapPushes();
    void publishTable(OwnershipTable table);
    void reconcileMigrations(const ReportedMigrations& reported, TimeMs now);
    void reapCleanups();
    void reportCleanupOnce(const CleanupKey& key, const QString& message);
    void onProgress(const MigrationProgress& progress);
    std::string watchingReason() const;
    Status refuseUnlessDriving(const std::string& what) const;
    Status controlsMoves(const std::string& what) const;
    void updateCellBytes(const std::vector<std::uint64_t>& storedBytes);

    GrpcClusterOptions m_options;
    std::unique_ptr<OwnershipStore> m_store;
    NodeDirectory m_nodes;
    std::unique_ptr<MigrationExecutor> m_executor;
    std::atomic<bool> m_recovering{false}; // the executor's reports during recover() are dropped

    ConnectorState m_state = ConnectorState::Stopped;
    ClusterTopology m_topology;
    OwnershipTable m_table;
    std::vector<double> m_cellBytes;
    std::vector<std::uint64_t> m_storedBytes; // per host, from the last report
    std::vector<double> m_memoryBytes;        // per host, from the last report
    std::vector<MigrationProgress> m_recovered;
    QTimer m_tick;
    TimeMs m_lastTickMs = 0;

    std::thread m_startThread;
    std::uint64_t m_startGeneration = 0; // a start's result is dropped once another start began
    std::vector<std::thread> m_streamThreads;
    std::atomic<bool> m_stopping{false};
    std::mutex m_inboxMutex; // guards m_inbox, m_streaming and m_streamContexts
    std::condition_variable m_stopWake;
    std::vector<NodeReport> m_inbox;
    std::vector<bool> m_streaming; // per host: its stream is delivering reports
    std::vector<std::shared_ptr<grpc::ClientContext>> m_streamContexts; // to cancel on stop
    std::vector<PendingPush> m_pushPending;                             // per host (GUI thread)
    std::vector<std::future<void>> m_pushes;  // InstallTable calls in flight (GUI thread)
    std::map<CleanupKey, Cleanup> m_cleanups; // unfinished node migrations seen (GUI thread)
    std::vector<std::future<CleanupOutcome>> m_cleanupCalls; // clean-ups in flight (GUI thread)
    std::size_t m_sampledKeys = 0; // distinct keys the cells were cut from
    TimeMs m_lastSampleMs = 0;
    std::future<std::vector<Key>> m_resample; // a sample in flight (refineCells)
};

} // namespace rangepilot
