#include "trace_reader.h"

#include <QtTest>

#include <atomic>
#include <fstream>
#include <set>
#include <stdexcept>
#include <sys/stat.h>
#include <thread>

using namespace rangepilot;

namespace {

template <std::size_t N>
QByteArray bytes(const char (&text)[N]) {
    return QByteArray(text, static_cast<qsizetype>(N - 1)); // keeps embedded NUL bytes
}

// Keys and clients as text when printable, else 0x + hex, so expectations stay readable.
QString printable(std::string_view data) {
    const bool plain = std::all_of(data.begin(), data.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
    if (plain)
        return QString::fromLatin1(data.data(), static_cast<qsizetype>(data.size()));
    return QStringLiteral("0x") +
           QString::fromLatin1(
               QByteArray(data.data(), static_cast<qsizetype>(data.size())).toHex());
}

// "ts|key|op|end_key|bytes|latency_us|client"
QString describe(const TraceEvent& event) {
    return QStringList{QString::number(event.ts_ms),
                       printable(event.key),
                       QString::fromLatin1(opName(event.op)),
                       printable(event.end_key),
                       QString::number(event.bytes),
                       QString::number(event.latency_us),
                       printable(event.client)}
        .join(QLatin1Char('|'));
}

struct Outcome {
    bool opened = false;
    bool ok = false;
    QString error;
    QStringList events;
    QStringList badLines; // "LINE: reason"
    QStringList badFiles; // BadLine::file of each
    TraceReadSummary summary;
};

Outcome readSequentially(const QString& path, const TraceReadOptions& options = {}) {
    Outcome outcome;
    Result<TraceReader> reader = TraceReader::open(path.toStdString(), options);
    if (!reader) {
        outcome.error = QString::fromStdString(reader.error().message);
        return outcome;
    }
    outcome.opened = true;
    const Result<TraceReadSummary> summary =
        reader->read([&](const TraceEvent& event) { outcome.events << describe(event); },
                     [&](const BadLine& bad) {
                         outcome.badLines << QStringLiteral("%1: %2").arg(bad.line).arg(
                             QString::fromStdString(std::string(bad.reason)));
                         outcome.badFiles << QString::fromStdString(std::string(bad.file));
                     });
    outcome.ok = summary.ok();
    if (summary)
        outcome.summary = summary.value();
    else
        outcome.error = QString::fromStdString(summary.error().message);
    return outcome;
}

QString describe(const TraceReadSummary& summary) {
    return QStringLiteral("lines %1 events %2 bad %3 bytes %4 ts %5..%6%7")
        .arg(summary.lines)
        .arg(summary.events)
        .arg(summary.bad_lines)
        .arg(summary.bytes)
        .arg(summary.min_ts)
        .arg(summary.max_ts)
        .arg(summary.stopped_early ? QStringLiteral(" stopped") : QString());
}

// The same outcome, or what differs first.
QString differences(const Outcome& expected, const Outcome& actual) {
    if (expected.ok != actual.ok || expected.error != actual.error)
        return QStringLiteral("error '%1' vs '%2'").arg(expected.error, actual.error);
    if (expected.events != actual.events)
        return QStringLiteral("events %1 vs %2")
            .arg(expected.events.join(QLatin1Char(' ')), actual.events.join(QLatin1Char(' ')));
    if (expected.badLines != actual.badLines || expected.badFiles != actual.badFiles)
        return QStringLiteral("bad lines %1 vs %2")
            .arg(expected.badLines.join(QLatin1Char(';')), actual.badLines.join(QLatin1Char(';')));
    if (expected.ok && describe(expected.summary) != describe(actual.summary))
        return QStringLiteral("summary %1 vs %2")
            .arg(describe(expected.summary), describe(actual.summary));
    return QString();
}

// readParallel() on `threads` threads, events in range order (each range in file order).
Outcome readTraceInParallel(const QString& path, const TraceReadOptions& options,
                            std::size_t threads,
                            std::vector<QStringList>* eventsByRange = nullptr) {
    Outcome outcome;
    Result<TraceReader> reader = TraceReader::open(path.toStdString(), options);
    if (!reader) {
        outcome.error = QString::fromStdString(reader.error().message);
        return outcome;
    }
    outcome.opened = true;
    std::vector<QStringList> ranges(threads);
    std::atomic<bool> rangeOutOfBounds{false};
    const Result<TraceReadSummary> summary = reader->readParallel(
        threads,
        [&](std::size_t range, const TraceEvent& event) {
            if (range < ranges.size())
                ranges[range] << describe(event);
            else
                rangeOutOfBounds = true;
        },
        [&](const BadLine& bad) {
            outcome.badLines << QStringLiteral("%1: %2").arg(bad.line).arg(
                QString::fromStdString(std::string(bad.reason)));
            outcome.badFiles << QString::fromStdString(std::string(bad.file));
        });
    for (const QStringList& range : ranges)
        outcome.events << range;
    if (rangeOutOfBounds)
        outcome.events << QStringLiteral("an event of a range that does not exist");
    outcome.ok = summary.ok();
    if (summary)
        outcome.summary = summary.value();
    else
        outcome.error = QString::fromStdString(summary.error().message);
    if (eventsByRange != nullptr)
        *eventsByRange = std::move(ranges);
    return outcome;
}

// Every trace read in this test is also read in parallel, which must make no difference.
void expectTheSameInParallel(const QString& path, const TraceReadOptions& options,
                             const Outcome& sequential) {
    for (const std::size_t threads : {2, 3, 7}) {
        const QString difference =
            differences(sequential, readTraceInParallel(path, options, threads));
        if (!difference.isEmpty()) {
            QTest::qFail(qPrintable(QStringLiteral("%1 threads: %2").arg(threads).arg(difference)),
                         __FILE__, __LINE__);
            return;
        }
    }
}

// read(), checked against readParallel().
Outcome readTrace(const QString& path, const TraceReadOptions& options = {}) {
    Outcome outcome = readSequentially(path, options);
    if (outcome.opened)
        expectTheSameInParallel(path, options, outcome);
    return outcome;
}

// A small deterministic generator for the fuzz tests.
class Lcg {
public:
    explicit Lcg(std::uint64_t seed)
        : m_state(seed * 2 + 1) {}
    std::uint64_t next() {
        m_state = m_state * 6364136223846793005ULL + 1442695040888963407ULL;
        return m_state >> 17;
    }
    int below(int bound) { return static_cast<int>(next() % static_cast<std::uint64_t>(bound)); }

private:
    std::uint64_t m_state;
};

} // namespace

class TestTraceReader : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();

    void ownFormat_data();
    void ownFormat();
    void summaryCountsLinesBytesAndTimes();
    void badHeader_data();
    void badHeader();
    void strictStopsAtTheFirstBadLine();
    void mappedFormat_data();
    void mappedFormat();
    void twoMegabyteLine();
    void linesOverTheLimitAreSkipped();
    void headerOverTheLimitIsAnError();
    void lineOfExactlyTheLimitIsRead();
    void fuzzValidLinesSurviveGarbage();
    void fuzzRandomBytesNeverCrash();
    void progressIsReportedAndEndsAtTheTotal();
    void stopFlagEndsTheRead();
    void readsASecondTime();
    void openErrors_data();
    void openErrors();
    void columnMapping_data();
    void columnMapping();
    void formatsBadLines();
    void sampleKeysComeFromTheFile();
    void sampleKeysIsDeterministic();
    void sampleKeysSkipsBadLinesAndDecodes();
    void sampleKeysOfMappedAndEmptyFiles();
    void sampleKeysNeedsASeekableFile();
    void plainAndQuotedFieldsReadAlike();
    void canonicalAndReorderedColumnsReadAlike_data();
    void canonicalAndReorderedColumnsReadAlike();
    void layoutSettlesLineOne_data();
    void layoutSettlesLineOne();
    void rangesTileTheFile_data();
    void rangesTileTheFile();
    void parallelReadOfGeneratedLines_data();
    void parallelReadOfGeneratedLines();
    void parallelReadKeepsTheFirstBadLinesOfEachRange();
    void parallelReadOfAPipeIsSequential();
    void parallelProgressIsReportedOnTheCallingThread();
    void parallelReadRethrowsACallbackException();
    void parallelReadStops();

private:
    QString write(const QString& name, const QByteArray& content);

    QTemporaryDir m_dir;
    int m_fileCounter = 0;
};

void TestTraceReader::initTestCase() {
    QVERIFY(m_dir.isValid());
}

QString TestTraceReader::write(const QString& name, const QByteArray& content) {
    const QString path = m_dir.filePath(QStringLiteral("%1-%2").arg(++m_fileCounter).arg(name));
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(content) != content.size())
        qFatal("cannot write the test file");
    return path;
}

void TestTraceReader::ownFormat_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QStringList>("events");
    QTest::addColumn<QStringList>("badLines");

    QTest::newRow("all columns") << bytes("ts,key,op,end_key,bytes,latency_us,client\n"
                                          "1000,user1,get,,512,180,c1\n"
                                          "1001,user2,put,,64,90,\n"
                                          "1002,user3,scan,user9,4096,700,c2\n"
                                          "1003,user4,delete,,0,0,c1\n")
                                 << QStringList{QStringLiteral("1000|user1|get||512|180|c1"),
                                                QStringLiteral("1001|user2|put||64|90|"),
                                                QStringLiteral("1002|user3|scan|user9|4096|700|c2"),
                                                QStringLiteral("1003|user4|delete||0|0|c1")}
                                 << QStringList{};
    QTest::newRow("only the required columns")
        << bytes("ts,key\n5,a\n6,b\n")
        << QStringList{QStringLiteral("5|a|get||0|0|"), QStringLiteral("6|b|get||0|0|")}
        << QStringList{};
    QTest::newRow("reordered and unknown columns")
        << bytes(
               "client,zone,key,bytes,ts,op,latency_us\nc1,eu,k1,10,1000,put,5\nc2,us,k2,,1001,,\n")
        << QStringList{QStringLiteral("1000|k1|put||10|5|c1"),
                       QStringLiteral("1001|k2|get||0|0|c2")}
        << QStringList{};
    QTest::newRow("header names ignore case and spaces")
        << bytes(" TS , Key ,OP\n1000,k,Get\n") << QStringList{QStringLiteral("1000|k|get||0|0|")}
        << QStringList{};
    QTest::newRow("quoted fields") << bytes("\"ts\",\"key\",op,client\n"
                                            "\"1000\",\"a,b\",get,\"x \"\"y\"\"\"\n"
                                            "1001,\"\",get,c\n"
                                            "1002,\"k\"\"q\",put,\"a,b\"\n"
                                            "1003,\"\"\"\",\"scan\",\"\"\n")
                                   << QStringList{QStringLiteral("1000|a,b|get||0|0|x \"y\""),
                                                  QStringLiteral("1002|k\"q|put||0|0|a,b"),
                                                  QStringLiteral("1003|\"|scan||0|0|")}
                                   << QStringList{QStringLiteral("3: empty key")};
    QTest::newRow("quote errors") << bytes("ts,key,client\n"
                                           "1,\"abc,x\n"
                                           "2,\"ab\"c,x\n"
                                           "3,ab\"c,x\"\n"
                                           "4,k,\"unterminated\n"
                                           "5,k,x\n")
                                  << QStringList{QStringLiteral("3|ab\"c|get||0|0|x\""),
                                                 QStringLiteral("5|k|get||0|0|x")}
                                  << QStringList{QStringLiteral("2: unterminated quote"),
                                                 QStringLiteral("3: text after a closing quote"),
                                                 QStringLiteral("5: unterminated quote")};
    QTest::newRow("hex keys")
        << bytes("ts,key,op,end_key\n1,0x00ff,get,\n2,0x6b,scan,0x6c\n3,0xabc,get,\n4,0x,get,\n"
                 "5,0xzz,get,\n6,0X41,get,\n7,0x6b,scan,0x6b\n")
        << QStringList{QStringLiteral("1|0x00ff|get||0|0|"), QStringLiteral("2|k|scan|l|0|0|"),
                       QStringLiteral("6|A|get||0|0|")}
        << QStringList{QStringLiteral("4: hex key has an odd number of digits"),
                       QStringLiteral("5: empty key"),
                       QStringLiteral("6: hex key has a character that is not a hex digit"),
                       QStringLiteral("8: scan end_key is not greater than key")};
    QTest::newRow("CRLF") << bytes("ts,key,op\r\n1,a,get\r\n2,b,put\r\n")
                          << QStringList{QStringLiteral("1|a|get||0|0|"),
                                         QStringLiteral("2|b|put||0|0|")}
                          << QStringList{};
    QTest::newRow("BOM") << bytes("\xEF\xBB\xBFts,key\n1,a\n")
                         << QStringList{QStringLiteral("1|a|get||0|0|")} << QStringList{};
    QTest::newRow("BOM and CRLF") << bytes("\xEF\xBB\xBFts,key\r\n1,a\r\n")
                                  << QStringList{QStringLiteral("1|a|get||0|0|")} << QStringList{};
    QTest::newRow("header only") << bytes("ts,key,op\n") << QStringList{} << QStringList{};
    QTest::newRow("header only, no newline") << bytes("ts,key") << QStringList{} << QStringList{};
    QTest::newRow("empty file") << QByteArray() << QStringList{} << QStringList{};
    QTest::newRow("blank lines") << bytes("ts,key\n\n1,a\n\r\n\n2,b\n\n")
                                 << QStringList{QStringLiteral("1|a|get||0|0|"),
                                                QStringLiteral("2|b|get||0|0|")}
                                 << QStringList{};
    QTest::newRow("last line without newline")
        << bytes("ts,key\n1,a\n2,b")
        << QStringList{QStringLiteral("1|a|get||0|0|"), QStringLiteral("2|b|get||0|0|")}
        << QStringList{};
    QTest::newRow("bad last line without newline")
        << bytes("ts,key\n1,a\nzz,b") << QStringList{QStringLiteral("1|a|get||0|0|")}
        << QStringList{QStringLiteral("3: timestamp is not a number or ISO-8601 date")};
    QTest::newRow("NUL bytes")
        << bytes("ts,key\n1,a\0b\n\0,k\n3,c\n")
        << QStringList{QStringLiteral("1|0x610062|get||0|0|"), QStringLiteral("3|c|get||0|0|")}
        << QStringList{QStringLiteral("3: timestamp is not a number or ISO-8601 date")};
    QTest::newRow("ISO timestamps")
        << bytes("ts,key\n2024-11-15T16:57:50.123Z,a\n\"2024-11-15 18:57:50+02:00\",b\n")
        << QStringList{QStringLiteral("1731689870123|a|get||0|0|"),
                       QStringLiteral("1731689870000|b|get||0|0|")}
        << QStringList{};
    QTest::newRow("bad timestamps")
        << bytes("ts,key\nabc,k\n2024-02-30,k\n99999999999999999999,k\n1,k\n-,k\n")
        << QStringList{QStringLiteral("1|k|get||0|0|")}
        << QStringList{QStringLiteral("2: timestamp is not a number or ISO-8601 date"),
                       QStringLiteral("3: timestamp day does not exist in that month"),
                       QStringLiteral("4: timestamp overflows"),
                       QStringLiteral("6: timestamp is not a number or ISO-8601 date")};
    QTest::newRow("spaces around numbers and op")
        << bytes("ts,key,op,bytes,latency_us\n 1000 ,k, put ,\t42 , 7\n1001, k ,get,  ,\n")
        << QStringList{QStringLiteral("1000|k|put||42|7|"), QStringLiteral("1001| k |get||0|0|")}
        << QStringList{};
    QTest::newRow("ops and aliases")
        << bytes("ts,key,op\n1,a,READ\n2,b,Set\n3,c,del\n4,d,range\n5,e,frobnicate\n6,f,\n"
                 "7,g,\x01\xff\n")
        << QStringList{QStringLiteral("1|a|get||0|0|"), QStringLiteral("2|b|put||0|0|"),
                       QStringLiteral("3|c|delete||0|0|"), QStringLiteral("4|d|scan||0|0|"),
                       QStringLiteral("6|f|get||0|0|")}
        << QStringList{QStringLiteral("6: unknown op 'frobnicate'"),
                       QStringLiteral("8: unknown op '\?\?'")};
    QTest::newRow("bad numbers")
        << bytes("ts,key,bytes,latency_us\n1,a,-5,1\n2,b,1.5,1\n3,c,abc,1\n"
                 "4,d,99999999999999999999,1\n5,e,1,-1\n6,f,18446744073709551615,0\n7,g,,\n"
                 "8,h,1,18446744073709551616\n")
        << QStringList{QStringLiteral("6|f|get||18446744073709551615|0|"),
                       QStringLiteral("7|g|get||0|0|")}
        << QStringList{QStringLiteral("2: bytes is not a non-negative integer"),
                       QStringLiteral("3: bytes is not a non-negative integer"),
                       QStringLiteral("4: bytes is not a non-negative integer"),
                       QStringLiteral("5: bytes is too large"),
                       QStringLiteral("6: latency_us is not a non-negative integer"),
                       QStringLiteral("9: latency_us is too large")};
    QTest::newRow("scans")
        << bytes("ts,key,op,end_key\n1,b,scan,c\n2,b,scan,b\n3,b,scan,a\n4,b,scan,\n5,b,get,a\n")
        << QStringList{QStringLiteral("1|b|scan|c|0|0|"), QStringLiteral("4|b|scan||0|0|"),
                       QStringLiteral("5|b|get||0|0|")}
        << QStringList{QStringLiteral("3: scan end_key is not greater than key"),
                       QStringLiteral("4: scan end_key is not greater than key")};
    QTest::newRow("missing fields")
        << bytes("ts,key,op\n1\n2,a\n3,b,get\n,c,get\n4,,get\n")
        << QStringList{QStringLiteral("3|b|get||0|0|")}
        << QStringList{QStringLiteral("2: missing field 'key' (line has 1 fields)"),
                       QStringLiteral("3: missing field 'op' (line has 2 fields)"),
                       QStringLiteral("5: timestamp is empty"), QStringLiteral("6: empty key")};
    QTest::newRow("long lines of many fields")
        << QByteArray("ts,a,b,c,d,e,f,g,h,i,j,key\n" + QByteArray("1,") +
                      QByteArray("xxxxxxxxxxxxxxxxxxxxxxxx,").repeated(10) + "k\n")
        << QStringList{QStringLiteral("1|k|get||0|0|")} << QStringList{};
}

void TestTraceReader::ownFormat() {
    QFETCH(QByteArray, content);
    QFETCH(QStringList, events);
    QFETCH(QStringList, badLines);
    const QString path = write(QStringLiteral("own.csv"), content);
    const Outcome outcome = readTrace(path);
    QVERIFY2(outcome.ok, qPrintable(outcome.error));
    QCOMPARE(outcome.events, events);
    QCOMPARE(outcome.badLines, badLines);
    QCOMPARE(outcome.summary.events, static_cast<std::uint64_t>(events.size()));
    QCOMPARE(outcome.summary.bad_lines, static_cast<std::uint64_t>(badLines.size()));
    QCOMPARE(outcome.summary.bytes, static_cast<std::uint64_t>(content.size()));
    for (const QString& file : outcome.badFiles)
        QCOMPARE(file, path);
}

void TestTraceReader::summaryCountsLinesBytesAndTimes() {
    const QByteArray content = bytes("ts,key\n50,a\n\n10,b\nbad,c\n30,d");
    const Outcome outcome = readTrace(write(QStringLiteral("summary.csv"), content));
    QVERIFY2(outcome.ok, qPrintable(outcome.error));
    QCOMPARE(outcome.summary.lines, std::uint64_t(6));
    QCOMPARE(outcome.summary.events, std::uint64_t(3));
    QCOMPARE(outcome.summary.bad_lines, std::uint64_t(1));
    QCOMPARE(outcome.summary.bytes, static_cast<std::uint64_t>(content.size()));
    QCOMPARE(outcome.summary.min_ts, TimeMs(10));
    QCOMPARE(outcome.summary.max_ts, TimeMs(50));
    QVERIFY(!outcome.summary.stopped_early);
}

void TestTraceReader::badHeader_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("message"); // after "FILE:"
    QTest::newRow("no ts") << bytes("time,key\n1,a\n")
                           << QStringLiteral("1: missing column 'ts' in the header");
    QTest::newRow("no key") << bytes("ts,k\n1,a\n")
                            << QStringLiteral("1: missing column 'key' in the header");
    QTest::newRow("data instead of a header")
        << bytes("1000,a\n")
        << QStringLiteral("1: missing column 'ts' in the header (line 1 looks like data: does the "
                          "file have no header?)");
    QTest::newRow("column twice") << bytes("ts,key,ts\n")
                                  << QStringLiteral("1: column 'ts' appears twice in the header");
    QTest::newRow("binary garbage")
        << bytes("\x01\x02\xff\n1,a\n") << QStringLiteral("1: missing column 'ts' in the header");
    QTest::newRow("blank first line")
        << bytes("\nts,key\n") << QStringLiteral("1: missing column 'ts' in the header");
    QTest::newRow("broken quote") << bytes("\"ts,key\n")
                                  << QStringLiteral("1: unterminated quote in the header");
}

void TestTraceReader::badHeader() {
    QFETCH(QByteArray, content);
    QFETCH(QString, message);
    const QString path = write(QStringLiteral("header.csv"), content);
    const Outcome outcome = readTrace(path);
    QVERIFY(outcome.opened);
    QVERIFY(!outcome.ok);
    QCOMPARE(outcome.error, path + QLatin1Char(':') + message);
    QVERIFY(outcome.events.isEmpty());
}

void TestTraceReader::strictStopsAtTheFirstBadLine() {
    const QString path = write(QStringLiteral("strict.csv"),
                               bytes("ts,key,op\n1,a,get\n\n2,b,x\n3,c,get\n4,,get\n"));
    TraceReadOptions options;
    options.strict = true;
    const Outcome outcome = readTrace(path, options);
    QVERIFY(!outcome.ok);
    QCOMPARE(outcome.error, path + QStringLiteral(":4: unknown op 'x'"));
    QCOMPARE(outcome.events, QStringList{QStringLiteral("1|a|get||0|0|")});
    QVERIFY(outcome.badLines.isEmpty()); // the Error carries it

    const Outcome lenient = readTrace(path);
    QVERIFY(lenient.ok);
    QCOMPARE(lenient.events.size(), 2);
    QCOMPARE(lenient.badLines,
             (QStringList{QStringLiteral("4: unknown op 'x'"), QStringLiteral("6: empty key")}));
}

void TestTraceReader::mappedFormat_data() {
    QTest::addColumn<QString>("columns"); // empty: no mapping
    QTest::addColumn<bool>("header");
    QTest::addColumn<QString>("unit");
    QTest::addColumn<QString>("delimiter");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QStringList>("events");
    QTest::addColumn<QStringList>("badLines");

    const QString tab = QStringLiteral("\t");
    const QString comma = QStringLiteral(",");
    QTest::newRow("tab log in seconds")
        << QStringLiteral("ts=2,key=1,op=4") << false << QStringLiteral("s") << tab
        << bytes("user1\t1731689870\tx\tGET\nuser2\t1731689870.5\ty\tSET\n")
        << QStringList{QStringLiteral("1731689870000|user1|get||0|0|"),
                       QStringLiteral("1731689870500|user2|put||0|0|")}
        << QStringList{};
    QTest::newRow("header row detected and skipped")
        << QStringLiteral("ts=2,key=1,op=4") << false << QStringLiteral("s") << tab
        << bytes("key\ttime\tz\top\nuser1\t5\tq\tget\n")
        << QStringList{QStringLiteral("5000|user1|get||0|0|")} << QStringList{};
    QTest::newRow("first row of data is kept")
        << QStringLiteral("ts=1,key=2") << false << QStringLiteral("ms") << comma
        << bytes("100,a\n200,b\n")
        << QStringList{QStringLiteral("100|a|get||0|0|"), QStringLiteral("200|b|get||0|0|")}
        << QStringList{};
    QTest::newRow("first row with digits-only bad ts is a bad line")
        << QStringLiteral("ts=1,key=2") << false << QStringLiteral("ms") << comma
        << bytes("99999999999999999999,a\n1,b\n") << QStringList{QStringLiteral("1|b|get||0|0|")}
        << QStringList{QStringLiteral("1: timestamp overflows")};
    QTest::newRow("first row of symbols is a bad line")
        << QStringLiteral("ts=1,key=2") << false << QStringLiteral("ms") << comma
        << bytes("###,a\n1,b\n") << QStringList{QStringLiteral("1|b|get||0|0|")}
        << QStringList{QStringLiteral("1: timestamp is not a number or ISO-8601 date")};
    QTest::newRow("header=true skips line 1 unread")
        << QStringLiteral("ts=1,key=2") << true << QStringLiteral("ms") << comma
        << bytes("1,a\n2,b\n") << QStringList{QStringLiteral("2|b|get||0|0|")} << QStringList{};
    QTest::newRow("microseconds") << QStringLiteral("key=1,ts=2") << false << QStringLiteral("us")
                                  << comma << bytes("k,1731689870123456\n")
                                  << QStringList{QStringLiteral("1731689870123|k|get||0|0|")}
                                  << QStringList{};
    QTest::newRow("nanoseconds") << QStringLiteral("key=1,ts=2") << false << QStringLiteral("ns")
                                 << comma << bytes("k,1731689870123456789\n")
                                 << QStringList{QStringLiteral("1731689870123|k|get||0|0|")}
                                 << QStringList{};
    QTest::newRow("ISO in a mapped log")
        << QStringLiteral("ts=1,key=2") << false << QStringLiteral("s") << comma
        << bytes("2024-11-15 16:57:50,k\n")
        << QStringList{QStringLiteral("1731689870000|k|get||0|0|")} << QStringList{};
    QTest::newRow("other columns ignored, short lines bad")
        << QStringLiteral("ts=3,key=1,bytes=5,client=6") << false << QStringLiteral("ms") << comma
        << bytes("a,x,10,extra,7,c9,more,\"unused \"\" quote\nb,y\nc,y,11,z,8\n")
        << QStringList{QStringLiteral("10|a|get||7|0|c9")}
        << QStringList{QStringLiteral("2: missing field 'ts' (line has 2 fields)"),
                       QStringLiteral("3: missing field 'client' (line has 5 fields)")};
    QTest::newRow("semicolons and quotes")
        << QStringLiteral("key=1,ts=2") << false << QStringLiteral("ms") << QStringLiteral(";")
        << bytes("\"a;b\";5\n\"c\"\"\";6\n")
        << QStringList{QStringLiteral("5|a;b|get||0|0|"), QStringLiteral("6|c\"|get||0|0|")}
        << QStringList{};
    QTest::newRow("canonical order without a header")
        << QString() << false << QStringLiteral("ms") << comma << bytes("1,a,put,,5,6,c\n")
        << QStringList{QStringLiteral("1|a|put||5|6|c")} << QStringList{};
    QTest::newRow("canonical order, header row detected")
        << QString() << false << QStringLiteral("ms") << comma
        << bytes("ts,key,op,end_key,bytes,latency_us,client\n1,a,put,,5,6,c\n")
        << QStringList{QStringLiteral("1|a|put||5|6|c")} << QStringList{};
}

void TestTraceReader::mappedFormat() {
    QFETCH(QString, columns);
    QFETCH(bool, header);
    QFETCH(QString, unit);
    QFETCH(QString, delimiter);
    QFETCH(QByteArray, content);
    QFETCH(QStringList, events);
    QFETCH(QStringList, badLines);

    TraceReadOptions options;
    if (!columns.isEmpty()) {
        const Result<ColumnMapping> mapping = parseColumnMapping(columns.toStdString());
        QVERIFY2(mapping.ok(), mapping.ok() ? "" : mapping.error().message.c_str());
        options.columns = mapping.value();
    }
    options.header = header;
    options.time_unit = *parseTimeUnit(unit.toStdString());
    options.delimiter = delimiter.toLatin1().at(0);
    const Outcome outcome = readTrace(write(QStringLiteral("mapped.log"), content), options);
    QVERIFY2(outcome.ok, qPrintable(outcome.error));
    QCOMPARE(outcome.events, events);
    QCOMPARE(outcome.badLines, badLines);
}

void TestTraceReader::twoMegabyteLine() {
    const QByteArray key(2 << 20, 'k');
    const QByteArray content = "ts,key\n1,a\n2," + key + "\n3,b\n";
    std::size_t longestKey = 0;
    int events = 0;
    Result<TraceReader> reader = TraceReader::open(
        write(QStringLiteral("two-mb.csv"), content).toStdString(), TraceReadOptions{});
    QVERIFY(reader.ok());
    const Result<TraceReadSummary> summary = reader->read([&](const TraceEvent& event) {
        ++events;
        longestKey = std::max(longestKey, event.key.size());
    });
    QVERIFY(summary.ok());
    QCOMPARE(events, 3);
    QCOMPARE(longestKey, static_cast<std::size_t>(key.size()));
    QCOMPARE(summary->bad_lines, std::uint64_t(0));
}

void TestTraceReader::linesOverTheLimitAreSkipped() {
    // Short lines, a line just over the limit, a multi-megabyte one that spans several read
    // blocks, and an over-long last line without a newline.
    const QByteArray content = "ts,key\n1,a\n2," + QByteArray(200, 'x') + "\n3,b\n4," +
                               QByteArray(3 << 20, 'y') + "\n5,c\n\n6,d\n7," + QByteArray(100, 'z');
    TraceReadOptions options;
    options.max_line_bytes = 64;
    const Outcome outcome = readTrace(write(QStringLiteral("long.csv"), content), options);
    QVERIFY2(outcome.ok, qPrintable(outcome.error));
    QCOMPARE(outcome.events,
             (QStringList{QStringLiteral("1|a|get||0|0|"), QStringLiteral("3|b|get||0|0|"),
                          QStringLiteral("5|c|get||0|0|"), QStringLiteral("6|d|get||0|0|")}));
    QCOMPARE(outcome.badLines, (QStringList{QStringLiteral("3: line longer than 64 bytes"),
                                            QStringLiteral("5: line longer than 64 bytes"),
                                            QStringLiteral("9: line longer than 64 bytes")}));
    QCOMPARE(outcome.summary.lines, std::uint64_t(9));

    options.max_line_bytes = 2 << 20;
    const Outcome mebibytes = readTrace(write(QStringLiteral("long2.csv"), content), options);
    QCOMPARE(mebibytes.badLines, QStringList{QStringLiteral("5: line longer than 2 MiB")});
    QCOMPARE(mebibytes.events.size(), 6); // the 200 and 100 byte lines are fine now
}

void TestTraceReader::headerOverTheLimitIsAnError() {
    TraceReadOptions options;
    options.max_line_bytes = 8;
    const QString path =
        write(QStringLiteral("long-header.csv"), bytes("ts,key,op,end_key\n1,a\n"));
    const Outcome outcome = readTrace(path, options);
    QVERIFY(!outcome.ok);
    QCOMPARE(outcome.error, path + QStringLiteral(":1: line longer than 8 bytes (the header)"));

    // A mapped log has its columns without line 1: the long line is just a bad line.
    options.columns = ColumnMapping{0, 1};
    options.header = false;
    const Outcome mapped = readTrace(path, options);
    QVERIFY(mapped.ok);
    QCOMPARE(mapped.badLines, QStringList{QStringLiteral("1: line longer than 8 bytes")});
    QCOMPARE(mapped.events, QStringList{QStringLiteral("1|a|get||0|0|")});
}

void TestTraceReader::lineOfExactlyTheLimitIsRead() {
    TraceReadOptions options;
    options.max_line_bytes = 10;
    const Outcome outcome = readTrace(
        write(QStringLiteral("exact.csv"), bytes("ts,key\n1,abcdefgh\n1,abcdefghi\n")), options);
    QVERIFY(outcome.ok);
    QCOMPARE(outcome.events, QStringList{QStringLiteral("1|abcdefgh|get||0|0|")});
    QCOMPARE(outcome.badLines, QStringList{QStringLiteral("3: line longer than 10 bytes")});
}

void TestTraceReader::fuzzValidLinesSurviveGarbage() {
    static const char* const kOps[] = {"get", "put", "scan", "delete", "READ", "set"};
    // A garbage line starts with a byte no timestamp can start with, so it is always bad.
    static const char kBadStarts[] = {'x', '#', '!', '~', '\x01', '\0', '\x80', '\xff', ','};
    for (std::uint64_t seed = 0; seed < 300; ++seed) {
        Lcg random(seed);
        QByteArray content = "ts,key,op,bytes\n";
        QStringList expectedKeys;
        int garbage = 0;
        const int lines = random.below(60);
        for (int i = 0; i < lines; ++i) {
            if (random.below(3) == 0) {
                QByteArray line(1, kBadStarts[random.below(static_cast<int>(sizeof kBadStarts))]);
                const int length = random.below(8) == 0 ? random.below(3000) : random.below(80);
                for (int b = 0; b < length; ++b) {
                    char c = static_cast<char>(random.below(256));
                    line += c == '\n' ? ',' : c;
                }
                content += line;
                ++garbage;
            } else {
                QByteArray key = "k";
                const int keyLength = random.below(20);
                for (int b = 0; b < keyLength; ++b)
                    key += static_cast<char>('a' + random.below(26));
                content +=
                    QByteArray::number(static_cast<qulonglong>(random.next() % 10000000000000ULL)) +
                    ',' + key + ',' + kOps[random.below(6)] + ',' +
                    QByteArray::number(random.below(100000));
                expectedKeys << QString::fromLatin1(key);
            }
            const bool last = i + 1 == lines;
            if (!last || random.below(2) == 0)
                content += random.below(4) == 0 ? "\r\n" : "\n";
        }

        TraceReadOptions options;
        if (seed % 3 == 0)
            options.max_line_bytes = 128; // some garbage lines take the too-long path
        Result<TraceReader> reader =
            TraceReader::open(write(QStringLiteral("fuzz.csv"), content).toStdString(), options);
        QVERIFY(reader.ok());
        QStringList keys;
        std::uint64_t badSeen = 0;
        const Result<TraceReadSummary> summary =
            reader->read([&](const TraceEvent& event) { keys << printable(event.key); },
                         [&](const BadLine&) { ++badSeen; });
        QVERIFY2(summary.ok(), qPrintable(QStringLiteral("seed %1").arg(seed)));
        const QString path = QString::fromStdString(reader->path());
        expectTheSameInParallel(path, options, readSequentially(path, options));
        QCOMPARE(keys, expectedKeys);
        QCOMPARE(summary->bad_lines, static_cast<std::uint64_t>(garbage));
        QCOMPARE(badSeen, summary->bad_lines);
    }
}

void TestTraceReader::fuzzRandomBytesNeverCrash() {
    for (std::uint64_t seed = 0; seed < 300; ++seed) {
        Lcg random(seed + 1000);
        QByteArray content = seed % 2 == 0 ? QByteArray("ts,key,op,end_key,bytes\n") : QByteArray();
        const int length = random.below(6000);
        for (int i = 0; i < length; ++i) {
            // Bias towards the characters the parser cares about.
            static const char kInteresting[] = ",\n\r\"\t0123456789-:T Z.x";
            content += random.below(2) == 0
                           ? kInteresting[random.below(static_cast<int>(sizeof kInteresting) - 1)]
                           : static_cast<char>(random.below(256));
        }
        TraceReadOptions options;
        switch (seed % 4) {
        case 1:
            options.columns = ColumnMapping{0, 1, 2, 3, 4, 5, 6};
            options.header = false;
            break;
        case 2:
            options.columns = ColumnMapping{2, 0};
            options.delimiter = '\t';
            options.max_line_bytes = 50;
            break;
        case 3:
            options.strict = true;
            break;
        default:
            break;
        }
        const Outcome outcome = readTrace(write(QStringLiteral("noise.bin"), content), options);
        QVERIFY(outcome.opened);
        if (outcome.ok) {
            QCOMPARE(outcome.summary.bytes, static_cast<std::uint64_t>(content.size()));
            QVERIFY(outcome.summary.events + outcome.summary.bad_lines <= outcome.summary.lines);
            QCOMPARE(outcome.summary.events, static_cast<std::uint64_t>(outcome.events.size()));
        } else {
            QVERIFY(!outcome.error.isEmpty());
        }
    }
}

void TestTraceReader::progressIsReportedAndEndsAtTheTotal() {
    QByteArray content = "ts,key,op,end_key,bytes,latency_us\n";
    while (content.size() < (9 << 20))
        content += "1732608000123,user0000123456,get,,512,180\n";
    const QString path = write(QStringLiteral("big.csv"), content);
    Result<TraceReader> reader = TraceReader::open(path.toStdString(), TraceReadOptions{});
    QVERIFY(reader.ok());
    QCOMPARE(reader->sizeBytes(), static_cast<std::uint64_t>(content.size()));
    QVERIFY(reader->seekable());
    QCOMPARE(QString::fromStdString(reader->path()), path);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
    const Result<TraceReadSummary> summary = reader->read(
        [](const TraceEvent&) {}, {},
        [&](std::uint64_t done, std::uint64_t total) { calls.emplace_back(done, total); });
    QVERIFY(summary.ok());
    QVERIFY2(calls.size() >= 2 && calls.size() <= 6, qPrintable(QString::number(calls.size())));
    for (std::size_t i = 1; i < calls.size(); ++i)
        QVERIFY(calls[i].first >= calls[i - 1].first);
    const auto total = static_cast<std::uint64_t>(content.size());
    QCOMPARE(calls.back().first, total);
    QCOMPARE(calls.back().second, total);
}

void TestTraceReader::stopFlagEndsTheRead() {
    std::atomic<bool> stop{false};
    TraceReadOptions options;
    options.stop = &stop;
    Result<TraceReader> reader = TraceReader::open(
        write(QStringLiteral("stop.csv"), bytes("ts,key\n1,a\n2,b\n3,c\n4,d\n5,e\n")).toStdString(),
        options);
    QVERIFY(reader.ok());
    int events = 0;
    const Result<TraceReadSummary> summary = reader->read([&](const TraceEvent&) {
        if (++events == 3)
            stop = true;
    });
    QVERIFY(summary.ok());
    QVERIFY(summary->stopped_early);
    QCOMPARE(events, 3);
    QCOMPARE(summary->events, std::uint64_t(3));
}

void TestTraceReader::readsASecondTime() {
    Result<TraceReader> reader = TraceReader::open(
        write(QStringLiteral("twice.csv"), bytes("ts,key\n1,a\nx,b\n2,c\n")).toStdString());
    QVERIFY(reader.ok());
    // Moving keeps the open file.
    TraceReader moved = std::move(reader.value());
    for (int round = 0; round < 2; ++round) {
        QStringList keys;
        const Result<TraceReadSummary> summary =
            moved.read([&](const TraceEvent& event) { keys << printable(event.key); });
        QVERIFY(summary.ok());
        QCOMPARE(keys, (QStringList{QStringLiteral("a"), QStringLiteral("c")}));
        QCOMPARE(summary->bad_lines, std::uint64_t(1));
    }
}

void TestTraceReader::openErrors_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("delimiter");
    QTest::addColumn<QString>("message"); // after "PATH: "
    QTest::newRow("missing file") << QStringLiteral("no-such-file.csv") << QStringLiteral(",")
                                  << QStringLiteral("cannot open: No such file or directory");
    QTest::newRow("directory") << QString() << QStringLiteral(",")
                               << QStringLiteral("cannot open: Is a directory");
    QTest::newRow("quote as delimiter")
        << QStringLiteral("x.csv") << QStringLiteral("\"")
        << QStringLiteral("the delimiter cannot be a quote or a line break");
}

void TestTraceReader::openErrors() {
    QFETCH(QString, name);
    QFETCH(QString, delimiter);
    QFETCH(QString, message);
    const QString path = name.isEmpty() ? m_dir.path() : m_dir.filePath(name);
    TraceReadOptions options;
    options.delimiter = delimiter.toLatin1().at(0);
    const Result<TraceReader> reader = TraceReader::open(path.toStdString(), options);
    QVERIFY(!reader.ok());
    QCOMPARE(QString::fromStdString(reader.error().message), path + QStringLiteral(": ") + message);
}

void TestTraceReader::columnMapping_data() {
    QTest::addColumn<QString>("spec");
    QTest::addColumn<QString>("error");      // empty: valid
    QTest::addColumn<QList<int>>("columns"); // ts, key, op, end_key, bytes, latency_us, client
    QTest::newRow("three") << QStringLiteral("ts=1,key=5,op=6") << QString()
                           << QList<int>{0, 4, 5, -1, -1, -1, -1};
    QTest::newRow("spaces and case")
        << QStringLiteral(" TS = 2 , Key=1 ") << QString() << QList<int>{1, 0, -1, -1, -1, -1, -1};
    QTest::newRow("all") << QStringLiteral(
                                "key=1,ts=2,end_key=3,bytes=4,latency_us=5,client=6,op=7")
                         << QString() << QList<int>{1, 0, 6, 2, 3, 4, 5};
    QTest::newRow("typo") << QStringLiteral("ts=1,kye=2")
                          << QStringLiteral("--columns: 'kye=2': unknown column 'kye' (known: ts, "
                                            "key, op, end_key, bytes, latency_us, client)")
                          << QList<int>{};
    QTest::newRow("no key") << QStringLiteral("ts=1")
                            << QStringLiteral("--columns: column 'key' is required")
                            << QList<int>{};
    QTest::newRow("no ts") << QStringLiteral("key=1,op=2")
                           << QStringLiteral("--columns: column 'ts' is required") << QList<int>{};
    QTest::newRow("empty") << QString()
                           << QStringLiteral("--columns: empty; expected e.g. ts=1,key=2,op=3")
                           << QList<int>{};
    QTest::newRow("empty item") << QStringLiteral("ts=1,,key=2")
                                << QStringLiteral("--columns: empty item in 'ts=1,,key=2'")
                                << QList<int>{};
    QTest::newRow("no position") << QStringLiteral("ts=1,key")
                                 << QStringLiteral("--columns: 'key': expected name=position")
                                 << QList<int>{};
    QTest::newRow("zero") << QStringLiteral("ts=0,key=1")
                          << QStringLiteral("--columns: 'ts=0': position must be a whole number "
                                            "from 1 to 10000")
                          << QList<int>{};
    QTest::newRow("negative") << QStringLiteral("ts=-1,key=1")
                              << QStringLiteral("--columns: 'ts=-1': position must be a whole "
                                                "number from 1 to 10000")
                              << QList<int>{};
    QTest::newRow("not a number") << QStringLiteral("ts=a,key=1")
                                  << QStringLiteral("--columns: 'ts=a': position must be a whole "
                                                    "number from 1 to 10000")
                                  << QList<int>{};
    QTest::newRow("too far") << QStringLiteral("ts=10001,key=1")
                             << QStringLiteral("--columns: 'ts=10001': position must be a whole "
                                               "number from 1 to 10000")
                             << QList<int>{};
    QTest::newRow("column twice") << QStringLiteral("ts=1,key=2,ts=3")
                                  << QStringLiteral("--columns: 'ts=3': column 'ts' is given twice")
                                  << QList<int>{};
    QTest::newRow("position twice")
        << QStringLiteral("ts=1,key=1")
        << QStringLiteral("--columns: 'key=1': position 1 is already given to 'ts'")
        << QList<int>{};
}

void TestTraceReader::columnMapping() {
    QFETCH(QString, spec);
    QFETCH(QString, error);
    QFETCH(QList<int>, columns);
    const Result<ColumnMapping> mapping = parseColumnMapping(spec.toStdString());
    if (!error.isEmpty()) {
        QVERIFY(!mapping.ok());
        QCOMPARE(QString::fromStdString(mapping.error().message), error);
        return;
    }
    QVERIFY2(mapping.ok(), mapping.ok() ? "" : mapping.error().message.c_str());
    const ColumnMapping& m = mapping.value();
    QCOMPARE((QList<int>{m.ts, m.key, m.op, m.end_key, m.bytes, m.latency_us, m.client}), columns);
}

void TestTraceReader::formatsBadLines() {
    QCOMPARE(formatBadLine(BadLine{"trace.csv", 12, "empty key"}),
             std::string("trace.csv:12: empty key"));
}

void TestTraceReader::sampleKeysComeFromTheFile() {
    QByteArray content = "ts,key\n";
    std::set<std::string> keys;
    for (int i = 0; i < 5000; ++i) {
        const QByteArray key = "key" + QByteArray::number(i).rightJustified(5, '0');
        content += QByteArray::number(1000 + i) + ',' + key + '\n';
        keys.insert(key.toStdString());
    }
    Result<TraceReader> reader =
        TraceReader::open(write(QStringLiteral("sample.csv"), content).toStdString());
    QVERIFY(reader.ok());
    const Result<std::vector<Key>> sample = reader->sampleKeys(300, 7);
    QVERIFY(sample.ok());
    QVERIFY2(sample->size() > 280 && sample->size() <= 300,
             qPrintable(QString::number(sample->size())));
    for (const Key& key : sample.value())
        QVERIFY2(keys.count(key) == 1, key.c_str());
    // Spread over the whole file, in file order.
    QVERIFY(sample->front() < "key00300");
    QVERIFY(sample->back() > "key04700");
    QVERIFY(std::is_sorted(sample->begin(), sample->end()));
}

void TestTraceReader::sampleKeysIsDeterministic() {
    QByteArray content = "ts,key\n";
    for (int i = 0; i < 2000; ++i)
        content += QByteArray::number(i) + ",k" + QByteArray::number(i * 7919 % 2000) + '\n';
    Result<TraceReader> reader =
        TraceReader::open(write(QStringLiteral("sample2.csv"), content).toStdString());
    QVERIFY(reader.ok());
    const Result<std::vector<Key>> first = reader->sampleKeys(100, 42);
    const Result<std::vector<Key>> again = reader->sampleKeys(100, 42);
    const Result<std::vector<Key>> other = reader->sampleKeys(100, 43);
    QVERIFY(first.ok() && again.ok() && other.ok());
    QCOMPARE(first.value(), again.value());
    QVERIFY(first.value() != other.value());
    // Sampling does not disturb a later full read.
    int events = 0;
    const Result<TraceReadSummary> summary = reader->read([&](const TraceEvent&) { ++events; });
    QVERIFY(summary.ok());
    QCOMPARE(events, 2000);
}

void TestTraceReader::sampleKeysSkipsBadLinesAndDecodes() {
    QByteArray content = "\xEF\xBB\xBFts,key\r\n";
    for (int i = 0; i < 1000; ++i) {
        content += i % 2 == 0 ? QByteArray("1,0x000") + QByteArray::number(i % 10) + "\r\n"
                              : QByteArray("bad line ") + QByteArray::number(i) + "\r\n";
    }
    Result<TraceReader> reader =
        TraceReader::open(write(QStringLiteral("sample3.csv"), content).toStdString());
    QVERIFY(reader.ok());
    const Result<std::vector<Key>> sample = reader->sampleKeys(200, 1);
    QVERIFY(sample.ok());
    QVERIFY(sample->size() > 50 && sample->size() < 150);
    for (const Key& key : sample.value()) {
        QCOMPARE(key.size(), std::size_t(2));
        QCOMPARE(key[0], '\0');
        QVERIFY(static_cast<unsigned char>(key[1]) < 10);
    }
}

void TestTraceReader::sampleKeysOfMappedAndEmptyFiles() {
    TraceReadOptions options;
    options.columns = ColumnMapping{1, 0};
    options.header = false;
    options.delimiter = '\t';
    QByteArray content;
    for (int i = 0; i < 500; ++i)
        content += "m" + QByteArray::number(i) + '\t' + QByteArray::number(i) + '\n';
    Result<TraceReader> mapped =
        TraceReader::open(write(QStringLiteral("mapped.tsv"), content).toStdString(), options);
    QVERIFY(mapped.ok());
    const Result<std::vector<Key>> sample = mapped->sampleKeys(50, 3);
    QVERIFY(sample.ok());
    QVERIFY(sample->size() > 40);
    for (const Key& key : sample.value())
        QVERIFY(key.size() > 1 && key[0] == 'm');

    Result<TraceReader> empty =
        TraceReader::open(write(QStringLiteral("empty.csv"), QByteArray()).toStdString());
    QVERIFY(empty.ok());
    const Result<std::vector<Key>> none = empty->sampleKeys(50, 3);
    QVERIFY(none.ok());
    QVERIFY(none->empty());

    Result<TraceReader> headless =
        TraceReader::open(write(QStringLiteral("headless.csv"), bytes("1,a\n2,b\n")).toStdString());
    QVERIFY(headless.ok());
    const Result<std::vector<Key>> refused = headless->sampleKeys(10, 3);
    QVERIFY(!refused.ok());
    QVERIFY(QString::fromStdString(refused.error().message).contains(QStringLiteral("'ts'")));
}

void TestTraceReader::sampleKeysNeedsASeekableFile() {
    Result<TraceReader> reader = TraceReader::open("-");
    QVERIFY(reader.ok());
    QVERIFY(!reader->seekable());
    QCOMPARE(reader->sizeBytes(), std::uint64_t(0));
    QCOMPARE(reader->displayName(), std::string("<stdin>"));
    const Result<std::vector<Key>> sample = reader->sampleKeys(10, 1);
    QVERIFY(!sample.ok());
    QCOMPARE(QString::fromStdString(sample.error().message),
             QStringLiteral("<stdin>: cannot sample keys: not a regular file"));
}

// Lines whose fields are plain take a one-pass path; the same lines with every field quoted take
// the general one. Both must give the same events and the same reasons for bad lines.
void TestTraceReader::plainAndQuotedFieldsReadAlike() {
    static const char* const kTimestamps[] = {"1732608000123",
                                              "0",
                                              "007",
                                              "999999999999999999",
                                              "1000000000000000000",
                                              "12a",
                                              "",
                                              " 5",
                                              "5 ",
                                              "-3",
                                              "2024-11-15T16:57:50Z",
                                              "1.5"};
    static const char* const kKeys[] = {
        "user0000123456", "k", "",   "0x0a0b", "0xZZ", "0X61", "with space",
        "quote\"inside",  "0", "x0x"};
    static const char* const kOps[] = {"get", "put",  "delete", "scan",       "",
                                       "GET", "read", " get",   "frobnicate", "de"};
    static const char* const kEndKeys[] = {"", "zzz", "a", "0x7a", "user0000123456"};
    static const char* const kCounts[] = {
        "512", "",   "0",  "18446744073709551615", "18446744073709551616", "9999999999999999999",
        "12x", " 7", "-1", "00000000000000000001"};
    static const char* const kClients[] = {"", "c1", "client-7", "a b"};
    Lcg random(99);
    QByteArray plain = "ts,key,op,end_key,bytes,latency_us,client\n";
    QByteArray quoted = plain;
    auto pick = [&](const auto& values) {
        return QByteArray(values[random.below(static_cast<int>(std::size(values)))]);
    };
    for (int line = 0; line < 4000; ++line) {
        QList<QByteArray> fields{pick(kTimestamps), pick(kKeys),   pick(kOps),    pick(kEndKeys),
                                 pick(kCounts),     pick(kCounts), pick(kClients)};
        // Mostly good lines; sometimes fields missing or extra.
        if (random.below(10) == 0)
            fields = fields.mid(0, random.below(7));
        else if (random.below(10) == 0)
            fields << "extra";
        if (fields.isEmpty() || (fields.size() == 1 && fields[0].isEmpty()))
            fields = {"1"}; // not a blank line, which would be skipped unquoted only
        if (random.below(3) != 0) {
            fields[0] = QByteArray::number(1'700'000'000'000LL + line);
            if (fields.size() > 1 && random.below(2) == 0)
                fields[1] = "user" + QByteArray::number(random.below(100000));
        }
        QList<QByteArray> quotedFields;
        for (const QByteArray& field : fields)
            quotedFields << '"' + QByteArray(field).replace("\"", "\"\"") + '"';
        plain += fields.join(',') + '\n';
        quoted += quotedFields.join(',') + '\n';
    }
    const Outcome fromPlain = readTrace(write(QStringLiteral("plain.csv"), plain));
    const Outcome fromQuoted = readTrace(write(QStringLiteral("quoted.csv"), quoted));
    QVERIFY(fromPlain.ok && fromQuoted.ok);
    QVERIFY(fromPlain.summary.events > 1000);
    QVERIFY(fromPlain.summary.bad_lines > 500);
    for (qsizetype i = 0; i < std::min(fromPlain.badLines.size(), fromQuoted.badLines.size()); ++i)
        QCOMPARE(fromPlain.badLines[i], fromQuoted.badLines[i]);
    QCOMPARE(fromPlain.badLines, fromQuoted.badLines);
    QCOMPARE(fromPlain.events, fromQuoted.events);
}

// Our own format in canonical column order takes the reader's fast path for ordinary lines; the
// same fields with the columns in reverse order never do. Both must read every line alike,
// including the edge cases that the fast path hands to the general one.
void TestTraceReader::canonicalAndReorderedColumnsReadAlike_data() {
    QTest::addColumn<bool>("withClient");
    QTest::addColumn<char>("delimiter");
    QTest::addColumn<int>("seed");
    QTest::newRow("with client") << true << ',' << 1;
    QTest::newRow("without client") << false << ',' << 2;
    QTest::newRow("tab, with client") << true << '\t' << 3;
}

void TestTraceReader::canonicalAndReorderedColumnsReadAlike() {
    QFETCH(bool, withClient);
    QFETCH(char, delimiter);
    QFETCH(int, seed);
    // The first value of each list is plain; the others probe the fast path's limits: timestamp
    // and count lengths around 8 and 16 digits, characters just outside '0'-'9', hex and empty
    // keys, quotes at a field's start (which may hide delimiters), scans, spaces.
    static const char* const kTimestamps[] = {"1732608000123",
                                              "1234567",
                                              "12345678",
                                              "1234567890123456",
                                              "12345678901234567",
                                              "999999999999999999",
                                              "12a4567890123",
                                              "",
                                              " 1732608000123",
                                              "1732608000123 ",
                                              "1732608000:23",
                                              "173260800/123",
                                              "2024-11-15T16:57:50Z"};
    static const char* const kKeys[] = {"user0000123456", "0x6162", "0user", "", "k",
                                        "\"q,key\"",      "a\"b",   " k"};
    static const char* const kOps[] = {"get", "put", "delete", "scan", "GET", " put", "", "x"};
    static const char* const kEndKeys[] = {"", "zzz", "\"unterminated", "\"q\"x", "0x7a", "a"};
    static const char* const kCounts[] = {
        "7", "", "0", "12345678", "123456789", "99999999999999999999", "1/", ":1", " 5", "1a"};
    static const char* const kClients[] = {"c1", "", "\"c,2\"", "\"bad", "a b"};
    Lcg random(static_cast<std::uint64_t>(seed));
    auto pick = [&](const auto& values) {
        return QByteArray(values[random.below(static_cast<int>(std::size(values)))]);
    };
    QList<QByteArray> names{"ts", "key", "op", "end_key", "bytes", "latency_us"};
    if (withClient)
        names << "client";
    QList<QByteArray> reversedNames(names.rbegin(), names.rend());
    QByteArray canonical = names.join(delimiter) + '\n';
    QByteArray reordered = reversedNames.join(delimiter) + '\n';
    for (int line = 0; line < 3000; ++line) {
        QList<QByteArray> fields{pick(kTimestamps), pick(kKeys),   pick(kOps),
                                 pick(kEndKeys),    pick(kCounts), pick(kCounts)};
        if (withClient)
            fields << pick(kClients);
        // Mostly plain lines, so that the fast path's answers are checked on many of them.
        if (random.below(2) == 0) {
            for (qsizetype i = 2; i < fields.size(); ++i) {
                if (random.below(4) != 0)
                    fields[i] = i == 2 ? "get" : i == 3 ? "" : i == 6 ? "c1" : "42";
            }
            fields[0] = QByteArray::number(1'700'000'000'000LL + random.below(1'000'000));
            fields[1] = "user" + QByteArray::number(random.below(100000));
        }
        // A quoted field runs to the next quote, which may be in a later field: then which
        // fields it swallows depends on the column order. So a line with a quoted field has
        // no other quote.
        const auto quotedField = std::find_if(
            fields.begin(), fields.end(), [](const QByteArray& f) { return f.startsWith('"'); });
        for (auto field = fields.begin(); field != fields.end(); ++field) {
            if (quotedField != fields.end() && field != quotedField && field->contains('"'))
                *field = "1";
        }
        QList<QByteArray> reversedFields(fields.rbegin(), fields.rend());
        canonical += fields.join(delimiter) + '\n';
        reordered += reversedFields.join(delimiter) + '\n';
    }
    TraceReadOptions options;
    options.delimiter = delimiter;
    const Outcome fromCanonical =
        readSequentially(write(QStringLiteral("canonical.csv"), canonical), options);
    const Outcome fromReordered =
        readSequentially(write(QStringLiteral("reordered.csv"), reordered), options);
    QVERIFY2(fromCanonical.ok && fromReordered.ok, qPrintable(fromCanonical.error));
    QVERIFY(fromCanonical.summary.events > 1000);
    QVERIFY(fromCanonical.summary.bad_lines > 300);
    QCOMPARE(fromCanonical.badLines, fromReordered.badLines);
    QCOMPARE(fromCanonical.events, fromReordered.events);
}

void TestTraceReader::layoutSettlesLineOne_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("columns"); // empty: our own format
    QTest::addColumn<bool>("header");
    QTest::addColumn<int>("maxLineBytes");
    QTest::addColumn<QString>("error"); // after "FILE", empty when none
    QTest::addColumn<QList<int>>("mapping");
    QTest::addColumn<int>("dataBegin");
    QTest::addColumn<int>("headerLines");

    const QList<int> canonical{0, 1, 2, 3, 4, 5, 6};
    QTest::newRow("own header") << bytes("key,x,ts\r\n1,2,3\n") << QString() << true << 1000
                                << QString() << QList<int>{2, 0, -1, -1, -1, -1, -1} << 10 << 1;
    QTest::newRow("byte order mark")
        << bytes("\xEF\xBB\xBFts,key\n1,a\n") << QString() << true << 1000 << QString()
        << QList<int>{0, 1, -1, -1, -1, -1, -1} << 10 << 1;
    QTest::newRow("header only, no newline")
        << bytes("ts,key") << QString() << true << 1000 << QString()
        << QList<int>{0, 1, -1, -1, -1, -1, -1} << 6 << 1;
    QTest::newRow("empty file") << QByteArray() << QString() << true << 1000 << QString()
                                << canonical << 0 << 0;
    QTest::newRow("bad header") << bytes("time,key\n1,a\n") << QString() << true << 1000
                                << QStringLiteral(":1: missing column 'ts' in the header")
                                << QList<int>{} << 0 << 0;
    QTest::newRow("header over the limit")
        << bytes("ts,key,op\n1,a\n") << QString() << true << 5
        << QStringLiteral(":1: line longer than 5 bytes (the header)") << QList<int>{} << 0 << 0;
    QTest::newRow("no header: line 1 is data")
        << bytes("1,a\n2,b\n") << QString() << false << 1000 << QString() << canonical << 0 << 0;
    QTest::newRow("no header: a header row is skipped")
        << bytes("ts,key\n2,b\n") << QString() << false << 1000 << QString() << canonical << 7 << 1;
    QTest::newRow("mapped, header skipped unread")
        << bytes("whatever\n2,b\n") << QStringLiteral("key=2,ts=1") << true << 1000 << QString()
        << QList<int>{0, 1, -1, -1, -1, -1, -1} << 9 << 1;
    QTest::newRow("mapped, long header skipped unread")
        << bytes("0123456789\n2,b\n") << QStringLiteral("key=2,ts=1") << true << 4 << QString()
        << QList<int>{0, 1, -1, -1, -1, -1, -1} << 11 << 1;
    QTest::newRow("mapped, long line 1 is data")
        << bytes("0123456789\n2,b\n") << QStringLiteral("key=2,ts=1") << false << 4 << QString()
        << QList<int>{0, 1, -1, -1, -1, -1, -1} << 0 << 0;
}

void TestTraceReader::layoutSettlesLineOne() {
    QFETCH(QByteArray, content);
    QFETCH(QString, columns);
    QFETCH(bool, header);
    QFETCH(int, maxLineBytes);
    QFETCH(QString, error);
    QFETCH(QList<int>, mapping);
    QFETCH(int, dataBegin);
    QFETCH(int, headerLines);
    TraceReadOptions options;
    if (!columns.isEmpty())
        options.columns = parseColumnMapping(columns.toStdString()).value();
    options.header = header;
    options.max_line_bytes = static_cast<std::size_t>(maxLineBytes);
    const QString path = write(QStringLiteral("layout.csv"), content);
    Result<TraceReader> reader = TraceReader::open(path.toStdString(), options);
    QVERIFY(reader.ok());
    const Result<TraceLayout> layout = reader->layout();
    if (!error.isEmpty()) {
        QVERIFY(!layout.ok());
        QCOMPARE(QString::fromStdString(layout.error().message), path + error);
        // read() fails the same way.
        QCOMPARE(readSequentially(path, options).error, path + error);
        return;
    }
    QVERIFY2(layout.ok(), layout.ok() ? "" : layout.error().message.c_str());
    const ColumnMapping& m = layout->mapping;
    QCOMPARE((QList<int>{m.ts, m.key, m.op, m.end_key, m.bytes, m.latency_us, m.client}), mapping);
    QCOMPARE(layout->data_begin, static_cast<std::uint64_t>(dataBegin));
    QCOMPARE(layout->header_lines, static_cast<std::uint64_t>(headerLines));
}

void TestTraceReader::rangesTileTheFile_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<bool>("mapped"); // ts=1,key=2 without a header
    QTest::addColumn<int>("maxLineBytes");
    QTest::newRow("own format, CRLF, blank and bad lines, no final newline")
        << bytes("ts,key,op\r\n1,a,get\r\n\r\nx,b,get\n2,c,put\n\n\n3,d,scan\n4,,get\n5,e") << false
        << 1000;
    QTest::newRow("byte order mark, line 1 is data") << bytes("\xEF\xBB\xBF"
                                                              "1,a\n2,b\nbad\n3,c\n")
                                                     << true << 1000;
    QTest::newRow("lines over the limit")
        << bytes("ts,key\n1,a\n2,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n3,b\n4,yyyyyyyyyyyyyyyyyyyyyyy")
        << false << 16;
    QTest::newRow("long line 1 is a bad data line")
        << bytes("1,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n2,b\n") << true << 16;
    QTest::newRow("header only") << bytes("ts,key\n") << false << 1000;
    QTest::newRow("newlines only") << bytes("ts,key\n\n\n\n") << false << 1000;
    QTest::newRow("empty") << QByteArray() << false << 1000;
}

// Cut anywhere, two ranges read every line once: together they make read()'s outcome.
void TestTraceReader::rangesTileTheFile() {
    QFETCH(QByteArray, content);
    QFETCH(bool, mapped);
    QFETCH(int, maxLineBytes);
    TraceReadOptions options;
    if (mapped) {
        options.columns = ColumnMapping{0, 1};
        options.header = false;
    }
    options.max_line_bytes = static_cast<std::size_t>(maxLineBytes);
    const QString path = write(QStringLiteral("tiles.csv"), content);
    const Outcome expected = readSequentially(path, options);
    QVERIFY2(expected.ok, qPrintable(expected.error));
    Result<TraceReader> reader = TraceReader::open(path.toStdString(), options);
    QVERIFY(reader.ok());
    const Result<TraceLayout> layout = reader->layout();
    QVERIFY(layout.ok());

    const auto size = static_cast<std::uint64_t>(content.size());
    for (std::uint64_t cut = 0; cut <= size + 1; ++cut) {
        Outcome actual;
        actual.opened = actual.ok = true;
        actual.summary.lines = layout->header_lines;
        actual.summary.bytes = layout->data_begin;
        for (const ByteRange range : {ByteRange{0, cut}, ByteRange{cut, size + 5}}) {
            const std::uint64_t linesBefore = actual.summary.lines;
            const Result<TraceReadSummary> part = reader->readRange(
                layout.value(), range,
                [&](const TraceEvent& event) { actual.events << describe(event); },
                [&](const BadLine& bad) {
                    actual.badLines << QStringLiteral("%1: %2")
                                           .arg(linesBefore + bad.line)
                                           .arg(QString::fromStdString(std::string(bad.reason)));
                    actual.badFiles << QString::fromStdString(std::string(bad.file));
                });
            QVERIFY(part.ok());
            actual.summary.lines += part->lines;
            actual.summary.bytes += part->bytes;
            actual.summary.bad_lines += part->bad_lines;
            if (part->events > 0) {
                actual.summary.min_ts = actual.summary.events == 0
                                            ? part->min_ts
                                            : std::min(actual.summary.min_ts, part->min_ts);
                actual.summary.max_ts = std::max(actual.summary.max_ts, part->max_ts);
            }
            actual.summary.events += part->events;
        }
        const QString difference = differences(expected, actual);
        QVERIFY2(difference.isEmpty(),
                 qPrintable(QStringLiteral("cut at %1: %2").arg(cut).arg(difference)));
    }
}

void TestTraceReader::parallelReadOfGeneratedLines_data() {
    QTest::addColumn<int>("lines");
    QTest::addColumn<int>("badEvery"); // 0: none
    QTest::newRow("fewer lines than ranges") << 3 << 0;
    QTest::newRow("a few thousand lines") << 5000 << 0;
    QTest::newRow("bad lines sprinkled in") << 5000 << 37;
    QTest::newRow("two mebibytes, bad lines") << 60000 << 1001;
}

void TestTraceReader::parallelReadOfGeneratedLines() {
    QFETCH(int, lines);
    QFETCH(int, badEvery);
    QByteArray content = "ts,key,op,end_key,bytes,latency_us\n";
    Lcg random(static_cast<std::uint64_t>(lines));
    for (int i = 0; i < lines; ++i) {
        if (badEvery > 0 && i % badEvery == badEvery - 1) {
            content += i % 2 == 0 ? "oops\n" : "1,k,frobnicate,,1,1\n";
            continue;
        }
        content += QByteArray::number(1'700'000'000'000LL + i * 13) + ",user" +
                   QByteArray::number(random.below(1'000'000)) + ",get,," +
                   QByteArray::number(random.below(5000)) + ',' +
                   QByteArray::number(random.below(900)) + (i % 5 == 0 ? "\r\n" : "\n");
    }
    const QString path = write(QStringLiteral("generated.csv"), content);
    const Outcome sequential = readSequentially(path);
    QVERIFY(sequential.ok);
    QCOMPARE(sequential.summary.events + sequential.summary.bad_lines,
             static_cast<std::uint64_t>(lines));
    for (const std::size_t threads : {2, 3, 7}) {
        std::vector<QStringList> byRange;
        const Outcome parallel = readTraceInParallel(path, {}, threads, &byRange);
        const QString difference = differences(sequential, parallel);
        QVERIFY2(difference.isEmpty(), qPrintable(difference));
        // Big enough files really are shared between the threads.
        if (lines >= 5000) {
            for (const QStringList& range : byRange)
                QVERIFY(!range.isEmpty());
        }
    }
}

void TestTraceReader::parallelReadKeepsTheFirstBadLinesOfEachRange() {
    QByteArray content = "ts,key\n";
    const int badLines = 25000;
    for (int i = 0; i < badLines; ++i)
        content += "bad\n";
    const QString path = write(QStringLiteral("all-bad.csv"), content);
    Result<TraceReader> reader = TraceReader::open(path.toStdString());
    QVERIFY(reader.ok());
    std::vector<std::uint64_t> reported;
    const Result<TraceReadSummary> summary =
        reader->readParallel(2, {}, [&](const BadLine& bad) { reported.push_back(bad.line); });
    QVERIFY(summary.ok());
    QCOMPARE(summary->bad_lines, std::uint64_t(badLines));
    QCOMPARE(summary->lines, std::uint64_t(badLines + 1));
    // Two ranges of 12,500 lines: the first 10,000 of each, with their true line numbers.
    QCOMPARE(reported.size(), 2 * TraceReader::kMaxBadLinesPerRange);
    QCOMPARE(reported.front(), std::uint64_t(2));
    QCOMPARE(reported[TraceReader::kMaxBadLinesPerRange - 1], std::uint64_t(10001));
    QCOMPARE(reported[TraceReader::kMaxBadLinesPerRange], std::uint64_t(12502));
    QCOMPARE(reported.back(), std::uint64_t(22501));
    QVERIFY(std::is_sorted(reported.begin(), reported.end()));
}

void TestTraceReader::parallelReadOfAPipeIsSequential() {
    const QString fifo = m_dir.filePath(QStringLiteral("reader-fifo"));
    QCOMPARE(::mkfifo(fifo.toLocal8Bit().constData(), 0600), 0);
    std::thread feeder([&] {
        std::ofstream out(fifo.toStdString(), std::ios::binary);
        out << "ts,key\n1,a\nbad\n2,b\n";
    });
    Result<TraceReader> reader = TraceReader::open(fifo.toStdString());
    QVERIFY(reader.ok());
    QVERIFY(!reader->seekable());
    QVERIFY(!reader->layout().ok());
    std::vector<std::size_t> ranges;
    std::vector<std::uint64_t> badLines;
    const Result<TraceReadSummary> summary = reader->readParallel(
        4, [&](std::size_t range, const TraceEvent&) { ranges.push_back(range); },
        [&](const BadLine& bad) { badLines.push_back(bad.line); });
    feeder.join();
    QVERIFY(summary.ok());
    QCOMPARE(ranges, (std::vector<std::size_t>{0, 0}));
    QCOMPARE(badLines, std::vector<std::uint64_t>{3});
}

void TestTraceReader::parallelProgressIsReportedOnTheCallingThread() {
    QByteArray content = "ts,key,op,end_key,bytes,latency_us\n";
    while (content.size() < (9 << 20))
        content += "1732608000123,user0000123456,get,,512,180\n";
    const QString path = write(QStringLiteral("big-parallel.csv"), content);
    Result<TraceReader> reader = TraceReader::open(path.toStdString());
    QVERIFY(reader.ok());
    const std::thread::id caller = std::this_thread::get_id();
    std::vector<std::uint64_t> done;
    bool otherThread = false;
    const Result<TraceReadSummary> summary =
        reader->readParallel(3, {}, {}, [&](std::uint64_t bytesDone, std::uint64_t total) {
            otherThread = otherThread || std::this_thread::get_id() != caller;
            QCOMPARE(total, static_cast<std::uint64_t>(content.size()));
            done.push_back(bytesDone);
        });
    QVERIFY(summary.ok());
    QVERIFY(!otherThread);
    // Reports along the way depend on how far the other ranges got while range 0 (on the calling
    // thread) was still reading, which is up to the scheduler: only the final report is certain.
    QVERIFY(!done.empty());
    QVERIFY(std::is_sorted(done.begin(), done.end()));
    QCOMPARE(done.back(), static_cast<std::uint64_t>(content.size()));
    QCOMPARE(summary->bytes, static_cast<std::uint64_t>(content.size()));
}

void TestTraceReader::parallelReadRethrowsACallbackException() {
    QByteArray content = "ts,key\n";
    for (int i = 0; i < 3000; ++i)
        content += QByteArray::number(i) + ",k\n";
    Result<TraceReader> reader =
        TraceReader::open(write(QStringLiteral("throws.csv"), content).toStdString());
    QVERIFY(reader.ok());
    bool caught = false;
    try {
        (void)reader->readParallel(3, [](std::size_t range, const TraceEvent&) {
            if (range == 1)
                throw std::runtime_error("callback failed");
        });
    } catch (const std::runtime_error& error) {
        caught = std::string(error.what()) == "callback failed";
    }
    QVERIFY(caught);
}

void TestTraceReader::parallelReadStops() {
    QByteArray content = "ts,key\n";
    for (int i = 0; i < 20000; ++i)
        content += QByteArray::number(i) + ",k\n";
    std::atomic<bool> stop{false};
    TraceReadOptions options;
    options.stop = &stop;
    Result<TraceReader> reader =
        TraceReader::open(write(QStringLiteral("stops.csv"), content).toStdString(), options);
    QVERIFY(reader.ok());
    std::atomic<std::uint64_t> events{0};
    const Result<TraceReadSummary> summary =
        reader->readParallel(2, [&](std::size_t, const TraceEvent&) {
            if (++events == 100)
                stop = true;
        });
    QVERIFY(summary.ok());
    QVERIFY(summary->stopped_early);
    QCOMPARE(summary->events, events.load());
    QVERIFY(events < 20000);
}

QTEST_APPLESS_MAIN(TestTraceReader)
#include "tst_trace_reader.moc"
