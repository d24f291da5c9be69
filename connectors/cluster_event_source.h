#pragma once

// The modeled cluster shared by the connectors that play events against a cluster of their own
// (the simulated cluster, trace replay), and the interface through which each feeds it events.
//
// ClusterEventSource: where the events of a span of cluster time come from. The simulated
// connector's source is the workload generator (sequential: asked for consecutive spans only);
// trace replay's is an indexed trace file (any span, so the clock can jump).
//
// ModeledClusterConnector: everything else of such a connector, written once. Hosts "host-1" ..
// "host-H" with an ops capacity (given, or the busiest minute's events/s / hosts / headroom);
// hosts x shards_per_host shards on cell boundaries, placed by Jump Consistent Hash. Every event
// is one op on the host owning its key (a scan: its start key), and while a move runs its writes
// land on the target too (dual writes); a working move adds migration_load x capacity ops/s and
// its copy rate in network bytes/s to both hosts. Moves are ShadowedMoves (pause, abort, injected
// failures roll back; the owner changes only at Done); boundary changes apply at once, all or
// nothing. Time advances in steps of step_ms, each one accessBatch + hostUsage + migrationProgress
// (a committed cutover's ownershipChanged comes just before its Done report, and ownership() only
// changes then, so earlier reports of the step still see the old owner) + clockAdvanced; routing
// is fixed within a step (a cutover shows from the next step). A QTimer paces the steps at
// `speed` cluster seconds per wall second (0: as fast as the CPU goes, in slices of about 50 ms so
// the GUI stays responsive); advance() runs a span synchronously. The clock stops (state Stopped)
// at the end of the events. jumpTo() moves the clock anywhere (a seekable source): running moves
// are rolled back at once, the ownership table is kept.
//
// Invariants: the counts of a step are exactly the events the source delivers for it, so
// batches depend only on the source, the settings and the calls (same calls, same signals). The
// table is a valid OwnershipTable at all times (a one-host placeholder until the model is built).
//
// Cost per event: one KeyCells::cellOf and a few additions (a cell cut by a shard boundary looks
// its keys up in the table). Per step: O(cells + shards) to route and to build the signals, which
// carry copies (1024 cells: 32 KiB per batch). Memory: O(cells + shards + moves started).

#include "cluster_connector.h"
#include "shadowed_move.h"
#include "trace_reader.h"

#include <QElapsedTimer>
#include <QTimer>

#include <map>
#include <optional>
#include <string>

namespace rangepilot {

class ClusterEventSource {
public:
    virtual ~ClusterEventSource() = default;
    // Calls onEvent once for every event with start <= ts_ms < end (in any order) and returns how
    // many there were, or an error when the source cannot read them (the connector then fails).
    // The connector asks for consecutive spans, except after ModeledClusterConnector::jumpTo(),
    // which only a source that accepts any span may allow.
    virtual Result<std::uint64_t> eventsIn(TimeMs start, TimeMs end, EventCallback onEvent) = 0;
};

// The settings both connectors share (their own option structs carry them under the same names).
struct ModeledClusterSettings {
    std::size_t hosts = 8;
    std::size_t shards_per_host = 8;
    double speed = 1.0;        // cluster seconds per wall second, 1..1000; 0 = as fast as possible
    TimeMs step_ms = 0;        // cluster time per step; 0 = auto (see autoStepMs)
    bool timer = true;         // false: only advance() moves the clock
    double capacity_ops = 0.0; // per host; 0 = auto (peak 1-minute events/s / hosts / headroom)
    double headroom = 0.75;
    double migration_load = 0.10; // fraction of ops capacity a working move takes
    double batch_bytes = 8e6;     // batch size for moves that come without batches
    ShadowedMoveOptions move;     // copy rate, phase durations, failure_rate and its seed
};

// The first problem with the settings, naming the field ("speed must be 0 or in [1, 1000]").
Status validate(const ModeledClusterSettings& settings);
// Only the speed's rule, for setSpeed().
Status validateSpeed(double speed);

// The auto step: whole seconds, at least 1 s. Paced, about 100 ms of wall time per step (speed
// 1000: 100 s steps, ten per wall second, however many events they hold); as fast as possible,
// about 200,000 events per step (at most 1 h).
TimeMs autoStepMs(double speed, double rateEps);

// What a connector knows about its events when it builds the model.
struct ClusterModelInput {
    KeyCells cells;
    std::vector<double> cell_bytes; // stored bytes per cell, indexed like cells
    TimeMs start_ms = 0;            // where the clock starts
    TimeMs end_ms = 0;              // exclusive: the clock stops here
    double mean_events_per_s = 0.0; // for the auto step
    double peak_events_per_s = 0.0; // the busiest minute's, for the auto capacity
};

class ModeledClusterConnector : public ClusterConnector {
    Q_OBJECT
public:
    ~ModeledClusterConnector() override;

    ConnectorState state() const override { return m_state; }
    void stop() override;

    ClusterTopology topology() const override { return m_topology; }
    // The table as last published by ownershipChanged (see runStep for why it can lag m_table).
    OwnershipTable ownership() const override { return m_publishedTable; }
    TimeMs clusterTime() const override { return m_now; }
    // Stored bytes per key cell, indexed like topology().cells: what moving them copies.
    std::vector<double> cellDataBytes() const override { return m_cellBytes; }

    Result<MigrationId> executeMove(const MoveInstruction& move) override;
    Status pauseMove(MigrationId id) override;
    Status resumeMove(MigrationId id) override;
    Status abortMove(MigrationId id) override;
    Status changeBoundaries(const std::vector<SplitInstruction>& splits,
                            const std::vector<MergeInstruction>& merges) override;

    // Runs `duration` of cluster time now, step by step, emitting what the timer would (the last
    // step may be shorter). Needs a started connector (Running or Paused); stops at the end.
    Status advance(TimeMs duration);
    // Pauses and resumes the clock (Running <-> Paused); moves stand still with it.
    void pause();
    void resume();
    Status setSpeed(double speed);

    // Test hook: makes a phase (or batch, 1-based) of a running move fail.
    Status injectMoveFailure(MigrationId id, MigrationPhase phase, std::size_t batch = 1);

    TimeMs stepMs() const { return m_stepMs; }
    TimeMs startMs() const { return m_startMs; } // where the clock started
    TimeMs endMs() const { return m_endMs; }     // exclusive: where the clock stops
    double capacityOps() const { return m_capacityOps; }
    // The progress of a move (also after it ended); nullopt for an unknown id.
    std::optional<MigrationProgress> moveProgress(MigrationId id) const;

protected:
    ModeledClusterConnector(ModeledClusterSettings settings, QObject* parent);

    // Cells, data, initial table, hosts, capacity and step from `input`; events from `source`
    // (which must outlive the connector). Called once, before the first publishAndRun().
    Status buildModel(ClusterModelInput input, ClusterEventSource* source);
    bool modelBuilt() const { return m_source != nullptr; }
    const ModeledClusterSettings& settings() const { return m_settings; }
    std::uint64_t eventsCounted() const { return m_events; }

    bool live() const;
    Status notLive() const;
    void setState(ConnectorState state, const QString& detail);
    // Starting -> Running: publishes the topology, the table and the clock, then paces.
    void publishAndRun();
    // Moves the clock to `t` (clamped to [startMs, endMs]): unfinished moves are rolled back at
    // once with `reason`, the table stays; then clockAdvanced(t, 0). Stops at the end.
    void jumpTo(TimeMs t, const QString& reason);

    // "the simulated cluster": the subject of "... is not running (stopped)".
    virtual std::string subject() const = 0;
    // The detail of the Stopped state when the clock reaches the end.
    virtual QString endedDetail() const = 0;
    virtual void speedChanged(double /*speed*/) {}

private:
    Status buildInitialTable();
    void buildHosts(double peakEventsPerS);
    void startPacing();
    void onTick();
    void runStep(TimeMs end);
    void finishAtEnd();
    void failWith(const QString& message);
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

    ModeledClusterSettings m_settings;
    ClusterEventSource* m_source = nullptr;
    ConnectorState m_state = ConnectorState::Stopped;
    ClusterTopology m_topology;
    OwnershipTable m_table;          // the working table: routing, moves, boundary changes
    OwnershipTable m_publishedTable; // what ownership() returns: the last one announced
    std::vector<double> m_cellBytes;
    double m_capacityOps = 0.0;
    double m_meanEventsPerS = 0.0;
    TimeMs m_stepMs = 1000;
    TimeMs m_startMs = 0;
    TimeMs m_now = 0;
    TimeMs m_endMs = 0;
    std::uint64_t m_events = 0;
    QString m_failure; // why the source failed (state Failed)

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
