#pragma once

// The workload driver behind rangepilot-load: runs operations from a generated scenario or a
// trace against the cluster on N threads, measures them, and optionally proves that no
// acknowledged write was lost (write_ledger.h).
//
// Timing. With a target rate the driver runs an open loop: every operation has an intended start
// time fixed in advance (thread k of N sends operation i at start + (k + i*N) / rate; a trace's
// operations at their scaled timestamps), a thread sleeps until that time when it is early, and
// latency is measured from the intended start, not from when the request was actually sent. That
// is what keeps coordinated omission out of the figures: in a closed loop a 1 s stall delays one
// request by 1 s, and the requests that should have been sent during the stall are never sent, so
// the percentiles barely move; here every operation scheduled during the stall is sent late and
// carries its full wait, so the stall shows in p99 and max as a client arriving at that rate would
// have seen it. Operations still scheduled before the end but never sent (the threads fell too far
// behind) are counted as `unsent`. Without a rate (--rate 0) each thread sends as fast as answers
// come back (closed loop, to find the maximum throughput) and latency is the service time.
//
// Histograms are log-linear: exact below 64 us, then 32 buckets per power of two (each bucket
// within 1/32 = 3.1% of its values), from 1 us to 2^63 us, in a fixed array of 1,920 counters, so
// recording is O(1) without allocation and percentiles are read with at most 3.1% relative error
// (max and mean are exact).
//
// Threads keep their own counters and histograms behind their own mutex (uncontended except when
// the progress line reads them), and the totals are merged at the end.
//
// Ledger files. --verify checks at the end of the same run. --ledger-out saves the ledger and
// --verify-ledger checks a saved one from a later process, with no workload: that separates
// "write" from "check" so that something can happen in between (a node killed and restarted, a
// migration, or, in the e2e test, a key deleted behind the driver's back to prove that the check
// catches a loss).

#include "cluster_client.h"
#include "load_options.h"
#include "trace_event.h"
#include "write_ledger.h"

#include <array>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rangepilot {

class LatencyHistogram {
public:
    static constexpr int kSubBucketBits = 5; // 32 sub-buckets per power of two
    // Exact buckets 0..63, then 32 per power of two up to 2^64 (the last index is 1,919).
    static constexpr std::size_t kBucketCount = (64 - kSubBucketBits + 1) * (1u << kSubBucketBits);

    void record(std::uint64_t micros);
    void merge(const LatencyHistogram& other);
    void clear() { *this = LatencyHistogram(); }

    std::uint64_t count() const { return m_count; }
    std::uint64_t max() const { return m_max; }
    double mean() const;
    // The smallest recorded value v such that a share q of the values is <= v, to within the
    // bucket's width (the bucket's upper bound, capped at max). 0 when empty. q in (0, 1].
    std::uint64_t percentile(double q) const;

    // Bucket arithmetic, exposed for tests: index of a value and the largest value of a bucket.
    static std::size_t bucketOf(std::uint64_t micros);
    static std::uint64_t bucketUpperBound(std::size_t bucket);

private:
    std::array<std::uint64_t, kBucketCount> m_buckets{};
    std::uint64_t m_count = 0;
    std::uint64_t m_max = 0;
    long double m_sum = 0;
};

struct OpKindReport {
    std::uint64_t ok = 0;
    std::uint64_t errors = 0;
    LatencyHistogram latency; // every completed operation, failed ones included
};

struct PreloadReport {
    std::uint64_t keys = 0;
    std::uint64_t ok = 0;
    std::uint64_t errors = 0;
    double seconds = 0;
};

struct TraceFeedReport {
    std::uint64_t events = 0;    // good lines read
    std::uint64_t bad_lines = 0; // skipped by the reader
    std::uint64_t skipped = 0;   // events the driver cannot send (an empty key)
    std::vector<std::string> bad_line_examples;
};

struct LoadReport {
    std::string mode;   // "scenario", "trace" or "verify-ledger"
    std::string source; // the scenario's name or the trace's path
    std::size_t threads = 0;
    double target_rate = 0; // scenario: ops/s; 0 = as fast as possible
    double speed = 0;       // trace: its timing divided by this; 0 = as fast as possible
    double elapsed_s = 0;   // from the first intended start to the last completion

    std::array<OpKindReport, kOpCount> by_op; // indexed by Op
    std::uint64_t unsent = 0;
    std::map<std::string, std::uint64_t> errors_by_status; // status code name -> count
    std::vector<std::string> error_examples;               // the first few messages

    ClientCounters client;
    PreloadReport preload;
    std::optional<TraceFeedReport> trace;
    std::optional<VerifyReport> verify;
    std::string ledger_error; // saving --ledger-out failed

    std::uint64_t ops() const { return ok() + errors(); }
    std::uint64_t ok() const;
    std::uint64_t errors() const;
    double throughput() const { return elapsed_s > 0 ? static_cast<double>(ops()) / elapsed_s : 0; }
    LatencyHistogram allLatency() const;
};

// Runs the workload `options` describes against `client` (preload first when asked), recording
// acknowledged writes in `ledger` when it is not null. Progress lines go to `progress` every
// options.report_every_s. Errors: an unreadable trace.
Result<LoadReport> runWorkload(const LoadOptions& options, ClusterClient& client,
                               WriteLedger* ledger, std::ostream& progress);

// The human-readable summary (several lines, ending with the verify line when there is one).
std::string formatSummary(const LoadReport& report);
// The same figures as one JSON object (the contract tests parse).
std::string formatJson(const LoadReport& report);

// All of rangepilot-load after its flags are parsed: connect, preload, run, save the ledger,
// verify, print. Returns the exit code: 0 ok, 1 runtime failure or verification failed.
int runLoadCommand(const LoadOptions& options, std::ostream& out, std::ostream& err);

} // namespace rangepilot
