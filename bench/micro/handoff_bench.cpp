// The hand-off alone, through the engine's own Executor (dispatch/src/
// executor.hpp): Executor::hand_over gives Task* to N worker threads (here
// the benchmark's thread calls it and waits for the batch; in the dispatcher
// the loop does); each worker checks the task's start deadline, runs it
// (Executor::run: the clock, a JobContext, a handler that does nothing; no
// one listens on the bus) and reports through the executor's queue and the
// engine's Waker; the loop, on its own thread, takes the reports with
// Executor::drain. No work per job: the cost of moving a job to a worker
// and its report back. The last three measure the platform
// alone: libuv (a bare uv_async_t) and the steady clock.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "executor.hpp"
#include "loop_thread.hpp"
#include "micro_support.hpp"
#include "seesaw/core/event_bus.hpp"
#include "seesaw/dispatch/dispatcher.hpp"

namespace seesaw::bench {
namespace {

// Tasks a worker runs: a handler that does nothing, a start deadline that
// never passes.
class IdleTasks {
public:
    explicit IdleTasks(std::size_t count) : tasks_(count) {
        for (auto& task : tasks_) {
            task.handler = &handler_;
            task.start_deadline_ns.store(std::numeric_limits<std::int64_t>::max());
            pointers_.push_back(&task);
        }
    }
    std::span<detail::Task* const> all() const noexcept { return pointers_; }

private:
    HandlerEntry handler_{"idle", {}, [](std::string_view, JobContext&) {}};
    std::vector<detail::Task> tasks_;
    std::vector<detail::Task*> pointers_;
};

// An Executor with N workers, and the loop that drains their reports.
class Handoff {
public:
    explicit Handoff(std::size_t workers)
        : loop_([this] { drain(); }), executor_(environment_, [this] { loop_.waker().send(); }) {
        loop_.start();
        executor_.start({workers});
    }
    Handoff(const Handoff&) = delete;
    Handoff& operator=(const Handoff&) = delete;
    ~Handoff() {
        executor_.finish();
        executor_.join();
        loop_.stop();
    }

    // Hands the tasks over and waits until the loop drained their reports.
    void run_batch(std::span<detail::Task* const> tasks) {
        submitted_ += static_cast<std::int64_t>(tasks.size());
        target_.store(submitted_, std::memory_order_release);
        executor_.hand_over(0, tasks);
        done_.wait_for(submitted_);
    }
    // Loop wake-ups so far.
    std::int64_t wakeups() const noexcept { return wakeups_.load(std::memory_order_relaxed); }

private:
    // Loop thread.
    void drain() {
        executor_.drain([this](detail::Report& report) {
            benchmark::DoNotOptimize(report.task);
            ++drained_;
        });
        wakeups_.fetch_add(1, std::memory_order_relaxed);
        // The benchmark waits for whole batches: wake it once per batch.
        if (drained_ >= target_.load(std::memory_order_acquire)) done_.reach(drained_);
    }

    EventBus bus_;
    detail::RunEnvironment environment_{"bench", nullptr, &bus_, nullptr, std::type_index(typeid(void))};
    std::int64_t submitted_ = 0;           // benchmark thread
    std::atomic<std::int64_t> target_{0};  // benchmark thread → loop
    DoneCounter done_;                     // loop → benchmark thread
    std::int64_t drained_ = 0;             // loop thread
    std::atomic<std::int64_t> wakeups_{0};  // loop thread → benchmark thread
    LoopThread loop_;
    detail::Executor executor_;  // after the loop: its workers wake it
};

// Each iteration hands `batch` jobs over in one hand_over and waits until
// the loop has drained all their reports. Returns the loop's wake-ups per job.
double hand_over_batches(benchmark::State& state, std::size_t workers, std::size_t batch) {
    const IdleTasks tasks(batch);
    std::int64_t jobs = 0;
    Handoff handoff(workers);
    PerJob per_job(state);
    per_job.start();
    for (auto _ : state) {
        handoff.run_batch(tasks.all());
        jobs += static_cast<std::int64_t>(batch);
    }
    per_job.stop(jobs);
    return static_cast<double>(handoff.wakeups()) / static_cast<double>(std::max<std::int64_t>(jobs, 1));
}

void BM_Handoff(benchmark::State& state) {
    state.counters["loop_wakeups_per_job"] =
        hand_over_batches(state, static_cast<std::size_t>(state.range(0)), static_cast<std::size_t>(state.range(1)));
}
BENCHMARK(BM_Handoff)
    ->ArgNames({"workers", "batch"})
    ->Args({1, 1000})
    ->Args({2, 1000})
    ->Args({8, 1000})
    ->UseRealTime()
    ->MeasureProcessCPUTime();

// One job at a time: benchmark thread → worker → loop → benchmark thread.
// The hand-off's contribution to latency (three thread wake-ups), not its
// throughput.
void BM_HandoffRoundTrip(benchmark::State& state) {
    hand_over_batches(state, static_cast<std::size_t>(state.range(0)), 1);
}
BENCHMARK(BM_HandoffRoundTrip)->ArgName("workers")->Arg(1)->Arg(2)->Arg(8)->UseRealTime()->MeasureProcessCPUTime();

// The bare uv_async_send, back to back while the loop drains on its thread:
// most sends find the handle already pending and return after one atomic
// load (coalescing); sends_per_wakeup says how many shared one wake-up.
void BM_UvAsyncSend(benchmark::State& state) {
    std::atomic<std::int64_t> wakeups{0};
    std::int64_t sends = 0;
    {
        LoopThread loop([&] { wakeups.fetch_add(1, std::memory_order_relaxed); });
        loop.start();
        for (auto _ : state) {
            uv_async_send(loop.async());
            ++sends;
        }
    }
    state.counters["sends_per_wakeup"] =
        static_cast<double>(sends) / static_cast<double>(std::max<std::int64_t>(wakeups.load(), 1));
}
BENCHMARK(BM_UvAsyncSend)->UseRealTime();

// uv_async_send to an idle loop and wait (blocked, not spinning: on two
// shared cores a spinning waiter takes the CPU the loop needs) until its
// callback ran: the eventfd write, the epoll wake-up, the callback and the
// futex wake-up back, never coalesced.
void BM_UvAsyncWakeRoundTrip(benchmark::State& state) {
    DoneCounter done;
    std::int64_t wakeups = 0;  // loop thread
    std::int64_t sent = 0;
    {
        LoopThread loop([&] { done.reach(++wakeups); });
        loop.start();
        for (auto _ : state) {
            uv_async_send(loop.async());
            done.wait_for(++sent);
        }
    }
}
BENCHMARK(BM_UvAsyncWakeRoundTrip)->UseRealTime()->MeasureProcessCPUTime();

// One read of the steady clock (on a VM, the hypervisor's clock page): a
// worker reads it three times per job (the start deadline, the start, the end).
void BM_SteadyClockNow(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(std::chrono::steady_clock::now());
}
BENCHMARK(BM_SteadyClockNow);

}  // namespace
}  // namespace seesaw::bench
