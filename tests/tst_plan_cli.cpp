// The rangepilot-plan command line, run as a real process: the JSON field names are a contract
// that other tools read, and error messages must name the file and line.

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

namespace {

struct Run {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

Run runPlan(const QStringList& arguments) {
    QProcess process;
    process.start(QStringLiteral(RANGEPILOT_PLAN_EXE), arguments);
    if (!process.waitForFinished(120000)) {
        process.kill();
        process.waitForFinished();
    }
    return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1,
            process.readAllStandardOutput(), process.readAllStandardError()};
}

QJsonObject parseObject(const Run& run) {
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(run.out, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject()) {
        qWarning("not a JSON object: %s\n%s", qPrintable(error.errorString()),
                 run.out.left(500).constData());
        return {};
    }
    return document.object();
}

void writeFile(const QString& path, const QByteArray& content) {
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(content);
}

// The contract of compare's `policies`: the four standard policies in order, every metric a
// non-negative number, balance (max / mean) at least 1 with p99 at least p50, and only the oracle
// marked as an upper bound. Check QTest::currentTestFailed() after the call.
void verifyStandardPolicies(const QJsonArray& policies) {
    const QStringList names{QStringLiteral("static"), QStringLiteral("reactive"),
                            QStringLiteral("predictive"), QStringLiteral("oracle")};
    QCOMPARE(policies.size(), names.size());
    for (qsizetype i = 0; i < policies.size(); ++i) {
        const QJsonObject policy = policies[i].toObject();
        QCOMPARE(policy.value(QStringLiteral("name")).toString(), names[i]);
        for (const char* field :
             {"overload_s", "overload_host_s", "sla_violation_minutes", "imbalance_p50",
              "imbalance_p99", "bytes_moved", "moves", "thrash_moves", "planner_ms_p99"}) {
            QVERIFY2(policy.value(QLatin1String(field)).isDouble(), field);
            QVERIFY2(policy.value(QLatin1String(field)).toDouble() >= 0.0, field);
        }
        QVERIFY(policy.value(QStringLiteral("imbalance_p50")).toDouble() >= 1.0);
        QVERIFY(policy.value(QStringLiteral("imbalance_p99")).toDouble() >=
                policy.value(QStringLiteral("imbalance_p50")).toDouble());
        QCOMPARE(policy.value(QStringLiteral("upper_bound")).toBool(), names[i] == names[3]);
    }
}

// The options of a small generated workload: two hours at 20 events/s, quick even in Debug.
QStringList smallScenario(const QString& scenario, const QString& seed) {
    return {QStringLiteral("--scenario"), scenario,
            QStringLiteral("--hours"),    QStringLiteral("2"),
            QStringLiteral("--rate"),     QStringLiteral("20"),
            QStringLiteral("--seed"),     seed};
}

QStringList compareJsonOn4Hosts() {
    return {QStringLiteral("compare"), QStringLiteral("--hosts"), QStringLiteral("4"),
            QStringLiteral("--json")};
}

// The result without planner_ms_p99, the one wall-clock figure.
QJsonObject withoutWallClock(QJsonObject json) {
    QJsonArray policies = json.value(QStringLiteral("policies")).toArray();
    for (qsizetype i = 0; i < policies.size(); ++i) {
        QJsonObject policy = policies[i].toObject();
        policy.remove(QStringLiteral("planner_ms_p99"));
        policies[i] = policy;
    }
    json.insert(QStringLiteral("policies"), policies);
    return json;
}

} // namespace

class TestPlanCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void generateThenAnalyzeJson();
    void forecastBacktestJson();
    void forecastWritesCsv();
    void badLinesNameFileAndLine();
    void strictModeStopsAtFirstBadLine();
    void foreignLogWithColumnMapping();
    void compareJsonContract();
    void simulateOnePolicyWithOverrides();
    void simulateForeignLogAndTimeline();
    void compareScenarioJsonContract();
    void compareScenarioIsDeterministic();
    void scenarioEqualsItsGeneratedFile_data();
    void scenarioEqualsItsGeneratedFile();
    void helpAndUsageErrors_data();
    void helpAndUsageErrors();

private:
    QTemporaryDir m_dir;
    QString m_trace;
    qint64 m_generatedEvents = 0;
};

void TestPlanCli::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_trace = m_dir.filePath(QStringLiteral("diurnal.csv"));
    const Run run =
        runPlan({QStringLiteral("generate"), QStringLiteral("--scenario"),
                 QStringLiteral("diurnal"), QStringLiteral("--hours"), QStringLiteral("60"),
                 QStringLiteral("--rate"), QStringLiteral("3"), QStringLiteral("--seed"),
                 QStringLiteral("5"), QStringLiteral("--out"), m_trace});
    QCOMPARE(run.exitCode, 0);
    QFile file(m_trace);
    QVERIFY(file.open(QIODevice::ReadOnly));
    m_generatedEvents = file.readAll().count('\n') - 1; // minus the header
    QVERIFY(m_generatedEvents > 500000);
}

void TestPlanCli::generateThenAnalyzeJson() {
    const Run run = runPlan({QStringLiteral("analyze"), m_trace, QStringLiteral("--json")});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject json = parseObject(run);
    for (const char* field : {"events", "bad_lines", "start_ms", "end_ms", "bucket_s", "cells",
                              "events_per_second", "top_cells"}) {
        QVERIFY2(json.contains(QLatin1String(field)), field);
    }
    QCOMPARE(json.value(QStringLiteral("events")).toInteger(), m_generatedEvents);
    QCOMPARE(json.value(QStringLiteral("bad_lines")).toInteger(), 0);
    QCOMPARE(json.value(QStringLiteral("bucket_s")).toDouble(), 300.0);
    QCOMPARE(json.value(QStringLiteral("start_ms")).toInteger() / 1000, 1'767'571'200);
    QVERIFY(json.value(QStringLiteral("end_ms")).toInteger() >
            json.value(QStringLiteral("start_ms")).toInteger() + 59LL * 3600 * 1000);
    QVERIFY(json.value(QStringLiteral("events_per_second")).toDouble() > 0);
    const QJsonArray top = json.value(QStringLiteral("top_cells")).toArray();
    QCOMPARE(top.size(), 10);
    qint64 previous = std::numeric_limits<qint64>::max();
    for (const QJsonValue& value : top) {
        const QJsonObject cell = value.toObject();
        for (const char* field : {"start_key", "end_key", "events", "trend", "slope_per_day"})
            QVERIFY2(cell.contains(QLatin1String(field)), field);
        const qint64 events = cell.value(QStringLiteral("events")).toInteger();
        QVERIFY(events <= previous);
        previous = events;
        const QString trend = cell.value(QStringLiteral("trend")).toString();
        QVERIFY2(trend == QStringLiteral("growing") || trend == QStringLiteral("flat") ||
                     trend == QStringLiteral("declining"),
                 qPrintable(trend));
    }
}

void TestPlanCli::forecastBacktestJson() {
    const Run run =
        runPlan({QStringLiteral("forecast"), m_trace, QStringLiteral("--backtest"),
                 QStringLiteral("--json"), QStringLiteral("--level"), QStringLiteral("ranges"),
                 QStringLiteral("--ranges"), QStringLiteral("16")});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject json = parseObject(run);
    QCOMPARE(json.value(QStringLiteral("bucket_s")).toDouble(), 300.0);
    QCOMPARE(json.value(QStringLiteral("horizon_s")).toDouble(), 3600.0);
    QCOMPARE(json.value(QStringLiteral("series")).toInt(), 16);
    const QJsonArray models = json.value(QStringLiteral("models")).toArray();
    QStringList names;
    for (const QJsonValue& value : models) {
        const QJsonObject model = value.toObject();
        names << model.value(QStringLiteral("name")).toString();
        QVERIFY(model.contains(QStringLiteral("smape")));
        QVERIFY(model.contains(QStringLiteral("mase")));
    }
    QCOMPARE(names, (QStringList{QStringLiteral("seasonal_naive"), QStringLiteral("ewma"),
                                 QStringLiteral("holt_winters"), QStringLiteral("spar"),
                                 QStringLiteral("auto")}));
    const QJsonObject chosen = json.value(QStringLiteral("chosen")).toObject();
    QCOMPARE(chosen.value(QStringLiteral("name")).toString(), QStringLiteral("auto"));
    QCOMPARE(chosen, models.last().toObject());
    // 2.5 days of history: every model can work, and seasonal naive's MASE is about 1 by
    // construction of the scale.
    QVERIFY(models.at(3).toObject().value(QStringLiteral("mase")).isDouble());
    const double naiveMase = models.at(0).toObject().value(QStringLiteral("mase")).toDouble();
    QVERIFY2(naiveMase > 0.5 && naiveMase < 2.0, qPrintable(QString::number(naiveMase)));
}

void TestPlanCli::forecastWritesCsv() {
    const QString csv = m_dir.filePath(QStringLiteral("forecast.csv"));
    const Run run = runPlan({QStringLiteral("forecast"), m_trace, QStringLiteral("--level"),
                             QStringLiteral("total"), QStringLiteral("--horizon"),
                             QStringLiteral("30m"), QStringLiteral("--forecast-out"), csv});
    QCOMPARE(run.exitCode, 0);
    QFile file(csv);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = file.readAll().trimmed().split('\n');
    QCOMPARE(lines.first(), QByteArray("series,time,projected,lo,hi"));
    QCOMPARE(lines.size(), 1 + 6); // 30 minutes of 5-minute buckets
    const QList<QByteArray> fields = lines.at(1).split(',');
    QCOMPARE(fields.size(), 5);
    QCOMPARE(fields.at(0), QByteArray("total"));
    const double projected = fields.at(2).toDouble();
    QVERIFY(fields.at(3).toDouble() <= projected && projected <= fields.at(4).toDouble());
    QVERIFY(projected > 0.5 && projected < 20); // the trace averages 3 events/s
}

void TestPlanCli::badLinesNameFileAndLine() {
    const QString path = m_dir.filePath(QStringLiteral("bad.csv"));
    writeFile(path, "ts,key,op\n1000,a,get\n1001,b,frobnicate\n1002,c,put\nxyz,d,get\n");
    const Run run = runPlan({QStringLiteral("analyze"), path, QStringLiteral("--json")});
    QCOMPARE(run.exitCode, 0);
    QCOMPARE(parseObject(run).value(QStringLiteral("bad_lines")).toInt(), 2);
    QCOMPARE(parseObject(run).value(QStringLiteral("events")).toInt(), 2);
    const QString err = QString::fromUtf8(run.err);
    QVERIFY2(err.contains(path + QStringLiteral(":3: ")), qPrintable(err));
    QVERIFY2(err.contains(path + QStringLiteral(":5: ")), qPrintable(err));
}

void TestPlanCli::strictModeStopsAtFirstBadLine() {
    const QString path = m_dir.filePath(QStringLiteral("strict.csv"));
    writeFile(path, "ts,key\n1000,a\n1001,b\n-,c\n1003,d\n");
    const Run run = runPlan({QStringLiteral("analyze"), path, QStringLiteral("--strict")});
    QCOMPARE(run.exitCode, 1);
    QVERIFY2(QString::fromUtf8(run.err).contains(path + QStringLiteral(":4: ")),
             run.err.constData());
    QVERIFY(run.out.isEmpty());
}

void TestPlanCli::foreignLogWithColumnMapping() {
    const QString path = m_dir.filePath(QStringLiteral("foreign.log"));
    writeFile(path, "time\thost\tverb\tobject\n"
                    "1731689870\tweb-1\tGET\tuser42\n"
                    "1731689871\tweb-2\tSET\tuser43\n"
                    "2024-11-15 16:57:52\tweb-1\tGET\tuser44\n");
    const Run run =
        runPlan({QStringLiteral("analyze"), path, QStringLiteral("--json"),
                 QStringLiteral("--columns"), QStringLiteral("ts=1,key=4,op=3"),
                 QStringLiteral("--no-header"), QStringLiteral("--time-unit"), QStringLiteral("s"),
                 QStringLiteral("--delimiter"), QStringLiteral("tab")});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject json = parseObject(run);
    QCOMPARE(json.value(QStringLiteral("events")).toInt(), 3);
    QCOMPARE(json.value(QStringLiteral("bad_lines")).toInt(), 0);
    QCOMPARE(json.value(QStringLiteral("start_ms")).toInteger(), 1731689870000LL);
    QCOMPARE(json.value(QStringLiteral("end_ms")).toInteger(), 1731689872000LL);
}

void TestPlanCli::compareJsonContract() {
    const Run run = runPlan({QStringLiteral("compare"), m_trace, QStringLiteral("--hosts"),
                             QStringLiteral("4"), QStringLiteral("--json")});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject json = parseObject(run);
    QCOMPARE(json.value(QStringLiteral("hosts")).toInt(), 4);
    QVERIFY(json.value(QStringLiteral("capacity_ops")).toDouble() > 0.0);
    QCOMPARE(json.value(QStringLiteral("events")).toInteger(), m_generatedEvents);
    const QJsonArray policies = json.value(QStringLiteral("policies")).toArray();
    verifyStandardPolicies(policies);
    if (QTest::currentTestFailed())
        return;
    const QJsonObject staticPolicy = policies[0].toObject();
    QCOMPARE(staticPolicy.value(QStringLiteral("moves")).toInt(), 0);
    QCOMPARE(staticPolicy.value(QStringLiteral("bytes_moved")).toDouble(), 0.0);

    // Without --json: an aligned table with the oracle labeled as a bound.
    const Run table =
        runPlan({QStringLiteral("compare"), m_trace, QStringLiteral("--hosts"), QStringLiteral("4"),
                 QStringLiteral("--policies"), QStringLiteral("static,oracle")});
    QCOMPARE(table.exitCode, 0);
    const QString text = QString::fromUtf8(table.out);
    QVERIFY2(text.contains(QStringLiteral("overload_s")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("oracle*")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("an upper bound")), qPrintable(text));
}

void TestPlanCli::simulateOnePolicyWithOverrides() {
    const Run run = runPlan({QStringLiteral("simulate"), m_trace, QStringLiteral("--policy"),
                             QStringLiteral("reactive"), QStringLiteral("--hosts"),
                             QStringLiteral("3"), QStringLiteral("--capacity-ops"),
                             QStringLiteral("0.5"), QStringLiteral("--migration-mbps"),
                             QStringLiteral("10"), QStringLiteral("--json")});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject json = parseObject(run);
    QCOMPARE(json.value(QStringLiteral("hosts")).toInt(), 3);
    QCOMPARE(json.value(QStringLiteral("capacity_ops")).toDouble(), 0.5);
    const QJsonArray policies = json.value(QStringLiteral("policies")).toArray();
    QCOMPARE(policies.size(), 1);
    QCOMPARE(policies[0].toObject().value(QStringLiteral("name")).toString(),
             QStringLiteral("reactive"));
    // 3 hosts at 0.5 ops/s against a trace of 3 ops/s on average: overloaded most of the time.
    QVERIFY(policies[0].toObject().value(QStringLiteral("overload_s")).toDouble() > 0.0);
}

void TestPlanCli::simulateForeignLogAndTimeline() {
    const QString path = m_dir.filePath(QStringLiteral("foreign-sim.log"));
    QByteArray log;
    for (int second = 0; second < 1800; ++second) {
        for (int event = 0; event < 4; ++event) {
            log += QByteArray::number(1731600000 + second) + "|GET|user" +
                   QByteArray::number((second * 7 + event * 13) % 500) + "\n";
        }
    }
    writeFile(path, log);
    const QString timeline = m_dir.filePath(QStringLiteral("timeline.csv"));
    const Run run = runPlan(
        {QStringLiteral("simulate"), path, QStringLiteral("--policy"), QStringLiteral("predictive"),
         QStringLiteral("--hosts"), QStringLiteral("2"), QStringLiteral("--columns"),
         QStringLiteral("ts=1,op=2,key=3"), QStringLiteral("--no-header"),
         QStringLiteral("--time-unit"), QStringLiteral("s"), QStringLiteral("--delimiter"),
         QStringLiteral("|"), QStringLiteral("--timeline"), timeline, QStringLiteral("--json")});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject json = parseObject(run);
    QCOMPARE(json.value(QStringLiteral("events")).toInt(), 7200);
    QCOMPARE(json.value(QStringLiteral("start_ms")).toInteger(), 1731600000000LL);
    QFile file(timeline);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = file.readAll().split('\n');
    QVERIFY(lines.front().startsWith("record,ts,policy,host,ops_per_s,utilization"));
    int loadRows = 0;
    for (const QByteArray& line : lines)
        loadRows += line.startsWith("load,") ? 1 : 0;
    QCOMPARE(loadRows, 2 * 30); // two hosts, thirty minutes
}

void TestPlanCli::compareScenarioJsonContract() {
    const Run run = runPlan(compareJsonOn4Hosts() +
                            smallScenario(QStringLiteral("hotspot-drift"), QStringLiteral("1")));
    QCOMPARE(run.exitCode, 0);
    const QJsonObject json = parseObject(run);
    QCOMPARE(json.value(QStringLiteral("trace")).toString(),
             QStringLiteral("scenario:hotspot-drift hours=2 rate=20 seed=1"));
    QCOMPARE(json.value(QStringLiteral("hosts")).toInt(), 4);
    QVERIFY(json.value(QStringLiteral("capacity_ops")).toDouble() > 0.0);
    // About 20 events/s for two hours, all generated in time order and none malformed.
    const qint64 events = json.value(QStringLiteral("events")).toInteger();
    QVERIFY2(events > 120000 && events < 170000, qPrintable(QString::number(events)));
    QCOMPARE(json.value(QStringLiteral("bad_lines")).toInteger(), 0);
    QCOMPARE(json.value(QStringLiteral("late_events")).toInteger(), 0);
    QCOMPARE(json.value(QStringLiteral("start_ms")).toInteger() / 1000, 1'767'571'200);
    QVERIFY(json.value(QStringLiteral("end_ms")).toInteger() <= 1'767'578'400'000LL);
    const QJsonArray policies = json.value(QStringLiteral("policies")).toArray();
    verifyStandardPolicies(policies);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(policies[0].toObject().value(QStringLiteral("moves")).toInt(), 0);
    // A hot range sweeping over four hosts: the reactive policy has something to move.
    QVERIFY(policies[1].toObject().value(QStringLiteral("moves")).toInt() > 0);

    // The table's header names the scenario where a trace's path would be.
    const Run table = runPlan(QStringList{QStringLiteral("simulate"), QStringLiteral("--policy"),
                                          QStringLiteral("static")} +
                              smallScenario(QStringLiteral("hotspot_drift"), QStringLiteral("1")));
    QCOMPARE(table.exitCode, 0);
    const QString text = QString::fromUtf8(table.out);
    QVERIFY2(text.startsWith(
                 QStringLiteral("Trace     scenario:hotspot-drift hours=2 rate=20 seed=1: ")),
             qPrintable(text));
}

void TestPlanCli::compareScenarioIsDeterministic() {
    const QStringList arguments =
        compareJsonOn4Hosts() + smallScenario(QStringLiteral("flash-crowd"), QStringLiteral("9"));
    const Run first = runPlan(arguments);
    const Run second = runPlan(arguments);
    QCOMPARE(first.exitCode, 0);
    QCOMPARE(second.exitCode, 0);
    const QJsonObject firstJson = withoutWallClock(parseObject(first));
    QVERIFY(!firstJson.isEmpty());
    QCOMPARE(withoutWallClock(parseObject(second)), firstJson);

    // --seed seeds the generator too: another seed, other events (one policy is enough to see).
    const Run other = runPlan(compareJsonOn4Hosts() +
                              smallScenario(QStringLiteral("flash-crowd"), QStringLiteral("10")) +
                              QStringList{QStringLiteral("--policies"), QStringLiteral("static")});
    QCOMPARE(other.exitCode, 0);
    const QJsonObject otherJson = parseObject(other);
    QCOMPARE(otherJson.value(QStringLiteral("trace")).toString(),
             QStringLiteral("scenario:flash-crowd hours=2 rate=20 seed=10"));
    QVERIFY(otherJson.value(QStringLiteral("events")).toInteger() !=
                firstJson.value(QStringLiteral("events")).toInteger() ||
            otherJson.value(QStringLiteral("start_ms")).toInteger() !=
                firstJson.value(QStringLiteral("start_ms")).toInteger());
}

void TestPlanCli::scenarioEqualsItsGeneratedFile_data() {
    QTest::addColumn<QString>("scenario");
    QTest::addColumn<QString>("seed");
    QTest::newRow("hotspot-drift") << QStringLiteral("hotspot-drift") << QStringLiteral("3");
    QTest::newRow("random-jumps") << QStringLiteral("random-jumps") << QStringLiteral("4");
}

void TestPlanCli::scenarioEqualsItsGeneratedFile() {
    QFETCH(QString, scenario);
    QFETCH(QString, seed);
    const QStringList workload = smallScenario(scenario, seed);
    const QString path = m_dir.filePath(scenario + QStringLiteral(".csv"));
    const Run generated =
        runPlan(QStringList{QStringLiteral("generate"), QStringLiteral("--out"), path} + workload);
    QCOMPARE(generated.exitCode, 0);

    // The same --seed seeds the layout sample in both runs, and the generator in the second.
    const Run fromFile =
        runPlan(compareJsonOn4Hosts() + QStringList{path, QStringLiteral("--seed"), seed});
    const Run inProcess = runPlan(compareJsonOn4Hosts() + workload);
    QCOMPARE(fromFile.exitCode, 0);
    QCOMPARE(inProcess.exitCode, 0);
    const QJsonObject file = parseObject(fromFile);
    const QJsonObject generatedJson = parseObject(inProcess);
    QCOMPARE(file.value(QStringLiteral("trace")).toString(), path);
    for (const char* field : {"events", "start_ms", "end_ms", "capacity_ops"})
        QCOMPARE(generatedJson.value(QLatin1String(field)), file.value(QLatin1String(field)));
    const QJsonArray filePolicies = file.value(QStringLiteral("policies")).toArray();
    const QJsonArray generatedPolicies = generatedJson.value(QStringLiteral("policies")).toArray();
    QCOMPARE(generatedPolicies.size(), 4);
    QCOMPARE(generatedPolicies.size(), filePolicies.size());
    qint64 moves = 0;
    for (qsizetype i = 0; i < filePolicies.size(); ++i) {
        const QJsonObject expected = filePolicies[i].toObject();
        const QJsonObject actual = generatedPolicies[i].toObject();
        for (const char* field : {"name", "overload_s", "bytes_moved", "moves"}) {
            QVERIFY2(actual.value(QLatin1String(field)) == expected.value(QLatin1String(field)),
                     qPrintable(expected.value(QStringLiteral("name")).toString() +
                                QLatin1Char(' ') + QLatin1String(field)));
        }
        moves += actual.value(QStringLiteral("moves")).toInteger();
    }
    QVERIFY(moves > 0); // the policies acted, so their moves are compared too
}

void TestPlanCli::helpAndUsageErrors_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message");
    QTest::newRow("help") << QStringList{QStringLiteral("--help")} << 0
                          << QStringLiteral("Commands");
    for (const char* command : {"generate", "analyze", "forecast", "simulate", "compare"}) {
        QTest::addRow("%s --help", command)
            << QStringList{QLatin1String(command), QStringLiteral("--help")} << 0
            << QStringLiteral("Usage: rangepilot-plan ") + QLatin1String(command);
    }
    QTest::newRow("unknown command")
        << QStringList{QStringLiteral("frob")} << 2 << QStringLiteral("unknown command 'frob'");
    QTest::newRow("unknown option")
        << QStringList{QStringLiteral("analyze"), QStringLiteral("x.csv"), QStringLiteral("--frob")}
        << 2 << QStringLiteral("unknown option '--frob'");
    QTest::newRow("bad scenario") << QStringList{QStringLiteral("generate"),
                                                 QStringLiteral("--scenario"),
                                                 QStringLiteral("nope")}
                                  << 2 << QStringLiteral("--scenario: 'nope'");
    QTest::newRow("bad columns") << QStringList{QStringLiteral("analyze"), QStringLiteral("x.csv"),
                                                QStringLiteral("--columns"),
                                                QStringLiteral("kye=2")}
                                 << 2 << QStringLiteral("--columns");
    QTest::newRow("missing file") << QStringList{QStringLiteral("analyze"),
                                                 QStringLiteral("/nonexistent/trace.csv")}
                                  << 1 << QStringLiteral("/nonexistent/trace.csv");
    QTest::newRow("bad model") << QStringList{QStringLiteral("forecast"), QStringLiteral("x.csv"),
                                              QStringLiteral("--model"), QStringLiteral("arima")}
                               << 2 << QStringLiteral("--model: 'arima'");
    QTest::newRow("unknown policy")
        << QStringList{QStringLiteral("simulate"), QStringLiteral("x.csv"),
                       QStringLiteral("--policy"), QStringLiteral("psychic")}
        << 2 << QStringLiteral("unknown policy 'psychic' (static, reactive, predictive, oracle)");
    QTest::newRow("simulate from stdin")
        << QStringList{QStringLiteral("compare"), QStringLiteral("-")} << 2
        << QStringLiteral("TRACE must be a file, not '-'");
    QTest::newRow("trace and scenario")
        << QStringList{QStringLiteral("simulate"), QStringLiteral("x.csv"),
                       QStringLiteral("--scenario"), QStringLiteral("growth")}
        << 2 << QStringLiteral("give either a TRACE file or --scenario NAME, not both");
    QTest::newRow("neither trace nor scenario")
        << QStringList{QStringLiteral("compare"), QStringLiteral("--hosts"), QStringLiteral("4")}
        << 2 << QStringLiteral("expects a TRACE file or --scenario NAME");
    QTest::newRow("compare unknown scenario")
        << QStringList{QStringLiteral("compare"), QStringLiteral("--scenario"),
                       QStringLiteral("nope")}
        << 2
        << QStringLiteral("--scenario: 'nope' is not one of uniform, diurnal, hotspot-drift, "
                          "growth, flash-crowd, random-jumps");
    QTest::newRow("rate without scenario")
        << QStringList{QStringLiteral("compare"), QStringLiteral("x.csv"), QStringLiteral("--rate"),
                       QStringLiteral("50")}
        << 2 << QStringLiteral("--rate applies only with --scenario NAME");
    QTest::newRow("hours without scenario")
        << QStringList{QStringLiteral("simulate"), QStringLiteral("x.csv"),
                       QStringLiteral("--hours"), QStringLiteral("2")}
        << 2 << QStringLiteral("--hours applies only with --scenario NAME");
    QTest::newRow("column mapping with scenario")
        << QStringList{QStringLiteral("compare"), QStringLiteral("--scenario"),
                       QStringLiteral("growth"), QStringLiteral("--columns"),
                       QStringLiteral("ts=1,key=2")}
        << 2 << QStringLiteral("--columns applies only to a TRACE file, not with --scenario");
    QTest::newRow("scenario rate out of range")
        << QStringList{QStringLiteral("compare"), QStringLiteral("--scenario"),
                       QStringLiteral("growth"), QStringLiteral("--rate"), QStringLiteral("0")}
        << 2 << QStringLiteral("--rate: 0 is out of range");
    QTest::newRow("simulate missing file")
        << QStringList{QStringLiteral("compare"), QStringLiteral("/nonexistent/t.csv")} << 1
        << QStringLiteral("/nonexistent/t.csv");
}

void TestPlanCli::helpAndUsageErrors() {
    QFETCH(QStringList, arguments);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    const Run run = runPlan(arguments);
    QCOMPARE(run.exitCode, exitCode);
    const QString output = QString::fromUtf8(exitCode == 0 ? run.out : run.err);
    QVERIFY2(output.contains(message), qPrintable(output));
}

QTEST_GUILESS_MAIN(TestPlanCli)
#include "tst_plan_cli.moc"
