// The public API and the dispatcher's lifecycle: start, the loop thread,
// graceful stop.
#include <csignal>
#include <random>

#include "engine.hpp"
#include "seesaw/core/limits.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw {
namespace detail {

std::uint64_t jittered_ms(std::chrono::milliseconds base) {
    thread_local std::mt19937 generator{std::random_device{}()};
    std::uniform_int_distribution<std::int64_t> spread(base.count() * 8 / 10, base.count() * 12 / 10);
    return static_cast<std::uint64_t>(std::max<std::int64_t>(1, spread(generator)));
}

void guarded(const char* what, const std::function<void()>& f) noexcept {
    try {
        f();
    } catch (const std::exception& e) {
        log(LogLevel::error, std::string("dispatcher ") + what + ": " + e.what());
    } catch (...) {
        log(LogLevel::error, std::string("dispatcher ") + what + ": unknown exception");
    }
}

JobRef Task::ref() const { return JobRef{id, handler->job_type, queue->name, attempt}; }

Engine::Engine(PgJobStore& store, DispatcherOptions options, std::shared_ptr<void> deps, std::type_index deps_type,
               std::shared_ptr<EventBus> bus, std::shared_ptr<PgJobStore> store_owner)
    : store_(store),
      options_(std::move(options)),
      worker_id_(options_.worker_id.empty() ? make_worker_id() : options_.worker_id),
      deps_(std::move(deps)),
      deps_type_(deps_type),
      bus_(bus ? std::move(bus) : std::make_shared<EventBus>()),
      store_owner_(std::move(store_owner)),
      sql_(std::make_shared<const StoreSql>(store.schema())),
      lease_ms_(std::to_string(store.lease_timeout().count())) {
    if (options_.queues.empty()) throw UsageError("DispatcherOptions::queues must name at least one queue");
    // Tickets above any an earlier process with the same worker id handed out
    // (it could not have handed out a million a second).
    const auto first_ticket =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    for (const auto& q : options_.queues) {
        validate_queue_name(q.name, "a queue name in DispatcherOptions::queues");
        if (q.workers == 0) throw UsageError("queue '" + q.name + "' needs at least one worker");
        for (const auto& other : queues_) {
            if (other->name == q.name) throw UsageError("queue '" + q.name + "' is listed twice");
        }
        queues_.push_back(std::make_unique<QueueState>(q, first_ticket));
    }
    if (options_.poll_interval.count() <= 0) throw UsageError("DispatcherOptions::poll_interval must be positive");
    if (options_.reclaim_interval.count() <= 0) {
        throw UsageError("DispatcherOptions::reclaim_interval must be positive");
    }
}

Engine::~Engine() {
    try {
        stop(std::nullopt);
    } catch (const std::exception& e) {
        log(LogLevel::error, std::string("dispatcher stop failed: ") + e.what());
    }
}

void Engine::add_handler(HandlerEntry entry) {
    if (started_) throw UsageError("register handlers before the dispatcher starts");
    validate_job_type(entry.job_type, "a handler's job type");
    if (handlers_.contains(entry.job_type)) {
        throw UsageError("job type '" + entry.job_type + "' already has a handler: register each type once");
    }
    if (entry.options.timeout && entry.options.timeout->count() <= 0) {
        throw UsageError("the timeout for job type '" + entry.job_type + "' must be positive");
    }
    auto name = entry.job_type;
    handlers_.emplace(std::move(name), std::make_unique<HandlerEntry>(std::move(entry)));
}

void Engine::start() {
    if (started_) throw UsageError("a dispatcher starts once");
    if (handlers_.empty()) throw UsageError("register at least one handler (dispatcher.on<T>(...)) before start()");
    pg::ArrayLiteral types;
    std::vector<std::string> type_names;
    for (const auto& [name, entry] : handlers_) {
        types.add(name);
        type_names.push_back(name);
    }
    job_types_literal_ = std::move(types).finish();
    std::vector<std::string> queue_names;
    for (const auto& q : queues_) queue_names.push_back(q->name);
    metrics_ = std::make_unique<MetricsRegistry>(worker_id_, queue_names, type_names, *bus_);

    if (int rc = uv_loop_init(&loop_); rc != 0) throw Error(std::string("uv_loop_init: ") + uv_strerror(rc));
    loop_.data = this;
    uv_async_init(&loop_, &wake_, &Engine::on_wake);
    wake_.data = this;
    for (auto* timer : {&poll_timer_, &heartbeat_timer_, &reclaim_timer_, &grace_timer_, &give_up_timer_, &rate_timer_}) {
        uv_timer_init(&loop_, timer);
        timer->data = this;
    }
    for (auto& q : queues_) {
        for (auto* timer : {&q->due_timer, &q->busy_timer}) {
            uv_timer_init(&loop_, timer);
            timer->data = q.get();
        }
    }
    if (options_.handle_signals) {
        for (auto* signal : {&sigint_, &sigterm_}) {
            uv_signal_init(&loop_, signal);
            signal->data = this;
        }
        auto on_signal = [](uv_signal_t* handle, int signum) {
            auto* self = static_cast<Engine*>(handle->data);
            log(LogLevel::info, std::string("dispatcher ") + self->worker_id_ + " stopping on " +
                                    (signum == SIGINT ? "SIGINT" : "SIGTERM"));
            self->request_stop();
        };
        uv_signal_start(&sigint_, on_signal, SIGINT);
        uv_signal_start(&sigterm_, on_signal, SIGTERM);
    }
    if (!options_.metrics_listen.empty()) {
        metrics_server_ = std::make_unique<MetricsServer>(&loop_, [this] { return metrics_->snapshot().to_prometheus(); });
        try {
            metrics_port_ = metrics_server_->listen(options_.metrics_listen);
        } catch (...) {
            // Nothing runs yet: close what start() opened, then report.
            metrics_server_->close();
            uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
            for (auto* h : {&poll_timer_, &heartbeat_timer_, &reclaim_timer_, &grace_timer_, &give_up_timer_, &rate_timer_})
                uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
            for (auto& q : queues_) {
                uv_close(reinterpret_cast<uv_handle_t*>(&q->due_timer), nullptr);
                uv_close(reinterpret_cast<uv_handle_t*>(&q->busy_timer), nullptr);
            }
            if (options_.handle_signals) {
                uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
                uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
            }
            uv_run(&loop_, UV_RUN_DEFAULT);
            uv_loop_close(&loop_);
            metrics_.reset();
            throw;
        }
        log(LogLevel::info, "dispatcher " + worker_id_ + " serves metrics on port " + std::to_string(metrics_port_));
    }
    phase_ = Phase::running;
    started_ = true;
    running_.store(true, std::memory_order_release);
    {
        std::lock_guard lock(wake_mutex_);
        wake_open_ = true;
    }
    start_workers();
    loop_thread_ = std::thread([this] { loop_main(); });
}

void Engine::loop_main() {
    try {
        if (options_.listen) open_listen_connection();
        open_work_connection();
        open_complete_connection();

        // Poll and reclaim re-arm themselves with fresh jitter each time.
        uv_timer_start(&poll_timer_, &Engine::on_timer<&Engine::on_poll_tick>, jittered_ms(options_.poll_interval), 0);
        uv_timer_start(&reclaim_timer_, &Engine::on_timer<&Engine::on_reclaim_tick>,
                       jittered_ms(options_.reclaim_interval), 0);
        auto heartbeat = options_.heartbeat_interval.count() > 0 ? options_.heartbeat_interval
                                                                 : store_.lease_timeout() / 3;
        heartbeat = std::max(heartbeat, std::chrono::milliseconds(10));
        uv_timer_start(&heartbeat_timer_, &Engine::on_timer<&Engine::on_heartbeat_tick>,
                       static_cast<std::uint64_t>(heartbeat.count()), static_cast<std::uint64_t>(heartbeat.count()));
        uv_timer_start(&rate_timer_, &Engine::on_timer<&Engine::on_rate_tick>, 100, 100);
        // A stop requested before the loop ran.
        if (stop_requested_.load()) uv_async_send(&wake_);
        log(LogLevel::info, "dispatcher " + worker_id_ + " started: " + std::to_string(queues_.size()) +
                                " queue(s), schema " + store_.schema() + (options_.listen ? "" : ", poll only"));

        uv_run(&loop_, UV_RUN_DEFAULT);
    } catch (const std::exception& e) {
        log(LogLevel::error, std::string("dispatcher loop failed: ") + e.what());
    }
    int rc = uv_loop_close(&loop_);
    if (rc != 0) log(LogLevel::error, std::string("dispatcher loop closed with open handles: ") + uv_strerror(rc));
    phase_ = Phase::stopped;
}

void Engine::on_wake(uv_async_t* handle) {
    auto* self = static_cast<Engine*>(handle->data);
    guarded("wake-up", [self] { self->wake(); });
}

void Engine::wake() {
    if (stop_requested_.load(std::memory_order_acquire) && phase_ == Phase::running) begin_stop();
    if (phase_ == Phase::closing) {
        drain_completions();  // late results of handlers that outlived the give-up deadline: dropped
        close_wake_when_workers_gone();
        return;
    }
    drain_completions();
    flush_completions();
    flush_progress();
    if (phase_ == Phase::running) {
        for (auto& q : queues_) try_claim(*q);
    }
    maybe_finish_stop();
}

MetricsSnapshot Engine::metrics() const {
    if (!metrics_) return MetricsSnapshot{worker_id_, {}, {}, {}, {}};
    return metrics_->snapshot();
}

void Engine::request_stop() noexcept {
    stop_requested_.store(true, std::memory_order_release);
    std::lock_guard lock(wake_mutex_);
    if (wake_open_) uv_async_send(&wake_);
}

void Engine::wait() {
    std::lock_guard lock(join_mutex_);
    if (joined_ || !loop_thread_.joinable()) return;
    loop_thread_.join();
    for (auto& q : queues_)
        for (auto& t : q->threads) t.join();
    joined_ = true;
    running_.store(false, std::memory_order_release);
    publish(DispatcherStopped{released_});
    log(LogLevel::info, "dispatcher " + worker_id_ + " stopped");
}

void Engine::stop(std::optional<std::chrono::milliseconds> grace) {
    if (!loop_thread_.joinable()) return;
    for (auto& q : queues_) {
        for (auto& t : q->threads) {
            if (t.get_id() == std::this_thread::get_id()) {
                throw UsageError("stop() was called from a handler; use request_stop() there");
            }
        }
    }
    if (grace) stop_grace_ms_.store(std::max<std::int64_t>(0, grace->count()), std::memory_order_relaxed);
    request_stop();
    wait();
}

// --- graceful stop (loop thread) --------------------------------------------

void Engine::begin_stop() {
    phase_ = Phase::draining;
    auto requested = stop_grace_ms_.load(std::memory_order_relaxed);
    auto grace = requested >= 0 ? std::chrono::milliseconds(requested) : options_.stop_grace;
    stop_grace_ms_.store(grace.count(), std::memory_order_relaxed);
    log(LogLevel::info, "dispatcher " + worker_id_ + " stopping: " + std::to_string(in_flight_.size()) +
                            " job(s) held, grace " + std::to_string(grace.count()) + " ms");
    uv_timer_stop(&poll_timer_);
    uv_timer_stop(&reclaim_timer_);
    uv_timer_stop(&rate_timer_);
    // Producers need not wake us any more.
    if (work_ready_ && options_.listen) {
        work_->send({"", &sql_->remove_listener, {worker_id_}, {}, [](PGresult*, std::exception_ptr) {}});
    }
    for (auto& q : queues_) {
        uv_timer_stop(&q->due_timer);
        uv_timer_stop(&q->busy_timer);
        q->wake = WakeMode::unregistered;
        // Jobs not started yet go back to the queue at once.
        Task* task = nullptr;
        while (q->tasks.try_dequeue(task)) {
            if (task == nullptr) continue;
            --q->held;
            task->handler_done = true;
            if (task->abandoned) {
                task->settled = true;
                retire_if_done(task);
            } else {
                release_pending_.push_back(task);
            }
        }
    }
    flush_releases();
    uv_timer_start(&grace_timer_, &Engine::on_timer<&Engine::on_grace_expired>,
                   static_cast<std::uint64_t>(grace.count()), 0);
    // If the database stays away, give up on unwritten results after another
    // grace period (their leases expire and the jobs are retried).
    auto give_up = grace + std::max(grace, std::chrono::milliseconds(5000));
    uv_timer_start(&give_up_timer_, &Engine::on_timer<&Engine::give_up>, static_cast<std::uint64_t>(give_up.count()),
                   0);
    maybe_finish_stop();
}

void Engine::on_grace_expired() {
    // Handlers still running lose their job: it counts as a failed attempt.
    std::size_t interrupted = 0;
    for (auto& [id, task] : in_flight_) {
        if (task->handler_done || task->abandoned) continue;
        if (task->started_ns.load(std::memory_order_acquire) == 0) continue;
        task->abandoned = true;
        task->cancelled.store(true, std::memory_order_release);
        fail_pending_.push_back(FailRecord{task.get(),
                                           "interrupted: the dispatcher stopped and the handler did not finish within "
                                           "the grace period of " +
                                               std::to_string(stop_grace_ms_.load()) + " ms",
                                           ErrorKind::retryable, retry_delay(*task), {}, false});
        ++interrupted;
    }
    if (interrupted > 0) {
        log(LogLevel::warn, "dispatcher " + worker_id_ + ": " + std::to_string(interrupted) +
                                " handler(s) still running after the grace period; their jobs are failed as "
                                "retryable and the handlers see ctx.cancelled()");
    }
    flush_completions();
}

void Engine::give_up() {
    log(LogLevel::error, "dispatcher " + worker_id_ + ": could not write " +
                             std::to_string(succeed_pending_.size() + fail_pending_.size()) + " result(s) and " +
                             std::to_string(release_pending_.size()) +
                             " release(s) before giving up; their leases will expire and the jobs run again");
    finish();
}

void Engine::maybe_finish_stop() {
    if (phase_ != Phase::draining) return;
    for (auto& q : queues_) {
        if (q->held > 0) return;          // a handler is still running
        if (q->claim_in_flight) return;  // its jobs are handed back when it returns
    }
    if (!succeed_pending_.empty() || !fail_pending_.empty() || !release_pending_.empty()) return;
    if (writes_in_flight_ > 0 || release_in_flight_) return;
    if (work_ready_ && !progress_forgotten_) {
        // Everything is settled: nothing of ours is held, so our progress
        // rows tell reclaim nothing any more.
        progress_forgotten_ = true;
        work_->send({"", &sql_->forget_progress, {worker_id_}, {}, [this](PGresult*, std::exception_ptr) {
                         maybe_finish_stop();
                     }});
        return;
    }
    finish();
}

void Engine::finish() {
    if (phase_ == Phase::closing || phase_ == Phase::stopped) return;
    phase_ = Phase::closing;
    for (auto& q : queues_)
        for (std::size_t i = 0; i < q->threads.size(); ++i) q->tasks.enqueue(nullptr);

    auto closed = [](uv_handle_t* handle) { --static_cast<Engine*>(handle->data)->open_handles_; };
    auto close = [&](auto* handle) {
        auto* h = reinterpret_cast<uv_handle_t*>(handle);
        if (uv_is_closing(h)) return;
        h->data = this;
        ++open_handles_;
        uv_close(h, closed);
    };
    for (auto* timer : {&poll_timer_, &heartbeat_timer_, &reclaim_timer_, &grace_timer_, &give_up_timer_, &rate_timer_}) {
        uv_timer_stop(timer);
        close(timer);
    }
    for (auto& q : queues_) {
        close(&q->due_timer);
        close(&q->busy_timer);
    }
    if (options_.handle_signals) {
        close(&sigint_);
        close(&sigterm_);
    }
    for (auto* conn : {listen_.get(), work_.get(), complete_.get()}) {
        if (conn != nullptr) conn->close(nullptr);
    }
    if (metrics_server_) metrics_server_->close();
    listen_ready_ = work_ready_ = complete_ready_ = false;
    close_wake_when_workers_gone();
}

void Engine::announce_if_reconnected(const PgConnection& connection, std::string_view what) {
    if (connection.reconnects() == 0) return;
    publish(Reconnected{connection.name(), connection.last_attempts(), connection.last_downtime()});
    log(LogLevel::info, "dispatcher " + worker_id_ + ": " + std::string(what) + " connection is back");
}

void Engine::close_wake_when_workers_gone() {
    std::lock_guard lock(wake_mutex_);
    if (!wake_open_ || live_workers_ > 0) return;  // each exiting worker wakes us again
    wake_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
}

}  // namespace detail

// --- Dispatcher ----------------------------------------------------------------

Dispatcher::Dispatcher(PgJobStore& store, DispatcherOptions options)
    : engine_(std::make_unique<detail::Engine>(store, std::move(options), nullptr, std::type_index(typeid(void)),
                                               nullptr, nullptr)) {}

Dispatcher::Dispatcher(PgJobStore& store, DispatcherOptions options, std::shared_ptr<void> deps,
                       std::type_index deps_type, std::shared_ptr<EventBus> bus,
                       std::shared_ptr<PgJobStore> store_owner)
    : engine_(std::make_unique<detail::Engine>(store, std::move(options), std::move(deps), deps_type, std::move(bus),
                                               std::move(store_owner))) {}

Dispatcher::Dispatcher(Dispatcher&&) noexcept = default;
Dispatcher& Dispatcher::operator=(Dispatcher&&) noexcept = default;
Dispatcher::~Dispatcher() = default;

void Dispatcher::add_handler(HandlerEntry entry) { engine_->add_handler(std::move(entry)); }

Dispatcher& Dispatcher::on_raw(std::string job_type,
                               std::function<void(std::string_view payload, JobContext& ctx)> handler,
                               HandlerOptions options) {
    if (!handler) throw UsageError("on_raw: the handler must not be empty");
    add_handler(HandlerEntry{std::move(job_type), std::move(options), std::move(handler)});
    return *this;
}

void Dispatcher::start() { engine_->start(); }

void Dispatcher::run() {
    engine_->start();
    engine_->wait();
}

void Dispatcher::stop(std::optional<std::chrono::milliseconds> grace) { engine_->stop(grace); }
void Dispatcher::request_stop() noexcept { engine_->request_stop(); }
bool Dispatcher::running() const noexcept { return engine_ && engine_->running(); }
EventBus& Dispatcher::events() noexcept { return *engine_->bus_; }
MetricsSnapshot Dispatcher::metrics() const { return engine_->metrics(); }
int Dispatcher::metrics_port() const noexcept { return engine_->metrics_port(); }
const std::string& Dispatcher::worker_id() const noexcept { return engine_->worker_id_; }
PgJobStore& Dispatcher::store() noexcept { return engine_->store_; }

}  // namespace seesaw
