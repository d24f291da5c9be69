#include "write_ledger.h"

#include "concurrency.h"
#include "jump_hash.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace rangepilot {

namespace {

constexpr std::string_view kLedgerHeader = "rangepilot-write-ledger 1";

std::uint64_t loadLittleEndian(const char* bytes, std::size_t count) {
    std::uint64_t word = 0;
    for (std::size_t i = 0; i < count; ++i)
        word |= std::uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
    return word;
}

std::string describeContent(const WriteDigest& content) {
    if (content.tombstone)
        return "delete";
    return "put (" + std::to_string(content.length) + " bytes)";
}

std::string describeRead(const ReadValue& read) {
    const std::string what =
        read.found ? "a value (" + std::to_string(read.value.size()) + " bytes)" : "absent";
    return what + " at " + formatVersion(read.version);
}

// --- Text form of the ledger file: hex fields separated by single spaces. ---

std::string toHex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    if (bytes.empty())
        return "-";
    std::string hex;
    hex.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        hex += kDigits[byte >> 4];
        hex += kDigits[byte & 0xf];
    }
    return hex;
}

int hexDigit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool fromHex(std::string_view hex, std::string& out) {
    out.clear();
    if (hex == "-")
        return true;
    if (hex.size() % 2 != 0)
        return false;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int high = hexDigit(hex[i]);
        const int low = hexDigit(hex[i + 1]);
        if (high < 0 || low < 0)
            return false;
        out += static_cast<char>(high * 16 + low);
    }
    return true;
}

template <typename Integer>
bool parseInteger(std::string_view text, Integer& out, int base = 10) {
    const auto result = std::from_chars(text.data(), text.data() + text.size(), out, base);
    return !text.empty() && result.ec == std::errc() && result.ptr == text.data() + text.size();
}

std::string formatDigest(const WriteDigest& digest) {
    std::ostringstream out;
    out << (digest.tombstone ? 'D' : 'P') << ':' << digest.length << ':' << std::hex << digest.hash;
    return out.str();
}

bool parseDigest(std::string_view text, WriteDigest& out) {
    const std::size_t first = text.find(':');
    const std::size_t second = first == std::string_view::npos ? first : text.find(':', first + 1);
    if (second == std::string_view::npos || first != 1 || (text[0] != 'P' && text[0] != 'D'))
        return false;
    out.tombstone = text[0] == 'D';
    return parseInteger(text.substr(first + 1, second - first - 1), out.length) &&
           parseInteger(text.substr(second + 1), out.hash, 16);
}

std::vector<std::string_view> splitFields(std::string_view line) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    while (start <= line.size()) {
        const std::size_t space = line.find(' ', start);
        const std::size_t end = space == std::string_view::npos ? line.size() : space;
        fields.push_back(line.substr(start, end - start));
        start = end + 1;
    }
    return fields;
}

// "<key> <A|-> <digest> <hlc> <node> <uncertain...>"
std::string formatLine(const Key& key, const LedgerEntry& entry) {
    std::string line = toHex(key);
    line += entry.acknowledged ? " A " : " - ";
    line += formatDigest(entry.newest);
    line += ' ';
    line += std::to_string(entry.newest_version.hlc);
    line += ' ';
    line += toHex(entry.newest_version.node);
    for (const WriteDigest& uncertain : entry.uncertain) {
        line += ' ';
        line += formatDigest(uncertain);
    }
    return line;
}

Result<std::pair<Key, LedgerEntry>> parseLine(std::string_view line) {
    const std::vector<std::string_view> fields = splitFields(line);
    if (fields.size() < 5)
        return Error{"expected at least 5 fields, found " + std::to_string(fields.size())};
    std::pair<Key, LedgerEntry> parsed;
    if (!fromHex(fields[0], parsed.first) || parsed.first.empty())
        return Error{"bad key '" + std::string(fields[0]) + "'"};
    if (fields[1] != "A" && fields[1] != "-")
        return Error{"bad acknowledgement flag '" + std::string(fields[1]) + "'"};
    LedgerEntry& entry = parsed.second;
    entry.acknowledged = fields[1] == "A";
    if (!parseDigest(fields[2], entry.newest))
        return Error{"bad digest '" + std::string(fields[2]) + "'"};
    if (!parseInteger(fields[3], entry.newest_version.hlc))
        return Error{"bad version '" + std::string(fields[3]) + "'"};
    if (!fromHex(fields[4], entry.newest_version.node))
        return Error{"bad version node '" + std::string(fields[4]) + "'"};
    for (std::size_t i = 5; i < fields.size(); ++i) {
        WriteDigest uncertain;
        if (!parseDigest(fields[i], uncertain))
            return Error{"bad uncertain digest '" + std::string(fields[i]) + "'"};
        entry.uncertain.push_back(uncertain);
    }
    return parsed;
}

} // namespace

std::uint64_t valueHash(std::string_view value) {
    // The length goes into the initial state so that values differing only by trailing zero bytes
    // (which pad the last word alike) hash apart too.
    std::uint64_t state = mix64(0x7265'6164'6261'636bULL ^ value.size());
    std::size_t offset = 0;
    for (; offset + 8 <= value.size(); offset += 8)
        state = mix64(state ^ loadLittleEndian(value.data() + offset, 8));
    if (offset < value.size())
        state = mix64(state ^ loadLittleEndian(value.data() + offset, value.size() - offset));
    return mix64(state);
}

WriteDigest WriteDigest::ofValue(std::string_view value) {
    return WriteDigest{false, value.size(), valueHash(value)};
}

WriteDigest WriteDigest::ofRead(const ReadValue& read) {
    return read.found ? ofValue(read.value) : deletion();
}

const char* verdictName(Verdict verdict) {
    switch (verdict) {
    case Verdict::Ok:
        return "ok";
    case Verdict::Lost:
        return "lost";
    case Verdict::Stale:
        return "stale";
    case Verdict::Unreadable:
        return "unreadable";
    case Verdict::Skipped:
        return "skipped";
    }
    return "?";
}

Verdict judge(const LedgerEntry& entry, const ReadValue& read) {
    if (!entry.acknowledged)
        return Verdict::Skipped;
    const WriteDigest seen = WriteDigest::ofRead(read);
    if (seen == entry.newest)
        return Verdict::Ok;
    const bool newerThanAcknowledged = read.version > entry.newest_version;
    if (newerThanAcknowledged &&
        std::find(entry.uncertain.begin(), entry.uncertain.end(), seen) != entry.uncertain.end())
        return Verdict::Ok;
    if (read.found && !entry.newest.tombstone && read.version < entry.newest_version)
        return Verdict::Stale;
    return Verdict::Lost;
}

std::string formatVerifyLine(const VerifyReport& report) {
    std::string line = "verify: " + std::to_string(report.keys) + " keys, ok " +
                       std::to_string(report.ok) + ", lost " + std::to_string(report.lost) +
                       ", stale " + std::to_string(report.stale);
    if (report.unreadable > 0)
        line += ", unreadable " + std::to_string(report.unreadable);
    if (report.skipped > 0)
        line += ", skipped " + std::to_string(report.skipped);
    return line;
}

WriteLedger::Stripe& WriteLedger::stripeFor(std::string_view key) {
    return m_stripes[hashBytes(key) % kStripes];
}

const WriteLedger::Stripe& WriteLedger::stripeFor(std::string_view key) const {
    return m_stripes[hashBytes(key) % kStripes];
}

void WriteLedger::recordAcknowledged(const Key& key, const WriteDigest& content,
                                     const ValueVersion& version) {
    Stripe& stripe = stripeFor(key);
    std::lock_guard lock(stripe.mutex);
    LedgerEntry& entry = stripe.entries[key];
    if (entry.acknowledged && version <= entry.newest_version)
        return;
    entry.acknowledged = true;
    entry.newest = content;
    entry.newest_version = version;
}

void WriteLedger::recordUncertain(const Key& key, const WriteDigest& content) {
    Stripe& stripe = stripeFor(key);
    std::lock_guard lock(stripe.mutex);
    std::vector<WriteDigest>& uncertain = stripe.entries[key].uncertain;
    if (std::find(uncertain.begin(), uncertain.end(), content) == uncertain.end())
        uncertain.push_back(content);
}

std::size_t WriteLedger::keyCount() const {
    std::size_t count = 0;
    for (const Stripe& stripe : m_stripes) {
        std::lock_guard lock(stripe.mutex);
        count += stripe.entries.size();
    }
    return count;
}

std::optional<LedgerEntry> WriteLedger::entry(const Key& key) const {
    const Stripe& stripe = stripeFor(key);
    std::lock_guard lock(stripe.mutex);
    const auto found = stripe.entries.find(key);
    if (found == stripe.entries.end())
        return std::nullopt;
    return found->second;
}

std::vector<std::pair<Key, LedgerEntry>> WriteLedger::snapshot() const {
    std::vector<std::pair<Key, LedgerEntry>> all;
    for (const Stripe& stripe : m_stripes) {
        std::lock_guard lock(stripe.mutex);
        all.insert(all.end(), stripe.entries.begin(), stripe.entries.end());
    }
    std::sort(all.begin(), all.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return all;
}

std::vector<Key> WriteLedger::keys() const {
    std::vector<Key> result;
    for (auto& [key, entry] : snapshot())
        result.push_back(std::move(key));
    return result;
}

VerifyReport WriteLedger::verify(const KeyReader& reader, std::size_t threads,
                                 std::size_t maxExamples) const {
    const auto entries = snapshot();
    struct Judged {
        Verdict verdict = Verdict::Skipped;
        std::string detail;
    };
    std::vector<Judged> judged(entries.size());
    std::atomic<std::size_t> next{0};
    runConcurrently(std::max<std::size_t>(1, threads), [&](std::size_t) {
        for (std::size_t i = next++; i < entries.size(); i = next++) {
            const auto& [key, entry] = entries[i];
            if (!entry.acknowledged)
                continue; // skipped: nothing was promised, no need to read
            const Result<ReadValue> read = reader(key);
            if (!read) {
                judged[i] = {Verdict::Unreadable, read.error().message};
                continue;
            }
            judged[i].verdict = judge(entry, read.value());
            if (judged[i].verdict != Verdict::Ok) {
                judged[i].detail = "expected " + describeContent(entry.newest) + " at " +
                                   formatVersion(entry.newest_version) + ", read " +
                                   describeRead(read.value());
            }
        }
    });

    VerifyReport report;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        switch (judged[i].verdict) {
        case Verdict::Ok:
            ++report.ok;
            break;
        case Verdict::Lost:
            ++report.lost;
            break;
        case Verdict::Stale:
            ++report.stale;
            break;
        case Verdict::Unreadable:
            ++report.unreadable;
            break;
        case Verdict::Skipped:
            ++report.skipped;
            continue;
        }
        ++report.keys;
        if (judged[i].verdict != Verdict::Ok && report.examples.size() < maxExamples) {
            report.examples.push_back(
                {entries[i].first, judged[i].verdict, std::move(judged[i].detail)});
        }
    }
    return report;
}

Status WriteLedger::save(const std::string& path) const {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (!file)
        return Error{path + ": cannot write: " + std::strerror(errno)};
    file << kLedgerHeader << '\n';
    for (const auto& [key, entry] : snapshot())
        file << formatLine(key, entry) << '\n';
    file.flush();
    if (!file)
        return Error{path + ": write failed: " + std::strerror(errno)};
    return Status::success();
}

Result<std::unique_ptr<WriteLedger>> WriteLedger::load(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file)
        return Error{path + ": cannot open: " + std::strerror(errno)};
    auto ledger = std::make_unique<WriteLedger>();
    std::string line;
    std::uint64_t lineNumber = 0;
    while (std::getline(file, line)) {
        ++lineNumber;
        if (lineNumber == 1) {
            if (line != kLedgerHeader)
                return Error{path + ":1: not a write ledger (expected '" +
                             std::string(kLedgerHeader) + "')"};
            continue;
        }
        if (line.empty())
            continue;
        auto parsed = parseLine(line);
        if (!parsed)
            return Error{path + ":" + std::to_string(lineNumber) + ": " + parsed.error().message};
        auto& [key, entry] = parsed.value();
        Stripe& stripe = ledger->stripeFor(key);
        std::lock_guard lock(stripe.mutex);
        stripe.entries[std::move(key)] = std::move(entry);
    }
    if (lineNumber == 0)
        return Error{path + ": empty file, not a write ledger"};
    if (file.bad())
        return Error{path + ": read failed"};
    return ledger;
}

} // namespace rangepilot
