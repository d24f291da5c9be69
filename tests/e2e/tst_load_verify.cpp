// rangepilot-load against real nodes: a verified run, a table change in the middle of a run, a
// loss the verifier must catch, a replayed trace, the token and TLS, and the flag errors.

#include "node_cluster.h"
#include "workload_generator.h"
#include "write_ledger.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QtTest>

using namespace rangepilot;
using namespace rangepilot::e2e;

namespace {

constexpr std::uint64_t kKeys = 3000;

// The scenario generator's key names: the split keys must fall inside the driver's key space.
Key scenarioKey(std::uint64_t index) {
    WorkloadOptions options;
    options.scenario = Scenario::Uniform;
    options.key_count = kKeys;
    return WorkloadGenerator(options).keyAt(index);
}

QString loadBinary() {
    return QStringLiteral(RANGEPILOT_LOAD_BINARY);
}

QString nodeList(NodeCluster& cluster) {
    QStringList addresses;
    for (int i = 0; i < cluster.size(); ++i)
        addresses << cluster.node(i).address();
    return addresses.join(QLatin1Char(','));
}

QJsonObject parseSummary(const QByteArray& standardOutput) {
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(standardOutput, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject()) {
        qWarning("not a JSON object (%s): %s", qPrintable(error.errorString()),
                 standardOutput.constData());
        return {};
    }
    return document.object();
}

qint64 integer(const QJsonObject& object, const char* path) {
    // "a.b.c": nested objects.
    QJsonValue value = object;
    for (const QString& part : QString::fromLatin1(path).split(QLatin1Char('.')))
        value = value.toObject().value(part);
    return value.toInteger(-1);
}

// Prints the driver's output when a check fails, so a red run says why.
struct DriverRun {
    ProcessOutcome outcome;
    QJsonObject summary;

    QByteArray diagnostics() const {
        return "exit " + QByteArray::number(outcome.exitCode) + "\nstdout:\n" +
               outcome.standardOutput + "\nstderr:\n" + outcome.standardError;
    }
};

DriverRun runDriver(const QStringList& arguments) {
    DriverRun run;
    run.outcome = runToCompletion(loadBinary(), arguments, 120000);
    run.summary = parseSummary(run.outcome.standardOutput);
    return run;
}

} // namespace

class TestLoadVerify : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void badFlagsExitWithTwoAndNameTheFlag_data();
    void badFlagsExitWithTwoAndNameTheFlag();
    void verifiedRunAgainstThreeNodes();
    void tableChangeMidRunIsFollowedWithoutErrors();
    void verifyDetectsAKeyDeletedBehindItsBack();
    void replaysATrace();
    void tokenAndTls();

private:
    NodeCluster m_cluster;
    bool m_started = false;
};

void TestLoadVerify::initTestCase() {
    NodeClusterOptions options;
    options.nodeCount = 3;
    options.splitKeys = {scenarioKey(kKeys / 3), scenarioKey(2 * kKeys / 3)};
    m_started = m_cluster.start(options);
    QVERIFY2(m_started, qPrintable(m_cluster.errorString()));
}

void TestLoadVerify::badFlagsExitWithTwoAndNameTheFlag_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("expected");
    const QString nodes = QStringLiteral("--nodes=127.0.0.1:1");
    QTest::newRow("no nodes") << QStringList{} << "--nodes: required";
    QTest::newRow("bad endpoint") << QStringList{QStringLiteral("--nodes=localhost")}
                                  << "--nodes: 'localhost' is not HOST:PORT";
    QTest::newRow("bad rate") << QStringList{nodes, QStringLiteral("--rate=fast")}
                              << "--rate: 'fast' is not a number";
    QTest::newRow("bad scenario") << QStringList{nodes, QStringLiteral("--scenario=tidal")}
                                  << "--scenario: 'tidal' is not one of";
    QTest::newRow("bad duration") << QStringList{nodes, QStringLiteral("--duration=soon")}
                                  << "--duration: 'soon' is not a duration";
    QTest::newRow("speed without trace")
        << QStringList{nodes, QStringLiteral("--speed=2")} << "--speed: only with --trace";
    QTest::newRow("rate with trace")
        << QStringList{nodes, QStringLiteral("--trace=x.csv"), QStringLiteral("--rate=5")}
        << "--rate: not with --trace";
    QTest::newRow("preload beyond keys")
        << QStringList{nodes, QStringLiteral("--keys=10"), QStringLiteral("--preload=11")}
        << "--preload: 11 is more than --keys (10)";
    QTest::newRow("write fraction out of range")
        << QStringList{nodes, QStringLiteral("--write-fraction=1.5")}
        << "--write-fraction: 1.5 is out of range";
    QTest::newRow("missing token file")
        << QStringList{nodes, QStringLiteral("--token-file=/nonexistent/token")}
        << "--token-file: /nonexistent/token: cannot open";
    QTest::newRow("unknown flag") << QStringList{nodes, QStringLiteral("--turbo")}
                                  << "unknown option '--turbo'";
}

void TestLoadVerify::badFlagsExitWithTwoAndNameTheFlag() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, expected);
    const ProcessOutcome outcome = runToCompletion(loadBinary(), arguments, 30000);
    QVERIFY(outcome.started);
    QCOMPARE(outcome.exitCode, 2);
    QVERIFY2(QString::fromUtf8(outcome.standardError).contains(expected),
             outcome.standardError.constData());
}

void TestLoadVerify::verifiedRunAgainstThreeNodes() {
    QVERIFY(m_started);
    const DriverRun run = runDriver(
        {QStringLiteral("--nodes"), nodeList(m_cluster), QStringLiteral("--duration=2"),
         QStringLiteral("--threads=4"), QStringLiteral("--keys=%1").arg(kKeys),
         QStringLiteral("--preload=%1").arg(kKeys), QStringLiteral("--write-fraction=0.3"),
         QStringLiteral("--verify"), QStringLiteral("--json"), QStringLiteral("--report-every=0")});
    QVERIFY2(run.outcome.exitCode == 0 && !run.summary.isEmpty(), run.diagnostics().constData());
    const QJsonObject& summary = run.summary;
    QVERIFY2(integer(summary, "ok") > 0, run.diagnostics().constData());
    QCOMPARE(integer(summary, "errors"), 0);
    QVERIFY(summary.value(QStringLiteral("throughput_ops_s")).toDouble() > 0);
    QCOMPARE(integer(summary, "preload.ok"), qint64(kKeys));
    // Every kind ran and was measured.
    for (const char* kind :
         {"latency.get.count", "latency.put.count", "latency.delete.count", "latency.scan.count"})
        QVERIFY2(integer(summary, kind) > 0, kind);
    QVERIFY(integer(summary, "latency.all.p99_us") >= integer(summary, "latency.all.p50_us"));
    QVERIFY(integer(summary, "latency.all.max_us") >= integer(summary, "latency.all.p999_us"));
    // Every preloaded key was verified, with nothing lost or stale.
    QCOMPARE(integer(summary, "verify.keys"), qint64(kKeys));
    QCOMPARE(integer(summary, "verify.lost"), 0);
    QCOMPARE(integer(summary, "verify.stale"), 0);
    QCOMPARE(integer(summary, "verify.ok"), qint64(kKeys));
    QVERIFY(run.outcome.standardError.contains("verify: 3000 keys, ok 3000, lost 0, stale 0"));
}

void TestLoadVerify::tableChangeMidRunIsFollowedWithoutErrors() {
    QVERIFY(m_started);
    const std::uint64_t epochBefore = m_cluster.table().epoch();
    QProcess driver;
    driver.start(loadBinary(),
                 {QStringLiteral("--nodes"), nodeList(m_cluster), QStringLiteral("--duration=4"),
                  QStringLiteral("--rate=1500"), QStringLiteral("--threads=4"),
                  QStringLiteral("--keys=%1").arg(kKeys), QStringLiteral("--write-fraction=0.5"),
                  QStringLiteral("--verify"), QStringLiteral("--json"),
                  QStringLiteral("--report-every=0.3")});
    driver.setReadChannel(QProcess::StandardError); // progress lines go to stderr
    QVERIFY(driver.waitForStarted(10000));
    // The first progress line means the timed run is under way; change the table then.
    QByteArray progress;
    while (!progress.contains("ops/s") && driver.waitForReadyRead(20000))
        progress += driver.readAllStandardError();
    QVERIFY2(progress.contains("ops/s"), progress.constData());

    const Shard& middle = m_cluster.table().shardFor(scenarioKey(kKeys / 2));
    auto split = m_cluster.table().split(middle.id, scenarioKey(kKeys / 2),
                                         m_cluster.table().nextFreeShardId());
    QVERIFY2(split.ok(), split.ok() ? "" : split.error().message.c_str());
    const grpc::Status installed = m_cluster.installTable(split.value());
    QVERIFY2(installed.ok(), describeStatus(installed).c_str());

    QVERIFY(driver.waitForFinished(60000));
    const QByteArray standardError = progress + driver.readAllStandardError();
    const QByteArray standardOutput = driver.readAllStandardOutput();
    const QByteArray diagnostics = standardOutput + "\n" + standardError;
    QVERIFY2(driver.exitStatus() == QProcess::NormalExit && driver.exitCode() == 0,
             diagnostics.constData());
    const QJsonObject summary = parseSummary(standardOutput);
    QVERIFY2(integer(summary, "ok") > 0, diagnostics.constData());
    QVERIFY2(integer(summary, "errors") == 0, diagnostics.constData());
    // The client met the new epoch, fetched it once for all its threads, and routed by it.
    QVERIFY2(integer(summary, "stale_epoch_retries") >= 1, diagnostics.constData());
    QCOMPARE(integer(summary, "table_refreshes"), 1);
    QCOMPARE(integer(summary, "table_epoch"), qint64(epochBefore + 1));
    QCOMPARE(integer(summary, "verify.lost"), 0);
    QCOMPARE(integer(summary, "verify.stale"), 0);
    QVERIFY(integer(summary, "verify.ok") > 0);
}

void TestLoadVerify::verifyDetectsAKeyDeletedBehindItsBack() {
    QVERIFY(m_started);
    const QString ledgerPath = m_cluster.directory() + QStringLiteral("/ledger.txt");
    const DriverRun written = runDriver(
        {QStringLiteral("--nodes"), nodeList(m_cluster), QStringLiteral("--duration=1"),
         QStringLiteral("--keys=%1").arg(kKeys), QStringLiteral("--preload=%1").arg(kKeys),
         QStringLiteral("--write-fraction=0.5"), QStringLiteral("--ledger-out"), ledgerPath,
         QStringLiteral("--json"), QStringLiteral("--report-every=0")});
    QVERIFY2(written.outcome.exitCode == 0, written.diagnostics().constData());
    QVERIFY(QFile::exists(ledgerPath));

    // Untouched, the saved ledger verifies.
    const QStringList verifyArguments{QStringLiteral("--nodes"), nodeList(m_cluster),
                                      QStringLiteral("--verify-ledger"), ledgerPath,
                                      QStringLiteral("--json")};
    const DriverRun intact = runDriver(verifyArguments);
    QVERIFY2(intact.outcome.exitCode == 0, intact.diagnostics().constData());
    QCOMPARE(integer(intact.summary, "verify.keys"), qint64(kKeys));
    QCOMPARE(integer(intact.summary, "verify.lost"), 0);
    QCOMPARE(integer(intact.summary, "verify.stale"), 0);

    // Delete one key whose newest acknowledged write is a put, straight on its owner.
    auto ledger = WriteLedger::load(ledgerPath.toStdString());
    QVERIFY2(ledger.ok(), ledger.ok() ? "" : ledger.error().message.c_str());
    std::optional<Key> victim;
    for (const Key& key : (*ledger)->keys()) {
        const auto entry = (*ledger)->entry(key);
        if (entry->acknowledged && !entry->newest.tombstone) {
            victim = key;
            break;
        }
    }
    QVERIFY(victim.has_value());
    v1::DeleteResponse deleted;
    const grpc::Status removed = m_cluster.remove(*victim, &deleted);
    QVERIFY2(removed.ok(), describeStatus(removed).c_str());
    QVERIFY(deleted.existed());

    const DriverRun broken = runDriver(verifyArguments);
    QVERIFY2(broken.outcome.exitCode == 1, broken.diagnostics().constData());
    QCOMPARE(integer(broken.summary, "verify.lost"), 1);
    QCOMPARE(integer(broken.summary, "verify.stale"), 0);
    QCOMPARE(integer(broken.summary, "verify.ok"), integer(intact.summary, "verify.ok") - 1);
    const QJsonObject problem = broken.summary.value(QStringLiteral("verify"))
                                    .toObject()
                                    .value(QStringLiteral("problems"))
                                    .toArray()
                                    .first()
                                    .toObject();
    QCOMPARE(problem.value(QStringLiteral("key")).toString(),
             QString::fromStdString(formatKey(*victim)));
    QCOMPARE(problem.value(QStringLiteral("verdict")).toString(), QStringLiteral("lost"));
    QVERIFY(broken.outcome.standardError.contains(", lost 1, stale 0"));
}

void TestLoadVerify::replaysATrace() {
    QVERIFY(m_started);
    // 300 events over 3 s of trace time, replayed at 10x: about 0.3 s.
    const QString tracePath = m_cluster.directory() + QStringLiteral("/trace.csv");
    {
        QFile trace(tracePath);
        QVERIFY(trace.open(QIODevice::WriteOnly));
        trace.write("ts,key,op,end_key,bytes\n");
        const qint64 start = 1'767'571'200'000;
        for (int i = 0; i < 300; ++i) {
            const QByteArray key = "trace-key-" + QByteArray::number(i % 40);
            const char* op = i % 3 == 0 ? "put" : (i % 29 == 0 ? "scan" : "get");
            QByteArray line = QByteArray::number(start + i * 10) + "," + key + "," + op;
            line += i % 29 == 0 ? ",trace-key-9,\n" : ",,64\n";
            trace.write(line);
        }
        trace.write("not-a-timestamp,key,get,,\n"); // a bad line is reported, not fatal
    }
    const DriverRun run =
        runDriver({QStringLiteral("--nodes"), nodeList(m_cluster), QStringLiteral("--trace"),
                   tracePath, QStringLiteral("--speed=10"), QStringLiteral("--verify"),
                   QStringLiteral("--json"), QStringLiteral("--report-every=0")});
    QVERIFY2(run.outcome.exitCode == 0, run.diagnostics().constData());
    QCOMPARE(integer(run.summary, "trace.events"), 300);
    QCOMPARE(integer(run.summary, "trace.bad_lines"), 1);
    QCOMPARE(integer(run.summary, "ops"), 300);
    QCOMPARE(integer(run.summary, "errors"), 0);
    QCOMPARE(integer(run.summary, "latency.put.count"), 100);
    QCOMPARE(integer(run.summary, "verify.keys"), 40); // keys 0, 3, 6, ... cover every i % 40
    QCOMPARE(integer(run.summary, "verify.lost"), 0);
    // The trace's timing was honoured: 3 s at 10x is not faster than 0.25 s.
    QVERIFY(run.summary.value(QStringLiteral("elapsed_s")).toDouble() >= 0.25);
}

void TestLoadVerify::tokenAndTls() {
    const bool tls = opensslAvailable();
    NodeCluster secured;
    NodeClusterOptions options;
    options.nodeCount = 2;
    options.splitKeys = {scenarioKey(kKeys / 2)};
    options.token = QStringLiteral("s3cret-token");
    options.tls = tls;
    QVERIFY2(secured.start(options), qPrintable(secured.errorString()));

    const QString tokenPath = secured.directory() + QStringLiteral("/token");
    {
        QFile token(tokenPath);
        QVERIFY(token.open(QIODevice::WriteOnly));
        token.write("s3cret-token\n"); // the trailing newline of a typical token file
    }
    QStringList common{QStringLiteral("--nodes"),
                       nodeList(secured),
                       QStringLiteral("--duration=1"),
                       QStringLiteral("--keys=%1").arg(kKeys),
                       QStringLiteral("--write-fraction=0.5"),
                       QStringLiteral("--json"),
                       QStringLiteral("--report-every=0")};
    if (tls) {
        common << QStringLiteral("--tls-ca") << secured.tlsFiles()->certificate
               << QStringLiteral("--tls-server-name=localhost");
    }

    const DriverRun allowed =
        runDriver(common + QStringList{QStringLiteral("--token-file"), tokenPath,
                                       QStringLiteral("--verify")});
    QVERIFY2(allowed.outcome.exitCode == 0, allowed.diagnostics().constData());
    QVERIFY(integer(allowed.summary, "latency.put.ok") > 0);
    QCOMPARE(integer(allowed.summary, "errors"), 0);
    QCOMPARE(integer(allowed.summary, "verify.lost"), 0);

    // Without the token the reads still work and every write is refused, counted by status.
    const DriverRun refused = runDriver(common);
    QVERIFY2(refused.outcome.exitCode == 0, refused.diagnostics().constData());
    QVERIFY(integer(refused.summary, "latency.get.ok") > 0);
    QCOMPARE(integer(refused.summary, "latency.put.ok"), 0);
    QCOMPARE(integer(refused.summary, "errors_by_status.UNAUTHENTICATED"),
             integer(refused.summary, "errors"));
    const QString example =
        refused.summary.value(QStringLiteral("error_examples")).toArray().first().toString();
    QVERIFY2(example.contains(QStringLiteral("UNAUTHENTICATED")) &&
                 example.contains(QStringLiteral("user")),
             qPrintable(example));
}

QTEST_GUILESS_MAIN(TestLoadVerify)
#include "tst_load_verify.moc"
