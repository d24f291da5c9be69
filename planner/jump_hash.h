#pragma once

// Jump Consistent Hash (Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm",
// 2014) and the 64-bit mixers that turn shard ids and byte strings into its keys.
//
// jumpConsistentHash(key, n) maps a 64-bit key to a bucket in [0, n). Growing n to n + 1 moves a
// key only into the new bucket n, and moves about 1/(n + 1) of all keys: the least any balanced
// placement can move. It needs no memory and takes O(ln n) steps. Buckets are numbered, not
// named, so only the last bucket can be removed the jump-hash way; callers keep their hosts in a
// stable order and handle other removals themselves (see ownership_table.h).
//
// Jump hash spreads keys only as well as the keys themselves are spread, so structured inputs
// (small, consecutive or strided shard ids) go through mix64() first. mix64() is one splitmix64
// step: a bijection on 64 bits (distinct ids stay distinct) with full avalanche. hashBytes() is
// FNV-1a followed by mix64(), because FNV-1a alone leaves short inputs poorly mixed in the high
// bits. Everything here is a pure function of its arguments: same input, same bucket, on every
// platform with IEEE-754 doubles.

#include <cstdint>
#include <string_view>

namespace rangepilot {

// The bucket of `key` among `buckets` buckets, in [0, buckets). Returns 0 when buckets <= 0
// (there is no valid bucket; 0 keeps callers free of undefined behaviour).
std::int32_t jumpConsistentHash(std::uint64_t key, std::int32_t buckets);

// splitmix64: add the golden-ratio increment, then Stafford's "mix13" finaliser. A bijection, so
// mix64(a) == mix64(b) only when a == b; every input bit affects every output bit.
constexpr std::uint64_t mix64(std::uint64_t value) {
    value += 0x9e3779b97f4a7c15ULL;
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
    return value ^ (value >> 31);
}

// 64-bit FNV-1a over the bytes, as published (offset basis 0xcbf29ce484222325, prime 2^40 + 0x1b3).
constexpr std::uint64_t fnv1a64(std::string_view bytes) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

// A well-mixed 64-bit key for a byte string (host names, key text): mix64(fnv1a64(bytes)).
constexpr std::uint64_t hashBytes(std::string_view bytes) {
    return mix64(fnv1a64(bytes));
}

} // namespace rangepilot
