// How long the console's heatmap takes to show a new grid: HeatmapView::setGrid() plus a
// synchronous replot of a week of 5-minute columns over 4,096 key cells at 1600×900, against
// the straightforward QCustomPlot way measured in the same run (QCPColorMapData::setCell() for
// every cell, default colour map settings, then replot), against a colour map that holds every
// cell but is filled in bulk (what reducing to screen resolution saves), and against one plain
// read of the grid's values (the memory-bandwidth floor of any approach that looks at them all).
//
//   bench_heatmap_replot [--quick]
//
// --quick: a small grid and few repetitions, so CI notices when the benchmark stops running.

#include "heatmap_view.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QThread>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

using namespace rangepilot;

namespace {

constexpr TimeMs kStart = 1767571200000; // 2026-01-05 00:00 UTC
constexpr TimeMs kColumn = 5 * kMsPerMinute;
constexpr int kWidth = 1600;
constexpr int kHeight = 900;

struct Sizes {
    std::size_t rows;
    std::size_t columns;
    int repetitions;
    int baselineRepetitions;
};

// A daily cycle over a skewed key space with a hot band sweeping across it, noise on the
// observed three quarters: what a week of load looks like, not a constant the colour map could
// treat specially.
HeatmapGrid syntheticGrid(std::size_t rows, std::size_t columns) {
    HeatmapGrid grid;
    grid.start_ms = kStart;
    grid.column_ms = kColumn;
    grid.columns = columns;
    grid.observed_columns = columns * 3 / 4;
    grid.rows = rows;
    grid.values.resize(rows * columns);
    const double pi = std::acos(-1.0);
    std::uint32_t noise = 2024;
    for (std::size_t c = 0; c < columns; ++c) {
        const double hours = static_cast<double>(c) / 12.0;
        const double daily = 0.55 + 0.45 * std::sin(2.0 * pi * (hours - 8.0) / 24.0);
        const double centre = static_cast<double>(rows) * (0.1 + 0.8 * c / double(columns));
        for (std::size_t r = 0; r < rows; ++r) {
            const double distance = (static_cast<double>(r) - centre) / (rows / 80.0);
            double value = (90.0 + 400.0 / (1.0 + r / 60.0)) * daily +
                           900.0 * daily * std::exp(-distance * distance);
            if (c < grid.observed_columns) {
                noise = noise * 1664525u + 1013904223u;
                value *= 0.85 + 0.3 * static_cast<double>(noise >> 8) / double(1u << 24);
            }
            grid.values[c * rows + r] = value;
        }
    }
    return grid;
}

struct Summary {
    double median;
    double p95;
};

Summary summarize(std::vector<double> millis) {
    std::sort(millis.begin(), millis.end());
    const auto at = [&](double quantile) {
        const auto index = static_cast<std::size_t>(std::ceil(quantile * millis.size())) - 1;
        return millis[std::min(index, millis.size() - 1)];
    };
    return {at(0.5), at(0.95)};
}

// Times `run` (after one untimed warm-up); `prepare` runs before each, outside the timing.
Summary measure(int repetitions, const std::function<void()>& prepare,
                const std::function<void()>& run) {
    prepare();
    run();
    std::vector<double> millis;
    for (int i = 0; i < repetitions; ++i) {
        prepare();
        QElapsedTimer timer;
        timer.start();
        run();
        millis.push_back(static_cast<double>(timer.nsecsElapsed()) / 1e6);
    }
    return summarize(std::move(millis));
}

void showAtBenchSize(QWidget& widget) {
    widget.resize(kWidth, kHeight);
    widget.show();
    for (int i = 0; i < 10; ++i)
        QCoreApplication::processEvents();
}

Summary measureView(const HeatmapGrid& grid, int repetitions) {
    HeatmapView view;
    showAtBenchSize(view);
    HeatmapGrid next;
    return measure(
        repetitions, [&] { next = grid; }, // the copy is the caller's, not the view's
        [&] {
            view.setGrid(std::move(next), LoadMetric::Ops);
            view.replotNow();
        });
}

// The way the QCustomPlot documentation fills a colour map.
Summary measureSetCell(const HeatmapGrid& grid, int repetitions) {
    QCustomPlot plot;
    auto* map = new QCPColorMap(plot.xAxis, plot.yAxis);
    auto* scale = new QCPColorScale(&plot);
    plot.plotLayout()->addElement(0, 1, scale);
    map->setColorScale(scale);
    showAtBenchSize(plot);
    const double start = static_cast<double>(grid.start_ms) / 1000.0;
    const double column = static_cast<double>(grid.column_ms) / 1000.0;
    return measure(
        repetitions, [] {},
        [&] {
            QCPColorMapData* data = map->data();
            data->setSize(static_cast<int>(grid.columns), static_cast<int>(grid.rows));
            data->setRange(QCPRange(start + column / 2, start + column * (grid.columns - 0.5)),
                           QCPRange(0.5, grid.rows - 0.5));
            for (std::size_t c = 0; c < grid.columns; ++c) {
                for (std::size_t r = 0; r < grid.rows; ++r)
                    data->setCell(static_cast<int>(c), static_cast<int>(r), grid.at(c, r));
            }
            map->rescaleDataRange(true);
            plot.rescaleAxes();
            plot.replot(QCustomPlot::rpImmediateRefresh);
        });
}

// Every cell in the colour map, written straight into its buffer, interpolation off: only the
// reduction to screen resolution is missing.
struct BufferAccess : QCPColorMapData {
    static double* buffer(QCPColorMapData& data) { return data.*(&BufferAccess::mData); }
    static void modified(QCPColorMapData& data) { data.*(&BufferAccess::mDataModified) = true; }
};

Summary measureFullResolution(const HeatmapGrid& grid, int repetitions) {
    QCustomPlot plot;
    auto* map = new QCPColorMap(plot.xAxis, plot.yAxis);
    map->setInterpolate(false);
    map->setAntialiased(false);
    showAtBenchSize(plot);
    const double start = static_cast<double>(grid.start_ms) / 1000.0;
    const double column = static_cast<double>(grid.column_ms) / 1000.0;
    return measure(
        repetitions, [] {},
        [&] {
            QCPColorMapData* data = map->data();
            data->setSize(static_cast<int>(grid.columns), static_cast<int>(grid.rows));
            data->setRange(QCPRange(start + column / 2, start + column * (grid.columns - 0.5)),
                           QCPRange(0.5, grid.rows - 0.5));
            double* out = BufferAccess::buffer(*data);
            double top = 0.0;
            for (std::size_t c = 0; c < grid.columns; ++c) {
                for (std::size_t r = 0; r < grid.rows; ++r) {
                    const double value = grid.at(c, r);
                    out[r * grid.columns + c] = value;
                    top = std::max(top, value);
                }
            }
            BufferAccess::modified(*data);
            map->setDataRange(QCPRange(0.0, top));
            plot.rescaleAxes();
            plot.replot(QCustomPlot::rpImmediateRefresh);
        });
}

// The floor for any approach that looks at every value: one plain read of the grid (66 MB for a
// week of 4,096 cells, so this measures the machine's memory bandwidth).
Summary measureOneRead(const HeatmapGrid& grid, int repetitions) {
    volatile double sink = 0.0;
    return measure(
        repetitions, [] {},
        [&] {
            double top = 0.0;
            for (const double value : grid.values)
                top = value > top ? value : top;
            sink = top;
        });
}

} // namespace

int main(int argc, char** argv) {
    bool quick = false;
    for (int i = 1; i < argc; ++i)
        quick = quick || std::strcmp(argv[i], "--quick") == 0;
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);

    const Sizes sizes = quick ? Sizes{256, 288, 3, 1} : Sizes{4096, 2016, 40, 5};
    const HeatmapGrid grid = syntheticGrid(sizes.rows, sizes.columns);

    const Summary view = measureView(grid, sizes.repetitions);
    const Summary setCell = measureSetCell(grid, sizes.baselineRepetitions);
    const Summary fullResolution = measureFullResolution(grid, sizes.baselineRepetitions);
    const Summary oneRead = measureOneRead(grid, sizes.baselineRepetitions);

    std::printf("heatmap replot %zux%zu at %dx%d: median %.1f ms, p95 %.1f ms (target < 33 ms); "
                "naive setCell path: median %.1f ms, p95 %.1f ms; every cell in the map, bulk "
                "fill: median %.1f ms; one plain read of the grid: median %.1f ms; %d threads\n",
                sizes.rows, sizes.columns, kWidth, kHeight, view.median, view.p95, setCell.median,
                setCell.p95, fullResolution.median, oneRead.median, QThread::idealThreadCount());
    return 0;
}
