#pragma once

// The cluster as the planner sees it: hosts with a capacity per resource and usage that no key
// range explains (compaction, other tenants), the network latency between hosts, and the load
// each key cell is projected to carry over the planning horizon.
//
// Resources are generic so that connectors for stores we did not write (node_exporter metrics,
// Redis Cluster) can fill them: ops/s (≈ CPU), disk bytes/s, network bytes/s, memory bytes, and
// service time (microseconds of request latency per second: by Little's law the mean number of
// requests in service, so its capacity is the number of requests a host serves at once).
// Rates are per second; memory is a level. A capacity of 0 means unknown: that resource is then
// left out of utilizations. A host's utilization of a resource is
// (background + load of its ranges) / capacity; 1.0 is full.
//
// CellProjection holds per-cell projected rates step by step (not just peaks), because the peak
// of a union of cells is not the sum of their peaks when they peak at different times; dividers
// and placement evaluate unions. Cost: cells × steps doubles per resource (1,024 × 12 × 2 is
// nothing; 65,536 × 288 × 2 is 300 MB, so keep horizons short at fine cell counts).

#include "key_cells.h"
#include "ownership_table.h"
#include "result.h"
#include "time_ms.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace rangepilot {

enum class Resource : std::uint8_t { Ops, DiskBytes, NetworkBytes, Memory, ServiceTime };
inline constexpr std::size_t kResourceCount = 5;
inline constexpr std::array<Resource, kResourceCount> kAllResources{
    Resource::Ops, Resource::DiskBytes, Resource::NetworkBytes, Resource::Memory,
    Resource::ServiceTime};

// "ops", "disk", "network", "memory", "service_time".
std::string_view resourceName(Resource resource);

struct ResourceVector {
    std::array<double, kResourceCount> values{};

    double& operator[](Resource resource) { return values[static_cast<std::size_t>(resource)]; }
    double operator[](Resource resource) const {
        return values[static_cast<std::size_t>(resource)];
    }
    ResourceVector& operator+=(const ResourceVector& other);
    ResourceVector& operator-=(const ResourceVector& other);
    ResourceVector operator+(const ResourceVector& other) const;
    ResourceVector operator-(const ResourceVector& other) const;
    ResourceVector operator*(double factor) const;
    bool operator==(const ResourceVector&) const = default;

    // max over resources of this / capacity, skipping resources whose capacity is 0 (unknown);
    // the utilization a host would have if this were its usage.
    double maxRatioTo(const ResourceVector& capacity) const;
};

struct Host {
    HostId id;
    ResourceVector capacity;   // ops/s, disk bytes/s, network bytes/s, memory bytes
    ResourceVector background; // usage that no key range explains, in the same units
};

// Symmetric round-trip latency between hosts, in milliseconds; 0 on the diagonal.
class LatencyMatrix {
public:
    LatencyMatrix() = default;
    explicit LatencyMatrix(std::size_t hosts, double uniformMs = 0.0);

    std::size_t size() const { return m_size; }
    double at(std::size_t from, std::size_t to) const { return m_ms[from * m_size + to]; }
    void set(std::size_t from, std::size_t to, double ms); // sets both directions

private:
    std::size_t m_size = 0;
    std::vector<double> m_ms;
};

struct ClusterModel {
    std::vector<Host> hosts;
    LatencyMatrix latency; // indexed like hosts

    std::optional<std::size_t> indexOf(std::string_view host) const;
};

// Clear errors for an inconsistent model ("host 3 has a negative disk capacity", "latency
// matrix is 4×4 for 5 hosts", duplicate host ids).
Status validate(const ClusterModel& model);

// Projected load per key cell over the horizon, in steps of step_ms from start_ms.
class CellProjection {
public:
    CellProjection() = default;
    CellProjection(std::size_t cells, std::size_t steps, TimeMs startMs, TimeMs stepMs);

    std::size_t cells() const { return m_cells; }
    std::size_t steps() const { return m_steps; }
    TimeMs startMs() const { return m_startMs; }
    TimeMs stepMs() const { return m_stepMs; }

    // Projected rate of `resource` in `cell` at `step` (ops/s, bytes/s, ...).
    double rate(CellIndex cell, std::size_t step, Resource resource) const;
    void setRate(CellIndex cell, std::size_t step, Resource resource, double value);

    // Stored bytes in the cell: what moving it costs.
    double dataBytes(CellIndex cell) const { return m_dataBytes[cell]; }
    void setDataBytes(CellIndex cell, double bytes) { m_dataBytes[cell] = bytes; }
    std::span<const double> allDataBytes() const { return m_dataBytes; }

    // The step-by-step sum over cells [first, end), and its peak per resource.
    std::vector<ResourceVector> unionSeries(CellIndex first, CellIndex end) const;
    ResourceVector unionPeak(CellIndex first, CellIndex end) const;
    double unionDataBytes(CellIndex first, CellIndex end) const;

private:
    std::size_t index(CellIndex cell, std::size_t step) const { return cell * m_steps + step; }

    std::size_t m_cells = 0;
    std::size_t m_steps = 0;
    TimeMs m_startMs = 0;
    TimeMs m_stepMs = 0;
    std::array<std::vector<double>, kResourceCount> m_rates; // [resource][cell × steps + step]
    std::vector<double> m_dataBytes;
};

} // namespace rangepilot
