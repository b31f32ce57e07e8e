// The engine's wiring and lifecycle (engine.hpp), and the public Dispatcher.
#include <csignal>
#include <random>
#include <set>

#include "engine.hpp"
#include "report_step.hpp"
#include "pg.hpp"
#include "seesaw/core/limits.hpp"
#include "seesaw/core/log.hpp"
#include "timing.hpp"

namespace seesaw {
namespace detail {
namespace {

// A delay drawn uniformly from ±20 % around base (at least 1 ms).
std::chrono::milliseconds jittered(std::chrono::milliseconds base) {
    thread_local std::mt19937 generator{std::random_device{}()};
    std::uniform_int_distribution<std::int64_t> spread(base.count() * 8 / 10, base.count() * 12 / 10);
    return std::chrono::milliseconds(std::max<std::int64_t>(1, spread(generator)));
}

// Generic plans, no sequential scans, no JIT: the planning settings of the
// dispatcher's connections, for its prepared statements. The same few
// statements run thousands of times, so they are planned once; a generic
// plan made while the table was tiny would scan it sequentially forever
// after, and every statement here has an index to use, so sequential scans
// are ruled out. The penalty that rules them out inflates the cost of the
// few statements that must scan (a one-row sequence) past jit_above_cost,
// and compiling them took 5-90 ms on the connection that claims: JIT never
// pays for statements this short. Sent as connection parameters (never as
// session state a pooler would leak) with prepared statements; behind a
// pooler in transaction mode, which refuses startup options (PgBouncer
// before 1.21), set in each statement's own transaction (planning_setup).
// The writes that may commit asynchronously (heartbeats, progress, the
// wake-up protocol's) say so in their own SQL.
const std::string planning_options = "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off -c jit=off";
// The same for one transaction, ahead of each statement, where startup
// options cannot go (a pooler in transaction mode). There the statements are
// planned for their parameters each time, and without it a batch of a few
// thousand results was planned as a hash join over a sequential scan of the
// whole jobs table (EXPLAIN ANALYZE: 31 ms against 20 ms over the primary
// key with 40,000 rows, and growing with every retained row).
const std::string planning_setup =
    "SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)";

}  // namespace

// --- Waker ------------------------------------------------------------------------

void Waker::init(uv_loop_t* loop, void (*on_wake)(uv_async_t*), void* data) {
    uv_check(uv_async_init(loop, &async_, on_wake), "uv_async_init");
    async_.data = data;
    open_.store(true);
}

void Waker::send() noexcept {
    // A sender counts itself in before it looks, so close() can wait it out.
    senders_.fetch_add(1);
    if (open_.load()) uv_async_send(&async_);
    senders_.fetch_sub(1);
}

void Waker::close() noexcept {
    if (!open_.exchange(false)) return;
    while (senders_.load() != 0) std::this_thread::yield();
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

// --- Engine -----------------------------------------------------------------------

Engine::Engine(PgJobStore& store, DispatcherOptions options, std::shared_ptr<void> deps, std::type_index deps_type,
               std::shared_ptr<EventBus> bus, std::shared_ptr<PgJobStore> store_owner)
    : store_(store),
      options_(std::move(options)),
      bus_(bus ? std::move(bus) : std::make_shared<EventBus>()),
      deps_(std::move(deps)),
      store_owner_(std::move(store_owner)),
      sql_(std::make_shared<const StoreSql>(store.schema(), store.options().delete_succeeded)) {
    environment_.worker_id = options_.worker_id.empty() ? make_worker_id() : options_.worker_id;
    environment_.store = &store_;
    environment_.bus = bus_.get();
    environment_.deps = deps_.get();
    environment_.deps_type = deps_type;
    if (options_.queues.empty()) throw UsageError("DispatcherOptions::queues must name at least one queue");
    for (std::size_t i = 0; i < options_.queues.size(); ++i) {
        const auto& q = options_.queues[i];
        validate_queue_name(q.name, "a queue name in DispatcherOptions::queues");
        if (q.workers == 0) throw UsageError("queue '" + q.name + "' needs at least one worker");
        for (std::size_t j = 0; j < i; ++j) {
            if (options_.queues[j].name == q.name) throw UsageError("queue '" + q.name + "' is listed twice");
        }
    }
    if (options_.poll_interval.count() <= 0) throw UsageError("DispatcherOptions::poll_interval must be positive");
    if (!options_.listen && !options_.listen_database_url.empty()) {
        throw UsageError("DispatcherOptions::listen_database_url is set but listen is false: a dispatcher that polls "
                         "only opens no listening connection");
    }
    if (options_.reclaim_interval.count() <= 0) {
        throw UsageError("DispatcherOptions::reclaim_interval must be positive");
    }
    if (options_.leader_ttl.count() <= 0) {
        throw UsageError("DispatcherOptions::leader_ttl must be positive (how long the maintenance leader's row "
                         "lasts without a renewal), got " + std::to_string(options_.leader_ttl.count()) + " ms");
    }
    for (const auto& [what, age] : {std::pair{"succeeded", options_.retention.succeeded},
                                    std::pair{"cancelled", options_.retention.cancelled},
                                    std::pair{"dead_letter", options_.retention.dead_letter}}) {
        if (age && age->count() < 0) {
            throw UsageError(std::string("DispatcherOptions::retention.") + what +
                             " must not be negative (keep_forever keeps every job), got " +
                             std::to_string(age->count()) + " ms");
        }
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
    if (entry.options.max_snoozes && *entry.options.max_snoozes < 0) {
        throw UsageError("max_snoozes for job type '" + entry.job_type + "' must not be negative, got " +
                         std::to_string(*entry.options.max_snoozes));
    }
    auto name = entry.job_type;
    handlers_.emplace(std::move(name), std::make_unique<HandlerEntry>(std::move(entry)));
}

void Engine::add_schedule(PeriodicEntry entry) {
    if (started_) throw UsageError("register schedules before the dispatcher starts");
    if (entry.name.empty()) throw UsageError("a periodic schedule needs a name");
    // The same limits as a job type: 1-255 bytes of UTF-8, no NUL.
    validate_job_type(entry.name, "a periodic schedule's name");
    validate_job_type(entry.job_type, "the job type of schedule '" + entry.name + "'");
    validate_queue_name(entry.queue, "the queue of schedule '" + entry.name + "'");
    for (const auto& existing : schedules_) {
        if (existing->name == entry.name) {
            throw UsageError("a periodic schedule named '" + entry.name + "' is registered already (" +
                             existing->schedule.expression() + "): each name once");
        }
    }
    schedules_.push_back(std::make_unique<PeriodicEntry>(std::move(entry)));
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
    std::vector<std::string> queue_names;
    std::vector<std::size_t> workers;
    for (const auto& q : options_.queues) {
        queue_names.push_back(q.name);
        workers.push_back(q.workers);
    }
    metrics_owner_ = std::make_unique<MetricsRegistry>(environment_.worker_id, queue_names, type_names, *bus_);

    uv_check(uv_loop_init(&loop_), "uv_loop_init");
    loop_.data = this;
    try {
        waker_.init(&loop_, &Engine::on_wake, this);
        poll_timer_.init(&loop_, [this] {
            producer_->poll();
            poll_timer_.start(jittered(options_.poll_interval));
        }, "poll timer");
        reclaim_timer_.init(&loop_, [this] {
            maintainer_->reclaim_tick();
            reclaim_timer_.start(jittered(options_.reclaim_interval));
        }, "reclaim timer");
        heartbeat_timer_.init(&loop_, [this] { maintainer_->heartbeat(); }, "heartbeat timer");
        rate_timer_.init(&loop_, [this] {
            // Start notices of long jobs come without a wake-up of their
            // own: take them (and whatever else the workers sent) now.
            wake();
            producer_->tick();
        }, "rate timer");
        grace_timer_.init(&loop_, [this] { maintainer_->interrupt_running(grace_); }, "grace timer");
        give_up_timer_.init(&loop_, [this] {
            log(LogLevel::error, "dispatcher " + worker_id() + ": could not write " +
                                     std::to_string(completer_->waiting_results()) + " result(s) and " +
                                     std::to_string(completer_->waiting_releases()) +
                                     " hand-back(s) before giving up; their leases will expire and the jobs run again");
            completer_->drop_waiting();
            finish();
        }, "give-up timer");
        if (options_.handle_signals) {
            for (auto* signal : {&sigint_, &sigterm_}) {
                uv_check(uv_signal_init(&loop_, signal), "uv_signal_init");
                signal->data = this;
            }
            auto on_signal = [](uv_signal_t* handle, int signum) {
                auto* self = static_cast<Engine*>(handle->data);
                log(LogLevel::info, "dispatcher " + self->worker_id() + " stopping on " +
                                        (signum == SIGINT ? "SIGINT" : "SIGTERM"));
                self->request_stop();
            };
            uv_check(uv_signal_start(&sigint_, on_signal, SIGINT), "uv_signal_start");
            uv_check(uv_signal_start(&sigterm_, on_signal, SIGTERM), "uv_signal_start");
        }
        if (!options_.metrics_listen.empty()) {
            metrics_server_ =
                std::make_unique<MetricsServer>(&loop_, [this] { return metrics_owner_->snapshot().to_prometheus(); });
            metrics_port_ = metrics_server_->listen(options_.metrics_listen);
            log(LogLevel::info, "dispatcher " + worker_id() + " serves metrics on port " + std::to_string(metrics_port_));
        }

        const Publisher publish(*bus_);
        const auto& conninfo = store_.pool().conninfo();
        PgConnection::Settings connection_settings;
        connection_settings.prepare = store_.options().prepared_statements;
        connection_settings.pipeline = !store_.options().transaction_pooling;
        if (connection_settings.prepare) connection_settings.startup_options = planning_options;
        if (store_.options().transaction_pooling) connection_settings.transaction_setup = planning_setup;
        connection_settings.transaction_setup_if_refused = planning_setup;
        auto reconnected = [](const PgConnection& c) { return c.reconnects() > 0; };
        PgConnection::Callbacks work;
        work.connected = [this, reconnected] {
            announce_if_reconnected(*work_, "claim");
            producer_->set_claiming(true, reconnected(*work_));
            if (work_->connected()) maintainer_->set_ready(true, reconnected(*work_));
        };
        work.lost = [this, publish](const std::string& error) {
            producer_->set_claiming(false, false);
            maintainer_->set_ready(false, false);
            publish(Disconnected{work_->name(), error});
        };
        work_ = std::make_unique<PgConnection>(&loop_, "claim", conninfo, std::move(work), connection_settings);
        PgConnection::Callbacks complete;
        complete.connected = [this] {
            announce_if_reconnected(*complete_, "result");
            completer_->set_ready(true);
        };
        complete.lost = [this, publish](const std::string& error) {
            completer_->set_ready(false);
            publish(Disconnected{complete_->name(), error});
        };
        complete_ = std::make_unique<PgConnection>(&loop_, "complete", conninfo, std::move(complete),
                                                   connection_settings);
        if (options_.listen) {
            PgConnection::Callbacks listen;
            listen.connected = [this] { notifier_->connected(); };
            listen.lost = [this, publish](const std::string& error) {
                notifier_->lost();
                publish(Disconnected{listen_->name(), error});
            };
            listen.notified = [this](PGnotify* notification) { notifier_->notified(*notification); };
            // LISTEN needs a session: behind a pooler in transaction mode,
            // a direct connection of its own (listen_database_url).
            listen_ = std::make_unique<PgConnection>(
                &loop_, "listen", options_.listen_database_url.empty() ? conninfo : options_.listen_database_url,
                std::move(listen), connection_settings);
        }

        executor_ = std::make_unique<Executor>(environment_, [this] { waker_.send(); });
        completer_ = std::make_unique<Completer>(
            *complete_, *sql_, environment_.worker_id, publish,
            Completer::Hooks{[this](Task& task) {
                                 settle(task);
                                 maybe_finish_stop();
                             },
                             [this](Task& task, std::chrono::milliseconds delay) { producer_->due_in(*task.queue, delay); }});
        if (options_.fast_path) {
            std::set<std::string, std::less<>> handled;
            for (const auto& [name, entry] : handlers_) handled.insert(name);
            fast_path_ = std::make_shared<FastPath>(environment_.worker_id, queue_names, std::move(handled),
                                                    [this] { waker_.send(); });
        }
        Producer::Settings producing;
        producing.worker_id = environment_.worker_id;
        producing.schema = store_.schema();
        producing.job_types_literal = std::move(types).finish();
        producing.lease = store_.lease_timeout();
        producing.durable_claims = options_.durable_claims;
        producing.listen = options_.listen;
        producing.poll_interval = options_.poll_interval;
        producing.busy_poll_interval = options_.busy_poll_interval;
        producing.fast_path = fast_path_.get();
        producer_ = std::make_unique<Producer>(
            &loop_, *work_, *sql_, tasks_, *executor_, *completer_, publish, options_.queues, std::move(producing),
            Producer::Hooks{[this](std::string_view type) -> const HandlerEntry* {
                                auto found = handlers_.find(type);
                                return found != handlers_.end() ? found->second.get() : nullptr;
                            },
                            [this] { return phase_ == Phase::running; }, [this] { maybe_finish_stop(); }});
        if (listen_) notifier_ = std::make_unique<Notifier>(
            *listen_, *sql_, store_.schema(), environment_.worker_id,
            Notifier::Hooks{[this](bool listening) {
                                if (listening) announce_if_reconnected(*listen_, "listen");
                                producer_->set_listening(listening);
                            },
                            [this, publish](std::string_view queue) {
                                if (auto* q = producer_->find(queue)) {
                                    publish(NotificationReceived{q->name});
                                    producer_->wake(*q);
                                }
                            },
                            [this](std::string_view queue, std::chrono::milliseconds delay) {
                                if (auto* q = producer_->find(queue)) producer_->due_in(*q, delay);
                            },
                            [this](const std::vector<JobId>& ids) { maintainer_->cancelled(ids); },
                            [this](std::string_view queue, bool paused) {
                                if (phase_ == Phase::running) producer_->set_paused(queue, paused);
                            }});
        Maintainer::Settings maintaining;
        maintaining.worker_id = environment_.worker_id;
        maintaining.schema = store_.schema();
        maintaining.lease = store_.lease_timeout();
        maintaining.reclaim_backoff = store_.options().retry_policy;
        maintaining.reclaim_interval = options_.reclaim_interval;
        maintaining.leader_ttl = options_.leader_ttl;
        // A write of a leader whose term is gone: it steps down.
        auto fenced_out = [this](std::int64_t term) { maintainer_->fenced_out(term); };
        std::vector<const PeriodicEntry*> schedules;
        for (const auto& entry : schedules_) schedules.push_back(entry.get());
        periodic_ = std::make_unique<Periodic>(&loop_, *work_, *sql_, publish, environment_.worker_id,
                                               std::move(schedules), fenced_out);
        std::vector<Retention::Period> periods;
        for (const auto& [status, age] : {std::pair{JobStatus::succeeded, options_.retention.succeeded},
                                          std::pair{JobStatus::cancelled, options_.retention.cancelled},
                                          std::pair{JobStatus::dead_letter, options_.retention.dead_letter}}) {
            if (age) periods.push_back({status, *age});
        }
        retention_ = std::make_unique<Retention>(&loop_, *work_, *sql_, publish, environment_.worker_id,
                                                 std::move(periods), fenced_out);
        maintainer_ = std::make_unique<Maintainer>(
            &loop_, *work_, *sql_, tasks_, *completer_, publish, std::move(maintaining),
            Maintainer::Hooks{[this](const Task& task) { return retry_delay(task, options_.retry_policy); },
                              [this] { producer_->look_for_due(); },
                              [this](bool leader, std::int64_t term) {
                                  periodic_->set_leader(leader && phase_ == Phase::running, term);
                                  retention_->set_leader(leader && phase_ == Phase::running, term);
                              }});
    } catch (...) {
        // Nothing runs yet: close what start() opened (the objects that own
        // handles first, so their close callbacks free them), then report.
        for (auto* connection : {listen_.get(), work_.get(), complete_.get()}) {
            if (connection != nullptr) connection->close(nullptr);
        }
        if (metrics_server_) metrics_server_->close();
        if (!close_all(&loop_)) log(LogLevel::error, "dispatcher: the loop closed with handles still open");
        metrics_owner_.reset();
        throw;
    }
    metrics_.store(metrics_owner_.get(), std::memory_order_release);
    phase_ = Phase::running;
    started_ = true;
    running_.store(true, std::memory_order_release);
    executor_->start(workers);
    // Until the claim connection is ready, no worker is offered as free.
    if (fast_path_) store_.attach_local_runner(fast_path_);
    loop_thread_ = std::thread([this] { loop_main(); });
}

void Engine::loop_main() {
    try {
        if (listen_) listen_->open();
        work_->open();
        complete_->open();
        // Poll and reclaim re-arm themselves with fresh jitter each time.
        poll_timer_.start(jittered(options_.poll_interval));
        reclaim_timer_.start(jittered(options_.reclaim_interval));
        auto heartbeat = options_.heartbeat_interval.count() > 0
                             ? options_.heartbeat_interval
                             : store_.lease_timeout() / timing::heartbeats_per_lease;
        heartbeat = std::max(heartbeat, std::chrono::milliseconds(10));
        heartbeat_timer_.start(heartbeat, heartbeat);
        rate_timer_.start(timing::rate_tick, timing::rate_tick);
        // A stop requested before the loop ran.
        if (stop_requested_.load()) waker_.send();
        log(LogLevel::info, "dispatcher " + worker_id() + " started: " + std::to_string(options_.queues.size()) +
                                " queue(s), schema " + store_.schema() + (options_.listen ? "" : ", poll only"));
        uv_check(uv_run(&loop_, UV_RUN_DEFAULT), "uv_run");
    } catch (const std::exception& e) {
        // The loop cannot go on: stop the workers (they exit once their
        // queues are empty; wait() joins them) and close everything.
        log(LogLevel::error, std::string("dispatcher loop failed: ") + e.what());
        guarded("stop after a failure", [this] { finish(); });
        uv_run(&loop_, UV_RUN_DEFAULT);
    }
    if (!close_all(&loop_)) log(LogLevel::error, "dispatcher loop closed with handles still open");
    phase_ = Phase::stopped;
}

void Engine::on_wake(uv_async_t* handle) {
    auto* self = static_cast<Engine*>(handle->data);
    guarded("wake-up", [self] { self->wake(); });
}

void Engine::wake() {
    if (stop_requested_.load(std::memory_order_acquire) && phase_ == Phase::running) begin_stop();
    executor_->drain([this](Report& report) { on_report(report); });
    if (fast_path_) fast_path_->drain([this](FastPath::Arrival& arrival) { on_fast_arrival(arrival); });
    if (phase_ == Phase::closing || phase_ == Phase::stopped) {
        close_waker_when_workers_gone();
        return;
    }
    completer_->flush();
    producer_->claim_where_wanted();
    maybe_finish_stop();
}

void Engine::on_report(Report& report) {
    const bool closing = phase_ == Phase::closing || phase_ == Phase::stopped;
    if (take_report(report, *producer_, *completer_, closing, options_.retry_policy)) settle(*report.task);
}

void Engine::on_fast_arrival(FastPath::Arrival& arrival) {
    if (phase_ == Phase::closing || phase_ == Phase::stopped) return;  // its lease expires
    if (!arrival.verify) {
        producer_->accept_fast(arrival.job);
        return;
    }
    // Its commit was in doubt: run it only if it is there, and ours.
    const std::string id = arrival.job.id.to_string();
    work_->send({"", &sql_->fast_verify, {id, worker_id()}, {},
                 [this, job = std::move(arrival.job)](const PGresult* result, const StatementFailure* failure) {
                     if (failure != nullptr || PQntuples(result) != 1) return;  // not there (or: its lease expires)
                     if (phase_ == Phase::running || phase_ == Phase::draining) producer_->accept_fast(job);
                 }});
}

void Engine::settle(Task& task) {
    producer_->settled(task);
    tasks_.retire(task);
}

MetricsSnapshot Engine::metrics() const {
    const auto* metrics = metrics_.load(std::memory_order_acquire);
    if (metrics == nullptr) {
        MetricsSnapshot empty;
        empty.worker_id = worker_id();
        return empty;
    }
    return metrics->snapshot();
}

void Engine::request_stop() noexcept {
    stop_requested_.store(true, std::memory_order_release);
    waker_.send();
}

void Engine::wait() {
    if (!loop_thread_.joinable() || joined_.exchange(true)) return;
    loop_thread_.join();
    executor_->join();
    running_.store(false, std::memory_order_release);
    const Publisher publish(*bus_);
    publish(DispatcherStopped{completer_->released()});
    log(LogLevel::info, "dispatcher " + worker_id() + " stopped");
}

void Engine::stop(std::optional<std::chrono::milliseconds> grace) {
    if (!loop_thread_.joinable()) return;
    if (executor_ && executor_->on_worker_thread())
        throw UsageError("stop() was called from a handler; use request_stop() there");
    if (grace) stop_grace_ms_.store(std::max<std::int64_t>(0, grace->count()), std::memory_order_relaxed);
    request_stop();
    wait();
}

// --- graceful stop (loop thread) --------------------------------------------

void Engine::begin_stop() {
    phase_ = Phase::draining;
    const auto requested = stop_grace_ms_.load(std::memory_order_relaxed);
    grace_ = requested >= 0 ? std::chrono::milliseconds(requested) : options_.stop_grace;
    log(LogLevel::info, "dispatcher " + worker_id() + " stopping: " + std::to_string(tasks_.size()) +
                            " job(s) held, grace " + std::to_string(grace_.count()) + " ms");
    poll_timer_.stop();
    reclaim_timer_.stop();
    rate_timer_.stop();
    periodic_->stop();
    retention_->stop();
    producer_->stop();
    // Enqueuers take no more workers; the jobs they are inserting arrive
    // and go back to the queue.
    if (fast_path_) {
        fast_path_->stop_reserving();
        store_.detach_local_runner(fast_path_.get());
    }
    // Jobs no worker has taken go back to the queue at once.
    for (const auto& q : producer_->queues()) producer_->hand_back_unstarted(*q);
    completer_->flush();
    grace_timer_.start(grace_);
    // If the database stays away, give up on unwritten results after another
    // grace period (their leases expire and the jobs are retried).
    give_up_timer_.start(grace_ + std::max(grace_, std::chrono::milliseconds(5000)));
    // The leader gives its row up after its last writes (one connection, in
    // order): another dispatcher leads at once. The connection stays open
    // until the answer (or the give-up timer).
    resigning_ = true;
    maintainer_->resign([this] {
        resigning_ = false;
        maybe_finish_stop();
    });
    maybe_finish_stop();
}

void Engine::maybe_finish_stop() {
    if (phase_ != Phase::draining) return;
    for (const auto& q : producer_->queues()) {
        if (q->held > 0) return;  // a handler is still running
    }
    if (producer_->claim_in_flight()) return;  // its jobs are handed back when it returns
    if (fast_path_ && fast_path_->outstanding() > 0) return;  // an enqueuer is inserting a job leased to us
    if (!completer_->idle()) return;
    if (resigning_) return;
    if (producer_->claiming() && !progress_forgotten_) {
        // Everything is settled: nothing of ours is held, so our progress
        // rows tell reclaim nothing any more.
        progress_forgotten_ = true;
        work_->send({"", &sql_->forget_progress, {worker_id()}, {},
                     [this](const PGresult*, const StatementFailure*) { maybe_finish_stop(); }});
        return;
    }
    finish();
}

void Engine::finish() {
    if (phase_ == Phase::closing || phase_ == Phase::stopped) return;
    phase_ = Phase::closing;
    if (fast_path_) {
        fast_path_->close();
        store_.detach_local_runner(fast_path_.get());
    }
    executor_->finish();  // workers exit once their queues are empty
    for (auto* timer : {&poll_timer_, &heartbeat_timer_, &reclaim_timer_, &rate_timer_, &grace_timer_, &give_up_timer_})
        timer->stop();
    periodic_->stop();
    retention_->stop();
    maintainer_->stop();
    if (options_.handle_signals) {
        uv_signal_stop(&sigint_);
        uv_signal_stop(&sigterm_);
    }
    for (auto* connection : {listen_.get(), work_.get(), complete_.get()}) {
        if (connection != nullptr) connection->close(nullptr);
    }
    if (metrics_server_) metrics_server_->close();
    close_waker_when_workers_gone();
}

void Engine::close_waker_when_workers_gone() {
    // Each exiting worker wakes the loop again.
    if (executor_->live_workers() == 0) waker_.close();
}

void Engine::announce_if_reconnected(const PgConnection& connection, std::string_view what) {
    if (connection.reconnects() == 0) return;
    const Publisher publish(*bus_);
    publish(Reconnected{connection.name(), connection.last_attempts(), connection.last_downtime()});
    log(LogLevel::info, "dispatcher " + worker_id() + ": " + std::string(what) + " connection is back");
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
void Dispatcher::add_schedule(PeriodicEntry entry) { engine_->add_schedule(std::move(entry)); }

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
EventBus& Dispatcher::events() noexcept { return engine_->events(); }
MetricsSnapshot Dispatcher::metrics() const { return engine_->metrics(); }
int Dispatcher::metrics_port() const noexcept { return engine_->metrics_port(); }
const std::string& Dispatcher::worker_id() const noexcept { return engine_->worker_id(); }
PgJobStore& Dispatcher::store() noexcept { return engine_->store(); }

}  // namespace seesaw
