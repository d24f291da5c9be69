#pragma once

// CommandLine: the option parser shared by rangepilot-plan's subcommands. Options are declared
// with their help text, so --help is generated from the same list that is parsed. Every error
// names the option and the value it did not accept.

#include "result.h"
#include "time_ms.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rangepilot {

class CommandLine {
public:
    // `usage` is the synopsis line, e.g. "rangepilot-plan analyze TRACE [options]".
    CommandLine(std::string usage, std::string summary);

    void addFlag(const std::string& name, const std::string& help);
    void addOption(const std::string& name, const std::string& valueName, const std::string& help);

    // Parses arguments (without the program and subcommand names): "--name value",
    // "--name=value", flags, and positionals; "-" alone is a positional (stdin).
    Status parse(const std::vector<std::string>& arguments);

    bool helpRequested() const { return m_help; }
    std::string helpText() const;

    bool has(const std::string& name) const;
    std::optional<std::string> value(const std::string& name) const;
    std::string valueOr(const std::string& name, const std::string& fallback) const;
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
};

// Parses a duration such as "300", "90s", "5m", "1h", "2d", "250ms"; false on anything else.
bool parseDuration(const std::string& text, TimeMs& out);

} // namespace rangepilot
