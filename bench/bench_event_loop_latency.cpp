// GUI event-loop latency while the console ingests 1M events/s.
//
// The whole console runs as an operator would see it: the main window (offscreen), the session,
// and the embedded simulated cluster at 1,200 events/s of cluster time played at 1000× (over a
// million events per wall second), paced by its timer. A probe timer asks to fire every 5 ms;
// how late each firing is, is the event loop's latency: how long a click or a repaint would wait.
//
// Printed next to two baselines from the same run: the idle event loop (the probe alone), and the
// same console with the planner on the GUI thread (what the worker thread saves).
//
//   bench_event_loop_latency [--quick] [--seconds N]

#include "console_session.h"
#include "console_settings.h"
#include "main_window.h"
#include "simulated_cluster_connector.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

using namespace rangepilot;

namespace {

constexpr int kProbeIntervalMs = 5;

struct Latency {
    double p50_ms = 0.0;
    double p99_ms = 0.0;
    double max_ms = 0.0;
    std::size_t samples = 0;
};

double percentile(std::vector<double> values, double fraction) {
    if (values.empty())
        return 0.0;
    std::sort(values.begin(), values.end());
    const auto index = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1));
    return values[index];
}

// Runs the event loop for `seconds`, measuring how late a 5 ms timer fires.
Latency probeEventLoop(double seconds) {
    std::vector<double> lateness;
    QElapsedTimer clock;
    QTimer probe;
    probe.setTimerType(Qt::PreciseTimer);
    probe.setInterval(kProbeIntervalMs);
    qint64 last = 0;
    QObject::connect(&probe, &QTimer::timeout, [&] {
        const qint64 now = clock.nsecsElapsed();
        lateness.push_back(std::max(0.0, static_cast<double>(now - last) / 1e6 - kProbeIntervalMs));
        last = now;
    });
    QEventLoop loop;
    QTimer::singleShot(static_cast<int>(seconds * 1000.0), &loop, &QEventLoop::quit);
    clock.start();
    probe.start();
    loop.exec();
    Latency result;
    result.samples = lateness.size();
    result.p50_ms = percentile(lateness, 0.50);
    result.p99_ms = percentile(lateness, 0.99);
    result.max_ms = lateness.empty() ? 0.0 : *std::max_element(lateness.begin(), lateness.end());
    return result;
}

struct ConsoleRun {
    Latency latency;
    double events_per_s = 0.0;
    std::uint64_t rounds_planned = 0;
};

ConsoleRun runConsole(double seconds, bool plannerOnGuiThread) {
    SimulatedClusterOptions cluster;
    // 1,200 events/s of cluster time on average, played at 1000×: the daily cycle's night
    // stays above a million events per wall second (the figure printed is what was ingested).
    cluster.rate_eps = 1200;
    cluster.speed = 1000;
    SimulatedClusterConnector connector(cluster);
    ConsoleSessionOptions options;
    options.plan_on_gui_thread = plannerOnGuiThread;
    ConsoleSession session(&connector, options);
    ConsoleSettings settings;
    MainWindow window(&settings);
    window.resize(1600, 1000);
    window.setSession(&session, nullptr);
    window.show();
    connector.start();
    // Warm up: the first rounds fill the load map and the forecaster.
    probeEventLoop(std::min(2.0, seconds / 4));
    const std::uint64_t eventsBefore = connector.eventsGenerated();
    QElapsedTimer wall;
    wall.start();
    ConsoleRun run;
    run.latency = probeEventLoop(seconds);
    run.events_per_s =
        static_cast<double>(connector.eventsGenerated() - eventsBefore) / (wall.elapsed() / 1000.0);
    run.rounds_planned = session.roundsPlanned();
    connector.stop();
    window.setSession(nullptr, nullptr);
    return run;
}

void print(const char* label, const Latency& latency) {
    std::printf("  %-44s p50 %6.2f ms   p99 %6.2f ms   max %7.2f ms   (%zu samples)\n", label,
                latency.p50_ms, latency.p99_ms, latency.max_ms, latency.samples);
}

} // namespace

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    double seconds = 15.0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0)
            seconds = 1.5;
        else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = std::atof(argv[++i]);
    }
    QApplication app(argc, argv);

    std::printf("GUI event-loop latency (a 5 ms timer's lateness), %.0f s per run\n", seconds);
    const Latency idle = probeEventLoop(std::min(seconds, 3.0));
    print("idle event loop (baseline)", idle);
    const ConsoleRun worker = runConsole(seconds, false);
    print("console, planner on the worker thread", worker.latency);
    std::printf("  %-44s %.2f M events/s ingested, %llu rounds planned\n", "",
                worker.events_per_s / 1e6, static_cast<unsigned long long>(worker.rounds_planned));
    const ConsoleRun gui = runConsole(seconds, true);
    print("console, planner on the GUI thread (baseline)", gui.latency);
    std::printf("  %-44s %.2f M events/s ingested, %llu rounds planned\n", "",
                gui.events_per_s / 1e6, static_cast<unsigned long long>(gui.rounds_planned));
    std::printf("target: p99 < 50 ms at 1M events/s: %s (p99 %.1f ms at %.2f M events/s)\n",
                worker.latency.p99_ms < 50.0 && worker.events_per_s >= 0.95e6 ? "met" : "MISSED",
                worker.latency.p99_ms, worker.events_per_s / 1e6);
    return 0;
}
