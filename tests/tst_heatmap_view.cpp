#include "display_text.h"
#include "heatmap_view.h"

#include <QComboBox>
#include <QDir>
#include <QSignalSpy>
#include <QToolTip>
#include <QtTest>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

using namespace rangepilot;

Q_DECLARE_METATYPE(rangepilot::HeatmapGrid)

namespace {

constexpr TimeMs kStart = 1767571200000; // 2026-01-05 00:00 UTC
constexpr TimeMs kColumn = 5 * kMsPerMinute;
constexpr double kColumnSeconds = 300.0;
constexpr double kStartSeconds = kStart / 1000.0;

// values(c, r) = c * 100 + r: every cell distinct and easy to name.
HeatmapGrid countingGrid(std::size_t columns, std::size_t observed, std::size_t rows) {
    HeatmapGrid grid;
    grid.start_ms = kStart;
    grid.column_ms = kColumn;
    grid.columns = columns;
    grid.observed_columns = observed;
    grid.rows = rows;
    grid.values.resize(columns * rows);
    for (std::size_t c = 0; c < columns; ++c) {
        for (std::size_t r = 0; r < rows; ++r)
            grid.values[c * rows + r] = static_cast<double>(c * 100 + r);
    }
    return grid;
}

// A live cluster's grid: `observed` columns, the newest in progress with now `intoNewest` ms
// into it, and an hour of projection after them.
HeatmapGrid liveGrid(std::size_t observed, TimeMs intoNewest, std::size_t rows = 20) {
    HeatmapGrid grid = countingGrid(observed + 12, observed, rows);
    grid.now_ms = kStart + static_cast<TimeMs>(observed - 1) * kColumn + intoNewest;
    return grid;
}

// Whether `label`'s box lies inside the map (the axis rect), where nothing cuts it.
bool insideTheMap(QCPItemText* label, QCPAxisRect* rect) {
    const QRectF box(label->topLeft->pixelPosition(), label->bottomRight->pixelPosition());
    return QRectF(rect->rect()).adjusted(-0.5, -0.5, 0.5, 0.5).contains(box);
}

std::vector<Key> letterKeys(std::size_t rows) {
    std::vector<Key> keys{""};
    for (std::size_t r = 1; r < rows; ++r)
        keys.push_back(std::string(1, static_cast<char>('a' + r)));
    return keys;
}

// `count` stripes of equal height over `rows` rows; stripe i is shard 100 + i on host h<i % 4>.
std::vector<HeatmapStripe> evenStripes(std::size_t rows, std::size_t count) {
    std::vector<HeatmapStripe> stripes;
    for (std::size_t i = 0; i < count; ++i) {
        stripes.push_back({static_cast<ShardId>(100 + i), i * rows / count, (i + 1) * rows / count,
                           QStringLiteral("h%1").arg(i % 4)});
    }
    return stripes;
}

double timeOfColumn(double column) {
    return kStartSeconds + column * kColumnSeconds;
}

void showAndSettle(HeatmapView& view) {
    view.resize(900, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.replotNow();
    QCoreApplication::processEvents();
}

// A realistic picture: a daily cycle over a skewed key space, a hot band sweeping across the keys
// over the days, and noise on the observed part only; 5-minute columns, the last quarter projected.
HeatmapGrid realisticGrid(std::size_t rows, std::size_t columns) {
    HeatmapGrid grid;
    grid.start_ms = kStart;
    grid.column_ms = kColumn;
    grid.columns = columns;
    grid.observed_columns = columns * 3 / 4;
    grid.rows = rows;
    grid.values.resize(rows * columns);
    std::uint32_t noise = 12345;
    const double pi = std::acos(-1.0);
    for (std::size_t c = 0; c < columns; ++c) {
        const double hours = static_cast<double>(c) * 5.0 / 60.0;
        const double daily = 0.55 + 0.45 * std::sin(2.0 * pi * (hours - 8.0) / 24.0);
        const double hotCentre =
            static_cast<double>(rows) * (0.15 + 0.7 * static_cast<double>(c) / columns);
        for (std::size_t r = 0; r < rows; ++r) {
            const double skew = 90.0 + 400.0 / (1.0 + static_cast<double>(r) / 60.0);
            const double distance = (static_cast<double>(r) - hotCentre) / (rows / 60.0);
            const double hot = 900.0 * std::exp(-distance * distance) * daily;
            double value = skew * daily + hot;
            if (c < grid.observed_columns) {
                noise = noise * 1664525u + 1013904223u;
                value *= 0.85 + 0.3 * static_cast<double>(noise >> 8) / double(1u << 24);
            }
            grid.values[c * rows + r] = value;
        }
    }
    return grid;
}

std::vector<Key> userKeys(std::size_t rows) {
    std::vector<Key> keys{""};
    char text[32];
    for (std::size_t r = 1; r < rows; ++r) {
        std::snprintf(text, sizeof text, "user%06zu", r * 97);
        keys.emplace_back(text);
    }
    return keys;
}

} // namespace

class HeatmapViewTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void mapHoldsTheGridCellByCell();
    void zoomedOutMapKeepsEachPixelsPeak();
    void zoomedOutMapKeepsEachPixelsPeakOverTime();
    void zoomingInRestoresFullResolution();
    void largeGridsReduceInParallelToTheSameMap();
    void colourScaleCoversTheWholeGridWhenZoomedIn();
    void nowLineAndProjectionShadeSitAtNow();
    void nowLineSitsAtTheClusterTimeInsideTheNewestColumn();
    void defaultViewFollowsTheObservedHistory();
    void nowCaptionsAreNeverCut_data();
    void nowCaptionsAreNeverCut();
    void stripesDrawBoundariesAndHostLabels();
    void thinStripesSkipCollidingLabels();
    void rowTicksAreLabelledWithKeys();
    void toolTip_data();
    void toolTip();
    void toolTipNamesMissingProjection();
    void hoverShowsTheToolTip();
    void metricComboEmitsMetricChanged();
    void clickOnStripeEmitsShardClicked();
    void setGridKeepsZoomOnSameExtent();
    void fullViewFollowsTheExtent();
    void bigExtentChangeResetsZoom();
    void zoomIsClampedToTheData();
    void doubleClickResetsZoom();
    void replotsAreCoalesced();
    void malformedGridShowsNothing();
    void saveScreenshots();
};

void HeatmapViewTest::mapHoldsTheGridCellByCell() {
    HeatmapView view;
    const HeatmapGrid grid = countingGrid(8, 6, 5);
    view.setGrid(grid, LoadMetric::Ops);
    showAndSettle(view);

    QCPColorMapData* data = view.colorMap()->data();
    QCOMPARE(data->keySize(), 8);
    QCOMPARE(data->valueSize(), 5);
    for (int c = 0; c < 8; ++c) {
        for (int r = 0; r < 5; ++r)
            QCOMPARE(data->cell(c, r), grid.at(std::size_t(c), std::size_t(r)));
    }
    // Cell centres: the middle of each 5-minute column and of each row.
    double key = 0.0;
    double value = 0.0;
    data->cellToCoord(2, 3, &key, &value);
    QCOMPARE(key, timeOfColumn(2.5));
    QCOMPARE(value, 3.5);
    QCOMPARE(view.colorMap()->dataRange().upper, 704.0);
    QCOMPARE(view.colorMap()->interpolate(), false);
}

void HeatmapViewTest::zoomedOutMapKeepsEachPixelsPeak() {
    HeatmapView view;
    HeatmapGrid grid = countingGrid(10, 10, 3000);
    std::fill(grid.values.begin(), grid.values.end(), 1.0);
    grid.values[4 * 3000 + 1234] = 1000.0; // one hot cell
    view.setGrid(grid, LoadMetric::Ops);
    showAndSettle(view);

    QCPColorMapData* data = view.colorMap()->data();
    QVERIFY2(data->valueSize() < 1000, "more map rows than the plot has pixels");
    QCOMPARE(data->dataBounds().upper, 1000.0);
    QCOMPARE(data->data(timeOfColumn(4.5), 1234.5), 1000.0);
    QCOMPARE(data->data(timeOfColumn(4.5), 2500.5), 1.0);
}

void HeatmapViewTest::zoomedOutMapKeepsEachPixelsPeakOverTime() {
    HeatmapView view;
    HeatmapGrid grid = countingGrid(4000, 3000, 10);
    std::fill(grid.values.begin(), grid.values.end(), 1.0);
    grid.values[2001 * 10 + 7] = 1000.0; // one hot 5-minute column in one cell
    view.setGrid(grid, LoadMetric::Ops);
    showAndSettle(view);

    QCPColorMapData* data = view.colorMap()->data();
    QVERIFY2(data->keySize() < 2000, "more map columns than the plot has pixels");
    QCOMPARE(data->dataBounds().upper, 1000.0);
    QCOMPARE(data->data(timeOfColumn(2001.5), 7.5), 1000.0);
    QCOMPARE(data->data(timeOfColumn(3500.5), 7.5), 1.0);
}

// Over a million cells the reduction is split across threads: every map cell must still be the
// highest grid value of its block. With values c * 10000 + r that is the block's last cell.
void HeatmapViewTest::largeGridsReduceInParallelToTheSameMap() {
    const std::size_t columns = 1000;
    const std::size_t rows = 1300;
    HeatmapView view;
    HeatmapGrid grid = countingGrid(columns, 800, rows);
    for (std::size_t c = 0; c < columns; ++c) {
        for (std::size_t r = 0; r < rows; ++r)
            grid.values[c * rows + r] = static_cast<double>(c * 10000 + r);
    }
    view.setGrid(grid, LoadMetric::Ops);
    showAndSettle(view);

    QCPColorMapData* data = view.colorMap()->data();
    const int keys = data->keySize();
    const int values = data->valueSize();
    const auto columnStep = static_cast<std::size_t>(
        std::lround(data->keyRange().size() / (keys - 1) / kColumnSeconds));
    const auto rowStep =
        static_cast<std::size_t>(std::lround(data->valueRange().size() / (values - 1)));
    QVERIFY(columnStep > 1);
    QVERIFY(rowStep > 1);
    int mismatches = 0;
    for (int k = 0; k < keys; ++k) {
        for (int v = 0; v < values; ++v) {
            const std::size_t lastColumn = std::min((k + 1) * columnStep, columns) - 1;
            const std::size_t lastRow = std::min((v + 1) * rowStep, rows) - 1;
            if (data->cell(k, v) != grid.at(lastColumn, lastRow))
                ++mismatches;
        }
    }
    QCOMPARE(mismatches, 0);
    QCOMPARE(view.colorMap()->dataRange().upper, grid.at(columns - 1, rows - 1));
}

void HeatmapViewTest::colourScaleCoversTheWholeGridWhenZoomedIn() {
    HeatmapView view;
    view.setGrid(countingGrid(40, 30, 100), LoadMetric::Ops);
    showAndSettle(view);
    view.plot()->xAxis->setRange(timeOfColumn(0), timeOfColumn(10));
    view.plot()->yAxis->setRange(0.0, 10.0);

    HeatmapGrid next = countingGrid(40, 30, 100);
    next.values[35 * 100 + 90] = 99999.0; // far outside the view
    view.setGrid(next, LoadMetric::Ops);
    view.replotNow();
    QCOMPARE(view.colorMap()->data()->keySize(), 10);
    QCOMPARE(view.colorMap()->dataRange(), QCPRange(0.0, 99999.0));
}

void HeatmapViewTest::zoomingInRestoresFullResolution() {
    HeatmapView view;
    const HeatmapGrid grid = countingGrid(10, 10, 3000);
    view.setGrid(grid, LoadMetric::Ops);
    showAndSettle(view);
    view.plot()->yAxis->setRange(100.0, 120.0);
    view.replotNow();

    QCPColorMapData* data = view.colorMap()->data();
    QCOMPARE(data->valueSize(), 20);
    for (int r = 0; r < 20; ++r)
        QCOMPARE(data->data(timeOfColumn(3.5), 100.5 + r), grid.at(3, std::size_t(100 + r)));
}

void HeatmapViewTest::nowLineAndProjectionShadeSitAtNow() {
    HeatmapView view;
    const HeatmapGrid grid = countingGrid(12, 9, 4);
    view.setGrid(grid, LoadMetric::Ops);
    showAndSettle(view);

    const double now = static_cast<double>(grid.nowMs()) / 1000.0;
    QCOMPARE(now, timeOfColumn(9));
    QCOMPARE(view.nowSeconds(), now);
    QVERIFY(view.nowLine()->visible());
    QCOMPARE(view.nowLine()->point1->coords().x(), now);
    QCOMPARE(view.nowLine()->point2->coords().x(), now);
    QCOMPARE(view.nowLabel()->text(), QStringLiteral("now"));
    QCOMPARE(view.nowLabel()->position->coords().x(), now);
    QVERIFY(view.projectedShade()->visible());
    QCOMPARE(view.projectedShade()->topLeft->coords().x(), now);
    QCOMPARE(view.projectedShade()->bottomRight->coords().x(), timeOfColumn(12));

    // Without projected columns there is nothing to shade.
    view.setGrid(countingGrid(12, 12, 4), LoadMetric::Ops);
    QVERIFY(!view.projectedShade()->visible());
    QCOMPARE(view.nowLine()->point1->coords().x(), timeOfColumn(12));
}

// The status bar's cluster time is the newest counts' end; the now line must say the same,
// not the end of the 5-minute bucket in progress.
void HeatmapViewTest::nowLineSitsAtTheClusterTimeInsideTheNewestColumn() {
    HeatmapView view;
    const HeatmapGrid grid = liveGrid(2, 20'000);
    view.setGrid(grid, LoadMetric::Ops);
    showAndSettle(view);
    const double now = timeOfColumn(1) + 20.0;
    QCOMPARE(view.nowSeconds(), now);
    QCOMPARE(view.nowLine()->point1->coords().x(), now);
    QCOMPARE(view.nowLabel()->position->coords().x(), now);
    QCOMPARE(view.projectedShade()->topLeft->coords().x(), now);
    QCOMPARE(view.projectedShade()->bottomRight->coords().x(), timeOfColumn(14));
    // In pixels too: the line is a sixth of a column right of the newest column's start.
    const double columnPixels = view.plot()->xAxis->coordToPixel(timeOfColumn(2)) -
                                view.plot()->xAxis->coordToPixel(timeOfColumn(1));
    const double linePixel = view.plot()->xAxis->coordToPixel(now);
    const double intoColumn = linePixel - view.plot()->xAxis->coordToPixel(timeOfColumn(1));
    QVERIFY2(std::abs(intoColumn - columnPixels / 15.0) < 0.5,
             qPrintable(QString::number(intoColumn)));
}

// After minutes of a live cluster the default view is those minutes and about as much
// projection, not the projection's hour; it grows with the history, and the whole projection is
// still a zoom away.
void HeatmapViewTest::defaultViewFollowsTheObservedHistory() {
    HeatmapView view;
    view.setGrid(liveGrid(1, kMsPerMinute), LoadMetric::Ops);
    showAndSettle(view);
    QCOMPARE(view.fullTimeRange(), QCPRange(timeOfColumn(0), timeOfColumn(13)));
    QCOMPARE(view.defaultTimeRange(), QCPRange(timeOfColumn(0), timeOfColumn(3)));
    QCOMPARE(view.plot()->xAxis->range(), view.defaultTimeRange());
    // The observed part is a fair share of the width, not a sliver.
    const QCPRange shown = view.plot()->xAxis->range();
    QVERIFY((view.nowSeconds() - shown.lower) / shown.size() > 0.05);

    // Half an hour later (7 columns observed, now 2 minutes into the newest): the view followed.
    view.setGrid(liveGrid(7, 2 * kMsPerMinute), LoadMetric::Ops);
    QCOMPARE(view.plot()->xAxis->range(), QCPRange(timeOfColumn(0), timeOfColumn(13)));
    const double observedShare =
        (view.nowSeconds() - timeOfColumn(0)) / view.plot()->xAxis->range().size();
    QVERIFY2(observedShare > 0.45 && observedShare < 0.55,
             qPrintable(QString::number(observedShare)));

    // Zooming out reaches the whole projection; resetting (a double click) comes back to the
    // default.
    view.plot()->xAxis->setRange(view.fullTimeRange());
    QCOMPARE(view.plot()->xAxis->range(), QCPRange(timeOfColumn(0), timeOfColumn(19)));
    view.resetZoom();
    QCOMPARE(view.plot()->xAxis->range(), view.defaultTimeRange());

    // Hours of history (the simulated cluster, a trace): the default is the whole grid.
    view.setGrid(countingGrid(300, 288, 20), LoadMetric::Ops);
    QCOMPARE(view.plot()->xAxis->range(), view.fullTimeRange());
}

void HeatmapViewTest::nowCaptionsAreNeverCut_data() {
    QTest::addColumn<HeatmapGrid>("grid");
    QTest::addColumn<double>("fromColumn"); // the zoomed time range, in columns (-1: default)
    QTest::addColumn<double>("toColumn");
    QTest::addColumn<bool>("nowShown");
    QTest::addColumn<bool>("observedShown");
    QTest::addColumn<bool>("projectedShown");
    // A minute in: no room left of now for "◂ observed" (the hatching tells the parts apart).
    QTest::newRow("live, a minute")
        << liveGrid(1, kMsPerMinute) << -1.0 << -1.0 << true << false << true;
    QTest::newRow("live, five minutes")
        << liveGrid(2, 30'000) << -1.0 << -1.0 << true << true << true;
    // A day and an hour: the hour's 4% of the width has no room for "projected ▸".
    QTest::newRow("a day") << countingGrid(300, 288, 20) << -1.0 << -1.0 << true << true << false;
    // Zoomed so that now is at the map's right or left edge: "now" moves inside, the caption on
    // the far side goes.
    QTest::newRow("now at the right edge")
        << countingGrid(300, 288, 20) << 280.0 << 288.0 << true << true << false;
    QTest::newRow("now at the left edge")
        << countingGrid(300, 288, 20) << 288.0 << 296.0 << true << false << true;
    QTest::newRow("now out of view")
        << countingGrid(300, 288, 20) << 100.0 << 110.0 << false << false << false;
}

void HeatmapViewTest::nowCaptionsAreNeverCut() {
    QFETCH(HeatmapGrid, grid);
    QFETCH(double, fromColumn);
    QFETCH(double, toColumn);
    QFETCH(bool, nowShown);
    QFETCH(bool, observedShown);
    QFETCH(bool, projectedShown);
    HeatmapView view;
    view.setGrid(grid, LoadMetric::Ops);
    showAndSettle(view);
    if (fromColumn >= 0.0) {
        view.plot()->xAxis->setRange(timeOfColumn(fromColumn), timeOfColumn(toColumn));
        view.replotNow();
    }
    QCPAxisRect* rect = view.plot()->axisRect();
    QCOMPARE(view.nowLabel()->visible(), nowShown);
    QCOMPARE(view.observedLabel()->visible(), observedShown);
    QCOMPARE(view.projectedLabel()->visible(), projectedShown);
    for (QCPItemText* label : {view.nowLabel(), view.observedLabel(), view.projectedLabel()}) {
        if (label->visible())
            QVERIFY2(insideTheMap(label, rect), qPrintable(label->text()));
    }
}

void HeatmapViewTest::stripesDrawBoundariesAndHostLabels() {
    HeatmapView view;
    view.setGrid(countingGrid(8, 6, 20), LoadMetric::Ops);
    view.setStripes(evenStripes(20, 4));
    showAndSettle(view);

    QCOMPARE(view.visibleBoundaryRows(), (std::vector<double>{5.0, 10.0, 15.0}));
    QCOMPARE(view.visibleStripeLabels(), (QStringList{QStringLiteral("h0"), QStringLiteral("h1"),
                                                      QStringLiteral("h2"), QStringLiteral("h3")}));

    // Zoomed into rows [4, 9): one boundary and two stripes left in view.
    view.plot()->yAxis->setRange(4.0, 9.0);
    view.replotNow();
    QCOMPARE(view.visibleBoundaryRows(), (std::vector<double>{5.0}));
    QCOMPARE(view.visibleStripeLabels(), (QStringList{QStringLiteral("h0"), QStringLiteral("h1")}));
}

void HeatmapViewTest::thinStripesSkipCollidingLabels() {
    HeatmapView view;
    view.setGrid(countingGrid(8, 6, 400), LoadMetric::Ops);
    view.setStripes(evenStripes(400, 200)); // 2 rows each: about 2.5 pixels
    showAndSettle(view);

    const QStringList labels = view.visibleStripeLabels();
    QVERIFY(labels.size() > 5);
    QVERIFY(labels.size() < 100);
    std::vector<QRectF> boxes;
    for (int i = 0; i < view.plot()->itemCount(); ++i) {
        auto* text = qobject_cast<QCPItemText*>(view.plot()->item(i));
        if (!text || !text->visible() || text->clipToAxisRect())
            continue;
        const double centre = text->position->pixelPosition().y();
        const double height = QFontMetricsF(text->font()).height();
        boxes.emplace_back(0.0, centre - height / 2.0, 10.0, height);
    }
    QCOMPARE(boxes.size(), std::size_t(labels.size()));
    for (std::size_t i = 0; i < boxes.size(); ++i) {
        for (std::size_t j = i + 1; j < boxes.size(); ++j)
            QVERIFY2(!boxes[i].intersects(boxes[j]), "two host labels overlap");
    }
    // Boundary lines are thinned too (200 lines on ~500 pixels would be a solid block).
    QVERIFY(view.visibleBoundaryRows().size() < 199);
}

void HeatmapViewTest::rowTicksAreLabelledWithKeys() {
    HeatmapView view;
    view.setGrid(countingGrid(8, 6, 20), LoadMetric::Ops);
    view.setRowKeys(letterKeys(20));
    showAndSettle(view);

    const QVector<double> ticks = view.plot()->yAxis->tickVector();
    const QVector<QString> labels = view.plot()->yAxis->tickVectorLabels();
    QVERIFY(ticks.size() >= 3);
    const std::vector<Key> keys = letterKeys(20);
    for (int i = 0; i < ticks.size(); ++i) {
        QCOMPARE(ticks[i], std::round(ticks[i])); // whole rows only
        const auto row = static_cast<std::size_t>(ticks[i]);
        if (row < keys.size())
            QCOMPARE(labels[i], display::key(keys[row]));
    }
}

void HeatmapViewTest::toolTip_data() {
    QTest::addColumn<double>("column");
    QTest::addColumn<double>("row");
    QTest::addColumn<QStringList>("expected"); // substrings, in order; empty = no tooltip
    QTest::newRow("observed cell")
        << 2.5 << 3.5
        << QStringList{QStringLiteral("[d, e)"), QStringLiteral("shard 100 on h0"),
                       QStringLiteral("2026-01-05 00:10 UTC"),
                       QStringLiteral("observed: 203 ops/s"),
                       QStringLiteral("projected peak: 703 ops/s")};
    QTest::newRow("projected cell, second stripe")
        << 6.2 << 12.9
        << QStringList{QStringLiteral("[m, n)"), QStringLiteral("shard 102 on h2"),
                       QStringLiteral("00:30 UTC"), QStringLiteral("projected: 612 ops/s"),
                       QStringLiteral("projected peak: 712 ops/s")};
    QTest::newRow("last row runs to +inf")
        << 0.1 << 19.5 << QStringList{QStringLiteral("[t, +inf)")};
    QTest::newRow("small rates keep a decimal")
        << 0.5 << 4.0 << QStringList{QStringLiteral("observed: 4.0 ops/s")};
    QTest::newRow("before the data") << -0.5 << 3.0 << QStringList{};
    QTest::newRow("after the data") << 8.01 << 3.0 << QStringList{};
    QTest::newRow("above the keys") << 2.0 << -0.1 << QStringList{};
    QTest::newRow("below the keys") << 2.0 << 20.0 << QStringList{};
}

void HeatmapViewTest::toolTip() {
    QFETCH(double, column);
    QFETCH(double, row);
    QFETCH(QStringList, expected);
    HeatmapView view;
    view.setGrid(countingGrid(8, 6, 20), LoadMetric::Ops);
    view.setRowKeys(letterKeys(20));
    view.setStripes(evenStripes(20, 4));

    const QString text = view.toolTipAt(timeOfColumn(column), row);
    if (expected.isEmpty()) {
        QVERIFY2(text.isEmpty(), qPrintable(text));
        return;
    }
    qsizetype from = 0;
    for (const QString& part : expected) {
        const qsizetype at = text.indexOf(part, from);
        QVERIFY2(at >= 0, qPrintable(part + QStringLiteral(" not in: ") + text));
        from = at + part.size();
    }
}

void HeatmapViewTest::toolTipNamesMissingProjection() {
    HeatmapView view;
    HeatmapGrid grid = countingGrid(8, 6, 4);
    for (std::size_t c = 6; c < 8; ++c) {
        for (std::size_t r = 0; r < 4; ++r)
            grid.values[c * 4 + r] = std::numeric_limits<double>::quiet_NaN();
    }
    view.setGrid(grid, LoadMetric::Reads);
    const QString text = view.toolTipAt(timeOfColumn(7.5), 1.5);
    QVERIFY2(text.contains(QStringLiteral("projected: none for reads/s")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("projected peak: ") + display::unknown()),
             qPrintable(text));
    const QString bytes = [&] {
        view.setGrid(countingGrid(8, 6, 4), LoadMetric::Bytes);
        return view.toolTipAt(timeOfColumn(1.5), 1.5);
    }();
    QVERIFY2(bytes.contains(QStringLiteral("observed: 101 B/s")), qPrintable(bytes));
}

void HeatmapViewTest::hoverShowsTheToolTip() {
    HeatmapView view;
    view.setGrid(countingGrid(8, 6, 20), LoadMetric::Ops);
    view.setRowKeys(letterKeys(20));
    view.setStripes(evenStripes(20, 4));
    showAndSettle(view);

    QCustomPlot* plot = view.plot();
    const QPoint cell(qRound(plot->xAxis->coordToPixel(timeOfColumn(2.5))),
                      qRound(plot->yAxis->coordToPixel(3.5)));
    QTest::mouseMove(plot, cell);
    QTRY_VERIFY(QToolTip::isVisible());
    QVERIFY2(QToolTip::text().contains(QStringLiteral("observed: 203 ops/s")),
             qPrintable(QToolTip::text()));
    QTest::mouseMove(plot, QPoint(2, 2)); // outside the map
    QTRY_VERIFY(!QToolTip::isVisible());
}

void HeatmapViewTest::metricComboEmitsMetricChanged() {
    HeatmapView view;
    view.setGrid(countingGrid(8, 6, 4), LoadMetric::Ops);
    QSignalSpy spy(&view, &HeatmapView::metricChanged);
    QComboBox* combo = view.metricSelector();
    QCOMPARE(combo->count(), 5);
    QCOMPARE(combo->currentText(), QStringLiteral("ops/s"));

    combo->setCurrentIndex(combo->findText(QStringLiteral("bytes/s")));
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).value<LoadMetric>(), LoadMetric::Bytes);
    QCOMPARE(view.metric(), LoadMetric::Bytes);
    QCOMPARE(view.gridMetric(), LoadMetric::Ops);

    // A grid computed before the switch does not undo the user's choice...
    view.setGrid(countingGrid(8, 6, 4), LoadMetric::Ops);
    QCOMPARE(view.metric(), LoadMetric::Bytes);
    // ...the requested one arrives...
    view.setGrid(countingGrid(8, 6, 4), LoadMetric::Bytes);
    QCOMPARE(view.gridMetric(), LoadMetric::Bytes);
    QCOMPARE(view.colorMap()->colorScale()->axis()->label(), QStringLiteral("bytes/s"));
    // ...and from then on the app's metric selects the combo, without echoing metricChanged.
    view.setGrid(countingGrid(8, 6, 4), LoadMetric::MeanLatencyUs);
    QCOMPARE(view.metric(), LoadMetric::MeanLatencyUs);
    QCOMPARE(combo->currentText(), QStringLiteral("mean latency"));
    QCOMPARE(spy.count(), 1);
}

void HeatmapViewTest::clickOnStripeEmitsShardClicked() {
    HeatmapView view;
    view.setGrid(countingGrid(8, 6, 20), LoadMetric::Ops);
    view.setStripes(evenStripes(20, 4));
    showAndSettle(view);
    QSignalSpy spy(&view, &HeatmapView::shardClicked);

    QCustomPlot* plot = view.plot();
    const QPoint onThirdStripe(qRound(plot->xAxis->coordToPixel(timeOfColumn(3.0))),
                               qRound(plot->yAxis->coordToPixel(12.5)));
    QTest::mouseClick(plot, Qt::LeftButton, Qt::NoModifier, onThirdStripe);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).value<ShardId>(), ShardId(102));

    // Outside the map (in the key axis' margin): nothing.
    QTest::mouseClick(plot, Qt::LeftButton, Qt::NoModifier,
                      QPoint(plot->axisRect()->left() - 5, onThirdStripe.y()));
    QCOMPARE(spy.count(), 1);
}

void HeatmapViewTest::setGridKeepsZoomOnSameExtent() {
    HeatmapView view;
    view.setGrid(countingGrid(40, 30, 100), LoadMetric::Ops);
    showAndSettle(view);
    const QCPRange time(timeOfColumn(10), timeOfColumn(20));
    const QCPRange rows(30.0, 60.0);
    view.plot()->xAxis->setRange(time);
    view.plot()->yAxis->setRange(rows);

    HeatmapGrid next = countingGrid(40, 30, 100);
    next.values[0] = 5000.0; // new values, same extent
    view.setGrid(next, LoadMetric::Ops);
    QCOMPARE(view.plot()->xAxis->range(), time);
    QCOMPARE(view.plot()->yAxis->range(), rows);

    // The window slides by one column: still the same zoom.
    next.start_ms += kColumn;
    view.setGrid(next, LoadMetric::Ops);
    QCOMPARE(view.plot()->xAxis->range(), time);
    QCOMPARE(view.plot()->yAxis->range(), rows);
    view.replotNow();
    QCOMPARE(view.colorMap()->data()->valueSize(), 30);
}

void HeatmapViewTest::fullViewFollowsTheExtent() {
    HeatmapView view;
    view.setGrid(countingGrid(40, 30, 100), LoadMetric::Ops);
    showAndSettle(view);
    HeatmapGrid next = countingGrid(40, 30, 100);
    next.start_ms += 3 * kColumn;
    view.setGrid(next, LoadMetric::Ops);
    QCOMPARE(view.plot()->xAxis->range(), QCPRange(timeOfColumn(3), timeOfColumn(43)));
    QCOMPARE(view.plot()->yAxis->range(), QCPRange(0.0, 100.0));
}

void HeatmapViewTest::bigExtentChangeResetsZoom() {
    HeatmapView view;
    view.setGrid(countingGrid(40, 30, 100), LoadMetric::Ops);
    view.plot()->yAxis->setRange(30.0, 60.0);
    view.setGrid(countingGrid(40, 30, 200), LoadMetric::Ops); // cells were re-split
    QCOMPARE(view.plot()->yAxis->range(), QCPRange(0.0, 200.0));

    view.plot()->xAxis->setRange(timeOfColumn(10), timeOfColumn(20));
    view.setGrid(countingGrid(80, 60, 200), LoadMetric::Ops); // twice the time span
    QCOMPARE(view.plot()->xAxis->range(), QCPRange(timeOfColumn(0), timeOfColumn(80)));
}

void HeatmapViewTest::zoomIsClampedToTheData() {
    HeatmapView view;
    view.setGrid(countingGrid(40, 30, 100), LoadMetric::Ops);
    view.plot()->yAxis->setRange(-50.0, 20.0); // panned above the first key
    QCOMPARE(view.plot()->yAxis->range(), QCPRange(0.0, 70.0));
    view.plot()->yAxis->setRange(-500.0, 900.0); // zoomed out beyond everything
    QCOMPARE(view.plot()->yAxis->range(), QCPRange(0.0, 100.0));
    view.plot()->yAxis->setRange(10.0, 10.5); // closer than two rows
    QCOMPARE(view.plot()->yAxis->range().size(), 2.0);
    view.plot()->xAxis->setRange(timeOfColumn(35), timeOfColumn(50));
    QCOMPARE(view.plot()->xAxis->range(), QCPRange(timeOfColumn(25), timeOfColumn(40)));
}

void HeatmapViewTest::doubleClickResetsZoom() {
    HeatmapView view;
    view.setGrid(countingGrid(40, 30, 100), LoadMetric::Ops);
    showAndSettle(view);
    view.plot()->xAxis->setRange(timeOfColumn(10), timeOfColumn(20));
    view.plot()->yAxis->setRange(30.0, 60.0);
    view.replotNow();
    QTest::mouseDClick(view.plot(), Qt::LeftButton, Qt::NoModifier,
                       view.plot()->axisRect()->rect().center());
    QCOMPARE(view.plot()->xAxis->range(), view.defaultTimeRange());
    QCOMPARE(view.plot()->xAxis->range(), view.fullTimeRange()); // 30 columns seen, 10 projected
    QCOMPARE(view.plot()->yAxis->range(), view.fullRowRange());
}

void HeatmapViewTest::replotsAreCoalesced() {
    HeatmapView view;
    view.setGrid(countingGrid(40, 30, 100), LoadMetric::Ops);
    showAndSettle(view);
    QSignalSpy replots(view.plot(), &QCustomPlot::beforeReplot);

    for (int i = 0; i < 25; ++i) {
        HeatmapGrid grid = countingGrid(40, 30, 100);
        grid.values[0] = i;
        view.setGrid(std::move(grid), LoadMetric::Ops);
        view.setStripes(evenStripes(100, 5));
    }
    QCOMPARE(replots.count(), 0); // nothing until the event loop turns
    QTRY_COMPARE(replots.count(), 1);
    for (int i = 0; i < 5; ++i)
        QCoreApplication::processEvents();
    QCOMPARE(replots.count(), 1);
    QCOMPARE(view.colorMap()->data()->cell(0, 0), 24.0); // the last grid is the one drawn
}

void HeatmapViewTest::malformedGridShowsNothing() {
    HeatmapView view;
    HeatmapGrid grid = countingGrid(8, 6, 4);
    grid.values.pop_back();
    view.setGrid(grid, LoadMetric::Ops);
    view.replotNow();
    QCOMPARE(view.grid().rows, std::size_t(0));
    QVERIFY(view.colorMap()->data()->isEmpty());
    QVERIFY(view.toolTipAt(timeOfColumn(1), 1.0).isEmpty());
}

// Writes PNGs of the view with realistic data when RANGEPILOT_SCREENSHOT_DIR is set, to look at.
void HeatmapViewTest::saveScreenshots() {
    const QString directory = qEnvironmentVariable("RANGEPILOT_SCREENSHOT_DIR");
    if (directory.isEmpty())
        QSKIP("RANGEPILOT_SCREENSHOT_DIR not set");
    const std::size_t rows = 1024;
    HeatmapView view;
    view.setGrid(realisticGrid(rows, 600), LoadMetric::Ops);
    view.setRowKeys(userKeys(rows));
    std::vector<HeatmapStripe> stripes;
    for (std::size_t i = 0; i < 64; ++i) {
        stripes.push_back({static_cast<ShardId>(i + 1), i * rows / 64, (i + 1) * rows / 64,
                           QStringLiteral("host-%1").arg((i * 3) % 8 + 1)});
    }
    view.setStripes(stripes);
    view.resize(1400, 800);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.replotNow();
    QVERIFY(view.grab().save(QDir(directory).filePath(QStringLiteral("heatmap_full.png"))));

    view.plot()->xAxis->setRange(timeOfColumn(300), timeOfColumn(540));
    view.plot()->yAxis->setRange(500.0, 760.0);
    view.replotNow();
    QVERIFY(view.grab().save(QDir(directory).filePath(QStringLiteral("heatmap_zoomed.png"))));

    view.resize(700, 420);
    QCoreApplication::processEvents();
    view.resetZoom();
    view.replotNow();
    QVERIFY(view.grab().save(QDir(directory).filePath(QStringLiteral("heatmap_small.png"))));
}

QTEST_MAIN(HeatmapViewTest)
#include "tst_heatmap_view.moc"
