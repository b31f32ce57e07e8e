#pragma once
// A libuv loop for unit tests: run() returns when nothing is left to do, or
// after a deadline (a failure: the test waited for something that did not
// come); close() asserts that nothing was left open, as libuv's own tests do.

#include <gtest/gtest.h>
#include <uv.h>

#include <cstdint>

namespace seesaw::test {

class TestLoop {
public:
    explicit TestLoop(std::uint64_t deadline_ms = 10'000) {
        EXPECT_EQ(uv_loop_init(&loop_), 0);
        EXPECT_EQ(uv_timer_init(&loop_, &deadline_), 0);
        deadline_.data = this;
        EXPECT_EQ(uv_timer_start(&deadline_, &TestLoop::on_deadline, deadline_ms, 0), 0);
        uv_unref(reinterpret_cast<uv_handle_t*>(&deadline_));  // it does not keep the loop running
    }
    TestLoop(const TestLoop&) = delete;
    TestLoop& operator=(const TestLoop&) = delete;
    ~TestLoop() {
        if (!closed_) close();
    }

    uv_loop_t* get() noexcept { return &loop_; }
    // Runs until no handle or request is left (or the deadline passed).
    void run() { uv_run(&loop_, UV_RUN_DEFAULT); }
    bool timed_out() const noexcept { return timed_out_; }

    // uv_loop_close's answer: 0 when every handle was closed.
    int close() {
        closed_ = true;
        if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&deadline_)))
            uv_close(reinterpret_cast<uv_handle_t*>(&deadline_), nullptr);
        uv_run(&loop_, timed_out_ ? UV_RUN_NOWAIT : UV_RUN_DEFAULT);
        return uv_loop_close(&loop_);
    }

private:
    static void on_deadline(uv_timer_t* timer) {
        auto* self = static_cast<TestLoop*>(timer->data);
        self->timed_out_ = true;
        ADD_FAILURE() << "the loop was still busy at the test's deadline";
        uv_stop(&self->loop_);
    }

    uv_loop_t loop_{};
    uv_timer_t deadline_{};
    bool timed_out_ = false;
    bool closed_ = false;
};

}  // namespace seesaw::test
