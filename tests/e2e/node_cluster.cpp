#include "node_cluster.h"

#include "proto_convert.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTest>

#include <arpa/inet.h>
#include <csignal>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rangepilot::e2e {

namespace {

constexpr int kStartAttempts = 4;
constexpr int kReadPollMs = 100;

// Makes the child get SIGKILL when the test process dies (a crash, an abort, a CI timeout), so no
// node outlives its test holding a port and a data directory. Runs in the child between fork and
// exec: only async-signal-safe calls. The death signal follows the thread that forked, which is
// the test's main thread here, and survives the exec. If the test died before the prctl, the
// child's parent has already changed: it leaves at once.
void dieWithTestProcess(QProcess& process) {
    const pid_t testProcess = ::getpid();
    process.setChildProcessModifier([testProcess] {
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != testProcess)
            ::_exit(127);
    });
}

// An open socket bound to 127.0.0.1:0; -1 on failure. Closed by the caller.
int bindLoopbackSocket(quint16* port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        ::close(fd);
        return -1;
    }
    *port = ntohs(address.sin_port);
    return fd;
}

// `count` distinct free ports: every socket stays bound until all are found.
std::vector<quint16> findFreeLoopbackPorts(int count) {
    std::vector<int> sockets;
    std::vector<quint16> ports;
    for (int i = 0; i < count; ++i) {
        quint16 port = 0;
        const int fd = bindLoopbackSocket(&port);
        if (fd < 0)
            break;
        sockets.push_back(fd);
        ports.push_back(port);
    }
    for (const int fd : sockets)
        ::close(fd);
    return ports;
}

QByteArray readFileFrom(const QString& path, qint64 offset) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    file.seek(offset);
    return file.readAll();
}

QString lastLines(const QByteArray& text, int count) {
    QStringList lines = QString::fromUtf8(text).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    if (lines.size() > count)
        lines = lines.mid(lines.size() - count);
    return lines.join(QLatin1Char('\n'));
}

std::string channelKey(const ChannelSecurity& security) {
    return security.tls_ca_file + '\n' + security.tls_server_name;
}

} // namespace

quint16 findFreeLoopbackPort() {
    const std::vector<quint16> ports = findFreeLoopbackPorts(1);
    return ports.empty() ? 0 : ports.front();
}

ProcessOutcome runToCompletion(const QString& program, const QStringList& arguments,
                               int timeoutMs) {
    ProcessOutcome outcome;
    QProcess process;
    process.start(program, arguments);
    outcome.started = process.waitForStarted(10000);
    if (!outcome.started) {
        outcome.standardError = process.errorString().toUtf8();
        return outcome;
    }
    process.closeWriteChannel();
    if (!process.waitForFinished(timeoutMs)) {
        outcome.timedOut = true;
        process.kill();
        process.waitForFinished(5000);
    }
    outcome.crashed = process.exitStatus() == QProcess::CrashExit;
    outcome.exitCode = process.exitCode();
    outcome.standardOutput = process.readAllStandardOutput();
    outcome.standardError = process.readAllStandardError();
    return outcome;
}

bool opensslAvailable() {
    return !QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty();
}

Result<TlsFiles> makeSelfSignedCertificate(const QString& directory) {
    TlsFiles files{QDir(directory).filePath(QStringLiteral("node-cert.pem")),
                   QDir(directory).filePath(QStringLiteral("node-key.pem"))};
    // An EC key: fast to make, and the certificate names both ways a test reaches a node.
    const ProcessOutcome outcome = runToCompletion(
        QStringLiteral("openssl"),
        {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"),
         QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
         QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes"),
         QStringLiteral("-keyout"), files.key, QStringLiteral("-out"), files.certificate,
         QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-subj"),
         QStringLiteral("/CN=localhost"), QStringLiteral("-addext"),
         QStringLiteral("subjectAltName=DNS:localhost,IP:127.0.0.1")});
    if (!outcome.started || outcome.timedOut || outcome.exitCode != 0)
        return Error{"openssl req failed: " + outcome.standardError.toStdString()};
    return files;
}

// --- NodeProcess --------------------------------------------------------------------------------

NodeProcess::NodeProcess(QString name, QString dataDir, QStringList extraArguments, QString binary)
    : m_name(std::move(name))
    , m_dataDir(QDir::cleanPath(dataDir))
    , m_extraArguments(std::move(extraArguments))
    , m_binary(std::move(binary)) {}

NodeProcess::~NodeProcess() {
    if (QTest::currentTestFailed())
        printLog();
    if (isRunning())
        kill9();
}

bool NodeProcess::start(quint16 port) {
    if (isRunning()) {
        m_error = m_name + QStringLiteral(" is already running");
        return false;
    }
    // Port 0: the node binds any free port itself and reports it, so there is no race to lose;
    // the retries are for a fixed port that another process took in the meantime.
    for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
        switch (launch(port)) {
        case LaunchResult::Listening:
            return true;
        case LaunchResult::BindFailed:
            if (port != 0)
                return false;
            continue;
        case LaunchResult::Failed:
            return false;
        }
    }
    return false;
}

bool NodeProcess::restart() {
    if (isRunning()) {
        m_error = m_name + QStringLiteral(" is still running; stop it before restart()");
        return false;
    }
    if (m_port == 0) {
        m_error = m_name + QStringLiteral(" never started");
        return false;
    }
    return launch(m_port) == LaunchResult::Listening;
}

NodeProcess::LaunchResult NodeProcess::launch(quint16 port) {
    m_error.clear();
    const qint64 logOffset = QFileInfo(logPath()).size();
    m_process = std::make_unique<QProcess>();
    m_process->setProgram(m_binary);
    m_process->setArguments(QStringList{QStringLiteral("--name"), m_name,
                                        QStringLiteral("--listen"),
                                        QStringLiteral("127.0.0.1:%1").arg(port),
                                        QStringLiteral("--data-dir"), m_dataDir} +
                            m_extraArguments);
    m_process->setStandardErrorFile(logPath(), QIODevice::Append);
    dieWithTestProcess(*m_process);
    m_process->start();
    if (!m_process->waitForStarted(10000)) {
        m_error = m_name + QStringLiteral(": cannot start ") + m_binary + QStringLiteral(": ") +
                  m_process->errorString();
        return LaunchResult::Failed;
    }
    const LaunchResult result = waitForListening();
    if (result != LaunchResult::Listening) {
        const QByteArray log = readFileFrom(logPath(), logOffset);
        m_error += QStringLiteral("\n") + lastLines(log, 20);
        if (log.contains("cannot listen on"))
            return LaunchResult::BindFailed;
        return LaunchResult::Failed;
    }
    resetChannels();
    return LaunchResult::Listening;
}

NodeProcess::LaunchResult NodeProcess::waitForListening() {
    const QByteArray prefix =
        QStringLiteral("rangepilot-node %1 listening on ").arg(m_name).toUtf8();
    QDeadlineTimer deadline(kNodeStartTimeoutMs);
    QByteArray output;
    for (;;) {
        output += m_process->readAllStandardOutput();
        const qsizetype newline = output.indexOf('\n');
        if (newline >= 0) {
            const QByteArray line = output.left(newline).trimmed();
            const qsizetype colon = line.lastIndexOf(':');
            bool ok = false;
            const uint port = line.mid(colon + 1).toUInt(&ok);
            if (!line.startsWith(prefix) || !ok || port == 0 || port > 65535) {
                m_error =
                    m_name + QStringLiteral(": unexpected first line: ") + QString::fromUtf8(line);
                kill9();
                return LaunchResult::Failed;
            }
            m_port = static_cast<quint16>(port);
            return LaunchResult::Listening;
        }
        if (m_process->state() == QProcess::NotRunning) {
            m_error =
                m_name +
                QStringLiteral(" exited with code %1 before listening").arg(m_process->exitCode());
            return LaunchResult::Failed;
        }
        if (deadline.hasExpired()) {
            m_error =
                m_name +
                QStringLiteral(" did not report listening within %1 ms").arg(kNodeStartTimeoutMs);
            kill9();
            return LaunchResult::Failed;
        }
        m_process->waitForReadyRead(
            static_cast<int>(std::min<qint64>(kReadPollMs, deadline.remainingTime())));
    }
}

void NodeProcess::kill9() {
    if (!m_process || m_process->state() == QProcess::NotRunning)
        return;
    m_process->kill();
    m_process->waitForFinished(10000);
}

bool NodeProcess::terminate(int timeoutMs) {
    if (!isRunning()) {
        m_error = m_name + QStringLiteral(" is not running");
        return false;
    }
    m_process->terminate();
    if (!m_process->waitForFinished(timeoutMs)) {
        m_error = m_name + QStringLiteral(" did not stop within %1 ms of SIGTERM").arg(timeoutMs);
        kill9();
        return false;
    }
    if (m_process->exitStatus() != QProcess::NormalExit || m_process->exitCode() != 0) {
        m_error = m_name + QStringLiteral(" stopped with %1 %2")
                               .arg(m_process->exitStatus() == QProcess::NormalExit
                                        ? QStringLiteral("exit code")
                                        : QStringLiteral("a crash, code"))
                               .arg(m_process->exitCode());
        return false;
    }
    return true;
}

bool NodeProcess::isRunning() const {
    return m_process && m_process->state() != QProcess::NotRunning;
}

int NodeProcess::exitCode() const {
    return m_process ? m_process->exitCode() : -1;
}

QString NodeProcess::address() const {
    return QStringLiteral("127.0.0.1:%1").arg(m_port);
}

QString NodeProcess::stderrText() const {
    return QString::fromUtf8(readFileFrom(logPath(), 0));
}

void NodeProcess::printLog() const {
    qInfo().noquote() << QStringLiteral("---- stderr of node %1 (%2) ----\n%3---- end of %1 ----")
                             .arg(m_name, logPath(), stderrText());
}

std::shared_ptr<grpc::Channel> NodeProcess::channel(const ChannelSecurity& security) {
    const std::string key = channelKey(security);
    auto found = m_channels.find(key);
    if (found == m_channels.end()) {
        Result<std::shared_ptr<grpc::Channel>> made =
            makeChannel(address().toStdString(), security);
        if (!made)
            qFatal("NodeProcess::channel: %s", made.error().message.c_str());
        CachedChannel cached{made.value(), v1::NodeAgent::NewStub(made.value())};
        found = m_channels.emplace(key, std::move(cached)).first;
    }
    return found->second.channel;
}

v1::NodeAgent::Stub& NodeProcess::stub(const ChannelSecurity& security) {
    channel(security);
    return *m_channels.at(channelKey(security)).stub;
}

void NodeProcess::resetChannels() {
    // New channels after every (re)start: an old one may still hold the connection to the
    // previous process (after a kill -9 nothing told it), and its first call would fail on it
    // ("Broken pipe") instead of connecting anew. Stubs handed out before are invalid now.
    m_channels.clear();
}

// --- NodeCluster --------------------------------------------------------------------------------

NodeCluster::NodeCluster() = default;

NodeCluster::~NodeCluster() {
    if (QTest::currentTestFailed() && !m_nodes.empty())
        qInfo().noquote() << "cluster directory:" << m_directory.path();
    m_nodes.clear(); // each prints its log on failure and kills itself
}

bool NodeCluster::start(const NodeClusterOptions& options) {
    m_options = options;
    if (!m_directory.isValid()) {
        m_error =
            QStringLiteral("cannot create a temporary directory: ") + m_directory.errorString();
        return false;
    }
    if (options.nodeCount < 1) {
        m_error = QStringLiteral("a cluster needs at least one node");
        return false;
    }
    if (options.tls) {
        Result<TlsFiles> files = makeSelfSignedCertificate(m_directory.path());
        if (!files) {
            m_error = QString::fromStdString(files.error().message);
            return false;
        }
        m_tls = files.value();
    }
    if (!startNodes())
        return false;

    std::vector<HostId> names;
    for (const auto& node : m_nodes)
        names.push_back(node->name().toStdString());
    Result<OwnershipTable> table =
        OwnershipTable::withInitialPlacement(options.splitKeys, names, options.replicaCount);
    if (!table) {
        m_error = QStringLiteral("initial table: ") + QString::fromStdString(table.error().message);
        return false;
    }
    m_table = table.value();
    if (options.installTable) {
        const grpc::Status installed = installTable(*m_table);
        if (!installed.ok()) {
            m_error = QString::fromStdString(describeStatus(installed));
            return false;
        }
    }
    return true;
}

bool NodeCluster::startNodes() {
    for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
        killAll();
        m_nodes.clear();
        const std::vector<quint16> ports = findFreeLoopbackPorts(m_options.nodeCount);
        if (static_cast<int>(ports.size()) != m_options.nodeCount) {
            m_error = QStringLiteral("no free loopback ports");
            return false;
        }
        bool retry = false;
        for (int i = 0; i < m_options.nodeCount; ++i) {
            const QString name = QStringLiteral("n%1").arg(i + 1);
            m_nodes.push_back(std::make_unique<NodeProcess>(name, m_directory.filePath(name),
                                                            argumentsFor(i, ports)));
            if (m_nodes.back()->start(ports[static_cast<std::size_t>(i)]))
                continue;
            m_error = m_nodes.back()->errorString();
            // The --peers lists name these ports: a lost port means new ports for everyone.
            retry = m_error.contains(QLatin1String("cannot listen on"));
            if (!retry)
                return false;
            break;
        }
        if (!retry)
            return true;
    }
    return false;
}

QStringList NodeCluster::argumentsFor(int index, const std::vector<quint16>& ports) const {
    QStringList peers;
    for (int i = 0; i < static_cast<int>(ports.size()); ++i) {
        if (i != index)
            peers << QStringLiteral("n%1=127.0.0.1:%2").arg(i + 1).arg(ports[std::size_t(i)]);
    }
    QStringList arguments;
    if (!peers.isEmpty())
        arguments << QStringLiteral("--peers") << peers.join(QLatin1Char(','));
    if (!m_options.token.isEmpty())
        arguments << QStringLiteral("--token") << m_options.token;
    if (m_tls) {
        arguments << QStringLiteral("--tls-cert") << m_tls->certificate
                  << QStringLiteral("--tls-key") << m_tls->key << QStringLiteral("--tls-ca")
                  << m_tls->certificate;
    }
    return arguments + m_options.extraArguments;
}

void NodeCluster::killAll() {
    for (const auto& node : m_nodes)
        node->kill9();
}

int NodeCluster::indexOf(const std::string& nodeId) const {
    for (std::size_t i = 0; i < m_nodes.size(); ++i) {
        if (m_nodes[i]->name().toStdString() == nodeId)
            return static_cast<int>(i);
    }
    return -1;
}

QString NodeCluster::addressList() const {
    QStringList items;
    for (const auto& node : m_nodes)
        items << node->name() + QLatin1Char('=') + node->address();
    return items.join(QLatin1Char(','));
}

ChannelSecurity NodeCluster::security() const {
    ChannelSecurity security;
    if (m_tls)
        security.tls_ca_file = m_tls->certificate.toStdString();
    security.token = m_options.token.toStdString();
    return security;
}

std::unique_ptr<grpc::ClientContext> NodeCluster::context(bool withToken, int timeoutMs) const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeoutMs));
    context->set_wait_for_ready(true);
    if (withToken)
        addToken(*context, m_options.token.toStdString());
    return context;
}

grpc::Status NodeCluster::installTable(const OwnershipTable& table) {
    v1::InstallTableRequest request;
    *request.mutable_table() = toProto(table);
    for (int i = 0; i < size(); ++i) {
        if (!node(i).isRunning())
            continue;
        v1::InstallTableResponse reply;
        const grpc::Status status = call(i, &v1::NodeAgent::Stub::InstallTable, request, &reply);
        if (!status.ok())
            return grpc::Status(status.error_code(),
                                node(i).name().toStdString() + ": " + status.error_message(),
                                status.error_details());
    }
    m_table = table;
    return grpc::Status::OK;
}

int NodeCluster::ownerIndex(std::string_view key) const {
    return indexOf(m_table->shardFor(key).owner);
}

grpc::Status NodeCluster::put(const std::string& key, const std::string& value,
                              v1::PutResponse* reply) {
    v1::PutRequest request;
    request.set_epoch(m_table->epoch());
    request.set_key(key);
    request.set_value(value);
    v1::PutResponse ignored;
    return call(ownerIndex(key), &v1::NodeAgent::Stub::Put, request, reply ? reply : &ignored);
}

grpc::Status NodeCluster::get(const std::string& key, v1::GetResponse* reply) {
    v1::GetRequest request;
    request.set_epoch(m_table->epoch());
    request.set_key(key);
    return call(ownerIndex(key), &v1::NodeAgent::Stub::Get, request, reply);
}

grpc::Status NodeCluster::remove(const std::string& key, v1::DeleteResponse* reply) {
    v1::DeleteRequest request;
    request.set_epoch(m_table->epoch());
    request.set_key(key);
    v1::DeleteResponse ignored;
    return call(ownerIndex(key), &v1::NodeAgent::Stub::Delete, request, reply ? reply : &ignored);
}

void NodeCluster::printLogs() const {
    for (const auto& node : m_nodes)
        node->printLog();
}

} // namespace rangepilot::e2e
