#include "random.h"

#include "jump_hash.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace rangepilot {

namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr double kHalfLogTwoPi = 0.91893853320467274178032973640562;

// High and low 64-bit halves of a 64 x 64 -> 128-bit product.
struct Product128 {
    std::uint64_t high;
    std::uint64_t low;
};

Product128 multiplyWide(std::uint64_t a, std::uint64_t b) {
#if defined(__SIZEOF_INT128__)
    __extension__ using Unsigned128 = unsigned __int128;
    const Unsigned128 product = static_cast<Unsigned128>(a) * b;
    return {static_cast<std::uint64_t>(product >> 64), static_cast<std::uint64_t>(product)};
#else
    const std::uint64_t aLow = a & 0xffffffffULL, aHigh = a >> 32;
    const std::uint64_t bLow = b & 0xffffffffULL, bHigh = b >> 32;
    const std::uint64_t lowLow = aLow * bLow;
    const std::uint64_t highLow = aHigh * bLow;
    const std::uint64_t lowHigh = aLow * bHigh;
    const std::uint64_t middle = (lowLow >> 32) + (highLow & 0xffffffffULL) + lowHigh;
    return {aHigh * bHigh + (highLow >> 32) + (middle >> 32),
            (middle << 32) | (lowLow & 0xffffffffULL)};
#endif
}

// log(k!) exactly from a table for small k, by the Stirling series (error < 1e-12) above.
double logFactorial(std::uint64_t k) {
    static constexpr double kSmall[10] = {0.0,
                                          0.0,
                                          0.69314718055994530942,
                                          1.79175946922805500081,
                                          3.17805383034794561964,
                                          4.78749174278204599425,
                                          6.57925121201010099506,
                                          8.52516136106541430017,
                                          10.60460290274525022842,
                                          12.80182748008146961121};
    if (k < 10)
        return kSmall[k];
    const double x = static_cast<double>(k) + 1.0; // log(k!) = logGamma(x)
    const double inverse = 1.0 / x;
    const double inverseSquared = inverse * inverse;
    return (x - 0.5) * std::log(x) - x + kHalfLogTwoPi +
           inverse * (1.0 / 12.0 - inverseSquared * (1.0 / 360.0 - inverseSquared / 1260.0));
}

// log1p(x) / x, continuous at 0 where the quotient is 0/0.
double log1pOverX(double x) {
    if (std::abs(x) > 1e-8)
        return std::log1p(x) / x;
    return 1.0 - x * (0.5 - x / 3.0);
}

// expm1(x) / x, continuous at 0.
double expm1OverX(double x) {
    if (std::abs(x) > 1e-8)
        return std::expm1(x) / x;
    return 1.0 + x * (0.5 + x / 6.0);
}

} // namespace

std::uint64_t splitMix64Next(std::uint64_t& state) {
    const std::uint64_t output = mix64(state);
    state += 0x9e3779b97f4a7c15ULL;
    return output;
}

// ---- Random ----------------------------------------------------------------------------------

Random::Random(std::uint64_t seed) {
    std::uint64_t expander = seed;
    for (std::uint64_t& word : m_state)
        word = splitMix64Next(expander);
    // xoshiro's only bad state is all zeros; splitmix64 cannot produce four zeros in a row, but
    // keep the guarantee explicit.
    if ((m_state[0] | m_state[1] | m_state[2] | m_state[3]) == 0)
        m_state[0] = 1;
}

Random Random::forStream(std::uint64_t seed, std::uint64_t stream) {
    return Random(mix64(mix64(seed) + stream));
}

std::uint64_t Random::nextU64() {
    const std::uint64_t result = std::rotl(m_state[1] * 5, 7) * 9;
    const std::uint64_t shifted = m_state[1] << 17;
    m_state[2] ^= m_state[0];
    m_state[3] ^= m_state[1];
    m_state[1] ^= m_state[2];
    m_state[0] ^= m_state[3];
    m_state[2] ^= shifted;
    m_state[3] = std::rotl(m_state[3], 45);
    return result;
}

double Random::uniform() {
    return static_cast<double>(nextU64() >> 11) * 0x1.0p-53;
}

double Random::uniformPositive() {
    return static_cast<double>((nextU64() >> 11) + 1) * 0x1.0p-53;
}

std::uint64_t Random::uniformInt(std::uint64_t n) {
    if (n == 0)
        return 0;
    Product128 product = multiplyWide(nextU64(), n);
    if (product.low < n) {
        // Reject the few low products that would make some results one draw more likely.
        const std::uint64_t threshold = (0 - n) % n;
        while (product.low < threshold)
            product = multiplyWide(nextU64(), n);
    }
    return product.high;
}

double Random::exponential(double mean) {
    return -mean * std::log(uniformPositive());
}

double Random::normal() {
    if (m_hasSpareNormal) {
        m_hasSpareNormal = false;
        return m_spareNormal;
    }
    const double radius = std::sqrt(-2.0 * std::log(uniformPositive()));
    const double angle = kTwoPi * uniform();
    m_spareNormal = radius * std::sin(angle);
    m_hasSpareNormal = true;
    return radius * std::cos(angle);
}

double Random::irwinHallNormal(std::uint64_t bits) {
    const std::uint64_t sum =
        (bits & 0xffff) + ((bits >> 16) & 0xffff) + ((bits >> 32) & 0xffff) + (bits >> 48);
    // Four uniforms on [0, 1) with 16 bits each: mean 2, variance 4/12.
    constexpr double kUnit = 1.0 / 65536.0;
    constexpr double kSqrtThree = 1.7320508075688772935;
    return (static_cast<double>(sum) * kUnit + 2.0 * kUnit - 2.0) * kSqrtThree;
}

double Random::logNormal(double median, double sigma) {
    return median * std::exp(sigma * normal());
}

std::uint64_t Random::poisson(double mean) {
    if (!(mean > 0))
        return 0;
    return mean < 10 ? poissonByInversion(mean) : poissonByPtrs(mean);
}

std::uint64_t Random::poissonByInversion(double mean) {
    // Sequential search of the cumulative distribution: mean + 1 steps on average.
    const double target = uniform();
    double probability = std::exp(-mean);
    double cumulative = probability;
    std::uint64_t k = 0;
    // The cap only matters if rounding left the cumulative sum just below the target.
    while (target >= cumulative && k < 1000) {
        ++k;
        probability *= mean / static_cast<double>(k);
        cumulative += probability;
    }
    return k;
}

std::uint64_t Random::poissonByPtrs(double mean) {
    // Hörmann, "The transformed rejection method for generating Poisson random variables" (1993),
    // algorithm PTRS: a transformed uniform proposes k, a squeeze accepts most proposals without
    // evaluating the probability mass function. About 1.1 iterations per draw for mean >= 10.
    const double logMean = std::log(mean);
    const double b = 0.931 + 2.53 * std::sqrt(mean);
    const double a = -0.059 + 0.02483 * b;
    const double inverseAlpha = 1.1239 + 1.1328 / (b - 3.4);
    const double squeezeLimit = 0.9277 - 3.6224 / (b - 2.0);
    while (true) {
        const double u = uniform() - 0.5;
        const double v = uniform();
        const double distanceFromEdge = 0.5 - std::abs(u);
        const double candidate = std::floor((2.0 * a / distanceFromEdge + b) * u + mean + 0.43);
        if (distanceFromEdge >= 0.07 && v <= squeezeLimit)
            return static_cast<std::uint64_t>(candidate);
        if (candidate < 0 || (distanceFromEdge < 0.013 && v > distanceFromEdge))
            continue;
        const auto k = static_cast<std::uint64_t>(candidate);
        const double logHat =
            std::log(v * inverseAlpha / (a / (distanceFromEdge * distanceFromEdge) + b));
        if (logHat <= -mean + candidate * logMean - logFactorial(k))
            return k;
    }
}

// ---- ZipfSampler -----------------------------------------------------------------------------

ZipfSampler::ZipfSampler(std::uint64_t n, double exponent)
    : m_n(std::max<std::uint64_t>(n, 1))
    , m_exponent(exponent > 0 ? exponent : 0.0) {
    // Hörmann & Derflinger, "Rejection-inversion to generate variates from monotone discrete
    // distributions" (1996): sample x from the hat density h on [1/2, N + 1/2] by inverting its
    // integral H, round to k, and accept when the hat's area over k does not exceed h(k). Rank 1
    // gets its own exact area so the hat stays tight where the mass is largest.
    m_hIntegralX1 = hIntegral(1.5) - 1.0;
    m_hIntegralN = hIntegral(static_cast<double>(m_n) + 0.5);
    m_squeeze = 2.0 - hIntegralInverse(hIntegral(2.5) - h(2.0));
}

double ZipfSampler::h(double x) const {
    return std::exp(-m_exponent * std::log(x));
}

double ZipfSampler::hIntegral(double x) const {
    const double logX = std::log(x);
    return expm1OverX((1.0 - m_exponent) * logX) * logX;
}

double ZipfSampler::hIntegralInverse(double x) const {
    double t = x * (1.0 - m_exponent);
    // H's range ends at -1 / (1 - s) for s > 1; rounding may step past it.
    if (t < -1.0)
        t = -1.0;
    return std::exp(log1pOverX(t) * x);
}

std::uint64_t ZipfSampler::sample(Random& random) const {
    const double maxRank = static_cast<double>(m_n);
    while (true) {
        const double u = m_hIntegralN + random.uniform() * (m_hIntegralX1 - m_hIntegralN);
        const double x = hIntegralInverse(u);
        const double rounded = std::floor(x + 0.5);
        const double k = std::clamp(rounded, 1.0, maxRank);
        if (k - x <= m_squeeze || u >= hIntegral(k + 0.5) - h(k))
            return static_cast<std::uint64_t>(k);
    }
}

// ---- IndexPermutation ------------------------------------------------------------------------

IndexPermutation::IndexPermutation(std::uint64_t n, std::uint64_t key)
    : m_n(std::max<std::uint64_t>(n, 1)) {
    const int bits = m_n <= 1 ? 0 : std::bit_width(m_n - 1);
    m_mask = bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
    m_shift = std::max(1, bits / 2);
    std::uint64_t expander = key;
    for (int round = 0; round < kRounds; ++round) {
        m_addends[round] = splitMix64Next(expander);
        m_multipliers[round] = splitMix64Next(expander) | 1; // odd: invertible modulo 2^bits
    }
}

std::uint64_t IndexPermutation::permuteDomain(std::uint64_t value) const {
    // Each step is a bijection of [0, 2^bits): adding a constant, multiplying by an odd number
    // (both modulo 2^bits) and xoring in the value's own high half shifted down.
    for (int round = 0; round < kRounds; ++round) {
        value = (value + m_addends[round]) & m_mask;
        value = (value * m_multipliers[round]) & m_mask;
        value ^= value >> m_shift;
    }
    return value;
}

std::uint64_t IndexPermutation::operator()(std::uint64_t index) const {
    // Cycle walking: the domain is less than twice n, and following the permutation's cycle from
    // an index below n always returns below n, so this ends after fewer than two steps on average.
    std::uint64_t value = permuteDomain(index);
    while (value >= m_n)
        value = permuteDomain(value);
    return value;
}

} // namespace rangepilot
