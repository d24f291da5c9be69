#pragma once

// ConsoleSession: the console's brain without its face. It listens to one ClusterConnector, runs
// the planner off the GUI thread, keeps the models the window shows, and carries out what
// operators (and the auto-apply policy) decide about migrations, writing each action to the audit
// log. The window only displays and forwards clicks; everything here works without widgets, so
// tests drive it directly.
//
// Data flow, all on the GUI thread except the PlannerEngine:
//  - accessBatch and hostUsage are summed into rounds of `round_ms` of cluster time (a minute);
//    when clockAdvanced passes a round's end, the round goes to the PlannerEngine on a one-thread
//    pool (QtConcurrent::run), so rounds are processed in order and never concurrently. When more
//    than `max_queued_rounds` wait, new rounds are only observed (forecaster and load map stay
//    complete), not planned: the GUI never waits for the planner and the backlog cannot grow
//    without bound. Outcomes come back through a QFutureWatcher and are dropped when their
//    generation is stale (the topology changed: a new engine was started).
//  - An outcome updates the ownership, hosts and heatmap; its plan (if made for the current table
//    epoch, else dropped as stale) applies its boundary changes at once (they move no data;
//    audited as the planner's), and its moves become proposals in the migrations model,
//    replacing the previous round's proposals. Recently rejected proposals do not come back for
//    `rejection_memory_ms`.
//  - Operators approve (start now), reject, schedule (start at a cluster time), pause, resume and
//    abort rows of the migrations model. A scheduled move starts when cluster time reaches its
//    time. Auto-apply starts proposals itself within its guardrails (planner/auto_apply.h),
//    counting every running move and every byte started, whoever started it.
//  - Every action is appended to the AuditLogModel and, when a path is set, to the audit file:
//    who, when (wall clock), what, why, with the cluster time.

#include "audit_log_file.h"
#include "audit_log_model.h"
#include "auto_apply.h"
#include "cluster_connector.h"
#include "hosts_model.h"
#include "migrations_model.h"
#include "ownership_table_model.h"
#include "planner_worker.h"

#include <QObject>
#include <QThreadPool>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

namespace rangepilot {

struct ConsoleSessionOptions {
    PlannerEngineOptions engine;
    TimeMs round_ms = kMsPerMinute;
    int trend_every_rounds = 5;         // per-shard trends are recomputed every this many rounds
    bool apply_boundary_changes = true; // splits and merges apply at once (they move no data)
    TimeMs rejection_memory_ms = kMsPerHour;
    std::size_t max_finished_rows = 200; // ended moves kept in the migrations table
    int max_queued_rounds = 2;
    double warning_threshold = HostsModel::kDefaultWarningThreshold;
    // Runs the planner on the GUI thread instead of the worker: only for the event-loop
    // benchmark's baseline, which shows what the worker saves.
    bool plan_on_gui_thread = false;
};

// What the session knows of one row of the migrations model beyond what the row shows: the
// planner's instruction it stands for, and who scheduled it.
struct SessionMove {
    ProposalKey key;
    std::optional<MigrationId> id; // once started
    MoveInstruction instruction;
    // A move of a shard's hot part: the cuts that make the part a shard of its own. They apply
    // when the move starts, not when it is proposed: a cut without its move would only be merged
    // back by the next round.
    std::vector<SplitInstruction> carve_splits;
    QString scheduled_by;
};

class ConsoleSession : public QObject {
    Q_OBJECT
public:
    // `connector` must outlive the session.
    explicit ConsoleSession(ClusterConnector* connector, ConsoleSessionOptions options = {},
                            QObject* parent = nullptr);
    ~ConsoleSession() override; // waits for the planner's running task

    ClusterConnector* connector() const { return m_connector; }
    OwnershipTableModel* ownershipModel() { return &m_ownership; }
    HostsModel* hostsModel() { return &m_hosts; }
    MigrationsModel* migrationsModel() { return &m_migrations; }
    const MigrationsModel* migrationsModel() const { return &m_migrations; }
    AuditLogModel* auditModel() { return &m_audit; }
    const AuditLogModel* auditModel() const { return &m_audit; }

    // Who acts: recorded in every operator entry of the audit log.
    void setOperatorName(const QString& name) { m_operator = name; }
    const QString& operatorName() const { return m_operator; }
    // Appends every later entry to `path`, after loading its newest entries into the model.
    // Problems (unreadable lines, an unwritable file) are reported through problem().
    void setAuditLogPath(const QString& path);
    // The wall clock for audit entries (tests pin it).
    void setWallClock(std::function<TimeMs()> clock) { m_wallClock = std::move(clock); }

    void setGuardrails(const AutoApplyGuardrails& guardrails); // audited when it changes
    const AutoApplyGuardrails& guardrails() const { return m_guardrails; }
    void setMaintenanceWindow(std::optional<DailyWindow> window) { m_maintenance = window; }
    const std::optional<DailyWindow>& maintenanceWindow() const { return m_maintenance; }

    void setHeatmapMetric(LoadMetric metric); // rebuilds the heatmap off the GUI thread
    LoadMetric heatmapMetric() const { return m_metric; }
    const HeatmapGrid& heatmap() const { return m_heatmap; }
    const std::vector<ShardTrend>& shardTrends() const { return m_trends; }
    const ClusterTopology& topology() const { return m_topology; }
    const OwnershipTable& table() const { return m_table; }

    // Trend chart data for a shard or a host, delivered by trendReady(). The session then follows
    // it: after every round it delivers it again (when the planner has no rounds waiting), so
    // the chart grows with the history, and a range asked for before its first load shows it
    // once the load is there.
    void requestShardTrend(ShardId shard);
    void requestHostTrend(const HostId& host);
    // What the chart shows and follows: a shard, a host, or nothing yet.
    const std::variant<std::monostate, ShardId, HostId>& followedTrend() const {
        return m_followedTrend;
    }

    // Operator actions on rows of migrationsModel(). Each success is audited with `why`; an
    // Error says why the action is not possible for that row.
    Status approve(int row, const QString& why = {});
    Status reject(int row, const QString& why = {});
    Status schedule(int row, TimeMs at, const QString& why = {});
    Status pause(int row, const QString& why = {});
    Status resume(int row, const QString& why = {});
    Status abort(int row, const QString& why = {});

    TimeMs clusterTime() const { return m_now; }
    double eventsPerSecond() const { return m_eventsPerSecond; }
    ConnectorState connectorState() const { return m_connector->state(); }
    std::size_t runningMoves() const { return m_inFlight.size(); }
    // Planner tasks submitted whose outcome the GUI has not applied yet.
    int pendingTasks() const { return m_pendingOutcomes; }
    std::uint64_t roundsSubmitted() const { return m_roundsSubmitted; }
    std::uint64_t roundsPlanned() const { return m_roundsPlanned; }
    std::uint64_t stalePlansDropped() const { return m_stalePlans; }
    // The instruction behind a row; nullptr for a row the session did not create.
    const SessionMove* moveOf(int row) const;

Q_SIGNALS:
    void heatmapUpdated();
    void trendsUpdated();
    void trendReady(const rangepilot::TrendData& data);
    void statusChanged();
    void proposalsChanged();
    void problem(const QString& message);

private:
    void onTopology(const ClusterTopology& topology);
    void onOwnership(const OwnershipTable& table);
    void onAccessBatch(const AccessBatch& batch);
    void onHostUsage(const HostUsageSample& sample);
    void onProgress(const MigrationProgress& progress);
    void onClock(TimeMs now, double eventsPerSecond);

    void resetEngine();
    void refreshFollowedTrend();
    void resetRound(std::optional<TimeMs> start);
    void submitRound();
    template <typename Result, typename Task, typename Deliver>
    void runOnPlanner(Task task, Deliver deliver);
    void applyOutcome(const RoundOutcome& outcome);
    void applyFigures(const RoundOutcome& outcome);
    void applyPlan(const MigrationPlan& plan);
    void applyBoundaryChanges(const MigrationPlan& plan);
    void updateProposals(const MigrationPlan& plan);
    void autoApply(const std::vector<ProposalKey>& proposed);
    void startDueSchedules();
    Status startMove(int row, const QString& who, bool automatic, const QString& why);
    Status cutCarve(SessionMove& move, int row, const QString& who, bool automatic);
    bool recentlyRejected(const MoveInstruction& move) const;
    void pruneFinishedRows();
    std::vector<CellSpan> spansOfHost(const HostId& host) const;

    void audit(const QString& who, bool automatic, const QString& what, const QString& why);
    QString describeMove(const MigrationEntry& entry) const;
    Status rowError(int row) const;
    SessionMove* mutableMoveOf(int row);
    void forgetMove(const MigrationEntry& entry);
    AutoApplyContext autoApplyContext() const;

    ClusterConnector* m_connector;
    ConsoleSessionOptions m_options;
    OwnershipTableModel m_ownership;
    HostsModel m_hosts;
    MigrationsModel m_migrations;
    AuditLogModel m_audit;
    std::unique_ptr<AuditLogFile> m_auditFile;
    QString m_operator = QStringLiteral("operator");
    std::function<TimeMs()> m_wallClock;
    AutoApplyGuardrails m_guardrails;
    std::optional<DailyWindow> m_maintenance;

    // The planner: one engine per topology, on a one-thread pool.
    QThreadPool m_pool;
    std::shared_ptr<PlannerEngine> m_engine;
    std::uint64_t m_generation = 0;
    std::shared_ptr<std::atomic<int>> m_queuedOnWorker = std::make_shared<std::atomic<int>>(0);
    int m_pendingOutcomes = 0;
    std::uint64_t m_roundsSubmitted = 0;
    std::uint64_t m_roundsPlanned = 0;
    std::uint64_t m_stalePlans = 0;

    // Cluster state as the connector reported it.
    ClusterTopology m_topology;
    OwnershipTable m_table;
    TimeMs m_now = 0;
    double m_eventsPerSecond = 0.0;

    // The round being summed.
    std::optional<TimeMs> m_roundStart;
    TimeMs m_roundEnd = 0;
    std::vector<CellLoad> m_roundCounts;
    std::vector<ResourceVector> m_roundHostAmounts; // usage × seconds
    double m_roundHostSeconds = 0.0;

    // Figures and views.
    std::vector<ShardFigures> m_figures;
    std::vector<ShardTrend> m_trends;
    HeatmapGrid m_heatmap;
    LoadMetric m_metric = LoadMetric::Ops;
    std::variant<std::monostate, ShardId, HostId> m_followedTrend;

    // Moves: what each row stands for, what runs, what was moved and rejected.
    std::vector<SessionMove> m_moves; // one per proposal or move the model shows
    std::map<MigrationId, InFlightMove> m_inFlight;
    std::optional<ProposalKey> m_startingKey; // the row whose move executeMove() is starting
    MoveHistory m_history;
    struct Rejection {
        KeyRange range;
        HostId from;
        HostId to;
        TimeMs until = 0;
    };
    std::vector<Rejection> m_rejections;
};

} // namespace rangepilot

Q_DECLARE_METATYPE(rangepilot::TrendData)
