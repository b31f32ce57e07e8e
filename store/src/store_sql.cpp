#include "store_sql.hpp"

#include "seesaw/core/limits.hpp"
#include "seesaw/store/connection.hpp"

namespace seesaw::detail {
namespace {

// Epoch microseconds of a timestamptz column (or microseconds of an
// interval): exact, and cheap to parse.
std::string us(const std::string& column) { return "(extract(epoch FROM " + column + ") * 1000000)::int8"; }

// Joined into a write that may commit asynchronously (a crash loses only
// what the dispatcher writes again): synchronous_commit off for this
// statement's transaction alone, never for the session (a pooler would
// leak it to its other clients).
const std::string async_commit = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit";

}  // namespace

StoreSql::StoreSql(const std::string& schema_text, bool deleting)
    : schema(schema_text), delete_succeeded(deleting), schema_name(quote_identifier(schema_text)), jobs(schema_name + ".jobs") {
    const std::string status_type = schema_name + ".job_status";
    const std::string kind_type = schema_name + ".error_kind";
    const std::string ms = " * interval '1 millisecond'";

    // Maintenance leadership (migration 0012). The fence of a leader write:
    // the leader row, locked FOR SHARE (a takeover's UPDATE waits for this
    // statement), if it names leader $id at term $term and has not expired.
    // Materialized: evaluated once, before the write it gates.
    const std::string leaders = schema_name + ".leaders";
    const std::string leader_row = leaders + " WHERE name = 'maintenance'";
    const auto lead = [&](int id, int term) {
        return "lead AS MATERIALIZED (SELECT 1 FROM " + leader_row + " AND leader_id = $" + std::to_string(id) +
               " AND term = $" + std::to_string(term) + "::int8 AND expires_at > now() FOR SHARE)";
    };
    const std::string leading = "EXISTS (SELECT 1 FROM lead)";
    // A follower that sees the row held and valid (without a lock) inserts
    // nothing: it does not queue behind the leader's fenced writes. A row
    // that looks expired, or is ours, is locked and checked again: a
    // takeover waits for the leader's writes in flight.
    elect = "INSERT INTO " + leaders + " AS l (name, leader_id, term, elected_at, expires_at)"
            " SELECT 'maintenance', $1, 1, now(), now() + $2::int8" + ms +
            " WHERE NOT EXISTS (SELECT 1 FROM " + leader_row + " AND expires_at > now()"
            " AND NOT (leader_id = $1 AND term = $3::int8))"
            " ON CONFLICT (name) DO UPDATE SET leader_id = excluded.leader_id,"
            " term = CASE WHEN l.leader_id = $1 AND l.term = $3::int8 THEN l.term ELSE l.term + 1 END,"
            " elected_at = CASE WHEN l.leader_id = $1 AND l.term = $3::int8 THEN l.elected_at ELSE now() END,"
            " expires_at = excluded.expires_at"
            " WHERE l.expires_at <= now() OR (l.leader_id = $1 AND l.term = $3::int8)"
            " RETURNING l.term";
    // Expired, not deleted: the next leader's term is still higher.
    resign = "UPDATE " + leaders + " SET expires_at = now() WHERE name = 'maintenance' AND leader_id = $1"
             " AND term = $2::int8 AND expires_at > now()";

    enqueue = "INSERT INTO " + jobs +
              " (id, job_type, payload, queue, priority, max_retries, run_at, version)"
              " VALUES ($1::uuid, $2, $3::jsonb, $4, $5::int4, $6::int4,"
              " COALESCE($7::timestamptz, now() + $8::int8" + ms + "), $9::int4)";

    enqueue_name = "seesaw.enqueue." + schema;
    enqueue_fast_name = "seesaw.enqueue_fast." + schema;
    succeed_in_transaction_name = "seesaw.succeed_in_transaction." + schema;

    enqueue_copy = "COPY " + jobs + " (id, job_type, payload, queue, priority, max_retries, version) FROM STDIN";
    enqueue_copy_run_at =
        "COPY " + jobs + " (id, job_type, payload, queue, priority, max_retries, version, run_at) FROM STDIN";
    enqueue_batch = "INSERT INTO " + jobs +
                    " (id, job_type, payload, queue, priority, max_retries, run_at, version)"
                    " SELECT id, job_type, payload, queue, priority, max_retries,"
                    " COALESCE(run_at, now() + delay_ms" + ms + "), version"
                    " FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::int4[], $6::int4[],"
                    " $7::timestamptz[], $8::int8[], $9::int4[])"
                    " AS t(id, job_type, payload, queue, priority, max_retries, run_at, delay_ms, version)";

    // The fast path's priority check uses idx_jobs_ready (queue, priority,
    // run_at, id) of the waiting jobs.
    enqueue_fast = "WITH fast AS (SELECT NOT EXISTS (SELECT 1 FROM " + jobs +
                   " WHERE queue = $4 AND status IN ('pending', 'failed') AND priority < $5::int4 AND run_at <= now())"
                   " AND NOT EXISTS (SELECT 1 FROM " + schema_name + ".queue_pauses AS p WHERE p.queue = $4) AS yes)"
                   " INSERT INTO " + jobs +
                   " (id, job_type, payload, queue, priority, max_retries, run_at, version, status, worker_id,"
                   " lease_expires_at)"
                   " SELECT $1::uuid, $2, $3::jsonb, $4, $5::int4, $6::int4,"
                   " COALESCE($7::timestamptz, now() + $8::int8" + ms + "), $9::int4,"
                   " (CASE WHEN fast.yes THEN 'running' ELSE 'pending' END)::" + status_type + ","
                   " CASE WHEN fast.yes THEN $10 END, CASE WHEN fast.yes THEN now() + $11::int8" + ms + " END"
                   " FROM fast RETURNING status = 'running', " + us("created_at");

    // Jobs with unique keys (and any others of the same batch): a job whose
    // key is held by another job in one of that job's unique_states is not
    // inserted (the arbiter is the partial unique index jobs_unique_key).
    // Rows are inserted in the batch's order, so of two with the same key
    // the first wins. One row per job, in order: inserted or not, and the
    // key's bucket (epoch µs) for looking up the job that holds it. The
    // bucket is computed once per statement from now().
    const std::string bucket =
        "CASE WHEN unique_for_ms IS NULL THEN NULL ELSE 'epoch'::timestamptz"
        " + (floor(extract(epoch FROM now()) * 1000)::int8 / unique_for_ms * unique_for_ms)" + ms + " END";
    enqueue_unique = "WITH input AS MATERIALIZED (SELECT t.*, " + bucket + " AS bucket"
                     " FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::int4[], $6::int4[],"
                     " $7::timestamptz[], $8::int8[], $9::int4[], $10::text[], $11::text[], $12::int8[])"
                     " WITH ORDINALITY AS t(id, job_type, payload, queue, priority, max_retries, run_at, delay_ms,"
                     " version, unique_key, unique_states, unique_for_ms, n)),"
                     " inserted AS (INSERT INTO " + jobs +
                     " (id, job_type, payload, queue, priority, max_retries, run_at, version,"
                     " unique_key, unique_states, unique_bucket)"
                     " SELECT id, job_type, payload, queue, priority, max_retries,"
                     " COALESCE(run_at, now() + delay_ms" + ms + "), version,"
                     " unique_key, unique_states::" + status_type + "[], bucket"
                     " FROM input ORDER BY n"
                     " ON CONFLICT (job_type, unique_key, unique_bucket)"
                     " WHERE unique_key IS NOT NULL AND status = ANY (unique_states) DO NOTHING"
                     " RETURNING id)"
                     " SELECT input.n, inserted.id IS NOT NULL, " + us("input.bucket") +
                     " FROM input LEFT JOIN inserted ON inserted.id = input.id ORDER BY input.n";
    // The jobs that hold keys: for each (job type, key, bucket µs or NULL),
    // its position and the holder's id.
    find_unique = "SELECT t.n, j.id FROM unnest($1::text[], $2::text[], $3::int8[]) WITH ORDINALITY"
                  " AS t(job_type, unique_key, bucket_us, n)"
                  " JOIN " + jobs + " AS j ON j.job_type = t.job_type AND j.unique_key = t.unique_key"
                  " AND j.unique_bucket IS NOT DISTINCT FROM"
                  " ('epoch'::timestamptz + t.bucket_us * interval '1 microsecond')"
                  " AND j.unique_key IS NOT NULL AND j.status = ANY (j.unique_states)";

    // The ids to claim come from an array, not a join: whatever the planner
    // guesses for LIMIT $3 (a generic plan guesses 10 % of the table), the
    // update is then an index lookup per id. The array is made once (a
    // materialized CTE: a subquery in FROM would be pulled up, and its
    // locking scan run once per reference). Its ordinality is the claim's
    // order. The first $6 go straight to a free worker; the others wait in
    // memory, in ticket order ($7 + order). A job without a ticket counts
    // as started: those of the first $6 when $9 (the store's claim_ready),
    // and a job that once lost a lease before it was known to start, which
    // is taken only into a free worker. $8 is synchronous_commit for this claim: 'on'
    // makes it durable before any handler starts on it.
    claim = "WITH found AS MATERIALIZED (SELECT ARRAY("
            " SELECT id FROM " + jobs +
            " WHERE queue = $2 AND status IN ('pending', 'failed') AND run_at <= now()"
            " AND ($4::text[] IS NULL OR job_type = ANY ($4::text[]))"
            " AND NOT EXISTS (SELECT 1 FROM " + schema_name + ".queue_pauses AS p WHERE p.queue = $2)"
            " ORDER BY priority, run_at, id"
            " LIMIT $3"
            " FOR UPDATE SKIP LOCKED) AS ids)"
            " UPDATE " + jobs + " AS j"
            " SET status = 'running', worker_id = $1, lease_expires_at = now() + $5::int8" + ms +
            ", updated_at = now(), lease_ticket = CASE WHEN c.n <= $6::int8"
            " AND ($9::bool OR j.uncounted_attempts > 0) THEN NULL ELSE $7::int8 + c.n END"
            " FROM found, unnest(found.ids) WITH ORDINALITY AS c(id, n),"
            " (SELECT set_config('synchronous_commit', $8, true)) AS durability"
            " WHERE j.id = c.id AND (c.n <= $6::int8 OR j.uncounted_attempts = 0)"
            " RETURNING j.id, j.job_type, j.queue, j.payload::text, j.version, j.attempt, j.max_retries,"
            " j.priority, " + us("j.run_at") + ", " + us("j.created_at") + ", " + us("j.lease_expires_at") +
            ", c.n, j.lease_ticket, cardinality(found.ids), j.snoozes,"
            " (j.unique_key IS NOT NULL AND 'succeeded' = ANY (j.unique_states))";

    // Fences every state change after a claim: the row is still this
    // worker's ($3), at this attempt, and running.
    const std::string held = "j.id = c.id AND j.attempt = c.attempt AND j.worker_id = $3";
    const std::string fence = held + " AND j.status = 'running'";
    const std::string leases = "unnest($1::uuid[], $2::int4[]) AS c(id, attempt)";
    succeed = "UPDATE " + jobs + " AS j SET status = 'succeeded', lease_expires_at = NULL, updated_at = now()"
              " FROM " + leases + " WHERE " + fence + " RETURNING j.id";
    succeed_again = "UPDATE " + jobs + " AS j SET status = 'succeeded', lease_expires_at = NULL,"
                    " updated_at = CASE WHEN j.status = 'succeeded' THEN j.updated_at ELSE now() END"
                    " FROM " + leases + " WHERE " + held + " AND j.status IN ('running', 'succeeded') RETURNING j.id";
    succeed_in_transaction = "UPDATE " + jobs + " AS j SET status = 'succeeded', lease_expires_at = NULL, updated_at = now()"
                             " FROM (SELECT set_config('synchronous_commit', 'on', true)) AS durability"
                             " WHERE j.id = $1::uuid AND j.attempt = $2::int4 AND j.worker_id = $3 AND j.status = 'running'"
                             " RETURNING pg_current_xact_id()::text";
    if (delete_succeeded) {
        // PgJobStoreOptions::delete_succeeded: the same fence, and the row
        // is deleted instead (no new row version, no index entries: about a
        // third of the server's work per job). A unique job whose key stays
        // taken while it is succeeded keeps its row, succeeded as above, so
        // that its key still holds. Both CTEs read the rows as they were
        // before the statement: each row goes one way.
        const std::string keeps = "(j.unique_key IS NOT NULL AND 'succeeded' = ANY (j.unique_states))";
        const auto both = [&](const std::string& source, const std::string& where, const std::string& select) {
            return "WITH deleted AS (DELETE FROM " + jobs + " AS j USING " + source + " WHERE " + where +
                   " AND NOT " + keeps + " RETURNING j.id),"
                   " kept AS (UPDATE " + jobs + " AS j SET status = 'succeeded', lease_expires_at = NULL,"
                   " updated_at = now() FROM " + source + " WHERE " + where + " AND " + keeps +
                   " RETURNING j.id)"
                   " SELECT " + select + " FROM (SELECT id FROM deleted UNION ALL SELECT id FROM kept) AS written";
        };
        succeed = both(leases, fence, "id");
        // Rows that keep (if any slipped in) are not deleted: reported lost.
        succeed_none_kept = "DELETE FROM " + jobs + " AS j USING " + leases + " WHERE " + fence + " AND NOT " + keeps +
                            " RETURNING j.id";
        // After a lost connection: a row that is gone was deleted by this
        // worker's first try (nothing else deletes a running job: cleanup
        // and retention take finished ones only), and a kept row already
        // succeeded at this attempt counts as written, as above. The last
        // SELECT sees the rows as they were before this statement.
        succeed_again = both(leases, fence, "id") +
                        " UNION ALL SELECT j.id FROM " + jobs + " AS j JOIN " + leases + " ON " + held +
                        " AND j.status = 'succeeded'"
                        " UNION ALL SELECT c.id FROM " + leases +
                        " WHERE NOT EXISTS (SELECT 1 FROM " + jobs + " AS j WHERE j.id = c.id)";
        succeed_in_transaction_name += ".delete";  // a pooled connection may serve stores of both kinds
        succeed_in_transaction =
            both("(SELECT $1::uuid AS id, $2::int4 AS attempt, set_config('synchronous_commit', 'on', true)) AS c",
                 fence, "pg_current_xact_id()::text");
    }

    fast_verify = "SELECT 1 FROM " + jobs + " WHERE id = $1::uuid AND worker_id = $2 AND status = 'running' AND attempt = 1";
    transaction_status = "SELECT pg_xact_status($1::xid8)";

    // Runs so far (attempts whose lease expired before they started, and
    // runs that snoozed, do not count) against the retries allowed.
    const std::string retries_left = "j.attempt - j.uncounted_attempts - j.snoozes <= j.max_retries";
    const std::string failure = "c.kind IN ('retryable', 'non_retryable')";
    const std::string retry = "(c.kind = 'retryable' AND " + retries_left + ")";
    const std::string later = "(c.kind = 'snooze' OR " + retry + ")";  // runs again after the delay
    // The job's error history with one more entry (migration 0008): the
    // attempt, the time (UTC, ISO 8601), the worker, the kind, the message.
    auto error_appended = [&](const std::string& attempt, const std::string& kind, const std::string& message) {
        return schema_name + ".append_error(j.errors, jsonb_build_object('attempt', " + attempt +
               ", 'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
               " 'worker_id', j.worker_id, 'kind', " + kind + ", 'message', " + message + "), " +
               std::to_string(error_history_length) + ")";
    };
    fail = "UPDATE " + jobs + " AS j SET"
           " status = (CASE WHEN c.kind = 'snooze' THEN 'pending' WHEN c.kind = 'cancel' THEN 'cancelled'"
           " WHEN " + retry + " THEN 'failed' ELSE 'dead_letter' END)::" + status_type + ","
           " attempt = CASE WHEN " + later + " THEN j.attempt + 1 ELSE j.attempt END,"
           " snoozes = j.snoozes + CASE WHEN c.kind = 'snooze' THEN 1 ELSE 0 END,"
           " run_at = CASE WHEN " + later + " THEN now() + c.delay_ms" + ms + " ELSE j.run_at END,"
           " error_message = CASE WHEN c.kind = 'snooze' THEN j.error_message ELSE c.error END,"
           " error_kind = CASE WHEN " + failure + " THEN c.kind::" + kind_type + " ELSE j.error_kind END,"
           " errors = CASE WHEN " + failure + " THEN " + error_appended("j.attempt", "c.kind", "c.error") +
           " ELSE j.errors END,"
           " lease_expires_at = NULL, updated_at = now()"
           " FROM unnest($1::uuid[], $2::int4[], $4::text[], $5::text[], $6::int8[])"
           " AS c(id, attempt, error, kind, delay_ms)"
           " WHERE " + fence + " RETURNING j.id, j.status, j.attempt, c.delay_ms";
    // The same after a connection was lost mid-write: a result this worker
    // already wrote (the row moved on to the next attempt — a retry or a
    // snooze —, or to the dead letter queue or cancelled at this attempt,
    // and still names this worker) counts as written. The SELECT sees the
    // rows as they were before this UPDATE.
    fail_again = "WITH written AS (" + fail + ")"
                 " SELECT id, status, attempt, delay_ms FROM written"
                 " UNION ALL"
                 " SELECT j.id, j.status, j.attempt,"
                 " greatest(0, ceil(extract(epoch FROM j.run_at - now()) * 1000))::int8"
                 " FROM " + jobs + " AS j JOIN unnest($1::uuid[], $2::int4[], $5::text[]) AS c(id, attempt, kind)"
                 " ON j.id = c.id WHERE j.worker_id = $3 AND ("
                 "(j.status = 'failed' AND c.kind = 'retryable' AND j.attempt = c.attempt + 1)"
                 " OR (j.status = 'pending' AND c.kind = 'snooze' AND j.attempt = c.attempt + 1)"
                 " OR (j.status = 'dead_letter' AND c.kind <> 'snooze' AND c.kind <> 'cancel' AND j.attempt = c.attempt)"
                 " OR (j.status = 'cancelled' AND c.kind = 'cancel' AND j.attempt = c.attempt))";
    heartbeat = "WITH extended AS (UPDATE " + jobs + " AS j SET lease_expires_at = now() + $4::int8" + ms +
                ", updated_at = now() FROM " + leases + ", " + async_commit + " WHERE " + fence +
                " RETURNING j.id, j.attempt)"
                " SELECT id, attempt, false FROM extended"
                " UNION ALL SELECT j.id, j.attempt, true FROM " + jobs + " AS j JOIN " + leases +
                " ON " + held + " AND j.status = 'cancelled'";
    release = "UPDATE " + jobs + " AS j SET status = 'pending', lease_expires_at = NULL, updated_at = now()"
              " FROM " + leases + " WHERE " + fence + " RETURNING j.id";
    release_unknown = "UPDATE " + jobs + " SET status = 'pending', lease_expires_at = NULL, lease_ticket = NULL,"
                      " updated_at = now() WHERE status = 'running' AND worker_id = $1"
                      " AND NOT (id = ANY ($2::uuid[]))"
                      // A job inserted running by the fast path (untouched
                      // since) may still be on its way to the dispatcher.
                      " AND updated_at <> created_at RETURNING id";

    // A lease counts as a run when its job had started: it went straight to
    // a worker (no ticket), or its worker's progress passed its ticket.
    // Otherwise the job is pending again under a new attempt number that
    // does not count toward max_retries. These are the CTEs after `expired
    // AS (`; `gate` conditions what may be reclaimed (the leader's fence).
    const auto reclaim_ctes = [&](const std::string& gate) {
        return " SELECT j.id, (j.lease_ticket IS NULL OR j.lease_ticket <= coalesce(("
              " SELECT p.started_through FROM " + schema_name + ".worker_progress AS p"
              " WHERE p.worker_id = j.worker_id AND p.queue = j.queue AND p.first_ticket <= j.lease_ticket"
              " ORDER BY p.first_ticket DESC LIMIT 1), 0)) AS started"
              " FROM " + jobs + " AS j"
              " WHERE j.status = 'running' AND j.lease_expires_at < now()" + gate +
              " ORDER BY j.lease_expires_at LIMIT $1 FOR UPDATE OF j SKIP LOCKED),"
              " reclaimed AS (UPDATE " + jobs + " AS j SET"
              " status = (CASE WHEN NOT e.started THEN 'pending' WHEN " + retries_left +
              " THEN 'failed' ELSE 'dead_letter' END)::" + status_type + ","
              " attempt = CASE WHEN NOT e.started OR " + retries_left + " THEN j.attempt + 1 ELSE j.attempt END,"
              " uncounted_attempts = j.uncounted_attempts + CASE WHEN e.started THEN 0 ELSE 1 END,"
              " run_at = CASE WHEN e.started AND " + retries_left +
              " THEN now() + floor(random() * least($3::float8, $2::float8 * 2 ^ least(j.attempt - j.uncounted_attempts - j.snoozes - 1, 62)))" +
              ms + " ELSE j.run_at END,"
              " error_message = CASE WHEN e.started"
              " THEN format('lease expired: worker %s did not finish attempt %s before %s (run %s of %s allowed)',"
              " j.worker_id, j.attempt, j.lease_expires_at, j.attempt - j.uncounted_attempts - j.snoozes, j.max_retries + 1)"
              " ELSE format('lease expired: worker %s held attempt %s but had not started it before %s;"
              " it does not count toward max_retries', j.worker_id, j.attempt, j.lease_expires_at) END,"
              " error_kind = CASE WHEN e.started THEN 'retryable'::" + kind_type + " ELSE j.error_kind END,"
              // A run that never started is not a failed attempt: no entry.
              " errors = CASE WHEN e.started THEN " +
              error_appended("j.attempt", "'retryable'",
                             "format('lease expired: worker %s did not finish attempt %s before %s',"
                             " j.worker_id, j.attempt, j.lease_expires_at)") +
              " ELSE j.errors END,"
              " lease_expires_at = NULL, lease_ticket = NULL, updated_at = now()"
              " FROM expired AS e WHERE j.id = e.id RETURNING j.id, j.status, j.queue, j.run_at),"
              // An UPDATE fires no insert trigger: tell the dispatchers when
              // the jobs are due again, as the trigger does for scheduled jobs.
              " woken AS (SELECT pg_notify(" + schema_name + ".notify_channel($4, 'scheduled'),"
              " greatest(0, ceil(extract(epoch FROM min(run_at) - now()) * 1000))::int8 || ' ' || queue)"
              " FROM reclaimed WHERE status IN ('pending', 'failed') GROUP BY queue)";
    };
    reclaim = "WITH expired AS (" + reclaim_ctes("") +
              " SELECT r.id, r.status FROM reclaimed AS r, (SELECT count(*) FROM woken) AS w";
    leader_reclaim = "WITH " + lead(5, 6) + ", expired AS (" + reclaim_ctes(" AND " + leading) +
                     " SELECT " + leading + ", (SELECT count(*) FROM reclaimed), (SELECT count(*) FROM woken)";

    const auto doomed = [&](const std::string& gate) {
        return "doomed AS (SELECT id FROM " + jobs + " WHERE status = $1::" + status_type +
               " AND updated_at < COALESCE($2::timestamptz, now() - $3::int8" + ms + ")" + gate +
               " LIMIT $4 FOR UPDATE SKIP LOCKED)";
    };
    const std::string delete_doomed = "DELETE FROM " + jobs + " AS j USING doomed WHERE j.id = doomed.id";
    cleanup = "WITH " + doomed("") + " " + delete_doomed;
    leader_cleanup = "WITH " + lead(5, 6) + ", " + doomed(" AND " + leading) + ", deleted AS (" + delete_doomed +
                     " RETURNING 1) SELECT " + leading + ", (SELECT count(*) FROM deleted)";

    stats = "SELECT queue, status::text, sum(n)::int8, count(*)::int8 FROM " + schema_name +
            ".job_counts GROUP BY queue, status";
    compact_stats = "SELECT " + schema_name + ".compact_job_counts()";
    leader_compact_stats = "WITH " + lead(1, 2) + " SELECT " + leading + ", (SELECT " + schema_name +
                           ".compact_job_counts() FROM lead)";

    // Another job holding a job's unique key (in one of its own states).
    const std::string held_elsewhere = "SELECT o.id FROM " + jobs + " AS o"
                                       " WHERE o.job_type = j.job_type AND o.unique_key = j.unique_key"
                                       " AND o.unique_bucket IS NOT DISTINCT FROM j.unique_bucket"
                                       " AND o.unique_key IS NOT NULL AND o.status = ANY (o.unique_states)"
                                       " AND o.id <> j.id";
    // A dead letter whose unique key another job took meanwhile stays.
    retry_dead_letters = "WITH retried AS ("
                         " UPDATE " + jobs + " AS j"
                         " SET status = 'pending', attempt = 1, uncounted_attempts = 0, snoozes = 0, run_at = now(),"
                         " lease_expires_at = NULL, updated_at = now()"
                         " WHERE status = 'dead_letter'"
                         " AND ($1::uuid[] IS NULL OR id = ANY ($1::uuid[]))"
                         " AND ($2::text IS NULL OR job_type = $2)"
                         " AND (j.unique_key IS NULL OR NOT EXISTS (" + held_elsewhere + "))"
                         " RETURNING queue),"
                         " woken AS (SELECT " + schema_name + ".wake_queue($3, queue)"
                         " FROM (SELECT DISTINCT queue FROM retried) AS q)"
                         " SELECT (SELECT count(*) FROM retried)::int8, (SELECT count(*) FROM woken)::int8";
    lock_jobs = "SELECT j.id, j.status::text, j.unique_key, (" + held_elsewhere + " LIMIT 1) AS holder FROM " +
                jobs + " AS j WHERE j.id = ANY ($1::uuid[]) ORDER BY j.id FOR UPDATE";

    const std::string job_columns =
        "id, job_type, queue, payload::text, version, status::text, attempt, max_retries, priority, " +
        us("run_at") + ", worker_id, " + us("lease_expires_at") + ", error_message, error_kind::text, " +
        us("created_at") + ", " + us("updated_at") + ", uncounted_attempts, unique_key, " + us("unique_bucket") +
        ", unique_states::text, errors::text, snoozes";
    cancel_jobs = "SELECT job_id, previous_status::text, cancelled FROM " + schema_name +
                  ".cancel_jobs($1::uuid[], $2, $3)";
    pause_queue = "SELECT " + schema_name + ".pause_queue($1)";
    resume_queue = "SELECT " + schema_name + ".resume_queue($1)";
    paused_queues = "SELECT queue, " + us("paused_at") + " FROM " + schema_name + ".queue_pauses ORDER BY queue";

    const std::string schedules = schema_name + ".periodic_schedules";
    const auto at_us = [](const std::string& param) {
        return "('epoch'::timestamptz + " + param + "::int8 * interval '1 microsecond')";
    };
    periodic_register = "WITH " + lead(7, 8) + ", registered AS ("
                        "INSERT INTO " + schedules + " AS p (name, expression, job_type, queue, next_slot, worker_id)"
                        " SELECT $1, $2, $3, $4, " + at_us("$5") + ", $6 FROM lead"
                        " ON CONFLICT (name) DO UPDATE SET expression = EXCLUDED.expression,"
                        " job_type = EXCLUDED.job_type, queue = EXCLUDED.queue, next_slot = EXCLUDED.next_slot,"
                        " worker_id = EXCLUDED.worker_id, updated_at = now()"
                        " RETURNING p.last_slot)"
                        " SELECT " + leading + ", (SELECT " + us("last_slot") + " FROM registered)";
    // The slot's job is finished-or-not unique by its key: it blocks a second
    // insert of the slot until it is deleted.
    // Committed durably, like a claim (the dispatcher's connection commits
    // asynchronously otherwise): a slot's job, once reported, survives a crash.
    periodic_insert = "WITH " + lead(11, 12) + ", advanced AS ("
                      " UPDATE " + schedules + " AS p SET last_slot = " + at_us("$2") + ", next_slot = " + at_us("$3") +
                      ", worker_id = $4, updated_at = now()"
                      " FROM (SELECT set_config('synchronous_commit', 'on', true)) AS durability"
                      " WHERE p.name = $1 AND (p.last_slot IS NULL OR p.last_slot < " + at_us("$2") + ")"
                      " AND " + leading +
                      " RETURNING p.name),"
                      " inserted AS (INSERT INTO " + jobs +
                      " (job_type, queue, payload, priority, max_retries, unique_key, unique_states)"
                      " SELECT $5, $6, $7::jsonb, $8::int4, $9::int4, $10,"
                      " '{pending,running,failed,succeeded,dead_letter}'::" + status_type + "[]"
                      " FROM advanced ON CONFLICT DO NOTHING RETURNING id)"
                      " SELECT " + leading + ", EXISTS (SELECT 1 FROM advanced), (SELECT id FROM inserted)";
    periodic_schedules = "SELECT name, expression, job_type, queue, " + us("last_slot") + ", " + us("next_slot") +
                         ", worker_id, " + us("updated_at") + " FROM " + schedules + " ORDER BY name";

    get_job = "SELECT " + job_columns + " FROM " + jobs + " WHERE id = $1::uuid";
    const std::string matching = "SELECT " + job_columns + " FROM " + jobs +
                                 " WHERE ($1::text IS NULL OR status = $1::" + status_type + ")"
                                 " AND ($2::text IS NULL OR job_type = $2)"
                                 " AND ($3::text IS NULL OR queue = $3)";
    list_jobs = matching + " ORDER BY created_at, id LIMIT $4";
    list_jobs_by_update = matching + " ORDER BY updated_at, id LIMIT $4";

    // A job becomes due at run_at, or when it was inserted if run_at was
    // already past then.
    // Bounded by the queues and priorities, not by the backlog: for each
    // queue with pending jobs (job_counts), each priority that has waiting
    // jobs (a skip scan of idx_jobs_ready), the due pending job with the
    // earliest run_at (the index's order) — a few index probes each.
    const std::string waiting = "j.status IN ('pending', 'failed')";
    oldest_pending_ages =
        "WITH RECURSIVE queues AS (SELECT DISTINCT queue FROM " + schema_name + ".job_counts"
        " WHERE status = 'pending' AND ($1::text IS NULL OR queue = $1)),"
        " levels AS (SELECT q.queue, (SELECT min(j.priority) FROM " + jobs + " AS j WHERE j.queue = q.queue AND " +
        waiting + ") AS priority FROM queues AS q"
        " UNION ALL SELECT l.queue, (SELECT min(j.priority) FROM " + jobs + " AS j WHERE j.queue = l.queue AND " +
        waiting + " AND j.priority > l.priority) FROM levels AS l WHERE l.priority IS NOT NULL)"
        " SELECT l.queue, " + us("now() - min(greatest(f.run_at, f.created_at))") + " FROM levels AS l"
        " CROSS JOIN LATERAL (SELECT j.run_at, j.created_at FROM " + jobs + " AS j WHERE j.queue = l.queue AND " +
        waiting + " AND j.status = 'pending' AND j.priority = l.priority AND j.run_at <= now()"
        " ORDER BY j.run_at LIMIT 1) AS f GROUP BY l.queue";

    next_due = "SELECT ceil(extract(epoch FROM min(run_at) - now()) * 1000)::int8 FROM " + jobs +
               " WHERE queue = $1 AND status IN ('pending', 'failed') AND run_at > now()";

    const std::string listeners = schema_name + ".listeners";
    arm_listener = "INSERT INTO " + listeners + " (queue, listener, armed) SELECT $2, $1, true FROM " + async_commit +
                   " ON CONFLICT (queue, listener) DO UPDATE SET armed = true, seen_at = now()";
    disarm_listener = "UPDATE " + listeners + " SET armed = false, seen_at = now() FROM " + async_commit +
                      " WHERE queue = $2 AND listener = $1";
    const std::string key = schema_name + ".wakeup_lock_key($2, $1)";
    wakeup_barrier = "SELECT pg_advisory_unlock(" + key + ") FROM (SELECT pg_advisory_lock(" + key + ")) AS locked";
    touch_listener = "UPDATE " + listeners + " SET seen_at = now() FROM " + async_commit + " WHERE listener = $1";
    remove_listener = "DELETE FROM " + listeners + " USING " + async_commit + " WHERE listener = $1";
    expire_listeners = "WITH " + lead(2, 3) + ", gone AS (DELETE FROM " + listeners +
                       " WHERE seen_at < now() - $1::int8" + ms + " AND " + leading + " RETURNING 1)"
                       " SELECT " + leading + ", (SELECT count(*) FROM gone)";
    producer_contention = "SELECT last_value FROM " + schema_name + ".producer_contention";

    channels = "SELECT " + schema_name + ".notify_channel($1, 'ready'), " + schema_name +
               ".notify_channel($1, 'scheduled'), " + schema_name + ".notify_channel($1, 'control')";

    const std::string progress = schema_name + ".worker_progress";
    record_progress = "INSERT INTO " + progress + " AS p (worker_id, queue, first_ticket, started_through)"
                      " SELECT $1, $2, $3::int8, $4::int8 FROM " + async_commit + " ON CONFLICT (worker_id, queue, first_ticket) DO UPDATE"
                      " SET started_through = greatest(p.started_through, excluded.started_through), updated_at = now()";
    forget_progress = "DELETE FROM " + progress + " USING " + async_commit + " WHERE worker_id = $1";
    expire_progress = "WITH " + lead(2, 3) + ", gone AS (DELETE FROM " + progress + " AS p"
                      " WHERE p.updated_at < now() - $1::int8" + ms + " AND " + leading +
                      " AND NOT EXISTS (SELECT 1 FROM " + jobs + " AS j"
                      " WHERE j.status = 'running' AND j.worker_id = p.worker_id AND j.queue = p.queue)"
                      " RETURNING 1) SELECT " + leading + ", (SELECT count(*) FROM gone)";
}

}  // namespace seesaw::detail
