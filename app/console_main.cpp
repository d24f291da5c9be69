// rangepilot: the operations console.
//
//   rangepilot                         the console on the embedded simulated cluster (or the
//                                      connection saved last time)
//   rangepilot --trace FILE            replay a recorded trace (our CSV format)
//   rangepilot --screenshot FILE [--after SECONDS]
//                                      start on the default simulated cluster, advance cluster
//                                      time by SECONDS (default 3600) as fast as possible, render
//                                      the window, save a PNG and exit 0 (no display needed)
//   rangepilot --screenshot FILE --trace TRACE
//                                      ... of a replay of that trace instead
//   rangepilot --screenshot FILE --tab hosts
//                                      ... with that bottom tab in front (migrations, ownership,
//                                      hosts, audit)
//   rangepilot --nodes HOST:PORT,... [--store FILE] [--tls-ca FILE] [--tls-server-name NAME]
//              [--token-file FILE]     real rangepilot-nodes over gRPC, with the ownership store
//                                      in FILE (default: the app data folder's ownership.json);
//                                      these override the saved connection
//   rangepilot --screenshot FILE --nodes HOST:PORT,... [--after SECONDS]
//                                      ... of a live cluster, after watching it for SECONDS of
//                                      wall time (default 3)
//   rangepilot --settings FILE.ini     read and write settings there instead of the user's

#include "connector_factory.h"
#include "console_session.h"
#include "console_settings.h"
#include "main_window.h"
#include "migrations_panel.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDeadlineTimer>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QMessageBox>
#include <QSettings>
#include <QTableView>

#include <cstdio>
#include <cstring>
#include <memory>

using namespace rangepilot;

namespace {

bool hasArgument(int argc, char** argv, const char* name) {
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], name, std::strlen(name)) == 0) // "--x" and "--x=value"
            return true;
    }
    return false;
}

// Without a display Qt would abort with a message about xcb plugins; say what to do instead.
// Screenshots need no display: they render offscreen.
bool prepareDisplay(int argc, char** argv) {
    if (!qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") ||
        !qEnvironmentVariableIsEmpty("DISPLAY") || !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
        return true;
    if (hasArgument(argc, argv, "--screenshot")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
        return true;
    }
    std::fprintf(stderr,
                 "rangepilot: no display (neither DISPLAY nor WAYLAND_DISPLAY is set).\n"
                 "  Run it under a virtual display:   xvfb-run -a rangepilot\n"
                 "  (Debian: sudo apt-get install xvfb), or make a screenshot without one:\n"
                 "  rangepilot --screenshot console.png\n");
    return false;
}

// A live cluster runs in real time: with the minute-long rounds of a simulation, the console
// would show nothing for a minute after connecting. Rounds of 5 s show load (and plan) within
// seconds; the forecaster follows the cadence, and what it counts in rounds (half-lives, how
// often trends are recomputed) is scaled so that it keeps its length in time.
ConsoleSessionOptions sessionOptionsFor(ConnectorKind kind, double warningThreshold) {
    ConsoleSessionOptions options;
    options.warning_threshold = warningThreshold;
    if (kind != ConnectorKind::NodeCluster)
        return options;
    constexpr TimeMs kLiveRoundMs = 5 * kMsPerSecond;
    const double scale = static_cast<double>(options.round_ms) / static_cast<double>(kLiveRoundMs);
    OnlineForecastOptions& forecast = options.engine.predictive.forecast;
    options.round_ms = kLiveRoundMs;
    forecast.round_ms = kLiveRoundMs;
    forecast.recent_half_life_rounds *= scale;
    forecast.residual_half_life_rounds *= scale;
    forecast.level_half_life_rounds *= scale;
    options.trend_every_rounds = static_cast<int>(options.trend_every_rounds * scale);
    return options;
}

// One connector and the session watching it; replaced as a whole when the operator connects
// elsewhere.
struct Connection {
    ConnectorKind kind = ConnectorKind::Simulated;
    ConnectorBundle bundle;
    std::unique_ptr<ConsoleSession> session;
};

class Console {
public:
    Console(ConsoleSettings* settings, QSettings* store)
        : m_settings(settings)
        , m_store(store)
        , m_window(settings) {
        QObject::connect(&m_window, &MainWindow::connectionRequested, &m_window,
                         [this](const ConnectionSettings& connection) {
                             if (Status status = connect(connection, {}); !status)
                                 QMessageBox::warning(&m_window, QObject::tr("Connect"),
                                                      QString::fromStdString(status.message()));
                         });
        QObject::connect(&m_window, &MainWindow::settingsChanged, &m_window, [this] { save(); });
    }

    ~Console() { m_window.setSession(nullptr, nullptr); }

    MainWindow& window() { return m_window; }
    Connection* current() { return m_connection.get(); }

    Status connect(const ConnectionSettings& settings, ConnectorChoice choice) {
        // A console on nodes holds its ownership store's driver lock: connecting to nodes again
        // while it lives would find the store locked (by this very process) and only watch.
        if (m_connection && m_connection->kind == ConnectorKind::NodeCluster &&
            settings.kind == ConnectorKind::NodeCluster)
            disconnect();
        Result<ConnectorBundle> bundle = makeConnector(settings, choice);
        if (!bundle)
            return bundle.error();
        auto next = std::make_unique<Connection>();
        next->kind = settings.kind;
        next->bundle = std::move(bundle).value();
        const ConsoleSessionOptions options =
            sessionOptionsFor(settings.kind, m_settings->warning_threshold);
        next->session = std::make_unique<ConsoleSession>(next->bundle.connector.get(), options);
        ConsoleSession* session = next->session.get();
        session->setOperatorName(m_settings->operator_name);
        session->setGuardrails(m_settings->auto_apply);
        session->setMaintenanceWindow(m_settings->maintenance_window);
        if (m_store)
            session->setAuditLogPath(m_settings->audit_log_path);
        m_window.setSession(session, next->bundle.playback.get());
        m_connection = std::move(next); // the previous connection (if any) goes now
        m_connection->bundle.connector->start();
        return {};
    }

    void disconnect() {
        m_window.setSession(nullptr, nullptr);
        m_connection.reset();
    }

    void save() {
        if (!m_store)
            return;
        saveConsoleSettings(*m_store, *m_settings);
        m_store->sync();
    }

private:
    ConsoleSettings* m_settings;
    QSettings* m_store; // nullptr: settings are not persisted (screenshots)
    MainWindow m_window;
    std::unique_ptr<Connection> m_connection;
};

bool waitForPlanner(ConsoleSession& session, int timeoutMs) {
    QDeadlineTimer deadline(timeoutMs);
    while (session.pendingTasks() > 0) {
        if (deadline.hasExpired())
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    }
    return true;
}

// The hottest shard by projected score: what the trend chart shows in a screenshot.
std::optional<ShardId> hottestShard(ConsoleSession& session) {
    std::optional<ShardId> hottest;
    double best = -1.0;
    OwnershipTableModel* model = session.ownershipModel();
    for (int row = 0; row < model->rowCount(); ++row) {
        const OwnershipRow& shard = model->rowAt(row);
        if (shard.figures && shard.figures->score > best) {
            best = shard.figures->score;
            hottest = shard.shard.id;
        }
    }
    return hottest;
}

// The flags that name real nodes, applied over `connection`. An Error names the flag.
struct NodeFlags {
    QCommandLineOption nodes{QStringLiteral("nodes"),
                             QStringLiteral("Connect to these rangepilot-nodes (gRPC), comma "
                                            "separated."),
                             QStringLiteral("HOST:PORT,...")};
    QCommandLineOption store{QStringLiteral("store"),
                             QStringLiteral("With --nodes: the ownership store file (created when "
                                            "missing; the first console on it drives "
                                            "migrations, others watch)."),
                             QStringLiteral("FILE")};
    QCommandLineOption tlsCa{QStringLiteral("tls-ca"),
                             QStringLiteral("With --nodes: PEM roots of the nodes' TLS "
                                            "certificates (default: plaintext)."),
                             QStringLiteral("FILE")};
    QCommandLineOption tlsServerName{
        QStringLiteral("tls-server-name"),
        QStringLiteral("With --tls-ca: the name to check in the nodes' certificates."),
        QStringLiteral("NAME")};
    QCommandLineOption tokenFile{QStringLiteral("token-file"),
                                 QStringLiteral("With --nodes: a file holding the nodes' bearer "
                                                "token."),
                                 QStringLiteral("FILE")};

    QList<QCommandLineOption> all() const {
        return {nodes, store, tlsCa, tlsServerName, tokenFile};
    }

    Status apply(const QCommandLineParser& parser, ConnectionSettings& connection) const {
        if (parser.isSet(nodes)) {
            Result<QStringList> endpoints = parseEndpointList(parser.value(nodes));
            if (!endpoints)
                return Error{"--nodes: " + endpoints.error().message};
            if (endpoints->isEmpty())
                return Error{"--nodes: give at least one address (host:port)"};
            connection.kind = ConnectorKind::NodeCluster;
            connection.nodes.endpoints = *endpoints;
        }
        const auto absolute = [&](const QCommandLineOption& option) {
            return QFileInfo(parser.value(option)).absoluteFilePath();
        };
        for (const QCommandLineOption* option : {&store, &tlsCa, &tlsServerName, &tokenFile}) {
            if (!parser.isSet(*option))
                continue;
            if (connection.kind != ConnectorKind::NodeCluster)
                return Error{"--" + option->names().front().toStdString() +
                             " needs --nodes (or a saved connection to cluster nodes)"};
            if (parser.value(*option).trimmed().isEmpty())
                return Error{"--" + option->names().front().toStdString() + ": empty value"};
        }
        if (parser.isSet(store))
            connection.nodes.store_path = absolute(store);
        if (parser.isSet(tlsCa))
            connection.nodes.tls_ca = absolute(tlsCa);
        if (parser.isSet(tlsServerName))
            connection.nodes.tls_server_name = parser.value(tlsServerName).trimmed();
        if (parser.isSet(tokenFile))
            connection.nodes.token_file = absolute(tokenFile);
        return {};
    }
};

// A trace replay prepares its file on a worker thread first; nodes are asked who they are.
bool waitUntilRunning(ClusterConnector& connector, int timeoutMs) {
    QDeadlineTimer deadline(timeoutMs);
    while (connector.state() == ConnectorState::Starting && !deadline.hasExpired())
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    return connector.state() == ConnectorState::Running;
}

int takeScreenshot(Console& console, const ConnectionSettings& connectionSettings,
                   const QString& path, double afterSeconds, const QString& tab) {
    if (Status status = console.connect(connectionSettings, ConnectorChoice{false}); !status) {
        std::fprintf(stderr, "rangepilot: %s\n", status.message().c_str());
        return 1;
    }
    Connection& connection = *console.current();
    ConsoleSession& session = *connection.session;
    // No one reads the status bar of a screenshot run: the connector's problems (an unreachable
    // node, a held store lock) go to stderr.
    QObject::connect(connection.bundle.connector.get(), &ClusterConnector::errorOccurred,
                     [](const QString& message) {
                         std::fprintf(stderr, "rangepilot: %s\n", qPrintable(message));
                     });
    if (!waitUntilRunning(*connection.bundle.connector, 600'000)) {
        std::fprintf(stderr, "rangepilot: %s did not start (%s)\n",
                     qPrintable(connection.bundle.connector->name()),
                     qPrintable(connectorStateName(connection.bundle.connector->state())));
        return 1;
    }
    MainWindow& window = console.window();
    window.resize(1720, 1080);
    window.show();
    QElapsedTimer clock;
    clock.start();
    const auto total = static_cast<TimeMs>(afterSeconds * 1000.0);
    const bool live = connection.bundle.playback == nullptr;
    if (live) {
        // A live cluster runs in real time: watch it for that long.
        while (clock.elapsed() < total)
            QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        if (!waitForPlanner(session, 60'000)) {
            std::fprintf(stderr, "rangepilot: the planner did not keep up\n");
            return 1;
        }
    }
    // A round at a time, letting the planner keep up: the picture is what an operator watching
    // all along would see.
    for (TimeMs done = 0; !live && done < total;) {
        const TimeMs step = std::min<TimeMs>(kMsPerMinute, total - done);
        if (Status status = advanceConnector(*connection.bundle.connector, step); !status) {
            std::fprintf(stderr, "rangepilot: %s\n", status.message().c_str());
            return 1;
        }
        done += step;
        if (!waitForPlanner(session, 60'000)) {
            std::fprintf(stderr, "rangepilot: the planner did not keep up\n");
            return 1;
        }
    }
    if (const std::optional<ShardId> shard = hottestShard(session)) {
        session.requestShardTrend(*shard);
        waitForPlanner(session, 60'000);
    }
    if (window.migrationsPanel()->table()->model()->rowCount() > 0)
        window.migrationsPanel()->table()->selectRow(0);
    if (!tab.isEmpty()) {
        auto* dock = window.findChild<QDockWidget*>(tab + QStringLiteral("Dock"));
        if (!dock) {
            std::fprintf(stderr,
                         "rangepilot: --tab: no tab '%s' (migrations, ownership, hosts, "
                         "audit)\n",
                         qPrintable(tab));
            return 2;
        }
        dock->raise();
    }
    window.refreshNow();
    QCoreApplication::processEvents();
    const QImage image = window.grab().toImage();
    if (image.isNull() || !image.save(path)) {
        std::fprintf(stderr, "rangepilot: could not write %s\n", qPrintable(path));
        return 1;
    }
    std::printf("rangepilot: %s (%dx%d) after %.0f s of %s, %llu rounds planned, "
                "%d migrations listed; %.1f s wall time\n",
                qPrintable(QDir::toNativeSeparators(path)), image.width(), image.height(),
                afterSeconds, live ? "watching a live cluster" : "cluster time",
                static_cast<unsigned long long>(session.roundsPlanned()),
                session.migrationsModel()->rowCount(), clock.elapsed() / 1000.0);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (!prepareDisplay(argc, argv))
        return 2;
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("RangePilot"));
    QApplication::setApplicationName(QStringLiteral("rangepilot"));
    QApplication::setApplicationVersion(QStringLiteral(PROJECT_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "RangePilot: an operations console with a predictive planner for range-sharded "
        "key-value stores."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption screenshot(
        QStringLiteral("screenshot"),
        QStringLiteral("Start on the default simulated cluster (or --trace, or --nodes), advance "
                       "it, save the window as a PNG and exit."),
        QStringLiteral("FILE"));
    const QCommandLineOption after(
        QStringLiteral("after"),
        QStringLiteral("Before the screenshot: cluster seconds to advance (default 3600), or with "
                       "--nodes wall seconds to watch the live cluster (default 3)."),
        QStringLiteral("SECONDS"));
    const QCommandLineOption trace(QStringLiteral("trace"),
                                   QStringLiteral("Replay this trace (RangePilot CSV)."),
                                   QStringLiteral("FILE"));
    const QCommandLineOption settingsFile(
        QStringLiteral("settings"),
        QStringLiteral("Read and write the settings in this INI file instead of the user's."),
        QStringLiteral("FILE"));
    const QCommandLineOption tab(
        QStringLiteral("tab"),
        QStringLiteral("With --screenshot: the bottom tab to show (migrations, ownership, hosts, "
                       "audit)."),
        QStringLiteral("NAME"));
    const NodeFlags nodeFlags;
    parser.addOptions({screenshot, after, trace, settingsFile, tab});
    parser.addOptions(nodeFlags.all());
    parser.process(app);
    if (parser.isSet(trace) && parser.isSet(nodeFlags.nodes)) {
        std::fprintf(stderr, "rangepilot: --trace and --nodes exclude each other\n");
        return 2;
    }

    if (parser.isSet(screenshot)) {
        const bool live = parser.isSet(nodeFlags.nodes);
        const QString afterText = parser.isSet(after) ? parser.value(after)
                                  : live              ? QStringLiteral("3")
                                                      : QStringLiteral("3600");
        bool ok = false;
        const double seconds = afterText.toDouble(&ok);
        if (!ok || seconds < 0 || seconds > 366 * 86400.0) {
            std::fprintf(stderr,
                         "rangepilot: --after: '%s' is not a number of seconds in [0, "
                         "31622400]\n",
                         qPrintable(afterText));
            return 2;
        }
        // The default simulated cluster (whatever the user saved), or the trace or nodes given.
        ConsoleSettings settings;
        if (parser.isSet(trace)) {
            settings.connection.kind = ConnectorKind::TraceReplay;
            settings.connection.trace.path = QFileInfo(parser.value(trace)).absoluteFilePath();
        }
        if (Status status = nodeFlags.apply(parser, settings.connection); !status) {
            std::fprintf(stderr, "rangepilot: %s\n", status.message().c_str());
            return 2;
        }
        Console console(&settings, nullptr);
        return takeScreenshot(console, settings.connection, parser.value(screenshot), seconds,
                              parser.value(tab));
    }

    std::unique_ptr<QSettings> store =
        parser.isSet(settingsFile)
            ? std::make_unique<QSettings>(parser.value(settingsFile), QSettings::IniFormat)
            : std::make_unique<QSettings>();
    LoadedSettings loaded = loadConsoleSettings(*store);
    for (const QString& warning : loaded.warnings)
        std::fprintf(stderr, "rangepilot: settings: %s\n", qPrintable(warning));
    ConsoleSettings settings = std::move(loaded.settings);
    if (parser.isSet(trace)) {
        settings.connection.kind = ConnectorKind::TraceReplay;
        settings.connection.trace = TraceSettings{};
        settings.connection.trace.path = QFileInfo(parser.value(trace)).absoluteFilePath();
        addRecentTrace(settings, settings.connection.trace.path);
    }
    if (Status status = nodeFlags.apply(parser, settings.connection); !status) {
        std::fprintf(stderr, "rangepilot: %s\n", status.message().c_str());
        return 2;
    }

    Console console(&settings, store.get());
    console.window().restoreLayout();
    console.window().show();
    if (Status status = console.connect(settings.connection, {}); !status) {
        QMessageBox::warning(&console.window(), QObject::tr("Connect"),
                             QObject::tr("%1\n\nStarting on the embedded simulated cluster "
                                         "instead.")
                                 .arg(QString::fromStdString(status.message())));
        settings.connection = ConnectionSettings{};
        if (Status fallback = console.connect(settings.connection, {}); !fallback) {
            std::fprintf(stderr, "rangepilot: %s\n", fallback.message().c_str());
            return 1;
        }
    }
    const int code = QApplication::exec();
    console.save();
    return code;
}
