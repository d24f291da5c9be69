#include "models/hosts_model.h"

#include <QAbstractItemModelTester>
#include <QBrush>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QtTest>

#include <vector>

using namespace rangepilot;

namespace {

using Model = HostsModel;
using Tester = QAbstractItemModelTester;

constexpr auto kFailMode = QAbstractItemModelTester::FailureReportingMode::QtTest;

ResourceVector resources(double ops, double memory, double disk, double network) {
    ResourceVector vector;
    vector[Resource::Ops] = ops;
    vector[Resource::Memory] = memory;
    vector[Resource::DiskBytes] = disk;
    vector[Resource::NetworkBytes] = network;
    return vector;
}

// h1: busiest on memory, projected (91%): a warning.  h2: CPU at 112% now: overloaded.
// h3: quiet.  h4: no capacity known.
std::vector<HostFigures> fourHosts() {
    return {
        {"h1", resources(12000, 64e9, 200e6, 1.2e9), resources(8760, 32e9, 50e6, 480e6),
         resources(9000, 58.24e9, 100e6, 576e6), 12},
        {"h2", resources(10000, 32e9, 100e6, 1e9), resources(11200, 8e9, 10e6, 100e6),
         resources(10500, 8e9, 10e6, 100e6), 9},
        {"h3", resources(10000, 32e9, 100e6, 1e9), resources(1000, 8e9, 10e6, 100e6),
         resources(2000, 8e9, 20e6, 100e6), 4},
        {"h4", ResourceVector{}, resources(10, 10, 10, 10), resources(10, 10, 10, 10), 0},
    };
}

QString text(const QAbstractItemModel& model, int row, int column, int role = Qt::DisplayRole) {
    return model.index(row, column).data(role).toString();
}

} // namespace

class HostsModelTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void showsKnownHosts_data();
    void showsKnownHosts();
    void sortRoleIsNumeric_data();
    void sortRoleIsNumeric();
    void warningLevels_data();
    void warningLevels();
    void thresholdSetterUpdatesLevels();
    void headersCarryUnits();
    void sameHostsUpdateChangedRowsOnly();
    void hostsJoiningAndLeavingReset();
    void sortsByUtilizationNotText();
};

void HostsModelTest::showsKnownHosts_data() {
    QTest::addColumn<int>("row");
    QTest::addColumn<int>("column");
    QTest::addColumn<int>("role");
    QTest::addColumn<QString>("expected");
    const int show = Qt::DisplayRole;
    const int tip = Qt::ToolTipRole;
    QTest::newRow("host") << 0 << int(Model::HostColumn) << show << QStringLiteral("h1");
    QTest::newRow("shards") << 0 << int(Model::ShardsColumn) << show << QStringLiteral("12");
    QTest::newRow("cpu capacity") << 0 << int(Model::CpuCapacityColumn) << show
                                  << QStringLiteral("12,000 ops/s");
    QTest::newRow("cpu now") << 0 << int(Model::CpuNowColumn) << show << QStringLiteral("73%");
    QTest::newRow("cpu now tip") << 0 << int(Model::CpuNowColumn) << tip
                                 << QStringLiteral("8,760 ops/s of 12,000 ops/s");
    QTest::newRow("cpu projected")
        << 0 << int(Model::CpuProjectedColumn) << show << QStringLiteral("75%");
    QTest::newRow("memory capacity")
        << 0 << int(Model::MemoryCapacityColumn) << show << QStringLiteral("64.0 GB");
    QTest::newRow("memory now tip")
        << 0 << int(Model::MemoryNowColumn) << tip << QStringLiteral("32.0 GB of 64.0 GB");
    QTest::newRow("memory projected")
        << 0 << int(Model::MemoryProjectedColumn) << show << QStringLiteral("91%");
    QTest::newRow("disk capacity")
        << 0 << int(Model::DiskCapacityColumn) << show << QStringLiteral("200.0 MB/s");
    QTest::newRow("disk now") << 0 << int(Model::DiskNowColumn) << show << QStringLiteral("25%");
    QTest::newRow("network capacity")
        << 0 << int(Model::NetworkCapacityColumn) << show << QStringLiteral("1.2 GB/s");
    QTest::newRow("network projected tip") << 0 << int(Model::NetworkProjectedColumn) << tip
                                           << QStringLiteral("576.0 MB/s of 1.2 GB/s");
    QTest::newRow("warning status")
        << 0 << int(Model::StatusColumn) << show << QStringLiteral("warning: memory 91% projected");
    QTest::newRow("overloaded status")
        << 1 << int(Model::StatusColumn) << show << QStringLiteral("overloaded: CPU 112% now");
    QTest::newRow("ok status") << 2 << int(Model::StatusColumn) << show << QStringLiteral("ok");
    QTest::newRow("unknown capacity")
        << 3 << int(Model::CpuCapacityColumn) << show << QStringLiteral("\u2014");
    QTest::newRow("unknown utilization")
        << 3 << int(Model::NetworkNowColumn) << show << QStringLiteral("\u2014");
    QTest::newRow("unknown utilization tip")
        << 3 << int(Model::NetworkNowColumn) << tip << QStringLiteral("capacity unknown");
    QTest::newRow("unknown status")
        << 3 << int(Model::StatusColumn) << show << QStringLiteral("capacity unknown");
}

void HostsModelTest::showsKnownHosts() {
    QFETCH(int, row);
    QFETCH(int, column);
    QFETCH(int, role);
    QFETCH(QString, expected);
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(fourHosts());
    QCOMPARE(model.rowCount(), 4);
    QCOMPARE(text(model, row, column, role), expected);
}

void HostsModelTest::sortRoleIsNumeric_data() {
    QTest::addColumn<int>("row");
    QTest::addColumn<int>("column");
    QTest::addColumn<QVariant>("expected");
    QTest::newRow("capacity") << 0 << int(Model::CpuCapacityColumn) << QVariant(12000.0);
    QTest::newRow("utilization") << 0 << int(Model::CpuNowColumn) << QVariant(0.73);
    QTest::newRow("shards") << 0 << int(Model::ShardsColumn) << QVariant::fromValue<qulonglong>(12);
    QTest::newRow("status: worst") << 1 << int(Model::StatusColumn) << QVariant(1.12);
    QTest::newRow("unknown") << 3 << int(Model::CpuNowColumn) << QVariant();
    QTest::newRow("host: text") << 2 << int(Model::HostColumn) << QVariant(QStringLiteral("h3"));
}

void HostsModelTest::sortRoleIsNumeric() {
    QFETCH(int, row);
    QFETCH(int, column);
    QFETCH(QVariant, expected);
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(fourHosts());
    const QVariant value = model.index(row, column).data(Model::SortRole);
    QCOMPARE(value.typeId(), expected.typeId());
    if (expected.typeId() == QMetaType::Double)
        QVERIFY(qFuzzyCompare(value.toDouble(), expected.toDouble()));
    else
        QCOMPARE(value, expected);
}

void HostsModelTest::warningLevels_data() {
    QTest::addColumn<double>("utilization");
    QTest::addColumn<double>("threshold");
    QTest::addColumn<int>("expected");
    const int normal = int(LoadLevel::Normal);
    const int warning = int(LoadLevel::Warning);
    const int overloaded = int(LoadLevel::Overloaded);
    QTest::newRow("well below") << 0.50 << 0.85 << normal;
    QTest::newRow("at the threshold") << 0.85 << 0.85 << normal;
    QTest::newRow("just above") << 0.86 << 0.85 << warning;
    QTest::newRow("full is not over") << 1.00 << 0.85 << warning;
    QTest::newRow("over full") << 1.01 << 0.85 << overloaded;
    QTest::newRow("lower threshold") << 0.60 << 0.50 << warning;
}

void HostsModelTest::warningLevels() {
    QFETCH(double, utilization);
    QFETCH(double, threshold);
    QFETCH(int, expected);
    Model model;
    Tester tester(&model, kFailMode);
    model.setWarningThreshold(threshold);
    // Only CPU capacity is known, so this one figure decides the host's level too.
    model.setSnapshot({{"h1", resources(1000, 0, 0, 0), resources(utilization * 1000, 5, 5, 5),
                        resources(100, 5, 5, 5), 1}});
    QCOMPARE(model.index(0, Model::CpuNowColumn).data(Model::WarningRole).toInt(), expected);
    QCOMPARE(model.index(0, Model::StatusColumn).data(Model::WarningRole).toInt(), expected);
    QCOMPARE(int(model.hostLevel(0)), expected);
    QCOMPARE(model.index(0, Model::CpuProjectedColumn).data(Model::WarningRole).toInt(),
             int(LoadLevel::Normal));
    QVERIFY(!model.index(0, Model::MemoryNowColumn).data(Model::WarningRole).isValid());

    const QVariant colour = model.index(0, Model::CpuNowColumn).data(Qt::ForegroundRole);
    QCOMPARE(colour.isValid(), expected != int(LoadLevel::Normal));
    QCOMPARE(model.index(0, Model::HostColumn).data(Qt::ForegroundRole), colour);
}

void HostsModelTest::thresholdSetterUpdatesLevels() {
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(fourHosts());
    QCOMPARE(model.warningThreshold(), Model::kDefaultWarningThreshold);
    QCOMPARE(model.hostLevel(0), LoadLevel::Warning);
    const QBrush warningBrush =
        model.index(0, Model::StatusColumn).data(Qt::ForegroundRole).value<QBrush>();
    const QBrush overloadBrush =
        model.index(1, Model::StatusColumn).data(Qt::ForegroundRole).value<QBrush>();
    QVERIFY(warningBrush.color() != overloadBrush.color());

    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setWarningThreshold(0.95);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).value<QModelIndex>(), model.index(0, 0));
    QCOMPARE(changed.at(0).at(1).value<QModelIndex>(),
             model.index(model.rowCount() - 1, Model::ColumnCount - 1));
    QCOMPARE(model.hostLevel(0), LoadLevel::Normal);
    QCOMPARE(text(model, 0, Model::StatusColumn), QStringLiteral("ok"));
    QCOMPARE(model.hostLevel(1), LoadLevel::Overloaded); // above 1.0 whatever the threshold

    model.setWarningThreshold(0.95); // no change, no signal
    QCOMPARE(changed.count(), 1);
}

void HostsModelTest::headersCarryUnits() {
    Model model;
    QCOMPARE(model.headerData(Model::CpuCapacityColumn, Qt::Horizontal).toString(),
             QStringLiteral("CPU capacity (ops/s)"));
    QCOMPARE(model.headerData(Model::MemoryNowColumn, Qt::Horizontal).toString(),
             QStringLiteral("Memory now (%)"));
    QCOMPARE(model.headerData(Model::DiskCapacityColumn, Qt::Horizontal).toString(),
             QStringLiteral("Disk I/O capacity (bytes/s)"));
    for (int column = 0; column < Model::ColumnCount; ++column)
        QVERIFY(!model.headerData(column, Qt::Horizontal).toString().isEmpty());
}

void HostsModelTest::sameHostsUpdateChangedRowsOnly() {
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(fourHosts());
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);

    model.setSnapshot(fourHosts());
    QCOMPARE(changed.count(), 0);

    std::vector<HostFigures> hosts = fourHosts();
    hosts[2].usage_now[Resource::DiskBytes] = 15e6; // h3: not its hottest resource
    hosts[1].usage_now[Resource::Ops] = 8000;       // h2: cools from overloaded to a warning
    hosts[1].projected_peak[Resource::Ops] = 9000;
    model.setSnapshot(hosts);

    QCOMPARE(reset.count(), 0);
    QCOMPARE(changed.count(), 2);
    const QModelIndex h2First = changed.at(0).at(0).value<QModelIndex>();
    const QModelIndex h2Last = changed.at(0).at(1).value<QModelIndex>();
    QCOMPARE(h2First.row(), 1);
    QCOMPARE(h2Last.row(), 1);
    QCOMPARE(h2First.column(), int(Model::HostColumn)); // its level colours the host name
    QCOMPARE(h2Last.column(), int(Model::StatusColumn));
    const QModelIndex h3First = changed.at(1).at(0).value<QModelIndex>();
    const QModelIndex h3Last = changed.at(1).at(1).value<QModelIndex>();
    QCOMPARE(h3First.row(), 2);
    QCOMPARE(h3First.column(), int(Model::DiskNowColumn));
    QCOMPARE(h3Last.column(), int(Model::DiskNowColumn));
    QCOMPARE(text(model, 1, Model::StatusColumn), QStringLiteral("warning: CPU 90% projected"));
    QCOMPARE(text(model, 2, Model::DiskNowColumn), QStringLiteral("15%"));
}

void HostsModelTest::hostsJoiningAndLeavingReset() {
    Model model;
    Tester tester(&model, kFailMode);
    model.setSnapshot(fourHosts());
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);

    std::vector<HostFigures> fewer = fourHosts();
    fewer.erase(fewer.begin() + 1);
    model.setSnapshot(fewer);
    QCOMPARE(reset.count(), 1);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.rowOfHost("h3"), std::optional<int>(1));
    QCOMPARE(model.rowOfHost("h2"), std::optional<int>());

    std::vector<HostFigures> more = fourHosts();
    more.push_back(more.front());
    more.back().host = "h5";
    model.setSnapshot(more);
    QCOMPARE(reset.count(), 2);
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(model.hostAt(4).host, HostId("h5"));

    model.setSnapshot({});
    QCOMPARE(model.rowCount(), 0);
}

void HostsModelTest::sortsByUtilizationNotText() {
    Model model;
    QSortFilterProxyModel proxy;
    proxy.setSortRole(Model::SortRole);
    proxy.setSourceModel(&model);
    Tester tester(&model, kFailMode);
    Tester proxyTester(&proxy, kFailMode);
    const ResourceVector capacity = resources(1000, 0, 0, 0);
    model.setSnapshot({{"a", capacity, resources(100, 0, 0, 0), resources(100, 0, 0, 0), 0},
                       {"b", capacity, resources(90, 0, 0, 0), resources(90, 0, 0, 0), 0},
                       {"c", capacity, resources(1000, 0, 0, 0), resources(1000, 0, 0, 0), 0}});
    proxy.sort(Model::CpuNowColumn, Qt::AscendingOrder);
    // As text: "100%" < "10%" < "9%".
    QCOMPARE(text(proxy, 0, Model::CpuNowColumn), QStringLiteral("9%"));
    QCOMPARE(text(proxy, 1, Model::CpuNowColumn), QStringLiteral("10%"));
    QCOMPARE(text(proxy, 2, Model::CpuNowColumn), QStringLiteral("100%"));
}

QTEST_APPLESS_MAIN(HostsModelTest)
#include "tst_hosts_model.moc"
