// Shadowed migration between two real rangepilot-nodes on loopback, measured against baselines
// from the same run:
//
//  1. Copy throughput: the executor moves a shard holding N MB (no rate limit, 1 MiB batches,
//     node to node). Baseline: writing the same bytes into the source in the first place, with 4
//     client threads doing Puts of the same values (what any client-side copy would at best do).
//  2. Foreground latency: rangepilot-load at a fixed rate (gets and puts over a shard that stays
//     put and the moving one), p50, p99, p99.9 and max over the run, first with no migration, then
//     with the shard moving back at a rate limit that spreads the copy over the first half of the
//     run, so that the verification, the fence and the cutover fall inside it too.
//
// Usage: bench_migration [--quick] [--mb N] [--rate OPS] [--seconds S] [--batch-kib K]
//   defaults 256 MB, 2000 ops/s, 10 s, 1024 KiB batches; --quick: 16 MB, 500 ops/s, 2 s (a smoke
//   run, not a measurement).

#include "local_file_ownership_store.h"
#include "migration_executor.h"
#include "node_cluster.h"
#include "node_directory.h"
#include "proto_convert.h"

#include <QCoreApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace rangepilot;
using namespace rangepilot::e2e;

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kValueBytes = 16 * 1024;
constexpr int kWriterThreads = 4;

struct Settings {
    double megabytes = 256;
    double rate = 2000;
    double seconds = 10;
    double batch_kib = 1024; // CopyBatch max_bytes, the executor's default
};

double secondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string bulkKey(std::size_t i) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "bulk%09zu", i);
    return buffer;
}

[[noreturn]] void fail(const std::string& message) {
    std::fprintf(stderr, "bench_migration: %s\n", message.c_str());
    std::exit(1);
}

// Writes `count` values of kValueBytes into the cluster's owner of "bulk..." with kWriterThreads
// threads of plain Puts; returns the seconds it took.
double writeBulk(NodeCluster& cluster, std::size_t count) {
    const OwnershipTable table = cluster.table();
    const int owner = cluster.ownerIndex(bulkKey(0));
    const auto channel = cluster.node(owner).channel(cluster.security());
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    const Clock::time_point start = Clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < kWriterThreads; ++t)
        threads.emplace_back([&] {
            auto stub = v1::NodeAgent::NewStub(channel);
            v1::PutRequest request;
            request.set_epoch(table.epoch());
            std::string value(kValueBytes, 'v');
            for (std::size_t i = next++; i < count && !failed; i = next++) {
                value.replace(0, 12, std::to_string(1000000000000 + i));
                request.set_key(bulkKey(i));
                request.set_value(value);
                grpc::ClientContext context;
                addToken(context, cluster.security().token);
                v1::PutResponse reply;
                if (!stub->Put(&context, request, &reply).ok())
                    failed = true;
            }
        });
    for (std::thread& thread : threads)
        thread.join();
    if (failed)
        fail("bulk write failed");
    return secondsSince(start);
}

// A migration of the bulk shard, timed from the first Copying report to the first CatchingUp.
struct MoveTiming {
    double copy_seconds = 0;
    double total_seconds = 0;
    double bytes = 0;
    MigrationPhase phase = MigrationPhase::Proposed;
    std::string error;
    // When each phase began, in seconds since start().
    std::vector<std::pair<MigrationPhase, double>> phases;

    std::string timeline() const {
        std::string out;
        for (const auto& [phase, at] : phases) {
            char step[96];
            std::snprintf(step, sizeof step, "%s%s %.2f s", out.empty() ? "" : ", ",
                          migrationPhaseName(phase).toUtf8().constData(), at);
            out += step;
        }
        return out;
    }
};

class Mover {
public:
    Mover(NodeCluster& cluster, const QString& storePath)
        : m_cluster(cluster) {
        auto opened =
            LocalFileOwnershipStore::open(storePath, LocalFileOwnershipStore::OpenMode::Driver);
        if (!opened)
            fail(opened.error().message);
        m_store = std::move(opened).value();
        if (Status initialized = m_store->initialize(cluster.table()); !initialized)
            fail(initialized.message());
        m_nodes = std::make_unique<NodeDirectory>(cluster.security());
        for (int i = 0; i < cluster.size(); ++i)
            if (!m_nodes->add(cluster.node(i).name().toStdString(),
                              cluster.node(i).address().toStdString()))
                fail("node directory");
    }

    // Starts moving the bulk shard to the node that does not own it; returns at once.
    void start(double bytesPerS, std::uint32_t batchBytes) {
        MigrationExecutorOptions options;
        options.copy_bytes_per_s = bytesPerS;
        options.batch_bytes = batchBytes;
        m_timing = {};
        m_copyStarted.reset();
        m_executor = std::make_unique<MigrationExecutor>(
            *m_store, *m_nodes, options, [this](const MigrationProgress& p) { observe(p); });
        const OwnershipTable table = *m_store->load().value().table;
        const Shard& shard = table.shardFor(bulkKey(0));
        MoveInstruction move;
        move.shard = shard.id;
        move.from = shard.owner;
        move.to = shard.owner == "n1" ? "n2" : "n1";
        m_started = Clock::now();
        if (auto id = m_executor->start(move); !id)
            fail(id.error().message);
    }

    MoveTiming wait() {
        m_executor->waitForAll();
        const std::lock_guard lock(m_mutex);
        if (Status installed = fromStore(); !installed)
            fail(installed.message());
        return m_timing;
    }

private:
    void observe(const MigrationProgress& progress) {
        const std::lock_guard lock(m_mutex);
        if (progress.phase == MigrationPhase::Copying && !m_copyStarted)
            m_copyStarted = Clock::now();
        if (progress.phase == MigrationPhase::CatchingUp && m_copyStarted &&
            m_timing.copy_seconds == 0)
            m_timing.copy_seconds = secondsSince(*m_copyStarted);
        m_timing.bytes = progress.bytes_copied;
        if (m_timing.phases.empty() || m_timing.phases.back().first != progress.phase)
            m_timing.phases.emplace_back(progress.phase, secondsSince(m_started));
        if (isTerminal(progress.phase))
            m_timing.total_seconds = secondsSince(m_started);
        m_timing.phase = progress.phase;
        m_timing.error = progress.error.toStdString();
    }
    // The harness routes by the table it installed last: give it the committed one.
    Status fromStore() {
        const auto state = m_store->load();
        if (!state || !state->table)
            return Error{"store has no table"};
        const grpc::Status status = m_cluster.installTable(*state->table);
        return status.ok() ? Status{} : Status(Error{describeStatus(status)});
    }

    NodeCluster& m_cluster;
    std::unique_ptr<LocalFileOwnershipStore> m_store;
    std::unique_ptr<NodeDirectory> m_nodes;
    std::unique_ptr<MigrationExecutor> m_executor;
    std::mutex m_mutex;
    MoveTiming m_timing;
    std::optional<Clock::time_point> m_copyStarted;
    Clock::time_point m_started;
};

struct Latency {
    double p50_ms = 0;
    double p99_ms = 0;
    double p999_ms = 0;
    double max_ms = 0;
    double throughput = 0;
    qint64 errors = 0;
};

// rangepilot-load at a fixed rate over user0000..user9999 (both shards).
class Load {
public:
    void start(NodeCluster& cluster, const Settings& settings) {
        QStringList nodes;
        for (int i = 0; i < cluster.size(); ++i)
            nodes << cluster.node(i).address();
        m_process.start(
            QStringLiteral(RANGEPILOT_LOAD_BINARY),
            {QStringLiteral("--nodes"), nodes.join(QLatin1Char(',')), QStringLiteral("--token"),
             QString::fromStdString(cluster.security().token), QStringLiteral("--duration"),
             QString::number(settings.seconds), QStringLiteral("--rate"),
             QString::number(settings.rate), QStringLiteral("--threads"), QStringLiteral("8"),
             QStringLiteral("--keys"), QStringLiteral("10000"), QStringLiteral("--value-bytes"),
             QStringLiteral("256"), QStringLiteral("--write-fraction"), QStringLiteral("0.3"),
             QStringLiteral("--report-every"), QStringLiteral("0"), QStringLiteral("--json")});
        if (!m_process.waitForStarted())
            fail("rangepilot-load did not start");
    }
    Latency finish() {
        if (!m_process.waitForFinished(600000))
            fail("rangepilot-load did not finish");
        const QJsonObject summary =
            QJsonDocument::fromJson(m_process.readAllStandardOutput()).object();
        if (summary.isEmpty())
            fail("rangepilot-load printed no summary: " +
                 m_process.readAllStandardError().toStdString());
        const QJsonObject all = summary.value(QLatin1String("latency"))
                                    .toObject()
                                    .value(QLatin1String("all"))
                                    .toObject();
        Latency latency;
        latency.p50_ms = all.value(QLatin1String("p50_us")).toDouble() / 1000.0;
        latency.p99_ms = all.value(QLatin1String("p99_us")).toDouble() / 1000.0;
        latency.p999_ms = all.value(QLatin1String("p999_us")).toDouble() / 1000.0;
        latency.max_ms = all.value(QLatin1String("max_us")).toDouble() / 1000.0;
        latency.throughput = summary.value(QLatin1String("throughput_ops_s")).toDouble();
        latency.errors = summary.value(QLatin1String("errors")).toInteger();
        return latency;
    }

private:
    QProcess m_process;
};

Settings parse(int argc, char** argv) {
    Settings settings;
    for (int i = 1; i < argc; ++i) {
        const auto number = [&](double& out) {
            if (i + 1 >= argc)
                fail(std::string(argv[i]) + " needs a value");
            out = std::atof(argv[++i]);
        };
        if (std::strcmp(argv[i], "--quick") == 0)
            settings = Settings{16, 500, 2};
        else if (std::strcmp(argv[i], "--mb") == 0)
            number(settings.megabytes);
        else if (std::strcmp(argv[i], "--rate") == 0)
            number(settings.rate);
        else if (std::strcmp(argv[i], "--seconds") == 0)
            number(settings.seconds);
        else if (std::strcmp(argv[i], "--batch-kib") == 0)
            number(settings.batch_kib);
        else
            fail(std::string("unknown argument ") + argv[i]);
    }
    return settings;
}

} // namespace

int main(int argc, char** argv) {
    QCoreApplication application(argc, argv);
    const Settings settings = parse(argc, argv);

    // Two shards on different nodes: ["", "user5") holds the bulk data and the lower half of the
    // driver's keys and moves; ["user5", "") holds the upper half and stays put. The foreground
    // traffic thus hits a moving shard (dual writes, the fence of the cutover) and a resting one.
    NodeCluster cluster;
    NodeClusterOptions options;
    options.nodeCount = 2;
    options.installTable = false;
    options.token = QStringLiteral("bench");
    if (!cluster.start(options))
        fail(cluster.errorString().toStdString());
    Result<OwnershipTable> table = OwnershipTable::create(
        {Shard{1, KeyRange{"", "user5"}, "n1", {}}, Shard{2, KeyRange{"user5", ""}, "n2", {}}}, 1,
        {"n1", "n2"});
    if (!table || !cluster.installTable(*table).ok())
        fail("installing the table");

    const auto count = static_cast<std::size_t>(settings.megabytes * 1e6 / kValueBytes);
    const double bytes = static_cast<double>(count * (kValueBytes + bulkKey(0).size()));
    const double writeSeconds = writeBulk(cluster, count);
    const double writeMBps = bytes / 1e6 / writeSeconds;

    Mover mover(cluster, cluster.directory() + QStringLiteral("/ownership.json"));
    const auto batchBytes = static_cast<std::uint32_t>(settings.batch_kib * 1024);
    mover.start(0.0, batchBytes);
    const MoveTiming copy = mover.wait();
    if (copy.phase != MigrationPhase::Done)
        fail("the copy migration ended " + migrationPhaseName(copy.phase).toStdString() + ": " +
             copy.error);
    const double copyMBps = copy.bytes / 1e6 / copy.copy_seconds;

    std::printf("copy throughput, node to node on loopback (%.0f MB in %zu values of %zu KiB):\n",
                bytes / 1e6, count, kValueBytes / 1024);
    std::printf("  migration copy (%.0f KiB batches, no rate limit): %8.1f MB/s  (%.2f s; whole "
                "migration with checksums and cutover %.2f s)\n",
                settings.batch_kib, copyMBps, copy.copy_seconds, copy.total_seconds);
    std::printf("    phases began at: %s\n", copy.timeline().c_str());
    std::printf("  baseline: client Puts, %d threads:             %8.1f MB/s  (%.2f s)\n",
                kWriterThreads, writeMBps, writeSeconds);
    std::printf("  ratio copy / baseline: %.2f\n\n", copyMBps / writeMBps);

    Load quiet;
    quiet.start(cluster, settings);
    const Latency without = quiet.finish();

    // Back again at a rate that spreads the copy over the first half of the foreground run, so
    // that the checksums, the fence and the cutover happen while the load runs too.
    const double rateLimit = bytes / (settings.seconds * 0.5);
    Load busy;
    mover.start(rateLimit, batchBytes);
    busy.start(cluster, settings);
    const Latency during = busy.finish();
    const MoveTiming back = mover.wait();
    if (back.phase != MigrationPhase::Done)
        fail("the second migration ended " + migrationPhaseName(back.phase).toStdString() + ": " +
             back.error);

    std::printf("foreground latency, rangepilot-load at %.0f ops/s for %.0f s (30%% puts, half of "
                "the keys in the moving shard):\n",
                settings.rate, settings.seconds);
    const auto printLatency = [](const char* what, const Latency& latency) {
        std::printf("  %-34s p50 %6.2f ms  p99 %6.2f ms  p99.9 %6.2f ms  max %7.2f ms  (%.0f "
                    "ops/s, %lld errors)\n",
                    what, latency.p50_ms, latency.p99_ms, latency.p999_ms, latency.max_ms,
                    latency.throughput, static_cast<long long>(latency.errors));
    };
    printLatency("without a migration:", without);
    char during_label[64];
    std::snprintf(during_label, sizeof during_label,
                  "during a migration at %.1f MB/s:", rateLimit / 1e6);
    printLatency(during_label, during);
    std::printf("  (the migration took %.2f s from start to done%s; phases began at: %s)\n",
                back.total_seconds,
                back.total_seconds > settings.seconds ? ", longer than the load run" : "",
                back.timeline().c_str());
    std::printf("  ratio p99 during / without: %.2f\n", during.p99_ms / without.p99_ms);
    return 0;
}
