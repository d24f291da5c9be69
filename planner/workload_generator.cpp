#include "workload_generator.h"

#include "jump_hash.h"
#include "random.h"
#include "trace_writer.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <utility>

namespace rangepilot {

namespace {

constexpr double kPi = 3.14159265358979323846;

// The daily cycle: a cosine peaking in the evening UTC. Peak / trough = 1.56 / 0.44, about 3.5.
constexpr double kDiurnalAmplitude = 0.56;
constexpr double kDiurnalPeakHourUtc = 19.5;

// hotspot-drift and random-jumps: 3% of the key space receives 35% of the events.
constexpr double kHotWidth = 0.03;
constexpr double kHotShare = 0.35;
// growth: a 4% range whose share grows linearly from 2% to 40% over the trace.
constexpr double kGrowthWidth = 0.04;
constexpr double kGrowthShareAtStart = 0.02;
constexpr double kGrowthShareAtEnd = 0.40;
constexpr double kGrowthShareCap = 0.90; // when extrapolated past the trace
// flash-crowd: every day at 20:00 UTC a 2% range ramps to 10x its normal rate in 3 minutes,
// holds 25 minutes and fades in 5.
constexpr double kFlashWidth = 0.02;
constexpr double kFlashMultiplier = 10;
constexpr TimeMs kFlashStartOfDay = 20 * kMsPerHour;
constexpr TimeMs kFlashRampUp = 3 * kMsPerMinute;
constexpr TimeMs kFlashHold = 25 * kMsPerMinute;
constexpr TimeMs kFlashRampDown = 5 * kMsPerMinute;
// random-jumps: exponential gaps between jumps.
constexpr double kJumpMeanGapMs = 2.0 * kMsPerHour;

// Noise: minute-scale AR(1) in log space, mean-corrected so that the factor averages 1.
constexpr double kRateNoiseSigma = 0.05;
constexpr double kShareNoiseSigma = 0.10;
constexpr double kNoiseCorrelationMinutes = 10;
constexpr double kMaxShare = 0.95;

// Op mix; scans take the remaining 2%.
constexpr double kGetFraction = 0.80;
constexpr double kPutFraction = 0.17;
constexpr double kDeleteFraction = 0.01;

// Sizes: a per-key value size, lognormal around 1 KiB; a put writes a somewhat larger value.
constexpr double kValueMedianBytes = 1024;
constexpr double kValueSigma = 0.8;
constexpr double kPutSizeFactorMedian = 1.6;
constexpr double kPutSizeSigma = 0.35;
constexpr double kScanMeanSpan = 16;
constexpr std::uint64_t kScanMaxSpan = 256;

// Latency in microseconds: lognormal around a per-op median, slower under load and in the
// special range (its shard is the busy one).
constexpr double kGetLatencyUs = 250;
constexpr double kPutLatencyUs = 450;
constexpr double kDeleteLatencyUs = 350;
constexpr double kScanLatencyUs = 600;
constexpr double kScanLatencyPerKeyUs = 25;
constexpr double kLatencySigma = 0.45;
// Rare stalls (compaction, GC pauses) give the latency its long tail.
constexpr double kSlowOutlierFraction = 0.002;
constexpr double kSlowOutlierMinFactor = 5;
constexpr double kSlowOutlierMaxFactor = 50;

constexpr std::size_t kExactBackgroundKeys = 1024;
constexpr std::size_t kMinKeyDigits = 10; // writeKeyText() relies on at least 8
constexpr std::size_t kMaxKeyPrefix = 64;
constexpr double kMaxHours = 24.0 * 366;
constexpr double kMaxRate = 1e7;
constexpr std::uint64_t kMaxKeys = 1'000'000'000'000ULL;
constexpr std::uint32_t kMaxClients = 100'000;
constexpr TimeMs kMaxStartMs = 253'402'300'799'999; // 9999-12-31T23:59:59.999Z
constexpr std::size_t kScaleSamples = 200'000;

// Independent random streams per concern, so that e.g. the noise does not shift when the event
// count of a second changes.
enum Stream : std::uint64_t { kEventStream = 1, kNoiseStream, kLayoutStream, kJumpStream };

double dayFraction(TimeMs t) {
    const TimeMs intoDay = t - floorDiv(t, kMsPerDay) * kMsPerDay;
    return static_cast<double>(intoDay) / static_cast<double>(kMsPerDay);
}

double diurnalShape(TimeMs t) {
    return 1.0 +
           kDiurnalAmplitude * std::cos(2.0 * kPi * (dayFraction(t) - kDiurnalPeakHourUtc / 24.0));
}

// 0..1: how far into today's burst t is.
double flashProfile(TimeMs t) {
    const TimeMs shifted = t - kFlashStartOfDay;
    const TimeMs sinceStart = shifted - floorDiv(shifted, kMsPerDay) * kMsPerDay;
    if (sinceStart < kFlashRampUp)
        return static_cast<double>(sinceStart) / static_cast<double>(kFlashRampUp);
    if (sinceStart < kFlashRampUp + kFlashHold)
        return 1.0;
    const TimeMs intoRampDown = sinceStart - kFlashRampUp - kFlashHold;
    if (intoRampDown < kFlashRampDown)
        return 1.0 - static_cast<double>(intoRampDown) / static_cast<double>(kFlashRampDown);
    return 0.0;
}

std::size_t digitCount(std::uint64_t value) {
    std::size_t digits = 1;
    while (value >= 10) {
        value /= 10;
        ++digits;
    }
    return digits;
}

bool isKeyPrefixChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':' || c == '/' || c == '@' || c == '+' || c == '=' ||
           c == '~' || c == '#' || c == '|';
}

bool startsWithHexMarker(std::string_view text) {
    return text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
}

std::uint64_t roundToPositive(double value) {
    return value < 1.0 ? 1 : static_cast<std::uint64_t>(value + 0.5);
}

// The standard normal quantile, by bisection on erfc (construction time only).
double standardNormalQuantile(double probability) {
    double low = -10.0;
    double high = 10.0;
    for (int i = 0; i < 64; ++i) {
        const double middle = 0.5 * (low + high);
        if (0.5 * std::erfc(-middle / std::sqrt(2.0)) < probability)
            low = middle;
        else
            high = middle;
    }
    return 0.5 * (low + high);
}

// exp(sigma * Z) for a standard normal Z, drawn from 64 random bits by table lookup: 257
// quantiles, linearly interpolated, so a draw costs no transcendental call. The median is exactly
// 1; the tails stop near +-2.9 sigma (the latency outliers supply the long tail).
class LogNormalTable {
public:
    explicit LogNormalTable(double sigma) {
        for (std::size_t i = 0; i < m_quantiles.size(); ++i) {
            const double probability =
                (static_cast<double>(i) + 0.5) / static_cast<double>(m_quantiles.size());
            m_quantiles[i] = std::exp(sigma * standardNormalQuantile(probability));
        }
    }

    double draw(std::uint64_t bits) const {
        const std::size_t cell = static_cast<std::size_t>(bits >> 56);
        const double within = static_cast<double>((bits << 8) >> 11) * 0x1.0p-53;
        return m_quantiles[cell] + within * (m_quantiles[cell + 1] - m_quantiles[cell]);
    }

private:
    std::array<double, 257> m_quantiles{};
};

// The Zipf background with its hottest ranks' positions, for exact range shares.
class Background {
public:
    Background(bool uniform, std::uint64_t keyCount, double exponent, std::uint64_t key)
        : m_uniform(uniform)
        , m_keyCount(keyCount)
        , m_zipf(keyCount, exponent)
        , m_permutation(keyCount, key) {
        if (uniform) {
            m_hotCumulative.push_back(0.0);
            m_tailMass = 1.0;
            return;
        }
        tabulateHottestKeys(exponent);
    }

    std::uint64_t sample(Random& random) const {
        if (m_uniform)
            return random.uniformInt(m_keyCount);
        return m_permutation(m_zipf.sample(random) - 1);
    }

    // The expected fraction of background events with key fraction in [from, to).
    double share(double from, double to) const {
        from = std::clamp(from, 0.0, 1.0);
        to = std::clamp(to, 0.0, 1.0);
        if (to <= from)
            return 0.0;
        const auto firstAt = [this](double fraction) {
            return static_cast<std::size_t>(
                std::lower_bound(m_hotFractions.begin(), m_hotFractions.end(), fraction) -
                m_hotFractions.begin());
        };
        const double hot = m_hotCumulative[firstAt(to)] - m_hotCumulative[firstAt(from)];
        return hot + m_tailMass * (to - from);
    }

private:
    void tabulateHottestKeys(double exponent) {
        const std::uint64_t exact = std::min<std::uint64_t>(m_keyCount, kExactBackgroundKeys);
        std::vector<std::pair<double, double>> hottest; // (key fraction, unnormalised weight)
        hottest.reserve(exact);
        double exactWeight = 0.0;
        for (std::uint64_t rank = 1; rank <= exact; ++rank) {
            const double weight = std::pow(static_cast<double>(rank), -exponent);
            const double fraction =
                static_cast<double>(m_permutation(rank - 1)) / static_cast<double>(m_keyCount);
            hottest.emplace_back(fraction, weight);
            exactWeight += weight;
        }
        // The remaining ranks by the midpoint rule, which is accurate to ~1e-7 past rank 1024.
        const double tailWeight = integralOfPower(static_cast<double>(exact) + 0.5,
                                                  static_cast<double>(m_keyCount) + 0.5, exponent);
        const double total = exactWeight + tailWeight;
        std::sort(hottest.begin(), hottest.end());
        m_hotFractions.reserve(hottest.size());
        m_hotCumulative.reserve(hottest.size() + 1);
        m_hotCumulative.push_back(0.0);
        for (const auto& [fraction, weight] : hottest) {
            m_hotFractions.push_back(fraction);
            m_hotCumulative.push_back(m_hotCumulative.back() + weight / total);
        }
        m_tailMass = tailWeight / total;
    }

    // The integral of x^-s over [from, to].
    static double integralOfPower(double from, double to, double exponent) {
        if (to <= from)
            return 0.0;
        if (std::abs(exponent - 1.0) < 1e-12)
            return std::log(to / from);
        const double power = 1.0 - exponent;
        return (std::pow(to, power) - std::pow(from, power)) / power;
    }

    bool m_uniform;
    std::uint64_t m_keyCount;
    ZipfSampler m_zipf;
    IndexPermutation m_permutation;
    std::vector<double> m_hotFractions;  // sorted
    std::vector<double> m_hotCumulative; // [i] = probability of the first i entries
    double m_tailMass = 0.0;             // spread evenly over the key space
};

// Where random-jumps' hot range is: a new uniform location after each exponential gap. Queried
// with non-decreasing times it costs O(1) amortised; a copy of the initial schedule answers any
// time by replaying.
class JumpSchedule {
public:
    JumpSchedule(std::uint64_t seed, TimeMs start)
        : m_random(Random::forStream(seed, kJumpStream)) {
        m_location = m_random.uniform();
        m_nextJump = start + nextGap();
    }

    double locationAt(TimeMs t) {
        while (t >= m_nextJump) {
            m_location = m_random.uniform();
            m_nextJump += nextGap();
        }
        return m_location;
    }

private:
    TimeMs nextGap() {
        return std::max<TimeMs>(1, std::llround(m_random.exponential(kJumpMeanGapMs)));
    }

    Random m_random;
    double m_location = 0.0;
    TimeMs m_nextJump = 0;
};

// Minute-scale AR(1) noise in log space; factor() averages 1.
class NoiseProcess {
public:
    explicit NoiseProcess(double sigma)
        : m_sigma(sigma)
        , m_persistence(std::exp(-1.0 / kNoiseCorrelationMinutes))
        , m_innovation(std::sqrt(1.0 - m_persistence * m_persistence)) {}

    void start(Random& random) { m_value = m_sigma * random.normal(); }

    // One minute on: keeps the stationary standard deviation at sigma.
    void step(Random& random) {
        m_value = m_persistence * m_value + m_innovation * m_sigma * random.normal();
    }

    double factor() const { return std::exp(m_value - 0.5 * m_sigma * m_sigma); }

private:
    double m_sigma;
    double m_persistence;
    double m_innovation;
    double m_value = 0.0;
};

WorkloadOptions usableOptions(WorkloadOptions options, const Status& status) {
    if (status.ok())
        return options;
    // A stand-in that keeps the model well defined; the stream itself stays empty.
    WorkloadOptions fallback;
    fallback.scenario = options.scenario;
    return fallback;
}

} // namespace

bool SpecialRange::contains(double fraction) const {
    double offset = fraction - start;
    if (offset < 0)
        offset += 1.0;
    return offset < width;
}

double SpecialRange::overlap(double from, double to) const {
    const auto overlapOf = [from, to](double low, double high) {
        return std::max(0.0, std::min(high, to) - std::max(low, from));
    };
    const double end = start + width;
    if (end <= 1.0)
        return overlapOf(start, end);
    return overlapOf(start, 1.0) + overlapOf(0.0, end - 1.0);
}

std::string_view scenarioName(Scenario scenario) {
    switch (scenario) {
    case Scenario::Uniform:
        return "uniform";
    case Scenario::Diurnal:
        return "diurnal";
    case Scenario::HotspotDrift:
        return "hotspot-drift";
    case Scenario::Growth:
        return "growth";
    case Scenario::FlashCrowd:
        return "flash-crowd";
    case Scenario::RandomJumps:
        return "random-jumps";
    }
    return "uniform";
}

std::optional<Scenario> parseScenario(std::string_view text) {
    std::string normalized(text);
    for (char& c : normalized) {
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        else if (c == '_')
            c = '-';
    }
    for (const Scenario scenario : allScenarios()) {
        if (scenarioName(scenario) == normalized)
            return scenario;
    }
    return std::nullopt;
}

std::vector<Scenario> allScenarios() {
    return {Scenario::Uniform, Scenario::Diurnal,    Scenario::HotspotDrift,
            Scenario::Growth,  Scenario::FlashCrowd, Scenario::RandomJumps};
}

Status validate(const WorkloadOptions& options) {
    if (!(options.hours > 0))
        return Error{"--hours must be > 0"};
    if (!(options.hours <= kMaxHours))
        return Error{"--hours must be at most 8784 (one leap year)"};
    if (!(options.rate_eps > 0))
        return Error{"--rate must be > 0"};
    if (!(options.rate_eps <= kMaxRate))
        return Error{"--rate must be at most 10000000 events per second"};
    if (options.key_count < 1)
        return Error{"--keys must be at least 1"};
    if (options.key_count > kMaxKeys)
        return Error{"--keys must be at most 1000000000000"};
    if (!(options.zipf_s >= 0 && options.zipf_s <= 10))
        return Error{"--zipf must be between 0 and 10"};
    if (options.start_ms < 0 || options.start_ms > kMaxStartMs)
        return Error{"--start must be between 1970-01-01 and 9999-12-31"};
    if (options.client_count > kMaxClients)
        return Error{"--clients must be at most 100000"};
    if (options.key_prefix.size() > kMaxKeyPrefix)
        return Error{"--key-prefix must be at most 64 characters"};
    if (!std::all_of(options.key_prefix.begin(), options.key_prefix.end(), isKeyPrefixChar))
        return Error{"--key-prefix may contain only letters, digits and _-.:/@+=~#|"};
    if (startsWithHexMarker(options.key_prefix))
        return Error{"--key-prefix must not start with \"0x\" (keys would read as hex)"};
    return {};
}

// ---- the generator ---------------------------------------------------------------------------

struct WorkloadGenerator::Impl {
    explicit Impl(WorkloadOptions requested);

    // Model (pure functions of t).
    double shape(TimeMs t) const;
    double flashExtra(TimeMs t) const;
    SpecialRange specialRange(TimeMs t, double jumpLocation) const;
    bool hasSpecialRange() const;
    double jumpLocationAt(TimeMs t) const;
    double computeScale() const;

    // Stream.
    bool next(TraceEvent& out);
    bool startNextSecond();
    void scatterOverMilliseconds(std::uint64_t count, std::uint32_t milliseconds);
    std::uint32_t takeNextMillisecond();
    void fillEvent(TraceEvent& out);
    std::uint64_t drawKeyIndex(bool& inSpecialRange);
    std::uint64_t valueSize(std::uint64_t index) const;
    void writeKeyText(std::string& text, std::uint64_t index) const;

    Status status;
    WorkloadOptions options; // as requested, or the defaults when those were invalid
    TimeMs startMs = 0;
    TimeMs endMs = 0;
    std::size_t keyDigits = kMinKeyDigits;
    Background background;
    double driftOffset = 0.0;
    double growthStart = 0.0;
    double flashStart = 0.0;
    double flashNormalShare = 0.0;
    std::uint64_t sizeSalt = 0;
    JumpSchedule initialJumps;
    double scale = 1.0;
    std::vector<std::string> clientNames;
    LogNormalTable valueSizes{kValueSigma};
    LogNormalTable putSizeFactors{kPutSizeSigma};
    LogNormalTable latencyFactors{kLatencySigma};

    // Stream state.
    Random eventRandom;
    Random noiseRandom;
    NoiseProcess rateNoise{kRateNoiseSigma};
    NoiseProcess shareNoise{kShareNoiseSigma};
    std::int64_t noiseMinute = 0;
    JumpSchedule jumps;
    TimeMs secondStart = 0;
    TimeMs nextSecondStart = 0;
    std::uint64_t pending = 0;
    std::array<std::uint32_t, 1000> slotCounts{};
    std::array<std::uint64_t, 16> slotBits{};
    std::size_t slotWord = 0;
    double specialProbability = 0.0;
    double specialStart = 0.0;
    double specialWidth = 0.0;
    double loadFactor = 1.0;
    std::uint64_t generated = 0;
    std::string keyText;
    std::string endKeyText;
};

WorkloadGenerator::Impl::Impl(WorkloadOptions requested)
    : status(validate(requested))
    , options(usableOptions(std::move(requested), status))
    , background(options.scenario == Scenario::Uniform, options.key_count, options.zipf_s,
                 Random::forStream(options.seed, kLayoutStream).nextU64())
    , initialJumps(options.seed, options.start_ms)
    , eventRandom(Random::forStream(options.seed, kEventStream))
    , noiseRandom(Random::forStream(options.seed, kNoiseStream))
    , jumps(initialJumps) {
    startMs = options.start_ms;
    const auto durationMs = std::llround(options.hours * static_cast<double>(kMsPerHour));
    endMs = status.ok() ? startMs + std::max<TimeMs>(1, durationMs) : startMs;
    keyDigits = std::max(kMinKeyDigits, digitCount(options.key_count));

    // Where the special ranges sit: drawn once per seed, after the permutation key (the first
    // draw of this stream, used above).
    Random layout = Random::forStream(options.seed, kLayoutStream);
    (void)layout.nextU64();
    driftOffset = layout.uniform();
    growthStart = layout.uniform(0.0, 1.0 - kGrowthWidth);
    flashStart = layout.uniform(0.0, 1.0 - kFlashWidth);
    sizeSalt = layout.nextU64();
    flashNormalShare = background.share(flashStart, flashStart + kFlashWidth);
    scale = computeScale();

    clientNames.reserve(options.client_count);
    for (std::uint32_t client = 0; client < options.client_count; ++client)
        clientNames.push_back("client-" + std::to_string(client));

    keyText = options.key_prefix + std::string(keyDigits, '0');
    endKeyText = keyText;
    rateNoise.start(noiseRandom);
    shareNoise.start(noiseRandom);
    secondStart = startMs;
    nextSecondStart = startMs;
}

double WorkloadGenerator::Impl::shape(TimeMs t) const {
    const double base = options.scenario == Scenario::Uniform ? 1.0 : diurnalShape(t);
    return base * (1.0 + flashExtra(t));
}

// The burst's added rate relative to the background: (multiplier - 1) x the range's normal share.
double WorkloadGenerator::Impl::flashExtra(TimeMs t) const {
    if (options.scenario != Scenario::FlashCrowd)
        return 0.0;
    return (kFlashMultiplier - 1.0) * flashNormalShare * flashProfile(t);
}

bool WorkloadGenerator::Impl::hasSpecialRange() const {
    return options.scenario != Scenario::Uniform && options.scenario != Scenario::Diurnal;
}

double WorkloadGenerator::Impl::jumpLocationAt(TimeMs t) const {
    if (options.scenario != Scenario::RandomJumps)
        return 0.0;
    JumpSchedule replay = initialJumps;
    return replay.locationAt(t);
}

SpecialRange WorkloadGenerator::Impl::specialRange(TimeMs t, double jumpLocation) const {
    switch (options.scenario) {
    case Scenario::HotspotDrift: {
        // Sweeps the key space once per day, starting from a seeded offset.
        double start = dayFraction(t) + driftOffset;
        if (start >= 1.0)
            start -= 1.0;
        return {start, kHotWidth, kHotShare};
    }
    case Scenario::Growth: {
        const TimeMs duration = std::max<TimeMs>(1, endMs - startMs);
        const double progress =
            std::max(0.0, static_cast<double>(t - startMs) / static_cast<double>(duration));
        const double share =
            kGrowthShareAtStart + (kGrowthShareAtEnd - kGrowthShareAtStart) * progress;
        return {growthStart, kGrowthWidth, std::min(share, kGrowthShareCap)};
    }
    case Scenario::FlashCrowd: {
        const double extra = flashExtra(t);
        return {flashStart, kFlashWidth, extra / (1.0 + extra)};
    }
    case Scenario::RandomJumps:
        return {jumpLocation, kHotWidth, kHotShare};
    case Scenario::Uniform:
    case Scenario::Diurnal:
        break;
    }
    return {};
}

double WorkloadGenerator::Impl::computeScale() const {
    // The expected event count is the sum over seconds of shape(mid-second) x scale; choose scale
    // so it equals rate_eps x duration. Long traces sample every stride-th second.
    if (endMs <= startMs)
        return options.rate_eps;
    const TimeMs duration = endMs - startMs;
    const TimeMs seconds = (duration + kMsPerSecond - 1) / kMsPerSecond;
    const TimeMs stride = std::max<TimeMs>(1, (seconds + static_cast<TimeMs>(kScaleSamples) - 1) /
                                                  static_cast<TimeMs>(kScaleSamples));
    double weightedShape = 0.0;
    for (TimeMs groupStart = startMs; groupStart < endMs; groupStart += stride * kMsPerSecond) {
        const TimeMs groupEnd = std::min(endMs, groupStart + stride * kMsPerSecond);
        const TimeMs middle = groupStart + (groupEnd - groupStart) / 2;
        weightedShape += shape(middle) * static_cast<double>(groupEnd - groupStart);
    }
    return options.rate_eps * static_cast<double>(duration) / weightedShape;
}

bool WorkloadGenerator::Impl::next(TraceEvent& out) {
    while (pending == 0) {
        if (!startNextSecond())
            return false;
    }
    out.ts_ms = secondStart + takeNextMillisecond();
    --pending;
    fillEvent(out);
    ++generated;
    return true;
}

bool WorkloadGenerator::Impl::startNextSecond() {
    if (nextSecondStart >= endMs)
        return false;
    secondStart = nextSecondStart;
    const auto milliseconds =
        static_cast<std::uint32_t>(std::min<TimeMs>(kMsPerSecond, endMs - secondStart));
    nextSecondStart = secondStart + milliseconds;
    const TimeMs middle = secondStart + milliseconds / 2;

    const std::int64_t minute = (secondStart - startMs) / kMsPerMinute;
    for (; noiseMinute < minute; ++noiseMinute) {
        rateNoise.step(noiseRandom);
        shareNoise.step(noiseRandom);
    }

    const double ratePerSecond = scale * shape(middle) * rateNoise.factor();
    loadFactor = 0.75 + 0.25 * ratePerSecond / options.rate_eps;
    if (hasSpecialRange()) {
        const double location =
            options.scenario == Scenario::RandomJumps ? jumps.locationAt(middle) : 0.0;
        const SpecialRange range = specialRange(middle, location);
        specialProbability = std::min(kMaxShare, range.share * shareNoise.factor());
        specialStart = range.start;
        specialWidth = range.width;
    }
    const std::uint64_t count =
        eventRandom.poisson(ratePerSecond * milliseconds / static_cast<double>(kMsPerSecond));
    scatterOverMilliseconds(count, milliseconds);
    return true;
}

// Counts per millisecond plus a bitmap of the non-empty ones: the events of a second come out in
// time order without sorting, in O(count + 16) work.
void WorkloadGenerator::Impl::scatterOverMilliseconds(std::uint64_t count,
                                                      std::uint32_t milliseconds) {
    for (std::uint64_t i = 0; i < count; ++i) {
        const auto slot = static_cast<std::size_t>(eventRandom.uniformInt(milliseconds));
        if (slotCounts[slot]++ == 0)
            slotBits[slot / 64] |= 1ULL << (slot % 64);
    }
    pending = count;
    slotWord = 0;
}

std::uint32_t WorkloadGenerator::Impl::takeNextMillisecond() {
    while (slotBits[slotWord] == 0)
        ++slotWord;
    const int bit = std::countr_zero(slotBits[slotWord]);
    const std::size_t slot = slotWord * 64 + static_cast<std::size_t>(bit);
    if (--slotCounts[slot] == 0)
        slotBits[slotWord] &= ~(1ULL << bit);
    return static_cast<std::uint32_t>(slot);
}

std::uint64_t WorkloadGenerator::Impl::drawKeyIndex(bool& inSpecialRange) {
    inSpecialRange = specialProbability > 0 && eventRandom.uniform() < specialProbability;
    if (!inSpecialRange)
        return background.sample(eventRandom);
    double fraction = specialStart + specialWidth * eventRandom.uniform();
    if (fraction >= 1.0)
        fraction -= 1.0;
    const auto index =
        static_cast<std::uint64_t>(fraction * static_cast<double>(options.key_count));
    return std::min(index, options.key_count - 1);
}

std::uint64_t WorkloadGenerator::Impl::valueSize(std::uint64_t index) const {
    // Stable per key, like a stored value: a hash-derived lognormal, cheap and seed-dependent.
    return roundToPositive(kValueMedianBytes * valueSizes.draw(mix64(index ^ sizeSalt)));
}

void WorkloadGenerator::Impl::writeKeyText(std::string& text, std::uint64_t index) const {
    // Two digits per step from a table, and 32-bit arithmetic for the low eight digits: this runs
    // once or twice per event, and a digit-by-digit loop was a tenth of the generator's time.
    static constexpr char kPairs[] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";
    char* digit = text.data() + text.size();
    const auto writePairs = [&digit](std::uint32_t value, int pairs) {
        for (int i = 0; i < pairs; ++i) {
            const std::uint32_t pair = value % 100;
            value /= 100;
            digit -= 2;
            digit[0] = kPairs[2 * pair];
            digit[1] = kPairs[2 * pair + 1];
        }
    };
    writePairs(static_cast<std::uint32_t>(index % 100'000'000), 4);
    std::uint64_t high = index / 100'000'000;
    for (std::size_t i = 8; i < keyDigits; ++i) {
        *--digit = static_cast<char>('0' + high % 10);
        high /= 10;
    }
}

void WorkloadGenerator::Impl::fillEvent(TraceEvent& out) {
    bool inSpecialRange = false;
    const std::uint64_t index = drawKeyIndex(inSpecialRange);
    writeKeyText(keyText, index);
    out.key = keyText;
    out.end_key = {};

    const double opDraw = eventRandom.uniform();
    double latencyMedianUs = kGetLatencyUs;
    if (opDraw < kGetFraction) {
        out.op = Op::Get;
        out.bytes = valueSize(index);
    } else if (opDraw < kGetFraction + kPutFraction) {
        out.op = Op::Put;
        out.bytes = roundToPositive(static_cast<double>(valueSize(index)) * kPutSizeFactorMedian *
                                    putSizeFactors.draw(eventRandom.nextU64()));
        latencyMedianUs = kPutLatencyUs;
    } else if (opDraw < kGetFraction + kPutFraction + kDeleteFraction) {
        out.op = Op::Delete;
        out.bytes = 0;
        latencyMedianUs = kDeleteLatencyUs;
    } else {
        out.op = Op::Scan;
        const std::uint64_t span =
            1 + std::min<std::uint64_t>(
                    kScanMaxSpan - 1,
                    static_cast<std::uint64_t>(eventRandom.exponential(kScanMeanSpan)));
        const std::uint64_t end = std::min(index + span, options.key_count);
        writeKeyText(endKeyText, end);
        out.end_key = endKeyText;
        out.bytes = (end - index) * valueSize(index);
        latencyMedianUs = kScanLatencyUs + kScanLatencyPerKeyUs * static_cast<double>(end - index);
    }

    double latency = latencyMedianUs * latencyFactors.draw(eventRandom.nextU64()) * loadFactor;
    if (eventRandom.uniform() < kSlowOutlierFraction)
        latency *= eventRandom.uniform(kSlowOutlierMinFactor, kSlowOutlierMaxFactor);
    if (inSpecialRange)
        latency *= 1.0 + 2.0 * specialProbability;
    out.latency_us = roundToPositive(latency);

    out.client = clientNames.empty()
                     ? std::string_view()
                     : std::string_view(clientNames[eventRandom.uniformInt(clientNames.size())]);
}

// ---- public API ------------------------------------------------------------------------------

WorkloadGenerator::WorkloadGenerator(WorkloadOptions options)
    : m_impl(std::make_unique<Impl>(std::move(options))) {}

WorkloadGenerator::~WorkloadGenerator() = default;
WorkloadGenerator::WorkloadGenerator(WorkloadGenerator&&) noexcept = default;
WorkloadGenerator& WorkloadGenerator::operator=(WorkloadGenerator&&) noexcept = default;

bool WorkloadGenerator::next(TraceEvent& out) {
    return m_impl->next(out);
}

const Status& WorkloadGenerator::status() const {
    return m_impl->status;
}
const WorkloadOptions& WorkloadGenerator::options() const {
    return m_impl->options;
}
TimeMs WorkloadGenerator::startMs() const {
    return m_impl->startMs;
}
TimeMs WorkloadGenerator::endMs() const {
    return m_impl->endMs;
}
std::uint64_t WorkloadGenerator::eventsGenerated() const {
    return m_impl->generated;
}

double WorkloadGenerator::rateAt(TimeMs t) const {
    return m_impl->scale * m_impl->shape(t);
}

std::optional<SpecialRange> WorkloadGenerator::specialRangeAt(TimeMs t) const {
    if (!m_impl->hasSpecialRange())
        return std::nullopt;
    return m_impl->specialRange(t, m_impl->jumpLocationAt(t));
}

double WorkloadGenerator::densityAt(TimeMs t, double x) const {
    if (!(x >= 0.0 && x < 1.0))
        return 0.0;
    const std::optional<SpecialRange> range = specialRangeAt(t);
    if (!range)
        return 1.0;
    return (1.0 - range->share) + (range->contains(x) ? range->share / range->width : 0.0);
}

double WorkloadGenerator::shareAt(TimeMs t, double from, double to) const {
    from = std::clamp(from, 0.0, 1.0);
    to = std::clamp(to, 0.0, 1.0);
    if (to <= from)
        return 0.0;
    const double background = m_impl->background.share(from, to);
    const std::optional<SpecialRange> range = specialRangeAt(t);
    if (!range)
        return background;
    return (1.0 - range->share) * background +
           range->share * range->overlap(from, to) / range->width;
}

std::string WorkloadGenerator::keyAt(std::uint64_t index) const {
    std::string text = m_impl->keyText;
    m_impl->writeKeyText(text, std::min(index, m_impl->options.key_count));
    return text;
}

std::uint64_t WorkloadGenerator::keyIndexAt(double fraction) const {
    const double keyCount = static_cast<double>(m_impl->options.key_count);
    const double index = std::floor(std::clamp(fraction, 0.0, 1.0) * keyCount);
    return std::min(static_cast<std::uint64_t>(index), m_impl->options.key_count);
}

Result<std::uint64_t> writeWorkloadCsv(const WorkloadOptions& options, TraceCsvWriter& writer) {
    WorkloadGenerator generator(options);
    if (!generator.status().ok())
        return Error{generator.status().message()};
    TraceEvent event;
    while (generator.next(event)) {
        const Status written = writer.write(event);
        if (!written.ok())
            return Error{written.message()};
    }
    const Status flushed = writer.flush();
    if (!flushed.ok())
        return Error{flushed.message()};
    return generator.eventsGenerated();
}

} // namespace rangepilot
