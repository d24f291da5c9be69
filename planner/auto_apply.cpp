#include "auto_apply.h"

#include <cmath>
#include <cstdio>

namespace rangepilot {

namespace {

constexpr int kMinutesPerDay = 24 * 60;

int minuteOfDay(TimeMs time) {
    return static_cast<int>(floorDiv(time, kMsPerMinute) % kMinutesPerDay + kMinutesPerDay) %
           kMinutesPerDay;
}

std::string formatMinute(int minute) {
    char text[16];
    std::snprintf(text, sizeof text, "%02d:%02d", minute / 60, minute % 60);
    return text;
}

// "1.9 GB", "120 MB", "512 kB": enough digits to compare against a limit.
std::string formatByteAmount(double bytes) {
    char text[32];
    if (bytes >= 1e9)
        std::snprintf(text, sizeof text, "%.1f GB", bytes / 1e9);
    else if (bytes >= 1e6)
        std::snprintf(text, sizeof text, "%.0f MB", bytes / 1e6);
    else
        std::snprintf(text, sizeof text, "%.0f kB", bytes / 1e3);
    return text;
}

// "HH:MM" with 0 <= HH < 24 and 0 <= MM < 60, surrounding blanks allowed.
std::optional<int> parseMinute(std::string text) {
    while (!text.empty() && text.front() == ' ')
        text.erase(text.begin());
    while (!text.empty() && text.back() == ' ')
        text.pop_back();
    int hours = 0;
    int minutes = 0;
    char extra = 0;
    if (text.size() < 4 || text.size() > 5 ||
        std::sscanf(text.c_str(), "%d:%d%c", &hours, &minutes, &extra) != 2)
        return std::nullopt;
    if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59)
        return std::nullopt;
    return hours * 60 + minutes;
}

} // namespace

bool DailyWindow::contains(TimeMs time) const {
    const int minute = minuteOfDay(time);
    if (start_minute <= end_minute)
        return minute >= start_minute && minute < end_minute;
    return minute >= start_minute || minute < end_minute;
}

std::optional<TimeMs> DailyWindow::nextOpening(TimeMs time) const {
    if (empty())
        return std::nullopt;
    if (contains(time))
        return time;
    const TimeMs dayStart = floorDiv(time, kMsPerDay) * kMsPerDay;
    TimeMs opening = dayStart + start_minute * kMsPerMinute;
    if (opening <= time)
        opening += kMsPerDay;
    return opening;
}

std::string formatDailyWindow(const DailyWindow& window) {
    return formatMinute(window.start_minute) + "\u2013" + formatMinute(window.end_minute) + " UTC";
}

Result<DailyWindow> parseDailyWindow(const std::string& input) {
    // What formatDailyWindow() writes parses back: a trailing " UTC" is allowed.
    std::string text = input;
    if (text.size() >= 4 && text.compare(text.size() - 4, 4, " UTC") == 0)
        text.resize(text.size() - 4);
    std::size_t dash = text.find('-');
    std::size_t dashLength = 1;
    if (dash == std::string::npos) {
        dash = text.find("\u2013");
        dashLength = std::string("\u2013").size();
    }
    if (dash == std::string::npos)
        return Error{"'" + input + "': expected a window like 22:00-06:00"};
    const std::optional<int> start = parseMinute(text.substr(0, dash));
    const std::optional<int> end = parseMinute(text.substr(dash + dashLength));
    if (!start || !end)
        return Error{"'" + input + "': times must be HH:MM between 00:00 and 23:59"};
    DailyWindow window{*start, *end};
    if (window.empty())
        return Error{"'" + input + "': the window is empty (it starts where it ends)"};
    return window;
}

Status validate(const DailyWindow& window) {
    if (window.start_minute < 0 || window.start_minute >= kMinutesPerDay)
        return Error{"start_minute must be in [0, 1439]"};
    if (window.end_minute < 0 || window.end_minute >= kMinutesPerDay)
        return Error{"end_minute must be in [0, 1439]"};
    return {};
}

Status validate(const AutoApplyGuardrails& guardrails) {
    if (guardrails.max_concurrent_moves < 1)
        return Error{"max_concurrent_moves must be at least 1"};
    if (!(guardrails.max_bytes_per_hour > 0.0) || !std::isfinite(guardrails.max_bytes_per_hour))
        return Error{"max_bytes_per_hour must be a positive number of bytes"};
    if (!(guardrails.min_gain >= 0.0 && guardrails.min_gain <= 1.0))
        return Error{"min_gain must be in [0, 1]"};
    if (guardrails.quiet_hours) {
        if (Status status = validate(*guardrails.quiet_hours); !status)
            return Error{"quiet_hours: " + status.message()};
    }
    return {};
}

std::optional<std::string> autoApplyRefusal(const MoveInstruction& move,
                                            const AutoApplyGuardrails& guardrails,
                                            const AutoApplyContext& context) {
    if (!guardrails.enabled)
        return "auto-apply is off";
    if (guardrails.quiet_hours && guardrails.quiet_hours->contains(context.now))
        return "quiet hours " + formatDailyWindow(*guardrails.quiet_hours);
    if (move.expected_gain < guardrails.min_gain)
        return "gain " + formatPercent(move.expected_gain) + " below the " +
               formatPercent(guardrails.min_gain) + " minimum";
    if (context.running_moves >= guardrails.max_concurrent_moves)
        return std::to_string(context.running_moves) + " moves running, the limit is " +
               std::to_string(guardrails.max_concurrent_moves);
    if (context.bytes_started_last_hour + move.bytes > guardrails.max_bytes_per_hour)
        return formatByteAmount(context.bytes_started_last_hour) + " started in the last hour; " +
               formatByteAmount(move.bytes) + " more would pass the " +
               formatByteAmount(guardrails.max_bytes_per_hour) + " limit";
    return std::nullopt;
}

} // namespace rangepilot
