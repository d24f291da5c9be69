#pragma once

// Synthetic query workloads with a known ground truth, for the analyzer and forecaster now and
// the cluster simulator later. Each scenario is a load pattern a range-sharded store meets in
// production: a daily cycle, a hot range drifting predictably, one range growing for days, a
// daily flash crowd, a hot spot that jumps without pattern.
//
// Model. Event times are a Poisson process whose rate follows the scenario: each second gets a
// Poisson(rate) count spread uniformly over its milliseconds. Rates carry realistic noise (a
// minute-scale AR(1) factor of about 5%, mean 1) and are scaled so that the average over the
// trace is rate_eps. Keys are `key_prefix` + a fixed-width decimal index in [0, key_count), so
// lexicographic order is numeric order and "key fraction" x = index / key_count. Background keys
// are Zipf(zipf_s) ranks scattered over the key space by a seeded permutation (so the hottest keys
// are far apart), except in `uniform`. A scenario may add a special range, drawn uniformly inside
// it with a time-varying share of the events. Ops are about 80% get, 17% put, 1% delete, 2% scan
// (end_key a few keys later); bytes are a per-key lognormal value size around 1 KiB (puts larger,
// scans the sum of their span, deletes 0); latency is lognormal around a few hundred microseconds,
// higher for scans and under load.
//
// Invariants: the stream is a pure function of the options (same options and seed, same events,
// on every platform; see random.h for the one caveat); timestamps are integer ms, non-decreasing,
// within [start_ms, endMs()). The ground-truth queries (rateAt, densityAt, shareAt, specialRangeAt)
// are the scenario's intended values without the noise, defined for any t (also beyond the trace,
// for judging forecasts).
//
// Cost: O(1) memory in the trace length and key count (about 30 KiB: the 1024 hottest background
// keys, a millisecond histogram for the current second, lookup tables) and O(1) work per event,
// roughly 100 ns in a Release build. The ground-truth queries are O(log 1024), except in
// random-jumps where they replay the jumps since the start (a dozen per simulated day).

#include "result.h"
#include "time_ms.h"
#include "trace_event.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rangepilot {

class TraceCsvWriter;

enum class Scenario {
    Uniform,      // uniform keys, constant rate
    Diurnal,      // a daily cycle (peak 19:30 UTC, peak / trough about 3.5) over Zipf keys
    HotspotDrift, // diurnal + a 3% range with 35% of the events, sweeping the key space daily
    Growth,       // diurnal + a 4% range whose share grows linearly from 2% to 40% over the trace
    FlashCrowd,   // diurnal + daily at 20:00 UTC a 2% range at 10x its rate for ~30 minutes
    RandomJumps,  // diurnal + a 3% range with 35% that jumps anywhere after gaps of about 2 h
};

// "uniform", "diurnal", "hotspot-drift", "growth", "flash-crowd", "random-jumps".
std::string_view scenarioName(Scenario scenario);

// The names above, case-insensitive; '_' is accepted for '-'.
std::optional<Scenario> parseScenario(std::string_view text);

std::vector<Scenario> allScenarios();

// 2026-01-05T00:00:00Z, a Monday.
inline constexpr TimeMs kDefaultWorkloadStartMs = 1'767'571'200'000;

struct WorkloadOptions {
    Scenario scenario = Scenario::Diurnal;
    double hours = 24;                         // --hours, (0, 8784]
    std::uint64_t seed = 1;                    // --seed
    double rate_eps = 1000;                    // --rate, average events per second over the trace
    TimeMs start_ms = kDefaultWorkloadStartMs; // --start
    std::uint64_t key_count = 1'000'000;       // --keys
    std::string key_prefix = "user";           // --key-prefix
    double zipf_s = 0.99;                      // --zipf, the background's Zipf exponent
    std::uint32_t client_count = 16;           // --clients, names "client-0".."client-<n-1>"
};

// The first problem with the options, worded for the CLI ("--rate must be > 0").
Status validate(const WorkloadOptions& options);

// A part of the key space in key fractions: [start, start + width), wrapping past 1 to 0 (a
// drifting range crosses the end of the key space). `share` is the fraction of all events the
// scenario sends into it on purpose, on top of what the background puts there.
struct SpecialRange {
    double start = 0;
    double width = 0;
    double share = 0;

    bool contains(double fraction) const;
    // Length of the overlap with [from, to), 0 <= from <= to <= 1.
    double overlap(double from, double to) const;
};

class WorkloadGenerator {
public:
    // Options that fail validate() give an empty stream; status() says why, and options() then
    // holds the defaults (with the requested scenario) that the ground truth is computed from.
    // A moved-from generator may only be assigned to or destroyed.
    explicit WorkloadGenerator(WorkloadOptions options);
    ~WorkloadGenerator();
    WorkloadGenerator(WorkloadGenerator&&) noexcept;
    WorkloadGenerator& operator=(WorkloadGenerator&&) noexcept;

    // The next event in time order; false at the end. The event's string views stay valid until
    // the next call.
    bool next(TraceEvent& out);

    const Status& status() const;
    const WorkloadOptions& options() const;
    TimeMs startMs() const;
    TimeMs endMs() const; // exclusive
    std::uint64_t eventsGenerated() const;

    // Ground truth. rateAt: the intended events per second at t. densityAt: the relative density
    // over key fraction x in [0, 1) (integrates to 1), with the background smoothed to its
    // range-scale mean. shareAt: the expected fraction of events with key fraction in [from, to),
    // counting the 1024 hottest background keys where they actually are. specialRangeAt: the
    // scenario's hot, growing, bursting or jumping range (none for uniform and diurnal).
    double rateAt(TimeMs t) const;
    double densityAt(TimeMs t, double x) const;
    double shareAt(TimeMs t, double from, double to) const;
    std::optional<SpecialRange> specialRangeAt(TimeMs t) const;

    // Key text for an index in [0, key_count], and the index a key fraction falls on.
    std::string keyAt(std::uint64_t index) const;
    std::uint64_t keyIndexAt(double fraction) const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// Generates the workload into `writer` (then flushes it). Returns the number of events written,
// or the validation or I/O error.
Result<std::uint64_t> writeWorkloadCsv(const WorkloadOptions& options, TraceCsvWriter& writer);

} // namespace rangepilot
