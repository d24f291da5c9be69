#include "trace_writer.h"
#include "workload_generator.h"

#include <QDateTime>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

using namespace rangepilot;

namespace {

// A copy of an event that outlives the generator's buffers.
struct OwnedEvent {
    TimeMs ts_ms;
    std::string key;
    std::string end_key;
    Op op;
    std::uint64_t bytes;
    std::uint64_t latency_us;
    std::string client;

    bool operator==(const OwnedEvent&) const = default;
};

OwnedEvent own(const TraceEvent& event) {
    return {event.ts_ms, std::string(event.key), std::string(event.end_key), event.op,
            event.bytes, event.latency_us,       std::string(event.client)};
}

WorkloadOptions optionsFor(Scenario scenario, double hours, double rate, std::uint64_t seed = 1) {
    WorkloadOptions options;
    options.scenario = scenario;
    options.hours = hours;
    options.rate_eps = rate;
    options.seed = seed;
    return options;
}

// Runs the generator to the end, handing every event to `visit`; returns the event count.
std::uint64_t forEachEvent(WorkloadGenerator& generator,
                           const std::function<void(const TraceEvent&)>& visit) {
    TraceEvent event;
    std::uint64_t count = 0;
    while (generator.next(event)) {
        visit(event);
        ++count;
    }
    return count;
}

std::uint64_t keyIndexOf(std::string_view key, std::size_t prefixLength) {
    std::uint64_t index = std::numeric_limits<std::uint64_t>::max();
    std::from_chars(key.data() + prefixLength, key.data() + key.size(), index);
    return index;
}

double keyFractionOf(std::string_view key, const WorkloadOptions& options) {
    return static_cast<double>(keyIndexOf(key, options.key_prefix.size())) /
           static_cast<double>(options.key_count);
}

int hourOfTrace(TimeMs ts, TimeMs start) {
    return static_cast<int>((ts - start) / kMsPerHour);
}

template <std::size_t N>
int indexOfLargest(const std::array<std::uint64_t, N>& counts) {
    return static_cast<int>(std::max_element(counts.begin(), counts.end()) - counts.begin());
}

} // namespace

class TestWorkloadGenerator : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void scenarioNames_data();
    void scenarioNames();
    void unknownScenarioNames();
    void defaultsStartOnMonday2026();
    void validation_data();
    void validation();
    void invalidOptionsGiveNoEvents();

    void deterministicPerSeed_data();
    void deterministicPerSeed();
    void streamInvariants_data();
    void streamInvariants();
    void keyText();

    void diurnalPeakAndTrough();
    void hotspotDriftsAndRepeatsDaily();
    void growthShareGrows();
    void flashCrowdBurstsDaily();
    void randomJumpsHaveNoDailyPattern();
    void groundTruthIsConsistent_data();
    void groundTruthIsConsistent();
    void groundTruthMatchesEvents();

    void writesCsv();
    void writeCsvReportsErrors();

private:
    void addScenarioRows();
};

// Scenarios travel through the data table as ints: registering a custom metatype makes Qt 6.4
// leave the AVX upper register state dirty on AVX-512 machines, which slows every later libm call
// in this process several times over (SSE/AVX transition penalties).
void TestWorkloadGenerator::addScenarioRows() {
    QTest::addColumn<int>("scenarioNumber");
    for (const Scenario scenario : allScenarios())
        QTest::newRow(std::string(scenarioName(scenario)).c_str()) << static_cast<int>(scenario);
}

void TestWorkloadGenerator::scenarioNames_data() {
    QTest::addColumn<int>("scenarioNumber");
    QTest::addColumn<QString>("name");
    QTest::newRow("uniform") << static_cast<int>(Scenario::Uniform) << QStringLiteral("uniform");
    QTest::newRow("diurnal") << static_cast<int>(Scenario::Diurnal) << QStringLiteral("diurnal");
    QTest::newRow("hotspot-drift")
        << static_cast<int>(Scenario::HotspotDrift) << QStringLiteral("hotspot-drift");
    QTest::newRow("growth") << static_cast<int>(Scenario::Growth) << QStringLiteral("growth");
    QTest::newRow("flash-crowd") << static_cast<int>(Scenario::FlashCrowd)
                                 << QStringLiteral("flash-crowd");
    QTest::newRow("random-jumps") << static_cast<int>(Scenario::RandomJumps)
                                  << QStringLiteral("random-jumps");
}

void TestWorkloadGenerator::scenarioNames() {
    QFETCH(int, scenarioNumber);
    const auto scenario = static_cast<Scenario>(scenarioNumber);
    QFETCH(QString, name);
    QCOMPARE(QString::fromStdString(std::string(scenarioName(scenario))), name);
    QCOMPARE(parseScenario(name.toStdString()), std::optional<Scenario>(scenario));
    QCOMPARE(parseScenario(name.toUpper().toStdString()), std::optional<Scenario>(scenario));
    QString underscored = name;
    underscored.replace(QLatin1Char('-'), QLatin1Char('_'));
    QCOMPARE(parseScenario(underscored.toStdString()), std::optional<Scenario>(scenario));
    const std::vector<Scenario> all = allScenarios();
    QCOMPARE(std::count(all.begin(), all.end(), scenario), std::ptrdiff_t(1));
}

void TestWorkloadGenerator::unknownScenarioNames() {
    QCOMPARE(allScenarios().size(), std::size_t(6));
    QVERIFY(!parseScenario("").has_value());
    QVERIFY(!parseScenario("hotspot").has_value());
    QVERIFY(!parseScenario("uniform ").has_value());
    QVERIFY(!parseScenario("flashcrowd").has_value());
}

void TestWorkloadGenerator::defaultsStartOnMonday2026() {
    const WorkloadOptions defaults;
    const QDateTime expected(QDate(2026, 1, 5), QTime(0, 0), Qt::UTC);
    QCOMPARE(defaults.start_ms, expected.toMSecsSinceEpoch());
    QCOMPARE(expected.date().dayOfWeek(), 1);
    QVERIFY(validate(defaults).ok());
    QCOMPARE(defaults.hours, 24.0);
    QCOMPARE(defaults.rate_eps, 1000.0);
    QCOMPARE(defaults.key_count, std::uint64_t(1'000'000));
}

void TestWorkloadGenerator::validation_data() {
    QTest::addColumn<QByteArray>("field");
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<QByteArray>("message");
    const auto row = [](const char* name, const char* field, const QByteArray& value,
                        const char* message) {
        QTest::newRow(name) << QByteArray(field) << value << QByteArray(message);
    };
    row("hours 0", "hours", QByteArray("0"), "--hours must be > 0");
    row("hours negative", "hours", QByteArray("-1"), "--hours must be > 0");
    row("hours nan", "hours", QByteArray("nan"), "--hours must be > 0");
    row("hours too long", "hours", QByteArray("10000"), "--hours must be at most");
    row("rate 0", "rate", QByteArray("0"), "--rate must be > 0");
    row("rate negative", "rate", QByteArray("-5"), "--rate must be > 0");
    row("rate infinite", "rate", QByteArray("inf"), "--rate must be at most");
    row("keys 0", "keys", QByteArray("0"), "--keys must be at least 1");
    row("keys huge", "keys", QByteArray("1e13"), "--keys must be at most");
    row("zipf negative", "zipf", QByteArray("-0.5"), "--zipf must be between 0 and 10");
    row("zipf large", "zipf", QByteArray("11"), "--zipf must be between 0 and 10");
    row("start negative", "start", QByteArray("-1"), "--start must be between");
    row("clients", "clients", QByteArray("200000"), "--clients must be at most");
    row("prefix comma", "prefix", QByteArray("a,b"), "--key-prefix may contain only");
    row("prefix space", "prefix", QByteArray("a b"), "--key-prefix may contain only");
    row("prefix hex", "prefix", QByteArray("0xab"), "--key-prefix must not start with");
    row("prefix long", "prefix", QByteArray(65, 'k'), "--key-prefix must be at most 64");
}

void TestWorkloadGenerator::validation() {
    QFETCH(QByteArray, field);
    QFETCH(QByteArray, value);
    QFETCH(QByteArray, message);
    WorkloadOptions options;
    const double number = std::strtod(value.constData(), nullptr);
    if (field == "hours")
        options.hours = number;
    else if (field == "rate")
        options.rate_eps = number;
    else if (field == "keys")
        options.key_count = static_cast<std::uint64_t>(number);
    else if (field == "zipf")
        options.zipf_s = number;
    else if (field == "start")
        options.start_ms = static_cast<TimeMs>(number);
    else if (field == "clients")
        options.client_count = static_cast<std::uint32_t>(number);
    else if (field == "prefix")
        options.key_prefix = value.toStdString();
    const Status status = validate(options);
    QVERIFY(!status.ok());
    QVERIFY2(status.message().rfind(message.toStdString(), 0) == 0, status.message().c_str());
}

void TestWorkloadGenerator::invalidOptionsGiveNoEvents() {
    WorkloadOptions options = optionsFor(Scenario::Diurnal, 1, 0);
    WorkloadGenerator generator(options);
    QVERIFY(!generator.status().ok());
    QCOMPARE(generator.status().message(), std::string("--rate must be > 0"));
    TraceEvent event;
    QVERIFY(!generator.next(event));
    QCOMPARE(generator.eventsGenerated(), std::uint64_t(0));
}

void TestWorkloadGenerator::deterministicPerSeed_data() {
    addScenarioRows();
}

void TestWorkloadGenerator::deterministicPerSeed() {
    QFETCH(int, scenarioNumber);
    const auto scenario = static_cast<Scenario>(scenarioNumber);
    const auto run = [scenario](std::uint64_t seed, std::vector<OwnedEvent>& firstEvents) {
        WorkloadGenerator generator(optionsFor(scenario, 1, 10, seed));
        return forEachEvent(generator, [&](const TraceEvent& event) {
            if (firstEvents.size() < 2000)
                firstEvents.push_back(own(event));
        });
    };
    std::vector<OwnedEvent> first, again, otherSeed;
    const std::uint64_t count = run(7, first);
    QCOMPARE(run(7, again), count);
    QCOMPARE(first.size(), std::size_t(2000));
    QVERIFY(first == again);

    const std::uint64_t otherCount = run(8, otherSeed);
    QVERIFY(otherCount != count);
    int sameKeys = 0;
    for (std::size_t i = 0; i < first.size(); ++i)
        sameKeys += first[i].key == otherSeed[i].key ? 1 : 0;
    QVERIFY2(sameKeys < 200, qPrintable(QString::number(sameKeys)));
}

void TestWorkloadGenerator::streamInvariants_data() {
    addScenarioRows();
}

void TestWorkloadGenerator::streamInvariants() {
    // Fractional hours and a start that is not on a second boundary; 26.5 h covers a full day.
    QFETCH(int, scenarioNumber);
    const auto scenario = static_cast<Scenario>(scenarioNumber);
    WorkloadOptions options = optionsFor(scenario, 26.5, 2, 3);
    options.start_ms += 123;
    WorkloadGenerator generator(options);
    QVERIFY(generator.status().ok());
    QCOMPARE(generator.startMs(), options.start_ms);
    QCOMPARE(generator.endMs(), options.start_ms + 26 * kMsPerHour + 30 * kMsPerMinute);

    TimeMs previous = options.start_ms;
    std::array<std::uint64_t, kOpCount> opCounts{};
    std::vector<std::uint64_t> getBytes;
    std::vector<std::uint64_t> getLatencies;
    bool ordered = true;
    bool inWindow = true;
    bool wellFormed = true;
    std::set<std::string> clients;
    const std::uint64_t count = forEachEvent(generator, [&](const TraceEvent& event) {
        ordered = ordered && event.ts_ms >= previous;
        inWindow =
            inWindow && event.ts_ms >= generator.startMs() && event.ts_ms < generator.endMs();
        previous = event.ts_ms;
        const std::uint64_t index = keyIndexOf(event.key, 4);
        wellFormed = wellFormed && event.key.size() == 14 && event.key.substr(0, 4) == "user" &&
                     index < options.key_count;
        ++opCounts[static_cast<std::size_t>(event.op)];
        if (event.op == Op::Scan) {
            const std::uint64_t end = keyIndexOf(event.end_key, 4);
            wellFormed = wellFormed && event.end_key.size() == 14 && end > index &&
                         end <= index + 256 && event.bytes > 0;
        } else {
            wellFormed = wellFormed && event.end_key.empty();
        }
        wellFormed =
            wellFormed && (event.op == Op::Delete) == (event.bytes == 0) && event.latency_us > 0;
        if (event.op == Op::Get && getBytes.size() < 100000) {
            getBytes.push_back(event.bytes);
            getLatencies.push_back(event.latency_us);
        }
        if (getBytes.size() < 1000)
            clients.insert(std::string(event.client));
    });
    QVERIFY(ordered);
    QVERIFY(inWindow);
    QVERIFY(wellFormed);
    QCOMPARE(generator.eventsGenerated(), count);
    QCOMPARE(clients.size(), std::size_t(16));

    const double seconds = options.hours * 3600;
    const double averageRate = static_cast<double>(count) / seconds;
    QVERIFY2(std::abs(averageRate / options.rate_eps - 1.0) < 0.03,
             qPrintable(QString::number(averageRate)));

    const auto fraction = [&](Op op) {
        return static_cast<double>(opCounts[static_cast<std::size_t>(op)]) / count;
    };
    QVERIFY(std::abs(fraction(Op::Get) - 0.80) < 0.01);
    QVERIFY(std::abs(fraction(Op::Put) - 0.17) < 0.01);
    QVERIFY(std::abs(fraction(Op::Delete) - 0.01) < 0.003);
    QVERIFY(std::abs(fraction(Op::Scan) - 0.02) < 0.004);

    const auto median = [](std::vector<std::uint64_t> values) {
        std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
        return values[values.size() / 2];
    };
    const std::uint64_t medianBytes = median(getBytes);
    QVERIFY2(medianBytes > 600 && medianBytes < 1700, qPrintable(QString::number(medianBytes)));
    const std::uint64_t medianLatency = median(getLatencies);
    QVERIFY2(medianLatency > 150 && medianLatency < 450,
             qPrintable(QString::number(medianLatency)));
}

void TestWorkloadGenerator::keyText() {
    WorkloadGenerator defaults(optionsFor(Scenario::Uniform, 0.01, 100));
    QCOMPARE(defaults.keyAt(0), std::string("user0000000000"));
    QCOMPARE(defaults.keyAt(999'999), std::string("user0000999999"));
    QCOMPARE(defaults.keyIndexAt(0.5), std::uint64_t(500'000));
    QCOMPARE(defaults.keyIndexAt(1.0), std::uint64_t(1'000'000));

    WorkloadOptions wide = optionsFor(Scenario::Diurnal, 0.01, 200);
    wide.key_count = 123'456'789'012ULL;
    wide.key_prefix = "acct:";
    WorkloadGenerator generator(wide);
    QVERIFY(generator.status().ok());
    QCOMPARE(generator.keyAt(42), std::string("acct:000000000042"));
    // Lexicographic order is numeric order, up to the end of the key space.
    QVERIFY(generator.keyAt(9'999'999'999) < generator.keyAt(10'000'000'000));
    QVERIFY(generator.keyAt(wide.key_count - 1) < generator.keyAt(wide.key_count));
    std::uint64_t events = forEachEvent(generator, [&](const TraceEvent& event) {
        QCOMPARE(event.key.size(), std::size_t(17));
        QVERIFY(event.key.substr(0, 5) == "acct:");
    });
    QVERIFY(events > 0);
}

void TestWorkloadGenerator::diurnalPeakAndTrough() {
    const WorkloadOptions options = optionsFor(Scenario::Diurnal, 48, 3);
    WorkloadGenerator generator(options);
    std::array<std::uint64_t, 24> perHourOfDay{};
    forEachEvent(generator, [&](const TraceEvent& event) {
        ++perHourOfDay[static_cast<std::size_t>(hourOfTrace(event.ts_ms, options.start_ms) % 24)];
    });
    const auto [lowest, highest] = std::minmax_element(perHourOfDay.begin(), perHourOfDay.end());
    const double ratio = static_cast<double>(*highest) / static_cast<double>(*lowest);
    QVERIFY2(ratio > 3.0 && ratio < 4.0, qPrintable(QString::number(ratio)));
    const auto peakHour = highest - perHourOfDay.begin();
    const auto troughHour = lowest - perHourOfDay.begin();
    QVERIFY2(peakHour >= 18 && peakHour <= 21, qPrintable(QString::number(peakHour)));
    QVERIFY2(troughHour >= 6 && troughHour <= 9, qPrintable(QString::number(troughHour)));

    // The ground truth says the same.
    const double truthRatio = generator.rateAt(options.start_ms + 19 * kMsPerHour + 1800000) /
                              generator.rateAt(options.start_ms + 7 * kMsPerHour + 1800000);
    QVERIFY(truthRatio > 3.0 && truthRatio < 4.0);
}

void TestWorkloadGenerator::hotspotDriftsAndRepeatsDaily() {
    const WorkloadOptions options = optionsFor(Scenario::HotspotDrift, 48, 3);
    WorkloadGenerator generator(options);
    std::vector<std::array<std::uint64_t, 10>> deciles(48);
    forEachEvent(generator, [&](const TraceEvent& event) {
        const auto decile = static_cast<std::size_t>(keyFractionOf(event.key, options) * 10);
        ++deciles[static_cast<std::size_t>(hourOfTrace(event.ts_ms, options.start_ms))][decile];
    });
    std::set<int> visited;
    int repeatedNextDay = 0;
    int matchingTruth = 0;
    for (int hour = 0; hour < 24; ++hour) {
        const int today = indexOfLargest(deciles[static_cast<std::size_t>(hour)]);
        const int tomorrow = indexOfLargest(deciles[static_cast<std::size_t>(hour + 24)]);
        visited.insert(today);
        repeatedNextDay += today == tomorrow ? 1 : 0;
        const auto range =
            generator.specialRangeAt(options.start_ms + hour * kMsPerHour + kMsPerHour / 2);
        QVERIFY(range.has_value());
        double middle = range->start + range->width / 2;
        middle -= std::floor(middle);
        matchingTruth += static_cast<int>(middle * 10) == today ? 1 : 0;
    }
    // The hot range sweeps the whole key space once a day...
    QVERIFY2(visited.size() >= 9, qPrintable(QString::number(visited.size())));
    // ...and the second day repeats the first (ties at decile boundaries may differ).
    QVERIFY2(repeatedNextDay >= 21, qPrintable(QString::number(repeatedNextDay)));
    QVERIFY2(matchingTruth >= 18, qPrintable(QString::number(matchingTruth)));
}

void TestWorkloadGenerator::growthShareGrows() {
    const WorkloadOptions options = optionsFor(Scenario::Growth, 72, 1.5);
    WorkloadGenerator generator(options);
    const auto range = generator.specialRangeAt(options.start_ms);
    QVERIFY(range.has_value());
    QCOMPARE(range->start, generator.specialRangeAt(generator.endMs() - 1)->start);
    std::array<std::uint64_t, 12> inRange{};
    std::array<std::uint64_t, 12> total{};
    forEachEvent(generator, [&](const TraceEvent& event) {
        const auto block = static_cast<std::size_t>(hourOfTrace(event.ts_ms, options.start_ms) / 6);
        ++total[block];
        inRange[block] += range->contains(keyFractionOf(event.key, options)) ? 1 : 0;
    });
    std::array<double, 12> share{};
    for (std::size_t block = 0; block < share.size(); ++block)
        share[block] = static_cast<double>(inRange[block]) / static_cast<double>(total[block]);
    QVERIFY2(share.back() > 4 * share.front(),
             qPrintable(QStringLiteral("%1 -> %2").arg(share.front()).arg(share.back())));
    QVERIFY(share.back() > 0.35);
    // Steady: every day's share is above the previous day's.
    for (std::size_t block = 4; block < share.size(); block += 4)
        QVERIFY(share[block] > share[block - 4]);
}

void TestWorkloadGenerator::flashCrowdBurstsDaily() {
    const WorkloadOptions options = optionsFor(Scenario::FlashCrowd, 48, 3);
    WorkloadGenerator generator(options);
    const auto range = generator.specialRangeAt(options.start_ms);
    QVERIFY(range.has_value());
    QCOMPARE(range->share, 0.0); // midnight: no burst
    const TimeMs burst = options.start_ms + 20 * kMsPerHour + 10 * kMsPerMinute;
    // At full strength the burst adds 9x the range's normal share (its background share).
    const double normal =
        generator.shareAt(options.start_ms, range->start, range->start + range->width);
    QVERIFY(normal > 0.005);
    QVERIFY(std::abs(generator.specialRangeAt(burst)->share - 9 * normal / (1 + 9 * normal)) <
            1e-9);
    QVERIFY(std::abs(generator.shareAt(burst, range->start, range->start + range->width) -
                     10 * normal / (1 + 9 * normal)) < 1e-9);
    QVERIFY(generator.rateAt(burst) > generator.rateAt(burst - 30 * kMsPerMinute));

    std::array<std::uint64_t, 48> inRange{};
    // At full strength (20:05-20:25) against the same minutes an hour earlier.
    const auto inFullBurst = [&](TimeMs ts) {
        return ts >= burst - 5 * kMsPerMinute && ts < burst + 15 * kMsPerMinute;
    };
    std::uint64_t fullBurst = 0;
    std::uint64_t hourEarlier = 0;
    forEachEvent(generator, [&](const TraceEvent& event) {
        if (!range->contains(keyFractionOf(event.key, options)))
            return;
        ++inRange[static_cast<std::size_t>(hourOfTrace(event.ts_ms, options.start_ms))];
        fullBurst += inFullBurst(event.ts_ms) ? 1 : 0;
        hourEarlier += inFullBurst(event.ts_ms + kMsPerHour) ? 1 : 0;
    });
    for (const int day : {0, 1}) {
        const std::uint64_t burstHour = inRange[static_cast<std::size_t>(day * 24 + 20)];
        const std::uint64_t before = inRange[static_cast<std::size_t>(day * 24 + 18)];
        const std::uint64_t after = inRange[static_cast<std::size_t>(day * 24 + 22)];
        QVERIFY2(burstHour > 3 * std::max(before, after),
                 qPrintable(QStringLiteral("%1 vs %2, %3").arg(burstHour).arg(before).arg(after)));
    }
    // About 10x the range's normal rate (the diurnal curve is flat around its 19:30 peak).
    QVERIFY2(fullBurst > 6 * hourEarlier && fullBurst < 15 * hourEarlier,
             qPrintable(QStringLiteral("%1 vs %2").arg(fullBurst).arg(hourEarlier)));
}

void TestWorkloadGenerator::randomJumpsHaveNoDailyPattern() {
    const WorkloadOptions options = optionsFor(Scenario::RandomJumps, 72, 2);
    WorkloadGenerator generator(options);
    // Ground truth: the range moves about every two hours, at no fixed time of day.
    int jumps = 0;
    double previous = generator.specialRangeAt(options.start_ms)->start;
    for (TimeMs t = options.start_ms; t < generator.endMs(); t += kMsPerMinute) {
        const double start = generator.specialRangeAt(t)->start;
        jumps += start != previous ? 1 : 0;
        previous = start;
    }
    QVERIFY2(jumps >= 20 && jumps <= 60, qPrintable(QString::number(jumps)));

    std::vector<std::array<std::uint64_t, 10>> deciles(72);
    forEachEvent(generator, [&](const TraceEvent& event) {
        const auto decile = static_cast<std::size_t>(keyFractionOf(event.key, options) * 10);
        ++deciles[static_cast<std::size_t>(hourOfTrace(event.ts_ms, options.start_ms))][decile];
    });
    int sameAsYesterday = 0;
    std::set<int> hottestAtNoon;
    for (int hour = 24; hour < 72; ++hour) {
        sameAsYesterday += indexOfLargest(deciles[static_cast<std::size_t>(hour)]) ==
                                   indexOfLargest(deciles[static_cast<std::size_t>(hour - 24)])
                               ? 1
                               : 0;
    }
    for (const int day : {0, 1, 2})
        hottestAtNoon.insert(indexOfLargest(deciles[static_cast<std::size_t>(day * 24 + 12)]));
    // A daily pattern would repeat in most of the 48 hours; chance alone matches about 1 in 10.
    QVERIFY2(sameAsYesterday < 20, qPrintable(QString::number(sameAsYesterday)));
    QVERIFY(hottestAtNoon.size() >= 2);
}

void TestWorkloadGenerator::groundTruthIsConsistent_data() {
    addScenarioRows();
}

void TestWorkloadGenerator::groundTruthIsConsistent() {
    QFETCH(int, scenarioNumber);
    const auto scenario = static_cast<Scenario>(scenarioNumber);
    const WorkloadOptions options = optionsFor(scenario, 30, 50);
    WorkloadGenerator generator(options);
    // The intended rate averages rate_eps over the trace.
    double rateSum = 0;
    int samples = 0;
    for (TimeMs t = options.start_ms + 500; t < generator.endMs(); t += 10 * kMsPerSecond) {
        rateSum += generator.rateAt(t);
        ++samples;
    }
    QVERIFY(std::abs(rateSum / samples / options.rate_eps - 1.0) < 0.002);

    for (const int hour : {3, 20}) {
        const TimeMs t = options.start_ms + hour * kMsPerHour + 7 * kMsPerMinute;
        QVERIFY(std::abs(generator.shareAt(t, 0.0, 1.0) - 1.0) < 1e-9);
        double parts = 0;
        double density = 0;
        for (int i = 0; i < 1000; ++i)
            parts += generator.shareAt(t, i / 1000.0, (i + 1) / 1000.0);
        for (int i = 0; i < 10000; ++i)
            density += generator.densityAt(t, (i + 0.5) / 10000.0) / 10000.0;
        QVERIFY(std::abs(parts - 1.0) < 1e-9);
        QVERIFY2(std::abs(density - 1.0) < 0.01, qPrintable(QString::number(density)));
        QCOMPARE(generator.densityAt(t, 1.0), 0.0);
        QCOMPARE(generator.specialRangeAt(t).has_value(),
                 scenario != Scenario::Uniform && scenario != Scenario::Diurnal);
    }
}

void TestWorkloadGenerator::groundTruthMatchesEvents() {
    // Observed key shares over one hour match shareAt() averaged over that hour, including the
    // hottest background keys that shareAt() places exactly.
    WorkloadOptions options = optionsFor(Scenario::HotspotDrift, 1, 100);
    options.start_ms += 10 * kMsPerHour;
    options.key_count = 5000;
    WorkloadGenerator generator(options);
    std::array<std::uint64_t, 20> counts{};
    const std::uint64_t total = forEachEvent(generator, [&](const TraceEvent& event) {
        ++counts[static_cast<std::size_t>(keyFractionOf(event.key, options) * 20)];
    });
    for (std::size_t bin = 0; bin < counts.size(); ++bin) {
        double expected = 0;
        int samples = 0;
        for (TimeMs t = options.start_ms + kMsPerMinute / 2; t < generator.endMs();
             t += kMsPerMinute) {
            expected += generator.shareAt(t, bin / 20.0, (bin + 1) / 20.0);
            ++samples;
        }
        expected /= samples;
        const double observed = static_cast<double>(counts[bin]) / static_cast<double>(total);
        QVERIFY2(
            std::abs(observed - expected) < 0.1 * expected + 0.003,
            qPrintable(QStringLiteral("bin %1: %2 vs %3").arg(bin).arg(observed).arg(expected)));
    }
}

void TestWorkloadGenerator::writesCsv() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("workload.csv"));
    auto writer = TraceCsvWriter::open(path.toStdString());
    QVERIFY(writer.ok());
    const WorkloadOptions options = optionsFor(Scenario::HotspotDrift, 0.5, 20);
    const Result<std::uint64_t> written = writeWorkloadCsv(options, *writer);
    QVERIFY(written.ok());
    QVERIFY(writer->close().ok());

    WorkloadGenerator reference(options);
    std::uint64_t expectedCount = forEachEvent(reference, [](const TraceEvent&) {});
    QCOMPARE(*written, expectedCount);

    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = file.readAll().split('\n');
    QCOMPARE(static_cast<std::uint64_t>(lines.size()), expectedCount + 2);
    QCOMPARE(lines[0], QByteArray("ts,key,op,end_key,bytes,latency_us"));
    const QList<QByteArray> fields = lines[1].split(',');
    QCOMPARE(fields.size(), 6);
    QVERIFY(fields[0].toLongLong() >= options.start_ms);
    QVERIFY(fields[1].startsWith("user"));
}

void TestWorkloadGenerator::writeCsvReportsErrors() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto writer = TraceCsvWriter::open(dir.filePath(QStringLiteral("x.csv")).toStdString());
    QVERIFY(writer.ok());
    const Result<std::uint64_t> invalid =
        writeWorkloadCsv(optionsFor(Scenario::Uniform, -2, 10), *writer);
    QVERIFY(!invalid.ok());
    QCOMPARE(invalid.error().message, std::string("--hours must be > 0"));

    if (!QFile::exists(QStringLiteral("/dev/full")))
        QSKIP("no /dev/full on this system");
    auto full = TraceCsvWriter::open("/dev/full");
    QVERIFY(full.ok());
    const Result<std::uint64_t> failed =
        writeWorkloadCsv(optionsFor(Scenario::Uniform, 0.1, 100), *full);
    QVERIFY(!failed.ok());
    QVERIFY(failed.error().message.find("/dev/full") != std::string::npos);
}

QTEST_APPLESS_MAIN(TestWorkloadGenerator)
#include "tst_workload_generator.moc"
