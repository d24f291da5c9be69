#pragma once

// Timestamps as they appear in traces and foreign logs, turned into TimeMs (UTC milliseconds since
// the Unix epoch), and back into ISO-8601 text for reports.
//
// Accepted text: a number in a caller-chosen unit (s, ms, us, ns; s and ms also take a decimal
// fraction), or an ISO-8601 date-time "YYYY-MM-DD[(T|space)hh:mm[:ss[.fraction]]][zone]" with a
// zone of Z, +hh:mm, +hhmm or +hh (UTC when absent). Fractions below a millisecond are dropped
// toward the past (floor), so pre-1970 times bucket the same way as later ones.
//
// Invariants: parsing never allocates, never reads the wall clock or the process time zone, and
// reports failure through a static reason string. Calendar arithmetic is proleptic Gregorian
// (days-from-civil), valid for every TimeMs. Cost: a few dozen instructions per timestamp.

#include "time_ms.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rangepilot {

enum class TimeUnit { Seconds, Milliseconds, Microseconds, Nanoseconds };

// "s", "ms", "us", "ns"; anything else is nullopt.
std::optional<TimeUnit> parseTimeUnit(std::string_view text);

// The inverse of parseTimeUnit().
std::string_view timeUnitName(TimeUnit unit);

// Parses `text` (no surrounding spaces) into `out`. Numeric text is read in `numericUnit`.
// Returns false and points `reason` at a static message on failure; `out` is then unchanged.
bool parseTimestamp(std::string_view text, TimeUnit numericUnit, TimeMs& out, const char*& reason);

// "2024-11-15T16:57:50.123Z": always UTC, always with milliseconds. Years outside 0000-9999 are
// written with a sign ("+292278994-08-17T07:12:55.807Z"), which parseTimestamp() does not read.
std::string formatIso8601(TimeMs time);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31), and back.
struct CivilDate {
    std::int64_t year = 1970;
    int month = 1;
    int day = 1;
    bool operator==(const CivilDate&) const = default;
};
std::int64_t daysFromCivil(const CivilDate& date);
CivilDate civilFromDays(std::int64_t days);

} // namespace rangepilot
