#pragma once

// TraceReplayConnector: replays a recorded trace (our CSV format, or a foreign log mapped with
// TraceReadOptions::columns) against the same modeled cluster as the simulated connector
// (ModeledClusterConnector: hosts "host-1".."host-H", shards placed by Jump Consistent Hash, dual
// writes, shadowed moves, boundary changes, steps paced by a QTimer at `speed`, advance()).
//
// Preparing (start(), off the GUI thread: QtConcurrent::run + QFutureWatcher, stale results
// dropped by generation): one pass over the file in blocks of block_bytes (readRange over byte
// ranges that tile the data). It records per block its byte range, event count and min/max
// timestamp (the index), counts events per minute (the auto capacity: the busiest minute's
// events/s / hosts / headroom), and keeps a bottom-k sample of the distinct keys (the k smallest
// 64-bit key hashes, k = key_sample). The key cells are KeyCells::fromSample over that sample. A
// key's stored size is the bytes of its last get or put with a non-zero size, 0 after a delete
// (until it is written again), default_value_bytes when the trace never gives one; a cell's data
// is the sampled keys' sizes scaled by distinct keys / sample size (exact when the trace has at
// most k distinct keys; else the KMV estimate (k - 1) / (k-th smallest hash / 2^64) of the
// distinct keys, about 1/sqrt(k) relative error). Bad lines are skipped, counted and reported
// once through errorOccurred (the count and the first few as "FILE:LINE: reason", true line
// numbers); strict mode fails at the first one with its line. A missing file, a bad header and a
// trace without events fail (state Failed) with a message naming the file.
//
// Replay: the clock starts at the first event's step (its time floored to a multiple of the step)
// and stops at endMs() = the last event's time + 1. A step [s, e) counts exactly the events with
// s <= ts < e, wherever they are in the file: it reads the blocks whose [min, max] time meets the
// span (decoded blocks sorted by time, kept in an LRU cache of cache_bytes) and takes their events
// in the span. So seek(t) is exact by construction: the next batch starts at t and the counts of
// any span equal those of an uninterrupted replay (forward, backward, inside a step, repeated).
// Traces need not be sorted: out-of-order lines only make more blocks overlap a step. A straight
// replay of a sorted trace reads each block once; a trace whose disorder spreads an instant over
// more blocks than the cache holds is still counted exactly but rereads them every step
// (errorOccurred warns at start). Blocks are read on the GUI thread when a step first needs them
// (1 MiB: a few ms). seek() rolls running moves back at once (Aborted, "replay seeked to <time>");
// the ownership table, including completed moves, is kept. seek() clamps t to [startMs(), endMs()].
// If the file changes while it is replayed (another size, or a block that no longer holds the
// events it was indexed with), the connector fails instead of miscounting.
//
// Cost: preparing reads the file once at the reader's speed plus a hash per event (measured in a
// Release build on a shared 2-core machine: 784 MB, 18.3 M lines in 4.7 s; the distinct keys
// estimated at 841 k, 844 k in truth). Replaying as fast as possible counts about 12 M events/s.
// Memory: the index (~50 bytes per block, at most ~4096 blocks with the auto block size), the
// minute counts (16 bytes per minute spanned), the key sample (~100 bytes per key, 64 Ki keys),
// and the block cache (cache_bytes; about 40 bytes + the key per event): bounded whatever the
// trace's length (the 784 MB trace: 19 MB resident after preparing, 87 MB while replaying with
// the default 64 MiB cache). A seek costs nothing until the next step, which reads the block(s)
// holding its span (1 MiB: a seek plus a one-minute step took 12 ms) unless they are cached.

#include "cluster_event_source.h"

#include <QFuture>
#include <QFutureWatcher>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace rangepilot {

struct TracePreparation; // what the preparing pass hands to the GUI thread
class TraceBlockSource;  // the indexed trace as an event source

struct TraceReplayOptions {
    std::string path;
    TraceReadOptions read; // our format by default; columns set: a foreign log. `stop` is ignored.
    std::size_t hosts = 8;
    std::size_t shards_per_host = 8;
    std::size_t cells = 1024;
    double speed = 60.0;       // trace seconds per wall second, 1..1000; 0 = as fast as possible
    TimeMs step_ms = 0;        // cluster time per step; 0 = auto (autoStepMs of the mean rate)
    bool timer = true;         // false: only advance() moves the clock (tests, screenshots)
    double capacity_ops = 0.0; // per host; 0 = auto (peak 1-minute events/s / hosts / headroom)
    double headroom = 0.75;
    double migration_load = 0.10;
    double batch_bytes = 8e6;
    double default_value_bytes = 1024;     // stored size of a key the trace gives no size for
    std::size_t key_sample = 65536;        // distinct keys kept for the cells and their data
    std::uint64_t block_bytes = 0;         // index granularity; 0 = auto (1 MiB, larger past 4 GiB)
    std::uint64_t cache_bytes = 64u << 20; // decoded blocks kept in memory while replaying
    ShadowedMoveOptions move;
};

// The first problem with the options, naming the field ("path is empty", "cells must be ...").
Status validate(const TraceReplayOptions& options);

// What preparing found in the trace.
struct TraceReplayStats {
    std::uint64_t lines = 0; // physical lines, header and blank lines included
    std::uint64_t events = 0;
    std::uint64_t bad_lines = 0;
    TimeMs first_event_ms = 0;
    TimeMs last_event_ms = 0;
    std::size_t blocks = 0;
    std::uint64_t block_bytes = 0;
    std::uint64_t out_of_order_events = 0;  // earlier than the line before them
    TimeMs max_lateness_ms = 0;             // the most an event lies behind an earlier line's time
    std::size_t max_overlapping_blocks = 0; // blocks whose time spans share one instant, at most
    double distinct_keys = 0.0;             // exact when distinct_keys_exact, else estimated
    bool distinct_keys_exact = true;
    double peak_events_per_s = 0.0; // the busiest minute's
};

class TraceReplayConnector : public ModeledClusterConnector {
    Q_OBJECT
public:
    explicit TraceReplayConnector(TraceReplayOptions options, QObject* parent = nullptr);
    ~TraceReplayConnector() override;

    QString name() const override; // "trace replay: file.csv"
    // Stopped or Failed: prepares the trace (Starting), then Running at startMs() or Failed.
    // Once prepared, starts again where the clock stands (Stopped at the end: seek back first).
    void start() override;
    // Also cancels a preparation under way (its result is dropped).
    void stop() override;

    // Moves the clock to t, clamped to [startMs(), endMs()]; the next batch starts there. Running
    // moves are rolled back at once (Aborted, "replay seeked to <time>"); the table is kept. A
    // seek to the current position changes nothing. Error before the trace is prepared.
    Status seek(TimeMs t);
    TimeMs positionMs() const { return clusterTime(); }
    bool prepared() const { return modelBuilt(); }

    // Inherited: topology, ownership, clusterTime, cellDataBytes, the move and boundary calls,
    // advance, pause, resume, setSpeed, injectMoveFailure, stepMs, startMs, endMs, capacityOps,
    // moveProgress.

    const TraceReplayOptions& options() const { return m_options; }
    // Valid once prepared.
    const TraceReplayStats& stats() const { return m_stats; }
    // Events counted since the start (a span replayed twice after a seek counts twice).
    std::uint64_t eventsReplayed() const { return eventsCounted(); }

protected:
    std::string subject() const override { return "the trace replay"; }
    QString endedDetail() const override;
    void speedChanged(double speed) override { m_options.speed = speed; }

private:
    void onPrepared(std::uint64_t generation,
                    QFutureWatcher<std::shared_ptr<TracePreparation>>* watcher);
    void publishPrepared(TracePreparation& prepared);
    void cancelPreparing();
    void fail(const QString& message);
    QString fileName() const;

    TraceReplayOptions m_options;
    TraceReplayStats m_stats;
    std::unique_ptr<TraceBlockSource> m_blocks;
    std::uint64_t m_generation = 0;
    std::shared_ptr<std::atomic<bool>> m_cancel; // of the preparation under way
    QFuture<std::shared_ptr<TracePreparation>> m_preparing;
};

} // namespace rangepilot
