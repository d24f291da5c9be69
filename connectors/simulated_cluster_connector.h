#pragma once

// SimulatedClusterConnector: the console's embedded default cluster. It needs no servers: the
// planner's WorkloadGenerator produces the queries (by default hotspot-drift: a daily cycle plus
// a hot range sweeping the key space once a day), and the connector plays the cluster that serves
// them: it counts them per key cell (accessBatch), charges each to the host owning its key
// (hostUsage), owns the ownership table, and runs shadowed moves (ShadowedMove) and boundary
// changes on it.
//
// Model, as in the planner's cluster simulator: hosts "host-1".."host-H"; every event is one op
// on the host owning its key, and while a move runs its writes land on the target too (dual
// writes); a working move adds migration_load x capacity ops/s and its copy rate in network
// bytes/s to both hosts. The ops capacity per host defaults to the busiest minute's total ops/s /
// hosts / headroom; that peak is estimated from the generator's noise-free rate (rateAt at every
// minute's middle) times exp(2.5 sigma) of its 5% minute-scale noise, so no pre-pass over the
// events is needed. Key cells are equal slices of the generator's key index (its keys are
// spread over the whole index, and the hot range visits all of it each day), shards are
// hosts x shards_per_host equal runs of cells placed by Jump Consistent Hash. A range's data is
// its keys x stored_bytes_per_key (the store is fully populated): what a move copies.
//
// Time: cluster time starts at the workload's start and advances in steps of step_ms, one
// accessBatch + hostUsage + clockAdvanced each; routing is fixed within a step (a cutover shows
// from the next step). A QTimer paces the steps at `speed` cluster seconds per wall second (0: as
// fast as the CPU goes, in slices of about 50 ms so the GUI stays responsive); advance() runs a
// span synchronously instead (tests, screenshots). At the workload's end the clock stops
// (state Stopped). Same options, same signals: batches depend only on the options and the calls.
//
// Cost per event: one KeyCells::cellOf and a few additions, about 20 ns on top of the generator's
// own cost (measured in a Release build on a shared 2-core machine: 3.2 M events/s generated and
// counted, 3.5 M/s for the generator alone), so speed 1000 at 1000 events/s takes about a third
// of a core. Per step: O(cells + shards) to route and to build the signals, which carry copies
// (1024 cells: 32 KiB per batch). Memory: O(cells + shards + moves started), not the events.

#include "cluster_connector.h"
#include "shadowed_move.h"
#include "workload_generator.h"

#include <QElapsedTimer>
#include <QTimer>

#include <map>
#include <memory>
#include <optional>

namespace rangepilot {

struct SimulatedClusterOptions {
    Scenario scenario = Scenario::HotspotDrift;
    double hours = 168;     // length of the generated workload (cluster time)
    double rate_eps = 1000; // average events per second of cluster time
    std::uint64_t seed = 1;
    std::uint64_t key_count = 1'000'000;
    std::size_t hosts = 8;
    std::size_t shards_per_host = 8;
    std::size_t cells = 1024;
    double speed = 1.0;        // cluster seconds per wall second, 1..1000; 0 = as fast as possible
    TimeMs step_ms = 0;        // cluster time per step; 0 = auto (see autoStepMs)
    bool timer = true;         // false: only advance() moves the clock
    double capacity_ops = 0.0; // per host; 0 = auto (peak 1-minute ops/s / hosts / headroom)
    double headroom = 0.75;
    double migration_load = 0.10;       // fraction of ops capacity a working move takes
    double stored_bytes_per_key = 1410; // the generator's mean value size (1 KiB lognormal)
    double batch_bytes = 8e6;           // batch size for moves that come without batches
    ShadowedMoveOptions move;           // copy rate, phase durations, failure_rate; seed unused
};

// The first problem with the options, naming the field ("speed must be 0 or in [1, 1000]").
Status validate(const SimulatedClusterOptions& options);

// The auto step: whole seconds, at least 1 s. Paced, about 100 ms of wall time per step (speed
// 1000: 100 s steps, ten per wall second, however many events they hold); as fast as possible,
// about 200,000 events per step (at most 1 h).
TimeMs autoStepMs(double speed, double rateEps);

class SimulatedClusterConnector : public ClusterConnector {
    Q_OBJECT
public:
    explicit SimulatedClusterConnector(SimulatedClusterOptions options = {},
                                       QObject* parent = nullptr);
    ~SimulatedClusterConnector() override;

    QString name() const override; // "simulated cluster (hotspot-drift, 8 hosts, 1000 events/s)"
    ConnectorState state() const override { return m_state; }
    void start() override;
    void stop() override;

    ClusterTopology topology() const override { return m_topology; }
    OwnershipTable ownership() const override { return m_table; }
    TimeMs clusterTime() const override { return m_now; }

    Result<MigrationId> executeMove(const MoveInstruction& move) override;
    Status pauseMove(MigrationId id) override;
    Status resumeMove(MigrationId id) override;
    Status abortMove(MigrationId id) override;
    Status changeBoundaries(const std::vector<SplitInstruction>& splits,
                            const std::vector<MergeInstruction>& merges) override;

    // Runs `duration` of cluster time now, step by step, emitting what the timer would (the last
    // step may be shorter). Needs a started connector (Running or Paused); stops at the
    // workload's end.
    Status advance(TimeMs duration);
    // Pauses and resumes the clock (Running <-> Paused); moves stand still with it.
    void pause();
    void resume();
    Status setSpeed(double speed);

    // Test hook: makes a phase (or batch, 1-based) of a running move fail.
    Status injectMoveFailure(MigrationId id, MigrationPhase phase, std::size_t batch = 1);

    const SimulatedClusterOptions& options() const { return m_options; }
    WorkloadOptions workloadOptions() const;
    TimeMs stepMs() const { return m_stepMs; }
    TimeMs endMs() const { return m_endMs; }
    double capacityOps() const { return m_capacityOps; }
    // Stored bytes per key cell, indexed like topology().cells: what moving them copies.
    std::vector<double> cellDataBytes() const override { return m_cellBytes; }
    std::uint64_t eventsGenerated() const { return m_events; }
    // The progress of a move (also after it ended); nullopt for an unknown id.
    std::optional<MigrationProgress> moveProgress(MigrationId id) const;

private:
    struct PendingEvent {
        TimeMs ts_ms = 0;
        Key key;
        Op op = Op::Get;
        std::uint64_t bytes = 0;
        std::uint64_t latency_us = 0;
    };

    Status setUp();
    Status buildCells();
    Status buildInitialTable();
    void buildHosts();
    bool live() const;
    Status notLive() const;
    void setState(ConnectorState state, const QString& detail);
    void startPacing();
    void onTick();
    void runStep(TimeMs end);
    std::uint64_t countEventsUntil(TimeMs end);
    void countEvent(const TraceEvent& event);
    void chargeHost(std::int32_t host, const TraceEvent& event);
    void rebuildRouting();
    std::vector<MigrationProgress> advanceMoves(TimeMs start, TimeMs end,
                                                std::vector<ResourceVector>& usage);
    double writesIn(const KeyRange& range) const;
    double rangeBytes(const KeyRange& range) const;
    Result<std::vector<double>> batchBytes(const Shard& shard, const MoveInstruction& move) const;
    const ShadowedMove* movingOver(const KeyRange& range) const;
    Status commitCutover(MigrationId id);
    Status applySplit(OwnershipTable& table, const SplitInstruction& split) const;
    Status applyMerge(OwnershipTable& table, const MergeInstruction& merge) const;
    ShadowedMove* findMove(MigrationId id);
    void emitReports(ShadowedMove& move);
    void publishOwnership();

    SimulatedClusterOptions m_options;
    Status m_setup;
    ConnectorState m_state = ConnectorState::Stopped;
    std::unique_ptr<WorkloadGenerator> m_generator;
    ClusterTopology m_topology;
    OwnershipTable m_table;
    std::vector<double> m_cellBytes;
    double m_capacityOps = 0.0;
    TimeMs m_stepMs = 1000;
    TimeMs m_now = 0;
    TimeMs m_endMs = 0;
    std::uint64_t m_events = 0;
    std::optional<PendingEvent> m_pending; // the first event of the next step

    // Per step: counts per cell and amounts per host; routing per cell and per shard position
    // (owner host index, dual-write target or -1; kStraddled: look the key up).
    std::vector<CellLoad> m_cellCounts;
    std::vector<ResourceVector> m_hostAmounts;
    std::vector<std::int32_t> m_cellOwner;
    std::vector<std::int32_t> m_cellDual;
    std::vector<std::int32_t> m_shardOwner;
    std::vector<std::int32_t> m_shardDual;

    std::map<MigrationId, ShadowedMove> m_moves; // every move started, also ended ones
    MigrationId m_nextMoveId = 1;
    bool m_tableChanged = false;

    QTimer m_timer;
    QElapsedTimer m_paceClock;
    TimeMs m_paceBaseMs = 0; // cluster time when m_paceClock started
};

} // namespace rangepilot
