#pragma once

// The end-to-end test harness: real rangepilot-node processes on free loopback ports, each with
// its own data directory, started, stopped, killed and restarted by tests; and a NodeCluster of N
// such nodes that know each other as peers, share an optional token and TLS certificate, and start
// with one ownership table installed on every node.
//
// Ports: a lone node is started with --listen 127.0.0.1:0 and its port read from its "listening
// on" line (no race). A cluster must know every port before the first node starts (the --peers
// lists name them), so it binds port 0 on 127.0.0.1 once per node, notes the ports and closes the
// sockets; another process may take one before its node binds, so when a node then fails to bind
// every node is started again on new ports. A restart reuses the node's port, which peers know.
//
// Logs: a node's stderr goes to "<data dir>.stderr.log" (a file, not a pipe, so a chatty node
// never blocks on a full pipe while a test makes blocking gRPC calls) and accumulates across
// restarts; it is printed when the current test has failed (from the destructor) or on demand.
//
// Channels: each NodeProcess caches its channels and makes new ones after every (re)start (an old
// channel would send its first call down the dead connection of a killed process), so a Stub&
// from stub() is valid until the node is started again. Contexts from NodeCluster::context() wait
// for the channel to be ready within their deadline.
//
// Not thread-safe: one test thread drives it. Qt is allowed here (tests only).

#include "key.h"
#include "ownership_table.h"
#include "rangepilot/v1/node.grpc.pb.h"
#include "result.h"
#include "rpc_util.h"

#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rangepilot::e2e {

inline constexpr int kNodeStartTimeoutMs = 20000;
inline constexpr int kDefaultCallTimeoutMs = 10000;

// A TCP port on 127.0.0.1 that was free when asked; 0 when none could be bound.
quint16 findFreeLoopbackPort();

// How a process that was run to its end ended.
struct ProcessOutcome {
    bool started = false;
    bool timedOut = false; // killed after the timeout
    bool crashed = false;  // ended by a signal
    int exitCode = -1;
    QByteArray standardOutput;
    QByteArray standardError;
};
// Runs `program` to completion (for one-shot tools: openssl, rangepilot-load, --help checks).
ProcessOutcome runToCompletion(const QString& program, const QStringList& arguments,
                               int timeoutMs = 60000);

// A self-signed certificate for "localhost" and 127.0.0.1, usable as its own CA.
struct TlsFiles {
    QString certificate; // PEM; also the root a client trusts
    QString key;         // PEM, unencrypted
};
bool opensslAvailable();
// Made with the `openssl` CLI in `directory`; an Error carries openssl's output.
Result<TlsFiles> makeSelfSignedCertificate(const QString& directory);

class NodeProcess {
public:
    // `dataDir` need not exist; `extraArguments` follow --name, --listen and --data-dir.
    NodeProcess(QString name, QString dataDir, QStringList extraArguments = {},
                QString binary = QStringLiteral(RANGEPILOT_NODE_BINARY));
    ~NodeProcess(); // kill -9 if still running; prints the log if the current test failed

    NodeProcess(const NodeProcess&) = delete;
    NodeProcess& operator=(const NodeProcess&) = delete;

    // Starts the node on `port` and waits up to 20 s for its "listening on" line. Port 0 picks a
    // free one and retries on another when the node fails to bind. False: see errorString().
    bool start(quint16 port = 0);
    // Starts it again on the same port from the same data directory (it must not be running).
    bool restart();
    // SIGKILL: no shutdown code runs. Waits until the process is gone.
    void kill9();
    // SIGTERM; true when the node exits by itself with code 0 within the timeout.
    bool terminate(int timeoutMs = 15000);
    bool isRunning() const;
    // The exit code of the last run (meaningful once it stopped).
    int exitCode() const;

    const QString& name() const { return m_name; }
    const QString& dataDir() const { return m_dataDir; }
    quint16 port() const { return m_port; }
    QString address() const; // "127.0.0.1:<port>"
    QStringList extraArguments() const { return m_extraArguments; }
    void setExtraArguments(QStringList arguments) { m_extraArguments = std::move(arguments); }

    QString errorString() const { return m_error; }
    QString logPath() const { return m_dataDir + QStringLiteral(".stderr.log"); }
    QString stderrText() const; // everything the node wrote to stderr, all runs
    void printLog() const;

    // A cached channel and stub per security (TLS roots, server name); the token is per call.
    // Both are replaced when the node starts again: do not keep them across a restart.
    std::shared_ptr<grpc::Channel> channel(const ChannelSecurity& security = {});
    v1::NodeAgent::Stub& stub(const ChannelSecurity& security = {});

private:
    enum class LaunchResult { Listening, BindFailed, Failed };
    LaunchResult launch(quint16 port);
    LaunchResult waitForListening();
    void resetChannels();

    QString m_name;
    QString m_dataDir;
    QStringList m_extraArguments;
    QString m_binary;
    quint16 m_port = 0;
    std::unique_ptr<QProcess> m_process;
    QString m_error;
    struct CachedChannel {
        std::shared_ptr<grpc::Channel> channel;
        std::unique_ptr<v1::NodeAgent::Stub> stub;
    };
    std::map<std::string, CachedChannel> m_channels; // by TLS roots + server name
};

struct NodeClusterOptions {
    int nodeCount = 3;
    // Split keys of the initial table: splitKeys.size() + 1 shards placed by
    // OwnershipTable::withInitialPlacement over the node names. Empty: one shard.
    std::vector<Key> splitKeys;
    int replicaCount = 0;
    bool installTable = true;
    QString token;              // empty: no token
    bool tls = false;           // one self-signed certificate for every node (needs openssl)
    QStringList extraArguments; // given to every node
};

class NodeCluster {
public:
    NodeCluster();
    ~NodeCluster(); // kills what still runs

    NodeCluster(const NodeCluster&) = delete;
    NodeCluster& operator=(const NodeCluster&) = delete;

    // Nodes "n1".."nN" under a temporary directory, each with --peers naming the others; then
    // the initial table on every node. False: see errorString().
    bool start(const NodeClusterOptions& options = {});
    QString errorString() const { return m_error; }

    int size() const { return static_cast<int>(m_nodes.size()); }
    NodeProcess& node(int index) { return *m_nodes.at(static_cast<std::size_t>(index)); }
    // -1 when no node has this id.
    int indexOf(const std::string& nodeId) const;
    // "n1=127.0.0.1:7401,n2=127.0.0.1:7402,..." for the command lines of tools that talk to the
    // whole cluster (the same form as --peers).
    QString addressList() const;
    QString directory() const { return m_directory.path(); }
    const NodeClusterOptions& options() const { return m_options; }
    const std::optional<TlsFiles>& tlsFiles() const { return m_tls; }

    // TLS roots (when TLS is on) and the token: what a client of this cluster uses.
    ChannelSecurity security() const;
    v1::NodeAgent::Stub& stub(int index) { return node(index).stub(security()); }

    // A context with a deadline that waits for the channel to be ready, carrying the token unless
    // told not to.
    std::unique_ptr<grpc::ClientContext> context(bool withToken = true,
                                                 int timeoutMs = kDefaultCallTimeoutMs) const;

    // One unary call to node `index` with the token and a deadline, e.g.
    //   cluster.call(0, &v1::NodeAgent::Stub::Put, request, &reply);
    template <typename Request, typename Response>
    grpc::Status call(int index,
                      grpc::Status (v1::NodeAgent::Stub::*method)(grpc::ClientContext*,
                                                                  const Request&, Response*),
                      const Request& request, Response* response, bool withToken = true,
                      int timeoutMs = kDefaultCallTimeoutMs) {
        const std::unique_ptr<grpc::ClientContext> callContext = context(withToken, timeoutMs);
        return (stub(index).*method)(callContext.get(), request, response);
    }

    // The table the harness last installed (the initial one after start()).
    const OwnershipTable& table() const { return *m_table; }
    // Installs `table` on every running node (with the token) and remembers it; the first
    // failure is returned, naming the node.
    grpc::Status installTable(const OwnershipTable& table);
    // The index of the node owning `key` in table().
    int ownerIndex(std::string_view key) const;

    // Routed by table(): a Put / Get / Delete at its epoch on the key's owner.
    grpc::Status put(const std::string& key, const std::string& value,
                     v1::PutResponse* reply = nullptr);
    grpc::Status get(const std::string& key, v1::GetResponse* reply);
    grpc::Status remove(const std::string& key, v1::DeleteResponse* reply = nullptr);

    void printLogs() const;

private:
    bool startNodes();
    QStringList argumentsFor(int index, const std::vector<quint16>& ports) const;
    void killAll();

    QTemporaryDir m_directory;
    NodeClusterOptions m_options;
    std::vector<std::unique_ptr<NodeProcess>> m_nodes;
    std::optional<TlsFiles> m_tls;
    std::optional<OwnershipTable> m_table;
    QString m_error;
};

} // namespace rangepilot::e2e
