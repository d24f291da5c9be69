#include "baseline_policies.h"
#include "cluster_simulator.h"
#include "recorded_load.h"
#include "workload_generator.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

using namespace rangepilot;

namespace {

QString qs(std::string_view text) {
    return QString::fromStdString(std::string(text));
}

TraceEvent eventAt(TimeMs ts, std::string_view key, Op op = Op::Get, std::uint64_t bytes = 0) {
    TraceEvent event;
    event.ts_ms = ts;
    event.key = key;
    event.op = op;
    event.bytes = bytes;
    return event;
}

// `count` events of `key` spread over the milliseconds of second `second`.
void addSecond(VectorEventSource& source, std::int64_t second, std::string_view key, int count,
               Op op = Op::Get, std::uint64_t bytes = 0) {
    for (int i = 0; i < count; ++i)
        source.add(eventAt(second * kMsPerSecond + i, key, op, bytes));
}

// Small, hand-checkable defaults: fixed capacity, 1-second load window, a 1-second warm-up.
SimulationOptions handOptions() {
    SimulationOptions options;
    options.hosts = 2;
    options.capacity_ops = 10.0;
    options.warmup_ms = 1000;
    options.load_window_ms = 1000;
    options.cells = 64;
    options.shards_per_host = 5;
    options.service_p99_ms = 1.0;
    options.sla_p99_ms = 2.0;
    options.latency_cap_ms = 100.0;
    return options;
}

struct HostMinuteRow {
    std::string policy;
    TimeMs minute_start = 0;
    HostId host;
    double ops_per_s = 0.0;
    double utilization = 0.0;
    double p99_ms = 0.0;
};

class RecordingTimeline : public SimulationTimeline {
public:
    void hostMinute(std::string_view policy, TimeMs minuteStart, const HostId& host, double opsPerS,
                    double utilization, double p99Ms) override {
        rows.push_back({std::string(policy), minuteStart, host, opsPerS, utilization, p99Ms});
    }
    void decision(std::string_view policy, const Decision& decision) override {
        decisions.emplace_back(std::string(policy), decision);
    }
    void moveFinished(std::string_view policy, const InFlightMove& move) override {
        finished.emplace_back(std::string(policy), move);
    }

    const HostMinuteRow* row(std::string_view policy, TimeMs minuteStart,
                             std::string_view host) const {
        for (const HostMinuteRow& row : rows) {
            if (row.policy == policy && row.minute_start == minuteStart && row.host == host)
                return &row;
        }
        return nullptr;
    }

    std::vector<HostMinuteRow> rows;
    std::vector<std::pair<std::string, Decision>> decisions;
    std::vector<std::pair<std::string, InFlightMove>> finished;
};

// What a scripted policy saw in one round.
struct SeenRound {
    TimeMs now = 0;
    std::vector<Shard> shards;
    std::vector<InFlightMove> in_flight;
    std::vector<ResourceVector> host_rates;
    std::vector<ResourceVector> background;
    std::vector<double> cell_data_bytes;
    std::size_t history_moves = 0;
};

using Script = std::function<MigrationPlan(const RoundObservation&, int round)>;

// A policy whose plans the test writes, and which remembers what it observed.
class ScriptedPolicy : public BalancingPolicy {
public:
    ScriptedPolicy(Script script, std::vector<SeenRound>* seen)
        : m_script(std::move(script))
        , m_seen(seen) {}
    std::string_view name() const override { return "scripted"; }
    MigrationPlan planRound(const RoundObservation& observation) override {
        if (m_seen) {
            SeenRound round;
            round.now = observation.now;
            round.shards = observation.table.shards();
            round.in_flight.assign(observation.in_flight.begin(), observation.in_flight.end());
            round.host_rates.assign(observation.host_rates.begin(), observation.host_rates.end());
            for (const Host& host : observation.cluster.hosts)
                round.background.push_back(host.background);
            round.cell_data_bytes.assign(observation.cell_data_bytes.begin(),
                                         observation.cell_data_bytes.end());
            round.history_moves = observation.history.moves().size();
            m_seen->push_back(std::move(round));
        }
        MigrationPlan plan = m_script ? m_script(observation, ++m_round) : MigrationPlan{};
        plan.now = observation.now;
        plan.table_epoch = observation.table.epoch();
        return plan;
    }

private:
    Script m_script;
    std::vector<SeenRound>* m_seen;
    int m_round = 0;
};

PolicySpec scriptedSpec(Script script, std::vector<SeenRound>* seen = nullptr) {
    return {"scripted",
            [script, seen](const SimulationSetup&) {
                return std::make_unique<ScriptedPolicy>(script, seen);
            },
            false};
}

SimulationResult run(EventSource& source, std::vector<PolicySpec> specs,
                     const SimulationOptions& options, SimulationTimeline* timeline = nullptr) {
    Result<SimulationResult> result = simulate(source, specs, options, timeline);
    if (!result)
        qWarning("simulate failed: %s", result.error().message.c_str());
    return result ? std::move(result).value() : SimulationResult{};
}

const PolicyMetrics* metricsOf(const SimulationResult& result, std::string_view name) {
    for (const PolicyMetrics& metrics : result.policies) {
        if (metrics.name == name)
            return &metrics;
    }
    return nullptr;
}

// A generated trace with a drifting hot range: enough imbalance for the reactive policy to act.
WorkloadOptions hotspotWorkload(double hours = 1.5, std::uint64_t seed = 1) {
    WorkloadOptions workload;
    workload.scenario = Scenario::HotspotDrift;
    workload.hours = hours;
    workload.rate_eps = 60;
    workload.key_count = 20'000;
    workload.seed = seed;
    return workload;
}

SimulationOptions generatedOptions() {
    SimulationOptions options;
    options.hosts = 8;
    options.cells = 256;
    return options;
}

// The events of one source before T, then those of another from T on.
class SplicedSource : public EventSource {
public:
    SplicedSource(WorkloadOptions before, WorkloadOptions after, TimeMs at)
        : m_before(std::move(before))
        , m_after(std::move(after))
        , m_at(at) {}
    Status replay(FunctionRef<void(const TraceEvent&)> onEvent) override {
        if (Status status = m_before.replayWhile([&](const TraceEvent& event) {
                if (event.ts_ms >= m_at)
                    return false;
                onEvent(event);
                return true;
            });
            !status)
            return status;
        return m_after.replay([&](const TraceEvent& event) {
            if (event.ts_ms >= m_at)
                onEvent(event);
        });
    }

private:
    WorkloadEventSource m_before;
    WorkloadEventSource m_after;
    TimeMs m_at;
};

bool sameDecision(const Decision& a, const Decision& b) {
    return a.at_ms == b.at_ms && a.kind == b.kind && a.range == b.range && a.from == b.from &&
           a.to == b.to && a.bytes == b.bytes && a.reason == b.reason && a.at == b.at;
}

QString describe(const Decision& decision) {
    return QStringLiteral("%1 %2 %3 %4->%5 %6")
        .arg(decision.at_ms)
        .arg(qs(decisionKindName(decision.kind)))
        .arg(qs(formatKeyRange(decision.range)))
        .arg(qs(decision.from))
        .arg(qs(decision.to))
        .arg(decision.bytes);
}

} // namespace

class TestClusterSimulator : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void optionsAreValidated_data();
    void optionsAreValidated();
    void emptyTraceIsAnError();
    void vectorSourceOwnsItsStrings();
    void autoCapacityIsPeakMinuteOverHostsAndHeadroom_data();
    void autoCapacityIsPeakMinuteOverHostsAndHeadroom();
    void overloadUsesTheTrailingWindow_data();
    void overloadUsesTheTrailingWindow();
    void overloadSlaAndImbalanceOnAHandMadeTrace();
    void lateEventsCountInTheCurrentSecond();
    void migrationTakesBytesOverBandwidthAndLoadsBothHosts();
    void invalidInstructionsAreRejectedAndCounted();
    void gapOfDaysIsJumpedNotStepped();
    void staticNeverActsAndLoadIsConserved();
    void bytesMovedMatchesAnIndependentCount();
    void decisionsBeforeTDoNotDependOnEventsAfterT();
    void resultsAreDeterministic();
    void recordedLoadIsOnlyHandedToPoliciesThatAsk();
    void recordedLoadProjectsPartialBuckets();
    void traceFileSourceCountsBadLinesAndHonoursStrict();
    void csvTimelineWritesQuotedRows();
    void csvTimelineReportsWriteErrors();
};

void TestClusterSimulator::optionsAreValidated_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<int>("row");
    const char* fields[] = {
        "hosts",          "capacity_ops", "headroom",        "migration_bytes_per_s",
        "round_ms",       "warmup_ms",    "cells",           "load_window_ms",
        "latency_cap_ms", "sla_p99_ms",   "recorded_step_ms"};
    int row = 0;
    for (const char* field : fields)
        QTest::newRow(field) << QString::fromLatin1(field) << row++;
}

void TestClusterSimulator::optionsAreValidated() {
    QFETCH(QString, field);
    QFETCH(int, row);
    SimulationOptions options;
    QVERIFY(validate(options).ok());
    switch (row) {
    case 0:
        options.hosts = 0;
        break;
    case 1:
        options.capacity_ops = -1;
        break;
    case 2:
        options.headroom = 0;
        break;
    case 3:
        options.migration_bytes_per_s = 0;
        break;
    case 4:
        options.round_ms = 1500;
        break;
    case 5:
        options.warmup_ms = 0;
        break;
    case 6:
        options.cells = 0;
        break;
    case 7:
        options.load_window_ms = 0;
        break;
    case 8:
        options.latency_cap_ms = 0.5;
        break;
    case 9:
        options.sla_p99_ms = 0;
        break;
    case 10:
        options.recorded_step_ms = 0;
        break;
    default:
        QFAIL("unknown row");
    }
    const Status status = validate(options);
    QVERIFY(!status.ok());
    QVERIFY2(qs(status.message()).startsWith(field), status.message().c_str());
    VectorEventSource source;
    source.add(eventAt(0, "k"));
    QVERIFY(!simulate(source, {}, options).ok());
}

void TestClusterSimulator::emptyTraceIsAnError() {
    VectorEventSource source;
    const std::vector<PolicySpec> specs{staticPolicySpec()};
    const Result<SimulationResult> result = simulate(source, specs, SimulationOptions{});
    QVERIFY(!result.ok());
    QVERIFY2(qs(result.error().message).contains(QLatin1String("no events")),
             result.error().message.c_str());
}

void TestClusterSimulator::vectorSourceOwnsItsStrings() {
    VectorEventSource source;
    {
        std::string key = "user42";
        std::string end = "user99";
        std::string client = "client-3";
        TraceEvent event = eventAt(7, key, Op::Scan, 12);
        event.end_key = end;
        event.client = client;
        event.latency_us = 250;
        source.add(event);
        key.assign("xxxxxx");
        end.assign("yyyyyy");
    }
    source.add(eventAt(8, "second"));
    QStringList seen;
    QVERIFY(source
                .replay([&](const TraceEvent& event) {
                    seen << QStringLiteral("%1|%2|%3|%4|%5|%6|%7")
                                .arg(event.ts_ms)
                                .arg(qs(event.key), qs(event.end_key), qs(opName(event.op)))
                                .arg(event.bytes)
                                .arg(event.latency_us)
                                .arg(qs(event.client));
                })
                .ok());
    QCOMPARE(seen, (QStringList{QStringLiteral("7|user42|user99|scan|12|250|client-3"),
                                QStringLiteral("8|second||get|0|0|")}));
    int forwarded = 0;
    QVERIFY(source.replayWhile([&](const TraceEvent&) { return ++forwarded < 1; }).ok());
    QCOMPARE(forwarded, 1);
}

void TestClusterSimulator::autoCapacityIsPeakMinuteOverHostsAndHeadroom_data() {
    QTest::addColumn<bool>("lateEvent");
    QTest::addColumn<double>("expected");
    // Peak minute 300 events = 5 ops/s; / 2 hosts / 0.5 headroom = 5.
    QTest::newRow("in order") << false << 5.0;
    // A late event after minute 1 counts in minute 1, as in the main pass.
    QTest::newRow("late event") << true << 301.0 / 60.0 / 2.0 / 0.5;
}

void TestClusterSimulator::autoCapacityIsPeakMinuteOverHostsAndHeadroom() {
    QFETCH(bool, lateEvent);
    QFETCH(double, expected);
    VectorEventSource source;
    for (int second = 0; second < 60; ++second)
        addSecond(source, second, "k", 2);
    for (int second = 60; second < 120; ++second)
        addSecond(source, second, "k", 5);
    if (lateEvent)
        source.add(eventAt(30'000, "k"));
    for (int second = 120; second < 180; ++second)
        addSecond(source, second, "k", 1);
    SimulationOptions options = handOptions();
    options.capacity_ops = 0.0;
    options.headroom = 0.5;
    const SimulationResult result = run(source, {staticPolicySpec()}, options);
    QCOMPARE(result.capacity_ops, expected);
    QCOMPARE(result.events, std::uint64_t(lateEvent ? 481 : 480));

    options.capacity_ops = 7.5;
    QCOMPARE(run(source, {staticPolicySpec()}, options).capacity_ops, 7.5);
}

void TestClusterSimulator::overloadUsesTheTrailingWindow_data() {
    QTest::addColumn<int>("windowSeconds");
    QTest::addColumn<double>("overloadSeconds");
    // One host, capacity 15, 20 ops/s for seconds 0..9; the trace ends at second 9. Second 0 is
    // the warm-up and not measured.
    QTest::newRow("1 s") << 1 << 9.0;
    QTest::newRow("2 s") << 2 << 9.0;   // second 0: 10 ops/s over the window
    QTest::newRow("5 s") << 5 << 7.0;   // 4, 8, 12, then 16 and 20 from second 3 on
    QTest::newRow("60 s") << 60 << 0.0; // at most 200 / 60
}

void TestClusterSimulator::overloadUsesTheTrailingWindow() {
    QFETCH(int, windowSeconds);
    QFETCH(double, overloadSeconds);
    VectorEventSource source;
    for (int second = 0; second < 10; ++second)
        addSecond(source, second, "k", 20);
    SimulationOptions options = handOptions();
    options.hosts = 1;
    options.capacity_ops = 15.0;
    options.load_window_ms = windowSeconds * kMsPerSecond;
    const SimulationResult result = run(source, {staticPolicySpec()}, options);
    QCOMPARE(result.policies.size(), std::size_t(1));
    QCOMPARE(result.policies[0].overload_s, overloadSeconds);
    QCOMPARE(result.policies[0].overload_host_s, overloadSeconds);
}

void TestClusterSimulator::overloadSlaAndImbalanceOnAHandMadeTrace() {
    // Ten keys in second 0 make the layout; then a key A on one host and B on the other.
    VectorEventSource source;
    std::vector<std::string> keys;
    for (int i = 0; i < 10; ++i)
        keys.push_back("k" + std::to_string(i));
    for (int i = 0; i < 10; ++i)
        source.add(eventAt(i, keys[static_cast<std::size_t>(i)]));
    SimulationOptions options = handOptions();
    Result<SimulationLayout> layout = buildInitialLayout(source, options);
    QVERIFY(layout.ok());
    QCOMPARE(layout->table.shardCount(), std::size_t(10));
    std::string keyA, keyB;
    int seedsOnA = 0;
    for (const std::string& key : keys) {
        const HostId& owner = layout->table.shardFor(key).owner;
        if (owner == "host-1") {
            ++seedsOnA;
            keyA = key;
        } else {
            keyB = key;
        }
    }
    QVERIFY2(!keyA.empty() && !keyB.empty(), "both hosts own a key");

    for (int second = 1; second <= 5; ++second) { // A over capacity
        addSecond(source, second, keyA, 15);
        addSecond(source, second, keyB, 5);
    }
    for (int second = 6; second <= 9; ++second) {
        addSecond(source, second, keyA, 5);
        addSecond(source, second, keyB, 5);
    }
    addSecond(source, 10, keyA, 12); // both over capacity
    addSecond(source, 10, keyB, 12);
    for (int second = 60; second < 120; ++second) // ρ 0.3: p99 1.43 ms
        addSecond(source, second, keyA, 3);
    for (int second = 120; second < 180; ++second) { // ρ 0.6: p99 2.5 ms > 2
        addSecond(source, second, keyA, 6);
        addSecond(source, second, keyB, 2);
    }

    RecordingTimeline timeline;
    const SimulationResult result = run(source, {staticPolicySpec()}, options, &timeline);
    QCOMPARE(result.policies.size(), std::size_t(1));
    const PolicyMetrics& metrics = result.policies[0];
    QCOMPARE(metrics.overload_s, 6.0);
    QCOMPARE(metrics.overload_host_s, 7.0);
    QCOMPARE(metrics.sla_violation_minutes, 1.0);
    // Minutes: 0 is (107 + seeds on A) vs (57 + the rest), then 2.0, then 1.5.
    const double hostA0 = 107.0 + seedsOnA;
    const double hostB0 = 57.0 + (10 - seedsOnA);
    const double minute0 = std::max(hostA0, hostB0) / ((hostA0 + hostB0) / 2.0);
    QVERIFY(minute0 < 1.5);
    QCOMPARE(metrics.imbalance_p50, 1.5);
    QCOMPARE(metrics.imbalance_p99, 2.0);
    QCOMPARE(metrics.served_ops, double(result.events));

    const HostMinuteRow* hot = timeline.row("static", result.start_ms + 2 * kMsPerMinute, "host-1");
    QVERIFY(hot);
    QCOMPARE(hot->ops_per_s, 6.0);
    QCOMPARE(hot->utilization, 0.6);
    QCOMPARE(hot->p99_ms, 2.5);
    const HostMinuteRow* first = timeline.row("static", result.start_ms, "host-1");
    QVERIFY(first);
    QCOMPARE(first->ops_per_s, hostA0 / 60.0);
    QCOMPARE(timeline.rows.size(), std::size_t(6)); // 3 minutes × 2 hosts
}

void TestClusterSimulator::lateEventsCountInTheCurrentSecond() {
    VectorEventSource source;
    source.add(eventAt(0, "k"));
    addSecond(source, 5, "k", 8);
    for (int i = 0; i < 5; ++i)
        source.add(eventAt(2000 + i, "k")); // second 2 has passed: late, counted in second 5
    SimulationOptions options = handOptions();
    options.hosts = 1;
    const SimulationResult result = run(source, {staticPolicySpec()}, options);
    QCOMPARE(result.events, std::uint64_t(14));
    QCOMPARE(result.late_events, std::uint64_t(5));
    QCOMPARE(result.end_ms, result.start_ms + 5008);
    QCOMPARE(result.policies[0].overload_s, 1.0); // 13 ops in second 5 > 10
    QCOMPARE(result.policies[0].served_ops, 14.0);
}

void TestClusterSimulator::migrationTakesBytesOverBandwidthAndLoadsBothHosts() {
    // Keys a (3000 bytes), b and c; two shards: ["", b) holds a.
    VectorEventSource source;
    source.add(eventAt(0, "a", Op::Put, 3000));
    source.add(eventAt(1, "b", Op::Put, 500));
    source.add(eventAt(2, "c", Op::Put, 700));
    for (int second = 60; second < 120; ++second)
        addSecond(source, second, "a", 1, Op::Put, 3000);
    for (int second = 120; second < 125; ++second)
        addSecond(source, second, "a", 1, Op::Get, 3000);
    SimulationOptions options = handOptions();
    options.shards_per_host = 1;
    options.capacity_ops = 100.0;
    options.load_window_ms = 60'000;
    options.migration_bytes_per_s = 100.0; // 3000 bytes: 30 s
    options.migration_load = 0.25;

    HostId source0, target0;
    const Script script = [&](const RoundObservation& observation, int round) {
        MigrationPlan plan;
        if (round != 1)
            return plan;
        const Shard& shard = observation.table.shardFor("a");
        MoveInstruction move;
        move.shard = shard.id;
        move.range = shard.range;
        move.from = shard.owner;
        move.to = shard.owner == "host-1" ? "host-2" : "host-1";
        source0 = move.from;
        target0 = move.to;
        plan.moves.push_back(move);
        return plan;
    };
    std::vector<SeenRound> seen;
    RecordingTimeline timeline;
    const SimulationResult result = run(source, {scriptedSpec(script, &seen)}, options, &timeline);
    QCOMPARE(result.policies.size(), std::size_t(1));
    const PolicyMetrics& metrics = result.policies[0];
    QCOMPARE(metrics.moves, std::uint64_t(1));
    QCOMPARE(metrics.moves_finished, std::uint64_t(1));
    QCOMPARE(metrics.bytes_moved, 3000.0);
    QCOMPARE(metrics.decisions.size(), std::size_t(1));
    QCOMPARE(metrics.decisions[0].bytes, 3000.0);
    QCOMPARE(metrics.decisions[0].at_ms, result.start_ms + 60'000);
    QCOMPARE(timeline.finished.size(), std::size_t(1));
    QCOMPARE(timeline.finished[0].second.finishes_ms, result.start_ms + 90'000);

    // Writes to a during the copy (seconds 60..89) count on both hosts; then on the target only.
    QCOMPARE(metrics.dual_write_ops, 30.0);
    QCOMPARE(metrics.served_ops, double(result.events));
    const TimeMs minute1 = result.start_ms + kMsPerMinute;
    const HostMinuteRow* from = timeline.row("scripted", minute1, source0);
    const HostMinuteRow* to = timeline.row("scripted", minute1, target0);
    QVERIFY(from && to);
    QCOMPARE(from->ops_per_s, 30.0 / 60.0);
    QCOMPARE(to->ops_per_s, 60.0 / 60.0);
    // 30 move-seconds in the minute: 0.25 × 30/60 on top of ops / capacity on both hosts.
    QCOMPARE(from->utilization, 0.5 / 100.0 + 0.125);
    QCOMPARE(to->utilization, 1.0 / 100.0 + 0.125);

    // Round 2 (t = 120 s): the move is done, a belongs to the target, the host rates of round 1
    // include the migration (0.25 × 100 ops/s × 30/60 s) and the history holds the move.
    QVERIFY(seen.size() >= 2);
    QCOMPARE(seen[1].now, result.start_ms + 120'000);
    QVERIFY(seen[1].in_flight.empty());
    QCOMPARE(seen[1].history_moves, std::size_t(1));
    const auto ownerOfA = [](const SeenRound& round) {
        for (const Shard& shard : round.shards) {
            if (shard.range.contains("a"))
                return shard.owner;
        }
        return HostId();
    };
    QCOMPARE(qs(ownerOfA(seen[0])), qs(source0));
    QCOMPARE(qs(ownerOfA(seen[1])), qs(target0));
    const std::size_t sourceIndex = source0 == "host-1" ? 0 : 1;
    const std::size_t targetIndex = 1 - sourceIndex;
    QCOMPARE(seen[1].host_rates[sourceIndex][Resource::Ops], 30.0 / 60.0 + 12.5);
    QCOMPARE(seen[1].host_rates[targetIndex][Resource::Ops], 60.0 / 60.0 + 12.5);
    QCOMPARE(seen[0].background[0][Resource::Ops], 0.0);
    double dataBytes = 0.0;
    for (const double bytes : seen[0].cell_data_bytes)
        dataBytes += bytes;
    QCOMPARE(dataBytes, 4200.0);
}

void TestClusterSimulator::invalidInstructionsAreRejectedAndCounted() {
    VectorEventSource source;
    for (int i = 0; i < 10; ++i)
        source.add(eventAt(i, "k" + std::to_string(i)));
    for (int second = 1; second < 70; ++second)
        addSecond(source, second, "k3", 1);
    SimulationOptions options = handOptions();

    int expectedRejections = 0;
    const Script script = [&](const RoundObservation& observation, int round) {
        MigrationPlan plan;
        if (round != 1)
            return plan;
        const std::vector<Shard>& shards = observation.table.shards();
        const Shard& first = shards[0];
        const Shard& second = shards[1];
        const HostId other = first.owner == "host-1" ? "host-2" : "host-1";
        // Splits: unknown shard; a key outside the shard.
        plan.splits.push_back({9999, "k5", 500, 0, 0, 0, "unknown shard"});
        plan.splits.push_back({first.id, "zzz", 501, 0, 0, 0, "outside"});
        // Merges: not adjacent; different owners (when there are such neighbours).
        plan.merges.push_back({shards[0].id, shards[2].id, 0, "not adjacent"});
        expectedRejections = 3;
        for (std::size_t i = 0; i + 1 < shards.size(); ++i) {
            if (shards[i].owner != shards[i + 1].owner) {
                plan.merges.push_back({shards[i].id, shards[i + 1].id, 0, "owners differ"});
                ++expectedRejections;
                break;
            }
        }
        MoveInstruction move;
        move.shard = 9999; // unknown shard
        move.from = first.owner;
        move.to = other;
        plan.moves.push_back(move);
        move.shard = first.id;
        move.from = other; // not the owner
        move.to = first.owner;
        plan.moves.push_back(move);
        move.from = first.owner;
        move.to = "host-99"; // not a host
        plan.moves.push_back(move);
        move.to = first.owner; // to itself
        plan.moves.push_back(move);
        move.to = other; // valid
        plan.moves.push_back(move);
        plan.moves.push_back(move); // already moving
        move.shard = second.id;
        move.from = second.owner;
        move.to = second.owner == "host-1" ? "host-2" : "host-1"; // valid
        plan.moves.push_back(move);
        expectedRejections += 5;
        return plan;
    };
    const SimulationResult result = run(source, {scriptedSpec(script)}, options);
    QCOMPARE(result.policies.size(), std::size_t(1));
    const PolicyMetrics& metrics = result.policies[0];
    QCOMPARE(metrics.rejected_instructions, std::uint64_t(expectedRejections));
    QCOMPARE(metrics.moves, std::uint64_t(2));
    QCOMPARE(metrics.splits, std::uint64_t(0));
    QCOMPARE(metrics.merges, std::uint64_t(0));
    QCOMPARE(metrics.decisions.size(), std::size_t(2));
    QCOMPARE(metrics.final_shards, std::size_t(10));
}

void TestClusterSimulator::gapOfDaysIsJumpedNotStepped() {
    VectorEventSource source;
    const TimeMs gap = 3 * kMsPerDay;
    for (int second = 0; second < 60; ++second)
        addSecond(source, second, "k", 1);
    for (int second = 0; second < 60; ++second)
        source.add(eventAt(gap + second * kMsPerSecond, "k"));
    SimulationOptions options = handOptions();
    options.warmup_ms = kMsPerMinute;
    options.load_window_ms = kMsPerMinute;
    options.service_p99_ms = 20.0; // above the SLA even when idle: every minute counts
    options.sla_p99_ms = 10.0;
    options.max_idle_rounds = 60;
    RecordingTimeline timeline;
    const SimulationResult result =
        run(source, {staticPolicySpec(), reactivePolicySpec()}, options, &timeline);
    QCOMPARE(result.policies.size(), std::size_t(2));
    for (const PolicyMetrics& metrics : result.policies) {
        // Every minute after the first (the warm-up): three days and the last minute.
        QCOMPARE(metrics.sla_violation_minutes, 3.0 * 24 * 60);
        QCOMPARE(metrics.overload_s, 0.0);
        // The round at 1 min, then 60 idle rounds; later idle rounds are skipped, and the trace
        // ends before the next round with events.
        QCOMPARE(metrics.rounds, std::uint64_t(61));
        QCOMPARE(metrics.imbalance_p99, 2.0);
    }
    QCOMPARE(timeline.rows.size(), std::size_t(2 * 2 * 2)); // 2 busy minutes, 2 hosts, 2 policies
    QCOMPARE(result.events, std::uint64_t(120));
}

void TestClusterSimulator::staticNeverActsAndLoadIsConserved() {
    WorkloadEventSource source(hotspotWorkload());
    RecordingTimeline timeline;
    const SimulationResult result =
        run(source, {staticPolicySpec(), reactivePolicySpec()}, generatedOptions(), &timeline);
    QCOMPARE(result.policies.size(), std::size_t(2));
    const PolicyMetrics* fixed = metricsOf(result, "static");
    const PolicyMetrics* reactive = metricsOf(result, "reactive");
    QVERIFY(fixed && reactive);
    QVERIFY(fixed->decisions.empty());
    QCOMPARE(fixed->moves, std::uint64_t(0));
    QCOMPARE(fixed->bytes_moved, 0.0);
    QCOMPARE(fixed->final_shards, std::size_t(64));
    QVERIFY2(reactive->moves > 0, "the reactive policy moves on this trace");

    // Every event is served exactly once; with dual writes the hosts did that much more.
    const std::int64_t lastSecond = (result.end_ms - 1 - result.start_ms) / kMsPerSecond;
    const TimeMs lastMinuteStart = result.start_ms + lastSecond / 60 * kMsPerMinute;
    for (const PolicyMetrics* metrics : {fixed, reactive}) {
        QCOMPARE(metrics->served_ops, double(result.events));
        double hostOps = 0.0;
        for (const HostMinuteRow& row : timeline.rows) {
            if (row.policy != metrics->name)
                continue;
            const double seconds =
                row.minute_start == lastMinuteStart
                    ? double(result.start_ms + (lastSecond + 1) * kMsPerSecond - lastMinuteStart) /
                          kMsPerSecond
                    : 60.0;
            hostOps += row.ops_per_s * seconds;
        }
        QVERIFY2(std::abs(hostOps - (metrics->served_ops + metrics->dual_write_ops)) <
                     1e-6 * hostOps,
                 qPrintable(QStringLiteral("%1: %2 host ops for %3 served + %4 dual")
                                .arg(qs(metrics->name))
                                .arg(hostOps)
                                .arg(metrics->served_ops)
                                .arg(metrics->dual_write_ops)));
    }
    double decisionBytes = 0.0;
    std::uint64_t moves = 0;
    for (const Decision& decision : reactive->decisions) {
        if (decision.kind == Decision::Kind::Move) {
            decisionBytes += decision.bytes;
            ++moves;
        }
    }
    QCOMPARE(moves, reactive->moves);
    QCOMPARE(decisionBytes, reactive->bytes_moved);
    QVERIFY(reactive->thrash_moves <= reactive->moves);
}

void TestClusterSimulator::bytesMovedMatchesAnIndependentCount() {
    const WorkloadOptions workload = hotspotWorkload();
    WorkloadEventSource source(workload);
    const SimulationOptions options = generatedOptions();
    const SimulationResult result = run(source, {reactivePolicySpec()}, options);
    QCOMPARE(result.policies.size(), std::size_t(1));
    std::vector<Decision> moves;
    for (const Decision& decision : result.policies[0].decisions) {
        if (decision.kind == Decision::Kind::Move)
            moves.push_back(decision);
    }
    QVERIFY(!moves.empty());

    // Replay the trace: each key's size (first get/put with bytes, else bytes_per_key), and at
    // each move the sum over the keys seen so far in its range.
    struct KeySize {
        double bytes = 0.0;
        bool provisional = false;
    };
    std::map<std::string, KeySize, std::less<>> sizes;
    const auto rangeBytes = [&](const KeyRange& range) {
        double bytes = 0.0;
        for (auto it = sizes.lower_bound(range.start);
             it != sizes.end() && (range.end.empty() || it->first < range.end); ++it)
            bytes += it->second.bytes;
        return bytes;
    };
    std::size_t next = 0;
    double expectedTotal = 0.0;
    WorkloadGenerator generator(workload);
    TraceEvent event;
    while (generator.next(event)) {
        while (next < moves.size() && event.ts_ms >= moves[next].at_ms) {
            const double expected = rangeBytes(moves[next].range);
            QVERIFY2(std::abs(expected - moves[next].bytes) <= 1e-9 * expected,
                     qPrintable(describe(moves[next]) +
                                QStringLiteral(" expected %1").arg(expected, 0, 'f', 0)));
            expectedTotal += expected;
            ++next;
        }
        if (event.op == Op::Scan)
            continue;
        const bool sized = (event.op == Op::Get || event.op == Op::Put) && event.bytes > 0;
        auto [it, inserted] = sizes.try_emplace(std::string(event.key));
        if (inserted) {
            it->second.bytes = sized ? double(event.bytes) : options.bytes_per_key;
            it->second.provisional = !sized;
        } else if (it->second.provisional && sized) {
            it->second.bytes = double(event.bytes);
            it->second.provisional = false;
        }
    }
    QCOMPARE(next, moves.size());
    QVERIFY(std::abs(expectedTotal - result.policies[0].bytes_moved) <= 1e-9 * expectedTotal);
}

void TestClusterSimulator::decisionsBeforeTDoNotDependOnEventsAfterT() {
    const WorkloadOptions original = hotspotWorkload(1.5, 1);
    WorkloadOptions different = original;
    different.scenario = Scenario::RandomJumps;
    different.seed = 7;
    const TimeMs cut = original.start_ms + 50 * kMsPerMinute;

    SimulationOptions options = generatedOptions();
    options.capacity_ops = 15.0; // fixed: auto capacity would read the whole trace
    WorkloadEventSource whole(original);
    SplicedSource spliced(original, different, cut);
    const SimulationResult a = run(whole, {reactivePolicySpec()}, options);
    const SimulationResult b = run(spliced, {reactivePolicySpec()}, options);
    QCOMPARE(a.policies.size(), std::size_t(1));
    QCOMPARE(b.policies.size(), std::size_t(1));
    const std::vector<Decision>& before = a.policies[0].decisions;
    const std::vector<Decision>& after = b.policies[0].decisions;

    std::size_t early = 0;
    while (early < before.size() && before[early].at_ms <= cut)
        ++early;
    QVERIFY2(early > 0, "decisions before T exist");
    QVERIFY(after.size() >= early);
    for (std::size_t i = 0; i < early; ++i)
        QVERIFY2(sameDecision(before[i], after[i]), qPrintable(describe(before[i])));
    QVERIFY(after.size() == early || after[early].at_ms > cut);
    // The changed future does change later decisions, so the comparison above is not vacuous.
    bool differ = before.size() != after.size();
    for (std::size_t i = early; !differ && i < before.size(); ++i)
        differ = !sameDecision(before[i], after[i]);
    QVERIFY(differ);
}

void TestClusterSimulator::resultsAreDeterministic() {
    WorkloadEventSource source(hotspotWorkload(1.0, 3));
    const SimulationOptions options = generatedOptions();
    const SimulationResult a = run(source, {staticPolicySpec(), reactivePolicySpec()}, options);
    const SimulationResult b = run(source, {staticPolicySpec(), reactivePolicySpec()}, options);
    QCOMPARE(a.policies.size(), b.policies.size());
    QCOMPARE(a.capacity_ops, b.capacity_ops);
    for (std::size_t p = 0; p < a.policies.size(); ++p) {
        const PolicyMetrics& x = a.policies[p];
        const PolicyMetrics& y = b.policies[p];
        QCOMPARE(x.overload_s, y.overload_s);
        QCOMPARE(x.overload_host_s, y.overload_host_s);
        QCOMPARE(x.sla_violation_minutes, y.sla_violation_minutes);
        QCOMPARE(x.imbalance_p50, y.imbalance_p50);
        QCOMPARE(x.imbalance_p99, y.imbalance_p99);
        QCOMPARE(x.bytes_moved, y.bytes_moved);
        QCOMPARE(x.decisions.size(), y.decisions.size());
        for (std::size_t i = 0; i < x.decisions.size(); ++i)
            QVERIFY(sameDecision(x.decisions[i], y.decisions[i]));
    }
}

void TestClusterSimulator::recordedLoadIsOnlyHandedToPoliciesThatAsk() {
    VectorEventSource source;
    for (int second = 0; second < 300; ++second)
        addSecond(source, second, second < 200 ? "a" : "b", 2);
    SimulationOptions options = handOptions();
    options.capacity_ops = 5.0; // fixed, so only the oracle's need triggers the pre-pass
    const RecordedCellLoad* handed[2] = {nullptr, nullptr};
    TimeMs endMs[2] = {-1, -1};
    double futureB = -1.0;
    std::vector<PolicySpec> specs;
    for (int i = 0; i < 2; ++i) {
        specs.push_back({i == 0 ? "plain" : "oracle",
                         [&, i](const SimulationSetup& setup) -> std::unique_ptr<BalancingPolicy> {
                             handed[i] = setup.recorded;
                             endMs[i] = setup.end_ms;
                             if (setup.recorded) {
                                 // Mean ops/s of b's cell over [240 s, 300 s): 2.
                                 const CellProjection future = setup.recorded->project(
                                     setup.start_ms + 240'000, 1, 60'000, {});
                                 futureB = future.rate(setup.cells.cellOf("b"), 0, Resource::Ops);
                             }
                             return std::make_unique<StaticPolicy>();
                         },
                         i == 1});
    }
    const SimulationResult result = run(source, specs, options);
    QCOMPARE(result.policies.size(), std::size_t(2));
    QVERIFY(!handed[0]);
    QVERIFY(handed[1]);
    QCOMPARE(endMs[1], result.end_ms);
    QCOMPARE(futureB, 2.0);
}

void TestClusterSimulator::recordedLoadProjectsPartialBuckets() {
    RecordedCellLoad load(2, 1000, 60'000);
    ResourceVector one;
    one[Resource::Ops] = 1.0;
    one[Resource::NetworkBytes] = 100.0;
    one[Resource::Memory] = 5.0; // not recorded
    for (int i = 0; i < 60; ++i)
        load.add(0, 1000 + i, one); // bucket 0: 60 ops
    for (int i = 0; i < 120; ++i)
        load.add(0, 61'000 + i, one);        // bucket 1: 120 ops
    load.add(1, 500, one);                   // before the start: ignored
    load.add(1, 1000 + 10 * kMsPerDay, one); // far later: grows without a dense gap
    QCOMPARE(load.amount(0, 0, Resource::Ops), 60.0);
    QCOMPARE(load.amount(0, 1, Resource::NetworkBytes), 12000.0);
    QCOMPARE(load.amount(0, 0, Resource::Memory), 0.0);
    QCOMPARE(load.buckets(), std::size_t(10 * 24 * 60 + 1));

    const std::vector<double> dataBytes{7.0, 9.0};
    // Steps of 60 s from 31 s: half of bucket 0 and half of bucket 1, then half of 1 and nothing.
    const CellProjection projection = load.project(31'000, 3, 60'000, dataBytes);
    QCOMPARE(projection.steps(), std::size_t(3));
    QCOMPARE(projection.rate(0, 0, Resource::Ops), (30.0 + 60.0) / 60.0);
    QCOMPARE(projection.rate(0, 1, Resource::Ops), 60.0 / 60.0);
    QCOMPARE(projection.rate(0, 2, Resource::Ops), 0.0);
    QCOMPARE(projection.rate(0, 0, Resource::NetworkBytes), 9000.0 / 60.0);
    QCOMPARE(projection.rate(1, 0, Resource::Ops), 0.0);
    QCOMPARE(projection.rate(0, 0, Resource::Memory), 0.0);
    QCOMPARE(projection.dataBytes(1), 9.0);
    // A step inside one bucket: the bucket's mean rate.
    const CellProjection fine = load.project(61'000 + 10'000, 1, 20'000, dataBytes);
    QCOMPARE(fine.rate(0, 0, Resource::Ops), 2.0);
}

void TestClusterSimulator::traceFileSourceCountsBadLinesAndHonoursStrict() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("trace.csv"));
    {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        QByteArray text = "ts,key,op\n";
        for (int second = 0; second < 90; ++second) {
            text += QByteArray::number(1'700'000'000'000LL + second * 1000) + ",k" +
                    QByteArray::number(second % 7) + ",get\n";
            if (second == 1)
                text += "not-a-time,k1,get\n"; // line 4
        }
        file.write(text);
    }
    TraceFileSource lenient(path.toStdString());
    SimulationOptions options = handOptions();
    const SimulationResult result = run(lenient, {staticPolicySpec()}, options);
    QCOMPARE(result.events, std::uint64_t(90));
    QCOMPARE(result.bad_lines, std::uint64_t(1));
    QCOMPARE(lenient.badLines(), std::uint64_t(1));
    QCOMPARE(lenient.firstBadLines().size(), std::size_t(1));
    QVERIFY2(qs(lenient.firstBadLines()[0]).contains(QLatin1String("trace.csv:4:")),
             lenient.firstBadLines()[0].c_str());

    int forwarded = 0;
    QVERIFY(lenient.replayWhile([&](const TraceEvent&) { return ++forwarded < 3; }).ok());
    QCOMPARE(forwarded, 3);

    TraceReadOptions strictOptions;
    strictOptions.strict = true;
    TraceFileSource strict(path.toStdString(), strictOptions);
    const std::vector<PolicySpec> specs{staticPolicySpec()};
    const Result<SimulationResult> failed = simulate(strict, specs, options);
    QVERIFY(!failed.ok());
    QVERIFY2(qs(failed.error().message).contains(QLatin1String(":4:")),
             failed.error().message.c_str());

    TraceFileSource missing(dir.filePath(QStringLiteral("missing.csv")).toStdString());
    QVERIFY(!simulate(missing, specs, options).ok());
}

void TestClusterSimulator::csvTimelineWritesQuotedRows() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath(QStringLiteral("timeline.csv")).toStdString();
    Result<CsvTimelineWriter> writer = CsvTimelineWriter::open(path);
    QVERIFY(writer.ok());
    writer->hostMinute("reactive", 60'000, "host-2", 12.5, 0.25, 1.5);
    Decision split{1000,
                   Decision::Kind::Split,
                   {"a", std::string("\x01\x02", 2)},
                   "host-1",
                   "host-1",
                   0.0,
                   "hot, \"very\"",
                   "b"};
    writer->decision("reactive", split);
    Decision move{2000, Decision::Kind::Move, {"b", ""}, "host-1", "host-3", 4096.0, "why", ""};
    writer->decision("reactive", move);
    InFlightMove done;
    done.range = move.range;
    done.from = "host-1";
    done.to = "host-3";
    done.bytes = 4096.0;
    done.finishes_ms = 2500;
    writer->moveFinished("reactive", done);
    QVERIFY(writer->finish().ok());

    QFile file(QString::fromStdString(path));
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(file.readAll()).split(QLatin1Char('\n'));
    QCOMPARE(lines.size(), 6); // header, 4 rows, empty after the last newline
    QCOMPARE(lines[0], QStringLiteral("record,ts,policy,host,ops_per_s,utilization,p99_ms,"
                                      "range_start,range_end,split_at,from,to,bytes,reason"));
    QCOMPARE(lines[1], QStringLiteral("load,60000,reactive,host-2,12.5,0.25,1.5,,,,,,,"));
    QCOMPARE(lines[2], QStringLiteral("split,1000,reactive,,,,,a,0x0102,b,host-1,host-1,0,"
                                      "\"hot, \"\"very\"\"\""));
    QCOMPARE(lines[3], QStringLiteral("move_start,2000,reactive,,,,,b,,,host-1,host-3,4096,why"));
    QCOMPARE(lines[4], QStringLiteral("move_done,2500,reactive,,,,,b,,,host-1,host-3,4096,"));

    const Result<CsvTimelineWriter> nowhere =
        CsvTimelineWriter::open(dir.filePath(QStringLiteral("no/such/dir.csv")).toStdString());
    QVERIFY(!nowhere.ok());
    QVERIFY(qs(nowhere.error().message).contains(QLatin1String("dir.csv")));
}

void TestClusterSimulator::csvTimelineReportsWriteErrors() {
    if (!QFile::exists(QStringLiteral("/dev/full")))
        QSKIP("no /dev/full here");
    Result<CsvTimelineWriter> writer = CsvTimelineWriter::open("/dev/full");
    QVERIFY(writer.ok());
    for (int i = 0; i < 10'000; ++i) // more than any stdio buffer
        writer->hostMinute("static", i * kMsPerMinute, "host-1", 1.0, 0.5, 2.0);
    const Status status = writer->finish();
    QVERIFY(!status.ok());
    QVERIFY2(qs(status.message()).startsWith(QLatin1String("/dev/full: write failed")),
             status.message().c_str());
}

QTEST_APPLESS_MAIN(TestClusterSimulator)
#include "tst_cluster_simulator.moc"
