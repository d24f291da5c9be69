#include "hosts_model.h"

#include <QBrush>
#include <QColor>

#include <algorithm>
#include <array>
#include <utility>

namespace rangepilot {

namespace {

using Model = HostsModel;

enum class Measure { Capacity, Now, Projected };

struct ResourceCell {
    Resource resource;
    Measure measure;
};

// The resources the issue asks for, in column order; each takes three columns.
constexpr std::array<Resource, 4> kShownResources{Resource::Ops, Resource::Memory,
                                                  Resource::DiskBytes, Resource::NetworkBytes};
constexpr int kColumnsPerResource = 3;

std::optional<ResourceCell> resourceCell(int column) {
    if (column < Model::CpuCapacityColumn || column > Model::NetworkProjectedColumn)
        return std::nullopt;
    const int offset = column - Model::CpuCapacityColumn;
    return ResourceCell{kShownResources[static_cast<std::size_t>(offset / kColumnsPerResource)],
                        static_cast<Measure>(offset % kColumnsPerResource)};
}

constexpr std::array<display::ColumnHeader, Model::ColumnCount> kHeaders{{
    {"Host", "Host id"},
    {"Shards", "Shards the host owns"},
    {"CPU capacity (ops/s)", "Operations per second the host can serve"},
    {"CPU now (%)", "Measured operations per second, as a share of capacity"},
    {"CPU projected (%)", "Projected peak operations per second, as a share of capacity"},
    {"Memory capacity (bytes)", "Memory available to the store"},
    {"Memory now (%)", "Measured memory use, as a share of capacity"},
    {"Memory projected (%)", "Projected peak memory use, as a share of capacity"},
    {"Disk I/O capacity (bytes/s)", "Disk bytes per second the host can read and write"},
    {"Disk I/O now (%)", "Measured disk bytes per second, as a share of capacity"},
    {"Disk I/O projected (%)", "Projected peak disk bytes per second, as a share of capacity"},
    {"Network capacity (bytes/s)", "Network bytes per second the host can send and receive"},
    {"Network now (%)", "Measured network bytes per second, as a share of capacity"},
    {"Network projected (%)", "Projected peak network bytes per second, as a share of capacity"},
    {"Status", "Worst utilization of any resource, now or projected"},
}};

QString resourceLabel(Resource resource) {
    switch (resource) {
    case Resource::Ops:
        return QStringLiteral("CPU");
    case Resource::Memory:
        return QStringLiteral("memory");
    case Resource::DiskBytes:
        return QStringLiteral("disk I/O");
    case Resource::NetworkBytes:
        return QStringLiteral("network");
    case Resource::ServiceTime:
        return QStringLiteral("service time");
    }
    return {};
}

// An amount of `resource` in its unit: "12,000 ops/s", "64.0 GB", "200.0 MB/s".
QString amountText(Resource resource, double amount) {
    switch (resource) {
    case Resource::Ops:
        return display::opsRate(amount);
    case Resource::Memory:
        return display::bytes(amount);
    default:
        return display::byteRate(amount);
    }
}

const ResourceVector& usage(const HostFigures& host, Measure measure) {
    return measure == Measure::Now ? host.usage_now : host.projected_peak;
}

std::optional<double> utilization(const HostFigures& host, Resource resource, Measure measure) {
    const double capacity = host.capacity[resource];
    if (capacity <= 0.0)
        return std::nullopt;
    return usage(host, measure)[resource] / capacity;
}

// The resource and moment (now or projected) with the highest utilization; ties go to now.
struct Hotspot {
    Resource resource = Resource::Ops;
    Measure measure = Measure::Now;
    double utilization = 0.0;

    bool operator==(const Hotspot&) const = default;
};

std::optional<Hotspot> hotspot(const HostFigures& host) {
    std::optional<Hotspot> worst;
    for (const Resource resource : kShownResources) {
        for (const Measure measure : {Measure::Now, Measure::Projected}) {
            const std::optional<double> value = utilization(host, resource, measure);
            if (value && (!worst || *value > worst->utilization))
                worst = Hotspot{resource, measure, *value};
        }
    }
    return worst;
}

QVariant cellText(const HostFigures& host, const ResourceCell& cell) {
    if (cell.measure == Measure::Capacity) {
        const double capacity = host.capacity[cell.resource];
        return capacity > 0.0 ? amountText(cell.resource, capacity) : display::unknown();
    }
    const std::optional<double> value = utilization(host, cell.resource, cell.measure);
    return value ? display::percent(*value) : display::unknown();
}

QVariant cellToolTip(const HostFigures& host, const ResourceCell& cell) {
    const double capacity = host.capacity[cell.resource];
    if (capacity <= 0.0)
        return QStringLiteral("capacity unknown");
    if (cell.measure == Measure::Capacity)
        return {};
    return amountText(cell.resource, usage(host, cell.measure)[cell.resource]) +
           QStringLiteral(" of ") + amountText(cell.resource, capacity);
}

QVariant cellSortValue(const HostFigures& host, const ResourceCell& cell) {
    if (cell.measure == Measure::Capacity)
        return host.capacity[cell.resource];
    const std::optional<double> value = utilization(host, cell.resource, cell.measure);
    return value ? QVariant(*value) : QVariant();
}

QVariant sortValue(const HostFigures& host, int column) {
    if (const auto cell = resourceCell(column))
        return cellSortValue(host, *cell);
    switch (column) {
    case Model::HostColumn:
        return QString::fromStdString(host.host);
    case Model::ShardsColumn:
        return QVariant::fromValue<qulonglong>(host.shards);
    case Model::StatusColumn: {
        const std::optional<Hotspot> worst = hotspot(host);
        return worst ? QVariant(worst->utilization) : QVariant();
    }
    default:
        return {};
    }
}

bool sameCell(const HostFigures& a, const HostFigures& b, int column) {
    if (const auto cell = resourceCell(column)) {
        const Resource resource = cell->resource;
        const bool sameCapacity = a.capacity[resource] == b.capacity[resource];
        if (cell->measure == Measure::Capacity)
            return sameCapacity;
        return sameCapacity &&
               usage(a, cell->measure)[resource] == usage(b, cell->measure)[resource];
    }
    switch (column) {
    case Model::HostColumn:
        return a.host == b.host;
    case Model::ShardsColumn:
        return a.shards == b.shards;
    default: // Status: its text and sort value follow the hotspot alone
        return hotspot(a) == hotspot(b);
    }
}

std::optional<std::pair<int, int>> changedColumns(const HostFigures& a, const HostFigures& b) {
    auto span = display::changedColumnSpan(Model::ColumnCount,
                                           [&](int column) { return sameCell(a, b, column); });
    // The Host column shows the host's level too: it changes whenever Status does.
    if (span && span->second == Model::StatusColumn)
        span->first = Model::HostColumn;
    return span;
}

bool sameHosts(const std::vector<HostFigures>& a, const std::vector<HostFigures>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const HostFigures& x, const HostFigures& y) { return x.host == y.host; });
}

bool isNumeric(int column) {
    return column != Model::HostColumn && column != Model::StatusColumn;
}

QString levelName(LoadLevel level) {
    return level == LoadLevel::Overloaded ? QStringLiteral("overloaded")
                                          : QStringLiteral("warning");
}

} // namespace

HostsModel::HostsModel(QObject* parent)
    : QAbstractTableModel(parent) {}

void HostsModel::setSnapshot(std::vector<HostFigures> hosts) {
    if (!sameHosts(m_hosts, hosts)) {
        beginResetModel();
        m_hosts = std::move(hosts);
        endResetModel();
        return;
    }
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        const auto span = changedColumns(m_hosts[i], hosts[i]);
        if (!span)
            continue;
        m_hosts[i] = std::move(hosts[i]); // before the signal: slots read the new values
        const int row = static_cast<int>(i);
        Q_EMIT dataChanged(index(row, span->first), index(row, span->second));
    }
}

void HostsModel::setWarningThreshold(double fraction) {
    if (fraction == m_warningThreshold)
        return;
    m_warningThreshold = fraction;
    if (m_hosts.empty())
        return;
    // Levels show in colours, in WarningRole and in the Status text; values and sorting do not
    // change.
    Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1),
                       {Qt::DisplayRole, Qt::ForegroundRole, WarningRole});
}

std::optional<int> HostsModel::rowOfHost(const HostId& host) const {
    const auto found = std::find_if(m_hosts.begin(), m_hosts.end(),
                                    [&host](const HostFigures& row) { return row.host == host; });
    if (found == m_hosts.end())
        return std::nullopt;
    return static_cast<int>(found - m_hosts.begin());
}

LoadLevel HostsModel::hostLevel(int row) const {
    const std::optional<Hotspot> worst = hotspot(hostAt(row));
    return worst ? levelOf(worst->utilization) : LoadLevel::Normal;
}

LoadLevel HostsModel::levelOf(double utilization) const {
    if (utilization > kOverloadThreshold)
        return LoadLevel::Overloaded;
    if (utilization > m_warningThreshold)
        return LoadLevel::Warning;
    return LoadLevel::Normal;
}

QString HostsModel::statusText(const HostFigures& host) const {
    const std::optional<Hotspot> worst = hotspot(host);
    if (!worst)
        return QStringLiteral("capacity unknown");
    const LoadLevel level = levelOf(worst->utilization);
    if (level == LoadLevel::Normal)
        return QStringLiteral("ok");
    const QString when =
        worst->measure == Measure::Now ? QStringLiteral("now") : QStringLiteral("projected");
    return levelName(level) + QStringLiteral(": ") + resourceLabel(worst->resource) +
           QLatin1Char(' ') + display::percent(worst->utilization) + QLatin1Char(' ') + when;
}

// The level of a utilization cell, or of the whole host for the Host and Status columns.
QVariant HostsModel::warning(const HostFigures& host, int column) const {
    if (column == HostColumn || column == StatusColumn) {
        const std::optional<Hotspot> worst = hotspot(host);
        return static_cast<int>(worst ? levelOf(worst->utilization) : LoadLevel::Normal);
    }
    const auto cell = resourceCell(column);
    if (!cell || cell->measure == Measure::Capacity)
        return {};
    const std::optional<double> value = utilization(host, cell->resource, cell->measure);
    return value ? QVariant(static_cast<int>(levelOf(*value))) : QVariant();
}

QVariant HostsModel::foreground(const HostFigures& host, int column) const {
    const QVariant level = warning(host, column);
    if (!level.isValid())
        return {};
    switch (static_cast<LoadLevel>(level.toInt())) {
    case LoadLevel::Warning:
        return QBrush(QColor(0xb0, 0x60, 0x00)); // dark orange, readable on light and dark
    case LoadLevel::Overloaded:
        return QBrush(QColor(0xc0, 0x1c, 0x1c));
    case LoadLevel::Normal:
        break;
    }
    return {};
}

int HostsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_hosts.size());
}

int HostsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant HostsModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const HostFigures& host = hostAt(index.row());
    const int column = index.column();
    const auto cell = resourceCell(column);
    switch (role) {
    case Qt::DisplayRole:
        if (cell)
            return cellText(host, *cell);
        if (column == HostColumn)
            return QString::fromStdString(host.host);
        if (column == ShardsColumn)
            return QString::number(host.shards);
        return statusText(host);
    case Qt::ToolTipRole:
        return cell ? cellToolTip(host, *cell) : QVariant();
    case Qt::TextAlignmentRole:
        return isNumeric(column) ? display::numberAlignment() : QVariant();
    case Qt::ForegroundRole:
        return foreground(host, column);
    case SortRole:
        return sortValue(host, column);
    case WarningRole:
        return warning(host, column);
    default:
        return {};
    }
}

QVariant HostsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (const std::optional<QVariant> header =
            display::columnHeader(kHeaders, section, orientation, role))
        return *header;
    return QAbstractTableModel::headerData(section, orientation, role);
}

} // namespace rangepilot
