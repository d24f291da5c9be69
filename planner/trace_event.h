#pragma once

// One query of a trace or a live stream: when, which key (and scan end), what operation, how many
// bytes, how long it took. The string views point into the producer's buffer and are valid only
// during the callback that receives the event; copy what you keep.

#include "time_ms.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace rangepilot {

enum class Op : std::uint8_t { Get, Put, Delete, Scan };

inline constexpr int kOpCount = 4;

// "get", "put", "delete", "scan".
std::string_view opName(Op op);

// Case-insensitive; accepts the canonical names and common aliases found in foreign logs
// (read, set, write, insert, update, upsert, del, remove, range). Anything else is nullopt.
std::optional<Op> parseOp(std::string_view text);

inline constexpr bool isWrite(Op op) {
    return op == Op::Put || op == Op::Delete;
}

struct TraceEvent {
    TimeMs ts_ms = 0;
    std::string_view key;     // decoded bytes (hex already undone)
    std::string_view end_key; // scans only; empty otherwise (decoded)
    Op op = Op::Get;
    std::uint64_t bytes = 0;      // 0 when the trace has no bytes column
    std::uint64_t latency_us = 0; // 0 when the trace has no latency column
    std::string_view client;      // empty when absent
};

} // namespace rangepilot
