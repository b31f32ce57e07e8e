// The dispatcher's per-job hot path with the database taken out: everything
// the loop thread and a worker do for one job between the claim's result
// arriving and its success leaving, as dispatch/src does it:
//
//   loop:   try_claim (statement parameters) → on_claimed per row:
//           JobId::parse, handler lookup, payload copy, integer and time
//           fields, in_flight_ insert; sort; ClaimFinished and JobClaimed;
//           enqueue_bulk to the workers
//   worker: wait_dequeue → run_task (clock, JobStarted, decode of the
//           SendEmail payload, no-op handler) → completion enqueue →
//           uv_async_send
//   loop:   drain_completions → on_completion → flush (the success
//           statement's id/attempt arrays) → the write's answer (RETURNING
//           ids parsed into a set) → JobSucceeded → retire (in_flight_ erase)
//
// Events go to an EventBus on which the dispatcher's own MetricsRegistry
// (dispatch/src/metrics.hpp) listens, as in every running dispatcher.
//
// The claim is answered at once from a prepared result laid out like a
// PGresult, so claims are as large as the free slots allow (workers +
// prefetch), as in backlog mode. The types below mirror engine.hpp's
// Task/Completion/HandlerEntry/JobContext field for field: JobContext needs a
// real Engine, and an Engine needs a database.
#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "handoff.hpp"
#include "metrics.hpp"
#include "micro_support.hpp"
#include "pg.hpp"
#include "seesaw/core/event_bus.hpp"
#include "seesaw/core/events.hpp"
#include "seesaw/core/job.hpp"
#include "seesaw/dispatch/dispatcher.hpp"
#include "store_sql.hpp"

namespace seesaw::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

struct Task;

struct Context {  // JobContext: two references
    const Task& task;
    const void* engine;
};

struct Handler {  // HandlerEntry
    std::string job_type;
    HandlerOptions options;
    std::function<void(std::string_view payload, Context& ctx)> invoke;
};

struct Task {  // engine.hpp's Task
    JobId id;
    std::string payload;
    const Handler* handler = nullptr;
    const std::string* queue = nullptr;
    std::int32_t attempt = 1;
    std::int32_t max_retries = 0;
    std::int32_t version = 1;
    std::int32_t priority = 0;
    Timestamp run_at{};
    Timestamp created_at{};
    std::atomic<bool> cancelled{false};
    std::atomic<bool> lease_lost{false};
    std::atomic<std::int64_t> started_ns{0};
    std::chrono::nanoseconds run_time{};
    bool handler_done = false;
    bool settled = false;
    bool abandoned = false;

    JobRef ref() const { return {id, handler->job_type, *queue, attempt}; }
};

enum class Outcome { succeeded, retryable, permanent, skipped };

struct Completion {
    Task* task = nullptr;
    Outcome outcome = Outcome::skipped;
    std::string error;
    std::chrono::nanoseconds duration{};
};

// `Dispatcher::on<SendEmail>` with a handler that does nothing.
std::unordered_map<std::string, std::unique_ptr<Handler>> make_handlers() {
    std::unordered_map<std::string, std::unique_ptr<Handler>> handlers;
    for (const auto& type : short_job_types(10)) {
        auto fn = [](const SendEmail& job, Context&) { benchmark::DoNotOptimize(job.user_id); };
        handlers.emplace(type, std::make_unique<Handler>(Handler{
                                   type, {}, [fn](std::string_view payload, Context& ctx) mutable {
                                       fn(decode_payload<SendEmail>(payload), ctx);
                                   }}));
    }
    return handlers;
}

// 1024 claimed rows of send_email jobs, columns as store_sql.hpp's ClaimColumn.
FakeResult make_claim_rows() {
    FakeResult rows(detail::claim_column_count);
    const std::int64_t base_us = 1'717'171'717'000'000;
    for (int i = 0; i < 1024; ++i) {
        // Move-assigned strings: assigning a literal trips GCC 12's false
        // -Wrestrict (PR 105329) in Release.
        std::vector<std::string> cells(detail::claim_column_count);
        cells[detail::claim_id] = JobId::generate().to_string();
        cells[detail::claim_job_type] = std::string("send_email");
        cells[detail::claim_queue] = std::string("default");
        cells[detail::claim_payload] = claimed_payload(i);
        cells[detail::claim_version] = std::string("1");
        cells[detail::claim_attempt] = std::string("1");
        cells[detail::claim_max_retries] = std::string("3");
        cells[detail::claim_priority] = std::string("0");
        cells[detail::claim_run_at_us] = std::to_string(base_us + i);
        cells[detail::claim_created_at_us] = std::to_string(base_us + i - 1000);
        cells[detail::claim_lease_expires_at_us] = std::to_string(base_us + i + 60'000'000);
        rows.add_row(cells);
    }
    return rows;
}

class HotPath {
public:
    // workers == 0: everything on the calling thread, no hand-off (the
    // path's CPU work alone). with_metrics: the dispatcher's metrics registry
    // listens on the bus, as it always does in Engine::start.
    HotPath(int workers, std::size_t slots, bool with_metrics)
        : slots_(slots), handlers_(make_handlers()), rows_(make_claim_rows()) {
        pg::ArrayLiteral types;
        std::vector<std::string> type_names;
        for (const auto& entry : handlers_) {
            types.add(entry.first);
            type_names.push_back(entry.first);
        }
        job_types_literal_ = std::move(types).finish();
        if (with_metrics) metrics_.emplace(worker_id_, std::vector<std::string>{queue_name_}, type_names, bus_);
        if (workers == 0) return;
        loop_.emplace([this] { guarded([this] { wake(); }); }, [this] { guarded([this] { start_round(); }); });
        for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { worker_main(); });
    }
    HotPath(const HotPath&) = delete;
    HotPath& operator=(const HotPath&) = delete;
    ~HotPath() {
        for (std::size_t i = 0; i < threads_.size(); ++i) tasks_.enqueue(nullptr);
        for (auto& t : threads_) t.join();
        loop_.reset();
    }

    // Runs `jobs` jobs through the path and returns when all are retired.
    void run_round(std::int64_t jobs) {
        submitted_ += jobs;
        round_jobs_.store(jobs, std::memory_order_release);
        if (!loop_) {
            start_round();
            while (to_claim_ > 0) try_claim();
            return;
        }
        loop_->kick();
        done_.wait_for(submitted_);
    }

private:
    static void guarded(const std::function<void()>& f) noexcept {
        try {
            f();
        } catch (...) {
            std::terminate();
        }
    }

    // --- loop thread -------------------------------------------------------
    void start_round() {
        to_claim_ = round_jobs_.load(std::memory_order_acquire);
        retired_in_round_ = 0;
        round_size_ = to_claim_;
        try_claim();
    }

    void try_claim() {  // producer.cpp's try_claim, answered at once
        if (to_claim_ == 0 || held_ >= slots_) return;
        const std::size_t limit = std::min<std::size_t>(slots_ - held_, static_cast<std::size_t>(to_claim_));
        std::vector<std::string> params = {worker_id_, queue_name_, std::to_string(limit), job_types_literal_,
                                           lease_ms_};
        benchmark::DoNotOptimize(params.data());
        std::function<void(const FakeResult*, std::exception_ptr)> done =
            [this, queue = &queue_name_, limit](const FakeResult*, std::exception_ptr) {
                benchmark::DoNotOptimize(queue);
                on_claimed(limit);
            };
        done(&rows_, nullptr);
    }

    void on_claimed(std::size_t limit) {  // producer.cpp's on_claimed
        const auto rows = static_cast<int>(limit);
        std::vector<Task*> batch;
        batch.reserve(limit);
        for (int n = 0; n < rows; ++n) {
            const int row = cursor_;
            cursor_ = (cursor_ + 1) & 1023;
            if (cursor_ == 0) new_ids();
            auto task = std::make_unique<Task>();
            task->id = JobId::parse(rows_.value(row, detail::claim_id));
            auto handler = handlers_.find(std::string(rows_.value(row, detail::claim_job_type)));
            task->handler = handler != handlers_.end() ? handler->second.get() : nullptr;
            task->queue = &queue_name_;
            task->payload.assign(rows_.value(row, detail::claim_payload));
            task->version = pg::to_int<std::int32_t>(rows_.value(row, detail::claim_version));
            task->attempt = pg::to_int<std::int32_t>(rows_.value(row, detail::claim_attempt));
            task->max_retries = pg::to_int<std::int32_t>(rows_.value(row, detail::claim_max_retries));
            task->priority = pg::to_int<std::int32_t>(rows_.value(row, detail::claim_priority));
            task->run_at = pg::to_timestamp_us(rows_.value(row, detail::claim_run_at_us));
            task->created_at = pg::to_timestamp_us(rows_.value(row, detail::claim_created_at_us));
            batch.push_back(task.get());
            auto* raw = task.get();
            in_flight_.emplace(raw->id, std::move(task));
        }
        std::sort(batch.begin(), batch.end(), [](const Task* a, const Task* b) {
            if (a->priority != b->priority) return a->priority < b->priority;
            if (a->run_at != b->run_at) return a->run_at < b->run_at;
            return a->id < b->id;
        });
        held_ += batch.size();
        to_claim_ -= rows;
        publish(ClaimFinished{queue_name_, limit, static_cast<std::size_t>(rows)});
        if (bus_.has_subscribers<JobClaimed>()) {
            for (const auto* task : batch) publish(JobClaimed{task->ref()});
        }
        if (!loop_) {
            // No hand-off: run each job here, as a worker would.
            for (Task* task : batch) {
                Completion completion;
                completion.task = task;
                run_task(*task, completion);
                on_completion(completion);
            }
            flush_completions();
            return;  // run_round claims again
        }
        if (!batch.empty()) tasks_.enqueue_bulk(batch.begin(), batch.size());
    }

    // The rows are claimed over and over; a preempted worker may still hold
    // a job from 1024 rows back, so each pass gives the rows new ids (the
    // last 8 hex digits count the passes): ids in flight stay unique.
    void new_ids() {
        static constexpr char digits[] = "0123456789abcdef";
        ++pass_;
        for (int row = 0; row < rows_.rows(); ++row) {
            char* id = rows_.mutable_value(row, detail::claim_id);
            for (int i = 0; i < 8; ++i) id[35 - i] = digits[(pass_ >> (4 * i)) & 0xf];
        }
    }

    void wake() {  // dispatcher.cpp's wake
        drain_completions();
        flush_completions();
        try_claim();
    }

    void drain_completions() {
        Completion batch[256];
        while (true) {
            std::size_t n = completions_.try_dequeue_bulk(batch, std::size(batch));
            for (std::size_t i = 0; i < n; ++i) {
                on_completion(batch[i]);
                batch[i] = Completion{};
            }
            if (n < std::size(batch)) return;
        }
    }

    void on_completion(Completion& completion) {
        Task* task = completion.task;
        --held_;
        task->handler_done = true;
        task->run_time = completion.duration;
        if (completion.outcome == Outcome::succeeded) succeed_pending_.push_back(task);
    }

    void flush_completions() {  // completer.cpp: the success statement
        if (succeed_pending_.empty()) return;
        auto batch = std::move(succeed_pending_);
        succeed_pending_.clear();
        pg::ArrayLiteral ids, attempts;
        ids.reserve(batch.size() * 37 + 2);
        for (const Task* task : batch) {
            ids.add(task->id);
            attempts.add(std::int64_t{task->attempt});
        }
        std::vector<std::string> params = {std::move(ids).finish(), std::move(attempts).finish(), worker_id_};
        std::function<void(std::string_view)> done = [this, batch = std::move(batch)](std::string_view rows) mutable {
            on_succeed_written(std::move(batch), rows);
        };
        // The write's answer: RETURNING lists every id (read from the array text).
        done(params[0]);
    }

    void on_succeed_written(std::vector<Task*> batch, std::string_view returned_ids) {
        std::unordered_set<JobId> written;
        written.reserve(batch.size());
        for (std::size_t row = 0; row < batch.size(); ++row)
            written.insert(JobId::parse(returned_ids.substr(1 + row * 37, 36)));
        for (Task* task : batch) {
            if (written.contains(task->id)) publish(JobSucceeded{task->ref(), task->run_time});
            task->settled = true;
            retire_if_done(task);
        }
        if (retired_in_round_ == round_size_ && round_size_ > 0) {
            reached_ += round_size_;
            round_size_ = 0;
            done_.reach(reached_);
        }
    }

    void retire_if_done(Task* task) {
        if (task->handler_done && task->settled) {
            in_flight_.erase(task->id);
            ++retired_in_round_;
        }
    }

    template <class E>
    void publish(const E& event) const {
        if (bus_.has_subscribers<E>()) bus_.publish(event);
    }

    // --- worker threads ------------------------------------------------------
    void worker_main() {  // executor.cpp's worker_main
        moodycamel::ProducerToken token(completions_);
        moodycamel::ConsumerToken consumer(tasks_);
        Task* task = nullptr;
        while (true) {
            tasks_.wait_dequeue(consumer, task);
            if (task == nullptr) break;
            Completion completion;
            completion.task = task;
            if (task->cancelled.load(std::memory_order_acquire)) {
                completion.outcome = Outcome::skipped;
            } else {
                run_task(*task, completion);
            }
            completions_.enqueue(token, std::move(completion));
            uv_async_send(loop_->wake());
        }
    }

    void run_task(Task& task, Completion& completion) {  // executor.cpp's run_task
        auto started = steady_ns();
        task.started_ns.store(started, std::memory_order_release);
        publish(JobStarted{task.ref(), task.created_at, task.run_at});
        Context ctx{task, this};
        try {
            task.handler->invoke(task.payload, ctx);
            completion.outcome = Outcome::succeeded;
        } catch (const std::exception& e) {
            completion.outcome = Outcome::retryable;
            completion.error = e.what();
        }
        completion.duration = std::chrono::nanoseconds(steady_ns() - started);
    }

    // Set up before the threads start; read-only after.
    const std::size_t slots_;  // workers + prefetch
    const std::unordered_map<std::string, std::unique_ptr<Handler>> handlers_;
    FakeResult rows_;  // the loop's after start
    std::string job_types_literal_;
    const std::string worker_id_ = "bench-host:12345:0badc0de";
    const std::string queue_name_ = "default";
    const std::string lease_ms_ = "60000";
    EventBus bus_;
    std::optional<detail::MetricsRegistry> metrics_;  // subscribed to bus_

    // Loop thread only.
    std::unordered_map<JobId, std::unique_ptr<Task>> in_flight_;
    std::vector<Task*> succeed_pending_;
    std::size_t held_ = 0;
    std::int64_t to_claim_ = 0;
    std::int64_t round_size_ = 0;
    std::int64_t retired_in_round_ = 0;
    int cursor_ = 0;
    std::uint32_t pass_ = 0;
    std::int64_t reached_ = 0;  // jobs retired in finished rounds

    // Loop → workers and back.
    moodycamel::BlockingConcurrentQueue<Task*> tasks_;
    moodycamel::ConcurrentQueue<Completion> completions_;

    // Benchmark thread ↔ loop.
    std::int64_t submitted_ = 0;  // benchmark thread
    std::atomic<std::int64_t> round_jobs_{0};
    DoneCounter done_;

    std::optional<LoopThread> loop_;
    std::vector<std::thread> threads_;
};

constexpr std::int64_t round_jobs = 10'000;

// Each iteration runs 10,000 jobs through the path. Arguments: worker
// threads; slots (workers + prefetch: the most a claim may take); metrics
// (1: the dispatcher's metrics registry on the bus, as in a real dispatcher).
void BM_HotPath(benchmark::State& state) {
    HotPath path(static_cast<int>(state.range(0)), static_cast<std::size_t>(state.range(1)), state.range(2) != 0);
    PerJob per_job(state);
    per_job.start();
    for (auto _ : state) path.run_round(round_jobs);
    per_job.stop(state.iterations() * round_jobs);
}
BENCHMARK(BM_HotPath)
    ->ArgNames({"workers", "slots", "metrics"})
    ->Args({1, 1, 1})
    ->Args({2, 2, 1})
    ->Args({8, 8, 1})
    ->Args({1, 100, 1})
    ->Args({2, 100, 1})
    ->Args({8, 100, 1})
    ->Args({2, 100, 0})
    ->Args({8, 100, 0})
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

// The same work on one thread, no hand-off: the path's CPU cost alone.
void BM_HotPathInline(benchmark::State& state) {
    HotPath path(0, static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
    PerJob per_job(state);
    per_job.start();
    for (auto _ : state) path.run_round(round_jobs);
    per_job.stop(state.iterations() * round_jobs);
}
BENCHMARK(BM_HotPathInline)
    ->ArgNames({"slots", "metrics"})
    ->Args({8, 1})
    ->Args({100, 1})
    ->Args({100, 0})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace seesaw::bench
