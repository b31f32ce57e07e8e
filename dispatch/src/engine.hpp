#pragma once
// The dispatcher's engine: the loop, its three connections, and the parts a
// job travels through, each owning its state:
//
//   Notifier    (notifier.hpp)    LISTEN connection: NOTIFY → wake a queue
//   Producer    (producer.hpp)    per queue: claims (SKIP LOCKED, as many as
//                                 there is room for), wake-up mode, prefetch,
//                                 due timers; hands jobs to the executor
//   Executor    (executor.hpp)    worker threads: decode, call the handler, report
//   Completer   (completer.hpp)   batched, fenced writes of results and hand-backs
//   take_report (report_step.hpp) a worker's report → producer, task, completer
//   FastPath    (fast_path.hpp)   jobs enqueuers of this process inserted running,
//                                 leased to us: reservations, in-memory hand-over
//   Maintainer  (maintainer.hpp)  heartbeats, timeouts, lease reclaim (one leader)
//   TaskRegistry                  every held task, from claim to settled (task.hpp
//                                 has the life of a task)
//
// The engine wires them, owns the loop and its handles, and runs the
// dispatcher's phases:
//
//   created ──start()──▶ running ──stop requested──▶ draining ──nothing held
//   (or the give-up deadline)──▶ closing ──every handle closed──▶ stopped
//
// Threading rules:
//  1. The loop thread owns loop_, every uv handle and every PGconn (inside
//     PgConnection), and every component but the executor's workers.
//  2. Other threads reach the loop only through Waker::send (an atomic and
//     uv_async_send: it coalesces, and is async-signal-safe).
//  3. Worker threads run handlers and report through the executor's
//     lock-free queue; they never touch a PGconn or a uv handle.
//  4. The loop never blocks: libpq is non-blocking (PgConnection).
//  5. No exception crosses a libuv callback (guarded()).
// Each field says which thread writes it and which reads it.

#include <uv.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <typeindex>

#include "completer.hpp"
#include "executor.hpp"
#include "fast_path.hpp"
#include "loop.hpp"
#include "maintainer.hpp"
#include "metrics.hpp"
#include "metrics_server.hpp"
#include "notifier.hpp"
#include "periodic.hpp"
#include "pg_connection.hpp"
#include "producer.hpp"
#include "retention.hpp"
#include "seesaw/dispatch/dispatcher.hpp"
#include "store_sql.hpp"
#include "task_registry.hpp"

namespace seesaw::detail {

// The one door into the loop from other threads, signal handlers included:
// an atomic flag and uv_async_send, nothing that locks.
class Waker {
public:
    void init(uv_loop_t* loop, void (*on_wake)(uv_async_t*), void* data);
    // Any thread. A send after close() does nothing.
    void send() noexcept;
    // Loop thread: waits out a send in progress, then closes the handle.
    void close() noexcept;

private:
    uv_async_t async_{};
    std::atomic<bool> open_{false};
    std::atomic<int> senders_{0};
};

enum class Phase { created, running, draining, closing, stopped };

class Engine {
public:
    Engine(PgJobStore& store, DispatcherOptions options, std::shared_ptr<void> deps, std::type_index deps_type,
           std::shared_ptr<EventBus> bus, std::shared_ptr<PgJobStore> store_owner);
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    ~Engine();

    // --- public API, called by the owner's thread -----------------------------
    void add_handler(HandlerEntry entry);
    void add_schedule(PeriodicEntry entry);
    void start();
    void wait();
    void stop(std::optional<std::chrono::milliseconds> grace);
    void request_stop() noexcept;  // any thread, async-signal-safe
    bool running() const noexcept { return running_.load(std::memory_order_acquire); }
    MetricsSnapshot metrics() const;
    int metrics_port() const noexcept { return metrics_port_; }
    EventBus& events() noexcept { return *bus_; }
    const std::string& worker_id() const noexcept { return environment_.worker_id; }
    PgJobStore& store() noexcept { return store_; }

private:
    // --- lifecycle (loop thread) ----------------------------------------------
    void loop_main();
    void open_connections();
    static void on_wake(uv_async_t* handle);
    void wake();
    void on_report(Report& report);
    void on_fast_arrival(FastPath::Arrival& arrival);
    void settle(Task& task);
    void begin_stop();
    void maybe_finish_stop();
    void finish();
    void close_waker_when_workers_gone();
    void announce_if_reconnected(const PgConnection& connection, std::string_view what);

    // Immutable after construction; read by any thread.
    PgJobStore& store_;
    const DispatcherOptions options_;
    std::shared_ptr<EventBus> bus_;
    std::shared_ptr<void> deps_;                // what environment_.deps points to
    std::shared_ptr<PgJobStore> store_owner_;  // keeps store_ alive (with_job_queue)
    RunEnvironment environment_;
    std::shared_ptr<const StoreSql> sql_;

    // Set by add_handler() before start(); read-only after.
    StringMap<std::unique_ptr<HandlerEntry>> handlers_;
    // Set by add_schedule() before start(); read-only after.
    std::vector<std::unique_ptr<PeriodicEntry>> schedules_;

    // Made by start() and published through metrics_ (read by any thread:
    // its snapshot is safe from any thread); the rest belongs to the loop.
    std::unique_ptr<MetricsRegistry> metrics_owner_;
    std::atomic<const MetricsRegistry*> metrics_{nullptr};
    std::unique_ptr<MetricsServer> metrics_server_;
    int metrics_port_ = 0;  // written by start(), read by any thread after it

    uv_loop_t loop_{};
    Waker waker_;
    Timer poll_timer_, heartbeat_timer_, reclaim_timer_, rate_timer_, grace_timer_, give_up_timer_;
    uv_signal_t sigint_{}, sigterm_{};
    std::unique_ptr<PgConnection> listen_;    // LISTEN only
    std::unique_ptr<PgConnection> work_;      // claims, heartbeats, maintenance
    std::unique_ptr<PgConnection> complete_;  // results (durable commit)
    TaskRegistry tasks_;
    std::unique_ptr<Executor> executor_;
    std::unique_ptr<Completer> completer_;
    std::unique_ptr<Producer> producer_;
    // Shared with the store (attached while running) and with enqueuers
    // holding a reservation: it outlives the engine.
    std::shared_ptr<FastPath> fast_path_;
    std::unique_ptr<Notifier> notifier_;
    std::unique_ptr<Maintainer> maintainer_;
    std::unique_ptr<Periodic> periodic_;    // follows the maintainer's leadership
    std::unique_ptr<Retention> retention_;  // likewise
    Phase phase_ = Phase::created;  // owner thread before start(), loop thread after
    bool progress_forgotten_ = false;  // the clean stop's last statement was sent
    bool resigning_ = false;           // the leader's resignation is not answered yet
    std::chrono::milliseconds grace_{0};

    // Owner thread(s) ↔ loop.
    bool started_ = false;  // owner thread only
    std::atomic<bool> running_{false};
    std::atomic<bool> stop_requested_{false};
    std::atomic<std::int64_t> stop_grace_ms_{-1};  // -1: options_.stop_grace
    std::thread loop_thread_;
    std::atomic<bool> joined_{false};
};

}  // namespace seesaw::detail
