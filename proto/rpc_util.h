#pragma once

// What every gRPC client and server of the protocol shares: channels with the message limits and
// optional TLS, the bearer token, and the EpochMismatch details of a stale-epoch error.
//
// Tokens travel as per-call metadata ("authorization: Bearer <token>") rather than as gRPC call
// credentials, because gRPC refuses to send call credentials over a plaintext channel and a
// loopback test cluster runs without TLS. Over a network, use TLS so the token is not sent in
// clear; the node says so in its startup log when a token is set without TLS.

#include "rangepilot/v1/node.pb.h"
#include "result.h"

#include <cstdint>
#include <grpcpp/grpcpp.h>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rangepilot {

inline constexpr int kMaxMessageBytes = 64 << 20;

struct ChannelSecurity {
    std::string tls_ca_file;     // PEM roots to verify the node's certificate; empty = plaintext
    std::string tls_server_name; // override of the name checked in the certificate (tests)
    std::string token;           // bearer token for mutating and migration calls; empty = none
};

// A channel to "host:port" with the protocol's message limits. An Error names the CA file when
// it cannot be read.
Result<std::shared_ptr<grpc::Channel>> makeChannel(const std::string& address,
                                                   const ChannelSecurity& security);

// Adds the bearer token (if any) to a call.
void addToken(grpc::ClientContext& context, const std::string& token);
// The token a server call carries: the value after "Bearer " of its authorization metadata, or
// nullopt when there is none.
std::optional<std::string> bearerToken(const grpc::ServerContext& context);
// Compares in time independent of where the strings first differ (no early exit).
bool tokensEqual(const std::string& a, const std::string& b);
// Whether `token` can be a bearer token: non-empty printable ASCII without spaces (gRPC metadata
// must be printable, and a space would end "Bearer <token>" early).
bool validToken(std::string_view token);
inline constexpr const char* kInvalidTokenMessage =
    "the token must be printable ASCII without spaces";
// The token a file holds, without the blanks around it (editors and `echo` leave a line break).
// Errors: "<path>: cannot open: ...", "<path> holds no token", and kInvalidTokenMessage; callers
// prefix the flag or setting that named the file.
Result<std::string> readTokenFile(const std::string& path);

// FAILED_PRECONDITION carrying an EpochMismatch in the binary error details.
grpc::Status staleEpochStatus(const std::string& message, const v1::EpochMismatch& details);
// The EpochMismatch of a status made by staleEpochStatus, if it is one.
std::optional<v1::EpochMismatch> epochMismatchOf(const grpc::Status& status);

// "UNAVAILABLE: connection refused" for logs and error messages.
std::string describeStatus(const grpc::Status& status);

// Reads a whole file (certificates, keys, token files); the Error names the path.
Result<std::string> readFileText(const std::string& path);

} // namespace rangepilot
