// The lock-free hand-off alone, the way dispatch/src does it: the claimer
// enqueue_bulk's Task* into a BlockingConcurrentQueue; workers wait_dequeue
// (ConsumerToken), push a Completion into a ConcurrentQueue (ProducerToken)
// and uv_async_send the loop, which drains completions with try_dequeue_bulk.
// No work per job: this is the cost of moving a job and its result.
#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "handoff.hpp"
#include "micro_support.hpp"

namespace seesaw::bench {
namespace {

struct Task {
    std::int64_t n = 0;
};

// Same layout as dispatch/src/engine.hpp's Completion.
struct Completion {
    Task* task = nullptr;
    int outcome = 0;
    std::string error;
    std::chrono::nanoseconds duration{};
};

// Workers, their queue, the completion queue and the loop that drains it.
class Pipeline {
public:
    explicit Pipeline(int workers) : loop_([this] { drain(); }) {
        for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
    }
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;
    ~Pipeline() {
        for (std::size_t i = 0; i < threads_.size(); ++i) tasks_.enqueue(nullptr);
        for (auto& t : threads_) t.join();
    }

    // Hands `count` jobs over and waits until the loop drained their completions.
    void run_batch(Task* const* first, std::size_t count) {
        submitted_ += static_cast<std::int64_t>(count);
        target_.store(submitted_, std::memory_order_release);
        tasks_.enqueue_bulk(first, count);
        done_.wait_for(submitted_);
    }
    // Loop wake-ups so far; read after the workers are idle.
    std::int64_t wakeups() const noexcept { return wakeups_; }

private:
    // Worker threads: executor.cpp's worker_main with nothing to run.
    void work() {
        moodycamel::ProducerToken token(completions_);
        moodycamel::ConsumerToken consumer(tasks_);
        Task* task = nullptr;
        while (true) {
            tasks_.wait_dequeue(consumer, task);
            if (task == nullptr) break;
            Completion completion;
            completion.task = task;
            completions_.enqueue(token, std::move(completion));
            uv_async_send(loop_.wake());
        }
    }

    // Loop thread: completer.cpp's drain_completions.
    void drain() {
        Completion batch[256];
        while (true) {
            std::size_t n = completions_.try_dequeue_bulk(batch, std::size(batch));
            for (std::size_t i = 0; i < n; ++i) {
                benchmark::DoNotOptimize(batch[i].task);
                batch[i] = Completion{};
            }
            drained_ += static_cast<std::int64_t>(n);
            if (n < std::size(batch)) break;
        }
        ++wakeups_;
        // The producer waits for whole batches: wake it once per batch.
        if (drained_ >= target_.load(std::memory_order_acquire)) done_.reach(drained_);
    }

    moodycamel::BlockingConcurrentQueue<Task*> tasks_;
    moodycamel::ConcurrentQueue<Completion> completions_;
    std::int64_t submitted_ = 0;           // producer thread
    std::atomic<std::int64_t> target_{0};  // producer → loop
    DoneCounter done_;                     // loop → producer
    std::int64_t drained_ = 0;             // loop thread
    std::int64_t wakeups_ = 0;             // loop thread
    // After what its callback uses; ~Pipeline joins the workers before the
    // loop stops, so no uv_async_send reaches a closed handle.
    LoopThread loop_;
    std::vector<std::thread> threads_;
};

// Each iteration hands `batch` jobs over in one enqueue_bulk and waits until
// the loop has drained all their completions.
void BM_Handoff(benchmark::State& state) {
    const auto workers = static_cast<int>(state.range(0));
    const auto batch = static_cast<std::size_t>(state.range(1));
    std::vector<Task> tasks(batch);
    std::vector<Task*> pointers;
    for (auto& t : tasks) pointers.push_back(&t);
    std::int64_t jobs = 0;
    std::int64_t wakeups = 0;
    {
        Pipeline pipeline(workers);
        PerJob per_job(state);
        per_job.start();
        for (auto _ : state) {
            pipeline.run_batch(pointers.data(), batch);
            jobs += static_cast<std::int64_t>(batch);
        }
        per_job.stop(jobs);
        wakeups = pipeline.wakeups();
    }
    state.counters["loop_wakeups_per_job"] =
        static_cast<double>(wakeups) / static_cast<double>(std::max<std::int64_t>(jobs, 1));
}
BENCHMARK(BM_Handoff)
    ->ArgNames({"workers", "batch"})
    ->Args({1, 1000})
    ->Args({2, 1000})
    ->Args({8, 1000})
    ->UseRealTime()
    ->MeasureProcessCPUTime();

// One job at a time: producer → worker → loop → producer. The hand-off's
// contribution to latency (three thread wake-ups), not its throughput.
void BM_HandoffRoundTrip(benchmark::State& state) {
    const auto workers = static_cast<int>(state.range(0));
    Task task;
    Task* pointer = &task;
    std::int64_t jobs = 0;
    {
        Pipeline pipeline(workers);
        PerJob per_job(state);
        per_job.start();
        for (auto _ : state) {
            pipeline.run_batch(&pointer, 1);
            ++jobs;
        }
        per_job.stop(jobs);
    }
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
        for (auto _ : state) {
            uv_async_send(loop.wake());
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
        for (auto _ : state) {
            uv_async_send(loop.wake());
            done.wait_for(++sent);
        }
    }
}
BENCHMARK(BM_UvAsyncWakeRoundTrip)->UseRealTime()->MeasureProcessCPUTime();

}  // namespace
}  // namespace seesaw::bench
