#include "cluster_event_source.h"

#include "cluster_simulator.h"

#include <algorithm>
#include <cmath>

namespace rangepilot {

namespace {

constexpr std::int32_t kStraddled = -1; // cell owner: a shard boundary lies inside the cell
constexpr std::int32_t kNoHost = -1;    // dual-write target: none
constexpr double kMinSpeed = 1.0;
constexpr double kMaxSpeed = 1000.0;
constexpr TimeMs kPacedStepWallMs = 100;
constexpr double kEventsPerFastStep = 200'000;
constexpr TimeMs kFastSliceWallMs = 50;
constexpr int kMaxStepsPerTick = 4;
constexpr TimeMs kMinTickMs = 10;
constexpr TimeMs kMaxTickMs = 250;

bool finiteAtLeast(double value, double minimum) {
    return std::isfinite(value) && value >= minimum;
}

// Stands in until buildModel() builds the real table: ownership() always returns a valid table.
OwnershipTable placeholderTable() {
    return OwnershipTable::withInitialPlacement({}, {simulatedHostName(0)}).value();
}

bool inside(const KeyRange& inner, const KeyRange& outer) {
    const bool startInside = inner.start >= outer.start;
    const bool endInside = outer.end.empty() || (!inner.end.empty() && inner.end <= outer.end);
    const bool nonEmpty = inner.end.empty() || inner.start < inner.end;
    return startInside && endInside && nonEmpty;
}

void registerMetaTypes() {
    qRegisterMetaType<rangepilot::ConnectorState>();
    qRegisterMetaType<rangepilot::ClusterTopology>();
    qRegisterMetaType<rangepilot::OwnershipTable>();
    qRegisterMetaType<rangepilot::AccessBatch>();
    qRegisterMetaType<rangepilot::HostUsageSample>();
    qRegisterMetaType<rangepilot::MigrationProgress>();
}

} // namespace

Status validateSpeed(double speed) {
    if (!(speed == 0.0 || (speed >= kMinSpeed && speed <= kMaxSpeed)))
        return Error{"speed must be 0 (as fast as possible) or in [1, 1000]"};
    return Status::success();
}

Status validate(const ModeledClusterSettings& settings) {
    if (settings.hosts < 1)
        return Error{"hosts must be at least 1"};
    if (settings.shards_per_host < 1)
        return Error{"shards_per_host must be at least 1"};
    if (const Status speed = validateSpeed(settings.speed); !speed)
        return speed;
    if (settings.step_ms < 0)
        return Error{"step_ms must be >= 0 (0 = auto)"};
    if (!finiteAtLeast(settings.capacity_ops, 0.0))
        return Error{"capacity_ops must be >= 0 (0 = auto)"};
    if (!(settings.headroom > 0.0 && settings.headroom <= 1.0))
        return Error{"headroom must be in (0, 1]"};
    if (!finiteAtLeast(settings.migration_load, 0.0))
        return Error{"migration_load must be >= 0"};
    if (!(std::isfinite(settings.batch_bytes) && settings.batch_bytes > 0.0))
        return Error{"batch_bytes must be > 0"};
    if (const Status moves = validate(settings.move); !moves)
        return Error{"move." + moves.message()};
    return Status::success();
}

TimeMs autoStepMs(double speed, double rateEps) {
    double seconds = speed > 0.0 ? speed * kPacedStepWallMs / kMsPerSecond
                                 : kEventsPerFastStep / std::max(rateEps, 1e-9);
    seconds = std::clamp(std::round(seconds), 1.0, static_cast<double>(kMsPerHour / kMsPerSecond));
    return static_cast<TimeMs>(seconds) * kMsPerSecond;
}

ModeledClusterConnector::ModeledClusterConnector(ModeledClusterSettings settings, QObject* parent)
    : ClusterConnector(parent)
    , m_settings(std::move(settings))
    , m_table(placeholderTable())
    , m_publishedTable(m_table) {
    registerMetaTypes();
    connect(&m_timer, &QTimer::timeout, this, &ModeledClusterConnector::onTick);
}

ModeledClusterConnector::~ModeledClusterConnector() = default;

Status ModeledClusterConnector::buildModel(ClusterModelInput input, ClusterEventSource* source) {
    if (input.cell_bytes.size() != input.cells.size())
        return Error{"the data per cell does not match the cells"};
    if (input.end_ms < input.start_ms)
        return Error{"the events end before they start"};
    m_topology.cells = std::move(input.cells);
    m_cellBytes = std::move(input.cell_bytes);
    m_startMs = input.start_ms;
    m_now = input.start_ms;
    m_endMs = input.end_ms;
    m_meanEventsPerS = input.mean_events_per_s;
    m_stepMs = m_settings.step_ms > 0 ? m_settings.step_ms
                                      : autoStepMs(m_settings.speed, m_meanEventsPerS);
    if (const Status table = buildInitialTable(); !table)
        return table;
    m_publishedTable = m_table; // ownership() answers before start() too
    buildHosts(input.peak_events_per_s);
    m_cellCounts.assign(m_topology.cells.size(), CellLoad{});
    m_hostAmounts.assign(m_settings.hosts, ResourceVector{});
    m_source = source;
    return Status::success();
}

// Equal runs of cells, placed on hosts by Jump Consistent Hash, as the planner's simulator lays
// them out.
Status ModeledClusterConnector::buildInitialTable() {
    const std::size_t cellCount = m_topology.cells.size();
    const std::size_t shardCount =
        std::min(m_settings.hosts * m_settings.shards_per_host, cellCount);
    std::vector<Key> splitKeys;
    for (std::size_t i = 1; i < shardCount; ++i)
        splitKeys.push_back(
            m_topology.cells.start(static_cast<CellIndex>(i * cellCount / shardCount)));
    std::vector<HostId> hosts;
    for (std::size_t i = 0; i < m_settings.hosts; ++i)
        hosts.push_back(simulatedHostName(i));
    Result<OwnershipTable> table =
        OwnershipTable::withInitialPlacement(std::move(splitKeys), std::move(hosts));
    if (!table)
        return Error{"initial layout: " + table.error().message};
    m_table = std::move(table).value();
    return Status::success();
}

void ModeledClusterConnector::buildHosts(double peakEventsPerS) {
    m_capacityOps =
        m_settings.capacity_ops > 0.0
            ? m_settings.capacity_ops
            : peakEventsPerS / static_cast<double>(m_settings.hosts) / m_settings.headroom;
    m_topology.cluster.hosts.clear();
    for (const HostId& id : m_table.placementHosts()) {
        Host host;
        host.id = id;
        host.capacity[Resource::Ops] = m_capacityOps;
        m_topology.cluster.hosts.push_back(std::move(host));
    }
    m_topology.cluster.latency = LatencyMatrix(m_settings.hosts, 0.5);
}

bool ModeledClusterConnector::live() const {
    return m_state == ConnectorState::Running || m_state == ConnectorState::Paused;
}

Status ModeledClusterConnector::notLive() const {
    return Error{subject() + " is not running (" + connectorStateName(m_state).toStdString() + ")"};
}

void ModeledClusterConnector::setState(ConnectorState state, const QString& detail) {
    m_state = state;
    Q_EMIT stateChanged(state, detail);
}

void ModeledClusterConnector::publishAndRun() {
    Q_EMIT topologyChanged(m_topology);
    publishOwnership();
    Q_EMIT clockAdvanced(m_now, 0.0);
    setState(ConnectorState::Running, name());
    startPacing();
}

void ModeledClusterConnector::stop() {
    m_timer.stop();
    if (m_state != ConnectorState::Stopped)
        setState(ConnectorState::Stopped, QStringLiteral("stopped"));
}

void ModeledClusterConnector::pause() {
    if (m_state != ConnectorState::Running)
        return;
    m_timer.stop();
    setState(ConnectorState::Paused, QStringLiteral("clock paused"));
}

void ModeledClusterConnector::resume() {
    if (m_state != ConnectorState::Paused)
        return;
    if (m_now >= m_endMs) {
        finishAtEnd();
        return;
    }
    setState(ConnectorState::Running, name());
    startPacing();
}

Status ModeledClusterConnector::setSpeed(double speed) {
    if (const Status valid = validateSpeed(speed); !valid)
        return valid;
    m_settings.speed = speed;
    if (m_settings.step_ms == 0)
        m_stepMs = autoStepMs(speed, m_meanEventsPerS);
    speedChanged(speed);
    if (m_state == ConnectorState::Running)
        startPacing();
    return Status::success();
}

void ModeledClusterConnector::startPacing() {
    if (!m_settings.timer)
        return;
    m_paceClock.start();
    m_paceBaseMs = m_now;
    if (m_settings.speed == 0.0) {
        m_timer.start(0);
        return;
    }
    // Several ticks per step, so a step starts at most a quarter step late (coarse timers fire
    // a little early or late).
    const auto wallPerStep = static_cast<TimeMs>(static_cast<double>(m_stepMs) / m_settings.speed);
    m_timer.start(static_cast<int>(std::clamp(wallPerStep / 4, kMinTickMs, kMaxTickMs)));
}

// Paced: the steps that wall time since the last (re)start has earned, a few at most, so a slow
// machine drops the backlog rather than spiralling. As fast as possible: steps for one slice.
void ModeledClusterConnector::onTick() {
    if (m_state != ConnectorState::Running)
        return;
    if (m_settings.speed == 0.0) {
        QElapsedTimer slice;
        slice.start();
        do {
            runStep(std::min(m_now + m_stepMs, m_endMs));
        } while (m_state == ConnectorState::Running && slice.elapsed() < kFastSliceWallMs);
        return;
    }
    const TimeMs target =
        m_paceBaseMs + std::llround(static_cast<double>(m_paceClock.elapsed()) * m_settings.speed);
    for (int i = 0;
         i < kMaxStepsPerTick && m_state == ConnectorState::Running && m_now + m_stepMs <= target;
         ++i)
        runStep(std::min(m_now + m_stepMs, m_endMs));
    if (m_state == ConnectorState::Running && m_now + m_stepMs <= target) {
        m_paceClock.restart();
        m_paceBaseMs = m_now;
    }
}

Status ModeledClusterConnector::advance(TimeMs duration) {
    if (!live())
        return notLive();
    if (duration < 0)
        return Error{"cannot advance by a negative duration"};
    const TimeMs target = std::min(m_now + duration, m_endMs);
    while (live() && m_now < target)
        runStep(std::min(m_now + m_stepMs, target));
    if (m_state == ConnectorState::Failed)
        return Error{m_failure.toStdString()};
    // The timer's pacing continues from here, not from where it was.
    m_paceClock.restart();
    m_paceBaseMs = m_now;
    return Status::success();
}

// One step: count the events of [now, end) on the routing as it stands, then let the moves work
// through the step, then report.
void ModeledClusterConnector::runStep(TimeMs end) {
    const TimeMs start = m_now;
    if (start >= m_endMs) {
        finishAtEnd();
        return;
    }
    if (end <= start)
        return;
    rebuildRouting();
    std::fill(m_cellCounts.begin(), m_cellCounts.end(), CellLoad{});
    std::fill(m_hostAmounts.begin(), m_hostAmounts.end(), ResourceVector{});
    const Result<std::uint64_t> events =
        m_source->eventsIn(start, end, [this](const TraceEvent& event) { countEvent(event); });
    if (!events) {
        failWith(QString::fromStdString(events.error().message));
        return;
    }
    m_events += *events;
    m_now = end;

    std::vector<ResourceVector> usage(m_hostAmounts.size());
    const double seconds = static_cast<double>(end - start) / kMsPerSecond;
    for (std::size_t host = 0; host < usage.size(); ++host)
        usage[host] = m_hostAmounts[host] * (1.0 / seconds);
    m_tableChanged = false;
    const std::vector<MigrationProgress> reports = advanceMoves(start, end, usage);

    Q_EMIT accessBatch(AccessBatch{start, end, m_cellCounts});
    Q_EMIT hostUsage(HostUsageSample{start, end, std::move(usage)});
    // A cutover committed during the step changed m_table already; observers learn of it just
    // before the first Done report, so that a report of an earlier phase (CuttingOver in the same
    // step) still comes with the old owner in ownership().
    for (const MigrationProgress& progress : reports) {
        if (m_tableChanged && progress.phase == MigrationPhase::Done) {
            publishOwnership();
            m_tableChanged = false;
        }
        Q_EMIT migrationProgress(progress);
    }
    if (m_tableChanged)
        publishOwnership();
    Q_EMIT clockAdvanced(end, static_cast<double>(*events) / seconds);

    if (m_now >= m_endMs)
        finishAtEnd();
}

void ModeledClusterConnector::finishAtEnd() {
    m_timer.stop();
    setState(ConnectorState::Stopped, endedDetail());
}

void ModeledClusterConnector::failWith(const QString& message) {
    m_timer.stop();
    m_failure = message;
    setState(ConnectorState::Failed, message);
    Q_EMIT errorOccurred(message);
}

void ModeledClusterConnector::jumpTo(TimeMs t, const QString& reason) {
    t = std::clamp(t, m_startMs, m_endMs);
    for (auto& [id, move] : m_moves) {
        if (move.finished())
            continue;
        if (move.phase() != MigrationPhase::RollingBack)
            (void)move.abort(reason);
        // The move's own clock cannot follow a jump: its rollback completes here and now.
        move.advanceTo(move.now() + m_settings.move.rollback_ms);
        emitReports(move);
    }
    m_now = t;
    m_paceClock.restart();
    m_paceBaseMs = m_now;
    Q_EMIT clockAdvanced(m_now, 0.0);
    if (m_now >= m_endMs && live())
        finishAtEnd();
}

void ModeledClusterConnector::countEvent(const TraceEvent& event) {
    const CellIndex cell = m_topology.cells.cellOf(event.key);
    CellLoad& load = m_cellCounts[cell];
    const bool write = isWrite(event.op);
    if (write)
        ++load.writes;
    else
        ++load.reads;
    load.bytes += event.bytes;
    load.latency_us += event.latency_us;

    std::int32_t owner = m_cellOwner[cell];
    std::int32_t dual = m_cellDual[cell];
    if (owner == kStraddled) {
        const std::size_t shard = m_table.indexOf(event.key);
        owner = m_shardOwner[shard];
        dual = m_shardDual[shard];
    }
    chargeHost(owner, event);
    if (write && dual != kNoHost)
        chargeHost(dual, event);
}

void ModeledClusterConnector::chargeHost(std::int32_t host, const TraceEvent& event) {
    ResourceVector& amount = m_hostAmounts[static_cast<std::size_t>(host)];
    const auto bytes = static_cast<double>(event.bytes);
    amount[Resource::Ops] += 1.0;
    amount[Resource::NetworkBytes] += bytes;
    if (event.op == Op::Put)
        amount[Resource::DiskBytes] += bytes;
    amount[Resource::ServiceTime] += static_cast<double>(event.latency_us);
}

// Where each cell's events go under the current table and moves. A cell cut by a shard boundary
// is marked straddled and its events are looked up key by key.
void ModeledClusterConnector::rebuildRouting() {
    const std::vector<Shard>& shards = m_table.shards();
    m_shardOwner.assign(shards.size(), 0);
    m_shardDual.assign(shards.size(), kNoHost);
    for (std::size_t i = 0; i < shards.size(); ++i)
        m_shardOwner[i] =
            static_cast<std::int32_t>(m_topology.cluster.indexOf(shards[i].owner).value_or(0));
    for (const auto& [id, move] : m_moves) {
        if (!move.dualWrites())
            continue;
        const Shard* moving = m_table.shardById(move.spec().shard);
        const auto target = m_topology.cluster.indexOf(move.spec().to);
        if (moving && target)
            m_shardDual[static_cast<std::size_t>(moving - shards.data())] =
                static_cast<std::int32_t>(*target);
    }
    const KeyCells& cells = m_topology.cells;
    m_cellOwner.assign(cells.size(), kStraddled);
    m_cellDual.assign(cells.size(), kNoHost);
    for (std::size_t position = 0; position < shards.size(); ++position) {
        const CellSpan span = cells.cellsStartingIn(shards[position].range);
        for (CellIndex cell = span.first; cell < span.end; ++cell) {
            const KeyRange cellRange = cells.range(cell);
            if (!inside(cellRange, shards[position].range))
                continue; // the next shard starts inside this cell
            m_cellOwner[cell] = m_shardOwner[position];
            m_cellDual[cell] = m_shardDual[position];
        }
    }
}

// Advances every running move to `end`, adds its load to both hosts, and returns its reports:
// each phase change, and a snapshot at `end` while it runs.
std::vector<MigrationProgress>
ModeledClusterConnector::advanceMoves(TimeMs start, TimeMs end,
                                      std::vector<ResourceVector>& usage) {
    const double stepMs = static_cast<double>(end - start);
    const double seconds = stepMs / kMsPerSecond;
    std::vector<MigrationProgress> reports;
    for (auto& [id, move] : m_moves) {
        if (move.finished())
            continue;
        move.setRangeWriteRate(writesIn(move.spec().range) / seconds);
        const double copiedBefore = move.progress().bytes_copied;
        const TimeMs workedMs = move.advanceTo(end);
        const double copied = std::max(0.0, move.progress().bytes_copied - copiedBefore);
        const double share = static_cast<double>(workedMs) / stepMs;
        for (const HostId& host : {move.spec().from, move.spec().to}) {
            if (const auto index = m_topology.cluster.indexOf(host)) {
                usage[*index][Resource::Ops] += m_settings.migration_load * m_capacityOps * share;
                usage[*index][Resource::NetworkBytes] += copied / seconds;
            }
        }
        std::vector<MigrationProgress> changes = move.takeReports();
        const bool reportedNow = !changes.empty() && changes.back().updated_ms == end;
        reports.insert(reports.end(), changes.begin(), changes.end());
        if (!move.finished() && !reportedNow)
            reports.push_back(move.progress());
    }
    return reports;
}

double ModeledClusterConnector::writesIn(const KeyRange& range) const {
    const CellSpan span = m_topology.cells.cellsStartingIn(range);
    double writes = 0.0;
    for (CellIndex cell = span.first; cell < span.end; ++cell)
        writes += static_cast<double>(m_cellCounts[cell].writes);
    return writes;
}

// A cell's data belongs to the range holding its start, as in the planner.
double ModeledClusterConnector::rangeBytes(const KeyRange& range) const {
    const CellSpan span = m_topology.cells.cellsStartingIn(range);
    double bytes = 0.0;
    for (CellIndex cell = span.first; cell < span.end; ++cell)
        bytes += m_cellBytes[cell];
    return bytes;
}

Result<std::vector<double>> ModeledClusterConnector::batchBytes(const Shard& shard,
                                                                const MoveInstruction& move) const {
    std::vector<KeyRange> batches = move.batches;
    const CellSpan cells = m_topology.cells.cellsStartingIn(shard.range);
    if (batches.empty())
        batches = batchRanges(m_topology.cells, cells.first, cells.end, m_cellBytes,
                              m_settings.batch_bytes);
    if (batches.empty())
        batches.push_back(shard.range); // a shard narrower than a cell: one batch of no data
    std::vector<double> bytes;
    for (std::size_t i = 0; i < batches.size(); ++i) {
        if (!inside(batches[i], shard.range))
            return Error{"batch " + std::to_string(i + 1) + " " + formatKeyRange(batches[i]) +
                         " is not inside the shard's range " + formatKeyRange(shard.range)};
        bytes.push_back(rangeBytes(batches[i]));
    }
    return bytes;
}

const ShadowedMove* ModeledClusterConnector::movingOver(const KeyRange& range) const {
    for (const auto& [id, move] : m_moves) {
        if (!move.finished() && rangesOverlap(move.spec().range, range))
            return &move;
    }
    return nullptr;
}

Result<MigrationId> ModeledClusterConnector::executeMove(const MoveInstruction& move) {
    const std::string refused = "cannot move shard " + std::to_string(move.shard) + ": ";
    if (!live())
        return Error{refused + notLive().message()};
    const Shard* shard = m_table.shardById(move.shard);
    if (!shard)
        return Error{refused + "no such shard"};
    if (shard->owner != move.from)
        return Error{refused + "it is owned by " + shard->owner + ", not " + move.from};
    if (!m_table.hasHost(move.to))
        return Error{refused + "unknown target host '" + move.to + "'"};
    if (move.to == move.from)
        return Error{refused + "it is already on " + move.to};
    if (move.range != KeyRange{} && move.range != shard->range)
        return Error{refused + "its range is now " + formatKeyRange(shard->range) +
                     ", the move was planned for " + formatKeyRange(move.range)};
    if (const ShadowedMove* running = movingOver(shard->range))
        return Error{refused + "its range " + formatKeyRange(shard->range) +
                     " is already moving (migration " + std::to_string(running->spec().id) + ", " +
                     migrationPhaseName(running->phase()).toStdString() + ")"};
    Result<std::vector<double>> bytes = batchBytes(*shard, move);
    if (!bytes)
        return Error{refused + bytes.error().message};

    const MigrationId id = m_nextMoveId++;
    ShadowedMoveSpec spec{id,        shard->id, shard->range,
                          move.from, move.to,   std::move(bytes).value()};
    const auto it = m_moves.try_emplace(id, std::move(spec), m_settings.move, m_now).first;
    it->second.setCutoverCommit([this, id] { return commitCutover(id); });
    emitReports(it->second);
    return id;
}

// The cutover's compare-and-swap: the shard must still be the source's, then it is the
// target's, epoch + 1.
Status ModeledClusterConnector::commitCutover(MigrationId id) {
    const ShadowedMoveSpec& spec = m_moves.at(id).spec();
    const Shard* shard = m_table.shardById(spec.shard);
    if (!shard || shard->owner != spec.from)
        return Error{"shard " + std::to_string(spec.shard) + " is no longer owned by " + spec.from};
    Result<OwnershipTable> next = m_table.reassign(spec.shard, spec.to);
    if (!next)
        return Error{next.error().message};
    m_table = std::move(next).value();
    m_tableChanged = true;
    return Status::success();
}

ShadowedMove* ModeledClusterConnector::findMove(MigrationId id) {
    const auto it = m_moves.find(id);
    return it == m_moves.end() ? nullptr : &it->second;
}

std::optional<MigrationProgress> ModeledClusterConnector::moveProgress(MigrationId id) const {
    const auto it = m_moves.find(id);
    if (it == m_moves.end())
        return std::nullopt;
    return it->second.progress();
}

void ModeledClusterConnector::emitReports(ShadowedMove& move) {
    for (const MigrationProgress& progress : move.takeReports())
        Q_EMIT migrationProgress(progress);
}

Status ModeledClusterConnector::pauseMove(MigrationId id) {
    ShadowedMove* move = findMove(id);
    if (!move)
        return Error{"no migration " + std::to_string(id)};
    const Status paused = move->pause();
    emitReports(*move);
    return paused;
}

Status ModeledClusterConnector::resumeMove(MigrationId id) {
    ShadowedMove* move = findMove(id);
    if (!move)
        return Error{"no migration " + std::to_string(id)};
    const Status resumed = move->resume();
    emitReports(*move);
    return resumed;
}

Status ModeledClusterConnector::abortMove(MigrationId id) {
    ShadowedMove* move = findMove(id);
    if (!move)
        return Error{"no migration " + std::to_string(id)};
    const Status aborted = move->abort();
    emitReports(*move);
    return aborted;
}

Status ModeledClusterConnector::injectMoveFailure(MigrationId id, MigrationPhase phase,
                                                  std::size_t batch) {
    ShadowedMove* move = findMove(id);
    if (!move)
        return Error{"no migration " + std::to_string(id)};
    if (move->finished())
        return Error{"migration " + std::to_string(id) + " has already ended"};
    move->forceFailure(phase, batch);
    return Status::success();
}

// All or nothing: the instructions apply to a working copy, and the table changes only when
// every one of them applied.
Status ModeledClusterConnector::changeBoundaries(const std::vector<SplitInstruction>& splits,
                                                 const std::vector<MergeInstruction>& merges) {
    if (!live())
        return notLive();
    OwnershipTable table = m_table;
    for (std::size_t i = 0; i < splits.size(); ++i) {
        if (const Status applied = applySplit(table, splits[i]); !applied)
            return Error{"split " + std::to_string(i + 1) + " of " + std::to_string(splits.size()) +
                         " (shard " + std::to_string(splits[i].shard) + " at '" +
                         formatKey(splits[i].at) + "'): " + applied.message()};
    }
    for (std::size_t i = 0; i < merges.size(); ++i) {
        if (const Status applied = applyMerge(table, merges[i]); !applied)
            return Error{"merge " + std::to_string(i + 1) + " of " + std::to_string(merges.size()) +
                         " (shards " + std::to_string(merges[i].left) + " and " +
                         std::to_string(merges[i].right) + "): " + applied.message()};
    }
    if (splits.empty() && merges.empty())
        return Status::success();
    m_table = std::move(table);
    publishOwnership();
    return Status::success();
}

Status ModeledClusterConnector::applySplit(OwnershipTable& table,
                                           const SplitInstruction& split) const {
    const Shard* shard = table.shardById(split.shard);
    if (!shard)
        return Error{"no such shard"};
    if (const ShadowedMove* running = movingOver(shard->range))
        return Error{"shard " + std::to_string(split.shard) + " is moving (migration " +
                     std::to_string(running->spec().id) + ")"};
    Result<OwnershipTable> next = table.split(split.shard, split.at, split.new_shard);
    if (!next)
        return Error{next.error().message};
    table = std::move(next).value();
    return Status::success();
}

Status ModeledClusterConnector::applyMerge(OwnershipTable& table,
                                           const MergeInstruction& merge) const {
    for (const ShardId id : {merge.left, merge.right}) {
        const Shard* shard = table.shardById(id);
        if (!shard)
            return Error{"no shard " + std::to_string(id)};
        if (const ShadowedMove* running = movingOver(shard->range))
            return Error{"shard " + std::to_string(id) + " is moving (migration " +
                         std::to_string(running->spec().id) + ")"};
    }
    const Shard* left = table.shardById(merge.left);
    const Shard* right = table.shardById(merge.right);
    // A merge moves no data, so both halves must already live on the same hosts.
    if (left->owner != right->owner || left->replicas != right->replicas)
        return Error{"the shards live on different hosts (" + left->owner + ", " + right->owner +
                     "): a merge moves no data"};
    Result<OwnershipTable> next = table.merge(merge.left, merge.right);
    if (!next)
        return Error{next.error().message};
    table = std::move(next).value();
    return Status::success();
}

void ModeledClusterConnector::publishOwnership() {
    m_publishedTable = m_table;
    Q_EMIT ownershipChanged(m_publishedTable);
}

} // namespace rangepilot
