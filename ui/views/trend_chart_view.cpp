#include "trend_chart_view.h"

#include <QAreaSeries>
#include <QCategoryAxis>
#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLocale>
#include <QPen>
#include <QResizeEvent>
#include <QStackedLayout>
#include <QTimeZone>
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

// Width a time label ("Jan 5 18:00") needs, with room to breathe, in pixels.
constexpr int kPixelsPerTimeLabel = 100;

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

TimeMs ceilTo(TimeMs value, TimeMs step) {
    return -floorDiv(-value, step) * step;
}

} // namespace

TrendChartView::TrendChartView(QWidget* parent)
    : QWidget(parent) {
    m_hint = new QLabel(this);
    m_hint->setAlignment(Qt::AlignCenter);
    m_hint->setWordWrap(true);
    m_hint->setMargin(16);
    m_hint->setStyleSheet(QStringLiteral("color: palette(mid);"));

    m_chart = new QChart;
    m_chartView = new QChartView(m_chart, this); // owns the chart
    m_chartView->setRenderHint(QPainter::Antialiasing);
    m_chartView->setMinimumSize(320, 220);

    m_stack = new QStackedLayout(this);
    m_stack->setContentsMargins(0, 0, 0, 0);
    m_stack->addWidget(m_hint);
    m_stack->addWidget(m_chartView);

    buildChart();
    clear();
}

TrendChartView::~TrendChartView() = default;

void TrendChartView::buildChart() {
    m_chart->setLocale(QLocale(QLocale::English, QLocale::UnitedStates));
    m_chart->setLocalizeNumbers(true);
    m_chart->setBackgroundRoundness(0);
    m_chart->setMargins(QMargins(4, 4, 4, 4));
    QFont titleFont = m_chart->titleFont();
    titleFont.setBold(true);
    m_chart->setTitleFont(titleFont);
    m_chart->legend()->setAlignment(Qt::AlignBottom);

    m_timeAxis = new QCategoryAxis(m_chart);
    m_timeAxis->setTitleText(tr("time (UTC)"));
    m_timeAxis->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
    m_chart->addAxis(m_timeAxis, Qt::AlignBottom);
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
    m_stack->setCurrentWidget(m_chartView);
}

void TrendChartView::clear(const QString& hint) {
    m_series.reset();
    for (QLineSeries* series : {m_history, m_forecast, m_bandHigh, m_bandLow, m_capacity, m_now})
        series->clear();
    m_chart->setTitle(QString());
    m_hint->setText(hint.isEmpty() ? defaultHint() : hint);
    m_stack->setCurrentWidget(m_hint);
}

bool TrendChartView::isShowingHint() const {
    return m_stack->currentWidget() == m_hint;
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

    const bool hasNow = !series.forecast.empty();
    if (hasNow) {
        const auto now = static_cast<qreal>(series.forecast_start_ms);
        m_now->replace({QPointF(now, m_valueAxis->min()), QPointF(now, m_valueAxis->max())});
    } else {
        m_now->clear();
    }
    m_now->setVisible(hasNow);
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
    if (first > last) // no points at all: an hour around "now"
        first = last = series.forecast_start_ms;
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
    const TimeMs maxLabels = std::max(2, width / kPixelsPerTimeLabel);
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
    }
}

} // namespace rangepilot
