// The audit log on disk: one JSON object per line, appended and read back exactly; damaged lines
// are reported with their line numbers and skipped; a file that cannot be written says which.

#include "audit_log_file.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace rangepilot;

namespace {

AuditRecord record(qint64 at, const QString& who, const QString& what, const QString& why,
                   bool automatic, std::optional<TimeMs> cluster) {
    return {AuditEntry{at, who, what, why, automatic}, cluster};
}

} // namespace

class TestAuditLogFile : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void encodeDecodeRoundTrip_data();
    void encodeDecodeRoundTrip();
    void appendedEntriesReadBackInOrder();
    void tailKeepsTheNewest();
    void damagedLinesAreNamedAndSkipped_data();
    void damagedLinesAreNamedAndSkipped();
    void missingFileIsAnEmptyLog();
    void unwritablePathNamesTheFile();
};

void TestAuditLogFile::encodeDecodeRoundTrip_data() {
    QTest::addColumn<QString>("what");
    QTest::addColumn<QString>("why");
    QTest::addColumn<bool>("withClusterTime");
    QTest::newRow("plain") << QStringLiteral("approved move of shard 17") << QStringLiteral("ok")
                           << true;
    QTest::newRow("quotes, backslash, tab")
        << QStringLiteral("split at \"a\\b\"\tc") << QString() << false;
    QTest::newRow("newline stays on one line")
        << QStringLiteral("line one\nline two") << QStringLiteral("why\r\n") << true;
    QTest::newRow("unicode") << QStringLiteral("move [ключ, 鍵) – done") << QStringLiteral("ü")
                             << true;
}

void TestAuditLogFile::encodeDecodeRoundTrip() {
    QFETCH(QString, what);
    QFETCH(QString, why);
    QFETCH(bool, withClusterTime);
    const AuditRecord original =
        record(1'800'000'000'123, QStringLiteral("alice"), what, why, false,
               withClusterTime ? std::optional<TimeMs>(1'767'640'800'000) : std::nullopt);
    const QByteArray line = AuditLogFile::encode(original);
    QVERIFY(line.endsWith('\n'));
    QCOMPARE(line.count('\n'), 1); // one record, one line, whatever the text holds
    QString problem;
    const std::optional<AuditRecord> decoded = AuditLogFile::decode(line.trimmed(), &problem);
    QVERIFY2(decoded, qPrintable(problem));
    QCOMPARE(decoded->entry, original.entry);
    QCOMPARE(decoded->cluster_ms, original.cluster_ms);
}

void TestAuditLogFile::appendedEntriesReadBackInOrder() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("nested/dir/audit.log"));
    std::vector<AuditRecord> written;
    {
        AuditLogFile file(path);
        for (int i = 0; i < 20; ++i) {
            written.push_back(record(1'800'000'000'000 + i,
                                     i % 2 ? QStringLiteral("auto-apply") : QStringLiteral("bob"),
                                     QStringLiteral("action %1").arg(i), QString(), i % 2 == 1,
                                     1'767'640'800'000 + i * 60'000));
            QVERIFY(!file.append(written.back()));
        }
    }
    // Appending again later continues the same file.
    AuditLogFile again(path);
    written.push_back(record(1'800'000'001'000, QStringLiteral("carol"), QStringLiteral("last"),
                             QStringLiteral("restart"), false, std::nullopt));
    QVERIFY(!again.append(written.back()));
    const AuditTail tail = AuditLogFile::readTail(path, 1000);
    QVERIFY(tail.problems.isEmpty());
    QCOMPARE(tail.records.size(), written.size());
    for (std::size_t i = 0; i < written.size(); ++i) {
        QCOMPARE(tail.records[i].entry, written[i].entry);
        QCOMPARE(tail.records[i].cluster_ms, written[i].cluster_ms);
    }
}

void TestAuditLogFile::tailKeepsTheNewest() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("audit.log"));
    AuditLogFile file(path);
    for (int i = 0; i < 50; ++i)
        QVERIFY(!file.append(record(1'800'000'000'000 + i, QStringLiteral("bob"),
                                    QStringLiteral("action %1").arg(i), QString(), false,
                                    std::nullopt)));
    const AuditTail tail = AuditLogFile::readTail(path, 7);
    QCOMPARE(tail.records.size(), std::size_t(7));
    QCOMPARE(tail.records.front().entry.what, QStringLiteral("action 43"));
    QCOMPARE(tail.records.back().entry.what, QStringLiteral("action 49"));
}

void TestAuditLogFile::damagedLinesAreNamedAndSkipped_data() {
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<QString>("reason");
    QTest::newRow("not JSON") << QByteArray("{\"when\": ") << QString();
    QTest::newRow("an array") << QByteArray("[1, 2]") << QStringLiteral("not a JSON object");
    QTest::newRow("no time") << QByteArray(R"({"who":"a","what":"b"})")
                             << QStringLiteral("\"when\" is not an ISO-8601 time");
    QTest::newRow("bad time") << QByteArray(R"({"when":"yesterday","who":"a","what":"b"})")
                              << QStringLiteral("\"when\" is not an ISO-8601 time");
    QTest::newRow("no who") << QByteArray(R"({"when":"2027-01-15T08:00:00.000Z","what":"b"})")
                            << QStringLiteral("\"who\" is missing or not text");
    QTest::newRow("what is a number")
        << QByteArray(R"({"when":"2027-01-15T08:00:00.000Z","who":"a","what":3})")
        << QStringLiteral("\"what\" is missing or not text");
}

void TestAuditLogFile::damagedLinesAreNamedAndSkipped() {
    QFETCH(QByteArray, line);
    QFETCH(QString, reason);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("audit.log"));
    const AuditRecord good = record(1'800'000'000'000, QStringLiteral("bob"),
                                    QStringLiteral("kept"), QString(), false, std::nullopt);
    {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(AuditLogFile::encode(good));
        file.write("\n"); // a blank line is no problem
        file.write(line + '\n');
        file.write(AuditLogFile::encode(good));
    }
    const AuditTail tail = AuditLogFile::readTail(path, 100);
    QCOMPARE(tail.records.size(), std::size_t(2));
    QCOMPARE(tail.problems.size(), 1);
    QVERIFY2(tail.problems.front().startsWith(path + QStringLiteral(":3: ")),
             qPrintable(tail.problems.front()));
    if (!reason.isEmpty())
        QVERIFY2(tail.problems.front().endsWith(reason), qPrintable(tail.problems.front()));
}

void TestAuditLogFile::missingFileIsAnEmptyLog() {
    QTemporaryDir dir;
    const AuditTail tail = AuditLogFile::readTail(dir.filePath(QStringLiteral("none.log")), 10);
    QVERIFY(tail.records.empty());
    QVERIFY(tail.problems.isEmpty());
}

void TestAuditLogFile::unwritablePathNamesTheFile() {
    QTemporaryDir dir;
    // A directory where the file should be: no user, root included, can open it for writing.
    const QString path = dir.filePath(QStringLiteral("taken"));
    QVERIFY(QDir().mkpath(path));
    AuditLogFile file(path);
    const std::optional<QString> problem =
        file.append(record(1'800'000'000'000, QStringLiteral("bob"), QStringLiteral("x"), QString(),
                           false, std::nullopt));
    QVERIFY(problem);
    QVERIFY2(problem->startsWith(path + QStringLiteral(": ")), qPrintable(*problem));
}

QTEST_GUILESS_MAIN(TestAuditLogFile)
#include "tst_audit_log_file.moc"
