#pragma once

// Reads query traces: CSV files of our own format (a header names the columns) or foreign logs
// mapped by column position, into TraceEvents handed to a callback, one pass in file order.
//
// Robustness: whatever the bytes, the reader never crashes or hangs and keeps every good line.
// A line that does not parse is a bad line: skipped, counted and reported with its 1-based physical
// line number (the header is line 1) and a short reason; strict mode turns the first one into an
// Error. Records are physical lines: a quoted field may hold the delimiter and "" (an escaped
// quote) but not a line break (binary keys use the 0x… form), so one broken line never swallows
// the rest of the file. Blank lines are skipped silently; CRLF endings and a UTF-8 BOM are fine.
//
// Cost: one sequential pass. A regular file is memory-mapped and parsed where the page cache
// holds it (no copy); a pipe, or a file that cannot be mapped, is read in 1 MiB blocks. Lines are
// split in place into string_views, so nothing is allocated per line except for quoted fields
// with escapes and hex keys (decoded into reused buffers); plain lines of our own format take a
// fast path. Views in a TraceEvent or BadLine are valid only during the callback. A mapped file
// must not be truncated by another process while it is read (the OS would signal SIGBUS).
//
// Parallel reads (seekable files): layout() settles once what line 1 decides; readRange() reads
// the lines that start in a byte range with the same rules, on any thread; readParallel() cuts
// the data into ranges, reads them on as many threads and reports as read() would, except that
// it hands on at most kMaxBadLinesPerRange bad lines of each range (it counts them all).

#include "key.h"
#include "result.h"
#include "timestamp.h"
#include "trace_event.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace rangepilot {

// A non-owning reference to a callable: one indirect call, no allocation. It must not outlive the
// callable, so use it for parameters (a lambda passed in the call lives until the call returns),
// never as a stored member or a local initialised from a temporary lambda.
template <typename Signature>
class FunctionRef;

template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
public:
    FunctionRef() = default;

    template <typename F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
             !std::is_function_v<std::remove_reference_t<F>> &&
             std::is_invocable_r_v<R, F&, Args...>)
        FunctionRef(
            F&& callable) // NOLINT(google-explicit-constructor): used like a function parameter
        : m_callable(const_cast<void*>(static_cast<const void*>(std::addressof(callable))))
        , m_invoke(&invoke<std::remove_reference_t<F>>) {}

    R operator()(Args... args) const { return m_invoke(m_callable, std::forward<Args>(args)...); }
    explicit operator bool() const { return m_invoke != nullptr; }

private:
    template <typename F>
    static R invoke(void* callable, Args... args) {
        return static_cast<R>((*static_cast<F*>(callable))(std::forward<Args>(args)...));
    }

    void* m_callable = nullptr;
    R (*m_invoke)(void*, Args...) = nullptr;
};

// Which field (0-based) holds each column; -1 = absent. ts and key are required.
struct ColumnMapping {
    int ts = -1, key = -1, op = -1, end_key = -1, bytes = -1, latency_us = -1, client = -1;
    bool operator==(const ColumnMapping&) const = default;
};

// Parses "ts=1,key=5,op=6" (1-based positions, names as in ColumnMapping). Errors start with
// "--columns: " and name the bad item, e.g. "--columns: 'kye=2': unknown column 'kye'".
Result<ColumnMapping> parseColumnMapping(std::string_view spec);

struct TraceReadOptions {
    bool strict = false;                  // stop at the first bad line (read() returns its Error)
    std::optional<ColumnMapping> columns; // set: a foreign log, fields mapped by position
    // Line 1 is a header. false: line 1 is data, except that a row whose ts field is not a
    // timestamp but contains letters ("time", "timestamp") is recognised as a header and skipped.
    // Without `columns` the header names the columns; with header == false the columns are then
    // in our canonical order ts,key,op,end_key,bytes,latency_us,client.
    bool header = true;
    TimeUnit time_unit = TimeUnit::Milliseconds; // for numeric ts
    char delimiter = ',';
    std::size_t max_line_bytes = 16u
                                 << 20; // longer lines are bad lines ("line longer than 16 MiB")
    // Checked before every line; when it becomes true the read stops and the summary says
    // stopped_early. Lets another thread (or the event callback) cancel a long read.
    const std::atomic<bool>* stop = nullptr;
};

struct BadLine {
    std::string_view file;
    std::uint64_t line = 0; // 1-based physical line number
    std::string_view reason;
};

// "FILE:LINE: reason".
std::string formatBadLine(const BadLine& bad);

struct TraceReadSummary {
    std::uint64_t lines = 0;     // physical lines seen, header and blank lines included
    std::uint64_t events = 0;    // good lines delivered to onEvent
    std::uint64_t bad_lines = 0; // lines reported to onBadLine
    std::uint64_t bytes = 0;     // bytes consumed
    TimeMs min_ts = 0;           // valid when events > 0
    TimeMs max_ts = 0;           // valid when events > 0
    bool stopped_early = false;  // TraceReadOptions::stop ended the read
};

// What line 1 decides for the whole file, settled once so that parts of the file can be read on
// their own: how fields map to columns, and where the data starts.
struct TraceLayout {
    ColumnMapping mapping;
    std::uint64_t data_begin = 0;   // byte offset of the first line after a skipped line 1
    std::uint64_t header_lines = 0; // 1 when line 1 is skipped (a header), else 0
};

// Part of a file for readRange(): the lines that *start* at a byte offset in [begin, end). Any
// offsets will do; ranges that tile the file read each line exactly once.
struct ByteRange {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
};

using EventCallback = FunctionRef<void(const TraceEvent&)>;
// An event of a parallel read and the index of the range (0 = first in the file) it comes from.
using RangeEventCallback = FunctionRef<void(std::size_t range, const TraceEvent&)>;
using BadLineCallback = FunctionRef<void(const BadLine&)>;
using ProgressCallback = FunctionRef<void(std::uint64_t bytesDone, std::uint64_t bytesTotal)>;

class TraceReader {
public:
    // Opens `path` ("-" = standard input). Errors: "FILE: cannot open: <reason>", bad options.
    static Result<TraceReader> open(std::string path, TraceReadOptions options = {});

    const std::string& path() const { return m_path; }
    // The name used in messages: the path, or "<stdin>".
    const std::string& displayName() const { return m_displayName; }
    std::uint64_t sizeBytes() const { return m_sizeBytes; } // 0 when unknown (pipe)
    bool seekable() const { return m_seekable; }
    const TraceReadOptions& options() const { return m_options; }

    // Reads the whole input once, in file order: onEvent for every good line, onBadLine for every
    // bad line (not called in strict mode, where the first bad line ends the read with the Error
    // "FILE:LINE: reason"), onProgress(bytesDone, bytesTotal) about every 4 MiB and once at the
    // end (bytesTotal 0 when unknown). A header that lacks a required column is an Error naming
    // the file, line 1 and the column. A seekable file can be read again; a pipe only once.
    Result<TraceReadSummary> read(EventCallback onEvent, BadLineCallback onBadLine = {},
                                  ProgressCallback onProgress = {});

    // Line 1's verdict for a seekable file (Error for a pipe), with read()'s errors for a bad
    // header; reads just line 1 and leaves read()'s position alone. Empty file: data_begin 0.
    Result<TraceLayout> layout() const;

    // Reads the lines that start in `range`, clipped to [layout.data_begin, sizeBytes()), with
    // read()'s rules and the layout's columns (no progress). Counts lines from the range's first
    // line: BadLine::line, the strict-mode Error and summary.lines are relative to the range;
    // summary.bytes covers exactly those lines, so over ranges that tile the data the summaries
    // add up to read()'s (plus the header). Safe to call from several threads at once: each call
    // opens the file again.
    Result<TraceReadSummary> readRange(const TraceLayout& layout, ByteRange range,
                                       EventCallback onEvent, BadLineCallback onBadLine = {}) const;

    // Bad lines that readParallel() keeps per range to hand on after the read (the rest are only
    // counted): enough for any report, bounded memory for a file of nothing but bad lines.
    static constexpr std::size_t kMaxBadLinesPerRange = 10000;

    // read() for a seekable file on `threads` threads: the data after the header is cut into as
    // many ranges of about equal size, one per thread (the calling thread reads the first), and
    // onEvent(range, event) is called concurrently for different ranges, in file order within
    // each. After all ranges finish, on the calling thread: onBadLine in file order with the true
    // line numbers, for at most kMaxBadLinesPerRange bad lines per range (summary.bad_lines counts
    // all); onProgress also runs on the calling thread. The summary of a complete read equals
    // read()'s. Memory: a mapping of the file per thread (page-cache pages, no copies; else a 1 MiB
    // buffer per thread). Pipes, strict mode (the first bad line must stop the read) and
    // threads <= 1 go through read(), with every event in range 0. An exception thrown by a
    // callback is rethrown once all threads have ended.
    Result<TraceReadSummary> readParallel(std::size_t threads, RangeEventCallback onEvent,
                                          BadLineCallback onBadLine = {},
                                          ProgressCallback onProgress = {});

    // About `count` keys (decoded bytes, in file order, repeats possible) from lines at random
    // offsets spread over the whole file, deterministic for `seed`; each offset skips to the next
    // line start, lines are parsed with read()'s rules and bad ones ignored. Only for seekable
    // files (Error otherwise). Reads roughly count small blocks, not the whole file.
    Result<std::vector<Key>> sampleKeys(std::size_t count, std::uint64_t seed) const;

private:
    struct FileCloser {
        void operator()(std::FILE* file) const;
    };
    using FileHandle = std::unique_ptr<std::FILE, FileCloser>;

    TraceReader() = default;

    std::string m_path;
    std::string m_displayName;
    TraceReadOptions m_options;
    FileHandle m_file;
    std::uint64_t m_sizeBytes = 0;
    bool m_seekable = false;
    bool m_consumed = false; // a pipe that has been read
};

} // namespace rangepilot
