#include "cluster_model.h"

#include <QtTest>

#include <limits>

using namespace rangepilot;

namespace {

ClusterModel threeHosts() {
    ClusterModel model;
    for (const char* id : {"host-1", "host-2", "host-3"}) {
        Host host{id, {}, {}};
        host.capacity[Resource::Ops] = 1000;
        host.capacity[Resource::DiskBytes] = 100e6;
        model.hosts.push_back(host);
    }
    model.latency = LatencyMatrix(3, 0.5);
    return model;
}

} // namespace

class TestClusterModel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void resourceArithmetic();
    void utilizationSkipsUnknownCapacity();
    void latencyIsSymmetric();
    void validateNamesTheProblem_data();
    void validateNamesTheProblem();
    void unionPeakIsNotTheSumOfPeaks();
};

void TestClusterModel::resourceArithmetic() {
    ResourceVector a;
    a[Resource::Ops] = 10;
    a[Resource::Memory] = 4;
    ResourceVector b;
    b[Resource::Ops] = 2.5;
    QCOMPARE((a + b)[Resource::Ops], 12.5);
    QCOMPARE((a - b)[Resource::Ops], 7.5);
    QCOMPARE((a * 2)[Resource::Memory], 8.0);
    QCOMPARE(resourceName(Resource::DiskBytes), std::string_view("disk"));
}

void TestClusterModel::utilizationSkipsUnknownCapacity() {
    ResourceVector usage;
    usage[Resource::Ops] = 500;
    usage[Resource::NetworkBytes] = 1e9; // no network capacity known: ignored
    ResourceVector capacity;
    capacity[Resource::Ops] = 1000;
    QCOMPARE(usage.maxRatioTo(capacity), 0.5);
    usage[Resource::Ops] = 1500;
    QCOMPARE(usage.maxRatioTo(capacity), 1.5);
}

void TestClusterModel::latencyIsSymmetric() {
    LatencyMatrix latency(4, 1.0);
    latency.set(0, 3, 7.5);
    QCOMPARE(latency.at(3, 0), 7.5);
    QCOMPARE(latency.at(2, 2), 0.0);
    QCOMPARE(latency.at(1, 2), 1.0);
}

void TestClusterModel::validateNamesTheProblem_data() {
    QTest::addColumn<int>("breakage");
    QTest::addColumn<QString>("message");
    QTest::newRow("fine") << 0 << QString();
    QTest::newRow("duplicate id") << 1 << QStringLiteral("used twice");
    QTest::newRow("negative capacity")
        << 2 << QStringLiteral("negative or non-finite disk capacity");
    QTest::newRow("matrix size") << 3 << QStringLiteral("latency matrix is 2×2 for 3 hosts");
    QTest::newRow("nan latency") << 4 << QStringLiteral("latency from host 0 to host 2");
    QTest::newRow("no id") << 5 << QStringLiteral("host 1 has no id");
}

void TestClusterModel::validateNamesTheProblem() {
    QFETCH(int, breakage);
    QFETCH(QString, message);
    ClusterModel model = threeHosts();
    switch (breakage) {
    case 1:
        model.hosts[2].id = "host-1";
        break;
    case 2:
        model.hosts[1].capacity[Resource::DiskBytes] = -1;
        break;
    case 3:
        model.latency = LatencyMatrix(2);
        break;
    case 4:
        model.latency.set(0, 2, std::numeric_limits<double>::quiet_NaN());
        break;
    case 5:
        model.hosts[1].id.clear();
        break;
    default:
        break;
    }
    const Status status = validate(model);
    if (message.isEmpty()) {
        QVERIFY2(status.ok(), status.message().c_str());
        QCOMPARE(model.indexOf("host-3"), std::optional<std::size_t>(2));
        QVERIFY(!model.indexOf("host-9").has_value());
    } else {
        QVERIFY(!status.ok());
        QVERIFY2(QString::fromStdString(status.message()).contains(message),
                 status.message().c_str());
    }
}

// Two cells that peak at different steps: the union's peak is below the sum of their peaks.
void TestClusterModel::unionPeakIsNotTheSumOfPeaks() {
    CellProjection projection(3, 4, 1'000'000, 300'000);
    const double first[] = {10, 50, 10, 10};
    const double second[] = {10, 10, 10, 60};
    for (std::size_t step = 0; step < 4; ++step) {
        projection.setRate(0, step, Resource::Ops, first[step]);
        projection.setRate(1, step, Resource::Ops, second[step]);
        projection.setRate(2, step, Resource::Ops, 1000);
    }
    projection.setDataBytes(0, 1e6);
    projection.setDataBytes(1, 3e6);
    QCOMPARE(projection.unionPeak(0, 2)[Resource::Ops], 70.0); // step 3: 10 + 60
    QCOMPARE(projection.unionPeak(0, 1)[Resource::Ops], 50.0);
    QCOMPARE(projection.unionSeries(0, 2)[1][Resource::Ops], 60.0);
    QCOMPARE(projection.unionDataBytes(0, 2), 4e6);
    QCOMPARE(projection.unionPeak(2, 99)[Resource::Ops], 1000.0); // end is clamped
    QCOMPARE(projection.stepMs(), TimeMs(300'000));
}

QTEST_APPLESS_MAIN(TestClusterModel)
#include "tst_cluster_model.moc"
