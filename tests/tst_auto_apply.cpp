#include "auto_apply.h"

#include <QtTest>

using namespace rangepilot;

namespace {

// 2026-01-05 00:00 UTC.
constexpr TimeMs kMidnight = 1'767'571'200'000;

TimeMs at(int hours, int minutes) {
    return kMidnight + hours * kMsPerHour + minutes * kMsPerMinute;
}

MoveInstruction moveOf(double gain, double bytes) {
    MoveInstruction move;
    move.shard = 7;
    move.range = {"a", "b"};
    move.from = "host-1";
    move.to = "host-2";
    move.expected_gain = gain;
    move.bytes = bytes;
    return move;
}

AutoApplyGuardrails enabledGuardrails() {
    AutoApplyGuardrails guardrails;
    guardrails.enabled = true;
    guardrails.max_concurrent_moves = 2;
    guardrails.max_bytes_per_hour = 1e9;
    guardrails.min_gain = 0.05;
    guardrails.quiet_hours = DailyWindow{22 * 60, 6 * 60};
    return guardrails;
}

} // namespace

class TestAutoApply : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void windowContains_data();
    void windowContains();
    void nextOpening_data();
    void nextOpening();
    void parseAndFormat_data();
    void parseAndFormat();
    void refusal_data();
    void refusal();
    void validation_data();
    void validation();
};

void TestAutoApply::windowContains_data() {
    QTest::addColumn<int>("start");
    QTest::addColumn<int>("end");
    QTest::addColumn<qint64>("time");
    QTest::addColumn<bool>("inside");
    QTest::newRow("plain, inside") << 120 << 300 << qint64(at(3, 0)) << true;
    QTest::newRow("plain, at the start") << 120 << 300 << qint64(at(2, 0)) << true;
    QTest::newRow("plain, at the end (excluded)") << 120 << 300 << qint64(at(5, 0)) << false;
    QTest::newRow("plain, before") << 120 << 300 << qint64(at(1, 59)) << false;
    QTest::newRow("wrapping, late evening") << 1320 << 360 << qint64(at(23, 30)) << true;
    QTest::newRow("wrapping, early morning") << 1320 << 360 << qint64(at(5, 59)) << true;
    QTest::newRow("wrapping, midday") << 1320 << 360 << qint64(at(12, 0)) << false;
    QTest::newRow("empty") << 600 << 600 << qint64(at(10, 0)) << false;
    QTest::newRow("before the epoch") << 1320 << 360 << qint64(-30 * kMsPerMinute) << true;
}

void TestAutoApply::windowContains() {
    QFETCH(int, start);
    QFETCH(int, end);
    QFETCH(qint64, time);
    QFETCH(bool, inside);
    QCOMPARE(DailyWindow({start, end}).contains(time), inside);
}

void TestAutoApply::nextOpening_data() {
    QTest::addColumn<int>("start");
    QTest::addColumn<int>("end");
    QTest::addColumn<qint64>("time");
    QTest::addColumn<qint64>("expected"); // -1: none
    QTest::newRow("inside: now") << 120 << 300 << qint64(at(3, 7)) << qint64(at(3, 7));
    QTest::newRow("later today") << 120 << 300 << qint64(at(1, 0)) << qint64(at(2, 0));
    QTest::newRow("tomorrow") << 120 << 300 << qint64(at(6, 0)) << qint64(at(2, 0) + kMsPerDay);
    QTest::newRow("wrapping, tonight") << 1320 << 360 << qint64(at(12, 0)) << qint64(at(22, 0));
    QTest::newRow("empty window") << 600 << 600 << qint64(at(1, 0)) << qint64(-1);
}

void TestAutoApply::nextOpening() {
    QFETCH(int, start);
    QFETCH(int, end);
    QFETCH(qint64, time);
    QFETCH(qint64, expected);
    const std::optional<TimeMs> opening = DailyWindow({start, end}).nextOpening(time);
    if (expected < 0) {
        QVERIFY(!opening);
        return;
    }
    QVERIFY(opening);
    QCOMPARE(qint64(*opening), expected);
}

void TestAutoApply::parseAndFormat_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("start"); // -1: an error is expected
    QTest::addColumn<int>("end");
    QTest::addColumn<QString>("errorPart");
    QTest::newRow("hyphen") << QStringLiteral("22:00-06:00") << 1320 << 360 << QString();
    QTest::newRow("en dash, blanks")
        << QStringLiteral("02:30 \u2013 05:00") << 150 << 300 << QString();
    QTest::newRow("no dash") << QStringLiteral("22:00") << -1 << 0 << QStringLiteral("expected");
    QTest::newRow("hour 24") << QStringLiteral("22:00-24:00") << -1 << 0 << QStringLiteral("HH:MM");
    QTest::newRow("letters") << QStringLiteral("ab:cd-01:00") << -1 << 0 << QStringLiteral("HH:MM");
    QTest::newRow("empty window") << QStringLiteral("03:00-03:00") << -1 << 0
                                  << QStringLiteral("empty");
}

void TestAutoApply::parseAndFormat() {
    QFETCH(QString, text);
    QFETCH(int, start);
    QFETCH(int, end);
    QFETCH(QString, errorPart);
    const Result<DailyWindow> window = parseDailyWindow(text.toStdString());
    if (start < 0) {
        QVERIFY(!window);
        QVERIFY2(QString::fromStdString(window.error().message).contains(errorPart),
                 window.error().message.c_str());
        return;
    }
    QVERIFY2(window, window ? "" : window.error().message.c_str());
    QCOMPARE(window->start_minute, start);
    QCOMPARE(window->end_minute, end);
    const Result<DailyWindow> again = parseDailyWindow(formatDailyWindow(*window));
    QVERIFY(again);
    QCOMPARE(*again, *window);
}

void TestAutoApply::refusal_data() {
    QTest::addColumn<bool>("enabled");
    QTest::addColumn<qint64>("now");
    QTest::addColumn<double>("gain");
    QTest::addColumn<double>("bytes");
    QTest::addColumn<int>("running");
    QTest::addColumn<double>("bytesLastHour");
    QTest::addColumn<QString>("refusal"); // empty: allowed
    const qint64 day = at(12, 0);
    QTest::newRow("allowed") << true << day << 0.10 << 1e8 << 1 << 5e8 << QString();
    QTest::newRow("off") << false << day << 0.10 << 1e8 << 0 << 0.0
                         << QStringLiteral("auto-apply is off");
    QTest::newRow("quiet hours") << true << qint64(at(23, 0)) << 0.10 << 1e8 << 0 << 0.0
                                 << QStringLiteral("quiet hours 22:00\u201306:00 UTC");
    QTest::newRow("quiet hours end")
        << true << qint64(at(6, 0)) << 0.10 << 1e8 << 0 << 0.0 << QString();
    QTest::newRow("small gain") << true << day << 0.03 << 1e8 << 0 << 0.0
                                << QStringLiteral("gain 3% below the 5% minimum");
    QTest::newRow("gain exactly the minimum")
        << true << day << 0.05 << 1e8 << 0 << 0.0 << QString();
    QTest::newRow("concurrency") << true << day << 0.10 << 1e8 << 2 << 0.0
                                 << QStringLiteral("2 moves running, the limit is 2");
    QTest::newRow("bytes per hour")
        << true << day << 0.10 << 2e8 << 0 << 9e8
        << QStringLiteral(
               "900 MB started in the last hour; 200 MB more would pass the 1.0 GB limit");
    QTest::newRow("bytes exactly at the limit")
        << true << day << 0.10 << 1e8 << 0 << 9e8 << QString();
    QTest::newRow("quiet hours first") << true << qint64(at(23, 0)) << 0.01 << 9e9 << 5 << 9e9
                                       << QStringLiteral("quiet hours 22:00\u201306:00 UTC");
}

void TestAutoApply::refusal() {
    QFETCH(bool, enabled);
    QFETCH(qint64, now);
    QFETCH(double, gain);
    QFETCH(double, bytes);
    QFETCH(int, running);
    QFETCH(double, bytesLastHour);
    QFETCH(QString, refusal);
    AutoApplyGuardrails guardrails = enabledGuardrails();
    guardrails.enabled = enabled;
    const AutoApplyContext context{now, static_cast<std::size_t>(running), bytesLastHour};
    const std::optional<std::string> why =
        autoApplyRefusal(moveOf(gain, bytes), guardrails, context);
    QCOMPARE(why ? QString::fromStdString(*why) : QString(), refusal);
}

void TestAutoApply::validation_data() {
    QTest::addColumn<int>("field");
    QTest::addColumn<QString>("errorPart"); // empty: valid
    QTest::newRow("defaults") << 0 << QString();
    QTest::newRow("no concurrency") << 1 << QStringLiteral("max_concurrent_moves");
    QTest::newRow("no bytes") << 2 << QStringLiteral("max_bytes_per_hour");
    QTest::newRow("gain above 1") << 3 << QStringLiteral("min_gain");
    QTest::newRow("quiet hours out of the day") << 4 << QStringLiteral("quiet_hours: end_minute");
}

void TestAutoApply::validation() {
    QFETCH(int, field);
    QFETCH(QString, errorPart);
    AutoApplyGuardrails guardrails;
    switch (field) {
    case 1:
        guardrails.max_concurrent_moves = 0;
        break;
    case 2:
        guardrails.max_bytes_per_hour = 0.0;
        break;
    case 3:
        guardrails.min_gain = 1.5;
        break;
    case 4:
        guardrails.quiet_hours = DailyWindow{60, 1440};
        break;
    default:
        break;
    }
    const Status status = validate(guardrails);
    if (errorPart.isEmpty()) {
        QVERIFY2(status, status.message().c_str());
        return;
    }
    QVERIFY(!status);
    QVERIFY2(QString::fromStdString(status.message()).startsWith(errorPart),
             status.message().c_str());
}

QTEST_APPLESS_MAIN(TestAutoApply)
#include "tst_auto_apply.moc"
