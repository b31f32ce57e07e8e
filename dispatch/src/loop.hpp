#pragma once
// The loop's handle discipline. Every uv handle the dispatcher opens is
// either owned by an object that outlives the loop (timers, the wake-up
// async, signals: members, their memory freed with their owner) or frees
// itself in its close callback (a poll per socket, an HTTP client). At
// shutdown close_all() closes every handle still open through one uv_walk,
// and the loop must then close with nothing left (uv_loop_close == 0).
// Every uv_* return code is checked: an error is an exception with the
// call's name (callers on the loop catch it; see guarded()).
//
// Loop thread only.

#include <uv.h>

#include <chrono>
#include <functional>
#include <string>

namespace seesaw::detail {

// Throws seesaw::Error("<what>: <uv's message>") when rc is a uv error.
void uv_check(int rc, const char* what);

// Runs f, logging what it throws: no exception may cross a libuv callback.
void guarded(const char* what, const std::function<void()>& f) noexcept;

// Closes every handle of the loop that is not closing yet, then runs the
// loop until their close callbacks ran. True when uv_loop_close succeeded
// (nothing was left open).
bool close_all(uv_loop_t* loop);

// A timer owned by its member: start/stop any number of times; closed by
// close_all() (or close()) before its owner dies.
class Timer {
public:
    Timer() = default;
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    void init(uv_loop_t* loop, std::function<void()> fire, const char* what);
    // Fires once after `delay`, then every `repeat` (0: once).
    void start(std::chrono::milliseconds delay, std::chrono::milliseconds repeat = std::chrono::milliseconds(0));
    void stop() noexcept;
    bool active() const noexcept;

private:
    static void on_fire(uv_timer_t* handle) noexcept;

    uv_timer_t handle_{};
    std::function<void()> fire_;
    const char* what_ = "timer";
    bool initialised_ = false;
};

}  // namespace seesaw::detail
