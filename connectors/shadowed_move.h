#pragma once

// ShadowedMove: the state machine of one shadowed key-range move as a connector executes it,
// advanced by cluster time rather than by a wall clock, so a simulated cluster can run it at any
// speed and tests can check exact durations.
//
// Phases: Shadowing (dual writes installed on both hosts, a fixed delay) -> Copying (the batches
// in order, each taking its bytes / copy_bytes_per_s: the byte-rate limit) -> CatchingUp (replays
// the writes that raced the copy, counted from the range's write rate while copying, at the same
// rate limit; then a checksum comparison of a fixed duration) -> CuttingOver (the table's
// compare-and-swap) -> Done. pause() freezes Shadowing, Copying or CatchingUp and resume() returns
// to the same phase with the same time left; abort() and failures go through RollingBack (dropping
// the target's copy) to Aborted or Failed.
//
// Invariants: the ownership changes only at Done: the cutover commit (a callback the connector
// supplies, which reassigns the table) runs once, at the end of CuttingOver, and only a successful
// commit leads to Done; every other ending leaves the source the owner. Progress never goes
// backwards until a rollback starts (a failed batch's partial bytes are dropped), bytes_copied
// never exceeds bytes_total and equals it at Done.
// Failures are drawn from a Random seeded by (seed, id), one draw per batch and one per cutover,
// so a run is reproducible; forceFailure() makes a given phase or batch fail for tests.
//
// Cost: advanceTo() is O(phases and batches crossed); a snapshot copies the range and host names.

#include "cluster_connector.h"
#include "random.h"

#include <QString>

#include <cstddef>
#include <functional>
#include <vector>

namespace rangepilot {

struct ShadowedMoveOptions {
    double copy_bytes_per_s = 50e6;       // byte-rate limit of the copy and of the catch-up replay
    TimeMs shadowing_ms = 1000;           // setting up dual writes on both hosts
    double replay_bytes_per_write = 1024; // bytes one raced write costs to replay
    TimeMs checksum_ms = 1000;            // comparing the range's checksums on both hosts
    TimeMs cutover_ms = 500;              // the compare-and-swap and clients refreshing their table
    TimeMs rollback_ms = 1000;            // dropping the target's copy, stopping dual writes
    double failure_rate = 0.0;            // probability that a batch, or the cutover, fails
    std::uint64_t seed = 1;
};

// The first problem with the options, naming the field ("copy_bytes_per_s must be > 0").
Status validate(const ShadowedMoveOptions& options);

// What moves: the identity reported in every MigrationProgress and the bytes of each batch, in
// copy order.
struct ShadowedMoveSpec {
    MigrationId id = 0;
    ShardId shard = 0;
    KeyRange range;
    HostId from;
    HostId to;
    std::vector<double> batch_bytes;
};

class ShadowedMove {
public:
    // Starts in Shadowing at `startMs`; `options` must pass validate().
    ShadowedMove(ShadowedMoveSpec spec, ShadowedMoveOptions options, TimeMs startMs);

    const ShadowedMoveSpec& spec() const { return m_spec; }
    MigrationPhase phase() const { return m_phase; }
    // The phase resume() returns to (equal to phase() unless paused).
    MigrationPhase resumePhase() const {
        return m_phase == MigrationPhase::Paused ? m_resumePhase : m_phase;
    }
    TimeMs now() const { return m_now; }
    bool finished() const { return isTerminal(m_phase); }
    // Writes to the range go to both hosts: from Shadowing until the cutover ends or a rollback
    // starts, paused or not.
    bool dualWrites() const;
    MigrationProgress progress() const;

    // Writes per second landing in the range; while copying they accumulate into the catch-up.
    void setRangeWriteRate(double writesPerS) { m_writeRate = writesPerS; }
    // Runs at the end of CuttingOver; an error there fails the move (the table stays as it was).
    void setCutoverCommit(std::function<Status()> commit) { m_commit = std::move(commit); }
    // Makes `phase` fail when it ends: Shadowing, CatchingUp (checksum mismatch), CuttingOver, or
    // Copying at batch `batch` (1-based).
    void forceFailure(MigrationPhase phase, std::size_t batch = 1);

    // Moves the clock to `t` (an earlier t is ignored), crossing every phase and batch end on the
    // way. Returns the milliseconds of the interval the move was working (not paused, not
    // finished): the time it loaded both hosts.
    TimeMs advanceTo(TimeMs t);

    Status pause();
    Status resume();
    // Rolls back from any phase but RollingBack and the terminal ones; `reason` becomes the
    // progress error (default: "aborted by the operator while <phase>").
    Status abort(const QString& reason = {});

    // Snapshots taken at every phase change since the last call, oldest first.
    std::vector<MigrationProgress> takeReports();

private:
    bool working() const;
    void finishSegment();
    void startSegment(TimeMs durationMs);
    void enterPhase(MigrationPhase phase);
    void startNextBatchOrCatchUp();
    void enterCatchingUp();
    void finishBatch();
    void finishCutover();
    void fail(const QString& error);
    bool failureDue(MigrationPhase phase, std::size_t batch);
    double bytesCopied() const;
    QString label() const; // "migration 7"

    ShadowedMoveSpec m_spec;
    ShadowedMoveOptions m_options;
    Random m_random;
    std::function<Status()> m_commit;
    struct ForcedFailure {
        MigrationPhase phase;
        std::size_t batch;
    };
    std::vector<ForcedFailure> m_forced;

    MigrationPhase m_phase = MigrationPhase::Shadowing;
    MigrationPhase m_resumePhase = MigrationPhase::Shadowing;
    MigrationPhase m_rollbackOutcome = MigrationPhase::Aborted;
    TimeMs m_now = 0;
    TimeMs m_segmentStart = 0; // the current phase, or batch while copying
    TimeMs m_segmentEnd = 0;
    TimeMs m_pausedAt = 0;
    std::size_t m_batch = 0;  // batches done
    double m_bytesDone = 0.0; // of the batches done
    double m_bytesTotal = 0.0;
    double m_writeRate = 0.0;
    double m_racedWrites = 0.0;
    double m_bytesPerS = 0.0; // over the last advanceTo
    QString m_error;
    std::vector<MigrationProgress> m_reports;
};

} // namespace rangepilot
