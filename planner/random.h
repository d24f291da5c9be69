#pragma once

// Deterministic random numbers for synthetic workloads and simulations. The standard library's
// distributions are implementation-defined (libstdc++, libc++ and MSVC give different numbers for
// the same engine and seed), so everything here is written out: the generator is xoshiro256**
// (Blackman & Vigna) seeded through splitmix64, and every distribution is an explicit algorithm.
//
// Invariants: the same seed gives the same sequence on every platform. Integer draws (nextU64,
// uniformInt, ZipfSampler ranks, IndexPermutation) use integer arithmetic or IEEE-exact operations
// only; the continuous draws also call std::log/exp/sqrt/cos, which the mainstream C libraries
// compute to within an ulp, so a platform difference could only flip a draw lying on an ulp
// boundary. Nothing reads the clock or std::random_device.
//
// Cost: nextU64/uniform/uniformInt are a few nanoseconds; normal and exponential one or two
// transcendental calls; poisson O(1) expected for any mean (inversion below a mean of 10,
// Hörmann's PTRS rejection above); ZipfSampler O(1) expected per draw for any N (rejection-
// inversion, Hörmann & Derflinger 1996) with O(1) memory; IndexPermutation O(1) expected.

#include <cstdint>

namespace rangepilot {

// splitmix64 as a sequence: advances `state` and returns the next output. Used to expand one
// 64-bit seed into xoshiro's 256-bit state.
std::uint64_t splitMix64Next(std::uint64_t& state);

class Random {
public:
    explicit Random(std::uint64_t seed = 1);

    // An independent generator for a (seed, stream) pair, so components of one simulation can
    // draw without disturbing each other's sequences.
    static Random forStream(std::uint64_t seed, std::uint64_t stream);

    std::uint64_t nextU64();

    // Uniform in [0, 1) with 53 random bits.
    double uniform();
    // Uniform in (0, 1]: safe as the argument of a logarithm.
    double uniformPositive();
    // Uniform in [low, high).
    double uniform(double low, double high) { return low + (high - low) * uniform(); }

    // Uniform integer in [0, n) without modulo bias (Lemire's multiply-and-reject). n == 0 gives 0.
    std::uint64_t uniformInt(std::uint64_t n);

    // True with probability p (p <= 0 never, p >= 1 always).
    bool bernoulli(double p) { return uniform() < p; }

    // Exponential with the given mean (mean = 1 / rate).
    double exponential(double mean);

    // Standard normal by Box-Muller; the second value of each pair is kept for the next call.
    double normal();
    double normal(double mean, double stddev) { return mean + stddev * normal(); }

    // A cheap bell curve for hot loops: the sum of four 16-bit uniforms from one draw, scaled to
    // mean 0 and variance 1 (Irwin-Hall). Close to normal within 2 sigma, but bounded at
    // +-sqrt(12) = 3.46, so do not use it where the tails matter.
    double approximateNormal() { return irwinHallNormal(nextU64()); }
    static double irwinHallNormal(std::uint64_t bits);

    // exp(normal(log(median), sigma)): a right-skewed positive size or latency.
    double logNormal(double median, double sigma);

    // Poisson with the given mean; mean <= 0 gives 0.
    std::uint64_t poisson(double mean);

private:
    std::uint64_t poissonByInversion(double mean);
    std::uint64_t poissonByPtrs(double mean);

    std::uint64_t m_state[4];
    double m_spareNormal = 0;
    bool m_hasSpareNormal = false;
};

// Zipf over ranks 1..N: P(k) = k^-s / H(N, s). Rejection-inversion against the continuous
// density x^-s, so a draw costs O(1) expected (about one iteration) for N up to 2^53 and any
// s >= 0 (s == 0 is uniform). N == 0 is treated as 1 and s < 0 as 0.
class ZipfSampler {
public:
    ZipfSampler(std::uint64_t n, double exponent);

    std::uint64_t sample(Random& random) const; // a rank in [1, N]

    std::uint64_t n() const { return m_n; }
    double exponent() const { return m_exponent; }

private:
    double h(double x) const;         // x^-s
    double hIntegral(double x) const; // H(x) = (x^(1-s) - 1) / (1 - s), log x when s == 1
    double hIntegralInverse(double x) const;

    std::uint64_t m_n;
    double m_exponent;
    double m_hIntegralX1;
    double m_hIntegralN;
    double m_squeeze;
};

// A bijection of [0, n) seeded by a 64-bit key: scatters ranks over a key space so that hot ranks
// land far apart. Invertible mixing rounds on the smallest power-of-two domain covering n, with
// cycle walking back into [0, n) (fewer than two rounds expected).
class IndexPermutation {
public:
    IndexPermutation(std::uint64_t n, std::uint64_t key);

    std::uint64_t operator()(std::uint64_t index) const; // index must be < n
    std::uint64_t size() const { return m_n; }

private:
    std::uint64_t permuteDomain(std::uint64_t value) const;

    static constexpr int kRounds = 4;
    std::uint64_t m_n;
    std::uint64_t m_mask;
    int m_shift;
    std::uint64_t m_addends[kRounds];
    std::uint64_t m_multipliers[kRounds];
};

} // namespace rangepilot
