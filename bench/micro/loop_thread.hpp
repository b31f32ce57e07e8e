#pragma once
// A libuv loop on its own thread, reached from other threads the way the
// dispatcher's loop is: through the engine's own Waker (engine.hpp), which
// the executor's workers call. A bare uv_async_t beside it serves the
// benchmarks of libuv alone. The benchmark's thread starts a round with
// kick() and waits for it on a DoneCounter.

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <thread>

#include "engine.hpp"
#include "loop.hpp"

namespace seesaw::bench {

class LoopThread {
public:
    using Callback = std::function<void()>;

    // on_wake runs on the loop thread after waker().send() or
    // uv_async_send(async()); on_kick after kick(). All of them coalesce.
    explicit LoopThread(Callback on_wake, Callback on_kick = [] {})
        : on_wake_(std::move(on_wake)), on_kick_(std::move(on_kick)) {
        detail::uv_check(uv_loop_init(&loop_), "uv_loop_init");
        waker_.init(&loop_, &LoopThread::on_wake, this);
        init(&async_, &LoopThread::on_wake);
        init(&kick_, [](uv_async_t* h) { static_cast<LoopThread*>(h->data)->on_kick_(); });
        init(&stop_, [](uv_async_t* h) {
            auto* self = static_cast<LoopThread*>(h->data);
            self->waker_.close();
            uv_stop(&self->loop_);
        });
    }
    LoopThread(const LoopThread&) = delete;
    LoopThread& operator=(const LoopThread&) = delete;
    ~LoopThread() { stop(); }

    // The loop, for handles made before start(); stop() closes them.
    uv_loop_t* get() noexcept { return &loop_; }
    // Handles made so far are handed over with the thread's start.
    void start() {
        thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
    }
    // Joins the thread and closes every handle of the loop (close_all): one
    // left open is a bug, and ends the process. Idempotent.
    void stop() noexcept {
        if (stopped_) return;
        stopped_ = true;
        if (thread_.joinable()) {
            uv_async_send(&stop_);
            thread_.join();
        } else {
            waker_.close();  // never started: this thread owns the loop
        }
        if (!detail::close_all(&loop_)) std::terminate();
    }

    detail::Waker& waker() noexcept { return waker_; }
    uv_async_t* async() noexcept { return &async_; }
    void kick() noexcept { uv_async_send(&kick_); }

private:
    static void on_wake(uv_async_t* handle) { static_cast<LoopThread*>(handle->data)->on_wake_(); }
    void init(uv_async_t* handle, uv_async_cb cb) {
        detail::uv_check(uv_async_init(&loop_, handle, cb), "uv_async_init");
        handle->data = this;
    }

    Callback on_wake_;
    Callback on_kick_;
    uv_loop_t loop_{};
    detail::Waker waker_;
    uv_async_t async_{};
    uv_async_t kick_{};
    uv_async_t stop_{};
    std::thread thread_;
    bool stopped_ = false;
};

// Tells a waiting thread how many items are done so far (C++20 atomic wait:
// a futex, no lock). The loop calls reach() once per round, not per item, so
// the waiting thread is woken once.
class DoneCounter {
public:
    void reach(std::int64_t total) noexcept {
        done_.store(total, std::memory_order_release);
        done_.notify_one();
    }
    void wait_for(std::int64_t target) const noexcept {
        for (auto seen = done_.load(std::memory_order_acquire); seen < target;
             seen = done_.load(std::memory_order_acquire))
            done_.wait(seen, std::memory_order_acquire);
    }

private:
    std::atomic<std::int64_t> done_{0};
};

}  // namespace seesaw::bench
