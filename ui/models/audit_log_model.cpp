#include "audit_log_model.h"

#include "timestamp.h"

#include <algorithm>
#include <array>

namespace rangepilot {

namespace {

using Model = AuditLogModel;

constexpr std::array<display::ColumnHeader, Model::ColumnCount> kHeaders{{
    {"When (UTC)", "When the action happened"},
    {"Who", "The operator, or the policy that acted"},
    {"What", "The action"},
    {"Why", "The operator's note, or the rule that triggered it"},
}};

QVariant displayText(const AuditEntry& entry, int column) {
    switch (column) {
    case Model::WhenColumn:
        return display::utcTime(entry.at_ms);
    case Model::WhoColumn:
        return entry.who;
    case Model::WhatColumn:
        return entry.what;
    case Model::WhyColumn:
        return entry.why;
    default:
        return {};
    }
}

QVariant toolTip(const AuditEntry& entry, int column) {
    switch (column) {
    case Model::WhenColumn: // the display drops seconds; an audit may need them
        return QString::fromStdString(formatIso8601(entry.at_ms));
    case Model::WhoColumn:
        return entry.automatic ? QStringLiteral("automatic action")
                               : QStringLiteral("operator action");
    default: // long texts get cut by the column width
        return displayText(entry, column);
    }
}

QVariant sortValue(const AuditEntry& entry, int column) {
    if (column == Model::WhenColumn)
        return QVariant::fromValue<qlonglong>(entry.at_ms);
    return displayText(entry, column);
}

} // namespace

AuditLogModel::AuditLogModel(QObject* parent)
    : QAbstractTableModel(parent) {}

void AuditLogModel::append(const AuditEntry& entry) {
    append(std::vector<AuditEntry>{entry});
}

void AuditLogModel::append(const std::vector<AuditEntry>& entries) {
    if (entries.empty())
        return;
    const int first = rowCount();
    beginInsertRows({}, first, first + static_cast<int>(entries.size()) - 1);
    m_entries.insert(m_entries.end(), entries.begin(), entries.end());
    endInsertRows();
    dropOldestBeyondMaximum();
}

void AuditLogModel::setEntries(const std::vector<AuditEntry>& entries) {
    const std::size_t kept = std::min(entries.size(), static_cast<std::size_t>(m_maximumRows));
    beginResetModel();
    m_entries.assign(entries.end() - static_cast<std::ptrdiff_t>(kept), entries.end());
    endResetModel();
}

void AuditLogModel::setMaximumRows(int rows) {
    m_maximumRows = std::max(1, rows);
    dropOldestBeyondMaximum();
}

void AuditLogModel::dropOldestBeyondMaximum() {
    const int excess = rowCount() - m_maximumRows;
    if (excess <= 0)
        return;
    beginRemoveRows({}, 0, excess - 1);
    m_entries.erase(m_entries.begin(), m_entries.begin() + excess);
    endRemoveRows();
}

int AuditLogModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_entries.size());
}

int AuditLogModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant AuditLogModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const AuditEntry& entry = entryAt(index.row());
    switch (role) {
    case Qt::DisplayRole:
        return displayText(entry, index.column());
    case Qt::ToolTipRole:
        return toolTip(entry, index.column());
    case SortRole:
        return sortValue(entry, index.column());
    case AutomaticRole:
        return entry.automatic;
    default:
        return {};
    }
}

QVariant AuditLogModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (const std::optional<QVariant> header =
            display::columnHeader(kHeaders, section, orientation, role))
        return *header;
    return QAbstractTableModel::headerData(section, orientation, role);
}

} // namespace rangepilot
