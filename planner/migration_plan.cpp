#include "migration_plan.h"

#include <cmath>
#include <string>

namespace rangepilot {

namespace {

std::string describeSplit(std::size_t index, std::size_t count, const SplitInstruction& split) {
    return "split " + std::to_string(index + 1) + " of " + std::to_string(count) + " (shard " +
           std::to_string(split.shard) + " at '" + formatKey(split.at) + "')";
}

std::string describeMerge(std::size_t index, std::size_t count, const MergeInstruction& merge) {
    return "merge " + std::to_string(index + 1) + " of " + std::to_string(count) + " (shards " +
           std::to_string(merge.left) + " and " + std::to_string(merge.right) + ")";
}

} // namespace

std::string formatPercent(double fraction) {
    return std::to_string(std::llround(fraction * 100.0)) + "%";
}

Result<OwnershipTable> applyBoundaryChanges(const OwnershipTable& table,
                                            const MigrationPlan& plan) {
    OwnershipTable current = table;
    for (std::size_t i = 0; i < plan.splits.size(); ++i) {
        const SplitInstruction& split = plan.splits[i];
        Result<OwnershipTable> next = current.split(split.shard, split.at, split.new_shard);
        if (!next)
            return Error{describeSplit(i, plan.splits.size(), split) + ": " + next.error().message};
        current = std::move(next).value();
    }
    for (std::size_t i = 0; i < plan.merges.size(); ++i) {
        const MergeInstruction& merge = plan.merges[i];
        Result<OwnershipTable> next = current.merge(merge.left, merge.right);
        if (!next)
            return Error{describeMerge(i, plan.merges.size(), merge) + ": " + next.error().message};
        current = std::move(next).value();
    }
    return current;
}

std::vector<KeyRange> batchRanges(const KeyCells& cells, CellIndex firstCell, CellIndex endCell,
                                  std::span<const double> cellBytes, double batchBytes) {
    std::vector<KeyRange> batches;
    CellIndex batchStart = firstCell;
    double bytesInBatch = 0.0;
    for (CellIndex cell = firstCell; cell < endCell; ++cell) {
        const double bytes = cell < cellBytes.size() ? cellBytes[cell] : 0.0;
        if (cell > batchStart && bytesInBatch + bytes > batchBytes) {
            batches.push_back({cells.range(batchStart).start, cells.range(cell).start});
            batchStart = cell;
            bytesInBatch = 0.0;
        }
        bytesInBatch += bytes;
    }
    if (endCell > firstCell)
        batches.push_back({cells.range(batchStart).start, cells.range(endCell - 1).end});
    return batches;
}

} // namespace rangepilot
