#include "connector_factory.h"

#include "grpc_cluster_connector.h"
#include "local_file_ownership_store.h"
#include "simulated_cluster_connector.h"
#include "trace_replay_connector.h"

namespace rangepilot {

namespace {

// PlaybackControl over the modeled cluster both embedded connectors share; seeking only where
// the connector replays a file.
class ModeledPlayback : public PlaybackControl {
public:
    ModeledPlayback(ModeledClusterConnector* connector, TraceReplayConnector* replay, double speed)
        : m_connector(connector)
        , m_replay(replay)
        , m_speed(speed) {}

    void pausePlayback() override { m_connector->pause(); }
    void resumePlayback() override {
        if (m_connector->state() == ConnectorState::Stopped)
            m_connector->start();
        else
            m_connector->resume();
    }
    bool playbackPaused() const override { return m_connector->state() != ConnectorState::Running; }
    Status setPlaybackSpeed(double speed) override {
        Status status = m_connector->setSpeed(speed);
        if (status)
            m_speed = speed;
        return status;
    }
    double playbackSpeed() const override { return m_speed; }
    bool canSeek() const override { return m_replay != nullptr && m_replay->prepared(); }
    Status seekTo(TimeMs time) override {
        if (!m_replay)
            return Error{"a generated workload cannot seek"};
        return m_replay->seek(time);
    }
    TimeMs playbackStartMs() const override { return m_connector->startMs(); }
    TimeMs playbackEndMs() const override { return m_connector->endMs(); }

private:
    ModeledClusterConnector* m_connector;
    TraceReplayConnector* m_replay;
    double m_speed;
};

SimulatedClusterOptions simulatedOptions(const SimulatedSettings& settings, bool timer) {
    SimulatedClusterOptions options;
    options.scenario = settings.scenario;
    options.hours = settings.hours;
    options.rate_eps = settings.rate_eps;
    options.seed = settings.seed;
    options.hosts = static_cast<std::size_t>(settings.hosts);
    options.shards_per_host = static_cast<std::size_t>(settings.shards_per_host);
    options.cells = static_cast<std::size_t>(settings.cells);
    options.speed = settings.speed;
    options.timer = timer;
    return options;
}

Result<TraceReplayOptions> replayOptions(const TraceSettings& settings, bool timer) {
    Result<TraceReadOptions> read = traceReadOptions(settings);
    if (!read)
        return Error{"trace: " + read.error().message};
    TraceReplayOptions options;
    options.path = settings.path.toStdString();
    options.read = *read;
    options.hosts = static_cast<std::size_t>(settings.hosts);
    options.speed = settings.speed;
    options.timer = timer;
    return options;
}

Result<GrpcClusterOptions> nodeClusterOptions(const NodeClusterSettings& settings) {
    GrpcClusterOptions options;
    for (const QString& endpoint : settings.endpoints)
        options.endpoints.push_back(endpoint.toStdString());
    options.security.tls_ca_file = settings.tls_ca.toStdString();
    options.security.tls_server_name = settings.tls_server_name.toStdString();
    if (!settings.token_file.isEmpty()) {
        Result<std::string> token = readTokenFile(settings.token_file.toStdString());
        if (!token)
            return Error{"token file: " + token.error().message};
        options.security.token = std::move(token).value();
    }
    options.cells = static_cast<std::size_t>(settings.cells);
    options.executor.copy_bytes_per_s = settings.copy_mb_per_s * 1e6; // 0 stays unlimited
    if (Status status = validate(options); !status)
        return Error{status.message()};
    return options;
}

// The store as the driver; when another console holds the driver lock, read-only (the connector
// then only watches and says who drives).
Result<std::unique_ptr<OwnershipStore>> openOwnershipStore(const QString& path) {
    using Store = LocalFileOwnershipStore;
    auto driver = Store::open(path, Store::OpenMode::Driver);
    if (driver)
        return std::unique_ptr<OwnershipStore>(std::move(driver).value());
    // The store words a held lock as "<path> is locked by <holder>: ..."; anything else (an
    // unwritable directory, a lock file it cannot open) is an error to show.
    if (driver.error().message.find(" is locked by ") == std::string::npos)
        return Error{driver.error().message};
    auto watcher = Store::open(path, Store::OpenMode::ReadOnly);
    if (!watcher)
        return Error{watcher.error().message};
    return std::unique_ptr<OwnershipStore>(std::move(watcher).value());
}

Result<ConnectorBundle> makeNodeClusterConnector(const NodeClusterSettings& settings) {
    Result<GrpcClusterOptions> options = nodeClusterOptions(settings);
    if (!options)
        return Error{"nodes: " + options.error().message};
    Result<std::unique_ptr<OwnershipStore>> store = openOwnershipStore(settings.store_path);
    if (!store)
        return Error{"nodes: ownership store: " + store.error().message};
    ConnectorBundle bundle;
    bundle.connector = std::make_unique<GrpcClusterConnector>(std::move(options).value(),
                                                              std::move(store).value());
    return bundle; // a live cluster runs in real time: no playback controls
}

} // namespace

Result<ConnectorBundle> makeConnector(const ConnectionSettings& settings, ConnectorChoice choice) {
    if (settings.kind == ConnectorKind::NodeCluster)
        return makeNodeClusterConnector(settings.nodes);
    ConnectorBundle bundle;
    if (settings.kind == ConnectorKind::Simulated) {
        SimulatedClusterOptions options = simulatedOptions(settings.simulated, choice.timer);
        if (Status status = validate(options); !status)
            return Error{"simulated cluster: " + status.message()};
        auto connector = std::make_unique<SimulatedClusterConnector>(options);
        bundle.playback =
            std::make_unique<ModeledPlayback>(connector.get(), nullptr, options.speed);
        bundle.connector = std::move(connector);
        return bundle;
    }
    Result<TraceReplayOptions> options = replayOptions(settings.trace, choice.timer);
    if (!options)
        return options.error();
    if (Status status = validate(*options); !status)
        return Error{"trace replay: " + status.message()};
    auto connector = std::make_unique<TraceReplayConnector>(*options);
    bundle.playback =
        std::make_unique<ModeledPlayback>(connector.get(), connector.get(), options->speed);
    bundle.connector = std::move(connector);
    return bundle;
}

Status advanceConnector(ClusterConnector& connector, TimeMs duration) {
    if (auto* modeled = qobject_cast<ModeledClusterConnector*>(&connector))
        return modeled->advance(duration);
    return Error{connector.name().toStdString() + " runs in real time and cannot be advanced"};
}

} // namespace rangepilot
