#include "top_trends_model.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace rangepilot {

namespace {

using Model = TopTrendsModel;

constexpr std::array<display::ColumnHeader, Model::ColumnCount> kHeaders{{
    {"Range", "Keys the range holds, [start, end)"},
    {"Owner", "Host that serves the range"},
    {"Trend (per day)", "Change per day relative to the range's mean load"},
    {"Slope", "Change in operations per second, per day"},
    {"Load now", "Measured operations per second over the last step"},
}};

// "+" in front of positive figures: a growth rate reads as a change, not a level.
QString signedText(double value, const QString& text) {
    return value > 0 ? QLatin1Char('+') + text : text;
}

QString trendText(const RangeTrend& trend) {
    return signedText(trend.relative_slope_per_day,
                      display::percent(trend.relative_slope_per_day) + QStringLiteral("/day"));
}

QString slopeText(const RangeTrend& trend) {
    return signedText(trend.slope_per_day,
                      display::opsRate(trend.slope_per_day) + QStringLiteral(" per day"));
}

QVariant displayText(const RangeTrend& trend, int column) {
    switch (column) {
    case Model::RangeColumn:
        return display::keyRange(trend.range);
    case Model::OwnerColumn:
        return QString::fromStdString(trend.owner);
    case Model::TrendColumn:
        return trendText(trend);
    case Model::SlopeColumn:
        return slopeText(trend);
    case Model::LoadNowColumn:
        return display::opsRate(trend.load_now_ops);
    default:
        return {};
    }
}

QVariant sortValue(const RangeTrend& trend, int column) {
    switch (column) {
    case Model::RangeColumn:
        return display::keyOrder(trend.range.start);
    case Model::OwnerColumn:
        return QString::fromStdString(trend.owner);
    case Model::TrendColumn:
        return trend.relative_slope_per_day;
    case Model::SlopeColumn:
        return trend.slope_per_day;
    case Model::LoadNowColumn:
        return trend.load_now_ops;
    default:
        return {};
    }
}

QVariant toolTip(const RangeTrend& trend, int column) {
    if (column != Model::RangeColumn)
        return {};
    return display::fullKeyRange(trend.range) + QStringLiteral("\nshard ") +
           QString::number(trend.shard);
}

bool isNumeric(int column) {
    return column == Model::TrendColumn || column == Model::SlopeColumn ||
           column == Model::LoadNowColumn;
}

// The shard belongs to the range column: a row that shows another shard must repaint it even
// when the text happens to be the same, since ShardIdRole changed.
bool sameCell(const RangeTrend& a, const RangeTrend& b, int column) {
    switch (column) {
    case Model::RangeColumn:
        return a.shard == b.shard && a.range == b.range;
    case Model::OwnerColumn:
        return a.owner == b.owner;
    case Model::TrendColumn:
        return a.relative_slope_per_day == b.relative_slope_per_day;
    case Model::SlopeColumn:
        return a.slope_per_day == b.slope_per_day;
    case Model::LoadNowColumn:
        return a.load_now_ops == b.load_now_ops;
    default:
        return true;
    }
}

// Stronger first; equal strengths by shard id, so the order never depends on the input's.
bool stronger(const RangeTrend& a, const RangeTrend& b) {
    const double strengthA = std::abs(a.relative_slope_per_day);
    const double strengthB = std::abs(b.relative_slope_per_day);
    if (strengthA != strengthB)
        return strengthA > strengthB;
    return a.shard < b.shard;
}

} // namespace

TopTrendsModel::TopTrendsModel(TrendDirection direction, int limit, QObject* parent)
    : QAbstractTableModel(parent)
    , m_direction(direction)
    , m_limit(std::max(limit, 0)) {}

void TopTrendsModel::setTrends(const std::vector<RangeTrend>& all) {
    std::vector<RangeTrend> next = strongest(all);
    updateSharedRows(next);
    resizeTo(next);
}

void TopTrendsModel::clear() {
    std::vector<RangeTrend> none;
    resizeTo(none);
}

std::vector<RangeTrend> TopTrendsModel::strongest(const std::vector<RangeTrend>& all) const {
    std::vector<RangeTrend> matching;
    for (const RangeTrend& trend : all) {
        if (trend.direction == m_direction)
            matching.push_back(trend);
    }
    const auto kept = std::min(matching.size(), static_cast<std::size_t>(m_limit));
    std::partial_sort(matching.begin(), matching.begin() + static_cast<std::ptrdiff_t>(kept),
                      matching.end(), stronger);
    matching.resize(kept);
    return matching;
}

// Rows present before and after: one dataChanged per row that looks different.
void TopTrendsModel::updateSharedRows(std::vector<RangeTrend>& next) {
    const std::size_t shared = std::min(m_rows.size(), next.size());
    for (std::size_t i = 0; i < shared; ++i) {
        const auto span = display::changedColumnSpan(
            ColumnCount, [&](int column) { return sameCell(m_rows[i], next[i], column); });
        if (!span)
            continue;
        m_rows[i] = next[i]; // before the signal: slots read the new values
        const int row = static_cast<int>(i);
        Q_EMIT dataChanged(index(row, span->first), index(row, span->second));
    }
}

// Rows beyond the shared ones: removed from, or appended at, the end.
void TopTrendsModel::resizeTo(std::vector<RangeTrend>& next) {
    const int current = rowCount();
    const int wanted = static_cast<int>(next.size());
    if (wanted < current) {
        beginRemoveRows({}, wanted, current - 1);
        m_rows.resize(next.size());
        endRemoveRows();
    } else if (wanted > current) {
        beginInsertRows({}, current, wanted - 1);
        m_rows.insert(m_rows.end(), std::make_move_iterator(next.begin() + current),
                      std::make_move_iterator(next.end()));
        endInsertRows();
    }
}

int TopTrendsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int TopTrendsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TopTrendsModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const RangeTrend& trend = trendAt(index.row());
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        return displayText(trend, column);
    case Qt::ToolTipRole:
        return toolTip(trend, column);
    case Qt::TextAlignmentRole:
        return isNumeric(column) ? display::numberAlignment() : QVariant();
    case SortRole:
        return sortValue(trend, column);
    case ShardIdRole:
        return QVariant::fromValue<qulonglong>(trend.shard);
    default:
        return {};
    }
}

QVariant TopTrendsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (const std::optional<QVariant> header =
            display::columnHeader(kHeaders, section, orientation, role))
        return *header;
    return QAbstractTableModel::headerData(section, orientation, role);
}

} // namespace rangepilot
