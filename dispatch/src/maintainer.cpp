#include "maintainer.hpp"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "completer.hpp"
#include "pg.hpp"
#include "seesaw/core/events.hpp"
#include "seesaw/core/log.hpp"
#include "seesaw/dispatch/dispatcher.hpp"
#include "store_sql.hpp"
#include "timing.hpp"
#include "worker_protocol.hpp"

namespace seesaw::detail {
namespace {

std::int64_t steady_ns(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

bool holds_lease(TaskState state) {
    switch (state) {
        case TaskState::waiting:
        case TaskState::running:
        case TaskState::writing:
        case TaskState::releasing:
        case TaskState::timed_out: return true;
        default: return false;
    }
}

}  // namespace

Maintainer::Maintainer(uv_loop_t* loop, Statements& database, const StoreSql& sql, TaskRegistry& tasks,
                       Completer& completer, Publisher publish, Settings settings, Hooks hooks)
    : database_(database),
      sql_(sql),
      tasks_(tasks),
      completer_(completer),
      publish_(publish),
      settings_(std::move(settings)),
      hooks_(std::move(hooks)),
      reclaims_per_housekeeping_(static_cast<std::uint32_t>(
          std::max<std::int64_t>(1, timing::housekeeping_interval / std::max(settings_.reclaim_interval,
                                                                             std::chrono::milliseconds(1))))),
      leadership_(loop, database, sql,
                  Leadership::Settings{settings_.worker_id, settings_.leader_ttl,
                                       Leadership::renew_interval_for(settings_.reclaim_interval,
                                                                      settings_.leader_ttl)},
                  Leadership::Hooks{[this](std::int64_t term) { set_leader(true, term); },
                                    [this](std::int64_t term, std::string_view why) {
                                        set_leader(false, term, why);
                                    }}) {}

void Maintainer::set_ready(bool ready, bool reconnected) {
    ready_ = ready;
    if (ready && reconnected) heartbeat();
    // Ready: try for leadership at once — a dispatcher that starts (or
    // comes back) alone should not leave expired leases, periodic slots or
    // retention waiting for a tick.
    leadership_.set_ready(ready);
}

void Maintainer::set_leader(bool leader, std::int64_t term, std::string_view why) {
    publish_(LeadershipChanged{leader});
    if (leader) {
        log(LogLevel::info, "dispatcher " + settings_.worker_id + " is the maintenance leader of schema " +
                                settings_.schema + " (term " + std::to_string(term) + ")");
    } else {
        log(LogLevel::info, "dispatcher " + settings_.worker_id + " is no longer the maintenance leader of schema " +
                                settings_.schema + " (term " + std::to_string(term) + "): " + std::string(why));
    }
    if (hooks_.leading) hooks_.leading(leader, term);
    if (leader && !reclaim_in_flight_) reclaim();
}

bool Maintainer::still_leading(const PGresult* result, std::int64_t term) {
    if (pg::value(result, 0, 0) == "t") return true;
    leadership_.fenced_out(term);
    return false;
}

void Maintainer::heartbeat() {
    const auto now = std::chrono::steady_clock::now();
    std::vector<Task*> extend;
    extend.reserve(tasks_.size());
    std::vector<Task*> expired;
    tasks_.for_each([&](Task& task) {
        if (!holds_lease(task.state)) return;
        const auto& timeout = task.handler != nullptr ? task.handler->options.timeout : std::nullopt;
        const auto started = task.started_ns.load(std::memory_order_acquire);
        if (timeout && started > 0 && (task.state == TaskState::waiting || task.state == TaskState::running) &&
            std::chrono::nanoseconds(steady_ns(now) - started) > *timeout) {
            expired.push_back(&task);
        }
        extend.push_back(&task);
    });
    for (Task* task : expired) {
        time_out(*task, "timed out: the handler ran longer than " +
                            std::to_string(task->handler->options.timeout->count()) + " ms");
    }
    // Writes the server refused are tried again here.
    completer_.retry_refused();
    completer_.flush();

    if (extend.empty() || heartbeat_in_flight_ || !ready_) return;
    std::vector<LeaseRef> leases;
    leases.reserve(extend.size());
    for (const Task* task : extend) leases.push_back(LeaseRef{task->id, task->attempt});
    // Tasks may be retired while the heartbeat is in flight: remember them by serial.
    std::vector<std::uint64_t> sent;
    sent.reserve(extend.size());
    for (const Task* task : extend) sent.push_back(task->serial);
    Statement statement;
    statement.prepared_name = "seesaw_heartbeat";
    statement.sql = &sql_.heartbeat;
    statement.params = heartbeat_params(leases, settings_.worker_id, settings_.lease);
    statement.done = [this, sent = std::move(sent), now](const PGresult* result, const StatementFailure* failure) {
        heartbeat_in_flight_ = false;
        if (failure != nullptr) return;  // the next tick tries again
        const auto lease = settings_.lease;
        const auto start_deadline = steady_ns(now + lease - lease / timing::lease_margin_divisor);
        // (id, attempt): a lost run and the retry of the same job may both be here.
        const auto returned = returned_leases(result);
        const std::set<LeaseRef> extended(returned.begin(), returned.end());
        const auto cancelled_rows = cancelled_leases(result);
        const std::set<LeaseRef> cancelled(cancelled_rows.begin(), cancelled_rows.end());
        for (auto serial : sent) {
            Task* task = tasks_.find(serial);
            if (task == nullptr) continue;
            if (extended.contains(LeaseRef{task->id, task->attempt})) {
                task->start_deadline_ns.store(start_deadline, std::memory_order_release);
                continue;
            }
            if (cancelled.contains(LeaseRef{task->id, task->attempt})) {
                cancel(*task);  // the control channel's notice did not reach us
                continue;
            }
            // A job whose result or hand-back is being written: the write reports it.
            if (task->state == TaskState::waiting || task->state == TaskState::running)
                lose_lease(*task, "the lease was reclaimed before the heartbeat could extend it");
        }
    };
    heartbeat_in_flight_ = true;  // before send(): a send that fails answers at once
    database_.send(std::move(statement));
}

void Maintainer::time_out(Task& task, const std::string& reason) {
    task.apply(TaskEvent::started);
    task.apply(TaskEvent::timed_out);
    task.lease_lost.store(true, std::memory_order_release);
    task.cancelled.store(true, std::memory_order_release);
    publish_(LeaseLost{task.ref(), reason});
    completer_.failed(task, reason, FailKind::retryable, hooks_.retry_delay(task), {}, true);
}

void Maintainer::interrupt_running(std::chrono::milliseconds grace) {
    std::size_t interrupted = 0;
    const std::string reason = "interrupted: the dispatcher stopped and the handler did not finish within the grace "
                               "period of " + std::to_string(grace.count()) + " ms";
    tasks_.for_each([&](Task& task) {
        if (!task.started() || (task.state != TaskState::waiting && task.state != TaskState::running)) return;
        task.apply(TaskEvent::started);
        task.apply(TaskEvent::timed_out);
        task.cancelled.store(true, std::memory_order_release);
        completer_.failed(task, reason, FailKind::retryable, hooks_.retry_delay(task), {}, false);
        ++interrupted;
    });
    if (interrupted > 0) {
        log(LogLevel::warn, "dispatcher " + settings_.worker_id + ": " + std::to_string(interrupted) +
                                " handler(s) still running after the grace period; their jobs are failed as "
                                "retryable and the handlers see ctx.cancelled()");
    }
    completer_.flush();
}

void Maintainer::lose_lease(Task& task, std::string_view reason) {
    task.apply(TaskEvent::lease_lost);
    task.lease_lost.store(true, std::memory_order_release);
    task.cancelled.store(true, std::memory_order_release);
    publish_(LeaseLost{task.ref(), reason});
    log(LogLevel::warn, "dispatcher " + settings_.worker_id + ": lost the lease of job " + task.id.to_string() + " (" +
                            std::string(task.handler->job_type) + "): " + std::string(reason));
}

void Maintainer::cancelled(const std::vector<JobId>& ids) {
    if (ids.empty()) return;
    const std::set<JobId> wanted(ids.begin(), ids.end());
    std::vector<Task*> found;
    tasks_.for_each([&](Task& task) {
        if (wanted.contains(task.id)) found.push_back(&task);
    });
    for (Task* task : found) cancel(*task);
}

void Maintainer::cancel(Task& task) {
    if (task.job_cancelled || task.handler == nullptr || !holds_lease(task.state)) return;
    task.job_cancelled = true;
    task.apply(TaskEvent::lease_lost);  // a result being written is fenced out
    task.lease_lost.store(true, std::memory_order_release);
    task.cancelled.store(true, std::memory_order_release);
    publish_(JobCancelled{task.ref(), "cancelled while this dispatcher held it", {}});
    log(LogLevel::info, "dispatcher " + settings_.worker_id + ": job " + task.id.to_string() + " (" +
                            std::string(task.handler->job_type) + ") was cancelled" +
                            (task.started() ? "; its handler sees ctx.cancelled()" : " before it started"));
}

void Maintainer::reclaim_tick() {
    if (!ready_ || reclaim_in_flight_ || !leadership_.leading()) return;
    reclaim();
}

void Maintainer::reclaim() {
    const auto term = leadership_.term();
    if (term == 0) return;
    const auto& policy = settings_.reclaim_backoff;
    reclaim_in_flight_ = true;
    database_.send({"seesaw_reclaim", &sql_.leader_reclaim,
                    {std::to_string(maintenance_batch), std::to_string(policy.base.count()),
                     std::to_string(policy.cap.count()), settings_.schema, settings_.worker_id, std::to_string(term)},
                    {},
                    [this, term](const PGresult* result, const StatementFailure* failure) {
                        reclaim_in_flight_ = false;
                        if (failure != nullptr || !still_leading(result, term)) return;
                        const auto n = pg::to_int<std::int64_t>(pg::value(result, 0, 1));
                        if (n > 0) {
                            log(LogLevel::info, "dispatcher " + settings_.worker_id + " reclaimed " +
                                                    std::to_string(n) + " job(s) whose lease expired");
                            hooks_.reclaimed();
                        }
                        if (n >= maintenance_batch) {
                            reclaim();  // more expired than one batch
                            return;
                        }
                        if (++reclaims_ % reclaims_per_housekeeping_ == 0) housekeeping(term);
                    }});
}

void Maintainer::housekeeping(std::int64_t term) {
    // Keep the stats() change rows few, and forget the listener and progress
    // rows of dispatchers that died.
    auto fenced = [this, term](const PGresult* result, const StatementFailure* failure) {
        if (failure == nullptr) still_leading(result, term);
    };
    const auto& id = settings_.worker_id;
    const auto term_text = std::to_string(term);
    database_.send({"", &sql_.leader_compact_stats, {id, term_text}, {}, fenced});
    database_.send(
        {"", &sql_.expire_listeners, {std::to_string(timing::listener_expiry.count()), id, term_text}, {}, fenced});
    database_.send(
        {"", &sql_.expire_progress, {std::to_string(timing::progress_expiry.count()), id, term_text}, {}, fenced});
}

}  // namespace seesaw::detail
