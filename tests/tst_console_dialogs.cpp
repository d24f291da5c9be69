#include "auto_apply_dialog.h"
#include "column_mapping_dialog.h"
#include "connection_dialog.h"
#include "schedule_dialog.h"
#include "timestamp.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTimeEdit>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimeEdit>
#include <QtTest>

using namespace rangepilot;

namespace {

// 2026-01-05 12:34:56.789 UTC: a Monday, in the simulated workload's first day.
constexpr TimeMs kClusterNow = 1'767'571'200'000 + 12 * kMsPerHour + 34 * kMsPerMinute + 56'789;

TimeMs utc(int year, int month, int day, int hour, int minute) {
    return QDateTime(QDate(year, month, day), QTime(hour, minute), Qt::UTC).toMSecsSinceEpoch();
}

template <typename T>
T* child(QWidget& parent, const char* name) {
    T* widget = parent.findChild<T*>(QString::fromLatin1(name));
    if (widget == nullptr)
        qWarning("no child %s", name);
    return widget;
}

QPushButton* okButton(QWidget& dialog) {
    return dialog.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok);
}

QString cellText(QTableWidget* table, int row, int column) {
    const QTableWidgetItem* item = table->item(row, column);
    return item ? item->text() : QString();
}

// The preview row showing physical line `line`, or -1.
int previewRowOf(QTableWidget* table, int line) {
    for (int row = 0; row < table->rowCount(); ++row) {
        if (cellText(table, row, 0) == QString::number(line))
            return row;
    }
    return -1;
}

void writeFile(const QString& path, const QByteArray& bytes) {
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(bytes);
}

// A foreign log: semicolons, a header, seconds; line 4 has a bad timestamp, line 5 is blank.
const QByteArray kForeignLog = "time;user;action;size;lat\n"
                               "1767571200;user17;SET;512;250\n"
                               "1767571201.5;user18;GET;128;90\n"
                               "yesterday;user19;GET;64;80\n"
                               "\n"
                               "1767571203;user20;DEL;0;40\n";

// Tab-separated, no header, milliseconds in the third field.
const QByteArray kTabLog = "GET\tuser42\t1767571200123\t10.0.0.1\n"
                           "PUT\tuser43\t1767571200456\t10.0.0.2\n";

const QByteArray kOurTrace = "ts,key,op,bytes\n"
                             "1767571200000,user1,get,100\n"
                             "1767571200005,user2,put,900\n";

} // namespace

class TestConsoleDialogs : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();

    void scheduleDefaultsToAnHourAfterClusterNow();
    void scheduleRefusesThePast_data();
    void scheduleRefusesThePast();
    void scheduleIntoTheNextMaintenanceWindow_data();
    void scheduleIntoTheNextMaintenanceWindow();
    void scheduleWithoutAWindow();

    void autoApplyIsOffWithFieldsDisabled();
    void autoApplyRoundTrips_data();
    void autoApplyRoundTrips();
    void autoApplyEditsThroughTheWidgets();

    void connectionRoundTrips_data();
    void connectionRoundTrips();
    void connectionDrivesTheSimulatedFields();
    void connectionChecksTheTraceFile();
    void connectionMapsAForeignLog();
    void connectionOffersRecentTraces();
    void connectionAcceptRechecksTheFile();
    void connectionChecksTheNodeFields_data();
    void connectionChecksTheNodeFields();
    void connectionToNodesThroughTheWidgets();
    void connectionNodesAcceptRechecksTheFiles();

    void mappingGuessesAndPreviews();
    void mappingPreviewUpdatesLive();
    void mappingGuessesWithoutAHeader();
    void mappingTakesAndAppliesSettings();
    void mappingRefusesAnUnreadableFile();

    void screenshots();

private:
    QString path(const char* name) const { return m_dir.filePath(QString::fromLatin1(name)); }

    QTemporaryDir m_dir;
};

void TestConsoleDialogs::initTestCase() {
    QVERIFY(m_dir.isValid());
    writeFile(path("foreign.log"), kForeignLog);
    writeFile(path("tabs.log"), kTabLog);
    writeFile(path("ours.csv"), kOurTrace);
    writeFile(path("ca.pem"), "-----BEGIN CERTIFICATE-----\n");
    writeFile(path("token"), "s3cret\n");
    QVERIFY(QDir(m_dir.path()).mkdir(QStringLiteral("folder.csv")));
}

// --- ScheduleDialog ------------------------------------------------------------------------------

void TestConsoleDialogs::scheduleDefaultsToAnHourAfterClusterNow() {
    ScheduleDialog dialog(kClusterNow, std::nullopt, QStringLiteral("move [a, b) to host-3"));
    dialog.show();
    QCOMPARE(dialog.windowTitle(), QStringLiteral("Schedule move [a, b) to host-3"));
    auto* at = child<QRadioButton>(dialog, "atRadio");
    auto* edit = child<QDateTimeEdit>(dialog, "atEdit");
    QVERIFY(at && edit);
    QVERIFY(at->isChecked());
    // 13:34:56.789 rounded up to the minute.
    QCOMPARE(dialog.scheduledAt(), utc(2026, 1, 5, 13, 35));
    QCOMPARE(edit->text(), QStringLiteral("2026-01-05 13:35 UTC"));
    QVERIFY(okButton(dialog)->isEnabled());
    QVERIFY(dialog.problem().isEmpty());
    QVERIFY(child<QLabel>(dialog, "clusterNowLabel")->text().contains(QStringLiteral("12:34")));
}

void TestConsoleDialogs::scheduleRefusesThePast_data() {
    QTest::addColumn<TimeMs>("clusterNow");
    // Cluster clocks far from today's: the past is the cluster's past, never the wall clock's.
    QTest::newRow("2026") << kClusterNow;
    QTest::newRow("2031") << utc(2031, 6, 1, 8, 0) + 30'000;
    QTest::newRow("1999") << utc(1999, 12, 31, 23, 30);
}

void TestConsoleDialogs::scheduleRefusesThePast() {
    QFETCH(TimeMs, clusterNow);
    ScheduleDialog dialog(clusterNow, std::nullopt, QStringLiteral("the move"));
    dialog.show();
    auto* edit = child<QDateTimeEdit>(dialog, "atEdit");
    auto* error = child<QLabel>(dialog, "errorLabel");
    QVERIFY(edit && error);
    const TimeMs minute = floorDiv(clusterNow, kMsPerMinute) * kMsPerMinute;

    edit->setDateTime(QDateTime::fromMSecsSinceEpoch(minute - kMsPerHour, Qt::UTC));
    QVERIFY(!okButton(dialog)->isEnabled());
    QVERIFY(!error->isHidden());
    QVERIFY2(error->text().contains(QStringLiteral("has passed")), qPrintable(error->text()));

    // Earlier in the current minute is still the past.
    if (minute < clusterNow) {
        edit->setDateTime(QDateTime::fromMSecsSinceEpoch(minute, Qt::UTC));
        QVERIFY(!okButton(dialog)->isEnabled());
    }

    edit->setDateTime(QDateTime::fromMSecsSinceEpoch(minute + kMsPerMinute, Qt::UTC));
    QVERIFY(okButton(dialog)->isEnabled());
    QVERIFY(error->isHidden());
    QCOMPARE(dialog.scheduledAt(), minute + kMsPerMinute);
}

void TestConsoleDialogs::scheduleIntoTheNextMaintenanceWindow_data() {
    QTest::addColumn<TimeMs>("clusterNow");
    QTest::addColumn<int>("startMinute");
    QTest::addColumn<int>("endMinute");
    QTest::addColumn<TimeMs>("opening");
    QTest::addColumn<QString>("text");
    QTest::newRow("tomorrow") << kClusterNow << 2 * 60 << 5 * 60 << utc(2026, 1, 6, 2, 0)
                              << QStringLiteral("02:00\u201305:00 UTC, opens 2026-01-06 02:00 UTC");
    QTest::newRow("later today") << utc(2026, 1, 5, 21, 59) << 22 * 60 << 6 * 60
                                 << utc(2026, 1, 5, 22, 0)
                                 << QStringLiteral("22:00\u201306:00 UTC, opens 2026-01-05 22:00");
    QTest::newRow("open now") << utc(2026, 1, 5, 3, 10) + 500 << 2 * 60 << 5 * 60
                              << utc(2026, 1, 5, 3, 10) + 500 << QStringLiteral("open now");
    QTest::newRow("open now, wrapped") << utc(2026, 1, 6, 1, 0) << 22 * 60 << 6 * 60
                                       << utc(2026, 1, 6, 1, 0) << QStringLiteral("open now");
}

void TestConsoleDialogs::scheduleIntoTheNextMaintenanceWindow() {
    QFETCH(TimeMs, clusterNow);
    QFETCH(int, startMinute);
    QFETCH(int, endMinute);
    QFETCH(TimeMs, opening);
    QFETCH(QString, text);
    ScheduleDialog dialog(clusterNow, DailyWindow{startMinute, endMinute},
                          QStringLiteral("the move"));
    dialog.show();
    auto* window = child<QRadioButton>(dialog, "windowRadio");
    auto* edit = child<QDateTimeEdit>(dialog, "atEdit");
    QVERIFY(window && edit);
    QVERIFY(window->isEnabled());
    QVERIFY2(window->text().contains(text), qPrintable(window->text()));
    QVERIFY(child<QLabel>(dialog, "windowNote")->isHidden());
    QTest::mouseClick(window, Qt::LeftButton);
    QVERIFY(window->isChecked());
    QVERIFY(dialog.inMaintenanceWindow());
    QVERIFY(!edit->isEnabled());
    QCOMPARE(dialog.scheduledAt(), opening);
    QVERIFY(okButton(dialog)->isEnabled());
    // Back to "At": the time edit counts again.
    QTest::mouseClick(child<QRadioButton>(dialog, "atRadio"), Qt::LeftButton);
    QVERIFY(!dialog.inMaintenanceWindow());
    QVERIFY(edit->isEnabled());
    QCOMPARE(dialog.scheduledAt(), edit->dateTime().toMSecsSinceEpoch());
}

void TestConsoleDialogs::scheduleWithoutAWindow() {
    ScheduleDialog dialog(kClusterNow, std::nullopt, QStringLiteral("the move"));
    dialog.show();
    auto* window = child<QRadioButton>(dialog, "windowRadio");
    auto* note = child<QLabel>(dialog, "windowNote");
    QVERIFY(window && note);
    QVERIFY(!window->isEnabled());
    QVERIFY(!note->isHidden());
    QVERIFY(note->text().contains(QStringLiteral("No maintenance window")));
    QTest::mouseClick(window, Qt::LeftButton);
    QVERIFY(!window->isChecked());
    QVERIFY(!dialog.inMaintenanceWindow());
    QCOMPARE(dialog.scheduledAt(), utc(2026, 1, 5, 13, 35));
}

// --- AutoApplyDialog -----------------------------------------------------------------------------

void TestConsoleDialogs::autoApplyIsOffWithFieldsDisabled() {
    AutoApplyDialog dialog{AutoApplyGuardrails{}};
    auto* enabled = child<QCheckBox>(dialog, "enabledCheck");
    auto* moves = child<QSpinBox>(dialog, "maxMovesSpin");
    auto* megabytes = child<QDoubleSpinBox>(dialog, "maxMegabytesPerHourSpin");
    auto* gain = child<QDoubleSpinBox>(dialog, "minGainSpin");
    auto* quiet = child<QCheckBox>(dialog, "quietHoursCheck");
    auto* quietStart = child<QTimeEdit>(dialog, "quietStartEdit");
    auto* quietEnd = child<QTimeEdit>(dialog, "quietEndEdit");
    QVERIFY(enabled && moves && megabytes && gain && quiet && quietStart && quietEnd);
    QVERIFY(!enabled->isChecked());
    QVERIFY(!child<QLabel>(dialog, "explanationLabel")->text().isEmpty());
    for (QWidget* field :
         std::initializer_list<QWidget*>{moves, megabytes, gain, quiet, quietStart, quietEnd})
        QVERIFY2(!field->isEnabled(), qPrintable(field->objectName()));
    QCOMPARE(dialog.guardrails(), AutoApplyGuardrails{});
    QCOMPARE(moves->value(), 2);
    QCOMPARE(megabytes->value(), 2000.0);
    QCOMPARE(gain->value(), 5.0);

    QTest::mouseClick(enabled, Qt::LeftButton);
    QVERIFY(enabled->isChecked());
    for (QWidget* field : std::initializer_list<QWidget*>{moves, megabytes, gain, quiet})
        QVERIFY2(field->isEnabled(), qPrintable(field->objectName()));
    QVERIFY(!quietStart->isEnabled()); // quiet hours still off
    QTest::mouseClick(quiet, Qt::LeftButton);
    QVERIFY(quietStart->isEnabled() && quietEnd->isEnabled());
    QVERIFY(dialog.guardrails().enabled);
    QCOMPARE(dialog.guardrails().quiet_hours, (std::optional<DailyWindow>(DailyWindow{1320, 360})));

    QTest::mouseClick(enabled, Qt::LeftButton);
    QVERIFY(!quiet->isEnabled() && !quietStart->isEnabled() && !moves->isEnabled());
}

void TestConsoleDialogs::autoApplyRoundTrips_data() {
    QTest::addColumn<bool>("enabled");
    QTest::addColumn<int>("moves");
    QTest::addColumn<double>("bytesPerHour");
    QTest::addColumn<int>("quietStart"); // -1: none
    QTest::addColumn<int>("quietEnd");
    QTest::addColumn<double>("minGain");
    QTest::newRow("defaults") << false << 2 << 2e9 << -1 << -1 << 0.05;
    QTest::newRow("on, odd figures")
        << true << 7 << 1'234'567.0 << 23 * 60 + 15 << 4 * 60 + 45 << 0.0375;
    QTest::newRow("off, with quiet hours") << false << 1 << 5e8 << 60 << 3 * 60 << 0.0;
    QTest::newRow("on, no gain floor") << true << 9999 << 1e13 << -1 << -1 << 1.0;
}

void TestConsoleDialogs::autoApplyRoundTrips() {
    QFETCH(bool, enabled);
    QFETCH(int, moves);
    QFETCH(double, bytesPerHour);
    QFETCH(int, quietStart);
    QFETCH(int, quietEnd);
    QFETCH(double, minGain);
    AutoApplyGuardrails guardrails;
    guardrails.enabled = enabled;
    guardrails.max_concurrent_moves = static_cast<std::size_t>(moves);
    guardrails.max_bytes_per_hour = bytesPerHour;
    if (quietStart >= 0)
        guardrails.quiet_hours = DailyWindow{quietStart, quietEnd};
    guardrails.min_gain = minGain;
    QVERIFY(validate(guardrails).ok());

    AutoApplyDialog dialog(guardrails);
    QCOMPARE(dialog.guardrails(), guardrails);
    QVERIFY(validate(dialog.guardrails()).ok());
    QCOMPARE(child<QCheckBox>(dialog, "enabledCheck")->isChecked(), enabled);
    QCOMPARE(child<QSpinBox>(dialog, "maxMovesSpin")->isEnabled(), enabled);
    QVERIFY(okButton(dialog)->isEnabled());
}

void TestConsoleDialogs::autoApplyEditsThroughTheWidgets() {
    AutoApplyDialog dialog{AutoApplyGuardrails{}};
    dialog.show();
    QTest::mouseClick(child<QCheckBox>(dialog, "enabledCheck"), Qt::LeftButton);

    auto* moves = child<QSpinBox>(dialog, "maxMovesSpin");
    moves->selectAll();
    QTest::keyClicks(moves, QStringLiteral("4"));
    QCOMPARE(moves->value(), 4);
    auto* megabytes = child<QDoubleSpinBox>(dialog, "maxMegabytesPerHourSpin");
    megabytes->selectAll();
    QTest::keyClicks(megabytes, QStringLiteral("750"));
    QCOMPARE(megabytes->value(), 750.0);
    child<QDoubleSpinBox>(dialog, "minGainSpin")->setValue(12.5);

    auto* quietStart = child<QTimeEdit>(dialog, "quietStartEdit");
    auto* quietEnd = child<QTimeEdit>(dialog, "quietEndEdit");
    QTest::mouseClick(child<QCheckBox>(dialog, "quietHoursCheck"), Qt::LeftButton);
    quietStart->setTime(QTime(1, 0));
    quietEnd->setTime(QTime(1, 0));
    QVERIFY(!okButton(dialog)->isEnabled());
    QVERIFY(!child<QLabel>(dialog, "errorLabel")->isHidden());
    QVERIFY(dialog.problem().contains(QStringLiteral("same minute")));
    quietEnd->setTime(QTime(3, 30));
    QVERIFY(okButton(dialog)->isEnabled());
    QVERIFY(child<QLabel>(dialog, "errorLabel")->isHidden());

    AutoApplyGuardrails expected;
    expected.enabled = true;
    expected.max_concurrent_moves = 4;
    expected.max_bytes_per_hour = 7.5e8;
    expected.min_gain = 0.125;
    expected.quiet_hours = DailyWindow{60, 210};
    QCOMPARE(dialog.guardrails(), expected);
    QVERIFY(validate(dialog.guardrails()).ok());
}

// --- ConnectionDialog ----------------------------------------------------------------------------

void TestConsoleDialogs::connectionRoundTrips_data() {
    QTest::addColumn<bool>("defaults");
    QTest::addColumn<int>("kind");
    QTest::newRow("defaults") << true << static_cast<int>(ConnectorKind::Simulated);
    QTest::newRow("everything set, trace") << false << static_cast<int>(ConnectorKind::TraceReplay);
    QTest::newRow("everything set, nodes") << false << static_cast<int>(ConnectorKind::NodeCluster);
}

void TestConsoleDialogs::connectionRoundTrips() {
    QFETCH(bool, defaults);
    QFETCH(int, kind);
    ConnectionSettings settings;
    settings.kind = static_cast<ConnectorKind>(kind);
    if (!defaults) {
        settings.simulated.scenario = Scenario::RandomJumps;
        settings.simulated.hours = 36.5;
        settings.simulated.rate_eps = 2500;
        settings.simulated.seed = 18'446'744'073'709'551'615ull;
        settings.simulated.hosts = 12;
        settings.simulated.shards_per_host = 3;
        settings.simulated.cells = 4096;
        settings.simulated.speed = kAsFastAsPossible;
        settings.trace.path = path("foreign.log");
        settings.trace.foreign = true;
        settings.trace.columns = QStringLiteral("ts=1,key=2,op=3");
        settings.trace.header = true;
        settings.trace.time_unit = TimeUnit::Seconds;
        settings.trace.delimiter = u';';
        settings.trace.hosts = 5;
        settings.trace.speed = 250;
        settings.nodes.endpoints = {QStringLiteral("127.0.0.1:7401"), QStringLiteral("[::1]:7402")};
        settings.nodes.store_path = path("ownership.json");
        settings.nodes.tls_ca = path("ca.pem");
        settings.nodes.tls_server_name = QStringLiteral("nodes.test"); // not shown, but kept
        settings.nodes.token_file = path("token");
        settings.nodes.cells = 1024; // not shown, but kept
        settings.nodes.copy_mb_per_s = 12.5;
    }
    ConnectionDialog dialog(settings, {});
    QCOMPARE(dialog.findChild<QStackedWidget*>()->currentIndex(), kind);
    QCOMPARE(dialog.settings().simulated, settings.simulated);
    QCOMPARE(dialog.settings().trace, settings.trace);
    QCOMPARE(dialog.settings().nodes, settings.nodes);
    QCOMPARE(dialog.settings(), settings);
    QVERIFY2(okButton(dialog)->isEnabled(), qPrintable(dialog.problem()));
}

void TestConsoleDialogs::connectionDrivesTheSimulatedFields() {
    ConnectionDialog dialog(ConnectionSettings{}, {});
    dialog.show();
    auto* scenario = child<QComboBox>(dialog, "scenarioCombo");
    QVERIFY(scenario);
    QCOMPARE(scenario->count(), static_cast<int>(allScenarios().size()));
    QCOMPARE(scenario->currentText(), QStringLiteral("hotspot-drift"));
    scenario->setCurrentIndex(scenario->findText(QStringLiteral("growth")));
    QVERIFY(child<QLabel>(dialog, "scenarioDescription")->text().contains(QStringLiteral("grows")));

    auto* hosts = child<QSpinBox>(dialog, "hostsSpin");
    hosts->selectAll();
    QTest::keyClicks(hosts, QStringLiteral("16"));
    auto* speed = child<QDoubleSpinBox>(dialog, "speedSpin");
    QVERIFY(speed->isEnabled());
    QTest::mouseClick(child<QCheckBox>(dialog, "fastestCheck"), Qt::LeftButton);
    QVERIFY(!speed->isEnabled());

    auto* seed = child<QLineEdit>(dialog, "seedEdit");
    seed->clear();
    QVERIFY(!okButton(dialog)->isEnabled());
    QVERIFY2(dialog.problem().contains(QStringLiteral("seed")), qPrintable(dialog.problem()));
    QVERIFY(!child<QLabel>(dialog, "errorLabel")->isHidden());
    QTest::keyClicks(seed, QStringLiteral("4x2")); // the x is refused by the validator
    QCOMPARE(seed->text(), QStringLiteral("42"));
    QVERIFY(okButton(dialog)->isEnabled());

    const SimulatedSettings simulated = dialog.settings().simulated;
    QCOMPARE(simulated.scenario, Scenario::Growth);
    QCOMPARE(simulated.hosts, 16);
    QCOMPARE(simulated.speed, kAsFastAsPossible);
    QCOMPARE(simulated.seed, std::uint64_t{42});
    QCOMPARE(dialog.settings().kind, ConnectorKind::Simulated);
}

void TestConsoleDialogs::connectionChecksTheTraceFile() {
    ConnectionDialog dialog(ConnectionSettings{}, {});
    dialog.show();
    QTest::mouseClick(child<QRadioButton>(dialog, "traceRadio"), Qt::LeftButton);
    QCOMPARE(dialog.findChild<QStackedWidget*>()->currentIndex(), 1);
    QCOMPARE(dialog.settings().kind, ConnectorKind::TraceReplay);
    auto* edit = child<QLineEdit>(dialog, "tracePathEdit");
    auto* error = child<QLabel>(dialog, "errorLabel");
    QVERIFY(edit && error);

    const auto refuses = [&](const QString& file, const QString& reason) {
        edit->setText(file);
        if (okButton(dialog)->isEnabled() || !dialog.problem().contains(reason) ||
            error->isHidden() || error->text() != dialog.problem())
            return QStringLiteral("%1: ok=%2, problem '%3'")
                .arg(file)
                .arg(okButton(dialog)->isEnabled())
                .arg(dialog.problem());
        return QString();
    };
    QCOMPARE(refuses(QString(), QStringLiteral("Choose a trace file")), QString());
    QCOMPARE(refuses(path("missing.csv"), QStringLiteral("No such file")), QString());
    QCOMPARE(refuses(path("folder.csv"), QStringLiteral("folder")), QString());
    // A foreign log read as our format: line 1 is not our header.
    QCOMPARE(refuses(path("tabs.log"), QStringLiteral("Foreign log")), QString());
    QVERIFY(dialog.problem().contains(QStringLiteral("missing column")));

    const QString locked = path("locked.csv");
    writeFile(locked, kOurTrace);
    QFile::setPermissions(locked, QFileDevice::WriteOwner);
    if (!QFile(locked).open(QIODevice::ReadOnly)) // root reads anything
        QCOMPARE(refuses(locked, QStringLiteral("Cannot read")), QString());

    edit->setText(path("ours.csv"));
    QVERIFY2(okButton(dialog)->isEnabled(), qPrintable(dialog.problem()));
    QVERIFY(error->isHidden());
    QCOMPARE(dialog.settings().trace.path, path("ours.csv"));
    QVERIFY(!dialog.settings().trace.foreign);
    QVERIFY(!child<QPushButton>(dialog, "columnMappingButton")->isEnabled());
}

void TestConsoleDialogs::connectionMapsAForeignLog() {
    ConnectionSettings settings;
    settings.kind = ConnectorKind::TraceReplay;
    settings.trace.path = path("foreign.log");
    ConnectionDialog dialog(settings, {});
    dialog.show();
    QVERIFY(!okButton(dialog)->isEnabled()); // read as our format, line 1 is not our header
    QTest::mouseClick(child<QRadioButton>(dialog, "foreignRadio"), Qt::LeftButton);
    QVERIFY(!okButton(dialog)->isEnabled());
    QVERIFY2(dialog.problem().contains(QStringLiteral("Column mapping")),
             qPrintable(dialog.problem()));
    auto* mappingButton = child<QPushButton>(dialog, "columnMappingButton");
    QVERIFY(mappingButton->isEnabled());

    QTest::mouseClick(mappingButton, Qt::LeftButton);
    auto* mapping = dialog.findChild<ColumnMappingDialog*>();
    QVERIFY(mapping);
    QVERIFY(mapping->isVisible());
    QCOMPARE(mapping->columnsSpec(), QStringLiteral("ts=1,key=2,op=3,bytes=4,latency_us=5"));
    QTest::mouseClick(okButton(*mapping), Qt::LeftButton);
    QVERIFY(!mapping->isVisible());

    QVERIFY2(okButton(dialog)->isEnabled(), qPrintable(dialog.problem()));
    const TraceSettings trace = dialog.settings().trace;
    QVERIFY(trace.foreign);
    QCOMPARE(trace.columns, QStringLiteral("ts=1,key=2,op=3,bytes=4,latency_us=5"));
    QVERIFY(trace.header);
    QCOMPARE(trace.time_unit, TimeUnit::Seconds);
    QCOMPARE(trace.delimiter, QChar(u';'));
    QCOMPARE(trace.path, path("foreign.log"));
    QVERIFY(child<QLabel>(dialog, "mappingSummary")->text().contains(trace.columns));

    // Back to our format: the mapping is kept for later but the file no longer fits.
    QTest::mouseClick(child<QRadioButton>(dialog, "ourFormatRadio"), Qt::LeftButton);
    QVERIFY(!okButton(dialog)->isEnabled());
    QCOMPARE(dialog.settings().trace.columns, trace.columns);
}

void TestConsoleDialogs::connectionOffersRecentTraces() {
    ConnectionSettings settings;
    settings.kind = ConnectorKind::TraceReplay;
    ConnectionDialog dialog(settings, {path("tabs.log"), path("ours.csv")});
    dialog.show();
    auto* recent = child<QComboBox>(dialog, "recentCombo");
    QVERIFY(recent);
    QVERIFY(recent->isEnabled());
    QCOMPARE(recent->count(), 2);
    QCOMPARE(recent->currentIndex(), -1);
    recent->setFocus();
    QTest::keyClick(recent, Qt::Key_Down);
    QTest::keyClick(recent, Qt::Key_Down);
    QCOMPARE(recent->currentIndex(), 1);
    QCOMPARE(child<QLineEdit>(dialog, "tracePathEdit")->text(), path("ours.csv"));
    QVERIFY2(okButton(dialog)->isEnabled(), qPrintable(dialog.problem()));

    ConnectionDialog none(settings, {});
    QVERIFY(!child<QComboBox>(none, "recentCombo")->isEnabled());
}

void TestConsoleDialogs::connectionAcceptRechecksTheFile() {
    const QString file = path("vanishing.csv");
    writeFile(file, kOurTrace);
    ConnectionSettings settings;
    settings.kind = ConnectorKind::TraceReplay;
    settings.trace.path = file;
    ConnectionDialog dialog(settings, {});
    dialog.show();
    QVERIFY(okButton(dialog)->isEnabled());
    QVERIFY(QFile::remove(file));
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);
    QVERIFY(dialog.isVisible());
    QVERIFY(dialog.result() != QDialog::Accepted);
    QVERIFY(dialog.problem().contains(QStringLiteral("No such file")));
    QVERIFY(!okButton(dialog)->isEnabled());

    // The file is back; the operator picks it again.
    writeFile(file, kOurTrace);
    child<QLineEdit>(dialog, "tracePathEdit")->clear();
    child<QLineEdit>(dialog, "tracePathEdit")->setText(file);
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
}

void TestConsoleDialogs::connectionChecksTheNodeFields_data() {
    QTest::addColumn<QString>("endpoints");
    QTest::addColumn<QString>("store");
    QTest::addColumn<QString>("ca");
    QTest::addColumn<QString>("token");
    QTest::addColumn<QString>("problem"); // a part of it; empty: OK is enabled
    const QString nodes = QStringLiteral("127.0.0.1:7401, 127.0.0.1:7402");
    const QString store = path("ownership.json"); // need not exist: a fresh store
    const QString ca = path("ca.pem");
    const QString token = path("token");
    QTest::newRow("all good") << nodes << store << ca << token << QString();
    QTest::newRow("plaintext, no token") << nodes << store << QString() << QString() << QString();
    QTest::newRow("no endpoints") << QStringLiteral(" , ") << store << ca << token
                                  << QStringLiteral("Enter the nodes' addresses");
    QTest::newRow("no port") << QStringLiteral("127.0.0.1:7401, localhost") << store << ca << token
                             << QStringLiteral("Nodes: 'localhost' is not host:port");
    QTest::newRow("port out of range")
        << QStringLiteral("127.0.0.1:70000") << store << ca << token
        << QStringLiteral("'127.0.0.1:70000': port 70000 is out of range (1 to 65535)");
    QTest::newRow("port not a number") << QStringLiteral("h:x") << store << ca << token
                                       << QStringLiteral("the port 'x' is not a number");
    QTest::newRow("no store") << nodes << QStringLiteral("  ") << ca << token
                              << QStringLiteral("Choose the ownership store file");
    QTest::newRow("store is a folder")
        << nodes << path("folder.csv") << ca << token << QStringLiteral("Ownership store: ");
    QTest::newRow("missing CA") << nodes << store << path("missing.pem") << token
                                << QStringLiteral("TLS CA file: No such file");
    QTest::newRow("CA is a folder")
        << nodes << store << path("folder.csv") << token << QStringLiteral("TLS CA file: ");
    QTest::newRow("missing token") << nodes << store << ca << path("missing-token")
                                   << QStringLiteral("Token file: No such file");
}

void TestConsoleDialogs::connectionChecksTheNodeFields() {
    QFETCH(QString, endpoints);
    QFETCH(QString, store);
    QFETCH(QString, ca);
    QFETCH(QString, token);
    QFETCH(QString, problem);
    ConnectionSettings settings;
    settings.kind = ConnectorKind::NodeCluster;
    ConnectionDialog dialog(settings, {});
    dialog.show();
    child<QLineEdit>(dialog, "endpointsEdit")->setText(endpoints);
    child<QLineEdit>(dialog, "storePathEdit")->setText(store);
    child<QLineEdit>(dialog, "tlsCaEdit")->setText(ca);
    child<QLineEdit>(dialog, "tokenFileEdit")->setText(token);
    auto* error = child<QLabel>(dialog, "errorLabel");
    if (problem.isEmpty()) {
        QVERIFY2(okButton(dialog)->isEnabled(), qPrintable(dialog.problem()));
        QVERIFY(error->isHidden());
        return;
    }
    QVERIFY(!okButton(dialog)->isEnabled());
    QVERIFY2(dialog.problem().contains(problem), qPrintable(dialog.problem()));
    QVERIFY(!error->isHidden());
    QCOMPARE(error->text(), dialog.problem());
}

void TestConsoleDialogs::connectionToNodesThroughTheWidgets() {
    ConnectionDialog dialog(ConnectionSettings{}, {});
    dialog.show();
    QVERIFY(okButton(dialog)->isEnabled());
    QTest::mouseClick(child<QRadioButton>(dialog, "nodesRadio"), Qt::LeftButton);
    QCOMPARE(dialog.findChild<QStackedWidget*>()->currentIndex(), 2);
    QCOMPARE(dialog.settings().kind, ConnectorKind::NodeCluster);
    // No addresses yet: the default store path alone does not make a connection.
    QVERIFY(!okButton(dialog)->isEnabled());
    QVERIFY2(dialog.problem().contains(QStringLiteral("addresses")), qPrintable(dialog.problem()));
    QVERIFY(child<QLineEdit>(dialog, "storePathEdit")
                ->text()
                .endsWith(QStringLiteral("/ownership.json")));

    auto* endpoints = child<QLineEdit>(dialog, "endpointsEdit");
    QTest::keyClicks(endpoints, QStringLiteral("10.0.0.1:7401,10.0.0.2"));
    QVERIFY(!okButton(dialog)->isEnabled());
    QVERIFY2(dialog.problem().contains(QStringLiteral("'10.0.0.2' is not host:port")),
             qPrintable(dialog.problem()));
    QTest::keyClicks(endpoints, QStringLiteral(":7401"));
    QVERIFY2(okButton(dialog)->isEnabled(), qPrintable(dialog.problem()));
    QTest::keyClicks(child<QLineEdit>(dialog, "tokenFileEdit"), path("token"));
    QVERIFY2(okButton(dialog)->isEnabled(), qPrintable(dialog.problem()));

    auto* rate = child<QDoubleSpinBox>(dialog, "copyRateSpin");
    QCOMPARE(rate->value(), 50.0);
    rate->setValue(0);
    QCOMPARE(rate->text(), QStringLiteral("Unlimited"));

    const ConnectionSettings chosen = dialog.settings();
    QCOMPARE(chosen.kind, ConnectorKind::NodeCluster);
    QCOMPARE(chosen.nodes.endpoints,
             (QStringList{QStringLiteral("10.0.0.1:7401"), QStringLiteral("10.0.0.2:7401")}));
    QCOMPARE(chosen.nodes.token_file, path("token"));
    QVERIFY(chosen.nodes.tls_ca.isEmpty());
    QCOMPARE(chosen.nodes.copy_mb_per_s, kUnlimitedCopyRate);
    // The other pages keep what they had.
    QCOMPARE(chosen.simulated, SimulatedSettings{});
    QCOMPARE(chosen.trace, TraceSettings{});

    // Back to the simulation: the node fields do not block it.
    endpoints->setText(QStringLiteral("nonsense"));
    QVERIFY(!okButton(dialog)->isEnabled());
    QTest::mouseClick(child<QRadioButton>(dialog, "simulatedRadio"), Qt::LeftButton);
    QCOMPARE(dialog.findChild<QStackedWidget*>()->currentIndex(), 0);
    QVERIFY(okButton(dialog)->isEnabled());
}

void TestConsoleDialogs::connectionNodesAcceptRechecksTheFiles() {
    const QString token = path("vanishing-token");
    writeFile(token, "abc\n");
    ConnectionSettings settings;
    settings.kind = ConnectorKind::NodeCluster;
    settings.nodes.endpoints = {QStringLiteral("127.0.0.1:7401")};
    settings.nodes.store_path = path("ownership.json");
    settings.nodes.token_file = token;
    ConnectionDialog dialog(settings, {});
    dialog.show();
    QVERIFY2(okButton(dialog)->isEnabled(), qPrintable(dialog.problem()));
    QVERIFY(QFile::remove(token));
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);
    QVERIFY(dialog.isVisible());
    QVERIFY(dialog.result() != QDialog::Accepted);
    QVERIFY2(dialog.problem().contains(QStringLiteral("Token file: No such file")),
             qPrintable(dialog.problem()));
    QVERIFY(!okButton(dialog)->isEnabled());
    // The file is back; the operator picks it again.
    writeFile(token, "abc\n");
    child<QLineEdit>(dialog, "tokenFileEdit")->clear();
    child<QLineEdit>(dialog, "tokenFileEdit")->setText(token);
    QTest::mouseClick(okButton(dialog), Qt::LeftButton);
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
    QCOMPARE(dialog.settings().nodes.token_file, token);
}

// --- ColumnMappingDialog -------------------------------------------------------------------------

void TestConsoleDialogs::mappingGuessesAndPreviews() {
    ColumnMappingDialog dialog(path("foreign.log"));
    const auto position = [&](const char* column) {
        const QString name = QStringLiteral("column_") + QString::fromLatin1(column);
        return dialog.findChild<QComboBox*>(name)->currentData().toInt();
    };
    QCOMPARE(position("ts"), 1);
    QCOMPARE(position("key"), 2);
    QCOMPARE(position("op"), 3);
    QCOMPARE(position("end_key"), 0);
    QCOMPARE(position("bytes"), 4);
    QCOMPARE(position("latency_us"), 5);
    QCOMPARE(position("client"), 0);
    QVERIFY(child<QCheckBox>(dialog, "headerCheck")->isChecked());
    QCOMPARE(child<QComboBox>(dialog, "delimiterCombo")->currentData().value<QChar>(), QChar(u';'));
    QCOMPARE(child<QComboBox>(dialog, "timeUnitCombo")->currentData().toInt(),
             static_cast<int>(TimeUnit::Seconds));
    QVERIFY(okButton(dialog)->isEnabled());
    QVERIFY(child<QPlainTextEdit>(dialog, "rawLinesView")
                ->toPlainText()
                .contains(QStringLiteral("yesterday;user19")));

    auto* table = child<QTableWidget>(dialog, "previewTable");
    QVERIFY(table);
    QCOMPARE(table->rowCount(), 5); // the header, lines 2, 3, 4 (bad) and 6
    const int first = previewRowOf(table, 2);
    QVERIFY(first >= 0);
    QCOMPARE(cellText(table, first, 1), QString::fromStdString(formatIso8601(1'767'571'200'000)));
    QCOMPARE(cellText(table, first, 2), QStringLiteral("user17"));
    QCOMPARE(cellText(table, first, 3), QStringLiteral("put"));
    QCOMPARE(cellText(table, first, 5), QStringLiteral("512"));
    QCOMPARE(cellText(table, first, 6), QStringLiteral("250"));
    QCOMPARE(cellText(table, first, 7), QStringLiteral("\u2014")); // client not mapped
    const int second = previewRowOf(table, 3);
    QCOMPARE(cellText(table, second, 1), QString::fromStdString(formatIso8601(1'767'571'201'500)));
    QCOMPARE(cellText(table, second, 3), QStringLiteral("get"));
    const int last = previewRowOf(table, 6);
    QVERIFY(last > second);
    QCOMPARE(cellText(table, last, 2), QStringLiteral("user20"));
    QCOMPARE(cellText(table, last, 3), QStringLiteral("delete"));

    const int bad = previewRowOf(table, 4);
    QVERIFY(bad > second && bad < last);
    QVERIFY2(cellText(table, bad, 1).startsWith(QStringLiteral("bad line: ")),
             qPrintable(cellText(table, bad, 1)));
    QVERIFY(cellText(table, bad, 1).size() > QStringLiteral("bad line: ").size());
    QCOMPARE(table->columnSpan(bad, 1), table->columnCount() - 1);
    QVERIFY(child<QLabel>(dialog, "previewSummary")->text().contains(QStringLiteral("3 of 4")));
}

void TestConsoleDialogs::mappingPreviewUpdatesLive() {
    ColumnMappingDialog dialog(path("foreign.log"));
    auto* table = child<QTableWidget>(dialog, "previewTable");
    auto* unit = child<QComboBox>(dialog, "timeUnitCombo");
    unit->setCurrentIndex(unit->findData(static_cast<int>(TimeUnit::Milliseconds)));
    QCOMPARE(cellText(table, previewRowOf(table, 2), 1),
             QString::fromStdString(formatIso8601(1'767'571'200)));

    auto* ts = child<QComboBox>(dialog, "column_ts");
    ts->setCurrentIndex(ts->findData(0));
    QVERIFY(!okButton(dialog)->isEnabled());
    QVERIFY2(dialog.problem().contains(QStringLiteral("ts and key")), qPrintable(dialog.problem()));
    QCOMPARE(table->rowCount(), 0);
    ts->setCurrentIndex(ts->findData(1));
    QVERIFY(okButton(dialog)->isEnabled());

    auto* client = child<QComboBox>(dialog, "column_client");
    client->setCurrentIndex(client->findData(2)); // the key's field too
    QVERIFY(!okButton(dialog)->isEnabled());
    QVERIFY2(dialog.problem().contains(QStringLiteral("both key and client")),
             qPrintable(dialog.problem()));
    client->setCurrentIndex(client->findData(0));
    QVERIFY(okButton(dialog)->isEnabled());

    // Without the header, line 1 is data: its ts field holds a word, so the reader still skips it.
    QTest::mouseClick(child<QCheckBox>(dialog, "headerCheck"), Qt::LeftButton);
    QVERIFY(okButton(dialog)->isEnabled());
    QVERIFY(previewRowOf(table, 2) >= 0);
    QCOMPARE(dialog.columnsSpec(), QStringLiteral("ts=1,key=2,op=3,bytes=4,latency_us=5"));
}

void TestConsoleDialogs::mappingGuessesWithoutAHeader() {
    ColumnMappingDialog dialog(path("tabs.log"));
    QCOMPARE(dialog.columnsSpec(), QStringLiteral("ts=3,key=2,op=1"));
    QVERIFY(!child<QCheckBox>(dialog, "headerCheck")->isChecked());
    TraceSettings trace;
    dialog.applyTo(trace);
    QVERIFY(trace.foreign);
    QCOMPARE(trace.delimiter, QChar(u'\t'));
    QCOMPARE(trace.time_unit, TimeUnit::Milliseconds);
    QVERIFY(!trace.header);
    auto* table = child<QTableWidget>(dialog, "previewTable");
    QCOMPARE(table->rowCount(), 2);
    QCOMPARE(cellText(table, 0, 0), QStringLiteral("1"));
    QCOMPARE(cellText(table, 0, 1), QString::fromStdString(formatIso8601(1'767'571'200'123)));
    QCOMPARE(cellText(table, 1, 3), QStringLiteral("put"));
    // The field choices show the sample's values.
    QVERIFY(child<QComboBox>(dialog, "column_client")
                ->itemText(4)
                .contains(QStringLiteral("10.0.0.1")));
}

void TestConsoleDialogs::mappingTakesAndAppliesSettings() {
    ColumnMappingDialog dialog(path("foreign.log"));
    TraceSettings trace;
    trace.path = path("foreign.log");
    trace.hosts = 5;
    trace.columns = QStringLiteral("ts=1,key=2,client=5");
    trace.header = true;
    trace.time_unit = TimeUnit::Milliseconds;
    trace.delimiter = u';';
    dialog.setTraceSettings(trace);
    QCOMPARE(dialog.columnsSpec(), QStringLiteral("ts=1,key=2,client=5"));
    QCOMPARE(child<QComboBox>(dialog, "column_op")->currentData().toInt(), 0);
    QCOMPARE(child<QComboBox>(dialog, "timeUnitCombo")->currentData().toInt(),
             static_cast<int>(TimeUnit::Milliseconds));
    TraceSettings applied = trace;
    applied.foreign = false;
    dialog.applyTo(applied);
    QVERIFY(applied.foreign);
    QCOMPARE(applied.columns, trace.columns);
    QCOMPARE(applied.time_unit, TimeUnit::Milliseconds);
    QCOMPARE(applied.hosts, 5);
    QCOMPARE(applied.path, trace.path);
    auto* table = child<QTableWidget>(dialog, "previewTable");
    QCOMPARE(cellText(table, previewRowOf(table, 2), 7), QStringLiteral("250"));

    // Unusable settings leave the guess alone.
    ColumnMappingDialog guessed(path("foreign.log"));
    TraceSettings unusable;
    unusable.columns = QStringLiteral("ts=1,kye=2");
    guessed.setTraceSettings(unusable);
    QCOMPARE(guessed.columnsSpec(), QStringLiteral("ts=1,key=2,op=3,bytes=4,latency_us=5"));
}

void TestConsoleDialogs::mappingRefusesAnUnreadableFile() {
    ColumnMappingDialog dialog(path("missing.log"));
    QVERIFY(!okButton(dialog)->isEnabled());
    auto* error = child<QLabel>(dialog, "errorLabel");
    QVERIFY(!error->isHidden());
    QVERIFY2(error->text().contains(QStringLiteral("No such file")), qPrintable(error->text()));
    QVERIFY(!child<QComboBox>(dialog, "column_ts")->isEnabled());
    QCOMPARE(child<QTableWidget>(dialog, "previewTable")->rowCount(), 0);

    ColumnMappingDialog folder(path("folder.csv"));
    QVERIFY(!okButton(folder)->isEnabled());
    QVERIFY(folder.problem().contains(QStringLiteral("folder")));
}

// Set RANGEPILOT_DIALOG_SCREENSHOTS to a folder to get a PNG of each dialog there.
void TestConsoleDialogs::screenshots() {
    const QString folder = qEnvironmentVariable("RANGEPILOT_DIALOG_SCREENSHOTS");
    if (folder.isEmpty())
        QSKIP("RANGEPILOT_DIALOG_SCREENSHOTS is not set");
    const auto save = [&](QWidget& dialog, const char* name) {
        dialog.show();
        dialog.adjustSize();
        QCoreApplication::processEvents();
        QVERIFY(dialog.grab().save(QDir(folder).filePath(QString::fromLatin1(name))));
    };

    ConnectionDialog simulated(ConnectionSettings{}, {path("ours.csv")});
    save(simulated, "connection_simulated.png");

    ConnectionSettings replay;
    replay.kind = ConnectorKind::TraceReplay;
    replay.trace.path = path("foreign.log");
    replay.trace.foreign = true;
    replay.trace.columns = QStringLiteral("ts=1,key=2,op=3,bytes=4,latency_us=5");
    replay.trace.delimiter = u';';
    replay.trace.time_unit = TimeUnit::Seconds;
    ConnectionDialog trace(replay, {path("foreign.log"), path("ours.csv")});
    save(trace, "connection_trace.png");

    ConnectionSettings nodes;
    nodes.kind = ConnectorKind::NodeCluster;
    nodes.nodes.endpoints = {QStringLiteral("10.0.0.1:7401"), QStringLiteral("10.0.0.2:7401"),
                             QStringLiteral("10.0.0.3:7401")};
    nodes.nodes.store_path = QStringLiteral("/var/lib/rangepilot/ownership.json");
    nodes.nodes.tls_ca = path("ca.pem");
    nodes.nodes.token_file = path("token");
    ConnectionDialog nodesDialog(nodes, {});
    save(nodesDialog, "connection_nodes.png");
    nodes.nodes.endpoints.append(QStringLiteral("10.0.0.4"));
    ConnectionDialog badNode(nodes, {});
    save(badNode, "connection_nodes_refused.png");

    ConnectionSettings missing;
    missing.kind = ConnectorKind::TraceReplay;
    missing.trace.path = path("tabs.log");
    ConnectionDialog refused(missing, {});
    save(refused, "connection_refused.png");

    ColumnMappingDialog mapping(path("foreign.log"));
    mapping.resize(900, 720);
    mapping.show();
    QVERIFY(mapping.grab().save(QDir(folder).filePath(QStringLiteral("column_mapping.png"))));

    ScheduleDialog window(kClusterNow, DailyWindow{120, 300},
                          QStringLiteral("move [user0421, user0467) host-3 \u2192 host-7"));
    save(window, "schedule_window.png");
    ScheduleDialog past(kClusterNow, std::nullopt, QStringLiteral("move [a, b)"));
    child<QDateTimeEdit>(past, "atEdit")
        ->setDateTime(QDateTime::fromMSecsSinceEpoch(kClusterNow - kMsPerHour, Qt::UTC));
    save(past, "schedule_past.png");

    AutoApplyGuardrails guardrails;
    guardrails.enabled = true;
    guardrails.quiet_hours = DailyWindow{22 * 60, 6 * 60};
    AutoApplyDialog on(guardrails);
    save(on, "auto_apply_on.png");
    AutoApplyDialog off{AutoApplyGuardrails{}};
    save(off, "auto_apply_off.png");
}

QTEST_MAIN(TestConsoleDialogs)
#include "tst_console_dialogs.moc"
