#include "trace_event.h"

#include <array>
#include <utility>

namespace rangepilot {

std::string_view opName(Op op) {
    switch (op) {
    case Op::Get:
        return "get";
    case Op::Put:
        return "put";
    case Op::Delete:
        return "delete";
    case Op::Scan:
        return "scan";
    }
    return "get";
}

namespace {

bool equalsIgnoringCase(std::string_view text, std::string_view lowercase) {
    if (text.size() != lowercase.size())
        return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c != lowercase[i])
            return false;
    }
    return true;
}

} // namespace

std::optional<Op> parseOp(std::string_view text) {
    static constexpr std::array<std::pair<std::string_view, Op>, 14> kNames{{
        {"get", Op::Get},
        {"read", Op::Get},
        {"put", Op::Put},
        {"set", Op::Put},
        {"write", Op::Put},
        {"insert", Op::Put},
        {"update", Op::Put},
        {"upsert", Op::Put},
        {"delete", Op::Delete},
        {"del", Op::Delete},
        {"remove", Op::Delete},
        {"scan", Op::Scan},
        {"range", Op::Scan},
        {"read_range", Op::Scan},
    }};
    for (const auto& [name, op] : kNames) {
        if (equalsIgnoringCase(text, name))
            return op;
    }
    return std::nullopt;
}

} // namespace rangepilot
