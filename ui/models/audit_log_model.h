#pragma once

// The audit log as the console shows it: every operator and automatic action, with who did it,
// when, what and why, oldest first.
//
// The log itself is persisted elsewhere (the ownership store); this model shows the latest
// entries. Invariants: rows only grow at the end (rowsInserted), except that beyond
// maximumRows() the oldest rows are dropped from the top (rowsRemoved), so a console left open
// for weeks keeps a bounded memory. setEntries() replaces everything with a reset. Cost: O(1)
// amortised per appended entry, and per dropped one (a deque: the rest do not move).

#include "display_text.h"
#include "time_ms.h"

#include <QAbstractTableModel>
#include <QString>
#include <QVariant>

#include <deque>
#include <vector>

namespace rangepilot {

struct AuditEntry {
    TimeMs at_ms = 0;       // when, UTC ms since the epoch
    QString who;            // "alice", "auto-apply"
    QString what;           // "approved move of shard 17 from h1 to h3"
    QString why;            // the operator's note, or the rule that acted
    bool automatic = false; // done by a policy rather than a person

    bool operator==(const AuditEntry&) const = default;
};

class AuditLogModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Columns : int {
        WhenColumn, // "2026-01-05 19:20" (UTC); tooltip with seconds and milliseconds
        WhoColumn,  // tooltip says whether a person or a policy acted
        WhatColumn,
        WhyColumn,
        ColumnCount
    };

    enum Roles : int {
        SortRole = display::kSortRole, // qlonglong ms for When, text for the others
        AutomaticRole,                 // bool, any column
    };

    static constexpr int kDefaultMaximumRows = 10000;

    explicit AuditLogModel(QObject* parent = nullptr);

    void append(const AuditEntry& entry);
    void append(const std::vector<AuditEntry>& entries);     // one rowsInserted for the batch
    void setEntries(const std::vector<AuditEntry>& entries); // a reset; keeps the newest
    // At least 1; dropping the oldest rows at once when the log is already longer.
    void setMaximumRows(int rows);
    int maximumRows() const { return m_maximumRows; }

    const AuditEntry& entryAt(int row) const { return m_entries[static_cast<std::size_t>(row)]; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    void dropOldestBeyondMaximum();

    std::deque<AuditEntry> m_entries; // drops from the front without moving the rest
    int m_maximumRows = kDefaultMaximumRows;
};

} // namespace rangepilot
