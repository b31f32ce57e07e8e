#pragma once
// Every statement of the store, built once per schema. The dispatcher sends
// the same texts asynchronously, so they live here, in one place.

#include <cstdint>
#include <string>

namespace seesaw::detail {

// Rows per statement of the maintenance loops (reclaim's $1 limit, cleanup's
// $4): short transactions, no long locks. A statement that returns this many
// leaves more for the next.
inline constexpr std::int64_t maintenance_batch = 5000;

// Column order of the claim's RETURNING list (decoded by decode_claim).
enum ClaimColumn : int {
    claim_id,
    claim_job_type,
    claim_queue,
    claim_payload,
    claim_version,
    claim_attempt,
    claim_max_retries,
    claim_priority,
    claim_run_at_us,
    claim_created_at_us,
    claim_lease_expires_at_us,
    claim_order,         // 1, 2, ... in the claim's order (priority, run_at, id)
    claim_lease_ticket,  // NULL: went straight to a free worker
    claim_found_count,   // due jobs the claim found (some may have been left, see claim)
    claim_snoozes,
    claim_keeps_row,  // a unique job whose key holds while it is succeeded (delete_succeeded keeps its row)
    claim_column_count
};

// Column order of get_job / list_jobs / list_jobs_by_update.
enum JobColumn : int {
    job_id,
    job_job_type,
    job_queue,
    job_payload,
    job_version,
    job_status,
    job_attempt,
    job_max_retries,
    job_priority,
    job_run_at_us,
    job_worker_id,
    job_lease_expires_at_us,
    job_error_message,
    job_error_kind,
    job_created_at_us,
    job_updated_at_us,
    job_uncounted_attempts,
    job_unique_key,
    job_unique_bucket_us,
    job_unique_states,
    job_errors,
    job_snoozes,
    job_column_count
};

struct StoreSql {
    // delete_succeeded: PgJobStoreOptions::delete_succeeded (succeed,
    // succeed_again and succeed_in_transaction delete the row).
    explicit StoreSql(const std::string& schema, bool delete_succeeded = false);

    std::string schema;       // as given
    bool delete_succeeded;    // PgJobStoreOptions::delete_succeeded
    std::string schema_name;  // quoted identifier
    std::string jobs;         // schema.jobs

    // $1 id, $2 job_type, $3 payload, $4 queue, $5 priority, $6 max_retries,
    // $7 run_at (or NULL), $8 delay ms, $9 version
    std::string enqueue;
    // The name enqueue is prepared under (one per schema).
    std::string enqueue_name;
    // The same nine columns as arrays, one statement for any number of jobs.
    std::string enqueue_batch;
    // COPY ... FROM STDIN for a big batch of plain jobs (no unique key, no
    // delay; PgJobStore's insert_many): the columns of enqueue_batch but
    // run_at, which is the default now(); and with run_at, for a batch whose
    // jobs all give one. Each row: id, job_type, payload, queue, priority,
    // max_retries, version[, run_at], in COPY's text format.
    std::string enqueue_copy;
    std::string enqueue_copy_run_at;
    // The in-process fast path (local_runner.hpp): the nine of enqueue, then
    // $10 the worker id of the local dispatcher with a free worker, $11 its
    // lease ms. Inserted running, leased to $10 at attempt 1 — unless a due
    // job of the queue with a higher priority (a smaller number) waits, or
    // the queue is paused: then pending, as enqueue would. → running (bool),
    // created_at (epoch µs)
    std::string enqueue_fast;
    std::string enqueue_fast_name;
    // $1 id, $2 worker id → one row when a fast-path job whose commit was in
    // doubt is there, running at attempt 1 and leased to $2.
    std::string fast_verify;
    // A handler's success in its own transaction: $1 id, $2 attempt, $3
    // worker id → the transaction's id (text) when the fence held.
    std::string succeed_in_transaction;
    std::string succeed_in_transaction_name;
    // $1 transaction id → committed, aborted or in progress (pg_xact_status).
    std::string transaction_status;
    // Jobs some of which have unique keys; and the jobs holding keys.
    std::string enqueue_unique;
    std::string find_unique;
    // The worker protocol: what the store and the dispatcher send for a
    // worker (worker_protocol.hpp builds their parameters and decodes their
    // rows). Every statement that updates held jobs is fenced by id, attempt,
    // worker and status = 'running', and takes the leases of one worker ($3
    // its id) sorted by id, so that its rows are locked in id order.
    //
    // Nothing is claimed from a paused queue (migration 0009).
    // $1 worker_id, $2 queue, $3 limit, $4 job types text[] (NULL = any),
    // $5 lease ms, $6 how many go straight to a free worker, $7 ticket base,
    // $8 synchronous_commit ('on': durable before a handler starts)
    // → RETURNING the ClaimColumns
    std::string claim;
    // $1 ids, $2 attempts, $3 worker id → RETURNING id of the rows written
    std::string succeed;
    // With delete_succeeded, the same for leases none of which keeps its
    // row (claim_keeps_row false for all): a plain DELETE, which saves
    // succeed's second pass over the rows.
    std::string succeed_none_kept;
    // The same after a connection was lost mid-write: a row this worker
    // already marked succeeded (same attempt) counts as written.
    std::string succeed_again;
    // Every other end of a run. $1 ids, $2 attempts, $3 worker id, $4 errors
    // (or reasons), $5 kinds: 'retryable' (a retry after the delay, or the
    // dead letter queue when out of retries), 'non_retryable' (the dead
    // letter queue), 'snooze' (pending again after the delay, not counted),
    // 'cancel' (cancelled); $6 delay ms → RETURNING id, status, attempt, delay ms
    std::string fail;
    // The same after a connection was lost mid-write: a failure this worker
    // already wrote counts as written (see fail_again in store_sql.cpp).
    std::string fail_again;
    // $1 ids, $2 attempts, $3 worker id, $4 lease ms → RETURNING id,
    // attempt, false for the leases extended; and id, attempt, true for
    // those that were cancelled meanwhile (and are not ours any more).
    std::string heartbeat;
    // $1 ids, $2 attempts, $3 worker id → RETURNING id. Back to pending at
    // the same attempt: handed back unrun.
    std::string release;
    // $1 worker id, $2 the ids it holds (uuid[]) → RETURNING id. A claim
    // whose reply was lost with the connection may have committed: its jobs
    // are leased to the worker, which never saw (nor started) them. They go
    // back to pending at the same attempt. Not a job the fast path inserted
    // running and nothing has updated since: it may be on its way to the
    // worker in memory.
    std::string release_unknown;
    // $1 limit, $2 base ms, $3 cap ms, $4 schema → RETURNING id, status.
    // Notifies the scheduled channel of when the jobs are due again.
    std::string reclaim;
    // $1 status, $2 cutoff timestamptz (or NULL), $3 age ms, $4 limit
    std::string cleanup;
    // → queue, status, sum, rows
    std::string stats;
    std::string compact_stats;

    // Maintenance leadership (migration 0012): the row 'maintenance' of
    // schema.leaders, held until it expires by the server's clock.
    // $1 leader id, $2 ttl ms, $3 the term it holds (0: none) → term, or no
    // row. Takes the row when it is absent or expired, under a new term
    // (term + 1); renews it (same term, a new expiry) when it names $1 at
    // term $3, expired or not. A leader that was replaced holds a term the
    // row no longer has: it gets nothing, or a new term once the row expires.
    std::string elect;
    // $1 leader id, $2 term: expires the row now if it is still that term's
    // (a clean stop), so that another dispatcher takes over at once.
    std::string resign;
    // The leader's writes, fenced by its term: each statement locks the
    // leader row FOR SHARE (a takeover waits for it) and writes only if the
    // row names this leader at this term and has not expired. Their last two
    // parameters are the leader id and the term; their first column,
    // `leading`, is false when the fence did not hold (nothing was written),
    // and they return one row. The others in the comments are after it.
    //
    // reclaim's: $1..$4 as reclaim → leading, count reclaimed.
    std::string leader_reclaim;
    // cleanup's: $1..$4 as cleanup → leading, count deleted.
    std::string leader_cleanup;
    // compact_stats' → leading, change rows compacted (NULL when not leading).
    std::string leader_compact_stats;
    // $1 ids uuid[] (NULL = all), $2 job_type (NULL = any), $3 schema → count
    std::string retry_dead_letters;
    // $1 ids uuid[] → id, status of those that exist, locked in id order
    std::string lock_jobs;
    // $1 ids uuid[] (NULL = every unfinished job), $2 job type, $3 queue
    // (NULL = any) → id, the state before, cancelled by this call (bool).
    // Tells the dispatchers running some of them (migration 0009).
    std::string cancel_jobs;
    // $1 queue → true when this call paused (resumed) it. Tells the dispatchers.
    std::string pause_queue;
    std::string resume_queue;
    // → queue, paused_at (epoch µs) of every paused queue
    std::string paused_queues;
    // Periodic jobs (migration 0010), leader writes fenced by its term ($7
    // leader id, $8 term; see leader_reclaim). $1 name, $2 expression, $3
    // job type, $4 queue, $5 next slot (epoch µs), $6 worker id → leading,
    // last_slot (epoch µs or NULL): records the schedule, keeping its last slot.
    std::string periodic_register;
    // Inserts the job of one slot, once: moves last_slot to the slot ($1
    // name, $2 slot µs, $3 next slot µs, $4 worker id) only if it is later,
    // and then inserts the job ($5 job type, $6 queue, $7 payload, $8
    // priority, $9 max_retries, $10 unique key). Fenced ($11 leader id, $12
    // term) → leading, advanced (bool), the new job's id (NULL when the
    // slot's job exists already).
    std::string periodic_insert;
    // → name, expression, job_type, queue, last_slot µs, next_slot µs,
    // worker_id, updated_at µs of every schedule, by name
    std::string periodic_schedules;
    // $1 id → the JobColumns
    std::string get_job;
    // $1 status, $2 job_type, $3 queue, $4 limit → the JobColumns, oldest
    // first (by created_at, then id)
    std::string list_jobs;
    // The same, by updated_at (the dead letter queue: the longest dead first)
    std::string list_jobs_by_update;
    // $1 queue (NULL = all) → queue, microseconds since its due pending job
    // with the earliest run_at (of each priority: the oldest of those) became
    // due (run_at, or its insertion if later)
    std::string oldest_pending_ages;
    // $1 queue → milliseconds until the earliest job that is not due yet (NULL: none)
    std::string next_due;
    // $1 schema → the LISTEN channels of this schema (ready, scheduled,
    // control: "cancel <id> ...", "pause <queue>", "resume <queue>").
    std::string channels;
    // The wake-up protocol (migration 0005). $1 listener, $2 queue.
    std::string arm_listener;
    std::string disarm_listener;
    // $1 queue, $2 schema: waits for producers that may have missed the arming.
    std::string wakeup_barrier;
    // $1 listener
    std::string touch_listener;
    std::string remove_listener;
    // $1 ms: forgets listeners not seen for that long (crashed dispatchers).
    // Fenced ($2 leader id, $3 term) → leading, count.
    std::string expire_listeners;
    // → the count of overlapping producer transactions seen so far.
    std::string producer_contention;
    // How far a dispatcher's workers got through the jobs it holds ahead of
    // them: $1 worker, $2 queue, $3 its first ticket, $4 every ticket from
    // the first up to this one started.
    std::string record_progress;
    // $1 worker: at a clean stop, nothing of it is held any more.
    std::string forget_progress;
    // $1 ms: progress rows not written for that long whose dispatcher holds
    // nothing. Fenced ($2 leader id, $3 term) → leading, count.
    std::string expire_progress;
};

}  // namespace seesaw::detail
