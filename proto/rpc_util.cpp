#include "rpc_util.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace rangepilot {

namespace {

constexpr const char* kAuthorizationHeader = "authorization";
constexpr std::string_view kBearerPrefix = "Bearer ";

const char* statusCodeName(grpc::StatusCode code) {
    switch (code) {
    case grpc::StatusCode::OK:
        return "OK";
    case grpc::StatusCode::CANCELLED:
        return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
        return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
        return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
        return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
        return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
        return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
        return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
        return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
        return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
        return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
        return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
        return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
        return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
        return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
        return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
        return "UNAUTHENTICATED";
    default:
        return "status";
    }
}

} // namespace

Result<std::string> readFileText(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file)
        return Error{path + ": cannot open: " + std::strerror(errno)};
    std::ostringstream contents;
    contents << file.rdbuf();
    if (file.bad())
        return Error{path + ": read failed"};
    return contents.str();
}

Result<std::shared_ptr<grpc::Channel>> makeChannel(const std::string& address,
                                                   const ChannelSecurity& security) {
    grpc::ChannelArguments arguments;
    arguments.SetMaxReceiveMessageSize(kMaxMessageBytes);
    arguments.SetMaxSendMessageSize(kMaxMessageBytes);
    // gRPC's default reconnect backoff grows to two minutes: a client of a node that restarted
    // would wait that long. Nodes restart in seconds, so retry connecting at least every second.
    arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // Each channel its own connections: with gRPC's global subchannel pool a channel made after a
    // node restarted could inherit the dead connection of an older one and fail its first call.
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
    if (!security.tls_ca_file.empty()) {
        Result<std::string> roots = readFileText(security.tls_ca_file);
        if (!roots)
            return Error{"TLS CA: " + roots.error().message};
        grpc::SslCredentialsOptions options;
        options.pem_root_certs = std::move(roots.value());
        credentials = grpc::SslCredentials(options);
        if (!security.tls_server_name.empty())
            arguments.SetSslTargetNameOverride(security.tls_server_name);
    }
    return grpc::CreateCustomChannel(address, credentials, arguments);
}

void addToken(grpc::ClientContext& context, const std::string& token) {
    if (!token.empty())
        context.AddMetadata(kAuthorizationHeader, std::string(kBearerPrefix) + token);
}

std::optional<std::string> bearerToken(const grpc::ServerContext& context) {
    const auto& metadata = context.client_metadata();
    const auto found = metadata.find(kAuthorizationHeader);
    if (found == metadata.end())
        return std::nullopt;
    const std::string_view value(found->second.data(), found->second.size());
    if (!value.starts_with(kBearerPrefix))
        return std::nullopt;
    return std::string(value.substr(kBearerPrefix.size()));
}

bool tokensEqual(const std::string& a, const std::string& b) {
    // Length differences still leak, which is fine: the length of a token is not a secret worth
    // protecting, its bytes are.
    unsigned char difference = a.size() == b.size() ? 0 : 1;
    const std::size_t length = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < length; ++i)
        difference |= static_cast<unsigned char>(a[i] ^ b[i]);
    return difference == 0;
}

bool validToken(std::string_view token) {
    return !token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte > ' ' && byte < 0x7f;
    });
}

Result<std::string> readTokenFile(const std::string& path) {
    Result<std::string> text = readFileText(path);
    if (!text)
        return text;
    const std::string_view blanks = " \t\r\n";
    const std::string& raw = text.value();
    const std::size_t first = raw.find_first_not_of(blanks);
    if (first == std::string::npos)
        return Error{path + " holds no token"};
    std::string token = raw.substr(first, raw.find_last_not_of(blanks) - first + 1);
    if (!validToken(token))
        return Error{kInvalidTokenMessage};
    return token;
}

grpc::Status staleEpochStatus(const std::string& message, const v1::EpochMismatch& details) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, message,
                        details.SerializeAsString());
}

std::optional<v1::EpochMismatch> epochMismatchOf(const grpc::Status& status) {
    if (status.error_code() != grpc::StatusCode::FAILED_PRECONDITION ||
        status.error_details().empty())
        return std::nullopt;
    v1::EpochMismatch details;
    if (!details.ParseFromString(status.error_details()))
        return std::nullopt;
    return details;
}

std::string describeStatus(const grpc::Status& status) {
    return std::string(statusCodeName(status.error_code())) + ": " + status.error_message();
}

} // namespace rangepilot
