#include "completer.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "pg.hpp"
#include "seesaw/core/events.hpp"
#include "seesaw/core/log.hpp"
#include "store_sql.hpp"
#include "worker_protocol.hpp"

namespace seesaw::detail {
namespace {

std::vector<LeaseRef> leases_of(const std::vector<Task*>& tasks) {
    std::vector<LeaseRef> leases;
    leases.reserve(tasks.size());
    for (const Task* task : tasks) leases.push_back(LeaseRef{task->id, task->attempt});
    return leases;
}

}  // namespace

Completer::Completer(Statements& database, const StoreSql& sql, const std::string& worker_id, Publisher publish,
                     Hooks hooks)
    : database_(database), sql_(sql), worker_id_(worker_id), publish_(publish), hooks_(std::move(hooks)) {}

void Completer::set_ready(bool ready) {
    ready_ = ready;
    if (ready) flush();
}

void Completer::succeeded(Task& task) { successes_.push_back(&task); }

void Completer::failed(Task& task, std::string error, FailKind kind, std::chrono::milliseconds delay,
                       std::chrono::nanoseconds duration, bool reported) {
    failures_.push_back(Failure{&task, std::move(error), kind, delay, duration, reported});
}

void Completer::release(Task& task) { releases_.push_back(&task); }

void Completer::written_in_transaction(Task& task, bool committed, bool settles) {
    if (committed) {
        publish_(JobSucceeded{task.ref(), task.run_time});
    } else if (settles && !task.job_cancelled) {
        task.lease_lost.store(true, std::memory_order_release);
        publish_(LeaseLost{task.ref(), "the handler's transaction was rolled back: the job was no longer this "
                                       "worker's when its success was to be written (its writes were not committed)"});
    }
    // Settled here, synchronously: the caller (take_report) retires it.
    if (settles) task.apply(TaskEvent::written);
}

bool Completer::idle() const noexcept {
    return successes_.empty() && failures_.empty() && releases_.empty() && results_in_flight_ == 0 &&
           !releases_in_flight_;
}

void Completer::flush() {
    flush_results();
    flush_releases();
}

void Completer::retry_refused() {
    if (!refused_) return;
    refused_ = false;
    flush();
}

void Completer::drop_waiting() {
    auto drop = [](Task* task) { task->apply(TaskEvent::dropped); };
    for (Task* task : successes_) drop(task);
    for (auto& f : failures_) drop(f.task);
    for (Task* task : releases_) drop(task);
    successes_.clear();
    failures_.clear();
    releases_.clear();
}

void Completer::flush_results() {
    if (!ready_ || refused_ || results_in_flight_ > 0) return;
    if (!successes_.empty()) {
        auto batch = std::move(successes_);
        successes_.clear();
        auto leases = leases_of(batch);
        // A result whose earlier write was cut off may be in already: write it idempotently.
        const bool again = std::any_of(batch.begin(), batch.end(), [](const Task* t) { return t->in_doubt; });
        Statement write;
        // Deleting, and no job of the batch keeps its row: a plain DELETE.
        const bool plain = sql_.delete_succeeded && !again &&
                           std::none_of(batch.begin(), batch.end(), [](const Task* t) { return t->keeps_row; });
        write.prepared_name = again ? "seesaw_succeed_again" : plain ? "seesaw_succeed_none_kept" : "seesaw_succeed";
        write.sql = again ? &sql_.succeed_again : plain ? &sql_.succeed_none_kept : &sql_.succeed;
        write.params = lease_params(leases, worker_id_);
        write.done = [this, batch = std::move(batch)](const PGresult* result, const StatementFailure* failure) mutable {
            on_successes_written(std::move(batch), result, failure);
        };
        ++results_in_flight_;
        database_.send(std::move(write));
    }
    if (!failures_.empty() && ready_) {
        auto batch = std::move(failures_);
        failures_.clear();
        const bool again = std::any_of(batch.begin(), batch.end(), [](const Failure& f) { return f.task->in_doubt; });
        Statement write;
        write.prepared_name = again ? "seesaw_fail_again" : "seesaw_fail";
        write.sql = again ? &sql_.fail_again : &sql_.fail;
        std::vector<FailureRef> refs;
        refs.reserve(batch.size());
        for (const auto& f : batch) refs.push_back(FailureRef{f.task->id, f.task->attempt, f.error, f.kind, f.delay});
        write.params = fail_params(refs, worker_id_);
        write.done = [this, batch = std::move(batch)](const PGresult* result, const StatementFailure* failure) mutable {
            on_failures_written(std::move(batch), result, failure);
        };
        ++results_in_flight_;
        database_.send(std::move(write));
    }
}

void Completer::flush_releases() {
    if (!ready_ || refused_ || releases_in_flight_ || releases_.empty()) return;
    auto batch = std::move(releases_);
    releases_.clear();
    auto leases = leases_of(batch);
    Statement release;
    release.prepared_name = "seesaw_release";
    release.sql = &sql_.release;
    release.params = lease_params(leases, worker_id_);
    release.done = [this, batch = std::move(batch)](const PGresult* result, const StatementFailure* failure) mutable {
        on_releases_written(std::move(batch), result, failure);
    };
    releases_in_flight_ = true;  // before send(): a send that fails answers at once
    database_.send(std::move(release));
}

bool Completer::keep_after(const StatementFailure& failure, const char* what, std::size_t count) {
    if (failure.kind != FailureKind::rejected) return true;
    refused_ = true;
    log(LogLevel::error, "dispatcher " + worker_id_ + ": writing " + std::to_string(count) + " " + what +
                             " failed (tried again at the next heartbeat): " + failure.message);
    return false;
}

void Completer::written(Task& task) {
    task.in_doubt = false;
    task.apply(TaskEvent::written);
    if (task.settled()) hooks_.settled(task);
}

void Completer::on_successes_written(std::vector<Task*> batch, const PGresult* result,
                                     const StatementFailure* failure) {
    --results_in_flight_;
    if (failure != nullptr) {
        keep_after(*failure, "success(es)", batch.size());
        if (failure->kind == FailureKind::in_doubt) {
            for (Task* task : batch) task->in_doubt = true;
        }
        successes_.insert(successes_.begin(), batch.begin(), batch.end());
        return;  // written again when the connection is back, or at retry_refused()
    }
    // The fence makes the returned ids a subset of the batch: when all came
    // back, all were written, and there is nothing to look up.
    const bool all_written = static_cast<std::size_t>(PQntuples(result)) == batch.size();
    std::unordered_set<JobId> written_ids;
    if (!all_written) {
        for (const auto& id : returned_ids(result)) written_ids.insert(id);
    }
    for (Task* task : batch) {
        if (all_written || written_ids.contains(task->id)) {
            publish_(JobSucceeded{task->ref(), task->run_time});
        } else if (!task->job_cancelled) {  // else JobCancelled said it
            task->lease_lost.store(true, std::memory_order_release);
            publish_(LeaseLost{task->ref(), "the job finished after its lease was lost; the success was not written"});
        }
        written(*task);
    }
    flush();
}

void Completer::on_failures_written(std::vector<Failure> batch, const PGresult* result,
                                    const StatementFailure* failure) {
    --results_in_flight_;
    if (failure != nullptr) {
        keep_after(*failure, "failure(s)", batch.size());
        if (failure->kind == FailureKind::in_doubt) {
            for (auto& f : batch) f.task->in_doubt = true;
        }
        failures_.insert(failures_.begin(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
        return;
    }
    const auto rows = decode_fail(result);
    std::unordered_map<JobId, const FailWritten*> by_id;
    by_id.reserve(rows.size());
    for (const auto& row : rows) by_id.emplace(row.id, &row);
    for (auto& f : batch) {
        Task& task = *f.task;
        auto found = by_id.find(task.id);
        if (found == by_id.end()) {
            if (!f.reported && !task.job_cancelled) {
                task.lease_lost.store(true, std::memory_order_release);
                publish_(LeaseLost{task.ref(), "the job ended after its lease was lost; its result was not written"});
            }
        } else {
            const auto& row = *found->second;
            switch (row.status) {
                case JobStatus::failed:
                    publish_(JobRetried{task.ref(), f.error, row.retry_in, f.duration});
                    hooks_.retry_due(task, row.retry_in);
                    break;
                case JobStatus::pending:
                    publish_(JobSnoozed{task.ref(), row.retry_in, f.duration});
                    hooks_.retry_due(task, row.retry_in);
                    break;
                case JobStatus::cancelled: publish_(JobCancelled{task.ref(), f.error, f.duration}); break;
                default: publish_(JobDeadLettered{task.ref(), f.error, f.duration});
            }
        }
        written(task);
    }
    flush();
}

void Completer::on_releases_written(std::vector<Task*> batch, const PGresult* result,
                                    const StatementFailure* failure) {
    releases_in_flight_ = false;
    if (failure != nullptr) {
        keep_after(*failure, "hand-back(s)", batch.size());
        releases_.insert(releases_.begin(), batch.begin(), batch.end());
        return;
    }
    // A hand-back that found the job no longer ours is settled all the same.
    released_ += static_cast<std::size_t>(PQntuples(result));
    for (Task* task : batch) written(*task);
    flush();
}

}  // namespace seesaw::detail
