// Key → cell bucketing throughput: KeyCells::cellOf() against a std::map<std::string, …>
// upper_bound baseline, measured in the same run on the same keys, for 1,024 and 65,536 cells.
//
//   build/release/bench/bench_key_cells [--keys N]

#include "key_cells.h"
#include "random.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace rangepilot;

namespace {

std::uint64_t nextRandom(std::uint64_t& state) {
    return splitMix64Next(state);
}

// Keys shaped like the generated workloads' ("user" + 10 digits), skewed toward a hot region.
std::vector<Key> makeKeys(std::size_t count, std::uint64_t seed) {
    std::vector<Key> keys;
    keys.reserve(count);
    std::uint64_t state = seed;
    char text[32];
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t value = nextRandom(state) % 4 == 0
                                        ? 4'000'000 + nextRandom(state) % 50'000
                                        : nextRandom(state) % 10'000'000'000ULL;
        std::snprintf(text, sizeof text, "user%010llu", static_cast<unsigned long long>(value));
        keys.emplace_back(text);
    }
    return keys;
}

template <typename Lookup>
double bestSeconds(const std::vector<Key>& probes, Lookup lookup, std::uint64_t& checksum) {
    double best = 1e300;
    for (int repeat = 0; repeat < 5; ++repeat) {
        const auto start = std::chrono::steady_clock::now();
        std::uint64_t sum = 0;
        for (const Key& key : probes)
            sum += lookup(key);
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        best = std::min(best, elapsed.count());
        checksum = sum;
    }
    return best;
}

void runCase(std::size_t cellCount, const std::vector<Key>& probes) {
    const KeyCells cells = KeyCells::fromSample(makeKeys(cellCount * 32, 99), cellCount);
    std::map<std::string, std::uint32_t> baseline;
    for (std::uint32_t cell = 0; cell < cells.size(); ++cell)
        baseline.emplace(cells.start(cell), cell);

    std::uint64_t ours = 0;
    std::uint64_t theirs = 0;
    const double cellsSeconds = bestSeconds(
        probes, [&](const Key& key) { return cells.cellOf(key); }, ours);
    const double mapSeconds = bestSeconds(
        probes, [&](const Key& key) { return std::prev(baseline.upper_bound(key))->second; },
        theirs);
    if (ours != theirs) {
        std::fprintf(stderr, "mismatch: KeyCells and std::map disagree (%llu vs %llu)\n",
                     static_cast<unsigned long long>(ours),
                     static_cast<unsigned long long>(theirs));
        std::exit(1);
    }
    const double n = static_cast<double>(probes.size());
    std::printf(
        "%6zu cells: KeyCells %7.1f M keys/s | baseline std::map upper_bound %6.1f M keys/s "
        "| speed-up %.2fx\n",
        cells.size(), n / cellsSeconds / 1e6, n / mapSeconds / 1e6, mapSeconds / cellsSeconds);
}

} // namespace

int main(int argc, char** argv) {
    std::size_t keyCount = 2'000'000;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
            keyCount = std::strtoull(argv[++i], nullptr, 10);
        else if (std::strcmp(argv[i], "--quick") == 0)
            keyCount = 100'000;
    }
    const std::vector<Key> probes = makeKeys(keyCount, 12345);
    std::printf("key -> cell bucketing, %zu keys, best of 5 runs\n", probes.size());
    runCase(1024, probes);
    runCase(65536, probes);
    return 0;
}
