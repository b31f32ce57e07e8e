// Maintenance on the loop: batched heartbeats that extend the leases of every
// job this dispatcher holds (one statement), per-type timeouts, and lease
// reclaim, run by one dispatcher per schema at a time (the holder of a
// session advisory lock; when it dies, its lock goes with its connection and
// another dispatcher takes over at its next tick).
#include <algorithm>

#include "engine.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw::detail {

void Engine::on_heartbeat_tick() {
    const auto now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
    std::vector<Task*> extend;
    extend.reserve(in_flight_.size());
    std::vector<Task*> expired;
    for (auto& [id, task] : in_flight_) {
        if (task->abandoned || task->settled) continue;
        const auto& timeout = task->handler != nullptr ? task->handler->options.timeout : std::nullopt;
        auto started = task->started_ns.load(std::memory_order_acquire);
        if (timeout && !task->handler_done && started > 0 &&
            std::chrono::nanoseconds(now_ns - started) > *timeout) {
            expired.push_back(task.get());
            continue;
        }
        extend.push_back(task.get());
    }
    for (Task* task : expired) time_out(*task, *task->handler->options.timeout);
    if (!expired.empty()) flush_completions();
    // Results waiting to be written are retried here too, after non-connection errors.
    if (!succeed_pending_.empty() || !fail_pending_.empty()) flush_completions();
    if (!release_pending_.empty()) flush_releases();

    if (extend.empty() || heartbeat_in_flight_ || !work_ready_) return;
    // In id order, like every other statement that updates held jobs: no deadlocks.
    std::sort(extend.begin(), extend.end(), [](const Task* a, const Task* b) { return a->id < b->id; });
    pg::ArrayLiteral ids, attempts;
    ids.reserve(extend.size() * 37 + 2);
    for (const Task* task : extend) {
        ids.add(task->id);
        attempts.add(std::int64_t{task->attempt});
    }
    // Tasks may be retired while the heartbeat is in flight: remember them by serial.
    std::vector<std::pair<JobId, std::uint64_t>> sent;
    sent.reserve(extend.size());
    for (const Task* task : extend) sent.emplace_back(task->id, task->serial);
    PgConnection::Statement heartbeat;
    heartbeat.prepared_name = "seesaw_heartbeat";
    heartbeat.sql = &sql_->worker_heartbeat;
    heartbeat.params = {std::move(ids).finish(), std::move(attempts).finish(), worker_id_, lease_ms_};
    const auto sent_at = SteadyClock::now();
    heartbeat.done = [this, sent = std::move(sent), sent_at](PGresult* result, std::exception_ptr error) {
        heartbeat_in_flight_ = false;
        if (error) return;  // the next tick tries again
        const auto lease = store_.lease_timeout();
        const auto start_deadline =
            std::chrono::duration_cast<std::chrono::nanoseconds>((sent_at + lease - lease / 10).time_since_epoch()).count();
        // (id, attempt): a lost run and the retry of the same job may both be here.
        std::unordered_set<JobId> extended_ids;
        std::vector<std::pair<JobId, std::int32_t>> extended;
        for (int row = 0; row < PQntuples(result); ++row) {
            extended.emplace_back(JobId::parse(pg::value(result, row, 0)),
                                  pg::to_int<std::int32_t>(pg::value(result, row, 1)));
            extended_ids.insert(extended.back().first);
        }
        for (const auto& [id, serial] : sent) {
            auto found = in_flight_.find(serial);
            if (found == in_flight_.end()) continue;
            Task& task = *found->second;
            if (extended_ids.contains(id) &&
                std::find(extended.begin(), extended.end(), std::make_pair(id, task.attempt)) != extended.end()) {
                task.start_deadline_ns.store(start_deadline, std::memory_order_release);
                continue;
            }
            // A job whose result is waiting to be written: the write reports it.
            if (task.abandoned || task.settled || task.handler_done) continue;
            lose_lease(task, "the lease was reclaimed before the heartbeat could extend it");
        }
    };
    heartbeat_in_flight_ = true;  // before send(): a failed send answers at once
    work_->send(std::move(heartbeat));
}

void Engine::flush_progress() {
    if (!work_ready_) return;
    for (auto& q : queues_) {
        auto through = q->progress.to_record();
        if (!through) continue;
        q->progress.recording(*through);
        work_->send({"seesaw_record_progress", &sql_->record_progress,
                     {worker_id_, q->name, std::to_string(q->progress.first()), std::to_string(*through)}, {},
                     [this, queue = q.get()](PGresult*, std::exception_ptr error) {
                         queue->progress.recorded(!error);
                         if (!error) flush_progress();  // it may have moved on meanwhile
                     }});
    }
}

void Engine::time_out(Task& task, std::chrono::milliseconds timeout) {
    auto reason = "timed out: the handler ran longer than " + std::to_string(timeout.count()) + " ms";
    task.abandoned = true;
    task.lease_lost.store(true, std::memory_order_release);
    task.cancelled.store(true, std::memory_order_release);
    publish(LeaseLost{task.ref(), reason});
    fail_pending_.push_back(FailRecord{&task, reason, ErrorKind::retryable, retry_delay(task), {}, true});
}

void Engine::lose_lease(Task& task, std::string_view reason) {
    task.abandoned = true;
    task.settled = true;  // nothing of it will be written
    task.lease_lost.store(true, std::memory_order_release);
    task.cancelled.store(true, std::memory_order_release);
    publish(LeaseLost{task.ref(), reason});
    log(LogLevel::warn, "dispatcher " + worker_id_ + ": lost the lease of job " + task.id.to_string() + " (" +
                            std::string(task.handler->job_type) + "): " + std::string(reason));
}

void Engine::on_reclaim_tick() {
    if (phase_ != Phase::running) return;
    uv_timer_start(&reclaim_timer_, &Engine::on_timer<&Engine::on_reclaim_tick>,
                   jittered_ms(options_.reclaim_interval), 0);
    if (!work_ready_ || reclaim_in_flight_) return;
    if (leader_) {
        run_reclaim();
        return;
    }
    reclaim_in_flight_ = true;
    work_->send({"", &sql_->try_maintenance_lock, {store_.schema()}, {}, [this](PGresult* result, std::exception_ptr error) {
                     reclaim_in_flight_ = false;
                     if (error || pg::value(result, 0, 0) != "t") return;
                     leader_ = true;
                     log(LogLevel::info, "dispatcher " + worker_id_ + " is the maintenance leader of schema " +
                                             store_.schema());
                     run_reclaim();
                 }});
}

void Engine::run_reclaim() {
    static constexpr std::int64_t batch = 5000;
    const auto& policy = store_.options().retry_policy;
    reclaim_in_flight_ = true;
    work_->send({"seesaw_reclaim", &sql_->reclaim,
                 {std::to_string(batch), std::to_string(policy.base.count()), std::to_string(policy.cap.count()),
                  store_.schema()},
                 {},
                 [this](PGresult* result, std::exception_ptr error) {
                     reclaim_in_flight_ = false;
                     if (error) return;
                     auto n = PQntuples(result);
                     if (n > 0) {
                         log(LogLevel::info, "dispatcher " + worker_id_ + " reclaimed " + std::to_string(n) +
                                                 " job(s) whose lease expired");
                         // Some may be due again soon.
                         for (auto& q : queues_) q->due_check = true;
                     }
                     if (n >= batch) {
                         run_reclaim();
                         return;
                     }
                     if (++reclaim_ticks_ % 12 == 0) {
                         // About once a minute: keep the stats() change rows few,
                         // and forget listeners of dispatchers that died.
                         work_->send({"", &sql_->compact_stats, {}, {}, [](PGresult*, std::exception_ptr) {}});
                         work_->send({"", &sql_->expire_listeners, {}, {}, [](PGresult*, std::exception_ptr) {}});
                         work_->send({"", &sql_->expire_progress, {}, {}, [](PGresult*, std::exception_ptr) {}});
                     }
                 }});
}

}  // namespace seesaw::detail
