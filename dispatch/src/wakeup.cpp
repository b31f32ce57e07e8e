// The wake-up protocol (migration 0005): a queue is armed while idle, so
// producers NOTIFY it, and busy while it claims a steady stream of jobs, so
// producers do not notify and commit in parallel. Arming: mark the listener
// row armed (commit), pass the queue's advisory barrier (every producer that
// read "not armed" has committed), then claim. No wake-up is lost.
#include "engine.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw::detail {

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
    work_->send({"seesaw_wakeup_barrier", &sql_->wakeup_barrier, {queue.name}, {},
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
    queue.wake = WakeMode::busy;
    ++queue.wake_generation;
    work_->send({"seesaw_disarm", &sql_->disarm_listener, {worker_id_, queue.name}, {}, [](PGresult*, std::exception_ptr) {}});
    wake_queue(queue);
}

void Engine::schedule_busy_claim(QueueState& queue) {
    uv_timer_start(&queue.busy_timer, [](uv_timer_t* timer) {
        auto* q = static_cast<QueueState*>(timer->data);
        auto* self = static_cast<Engine*>(timer->loop->data);
        guarded("busy poll", [self, q] { self->wake_queue(*q); });
    }, static_cast<std::uint64_t>(std::max<std::int64_t>(1, options_.busy_poll_interval.count())), 0);
}

void Engine::on_rate_tick() {
    if (phase_ != Phase::running) return;
    // Ten ticks a second: jobs per tick × 10 = jobs per second.
    const std::size_t busy_per_tick = std::max<std::size_t>(1, options_.busy_threshold / 10);
    for (auto& q : queues_) {
        auto claimed = std::exchange(q->claimed_in_window, 0);
        if (!options_.listen || !work_ready_) continue;
        if (q->wake == WakeMode::armed && claimed >= busy_per_tick) {
            go_busy(*q);
        } else if (q->wake == WakeMode::busy && claimed * 2 < busy_per_tick) {
            arm(*q);
        } else if (q->wake == WakeMode::unregistered && listen_ready_) {
            arm(*q);  // an arm that failed on a lost connection
        }
    }
    // Keep our listener rows fresh: the leader forgets rows unseen for a minute.
    if (options_.listen && work_ready_ && ++rate_ticks_ % 100 == 0) {
        work_->send({"seesaw_touch_listener", &sql_->touch_listener, {worker_id_}, {}, [](PGresult*, std::exception_ptr) {}});
    }
}

}  // namespace seesaw::detail
