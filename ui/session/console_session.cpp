#include "console_session.h"

#include <QDateTime>
#include <QFutureWatcher>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace rangepilot {

namespace {

const QString kPlanner = QStringLiteral("planner");
const QString kAutoApply = QStringLiteral("auto-apply");
const QString kScheduler = QStringLiteral("scheduler");

bool isRunning(MigrationPhase phase) {
    return phase >= MigrationPhase::Shadowing && !isTerminal(phase);
}

QString fromStd(const std::string& text) {
    return QString::fromStdString(text);
}

QString orDash(const QString& text) {
    return text.isEmpty() ? QStringLiteral("no reason given") : text;
}

} // namespace

ConsoleSession::ConsoleSession(ClusterConnector* connector, ConsoleSessionOptions options,
                               QObject* parent)
    : QObject(parent)
    , m_connector(connector)
    , m_options(std::move(options))
    , m_wallClock([] { return QDateTime::currentMSecsSinceEpoch(); })
    , m_table(connector->ownership()) {
    qRegisterMetaType<TrendData>();
    m_pool.setMaxThreadCount(1); // rounds in order, one at a time: the engine is not thread-safe
    m_hosts.setWarningThreshold(m_options.warning_threshold);
    connect(connector, &ClusterConnector::topologyChanged, this, &ConsoleSession::onTopology);
    connect(connector, &ClusterConnector::ownershipChanged, this, &ConsoleSession::onOwnership);
    connect(connector, &ClusterConnector::accessBatch, this, &ConsoleSession::onAccessBatch);
    connect(connector, &ClusterConnector::hostUsage, this, &ConsoleSession::onHostUsage);
    connect(connector, &ClusterConnector::migrationProgress, this, &ConsoleSession::onProgress);
    connect(connector, &ClusterConnector::clockAdvanced, this, &ConsoleSession::onClock);
    connect(connector, &ClusterConnector::stateChanged, this, &ConsoleSession::statusChanged);
    connect(connector, &ClusterConnector::errorOccurred, this, &ConsoleSession::problem);
    onTopology(connector->topology());
    onOwnership(connector->ownership());
}

ConsoleSession::~ConsoleSession() {
    m_pool.waitForDone();
}

// --- Audit --------------------------------------------------------------------------------

void ConsoleSession::setAuditLogPath(const QString& path) {
    const AuditTail tail = AuditLogFile::readTail(path, m_audit.maximumRows());
    std::vector<AuditEntry> entries;
    entries.reserve(tail.records.size());
    for (const AuditRecord& record : tail.records)
        entries.push_back(record.entry);
    m_audit.setEntries(entries);
    for (const QString& message : tail.problems)
        Q_EMIT problem(QStringLiteral("audit log: ") + message);
    m_auditFile = std::make_unique<AuditLogFile>(path);
}

void ConsoleSession::audit(const QString& who, bool automatic, const QString& what,
                           const QString& why) {
    AuditRecord record;
    record.entry = AuditEntry{m_wallClock(), who, what, why, automatic};
    record.cluster_ms = m_now;
    m_audit.append(record.entry);
    if (!m_auditFile)
        return;
    if (std::optional<QString> failure = m_auditFile->append(record))
        Q_EMIT problem(QStringLiteral("audit log: ") + *failure);
}

QString ConsoleSession::describeMove(const MigrationEntry& entry) const {
    QString text = QStringLiteral("move of shard %1 %2 from %3 to %4 (%5)")
                       .arg(entry.shard)
                       .arg(display::keyRange(entry.range), fromStd(entry.from), fromStd(entry.to),
                            display::bytes(entry.bytes_total));
    if (entry.id)
        text = QStringLiteral("#%1 ").arg(*entry.id) + text;
    return text;
}

void ConsoleSession::setGuardrails(const AutoApplyGuardrails& guardrails) {
    if (guardrails == m_guardrails)
        return;
    const bool switched = guardrails.enabled != m_guardrails.enabled;
    m_guardrails = guardrails;
    QString what = switched ? (guardrails.enabled ? QStringLiteral("turned auto-apply on")
                                                  : QStringLiteral("turned auto-apply off"))
                            : QStringLiteral("changed the auto-apply guardrails");
    const QString limits =
        QStringLiteral("at most %1 concurrent moves, %2 per hour, minimum gain %3, quiet hours %4")
            .arg(guardrails.max_concurrent_moves)
            .arg(display::bytes(guardrails.max_bytes_per_hour),
                 display::percent(guardrails.min_gain),
                 guardrails.quiet_hours ? fromStd(formatDailyWindow(*guardrails.quiet_hours))
                                        : QStringLiteral("none"));
    audit(m_operator, false, what, limits);
}

// --- Connector signals --------------------------------------------------------------------

void ConsoleSession::onTopology(const ClusterTopology& topology) {
    m_topology = topology;
    resetEngine();
    resetRound(std::nullopt); // the next batch starts the round
}

void ConsoleSession::resetEngine() {
    ++m_generation; // outcomes of the previous engine are dropped when they arrive
    m_engine = std::make_shared<PlannerEngine>(m_topology.cells, m_options.engine);
    m_figures.clear();
    m_trends.clear();
    m_heatmap = {};
}

void ConsoleSession::onOwnership(const OwnershipTable& table) {
    m_table = table;
    m_ownership.setSnapshot(m_table, m_figures);
}

void ConsoleSession::resetRound(std::optional<TimeMs> start) {
    m_roundStart = start;
    m_roundEnd = start.value_or(0);
    m_roundCounts.assign(m_topology.cells.size(), CellLoad{});
    m_roundHostAmounts.assign(m_topology.cluster.hosts.size(), ResourceVector{});
    m_roundHostSeconds = 0.0;
}

void ConsoleSession::onAccessBatch(const AccessBatch& batch) {
    if (batch.cells.size() != m_roundCounts.size()) {
        Q_EMIT problem(QStringLiteral("access batch at %1 has %2 cells, the topology %3: ignored")
                           .arg(display::utcTime(batch.start_ms))
                           .arg(batch.cells.size())
                           .arg(m_roundCounts.size()));
        return;
    }
    if (!m_roundStart)
        m_roundStart = batch.start_ms;
    for (std::size_t cell = 0; cell < batch.cells.size(); ++cell)
        m_roundCounts[cell].add(batch.cells[cell]);
    m_roundEnd = std::max(m_roundEnd, batch.end_ms);
}

void ConsoleSession::onHostUsage(const HostUsageSample& sample) {
    if (sample.usage.size() != m_roundHostAmounts.size())
        return;
    const double seconds = static_cast<double>(sample.end_ms - sample.start_ms) / 1000.0;
    for (std::size_t host = 0; host < sample.usage.size(); ++host)
        m_roundHostAmounts[host] += sample.usage[host] * seconds;
    m_roundHostSeconds += seconds;
}

void ConsoleSession::onClock(TimeMs now, double eventsPerSecond) {
    m_now = now;
    m_eventsPerSecond = eventsPerSecond;
    if (m_roundStart && m_roundEnd - *m_roundStart >= m_options.round_ms)
        submitRound();
    startDueSchedules();
    Q_EMIT statusChanged();
}

// --- The planner on its worker thread -----------------------------------------------------

template <typename Result, typename Task, typename Deliver>
void ConsoleSession::runOnPlanner(Task task, Deliver deliver) {
    if (m_options.plan_on_gui_thread) {
        deliver(task());
        return;
    }
    auto* watcher = new QFutureWatcher<Result>(this);
    const std::uint64_t generation = m_generation;
    ++m_pendingOutcomes;
    connect(watcher, &QFutureWatcher<Result>::finished, this, [this, watcher, generation, deliver] {
        --m_pendingOutcomes;
        if (generation == m_generation)
            deliver(watcher->result());
        watcher->deleteLater();
    });
    watcher->setFuture(QtConcurrent::run(&m_pool, std::move(task)));
}

void ConsoleSession::submitRound() {
    RoundInput input(m_table);
    input.now = m_roundEnd;
    input.round_ms = m_roundEnd - *m_roundStart;
    input.cell_counts = std::move(m_roundCounts);
    input.cell_data_bytes = m_connector->cellDataBytes();
    input.cluster = m_topology.cluster;
    if (m_roundHostSeconds > 0.0) {
        input.host_rates = m_roundHostAmounts;
        for (ResourceVector& rate : input.host_rates)
            rate = rate * (1.0 / m_roundHostSeconds);
    }
    for (const auto& [id, move] : m_inFlight)
        input.in_flight.push_back(move);
    input.history = m_history;
    input.heatmap_metric = m_metric;
    ++m_roundsSubmitted;
    input.trends =
        m_options.trend_every_rounds > 0 &&
        (m_roundsSubmitted - 1) % static_cast<std::uint64_t>(m_options.trend_every_rounds) == 0;
    // Behind: the worker still has rounds to run. This one only feeds the forecaster.
    input.plan = m_queuedOnWorker->load() < m_options.max_queued_rounds;
    resetRound(m_roundEnd);

    m_queuedOnWorker->fetch_add(1);
    runOnPlanner<RoundOutcome>(
        [engine = m_engine, queued = m_queuedOnWorker, input = std::move(input)] {
            RoundOutcome outcome = engine->runRound(input);
            queued->fetch_sub(1);
            return outcome;
        },
        [this](const RoundOutcome& outcome) { applyOutcome(outcome); });
}

void ConsoleSession::setHeatmapMetric(LoadMetric metric) {
    if (metric == m_metric)
        return;
    m_metric = metric;
    runOnPlanner<HeatmapGrid>([engine = m_engine, metric] { return engine->heatmap(metric); },
                              [this, metric](const HeatmapGrid& grid) {
                                  if (metric != m_metric)
                                      return; // switched again meanwhile
                                  m_heatmap = grid;
                                  Q_EMIT heatmapUpdated();
                              });
    refreshFollowedTrend(); // the chart shows the same metric
}

void ConsoleSession::refreshFollowedTrend() {
    if (const ShardId* shard = std::get_if<ShardId>(&m_followedTrend))
        requestShardTrend(*shard);
    else if (const HostId* host = std::get_if<HostId>(&m_followedTrend))
        requestHostTrend(*host);
}

void ConsoleSession::requestShardTrend(ShardId shardId) {
    m_followedTrend = shardId;
    const Shard* shard = m_table.shardById(shardId);
    if (!shard)
        return;
    const CellSpan span = m_topology.cells.cellsStartingIn(shard->range);
    const std::string title = "shard " + std::to_string(shard->id) + " " +
                              display::keyRange(shard->range).toStdString() + " on " + shard->owner;
    runOnPlanner<TrendData>(
        [engine = m_engine, span, title, metric = m_metric] {
            return engine->trendOf({span}, metric, title, std::nullopt);
        },
        [this](const TrendData& data) { Q_EMIT trendReady(data); });
}

std::vector<CellSpan> ConsoleSession::spansOfHost(const HostId& host) const {
    std::vector<CellSpan> spans;
    for (const Shard& shard : m_table.shards()) {
        if (shard.owner == host)
            spans.push_back(m_topology.cells.cellsStartingIn(shard.range));
    }
    return spans;
}

void ConsoleSession::requestHostTrend(const HostId& host) {
    m_followedTrend = host;
    const std::optional<std::size_t> index = m_topology.cluster.indexOf(host);
    if (!index)
        return;
    std::optional<double> capacity;
    if (m_metric == LoadMetric::Ops)
        capacity = m_topology.cluster.hosts[*index].capacity[Resource::Ops];
    runOnPlanner<TrendData>([engine = m_engine, spans = spansOfHost(host), title = host,
                             metric = m_metric,
                             capacity] { return engine->trendOf(spans, metric, title, capacity); },
                            [this](const TrendData& data) { Q_EMIT trendReady(data); });
}

// --- Outcomes -----------------------------------------------------------------------------

void ConsoleSession::applyOutcome(const RoundOutcome& outcome) {
    applyFigures(outcome);
    m_heatmap = outcome.heatmap;
    Q_EMIT heatmapUpdated();
    // Behind, a later outcome refreshes it: the chart must not add to the planner's backlog.
    if (m_queuedOnWorker->load() == 0)
        refreshFollowedTrend();
    if (outcome.planned) {
        ++m_roundsPlanned;
        if (!outcome.error.empty())
            Q_EMIT problem(QStringLiteral("planner: ") + fromStd(outcome.error));
        applyPlan(outcome.plan);
    }
    Q_EMIT statusChanged();
}

void ConsoleSession::applyFigures(const RoundOutcome& outcome) {
    if (!outcome.trends.empty()) {
        m_trends = outcome.trends;
        Q_EMIT trendsUpdated();
    }
    m_figures = outcome.shards;
    std::map<ShardId, const TrendResult*> trendOf;
    for (const ShardTrend& trend : m_trends)
        trendOf[trend.shard] = &trend.trend;
    for (ShardFigures& figure : m_figures) {
        if (const auto found = trendOf.find(figure.shard); found != trendOf.end()) {
            figure.trend = found->second->direction;
            figure.trend_per_day = found->second->relative_slope_per_day;
        }
    }
    m_ownership.setSnapshot(m_table, m_figures);
    m_hosts.setSnapshot(outcome.hosts);
}

void ConsoleSession::applyPlan(const MigrationPlan& plan) {
    // Compared with the connector's table, not the last one it announced: a connector may
    // announce a change later (at its next step) than it makes it.
    if (plan.table_epoch != m_connector->ownership().epoch()) {
        // Planned on a table that has changed since (a cutover, a boundary change): the
        // next round plans on the current one.
        ++m_stalePlans;
        return;
    }
    applyBoundaryChanges(plan);
    updateProposals(plan);
}

namespace {

// The splits that cut a proposed move's hot part out of its shard (they wait for the move).
bool cutsForAMove(const SplitInstruction& split, const MigrationPlan& plan) {
    return std::any_of(plan.moves.begin(), plan.moves.end(), [&](const MoveInstruction& move) {
        return move.carved_from == split.shard;
    });
}

} // namespace

void ConsoleSession::applyBoundaryChanges(const MigrationPlan& plan) {
    std::vector<SplitInstruction> splits;
    for (const SplitInstruction& split : plan.splits) {
        if (!cutsForAMove(split, plan))
            splits.push_back(split);
    }
    if (!m_options.apply_boundary_changes || (splits.empty() && plan.merges.empty()))
        return;
    const OwnershipTable before = m_table;
    if (Status status = m_connector->changeBoundaries(splits, plan.merges); !status) {
        Q_EMIT problem(QStringLiteral("boundary changes refused: ") + fromStd(status.message()));
        return;
    }
    onOwnership(m_connector->ownership()); // the proposals below name the new shards
    for (const SplitInstruction& split : splits) {
        const Shard* shard = before.shardById(split.shard);
        if (shard)
            m_history.recordBoundaryChange({shard->range, m_now});
        audit(kPlanner, true,
              QStringLiteral("split shard %1 at %2 (new shard %3)")
                  .arg(split.shard)
                  .arg(display::key(split.at))
                  .arg(split.new_shard),
              fromStd(split.reason));
    }
    for (const MergeInstruction& merge : plan.merges) {
        const Shard* left = before.shardById(merge.left);
        const Shard* right = before.shardById(merge.right);
        if (left && right)
            m_history.recordBoundaryChange({{left->range.start, right->range.end}, m_now});
        audit(kPlanner, true,
              QStringLiteral("merged shard %1 into shard %2").arg(merge.right).arg(merge.left),
              fromStd(merge.reason));
    }
}

bool ConsoleSession::recentlyRejected(const MoveInstruction& move) const {
    return std::any_of(m_rejections.begin(), m_rejections.end(), [&](const Rejection& rejection) {
        return rejection.until > m_now && rejection.from == move.from && rejection.to == move.to &&
               rangesOverlap(rejection.range, move.range);
    });
}

void ConsoleSession::updateProposals(const MigrationPlan& plan) {
    std::erase_if(m_rejections,
                  [this](const Rejection& rejection) { return rejection.until <= m_now; });
    // The previous round's proposals give way to this round's.
    for (int row = m_migrations.rowCount() - 1; row >= 0; --row) {
        const MigrationEntry& entry = m_migrations.entryAt(row);
        if (entry.phase == MigrationPhase::Proposed) {
            forgetMove(entry);
            m_migrations.removeAt(row);
        }
    }
    std::vector<ProposalKey> proposed;
    for (const MoveInstruction& move : plan.moves) {
        const ProposalKey key{move.shard, move.from, move.to};
        if (recentlyRejected(move) || m_migrations.rowOfProposal(key))
            continue; // rejected, or already approved or scheduled
        MigrationEntry entry = MigrationEntry::fromProposal(move);
        entry.updated_ms = m_now;
        m_migrations.upsert(entry);
        std::vector<SplitInstruction> cuts;
        if (move.carved_from) {
            std::copy_if(
                plan.splits.begin(), plan.splits.end(), std::back_inserter(cuts),
                [&](const SplitInstruction& split) { return split.shard == *move.carved_from; });
        }
        m_moves.push_back({key, std::nullopt, move, std::move(cuts), {}});
        proposed.push_back(key);
    }
    Q_EMIT proposalsChanged();
    autoApply(proposed);
}

AutoApplyContext ConsoleSession::autoApplyContext() const {
    return {m_now, m_inFlight.size(), m_history.bytesStartedSince(m_now - kMsPerHour + 1)};
}

void ConsoleSession::autoApply(const std::vector<ProposalKey>& proposed) {
    if (!m_guardrails.enabled)
        return;
    for (const ProposalKey& key : proposed) {
        const std::optional<int> row = m_migrations.rowOfProposal(key);
        const SessionMove* move = row ? moveOf(*row) : nullptr;
        if (!move)
            continue;
        const AutoApplyContext context = autoApplyContext();
        if (autoApplyRefusal(move->instruction, m_guardrails, context))
            continue; // stays a proposal for an operator
        const QString why =
            QStringLiteral("gain %1 (minimum %2); %3 of %4 moves running; %5 started in the last "
                           "hour (limit %6)")
                .arg(display::percent(move->instruction.expected_gain),
                     display::percent(m_guardrails.min_gain))
                .arg(context.running_moves)
                .arg(m_guardrails.max_concurrent_moves)
                .arg(display::bytes(context.bytes_started_last_hour),
                     display::bytes(m_guardrails.max_bytes_per_hour));
        if (Status status = startMove(*row, kAutoApply, true, why); !status)
            Q_EMIT problem(QStringLiteral("auto-apply: ") + fromStd(status.message()));
    }
}

// --- Moves --------------------------------------------------------------------------------

const SessionMove* ConsoleSession::moveOf(int row) const {
    return const_cast<ConsoleSession*>(this)->mutableMoveOf(row);
}

SessionMove* ConsoleSession::mutableMoveOf(int row) {
    if (row < 0 || row >= m_migrations.rowCount())
        return nullptr;
    const MigrationEntry& entry = m_migrations.entryAt(row);
    const auto found = std::find_if(m_moves.begin(), m_moves.end(), [&](const SessionMove& move) {
        return entry.id ? move.id == entry.id : (!move.id && move.key == entry.proposalKey());
    });
    return found == m_moves.end() ? nullptr : &*found;
}

void ConsoleSession::forgetMove(const MigrationEntry& entry) {
    std::erase_if(m_moves, [&](const SessionMove& move) {
        return entry.id ? move.id == entry.id : (!move.id && move.key == entry.proposalKey());
    });
}

Status ConsoleSession::rowError(int row) const {
    if (row < 0 || row >= m_migrations.rowCount())
        return Error{"no migration in row " + std::to_string(row)};
    return {};
}

Status ConsoleSession::startMove(int row, const QString& who, bool automatic, const QString& why) {
    SessionMove* move = mutableMoveOf(row);
    if (!move)
        return Error{"row " + std::to_string(row) + " is not a move this console planned"};
    if (!move->carve_splits.empty()) {
        if (Status status = cutCarve(*move, row, who, automatic); !status)
            return status;
    }
    MigrationEntry entry = m_migrations.entryAt(row);
    // A connector may report the move's first progress from inside executeMove(), before the
    // id is known here: onProgress() gives that report to this row.
    m_startingKey = entry.proposalKey();
    const Result<MigrationId> id = m_connector->executeMove(move->instruction);
    m_startingKey.reset();
    if (!id) {
        entry.error = fromStd(id.error().message);
        m_migrations.upsert(entry);
        return Error{"the move could not start: " + id.error().message};
    }
    move->id = *id;
    if (const std::optional<int> reported = m_migrations.rowOf(*id)) {
        entry = m_migrations.entryAt(*reported); // the report from inside executeMove()
    } else {
        entry.id = *id;
        entry.phase = MigrationPhase::Shadowing;
        entry.updated_ms = m_now;
    }
    entry.error.clear();
    m_migrations.upsert(entry);
    const MoveInstruction& instruction = move->instruction;
    m_history.recordMove({instruction.shard, instruction.range, instruction.from, instruction.to,
                          instruction.bytes, m_now});
    m_inFlight[*id] = InFlightMove{instruction.shard,
                                   instruction.range,
                                   instruction.from,
                                   instruction.to,
                                   instruction.bytes,
                                   m_now,
                                   m_now + instruction.duration_ms};
    audit(who, automatic, QStringLiteral("started ") + describeMove(entry), why);
    return {};
}

// Applies the cuts of a hot-part move, under shard ids that are free now (the plan's may have
// been taken by other splits since), and renames the move's shard to match.
Status ConsoleSession::cutCarve(SessionMove& move, int row, const QString& who, bool automatic) {
    const OwnershipTable table = m_connector->ownership();
    ShardId nextId = table.nextFreeShardId();
    std::vector<SplitInstruction> cuts = move.carve_splits;
    MoveInstruction instruction = move.instruction;
    for (SplitInstruction& cut : cuts) {
        if (instruction.shard == cut.new_shard)
            instruction.shard = nextId;
        cut.new_shard = nextId++;
    }
    if (Status status = m_connector->changeBoundaries(cuts, {}); !status)
        return Error{"the shard to cut the hot part from has changed since the plan (" +
                     status.message() + "); the next round plans on the current table"};
    const Shard* whole = table.shardById(cuts.front().shard);
    if (whole)
        m_history.recordBoundaryChange({whole->range, m_now});
    for (const SplitInstruction& cut : cuts)
        audit(who, automatic,
              QStringLiteral("split shard %1 at %2 (new shard %3)")
                  .arg(cut.shard)
                  .arg(display::key(cut.at))
                  .arg(cut.new_shard),
              fromStd(cut.reason));
    onOwnership(m_connector->ownership());
    MigrationEntry entry = m_migrations.entryAt(row);
    entry.shard = instruction.shard;
    move.instruction = instruction;
    move.key.shard = instruction.shard;
    move.carve_splits.clear();
    m_migrations.replace(row, entry);
    return {};
}

Status ConsoleSession::approve(int row, const QString& why) {
    if (Status status = rowError(row); !status)
        return status;
    const MigrationPhase phase = m_migrations.entryAt(row).phase;
    if (phase != MigrationPhase::Proposed && phase != MigrationPhase::Scheduled)
        return Error{"only a proposed or scheduled move can be approved; this one is " +
                     migrationPhaseName(phase).toStdString()};
    const MigrationEntry before = m_migrations.entryAt(row);
    audit(m_operator, false, QStringLiteral("approved ") + describeMove(before), orDash(why));
    if (Status status = startMove(row, m_operator, false, orDash(why)); !status) {
        audit(m_operator, false, QStringLiteral("could not start ") + describeMove(before),
              fromStd(status.message()));
        return status;
    }
    return {};
}

Status ConsoleSession::reject(int row, const QString& why) {
    if (Status status = rowError(row); !status)
        return status;
    const MigrationEntry entry = m_migrations.entryAt(row);
    if (entry.id)
        return Error{"move #" + std::to_string(*entry.id) +
                     " is already running or over; abort it instead"};
    m_rejections.push_back(
        {entry.range, entry.from, entry.to, m_now + m_options.rejection_memory_ms});
    forgetMove(entry);
    m_migrations.removeAt(row);
    audit(m_operator, false, QStringLiteral("rejected ") + describeMove(entry), orDash(why));
    Q_EMIT proposalsChanged();
    return {};
}

Status ConsoleSession::schedule(int row, TimeMs at, const QString& why) {
    if (Status status = rowError(row); !status)
        return status;
    MigrationEntry entry = m_migrations.entryAt(row);
    if (entry.phase != MigrationPhase::Proposed && entry.phase != MigrationPhase::Scheduled)
        return Error{"only a proposed or scheduled move can be scheduled; this one is " +
                     migrationPhaseName(entry.phase).toStdString()};
    if (at < m_now)
        return Error{"the time " + display::utcTime(at).toStdString() +
                     " UTC has passed (cluster time is " + display::utcTime(m_now).toStdString() +
                     " UTC)"};
    entry.phase = MigrationPhase::Scheduled;
    entry.scheduled_ms = at;
    m_migrations.upsert(entry);
    if (SessionMove* move = mutableMoveOf(row))
        move->scheduled_by = m_operator;
    audit(m_operator, false,
          QStringLiteral("scheduled ") + describeMove(entry) + QStringLiteral(" for ") +
              display::utcTime(at) + QStringLiteral(" UTC"),
          orDash(why));
    return {};
}

void ConsoleSession::startDueSchedules() {
    for (int row = 0; row < m_migrations.rowCount(); ++row) {
        const MigrationEntry& entry = m_migrations.entryAt(row);
        if (entry.phase != MigrationPhase::Scheduled || !entry.scheduled_ms ||
            *entry.scheduled_ms > m_now)
            continue;
        const SessionMove* move = moveOf(row);
        const QString by = move ? move->scheduled_by : QString();
        const QString why =
            QStringLiteral("scheduled by %1 for %2 UTC")
                .arg(by.isEmpty() ? m_operator : by, display::utcTime(*entry.scheduled_ms));
        if (Status status = startMove(row, kScheduler, true, why); !status) {
            MigrationEntry failed = m_migrations.entryAt(row);
            failed.phase = MigrationPhase::Failed;
            m_migrations.upsert(failed);
            audit(kScheduler, true, QStringLiteral("could not start ") + describeMove(failed),
                  fromStd(status.message()));
        }
    }
}

Status ConsoleSession::pause(int row, const QString& why) {
    if (Status status = rowError(row); !status)
        return status;
    const MigrationEntry entry = m_migrations.entryAt(row);
    if (!entry.id || !isRunning(entry.phase) || entry.phase == MigrationPhase::Paused)
        return Error{"only a running move can be paused"};
    if (Status status = m_connector->pauseMove(*entry.id); !status)
        return status;
    audit(m_operator, false, QStringLiteral("paused ") + describeMove(entry), orDash(why));
    return {};
}

Status ConsoleSession::resume(int row, const QString& why) {
    if (Status status = rowError(row); !status)
        return status;
    const MigrationEntry entry = m_migrations.entryAt(row);
    if (!entry.id || entry.phase != MigrationPhase::Paused)
        return Error{"only a paused move can be resumed"};
    if (Status status = m_connector->resumeMove(*entry.id); !status)
        return status;
    audit(m_operator, false, QStringLiteral("resumed ") + describeMove(entry), orDash(why));
    return {};
}

Status ConsoleSession::abort(int row, const QString& why) {
    if (Status status = rowError(row); !status)
        return status;
    MigrationEntry entry = m_migrations.entryAt(row);
    if (entry.phase == MigrationPhase::Scheduled) {
        // Not started yet: aborting a schedule makes it a proposal again.
        entry.phase = MigrationPhase::Proposed;
        entry.scheduled_ms.reset();
        m_migrations.upsert(entry);
        audit(m_operator, false, QStringLiteral("cancelled the schedule of ") + describeMove(entry),
              orDash(why));
        return {};
    }
    if (!entry.id || !isRunning(entry.phase))
        return Error{"only a running, paused or scheduled move can be aborted"};
    if (Status status = m_connector->abortMove(*entry.id); !status)
        return status;
    audit(m_operator, false, QStringLiteral("aborted ") + describeMove(entry), orDash(why));
    return {};
}

void ConsoleSession::onProgress(const MigrationProgress& progress) {
    if (m_startingKey && !m_migrations.rowOf(progress.id)) {
        if (const std::optional<int> starting = m_migrations.rowOfProposal(*m_startingKey)) {
            MigrationEntry entry = m_migrations.entryAt(*starting);
            entry.id = progress.id;
            m_migrations.upsert(entry);
        }
    }
    const int row = m_migrations.applyProgress(progress);
    if (!isTerminal(progress.phase))
        return;
    const bool wasRunning = m_inFlight.erase(progress.id) > 0;
    if (!wasRunning)
        return; // a repeated terminal report
    const MigrationEntry& entry = m_migrations.entryAt(row);
    const QString cluster = m_connector->name();
    switch (progress.phase) {
    case MigrationPhase::Done:
        audit(cluster, true, QStringLiteral("completed ") + describeMove(entry),
              QStringLiteral("cutover verified; %1 is the owner").arg(fromStd(entry.to)));
        break;
    case MigrationPhase::Aborted:
        audit(cluster, true, QStringLiteral("rolled back ") + describeMove(entry),
              progress.error.isEmpty() ? QStringLiteral("aborted") : progress.error);
        break;
    default:
        audit(cluster, true, QStringLiteral("failed and rolled back ") + describeMove(entry),
              progress.error);
        break;
    }
    pruneFinishedRows();
}

void ConsoleSession::pruneFinishedRows() {
    std::size_t finished = 0;
    for (int row = m_migrations.rowCount() - 1; row >= 0; --row) {
        const MigrationEntry& entry = m_migrations.entryAt(row);
        if (!isTerminal(entry.phase))
            continue;
        if (++finished > m_options.max_finished_rows) {
            forgetMove(entry);
            m_migrations.removeAt(row);
        }
    }
}

} // namespace rangepilot
