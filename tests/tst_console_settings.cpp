#include "console_settings.h"

#include <QDir>
#include <QFile>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace rangepilot;

namespace {

// Every field away from its default, so a field that is not saved or not loaded shows.
ConsoleSettings everyFieldSet() {
    ConsoleSettings settings;
    ConnectionSettings& connection = settings.connection;
    connection.kind = ConnectorKind::TraceReplay;
    connection.simulated.scenario = Scenario::FlashCrowd;
    connection.simulated.hours = 36.5;
    connection.simulated.rate_eps = 2500.25;
    connection.simulated.seed = std::numeric_limits<std::uint64_t>::max();
    connection.simulated.hosts = 12;
    connection.simulated.shards_per_host = 4;
    connection.simulated.cells = 4096;
    connection.simulated.speed = kAsFastAsPossible;
    connection.trace.path = QStringLiteral("/data/traces/orders log, March.csv");
    connection.trace.foreign = true;
    connection.trace.columns = QStringLiteral("ts=2,key=1,op=4");
    connection.trace.header = false;
    connection.trace.time_unit = TimeUnit::Seconds;
    connection.trace.delimiter = u'\t';
    connection.trace.hosts = 3;
    connection.trace.speed = 250;
    connection.nodes.endpoints = {QStringLiteral("10.0.0.1:7401"), QStringLiteral("[::1]:7402"),
                                  QStringLiteral("node-3.example:7403")};
    connection.nodes.store_path = QStringLiteral("/var/lib/rangepilot/own ership.json");
    connection.nodes.tls_ca = QStringLiteral("/etc/rangepilot/ca.pem");
    connection.nodes.tls_server_name = QStringLiteral("nodes.example");
    connection.nodes.token_file = QStringLiteral("/etc/rangepilot/token");
    connection.nodes.cells = 4096;
    connection.nodes.copy_mb_per_s = 12.5;
    settings.auto_apply.enabled = true;
    settings.auto_apply.max_concurrent_moves = 5;
    settings.auto_apply.max_bytes_per_hour = 7.5e8;
    settings.auto_apply.quiet_hours = DailyWindow{22 * 60, 6 * 60};
    settings.auto_apply.min_gain = 0.125;
    settings.maintenance_window = DailyWindow{2 * 60, 5 * 60 + 30};
    settings.operator_name = QStringLiteral("alice");
    settings.audit_log_path = QStringLiteral("/var/log/rangepilot/audit.log");
    settings.recent_traces = {QStringLiteral("/data/a.csv"), QStringLiteral("/data/b.csv"),
                              QStringLiteral("/data/c d.csv")};
    settings.warning_threshold = 0.9;
    settings.window_geometry = QByteArray("\x01\xd9\xd0\xcb\x00\x03\x00\x00geometry", 16);
    settings.window_state = QByteArray("\x00\x00\x00\xff\x00state,with=specials\n", 24);
    return settings;
}

QString iniPath(const QTemporaryDir& dir, const char* name) {
    return dir.filePath(QString::fromLatin1(name));
}

} // namespace

class TestConsoleSettings : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void defaultsForAnEmptyStore();
    void roundTripsEveryField();
    void storesReadableText();
    void invalidValueFallsBackWithWarning_data();
    void invalidValueFallsBackWithWarning();
    void handEditedValuesLoad();
    void recentTracesMoveToFrontAndTrim();
    void recentTracesDedupeByCanonicalPath();
    void loadingCleansRecentTraces();
    void nodeSettingsRoundTrip_data();
    void nodeSettingsRoundTrip();
    void endpointsAreChecked_data();
    void endpointsAreChecked();
    void endpointListsParse();
    void delimiterNamesRoundTrip();
    void traceReadOptionsForOurFormat();
    void traceReadOptionsForAForeignLog();
    void traceReadOptionsNameTheBadField_data();
    void traceReadOptionsNameTheBadField();
};

void TestConsoleSettings::defaultsForAnEmptyStore() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QSettings store(iniPath(dir, "empty.ini"), QSettings::IniFormat);
    const LoadedSettings loaded = loadConsoleSettings(store);
    QVERIFY2(loaded.warnings.isEmpty(), qPrintable(loaded.warnings.join(u'\n')));
    const ConsoleSettings& settings = loaded.settings;
    QCOMPARE(settings.connection.kind, ConnectorKind::Simulated);
    QCOMPARE(settings.connection.simulated.scenario, Scenario::HotspotDrift);
    QCOMPARE(settings.connection.simulated.hours, 168.0);
    QCOMPARE(settings.connection.simulated.hosts, 8);
    QCOMPARE(settings.connection.simulated.speed, 60.0);
    QVERIFY(!settings.connection.trace.foreign);
    QCOMPARE(settings.connection.trace.delimiter, QChar(u','));
    QVERIFY(settings.connection.nodes.endpoints.isEmpty());
    QVERIFY(settings.connection.nodes.store_path.endsWith(QStringLiteral("/ownership.json")));
    QCOMPARE(QFileInfo(settings.connection.nodes.store_path).absolutePath(),
             QFileInfo(settings.audit_log_path).absolutePath());
    QVERIFY(settings.connection.nodes.tls_ca.isEmpty());
    QVERIFY(settings.connection.nodes.token_file.isEmpty());
    QCOMPARE(settings.connection.nodes.cells, 256);
    QCOMPARE(settings.connection.nodes.copy_mb_per_s, 50.0);
    QVERIFY(!settings.auto_apply.enabled);
    QCOMPARE(settings.auto_apply, AutoApplyGuardrails{});
    QVERIFY(!settings.maintenance_window.has_value());
    QVERIFY(settings.recent_traces.isEmpty());
    QCOMPARE(settings.warning_threshold, 0.85);
    QVERIFY(settings.window_geometry.isEmpty());
    QVERIFY(settings.audit_log_path.endsWith(QStringLiteral("/audit.log")));
    QVERIFY(!settings.operator_name.isEmpty());
    const QString user = qEnvironmentVariable("USER");
    if (!user.isEmpty())
        QCOMPARE(settings.operator_name, user);
    QCOMPARE(settings, ConsoleSettings{});
}

void TestConsoleSettings::roundTripsEveryField() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const ConsoleSettings saved = everyFieldSet();
    QVERIFY(!(saved.connection == ConnectionSettings{}));
    {
        QSettings store(iniPath(dir, "console.ini"), QSettings::IniFormat);
        saveConsoleSettings(store, saved);
        store.sync();
        QCOMPARE(store.status(), QSettings::NoError);
    }
    // Another name for the same bytes: QSettings caches files per path in the process, and a
    // fresh path makes it parse the text as a new session would.
    QVERIFY(QFile::copy(iniPath(dir, "console.ini"), iniPath(dir, "copy.ini")));
    for (const char* name : {"console.ini", "copy.ini"}) {
        QSettings store(iniPath(dir, name), QSettings::IniFormat);
        const LoadedSettings loaded = loadConsoleSettings(store);
        QVERIFY2(loaded.warnings.isEmpty(), qPrintable(loaded.warnings.join(u'\n')));
        QCOMPARE(loaded.settings.connection.simulated, saved.connection.simulated);
        QCOMPARE(loaded.settings.connection.trace, saved.connection.trace);
        QCOMPARE(loaded.settings.connection.nodes.endpoints, saved.connection.nodes.endpoints);
        QCOMPARE(loaded.settings.connection.nodes, saved.connection.nodes);
        QCOMPARE(loaded.settings.auto_apply, saved.auto_apply);
        QCOMPARE(loaded.settings.maintenance_window, saved.maintenance_window);
        QCOMPARE(loaded.settings.recent_traces, saved.recent_traces);
        QCOMPARE(loaded.settings.window_geometry, saved.window_geometry);
        QCOMPARE(loaded.settings.window_state, saved.window_state);
        QCOMPARE(loaded.settings, saved);
    }
}

void TestConsoleSettings::storesReadableText() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    {
        QSettings store(iniPath(dir, "console.ini"), QSettings::IniFormat);
        saveConsoleSettings(store, everyFieldSet());
    }
    QFile file(iniPath(dir, "console.ini"));
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(file.readAll());
    for (const char* line :
         {"kind=trace-replay", "scenario=flash-crowd", "timeUnit=s", "delimiter=tab",
          "maintenanceWindow=02:00-05:30", "quietHours=22:00-06:00", "seed=18446744073709551615",
          "maxConcurrentMoves=5", "warningThreshold=0.9",
          "nodes\\endpoints=10.0.0.1:7401, [::1]:7402, node-3.example:7403",
          "nodes\\copyMbPerS=12.5", "nodes\\tokenFile=/etc/rangepilot/token"})
        QVERIFY2(text.contains(QString::fromLatin1(line)), line);
}

void TestConsoleSettings::invalidValueFallsBackWithWarning_data() {
    QTest::addColumn<QString>("key");
    QTest::addColumn<QVariant>("value");
    QTest::addColumn<QString>("warning");
    const auto row = [](const char* key, const QVariant& value, const QString& warning) {
        QTest::newRow(qPrintable(QString::fromLatin1(key) + QLatin1Char(' ') + value.toString()))
            << QString::fromLatin1(key) << value << warning;
    };
    const auto text = [](const char* value) { return QVariant(QString::fromUtf8(value)); };
    const auto message = [](const char* value) { return QString::fromUtf8(value); };

    row("autoApply/maxConcurrentMoves", text("-3"),
        message("autoApply/maxConcurrentMoves: -3 is not a count of at least 1; using 2"));
    row("autoApply/maxConcurrentMoves", text("two"),
        message("autoApply/maxConcurrentMoves: 'two' is not a count of at least 1; using 2"));
    row("autoApply/maxBytesPerHour", text("0"),
        message("autoApply/maxBytesPerHour: 0 is not a positive number of bytes; "
                "using 2000000000"));
    row("autoApply/minGain", text("1.5"),
        message("autoApply/minGain: 1.5 is not a fraction from 0 to 1; using 0.05"));
    row("autoApply/enabled", text("maybe"),
        message("autoApply/enabled: 'maybe' is not true or false; using false"));
    row("autoApply/quietHours", text("22:00"),
        message("autoApply/quietHours: '22:00' is not a daily UTC window like 02:00-05:00 (or "
                "empty for none); using none"));
    row("schedule/maintenanceWindow", text("25:00-03:00"),
        message("schedule/maintenanceWindow: '25:00-03:00' is not a daily UTC window like "
                "02:00-05:00 (or empty for none); using none"));
    row("schedule/maintenanceWindow", text("03:00-03:00"),
        message("schedule/maintenanceWindow: '03:00-03:00' is not a daily UTC window like "
                "02:00-05:00 (or empty for none); using none"));
    row("connection/kind", text("grpc"),
        message("connection/kind: 'grpc' is not a connector (simulated, trace-replay, nodes); "
                "using simulated"));
    row("connection/nodes/endpoints", text("127.0.0.1"),
        message("connection/nodes/endpoints: '127.0.0.1' is not a list of node addresses "
                "(host:port, port from 1 to 65535); using none"));
    row("connection/nodes/endpoints", text("a:7401,b:70000"),
        message("connection/nodes/endpoints: 'a:7401,b:70000' is not a list of node addresses "
                "(host:port, port from 1 to 65535); using none"));
    row("connection/nodes/endpoints",
        QVariant(QStringList{QStringLiteral("a:1"), QStringLiteral("b:x")}),
        message("connection/nodes/endpoints: 'a:1, b:x' is not a list of node addresses "
                "(host:port, port from 1 to 65535); using none"));
    row("connection/nodes/storePath", text(" "),
        QStringLiteral("connection/nodes/storePath: ' ' is not a file path; using '%1'")
            .arg(defaultOwnershipStorePath()));
    row("connection/nodes/cells", text("0"),
        message("connection/nodes/cells: 0 is not a number of key cells from 1 to 65536; "
                "using 256"));
    row("connection/nodes/cells", text("many"),
        message("connection/nodes/cells: 'many' is not a number of key cells from 1 to 65536; "
                "using 256"));
    row("connection/nodes/copyMbPerS", text("-5"),
        message("connection/nodes/copyMbPerS: -5 is not a copy rate in MB/s from 0 (unlimited) "
                "to 100000; using 50"));
    row("connection/nodes/copyMbPerS", text("fast"),
        message("connection/nodes/copyMbPerS: 'fast' is not a copy rate in MB/s from 0 "
                "(unlimited) to 100000; using 50"));
    row("connection/simulated/scenario", text("hotspot"),
        message("connection/simulated/scenario: 'hotspot' is not a scenario (uniform, diurnal, "
                "hotspot-drift, growth, flash-crowd, random-jumps); using hotspot-drift"));
    row("connection/simulated/hours", text("0"),
        message("connection/simulated/hours: 0 is not a length in hours from 0.1 to 8784; "
                "using 168"));
    row("connection/simulated/rateEps", text("1e9"),
        message("connection/simulated/rateEps: 1e9 is not a rate in events per second from 1 "
                "to 10000000; using 1000"));
    row("connection/simulated/seed", text("-1"),
        message("connection/simulated/seed: -1 is not a seed (a whole number from 0 to 2^64-1); "
                "using 1"));
    row("connection/simulated/hosts", text("0"),
        message("connection/simulated/hosts: 0 is not a number of hosts from 1 to 1024; "
                "using 8"));
    row("connection/simulated/shardsPerHost", text("2000"),
        message("connection/simulated/shardsPerHost: 2000 is not a number of shards per host "
                "from 1 to 1024; using 8"));
    row("connection/simulated/cells", text("12.5"),
        message("connection/simulated/cells: 12.5 is not a number of key cells from 1 to 65536; "
                "using 1024"));
    row("connection/simulated/speed", text("0.5"),
        message("connection/simulated/speed: 0.5 is not a speed of 0 (as fast as possible) or "
                "from 1 to 1000; using 60"));
    row("connection/trace/foreign", text("yes please"),
        message("connection/trace/foreign: 'yes please' is not true or false; using false"));
    row("connection/trace/columns", text("ts=1,kye=2"),
        message("connection/trace/columns: 'ts=1,kye=2' is not a column mapping like "
                "ts=1,key=2,op=3; using none"));
    row("connection/trace/header", text("2"),
        message("connection/trace/header: 2 is not true or false; using true"));
    row("connection/trace/timeUnit", text("minutes"),
        message("connection/trace/timeUnit: 'minutes' is not a time unit (s, ms, us, ns); "
                "using ms"));
    row("connection/trace/delimiter", text("\""),
        message("connection/trace/delimiter: '\"' is not a delimiter (comma, tab, semicolon, "
                "pipe, space or one ASCII character other than a quote); using comma"));
    row("connection/trace/delimiter", text("::"),
        message("connection/trace/delimiter: '::' is not a delimiter (comma, tab, semicolon, "
                "pipe, space or one ASCII character other than a quote); using comma"));
    row("connection/trace/hosts", text("-1"),
        message("connection/trace/hosts: -1 is not a number of hosts from 1 to 1024; using 8"));
    row("connection/trace/speed", text("5000"),
        message("connection/trace/speed: 5000 is not a speed of 0 (as fast as possible) or from "
                "1 to 1000; using 60"));
    row("operator/name", text("  "),
        QStringLiteral("operator/name: '  ' is not a name; using '%1'").arg(defaultOperatorName()));
    row("audit/path", text(""),
        QStringLiteral("audit/path: '' is not a file path; using '%1'").arg(defaultAuditLogPath()));
    row("ui/warningThreshold", text("1.2"),
        message("ui/warningThreshold: 1.2 is not a utilization fraction in (0, 1]; using 0.85"));
    row("ui/warningThreshold", text("0"),
        message("ui/warningThreshold: 0 is not a utilization fraction in (0, 1]; using 0.85"));
    row("window/geometry", text("abc"),
        message("window/geometry: 'abc' is not saved window geometry; using the default "
                "layout"));
    // Typed values, as a native store (or this process's cache) hands them back.
    row("autoApply/maxConcurrentMoves", QVariant(0),
        message("autoApply/maxConcurrentMoves: 0 is not a count of at least 1; using 2"));
    row("connection/simulated/hosts", QVariant(2.5),
        message("connection/simulated/hosts: 2.5 is not a number of hosts from 1 to 1024; "
                "using 8"));
    row("recent/traces", QVariant(5),
        message("recent/traces: 5 is not a list of file paths; using none"));
}

void TestConsoleSettings::invalidValueFallsBackWithWarning() {
    QFETCH(QString, key);
    QFETCH(QVariant, value);
    QFETCH(QString, warning);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QSettings store(iniPath(dir, "console.ini"), QSettings::IniFormat);
    store.setValue(key, value);
    const LoadedSettings loaded = loadConsoleSettings(store);
    QCOMPARE(loaded.warnings, QStringList{warning});
    // The fallback is the default, and nothing else moved.
    QCOMPARE(loaded.settings, ConsoleSettings{});
}

void TestConsoleSettings::handEditedValuesLoad() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = iniPath(dir, "edited.ini");
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    // What an operator might type: an unquoted comma list, a literal tab, an en dash, "none",
    // names in any case, one recent trace without a list.
    file.write("[connection]\n"
               "kind=Trace-Replay\n"
               "simulated\\scenario=FLASH_CROWD\n"
               "trace\\foreign=true\n"
               "trace\\columns=ts=3, key=1\n"
               "trace\\delimiter=\\t\n"
               "trace\\timeUnit=ns\n"
               "nodes\\endpoints=127.0.0.1:7401, 127.0.0.1:7402 ,[::1]:7403\n"
               "nodes\\tlsCa=  /etc/ca.pem  \n"
               "nodes\\copyMbPerS=0\n"
               "[autoApply]\n"
               "quietHours=none\n"
               "maxConcurrentMoves=4\n"
               "[schedule]\n"
               "maintenanceWindow=23:30\xe2\x80\x93"
               "01:00\n"
               "[recent]\n"
               "traces=/srv/one.csv\n");
    file.close();
    QSettings store(path, QSettings::IniFormat);
    const LoadedSettings loaded = loadConsoleSettings(store);
    QVERIFY2(loaded.warnings.isEmpty(), qPrintable(loaded.warnings.join(u'\n')));
    const ConsoleSettings& settings = loaded.settings;
    QCOMPARE(settings.connection.kind, ConnectorKind::TraceReplay);
    QCOMPARE(settings.connection.simulated.scenario, Scenario::FlashCrowd);
    QVERIFY(settings.connection.trace.foreign);
    QCOMPARE(settings.connection.trace.columns, QStringLiteral("ts=3,key=1"));
    QCOMPARE(settings.connection.trace.delimiter, QChar(u'\t'));
    QCOMPARE(settings.connection.trace.time_unit, TimeUnit::Nanoseconds);
    QCOMPARE(settings.connection.nodes.endpoints,
             (QStringList{QStringLiteral("127.0.0.1:7401"), QStringLiteral("127.0.0.1:7402"),
                          QStringLiteral("[::1]:7403")}));
    QCOMPARE(settings.connection.nodes.tls_ca, QStringLiteral("/etc/ca.pem"));
    QCOMPARE(settings.connection.nodes.copy_mb_per_s, kUnlimitedCopyRate);
    QVERIFY(!settings.auto_apply.quiet_hours.has_value());
    QCOMPARE(settings.auto_apply.max_concurrent_moves, std::size_t{4});
    QCOMPARE(settings.maintenance_window, (std::optional<DailyWindow>(DailyWindow{1410, 60})));
    QCOMPARE(settings.recent_traces, QStringList{QStringLiteral("/srv/one.csv")});
}

void TestConsoleSettings::recentTracesMoveToFrontAndTrim() {
    ConsoleSettings settings;
    const auto path = [](int n) { return QStringLiteral("/traces/day-%1.csv").arg(n); };
    addRecentTrace(settings, path(1));
    addRecentTrace(settings, path(2));
    addRecentTrace(settings, path(3));
    QCOMPARE(settings.recent_traces, (QStringList{path(3), path(2), path(1)}));
    addRecentTrace(settings, path(1));
    QCOMPARE(settings.recent_traces, (QStringList{path(1), path(3), path(2)}));
    addRecentTrace(settings, QString());
    addRecentTrace(settings, QStringLiteral("  "));
    QCOMPARE(settings.recent_traces.size(), 3);
    for (int n = 4; n <= 12; ++n)
        addRecentTrace(settings, path(n));
    QCOMPARE(settings.recent_traces.size(), kMaxRecentTraces);
    QCOMPARE(settings.recent_traces.front(), path(12));
    QCOMPARE(settings.recent_traces.back(), path(5));
    QVERIFY(!settings.recent_traces.contains(path(1)));
    // A path spelled differently is the same entry, stored clean.
    addRecentTrace(settings, QStringLiteral("/traces/x/../day-7.csv"));
    QCOMPARE(settings.recent_traces.front(), path(7));
    QCOMPARE(settings.recent_traces.count(path(7)), 1);
    QCOMPARE(settings.recent_traces.size(), kMaxRecentTraces);
}

void TestConsoleSettings::recentTracesDedupeByCanonicalPath() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString real = QFileInfo(dir.filePath(QStringLiteral("trace.csv"))).absoluteFilePath();
    QFile file(real);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    const QString link = dir.filePath(QStringLiteral("latest.csv"));
    QVERIFY(QFile::link(real, link));
    const QString canonical = QFileInfo(real).canonicalFilePath();

    ConsoleSettings settings;
    addRecentTrace(settings, real);
    addRecentTrace(settings, QStringLiteral("/elsewhere/other.csv"));
    addRecentTrace(settings, link);
    QCOMPARE(settings.recent_traces,
             (QStringList{canonical, QStringLiteral("/elsewhere/other.csv")}));
}

void TestConsoleSettings::loadingCleansRecentTraces() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QSettings store(iniPath(dir, "console.ini"), QSettings::IniFormat);
    QStringList stored;
    for (int n = 0; n < 12; ++n)
        stored.append(QStringLiteral("/t/%1.csv").arg(n % 10)); // 10 files, two repeated
    stored.insert(1, QString());
    store.setValue(QStringLiteral("recent/traces"), stored);
    const LoadedSettings loaded = loadConsoleSettings(store);
    QVERIFY(loaded.warnings.isEmpty());
    QCOMPARE(loaded.settings.recent_traces.size(), kMaxRecentTraces);
    QCOMPARE(loaded.settings.recent_traces.front(), QStringLiteral("/t/0.csv"));
    QCOMPARE(loaded.settings.recent_traces.back(), QStringLiteral("/t/7.csv"));
    QStringList unique = loaded.settings.recent_traces;
    QCOMPARE(unique.removeDuplicates(), 0);
}

void TestConsoleSettings::nodeSettingsRoundTrip_data() {
    QTest::addColumn<QStringList>("endpoints");
    // None, one (stored as plain text) and several (stored as a list): each reads back as saved.
    QTest::newRow("none") << QStringList();
    QTest::newRow("one") << QStringList{QStringLiteral("127.0.0.1:7401")};
    QTest::newRow("three") << QStringList{QStringLiteral("127.0.0.1:7401"),
                                          QStringLiteral("127.0.0.1:7402"),
                                          QStringLiteral("[::1]:7403")};
}

void TestConsoleSettings::nodeSettingsRoundTrip() {
    QFETCH(QStringList, endpoints);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    ConsoleSettings saved;
    saved.connection.kind = ConnectorKind::NodeCluster;
    saved.connection.nodes.endpoints = endpoints;
    saved.connection.nodes.copy_mb_per_s = kUnlimitedCopyRate;
    {
        QSettings store(iniPath(dir, "nodes.ini"), QSettings::IniFormat);
        saveConsoleSettings(store, saved);
    }
    QFile file(iniPath(dir, "nodes.ini"));
    QVERIFY(file.open(QIODevice::ReadOnly));
    QVERIFY(QString::fromUtf8(file.readAll()).contains(QStringLiteral("kind=nodes")));
    QSettings store(iniPath(dir, "nodes.ini"), QSettings::IniFormat);
    const LoadedSettings loaded = loadConsoleSettings(store);
    QVERIFY2(loaded.warnings.isEmpty(), qPrintable(loaded.warnings.join(u'\n')));
    QCOMPARE(loaded.settings.connection.kind, ConnectorKind::NodeCluster);
    QCOMPARE(loaded.settings.connection.nodes.endpoints, endpoints);
    QCOMPARE(loaded.settings, saved);
}

void TestConsoleSettings::endpointsAreChecked_data() {
    QTest::addColumn<QString>("endpoint");
    QTest::addColumn<QString>("problem"); // a part of the problem; empty: accepted
    QTest::newRow("ipv4") << QStringLiteral("127.0.0.1:7401") << QString();
    QTest::newRow("name") << QStringLiteral("node-1.example:1") << QString();
    QTest::newRow("ipv6") << QStringLiteral("[::1]:65535") << QString();
    QTest::newRow("blanks around") << QStringLiteral("  localhost:80 ") << QString();
    QTest::newRow("no port") << QStringLiteral("localhost") << QStringLiteral("is not host:port");
    QTest::newRow("empty host") << QStringLiteral(":7401") << QStringLiteral("is not host:port");
    QTest::newRow("empty") << QString() << QStringLiteral("is not host:port");
    QTest::newRow("blank in host")
        << QStringLiteral("my host:7401") << QStringLiteral("is not host:port");
    QTest::newRow("bare ipv6") << QStringLiteral("::1:7401") << QStringLiteral("brackets");
    QTest::newRow("open bracket") << QStringLiteral("[::1:7401") << QStringLiteral("host:port");
    QTest::newRow("port 0") << QStringLiteral("h:0") << QStringLiteral("port 0 is out of range");
    QTest::newRow("port 65536") << QStringLiteral("h:65536")
                                << QStringLiteral("port 65536 is out of range (1 to 65535)");
    QTest::newRow("huge port") << QStringLiteral("h:99999999999999999999")
                               << QStringLiteral("out of range");
    QTest::newRow("empty port") << QStringLiteral("h:") << QStringLiteral("is not a number");
    QTest::newRow("signed port") << QStringLiteral("h:+80") << QStringLiteral("is not a number");
    QTest::newRow("named port") << QStringLiteral("h:http")
                                << QStringLiteral("the port 'http' is not a number");
}

void TestConsoleSettings::endpointsAreChecked() {
    QFETCH(QString, endpoint);
    QFETCH(QString, problem);
    const QString found = endpointProblem(endpoint);
    if (problem.isEmpty()) {
        QVERIFY2(found.isEmpty(), qPrintable(found));
        return;
    }
    QVERIFY2(found.contains(problem), qPrintable(found));
    QVERIFY2(found.contains(endpoint.trimmed()), qPrintable(found));
}

void TestConsoleSettings::endpointListsParse() {
    const Result<QStringList> list = parseEndpointList(QStringLiteral(" a:1, b:2 ,,[::1]:3, "));
    QVERIFY(list.ok());
    QCOMPARE(*list, (QStringList{QStringLiteral("a:1"), QStringLiteral("b:2"),
                                 QStringLiteral("[::1]:3")}));
    QVERIFY(parseEndpointList(QString())->isEmpty());
    const Result<QStringList> bad = parseEndpointList(QStringLiteral("a:1,b:0,c"));
    QVERIFY(!bad.ok());
    QCOMPARE(QString::fromStdString(bad.error().message),
             QStringLiteral("'b:0': port 0 is out of range (1 to 65535)"));
}

void TestConsoleSettings::delimiterNamesRoundTrip() {
    for (const QChar delimiter : {u',', u'\t', u';', u'|', u' ', u':'})
        QCOMPARE(parseDelimiter(delimiterName(delimiter)), std::optional<QChar>(delimiter));
    QCOMPARE(delimiterName(u'\t'), QStringLiteral("tab"));
    QCOMPARE(parseDelimiter(QStringLiteral("Semicolon")), std::optional<QChar>(u';'));
    for (const QString& bad : {QStringLiteral("\""), QStringLiteral("ab"), QString(),
                               QString(QChar(0xe9)), QStringLiteral("\n")})
        QVERIFY2(!parseDelimiter(bad).has_value(), qPrintable(bad));
}

void TestConsoleSettings::traceReadOptionsForOurFormat() {
    TraceSettings trace;
    trace.path = QStringLiteral("/traces/ours.csv");
    // Foreign-only fields are ignored for our own format.
    trace.columns = QStringLiteral("ts=2,key=1");
    trace.header = false;
    trace.time_unit = TimeUnit::Seconds;
    trace.delimiter = u';';
    const Result<TraceReadOptions> options = traceReadOptions(trace);
    QVERIFY(options.ok());
    QVERIFY(!options->columns.has_value());
    QVERIFY(options->header);
    QCOMPARE(options->time_unit, TimeUnit::Milliseconds);
    QCOMPARE(options->delimiter, ',');
    QVERIFY(!options->strict);
}

void TestConsoleSettings::traceReadOptionsForAForeignLog() {
    TraceSettings trace;
    trace.foreign = true;
    trace.columns = QStringLiteral("ts=2,key=1,op=4");
    trace.header = false;
    trace.time_unit = TimeUnit::Seconds;
    trace.delimiter = u';';
    const Result<TraceReadOptions> options = traceReadOptions(trace);
    QVERIFY2(options.ok(), options ? "" : options.error().message.c_str());
    ColumnMapping expected;
    expected.key = 0;
    expected.ts = 1;
    expected.op = 3;
    QCOMPARE(options->columns, std::optional<ColumnMapping>(expected));
    QVERIFY(!options->header);
    QCOMPARE(options->time_unit, TimeUnit::Seconds);
    QCOMPARE(options->delimiter, ';');

    // And the reader takes them: a foreign file reads with these options.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("foreign.log"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("user17;1767571200;x;SET\nuser18;1767571201.5;y;GET\n");
    file.close();
    Result<TraceReader> reader = TraceReader::open(path.toStdString(), options.value());
    QVERIFY(reader.ok());
    std::vector<std::pair<TimeMs, Op>> events;
    const Result<TraceReadSummary> summary =
        reader->read([&](const TraceEvent& event) { events.emplace_back(event.ts_ms, event.op); });
    QVERIFY(summary.ok());
    QCOMPARE(summary->bad_lines, std::uint64_t{0});
    QCOMPARE(events.size(), std::size_t{2});
    QCOMPARE(events[0], (std::pair<TimeMs, Op>{1'767'571'200'000, Op::Put}));
    QCOMPARE(events[1], (std::pair<TimeMs, Op>{1'767'571'201'500, Op::Get}));
}

void TestConsoleSettings::traceReadOptionsNameTheBadField_data() {
    QTest::addColumn<QString>("columns");
    QTest::addColumn<QChar>("delimiter");
    QTest::addColumn<QString>("errorStart");
    QTest::addColumn<QString>("mentions");
    QTest::newRow("unknown column") << QStringLiteral("ts=1,kye=2") << QChar(u',')
                                    << QStringLiteral("columns: ") << QStringLiteral("'kye'");
    QTest::newRow("no key") << QStringLiteral("ts=1,op=2") << QChar(u',')
                            << QStringLiteral("columns: ") << QStringLiteral("'key'");
    QTest::newRow("empty") << QString() << QChar(u',') << QStringLiteral("columns: ")
                           << QStringLiteral("empty");
    QTest::newRow("position 0") << QStringLiteral("ts=0,key=1") << QChar(u',')
                                << QStringLiteral("columns: ") << QStringLiteral("position");
    QTest::newRow("quote delimiter") << QStringLiteral("ts=1,key=2") << QChar(u'"')
                                     << QStringLiteral("delimiter: ") << QStringLiteral("quote");
    QTest::newRow("non-ASCII delimiter")
        << QStringLiteral("ts=1,key=2") << QChar(0xa7) << QStringLiteral("delimiter: ")
        << QStringLiteral("ASCII");
}

void TestConsoleSettings::traceReadOptionsNameTheBadField() {
    QFETCH(QString, columns);
    QFETCH(QChar, delimiter);
    QFETCH(QString, errorStart);
    QFETCH(QString, mentions);
    TraceSettings trace;
    trace.foreign = true;
    trace.columns = columns;
    trace.delimiter = delimiter;
    const Result<TraceReadOptions> options = traceReadOptions(trace);
    QVERIFY(!options.ok());
    const QString message = QString::fromStdString(options.error().message);
    QVERIFY2(message.startsWith(errorStart), qPrintable(message));
    QVERIFY2(message.contains(mentions), qPrintable(message));
    QVERIFY2(!message.contains(QStringLiteral("--columns")), qPrintable(message));
}

QTEST_APPLESS_MAIN(TestConsoleSettings)
#include "tst_console_settings.moc"
