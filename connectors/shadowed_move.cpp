#include "shadowed_move.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace rangepilot {

namespace {

bool finitePositive(double value) {
    return std::isfinite(value) && value > 0.0;
}

bool finiteAtLeastZero(double value) {
    return std::isfinite(value) && value >= 0.0;
}

// Milliseconds of cluster time that `bytes` take at `bytesPerS`, rounded to the nearest ms.
TimeMs transferMs(double bytes, double bytesPerS) {
    return std::llround(std::max(0.0, bytes) / bytesPerS * static_cast<double>(kMsPerSecond));
}

QString host(const HostId& id) {
    return QString::fromStdString(id);
}

} // namespace

Status validate(const ShadowedMoveOptions& options) {
    if (!finitePositive(options.copy_bytes_per_s))
        return Error{"copy_bytes_per_s must be > 0"};
    if (!finiteAtLeastZero(options.replay_bytes_per_write))
        return Error{"replay_bytes_per_write must be >= 0"};
    if (options.shadowing_ms < 0 || options.checksum_ms < 0 || options.cutover_ms < 0 ||
        options.rollback_ms < 0)
        return Error{"phase durations (shadowing_ms, checksum_ms, cutover_ms, rollback_ms) must "
                     "be >= 0"};
    if (!(options.failure_rate >= 0.0 && options.failure_rate <= 1.0))
        return Error{"failure_rate must be in [0, 1]"};
    return Status::success();
}

ShadowedMove::ShadowedMove(ShadowedMoveSpec spec, ShadowedMoveOptions options, TimeMs startMs)
    : m_spec(std::move(spec))
    , m_options(options)
    , m_random(Random::forStream(options.seed, m_spec.id))
    , m_now(startMs) {
    m_bytesTotal = std::accumulate(m_spec.batch_bytes.begin(), m_spec.batch_bytes.end(), 0.0);
    enterPhase(MigrationPhase::Shadowing);
    startSegment(m_options.shadowing_ms);
}

bool ShadowedMove::dualWrites() const {
    switch (m_phase) {
    case MigrationPhase::Shadowing:
    case MigrationPhase::Copying:
    case MigrationPhase::CatchingUp:
    case MigrationPhase::CuttingOver:
    case MigrationPhase::Paused:
        return true;
    default:
        return false;
    }
}

MigrationProgress ShadowedMove::progress() const {
    MigrationProgress progress;
    progress.id = m_spec.id;
    progress.shard = m_spec.shard;
    progress.range = m_spec.range;
    progress.from = m_spec.from;
    progress.to = m_spec.to;
    progress.phase = m_phase;
    progress.batches_done = m_batch;
    progress.batches_total = m_spec.batch_bytes.size();
    progress.bytes_copied = bytesCopied();
    progress.bytes_total = m_bytesTotal;
    progress.bytes_per_s = m_bytesPerS;
    progress.updated_ms = m_now;
    progress.error = m_error;
    return progress;
}

void ShadowedMove::forceFailure(MigrationPhase phase, std::size_t batch) {
    m_forced.push_back({phase, phase == MigrationPhase::Copying ? batch : 0});
}

TimeMs ShadowedMove::advanceTo(TimeMs t) {
    if (t < m_now)
        return 0;
    const TimeMs from = m_now;
    const double bytesBefore = bytesCopied();
    TimeMs workedMs = 0;
    // Segments of zero length end at once, also when t == now.
    while (working() && m_segmentEnd <= t) {
        workedMs += m_segmentEnd - m_now;
        if (m_phase == MigrationPhase::Copying)
            m_racedWrites += m_writeRate * static_cast<double>(m_segmentEnd - m_now) / kMsPerSecond;
        m_now = m_segmentEnd;
        finishSegment();
    }
    if (working()) {
        workedMs += t - m_now;
        if (m_phase == MigrationPhase::Copying)
            m_racedWrites += m_writeRate * static_cast<double>(t - m_now) / kMsPerSecond;
    }
    m_now = t;
    // A failed batch's partial bytes are dropped, so the difference can be negative then.
    if (t > from)
        m_bytesPerS = std::max(0.0, bytesCopied() - bytesBefore) * kMsPerSecond /
                      static_cast<double>(t - from);
    return workedMs;
}

Status ShadowedMove::pause() {
    switch (m_phase) {
    case MigrationPhase::Shadowing:
    case MigrationPhase::Copying:
    case MigrationPhase::CatchingUp:
        break;
    case MigrationPhase::Paused:
        return Error{(label() + QStringLiteral(" is already paused")).toStdString()};
    case MigrationPhase::CuttingOver:
        return Error{(label() + QStringLiteral(" is cutting over: the cutover is one "
                                               "compare-and-swap and cannot be paused"))
                         .toStdString()};
    default:
        return Error{
            (label() + QStringLiteral(" cannot be paused while ") + migrationPhaseName(m_phase))
                .toStdString()};
    }
    m_resumePhase = m_phase;
    m_pausedAt = m_now;
    enterPhase(MigrationPhase::Paused);
    return Status::success();
}

Status ShadowedMove::resume() {
    if (m_phase != MigrationPhase::Paused)
        return Error{(label() + QStringLiteral(" is not paused (") + migrationPhaseName(m_phase) +
                      QStringLiteral(")"))
                         .toStdString()};
    // The segment keeps the time it had left when paused.
    const TimeMs pausedFor = m_now - m_pausedAt;
    m_segmentStart += pausedFor;
    m_segmentEnd += pausedFor;
    enterPhase(m_resumePhase);
    return Status::success();
}

Status ShadowedMove::abort(const QString& reason) {
    if (finished())
        return Error{(label() + QStringLiteral(" has already ended (") +
                      migrationPhaseName(m_phase) + QStringLiteral(")"))
                         .toStdString()};
    if (m_phase == MigrationPhase::RollingBack)
        return Error{(label() + QStringLiteral(" is already rolling back")).toStdString()};
    m_error = !reason.isEmpty() ? reason
                                : QStringLiteral("aborted by the operator while ") +
                                      migrationPhaseName(resumePhase());
    m_rollbackOutcome = MigrationPhase::Aborted;
    enterPhase(MigrationPhase::RollingBack);
    startSegment(m_options.rollback_ms);
    return Status::success();
}

std::vector<MigrationProgress> ShadowedMove::takeReports() {
    std::vector<MigrationProgress> reports;
    reports.swap(m_reports);
    return reports;
}

bool ShadowedMove::working() const {
    return !finished() && m_phase != MigrationPhase::Paused;
}

void ShadowedMove::finishSegment() {
    switch (m_phase) {
    case MigrationPhase::Shadowing:
        if (failureDue(MigrationPhase::Shadowing, 0)) {
            fail(QStringLiteral("dual writes to %1 could not be set up: injected failure")
                     .arg(host(m_spec.to)));
            return;
        }
        enterPhase(MigrationPhase::Copying);
        startNextBatchOrCatchUp();
        return;
    case MigrationPhase::Copying:
        finishBatch();
        return;
    case MigrationPhase::CatchingUp:
        if (failureDue(MigrationPhase::CatchingUp, 0)) {
            fail(QStringLiteral("checksums of shard %1 differ on %2 and %3 after catch-up: "
                                "injected failure")
                     .arg(m_spec.shard)
                     .arg(host(m_spec.from), host(m_spec.to)));
            return;
        }
        enterPhase(MigrationPhase::CuttingOver);
        startSegment(m_options.cutover_ms);
        return;
    case MigrationPhase::CuttingOver:
        finishCutover();
        return;
    case MigrationPhase::RollingBack:
        enterPhase(m_rollbackOutcome);
        return;
    default:
        return; // Paused and the terminal phases have no segment
    }
}

void ShadowedMove::startSegment(TimeMs durationMs) {
    m_segmentStart = m_now;
    m_segmentEnd = m_now + durationMs;
}

void ShadowedMove::enterPhase(MigrationPhase phase) {
    m_phase = phase;
    m_reports.push_back(progress());
}

void ShadowedMove::startNextBatchOrCatchUp() {
    if (m_batch < m_spec.batch_bytes.size()) {
        startSegment(transferMs(m_spec.batch_bytes[m_batch], m_options.copy_bytes_per_s));
        return;
    }
    enterCatchingUp();
}

// Replaying the writes that raced the copy takes their bytes at the copy's rate limit; the
// checksum comparison follows.
void ShadowedMove::enterCatchingUp() {
    enterPhase(MigrationPhase::CatchingUp);
    const double replayBytes = m_racedWrites * m_options.replay_bytes_per_write;
    startSegment(transferMs(replayBytes, m_options.copy_bytes_per_s) + m_options.checksum_ms);
}

void ShadowedMove::finishBatch() {
    const std::size_t number = m_batch + 1;
    if (failureDue(MigrationPhase::Copying, number)) {
        fail(QStringLiteral("copy of batch %1/%2 to %3 failed: injected failure")
                 .arg(number)
                 .arg(m_spec.batch_bytes.size())
                 .arg(host(m_spec.to)));
        return;
    }
    m_bytesDone += m_spec.batch_bytes[m_batch];
    ++m_batch;
    startNextBatchOrCatchUp();
}

void ShadowedMove::finishCutover() {
    const QString what =
        QStringLiteral("cutover of shard %1 to %2 failed: ").arg(m_spec.shard).arg(host(m_spec.to));
    if (failureDue(MigrationPhase::CuttingOver, 0)) {
        fail(what + QStringLiteral("injected failure"));
        return;
    }
    if (m_commit) {
        const Status committed = m_commit();
        if (!committed) {
            fail(what + QString::fromStdString(committed.message()));
            return;
        }
    }
    enterPhase(MigrationPhase::Done);
}

void ShadowedMove::fail(const QString& error) {
    m_error = error;
    m_rollbackOutcome = MigrationPhase::Failed;
    enterPhase(MigrationPhase::RollingBack);
    startSegment(m_options.rollback_ms);
}

// One random draw per batch and per cutover whatever the outcome, so that forcing one failure
// does not shift the draws of the others.
bool ShadowedMove::failureDue(MigrationPhase phase, std::size_t batch) {
    const bool drawsRandomly =
        phase == MigrationPhase::Copying || phase == MigrationPhase::CuttingOver;
    const bool drawn = drawsRandomly && m_random.bernoulli(m_options.failure_rate);
    const auto forced = std::find_if(m_forced.begin(), m_forced.end(), [&](const ForcedFailure& f) {
        return f.phase == phase && f.batch == batch;
    });
    if (forced != m_forced.end()) {
        m_forced.erase(forced);
        return true;
    }
    return drawn;
}

double ShadowedMove::bytesCopied() const {
    const bool copying =
        m_phase == MigrationPhase::Copying ||
        (m_phase == MigrationPhase::Paused && m_resumePhase == MigrationPhase::Copying);
    double bytes = m_bytesDone;
    if (copying && m_batch < m_spec.batch_bytes.size() && m_segmentEnd > m_segmentStart) {
        const TimeMs clock = m_phase == MigrationPhase::Paused ? m_pausedAt : m_now;
        const double fraction = static_cast<double>(clock - m_segmentStart) /
                                static_cast<double>(m_segmentEnd - m_segmentStart);
        bytes += m_spec.batch_bytes[m_batch] * std::clamp(fraction, 0.0, 1.0);
    }
    return std::min(bytes, m_bytesTotal);
}

QString ShadowedMove::label() const {
    return QStringLiteral("migration %1").arg(m_spec.id);
}

} // namespace rangepilot
