#pragma once

// The small simulated cluster the console's session and window tests run on: its hot range
// overloads a host within the first simulated hours, so the planner proposes moves early, and
// moves copy fast enough to finish in a few rounds. Only advance() moves its clock.

#include "simulated_cluster_connector.h"

namespace rangepilot::testing {

inline SimulatedClusterOptions hotClusterOptions() {
    SimulatedClusterOptions options;
    options.scenario = Scenario::HotspotDrift;
    options.hours = 24;
    options.rate_eps = 150;
    options.seed = 7;
    options.key_count = 100'000;
    options.hosts = 4;
    options.shards_per_host = 4;
    options.cells = 128;
    options.step_ms = 10'000;
    options.timer = false;
    options.headroom = 0.6;
    options.move.copy_bytes_per_s = 50e6;
    return options;
}

} // namespace rangepilot::testing
