#include "load_driver.h"

#include "concurrency.h"
#include "json_writer.h"
#include "random.h"
#include "trace_reader.h"
#include "workload_generator.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <iomanip>
#include <limits>
#include <mutex>
#include <ostream>
#include <sstream>
#include <thread>

namespace rangepilot {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxErrorExamples = 10;
constexpr std::size_t kMaxBadLineExamples = 5;
constexpr std::size_t kTraceQueueCapacity = 4096;
constexpr std::size_t kMaxValueBytes = 16u << 20; // node.proto's value limit
// The scenarios' op mix (workload_generator.h): of the writes, deletes are 1 in 18; of the
// reads, scans are 2 in 82. --write-fraction keeps these proportions inside each side.
constexpr double kDeleteShareOfWrites = 1.0 / 18.0;
constexpr double kScanShareOfReads = 2.0 / 82.0;
// The generator's events per simulated second; the driver takes its keys and ops, not its
// timing (--rate sets that), so this only fixes how fast the scenario's day unfolds per op.
constexpr double kGeneratorRate = 1000;

double secondsBetween(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

std::uint64_t microsBetween(Clock::time_point from, Clock::time_point to) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
    return micros > 0 ? static_cast<std::uint64_t>(micros) : 0;
}

Clock::duration secondsToDuration(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// --- Operations ---

struct PlannedOp {
    Op op = Op::Get;
    Key key;
    Key end_key; // scans; empty = unbounded (the scan limit stops it)
    std::size_t value_bytes = 0;
    std::optional<Clock::time_point> intended; // nullopt: start now (closed loop)
};

// Distinct values without a shared counter: each thread draws from its own generator.
std::string makeValue(std::size_t bytes, Random& random) {
    std::string value(bytes, '\0');
    for (std::size_t offset = 0; offset < bytes; offset += 8) {
        const std::uint64_t word = random.nextU64();
        const std::size_t count = std::min<std::size_t>(8, bytes - offset);
        for (std::size_t i = 0; i < count; ++i)
            value[offset + i] = static_cast<char>(word >> (8 * i));
    }
    return value;
}

WorkloadOptions generatorOptions(const LoadOptions& options, std::uint64_t stream) {
    WorkloadOptions workload;
    workload.scenario = options.scenario;
    workload.seed = Random::forStream(options.seed, stream).nextU64();
    workload.rate_eps = kGeneratorRate;
    workload.key_count = options.keys;
    return workload;
}

// One thread's operations from the scenario generator: its keys and ops, optionally re-drawn
// to --write-fraction. A generator that runs out (after its simulated day) is replaced by the
// next stream.
class ScenarioOps {
public:
    ScenarioOps(const LoadOptions& options, std::size_t thread)
        : m_options(options)
        , m_thread(thread)
        , m_generator(generatorOptions(options, thread * 1'000'003))
        , m_random(Random::forStream(options.seed, 0x5eed0000 + thread)) {}

    Random& random() { return m_random; }

    void next(PlannedOp& planned) {
        TraceEvent event;
        while (!m_generator.next(event)) {
            ++m_restarts;
            m_generator =
                WorkloadGenerator(generatorOptions(m_options, m_thread * 1'000'003 + m_restarts));
        }
        planned.key.assign(event.key);
        planned.end_key.assign(event.end_key);
        planned.op = event.op;
        planned.value_bytes = m_options.value_bytes;
        if (m_options.write_fraction)
            redrawOp(planned, *m_options.write_fraction);
    }

private:
    void redrawOp(PlannedOp& planned, double writeFraction) {
        const Op before = planned.op;
        if (m_random.bernoulli(writeFraction))
            planned.op = m_random.bernoulli(kDeleteShareOfWrites) ? Op::Delete : Op::Put;
        else
            planned.op = m_random.bernoulli(kScanShareOfReads) ? Op::Scan : Op::Get;
        if (planned.op == Op::Scan && before != Op::Scan)
            planned.end_key.clear(); // no end from the generator: scan the next entries
    }

    const LoadOptions& m_options;
    std::size_t m_thread;
    WorkloadGenerator m_generator;
    Random m_random;
    std::uint64_t m_restarts = 0;
};

// Reads a trace on its own thread and hands its operations, with their scaled intended start
// times, to the workers through a bounded queue (the reader waits when the workers fall behind,
// so memory stays bounded whatever the trace's size).
class TraceFeed {
public:
    TraceFeed(const LoadOptions& options, Clock::time_point start,
              std::optional<Clock::time_point> end)
        : m_options(options)
        , m_start(start)
        , m_end(end) {}

    Status open() {
        TraceReadOptions readOptions;
        readOptions.stop = &m_stopReading;
        auto reader = TraceReader::open(m_options.trace, readOptions);
        if (!reader)
            return Error{"--trace: " + reader.error().message};
        m_reader.emplace(std::move(reader.value()));
        return Status::success();
    }

    // The reader thread's body.
    void run() {
        const Result<TraceReadSummary> summary =
            m_reader->read([this](const TraceEvent& event) { accept(event); },
                           [this](const BadLine& bad) {
                               std::lock_guard lock(m_mutex);
                               ++m_report.bad_lines;
                               if (m_report.bad_line_examples.size() < kMaxBadLineExamples)
                                   m_report.bad_line_examples.push_back(formatBadLine(bad));
                           });
        std::lock_guard lock(m_mutex);
        if (!summary)
            m_readError = summary.error().message;
        m_done = true;
        m_changed.notify_all();
    }

    // The next operation; false when the trace is exhausted or the feed stopped.
    bool pop(PlannedOp& planned) {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return !m_queue.empty() || m_done || m_stop.load(); });
        if (m_queue.empty() || m_stop.load())
            return false;
        planned = std::move(m_queue.front());
        m_queue.pop_front();
        m_changed.notify_all();
        return true;
    }

    // Ends the feed (the run is over); returns how many queued operations it dropped.
    std::uint64_t stop() {
        std::lock_guard lock(m_mutex);
        m_stop = true;
        m_stopReading = true;
        const std::uint64_t dropped = m_queue.size();
        m_queue.clear();
        m_changed.notify_all();
        return dropped;
    }

    TraceFeedReport report() const {
        std::lock_guard lock(m_mutex);
        return m_report;
    }
    std::string readError() const {
        std::lock_guard lock(m_mutex);
        return m_readError;
    }

private:
    void accept(const TraceEvent& event) {
        if (m_stopReading.load())
            return;
        PlannedOp planned;
        if (m_options.speed > 0) {
            if (!m_firstTs)
                m_firstTs = event.ts_ms;
            const double offsetMs =
                static_cast<double>(std::max<TimeMs>(0, event.ts_ms - *m_firstTs));
            planned.intended = m_start + secondsToDuration(offsetMs / 1000.0 / m_options.speed);
            if (m_end && *planned.intended >= *m_end) {
                // The rest of the trace lies beyond --duration: read no further, but what is
                // queued still runs.
                m_stopReading = true;
                return;
            }
        }
        std::unique_lock lock(m_mutex);
        ++m_report.events;
        if (event.key.empty()) {
            ++m_report.skipped; // the empty key is a boundary, never a stored key
            return;
        }
        planned.op = event.op;
        planned.key.assign(event.key);
        planned.end_key.assign(event.end_key);
        planned.value_bytes =
            event.bytes > 0
                ? static_cast<std::size_t>(std::min<std::uint64_t>(event.bytes, kMaxValueBytes))
                : m_options.value_bytes;
        m_changed.wait(lock, [&] { return m_queue.size() < kTraceQueueCapacity || m_stop.load(); });
        if (m_stop.load())
            return;
        m_queue.push_back(std::move(planned));
        m_changed.notify_all();
    }

    const LoadOptions& m_options;
    Clock::time_point m_start;
    std::optional<Clock::time_point> m_end;
    std::optional<TraceReader> m_reader;
    std::optional<TimeMs> m_firstTs; // reader thread only

    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<PlannedOp> m_queue;
    std::atomic<bool> m_stop{false};        // the run is over: hand out nothing more
    std::atomic<bool> m_stopReading{false}; // checked by the reader before every line
    bool m_done = false;
    TraceFeedReport m_report;
    std::string m_readError;
};

// --- Accounting ---

struct ThreadStats {
    std::mutex mutex;
    std::array<OpKindReport, kOpCount> byOp;
    LatencyHistogram interval; // since the last progress line, all kinds
    std::uint64_t intervalErrors = 0;
    std::uint64_t unsent = 0;
    std::map<std::string, std::uint64_t> errorsByStatus;
};

// The first messages of each status (a few per status, so that one flood of UNAVAILABLE does not
// hide the single UNAUTHENTICATED that explains it).
class ErrorExamples {
public:
    void add(const std::string& status, const std::string& message) {
        std::lock_guard lock(m_mutex);
        if (m_messages.size() >= kMaxErrorExamples || m_perStatus[status] >= kExamplesPerStatus)
            return;
        ++m_perStatus[status];
        m_messages.push_back(message);
    }
    std::vector<std::string> take() {
        std::lock_guard lock(m_mutex);
        return m_messages;
    }

private:
    static constexpr std::size_t kExamplesPerStatus = 3;
    std::mutex m_mutex;
    std::map<std::string, std::size_t> m_perStatus;
    std::vector<std::string> m_messages;
};

std::string errorStatusName(const CallReport& call) {
    // A failure with an OK code did not come from a node (a scan whose resume key went
    // backwards): the client itself refused to go on.
    return call.code == grpc::StatusCode::OK ? "CLIENT" : statusCodeName(call.code);
}

// What happened to one operation.
struct Outcome {
    bool ok = false;
    CallReport call;
    std::string error;
};

// Runs one operation and records its writes in the ledger (see write_ledger.h for why uncertain
// writes are kept apart).
Outcome execute(const PlannedOp& planned, const LoadOptions& options, ClusterClient& client,
                WriteLedger* ledger, Random& random) {
    Outcome outcome;
    auto recordWrite = [&](const WriteDigest& content, const Result<WriteAck>& ack) {
        if (!ledger)
            return;
        if (ack) {
            ledger->recordAcknowledged(planned.key, content, ack->version);
            if (outcome.call.ambiguous_attempts > 0)
                ledger->recordUncertain(planned.key, content);
        } else if (outcome.call.ambiguous_attempts > 0 || writeMayHaveApplied(outcome.call.code)) {
            ledger->recordUncertain(planned.key, content);
        }
    };
    auto finish = [&](const auto& result) {
        outcome.ok = result.ok();
        if (!outcome.ok)
            outcome.error = result.error().message;
    };
    switch (planned.op) {
    case Op::Get:
        finish(client.get(planned.key, &outcome.call));
        break;
    case Op::Put: {
        const std::string value = makeValue(planned.value_bytes, random);
        const Result<WriteAck> ack = client.put(planned.key, value, &outcome.call);
        recordWrite(WriteDigest::ofValue(value), ack);
        finish(ack);
        break;
    }
    case Op::Delete: {
        const Result<WriteAck> ack = client.remove(planned.key, &outcome.call);
        recordWrite(WriteDigest::deletion(), ack);
        finish(ack);
        break;
    }
    case Op::Scan: {
        KeyRange range{planned.key, planned.end_key};
        if (!range.end.empty() && range.end <= range.start)
            range.end.clear(); // a trace's inverted range: scan forward to the limit instead
        finish(client.scan(range, options.scan_limit, &outcome.call));
        break;
    }
    }
    return outcome;
}

void account(ThreadStats& stats, ErrorExamples& examples, Op op, const Outcome& outcome,
             std::uint64_t micros) {
    std::lock_guard lock(stats.mutex);
    OpKindReport& kind = stats.byOp[static_cast<std::size_t>(op)];
    kind.latency.record(micros);
    stats.interval.record(micros);
    if (outcome.ok) {
        ++kind.ok;
        return;
    }
    ++kind.errors;
    ++stats.intervalErrors;
    const std::string status = errorStatusName(outcome.call);
    ++stats.errorsByStatus[status];
    examples.add(status, outcome.error);
}

// --- The run ---

class WorkloadRun {
public:
    WorkloadRun(const LoadOptions& options, ClusterClient& client, WriteLedger* ledger,
                std::ostream& progress)
        : m_options(options)
        , m_client(client)
        , m_ledger(ledger)
        , m_progress(progress)
        , m_stats(options.threads) {}

    Result<LoadReport> run();

private:
    void preload(LoadReport& report);
    void scenarioWorker(std::size_t thread);
    void traceWorker(std::size_t thread);
    void runOne(std::size_t thread, const PlannedOp& planned, Random& random);
    void reportProgress();
    void progressLoop();
    LoadReport collect() const;

    const LoadOptions& m_options;
    ClusterClient& m_client;
    WriteLedger* m_ledger;
    std::ostream& m_progress;
    std::vector<ThreadStats> m_stats;
    ErrorExamples m_examples;

    Clock::time_point m_start;
    Clock::time_point m_end; // no new operation starts at or after it
    std::unique_ptr<TraceFeed> m_feed;

    std::mutex m_progressMutex;
    std::condition_variable m_progressWake;
    bool m_finished = false;
    Clock::time_point m_lastProgress;
    ClientCounters m_lastCounters;
};

void WorkloadRun::runOne(std::size_t thread, const PlannedOp& planned, Random& random) {
    const Clock::time_point start = planned.intended.value_or(Clock::now());
    const Outcome outcome = execute(planned, m_options, m_client, m_ledger, random);
    account(m_stats[thread], m_examples, planned.op, outcome, microsBetween(start, Clock::now()));
}

void WorkloadRun::scenarioWorker(std::size_t thread) {
    ScenarioOps ops(m_options, thread);
    PlannedOp planned;
    const bool openLoop = m_options.rate > 0;
    // Thread k of N sends op i at start + (k + i*N) / rate: together, evenly spaced at `rate`.
    const double threads = static_cast<double>(m_options.threads);
    for (std::uint64_t i = 0;; ++i) {
        if (openLoop) {
            const double slot = (static_cast<double>(thread) + static_cast<double>(i) * threads);
            planned.intended = m_start + secondsToDuration(slot / m_options.rate);
            if (*planned.intended >= m_end)
                return;
            if (Clock::now() >= m_end) {
                // Too far behind to catch up before the end: the rest of the schedule is unsent.
                const double remaining =
                    secondsBetween(*planned.intended, m_end) * m_options.rate / threads;
                std::lock_guard lock(m_stats[thread].mutex);
                m_stats[thread].unsent += static_cast<std::uint64_t>(std::ceil(remaining));
                return;
            }
            std::this_thread::sleep_until(*planned.intended);
        } else if (Clock::now() >= m_end) {
            return;
        }
        ops.next(planned);
        runOne(thread, planned, ops.random());
    }
}

void WorkloadRun::traceWorker(std::size_t thread) {
    Random random = Random::forStream(m_options.seed, 0x7ace0000 + thread);
    PlannedOp planned;
    while (m_feed->pop(planned)) {
        if (Clock::now() >= m_end) {
            // With trace timing, what was due before the end and never sent is unsent; as fast
            // as possible, the run simply ends.
            const std::uint64_t dropped = m_feed->stop();
            if (planned.intended) {
                std::lock_guard lock(m_stats[thread].mutex);
                m_stats[thread].unsent += 1 + dropped;
            }
            return;
        }
        if (planned.intended)
            std::this_thread::sleep_until(*planned.intended);
        runOne(thread, planned, random);
    }
}

void WorkloadRun::preload(LoadReport& report) {
    if (m_options.preload == 0)
        return;
    // The scenario's own key names, so the run reads what the preload wrote.
    const WorkloadGenerator names(generatorOptions(m_options, 0));
    const Clock::time_point started = Clock::now();
    std::atomic<std::uint64_t> next{0}, ok{0}, errors{0};
    runConcurrently(m_options.threads, [&](std::size_t thread) {
        Random random = Random::forStream(m_options.seed, 0x9e10ad00 + thread);
        PlannedOp planned;
        planned.op = Op::Put;
        planned.value_bytes = m_options.value_bytes;
        for (std::uint64_t index = next++; index < m_options.preload; index = next++) {
            planned.key = names.keyAt(index);
            const Outcome outcome = execute(planned, m_options, m_client, m_ledger, random);
            if (outcome.ok) {
                ++ok;
            } else {
                ++errors;
                m_examples.add(errorStatusName(outcome.call), "preload: " + outcome.error);
            }
        }
    });
    report.preload.keys = m_options.preload;
    report.preload.ok = ok.load();
    report.preload.errors = errors.load();
    report.preload.seconds = secondsBetween(started, Clock::now());
}

std::string formatMillis(std::uint64_t micros) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(micros < 10'000 ? 2 : 1)
        << static_cast<double>(micros) / 1000.0 << " ms";
    return out.str();
}

void WorkloadRun::reportProgress() {
    LatencyHistogram interval;
    std::uint64_t errors = 0;
    std::uint64_t total = 0;
    for (ThreadStats& stats : m_stats) {
        std::lock_guard lock(stats.mutex);
        interval.merge(stats.interval);
        errors += stats.intervalErrors;
        for (const OpKindReport& kind : stats.byOp)
            total += kind.ok + kind.errors;
        stats.interval.clear();
        stats.intervalErrors = 0;
    }
    const Clock::time_point now = Clock::now();
    const double seconds = secondsBetween(m_lastProgress, now);
    m_lastProgress = now;
    const ClientCounters counters = m_client.counters();
    std::ostringstream line;
    line << "[" << std::fixed << std::setprecision(1) << std::setw(6)
         << secondsBetween(m_start, now) << " s] " << total << " ops, " << std::setprecision(0)
         << (seconds > 0 ? static_cast<double>(interval.count()) / seconds : 0.0) << " ops/s, p50 "
         << formatMillis(interval.percentile(0.5)) << ", p99 "
         << formatMillis(interval.percentile(0.99)) << ", errors " << errors << ", retries "
         << counters.retries - m_lastCounters.retries << ", refreshes "
         << counters.table_refreshes - m_lastCounters.table_refreshes << ", epoch "
         << counters.table_epoch << "\n";
    m_lastCounters = counters;
    m_progress << line.str() << std::flush;
}

void WorkloadRun::progressLoop() {
    const auto every = secondsToDuration(m_options.report_every_s);
    std::unique_lock lock(m_progressMutex);
    for (;;) {
        if (m_progressWake.wait_for(lock, every, [&] { return m_finished; }))
            return;
        lock.unlock();
        reportProgress();
        lock.lock();
    }
}

LoadReport WorkloadRun::collect() const {
    LoadReport report;
    for (const ThreadStats& stats : m_stats) {
        for (std::size_t op = 0; op < report.by_op.size(); ++op) {
            report.by_op[op].ok += stats.byOp[op].ok;
            report.by_op[op].errors += stats.byOp[op].errors;
            report.by_op[op].latency.merge(stats.byOp[op].latency);
        }
        report.unsent += stats.unsent;
        for (const auto& [status, count] : stats.errorsByStatus)
            report.errors_by_status[status] += count;
    }
    return report;
}

Result<LoadReport> WorkloadRun::run() {
    LoadReport preloaded;
    preload(preloaded);

    const bool trace = !m_options.trace.empty();
    m_start = Clock::now();
    m_end = m_options.duration_s > 0 ? m_start + secondsToDuration(m_options.duration_s)
                                     : Clock::time_point::max();
    m_lastProgress = m_start;
    m_lastCounters = m_client.counters();
    std::thread feedThread;
    if (trace) {
        m_feed = std::make_unique<TraceFeed>(
            m_options, m_start, m_options.duration_s > 0 ? std::optional(m_end) : std::nullopt);
        if (Status opened = m_feed->open(); !opened)
            return Error{opened.message()};
        feedThread = std::thread([this] { m_feed->run(); });
    }
    std::thread progressThread;
    if (m_options.report_every_s > 0)
        progressThread = std::thread([this] { progressLoop(); });

    runConcurrently(m_options.threads, [&](std::size_t thread) {
        if (trace)
            traceWorker(thread);
        else
            scenarioWorker(thread);
    });
    const Clock::time_point finished = Clock::now();

    if (feedThread.joinable()) {
        m_feed->stop();
        feedThread.join();
    }
    if (progressThread.joinable()) {
        {
            std::lock_guard lock(m_progressMutex);
            m_finished = true;
        }
        m_progressWake.notify_all();
        progressThread.join();
    }
    if (trace && !m_feed->readError().empty())
        return Error{"--trace: " + m_feed->readError()};

    LoadReport report = collect();
    report.mode = trace ? "trace" : "scenario";
    report.source = trace ? m_options.trace : std::string(scenarioName(m_options.scenario));
    report.threads = m_options.threads;
    report.target_rate = trace ? 0 : m_options.rate;
    report.speed = trace ? m_options.speed : 0;
    report.elapsed_s = secondsBetween(m_start, finished);
    report.preload = preloaded.preload;
    report.error_examples = m_examples.take();
    report.client = m_client.counters();
    if (trace)
        report.trace = m_feed->report();
    return report;
}

// --- Output ---

void writeLatency(JsonWriter& json, const OpKindReport& kind) {
    const LatencyHistogram& latency = kind.latency;
    json.beginObject()
        .field("count", latency.count())
        .field("ok", kind.ok)
        .field("errors", kind.errors)
        .field("p50_us", latency.percentile(0.5))
        .field("p90_us", latency.percentile(0.9))
        .field("p99_us", latency.percentile(0.99))
        .field("p999_us", latency.percentile(0.999))
        .field("max_us", latency.max())
        .field("mean_us", latency.mean())
        .endObject();
}

void writeVerify(JsonWriter& json, const VerifyReport& verify) {
    json.beginObject()
        .field("keys", verify.keys)
        .field("ok", verify.ok)
        .field("lost", verify.lost)
        .field("stale", verify.stale)
        .field("unreadable", verify.unreadable)
        .field("skipped", verify.skipped)
        .field("passed", verify.passed());
    json.key("problems").beginArray();
    for (const VerifyProblem& problem : verify.examples) {
        json.beginObject()
            .field("key", formatKey(problem.key))
            .field("verdict", std::string_view(verdictName(problem.verdict)))
            .field("detail", std::string_view(problem.detail))
            .endObject();
    }
    json.endArray().endObject();
}

std::string percentileLine(const char* name, const OpKindReport& kind) {
    std::ostringstream line;
    const LatencyHistogram& latency = kind.latency;
    line << "  " << std::left << std::setw(7) << name << std::right << std::setw(10)
         << latency.count() << " ops";
    if (kind.errors > 0)
        line << " (" << kind.errors << " errors)";
    line << "  p50 " << formatMillis(latency.percentile(0.5)) << "  p90 "
         << formatMillis(latency.percentile(0.9)) << "  p99 "
         << formatMillis(latency.percentile(0.99)) << "  p99.9 "
         << formatMillis(latency.percentile(0.999)) << "  max " << formatMillis(latency.max())
         << "\n";
    return line.str();
}

} // namespace

// --- LatencyHistogram ---

std::size_t LatencyHistogram::bucketOf(std::uint64_t micros) {
    constexpr std::uint64_t kExact = 2u << kSubBucketBits; // 64: one bucket per value below
    if (micros < kExact)
        return static_cast<std::size_t>(micros);
    const int highestBit = 63 - std::countl_zero(micros);
    const int shift = highestBit - kSubBucketBits; // >= 1
    // (micros >> shift) lies in [32, 64): the sub-bucket within this power of two.
    return static_cast<std::size_t>(shift) * (1u << kSubBucketBits) +
           static_cast<std::size_t>(micros >> shift);
}

std::uint64_t LatencyHistogram::bucketUpperBound(std::size_t bucket) {
    constexpr std::size_t kExact = 2u << kSubBucketBits;
    if (bucket < kExact)
        return bucket;
    const std::size_t shift = bucket / (1u << kSubBucketBits) - 1;
    const std::uint64_t subBucket = bucket % (1u << kSubBucketBits) + (1u << kSubBucketBits);
    // For the last bucket this wraps to 2^64 - 1, which is exactly its upper bound.
    return ((subBucket + 1) << shift) - 1;
}

void LatencyHistogram::record(std::uint64_t micros) {
    ++m_buckets[bucketOf(micros)];
    ++m_count;
    m_max = std::max(m_max, micros);
    m_sum += static_cast<long double>(micros);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < kBucketCount; ++i)
        m_buckets[i] += other.m_buckets[i];
    m_count += other.m_count;
    m_max = std::max(m_max, other.m_max);
    m_sum += other.m_sum;
}

double LatencyHistogram::mean() const {
    return m_count == 0 ? 0.0 : static_cast<double>(m_sum / static_cast<long double>(m_count));
}

std::uint64_t LatencyHistogram::percentile(double q) const {
    if (m_count == 0)
        return 0;
    const double wanted = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(m_count));
    const std::uint64_t rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted));
    std::uint64_t seen = 0;
    for (std::size_t bucket = 0; bucket < kBucketCount; ++bucket) {
        seen += m_buckets[bucket];
        if (seen >= rank)
            return std::min(bucketUpperBound(bucket), m_max);
    }
    return m_max;
}

// --- LoadReport ---

std::uint64_t LoadReport::ok() const {
    std::uint64_t total = 0;
    for (const OpKindReport& kind : by_op)
        total += kind.ok;
    return total;
}

std::uint64_t LoadReport::errors() const {
    std::uint64_t total = 0;
    for (const OpKindReport& kind : by_op)
        total += kind.errors;
    return total;
}

LatencyHistogram LoadReport::allLatency() const {
    LatencyHistogram all;
    for (const OpKindReport& kind : by_op)
        all.merge(kind.latency);
    return all;
}

Result<LoadReport> runWorkload(const LoadOptions& options, ClusterClient& client,
                               WriteLedger* ledger, std::ostream& progress) {
    WorkloadRun run(options, client, ledger, progress);
    return run.run();
}

std::string formatSummary(const LoadReport& report) {
    std::ostringstream out;
    if (report.mode != "verify-ledger") {
        out << "rangepilot-load: " << report.mode << " " << report.source << ", " << report.threads
            << " threads, ";
        if (report.target_rate > 0)
            out << "target " << report.target_rate << " ops/s";
        else if (report.speed > 0)
            out << "trace timing at " << report.speed << "x";
        else
            out << "as fast as possible";
        out << "\n";
        if (report.preload.keys > 0) {
            out << "  preload " << report.preload.ok << " of " << report.preload.keys << " keys in "
                << std::fixed << std::setprecision(1) << report.preload.seconds << " s ("
                << report.preload.errors << " errors)\n";
        }
        out << std::fixed << std::setprecision(1) << "  " << report.ops() << " ops in "
            << report.elapsed_s << " s: " << std::setprecision(0) << report.throughput()
            << " ops/s, ok " << report.ok() << ", errors " << report.errors();
        if (report.unsent > 0)
            out << ", unsent " << report.unsent << " (behind schedule at the end)";
        out << "\n";
        for (int op = 0; op < kOpCount; ++op) {
            const OpKindReport& kind = report.by_op[static_cast<std::size_t>(op)];
            if (kind.latency.count() > 0)
                out << percentileLine(std::string(opName(static_cast<Op>(op))).c_str(), kind);
        }
        OpKindReport all;
        all.latency = report.allLatency();
        all.errors = report.errors();
        out << percentileLine("all", all);
        out << "  retries " << report.client.retries << " (stale epoch "
            << report.client.stale_epoch_retries << ", unavailable "
            << report.client.unavailable_retries << "), table refreshes "
            << report.client.table_refreshes << ", epoch " << report.client.table_epoch << "\n";
        if (!report.errors_by_status.empty()) {
            out << "  errors by status:";
            for (const auto& [status, count] : report.errors_by_status)
                out << " " << status << " " << count;
            out << "\n";
            for (const std::string& example : report.error_examples)
                out << "    " << example << "\n";
        }
        if (report.trace) {
            out << "  trace: " << report.trace->events << " events, " << report.trace->bad_lines
                << " bad lines, " << report.trace->skipped << " skipped\n";
            for (const std::string& bad : report.trace->bad_line_examples)
                out << "    " << bad << "\n";
        }
    }
    if (!report.ledger_error.empty())
        out << "  ledger: " << report.ledger_error << "\n";
    if (report.verify) {
        out << formatVerifyLine(*report.verify) << "\n";
        for (const VerifyProblem& problem : report.verify->examples) {
            out << "  " << verdictName(problem.verdict) << " " << formatKey(problem.key) << ": "
                << problem.detail << "\n";
        }
    }
    return out.str();
}

std::string formatJson(const LoadReport& report) {
    JsonWriter json;
    json.beginObject()
        .field("mode", std::string_view(report.mode))
        .field("source", std::string_view(report.source))
        .field("threads", report.threads)
        .field("target_rate", report.target_rate)
        .field("speed", report.speed)
        .field("elapsed_s", report.elapsed_s)
        .field("ops", report.ops())
        .field("ok", report.ok())
        .field("errors", report.errors())
        .field("unsent", report.unsent)
        .field("throughput_ops_s", report.throughput());
    json.key("latency").beginObject();
    for (int op = 0; op < kOpCount; ++op) {
        json.key(opName(static_cast<Op>(op)));
        writeLatency(json, report.by_op[static_cast<std::size_t>(op)]);
    }
    OpKindReport all;
    all.latency = report.allLatency();
    all.ok = report.ok();
    all.errors = report.errors();
    json.key("all");
    writeLatency(json, all);
    json.endObject();
    json.key("errors_by_status").beginObject();
    for (const auto& [status, count] : report.errors_by_status)
        json.field(status, count);
    json.endObject();
    json.key("error_examples").beginArray();
    for (const std::string& example : report.error_examples)
        json.value(example);
    json.endArray();
    json.field("retries", report.client.retries)
        .field("stale_epoch_retries", report.client.stale_epoch_retries)
        .field("unavailable_retries", report.client.unavailable_retries)
        .field("table_fetches", report.client.table_fetches)
        .field("table_refreshes", report.client.table_refreshes)
        .field("table_epoch", report.client.table_epoch);
    json.key("preload")
        .beginObject()
        .field("keys", report.preload.keys)
        .field("ok", report.preload.ok)
        .field("errors", report.preload.errors)
        .field("seconds", report.preload.seconds)
        .endObject();
    json.key("trace");
    if (report.trace) {
        json.beginObject()
            .field("events", report.trace->events)
            .field("bad_lines", report.trace->bad_lines)
            .field("skipped", report.trace->skipped)
            .endObject();
    } else {
        json.null();
    }
    json.key("verify");
    if (report.verify)
        writeVerify(json, *report.verify);
    else
        json.null();
    json.field("ledger_error", std::string_view(report.ledger_error));
    json.endObject();
    return json.text() + "\n";
}

// --- The command ---

namespace {

ClusterClientOptions clientOptions(const LoadOptions& options) {
    ClusterClientOptions client;
    client.endpoints = options.nodes;
    client.security = options.security;
    client.call_deadline = std::chrono::milliseconds(
        static_cast<std::int64_t>(std::llround(options.call_timeout_s * 1000)));
    return client;
}

VerifyReport verifyLedger(const WriteLedger& ledger, ClusterClient& client, std::size_t threads) {
    return ledger.verify([&client](const Key& key) { return client.get(key); }, threads);
}

int finish(const LoadOptions& options, const LoadReport& report, std::ostream& out,
           std::ostream& err) {
    if (options.json) {
        out << formatJson(report);
        if (report.verify)
            err << formatVerifyLine(*report.verify) << "\n"; // stdout holds only the JSON
    } else {
        out << formatSummary(report);
    }
    out.flush();
    if (report.verify && !report.verify->passed())
        return 1;
    if (!report.ledger_error.empty())
        return 1;
    if (report.ops() > 0 && report.ok() == 0) {
        err << "rangepilot-load: every operation failed\n";
        return 1;
    }
    return 0;
}

} // namespace

int runLoadCommand(const LoadOptions& options, std::ostream& out, std::ostream& err) {
    // Local inputs first: a missing file should not wait for a cluster to answer.
    std::unique_ptr<WriteLedger> savedLedger;
    if (!options.verify_ledger.empty()) {
        auto loaded = WriteLedger::load(options.verify_ledger);
        if (!loaded) {
            err << "rangepilot-load: --verify-ledger: " << loaded.error().message << "\n";
            return 1;
        }
        savedLedger = std::move(loaded.value());
    }
    if (!options.trace.empty()) {
        if (auto trace = TraceReader::open(options.trace); !trace) {
            err << "rangepilot-load: --trace: " << trace.error().message << "\n";
            return 1;
        }
    }

    auto client = ClusterClient::connect(clientOptions(options));
    if (!client) {
        err << "rangepilot-load: " << client.error().message << "\n";
        return 1;
    }
    if (const std::vector<HostId> unplaced = (*client)->unplacedOwners(); !unplaced.empty()) {
        err << "rangepilot-load: warning: no address known for";
        for (const HostId& host : unplaced)
            err << " " << host;
        err << " (owners in the table; add them to --nodes): their keys will fail\n";
    }

    if (savedLedger) {
        LoadReport report;
        report.mode = "verify-ledger";
        report.source = options.verify_ledger;
        report.threads = options.threads;
        report.verify = verifyLedger(*savedLedger, **client, options.threads);
        report.client = (*client)->counters();
        return finish(options, report, out, err);
    }

    std::unique_ptr<WriteLedger> ledger;
    if (options.verify || !options.ledger_out.empty())
        ledger = std::make_unique<WriteLedger>();
    auto report = runWorkload(options, **client, ledger.get(), err);
    if (!report) {
        err << "rangepilot-load: " << report.error().message << "\n";
        return 1;
    }
    if (!options.ledger_out.empty()) {
        if (Status saved = ledger->save(options.ledger_out); !saved)
            report->ledger_error = saved.message();
    }
    if (options.verify) {
        report->verify = verifyLedger(*ledger, **client, options.threads);
        report->client = (*client)->counters();
    }
    return finish(options, report.value(), out, err);
}

} // namespace rangepilot
