#pragma once
// PgJobStore: the JobStore on PostgreSQL. Every time it writes (run_at,
// leases, updated_at) is the database's now(), never the client's clock.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "seesaw/core/retry_policy.hpp"
#include "seesaw/store/connection.hpp"
#include "seesaw/store/job_store.hpp"
#include "seesaw/store/pg_pool.hpp"

namespace seesaw {

inline constexpr std::string_view default_schema = "seesaw";

struct PgJobStoreOptions {
    // The schema holding the jobs table (see seesaw::migrate).
    std::string schema = std::string(default_schema);
    // How long a claim owns a job without a heartbeat.
    std::chrono::milliseconds lease_timeout{60'000};
    // Backoff for failures reported without a delay, and for reclaimed jobs.
    RetryPolicy retry_policy = {};
    // Prepare the single-job enqueue once per connection (pooled, or given
    // to enqueue_in as a Connection), and the dispatcher's statements once per
    // connection, instead of parsing and planning them on every call.
    // Off with transaction_pooling.
    bool prepared_statements = true;
    // The database URL is a pooler in transaction mode (PgBouncer), which
    // keeps no session for a client between its transactions: no prepared
    // statements, no startup options (the dispatcher's planning settings),
    // and one statement at a time on each dispatcher connection instead of a
    // pipeline (PgBouncer 1.18 drops the answers of pipelined statements
    // once the first one's transaction ends). The dispatcher's LISTEN needs a
    // direct URL (DispatcherOptions::listen_database_url) or none
    // (DispatcherOptions::listen = false). See the README's "Scaling".
    bool transaction_pooling = false;
    // Delete a job's row when its success is written (by the dispatcher, in
    // the handler's transaction, or by mark_succeeded), under the same fence,
    // instead of keeping it as 'succeeded' for cleanup_succeeded and
    // retention. About a third less work for the server per job (no new row
    // version, no index entries; see the README's "Performance"). Succeeded
    // jobs are then gone from get/list_jobs, the dashboard and stats() (which
    // stay right: they count what is there). A unique job whose
    // unique_states include succeeded keeps its row, succeeded, so that its
    // key still holds. Failed, dead-letter and cancelled jobs are kept as
    // always. Stores and dispatchers of one schema may differ in this.
    bool delete_succeeded = false;
};

// The time list_jobs orders by, oldest first (then by id).
enum class JobOrder { created_at, updated_at };

// What list_jobs selects; unset fields match everything.
struct JobQuery {
    std::optional<JobStatus> status = std::nullopt;
    std::optional<std::string> job_type = std::nullopt;
    std::optional<std::string> queue = std::nullopt;
    std::size_t limit = 100;  // SIZE_MAX: all
    JobOrder order_by = JobOrder::created_at;
};

// What cancel() did to one job.
struct CancelResult {
    JobId id;
    // True: it was pending, failed (awaiting its retry) or running, and is
    // cancelled now. False: it had finished already (succeeded, dead_letter
    // or cancelled) and nothing changed.
    bool cancelled = false;
    JobStatus previous = JobStatus::pending;  // its state before the call
    friend bool operator==(const CancelResult&, const CancelResult&) = default;
};

// The unfinished jobs cancel_all() cancels: of this type and/or this queue
// (at least one of the two).
struct CancelFilter {
    std::optional<std::string> job_type = std::nullopt;
    std::optional<std::string> queue = std::nullopt;
};

// A queue as queues() lists it.
struct QueueInfo {
    std::string name;
    QueueStats counts;
    bool paused = false;
    std::optional<Timestamp> paused_at;  // the database's clock
};

// A periodic schedule as the maintenance leader last recorded it
// (Dispatcher::every; the periodic_schedules table).
struct PeriodicSchedule {
    std::string name;
    std::string expression;
    std::string job_type;
    std::string queue;
    std::optional<Timestamp> last_slot;  // the latest slot whose job was inserted
    std::optional<Timestamp> next_slot;  // the next one, as the leader computed it
    std::string worker_id;               // the leader that recorded it last
    Timestamp updated_at{};
};

namespace detail {
struct StoreSql;
struct LocalRunners;
class LocalRunner;
}

class PgJobStore final : public JobStore {
public:
    explicit PgJobStore(PgPool pool, PgJobStoreOptions options = {});
    // The seed's constructor for another lease (milliseconds).
    static PgJobStore with_lease_timeout(PgPool pool, std::int64_t lease_timeout_ms);

    using JobStore::claim_ready;
    using JobStore::enqueue;
    using JobStore::insert;

    JobId enqueue(const NewJob& job) override;
    std::vector<JobId> enqueue_batch(std::span<const NewJob> jobs) override;
    Enqueued insert(const NewJob& job) override;
    std::vector<Enqueued> insert_batch(std::span<const NewJob> jobs) override;

    // Enqueue on the caller's connection, inside the caller's transaction:
    // the job exists if and only if that transaction commits.
    JobId enqueue_in(Connection& connection, const NewJob& job);
    JobId enqueue_in(pg_conn* connection, const NewJob& job);
    std::vector<JobId> enqueue_batch_in(Connection& connection, std::span<const NewJob> jobs);
    template <TypedJob T>
    JobId enqueue_in(Connection& connection, const T& job, EnqueueOptions options = {}) {
        return enqueue_in(connection, make_new_job(job, std::move(options)));
    }
    template <TypedJob T>
    JobId enqueue_in(pg_conn* connection, const T& job, EnqueueOptions options = {}) {
        return enqueue_in(connection, make_new_job(job, std::move(options)));
    }
    // Inside a Transaction: the job exists if and only if it commits. When
    // this process runs a dispatcher of the job's queue with a free worker,
    // the job is inserted already running, leased to it, and handed to that
    // worker in memory once the transaction has committed (the fast path;
    // not at all if it rolls back). A handler's transaction (Dispatcher::on
    // with a Transaction& parameter) is one.
    JobId enqueue_in(Transaction& transaction, const NewJob& job);
    Enqueued insert_in(Transaction& transaction, const NewJob& job);
    template <TypedJob T>
    JobId enqueue_in(Transaction& transaction, const T& job, EnqueueOptions options = {}) {
        return enqueue_in(transaction, make_new_job(job, std::move(options)));
    }
    // The same, saying whether a unique key kept the job out (see insert).
    Enqueued insert_in(Connection& connection, const NewJob& job);
    Enqueued insert_in(pg_conn* connection, const NewJob& job);
    std::vector<Enqueued> insert_batch_in(Connection& connection, std::span<const NewJob> jobs);
    template <TypedJob T>
    Enqueued insert_in(Connection& connection, const T& job, EnqueueOptions options = {}) {
        return insert_in(connection, make_new_job(job, std::move(options)));
    }

    std::vector<ClaimedJob> claim_ready(std::string_view worker_id, std::size_t limit,
                                        const ClaimFilter& filter) override;
    void mark_succeeded(const JobLease& lease) override;
    FailResult mark_failed(const JobLease& lease, std::string_view error, ErrorKind kind) override;
    void heartbeat(const JobLease& lease) override;
    std::vector<JobId> mark_succeeded_batch(std::span<const JobLease> leases) override;
    std::vector<FailResult> mark_failed_batch(std::span<const FailureReport> failures) override;
    std::vector<JobId> heartbeat_batch(std::span<const JobLease> leases) override;

    std::uint64_t reclaim_expired() override;
    std::uint64_t cleanup_succeeded(Timestamp cutoff) override;
    // Deletes jobs in a finished state (succeeded, dead_letter or cancelled) last updated
    // longer ago than `age` by the database clock.
    std::uint64_t cleanup(JobStatus status, std::chrono::milliseconds age);
    QueueStats stats() override;
    std::map<std::string, QueueStats> stats_by_queue();
    // Folds the change rows behind stats() into one row per queue and state.
    std::uint64_t compact_stats();
    bool retry_dead_letter(const JobId& id) override;
    std::uint64_t retry_all_dead_letters(std::optional<std::string_view> job_type = std::nullopt) override;
    // Exactly these jobs, all or nothing, in one transaction: throws
    // UsageError naming every id that does not exist or is not dead-lettered
    // (and retries none). Returns the count.
    std::uint64_t retry_dead_letters(std::span<const JobId> ids);
    // --- cancellation -------------------------------------------------------
    // A pending, failed (awaiting its retry) or running job becomes cancelled
    // at once and never runs (again); a running one's dispatcher is told
    // (NOTIFY): its handler sees ctx.cancelled(), and whatever it does next is
    // not written. A finished job is left as it was (CancelResult::cancelled
    // is false). Throws UsageError "no job with id …" naming every id that
    // does not exist, and then cancels none.
    CancelResult cancel(const JobId& id);
    // Several, in one transaction: one result per id, in the order given (an
    // id given twice is answered the second time as a second cancel would
    // be: not cancelled, previous cancelled).
    std::vector<CancelResult> cancel(std::span<const JobId> ids);
    // Every unfinished job of the filter's type and/or queue. Returns the count.
    std::uint64_t cancel_all(const CancelFilter& filter);

    // --- paused queues -----------------------------------------------------------
    // While a queue is paused no dispatcher, in any process, starts a job of
    // it: they stop claiming when told (NOTIFY; the claim itself skips a
    // paused queue), and hand back jobs they hold but have not started.
    // Enqueues go on; running jobs finish. True when this call changed it.
    // The name: 1 to 128 bytes of UTF-8, as a queue's.
    bool pause_queue(std::string_view queue);
    bool resume_queue(std::string_view queue);
    // Every queue that has jobs or is paused, by name.
    std::vector<QueueInfo> queues();
    // Every periodic schedule a leader recorded, by name.
    std::vector<PeriodicSchedule> periodic_schedules();

    // Hands a claimed job back unrun (pending, same attempt): for a worker
    // that shuts down before running it. False when the lease was lost.
    bool release(const JobLease& lease);

    std::optional<Job> get_job(const JobId& id);
    std::vector<Job> list_jobs(const JobQuery& query);
    // How long the longest-waiting due pending job of each queue has waited,
    // by the database clock: since its run_at, or since its insertion if
    // run_at was already past then. Queues with such a job only (all, or
    // just `queue`). The candidates are, per priority, the due pending job
    // with the earliest run_at (a few index probes per queue and priority,
    // whatever the backlog), so a job enqueued with a run_at already long
    // past counts from that run_at's order, not its insertion's.
    std::map<std::string, std::chrono::microseconds> oldest_pending_ages(
        std::optional<std::string_view> queue = std::nullopt);

    PgPool& pool() noexcept { return pool_; }
    const PgJobStoreOptions& options() const noexcept { return options_; }
    const std::string& schema() const noexcept { return options_.schema; }
    std::chrono::milliseconds lease_timeout() const noexcept { return options_.lease_timeout; }

    // The statements, built once per schema (internal; used by the dispatcher).
    const detail::StoreSql& sql() const noexcept { return *sql_; }
    // Runs run(prepare), with prepared statements on unless turned off
    // (internal). A pooler in transaction mode that the store was not told
    // about (transaction_pooling) loses them: SQLSTATE 26000, or 42P05 when
    // the name exists on the server connection it lent, prepared by another
    // client. That turns them off for this store and its copies, with a
    // warning, and a call outside a transaction runs again unprepared (it had
    // not run); inside one the error stands (the transaction is aborted).
    template <class F>
    auto with_prepared(Connection& connection, F run) -> decltype(run(true)) {
        if (!prepare_->load(std::memory_order_relaxed)) return run(false);
        try {
            return run(true);
        } catch (const SqlError& e) {
            if (!prepared_lost(e, connection)) throw;
        }
        return run(false);
    }
    // The in-process fast path (internal): a running Dispatcher attaches
    // itself to the store it was given; this store and its copies then offer
    // it their single-job enqueues (enqueue, insert, enqueue_in with a
    // Transaction) when it has a free worker for them.
    void attach_local_runner(std::shared_ptr<detail::LocalRunner> runner);
    void detach_local_runner(const detail::LocalRunner* runner);

private:
    PgPool pool_;
    PgJobStoreOptions options_;
    std::shared_ptr<const detail::StoreSql> sql_;
    std::shared_ptr<detail::LocalRunners> local_;
    std::shared_ptr<std::atomic<bool>> prepare_;

    // true: run the call again unprepared.
    bool prepared_lost(const SqlError& error, const Connection& connection);
};

// A worker id unique to this process: "<host>:<pid>:<random>".
std::string make_worker_id();

}  // namespace seesaw
