#pragma once

// Time in the planner is explicit: integer milliseconds since the Unix epoch (UTC), passed in by
// the caller. Nothing in planner/ reads the wall clock, so every result is reproducible.

#include <cstdint>

namespace rangepilot {

using TimeMs = std::int64_t;

inline constexpr TimeMs kMsPerSecond = 1000;
inline constexpr TimeMs kMsPerMinute = 60 * kMsPerSecond;
inline constexpr TimeMs kMsPerHour = 60 * kMsPerMinute;
inline constexpr TimeMs kMsPerDay = 24 * kMsPerHour;

// Floor division that rounds toward minus infinity, for bucketing times before 1970 too.
constexpr std::int64_t floorDiv(std::int64_t value, std::int64_t divisor) {
    const std::int64_t quotient = value / divisor;
    return (value % divisor != 0 && ((value < 0) != (divisor < 0))) ? quotient - 1 : quotient;
}

} // namespace rangepilot
