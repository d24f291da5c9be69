#pragma once

// The cluster simulator: replays a trace against H modeled hosts under several balancing
// policies side by side and measures, per policy, how often and how badly hosts overload, how
// unbalanced they are, and what the policy's moves cost. It is how the project shows (not
// asserts) that predicting load beats reacting to it.
//
// Model. Hosts "host-1".."host-H" serve ops up to capacity_ops per second (default: the trace's
// peak total ops/s over 1-minute windows / H / headroom, so a perfectly balanced cluster never
// overloads). A host's load is the mean ops/s it served over the trailing load window; its
// utilization ρ adds migration_load for every move running on it (source and target), and is the
// larger of that and network bytes/s over network capacity when that is known. Its modeled p99
// latency is service_p99 / (1 − ρ), capped. Every event costs one op on the host that owns its
// key (a scan: its start key); while a move runs, the range stays on its source and writes also
// land on the target (dual writes). A move copies the range's data at migration_bytes_per_s and
// the target owns the range from the first second boundary at or after the copy ends. A range's
// data is the keys seen so far in it, each at the size of its first get/put with a non-zero
// `bytes` (else bytes_per_key): the layout of data is causal too.
//
// Passes. (1) Layout: a deterministic reservoir sample of the keys of the warm-up
// [start, start + warmup_ms) (start = the first event's time) gives the key cells, and
// hosts × shards_per_host equal-count shards on cell boundaries are placed with Jump Consistent
// Hash. Reading stops at the warm-up's end unless (2) also runs. (2) Pre-pass, only for auto
// capacity or for a policy that needs recorded load: the peak ops/s and the whole trace's actual
// per-cell load. (3) Main pass: all policies in lockstep over one replay. Every round_ms from the
// start, once the warm-up is over, each policy gets a RoundObservation of what happened up to
// that moment only, and the simulator applies its splits and merges at once and starts its moves
// (invalid instructions are counted and skipped). Decisions at time t thus depend only on events
// before t (the no-peeking property; tested).
//
// Time. Seconds and minutes are counted from the start. An event older than the second being
// simulated is late: counted, and attributed to that second. Idle stretches are jumped over
// (after the load window drains and no move runs) instead of stepped through second by second;
// policies still get up to max_idle_rounds rounds of an idle cluster, then the clock jumps to the
// next event. Metrics cover the trace after the warm-up, when the policies act (before it, every
// policy serves the same initial layout, and counting that would pull their ratios toward 1); the
// timeline covers all of it.
//
// Cost per event: one KeyCells::cellOf, one hash-set probe for the data size, and an array lookup
// plus a few additions per policy. Per simulated second: O(policies × hosts). Memory: the key
// hash set (16 bytes per distinct key at most), O(cells + shards) per policy, and recorded load
// when asked for (see recorded_load.h).

#include "balancing_policy.h"
#include "cluster_model.h"
#include "key_cells.h"
#include "migration_plan.h"
#include "ownership_table.h"
#include "recorded_load.h"
#include "result.h"
#include "time_ms.h"
#include "trace_event.h"
#include "trace_reader.h"
#include "workload_generator.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rangepilot {

// A trace that can be replayed from its start, more than once (the simulator reads it in up to
// three passes).
class EventSource {
public:
    virtual ~EventSource() = default;
    // Every event, in the source's order.
    virtual Status replay(FunctionRef<void(const TraceEvent&)> onEvent) = 0;
    // Events until onEvent returns false. The default replays everything and stops forwarding;
    // sources that can stop reading early override it.
    virtual Status replayWhile(FunctionRef<bool(const TraceEvent&)> onEvent);
    // Lines of the last complete replay that did not parse; 0 for sources without lines.
    virtual std::uint64_t badLines() const { return 0; }
};

// A trace file (not a pipe: it is read more than once). Lenient by default: bad lines are
// skipped, counted, and the first kKeptBadLines are kept formatted ("FILE:LINE: reason"); with
// options.strict the first bad line ends the replay with its Error. options.stop, if set,
// cancels a replay (an Error "FILE: cancelled").
class TraceFileSource : public EventSource {
public:
    static constexpr std::size_t kKeptBadLines = 10;

    explicit TraceFileSource(std::string path, TraceReadOptions options = {});

    Status replay(FunctionRef<void(const TraceEvent&)> onEvent) override;
    Status replayWhile(FunctionRef<bool(const TraceEvent&)> onEvent) override;
    std::uint64_t badLines() const override { return m_badLines; }
    // The first bad lines of the last complete replay, formatted.
    const std::vector<std::string>& firstBadLines() const { return m_firstBadLines; }
    const std::string& path() const { return m_path; }

private:
    Status read(FunctionRef<bool(const TraceEvent&)> onEvent);

    std::string m_path;
    TraceReadOptions m_options;
    const std::atomic<bool>* m_userStop = nullptr;
    std::unique_ptr<std::atomic<bool>> m_stop; // ours: ends a replayWhile() early
    std::optional<TraceReader> m_reader;
    std::uint64_t m_badLines = 0;
    std::vector<std::string> m_firstBadLines;
};

// Events held in memory (keys, end keys and clients copied), for tests and small traces.
class VectorEventSource : public EventSource {
public:
    VectorEventSource() = default;
    explicit VectorEventSource(std::span<const TraceEvent> events);

    void add(const TraceEvent& event);
    std::size_t size() const { return m_events.size(); }

    Status replay(FunctionRef<void(const TraceEvent&)> onEvent) override;
    Status replayWhile(FunctionRef<bool(const TraceEvent&)> onEvent) override;

private:
    struct StoredEvent {
        TimeMs ts_ms = 0;
        Op op = Op::Get;
        std::uint64_t bytes = 0;
        std::uint64_t latency_us = 0;
        std::size_t offset = 0; // key, then end_key, then client, in m_text
        std::uint32_t key_size = 0;
        std::uint32_t end_key_size = 0;
        std::uint32_t client_size = 0;
    };
    TraceEvent view(const StoredEvent& stored) const;

    std::string m_text;
    std::vector<StoredEvent> m_events;
};

// A generated workload (see workload_generator.h), regenerated on every replay: no file, no
// memory per event. Options that fail validation make replay() return their Error.
class WorkloadEventSource : public EventSource {
public:
    explicit WorkloadEventSource(WorkloadOptions options);

    Status replay(FunctionRef<void(const TraceEvent&)> onEvent) override;
    Status replayWhile(FunctionRef<bool(const TraceEvent&)> onEvent) override;

private:
    WorkloadOptions m_options;
};

struct SimulationOptions {
    std::size_t hosts = 8;
    double capacity_ops = 0.0;                 // per host; 0 = auto: peak total ops/s over 1-minute
    double headroom = 0.75;                    //   windows / hosts / headroom
    double network_capacity_bytes_per_s = 0.0; // per host; 0 = unknown (not modeled)
    double migration_bytes_per_s = 50e6;       // per move
    double migration_load = 0.10; // fraction of ops capacity a running move takes on both hosts
    double bytes_per_key = 1024;  // when the trace has no bytes column (bytes == 0)
    TimeMs round_ms = 60'000;     // a whole number of seconds
    TimeMs warmup_ms = 10 * kMsPerMinute; // layout from events before start+warmup; no policy
                                          // acts before
    std::size_t cells = 1024;
    std::size_t shards_per_host = 8;
    std::size_t key_sample = 65'536;
    TimeMs load_window_ms = 60'000; // host load = mean ops/s over the trailing window (whole s)
    double service_p99_ms = 1.0;    // p99 at zero load; p99 = service / (1 − ρ), capped
    double latency_cap_ms = 1000.0;
    double sla_p99_ms = 10.0;
    TimeMs thrash_window_ms = kMsPerHour;
    TimeMs recorded_step_ms = kMsPerMinute; // resolution of RecordedCellLoad
    std::size_t max_idle_rounds = 60;       // rounds of an idle cluster a policy still gets
    std::uint64_t seed = 1;
};

// The first problem with the options, naming the option ("round_ms must be a positive whole
// number of seconds").
Status validate(const SimulationOptions& options);

// "host-1" for index 0: the simulator's host names.
std::string simulatedHostName(std::size_t index);

// What a policy factory gets once the layout is built.
struct SimulationSetup {
    const KeyCells& cells;
    const ClusterModel& cluster; // hosts "host-1".."host-H", capacity, latency (uniform 0.5 ms)
    const OwnershipTable& initial_table;
    const SimulationOptions& options;
    TimeMs start_ms = 0;
    TimeMs end_ms = 0; // exclusive end of the trace when a pre-pass ran, else 0 (unknown)
    const RecordedCellLoad* recorded = nullptr; // whole-trace actual load; only for specs that ask
};

using PolicyFactory = std::function<std::unique_ptr<BalancingPolicy>(const SimulationSetup&)>;

struct PolicySpec {
    std::string name;
    PolicyFactory make;
    bool needs_recorded_load = false; // the oracle: it is handed the actual future
};

// One applied change. Split: `range` is the shard before the split, `at` the first key of its
// right half. Merge: `range` is the joint range. Both have from == to == the owner and no bytes.
// Move: the shard's range, source, target and the bytes copied.
struct Decision {
    enum class Kind { Split, Merge, Move };
    TimeMs at_ms = 0;
    Kind kind = Kind::Move;
    KeyRange range;
    HostId from;
    HostId to;
    double bytes = 0.0;
    std::string reason;
    Key at; // splits only
};

// "split", "merge", "move".
std::string_view decisionKindName(Decision::Kind kind);

struct PolicyMetrics {
    std::string name;
    double overload_s = 0.0;            // seconds in which any host had ρ > 1
    double overload_host_s = 0.0;       // the same, summed over hosts
    double sla_violation_minutes = 0.0; // minutes in which any host's modeled p99 > sla
    double imbalance_p50 = 0.0;         // over minutes with load: max / mean of hosts' ops
    double imbalance_p99 = 0.0;
    double bytes_moved = 0.0;       // of the moves started
    std::uint64_t moves = 0;        // started
    std::uint64_t thrash_moves = 0; // started within the thrash window of an opposite move
    double planner_ms_p99 = 0.0;    // wall time of planRound (steady clock; the one
                                    // non-deterministic number)
    std::uint64_t splits = 0;
    std::uint64_t merges = 0;
    std::uint64_t rejected_instructions = 0;
    std::size_t final_shards = 0;
    std::uint64_t rounds = 0;         // planRound calls
    std::uint64_t moves_finished = 0; // cut over before the trace ended
    double served_ops = 0.0;          // events counted on their owner (equals the events)
    double dual_write_ops = 0.0;      // extra ops: writes counted on a move's target too
    std::vector<Decision> decisions;  // every applied split, merge and started move, in order
};

struct SimulationResult {
    std::size_t hosts = 0;
    double capacity_ops = 0.0;
    TimeMs start_ms = 0;
    TimeMs end_ms = 0; // exclusive: last event's time + 1
    std::uint64_t events = 0;
    std::uint64_t late_events = 0;
    std::uint64_t bad_lines = 0;
    std::vector<PolicyMetrics> policies; // in the order of the specs
};

// An optional sink for per-minute host load and every decision (--timeline, the console). Minutes
// in which a policy's whole cluster had no load and no running move are not reported.
class SimulationTimeline {
public:
    virtual ~SimulationTimeline() = default;
    virtual void hostMinute(std::string_view policy, TimeMs minuteStart, const HostId& host,
                            double opsPerS, double utilization, double p99Ms) = 0;
    virtual void decision(std::string_view policy, const Decision& decision) = 0;
    virtual void moveFinished(std::string_view policy, const InFlightMove& move) = 0;
};

// The timeline as one CSV file with a header row:
//   record,ts,policy,host,ops_per_s,utilization,p99_ms,range_start,range_end,split_at,from,to,
//   bytes,reason
// record is load | split | merge | move_start | move_done; ts is ms since the epoch (a load row:
// its minute's start; move_done: the end of the copy); keys are in formatKey() form, an
// unbounded end is empty; fields are quoted when they hold a comma, quote or line break. Write
// errors are remembered and reported by finish() as an Error naming the file.
class CsvTimelineWriter : public SimulationTimeline {
public:
    static Result<CsvTimelineWriter> open(const std::string& path);

    void hostMinute(std::string_view policy, TimeMs minuteStart, const HostId& host, double opsPerS,
                    double utilization, double p99Ms) override;
    void decision(std::string_view policy, const Decision& decision) override;
    void moveFinished(std::string_view policy, const InFlightMove& move) override;

    // Flushes and closes the file; the first write error if any ("FILE: write failed: ...").
    Status finish();

private:
    struct FileCloser {
        void operator()(std::FILE* file) const;
    };

    CsvTimelineWriter() = default;
    void writeRow(std::initializer_list<std::string_view> fields);

    std::string m_path;
    std::unique_ptr<std::FILE, FileCloser> m_file;
    std::string m_line;
    int m_errno = 0;
};

// The starting point every policy shares: key cells, hosts and the initial table, from the
// warm-up only (pass 1). Exposed so tools and tests can see where keys live.
struct SimulationLayout {
    KeyCells cells;
    ClusterModel cluster; // capacity as in the options (0 when auto: simulate() computes it)
    OwnershipTable table;
    TimeMs start_ms = 0;
    std::uint64_t warmup_events = 0;
};

Result<SimulationLayout> buildInitialLayout(EventSource& trace, const SimulationOptions& options);

// Runs every policy over the trace. Errors: invalid options, a trace without events, a read
// error of the source (strict mode), a factory that returns no policy.
Result<SimulationResult> simulate(EventSource& trace, std::span<const PolicySpec> policies,
                                  const SimulationOptions& options,
                                  SimulationTimeline* timeline = nullptr);

} // namespace rangepilot
