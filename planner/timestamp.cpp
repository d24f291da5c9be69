#include "timestamp.h"

#include <bit>
#include <cstring>
#include <limits>

namespace rangepilot {

namespace {

constexpr const char* kNotATimestamp = "timestamp is not a number or ISO-8601 date";
constexpr const char* kOverflow = "timestamp overflows";

constexpr std::uint64_t kInt64MaxMagnitude =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

int digitValue(char c) {
    return c - '0';
}

// Reads exactly `count` digits at `pos`; false if any is not a digit or the text is too short.
bool readFixedDigits(std::string_view text, std::size_t pos, std::size_t count, int& value) {
    if (pos + count > text.size())
        return false;
    value = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        if (!isDigit(text[i]))
            return false;
        value = value * 10 + digitValue(text[i]);
    }
    return true;
}

bool isLeapYear(std::int64_t year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int daysInMonth(std::int64_t year, int month) {
    static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && isLeapYear(year) ? 29 : kDays[month - 1];
}

// --- the fast path ------------------------------------------------------------------------------

std::uint64_t loadWord(const char* bytes) {
    std::uint64_t word;
    std::memcpy(&word, bytes, sizeof word);
    return word;
}

// Eight ASCII digits, first digit in the lowest byte (little-endian load), to their value;
// false if any byte is not a digit. Pairs, then quads, then the whole: three multiplies.
bool eightDigits(std::uint64_t word, std::uint64_t& value) {
    constexpr std::uint64_t kHighNibbles = 0xf0f0f0f0f0f0f0f0ULL;
    constexpr std::uint64_t kZeros = 0x3030303030303030ULL;
    if ((word & kHighNibbles) != kZeros ||
        ((word + 0x0606060606060606ULL) & kHighNibbles) != kZeros)
        return false;
    std::uint64_t x = word - kZeros;
    x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffULL;
    x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffULL;
    x = (x * 10000 + (x >> 32)) & 0x00000000ffffffffULL;
    value = x;
    return true;
}

// Eight bytes ending at `end`, of which only the last `count` (1-8) are kept; the others are
// replaced by '0' so that eightDigits() reads just those.
std::uint64_t lastDigitsWord(const char* end, std::size_t count) {
    const std::uint64_t word = loadWord(end - 8);
    const std::uint64_t dropped = count == 8 ? 0 : (~std::uint64_t{0} >> (8 * count));
    return (word & ~dropped) | (0x3030303030303030ULL & dropped);
}

// 1-18 digits and nothing else (so the value fits in int64). 8-16 digits, the usual case for
// milliseconds since 1970, take two eight-byte words and no per-digit branch.
bool parseShortDigits(std::string_view text, TimeMs& out) {
    static constexpr std::uint64_t kPowersOf10[9] = {1,      10,      100,      1000,     10000,
                                                     100000, 1000000, 10000000, 100000000};
    const std::size_t size = text.size();
    if constexpr (std::endian::native == std::endian::little) {
        if (size >= 8 && size <= 16) {
            std::uint64_t high = 0;
            std::uint64_t low = 0;
            const std::size_t lowCount = size - 8;
            if (!eightDigits(loadWord(text.data()), high))
                return false;
            if (lowCount > 0 && !eightDigits(lastDigitsWord(text.data() + size, lowCount), low))
                return false;
            out = static_cast<TimeMs>(high * kPowersOf10[lowCount] + low);
            return true;
        }
    }
    std::uint64_t value = 0;
    for (const char c : text) {
        if (!isDigit(c))
            return false;
        value = value * 10 + static_cast<std::uint64_t>(digitValue(c));
    }
    out = static_cast<TimeMs>(value);
    return true;
}

// --- numbers -----------------------------------------------------------------------------------

struct Fraction {
    int firstThreeDigits = 0; // the digits as milliseconds of a second, e.g. ".12" -> 120
    bool hasMore = false;     // a non-zero digit beyond the third
};

// Signed magnitude in milliseconds plus "there was a sub-millisecond remainder", then floors.
bool finishMilliseconds(bool negative, std::uint64_t magnitude, bool subMillisecondRest,
                        TimeMs& out, const char*& reason) {
    if (!negative) {
        if (magnitude > kInt64MaxMagnitude) {
            reason = kOverflow;
            return false;
        }
        out = static_cast<TimeMs>(magnitude);
        return true;
    }
    // Negative: the magnitude may be one larger than INT64_MAX, and flooring a remainder adds one.
    const std::uint64_t limit = kInt64MaxMagnitude + 1;
    const std::uint64_t floored = magnitude + (subMillisecondRest ? 1 : 0);
    if (magnitude > limit || floored > limit) {
        reason = kOverflow;
        return false;
    }
    out = floored == limit ? std::numeric_limits<TimeMs>::min() : -static_cast<TimeMs>(floored);
    return true;
}

bool parseNumber(std::string_view text, TimeUnit unit, TimeMs& out, const char*& reason) {
    std::size_t pos = 0;
    const bool negative = text[0] == '-';
    if (negative)
        ++pos;
    if (pos == text.size() || !isDigit(text[pos])) {
        reason = kNotATimestamp;
        return false;
    }
    std::uint64_t whole = 0;
    bool overflow = false;
    for (; pos < text.size() && isDigit(text[pos]); ++pos) {
        const auto digit = static_cast<std::uint64_t>(digitValue(text[pos]));
        if (whole > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
            overflow = true; // keep scanning: a malformed tail still reads as "not a number"
        else
            whole = whole * 10 + digit;
    }

    Fraction fraction;
    bool hasFraction = false;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        if (pos == text.size()) {
            reason = kNotATimestamp;
            return false;
        }
        hasFraction = true;
        int digitsSeen = 0;
        for (; pos < text.size() && isDigit(text[pos]); ++pos, ++digitsSeen) {
            if (digitsSeen < 3)
                fraction.firstThreeDigits = fraction.firstThreeDigits * 10 + digitValue(text[pos]);
            else if (text[pos] != '0')
                fraction.hasMore = true;
        }
        for (; digitsSeen < 3; ++digitsSeen)
            fraction.firstThreeDigits *= 10;
    }
    if (pos != text.size()) {
        reason = kNotATimestamp;
        return false;
    }
    if (overflow) {
        reason = kOverflow;
        return false;
    }

    switch (unit) {
    case TimeUnit::Milliseconds:
        // Fraction of a millisecond: only whether it is non-zero matters (for the floor).
        return finishMilliseconds(
            negative, whole, hasFraction && (fraction.firstThreeDigits != 0 || fraction.hasMore),
            out, reason);
    case TimeUnit::Seconds: {
        if (whole > (std::numeric_limits<std::uint64_t>::max() - 999) / 1000) {
            reason = kOverflow;
            return false;
        }
        const std::uint64_t ms =
            whole * 1000 + static_cast<std::uint64_t>(fraction.firstThreeDigits);
        return finishMilliseconds(negative, ms, fraction.hasMore, out, reason);
    }
    case TimeUnit::Microseconds:
    case TimeUnit::Nanoseconds: {
        if (hasFraction) {
            reason = "timestamp has a fraction, which only units s and ms allow";
            return false;
        }
        const std::uint64_t perMs = unit == TimeUnit::Microseconds ? 1000 : 1000000;
        return finishMilliseconds(negative, whole / perMs, whole % perMs != 0, out, reason);
    }
    }
    reason = kNotATimestamp;
    return false;
}

// --- ISO-8601 ----------------------------------------------------------------------------------

struct IsoFields {
    int year = 0, month = 0, day = 0;
    int hour = 0, minute = 0, second = 0, millisecond = 0;
    int offsetMinutes = 0; // local time minus UTC
    bool offsetOutOfRange = false;
};

// Parses the zone suffix at `pos`: nothing, Z, +hh, +hhmm, +hh:mm (or '-').
bool parseZone(std::string_view text, std::size_t pos, IsoFields& fields) {
    if (pos == text.size())
        return true;
    if ((text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size())
        return true;
    if (text[pos] != '+' && text[pos] != '-')
        return false;
    const int sign = text[pos] == '-' ? -1 : 1;
    int hours = 0;
    int minutes = 0;
    if (!readFixedDigits(text, pos + 1, 2, hours))
        return false;
    std::size_t next = pos + 3;
    if (next < text.size()) {
        if (text[next] == ':')
            ++next;
        if (!readFixedDigits(text, next, 2, minutes) || next + 2 != text.size())
            return false;
    }
    fields.offsetOutOfRange = hours > 23 || minutes > 59;
    fields.offsetMinutes = sign * (hours * 60 + minutes);
    return true;
}

// Parses "hh:mm[:ss[.fraction]]" at `pos` and returns the position after it via `end`.
bool parseClock(std::string_view text, std::size_t pos, IsoFields& fields, std::size_t& end) {
    if (!readFixedDigits(text, pos, 2, fields.hour) || pos + 2 >= text.size() ||
        text[pos + 2] != ':' || !readFixedDigits(text, pos + 3, 2, fields.minute))
        return false;
    pos += 5;
    if (pos < text.size() && text[pos] == ':') {
        if (!readFixedDigits(text, pos + 1, 2, fields.second))
            return false;
        pos += 3;
        if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
            ++pos;
            int digits = 0;
            for (; pos < text.size() && isDigit(text[pos]); ++pos, ++digits) {
                if (digits < 3)
                    fields.millisecond = fields.millisecond * 10 + digitValue(text[pos]);
            }
            if (digits == 0)
                return false;
            for (; digits < 3; ++digits)
                fields.millisecond *= 10;
        }
    }
    end = pos;
    return true;
}

bool parseIsoFields(std::string_view text, IsoFields& fields) {
    if (!readFixedDigits(text, 0, 4, fields.year) || text[4] != '-' ||
        !readFixedDigits(text, 5, 2, fields.month) || text[7] != '-' ||
        !readFixedDigits(text, 8, 2, fields.day))
        return false;
    std::size_t pos = 10;
    if (pos == text.size())
        return true;
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')
        return false;
    if (!parseClock(text, pos + 1, fields, pos))
        return false;
    return parseZone(text, pos, fields);
}

const char* validateIsoFields(const IsoFields& fields) {
    if (fields.month < 1 || fields.month > 12)
        return "timestamp month is not 1-12";
    if (fields.day < 1 || fields.day > daysInMonth(fields.year, fields.month))
        return "timestamp day does not exist in that month";
    if (fields.hour > 23)
        return "timestamp hour is not 0-23";
    if (fields.minute > 59)
        return "timestamp minute is not 0-59";
    if (fields.second > 60)
        return "timestamp second is not 0-60";
    if (fields.offsetOutOfRange)
        return "timestamp zone offset is not a valid hh:mm";
    return nullptr;
}

bool parseIso(std::string_view text, TimeMs& out, const char*& reason) {
    IsoFields fields;
    if (!parseIsoFields(text, fields)) {
        reason = kNotATimestamp;
        return false;
    }
    if (const char* invalid = validateIsoFields(fields)) {
        reason = invalid;
        return false;
    }
    // Years 0000-9999 keep every term far from int64 limits; a leap second (60) rolls over.
    const std::int64_t days = daysFromCivil({fields.year, fields.month, fields.day});
    const std::int64_t localMs = days * kMsPerDay + fields.hour * kMsPerHour +
                                 fields.minute * kMsPerMinute + fields.second * kMsPerSecond +
                                 fields.millisecond;
    out = localMs - fields.offsetMinutes * kMsPerMinute;
    return true;
}

bool looksLikeIsoDate(std::string_view text) {
    return text.size() >= 10 && text[4] == '-' && isDigit(text[0]);
}

// --- formatting --------------------------------------------------------------------------------

void appendPadded(std::string& out, std::uint64_t value, int width) {
    char digits[24];
    int count = 0;
    do {
        digits[count++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0);
    for (int pad = count; pad < width; ++pad)
        out += '0';
    while (count > 0)
        out += digits[--count];
}

} // namespace

std::optional<TimeUnit> parseTimeUnit(std::string_view text) {
    if (text == "s")
        return TimeUnit::Seconds;
    if (text == "ms")
        return TimeUnit::Milliseconds;
    if (text == "us")
        return TimeUnit::Microseconds;
    if (text == "ns")
        return TimeUnit::Nanoseconds;
    return std::nullopt;
}

std::string_view timeUnitName(TimeUnit unit) {
    switch (unit) {
    case TimeUnit::Seconds:
        return "s";
    case TimeUnit::Milliseconds:
        return "ms";
    case TimeUnit::Microseconds:
        return "us";
    case TimeUnit::Nanoseconds:
        return "ns";
    }
    return "ms";
}

bool parseTimestamp(std::string_view text, TimeUnit numericUnit, TimeMs& out, const char*& reason) {
    if (text.empty()) {
        reason = "timestamp is empty";
        return false;
    }
    // The common case of a trace: up to 18 plain digits of milliseconds, no overflow possible.
    if (numericUnit == TimeUnit::Milliseconds && text.size() <= 18 && parseShortDigits(text, out))
        return true;
    if (looksLikeIsoDate(text))
        return parseIso(text, out, reason);
    return parseNumber(text, numericUnit, out, reason);
}

std::int64_t daysFromCivil(const CivilDate& date) {
    // Count from 0000-03-01 so that the leap day is the last day of the counted year; 400-year
    // eras of 146097 days make the rest plain division.
    const std::int64_t year = date.month <= 2 ? date.year - 1 : date.year;
    const std::int64_t era = floorDiv(year, 400);
    const std::int64_t yearOfEra = year - era * 400;                              // 0-399
    const int monthFromMarch = date.month > 2 ? date.month - 3 : date.month + 9;  // 0-11
    const std::int64_t dayOfYear = (153 * monthFromMarch + 2) / 5 + date.day - 1; // 0-365
    const std::int64_t dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
    constexpr std::int64_t kDaysFrom0000_03_01To1970_01_01 = 719468;
    return era * 146097 + dayOfEra - kDaysFrom0000_03_01To1970_01_01;
}

CivilDate civilFromDays(std::int64_t days) {
    constexpr std::int64_t kDaysFrom0000_03_01To1970_01_01 = 719468;
    const std::int64_t shifted = days + kDaysFrom0000_03_01To1970_01_01;
    const std::int64_t era = floorDiv(shifted, 146097);
    const std::int64_t dayOfEra = shifted - era * 146097; // 0-146096
    // Years of the era: remove the leap days (one per 4 years, none per 100, one per 400).
    const std::int64_t yearOfEra =
        (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365; // 0-399
    const std::int64_t dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
    const std::int64_t monthFromMarch = (5 * dayOfYear + 2) / 153; // 0-11
    CivilDate date;
    date.day = static_cast<int>(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1);
    date.month = static_cast<int>(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9);
    date.year = yearOfEra + era * 400 + (date.month <= 2 ? 1 : 0);
    return date;
}

std::string formatIso8601(TimeMs time) {
    // Split into whole days and the time of day without overflowing at INT64_MIN.
    std::int64_t days = time / kMsPerDay;
    std::int64_t msOfDay = time % kMsPerDay;
    if (msOfDay < 0) {
        msOfDay += kMsPerDay;
        --days;
    }
    const CivilDate date = civilFromDays(days);

    std::string text;
    text.reserve(32);
    if (date.year < 0) {
        text += '-';
        appendPadded(text, static_cast<std::uint64_t>(-date.year), 4);
    } else {
        if (date.year > 9999)
            text += '+';
        appendPadded(text, static_cast<std::uint64_t>(date.year), 4);
    }
    text += '-';
    appendPadded(text, static_cast<std::uint64_t>(date.month), 2);
    text += '-';
    appendPadded(text, static_cast<std::uint64_t>(date.day), 2);
    text += 'T';
    appendPadded(text, static_cast<std::uint64_t>(msOfDay / kMsPerHour), 2);
    text += ':';
    appendPadded(text, static_cast<std::uint64_t>(msOfDay / kMsPerMinute % 60), 2);
    text += ':';
    appendPadded(text, static_cast<std::uint64_t>(msOfDay / kMsPerSecond % 60), 2);
    text += '.';
    appendPadded(text, static_cast<std::uint64_t>(msOfDay % kMsPerSecond), 3);
    text += 'Z';
    return text;
}

} // namespace rangepilot
