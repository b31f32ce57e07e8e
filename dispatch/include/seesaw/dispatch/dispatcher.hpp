#pragma once
// The dispatcher: an in-process, event-driven job runner.
//
//   seesaw::Dispatcher dispatcher(store, {.queues = {{"default", 8}, {"mail", 2}}});
//   dispatcher.on<SendEmail>([&](const SendEmail& job, seesaw::JobContext& ctx) { ... });
//   dispatcher.run();  // blocks until stop(); or start() + stop(grace)
//
// One loop thread owns a libuv loop and the dispatcher's database connections.
// An INSERT's NOTIFY wakes it; it claims jobs (FOR UPDATE SKIP LOCKED, as many
// as the queue has free slots), hands them to worker threads through a
// lock-free queue, and writes their results back in batches. Polling, lease
// reclaim, heartbeats and scheduled-job timers run on the same loop.
//
// A handler returns normally for success, throws seesaw::RetryableError (or
// any other exception) to retry with backoff (or after the delay it gives),
// seesaw::PermanentError to dead-letter the job at once, seesaw::Snooze to
// run again later without a failed attempt, or seesaw::CancelJob to end the
// job as cancelled.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <vector>

#include "seesaw/core/error.hpp"
#include "seesaw/core/event_bus.hpp"
#include "seesaw/core/events.hpp"
#include "seesaw/core/job.hpp"
#include "seesaw/core/job_traits.hpp"
#include "seesaw/core/retry_policy.hpp"
#include "seesaw/core/schedule.hpp"
#include "seesaw/dispatch/metrics.hpp"
#include "seesaw/store/pg_job_store.hpp"

namespace seesaw {

struct QueueOptions {
    QueueOptions(std::string queue_name, std::size_t worker_threads = 8,
                 std::optional<std::size_t> prefetch_jobs = std::nullopt)
        : name(std::move(queue_name)), workers(worker_threads), prefetch(prefetch_jobs) {}
    QueueOptions(const char* queue_name, std::size_t worker_threads = 8,
                 std::optional<std::size_t> prefetch_jobs = std::nullopt)
        : QueueOptions(std::string(queue_name), worker_threads, prefetch_jobs) {}

    std::string name;
    // Handler threads of this queue.
    std::size_t workers = 8;
    // Jobs claimed ahead of a free thread (they wait in memory, leased and
    // heartbeated). Claims never exceed workers + prefetch minus the jobs the
    // queue already holds. Unset (the default): adaptive, from `workers` up to
    // max_adaptive_prefetch, sized to cover several claim round trips at the
    // rate handlers finish jobs — many for quick jobs (fewer, larger claims),
    // few for slow ones (so idle dispatchers elsewhere get the work).
    std::optional<std::size_t> prefetch = std::nullopt;
    static constexpr std::size_t max_adaptive_prefetch = 1024;
};

// How long the maintenance leader keeps finished jobs, by state, after
// their last update (the database's clock). keep_forever: never deleted.
inline constexpr std::nullopt_t keep_forever = std::nullopt;
struct RetentionOptions {
    std::optional<std::chrono::milliseconds> succeeded = std::chrono::hours(24);
    std::optional<std::chrono::milliseconds> cancelled = std::chrono::hours(24);
    std::optional<std::chrono::milliseconds> dead_letter = std::chrono::hours(24 * 7);
};

struct DispatcherOptions {
    std::vector<QueueOptions> queues = {QueueOptions("default", 8)};
    // Wake on NOTIFY. false: poll only (e.g. behind PgBouncer in transaction
    // mode with no direct connection for listen_database_url).
    bool listen = true;
    // Where the one LISTEN connection goes; empty: the store's database URL.
    // LISTEN needs a session of its own, which a pooler in transaction mode
    // does not keep: behind PgBouncer, give the server's direct URL here, and
    // claims and results still go through the pooler while wake-ups stay
    // instant. Must reach the same database as the store.
    std::string listen_database_url = {};
    // The fallback poll, jittered by ±20 %. With listen = false it is the
    // only way new jobs are found.
    std::chrono::milliseconds poll_interval{2000};
    // While producers' transactions overlap (each NOTIFY would serialize
    // their commits) a queue with work stops asking them for NOTIFY and
    // claims continuously: again right after a full claim, and
    // busy_poll_interval after a short one (doubling, up to 32×, while claims
    // come back empty). It asks for NOTIFY again when the overlap ends.
    std::chrono::milliseconds busy_poll_interval{1};
    // How often the maintenance leader (one dispatcher per schema, the
    // holder of the schema's leader row) reclaims expired leases.
    std::chrono::milliseconds reclaim_interval{5000};
    // How long the maintenance leader's row (schema.leaders) stays its own
    // without a renewal. The leader renews it every reclaim_interval and at
    // least three times per leader_ttl; another dispatcher takes it over
    // once it has expired, under a new term that fences every write of the
    // old leader out. A leader that dies (or hangs, or loses its connection)
    // is replaced within about leader_ttl; a clean stop resigns at once. A
    // row, not a session lock: the same through PgBouncer in transaction mode.
    std::chrono::milliseconds leader_ttl{15000};
    // Finished jobs older than this are deleted by the maintenance leader,
    // in batches, at least once a minute (and at least as often as the
    // shortest period).
    RetentionOptions retention = {};
    // How often the leases of held jobs are extended; 0: a third of the
    // store's lease timeout.
    std::chrono::milliseconds heartbeat_interval{0};
    // Claims commit durably (synchronous_commit = on for the claim's
    // transaction) before any handler starts on them, so a server crash
    // cannot undo a claim whose handler runs: the same attempt never runs
    // twice. false: claims commit asynchronously (a WAL flush less on the
    // latency path), and a server crash may hand an attempt that is already
    // running to another worker.
    bool durable_claims = true;
    // Backoff for handler failures of types registered without their own.
    RetryPolicy retry_policy = {};
    // Identifies this dispatcher's leases; empty: "<host>:<pid>:<random>".
    std::string worker_id = {};
    // SIGINT/SIGTERM start a graceful stop (with stop_grace); run() returns
    // when it is done.
    bool handle_signals = false;
    std::chrono::milliseconds stop_grace{30'000};
    // The in-process fast path: while this dispatcher runs, a single-job
    // enqueue through its store (enqueue, insert, enqueue_in with a
    // Transaction) for one of its queues, of a type it handles, due at once,
    // without a unique key, while the queue has a free worker and no due job
    // of a higher priority waiting (the insert itself checks), and is not
    // busy (producers overlapping: its claims batch them), is inserted
    // already running,
    // leased to this dispatcher, and handed to that worker in memory once it
    // commits: no NOTIFY, no claim. false: every job is claimed.
    bool fast_path = true;
    // Serve GET /metrics (Prometheus text) on the dispatcher's own loop, e.g.
    // "127.0.0.1:9464" (port 0: any free port, see metrics_port()). Empty: off.
    std::string metrics_listen = {};
};

struct HandlerOptions {
    // After this long a running job's lease is no longer extended; the job is
    // failed as retryable and its handler sees ctx.cancelled(). Unset: none.
    std::optional<std::chrono::milliseconds> timeout = std::nullopt;
    // Backoff for this type's failures; unset: DispatcherOptions::retry_policy.
    std::optional<RetryPolicy> retry_policy = std::nullopt;
    // How many times one job of this type may snooze (Snooze). Past it, a
    // snooze is a retryable failure ("snoozed again after N snooze(s), the
    // limit ..."): it uses up an attempt, and the job is dead-lettered when
    // none are left. Unset: JobTraits<T>::max_snoozes, else
    // default_max_snoozes (100).
    std::optional<std::int32_t> max_snoozes = std::nullopt;
};

namespace detail {
struct Task;
struct RunEnvironment;
class Engine;
}  // namespace detail

// What a handler knows about the run it is in. Valid during the call only.
class JobContext {
public:
    const JobId& id() const noexcept;
    std::string_view job_type() const noexcept;
    std::string_view queue() const noexcept;
    // The run's number: 1 on the first, one more after each retry, snooze
    // or run lost before it started.
    std::int32_t attempt() const noexcept;
    std::int32_t max_retries() const noexcept;
    // Runs of this job that snoozed before this one.
    std::int32_t snoozes() const noexcept;
    std::int32_t version() const noexcept;
    Timestamp created_at() const noexcept;
    Timestamp run_at() const noexcept;
    std::string_view payload() const noexcept;
    const std::string& worker_id() const noexcept;

    // The dispatcher no longer owns this job: it was cancelled
    // (PgJobStore::cancel), its lease was reclaimed, its timeout passed, or
    // shutdown's grace period ran out. Whatever the handler does now is not
    // written; stop as soon as you can.
    bool cancelled() const noexcept;
    // Ends the run: the job runs again after `delay` and this run does not
    // count as a failed attempt (throws Snooze; let it propagate).
    [[noreturn]] void snooze(std::chrono::milliseconds delay) const;
    // The lease was lost (reclaimed, or not extended past the timeout).
    bool lease_lost() const noexcept;

    // The store, for enqueueing follow-up jobs.
    PgJobStore& store() const noexcept;
    EventBus& events() const noexcept;
    // The dependencies given to Dispatcher::with_job_queue. Throws UsageError
    // when they are not a Deps.
    template <class Deps>
    Deps& deps() const {
        auto [ptr, type] = deps_any();
        if (ptr == nullptr || type != std::type_index(typeid(Deps)))
            throw UsageError("JobContext::deps<T>(): the dispatcher was not given dependencies of this type");
        return *static_cast<Deps*>(ptr);
    }

    JobContext(const detail::Task& task, const detail::RunEnvironment& environment) noexcept
        : task_(task), environment_(environment) {}

private:
    std::pair<void*, std::type_index> deps_any() const noexcept;
    const detail::Task& task_;
    const detail::RunEnvironment& environment_;
};

// A registered handler, with the type hidden (River's AddWorker shape).
// A periodic schedule's options (Dispatcher::every).
struct PeriodicOptions {
    // The slot's job goes to this queue, with this priority and max_retries;
    // unset: the job type's defaults (JobTraits), else the seed's.
    std::optional<std::string> queue = std::nullopt;
    std::optional<std::int32_t> priority = std::nullopt;
    std::optional<std::int32_t> max_retries = std::nullopt;
    // When the leader was away for slots (every dispatcher down, or none
    // leading), it inserts the latest missed slot once when it is back.
    // false: missed slots are skipped.
    bool catch_up = true;
};

// A registered schedule (Dispatcher::every).
struct PeriodicEntry {
    std::string name;
    Schedule schedule;
    std::string job_type;
    std::string queue;  // where its jobs go
    bool catch_up = true;
    // The slot's job, its unique key set (loop thread; may throw).
    std::function<NewJob(const std::string& unique_key)> make_job;
};

struct HandlerEntry {
    std::string job_type;
    HandlerOptions options;
    // Decodes the payload and calls the typed handler.
    std::function<void(std::string_view payload, JobContext& ctx)> invoke;
    // Or, for a handler that takes a Transaction: the job's success commits
    // in that transaction.
    std::function<void(std::string_view payload, JobContext& ctx, Transaction& transaction)> invoke_in_transaction = {};
};

class Dispatcher {
public:
    explicit Dispatcher(PgJobStore& store, DispatcherOptions options = {});
    // The seed's shape: the application's shared dependencies (reached by
    // handlers through ctx.deps<Deps>()), an event bus and the job store.
    template <class Deps>
    static Dispatcher with_job_queue(std::shared_ptr<Deps> deps, std::shared_ptr<EventBus> bus,
                                     std::shared_ptr<PgJobStore> store, DispatcherOptions options = {}) {
        if (!store) throw UsageError("Dispatcher::with_job_queue: store must not be null");
        auto& store_ref = *store;
        return Dispatcher(store_ref, std::move(options), std::static_pointer_cast<void>(std::move(deps)),
                          std::type_index(typeid(Deps)), std::move(bus), std::move(store));
    }

    Dispatcher(Dispatcher&&) noexcept;
    Dispatcher& operator=(Dispatcher&&) noexcept;
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;
    // Stops (with the configured grace) if still running.
    ~Dispatcher();

    // Registers the handler of job type T: F is callable as
    // f(const T&, JobContext&). Before start() only; a type registered twice
    // is a UsageError.
    // The type's timeout and max_snoozes, when its JobTraits declares them,
    // apply unless options sets them.
    //
    // Completion in the handler's transaction: with F callable as
    // f(const T&, JobContext&, Transaction&), the handler runs inside a
    // transaction on a connection of the store's pool. It does its own SQL
    // there (and may enqueue follow-up jobs with store.enqueue_in(tx, ...));
    // when it returns, the job's success is written in that same transaction
    // (fenced like every result: id, worker, attempt, running) and it
    // commits, durably. Its writes and the success commit together or not
    // at all: a lost lease (the fence fails) rolls both back and reports
    // LeaseLost; a throw rolls back its writes and the failure is written as
    // usual; a COMMIT cut off with the connection is resolved by asking the
    // server what became of the transaction. The handler must not commit or
    // roll it back itself. It holds a pooled connection while it runs: size
    // the pool (PgPoolOptions::max_connections) for these handlers' workers
    // and whatever else uses it.
    template <TypedJob T, class F>
    Dispatcher& on(F&& handler, HandlerOptions options = {}) {
        constexpr bool in_transaction = std::is_invocable_v<F&, const T&, JobContext&, Transaction&>;
        static_assert(std::is_invocable_v<F&, const T&, JobContext&> || in_transaction,
                      "a handler for T must be callable as f(const T&, seesaw::JobContext&) or "
                      "f(const T&, seesaw::JobContext&, seesaw::Transaction&)");
        if constexpr (HasDefaultTimeout<T>) {
            if (!options.timeout) options.timeout = std::chrono::milliseconds(JobTraits<T>::timeout);
        }
        if constexpr (HasMaxSnoozes<T>) {
            if (!options.max_snoozes) options.max_snoozes = std::int32_t{JobTraits<T>::max_snoozes};
        }
        if constexpr (in_transaction) {
            add_handler(HandlerEntry{std::string(job_type_name<T>()), std::move(options), nullptr,
                                     [fn = std::forward<F>(handler)](std::string_view payload, JobContext& ctx,
                                                                     Transaction& transaction) mutable {
                                         fn(decode_payload<T>(payload), ctx, transaction);
                                     }});
        } else {
            add_handler(HandlerEntry{
                std::string(job_type_name<T>()), std::move(options),
                [fn = std::forward<F>(handler)](std::string_view payload, JobContext& ctx) mutable {
                    fn(decode_payload<T>(payload), ctx);
                }});
        }
        return *this;
    }
    // Registers a periodic schedule: at each slot of `expression` (5-field
    // cron, @hourly/@daily/@weekly/@monthly/@yearly, or @every 30s; UTC, or
    // a fixed offset "TZ=+02:00 0 3 * * *") the maintenance leader enqueues
    // make_job() — exactly one job per slot, whatever the number of
    // dispatchers, with the unique key "periodic:<name>:<slot>". F is
    // callable as f() → T, on the loop thread. Before start() only; an
    // invalid expression, an empty or duplicate name is a UsageError.
    template <TypedJob T, class F>
    Dispatcher& every(std::string name, std::string_view expression, F&& make_job, PeriodicOptions options = {}) {
        static_assert(std::is_invocable_r_v<T, F&>, "make_job must be callable as f() and return the job");
        EnqueueOptions enqueue;
        enqueue.queue = options.queue;
        enqueue.priority = options.priority;
        enqueue.max_retries = options.max_retries;
        if constexpr (HasDefaultQueue<T>) {
            if (!enqueue.queue) enqueue.queue = std::string(std::string_view(JobTraits<T>::queue));
        }
        std::string queue = std::string(queue_of(enqueue));
        add_schedule(PeriodicEntry{
            std::move(name), Schedule::parse(expression), std::string(job_type_name<T>()), std::move(queue),
            options.catch_up,
            [fn = std::forward<F>(make_job), enqueue](const std::string& unique_key) mutable {
                auto with_key = enqueue;
                with_key.unique_key = unique_key;
                return JobStore::make_new_job(T(fn()), std::move(with_key));
            }});
        return *this;
    }
    // An untyped handler: gets the payload's JSON text.
    Dispatcher& on_raw(std::string job_type,
                       std::function<void(std::string_view payload, JobContext& ctx)> handler,
                       HandlerOptions options = {});

    // Starts the loop and worker threads and returns. Connecting happens on
    // the loop (with retries); nothing here waits for the database.
    void start();
    // start(), then blocks until the dispatcher has stopped (stop() from
    // another thread, request_stop(), or a signal with handle_signals).
    void run();
    // Stops claiming, lets running handlers finish within `grace`, writes
    // their results, hands jobs it holds but has not started back to the
    // queue, fails (retryable) those still running after the grace, closes
    // every handle and connection, and returns. Idempotent. Not from a handler.
    void stop(std::optional<std::chrono::milliseconds> grace = std::nullopt);
    // Starts a graceful stop without waiting (async-signal-safe).
    void request_stop() noexcept;
    bool running() const noexcept;

    EventBus& events() noexcept;
    const std::string& worker_id() const noexcept;
    PgJobStore& store() noexcept;
    // Counters and histograms since start() (empty before it). Any thread.
    MetricsSnapshot metrics() const;
    // The port the metrics endpoint listens on (0 when it is off).
    int metrics_port() const noexcept;

private:
    Dispatcher(PgJobStore& store, DispatcherOptions options, std::shared_ptr<void> deps, std::type_index deps_type,
               std::shared_ptr<EventBus> bus, std::shared_ptr<PgJobStore> store_owner);
    void add_handler(HandlerEntry entry);
    void add_schedule(PeriodicEntry entry);

    std::unique_ptr<detail::Engine> engine_;
};

}  // namespace seesaw
