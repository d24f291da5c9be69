#include "timestamp.h"

#include <QtTest>

#include <limits>

using namespace rangepilot;

Q_DECLARE_METATYPE(rangepilot::TimeUnit)

namespace {

constexpr qint64 kNovember15 = 1731689870000; // 2024-11-15T16:57:50Z
constexpr TimeMs kUnchanged = 4242;

struct Parsed {
    bool ok = false;
    TimeMs value = kUnchanged;
    QString reason;
};

Parsed parse(const QString& text, TimeUnit unit = TimeUnit::Milliseconds) {
    Parsed parsed;
    const char* reason = nullptr;
    const std::string bytes = text.toStdString();
    parsed.ok = parseTimestamp(bytes, unit, parsed.value, reason);
    if (!parsed.ok)
        parsed.reason = QString::fromLatin1(reason);
    return parsed;
}

// A calendar written the slow, obvious way, to check the fast arithmetic against.
bool naiveLeap(std::int64_t year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int naiveDaysInMonth(std::int64_t year, int month) {
    static const int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && naiveLeap(year) ? 29 : kDays[month - 1];
}

} // namespace

class TestTimestamp : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void timeUnits_data();
    void timeUnits();
    void numbers_data();
    void numbers();
    void isoDates_data();
    void isoDates();
    void rejects_data();
    void rejects();
    void formats_data();
    void formats();
    void formatThenParseRoundTrips();
    void civilDaysMatchANaiveCalendar();
};

void TestTimestamp::timeUnits_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<TimeUnit>("unit");
    QTest::newRow("s") << QStringLiteral("s") << true << TimeUnit::Seconds;
    QTest::newRow("ms") << QStringLiteral("ms") << true << TimeUnit::Milliseconds;
    QTest::newRow("us") << QStringLiteral("us") << true << TimeUnit::Microseconds;
    QTest::newRow("ns") << QStringLiteral("ns") << true << TimeUnit::Nanoseconds;
    QTest::newRow("empty") << QString() << false << TimeUnit::Milliseconds;
    QTest::newRow("word") << QStringLiteral("sec") << false << TimeUnit::Milliseconds;
    QTest::newRow("upper case") << QStringLiteral("MS") << false << TimeUnit::Milliseconds;
}

void TestTimestamp::timeUnits() {
    QFETCH(QString, text);
    QFETCH(bool, valid);
    QFETCH(TimeUnit, unit);
    const std::optional<TimeUnit> parsed = parseTimeUnit(text.toStdString());
    QCOMPARE(parsed.has_value(), valid);
    if (valid) {
        QCOMPARE(*parsed, unit);
        QCOMPARE(QString::fromLatin1(timeUnitName(unit)), text);
    }
}

void TestTimestamp::numbers_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<TimeUnit>("unit");
    QTest::addColumn<qint64>("expected");
    const auto ms = TimeUnit::Milliseconds;
    const auto s = TimeUnit::Seconds;
    const auto us = TimeUnit::Microseconds;
    const auto ns = TimeUnit::Nanoseconds;
    QTest::newRow("ms, 13 digits")
        << QStringLiteral("1731689870123") << ms << qint64(1731689870123);
    QTest::newRow("ms, zero") << QStringLiteral("0") << ms << qint64(0);
    QTest::newRow("ms, leading zeros") << QStringLiteral("0000000000007") << ms << qint64(7);
    QTest::newRow("ms, 9 digits") << QStringLiteral("123456789") << ms << qint64(123456789);
    QTest::newRow("ms, 15 digits")
        << QStringLiteral("987654321098765") << ms << qint64(987654321098765);
    QTest::newRow("ms, 8 digits") << QStringLiteral("12345678") << ms << qint64(12345678);
    QTest::newRow("ms, 16 digits")
        << QStringLiteral("1234567890123456") << ms << qint64(1234567890123456);
    QTest::newRow("ms, 18 digits")
        << QStringLiteral("123456789012345678") << ms << qint64(123456789012345678);
    QTest::newRow("ms, negative") << QStringLiteral("-1") << ms << qint64(-1);
    QTest::newRow("ms, fraction dropped")
        << QStringLiteral("1731689870123.9") << ms << qint64(1731689870123);
    QTest::newRow("ms, negative fraction floors") << QStringLiteral("-5.5") << ms << qint64(-6);
    QTest::newRow("ms, max") << QStringLiteral("9223372036854775807") << ms
                             << std::numeric_limits<qint64>::max();
    QTest::newRow("ms, min") << QStringLiteral("-9223372036854775808") << ms
                             << std::numeric_limits<qint64>::min();
    QTest::newRow("s") << QStringLiteral("1731689870") << s << qint64(1731689870000);
    QTest::newRow("s, fraction") << QStringLiteral("1731689870.123") << s << qint64(1731689870123);
    QTest::newRow("s, short fraction")
        << QStringLiteral("1731689870.1") << s << qint64(1731689870100);
    QTest::newRow("s, long fraction truncates")
        << QStringLiteral("1731689870.123999") << s << qint64(1731689870123);
    QTest::newRow("s, negative") << QStringLiteral("-1.5") << s << qint64(-1500);
    QTest::newRow("s, negative sub-ms floors") << QStringLiteral("-0.0005") << s << qint64(-1);
    QTest::newRow("s, largest") << QStringLiteral("9223372036854775") << s
                                << qint64(9223372036854775000);
    QTest::newRow("us") << QStringLiteral("1731689870123456") << us << qint64(1731689870123);
    QTest::newRow("us, negative floors") << QStringLiteral("-1") << us << qint64(-1);
    QTest::newRow("ns") << QStringLiteral("1731689870123456789") << ns << qint64(1731689870123);
    QTest::newRow("ns, above int64")
        << QStringLiteral("18446744073709551615") << ns << qint64(18446744073709);
    QTest::newRow("iso ignores the unit")
        << QStringLiteral("2024-11-15T16:57:50Z") << ns << qint64(kNovember15);
}

void TestTimestamp::numbers() {
    QFETCH(QString, text);
    QFETCH(TimeUnit, unit);
    QFETCH(qint64, expected);
    const Parsed parsed = parse(text, unit);
    QVERIFY2(parsed.ok, qPrintable(parsed.reason));
    QCOMPARE(parsed.value, expected);
}

void TestTimestamp::isoDates_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<qint64>("expected");
    QTest::newRow("T and Z") << QStringLiteral("2024-11-15T16:57:50Z") << kNovember15;
    QTest::newRow("space, no zone") << QStringLiteral("2024-11-15 16:57:50") << kNovember15;
    QTest::newRow("lower case t and z") << QStringLiteral("2024-11-15t16:57:50z") << kNovember15;
    QTest::newRow("milliseconds") << QStringLiteral("2024-11-15T16:57:50.123Z")
                                  << kNovember15 + 123;
    QTest::newRow("one fraction digit")
        << QStringLiteral("2024-11-15T16:57:50.1Z") << kNovember15 + 100;
    QTest::newRow("nine fraction digits truncate")
        << QStringLiteral("2024-11-15T16:57:50.123999999Z") << kNovember15 + 123;
    QTest::newRow("comma fraction")
        << QStringLiteral("2024-11-15T16:57:50,5Z") << kNovember15 + 500;
    QTest::newRow("+hh:mm") << QStringLiteral("2024-11-15T18:57:50+02:00") << kNovember15;
    QTest::newRow("+hhmm") << QStringLiteral("2024-11-15T18:57:50+0200") << kNovember15;
    QTest::newRow("-hh") << QStringLiteral("2024-11-15T11:57:50-05") << kNovember15;
    QTest::newRow("half-hour zone")
        << QStringLiteral("2024-11-15T22:27:50.000+05:30") << kNovember15;
    QTest::newRow("zone crosses midnight")
        << QStringLiteral("2024-11-16T01:57:50+09:00") << kNovember15;
    QTest::newRow("no seconds") << QStringLiteral("2024-11-15T16:57Z") << kNovember15 - 50000;
    QTest::newRow("date only") << QStringLiteral("2024-11-15") << qint64(1731628800000);
    QTest::newRow("leap day") << QStringLiteral("2024-02-29T00:00:00Z") << qint64(1709164800000);
    QTest::newRow("leap day in 2000") << QStringLiteral("2000-02-29") << qint64(951782400000);
    QTest::newRow("leap second rolls over")
        << QStringLiteral("2016-12-31T23:59:60Z") << qint64(1483228800000);
    QTest::newRow("epoch") << QStringLiteral("1970-01-01T00:00:00.000Z") << qint64(0);
    QTest::newRow("just before 1970") << QStringLiteral("1969-12-31T23:59:59.999Z") << qint64(-1);
    QTest::newRow("pre-1970 with fraction")
        << QStringLiteral("1969-12-31T23:59:59.5Z") << qint64(-500);
    QTest::newRow("1900") << QStringLiteral("1900-01-01T00:00:00Z") << qint64(-2208988800000);
    QTest::newRow("year 1") << QStringLiteral("0001-01-01") << qint64(-62135596800000);
    QTest::newRow("year 0") << QStringLiteral("0000-01-01") << qint64(-62167219200000);
    QTest::newRow("year 9999") << QStringLiteral("9999-12-31T23:59:59.999Z")
                               << qint64(253402300799999);
}

void TestTimestamp::isoDates() {
    QFETCH(QString, text);
    QFETCH(qint64, expected);
    const Parsed parsed = parse(text);
    QVERIFY2(parsed.ok, qPrintable(parsed.reason));
    QCOMPARE(parsed.value, expected);
}

void TestTimestamp::rejects_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<TimeUnit>("unit");
    QTest::addColumn<QString>("reason");
    const auto ms = TimeUnit::Milliseconds;
    const QString notATimestamp = QStringLiteral("timestamp is not a number or ISO-8601 date");
    const QString overflows = QStringLiteral("timestamp overflows");
    QTest::newRow("empty") << QString() << ms << QStringLiteral("timestamp is empty");
    QTest::newRow("word") << QStringLiteral("abc") << ms << notATimestamp;
    QTest::newRow("trailing letter") << QStringLiteral("12a") << ms << notATimestamp;
    QTest::newRow("trailing letter after 8 digits")
        << QStringLiteral("1731689870123x") << ms << notATimestamp;
    QTest::newRow("exponent") << QStringLiteral("1e12") << ms << notATimestamp;
    QTest::newRow("dot only") << QStringLiteral(".") << ms << notATimestamp;
    QTest::newRow("minus only") << QStringLiteral("-") << ms << notATimestamp;
    QTest::newRow("plus sign") << QStringLiteral("+5") << ms << notATimestamp;
    QTest::newRow("dot without digits") << QStringLiteral("1.") << ms << notATimestamp;
    QTest::newRow("leading space") << QStringLiteral(" 123") << ms << notATimestamp;
    QTest::newRow("NUL byte") << QString(QStringLiteral("12") + QChar(0) + QStringLiteral("3"))
                              << ms << notATimestamp;
    QTest::newRow("fraction in us")
        << QStringLiteral("1.5") << TimeUnit::Microseconds << QStringLiteral("only units s and ms");
    QTest::newRow("fraction in ns")
        << QStringLiteral("1.5") << TimeUnit::Nanoseconds << QStringLiteral("only units s and ms");
    QTest::newRow("above int64") << QStringLiteral("9223372036854775808") << ms << overflows;
    QTest::newRow("below int64") << QStringLiteral("-9223372036854775809") << ms << overflows;
    QTest::newRow("below int64 by flooring")
        << QStringLiteral("-9223372036854775808.5") << ms << overflows;
    QTest::newRow("twenty digits") << QStringLiteral("99999999999999999999") << ms << overflows;
    QTest::newRow("seconds times 1000")
        << QStringLiteral("9223372036854776") << TimeUnit::Seconds << overflows;
    QTest::newRow("huge seconds") << QStringLiteral("18446744073709551615") << TimeUnit::Seconds
                                  << overflows;
    QTest::newRow("Feb 30") << QStringLiteral("2024-02-30") << ms
                            << QStringLiteral("day does not exist");
    QTest::newRow("Feb 29 in 2023")
        << QStringLiteral("2023-02-29T00:00:00Z") << ms << QStringLiteral("day does not exist");
    QTest::newRow("Feb 29 in 1900")
        << QStringLiteral("1900-02-29") << ms << QStringLiteral("day does not exist");
    QTest::newRow("April 31") << QStringLiteral("2024-04-31") << ms
                              << QStringLiteral("day does not exist");
    QTest::newRow("day 0") << QStringLiteral("2024-04-00") << ms
                           << QStringLiteral("day does not exist");
    QTest::newRow("month 13") << QStringLiteral("2024-13-01") << ms
                              << QStringLiteral("month is not 1-12");
    QTest::newRow("month 0") << QStringLiteral("2024-00-10") << ms
                             << QStringLiteral("month is not 1-12");
    QTest::newRow("hour 24") << QStringLiteral("2024-11-15T24:00:00Z") << ms
                             << QStringLiteral("hour is not 0-23");
    QTest::newRow("minute 60") << QStringLiteral("2024-11-15T23:60:00Z") << ms
                               << QStringLiteral("minute is not 0-59");
    QTest::newRow("second 61") << QStringLiteral("2024-11-15T23:59:61Z") << ms
                               << QStringLiteral("second is not 0-60");
    QTest::newRow("zone hour 25") << QStringLiteral("2024-11-15T23:59:59+25:00") << ms
                                  << QStringLiteral("zone offset");
    QTest::newRow("zone minute 60")
        << QStringLiteral("2024-11-15T23:59:59+01:60") << ms << QStringLiteral("zone offset");
    QTest::newRow("zone name") << QStringLiteral("2024-11-15T23:59:59 UTC") << ms << notATimestamp;
    QTest::newRow("zone with one digit")
        << QStringLiteral("2024-11-15T23:59:59+1") << ms << notATimestamp;
    QTest::newRow("zone then text")
        << QStringLiteral("2024-11-15T23:59:59Zx") << ms << notATimestamp;
    QTest::newRow("hour only") << QStringLiteral("2024-11-15T23") << ms << notATimestamp;
    QTest::newRow("empty fraction")
        << QStringLiteral("2024-11-15T16:57:50.Z") << ms << notATimestamp;
    QTest::newRow("slashes") << QStringLiteral("2024/11/15 16:57:50") << ms << notATimestamp;
    QTest::newRow("one-digit month") << QStringLiteral("2024-1-15 16:57:50") << ms << notATimestamp;
    QTest::newRow("bad separator") << QStringLiteral("2024-11-15X16:57:50") << ms << notATimestamp;
}

void TestTimestamp::rejects() {
    QFETCH(QString, text);
    QFETCH(TimeUnit, unit);
    QFETCH(QString, reason);
    const Parsed parsed = parse(text, unit);
    QVERIFY2(!parsed.ok, qPrintable(QStringLiteral("parsed as %1").arg(parsed.value)));
    QVERIFY2(parsed.reason.contains(reason), qPrintable(parsed.reason));
    QCOMPARE(parsed.value, kUnchanged);
}

void TestTimestamp::formats_data() {
    QTest::addColumn<qint64>("time");
    QTest::addColumn<QString>("text");
    QTest::newRow("epoch") << qint64(0) << QStringLiteral("1970-01-01T00:00:00.000Z");
    QTest::newRow("november") << kNovember15 + 123 << QStringLiteral("2024-11-15T16:57:50.123Z");
    QTest::newRow("one ms before 1970") << qint64(-1) << QStringLiteral("1969-12-31T23:59:59.999Z");
    QTest::newRow("leap day") << qint64(951782400000) << QStringLiteral("2000-02-29T00:00:00.000Z");
    QTest::newRow("1900") << qint64(-2208988800000) << QStringLiteral("1900-01-01T00:00:00.000Z");
    QTest::newRow("year 0") << qint64(-62167219200000)
                            << QStringLiteral("0000-01-01T00:00:00.000Z");
    QTest::newRow("year -1") << qint64(-62167219200001)
                             << QStringLiteral("-0001-12-31T23:59:59.999Z");
    QTest::newRow("year 10000") << qint64(253402300800000)
                                << QStringLiteral("+10000-01-01T00:00:00.000Z");
    QTest::newRow("int64 max") << std::numeric_limits<qint64>::max()
                               << QStringLiteral("+292278994-08-17T07:12:55.807Z");
    QTest::newRow("int64 min") << std::numeric_limits<qint64>::min()
                               << QStringLiteral("-292275055-05-16T16:47:04.192Z");
}

void TestTimestamp::formats() {
    QFETCH(qint64, time);
    QFETCH(QString, text);
    QCOMPARE(QString::fromStdString(formatIso8601(time)), text);
}

void TestTimestamp::formatThenParseRoundTrips() {
    // Deterministic values spread over years 0000-9999, plus every millisecond near the epoch.
    constexpr TimeMs kFirst = -62167219200000; // 0000-01-01
    constexpr TimeMs kLast = 253402300799999;  // 9999-12-31T23:59:59.999
    std::uint64_t state = 12345;
    std::vector<TimeMs> times;
    for (int i = 0; i < 20000; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        times.push_back(kFirst + static_cast<TimeMs>((state >> 11) % static_cast<std::uint64_t>(
                                                                         kLast - kFirst + 1)));
    }
    for (TimeMs time = -2000; time <= 2000; ++time)
        times.push_back(time);
    times.push_back(kFirst);
    times.push_back(kLast);
    for (const TimeMs time : times) {
        const std::string text = formatIso8601(time);
        TimeMs back = 0;
        const char* reason = nullptr;
        QVERIFY2(parseTimestamp(text, TimeUnit::Milliseconds, back, reason), text.c_str());
        QCOMPARE(back, time);
    }
}

void TestTimestamp::civilDaysMatchANaiveCalendar() {
    // Walk day by day from 1600-01-01 to 2400-12-31 and compare with the arithmetic.
    CivilDate date{1600, 1, 1};
    std::int64_t days = daysFromCivil(date);
    QCOMPARE(days, std::int64_t(-135140)); // 370 years of 365.2425 days before 1970
    while (date.year <= 2400) {
        QCOMPARE(daysFromCivil(date), days);
        const CivilDate back = civilFromDays(days);
        QCOMPARE(back.year, date.year);
        QCOMPARE(back.month, date.month);
        QCOMPARE(back.day, date.day);
        ++days;
        if (++date.day > naiveDaysInMonth(date.year, date.month)) {
            date.day = 1;
            if (++date.month > 12) {
                date.month = 1;
                ++date.year;
            }
        }
    }
}

QTEST_APPLESS_MAIN(TestTimestamp)
#include "tst_timestamp.moc"
