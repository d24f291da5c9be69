#pragma once

// JsonWriter: streams one JSON document with correct string escaping and number formatting.
// The CLI's JSON field names are a contract read by other tools; this writer only guarantees the
// syntax. Non-finite numbers are written as null (JSON has no NaN or infinity).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rangepilot {

class JsonWriter {
public:
    JsonWriter& beginObject();
    JsonWriter& endObject();
    JsonWriter& beginArray();
    JsonWriter& endArray();
    JsonWriter& key(std::string_view name);

    JsonWriter& value(std::string_view text);
    JsonWriter& value(const char* text) { return value(std::string_view(text)); }
    JsonWriter& value(double number);
    JsonWriter& value(std::int64_t number);
    JsonWriter& value(std::uint64_t number);
    JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
    JsonWriter& value(bool flag);
    JsonWriter& null();

    template <typename T>
    JsonWriter& field(std::string_view name, const T& fieldValue) {
        key(name);
        return value(fieldValue);
    }

    // The document, pretty-printed with two-space indentation.
    const std::string& text() const { return m_text; }

private:
    void beforeValue();
    void newline();
    void closeContainer(char bracket);

    std::string m_text;
    // One entry per open container: whether it already has a member.
    std::vector<bool> m_hasMembers;
    bool m_afterKey = false;
};

std::string escapeJsonString(std::string_view text);

} // namespace rangepilot
