#pragma once
// Every task the dispatcher holds, from its claim until it settles: the
// owner of their memory. Workers, the completer and the maintainer hold
// plain pointers to tasks that are not settled.
//
// Loop thread only.

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "task.hpp"

namespace seesaw::detail {

class TaskRegistry {
public:
    // Takes the task, gives it its serial.
    Task& add(std::unique_ptr<Task> task) {
        task->serial = next_serial_++;
        auto& slot = tasks_[task->serial];
        slot = std::move(task);
        return *slot;
    }
    Task* find(std::uint64_t serial) const noexcept {
        auto it = tasks_.find(serial);
        return it == tasks_.end() ? nullptr : it->second.get();
    }
    // Frees a settled task.
    void retire(const Task& task) { tasks_.erase(task.serial); }
    // f(Task&) for each task; f must not add or retire tasks.
    template <class F>
    void for_each(F&& f) {
        for (auto& [serial, task] : tasks_) f(*task);
    }
    std::size_t size() const noexcept { return tasks_.size(); }
    bool empty() const noexcept { return tasks_.empty(); }

private:
    std::unordered_map<std::uint64_t, std::unique_ptr<Task>> tasks_;
    std::uint64_t next_serial_ = 1;
};

}  // namespace seesaw::detail
