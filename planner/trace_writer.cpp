#include "trace_writer.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <system_error>
#include <utility>

namespace rangepilot {

namespace {

constexpr std::string_view kHeader = "ts,key,op,end_key,bytes,latency_us";
constexpr std::string_view kClientHeader = ",client";

// Room for the fixed part of a row: a 20-character timestamp, two 20-digit counters, the longest
// op name and the separators, with margin.
constexpr std::size_t kFixedRowBytes = 96;

// The bytes formatKey() writes as themselves (key.cpp): printable ASCII except space and the
// characters that need quoting in CSV or escaping in JSON. Kept here as a table so the hot path
// neither allocates nor branches per character; tst_trace_writer checks that the two agree.
constexpr std::array<bool, 256> makePlainKeyTable() {
    std::array<bool, 256> table{};
    for (int c = 0x21; c < 0x7f; ++c)
        table[static_cast<std::size_t>(c)] = true;
    for (const char c : {',', '"', '\\', ';'})
        table[static_cast<unsigned char>(c)] = false;
    return table;
}

constexpr std::array<bool, 256> kPlainKeyByte = makePlainKeyTable();

bool isPlainKey(std::string_view key) {
    if (key.size() >= 2 && key[0] == '0' && (key[1] == 'x' || key[1] == 'X'))
        return false;
    for (const char c : key) {
        if (!kPlainKeyByte[static_cast<unsigned char>(c)])
            return false;
    }
    return true;
}

char* appendText(char* out, std::string_view text) {
    std::memcpy(out, text.data(), text.size());
    return out + text.size();
}

// formatKey(key), written in place.
char* appendKey(char* out, std::string_view key) {
    if (isPlainKey(key))
        return appendText(out, key);
    static constexpr char kDigits[] = "0123456789abcdef";
    *out++ = '0';
    *out++ = 'x';
    for (const char c : key) {
        const auto byte = static_cast<unsigned char>(c);
        *out++ = kDigits[byte >> 4];
        *out++ = kDigits[byte & 0xf];
    }
    return out;
}

bool needsCsvQuotes(std::string_view field) {
    return field.find_first_of(",\"\r\n") != std::string_view::npos;
}

// RFC 4180: the field in double quotes, each quote inside doubled.
char* appendCsvField(char* out, std::string_view field) {
    if (!needsCsvQuotes(field))
        return appendText(out, field);
    *out++ = '"';
    for (const char c : field) {
        if (c == '"')
            *out++ = '"';
        *out++ = c;
    }
    *out++ = '"';
    return out;
}

template <typename Integer>
char* appendInteger(char* out, Integer value) {
    // The caller reserved room for any 64-bit value, so to_chars cannot run out of space.
    return std::to_chars(out, out + 24, value).ptr;
}

std::string systemReason(int error) {
    return std::error_code(error != 0 ? error : EIO, std::generic_category()).message();
}

} // namespace

void appendCsvField(std::string& line, std::string_view field) {
    if (!needsCsvQuotes(field)) {
        line.append(field);
        return;
    }
    line.push_back('"');
    for (const char c : field) {
        if (c == '"')
            line.push_back('"');
        line.push_back(c);
    }
    line.push_back('"');
}

TraceCsvWriter::TraceCsvWriter(std::FILE* file, std::string name, TraceCsvWriterOptions options)
    : m_file(file)
    , m_name(std::move(name))
    , m_options(options)
    , m_buffer(std::max<std::size_t>(options.buffer_bytes, 4096))
    , m_headerPending(options.write_header) {}

Result<TraceCsvWriter> TraceCsvWriter::open(const std::string& path,
                                            TraceCsvWriterOptions options) {
    if (path == "-")
        return TraceCsvWriter(stdout, "stdout", options);
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr)
        return Error{"cannot open '" + path + "' for writing: " + systemReason(errno)};
    // Rows already arrive in big chunks; a second buffer in stdio would only copy them again.
    std::setvbuf(file, nullptr, _IONBF, 0);
    TraceCsvWriter writer(file, path, options);
    writer.m_ownsFile = true;
    return writer;
}

TraceCsvWriter::TraceCsvWriter(TraceCsvWriter&& other) noexcept
    : m_file(std::exchange(other.m_file, nullptr))
    , m_ownsFile(std::exchange(other.m_ownsFile, false))
    , m_name(std::move(other.m_name))
    , m_options(other.m_options)
    , m_buffer(std::move(other.m_buffer))
    , m_used(std::exchange(other.m_used, 0))
    , m_headerPending(std::exchange(other.m_headerPending, false))
    , m_closed(std::exchange(other.m_closed, true))
    , m_error(std::move(other.m_error))
    , m_eventsWritten(other.m_eventsWritten)
    , m_bytesWritten(other.m_bytesWritten) {}

TraceCsvWriter& TraceCsvWriter::operator=(TraceCsvWriter&& other) noexcept {
    if (this != &other) {
        release();
        m_file = std::exchange(other.m_file, nullptr);
        m_ownsFile = std::exchange(other.m_ownsFile, false);
        m_name = std::move(other.m_name);
        m_options = other.m_options;
        m_buffer = std::move(other.m_buffer);
        m_used = std::exchange(other.m_used, 0);
        m_headerPending = std::exchange(other.m_headerPending, false);
        m_closed = std::exchange(other.m_closed, true);
        m_error = std::move(other.m_error);
        m_eventsWritten = other.m_eventsWritten;
        m_bytesWritten = other.m_bytesWritten;
    }
    return *this;
}

TraceCsvWriter::~TraceCsvWriter() {
    release();
}

void TraceCsvWriter::release() noexcept {
    if (m_file != nullptr && !m_closed)
        (void)close();
    m_file = nullptr;
    m_closed = true;
}

Status TraceCsvWriter::write(const TraceEvent& event) {
    if (!m_error.ok())
        return m_error;
    if (m_closed)
        return Error{"cannot write to '" + m_name + "': the writer is closed"};
    if (m_headerPending)
        appendHeader();
    std::size_t rowBytes = kFixedRowBytes + 2 * (event.key.size() + event.end_key.size());
    if (m_options.include_client)
        rowBytes += 2 * event.client.size() + 3;
    ensureRoomFor(rowBytes);
    if (!m_error.ok())
        return m_error;
    appendEvent(event);
    ++m_eventsWritten;
    return {};
}

void TraceCsvWriter::appendHeader() {
    m_headerPending = false;
    ensureRoomFor(kHeader.size() + kClientHeader.size() + 1);
    if (!m_error.ok())
        return;
    char* out = m_buffer.data() + m_used;
    out = appendText(out, kHeader);
    if (m_options.include_client)
        out = appendText(out, kClientHeader);
    *out++ = '\n';
    m_used = static_cast<std::size_t>(out - m_buffer.data());
}

void TraceCsvWriter::ensureRoomFor(std::size_t bytes) {
    if (m_buffer.size() - m_used >= bytes)
        return;
    if (!writeBuffer())
        return;
    if (m_buffer.size() < bytes)
        m_buffer.resize(bytes);
}

// Consecutive rows mostly share the timestamp's seconds, so their digits are formatted once and
// copied; only the three millisecond digits are new.
char* TraceCsvWriter::appendTimestamp(char* out, TimeMs ts) {
    if (ts < kMsPerSecond)
        return appendInteger(out, ts);
    const TimeMs seconds = ts / kMsPerSecond;
    if (seconds != m_cachedSeconds) {
        m_cachedSeconds = seconds;
        m_cachedSecondsLength = static_cast<std::size_t>(
            appendInteger(m_cachedSecondsText, seconds) - m_cachedSecondsText);
    }
    std::memcpy(out, m_cachedSecondsText, sizeof m_cachedSecondsText);
    out += m_cachedSecondsLength;
    const auto milliseconds = static_cast<unsigned>(ts % kMsPerSecond);
    out[0] = static_cast<char>('0' + milliseconds / 100);
    out[1] = static_cast<char>('0' + milliseconds / 10 % 10);
    out[2] = static_cast<char>('0' + milliseconds % 10);
    return out + 3;
}

void TraceCsvWriter::appendEvent(const TraceEvent& event) {
    char* out = m_buffer.data() + m_used;
    out = appendTimestamp(out, event.ts_ms);
    *out++ = ',';
    out = appendKey(out, event.key);
    *out++ = ',';
    out = appendText(out, opName(event.op));
    *out++ = ',';
    if (!event.end_key.empty())
        out = appendKey(out, event.end_key);
    *out++ = ',';
    out = appendInteger(out, event.bytes);
    *out++ = ',';
    out = appendInteger(out, event.latency_us);
    if (m_options.include_client) {
        *out++ = ',';
        out = appendCsvField(out, event.client);
    }
    *out++ = '\n';
    m_used = static_cast<std::size_t>(out - m_buffer.data());
}

bool TraceCsvWriter::writeBuffer() {
    if (m_used == 0)
        return true;
    errno = 0;
    const std::size_t written = std::fwrite(m_buffer.data(), 1, m_used, m_file);
    if (written != m_used) {
        m_error = recordError("cannot write to", errno);
        return false;
    }
    m_bytesWritten += m_used;
    m_used = 0;
    return true;
}

Status TraceCsvWriter::recordError(const char* action, int error) {
    m_error = Error{std::string(action) + " '" + m_name + "': " + systemReason(error)};
    return m_error;
}

Status TraceCsvWriter::flush() {
    if (!m_error.ok() || m_closed)
        return m_error;
    if (m_headerPending)
        appendHeader();
    if (!writeBuffer())
        return m_error;
    errno = 0;
    if (std::fflush(m_file) != 0)
        return recordError("cannot write to", errno);
    return {};
}

Status TraceCsvWriter::close() {
    if (m_closed)
        return m_error;
    (void)flush();
    if (m_ownsFile) {
        errno = 0;
        if (std::fclose(m_file) != 0 && m_error.ok())
            (void)recordError("cannot close", errno);
    }
    m_file = nullptr;
    m_ownsFile = false;
    m_closed = true;
    return m_error;
}

} // namespace rangepilot
