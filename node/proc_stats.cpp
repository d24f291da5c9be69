#include "proc_stats.h"

#include <charconv>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <unistd.h>
#include <utility>
#include <vector>

namespace rangepilot::node {

namespace {

// The parsers below report what is wrong without a file name; the public parsers add the
// conventional /proc path, readProcSample() the path it actually read.
template <typename T>
Result<T> inFile(std::string_view file, Result<T> result) {
    if (result)
        return result;
    return Error{std::string(file) + ": " + result.error().message};
}

std::string_view trim(std::string_view text) {
    const auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && isSpace(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && isSpace(text.back()))
        text.remove_suffix(1);
    return text;
}

std::vector<std::string_view> splitWhitespace(std::string_view text) {
    std::vector<std::string_view> tokens;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n'))
            ++i;
        const std::size_t start = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n')
            ++i;
        if (i > start)
            tokens.push_back(text.substr(start, i - start));
    }
    return tokens;
}

std::optional<std::uint64_t> parseUnsigned(std::string_view text) {
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc() || stop != end)
        return std::nullopt;
    return value;
}

std::string quoted(std::string_view text) {
    constexpr std::size_t kShown = 40;
    return "\"" + std::string(text.substr(0, kShown)) + (text.size() > kShown ? "...\"" : "\"");
}

// Calls `visit(name, rest)` for every "Name: rest" line of a /proc key-value file.
template <typename Visit>
void forEachField(std::string_view text, Visit visit) {
    while (!text.empty()) {
        const std::size_t newline = text.find('\n');
        const std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
        const std::size_t colon = line.find(':');
        if (colon != std::string_view::npos)
            visit(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
}

// A "12345 kB" (or a bare number) field as bytes.
Result<std::uint64_t> kilobytesField(std::string_view name, std::string_view rest) {
    std::string_view number = rest;
    std::uint64_t scale = 1;
    if (number.size() >= 2 && number.substr(number.size() - 2) == "kB") {
        number = trim(number.substr(0, number.size() - 2));
        scale = 1024;
    }
    const std::optional<std::uint64_t> value = parseUnsigned(number);
    if (!value)
        return Error{std::string(name) + " is not a number of kB: " + quoted(rest)};
    return *value * scale;
}

// Finds the named fields of a key-value file; absent ones stay nullopt.
struct NamedFields {
    std::vector<std::string_view> names;
    std::vector<std::optional<std::string_view>> values;

    explicit NamedFields(std::vector<std::string_view> wanted, std::string_view text)
        : names(std::move(wanted))
        , values(names.size()) {
        forEachField(text, [&](std::string_view name, std::string_view rest) {
            for (std::size_t i = 0; i < names.size(); ++i) {
                if (name == names[i] && !values[i])
                    values[i] = rest;
            }
        });
    }
};

Result<ProcessCpu> parseStat(std::string_view text, long ticksPerSecond) {
    if (ticksPerSecond <= 0)
        return Error{"clock ticks per second must be positive, not " +
                     std::to_string(ticksPerSecond)};
    // Field 2 is "(comm)", and comm may itself hold spaces and parentheses: the fields after it
    // start behind the last ')'.
    const std::size_t close = text.rfind(')');
    if (close == std::string_view::npos)
        return Error{"no \")\" closing the command name (field 2)"};
    const std::vector<std::string_view> rest = splitWhitespace(text.substr(close + 1));
    // rest[0] is field 3 (state), so field n is rest[n - 3].
    const auto field = [&](int number, const char* name) -> Result<std::uint64_t> {
        const std::size_t index = static_cast<std::size_t>(number - 3);
        const std::string label = "field " + std::to_string(number) + " (" + name + ")";
        if (index >= rest.size())
            return Error{label + " is missing"};
        const std::optional<std::uint64_t> value = parseUnsigned(rest[index]);
        if (!value)
            return Error{label + " is not a number: " + quoted(rest[index])};
        return *value;
    };
    const Result<std::uint64_t> userTicks = field(14, "utime");
    if (!userTicks)
        return userTicks.error();
    const Result<std::uint64_t> systemTicks = field(15, "stime");
    if (!systemTicks)
        return systemTicks.error();
    ProcessCpu cpu;
    cpu.seconds =
        static_cast<double>(*userTicks + *systemTicks) / static_cast<double>(ticksPerSecond);
    return cpu;
}

Result<std::uint64_t> parseStatus(std::string_view text) {
    const NamedFields fields({"VmRSS"}, text);
    if (!fields.values[0])
        return Error{"no VmRSS line"};
    return kilobytesField("VmRSS", *fields.values[0]);
}

Result<ProcessIo> parseIo(std::string_view text) {
    const NamedFields fields({"read_bytes", "write_bytes"}, text);
    std::uint64_t parsed[2] = {0, 0};
    for (std::size_t i = 0; i < 2; ++i) {
        const std::string name(fields.names[i]);
        if (!fields.values[i])
            return Error{"no " + name + " line"};
        const std::optional<std::uint64_t> value = parseUnsigned(*fields.values[i]);
        if (!value)
            return Error{name + " is not a number: " + quoted(*fields.values[i])};
        parsed[i] = *value;
    }
    ProcessIo io;
    io.read_bytes = parsed[0];
    io.write_bytes = parsed[1];
    return io;
}

Result<MemoryInfo> parseMemory(std::string_view text) {
    const NamedFields fields({"MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached"}, text);
    std::optional<std::uint64_t> bytes[5];
    for (std::size_t i = 0; i < 5; ++i) {
        if (!fields.values[i])
            continue;
        Result<std::uint64_t> value = kilobytesField(fields.names[i], *fields.values[i]);
        if (!value)
            return value.error();
        bytes[i] = *value;
    }
    if (!bytes[0])
        return Error{"no MemTotal line"};
    MemoryInfo memory;
    memory.total_bytes = *bytes[0];
    if (bytes[1]) {
        memory.available_bytes = *bytes[1];
    } else if (bytes[2]) {
        // Kernels before 3.14 have no MemAvailable: free plus page cache is the usual estimate.
        memory.available_bytes = *bytes[2] + bytes[3].value_or(0) + bytes[4].value_or(0);
    } else {
        return Error{"neither MemAvailable nor MemFree"};
    }
    return memory;
}

Result<NetworkTotals> parseNetwork(std::string_view text) {
    NetworkTotals totals;
    int lineNumber = 0;
    while (!text.empty()) {
        const std::size_t newline = text.find('\n');
        const std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
        ++lineNumber;
        if (lineNumber <= 2 || trim(line).empty())
            continue; // the two header lines
        // "  eth0: 123 ..." (older kernels glue the number to the colon: "eth0:123").
        const std::size_t colon = line.find(':');
        const std::string where = "line " + std::to_string(lineNumber);
        if (colon == std::string_view::npos)
            return Error{where + ": no \"interface:\" " + quoted(trim(line))};
        const std::string_view name = trim(line.substr(0, colon));
        const std::vector<std::string_view> counters = splitWhitespace(line.substr(colon + 1));
        // Receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes ...
        constexpr std::size_t kReceiveBytes = 0;
        constexpr std::size_t kTransmitBytes = 8;
        if (counters.size() <= kTransmitBytes)
            return Error{where + " (" + std::string(name) + "): " +
                         std::to_string(counters.size()) + " counters, expected at least 9"};
        const std::optional<std::uint64_t> received = parseUnsigned(counters[kReceiveBytes]);
        const std::optional<std::uint64_t> sent = parseUnsigned(counters[kTransmitBytes]);
        if (!received || !sent)
            return Error{where + " (" + std::string(name) + "): byte counters are not numbers"};
        if (name == "lo")
            continue; // loopback traffic never leaves the machine
        totals.receive_bytes += *received;
        totals.transmit_bytes += *sent;
    }
    if (lineNumber < 2)
        return Error{"missing the two header lines"};
    return totals;
}

Result<std::string> readWholeFile(const std::string& path) {
    // /proc files report a size of 0, so read until the end rather than by size.
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return Error{path + ": cannot be opened"};
    std::ostringstream contents;
    contents << in.rdbuf();
    if (in.bad())
        return Error{path + ": cannot be read"};
    return contents.str();
}

// Reads `path` and parses it, naming the path in any error.
template <typename T, typename Parse>
Result<T> readAndParse(const std::string& path, Parse parse) {
    Result<std::string> text = readWholeFile(path);
    if (!text)
        return text.error();
    return inFile(path, parse(std::string_view(*text)));
}

} // namespace

Result<ProcessCpu> parseProcessStat(std::string_view text, long ticksPerSecond) {
    return inFile("/proc/self/stat", parseStat(text, ticksPerSecond));
}

Result<std::uint64_t> parseResidentBytes(std::string_view text) {
    return inFile("/proc/self/status", parseStatus(text));
}

Result<ProcessIo> parseProcessIo(std::string_view text) {
    return inFile("/proc/self/io", parseIo(text));
}

Result<MemoryInfo> parseMemInfo(std::string_view text) {
    return inFile("/proc/meminfo", parseMemory(text));
}

Result<NetworkTotals> parseNetDev(std::string_view text) {
    return inFile("/proc/net/dev", parseNetwork(text));
}

Result<ProcSample> readProcSample(const std::string& procRoot) {
    ProcSample sample;
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    sample.taken_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
    const long ticks = sysconf(_SC_CLK_TCK);
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    sample.cpu_cores = cores > 0 ? static_cast<unsigned>(cores) : 1;

    Result<ProcessCpu> cpu = readAndParse<ProcessCpu>(
        procRoot + "/self/stat", [&](std::string_view text) { return parseStat(text, ticks); });
    if (!cpu)
        return cpu.error();
    sample.cpu = *cpu;

    Result<std::uint64_t> resident =
        readAndParse<std::uint64_t>(procRoot + "/self/status", parseStatus);
    if (!resident)
        return resident.error();
    sample.resident_bytes = *resident;

    Result<MemoryInfo> memory = readAndParse<MemoryInfo>(procRoot + "/meminfo", parseMemory);
    if (!memory)
        return memory.error();
    sample.memory = *memory;

    Result<NetworkTotals> network =
        readAndParse<NetworkTotals>(procRoot + "/net/dev", parseNetwork);
    if (!network)
        return network.error();
    sample.network = *network;

    // Often unreadable (hardened kernels, some containers): the disk figure is then unknown.
    Result<ProcessIo> io = readAndParse<ProcessIo>(procRoot + "/self/io", parseIo);
    sample.io_known = io.ok();
    if (io)
        sample.io = *io;
    return sample;
}

} // namespace rangepilot::node
