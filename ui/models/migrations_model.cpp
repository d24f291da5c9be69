#include "migrations_model.h"

#include <QBrush>
#include <QColor>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

namespace rangepilot {

namespace {

using Model = MigrationsModel;

constexpr std::array<display::ColumnHeader, Model::ColumnCount> kHeaders{{
    {"Id", "Migration id, once the move has started"},
    {"Shard", "Shard id"},
    {"Range", "Keys that move, [start, end)"},
    {"From", "Current owner"},
    {"To", "New owner"},
    {"Phase", "Where the move is in its state machine"},
    {"Reason", "Why the planner proposed it"},
    {"Gain (% of source)", "Drop in the source host's projected peak score"},
    {"Batches (done / total)", "Copy batches"},
    {"Bytes (copied / total)", "Bytes copied to the new owner"},
    {"Rate (bytes/s)", "Copy rate over the last step"},
    {"Progress (%)", "Share of the range copied"},
    {"Scheduled (UTC)", "When the move is scheduled to start"},
}};

// Before Shadowing the move is the console's business only: nothing is copied yet.
bool hasStarted(MigrationPhase phase) {
    return phase != MigrationPhase::Proposed && phase != MigrationPhase::Approved &&
           phase != MigrationPhase::Scheduled;
}

bool isRunning(MigrationPhase phase) {
    return hasStarted(phase) && !isTerminal(phase) && phase != MigrationPhase::Paused;
}

// Whole percent, rounded down: a copy at 99.7% must not read 100% before it is done.
std::optional<int> progressPercent(const MigrationEntry& entry) {
    if (!hasStarted(entry.phase))
        return std::nullopt;
    if (entry.phase == MigrationPhase::Done)
        return 100;
    double fraction = 0.0;
    if (entry.bytes_total > 0.0)
        fraction = entry.bytes_copied / entry.bytes_total;
    else if (entry.batches_total > 0)
        fraction =
            static_cast<double>(entry.batches_done) / static_cast<double>(entry.batches_total);
    return static_cast<int>(std::floor(std::clamp(fraction, 0.0, 1.0) * 100.0));
}

QString bytesText(const MigrationEntry& entry) {
    if (!hasStarted(entry.phase))
        return display::bytes(entry.bytes_total);
    return display::bytes(entry.bytes_copied) + QStringLiteral(" / ") +
           display::bytes(entry.bytes_total);
}

QString batchesText(const MigrationEntry& entry) {
    if (entry.batches_total == 0)
        return {};
    return QString::number(entry.batches_done) + QStringLiteral(" / ") +
           QString::number(entry.batches_total);
}

QVariant displayText(const MigrationEntry& entry, int column) {
    switch (column) {
    case Model::IdColumn:
        return entry.id ? QString::number(*entry.id) : QString();
    case Model::ShardColumn:
        return QString::number(entry.shard);
    case Model::RangeColumn:
        return display::keyRange(entry.range);
    case Model::FromColumn:
        return QString::fromStdString(entry.from);
    case Model::ToColumn:
        return QString::fromStdString(entry.to);
    case Model::PhaseColumn:
        return migrationPhaseName(entry.phase);
    case Model::ReasonColumn:
        return QString::fromStdString(entry.reason);
    case Model::GainColumn:
        return entry.expected_gain ? display::percent(*entry.expected_gain) : display::unknown();
    case Model::BatchesColumn:
        return batchesText(entry);
    case Model::BytesColumn:
        return bytesText(entry);
    case Model::RateColumn:
        return isRunning(entry.phase) ? display::byteRate(entry.bytes_per_s) : QString();
    case Model::ProgressColumn: {
        const std::optional<int> percent = progressPercent(entry);
        return percent ? QString::number(*percent) + QLatin1Char('%') : QString();
    }
    case Model::ScheduledColumn:
        return entry.scheduled_ms ? display::utcTime(*entry.scheduled_ms) : QString();
    default:
        return {};
    }
}

template <typename T>
QVariant optionalNumber(const std::optional<T>& value) {
    return value ? QVariant::fromValue(*value) : QVariant();
}

QVariant sortValue(const MigrationEntry& entry, int column) {
    switch (column) {
    case Model::IdColumn:
        return entry.id ? QVariant::fromValue<qulonglong>(*entry.id) : QVariant();
    case Model::ShardColumn:
        return QVariant::fromValue<qulonglong>(entry.shard);
    case Model::RangeColumn:
        return display::keyOrder(entry.range.start);
    case Model::PhaseColumn:
        return static_cast<int>(entry.phase);
    case Model::GainColumn:
        return optionalNumber(entry.expected_gain);
    case Model::BatchesColumn:
        return QVariant::fromValue<qulonglong>(entry.batches_total);
    case Model::BytesColumn:
        return entry.bytes_total;
    case Model::RateColumn:
        return isRunning(entry.phase) ? QVariant(entry.bytes_per_s) : QVariant();
    case Model::ProgressColumn:
        return optionalNumber(progressPercent(entry));
    case Model::ScheduledColumn:
        return entry.scheduled_ms ? QVariant::fromValue<qlonglong>(*entry.scheduled_ms)
                                  : QVariant();
    default: // hosts and the reason sort as text
        return displayText(entry, column);
    }
}

QVariant toolTip(const MigrationEntry& entry, int column) {
    switch (column) {
    case Model::RangeColumn:
        return display::fullKeyRange(entry.range);
    case Model::ReasonColumn:
        return QString::fromStdString(entry.reason);
    case Model::PhaseColumn:
        return entry.error.isEmpty() ? QVariant() : QVariant(entry.error);
    default:
        return {};
    }
}

QVariant foreground(const MigrationEntry& entry, int column) {
    if (column != Model::PhaseColumn || entry.phase != MigrationPhase::Failed)
        return {};
    return QBrush(QColor(0xc0, 0x1c, 0x1c));
}

bool isNumeric(int column) {
    switch (column) {
    case Model::IdColumn:
    case Model::ShardColumn:
    case Model::GainColumn:
    case Model::BatchesColumn:
    case Model::BytesColumn:
    case Model::RateColumn:
    case Model::ProgressColumn:
        return true;
    default:
        return false;
    }
}

// Every per-cell role; ProgressRole, PhaseRole and MigrationIdRole are per row (see below).
bool sameCell(const MigrationEntry& a, const MigrationEntry& b, int column) {
    return displayText(a, column) == displayText(b, column) &&
           sortValue(a, column) == sortValue(b, column) &&
           toolTip(a, column) == toolTip(b, column) &&
           foreground(a, column) == foreground(b, column);
}

// The columns to announce: those whose cells differ, or the whole row when a role that every
// column answers (phase, id, progress) changed, since a delegate may read it from any column.
std::optional<std::pair<int, int>> changedColumns(const MigrationEntry& a,
                                                  const MigrationEntry& b) {
    if (a.phase != b.phase || a.id != b.id || progressPercent(a) != progressPercent(b))
        return std::pair{0, Model::ColumnCount - 1};
    return display::changedColumnSpan(Model::ColumnCount,
                                      [&](int column) { return sameCell(a, b, column); });
}

MigrationEntry withProgress(MigrationEntry entry, const MigrationProgress& progress) {
    entry.id = progress.id;
    entry.shard = progress.shard;
    entry.range = progress.range;
    entry.from = progress.from;
    entry.to = progress.to;
    entry.phase = progress.phase;
    entry.batches_done = progress.batches_done;
    entry.batches_total = progress.batches_total;
    entry.bytes_copied = progress.bytes_copied;
    entry.bytes_total = progress.bytes_total;
    entry.bytes_per_s = progress.bytes_per_s;
    entry.updated_ms = progress.updated_ms;
    entry.error = progress.error;
    return entry;
}

} // namespace

MigrationEntry MigrationEntry::fromProposal(const MoveInstruction& move) {
    MigrationEntry entry;
    entry.shard = move.shard;
    entry.range = move.range;
    entry.from = move.from;
    entry.to = move.to;
    entry.reason = move.reason;
    entry.expected_gain = move.expected_gain;
    entry.batches_total = move.batches.size();
    entry.bytes_total = move.bytes;
    return entry;
}

MigrationsModel::MigrationsModel(QObject* parent)
    : QAbstractTableModel(parent) {}

void MigrationsModel::setEntries(std::vector<MigrationEntry> entries) {
    beginResetModel();
    m_entries = std::move(entries);
    endResetModel();
}

int MigrationsModel::upsert(const MigrationEntry& entry) {
    std::optional<int> row = entry.id ? rowOf(*entry.id) : std::nullopt;
    if (!row)
        row = rowOfProposal(entry.proposalKey());
    if (!row)
        return append(entry);
    replace(*row, entry);
    return *row;
}

int MigrationsModel::applyProgress(const MigrationProgress& progress) {
    const std::optional<int> row = rowOf(progress.id);
    if (!row)
        return append(withProgress(MigrationEntry{}, progress));
    replace(*row, withProgress(entryAt(*row), progress));
    return *row;
}

void MigrationsModel::removeAt(int row) {
    if (row < 0 || row >= rowCount())
        return;
    beginRemoveRows({}, row, row);
    m_entries.erase(m_entries.begin() + row);
    endRemoveRows();
}

std::optional<int> MigrationsModel::rowOf(MigrationId id) const {
    const auto found = std::find_if(m_entries.begin(), m_entries.end(),
                                    [id](const MigrationEntry& entry) { return entry.id == id; });
    if (found == m_entries.end())
        return std::nullopt;
    return static_cast<int>(found - m_entries.begin());
}

std::optional<int> MigrationsModel::rowOfProposal(const ProposalKey& key) const {
    const auto found =
        std::find_if(m_entries.begin(), m_entries.end(), [&key](const MigrationEntry& entry) {
            return !entry.id && entry.proposalKey() == key;
        });
    if (found == m_entries.end())
        return std::nullopt;
    return static_cast<int>(found - m_entries.begin());
}

int MigrationsModel::append(const MigrationEntry& entry) {
    const int row = rowCount();
    beginInsertRows({}, row, row);
    m_entries.push_back(entry);
    endInsertRows();
    return row;
}

void MigrationsModel::replace(int row, const MigrationEntry& entry) {
    MigrationEntry& current = m_entries[static_cast<std::size_t>(row)];
    const auto span = changedColumns(current, entry);
    current = entry; // before the signal: slots read the new values
    if (span)
        Q_EMIT dataChanged(index(row, span->first), index(row, span->second));
}

int MigrationsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_entries.size());
}

int MigrationsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant MigrationsModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const MigrationEntry& entry = entryAt(index.row());
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        return displayText(entry, column);
    case Qt::ToolTipRole:
        return toolTip(entry, column);
    case Qt::TextAlignmentRole:
        return isNumeric(column) ? display::numberAlignment() : QVariant();
    case Qt::ForegroundRole:
        return foreground(entry, column);
    case SortRole:
        return sortValue(entry, column);
    case ProgressRole:
        return optionalNumber(progressPercent(entry));
    case PhaseRole:
        return static_cast<int>(entry.phase);
    case MigrationIdRole:
        return entry.id ? QVariant::fromValue<qulonglong>(*entry.id) : QVariant();
    default:
        return {};
    }
}

QVariant MigrationsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (const std::optional<QVariant> header =
            display::columnHeader(kHeaders, section, orientation, role))
        return *header;
    return QAbstractTableModel::headerData(section, orientation, role);
}

} // namespace rangepilot
