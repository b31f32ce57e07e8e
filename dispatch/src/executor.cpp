#include "executor.hpp"

#include <array>

#include "seesaw/core/error.hpp"
#include "seesaw/core/events.hpp"
#include "seesaw/core/limits.hpp"
#include "seesaw/dispatch/dispatcher.hpp"
#include "seesaw/store/local_runner.hpp"
#include "store_sql.hpp"

namespace seesaw::detail {
namespace {

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

Executor::Executor(const RunEnvironment& environment, std::function<void()> wake)
    : environment_(environment), wake_(std::move(wake)) {}

Executor::~Executor() {
    finish();
    join();
}

void Executor::start(const std::vector<std::size_t>& workers) {
    std::size_t total = 0;
    for (auto n : workers) total += n;
    live_.store(static_cast<int>(total), std::memory_order_release);
    for (std::size_t q = 0; q < workers.size(); ++q) pools_.push_back(std::make_unique<Pool>());
    for (std::size_t q = 0; q < workers.size(); ++q) {
        for (std::size_t i = 0; i < workers[q]; ++i)
            pools_[q]->threads.emplace_back([this, pool = pools_[q].get()] { worker_main(*pool); });
    }
}

void Executor::hand_over(std::size_t queue, std::span<Task* const> tasks) {
    if (!tasks.empty()) pools_.at(queue)->tasks.enqueue_bulk(tasks.begin(), tasks.size());
}

std::vector<Task*> Executor::take_back(std::size_t queue) {
    std::vector<Task*> taken;
    Task* task = nullptr;
    while (pools_.at(queue)->tasks.try_dequeue(task)) {
        if (task != nullptr) taken.push_back(task);
    }
    return taken;
}

bool Executor::on_worker_thread() const noexcept {
    const auto me = std::this_thread::get_id();
    for (const auto& pool : pools_) {
        for (const auto& thread : pool->threads) {
            if (thread.get_id() == me) return true;
        }
    }
    return false;
}

void Executor::finish() {
    for (auto& pool : pools_) {
        for (std::size_t i = 0; i < pool->threads.size(); ++i) pool->tasks.enqueue(nullptr);
    }
}

void Executor::join() {
    for (auto& pool : pools_) {
        for (auto& thread : pool->threads) {
            if (thread.joinable()) thread.join();
        }
    }
}

void Executor::worker_main(Pool& pool) {
    moodycamel::ProducerToken token(reports_);
    moodycamel::ConsumerToken consumer(pool.tasks);
    Task* task = nullptr;
    while (true) {
        pool.tasks.wait_dequeue(consumer, task);
        if (task == nullptr) break;
        Report report;
        report.task = task;
        if (task->cancelled.load(std::memory_order_acquire) ||
            steady_ns() > task->start_deadline_ns.load(std::memory_order_acquire)) {
            // Lost while it waited, or it waited so long (the dispatcher was
            // stopped or cut off) that its lease may have expired: do not
            // start it.
            report.outcome = Outcome::skipped;
        } else {
            if (task->ticket != 0) {
                // Held ahead of the workers: tell the loop it started (see
                // StartWatermark) before it runs. No wake-up of its own: the
                // loop reads it with the outcome, or at its next rate tick.
                reports_.enqueue(token, Report{task, true, Outcome::skipped, {}, {}, {}});
            }
            run(*task, report);
        }
        reports_.enqueue(token, std::move(report));
        wake_();
    }
    // The goodbye: the loop closes its wake-up once every worker is gone.
    live_.fetch_sub(1, std::memory_order_acq_rel);
    wake_();
}

void Executor::run(Task& task, Report& report) const {
    const auto started = steady_ns();
    task.started_ns.store(started, std::memory_order_release);
    if (environment_.bus != nullptr && environment_.bus->has_subscribers<JobStarted>())
        environment_.bus->publish(JobStarted{task.ref(), task.created_at, task.run_at});
    JobContext ctx(task, environment_);
    try {
        if (task.handler->invoke_in_transaction) {
            report.outcome = run_in_transaction(task, ctx);
        } else {
            task.handler->invoke(task.payload, ctx);
            report.outcome = Outcome::succeeded;
        }
    } catch (const PermanentError& e) {
        report.outcome = Outcome::permanent;
        report.error = e.what();
    } catch (const PayloadError& e) {
        // A payload that does not decode will never decode: dead letter.
        report.outcome = Outcome::permanent;
        report.error = e.what();
    } catch (const RetryableError& e) {
        report.outcome = Outcome::retryable;
        report.error = e.what();
        report.retry_in = e.retry_in();
    } catch (const Snooze& e) {
        const auto limit = task.handler->options.max_snoozes.value_or(default_max_snoozes);
        if (task.snoozes >= limit) {
            // Past the type's limit: a failed attempt like any other.
            report.outcome = Outcome::retryable;
            report.error = "snoozed again after " + std::to_string(task.snoozes) + " snooze(s), the limit (max_snoozes " +
                           std::to_string(limit) + ") for job type '" + task.handler->job_type +
                           "': this run counts as a failed attempt";
        } else {
            report.outcome = Outcome::snoozed;
            report.retry_in = e.delay();
        }
    } catch (const CancelJob& e) {
        report.outcome = Outcome::cancelled;
        report.error = e.what();
    } catch (const std::exception& e) {
        report.outcome = Outcome::retryable;
        report.error = e.what();
    } catch (...) {
        report.outcome = Outcome::retryable;
        report.error = "the handler threw an exception that is not a std::exception";
    }
    if ((report.outcome == Outcome::retryable || report.outcome == Outcome::permanent) && report.error.empty())
        report.error = "the handler failed without a message";
    if (report.outcome == Outcome::cancelled && report.error.empty()) report.error = "cancelled by its handler";
    report.duration = std::chrono::nanoseconds(steady_ns() - started);
}

Outcome Executor::run_in_transaction(Task& task, JobContext& ctx) const {
    auto& store = *environment_.store;
    auto connection = store.pool().acquire();
    Transaction transaction(*connection);
    TransactionAccess::set_managed(transaction, true);
    task.handler->invoke_in_transaction(task.payload, ctx, transaction);
    if (TransactionAccess::ended(transaction) || !connection->in_transaction()) {
        throw std::runtime_error(
            "the handler ended its transaction itself (COMMIT or ROLLBACK); the dispatcher commits it with the "
            "job's success, so that both commit or neither does");
    }
    if (task.cancelled.load(std::memory_order_acquire)) return Outcome::fenced;  // ~Transaction rolls back
    const auto& sql = store.sql();
    const std::string id = task.id.to_string();
    const std::string attempt = std::to_string(task.attempt);
    const std::array<Param, 3> params{Param(id), Param(attempt), Param(environment_.worker_id)};
    auto fenced = store.with_prepared(*connection, [&](bool prepare) {
        return prepare ? connection->execute_prepared(sql.succeed_in_transaction_name, sql.succeed_in_transaction, params)
                       : connection->execute(sql.succeed_in_transaction, params);
    });
    if (fenced.rows() == 0) return Outcome::fenced;  // not ours any more: ~Transaction rolls back
    const std::string xid(fenced.get(0, 0));
    try {
        TransactionAccess::commit(transaction);
    } catch (const InDoubtError& e) {
        return resolve_commit(task, xid, e.what());
    }
    return Outcome::committed;
}

Outcome Executor::resolve_commit(const Task& task, const std::string& xid, const std::string& lost) const {
    // The server knows: ask it (on another connection) until the
    // transaction is no longer in progress, for as long as the lease lasts.
    auto& store = *environment_.store;
    const auto deadline = std::max<std::int64_t>(task.start_deadline_ns.load(std::memory_order_acquire),
                                                 steady_ns() + std::chrono::nanoseconds(std::chrono::seconds(10)).count());
    auto pause = std::chrono::milliseconds(5);
    std::string last_error = lost;
    while (steady_ns() < deadline) {
        try {
            auto connection = store.pool().acquire();
            auto status = connection->execute(store.sql().transaction_status, {Param(xid)});
            const auto answer = status.get_optional(0, 0);
            if (answer == "committed") return Outcome::committed;
            if (answer == "aborted") {
                throw std::runtime_error("the connection was lost during COMMIT (" + lost +
                                         ") and the server rolled the transaction back: nothing of this run was written");
            }
            if (!answer) break;  // too old to know (cannot happen within a lease)
        } catch (const ConnectionError& e) {
            last_error = e.what();
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    }
    // Still unknown: the failure written for it is fenced like any result —
    // if the transaction did commit, the job is succeeded and the write
    // finds it so and changes nothing.
    throw std::runtime_error("the connection was lost during COMMIT and what became of the transaction could not be "
                             "learned (" + last_error + ")");
}

}  // namespace seesaw::detail

namespace seesaw {

// --- JobContext ---------------------------------------------------------------

const JobId& JobContext::id() const noexcept { return task_.id; }
std::string_view JobContext::job_type() const noexcept { return task_.handler->job_type; }
std::string_view JobContext::queue() const noexcept { return task_.queue_name(); }
std::int32_t JobContext::attempt() const noexcept { return task_.attempt; }
std::int32_t JobContext::max_retries() const noexcept { return task_.max_retries; }
std::int32_t JobContext::snoozes() const noexcept { return task_.snoozes; }
void JobContext::snooze(std::chrono::milliseconds delay) const { throw Snooze(delay); }
std::int32_t JobContext::version() const noexcept { return task_.version; }
Timestamp JobContext::created_at() const noexcept { return task_.created_at; }
Timestamp JobContext::run_at() const noexcept { return task_.run_at; }
std::string_view JobContext::payload() const noexcept { return task_.payload; }
const std::string& JobContext::worker_id() const noexcept { return environment_.worker_id; }
bool JobContext::cancelled() const noexcept { return task_.cancelled.load(std::memory_order_acquire); }
bool JobContext::lease_lost() const noexcept { return task_.lease_lost.load(std::memory_order_acquire); }
PgJobStore& JobContext::store() const noexcept { return *environment_.store; }
EventBus& JobContext::events() const noexcept { return *environment_.bus; }
std::pair<void*, std::type_index> JobContext::deps_any() const noexcept {
    return {environment_.deps, environment_.deps_type};
}

}  // namespace seesaw
