#pragma once

// CommandLine: the option parser shared by rangepilot-plan's subcommands, rangepilot-load and
// rangepilot-node. Options are declared with their help text, so --help is generated from the same
// list that is parsed. Every error names the option and the value it did not accept.
//
// An option given twice keeps its last value unless rejectRepeatedOptions() was called. The
// column of the help text fits the longest option (at least 28 characters, wrapping past 40).
// Cost: parsing is linear in the arguments (a map lookup each).

#include "result.h"
#include "time_ms.h"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rangepilot {

// One entry of a tool's option table; an empty valueName makes it a flag.
struct OptionSpec {
    const char* name;
    const char* valueName;
    const char* help;
};

class CommandLine {
public:
    // `usage` is the synopsis line, e.g. "rangepilot-plan analyze TRACE [options]".
    CommandLine(std::string usage, std::string summary);

    void addFlag(const std::string& name, const std::string& help);
    void addOption(const std::string& name, const std::string& valueName, const std::string& help);
    // Every entry of a table, in order: addFlag or addOption as its valueName says.
    void addAll(std::span<const OptionSpec> specs);
    // Makes a second occurrence of any option or flag an error ("--name: given twice"), for tools
    // where a repeated flag is more likely a mistake than an override.
    void rejectRepeatedOptions() { m_rejectRepeats = true; }

    // Parses arguments (without the program and subcommand names): "--name value",
    // "--name=value", flags, and positionals; "-" alone is a positional (stdin).
    Status parse(const std::vector<std::string>& arguments);

    bool helpRequested() const { return m_help; }
    std::string helpText() const;

    bool has(const std::string& name) const;
    std::optional<std::string> value(const std::string& name) const;
    std::string valueOr(const std::string& name, const std::string& fallback) const;
    // The comma-separated items of a value, in order, empty items kept so the caller can refuse
    // them by name ("a,,b" gives "a", "", "b"; "--x=" gives one empty item); none when absent.
    std::vector<std::string> list(const std::string& name) const;
    const std::vector<std::string>& positionals() const { return m_positionals; }

    // Typed values; errors read like "--hours: 'x' is not a number".
    Result<double> number(const std::string& name, double fallback, double min, double max) const;
    Result<std::int64_t> integer(const std::string& name, std::int64_t fallback, std::int64_t min,
                                 std::int64_t max) const;
    // Durations: a number of seconds, or a number with a unit: ms, s, m, h, d ("5m", "1h").
    Result<TimeMs> duration(const std::string& name, TimeMs fallback, TimeMs min, TimeMs max) const;

private:
    struct Spec {
        std::string valueName; // empty for flags
        std::string help;
    };

    std::string m_usage;
    std::string m_summary;
    std::vector<std::string> m_order;
    std::map<std::string, Spec> m_specs;
    std::map<std::string, std::string> m_values;
    std::vector<std::string> m_positionals;
    bool m_help = false;
    bool m_rejectRepeats = false;
};

// Parses a duration such as "300", "90s", "5m", "1h", "2d", "250ms"; false on anything else.
bool parseDuration(const std::string& text, TimeMs& out);

} // namespace rangepilot
