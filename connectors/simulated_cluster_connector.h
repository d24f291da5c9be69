#pragma once

// SimulatedClusterConnector: the console's embedded default cluster. It needs no servers: the
// planner's WorkloadGenerator produces the queries (by default hotspot-drift: a daily cycle plus
// a hot range sweeping the key space once a day), and the connector plays the cluster that serves
// them: it counts them per key cell (accessBatch), charges each to the host owning its key
// (hostUsage), owns the ownership table, and runs shadowed moves (ShadowedMove) and boundary
// changes on it.
//
// Model: ModeledClusterConnector's (cluster_event_source.h), shared with trace replay; this class
// adds the events and what they imply. The ops capacity per host defaults to the busiest minute's
// total ops/s / hosts / headroom; that peak is estimated from the generator's noise-free rate
// (rateAt at every minute's middle) times exp(2.5 sigma) of its 5% minute-scale noise, so no
// pre-pass over the events is needed. Key cells are equal slices of the generator's key index (its
// keys are spread over the whole index, and the hot range visits all of it each day), shards are
// hosts x shards_per_host equal runs of cells placed by Jump Consistent Hash. A range's data is
// its keys x stored_bytes_per_key (the store is fully populated): what a move copies.
//
// Time: cluster time starts at the workload's start and advances in steps of step_ms (see
// ModeledClusterConnector); at the workload's end the clock stops (state Stopped). Same options,
// same signals: batches depend only on the options and the calls.
//
// Cost per event: one KeyCells::cellOf and a few additions, about 20 ns on top of the generator's
// own cost (measured in a Release build on a shared 2-core machine: 3.2 M events/s generated and
// counted, 3.5 M/s for the generator alone), so speed 1000 at 1000 events/s takes about a third
// of a core. Per step: O(cells + shards) to route and to build the signals, which carry copies
// (1024 cells: 32 KiB per batch). Memory: O(cells + shards + moves started), not the events.

#include "cluster_event_source.h"
#include "workload_generator.h"

#include <memory>
#include <optional>

namespace rangepilot {

struct SimulatedClusterOptions {
    Scenario scenario = Scenario::HotspotDrift;
    double hours = 168;     // length of the generated workload (cluster time)
    double rate_eps = 1000; // average events per second of cluster time
    std::uint64_t seed = 1;
    std::uint64_t key_count = 1'000'000;
    std::size_t hosts = 8;
    std::size_t shards_per_host = 8;
    std::size_t cells = 1024;
    double speed = 1.0;        // cluster seconds per wall second, 1..1000; 0 = as fast as possible
    TimeMs step_ms = 0;        // cluster time per step; 0 = auto (see autoStepMs)
    bool timer = true;         // false: only advance() moves the clock
    double capacity_ops = 0.0; // per host; 0 = auto (peak 1-minute ops/s / hosts / headroom)
    double headroom = 0.75;
    double migration_load = 0.10;       // fraction of ops capacity a working move takes
    double stored_bytes_per_key = 1410; // the generator's mean value size (1 KiB lognormal)
    double batch_bytes = 8e6;           // batch size for moves that come without batches
    ShadowedMoveOptions move;           // copy rate, phase durations, failure_rate; seed unused
};

// The first problem with the options, naming the field ("speed must be 0 or in [1, 1000]").
Status validate(const SimulatedClusterOptions& options);

class SimulatedClusterConnector : public ModeledClusterConnector {
    Q_OBJECT
public:
    explicit SimulatedClusterConnector(SimulatedClusterOptions options = {},
                                       QObject* parent = nullptr);
    ~SimulatedClusterConnector() override;

    QString name() const override; // "simulated cluster (hotspot-drift, 8 hosts, 1000 events/s)"
    void start() override;

    // Inherited: stop, topology, ownership, clusterTime, cellDataBytes, the move and boundary
    // calls, advance, pause, resume, setSpeed, injectMoveFailure, stepMs, endMs, capacityOps,
    // moveProgress.

    const SimulatedClusterOptions& options() const { return m_options; }
    WorkloadOptions workloadOptions() const;
    std::uint64_t eventsGenerated() const { return eventsCounted(); }

protected:
    std::string subject() const override { return "the simulated cluster"; }
    QString endedDetail() const override;
    void speedChanged(double speed) override { m_options.speed = speed; }

private:
    class GeneratorSource;

    Status setUp();
    Result<ClusterModelInput> cellsAndData() const;

    SimulatedClusterOptions m_options;
    Status m_setup;
    std::unique_ptr<GeneratorSource> m_generatorSource;
};

} // namespace rangepilot
