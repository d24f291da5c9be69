#pragma once

// A small fork-join helper for the planner's parallel passes (trace ranges, per-cell trends).
// Work item 0 runs on the calling thread; the others get a thread each, or run after item 0 on
// the calling thread when the system cannot start another. Exceptions (from callers' callbacks;
// the planner itself does not throw) are rethrown once every item has ended, so no thread is
// left running. Cost: one std::thread per extra item; meant for a handful of items.

#include <cstddef>
#include <exception>
#include <system_error>
#include <thread>
#include <vector>

namespace rangepilot {

// Runs work(0) .. work(count - 1) at once: 0 on the calling thread, the others on threads of
// their own (or after 0 on the calling thread, when the system has no thread to spare). An
// exception from any of them is rethrown once all have ended.
template <typename Work>
void runConcurrently(std::size_t count, Work work) {
    std::vector<std::exception_ptr> failures(count);
    auto guarded = [&](std::size_t index) {
        try {
            work(index);
        } catch (...) {
            failures[index] = std::current_exception();
        }
    };
    std::vector<std::thread> workers;
    std::vector<std::size_t> notStarted;
    for (std::size_t index = 1; index < count; ++index) {
        try {
            workers.emplace_back(guarded, index);
        } catch (const std::system_error&) {
            notStarted.push_back(index);
        }
    }
    if (count > 0)
        guarded(0);
    for (const std::size_t index : notStarted)
        guarded(index);
    for (std::thread& worker : workers)
        worker.join();
    for (const std::exception_ptr& failure : failures) {
        if (failure)
            std::rethrow_exception(failure);
    }
}

} // namespace rangepilot
