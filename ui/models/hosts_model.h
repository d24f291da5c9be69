#pragma once

// Hosts as the console shows them: capacity and utilization per resource (CPU as ops/s, memory,
// disk I/O, network), measured now and projected at the peak of the horizon, with warnings
// before a host runs out of anything.
//
// Levels. A utilization above the warning threshold (default 0.85, a setter) is a Warning; above
// 1.0 the host is Overloaded. A host's level is its worst over the four resources shown, now and
// projected. Resources whose capacity is 0 (unknown) show "—" and never warn. Service time is not
// shown, so it does not warn here either (the planner still weighs it).
//
// Invariants: rows are the hosts of the last snapshot, in its order. A snapshot with the same
// hosts in the same order updates in place (one dataChanged per changed row, over the columns
// that changed); hosts joining or leaving reset the model, which is rare enough not to matter to
// a view's selection. Cost: O(hosts) per snapshot.

#include "cluster_model.h"
#include "display_text.h"

#include <QAbstractTableModel>
#include <QString>
#include <QVariant>

#include <cstddef>
#include <optional>
#include <vector>

namespace rangepilot {

// One host at one moment, as the app assembles it from ClusterTopology (capacity), the last
// HostUsageSample (usage_now) and the planner's projection (projected_peak). All in the units of
// Host::capacity: ops/s, disk bytes/s, network bytes/s, memory bytes.
struct HostFigures {
    HostId host;
    ResourceVector capacity;       // 0 for a resource = unknown
    ResourceVector usage_now;      // measured mean usage over the last step
    ResourceVector projected_peak; // highest projected usage over the horizon, per resource
    std::size_t shards = 0;        // shards it owns

    bool operator==(const HostFigures&) const = default;
};

enum class LoadLevel { Normal, Warning, Overloaded };

class HostsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    // Utilization reads "73%" (tooltip "8,760 ops/s of 12,000 ops/s"); capacity is in its unit.
    enum Columns : int {
        HostColumn,
        ShardsColumn,
        CpuCapacityColumn, // ops/s
        CpuNowColumn,
        CpuProjectedColumn,
        MemoryCapacityColumn, // bytes
        MemoryNowColumn,
        MemoryProjectedColumn,
        DiskCapacityColumn, // bytes/s
        DiskNowColumn,
        DiskProjectedColumn,
        NetworkCapacityColumn, // bytes/s
        NetworkNowColumn,
        NetworkProjectedColumn,
        // "ok", "warning: memory 91% projected", "overloaded: CPU 112% now", "capacity unknown"
        StatusColumn,
        ColumnCount
    };

    enum Roles : int {
        // Numbers: capacity in its unit, utilization as a fraction (invalid when unknown), the
        // worst utilization for Status; host ids as text.
        SortRole = display::kSortRole,
        // int(LoadLevel): of the cell for utilization columns, of the host for Host and Status.
        WarningRole,
    };

    static constexpr double kDefaultWarningThreshold = 0.85;
    static constexpr double kOverloadThreshold = 1.0;

    explicit HostsModel(QObject* parent = nullptr);

    void setSnapshot(std::vector<HostFigures> hosts);
    // Levels above `fraction` of capacity warn; emits dataChanged for every row's level cells.
    void setWarningThreshold(double fraction);
    double warningThreshold() const { return m_warningThreshold; }

    const HostFigures& hostAt(int row) const { return m_hosts[static_cast<std::size_t>(row)]; }
    std::optional<int> rowOfHost(const HostId& host) const; // O(n)
    LoadLevel hostLevel(int row) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    QVariant foreground(const HostFigures& host, int column) const;
    QVariant warning(const HostFigures& host, int column) const;
    QString statusText(const HostFigures& host) const;
    LoadLevel levelOf(double utilization) const;

    std::vector<HostFigures> m_hosts;
    double m_warningThreshold = kDefaultWarningThreshold;
};

} // namespace rangepilot
