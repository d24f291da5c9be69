#include "jump_hash.h"

namespace rangepilot {

std::int32_t jumpConsistentHash(std::uint64_t key, std::int32_t buckets) {
    if (buckets <= 0)
        return 0;

    // Follow the key's bucket as the bucket count grows from 1. The key seeds a 64-bit linear
    // congruential generator; each draw says how far ahead the key's next jump lands, and the
    // last bucket reached below `buckets` is the answer. Jumps grow geometrically: O(ln n) steps.
    constexpr double kTwoTo31 = 2147483648.0;
    std::int64_t bucket = -1;
    std::int64_t next = 0;
    while (next < buckets) {
        bucket = next;
        key = key * 2862933555777941757ULL + 1;
        // (key >> 33) + 1 is uniform in [1, 2^31], so the ratio is 1 / u with u in (0, 1]. The
        // product stays below 2^62, well inside int64.
        const double inverseDraw = kTwoTo31 / static_cast<double>((key >> 33) + 1);
        next = static_cast<std::int64_t>(static_cast<double>(bucket + 1) * inverseDraw);
    }
    return static_cast<std::int32_t>(bucket);
}

} // namespace rangepilot
