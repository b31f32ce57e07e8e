#include "loop.hpp"

#include <algorithm>
#include <cstdint>

#include "seesaw/core/error.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw::detail {

void uv_check(int rc, const char* what) {
    if (rc < 0) throw Error(std::string(what) + ": " + uv_strerror(rc));
}

void guarded(const char* what, const std::function<void()>& f) noexcept {
    try {
        f();
    } catch (const std::exception& e) {
        log(LogLevel::error, std::string("dispatcher ") + what + ": " + e.what());
    } catch (...) {
        log(LogLevel::error, std::string("dispatcher ") + what + ": unknown exception");
    }
}

bool close_all(uv_loop_t* loop) {
    uv_walk(
        loop,
        [](uv_handle_t* handle, void*) {
            if (uv_is_closing(handle) == 0) uv_close(handle, nullptr);
        },
        nullptr);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0;
}

void Timer::init(uv_loop_t* loop, std::function<void()> fire, const char* what) {
    fire_ = std::move(fire);
    what_ = what;
    uv_check(uv_timer_init(loop, &handle_), "uv_timer_init");
    handle_.data = this;
    initialised_ = true;
}

void Timer::start(std::chrono::milliseconds delay, std::chrono::milliseconds repeat) {
    // libuv counts a timer from the time it cached when this loop iteration
    // began; an iteration that ran long (many results, a slow machine)
    // would make the timer fire that much early. Count from now.
    uv_update_time(handle_.loop);
    uv_check(uv_timer_start(&handle_, &Timer::on_fire, static_cast<std::uint64_t>(std::max<std::int64_t>(0, delay.count())),
                            static_cast<std::uint64_t>(std::max<std::int64_t>(0, repeat.count()))),
             "uv_timer_start");
}

void Timer::stop() noexcept {
    if (initialised_) uv_timer_stop(&handle_);  // cannot fail on an initialised timer
}

bool Timer::active() const noexcept {
    return initialised_ && uv_is_active(reinterpret_cast<const uv_handle_t*>(&handle_)) != 0;
}

void Timer::on_fire(uv_timer_t* handle) noexcept {
    auto* self = static_cast<Timer*>(handle->data);
    guarded(self->what_, self->fire_);
}

}  // namespace seesaw::detail
