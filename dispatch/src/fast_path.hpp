#pragma once
// The in-process fast path (seesaw/store/local_runner.hpp), the dispatcher's
// side: which queues have a free worker, the reservations enqueuers hold,
// and the inbox through which they hand over the jobs they inserted running.
//
// Threading: reserve, cancel, hand_over and verify are called by any thread
// (enqueuers); the loop publishes each queue's free workers (set_free),
// drains the inbox and closes it. It is shared (the store holds it while it
// is attached, an enqueuer while it holds a reservation), so it outlives the
// engine; after close() a hand-over is dropped (the job's lease expires and
// it is reclaimed, as after a crash).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "handoff.hpp"
#include "seesaw/store/local_runner.hpp"

namespace seesaw::detail {

class FastPath final : public LocalRunner {
public:
    struct Arrival {
        FastJob job;
        bool verify = false;  // the commit was in doubt: read the row first
    };

    FastPath(std::string worker_id, std::vector<std::string> queues, std::set<std::string, std::less<>> job_types,
             std::function<void()> wake);

    std::optional<std::size_t> reserve(std::string_view queue, std::string_view job_type) noexcept override;
    const std::string& worker_id() const noexcept override { return worker_id_; }
    void hand_over(FastJob job) noexcept override;
    void verify(FastJob job) noexcept override;
    void cancel(std::size_t queue) noexcept override;

    // --- loop thread ------------------------------------------------------------
    // Workers of the queue free for a fast-path job (0: none, e.g. paused).
    void set_free(std::size_t queue, std::int64_t free) noexcept;
    // Reservations of the queue not handed over yet (a claim leaves them room).
    std::int64_t reserved(std::size_t queue) const noexcept;
    // Reservations of any queue not handed over or cancelled yet.
    std::int64_t outstanding() const noexcept;
    // No new reservations (a stop); those held still arrive.
    void stop_reserving() noexcept;
    // Calls f(Arrival&) for each hand-over received.
    template <class F>
    void drain(F&& f) {
        Arrival arrival;
        while (inbox_.try_dequeue(arrival)) {
            slots_[arrival.job.queue]->reserved.fetch_sub(1);
            f(arrival);
        }
    }
    // The engine is closing: nothing reaches it any more.
    void close() noexcept;

private:
    struct Slot {
        explicit Slot(std::string queue_name) : name(std::move(queue_name)) {}
        const std::string name;
        std::atomic<std::int64_t> free{0};
        std::atomic<std::int64_t> reserved{0};
    };
    void arrive(Arrival arrival) noexcept;

    const std::string worker_id_;
    const std::set<std::string, std::less<>> job_types_;
    std::vector<std::unique_ptr<Slot>> slots_;  // by queue index; the vector is immutable
    std::atomic<bool> reserving_{true};
    moodycamel::ConcurrentQueue<Arrival> inbox_;
    std::mutex wake_mutex_;         // guards wake_ against close()
    std::function<void()> wake_;    // empty once closed
};

}  // namespace seesaw::detail
