#include "node_options.h"

#include "rpc_util.h"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

namespace rangepilot::node {

namespace {

// One flag of the command line: its value's name ("" for a switch) and its help line.
struct FlagSpec {
    const char* name;
    const char* valueName;
    const char* help;
};

constexpr FlagSpec kFlags[] = {
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
    {"--help", "", "show this help and exit"},
};

const FlagSpec* findFlag(std::string_view name) {
    for (const FlagSpec& flag : kFlags) {
        if (name == flag.name)
            return &flag;
    }
    return nullptr;
}

std::string quoted(std::string_view text) {
    return "'" + std::string(text) + "'";
}

// Flag name → value ("" for switches), each flag at most once.
using FlagValues = std::map<std::string, std::string, std::less<>>;

Result<FlagValues> collectFlags(const std::vector<std::string>& arguments) {
    FlagValues values;
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        const std::string& argument = arguments[i];
        if (!argument.starts_with("--"))
            return Error{"unexpected argument " + quoted(argument) + " (see --help)"};
        const std::size_t equals = argument.find('=');
        const std::string name = argument.substr(0, equals);
        const FlagSpec* flag = findFlag(name);
        if (flag == nullptr)
            return Error{"unknown flag " + quoted(name) + " (see --help)"};
        if (values.count(name) > 0)
            return Error{name + ": given twice"};
        const bool takesValue = *flag->valueName != '\0';
        if (!takesValue) {
            if (equals != std::string::npos)
                return Error{name + ": takes no value"};
            values[name] = std::string();
        } else if (equals != std::string::npos) {
            values[name] = argument.substr(equals + 1);
        } else if (i + 1 < arguments.size()) {
            values[name] = arguments[++i];
        } else {
            return Error{name + ": needs a value (" + flag->valueName + ")"};
        }
    }
    return values;
}

// Node ids appear in tables, in --peers lists and in logs: no separators, no spaces.
Status checkNodeId(std::string_view flag, std::string_view id) {
    if (id.empty())
        return Error{std::string(flag) + ": empty node id"};
    for (const char c : id) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= ' ' || byte >= 0x7f || c == ',' || c == '=')
            return Error{std::string(flag) + ": node id " + quoted(id) +
                         " must be printable ASCII without spaces, ',' or '='"};
    }
    return Status::success();
}

Status checkAddress(std::string_view flag, const std::string& address, bool allowPortZero) {
    std::string host;
    std::uint16_t port = 0;
    if (!splitHostPort(address, host, port))
        return Error{std::string(flag) + ": " + quoted(address) + " is not HOST:PORT"};
    if (port == 0 && !allowPortZero)
        return Error{std::string(flag) + ": " + quoted(address) + " needs a port other than 0"};
    return Status::success();
}

Result<std::vector<PeerAddress>> parsePeers(const std::string& name, const std::string& text) {
    std::vector<PeerAddress> peers;
    std::set<std::string, std::less<>> seen;
    std::size_t begin = 0;
    while (begin <= text.size()) {
        std::size_t end = text.find(',', begin);
        if (end == std::string::npos)
            end = text.size();
        const std::string item = text.substr(begin, end - begin);
        begin = end + 1;
        const std::size_t equals = item.find('=');
        if (equals == std::string::npos || equals == 0)
            return Error{"--peers: " + quoted(item) + " is not ID=HOST:PORT"};
        PeerAddress peer{item.substr(0, equals), item.substr(equals + 1)};
        if (Status id = checkNodeId("--peers", peer.id); !id)
            return Error{id.message()};
        if (Status address = checkAddress("--peers", peer.address, false); !address)
            return Error{address.message()};
        if (peer.id == name)
            return Error{"--peers: " + quoted(peer.id) + " is this node's own --name"};
        if (!seen.insert(peer.id).second)
            return Error{"--peers: node " + quoted(peer.id) + " listed twice"};
        peers.push_back(std::move(peer));
    }
    return peers;
}

Status checkToken(std::string_view flag, std::string_view token) {
    if (token.empty())
        return Error{std::string(flag) + ": empty token"};
    if (!validToken(token))
        return Error{std::string(flag) + ": " + kInvalidTokenMessage};
    return Status::success();
}

Result<std::string> resolveToken(const FlagValues& values) {
    const auto inline_ = values.find("--token");
    const auto file = values.find("--token-file");
    if (inline_ != values.end() && file != values.end())
        return Error{"--token and --token-file: give one, not both"};
    if (inline_ != values.end()) {
        if (Status valid = checkToken("--token", inline_->second); !valid)
            return Error{valid.message()};
        return inline_->second;
    }
    if (file != values.end()) {
        Result<std::string> token = readTokenFile(file->second);
        if (!token)
            return Error{"--token-file: " + token.error().message};
        return token;
    }
    return std::string();
}

Result<std::uint64_t> positiveInteger(std::string_view flag, const std::string& text) {
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (error != std::errc() || stop != end || value == 0)
        return Error{std::string(flag) + ": " + quoted(text) + " is not a positive integer"};
    return value;
}

Result<double> nonNegativeNumber(std::string_view flag, const std::string& text) {
    std::istringstream stream(text);
    stream.imbue(std::locale::classic());
    double value = 0.0;
    stream >> value;
    if (text.empty() || !stream || !stream.eof() || !std::isfinite(value) || value < 0.0)
        return Error{std::string(flag) + ": " + quoted(text) + " is not a number >= 0"};
    return value;
}

std::string valueOr(const FlagValues& values, std::string_view flag, std::string fallback) {
    const auto found = values.find(flag);
    return found == values.end() ? std::move(fallback) : found->second;
}

Status fillIdentity(const FlagValues& values, NodeOptions& options) {
    if (values.count("--name") == 0)
        return Error{"--name: required (this node's id in ownership tables)"};
    options.name = values.find("--name")->second;
    if (Status id = checkNodeId("--name", options.name); !id)
        return id;
    if (values.count("--data-dir") == 0)
        return Error{"--data-dir: required (where the node keeps its database)"};
    options.data_dir = values.find("--data-dir")->second;
    if (options.data_dir.empty())
        return Error{"--data-dir: empty path"};
    options.listen = valueOr(values, "--listen", kDefaultListenAddress);
    if (Status listen = checkAddress("--listen", options.listen, true); !listen)
        return listen;
    if (values.count("--peers") > 0) {
        Result<std::vector<PeerAddress>> peers = parsePeers(options.name, values.at("--peers"));
        if (!peers)
            return peers.error();
        options.peers = std::move(peers.value());
    }
    return Status::success();
}

Status fillSecurity(const FlagValues& values, NodeOptions& options) {
    Result<std::string> token = resolveToken(values);
    if (!token)
        return token.error();
    options.token = std::move(token.value());
    options.tls_cert_file = valueOr(values, "--tls-cert", {});
    options.tls_key_file = valueOr(values, "--tls-key", {});
    options.tls_ca_file = valueOr(values, "--tls-ca", {});
    const bool cert = values.count("--tls-cert") > 0;
    const bool key = values.count("--tls-key") > 0;
    if (cert != key)
        return Error{"--tls-cert and --tls-key: give both or neither"};
    for (const char* flag : {"--tls-cert", "--tls-key", "--tls-ca"}) {
        const auto found = values.find(std::string_view(flag));
        if (found != values.end() && found->second.empty())
            return Error{std::string(flag) + ": empty path"};
    }
    return Status::success();
}

Status fillCapacity(const FlagValues& values, NodeOptions& options) {
    if (const auto ops = values.find("--capacity-ops"); ops != values.end()) {
        Result<std::uint64_t> parsed = positiveInteger("--capacity-ops", ops->second);
        if (!parsed)
            return parsed.error();
        options.capacity_ops = parsed.value();
    }
    if (const auto disk = values.find("--capacity-disk-bps"); disk != values.end()) {
        Result<double> parsed = nonNegativeNumber("--capacity-disk-bps", disk->second);
        if (!parsed)
            return parsed.error();
        options.capacity_disk_bps = parsed.value();
    }
    if (const auto net = values.find("--capacity-net-bps"); net != values.end()) {
        Result<double> parsed = nonNegativeNumber("--capacity-net-bps", net->second);
        if (!parsed)
            return parsed.error();
        options.capacity_net_bps = parsed.value();
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
    Result<FlagValues> values = collectFlags(arguments);
    if (!values)
        return values.error();
    NodeOptions options;
    options.help = values->count("--help") > 0;
    options.version = values->count("--version") > 0;
    if (options.help || options.version)
        return options; // nothing else matters; main prints and exits
    options.sync_writes = values->count("--sync-writes") > 0;
    if (Status identity = fillIdentity(*values, options); !identity)
        return Error{identity.message()};
    if (Status security = fillSecurity(*values, options); !security)
        return Error{security.message()};
    if (Status capacity = fillCapacity(*values, options); !capacity)
        return Error{capacity.message()};
    return options;
}

std::string nodeHelpText() {
    std::ostringstream out;
    out << "Usage: rangepilot-node --name ID --data-dir DIR [options]\n\n"
           "The RangePilot node agent: serves a range-sharded, versioned key-value store over "
           "gRPC\n"
           "(rangepilot.v1.NodeAgent) with RocksDB storage, reports its load and capacity, and\n"
           "takes part in shadowed migrations. SIGTERM or SIGINT stops it gracefully.\n\n"
           "Options:\n";
    for (const FlagSpec& flag : kFlags) {
        std::string left = std::string("  ") + flag.name;
        if (*flag.valueName != '\0')
            left += std::string(" ") + flag.valueName;
        out << left;
        constexpr std::size_t column = 34;
        if (left.size() < column)
            out << std::string(column - left.size(), ' ');
        else
            out << "\n" << std::string(column, ' ');
        out << flag.help << "\n";
    }
    return out.str();
}

std::string nodeVersionText() {
    return std::string("rangepilot-node ") + kNodeSoftwareVersion + "\n";
}

} // namespace rangepilot::node
