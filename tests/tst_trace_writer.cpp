#include "key.h"
#include "random.h"
#include "trace_writer.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdio>
#include <string>
#include <vector>

using namespace rangepilot;

namespace {

TraceEvent makeEvent(TimeMs ts, std::string_view key, Op op = Op::Get, std::uint64_t bytes = 0,
                     std::uint64_t latencyUs = 0, std::string_view endKey = {},
                     std::string_view client = {}) {
    TraceEvent event;
    event.ts_ms = ts;
    event.key = key;
    event.op = op;
    event.bytes = bytes;
    event.latency_us = latencyUs;
    event.end_key = endKey;
    event.client = client;
    return event;
}

QByteArray readAll(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

} // namespace

class TestTraceWriter : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();

    void writesExactRows();
    void clientColumn_data();
    void clientColumn();
    void emptyTraceHasHeader();
    void headerCanBeOmitted();
    void keysMatchFormatKey();
    void hexKeysRoundTrip();
    void longKeyGrowsBuffer();
    void manyRowsAcrossBufferFlushes();
    void movedWriterKeepsWriting();
    void writesToCallerFile();
    void diskFullIsReported();
    void unwritableFileIsReported();
    void unopenablePathIsReported();
    void writeAfterCloseFails();

private:
    QString pathOf(const char* name) const { return m_dir.filePath(QString::fromLatin1(name)); }

    QTemporaryDir m_dir;
};

void TestTraceWriter::init() {
    QVERIFY(m_dir.isValid());
}

void TestTraceWriter::writesExactRows() {
    const QString path = pathOf("exact.csv");
    auto writer = TraceCsvWriter::open(path.toStdString());
    QVERIFY2(writer.ok(), writer.ok() ? "" : writer.error().message.c_str());
    const std::string binaryKey("\x00\xff"
                                "ab",
                                4);
    QVERIFY(writer->write(makeEvent(1767571200000, "user0000000001", Op::Get, 1024, 250)).ok());
    QVERIFY(writer->write(makeEvent(1767571200000, binaryKey, Op::Put, 0, 7)).ok());
    QVERIFY(writer
                ->write(makeEvent(1767571200005, "user0000000010", Op::Scan, 40960, 1800,
                                  "user0000000026"))
                .ok());
    QVERIFY(writer->write(makeEvent(1767571200009, "0xabc", Op::Delete, 0, 0)).ok());
    QVERIFY(writer->write(makeEvent(-5, "a b", Op::Get, 18446744073709551615ULL, 1)).ok());
    QCOMPARE(writer->eventsWritten(), std::uint64_t(5));
    QVERIFY(writer->close().ok());

    const QByteArray expected = "ts,key,op,end_key,bytes,latency_us\n"
                                "1767571200000,user0000000001,get,,1024,250\n"
                                "1767571200000,0x00ff6162,put,,0,7\n"
                                "1767571200005,user0000000010,scan,user0000000026,40960,1800\n"
                                "1767571200009,0x3078616263,delete,,0,0\n"
                                "-5,0x612062,get,,18446744073709551615,1\n";
    QCOMPARE(readAll(path), expected);
    QCOMPARE(writer->bytesWritten(), std::uint64_t(expected.size()));
}

void TestTraceWriter::clientColumn_data() {
    QTest::addColumn<QString>("client");
    QTest::addColumn<QString>("field");
    QTest::newRow("plain") << QStringLiteral("client-7") << QStringLiteral("client-7");
    QTest::newRow("empty") << QString() << QString();
    QTest::newRow("comma") << QStringLiteral("web,eu") << QStringLiteral("\"web,eu\"");
    QTest::newRow("quote") << QStringLiteral("say \"hi\"") << QStringLiteral("\"say \"\"hi\"\"\"");
    QTest::newRow("newline") << QStringLiteral("a\nb") << QStringLiteral("\"a\nb\"");
}

void TestTraceWriter::clientColumn() {
    QFETCH(QString, client);
    QFETCH(QString, field);
    const QString path = pathOf("client.csv");
    TraceCsvWriterOptions options;
    options.include_client = true;
    auto writer = TraceCsvWriter::open(path.toStdString(), options);
    QVERIFY(writer.ok());
    const std::string clientText = client.toStdString();
    QVERIFY(writer->write(makeEvent(10, "k", Op::Get, 1, 2, {}, clientText)).ok());
    QVERIFY(writer->close().ok());
    const QByteArray expected =
        "ts,key,op,end_key,bytes,latency_us,client\n10,k,get,,1,2," + field.toUtf8() + "\n";
    QCOMPARE(readAll(path), expected);
}

void TestTraceWriter::emptyTraceHasHeader() {
    const QString path = pathOf("empty.csv");
    auto writer = TraceCsvWriter::open(path.toStdString());
    QVERIFY(writer.ok());
    QVERIFY(writer->close().ok());
    QCOMPARE(readAll(path), QByteArray("ts,key,op,end_key,bytes,latency_us\n"));
}

void TestTraceWriter::headerCanBeOmitted() {
    const QString path = pathOf("noheader.csv");
    TraceCsvWriterOptions options;
    options.write_header = false;
    auto writer = TraceCsvWriter::open(path.toStdString(), options);
    QVERIFY(writer.ok());
    QVERIFY(writer->write(makeEvent(1, "k", Op::Put, 3, 4)).ok());
    QVERIFY(writer->close().ok());
    QCOMPARE(readAll(path), QByteArray("1,k,put,,3,4\n"));
}

void TestTraceWriter::keysMatchFormatKey() {
    // The writer formats keys in place; it must agree with formatKey() byte for byte, for every
    // single byte and for random short keys over the whole byte range.
    std::vector<std::string> keys;
    for (int byte = 0; byte < 256; ++byte)
        keys.emplace_back(1, static_cast<char>(byte));
    keys.emplace_back("");
    keys.emplace_back("0x");
    keys.emplace_back("0X1f");
    keys.emplace_back("x0");
    keys.emplace_back("semi;colon");
    keys.emplace_back("back\\slash");
    Random random(77);
    for (int i = 0; i < 500; ++i) {
        std::string key(1 + random.uniformInt(6), '\0');
        for (char& c : key)
            c = static_cast<char>(random.uniformInt(256));
        keys.push_back(std::move(key));
    }

    const QString path = pathOf("keys.csv");
    TraceCsvWriterOptions options;
    options.write_header = false;
    auto writer = TraceCsvWriter::open(path.toStdString(), options);
    QVERIFY(writer.ok());
    for (const std::string& key : keys)
        QVERIFY(writer->write(makeEvent(0, key, Op::Scan, 0, 0, key)).ok());
    QVERIFY(writer->close().ok());

    QByteArray expected;
    for (const std::string& key : keys) {
        const QByteArray text = QByteArray::fromStdString(formatKey(key));
        // A scan with an empty end key writes an empty field, like any other op.
        expected += "0," + text + ",scan," + text + ",0,0\n";
    }
    QCOMPARE(readAll(path), expected);
}

void TestTraceWriter::hexKeysRoundTrip() {
    const std::string key("\x01,\"\n\x7f"
                          "0x",
                          7);
    const QString path = pathOf("roundtrip.csv");
    TraceCsvWriterOptions options;
    options.write_header = false;
    auto writer = TraceCsvWriter::open(path.toStdString(), options);
    QVERIFY(writer.ok());
    QVERIFY(writer->write(makeEvent(0, key)).ok());
    QVERIFY(writer->close().ok());
    const QList<QByteArray> fields = readAll(path).split(',');
    QCOMPARE(fields.size(), 6);
    const Result<Key> decoded = parseKeyText(fields[1].toStdString());
    QVERIFY(decoded.ok());
    QCOMPARE(*decoded, key);
}

void TestTraceWriter::longKeyGrowsBuffer() {
    const std::string key(10000, '\x02');
    const QString path = pathOf("long.csv");
    TraceCsvWriterOptions options;
    options.buffer_bytes = 4096;
    auto writer = TraceCsvWriter::open(path.toStdString(), options);
    QVERIFY(writer.ok());
    QVERIFY(writer->write(makeEvent(1, "short")).ok());
    QVERIFY(writer->write(makeEvent(2, key)).ok());
    QVERIFY(writer->write(makeEvent(3, "after")).ok());
    QVERIFY(writer->close().ok());
    const QList<QByteArray> lines = readAll(path).split('\n');
    QCOMPARE(lines.size(), 5); // header, three rows, empty tail
    QCOMPARE(lines[2].size(), qsizetype(2 + 2 + 20000 + 9));
    QVERIFY(lines[2].startsWith("2,0x0202"));
    QCOMPARE(lines[3], QByteArray("3,after,get,,0,0"));
}

void TestTraceWriter::manyRowsAcrossBufferFlushes() {
    const QString path = pathOf("many.csv");
    TraceCsvWriterOptions options;
    options.buffer_bytes = 4096;
    auto writer = TraceCsvWriter::open(path.toStdString(), options);
    QVERIFY(writer.ok());
    const int rows = 20000;
    std::string key = "key000000";
    for (int i = 0; i < rows; ++i) {
        const std::string digits = std::to_string(i);
        key.replace(key.size() - digits.size(), digits.size(), digits);
        QVERIFY(writer->write(makeEvent(1000 + i, key, Op::Get, static_cast<std::uint64_t>(i), 5))
                    .ok());
    }
    QVERIFY(writer->close().ok());
    const QByteArray content = readAll(path);
    QCOMPARE(writer->bytesWritten(), std::uint64_t(content.size()));
    const QList<QByteArray> lines = content.split('\n');
    QCOMPARE(lines.size(), rows + 2);
    QCOMPARE(lines[1], QByteArray("1000,key000000,get,,0,5"));
    QCOMPARE(lines[rows], QByteArray("20999,key019999,get,,19999,5"));
}

void TestTraceWriter::movedWriterKeepsWriting() {
    const QString path = pathOf("moved.csv");
    auto opened = TraceCsvWriter::open(path.toStdString());
    QVERIFY(opened.ok());
    TraceCsvWriter writer = std::move(opened).value();
    QVERIFY(writer.write(makeEvent(1, "a")).ok());
    TraceCsvWriter moved = std::move(writer);
    QVERIFY(moved.write(makeEvent(2, "b")).ok());
    QCOMPARE(moved.eventsWritten(), std::uint64_t(2));
    QVERIFY(moved.close().ok());
    QCOMPARE(readAll(path),
             QByteArray("ts,key,op,end_key,bytes,latency_us\n1,a,get,,0,0\n2,b,get,,0,0\n"));
}

void TestTraceWriter::writesToCallerFile() {
    // A FILE* stays the caller's: close() flushes it but does not close it.
    const QString path = pathOf("caller.csv");
    std::FILE* file = std::fopen(path.toLocal8Bit().constData(), "wb");
    QVERIFY(file != nullptr);
    {
        TraceCsvWriter writer(file, "caller.csv");
        QVERIFY(writer.write(makeEvent(5, "k")).ok());
        QVERIFY(writer.close().ok());
    }
    QCOMPARE(std::fputs("tail\n", file) >= 0, true);
    QCOMPARE(std::fclose(file), 0);
    QCOMPARE(readAll(path), QByteArray("ts,key,op,end_key,bytes,latency_us\n5,k,get,,0,0\ntail\n"));
}

void TestTraceWriter::diskFullIsReported() {
    if (!QFile::exists(QStringLiteral("/dev/full")))
        QSKIP("no /dev/full on this system");
    TraceCsvWriterOptions options;
    options.buffer_bytes = 4096;
    auto writer = TraceCsvWriter::open("/dev/full", options);
    QVERIFY(writer.ok());
    Status status;
    // Enough rows to overflow the buffer: the error surfaces on a write, not only at the end.
    for (int i = 0; i < 1000 && status.ok(); ++i)
        status = writer->write(makeEvent(i, "user0000000001", Op::Get, 100, 100));
    QVERIFY(!status.ok());
    QVERIFY2(status.message().find("/dev/full") != std::string::npos, status.message().c_str());
    QVERIFY2(status.message().find("No space left") != std::string::npos, status.message().c_str());
    // The error is sticky.
    QVERIFY(!writer->write(makeEvent(1, "k")).ok());
    QVERIFY(!writer->flush().ok());
    QVERIFY(!writer->close().ok());
}

void TestTraceWriter::unwritableFileIsReported() {
    const QString path = pathOf("readonly.csv");
    {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
    }
    std::FILE* file = std::fopen(path.toLocal8Bit().constData(), "rb");
    QVERIFY(file != nullptr);
    TraceCsvWriter writer(file, "readonly.csv");
    QVERIFY(writer.write(makeEvent(1, "k")).ok()); // still in the writer's buffer
    const Status flushed = writer.flush();
    QVERIFY(!flushed.ok());
    QVERIFY2(flushed.message().find("cannot write to 'readonly.csv'") != std::string::npos,
             flushed.message().c_str());
    std::fclose(file);
}

void TestTraceWriter::unopenablePathIsReported() {
    const std::string path = pathOf("no-such-dir/trace.csv").toStdString();
    auto writer = TraceCsvWriter::open(path);
    QVERIFY(!writer.ok());
    QVERIFY2(writer.error().message.find(path) != std::string::npos,
             writer.error().message.c_str());
    QVERIFY(writer.error().message.find("No such file") != std::string::npos);
}

void TestTraceWriter::writeAfterCloseFails() {
    auto writer = TraceCsvWriter::open(pathOf("closed.csv").toStdString());
    QVERIFY(writer.ok());
    QVERIFY(writer->close().ok());
    const Status status = writer->write(makeEvent(1, "k"));
    QVERIFY(!status.ok());
    QVERIFY(status.message().find("closed") != std::string::npos);
}

QTEST_APPLESS_MAIN(TestTraceWriter)
#include "tst_trace_writer.moc"
