#include "trace_reader.h"

#include "concurrency.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <system_error>
#include <thread>

// Memory-mapped reading where the platform has it; elsewhere every read goes through fread().
#if __has_include(<sys/mman.h>) && __has_include(<sys/stat.h>) && __has_include(<unistd.h>)
#define RANGEPILOT_HAS_MMAP 1
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#else
#define RANGEPILOT_HAS_MMAP 0
#endif

namespace rangepilot {

namespace {

// --- columns -----------------------------------------------------------------------------------

enum Role : int { kTs, kKey, kOp, kEndKey, kBytes, kLatencyUs, kClient, kRoleCount };

constexpr std::array<std::string_view, kRoleCount> kRoleNames = {
    "ts", "key", "op", "end_key", "bytes", "latency_us", "client"};

constexpr std::array<int ColumnMapping::*, kRoleCount> kRoleMembers = {
    &ColumnMapping::ts,      &ColumnMapping::key,   &ColumnMapping::op,
    &ColumnMapping::end_key, &ColumnMapping::bytes, &ColumnMapping::latency_us,
    &ColumnMapping::client};

// Generous for any real log, small enough that the per-field role table stays tiny.
constexpr int kMaxColumnPosition = 10000;

constexpr ColumnMapping kCanonicalColumns{0, 1, 2, 3, 4, 5, 6};

constexpr std::size_t kBlockBytes = 1u << 20;
constexpr std::uint64_t kProgressEveryBytes = 4u << 20;
// Most lines fit in one such read; a sample then costs one seek and one small read.
constexpr std::size_t kSampleChunkBytes = 1024;

int columnOf(const ColumnMapping& mapping, int role) {
    return mapping.*kRoleMembers[role];
}

void setColumn(ColumnMapping& mapping, int role, int column) {
    mapping.*kRoleMembers[role] = column;
}

char toLower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equalsIgnoringCase(std::string_view text, std::string_view lowercase) {
    if (text.size() != lowercase.size())
        return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (toLower(text[i]) != lowercase[i])
            return false;
    }
    return true;
}

int roleNamed(std::string_view name) {
    for (int role = 0; role < kRoleCount; ++role) {
        if (equalsIgnoringCase(name, kRoleNames[role]))
            return role;
    }
    return -1;
}

inline bool isSpace(char c) {
    return c == ' ' || c == '\t';
}

inline std::string_view trimSpaces(std::string_view text) {
    if (text.empty() || (!isSpace(text.front()) && !isSpace(text.back())))
        return text;
    while (!text.empty() && isSpace(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && isSpace(text.back()))
        text.remove_suffix(1);
    return text;
}

bool hasLetter(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); });
}

// Text from the input, quoted inside a message: printable ASCII only, cut after `limit` bytes.
std::string printable(std::string_view text, std::size_t limit = 40) {
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        out += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
    }
    if (text.size() > limit)
        out += "...";
    return out;
}

std::string describeSize(std::size_t bytes) {
    if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
        return std::to_string(bytes >> 20) + " MiB";
    if (bytes >= (1u << 10) && bytes % (1u << 10) == 0)
        return std::to_string(bytes >> 10) + " KiB";
    return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}

// nullptr when `mapping` is usable: ts and key present, positions in range and distinct.
const char* mappingProblem(const ColumnMapping& mapping) {
    if (mapping.ts < 0 || mapping.key < 0)
        return "column mapping needs ts and key";
    for (int role = 0; role < kRoleCount; ++role) {
        const int column = columnOf(mapping, role);
        if (column < -1 || column >= kMaxColumnPosition)
            return "column mapping has a position out of range";
        for (int other = role + 1; other < kRoleCount; ++other) {
            if (column >= 0 && column == columnOf(mapping, other))
                return "column mapping uses a position twice";
        }
    }
    return nullptr;
}

// --- eight bytes at a time --------------------------------------------------------------------

// SWAR ("SIMD within a register") helpers in portable C++: a 64-bit word holds eight bytes of a
// line, and bit 7 of a result byte says whether that byte matched. Used on little-endian only,
// where the first byte in memory is the lowest in the word.
namespace swar {

constexpr std::uint64_t kLow7 = 0x7f7f7f7f7f7f7f7fULL;

inline std::uint64_t broadcast(char c) {
    return 0x0101010101010101ULL * static_cast<unsigned char>(c);
}

inline std::uint64_t load(const char* bytes) {
    std::uint64_t word;
    std::memcpy(&word, bytes, sizeof word);
    return word;
}

// 0x80 in every byte of `word` equal to the byte in `pattern`, 0 elsewhere (exact, no carries
// between bytes).
inline std::uint64_t matches(std::uint64_t word, std::uint64_t pattern) {
    const std::uint64_t zeroWhereEqual = word ^ pattern;
    const std::uint64_t low = (zeroWhereEqual & kLow7) + kLow7;
    return ~(low | zeroWhereEqual | kLow7);
}

inline std::size_t firstMatch(std::uint64_t matchBits) {
    return static_cast<std::size_t>(std::countr_zero(matchBits)) / 8;
}

constexpr std::uint64_t kZeros = 0x3030303030303030ULL; // eight '0' characters

// True when all eight bytes are ASCII digits: the high nibble is 3 and adding 6 does not carry
// out of the low nibble (':' and above would).
inline bool allDigits(std::uint64_t word) {
    constexpr std::uint64_t kHigh = 0xf0f0f0f0f0f0f0f0ULL;
    return (word & kHigh) == kZeros && ((word + 0x0606060606060606ULL) & kHigh) == kZeros;
}

// The value of eight ASCII digits, the first in memory the most significant: pairs, then
// quadruples, then the whole, each step one multiply-add.
inline std::uint64_t eightDigitsValue(std::uint64_t word) {
    std::uint64_t value = word - kZeros;
    value = (value * 10 + (value >> 8)) & 0x00ff00ff00ff00ffULL;
    value = (value * 100 + (value >> 16)) & 0x0000ffff0000ffffULL;
    return (value * 10000 + (value >> 32)) & 0xffffffffULL;
}

// The value of `text` when it is 8 to 16 ASCII digits; false otherwise.
[[gnu::always_inline]] inline bool parseDigits8To16(std::string_view text, std::uint64_t& out) {
    static constexpr std::uint64_t kPowersOf10[9] = {1,      10,      100,      1000,     10000,
                                                     100000, 1000000, 10000000, 100000000};
    const std::size_t size = text.size();
    if (size < 8 || size > 16)
        return false;
    const std::uint64_t high = load(text.data());
    // The last size - 8 digits: the word that ends the text, its earlier bytes turned into '0's.
    const std::size_t lowCount = size - 8;
    std::uint64_t low = kZeros;
    if (lowCount == 8) {
        low = load(text.data() + 8);
    } else if (lowCount > 0) {
        const std::size_t seenBits = 8 * (8 - lowCount); // bytes that belong to `high`
        low = ((load(text.data() + size - 8) >> seenBits) << seenBits) | (kZeros >> (8 * lowCount));
    }
    if (!allDigits(high) || !allDigits(low))
        return false;
    out = eightDigitsValue(high) * kPowersOf10[lowCount] + eightDigitsValue(low);
    return true;
}

} // namespace swar

// --- fields ------------------------------------------------------------------------------------

// Reads the field at `p` up to the delimiter or `end` and leaves `p` at that delimiter (or end).
// A field that starts with a double quote runs to the closing quote, may hold the delimiter, and
// "" inside it is one quote; only then is the text copied (into `scratch`). Returns a reason on
// malformed quoting, else nullptr.
inline const char* readField(const char*& p, const char* end, char delimiter, std::string& scratch,
                             std::string_view& field) {
    if (p == end || *p != '"') {
        const char* stop = p;
        while (stop != end && *stop != delimiter)
            ++stop;
        field = std::string_view(p, static_cast<std::size_t>(stop - p));
        p = stop;
        return nullptr;
    }
    const char* text = p + 1;
    auto findQuote = [end](const char* from) {
        return static_cast<const char*>(
            std::memchr(from, '"', static_cast<std::size_t>(end - from)));
    };
    const char* quote = findQuote(text);
    if (quote == nullptr)
        return "unterminated quote";
    if (quote + 1 != end && quote[1] == '"') {
        scratch.assign(text, quote);
        for (;;) {
            scratch += '"';
            text = quote + 2;
            quote = findQuote(text);
            if (quote == nullptr)
                return "unterminated quote";
            scratch.append(text, quote);
            if (quote + 1 == end || quote[1] != '"')
                break;
        }
        field = scratch;
    } else {
        field = std::string_view(text, static_cast<std::size_t>(quote - text));
    }
    p = quote + 1;
    if (p != end && *p != delimiter)
        return "text after a closing quote";
    return nullptr;
}

// Decodes a "0x…" key into `buffer` and repoints `text` at it; other keys stay as they are.
inline bool decodeKeyInPlace(std::string_view& text, std::string& buffer, const char*& reason) {
    if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
        return true;
    if (!decodeKeyText(text, buffer, reason))
        return false;
    text = buffer;
    return true;
}

// The canonical lowercase names, compared without a library call.
[[gnu::always_inline]] inline std::optional<Op> canonicalOp(std::string_view text) {
    const char* c = text.data();
    switch (text.size()) {
    case 3:
        if (c[0] == 'g' && c[1] == 'e' && c[2] == 't')
            return Op::Get;
        if (c[0] == 'p' && c[1] == 'u' && c[2] == 't')
            return Op::Put;
        break;
    case 4:
        if (c[0] == 's' && c[1] == 'c' && c[2] == 'a' && c[3] == 'n')
            return Op::Scan;
        break;
    case 6:
        if (std::memcmp(c, "delete", 6) == 0)
            return Op::Delete;
        break;
    default:
        break;
    }
    return std::nullopt;
}

// canonicalOp() first; parseOp() handles case and aliases.
inline std::optional<Op> parseOpFast(std::string_view text) {
    if (const std::optional<Op> op = canonicalOp(text))
        return op;
    return parseOp(text);
}

enum class NumberStatus { Ok, NotANumber, TooLarge };

inline NumberStatus parseUnsigned(std::string_view text, std::uint64_t& value) {
    if (text.empty())
        return NumberStatus::NotANumber;
    std::uint64_t result = 0;
    // Up to 19 digits always fit in 64 bits: no overflow check in the common case.
    constexpr std::size_t kSafeDigits = 19;
    const std::size_t safe = std::min(text.size(), kSafeDigits);
    for (std::size_t i = 0; i < safe; ++i) {
        const auto digit = static_cast<unsigned>(static_cast<unsigned char>(text[i]) - '0');
        if (digit > 9)
            return NumberStatus::NotANumber;
        result = result * 10 + digit;
    }
    bool tooLarge = false;
    for (std::size_t i = safe; i < text.size(); ++i) {
        const auto digit = static_cast<unsigned>(static_cast<unsigned char>(text[i]) - '0');
        if (digit > 9)
            return NumberStatus::NotANumber;
        if (tooLarge || result > (UINT64_MAX - digit) / 10)
            tooLarge = true;
        else
            result = result * 10 + digit;
    }
    if (tooLarge)
        return NumberStatus::TooLarge;
    value = result;
    return NumberStatus::Ok;
}

// Splits lines into the mapped fields and turns them into TraceEvents. Holds the reused buffers,
// so the views it hands out are valid until the next line. Fields are used as they are; only
// when that fails are spaces around ts, op and numbers trimmed, so the common case pays nothing.
class LineParser {
public:
    LineParser(const ColumnMapping& mapping, char delimiter, TimeUnit unit)
        : m_delimiter(delimiter)
        , m_unit(unit) {
        int lastColumn = -1;
        for (int role = 0; role < kRoleCount; ++role)
            lastColumn = std::max(lastColumn, columnOf(mapping, role));
        m_roleOfField.assign(static_cast<std::size_t>(lastColumn + 1), -1);
        for (int role = 0; role < kRoleCount; ++role) {
            const int column = columnOf(mapping, role);
            m_column[role] = column;
            if (column >= 0)
                m_roleOfField[static_cast<std::size_t>(column)] = static_cast<std::int8_t>(role);
        }
        const bool canonicalOrder = mapping.ts == 0 && mapping.key == 1 && mapping.op == 2 &&
                                    mapping.end_key == 3 && mapping.bytes == 4 &&
                                    mapping.latency_us == 5 &&
                                    (mapping.client == -1 || mapping.client == 6);
        const bool plainDelimiter = !(delimiter >= '0' && delimiter <= '9') &&
                                    !(delimiter >= 'a' && delimiter <= 'z') &&
                                    !(delimiter >= 'A' && delimiter <= 'Z');
        m_ownFormat = std::endian::native == std::endian::little && canonicalOrder &&
                      plainDelimiter && unit == TimeUnit::Milliseconds;
    }

    // Returns an empty view when `event` was filled, else the reason the line is bad.
    std::string_view parse(std::string_view line, TraceEvent& event) {
        if (m_ownFormat && parseOwnFormat(line, event))
            return {};
        if (const char* reason = split(line))
            return reason;
        if (m_fieldCount < m_roleOfField.size())
            return missingField();

        const char* reason = nullptr;
        if (!parsePlainMilliseconds(m_fields[kTs], event.ts_ms) &&
            !parseTimestamp(m_fields[kTs], m_unit, event.ts_ms, reason) &&
            !parseTrimmedTimestamp(m_fields[kTs], event.ts_ms, reason))
            return reason;

        std::string_view key = m_fields[kKey];
        if (!decodeKeyInPlace(key, m_keyBytes, reason))
            return reason;
        if (key.empty())
            return "empty key";
        event.key = key;

        event.op = Op::Get;
        if (has(kOp) && !m_fields[kOp].empty()) {
            std::optional<Op> op = parseOpFast(m_fields[kOp]);
            if (!op) {
                const std::string_view trimmed = trimSpaces(m_fields[kOp]);
                if (!trimmed.empty() && !(op = parseOp(trimmed)))
                    return unknownOp(trimmed);
            }
            if (op)
                event.op = *op;
        }

        event.end_key = {};
        if (event.op == Op::Scan && has(kEndKey) && !m_fields[kEndKey].empty()) {
            std::string_view endKey = m_fields[kEndKey];
            if (!decodeKeyInPlace(endKey, m_endKeyBytes, reason))
                return reason;
            if (!endKey.empty() && endKey <= key)
                return "scan end_key is not greater than key";
            event.end_key = endKey;
        }

        event.bytes = 0;
        if (has(kBytes)) {
            if (const char* bad =
                    parseCount(m_fields[kBytes], event.bytes, "bytes is not a non-negative integer",
                               "bytes is too large"))
                return bad;
        }
        event.latency_us = 0;
        if (has(kLatencyUs)) {
            if (const char* bad = parseCount(m_fields[kLatencyUs], event.latency_us,
                                             "latency_us is not a non-negative integer",
                                             "latency_us is too large"))
                return bad;
        }
        event.client = has(kClient) ? m_fields[kClient] : std::string_view();
        return {};
    }

    // Just the ts field (trimmed), for recognising a header row; nullopt when the line has none.
    std::optional<std::string_view> timestampField(std::string_view line) {
        if (split(line) != nullptr || m_fieldCount <= static_cast<std::size_t>(m_column[kTs]))
            return std::nullopt;
        return trimSpaces(m_fields[kTs]);
    }

private:
    bool has(int role) const { return m_column[role] >= 0; }

    // The fast path for the usual line of our own format (columns in canonical order, ms
    // timestamps): a good line without quotes, hex keys, scans or spaces, read in one pass with
    // no per-field bookkeeping. Returns false, having decided nothing, for anything else; parse()
    // then reads the line the general way, so both paths always agree.
    bool parseOwnFormat(std::string_view line, TraceEvent& event) {
        const std::size_t fields = has(kClient) ? 7 : 6;
        std::array<std::size_t, 7> ends{}; // where each field ends (its delimiter or the line end)
        if (!findFieldEnds(line, fields, ends))
            return false;
        const char* const data = line.data();
        auto field = [&](std::size_t index) {
            const std::size_t begin = index == 0 ? 0 : ends[index - 1] + 1;
            return std::string_view(data + begin, ends[index] - begin);
        };
        // A field that starts with a quote is a quoted one (which may hold delimiters): those
        // lines are for the general path. The checks below reject a quote in every other field.
        auto startsWithQuote = [&](std::size_t index) {
            const std::string_view text = field(index);
            return !text.empty() && text[0] == '"';
        };
        if (startsWithQuote(3) || (fields == 7 && startsWithQuote(6)))
            return false;
        const std::string_view key = field(1);
        // Empty keys are bad lines and "0x…" keys need decoding: both for the general path.
        if (key.empty() || key[0] == '0' || key[0] == '"')
            return false;
        const std::optional<Op> op = canonicalOp(field(2));
        if (!op || *op == Op::Scan)
            return false;
        std::uint64_t bytes = 0;
        std::uint64_t latency = 0;
        if (!parseShortCount(line, ends[3] + 1, ends[4], bytes) ||
            !parseShortCount(line, ends[4] + 1, ends[5], latency))
            return false;
        if (!parsePlainMilliseconds(field(0), event.ts_ms))
            return false;
        event.key = key;
        event.op = *op;
        event.end_key = {};
        event.bytes = bytes;
        event.latency_us = latency;
        event.client = fields == 7 ? field(6) : std::string_view();
        return true;
    }

    // The ends of the first `fields` fields (quotes not considered), found eight bytes at a
    // time; false when the line has fewer fields.
    bool findFieldEnds(std::string_view line, std::size_t fields,
                       std::array<std::size_t, 7>& ends) {
        const char* const data = line.data();
        const std::size_t size = line.size();
        const std::uint64_t delimiters = swar::broadcast(m_delimiter);
        std::size_t count = 0;
        std::size_t i = 0;
        for (; i + 8 <= size; i += 8) {
            const std::uint64_t word = swar::load(data + i);
            for (std::uint64_t found = swar::matches(word, delimiters); found != 0;
                 found &= found - 1) {
                ends[count] = i + swar::firstMatch(found);
                if (++count == fields)
                    return true;
            }
        }
        for (; i < size; ++i) {
            if (data[i] == m_delimiter) {
                ends[count] = i;
                if (++count == fields)
                    return true;
            }
        }
        if (count + 1 != fields)
            return false;
        ends[count] = size; // the last field runs to the end of the line
        return true;
    }

    // An optional count in line[begin, end) with begin >= 8: empty (0) or up to 8 plain digits,
    // read as the word that ends the field; false for anything else.
    static bool parseShortCount(std::string_view line, std::size_t begin, std::size_t end,
                                std::uint64_t& value) {
        const std::size_t digits = end - begin;
        if (digits == 0) {
            value = 0;
            return true;
        }
        if (digits > 8 || end < 8)
            return false;
        std::uint64_t word = swar::load(line.data() + end - 8);
        if (digits < 8) {
            const std::size_t otherBits = 8 * (8 - digits); // bytes before the field
            word = ((word >> otherBits) << otherBits) | (swar::kZeros >> (8 * digits));
        }
        if (!swar::allDigits(word))
            return false;
        value = swar::eightDigitsValue(word);
        return true;
    }

    // The common timestamp, inline: 8 to 16 digits of milliseconds (parseTimestamp() reads them
    // the same way, only behind a call and a few more checks).
    bool parsePlainMilliseconds(std::string_view text, TimeMs& out) const {
        if constexpr (std::endian::native == std::endian::little) {
            std::uint64_t value = 0;
            if (m_unit == TimeUnit::Milliseconds && swar::parseDigits8To16(text, value)) {
                out = static_cast<TimeMs>(value);
                return true;
            }
        }
        return false;
    }

    bool parseTrimmedTimestamp(std::string_view text, TimeMs& out, const char*& reason) const {
        const std::string_view trimmed = trimSpaces(text);
        return trimmed.size() != text.size() && parseTimestamp(trimmed, m_unit, out, reason);
    }

    // Fills m_fields for the mapped roles and m_fieldCount, stopping after the last mapped field
    // (so m_fieldCount == m_roleOfField.size() means every mapped field is there).
    const char* split(std::string_view line) {
        if constexpr (std::endian::native == std::endian::little) {
            if (splitUnquoted(line))
                return nullptr;
        }
        return splitQuoted(line);
    }

    void takeField(std::size_t index, std::string_view field) {
        const int role = m_roleOfField[index];
        if (role >= 0)
            m_fields[role] = field;
    }

    // The fast path for lines whose fields do not start with a quote (a quote inside an unquoted
    // field is an ordinary character): finds the delimiters eight bytes at a time. Returns false,
    // and the caller falls back to splitQuoted, when a field it needs starts with a quote.
    bool splitUnquoted(std::string_view line) {
        const std::size_t needed = m_roleOfField.size();
        const char* const data = line.data();
        const std::size_t size = line.size();
        const std::uint64_t delimiters = swar::broadcast(m_delimiter);
        if (size != 0 && data[0] == '"')
            return false;
        std::size_t index = 0;
        std::size_t fieldStart = 0;
        // Ends the field at `at`; true when that was the last field needed.
        auto endField = [&](std::size_t at) {
            takeField(index, std::string_view(data + fieldStart, at - fieldStart));
            fieldStart = at + 1;
            return ++index == needed;
        };
        std::size_t i = 0;
        for (; i + 8 <= size; i += 8) {
            for (std::uint64_t found = swar::matches(swar::load(data + i), delimiters); found != 0;
                 found &= found - 1) {
                if (endField(i + swar::firstMatch(found))) {
                    m_fieldCount = index;
                    return true;
                }
                if (fieldStart < size && data[fieldStart] == '"')
                    return false;
            }
        }
        if (i < size && size >= 8) {
            // The last 1-7 bytes: the word that ends the line, with its already seen bytes masked.
            const std::size_t base = size - 8;
            const std::uint64_t unseen = ~std::uint64_t{0} << (8 * (i - base));
            for (std::uint64_t found = swar::matches(swar::load(data + base), delimiters) & unseen;
                 found != 0; found &= found - 1) {
                if (endField(base + swar::firstMatch(found))) {
                    m_fieldCount = index;
                    return true;
                }
                if (fieldStart < size && data[fieldStart] == '"')
                    return false;
            }
        } else {
            for (; i < size; ++i) {
                if (data[i] != m_delimiter)
                    continue;
                if (endField(i)) {
                    m_fieldCount = index;
                    return true;
                }
                if (fieldStart < size && data[fieldStart] == '"')
                    return false;
            }
        }
        takeField(index, std::string_view(data + fieldStart, size - fieldStart));
        m_fieldCount = index + 1; // the line ended at or before the last mapped field
        return true;
    }

    // The general path: any field may be quoted.
    const char* splitQuoted(std::string_view line) {
        const std::size_t needed = m_roleOfField.size();
        const char* p = line.data();
        const char* const end = p + line.size();
        std::size_t index = 0;
        for (;;) {
            const int role = index < needed ? m_roleOfField[index] : -1;
            std::string_view field;
            std::string& scratch = role >= 0 ? m_unescaped[role] : m_unescapedIgnored;
            if (const char* reason = readField(p, end, m_delimiter, scratch, field))
                return reason;
            if (role >= 0)
                m_fields[role] = field;
            ++index;
            if (p == end || index >= needed)
                break;
            ++p; // over the delimiter
        }
        m_fieldCount = index;
        return nullptr;
    }

    static const char* parseCount(std::string_view text, std::uint64_t& value,
                                  const char* notANumber, const char* tooLarge) {
        if (text.empty())
            return nullptr; // an empty optional field means "not recorded"
        NumberStatus status = parseUnsigned(text, value);
        if (status == NumberStatus::NotANumber) {
            const std::string_view trimmed = trimSpaces(text);
            if (trimmed.empty())
                return nullptr;
            if (trimmed.size() != text.size())
                status = parseUnsigned(trimmed, value);
        }
        switch (status) {
        case NumberStatus::Ok:
            return nullptr;
        case NumberStatus::NotANumber:
            return notANumber;
        case NumberStatus::TooLarge:
            return tooLarge;
        }
        return notANumber;
    }

    // Names the first mapped column (ts, key, op, ... in that order) beyond the line's end.
    std::string_view missingField() {
        int missing = kTs;
        for (int role = 0; role < kRoleCount; ++role) {
            if (m_column[role] >= 0 && static_cast<std::size_t>(m_column[role]) >= m_fieldCount) {
                missing = role;
                break;
            }
        }
        m_reason = "missing field '";
        m_reason += kRoleNames[missing];
        m_reason += "' (line has ";
        m_reason += std::to_string(m_fieldCount);
        m_reason += " fields)";
        return m_reason;
    }

    std::string_view unknownOp(std::string_view op) {
        m_reason = "unknown op '";
        m_reason += printable(op);
        m_reason += '\'';
        return m_reason;
    }

    char m_delimiter;
    TimeUnit m_unit;
    std::vector<std::int8_t> m_roleOfField; // field index -> role, -1 for unmapped fields
    std::array<int, kRoleCount> m_column{}; // role -> field index, -1 when not mapped
    std::array<std::string_view, kRoleCount> m_fields{};
    std::array<std::string, kRoleCount> m_unescaped;
    std::string m_unescapedIgnored;
    std::string m_keyBytes;
    std::string m_endKeyBytes;
    std::string m_reason;
    std::size_t m_fieldCount = 0;
    bool m_ownFormat = false; // parseOwnFormat() applies to this layout
};

// --- line 1 ------------------------------------------------------------------------------------

// How the lines of a file map to columns, and whether line 1 is a header to skip.
struct Layout {
    ColumnMapping mapping;
    bool skipFirstLine = false;
};

std::string_view withoutLineEnd(std::string_view line) {
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    return line;
}

std::string_view withoutByteOrderMark(std::string_view line) {
    if (line.size() >= 3 && line.substr(0, 3) == "\xEF\xBB\xBF")
        line.remove_prefix(3);
    return line;
}

bool looksLikeHeaderRow(std::string_view line, const ColumnMapping& mapping,
                        const TraceReadOptions& options) {
    LineParser parser(mapping, options.delimiter, options.time_unit);
    const std::optional<std::string_view> ts = parser.timestampField(line);
    if (!ts || ts->empty() || !hasLetter(*ts))
        return false;
    TimeMs ignored = 0;
    const char* reason = nullptr;
    return !parseTimestamp(*ts, options.time_unit, ignored, reason);
}

Result<ColumnMapping> mappingFromHeader(std::string_view line, const TraceReadOptions& options,
                                        const std::string& file) {
    const std::string where = file + ":1: ";
    ColumnMapping mapping;
    std::string scratch;
    const char* p = line.data();
    const char* const end = p + line.size();
    for (int index = 0;; ++index) {
        std::string_view name;
        if (const char* reason = readField(p, end, options.delimiter, scratch, name))
            return Error{where + reason + " in the header"};
        const int role = roleNamed(trimSpaces(name));
        if (role >= 0 && index < kMaxColumnPosition) {
            if (columnOf(mapping, role) >= 0)
                return Error{where + "column '" + std::string(kRoleNames[role]) +
                             "' appears twice in the header"};
            setColumn(mapping, role, index);
        }
        if (p == end)
            break;
        ++p;
    }
    for (const int role : {kTs, kKey}) {
        if (columnOf(mapping, role) >= 0)
            continue;
        std::string message =
            where + "missing column '" + std::string(kRoleNames[role]) + "' in the header";
        TimeMs ignored = 0;
        const char* reason = nullptr;
        const char* q = line.data();
        std::string_view field;
        if (readField(q, end, options.delimiter, scratch, field) == nullptr &&
            parseTimestamp(trimSpaces(field), options.time_unit, ignored, reason))
            message += " (line 1 looks like data: does the file have no header?)";
        return Error{message};
    }
    return mapping;
}

Result<Layout> layoutFromFirstLine(std::string_view line, const TraceReadOptions& options,
                                   const std::string& file) {
    if (options.columns)
        return Layout{*options.columns,
                      options.header || looksLikeHeaderRow(line, *options.columns, options)};
    if (!options.header)
        return Layout{kCanonicalColumns, looksLikeHeaderRow(line, kCanonicalColumns, options)};
    Result<ColumnMapping> mapping = mappingFromHeader(line, options, file);
    if (!mapping)
        return mapping.error();
    return Layout{mapping.value(), true};
}

// --- the read loop -----------------------------------------------------------------------------

std::string tooLongReason(std::size_t maxLineBytes) {
    return "line longer than " + describeSize(maxLineBytes);
}

// A regular file mapped read-only into memory, so lines are parsed where the page cache holds
// them instead of being copied into a buffer first. Empty when mapping is not possible (an empty
// file, no mmap on the platform, or mmap failed): the caller then reads with fread().
class MappedFile {
public:
    explicit MappedFile(std::FILE* file) {
#if RANGEPILOT_HAS_MMAP
        const int fd = fileno(file);
        struct stat status {};
        if (fd < 0 || fstat(fd, &status) != 0 || !S_ISREG(status.st_mode) || status.st_size <= 0)
            return;
        const auto size = static_cast<std::size_t>(status.st_size);
        void* data = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED)
            return;
        madvise(data, size, MADV_SEQUENTIAL); // only a hint: read-ahead, early reclaim
        m_data = static_cast<const char*>(data);
        m_size = size;
#else
        (void)file;
#endif
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile() {
#if RANGEPILOT_HAS_MMAP
        if (m_data != nullptr)
            munmap(const_cast<char*>(m_data), m_size);
#endif
    }

    bool mapped() const {
        return m_data != nullptr;
    }
    const char* data() const {
        return m_data;
    }
    std::size_t size() const {
        return m_size;
    }

private:
    const char* m_data = nullptr;
    std::size_t m_size = 0;
};

// Where a range read starts and stops, and what line 1 already decided.
struct RangeLimits {
    const ColumnMapping* mapping = nullptr;
    std::uint64_t start = 0;        // the file is positioned here
    bool skipPartialLine = false;   // start is inside a line (or at its newline): skip through it
    std::uint64_t end = UINT64_MAX; // lines that start here or later are not read
    std::atomic<std::uint64_t>* bytesRead = nullptr; // shared by the ranges of one read
};

class ReadSession {
public:
    // Reads the whole input from its start; line 1 decides the layout. With a mapped file (of
    // the same file), bytes come from the mapping instead of `file`.
    ReadSession(std::FILE* file, const std::string& name, const TraceReadOptions& options,
                std::uint64_t totalBytes, EventCallback onEvent, BadLineCallback onBadLine,
                ProgressCallback onProgress, const MappedFile* mapped = nullptr)
        : m_file(file)
        , m_mapped(mapped != nullptr && mapped->mapped() ? mapped : nullptr)
        , m_name(name)
        , m_options(options)
        , m_totalBytes(totalBytes)
        , m_onEvent(onEvent)
        , m_onBadLine(onBadLine)
        , m_onProgress(onProgress)
        , m_tooLongReason(tooLongReason(options.max_line_bytes)) {}

    // Reads the lines that start in [limits.start, limits.end) of `file`, positioned at
    // limits.start, with a known layout; line numbers count from the range's first line.
    ReadSession(std::FILE* file, const std::string& name, const TraceReadOptions& options,
                std::uint64_t totalBytes, const RangeLimits& limits, EventCallback onEvent,
                BadLineCallback onBadLine, ProgressCallback onProgress,
                const MappedFile* mapped = nullptr)
        : ReadSession(file, name, options, totalBytes, onEvent, onBadLine, onProgress, mapped) {
        m_parser.emplace(*limits.mapping, options.delimiter, options.time_unit);
        m_rangeMode = true;
        m_offset = limits.start;
        m_rangeEnd = limits.end;
        m_sharedBytesRead = limits.bytesRead;
        m_skippingLongLine = limits.skipPartialLine;
        m_firstLineIsFileStart = limits.start == 0 && !limits.skipPartialLine;
        if (!limits.skipPartialLine)
            m_firstLineOffset = limits.start;
    }

    // Reads blocks into one buffer; complete lines are parsed in place, and the partial line at
    // the end of a block moves to the front before the next read. A line longer than the limit
    // is reported once and its remaining bytes are dropped up to its newline, so memory stays
    // bounded by the limit plus one block. A mapped file goes through the same steps, but a
    // "read" only widens the window onto the mapping and nothing is copied or moved.
    Result<TraceReadSummary> run() {
        if (m_mapped == nullptr)
            m_buffer.resize(kBlockBytes);
        m_data = windowStart();
        for (;;) {
            if (processCompleteLines() == Flow::Stop)
                return finish();
            if (m_endOfInput)
                break;
            if (keepPartialLine() == Flow::Stop)
                return finish();
            if (!readBlock())
                return Error{m_name + ": read error: " + std::strerror(errno)};
        }
        // A last line without a newline (processCompleteLines() found it to start in range).
        if (m_begin < m_end && !m_skippingLongLine)
            handleLineAt(m_end);
        m_begin = m_end; // all read: the range's bytes run to the end of the file
        return finish();
    }

private:
    enum class Flow { Continue, Stop };

    // True when the line at m_begin starts at or after the range's end (never in a whole read).
    bool pastRangeEnd() const { return m_offset + m_begin >= m_rangeEnd; }

    Flow processCompleteLines() {
        for (;;) {
            if (!m_skippingLongLine && pastRangeEnd())
                return Flow::Stop;
            const std::size_t from = m_begin + m_scanned;
            const void* newline = std::memchr(m_data + from, '\n', m_end - from);
            if (newline == nullptr) {
                m_scanned = m_end - m_begin;
                return Flow::Continue;
            }
            const auto lineEnd =
                static_cast<std::size_t>(static_cast<const char*>(newline) - m_data);
            Flow flow = Flow::Continue;
            if (m_skippingLongLine) {
                m_skippingLongLine = false; // its tail ends here; it was reported already
                if (m_firstLineOffset == kUnknownOffset)
                    m_firstLineOffset = m_offset + lineEnd + 1; // a range's first line
            } else {
                flow = handleLineAt(lineEnd);
            }
            m_begin = lineEnd + 1;
            m_scanned = 0;
            if (flow == Flow::Stop)
                return Flow::Stop;
        }
    }

    // The line from m_begin to `lineEnd` (exclusive, before the newline).
    Flow handleLineAt(std::size_t lineEnd) {
        const std::size_t length = lineEnd - m_begin;
        if (length > m_options.max_line_bytes)
            return handleTooLongLine();
        return handleLine(std::string_view(m_data + m_begin, length));
    }

    // Only a partial line is left: report it now if it is already too long (and drop it), else
    // move it to the front; grow the buffer when little room is left behind it.
    Flow keepPartialLine() {
        if (!m_skippingLongLine && m_end - m_begin > m_options.max_line_bytes) {
            if (pastRangeEnd())
                return Flow::Stop;
            if (handleTooLongLine() == Flow::Stop)
                return Flow::Stop;
            m_skippingLongLine = true;
        }
        if (m_skippingLongLine) {
            m_offset += m_end;
            m_begin = m_end = m_scanned = 0;
        } else {
            if (m_mapped == nullptr)
                std::memmove(m_buffer.data(), m_buffer.data() + m_begin, m_end - m_begin);
            m_offset += m_begin;
            m_end -= m_begin;
            m_begin = 0;
        }
        if (m_mapped == nullptr && m_buffer.size() - m_end < kBlockBytes / 2)
            m_buffer.resize(std::max(m_buffer.size() * 2, m_end + kBlockBytes));
        m_data = windowStart();
        return Flow::Continue;
    }

    // Where byte m_offset of the file is held: the buffer's start, or its place in the mapping.
    const char* windowStart() const {
        return m_mapped == nullptr ? m_buffer.data() : m_mapped->data() + m_offset;
    }

    // Room for the next read behind m_end: the buffer's free space, or a block of the mapping.
    std::size_t roomBehindEnd() const {
        return m_mapped == nullptr ? m_buffer.size() - m_end : kBlockBytes;
    }

    // Up to `wanted` more bytes behind m_end from the file or the mapping; sets m_endOfInput
    // (and errno, with false returned) as fread() would.
    std::size_t fetch(std::size_t wanted) {
        if (m_mapped != nullptr) {
            const std::uint64_t at = m_offset + m_end;
            const std::uint64_t left = at < m_mapped->size() ? m_mapped->size() - at : 0;
            return static_cast<std::size_t>(std::min<std::uint64_t>(wanted, left));
        }
        return std::fread(m_buffer.data() + m_end, 1, wanted, m_file);
    }

    // Fills the buffer behind m_end (a range reads little beyond its end); false on a read error.
    bool readBlock() {
        const std::uint64_t at = m_offset + m_end;
        const std::uint64_t toRangeEnd = at < m_rangeEnd ? m_rangeEnd - at : 0;
        const auto wanted = static_cast<std::size_t>(std::min<std::uint64_t>(
            roomBehindEnd(), std::max<std::uint64_t>(toRangeEnd, kRangeTailBytes)));
        const std::size_t got = fetch(wanted);
        if (got < wanted) {
            if (m_mapped == nullptr && std::ferror(m_file))
                return false;
            m_endOfInput = true;
        }
        m_end += got;
        m_summary.bytes += got;
        if (m_sharedBytesRead != nullptr)
            m_sharedBytesRead->fetch_add(got, std::memory_order_relaxed);
        reportProgress(false);
        return true;
    }

    bool stopRequested() {
        if (m_options.stop == nullptr || !m_options.stop->load(std::memory_order_relaxed))
            return false;
        m_summary.stopped_early = true;
        return true;
    }

    Flow handleLine(std::string_view line) {
        if (stopRequested())
            return Flow::Stop;
        ++m_summary.lines;
        line = withoutLineEnd(line);
        if (m_firstLineIsFileStart) {
            m_firstLineIsFileStart = false;
            line = withoutByteOrderMark(line);
            if (!m_parser) {
                Result<Layout> layout = layoutFromFirstLine(line, m_options, m_name);
                if (!layout) {
                    m_error = layout.error();
                    return Flow::Stop;
                }
                m_parser.emplace(layout->mapping, m_options.delimiter, m_options.time_unit);
                if (layout->skipFirstLine)
                    return Flow::Continue;
            }
        }
        if (line.empty())
            return Flow::Continue;
        const std::string_view reason = m_parser->parse(line, m_event);
        if (!reason.empty())
            return reportBadLine(reason);
        if (m_summary.events == 0) {
            m_summary.min_ts = m_summary.max_ts = m_event.ts_ms;
        } else {
            m_summary.min_ts = std::min(m_summary.min_ts, m_event.ts_ms);
            m_summary.max_ts = std::max(m_summary.max_ts, m_event.ts_ms);
        }
        ++m_summary.events;
        if (m_onEvent)
            m_onEvent(m_event);
        return Flow::Continue;
    }

    Flow handleTooLongLine() {
        if (stopRequested())
            return Flow::Stop;
        ++m_summary.lines;
        m_firstLineIsFileStart = false;
        if (!m_parser) {
            // Without line 1 our own format has no columns; a mapped format does.
            if (!m_options.columns && m_options.header) {
                m_error = Error{m_name + ":1: " + m_tooLongReason + " (the header)"};
                return Flow::Stop;
            }
            m_parser.emplace(m_options.columns ? *m_options.columns : kCanonicalColumns,
                             m_options.delimiter, m_options.time_unit);
            if (m_options.columns && m_options.header)
                return Flow::Continue; // the header, skipped unread
        }
        return reportBadLine(m_tooLongReason);
    }

    Flow reportBadLine(std::string_view reason) {
        const BadLine bad{m_name, m_summary.lines, reason};
        if (m_options.strict) {
            m_error = Error{formatBadLine(bad)};
            return Flow::Stop;
        }
        ++m_summary.bad_lines;
        if (m_onBadLine)
            m_onBadLine(bad);
        return Flow::Continue;
    }

    void reportProgress(bool atEnd) {
        if (!m_onProgress)
            return;
        const std::uint64_t done =
            m_sharedBytesRead == nullptr
                ? m_summary.bytes
                : std::min(m_sharedBytesRead->load(std::memory_order_relaxed), m_totalBytes);
        if (atEnd || done - std::min(done, m_lastProgressBytes) >= kProgressEveryBytes) {
            m_lastProgressBytes = done;
            m_onProgress(done, m_totalBytes);
        }
    }

    Result<TraceReadSummary> finish() {
        if (m_error)
            return *m_error;
        if (m_rangeMode) {
            // The bytes of the lines read: from the first line's start to where the next range's
            // first line starts (or the end of the file).
            const std::uint64_t stop = m_offset + m_begin;
            m_summary.bytes =
                m_firstLineOffset == kUnknownOffset ? 0 : stop - std::min(stop, m_firstLineOffset);
            return m_summary; // a range's progress is reported by its caller at the end
        }
        reportProgress(true);
        return m_summary;
    }

    static constexpr std::uint64_t kUnknownOffset = UINT64_MAX;
    // How far a range reads ahead of its end at most, once its end is near.
    static constexpr std::size_t kRangeTailBytes = 64u << 10;

    std::FILE* m_file;
    const MappedFile* m_mapped; // set: bytes come from the mapping, m_buffer stays empty
    const std::string& m_name;
    const TraceReadOptions& m_options;
    std::uint64_t m_totalBytes;
    EventCallback m_onEvent;
    BadLineCallback m_onBadLine;
    ProgressCallback m_onProgress;
    std::string m_tooLongReason;
    std::optional<LineParser> m_parser; // set once line 1 has fixed the layout
    std::optional<Error> m_error;
    TraceReadSummary m_summary;
    TraceEvent m_event;
    std::uint64_t m_lastProgressBytes = 0;

    bool m_rangeMode = false;
    bool m_firstLineIsFileStart = true; // the next line handled is line 1 (BOM, layout)
    std::uint64_t m_rangeEnd = UINT64_MAX;
    std::uint64_t m_firstLineOffset = kUnknownOffset;
    std::atomic<std::uint64_t>* m_sharedBytesRead = nullptr;

    std::vector<char> m_buffer;
    const char* m_data = nullptr; // the bytes from file offset m_offset on: buffer or mapping
    std::uint64_t m_offset = 0;   // file offset of m_data[0]
    std::size_t m_begin = 0;      // start of the first unprocessed line
    std::size_t m_end = 0;        // end of the data in the buffer
    std::size_t m_scanned = 0;    // bytes after m_begin known to hold no newline
    bool m_skippingLongLine = false;
    bool m_endOfInput = false;
};

// --- sampling ----------------------------------------------------------------------------------

std::uint64_t splitMix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// A growable byte buffer that, unlike std::string or std::vector, does not zero the bytes it
// adds: a sample reads thousands of small chunks, and clearing each first cost as much as reading.
class ChunkBuffer {
public:
    // `count` more bytes at the end, uninitialised, to be filled and then trimmed by shrinkTo().
    char* extend(std::size_t count) {
        if (m_size + count > m_capacity) {
            const std::size_t capacity = std::max(m_size + count, m_capacity * 2);
            auto data = std::make_unique_for_overwrite<char[]>(capacity);
            if (m_size > 0)
                std::memcpy(data.get(), m_data.get(), m_size);
            m_data = std::move(data);
            m_capacity = capacity;
        }
        char* const tail = m_data.get() + m_size;
        m_size += count;
        return tail;
    }
    void shrinkTo(std::size_t size) { m_size = std::min(size, m_size); }
    void clear() { m_size = 0; }
    std::size_t size() const { return m_size; }
    std::string_view view() const { return {m_data.get(), m_size}; }

private:
    std::unique_ptr<char[]> m_data;
    std::size_t m_size = 0;
    std::size_t m_capacity = 0;
};

// Reads the line that starts at `offset` (or, with skipPartial, the first line that starts after
// it) into `buffer` and points `line` at it, without the newline. False at end of file, on a
// read error, or when the line is longer than `maxLine`.
bool readLineAt(std::FILE* file, std::uint64_t offset, bool skipPartial, std::size_t maxLine,
                ChunkBuffer& buffer, std::string_view& line) {
    if (std::fseek(file, static_cast<long>(offset), SEEK_SET) != 0)
        return false;
    buffer.clear();
    const std::size_t npos = std::string_view::npos;
    std::size_t lineStart = skipPartial ? npos : 0;
    std::size_t searchFrom = 0;
    const std::size_t readLimit = maxLine * 2 + 2;
    for (;;) {
        const std::size_t old = buffer.size();
        const std::size_t got =
            std::fread(buffer.extend(kSampleChunkBytes), 1, kSampleChunkBytes, file);
        buffer.shrinkTo(old + got);
        const std::string_view text = buffer.view();
        if (lineStart == npos) {
            const std::size_t newline = text.find('\n', searchFrom);
            lineStart = newline == npos ? npos : newline + 1;
            searchFrom = newline == npos ? text.size() : lineStart;
        }
        if (lineStart != npos) {
            const std::size_t newline = text.find('\n', searchFrom);
            if (newline != npos) {
                line = text.substr(lineStart, newline - lineStart);
                return line.size() <= maxLine;
            }
            searchFrom = text.size();
        }
        if (got < kSampleChunkBytes) {
            if (lineStart == npos || lineStart >= text.size())
                return false;
            line = text.substr(lineStart);
            return line.size() <= maxLine;
        }
        if (text.size() > readLimit)
            return false;
    }
}

// The lines that follow sorted offsets in a file, as readLineAt(skipPartial) reads them. Where
// the offsets are dense, one read of a window of the file serves many of them; where they are
// sparse, each costs its own small read.
class LineSampler {
public:
    LineSampler(std::FILE* file, std::uint64_t fileBytes, std::size_t maxLine, bool dense)
        : m_file(file)
        , m_fileBytes(fileBytes)
        , m_maxLine(maxLine)
        , m_dense(dense) {}

    // The first line that starts after `offset`; offsets must not decrease between calls.
    bool lineAfter(std::uint64_t offset, std::string_view& line) {
        if (m_dense) {
            if (offset < m_windowStart || offset >= m_windowStart + m_window.size())
                fillWindow(offset);
            const std::string_view text = m_window.view();
            const bool reachesEnd = m_windowStart + text.size() == m_fileBytes;
            const std::size_t npos = std::string_view::npos;
            const std::size_t newline =
                offset >= m_windowStart ? text.find('\n', offset - m_windowStart) : npos;
            if (newline != npos) {
                const std::size_t next = text.find('\n', newline + 1);
                if (next != npos || reachesEnd) {
                    if (next == npos && newline + 1 >= text.size())
                        return false; // the file ends with that newline
                    line = text.substr(newline + 1, next == npos ? npos : next - newline - 1);
                    return line.size() <= m_maxLine;
                }
            } else if (reachesEnd && !text.empty()) {
                return false; // no line starts after the offset
            }
            // The line runs past the window (or the window could not be read): on its own.
        }
        return readLineAt(m_file, offset, true, m_maxLine, m_single, line);
    }

private:
    static constexpr std::size_t kWindowBytes = 64u << 10;

    void fillWindow(std::uint64_t offset) {
        m_window.clear();
        m_windowStart = offset;
        if (std::fseek(m_file, static_cast<long>(offset), SEEK_SET) != 0)
            return;
        m_window.shrinkTo(std::fread(m_window.extend(kWindowBytes), 1, kWindowBytes, m_file));
    }

    std::FILE* m_file;
    std::uint64_t m_fileBytes;
    std::size_t m_maxLine;
    bool m_dense;
    ChunkBuffer m_window;
    std::uint64_t m_windowStart = 0;
    ChunkBuffer m_single;
};

enum class FirstLine { Fits, TooLong, Empty, ReadError };

// Line 1 of `file` (positioned at its start) into `line` when it holds at most `maxLine` bytes
// before its newline (read()'s limit); `next` is where line 2 starts (or the end of the file).
FirstLine readFirstLine(std::FILE* file, std::size_t maxLine, std::string& line,
                        std::uint64_t& next) {
    constexpr std::size_t kChunkBytes = 64u << 10;
    const auto chunk = std::make_unique_for_overwrite<char[]>(kChunkBytes);
    line.clear();
    bool tooLong = false;
    std::uint64_t offset = 0;
    for (;;) {
        const std::size_t got = std::fread(chunk.get(), 1, kChunkBytes, file);
        if (got == 0) {
            if (std::ferror(file))
                return FirstLine::ReadError;
            next = offset;
            if (offset == 0)
                return FirstLine::Empty;
            return tooLong ? FirstLine::TooLong : FirstLine::Fits;
        }
        const auto* newline = static_cast<const char*>(std::memchr(chunk.get(), '\n', got));
        const std::size_t taken =
            newline == nullptr ? got : static_cast<std::size_t>(newline - chunk.get());
        if (!tooLong) {
            line.append(chunk.get(), taken);
            if (line.size() > maxLine) {
                tooLong = true;
                line.clear();
            }
        }
        if (newline != nullptr) {
            next = offset + taken + 1;
            return tooLong ? FirstLine::TooLong : FirstLine::Fits;
        }
        offset += got;
    }
}

std::string openError(const std::string& name) {
    return name + ": cannot open: " + std::strerror(errno != 0 ? errno : ENOENT);
}

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};
using OwnedFile = std::unique_ptr<std::FILE, FileCloser>;

// A handle of its own on a regular file, unbuffered: each reader reads into its own buffer (or
// just a small chunk), so stdio's buffer would only add a copy.
Result<OwnedFile> openUnbuffered(const std::string& path, const std::string& name) {
    errno = 0;
    OwnedFile file(std::fopen(path.c_str(), "rb"));
    if (!file)
        return Error{openError(name)};
    std::setvbuf(file.get(), nullptr, _IONBF, 0);
    return file;
}

// The lines that start in `range` of the file at `path` (a regular file of `sizeBytes`).
Result<TraceReadSummary> readRangeOfFile(const std::string& path, const std::string& name,
                                         const TraceReadOptions& options, std::uint64_t sizeBytes,
                                         const TraceLayout& layout, ByteRange range,
                                         EventCallback onEvent, BadLineCallback onBadLine,
                                         std::atomic<std::uint64_t>* bytesRead,
                                         ProgressCallback onProgress) {
    const std::uint64_t begin = std::max(range.begin, layout.data_begin);
    const std::uint64_t end = std::min(range.end, sizeBytes);
    if (begin >= end)
        return TraceReadSummary{};
    Result<OwnedFile> file = openUnbuffered(path, name);
    if (!file)
        return file.error();
    // From the byte before `begin`: if it is a newline, a line starts at `begin`; else the line
    // that holds `begin` belongs to the range before.
    RangeLimits limits;
    limits.mapping = &layout.mapping;
    limits.start = begin == 0 ? 0 : begin - 1;
    limits.skipPartialLine = begin > 0;
    limits.end = end;
    limits.bytesRead = bytesRead;
    const MappedFile mapped(file->get());
    // A file that shrank below the range's start since it was opened is read the usual way.
    const MappedFile* source = mapped.mapped() && mapped.size() >= limits.start ? &mapped : nullptr;
    if (source == nullptr &&
        std::fseek(file->get(), static_cast<long>(limits.start), SEEK_SET) != 0)
        return Error{name + ": cannot seek: " + std::strerror(errno)};
    ReadSession session(file->get(), name, options, sizeBytes, limits, onEvent, onBadLine,
                        onProgress, source);
    return session.run();
}

// [begin, end) cut into `count` ranges of about equal size (their bounds need not be line starts:
// a range reads the lines that start in it).
std::vector<ByteRange> equalRanges(std::uint64_t begin, std::uint64_t end, std::size_t count) {
    const std::uint64_t step = (end - begin) / count;
    std::vector<ByteRange> ranges(count);
    for (std::size_t i = 0; i < count; ++i) {
        ranges[i].begin = begin + step * i;
        ranges[i].end = i + 1 == count ? end : begin + step * (i + 1);
    }
    return ranges;
}

// What one range of a parallel read produced.
struct RangeOutcome {
    // A bad line, kept until the line numbers before the range are known.
    struct PendingBadLine {
        std::uint64_t line = 0; // counted from the range's first line
        std::string reason;
    };

    void keep(const BadLine& bad) {
        if (badLines.size() < TraceReader::kMaxBadLinesPerRange)
            badLines.push_back({bad.line, std::string(bad.reason)});
    }

    std::optional<Result<TraceReadSummary>> summary;
    std::vector<PendingBadLine> badLines; // the first kMaxBadLinesPerRange
};

// The summary of the whole read from those of its ranges (in file order), or the first error.
Result<TraceReadSummary> combineRanges(const std::vector<RangeOutcome>& outcomes,
                                       const TraceLayout& layout) {
    TraceReadSummary total;
    total.lines = layout.header_lines;
    total.bytes = layout.data_begin;
    for (const RangeOutcome& outcome : outcomes) {
        if (!outcome.summary->ok())
            return outcome.summary->error();
        const TraceReadSummary& range = outcome.summary->value();
        if (range.events > 0) {
            total.min_ts = total.events == 0 ? range.min_ts : std::min(total.min_ts, range.min_ts);
            total.max_ts = total.events == 0 ? range.max_ts : std::max(total.max_ts, range.max_ts);
        }
        total.lines += range.lines;
        total.events += range.events;
        total.bad_lines += range.bad_lines;
        total.bytes += range.bytes;
        total.stopped_early = total.stopped_early || range.stopped_early;
    }
    return total;
}

// Hands on the kept bad lines in file order, numbered from line 1 of the file.
void deliverBadLines(const std::vector<RangeOutcome>& outcomes, const TraceLayout& layout,
                     const std::string& name, BadLineCallback onBadLine) {
    std::uint64_t linesBefore = layout.header_lines;
    for (const RangeOutcome& outcome : outcomes) {
        for (const RangeOutcome::PendingBadLine& bad : outcome.badLines)
            onBadLine(BadLine{name, linesBefore + bad.line, bad.reason});
        linesBefore += outcome.summary->value().lines;
    }
}

} // namespace

// --- public API --------------------------------------------------------------------------------

Result<ColumnMapping> parseColumnMapping(std::string_view spec) {
    const std::string prefix = "--columns: ";
    if (trimSpaces(spec).empty())
        return Error{prefix + "empty; expected e.g. ts=1,key=2,op=3"};
    ColumnMapping mapping;
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = spec.find(',', start);
        const std::string_view item = trimSpaces(
            spec.substr(start, comma == std::string_view::npos ? spec.npos : comma - start));
        const std::string quoted = prefix + "'" + std::string(item) + "': ";
        if (item.empty())
            return Error{prefix + "empty item in '" + std::string(spec) + "'"};
        const std::size_t equals = item.find('=');
        if (equals == std::string_view::npos)
            return Error{quoted + "expected name=position"};
        const std::string_view name = trimSpaces(item.substr(0, equals));
        const std::string_view position = trimSpaces(item.substr(equals + 1));
        const int role = roleNamed(name);
        if (role < 0)
            return Error{quoted + "unknown column '" + std::string(name) +
                         "' (known: ts, key, op, end_key, bytes, latency_us, client)"};
        std::uint64_t number = 0;
        if (parseUnsigned(position, number) != NumberStatus::Ok || number < 1 ||
            number > static_cast<std::uint64_t>(kMaxColumnPosition))
            return Error{quoted + "position must be a whole number from 1 to " +
                         std::to_string(kMaxColumnPosition)};
        if (columnOf(mapping, role) >= 0)
            return Error{quoted + "column '" + std::string(kRoleNames[role]) + "' is given twice"};
        const int column = static_cast<int>(number) - 1;
        for (int other = 0; other < kRoleCount; ++other) {
            if (columnOf(mapping, other) == column)
                return Error{quoted + "position " + std::to_string(number) +
                             " is already given to '" + std::string(kRoleNames[other]) + "'"};
        }
        setColumn(mapping, role, column);
        if (comma == std::string_view::npos)
            break;
        start = comma + 1;
    }
    for (const int role : {kTs, kKey}) {
        if (columnOf(mapping, role) < 0)
            return Error{prefix + "column '" + std::string(kRoleNames[role]) + "' is required"};
    }
    return mapping;
}

std::string formatBadLine(const BadLine& bad) {
    std::string text(bad.file);
    text += ':';
    text += std::to_string(bad.line);
    text += ": ";
    text += bad.reason;
    return text;
}

void TraceReader::FileCloser::operator()(std::FILE* file) const {
    if (file != nullptr && file != stdin)
        std::fclose(file);
}

Result<TraceReader> TraceReader::open(std::string path, TraceReadOptions options) {
    const bool isStdin = path == "-";
    const std::string name = isStdin ? std::string("<stdin>") : path;
    if (options.delimiter == '"' || options.delimiter == '\n' || options.delimiter == '\r')
        return Error{name + ": the delimiter cannot be a quote or a line break"};
    if (options.max_line_bytes == 0)
        return Error{name + ": the maximum line length must be positive"};
    if (options.columns) {
        if (const char* problem = mappingProblem(*options.columns))
            return Error{name + ": " + problem};
    }

    TraceReader reader;
    reader.m_path = std::move(path);
    reader.m_displayName = name;
    reader.m_options = std::move(options);
    if (isStdin) {
        reader.m_file.reset(stdin);
        return reader;
    }

    std::error_code error;
    if (std::filesystem::is_directory(reader.m_path, error))
        return Error{name + ": cannot open: " + std::strerror(EISDIR)};
    errno = 0;
    std::FILE* file = std::fopen(reader.m_path.c_str(), "rb");
    if (file == nullptr)
        return Error{openError(name)};
    reader.m_file.reset(file);
    if (std::filesystem::is_regular_file(reader.m_path, error)) {
        reader.m_seekable = true;
        const std::uintmax_t size = std::filesystem::file_size(reader.m_path, error);
        reader.m_sizeBytes = error ? 0 : static_cast<std::uint64_t>(size);
    }
    return reader;
}

Result<TraceReadSummary> TraceReader::read(EventCallback onEvent, BadLineCallback onBadLine,
                                           ProgressCallback onProgress) {
    if (!m_file)
        return Error{m_displayName + ": not open"};
    if (m_seekable) {
        if (std::fseek(m_file.get(), 0, SEEK_SET) != 0)
            return Error{m_displayName + ": cannot rewind: " + std::strerror(errno)};
        std::clearerr(m_file.get());
    } else if (m_consumed) {
        return Error{m_displayName + ": can be read only once (it is not a regular file)"};
    }
    m_consumed = true;
    std::optional<MappedFile> mapped;
    if (m_seekable)
        mapped.emplace(m_file.get());
    ReadSession session(m_file.get(), m_displayName, m_options, m_sizeBytes, onEvent, onBadLine,
                        onProgress, mapped ? &*mapped : nullptr);
    return session.run();
}

Result<TraceLayout> TraceReader::layout() const {
    if (!m_seekable)
        return Error{m_displayName + ": cannot read in parts: not a regular file"};
    Result<OwnedFile> file = openUnbuffered(m_path, m_displayName);
    if (!file)
        return file.error();
    TraceLayout layout;
    layout.mapping = m_options.columns ? *m_options.columns : kCanonicalColumns;
    std::string line;
    std::uint64_t next = 0;
    switch (readFirstLine(file->get(), m_options.max_line_bytes, line, next)) {
    case FirstLine::ReadError:
        return Error{m_displayName + ": read error: " + std::strerror(errno)};
    case FirstLine::Empty:
        return layout;
    case FirstLine::TooLong:
        // As read(): our own format needs its header; a mapped one skips it unread, and without
        // a header line 1 is a bad data line.
        if (!m_options.columns && m_options.header)
            return Error{m_displayName + ":1: " + tooLongReason(m_options.max_line_bytes) +
                         " (the header)"};
        if (m_options.columns && m_options.header) {
            layout.data_begin = next;
            layout.header_lines = 1;
        }
        return layout;
    case FirstLine::Fits:
        break;
    }
    Result<Layout> decided =
        layoutFromFirstLine(withoutByteOrderMark(withoutLineEnd(line)), m_options, m_displayName);
    if (!decided)
        return decided.error();
    layout.mapping = decided->mapping;
    if (decided->skipFirstLine) {
        layout.data_begin = next;
        layout.header_lines = 1;
    }
    return layout;
}

Result<TraceReadSummary> TraceReader::readRange(const TraceLayout& layout, ByteRange range,
                                                EventCallback onEvent,
                                                BadLineCallback onBadLine) const {
    if (!m_seekable)
        return Error{m_displayName + ": cannot read in parts: not a regular file"};
    if (const char* problem = mappingProblem(layout.mapping))
        return Error{m_displayName + ": " + problem};
    return readRangeOfFile(m_path, m_displayName, m_options, m_sizeBytes, layout, range, onEvent,
                           onBadLine, nullptr, {});
}

Result<TraceReadSummary> TraceReader::readParallel(std::size_t threads, RangeEventCallback onEvent,
                                                   BadLineCallback onBadLine,
                                                   ProgressCallback onProgress) {
    if (threads <= 1 || !m_seekable || m_options.strict) {
        return read(
            [&](const TraceEvent& event) {
                if (onEvent)
                    onEvent(0, event);
            },
            onBadLine, onProgress);
    }
    Result<TraceLayout> layout = this->layout();
    if (!layout)
        return layout.error();
    layout->data_begin = std::min(layout->data_begin, m_sizeBytes);
    const std::vector<ByteRange> ranges = equalRanges(layout->data_begin, m_sizeBytes, threads);

    std::atomic<std::uint64_t> bytesRead{layout->data_begin}; // for the progress of all ranges
    std::vector<RangeOutcome> outcomes(threads);
    runConcurrently(threads, [&](std::size_t index) {
        RangeOutcome& outcome = outcomes[index];
        outcome.summary = readRangeOfFile(
            m_path, m_displayName, m_options, m_sizeBytes, *layout, ranges[index],
            [&](const TraceEvent& event) {
                if (onEvent)
                    onEvent(index, event);
            },
            [&](const BadLine& bad) { outcome.keep(bad); }, &bytesRead,
            index == 0 ? onProgress : ProgressCallback{});
    });

    Result<TraceReadSummary> total = combineRanges(outcomes, *layout);
    if (!total)
        return total;
    if (onBadLine)
        deliverBadLines(outcomes, *layout, m_displayName, onBadLine);
    if (onProgress)
        onProgress(total->bytes, m_sizeBytes);
    return total;
}

Result<std::vector<Key>> TraceReader::sampleKeys(std::size_t count, std::uint64_t seed) const {
    if (!m_seekable)
        return Error{m_displayName + ": cannot sample keys: not a regular file"};
    // Unbuffered: each sample reads just its small chunk instead of refilling a stdio buffer.
    Result<OwnedFile> opened = openUnbuffered(m_path, m_displayName);
    if (!opened)
        return opened.error();
    std::FILE* const file = opened->get();

    std::vector<Key> keys;
    ChunkBuffer buffer;
    std::string_view line;
    if (count == 0 || m_sizeBytes == 0 ||
        !readLineAt(file, 0, false, m_options.max_line_bytes, buffer, line))
        return keys;
    Result<Layout> layout =
        layoutFromFirstLine(withoutByteOrderMark(withoutLineEnd(line)), m_options, m_displayName);
    if (!layout)
        return layout.error();
    LineParser parser(layout->mapping, m_options.delimiter, m_options.time_unit);

    // Sorted offsets: the reads move forward through the file, kind to disks and caches.
    std::vector<std::uint64_t> offsets(count);
    std::uint64_t state = seed;
    for (std::uint64_t& offset : offsets)
        offset = splitMix64(state) % m_sizeBytes;
    std::sort(offsets.begin(), offsets.end());

    keys.reserve(count);
    TraceEvent event;
    // Dense: on average less than 16 KiB between samples, so a 64 KiB window holds several.
    LineSampler sampler(file, m_sizeBytes, m_options.max_line_bytes,
                        m_sizeBytes / count < (16u << 10));
    for (const std::uint64_t offset : offsets) {
        if (!sampler.lineAfter(offset, line))
            continue;
        line = withoutLineEnd(line);
        if (!line.empty() && parser.parse(line, event).empty())
            keys.emplace_back(event.key);
    }
    return keys;
}

} // namespace rangepilot
