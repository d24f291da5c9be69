#pragma once

// Writes TraceEvents as CSV in the trace contract (DESIGN.md, "Trace format"): a header row
// `ts,key,op,end_key,bytes,latency_us` (plus `,client` when asked), then one row per event with
// ts as integer milliseconds and keys in formatKey() form, so binary keys become 0x-hex and read
// back byte for byte. The client field is quoted per RFC 4180 when it contains a comma, quote or
// line break.
//
// Invariants: the header is written exactly once, before the first row (also for an empty trace,
// on flush() or close()); rows appear in the order written. The first I/O error is sticky: it is
// returned by that call and by every later call, with the target's name and the system's reason.
// A closed pipe reports EPIPE only when the process ignores SIGPIPE (the CLI does that);
// otherwise the signal ends the process as usual.
//
// Cost: rows are formatted with std::to_chars into one large reused buffer (1 MiB by default)
// that goes to the FILE* in a single fwrite when full, so a row costs tens of nanoseconds and no
// allocation (a key longer than the buffer grows it once).

#include "result.h"
#include "trace_event.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace rangepilot {

// Appends `field` to `line` as one CSV field: as is, or in double quotes with each quote
// doubled (RFC 4180) when it holds a comma, quote, CR or LF. Shared by every CSV we write.
void appendCsvField(std::string& line, std::string_view field);

struct TraceCsvWriterOptions {
    bool include_client = false; // adds the optional `client` column
    bool write_header = true;
    std::size_t buffer_bytes = std::size_t{1} << 20;
};

class TraceCsvWriter {
public:
    // Writes to an open FILE* that the caller keeps owning; `name` (a path, "stdout", ...) is what
    // error messages call the target.
    TraceCsvWriter(std::FILE* file, std::string name, TraceCsvWriterOptions options = {});

    // Opens (creating or truncating) `path` for writing; "-" is standard output.
    static Result<TraceCsvWriter> open(const std::string& path, TraceCsvWriterOptions options = {});

    TraceCsvWriter(TraceCsvWriter&& other) noexcept;
    TraceCsvWriter& operator=(TraceCsvWriter&& other) noexcept;
    TraceCsvWriter(const TraceCsvWriter&) = delete;
    TraceCsvWriter& operator=(const TraceCsvWriter&) = delete;

    // Flushes and, for a file opened by open(), closes it. Errors at this point are lost: call
    // close() first to see them.
    ~TraceCsvWriter();

    Status write(const TraceEvent& event);

    // Hands everything buffered to the operating system (fwrite + fflush).
    Status flush();

    // flush(), then fclose() for a file this writer opened. Later writes fail.
    Status close();

    std::uint64_t eventsWritten() const { return m_eventsWritten; }
    std::uint64_t bytesWritten() const { return m_bytesWritten + m_used; } // includes buffered
    const std::string& name() const { return m_name; }
    const TraceCsvWriterOptions& options() const { return m_options; }

private:
    void appendHeader();
    void appendEvent(const TraceEvent& event);
    char* appendTimestamp(char* out, TimeMs ts);
    void ensureRoomFor(std::size_t bytes);
    bool writeBuffer();
    Status recordError(const char* action, int error);
    void release() noexcept;

    std::FILE* m_file = nullptr;
    bool m_ownsFile = false;
    std::string m_name;
    TraceCsvWriterOptions m_options;
    std::vector<char> m_buffer;
    std::size_t m_used = 0;
    bool m_headerPending = true;
    bool m_closed = false;
    Status m_error;
    std::uint64_t m_eventsWritten = 0;
    std::uint64_t m_bytesWritten = 0;
    TimeMs m_cachedSeconds = -1;
    char m_cachedSecondsText[24] = {};
    std::size_t m_cachedSecondsLength = 0;
};

} // namespace rangepilot
