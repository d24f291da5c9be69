#include "cli_options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>
#include <utility>

namespace rangepilot {

CommandLine::CommandLine(std::string usage, std::string summary)
    : m_usage(std::move(usage))
    , m_summary(std::move(summary)) {}

void CommandLine::addFlag(const std::string& name, const std::string& help) {
    m_order.push_back(name);
    m_specs[name] = Spec{std::string(), help};
}

void CommandLine::addOption(const std::string& name, const std::string& valueName,
                            const std::string& help) {
    m_order.push_back(name);
    m_specs[name] = Spec{valueName, help};
}

void CommandLine::addAll(std::span<const OptionSpec> specs) {
    for (const OptionSpec& spec : specs) {
        if (spec.valueName[0] == '\0')
            addFlag(spec.name, spec.help);
        else
            addOption(spec.name, spec.valueName, spec.help);
    }
}

Status CommandLine::parse(const std::vector<std::string>& arguments) {
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        const std::string& argument = arguments[i];
        if (argument == "--help" || argument == "-h") {
            m_help = true;
            continue;
        }
        if (argument.size() < 3 || argument.compare(0, 2, "--") != 0) {
            m_positionals.push_back(argument);
            continue;
        }
        const std::size_t equals = argument.find('=');
        const std::string name = argument.substr(0, equals);
        const auto spec = m_specs.find(name);
        if (spec == m_specs.end())
            return Error{"unknown option '" + name + "' (see --help)"};
        if (m_rejectRepeats && m_values.count(name) > 0)
            return Error{name + ": given twice"};
        const bool takesValue = !spec->second.valueName.empty();
        if (!takesValue) {
            if (equals != std::string::npos)
                return Error{name + ": takes no value"};
            m_values[name] = "1";
            continue;
        }
        if (equals != std::string::npos) {
            m_values[name] = argument.substr(equals + 1);
        } else if (i + 1 < arguments.size()) {
            m_values[name] = arguments[++i];
        } else {
            return Error{name + ": needs a value (" + spec->second.valueName + ")"};
        }
    }
    return Status::success();
}

std::string CommandLine::helpText() const {
    // Help lines start in one column, two spaces past the longest "  --name VALUE" that is not
    // too long for it; longer ones put their help on the next line.
    constexpr std::size_t kMinColumn = 28;
    constexpr std::size_t kMaxColumn = 40;
    std::vector<std::pair<std::string, std::string>> lines;
    std::size_t column = kMinColumn;
    for (const std::string& name : m_order) {
        const Spec& spec = m_specs.at(name);
        std::string left = "  " + name;
        if (!spec.valueName.empty())
            left += " " + spec.valueName;
        if (left.size() + 2 <= kMaxColumn)
            column = std::max(column, left.size() + 2);
        lines.emplace_back(std::move(left), spec.help);
    }
    lines.emplace_back("  --help", "show this help");
    std::ostringstream out;
    out << "Usage: " << m_usage << "\n\n" << m_summary << "\n\nOptions:\n";
    for (const auto& [left, help] : lines) {
        out << left;
        if (left.size() + 2 <= column)
            out << std::string(column - left.size(), ' ');
        else
            out << "\n" << std::string(column, ' ');
        out << help << "\n";
    }
    return out.str();
}

bool CommandLine::has(const std::string& name) const {
    return m_values.count(name) > 0;
}

std::optional<std::string> CommandLine::value(const std::string& name) const {
    const auto it = m_values.find(name);
    if (it == m_values.end())
        return std::nullopt;
    return it->second;
}

std::string CommandLine::valueOr(const std::string& name, const std::string& fallback) const {
    return value(name).value_or(fallback);
}

std::vector<std::string> CommandLine::list(const std::string& name) const {
    std::vector<std::string> items;
    const auto text = value(name);
    if (!text)
        return items;
    std::size_t begin = 0;
    for (std::size_t comma = text->find(','); comma != std::string::npos;
         comma = text->find(',', begin)) {
        items.push_back(text->substr(begin, comma - begin));
        begin = comma + 1;
    }
    items.push_back(text->substr(begin));
    return items;
}

namespace {

bool parseWholeDouble(const std::string& text, double& out) {
    const char* end = text.data() + text.size();
    const auto result = std::from_chars(text.data(), end, out);
    return !text.empty() && result.ec == std::errc() && result.ptr == end && std::isfinite(out);
}

} // namespace

Result<double> CommandLine::number(const std::string& name, double fallback, double min,
                                   double max) const {
    const auto text = value(name);
    if (!text)
        return fallback;
    double parsed = 0;
    if (!parseWholeDouble(*text, parsed))
        return Error{name + ": '" + *text + "' is not a number"};
    if (parsed < min || parsed > max) {
        std::ostringstream message;
        message << name << ": " << *text << " is out of range [" << min << ", " << max << "]";
        return Error{message.str()};
    }
    return parsed;
}

Result<std::int64_t> CommandLine::integer(const std::string& name, std::int64_t fallback,
                                          std::int64_t min, std::int64_t max) const {
    const auto text = value(name);
    if (!text)
        return fallback;
    std::int64_t parsed = 0;
    const char* end = text->data() + text->size();
    const auto result = std::from_chars(text->data(), end, parsed);
    if (text->empty() || result.ec != std::errc() || result.ptr != end)
        return Error{name + ": '" + *text + "' is not a whole number"};
    if (parsed < min || parsed > max) {
        return Error{name + ": " + *text + " is out of range [" + std::to_string(min) + ", " +
                     std::to_string(max) + "]"};
    }
    return parsed;
}

bool parseDuration(const std::string& text, TimeMs& out) {
    static constexpr struct {
        const char* suffix;
        double ms;
    } kUnits[] = {{"ms", 1.0}, {"s", 1e3}, {"m", 6e4}, {"h", 3.6e6}, {"d", 8.64e7}};
    std::string digits = text;
    double unitMs = 1e3; // a bare number is seconds
    for (const auto& unit : kUnits) {
        const std::string suffix = unit.suffix;
        if (text.size() > suffix.size() &&
            text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0) {
            digits = text.substr(0, text.size() - suffix.size());
            unitMs = unit.ms;
            break;
        }
    }
    double amount = 0;
    if (!parseWholeDouble(digits, amount) || amount < 0 || amount * unitMs > 9.0e18)
        return false;
    out = static_cast<TimeMs>(std::llround(amount * unitMs));
    return true;
}

Result<TimeMs> CommandLine::duration(const std::string& name, TimeMs fallback, TimeMs min,
                                     TimeMs max) const {
    const auto text = value(name);
    if (!text)
        return fallback;
    TimeMs parsed = 0;
    if (!parseDuration(*text, parsed))
        return Error{name + ": '" + *text + "' is not a duration (examples: 300, 90s, 5m, 1h, 2d)"};
    if (parsed < min || parsed > max) {
        return Error{name + ": " + *text + " is out of range [" + std::to_string(min) + " ms, " +
                     std::to_string(max) + " ms]"};
    }
    return parsed;
}

} // namespace rangepilot
