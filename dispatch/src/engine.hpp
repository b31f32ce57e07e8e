#pragma once
// The dispatcher's engine. Its parts, each in its own file, in the order a
// job travels:
//   notifier.cpp    LISTEN connection: NOTIFY → wake a queue
//   producer.cpp    claims per queue (free slots), poll and scheduled timers
//   executor.cpp    worker threads: decode, call the handler, report
//   completer.cpp   batched, fenced writes of results
//   maintenance.cpp heartbeats, timeouts, lease reclaim (one leader)
//   dispatcher.cpp  start, stop, the public API
//
// Threading rules:
//  1. The loop thread owns loop_, every uv handle and every PGconn (inside
//     PgConnection). Nothing else touches them.
//  2. Other threads reach the loop only through a lock-free queue plus
//     uv_async_send on wake_ (it coalesces: each wake-up drains everything).
//  3. Worker threads run handlers and push completions; they never touch a
//     PGconn or a uv handle.
//  4. The loop never blocks: libpq is non-blocking (PgConnection).
//  5. No exception crosses a libuv callback (each callback catches).
// Each field below says which thread writes it and which reads it.

#include <uv.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include "handoff.hpp"
#include "metrics.hpp"
#include "metrics_server.hpp"
#include "pg_connection.hpp"
#include "seesaw/dispatch/dispatcher.hpp"
#include "start_watermark.hpp"
#include "store_sql.hpp"

namespace seesaw::detail {

using SteadyClock = std::chrono::steady_clock;

struct QueueState;

// One claimed run of a job. Owned by Engine::in_flight_ (loop thread) from
// the claim until both its handler has returned and its result is settled
// (written, or dropped because the lease was lost).
struct Task {
    // Written by the loop before the hand-off; read-only afterwards.
    std::uint64_t serial = 0;  // unique per claim: the same job may be claimed again while a lost run still runs
    JobId id;
    std::string payload;
    const HandlerEntry* handler = nullptr;
    QueueState* queue = nullptr;
    std::int32_t attempt = 1;
    std::int32_t max_retries = 0;
    std::int32_t version = 1;
    std::int32_t priority = 0;
    Timestamp run_at{};
    Timestamp created_at{};
    // Claimed ahead of the workers: its place in the queue's StartWatermark.
    // 0: went straight to a free worker (the claim counts as its start).
    std::int64_t ticket = 0;

    // Written by the loop, read by the worker (the handler's ctx.cancelled()).
    std::atomic<bool> cancelled{false};
    std::atomic<bool> lease_lost{false};
    // Written by the worker when the handler starts (steady clock, ns since
    // epoch; 0: not started), read by the loop for timeouts.
    std::atomic<std::int64_t> started_ns{0};
    // Written by the loop (claim, heartbeat), read by the worker: after this
    // (steady clock, ns since epoch) the lease may have expired, so a worker
    // does not start the job; it is handed back.
    std::atomic<std::int64_t> start_deadline_ns{0};

    // Loop thread only.
    std::chrono::nanoseconds run_time{};  // the handler's, once it returned
    bool handler_done = false;  // the worker returned it (or it never ran)
    bool settled = false;       // its result was written or dropped
    bool abandoned = false;     // not ours any more: no heartbeat, no late write
    bool write_unknown = false;  // a write of its result was cut off: it may have committed

    JobRef ref() const;
};

// started: not an outcome but a notice that a job with a ticket started
// (its StartWatermark may move on); the job's outcome follows.
enum class Outcome { succeeded, retryable, permanent, skipped, started };

// Worker → loop, through Engine::completions_.
struct Completion {
    Task* task = nullptr;
    Outcome outcome = Outcome::skipped;
    std::string error;
    std::chrono::nanoseconds duration{};
};

// A failure waiting to be written (loop thread only).
struct FailRecord {
    Task* task = nullptr;
    std::string error;
    ErrorKind kind = ErrorKind::retryable;
    std::chrono::milliseconds delay{};
    std::chrono::nanoseconds duration{};
    bool published = false;  // timeouts publish LeaseLost themselves
};

// How a queue learns of new jobs (wakeup.cpp). armed: idle, producers NOTIFY
// us; busy: we claim continuously and producers do not notify (they commit in
// parallel); unregistered: poll only, or not connected yet.
enum class WakeMode { unregistered, arming, armed, busy };

struct QueueState {
    QueueState(const QueueOptions& options, std::int64_t first_ticket)
        : name(options.name),
          workers(options.workers),
          fixed_prefetch(options.prefetch),
          capacity(options.workers + options.prefetch.value_or(options.workers)),
          next_ticket(first_ticket),
          progress(first_ticket) {}

    const std::string name;
    const std::size_t workers;
    const std::optional<std::size_t> fixed_prefetch;  // unset: adaptive (wakeup.cpp)

    // Loop thread only.
    std::size_t capacity;  // claims never hold more than this: workers + prefetch
    std::size_t completed_in_window = 0;  // handler returns since the last rate tick
    double completion_rate = 0;           // jobs/s, smoothed
    double claim_seconds = 0.002;         // claim round trip, smoothed
    SteadyClock::time_point claim_sent_at{};

    std::size_t held = 0;          // claimed and not yet returned by a worker
    std::int64_t next_ticket;      // the tickets of the next claim are above it
    StartWatermark progress;       // how far the workers got through held jobs
    bool claim_in_flight = false;  // at most one claim per queue at a time
    bool claim_again = false;      // a wake-up came while the claim was in flight
    bool wanted = true;            // there may be due jobs to claim
    bool due_check = true;         // ask when the next scheduled job is due
    bool due_check_in_flight = false;
    uv_timer_t due_timer{};        // fires when the next scheduled job is due
    std::optional<SteadyClock::time_point> due_at;
    WakeMode wake = WakeMode::unregistered;
    std::uint32_t wake_generation = 0;  // bumped by each arm, to ignore stale answers
    std::size_t claimed_in_window = 0;  // jobs claimed since the last rate tick
    std::uint32_t quiet_ticks = 0;      // busy: rate ticks in a row without producer contention
    uv_timer_t busy_timer{};            // busy mode: the next claim after a short one
    std::chrono::milliseconds busy_delay{0};  // busy mode: grows while claims come back empty

    // Loop → workers (lock-free hand-off). nullptr tells a worker to exit.
    moodycamel::BlockingConcurrentQueue<Task*, HandoffTraits> tasks;
    // Started and joined by the thread calling start()/stop().
    std::vector<std::thread> threads;
};

enum class Phase { created, running, draining, closing, stopped };

// Generic plans, no sequential scans, no JIT: the planning settings of the
// dispatcher's connections (producer.cpp says why).
extern const std::string generic_plans;

// A delay drawn uniformly from ±20 % around base (at least 1 ms).
std::uint64_t jittered_ms(std::chrono::milliseconds base);
// Runs f, logging what it throws: no exception may cross a libuv callback.
void guarded(const char* what, const std::function<void()>& f) noexcept;

class Engine {
public:
    Engine(PgJobStore& store, DispatcherOptions options, std::shared_ptr<void> deps, std::type_index deps_type,
           std::shared_ptr<EventBus> bus, std::shared_ptr<PgJobStore> store_owner);
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    ~Engine();

    // --- public API (dispatcher.cpp), called by the owner's thread ---------
    void add_handler(HandlerEntry entry);
    void start();
    void wait();
    void stop(std::optional<std::chrono::milliseconds> grace);
    void request_stop() noexcept;
    bool running() const noexcept { return running_.load(std::memory_order_acquire); }
    MetricsSnapshot metrics() const;
    int metrics_port() const noexcept { return metrics_port_; }

    // Immutable after construction; read by any thread.
    PgJobStore& store_;
    const DispatcherOptions options_;
    const std::string worker_id_;
    std::shared_ptr<void> deps_;
    const std::type_index deps_type_;
    std::shared_ptr<EventBus> bus_;

private:
    friend class seesaw::JobContext;

    // --- lifecycle (dispatcher.cpp), loop thread ----------------------------
    void loop_main();
    static void on_wake(uv_async_t* handle);
    void wake();
    void begin_stop();
    void on_grace_expired();
    void give_up();
    void maybe_finish_stop();
    void finish();
    void close_wake_when_workers_gone();
    // After a connection's session is set up again: a Reconnected event and
    // a log line ("<what> connection is back"), unless it is the first.
    void announce_if_reconnected(const PgConnection& connection, std::string_view what);

    // --- notifier.cpp --------------------------------------------------------
    void open_listen_connection();
    void on_listen_connected();
    void on_notification(PGnotify* notification);

    // --- producer.cpp --------------------------------------------------------
    void open_work_connection();
    // After a claim was cut off with the connection: hands back the jobs it
    // may have leased to us (we never saw them).
    void release_unknown_claims();
    void wake_queue(QueueState& queue);
    void wake_all_queues();
    void try_claim(QueueState& queue);
    void on_claimed(QueueState& queue, std::size_t limit, std::size_t free_workers, PGresult* result);
    void check_next_due(QueueState& queue);
    void arm_due_timer(QueueState& queue, std::chrono::milliseconds delay);
    void on_poll_tick();
    QueueState* find_queue(std::string_view name) noexcept;

    // --- wakeup.cpp (loop thread) --------------------------------------------
    void arm_all_if_ready();
    void arm(QueueState& queue);
    void go_busy(QueueState& queue);
    void on_rate_tick();
    void schedule_busy_claim(QueueState& queue, bool found_jobs);
    void decide_wake_modes(std::int64_t contention);
    void adapt_prefetch(QueueState& queue);
    void grow_prefetch(QueueState& queue);

    // --- executor.cpp (worker threads) ---------------------------------------
    void start_workers();
    void worker_main(QueueState& queue);
    void run_task(Task& task, Completion& completion);

    // --- completer.cpp (loop thread) ---------------------------------------------
    void open_complete_connection();
    void drain_completions();
    void on_completion(Completion& completion);
    void flush_completions();
    void on_succeed_written(std::vector<Task*> batch, PGresult* result, std::exception_ptr error);
    void on_fail_written(std::vector<FailRecord> batch, PGresult* result, std::exception_ptr error);
    void flush_releases();
    void retire_if_done(Task* task);
    std::chrono::milliseconds retry_delay(const Task& task) const;

    // --- maintenance.cpp (loop thread) ---------------------------------------------
    void on_heartbeat_tick();
    // Writes each queue's StartWatermark where it moved (work connection).
    void flush_progress();
    void on_reclaim_tick();
    void run_reclaim();
    void time_out(Task& task, std::chrono::milliseconds timeout);
    void lose_lease(Task& task, std::string_view reason);

    // A libuv timer callback that calls Method on the engine in timer->data.
    template <void (Engine::*Method)()>
    static void on_timer(uv_timer_t* timer) noexcept {
        auto* self = static_cast<Engine*>(timer->data);
        guarded("timer", [self] { (self->*Method)(); });
    }

    // Publishes on the bus when anyone listens (any thread).
    template <class E>
    void publish(const E& event) const {
        if (bus_->has_subscribers<E>()) bus_->publish(event);
    }

    // Set by the constructor and add_handler() before start(); read-only after.
    std::shared_ptr<PgJobStore> store_owner_;
    std::shared_ptr<const StoreSql> sql_;
    std::vector<std::unique_ptr<QueueState>> queues_;
    StringMap<std::unique_ptr<HandlerEntry>> handlers_;  // looked up by string_view
    std::string job_types_literal_;  // text[] of the handled types, for the claim
    std::string lease_ms_;           // the store's lease timeout, as a parameter
    std::unique_ptr<MetricsRegistry> metrics_;       // made by start(); read by any thread
    std::unique_ptr<MetricsServer> metrics_server_;  // loop thread (bound by start())
    int metrics_port_ = 0;

    // The loop and its handles: loop thread only (after start()).
    uv_loop_t loop_{};
    uv_async_t wake_{};  // the one door in from other threads
    uv_timer_t poll_timer_{};
    uv_timer_t heartbeat_timer_{};
    uv_timer_t reclaim_timer_{};
    uv_timer_t grace_timer_{};
    uv_timer_t give_up_timer_{};
    uv_timer_t rate_timer_{};  // wake-mode decisions, every 100 ms
    std::uint32_t rate_ticks_ = 0;
    std::int64_t last_contention_ = -1;  // producer_contention at the last tick
    bool contention_in_flight_ = false;
    uv_signal_t sigint_{};
    uv_signal_t sigterm_{};
    std::unique_ptr<PgConnection> listen_;    // LISTEN only
    std::unique_ptr<PgConnection> work_;      // claims, heartbeats, maintenance (async commit)
    std::unique_ptr<PgConnection> complete_;  // results (durable commit)
    bool listen_ready_ = false;
    bool work_ready_ = false;
    bool complete_ready_ = false;
    std::string ready_channel_;
    std::string scheduled_channel_;
    Phase phase_ = Phase::created;  // loop thread after start(); owner thread before
    bool leader_ = false;           // holds the maintenance advisory lock (on work_)
    bool claim_in_doubt_ = false;   // a claim was cut off by a lost connection
    bool heartbeat_in_flight_ = false;
    bool reclaim_in_flight_ = false;
    std::uint32_t reclaim_ticks_ = 0;
    int open_handles_ = 0;  // handles not yet closed during finish()

    std::unordered_map<std::uint64_t, std::unique_ptr<Task>> in_flight_;  // by Task::serial
    std::uint64_t next_serial_ = 1;
    std::vector<Task*> succeed_pending_;
    std::vector<FailRecord> fail_pending_;
    std::vector<Task*> release_pending_;
    int writes_in_flight_ = 0;    // succeed/fail statements sent, not answered
    bool release_in_flight_ = false;
    bool progress_forgotten_ = false;  // the clean stop's last statement was sent
    std::size_t released_ = 0;    // jobs handed back unrun by stop()

    // Workers → loop.
    moodycamel::ConcurrentQueue<Completion> completions_;

    // Owner thread(s) ↔ loop.
    bool started_ = false;  // owner thread only
    std::atomic<bool> running_{false};
    std::atomic<bool> stop_requested_{false};
    std::atomic<std::int64_t> stop_grace_ms_{-1};  // -1: options_.stop_grace
    // wake_ stays open until every worker thread has exited, so workers send
    // on it without a lock. Other threads (request_stop) and the workers'
    // last goodbye take wake_mutex_, as does the loop when it closes wake_.
    std::mutex wake_mutex_;
    bool wake_open_ = false;  // guarded by wake_mutex_
    int live_workers_ = 0;    // guarded by wake_mutex_
    std::thread loop_thread_;
    std::mutex join_mutex_;  // one thread joins the loop and the workers
    bool joined_ = false;    // guarded by join_mutex_
};

}  // namespace seesaw::detail
