// The local-file ownership store. What a call commits is what a fresh open() reads back; a failed
// call leaves the file's bytes exactly as they were; damaged files are named (file, field, index)
// and never overwritten; leftovers of a crashed write are ignored; one driver at a time, within
// one process and across processes (a forked child holds or asks for the lock).

#include "local_file_ownership_store.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSysInfo>
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <cmath>
#include <fcntl.h>
#include <limits>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace rangepilot;

using Store = LocalFileOwnershipStore;
using Mode = LocalFileOwnershipStore::OpenMode;

Q_DECLARE_METATYPE(MigrationPhase)

namespace {

std::string problemOf(const Status& status) {
    return status.message();
}

template <typename T>
std::string problemOf(const Result<T>& result) {
    return result.ok() ? std::string() : result.error().message;
}

QString messageOf(const Status& status) {
    return QString::fromStdString(status.message());
}

template <typename T>
QString messageOf(const Result<T>& result) {
    return QString::fromStdString(problemOf(result));
}

#define VERIFY_OK(expression)                                                                      \
    do {                                                                                           \
        const auto& verified = (expression);                                                       \
        QVERIFY2(verified.ok(), problemOf(verified).c_str());                                      \
    } while (false)

// Three shards over ["", "g"), ["g", "p"), ["p", +inf) on h1..h3, h4 idle, at `epoch`;
// `firstOwner` rotates the owners so that tables of different epochs also differ in content.
OwnershipTable sampleTable(std::uint64_t epoch, int firstOwner = 0) {
    const std::vector<HostId> hosts{"h1", "h2", "h3"};
    const auto host = [&](int i) { return hosts[static_cast<std::size_t>((firstOwner + i) % 3)]; };
    std::vector<Shard> shards{
        {1, {"", "g"}, host(0), {host(1)}},
        {2, {"g", "p"}, host(1), {host(2)}},
        {3, {"p", ""}, host(2), {}},
    };
    return OwnershipTable::create(std::move(shards), epoch, {"h1", "h2", "h3", "h4"}).value();
}

MigrationRecord sampleRecord(MigrationId id, MigrationPhase phase = MigrationPhase::Copying) {
    MigrationRecord record;
    record.id = id;
    record.shard = 2;
    record.range = {"g", "p"};
    record.from = "h2";
    record.to = "h4";
    record.phase = phase;
    record.table_epoch = 1;
    record.copy_cursor = std::string("h\0\xff", 3);
    record.bytes_copied = 1234.5;
    record.started_ms = 1'767'640'800'000;
    record.updated_ms = 1'767'640'860'000;
    record.error = QStringLiteral("checksum mismatch on [g, p) – retry");
    return record;
}

QByteArray fileBytes(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

bool writeBytes(const QString& path, const QByteArray& bytes) {
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) &&
           file.write(bytes) == bytes.size();
}

// The state as a new read-only handle sees it: what survives the handle that wrote it.
Result<OwnershipState> freshLoad(const QString& path) {
    Result<std::unique_ptr<Store>> store = Store::open(path, Mode::ReadOnly);
    if (!store)
        return store.error();
    return (*store)->load();
}

std::vector<MigrationId> idsOf(const std::vector<MigrationRecord>& records) {
    std::vector<MigrationId> ids;
    for (const MigrationRecord& record : records)
        ids.push_back(record.id);
    return ids;
}

// `root` with the value at `path` (object keys and array indexes) replaced by `replacement`, or
// removed when `replacement` is undefined.
QJsonValue patched(const QJsonValue& root, QStringList path, const QJsonValue& replacement) {
    if (path.isEmpty())
        return replacement;
    const QString step = path.takeFirst();
    if (root.isArray()) {
        QJsonArray array = root.toArray();
        const int index = step.toInt();
        const QJsonValue child = patched(array.at(index), path, replacement);
        if (child.isUndefined())
            array.removeAt(index);
        else
            array.replace(index, child);
        return array;
    }
    QJsonObject object = root.toObject();
    const QJsonValue child = patched(object.value(step), path, replacement);
    if (child.isUndefined())
        object.remove(step);
    else
        object.insert(step, child);
    return object;
}

QJsonObject patchedObject(const QJsonObject& root, const QString& dottedPath,
                          const QJsonValue& replacement) {
    return patched(root, dottedPath.split(QLatin1Char('.')), replacement).toObject();
}

const QJsonValue kRemove(QJsonValue::Undefined);

// Runs `child` in a forked process and returns its exit status (or -1). The child reports only
// through its exit code and pipes, never through QTest.
template <typename Child>
int runInChild(Child child) {
    const pid_t pid = ::fork();
    if (pid == 0)
        ::_exit(child());
    if (pid < 0)
        return -1;
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

} // namespace

class TestLocalFileOwnershipStore : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // The JSON form, without files.
    void tableJsonRoundTrip_data();
    void tableJsonRoundTrip();
    void tableJsonErrorsNameTheField_data();
    void tableJsonErrorsNameTheField();
    void recordJsonRoundTripsEveryPhase_data();
    void recordJsonRoundTripsEveryPhase();
    void recordJsonKeepsExtremeValues();
    void recordJsonErrorsNameTheField_data();
    void recordJsonErrorsNameTheField();

    // The file.
    void missingFileIsAnEmptyStore();
    void initializeIsDurableAndOnlyOnce();
    void compareAndSwap_data();
    void compareAndSwap();
    void putMigrationInsertsReplacesAndOrders();
    void putMigrationRefusesWhatWouldNotReadBack_data();
    void putMigrationRefusesWhatWouldNotReadBack();
    void pruneDropsTheOldestTerminalRecords_data();
    void pruneDropsTheOldestTerminalRecords();
    void damagedFileIsNamedAndNeverOverwritten_data();
    void damagedFileIsNamedAndNeverOverwritten();
    void truncatedFileIsNamedAndNeverOverwritten_data();
    void truncatedFileIsNamedAndNeverOverwritten();
    void leftoverTemporaryFileIsIgnored();
    void failedTemporaryWriteLeavesTheFileIntact();
    void readOnlyDirectoryGivesAClearError();
    void threadsSharingAHandleLoseNoChange();

    // The driver lock.
    void driverLockWithinOneProcess();
    void driverLockHeldByAnotherProcess();
    void driverLockSeenFromAnotherProcess();
    void sharedLockHolderIsNotADriver();
};

// ---------------------------------------------------------------------------------------------
// JSON

void TestLocalFileOwnershipStore::tableJsonRoundTrip_data() {
    QTest::addColumn<QList<QByteArray>>("splitKeys");
    QTest::addColumn<quint64>("epoch");
    QTest::addColumn<quint64>("firstId");
    QTest::addColumn<int>("replicaCount");

    QTest::newRow("one shard, whole key space")
        << QList<QByteArray>{} << quint64(1) << quint64(1) << 0;
    QTest::newRow("plain keys, two replicas")
        << QList<QByteArray>{"apple", "kiwi", "user:0042"} << quint64(7) << quint64(10) << 2;
    // Bytes, and text that looks like hex: both must come back byte for byte. In key order.
    const QList<QByteArray> awkward{
        QByteArray("\x00", 1), QByteArray("\x00\xff", 2), "0X1f", "0x", "a b", "a,b", "zz\"\\",
        "\xc3\xa9t\xc3\xa9"};
    QTest::newRow("binary and hex-looking keys") << awkward << quint64(3) << quint64(1) << 1;
    QTest::newRow("epoch and ids beyond 2^53")
        << QList<QByteArray>{"m"} << quint64((1ull << 53) + 1)
        << quint64(std::numeric_limits<quint64>::max() - 1) << 0;
}

void TestLocalFileOwnershipStore::tableJsonRoundTrip() {
    QFETCH(QList<QByteArray>, splitKeys);
    QFETCH(quint64, epoch);
    QFETCH(quint64, firstId);
    QFETCH(int, replicaCount);

    const std::vector<HostId> hosts{"h1", "h2", "h3", "h4"};
    std::vector<Shard> shards;
    Key start;
    for (qsizetype i = 0; i <= splitKeys.size(); ++i) {
        const Key end = i < splitKeys.size() ? splitKeys[i].toStdString() : Key();
        Shard shard{firstId + static_cast<quint64>(i), {start, end}, hosts[i % 4], {}};
        for (int r = 1; r <= replicaCount; ++r)
            shard.replicas.push_back(hosts[(i + r) % 4]);
        shards.push_back(shard);
        start = end;
    }
    const Result<OwnershipTable> table = OwnershipTable::create(shards, epoch, hosts);
    VERIFY_OK(table);

    // Through the text form, as a file would carry it.
    const QByteArray text = QJsonDocument(ownershipTableToJson(*table)).toJson();
    const QJsonObject reparsed = QJsonDocument::fromJson(text).object();
    const Result<OwnershipTable> decoded = ownershipTableFromJson(reparsed, QStringLiteral("T"));
    VERIFY_OK(decoded);
    QCOMPARE(*decoded, *table);
    QCOMPARE(decoded->placementHosts(), hosts); // including h4 when it holds nothing
}

void TestLocalFileOwnershipStore::tableJsonErrorsNameTheField_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QJsonValue>("value");
    QTest::addColumn<QString>("expected"); // the message starts with this

    const QString owner = QStringLiteral("T: shards[1].owner: must be a non-empty string");
    QTest::newRow("owner missing") << QStringLiteral("shards.1.owner") << kRemove << owner;
    QTest::newRow("owner empty") << QStringLiteral("shards.1.owner") << QJsonValue(QString())
                                 << owner;
    QTest::newRow("owner a number") << QStringLiteral("shards.1.owner") << QJsonValue(7) << owner;
    const QString id = QStringLiteral("T: shards[0].id: must be a non-negative integer");
    QTest::newRow("id negative") << QStringLiteral("shards.0.id") << QJsonValue(-1) << id;
    QTest::newRow("id fractional") << QStringLiteral("shards.0.id") << QJsonValue(1.5) << id;
    QTest::newRow("id text not decimal")
        << QStringLiteral("shards.0.id") << QJsonValue(QStringLiteral("12x")) << id;
    QTest::newRow("id beyond 64 bits") << QStringLiteral("shards.0.id")
                                       << QJsonValue(QStringLiteral("18446744073709551616")) << id;
    QTest::newRow("start not hex")
        << QStringLiteral("shards.1.start") << QJsonValue(QStringLiteral("0xZZ"))
        << QStringLiteral("T: shards[1].start: hex key has a character "
                          "that is not a hex digit");
    QTest::newRow("end odd hex") << QStringLiteral("shards.0.end")
                                 << QJsonValue(QStringLiteral("0x123"))
                                 << QStringLiteral("T: shards[0].end: hex key has an odd number "
                                                   "of digits");
    QTest::newRow("end a number") << QStringLiteral("shards.0.end") << QJsonValue(3)
                                  << QStringLiteral("T: shards[0].end: must be a key");
    QTest::newRow("replicas not an array")
        << QStringLiteral("shards.0.replicas") << QJsonValue(QStringLiteral("h2"))
        << QStringLiteral("T: shards[0].replicas: must be an array");
    QTest::newRow("replica empty")
        << QStringLiteral("shards.0.replicas.0") << QJsonValue(QString())
        << QStringLiteral("T: shards[0].replicas[0]: must be a non-empty string");
    QTest::newRow("epoch missing") << QStringLiteral("epoch") << kRemove
                                   << QStringLiteral("T: epoch: must be a non-negative integer");
    QTest::newRow("placement host empty")
        << QStringLiteral("placement_hosts.2") << QJsonValue(QString())
        << QStringLiteral("T: placement_hosts[2]: must be a non-empty string");
    QTest::newRow("shard not an object") << QStringLiteral("shards.2") << QJsonValue(5)
                                         << QStringLiteral("T: shards[2]: must be an object");
    QTest::newRow("shards missing")
        << QStringLiteral("shards") << kRemove << QStringLiteral("T: shards: must be an array");
    // The table's own rules come from OwnershipTable::create(), prefixed with where.
    QTest::newRow("gap between shards")
        << QStringLiteral("shards.1.start") << QJsonValue(QStringLiteral("h"))
        << QStringLiteral("T: gap between shard 1");
    QTest::newRow("owner not a placement host")
        << QStringLiteral("shards.0.owner") << QJsonValue(QStringLiteral("h9"))
        << QStringLiteral("T: shard 1");
    QTest::newRow("no shards") << QStringLiteral("shards") << QJsonValue(QJsonArray())
                               << QStringLiteral("T: an ownership table needs at least one shard");
}

void TestLocalFileOwnershipStore::tableJsonErrorsNameTheField() {
    QFETCH(QString, field);
    QFETCH(QJsonValue, value);
    QFETCH(QString, expected);

    const QJsonObject valid = ownershipTableToJson(sampleTable(1));
    VERIFY_OK(ownershipTableFromJson(valid, QStringLiteral("T"))); // the patch breaks it
    const Result<OwnershipTable> decoded =
        ownershipTableFromJson(patchedObject(valid, field, value), QStringLiteral("T"));
    QVERIFY(!decoded.ok());
    QVERIFY2(messageOf(decoded).startsWith(expected), problemOf(decoded).c_str());
}

void TestLocalFileOwnershipStore::recordJsonRoundTripsEveryPhase_data() {
    QTest::addColumn<MigrationPhase>("phase");
    QTest::addColumn<QString>("storedName");
    QTest::newRow("proposed") << MigrationPhase::Proposed << QStringLiteral("proposed");
    QTest::newRow("approved") << MigrationPhase::Approved << QStringLiteral("approved");
    QTest::newRow("scheduled") << MigrationPhase::Scheduled << QStringLiteral("scheduled");
    QTest::newRow("shadowing") << MigrationPhase::Shadowing << QStringLiteral("shadowing");
    QTest::newRow("copying") << MigrationPhase::Copying << QStringLiteral("copying");
    QTest::newRow("catching up") << MigrationPhase::CatchingUp << QStringLiteral("catching_up");
    QTest::newRow("cutting over") << MigrationPhase::CuttingOver << QStringLiteral("cutting_over");
    QTest::newRow("done") << MigrationPhase::Done << QStringLiteral("done");
    QTest::newRow("paused") << MigrationPhase::Paused << QStringLiteral("paused");
    QTest::newRow("rolling back") << MigrationPhase::RollingBack << QStringLiteral("rolling_back");
    QTest::newRow("aborted") << MigrationPhase::Aborted << QStringLiteral("aborted");
    QTest::newRow("failed") << MigrationPhase::Failed << QStringLiteral("failed");
}

void TestLocalFileOwnershipStore::recordJsonRoundTripsEveryPhase() {
    QFETCH(MigrationPhase, phase);
    QFETCH(QString, storedName);
    const MigrationRecord record = sampleRecord(4, phase);
    const QJsonObject object = migrationRecordToJson(record);
    QCOMPARE(object.value(QStringLiteral("phase")).toString(), storedName);
    const Result<MigrationRecord> decoded = migrationRecordFromJson(object, QStringLiteral("R"));
    VERIFY_OK(decoded);
    QCOMPARE(decoded->phase, phase);
    QVERIFY(*decoded == record);
}

void TestLocalFileOwnershipStore::recordJsonKeepsExtremeValues() {
    MigrationRecord record = sampleRecord(std::numeric_limits<MigrationId>::max());
    record.shard = (1ull << 53) + 1;
    record.table_epoch = 1ull << 53;
    record.range = {std::string("\0", 1), ""};
    record.copy_cursor = "0x41"; // text that looks like hex
    record.bytes_copied = 0.1 + 0.2;
    record.started_ms = std::numeric_limits<TimeMs>::min();
    record.updated_ms = -1;
    record.error = QStringLiteral("\"quoted\"\n\tü – 鍵");

    const QJsonObject object = migrationRecordToJson(record);
    // Up to 2^53 a JSON number; beyond it a decimal string, exact in every JSON reader.
    QVERIFY(object.value(QStringLiteral("table_epoch")).isDouble());
    QCOMPARE(object.value(QStringLiteral("shard")).toString(), QStringLiteral("9007199254740993"));
    QCOMPARE(object.value(QStringLiteral("id")).toString(), QStringLiteral("18446744073709551615"));

    const QByteArray text = QJsonDocument(object).toJson();
    const Result<MigrationRecord> decoded =
        migrationRecordFromJson(QJsonDocument::fromJson(text).object(), QStringLiteral("R"));
    VERIFY_OK(decoded);
    QCOMPARE(decoded->bytes_copied, record.bytes_copied); // exact, not approximately
    QCOMPARE(decoded->copy_cursor, record.copy_cursor);
    QCOMPARE(decoded->range, record.range);
    QCOMPARE(decoded->started_ms, record.started_ms);
    QVERIFY(*decoded == record);
}

void TestLocalFileOwnershipStore::recordJsonErrorsNameTheField_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QJsonValue>("value");
    QTest::addColumn<QString>("expected");
    QTest::newRow("unknown phase")
        << QStringLiteral("phase") << QJsonValue(QStringLiteral("cooking"))
        << QStringLiteral("R: phase: \"cooking\" is not a phase (expected one of proposed, "
                          "approved, scheduled, shadowing, copying, catching_up, cutting_over, "
                          "done, paused, rolling_back, aborted, failed)");
    QTest::newRow("display name is not the stored name")
        << QStringLiteral("phase") << QJsonValue(QStringLiteral("catching up"))
        << QStringLiteral("R: phase: \"catching up\" is not a phase");
    QTest::newRow("bytes negative") << QStringLiteral("bytes_copied") << QJsonValue(-1)
                                    << QStringLiteral("R: bytes_copied: must be a finite number");
    QTest::newRow("bytes text") << QStringLiteral("bytes_copied")
                                << QJsonValue(QStringLiteral("12"))
                                << QStringLiteral("R: bytes_copied: must be a finite number");
    QTest::newRow("from empty") << QStringLiteral("from") << QJsonValue(QString())
                                << QStringLiteral("R: from: must be a non-empty string");
    QTest::newRow("to missing") << QStringLiteral("to") << kRemove
                                << QStringLiteral("R: to: must be a non-empty string");
    QTest::newRow("end before start") << QStringLiteral("end") << QJsonValue(QStringLiteral("a"))
                                      << QStringLiteral("R: end: must be greater than start");
    QTest::newRow("cursor a number") << QStringLiteral("copy_cursor") << QJsonValue(0)
                                     << QStringLiteral("R: copy_cursor: must be a key");
    QTest::newRow("started fractional") << QStringLiteral("started_ms") << QJsonValue(0.5)
                                        << QStringLiteral("R: started_ms: must be an integer");
    QTest::newRow("error missing")
        << QStringLiteral("error") << kRemove << QStringLiteral("R: error: must be a string");
    QTest::newRow("epoch negative") << QStringLiteral("table_epoch") << QJsonValue(-2)
                                    << QStringLiteral("R: table_epoch: must be a non-negative");
}

void TestLocalFileOwnershipStore::recordJsonErrorsNameTheField() {
    QFETCH(QString, field);
    QFETCH(QJsonValue, value);
    QFETCH(QString, expected);
    const QJsonObject valid = migrationRecordToJson(sampleRecord(3));
    VERIFY_OK(migrationRecordFromJson(valid, QStringLiteral("R")));
    const Result<MigrationRecord> decoded =
        migrationRecordFromJson(patchedObject(valid, field, value), QStringLiteral("R"));
    QVERIFY(!decoded.ok());
    QVERIFY2(messageOf(decoded).startsWith(expected), problemOf(decoded).c_str());
}

// ---------------------------------------------------------------------------------------------
// The file

void TestLocalFileOwnershipStore::missingFileIsAnEmptyStore() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("nested/ownership.json"));
    Result<std::unique_ptr<Store>> reader = Store::open(path, Mode::ReadOnly);
    VERIFY_OK(reader);
    QCOMPARE((*reader)->describe(), QStringLiteral("local file ") + path);
    const Result<OwnershipState> state = (*reader)->load();
    VERIFY_OK(state);
    QVERIFY(!state->table);
    QVERIFY(state->migrations.empty());
    QCOMPARE(state->revision, 0u);
    QVERIFY(!QFileInfo::exists(dir.filePath(QStringLiteral("nested")))); // reading creates nothing

    // The driver creates the directory and its lock, but no store file until the first change.
    Result<std::unique_ptr<Store>> driver = Store::open(path, Mode::Driver);
    VERIFY_OK(driver);
    QVERIFY(QFileInfo::exists(path + QStringLiteral(".lock")));
    QVERIFY(!QFileInfo::exists(path));
    VERIFY_OK((*driver)->load());
}

void TestLocalFileOwnershipStore::initializeIsDurableAndOnlyOnce() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    Result<std::unique_ptr<Store>> store = Store::open(path, Mode::Driver);
    VERIFY_OK(store);
    VERIFY_OK((*store)->initialize(sampleTable(1)));

    const Result<OwnershipState> state = freshLoad(path);
    VERIFY_OK(state);
    QVERIFY(state->table);
    QCOMPARE(*state->table, sampleTable(1));
    QCOMPARE(state->revision, 1u);

    // Human readable: indented JSON with its version; nothing else left in the directory.
    const QByteArray bytes = fileBytes(path);
    QVERIFY(bytes.contains("\n    \"format_version\": 1,"));
    QCOMPARE(
        QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
        (QStringList{QStringLiteral("ownership.json"), QStringLiteral("ownership.json.lock")}));

    const Status again = (*store)->initialize(sampleTable(5));
    QVERIFY(!again.ok());
    QCOMPARE(messageOf(again), path + QStringLiteral(": already holds a table (epoch 1): change "
                                                     "it with compareAndSwapTable"));
    QCOMPARE(fileBytes(path), bytes);
}

void TestLocalFileOwnershipStore::compareAndSwap_data() {
    QTest::addColumn<bool>("tableStored"); // epoch 3 when stored
    QTest::addColumn<quint64>("expectedEpoch");
    QTest::addColumn<quint64>("nextEpoch");
    QTest::addColumn<bool>("withRecord");
    QTest::addColumn<QString>("error"); // empty: succeeds; else the message starts with it

    QTest::newRow("matching epoch") << true << quint64(3) << quint64(4) << false << QString();
    QTest::newRow("matching epoch, with a record")
        << true << quint64(3) << quint64(9) << true << QString();
    QTest::newRow("stale expected epoch")
        << true << quint64(2) << quint64(4) << true
        << QStringLiteral("conflict: expected table epoch 2, found epoch 3 in ");
    QTest::newRow("expected epoch from the future")
        << true << quint64(4) << quint64(5) << false
        << QStringLiteral("conflict: expected table epoch 4, found epoch 3 in ");
    QTest::newRow("no table stored")
        << false << quint64(3) << quint64(4) << true
        << QStringLiteral("conflict: expected table epoch 3, but no table is stored in ");
    QTest::newRow("next epoch not greater") << true << quint64(3) << quint64(3) << false
                                            << QStringLiteral("PATH: the new table's epoch 3 must "
                                                              "be greater than the expected epoch "
                                                              "3");
}

void TestLocalFileOwnershipStore::compareAndSwap() {
    QFETCH(bool, tableStored);
    QFETCH(quint64, expectedEpoch);
    QFETCH(quint64, nextEpoch);
    QFETCH(bool, withRecord);
    QFETCH(QString, error);

    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    Result<std::unique_ptr<Store>> store = Store::open(path, Mode::Driver);
    VERIFY_OK(store);
    VERIFY_OK((*store)->putMigration(sampleRecord(1)));
    if (tableStored)
        VERIFY_OK((*store)->initialize(sampleTable(3)));
    const QByteArray before = fileBytes(path);
    const std::uint64_t revisionBefore = tableStored ? 2 : 1;

    const OwnershipTable next = sampleTable(nextEpoch, 1);
    const MigrationRecord cutover = sampleRecord(2, MigrationPhase::Done);
    const Status swapped =
        (*store)->compareAndSwapTable(expectedEpoch, next, withRecord ? &cutover : nullptr);

    const Result<OwnershipState> after = freshLoad(path);
    VERIFY_OK(after);
    if (!error.isEmpty()) {
        QVERIFY(!swapped.ok());
        QVERIFY2(messageOf(swapped).startsWith(error.replace(QStringLiteral("PATH"), path)),
                 problemOf(swapped).c_str());
        QCOMPARE(fileBytes(path), before); // nothing written, not even the record
        QCOMPARE(after->revision, revisionBefore);
        return;
    }
    VERIFY_OK(swapped);
    QVERIFY(after->table);
    QCOMPARE(*after->table, next);
    QCOMPARE(after->revision, revisionBefore + 1); // table and record: one write
    const std::vector<MigrationId> expectedIds =
        withRecord ? std::vector<MigrationId>{1, 2} : std::vector<MigrationId>{1};
    QCOMPARE(idsOf(after->migrations), expectedIds);
    if (withRecord)
        QVERIFY(after->migrations.back() == cutover);
}

void TestLocalFileOwnershipStore::putMigrationInsertsReplacesAndOrders() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    Result<std::unique_ptr<Store>> store = Store::open(path, Mode::Driver);
    VERIFY_OK(store);

    std::uint64_t revision = 0;
    for (const MigrationId id : {5, 2, 9}) {
        VERIFY_OK((*store)->putMigration(sampleRecord(id)));
        const Result<OwnershipState> state = freshLoad(path);
        VERIFY_OK(state);
        QCOMPARE(state->revision, ++revision);
        QVERIFY(std::any_of(state->migrations.begin(), state->migrations.end(),
                            [&](const MigrationRecord& r) { return r == sampleRecord(id); }));
    }
    QCOMPARE(idsOf(freshLoad(path)->migrations), (std::vector<MigrationId>{2, 5, 9}));

    MigrationRecord finished = sampleRecord(5, MigrationPhase::Done);
    finished.copy_cursor.clear();
    finished.bytes_copied = 9e9;
    finished.error.clear();
    VERIFY_OK((*store)->putMigration(finished));
    const Result<OwnershipState> state = freshLoad(path);
    VERIFY_OK(state);
    QCOMPARE(state->revision, 4u);
    QCOMPARE(idsOf(state->migrations), (std::vector<MigrationId>{2, 5, 9}));
    QVERIFY(state->migrations[1] == finished);
    QVERIFY(!state->table); // records need no table
}

void TestLocalFileOwnershipStore::putMigrationRefusesWhatWouldNotReadBack_data() {
    QTest::addColumn<QString>("change");
    QTest::addColumn<QString>("expected"); // after "<path>: refused"
    QTest::newRow("NaN bytes") << QStringLiteral("nan")
                               << QStringLiteral(": migrations[1].bytes_copied: must be a finite");
    QTest::newRow("infinite bytes")
        << QStringLiteral("inf")
        << QStringLiteral(": migrations[1].bytes_copied: must be a finite");
    QTest::newRow("no source host")
        << QStringLiteral("from") << QStringLiteral(": migrations[1].from: must be a non-empty");
    QTest::newRow("range end before start")
        << QStringLiteral("range") << QStringLiteral(": migrations[1].end: must be greater");
    QTest::newRow("host name not UTF-8")
        << QStringLiteral("host") << QStringLiteral(": the new state would not read back");
}

void TestLocalFileOwnershipStore::putMigrationRefusesWhatWouldNotReadBack() {
    QFETCH(QString, change);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    Result<std::unique_ptr<Store>> store = Store::open(path, Mode::Driver);
    VERIFY_OK(store);
    VERIFY_OK((*store)->putMigration(sampleRecord(1)));
    const QByteArray before = fileBytes(path);

    MigrationRecord bad = sampleRecord(2);
    if (change == QLatin1String("nan"))
        bad.bytes_copied = std::nan("");
    else if (change == QLatin1String("inf"))
        bad.bytes_copied = std::numeric_limits<double>::infinity();
    else if (change == QLatin1String("from"))
        bad.from.clear();
    else if (change == QLatin1String("range"))
        bad.range = {"p", "g"};
    else
        bad.to = "h\xff";
    const Status put = (*store)->putMigration(bad);
    QVERIFY(!put.ok());
    QVERIFY2(messageOf(put).startsWith(path + QStringLiteral(": refused") + expected),
             problemOf(put).c_str());
    QCOMPARE(fileBytes(path), before);
    QVERIFY(!QFileInfo::exists((*store)->temporaryPath()));
}

void TestLocalFileOwnershipStore::pruneDropsTheOldestTerminalRecords_data() {
    QTest::addColumn<QList<MigrationPhase>>("phases"); // of ids 1, 2, 3, ...
    QTest::addColumn<int>("keep");
    QTest::addColumn<QList<MigrationId>>("remaining");

    using P = MigrationPhase;
    const QList<P> mixed{P::Done, P::Copying, P::Failed, P::Aborted, P::Done, P::Approved};
    QTest::newRow("keep two of four terminal") << mixed << 2 << QList<MigrationId>{2, 4, 5, 6};
    QTest::newRow("keep none") << mixed << 0 << QList<MigrationId>{2, 6};
    QTest::newRow("keep exactly as many as there are")
        << mixed << 4 << QList<MigrationId>{1, 2, 3, 4, 5, 6};
    QTest::newRow("keep more than there are")
        << mixed << 10 << QList<MigrationId>{1, 2, 3, 4, 5, 6};
    QTest::newRow("live and paused moves always stay")
        << QList<P>{P::Paused, P::RollingBack, P::CuttingOver, P::Scheduled} << 0
        << QList<MigrationId>{1, 2, 3, 4};
    QTest::newRow("empty") << QList<P>{} << 0 << QList<MigrationId>{};
}

void TestLocalFileOwnershipStore::pruneDropsTheOldestTerminalRecords() {
    QFETCH(QList<MigrationPhase>, phases);
    QFETCH(int, keep);
    QFETCH(QList<MigrationId>, remaining);

    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    Result<std::unique_ptr<Store>> store = Store::open(path, Mode::Driver);
    VERIFY_OK(store);
    // Put in reverse so that the order on disk comes from the store, not from the calls.
    for (qsizetype i = phases.size() - 1; i >= 0; --i)
        VERIFY_OK((*store)->putMigration(sampleRecord(static_cast<MigrationId>(i + 1), phases[i])));
    const QByteArray before = fileBytes(path);
    const auto revisionBefore = static_cast<std::uint64_t>(phases.size());

    VERIFY_OK((*store)->pruneMigrations(static_cast<std::size_t>(keep)));
    const Result<OwnershipState> state = freshLoad(path);
    VERIFY_OK(state);
    QCOMPARE(idsOf(state->migrations),
             std::vector<MigrationId>(remaining.begin(), remaining.end()));
    const bool dropped = remaining.size() < phases.size();
    QCOMPARE(state->revision, revisionBefore + (dropped ? 1 : 0));
    if (!dropped)
        QCOMPARE(fileBytes(path), before); // nothing to drop: nothing written
}

void TestLocalFileOwnershipStore::damagedFileIsNamedAndNeverOverwritten_data() {
    QTest::addColumn<QByteArray>("raw"); // the file's content when no field is patched
    QTest::addColumn<QString>("field");  // else this field of a valid file is patched
    QTest::addColumn<QJsonValue>("value");
    QTest::addColumn<QString>("expected"); // the message starts with "<path>" + this

    const QJsonValue none;
    QTest::newRow("empty file") << QByteArray() << QString() << none
                                << QStringLiteral(": the file is empty");
    QTest::newRow("whitespace only")
        << QByteArray(" \n\n") << QString() << none << QStringLiteral(": the file is empty");
    QTest::newRow("not JSON") << QByteArray("ownership table v1") << QString() << none
                              << QStringLiteral(": not valid JSON at byte");
    QTest::newRow("top level an array") << QByteArray("[]") << QString() << none
                                        << QStringLiteral(": the top level must be a JSON object");
    QTest::newRow("format from the future")
        << QByteArray() << QStringLiteral("format_version") << QJsonValue(2)
        << QStringLiteral(": format_version: 2 is not a version this program reads (it reads 1)");
    QTest::newRow("revision negative")
        << QByteArray() << QStringLiteral("revision") << QJsonValue(-3)
        << QStringLiteral(": revision: must be a non-negative "
                          "integer");
    QTest::newRow("table a string")
        << QByteArray() << QStringLiteral("table") << QJsonValue(QStringLiteral("x"))
        << QStringLiteral(": table: must be an object, or null");
    QTest::newRow("shard owner empty")
        << QByteArray() << QStringLiteral("table.shards.1.owner") << QJsonValue(QString())
        << QStringLiteral(": table.shards[1].owner: must be a non-empty string");
    QTest::newRow("table rule broken")
        << QByteArray() << QStringLiteral("table.shards.0.end") << QJsonValue(QStringLiteral("a"))
        << QStringLiteral(": table: gap between shard 1");
    QTest::newRow("migrations missing") << QByteArray() << QStringLiteral("migrations") << kRemove
                                        << QStringLiteral(": migrations: must be an array");
    QTest::newRow("unknown phase")
        << QByteArray() << QStringLiteral("migrations.1.phase")
        << QJsonValue(QStringLiteral("cooking"))
        << QStringLiteral(": migrations[1].phase: \"cooking\" is not a phase");
    QTest::newRow("ids out of order")
        << QByteArray() << QStringLiteral("migrations.1.id") << QJsonValue(4)
        << QStringLiteral(": migrations[1].id: 4 does not follow 4 (records are ordered by id");
}

void TestLocalFileOwnershipStore::damagedFileIsNamedAndNeverOverwritten() {
    QFETCH(QByteArray, raw);
    QFETCH(QString, field);
    QFETCH(QJsonValue, value);
    QFETCH(QString, expected);

    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    if (!field.isEmpty()) {
        // A valid file first (table, records 4 and 7), then one field broken by hand.
        Result<std::unique_ptr<Store>> writer = Store::open(path, Mode::Driver);
        VERIFY_OK(writer);
        VERIFY_OK((*writer)->initialize(sampleTable(1)));
        VERIFY_OK((*writer)->putMigration(sampleRecord(4)));
        VERIFY_OK((*writer)->putMigration(sampleRecord(7)));
        const QJsonObject valid = QJsonDocument::fromJson(fileBytes(path)).object();
        raw = QJsonDocument(patchedObject(valid, field, value)).toJson();
    }
    QVERIFY(writeBytes(path, raw));

    Result<std::unique_ptr<Store>> store = Store::open(path, Mode::Driver);
    VERIFY_OK(store); // a damaged file does not stop a console from opening and showing why
    const QString message = messageOf((*store)->load());
    QVERIFY2(message.startsWith(path + expected), qPrintable(message));

    // Every mutation re-reads the file and refuses to replace what it cannot read.
    const Status initialized = (*store)->initialize(sampleTable(1));
    const Status swapped = (*store)->compareAndSwapTable(1, sampleTable(2, 1));
    const Status put = (*store)->putMigration(sampleRecord(9));
    const Status pruned = (*store)->pruneMigrations(0);
    for (const Status* status : {&initialized, &swapped, &put, &pruned})
        QCOMPARE(messageOf(*status), message);
    QCOMPARE(fileBytes(path), raw);
}

void TestLocalFileOwnershipStore::truncatedFileIsNamedAndNeverOverwritten_data() {
    QTest::addColumn<int>("cutFromEnd"); // bytes removed from the end; -1: keep only the first
    QTest::newRow("only the first byte") << -1;
    QTest::newRow("half") << 0;
    QTest::newRow("all but the closing brace") << 2; // the file ends with "}\n"
}

void TestLocalFileOwnershipStore::truncatedFileIsNamedAndNeverOverwritten() {
    QFETCH(int, cutFromEnd);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    Result<std::unique_ptr<Store>> store = Store::open(path, Mode::Driver);
    VERIFY_OK(store);
    VERIFY_OK((*store)->initialize(sampleTable(1)));
    VERIFY_OK((*store)->putMigration(sampleRecord(3)));
    const QByteArray whole = fileBytes(path);
    QVERIFY(whole.endsWith("}\n"));
    const qsizetype length = cutFromEnd < 0    ? 1
                             : cutFromEnd == 0 ? whole.size() / 2
                                               : whole.size() - cutFromEnd;
    const QByteArray truncated = whole.left(length);
    QVERIFY(writeBytes(path, truncated));

    const QString message = messageOf((*store)->load());
    QVERIFY2(message.startsWith(path + QStringLiteral(": not valid JSON at byte")),
             qPrintable(message));
    QVERIFY(!(*store)->putMigration(sampleRecord(4)).ok());
    QVERIFY(!(*store)->pruneMigrations(0).ok());
    QCOMPARE(fileBytes(path), truncated);
}

void TestLocalFileOwnershipStore::leftoverTemporaryFileIsIgnored() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    const QString leftover = path + QStringLiteral(".tmp.999999"); // a crashed driver's write
    const QString unrelated = path + QStringLiteral(".tmp.notes");
    QVERIFY(writeBytes(leftover, "{\"format_version\": 1, \"revisi"));
    QVERIFY(writeBytes(unrelated, "keep me"));

    // Before any commit: the leftover does not count as a store file.
    Result<OwnershipState> state = freshLoad(path);
    VERIFY_OK(state);
    QVERIFY(!state->table);

    {
        Result<std::unique_ptr<Store>> store = Store::open(path, Mode::Driver);
        VERIFY_OK(store);
        // The new driver cleans up what a crashed one left; files that only look alike stay.
        QVERIFY(!QFileInfo::exists(leftover));
        QVERIFY(QFileInfo::exists(unrelated));
        VERIFY_OK((*store)->initialize(sampleTable(1)));
        // A leftover appearing while it drives is ignored by reads and writes alike.
        QVERIFY(writeBytes(leftover, "garbage"));
        VERIFY_OK((*store)->putMigration(sampleRecord(1)));
    }
    state = freshLoad(path);
    VERIFY_OK(state);
    QCOMPARE(state->revision, 2u);
    QCOMPARE(*state->table, sampleTable(1));
    QCOMPARE(fileBytes(leftover), QByteArray("garbage"));
}

void TestLocalFileOwnershipStore::failedTemporaryWriteLeavesTheFileIntact() {
    // Works as root too: a directory where the temporary file goes cannot be opened for writing.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    Result<std::unique_ptr<Store>> store = Store::open(path, Mode::Driver);
    VERIFY_OK(store);
    VERIFY_OK((*store)->initialize(sampleTable(1)));
    const QByteArray before = fileBytes(path);

    const QString temporary = (*store)->temporaryPath();
    QVERIFY(temporary.startsWith(path + QStringLiteral(".tmp.")));
    QVERIFY(temporary.endsWith(QString::number(::getpid())));
    QVERIFY(QDir().mkdir(temporary));
    const Status put = (*store)->putMigration(sampleRecord(1));
    QCOMPARE(messageOf(put), temporary + QStringLiteral(": cannot create: Is a directory"));
    QCOMPARE(fileBytes(path), before);
    QCOMPARE(freshLoad(path)->revision, 1u);

    QVERIFY(QDir().rmdir(temporary));
    VERIFY_OK((*store)->putMigration(sampleRecord(1)));
    QCOMPARE(freshLoad(path)->revision, 2u);
}

void TestLocalFileOwnershipStore::readOnlyDirectoryGivesAClearError() {
    if (::geteuid() == 0)
        QSKIP("running as root: directory permissions do not apply (the failure path is covered by "
              "failedTemporaryWriteLeavesTheFileIntact)");
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    Result<std::unique_ptr<Store>> store = Store::open(path, Mode::Driver);
    VERIFY_OK(store);
    VERIFY_OK((*store)->initialize(sampleTable(1)));
    const QByteArray before = fileBytes(path);

    QVERIFY(::chmod(QFile::encodeName(dir.path()).constData(), 0555) == 0);
    const Status put = (*store)->putMigration(sampleRecord(1));
    const Result<std::unique_ptr<Store>> other =
        Store::open(dir.filePath(QStringLiteral("other.json")), Mode::Driver);
    QVERIFY(::chmod(QFile::encodeName(dir.path()).constData(), 0755) == 0);

    QCOMPARE(messageOf(put),
             (*store)->temporaryPath() + QStringLiteral(": cannot create: Permission denied"));
    QCOMPARE(fileBytes(path), before);
    QVERIFY(!QFileInfo::exists((*store)->temporaryPath()));
    QCOMPARE(messageOf(other), dir.filePath(QStringLiteral("other.json.lock")) +
                                   QStringLiteral(": cannot open the driver lock file: Permission "
                                                  "denied"));
}

void TestLocalFileOwnershipStore::threadsSharingAHandleLoseNoChange() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    Result<std::unique_ptr<Store>> store = Store::open(path, Mode::Driver);
    VERIFY_OK(store);
    constexpr int kPerThread = 12;
    std::atomic<int> failures{0};
    const auto writer = [&](MigrationId firstId) {
        for (int i = 0; i < kPerThread; ++i)
            if (!(*store)->putMigration(sampleRecord(firstId + static_cast<MigrationId>(i))).ok())
                ++failures;
    };
    std::thread a(writer, 1);
    std::thread b(writer, 101);
    a.join();
    b.join();
    QCOMPARE(failures.load(), 0);
    const Result<OwnershipState> state = freshLoad(path);
    VERIFY_OK(state);
    QCOMPARE(state->migrations.size(), std::size_t(2 * kPerThread));
    QCOMPARE(state->revision, std::uint64_t(2 * kPerThread));
}

// ---------------------------------------------------------------------------------------------
// The driver lock

void TestLocalFileOwnershipStore::driverLockWithinOneProcess() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    Result<std::unique_ptr<Store>> driver = Store::open(path, Mode::Driver);
    VERIFY_OK(driver);
    QVERIFY((*driver)->holdsDriverLock());
    const QString holder = (*driver)->driverLockHolder();
    const QRegularExpression shape(
        QStringLiteral("^pid %1 on host %2 since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC$")
            .arg(::getpid())
            .arg(QRegularExpression::escape(QSysInfo::machineHostName())));
    QVERIFY2(shape.match(holder).hasMatch(), qPrintable(holder));
    QCOMPARE(fileBytes((*driver)->lockPath()), holder.toUtf8() + '\n'); // for `cat` and others

    // A second open in the same process is a second open file description: refused.
    const Result<std::unique_ptr<Store>> second = Store::open(path, Mode::Driver);
    QCOMPARE(messageOf(second), path + QStringLiteral(" is locked by ") + holder +
                                    QStringLiteral(": another console is driving migrations"));

    Result<std::unique_ptr<Store>> reader = Store::open(path, Mode::ReadOnly);
    VERIFY_OK(reader);
    QVERIFY(!(*reader)->holdsDriverLock());
    QCOMPARE((*reader)->driverLockHolder(), holder);
    QCOMPARE(messageOf((*reader)->putMigration(sampleRecord(1))),
             path + QStringLiteral(": opened read-only; the driver lock is held by ") + holder);
    QVERIFY(!QFileInfo::exists(path));

    VERIFY_OK((*driver)->initialize(sampleTable(1)));
    QCOMPARE((*reader)->load()->revision, 1u); // the reader reads the file, not a cache

    driver->reset(); // releases the lock and clears the holder's line
    QCOMPARE((*reader)->driverLockHolder(), QString());
    QCOMPARE(fileBytes(path + QStringLiteral(".lock")), QByteArray());
    QCOMPARE(messageOf((*reader)->pruneMigrations(0)),
             path + QStringLiteral(": opened read-only, and nobody holds the driver lock now: open "
                                   "it as the driver to change it"));
    Result<std::unique_ptr<Store>> next = Store::open(path, Mode::Driver);
    VERIFY_OK(next);
    VERIFY_OK((*next)->compareAndSwapTable(1, sampleTable(2, 1)));
}

void TestLocalFileOwnershipStore::driverLockHeldByAnotherProcess() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    int ready[2];
    int release[2];
    QVERIFY(::pipe(ready) == 0 && ::pipe(release) == 0);

    const pid_t child = ::fork();
    QVERIFY(child >= 0);
    if (child == 0) {
        // The child drives, says so, waits to be told, and dies without running destructors:
        // a crash, as far as the lock is concerned.
        Result<std::unique_ptr<Store>> store = Store::open(path, Mode::Driver);
        const char state = store.ok() ? 'L' : 'F';
        [[maybe_unused]] const ssize_t sent = ::write(ready[1], &state, 1);
        char go = 0;
        [[maybe_unused]] const ssize_t received = ::read(release[0], &go, 1);
        ::_exit(store.ok() ? 0 : 1);
    }
    ::close(ready[1]);
    ::close(release[0]);
    char state = 0;
    QCOMPARE(::read(ready[0], &state, 1), ssize_t(1));
    QCOMPARE(state, 'L');

    const QString childHolder = QStringLiteral("pid %1 on host ").arg(child);
    const Result<std::unique_ptr<Store>> refused = Store::open(path, Mode::Driver);
    QVERIFY2(messageOf(refused).startsWith(path + QStringLiteral(" is locked by ") + childHolder),
             problemOf(refused).c_str());
    QVERIFY(messageOf(refused).endsWith(QStringLiteral(": another console is driving migrations")));
    Result<std::unique_ptr<Store>> reader = Store::open(path, Mode::ReadOnly);
    VERIFY_OK(reader);
    QVERIFY((*reader)->driverLockHolder().startsWith(childHolder));
    QVERIFY(messageOf((*reader)->initialize(sampleTable(1))).contains(childHolder));

    const char go = 'x';
    QCOMPARE(::write(release[1], &go, 1), ssize_t(1));
    int status = 0;
    QCOMPARE(::waitpid(child, &status, 0), child);
    QVERIFY(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ::close(ready[0]);
    ::close(release[1]);

    // The dead driver's line is still in the lock file, but the kernel dropped its lock: the
    // probe says nobody drives, and a new driver takes over.
    QVERIFY(QString::fromUtf8(fileBytes(path + QStringLiteral(".lock"))).startsWith(childHolder));
    QCOMPARE((*reader)->driverLockHolder(), QString());
    Result<std::unique_ptr<Store>> next = Store::open(path, Mode::Driver);
    VERIFY_OK(next);
    QCOMPARE((*reader)->driverLockHolder(), (*next)->driverLockHolder());
}

void TestLocalFileOwnershipStore::driverLockSeenFromAnotherProcess() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    Result<std::unique_ptr<Store>> driver = Store::open(path, Mode::Driver);
    VERIFY_OK(driver);
    const QString holder = (*driver)->driverLockHolder();
    const QString expectedRefusal = path + QStringLiteral(" is locked by ") + holder +
                                    QStringLiteral(": another console is driving migrations");

    // Exit codes: 0 all as expected; 2 driver open succeeded; 3 wrong refusal; 4 wrong holder.
    const int exitCode = runInChild([&]() {
        const Result<std::unique_ptr<Store>> second = Store::open(path, Mode::Driver);
        if (second.ok())
            return 2;
        if (messageOf(second) != expectedRefusal)
            return 3;
        const Result<std::unique_ptr<Store>> reader = Store::open(path, Mode::ReadOnly);
        if (!reader.ok() || (*reader)->driverLockHolder() != holder)
            return 4;
        return 0;
    });
    QCOMPARE(exitCode, 0);
    // The child's exit closed its inherited copy of our descriptor; the lock is still ours.
    QVERIFY((*driver)->holdsDriverLock());
    QVERIFY(!Store::open(path, Mode::Driver).ok());
    VERIFY_OK((*driver)->initialize(sampleTable(1)));
}

void TestLocalFileOwnershipStore::sharedLockHolderIsNotADriver() {
    // A tool holding a shared lock (`flock -s ownership.json.lock …`, or a probe caught in the
    // act) keeps a driver out for as long as it holds it, but is not reported as a driver.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ownership.json"));
    const QString lockPath = path + QStringLiteral(".lock");
    QVERIFY(writeBytes(lockPath, "pid 1 on host gone since 2001-01-01 00:00:00 UTC\n"));
    const int fd = ::open(QFile::encodeName(lockPath).constData(), O_RDONLY | O_CLOEXEC);
    QVERIFY(fd >= 0);
    QCOMPARE(::flock(fd, LOCK_SH | LOCK_NB), 0);

    const Result<std::unique_ptr<Store>> refused = Store::open(path, Mode::Driver);
    QVERIFY2(messageOf(refused).startsWith(
                 path + QStringLiteral(": another process holds a shared lock on ") + lockPath),
             problemOf(refused).c_str());
    Result<std::unique_ptr<Store>> reader = Store::open(path, Mode::ReadOnly);
    VERIFY_OK(reader);
    QCOMPARE((*reader)->driverLockHolder(), QString()); // the stale line is not believed

    ::close(fd);
    Result<std::unique_ptr<Store>> driver = Store::open(path, Mode::Driver);
    VERIFY_OK(driver);
    QVERIFY((*driver)->driverLockHolder().startsWith(QStringLiteral("pid %1 ").arg(::getpid())));
}

QTEST_APPLESS_MAIN(TestLocalFileOwnershipStore)
#include "tst_local_file_ownership_store.moc"
