#pragma once

// Keys and key ranges. A Key is a byte string ordered lexicographically by unsigned bytes (the
// order of std::string's compare). A KeyRange is half-open, [start, end); an empty end means
// +infinity, and the empty start is the smallest key, so {"", ""} is the whole key space.
//
// Text form (traces, reports, JSON): a key is written as itself when it is printable ASCII and
// cannot be mistaken for hex, otherwise as "0x" followed by lowercase hex of its bytes.
// parseKeyText() inverts formatKey() exactly.

#include "result.h"

#include <string>
#include <string_view>

namespace rangepilot {

using Key = std::string;

struct KeyRange {
    Key start;
    Key end; // empty: unbounded above

    bool unboundedAbove() const { return end.empty(); }
    bool contains(std::string_view key) const {
        return key >= std::string_view(start) && (end.empty() || key < std::string_view(end));
    }
    // Whether the two ranges share a key.
    bool overlaps(const KeyRange& other) const {
        return (other.end.empty() || start < other.end) && (end.empty() || other.start < end);
    }
    bool operator==(const KeyRange&) const = default;
};

// The text form of a key, safe inside a CSV field and a JSON string.
std::string formatKey(std::string_view key);

// "[start, end)" with formatKey() on both ends and "+inf" for an unbounded end.
std::string formatKeyRange(const KeyRange& range);

// Decodes a key's text form: "0x" + an even number of hex digits is bytes, anything else is the
// text itself. Odd-length or non-hex digits after "0x" are an error that says why.
Result<Key> parseKeyText(std::string_view text);

// Same as parseKeyText(), writing into `out` (reusing its capacity); returns false and sets
// `reason` on bad hex. For hot loops that must not allocate per call.
bool decodeKeyText(std::string_view text, std::string& out, const char*& reason);

} // namespace rangepilot
