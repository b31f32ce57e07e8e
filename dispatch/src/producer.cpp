// The producer: claims due jobs for each queue on the work connection, as many
// as the queue has free slots, and hands them to the queue's workers. It is
// woken by notifications, by freed slots while there may be more work, by the
// jittered poll, and by a timer set for the next scheduled job.
#include <algorithm>

#include "engine.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw::detail {

// The same few statements run thousands of times, so they are planned once
// (generic plans). A generic plan made while the table was tiny would scan it
// sequentially forever after; every statement here has an index to use, so
// sequential scans are ruled out and the plans hold at any table size. The
// penalty that rules them out inflates the cost of the few statements that
// must scan (a one-row sequence) past jit_above_cost, and compiling them took
// 5-90 ms on the connection that claims: JIT is off, it never pays for
// statements this short.
const std::string generic_plans =
    "SELECT set_config('plan_cache_mode', 'force_generic_plan', false), set_config('enable_seqscan', 'off', false),"
    " set_config('jit', 'off', false)";

void Engine::open_work_connection() {
    PgConnection::Callbacks callbacks;
    callbacks.connected = [this] {
        // Claims and heartbeats only ever return a job to the queue if lost in
        // a crash, so they may commit asynchronously (results never do).
        work_->send({"", &generic_plans, {}, {}, [](PGresult*, std::exception_ptr) {}});
        static const std::string async_commit = "SET synchronous_commit = off";
        work_->send({"", &async_commit, {}, {}, [this](PGresult*, std::exception_ptr error) {
                         if (error) return;  // the connection is lost again; it reconnects
                         work_ready_ = true;
                         announce_if_reconnected(*work_, "claim");
                         if (claim_in_doubt_) release_unknown_claims();
                         // A server crash may have lost what was written
                         // asynchronously: progress and lease extensions.
                         for (auto& q : queues_) q->progress.forget_recorded();
                         flush_progress();
                         if (work_->reconnects() > 0) on_heartbeat_tick();
                         // Catch up on whatever was inserted while we could not claim.
                         for (auto& q : queues_) {
                             q->due_check = true;
                             q->wake = WakeMode::unregistered;
                         }
                         wake_all_queues();
                         arm_all_if_ready();
                     }});
    };
    callbacks.lost = [this](const std::string& error) {
        work_ready_ = false;
        leader_ = false;  // the advisory lock went with the session
        publish(Disconnected{work_->name(), error});
    };
    work_ = std::make_unique<PgConnection>(&loop_, "claim", store_.pool().conninfo(), std::move(callbacks));
    work_->open();
}

void Engine::release_unknown_claims() {
    // Sent before any new claim on this connection, so it can only find
    // jobs of the claim that was cut off.
    claim_in_doubt_ = false;
    pg::ArrayLiteral held;
    held.reserve(in_flight_.size() * 37 + 2);
    for (const auto& [serial, task] : in_flight_) held.add(task->id);
    work_->send({"", &sql_->release_unknown, {worker_id_, std::move(held).finish()}, {},
                 [this](PGresult* result, std::exception_ptr error) {
                     if (error) {
                         claim_in_doubt_ = true;  // lost again: try after the next reconnect
                         return;
                     }
                     if (const int n = PQntuples(result); n > 0) {
                         log(LogLevel::info, "dispatcher " + worker_id_ + ": handed back " + std::to_string(n) +
                                                 " job(s) of a claim whose reply the lost connection took");
                     }
                 }});
}

QueueState* Engine::find_queue(std::string_view name) noexcept {
    for (auto& q : queues_)
        if (q->name == name) return q.get();
    return nullptr;
}

void Engine::wake_queue(QueueState& queue) {
    queue.wanted = true;
    try_claim(queue);
}

void Engine::wake_all_queues() {
    for (auto& q : queues_) wake_queue(*q);
}

void Engine::try_claim(QueueState& queue) {
    if (phase_ != Phase::running || !work_ready_ || !queue.wanted) return;
    if (queue.claim_in_flight) {
        queue.claim_again = true;  // one more claim when this one returns
        return;
    }
    if (queue.held >= queue.capacity) return;  // a freed slot claims again (wanted stays set)
    const std::size_t limit = queue.capacity - queue.held;
    // Jobs the workers take at once count as started with the claim; the
    // rest wait in memory with tickets (StartWatermark). A claim in flight
    // is the queue's only one, so no worker frees up for it in between
    // without seeing it: held only falls until the claim returns.
    const std::size_t free_workers = std::min(limit, queue.workers > queue.held ? queue.workers - queue.held : 0);
    const std::int64_t ticket_base = queue.next_ticket;
    queue.next_ticket += static_cast<std::int64_t>(limit);
    queue.claim_in_flight = true;
    queue.claim_again = false;
    queue.claim_sent_at = SteadyClock::now();
    PgConnection::Statement claim;
    claim.prepared_name = "seesaw_claim";
    claim.sql = &sql_->claim;
    claim.params = {worker_id_,   queue.name,           std::to_string(limit),       job_types_literal_, lease_ms_,
                    std::to_string(free_workers), std::to_string(ticket_base), options_.durable_claims ? "on" : "off"};
    claim.done = [this, &queue, limit, free_workers](PGresult* result, std::exception_ptr error) {
        queue.claim_in_flight = false;
        if (error) {
            // A lost connection claims again when it is back; an SQL error at
            // the next poll (no hot loop on a broken schema).
            try {
                std::rethrow_exception(error);
            } catch (const ConnectionError&) {
                claim_in_doubt_ = true;  // it may have committed: see release_unknown_claims
            } catch (const std::exception& e) {
                log(LogLevel::error, "dispatcher " + worker_id_ + ": claim on queue '" + queue.name +
                                         "' failed: " + e.what());
            }
            maybe_finish_stop();
            return;
        }
        on_claimed(queue, limit, free_workers, result);
    };
    work_->send(std::move(claim));
}

void Engine::on_claimed(QueueState& queue, std::size_t limit, std::size_t free_workers, PGresult* result) {
    const int rows = PQntuples(result);
    const double rtt = std::chrono::duration<double>(SteadyClock::now() - queue.claim_sent_at).count();
    queue.claim_seconds = 0.8 * queue.claim_seconds + 0.2 * rtt;
    // UPDATE ... RETURNING loses the claim's order: restore it (the workers
    // take jobs in this order, and the tickets follow it).
    std::vector<std::pair<std::int64_t, int>> order;
    order.reserve(static_cast<std::size_t>(rows));
    for (int row = 0; row < rows; ++row) order.emplace_back(pg::to_int<std::int64_t>(pg::value(result, row, claim_order)), row);
    std::sort(order.begin(), order.end());
    // The lease as this dispatcher may rely on it: from when the claim was
    // sent, less a margin for the clocks' drift and the hand-off.
    const auto lease = store_.lease_timeout();
    const auto start_deadline = std::chrono::duration_cast<std::chrono::nanoseconds>(
        (queue.claim_sent_at + lease - lease / 10).time_since_epoch()).count();
    std::vector<Task*> batch;
    batch.reserve(static_cast<std::size_t>(rows));
    for (const auto& [position, row] : order) {
        auto task = std::make_unique<Task>();
        task->serial = next_serial_++;
        task->id = JobId::parse(pg::value(result, row, claim_id));
        auto handler = handlers_.find(pg::value(result, row, claim_job_type));
        task->handler = handler != handlers_.end() ? handler->second.get() : nullptr;
        task->queue = &queue;
        task->payload.assign(pg::value(result, row, claim_payload));
        task->version = pg::to_int<std::int32_t>(pg::value(result, row, claim_version));
        task->attempt = pg::to_int<std::int32_t>(pg::value(result, row, claim_attempt));
        task->max_retries = pg::to_int<std::int32_t>(pg::value(result, row, claim_max_retries));
        task->priority = pg::to_int<std::int32_t>(pg::value(result, row, claim_priority));
        task->run_at = pg::to_timestamp_us(pg::value(result, row, claim_run_at_us));
        task->created_at = pg::to_timestamp_us(pg::value(result, row, claim_created_at_us));
        if (PQgetisnull(result, row, claim_lease_ticket) == 0) {
            task->ticket = pg::to_int<std::int64_t>(pg::value(result, row, claim_lease_ticket));
            queue.progress.hold(task->ticket);
        }
        task->start_deadline_ns.store(start_deadline, std::memory_order_relaxed);
        if (task->handler == nullptr || phase_ != Phase::running) {
            // Stopping (the claim was in flight when stop began), or a type we
            // do not handle (the claim filters by type, so it cannot happen):
            // hand it back at once.
            task->handler_done = true;
            release_pending_.push_back(task.get());
        } else {
            batch.push_back(task.get());
        }
        auto* raw = task.get();
        in_flight_.emplace(raw->serial, std::move(task));
    }
    queue.held += batch.size();
    queue.claimed_in_window += batch.size();
    publish(ClaimFinished{queue.name, limit, static_cast<std::size_t>(rows)});
    if (bus_->has_subscribers<JobClaimed>()) {
        for (const auto* task : batch) publish(JobClaimed{task->ref()});
    }
    // A full claim while the workers had nothing left to take: they starve
    // between claims, so claim more at a time.
    if (static_cast<std::size_t>(rows) >= limit && queue.tasks.size_approx() == 0) grow_prefetch(queue);
    if (!batch.empty()) queue.tasks.enqueue_bulk(batch.begin(), batch.size());
    if (!release_pending_.empty()) flush_releases();
    if (phase_ != Phase::running) {
        maybe_finish_stop();  // this claim was what stop() waited for
        return;
    }

    // Jobs that once lost a lease before they started go only to a free
    // worker: a claim may have found some and left them for the next worker
    // that frees up (or, with no worker free, may have found only such jobs).
    const auto found = rows > 0 ? pg::to_int<std::size_t>(pg::value(result, 0, claim_found)) : 0;
    const bool left_some = found > static_cast<std::size_t>(rows) || (rows == 0 && free_workers == 0);
    if (rows > 0 && found >= limit) {
        try_claim(queue);  // a full batch: there is probably more (backlog mode)
    } else if (queue.claim_again) {
        try_claim(queue);  // a wake-up arrived while we were claiming
    } else if (queue.wake == WakeMode::busy) {
        schedule_busy_claim(queue, rows > 0);  // nobody notifies a busy queue: look again shortly
        if (queue.due_check) check_next_due(queue);
    } else {
        queue.wanted = left_some;  // drained as of this claim (unless it left some); the next wake-up sets it again
        if (queue.due_check) check_next_due(queue);
    }
}

void Engine::check_next_due(QueueState& queue) {
    if (queue.due_check_in_flight || !work_ready_) return;
    queue.due_check = false;
    queue.due_check_in_flight = true;
    PgConnection::Statement next;
    next.prepared_name = "seesaw_next_due";
    next.sql = &sql_->next_due;
    next.params = {queue.name};
    next.done = [this, &queue](PGresult* result, std::exception_ptr error) {
        queue.due_check_in_flight = false;
        if (error) {
            queue.due_check = true;
            return;
        }
        if (PQntuples(result) == 1 && PQgetisnull(result, 0, 0) == 0) {
            auto ms = pg::to_int<std::int64_t>(pg::value(result, 0, 0));
            arm_due_timer(queue, std::chrono::milliseconds(std::max<std::int64_t>(0, ms)));
        }
    };
    work_->send(std::move(next));
}

void Engine::arm_due_timer(QueueState& queue, std::chrono::milliseconds delay) {
    if (phase_ != Phase::running) return;
    // A job due in years: look again in a day (the poll would anyway), and
    // keep the steady clock's arithmetic far from overflow.
    delay = std::min<std::chrono::milliseconds>(delay, std::chrono::hours(24));
    // libuv counts from the time it cached at the start of this loop
    // iteration, in whole (possibly coarse) milliseconds, so a timer may fire
    // a little early: a claim then finds the job not due yet, and the
    // due-check after it may already see it due (not scheduled), so nothing
    // but the poll would wake us again.
    uv_update_time(&loop_);
    delay += std::chrono::milliseconds(2);
    auto due = SteadyClock::now() + delay;
    if (queue.due_at && *queue.due_at <= due) return;  // an earlier wake-up is set already
    queue.due_at = due;
    uv_timer_start(&queue.due_timer, [](uv_timer_t* timer) {
        auto* q = static_cast<QueueState*>(timer->data);
        q->due_at.reset();
        q->due_check = true;  // after this claim, find the next one
        auto* self = static_cast<Engine*>(timer->loop->data);
        guarded("scheduled-job timer", [self, q] { self->wake_queue(*q); });
    }, static_cast<std::uint64_t>(delay.count()), 0);
}

void Engine::on_poll_tick() {
    if (phase_ != Phase::running) return;
    uv_timer_start(&poll_timer_, &Engine::on_timer<&Engine::on_poll_tick>, jittered_ms(options_.poll_interval), 0);
    for (auto& q : queues_) {
        q->due_check = true;
        wake_queue(*q);
        if (!q->claim_in_flight && !q->wanted) check_next_due(*q);
    }
}

}  // namespace seesaw::detail
