#include "task.hpp"

#include "seesaw/core/events.hpp"
#include "seesaw/dispatch/dispatcher.hpp"
#include "queue_state.hpp"

namespace seesaw::detail {

std::string_view to_string(TaskState state) noexcept {
    switch (state) {
        case TaskState::waiting: return "waiting";
        case TaskState::running: return "running";
        case TaskState::writing: return "writing";
        case TaskState::releasing: return "releasing";
        case TaskState::timed_out: return "timed_out";
        case TaskState::waiting_lost: return "waiting_lost";
        case TaskState::running_lost: return "running_lost";
        case TaskState::settled: return "settled";
    }
    return "?";
}

std::string_view to_string(TaskEvent event) noexcept {
    switch (event) {
        case TaskEvent::started: return "started";
        case TaskEvent::returned: return "returned";
        case TaskEvent::skipped: return "skipped";
        case TaskEvent::lease_lost: return "lease_lost";
        case TaskEvent::timed_out: return "timed_out";
        case TaskEvent::written: return "written";
        case TaskEvent::dropped: return "dropped";
    }
    return "?";
}

std::optional<TaskState> next_state(TaskState state, TaskEvent event) noexcept {
    using S = TaskState;
    using E = TaskEvent;
    if (event == E::dropped) return S::settled;
    switch (state) {
        case S::waiting:
            switch (event) {
                case E::started: return S::running;
                case E::returned: return S::writing;
                case E::skipped: return S::releasing;
                case E::lease_lost: return S::waiting_lost;
                default: return std::nullopt;
            }
        case S::running:
            switch (event) {
                case E::started: return S::running;
                case E::returned: return S::writing;
                case E::lease_lost: return S::running_lost;
                case E::timed_out: return S::timed_out;
                default: return std::nullopt;
            }
        case S::writing:
            switch (event) {
                case E::lease_lost: return S::writing;  // the write is fenced out and says so
                case E::written: return S::settled;
                default: return std::nullopt;
            }
        case S::releasing:
            switch (event) {
                case E::lease_lost: return S::releasing;
                case E::written: return S::settled;
                default: return std::nullopt;
            }
        case S::timed_out:
            switch (event) {
                case E::started: return S::timed_out;
                case E::returned: return S::writing;  // the timeout's failure is what is written
                case E::lease_lost: return S::timed_out;
                case E::written: return S::running_lost;
                default: return std::nullopt;
            }
        case S::waiting_lost:
            switch (event) {
                case E::started: return S::running_lost;
                case E::returned:
                case E::skipped: return S::settled;
                case E::lease_lost: return S::waiting_lost;
                default: return std::nullopt;
            }
        case S::running_lost:
            switch (event) {
                case E::started:
                case E::lease_lost: return S::running_lost;
                case E::returned: return S::settled;
                default: return std::nullopt;
            }
        case S::settled: return std::nullopt;
    }
    return std::nullopt;
}

JobRef Task::ref() const { return JobRef{id, handler->job_type, queue->name, attempt}; }
std::string_view Task::queue_name() const noexcept { return queue->name; }

}  // namespace seesaw::detail
