#pragma once

// TrendChartView: one range's or host's load over time, as the operator asks "where is this
// going?". History is a solid line, the forecast a dashed line continuing from the last measured
// point, the prediction band a translucent area between its bounds, and a host's capacity a red
// dashed line, and a dotted vertical line marks now. The x axis spans exactly the data and is
// labelled at whole UTC minutes, hours or days (as many labels as the width has room for); the y
// axis shows the unit (bytes per second are scaled to kB/s, MB/s, GB/s). A short history (a live
// cluster's first minutes) marks its points, so that even one bucket shows. With nothing to show
// the chart keeps its labelled axes (time, and the unit) and a hint sits over the empty plot.
//
// Cost: setSeries() replaces each line's points in one call (QXYSeries::replace), so a week of
// 5-minute history (2,016 points) is one update per series, not thousands of appends.

#include "time_ms.h"

#include <QString>
#include <QWidget>

#include <optional>
#include <utility>
#include <vector>

class QChart;
class QChartView;
class QLabel;
class QLineSeries;
class QAreaSeries;
class QCategoryAxis;
class QValueAxis;
class QResizeEvent;

namespace rangepilot {

struct TrendSeries {
    QString title; // "shard 17 [user0042, user0051) on host-3"
    QString unit;  // "ops/s"
    TimeMs history_start_ms = 0;
    TimeMs history_step_ms = 0;
    std::vector<double> history;
    TimeMs forecast_start_ms = 0; // now
    TimeMs forecast_step_ms = 0;
    std::vector<double> forecast;
    std::vector<double> band_low; // same length as forecast, or both band vectors empty
    std::vector<double> band_high;
    std::optional<double> capacity; // hosts: the level the load must stay under
    // Where the dotted now line sits (it may fall inside the newest history bucket, which is in
    // progress); unset: forecast_start_ms, when there is a forecast.
    std::optional<TimeMs> now_ms;
};

class TrendChartView : public QWidget {
    Q_OBJECT
public:
    explicit TrendChartView(QWidget* parent = nullptr);
    ~TrendChartView() override;

    void setSeries(TrendSeries series);
    // Back to the empty state: no lines, the axes labelled with the time (UTC) and `unit` (ops/s
    // when empty), and `hint` (a default hint when empty) over the plot. With `nowMs` the time
    // axis shows the hour around it; without, it has no tick labels.
    void clear(const QString& hint = {}, std::optional<TimeMs> nowMs = std::nullopt,
               const QString& unit = {});

    const std::optional<TrendSeries>& series() const { return m_series; }
    QChart* chart() { return m_chart; }

    // The parts, for tests. The forecast line starts with the last history point (so the dashed
    // line continues the solid one), then one point per forecast value.
    bool isShowingHint() const;
    QLabel* hintLabel() { return m_hint; } // over the plot area, in the chart view's viewport
    QChartView* chartView() { return m_chartView; }
    QString hintText() const;
    QLineSeries* historySeries() { return m_history; }
    QLineSeries* forecastSeries() { return m_forecast; }
    QAreaSeries* bandSeries() { return m_band; }
    QLineSeries* capacitySeries() { return m_capacity; }
    QLineSeries* nowSeries() { return m_now; }
    // x values are UTC milliseconds since the epoch; labels sit on whole UTC steps.
    QCategoryAxis* timeAxis() { return m_timeAxis; }
    QValueAxis* valueAxis() { return m_valueAxis; }
    std::pair<TimeMs, TimeMs> timeRangeMs() const { return {m_rangeStartMs, m_rangeEndMs}; }
    // What a plotted y value is multiplied by to give the series' unit (1000 for kB/s shown for
    // a "bytes/s" series, and so on); 1 for any other unit.
    double valueScale() const { return m_valueScale; }

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void buildChart();
    void fillLines();
    void fillBand();
    void fillCapacity();
    void fitAxes();
    void fitTimeAxis(TimeMs first, TimeMs last);
    void labelTimeAxis(TimeMs step);
    void fitValueAxis();
    void placeHint();

    QLabel* m_hint = nullptr;
    QChartView* m_chartView = nullptr;
    QChart* m_chart = nullptr;
    QLineSeries* m_history = nullptr;
    QLineSeries* m_forecast = nullptr;
    QLineSeries* m_bandHigh = nullptr;
    QLineSeries* m_bandLow = nullptr;
    QAreaSeries* m_band = nullptr;
    QLineSeries* m_capacity = nullptr;
    QLineSeries* m_now = nullptr;
    QCategoryAxis* m_timeAxis = nullptr;
    QValueAxis* m_valueAxis = nullptr;

    std::optional<TrendSeries> m_series;
    double m_valueScale = 1.0;
    int m_timeLabelWidth = 100; // the widest time label, in pixels
    TimeMs m_rangeStartMs = 0;
    TimeMs m_rangeEndMs = 0;
};

} // namespace rangepilot
