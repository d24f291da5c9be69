#include "proc_stats.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <unistd.h>

using namespace rangepilot;
using namespace rangepilot::node;

namespace {

// Recorded from a Linux 6.x machine (a `cat` process); utime 250 and stime 50 put in by hand.
constexpr const char* kStat =
    "28219 (cat) R 28217 28217 7535 0 -1 4194304 99 0 0 0 250 50 0 0 20 0 1 0 2157623 3133440 "
    "390 18446744073709551615 94182957449216 94182957469097 140720464131952 0 0 0 0 0 0 0 0 0 17 "
    "0 0 0 0 0 0\n";

constexpr const char* kStatus = "Name:\tcat\n"
                                "Umask:\t0022\n"
                                "State:\tR (running)\n"
                                "VmPeak:\t    3060 kB\n"
                                "VmHWM:\t    2028 kB\n"
                                "VmRSS:\t    2028 kB\n"
                                "RssAnon:\t       0 kB\n"
                                "Threads:\t1\n";

constexpr const char* kIo = "rchar: 6976\n"
                            "wchar: 120\n"
                            "syscr: 10\n"
                            "syscw: 0\n"
                            "read_bytes: 4096\n"
                            "write_bytes: 8192\n"
                            "cancelled_write_bytes: 777\n";

constexpr const char* kMemInfo = "MemTotal:       24731708 kB\n"
                                 "MemFree:        16308356 kB\n"
                                 "MemAvailable:   23515988 kB\n"
                                 "Buffers:          123456 kB\n"
                                 "Cached:          5000000 kB\n"
                                 "HugePages_Total:       0\n";

constexpr const char* kNetDev =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
    "    lo:   19702     176    0    0    0     0          0         0    19702     176    0    "
    "0    0     0       0          0\n"
    "  ifb0:       0       0    0    0    0     0          0         0        0       0    0    "
    "0    0     0       0          0\n"
    "  eth0: 60654431    2401    0    0    0     0          0         0   154663    2035    0    "
    "0    0     0       0          0\n"
    " wlan0:1000 5 0 0 0 0 0 0 2000 7 0 0 0 0 0 0\n";

QString errorOf(const std::string& message) {
    return QString::fromStdString(message);
}

bool writeFile(const QString& path, const QByteArray& text) {
    QDir().mkpath(QFileInfo(path).path());
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(text) == text.size();
}

} // namespace

class TestProcStats : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void stat_data();
    void stat();
    void residentBytes_data();
    void residentBytes();
    void processIo_data();
    void processIo();
    void memInfo_data();
    void memInfo();
    void netDev_data();
    void netDev();
    void sampleFromFakeTree();
    void sampleFromFakeTreeErrors();
    void sampleOfThisMachine();
};

// Rows: text, ticks per second, expected CPU seconds or the error's start.
void TestProcStats::stat_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<int>("ticks");
    QTest::addColumn<double>("seconds");
    QTest::addColumn<QString>("error");
    QTest::newRow("recorded") << QByteArray(kStat) << 100 << 3.0 << QString();
    QTest::newRow("other tick rate") << QByteArray(kStat) << 250 << 1.2 << QString();
    QTest::newRow("name with spaces and parentheses")
        << QByteArray("7 (my (odd) name) x) S 1 7 7 0 -1 0 0 0 0 0 1234 766 0 0 20 0 1 0 5\n")
        << 100 << 20.0 << QString();
    QTest::newRow("name that looks like fields")
        << QByteArray("7 (a) R 1 2 3 4 5 6 7 8 9 10 11) S 1 7 7 0 -1 0 0 0 0 0 10 0 0 0\n") << 10
        << 1.0 << QString();
    QTest::newRow("stime missing")
        << QByteArray("7 (n) S 1 7 7 0 -1 0 0 0 0 0 1234") << 100 << 0.0
        << QStringLiteral("/proc/self/stat: field 15 (stime) is missing");
    QTest::newRow("cut after the name")
        << QByteArray("7 (n)") << 100 << 0.0 << QStringLiteral("/proc/self/stat: field 14 (utime)");
    QTest::newRow("not a number") << QByteArray("7 (n) S 1 7 7 0 -1 0 0 0 0 0 12x4 5") << 100 << 0.0
                                  << QStringLiteral(
                                         "/proc/self/stat: field 14 (utime) is not a number: "
                                         "\"12x4\"");
    QTest::newRow("negative") << QByteArray("7 (n) S 1 7 7 0 -1 0 0 0 0 0 -3 5") << 100 << 0.0
                              << QStringLiteral("/proc/self/stat: field 14 (utime) is not");
    QTest::newRow("garbage") << QByteArray("hello world") << 100 << 0.0
                             << QStringLiteral("/proc/self/stat: no \")\"");
    QTest::newRow("empty") << QByteArray() << 100 << 0.0
                           << QStringLiteral("/proc/self/stat: no \")\"");
    QTest::newRow("zero ticks") << QByteArray(kStat) << 0 << 0.0
                                << QStringLiteral("/proc/self/stat: clock ticks per second");
}

void TestProcStats::stat() {
    QFETCH(QByteArray, text);
    QFETCH(int, ticks);
    QFETCH(double, seconds);
    QFETCH(QString, error);
    Result<ProcessCpu> cpu = parseProcessStat(text.toStdString(), ticks);
    if (!error.isEmpty()) {
        QVERIFY(!cpu.ok());
        QVERIFY2(errorOf(cpu.error().message).startsWith(error), cpu.error().message.c_str());
        return;
    }
    QVERIFY2(cpu.ok(), cpu.ok() ? "" : cpu.error().message.c_str());
    QCOMPARE(cpu->seconds, seconds);
}

void TestProcStats::residentBytes_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<qulonglong>("bytes");
    QTest::addColumn<QString>("error");
    QTest::newRow("recorded") << QByteArray(kStatus) << qulonglong(2028) * 1024 << QString();
    QTest::newRow("large") << QByteArray("VmRSS:  16777216 kB\n") << (qulonglong(1) << 34)
                           << QString();
    QTest::newRow("no VmRSS (kernel thread)")
        << QByteArray("Name:\tkthreadd\nState:\tS (sleeping)\n") << qulonglong(0)
        << QStringLiteral("/proc/self/status: no VmRSS line");
    QTest::newRow("garbage value") << QByteArray("VmRSS:\tlots kB\n") << qulonglong(0)
                                   << QStringLiteral("/proc/self/status: VmRSS is not a number");
    QTest::newRow("empty") << QByteArray() << qulonglong(0)
                           << QStringLiteral("/proc/self/status: no VmRSS line");
}

void TestProcStats::residentBytes() {
    QFETCH(QByteArray, text);
    QFETCH(qulonglong, bytes);
    QFETCH(QString, error);
    Result<std::uint64_t> resident = parseResidentBytes(text.toStdString());
    if (!error.isEmpty()) {
        QVERIFY(!resident.ok());
        QVERIFY2(errorOf(resident.error().message).startsWith(error),
                 resident.error().message.c_str());
        return;
    }
    QVERIFY2(resident.ok(), resident.ok() ? "" : resident.error().message.c_str());
    QCOMPARE(qulonglong(*resident), bytes);
}

void TestProcStats::processIo_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<qulonglong>("readBytes");
    QTest::addColumn<qulonglong>("writeBytes");
    QTest::addColumn<QString>("error");
    QTest::newRow("recorded") << QByteArray(kIo) << qulonglong(4096) << qulonglong(8192)
                              << QString();
    QTest::newRow("cancelled first") << QByteArray("cancelled_write_bytes: 5\nwrite_bytes: 6\n"
                                                   "read_bytes: 7\n")
                                     << qulonglong(7) << qulonglong(6) << QString();
    QTest::newRow("write_bytes missing")
        << QByteArray("rchar: 1\nread_bytes: 7\ncancelled_write_bytes: 5\n") << qulonglong(0)
        << qulonglong(0) << QStringLiteral("/proc/self/io: no write_bytes line");
    QTest::newRow("garbage") << QByteArray("read_bytes: 7\nwrite_bytes: many\n") << qulonglong(0)
                             << qulonglong(0)
                             << QStringLiteral("/proc/self/io: write_bytes is not a number");
}

void TestProcStats::processIo() {
    QFETCH(QByteArray, text);
    QFETCH(qulonglong, readBytes);
    QFETCH(qulonglong, writeBytes);
    QFETCH(QString, error);
    Result<ProcessIo> io = parseProcessIo(text.toStdString());
    if (!error.isEmpty()) {
        QVERIFY(!io.ok());
        QVERIFY2(errorOf(io.error().message).startsWith(error), io.error().message.c_str());
        return;
    }
    QVERIFY2(io.ok(), io.ok() ? "" : io.error().message.c_str());
    QCOMPARE(qulonglong(io->read_bytes), readBytes);
    QCOMPARE(qulonglong(io->write_bytes), writeBytes);
}

void TestProcStats::memInfo_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<qulonglong>("total");
    QTest::addColumn<qulonglong>("available");
    QTest::addColumn<QString>("error");
    QTest::newRow("recorded") << QByteArray(kMemInfo) << qulonglong(24731708) * 1024
                              << qulonglong(23515988) * 1024 << QString();
    QTest::newRow("old kernel without MemAvailable")
        << QByteArray("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n")
        << qulonglong(1000) * 1024 << qulonglong(420) * 1024 << QString();
    QTest::newRow("MemTotal missing")
        << QByteArray("MemFree: 100 kB\nMemAvailable: 200 kB\n") << qulonglong(0) << qulonglong(0)
        << QStringLiteral("/proc/meminfo: no MemTotal line");
    QTest::newRow("nothing available")
        << QByteArray("MemTotal: 1000 kB\n") << qulonglong(0) << qulonglong(0)
        << QStringLiteral("/proc/meminfo: neither MemAvailable");
    QTest::newRow("garbage") << QByteArray("MemTotal: 1x00 kB\nMemAvailable: 1 kB\n")
                             << qulonglong(0) << qulonglong(0)
                             << QStringLiteral("/proc/meminfo: MemTotal is not a number");
}

void TestProcStats::memInfo() {
    QFETCH(QByteArray, text);
    QFETCH(qulonglong, total);
    QFETCH(qulonglong, available);
    QFETCH(QString, error);
    Result<MemoryInfo> memory = parseMemInfo(text.toStdString());
    if (!error.isEmpty()) {
        QVERIFY(!memory.ok());
        QVERIFY2(errorOf(memory.error().message).startsWith(error), memory.error().message.c_str());
        return;
    }
    QVERIFY2(memory.ok(), memory.ok() ? "" : memory.error().message.c_str());
    QCOMPARE(qulonglong(memory->total_bytes), total);
    QCOMPARE(qulonglong(memory->available_bytes), available);
}

void TestProcStats::netDev_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<qulonglong>("received");
    QTest::addColumn<qulonglong>("sent");
    QTest::addColumn<QString>("error");
    const QByteArray header = QByteArray(kNetDev).left(QByteArray(kNetDev).indexOf("    lo:"));
    QTest::newRow("recorded, lo left out") << QByteArray(kNetDev) << qulonglong(60654431 + 1000)
                                           << qulonglong(154663 + 2000) << QString();
    QTest::newRow("only headers") << header << qulonglong(0) << qulonglong(0) << QString();
    QTest::newRow("only loopback") << header + "lo: 5 1 0 0 0 0 0 0 6 1 0 0 0 0 0 0\n"
                                   << qulonglong(0) << qulonglong(0) << QString();
    QTest::newRow("too few counters")
        << header + "eth0: 5 1 0 0 0 0 0 0\n"
        << qulonglong(0) << qulonglong(0)
        << QStringLiteral("/proc/net/dev: line 3 (eth0): 8 counters, expected at least 9");
    QTest::newRow("no interface name")
        << header + "garbage here\n"
        << qulonglong(0) << qulonglong(0)
        << QStringLiteral("/proc/net/dev: line 3: no \"interface:\"");
    QTest::newRow("counter not a number")
        << header + "eth0: 5 1 0 0 0 0 0 0 x 1 0 0 0 0 0 0\n"
        << qulonglong(0) << qulonglong(0)
        << QStringLiteral("/proc/net/dev: line 3 (eth0): byte counters are not numbers");
    QTest::newRow("empty") << QByteArray() << qulonglong(0) << qulonglong(0)
                           << QStringLiteral("/proc/net/dev: missing the two header lines");
}

void TestProcStats::netDev() {
    QFETCH(QByteArray, text);
    QFETCH(qulonglong, received);
    QFETCH(qulonglong, sent);
    QFETCH(QString, error);
    Result<NetworkTotals> totals = parseNetDev(text.toStdString());
    if (!error.isEmpty()) {
        QVERIFY(!totals.ok());
        QVERIFY2(errorOf(totals.error().message).startsWith(error), totals.error().message.c_str());
        return;
    }
    QVERIFY2(totals.ok(), totals.ok() ? "" : totals.error().message.c_str());
    QCOMPARE(qulonglong(totals->receive_bytes), received);
    QCOMPARE(qulonglong(totals->transmit_bytes), sent);
}

void TestProcStats::sampleFromFakeTree() {
    QTemporaryDir root;
    QVERIFY(writeFile(root.filePath(QStringLiteral("self/stat")), kStat));
    QVERIFY(writeFile(root.filePath(QStringLiteral("self/status")), kStatus));
    QVERIFY(writeFile(root.filePath(QStringLiteral("meminfo")), kMemInfo));
    QVERIFY(writeFile(root.filePath(QStringLiteral("net/dev")), kNetDev));

    // No self/io: the sample still succeeds, with the disk figure unknown.
    Result<ProcSample> withoutIo = readProcSample(root.path().toStdString());
    QVERIFY2(withoutIo.ok(), withoutIo.ok() ? "" : withoutIo.error().message.c_str());
    QVERIFY(!withoutIo->io_known);
    QCOMPARE(withoutIo->cpu.seconds, 300.0 / double(sysconf(_SC_CLK_TCK)));
    QCOMPARE(withoutIo->resident_bytes, std::uint64_t(2028) * 1024);
    QCOMPARE(withoutIo->memory.total_bytes, std::uint64_t(24731708) * 1024);
    QCOMPARE(withoutIo->network.receive_bytes, std::uint64_t(60654431 + 1000));
    QVERIFY(withoutIo->cpu_cores > 0);

    QVERIFY(writeFile(root.filePath(QStringLiteral("self/io")), kIo));
    Result<ProcSample> withIo = readProcSample(root.path().toStdString());
    QVERIFY(withIo.ok());
    QVERIFY(withIo->io_known);
    QCOMPARE(withIo->io.write_bytes, std::uint64_t(8192));

    // A broken self/io is unknown too, not a failure.
    QVERIFY(writeFile(root.filePath(QStringLiteral("self/io")), "nonsense"));
    Result<ProcSample> brokenIo = readProcSample(root.path().toStdString());
    QVERIFY(brokenIo.ok());
    QVERIFY(!brokenIo->io_known);
}

void TestProcStats::sampleFromFakeTreeErrors() {
    QTemporaryDir root;
    QVERIFY(writeFile(root.filePath(QStringLiteral("self/stat")), kStat));
    QVERIFY(writeFile(root.filePath(QStringLiteral("self/status")), kStatus));
    QVERIFY(writeFile(root.filePath(QStringLiteral("net/dev")), kNetDev));
    // meminfo missing: the error names the file it could not read.
    Result<ProcSample> missing = readProcSample(root.path().toStdString());
    QVERIFY(!missing.ok());
    QCOMPARE(errorOf(missing.error().message),
             root.filePath(QStringLiteral("meminfo")) + QStringLiteral(": cannot be opened"));
    // meminfo broken: the error names the file actually read and the field.
    QVERIFY(writeFile(root.filePath(QStringLiteral("meminfo")), "MemTotal: x kB\n"));
    Result<ProcSample> broken = readProcSample(root.path().toStdString());
    QVERIFY(!broken.ok());
    QVERIFY2(errorOf(broken.error().message)
                 .startsWith(root.filePath(QStringLiteral("meminfo")) +
                             QStringLiteral(": MemTotal is not a number")),
             broken.error().message.c_str());
}

void TestProcStats::sampleOfThisMachine() {
    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    Result<ProcSample> sample = readProcSample();
    QVERIFY2(sample.ok(), sample.ok() ? "" : sample.error().message.c_str());
    QVERIFY(sample->taken_unix_ms >= before);
    QVERIFY(sample->taken_unix_ms <= QDateTime::currentMSecsSinceEpoch());
    QVERIFY(sample->cpu_cores > 0);
    QCOMPARE(sample->cpu_cores, unsigned(sysconf(_SC_NPROCESSORS_ONLN)));
    QVERIFY(sample->cpu.seconds >= 0.0);
    QVERIFY(sample->cpu.seconds < 3600.0); // this test process, not the machine
    QVERIFY(sample->memory.total_bytes > (std::uint64_t(64) << 20));
    QVERIFY(sample->memory.available_bytes <= sample->memory.total_bytes);
    QVERIFY(sample->resident_bytes > (std::uint64_t(1) << 20));
    QVERIFY(sample->resident_bytes < sample->memory.total_bytes);
    // Burn a little CPU: the process's CPU time never goes down.
    volatile std::uint64_t sink = 0;
    for (std::uint64_t i = 0; i < 20'000'000; ++i)
        sink = sink + i;
    Result<ProcSample> later = readProcSample();
    QVERIFY(later.ok());
    QVERIFY(later->cpu.seconds >= sample->cpu.seconds);
    QVERIFY(later->network.receive_bytes >= sample->network.receive_bytes);
}

QTEST_APPLESS_MAIN(TestProcStats)
#include "tst_proc_stats.moc"
