#include "console_settings.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>
#include <QStandardPaths>
#include <QVariant>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace rangepilot {

namespace {

// --- keys ----------------------------------------------------------------------------------------

namespace key {
const QString kind = QStringLiteral("connection/kind");
const QString scenario = QStringLiteral("connection/simulated/scenario");
const QString hours = QStringLiteral("connection/simulated/hours");
const QString rate = QStringLiteral("connection/simulated/rateEps");
const QString seed = QStringLiteral("connection/simulated/seed");
const QString simulatedHosts = QStringLiteral("connection/simulated/hosts");
const QString shardsPerHost = QStringLiteral("connection/simulated/shardsPerHost");
const QString cells = QStringLiteral("connection/simulated/cells");
const QString simulatedSpeed = QStringLiteral("connection/simulated/speed");
const QString tracePath = QStringLiteral("connection/trace/path");
const QString foreign = QStringLiteral("connection/trace/foreign");
const QString columns = QStringLiteral("connection/trace/columns");
const QString header = QStringLiteral("connection/trace/header");
const QString timeUnit = QStringLiteral("connection/trace/timeUnit");
const QString delimiter = QStringLiteral("connection/trace/delimiter");
const QString traceHosts = QStringLiteral("connection/trace/hosts");
const QString traceSpeed = QStringLiteral("connection/trace/speed");
const QString endpoints = QStringLiteral("connection/nodes/endpoints");
const QString storePath = QStringLiteral("connection/nodes/storePath");
const QString tlsCa = QStringLiteral("connection/nodes/tlsCa");
const QString tlsServerName = QStringLiteral("connection/nodes/tlsServerName");
const QString tokenFile = QStringLiteral("connection/nodes/tokenFile");
const QString nodeCells = QStringLiteral("connection/nodes/cells");
const QString copyRate = QStringLiteral("connection/nodes/copyMbPerS");
const QString autoApplyEnabled = QStringLiteral("autoApply/enabled");
const QString maxMoves = QStringLiteral("autoApply/maxConcurrentMoves");
const QString maxBytesPerHour = QStringLiteral("autoApply/maxBytesPerHour");
const QString quietHours = QStringLiteral("autoApply/quietHours");
const QString minGain = QStringLiteral("autoApply/minGain");
const QString maintenanceWindow = QStringLiteral("schedule/maintenanceWindow");
const QString operatorName = QStringLiteral("operator/name");
const QString auditPath = QStringLiteral("audit/path");
const QString recentTraces = QStringLiteral("recent/traces");
const QString warningThreshold = QStringLiteral("ui/warningThreshold");
const QString geometry = QStringLiteral("window/geometry");
const QString state = QStringLiteral("window/state");
} // namespace key

// --- reading one value ---------------------------------------------------------------------------

// Values come back typed from the process's own cache or a native store, and as text from an INI
// file read afresh (and as a QStringList when hand-edited text holds an unquoted comma), so every
// conversion accepts both.

bool isText(const QVariant& value) {
    return value.typeId() == QMetaType::QString || value.typeId() == QMetaType::QByteArray;
}

bool isNumberType(const QVariant& value) {
    switch (value.typeId()) {
    case QMetaType::Int:
    case QMetaType::UInt:
    case QMetaType::LongLong:
    case QMetaType::ULongLong:
    case QMetaType::Double:
    case QMetaType::Float:
        return true;
    default:
        return false;
    }
}

std::optional<double> asNumber(const QVariant& value) {
    if (isNumberType(value))
        return value.toDouble();
    if (!isText(value))
        return std::nullopt;
    bool ok = false;
    const double number = value.toString().trimmed().toDouble(&ok);
    if (!ok || !std::isfinite(number))
        return std::nullopt;
    return number;
}

std::optional<qint64> asInteger(const QVariant& value) {
    if (value.typeId() == QMetaType::Double || value.typeId() == QMetaType::Float) {
        const double number = value.toDouble();
        if (number != std::floor(number) || std::abs(number) > 9e15)
            return std::nullopt;
        return static_cast<qint64>(number);
    }
    if (value.typeId() == QMetaType::ULongLong) {
        if (value.toULongLong() > static_cast<qulonglong>(std::numeric_limits<qint64>::max()))
            return std::nullopt;
        return static_cast<qint64>(value.toULongLong());
    }
    if (isNumberType(value))
        return value.toLongLong();
    if (!isText(value))
        return std::nullopt;
    bool ok = false;
    const qint64 number = value.toString().trimmed().toLongLong(&ok);
    if (!ok)
        return std::nullopt;
    return number;
}

std::optional<std::uint64_t> asUnsigned64(const QVariant& value) {
    if (value.typeId() == QMetaType::ULongLong)
        return value.toULongLong();
    if (isNumberType(value)) {
        const std::optional<qint64> number = asInteger(value);
        if (!number || *number < 0)
            return std::nullopt;
        return static_cast<std::uint64_t>(*number);
    }
    if (!isText(value))
        return std::nullopt;
    const QString text = value.toString().trimmed();
    if (text.startsWith(u'-') || text.startsWith(u'+'))
        return std::nullopt;
    bool ok = false;
    const qulonglong number = text.toULongLong(&ok);
    if (!ok)
        return std::nullopt;
    return number;
}

std::optional<bool> asBool(const QVariant& value) {
    if (value.typeId() == QMetaType::Bool)
        return value.toBool();
    if (!isText(value))
        return std::nullopt;
    const QString text = value.toString().trimmed().toLower();
    if (text == QLatin1String("true") || text == QLatin1String("1"))
        return true;
    if (text == QLatin1String("false") || text == QLatin1String("0"))
        return false;
    return std::nullopt;
}

// Text fields: a hand-edited "ts=1,key=2" without quotes reads as a list; joined back it is the
// text that was written.
std::optional<QString> asText(const QVariant& value) {
    if (value.typeId() == QMetaType::QStringList)
        return value.toStringList().join(u',');
    if (value.typeId() == QMetaType::QString || isNumberType(value))
        return value.toString();
    return std::nullopt;
}

// How a rejected value reads in a warning.
QString shown(const QVariant& value) {
    if (!value.isValid())
        return QStringLiteral("an empty value");
    if (value.typeId() == QMetaType::QStringList)
        return QLatin1Char('\'') + value.toStringList().join(QStringLiteral(", ")) +
               QLatin1Char('\'');
    if (isNumberType(value))
        return value.toString();
    if (value.canConvert<QString>()) {
        const QString text = value.toString();
        bool numeric = false;
        text.toDouble(&numeric);
        return numeric ? text : QLatin1Char('\'') + text + QLatin1Char('\'');
    }
    return QStringLiteral("a value of type ") + QString::fromLatin1(value.typeName());
}

QString numberText(double value) {
    return QString::number(value, 'g', 15);
}

class SettingsReader {
public:
    SettingsReader(QSettings& store, QStringList& warnings)
        : m_store(store)
        , m_warnings(warnings) {}

    // The value of `key` as `parse` reads it, or `fallback` (with a warning when the key is
    // present): "key: <value> is not <expectation>; using <fallbackText>".
    template <typename T, typename Parse>
    T read(const QString& key, T fallback, Parse parse, const QString& expectation,
           const QString& fallbackText) {
        if (!m_store.contains(key))
            return fallback;
        const QVariant value = m_store.value(key);
        if (std::optional<T> parsed = parse(value))
            return *parsed;
        m_warnings.append(QStringLiteral("%1: %2 is not %3; using %4")
                              .arg(key, shown(value), expectation, fallbackText));
        return fallback;
    }

    int integer(const QString& key, int fallback, int min, int max, const QString& expectation) {
        return read(
            key, fallback,
            [&](const QVariant& value) -> std::optional<int> {
                const std::optional<qint64> number = asInteger(value);
                if (!number || *number < min || *number > max)
                    return std::nullopt;
                return static_cast<int>(*number);
            },
            expectation, QString::number(fallback));
    }

    double number(const QString& key, double fallback, double min, double max,
                  const QString& expectation) {
        return read(
            key, fallback,
            [&](const QVariant& value) -> std::optional<double> {
                const std::optional<double> number = asNumber(value);
                if (!number || !(*number >= min && *number <= max))
                    return std::nullopt;
                return number;
            },
            expectation, numberText(fallback));
    }

    bool boolean(const QString& key, bool fallback) {
        return read(key, fallback, asBool, QStringLiteral("true or false"),
                    fallback ? QStringLiteral("true") : QStringLiteral("false"));
    }

    // Non-empty text (surrounding blanks removed).
    QString text(const QString& key, const QString& fallback, const QString& expectation) {
        return read(
            key, fallback,
            [](const QVariant& value) -> std::optional<QString> {
                std::optional<QString> text = asText(value);
                if (!text || text->trimmed().isEmpty())
                    return std::nullopt;
                return text->trimmed();
            },
            expectation, QLatin1Char('\'') + fallback + QLatin1Char('\''));
    }

    // Text that may be empty (surrounding blanks removed): an unset optional path or name.
    QString optionalText(const QString& key, const QString& expectation) {
        return read(
            key, QString(),
            [](const QVariant& value) -> std::optional<QString> {
                if (!value.isValid())
                    return QString();
                const std::optional<QString> text = asText(value);
                if (!text)
                    return std::nullopt;
                return text->trimmed();
            },
            expectation, QStringLiteral("none"));
    }

    double speed(const QString& key, double fallback) {
        return read(
            key, fallback,
            [](const QVariant& value) -> std::optional<double> {
                const std::optional<double> number = asNumber(value);
                if (!number || !(*number == kAsFastAsPossible ||
                                 (*number >= kMinReplaySpeed && *number <= kMaxReplaySpeed)))
                    return std::nullopt;
                return number;
            },
            QStringLiteral("a speed of 0 (as fast as possible) or from 1 to 1000"),
            numberText(fallback));
    }

    // "" or "none" = no window; otherwise "HH:MM-HH:MM".
    std::optional<DailyWindow> window(const QString& key, std::optional<DailyWindow> fallback) {
        return read(
            key, fallback,
            [](const QVariant& value) -> std::optional<std::optional<DailyWindow>> {
                if (!value.isValid())
                    return std::optional<DailyWindow>();
                const std::optional<QString> text = asText(value);
                if (!text)
                    return std::nullopt;
                const QString trimmed = text->trimmed();
                if (trimmed.isEmpty() ||
                    trimmed.compare(QLatin1String("none"), Qt::CaseInsensitive) == 0)
                    return std::optional<DailyWindow>();
                Result<DailyWindow> window = parseDailyWindow(trimmed.toStdString());
                if (!window)
                    return std::nullopt;
                return std::optional<DailyWindow>(window.value());
            },
            QStringLiteral("a daily UTC window like 02:00-05:00 (or empty for none)"),
            fallback ? QString::fromStdString(formatDailyWindow(*fallback))
                     : QStringLiteral("none"));
    }

private:
    QSettings& m_store;
    QStringList& m_warnings;
};

// --- the groups ------------------------------------------------------------------------------

QString scenarioList() {
    QStringList names;
    for (const Scenario scenario : allScenarios())
        names.append(QString::fromUtf8(scenarioName(scenario)));
    return names.join(QStringLiteral(", "));
}

QString scenarioText(Scenario scenario) {
    return QString::fromUtf8(scenarioName(scenario));
}

QString timeUnitText(TimeUnit unit) {
    return QString::fromUtf8(timeUnitName(unit));
}

QString rangeText(double min, double max) {
    return QStringLiteral("from %1 to %2").arg(numberText(min), numberText(max));
}

SimulatedSettings readSimulated(SettingsReader& reader) {
    const SimulatedSettings defaults;
    SimulatedSettings simulated;
    simulated.scenario = reader.read(
        key::scenario, defaults.scenario,
        [](const QVariant& value) -> std::optional<Scenario> {
            const std::optional<QString> text = asText(value);
            return text ? parseScenario(text->trimmed().toStdString()) : std::nullopt;
        },
        QStringLiteral("a scenario (%1)").arg(scenarioList()), scenarioText(defaults.scenario));
    simulated.hours = reader.number(
        key::hours, defaults.hours, kMinWorkloadHours, kMaxWorkloadHours,
        QStringLiteral("a length in hours ") + rangeText(kMinWorkloadHours, kMaxWorkloadHours));
    simulated.rate_eps = reader.number(key::rate, defaults.rate_eps, kMinEventRate, kMaxEventRate,
                                       QStringLiteral("a rate in events per second ") +
                                           rangeText(kMinEventRate, kMaxEventRate));
    simulated.seed = reader.read(key::seed, defaults.seed, asUnsigned64,
                                 QStringLiteral("a seed (a whole number from 0 to 2^64-1)"),
                                 QString::number(defaults.seed));
    simulated.hosts =
        reader.integer(key::simulatedHosts, defaults.hosts, 1, kMaxConsoleHosts,
                       QStringLiteral("a number of hosts ") + rangeText(1, kMaxConsoleHosts));
    simulated.shards_per_host = reader.integer(
        key::shardsPerHost, defaults.shards_per_host, 1, kMaxShardsPerHost,
        QStringLiteral("a number of shards per host ") + rangeText(1, kMaxShardsPerHost));
    simulated.cells =
        reader.integer(key::cells, defaults.cells, 1, kMaxKeyCells,
                       QStringLiteral("a number of key cells ") + rangeText(1, kMaxKeyCells));
    simulated.speed = reader.speed(key::simulatedSpeed, defaults.speed);
    return simulated;
}

TraceSettings readTrace(SettingsReader& reader) {
    const TraceSettings defaults;
    TraceSettings trace;
    // An empty path is a valid "no trace chosen yet".
    trace.path = reader.read(
        key::tracePath, defaults.path,
        [](const QVariant& value) -> std::optional<QString> {
            if (!value.isValid())
                return QString();
            return asText(value);
        },
        QStringLiteral("a file path"), QStringLiteral("none"));
    trace.foreign = reader.boolean(key::foreign, defaults.foreign);
    trace.columns = reader.read(
        key::columns, defaults.columns,
        [](const QVariant& value) -> std::optional<QString> {
            if (!value.isValid())
                return QString();
            std::optional<QString> text = asText(value);
            if (!text)
                return std::nullopt;
            *text = text->trimmed();
            if (!text->isEmpty() && !parseColumnMapping(text->toStdString()))
                return std::nullopt;
            return text;
        },
        QStringLiteral("a column mapping like ts=1,key=2,op=3"), QStringLiteral("none"));
    trace.header = reader.boolean(key::header, defaults.header);
    trace.time_unit = reader.read(
        key::timeUnit, defaults.time_unit,
        [](const QVariant& value) -> std::optional<TimeUnit> {
            const std::optional<QString> text = asText(value);
            return text ? parseTimeUnit(text->trimmed().toStdString()) : std::nullopt;
        },
        QStringLiteral("a time unit (s, ms, us, ns)"), timeUnitText(defaults.time_unit));
    trace.delimiter = reader.read(
        key::delimiter, defaults.delimiter,
        [](const QVariant& value) -> std::optional<QChar> {
            // Not trimmed: a lone space or tab is a delimiter.
            const std::optional<QString> text = asText(value);
            return text ? parseDelimiter(*text) : std::nullopt;
        },
        QStringLiteral("a delimiter (comma, tab, semicolon, pipe, space or one ASCII character "
                       "other than a quote)"),
        delimiterName(defaults.delimiter));
    trace.hosts =
        reader.integer(key::traceHosts, defaults.hosts, 1, kMaxConsoleHosts,
                       QStringLiteral("a number of hosts ") + rangeText(1, kMaxConsoleHosts));
    trace.speed = reader.speed(key::traceSpeed, defaults.speed);
    return trace;
}

NodeClusterSettings readNodes(SettingsReader& reader) {
    const NodeClusterSettings defaults;
    NodeClusterSettings nodes;
    // A list of two or more reads back as a QStringList, one entry as text, none as @Invalid();
    // hand-edited text may hold the whole list with its commas.
    nodes.endpoints = reader.read(
        key::endpoints, defaults.endpoints,
        [](const QVariant& value) -> std::optional<QStringList> {
            if (!value.isValid())
                return QStringList();
            const std::optional<QString> text = asText(value);
            if (!text)
                return std::nullopt;
            Result<QStringList> endpoints = parseEndpointList(*text);
            if (!endpoints)
                return std::nullopt;
            return endpoints.value();
        },
        QStringLiteral("a list of node addresses (host:port, port from 1 to 65535)"),
        QStringLiteral("none"));
    nodes.store_path =
        reader.text(key::storePath, defaults.store_path, QStringLiteral("a file path"));
    nodes.tls_ca = reader.optionalText(key::tlsCa, QStringLiteral("a file path"));
    nodes.tls_server_name = reader.optionalText(key::tlsServerName, QStringLiteral("a host name"));
    nodes.token_file = reader.optionalText(key::tokenFile, QStringLiteral("a file path"));
    nodes.cells =
        reader.integer(key::nodeCells, defaults.cells, 1, kMaxKeyCells,
                       QStringLiteral("a number of key cells ") + rangeText(1, kMaxKeyCells));
    nodes.copy_mb_per_s = reader.number(
        key::copyRate, defaults.copy_mb_per_s, kUnlimitedCopyRate, kMaxCopyMbPerS,
        QStringLiteral("a copy rate in MB/s from 0 (unlimited) to ") + numberText(kMaxCopyMbPerS));
    return nodes;
}

ConnectionSettings readConnection(SettingsReader& reader) {
    const ConnectionSettings defaults;
    ConnectionSettings connection;
    connection.kind = reader.read(
        key::kind, defaults.kind,
        [](const QVariant& value) -> std::optional<ConnectorKind> {
            const std::optional<QString> text = asText(value);
            return text ? parseConnectorKind(*text) : std::nullopt;
        },
        QStringLiteral("a connector (simulated, trace-replay, nodes)"),
        connectorKindName(defaults.kind));
    connection.simulated = readSimulated(reader);
    connection.trace = readTrace(reader);
    connection.nodes = readNodes(reader);
    return connection;
}

AutoApplyGuardrails readAutoApply(SettingsReader& reader) {
    const AutoApplyGuardrails defaults;
    AutoApplyGuardrails guardrails;
    guardrails.enabled = reader.boolean(key::autoApplyEnabled, defaults.enabled);
    guardrails.max_concurrent_moves = static_cast<std::size_t>(
        reader.integer(key::maxMoves, static_cast<int>(defaults.max_concurrent_moves), 1,
                       std::numeric_limits<int>::max(), QStringLiteral("a count of at least 1")));
    guardrails.max_bytes_per_hour = reader.read(
        key::maxBytesPerHour, defaults.max_bytes_per_hour,
        [](const QVariant& value) -> std::optional<double> {
            const std::optional<double> number = asNumber(value);
            if (!number || !(*number > 0))
                return std::nullopt;
            return number;
        },
        QStringLiteral("a positive number of bytes"), numberText(defaults.max_bytes_per_hour));
    guardrails.quiet_hours = reader.window(key::quietHours, defaults.quiet_hours);
    guardrails.min_gain = reader.number(key::minGain, defaults.min_gain, 0.0, 1.0,
                                        QStringLiteral("a fraction from 0 to 1"));
    return guardrails;
}

QString appDataDirectory() {
    const QString directory = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    return directory.isEmpty() ? QDir::homePath() + QStringLiteral("/.rangepilot") : directory;
}

QString canonicalTracePath(const QString& path) {
    const QFileInfo info(path);
    const QString canonical = info.canonicalFilePath();
    return canonical.isEmpty() ? QDir::cleanPath(info.absoluteFilePath()) : canonical;
}

void putFirst(QStringList& recent, const QString& path) {
    if (path.trimmed().isEmpty())
        return;
    const QString canonical = canonicalTracePath(path);
    recent.removeIf([&](const QString& entry) { return canonicalTracePath(entry) == canonical; });
    recent.prepend(canonical);
    while (recent.size() > kMaxRecentTraces)
        recent.removeLast();
}

// Each file once, newest (first) kept, at most kMaxRecentTraces; blank entries dropped.
QStringList cleanRecentTraces(const QStringList& paths) {
    QStringList recent;
    for (auto path = paths.crbegin(); path != paths.crend(); ++path)
        putFirst(recent, path->trimmed());
    return recent;
}

} // namespace

QString connectorKindName(ConnectorKind kind) {
    switch (kind) {
    case ConnectorKind::Simulated:
        return QStringLiteral("simulated");
    case ConnectorKind::TraceReplay:
        return QStringLiteral("trace-replay");
    case ConnectorKind::NodeCluster:
        return QStringLiteral("nodes");
    }
    return QStringLiteral("simulated");
}

std::optional<ConnectorKind> parseConnectorKind(const QString& text) {
    for (const ConnectorKind kind :
         {ConnectorKind::Simulated, ConnectorKind::TraceReplay, ConnectorKind::NodeCluster}) {
        if (text.trimmed().compare(connectorKindName(kind), Qt::CaseInsensitive) == 0)
            return kind;
    }
    return std::nullopt;
}

QString defaultOperatorName() {
    for (const char* variable : {"USER", "USERNAME"}) {
        const QString name = qEnvironmentVariable(variable).trimmed();
        if (!name.isEmpty())
            return name;
    }
    return QStringLiteral("operator");
}

QString defaultAuditLogPath() {
    return appDataDirectory() + QStringLiteral("/audit.log");
}

QString defaultOwnershipStorePath() {
    return appDataDirectory() + QStringLiteral("/ownership.json");
}

QString endpointProblem(const QString& endpoint) {
    const QString text = endpoint.trimmed();
    const QString notAnAddress = QStringLiteral("'%1' is not host:port").arg(text);
    const qsizetype colon = text.lastIndexOf(u':');
    if (colon < 0)
        return notAnAddress;
    const QString host = text.left(colon);
    const QString port = text.mid(colon + 1);
    const bool bracketed = host.startsWith(u'[');
    if (host.isEmpty() || (bracketed && (!host.endsWith(u']') || host.size() < 3)) ||
        std::any_of(host.begin(), host.end(), [](QChar c) { return c.isSpace(); }))
        return notAnAddress;
    if (!bracketed && host.contains(u':'))
        return QStringLiteral("'%1': write an IPv6 address in brackets, like [::1]:7401").arg(text);
    if (port.isEmpty() ||
        !std::all_of(port.begin(), port.end(), [](QChar c) { return c.isDigit(); }))
        return QStringLiteral("'%1': the port '%2' is not a number").arg(text, port);
    // Five digits hold every port; more would also overflow the conversion.
    const int number = port.size() <= 5 ? port.toInt() : 0;
    if (number < 1 || number > 65535)
        return QStringLiteral("'%1': port %2 is out of range (1 to 65535)").arg(text, port);
    return QString();
}

Result<QStringList> parseEndpointList(const QString& text) {
    QStringList endpoints;
    for (const QString& entry : text.split(u',')) {
        const QString endpoint = entry.trimmed();
        if (endpoint.isEmpty())
            continue;
        if (const QString problem = endpointProblem(endpoint); !problem.isEmpty())
            return Error{problem.toStdString()};
        endpoints.append(endpoint);
    }
    return endpoints;
}

QString delimiterName(QChar delimiter) {
    switch (delimiter.unicode()) {
    case u',':
        return QStringLiteral("comma");
    case u'\t':
        return QStringLiteral("tab");
    case u';':
        return QStringLiteral("semicolon");
    case u'|':
        return QStringLiteral("pipe");
    case u' ':
        return QStringLiteral("space");
    default:
        return QString(delimiter);
    }
}

std::optional<QChar> parseDelimiter(const QString& text) {
    for (const QChar named : {u',', u'\t', u';', u'|', u' '}) {
        if (text.compare(delimiterName(named), Qt::CaseInsensitive) == 0)
            return named;
    }
    if (text.size() != 1)
        return std::nullopt;
    const QChar delimiter = text.front();
    if (delimiter.unicode() == 0 || delimiter.unicode() > 127 || delimiter == u'"' ||
        delimiter == u'\n' || delimiter == u'\r')
        return std::nullopt;
    return delimiter;
}

LoadedSettings loadConsoleSettings(QSettings& store) {
    LoadedSettings loaded;
    SettingsReader reader(store, loaded.warnings);
    ConsoleSettings& settings = loaded.settings;
    const ConsoleSettings defaults;

    settings.connection = readConnection(reader);
    settings.auto_apply = readAutoApply(reader);
    settings.maintenance_window =
        reader.window(key::maintenanceWindow, defaults.maintenance_window);
    settings.operator_name =
        reader.text(key::operatorName, defaults.operator_name, QStringLiteral("a name"));
    settings.audit_log_path =
        reader.text(key::auditPath, defaults.audit_log_path, QStringLiteral("a file path"));
    settings.recent_traces = reader.read(
        key::recentTraces, defaults.recent_traces,
        [](const QVariant& value) -> std::optional<QStringList> {
            // An empty list is stored as @Invalid(), and a one-entry list reads back as text.
            if (!value.isValid())
                return QStringList();
            if (value.typeId() == QMetaType::QStringList)
                return cleanRecentTraces(value.toStringList());
            if (value.typeId() == QMetaType::QString)
                return cleanRecentTraces({value.toString()});
            return std::nullopt;
        },
        QStringLiteral("a list of file paths"), QStringLiteral("none"));
    settings.warning_threshold = reader.read(
        key::warningThreshold, defaults.warning_threshold,
        [](const QVariant& value) -> std::optional<double> {
            const std::optional<double> number = asNumber(value);
            if (!number || !(*number > 0 && *number <= 1))
                return std::nullopt;
            return number;
        },
        QStringLiteral("a utilization fraction in (0, 1]"), numberText(defaults.warning_threshold));
    const auto bytes = [](const QVariant& value) -> std::optional<QByteArray> {
        if (value.typeId() != QMetaType::QByteArray)
            return std::nullopt;
        return value.toByteArray();
    };
    settings.window_geometry =
        reader.read(key::geometry, defaults.window_geometry, bytes,
                    QStringLiteral("saved window geometry"), QStringLiteral("the default layout"));
    settings.window_state =
        reader.read(key::state, defaults.window_state, bytes,
                    QStringLiteral("a saved window state"), QStringLiteral("the default layout"));
    return loaded;
}

void saveConsoleSettings(QSettings& store, const ConsoleSettings& settings) {
    const ConnectionSettings& connection = settings.connection;
    const SimulatedSettings& simulated = connection.simulated;
    const TraceSettings& trace = connection.trace;
    store.setValue(key::kind, connectorKindName(connection.kind));
    store.setValue(key::scenario, scenarioText(simulated.scenario));
    store.setValue(key::hours, simulated.hours);
    store.setValue(key::rate, simulated.rate_eps);
    store.setValue(key::seed, QString::number(simulated.seed));
    store.setValue(key::simulatedHosts, simulated.hosts);
    store.setValue(key::shardsPerHost, simulated.shards_per_host);
    store.setValue(key::cells, simulated.cells);
    store.setValue(key::simulatedSpeed, simulated.speed);
    store.setValue(key::tracePath, trace.path);
    store.setValue(key::foreign, trace.foreign);
    store.setValue(key::columns, trace.columns);
    store.setValue(key::header, trace.header);
    store.setValue(key::timeUnit, timeUnitText(trace.time_unit));
    store.setValue(key::delimiter, delimiterName(trace.delimiter));
    store.setValue(key::traceHosts, trace.hosts);
    store.setValue(key::traceSpeed, trace.speed);
    const NodeClusterSettings& nodes = connection.nodes;
    store.setValue(key::endpoints, nodes.endpoints);
    store.setValue(key::storePath, nodes.store_path);
    store.setValue(key::tlsCa, nodes.tls_ca);
    store.setValue(key::tlsServerName, nodes.tls_server_name);
    store.setValue(key::tokenFile, nodes.token_file);
    store.setValue(key::nodeCells, nodes.cells);
    store.setValue(key::copyRate, nodes.copy_mb_per_s);

    const AutoApplyGuardrails& guardrails = settings.auto_apply;
    const auto windowText = [](const std::optional<DailyWindow>& window) {
        if (!window)
            return QString();
        // "02:00-05:00": the stored form uses a plain dash, easy to type when editing by hand.
        return QString::fromStdString(formatDailyWindow(*window))
            .remove(QStringLiteral(" UTC"))
            .replace(QChar(0x2013), u'-');
    };
    store.setValue(key::autoApplyEnabled, guardrails.enabled);
    store.setValue(key::maxMoves, static_cast<qulonglong>(guardrails.max_concurrent_moves));
    store.setValue(key::maxBytesPerHour, guardrails.max_bytes_per_hour);
    store.setValue(key::quietHours, windowText(guardrails.quiet_hours));
    store.setValue(key::minGain, guardrails.min_gain);

    store.setValue(key::maintenanceWindow, windowText(settings.maintenance_window));
    store.setValue(key::operatorName, settings.operator_name);
    store.setValue(key::auditPath, settings.audit_log_path);
    store.setValue(key::recentTraces, settings.recent_traces);
    store.setValue(key::warningThreshold, settings.warning_threshold);
    store.setValue(key::geometry, settings.window_geometry);
    store.setValue(key::state, settings.window_state);
}

void addRecentTrace(ConsoleSettings& settings, const QString& path) {
    putFirst(settings.recent_traces, path);
}

Result<TraceReadOptions> traceReadOptions(const TraceSettings& trace) {
    TraceReadOptions options;
    if (!trace.foreign)
        return options; // our own format: header, milliseconds, commas (the defaults)
    const std::string columnsPrefix = "--columns: ";
    Result<ColumnMapping> mapping = parseColumnMapping(trace.columns.toStdString());
    if (!mapping) {
        std::string message = mapping.error().message;
        if (message.starts_with(columnsPrefix))
            message.erase(0, columnsPrefix.size());
        return Error{"columns: " + message};
    }
    const std::optional<QChar> delimiter = parseDelimiter(QString(trace.delimiter));
    if (!delimiter)
        return Error{"delimiter: '" + QString(trace.delimiter).toStdString() +
                     "' cannot separate fields (use one ASCII character other than a quote)"};
    options.columns = mapping.value();
    options.header = trace.header;
    options.time_unit = trace.time_unit;
    options.delimiter = static_cast<char>(delimiter->unicode());
    return options;
}

} // namespace rangepilot
