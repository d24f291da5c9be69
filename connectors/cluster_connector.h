#pragma once

// ClusterConnector: the one interface through which the console watches a cluster and moves its
// key ranges. Implementations: the simulated cluster (the embedded default), trace replay, and
// later gRPC nodes, Redis Cluster (slots map onto key ranges) and Prometheus host metrics.
//
// Contract:
//  - Signals are emitted on the thread the connector lives on (the GUI thread), in batches: one
//    accessBatch per step of cluster time, never one signal per request.
//  - Cluster time is explicit (TimeMs); a connector in accelerated or replayed time says where it
//    is with clockAdvanced().
//  - topologyChanged and ownershipChanged carry complete snapshots (immutable values), so a late
//    subscriber needs only the last one: connectors keep them and return them from topology() and
//    ownership().
//  - Moves: executeMove() starts a shadowed move of one shard (dual writes, batched copy, catch-up,
//    verified cutover); progress arrives as migrationProgress with the same id until a terminal
//    phase (Done, Aborted, Failed). abortMove() rolls back; a failure mid-move rolls back too, and
//    the ownership table is unchanged unless the move reached Done. Boundary changes (splits,
//    merges) move no data and apply at once.
//  - Errors that concern one request come back in that request's result or progress; errors of the
//    connection itself go to errorOccurred and may change the state to Failed.

#include "cluster_model.h"
#include "key_cells.h"
#include "load_map.h"
#include "migration_plan.h"
#include "ownership_table.h"
#include "result.h"
#include "time_ms.h"

#include <QMetaType>
#include <QObject>
#include <QString>

#include <cstdint>
#include <vector>

namespace rangepilot {

enum class ConnectorState { Stopped, Starting, Running, Paused, Failed };
QString connectorStateName(ConnectorState state); // "stopped", "starting", ...

// Who is in the cluster and how the key space is cut into cells for counting.
struct ClusterTopology {
    ClusterModel cluster; // hosts with capacities, latency matrix
    KeyCells cells;       // the partition access counts are reported in
};

// Access counts per key cell over [start_ms, end_ms) of cluster time, indexed like
// ClusterTopology::cells.
struct AccessBatch {
    TimeMs start_ms = 0;
    TimeMs end_ms = 0;
    std::vector<CellLoad> cells;
};

// Measured mean per-second usage of each host over [start_ms, end_ms), in the units of
// Host::capacity (ops/s, disk bytes/s, network bytes/s, memory bytes, service time µs/s),
// indexed like ClusterTopology::cluster.hosts.
struct HostUsageSample {
    TimeMs start_ms = 0;
    TimeMs end_ms = 0;
    std::vector<ResourceVector> usage;
};

using MigrationId = std::uint64_t;

// The shadowed-move state machine as a connector executes it. Proposed/Approved/Scheduled are the
// console's phases (before executeMove); the connector reports from Shadowing on.
enum class MigrationPhase {
    Proposed,
    Approved,
    Scheduled,
    Shadowing,   // dual writes to source and target begin
    Copying,     // batches of the range copied to the target
    CatchingUp,  // writes that raced the copy are replayed; checksums compared
    CuttingOver, // the table's owner changes (epoch + 1)
    Done,
    Paused,
    RollingBack,
    Aborted, // stopped by the operator, rolled back
    Failed,  // stopped by an error, rolled back
};
QString migrationPhaseName(MigrationPhase phase); // "copying", "cutting over", ...
bool isTerminal(MigrationPhase phase);            // Done, Aborted, Failed

struct MigrationProgress {
    MigrationId id = 0;
    ShardId shard = 0;
    KeyRange range;
    HostId from;
    HostId to;
    MigrationPhase phase = MigrationPhase::Shadowing;
    std::size_t batches_done = 0;
    std::size_t batches_total = 0;
    double bytes_copied = 0.0;
    double bytes_total = 0.0;
    double bytes_per_s = 0.0; // copy rate over the last step
    TimeMs updated_ms = 0;    // cluster time of this report
    QString error;            // why it failed (Failed), or why it was rolled back
};

// The controls of a connector that plays load in its own time (the simulated cluster, a trace
// replay); a live cluster has none. The console shows play, pause, speed and (where possible) a
// seek slider for connectors that offer them; app/ adapts the concrete connectors to it.
class PlaybackControl {
public:
    virtual ~PlaybackControl() = default;
    virtual void pausePlayback() = 0;
    virtual void resumePlayback() = 0;
    virtual bool playbackPaused() const = 0;
    // Cluster seconds per wall second, 1..1000; 0 = as fast as possible.
    virtual Status setPlaybackSpeed(double speed) = 0;
    virtual double playbackSpeed() const = 0;
    virtual bool canSeek() const = 0;
    virtual Status seekTo(TimeMs time) = 0;
    virtual TimeMs playbackStartMs() const = 0;
    virtual TimeMs playbackEndMs() const = 0;
};

class ClusterConnector : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    ~ClusterConnector() override = default;

    virtual QString name() const = 0; // "simulated cluster", "trace replay: file.csv", ...
    virtual ConnectorState state() const = 0;
    virtual void start() = 0;
    virtual void stop() = 0;

    virtual ClusterTopology topology() const = 0;
    virtual OwnershipTable ownership() const = 0;
    virtual TimeMs clusterTime() const = 0;
    // Stored bytes per key cell (indexed like topology().cells) as far as the connector knows:
    // what moving those cells copies. Empty when the connector cannot tell.
    virtual std::vector<double> cellDataBytes() const = 0;

    // Starts a shadowed move of move.shard from move.from to move.to, copying move.batches. The
    // id is reported in every migrationProgress; an error when the move cannot start (unknown
    // shard, owner changed, range already moving), naming the reason.
    virtual Result<MigrationId> executeMove(const MoveInstruction& move) = 0;
    virtual Status pauseMove(MigrationId id) = 0;
    virtual Status resumeMove(MigrationId id) = 0;
    virtual Status abortMove(MigrationId id) = 0;
    // Splits then merges, as in MigrationPlan; ownershipChanged follows when anything applied.
    virtual Status changeBoundaries(const std::vector<SplitInstruction>& splits,
                                    const std::vector<MergeInstruction>& merges) = 0;

Q_SIGNALS:
    void stateChanged(rangepilot::ConnectorState state, const QString& detail);
    void topologyChanged(const rangepilot::ClusterTopology& topology);
    void ownershipChanged(const rangepilot::OwnershipTable& table);
    void accessBatch(const rangepilot::AccessBatch& batch);
    void hostUsage(const rangepilot::HostUsageSample& sample);
    void migrationProgress(const rangepilot::MigrationProgress& progress);
    // Cluster time reached `now`; events/s of cluster time over the last step (for the status bar).
    void clockAdvanced(rangepilot::TimeMs now, double eventsPerSecond);
    void errorOccurred(const QString& message);
};

} // namespace rangepilot

Q_DECLARE_METATYPE(rangepilot::ConnectorState)
Q_DECLARE_METATYPE(rangepilot::ClusterTopology)
Q_DECLARE_METATYPE(rangepilot::OwnershipTable)
Q_DECLARE_METATYPE(rangepilot::AccessBatch)
Q_DECLARE_METATYPE(rangepilot::HostUsageSample)
Q_DECLARE_METATYPE(rangepilot::MigrationProgress)
