#include "ownership_table_model.h"

#include <QByteArray>
#include <QStringList>

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_map>
#include <utility>

namespace rangepilot {

// ---------------------------------------------------------------------------------------------
// OwnershipTableModel

namespace {

using Model = OwnershipTableModel;

constexpr std::array<display::ColumnHeader, Model::ColumnCount> kHeaders{{
    {"Range", "Keys the shard holds, [start, end)"},
    {"Shard", "Shard id"},
    {"Owner", "Host that serves reads and writes"},
    {"Replicas", "Hosts holding copies"},
    {"Load now (ops/s)", "Measured operations per second over the last step"},
    {"Projected peak (ops/s)", "Highest projected operations per second over the horizon"},
    {"Score (% of owner)", "Projected peak load as a share of the owner's capacity"},
    {"Trend (per day)", "Growing, flat or declining, with the change per day"},
    {"Epoch", "Table epoch at which the shard's range or hosts last changed"},
}};

std::optional<double> figure(const OwnershipRow& row, double ShardFigures::*field) {
    if (!row.figures)
        return std::nullopt;
    return (*row.figures).*field;
}

QString replicasText(const Shard& shard) {
    QStringList names;
    for (const HostId& replica : shard.replicas)
        names.append(QString::fromStdString(replica));
    return names.join(QStringLiteral(", "));
}

QStringList hostsList(const Shard& shard) {
    QStringList hosts{QString::fromStdString(shard.owner)};
    for (const HostId& replica : shard.replicas)
        hosts.append(QString::fromStdString(replica));
    return hosts;
}

QString trendText(const ShardFigures& figures) {
    const std::string_view name = trendDirectionName(figures.trend);
    QString text = QString::fromLatin1(name.data(), static_cast<qsizetype>(name.size()));
    if (figures.trend == TrendDirection::Flat)
        return text; // a flat slope is noise; a number would invite reading it
    const QString sign = figures.trend_per_day > 0 ? QStringLiteral("+") : QString();
    return text + QLatin1Char(' ') + sign + display::percent(figures.trend_per_day) +
           QStringLiteral("/day");
}

// Flat sorts as 0 whatever its slope, so the order agrees with the words shown.
double trendSortValue(const ShardFigures& figures) {
    return figures.trend == TrendDirection::Flat ? 0.0 : figures.trend_per_day;
}

bool isNumeric(int column) {
    return column == Model::ShardColumn || column == Model::EpochColumn ||
           (column >= Model::LoadNowColumn && column <= Model::ScoreColumn);
}

QVariant figureText(const ShardFigures& figures, int column) {
    switch (column) {
    case Model::LoadNowColumn:
        return display::opsRate(figures.load_now_ops);
    case Model::ProjectedPeakColumn:
        return display::opsRate(figures.projected_peak_ops);
    case Model::ScoreColumn:
        return display::percent(figures.score);
    case Model::TrendColumn:
        return trendText(figures);
    default:
        return {};
    }
}

QVariant displayText(const OwnershipRow& row, int column) {
    switch (column) {
    case Model::RangeColumn:
        return display::keyRange(row.shard.range);
    case Model::ShardColumn:
        return QString::number(row.shard.id);
    case Model::OwnerColumn:
        return QString::fromStdString(row.shard.owner);
    case Model::ReplicasColumn:
        return replicasText(row.shard);
    case Model::EpochColumn:
        return QString::number(row.changed_epoch);
    default:
        return row.figures ? figureText(*row.figures, column) : QVariant(display::unknown());
    }
}

QVariant figureSortValue(const ShardFigures& figures, int column) {
    switch (column) {
    case Model::LoadNowColumn:
        return figures.load_now_ops;
    case Model::ProjectedPeakColumn:
        return figures.projected_peak_ops;
    case Model::ScoreColumn:
        return figures.score;
    case Model::TrendColumn:
        return trendSortValue(figures);
    default:
        return {};
    }
}

QVariant sortValue(const OwnershipRow& row, int rowIndex, int column) {
    switch (column) {
    case Model::RangeColumn:
        return rowIndex; // rows are in key order
    case Model::ShardColumn:
        return QVariant::fromValue<qulonglong>(row.shard.id);
    case Model::OwnerColumn:
        return QString::fromStdString(row.shard.owner);
    case Model::ReplicasColumn:
        return replicasText(row.shard);
    case Model::EpochColumn:
        return QVariant::fromValue<qulonglong>(row.changed_epoch);
    default:
        return row.figures ? figureSortValue(*row.figures, column) : QVariant();
    }
}

bool sameCell(const OwnershipRow& a, const OwnershipRow& b, int column) {
    switch (column) {
    case Model::RangeColumn:
        return a.shard.range == b.shard.range;
    case Model::ShardColumn:
        return a.shard.id == b.shard.id;
    case Model::OwnerColumn:
        return a.shard.owner == b.shard.owner;
    case Model::ReplicasColumn:
        return a.shard.replicas == b.shard.replicas;
    case Model::LoadNowColumn:
        return figure(a, &ShardFigures::load_now_ops) == figure(b, &ShardFigures::load_now_ops);
    case Model::ProjectedPeakColumn:
        return figure(a, &ShardFigures::projected_peak_ops) ==
               figure(b, &ShardFigures::projected_peak_ops);
    case Model::ScoreColumn:
        return figure(a, &ShardFigures::score) == figure(b, &ShardFigures::score);
    case Model::TrendColumn:
        return figure(a, &ShardFigures::trend_per_day) == figure(b, &ShardFigures::trend_per_day) &&
               (a.figures ? a.figures->trend : TrendDirection::Flat) ==
                   (b.figures ? b.figures->trend : TrendDirection::Flat);
    case Model::EpochColumn:
        return a.changed_epoch == b.changed_epoch;
    default:
        return true;
    }
}

// The first and last columns whose cells differ, or nothing when the rows look the same.
std::optional<std::pair<int, int>> changedColumns(const OwnershipRow& a, const OwnershipRow& b) {
    return display::changedColumnSpan(Model::ColumnCount,
                                      [&](int column) { return sameCell(a, b, column); });
}

bool sameShardIds(const std::vector<OwnershipRow>& a, const std::vector<OwnershipRow>& b) {
    return std::equal(
        a.begin(), a.end(), b.begin(), b.end(),
        [](const OwnershipRow& x, const OwnershipRow& y) { return x.shard.id == y.shard.id; });
}

std::unordered_set<ShardId> shardIds(const std::vector<OwnershipRow>& rows) {
    std::unordered_set<ShardId> ids;
    ids.reserve(rows.size());
    for (const OwnershipRow& row : rows)
        ids.insert(row.shard.id);
    return ids;
}

// The ids of `rows` that are also in `others`, in the order of `rows`.
std::vector<ShardId> survivorsInOrder(const std::vector<OwnershipRow>& rows,
                                      const std::unordered_set<ShardId>& others) {
    std::vector<ShardId> ids;
    for (const OwnershipRow& row : rows) {
        if (others.contains(row.shard.id))
            ids.push_back(row.shard.id);
    }
    return ids;
}

std::unordered_map<ShardId, const ShardFigures*>
figuresByShard(const std::vector<ShardFigures>& figures) {
    std::unordered_map<ShardId, const ShardFigures*> byShard;
    byShard.reserve(figures.size());
    for (const ShardFigures& entry : figures)
        byShard[entry.shard] = &entry;
    return byShard;
}

std::optional<ShardFigures>
figuresFor(ShardId shard, const std::unordered_map<ShardId, const ShardFigures*>& byShard) {
    const auto found = byShard.find(shard);
    if (found == byShard.end())
        return std::nullopt;
    return *found->second;
}

} // namespace

OwnershipTableModel::OwnershipTableModel(QObject* parent)
    : QAbstractTableModel(parent) {}

void OwnershipTableModel::setSnapshot(const OwnershipTable& table,
                                      const std::vector<ShardFigures>& figures) {
    std::vector<OwnershipRow> next = rowsFor(table, figures);
    m_epoch = table.epoch();
    if (!applyRemovalsAndInsertions(next)) {
        beginResetModel();
        m_rows = std::move(next);
        endResetModel();
        return;
    }
    updateChangedRows(next);
}

void OwnershipTableModel::setFigures(const std::vector<ShardFigures>& figures) {
    const auto byShard = figuresByShard(figures);
    std::vector<OwnershipRow> next = m_rows;
    for (OwnershipRow& row : next)
        row.figures = figuresFor(row.shard.id, byShard);
    updateChangedRows(next);
}

void OwnershipTableModel::clear() {
    beginResetModel();
    m_rows.clear();
    m_epoch = 0;
    endResetModel();
}

std::optional<int> OwnershipTableModel::rowOfShard(ShardId shard) const {
    const auto found = std::find_if(m_rows.begin(), m_rows.end(), [shard](const OwnershipRow& row) {
        return row.shard.id == shard;
    });
    if (found == m_rows.end())
        return std::nullopt;
    return static_cast<int>(found - m_rows.begin());
}

std::vector<OwnershipRow>
OwnershipTableModel::rowsFor(const OwnershipTable& table,
                             const std::vector<ShardFigures>& figures) const {
    const auto byShard = figuresByShard(figures);
    std::unordered_map<ShardId, const OwnershipRow*> previous;
    previous.reserve(m_rows.size());
    for (const OwnershipRow& row : m_rows)
        previous[row.shard.id] = &row;

    std::vector<OwnershipRow> rows;
    rows.reserve(table.shardCount());
    for (const Shard& shard : table.shards()) {
        OwnershipRow row{shard, table.epoch(), figuresFor(shard.id, byShard)};
        // An unchanged shard keeps the epoch of its last change, so the column shows which
        // shards moved lately instead of every row turning to the new epoch.
        const auto old = previous.find(shard.id);
        if (old != previous.end() && old->second->shard == shard)
            row.changed_epoch = old->second->changed_epoch;
        rows.push_back(std::move(row));
    }
    return rows;
}

// Splits and merges keep the surviving shards in the same relative order (each keeps its start
// key), so the change is some removals followed by some insertions. Returns false, changing
// nothing, when the survivors were reordered: only a reset describes that.
bool OwnershipTableModel::applyRemovalsAndInsertions(const std::vector<OwnershipRow>& next) {
    if (sameShardIds(m_rows, next))
        return true;
    const std::unordered_set<ShardId> nextIds = shardIds(next);
    const std::unordered_set<ShardId> presentIds = shardIds(m_rows);
    if (survivorsInOrder(m_rows, nextIds) != survivorsInOrder(next, presentIds))
        return false;
    removeRowsNotIn(nextIds);
    insertRowsNotIn(next, presentIds);
    return true;
}

// Back to front, one signal per contiguous run, so the row numbers still to visit stay valid.
void OwnershipTableModel::removeRowsNotIn(const std::unordered_set<ShardId>& kept) {
    int row = rowCount() - 1;
    while (row >= 0) {
        if (kept.contains(m_rows[static_cast<std::size_t>(row)].shard.id)) {
            --row;
            continue;
        }
        const int last = row;
        while (row > 0 && !kept.contains(m_rows[static_cast<std::size_t>(row - 1)].shard.id))
            --row;
        beginRemoveRows({}, row, last);
        m_rows.erase(m_rows.begin() + row, m_rows.begin() + last + 1);
        endRemoveRows();
        --row;
    }
}

// Front to back: once the rows before position i match next[0, i), next[i] belongs at row i.
void OwnershipTableModel::insertRowsNotIn(const std::vector<OwnershipRow>& next,
                                          const std::unordered_set<ShardId>& present) {
    std::size_t position = 0;
    while (position < next.size()) {
        if (present.contains(next[position].shard.id)) {
            ++position;
            continue;
        }
        const std::size_t first = position;
        while (position < next.size() && !present.contains(next[position].shard.id))
            ++position;
        beginInsertRows({}, static_cast<int>(first), static_cast<int>(position - 1));
        m_rows.insert(m_rows.begin() + static_cast<std::ptrdiff_t>(first),
                      next.begin() + static_cast<std::ptrdiff_t>(first),
                      next.begin() + static_cast<std::ptrdiff_t>(position));
        endInsertRows();
    }
}

// `next` holds the same shards as m_rows, in the same order.
void OwnershipTableModel::updateChangedRows(std::vector<OwnershipRow>& next) {
    for (std::size_t i = 0; i < next.size(); ++i) {
        const auto span = changedColumns(m_rows[i], next[i]);
        if (!span)
            continue;
        m_rows[i] = std::move(next[i]); // before the signal: slots read the new values
        const int row = static_cast<int>(i);
        Q_EMIT dataChanged(index(row, span->first), index(row, span->second));
    }
}

int OwnershipTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int OwnershipTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant OwnershipTableModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const OwnershipRow& row = rowAt(index.row());
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        return displayText(row, column);
    case Qt::ToolTipRole:
        return column == RangeColumn ? QVariant(display::fullKeyRange(row.shard.range))
                                     : QVariant();
    case Qt::TextAlignmentRole:
        return isNumeric(column) ? display::numberAlignment() : QVariant();
    case SortRole:
        return sortValue(row, index.row(), column);
    case ShardIdRole:
        return QVariant::fromValue<qulonglong>(row.shard.id);
    case HostsRole:
        return hostsList(row.shard);
    case StartKeyRole:
        return QByteArray::fromStdString(row.shard.range.start);
    case EndKeyRole:
        return QByteArray::fromStdString(row.shard.range.end);
    default:
        return {};
    }
}

QVariant OwnershipTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (const std::optional<QVariant> header =
            display::columnHeader(kHeaders, section, orientation, role))
        return *header;
    return QAbstractTableModel::headerData(section, orientation, role);
}

// ---------------------------------------------------------------------------------------------
// OwnershipFilterProxyModel

namespace {

// The keys with prefix p are [p, successor(p)): p without its trailing 0xff bytes and with its
// last byte incremented. A prefix of only 0xff bytes has no successor: unbounded above.
std::optional<Key> prefixEnd(Key prefix) {
    while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff)
        prefix.pop_back();
    if (prefix.empty())
        return std::nullopt;
    prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
    return prefix;
}

// Whether [range.start, range.end) and [prefix, successor(prefix)) overlap.
bool holdsKeysWithPrefix(const KeyRange& range, const Key& prefix) {
    const bool endsAfterPrefixStarts = range.unboundedAbove() || prefix < range.end;
    const std::optional<Key> end = prefixEnd(prefix);
    const bool startsBeforePrefixEnds = !end || range.start < *end;
    return endsAfterPrefixStarts && startsBeforePrefixEnds;
}

} // namespace

OwnershipFilterProxyModel::OwnershipFilterProxyModel(QObject* parent)
    : QSortFilterProxyModel(parent) {
    setSortRole(OwnershipTableModel::SortRole);
    setSortCaseSensitivity(Qt::CaseInsensitive);
    setDynamicSortFilter(true);
}

void OwnershipFilterProxyModel::setHostFilter(const QString& host) {
    if (host == m_host)
        return;
    m_host = host;
    invalidateFilter();
}

void OwnershipFilterProxyModel::setKeyPrefix(const Key& prefix) {
    if (prefix == m_keyPrefix)
        return;
    m_keyPrefix = prefix;
    invalidateFilter();
}

bool OwnershipFilterProxyModel::setKeyPrefixText(const QString& text) {
    Result<Key> prefix = parseKeyText(text.toStdString());
    if (!prefix)
        return false;
    setKeyPrefix(prefix.value());
    return true;
}

void OwnershipFilterProxyModel::setMinimumScore(double fraction) {
    if (fraction == m_minimumScore)
        return;
    m_minimumScore = fraction;
    invalidateFilter();
}

bool OwnershipFilterProxyModel::filterAcceptsRow(int sourceRow,
                                                 const QModelIndex& sourceParent) const {
    const QModelIndex index = sourceModel()->index(sourceRow, 0, sourceParent);
    return hostMatches(index) && keyPrefixMatches(index) && scoreMatches(index);
}

bool OwnershipFilterProxyModel::hostMatches(const QModelIndex& sourceIndex) const {
    return m_host.isEmpty() ||
           sourceIndex.data(OwnershipTableModel::HostsRole).toStringList().contains(m_host);
}

bool OwnershipFilterProxyModel::keyPrefixMatches(const QModelIndex& sourceIndex) const {
    if (m_keyPrefix.empty())
        return true;
    const KeyRange range{
        sourceIndex.data(OwnershipTableModel::StartKeyRole).toByteArray().toStdString(),
        sourceIndex.data(OwnershipTableModel::EndKeyRole).toByteArray().toStdString()};
    return holdsKeysWithPrefix(range, m_keyPrefix);
}

bool OwnershipFilterProxyModel::scoreMatches(const QModelIndex& sourceIndex) const {
    if (m_minimumScore <= 0.0)
        return true;
    const QVariant score = sourceIndex.siblingAtColumn(OwnershipTableModel::ScoreColumn)
                               .data(OwnershipTableModel::SortRole);
    return score.isValid() && score.toDouble() >= m_minimumScore;
}

// Numbers compare as numbers and text as text; a missing value (no figures yet) sorts first.
bool OwnershipFilterProxyModel::lessThan(const QModelIndex& left, const QModelIndex& right) const {
    const QVariant a = left.data(sortRole());
    const QVariant b = right.data(sortRole());
    if (!a.isValid() || !b.isValid())
        return !a.isValid() && b.isValid();
    if (a.typeId() == QMetaType::QString && b.typeId() == QMetaType::QString)
        return QString::compare(a.toString(), b.toString(), sortCaseSensitivity()) < 0;
    return QVariant::compare(a, b) == QPartialOrdering::Less;
}

} // namespace rangepilot
