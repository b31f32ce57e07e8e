// The executor: worker threads take claimed jobs from their queue's lock-free
// hand-off, decode the payload and call the typed handler, then report the
// outcome to the loop (lock-free queue + uv_async_send). Workers never touch
// a connection or a uv handle other than uv_async_send on wake_.
#include <string>

#include "engine.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw {
namespace detail {
namespace {

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

}  // namespace

void Engine::start_workers() {
    std::size_t total = 0;
    for (auto& q : queues_) total += q->workers;
    {
        std::lock_guard lock(wake_mutex_);
        live_workers_ = static_cast<int>(total);
    }
    for (auto& q : queues_) {
        for (std::size_t i = 0; i < q->workers; ++i) q->threads.emplace_back([this, queue = q.get()] { worker_main(*queue); });
    }
}

void Engine::worker_main(QueueState& queue) {
    moodycamel::ProducerToken token(completions_);
    moodycamel::ConsumerToken consumer(queue.tasks);
    Task* task = nullptr;
    while (true) {
        queue.tasks.wait_dequeue(consumer, task);
        if (task == nullptr) break;
        Completion completion;
        completion.task = task;
        if (task->cancelled.load(std::memory_order_acquire) ||
            steady_ns() > task->start_deadline_ns.load(std::memory_order_acquire)) {
            // Lost while it waited, or it waited so long (the dispatcher was
            // stopped or cut off) that its lease may have expired: do not run it.
            completion.outcome = Outcome::skipped;
        } else {
            if (task->ticket != 0) {
                // Held ahead of the workers: tell the loop it started (see
                // StartWatermark) before it runs. No wake-up of its own: the
                // loop reads it with the job's outcome, or at its next rate
                // tick if the job runs long.
                completions_.enqueue(token, Completion{task, Outcome::started, {}, {}});
            }
            run_task(*task, completion);
        }
        completions_.enqueue(token, std::move(completion));
        uv_async_send(&wake_);
    }
    // The goodbye: the loop closes wake_ after the last one.
    std::lock_guard lock(wake_mutex_);
    --live_workers_;
    uv_async_send(&wake_);
}

void Engine::run_task(Task& task, Completion& completion) {
    auto started = steady_ns();
    task.started_ns.store(started, std::memory_order_release);
    publish(JobStarted{task.ref(), task.created_at, task.run_at});
    JobContext ctx(task, *this);
    try {
        task.handler->invoke(task.payload, ctx);
        completion.outcome = Outcome::succeeded;
    } catch (const PermanentError& e) {
        completion.outcome = Outcome::permanent;
        completion.error = e.what();
    } catch (const PayloadError& e) {
        // A payload that does not decode will never decode: dead letter.
        completion.outcome = Outcome::permanent;
        completion.error = e.what();
    } catch (const std::exception& e) {
        completion.outcome = Outcome::retryable;
        completion.error = e.what();
    } catch (...) {
        completion.outcome = Outcome::retryable;
        completion.error = "the handler threw an exception that is not a std::exception";
    }
    if (completion.outcome != Outcome::succeeded && completion.error.empty()) {
        completion.error = "the handler failed without a message";
    }
    completion.duration = std::chrono::nanoseconds(steady_ns() - started);
}

}  // namespace detail

// --- JobContext ---------------------------------------------------------------

const JobId& JobContext::id() const noexcept { return task_.id; }
std::string_view JobContext::job_type() const noexcept { return task_.handler->job_type; }
std::string_view JobContext::queue() const noexcept { return task_.queue->name; }
std::int32_t JobContext::attempt() const noexcept { return task_.attempt; }
std::int32_t JobContext::max_retries() const noexcept { return task_.max_retries; }
std::int32_t JobContext::version() const noexcept { return task_.version; }
Timestamp JobContext::created_at() const noexcept { return task_.created_at; }
Timestamp JobContext::run_at() const noexcept { return task_.run_at; }
std::string_view JobContext::payload() const noexcept { return task_.payload; }
const std::string& JobContext::worker_id() const noexcept { return engine_.worker_id_; }
bool JobContext::cancelled() const noexcept { return task_.cancelled.load(std::memory_order_acquire); }
bool JobContext::lease_lost() const noexcept { return task_.lease_lost.load(std::memory_order_acquire); }
PgJobStore& JobContext::store() const noexcept { return engine_.store_; }
EventBus& JobContext::events() const noexcept { return *engine_.bus_; }
std::pair<void*, std::type_index> JobContext::deps_any() const noexcept {
    return {engine_.deps_.get(), engine_.deps_type_};
}

}  // namespace seesaw
