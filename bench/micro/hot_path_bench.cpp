// The dispatcher's per-job hot path with the database taken out, through the
// engine's own parts (dispatch/src). For claims of N rows (N = workers +
// prefetch: what a claim brings while there is a backlog), everything the
// loop and a worker do for a job between the claim's result arriving and the
// answer to its success's write:
//
//   loop:    Producer::on_claimed (decode_claim; a Task per row in the
//            TaskRegistry; the handler lookup; ClaimFinished, JobClaimed)
//            → Executor::hand_over
//   worker:  the executor's worker: a start notice for a job held ahead of
//            the workers, Executor::run (JobStarted; a JobContext; the typed
//            handler: decode_payload<SendEmail> through JobTraits, then a
//            body that does nothing), its report, the engine's Waker
//   loop:    Executor::drain → the engine's report step (below) → Completer:
//            the fenced success write's parameters (lease_params) → its
//            answer, RETURNING every id → JobSucceeded → Producer::settled,
//            TaskRegistry::retire
//
// Events go to an EventBus on which the dispatcher's MetricsRegistry
// listens, as in every running dispatcher. The claim connection answers each
// claim at once from results built once; the result connection is a
// FakeStatements (tests/support), answered at once: every write wrote all
// its rows. The loop claims again when the workers have returned every job
// of the last claim, so each claim brings N rows and the workers wait for
// the next (one loop and one worker wake-up per claim).
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "completer.hpp"
#include "executor.hpp"
#include "fake_statements.hpp"
#include "loop_thread.hpp"
#include "metrics.hpp"
#include "micro_support.hpp"
#include "producer.hpp"
#include "report_step.hpp"
#include "seesaw/core/event_bus.hpp"
#include "seesaw/dispatch/dispatcher.hpp"
#include "store_sql.hpp"
#include "task_registry.hpp"
#include "worker_protocol.hpp"

namespace seesaw::bench {
namespace {

using namespace std::chrono_literals;
using detail::Report;
using detail::Task;

const std::string worker_id = "bench-host:12345:0badc0de";
const std::string queue_name = "default";

// What Dispatcher::on<T> registers for a typed handler.
template <TypedJob T, class F>
std::unique_ptr<HandlerEntry> typed_handler(F handler) {
    return std::make_unique<HandlerEntry>(HandlerEntry{
        std::string(job_type_name<T>()), {}, [fn = std::move(handler)](std::string_view payload, JobContext& ctx) mutable {
            fn(decode_payload<T>(payload), ctx);
        }});
}

// Ten job types, as the engine keeps them; every claimed row is a SendEmail,
// whose handler decodes it and does nothing else.
detail::StringMap<std::unique_ptr<HandlerEntry>> make_handlers() {
    detail::StringMap<std::unique_ptr<HandlerEntry>> handlers;
    auto send_email = typed_handler<SendEmail>([](const SendEmail& job, JobContext&) { benchmark::DoNotOptimize(job); });
    for (const auto& type : short_job_types(10)) {
        if (type == send_email->job_type) continue;
        handlers.emplace(type, std::make_unique<HandlerEntry>(HandlerEntry{type, {}, [](std::string_view, JobContext&) {}}));
    }
    auto name = send_email->job_type;
    handlers.emplace(std::move(name), std::move(send_email));
    return handlers;
}

// The claim connection of a database with a backlog: every claim asks for N
// rows (the loop claims when the queue is empty) and gets them at once. The
// results are built once, 1,024 different rows in turn, with FakeAnswer's
// libpq calls; their columns are store_sql.hpp's ClaimColumns.
class BacklogClaims final : public detail::Statements {
public:
    BacklogClaims(const detail::StoreSql& sql, std::size_t rows, std::size_t free_workers)
        : sql_(sql), limit_(std::to_string(rows)), free_workers_(std::to_string(std::min(rows, free_workers))) {
        const std::size_t results = (1024 + rows - 1) / rows;
        for (std::size_t r = 0; r < results; ++r) {
            std::vector<test::FakeRow> cells;
            for (std::size_t i = 0; i < rows; ++i) cells.push_back(row(r * rows + i, i, rows));
            results_.push_back(test::FakeAnswer::rows(columns(), std::move(cells)).make_result());
        }
    }

    void send(detail::Statement statement) override {
        // Anything else (a check for the next due job, a progress record)
        // would mean the path is not the one this measures.
        if (statement.sql != &sql_.claim)
            throw std::logic_error("the hot path sent a statement other than a claim: " + statement.prepared_name);
        if (statement.params.at(2) != limit_ || statement.params.at(5) != free_workers_)
            throw std::logic_error("a claim for " + statement.params.at(2) + " rows (" + statement.params.at(5) +
                                   " to free workers), not " + limit_ + " (" + free_workers_ + ")");
        waiting_.emplace(std::move(statement));
    }
    bool waiting() const noexcept { return waiting_.has_value(); }
    // Answers the claim that waits: Producer::on_claimed runs.
    void answer() {
        auto claim = std::move(*waiting_);
        waiting_.reset();
        claim.done(results_[next_].get(), nullptr);
        next_ = (next_ + 1) % results_.size();
    }

private:
    static std::vector<std::string> columns() {
        std::vector<std::string> names(detail::claim_column_count);
        names[detail::claim_id] = "id";
        names[detail::claim_job_type] = "job_type";
        names[detail::claim_queue] = "queue";
        names[detail::claim_payload] = "payload";
        names[detail::claim_version] = "version";
        names[detail::claim_attempt] = "attempt";
        names[detail::claim_max_retries] = "max_retries";
        names[detail::claim_priority] = "priority";
        names[detail::claim_run_at_us] = "run_at_us";
        names[detail::claim_created_at_us] = "created_at_us";
        names[detail::claim_lease_expires_at_us] = "lease_expires_at_us";
        names[detail::claim_order] = "order";
        names[detail::claim_lease_ticket] = "lease_ticket";
        names[detail::claim_found_count] = "found_count";
        return names;
    }

    // Row `place` of a claim of `rows`: the first free_workers go straight
    // to a worker, the others wait ahead of the workers; every one is a
    // first run, so each has a ticket, as the dispatcher's claim gives it,
    // and a worker sends a start notice for each. The server numbers
    // tickets from the claim's ticket base; a result built once cannot, so
    // these lie below the start watermark's first ticket and it skips them
    // (its deque push and pop per job are left out).
    static test::FakeRow row(std::size_t n, std::size_t place, std::size_t rows) {
        const std::int64_t base_us = 1'717'171'717'000'000 + static_cast<std::int64_t>(n);
        test::FakeRow cells(detail::claim_column_count);
        cells[detail::claim_id] = JobId::generate().to_string();
        cells[detail::claim_job_type] = std::string(job_type_name<SendEmail>());
        cells[detail::claim_queue] = queue_name;
        cells[detail::claim_payload] = claimed_payload(static_cast<std::int64_t>(n));
        cells[detail::claim_version] = std::string("1");
        cells[detail::claim_attempt] = std::string("1");
        cells[detail::claim_max_retries] = std::string("3");
        cells[detail::claim_priority] = std::string("0");
        cells[detail::claim_run_at_us] = std::to_string(base_us);
        cells[detail::claim_created_at_us] = std::to_string(base_us - 1000);
        cells[detail::claim_lease_expires_at_us] = std::to_string(base_us + 60'000'000);
        cells[detail::claim_order] = std::to_string(place + 1);
        cells[detail::claim_lease_ticket] = std::to_string(place + 1);
        cells[detail::claim_found_count] = std::to_string(rows);
        return cells;
    }

    const detail::StoreSql& sql_;
    const std::string limit_, free_workers_;
    std::vector<std::unique_ptr<PGresult, void (*)(PGresult*)>> results_;
    std::size_t next_ = 0;
    std::optional<detail::Statement> waiting_;
};

// The result connection: a FakeStatements whose every write is answered at
// once with all the ids it sent (the fence let every row through). A
// FakeStatements keeps every statement and looks through all of them per
// answer, so a fresh one takes over once in a while.
class ResultConnection final : public detail::Statements {
public:
    void send(detail::Statement statement) override { fake_->send(std::move(statement)); }

    void answer_all() {
        for (; answered_ < fake_->size(); ++answered_) {
            auto rows = returned_rows(fake_->sent(answered_).params.at(0));
            fake_->answer(answered_, test::FakeAnswer::rows({"id"}, std::move(rows)));
        }
        if (answered_ >= renew_after) {
            fake_ = std::make_unique<test::FakeStatements>();
            answered_ = 0;
        }
    }

private:
    static constexpr std::size_t renew_after = 64;

    // The rows of `RETURNING j.id` for the ids of the write's $1 ({id,id,...}).
    static std::vector<test::FakeRow> returned_rows(std::string_view ids) {
        std::vector<test::FakeRow> rows;
        ids = ids.substr(1, ids.size() - 2);
        while (!ids.empty()) {
            const auto comma = std::min(ids.find(','), ids.size());
            rows.push_back({std::string(ids.substr(0, comma))});
            ids.remove_prefix(std::min(comma + 1, ids.size()));
        }
        return rows;
    }

    std::unique_ptr<test::FakeStatements> fake_ = std::make_unique<test::FakeStatements>();
    std::size_t answered_ = 0;
};

class HotPath {
public:
    // workers == 0: no worker threads; the calling thread runs every job
    // (Executor::run) as the one worker of a queue of `slots`.
    HotPath(std::size_t workers, std::size_t slots)
        : workers_(workers),
          slots_(slots),
          metrics_(worker_id, {queue_name}, type_names(), bus_),
          sql_("bench"),
          claims_(sql_, slots, std::max<std::size_t>(workers, 1)),
          loop_([this] { wake(); }, [this] { start_round(); }) {
        const std::size_t queue_workers = std::max<std::size_t>(workers, 1);
        executor_ = std::make_unique<detail::Executor>(environment_, [this] { loop_.waker().send(); });
        completer_ = std::make_unique<detail::Completer>(
            results_, sql_, environment_.worker_id, detail::Publisher(bus_),
            detail::Completer::Hooks{[this](Task& task) { settle(task); }, [](Task&, std::chrono::milliseconds) {}});
        completer_->set_ready(true);
        detail::Producer::Settings settings;
        settings.worker_id = worker_id;
        settings.schema = "bench";
        settings.job_types_literal = detail::job_types_literal(type_names());
        settings.lease = 60s;
        settings.listen = false;
        settings.poll_interval = 2s;
        settings.busy_poll_interval = 1ms;
        producer_ = std::make_unique<detail::Producer>(
            loop_.get(), claims_, sql_, tasks_, *executor_, *completer_, detail::Publisher(bus_),
            std::vector<QueueOptions>{QueueOptions(queue_name, queue_workers, slots - queue_workers)},
            std::move(settings),
            detail::Producer::Hooks{[this](std::string_view type) -> const HandlerEntry* {
                                        auto found = handlers_.find(type);
                                        return found != handlers_.end() ? found->second.get() : nullptr;
                                    },
                                    [] { return true; }, [] {}});
        queue_ = producer_->queues().front().get();
        producer_->set_claiming(true, false);  // sends the first claim
        executor_->start({workers});
        if (workers > 0) loop_.start();
    }
    HotPath(const HotPath&) = delete;
    HotPath& operator=(const HotPath&) = delete;
    ~HotPath() {
        executor_->finish();
        executor_->join();
        loop_.stop();  // closes the producer's timers: it outlives the loop
    }

    std::size_t jobs_per_claim() const noexcept { return slots_; }

    // What the dispatcher's metrics counted, if it is not `jobs` claimed,
    // started and succeeded: the path measured was not the one described.
    std::optional<std::string> miscounted(std::int64_t jobs) const {
        const auto expected = static_cast<std::uint64_t>(jobs);
        for (const auto& series : metrics_.snapshot().job_types) {
            if (series.job_type != job_type_name<SendEmail>()) continue;
            if (series.claimed == expected && series.started == expected && series.succeeded == expected) return {};
            return "the metrics counted " + std::to_string(series.claimed) + " claimed, " +
                   std::to_string(series.started) + " started and " + std::to_string(series.succeeded) +
                   " succeeded of " + std::to_string(jobs) + " jobs";
        }
        return "the metrics have no series for send_email";
    }

    // Runs `claims` claims through the path; returns when all their jobs are retired.
    void run_round(std::int64_t claims) {
        target_ += claims * static_cast<std::int64_t>(slots_);
        round_claims_.store(claims, std::memory_order_release);
        if (workers_ > 0) {
            loop_.kick();
            done_.wait_for(target_);
            return;
        }
        start_round();
        while (claims_left_ > 0 || !tasks_.empty()) {
            for (Task* task : executor_->take_back(0)) {
                Report report;
                report.task = task;
                executor_->run(*task, report);
                on_report(report);
            }
            completer_->flush();
            results_.answer_all();
            claim_if_empty();
        }
    }

private:
    static std::vector<std::string> type_names() { return short_job_types(10); }

    // --- loop thread ---------------------------------------------------------
    void start_round() {
        claims_left_ += round_claims_.load(std::memory_order_acquire);
        claim_if_empty();
    }

    // Engine::wake (dispatcher.cpp), the database answering at once, and
    // claiming only when the queue is empty (see the top of this file).
    void wake() {
        executor_->drain([this](Report& report) { on_report(report); });
        completer_->flush();
        results_.answer_all();
        claim_if_empty();
        if (claims_left_ == 0 && tasks_.empty()) done_.reach(retired_);
    }

    void claim_if_empty() {
        if (claims_left_ == 0 || queue_->held > 0) return;
        --claims_left_;
        if (!claims_.waiting()) producer_->claim_where_wanted();
        claims_.answer();
    }

    // Engine::on_report: the engine's report step.
    void on_report(Report& report) {
        if (report.outcome != detail::Outcome::succeeded && !report.started)
            throw std::logic_error("the bench's handler failed: " + report.error);
        if (detail::take_report(report, *producer_, *completer_, false, policy_)) settle(*report.task);
    }

    // Engine::settle, counted. The completer calls it when a write settled
    // a task; take_report returns true when the report itself settled it.
    void settle(Task& task) {
        producer_->settled(task);
        tasks_.retire(task);
        ++retired_;
    }

    // Set up before the threads start; read-only after.
    const std::size_t workers_;
    const std::size_t slots_;  // workers + prefetch
    EventBus bus_;
    detail::MetricsRegistry metrics_;  // subscribed to bus_
    const detail::StringMap<std::unique_ptr<HandlerEntry>> handlers_ = make_handlers();
    const detail::StoreSql sql_;
    const RetryPolicy policy_{};
    const detail::RunEnvironment environment_{worker_id, nullptr, &bus_, nullptr, std::type_index(typeid(void))};

    // Loop thread only.
    detail::TaskRegistry tasks_;
    BacklogClaims claims_;
    ResultConnection results_;
    std::int64_t claims_left_ = 0;
    std::int64_t retired_ = 0;

    // Benchmark thread ↔ loop.
    std::int64_t target_ = 0;  // benchmark thread
    std::atomic<std::int64_t> round_claims_{0};
    DoneCounter done_;

    LoopThread loop_;
    std::unique_ptr<detail::Executor> executor_;    // wakes loop_
    std::unique_ptr<detail::Completer> completer_;  // writes through results_
    std::unique_ptr<detail::Producer> producer_;    // claims through claims_; its timers are loop_'s
    detail::QueueState* queue_ = nullptr;           // the producer's one queue
};

constexpr std::int64_t round_jobs = 10'000;

void run(benchmark::State& state, std::size_t workers, std::size_t slots) {
    HotPath path(workers, slots);
    const auto claims = (round_jobs + static_cast<std::int64_t>(slots) - 1) / static_cast<std::int64_t>(slots);
    PerJob per_job(state);
    per_job.start();
    for (auto _ : state) path.run_round(claims);
    const auto jobs = state.iterations() * claims * static_cast<std::int64_t>(path.jobs_per_claim());
    per_job.stop(jobs);
    if (auto problem = path.miscounted(jobs)) state.SkipWithError(problem->c_str());
}

// Each iteration runs about 10,000 jobs (whole claims) through the path.
// Arguments: worker threads; slots (workers + prefetch: the rows of a claim).
void BM_HotPath(benchmark::State& state) {
    run(state, static_cast<std::size_t>(state.range(0)), static_cast<std::size_t>(state.range(1)));
}
BENCHMARK(BM_HotPath)
    ->ArgNames({"workers", "slots"})
    ->Args({1, 1})
    ->Args({2, 2})
    ->Args({8, 8})
    ->Args({1, 100})
    ->Args({2, 100})
    ->Args({8, 100})
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

// The same work on one thread: no worker threads, no hand-off to them, no
// wake-ups, no start notices (Executor::run called by the loop itself). The
// path's CPU cost without any synchronisation.
void BM_HotPathInline(benchmark::State& state) { run(state, 0, static_cast<std::size_t>(state.range(0))); }
BENCHMARK(BM_HotPathInline)->ArgName("slots")->Arg(8)->Arg(100)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace seesaw::bench
