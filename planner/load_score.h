#pragma once

// Load scores: how hot a key range or a host is, as one number an operator can read and the
// planner can compare against thresholds.
//
// The utilization of a resource is load / capacity (1.0 = full). A load score is the *weighted
// maximum* over resources of weight × utilization, skipping resources whose capacity is unknown
// (0). A maximum rather than a sum, because a host saturated on one resource is saturated however
// idle the others are; the weights (default 1) let an operator discount a resource they trust
// less, e.g. service time measured by clients. A range's score is relative to the capacity of the
// host that owns it: a score of 0.3 means the range alone would use 30% of that host.
//
// The projected peak score takes the maximum over the steps of a projected series, and says at
// which step it occurs, so plans can name the time of a hot spot. Cost: O(steps × resources).

#include "cluster_model.h"

#include <cstddef>
#include <span>

namespace rangepilot {

struct ScoreWeights {
    ResourceVector weight{{1.0, 1.0, 1.0, 1.0, 1.0}};
};

// max over resources with capacity > 0 of weight × load / capacity; 0 when none is known.
double weightedUtilization(const ResourceVector& load, const ResourceVector& capacity,
                           const ScoreWeights& weights);

// The resource that decides weightedUtilization (the bottleneck); Ops when none is known.
Resource bottleneckResource(const ResourceVector& load, const ResourceVector& capacity,
                            const ScoreWeights& weights);

struct PeakScore {
    double score = 0.0;
    std::size_t step = 0; // first step at which the peak is reached
};

// The highest weighted utilization over a projected series (step by step).
PeakScore peakScore(std::span<const ResourceVector> series, const ResourceVector& capacity,
                    const ScoreWeights& weights);

// The peak score of (whole − part) step by step, with rounding residue clamped at 0: what a
// host or range would carry without `part`. Both series have the same length.
double peakWithout(std::span<const ResourceVector> whole, std::span<const ResourceVector> part,
                   const ResourceVector& capacity, const ScoreWeights& weights);

// The first step whose weighted utilization exceeds `threshold`, or series.size() if none does.
std::size_t firstStepAbove(std::span<const ResourceVector> series, const ResourceVector& capacity,
                           const ScoreWeights& weights, double threshold);

// What no key range explains: reported host usage (from /proc, node_exporter, ...) minus the
// load of the ranges it serves, clamped at 0 per resource. Reported utilization thus enters the
// planner as a host's background, and projected range load is added on top of it.
ResourceVector unexplainedUsage(const ResourceVector& reported, const ResourceVector& rangeLoad);

} // namespace rangepilot
