#pragma once
// The executor: worker threads, per queue, take tasks from the queue's
// lock-free hand-off, decode the payload and call the typed handler, and
// report to the loop through a lock-free queue plus a wake-up.
//
// Threading: hand_over(), take_back(), finish() and drain() are called by
// the loop thread; the workers take from their hand-off, write their task's
// started_ns and report. A task in a hand-off belongs to whoever takes it
// out: a worker (it runs it, or reports it skipped) or, when the dispatcher
// stops, the loop (take_back: it hands the job back to the queue at once).

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <optional>
#include <string>
#include <thread>
#include <typeindex>
#include <vector>

#include "handoff.hpp"
#include "task.hpp"

namespace seesaw {
class EventBus;
class JobContext;
class PgJobStore;
}  // namespace seesaw

namespace seesaw::detail {

// What a handler can reach through its JobContext. Immutable while workers run.
struct RunEnvironment {
    std::string worker_id;
    PgJobStore* store = nullptr;
    EventBus* bus = nullptr;
    void* deps = nullptr;
    std::type_index deps_type = std::type_index(typeid(void));
};

// Worker → loop. started: a notice that a task held ahead of the workers
// (ticket ≠ 0) began; its outcome follows in a report of its own.
struct Report {
    Task* task = nullptr;
    bool started = false;
    Outcome outcome = Outcome::skipped;
    std::string error;
    std::chrono::nanoseconds duration{};
    // A retryable failure's delay, when the handler chose one; a snooze's.
    std::optional<std::chrono::milliseconds> retry_in;
};

class Executor {
public:
    // wake: wakes the loop (any thread; it coalesces).
    Executor(const RunEnvironment& environment, std::function<void()> wake);
    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;
    ~Executor();

    // Starts `workers[i]` threads for queue i.
    void start(const std::vector<std::size_t>& workers);
    void hand_over(std::size_t queue, std::span<Task* const> tasks);
    // The tasks of a queue no worker has taken yet: they are the caller's now.
    std::vector<Task*> take_back(std::size_t queue);
    // True on one of the worker threads (a handler).
    bool on_worker_thread() const noexcept;
    // Tells every worker to exit once its queue is empty.
    void finish();
    void join();
    // Workers that have not exited yet (each exit wakes the loop).
    int live_workers() const noexcept { return live_.load(std::memory_order_acquire); }

    // Calls f(Report&) for everything reported so far, in batches.
    template <class F>
    void drain(F&& f) {
        Report batch[256];
        while (true) {
            const std::size_t n = reports_.try_dequeue_bulk(batch, std::size(batch));
            for (std::size_t i = 0; i < n; ++i) {
                f(batch[i]);
                batch[i] = Report{};
            }
            if (n < std::size(batch)) return;
        }
    }

    // One task run as a worker runs it (decode, handler, classification);
    // public for the micro-benchmarks.
    void run(Task& task, Report& report) const;

private:
    // A handler that takes a Transaction: its run and its success in one
    // transaction. committed or fenced; throws what the handler threw, or
    // why the transaction could not commit.
    Outcome run_in_transaction(Task& task, JobContext& ctx) const;
    // A COMMIT cut off with its connection: what became of transaction `xid`.
    Outcome resolve_commit(const Task& task, const std::string& xid, const std::string& lost) const;

    struct Pool {
        moodycamel::BlockingConcurrentQueue<Task*, HandoffTraits> tasks;  // nullptr: exit
        std::vector<std::thread> threads;
    };
    void worker_main(Pool& pool);

    const RunEnvironment& environment_;
    const std::function<void()> wake_;
    std::vector<std::unique_ptr<Pool>> pools_;  // by queue index; set by start()
    moodycamel::ConcurrentQueue<Report> reports_;
    std::atomic<int> live_{0};
};

}  // namespace seesaw::detail
