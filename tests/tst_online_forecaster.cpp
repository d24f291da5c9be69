#include "online_forecaster.h"

#include <QtTest>

#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numbers>
#include <vector>

using namespace rangepilot;

namespace {

// 2026-01-05T00:00:00Z, a Monday: days start on a bucket boundary.
constexpr TimeMs kStart = 1'767'571'200'000;
constexpr std::size_t kRoundsPerDay = 1440;

// Ops/s of one cell in the round that starts `minute` minutes after kStart.
using OpsPattern = std::function<double(std::size_t cell, std::size_t minute)>;

// A deterministic ±amplitude factor per (cell, minute): the round-to-round noise of real traffic.
double noiseFactor(std::size_t cell, std::size_t minute, double amplitude) {
    std::uint64_t x = (static_cast<std::uint64_t>(cell) << 32) ^ minute ^ 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    const double uniform = static_cast<double>(x >> 11) / static_cast<double>(1ull << 53);
    return 1.0 + amplitude * (2.0 * uniform - 1.0);
}

// Daily cycle, trough 1 at 07:30, peak 3 at 19:30 (like the generated `diurnal` scenario).
double diurnal(std::size_t minute) {
    const double dayFraction = static_cast<double>(minute % kRoundsPerDay) / kRoundsPerDay;
    return 2.0 - std::cos(2.0 * std::numbers::pi * (dayFraction - 7.5 / 24.0));
}

std::size_t minuteOf(std::size_t day, std::size_t hour, std::size_t minute) {
    return day * kRoundsPerDay + hour * 60 + minute;
}

TimeMs timeOf(std::size_t minute) {
    return kStart + static_cast<TimeMs>(minute) * kMsPerMinute;
}

// All resources move with ops, each in its own unit, so every slot is exercised.
ResourceVector ratesFor(double ops) {
    ResourceVector rates;
    rates[Resource::Ops] = ops;
    rates[Resource::DiskBytes] = ops * 200.0;
    rates[Resource::NetworkBytes] = ops * 1500.0;
    rates[Resource::ServiceTime] = ops * 350.0;
    return rates;
}

// Feeds the rounds [fromMinute, toMinute) of `pattern`; each round ends one minute after it starts
// (plus `shiftMs`, for rounds that are not aligned to buckets).
void feed(OnlineCellForecaster& forecaster, const OpsPattern& pattern, std::size_t fromMinute,
          std::size_t toMinute, TimeMs shiftMs = 0) {
    std::vector<ResourceVector> rates(forecaster.cells());
    for (std::size_t minute = fromMinute; minute < toMinute; ++minute) {
        for (std::size_t cell = 0; cell < rates.size(); ++cell)
            rates[cell] = ratesFor(pattern(cell, minute));
        forecaster.observe(timeOf(minute + 1) + shiftMs, rates);
    }
}

// Mean ops/s of `cell` over [fromMinute, fromMinute + minutes).
double meanOps(const OpsPattern& pattern, std::size_t cell, std::size_t fromMinute,
               std::size_t minutes) {
    double sum = 0.0;
    for (std::size_t minute = fromMinute; minute < fromMinute + minutes; ++minute)
        sum += pattern(cell, minute);
    return sum / static_cast<double>(minutes);
}

constexpr std::size_t kCells = 32;
constexpr std::size_t kBumpCell = 7;
constexpr double kBumpFactor = 8.0;

// Every cell follows the daily cycle with 5% noise; kBumpCell is 8× hotter 20:00–20:30 daily.
double dailyBump(std::size_t cell, std::size_t minute) {
    const std::size_t minuteOfDay = minute % kRoundsPerDay;
    const bool bump = cell == kBumpCell && minuteOfDay >= 20 * 60 && minuteOfDay < 20 * 60 + 30;
    return 10.0 * diurnal(minute) * noiseFactor(cell, minute, 0.05) * (bump ? kBumpFactor : 1.0);
}

// The hot spot of the random-jumps workload: 2 adjacent cells among the first kJumpCells, at a
// pseudo-random place for a pseudo-random 60–180 minutes, then somewhere else.
constexpr std::size_t kJumpCells = 30;
struct HotSpot {
    std::size_t firstCell = 0;
    std::size_t startMinute = 0;
    std::size_t endMinute = 0;
};

std::vector<HotSpot> jumpingHotSpots(std::size_t days) {
    std::vector<HotSpot> spots;
    std::size_t minute = 0;
    for (std::size_t jump = 0; minute < days * kRoundsPerDay; ++jump) {
        const double place = noiseFactor(1000, jump, 1.0) / 2.0;    // [0, 1)
        const double duration = noiseFactor(2000, jump, 1.0) / 2.0; // [0, 1)
        HotSpot spot;
        spot.firstCell = static_cast<std::size_t>(place * (kJumpCells - 1));
        spot.startMinute = minute;
        spot.endMinute = minute + 60 + static_cast<std::size_t>(duration * 120);
        // Never where it just was: a jump moves.
        if (!spots.empty() && spots.back().firstCell / 2 == spot.firstCell / 2)
            spot.firstCell = (spot.firstCell + kJumpCells / 2) % (kJumpCells - 1);
        spots.push_back(spot);
        minute = spot.endMinute;
    }
    return spots;
}

const HotSpot& hotSpotAt(const std::vector<HotSpot>& spots, std::size_t minute) {
    for (const HotSpot& spot : spots) {
        if (minute < spot.endMinute)
            return spot;
    }
    return spots.back();
}

bool isHot(const HotSpot& spot, std::size_t cell) {
    return cell == spot.firstCell || cell == spot.firstCell + 1;
}

} // namespace

class TestOnlineForecaster : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void validateNamesTheProblem_data();
    void validateNamesTheProblem();
    void beforeAFullSeasonEveryCellIsRecent();
    void dailyBumpIsAnticipated_data();
    void dailyBumpIsAnticipated();
    void expectedHotSpotsPassUnexpectedOnesStay();
    void cellsWithoutEvidenceFollowTheCluster();
    void randomHotSpotsFallBackToRecent();
    void levelCorrectionScalesThePattern_data();
    void levelCorrectionScalesThePattern();
    void projectionIsRepeatableAndIgnoresLateRounds();
    void stepsNeedNotBeBucketAligned();
    void roundsNeedNotBeBucketAligned();
    void gapsAreUnknownNotZero();
    void dataBytesArePassedThrough();
    void memoryStaysSmall();
};

void TestOnlineForecaster::validateNamesTheProblem_data() {
    QTest::addColumn<int>("breakage");
    QTest::addColumn<QString>("message");
    QTest::newRow("defaults") << 0 << QString();
    QTest::newRow("round") << 1 << QStringLiteral("round_ms must be > 0");
    QTest::newRow("step") << 2 << QStringLiteral("step_ms must be a multiple of round_ms");
    QTest::newRow("steps") << 3 << QStringLiteral("steps must be at least 1");
    QTest::newRow("season") << 4 << QStringLiteral("season_ms must be a multiple of step_ms");
    QTest::newRow("seasons kept") << 5 << QStringLiteral("seasons_kept must be at least 1");
    QTest::newRow("too much history")
        << 6 << QStringLiteral("seasons_kept × season_ms / step_ms must be at most 100000 buckets");
    QTest::newRow("half-life") << 7 << QStringLiteral("recent_half_life_rounds must be > 0");
    QTest::newRow("lead") << 8
                          << QStringLiteral(
                                 "skill_lead_ms must be a non-negative multiple of step_ms");
    QTest::newRow("lead too long")
        << 9 << QStringLiteral("skill_lead_ms must be shorter than season_ms");
    QTest::newRow("skill half-life") << 10 << QStringLiteral("skill_half_life_steps must be > 0");
    QTest::newRow("ratio min") << 11 << QStringLiteral("level_ratio_min must be in (0, 1]");
    QTest::newRow("ratio max") << 12 << QStringLiteral("level_ratio_max must be at least 1");
    QTest::newRow("level half-life") << 13 << QStringLiteral("level_half_life_rounds must be > 0");
    QTest::newRow("pooled weight") << 14 << QStringLiteral("pooled_skill_weight must be >= 0");
    QTest::newRow("tolerance") << 15 << QStringLiteral("seasonal_tolerance must be >= 0");
    QTest::newRow("residual half-life")
        << 16 << QStringLiteral("residual_half_life_rounds must be > 0");
}

void TestOnlineForecaster::validateNamesTheProblem() {
    QFETCH(int, breakage);
    QFETCH(QString, message);
    using Breakage = void (*)(OnlineForecastOptions&);
    const std::array<Breakage, 17> breakages{
        [](OnlineForecastOptions&) {},
        [](OnlineForecastOptions& o) { o.round_ms = 0; },
        [](OnlineForecastOptions& o) { o.step_ms = 90'000; },
        [](OnlineForecastOptions& o) { o.steps = 0; },
        [](OnlineForecastOptions& o) { o.season_ms = kMsPerDay + 60'000; },
        [](OnlineForecastOptions& o) { o.seasons_kept = 0; },
        [](OnlineForecastOptions& o) { o.seasons_kept = 400; },
        [](OnlineForecastOptions& o) { o.recent_half_life_rounds = std::nan(""); },
        [](OnlineForecastOptions& o) { o.skill_lead_ms = 7 * kMsPerMinute; },
        [](OnlineForecastOptions& o) { o.skill_lead_ms = kMsPerDay; },
        [](OnlineForecastOptions& o) { o.skill_half_life_steps = 0.0; },
        [](OnlineForecastOptions& o) { o.level_ratio_min = 1.5; },
        [](OnlineForecastOptions& o) { o.level_ratio_max = 0.9; },
        [](OnlineForecastOptions& o) { o.level_half_life_rounds = -2.0; },
        [](OnlineForecastOptions& o) { o.pooled_skill_weight = -1.0; },
        [](OnlineForecastOptions& o) {
            o.seasonal_tolerance = std::numeric_limits<double>::infinity();
        },
        [](OnlineForecastOptions& o) { o.residual_half_life_rounds = 0.0; },
    };
    OnlineForecastOptions options;
    breakages.at(static_cast<std::size_t>(breakage))(options);
    const Status status = validate(options);
    QCOMPARE(status.ok(), message.isEmpty());
    QCOMPARE(QString::fromStdString(status.message()), message);

    // A forecaster never runs on invalid options: it falls back to the defaults.
    const OnlineCellForecaster forecaster(4, options);
    QCOMPARE(forecaster.options().step_ms,
             message.isEmpty() ? options.step_ms : OnlineForecastOptions{}.step_ms);
    QCOMPARE(forecaster.options().steps,
             message.isEmpty() ? options.steps : OnlineForecastOptions{}.steps);
}

void TestOnlineForecaster::beforeAFullSeasonEveryCellIsRecent() {
    OnlineCellForecaster forecaster(kCells, {});
    const std::size_t end = minuteOf(0, 23, 0);
    feed(forecaster, dailyBump, 0, end);
    QVERIFY(!forecaster.seasonalAvailable());
    QCOMPARE(forecaster.seasonalCellCount(), std::size_t{0});
    for (CellIndex cell = 0; cell < kCells; ++cell)
        QVERIFY(forecaster.modelOf(cell) == OnlineCellForecaster::CellModel::Recent);

    const CellProjection projection = forecaster.project(timeOf(end), {});
    QCOMPARE(projection.steps(), std::size_t{12});
    QCOMPARE(projection.stepMs(), 5 * kMsPerMinute);
    QCOMPARE(projection.startMs(), timeOf(end));
    for (CellIndex cell = 0; cell < kCells; ++cell) {
        const ResourceVector level = forecaster.recentLevel(cell);
        for (std::size_t step = 0; step < projection.steps(); ++step) {
            for (const Resource resource : kAllResources)
                QCOMPARE(projection.rate(cell, step, resource), level[resource]);
        }
    }

    // The recent level is an EWMA with a half-life of 1 round: a jump from 10 to 20 is half
    // absorbed after 1 round.
    OnlineCellForecaster jump(1, {});
    const OpsPattern step = [](std::size_t, std::size_t minute) {
        return minute < 60 ? 10.0 : 20.0;
    };
    feed(jump, step, 0, 61);
    QVERIFY(std::abs(jump.recentLevel(0)[Resource::Ops] - 15.0) < 1e-9);
    QVERIFY(std::abs(jump.recentLevel(0)[Resource::NetworkBytes] - 15.0 * 1500.0) < 1e-6);
    QCOMPARE(jump.recentLevel(0)[Resource::Memory], 0.0);
}

void TestOnlineForecaster::dailyBumpIsAnticipated_data() {
    QTest::addColumn<int>("day");
    QTest::newRow("second day (history seen once)") << 1;
    QTest::newRow("third day") << 2;
    QTest::newRow("fourth day") << 3;
}

void TestOnlineForecaster::dailyBumpIsAnticipated() {
    QFETCH(int, day);
    OnlineCellForecaster forecaster(kCells, {});
    const std::size_t now = minuteOf(static_cast<std::size_t>(day), 19, 30);
    feed(forecaster, dailyBump, 0, now);
    QVERIFY(forecaster.seasonalAvailable());
    QVERIFY(forecaster.modelOf(kBumpCell) == OnlineCellForecaster::CellModel::Seasonal);

    const CellProjection projection = forecaster.project(timeOf(now), {});
    const double level = forecaster.recentLevel(kBumpCell)[Resource::Ops];
    for (std::size_t step = 0; step < projection.steps(); ++step) {
        const std::size_t stepStart = now + step * 5;
        const double actual = meanOps(dailyBump, kBumpCell, stepStart, 5);
        const double projected = projection.rate(kBumpCell, step, Resource::Ops);
        const bool inBump = step >= 6; // 20:00–20:30
        if (inBump) {
            // Recent would miss it: it projects the pre-bump level.
            QVERIFY2(actual > 5.0 * level, qPrintable(QString::number(actual)));
            QVERIFY2(std::abs(projected - actual) < 0.12 * actual,
                     qPrintable(QStringLiteral("step %1: projected %2, actual %3")
                                    .arg(step)
                                    .arg(projected)
                                    .arg(actual)));
        } else {
            QVERIFY2(projected < 1.3 * actual,
                     qPrintable(
                         QStringLiteral("step %1: %2 vs %3").arg(step).arg(projected).arg(actual)));
        }
        // The other resources follow with their own units.
        QVERIFY(std::abs(projection.rate(kBumpCell, step, Resource::NetworkBytes) -
                         1500.0 * projected) < 1e-6 * 1500.0 * projected);
        QCOMPARE(projection.rate(kBumpCell, step, Resource::Memory), 0.0);
    }
    // A neighbour never bumps: the seasonal model does not spread the bump.
    QVERIFY(projection.rate(kBumpCell + 1, 8, Resource::Ops) <
            1.3 * meanOps(dailyBump, kBumpCell + 1, now + 40, 5));
}

void TestOnlineForecaster::expectedHotSpotsPassUnexpectedOnesStay() {
    // The daily bump, and on day 2 a surprise: cell 3 is 8× hotter from 19:50 on.
    constexpr std::size_t kSurpriseCell = 3;
    const std::size_t surpriseFrom = minuteOf(2, 19, 50);
    const OpsPattern pattern = [surpriseFrom](std::size_t cell, std::size_t minute) {
        const bool surprise = cell == kSurpriseCell && minute >= surpriseFrom;
        return dailyBump(cell, minute) * (surprise ? kBumpFactor : 1.0);
    };
    OnlineCellForecaster forecaster(kCells, {});
    const std::size_t now = minuteOf(2, 20, 10); // inside the bump
    feed(forecaster, pattern, 0, now);
    QVERIFY(forecaster.modelOf(kBumpCell) == OnlineCellForecaster::CellModel::Seasonal);
    QVERIFY(forecaster.modelOf(kSurpriseCell) == OnlineCellForecaster::CellModel::Seasonal);
    const CellProjection projection = forecaster.project(timeOf(now), {});

    // The bump is hot now, and the seasonal model says it ends at 20:30: it is not projected
    // on past that (a projection of max(recent, seasonal) would hold it for the whole hour).
    const double bumpNow = forecaster.recentLevel(kBumpCell)[Resource::Ops];
    QVERIFY(bumpNow > 5.0 * meanOps(pattern, kBumpCell, now + 30, 5));
    for (std::size_t step = 5; step < projection.steps(); ++step) {
        const double actual = meanOps(pattern, kBumpCell, now + step * 5, 5);
        const double projected = projection.rate(kBumpCell, step, Resource::Ops);
        QVERIFY2(
            std::abs(projected - actual) < 0.25 * actual,
            qPrintable(QStringLiteral("step %1: %2 vs %3").arg(step).arg(projected).arg(actual)));
    }
    // Nothing expected the surprise: it stays projected at its level over the whole horizon.
    const double surpriseNow = forecaster.recentLevel(kSurpriseCell)[Resource::Ops];
    for (std::size_t step = 0; step < projection.steps(); ++step) {
        const double projected = projection.rate(kSurpriseCell, step, Resource::Ops);
        QVERIFY2(
            projected > 0.85 * surpriseNow,
            qPrintable(
                QStringLiteral("step %1: %2 vs %3").arg(step).arg(projected).arg(surpriseNow)));
    }
}

void TestOnlineForecaster::cellsWithoutEvidenceFollowTheCluster() {
    // Flat noisy cells and a hot cell sweeping the key space daily: cell c is 8× hotter from
    // 01:00 + 40·c minutes for 40 minutes. On the second day a cell the sweep has not reached
    // yet has no evidence of its own (its errors alone slightly favour Recent: a noisy bucket
    // of yesterday against an EWMA of today), but the cells already passed show the cluster
    // that the sweep recurs.
    const auto hotCellAt = [](std::size_t minute) {
        const std::size_t minuteOfDay = minute % kRoundsPerDay;
        return minuteOfDay < 60 ? kCells : (minuteOfDay - 60) / 40;
    };
    const OpsPattern sweep = [&hotCellAt](std::size_t cell, std::size_t minute) {
        return 10.0 * noiseFactor(cell, minute, 0.2) * (hotCellAt(minute) == cell ? 8.0 : 1.0);
    };
    const std::size_t now = minuteOf(1, 11, 40); // the sweep reaches cell 16
    QCOMPARE(hotCellAt(now), std::size_t{16});
    const CellIndex ahead = 17; // hot from 12:20, steps 8–11 of the projection

    // A smoother recent level than the default, so that the cell's own errors do favour Recent
    // (with a half-life of one round the noise of today's minutes loses to yesterday's bucket).
    OnlineForecastOptions options;
    options.recent_half_life_rounds = 3.0;
    OnlineCellForecaster forecaster(kCells, options);
    feed(forecaster, sweep, 0, now);
    const OnlineCellForecaster::CellSkill own = forecaster.skillOf(ahead);
    QVERIFY2(own.seasonal_error > own.recent_error,
             qPrintable(QStringLiteral("%1 %2").arg(own.seasonal_error).arg(own.recent_error)));
    QVERIFY(forecaster.pooledSeasonalAdvantage() > 0.3);
    QVERIFY(forecaster.modelOf(ahead) == OnlineCellForecaster::CellModel::Seasonal);
    const CellProjection projection = forecaster.project(timeOf(now), {});
    for (std::size_t step = 8; step < projection.steps(); ++step) {
        const double actual = meanOps(sweep, ahead, now + step * 5, 5);
        QVERIFY(projection.rate(ahead, step, Resource::Ops) > 0.7 * actual);
    }

    // On its own errors alone, the cell would wait for the sweep to come round once more.
    OnlineForecastOptions ownOnly = options;
    ownOnly.pooled_skill_weight = 0.0;
    ownOnly.seasonal_tolerance = 0.0;
    OnlineCellForecaster alone(kCells, ownOnly);
    feed(alone, sweep, 0, now);
    QVERIFY(alone.modelOf(ahead) == OnlineCellForecaster::CellModel::Recent);
    QVERIFY(alone.project(timeOf(now), {}).rate(ahead, 9, Resource::Ops) < 20.0);
}

void TestOnlineForecaster::randomHotSpotsFallBackToRecent() {
    // Beside the jumping hot spot, cell 30 has a daily bump at 20:00 (kBumpCell's in dailyBump).
    const std::vector<HotSpot> spots = jumpingHotSpots(4);
    const CellIndex dailyCell = kJumpCells;
    const OpsPattern jumps = [&spots](std::size_t cell, std::size_t minute) {
        if (cell == dailyCell)
            return dailyBump(kBumpCell, minute);
        const double hot = isHot(hotSpotAt(spots, minute), cell) ? 10.0 : 1.0;
        return 10.0 * diurnal(minute) * noiseFactor(cell, minute, 0.05) * hot;
    };
    OnlineCellForecaster forecaster(kCells, {});

    // A moment on day 2 when the hot spot of yesterday 30 minutes ahead is not hot now, nor
    // will be in the next hour.
    std::size_t now = 0;
    std::size_t yesterdaysCell = 0;
    for (std::size_t minute = minuteOf(2, 12, 0); minute < minuteOf(3, 0, 0); minute += 5) {
        const HotSpot& yesterday = hotSpotAt(spots, minute + 30 - kRoundsPerDay);
        bool hotSoon = false;
        for (std::size_t ahead = 0; ahead < 60; ahead += 5)
            hotSoon = hotSoon || isHot(hotSpotAt(spots, minute + ahead), yesterday.firstCell);
        if (!hotSoon && !isHot(hotSpotAt(spots, minute - 1), yesterday.firstCell)) {
            now = minute;
            yesterdaysCell = yesterday.firstCell;
            break;
        }
    }
    QVERIFY(now != 0);
    feed(forecaster, jumps, 0, now);

    QVERIFY(forecaster.seasonalAvailable());
    QVERIFY(forecaster.pooledSeasonalAdvantage() < 0.0);
    QVERIFY(forecaster.modelOf(static_cast<CellIndex>(yesterdaysCell)) ==
            OnlineCellForecaster::CellModel::Recent);
    // Every cell the hot spot visited has learnt that its seasonal model misleads; cells it
    // never visited may keep the seasonal model (their daily cycle is all it holds).
    std::vector<bool> visited(kCells, false);
    for (const HotSpot& spot : spots) {
        if (spot.startMinute < now)
            visited[spot.firstCell] = visited[spot.firstCell + 1] = true;
    }
    std::size_t visitedCells = 0;
    for (CellIndex cell = 0; cell < kCells; ++cell) {
        if (!visited[cell])
            continue;
        ++visitedCells;
        QVERIFY2(forecaster.modelOf(cell) == OnlineCellForecaster::CellModel::Recent,
                 qPrintable(QStringLiteral("cell %1").arg(cell)));
    }
    QVERIFY(visitedCells >= kCells / 2);
    QVERIFY(forecaster.seasonalCellCount() <= kCells - visitedCells);

    // Yesterday's hot spot is not re-invented, today's is kept.
    const CellProjection projection = forecaster.project(timeOf(now), {});
    const HotSpot& current = hotSpotAt(spots, now - 1);
    for (std::size_t step = 0; step < projection.steps(); ++step) {
        const double cold = meanOps(jumps, yesterdaysCell, now + step * 5, 5);
        QVERIFY2(projection.rate(static_cast<CellIndex>(yesterdaysCell), step, Resource::Ops) <
                     1.5 * cold,
                 qPrintable(QStringLiteral("step %1").arg(step)));
    }
    const double hotLevel = forecaster.recentLevel(current.firstCell)[Resource::Ops];
    QVERIFY(hotLevel > 5.0 * forecaster.recentLevel(yesterdaysCell)[Resource::Ops]);
    QCOMPARE(projection.rate(current.firstCell, 11, Resource::Ops), hotLevel);

    // A cell whose own bump has recurred keeps the seasonal model against the cluster's verdict.
    const std::size_t evening = minuteOf(3, 19, 30);
    feed(forecaster, jumps, now, evening);
    QVERIFY(forecaster.pooledSeasonalAdvantage() < -0.3);
    QVERIFY(forecaster.modelOf(dailyCell) == OnlineCellForecaster::CellModel::Seasonal);
    const CellProjection eveningProjection = forecaster.project(timeOf(evening), {});
    for (std::size_t step = 6; step < eveningProjection.steps(); ++step) {
        const double actual = meanOps(jumps, dailyCell, evening + step * 5, 5);
        QVERIFY(std::abs(eveningProjection.rate(dailyCell, step, Resource::Ops) - actual) <
                0.12 * actual);
    }
}

void TestOnlineForecaster::levelCorrectionScalesThePattern_data() {
    QTest::addColumn<double>("dayFactor");
    QTest::addColumn<int>("sinceHour");
    QTest::addColumn<double>("expectedRatio");
    QTest::newRow("a busier day") << 1.5 << 0 << 1.5;
    QTest::newRow("a quieter day") << 0.8 << 0 << 0.8;
    // A level beyond the clamp all day long makes the seasonal model lose its skill (which is
    // right); a surge that started half an hour ago, measured with a short level half-life,
    // shows the clamp alone.
    QTest::newRow("clamped above") << 3.0 << 19 << 2.0;
    QTest::newRow("clamped below") << 0.3 << 19 << 0.5;
}

void TestOnlineForecaster::levelCorrectionScalesThePattern() {
    QFETCH(double, dayFactor);
    QFETCH(int, sinceHour);
    QFETCH(double, expectedRatio);
    // No noise, so the numbers are tight; day 2 from sinceHour on is dayFactor × days 0 and 1.
    const std::size_t surge = minuteOf(2, static_cast<std::size_t>(sinceHour), 0);
    const OpsPattern pattern = [dayFactor, surge](std::size_t cell, std::size_t minute) {
        const std::size_t minuteOfDay = minute % kRoundsPerDay;
        const bool bump = cell == kBumpCell && minuteOfDay >= 20 * 60 && minuteOfDay < 20 * 60 + 30;
        const double day = minute >= surge ? dayFactor : 1.0;
        return day * 10.0 * diurnal(minute) * (bump ? kBumpFactor : 1.0);
    };
    OnlineForecastOptions options;
    if (sinceHour > 0)
        options.level_half_life_rounds = 3.0;
    OnlineCellForecaster forecaster(kCells, options);
    const std::size_t now = minuteOf(2, 19, 30);
    feed(forecaster, pattern, 0, now);
    QVERIFY(forecaster.modelOf(kBumpCell) == OnlineCellForecaster::CellModel::Seasonal);

    const double ratio = forecaster.levelRatio(timeOf(now), Resource::Ops);
    QVERIFY2(std::abs(ratio - expectedRatio) < 0.01 * expectedRatio,
             qPrintable(QString::number(ratio)));
    QCOMPARE(forecaster.levelRatio(timeOf(now), Resource::DiskBytes), ratio);

    // Days 0 and 1 agree, so the seasonal estimate is yesterday's bump, scaled by the level
    // correction. What the clamp cuts off is still seen in the cell now, and its residual carries
    // it on: above the corrected pattern as load on top, below it as a factor.
    const double yesterdayNow = meanOps(pattern, kBumpCell, now - 5 - kRoundsPerDay, 5);
    const CellProjection projection = forecaster.project(timeOf(now), {});
    for (std::size_t step = 6; step < projection.steps(); ++step) {
        const double yesterday = meanOps(pattern, kBumpCell, now + step * 5 - kRoundsPerDay, 5);
        const double expected =
            dayFactor >= expectedRatio
                ? expectedRatio * yesterday + (dayFactor - expectedRatio) * yesterdayNow
                : dayFactor * yesterday;
        const double projected = projection.rate(kBumpCell, step, Resource::Ops);
        QVERIFY2(std::abs(projected / expected - 1.0) < 0.02,
                 qPrintable(QStringLiteral("step %1: %2").arg(step).arg(projected / expected)));
    }
}

void TestOnlineForecaster::projectionIsRepeatableAndIgnoresLateRounds() {
    const std::size_t cut = minuteOf(1, 19, 47);
    OnlineCellForecaster fed(kCells, {});
    feed(fed, dailyBump, 0, cut);
    const CellProjection first = fed.project(timeOf(cut), {});
    const CellProjection second = fed.project(timeOf(cut), {});

    // Late or repeated rounds are ignored: they cannot rewrite the past.
    std::vector<ResourceVector> late(kCells, ratesFor(1e6));
    fed.observe(timeOf(cut), late);
    fed.observe(timeOf(cut) - kMsPerMinute, late);
    const CellProjection afterLate = fed.project(timeOf(cut), {});

    std::size_t seasonalStepsAboveLevel = 0;
    for (CellIndex cell = 0; cell < kCells; ++cell) {
        for (std::size_t step = 0; step < first.steps(); ++step) {
            for (const Resource resource : kAllResources) {
                const double rate = first.rate(cell, step, resource);
                QCOMPARE(second.rate(cell, step, resource), rate);
                QCOMPARE(afterLate.rate(cell, step, resource), rate);
            }
            seasonalStepsAboveLevel +=
                first.rate(cell, step, Resource::Ops) > fed.recentLevel(cell)[Resource::Ops];
        }
    }
    // Not a trivial projection: the seasonal model is at work.
    QVERIFY(seasonalStepsAboveLevel > 0);
}

void TestOnlineForecaster::stepsNeedNotBeBucketAligned() {
    // No noise and a sharp bump, so the overlap arithmetic shows exactly.
    const OpsPattern pattern = [](std::size_t cell, std::size_t minute) {
        const std::size_t minuteOfDay = minute % kRoundsPerDay;
        const bool bump = cell == kBumpCell && minuteOfDay >= 20 * 60 && minuteOfDay < 20 * 60 + 30;
        return 10.0 * diurnal(minute) * (bump ? kBumpFactor : 1.0);
    };
    OnlineCellForecaster forecaster(kCells, {});
    const std::size_t now = minuteOf(2, 19, 57); // 3 minutes before the bump
    feed(forecaster, pattern, 0, now);
    QVERIFY(forecaster.modelOf(kBumpCell) == OnlineCellForecaster::CellModel::Seasonal);
    const double ratio = forecaster.levelRatio(timeOf(now), Resource::Ops);
    QVERIFY(std::abs(ratio - 1.0) < 0.01);

    const CellProjection projection = forecaster.project(timeOf(now), {});
    QCOMPARE(projection.startMs(), timeOf(now));
    // Step 0 = [19:57, 20:02): 3 minutes of bucket 19:55 (no bump) and 2 of bucket 20:00 (bump);
    // step 6 = [20:27, 20:32): 3 minutes of the last bump bucket and 2 after it.
    const auto bucketMean = [&](std::size_t bucketStart) {
        return meanOps(pattern, kBumpCell, bucketStart - kRoundsPerDay, 5);
    };
    const double step0 = (3.0 * bucketMean(now - 2) + 2.0 * bucketMean(now + 3)) / 5.0;
    const double step6 = (3.0 * bucketMean(now + 28) + 2.0 * bucketMean(now + 33)) / 5.0;
    QVERIFY(step0 > 3.0 * bucketMean(now - 2)); // the bump shows from the first step
    QVERIFY(std::abs(projection.rate(kBumpCell, 0, Resource::Ops) - step0 * ratio) < 0.01 * step0);
    QVERIFY(std::abs(projection.rate(kBumpCell, 6, Resource::Ops) - step6 * ratio) < 0.01 * step6);
    QVERIFY(step6 < 0.7 * bucketMean(now + 28));
}

void TestOnlineForecaster::roundsNeedNotBeBucketAligned() {
    // Rounds end 20 s past the minute, so every fifth round straddles a bucket boundary. A cell
    // at a constant rate must still project that rate; the bump must land on the right steps.
    const OpsPattern pattern = [](std::size_t cell, std::size_t minute) {
        const std::size_t minuteOfDay = minute % kRoundsPerDay;
        const bool bump = cell == 1 && minuteOfDay >= 10 * 60 && minuteOfDay < 10 * 60 + 20;
        return cell == 0 ? 42.0 : 10.0 * diurnal(minute) * (bump ? kBumpFactor : 1.0);
    };
    OnlineCellForecaster forecaster(4, {});
    const TimeMs shift = 20'000;
    const std::size_t now = minuteOf(1, 9, 40);
    feed(forecaster, pattern, 0, now, shift);
    QVERIFY(forecaster.seasonalAvailable());
    QVERIFY(forecaster.modelOf(1) == OnlineCellForecaster::CellModel::Seasonal);

    const CellProjection projection = forecaster.project(timeOf(now) + shift, {});
    for (std::size_t step = 0; step < projection.steps(); ++step)
        QVERIFY(std::abs(projection.rate(0, step, Resource::Ops) - 42.0) < 1e-3);
    const double base = meanOps(pattern, 1, now - kRoundsPerDay, 5);
    // Steps 0–3 (09:40:20–10:00:20) are before the bump but for 20 s, steps 4–7 inside it.
    for (std::size_t step = 0; step < 4; ++step)
        QVERIFY(projection.rate(1, step, Resource::Ops) < 1.8 * base);
    for (std::size_t step = 4; step < 8; ++step)
        QVERIFY(projection.rate(1, step, Resource::Ops) > 6.0 * base);
}

void TestOnlineForecaster::gapsAreUnknownNotZero() {
    // Day 1 is not observed from 09:00 to 12:00, so the bump at 10:00 is only known from day 0.
    const OpsPattern pattern = [](std::size_t cell, std::size_t minute) {
        const std::size_t minuteOfDay = minute % kRoundsPerDay;
        const bool bump = cell == 3 && minuteOfDay >= 10 * 60 && minuteOfDay < 10 * 60 + 30;
        return 10.0 * diurnal(minute) * (bump ? 6.0 : 1.0);
    };
    OnlineCellForecaster forecaster(8, {});
    feed(forecaster, pattern, 0, minuteOf(1, 9, 0));
    const double levelBeforeGap = forecaster.recentLevel(3)[Resource::Ops];
    feed(forecaster, pattern, minuteOf(1, 12, 0), minuteOf(1, 12, 1));
    // The recent level resumes from where it was: one EWMA update, not a restart from 0 or from
    // the new round alone.
    const double alpha = 1.0 - std::exp2(-1.0 / OnlineForecastOptions{}.recent_half_life_rounds);
    const double expected =
        levelBeforeGap + alpha * (pattern(3, minuteOf(1, 12, 0)) - levelBeforeGap);
    QVERIFY(std::abs(forecaster.recentLevel(3)[Resource::Ops] - expected) < 1e-9 * expected);
    const std::size_t now = minuteOf(2, 9, 45);
    feed(forecaster, pattern, minuteOf(1, 12, 1), now);
    QVERIFY(forecaster.modelOf(3) == OnlineCellForecaster::CellModel::Seasonal);

    const CellProjection projection = forecaster.project(timeOf(now), {});
    for (std::size_t step = 3; step < 9; ++step) { // 10:00–10:30
        const double dayZero = meanOps(pattern, 3, now + step * 5 - 2 * kRoundsPerDay, 5);
        const double projected = projection.rate(3, step, Resource::Ops);
        QVERIFY2(
            std::abs(projected - dayZero) < 0.03 * dayZero,
            qPrintable(QStringLiteral("step %1: %2 vs %3").arg(step).arg(projected).arg(dayZero)));
    }
}

void TestOnlineForecaster::dataBytesArePassedThrough() {
    OnlineCellForecaster forecaster(4, {});
    const CellProjection empty = forecaster.project(kStart, std::vector<double>{1.0, 2.0});
    QCOMPARE(empty.cells(), std::size_t{4});
    QCOMPARE(empty.rate(0, 0, Resource::Ops), 0.0); // nothing observed yet
    QCOMPARE(empty.dataBytes(1), 2.0);
    QCOMPARE(empty.dataBytes(3), 0.0); // missing cells get 0

    const OpsPattern constant = [](std::size_t cell, std::size_t) { return 5.0 + cell; };
    feed(forecaster, constant, 0, 10);
    const std::vector<double> bytes{1e9, 2e9, 3e9, 4e9, 5e9}; // one too many: ignored
    const CellProjection projection = forecaster.project(timeOf(10), bytes);
    for (CellIndex cell = 0; cell < 4; ++cell) {
        QCOMPARE(projection.dataBytes(cell), bytes[cell]);
        QCOMPARE(projection.rate(cell, 5, Resource::Ops), 5.0 + cell);
    }
    QCOMPARE(projection.unionDataBytes(0, 4), 10e9);
}

void TestOnlineForecaster::memoryStaysSmall() {
    const OnlineCellForecaster forecaster(1024, {});
    QVERIFY2(forecaster.memoryBytes() < 20'000'000,
             qPrintable(QString::number(forecaster.memoryBytes())));
    QVERIFY(forecaster.memoryBytes() > 1024 * 864 * 4 * sizeof(float));
}

QTEST_APPLESS_MAIN(TestOnlineForecaster)
#include "tst_online_forecaster.moc"
