#pragma once

// The display text shared by every console model (namespace display), so numbers read the same in
// every table: "73%", "21.4 MB", "1,234 ops/s", "2026-01-05 19:20" (UTC), and keys in their
// formatKey() form, shortened with an ellipsis when long; plus the plumbing every table model
// shares (column headers, the span of changed columns). Formatting happens only when a view asks.

#include "key.h"
#include "time_ms.h"

#include <QString>
#include <QVariant>

#include <optional>
#include <span>
#include <string_view>
#include <utility>

namespace rangepilot {

namespace display {

// SortRole has this value in every console model, so one proxy setting fits them all: it answers
// a number (or plain text for names) that sorts the way the column means, where the display text
// would put "9%" after "10%".
inline constexpr int kSortRole = Qt::UserRole + 1;

// Keys longer than this (in their formatKey() form) are cut, ending in an ellipsis; tooltips
// carry the full text.
inline constexpr int kMaxKeyChars = 24;

QString percent(double fraction);            // 0.734 → "73%"
QString bytes(double bytes);                 // "512 B", "21.4 MB" (decimal: kB, MB, GB, TB, PB)
QString byteRate(double bytesPerSecond);     // "21.4 MB/s"
QString opsRate(double opsPerSecond);        // 1234.4 → "1,234 ops/s"
QString count(double value);                 // 1234.4 → "1,234"
QString utcTime(TimeMs time);                // "2026-01-05 19:20"
QString key(std::string_view key);           // formatKey(), shortened to kMaxKeyChars
QString keyRange(const KeyRange& range);     // "[a, b)" with shortened keys, "+inf" when unbounded
QString fullKeyRange(const KeyRange& range); // formatKeyRange(), never shortened
QString keyOrder(std::string_view key);      // lowercase hex of the bytes: sorts as the keys do
QString unknown();                           // "—", for a figure nobody has reported yet
QVariant numberAlignment();                  // Qt::TextAlignmentRole for numeric columns

// A column's title and tooltip, as every model's headerData() answers them.
struct ColumnHeader {
    const char* title;
    const char* toolTip;
};

// The header of `section` for a horizontal header (an empty QVariant for other roles); nothing
// for a vertical header or a section out of range, which the model leaves to its base class.
std::optional<QVariant> columnHeader(std::span<const ColumnHeader> headers, int section,
                                     Qt::Orientation orientation, int role);

// The first and last columns whose cells differ (sameCell(column) false), or nothing when a row
// looks the same: the span one dataChanged() covers, so a view repaints only what changed.
template <typename SameCell>
std::optional<std::pair<int, int>> changedColumnSpan(int columnCount, SameCell sameCell) {
    std::optional<std::pair<int, int>> span;
    for (int column = 0; column < columnCount; ++column) {
        if (sameCell(column))
            continue;
        if (!span)
            span.emplace(column, column);
        span->second = column;
    }
    return span;
}

} // namespace display

} // namespace rangepilot
