// The completer: results come back from the workers through a lock-free queue
// and are written in batches, one fenced statement per kind per flush, on a
// connection that commits durably. While one flush is in flight, results pile
// up for the next: the batch grows with the load. A result that cannot be
// written (the connection is down) is kept and written after the reconnect.
#include <algorithm>

#include "engine.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw::detail {
namespace {

bool is_connection_error(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const ConnectionError&) {
        return true;
    } catch (...) {
        return false;
    }
}

std::string describe(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown error";
    }
}

// $1 ids, $2 attempts of a batch of tasks. Sorts the batch by id first:
// every statement that updates held jobs (results, heartbeats, releases, on
// two connections) then locks rows in the same order and none can deadlock
// with another.
template <class Range, class TaskOf>
std::vector<std::string> lease_params(Range& items, TaskOf task_of, const std::string& worker_id) {
    std::sort(items.begin(), items.end(),
              [&](const auto& a, const auto& b) { return task_of(a)->id < task_of(b)->id; });
    pg::ArrayLiteral ids, attempts;
    ids.reserve(items.size() * 37 + 2);
    for (const auto& item : items) {
        const Task* task = task_of(item);
        ids.add(task->id);
        attempts.add(std::int64_t{task->attempt});
    }
    return {std::move(ids).finish(), std::move(attempts).finish(), worker_id};
}

}  // namespace

void Engine::open_complete_connection() {
    PgConnection::Callbacks callbacks;
    callbacks.connected = [this] {
        complete_->send({"", &generic_plans, {}, {}, [this](PGresult*, std::exception_ptr error) {
                             if (error) return;  // lost again; it reconnects
                             complete_ready_ = true;
                             announce_if_reconnected(*complete_, "result");
                             flush_completions();
                             flush_releases();
                         }});
    };
    callbacks.lost = [this](const std::string& error) {
        complete_ready_ = false;
        publish(Disconnected{complete_->name(), error});
    };
    complete_ = std::make_unique<PgConnection>(&loop_, "complete", store_.pool().conninfo(), std::move(callbacks));
    complete_->open();
}

void Engine::drain_completions() {
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

void Engine::on_completion(Completion& completion) {
    Task* task = completion.task;
    if (completion.outcome == Outcome::started) {
        task->queue->progress.pass(task->ticket);
        return;
    }
    --task->queue->held;
    ++task->queue->completed_in_window;
    task->handler_done = true;
    task->run_time = completion.duration;
    if (completion.outcome == Outcome::skipped && !task->abandoned && !task->settled && phase_ != Phase::closing) {
        // Not started (its lease may have run out while it waited): hand it back.
        release_pending_.push_back(task);
        flush_releases();
        return;
    }
    if (phase_ == Phase::closing || task->abandoned || completion.outcome == Outcome::skipped) {
        // Lost, timed out or interrupted: the late result is not written. A
        // lost lease settled the task already; a timeout or an interrupted
        // stop settles it once its failure is written (that write still
        // refers to the task).
        if (phase_ == Phase::closing) task->settled = true;
        retire_if_done(task);
        return;
    }
    switch (completion.outcome) {
        case Outcome::succeeded: succeed_pending_.push_back(task); break;
        case Outcome::retryable:
        case Outcome::permanent:
            fail_pending_.push_back(FailRecord{
                task, std::move(completion.error),
                completion.outcome == Outcome::permanent ? ErrorKind::non_retryable : ErrorKind::retryable,
                retry_delay(*task), completion.duration, false});
            break;
        case Outcome::skipped:
        case Outcome::started: break;
    }
}

std::chrono::milliseconds Engine::retry_delay(const Task& task) const {
    const auto& policy = task.handler->options.retry_policy ? *task.handler->options.retry_policy
                                                            : options_.retry_policy;
    return policy.delay(task.attempt);
}

void Engine::flush_completions() {
    if (writes_in_flight_ > 0 || !complete_ready_) return;
    if (!succeed_pending_.empty()) {
        auto batch = std::move(succeed_pending_);
        succeed_pending_.clear();
        PgConnection::Statement write;
        // A result whose earlier write was cut off may be in already: write it idempotently.
        const bool again = std::any_of(batch.begin(), batch.end(), [](const Task* t) { return t->write_unknown; });
        write.prepared_name = again ? "seesaw_succeed_again" : "seesaw_succeed";
        write.sql = again ? &sql_->worker_succeed_again : &sql_->worker_succeed;
        write.params = lease_params(batch, [](const Task* t) { return t; }, worker_id_);
        write.done = [this, batch = std::move(batch)](PGresult* result, std::exception_ptr error) mutable {
            on_succeed_written(std::move(batch), result, error);
        };
        ++writes_in_flight_;
        complete_->send(std::move(write));
    }
    if (!fail_pending_.empty() && complete_ready_) {
        auto batch = std::move(fail_pending_);
        fail_pending_.clear();
        PgConnection::Statement write;
        const bool again = std::any_of(batch.begin(), batch.end(), [](const FailRecord& f) { return f.task->write_unknown; });
        write.prepared_name = again ? "seesaw_fail_again" : "seesaw_fail";
        write.sql = again ? &sql_->worker_fail_again : &sql_->worker_fail;
        write.params = lease_params(batch, [](const FailRecord& f) { return f.task; }, worker_id_);
        pg::ArrayLiteral errors, kinds, delays;
        for (const auto& f : batch) {
            errors.add(f.error);
            kinds.add(to_string(f.kind));
            delays.add(static_cast<std::int64_t>(f.delay.count()));
        }
        write.params.push_back(std::move(errors).finish());
        write.params.push_back(std::move(kinds).finish());
        write.params.push_back(std::move(delays).finish());
        write.done = [this, batch = std::move(batch)](PGresult* result, std::exception_ptr error) mutable {
            on_fail_written(std::move(batch), result, error);
        };
        ++writes_in_flight_;
        complete_->send(std::move(write));
    }
}

void Engine::on_succeed_written(std::vector<Task*> batch, PGresult* result, std::exception_ptr error) {
    --writes_in_flight_;
    if (error) {
        // Keep them; a connection loss is retried idempotently after the
        // reconnect, anything else at the next heartbeat.
        if (is_connection_error(error)) {
            for (Task* task : batch) task->write_unknown = true;
        } else {
            log(LogLevel::error, "dispatcher " + worker_id_ + ": writing " + std::to_string(batch.size()) +
                                     " success(es) failed: " + describe(error));
        }
        succeed_pending_.insert(succeed_pending_.begin(), batch.begin(), batch.end());
        return;
    }
    // The fence makes the returned ids a subset of the batch: when all came
    // back, all were written, and there is nothing to look up.
    const bool all_written = static_cast<std::size_t>(PQntuples(result)) == batch.size();
    std::unordered_set<JobId> written;
    if (!all_written) {
        written.reserve(static_cast<std::size_t>(PQntuples(result)));
        for (int row = 0; row < PQntuples(result); ++row) written.insert(JobId::parse(pg::value(result, row, 0)));
    }
    for (Task* task : batch) {
        if (all_written || written.contains(task->id)) {
            publish(JobSucceeded{task->ref(), task->run_time});
        } else {
            task->lease_lost.store(true, std::memory_order_release);
            publish(LeaseLost{task->ref(), "the job finished after its lease was lost; the success was not written"});
        }
        task->settled = true;
        retire_if_done(task);
    }
    flush_completions();
    maybe_finish_stop();
}

void Engine::on_fail_written(std::vector<FailRecord> batch, PGresult* result, std::exception_ptr error) {
    --writes_in_flight_;
    if (error) {
        if (is_connection_error(error)) {
            for (auto& f : batch) f.task->write_unknown = true;
        } else {
            log(LogLevel::error, "dispatcher " + worker_id_ + ": writing " + std::to_string(batch.size()) +
                                     " failure(s) failed: " + describe(error));
        }
        fail_pending_.insert(fail_pending_.begin(), std::make_move_iterator(batch.begin()),
                             std::make_move_iterator(batch.end()));
        return;
    }
    std::unordered_map<JobId, int> rows;
    for (int row = 0; row < PQntuples(result); ++row) rows.emplace(JobId::parse(pg::value(result, row, 0)), row);
    for (auto& f : batch) {
        Task* task = f.task;
        auto found = rows.find(task->id);
        if (found == rows.end()) {
            if (!f.published) {
                task->lease_lost.store(true, std::memory_order_release);
                publish(LeaseLost{task->ref(), "the job failed after its lease was lost; the failure was not written"});
            }
        } else if (pg::value(result, found->second, 1) == "failed") {
            auto delay = std::chrono::milliseconds(pg::to_int<std::int64_t>(pg::value(result, found->second, 3)));
            publish(JobRetried{task->ref(), f.error, delay, f.duration});
            // This dispatcher knows when the retry is due: wake up then.
            arm_due_timer(*task->queue, delay);
        } else {
            publish(JobDeadLettered{task->ref(), f.error, f.duration});
        }
        task->settled = true;
        retire_if_done(task);
    }
    flush_completions();
    maybe_finish_stop();
}

void Engine::flush_releases() {
    if (release_in_flight_ || release_pending_.empty() || !complete_ready_) return;
    auto batch = std::move(release_pending_);
    release_pending_.clear();
    PgConnection::Statement release;
    release.prepared_name = "seesaw_release";
    release.sql = &sql_->worker_release;
    release.params = lease_params(batch, [](const Task* t) { return t; }, worker_id_);
    release.done = [this, batch = std::move(batch)](PGresult* result, std::exception_ptr error) mutable {
        release_in_flight_ = false;
        if (error) {
            release_pending_.insert(release_pending_.begin(), batch.begin(), batch.end());
            return;
        }
        released_ += static_cast<std::size_t>(PQntuples(result));
        for (Task* task : batch) {
            task->settled = true;
            retire_if_done(task);
        }
        flush_releases();
        maybe_finish_stop();
    };
    release_in_flight_ = true;  // before send(): a failed send answers at once
    complete_->send(std::move(release));
}

void Engine::retire_if_done(Task* task) {
    if (!task->handler_done || !task->settled) return;
    // Started, or no longer ours: either way the watermark may pass it.
    if (task->ticket != 0) task->queue->progress.pass(task->ticket);
    in_flight_.erase(task->serial);
}

}  // namespace seesaw::detail
