#include "cluster_simulator.h"

#include "jump_hash.h"
#include "random.h"
#include "trace_writer.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <unordered_map>

namespace rangepilot {

// ---------------------------------------------------------------------------------------------
// Event sources

Status EventSource::replayWhile(FunctionRef<bool(const TraceEvent&)> onEvent) {
    bool forwarding = true;
    return replay([&](const TraceEvent& event) {
        if (forwarding)
            forwarding = onEvent(event);
    });
}

TraceFileSource::TraceFileSource(std::string path, TraceReadOptions options)
    : m_path(std::move(path))
    , m_options(std::move(options))
    , m_userStop(m_options.stop)
    , m_stop(std::make_unique<std::atomic<bool>>(false)) {
    m_options.stop = m_stop.get();
}

Status TraceFileSource::replay(FunctionRef<void(const TraceEvent&)> onEvent) {
    return read([&](const TraceEvent& event) {
        onEvent(event);
        return true;
    });
}

Status TraceFileSource::replayWhile(FunctionRef<bool(const TraceEvent&)> onEvent) {
    return read(onEvent);
}

Status TraceFileSource::read(FunctionRef<bool(const TraceEvent&)> onEvent) {
    if (!m_reader) {
        Result<TraceReader> opened = TraceReader::open(m_path, m_options);
        if (!opened)
            return Error{opened.error().message};
        if (!opened->seekable())
            return Error{opened->displayName() +
                         ": the simulator reads a trace more than once; give a file, not a pipe"};
        m_reader.emplace(std::move(opened).value());
    }
    m_stop->store(false, std::memory_order_relaxed);
    bool stoppedByCaller = false;
    bool cancelled = false;
    std::uint64_t badLines = 0;
    std::vector<std::string> firstBadLines;
    const Result<TraceReadSummary> summary = m_reader->read(
        [&](const TraceEvent& event) {
            if (stoppedByCaller || cancelled)
                return;
            if (m_userStop && m_userStop->load(std::memory_order_relaxed)) {
                cancelled = true;
                m_stop->store(true, std::memory_order_relaxed);
                return;
            }
            if (!onEvent(event)) {
                stoppedByCaller = true;
                m_stop->store(true, std::memory_order_relaxed);
            }
        },
        [&](const BadLine& bad) {
            ++badLines;
            if (firstBadLines.size() < kKeptBadLines)
                firstBadLines.push_back(formatBadLine(bad));
        });
    if (!summary)
        return Error{summary.error().message};
    if (cancelled || (m_userStop && m_userStop->load(std::memory_order_relaxed)))
        return Error{m_reader->displayName() + ": cancelled"};
    if (!stoppedByCaller) {
        m_badLines = badLines;
        m_firstBadLines = std::move(firstBadLines);
    }
    return Status::success();
}

VectorEventSource::VectorEventSource(std::span<const TraceEvent> events) {
    m_events.reserve(events.size());
    for (const TraceEvent& event : events)
        add(event);
}

void VectorEventSource::add(const TraceEvent& event) {
    StoredEvent stored;
    stored.ts_ms = event.ts_ms;
    stored.op = event.op;
    stored.bytes = event.bytes;
    stored.latency_us = event.latency_us;
    stored.offset = m_text.size();
    stored.key_size = static_cast<std::uint32_t>(event.key.size());
    stored.end_key_size = static_cast<std::uint32_t>(event.end_key.size());
    stored.client_size = static_cast<std::uint32_t>(event.client.size());
    m_text.append(event.key).append(event.end_key).append(event.client);
    m_events.push_back(stored);
}

TraceEvent VectorEventSource::view(const StoredEvent& stored) const {
    const std::string_view text = m_text;
    TraceEvent event;
    event.ts_ms = stored.ts_ms;
    event.op = stored.op;
    event.bytes = stored.bytes;
    event.latency_us = stored.latency_us;
    event.key = text.substr(stored.offset, stored.key_size);
    event.end_key = text.substr(stored.offset + stored.key_size, stored.end_key_size);
    event.client =
        text.substr(stored.offset + stored.key_size + stored.end_key_size, stored.client_size);
    return event;
}

Status VectorEventSource::replay(FunctionRef<void(const TraceEvent&)> onEvent) {
    for (const StoredEvent& stored : m_events)
        onEvent(view(stored));
    return Status::success();
}

Status VectorEventSource::replayWhile(FunctionRef<bool(const TraceEvent&)> onEvent) {
    for (const StoredEvent& stored : m_events) {
        if (!onEvent(view(stored)))
            break;
    }
    return Status::success();
}

WorkloadEventSource::WorkloadEventSource(WorkloadOptions options)
    : m_options(std::move(options)) {}

Status WorkloadEventSource::replay(FunctionRef<void(const TraceEvent&)> onEvent) {
    return replayWhile([&](const TraceEvent& event) {
        onEvent(event);
        return true;
    });
}

Status WorkloadEventSource::replayWhile(FunctionRef<bool(const TraceEvent&)> onEvent) {
    WorkloadGenerator generator(m_options);
    if (!generator.status().ok())
        return generator.status();
    TraceEvent event;
    while (generator.next(event)) {
        if (!onEvent(event))
            break;
    }
    return Status::success();
}

// ---------------------------------------------------------------------------------------------
// Options, names

namespace {

bool positiveWholeSeconds(TimeMs ms) {
    return ms > 0 && ms % kMsPerSecond == 0;
}

bool finiteAtLeast(double value, double low) {
    return std::isfinite(value) && value >= low;
}

} // namespace

Status validate(const SimulationOptions& options) {
    if (options.hosts < 1)
        return Error{"hosts must be at least 1"};
    if (!finiteAtLeast(options.capacity_ops, 0.0))
        return Error{"capacity_ops must be >= 0 (0 = auto)"};
    if (!finiteAtLeast(options.headroom, 0.0) || options.headroom <= 0.0 || options.headroom > 1.0)
        return Error{"headroom must be in (0, 1]"};
    if (!finiteAtLeast(options.network_capacity_bytes_per_s, 0.0))
        return Error{"network_capacity_bytes_per_s must be >= 0 (0 = unknown)"};
    if (!finiteAtLeast(options.migration_bytes_per_s, 0.0) || options.migration_bytes_per_s <= 0.0)
        return Error{"migration_bytes_per_s must be > 0"};
    if (!finiteAtLeast(options.migration_load, 0.0))
        return Error{"migration_load must be >= 0"};
    if (!finiteAtLeast(options.bytes_per_key, 0.0))
        return Error{"bytes_per_key must be >= 0"};
    if (!positiveWholeSeconds(options.round_ms))
        return Error{"round_ms must be a positive whole number of seconds"};
    if (options.warmup_ms <= 0)
        return Error{"warmup_ms must be > 0 (the layout is built from the warm-up)"};
    if (options.cells < 1)
        return Error{"cells must be at least 1"};
    if (options.cells > (std::size_t(1) << 31))
        return Error{"cells must be at most 2^31"};
    if (options.shards_per_host < 1)
        return Error{"shards_per_host must be at least 1"};
    if (options.key_sample < 1)
        return Error{"key_sample must be at least 1"};
    if (!positiveWholeSeconds(options.load_window_ms))
        return Error{"load_window_ms must be a positive whole number of seconds"};
    if (!finiteAtLeast(options.service_p99_ms, 0.0) || options.service_p99_ms <= 0.0)
        return Error{"service_p99_ms must be > 0"};
    if (!finiteAtLeast(options.latency_cap_ms, options.service_p99_ms))
        return Error{"latency_cap_ms must be >= service_p99_ms"};
    if (!finiteAtLeast(options.sla_p99_ms, 0.0) || options.sla_p99_ms <= 0.0)
        return Error{"sla_p99_ms must be > 0"};
    if (options.thrash_window_ms < 0)
        return Error{"thrash_window_ms must be >= 0"};
    if (options.recorded_step_ms <= 0)
        return Error{"recorded_step_ms must be > 0"};
    return Status::success();
}

std::string simulatedHostName(std::size_t index) {
    return "host-" + std::to_string(index + 1);
}

std::string_view decisionKindName(Decision::Kind kind) {
    switch (kind) {
    case Decision::Kind::Split:
        return "split";
    case Decision::Kind::Merge:
        return "merge";
    case Decision::Kind::Move:
        return "move";
    }
    return "move";
}

// ---------------------------------------------------------------------------------------------
// CSV timeline

void CsvTimelineWriter::FileCloser::operator()(std::FILE* file) const {
    if (file)
        std::fclose(file);
}

Result<CsvTimelineWriter> CsvTimelineWriter::open(const std::string& path) {
    CsvTimelineWriter writer;
    writer.m_path = path;
    writer.m_file.reset(std::fopen(path.c_str(), "wb"));
    if (!writer.m_file)
        return Error{path + ": cannot open for writing: " + std::strerror(errno)};
    writer.writeRow({"record", "ts", "policy", "host", "ops_per_s", "utilization", "p99_ms",
                     "range_start", "range_end", "split_at", "from", "to", "bytes", "reason"});
    return writer;
}

namespace {

std::string formatNumber(double value) {
    char buffer[64];
    const auto result =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, 6);
    return std::string(buffer, result.ptr);
}

std::string formatBytes(double bytes) {
    return std::to_string(std::llround(bytes));
}

} // namespace

void CsvTimelineWriter::writeRow(std::initializer_list<std::string_view> fields) {
    if (!m_file || m_errno != 0)
        return;
    m_line.clear();
    bool first = true;
    for (const std::string_view field : fields) {
        if (!first)
            m_line.push_back(',');
        first = false;
        appendCsvField(m_line, field);
    }
    m_line.push_back('\n');
    if (std::fwrite(m_line.data(), 1, m_line.size(), m_file.get()) != m_line.size())
        m_errno = errno != 0 ? errno : EIO;
}

void CsvTimelineWriter::hostMinute(std::string_view policy, TimeMs minuteStart, const HostId& host,
                                   double opsPerS, double utilization, double p99Ms) {
    writeRow({"load", std::to_string(minuteStart), policy, host, formatNumber(opsPerS),
              formatNumber(utilization), formatNumber(p99Ms), "", "", "", "", "", "", ""});
}

void CsvTimelineWriter::decision(std::string_view policy, const Decision& decision) {
    const std::string_view record = decision.kind == Decision::Kind::Move
                                        ? std::string_view("move_start")
                                        : decisionKindName(decision.kind);
    writeRow({record, std::to_string(decision.at_ms), policy, "", "", "", "",
              formatKey(decision.range.start), formatKey(decision.range.end),
              decision.kind == Decision::Kind::Split ? formatKey(decision.at) : std::string(),
              decision.from, decision.to, formatBytes(decision.bytes), decision.reason});
}

void CsvTimelineWriter::moveFinished(std::string_view policy, const InFlightMove& move) {
    writeRow({"move_done", std::to_string(move.finishes_ms), policy, "", "", "", "",
              formatKey(move.range.start), formatKey(move.range.end), "", move.from, move.to,
              formatBytes(move.bytes), ""});
}

Status CsvTimelineWriter::finish() {
    if (!m_file)
        return Error{m_path + ": the timeline is already closed"};
    if (m_errno == 0 && std::fflush(m_file.get()) != 0)
        m_errno = errno != 0 ? errno : EIO;
    std::FILE* file = m_file.release();
    if (std::fclose(file) != 0 && m_errno == 0)
        m_errno = errno != 0 ? errno : EIO;
    if (m_errno != 0)
        return Error{m_path + ": write failed: " + std::strerror(m_errno)};
    return Status::success();
}

// ---------------------------------------------------------------------------------------------
// Layout and pre-passes

namespace {

constexpr std::int32_t kStraddled = -1; // cell owner: a shard boundary lies inside the cell
constexpr std::int32_t kNoHost = -1;    // cell dual-write target: none
constexpr std::int64_t kSecondsPerMinute = 60;

// Seconds since the start, with late events attributed to the latest second reached: the one
// rule of time that every pass shares.
class SecondClock {
public:
    explicit SecondClock(TimeMs startMs)
        : m_startMs(startMs) {}
    // The second an event at `ts` counts in, and whether it is late.
    std::int64_t attribute(TimeMs ts, bool& late) {
        const std::int64_t second = floorDiv(ts - m_startMs, kMsPerSecond);
        late = second < m_current;
        m_current = std::max(m_current, second);
        return m_current;
    }
    TimeMs timeOf(std::int64_t second) const { return m_startMs + second * kMsPerSecond; }

private:
    TimeMs m_startMs;
    std::int64_t m_current = 0;
};

// The busiest 1-minute window of a pass, counted as events are attributed to seconds.
class PeakMinute {
public:
    void count(std::int64_t second) {
        const std::int64_t minute = second / kSecondsPerMinute;
        if (minute != m_minute) {
            m_peakEvents = std::max(m_peakEvents, m_events);
            m_minute = minute;
            m_events = 0;
        }
        ++m_events;
    }
    double opsPerSecond() const {
        return static_cast<double>(std::max(m_peakEvents, m_events)) / kSecondsPerMinute;
    }

private:
    std::int64_t m_minute = 0;
    std::uint64_t m_events = 0;
    std::uint64_t m_peakEvents = 0;
};

struct WarmupScan {
    std::vector<Key> sample;
    TimeMs start_ms = 0;
    std::uint64_t warmup_events = 0;
    bool has_events = false;
    // Only for a full pass:
    bool full = false;
    double peak_ops_per_s = 0.0;
    TimeMs max_ts = 0;
};

// Pass 1: the reservoir sample of the warm-up's keys; with `full`, also the peak ops/s over
// 1-minute windows and the last time, reading the whole trace.
Result<WarmupScan> scanTrace(EventSource& trace, const SimulationOptions& options, bool full) {
    WarmupScan scan;
    scan.full = full;
    Random random = Random::forStream(options.seed, 0x5a3d1e);
    std::optional<SecondClock> clock;
    PeakMinute peak;
    const Status status = trace.replayWhile([&](const TraceEvent& event) {
        if (!scan.has_events) {
            scan.has_events = true;
            scan.start_ms = event.ts_ms;
            scan.max_ts = event.ts_ms;
            clock.emplace(event.ts_ms);
        }
        const bool inWarmup = event.ts_ms < scan.start_ms + options.warmup_ms;
        if (!inWarmup && !full)
            return false;
        if (inWarmup) {
            const std::uint64_t seen = scan.warmup_events++;
            if (scan.sample.size() < options.key_sample) {
                scan.sample.emplace_back(event.key);
            } else {
                const std::uint64_t slot = random.uniformInt(seen + 1);
                if (slot < options.key_sample)
                    scan.sample[slot].assign(event.key);
            }
        }
        if (full) {
            bool late = false;
            peak.count(clock->attribute(event.ts_ms, late));
            scan.max_ts = std::max(scan.max_ts, event.ts_ms);
        }
        return true;
    });
    if (!status)
        return Error{status.message()};
    scan.peak_ops_per_s = peak.opsPerSecond();
    return scan;
}

ClusterModel makeCluster(std::size_t hosts, double capacityOps, double networkCapacity) {
    ClusterModel cluster;
    for (std::size_t i = 0; i < hosts; ++i) {
        Host host;
        host.id = simulatedHostName(i);
        host.capacity[Resource::Ops] = capacityOps;
        host.capacity[Resource::NetworkBytes] = networkCapacity;
        cluster.hosts.push_back(std::move(host));
    }
    cluster.latency = LatencyMatrix(hosts, 0.5);
    return cluster;
}

Result<SimulationLayout> layoutFrom(WarmupScan& scan, const SimulationOptions& options) {
    KeyCells cells = KeyCells::fromSample(std::move(scan.sample), options.cells);
    const std::size_t shardCount = std::min(options.hosts * options.shards_per_host, cells.size());
    std::vector<Key> splitKeys;
    for (std::size_t i = 1; i < shardCount; ++i)
        splitKeys.push_back(cells.start(static_cast<CellIndex>(i * cells.size() / shardCount)));
    std::vector<HostId> hosts;
    for (std::size_t i = 0; i < options.hosts; ++i)
        hosts.push_back(simulatedHostName(i));
    Result<OwnershipTable> table =
        OwnershipTable::withInitialPlacement(std::move(splitKeys), std::move(hosts));
    if (!table)
        return Error{"initial layout: " + table.error().message};
    return SimulationLayout{
        std::move(cells),
        makeCluster(options.hosts, options.capacity_ops, options.network_capacity_bytes_per_s),
        std::move(table).value(), scan.start_ms, scan.warmup_events};
}

// The load one event puts on the host that serves it.
struct EventLoad {
    ResourceVector amount; // ops, network bytes, disk bytes, service µs
    double network = 0.0;
};

EventLoad loadOf(const TraceEvent& event, double bytesPerKey) {
    EventLoad load;
    double bytes = static_cast<double>(event.bytes);
    if (event.bytes == 0)
        bytes = event.op == Op::Delete ? 0.0 : bytesPerKey;
    load.network = bytes;
    load.amount[Resource::Ops] = 1.0;
    load.amount[Resource::NetworkBytes] = bytes;
    load.amount[Resource::DiskBytes] = event.op == Op::Put ? bytes : 0.0;
    load.amount[Resource::ServiceTime] = static_cast<double>(event.latency_us);
    return load;
}

// Pass 2: the whole trace's actual per-cell load, for policies that are handed the future. It
// reads the whole trace, so it also finds the last time and the peak minute (pass 1 then need
// not read past the warm-up).
struct RecordedPass {
    RecordedCellLoad load;
    TimeMs max_ts = 0;
    double peak_ops_per_s = 0.0;
};

Result<RecordedPass> recordLoad(EventSource& trace, const SimulationOptions& options,
                                const SimulationLayout& layout, TimeMs endMs) {
    const std::size_t bucketHint =
        endMs > layout.start_ms
            ? static_cast<std::size_t>((endMs - layout.start_ms) / options.recorded_step_ms + 1)
            : 0;
    RecordedCellLoad recorded(layout.cells.size(), layout.start_ms, options.recorded_step_ms,
                              bucketHint);
    SecondClock clock(layout.start_ms);
    PeakMinute peak;
    TimeMs maxTs = layout.start_ms;
    const Status status = trace.replay([&](const TraceEvent& event) {
        maxTs = std::max(maxTs, event.ts_ms);
        bool late = false;
        const std::int64_t second = clock.attribute(event.ts_ms, late);
        peak.count(second);
        const TimeMs ts = late ? clock.timeOf(second) : event.ts_ms;
        recorded.add(layout.cells.cellOf(event.key), ts,
                     loadOf(event, options.bytes_per_key).amount);
    });
    if (!status)
        return Error{status.message()};
    return RecordedPass{std::move(recorded), maxTs, peak.opsPerSecond()};
}

// Data size per cell: each distinct key adds its size when first seen. A key first seen without
// a size (a delete, or no bytes column) counts bytes_per_key until a get or put gives its size.
// Keys are remembered by a 64-bit hash (a collision among a billion keys is unlikely; its cost
// would be one key's bytes).
class KeySizes {
public:
    KeySizes()
        : m_hashes(1024, 0)
        , m_provisional(1024, 0) {}

    // The change in stored bytes that this sighting makes.
    double observe(std::string_view key, bool sized, double size, double defaultSize) {
        if ((m_count + 1) * 2 > m_hashes.size())
            grow();
        std::uint64_t hash = hashBytes(key);
        hash = hash == 0 ? 1 : hash;
        const std::size_t slot = find(hash);
        if (m_hashes[slot] == 0) {
            m_hashes[slot] = hash;
            m_provisional[slot] = sized ? 0 : 1;
            ++m_count;
            return sized ? size : defaultSize;
        }
        if (m_provisional[slot] != 0 && sized) {
            m_provisional[slot] = 0;
            return size - defaultSize;
        }
        return 0.0;
    }

private:
    std::size_t find(std::uint64_t hash) const {
        const std::size_t mask = m_hashes.size() - 1;
        std::size_t slot = static_cast<std::size_t>(hash) & mask;
        while (m_hashes[slot] != 0 && m_hashes[slot] != hash)
            slot = (slot + 1) & mask;
        return slot;
    }

    void grow() {
        std::vector<std::uint64_t> hashes(m_hashes.size() * 2, 0);
        std::vector<std::uint8_t> provisional(hashes.size(), 0);
        std::swap(hashes, m_hashes);
        std::swap(provisional, m_provisional);
        for (std::size_t i = 0; i < hashes.size(); ++i) {
            if (hashes[i] == 0)
                continue;
            const std::size_t slot = find(hashes[i]);
            m_hashes[slot] = hashes[i];
            m_provisional[slot] = provisional[i];
        }
    }

    std::vector<std::uint64_t> m_hashes; // 0 = empty slot
    std::vector<std::uint8_t> m_provisional;
    std::size_t m_count = 0;
};

// Nearest-rank percentile (p in (0, 1]) of the values; 0 when there are none.
double percentile(std::vector<double> values, double p) {
    if (values.empty())
        return 0.0;
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

// ---------------------------------------------------------------------------------------------
// The main pass

struct RunningMove {
    InFlightMove move;
    std::uint32_t from = 0;
    std::uint32_t to = 0;
};

// One policy's world: its table, moves, history, and the load its hosts carry.
struct PolicyRun {
    PolicyRun(std::string name, std::unique_ptr<BalancingPolicy> policy, OwnershipTable table,
              std::size_t hosts, std::size_t windowSeconds)
        : policy(std::move(policy))
        , table(std::move(table))
        , secondOps(hosts)
        , secondNetwork(hosts)
        , windowOps(hosts * windowSeconds)
        , windowNetwork(hosts * windowSeconds)
        , windowOpsSum(hosts)
        , windowNetworkSum(hosts)
        , migrationShare(hosts)
        , minuteOps(hosts)
        , minuteNetwork(hosts)
        , minuteMigration(hosts)
        , roundLoad(hosts)
        , roundMigration(hosts) {
        metrics.name = std::move(name);
    }

    std::unique_ptr<BalancingPolicy> policy;
    OwnershipTable table;
    MoveHistory history;
    std::vector<RunningMove> moves; // in flight, in start order

    // Where events go: per cell the owner host (kStraddled: look the key up) and the target of a
    // move in flight (dual writes); per shard position the same, for straddled cells.
    std::vector<std::int32_t> cellOwner;
    std::vector<std::int32_t> cellDual;
    std::vector<std::int32_t> shardOwner;
    std::vector<std::int32_t> shardDual;

    // Per host: the second being simulated, the trailing window (ring, host-major), the minute
    // and the round so far. Migration is in move-seconds (a move running a whole second is 1).
    std::vector<double> secondOps, secondNetwork;
    std::vector<double> windowOps, windowNetwork;
    std::vector<double> windowOpsSum, windowNetworkSum;
    std::vector<double> migrationShare;
    std::vector<double> minuteOps, minuteNetwork, minuteMigration;
    std::vector<ResourceVector> roundLoad;
    std::vector<double> roundMigration;

    PolicyMetrics metrics;
    std::vector<double> imbalances;
    std::vector<double> plannerMs;
};

class Simulator {
public:
    Simulator(const SimulationOptions& options, const SimulationLayout& layout,
              const ClusterModel& cluster, SimulationTimeline* timeline)
        : m_options(options)
        , m_cells(layout.cells)
        , m_cluster(cluster)
        , m_timeline(timeline)
        , m_start(layout.start_ms)
        , m_capacity(cluster.hosts.front().capacity[Resource::Ops])
        , m_networkCapacity(options.network_capacity_bytes_per_s)
        , m_hosts(cluster.hosts.size())
        , m_windowSeconds(options.load_window_ms / kMsPerSecond)
        , m_roundSeconds(options.round_ms / kMsPerSecond)
        , m_clock(layout.start_ms)
        , m_cellRound(layout.cells.size())
        , m_cellRates(layout.cells.size())
        , m_cellBytes(layout.cells.size(), 0.0) {
        for (std::size_t i = 0; i < m_hosts; ++i)
            m_hostIndex.emplace(cluster.hosts[i].id, static_cast<std::uint32_t>(i));
    }

    void addPolicy(std::string name, std::unique_ptr<BalancingPolicy> policy,
                   const OwnershipTable& table) {
        m_runs.emplace_back(std::move(name), std::move(policy), table, m_hosts,
                            static_cast<std::size_t>(m_windowSeconds));
        rebuildRouting(m_runs.back());
    }

    void onEvent(const TraceEvent& event);
    SimulationResult finish();

private:
    TimeMs timeOfSecond(std::int64_t second) const { return m_start + second * kMsPerSecond; }
    // Metrics start when the policies do: the warm-up's load falls on the same initial layout
    // under every policy, and counting it would only pull their ratios toward 1.
    std::int64_t warmupSeconds() const {
        return (m_options.warmup_ms + kMsPerSecond - 1) / kMsPerSecond;
    }
    bool measured(std::int64_t second) const { return second >= warmupSeconds(); }
    double latencyAt(double utilization) const;
    double utilization(double opsPerS, double migrationShare, double networkPerS) const;

    void advanceTo(std::int64_t second);
    bool canJump() const;
    void skipIdleSeconds(std::int64_t count);
    void closeSecond(bool final);
    bool closeSecondFor(PolicyRun& run, std::size_t slot);
    void closeMinute(std::int64_t boundary);
    void runRound(TimeMs now);
    void planAndApply(PolicyRun& run, TimeMs now);
    bool applySplits(PolicyRun& run, const MigrationPlan& plan,
                     TimeMs now); // true when the table or the moves changed
    bool applyMerges(PolicyRun& run, const MigrationPlan& plan,
                     TimeMs now); // true when the table or the moves changed
    bool startMoves(PolicyRun& run, const MigrationPlan& plan,
                    TimeMs now);                    // true when the table or the moves changed
    bool completeMoves(PolicyRun& run, TimeMs now); // true when the table or the moves changed
    void record(PolicyRun& run, Decision decision);

    void rebuildRouting(PolicyRun& run) const;
    bool isMoving(const PolicyRun& run, const KeyRange& range) const;
    double rangeBytes(const KeyRange& range) const;
    std::optional<std::uint32_t> hostIndex(const HostId& host) const;

    const SimulationOptions& m_options;
    const KeyCells& m_cells;
    const ClusterModel& m_cluster;
    SimulationTimeline* m_timeline;
    TimeMs m_start;
    double m_capacity;
    double m_networkCapacity;
    std::size_t m_hosts;
    std::int64_t m_windowSeconds;
    std::int64_t m_roundSeconds;
    std::unordered_map<std::string, std::uint32_t> m_hostIndex;
    std::vector<PolicyRun> m_runs;

    SecondClock m_clock;
    std::int64_t m_second = 0; // being simulated; every earlier one is closed
    bool m_secondHasEvents = false;
    bool m_minuteHasLoad = false;
    std::int64_t m_emptySeconds = 0; // closed seconds without events, in a row
    std::uint64_t m_roundEvents = 0;
    std::uint64_t m_idleRounds = 0; // round ends in a row without events

    std::vector<ResourceVector> m_cellRound; // amounts this round
    std::vector<ResourceVector> m_cellRates; // scratch for the observation
    std::vector<double> m_cellBytes;
    KeySizes m_keySizes;

    std::uint64_t m_events = 0;
    std::uint64_t m_lateEvents = 0;
    TimeMs m_maxTs = 0;
};

std::optional<std::uint32_t> Simulator::hostIndex(const HostId& host) const {
    const auto it = m_hostIndex.find(host);
    if (it == m_hostIndex.end())
        return std::nullopt;
    return it->second;
}

double Simulator::latencyAt(double utilization) const {
    if (utilization >= 1.0)
        return m_options.latency_cap_ms;
    return std::min(m_options.latency_cap_ms, m_options.service_p99_ms / (1.0 - utilization));
}

double Simulator::utilization(double opsPerS, double migrationShare, double networkPerS) const {
    double rho = opsPerS / m_capacity + m_options.migration_load * migrationShare;
    if (m_networkCapacity > 0.0)
        rho = std::max(rho, networkPerS / m_networkCapacity);
    return rho;
}

void Simulator::onEvent(const TraceEvent& event) {
    bool late = false;
    const std::int64_t second = m_clock.attribute(event.ts_ms, late);
    if (m_events == 0)
        m_maxTs = event.ts_ms;
    ++m_events;
    m_maxTs = std::max(m_maxTs, event.ts_ms);
    if (late)
        ++m_lateEvents;
    if (second > m_second)
        advanceTo(second);

    const CellIndex cell = m_cells.cellOf(event.key);
    const EventLoad load = loadOf(event, m_options.bytes_per_key);
    m_cellRound[cell] += load.amount;
    if (event.op != Op::Scan) {
        const bool sized = (event.op == Op::Get || event.op == Op::Put) && event.bytes > 0;
        m_cellBytes[cell] += m_keySizes.observe(event.key, sized, static_cast<double>(event.bytes),
                                                m_options.bytes_per_key);
    }
    m_secondHasEvents = true;
    ++m_roundEvents;

    const bool write = isWrite(event.op);
    for (PolicyRun& run : m_runs) {
        std::int32_t owner = run.cellOwner[cell];
        std::int32_t dual = run.cellDual[cell];
        if (owner == kStraddled) {
            const std::size_t shard = run.table.indexOf(event.key);
            owner = run.shardOwner[shard];
            dual = run.shardDual[shard];
        }
        const auto host = static_cast<std::size_t>(owner);
        run.secondOps[host] += 1.0;
        run.secondNetwork[host] += load.network;
        run.roundLoad[host] += load.amount;
        run.metrics.served_ops += 1.0;
        if (dual != kNoHost && write) {
            const auto target = static_cast<std::size_t>(dual);
            run.secondOps[target] += 1.0;
            run.secondNetwork[target] += load.network;
            run.roundLoad[target] += load.amount;
            run.metrics.dual_write_ops += 1.0;
        }
    }
}

bool Simulator::canJump() const {
    if (m_secondHasEvents || m_minuteHasLoad || m_emptySeconds < m_windowSeconds)
        return false;
    return std::all_of(m_runs.begin(), m_runs.end(),
                       [](const PolicyRun& run) { return run.moves.empty(); });
}

void Simulator::advanceTo(std::int64_t second) {
    while (m_second < second) {
        if (canJump()) {
            // Nothing runs and the window has drained: every second until `second` is alike.
            for (PolicyRun& run : m_runs) {
                std::fill(run.windowOpsSum.begin(), run.windowOpsSum.end(), 0.0);
                std::fill(run.windowNetworkSum.begin(), run.windowNetworkSum.end(), 0.0);
            }
            std::int64_t stop = second;
            if (m_idleRounds < m_options.max_idle_rounds)
                stop = std::min(stop, (m_second / m_roundSeconds + 1) * m_roundSeconds);
            if (stop - m_second > 1)
                skipIdleSeconds(stop - 1 - m_second);
        }
        closeSecond(false);
    }
}

// Seconds [m_second, m_second + count) without load or moves: only their minute and round
// boundaries matter. Idle minutes add no imbalance sample and no timeline rows.
void Simulator::skipIdleSeconds(std::int64_t count) {
    const std::int64_t from = m_second;
    const std::int64_t to = m_second + count;
    // Idle minutes [b − 60, b) are counted when measured: b in (max(from, W + 59), to].
    const std::int64_t firstMeasured = std::max(from, warmupSeconds() + kSecondsPerMinute - 1);
    const std::int64_t minutes =
        to > firstMeasured ? to / kSecondsPerMinute - firstMeasured / kSecondsPerMinute : 0;
    if (latencyAt(0.0) > m_options.sla_p99_ms) {
        for (PolicyRun& run : m_runs)
            run.metrics.sla_violation_minutes += static_cast<double>(minutes);
    }
    m_idleRounds += static_cast<std::uint64_t>(to / m_roundSeconds - from / m_roundSeconds);
    m_emptySeconds += count;
    m_second = to;
}

void Simulator::closeSecond(bool final) {
    const auto slot = static_cast<std::size_t>(m_second % m_windowSeconds);
    bool migrating = false;
    for (PolicyRun& run : m_runs)
        migrating = closeSecondFor(run, slot) || migrating;
    if (m_secondHasEvents) {
        m_emptySeconds = 0;
        m_minuteHasLoad = true;
    } else {
        ++m_emptySeconds;
    }
    m_minuteHasLoad = m_minuteHasLoad || migrating;
    m_secondHasEvents = false;

    const std::int64_t boundary = m_second + 1;
    if (boundary % kSecondsPerMinute == 0 || final)
        closeMinute(boundary);
    if (final)
        return;
    const TimeMs boundaryMs = timeOfSecond(boundary);
    for (PolicyRun& run : m_runs) {
        if (completeMoves(run, boundaryMs))
            rebuildRouting(run);
    }
    m_second = boundary;
    if (boundary % m_roundSeconds == 0)
        runRound(boundaryMs);
}

// Closes the current second for one policy; true when a move ran in it.
bool Simulator::closeSecondFor(PolicyRun& run, std::size_t slot) {
    const bool migrating = !run.moves.empty();
    if (migrating) {
        std::fill(run.migrationShare.begin(), run.migrationShare.end(), 0.0);
        const TimeMs from = timeOfSecond(m_second);
        const TimeMs to = from + kMsPerSecond;
        for (const RunningMove& running : run.moves) {
            const TimeMs overlap =
                std::min(to, running.move.finishes_ms) - std::max(from, running.move.started_ms);
            if (overlap <= 0)
                continue;
            const double share = static_cast<double>(overlap) / kMsPerSecond;
            run.migrationShare[running.from] += share;
            run.migrationShare[running.to] += share;
        }
    }
    const auto window = static_cast<double>(m_windowSeconds);
    const auto ring = static_cast<std::size_t>(m_windowSeconds);
    const bool measuring = measured(m_second);
    bool overloaded = false;
    for (std::size_t host = 0; host < m_hosts; ++host) {
        const double ops = run.secondOps[host];
        const double network = run.secondNetwork[host];
        double& oldOps = run.windowOps[host * ring + slot];
        double& oldNetwork = run.windowNetwork[host * ring + slot];
        run.windowOpsSum[host] += ops - oldOps;
        run.windowNetworkSum[host] += network - oldNetwork;
        oldOps = ops;
        oldNetwork = network;
        const double migration = migrating ? run.migrationShare[host] : 0.0;
        const double rho = utilization(run.windowOpsSum[host] / window, migration,
                                       run.windowNetworkSum[host] / window);
        if (rho > 1.0 && measuring) {
            overloaded = true;
            run.metrics.overload_host_s += 1.0;
        }
        run.minuteOps[host] += ops;
        run.minuteNetwork[host] += network;
        run.minuteMigration[host] += migration;
        run.roundMigration[host] += migration;
        run.secondOps[host] = 0.0;
        run.secondNetwork[host] = 0.0;
    }
    if (overloaded)
        run.metrics.overload_s += 1.0;
    return migrating;
}

// The minute that ends at second `boundary` (shorter at the end of the trace).
void Simulator::closeMinute(std::int64_t boundary) {
    const std::int64_t minuteStart = (boundary - 1) / kSecondsPerMinute * kSecondsPerMinute;
    const auto seconds = static_cast<double>(boundary - minuteStart);
    const TimeMs minuteStartMs = timeOfSecond(minuteStart);
    const bool measuring = measured(minuteStart);
    for (PolicyRun& run : m_runs) {
        double total = 0.0;
        double busiest = 0.0;
        bool active = false;
        for (std::size_t host = 0; host < m_hosts; ++host) {
            total += run.minuteOps[host];
            busiest = std::max(busiest, run.minuteOps[host]);
            active = active || run.minuteOps[host] > 0.0 || run.minuteMigration[host] > 0.0 ||
                     run.minuteNetwork[host] > 0.0;
        }
        if (total > 0.0 && measuring)
            run.imbalances.push_back(busiest / (total / static_cast<double>(m_hosts)));
        bool violated = false;
        for (std::size_t host = 0; host < m_hosts; ++host) {
            const double opsPerS = run.minuteOps[host] / seconds;
            const double rho = utilization(opsPerS, run.minuteMigration[host] / seconds,
                                           run.minuteNetwork[host] / seconds);
            const double p99 = latencyAt(rho);
            violated = violated || p99 > m_options.sla_p99_ms;
            if (m_timeline && active)
                m_timeline->hostMinute(run.metrics.name, minuteStartMs, m_cluster.hosts[host].id,
                                       opsPerS, rho, p99);
            run.minuteOps[host] = 0.0;
            run.minuteNetwork[host] = 0.0;
            run.minuteMigration[host] = 0.0;
        }
        if (violated && measuring)
            run.metrics.sla_violation_minutes += 1.0;
    }
    m_minuteHasLoad = false;
}

void Simulator::runRound(TimeMs now) {
    const bool hadEvents = m_roundEvents > 0;
    m_roundEvents = 0;
    m_idleRounds = hadEvents ? 0 : m_idleRounds + 1;
    const bool movesRunning = std::any_of(m_runs.begin(), m_runs.end(),
                                          [](const PolicyRun& run) { return !run.moves.empty(); });
    const bool warmedUp = now - m_start >= m_options.warmup_ms;
    if (warmedUp && (m_idleRounds <= m_options.max_idle_rounds || movesRunning)) {
        const double seconds = static_cast<double>(m_roundSeconds);
        for (std::size_t cell = 0; cell < m_cellRound.size(); ++cell)
            m_cellRates[cell] = m_cellRound[cell] * (1.0 / seconds);
        for (PolicyRun& run : m_runs)
            planAndApply(run, now);
    }
    std::fill(m_cellRound.begin(), m_cellRound.end(), ResourceVector{});
    for (PolicyRun& run : m_runs) {
        std::fill(run.roundLoad.begin(), run.roundLoad.end(), ResourceVector{});
        std::fill(run.roundMigration.begin(), run.roundMigration.end(), 0.0);
    }
}

void Simulator::planAndApply(PolicyRun& run, TimeMs now) {
    const double seconds = static_cast<double>(m_roundSeconds);
    const double migrationOps = m_options.migration_load * m_capacity;
    std::vector<ResourceVector> hostRates(m_hosts);
    ClusterModel cluster = m_cluster;
    for (std::size_t host = 0; host < m_hosts; ++host) {
        hostRates[host] = run.roundLoad[host] * (1.0 / seconds);
        hostRates[host][Resource::Ops] += migrationOps * run.roundMigration[host] / seconds;
    }
    std::vector<InFlightMove> inFlight;
    for (const RunningMove& running : run.moves) {
        inFlight.push_back(running.move);
        cluster.hosts[running.from].background[Resource::Ops] += migrationOps;
        cluster.hosts[running.to].background[Resource::Ops] += migrationOps;
    }
    const RoundObservation observation{now,         m_options.round_ms, m_cells, m_cellRates,
                                       m_cellBytes, run.table,          cluster, hostRates,
                                       inFlight,    run.history};

    const auto began = std::chrono::steady_clock::now();
    const MigrationPlan plan = run.policy->planRound(observation);
    const auto ended = std::chrono::steady_clock::now();
    run.plannerMs.push_back(std::chrono::duration<double, std::milli>(ended - began).count());
    ++run.metrics.rounds;

    bool changed = applySplits(run, plan, now);
    changed = applyMerges(run, plan, now) || changed;
    changed = startMoves(run, plan, now) || changed;
    // Policies' cooldowns read the history too: keep at least two hours.
    run.history.prune(now - std::max(2 * m_options.thrash_window_ms, 2 * kMsPerHour));
    changed = completeMoves(run, now) || changed; // moves of nothing finish at once
    if (changed)
        rebuildRouting(run); // once: nothing above reads the routing
}

void Simulator::record(PolicyRun& run, Decision decision) {
    if (m_timeline)
        m_timeline->decision(run.metrics.name, decision);
    run.metrics.decisions.push_back(std::move(decision));
}

bool Simulator::applySplits(PolicyRun& run, const MigrationPlan& plan, TimeMs now) {
    bool changed = false;
    for (const SplitInstruction& split : plan.splits) {
        const Shard* shard = run.table.shardById(split.shard);
        if (!shard || isMoving(run, shard->range)) {
            ++run.metrics.rejected_instructions;
            continue;
        }
        const KeyRange range = shard->range;
        const HostId owner = shard->owner;
        Result<OwnershipTable> next = run.table.split(split.shard, split.at, split.new_shard);
        if (!next) {
            ++run.metrics.rejected_instructions;
            continue;
        }
        run.table = std::move(next).value();
        changed = true;
        ++run.metrics.splits;
        run.history.recordBoundaryChange({range, now});
        record(run, Decision{now, Decision::Kind::Split, range, owner, owner, 0.0, split.reason,
                             split.at});
    }
    return changed;
}

bool Simulator::applyMerges(PolicyRun& run, const MigrationPlan& plan, TimeMs now) {
    bool changed = false;
    for (const MergeInstruction& merge : plan.merges) {
        const Shard* left = run.table.shardById(merge.left);
        const Shard* right = run.table.shardById(merge.right);
        if (!left || !right || left->owner != right->owner || left->replicas != right->replicas ||
            isMoving(run, left->range) || isMoving(run, right->range)) {
            ++run.metrics.rejected_instructions;
            continue;
        }
        const KeyRange joint{left->range.start, right->range.end};
        const HostId owner = left->owner;
        Result<OwnershipTable> next = run.table.merge(merge.left, merge.right);
        if (!next) {
            ++run.metrics.rejected_instructions;
            continue;
        }
        run.table = std::move(next).value();
        changed = true;
        ++run.metrics.merges;
        run.history.recordBoundaryChange({joint, now});
        record(run,
               Decision{now, Decision::Kind::Merge, joint, owner, owner, 0.0, merge.reason, Key()});
    }
    return changed;
}

bool Simulator::startMoves(PolicyRun& run, const MigrationPlan& plan, TimeMs now) {
    bool changed = false;
    for (const MoveInstruction& instruction : plan.moves) {
        const Shard* shard = run.table.shardById(instruction.shard);
        const std::optional<std::uint32_t> from = hostIndex(instruction.from);
        const std::optional<std::uint32_t> to = hostIndex(instruction.to);
        if (!shard || !from || !to || shard->owner != instruction.from ||
            instruction.to == instruction.from || !run.table.hasHost(instruction.to) ||
            isMoving(run, shard->range)) {
            ++run.metrics.rejected_instructions;
            continue;
        }
        RunningMove running;
        running.from = *from;
        running.to = *to;
        InFlightMove& move = running.move;
        move.shard = shard->id;
        move.range = shard->range;
        move.from = instruction.from;
        move.to = instruction.to;
        move.bytes = rangeBytes(move.range);
        move.started_ms = now;
        move.finishes_ms =
            now + std::llround(move.bytes / m_options.migration_bytes_per_s * kMsPerSecond);

        if (run.history.undoneBy(move.range, move.from, move.to, now, m_options.thrash_window_ms))
            ++run.metrics.thrash_moves;
        run.history.recordMove({move.shard, move.range, move.from, move.to, move.bytes, now});
        ++run.metrics.moves;
        run.metrics.bytes_moved += move.bytes;
        record(run, Decision{now, Decision::Kind::Move, move.range, move.from, move.to, move.bytes,
                             instruction.reason, Key()});
        run.moves.push_back(std::move(running));
        changed = true;
    }
    return changed;
}

bool Simulator::completeMoves(PolicyRun& run, TimeMs now) {
    bool changed = false;
    for (auto it = run.moves.begin(); it != run.moves.end();) {
        if (it->move.finishes_ms > now) {
            ++it;
            continue;
        }
        // Splits and merges of a moving shard are refused, so the shard is still whole.
        Result<OwnershipTable> next = run.table.reassign(it->move.shard, it->move.to);
        if (next)
            run.table = std::move(next).value();
        ++run.metrics.moves_finished;
        if (m_timeline)
            m_timeline->moveFinished(run.metrics.name, it->move);
        it = run.moves.erase(it);
        changed = true;
    }
    return changed;
}

bool Simulator::isMoving(const PolicyRun& run, const KeyRange& range) const {
    return std::any_of(run.moves.begin(), run.moves.end(), [&](const RunningMove& running) {
        return rangesOverlap(running.move.range, range);
    });
}

// The cells whose start lies in the range: a cell straddled by a shard boundary belongs, for
// its bytes, to the shard holding its start.
double Simulator::rangeBytes(const KeyRange& range) const {
    const CellSpan cells = m_cells.cellsStartingIn(range);
    double bytes = 0.0;
    for (CellIndex cell = cells.first; cell < cells.end; ++cell)
        bytes += m_cellBytes[cell];
    return bytes;
}

void Simulator::rebuildRouting(PolicyRun& run) const {
    const std::vector<Shard>& shards = run.table.shards();
    run.shardOwner.assign(shards.size(), 0);
    run.shardDual.assign(shards.size(), kNoHost);
    for (std::size_t i = 0; i < shards.size(); ++i)
        run.shardOwner[i] = static_cast<std::int32_t>(hostIndex(shards[i].owner).value_or(0));
    for (const RunningMove& running : run.moves) {
        if (const Shard* moving = run.table.shardById(running.move.shard))
            run.shardDual[static_cast<std::size_t>(moving - shards.data())] =
                static_cast<std::int32_t>(running.to);
    }
    const std::size_t cellCount = m_cells.size();
    run.cellOwner.assign(cellCount, kStraddled);
    run.cellDual.assign(cellCount, kNoHost);
    std::size_t shard = 0;
    for (std::size_t cell = 0; cell < cellCount; ++cell) {
        const Key& cellStart = m_cells.start(static_cast<CellIndex>(cell));
        while (!shards[shard].range.end.empty() && shards[shard].range.end <= cellStart)
            ++shard;
        const Key& shardEnd = shards[shard].range.end;
        const bool lastCell = cell + 1 == cellCount;
        const bool whole =
            shardEnd.empty() ||
            (!lastCell && shardEnd >= m_cells.start(static_cast<CellIndex>(cell + 1)));
        if (whole && shards[shard].range.start <= cellStart) {
            run.cellOwner[cell] = run.shardOwner[shard];
            run.cellDual[cell] = run.shardDual[shard];
        }
    }
}

SimulationResult Simulator::finish() {
    SimulationResult result;
    result.hosts = m_hosts;
    result.capacity_ops = m_capacity;
    result.start_ms = m_start;
    result.end_ms = m_events > 0 ? m_maxTs + 1 : m_start;
    result.events = m_events;
    result.late_events = m_lateEvents;
    if (m_events > 0)
        closeSecond(true);
    for (PolicyRun& run : m_runs) {
        run.metrics.imbalance_p50 = percentile(run.imbalances, 0.50);
        run.metrics.imbalance_p99 = percentile(run.imbalances, 0.99);
        run.metrics.planner_ms_p99 = percentile(run.plannerMs, 0.99);
        run.metrics.final_shards = run.table.shardCount();
        result.policies.push_back(std::move(run.metrics));
    }
    return result;
}

} // namespace

Result<SimulationLayout> buildInitialLayout(EventSource& trace, const SimulationOptions& options) {
    if (const Status valid = validate(options); !valid)
        return Error{valid.message()};
    Result<WarmupScan> scan = scanTrace(trace, options, false);
    if (!scan)
        return Error{scan.error().message};
    if (!scan->has_events)
        return Error{"the trace has no events"};
    return layoutFrom(*scan, options);
}

Result<SimulationResult> simulate(EventSource& trace, std::span<const PolicySpec> policies,
                                  const SimulationOptions& options, SimulationTimeline* timeline) {
    if (const Status valid = validate(options); !valid)
        return Error{valid.message()};
    for (const PolicySpec& spec : policies) {
        if (!spec.make)
            return Error{"policy '" + spec.name + "' has no factory"};
    }
    const bool autoCapacity = options.capacity_ops == 0.0;
    const bool needsRecorded =
        std::any_of(policies.begin(), policies.end(),
                    [](const PolicySpec& spec) { return spec.needs_recorded_load; });
    // Auto capacity needs the peak minute of the whole trace; the recording pass (if any) finds
    // it, otherwise pass 1 reads to the end for it.
    Result<WarmupScan> scan = scanTrace(trace, options, autoCapacity && !needsRecorded);
    if (!scan)
        return Error{scan.error().message};
    if (!scan->has_events)
        return Error{"the trace has no events"};
    double peakOpsPerS = scan->peak_ops_per_s;
    TimeMs endMs = scan->full ? scan->max_ts + 1 : 0;
    Result<SimulationLayout> layout = layoutFrom(*scan, options);
    if (!layout)
        return Error{layout.error().message};

    std::optional<RecordedCellLoad> recorded;
    if (needsRecorded) {
        Result<RecordedPass> pass = recordLoad(trace, options, *layout, endMs);
        if (!pass)
            return Error{pass.error().message};
        recorded.emplace(std::move(pass->load));
        endMs = pass->max_ts + 1;
        peakOpsPerS = pass->peak_ops_per_s;
    }
    const double capacity =
        autoCapacity ? peakOpsPerS / static_cast<double>(options.hosts) / options.headroom
                     : options.capacity_ops;
    const ClusterModel cluster =
        makeCluster(options.hosts, capacity, options.network_capacity_bytes_per_s);

    Simulator simulator(options, *layout, cluster, timeline);
    for (const PolicySpec& spec : policies) {
        const SimulationSetup setup{layout->cells,
                                    cluster,
                                    layout->table,
                                    options,
                                    layout->start_ms,
                                    endMs,
                                    spec.needs_recorded_load && recorded ? &*recorded : nullptr};
        std::unique_ptr<BalancingPolicy> policy = spec.make(setup);
        if (!policy)
            return Error{"policy '" + spec.name + "': the factory returned no policy"};
        simulator.addPolicy(spec.name, std::move(policy), layout->table);
    }
    const Status replayed =
        trace.replay([&](const TraceEvent& event) { simulator.onEvent(event); });
    if (!replayed)
        return Error{replayed.message()};
    SimulationResult result = simulator.finish();
    result.bad_lines = trace.badLines();
    return result;
}

} // namespace rangepilot
