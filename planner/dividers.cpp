#include "dividers.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rangepilot {

namespace {

// Peak weighted utilization of (total - left) per step, with rounding noise clamped at 0.
double remainderPeak(const std::vector<ResourceVector>& total,
                     const std::vector<ResourceVector>& left, const ResourceVector& capacity,
                     const ScoreWeights& weights) {
    double peak = 0.0;
    for (std::size_t step = 0; step < total.size(); ++step) {
        ResourceVector right = total[step] - left[step];
        for (double& value : right.values)
            value = std::max(0.0, value);
        peak = std::max(peak, weightedUtilization(right, capacity, weights));
    }
    return peak;
}

} // namespace

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
        const double peakRight = remainderPeak(total, left, capacity, weights);
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
