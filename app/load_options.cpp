#include "load_options.h"

#include "cli_options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

namespace rangepilot {

namespace {

constexpr OptionSpec kFlags[] = {
    {"--nodes", "HOST:PORT,...", "nodes to start from (required); others are found as peers"},
    {"--token", "TOKEN", "bearer token for writes (prefer --token-file: argv is visible)"},
    {"--token-file", "FILE", "file holding the bearer token"},
    {"--tls-ca", "FILE", "PEM roots to verify the nodes' certificates (enables TLS)"},
    {"--tls-server-name", "NAME", "name to check in the nodes' certificates"},
    {"--scenario", "NAME", "generated workload (default uniform)"},
    {"--trace", "FILE", "replay a trace (CSV, the trace contract) instead of a scenario"},
    {"--speed", "X", "trace timing divided by X (default 1; 0 = as fast as possible)"},
    {"--duration", "TIME", "run length: 10, 10s, 500ms, 2m (default 10s; trace: until its end)"},
    {"--rate", "OPS/S", "target operations per second over all threads (0 = as fast as possible)"},
    {"--threads", "N", "client threads (default 4)"},
    {"--keys", "N", "scenario key space size (default 10000)"},
    {"--value-bytes", "N", "bytes per written value (default 128; a trace's bytes column wins)"},
    {"--write-fraction", "F", "share of writes in [0, 1] (default: the scenario's mix, ~0.18)"},
    {"--seed", "N", "random seed (default 1)"},
    {"--scan-limit", "N", "entries per scan operation (default 100)"},
    {"--preload", "N", "write the first N keys of the key space before the run"},
    {"--verify", "", "record acknowledged writes and read every key back at the end"},
    {"--ledger-out", "FILE", "save the write ledger to FILE (for --verify-ledger later)"},
    {"--verify-ledger", "FILE", "only verify a saved ledger against the cluster; no workload"},
    {"--call-timeout", "TIME", "deadline per operation, retries included (default 10s)"},
    {"--json", "", "print the summary as one JSON object on stdout"},
    {"--report-every", "TIME", "progress line on stderr every TIME (default 1s; 0 = never)"},
};

// Typed access to the parsed command line that keeps the first error (naming its flag) and
// returns the fallback after one, so the options can be read in one straight pass.
class FlagReader {
public:
    explicit FlagReader(const CommandLine& commandLine)
        : m_commandLine(commandLine) {}

    bool has(const std::string& name) const { return m_commandLine.has(name); }
    std::string text(const std::string& name, const std::string& fallback = {}) const {
        return m_commandLine.valueOr(name, fallback);
    }
    std::vector<std::string> list(const std::string& name) const {
        return m_commandLine.list(name);
    }

    double number(const std::string& name, double fallback, double min, double max) {
        return take(m_commandLine.number(name, fallback, min, max), fallback);
    }
    std::uint64_t whole(const std::string& name, std::uint64_t fallback, std::uint64_t min,
                        std::uint64_t max) {
        const auto asSigned = [](std::uint64_t value) {
            return static_cast<std::int64_t>(
                std::min<std::uint64_t>(value, std::numeric_limits<std::int64_t>::max()));
        };
        return static_cast<std::uint64_t>(
            take(m_commandLine.integer(name, asSigned(fallback), asSigned(min), asSigned(max)),
                 asSigned(fallback)));
    }
    // Seconds: a number, or a number with ms, s, m, h or d.
    double seconds(const std::string& name, double fallback, double max) {
        const auto toMs = [](double seconds) {
            return static_cast<TimeMs>(std::llround(seconds * 1000));
        };
        return static_cast<double>(take(m_commandLine.duration(name, toMs(fallback), 0, toMs(max)),
                                        toMs(fallback))) /
               1000.0;
    }

    void require(bool condition, std::string message) {
        if (!condition && !m_error)
            m_error = Error{std::move(message)};
    }
    const std::optional<Error>& error() const { return m_error; }

private:
    template <typename T>
    T take(Result<T> result, T fallback) {
        if (result)
            return result.value();
        if (!m_error)
            m_error = result.error();
        return fallback;
    }

    const CommandLine& m_commandLine;
    std::optional<Error> m_error;
};

bool plausibleEndpoint(const std::string& endpoint) {
    for (const char* scheme : {"unix:", "dns:", "ipv4:", "ipv6:"}) {
        if (endpoint.rfind(scheme, 0) == 0)
            return endpoint.size() > std::char_traits<char>::length(scheme);
    }
    const std::size_t colon = endpoint.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == endpoint.size())
        return false;
    unsigned port = 0;
    const char* begin = endpoint.data() + colon + 1;
    const char* end = endpoint.data() + endpoint.size();
    const auto result = std::from_chars(begin, end, port);
    return result.ec == std::errc() && result.ptr == end && port >= 1 && port <= 65535;
}

Result<std::vector<std::string>> parseNodes(const std::vector<std::string>& endpoints) {
    for (const std::string& endpoint : endpoints)
        if (!plausibleEndpoint(endpoint))
            return Error{"--nodes: '" + endpoint + "' is not HOST:PORT"};
    return endpoints;
}

std::string scenarioNames() {
    std::string names;
    for (const Scenario scenario : allScenarios()) {
        if (!names.empty())
            names += ", ";
        names += scenarioName(scenario);
    }
    return names;
}

Status readSecurity(FlagReader& flags, ChannelSecurity& security) {
    if (flags.has("--token") && flags.has("--token-file"))
        return Error{"--token-file: not with --token (give the token one way)"};
    if (flags.has("--token")) {
        security.token = flags.text("--token");
        if (security.token.empty())
            return Error{"--token: empty"};
    }
    if (flags.has("--token-file")) {
        auto token = readTokenFile(flags.text("--token-file"));
        if (!token)
            return Error{"--token-file: " + token.error().message};
        security.token = std::move(token.value());
    }
    security.tls_ca_file = flags.text("--tls-ca");
    security.tls_server_name = flags.text("--tls-server-name");
    if (flags.has("--tls-ca") && security.tls_ca_file.empty())
        return Error{"--tls-ca: empty path"};
    if (!security.tls_server_name.empty() && security.tls_ca_file.empty())
        return Error{"--tls-server-name: only with --tls-ca"};
    return Status::success();
}

// Flags that only make sense for one workload source, refused for the other.
Status checkWorkloadCombination(const FlagReader& flags) {
    const bool trace = flags.has("--trace");
    if (flags.has("--verify-ledger")) {
        for (const char* flag : {"--scenario", "--trace", "--speed", "--duration", "--rate",
                                 "--keys", "--value-bytes", "--write-fraction", "--preload",
                                 "--verify", "--ledger-out", "--scan-limit", "--seed"}) {
            if (flags.has(flag))
                return Error{std::string(flag) +
                             ": not with --verify-ledger (it runs no workload)"};
        }
        return Status::success();
    }
    if (trace && flags.has("--scenario"))
        return Error{"--trace: not with --scenario (one workload at a time)"};
    if (!trace && flags.has("--speed"))
        return Error{"--speed: only with --trace"};
    if (trace) {
        for (const char* flag : {"--rate", "--keys", "--write-fraction", "--preload"}) {
            if (flags.has(flag)) {
                return Error{std::string(flag) +
                             ": not with --trace (the trace gives the timing, keys and ops)"};
            }
        }
    }
    return Status::success();
}

} // namespace

namespace {

// The shared command line declared from kFlags, so --help and the parser use one list.
CommandLine declaredCommandLine() {
    CommandLine commandLine(
        "rangepilot-load --nodes HOST:PORT,... [options]",
        "Drives a workload against rangepilot-nodes: routes each operation to the key's owner\n"
        "by the ownership table, follows table changes, and measures latency from each\n"
        "operation's intended start (open loop with --rate). With --verify it records every\n"
        "acknowledged write and reads all keys back at the end.\n\n"
        "Scenarios: " +
            scenarioNames() +
            "\n\nExit codes: 0 ok, 1 runtime failure or verification failed, 2 bad flags.");
    commandLine.addAll(kFlags);
    return commandLine;
}

} // namespace

std::string loadHelpText() {
    return declaredCommandLine().helpText();
}

Result<LoadCommand> parseLoadArguments(const std::vector<std::string>& arguments) {
    LoadCommand command;
    CommandLine commandLine = declaredCommandLine();
    if (Status parsed = commandLine.parse(arguments); !parsed)
        return Error{parsed.message()};
    command.help = commandLine.helpRequested();
    if (command.help)
        return command;
    FlagReader flags(commandLine);
    LoadOptions& options = command.options;

    if (!flags.has("--nodes"))
        return Error{"--nodes: required (HOST:PORT,...)"};
    auto nodes = parseNodes(flags.list("--nodes"));
    if (!nodes)
        return nodes.error();
    options.nodes = std::move(nodes.value());
    if (Status security = readSecurity(flags, options.security); !security)
        return Error{security.message()};
    if (Status combination = checkWorkloadCombination(flags); !combination)
        return Error{combination.message()};

    if (flags.has("--scenario")) {
        const auto scenario = parseScenario(flags.text("--scenario"));
        if (!scenario) {
            return Error{"--scenario: '" + flags.text("--scenario") + "' is not one of " +
                         scenarioNames()};
        }
        options.scenario = *scenario;
    }
    options.trace = flags.text("--trace");
    flags.require(!flags.has("--trace") || !options.trace.empty(), "--trace: empty path");
    options.verify_ledger = flags.text("--verify-ledger");
    flags.require(!flags.has("--verify-ledger") || !options.verify_ledger.empty(),
                  "--verify-ledger: empty path");
    options.ledger_out = flags.text("--ledger-out");
    flags.require(!flags.has("--ledger-out") || !options.ledger_out.empty(),
                  "--ledger-out: empty path");

    constexpr double kMaxSeconds = 366.0 * 24 * 3600;
    options.speed = flags.number("--speed", 1, 0, 1e6);
    options.duration_s = flags.seconds("--duration", options.trace.empty() ? 10 : 0, kMaxSeconds);
    flags.require(!options.trace.empty() || options.duration_s > 0,
                  "--duration: must be more than 0 for a scenario");
    options.rate = flags.number("--rate", 0, 0, 1e8);
    options.threads = flags.whole("--threads", 4, 1, 1024);
    options.keys = flags.whole("--keys", 10'000, 1, 1'000'000'000'000ULL);
    options.value_bytes = flags.whole("--value-bytes", 128, 0, 16u << 20);
    if (flags.has("--write-fraction"))
        options.write_fraction = flags.number("--write-fraction", 0, 0, 1);
    options.seed = flags.whole("--seed", 1, 0, UINT64_MAX);
    options.scan_limit = flags.whole("--scan-limit", 100, 1, 10'000);
    options.preload = flags.whole("--preload", 0, 0, UINT64_MAX);
    flags.require(options.preload <= options.keys, "--preload: " + std::to_string(options.preload) +
                                                       " is more than --keys (" +
                                                       std::to_string(options.keys) + ")");
    options.verify = flags.has("--verify");
    options.json = flags.has("--json");
    options.report_every_s = flags.seconds("--report-every", 1, kMaxSeconds);
    options.call_timeout_s = flags.seconds("--call-timeout", 10, 3600);
    flags.require(options.call_timeout_s >= 0.001, "--call-timeout: must be at least 1ms");
    if (flags.error())
        return *flags.error();
    return command;
}

} // namespace rangepilot
