#include "node_server.h"

#include "proto_convert.h"
#include "rpc_util.h"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <pthread.h>

namespace rangepilot::node {

namespace {

// Long enough for a Put of 16 MiB in flight to finish, short enough for a supervisor's patience.
constexpr auto kShutdownGrace = std::chrono::seconds(3);
constexpr auto kPeerTableDeadline = std::chrono::milliseconds(1500);
constexpr auto kFloorPersistPeriod = std::chrono::seconds(1);

std::int64_t unixNowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void logLine(const std::string& node, const std::string& text) {
    std::cerr << "rangepilot-node " << node << ": " << text << std::endl;
}

// Capacity as the planner sees it: the operator's figures where only they can know, the
// machine's where /proc can tell.
v1::Resources capacityOf(const NodeOptions& options) {
    v1::Resources capacity;
    capacity.set_ops_per_s(static_cast<double>(options.capacity_ops));
    capacity.set_disk_bytes_per_s(options.capacity_disk_bps);
    capacity.set_network_bytes_per_s(options.capacity_net_bps);
    Result<ProcSample> sample = readProcSample();
    if (sample) {
        capacity.set_memory_bytes(static_cast<double>(sample->memory.total_bytes));
        capacity.set_cpu_cores(sample->cpu_cores);
        capacity.set_service_us_per_s(sample->cpu_cores * 1e6);
    }
    return capacity;
}

sigset_t stopSignals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    return signals;
}

// Blocks until SIGTERM or SIGINT arrives, persisting the clock floor once a period meanwhile.
int waitForStopSignal(NodeServer& server, const sigset_t& signals) {
    const auto period = std::chrono::duration_cast<std::chrono::seconds>(kFloorPersistPeriod);
    const timespec timeout{static_cast<time_t>(period.count()), 0};
    for (;;) {
        const int signal = sigtimedwait(&signals, nullptr, &timeout);
        if (signal > 0)
            return signal;
        if (errno == EAGAIN) {
            if (Status persisted = server.persistClockFloor(); !persisted)
                std::cerr << "rangepilot-node: " << persisted.message() << std::endl;
        }
        // EINTR: some other signal interrupted the wait; wait again.
    }
}

} // namespace

NodeServer::NodeServer(const NodeOptions& options)
    : m_options(options) {}

NodeServer::~NodeServer() {
    if (Status stopped = shutdown(); !stopped)
        std::cerr << "rangepilot-node: " << stopped.message() << std::endl;
}

Result<std::unique_ptr<NodeServer>> NodeServer::start(const NodeOptions& options) {
    std::unique_ptr<NodeServer> server(new NodeServer(options));
    for (Status (NodeServer::*step)() :
         {&NodeServer::loadCredentials, &NodeServer::openStore, &NodeServer::restoreClockFloor,
          &NodeServer::createService}) {
        if (Status done = (server.get()->*step)(); !done) {
            server->m_stopped = true; // nothing is serving yet: just close
            return Error{done.message()};
        }
    }
    server->adoptNewerPeerTable();
    if (Status started = server->startServer(); !started) {
        server->m_stopped = true;
        return Error{started.message()};
    }
    return server;
}

Status NodeServer::openStore() {
    const std::string& directory = m_options.data_dir;
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    if (error)
        return Error{"--data-dir " + directory + ": cannot create it: " + error.message()};
    NodeStoreOptions storeOptions;
    storeOptions.sync_writes = m_options.sync_writes;
    Result<std::unique_ptr<NodeStore>> store =
        NodeStore::open((std::filesystem::path(directory) / "db").string(), storeOptions);
    if (!store) {
        const std::string& message = store.error().message;
        const bool locked =
            message.find("lock") != std::string::npos || message.find("LOCK") != std::string::npos;
        return Error{"--data-dir " + directory + ": " +
                     (locked ? "locked by another process (is a node already running on it?): "
                             : "cannot open the database: ") +
                     message};
    }
    m_store = std::move(store.value());
    return Status::success();
}

Status NodeServer::restoreClockFloor() {
    m_clock = std::make_unique<HybridClock>();
    Result<std::optional<std::string>> floor = m_store->getMeta(kMetaHlcFloorKey);
    if (!floor)
        return Error{"reading the HLC floor: " + floor.error().message};
    if (!floor->has_value())
        return Status::success();
    const std::string& text = **floor;
    HlcTimestamp value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
        return Error{"the persisted HLC floor '" + text + "' is not a number"};
    m_clock->observe(value);
    return Status::success();
}

Status NodeServer::createService() {
    ChannelSecurity peerSecurity;
    peerSecurity.tls_ca_file = m_options.tls_ca_file;
    peerSecurity.token = m_options.token; // a cluster shares one token
    Result<std::unique_ptr<PeerLinks>> peers =
        PeerLinks::create(m_options.name, m_options.peers, peerSecurity);
    if (!peers)
        return Error{"--peers: " + peers.error().message};
    m_peers = std::move(peers.value());

    NodeServiceConfig config;
    config.node_id = m_options.name;
    config.token = m_options.token;
    config.tls = m_options.tls();
    config.capacity = capacityOf(m_options);
    config.peer_security = peerSecurity;
    config.started_unix_ms = unixNowMs();
    m_service = std::make_unique<NodeService>(std::move(config), *m_store, *m_clock, m_peers.get());
    if (Status loaded = m_service->loadPersistedTable(); !loaded)
        return Error{"--data-dir " + m_options.data_dir + ": " + loaded.message()};
    // A fence that did not survive would let the node serve a range whose move may be committed.
    if (Status fences = m_service->migrations().restoreStatus(); !fences)
        return Error{"--data-dir " + m_options.data_dir + ": " + fences.message()};
    return Status::success();
}

void NodeServer::adoptNewerPeerTable() {
    if (m_peers->size() == 0)
        return;
    std::vector<std::string> failures;
    const std::vector<PeerTable> tables = m_peers->fetchTables(kPeerTableDeadline, &failures);
    const PeerTable* newest = nullptr;
    for (const PeerTable& candidate : tables) {
        // Only a table that validates counts; a confused peer must not take our ranges away.
        Result<OwnershipTable> valid = fromProto(candidate.table, "peer " + candidate.peer_id);
        if (!valid) {
            logLine(m_options.name, "ignoring the table of " + valid.error().message);
            continue;
        }
        if (newest == nullptr || candidate.table.epoch() > newest->table.epoch())
            newest = &candidate;
    }
    const std::uint64_t own = m_service->epoch();
    if (newest == nullptr || newest->table.epoch() <= own)
        return;
    v1::InstallTableResponse installed;
    const grpc::Status status = m_service->installTable(newest->table, &installed);
    if (status.ok()) {
        logLine(m_options.name, "adopted epoch " + std::to_string(installed.epoch()) +
                                    " from peer " + newest->peer_id + " (had " +
                                    std::to_string(own) + ")");
    } else {
        logLine(m_options.name, "could not adopt the table of peer " + newest->peer_id + ": " +
                                    describeStatus(status));
    }
}

Status NodeServer::loadCredentials() {
    // First of all: a typo in a certificate path should not cost a database open.
    m_credentials = grpc::InsecureServerCredentials();
    if (m_options.tls()) {
        Result<std::string> certificate = readFileText(m_options.tls_cert_file);
        if (!certificate)
            return Error{"--tls-cert: " + certificate.error().message};
        Result<std::string> key = readFileText(m_options.tls_key_file);
        if (!key)
            return Error{"--tls-key: " + key.error().message};
        grpc::SslServerCredentialsOptions ssl;
        ssl.pem_key_cert_pairs.push_back({key.value(), certificate.value()});
        m_credentials = grpc::SslServerCredentials(ssl);
    } else if (!m_options.token.empty()) {
        logLine(m_options.name, "warning: a token without TLS travels in clear text");
    }
    return Status::success();
}

Status NodeServer::startServer() {
    grpc::ServerBuilder builder;
    int boundPort = 0;
    builder.AddListeningPort(m_options.listen, m_credentials, &boundPort);
    builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
    builder.SetMaxSendMessageSize(kMaxMessageBytes);
    // gRPC binds with SO_REUSEPORT by default: two nodes could then share a port silently.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.RegisterService(m_service.get());
    m_server = builder.BuildAndStart();
    if (!m_server || boundPort == 0)
        return Error{"cannot listen on " + m_options.listen +
                     " (address in use, or not an address of this machine)"};

    std::string host;
    std::uint16_t requestedPort = 0;
    splitHostPort(m_options.listen, host, requestedPort);
    m_listenAddress = host + ":" + std::to_string(boundPort);
    m_service->setListenAddress(m_listenAddress);
    m_peers->start();
    return Status::success();
}

Status NodeServer::persistClockFloor() {
    return m_store->putMeta(kMetaHlcFloorKey, std::to_string(m_clock->last()));
}

Status NodeServer::shutdown() {
    if (m_stopped)
        return Status::success();
    m_stopped = true;
    m_service->beginShutdown();
    m_server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
    m_server->Wait();
    m_peers->stop();
    if (Status flushed = m_store->flush(); !flushed)
        return Error{"flushing the store: " + flushed.message()};
    if (Status persisted = persistClockFloor(); !persisted)
        return Error{"persisting the HLC floor: " + persisted.message()};
    return Status::success();
}

int runNode(const NodeOptions& options) {
    // Before any thread exists, so that gRPC's and RocksDB's threads inherit the mask and the
    // signals wait for sigtimedwait below instead of killing the process.
    const sigset_t signals = stopSignals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    Result<std::unique_ptr<NodeServer>> server = NodeServer::start(options);
    if (!server) {
        std::cerr << "rangepilot-node: " << server.error().message << std::endl;
        return 1;
    }
    std::cout << "rangepilot-node " << options.name << " listening on "
              << server.value()->listenAddress() << std::endl;

    const int signal = waitForStopSignal(*server.value(), signals);
    logLine(options.name,
            std::string(signal == SIGINT ? "SIGINT" : "SIGTERM") + " received, stopping");
    Status stopped = server.value()->shutdown();
    if (!stopped) {
        std::cerr << "rangepilot-node: " << stopped.message() << std::endl;
        return 1;
    }
    logLine(options.name, "stopped");
    return 0;
}

} // namespace rangepilot::node
