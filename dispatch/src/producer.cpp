#include "producer.hpp"

#include <algorithm>

#include "completer.hpp"
#include "executor.hpp"
#include "fast_path.hpp"
#include "pg.hpp"
#include "seesaw/core/events.hpp"
#include "seesaw/core/log.hpp"
#include "seesaw/dispatch/dispatcher.hpp"
#include "store_sql.hpp"
#include "worker_protocol.hpp"

namespace seesaw::detail {
namespace {

void ignore(const PGresult*, const StatementFailure*) {}

}  // namespace

Producer::Producer(uv_loop_t* loop, Statements& database, const StoreSql& sql, TaskRegistry& tasks,
                   Executor& executor, Completer& completer, Publisher publish,
                   const std::vector<QueueOptions>& queues, Settings settings, Hooks hooks)
    : database_(database),
      sql_(sql),
      tasks_(tasks),
      executor_(executor),
      completer_(completer),
      publish_(publish),
      settings_(std::move(settings)),
      hooks_(std::move(hooks)) {
    // Tickets above any an earlier process with the same worker id handed
    // out (it could not have handed out a million a second).
    const auto first_ticket =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    for (std::size_t i = 0; i < queues.size(); ++i) {
        auto queue = std::make_unique<QueueState>(queues[i], i, first_ticket, settings_.busy_poll_interval);
        auto* q = queue.get();
        q->due_timer.init(loop, [this, q] {
            q->due_at.reset();
            q->due_check = true;  // after this claim, find the next one
            wake(*q);
        }, "scheduled-job timer");
        q->busy_timer.init(loop, [this, q] { wake(*q); }, "busy poll");
        queues_.push_back(std::move(queue));
    }
}

QueueState* Producer::find(std::string_view name) const noexcept {
    for (const auto& q : queues_)
        if (q->name == name) return q.get();
    return nullptr;
}

void Producer::set_claiming(bool ready, bool reconnected) {
    claiming_ = ready;
    for (auto& q : queues_) publish_free(*q);
    if (!ready) {
        for (auto& q : queues_) q->wake.disconnected();
        return;
    }
    // A claim whose reply the lost connection took may have leased us jobs
    // we never saw: hand them back first (this runs before any new claim).
    if (claim_in_doubt_) release_unknown_claims();
    // A server crash may have lost what was written asynchronously.
    if (reconnected) {
        for (auto& q : queues_) q->progress.forget_recorded();
    }
    record_progress();
    refresh_paused();
    // Catch up on whatever was inserted while we could not claim.
    for (auto& q : queues_) q->due_check = true;
    wake_all();
    if (listening()) {
        for (auto& q : queues_) act(*q, q->wake.connected());
    }
}

void Producer::set_listening(bool ready) {
    listening_ = ready;
    if (!ready) {
        for (auto& q : queues_) q->wake.disconnected();
        return;
    }
    // Notifications sent while we were not listening are gone: claim now to
    // catch up, and arm.
    wake_all();
    if (listening()) {
        for (auto& q : queues_) act(*q, q->wake.connected());
    }
}

void Producer::wake(QueueState& queue) {
    queue.wanted = true;
    try_claim(queue);
}

void Producer::wake_all() {
    for (auto& q : queues_) wake(*q);
}

void Producer::claim_where_wanted() {
    for (auto& q : queues_) try_claim(*q);
}

void Producer::try_claim(QueueState& queue) {
    if (stopped_ || !claiming_ || !queue.wanted || !hooks_.running() || queue.paused) return;
    if (queue.claim_in_flight) {
        queue.claim_again = true;  // one more claim when this one returns
        return;
    }
    const std::size_t capacity = queue.prefetch.capacity();
    // Workers reserved by enqueuers of this process (the fast path) are
    // about to be busy: leave them out.
    const auto reserved = settings_.fast_path != nullptr
                              ? static_cast<std::size_t>(std::max<std::int64_t>(0, settings_.fast_path->reserved(queue.index)))
                              : 0;
    if (queue.held + reserved >= capacity) return;  // a freed slot claims again (wanted stays set)
    const std::size_t limit = capacity - queue.held - reserved;
    // Jobs get tickets (StartWatermark) and count as started once their
    // start is recorded, those the workers take at once too (a SIGSTOP or
    // a kill between the claim and the start must not use up an attempt);
    // only a job that already lost an unstarted lease counts with the
    // claim. A claim in flight is the queue's only one, so no worker frees
    // up for it in between without seeing it: held only falls until the
    // claim returns.
    const std::size_t free_workers = std::min(limit, queue.workers > queue.held ? queue.workers - queue.held : 0);
    ClaimRequest request;
    request.worker_id = settings_.worker_id;
    request.queue = queue.name;
    request.limit = limit;
    request.job_types_literal = &settings_.job_types_literal;
    request.lease = settings_.lease;
    request.free_workers = free_workers;
    request.ticket_base = queue.next_ticket;
    request.durable = settings_.durable_claims;
    request.count_free_at_claim = false;
    queue.next_ticket += static_cast<std::int64_t>(limit);
    queue.claim_in_flight = true;
    queue.claim_again = false;
    queue.claim_sent_at = SteadyClock::now();
    Statement claim;
    claim.prepared_name = "seesaw_claim";
    claim.sql = &sql_.claim;
    claim.params = claim_params(request);
    claim.null_params = claim_null_params(request);
    claim.done = [this, &queue, limit, free_workers](const PGresult* result, const StatementFailure* failure) {
        queue.claim_in_flight = false;
        if (failure != nullptr) {
            // Cut off: it may have committed (handed back after the
            // reconnect, which claims again). Refused: the next poll tries
            // again (no hot loop on a broken schema).
            if (failure->kind == FailureKind::in_doubt) claim_in_doubt_ = true;
            if (failure->kind == FailureKind::rejected) {
                log(LogLevel::error, "dispatcher " + settings_.worker_id + ": claim on queue '" + queue.name +
                                         "' failed: " + failure->message);
            }
        } else {
            on_claimed(queue, limit, free_workers, result);
        }
        hooks_.claim_done();
    };
    database_.send(std::move(claim));
}

void Producer::on_claimed(QueueState& queue, std::size_t limit, std::size_t free_workers, const PGresult* result) {
    const auto rows = decode_claim(result);
    const auto now = SteadyClock::now();
    queue.prefetch.claim_returned(std::chrono::duration<double>(now - queue.claim_sent_at).count());
    // The lease as this dispatcher may rely on it: from when the claim was
    // sent, less a margin for the clocks' drift and the hand-off.
    const auto lease = settings_.lease;
    const auto start_deadline = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    (queue.claim_sent_at + lease - lease / timing::lease_margin_divisor).time_since_epoch())
                                    .count();
    // Paused while the claim was in flight: hand its jobs back unstarted.
    const bool running = hooks_.running() && !stopped_ && !queue.paused;
    std::vector<Task*> batch;
    batch.reserve(rows.size());
    for (const auto& row : rows) {
        auto owned = std::make_unique<Task>();
        owned->id = row.id;
        owned->handler = hooks_.handler_for(row.job_type);
        owned->queue = &queue;
        owned->payload.assign(row.payload);
        owned->version = row.version;
        owned->attempt = row.attempt;
        owned->max_retries = row.max_retries;
        owned->priority = row.priority;
        owned->snoozes = row.snoozes;
        owned->keeps_row = row.keeps_row;
        owned->run_at = row.run_at;
        owned->created_at = row.created_at;
        owned->ticket = row.ticket.value_or(0);
        owned->start_deadline_ns.store(start_deadline, std::memory_order_relaxed);
        Task& task = tasks_.add(std::move(owned));
        if (task.ticket != 0) queue.progress.hold(task.ticket);
        if (task.handler == nullptr || !running) {
            // Stopping or paused (the claim was in flight when that began), or a type we
            // do not handle (the claim filters by type, so it cannot happen):
            // hand it back at once.
            task.apply(TaskEvent::skipped);
            completer_.release(task);
        } else {
            batch.push_back(&task);
        }
    }
    const std::size_t held_before = queue.held;
    queue.held += batch.size();
    publish_free(queue);
    queue.claimed_in_tick += batch.size();
    publish_(ClaimFinished{queue.name, limit, rows.size()});
    if (publish_.wanted<JobClaimed>()) {
        for (const auto* task : batch) publish_(JobClaimed{task->ref()});
    }
    executor_.hand_over(queue.index, batch);
    completer_.flush();
    if (!running) return;

    // Jobs that once lost a lease before they started go only to a free
    // worker: a claim may have found some and left them for the next worker
    // that frees up (or, with no worker free, may have found only such jobs).
    const std::size_t found = rows.empty() ? 0 : claim_found(result);
    const bool left_some = found > rows.size() || (rows.empty() && free_workers == 0);
    // A full claim while the workers had nothing left to take (every job
    // held before it was running): they starve between claims, so claim
    // more at a time.
    if (rows.size() >= limit && held_before <= queue.workers) queue.prefetch.starving();
    if (!rows.empty() && found >= limit) {
        try_claim(queue);  // a full batch: there is probably more (backlog mode)
    } else if (queue.claim_again) {
        try_claim(queue);  // a wake-up arrived while we were claiming
    } else if (queue.wake.mode() == WakeSwitch::Mode::busy) {
        // Nobody notifies a busy queue: look again shortly.
        queue.busy_timer.start(queue.wake.next_busy_claim(!rows.empty()));
        if (queue.due_check) check_next_due(queue);
    } else {
        queue.wanted = left_some;  // drained as of this claim (unless it left some); the next wake-up sets it again
        if (queue.due_check) check_next_due(queue);
    }
}

void Producer::check_next_due(QueueState& queue) {
    if (queue.due_check_in_flight || !claiming_ || stopped_) return;
    queue.due_check = false;
    queue.due_check_in_flight = true;
    Statement next;
    next.prepared_name = "seesaw_next_due";
    next.sql = &sql_.next_due;
    next.params = {queue.name};
    next.done = [this, &queue](const PGresult* result, const StatementFailure* failure) {
        queue.due_check_in_flight = false;
        if (failure != nullptr) {
            queue.due_check = true;
            return;
        }
        if (PQntuples(result) == 1 && PQgetisnull(result, 0, 0) == 0)
            due_in(queue, std::chrono::milliseconds(std::max<std::int64_t>(0, pg::to_int<std::int64_t>(pg::value(result, 0, 0)))));
    };
    database_.send(std::move(next));
}

void Producer::due_in(QueueState& queue, std::chrono::milliseconds delay) {
    if (stopped_ || !hooks_.running()) return;
    // A job due in years: look again in a day (the poll would anyway), and
    // keep the steady clock's arithmetic far from overflow.
    delay = std::min<std::chrono::milliseconds>(delay, std::chrono::hours(24));
    // libuv counts in whole (possibly coarse) milliseconds, so a timer may
    // fire a little early: a claim then finds the job not due yet, and the
    // due-check after it may already see it due (not scheduled), so nothing
    // but the poll would wake us again. Two milliseconds more. (Timer::start
    // counts from now, not from the loop iteration's cached time, which
    // could be far earlier: an early wake by that much lost a retry under
    // ThreadSanitizer on busy cores.)
    delay += std::chrono::milliseconds(2);
    const auto due = SteadyClock::now() + delay;
    if (queue.due_at && *queue.due_at <= due) return;  // an earlier wake-up is set already
    queue.due_at = due;
    queue.due_timer.start(delay);
}

void Producer::poll() {
    refresh_paused();
    for (auto& q : queues_) {
        q->due_check = true;
        wake(*q);
        if (!q->claim_in_flight && !q->wanted) check_next_due(*q);
    }
}

void Producer::started(Task& task) { task.queue->progress.pass(task.ticket); }

void Producer::returned(Task& task) {
    --task.queue->held;
    task.queue->prefetch.handler_returned();
    publish_free(*task.queue);
}

void Producer::publish_free(const QueueState& queue) {
    if (settings_.fast_path == nullptr) return;
    // A busy queue (producers' transactions overlap, and it claims
    // continuously) takes no fast-path jobs: its claims batch them already,
    // where a hand-over per job would cost a wake-up of the loop per job.
    const bool open = claiming_ && !stopped_ && !queue.paused && hooks_.running() &&
                      queue.wake.mode() != WakeSwitch::Mode::busy;
    settings_.fast_path->set_free(
        queue.index, open && queue.workers > queue.held ? static_cast<std::int64_t>(queue.workers - queue.held) : 0);
}

void Producer::accept_fast(const FastJob& job) {
    QueueState& queue = *queues_.at(job.queue);
    auto owned = std::make_unique<Task>();
    owned->id = job.id;
    owned->handler = hooks_.handler_for(job.job_type);
    owned->queue = &queue;
    owned->payload = job.payload;
    owned->version = job.version;
    owned->attempt = 1;
    owned->max_retries = job.max_retries;
    owned->priority = job.priority;
    owned->run_at = job.created_at;
    owned->created_at = job.created_at;
    // The lease counts from the insert: rely on it from when that was sent.
    const auto lease = std::chrono::duration_cast<std::chrono::nanoseconds>(settings_.lease);
    owned->start_deadline_ns.store(job.sent_ns + (lease - lease / timing::lease_margin_divisor).count(),
                                   std::memory_order_relaxed);
    Task& task = tasks_.add(std::move(owned));
    if (task.handler == nullptr || !hooks_.running() || stopped_ || queue.paused) {
        // Stopping or paused since the enqueuer reserved the worker: hand it back.
        task.apply(TaskEvent::skipped);
        completer_.release(task);
        completer_.flush();
        return;
    }
    ++queue.held;
    publish_free(queue);
    publish_(JobClaimed{task.ref(), true});
    Task* handed = &task;
    executor_.hand_over(queue.index, std::span<Task* const>(&handed, 1));
}

void Producer::settled(Task& task) {
    // Started, or no longer ours: either way the watermark may pass it.
    if (task.ticket != 0) task.queue->progress.pass(task.ticket);
}

void Producer::look_for_due() noexcept {
    for (auto& q : queues_) q->due_check = true;
}

bool Producer::claim_in_flight() const noexcept {
    return std::any_of(queues_.begin(), queues_.end(), [](const auto& q) { return q->claim_in_flight; });
}

void Producer::stop() {
    stopped_ = true;
    for (auto& q : queues_) {
        publish_free(*q);
        q->due_timer.stop();
        q->busy_timer.stop();
        q->wake.disconnected();
    }
    // Producers need not wake us any more.
    if (claiming_ && settings_.listen) {
        database_.send({"", &sql_.remove_listener, {settings_.worker_id}, {}, ignore});
    }
}

// --- the wake-up protocol ------------------------------------------------------

void Producer::act(QueueState& queue, WakeSwitch::Action action) {
    switch (action) {
        case WakeSwitch::Action::none: return;
        case WakeSwitch::Action::arm: arm(queue); return;
        case WakeSwitch::Action::go_busy: go_busy(queue); return;
    }
}

void Producer::arm(QueueState& queue) {
    if (!listening() || stopped_ || queue.paused) {
        queue.wake.disconnected();
        return;
    }
    queue.busy_timer.stop();
    const auto generation = queue.wake.generation();
    database_.send({"seesaw_arm", &sql_.arm_listener, {settings_.worker_id, queue.name}, {}, ignore});
    database_.send({"seesaw_wakeup_barrier", &sql_.wakeup_barrier, {queue.name, settings_.schema}, {},
                    [this, &queue, generation](const PGresult*, const StatementFailure* failure) {
                        // Armed: whatever producers committed without
                        // notifying us is visible now.
                        if (queue.wake.armed(generation, failure == nullptr)) wake(queue);
                    }});
}

void Producer::go_busy(QueueState& queue) {
    log(LogLevel::debug, "dispatcher " + settings_.worker_id + ": queue '" + queue.name +
                             "' is busy: producers overlap, so it claims continuously and they do not NOTIFY");
    database_.send({"seesaw_disarm", &sql_.disarm_listener, {settings_.worker_id, queue.name}, {}, ignore});
    wake(queue);
}

void Producer::tick() {
    if (stopped_) return;
    for (auto& q : queues_) {
        if (q->prefetch.tick()) try_claim(*q);  // room for more
    }
    record_progress();
    if (!settings_.listen || !claiming_) return;
    // Keep our listener rows fresh: the leader forgets rows not seen for a while.
    if (++ticks_ % timing::ticks_per_listener_touch == 0) {
        database_.send({"seesaw_touch_listener", &sql_.touch_listener, {settings_.worker_id}, {}, ignore});
    }
    if (contention_in_flight_) return;
    contention_in_flight_ = true;
    database_.send({"seesaw_contention", &sql_.producer_contention, {}, {},
                    [this](const PGresult* result, const StatementFailure* failure) {
                        contention_in_flight_ = false;
                        if (failure != nullptr || PQntuples(result) != 1) return;
                        decide_wake_modes(pg::to_int<std::int64_t>(pg::value(result, 0, 0)));
                    }});
}

void Producer::decide_wake_modes(std::int64_t contention) {
    const std::int64_t overlaps = last_contention_ < 0 ? 0 : contention - last_contention_;
    last_contention_ = contention;
    for (auto& q : queues_) {
        const auto before = q->wake.mode();
        const auto action = q->wake.tick(overlaps, std::exchange(q->claimed_in_tick, 0), listening());
        if (q->wake.mode() != before) publish_free(*q);
        if (before == WakeSwitch::Mode::busy && action == WakeSwitch::Action::arm)
            log(LogLevel::debug, "dispatcher " + settings_.worker_id + ": queue '" + q->name + "' arms again");
        act(*q, action);
    }
}

std::size_t Producer::hand_back_unstarted(QueueState& queue) {
    std::size_t handed_back = 0;
    for (Task* task : executor_.take_back(queue.index)) {
        returned(*task);
        task->apply(TaskEvent::skipped);
        if (task->state == TaskState::releasing) {
            completer_.release(*task);
            ++handed_back;
        } else if (task->settled()) {  // lost while it waited (cancelled): nothing to hand back
            settled(*task);
            tasks_.retire(*task);
        }
    }
    return handed_back;
}

// --- paused queues ------------------------------------------------------------

void Producer::set_paused(std::string_view name, bool paused) {
    auto* queue = find(name);
    if (queue == nullptr) return;
    ++queue->pause_notices;
    apply_pause(*queue, paused);
}

void Producer::refresh_paused() {
    if (!claiming_ || stopped_) return;
    std::vector<std::uint64_t> notices;
    for (const auto& q : queues_) notices.push_back(q->pause_notices);
    database_.send({"seesaw_paused_queues", &sql_.paused_queues, {}, {},
                    [this, notices = std::move(notices)](const PGresult* result, const StatementFailure* failure) {
                        if (failure != nullptr || stopped_) return;
                        std::vector<bool> paused(queues_.size(), false);
                        for (int row = 0; row < PQntuples(result); ++row) {
                            if (auto* q = find(pg::value(result, row, 0))) paused[q->index] = true;
                        }
                        for (auto& q : queues_) {
                            // A notification after this was sent says more than it does.
                            if (q->pause_notices == notices[q->index]) apply_pause(*q, paused[q->index]);
                        }
                    }});
}

void Producer::apply_pause(QueueState& queue, bool paused) {
    if (queue.paused == paused || stopped_) return;
    queue.paused = paused;
    publish_free(queue);
    publish_(QueuePauseChanged{queue.name, paused});
    if (!paused) {
        log(LogLevel::info, "dispatcher " + settings_.worker_id + ": queue '" + queue.name + "' resumed");
        if (listening()) act(queue, queue.wake.connected());
        wake(queue);
        return;
    }
    const auto handed_back = hand_back_unstarted(queue);
    completer_.flush();
    queue.busy_timer.stop();
    queue.wake.disconnected();
    // Producers need not wake us for it.
    if (claiming_ && settings_.listen)
        database_.send({"seesaw_disarm", &sql_.disarm_listener, {settings_.worker_id, queue.name}, {}, ignore});
    log(LogLevel::info, "dispatcher " + settings_.worker_id + ": queue '" + queue.name + "' paused; " +
                            std::to_string(handed_back) + " job(s) held but not started handed back");
}

// --- progress and in-doubt claims ----------------------------------------------

void Producer::record_progress() {
    if (!claiming_) return;
    for (auto& q : queues_) {
        auto through = q->progress.to_record();
        if (!through) continue;
        q->progress.recording(*through);
        database_.send({"seesaw_record_progress", &sql_.record_progress,
                        {settings_.worker_id, q->name, std::to_string(q->progress.first()), std::to_string(*through)}, {},
                        [this, queue = q.get()](const PGresult*, const StatementFailure* failure) {
                            queue->progress.recorded(failure == nullptr);
                            if (failure == nullptr) record_progress();  // it may have moved on meanwhile
                        }});
    }
}

void Producer::release_unknown_claims() {
    claim_in_doubt_ = false;
    std::vector<JobId> held;
    held.reserve(tasks_.size());
    tasks_.for_each([&](const Task& task) { held.push_back(task.id); });
    database_.send({"", &sql_.release_unknown, release_unknown_params(settings_.worker_id, held), {},
                    [this](const PGresult* result, const StatementFailure* failure) {
                        if (failure != nullptr) {
                            claim_in_doubt_ = true;  // lost again: try after the next reconnect
                            return;
                        }
                        if (const int n = PQntuples(result); n > 0) {
                            log(LogLevel::info, "dispatcher " + settings_.worker_id + ": handed back " +
                                                    std::to_string(n) +
                                                    " job(s) of a claim whose reply the lost connection took");
                        }
                    }});
}

}  // namespace seesaw::detail
