#include "display_text.h"

#include "migration_plan.h"
#include "timestamp.h"

#include <QByteArray>
#include <QLocale>

#include <array>
#include <cmath>

namespace rangepilot {

namespace display {

namespace {

// A fixed locale rather than the system's: figures, screenshots and tests read the same on every
// machine, and operators compare them across consoles.
const QLocale& numberLocale() {
    static const QLocale locale(QLocale::English, QLocale::UnitedStates);
    return locale;
}

QString shortened(QString text) {
    if (text.size() <= kMaxKeyChars)
        return text;
    text.truncate(kMaxKeyChars - 1);
    text.append(QChar(0x2026)); // …
    return text;
}

QString scaledBytes(double value, const char* suffix) {
    static constexpr std::array<const char*, 6> kUnits{"B", "kB", "MB", "GB", "TB", "PB"};
    std::size_t unit = 0;
    // Thresholds at the rounding edge, so 999,960 B reads "1.0 MB" rather than "1000.0 kB".
    while (unit + 1 < kUnits.size() && std::abs(value) >= (unit == 0 ? 999.5 : 999.95)) {
        value /= 1000.0;
        ++unit;
    }
    const QString number = unit == 0 ? numberLocale().toString(std::llround(value))
                                     : numberLocale().toString(value, 'f', 1);
    return number + QLatin1Char(' ') + QString::fromLatin1(kUnits[unit]) +
           QString::fromLatin1(suffix);
}

QString twoDigits(std::int64_t value) {
    return QStringLiteral("%1").arg(value, 2, 10, QLatin1Char('0'));
}

} // namespace

QString percent(double fraction) {
    if (!std::isfinite(fraction))
        return unknown();
    return QString::fromStdString(formatPercent(fraction));
}

QString bytes(double value) {
    return std::isfinite(value) ? scaledBytes(value, "") : unknown();
}

QString byteRate(double bytesPerSecond) {
    return std::isfinite(bytesPerSecond) ? scaledBytes(bytesPerSecond, "/s") : unknown();
}

QString count(double value) {
    if (!std::isfinite(value))
        return unknown();
    return numberLocale().toString(std::llround(value));
}

QString opsRate(double opsPerSecond) {
    if (!std::isfinite(opsPerSecond))
        return unknown();
    return count(opsPerSecond) + QStringLiteral(" ops/s");
}

QString utcTime(TimeMs time) {
    // Calendar arithmetic from the planner, not QDateTime: no time zone database involved, and
    // the same text as the CLI's reports for any TimeMs.
    const std::int64_t day = floorDiv(time, kMsPerDay);
    const std::int64_t msOfDay = time - day * kMsPerDay;
    const CivilDate date = civilFromDays(day);
    return QStringLiteral("%1-%2-%3 %4:%5")
        .arg(date.year, 4, 10, QLatin1Char('0'))
        .arg(twoDigits(date.month), twoDigits(date.day), twoDigits(msOfDay / kMsPerHour),
             twoDigits(msOfDay % kMsPerHour / kMsPerMinute));
}

QString key(std::string_view key) {
    return shortened(QString::fromStdString(formatKey(key)));
}

QString keyRange(const KeyRange& range) {
    const QString end = range.unboundedAbove() ? QStringLiteral("+inf") : key(range.end);
    return QLatin1Char('[') + key(range.start) + QStringLiteral(", ") + end + QLatin1Char(')');
}

QString fullKeyRange(const KeyRange& range) {
    return QString::fromStdString(formatKeyRange(range));
}

QString keyOrder(std::string_view key) {
    const QByteArray raw(key.data(), static_cast<qsizetype>(key.size()));
    return QString::fromLatin1(raw.toHex());
}

QString unknown() {
    return QString(QChar(0x2014)); // —
}

QVariant numberAlignment() {
    return QVariant(static_cast<int>((Qt::AlignRight | Qt::AlignVCenter).toInt()));
}

std::optional<QVariant> columnHeader(std::span<const ColumnHeader> headers, int section,
                                     Qt::Orientation orientation, int role) {
    if (orientation != Qt::Horizontal || section < 0 ||
        static_cast<std::size_t>(section) >= headers.size())
        return std::nullopt;
    const ColumnHeader& header = headers[static_cast<std::size_t>(section)];
    if (role == Qt::DisplayRole)
        return QString::fromUtf8(header.title);
    if (role == Qt::ToolTipRole)
        return QString::fromUtf8(header.toolTip);
    return QVariant();
}

} // namespace display

} // namespace rangepilot
