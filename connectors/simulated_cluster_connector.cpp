#include "simulated_cluster_connector.h"

#include <algorithm>
#include <cmath>

namespace rangepilot {

namespace {

// The generator's rate carries a minute-scale lognormal noise of sigma 5%; over a few hundred
// independent 10-minute stretches its maximum is about 2.5 sigma.
constexpr double kRateNoiseAllowance = 1.133; // exp(2.5 * 0.05)

// The busiest minute of the workload in events per second: the noise-free rate at each minute's
// middle, plus the allowance for the noise.
double estimatedPeakEventsPerS(const WorkloadGenerator& generator) {
    double peak = 0.0;
    for (TimeMs minute = generator.startMs(); minute < generator.endMs(); minute += kMsPerMinute) {
        const TimeMs middle = std::min(minute + kMsPerMinute / 2, generator.endMs() - 1);
        peak = std::max(peak, generator.rateAt(middle));
    }
    return peak * kRateNoiseAllowance;
}

// Equal slices of the key index: [keyAt(k N / C), keyAt((k + 1) N / C)), the first from "".
std::vector<std::uint64_t> cellFirstIndices(std::uint64_t keyCount, std::size_t cells) {
    const std::uint64_t count =
        std::max<std::uint64_t>(1, std::min<std::uint64_t>(cells, keyCount));
    std::vector<std::uint64_t> first;
    for (std::uint64_t k = 0; k < count; ++k)
        first.push_back(k * keyCount / count);
    return first;
}

ModeledClusterSettings settingsOf(const SimulatedClusterOptions& options) {
    ModeledClusterSettings settings;
    settings.hosts = options.hosts;
    settings.shards_per_host = options.shards_per_host;
    settings.speed = options.speed;
    settings.step_ms = options.step_ms;
    settings.timer = options.timer;
    settings.capacity_ops = options.capacity_ops;
    settings.headroom = options.headroom;
    settings.migration_load = options.migration_load;
    settings.batch_bytes = options.batch_bytes;
    settings.move = options.move;
    settings.move.seed = options.seed; // moves fail reproducibly for the workload's seed
    return settings;
}

} // namespace

// The generator as an event source: it runs forward only, so spans come one after the other, and
// the first event past a span is kept for the next.
class SimulatedClusterConnector::GeneratorSource : public ClusterEventSource {
public:
    explicit GeneratorSource(WorkloadOptions options)
        : m_generator(std::move(options)) {}

    WorkloadGenerator& generator() { return m_generator; }

    Result<std::uint64_t> eventsIn(TimeMs /*start*/, TimeMs end, EventCallback onEvent) override {
        std::uint64_t count = 0;
        if (m_pending) {
            if (m_pending->ts_ms >= end)
                return count;
            TraceEvent event;
            event.ts_ms = m_pending->ts_ms;
            event.key = m_pending->key;
            event.op = m_pending->op;
            event.bytes = m_pending->bytes;
            event.latency_us = m_pending->latency_us;
            onEvent(event);
            ++count;
            m_pending.reset();
        }
        TraceEvent event;
        while (m_generator.next(event)) {
            if (event.ts_ms >= end) {
                // The generator cannot put it back: keep a copy for the next span.
                m_pending = PendingEvent{event.ts_ms, Key(event.key), event.op, event.bytes,
                                         event.latency_us};
                break;
            }
            onEvent(event);
            ++count;
        }
        return count;
    }

private:
    struct PendingEvent {
        TimeMs ts_ms = 0;
        Key key;
        Op op = Op::Get;
        std::uint64_t bytes = 0;
        std::uint64_t latency_us = 0;
    };

    WorkloadGenerator m_generator;
    std::optional<PendingEvent> m_pending; // the first event of the next span
};

Status validate(const SimulatedClusterOptions& options) {
    if (options.cells < 1)
        return Error{"cells must be at least 1"};
    if (!(std::isfinite(options.stored_bytes_per_key) && options.stored_bytes_per_key >= 0.0))
        return Error{"stored_bytes_per_key must be >= 0"};
    return validate(settingsOf(options));
}

SimulatedClusterConnector::SimulatedClusterConnector(SimulatedClusterOptions options,
                                                     QObject* parent)
    : ModeledClusterConnector(settingsOf(options), parent)
    , m_options(std::move(options)) {
    m_options.move.seed = m_options.seed;
    m_setup = setUp();
}

SimulatedClusterConnector::~SimulatedClusterConnector() = default;

QString SimulatedClusterConnector::name() const {
    return QStringLiteral("simulated cluster (%1, %2 hosts, %3 events/s)")
        .arg(QString::fromUtf8(scenarioName(m_options.scenario)))
        .arg(m_options.hosts)
        .arg(m_options.rate_eps);
}

QString SimulatedClusterConnector::endedDetail() const {
    return QStringLiteral("the generated workload ended after %1 h").arg(m_options.hours);
}

WorkloadOptions SimulatedClusterConnector::workloadOptions() const {
    WorkloadOptions workload;
    workload.scenario = m_options.scenario;
    workload.hours = m_options.hours;
    workload.seed = m_options.seed;
    workload.rate_eps = m_options.rate_eps;
    workload.key_count = m_options.key_count;
    return workload;
}

// Builds the workload, cells, hosts and initial table; an error leaves the connector unable to
// start (start() reports it).
Status SimulatedClusterConnector::setUp() {
    if (const Status valid = validate(m_options); !valid)
        return valid;
    m_generatorSource = std::make_unique<GeneratorSource>(workloadOptions());
    if (!m_generatorSource->generator().status())
        return m_generatorSource->generator().status();
    Result<ClusterModelInput> input = cellsAndData();
    if (!input)
        return input.error();
    return buildModel(std::move(input).value(), m_generatorSource.get());
}

// Equal slices of the key index, and their data: every key of the slice, stored.
Result<ClusterModelInput> SimulatedClusterConnector::cellsAndData() const {
    const WorkloadGenerator& generator = m_generatorSource->generator();
    const std::vector<std::uint64_t> firstIndex =
        cellFirstIndices(m_options.key_count, m_options.cells);
    std::vector<Key> starts{Key()};
    for (std::size_t k = 1; k < firstIndex.size(); ++k)
        starts.push_back(generator.keyAt(firstIndex[k]));
    Result<KeyCells> cells = KeyCells::fromStarts(std::move(starts));
    if (!cells)
        return Error{"key cells: " + cells.error().message};

    ClusterModelInput input;
    input.cells = std::move(cells).value();
    for (std::size_t k = 0; k < firstIndex.size(); ++k) {
        const std::uint64_t end =
            k + 1 < firstIndex.size() ? firstIndex[k + 1] : m_options.key_count;
        input.cell_bytes.push_back(static_cast<double>(end - firstIndex[k]) *
                                   m_options.stored_bytes_per_key);
    }
    input.start_ms = generator.startMs();
    input.end_ms = generator.endMs();
    input.mean_events_per_s = m_options.rate_eps;
    input.peak_events_per_s = estimatedPeakEventsPerS(generator);
    return input;
}

void SimulatedClusterConnector::start() {
    if (live())
        return;
    if (!m_setup) {
        const QString message = QString::fromStdString(m_setup.message());
        setState(ConnectorState::Failed, message);
        Q_EMIT errorOccurred(message);
        return;
    }
    if (clusterTime() >= endMs()) {
        setState(ConnectorState::Stopped, QStringLiteral("the generated workload has ended"));
        return;
    }
    setState(ConnectorState::Starting, name());
    publishAndRun();
}

} // namespace rangepilot
