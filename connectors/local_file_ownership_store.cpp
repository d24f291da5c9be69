#include "local_file_ownership_store.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QJsonValue>
#include <QSysInfo>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <fcntl.h>
#include <sys/file.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace rangepilot {

namespace {

Error failure(const QString& message) {
    return Error{message.toStdString()};
}

// ---------------------------------------------------------------------------------------------
// System calls. Every failure names the path and the system's reason.

QString systemReason(int error) {
    return QString::fromStdString(std::generic_category().message(error));
}

Error systemError(const QString& path, const QString& action, int error) {
    return failure(QStringLiteral("%1: %2: %3").arg(path, action, systemReason(error)));
}

QByteArray nativePath(const QString& path) {
    return QFile::encodeName(path);
}

// Writes everything, resuming after short writes and signals; false with errno set on failure.
bool writeAll(int fd, const QByteArray& bytes) {
    const char* data = bytes.constData();
    std::size_t left = static_cast<std::size_t>(bytes.size());
    while (left > 0) {
        const ssize_t written = ::write(fd, data, left);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0) {
            if (written == 0)
                errno = EIO; // a regular file that accepts nothing: do not spin
            return false;
        }
        data += written;
        left -= static_cast<std::size_t>(written);
    }
    return true;
}

// Reads to the end; false with errno set on failure.
bool readAll(int fd, QByteArray& out) {
    std::array<char, 64 * 1024> buffer;
    for (;;) {
        const ssize_t count = ::read(fd, buffer.data(), buffer.size());
        if (count < 0 && errno == EINTR)
            continue;
        if (count < 0)
            return false;
        if (count == 0)
            return true;
        out.append(buffer.data(), count);
    }
}

// The file's bytes, or no value when it does not exist (an empty store).
Result<std::optional<QByteArray>> readFileIfExists(const QString& path) {
    const int fd = ::open(nativePath(path).constData(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return std::optional<QByteArray>();
        return systemError(path, QStringLiteral("cannot open"), errno);
    }
    QByteArray bytes;
    const bool complete = readAll(fd, bytes);
    const int readError = errno;
    ::close(fd);
    if (!complete)
        return systemError(path, QStringLiteral("cannot read"), readError);
    return std::optional<QByteArray>(std::move(bytes));
}

// Creates (or truncates) `path` with `bytes` and fsyncs it. On failure a file this call created
// is removed, so no half-written temporary file stays behind.
Status writeFileDurably(const QString& path, const QByteArray& bytes) {
    const QByteArray native = nativePath(path);
    const int fd = ::open(native.constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return systemError(path, QStringLiteral("cannot create"), errno);
    QString failedStep;
    int error = 0;
    if (!writeAll(fd, bytes)) {
        failedStep = QStringLiteral("cannot write");
        error = errno;
    } else if (::fsync(fd) != 0) {
        failedStep = QStringLiteral("fsync failed");
        error = errno;
    }
    // close() reports delayed write errors on some file systems (NFS): it counts too.
    if (::close(fd) != 0 && failedStep.isEmpty()) {
        failedStep = QStringLiteral("cannot close");
        error = errno;
    }
    if (failedStep.isEmpty())
        return {};
    ::unlink(native.constData());
    return systemError(path, failedStep, error);
}

// A rename is durable only once the directory entry is: fsync the directory itself.
Status syncDirectory(const QString& directory) {
    const int fd = ::open(nativePath(directory).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return systemError(directory, QStringLiteral("cannot open the directory to sync it"),
                           errno);
    const bool synced = ::fsync(fd) == 0;
    const int error = errno;
    ::close(fd);
    if (!synced)
        return systemError(directory, QStringLiteral("fsync of the directory failed"), error);
    return {};
}

// ---------------------------------------------------------------------------------------------
// The driver lock.

enum class LockOutcome { Locked, HeldByDriver, HeldShared, Failed };

struct LockAttempt {
    LockOutcome outcome = LockOutcome::Failed;
    int error = 0;
};

// Takes LOCK_EX on `fd` without waiting. A refusal does not always mean a driver: a
// driverLockHolder() probe holds LOCK_SH for the length of two system calls. A shared attempt
// tells the two apart (it fails only against an exclusive holder, i.e. a driver); after a probe
// we try again. A shared holder that stays (a foreign `flock -s`) ends the retries.
LockAttempt lockExclusively(int fd) {
    constexpr int kAttempts = 1000; // a probe lasts microseconds; this is far more than enough
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0)
            return {LockOutcome::Locked};
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK)
            return {LockOutcome::Failed, errno};
        if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK)
                return {LockOutcome::HeldByDriver};
            if (errno == EINTR)
                continue;
            return {LockOutcome::Failed, errno};
        }
        ::flock(fd, LOCK_UN);
        std::this_thread::yield();
    }
    return {LockOutcome::HeldShared};
}

// What the driver wrote into its lock file, trimmed. Empty if it has not written yet.
QString readLockText(int fd) {
    std::array<char, 4096> buffer;
    ssize_t count = -1;
    do {
        count = ::pread(fd, buffer.data(), buffer.size(), 0);
    } while (count < 0 && errno == EINTR);
    if (count <= 0)
        return {};
    return QString::fromUtf8(buffer.data(), count).trimmed();
}

// Replaces the lock file's content with `text` and makes it durable; false with errno set.
bool recordLockText(int fd, const QString& text) {
    if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0)
        return false;
    return writeAll(fd, text.toUtf8() + '\n') && ::fsync(fd) == 0;
}

struct LockProbe {
    bool locked = false;
    QString holder; // may be empty while locked: the driver has not recorded itself yet
};

// Whether a driver holds the lock, asked with LOCK_SH | LOCK_NB on a descriptor of our own: it
// fails exactly when some open file description holds LOCK_EX, and flock() locks belong to the
// open file description, so this sees a driver in this very process too. (F_OFD_GETLK would ask
// without taking anything, but it cannot see flock() locks: on Linux flock() and fcntl() locks
// are independent.) The shared lock is dropped at once; a driver opening in that instant retries
// (lockExclusively). The file's text alone proves nothing: a crashed driver leaves it behind.
LockProbe probeDriverLock(const QString& lockPath) {
    const int fd = ::open(nativePath(lockPath).constData(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return {}; // no lock file: nobody has driven this store (or we cannot tell)
    LockProbe probe;
    int result = 0;
    do {
        result = ::flock(fd, LOCK_SH | LOCK_NB);
    } while (result != 0 && errno == EINTR);
    if (result == 0) {
        ::flock(fd, LOCK_UN);
    } else if (errno == EWOULDBLOCK) {
        probe.locked = true;
        probe.holder = readLockText(fd);
    }
    ::close(fd);
    return probe;
}

QString utcNow() {
    return QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")) +
           QStringLiteral(" UTC");
}

bool isDecimal(const QString& text) {
    return !text.isEmpty() &&
           std::all_of(text.begin(), text.end(), [](QChar c) { return c.isDigit(); });
}

// ---------------------------------------------------------------------------------------------
// JSON values.

// Integers above 2^53 do not survive readers that hold numbers as doubles (JavaScript, jq):
// those are written as decimal strings. Readers accept both forms.
constexpr std::uint64_t kLargestExactJsonInteger = std::uint64_t{1} << 53;

QJsonValue unsignedToJson(std::uint64_t value) {
    if (value <= kLargestExactJsonInteger)
        return QJsonValue(static_cast<qint64>(value));
    return QJsonValue(QString::number(value));
}

QJsonValue signedToJson(std::int64_t value) {
    const std::uint64_t magnitude = value < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(value)
                                              : static_cast<std::uint64_t>(value);
    if (magnitude <= kLargestExactJsonInteger)
        return QJsonValue(static_cast<qint64>(value));
    return QJsonValue(QString::number(value));
}

QJsonValue textToJson(const std::string& text) {
    return QJsonValue(QString::fromStdString(text));
}

QJsonValue keyToJson(const Key& key) {
    return textToJson(formatKey(key)); // printable ASCII or 0x-hex: exact in any JSON reader
}

QJsonArray textsToJson(const std::vector<std::string>& texts) {
    QJsonArray array;
    for (const std::string& text : texts)
        array.append(textToJson(text));
    return array;
}

// The integer a JSON number holds exactly, if it is one. Qt keeps integer literals that fit
// qint64 as integers; toInteger() returns its default unless the value is a whole number, so
// asking with two different defaults tells "not whole" apart from a value equal to a default.
std::optional<qint64> wholeNumber(const QJsonValue& value) {
    if (!value.isDouble())
        return std::nullopt;
    const qint64 withZero = value.toInteger(0);
    if (withZero != value.toInteger(1))
        return std::nullopt;
    return withZero;
}

template <typename Integer>
std::optional<Integer> parseDecimal(const QString& text) {
    const QByteArray bytes = text.toUtf8();
    const char* first = bytes.constData();
    const char* last = first + bytes.size();
    Integer value{};
    const auto [end, error] = std::from_chars(first, last, value);
    if (first == last || error != std::errc() || end != last)
        return std::nullopt;
    return value;
}

// Reads the typed fields of one JSON object. The first problem is kept, as
// "<where>: <prefix><field>: <problem>", and later reads return defaults, so a decoder reads all
// its fields in a row and checks ok() once.
class JsonFields {
public:
    JsonFields(QJsonObject object, QString where, QString prefix)
        : m_object(std::move(object))
        , m_where(std::move(where))
        , m_prefix(std::move(prefix)) {}

    bool ok() const { return m_problem.isEmpty(); }
    Error error() const { return failure(m_problem); }
    void fail(const QString& field, const QString& problem) {
        if (ok())
            m_problem = QStringLiteral("%1: %2%3: %4").arg(m_where, m_prefix, field, problem);
    }

    QJsonValue value(const char* name) const { return m_object.value(QLatin1String(name)); }

    std::uint64_t unsignedInteger(const char* name) {
        const QJsonValue field = value(name);
        if (const std::optional<qint64> number = wholeNumber(field); number && *number >= 0)
            return static_cast<std::uint64_t>(*number);
        if (field.isString())
            if (const auto parsed = parseDecimal<std::uint64_t>(field.toString()))
                return *parsed;
        fail(QLatin1String(name), QStringLiteral("must be a non-negative integer"));
        return 0;
    }

    std::int64_t integer(const char* name) {
        const QJsonValue field = value(name);
        if (const std::optional<qint64> number = wholeNumber(field))
            return *number;
        if (field.isString())
            if (const auto parsed = parseDecimal<std::int64_t>(field.toString()))
                return *parsed;
        fail(QLatin1String(name), QStringLiteral("must be an integer"));
        return 0;
    }

    double nonNegativeNumber(const char* name) {
        const QJsonValue field = value(name);
        const double number = field.toDouble(-1.0);
        if (field.isDouble() && std::isfinite(number) && number >= 0.0)
            return number;
        fail(QLatin1String(name), QStringLiteral("must be a finite number >= 0"));
        return 0.0;
    }

    QString text(const char* name) {
        const QJsonValue field = value(name);
        if (!field.isString())
            fail(QLatin1String(name), QStringLiteral("must be a string"));
        return field.toString();
    }

    std::string nonEmptyText(const char* name) {
        return nonEmptyText(value(name), QLatin1String(name));
    }

    Key key(const char* name) {
        const QJsonValue field = value(name);
        if (!field.isString()) {
            fail(QLatin1String(name), QStringLiteral("must be a key (text, or 0x and hex digits)"));
            return {};
        }
        Key key;
        const char* reason = nullptr;
        if (!decodeKeyText(field.toString().toStdString(), key, reason))
            fail(QLatin1String(name), QLatin1String(reason));
        return key;
    }

    std::vector<std::string> nonEmptyTexts(const char* name) {
        const QJsonArray array = this->array(name);
        std::vector<std::string> texts;
        texts.reserve(static_cast<std::size_t>(array.size()));
        for (qsizetype i = 0; i < array.size(); ++i)
            texts.push_back(
                nonEmptyText(array[i], QStringLiteral("%1[%2]").arg(QLatin1String(name)).arg(i)));
        return texts;
    }

    QJsonArray array(const char* name) {
        const QJsonValue field = value(name);
        if (!field.isArray())
            fail(QLatin1String(name), QStringLiteral("must be an array"));
        return field.toArray();
    }

private:
    std::string nonEmptyText(const QJsonValue& field, const QString& path) {
        if (!field.isString() || field.toString().isEmpty()) {
            fail(path, QStringLiteral("must be a non-empty string"));
            return {};
        }
        return field.toString().toStdString();
    }

    QJsonObject m_object; // implicitly shared: copies are cheap
    QString m_where;
    QString m_prefix;
    QString m_problem;
};

// A problem of a whole object (not of one field): "<where>: <prefix without its dot>: message".
Error objectError(const QString& where, const QString& prefix, const std::string& message) {
    if (prefix.isEmpty())
        return failure(QStringLiteral("%1: %2").arg(where, QString::fromStdString(message)));
    return failure(QStringLiteral("%1: %2: %3")
                       .arg(where, prefix.chopped(1), QString::fromStdString(message)));
}

// ---------------------------------------------------------------------------------------------
// Tables.

QJsonObject shardToJson(const Shard& shard) {
    QJsonObject object;
    object.insert(QStringLiteral("id"), unsignedToJson(shard.id));
    object.insert(QStringLiteral("start"), keyToJson(shard.range.start));
    object.insert(QStringLiteral("end"), keyToJson(shard.range.end));
    object.insert(QStringLiteral("owner"), textToJson(shard.owner));
    object.insert(QStringLiteral("replicas"), textsToJson(shard.replicas));
    return object;
}

Result<Shard> decodeShard(const QJsonObject& object, const QString& where, const QString& prefix) {
    JsonFields in(object, where, prefix);
    Shard shard;
    shard.id = in.unsignedInteger("id");
    shard.range.start = in.key("start");
    shard.range.end = in.key("end");
    shard.owner = in.nonEmptyText("owner");
    shard.replicas = in.nonEmptyTexts("replicas");
    if (!in.ok())
        return in.error();
    return shard;
}

// `prefix` is the path of the table inside a larger document ("table.") or empty.
Result<OwnershipTable> decodeTable(const QJsonObject& object, const QString& where,
                                   const QString& prefix) {
    JsonFields in(object, where, prefix);
    const std::uint64_t epoch = in.unsignedInteger("epoch");
    std::vector<HostId> placementHosts = in.nonEmptyTexts("placement_hosts");
    const QJsonArray shardValues = in.array("shards");
    if (!in.ok())
        return in.error();

    std::vector<Shard> shards;
    shards.reserve(static_cast<std::size_t>(shardValues.size()));
    for (qsizetype i = 0; i < shardValues.size(); ++i) {
        const QString element = QStringLiteral("shards[%1]").arg(i);
        if (!shardValues[i].isObject()) {
            in.fail(element, QStringLiteral("must be an object"));
            return in.error();
        }
        Result<Shard> shard =
            decodeShard(shardValues[i].toObject(), where, prefix + element + QLatin1Char('.'));
        if (!shard)
            return shard.error();
        shards.push_back(std::move(shard).value());
    }
    // The table's own rules (order, gaps, unique ids, hosts) are create()'s to check.
    Result<OwnershipTable> table =
        OwnershipTable::create(std::move(shards), epoch, std::move(placementHosts));
    if (!table)
        return objectError(where, prefix, table.error().message);
    return table;
}

// ---------------------------------------------------------------------------------------------
// Migration records.

// Stable names for the file: independent of migrationPhaseName(), which is display text. A new
// phase needs a name here (the switch warns) and an entry in kStoredPhases.
const char* storedPhaseName(MigrationPhase phase) {
    switch (phase) {
    case MigrationPhase::Proposed:
        return "proposed";
    case MigrationPhase::Approved:
        return "approved";
    case MigrationPhase::Scheduled:
        return "scheduled";
    case MigrationPhase::Shadowing:
        return "shadowing";
    case MigrationPhase::Copying:
        return "copying";
    case MigrationPhase::CatchingUp:
        return "catching_up";
    case MigrationPhase::CuttingOver:
        return "cutting_over";
    case MigrationPhase::Done:
        return "done";
    case MigrationPhase::Paused:
        return "paused";
    case MigrationPhase::RollingBack:
        return "rolling_back";
    case MigrationPhase::Aborted:
        return "aborted";
    case MigrationPhase::Failed:
        return "failed";
    }
    return "unknown";
}

constexpr std::array kStoredPhases{
    MigrationPhase::Proposed,    MigrationPhase::Approved, MigrationPhase::Scheduled,
    MigrationPhase::Shadowing,   MigrationPhase::Copying,  MigrationPhase::CatchingUp,
    MigrationPhase::CuttingOver, MigrationPhase::Done,     MigrationPhase::Paused,
    MigrationPhase::RollingBack, MigrationPhase::Aborted,  MigrationPhase::Failed,
};

std::optional<MigrationPhase> parseStoredPhase(const QString& name) {
    for (const MigrationPhase phase : kStoredPhases)
        if (name == QLatin1String(storedPhaseName(phase)))
            return phase;
    return std::nullopt;
}

QString storedPhaseNames() {
    QStringList names;
    for (const MigrationPhase phase : kStoredPhases)
        names << QLatin1String(storedPhaseName(phase));
    return names.join(QStringLiteral(", "));
}

Result<MigrationRecord> decodeRecord(const QJsonObject& object, const QString& where,
                                     const QString& prefix) {
    JsonFields in(object, where, prefix);
    MigrationRecord record;
    record.id = in.unsignedInteger("id");
    record.shard = in.unsignedInteger("shard");
    record.range.start = in.key("start");
    record.range.end = in.key("end");
    record.from = in.nonEmptyText("from");
    record.to = in.nonEmptyText("to");
    const QString phaseName = in.text("phase");
    record.table_epoch = in.unsignedInteger("table_epoch");
    record.copy_cursor = in.key("copy_cursor");
    record.bytes_copied = in.nonNegativeNumber("bytes_copied");
    record.started_ms = in.integer("started_ms");
    record.updated_ms = in.integer("updated_ms");
    record.error = in.text("error");
    if (const std::optional<MigrationPhase> phase = parseStoredPhase(phaseName))
        record.phase = *phase;
    else
        in.fail(QStringLiteral("phase"),
                QStringLiteral("\"%1\" is not a phase (expected one of %2)")
                    .arg(phaseName, storedPhaseNames()));
    if (!record.range.unboundedAbove() && record.range.end <= record.range.start)
        in.fail(QStringLiteral("end"),
                QStringLiteral("must be greater than start (or \"\" for an unbounded range)"));
    if (!in.ok())
        return in.error();
    return record;
}

// ---------------------------------------------------------------------------------------------
// The whole file.

QJsonObject stateToJson(const OwnershipState& state) {
    QJsonObject object;
    object.insert(QStringLiteral("format_version"), LocalFileOwnershipStore::kFormatVersion);
    object.insert(QStringLiteral("revision"), unsignedToJson(state.revision));
    object.insert(QStringLiteral("table"), state.table
                                               ? QJsonValue(ownershipTableToJson(*state.table))
                                               : QJsonValue(QJsonValue::Null));
    QJsonArray migrations;
    for (const MigrationRecord& record : state.migrations)
        migrations.append(migrationRecordToJson(record));
    object.insert(QStringLiteral("migrations"), migrations);
    return object;
}

Result<std::vector<MigrationRecord>> decodeMigrations(JsonFields& in, const QString& where) {
    const QJsonArray values = in.array("migrations");
    if (!in.ok())
        return in.error();
    std::vector<MigrationRecord> records;
    records.reserve(static_cast<std::size_t>(values.size()));
    for (qsizetype i = 0; i < values.size(); ++i) {
        const QString element = QStringLiteral("migrations[%1]").arg(i);
        if (!values[i].isObject()) {
            in.fail(element, QStringLiteral("must be an object"));
            return in.error();
        }
        Result<MigrationRecord> record =
            decodeRecord(values[i].toObject(), where, element + QLatin1Char('.'));
        if (!record)
            return record.error();
        // Ordered by id, each id once: putMigration keeps it so, a hand edit may not have.
        if (!records.empty() && record->id <= records.back().id) {
            in.fail(
                element + QStringLiteral(".id"),
                QStringLiteral("%1 does not follow %2 (records are ordered by id, each id once)")
                    .arg(record->id)
                    .arg(records.back().id));
            return in.error();
        }
        records.push_back(std::move(record).value());
    }
    return records;
}

Result<OwnershipState> stateFromJson(const QJsonObject& object, const QString& where) {
    JsonFields in(object, where, QString());
    const std::int64_t version = in.integer("format_version");
    if (in.ok() && version != LocalFileOwnershipStore::kFormatVersion)
        in.fail(QStringLiteral("format_version"),
                QStringLiteral("%1 is not a version this program reads (it reads %2)")
                    .arg(version)
                    .arg(LocalFileOwnershipStore::kFormatVersion));
    OwnershipState state;
    state.revision = in.unsignedInteger("revision");
    const QJsonValue table = in.value("table");
    if (!table.isObject() && !table.isNull())
        in.fail(QStringLiteral("table"), QStringLiteral("must be an object, or null before the "
                                                        "first table is stored"));
    if (!in.ok())
        return in.error();

    if (table.isObject()) {
        Result<OwnershipTable> decoded =
            decodeTable(table.toObject(), where, QStringLiteral("table."));
        if (!decoded)
            return decoded.error();
        state.table = std::move(decoded).value();
    }
    Result<std::vector<MigrationRecord>> migrations = decodeMigrations(in, where);
    if (!migrations)
        return migrations.error();
    state.migrations = std::move(migrations).value();
    return state;
}

Result<OwnershipState> parseStateFile(const QByteArray& bytes, const QString& path) {
    if (bytes.trimmed().isEmpty())
        return failure(
            QStringLiteral("%1: the file is empty (truncated by a crash or an editor?)").arg(path));
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(bytes, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return failure(QStringLiteral("%1: not valid JSON at byte %2: %3 (truncated or damaged?)")
                           .arg(path)
                           .arg(parseError.offset)
                           .arg(parseError.errorString()));
    if (!document.isObject())
        return failure(QStringLiteral("%1: the top level must be a JSON object").arg(path));
    return stateFromJson(document.object(), path);
}

bool sameState(const OwnershipState& a, const OwnershipState& b) {
    return a.revision == b.revision && a.table == b.table && a.migrations == b.migrations;
}

// ---------------------------------------------------------------------------------------------
// Changes.

void insertOrReplace(std::vector<MigrationRecord>& records, const MigrationRecord& record) {
    const auto at = std::lower_bound(
        records.begin(), records.end(), record.id,
        [](const MigrationRecord& stored, MigrationId id) { return stored.id < id; });
    if (at != records.end() && at->id == record.id)
        *at = record;
    else
        records.insert(at, record);
}

// Records are ordered by id, so the oldest terminal ones come first. Returns whether any went.
bool dropOldestTerminal(std::vector<MigrationRecord>& records, std::size_t keep) {
    const auto terminal = static_cast<std::size_t>(
        std::count_if(records.begin(), records.end(),
                      [](const MigrationRecord& r) { return isTerminal(r.phase); }));
    if (terminal <= keep)
        return false;
    std::size_t toDrop = terminal - keep;
    std::vector<MigrationRecord> kept;
    kept.reserve(records.size() - toDrop);
    for (MigrationRecord& record : records) {
        if (toDrop > 0 && isTerminal(record.phase)) {
            --toDrop;
            continue;
        }
        kept.push_back(std::move(record));
    }
    records = std::move(kept);
    return true;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Public JSON helpers.

QJsonObject ownershipTableToJson(const OwnershipTable& table) {
    QJsonObject object;
    object.insert(QStringLiteral("epoch"), unsignedToJson(table.epoch()));
    object.insert(QStringLiteral("placement_hosts"), textsToJson(table.placementHosts()));
    QJsonArray shards;
    for (const Shard& shard : table.shards())
        shards.append(shardToJson(shard));
    object.insert(QStringLiteral("shards"), shards);
    return object;
}

Result<OwnershipTable> ownershipTableFromJson(const QJsonObject& object, const QString& where) {
    return decodeTable(object, where, QString());
}

QJsonObject migrationRecordToJson(const MigrationRecord& record) {
    QJsonObject object;
    object.insert(QStringLiteral("id"), unsignedToJson(record.id));
    object.insert(QStringLiteral("shard"), unsignedToJson(record.shard));
    object.insert(QStringLiteral("start"), keyToJson(record.range.start));
    object.insert(QStringLiteral("end"), keyToJson(record.range.end));
    object.insert(QStringLiteral("from"), textToJson(record.from));
    object.insert(QStringLiteral("to"), textToJson(record.to));
    object.insert(QStringLiteral("phase"), QLatin1String(storedPhaseName(record.phase)));
    object.insert(QStringLiteral("table_epoch"), unsignedToJson(record.table_epoch));
    object.insert(QStringLiteral("copy_cursor"), keyToJson(record.copy_cursor));
    object.insert(QStringLiteral("bytes_copied"), record.bytes_copied);
    object.insert(QStringLiteral("started_ms"), signedToJson(record.started_ms));
    object.insert(QStringLiteral("updated_ms"), signedToJson(record.updated_ms));
    object.insert(QStringLiteral("error"), record.error);
    return object;
}

Result<MigrationRecord> migrationRecordFromJson(const QJsonObject& object, const QString& where) {
    return decodeRecord(object, where, QString());
}

// ---------------------------------------------------------------------------------------------
// The store.

LocalFileOwnershipStore::LocalFileOwnershipStore(QString absolutePath)
    : m_path(std::move(absolutePath)) {}

Result<std::unique_ptr<LocalFileOwnershipStore>> LocalFileOwnershipStore::open(const QString& path,
                                                                               OpenMode mode) {
    if (path.isEmpty())
        return failure(QStringLiteral("local ownership store: the path is empty"));
    std::unique_ptr<LocalFileOwnershipStore> store(
        new LocalFileOwnershipStore(QFileInfo(path).absoluteFilePath()));
    if (mode == OpenMode::Driver) {
        if (Status locked = store->takeDriverLock(); !locked)
            return failure(QString::fromStdString(locked.message()));
        store->removeLeftoverTemporaryFiles();
    }
    return store;
}

LocalFileOwnershipStore::~LocalFileOwnershipStore() {
    if (m_lockFd < 0)
        return;
    // Clear the holder's line so the file does not name a driver that is gone (probes do not
    // trust the text anyway). The lock file stays: unlinking it would let a driver that opened
    // it just before lock an orphaned inode while the next one locks a new file of that name.
    [[maybe_unused]] const int truncated = ::ftruncate(m_lockFd, 0);
    ::close(m_lockFd); // releases the lock
}

QString LocalFileOwnershipStore::temporaryPath() const {
    return m_path + QStringLiteral(".tmp.") + QString::number(::getpid());
}

QString LocalFileOwnershipStore::describe() const {
    return QStringLiteral("local file %1").arg(m_path);
}

QString LocalFileOwnershipStore::driverLockHolder() const {
    if (holdsDriverLock())
        return m_lockHolder;
    return probeDriverLock(lockPath()).holder;
}

Status LocalFileOwnershipStore::takeDriverLock() {
    // The console's first start: create the directory. If that fails, open() below says why.
    QDir().mkpath(QFileInfo(m_path).absolutePath());
    const QString lockFile = lockPath();
    const int fd = ::open(nativePath(lockFile).constData(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return systemError(lockFile, QStringLiteral("cannot open the driver lock file"), errno);

    const LockAttempt attempt = lockExclusively(fd);
    if (attempt.outcome != LockOutcome::Locked) {
        const QString holder = readLockText(fd);
        ::close(fd);
        switch (attempt.outcome) {
        case LockOutcome::HeldByDriver:
            return failure(
                QStringLiteral("%1 is locked by %2: another console is driving migrations")
                    .arg(m_path, holder.isEmpty() ? QStringLiteral("a process that has not "
                                                                   "recorded who it is yet")
                                                  : holder));
        case LockOutcome::HeldShared:
            return failure(QStringLiteral("%1: another process holds a shared lock on %2 (not a "
                                          "console; a tool inspecting it?): try again")
                               .arg(m_path, lockFile));
        default:
            return systemError(lockFile, QStringLiteral("cannot lock"), attempt.error);
        }
    }

    const QString holder =
        QStringLiteral("pid %1 on host %2 since %3")
            .arg(QString::number(::getpid()), QSysInfo::machineHostName(), utcNow());
    if (!recordLockText(fd, holder)) {
        const int error = errno;
        ::close(fd);
        return systemError(lockFile, QStringLiteral("cannot record the lock's holder"), error);
    }
    m_lockFd = fd;
    m_lockHolder = holder;
    return {};
}

void LocalFileOwnershipStore::removeLeftoverTemporaryFiles() const {
    // Only the driver writes temporary files and this handle is the driver now, so any that
    // exist were left by a driver that crashed between writing and renaming.
    const QFileInfo info(m_path);
    const QString prefix = info.fileName() + QStringLiteral(".tmp.");
    const QDir directory = info.absoluteDir();
    const QStringList names = directory.entryList(QDir::Files | QDir::Hidden | QDir::System);
    for (const QString& name : names)
        if (name.startsWith(prefix) && isDecimal(name.mid(prefix.size())))
            QFile::remove(directory.filePath(name));
}

Result<OwnershipState> LocalFileOwnershipStore::load() const {
    Result<std::optional<QByteArray>> bytes = readFileIfExists(m_path);
    if (!bytes)
        return bytes.error();
    if (!bytes->has_value())
        return OwnershipState{};
    return parseStateFile(**bytes, m_path);
}

Status LocalFileOwnershipStore::mutate(const Change& change) {
    if (!holdsDriverLock()) {
        const LockProbe probe = probeDriverLock(lockPath());
        if (!probe.locked)
            return failure(QStringLiteral("%1: opened read-only, and nobody holds the driver lock "
                                          "now: open it as the driver to change it")
                               .arg(m_path));
        return failure(QStringLiteral("%1: opened read-only; the driver lock is held by %2")
                           .arg(m_path, probe.holder.isEmpty() ? QStringLiteral("another console")
                                                               : probe.holder));
    }
    // The driver lock keeps other processes out; this keeps threads sharing this handle from
    // interleaving their read-change-write cycles (which would lose one of the changes).
    const std::lock_guard guard(m_mutation);
    // Re-read: the file is the truth, and a file that does not parse must not be overwritten.
    Result<OwnershipState> state = load();
    if (!state)
        return state.error();
    Result<Outcome> outcome = change(*state);
    if (!outcome)
        return outcome.error();
    if (*outcome == Outcome::Unchanged)
        return {};
    state->revision += 1;
    return write(*state);
}

Status LocalFileOwnershipStore::write(const OwnershipState& state) const {
    const QByteArray bytes = QJsonDocument(stateToJson(state)).toJson(QJsonDocument::Indented);
    // Read it back before writing: a state that would not load equal (NaN bytes, an empty host
    // name, a host name that is not UTF-8) is refused now, not found unreadable at the next start.
    Result<OwnershipState> readBack = parseStateFile(bytes, m_path + QStringLiteral(": refused"));
    if (!readBack)
        return readBack.error();
    if (!sameState(*readBack, state))
        return failure(QStringLiteral("%1: refused: the new state would not read back as it is (a "
                                      "host name that is not UTF-8?)")
                           .arg(m_path));

    const QString temporary = temporaryPath();
    if (Status written = writeFileDurably(temporary, bytes); !written)
        return written;
    if (::rename(nativePath(temporary).constData(), nativePath(m_path).constData()) != 0) {
        const int error = errno;
        ::unlink(nativePath(temporary).constData());
        return systemError(m_path, QStringLiteral("cannot replace it with %1").arg(temporary),
                           error);
    }
    if (Status synced = syncDirectory(QFileInfo(m_path).absolutePath()); !synced)
        return failure(QString::fromStdString(synced.message()) +
                       QStringLiteral(" (the new version of %1 is in place but may not survive a "
                                      "crash)")
                           .arg(m_path));
    return {};
}

Status LocalFileOwnershipStore::initialize(const OwnershipTable& table) {
    return mutate([&](OwnershipState& state) -> Result<Outcome> {
        if (state.table)
            return failure(QStringLiteral("%1: already holds a table (epoch %2): change it with "
                                          "compareAndSwapTable")
                               .arg(m_path)
                               .arg(state.table->epoch()));
        state.table = table;
        return Outcome::Changed;
    });
}

Status LocalFileOwnershipStore::compareAndSwapTable(std::uint64_t expectedEpoch,
                                                    const OwnershipTable& next,
                                                    const MigrationRecord* record) {
    return mutate([&](OwnershipState& state) -> Result<Outcome> {
        if (next.epoch() <= expectedEpoch)
            return failure(QStringLiteral("%1: the new table's epoch %2 must be greater than the "
                                          "expected epoch %3")
                               .arg(m_path)
                               .arg(next.epoch())
                               .arg(expectedEpoch));
        if (!state.table)
            return failure(QStringLiteral("conflict: expected table epoch %1, but no table is "
                                          "stored in %2")
                               .arg(expectedEpoch)
                               .arg(m_path));
        if (state.table->epoch() != expectedEpoch)
            return failure(QStringLiteral("conflict: expected table epoch %1, found epoch %2 in %3")
                               .arg(expectedEpoch)
                               .arg(state.table->epoch())
                               .arg(m_path));
        state.table = next;
        if (record)
            insertOrReplace(state.migrations, *record);
        return Outcome::Changed;
    });
}

Status LocalFileOwnershipStore::putMigration(const MigrationRecord& record) {
    return mutate([&](OwnershipState& state) -> Result<Outcome> {
        insertOrReplace(state.migrations, record);
        return Outcome::Changed;
    });
}

Status LocalFileOwnershipStore::pruneMigrations(std::size_t keep) {
    return mutate([&](OwnershipState& state) -> Result<Outcome> {
        return dropOldestTerminal(state.migrations, keep) ? Outcome::Changed : Outcome::Unchanged;
    });
}

} // namespace rangepilot
