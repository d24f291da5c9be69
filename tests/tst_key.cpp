#include "key.h"

#include <QtTest>

using namespace rangepilot;

class TestKey : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void formatKey_data();
    void formatKey();
    void roundTripsEveryByte();
    void rejectsBadHex_data();
    void rejectsBadHex();
    void rangeContains_data();
    void rangeContains();
    void rangesOverlap_data();
    void rangesOverlap();
};

void TestKey::formatKey_data() {
    QTest::addColumn<QByteArray>("key");
    QTest::addColumn<QString>("text");
    QTest::newRow("plain") << QByteArray("user0001") << QStringLiteral("user0001");
    QTest::newRow("empty") << QByteArray() << QString();
    QTest::newRow("binary") << QByteArray("\x00\xff\x10", 3) << QStringLiteral("0x00ff10");
    QTest::newRow("comma needs hex") << QByteArray("a,b") << QStringLiteral("0x612c62");
    QTest::newRow("looks like hex") << QByteArray("0x12") << QStringLiteral("0x30783132");
    QTest::newRow("space") << QByteArray("a b") << QStringLiteral("0x612062");
}

void TestKey::formatKey() {
    QFETCH(QByteArray, key);
    QFETCH(QString, text);
    QCOMPARE(QString::fromStdString(rangepilot::formatKey(key.toStdString())), text);
}

void TestKey::roundTripsEveryByte() {
    std::string key;
    for (int byte = 0; byte < 256; ++byte)
        key += static_cast<char>(byte);
    const auto parsed = parseKeyText(rangepilot::formatKey(key));
    QVERIFY(parsed.ok());
    QCOMPARE(parsed.value(), key);
    for (const std::string plain : {"k", "user000123", "0y", "x0"}) {
        const auto again = parseKeyText(rangepilot::formatKey(plain));
        QVERIFY(again.ok());
        QCOMPARE(again.value(), plain);
    }
}

void TestKey::rejectsBadHex_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("reason");
    QTest::newRow("odd") << QStringLiteral("0xabc") << QStringLiteral("odd number");
    QTest::newRow("not hex") << QStringLiteral("0xzz") << QStringLiteral("not a hex digit");
}

void TestKey::rejectsBadHex() {
    QFETCH(QString, text);
    QFETCH(QString, reason);
    const auto parsed = parseKeyText(text.toStdString());
    QVERIFY(!parsed.ok());
    QVERIFY2(QString::fromStdString(parsed.error().message).contains(reason),
             parsed.error().message.c_str());
}

void TestKey::rangeContains_data() {
    QTest::addColumn<QString>("start");
    QTest::addColumn<QString>("end");
    QTest::addColumn<QString>("key");
    QTest::addColumn<bool>("inside");
    QTest::newRow("start is inside") << "b"
                                     << "d"
                                     << "b" << true;
    QTest::newRow("end is outside") << "b"
                                    << "d"
                                    << "d" << false;
    QTest::newRow("below") << "b"
                           << "d"
                           << "a" << false;
    QTest::newRow("prefix of start is below") << "bb"
                                              << "d"
                                              << "b" << false;
    QTest::newRow("unbounded") << "b"
                               << ""
                               << "zzzz" << true;
    QTest::newRow("whole space") << ""
                                 << ""
                                 << "" << true;
}

void TestKey::rangeContains() {
    QFETCH(QString, start);
    QFETCH(QString, end);
    QFETCH(QString, key);
    QFETCH(bool, inside);
    const KeyRange range{start.toStdString(), end.toStdString()};
    QCOMPARE(range.contains(key.toStdString()), inside);
}

void TestKey::rangesOverlap_data() {
    QTest::addColumn<QString>("a");
    QTest::addColumn<QString>("b");
    QTest::addColumn<bool>("overlap");
    // Ranges as "start,end" with an empty end unbounded.
    QTest::newRow("disjoint") << "a,c"
                              << "d,f" << false;
    QTest::newRow("touching ends do not overlap") << "a,c"
                                                  << "c,f" << false;
    QTest::newRow("one key in common") << "a,c"
                                       << "b,f" << true;
    QTest::newRow("nested") << "a,z"
                            << "c,d" << true;
    QTest::newRow("unbounded above meets a later range") << "m,"
                                                         << "x,y" << true;
    QTest::newRow("unbounded above starts after") << "m,"
                                                  << "a,m" << false;
    QTest::newRow("both unbounded") << "a,"
                                    << "q," << true;
    QTest::newRow("whole space") << ","
                                 << "k,l" << true;
}

void TestKey::rangesOverlap() {
    QFETCH(QString, a);
    QFETCH(QString, b);
    QFETCH(bool, overlap);
    const auto parse = [](const QString& text) {
        const QStringList parts = text.split(QLatin1Char(','));
        return KeyRange{parts[0].toStdString(), parts[1].toStdString()};
    };
    QCOMPARE(parse(a).overlaps(parse(b)), overlap);
    QCOMPARE(parse(b).overlaps(parse(a)), overlap);
}

QTEST_APPLESS_MAIN(TestKey)
#include "tst_key.moc"
