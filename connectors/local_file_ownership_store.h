#pragma once

// LocalFileOwnershipStore: the OwnershipStore of a single operator on one machine. The ownership
// table and the migration records live in one human-readable JSON file, so that a console that
// crashes mid-migration finds on restart exactly what it had committed, and an operator can read
// (and, with care, repair) the file with any editor.
//
// Invariants.
//  - The file is only ever replaced whole: a mutation writes "<path>.tmp.<pid>", fsyncs it,
//    rename()s it over the file and fsyncs the directory. A reader, or a crash at any instant,
//    sees the old file or the new one, never a mix; a leftover temporary file is ignored.
//  - Every mutation re-reads and fully validates the file first (no cache), so a file that does
//    not parse is reported (naming the file and the field) and never overwritten.
//  - What is written always reads back equal: the new state is decoded again before it is
//    written, and a state that would not survive the trip is refused.
//  - One driver: open(path, Driver) holds an exclusive flock() on "<path>.lock" for the object's
//    lifetime and records "pid N on host H since <UTC time>" in it. A second driver (another
//    process, or another open in this process) is refused, naming the holder; read-only handles
//    never lock and their mutations fail naming the holder. The kernel drops the lock when the
//    holder exits or crashes, so a stale lock file never blocks anyone.
//  - Each successful mutation adds one to the revision; a pruneMigrations() that drops nothing
//    writes nothing.
//
// File format (version 1): {"format_version": 1, "revision": R, "table": {...} or null,
// "migrations": [...]}. Keys are text as formatKey() writes them ("0x…" for bytes that are not
// plain printable text; parseKeyText() inverts it exactly). Integers up to 2^53 are JSON numbers;
// larger ones are decimal strings, because many JSON readers hold numbers as doubles.
//
// Cost: every mutation reads, validates, encodes and rewrites the whole file and makes two
// fsyncs (a table of thousands of shards is a few hundred KiB: milliseconds on a local disk);
// load() reads and validates it once.

#include "ownership_store.h"

#include <QJsonObject>
#include <QString>

#include <functional>
#include <memory>
#include <mutex>

namespace rangepilot {

// The table as a JSON object: {"epoch", "placement_hosts": [...], "shards": [{"id", "start",
// "end", "owner", "replicas": [...]}]}.
QJsonObject ownershipTableToJson(const OwnershipTable& table);
// The table of such an object, validated field by field and rebuilt with OwnershipTable::create().
// Errors read "<where>: <field>: <problem>", e.g. "ownership.json: table: shards[3].owner: must be
// a non-empty string"; `where` names the object.
Result<OwnershipTable> ownershipTableFromJson(const QJsonObject& object, const QString& where);

// One migration record as a JSON object (the phase by a stable lowercase name such as
// "catching_up", independent of the display names), and back, with errors as above.
QJsonObject migrationRecordToJson(const MigrationRecord& record);
Result<MigrationRecord> migrationRecordFromJson(const QJsonObject& object, const QString& where);

class LocalFileOwnershipStore final : public OwnershipStore {
public:
    enum class OpenMode {
        Driver,   // takes the driver lock; fails when another handle holds it
        ReadOnly, // never locks; mutations fail
    };
    static constexpr int kFormatVersion = 1;

    // Opens the store at `path` (made absolute). The file need not exist: a missing file is an
    // empty store (no table, no migrations, revision 0). Driver mode creates the directory and
    // the lock file when missing, and removes temporary files that a crashed driver left behind.
    // A file that does not parse does not make open() fail: load() and mutations report it.
    static Result<std::unique_ptr<LocalFileOwnershipStore>> open(const QString& path,
                                                                 OpenMode mode);
    ~LocalFileOwnershipStore() override; // releases the driver lock
    LocalFileOwnershipStore(const LocalFileOwnershipStore&) = delete;
    LocalFileOwnershipStore& operator=(const LocalFileOwnershipStore&) = delete;

    const QString& path() const { return m_path; }
    QString lockPath() const { return m_path + QStringLiteral(".lock"); }
    // "<path>.tmp.<pid>": where this process writes the next version before renaming it.
    QString temporaryPath() const;

    QString describe() const override; // "local file /abs/path/ownership.json"
    bool holdsDriverLock() const override { return m_lockFd >= 0; }
    QString driverLockHolder() const override;

    Result<OwnershipState> load() const override;
    Status initialize(const OwnershipTable& table) override;
    Status compareAndSwapTable(std::uint64_t expectedEpoch, const OwnershipTable& next,
                               const MigrationRecord* record = nullptr) override;
    Status putMigration(const MigrationRecord& record) override;
    // "Oldest" is by id: ids are handed out in increasing order as migrations are proposed.
    Status pruneMigrations(std::size_t keep) override;

private:
    // A change applied to the freshly read state; Unchanged skips the write.
    enum class Outcome { Changed, Unchanged };
    using Change = std::function<Result<Outcome>(OwnershipState&)>;

    explicit LocalFileOwnershipStore(QString absolutePath);

    Status takeDriverLock();
    void removeLeftoverTemporaryFiles() const;
    Status mutate(const Change& change);
    Status write(const OwnershipState& state) const;

    QString m_path;
    int m_lockFd = -1;     // the open lock file while this handle is the driver
    QString m_lockHolder;  // what this handle wrote into the lock file
    std::mutex m_mutation; // serializes read-change-write cycles of threads sharing this handle
};

} // namespace rangepilot
