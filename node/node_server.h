#pragma once

// NodeServer: one rangepilot-node process put together: the store, the hybrid clock, the links to
// the peers, the NodeAgent service and the gRPC server, started in an order that never serves
// anything the node should not, and stopped in one that loses nothing acknowledged.
//
// Startup: open the store under --data-dir; restore the HLC floor (so versions keep growing across
// restarts) and the installed ownership table from its meta; ask every peer for its table and
// adopt the newest valid one if it is newer than ours (a node that missed a cutover while down
// must not serve a range it lost); only then bind and serve.
//
// Shutdown (SIGTERM or SIGINT, see runNode): end the statistics streams, stop accepting and give
// the calls in flight a few seconds, stop the pings, flush the store and persist the HLC floor.
// The floor is also persisted once a second while running, so after a kill -9 the clock restarts
// above nearly everything it issued even if the wall clock stepped back meanwhile.
//
// Signals are handled without a signal handler: runNode blocks SIGTERM and SIGINT before any thread
// exists (so every thread inherits the mask) and the main thread waits for them with sigtimedwait;
// no gRPC call ever runs in signal context.

#include "hybrid_clock.h"
#include "node_options.h"
#include "node_service.h"
#include "node_store.h"
#include "peer_links.h"
#include "result.h"

#include <grpcpp/grpcpp.h>
#include <memory>
#include <string>

namespace rangepilot::node {

class NodeServer {
public:
    // Everything up to a bound, serving server. Errors say what failed ("--data-dir /x: ...",
    // "cannot listen on 127.0.0.1:7400 ...").
    static Result<std::unique_ptr<NodeServer>> start(const NodeOptions& options);
    ~NodeServer(); // shuts down if shutdown() was not called

    NodeServer(const NodeServer&) = delete;
    NodeServer& operator=(const NodeServer&) = delete;

    // "host:port" with the port actually bound (useful with port 0).
    const std::string& listenAddress() const { return m_listenAddress; }
    NodeService& service() { return *m_service; }

    // Writes the clock's current timestamp to the store's meta (synced).
    Status persistClockFloor();
    // The graceful stop described above; idempotent. An Error when flushing or persisting failed.
    Status shutdown();

private:
    explicit NodeServer(const NodeOptions& options);
    Status loadCredentials(); // TLS files, read before anything else is opened
    Status openStore();
    Status restoreClockFloor();
    Status createService();
    // Installs the newest peer table that is newer than ours; peers that do not answer are noted
    // on stderr and otherwise ignored.
    void adoptNewerPeerTable();
    Status startServer();

    NodeOptions m_options;
    std::unique_ptr<NodeStore> m_store;
    std::unique_ptr<HybridClock> m_clock;
    std::unique_ptr<PeerLinks> m_peers;
    std::unique_ptr<NodeService> m_service;
    std::shared_ptr<grpc::ServerCredentials> m_credentials;
    std::unique_ptr<grpc::Server> m_server;
    std::string m_listenAddress;
    bool m_stopped = false;
};

// The process: blocks SIGTERM and SIGINT, starts the server, prints "rangepilot-node <id>
// listening on <host>:<port>" to stdout, waits for a signal and shuts down. Returns the exit code:
// 0 after a clean stop, 1 when starting or stopping failed (the reason goes to stderr).
int runNode(const NodeOptions& options);

} // namespace rangepilot::node
