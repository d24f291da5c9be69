#include "key.h"

namespace rangepilot {

namespace {

bool isHexDigit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hexValue(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

bool looksLikeHexPrefix(std::string_view key) {
    return key.size() >= 2 && key[0] == '0' && (key[1] == 'x' || key[1] == 'X');
}

// Printable ASCII except the characters that need quoting in CSV or escaping in JSON.
bool isPlainKeyChar(unsigned char c) {
    return c > 0x20 && c < 0x7f && c != ',' && c != '"' && c != '\\' && c != ';' && c != '\t';
}

} // namespace

std::string formatKey(std::string_view key) {
    bool plain = !looksLikeHexPrefix(key);
    for (const char c : key) {
        if (!plain)
            break;
        plain = isPlainKeyChar(static_cast<unsigned char>(c));
    }
    if (plain)
        return std::string(key);

    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    text.reserve(2 + key.size() * 2);
    text += "0x";
    for (const char c : key) {
        const auto byte = static_cast<unsigned char>(c);
        text += kDigits[byte >> 4];
        text += kDigits[byte & 0xf];
    }
    return text;
}

std::string formatKeyRange(const KeyRange& range) {
    // Built with append rather than operator+ chains, which trip a GCC 12 -Wrestrict false
    // positive.
    std::string text = "[";
    text.append(formatKey(range.start));
    text.append(", ");
    text.append(range.unboundedAbove() ? std::string("+inf") : formatKey(range.end));
    text.append(")");
    return text;
}

bool decodeKeyText(std::string_view text, std::string& out, const char*& reason) {
    out.clear();
    if (!looksLikeHexPrefix(text)) {
        out.assign(text);
        return true;
    }
    const std::string_view digits = text.substr(2);
    if (digits.size() % 2 != 0) {
        reason = "hex key has an odd number of digits";
        return false;
    }
    out.reserve(digits.size() / 2);
    for (std::size_t i = 0; i < digits.size(); i += 2) {
        if (!isHexDigit(digits[i]) || !isHexDigit(digits[i + 1])) {
            reason = "hex key has a character that is not a hex digit";
            return false;
        }
        out += static_cast<char>(hexValue(digits[i]) * 16 + hexValue(digits[i + 1]));
    }
    return true;
}

Result<Key> parseKeyText(std::string_view text) {
    Key key;
    const char* reason = nullptr;
    if (!decodeKeyText(text, key, reason))
        return Error{std::string(reason)};
    return key;
}

} // namespace rangepilot
