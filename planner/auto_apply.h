#pragma once

// Auto-apply guardrails: whether the console may start one of the planner's proposed moves by
// itself, without an operator. Off by default. When on, a move starts automatically only if all
// of these hold, checked in this order so the refusal names the first rule that stops it:
//  - it is not quiet hours (a daily UTC window in which nothing starts automatically);
//  - its expected gain reaches min_gain (a small gain is not worth the copy);
//  - fewer than max_concurrent_moves moves are running (started and not yet ended, whoever
//    started them);
//  - the bytes of the moves started in the last hour plus this one stay within
//    max_bytes_per_hour (every move counts, the operators' too: the limit protects the cluster,
//    not a quota of the automation).
// The same DailyWindow type describes the maintenance window operators schedule moves into.
//
// Pure functions of their inputs (time is a parameter); O(1) each.

#include "migration_plan.h"
#include "result.h"
#include "time_ms.h"

#include <cstddef>
#include <optional>
#include <string>

namespace rangepilot {

// A window of every day, in minutes after midnight UTC: [start, end). end < start wraps past
// midnight (22:00–06:00); start == end is empty.
struct DailyWindow {
    int start_minute = 0; // 0..1439
    int end_minute = 0;   // 0..1439

    bool contains(TimeMs time) const;
    // The first time >= `time` at which the window is open: `time` itself inside it, else the
    // next start. Nullopt for an empty window.
    std::optional<TimeMs> nextOpening(TimeMs time) const;
    bool empty() const { return start_minute == end_minute; }
    bool operator==(const DailyWindow&) const = default;
};

// "22:00–06:00 UTC".
std::string formatDailyWindow(const DailyWindow& window);
// "22:00-06:00" (either dash, optionally followed by " UTC", so formatDailyWindow() parses
// back); an Error naming what is wrong otherwise.
Result<DailyWindow> parseDailyWindow(const std::string& text);
Status validate(const DailyWindow& window);

struct AutoApplyGuardrails {
    bool enabled = false;
    std::size_t max_concurrent_moves = 2;
    double max_bytes_per_hour = 2e9;
    std::optional<DailyWindow> quiet_hours;
    double min_gain = 0.05; // MoveInstruction::expected_gain, 0.05 = 5 points of the source's peak
    bool operator==(const AutoApplyGuardrails&) const = default;
};

// The first problem, naming the field ("max_concurrent_moves must be at least 1", ...).
Status validate(const AutoApplyGuardrails& guardrails);

// What the cluster is doing when a move is considered.
struct AutoApplyContext {
    TimeMs now = 0;
    std::size_t running_moves = 0;
    double bytes_started_last_hour = 0.0; // moves started in (now - 1 h, now]
};

// Why the move may not start automatically ("quiet hours 22:00–06:00 UTC", "gain 3% below the
// 5% minimum", "2 moves running, the limit is 2", "1.9 GB started in the last hour; 120 MB more
// would pass the 2.0 GB limit"), or nullopt when it may. Disabled guardrails refuse everything
// ("auto-apply is off").
std::optional<std::string> autoApplyRefusal(const MoveInstruction& move,
                                            const AutoApplyGuardrails& guardrails,
                                            const AutoApplyContext& context);

} // namespace rangepilot
