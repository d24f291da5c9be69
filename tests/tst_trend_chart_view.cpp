#include "trend_chart_view.h"

#include <QAreaSeries>
#include <QCategoryAxis>
#include <QChart>
#include <QChartView>
#include <QDir>
#include <QFontMetrics>
#include <QLabel>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QValueAxis>
#include <QtTest>

#include <cmath>
#include <optional>

using namespace rangepilot;

namespace {

constexpr TimeMs kNow = 1767571200000 + 2 * kMsPerDay + 13 * kMsPerHour; // 2026-01-07 13:00 UTC
constexpr TimeMs kStep = 5 * kMsPerMinute;

// `historyPoints` measured points up to now, `forecastPoints` projected from now, a band of ±10%.
TrendSeries makeSeries(std::size_t historyPoints, std::size_t forecastPoints, bool band = true) {
    TrendSeries series;
    series.title = QStringLiteral("shard 17 [user0042, user0051) on host-3");
    series.unit = QStringLiteral("ops/s");
    series.history_step_ms = kStep;
    series.history_start_ms = kNow - static_cast<TimeMs>(historyPoints) * kStep;
    const double pi = std::acos(-1.0);
    for (std::size_t i = 0; i < historyPoints; ++i)
        series.history.push_back(1000.0 + 400.0 * std::sin(2.0 * pi * double(i) / 288.0) + i);
    series.forecast_start_ms = kNow;
    series.forecast_step_ms = kStep;
    for (std::size_t i = 0; i < forecastPoints; ++i) {
        const double value = 1000.0 +
                             400.0 * std::sin(2.0 * pi * double(historyPoints + i) / 288.0) +
                             double(historyPoints + i);
        series.forecast.push_back(value);
        if (band) {
            const double width = 0.04 * value * (1.0 + double(i) / 48.0);
            series.band_low.push_back(value - width);
            series.band_high.push_back(value + width);
        }
    }
    return series;
}

// The x value a time has on the chart: UTC milliseconds.
qreal chartX(TimeMs time) {
    return static_cast<qreal>(time);
}

// Legend markers are graphics items: visible only in a chart on screen.
void show(TrendChartView& view) {
    view.resize(640, 360);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
}

bool legendShows(QChart* chart, QAbstractSeries* series) {
    const QList<QLegendMarker*> markers = chart->legend()->markers(series);
    return !markers.isEmpty() && markers.first()->isVisible();
}

} // namespace

class TrendChartViewTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void startsWithTheHint();
    void historyPointsAndValues();
    void forecastContinuesFromTheLastMeasuredPoint();
    void band_data();
    void band();
    void capacityLine();
    void timeAxisCoversHistoryAndForecast_data();
    void timeAxisCoversHistoryAndForecast();
    void timeLabelsReadUtc();
    void valueAxisCarriesTheUnit();
    void byteRatesAreScaled();
    void legendAndTitle();
    void clearShowsTheHint();
    void emptyStateKeepsLabelledAxes_data();
    void emptyStateKeepsLabelledAxes();
    void shortHistoryMarksItsPoints();
    void nowLineSitsAtNowInsideTheNewestBucket();
    void timeLabelsAreNeverCut();
    void nonFiniteValuesAreLeftOut();
    void saveScreenshots();
};

void TrendChartViewTest::startsWithTheHint() {
    TrendChartView view;
    QVERIFY(view.isShowingHint());
    QCOMPARE(view.hintText(),
             QStringLiteral("Select a range in the heatmap or a table to see its trend"));
    QVERIFY(!view.series().has_value());
    QVERIFY(view.chart() != nullptr);
}

void TrendChartViewTest::historyPointsAndValues() {
    TrendChartView view;
    const TrendSeries series = makeSeries(2016, 288);
    view.setSeries(series);
    QVERIFY(!view.isShowingHint());
    QVERIFY(view.series().has_value());
    QCOMPARE(view.series()->history.size(), std::size_t(2016));

    QLineSeries* history = view.historySeries();
    QCOMPARE(history->count(), 2016);
    for (int i : {0, 1, 700, 2015}) {
        const QPointF point = history->at(i);
        QCOMPARE(point.x(), chartX(series.history_start_ms + i * kStep));
        QCOMPARE(point.y(), series.history[std::size_t(i)]);
    }
}

void TrendChartViewTest::forecastContinuesFromTheLastMeasuredPoint() {
    TrendChartView view;
    const TrendSeries series = makeSeries(100, 48);
    view.setSeries(series);
    QLineSeries* forecast = view.forecastSeries();
    QCOMPARE(forecast->count(), 48 + 1);
    QCOMPARE(forecast->at(0), view.historySeries()->at(99));
    QCOMPARE(forecast->at(1), QPointF(chartX(kNow), series.forecast[0]));
    QCOMPARE(forecast->at(48), QPointF(chartX(kNow + 47 * kStep), series.forecast[47]));
    QCOMPARE(forecast->pen().style(), Qt::DashLine);
    QCOMPARE(view.historySeries()->pen().style(), Qt::SolidLine);

    // Without history the forecast stands alone.
    TrendSeries onlyForecast = series;
    onlyForecast.history.clear();
    view.setSeries(onlyForecast);
    QCOMPARE(view.forecastSeries()->count(), 48);
    QCOMPARE(view.historySeries()->count(), 0);
}

void TrendChartViewTest::band_data() {
    QTest::addColumn<int>("lowSize");
    QTest::addColumn<int>("highSize");
    QTest::addColumn<bool>("shown");
    QTest::newRow("full band") << 48 << 48 << true;
    QTest::newRow("no band") << 0 << 0 << false;
    QTest::newRow("lengths differ from the forecast: ignored") << 47 << 47 << false;
    QTest::newRow("only one bound: ignored") << 48 << 0 << false;
}

void TrendChartViewTest::band() {
    QFETCH(int, lowSize);
    QFETCH(int, highSize);
    QFETCH(bool, shown);
    TrendSeries series = makeSeries(100, 48);
    series.band_low.resize(std::size_t(lowSize));
    series.band_high.resize(std::size_t(highSize));
    TrendChartView view;
    view.setSeries(series);
    show(view);

    QAreaSeries* band = view.bandSeries();
    QCOMPARE(band->isVisible(), shown);
    QCOMPARE(legendShows(view.chart(), band), shown);
    QCOMPARE(band->upperSeries()->count(), shown ? 48 : 0);
    QCOMPARE(band->lowerSeries()->count(), shown ? 48 : 0);
    if (shown) {
        QCOMPARE(band->upperSeries()->at(10),
                 QPointF(chartX(kNow + 10 * kStep), series.band_high[10]));
        QCOMPARE(band->lowerSeries()->at(10),
                 QPointF(chartX(kNow + 10 * kStep), series.band_low[10]));
        QCOMPARE(band->brush().color().alpha() < 255, true); // translucent
    }
}

void TrendChartViewTest::capacityLine() {
    TrendChartView view;
    TrendSeries series = makeSeries(288, 48);
    view.setSeries(series);
    show(view);
    QVERIFY(!view.capacitySeries()->isVisible());
    QVERIFY(!legendShows(view.chart(), view.capacitySeries()));

    series.capacity = 5000.0;
    view.setSeries(series);
    QLineSeries* capacity = view.capacitySeries();
    QVERIFY(capacity->isVisible());
    QVERIFY(legendShows(view.chart(), capacity));
    QCOMPARE(capacity->count(), 2);
    QCOMPARE(capacity->at(0).y(), 5000.0);
    QCOMPARE(capacity->at(1).y(), 5000.0);
    QCOMPARE(capacity->at(0).x(), chartX(view.timeRangeMs().first));
    QCOMPARE(capacity->at(1).x(), chartX(view.timeRangeMs().second));
    QVERIFY(view.valueAxis()->max() >= 5000.0); // the line is inside the plot
}

void TrendChartViewTest::timeAxisCoversHistoryAndForecast_data() {
    QTest::addColumn<int>("history");
    QTest::addColumn<int>("forecast");
    QTest::newRow("a week and a day") << 2016 << 288;
    QTest::newRow("a day and an hour") << 288 << 12;
    QTest::newRow("an hour, no forecast") << 12 << 0;
    QTest::newRow("forecast only") << 0 << 24;
    QTest::newRow("one point") << 1 << 0;
}

void TrendChartViewTest::timeAxisCoversHistoryAndForecast() {
    QFETCH(int, history);
    QFETCH(int, forecast);
    TrendChartView view;
    view.resize(640, 360);
    const TrendSeries series = makeSeries(std::size_t(history), std::size_t(forecast));
    view.setSeries(series);

    const auto [start, end] = view.timeRangeMs();
    const TimeMs first = history > 0 ? series.history_start_ms : kNow;
    const TimeMs last = forecast > 0 ? kNow + (forecast - 1) * kStep
                                     : series.history_start_ms + (history - 1) * kStep;
    QVERIFY(start <= first);
    QVERIFY(end >= last);
    QVERIFY(end > start);
    if (last > first) { // exactly the data; a single point gets an hour around it
        QCOMPARE(start, first);
        QCOMPARE(end, last);
    }
    QCategoryAxis* axis = view.timeAxis();
    QCOMPARE(axis->min(), chartX(start));
    QCOMPARE(axis->max(), chartX(end));
    QCOMPARE(axis->titleText(), QStringLiteral("time (UTC)"));

    // Labels on whole UTC steps inside the range, evenly spaced, as many as fit in 640 pixels.
    const QStringList labels = axis->categoriesLabels();
    QVERIFY(labels.size() >= 2);
    QVERIFY(labels.size() <= 7);
    const auto tick = [&](int i) { return static_cast<TimeMs>(axis->endValue(labels[i])); };
    const TimeMs step = tick(1) - tick(0);
    for (int i = 0; i < labels.size(); ++i) {
        QVERIFY(tick(i) >= start && tick(i) <= end);
        QCOMPARE(tick(i) % step, TimeMs(0));
        if (i > 0)
            QCOMPARE(tick(i) - tick(i - 1), step);
    }
}

void TrendChartViewTest::timeLabelsReadUtc() {
    TrendChartView view;
    view.resize(640, 360);
    view.setSeries(makeSeries(288, 12)); // Jan 6 13:00 to Jan 7 13:55 UTC
    const QStringList labels = view.timeAxis()->categoriesLabels();
    QVERIFY2(labels.contains(QStringLiteral("Jan 7 00:00")), qPrintable(labels.join(u'|')));
    QCOMPARE(view.timeAxis()->endValue(QStringLiteral("Jan 7 00:00")),
             chartX(1767571200000 + 2 * kMsPerDay));

    view.setSeries(makeSeries(2016, 288)); // eight days: whole days
    const QStringList days = view.timeAxis()->categoriesLabels();
    QVERIFY2(days.contains(QStringLiteral("Jan 5")), qPrintable(days.join(u'|')));
}

void TrendChartViewTest::valueAxisCarriesTheUnit() {
    TrendChartView view;
    const TrendSeries series = makeSeries(288, 48);
    view.setSeries(series);
    QValueAxis* axis = view.valueAxis();
    QCOMPARE(axis->titleText(), QStringLiteral("ops/s"));
    QCOMPARE(axis->min(), 0.0);
    double highest = 0.0;
    for (double value : series.band_high)
        highest = std::max(highest, value);
    QVERIFY(axis->max() >= highest);
    QCOMPARE(view.valueScale(), 1.0);
}

void TrendChartViewTest::byteRatesAreScaled() {
    TrendChartView view;
    TrendSeries series = makeSeries(288, 48, false);
    series.unit = QStringLiteral("bytes/s");
    for (double& value : series.history)
        value *= 20000.0; // about 20 MB/s
    view.setSeries(series);
    QCOMPARE(view.valueAxis()->titleText(), QStringLiteral("MB/s"));
    QCOMPARE(view.valueScale(), 1e6);
    QCOMPARE(view.historySeries()->at(5).y(), series.history[5] / 1e6);
}

void TrendChartViewTest::legendAndTitle() {
    TrendChartView view;
    TrendSeries series = makeSeries(288, 48);
    series.capacity = 4000.0;
    view.setSeries(series);
    show(view);
    QCOMPARE(view.chart()->title(), series.title);
    QVERIFY(view.chart()->legend()->isVisible());
    QStringList shown;
    for (QLegendMarker* marker : view.chart()->legend()->markers()) {
        if (marker->isVisible())
            shown << marker->label();
    }
    shown.sort();
    QCOMPARE(shown, (QStringList{QStringLiteral("capacity"), QStringLiteral("forecast"),
                                 QStringLiteral("history"), QStringLiteral("prediction band")}));
}

void TrendChartViewTest::clearShowsTheHint() {
    TrendChartView view;
    view.setSeries(makeSeries(288, 48));
    view.clear(QStringLiteral("No load recorded for host-3 yet"));
    QVERIFY(view.isShowingHint());
    QCOMPARE(view.hintText(), QStringLiteral("No load recorded for host-3 yet"));
    QVERIFY(!view.series().has_value());
    QCOMPARE(view.historySeries()->count(), 0);
    QCOMPARE(view.forecastSeries()->count(), 0);
    QCOMPARE(view.bandSeries()->upperSeries()->count(), 0);

    view.clear();
    QCOMPARE(view.hintText(),
             QStringLiteral("Select a range in the heatmap or a table to see its trend"));
    view.setSeries(makeSeries(10, 2));
    QVERIFY(!view.isShowingHint());
}

void TrendChartViewTest::emptyStateKeepsLabelledAxes_data() {
    QTest::addColumn<bool>("withTime");
    QTest::addColumn<QString>("unit");
    QTest::addColumn<QString>("axisUnit");
    QTest::newRow("nothing known yet") << false << QString() << QStringLiteral("ops/s");
    QTest::newRow("a range without load")
        << true << QStringLiteral("ops/s") << QStringLiteral("ops/s");
    QTest::newRow("bytes") << true << QStringLiteral("bytes/s") << QStringLiteral("B/s");
}

// Nothing to draw is still a chart: the axes say what will be drawn (time, and the unit), the
// hint sits over the empty plot, not in place of it.
void TrendChartViewTest::emptyStateKeepsLabelledAxes() {
    QFETCH(bool, withTime);
    QFETCH(QString, unit);
    QFETCH(QString, axisUnit);
    TrendChartView view;
    show(view);
    view.setSeries(makeSeries(288, 48));
    const QString hint = QStringLiteral("No load recorded for shard 3 on n1 yet");
    view.clear(hint, withTime ? std::optional<TimeMs>(kNow) : std::nullopt, unit);
    QCoreApplication::processEvents();

    QVERIFY(view.isShowingHint());
    QCOMPARE(view.hintText(), hint);
    QVERIFY(view.chartView()->isVisible());
    QVERIFY(view.hintLabel()->isVisible());
    QCOMPARE(view.timeAxis()->titleText(), QStringLiteral("time (UTC)"));
    QVERIFY(view.timeAxis()->isVisible());
    QCOMPARE(view.valueAxis()->titleText(), axisUnit);
    QVERIFY(view.valueAxis()->isVisible());
    QCOMPARE(view.historySeries()->count(), 0);
    QVERIFY(!view.nowSeries()->isVisible());
    // The hint covers the plot area, inside the chart's view.
    const QRect hintBox = view.hintLabel()->geometry();
    QVERIFY(hintBox.width() > 100 && hintBox.height() > 50);
    QVERIFY(view.chartView()->viewport()->rect().contains(hintBox));
    if (withTime) { // the hour around now, labelled
        QCOMPARE(view.timeRangeMs(),
                 std::make_pair(kNow - 30 * kMsPerMinute, kNow + 30 * kMsPerMinute));
        QVERIFY(view.timeAxis()->categoriesLabels().size() >= 2);
    } else { // no time to name: one blank label
        QCOMPARE(view.timeAxis()->categoriesLabels(), QStringList{QStringLiteral(" ")});
    }

    view.setSeries(makeSeries(10, 2));
    QVERIFY(!view.isShowingHint());
    QVERIFY(view.hintLabel()->isHidden());
    QCOMPARE(view.valueAxis()->titleText(), QStringLiteral("ops/s"));
}

// A live cluster's first minutes are a bucket or two: a line needs two points to show at all.
void TrendChartViewTest::shortHistoryMarksItsPoints() {
    TrendChartView view;
    view.setSeries(makeSeries(1, 3));
    QCOMPARE(view.historySeries()->count(), 1);
    QVERIFY(view.historySeries()->pointsVisible());
    view.setSeries(makeSeries(2016, 288));
    QVERIFY(!view.historySeries()->pointsVisible());
}

// The newest history bucket is in progress: now is inside it, before the forecast's first step.
void TrendChartViewTest::nowLineSitsAtNowInsideTheNewestBucket() {
    TrendChartView view;
    TrendSeries series = makeSeries(2, 3);
    series.now_ms = kNow - kStep + 40'000; // 40 s into the newest bucket
    view.setSeries(series);
    QLineSeries* now = view.nowSeries();
    QVERIFY(now->isVisible());
    QCOMPARE(now->count(), 2);
    QCOMPARE(now->at(0).x(), chartX(*series.now_ms));
    QCOMPARE(now->at(1).x(), chartX(*series.now_ms));
    QVERIFY(now->at(0).x() > view.historySeries()->at(1).x());
    QVERIFY(now->at(0).x() < view.forecastSeries()->at(1).x());

    // Without now_ms, now is the forecast's start, as before.
    series.now_ms.reset();
    view.setSeries(series);
    QCOMPARE(view.nowSeries()->at(0).x(), chartX(kNow));
    // A now after the data widens the axis so the line stays in the plot.
    TrendSeries historyOnly = makeSeries(12, 0);
    historyOnly.now_ms = kNow + kMsPerHour;
    view.setSeries(historyOnly);
    QVERIFY(view.nowSeries()->isVisible());
    QCOMPARE(view.timeRangeMs().second, kNow + kMsPerHour);
}

// Time labels sit on their tick, centred: the one at the axis' end must not run off the chart.
void TrendChartViewTest::timeLabelsAreNeverCut() {
    TrendChartView view;
    show(view);
    view.setSeries(makeSeries(3, 3)); // 12:45 to 13:10: labels on both ends
    QCoreApplication::processEvents();
    const QFontMetrics metrics(view.timeAxis()->labelsFont());
    const QStringList labels = view.timeAxis()->categoriesLabels();
    QVERIFY(labels.size() >= 2);
    const qreal chartRight = view.chart()->size().width();
    for (const QString& label : labels) {
        const QPointF at = view.chart()->mapToPosition(
            QPointF(view.timeAxis()->endValue(label), 0.0), view.historySeries());
        QVERIFY2(at.x() + metrics.horizontalAdvance(label) / 2.0 <= chartRight, qPrintable(label));
        QVERIFY2(at.x() - metrics.horizontalAdvance(label) / 2.0 >= 0.0, qPrintable(label));
    }
    // Wide enough not to be elided: Qt Charts gives each label of a category axis the axis'
    // width over (labels + 1), less twice its padding (5 px).
    const qreal room = view.chart()->plotArea().width() / (labels.size() + 1) - 10.0;
    for (const QString& label : labels)
        QVERIFY2(metrics.horizontalAdvance(label) <= room, qPrintable(label));
    const QString last = labels.last();
    QCOMPARE(static_cast<TimeMs>(view.timeAxis()->endValue(last)), view.timeRangeMs().second);
}

void TrendChartViewTest::nonFiniteValuesAreLeftOut() {
    TrendChartView view;
    TrendSeries series = makeSeries(10, 4);
    series.history[3] = std::numeric_limits<double>::quiet_NaN();
    series.forecast[1] = std::numeric_limits<double>::infinity();
    view.setSeries(series);
    QCOMPARE(view.historySeries()->count(), 9);
    QCOMPARE(view.forecastSeries()->count(), 1 + 3);
    QVERIFY(std::isfinite(view.valueAxis()->max()));
}

// Writes PNGs with realistic data when RANGEPILOT_SCREENSHOT_DIR is set, to look at.
void TrendChartViewTest::saveScreenshots() {
    const QString directory = qEnvironmentVariable("RANGEPILOT_SCREENSHOT_DIR");
    if (directory.isEmpty())
        QSKIP("RANGEPILOT_SCREENSHOT_DIR not set");
    TrendChartView view;
    view.resize(760, 380);
    TrendSeries series = makeSeries(2016, 288);
    series.capacity = 4200.0;
    series.title = QStringLiteral("host-3 (all its shards)");
    view.setSeries(series);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QVERIFY(view.grab().save(QDir(directory).filePath(QStringLiteral("trend_chart_host.png"))));

    TrendSeries range = makeSeries(288, 72);
    range.unit = QStringLiteral("bytes/s");
    for (auto* values : {&range.history, &range.forecast, &range.band_low, &range.band_high}) {
        for (double& value : *values)
            value *= 18000.0;
    }
    view.resize(480, 300);
    view.setSeries(range);
    QCoreApplication::processEvents();
    QVERIFY(view.grab().save(QDir(directory).filePath(QStringLiteral("trend_chart_range.png"))));

    view.clear();
    QCoreApplication::processEvents(); // the chart lays itself out on the next event-loop turn
    QVERIFY(view.grab().save(QDir(directory).filePath(QStringLiteral("trend_chart_empty.png"))));
    view.clear(QStringLiteral("No load recorded for shard 3 [user0042, user0051) on n1 yet"), kNow);
    QCoreApplication::processEvents();
    QVERIFY(
        view.grab().save(QDir(directory).filePath(QStringLiteral("trend_chart_empty_at_now.png"))));
}

QTEST_MAIN(TrendChartViewTest)
#include "tst_trend_chart_view.moc"
