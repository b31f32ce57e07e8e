// The wake-up protocol (migration 0005): a queue is armed while idle, so
// producers NOTIFY it, and busy while producers' transactions overlap (where
// each NOTIFY would serialize their commits), so they do not notify and the
// queue claims continuously. Arming: mark the listener row armed (commit),
// pass the queue's advisory barrier (every producer that read "not armed"
// has committed), then claim. No wake-up is lost either way.
#include <algorithm>

#include "engine.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw::detail {
namespace {
// Overlapping producer transactions per 100 ms tick that make a queue with
// work go busy; fewer than this for quiet_ticks_to_arm ticks arms it again.
constexpr std::int64_t contention_per_tick = 3;
constexpr std::uint32_t quiet_ticks_to_arm = 5;
constexpr int busy_delay_growth = 32;
}  // namespace

void Engine::arm_all_if_ready() {
    if (!options_.listen || !work_ready_ || !listen_ready_ || phase_ != Phase::running) return;
    for (auto& q : queues_) arm(*q);
}

void Engine::arm(QueueState& queue) {
    if (phase_ != Phase::running || !work_ready_ || !listen_ready_) return;
    uv_timer_stop(&queue.busy_timer);
    queue.wake = WakeMode::arming;
    auto generation = ++queue.wake_generation;
    work_->send({"seesaw_arm", &sql_->arm_listener, {worker_id_, queue.name}, {}, [](PGresult*, std::exception_ptr) {}});
    work_->send({"seesaw_wakeup_barrier", &sql_->wakeup_barrier, {queue.name, store_.schema()}, {},
                 [this, &queue, generation](PGresult*, std::exception_ptr error) {
                     if (generation != queue.wake_generation) return;  // superseded
                     if (error) {
                         queue.wake = WakeMode::unregistered;  // connected again: arm again
                         return;
                     }
                     queue.wake = WakeMode::armed;
                     // Whatever producers committed without notifying us is visible now.
                     wake_queue(queue);
                 }});
}

void Engine::go_busy(QueueState& queue) {
    log(LogLevel::debug, "dispatcher " + worker_id_ + ": queue '" + queue.name +
                             "' is busy: producers overlap, so it claims continuously and they do not NOTIFY");
    queue.wake = WakeMode::busy;
    queue.quiet_ticks = 0;
    queue.busy_delay = options_.busy_poll_interval;
    ++queue.wake_generation;
    work_->send({"seesaw_disarm", &sql_->disarm_listener, {worker_id_, queue.name}, {}, [](PGresult*, std::exception_ptr) {}});
    wake_queue(queue);
}

void Engine::schedule_busy_claim(QueueState& queue, bool found_jobs) {
    const auto base = std::max(options_.busy_poll_interval, std::chrono::milliseconds(1));
    queue.busy_delay = found_jobs ? base : std::min(std::max(queue.busy_delay * 2, base), base * busy_delay_growth);
    uv_timer_start(&queue.busy_timer, [](uv_timer_t* timer) {
        auto* q = static_cast<QueueState*>(timer->data);
        auto* self = static_cast<Engine*>(timer->loop->data);
        guarded("busy poll", [self, q] { self->wake_queue(*q); });
    }, static_cast<std::uint64_t>(queue.busy_delay.count()), 0);
}

void Engine::adapt_prefetch(QueueState& queue) {
    // Ten ticks a second.
    const double rate = static_cast<double>(std::exchange(queue.completed_in_window, 0)) * 10.0;
    queue.completion_rate = 0.5 * queue.completion_rate + 0.5 * rate;
    if (queue.fixed_prefetch) return;
    // Jobs in hand for several claim round trips at the rate handlers finish
    // them (Little's law), at least one per worker, at most the cap: slow
    // jobs keep it at the floor. Above the target it shrinks by a quarter a
    // tick; starving workers double it at once (grow_prefetch).
    constexpr double round_trips = 8.0;
    const auto target = std::clamp<std::size_t>(
        static_cast<std::size_t>(round_trips * queue.completion_rate * queue.claim_seconds), queue.workers,
        QueueOptions::max_adaptive_prefetch);
    const std::size_t prefetch = queue.capacity - queue.workers;
    const std::size_t next = target >= prefetch ? target : std::max(target, prefetch * 3 / 4);
    const bool grew = next > prefetch;
    queue.capacity = queue.workers + next;
    if (grew) try_claim(queue);
}

void Engine::grow_prefetch(QueueState& queue) {
    if (queue.fixed_prefetch) return;
    const std::size_t prefetch = queue.capacity - queue.workers;
    queue.capacity = queue.workers + std::min(prefetch * 2, QueueOptions::max_adaptive_prefetch);
}

void Engine::on_rate_tick() {
    if (phase_ != Phase::running) return;
    for (auto& q : queues_) adapt_prefetch(*q);
    // Start notices of long jobs come without a wake-up of their own: take
    // them (and whatever else the workers sent) now.
    wake();
    if (!options_.listen || !work_ready_) return;
    // Keep our listener rows fresh: the leader forgets rows unseen for a minute.
    if (++rate_ticks_ % 100 == 0) {
        work_->send({"seesaw_touch_listener", &sql_->touch_listener, {worker_id_}, {}, [](PGresult*, std::exception_ptr) {}});
    }
    if (contention_in_flight_) return;
    contention_in_flight_ = true;
    work_->send({"seesaw_contention", &sql_->producer_contention, {}, {},
                 [this](PGresult* result, std::exception_ptr error) {
                     contention_in_flight_ = false;
                     if (error || PQntuples(result) != 1) return;
                     decide_wake_modes(pg::to_int<std::int64_t>(pg::value(result, 0, 0)));
                 }});
}

void Engine::decide_wake_modes(std::int64_t contention) {
    const std::int64_t seen = last_contention_ < 0 ? 0 : contention - last_contention_;
    last_contention_ = contention;
    for (auto& q : queues_) {
        auto claimed = std::exchange(q->claimed_in_window, 0);
        switch (q->wake) {
            case WakeMode::armed:
                if (seen >= contention_per_tick && claimed > 0) go_busy(*q);
                break;
            case WakeMode::busy:
                q->quiet_ticks = seen >= contention_per_tick ? 0 : q->quiet_ticks + 1;
                if (q->quiet_ticks >= quiet_ticks_to_arm) {
                    log(LogLevel::debug, "dispatcher " + worker_id_ + ": queue '" + q->name + "' arms again");
                    arm(*q);
                }
                break;
            case WakeMode::unregistered:
                if (listen_ready_) arm(*q);  // an arm that failed on a lost connection
                break;
            case WakeMode::arming: break;
        }
    }
}

}  // namespace seesaw::detail
