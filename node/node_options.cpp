#include "node_options.h"

#include "cli_options.h"
#include "rpc_util.h"

#include <charconv>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

namespace rangepilot::node {

namespace {

constexpr OptionSpec kFlags[] = {
    {"--name", "ID", "this node's id, as ownership tables name it (required)"},
    {"--listen", "HOST:PORT", "address to serve on (default 127.0.0.1:7400; port 0 = any free)"},
    {"--data-dir", "DIR", "directory of the node's database (required; created if missing)"},
    {"--peers", "ID=HOST:PORT,...", "the other nodes of the cluster"},
    {"--token", "TOKEN", "bearer token required by mutating and migration calls"},
    {"--token-file", "FILE", "read the token from FILE instead (trailing newline ignored)"},
    {"--tls-cert", "FILE", "PEM certificate chain to serve TLS with (needs --tls-key)"},
    {"--tls-key", "FILE", "PEM private key of --tls-cert"},
    {"--tls-ca", "FILE", "PEM roots that verify the peers' certificates (TLS to peers)"},
    {"--sync-writes", "", "fsync the write-ahead log on every write (survives power loss)"},
    {"--capacity-ops", "N", "requests per second this node is sized for (default 20000)"},
    {"--capacity-disk-bps", "BYTES", "disk bytes per second it can sustain (default 0 = unknown)"},
    {"--capacity-net-bps", "BYTES", "network bytes per second (default 0 = unknown)"},
    {"--version", "", "print the version and exit"},
};

// The shared command line, declared once so --help and the parser read the same list.
CommandLine declaredCommandLine() {
    CommandLine commandLine(
        "rangepilot-node --name ID --data-dir DIR [options]",
        "The RangePilot node agent: serves a range-sharded, versioned key-value store over gRPC\n"
        "(rangepilot.v1.NodeAgent) with RocksDB storage, reports its load and capacity, and\n"
        "takes part in shadowed migrations. SIGTERM or SIGINT stops it gracefully.");
    // A node's flags are its identity and its security: a repeated one is a mistake to refuse,
    // not an override to guess at.
    commandLine.rejectRepeatedOptions();
    commandLine.addAll(kFlags);
    return commandLine;
}

std::string quoted(std::string_view text) {
    return "'" + std::string(text) + "'";
}

// Node ids appear in tables, in --peers lists and in logs: no separators, no spaces.
Status checkNodeId(const std::string& flag, std::string_view id) {
    if (id.empty())
        return Error{flag + ": empty node id"};
    for (const char c : id) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= ' ' || byte >= 0x7f || c == ',' || c == '=')
            return Error{flag + ": node id " + quoted(id) +
                         " must be printable ASCII without spaces, ',' or '='"};
    }
    return Status::success();
}

Status checkAddress(const std::string& flag, const std::string& address, bool allowPortZero) {
    std::string host;
    std::uint16_t port = 0;
    if (!splitHostPort(address, host, port))
        return Error{flag + ": " + quoted(address) + " is not HOST:PORT"};
    if (port == 0 && !allowPortZero)
        return Error{flag + ": " + quoted(address) + " needs a port other than 0"};
    return Status::success();
}

Status fillPeers(const CommandLine& commandLine, NodeOptions& options) {
    std::set<std::string, std::less<>> seen;
    for (const std::string& item : commandLine.list("--peers")) {
        const std::size_t equals = item.find('=');
        if (equals == std::string::npos || equals == 0)
            return Error{"--peers: " + quoted(item) + " is not ID=HOST:PORT"};
        PeerAddress peer{item.substr(0, equals), item.substr(equals + 1)};
        if (Status id = checkNodeId("--peers", peer.id); !id)
            return id;
        if (Status address = checkAddress("--peers", peer.address, false); !address)
            return address;
        if (peer.id == options.name)
            return Error{"--peers: " + quoted(peer.id) + " is this node's own --name"};
        if (!seen.insert(peer.id).second)
            return Error{"--peers: node " + quoted(peer.id) + " listed twice"};
        options.peers.push_back(std::move(peer));
    }
    return Status::success();
}

Status fillIdentity(const CommandLine& commandLine, NodeOptions& options) {
    if (!commandLine.has("--name"))
        return Error{"--name: required (this node's id in ownership tables)"};
    options.name = commandLine.valueOr("--name", {});
    if (Status id = checkNodeId("--name", options.name); !id)
        return id;
    if (!commandLine.has("--data-dir"))
        return Error{"--data-dir: required (where the node keeps its database)"};
    options.data_dir = commandLine.valueOr("--data-dir", {});
    if (options.data_dir.empty())
        return Error{"--data-dir: empty path"};
    options.listen = commandLine.valueOr("--listen", kDefaultListenAddress);
    if (Status listen = checkAddress("--listen", options.listen, true); !listen)
        return listen;
    return fillPeers(commandLine, options);
}

Status fillToken(const CommandLine& commandLine, NodeOptions& options) {
    if (commandLine.has("--token") && commandLine.has("--token-file"))
        return Error{"--token and --token-file: give one, not both"};
    if (commandLine.has("--token")) {
        options.token = commandLine.valueOr("--token", {});
        if (options.token.empty())
            return Error{"--token: empty token"};
        if (!validToken(options.token))
            return Error{std::string("--token: ") + kInvalidTokenMessage};
    }
    if (commandLine.has("--token-file")) {
        Result<std::string> token = readTokenFile(commandLine.valueOr("--token-file", {}));
        if (!token)
            return Error{"--token-file: " + token.error().message};
        options.token = std::move(token.value());
    }
    return Status::success();
}

Status fillTls(const CommandLine& commandLine, NodeOptions& options) {
    if (commandLine.has("--tls-cert") != commandLine.has("--tls-key"))
        return Error{"--tls-cert and --tls-key: give both or neither"};
    for (const char* flag : {"--tls-cert", "--tls-key", "--tls-ca"}) {
        if (commandLine.has(flag) && commandLine.valueOr(flag, {}).empty())
            return Error{std::string(flag) + ": empty path"};
    }
    options.tls_cert_file = commandLine.valueOr("--tls-cert", {});
    options.tls_key_file = commandLine.valueOr("--tls-key", {});
    options.tls_ca_file = commandLine.valueOr("--tls-ca", {});
    return Status::success();
}

// CommandLine converts the numbers; a refusal is worded by what the flag needs, whether the text
// was no number at all or a number out of range.
Status fillCapacity(const CommandLine& commandLine, NodeOptions& options) {
    const auto refuse = [&](const std::string& flag, const char* needed) {
        return Error{flag + ": " + quoted(commandLine.valueOr(flag, {})) + " is not " + needed};
    };
    const Result<std::int64_t> ops = commandLine.integer("--capacity-ops", kDefaultCapacityOps, 1,
                                                         std::numeric_limits<std::int64_t>::max());
    if (!ops)
        return refuse("--capacity-ops", "a positive integer");
    options.capacity_ops = static_cast<std::uint64_t>(ops.value());
    for (auto [flag, field] : {std::pair{"--capacity-disk-bps", &options.capacity_disk_bps},
                               std::pair{"--capacity-net-bps", &options.capacity_net_bps}}) {
        const Result<double> bps =
            commandLine.number(flag, 0.0, 0.0, std::numeric_limits<double>::max());
        if (!bps)
            return refuse(flag, "a number >= 0");
        *field = bps.value();
    }
    return Status::success();
}

} // namespace

bool splitHostPort(const std::string& address, std::string& host, std::uint16_t& port) {
    const std::size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
        return false;
    host = address.substr(0, colon);
    if (host.front() == '[') {
        // "[::1]:7400": an IPv6 literal must be bracketed because it holds colons itself.
        if (host.size() < 3 || host.back() != ']')
            return false;
    } else if (host.find(':') != std::string::npos) {
        return false;
    }
    const char* begin = address.data() + colon + 1;
    const char* end = address.data() + address.size();
    unsigned value = 0;
    const auto [stop, error] = std::from_chars(begin, end, value);
    if (error != std::errc() || stop != end || value > 65535)
        return false;
    port = static_cast<std::uint16_t>(value);
    return true;
}

Result<NodeOptions> parseNodeOptions(const std::vector<std::string>& arguments) {
    CommandLine commandLine = declaredCommandLine();
    if (Status parsed = commandLine.parse(arguments); !parsed)
        return Error{parsed.message()};
    if (!commandLine.positionals().empty())
        return Error{"unexpected argument " + quoted(commandLine.positionals().front()) +
                     " (see --help)"};
    NodeOptions options;
    options.help = commandLine.helpRequested();
    options.version = commandLine.has("--version");
    if (options.help || options.version)
        return options; // nothing else matters; main prints and exits
    options.sync_writes = commandLine.has("--sync-writes");
    for (const auto fill : {fillIdentity, fillToken, fillTls, fillCapacity}) {
        if (Status filled = fill(commandLine, options); !filled)
            return Error{filled.message()};
    }
    return options;
}

std::string nodeHelpText() {
    return declaredCommandLine().helpText();
}

std::string nodeVersionText() {
    return std::string("rangepilot-node ") + kNodeSoftwareVersion + "\n";
}

} // namespace rangepilot::node
