#pragma once

// OwnershipStore: where the authoritative ownership table and the state of every shadowed
// migration live, so that a console that crashes can resume or roll back what it was doing, and
// so that two consoles cannot both drive migrations. Implementations: a local file (one operator,
// one machine: LocalFileOwnershipStore) and, later, etcd (consensus, watches).
//
// Contract:
//  - The table changes only by compare-and-swap on its epoch: compareAndSwapTable(expected, next)
//    succeeds only when the stored table's epoch is `expected` and next.epoch() > expected.
//    A conflict is reported as an Error whose message starts with "conflict:" and names both
//    epochs, and nothing is written.
//  - Every successful mutation is durable when the call returns (a crash right after it cannot
//    lose it), and a failed one changes nothing (no partial write).
//  - Mutations need the driver lock (holdsDriverLock()); a store opened without it is read-only,
//    and its mutations fail naming who holds the lock.
//  - Migration records are keyed by id; putMigration replaces the record with the same id.
//
// Cost: implementation-defined; the local file rewrites the whole file on every mutation
// (a table of thousands of shards is a few hundred KiB).

#include "cluster_connector.h"
#include "key.h"
#include "ownership_table.h"
#include "result.h"
#include "time_ms.h"

#include <QString>

#include <cstdint>
#include <optional>
#include <vector>

namespace rangepilot {

// One shadowed migration as the store remembers it: enough to roll back or finish it after a
// restart of the console that drove it.
struct MigrationRecord {
    MigrationId id = 0;
    ShardId shard = 0;
    KeyRange range;
    HostId from;
    HostId to;
    MigrationPhase phase = MigrationPhase::Approved;
    std::uint64_t table_epoch = 0; // the table's epoch when the migration started
    Key copy_cursor;               // first key not yet copied ("" before the first batch)
    double bytes_copied = 0.0;
    TimeMs started_ms = 0; // wall time, ms since the Unix epoch
    TimeMs updated_ms = 0;
    QString error; // why it failed or was rolled back

    bool operator==(const MigrationRecord&) const = default;
};

// Everything the store holds, as of one read.
struct OwnershipState {
    std::optional<OwnershipTable> table;     // absent until initialize()
    std::vector<MigrationRecord> migrations; // ordered by id
    std::uint64_t revision = 0;              // bumped by every successful mutation
};

class OwnershipStore {
public:
    virtual ~OwnershipStore() = default;

    // "local file /var/lib/rangepilot/ownership.json" (for the status bar and errors).
    virtual QString describe() const = 0;

    // Whether this handle may mutate: it holds the lock that makes one console the driver.
    virtual bool holdsDriverLock() const = 0;
    // Who holds the lock, as the lock's owner recorded it ("pid 4242 on host ops-1 since
    // 2026-11-26 12:00:00 UTC"); empty when nobody does or it cannot be told.
    virtual QString driverLockHolder() const = 0;

    // The current table and migrations, read from durable state (not a cache).
    virtual Result<OwnershipState> load() const = 0;

    // Stores the first table; fails when one is already stored (use compareAndSwapTable).
    virtual Status initialize(const OwnershipTable& table) = 0;

    // Replaces the table by `next` if the stored one has epoch `expectedEpoch`. When `record` is
    // given it is stored in the same atomic write (a cutover commits the new owner and the
    // migration's phase together, so a crash cannot separate them).
    virtual Status compareAndSwapTable(std::uint64_t expectedEpoch, const OwnershipTable& next,
                                       const MigrationRecord* record = nullptr) = 0;

    // Inserts or replaces the record with record.id.
    virtual Status putMigration(const MigrationRecord& record) = 0;

    // Drops terminal records (Done, Aborted, Failed) beyond the newest `keep` of them.
    virtual Status pruneMigrations(std::size_t keep) = 0;
};

} // namespace rangepilot
