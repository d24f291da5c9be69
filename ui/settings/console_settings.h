#pragma once

// The console's persistent settings: which cluster to connect to (the embedded simulation, a
// trace replay, or real rangepilot-nodes over gRPC, with their parameters), the auto-apply
// guardrails, the maintenance window, who the operator is, where the audit log goes, the recently
// opened traces, the host warning threshold and the main window's geometry. Stored in a QSettings
// under grouped keys ("connection/...", "autoApply/...", "schedule/maintenanceWindow", ...), enums
// and windows as text so the file reads and edits by hand ("hotspot-drift", "ms", "02:00-05:00").
//
// Invariants: loading never fails. Every key has a default; a missing key takes it silently, a
// present but unusable value (wrong type, out of range, unknown name) takes it with a warning
// naming the key, the value and the default. Whatever loadConsoleSettings() returns, the dialogs
// can show unchanged and saveConsoleSettings() writes back to an equal value. Concrete connectors
// are not named here (ui/ depends on connectors by interface only); the app turns these plain
// values into connector options. Cost: a few dozen QSettings reads or writes.

#include "auto_apply.h"
#include "result.h"
#include "timestamp.h"
#include "trace_reader.h"
#include "workload_generator.h"

#include <QByteArray>
#include <QChar>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <optional>

class QSettings;

namespace rangepilot {

// Bounds the dialogs offer and the loader accepts, so that a loaded value always fits a widget.
inline constexpr int kMaxConsoleHosts = 1024;
inline constexpr int kMaxShardsPerHost = 1024;
inline constexpr int kMaxKeyCells = 65536;
inline constexpr double kMinWorkloadHours = 0.1;
inline constexpr double kMaxWorkloadHours = 8784; // one leap year, the generator's limit
inline constexpr double kMinEventRate = 1;
inline constexpr double kMaxEventRate = 1e7; // the generator's limit
inline constexpr double kMinReplaySpeed = 1;
inline constexpr double kMaxReplaySpeed = 1000;
inline constexpr double kAsFastAsPossible = 0; // the speed value meaning "no pacing"
inline constexpr int kMaxRecentTraces = 8;
inline constexpr double kMaxCopyMbPerS = 100000; // 100 GB/s: beyond any disk or network
inline constexpr double kUnlimitedCopyRate = 0;  // the copy rate value meaning "no limit"

enum class ConnectorKind { Simulated, TraceReplay, NodeCluster };

// "simulated", "trace-replay", "nodes": how the kind is stored.
QString connectorKindName(ConnectorKind kind);
std::optional<ConnectorKind> parseConnectorKind(const QString& text);

struct SimulatedSettings {
    Scenario scenario = Scenario::HotspotDrift;
    double hours = 168;     // length of the generated workload, in cluster hours
    double rate_eps = 1000; // average events per second
    std::uint64_t seed = 1;
    int hosts = 8;
    int shards_per_host = 8;
    int cells = 1024;
    double speed = 60; // cluster seconds per wall second: kAsFastAsPossible, else 1..1000
    bool operator==(const SimulatedSettings&) const = default;
};

struct TraceSettings {
    QString path;
    bool foreign = false; // false: our own CSV format; true: a foreign log read by `columns`
    // Foreign logs only: the mapping ("ts=1,key=2,op=3", 1-based positions), whether line 1 is a
    // header, the unit of numeric timestamps and the field delimiter. Our own format always has a
    // header naming its columns, millisecond timestamps and commas.
    QString columns;
    bool header = true;
    TimeUnit time_unit = TimeUnit::Milliseconds;
    QChar delimiter = u',';
    int hosts = 8;
    double speed = 60; // as SimulatedSettings::speed
    bool operator==(const TraceSettings&) const = default;
};

// QStandardPaths::AppDataLocation + "/ownership.json".
QString defaultOwnershipStorePath();

// Real rangepilot-nodes: where they listen, the ownership store this console keeps (a local file;
// the first console to open it drives migrations, later ones only watch), TLS and the bearer
// token, how finely load is counted, and how fast a migration may copy.
struct NodeClusterSettings {
    QStringList endpoints; // "host:port" of each node, as endpointProblem() accepts them
    QString store_path = defaultOwnershipStorePath();
    QString tls_ca;          // PEM roots of the nodes' certificates; empty = plaintext
    QString tls_server_name; // the name checked in the certificate; empty = the host
    QString token_file;      // a file holding the bearer token; empty = no token
    int cells = 256;
    double copy_mb_per_s = 50; // average copy rate of a migration; kUnlimitedCopyRate = no limit
    bool operator==(const NodeClusterSettings&) const = default;
};

struct ConnectionSettings {
    ConnectorKind kind = ConnectorKind::Simulated;
    SimulatedSettings simulated;
    TraceSettings trace;
    NodeClusterSettings nodes;
    bool operator==(const ConnectionSettings&) const = default;
};

// Why `endpoint` is not a node address, empty when it is one: "host:port" with a non-empty host
// (an IPv6 address in brackets, "[::1]:7401") and a port from 1 to 65535.
QString endpointProblem(const QString& endpoint);
// A comma-separated list of endpoints (blanks around entries ignored, empty entries dropped); an
// Error names the first bad entry.
Result<QStringList> parseEndpointList(const QString& text);

// The login name ($USER, else $USERNAME), else "operator".
QString defaultOperatorName();
// QStandardPaths::AppDataLocation + "/audit.log".
QString defaultAuditLogPath();

struct ConsoleSettings {
    ConnectionSettings connection;
    AutoApplyGuardrails auto_apply;                // off by default
    std::optional<DailyWindow> maintenance_window; // none by default
    QString operator_name = defaultOperatorName();
    QString audit_log_path = defaultAuditLogPath();
    QStringList recent_traces;       // newest first, at most kMaxRecentTraces, no duplicates
    double warning_threshold = 0.85; // host utilization that warns, in (0, 1]
    QByteArray window_geometry;      // QMainWindow::saveGeometry()
    QByteArray window_state;         // QMainWindow::saveState()
    bool operator==(const ConsoleSettings&) const = default;
};

struct LoadedSettings {
    ConsoleSettings settings;
    // One line per unusable value, naming the key, e.g.
    // "autoApply/maxConcurrentMoves: -3 is not a count of at least 1; using 2".
    QStringList warnings;
};

LoadedSettings loadConsoleSettings(QSettings& store);
void saveConsoleSettings(QSettings& store, const ConsoleSettings& settings);

// Puts `path` first in settings.recent_traces, removing any entry for the same file (compared by
// canonical path, so a symlink or "a/../b" is the same file) and the entries past
// kMaxRecentTraces. Stores the canonical path when the file exists, else the cleaned absolute one.
// An empty path changes nothing.
void addRecentTrace(ConsoleSettings& settings, const QString& path);

// The reader options for a trace: our own format (header, ms, commas), or a foreign log with its
// mapping. An Error naming the field ("columns: 'kye=2': unknown column 'kye' ...", "delimiter:
// ...") when `columns` does not parse or the delimiter cannot be used.
Result<TraceReadOptions> traceReadOptions(const TraceSettings& trace);

// "comma", "tab", "semicolon", "pipe", "space", or the character itself: how delimiters are stored.
QString delimiterName(QChar delimiter);
// The inverse of delimiterName(); nullopt for anything the reader cannot split on (a quote, a line
// break, a character outside ASCII, more than one character).
std::optional<QChar> parseDelimiter(const QString& text);

} // namespace rangepilot
