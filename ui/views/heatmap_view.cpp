#include "heatmap_view.h"

#include "display_text.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QMouseEvent>
#include <QSignalBlocker>
#include <QThread>
#include <QTimeZone>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentMap>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

namespace rangepilot {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A press and release closer than this (in pixels) is a click, not a drag.
constexpr int kClickSlop = 4;
// Boundary lines closer than this (in pixels) to the previous one shown are skipped: a solid
// band of lines would hide the map.
constexpr double kMinBoundarySpacing = 3.0;
// Vertical gap kept between two host labels, in pixels.
constexpr double kLabelGap = 1.0;
// Boundary lines closer than this are drawn fainter, so that many shards do not hide the map.
constexpr double kDenseBoundarySpacing = 16.0;
// Room each tick label gets along its axis, in pixels.
constexpr int kPixelsPerTimeTick = 120;
constexpr int kPixelsPerKeyTick = 60;

struct MetricChoice {
    LoadMetric metric;
    const char* comboText;
    const char* unit; // colour scale and tooltip
};

constexpr std::array<MetricChoice, 5> kMetrics{{
    {LoadMetric::Ops, "ops/s", "ops/s"},
    {LoadMetric::Reads, "reads/s", "reads/s"},
    {LoadMetric::Writes, "writes/s", "writes/s"},
    {LoadMetric::Bytes, "bytes/s", "bytes/s"},
    {LoadMetric::MeanLatencyUs, "mean latency", "µs"},
}};

int metricIndex(LoadMetric metric) {
    const auto found = std::find_if(kMetrics.begin(), kMetrics.end(),
                                    [metric](const MetricChoice& c) { return c.metric == metric; });
    return static_cast<int>(found - kMetrics.begin());
}

QString unitOf(LoadMetric metric) {
    return QString::fromUtf8(kMetrics[static_cast<std::size_t>(metricIndex(metric))].unit);
}

QString colourScaleLabel(LoadMetric metric) {
    return metric == LoadMetric::MeanLatencyUs ? QStringLiteral("mean latency (µs)")
                                               : unitOf(metric);
}

// Figures read the same on every machine (as in display_text.cpp).
const QLocale& numberLocale() {
    static const QLocale locale(QLocale::English, QLocale::UnitedStates);
    return locale;
}

// Whole numbers with separators from 10 up; small per-cell rates keep one decimal, since a
// key cell often sees less than one operation per second.
QString numberText(double value) {
    if (std::abs(value) >= 10.0)
        return numberLocale().toString(static_cast<qlonglong>(std::llround(value)));
    return numberLocale().toString(value, 'f', 1);
}

// QCustomPlot 2.1 has no bulk setter for QCPColorMapData: setCell() is an out-of-line call per
// cell with bounds checks and bookkeeping. The buffer is a protected member; a derived class may
// name it to form a pointer to member, which then applies to any QCPColorMapData.
struct ColorMapDataAccess : QCPColorMapData {
    // The buffer after setSize(): keySize × valueSize doubles, cell (k, v) at v * keySize + k.
    static double* buffer(QCPColorMapData& data) { return data.*(&ColorMapDataAccess::mData); }
    // What setCell() would have left behind: the bounds, and the flag that makes the colour map
    // rebuild its image on the next draw.
    static void finishBulkWrite(QCPColorMapData& data, const QCPRange& bounds) {
        data.*(&ColorMapDataAccess::mDataBounds) = bounds;
        data.*(&ColorMapDataAccess::mDataModified) = true;
    }
};

// Dark to bright through purple, red and orange (close to matplotlib's "inferno"): perceptually
// ordered, readable in grey, and hot spots read as hot.
QCPColorGradient loadGradient() {
    QCPColorGradient gradient;
    gradient.clearColorStops();
    gradient.setColorStopAt(0.00, QColor(0, 0, 4));
    gradient.setColorStopAt(0.13, QColor(31, 12, 72));
    gradient.setColorStopAt(0.25, QColor(85, 15, 109));
    gradient.setColorStopAt(0.38, QColor(136, 34, 106));
    gradient.setColorStopAt(0.50, QColor(186, 54, 85));
    gradient.setColorStopAt(0.63, QColor(227, 89, 51));
    gradient.setColorStopAt(0.75, QColor(249, 140, 10));
    gradient.setColorStopAt(0.88, QColor(249, 201, 50));
    gradient.setColorStopAt(1.00, QColor(252, 255, 164));
    gradient.setColorInterpolation(QCPColorGradient::ciRGB);
    gradient.setLevelCount(256);
    // Projected columns of metrics the planner does not project are NaN: left blank.
    gradient.setNanHandling(QCPColorGradient::nhTransparent);
    return gradient;
}

// Row coordinates label their ticks with the start key of the row that begins there.
class RowKeyTicker : public QCPAxisTicker {
public:
    explicit RowKeyTicker(const HeatmapView* view)
        : m_view(view) {}

protected:
    // Whole rows only: a tick between two rows would name neither.
    double getTickStep(const QCPRange& range) override {
        return std::max(1.0, std::ceil(QCPAxisTicker::getTickStep(range)));
    }

    QString getTickLabel(double tick, const QLocale&, QChar, int) override {
        const auto row = static_cast<long long>(std::llround(tick));
        const std::size_t rows = m_view->grid().rows;
        if (row < 0 || static_cast<std::size_t>(row) >= rows)
            return {};
        const std::vector<Key>& keys = m_view->rowKeys();
        if (keys.size() != rows)
            return QStringLiteral("cell %1").arg(row);
        return display::key(keys[static_cast<std::size_t>(row)]);
    }

private:
    const HeatmapView* m_view;
};

// Colour scale labels: bytes scaled ("20.0 MB"), other figures with thousands separators.
class MetricValueTicker : public QCPAxisTicker {
public:
    void setMetric(LoadMetric metric) { m_metric = metric; }

protected:
    QString getTickLabel(double tick, const QLocale&, QChar, int) override {
        if (m_metric == LoadMetric::Bytes)
            return display::bytes(tick);
        if (std::abs(tick - std::round(tick)) < 1e-9)
            return numberLocale().toString(static_cast<qlonglong>(std::llround(tick)));
        return numberLocale().toString(tick, 'g', 3);
    }

private:
    LoadMetric m_metric = LoadMetric::Ops;
};

// `range` moved inside `full` and sized between `minSize` and full's size, keeping its centre
// when it had to be resized.
QCPRange clampedRange(const QCPRange& range, const QCPRange& full, double minSize) {
    const double size = std::clamp(range.size(), std::min(minSize, full.size()), full.size());
    double lower = size == range.size() ? range.lower : range.center() - size / 2.0;
    lower = std::clamp(lower, full.lower, full.upper - size);
    return QCPRange(lower, lower + size);
}

bool nearlyEqual(const QCPRange& a, const QCPRange& b, double tolerance) {
    return std::abs(a.lower - b.lower) <= tolerance && std::abs(a.upper - b.upper) <= tolerance;
}

std::size_t clampedIndex(double value, std::size_t limit) {
    if (!(value > 0.0))
        return 0;
    return std::min(static_cast<std::size_t>(value), limit);
}

std::size_t ceilDiv(std::size_t value, std::size_t divisor) {
    return (value + divisor - 1) / divisor;
}

// Highest finite value (at least 0) of the grid: the top of the colour scale.
double highestValue(const std::vector<double>& values) {
    double top = 0.0;
    for (const double value : values) {
        // NaN compares false and is skipped; infinity is not a rate anyone can read.
        if (value > top && value < kInfinity)
            top = value;
    }
    return top;
}

// What one reduction of grid cells into map cells reads and writes.
struct ReduceSpec {
    const double* values; // the grid, values[column * rows + row]
    std::size_t rows;
    std::size_t firstRow, rowCount, rowStep, valueCells;
    std::size_t firstColumn, endColumn, columnStep;
    double* out; // the colour map buffer, cell (key, value) at value * keySize + key
    std::size_t keySize;
};

struct CellBounds {
    double lowest = kInfinity;
    double highest = -kInfinity;
    void add(const CellBounds& other) {
        lowest = std::min(lowest, other.lowest);
        highest = std::max(highest, other.highest);
    }
};

// Map columns [firstKey, endKey). A block's grid columns are first folded into one (element by
// element over contiguous rows: independent operations the CPU overlaps), then each run of
// `rowStep` rows becomes one map cell: the highest value, NaN when all are NaN.
CellBounds reduceKeys(const ReduceSpec& spec, std::size_t firstKey, std::size_t endKey) {
    std::vector<double> folded(spec.rowCount);
    CellBounds bounds;
    for (std::size_t key = firstKey; key < endKey; ++key) {
        const std::size_t firstColumn = spec.firstColumn + key * spec.columnStep;
        const std::size_t endColumn = std::min(firstColumn + spec.columnStep, spec.endColumn);
        std::fill(folded.begin(), folded.end(), -kInfinity);
        for (std::size_t column = firstColumn; column < endColumn; ++column) {
            const double* source = spec.values + column * spec.rows + spec.firstRow;
            for (std::size_t i = 0; i < spec.rowCount; ++i)
                folded[i] = source[i] > folded[i] ? source[i] : folded[i]; // NaN never wins
        }
        for (std::size_t cell = 0; cell < spec.valueCells; ++cell) {
            const std::size_t begin = cell * spec.rowStep;
            const std::size_t end = std::min(begin + spec.rowStep, spec.rowCount);
            double top = -kInfinity;
            for (std::size_t i = begin; i < end; ++i)
                top = folded[i] > top ? folded[i] : top;
            if (top != -kInfinity) {
                bounds.lowest = std::min(bounds.lowest, top);
                bounds.highest = std::max(bounds.highest, top);
            }
            spec.out[cell * spec.keySize + key] = top == -kInfinity ? kNaN : top;
        }
    }
    return bounds;
}

// Below this many grid cells one thread is quicker than handing out work.
constexpr std::size_t kParallelCells = std::size_t(1) << 20;

// All `keyCells` map columns. Large windows are split into runs of map columns on Qt
// Concurrent's pool (the calling thread takes part): the runs write disjoint map cells, and the
// result does not depend on how the work was split.
CellBounds reduceBlocks(const ReduceSpec& spec, std::size_t keyCells) {
    const std::size_t gridCells = spec.rowCount * (spec.endColumn - spec.firstColumn);
    const auto threads = static_cast<std::size_t>(std::max(QThread::idealThreadCount(), 1));
    if (gridCells < kParallelCells || threads == 1)
        return reduceKeys(spec, 0, keyCells);
    struct Run {
        std::size_t firstKey, endKey;
        CellBounds bounds;
    };
    const std::size_t runCount = std::min(keyCells, threads * 4);
    std::vector<Run> runs;
    for (std::size_t i = 0; i < runCount; ++i)
        runs.push_back({keyCells * i / runCount, keyCells * (i + 1) / runCount, {}});
    QtConcurrent::blockingMap(
        runs, [&spec](Run& run) { run.bounds = reduceKeys(spec, run.firstKey, run.endKey); });
    CellBounds bounds;
    for (const Run& run : runs)
        bounds.add(run.bounds);
    return bounds;
}

// Freeing a week-long grid hands tens of megabytes back to the system, which takes milliseconds:
// a pool thread does it, so the GUI thread does not wait. Small grids are freed on the spot.
void releaseInBackground(std::vector<double>&& values) {
    if (values.size() < kParallelCells)
        return;
    (void)QtConcurrent::run(
        [retired = std::move(values)]() mutable { std::vector<double>().swap(retired); });
}

void setAxisRectRatioY(QCPItemPosition* position, QCPAxisRect* rect) {
    position->setAxisRect(rect);
    position->setTypeY(QCPItemPosition::ptAxisRectRatio);
}

} // namespace

HeatmapView::HeatmapView(QWidget* parent)
    : QWidget(parent) {
    m_metricBox = new QComboBox(this);
    for (const MetricChoice& choice : kMetrics)
        m_metricBox->addItem(QString::fromUtf8(choice.comboText), static_cast<int>(choice.metric));
    m_metricBox->setToolTip(tr("The load figure the colours show"));

    auto* metricLabel = new QLabel(tr("Colour:"), this);
    metricLabel->setBuddy(m_metricBox);
    auto* hint =
        new QLabel(tr("wheel: zoom · drag: pan · double-click: reset · click: shard"), this);
    hint->setStyleSheet(QStringLiteral("color: palette(mid);"));
    hint->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    // Never widens the panel: in a narrow one the hint is cut rather than the plot squeezed.
    hint->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(4, 2, 4, 0);
    bar->addWidget(metricLabel);
    bar->addWidget(m_metricBox);
    bar->addWidget(hint, 1);

    m_plot = new QCustomPlot(this);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addLayout(bar);
    layout->addWidget(m_plot, 1);

    m_replotTimer = new QTimer(this);
    m_replotTimer->setSingleShot(true);
    m_replotTimer->setInterval(0);
    connect(m_replotTimer, &QTimer::timeout, this, &HeatmapView::onReplotTimer);

    buildPlot();
    buildOverlay();

    connect(m_metricBox, &QComboBox::currentIndexChanged, this, &HeatmapView::onMetricSelected);
    connect(m_plot, &QCustomPlot::beforeReplot, this, &HeatmapView::prepareReplot);
    connect(m_plot, &QCustomPlot::afterLayout, this, &HeatmapView::onLayoutDone);
    connect(m_plot, &QCustomPlot::mouseMove, this, &HeatmapView::onMouseMove);
    connect(m_plot, &QCustomPlot::mousePress, this, &HeatmapView::onMousePress);
    connect(m_plot, &QCustomPlot::mouseRelease, this, &HeatmapView::onMouseRelease);
    connect(m_plot, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) {
        resetZoom();
        scheduleReplot();
    });
    connect(m_plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
            &HeatmapView::clampTimeRange);
    connect(m_plot->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
            &HeatmapView::clampRowRange);
}

HeatmapView::~HeatmapView() = default;

void HeatmapView::buildPlot() {
    m_plot->setLocale(numberLocale());
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->setNoAntialiasingOnDrag(true);
    m_plot->setNotAntialiasedElements(QCP::aeGrid | QCP::aeItems | QCP::aePlottables);
    m_plot->setMinimumSize(320, 220);

    QCPAxisRect* rect = m_plot->axisRect();
    rect->setRangeDrag(Qt::Horizontal | Qt::Vertical);
    rect->setRangeZoom(Qt::Horizontal | Qt::Vertical);
    rect->setBackground(QColor(70, 70, 74)); // blank (NaN) cells

    auto timeTicker = QSharedPointer<QCPAxisTickerDateTime>::create();
    timeTicker->setTimeZone(QTimeZone::utc());
    timeTicker->setDateTimeFormat(QStringLiteral("MMM d\nHH:mm"));
    timeTicker->setTickCount(8);
    m_plot->xAxis->setTicker(timeTicker);
    m_plot->xAxis->setLabel(tr("time (UTC)"));

    auto rowTicker = QSharedPointer<RowKeyTicker>::create(this);
    rowTicker->setTickCount(10);
    m_plot->yAxis->setTicker(rowTicker);
    m_plot->yAxis->setSubTicks(false);
    m_plot->yAxis->setRangeReversed(true); // the first key at the top, as in the tables
    m_plot->yAxis->setLabel(tr("key (start of cell)"));
    m_plot->xAxis->grid()->setVisible(false);
    m_plot->yAxis->grid()->setVisible(false);

    m_map = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
    m_map->setInterpolate(false);
    m_map->setTightBoundary(false);
    m_map->setAntialiased(false);

    m_scale = new QCPColorScale(m_plot);
    m_plot->plotLayout()->addElement(0, 1, m_scale);
    m_scale->setType(QCPAxis::atRight);
    m_scale->setBarWidth(14);
    m_scale->setRangeDrag(false);
    m_scale->setRangeZoom(false);
    m_scale->axis()->setTicker(QSharedPointer<MetricValueTicker>::create());
    m_scale->axis()->setLabel(colourScaleLabel(m_gridMetric));
    m_map->setColorScale(m_scale); // takes the scale's gradient: set ours afterwards
    m_map->setGradient(loadGradient());
    m_map->setDataRange(m_colourRange);

    // The colour scale spans exactly the map's height.
    auto* margins = new QCPMarginGroup(m_plot);
    rect->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
    m_scale->setMarginGroup(QCP::msTop | QCP::msBottom, margins);

    m_plot->addLayer(QStringLiteral("markers"), m_plot->layer(QStringLiteral("main")),
                     QCustomPlot::limAbove);
}

void HeatmapView::buildOverlay() {
    QCPAxisRect* rect = m_plot->axisRect();
    QCPLayer* overlay = m_plot->layer(QStringLiteral("markers"));

    // The future: a light tint plus hatching, so it reads as "not measured yet" in any colour.
    m_projectedTint = new QCPItemRect(m_plot);
    m_projectedShade = new QCPItemRect(m_plot);
    const std::array<std::pair<QCPItemRect*, QBrush>, 2> shades{{
        {m_projectedTint, QBrush(QColor(255, 255, 255, 34))},
        {m_projectedShade, QBrush(QColor(255, 255, 255, 70), Qt::BDiagPattern)},
    }};
    for (const auto& [item, brush] : shades) {
        item->setLayer(overlay);
        item->setPen(Qt::NoPen);
        item->setBrush(brush);
        item->setSelectable(false);
        setAxisRectRatioY(item->topLeft, rect);
        setAxisRectRatioY(item->bottomRight, rect);
        item->setVisible(false);
    }

    m_nowLine = new QCPItemStraightLine(m_plot);
    m_nowLine->setLayer(overlay);
    m_nowLine->setPen(QPen(QColor(0, 214, 255), 2));
    m_nowLine->setSelectable(false);
    m_nowLine->setVisible(false);

    m_nowLabel = new QCPItemText(m_plot);
    m_nowLabel->setLayer(overlay);
    m_nowLabel->setText(tr("now"));
    m_nowLabel->setColor(Qt::black);
    m_nowLabel->setBrush(QColor(0, 214, 255));
    m_nowLabel->setPadding(QMargins(5, 1, 5, 2));
    QFont bold = m_nowLabel->font();
    bold.setBold(true);
    m_nowLabel->setFont(bold);
    m_nowLabel->setPositionAlignment(Qt::AlignHCenter | Qt::AlignTop);
    setAxisRectRatioY(m_nowLabel->position, rect);
    m_nowLabel->setSelectable(false);
    m_nowLabel->setVisible(false);

    // "observed" and "projected" on either side of "now", so the hatching needs no legend.
    QFont caption = m_nowLabel->font();
    caption.setBold(false);
    caption.setItalic(true);
    m_observedLabel = new QCPItemText(m_plot);
    m_projectedLabel = new QCPItemText(m_plot);
    const std::array<std::tuple<QCPItemText*, QString, QCPItemAnchor*, double, Qt::Alignment>, 2>
        captions{{
            {m_observedLabel, tr("◂ observed"), m_nowLabel->left, -4.0, Qt::AlignRight},
            {m_projectedLabel, tr("projected ▸"), m_nowLabel->right, 4.0, Qt::AlignLeft},
        }};
    for (const auto& [label, text, anchor, offset, side] : captions) {
        label->setLayer(overlay);
        label->setText(text);
        label->setFont(caption);
        label->setColor(QColor(255, 255, 255, 220));
        label->setPadding(QMargins(0, 1, 0, 2));
        label->setPositionAlignment(side | Qt::AlignVCenter);
        label->position->setParentAnchor(anchor);
        label->position->setCoords(offset, 0.0);
        label->setSelectable(false);
        label->setVisible(false);
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs

void HeatmapView::setGrid(HeatmapGrid grid, LoadMetric metric) {
    const bool hadGrid = m_grid.rows > 0 && m_grid.columns > 0;
    const QCPRange oldTime = fullTimeRange();
    const QCPRange oldRows = fullRowRange();
    const bool followExtent = !hadGrid || isDefaultView();

    releaseInBackground(std::move(m_grid.values));
    m_grid = std::move(grid);
    m_gridMetric = metric;
    if (m_grid.values.size() != m_grid.rows * m_grid.columns || m_grid.column_ms <= 0)
        m_grid = HeatmapGrid{}; // malformed: show nothing rather than read past the end
    if (!m_metricRequestPending) {
        const QSignalBlocker quiet(m_metricBox);
        m_metricBox->setCurrentIndex(metricIndex(metric));
    }
    if (this->metric() == metric)
        m_metricRequestPending = false;

    updateColourScaleUnit();
    m_colourRangeKnown = false; // found by the next replot's pass over the grid
    if (followExtent || extentChangedALot(oldTime, oldRows)) {
        resetZoom();
    } else {
        clampTimeRange(m_plot->xAxis->range());
        clampRowRange(m_plot->yAxis->range());
    }
    updateNowMarker();
    m_mapDirty = true;
    scheduleReplot();
}

void HeatmapView::setRowKeys(std::vector<Key> rowStartKeys) {
    m_rowKeys = std::move(rowStartKeys);
    scheduleReplot(); // the key axis asks for its labels again on every replot
}

void HeatmapView::setStripes(std::vector<HeatmapStripe> stripes) {
    m_stripes = std::move(stripes);
    std::sort(
        m_stripes.begin(), m_stripes.end(),
        [](const HeatmapStripe& a, const HeatmapStripe& b) { return a.first_row < b.first_row; });
    rebuildStripeItems();
    scheduleReplot();
}

LoadMetric HeatmapView::metric() const {
    return static_cast<LoadMetric>(m_metricBox->currentData().toInt());
}

void HeatmapView::onMetricSelected(int index) {
    if (index < 0)
        return;
    m_metricRequestPending = metric() != m_gridMetric;
    Q_EMIT metricChanged(metric());
}

// ---------------------------------------------------------------------------------------------
// Extent and zoom

QCPRange HeatmapView::fullTimeRange() const {
    const double start = static_cast<double>(m_grid.start_ms) / 1000.0;
    const double width = static_cast<double>(m_grid.column_ms) / 1000.0;
    return QCPRange(start, start + width * static_cast<double>(m_grid.columns));
}

QCPRange HeatmapView::fullRowRange() const {
    return QCPRange(0.0, static_cast<double>(m_grid.rows));
}

QCPRange HeatmapView::defaultTimeRange() const {
    const TimeSpanMs span = defaultViewSpan(m_grid);
    return QCPRange(static_cast<double>(span.from_ms) / 1000.0,
                    static_cast<double>(span.to_ms) / 1000.0);
}

double HeatmapView::nowSeconds() const {
    return static_cast<double>(m_grid.nowMs()) / 1000.0;
}

void HeatmapView::resetZoom() {
    if (m_grid.rows == 0 || m_grid.columns == 0)
        return;
    m_plot->xAxis->setRange(defaultTimeRange());
    m_plot->yAxis->setRange(fullRowRange());
}

bool HeatmapView::isDefaultView() const {
    const double halfColumn = static_cast<double>(m_grid.column_ms) / 2000.0;
    return nearlyEqual(m_plot->xAxis->range(), defaultTimeRange(), halfColumn) &&
           nearlyEqual(m_plot->yAxis->range(), fullRowRange(), 0.5);
}

bool HeatmapView::extentChangedALot(const QCPRange& oldTime, const QCPRange& oldRows) const {
    const QCPRange time = fullTimeRange();
    if (fullRowRange() != oldRows)
        return true;
    if (std::abs(time.size() - oldTime.size()) > 0.1 * oldTime.size())
        return true;
    const QCPRange view = m_plot->xAxis->range();
    return view.upper <= time.lower || view.lower >= time.upper;
}

void HeatmapView::clampTimeRange(const QCPRange& range) {
    if (m_grid.columns == 0)
        return;
    const QCPRange full = fullTimeRange();
    const double twoColumns = static_cast<double>(m_grid.column_ms) / 500.0;
    const QCPRange clamped = clampedRange(range, full, twoColumns);
    if (!nearlyEqual(clamped, range, full.size() * 1e-12))
        m_plot->xAxis->setRange(clamped);
}

void HeatmapView::clampRowRange(const QCPRange& range) {
    if (m_grid.rows == 0)
        return;
    const QCPRange full = fullRowRange();
    const QCPRange clamped = clampedRange(range, full, 2.0);
    if (!nearlyEqual(clamped, range, full.size() * 1e-12))
        m_plot->yAxis->setRange(clamped);
}

// ---------------------------------------------------------------------------------------------
// Replots

void HeatmapView::scheduleReplot() {
    if (!m_replotTimer->isActive())
        m_replotTimer->start();
}

void HeatmapView::onReplotTimer() {
    m_plot->replot(QCustomPlot::rpQueuedRefresh);
}

void HeatmapView::replotNow() {
    m_replotTimer->stop();
    m_plot->replot(QCustomPlot::rpImmediateRefresh);
}

// As many ticks as the axis rect has room for (its size from the last layout: close enough).
void HeatmapView::fitTickCounts() {
    const QRect rect = m_plot->axisRect()->rect();
    m_plot->xAxis->ticker()->setTickCount(std::clamp(rect.width() / kPixelsPerTimeTick, 2, 10));
    m_plot->yAxis->ticker()->setTickCount(std::clamp(rect.height() / kPixelsPerKeyTick, 2, 12));
}

// Before the layout, so that the colour scale's ticks see a new grid's range: the map for the
// current view (its size as of the last layout, which is the size unless the widget was resized).
void HeatmapView::prepareReplot() {
    fitTickCounts();
    refreshMap();
}

// Once the axis rect has its final size, before anything is drawn: the map again if the layout
// changed its resolution, and the stripe decorations, which depend on the size too.
void HeatmapView::onLayoutDone() {
    refreshMap();
    placeStripeDecorations();
    placeNowLabels();
}

HeatmapView::MapWindow HeatmapView::visibleWindow() const {
    MapWindow window;
    const double start = static_cast<double>(m_grid.start_ms) / 1000.0;
    const double width = static_cast<double>(m_grid.column_ms) / 1000.0;
    const QCPRange time = m_plot->xAxis->range();
    const QCPRange rows = m_plot->yAxis->range();
    window.firstColumn = clampedIndex(std::floor((time.lower - start) / width), m_grid.columns - 1);
    window.endColumn =
        std::max(clampedIndex(std::ceil((time.upper - start) / width), m_grid.columns),
                 window.firstColumn + 1);
    window.firstRow = clampedIndex(std::floor(rows.lower), m_grid.rows - 1);
    window.endRow = std::max(clampedIndex(std::ceil(rows.upper), m_grid.rows), window.firstRow + 1);

    const QRect pixels = m_plot->axisRect()->rect();
    const auto widthPixels = static_cast<std::size_t>(std::max(pixels.width(), 1));
    const auto heightPixels = static_cast<std::size_t>(std::max(pixels.height(), 1));
    window.columnStep =
        std::max<std::size_t>(1, ceilDiv(window.endColumn - window.firstColumn, widthPixels));
    window.rowStep =
        std::max<std::size_t>(1, ceilDiv(window.endRow - window.firstRow, heightPixels));
    // Blocks start at multiples of the step, so panning does not reshuffle which cells share a
    // pixel (which would make the picture shimmer).
    window.firstColumn -= window.firstColumn % window.columnStep;
    window.firstRow -= window.firstRow % window.rowStep;
    return window;
}

void HeatmapView::refreshMap() {
    if (m_grid.rows == 0 || m_grid.columns == 0) {
        if (!m_map->data()->isEmpty())
            m_map->data()->setSize(0, 0);
        return;
    }
    const MapWindow window = visibleWindow();
    if (!m_mapDirty && window == m_shownWindow)
        return;
    const double highestShown = fillMap(window);
    m_shownWindow = window;
    m_mapDirty = false;
    if (m_colourRangeKnown)
        return;
    // Zoomed out all the way, the map's cells cover every grid cell and the highest of their
    // maxima is the grid's: the common case needs no second pass over the grid.
    const bool wholeGrid = window.firstColumn == 0 && window.endColumn == m_grid.columns &&
                           window.firstRow == 0 && window.endRow == m_grid.rows;
    setColourRange(wholeGrid ? highestShown : highestValue(m_grid.values));
}

// Every map cell gets the highest value of the grid cells it covers (reduceBlocks); returns the
// highest value written (-inf for none).
double HeatmapView::fillMap(const MapWindow& window) {
    const std::size_t keyCells = ceilDiv(window.endColumn - window.firstColumn, window.columnStep);
    const std::size_t rowCount = window.endRow - window.firstRow;
    const std::size_t valueCells = ceilDiv(rowCount, window.rowStep);
    // QCustomPlot sizes cells by the distance between the first and last cell centres, so a
    // dimension of one cell would have no width: it is drawn as two equal halves instead.
    const std::size_t keySize = std::max<std::size_t>(keyCells, 2);
    const std::size_t valueSize = std::max<std::size_t>(valueCells, 2);

    const double start = static_cast<double>(m_grid.start_ms) / 1000.0;
    const double columnSeconds = static_cast<double>(m_grid.column_ms) / 1000.0;
    const double blockSeconds = columnSeconds * static_cast<double>(window.columnStep);
    const double cellSeconds = keyCells == 1 ? blockSeconds / 2.0 : blockSeconds;
    const double blockRows = static_cast<double>(window.rowStep);
    const double cellRows = valueCells == 1 ? blockRows / 2.0 : blockRows;
    const double firstKey =
        start + static_cast<double>(window.firstColumn) * columnSeconds + cellSeconds / 2.0;
    const double firstValue = static_cast<double>(window.firstRow) + cellRows / 2.0;

    QCPColorMapData& data = *m_map->data();
    data.setSize(static_cast<int>(keySize), static_cast<int>(valueSize));
    data.setRange(QCPRange(firstKey, firstKey + cellSeconds * static_cast<double>(keySize - 1)),
                  QCPRange(firstValue, firstValue + cellRows * static_cast<double>(valueSize - 1)));
    const ReduceSpec spec{.values = m_grid.values.data(),
                          .rows = m_grid.rows,
                          .firstRow = window.firstRow,
                          .rowCount = rowCount,
                          .rowStep = window.rowStep,
                          .valueCells = valueCells,
                          .firstColumn = window.firstColumn,
                          .endColumn = window.endColumn,
                          .columnStep = window.columnStep,
                          .out = ColorMapDataAccess::buffer(data),
                          .keySize = keySize};
    const CellBounds bounds = reduceBlocks(spec, keyCells);
    // The two-halves case: the second half repeats the first.
    double* out = spec.out;
    if (keyCells == 1) {
        for (std::size_t cell = 0; cell < valueSize; ++cell)
            out[cell * keySize + 1] = out[cell * keySize];
    }
    if (valueCells == 1)
        std::copy(out, out + keySize, out + keySize);
    ColorMapDataAccess::finishBulkWrite(data, bounds.lowest <= bounds.highest
                                                  ? QCPRange(bounds.lowest, bounds.highest)
                                                  : QCPRange(0.0, 0.0));
    return bounds.highest;
}

void HeatmapView::setColourRange(double highest) {
    m_colourRange = QCPRange(0.0, highest > 0.0 && highest < kInfinity ? highest : 1.0);
    m_map->setDataRange(m_colourRange);
    m_colourRangeKnown = true;
}

void HeatmapView::updateColourScaleUnit() {
    auto ticker = qSharedPointerDynamicCast<MetricValueTicker>(m_scale->axis()->ticker());
    if (ticker)
        ticker->setMetric(m_gridMetric);
    m_scale->axis()->setLabel(colourScaleLabel(m_gridMetric));
}

void HeatmapView::updateNowMarker() {
    const bool hasGrid = m_grid.rows > 0 && m_grid.columns > 0;
    const double now = nowSeconds();
    m_nowLine->point1->setCoords(now, 0.0);
    m_nowLine->point2->setCoords(now, 1.0);
    m_nowLine->setVisible(hasGrid);
    m_nowLabel->position->setCoords(now, 0.0);
    m_nowLabel->setVisible(hasGrid);
    m_observedLabel->setVisible(hasGrid && m_grid.observed_columns > 0);

    const bool hasProjection = hasGrid && m_grid.columns > m_grid.observed_columns;
    for (QCPItemRect* shade : {m_projectedTint, m_projectedShade}) {
        shade->topLeft->setCoords(now, 0.0);
        shade->bottomRight->setCoords(fullTimeRange().upper, 1.0);
        shade->setVisible(hasProjection);
    }
    m_projectedLabel->setVisible(hasProjection);
}

// Once the axis rect has its size: "now" centred on its line but moved inside the map at its
// edges, hidden with the line out of view; each caption shown only where it fits between "now"
// and the map's edge (a cut "bserved" reads worse than none: the hatching still tells the parts
// apart).
void HeatmapView::placeNowLabels() {
    const bool hasGrid = m_grid.rows > 0 && m_grid.columns > 0;
    const QRectF rect(m_plot->axisRect()->rect());
    const double now = m_plot->xAxis->coordToPixel(nowSeconds());
    const bool nowInView = hasGrid && now >= rect.left() && now <= rect.right();
    m_nowLabel->setVisible(nowInView);
    m_nowLabel->setPositionAlignment(Qt::AlignHCenter | Qt::AlignTop);
    if (m_nowLabel->left->pixelPosition().x() < rect.left())
        m_nowLabel->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    else if (m_nowLabel->right->pixelPosition().x() > rect.right())
        m_nowLabel->setPositionAlignment(Qt::AlignRight | Qt::AlignTop);

    const bool hasProjection = hasGrid && m_grid.columns > m_grid.observed_columns;
    m_observedLabel->setVisible(nowInView && m_grid.observed_columns > 0 &&
                                m_observedLabel->left->pixelPosition().x() >= rect.left());
    m_projectedLabel->setVisible(nowInView && hasProjection &&
                                 m_projectedLabel->right->pixelPosition().x() <= rect.right());
}

// ---------------------------------------------------------------------------------------------
// Stripes

void HeatmapView::rebuildStripeItems() {
    for (QCPItemStraightLine* line : m_boundaryLines)
        m_plot->removeItem(line);
    for (QCPItemText* label : m_stripeLabels)
        m_plot->removeItem(label);
    m_boundaryLines.clear();
    m_stripeLabels.clear();

    QCPAxisRect* rect = m_plot->axisRect();
    QCPLayer* overlay = m_plot->layer(QStringLiteral("markers"));
    QFont labelFont = font();
    labelFont.setPointSizeF(labelFont.pointSizeF() * 0.9);
    const QFontMetrics metrics(labelFont);
    int widestLabel = 0;

    for (std::size_t i = 0; i < m_stripes.size(); ++i) {
        const HeatmapStripe& stripe = m_stripes[i];
        if (i > 0 && stripe.first_row > 0) {
            auto* line = new QCPItemStraightLine(m_plot);
            line->setLayer(overlay);
            line->setSelectable(false);
            const auto row = static_cast<double>(stripe.first_row);
            line->point1->setCoords(0.0, row);
            line->point2->setCoords(1.0, row);
            m_boundaryLines.push_back(line);
        }
        // In the margin right of the map: never over the data, and aligned with the stripe.
        auto* label = new QCPItemText(m_plot);
        label->setLayer(overlay);
        label->setClipToAxisRect(false);
        label->setSelectable(false);
        label->setFont(labelFont);
        label->setColor(palette().color(QPalette::WindowText));
        label->setText(stripe.host);
        label->setPadding(QMargins(6, 0, 2, 0));
        label->setPositionAlignment(Qt::AlignLeft | Qt::AlignVCenter);
        label->position->setAxisRect(rect);
        label->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
        label->position->setTypeY(QCPItemPosition::ptAbsolute);
        label->setVisible(false);
        m_stripeLabels.push_back(label);
        widestLabel = std::max(widestLabel, metrics.horizontalAdvance(stripe.host));
    }
    const int rightMargin = m_stripes.empty() ? 15 : widestLabel + 14;
    rect->setMinimumMargins(QMargins(15, 15, rightMargin, 15));
}

void HeatmapView::placeStripeDecorations() {
    placeBoundaryLines();
    placeStripeLabels();
}

void HeatmapView::placeBoundaryLines() {
    const QCPRange rows = m_plot->yAxis->range();
    double lastShown = -kInfinity;
    int shown = 0;
    for (QCPItemStraightLine* line : m_boundaryLines) {
        const double row = line->point1->coords().y();
        const bool inView = row > rows.lower && row < rows.upper;
        const double pixel = m_plot->yAxis->coordToPixel(row);
        const bool show = inView && std::abs(pixel - lastShown) >= kMinBoundarySpacing;
        line->setVisible(show);
        if (show) {
            lastShown = pixel;
            ++shown;
        }
    }
    const double spacing = m_plot->axisRect()->height() / std::max(shown + 1, 1);
    const QPen pen(QColor(255, 255, 255, spacing < kDenseBoundarySpacing ? 60 : 130), 1);
    for (QCPItemStraightLine* line : m_boundaryLines)
        line->setPen(pen);
}

// Each stripe's label centred on the visible part of the stripe. Taller stripes are placed
// first; a label that would overlap one already placed is skipped.
void HeatmapView::placeStripeLabels() {
    const QCPRange rows = m_plot->yAxis->range();
    const QRect rect = m_plot->axisRect()->rect();
    struct Candidate {
        std::size_t index;
        double top, bottom; // pixels of the stripe's visible part
    };
    std::vector<Candidate> candidates;
    for (std::size_t i = 0; i < m_stripes.size(); ++i) {
        m_stripeLabels[i]->setVisible(false);
        const double first = std::max(static_cast<double>(m_stripes[i].first_row), rows.lower);
        const double end = std::min(static_cast<double>(m_stripes[i].end_row), rows.upper);
        if (first >= end)
            continue;
        const double a = m_plot->yAxis->coordToPixel(first);
        const double b = m_plot->yAxis->coordToPixel(end);
        candidates.push_back({i, std::min(a, b), std::max(a, b)});
    }
    std::stable_sort(
        candidates.begin(), candidates.end(),
        [](const Candidate& x, const Candidate& y) { return x.bottom - x.top > y.bottom - y.top; });

    std::map<double, double> placed; // label top → bottom, in pixels
    for (const Candidate& candidate : candidates) {
        QCPItemText* label = m_stripeLabels[candidate.index];
        const double height = QFontMetricsF(label->font()).height();
        const double centre = std::clamp((candidate.top + candidate.bottom) / 2.0,
                                         rect.top() + height / 2.0, rect.bottom() - height / 2.0);
        const double top = centre - height / 2.0;
        const double bottom = centre + height / 2.0;
        const auto next = placed.lower_bound(top);
        if (next != placed.end() && next->first < bottom + kLabelGap)
            continue;
        if (next != placed.begin() && std::prev(next)->second > top - kLabelGap)
            continue;
        placed.emplace(top, bottom);
        label->position->setCoords(1.0, centre);
        label->setVisible(true);
    }
}

std::vector<double> HeatmapView::visibleBoundaryRows() const {
    std::vector<double> rows;
    for (const QCPItemStraightLine* line : m_boundaryLines) {
        if (line->visible())
            rows.push_back(line->point1->coords().y());
    }
    return rows;
}

QStringList HeatmapView::visibleStripeLabels() const {
    std::vector<std::pair<double, QString>> shown;
    for (const QCPItemText* label : m_stripeLabels) {
        if (label->visible())
            shown.emplace_back(label->position->coords().y(), label->text());
    }
    std::sort(shown.begin(), shown.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    QStringList texts;
    for (const auto& entry : shown)
        texts.append(entry.second);
    return texts;
}

const HeatmapStripe* HeatmapView::stripeAt(double row) const {
    if (!(row >= 0.0))
        return nullptr;
    const auto cell = static_cast<std::size_t>(row);
    const auto after = std::upper_bound(
        m_stripes.begin(), m_stripes.end(), cell,
        [](std::size_t value, const HeatmapStripe& stripe) { return value < stripe.first_row; });
    if (after == m_stripes.begin())
        return nullptr;
    const HeatmapStripe& stripe = *std::prev(after);
    return cell < stripe.end_row ? &stripe : nullptr;
}

// ---------------------------------------------------------------------------------------------
// Mouse

void HeatmapView::onMousePress(QMouseEvent* event) {
    m_pressed = event->button() == Qt::LeftButton;
    m_pressPosition = event->position().toPoint();
}

void HeatmapView::onMouseRelease(QMouseEvent* event) {
    const bool wasClick =
        m_pressed && event->button() == Qt::LeftButton &&
        (event->position().toPoint() - m_pressPosition).manhattanLength() <= kClickSlop;
    m_pressed = false;
    if (!wasClick || !m_plot->axisRect()->rect().contains(event->position().toPoint()))
        return;
    const double row = m_plot->yAxis->pixelToCoord(event->position().y());
    if (const HeatmapStripe* stripe = stripeAt(row))
        Q_EMIT shardClicked(stripe->shard);
}

void HeatmapView::onMouseMove(QMouseEvent* event) {
    if (event->buttons() != Qt::NoButton)
        return; // dragging
    const QPointF position = event->position();
    QString text;
    if (m_plot->axisRect()->rect().contains(position.toPoint()))
        text = toolTipAt(m_plot->xAxis->pixelToCoord(position.x()),
                         m_plot->yAxis->pixelToCoord(position.y()));
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, m_plot);
}

// ---------------------------------------------------------------------------------------------
// Tooltip

QString HeatmapView::rowRangeText(std::size_t row) const {
    if (m_rowKeys.size() != m_grid.rows)
        return tr("key cell %1").arg(row);
    const KeyRange range{m_rowKeys[row], row + 1 < m_rowKeys.size() ? m_rowKeys[row + 1] : Key()};
    return display::fullKeyRange(range);
}

QString HeatmapView::valueText(double value, LoadMetric metric) const {
    if (!std::isfinite(value))
        return display::unknown();
    if (metric == LoadMetric::Bytes)
        return display::byteRate(value);
    return numberText(value) + QLatin1Char(' ') + unitOf(metric);
}

// Highest projected value of the row, NaN when nothing is projected for it.
double HeatmapView::projectedPeak(std::size_t row) const {
    double peak = -kInfinity;
    for (std::size_t column = m_grid.observed_columns; column < m_grid.columns; ++column) {
        const double value = m_grid.at(column, row);
        peak = value > peak ? value : peak;
    }
    return peak == -kInfinity ? kNaN : peak;
}

QString HeatmapView::toolTipAt(double timeSeconds, double row) const {
    if (m_grid.rows == 0 || m_grid.columns == 0 || !std::isfinite(timeSeconds) ||
        !std::isfinite(row))
        return {};
    const double columnSeconds = static_cast<double>(m_grid.column_ms) / 1000.0;
    const double offset = (timeSeconds - static_cast<double>(m_grid.start_ms) / 1000.0);
    if (offset < 0.0 || row < 0.0)
        return {};
    const auto column = static_cast<std::size_t>(offset / columnSeconds);
    const auto cell = static_cast<std::size_t>(row);
    if (column >= m_grid.columns || cell >= m_grid.rows)
        return {};

    QStringList lines;
    lines << rowRangeText(cell);
    if (const HeatmapStripe* stripe = stripeAt(row))
        lines << tr("shard %1 on %2").arg(stripe->shard).arg(stripe->host);
    const TimeMs columnStart = m_grid.start_ms + static_cast<TimeMs>(column) * m_grid.column_ms;
    lines << display::utcTime(columnStart) + QStringLiteral(" UTC");
    const bool projected = column >= m_grid.observed_columns;
    const double value = m_grid.at(column, cell);
    if (projected && std::isnan(value))
        lines << tr("projected: none for %1").arg(unitOf(m_gridMetric));
    else
        lines << (projected ? tr("projected: %1") : tr("observed: %1"))
                     .arg(valueText(value, m_gridMetric));
    lines << tr("projected peak: %1").arg(valueText(projectedPeak(cell), m_gridMetric));
    return lines.join(QLatin1Char('\n'));
}

} // namespace rangepilot
