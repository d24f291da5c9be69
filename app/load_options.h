#pragma once

// The command line of rangepilot-load, the workload driver: which nodes, how to authenticate,
// what workload (a generated scenario or a replayed trace), how hard, and what to check.
//
// Every flag is declared once in a table with its help text, so --help and the parser cannot
// disagree. Errors name the flag and the value they did not accept ("--rate: 'fast' is not a
// number"), and combinations that make no sense are refused rather than silently ignored
// ("--speed: only with --trace"). Parsing reads no file except --token-file (the token is needed
// before anything runs, and a missing file is a usage error).

#include "result.h"
#include "rpc_util.h"
#include "workload_generator.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rangepilot {

struct LoadOptions {
    std::vector<std::string> nodes; // --nodes host:port,...
    ChannelSecurity security;       // --tls-ca, --tls-server-name, --token / --token-file

    // The workload: a generated scenario (default uniform), or a trace when `trace` is set.
    Scenario scenario = Scenario::Uniform;
    std::string trace;
    double speed = 1; // trace timing divided by this; 0 = as fast as possible

    double duration_s = 10; // scenario: run length; trace: upper bound, 0 = until its end
    double rate = 0;        // ops/s over all threads; 0 = as fast as possible (closed loop)
    std::size_t threads = 4;
    std::uint64_t keys = 10'000; // scenario key space size
    std::size_t value_bytes = 128;
    std::optional<double> write_fraction; // unset: the scenario's own mix (about 18% writes)
    std::uint64_t seed = 1;
    std::size_t scan_limit = 100; // entries per scan operation

    bool verify = false;       // record acknowledged writes and read them all back at the end
    std::uint64_t preload = 0; // keys written before the timed run
    std::string ledger_out;    // save the write ledger here
    std::string verify_ledger; // only verify this saved ledger; no workload

    bool json = false;
    double report_every_s = 1;  // periodic progress line on stderr; 0 = none
    double call_timeout_s = 10; // per operation, retries included
};

struct LoadCommand {
    bool help = false;
    LoadOptions options;
};

// Parses the arguments after the program name. Errors are usage errors (exit code 2).
Result<LoadCommand> parseLoadArguments(const std::vector<std::string>& arguments);

std::string loadHelpText();

} // namespace rangepilot
