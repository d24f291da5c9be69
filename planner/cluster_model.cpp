#include "cluster_model.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace rangepilot {

std::string_view resourceName(Resource resource) {
    switch (resource) {
    case Resource::Ops:
        return "ops";
    case Resource::DiskBytes:
        return "disk";
    case Resource::NetworkBytes:
        return "network";
    case Resource::Memory:
        return "memory";
    case Resource::ServiceTime:
        return "service_time";
    }
    return "ops";
}

ResourceVector& ResourceVector::operator+=(const ResourceVector& other) {
    for (std::size_t i = 0; i < kResourceCount; ++i)
        values[i] += other.values[i];
    return *this;
}

ResourceVector& ResourceVector::operator-=(const ResourceVector& other) {
    for (std::size_t i = 0; i < kResourceCount; ++i)
        values[i] -= other.values[i];
    return *this;
}

ResourceVector ResourceVector::operator+(const ResourceVector& other) const {
    ResourceVector sum = *this;
    return sum += other;
}

ResourceVector ResourceVector::operator-(const ResourceVector& other) const {
    ResourceVector difference = *this;
    return difference -= other;
}

ResourceVector ResourceVector::operator*(double factor) const {
    ResourceVector scaled = *this;
    for (double& value : scaled.values)
        value *= factor;
    return scaled;
}

double ResourceVector::maxRatioTo(const ResourceVector& capacity) const {
    double ratio = 0.0;
    for (std::size_t i = 0; i < kResourceCount; ++i) {
        if (capacity.values[i] > 0.0)
            ratio = std::max(ratio, values[i] / capacity.values[i]);
    }
    return ratio;
}

LatencyMatrix::LatencyMatrix(std::size_t hosts, double uniformMs)
    : m_size(hosts)
    , m_ms(hosts * hosts, uniformMs) {
    for (std::size_t host = 0; host < hosts; ++host)
        m_ms[host * hosts + host] = 0.0;
}

void LatencyMatrix::set(std::size_t from, std::size_t to, double ms) {
    m_ms[from * m_size + to] = ms;
    m_ms[to * m_size + from] = ms;
}

std::optional<std::size_t> ClusterModel::indexOf(std::string_view host) const {
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        if (hosts[i].id == host)
            return i;
    }
    return std::nullopt;
}

Status validate(const ClusterModel& model) {
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < model.hosts.size(); ++i) {
        const Host& host = model.hosts[i];
        const std::string name = "host " + std::to_string(i) + " (" + host.id + ")";
        if (host.id.empty())
            return Error{"host " + std::to_string(i) + " has no id"};
        if (!seen.insert(host.id).second)
            return Error{name + ": the id is used twice"};
        for (const Resource resource : kAllResources) {
            const double capacity = host.capacity[resource];
            const double background = host.background[resource];
            if (!std::isfinite(capacity) || capacity < 0.0)
                return Error{name + " has a negative or non-finite " +
                             std::string(resourceName(resource)) + " capacity"};
            if (!std::isfinite(background) || background < 0.0)
                return Error{name + " has a negative or non-finite " +
                             std::string(resourceName(resource)) + " background usage"};
        }
    }
    if (model.latency.size() != model.hosts.size()) {
        return Error{"latency matrix is " + std::to_string(model.latency.size()) + "×" +
                     std::to_string(model.latency.size()) + " for " +
                     std::to_string(model.hosts.size()) + " hosts"};
    }
    for (std::size_t from = 0; from < model.latency.size(); ++from) {
        for (std::size_t to = 0; to < model.latency.size(); ++to) {
            const double ms = model.latency.at(from, to);
            if (!std::isfinite(ms) || ms < 0.0)
                return Error{"latency from host " + std::to_string(from) + " to host " +
                             std::to_string(to) + " is negative or non-finite"};
        }
    }
    return Status::success();
}

CellProjection::CellProjection(std::size_t cells, std::size_t steps, TimeMs startMs, TimeMs stepMs)
    : m_cells(cells)
    , m_steps(steps)
    , m_startMs(startMs)
    , m_stepMs(stepMs)
    , m_dataBytes(cells, 0.0) {
    for (std::vector<double>& rates : m_rates)
        rates.assign(cells * steps, 0.0);
}

double CellProjection::rate(CellIndex cell, std::size_t step, Resource resource) const {
    return m_rates[static_cast<std::size_t>(resource)][index(cell, step)];
}

void CellProjection::setRate(CellIndex cell, std::size_t step, Resource resource, double value) {
    m_rates[static_cast<std::size_t>(resource)][index(cell, step)] = value;
}

std::vector<ResourceVector> CellProjection::unionSeries(CellIndex first, CellIndex end) const {
    std::vector<ResourceVector> series(m_steps);
    end = std::min<CellIndex>(end, static_cast<CellIndex>(m_cells));
    for (const Resource resource : kAllResources) {
        const std::vector<double>& rates = m_rates[static_cast<std::size_t>(resource)];
        for (CellIndex cell = first; cell < end; ++cell) {
            for (std::size_t step = 0; step < m_steps; ++step)
                series[step][resource] += rates[index(cell, step)];
        }
    }
    return series;
}

ResourceVector CellProjection::unionPeak(CellIndex first, CellIndex end) const {
    ResourceVector peak;
    for (const ResourceVector& step : unionSeries(first, end)) {
        for (const Resource resource : kAllResources)
            peak[resource] = std::max(peak[resource], step[resource]);
    }
    return peak;
}

double CellProjection::unionDataBytes(CellIndex first, CellIndex end) const {
    double bytes = 0.0;
    end = std::min<CellIndex>(end, static_cast<CellIndex>(m_cells));
    for (CellIndex cell = first; cell < end; ++cell)
        bytes += m_dataBytes[cell];
    return bytes;
}

} // namespace rangepilot
