#pragma once

// NodeOptions: the command line of rangepilot-node, parsed and checked before anything opens a
// file or a socket, so a mistake fails at once with a message that names the flag ("--peers:
// 'b=host' is not ID=HOST:PORT") and exit code 2, instead of a half-started node.
//
// Invariants of a parsed NodeOptions (unless help or version was asked for): name and data_dir are
// set; listen and every peer address are HOST:PORT with a port in range (0 only for listen);
// peer ids are distinct and differ from name; tls_cert_file and tls_key_file are both set or both
// empty; token holds the token itself (read from --token-file when that was given) and is
// printable ASCII without spaces, as gRPC metadata values must be.
//
// Cost: linear in the arguments; --token-file is the only file it reads.

#include "result.h"

#include <cstdint>
#include <string>
#include <vector>

namespace rangepilot::node {

inline constexpr const char* kNodeSoftwareVersion =
    PROJECT_VERSION; // from CMake, for all includers

inline constexpr const char* kDefaultListenAddress = "127.0.0.1:7400";
inline constexpr std::uint64_t kDefaultCapacityOps = 20000;

struct PeerAddress {
    std::string id;      // the peer's --name
    std::string address; // host:port it listens on

    bool operator==(const PeerAddress&) const = default;
};

struct NodeOptions {
    std::string name;
    std::string listen = kDefaultListenAddress;
    std::string data_dir;
    std::vector<PeerAddress> peers; // in command-line order
    std::string token;              // empty: no token required
    std::string tls_cert_file;      // PEM certificate chain the node presents
    std::string tls_key_file;       // its private key
    std::string tls_ca_file;        // PEM roots for calls to peers; empty = plaintext to peers
    bool sync_writes = false;
    std::uint64_t capacity_ops = kDefaultCapacityOps;
    double capacity_disk_bps = 0.0; // 0 = unknown
    double capacity_net_bps = 0.0;  // 0 = unknown
    bool help = false;
    bool version = false;

    bool tls() const { return !tls_cert_file.empty(); }
};

// Parses the arguments after the program name. Errors name the flag and the value.
Result<NodeOptions> parseNodeOptions(const std::vector<std::string>& arguments);

// Splits "host:port" (or "[v6]:port"); false when it is not one. The port may be 0.
bool splitHostPort(const std::string& address, std::string& host, std::uint16_t& port);

std::string nodeHelpText();
std::string nodeVersionText();

} // namespace rangepilot::node
