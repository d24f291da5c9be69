#include <QtTest>
class TestGrpcClusterConnector : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void placeholder() { QFAIL("not written yet"); }
};
QTEST_GUILESS_MAIN(TestGrpcClusterConnector)
#include "tst_grpc_cluster_connector.moc"
