#include "trace_replay_connector.h"

#include "jump_hash.h"
#include "timestamp.h"

#include <QFileInfo>
#include <QPromise>
#include <QStringList>
#include <QtConcurrentRun>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <unordered_map>
#include <utility>

namespace rangepilot {

namespace {

constexpr std::uint64_t kMinAutoBlockBytes = 1u << 20;
constexpr std::uint64_t kMaxAutoBlocks = 4096;
constexpr std::uint64_t kMinBlockBytes = 64;
constexpr std::size_t kBadLinesShown = 5;
// Smaller traces are read in well under a second: no progress reports, and their signals do not
// depend on how fast the machine reads.
constexpr std::uint64_t kProgressMinBytes = 64u << 20;
constexpr int kProgressStepPercent = 10;
constexpr double kTwoTo64 = 18446744073709551616.0;

ModeledClusterSettings settingsOf(const TraceReplayOptions& options) {
    ModeledClusterSettings settings;
    settings.hosts = options.hosts;
    settings.shards_per_host = options.shards_per_host;
    settings.speed = options.speed;
    settings.step_ms = options.step_ms;
    settings.timer = options.timer;
    settings.capacity_ops = options.capacity_ops;
    settings.headroom = options.headroom;
    settings.migration_load = options.migration_load;
    settings.batch_bytes = options.batch_bytes;
    settings.move = options.move;
    return settings;
}

// The reader's options as the connector uses them: strictness is the connector's (it must name
// the true line, which a range read does not know), and the stop flag is its own.
TraceReadOptions readerOptions(TraceReadOptions options, const std::atomic<bool>* stop) {
    options.strict = false;
    options.stop = stop;
    return options;
}

// A bottom-k sample of the distinct keys: the k keys with the smallest 64-bit hashes, each with
// its stored size. A key's hash never changes and the threshold only falls, so a key in the final
// sample entered it at its first occurrence and saw every later one: its size is exact.
class DistinctKeySample {
public:
    explicit DistinctKeySample(std::size_t capacity)
        : m_capacity(capacity) {}

    void add(const TraceEvent& event) {
        const std::uint64_t hash = hashBytes(event.key);
        if (m_entries.size() == m_capacity && hash > m_entries.rbegin()->first)
            return;
        auto it = m_entries.find(hash);
        if (it == m_entries.end()) {
            // Full: this hash is below the largest kept (an equal one would have been found).
            if (m_entries.size() == m_capacity) {
                m_entries.erase(std::prev(m_entries.end()));
                m_dropped = true;
            }
            it = m_entries.emplace(hash, Entry{Key(event.key)}).first;
        }
        // Two keys with one 64-bit hash share an entry: far too rare to matter for an estimate.
        update(it->second, event);
    }

    bool exact() const { return !m_dropped; }
    // KMV: with k = sample size and h = the largest hash kept (the k-th smallest), about
    // (k - 1) / (h / 2^64) distinct keys.
    double distinctKeys() const {
        if (exact() || m_entries.size() < 2)
            return static_cast<double>(m_entries.size());
        const double largest = static_cast<double>(m_entries.rbegin()->first) / kTwoTo64;
        return static_cast<double>(m_entries.size() - 1) / std::max(largest, 1e-300);
    }

    std::vector<Key> keys() const {
        std::vector<Key> keys;
        keys.reserve(m_entries.size());
        for (const auto& [hash, entry] : m_entries)
            keys.push_back(entry.key);
        return keys;
    }

    // Stored bytes per cell: the sampled keys' sizes, scaled to all distinct keys.
    std::vector<double> bytesPerCell(const KeyCells& cells, double defaultValueBytes) const {
        std::vector<double> bytes(cells.size(), 0.0);
        if (m_entries.empty())
            return bytes;
        const double scale = distinctKeys() / static_cast<double>(m_entries.size());
        for (const auto& [hash, entry] : m_entries) {
            double stored = entry.size;
            if (entry.state == Entry::State::Unsized)
                stored = defaultValueBytes;
            else if (entry.state == Entry::State::Deleted)
                stored = 0.0;
            bytes[cells.cellOf(entry.key)] += stored * scale;
        }
        return bytes;
    }

private:
    struct Entry {
        enum class State { Unsized, Sized, Deleted };
        Key key;
        State state = State::Unsized;
        double size = 0.0;
    };

    // The value's size as the trace shows it: a put or get with bytes gives it, a put without
    // bytes leaves it unknown (the default), a delete removes the key; scans carry the size of
    // their whole span, not the key's.
    static void update(Entry& entry, const TraceEvent& event) {
        switch (event.op) {
        case Op::Put:
            entry.state = event.bytes > 0 ? Entry::State::Sized : Entry::State::Unsized;
            entry.size = static_cast<double>(event.bytes);
            break;
        case Op::Get:
            if (event.bytes > 0) {
                entry.state = Entry::State::Sized;
                entry.size = static_cast<double>(event.bytes);
            }
            break;
        case Op::Delete:
            entry.state = Entry::State::Deleted;
            entry.size = 0.0;
            break;
        case Op::Scan:
            break;
        }
    }

    std::size_t m_capacity;
    std::map<std::uint64_t, Entry> m_entries; // by hash
    bool m_dropped = false;
};

// Events per minute, for the busiest minute. Memory: one entry per minute the trace touches.
class MinuteCounter {
public:
    void add(TimeMs ts) {
        const std::int64_t minute = floorDiv(ts, kMsPerMinute);
        if (minute != m_current) {
            flush();
            m_current = minute;
        }
        ++m_count;
    }

    std::uint64_t busiest() {
        flush();
        std::uint64_t peak = 0;
        for (const auto& [minute, count] : m_counts)
            peak = std::max(peak, count);
        return peak;
    }

private:
    void flush() {
        if (m_count > 0)
            m_counts[m_current] += m_count;
        m_count = 0;
    }

    std::unordered_map<std::int64_t, std::uint64_t> m_counts;
    std::int64_t m_current = 0;
    std::uint64_t m_count = 0;
};

std::uint64_t blockBytesFor(const TraceReplayOptions& options, std::uint64_t dataBytes) {
    if (options.block_bytes > 0)
        return options.block_bytes;
    return std::max(kMinAutoBlockBytes, (dataBytes + kMaxAutoBlocks - 1) / kMaxAutoBlocks);
}

} // namespace

// A part of the file in the index: the lines that start in `bytes`.
struct TraceBlock {
    ByteRange bytes;
    std::uint64_t events = 0;
    TimeMs min_ts = 0; // valid when events > 0
    TimeMs max_ts = 0;
};

struct TracePreparation {
    std::string error; // set: preparing failed
    std::optional<TraceReader> reader;
    TraceLayout layout;
    std::uint64_t file_bytes = 0;
    std::vector<TraceBlock> blocks;
    TraceReplayStats stats;
    std::vector<std::string> bad_lines; // the first few, "FILE:LINE: reason"
    KeyCells cells;
    std::vector<double> cell_bytes;
};

namespace {

// The most blocks whose [min_ts, max_ts] share one instant: how many a step may have to read.
std::size_t maxOverlappingBlocks(const std::vector<TraceBlock>& blocks) {
    enum Edge {
        Opens,
        Closes
    }; // at equal times a block opens before another closes: closed
       // time ranges that touch share that instant
    std::vector<std::pair<TimeMs, Edge>> edges;
    for (const TraceBlock& block : blocks) {
        if (block.events == 0)
            continue;
        edges.emplace_back(block.min_ts, Opens);
        edges.emplace_back(block.max_ts, Closes);
    }
    std::sort(edges.begin(), edges.end());
    std::size_t open = 0;
    std::size_t most = 0;
    for (const auto& [time, edge] : edges) {
        if (edge == Opens)
            most = std::max(most, ++open);
        else
            --open;
    }
    return most;
}

// The pass that prepares a replay (runs on a worker thread; touches nothing of the connector).
void prepareTrace(QPromise<std::shared_ptr<TracePreparation>>& promise, TraceReplayOptions options,
                  std::shared_ptr<std::atomic<bool>> stop) {
    auto prepared = std::make_shared<TracePreparation>();
    const auto finish = [&](std::string error) {
        prepared->error = std::move(error);
        promise.addResult(prepared);
    };
    Result<TraceReader> opened =
        TraceReader::open(options.path, readerOptions(options.read, stop.get()));
    if (!opened)
        return finish(opened.error().message);
    const std::string name = opened->displayName();
    if (!opened->seekable())
        return finish(name + ": trace replay needs a regular file (it reads the trace in parts)");
    Result<TraceLayout> layout = opened->layout();
    if (!layout)
        return finish(layout.error().message);
    const std::uint64_t size = opened->sizeBytes();
    if (size == 0)
        return finish(name + ": the trace is empty");

    const std::uint64_t dataBegin = std::min(layout->data_begin, size);
    const std::uint64_t blockBytes = blockBytesFor(options, size - dataBegin);
    const bool reportProgress = size >= kProgressMinBytes;
    if (reportProgress)
        promise.setProgressRange(0, 100);

    TraceReplayStats& stats = prepared->stats;
    stats.lines = layout->header_lines;
    stats.block_bytes = blockBytes;
    DistinctKeySample sample(options.key_sample);
    MinuteCounter minutes;
    std::optional<TimeMs> previous;
    TimeMs latest = 0;
    std::optional<std::string> strictError;
    std::uint64_t lineBase = layout->header_lines;
    int reportedPercent = 0;

    const auto onEvent = [&](const TraceEvent& event) {
        if (previous && event.ts_ms < *previous)
            ++stats.out_of_order_events;
        latest = previous ? std::max(latest, event.ts_ms) : event.ts_ms;
        stats.max_lateness_ms = std::max(stats.max_lateness_ms, latest - event.ts_ms);
        previous = event.ts_ms;
        minutes.add(event.ts_ms);
        sample.add(event);
    };
    const auto onBadLine = [&](const BadLine& bad) {
        BadLine located = bad;
        located.line = lineBase + bad.line;
        if (options.read.strict && !strictError) {
            strictError = formatBadLine(located);
            stop->store(true);
        }
        if (prepared->bad_lines.size() < kBadLinesShown)
            prepared->bad_lines.push_back(formatBadLine(located));
    };
    for (std::uint64_t begin = dataBegin; begin < size; begin += blockBytes) {
        const ByteRange range{begin, std::min(size, begin + blockBytes)};
        Result<TraceReadSummary> read = opened->readRange(*layout, range, onEvent, onBadLine);
        if (strictError)
            return finish(*strictError);
        if (stop->load())
            return finish(name + ": cancelled");
        if (!read)
            return finish(read.error().message);
        TraceBlock block{range, read->events, read->min_ts, read->max_ts};
        if (block.events > 0) {
            stats.first_event_ms =
                stats.events == 0 ? block.min_ts : std::min(stats.first_event_ms, block.min_ts);
            stats.last_event_ms =
                stats.events == 0 ? block.max_ts : std::max(stats.last_event_ms, block.max_ts);
        }
        stats.events += read->events;
        stats.bad_lines += read->bad_lines;
        stats.lines += read->lines;
        lineBase += read->lines;
        prepared->blocks.push_back(block);
        const int percent = static_cast<int>(100 * (range.end - dataBegin) / (size - dataBegin));
        if (reportProgress && percent >= reportedPercent + kProgressStepPercent) {
            reportedPercent = percent - percent % kProgressStepPercent;
            promise.setProgressValue(reportedPercent);
        }
    }
    if (stats.events == 0) {
        std::string detail = std::to_string(stats.lines) + " line" + (stats.lines == 1 ? "" : "s");
        if (stats.bad_lines > 0)
            detail += ", " + std::to_string(stats.bad_lines) +
                      " bad (first: " + prepared->bad_lines.front() + ")";
        return finish(name + ": the trace has no events (" + detail + ")");
    }

    stats.blocks = prepared->blocks.size();
    stats.max_overlapping_blocks = maxOverlappingBlocks(prepared->blocks);
    stats.distinct_keys = sample.distinctKeys();
    stats.distinct_keys_exact = sample.exact();
    // A trace shorter than a minute: its busiest minute is the whole trace, over its own length.
    const double spanS = std::max(
        1.0, static_cast<double>(stats.last_event_ms + 1 - stats.first_event_ms) / kMsPerSecond);
    stats.peak_events_per_s =
        static_cast<double>(minutes.busiest()) / std::min(spanS, kMsPerMinute / 1000.0);
    prepared->cells = KeyCells::fromSample(sample.keys(), options.cells);
    prepared->cell_bytes = sample.bytesPerCell(prepared->cells, options.default_value_bytes);
    prepared->layout = *layout;
    prepared->file_bytes = size;
    prepared->reader.emplace(std::move(opened).value());
    finish({});
}

} // namespace

// The indexed trace as an event source: the events of a span are those of the blocks whose time
// range meets it, decoded (sorted by time) and cached.
class TraceBlockSource : public ClusterEventSource {
public:
    TraceBlockSource(TraceReader reader, TraceLayout layout, std::uint64_t fileBytes,
                     std::vector<TraceBlock> blocks, std::uint64_t cacheBytes)
        : m_reader(std::move(reader))
        , m_layout(std::move(layout))
        , m_fileBytes(fileBytes)
        , m_blocks(std::move(blocks))
        , m_cacheBytes(cacheBytes) {}

    Result<std::uint64_t> eventsIn(TimeMs start, TimeMs end, EventCallback onEvent) override {
        std::uint64_t count = 0;
        for (std::size_t index = 0; index < m_blocks.size(); ++index) {
            const TraceBlock& block = m_blocks[index];
            if (block.events == 0 || block.min_ts >= end || block.max_ts < start)
                continue;
            Result<const Decoded*> decoded = decode(index);
            if (!decoded)
                return decoded.error();
            count += (*decoded)->deliver(start, end, onEvent);
            trimCache();
        }
        return count;
    }

private:
    struct StoredEvent {
        TimeMs ts_ms = 0;
        std::size_t key_offset = 0;
        std::uint32_t key_size = 0;
        Op op = Op::Get;
        std::uint64_t bytes = 0;
        std::uint64_t latency_us = 0;
    };

    struct Decoded {
        std::vector<StoredEvent> events; // sorted by time, file order among equal times
        std::string keys;
        std::uint64_t last_use = 0;

        std::uint64_t memoryBytes() const {
            return events.capacity() * sizeof(StoredEvent) + keys.capacity();
        }

        std::uint64_t deliver(TimeMs start, TimeMs end, EventCallback onEvent) const {
            auto it = std::lower_bound(
                events.begin(), events.end(), start,
                [](const StoredEvent& event, TimeMs time) { return event.ts_ms < time; });
            std::uint64_t count = 0;
            TraceEvent event;
            for (; it != events.end() && it->ts_ms < end; ++it) {
                event.ts_ms = it->ts_ms;
                event.key = std::string_view(keys).substr(it->key_offset, it->key_size);
                event.op = it->op;
                event.bytes = it->bytes;
                event.latency_us = it->latency_us;
                onEvent(event);
                ++count;
            }
            return count;
        }
    };

    std::string changed(const std::string& why) const {
        return m_reader.displayName() + " changed since it was indexed (" + why +
               "): open it again for a new replay";
    }

    Result<const Decoded*> decode(std::size_t index) {
        if (const auto cached = m_cache.find(index); cached != m_cache.end()) {
            cached->second.last_use = ++m_uses;
            return &cached->second;
        }
        // A mapped file that shrinks under the reader would kill the process (SIGBUS): look first.
        std::error_code error;
        const std::uintmax_t size = std::filesystem::file_size(m_reader.path(), error);
        if (error || size != m_fileBytes)
            return Error{changed(error ? error.message()
                                       : "its size was " + std::to_string(m_fileBytes) +
                                             " bytes, now " + std::to_string(size))};
        const TraceBlock& block = m_blocks[index];
        Decoded decoded;
        decoded.events.reserve(block.events);
        Result<TraceReadSummary> read =
            m_reader.readRange(m_layout, block.bytes, [&](const TraceEvent& event) {
                decoded.events.push_back(StoredEvent{event.ts_ms, decoded.keys.size(),
                                                     static_cast<std::uint32_t>(event.key.size()),
                                                     event.op, event.bytes, event.latency_us});
                decoded.keys.append(event.key);
            });
        if (!read)
            return read.error();
        if (read->events != block.events)
            return Error{changed("bytes " + std::to_string(block.bytes.begin) + ".." +
                                 std::to_string(block.bytes.end) + " held " +
                                 std::to_string(block.events) + " events, now " +
                                 std::to_string(read->events))};
        const auto earlier = [](const StoredEvent& a, const StoredEvent& b) {
            return a.ts_ms < b.ts_ms;
        };
        if (!std::is_sorted(decoded.events.begin(), decoded.events.end(), earlier))
            std::stable_sort(decoded.events.begin(), decoded.events.end(), earlier);
        decoded.last_use = ++m_uses;
        m_cachedBytes += decoded.memoryBytes();
        return &m_cache.emplace(index, std::move(decoded)).first->second;
    }

    // Least recently used first; the block used last always stays.
    void trimCache() {
        while (m_cachedBytes > m_cacheBytes && m_cache.size() > 1) {
            auto oldest = m_cache.begin();
            for (auto it = m_cache.begin(); it != m_cache.end(); ++it) {
                if (it->second.last_use < oldest->second.last_use)
                    oldest = it;
            }
            m_cachedBytes -= oldest->second.memoryBytes();
            m_cache.erase(oldest);
        }
    }

    TraceReader m_reader;
    TraceLayout m_layout;
    std::uint64_t m_fileBytes = 0;
    std::vector<TraceBlock> m_blocks;
    std::uint64_t m_cacheBytes = 0;
    std::map<std::size_t, Decoded> m_cache; // by block index
    std::uint64_t m_cachedBytes = 0;
    std::uint64_t m_uses = 0;
};

Status validate(const TraceReplayOptions& options) {
    if (options.path.empty())
        return Error{"path is empty: name the trace file"};
    if (options.cells < 1)
        return Error{"cells must be at least 1"};
    if (!(std::isfinite(options.default_value_bytes) && options.default_value_bytes >= 0.0))
        return Error{"default_value_bytes must be >= 0"};
    if (options.key_sample < 2)
        return Error{"key_sample must be at least 2"};
    if (options.block_bytes != 0 && options.block_bytes < kMinBlockBytes)
        return Error{"block_bytes must be 0 (auto) or at least " + std::to_string(kMinBlockBytes)};
    if (options.cache_bytes < 1)
        return Error{"cache_bytes must be at least 1"};
    return validate(settingsOf(options));
}

TraceReplayConnector::TraceReplayConnector(TraceReplayOptions options, QObject* parent)
    : ModeledClusterConnector(settingsOf(options), parent)
    , m_options(std::move(options)) {}

TraceReplayConnector::~TraceReplayConnector() {
    cancelPreparing();
    // The pass reads nothing of ours, but it should not outlive the connector that asked for it.
    m_preparing.waitForFinished();
}

QString TraceReplayConnector::fileName() const {
    return QFileInfo(QString::fromStdString(m_options.path)).fileName();
}

QString TraceReplayConnector::name() const {
    return QStringLiteral("trace replay: ") + fileName();
}

QString TraceReplayConnector::endedDetail() const {
    return QStringLiteral("the trace ended (last event at %1)")
        .arg(QString::fromStdString(formatIso8601(m_stats.last_event_ms)));
}

void TraceReplayConnector::fail(const QString& message) {
    setState(ConnectorState::Failed, message);
    Q_EMIT errorOccurred(message);
}

void TraceReplayConnector::cancelPreparing() {
    if (m_cancel)
        m_cancel->store(true);
    ++m_generation; // whatever the pass still delivers is dropped
}

void TraceReplayConnector::start() {
    if (live() || state() == ConnectorState::Starting)
        return;
    if (prepared()) {
        if (clusterTime() >= endMs()) {
            setState(ConnectorState::Stopped,
                     QStringLiteral("the trace has ended: seek back to replay it again"));
            return;
        }
        setState(ConnectorState::Starting, name());
        publishAndRun();
        return;
    }
    if (const Status valid = validate(m_options); !valid) {
        fail(QStringLiteral("trace replay: ") + QString::fromStdString(valid.message()));
        return;
    }
    setState(ConnectorState::Starting,
             QStringLiteral("reading %1").arg(QString::fromStdString(m_options.path)));
    const std::uint64_t generation = ++m_generation;
    m_cancel = std::make_shared<std::atomic<bool>>(false);
    auto* watcher = new QFutureWatcher<std::shared_ptr<TracePreparation>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this,
            [this, generation, watcher] { onPrepared(generation, watcher); });
    // The watcher also reports 0 at the start and the end; only the pass's own steps count.
    connect(watcher, &QFutureWatcherBase::progressValueChanged, this,
            [this, generation, watcher](int percent) {
                const bool stepOfThePass =
                    watcher->progressMaximum() == 100 && percent > 0 && percent < 100;
                if (stepOfThePass && generation == m_generation &&
                    state() == ConnectorState::Starting)
                    setState(ConnectorState::Starting,
                             QStringLiteral("reading %1: %2%").arg(fileName()).arg(percent));
            });
    m_preparing = QtConcurrent::run(prepareTrace, m_options, m_cancel);
    watcher->setFuture(m_preparing);
}

void TraceReplayConnector::stop() {
    if (state() == ConnectorState::Starting)
        cancelPreparing();
    ModeledClusterConnector::stop();
}

void TraceReplayConnector::onPrepared(std::uint64_t generation,
                                      QFutureWatcher<std::shared_ptr<TracePreparation>>* watcher) {
    watcher->deleteLater();
    if (generation != m_generation || state() != ConnectorState::Starting)
        return; // stopped, or started again, since this pass began
    const QFuture<std::shared_ptr<TracePreparation>> future = watcher->future();
    if (future.resultCount() == 0 || !future.result()) {
        fail(QString::fromStdString(m_options.path) + QStringLiteral(": preparing failed"));
        return;
    }
    std::shared_ptr<TracePreparation> prepared = future.result();
    if (!prepared->error.empty()) {
        fail(QString::fromStdString(prepared->error));
        return;
    }
    publishPrepared(*prepared);
}

// The model from what the pass found; then the warnings, once, and Running.
void TraceReplayConnector::publishPrepared(TracePreparation& prepared) {
    m_stats = prepared.stats;
    const double spanS =
        std::max(1.0, static_cast<double>(m_stats.last_event_ms + 1 - m_stats.first_event_ms) /
                          kMsPerSecond);
    ClusterModelInput input;
    input.cells = std::move(prepared.cells);
    input.cell_bytes = std::move(prepared.cell_bytes);
    input.mean_events_per_s = static_cast<double>(m_stats.events) / spanS;
    input.peak_events_per_s = m_stats.peak_events_per_s;
    const TimeMs step = settings().step_ms > 0
                            ? settings().step_ms
                            : autoStepMs(settings().speed, input.mean_events_per_s);
    input.start_ms = floorDiv(m_stats.first_event_ms, step) * step;
    input.end_ms = m_stats.last_event_ms + 1;
    m_blocks = std::make_unique<TraceBlockSource>(std::move(*prepared.reader), prepared.layout,
                                                  prepared.file_bytes, std::move(prepared.blocks),
                                                  m_options.cache_bytes);
    if (const Status built = buildModel(std::move(input), m_blocks.get()); !built) {
        m_blocks.reset();
        fail(QString::fromStdString(m_options.path + ": " + built.message()));
        return;
    }

    const QString path = QString::fromStdString(m_options.path);
    if (m_stats.bad_lines > 0) {
        QStringList first;
        for (const std::string& line : prepared.bad_lines)
            first << QString::fromStdString(line);
        Q_EMIT errorOccurred(QStringLiteral("%1: %2 bad line(s) skipped; first: %3")
                                 .arg(path)
                                 .arg(m_stats.bad_lines)
                                 .arg(first.join(QStringLiteral("; "))));
    }
    const std::uint64_t cachedBlocks =
        std::max<std::uint64_t>(1, m_options.cache_bytes / (2 * m_stats.block_bytes));
    if (m_stats.out_of_order_events > 0 && m_stats.max_overlapping_blocks > cachedBlocks)
        Q_EMIT errorOccurred(
            QStringLiteral("%1 is not sorted by time (an event lies %2 s behind an earlier "
                           "line): the replay stays exact but may reread up to %3 blocks of %4 "
                           "bytes per step")
                .arg(path)
                .arg(static_cast<double>(m_stats.max_lateness_ms) / kMsPerSecond)
                .arg(m_stats.max_overlapping_blocks)
                .arg(m_stats.block_bytes));
    publishAndRun();
}

Status TraceReplayConnector::seek(TimeMs t) {
    if (!prepared())
        return Error{"cannot seek: " + m_options.path + " is not prepared yet (start() first)"};
    const TimeMs target = std::clamp(t, startMs(), endMs());
    if (target == clusterTime())
        return Status::success();
    jumpTo(target,
           QStringLiteral("replay seeked to ") + QString::fromStdString(formatIso8601(target)));
    return Status::success();
}

} // namespace rangepilot
