#include "dividers.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rangepilot {

std::optional<SplitPoint> findBalancingSplit(const CellProjection& projection, CellIndex first,
                                             CellIndex end, const ResourceVector& capacity,
                                             const ScoreWeights& weights) {
    if (end <= first || end - first < 2)
        return std::nullopt;
    const std::vector<ResourceVector> total = projection.unionSeries(first, end);
    std::vector<ResourceVector> left(projection.steps());
    std::optional<SplitPoint> best;
    for (CellIndex boundary = first + 1; boundary < end; ++boundary) {
        const CellIndex added = boundary - 1;
        for (std::size_t step = 0; step < left.size(); ++step) {
            for (const Resource resource : kAllResources)
                left[step][resource] += projection.rate(added, step, resource);
        }
        const double peakLeft = peakScore(left, capacity, weights).score;
        const double peakRight = peakWithout(total, left, capacity, weights);
        const double worst = std::max(peakLeft, peakRight);
        const double spread = std::abs(peakLeft - peakRight);
        const bool better = !best || worst < std::max(best->peak_left, best->peak_right) ||
                            (worst == std::max(best->peak_left, best->peak_right) &&
                             spread < std::abs(best->peak_left - best->peak_right));
        if (better)
            best = SplitPoint{boundary, peakLeft, peakRight};
    }
    return best;
}

} // namespace rangepilot
