#include "trend_chart_view.h"

#include <QAreaSeries>
#include <QCategoryAxis>
#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QFontMetrics>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLocale>
#include <QPen>
#include <QResizeEvent>
#include <QTimeZone>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace rangepilot {

namespace {

const QColor kHistoryColour(31, 119, 180);
const QColor kForecastColour(230, 120, 20);
const QColor kBandColour(230, 120, 20, 60);
const QColor kCapacityColour(200, 30, 30);
const QColor kNowColour(120, 120, 120);

// Tick spacings the time axis may use, each a whole number of UTC hours or days.
constexpr std::array<TimeMs, 14> kTimeSteps{
    5 * kMsPerMinute, 10 * kMsPerMinute, 15 * kMsPerMinute, 30 * kMsPerMinute, kMsPerHour,
    2 * kMsPerHour,   3 * kMsPerHour,    6 * kMsPerHour,    12 * kMsPerHour,   kMsPerDay,
    2 * kMsPerDay,    7 * kMsPerDay,     14 * kMsPerDay,    28 * kMsPerDay};

// Room a time label needs besides its text, in pixels: Qt Charts gives each label of a category
// axis the axis' width over (labels + 1), less twice its label padding, and elides what is wider.
constexpr int kTimeLabelGap = 16;
// What the value axis (its labels and title) takes left of the plot, about, in pixels.
constexpr int kValueAxisWidth = 80;
// Histories up to this many points mark each point: a line needs two to show at all, and a few
// read better as points on a line.
constexpr std::size_t kMarkedHistoryPoints = 24;

QString defaultHint() {
    return TrendChartView::tr("Select a range in the heatmap or a table to see its trend");
}

bool isByteRate(const QString& unit) {
    return unit == QLatin1String("bytes/s") || unit == QLatin1String("B/s");
}

// Byte rates are shown in the largest decimal unit that keeps the figures below 1,000.
std::pair<double, QString> displayUnit(const QString& unit, double largest) {
    if (!isByteRate(unit))
        return {1.0, unit};
    static const std::array<const char*, 5> kUnits{"B/s", "kB/s", "MB/s", "GB/s", "TB/s"};
    double scale = 1.0;
    std::size_t index = 0;
    while (index + 1 < kUnits.size() && largest / scale >= 1000.0) {
        scale *= 1000.0;
        ++index;
    }
    return {scale, QString::fromLatin1(kUnits[index])};
}

double largestValue(const TrendSeries& series) {
    double largest = 0.0;
    for (const std::vector<double>* values :
         {&series.history, &series.forecast, &series.band_high}) {
        for (const double value : *values) {
            if (std::isfinite(value))
                largest = std::max(largest, value);
        }
    }
    if (series.capacity && std::isfinite(*series.capacity))
        largest = std::max(largest, *series.capacity);
    return largest;
}

double smallestValue(const TrendSeries& series) {
    double smallest = 0.0;
    for (const std::vector<double>* values :
         {&series.history, &series.forecast, &series.band_low}) {
        for (const double value : *values) {
            if (std::isfinite(value))
                smallest = std::min(smallest, value);
        }
    }
    return smallest;
}

bool hasBand(const TrendSeries& series) {
    return !series.forecast.empty() && series.band_low.size() == series.forecast.size() &&
           series.band_high.size() == series.forecast.size();
}

TimeMs pointTime(TimeMs start, TimeMs step, std::size_t index) {
    return start + static_cast<TimeMs>(index) * step;
}

void setLegendVisible(QChart* chart, QAbstractSeries* series, bool visible) {
    const QList<QLegendMarker*> markers = chart->legend()->markers(series);
    for (QLegendMarker* marker : markers)
        marker->setVisible(visible);
}

// The widest label the time axis writes ("May 28 00:00": the month names differ in width).
int widestTimeLabel(const QFont& font) {
    const QFontMetrics metrics(font);
    const QLocale english(QLocale::English, QLocale::UnitedStates);
    int widest = 0;
    for (int month = 1; month <= 12; ++month) {
        const QString label =
            english.monthName(month, QLocale::ShortFormat) + QStringLiteral(" 28 00:00");
        widest = std::max(widest, metrics.horizontalAdvance(label));
    }
    return widest;
}

// Where the now line sits: the series' now, or the forecast's start.
std::optional<TimeMs> nowOf(const TrendSeries& series) {
    if (series.now_ms)
        return series.now_ms;
    if (!series.forecast.empty())
        return series.forecast_start_ms;
    return std::nullopt;
}

TimeMs ceilTo(TimeMs value, TimeMs step) {
    return -floorDiv(-value, step) * step;
}

} // namespace

TrendChartView::TrendChartView(QWidget* parent)
    : QWidget(parent) {
    m_chart = new QChart;
    m_chartView = new QChartView(m_chart, this); // owns the chart
    m_chartView->setRenderHint(QPainter::Antialiasing);
    m_chartView->setMinimumSize(320, 220);

    // Over the plot area of the empty chart (placeHint), so the axes stay in view around it.
    m_hint = new QLabel(m_chartView->viewport());
    m_hint->setAlignment(Qt::AlignCenter);
    m_hint->setWordWrap(true);
    m_hint->setMargin(8);
    m_hint->setStyleSheet(QStringLiteral("color: palette(mid); background: transparent;"));
    m_hint->setAttribute(Qt::WA_TransparentForMouseEvents);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_chartView);

    buildChart();
    connect(m_chart, &QChart::plotAreaChanged, this, &TrendChartView::placeHint);
    clear();
}

TrendChartView::~TrendChartView() = default;

void TrendChartView::buildChart() {
    m_chart->setLocale(QLocale(QLocale::English, QLocale::UnitedStates));
    m_chart->setLocalizeNumbers(true);
    m_chart->setBackgroundRoundness(0);
    QFont titleFont = m_chart->titleFont();
    titleFont.setBold(true);
    m_chart->setTitleFont(titleFont);
    m_chart->legend()->setAlignment(Qt::AlignBottom);

    m_timeAxis = new QCategoryAxis(m_chart);
    m_timeAxis->setTitleText(tr("time (UTC)"));
    m_timeAxis->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
    m_chart->addAxis(m_timeAxis, Qt::AlignBottom);
    // A label on the axis' last value is centred on the plot's right edge: the margin holds its
    // right half, so it is never cut (the value axis' labels do that on the left).
    m_timeLabelWidth = widestTimeLabel(m_timeAxis->labelsFont());
    m_chart->setMargins(QMargins(4, 4, m_timeLabelWidth / 2 + 4, 4));
    m_valueAxis = new QValueAxis(m_chart);
    m_valueAxis->setMinorTickCount(1);
    m_chart->addAxis(m_valueAxis, Qt::AlignLeft);

    m_bandHigh = new QLineSeries(this);
    m_bandLow = new QLineSeries(this);
    m_band = new QAreaSeries(m_bandHigh, m_bandLow);
    m_band->setName(tr("prediction band"));
    m_band->setPen(Qt::NoPen);
    m_band->setBrush(kBandColour);

    m_history = new QLineSeries;
    m_history->setName(tr("history"));
    m_history->setPen(QPen(kHistoryColour, 1.6));
    m_history->setColor(kHistoryColour);
    m_history->setMarkerSize(5.0);

    m_forecast = new QLineSeries;
    m_forecast->setName(tr("forecast"));
    m_forecast->setPen(QPen(kForecastColour, 2.0, Qt::DashLine));

    m_capacity = new QLineSeries;
    m_capacity->setName(tr("capacity"));
    m_capacity->setPen(QPen(kCapacityColour, 1.6, Qt::DashDotLine));

    m_now = new QLineSeries;
    m_now->setName(tr("now"));
    m_now->setPen(QPen(kNowColour, 1.0, Qt::DotLine));

    // Drawn in this order (the band under the lines); the legend follows it too.
    for (QAbstractSeries* series : std::initializer_list<QAbstractSeries*>{
             m_band, m_now, m_history, m_forecast, m_capacity}) {
        m_chart->addSeries(series); // the chart owns it
        series->attachAxis(m_timeAxis);
        series->attachAxis(m_valueAxis);
    }
    setLegendVisible(m_chart, m_now, false);
}

void TrendChartView::setSeries(TrendSeries series) {
    if (!hasBand(series)) {
        series.band_low.clear();
        series.band_high.clear();
    }
    m_series = std::move(series);
    const auto [scale, unit] = displayUnit(m_series->unit, largestValue(*m_series));
    m_valueScale = scale;
    m_valueAxis->setTitleText(unit);
    m_chart->setTitle(m_series->title);

    fillLines();
    fillBand();
    fitAxes();
    fillCapacity();
    m_chart->legend()->setVisible(true);
    m_hint->hide();
}

void TrendChartView::clear(const QString& hint, std::optional<TimeMs> nowMs, const QString& unit) {
    m_series.reset();
    for (QLineSeries* series : {m_history, m_forecast, m_bandHigh, m_bandLow, m_capacity, m_now})
        series->clear();
    m_band->setVisible(false);
    m_capacity->setVisible(false);
    m_now->setVisible(false);
    m_chart->setTitle(QString());
    m_chart->legend()->setVisible(false); // nothing drawn: nothing to name
    m_valueScale = 1.0;
    m_valueAxis->setTitleText(
        displayUnit(unit.isEmpty() ? QStringLiteral("ops/s") : unit, 0.0).second);
    m_valueAxis->setRange(0.0, 10.0);
    m_valueAxis->applyNiceNumbers();
    m_valueAxis->setLabelFormat(QStringLiteral("%.0f"));
    if (nowMs) {
        fitTimeAxis(*nowMs, *nowMs); // the hour around now
    } else {
        // One blank category on the right edge: a category axis without any keeps drawing the
        // grid lines of its previous labels.
        m_rangeStartMs = m_rangeEndMs = 0;
        for (const QString& label : m_timeAxis->categoriesLabels())
            m_timeAxis->remove(label);
        m_timeAxis->setStartValue(0.0);
        m_timeAxis->append(QStringLiteral(" "), 1.0);
        m_timeAxis->setRange(0.0, 1.0);
    }
    m_hint->setText(hint.isEmpty() ? defaultHint() : hint);
    m_hint->show();
    placeHint();
}

bool TrendChartView::isShowingHint() const {
    return !m_hint->isHidden();
}

// The hint covers the plot area (the chart's own coordinates are the scene's).
void TrendChartView::placeHint() {
    const QRectF area = m_chart->mapToScene(m_chart->plotArea()).boundingRect();
    m_hint->setGeometry(m_chartView->mapFromScene(area).boundingRect());
}

QString TrendChartView::hintText() const {
    return m_hint->text();
}

void TrendChartView::fillLines() {
    const TrendSeries& series = *m_series;
    const auto point = [&](TimeMs time, double value) {
        return QPointF(static_cast<qreal>(time), value / m_valueScale);
    };

    QList<QPointF> history;
    history.reserve(static_cast<qsizetype>(series.history.size()));
    for (std::size_t i = 0; i < series.history.size(); ++i) {
        if (std::isfinite(series.history[i]))
            history.append(point(pointTime(series.history_start_ms, series.history_step_ms, i),
                                 series.history[i]));
    }
    QList<QPointF> forecast;
    forecast.reserve(static_cast<qsizetype>(series.forecast.size()) + 1);
    if (!history.isEmpty() && !series.forecast.empty())
        forecast.append(history.back()); // the dashed line continues the solid one
    for (std::size_t i = 0; i < series.forecast.size(); ++i) {
        if (std::isfinite(series.forecast[i]))
            forecast.append(point(pointTime(series.forecast_start_ms, series.forecast_step_ms, i),
                                  series.forecast[i]));
    }
    m_history->replace(history);
    m_history->setPointsVisible(static_cast<std::size_t>(history.size()) <= kMarkedHistoryPoints);
    m_forecast->replace(forecast);
}

void TrendChartView::fillBand() {
    const TrendSeries& series = *m_series;
    QList<QPointF> high;
    QList<QPointF> low;
    high.reserve(static_cast<qsizetype>(series.band_high.size()));
    low.reserve(static_cast<qsizetype>(series.band_low.size()));
    for (std::size_t i = 0; i < series.band_high.size(); ++i) {
        if (!std::isfinite(series.band_low[i]) || !std::isfinite(series.band_high[i]))
            continue;
        const auto x =
            static_cast<qreal>(pointTime(series.forecast_start_ms, series.forecast_step_ms, i));
        high.append(QPointF(x, series.band_high[i] / m_valueScale));
        low.append(QPointF(x, series.band_low[i] / m_valueScale));
    }
    m_bandHigh->replace(high);
    m_bandLow->replace(low);
    const bool visible = !high.isEmpty();
    m_band->setVisible(visible);
    setLegendVisible(m_chart, m_band, visible);
}

void TrendChartView::fillCapacity() {
    const TrendSeries& series = *m_series;
    const auto left = static_cast<qreal>(m_rangeStartMs);
    const auto right = static_cast<qreal>(m_rangeEndMs);
    const bool visible = series.capacity.has_value() && std::isfinite(*series.capacity);
    if (visible) {
        const double level = *series.capacity / m_valueScale;
        m_capacity->replace({QPointF(left, level), QPointF(right, level)});
    } else {
        m_capacity->clear();
    }
    m_capacity->setVisible(visible);
    setLegendVisible(m_chart, m_capacity, visible);

    const std::optional<TimeMs> nowMs = nowOf(series);
    if (nowMs) {
        const auto now = static_cast<qreal>(*nowMs);
        m_now->replace({QPointF(now, m_valueAxis->min()), QPointF(now, m_valueAxis->max())});
    } else {
        m_now->clear();
    }
    m_now->setVisible(nowMs.has_value());
    setLegendVisible(m_chart, m_now, false);
}

void TrendChartView::fitAxes() {
    const TrendSeries& series = *m_series;
    TimeMs first = std::numeric_limits<TimeMs>::max();
    TimeMs last = std::numeric_limits<TimeMs>::min();
    if (!series.history.empty()) {
        first = std::min(first, series.history_start_ms);
        last = std::max(last, pointTime(series.history_start_ms, series.history_step_ms,
                                        series.history.size() - 1));
    }
    if (!series.forecast.empty()) {
        first = std::min(first, series.forecast_start_ms);
        last = std::max(last, pointTime(series.forecast_start_ms, series.forecast_step_ms,
                                        series.forecast.size() - 1));
    }
    const std::optional<TimeMs> now = nowOf(series);
    if (first > last) // no points at all: an hour around "now"
        first = last = now.value_or(series.forecast_start_ms);
    if (now) { // the now line stays inside the plot
        first = std::min(first, *now);
        last = std::max(last, *now);
    }
    fitTimeAxis(first, last);
    fitValueAxis();
}

// Exactly the data's time span (an hour around a single point), labelled at whole UTC steps:
// the smallest step that leaves no more labels than the width has room for.
void TrendChartView::fitTimeAxis(TimeMs first, TimeMs last) {
    if (last <= first) {
        first -= 30 * kMsPerMinute;
        last = first + kMsPerHour;
    }
    const int width = this->width() > 100 ? this->width() : 480;
    const int plotWidth = width - kValueAxisWidth - m_chart->margins().right();
    const TimeMs maxLabels = std::max(2, plotWidth / (m_timeLabelWidth + kTimeLabelGap) - 1);
    TimeMs step = kTimeSteps.back();
    for (const TimeMs candidate : kTimeSteps) {
        if ((last - first) / candidate < maxLabels) {
            step = candidate;
            break;
        }
    }
    m_rangeStartMs = first;
    m_rangeEndMs = last;
    m_timeAxis->setRange(static_cast<qreal>(first), static_cast<qreal>(last));
    labelTimeAxis(step);
}

void TrendChartView::labelTimeAxis(TimeMs step) {
    const QStringList old = m_timeAxis->categoriesLabels();
    for (const QString& label : old)
        m_timeAxis->remove(label);
    const QLocale english(QLocale::English, QLocale::UnitedStates);
    const QString format =
        step >= kMsPerDay ? QStringLiteral("MMM d") : QStringLiteral("MMM d HH:mm");
    m_timeAxis->setStartValue(static_cast<qreal>(m_rangeStartMs));
    // Whole steps since the epoch are whole UTC minutes, hours and days; every label is a
    // different time, as QCategoryAxis needs.
    for (TimeMs tick = ceilTo(m_rangeStartMs, step); tick <= m_rangeEndMs; tick += step) {
        const QDateTime time = QDateTime::fromMSecsSinceEpoch(tick, QTimeZone::utc());
        m_timeAxis->append(english.toString(time, format), static_cast<qreal>(tick));
    }
}

void TrendChartView::fitValueAxis() {
    const double top = largestValue(*m_series) / m_valueScale;
    const double bottom = smallestValue(*m_series) / m_valueScale;
    const double headroom = (top - bottom) * 0.08;
    m_valueAxis->setRange(bottom < 0.0 ? bottom - headroom : 0.0,
                          top > bottom ? top + headroom : bottom + 1.0);
    m_valueAxis->applyNiceNumbers();
    const double span = m_valueAxis->max() - m_valueAxis->min();
    m_valueAxis->setLabelFormat(span >= 20.0  ? QStringLiteral("%.0f")
                                : span >= 2.0 ? QStringLiteral("%.1f")
                                              : QStringLiteral("%.2f"));
}

void TrendChartView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    if (m_series) { // the number of time labels that fit changed
        fitAxes();
        fillCapacity();
    } else if (m_rangeEndMs > m_rangeStartMs) {
        fitTimeAxis(m_rangeStartMs, m_rangeEndMs);
    }
    placeHint();
}

} // namespace rangepilot
