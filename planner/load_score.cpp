#include "load_score.h"

#include <algorithm>

namespace rangepilot {

double weightedUtilization(const ResourceVector& load, const ResourceVector& capacity,
                           const ScoreWeights& weights) {
    double score = 0.0;
    for (std::size_t i = 0; i < kResourceCount; ++i) {
        if (capacity.values[i] > 0.0)
            score = std::max(score, weights.weight.values[i] * load.values[i] / capacity.values[i]);
    }
    return score;
}

Resource bottleneckResource(const ResourceVector& load, const ResourceVector& capacity,
                            const ScoreWeights& weights) {
    Resource bottleneck = Resource::Ops;
    double best = -1.0;
    for (const Resource resource : kAllResources) {
        if (capacity[resource] <= 0.0)
            continue;
        const double score = weights.weight[resource] * load[resource] / capacity[resource];
        if (score > best) {
            best = score;
            bottleneck = resource;
        }
    }
    return bottleneck;
}

PeakScore peakScore(std::span<const ResourceVector> series, const ResourceVector& capacity,
                    const ScoreWeights& weights) {
    PeakScore peak;
    for (std::size_t step = 0; step < series.size(); ++step) {
        const double score = weightedUtilization(series[step], capacity, weights);
        if (score > peak.score) {
            peak.score = score;
            peak.step = step;
        }
    }
    return peak;
}

double peakWithout(std::span<const ResourceVector> whole, std::span<const ResourceVector> part,
                   const ResourceVector& capacity, const ScoreWeights& weights) {
    double peak = 0.0;
    for (std::size_t step = 0; step < whole.size(); ++step) {
        ResourceVector remainder = whole[step] - part[step];
        for (double& value : remainder.values)
            value = std::max(0.0, value);
        peak = std::max(peak, weightedUtilization(remainder, capacity, weights));
    }
    return peak;
}

std::size_t firstStepAbove(std::span<const ResourceVector> series, const ResourceVector& capacity,
                           const ScoreWeights& weights, double threshold) {
    for (std::size_t step = 0; step < series.size(); ++step) {
        if (weightedUtilization(series[step], capacity, weights) > threshold)
            return step;
    }
    return series.size();
}

ResourceVector unexplainedUsage(const ResourceVector& reported, const ResourceVector& rangeLoad) {
    ResourceVector background;
    for (std::size_t i = 0; i < kResourceCount; ++i)
        background.values[i] = std::max(0.0, reported.values[i] - rangeLoad.values[i]);
    return background;
}

} // namespace rangepilot
