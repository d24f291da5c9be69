#pragma once

// HeatmapView: the console's main panel. Time runs along x (UTC), the key space down y (one row
// per key cell, the first key at the top), colour is the metric. Observed columns and projected
// columns share the plot; a vertical "now" line and a hatched overlay over the future tell them
// apart. Shard boundaries are horizontal lines, each stripe labelled with its owning host in the
// margin to the right of the map (labels that would collide are skipped). The "now", "observed"
// and "projected" captions at the top are shown only where they fit inside the map, never cut.
// The default view shows every observed column and as much of the projection as has been
// observed (defaultViewSpan in heatmap_grid.h): after minutes of a live cluster the projection's
// hour would leave the history a sliver. Mouse wheel and drag zoom and pan both axes (out to the
// whole projection), a double click returns to the default view, hovering shows what a cell
// holds, and a click on a stripe names its shard.
//
// The view draws what it is given: the app computes the HeatmapGrid for the metric chosen in the
// combo box above the plot (metricChanged) and hands it back with setGrid().
//
// Cost. setGrid(), setRowKeys() and setStripes() only store and schedule one replot for the next
// event-loop turn, so a burst of updates costs one replot. A replot puts at most about one map
// cell per screen pixel into QCustomPlot's colour map: when the visible part of the grid has more
// cells than the plot has pixels, each pixel shows the highest value among the cells it covers (a
// hot spot never vanishes when zoomed out). That is one pass over the visible cells, split across
// Qt Concurrent's pool and written into the colour map's buffer in bulk; the colour scale's top
// comes from the same pass when everything is in view. A replaced grid is freed on a pool thread.
// A new week of 5-minute columns over 4,096 key cells (66 MB) shows in about 20-25 ms at
// 1600×900 on two cores, of which ~10 ms is reading the grid and ~5 ms QCustomPlot's drawing
// (bench/bench_heatmap_replot.cpp). Zooming and panning without new data skip the pass when the
// visible cells did not change, and otherwise read only the visible cells.

#include "heatmap_grid.h"
#include "key.h"
#include "load_map.h"
#include "ownership_table.h"

#include <QPoint>
#include <QString>
#include <QStringList>
#include <QWidget>

// qcustomplot.h is written with Qt's `signals` and `foreach` keywords, which this project turns
// off (QT_NO_KEYWORDS, QT_NO_FOREACH); both are defined for this one include. Code that uses
// QCustomPlot includes it through this header (a later #include <qcustomplot.h> is then a no-op).
#ifndef QCUSTOMPLOT_H
#define signals Q_SIGNALS
#define foreach(declaration, container) for (declaration : container)
#include <qcustomplot.h>
#undef foreach
#undef signals
#endif

#include <cstddef>
#include <vector>

class QComboBox;
class QMouseEvent;
class QTimer;

namespace rangepilot {

// Rows [first_row, end_row) of the grid belong to `shard`, owned by `host`.
struct HeatmapStripe {
    ShardId shard = 0;
    std::size_t first_row = 0;
    std::size_t end_row = 0;
    QString host;
};

class HeatmapView : public QWidget {
    Q_OBJECT
public:
    explicit HeatmapView(QWidget* parent = nullptr);
    ~HeatmapView() override;

    // A new grid showing `metric`. The view keeps the user's zoom unless the extent changed a lot
    // (other row count, a time span more than 10% longer or shorter, or the zoomed region no
    // longer inside the data); a view showing the default keeps showing the default, which grows
    // with the observed history. The metric combo follows `metric` without emitting
    // metricChanged, unless the user has just picked another metric whose grid has not arrived
    // yet.
    void setGrid(HeatmapGrid grid, LoadMetric metric);
    // Row r covers [rowStartKeys[r], rowStartKeys[r + 1]), the last row up to +inf. Without keys
    // (or with a different count than the grid's rows) rows are named by number.
    void setRowKeys(std::vector<Key> rowStartKeys);
    // Stripes in any order, not overlapping.
    void setStripes(std::vector<HeatmapStripe> stripes);

    // The metric chosen in the combo box: the one the app should compute next. The grid on screen
    // shows gridMetric() until the app delivers it.
    LoadMetric metric() const;
    LoadMetric gridMetric() const { return m_gridMetric; }

    void replotNow(); // synchronous, for benchmarks and tests
    // The hover text for time `timeSeconds` (seconds since the epoch) and row coordinate `row`
    // (row r spans [r, r + 1)); empty outside the data.
    QString toolTipAt(double timeSeconds, double row) const;
    // The stripe holding row coordinate `row`, or null.
    const HeatmapStripe* stripeAt(double row) const;
    void resetZoom(); // to the default view: defaultTimeRange() × every row

    const HeatmapGrid& grid() const { return m_grid; }
    const std::vector<Key>& rowKeys() const { return m_rowKeys; }
    const std::vector<HeatmapStripe>& stripes() const { return m_stripes; }
    QCPRange fullTimeRange() const; // seconds since the epoch
    // The default view's time range (defaultViewSpan), in seconds since the epoch.
    QCPRange defaultTimeRange() const;
    QCPRange fullRowRange() const; // [0, rows]
    double nowSeconds() const;     // where the now line sits: the grid's nowMs()

    // The parts, for the window's wiring and for tests.
    QCustomPlot* plot() { return m_plot; }
    QCPColorMap* colorMap() { return m_map; }
    QComboBox* metricSelector() { return m_metricBox; }
    QCPItemStraightLine* nowLine() { return m_nowLine; }
    QCPItemText* nowLabel() { return m_nowLabel; }
    QCPItemText* observedLabel() { return m_observedLabel; }   // "◂ observed", left of now
    QCPItemText* projectedLabel() { return m_projectedLabel; } // "projected ▸", right of now
    QCPItemRect* projectedShade() { return m_projectedShade; } // hatching over the future
    // Rows at which boundary lines are drawn (currently visible ones only) and the host labels
    // currently shown, top to bottom; both as of the last replot.
    std::vector<double> visibleBoundaryRows() const;
    QStringList visibleStripeLabels() const;

Q_SIGNALS:
    void metricChanged(rangepilot::LoadMetric metric);
    void shardClicked(rangepilot::ShardId shard); // a click on a stripe

private:
    // The part of the grid the colour map holds: cells [firstColumn, endColumn) ×
    // [firstRow, endRow), `columnStep` × `rowStep` grid cells per map cell.
    struct MapWindow {
        std::size_t firstColumn = 0, endColumn = 0, columnStep = 1;
        std::size_t firstRow = 0, endRow = 0, rowStep = 1;
        bool operator==(const MapWindow&) const = default;
    };

    void buildPlot();
    void buildOverlay();
    void scheduleReplot();
    void onReplotTimer();
    void prepareReplot();
    void fitTickCounts();
    void onLayoutDone();
    void onMetricSelected(int index);
    void onMouseMove(QMouseEvent* event);
    void onMousePress(QMouseEvent* event);
    void onMouseRelease(QMouseEvent* event);
    void clampTimeRange(const QCPRange& range);
    void clampRowRange(const QCPRange& range);

    MapWindow visibleWindow() const;
    void refreshMap();
    double fillMap(const MapWindow& window);
    void setColourRange(double highest);
    void updateColourScaleUnit();
    void updateNowMarker();
    void placeNowLabels();
    void rebuildStripeItems();
    void placeStripeDecorations();
    void placeBoundaryLines();
    void placeStripeLabels();

    bool isDefaultView() const;
    bool extentChangedALot(const QCPRange& oldTime, const QCPRange& oldRows) const;
    QString rowRangeText(std::size_t row) const;
    QString valueText(double value, LoadMetric metric) const;
    double projectedPeak(std::size_t row) const;

    QComboBox* m_metricBox = nullptr;
    QCustomPlot* m_plot = nullptr;
    QCPColorMap* m_map = nullptr;
    QCPColorScale* m_scale = nullptr;
    QCPItemStraightLine* m_nowLine = nullptr;
    QCPItemText* m_nowLabel = nullptr;
    QCPItemText* m_observedLabel = nullptr;
    QCPItemText* m_projectedLabel = nullptr;
    QCPItemRect* m_projectedShade = nullptr;
    QCPItemRect* m_projectedTint = nullptr;
    std::vector<QCPItemStraightLine*> m_boundaryLines; // one per stripe after the first
    std::vector<QCPItemText*> m_stripeLabels;          // one per stripe
    QTimer* m_replotTimer = nullptr;

    HeatmapGrid m_grid;
    LoadMetric m_gridMetric = LoadMetric::Ops;
    std::vector<Key> m_rowKeys;
    std::vector<HeatmapStripe> m_stripes;
    QCPRange m_colourRange{0.0, 1.0};

    MapWindow m_shownWindow;
    bool m_mapDirty = true;
    bool m_colourRangeKnown = false; // false from setGrid() until the next replot
    // The user picked a metric whose grid has not arrived yet: setGrid() leaves the combo alone.
    bool m_metricRequestPending = false;
    QPoint m_pressPosition;
    bool m_pressed = false;
};

} // namespace rangepilot
