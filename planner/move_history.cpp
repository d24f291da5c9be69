#include "move_history.h"

#include <algorithm>

namespace rangepilot {

bool rangesOverlap(const KeyRange& a, const KeyRange& b) {
    const bool aEndsBeforeB = !a.end.empty() && a.end <= b.start;
    const bool bEndsBeforeA = !b.end.empty() && b.end <= a.start;
    return !aEndsBeforeB && !bEndsBeforeA;
}

void MoveHistory::recordMove(MoveRecord move) {
    // Keep start order even if a caller records out of order (rare): insert from the back.
    auto position = m_moves.end();
    while (position != m_moves.begin() && std::prev(position)->started_ms > move.started_ms)
        --position;
    m_moves.insert(position, std::move(move));
}

void MoveHistory::recordBoundaryChange(BoundaryRecord change) {
    auto position = m_boundaryChanges.end();
    while (position != m_boundaryChanges.begin() && std::prev(position)->at_ms > change.at_ms)
        --position;
    m_boundaryChanges.insert(position, std::move(change));
}

std::optional<TimeMs> MoveHistory::lastMoveOverlapping(const KeyRange& range) const {
    for (auto it = m_moves.rbegin(); it != m_moves.rend(); ++it) {
        if (rangesOverlap(it->range, range))
            return it->started_ms;
    }
    return std::nullopt;
}

std::optional<TimeMs> MoveHistory::lastBoundaryChangeOverlapping(const KeyRange& range) const {
    for (auto it = m_boundaryChanges.rbegin(); it != m_boundaryChanges.rend(); ++it) {
        if (rangesOverlap(it->range, range))
            return it->at_ms;
    }
    return std::nullopt;
}

double MoveHistory::bytesStartedSince(TimeMs since) const {
    double bytes = 0.0;
    for (auto it = m_moves.rbegin(); it != m_moves.rend() && it->started_ms >= since; ++it)
        bytes += it->bytes;
    return bytes;
}

const MoveRecord* MoveHistory::undoneBy(const KeyRange& range, const HostId& from, const HostId& to,
                                        TimeMs now, TimeMs window) const {
    for (auto it = m_moves.rbegin(); it != m_moves.rend() && it->started_ms >= now - window; ++it) {
        if (it->started_ms <= now && it->from == to && it->to == from &&
            rangesOverlap(it->range, range))
            return &*it;
    }
    return nullptr;
}

void MoveHistory::prune(TimeMs before) {
    while (!m_moves.empty() && m_moves.front().started_ms < before)
        m_moves.pop_front();
    while (!m_boundaryChanges.empty() && m_boundaryChanges.front().at_ms < before)
        m_boundaryChanges.pop_front();
}

} // namespace rangepilot
